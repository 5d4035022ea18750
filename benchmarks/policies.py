"""Sensations to recognise feature objects under each L5 policy (2017 objects, location given).

A region learns ``--objects`` feature objects (10 features each at 10 locations, a feature
pool of ``--features``), then touches each object moving as the policy says until its L2/3
holds the object's code.  Prints median / mean sensations and the fraction recognised.

    python benchmarks/policies.py --objects 100 --features 10
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from regions.experiments import learn_objects  # noqa: E402
from regions.policies import compare_policies  # noqa: E402
from regions.region import Region  # noqa: E402
from regions.worlds.feature_objects import FeatureObjectWorld  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, np.ndarray]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=100)
    ap.add_argument("--features", type=int, nargs="+", default=[10, 4], help="feature pool sizes")
    ap.add_argument("--locations", type=int, default=10)
    ap.add_argument("--columns", type=int, default=1)
    ap.add_argument("--max-sensations", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    policies = [("random", 0.0), ("scan", 0.0), ("hypothesis", 0.0), ("hypothesis", 0.5)]
    print(f"{'pool':>5} {'policy':>22} {'median':>7} {'mean':>6} {'recognised':>11} {'ms/episode':>11}")
    out = {}
    for pool in args.features:
        world = FeatureObjectWorld(args.objects, pool, args.locations, args.locations, seed=args.seed)
        region = Region(args.columns, seed=args.seed + 1)
        codes, _ = learn_objects(region, world, np.arange(args.objects), repeats=3)
        for policy in policies:
            t0 = time.perf_counter()
            res = compare_policies(region, world, codes, np.arange(args.objects), [policy],
                                   max_sensations=args.max_sensations, seed=args.seed + 2)
            dt = 1e3 * (time.perf_counter() - t0) / args.objects
            label, s = next(iter(res.items()))
            ok = np.isfinite(s)
            print(f"{pool:>5} {label:>22} {np.median(s):>7.1f} {np.mean(s[ok]):>6.2f} {ok.mean():>11.2f} {dt:>11.1f}")
            out[f"{pool}/{label}"] = s
    return out


if __name__ == "__main__":
    main()
