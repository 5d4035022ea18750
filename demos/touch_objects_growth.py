"""Grow a region while it learns, then prune it — neurogenesis on the touch-objects model, as a tutorial.

A region of 4 columns learns some feature objects.  Then it grows: new columns are *appended*, so
cell ``c`` of old column ``k`` keeps its flat index in every layer and every old segment, synapse
and permanence is carried over bit for bit -- nothing is relearned.  Right after the growth the old
columns still recognise every object (the new columns know nothing yet and stay silent).  One
re-exposure of the old objects lets the new columns learn them, while the old columns only infer;
afterwards all columns vote and recognition takes fewer touches.  Finally a synapse budget prunes:
only the last objects stay in use, L2/3 cells silent for too long are freed with their synapses,
and the objects in use are still recognised.

    python demos/touch_objects_growth.py                       # 12 objects, 8 before growing 4 -> 12 columns
    python demos/touch_objects_growth.py --objects 20 --before 12 --add 12

Backed by configs/touch_objects_growth.yaml (`cortical run configs/touch_objects_growth.yaml`;
`python benchmarks/growth.py` measures 4 -> 16 columns beside 16 from the start).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import regions  # noqa: E402
from regions import build, load_config  # noqa: E402
from regions.growth import (Usage, column_synapses, grow_region, grown_graph, prune, reexpose_object,  # noqa: E402
                            remap_code, remember_shape, touch)
from regions.network import store_codes  # noqa: E402
from regions.recognition import learn_object  # noqa: E402

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "touch_objects_growth.yaml")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=12)
    ap.add_argument("--before", type=int, default=8, help="objects learned before the growth")
    ap.add_argument("--add", type=int, default=8, help="columns added")
    ap.add_argument("--in-use", type=int, default=3, help="objects still in use when pruning")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", nargs="*", default=[], help="extra config overrides (key.path=value)")
    args = ap.parse_args(argv)

    # 1. Build the region of the config (4 columns) and learn the first objects, one exposure each.
    cfg = load_config(CONFIG, [f"seed={args.seed}", f"experiment.n_objects={args.objects}", *args.set])
    net = build(cfg)
    region, world = net.regions["S1"], net.world
    rng = np.random.default_rng(args.seed)
    kw = dict(max_sensations=cfg.experiment.max_sensations, overlap_threshold=30, max_active=60)
    usage = Usage(region)  # stamps the L2/3 cells active at every sensation (for pruning)
    codes, episodes = [], []

    def learn(obj: int) -> None:
        lo = learn_object(region, (world.sense(obj, np.full(region.n_columns, i))
                                   for i in range(world.features_per_object)), 3)
        codes.append(lo.code)
        episodes.append(region.L23._episode)  # the learning episode: votes learned later join it
        usage.observe(region)

    for obj in range(args.before):
        learn(obj)
    old = np.arange(args.before)
    res = touch(region, world, codes, old, rng, usage=usage, **kw)
    C = region.n_columns
    print(f"{C} columns learned {args.before} objects: recognised {np.isfinite(res['sensations']).mean():.2f}, "
          f"mean touches {np.mean(res['sensations']):.2f}, {region.n_synapses:,} synapses")

    # 2. Grow: append columns; they join the lateral graph by the rule (here: every column).
    before = column_synapses(region, np.arange(C))
    grow_region(region, args.add, graph=grown_graph(region.lateral_graph, C + args.add, topology="complete_graph"))
    usage.grow(region.n_columns, region.l23_params.cells)
    codes = [remap_code(c, region.n_columns, region.l23_params.cells) for c in codes]
    after = column_synapses(region, np.arange(C))
    same = all(np.array_equal(before[k], after[k]) for k in before)
    print(f"grown to {region.n_columns} columns: old columns' segments, synapses and permanences identical: {same}")

    # 3. The old columns still recognise every old object; the new ones are silent.
    res = touch(region, world, codes, old, rng, usage=usage, **kw)
    print(f"  right after growing: recognised {np.isfinite(res['sensations']).mean():.2f} (by the old columns), "
          f"mean touches {np.mean(res['sensations']):.2f}")

    # 4. One re-exposure: the old columns recognise each object, the new columns learn it.
    for obj in old:
        codes[obj] = reexpose_object(region, world, int(obj), codes[obj], episodes[obj], repeats=3, rng=rng,
                                     usage=usage, **kw)
    res = touch(region, world, codes, old, rng, usage=usage, **kw)
    print(f"  after one re-exposure: recognised {np.isfinite(res['sensations']).mean():.2f} by all "
          f"{region.n_columns} columns, mean touches {np.mean(res['sensations']):.2f}")

    # 5. New objects are learned by every column as usual.
    for obj in range(args.before, args.objects):
        learn(obj)

    # 6. Prune: only the last objects stay in use; cells silent for longer than their touches are freed.
    in_use = np.arange(args.objects - args.in_use, args.objects)
    touch(region, world, codes, in_use, rng, usage=usage, **kw)
    out = prune(region, usage, idle_sensations=args.in_use * kw["max_sensations"])
    res = touch(region, world, codes, np.arange(args.objects), rng, **kw)
    rec = np.isfinite(res["sensations"])
    print(f"pruned {out['cells_freed']:,} idle L2/3 cells: synapses {out['synapses_before']:,} -> "
          f"{out['synapses_after']:,}; objects in use recognised {rec[in_use].mean():.2f}, "
          f"the others {rec[: args.objects - args.in_use].mean():.2f} (forgotten)")

    # 7. A grown network saves and loads like any other (the grown shape travels in net.memory).
    store_codes(net, "object_codes", codes)
    remember_shape(net, "S1")
    path = os.path.join(tempfile.mkdtemp(), "grown.npz")
    net.save(path)
    loaded = regions.load(path)
    print(f"saved and loaded: {loaded.regions['S1'].n_columns} columns, {loaded.regions['S1'].n_synapses:,} synapses")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
