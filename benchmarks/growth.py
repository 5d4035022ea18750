"""Growth of a running region: 4 -> 16 columns part-way through learning, and pruning under a budget.

    python benchmarks/growth.py                  # seeds 0 and 1, the shipped configs/touch_objects_growth.yaml
    python benchmarks/growth.py --seeds 0 --exposures 3

Four runs per seed on the same objects (the world is drawn from the seed): the grown region of
``configs/touch_objects_growth.yaml`` (4 columns learn 30 objects, grow to 16, re-expose the 30,
learn 10 more with 16 columns, a use phase on the last 10, pruning of idle L2/3 cells), and the same
protocol without growth on 16 columns from the start and on 4 columns never grown, and the grown
region with ``listen_to_new: false`` (the old columns grow no segment onto the new columns' codes:
they keep voting among themselves only; column "old not listening").  Sensations to
converge are those of ``touch_objects`` (every column holding a code of the object overlaps it by
30 cells, at most 60 active, from that sensation on), over the 30 objects learned before the growth.

Measured (2 shared cores, seeds 0 and 1; per seed the grown / 16 from start / 4 never grown runs
took 96-113 / 59-60 / 11-12 s; the old columns' arrays were bit-identical after growth and the old
columns recognised every object at its re-exposure):

  exposures after growth     recognised  mean sensations   16 from start   4 never grown  old not listening
  before growth (4 col.)          1.000            1.250           1.000           1.333              1.250
  0 (new columns silent)          1.000            1.333           1.000           1.333              1.333
  1                               1.000            1.000           1.000           1.333              1.317
  2                               1.000            1.000           1.000           1.333              1.350

  pruning (idle_sensations 100, synapses cap none) after a use phase on the last 10 objects
  seed    synapses before       after  cells freed  in use before  in use after  idle after
  0            14,761,600   4,315,271       59,395          1.000         1.000       0.000
  1            14,764,800   4,331,880       59,397          1.000         1.000       0.000

Harder, ``--set experiment.n_features=2`` (a feature pool of 2: 4 columns need about two touches;
per seed 48-51 / 25-36 / 4-6 s):

  exposures after growth     recognised  mean sensations   16 from start   4 never grown  old not listening
  before growth (4 col.)          0.967            1.982           1.000           2.067              1.982
  0 (new columns silent)          0.967            1.794           1.000           2.067              1.794
  1                               0.967            1.000           1.000           2.067              1.863
  2                               0.967            1.000           1.000           2.067              1.949

  (0.967: seed 1 draws two identical objects among the first 30 -- no recogniser can tell them apart,
  16 columns from the start neither; the 4 re-exposures the old columns did not recognise are theirs,
  2 objects x 2 exposures.
  Pruning: 14.71 / 14.09 M -> 4.27 / 4.24 M synapses, in use 1.000 -> 1.000.)

Reading: growing keeps every old object (1.000 recognised, by the old columns alone, at the 4-column
speed); one re-exposure -- the new columns learn, the old ones infer and add segments listening to
the new codes -- reaches 16 columns from the start (1.000 touches).  Without listening
(``listen_to_new: false``) the old columns vote only among themselves and the region stays at the
4-column speed (1.32-1.35; 1.86-1.95 with a pool of 2): a region converges when its slowest
columns do, and the old ones then have only their 3 old neighbours to vote with.  Pruning frees 71 %
of the synapses and keeps the objects in use; the objects out of use are forgotten (their cells were
freed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, this folder comes first on sys.path and benchmarks/columns.py would shadow
# the columns package
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

import numpy as np  # noqa: E402

from regions import build, load_config  # noqa: E402

CONFIG = ROOT / "configs" / "touch_objects_growth.yaml"


def run(overrides: list[str]) -> tuple[dict, float]:
    t0 = time.perf_counter()
    metrics = build(load_config(CONFIG, overrides)).run()[0]
    return metrics, time.perf_counter() - t0


def old_mean(metrics: dict, n_old: int) -> tuple[float, float]:
    s = np.array(metrics["sensations_per_object"][:n_old], dtype=float)
    finite = np.isfinite(s)
    return float(np.isfinite(s).mean()), float(s[finite].mean()) if finite.any() else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--exposures", type=int, default=2, help="re-exposures of the old objects after the growth")
    ap.add_argument("--set", nargs="*", default=[], help="extra config overrides (key.path=value)")
    args = ap.parse_args()
    cfg = load_config(CONFIG, args.set)
    n_old = cfg.growth.schedule[0].after_objects
    c0, c1 = cfg.regions[0].columns, cfg.regions[0].columns + cfg.growth.schedule[0].add_columns
    rows: dict[str, list[tuple[float, float]]] = {}
    base16, base4, prune_rows = [], [], []
    for seed in args.seeds:
        common = [f"seed={seed}", *args.set]
        grown, t_grown = run(common + [f"growth.reexpose={args.exposures}"])
        deaf, _ = run(common + [f"growth.reexpose={args.exposures}", "growth.listen_to_new=false",
                                "experiment.params.in_use=0", "growth.budget.idle_sensations=0"])
        full, t_full = run(common + ["growth=null", f"regions[0].columns={c1}", "experiment.params.in_use=0"])
        small, t_small = run(common + ["growth=null", "experiment.params.in_use=0"])
        print(f"seed {seed}: grown {t_grown:.0f} s, {c1} from start {t_full:.0f} s, {c0} never grown {t_small:.0f} s; "
              f"old columns bit-identical after growth: {grown['growth_1_old_columns_identical']}; "
              f"re-exposures the old columns did not recognise: {grown['growth_1_reexposures_unrecognised']}",
              flush=True)
        for row, other in zip(grown["table"], deaf["table"]):
            key = "before growth" if row["stage"] == "before growth" else str(row["exposures"])
            rows.setdefault(key, []).append((row["recognised"], row["mean_sensations"], other["mean_sensations"]))
        base16.append(old_mean(full, n_old))
        base4.append(old_mean(small, n_old))
        prune_rows.append((grown["synapses_before_prune"], grown["synapses_after_prune"], grown["cells_freed"],
                           grown["in_use_recognised_before_prune"], grown["in_use_recognised"],
                           grown.get("idle_recognised", float("nan"))))
    b16 = np.mean([b[1] for b in base16])
    b4 = np.mean([b[1] for b in base4])
    print(f"\n{n_old} objects learned by {c0} columns, then the region grows to {c1} "
          f"(mean over seeds {args.seeds}; sensations to converge over the {n_old} old objects)")
    print(f"{'exposures after growth':<26}{'recognised':>11}{'mean sensations':>17}{f'{c1} from start':>16}"
          f"{f'{c0} never grown':>16}{'old not listening':>19}")
    for key, vals in rows.items():
        label = f"before growth ({c0} col.)" if key == "before growth" else \
            f"{key} (new columns silent)" if key == "0" else key
        rec = np.mean([v[0] for v in vals])
        sens = np.mean([v[1] for v in vals])
        deaf_sens = np.mean([v[2] for v in vals])
        print(f"{label:<26}{rec:>11.3f}{sens:>17.3f}{b16:>16.3f}{b4:>16.3f}{deaf_sens:>19.3f}")
    print(f"{c1} from start recognises {np.mean([b[0] for b in base16]):.3f} of the old objects, "
          f"{c0} never grown {np.mean([b[0] for b in base4]):.3f}")
    p = np.array(prune_rows, dtype=float)
    budget = cfg.growth.budget
    print(f"\npruning (idle_sensations {budget.idle_sensations}, synapses cap {budget.synapses or 'none'}) after a "
          f"use phase on the last {cfg.experiment.params['in_use']} objects")
    print(f"{'seed':<6}{'synapses before':>17}{'after':>12}{'cells freed':>13}{'in use before':>15}"
          f"{'in use after':>14}{'idle after':>12}")
    for seed, r in zip(args.seeds, p):
        print(f"{seed:<6}{r[0]:>17,.0f}{r[1]:>12,.0f}{r[2]:>13,.0f}{r[3]:>15.3f}{r[4]:>14.3f}{r[5]:>12.3f}")


if __name__ == "__main__":
    main()
