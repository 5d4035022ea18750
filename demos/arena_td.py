"""TD learning over the network's own place code, with hippocampal replay: a tutorial.

An agent in a 20 x 20 arena looks for a rewarded place.  It has no map and no table of states:
the only state it has is the code its column produces where it stands -- the grid cells of the
column's L6 modules and place cells wired one-shot onto them.  A value is a linear read-out of
that code, learned online by TD(lambda); between episodes the agent rests and replays moves it
remembers, either none, drawn at random, or prioritised by how much a backup would change a value
(after Mattar & Daw 2018).  Half-way through, the goal moves without notice.

The work is done by :mod:`regions.td` with ``configs/arena_td.yaml`` (the same run as
``cortical run configs/arena_td.yaml``); ``python benchmarks/td.py`` repeats it over seeds.

Run::

    python demos/arena_td.py                    # about half a minute
    python demos/arena_td.py --plot out/        # + out/arena_td.png (needs matplotlib)
    python demos/arena_td.py --episodes 20 --seed 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from regions.builder import build  # noqa: E402
from regions.config import load_config  # noqa: E402
from regions.td import (  # noqa: E402
    ArenaTDParams,
    LinearTD,
    ReplayLog,
    arena_lattice,
    draw_starts,
    plot_td,
    rest,
    run_agent,
    run_arena_td_experiment,
    td_frame,
    td_metrics,
)

CONFIG = ROOT / "configs" / "arena_td.yaml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=None, help="episodes (config: 60; the goal moves half-way)")
    parser.add_argument("--max-steps", type=int, default=None, help="moves before an episode is cut off (config: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--plot", type=Path, default=None, help="directory for arena_td.png")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    overrides = [f"seed={args.seed}"]
    if args.episodes is not None:
        overrides += [f"experiment.params.episodes={args.episodes}",
                      f"experiment.params.move_goal_after={args.episodes // 2}"]
    if args.max_steps is not None:
        overrides.append(f"experiment.params.max_steps={args.max_steps}")
    net = build(load_config(CONFIG, overrides))
    p = ArenaTDParams.model_validate(net.config.experiment.params)
    name, frame = td_frame(net)

    print("1. The code the agent learns values over")
    lattice = arena_lattice(frame, net.world.side, p.step, np.random.default_rng(args.seed), features=p.features,
                            place_cells=p.place_cells, synapses_per_module=p.place_synapses_per_module,
                            threshold=p.place_threshold)
    active = (lattice.phi > 0).sum(axis=1)
    print(f"   region {name}: {frame.n_modules} grid modules of periods {np.round(frame.periods, 1).tolist()} "
          f"({frame.lattice}), {p.place_cells} place cells wired one-shot onto the grid cells at random centres.")
    print(f"   {lattice.n_states} places the agent can stand on (step {p.step:g}); at each "
          f"{active.mean():.1f} place cells fire on average, {np.mean(active == 0):.1%} of places have none "
          f"(their value is 0).  V(place) = mean weight of the place cells firing there.")

    print("\n2. One rest: what prioritised replay does after the first success")
    first = ArenaTDParams.model_validate({**p.model_dump(), "episodes": 1, "move_goal_after": 0,
                                          "replay_modes": ["none"]})
    starts = draw_starts(lattice, first, np.random.default_rng(args.seed))
    walk = run_agent(net.world, lattice, first, "none", starts, np.random.default_rng(args.seed))
    print(f"   the first episode is a random walk: {walk.steps[0]} moves to the goal (shortest {walk.shortest[0]}); "
          f"the memory holds {walk.memory.size} distinct moves.")
    goal = np.asarray(p.goal)
    backups = 60
    for mode in ("prioritized", "random"):
        td = LinearTD(lattice.phi.shape[1], alpha=0.0, gamma=p.gamma, lam=0.0, replay_rate=p.replay_learning_rate)
        log = ReplayLog()
        for k in range(backups):  # one backup at a time, to watch the order
            rest(td, walk.memory, lattice, mode, 1, np.random.default_rng(k), log=log, successors=p.successors)
        distance = np.abs(np.round(lattice.positions[log.first] - goal)).max(axis=1).astype(int)
        valued = np.abs(np.round(lattice.positions - goal)).max(axis=1)[lattice.phi @ td.w > 0.01]
        print(f"   {mode:>11}: moves from the goal to each of the first {backups} places backed up:")
        print(f"   {'':>11}  {distance.tolist()}")
        reach = f"places {int(valued.max())} moves from the goal" if valued.size else "no place yet"
        print(f"   {'':>11}  value (> 0.01) has reached {reach} (the start is {walk.shortest[0]} moves away)")
    print("   Prioritised replay starts at the goal (the only surprise) and works back along the moves the\n"
          "   agent made, so value flows backwards in one rest (several moves lead into most places,\n"
          "   so the sequence branches and restarts).  Replay is time-compressed: "
          f"{p.replay_compression:g} backups per real move.\n"
          "   Random replay spends the same backups anywhere, mostly where no value has arrived yet.")

    print("\n3. The three agents (same start, goal schedule and seed; they differ only in what they replay)")
    result = run_arena_td_experiment(net.world, frame, p, net.rng)
    metrics = td_metrics(result)
    modes = list(result.logs)
    print(f"{'episode':>9} {'shortest':>9} " + " ".join(f"{m:>12}" for m in modes))
    for k in range(p.episodes):
        if k < 5 or (k + 1) % 5 == 0 or (p.move_goal_after and p.move_goal_after <= k < p.move_goal_after + 3):
            mark = "  <- the goal has moved" if p.move_goal_after and k == p.move_goal_after else ""
            print(f"{k + 1:>9} {result.logs[modes[0]].shortest[k]:>9} "
                  + " ".join(f"{result.logs[m].steps[k]:>12}" for m in modes) + mark)
    print(f"\n   episodes until {p.window} in a row are within {p.tolerance:.0%} of the shortest paths "
          "(None: not within this run):")
    for m in modes:
        recover = metrics.get(f"episodes_to_recover_{m}", "-")
        print(f"   {m:>11}: {metrics[f'episodes_to_near_shortest_{m}']}, after the goal moved: {recover}; "
              f"mean path / shortest over the last {p.window}: {metrics[f'final_path_ratio_{m}']:.2f}")
    print("   One seed is an anecdote: python benchmarks/td.py prints the same over several seeds.")
    if args.plot is not None:
        try:
            path = plot_td(result, args.plot / "arena_td.png")
        except ImportError:
            print("\n(matplotlib is not installed: pip install -e '.[plot]' for the figure)")
        else:
            print(f"\nfigure: {path} (steps / shortest path per episode; the learned value map)")
    return metrics


if __name__ == "__main__":
    main()
