"""Arena navigation: path integration with grid modules, place cells, landmarks, replay.

Experiment kind ``arena_navigation`` is a protocol over the network built from the config: its
grid modules are the first region's column L6 (``column.L6``, kind ``grid_modules``: scales,
orientations, cells per axis and bump width of one source), the landmarks' feature SDRs have
the column's L4 size (``L4.minicolumns`` bits, ``L4.active_minicolumns`` active) and each
landmark's identity in the episodic memory is the L2/3 code the column forms when it learns the
landmark one-shot at its first visit (L6 at the landmark's path-integrated location, L4 sensing
its feature; :func:`column_identities`), so sensing the landmark there again recalls that code.
Those synapses stay in the region; the place cells and landmark episodes are kept in
``net.memory`` (both saved with ``cortical run --save``).

An agent random-walks in an :class:`~regions.worlds.arena.ArenaWorld` (the world reflects it
at the walls and reports the displacement actually made). The agent's side:

* **path integration** -- the displacements drive a batch of `GridModules` of a
  :class:`~regions.entorhinal.CoordinateFrame` with Gaussian phase noise ``sigma`` (periods
  per step, per module and axis). ``n_walkers`` copies integrate the same displacements with
  independent noise (the drift is a property of the noise, not of the path), so the phase
  error after ``N`` steps is measured against the random-walk law ``sigma * sqrt(N)``
  (Burak & Fiete 2009). Positions are decoded by maximum likelihood with the prior "inside the
  arena", over the arena plus a margin, and, when the frame has an exact unique range (integer
  periods on the square lattice), also over that whole range; the least-squares
  prediction of the rms position error is ``sigma sqrt(N) sqrt(trace((sum_m A_m^T A_m)^-1))``
  (``A_m`` the module's phase matrix, ``1 / period`` on the square lattice), and the median of
  an isotropic 2-D Gaussian error is ``sqrt(ln 2)`` times its rms;
* **place cells** read the frame's grid cells (one-shot wiring at their centres) and are
  driven along the walk by the path-integrated code;
* **landmarks** -- the first time the agent senses a landmark it stores one episode in an
  :class:`~regions.hippocampus.EpisodicMemory`: the landmark's location code (the agent's
  path-integrated phases shifted by the sensed egocentric offset), its feature SDR and its
  identity (an object code); on every later visit it recalls the identity from the location
  code alone (the stored identity code overlapping the recalled object code most);
* **replay** -- the walk's path-integrated codes are stored as one trajectory and replayed
  by chained, noisy pattern completion, time-compressed; the order is scored by Spearman's
  rho against the walk's order.

The experiment kind ``arena_navigation`` (``configs/arena_navigation.yaml``) runs all of it
and returns the metrics with a ``table`` (drift at checkpoint steps) and ``series`` (errors
versus steps, the true and decoded trajectories). When the config's ``output.plot`` is set the
runner also writes a figure of the trajectory with place fields and decoded positions
(:func:`plot_navigation`) to ``output.dir`` (default ``out/arena_navigation``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import ConfigDict, Field
from pydantic.types import NonNegativeFloat, PositiveFloat, PositiveInt
from scipy.stats import spearmanr

from .builder import ProgressFactory, Uses, register_builder
from .config import Params
from .entorhinal import CoordinateFrame, PlaceCells
from .hippocampus import EpisodicMemory, Replay
from .network import Network
from .region import Region
from .worlds.arena import ArenaWorld

__all__ = [
    "ArenaNavigationParams",
    "DriftRow",
    "PathIntegration",
    "LandmarkVisit",
    "NavigationResult",
    "integrate_walk",
    "landmark_visits",
    "remember_landmarks",
    "place_field_stats",
    "replay_walk",
    "Identify",
    "random_identities",
    "column_identities",
    "run_navigation",
    "navigate",
    "navigation_metrics",
    "plot_navigation",
    "run_arena_navigation",
]

class ArenaNavigationParams(Params):
    """``experiment.params`` of ``arena_navigation`` (world units, steps, periods).

    The grid modules (periods, orientations, cells) are the column's L6 block, not parameters here.
    """

    model_config = ConfigDict(extra="forbid")

    steps: PositiveInt = 2000
    walkers: PositiveInt = 200  # noise realisations of path integration (drift statistics)
    speed: PositiveFloat = 0.4  # step length, world units
    turn_sigma: NonNegativeFloat = 0.4  # heading diffusion, radians per step
    phase_noise: NonNegativeFloat = 0.002  # periods per step, per module and axis
    decode_margin: NonNegativeFloat = 0.25  # the "inside the arena" prior: arena +- margin * side
    checkpoints: list[PositiveInt] = Field(default_factory=lambda: [10, 30, 100, 300, 1000, 3000, 10000])
    place_cells: PositiveInt = 120
    place_synapses_per_module: PositiveInt = 5
    place_threshold: float = Field(0.7, gt=0.0, le=1.0)
    field_resolution: PositiveInt = Field(60, ge=2)  # place-field map: points per arena side
    replay_compression: PositiveFloat = 20.0
    replay_noise: float = Field(0.2, ge=0.0, lt=1.0)  # fraction of each replay cue's bits replaced


# ------------------------------------------------------------------------- path integration
@dataclass(frozen=True)
class DriftRow:
    """Path-integration error of all walkers after ``steps`` steps.

    Phase errors in periods; position errors in world units.
    """

    steps: int
    rms_phase_error: float
    predicted_phase_error: float  # sigma * sqrt(steps)
    median_error_full_range: float | None  # decoded over the whole unique range (None: no exact range)
    fraction_within_1: float | None  # P(full-range error < 1 world unit)
    median_error_in_arena: float  # decoded with the prior "inside the arena"
    rms_error_in_arena: float  # dominated by the walkers decoded to a wrong place
    predicted_median_error: float  # least-squares prediction from sigma * sqrt(steps)


@dataclass(frozen=True)
class PathIntegration:
    """Result of :func:`integrate_walk`.

    ``phases``: walker 0's phases ``(n_steps + 1, n_modules, 2)``; ``rms_phase_error``: rms
    wrapped phase error over walkers, modules and axes at every step ``(n_steps + 1,)``;
    ``drift``: one :class:`DriftRow` per checkpoint.
    """

    phases: NDArray[np.float64]
    rms_phase_error: NDArray[np.float64]
    drift: list[DriftRow]


def position_error_scale(frame: CoordinateFrame) -> float:
    """World units of rms Euclidean position error per unit of phase noise (periods).

    Least squares over modules: ``sqrt(trace((sum_m A_m^T A_m)^-1))`` with ``A_m`` the phase
    matrices (world units -> periods); ``sqrt(2 / sum_m period_m^-2)`` on the square lattice.
    """
    a = frame.phase_matrices
    information = np.einsum("mki,mkj->ij", a, a)
    return float(math.sqrt(np.trace(np.linalg.inv(information))))


def integrate_walk(
    frame: CoordinateFrame,
    path: NDArray[np.float64],
    *,
    n_walkers: int,
    phase_noise: float,
    rng: np.random.Generator,
    checkpoints: list[int],
    search_box: tuple[float, float, float, float],
) -> PathIntegration:
    """Path-integrate the displacements of ``path`` ``(n_steps + 1, 2)`` with ``n_walkers`` noisy copies.

    All walkers start anchored at ``path[0]`` and integrate ``diff(path)`` with independent
    Gaussian phase noise ``phase_noise`` (periods per step). At each checkpoint step
    (``<= n_steps``; ``n_steps`` itself is always one) the walkers' phases are decoded over
    ``search_box = (x_min, x_max, y_min, y_max)`` and, when the frame has an exact unique range,
    over that whole range (else the full-range fields are None).
    """
    x = np.asarray(path, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 2:
        raise ValueError(f"path must have shape (n_steps + 1, 2) with n_steps >= 1, got {x.shape}")
    if int(n_walkers) < 1:
        raise ValueError(f"n_walkers must be >= 1, got {n_walkers!r}")
    n_steps = x.shape[0] - 1
    marks = sorted({int(c) for c in checkpoints if 0 < int(c) <= n_steps} | {n_steps})
    modules = frame.grid_modules(int(n_walkers))
    modules.set_bumps(np.broadcast_to(frame.encode(x[0]), (int(n_walkers), frame.n_modules, 2)))
    true_phases = frame.encode(x)  # (T + 1, M, 2)
    history = np.empty((n_steps + 1, frame.n_modules, 2))
    history[0] = true_phases[0]
    rms = np.zeros(n_steps + 1)
    at_marks: dict[int, NDArray[np.float64]] = {}
    displacements = np.diff(x, axis=0)
    for t in range(1, n_steps + 1):  # sequential in time; walkers and modules are batched
        modules.path_integrate(displacements[t - 1], phase_noise=phase_noise, rng=rng)
        phases = modules.current_phases()  # (walkers, M, 2)
        history[t] = phases[0]
        error = phases - true_phases[t]
        error -= np.rint(error)
        rms[t] = math.sqrt(float(np.mean(error**2)))
        if t in marks:
            at_marks[t] = phases
    scale = position_error_scale(frame)
    side = frame.unique_range
    drift = []
    for t in marks:
        phases = at_marks[t]
        full = _wrapped_distance(frame.decode(phases), x[t], side) if math.isfinite(side) else None
        boxed = np.linalg.norm(frame.decode(phases, search_range=search_box) - x[t], axis=-1)
        predicted = phase_noise * math.sqrt(t)
        drift.append(DriftRow(
            steps=t, rms_phase_error=float(rms[t]), predicted_phase_error=predicted,
            median_error_full_range=None if full is None else float(np.median(full)),
            fraction_within_1=None if full is None else float(np.mean(full < 1.0)),
            median_error_in_arena=float(np.median(boxed)),
            rms_error_in_arena=float(np.sqrt(np.mean(boxed**2))),
            predicted_median_error=predicted * scale * math.sqrt(math.log(2.0)),
        ))
    return PathIntegration(phases=history, rms_phase_error=rms, drift=drift)


def _wrapped_distance(estimate: NDArray[np.float64], truth: NDArray[np.float64], side: float) -> NDArray[np.float64]:
    """Euclidean error with each axis taken modulo the code's unique range ``side``."""
    delta = estimate - truth
    delta -= side * np.rint(delta / side)
    return np.linalg.norm(delta, axis=-1)


