"""Touch objects with voting columns — the 2017 columns experiment as a tutorial.

A region of columns learns feature objects (sets of (location, feature) pairs) with one
exposure each, then recognises them by touch.  At the first touch each column's L2/3 holds
the union of every object that has the sensed pair; votes between columns and further
touches narrow it to one object.  The script prints, per number of columns, how many
touches recognition takes, and traces one object's L2/3 activity sensation by sensation.

    python demos/touch_objects.py                 # 30 objects, 1 and 3 columns
    python demos/touch_objects.py --objects 50 --columns 1 2 4 --plot out/

Backed by configs/touch_objects.yaml (the default job of `cortical run`).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from regions import build, load_config  # noqa: E402
from regions.experiments import learn_objects, touch_objects  # noqa: E402

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "touch_objects.yaml")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=30)
    ap.add_argument("--pool", type=int, default=10, help="feature pool size")
    ap.add_argument("--columns", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", metavar="DIR", help="write figures (needs matplotlib)")
    args = ap.parse_args(argv)

    curves = {}
    print(f"{args.objects} objects of 10 (location, feature) pairs, feature pool {args.pool}")
    print(f"{'columns':>8} {'mean touches':>13} {'recognised':>11}  L2/3 cells per column over the first touches (object 0)")
    for n in args.columns:
        cfg = load_config(CONFIG, [f"regions[0].columns={n}", f"experiment.n_objects={args.objects}",
                                   f"experiment.n_features={args.pool}", f"seed={args.seed}"])
        net = build(cfg)
        region, world = net.regions["S1"], net.world
        objects = np.arange(args.objects)
        codes, _ = learn_objects(region, world, objects, repeats=3)
        # trace object 0: the union of candidates narrowing
        region.reset()
        order = np.argsort(np.random.default_rng(args.seed).random((n, 10)), axis=1)
        trace = []
        for s in range(5):
            res = region.infer_sensation(*world.sense(0, order[:, s]))
            trace.append(int(res.l23_active.mean()))
        res = touch_objects(region, world, codes, objects, np.random.default_rng(args.seed + 1), max_sensations=10)
        sens = res["sensations_to_converge"]
        curves[n] = res["correct"].mean(axis=0)
        print(f"{n:>8} {np.mean(sens[np.isfinite(sens)]):>13.2f} {res['converged'].mean():>11.2f}  "
              + " -> ".join(str(t) for t in trace))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        os.makedirs(args.plot, exist_ok=True)
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for n, acc in curves.items():
            ax.plot(np.arange(1, acc.size + 1), acc, marker="o", label=f"{n} column{'s' if n > 1 else ''}")
        ax.set_xlabel("touches")
        ax.set_ylabel("objects recognised")
        ax.set_title(f"{args.objects} objects, feature pool {args.pool}")
        ax.legend()
        fig.tight_layout()
        path = os.path.join(args.plot, "touch_objects.png")
        fig.savefig(path, dpi=120)
        print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
