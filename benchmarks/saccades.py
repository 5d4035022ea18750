"""Digit saccades: accuracy after the last saccade by column count, over several seeds.

Runs the shipped ``configs/digit_saccades.yaml`` (one training image per digit class, 5 held-out
images per class, 10 saccades chosen by the L5 hypothesis policy) through the public API,
``build(load_config(...)).run()``, for each column count and seed, and prints the accuracy on the
learned images, on held-out images and on noisy held-out views (pixel noise 0.2), then the mean
over seeds.  Chance is 0.1.

    python benchmarks/saccades.py                       # columns 1 and 4, seeds 0 1 2
    python benchmarks/saccades.py --columns 1 2 4 --seeds 0 1 2 3 4

Needs scikit-learn (``pip install 'cortical-columns[digits]'``).

Measured (``--seeds 0 1 2`` and ``--seeds 3 4 5``, 6 seeds, mean +- standard error of the mean;
learned images 1.00 in every run), the protocol over the network:

    columns   held-out        noisy
          1   0.340 +- 0.024  0.300 +- 0.028
          4   0.427 +- 0.047  0.417 +- 0.042

and, on the same seeds, the earlier runner that built its own region: 1 column 0.290 +- 0.046 /
0.307 +- 0.028, 4 columns 0.467 +- 0.011 / 0.443 +- 0.034 (the world's train / test split and
the region now draw from the network's seeds, so single runs differ; 50 test images per run).
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

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "digit_saccades.yaml"
KEYS = ("accuracy_learned_final", "accuracy_held_out_final", "accuracy_held_out_noisy_final")


def main(argv: list[str] | None = None) -> dict[int, np.ndarray]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--columns", type=int, nargs="+", default=[1, 4], help="column counts")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="config seeds")
    args = ap.parse_args(argv)
    bad = [c for c in args.columns if c < 1] + [s for s in args.seeds if s < 0]
    if bad:
        ap.error(f"--columns must be >= 1 and --seeds >= 0, got {bad[0]}")
    print(f"digit saccades ({CONFIG.name}): accuracy after the last saccade; chance 0.1")
    print(f"{'columns':>7} {'seed':>4} {'learned':>8} {'held-out':>8} {'noisy':>8} {'seconds':>8}")
    out: dict[int, np.ndarray] = {}
    for columns in args.columns:
        rows = []
        for seed in args.seeds:
            cfg = load_config(CONFIG, [f"regions[0].columns={columns}", f"seed={seed}"])
            t0 = time.perf_counter()
            m = build(cfg).run()[0]
            rows.append([m[k] for k in KEYS])
            print(f"{columns:>7} {seed:>4} " + " ".join(f"{v:>8.2f}" for v in rows[-1])
                  + f" {time.perf_counter() - t0:>8.1f}", flush=True)
        out[columns] = np.asarray(rows)
        print(f"{columns:>7} {'mean':>4} " + " ".join(f"{v:>8.3f}" for v in out[columns].mean(axis=0)))
    return out


if __name__ == "__main__":
    main()
