"""Is a learned network of columns critical?  Sweep one knob through m = 1, as a tutorial.

``demos/critical_sweep.py`` sweeps the analytic cascade model (the theory line).  This demo measures
the learned network itself (``regions/criticality.py``, experiment kind ``learned_criticality``):

1. A region of 256 small columns on a stochastic block model (4 clusters of 64 columns, dense inside
   a cluster, sparse between) learns a few feature objects, one exposure each.
2. Then it senses a *stream* without reset: at every sensation a few sensors move to another
   (location, feature) pair, now and then the object under the sensors changes, and every new
   input carries 10 % feature noise.  A column whose L2/3 hypothesis changes changes the votes its
   neighbours receive, so the change can spread over the settling iterations of that sensation.
   Every settling iteration is a time bin; an *avalanche* is a run of bins with L2/3 cells turning
   on, and it *runs away* when the sensation's settling ends in a cycle or at the settling limit
   instead of a fixed point.
3. The knob, ``experiment.params.connected_probability``: after learning, each learned lateral
   synapse stays connected with this probability.  It is swept with ``experiment.sweep`` (a fresh
   network per value, the same seed), the way any numeric key of a config can be swept.

For every value the demo prints the branching ratio ``m`` measured by multistep regression (with its
95 % interval), beside the *theory* m: the analytic cascade model of ``regions/sweeps.py`` for the same
share of connected lateral synapses and the same lateral graph; the fraction of runaway avalanches;
and the test of the hypothesis "an avalanche fires when a cluster of columns agrees" (the share of
cluster-agreement events followed by an avalanche starting in that cluster, against shuffled and
time-shifted controls, with its verdict).

    python demos/learned_criticality.py                     # 4 values, 400 sensations each (about a minute)
    python demos/learned_criticality.py --values 1.0,0.8,0.6,0.5,0.4 --sensations 1000 --plot out/lc

Backed by ``configs/learned_criticality.yaml`` (``cortical run configs/learned_criticality.yaml``);
``python benchmarks/criticality.py --learned-only`` runs the full sweep and a long stream for the exponents.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from regions import build, load_config  # noqa: E402

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "learned_criticality.yaml"
KNOB = "experiment.params.connected_probability"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", default="1.0,0.8,0.6,0.45",
                        help="knob values, comma-separated (default 1.0,0.8,0.6,0.45)")
    parser.add_argument("--sensations", type=int, default=400, help="sensations in the stream per value")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further config overrides (e.g. regions[0].columns=64)")
    parser.add_argument("--plot", type=Path, default=Path("out") / "learned_criticality",
                        help="directory for learned_criticality.png (default out/learned_criticality)")
    parser.add_argument("--no-plot", action="store_true", help="no figure")
    args = parser.parse_args(argv)
    try:
        args.values = [float(v) for v in args.values.split(",") if v.strip()]
    except ValueError:
        parser.error(f"--values must be numbers separated by commas, got {args.values!r}")
    if len(args.values) < 2 or not all(0.0 <= v <= 1.0 for v in args.values):
        parser.error("--values needs at least two probabilities in [0, 1]")
    if args.sensations < 10:
        parser.error(f"--sensations must be at least 10, got {args.sensations}")
    return args


def fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and math.isfinite(value) else "n/a"


def regime(row: dict[str, Any]) -> str:
    """What the measured m says, read with its 95 % interval (not the theory m)."""
    low, high = row["m_ci"]
    if not (math.isfinite(low) and math.isfinite(high)):
        return "too few avalanches"
    if high < 1.0:
        return "sub-critical"
    if low > 1.0:
        return "super-critical"
    return "m = 1 inside the interval"


def crossing(rows: list[dict[str, Any]]) -> float | None:
    """The knob value where the measured m crosses 1, interpolated between neighbouring values."""
    points = sorted((float(r["value"]), r["m"]) for r in rows if math.isfinite(r["m"]))
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if (y0 - 1.0) * (y1 - 1.0) <= 0.0 and y0 != y1:
            return x0 + (1.0 - y0) * (x1 - x0) / (y1 - y0)
    return None


def trend(rows: list[dict[str, Any]], key: str) -> str:
    """``rises`` / ``falls`` / ``stays`` as the knob goes from its largest value to its smallest (first
    and last finite value; "cannot be read" with fewer than two)."""
    ordered = [r[key] for r in sorted(rows, key=lambda r: -float(r["value"])) if math.isfinite(r[key])]
    if len(ordered) < 2:
        return "cannot be read (fewer than two finite values)"
    if abs(ordered[-1] - ordered[0]) < 0.02 * max(abs(ordered[0]), 1e-9):
        return "stays"
    return "rises" if ordered[-1] > ordered[0] else "falls"


def print_sweep(rows: list[dict[str, Any]]) -> None:
    print(f"{'p':>5}  {'m measured [95% CI]':>24}  {'m theory':>8}  {'runaway':>7}  {'avalanches':>10}  "
          f"{'events/sens':>11}  regime (measured)")
    for r in rows:
        low, high = r["m_ci"]
        print(f"{r['value']:>5g}  {fmt(r['m']):>6} [{fmt(low)}, {fmt(high)}]".ljust(33)
              + f"  {fmt(r['m_predicted'], 2):>8}  {fmt(r['runaway_fraction'], 2):>7}  {r['n_avalanches']:>10}  "
              f"{fmt(r['events_per_sensation'], 1):>11}  {regime(r)}")


def print_agreement(rows: list[dict[str, Any]], params: dict[str, Any]) -> None:
    print(f"\nDo avalanches start where a cluster has just agreed?  (a cluster agrees when "
          f"{params['agreement_fraction']:.0%} of its columns hold one object; window {params['agreement_window']} "
          f"bins; {params['controls']} control draws)")
    print(f"{'p':>5}  {'events':>6}  {'observed':>8}  {'shuffled':>8}  {'shifted':>8}  {'p shuf':>6}  {'p shift':>7}  verdict")
    for r in rows:
        print(f"{r['value']:>5g}  {r['agreement_events']:>6}  {fmt(r['agreement_observed']):>8}  "
              f"{fmt(r['agreement_shuffled_mean']):>8}  {fmt(r['agreement_shifted_mean']):>8}  "
              f"{fmt(r['agreement_p_shuffled']):>6}  {fmt(r['agreement_p_shifted']):>7}  {r['agreement_verdict']}")
    print("(observed: share of agreement events followed within the window by an avalanche starting in that cluster;\n"
          " shuffled / shifted: the same share with each cluster's agreement times drawn at random / shifted in time,\n"
          f" the chance level; one-sided p; \"supported\" needs both p < 0.05 and at least {params['min_agreement_events']}"
          " events.)")


def plot(metrics: dict[str, Any], directory: Path) -> Path | None:
    """Measured m with its interval beside the theory line, runaways, the agreement test (None without matplotlib)."""
    from regions import figures

    if not figures.available():
        return None
    rows = metrics["table"]
    fig = figures.learned_sweep(
        [r["value"] for r in rows], [r["m"] for r in rows], ci=[r["m_ci"] for r in rows],
        theory=[r["m_predicted"] for r in rows], runaway=[r["runaway_fraction"] for r in rows],
        agreement=[{"observed": r["agreement_observed"], "shuffled": r["agreement_shuffled_mean"],
                    "shifted": r["agreement_shifted_mean"], "verdict": r["agreement_verdict"],
                    "events": r["agreement_events"]} for r in rows], knob=metrics["knob"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "learned_criticality.png"
    path.write_bytes(figures.to_png(fig))
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    # 1. The shipped config, shortened: a stream of --sensations per value, driven as the benchmark drives it
    #    (4 sensors move per sensation, the object changes with probability 0.01, so clusters can re-agree).
    cfg = load_config(CONFIG, [f"seed={args.seed}", f"experiment.params.stream_sensations={args.sensations}",
                               "experiment.params.movers=4", "experiment.params.object_change_probability=0.01",
                               *args.set])
    # 2. The knob swept through experiment.sweep: one fresh network per value, learned and streamed.
    cfg = cfg.with_values({"experiment.sweep": {"parameter": KNOB, "values": args.values}})
    spec, params = cfg.regions[0], cfg.experiment.params
    print(f"{spec.columns} columns on a {spec.lateral.topology} ({len(spec.lateral.args.get('sizes', []))} clusters), "
          f"{cfg.experiment.n_objects} objects learned; L2/3 votes need {spec.column.L23.distal.threshold} of "
          f"{spec.column.L23.distal.sample_size} lateral synapses; a stream of {args.sensations} sensations per value, "
          f"{params['movers']} sensors moving per sensation")
    print(f"knob p = {KNOB.split('.')[-1]}: the share of learned lateral synapses left connected; "
          f"values {', '.join(f'{v:g}' for v in args.values)}\n")
    start = time.perf_counter()
    metrics = build(cfg).run()[0]
    elapsed = time.perf_counter() - start
    rows = metrics["table"]

    # 3. Measured m (multistep regression) beside the theory m (the analytic cascade model), per value.
    print_sweep(rows)
    print(f"({elapsed:.0f} s; m measured: multistep regression over each avalanche's first bins; m theory: the cascade "
          "model of regions/sweeps.py,\n P[Bin(sample, p) >= threshold] x the mean excess degree of the lateral graph; "
          "runaway: avalanches whose sensation ended in a cycle or the settling limit.)\n")
    where = crossing(rows)
    if where is not None:
        print(f"The measured m crosses 1 at p = {where:.3f} (interpolated); the value nearest m = 1 is "
              f"p = {metrics['value_nearest_critical']:g} (m = {fmt(metrics['m_nearest_critical'])}).")
    else:
        print(f"The measured m does not cross 1 inside these values; nearest m = 1: p = "
              f"{metrics['value_nearest_critical']:g} (m = {fmt(metrics['m_nearest_critical'])}).")
    measured, theory = trend(rows, "m"), trend(rows, "m_predicted")
    print(f"As p goes down (fewer lateral synapses connected) the measured m {measured} and the theory m {theory}.")
    if {measured, theory} == {"rises", "falls"}:
        by_p = sorted(rows, key=lambda r: -float(r["value"]))
        print("They disagree.  In the cascade model a vote is transmitted when enough synapses of one segment are\n"
              "connected, so cutting synapses weakens the cascade.  In the learned network cutting synapses makes\n"
              "the columns' votes less decisive: their codes mix objects and the region keeps changing its mind\n"
              f"(L2/3 events per sensation {fmt(by_p[0]['events_per_sensation'], 1)} at p = {by_p[0]['value']:g}, "
              f"{fmt(by_p[-1]['events_per_sensation'], 1)} at p = {by_p[-1]['value']:g}).")
    print(f"The runaway fraction {trend(rows, 'runaway_fraction')} as p goes down; at p = "
          f"{metrics['value_nearest_critical']:g} (m nearest 1) {fmt(metrics['runaway_fraction_nearest_critical'], 2)} of "
          "the avalanches were still\ngoing when the settling limit ended their sensation.  Their sizes are cut off, "
          "so tau and alpha are fitted\non the complete avalanches only, and a short stream has few of those "
          "(benchmarks/criticality.py --long).")

    # 4. The cluster-agreement hypothesis, value by value.
    print_agreement(rows, params)
    supported = [f"{r['value']:g}" for r in rows if r["agreement_verdict"] == "supported"]
    print(f"Supported at {', '.join(supported)} (uncorrected for testing several values)." if supported else
          "Supported at none of these values.")

    # 5. The figure (matplotlib is the optional `plot` extra).
    if not args.no_plot:
        path = plot(metrics, args.plot)
        print(f"\nfigure: {path}" if path else "\n(matplotlib is not installed: pip install -e '.[plot]' for the figure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
