"""TD(lambda) over the column's place code in the arena: no replay vs random vs prioritised replay.

Runs ``configs/arena_td.yaml`` (experiment ``arena_td``) for ``--seeds`` seeds.  Every seed builds
its own network (its own grid frame and place cells) and runs the three agents on the same start,
goal schedule and agent seed; they differ only in what they replay while resting between episodes.
Prints, as mean +- standard deviation over the seeds:

1. steps to the goal at selected episodes (the shortest path beside them; an episode is cut at
   ``max_steps``, which then counts);
2. the real episodes each agent needs until ``--window`` consecutive episodes take at most
   1.1 x their shortest paths (also 1.5 x, for a coarser view), and after the goal moves, the
   episodes to get there again; a seed that never gets there is counted in "reached" and left out
   of the mean;
3. what replay did: backups, the share of adjacent backups running in reverse, mean sequence length.

    python benchmarks/td.py --seeds 5 --figure out/td.png
    python benchmarks/td.py --seeds 3 --set experiment.params.need=successor     # Mattar & Daw's need term

The figure (needs matplotlib; skipped with a note without it) draws steps / shortest path per
episode, median over seeds with the quartiles shaded, for each replay mode.

Measured (10 seeds, shipped config, ``python benchmarks/td.py --seeds 10``; 65 s on a shared 2-core machine)::

    episodes to 5 in a row within 10 % / 50 % of the shortest paths (goal moves after episode 30)
          replay    episodes to <= 1.1x             to <= 1.5x        recover <= 1.1x        recover <= 1.5x
            none    24.0 +-  2.0 (2/10)   16.0 +-  4.6 (10/10)           never (0/10)    23.8 +-  5.5 (6/10)
          random    12.3 +-  3.5 (6/10)   11.0 +-  4.9 (10/10)    17.5 +-  4.9 (8/10)   16.6 +-  6.0 (10/10)
     prioritized    14.8 +-  6.2 (4/10)    11.9 +-  5.0 (9/10)    12.5 +-  1.5 (2/10)    15.2 +-  4.1 (5/10)
    steps at episode 10: 37.3 +- 44.1 / 31.0 +- 41.2 / 19.1 +- 4.8 (shortest 14); episode 40 (10 after the
    move): 81.7 +- 62.0 / 427.0 +- 469.0 / 567.1 +- 449.2; episode 60: 20.0 +- 2.9 / 14.4 +- 0.7 / 19.2 +- 4.0;
    reverse share of adjacent backups 0.75 (random) / 0.77 (prioritised), mean sequence 1.02 / 1.17 backups;
    largest |V| 1.02 / 1.00 / 1.08.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regions.builder import build  # noqa: E402
from regions.config import load_config  # noqa: E402
from regions.td import ArenaTDParams, episodes_to_criterion, run_arena_td_experiment, td_frame  # noqa: E402


def run_seeds(config: Path, overrides: list[str], seeds: list[int]) -> tuple[ArenaTDParams, dict[str, dict]]:
    """Per mode: ``steps`` and ``shortest`` ``(seeds, episodes)`` and the replay logs of every seed."""
    out: dict[str, dict] = {}
    params = None
    for seed in seeds:
        net = build(load_config(config, [*overrides, f"seed={seed}"]))
        params = ArenaTDParams.model_validate(net.config.experiment.params)
        _, frame = td_frame(net)
        result = run_arena_td_experiment(net.world, frame, params, net.rng)
        for mode, log in result.logs.items():
            row = out.setdefault(mode, {"steps": [], "shortest": [], "replay": [], "seconds": [], "vmax": []})
            row["steps"].append(log.steps)
            row["shortest"].append(log.shortest)
            row["replay"].append(log.replay)
            row["seconds"].append(log.seconds)
            row["vmax"].append(float(np.max(np.abs(log.values))))
    for row in out.values():
        row["steps"], row["shortest"] = np.array(row["steps"]), np.array(row["shortest"])
    assert params is not None
    return params, out


def spread(values: list[float]) -> str:
    """``mean +- sd (reached/n)`` of the finite values."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return f"never (0/{len(values)})"
    return f"{np.mean(finite):5.1f} +- {np.std(finite):4.1f} ({len(finite)}/{len(values)})"


