"""Recognising objects by touch with grid-cell locations (Lewis et al. 2019), step by step.

A column learns grid objects (features on a 4 x 4 grid) in one pass: a random location per
object, path integration between features, L4 learning each feature at its location and L6
anchoring the location to the feature.  Then it touches every object in random order: the
first touch is ambiguous (every location where that feature was ever learned), each movement
shifts all hypotheses, each new touch keeps the ones that predicted it.

    python demos/grid_objects.py --objects 100 --seed 0 --plot out/grid_objects

The table shows how the location hypotheses (anchored grid cells) and the candidate objects
narrow over sensations; with --plot a figure of both is written (matplotlib, imported only then).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

_ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import numpy as np  # noqa: E402

from regions.gridpath import feature_minicolumns, readout  # noqa: E402
from regions.locations import make_grid_region, touch_orders  # noqa: E402
from regions.worlds.grid_objects import GridObjectWorld  # noqa: E402


def candidate_objects(region, world, codes, anchored_rows, episodes) -> np.ndarray:
    """Objects with a learned location code lying wholly inside an episode's anchored cells (hypotheses)."""
    rd = readout(region, world, codes)
    counts = np.zeros(len(episodes), dtype=np.int64)
    for row, cells in enumerate(anchored_rows):
        if cells.size == 0:
            continue
        hits = np.asarray(rd.loc_matrix[:, cells].sum(axis=1)).ravel()
        sizes = np.minimum(cells.size, rd.M)
        objects = np.unique(np.flatnonzero(hits >= sizes) // (rd.n_feat * rd.K))
        counts[row] = objects.size
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100, help="objects to learn (default 100)")
    parser.add_argument("--features", type=int, default=100, help="feature pool (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=pathlib.Path, default=None, help="directory for the figure")
    args = parser.parse_args()
    if args.objects <= 0 or args.features <= 0:
        parser.error("--objects and --features must be positive")

    world = GridObjectWorld(args.objects, args.features, seed=args.seed)
    region = make_grid_region(seed=args.seed)
    codes = region.learn_grid_objects(world)
    print(f"learned {world.n_objects} objects of {world.features_per_object} features "
          f"(pool {world.n_features}); {region.n_synapses} synapses")

    # follow a few objects sensation by sensation through the layers themselves
    rng = np.random.default_rng(args.seed)
    shown = np.arange(min(5, world.n_objects))
    history = []  # (sensation, object, anchored cells, candidate objects)
    for obj in shown:
        region.reset()
        order = rng.permutation(world.features_per_object)
        for step, i in enumerate(order):
            move = world.displacement(obj, order[step - 1], i) if step else None
            mc = feature_minicolumns(region, world, np.array([obj]), np.array([[i]]))[0]
            anchored = region.infer_grid_sensation(mc.ravel(), move).astype(np.int64)
            n_candidates = candidate_objects(region, world, codes, [anchored], [obj])[0]
            history.append((step + 1, obj, anchored.size, n_candidates))
            if n_candidates <= 1 and np.all(np.isin(anchored, codes.location[obj, i, 0])):
                break
    print(f"\n{'object':>6} {'sensation':>9} {'anchored cells':>15} {'candidate objects':>18}")
    for sensation, obj, n_cells, n_cand in history:
        print(f"{obj:>6} {sensation:>9} {n_cells:>15} {n_cand:>18}")

    orders = touch_orders(rng, world.n_objects, region.n_columns, world.features_per_object)
    result = region.infer_grid_episodes(world, codes, orders, record=True)
    print(f"\nall objects: {result.accuracy:.1%} recognised, median {result.median_sensations:.0f} sensations")
    steps = int(np.nanmax(np.where(np.isfinite(result.sensations), result.sensations, np.nan), initial=1))
    for k in range(1, min(steps, 10) + 1):
        print(f"  recognised by sensation {k}: {np.mean(result.sensations <= k):.2f}")

    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        args.plot.mkdir(parents=True, exist_ok=True)
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for obj in shown:
            rows = [(s, c, n) for s, o, c, n in history if o == obj]
            axes[0].plot([r[0] for r in rows], [r[1] for r in rows], marker="o", label=f"object {obj}")
            axes[1].plot([r[0] for r in rows], [r[2] for r in rows], marker="o")
        axes[0].set(xlabel="sensation", ylabel="anchored grid cells (hypotheses)", yscale="log")
        axes[0].legend(fontsize=8)
        axes[1].set(xlabel="sensation", ylabel="candidate objects", yscale="log")
        fig.suptitle(f"{world.n_objects} objects: location hypotheses narrow with each touch")
        fig.tight_layout()
        path = args.plot / "grid_objects_narrowing.png"
        fig.savefig(path, dpi=120)
        print(f"figure: {path}")


if __name__ == "__main__":
    main()
