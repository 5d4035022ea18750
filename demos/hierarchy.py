"""Hierarchies: higher regions recognise scenes made of what lower regions recognise, and their
feedback speeds the lower regions up.

Runs ``configs/hierarchy.yaml`` (two 1-column regions: S1 touches ambiguous feature objects, S2
learns scenes of 2x2 objects) or, with ``--levels 3``, ``configs/hierarchy_3level.yaml`` (two
4-column regions -> a 2-column region -> a 1-column region: scenes of scenes).  The protocol
(``hierarchy_scenes``, regions/scenes.py) learns bottom up, then visits each top-level item depth
first, the lowest level touching each object (half of the touches with a noisy location) until it
recognises it, with the feedback on and off.

Run::

    python demos/hierarchy.py --plot out/
    python demos/hierarchy.py --levels 3 --scenes 4
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from regions.builder import build  # noqa: E402
from regions.config import load_config  # noqa: E402

CONFIGS = {2: Path(__file__).resolve().parents[1] / "configs" / "hierarchy.yaml",
           3: Path(__file__).resolve().parents[1] / "configs" / "hierarchy_3level.yaml"}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", type=int, choices=sorted(CONFIGS), default=2, help="levels of the hierarchy")
    ap.add_argument("--scenes", type=int, default=None, help="items per level above 0 (default: the config's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=Path, default=None, help="directory for figures")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    overrides = [f"seed={args.seed}"] + ([f"experiment.params.n_scenes={args.scenes}"] if args.scenes else [])
    cfg = load_config(CONFIGS[args.levels], overrides)
    net = build(cfg)                    # the one network: every region, its connections, the world
    m = net.run()[0]                    # learns into `net` and measures
    print(f"{m['objects']} objects, {m['scenes']} items per level, {m['levels']} levels: each top item holds "
          f"{m['objects_per_item']} objects; learned in {m['learn_time_s']:.1f} s")
    print(f"\n{'feedback':>12} {'object':>7} {'level-0 sensations':>19} {'top level has its item':>23}")
    for row in m["table"]:
        s = row["mean_lower_sensations"]
        print(f"{row['feedback']:>12} {row['position']:>7} {s if s is not None else float('nan'):>19.2f} "
              f"{row['scene_recognised']:>23.2f}")
    for mode in ("on", "off"):
        if f"lower_sensations_after_first_feedback_{mode}" in m:
            print(f"level-0 sensations per object after the first, feedback {mode}: "
                  f"{m[f'lower_sensations_after_first_feedback_{mode}']:.2f} "
                  f"(recognised {m[f'lower_recognised_feedback_{mode}']:.2f}); "
                  f"top level accuracy {m[f'scene_accuracy_feedback_{mode}']:.2f}")
    print(f"\nfinished in {time.perf_counter() - started:.1f} s")
    if args.plot is not None:
        plot(args, m)
    return m


def plot(args: argparse.Namespace, m: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, series in m["series"].items():
        ax.plot(series["x"], series["y"], "-o", label=name.replace("lower_sensations_", "").replace("_", " "))
    ax.set(xlabel="object visited in the top-level item", ylabel="level-0 sensations to recognise it",
           title="feedback from higher levels speeds the lowest", ylim=(0, None))
    ax.legend()
    fig.tight_layout()
    args.plot.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot / f"hierarchy_{args.levels}level.png", dpi=110)
    plt.close(fig)
    print(f"wrote {args.plot / f'hierarchy_{args.levels}level.png'}")


if __name__ == "__main__":
    main()