def criterion_table(p: ArenaTDParams, runs: dict[str, dict], window: int) -> None:
    moved = p.move_goal_after if 0 < p.move_goal_after < p.episodes else None
    header = f"{'replay':>12} {'episodes to <= 1.1x':>22} {'to <= 1.5x':>22}"
    if moved is not None:
        header += f" {'recover <= 1.1x':>22} {'recover <= 1.5x':>22}"
    print(header)
    for mode, row in runs.items():
        cells = []
        for first, last in ((0, moved), (moved, None)) if moved is not None else ((0, None),):
            for tol in (0.1, 0.5):
                cells.append(spread([episodes_to_criterion(s, sh, window=window, tolerance=tol, first=first or 0,
                                                           last=last)
                                     for s, sh in zip(row["steps"], row["shortest"])]))
        print(f"{mode:>12} " + " ".join(f"{c:>22}" for c in cells))


def main(argv: list[str] | None = None) -> dict[str, dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "arena_td.yaml")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    ap.add_argument("--figure", type=Path, default=None, help="write the figure (PNG) here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    p, runs = run_seeds(args.config, args.set, list(range(args.seeds)))
    modes = list(runs)
    print(f"arena_td: {args.seeds} seeds, {p.episodes} episodes (goal moves after {p.move_goal_after or 'never'}), "
          f"start {p.start}, goal {p.goal} -> {p.moved_goal if p.move_goal_after else '-'}, features {p.features} "
          f"({p.place_cells} place cells), TD(lambda={p.td_lambda}), gamma {p.gamma}, {p.replay_steps} backups "
          f"per rest, need {p.need}, max {p.max_steps} moves per episode")
    shortest = runs[modes[0]]["shortest"]
    marks = sorted({1, 2, 3, 5, 10, 15, 20, 25, p.episodes} | (
        {p.move_goal_after, p.move_goal_after + 1, p.move_goal_after + 2, p.move_goal_after + 5,
         p.move_goal_after + 10, p.move_goal_after + 20} if p.move_goal_after else set()))
    marks = [m for m in marks if 1 <= m <= p.episodes]
    print("\n1. steps to the goal (mean +- sd over seeds)")
    print(f"{'episode':>8} {'shortest':>9} " + " ".join(f"{m + ' replay':>18}" for m in modes))
    for e in marks:
        cells = [f"{runs[m]['steps'][:, e - 1].mean():8.1f} +- {runs[m]['steps'][:, e - 1].std():6.1f}" for m in modes]
        print(f"{e:>8} {shortest[:, e - 1].mean():>9.1f} " + " ".join(f"{c:>18}" for c in cells))
    print(f"\n2. real episodes until {p.window} consecutive episodes are within 10 % (50 %) of the shortest paths "
          "(mean +- sd over the seeds that get there; reached/seeds)")
    criterion_table(p, runs, p.window)
    print("\n3. replay (all rests)")
    print(f"{'replay':>12} {'backups':>8} {'reverse share':>14} {'mean sequence':>14} {'max |V|':>8} {'s / run':>8}")
    for mode, row in runs.items():
        logs = row["replay"]
        backups = int(np.mean([r.backups for r in logs]))
        pairs = [r.forward + r.reverse for r in logs]
        reverse = np.mean([r.reverse / n for r, n in zip(logs, pairs) if n]) if any(pairs) else float("nan")
        seq = np.mean([np.mean(r.events) for r in logs if r.events]) if any(r.events for r in logs) else float("nan")
        print(f"{mode:>12} {backups:>8} {reverse:>14.2f} {seq:>14.2f} {max(row['vmax']):>8.3f} "
              f"{np.mean(row['seconds']):>8.1f}")
    print(f"\nwall time {time.perf_counter() - t0:.1f} s")
    if args.figure is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed (pip install -e '.[plot]'): no figure written")
            return runs
        fig, ax = plt.subplots(figsize=(8, 4.5))
        episodes = np.arange(1, p.episodes + 1)
        for mode, row in runs.items():
            ratio = row["steps"] / np.maximum(row["shortest"], 1)
            q1, med, q3 = np.percentile(ratio, [25, 50, 75], axis=0)
            ax.plot(episodes, med, marker=".", label=f"{mode} replay")
            ax.fill_between(episodes, q1, q3, alpha=0.2)
        if p.move_goal_after:
            ax.axvline(p.move_goal_after + 0.5, color="k", ls=":", label="goal moves")
        ax.axhline(1.1, color="0.5", ls="--", lw=0.8, label="1.1 x shortest")
        ax.set(yscale="log", xlabel="episode", ylabel="steps / shortest path",
               title=f"TD(lambda) over the place code, {args.seeds} seeds (median, quartiles)")
        ax.legend(fontsize=8)
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=110)
        plt.close(fig)
        print(f"figure: {args.figure}")
    return runs


if __name__ == "__main__":
    main()
