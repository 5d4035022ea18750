"""Locations (Lewis et al. 2019): wall time and recognition against the published figures.

Prints
  1. learning + inference wall time for 100 and 140 objects (median of ``--repeats`` runs)
     beside the reference implementation (Python over a C++ core: ~7.7 s and ~26 s on a
     2-core machine) and the 1/20 target, with the recognition reached;
  2. recognition over ``--seeds`` seeds at 100, 140 and 148 objects (148 = the published
     capacity, where about 90 % are recognised);
  3. sensations to recognise with 1, 3 and 5 voting columns (100 objects);
  4. with ``--capacity``: capacities (bounded bisection) at the default parameters, for
     cells per axis 6/10/14/20 and feature pools 50/100/200, beside the published medians.

    python benchmarks/locations.py              # timings, recognition, votes (~1 minute)
    python benchmarks/locations.py --capacity   # + capacity sweeps (~2-4 minutes)
    python benchmarks/locations.py --capacity --trials 3   # medians of 3 trials

Inference in brief: every test object is one episode, all episodes step together; a module's
grid activity is an FFT convolution of its bump map with one kernel per (module, movement).

Measured on the 2-core development machine shared with other jobs (load average 3.4-5.3
during the runs, so wall times are inflated: 100 / 140 objects took 0.14-0.21 s / 0.35-0.68 s
over repeated runs; recognition and capacities are deterministic for the fixed seeds)::

    learning + inference, 1 column, 10 modules x 10x10 cells, pool 100 (load average 3.81 4.03 4.28)
     objects   ours s  learn s  infer s  reference s  target s  speed-up  recognised  median sens
         100    0.140    0.045    0.093          7.7      0.39     54.9x       1.000          3.0
         140    0.352    0.063    0.291         26.0      1.30     73.8x       0.979          5.0

    recognition over 10 seeds (fresh objects and network per seed), 1 column
     objects    mean     min     max  median sens  wrong locks
         100   1.000   1.000   1.000          3.0            0
         140   0.979   0.957   1.000          5.0            0
         148   0.909   0.851   0.953          6.0            0

    sensations to recognise, 100 objects, columns voting through the object layer
     columns  recognised  median   mean  seconds
           1       1.000     3.0   2.91     0.14
           3       1.000     2.0   2.09     0.38
           5       1.000     2.0   2.11     0.69

    capacity (largest object count with < 10 % failures), bisection in [0.7, 1.3] x published, median of 3 trial(s) (load average 3.36 4.32 4.39)
                   setting   ours               trials  published  ratio  seconds
                   default    147          147,152,147        148   0.99     21.6
          cells per axis 6     63             63,63,64         63   1.00      4.5
         cells per axis 14    258          253,258,258        259   1.00     51.7
         cells per axis 20    466          466,466,457        467   1.00    174.8
           feature pool 50     86             86,86,83         84   1.02      9.5
          feature pool 200    264          269,259,264        265   1.00     30.8

(capacity table: ``--capacity --trials 3``.)  Published capacities are medians of 5 trials
of the reference; ours are medians of 3 bisections (seeds 0-2, resolution published // 50).
Recognition at 148 objects (the published capacity) averages 0.909 over 10 seeds: the
curve crosses 90 % where the reference's does.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

# run as a script, this folder comes first on sys.path and benchmarks/columns.py would shadow
# the columns package: put the repository root first instead
_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if pathlib.Path(p or ".").resolve() != _ROOT / "benchmarks"]

import numpy as np  # noqa: E402

from regions.locations import PUBLISHED, capacity_reference_search, run_locations  # noqa: E402


def _load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def timings(repeats: int) -> None:
    print(f"learning + inference, 1 column, 10 modules x 10x10 cells, pool 100 ({_load()})")
    print(f"{'objects':>8} {'ours s':>8} {'learn s':>8} {'infer s':>8} {'reference s':>12} {'target s':>9} "
          f"{'speed-up':>9} {'recognised':>11} {'median sens':>12}")
    run_locations(20, seed=99)  # warm-up (imports, first allocations)
    for n in (100, 140):
        runs = [run_locations(n, seed=seed) for seed in range(repeats)]
        total = float(np.median([r["total_s"] for r in runs]))
        ref = PUBLISHED["reference_seconds"][n]
        print(f"{n:>8} {total:>8.3f} {np.median([r['learn_s'] for r in runs]):>8.3f} "
              f"{np.median([r['infer_s'] for r in runs]):>8.3f} {ref:>12.1f} {ref / 20:>9.2f} {ref / total:>8.1f}x "
              f"{np.mean([r['accuracy'] for r in runs]):>11.3f} {np.median([r['median_sensations'] for r in runs]):>12.1f}")


def recognition(seeds: int) -> None:
    print(f"\nrecognition over {seeds} seeds (fresh objects and network per seed), 1 column; "
          "ideal = an ideal observer given the same touches")
    print(f"{'objects':>8} {'mean':>7} {'s.e.':>6} {'min':>7} {'max':>7} {'median sens':>12} {'wrong locks':>12} "
          f"{'ideal fails':>12} {'ideal median':>13}")
    for n in (100, 140, 148):
        runs = [run_locations(n, seed=seed, ideal=True) for seed in range(seeds)]
        acc = np.array([r["accuracy"] for r in runs])
        se = acc.std(ddof=1) / np.sqrt(acc.size) if acc.size > 1 else float("nan")
        print(f"{n:>8} {acc.mean():>7.3f} {se:>6.3f} {acc.min():>7.3f} {acc.max():>7.3f} "
              f"{np.median([r['median_sensations'] for r in runs]):>12.1f} {sum(r['wrong_locks'] for r in runs):>12} "
              f"{sum(r['ideal_failures'] for r in runs):>12} "
              f"{np.median(np.concatenate([r['ideal_sensations'] for r in runs])):>13.1f}")


def votes() -> None:
    print("\nsensations to recognise, 100 objects, columns voting through the object layer")
    print(f"{'columns':>8} {'recognised':>11} {'median':>7} {'mean':>6} {'seconds':>8}")
    for columns in (1, 3, 5):
        r = run_locations(100, seed=11, columns=columns)
        print(f"{columns:>8} {r['accuracy']:>11.3f} {r['median_sensations']:>7.1f} {r['mean_sensations']:>6.2f} "
              f"{r['total_s']:>8.2f}")


def capacities(trials: int, only: list[str] | None = None, first_trial: int = 0) -> None:
    print(f"\ncapacity (largest object count with < 10 % failures), the reference's search (steps of 128, "
          f"then halving to 1 object), median of {trials} trial(s) ({_load()})")
    print(f"{'setting':>22} {'ours':>6} {'trials':>20} {'published':>10} {'ratio':>6} {'seconds':>8}")
    rows = [("default", {}, PUBLISHED["capacity_default"])]
    rows += [(f"cells per axis {c}", {"cells_per_axis": c}, v)
             for c, v in PUBLISHED["capacity_vs_cells_per_axis"].items() if c != 10]
    rows += [(f"feature pool {f}", {"n_features": f}, v)
             for f, v in PUBLISHED["capacity_vs_feature_pool"].items() if f != 100]
    if only:
        rows = [row for row in rows if any(key in row[0] for key in only)]
    for name, kwargs, published in rows:
        t0 = time.perf_counter()
        # the reference's schedule to a resolution of 1 (capacityResolution = 1); a coarser
        # stop reports the lower end of the last bracket and biases the capacity down
        caps = [capacity_reference_search(seed=trial, **kwargs) for trial in range(first_trial, first_trial + trials)]
        values = [c["capacity"] for c in caps]
        median = float(np.median(values))
        shown = ",".join(str(v) for v in values)
        print(f"{name:>22} {median:>6.0f} {shown:>20} {published:>10} {median / published:>6.2f} "
              f"{time.perf_counter() - t0:>8.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the recognition table")
    parser.add_argument("--capacity", action="store_true", help="also run the capacity sweeps")
    parser.add_argument("--trials", type=int, default=1, help="capacity trials per setting (median)")
    parser.add_argument("--only", nargs="+", metavar="TEXT",
                        help="capacity rows whose name contains one of these (e.g. default 'axis 20' 'pool 50')")
    parser.add_argument("--first-trial", type=int, default=0, help="seed of the first capacity trial (to split runs)")
    parser.add_argument("--capacity-only", action="store_true", help="skip the timing, recognition and vote tables")
    args = parser.parse_args()
    if not args.capacity_only:
        timings(args.repeats)
        recognition(args.seeds)
        votes()
    if args.capacity or args.capacity_only:
        capacities(args.trials, args.only, args.first_trial)


if __name__ == "__main__":
    main()
