"""Digit saccades: a region of columns recognises handwritten digits by looking at patches.

Reads ``configs/digit_saccades.yaml``: each column is one patch sensor of one eye; the region
learns one image per digit class (every fixation), then looks at held-out images (clean and
noisy), moving its eye where its L5 hypothesis-testing policy expects the most information.
Prints accuracy versus saccades for 1 column and for the config's columns, and a confusion
summary.  Needs scikit-learn (``pip install 'cortical-columns[digits]'``).

Run::

    python demos/digit_saccades.py --plot out/
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
from regions.network import derived_seed  # noqa: E402
from regions.saccades import confusion_matrix, evaluate_digits, learn_digits, make_l5  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "digit_saccades.yaml"


def run(columns: int, args: argparse.Namespace) -> dict:
    """Learn and test in the network the config builds (its region, its world), keeping the episodes."""
    cfg = load_config(CONFIG, [f"regions[0].columns={columns}", f"seed={args.seed}",
                               f"world.params.test_per_class={args.test_per_class}"])
    net = build(cfg)
    spec = cfg.regions[0]
    world, region = net.world, net.regions[spec.name]
    l5 = make_l5(region, world, spec.column.L5.policy, seed=derived_seed(net.build_seed, 5))
    t0 = time.perf_counter()
    labels = learn_digits(region, l5, world, world.train_indices, cfg.experiment.params["learn_repeats"])
    t_learn = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    out = {"world": world, "labels": labels, "learn_s": t_learn}
    for name, noise in (("held-out", 0.0), (f"noisy (pixel sigma {args.noise:g})", args.noise)):
        correct, episodes = evaluate_digits(region, l5, world, world.test_indices, labels, args.saccades, noise, rng)
        out[name] = (correct.mean(axis=0), episodes)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--columns", type=int, nargs="+", default=[1, 4], help="column counts to compare")
    ap.add_argument("--saccades", type=int, default=6)
    ap.add_argument("--test-per-class", type=int, default=3)
    ap.add_argument("--noise", type=float, default=0.2, help="pixel noise of the noisy views")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=Path, default=None, help="directory for figures")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    results = {c: run(c, args) for c in args.columns}
    print(f"digit saccades: 1 training image per class, {args.test_per_class} held-out per class, "
          f"policy hypothesis, seed {args.seed}")
    conds = [k for k in results[args.columns[0]] if k not in ("world", "labels", "learn_s")]
    header = " ".join(f"{f'{c} col {k.split()[0]}':>18}" for c in args.columns for k in conds)
    print(f"\n{'saccades':>8} {header}")
    for s in range(args.saccades):
        print(f"{s + 1:>8} " + " ".join(f"{results[c][k][0][s]:>18.2f}" for c in args.columns for k in conds))
    best = results[args.columns[-1]]
    world = best["world"]
    final = np.array([ep.predicted[-1] for ep in best["held-out"][1]])
    conf = confusion_matrix(world.labels[world.test_indices], final)
    print(f"\nconfusion ({args.columns[-1]} columns, held-out, after {args.saccades} saccades): "
          "true -> answers (count)")
    for c in range(10):
        answers = {("none" if j == 10 else j): int(n) for j, n in enumerate(conf[c]) if n}
        print(f"  {c}: {answers}")
    print(f"\nfinished in {time.perf_counter() - started:.1f} s")
    if args.plot is not None:
        plot(args, best)
    return results


def plot(args: argparse.Namespace, res: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    world = res["world"]
    acc, episodes = res["held-out"]
    n_show = 4
    fig, axes = plt.subplots(2, n_show, figsize=(3.2 * n_show, 6.4))
    for j in range(n_show):
        idx = int(world.test_indices[j * args.test_per_class])
        ep = episodes[j * args.test_per_class]
        ax = axes[0, j]
        ax.imshow(world.view(idx, pixel_noise=0.0), cmap="gray_r")
        centre = world.fixations[ep.fixations] + world.offsets.max(axis=0) / 2 + world.patch / 2 - 0.5
        ax.plot(centre[:, 1], centre[:, 0], "-o", color="tab:red", ms=4)
        for r, c in world.fixations[ep.fixations[:1]] + world.offsets:
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), world.patch, world.patch, fill=False, ec="tab:blue"))
        ax.set_title(f"digit {world.labels[idx]}: answers {ep.predicted.tolist()}", fontsize=8)
        ax.axis("off")
        axes[1, j].plot(np.arange(1, len(ep.candidates) + 1), ep.candidates, "-o")
        axes[1, j].set(xlabel="saccade", ylabel="hypotheses per column", ylim=(0, None))
    fig.suptitle("saccade trajectories (red; first fixation's sensors in blue) and hypotheses narrowing")
    fig.tight_layout()
    args.plot.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot / "digit_saccades.png", dpi=110)
    plt.close(fig)
    print(f"wrote {args.plot / 'digit_saccades.png'}")


if __name__ == "__main__":
    main()
