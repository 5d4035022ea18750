"""Arena navigation: path integration with grid modules, place cells, landmarks, replay.

A batch of agents random-walks in a square arena. Each agent path-integrates its self-motion
with the coordinate frame's grid modules (one `GridModules` column per agent, with phase noise
per step) and decodes its position from the phases. Agent 0 also:

* forms place cells from the frame's grid cells and reads them along its path;
* stores every landmark one-shot in an `EpisodicMemory` on its first visit (the landmark's
  location code = the agent's path-integrated phases shifted by the landmark's egocentric
  offset, its feature SDR, its identity) and recalls it from the location code on revisits;
* stores its whole path as a trajectory and replays it, noisy and time-compressed.

Run::

    python demos/arena_navigation.py --steps 2000 --seed 0 --plot out/
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from regions.entorhinal import CoordinateFrame  # noqa: E402
from regions.hippocampus import EpisodicMemory  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="time steps of the walk")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--plot", type=Path, default=None, help="directory for a PNG figure")
    parser.add_argument("--agents", type=int, default=200, help="walkers for the drift statistics")
    parser.add_argument("--arena", type=float, default=20.0, help="arena side, world units")
    parser.add_argument("--speed", type=float, default=0.4, help="step length, world units")
    parser.add_argument(
        "--phase-noise", type=float, default=0.002, help="path-integration noise per step, periods"
    )
    parser.add_argument("--landmarks", type=int, default=8, help="number of landmarks")
    parser.add_argument("--place-cells", type=int, default=120, help="number of place cells")
    args = parser.parse_args(argv)
    for name in ("steps", "agents", "landmarks", "place_cells"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.arena <= 0 or args.speed <= 0 or args.phase_noise < 0:
        parser.error("--arena and --speed must be > 0 and --phase-noise >= 0")
    return args


def random_walk(
    rng: np.random.Generator, n_agents: int, n_steps: int, side: float, speed: float
) -> np.ndarray:
    """Correlated random walks reflected at the walls: positions ``(n_steps + 1, n_agents, 2)``."""
    positions = np.empty((n_steps + 1, n_agents, 2))
    positions[0] = rng.uniform(0.2 * side, 0.8 * side, (n_agents, 2))
    heading = rng.uniform(0, 2 * math.pi, n_agents)
    for t in range(n_steps):  # the walk itself is sequential; agents are vectorised
        heading += rng.normal(0.0, 0.4, n_agents)
        step = speed * np.column_stack([np.cos(heading), np.sin(heading)])
        new = positions[t] + step
        bounced = (new < 0) | (new > side)
        new = np.where(new < 0, -new, new)
        new = np.where(new > side, 2 * side - new, new)
        heading = np.where(bounced[:, 0], math.pi - heading, heading)
        heading = np.where(bounced[:, 1], -heading, heading)
        positions[t + 1] = new
    return positions


def wrapped_error(estimate: np.ndarray, truth: np.ndarray, side: float) -> np.ndarray:
    """Euclidean error with each axis taken modulo the code's unique range."""
    delta = estimate - truth
    delta -= side * np.rint(delta / side)
    return np.linalg.norm(delta, axis=-1)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    frame = CoordinateFrame((3, 4, 5, 7), cells_per_axis=10)
    side = frame.unique_range

    # ------------------------------------------------------------ path integration (batched)
    path = random_walk(rng, args.agents, args.steps, args.arena, args.speed)
    modules = frame.grid_modules(args.agents)
    margin = 0.25 * args.arena
    arena_box = (-margin, args.arena + margin, -margin, args.arena + margin)
    modules.set_bumps(frame.encode(path[0]))
    checkpoints = sorted({n for n in (10, 30, 100, 300, 1000, 3000, 10000) if n <= args.steps} | {args.steps})
    phase_history = np.empty((args.steps + 1, frame.n_modules, 2))  # agent 0
    phase_history[0] = modules.current_phases()[0]
    drift_rows = []
    for t in range(1, args.steps + 1):
        modules.path_integrate(path[t] - path[t - 1], phase_noise=args.phase_noise, rng=rng)
        phases = modules.current_phases()
        phase_history[t] = phases[0]
        if t in checkpoints:
            phase_error = phases - frame.encode(path[t])
            phase_error -= np.rint(phase_error)
            # decoding over the whole unique range vs. with the prior "inside the arena"
            distance = wrapped_error(frame.decode(phases), path[t], side)
            in_arena = np.linalg.norm(frame.decode(phases, search_range=arena_box) - path[t], axis=-1)
            drift_rows.append(
                (t, float(np.sqrt(np.mean(phase_error**2))), args.phase_noise * math.sqrt(t),
                 float(np.median(distance)), float(np.mean(distance < 1.0)),
                 float(np.median(in_arena)))
            )

    # ------------------------------------------------------------ place cells along agent 0's path
    place = frame.place_cells(
        args.place_cells, rng, bounds=(0, args.arena, 0, args.arena), synapses_per_module=5
    )
    path_codes = frame.grid_code_of_phases(phase_history)
    place_firing = place.activity(path_codes)  # (steps + 1, place cells), from path integration
    true_firing = place.activity(frame.grid_code(path[:, 0]))
    agreement = (place_firing & true_firing).sum() / max(1, (place_firing | true_firing).sum())

    # ------------------------------------------------------------ landmarks: one-shot store, recall
    landmark_xy = rng.uniform(0.1 * args.arena, 0.9 * args.arena, (args.landmarks, 2))
    feature_bits, object_bits = 1024, 10 * args.landmarks
    features = [np.sort(rng.choice(feature_bits, 20, replace=False)) for _ in range(args.landmarks)]
    identities = [np.arange(10 * k, 10 * k + 10) for k in range(args.landmarks)]
    memory = EpisodicMemory(
        frame.cells_per_code, feature_bits, object_bits, min_overlap=frame.n_modules * 2
    )
    radius = 1.5
    near = np.linalg.norm(path[:, 0, None, :] - landmark_xy[None], axis=-1) < radius  # (T+1, K)
    entering = near & ~np.vstack([np.zeros((1, args.landmarks), bool), near[:-1]])
    stored_at: dict[int, int] = {}
    recalls: list[tuple[int, bool, float]] = []
    for t, k in zip(*np.nonzero(entering)):
        # the landmark's location code: own phases shifted by the sensed egocentric offset
        offset = landmark_xy[k] - path[t, 0]
        code = frame.grid_code_of_phases((phase_history[t] + frame.encode(offset))[None])[0]
        if k not in stored_at:
            stored_at[k] = memory.store(location=code, feature=features[k], object=identities[k])
        else:
            result = memory.recall(location=code)
            recalled = -1 if result.episode < 0 else int(result.object[0] // 10)
            stored_code = memory.episode(stored_at[k])["location"]
            shared = np.intersect1d(code, stored_code).size / max(1, stored_code.size)
            recalls.append((int(t), recalled == k, shared))

    # ------------------------------------------------------------ trajectory replay
    memory.store_trajectory(path_codes, timestamps=np.arange(args.steps + 1, dtype=float))
    replay = memory.replay(compression=20.0, noise=0.2, rng=rng)
    rho = float(spearmanr(np.arange(replay.order.size), replay.order).statistic)

    # ------------------------------------------------------------ report
    print(f"arena {args.arena:g} x {args.arena:g}, {args.agents} agents, {args.steps} steps, "
          f"periods {frame.periods.tolist()} (unique range {side:g}), "
          f"phase noise {args.phase_noise:g} periods/step, seed {args.seed}")
    print("\npath integration (all agents; position error in world units, median)")
    print(f"{'steps':>7} {'rms phase err':>14} {'sigma*sqrt(N)':>14} "
          f"{'err, full range':>16} {'P(err < 1)':>11} {'err, in arena':>14}")
    for t, rms, predicted, median, within, in_arena in drift_rows:
        print(f"{t:>7} {rms:>14.4f} {predicted:>14.4f} {median:>16.3f} {within:>11.2f} "
              f"{in_arena:>14.3f}")
    print("  (independent noise per module breaks the residue consistency: decoding over the\n"
          "   whole unique range fails catastrophically long before the phases are lost; a prior\n"
          "   'inside the arena' keeps the error small for much longer)")
    print(f"\nplace cells (agent 0): {args.place_cells} cells, "
          f"{place_firing.any(axis=0).sum()} fired along the path, "
          f"mean {place_firing.sum(1).mean():.2f} active per step, "
          f"agreement with the true-position code {agreement:.2f} (Jaccard)")
    print(f"\nlandmarks (agent 0): {len(stored_at)} of {args.landmarks} stored one-shot, "
          f"{len(recalls)} revisits")
    if recalls:
        correct = np.array([ok for _, ok, _ in recalls])
        shared = np.array([overlap for _, _, overlap in recalls])
        half = max(1, len(recalls) // 2)
        print(f"  recall accuracy {correct.mean():.2f} "
              f"(first half of revisits {correct[:half].mean():.2f}, second half "
              f"{correct[half:].mean() if len(recalls) > 1 else float('nan'):.2f})")
        print(f"  location-code overlap with the stored code: first half {shared[:half].mean():.2f}, "
              f"second half {shared[half:].mean() if len(recalls) > 1 else float('nan'):.2f} "
              "(drift erodes it)")
    print(f"\nreplay (agent 0): {replay.order.size} of {args.steps + 1} elements, "
          f"Spearman rho {rho:.3f}, a {args.steps}-step walk (1 s per step) replayed in "
          f"{replay.timestamps[-1]:.1f} s (compression 20, 20 % noisy cues)")
    elapsed = time.perf_counter() - started
    print(f"\nfinished in {elapsed:.1f} s")

    if args.plot is not None:
        plot(args, frame, place, path, phase_history, landmark_xy)
    accuracy = float(np.mean([ok for _, ok, _ in recalls])) if recalls else float("nan")
    return {"replay_rho": rho, "landmark_accuracy": accuracy, "seconds": elapsed}


def plot(args, frame, place, path, phase_history, landmark_xy) -> None:  # type: ignore[no-untyped-def]
    """Trajectory (true and decoded), landmarks and place fields, written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axis = np.linspace(0, args.arena, 160)
    grid = np.stack(np.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    firing = place.activity(frame.grid_code(grid))  # (positions, cells)
    field_id = np.where(firing.any(1), firing.argmax(1), -1).reshape(axis.size, axis.size)
    estimate = frame.decode(phase_history, search_range=(-args.arena, 2 * args.arena, -args.arena, 2 * args.arena))

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6))
    left.plot(path[:, 0, 0], path[:, 0, 1], lw=0.6, color="0.3", label="true path")
    left.plot(estimate[:, 0], estimate[:, 1], lw=0.6, color="tab:red", alpha=0.7, label="path-integrated")
    left.scatter(*landmark_xy.T, marker="*", s=150, color="gold", edgecolor="k", zorder=3, label="landmarks")
    left.set(xlim=(0, args.arena), ylim=(0, args.arena), aspect="equal", title="trajectory (agent 0)")
    left.legend(loc="upper right", fontsize=8)
    masked = np.ma.masked_less(field_id, 0)
    right.imshow(masked % 20, origin="lower", extent=(0, args.arena, 0, args.arena), cmap="tab20",
                 interpolation="nearest")
    right.scatter(*place.centres.T, s=4, color="k")
    right.set(aspect="equal", title=f"place fields ({place.n_cells} cells, from grid cells)")
    args.plot.mkdir(parents=True, exist_ok=True)
    out = args.plot / "arena_navigation.png"
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
