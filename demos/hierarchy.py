"""Two regions: S1 recognises feature objects, S2 recognises scenes made of them, and S2's
feedback speeds S1 up.

Reads ``configs/hierarchy.yaml``: S1 learns ambiguous feature objects; S2 learns scenes of
2x2 objects from S1's L2/3 output (fixed random projection + k-winners onto its L4); S1's L4
learns apical segments on S2's scene codes.  Then each scene is visited position by position,
S1 touching each object (half of the touches with a noisy location) until it recognises it,
with the feedback on and off.

Run::

    python demos/hierarchy.py --plot out/
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from regions.builder import build  # noqa: E402
from regions.config import load_config  # noqa: E402
from regions.scenes import (SceneSet, SceneParams, learn_objects_alone, learn_scenes,  # noqa: E402
                            recognise_scene, scene_regions)

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "hierarchy.yaml"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenes", type=int, default=None, help="scenes (default: the config's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=Path, default=None, help="directory for figures")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    overrides = [f"seed={args.seed}"] + ([f"experiment.params.n_scenes={args.scenes}"] if args.scenes else [])
    cfg = load_config(CONFIG, overrides)
    p = SceneParams.model_validate(cfg.experiment.params)
    e = cfg.experiment
    h = build(cfg)                      # the one network: both regions, their connections, the world
    world = h.world
    lower, higher = scene_regions(h)
    scenes = SceneSet(p.n_scenes, p.grid, world.n_objects, world.location_size, 20, seed=args.seed + 1)
    codes = learn_objects_alone(h.regions[lower], world, p.learn_repeats, np.zeros(0, dtype=np.int64))
    scene_codes = learn_scenes(h, lower, higher, world, scenes, codes, p.learn_repeats)
    t_learn = time.perf_counter() - started
    results = {}
    for label, fb in (("on", True), ("off", False)):
        rng = np.random.default_rng(args.seed + 7)
        runs = [recognise_scene(h, lower, higher, world, scenes, s, codes, scene_codes[s], feedback=fb,
                                max_sensations=e.max_sensations, rng=rng, location_noise=e.noise.location,
                                noisy_fraction=p.noisy_fraction) for s in range(scenes.n_scenes)]
        results[label] = (np.array([r[0] for r in runs]), np.array([r[1] for r in runs]))
    print(f"{world.n_objects} objects ({world.features_per_object} pairs, feature pool {world.n_features}), "
          f"{scenes.n_scenes} scenes of {scenes.n_positions} objects; location noise {e.noise.location:g} on "
          f"{p.noisy_fraction:.0%} of S1's touches; learned in {t_learn:.1f} s")
    print(f"\n{'feedback':>8} {'position':>8} {'S1 sensations (mean)':>21} {'S1 recognised':>14} {'S2 has the scene':>17}")
    for label, (sens, ok) in results.items():
        for pos in range(scenes.n_positions):
            s = sens[:, pos]
            m = np.mean(s[np.isfinite(s)]) if np.isfinite(s).any() else float("nan")
            print(f"{label:>8} {pos + 1:>8} {m:>21.2f} {np.isfinite(s).mean():>14.2f} {ok[:, pos].mean():>17.2f}")
    for label, (sens, _) in results.items():
        s = sens[:, 1:]
        print(f"S1 sensations per object after the first position, feedback {label}: "
              f"{np.mean(s[np.isfinite(s)]):.2f} (recognised {np.isfinite(s).mean():.2f})")
    print(f"\nfinished in {time.perf_counter() - started:.1f} s")
    if args.plot is not None:
        plot(args, results, scenes)
    return results


def plot(args: argparse.Namespace, results: dict, scenes: SceneSet) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(1, scenes.n_positions + 1)
    for label, (sens, ok) in results.items():
        m = [np.mean(c[np.isfinite(c)]) if np.isfinite(c).any() else np.nan for c in sens.T]
        left.plot(x, m, "-o", label=f"feedback {label}")
        right.plot(x, ok.mean(axis=0), "-o", label=f"feedback {label}")
    left.set(xlabel="position in the scene", ylabel="S1 sensations to recognise the object",
             title="feedback from S2 speeds S1", ylim=(0, None))
    right.set(xlabel="position in the scene", ylabel="fraction of scenes recognised by S2",
              title="S2 narrows to the scene", ylim=(0, 1.05))
    left.legend()
    right.legend()
    fig.tight_layout()
    args.plot.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot / "hierarchy.png", dpi=110)
    plt.close(fig)
    print(f"wrote {args.plot / 'hierarchy.png'}")


if __name__ == "__main__":
    main()
