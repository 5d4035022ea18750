"""Reproduce the 2017 columns experiments (Hawkins, Ahmad & Cui) beside the published values.

Runs the registered ``touch_objects`` experiment (configs/touch_objects.yaml with
overrides) and prints:

1. mean sensations to converge, 1 column, 100 objects, feature pools 5/10/20/30;
2. pool 10 with 1/2/3 columns, and pool 5 with 1..6 columns (figure 4B);
3. accuracy after k sensations (1 column, 100 objects, pool 10);
4. robustness: 50 objects with feature noise 0.3 and location noise 0.4;
5. L4 sparsification on learned sensations;
6. wall time per sensation for 1, 8 and 64 columns (batched kernels: 64 columns must
   cost less than 8x one column).

Usage: python benchmarks/columns.py [--objects 100] [--workers 2] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from regions.builder import run_experiment_trial  # noqa: E402
from regions.config import load_config  # noqa: E402
from regions.parallel import run_trials  # noqa: E402

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "touch_objects.yaml")

PUBLISHED_POOLS = {5: 3.7, 10: 2.8, 20: 2.2, 30: 2.1}
PUBLISHED_POOL10_COLUMNS = {1: 2.8, 2: 1.7, 3: 1.1}
PUBLISHED_POOL5_COLUMNS = {1: 3.75, 2: 2.4, 3: 1.95, 4: 1.5, 5: 1.2, 6: 1.0}


def config(columns: int, objects: int, pool: int, *, feature_noise: float = 0.0, location_noise: float = 0.0,
           seed: int = 0, max_sensations: int = 10):
    return load_config(CONFIG, [
        f"regions[0].columns={columns}", f"experiment.n_objects={objects}", f"experiment.n_features={pool}",
        f"experiment.noise.feature={feature_noise}", f"experiment.noise.location={location_noise}",
        f"experiment.max_sensations={max_sensations}", f"seed={seed}",
    ])


def run_all(tasks: dict[str, object], workers: int) -> dict[str, dict]:
    keys = list(tasks)
    items = [(tasks[k], 0, tasks[k].seed, False) for k in keys]
    results = run_trials(run_experiment_trial, items, workers=workers)
    return dict(zip(keys, results))


def mean_conv(m: dict) -> str:
    v = m["mean_sensations_to_converge"]
    return f"{v:5.2f}" if v is not None else "  n/a"


def time_per_sensation(columns: int, topology: str = "complete_graph", objects: int = 5,
                       sensations: int = 20) -> tuple[float, float]:
    """Median wall time (ms) of one inference sensation (settling included) after learning,
    and the mean number of settling iterations."""
    from regions.builder import build
    from regions.experiments import learn_objects

    lateral = ("{topology: complete_graph}" if topology == "complete_graph"
               else "{topology: watts_strogatz_graph, args: {k: 4, p: 0.1}}")
    cfg = load_config(CONFIG, [f"regions[0].columns={columns}", f"experiment.n_objects={objects}",
                               f"regions[0].lateral={lateral}"])
    net = build(cfg)
    region, world = net.regions["S1"], net.world
    learn_objects(region, world, np.arange(objects), 3)
    rng = np.random.default_rng(0)
    times, iterations = [], []
    for s in range(sensations):
        region.reset()
        f, loc = world.sense(s % objects, rng.integers(0, 10, columns))
        t0 = time.perf_counter()
        res = region.infer_sensation(f, loc)
        times.append(time.perf_counter() - t0)
        iterations.append(res.settle.iterations)
    return 1e3 * float(np.median(times)), float(np.mean(iterations))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="20 objects, fewer settings (smoke run)")
    args = ap.parse_args(argv)
    n = 20 if args.quick else args.objects
    t_start = time.perf_counter()
    tasks = {}
    for pool in PUBLISHED_POOLS:
        tasks[f"pool{pool}_c1"] = config(1, n, pool)
    for c in PUBLISHED_POOL10_COLUMNS:
        tasks.setdefault(f"pool10_c{c}", config(c, n, 10))
    for c in ((1, 2, 3) if args.quick else PUBLISHED_POOL5_COLUMNS):
        tasks.setdefault(f"pool5_c{c}", config(c, n, 5))
    n_noise = min(50, n)
    tasks["noise_feature"] = config(1, n_noise, 10, feature_noise=0.3)
    tasks["noise_location"] = config(1, n_noise, 10, location_noise=0.4)
    res = run_all(tasks, args.workers)

    print(f"2017 columns experiments, {n} objects of 10 (location, feature) pairs, 10 locations, "
          f"L4 150x16, L2/3 4096 cells / 40 active")
    print("\n1. mean sensations to converge, 1 column, by feature pool")
    print(f"{'pool':>6} {'ours':>6} {'published (at most)':>20} {'converged':>10}")
    for pool, pub in PUBLISHED_POOLS.items():
        m = res[f"pool{pool}_c1"]
        print(f"{pool:>6} {mean_conv(m):>6} {pub:>20} {m['fraction_converged']:>10.2f}")
    print("\n2a. pool 10: mean sensations by columns")
    print(f"{'cols':>6} {'ours':>6} {'published (at most)':>20} {'converged':>10} {'ms/sensation':>13}")
    for c, pub in PUBLISHED_POOL10_COLUMNS.items():
        m = res[f"pool10_c{c}"]
        print(f"{c:>6} {mean_conv(m):>6} {pub:>20} {m['fraction_converged']:>10.2f} {m['time_per_sensation_ms']:>13.1f}")
    print("\n2b. pool 5: mean sensations by columns (published figure 4B, read off the figure)")
    print(f"{'cols':>6} {'ours':>6} {'published':>20} {'converged':>10}")
    for c, pub in PUBLISHED_POOL5_COLUMNS.items():
        if f"pool5_c{c}" in res:
            m = res[f"pool5_c{c}"]
            print(f"{c:>6} {mean_conv(m):>6} {pub:>20} {m['fraction_converged']:>10.2f}")
    m = res["pool10_c1"]
    print("\n3. accuracy after k sensations, 1 column, pool 10")
    print(f"{'k':>4} {'ours':>6} {'target (at least)':>18}")
    for k, tgt in ((1, None), (2, None), (3, 0.70), (4, 0.97), (5, None)):
        print(f"{k:>4} {m[f'accuracy_at_{k}']:>6.2f} {tgt if tgt is not None else '':>18}")
    print(f"\n4. robustness, 1 column, {n_noise} objects, pool 10 (accuracy after 10 sensations)")
    for key, label in (("noise_feature", "feature noise 0.3"), ("noise_location", "location noise 0.4")):
        r = res[key]
        final = r["table"][-1]["accuracy"]
        print(f"{label:>20}: accuracy {final:.2f} (target at least 0.95), mean sensations {mean_conv(r)}")
    print("\n5. L4 sparsification by learning (pool 10, 1 column)")
    print(f"   active L4 cells per column: bursting first exposure {m['l4_active_bursting_exposure']:.1f}, "
          f"learned {m['l4_active_learned']:.1f}: {m['l4_sparsification']:.1f}x sparser (target at least 10x)")
    print(f"   first exposures of all novel pairs (some minicolumns already predicted by other features "
          f"learned at that location): {m['l4_active_first_exposure']:.1f} cells, "
          f"{m['l4_sparsification_novel_pairs']:.1f}x")
    print("\n6. wall time per sensation (inference with settling), 5 learned objects")
    t1, it1 = time_per_sensation(1)
    print(f"{'cols':>6} {'lateral graph':>22} {'ms':>8} {'x 1 column':>11} {'iterations':>11} {'ms/iteration':>13}")
    print(f"{1:>6} {'-':>22} {t1:>8.2f} {1.0:>11.2f} {it1:>11.2f} {t1 / it1:>13.2f}")
    for c, topo in ((8, "complete_graph"), (8, "watts_strogatz k=4"), (64, "watts_strogatz k=4"),
                    (64, "complete_graph")):
        t, it = time_per_sensation(c, "complete_graph" if topo == "complete_graph" else "ws")
        print(f"{c:>6} {topo:>22} {t:>8.2f} {t / t1:>11.2f} {it:>11.2f} {t / it:>13.2f}")
    print("   target: 64 columns cost less than 8x one column per sensation")
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
