"""Criticality in a region: sub-critical, near-critical and super-critical voting cascades.

This sweeps the analytic cascade model (``regions.sweeps.ExcitableRegion``), the theory line; the
learned network itself is measured by ``configs/learned_criticality.yaml`` (``regions.criticality``,
``python benchmarks/criticality.py --learned-only``).

Backed by ``configs/critical_sweep.yaml``: 256 columns on a clustered lateral graph (4 clusters
of 64).  First the honest motivation: a 2017 region (L4 + L2/3, columns voting) settles every
sensation in a few iterations, so its settling "avalanches" last one to three iterations -- no
room for scaling laws.  Then the excitable regime of ``regions.sweeps``: a perturbed column
changes its L2/3 code, its neighbours read the new code with the distal segment they grew for
it (it fires when >= 13 of its 20 synapses are connected), and change theirs at the next
iteration.  The probability ``p`` that a lateral synapse is connected sets the branching ratio
``m = P[Bin(20, p) >= 13] x (mean excess degree)``; the sweep crosses m = 1.

For every coupling value the table gives the analytic m, m pooled over avalanches and by
multistep regression, the size exponent tau, the duration exponent alpha, gamma from <S>(T),
and the size law the likelihood-ratio tests prefer; the regime column reads the measured m.

    python demos/critical_sweep.py                       # the shipped sweep (~10-20 s)
    python demos/critical_sweep.py --n-avalanches 20000 --plot out/critical/
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from regions import build, load_config
from regions import dynamics as dyn

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "critical_sweep.yaml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=CONFIG, help="a critical_sweep config")
    parser.add_argument("--n-avalanches", type=int, default=None, help="perturbations per coupling value")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the config's)")
    parser.add_argument("--workers", type=int, default=1, help="sweep points in parallel processes")
    parser.add_argument("--tolerance", type=float, default=0.03,
                        help="|m - 1| below which a coupling counts as near-critical (default 0.03)")
    parser.add_argument("--skip-settling", action="store_true",
                        help="skip the 2017-region settling measurement")
    parser.add_argument("--plot", type=Path, default=None, metavar="DIR",
                        help="write critical_sweep.png (size and duration distributions, m vs coupling) to DIR")
    args = parser.parse_args(argv)
    if args.n_avalanches is not None and args.n_avalanches < 1:
        parser.error(f"--n-avalanches must be a positive integer, got {args.n_avalanches}")
    if args.workers < 1:
        parser.error(f"--workers must be a positive integer, got {args.workers}")
    if not 0 < args.tolerance < 1:
        parser.error(f"--tolerance must lie in (0, 1), got {args.tolerance}")
    return args


def settling_cascades(n_columns: int = 4, n_objects: int = 10, seed: int = 0) -> np.ndarray:
    """L2/3 cells changing per settling iteration when a learned 2017 region recognises objects.

    Returns the cascade durations: for each sensation, the number of settling iterations in
    which at least one L2/3 cell changed (the last one, a repeat of the fixed point, has none).
    """
    from columns.layers.l23 import L23Params
    from columns.layers.l4 import L4Params
    from regions.experiments import learn_objects
    from regions.region import Region
    from regions.worlds.feature_objects import FeatureObjectWorld

    world = FeatureObjectWorld(n_objects, 10, 10, 10, feature_size=150, feature_active=20,
                               location_size=2400, location_active=20, seed=seed)
    region = Region(n_columns, 2400, L4Params(), L23Params(), seed=seed)
    objects = np.arange(n_objects)
    learn_objects(region, world, objects, repeats=3)
    rng = np.random.default_rng(seed)
    durations = []
    for obj in objects:
        region.reset()
        order = np.argsort(rng.random((n_columns, 10)), axis=1)
        for s in range(4):
            before = region.L23.active_cells.copy()
            result = region.infer_sensation(*world.sense(int(obj), order[:, s]), record=True)
            states = [before, *result.l23_trajectory]
            changes = [dyn.state_changes(a, b) for a, b in zip(states[:-1], states[1:])]
            durations.append(int(np.count_nonzero(changes)))
    return np.asarray(durations)


def regime(m: float, tolerance: float) -> str:
    """``sub-critical`` / ``near-critical`` / ``super-critical`` from a measured branching ratio."""
    if m < 1.0 - tolerance:
        return "sub-critical"
    if m > 1.0 + tolerance:
        return "super-critical"
    return "near-critical"


def print_table(metrics: dict[str, Any], tolerance: float) -> None:
    columns = ("value", "m_analytic", "m_pooled", "m_MR", "tau", "alpha", "gamma", "preferred",
               "truncated_fraction", "escape_fraction")
    header = ["p"] + [c for c in columns[1:]] + ["regime"]
    rows = []
    for row in metrics["table"]:
        cells = [f"{row[c]:.4g}" if isinstance(row.get(c), float) else str(row.get(c, "-")) for c in columns]
        rows.append(cells + [regime(row["m_pooled"], tolerance)])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))


def plot(metrics: dict[str, Any], directory: Path, tolerance: float) -> Path:
    """Size and duration distributions of every coupling value (coloured by regime) and m vs p."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"sub-critical": "tab:blue", "near-critical": "tab:green", "super-critical": "tab:red"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for point in metrics["points_ccdf"]:
        label = regime(point["m_pooled"], tolerance)
        style = dict(color=colours[label], alpha=0.85,
                     label=f"p={point['value']:g}, m={point['m_pooled']:.2f} ({label})")
        for ax, key in zip(axes[:2], ("sizes_ccdf", "durations_ccdf")):
            x, y = point[key]
            ax.loglog(x, y, **style)
    s = np.geomspace(1, 300, 20)
    axes[0].loglog(s, s ** -0.5, "k--", lw=1, label="tau = 3/2")
    t = np.geomspace(1, 60, 20)
    axes[1].loglog(t, t ** -1.0, "k--", lw=1, label="alpha = 2")
    axes[0].set(xlabel="avalanche size (column changes)", ylabel="P(S >= s)", title="sizes (complete avalanches; runaways stopped)")
    axes[1].set(xlabel="avalanche duration (settling iterations)", ylabel="P(T >= t)", title="durations")
    axes[0].legend(fontsize=7)
    table = metrics["table"]
    p = [row["value"] for row in table]
    axes[2].plot(p, [row["m_analytic"] for row in table], "k.-", label="analytic (tree-like graph)")
    axes[2].plot(p, [row["m_pooled"] for row in table], "o-", label="pooled over avalanches")
    axes[2].plot(p, [row["m_MR"] for row in table], "s--", label="multistep regression")
    axes[2].axhline(1.0, color="grey", lw=0.8)
    axes[2].set(xlabel="connected-synapse probability p", ylabel="branching ratio m", title="m vs coupling")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "critical_sweep.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.skip_settling:
        t0 = time.perf_counter()
        durations = settling_cascades()
        counts = np.bincount(durations)
        print(f"2017 region (4 columns, 10 objects): settling cascades last at most {durations.max()} "
              f"iterations; duration histogram {dict(enumerate(counts.tolist()))} "
              f"({time.perf_counter() - t0:.1f} s)\n")
    overrides = []
    if args.n_avalanches is not None:
        overrides.append(f"experiment.params.n_avalanches={args.n_avalanches}")
    overrides.append(f"experiment.params.workers={args.workers}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    cfg = load_config(args.config, overrides)
    t0 = time.perf_counter()
    metrics = build(cfg).run()[0]
    elapsed = time.perf_counter() - t0
    print(f"{cfg.regions[0].columns} columns, {cfg.experiment.params.get('n_avalanches')} avalanches per value, "
          f"analytic critical p = {metrics['p_critical_analytic']:.4f}  ({elapsed:.1f} s)")
    print_table(metrics, args.tolerance)
    nearest = min(metrics["table"], key=lambda row: abs(row["m_pooled"] - 1.0))
    print(f"\nmeasured critical coupling: p = {nearest['value']:g} (m_pooled = {nearest['m_pooled']:.3f}, "
          f"analytic m = {nearest['m_analytic']:.3f}): tau = {nearest['tau']:.3f}, alpha = {nearest['alpha']:.3f}, "
          f"gamma = {nearest['gamma']:.3f}")
    print("the tree-like analytic m overestimates the measured one near m = 1: dense clusters mean short loops,"
          "\ncollisions and refractory neighbours; the finite region (and the runaway cap) cut the tails off,"
          "\nso the likelihood-ratio tests prefer a truncated power law even near criticality.")
    if args.plot is not None:
        metrics["points_ccdf"] = [
            {**point, **_ccdf_of(metrics, point["value"])} for point in metrics["points"]
        ]
        print(f"figure: {plot(metrics, args.plot, args.tolerance)}")
    return 0


def _ccdf_of(metrics: dict[str, Any], value: Any) -> dict[str, Any]:
    label = f"{value:g}" if isinstance(value, float) else str(value)
    sizes = metrics["series"][f"size_ccdf_{label}"]
    durations = metrics["series"][f"duration_ccdf_{label}"]
    return {"sizes_ccdf": (sizes["x"], sizes["y"]), "durations_ccdf": (durations["x"], durations["y"])}


if __name__ == "__main__":
    sys.exit(main())