# ------------------------------------------------------------------------------ landmarks
@dataclass(frozen=True)
class LandmarkVisit:
    """One entry of the agent into a landmark's sensing radius.

    ``step``: time step; ``landmark``: its id; ``feature``: the sensed feature SDR;
    ``offset``: the sensed egocentric offset ``(2,)`` world units.
    """

    step: int
    landmark: int
    feature: NDArray[np.int32]
    offset: NDArray[np.float64]


def landmark_visits(world: ArenaWorld, path: NDArray[np.float64]) -> list[LandmarkVisit]:
    """The world's sensations along ``path`` ``(n_steps + 1, 2)``, kept where a landmark comes into range.

    The agent is placed at each position of the path and senses (``world.sense``); a visit
    starts when the sensed landmark differs from the previous step's. The world's position is
    restored afterwards.
    """
    saved = world.position.copy()
    visits = []
    previous = -1
    try:
        for t, position in enumerate(np.asarray(path, dtype=np.float64)):
            world.reset(position)
            landmark, feature, offset = world.sense()
            if landmark >= 0 and landmark != previous:
                visits.append(LandmarkVisit(t, landmark, feature, np.array(offset, dtype=np.float64)))
            previous = landmark
    finally:
        world.position = saved
    return visits


@dataclass(frozen=True)
class LandmarkRecall:
    """A revisit: the step, the landmark, whether recall named it, the location-code overlap.

    ``overlap`` is the fraction of the stored location code's bits present in the revisit's code.
    """

    step: int
    landmark: int
    correct: bool
    overlap: float


