"""Hierarchy benchmark: feedback from higher levels, at two and three levels, over seeds.

Runs ``configs/hierarchy.yaml`` (S1 -> S2, 1 column each) and ``configs/hierarchy_3level.yaml``
(A, B 4 columns -> C 2 columns -> D 1 column) for ``--seeds`` seeds and prints, per config and
feedback mode, the level-0 touches per object after the first object of an item (mean over
seeds, with min..max), the share of objects recognised, the intermediate level's accuracy on its
scenes (3 levels) and the top level's accuracy on its items.

Run:  python benchmarks/hierarchy.py [--seeds 3] [--objects N] [--scenes N]

Measured (seeds 0-2, the shipped configs; 2 cores shared with other jobs)::

    config             feedback   touches/object (min..max)  recognised  level 1    top  s/seed
    hierarchy          on                 4.00 (3.76..4.36)        0.90        -   0.92    85.7
    hierarchy          off                6.77 (6.61..6.96)        0.75        -   0.90    85.7
    hierarchy_3level   on                 2.14 (2.02..2.37)        0.93     1.00   1.00    78.9
    hierarchy_3level   off                3.75 (3.42..4.25)        0.93     1.00   1.00    78.9

Feedback cuts the lowest level's touches per object by 41 % with two levels and 43 % with three
(there each object is touched by two 4-column regions at once, so it needs fewer touches either
way); C recognises every scene and D every scene of scenes with or without feedback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# run as a script, this folder comes first on sys.path and benchmarks/columns.py would shadow the package
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from regions import build, load_config  # noqa: E402

CONFIGS = ("hierarchy", "hierarchy_3level")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--objects", type=int, default=None, help="experiment.n_objects (default: the config's)")
    ap.add_argument("--scenes", type=int, default=None, help="experiment.params.n_scenes (default: the config's)")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    args = ap.parse_args(argv)
    shrink = ([f"experiment.n_objects={args.objects}"] if args.objects else []) + \
        ([f"experiment.params.n_scenes={args.scenes}"] if args.scenes else [])
    print(f"{'config':<18} {'feedback':<9} {'touches/object (min..max)':>26} {'recognised':>11} {'level 1':>8} "
          f"{'top':>6} {'s/seed':>7}")
    for name in args.configs:
        runs = []
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            runs.append(build(load_config(ROOT / "configs" / f"{name}.yaml", [f"seed={seed}", *shrink])).run()[0])
        per_seed = (time.perf_counter() - t0) / args.seeds
        for mode in ("on", "off"):
            key = f"feedback_{mode}"
            if f"scene_accuracy_{key}" not in runs[0]:
                continue
            touches = np.array([m[f"lower_sensations_after_first_{key}"] for m in runs], dtype=float)
            recognised = np.mean([m[f"lower_recognised_{key}"] for m in runs])
            level1 = [m.get(f"level1_accuracy_{key}") for m in runs]
            level1_text = f"{np.mean(level1):.2f}" if None not in level1 else "-"
            top = np.mean([m[f"scene_accuracy_{key}"] for m in runs])
            spread = f"{touches.mean():.2f} ({touches.min():.2f}..{touches.max():.2f})"
            print(f"{name:<18} {mode:<9} {spread:>26} {recognised:>11.2f} {level1_text:>8} {top:>6.2f} "
                  f"{per_seed:>7.1f}")


if __name__ == "__main__":
    main()
