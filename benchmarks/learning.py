"""Local plasticity and continual learning: one-shot recognition per rule, retention, novelty, energy.

    python benchmarks/learning.py                  # 50 objects per stage, 3 stages (several minutes on one core)
    python benchmarks/learning.py --objects 20     # quicker

Prints four tables:

1. one-shot: objects seen once (one exposure, each pair held 3 steps) recognised by touch (the
   2017 touch_objects protocol), for every registered plasticity rule and 1 and 3 columns;
2. continual learning: a 1-column region learns 3 sets of objects in sequence (no reset of
   synapses); after each set the fraction of the FIRST set and of all learned objects recognised,
   next to a scikit-learn MLPClassifier learning the same objects (binary (location, feature)
   pair vectors) set by set with partial_fit until it classifies the set;
3. novelty: mean fraction of bursting L4 minicolumns on the 1st, 2nd and 3rd exposure of objects;
4. energy proxy: active cells and synaptic events per sensation and column for learned objects,
   unlearned objects of the same world (recombined known pairs) and objects of another world.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

# run as a script, this folder comes first on sys.path and benchmarks/columns.py would shadow the package
_ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if pathlib.Path(p or ".").resolve() != _ROOT / "benchmarks"]

import numpy as np  # noqa: E402

from columns.plasticity import available_rules  # noqa: E402
from regions.experiments import learn_objects, set_region_plasticity  # noqa: E402
from regions.learning import (  # noqa: E402
    energy_per_sensation,
    foreign_world,
    mlp_sequential,
    novelty_by_exposure,
    recognition,
)
from regions.region import Region  # noqa: E402
from regions.worlds.feature_objects import FeatureObjectWorld  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=50, help="objects per set (default 50)")
    parser.add_argument("--stages", type=int, default=3, help="sets learned in sequence (default 3)")
    parser.add_argument("--features", type=int, default=10, help="feature pool (default 10, as in 2017)")
    parser.add_argument("--sensations", type=int, default=10, help="touches per object at test (default 10)")
    parser.add_argument("--columns", type=int, nargs="+", default=[1, 3], help="column counts for one-shot")
    parser.add_argument("--continual-columns", type=int, default=1, help="columns of the continual region")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("objects", "stages", "features", "sensations", "continual_columns"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


def one_shot(args: argparse.Namespace, world: FeatureObjectWorld) -> None:
    print(f"\n1. one-shot: {args.objects} objects seen once, recognised after {args.sensations} touches "
          f"(feature pool {args.features}, 10 locations)")
    print(f"{'rule':<8} {'columns':>7} {'recognised':>10} {'learn s':>8}")
    objects = np.arange(args.objects)
    for rule in available_rules():
        for n_columns in args.columns:
            region = Region(n_columns, 2400, seed=args.seed)
            set_region_plasticity(region, rule)
            t0 = time.perf_counter()
            codes, _ = learn_objects(region, world, objects, 3)
            t_learn = time.perf_counter() - t0
            acc = recognition(region, world, codes, objects, max_sensations=args.sensations, seed=args.seed)
            print(f"{rule:<8} {n_columns:>7} {acc:>10.1%} {t_learn:>8.1f}", flush=True)
    print("(hebbian is the one-shot rule: synapses grown at the initial permanence connect after its +0.1 steps\n"
          " within the 3 held steps. stdp (a_plus 0.01 per step) cannot lift L4 synapses grown at 0.51 to the\n"
          " connected 0.6 in 3 steps, so L4 never predicts: no one-shot learning. bcm (eta 0.05 times a rate\n"
          " product) is partial: only pairs repeated across objects get enough steps; neither is one-shot)")


def continual(args: argparse.Namespace, world: FeatureObjectWorld) -> Region:
    stages = [np.arange(s * args.objects, (s + 1) * args.objects) for s in range(args.stages)]
    region = Region(args.continual_columns, 2400, seed=args.seed)
    mlp = mlp_sequential(world, stages, seed=args.seed)
    print(f"\n2. continual learning: {args.stages} sets of {args.objects} objects learned in sequence by one "
          f"{args.continual_columns}-column region (no reset of synapses)")
    print(f"{'stage':>5} {'learned':>7} {'first set':>9} {'all':>7} {'synapses':>9} {'learn s':>7}"
          f" {'MLP first':>9} {'MLP all':>7} {'MLP epochs':>10}")
    codes: list = []
    for s, objs in enumerate(stages):
        t0 = time.perf_counter()
        new, _ = learn_objects(region, world, objs, 3)
        t_learn = time.perf_counter() - t0
        codes.extend(new)
        learned = np.concatenate(stages[: s + 1])
        first = recognition(region, world, codes[: args.objects], stages[0], max_sensations=args.sensations,
                            seed=args.seed)
        every = recognition(region, world, codes, learned, max_sensations=args.sensations, seed=args.seed + 1)
        m = (f"{mlp[s]['first']:>9.1%} {mlp[s]['all']:>7.1%} {mlp[s]['epochs']:>10.0f}" if mlp is not None
             else f"{'n/a':>9} {'n/a':>7} {'n/a':>10}")
        print(f"{s + 1:>5} {learned.size:>7} {first:>9.1%} {every:>7.1%} {region.n_synapses:>9} {t_learn:>7.1f} {m}",
              flush=True)
    if mlp is None:
        print("(MLP column skipped: scikit-learn is not installed; pip install scikit-learn)")
    else:
        print("(MLP: sklearn MLPClassifier, 64 hidden units, adam lr 0.01; input = the object's (location, feature)\n"
              " pairs as a binary vector of n_locations * n_features bits, the whole object at once; each set is\n"
              " trained with partial_fit until it classifies all of that set (at most 300 epochs), then tested)")
    return region


def novelty(args: argparse.Namespace, world: FeatureObjectWorld) -> None:
    n = min(10, args.objects)
    print(f"\n3. novelty (fraction of bursting L4 minicolumns per sensation), {n} objects in a fresh "
          f"1-column region:")
    values = novelty_by_exposure(Region(1, 2400, seed=args.seed + 1), world, np.arange(n))
    print(f"{'exposure':>8} {'novelty':>8}")
    for e, v in enumerate(values, 1):
        print(f"{e:>8} {v:>8.3f}")
    print("(exposure 1 learns (read on the first step of each held sensation); 2 and 3 sense again without\n"
          " learning; a curiosity policy reads region.L4.novelty, float (n_columns,), after each sensation.\n"
          " Exposure 1 is below 1 because objects share pairs of the small pool)")


def energy(args: argparse.Namespace, world: FeatureObjectWorld, region: Region) -> None:
    n = min(10, args.objects)
    learned_at = args.objects * args.stages
    rows = [("learned objects", world, np.arange(n)),
            ("unlearned, same world", world, np.arange(learned_at, learned_at + n)),
            ("another world", foreign_world(world, args.seed + 7919), np.arange(n))]
    print(f"\n4. energy proxy per sensation and column ({n} objects x 10 touches, continual region, no learning):")
    print(f"{'input':<22} {'L4 cells':>8} {'L2/3 cells':>10} {'syn. events':>11} {'settle it':>9} {'novelty':>7}")
    for label, w, objs in rows:
        e = energy_per_sensation(region, w, objs)
        print(f"{label:<22} {e['l4_active_cells']:>8.1f} {e['l23_active_cells']:>10.1f} {e['synaptic_events']:>11.0f}"
              f" {e['settle_iterations']:>9.2f} {e['novelty']:>7.3f}")
    print("(synaptic events: active synapses (presynaptic cell active) over all settling iterations)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n_total = args.objects * args.stages + min(10, args.objects)
    world = FeatureObjectWorld(n_total, args.features, 10, 10, seed=args.seed + 1)
    t0 = time.perf_counter()
    one_shot(args, world)
    region = continual(args, world)
    novelty(args, world)
    energy(args, world, region)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