#: ``identify(landmark location phases (n_modules, 2), feature SDR) -> object code``: called once per
#: landmark, at its first visit.
Identify = Callable[[NDArray[np.float64], NDArray[np.int32]], NDArray[np.int32]]


def random_identities(object_size: int, active: int, rng: np.random.Generator) -> Identify:
    """An :data:`Identify` giving each new landmark a random code of ``active`` of ``object_size`` bits."""
    if not 0 < int(active) <= int(object_size):
        raise ValueError(f"active must lie in [1, object_size = {object_size}], got {active}")

    def identify(_phases: NDArray[np.float64], _feature: NDArray[np.int32]) -> NDArray[np.int32]:
        return np.sort(rng.choice(int(object_size), int(active), replace=False)).astype(np.int32)

    return identify


def column_identities(region: Region) -> Identify:
    """An :data:`Identify` by a region with a grid-module L6 and an L2/3: each column learns the landmark
    one-shot (L6 set to the landmark's location phases, L4 senses its feature,
    :meth:`Region.learn_grid_sensation`) and the landmark's identity is the L2/3 code it forms (flat
    cells over all columns).  The learned synapses stay in the region."""
    if region.L6 is None or region.L23 is None:
        raise ValueError("column_identities needs a region with a grid-module L6 and an L2/3")
    minicolumns = region.l4_params.minicolumns

    def identify(phases: NDArray[np.float64], feature: NDArray[np.int32]) -> NDArray[np.int32]:
        region.reset()
        region.L6.modules.set_bumps(np.broadcast_to(phases, (region.n_columns, *np.shape(phases))))
        region.L6.path_integrate(np.zeros(2))  # no movement: refreshes the active grid cells
        offsets = np.arange(region.n_columns, dtype=np.int64)[:, None] * minicolumns
        region.learn_grid_sensation((np.asarray(feature, dtype=np.int64)[None, :] + offsets).reshape(-1))
        return np.sort(region.L23.active_cells).astype(np.int32)

    return identify


