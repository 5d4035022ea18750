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
    python benchmarks/locations.py --capacity   # + capacity sweeps (~5-10 minutes)

Inference in brief: every test object is one episode, all episodes step together; a module's
grid activity is an FFT convolution of its bump map with one kernel per (module, movement).
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

from regions.locations import PUBLISHED, capacity, run_locations  # noqa: E402


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
    print(f"\nrecognition over {seeds} seeds (fresh objects and network per seed), 1 column")
    print(f"{'objects':>8} {'mean':>7} {'min':>7} {'max':>7} {'median sens':>12} {'wrong locks':>12}")
    for n in (100, 140, 148):
        runs = [run_locations(n, seed=seed) for seed in range(seeds)]
        acc = np.array([r["accuracy"] for r in runs])
        print(f"{n:>8} {acc.mean():>7.3f} {acc.min():>7.3f} {acc.max():>7.3f} "
              f"{np.median([r['median_sensations'] for r in runs]):>12.1f} {sum(r['wrong_locks'] for r in runs):>12}")


def votes() -> None:
    print("\nsensations to recognise, 100 objects, columns voting through the object layer")
    print(f"{'columns':>8} {'recognised':>11} {'median':>7} {'mean':>6} {'seconds':>8}")
    for columns in (1, 3, 5):
        r = run_locations(100, seed=11, columns=columns)
        print(f"{columns:>8} {r['accuracy']:>11.3f} {r['median_sensations']:>7.1f} {r['mean_sensations']:>6.2f} "
              f"{r['total_s']:>8.2f}")


def capacities() -> None:
    print(f"\ncapacity (largest object count with < 10 % failures), bisection in [0.7, 1.3] x published, "
          f"seed 0 ({_load()})")
    print(f"{'setting':>22} {'ours':>6} {'published':>10} {'ratio':>6} {'probes':>7} {'seconds':>8}")
    rows = [("default", {}, PUBLISHED["capacity_default"])]
    rows += [(f"cells per axis {c}", {"cells_per_axis": c}, v)
             for c, v in PUBLISHED["capacity_vs_cells_per_axis"].items() if c != 10]
    rows += [(f"feature pool {f}", {"n_features": f}, v)
             for f, v in PUBLISHED["capacity_vs_feature_pool"].items() if f != 100]
    for name, kwargs, published in rows:
        t0 = time.perf_counter()
        cap = capacity(lower=int(published * 0.7), upper=int(published * 1.3), seed=0,
                       resolution=max(1, published // 50), **kwargs)
        flag = "+" if cap["at_upper_bound"] else ""
        print(f"{name:>22} {cap['capacity']:>5}{flag:1} {published:>10} {cap['capacity'] / published:>6.2f} "
              f"{len(cap['probes']):>7} {time.perf_counter() - t0:>8.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the recognition table")
    parser.add_argument("--capacity", action="store_true", help="also run the capacity sweeps")
    args = parser.parse_args()
    timings(args.repeats)
    recognition(args.seeds)
    votes()
    if args.capacity:
        capacities()


if __name__ == "__main__":
    main()