def remember_landmarks(
    frame: CoordinateFrame,
    phases: NDArray[np.float64],
    visits: list[LandmarkVisit],
    identify: Identify,
    object_size: int,
    feature_size: int,
) -> tuple[EpisodicMemory, dict[int, int], list[LandmarkRecall]]:
    """Store each landmark one-shot on its first visit; recall it from location on revisits.

    ``phases``: the agent's path-integrated phases ``(n_steps + 1, n_modules, 2)``. A
    landmark's location code is the grid code of ``phases[step] + encode(offset)``; its
    identity is ``identify(those phases, its feature)`` (an object code of ``object_size``
    bits).  A revisit names the landmark whose identity code overlaps the recalled object code
    most.  Returns the memory, ``{landmark: episode}`` and one :class:`LandmarkRecall` per revisit.
    """
    memory = EpisodicMemory(
        frame.cells_per_code, int(feature_size), int(object_size), min_overlap=2 * frame.n_modules,
    )
    if not visits:
        return memory, {}, []
    raw = np.stack([phases[v.step] + frame.encode(v.offset) for v in visits])
    codes = frame.grid_code_of_phases(raw)
    located = np.mod(raw, 1.0)
    stored: dict[int, int] = {}
    identities: dict[int, NDArray[np.int32]] = {}
    recalls: list[LandmarkRecall] = []
    for visit, code, where in zip(visits, codes, located):
        k = visit.landmark
        if k not in stored:
            identities[k] = identify(where, visit.feature)
            stored[k] = memory.store(location=code, feature=visit.feature, object=identities[k])
            continue
        result = memory.recall(location=code)
        recalled = -1
        if result.episode >= 0:
            known = list(identities)
            shared_bits = [np.intersect1d(result.object, identities[j]).size for j in known]
            recalled = known[int(np.argmax(shared_bits))]
        stored_code = memory.episode(stored[k])["location"]
        shared = np.intersect1d(code, stored_code).size / max(1, stored_code.size)
        recalls.append(LandmarkRecall(visit.step, k, recalled == k, float(shared)))
    return memory, stored, recalls


# ---------------------------------------------------------------------------- place cells
def place_field_stats(
    frame: CoordinateFrame, place: PlaceCells, side: float, resolution: int
) -> tuple[dict[str, float], NDArray[np.bool_]]:
    """Place-field statistics on a ``resolution x resolution`` grid over ``[0, side]^2``.

    Returns ``(stats, firing)`` with ``firing`` boolean ``(resolution**2, n_cells)`` (row
    ``i * resolution + j`` is position ``(x_j, y_i)``) and stats: the fraction of cells with a
    field in the arena, the mean field area (world units^2) and the median distance between
    a cell's field centroid and its wiring centre (world units), both over cells with a field.
    """
    axis = np.linspace(0.0, side, int(resolution))
    grid = np.stack(np.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    firing = place.activity(frame.grid_code(grid))
    counts = firing.sum(axis=0)
    has_field = counts > 0
    cell_area = (side / max(1, int(resolution) - 1)) ** 2
    centroids = (firing.T.astype(np.float64) @ grid) / np.maximum(counts, 1)[:, None]
    offsets = np.linalg.norm(centroids - place.centres, axis=1)[has_field]
    stats = {
        "place_fraction_with_field": float(has_field.mean()),
        "place_field_area": float(counts[has_field].mean() * cell_area) if has_field.any() else 0.0,
        "place_field_centre_error": float(np.median(offsets)) if offsets.size else float("nan"),
    }
    return stats, firing


# ---------------------------------------------------------------------------------- replay
def replay_walk(
    memory: EpisodicMemory,
    codes: list[NDArray[np.int32]],
    *,
    compression: float,
    noise: float,
    rng: np.random.Generator,
) -> tuple[Replay, float]:
    """Store ``codes`` (one per step, 1 s apart) as a trajectory and replay it; ``(replay, rho)``.

    ``rho`` is Spearman's rank correlation between replay position and stored order (nan when
    fewer than two elements were replayed).
    """
    memory.store_trajectory(codes, timestamps=np.arange(len(codes), dtype=np.float64))
    replay = memory.replay(compression=compression, noise=noise, rng=rng)
    if replay.order.size < 2:
        return replay, float("nan")
    rho = float(spearmanr(np.arange(replay.order.size), replay.order).statistic)
    return replay, rho


# ------------------------------------------------------------------------------ experiment
@dataclass
class NavigationResult:
    """Everything :func:`run_navigation` measured, for metrics, reports and figures.

    ``path``: agent's true positions ``(n_steps + 1, 2)``; ``decoded``: walker 0's positions
    decoded with the arena prior ``(n_steps + 1, 2)``; ``place_firing``: place cells along the
    walk driven by the path-integrated code, boolean ``(n_steps + 1, n_cells)``;
    ``place_agreement``: Jaccard agreement with the true-position drive; ``field_firing``:
    place-cell firing on the field grid (see :func:`place_field_stats`).
    """

    params: ArenaNavigationParams
    world: ArenaWorld
    frame: CoordinateFrame
    path: NDArray[np.float64]
    integration: PathIntegration
    decoded: NDArray[np.float64]
    place: PlaceCells
    place_firing: NDArray[np.bool_]
    place_agreement: float
    field_stats: dict[str, float]
    field_firing: NDArray[np.bool_]
    stored_landmarks: dict[int, int]
    recalls: list[LandmarkRecall]
    replay: Replay
    replay_rho: float
    seconds: float
    landmark_episodes: dict[int, dict[str, NDArray[np.int32]]] = field(default_factory=dict)


def run_navigation(
    world: ArenaWorld,
    params: ArenaNavigationParams,
    rng: np.random.Generator,
    frame: CoordinateFrame,
    identify: Identify,
    object_size: int,
) -> NavigationResult:
    """Walk, path-integrate, form place cells, remember landmarks and replay (see module doc).

    ``frame``: the grid modules' frame; ``identify``: a landmark's object code (of ``object_size``
    bits) at its first visit (:func:`column_identities`, :func:`random_identities`).  The walk, the
    noise, the place cells and replay draw from ``rng``.
    """
    started = time.perf_counter()
    p = params
    side = world.side
    margin = p.decode_margin * side
    box = (-margin, side + margin, -margin, side + margin)

    path = world.random_walk(p.steps, p.speed, rng, turn_sigma=p.turn_sigma)
    integration = integrate_walk(
        frame, path, n_walkers=p.walkers, phase_noise=p.phase_noise, rng=rng,
        checkpoints=p.checkpoints, search_box=box,
    )
    phases = integration.phases
    decoded = frame.decode(phases, search_range=box)

    place = frame.place_cells(
        p.place_cells, rng, bounds=(0.0, side, 0.0, side),
        synapses_per_module=p.place_synapses_per_module, threshold=p.place_threshold,
    )
    path_codes = frame.grid_code_of_phases(phases)
    place_firing = place.activity(path_codes)
    true_firing = place.activity(frame.grid_code(path))
    agreement = float((place_firing & true_firing).sum() / max(1, (place_firing | true_firing).sum()))
    field_stats, field_firing = place_field_stats(frame, place, side, p.field_resolution)

    visits = landmark_visits(world, path)
    memory, stored, recalls = remember_landmarks(frame, phases, visits, identify, object_size, world.feature_size)
    landmark_episodes = {k: memory.episode(e) for k, e in stored.items()}
    replay, rho = replay_walk(
        memory, path_codes, compression=p.replay_compression, noise=p.replay_noise, rng=rng
    )
    return NavigationResult(
        params=p, world=world, frame=frame, path=path, integration=integration, decoded=decoded,
        place=place, place_firing=place_firing, place_agreement=agreement,
        field_stats=field_stats, field_firing=field_firing, stored_landmarks=stored,
        recalls=recalls, replay=replay, replay_rho=rho, seconds=time.perf_counter() - started,
        landmark_episodes=landmark_episodes,
    )


def _log_steps(n_steps: int, n_points: int = 60) -> NDArray[np.int64]:
    """About ``n_points`` distinct steps spaced logarithmically in ``[1, n_steps]``."""
    return np.unique(np.geomspace(1, n_steps, n_points).round().astype(np.int64))


def navigation_metrics(result: NavigationResult) -> dict[str, Any]:
    """A JSON-able metrics dict with ``table`` (drift per checkpoint) and ``series``."""
    p = result.params
    last = result.integration.drift[-1]
    correct = np.array([r.correct for r in result.recalls], dtype=bool)
    overlap = np.array([r.overlap for r in result.recalls])
    half = max(1, correct.size // 2)
    nan = float("nan")
    replay = result.replay
    metrics: dict[str, Any] = {
        "steps": p.steps,
        "walkers": p.walkers,
        "phase_noise": p.phase_noise,
        "unique_range": result.frame.unique_range if math.isfinite(result.frame.unique_range) else None,
        "lattice": result.frame.lattice,
        "periods": result.frame.periods.tolist(),
        "rms_phase_error": last.rms_phase_error,
        "sigma_sqrt_n": last.predicted_phase_error,
        "phase_error_ratio": last.rms_phase_error / last.predicted_phase_error if last.predicted_phase_error > 0 else nan,
        "median_error_full_range": last.median_error_full_range,
        "median_error_in_arena": last.median_error_in_arena,
        "rms_error_in_arena": last.rms_error_in_arena,
        "predicted_median_error": last.predicted_median_error,
        "landmarks_stored": len(result.stored_landmarks),
        "landmark_revisits": int(correct.size),
        "landmark_recall_accuracy": float(correct.mean()) if correct.size else nan,
        "landmark_code_overlap_first_half": float(overlap[:half].mean()) if overlap.size else nan,
        "landmark_code_overlap_second_half": float(overlap[half:].mean()) if overlap.size > 1 else nan,
        "replay_rho": result.replay_rho,
        "replay_fraction": replay.order.size / (p.steps + 1),
        "replay_duration_s": float(replay.timestamps[-1]),
        "place_cells": result.place.n_cells,
        "place_fired_along_path": int(result.place_firing.any(axis=0).sum()),
        "place_active_per_step": float(result.place_firing.sum(axis=1).mean()),
        "place_agreement": result.place_agreement,
        **result.field_stats,
        "seconds": result.seconds,
    }
    metrics["table"] = [
        {"steps": r.steps, "rms_phase_error": r.rms_phase_error, "sigma_sqrt_n": r.predicted_phase_error,
         "median_error_full_range": r.median_error_full_range, "p_error_below_1": r.fraction_within_1,
         "median_error_in_arena": r.median_error_in_arena,
         "predicted_median_error": r.predicted_median_error, "rms_error_in_arena": r.rms_error_in_arena}
        for r in result.integration.drift
    ]
    steps = _log_steps(p.steps)
    rms = result.integration.rms_phase_error[steps]
    predicted = p.phase_noise * np.sqrt(steps)
    metrics["series"] = {
        "phase_error_vs_steps": {
            "x": steps.tolist(), "y": rms.tolist(), "loglog": True, "xlabel": "steps",
            "ylabel": "rms phase error (periods)"},
        "sigma_sqrt_n_vs_steps": {
            "x": steps.tolist(), "y": predicted.tolist(), "loglog": True, "xlabel": "steps",
            "ylabel": "sigma * sqrt(N) (periods)"},
        "position_error_in_arena": {
            "x": [r.steps for r in result.integration.drift],
            "y": [r.median_error_in_arena for r in result.integration.drift],
            "loglog": True, "xlabel": "steps", "ylabel": "median position error (world units)"},
        "trajectory": {
            "x": result.path[:, 0].tolist(), "y": result.path[:, 1].tolist(),
            "xlabel": "x (world units)", "ylabel": "y (world units)"},
        "decoded_trajectory": {
            "x": result.decoded[:, 0].tolist(), "y": result.decoded[:, 1].tolist(),
            "xlabel": "x (world units)", "ylabel": "y (world units)"},
    }
    return metrics


def plot_navigation(result: NavigationResult, path: str | Path) -> Path:
    """Write a PNG: trajectory (true, decoded, landmarks), place fields, drift vs sigma*sqrt(N).

    Needs matplotlib; returns the file written (parent folders are created).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    side = result.world.side
    n = result.params.field_resolution
    firing = result.field_firing
    field_id = np.where(firing.any(1), firing.argmax(1), -1).reshape(n, n)
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(17, 5.6))
    left.plot(*result.path.T, lw=0.6, color="0.3", label="true path")
    left.plot(*result.decoded.T, lw=0.6, color="tab:red", alpha=0.7, label="decoded (path-integrated)")
    left.scatter(*result.world.landmarks.T, marker="*", s=150, color="gold", edgecolor="k", zorder=3,
                 label="landmarks")
    left.set(xlim=(0, side), ylim=(0, side), aspect="equal", title="trajectory")
    left.legend(loc="upper right", fontsize=8)
    middle.imshow(np.ma.masked_less(field_id, 0) % 20, origin="lower", extent=(0, side, 0, side),
                  cmap="tab20", interpolation="nearest")
    middle.scatter(*result.place.centres.T, s=4, color="k")
    middle.plot(*result.path.T, lw=0.3, color="0.2", alpha=0.5)
    middle.set(xlim=(0, side), ylim=(0, side), aspect="equal",
               title=f"place fields ({result.place.n_cells} cells, from grid cells)")
    steps = _log_steps(result.params.steps)
    right.loglog(steps, result.integration.rms_phase_error[steps], label="rms phase error")
    right.loglog(steps, result.params.phase_noise * np.sqrt(steps), "--", color="k", label="sigma sqrt(N)")
    right.set(xlabel="steps", ylabel="periods", title="path-integration drift")
    right.legend(fontsize=8)
    from .figures import save_pyplot_png

    return save_pyplot_png(fig, path)


def _store_rows(net: Network, name: str, rows: list[NDArray[np.integer]]) -> None:
    net.memory[f"{name}.indptr"] = np.r_[0, np.cumsum([r.size for r in rows])].astype(np.int64)
    net.memory[f"{name}.indices"] = (np.concatenate(rows) if rows else np.zeros(0)).astype(np.int32)


def _recall_rows(net: Network, name: str) -> list[NDArray[np.int32]]:
    indptr, indices = net.memory[f"{name}.indptr"], net.memory[f"{name}.indices"]
    return [indices[a:b].astype(np.int32) for a, b in zip(indptr[:-1], indptr[1:])]


def remember_navigation(net: Network, name: str, result: NavigationResult) -> None:
    """Keep what the walk formed in ``net.memory[name.*]``: the place cells (``place.*``: wiring
    onto the grid code, centres, threshold) and the landmark episodes (``landmarks.*``: landmark
    id, location, feature and object codes)."""
    w = result.place.weights.tocsr()
    _store_rows(net, f"{name}.place", [w.indices[a:b] for a, b in zip(w.indptr[:-1], w.indptr[1:])])
    net.memory[f"{name}.place.centres"] = np.asarray(result.place.centres, dtype=np.float64)
    net.memory[f"{name}.place.threshold"] = np.array([result.place.threshold])
    ids = sorted(result.landmark_episodes)
    net.memory[f"{name}.landmarks.ids"] = np.array(ids, dtype=np.int64)
    for key in ("location", "feature", "object"):
        _store_rows(net, f"{name}.landmarks.{key}", [result.landmark_episodes[k][key] for k in ids])


def recall_place_cells(net: Network, name: str, cells_per_code: int) -> PlaceCells:
    """The place cells :func:`remember_navigation` kept (``ValueError`` naming the cure when none)."""
    if f"{name}.place.indptr" not in net.memory:
        raise ValueError(f"region {name!r} of this network has formed no place cells: run arena_navigation, "
                         "or load a network saved after one (cortical run --load PATH)")
    import scipy.sparse as sp

    rows = _recall_rows(net, f"{name}.place")
    indptr = net.memory[f"{name}.place.indptr"]
    weights = sp.csr_matrix((np.ones(int(indptr[-1]), dtype=np.float32), np.concatenate(rows) if rows else
                             np.zeros(0, np.int32), indptr), shape=(len(rows), int(cells_per_code)))
    return PlaceCells(weights=weights, centres=np.asarray(net.memory[f"{name}.place.centres"]),
                      threshold=float(net.memory[f"{name}.place.threshold"][0]))


def recall_landmark_episodes(net: Network, name: str) -> dict[int, dict[str, NDArray[np.int32]]]:
    """The landmark episodes :func:`remember_navigation` kept: landmark id -> field -> code."""
    if f"{name}.landmarks.ids" not in net.memory:
        raise ValueError(f"region {name!r} of this network has stored no landmarks")
    ids = net.memory[f"{name}.landmarks.ids"]
    fields = {key: _recall_rows(net, f"{name}.landmarks.{key}") for key in ("location", "feature", "object")}
    return {int(k): {key: fields[key][i] for key in fields} for i, k in enumerate(ids)}


def navigation_frame(net: Network) -> tuple[str, CoordinateFrame]:
    """The first region's name and the frame of its column's L6 grid modules."""
    from .config import ConfigError

    spec = net.config.regions[0]
    region = net.regions[spec.name]
    if region.L6 is None:
        raise ConfigError(f"experiment arena_navigation path-integrates with the column's L6 grid modules: region "
                          f"{spec.name!r} needs L6 of kind grid_modules", key_path="regions[0].column.L6.kind")
    return spec.name, CoordinateFrame.from_grid_modules(region.L6.modules)


def navigate(net: Network) -> NavigationResult:
    """:func:`run_navigation` in ``net``: its world, its column's L6 frame, landmark identities learned
    by the column (:func:`column_identities`: L6 at the landmark, L4 senses it, the L2/3 code).

    The walk, the noise, the place cells and replay draw from ``net.rng``.  The landmarks' synapses
    stay in the region; the place cells and landmark episodes are kept in ``net.memory``
    (:func:`remember_navigation`).
    """
    from .config import ConfigError

    config = net.config
    if config.world.kind != "arena":
        raise ConfigError(
            f"experiment arena_navigation needs world.kind 'arena', got {config.world.kind!r}",
            key_path="world.kind",
        )
    params = ArenaNavigationParams.model_validate(config.experiment.params)
    name, frame = navigation_frame(net)
    world: ArenaWorld = net.world
    region = net.regions[name]
    result = run_navigation(world, params, net.rng, frame, column_identities(region),
                            region.n_columns * region.l23_params.cells)
    remember_navigation(net, name, result)
    return result


@register_builder("arena_navigation", "experiment", params=ArenaNavigationParams, protocol=True,
                  uses=Uses(layers=frozenset({"L6", "L4", "L23"}), required=frozenset({"L6", "L4", "L23"}),
                            l6_kinds=frozenset({"grid_modules"}), keys=frozenset({"world", "region"}),
                            worlds=frozenset({"arena"})))
def run_arena_navigation(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Path integration with the column's L6 grid modules, place cells, landmarks and replay in the
    network's ``arena`` world (:func:`navigate`).

    Returns :func:`navigation_metrics`; with ``output.plot`` set also writes
    ``<output.dir or out/arena_navigation>/arena_navigation.png`` (``arena_navigation_trial<k>.png``
    for trial k > 0; the CLI's series figures use the series names) and names it under ``figure``.
    """
    config = net.config
    result = navigate(net)
    metrics = navigation_metrics(result)
    metrics["synapses"] = int(net.n_synapses)  # what the column learned of the landmarks
    if config.output.plot:
        name = "arena_navigation.png" if trial == 0 else f"arena_navigation_trial{trial}.png"
        out = Path(config.output.dir or Path("out") / "arena_navigation") / name
        metrics["figure"] = str(plot_navigation(result, out))
    return metrics
