"""TD learning over the network's own place / grid code, with prioritised hippocampal replay.

Experiment kind ``arena_td`` (``configs/arena_td.yaml``): an agent in the network's ``arena``
world looks for a rewarded place.  Its state is the code its own column produces there: the grid
cells of the column's L6 modules (the frame of :func:`regions.navigation.navigation_frame`) and
place cells wired one-shot onto those grid cells (:meth:`CoordinateFrame.place_cells`), chosen by
``features``.  Nothing is tabular: the value is a linear read-out of that code,
``V(s) = w . phi(s)`` with ``phi(s)`` the active cells, each row normalised to sum 1 (``V`` is the
mean weight of the active cells; a place no cell codes has ``V = 0``).

The agent moves on the lattice of step ``step`` inside the arena (8 moves: the 4 axes and the
diagonals, through ``world.move``).  Before each move it path-integrates every candidate move in
its frame, reads the value of the code it would reach and picks a move by ``policy`` (softmax
with inverse temperature ``beta``, or epsilon-greedy; ties at random).  Entering the goal (the
lattice points within ``goal_radius`` of ``goal``) pays 1 and ends the episode (or ``max_steps``
moves do); after ``move_goal_after`` episodes the goal moves to ``moved_goal`` without notice.

Learning
--------
* **online TD(lambda)** (:class:`LinearTD`): ``V(s) = r(s) + gamma V(s')``, a goal's value its
  reward; at every move ``delta = r(s) + gamma V(s') - V(s)``, ``e <- gamma lambda e + phi(s)``
  (accumulating) or ``max(gamma lambda e, phi(s))`` (replacing), ``w <- w + alpha delta e`` over
  all cells at once (``alpha``: ``learning_rate / mean |phi(s)|^2``, so one step moves ``V(s)`` by
  about ``learning_rate`` times ``delta``).  On arrival
  at the goal the terminal place gets its own update towards its reward.
* **replay during rest** (:func:`rest`): after each episode the hippocampal memory
  (:class:`TransitionMemory`: every move experienced, once, with the latest reward seen at its
  place) is replayed for ``replay_steps`` backups.  A backup takes one remembered place ``s`` a
  fraction ``replay_learning_rate`` of the way to its best outcome: its reward where an episode
  ended there, else ``r(s) + gamma max V(s')`` over the places ``s'`` its 8 moves lead to as the
  frame predicts them (``successors: predicted``: moves never made included, a preplay through
  the frame) or over the outcomes of the moves it made (``remembered``) -- a Bellman optimality
  backup, as Mattar & Daw's Q-learning backups are.  Each active cell's weight moves that fraction
  of the way to the target, so ``V(s)`` (their mean) moves by ``replay_learning_rate x delta`` and
  the weights stay convex combinations of targets (an averager: max backups cannot diverge; the
  same backups as one normalised-LMS step diverged in 1 of 10 seeds with predicted successors).
  ``random`` backs up places drawn uniformly among the remembered ones, ``prioritized`` the place
  of largest priority first, recomputed after every backup; ``none`` rests without replay.
* **successor features** (:class:`SuccessorFeatures`, learned only when used):
  ``psi(s) = phi(s) M`` learned by TD on the same moves, ``M <- M + alpha phi(s)^T (phi(s) +
  gamma psi(s') - psi(s))``.  With ``value: successor`` the value is ``psi(s) . u`` (``u``: reward
  weights by the delta rule; replay is then refused, it backs up ``w``); with ``need: successor``
  they give the replay's need term.

Prioritised replay after Mattar & Daw (2018), with stated simplifications: the expected value of
backup of place ``s`` is ``gain x need``.  **Gain** is the size of the value change the backup
would make, ``|delta_s|`` (their gain is the policy improvement at the place; with a policy that
chooses by the value of the next place, the change of ``V(s)`` is what changes the choices that
lead to ``s``, and its size stands in for the improvement: prioritised sweeping's measure).
**Need** is 1 (``need: uniform``) or the expected discounted future occupancy of ``s`` from the
next episode's start read from the learned successor features, ``psi(start) . phi(s) /
|phi(s)|^2`` (``need: successor``; held fixed during one rest).  Measured (``benchmarks/td.py
--seeds 5 --set experiment.params.need=successor``): replay sequences grow longer (2.2 backups
against 1.2) but the agent is no faster (4/5 seeds within 10 % of the shortest path after
19.5 +- 5.5 episodes, 1/5 back after the goal moves), so the shipped config uses ``uniform``.  A backup raises the TD error of the places that lead into the
place just updated, so sequences emerge: **reverse** (the next backup is a place that leads, in
memory, into the previous one: value flows from the goal back along the path) and **forward**
(the previous place leads into the next).  :class:`ReplayLog` counts both; replay is
time-compressed: ``replay_compression`` backups in the time of one real move.

Metrics: steps to goal per episode for each replay mode of ``replay_modes`` (the same starts,
goal schedule and agent seed), the shortest path of each episode, the episodes each needs until
a window of ``window`` episodes takes at most ``1 + tolerance`` times their shortest paths, and
the episodes to get there again after the goal moves.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import ConfigDict, Field, model_validator
from pydantic.types import NonNegativeInt, PositiveFloat, PositiveInt

from .builder import ProgressFactory, Uses, register_builder
from .config import Params
from .entorhinal import CoordinateFrame, PlaceCells
from .network import Network

__all__ = [
    "ArenaTDParams",
    "ArenaLattice",
    "LinearTD",
    "SuccessorFeatures",
    "TransitionMemory",
    "ReplayLog",
    "EpisodeLog",
    "arena_lattice",
    "backup_errors",
    "draw_starts",
    "rest",
    "run_agent",
    "episodes_to_criterion",
    "TDResult",
    "run_arena_td_experiment",
    "td_frame",
    "td_metrics",
    "plot_td",
    "run_arena_td",
]

ReplayMode = Literal["none", "random", "prioritized"]
MOVES = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=np.int64)


class ArenaTDParams(Params):
    """``experiment.params`` of ``arena_td`` (world units, episodes, moves).

    ``beta`` is read with ``policy: softmax`` only, ``epsilon`` with ``epsilon_greedy`` only,
    ``moved_goal`` only when ``move_goal_after`` > 0 and ``sr_learning_rate`` only when successor
    features are learned (``value`` or ``need: successor``): setting one to other than its default
    where it is not read is an error, as is replay with ``value: successor`` (replay backs up the
    TD(lambda) weights).
    """

    model_config = ConfigDict(extra="forbid")

    episodes: PositiveInt = 60
    max_steps: PositiveInt = 1000  # moves per episode before it is cut off
    step: PositiveFloat = 1.0  # lattice spacing = length of an axis move, world units
    start: list[float] | None = Field(default_factory=lambda: [2.0, 10.0], min_length=2, max_length=2)  # null: uniform
    goal: list[float] = Field(default_factory=lambda: [17.0, 17.0], min_length=2, max_length=2)
    goal_radius: PositiveFloat = 1.5  # lattice points within this distance of the goal are rewarded
    move_goal_after: NonNegativeInt = 30  # episodes; 0 = the goal never moves
    moved_goal: list[float] = Field(default_factory=lambda: [17.0, 3.0], min_length=2, max_length=2)
    features: Literal["place", "place_and_grid", "grid"] = "place"
    place_cells: PositiveInt = 800
    place_synapses_per_module: PositiveInt = 5
    place_threshold: float = Field(0.5, gt=0.0, le=1.0)
    value: Literal["td_lambda", "successor"] = "td_lambda"
    gamma: float = Field(0.95, gt=0.0, lt=1.0)
    td_lambda: float = Field(0.8, ge=0.0, le=1.0)
    trace: Literal["accumulating", "replacing"] = "replacing"
    learning_rate: float = Field(0.3, gt=0.0, le=1.0)  # fraction of delta one step moves V(s) by
    sr_learning_rate: float = Field(0.1, gt=0.0, le=1.0)
    policy: Literal["softmax", "epsilon_greedy"] = "softmax"
    epsilon: float = Field(0.02, ge=0.0, le=1.0)
    beta: PositiveFloat = 200.0  # softmax inverse temperature over values
    replay_modes: list[Literal["none", "random", "prioritized"]] = Field(
        default_factory=lambda: ["none", "random", "prioritized"], min_length=1)
    replay_steps: NonNegativeInt = 100  # one-step backups per rest
    replay_learning_rate: float = Field(0.5, gt=0.0, le=1.0)  # a backup moves V(s) by this fraction of delta
    successors: Literal["predicted", "remembered"] = "predicted"  # what a replayed place is backed up through
    need: Literal["uniform", "successor"] = "uniform"  # prioritized replay: |delta| alone, or x successor need
    replay_compression: PositiveFloat = 20.0  # backups per real move's time
    window: PositiveInt = 5  # episodes of the within-tolerance criterion
    tolerance: float = Field(0.1, ge=0.0)  # within 10 % of the shortest paths

    @model_validator(mode="after")
    def _check(self) -> ArenaTDParams:
        values = self.__dict__  # not a read of the fields (the key tracker counts attribute reads)

        def changed(name: str) -> bool:
            return values[name] != type(self).model_fields[name].get_default(call_default_factory=True)

        if changed("beta") and values["policy"] != "softmax":
            raise ValueError("beta is the softmax policy's inverse temperature: set policy: softmax or drop beta")
        if changed("epsilon") and values["policy"] != "epsilon_greedy":
            raise ValueError("epsilon is read by policy: epsilon_greedy only: drop it or change the policy")
        if changed("moved_goal") and values["move_goal_after"] == 0:
            raise ValueError("moved_goal is read only when the goal moves: set move_goal_after > 0 or drop it")
        successor = values["value"] == "successor" or values["need"] == "successor"
        if changed("sr_learning_rate") and not successor:
            raise ValueError("sr_learning_rate is read only when successor features are learned: set value: successor "
                             "or need: successor, or drop it")
        if values["value"] == "successor" and set(values["replay_modes"]) != {"none"}:
            raise ValueError("replay backs up the TD(lambda) value; with value: successor set replay_modes: [none]")
        if len(set(values["replay_modes"])) != len(values["replay_modes"]):
            raise ValueError(f"replay_modes must not repeat a mode, got {values['replay_modes']}")
        return self


# ------------------------------------------------------------------------------- the code
@dataclass(frozen=True)
class ArenaLattice:
    """The lattice points the agent can stand on and the network's code at each.

    ``positions`` ``(S, 2)`` world units (index ``i * n + j`` for point ``(i, j) * step``);
    ``neighbours`` ``(S, 8)`` the point each of :data:`MOVES` leads to (-1: outside the arena);
    ``phi`` ``(S, F)`` float64 feature rows (place cells then grid cells, binary);
    ``place`` the place cells.
    """

    positions: NDArray[np.float64]
    n: int
    step: float
    neighbours: NDArray[np.int64]
    phi: NDArray[np.float64]
    place: PlaceCells | None

    @property
    def n_states(self) -> int:
        return int(self.positions.shape[0])

    def index(self, position: NDArray[np.float64]) -> int:
        """The lattice point of a position (nearest)."""
        ij = np.clip(np.rint(np.asarray(position) / self.step).astype(np.int64), 0, self.n - 1)
        return int(ij[0] * self.n + ij[1])

    def within(self, centre: NDArray[np.float64] | list[float], radius: float) -> NDArray[np.bool_]:
        """Lattice points within ``radius`` of ``centre`` (at least the nearest one)."""
        inside = np.linalg.norm(self.positions - np.asarray(centre, dtype=np.float64), axis=1) <= radius + 1e-9
        inside[self.index(np.asarray(centre, dtype=np.float64))] = True
        return inside

    def shortest(self, start: int, goal: NDArray[np.bool_]) -> int:
        """Fewest moves from ``start`` into ``goal`` (king moves on an open lattice: Chebyshev distance)."""
        ij = np.stack(np.divmod(np.arange(self.n_states), self.n), axis=1)
        return int(np.abs(ij[goal] - ij[start]).max(axis=1).min())


def arena_lattice(frame: CoordinateFrame, side: float, step: float, rng: np.random.Generator, *,
                  features: str = "place_and_grid", place_cells: int = 400, synapses_per_module: int = 3,
                  threshold: float = 0.4) -> ArenaLattice:
    """Lattice points of the arena ``[0, side]^2`` and the frame's code at each (see :class:`ArenaLattice`).

    Grid code: the frame's grid cells at the point (``frame.grid_code``); place code: place cells
    formed one-shot on that grid code at random centres in the arena.
    """
    n = int(math.floor(side / step + 1e-9)) + 1
    if n < 2:
        raise ValueError(f"the arena (side {side:g}) must hold at least 2 lattice points of step {step:g}")
    ij = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), axis=-1).reshape(-1, 2)
    positions = ij * float(step)
    target = ij[:, None, :] + MOVES[None, :, :]
    inside = np.all((target >= 0) & (target < n), axis=-1)
    neighbours = np.where(inside, target[..., 0] * n + target[..., 1], -1)
    codes = frame.grid_code(positions)
    blocks = []
    place = None
    if features in ("place_and_grid", "place"):
        place = frame.place_cells(place_cells, rng, bounds=(0.0, side, 0.0, side),
                                  synapses_per_module=synapses_per_module, threshold=threshold)
        blocks.append(place.activity(codes).astype(np.float32))
    if features in ("place_and_grid", "grid"):
        grid = np.zeros((len(codes), frame.cells_per_code), dtype=np.float32)
        grid[np.repeat(np.arange(len(codes)), [c.size for c in codes]), np.concatenate(codes)] = 1.0
        blocks.append(grid)
    if not blocks:
        raise ValueError(f"features must be place_and_grid, place or grid, got {features!r}")
    phi = np.hstack(blocks).astype(np.float64)
    phi /= np.maximum(phi.sum(axis=1, keepdims=True), 1.0)  # V = the mean weight of the active cells
    return ArenaLattice(positions=positions, n=n, step=float(step), neighbours=neighbours, phi=phi, place=place)


# --------------------------------------------------------------------------- learners
class LinearTD:
    """TD(lambda) over binary feature rows: ``V = phi . w``, eligibility traces, vectorised over features.

    ``alpha`` is the step per unit of feature activity (divide by the active count for a step
    of ``learning_rate``).  ``trace``: ``accumulating`` or ``replacing``.

    >>> td = LinearTD(3, alpha=0.5, gamma=0.9, lam=0.0)
    >>> eye = np.eye(3, dtype=np.float32)
    >>> for _ in range(200):
    ...     td.begin()
    ...     deltas = [td.update(eye[0], 0.0, eye[1]), td.update(eye[1], 0.0, eye[2]), td.update(eye[2], 1.0, None)]
    >>> np.round(td.w, 3).tolist()
    [0.81, 0.9, 1.0]
    """

    def __init__(self, n_features: int, *, alpha: float, gamma: float, lam: float,
                 trace: str = "accumulating", replay_rate: float = 0.5) -> None:
        if trace not in ("accumulating", "replacing"):
            raise ValueError(f"trace must be accumulating or replacing, got {trace!r}")
        self.w = np.zeros(int(n_features))
        self.e = np.zeros(int(n_features))
        self.alpha, self.gamma, self.lam, self.trace = float(alpha), float(gamma), float(lam), trace
        self.replay_rate = float(replay_rate)

    def begin(self) -> None:
        """Start an episode: clear the traces."""
        self.e[:] = 0.0

    def update(self, phi: NDArray[np.floating], reward: float, phi_next: NDArray[np.floating] | None) -> float:
        """One online TD(lambda) step on ``phi -> phi_next`` (None: ``phi`` is terminal); returns delta.

        ``V(s) = r(s) + gamma V(s')``; a terminal state's value is its reward.
        """
        v_next = 0.0 if phi_next is None else float(phi_next @ self.w)
        delta = float(reward) + self.gamma * v_next - float(phi @ self.w)
        self.e *= self.gamma * self.lam
        if self.trace == "accumulating":
            self.e += phi
        else:
            np.maximum(self.e, phi, out=self.e)
        self.w += self.alpha * delta * self.e
        return delta

    def backup(self, phi: NDArray[np.floating], reward: float, phi_next: NDArray[np.floating] | None) -> float:
        """One TD(0) backup of a remembered transition (replay: no traces); returns delta."""
        v_next = 0.0 if phi_next is None else float(phi_next @ self.w)
        delta = float(reward) + self.gamma * v_next - float(phi @ self.w)
        self.w += self.alpha * delta * phi
        return delta


class SuccessorFeatures:
    """Successor features ``psi(s) = phi(s) M`` (``M`` starts at the identity), learned by TD(0).

    ``M <- M + alpha phi^T (phi + gamma psi(s') - psi(s))`` (terminal: no ``psi(s')``); with reward
    weights ``u`` (delta rule on ``r(s) ~ phi(s) . u``), ``V(s) = psi(s) . u``.
    """

    def __init__(self, n_features: int, *, alpha: float, gamma: float, reward_alpha: float) -> None:
        self.M = np.eye(int(n_features))
        self.u = np.zeros(int(n_features))
        self.alpha, self.gamma, self.reward_alpha = float(alpha), float(gamma), float(reward_alpha)

    def update(self, phi: NDArray[np.floating], phi_next: NDArray[np.floating] | None) -> None:
        active = np.flatnonzero(phi)
        psi = phi[active] @ self.M[active]
        target = phi.astype(np.float64)
        if phi_next is not None:
            nxt = np.flatnonzero(phi_next)
            target = target + self.gamma * (phi_next[nxt] @ self.M[nxt])
        self.M[active] += self.alpha * np.outer(phi[active], target - psi)

    def learn_reward(self, phi: NDArray[np.floating], reward: float) -> None:
        self.u += self.reward_alpha * (float(reward) - float(phi @ self.u)) * phi

    def values(self, phi: NDArray[np.floating]) -> NDArray[np.float64]:
        """``psi . u`` of feature rows ``(k, F)``."""
        return (phi @ self.M) @ self.u


class TransitionMemory:
    """The hippocampal memory replay reads: each transition experienced, once, with the latest reward.

    An experience is ``(state, next state or -1 for "episode ended here", reward of state)``;
    states are lattice indices whose code is ``lattice.phi[state]``.  Visiting a state again
    with another reward (a goal that moved) overwrites the reward of every experience leaving it;
    a state where an episode ended drops the moves remembered from it, and one an episode went on
    from drops its "episode ended here" experience.
    """

    def __init__(self, capacity: int) -> None:
        self.state = np.zeros(capacity, dtype=np.int64)
        self.next = np.zeros(capacity, dtype=np.int64)
        self.reward = np.zeros(capacity)
        self.valid = np.zeros(capacity, dtype=bool)
        self.size = 0
        self._index: dict[tuple[int, int], int] = {}

    def observe(self, state: int, reward: float, next_state: int) -> None:
        """Remember that ``state`` (reward ``reward``) led to ``next_state`` (-1: the episode ended there)."""
        rows = self.state[: self.size] == state
        self.reward[: self.size][rows] = reward
        if next_state >= 0:  # the episode goes on from here: it no longer ends here
            end = self._index.get((state, -1))
            if end is not None:
                self.valid[end] = False
        else:  # the episode ends here now: the moves remembered from here are stale
            self.valid[: self.size][rows] = False
        key = (int(state), int(next_state))
        k = self._index.get(key)
        if k is None:
            if self.size == self.state.size:
                self._grow()
            k = self.size
            self.size += 1
            self._index[key] = k
            self.state[k], self.next[k] = key
        self.reward[k] = reward
        self.valid[k] = True

    def leads(self, state: int, next_state: int) -> bool:
        """Whether a valid remembered experience goes from ``state`` to ``next_state``."""
        k = self._index.get((int(state), int(next_state)))
        return k is not None and bool(self.valid[k])

    def _grow(self) -> None:
        for name in ("state", "next", "reward", "valid"):
            old = getattr(self, name)
            new = np.zeros(2 * old.size, dtype=old.dtype)
            new[: old.size] = old
            setattr(self, name, new)


@dataclass
class ReplayLog:
    """What one or more rests replayed: backups, how many continued a sequence forwards / backwards."""

    backups: int = 0
    forward: int = 0
    reverse: int = 0
    events: list[int] = field(default_factory=list)  # lengths of the sequences (runs of adjacent backups)
    first: list[int] = field(default_factory=list)  # the experience each rest backed up first

    def add_sequence(self, length: int) -> None:
        if length:
            self.events.append(length)


def backup_errors(values: NDArray[np.float64], memory: TransitionMemory, gamma: float, n_states: int,
                  neighbours: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
    """TD error of backing up each remembered place, ``(S,)`` (0 where nothing is remembered).

    A place where an episode ended (its latest visit) has its reward as target.  Otherwise the
    target is its best outcome: with ``neighbours`` None, the best remembered one,
    ``max_k r_k + gamma V(next_k)`` over the valid experiences ``k`` leaving it; with
    ``neighbours`` ``(S, moves)`` (-1: no move), the best of every move the frame predicts from it,
    ``r(s) + gamma max_j V(neighbours[s, j])``, moves never made included.  A Bellman optimality
    backup either way; the error is ``target - V(s)``.
    """
    k = memory.size
    valid = memory.valid[:k]
    state, nxt, reward = memory.state[:k][valid], memory.next[:k][valid], memory.reward[:k][valid]
    if neighbours is None:
        q = reward + gamma * np.where(nxt >= 0, values[np.maximum(nxt, 0)], 0.0)
        target = np.full(n_states, -np.inf)
        np.maximum.at(target, state, q)
        return np.where(np.isfinite(target), target - values, 0.0)
    remembered = np.zeros(n_states, dtype=bool)
    remembered[state] = True
    ended = np.zeros(n_states, dtype=bool)
    ended[state[nxt < 0]] = True
    place_reward = np.zeros(n_states)
    place_reward[state] = reward  # the latest reward seen at the place (the same on all its experiences)
    ahead = np.where(neighbours >= 0, values[np.maximum(neighbours, 0)], -np.inf).max(axis=1)
    target = np.where(ended, place_reward, place_reward + gamma * np.where(np.isfinite(ahead), ahead, 0.0))
    return np.where(remembered, target - values, 0.0)


def rest(td: LinearTD, memory: TransitionMemory, lattice: ArenaLattice, mode: str, steps: int,
         rng: np.random.Generator, *, need: NDArray[np.float64] | None = None,
         log: ReplayLog | None = None, successors: str = "remembered") -> ReplayLog:
    """Replay ``steps`` remembered places into ``td``: one backup of ``V(s)`` towards its best
    remembered outcome each (:func:`backup_errors`), ``w <- w + alpha delta phi(s)``.

    ``mode``: ``none``, ``random`` (a place drawn uniformly among the remembered ones) or
    ``prioritized`` (the place of largest ``|delta| x need``, recomputed after every backup;
    ``need`` ``(S,)``, default 1).  ``successors``: ``remembered`` (the outcomes of the moves made
    from the place) or ``predicted`` (every move the frame predicts, :func:`backup_errors`).
    A backup whose place leads (in memory) into the previous one
    continues a reverse sequence, one whose place the previous one leads into a forward sequence.
    Returns (and extends) ``log``.
    """
    log = log if log is not None else ReplayLog()
    if mode == "none" or steps == 0 or memory.size == 0 or not memory.valid[: memory.size].any():
        return log
    if mode not in ("random", "prioritized"):
        raise ValueError(f"replay mode must be none, random or prioritized, got {mode!r}")
    phi = lattice.phi
    places = np.unique(memory.state[: memory.size][memory.valid[: memory.size]])
    weight = np.ones(lattice.n_states) if need is None else need
    values = phi @ td.w  # kept current after every backup
    previous = -1
    run = 0
    for i in range(int(steps)):
        delta = backup_errors(values, memory, td.gamma, lattice.n_states,
                              lattice.neighbours if successors == "predicted" else None)
        if mode == "random":
            s = int(places[rng.integers(places.size)])
        else:
            priority = np.abs(delta) * weight
            best = priority.max()
            ties = np.flatnonzero(priority >= best - 1e-12)
            s = int(ties[rng.integers(ties.size)])
        active = np.flatnonzero(phi[s])
        if active.size:  # each active cell's weight moves replay_rate of the way to the target
            change = td.replay_rate * (float(delta[s]) + values[s] - td.w[active])
            td.w[active] += change
            values += phi[:, active] @ change
        if i == 0:
            log.first.append(s)
        if previous >= 0:
            if memory.leads(s, previous):
                log.reverse += 1
                run += 1
            elif memory.leads(previous, s):
                log.forward += 1
                run += 1
            else:
                log.add_sequence(run + 1)
                run = 0
        previous = s
        log.backups += 1
    log.add_sequence(run + 1)
    return log


# ------------------------------------------------------------------------------ agent
@dataclass
class EpisodeLog:
    """One agent's run: per episode the moves taken, the shortest path, whether it reached the goal."""

    mode: str
    steps: NDArray[np.int64]
    shortest: NDArray[np.int64]
    reached: NDArray[np.bool_]
    replay: ReplayLog
    values: NDArray[np.float64]  # V of every lattice point at the end
    values_before_move: NDArray[np.float64] | None
    seconds: float
    memory: TransitionMemory | None = None  # what the agent remembered at the end


def _choose(values: NDArray[np.float64], p: ArenaTDParams, rng: np.random.Generator) -> int:
    if p.policy == "epsilon_greedy":
        if rng.random() < p.epsilon:
            return int(rng.integers(values.size))
        best = np.flatnonzero(values >= values.max() - 1e-12)
        return int(best[rng.integers(best.size)])
    logits = p.beta * (values - values.max())
    prob = np.exp(logits)
    return int(rng.choice(values.size, p=prob / prob.sum()))


def run_agent(world: Any, lattice: ArenaLattice, p: ArenaTDParams, mode: str, starts: NDArray[np.int64],
              rng: np.random.Generator) -> EpisodeLog:
    """Episodes of the agent in ``world`` (an :class:`~regions.worlds.arena.ArenaWorld`) with replay ``mode``.

    Episode ``k`` starts at lattice point ``starts[k]``; the goal is ``p.goal`` for the first
    ``p.move_goal_after`` episodes (all when 0), then ``p.moved_goal``.  Each episode learns
    online (TD(lambda), successor features); a rest of ``p.replay_steps`` backups follows it.
    """
    started = time.perf_counter()
    phi = lattice.phi
    norms = (phi * phi).sum(1)
    mean_active = float(norms[norms > 0].mean())  # a step of learning_rate moves V(s) by that fraction of delta
    td = LinearTD(phi.shape[1], alpha=p.learning_rate / mean_active, gamma=p.gamma, lam=p.td_lambda, trace=p.trace,
                  replay_rate=p.replay_learning_rate)
    sf = SuccessorFeatures(phi.shape[1], alpha=p.sr_learning_rate / mean_active, gamma=p.gamma,
                           reward_alpha=p.learning_rate / mean_active)
    memory = TransitionMemory(4 * lattice.n_states)
    log = ReplayLog()
    # need is read from the start of the coming episode (averaged over the starts when they are drawn)
    start_phi = phi[int(starts[0])] if p.start is not None else phi.mean(0)
    goals = [lattice.within(p.goal, p.goal_radius),
             lattice.within(p.moved_goal, p.goal_radius) if p.move_goal_after else None]
    n_ep = len(starts)
    steps = np.zeros(n_ep, dtype=np.int64)
    shortest = np.zeros(n_ep, dtype=np.int64)
    reached = np.zeros(n_ep, dtype=bool)
    before_move = None
    use_sr_value = p.value == "successor"
    learn_sr = use_sr_value or p.need == "successor"
    for k in range(n_ep):
        moved = bool(p.move_goal_after) and k >= p.move_goal_after
        if moved and k == p.move_goal_after:
            before_move = _state_values(td, sf, phi, use_sr_value)
        goal = goals[1] if moved else goals[0]
        s = int(starts[k])
        shortest[k] = lattice.shortest(s, goal)
        world.reset(lattice.positions[s])
        td.begin()
        t = 0
        while t < p.max_steps:
            options = lattice.neighbours[s][lattice.neighbours[s] >= 0]
            # path-integrate each candidate move in the frame and read the value of the code reached
            cand = phi[options]
            values = sf.values(cand) if use_sr_value else cand @ td.w
            target = int(options[_choose(values, p, rng)])
            world.move(lattice.positions[target] - lattice.positions[s])
            s2 = lattice.index(world.position)
            t += 1
            td.update(phi[s], 0.0, phi[s2])
            if learn_sr:
                sf.update(phi[s], phi[s2])
                sf.learn_reward(phi[s], 0.0)
            memory.observe(s, 0.0, s2)
            s = s2
            if goal[s]:
                td.update(phi[s], 1.0, None)
                if learn_sr:
                    sf.update(phi[s], None)
                    sf.learn_reward(phi[s], 1.0)
                memory.observe(s, 1.0, -1)
                reached[k] = True
                break
        steps[k] = t
        if mode != "none" and p.replay_steps:
            need = None
            if mode == "prioritized" and p.need == "successor":
                psi = start_phi @ sf.M
                need = np.maximum(phi @ psi / np.maximum((phi * phi).sum(1), 1.0), 0.0) + 1e-9
            rest(td, memory, lattice, mode, p.replay_steps, rng, need=need, log=log, successors=p.successors)
    return EpisodeLog(mode=mode, steps=steps, shortest=shortest, reached=reached, replay=log,
                      values=_state_values(td, sf, phi, use_sr_value), values_before_move=before_move,
                      seconds=time.perf_counter() - started, memory=memory)


def _state_values(td: LinearTD, sf: SuccessorFeatures, phi: NDArray[np.float64], successor: bool) -> NDArray[np.float64]:
    return sf.values(phi) if successor else phi @ td.w


def episodes_to_criterion(steps: NDArray[np.integer], shortest: NDArray[np.integer], *, window: int,
                          tolerance: float, first: int = 0, last: int | None = None) -> float:
    """Episodes after ``first`` until a window of ``window`` episodes takes at most ``1 + tolerance``
    times their shortest paths (counted to the window's last episode); ``inf`` when none does by ``last``.

    >>> episodes_to_criterion(np.array([9, 9, 3, 3, 3]), np.array([3, 3, 3, 3, 3]), window=2, tolerance=0.1)
    4.0
    """
    end = len(steps) if last is None else int(last)
    for k in range(int(first) + int(window), end + 1):
        if steps[k - window:k].sum() <= (1.0 + tolerance) * shortest[k - window:k].sum():
            return float(k - first)
    return math.inf


def draw_starts(lattice: ArenaLattice, p: ArenaTDParams, rng: np.random.Generator) -> NDArray[np.int64]:
    """Start points: ``p.start`` every episode, or uniform over the lattice points outside the goal in force."""
    goals = [lattice.within(p.goal, p.goal_radius),
             lattice.within(p.moved_goal, p.goal_radius) if p.move_goal_after else None]
    starts = np.empty(p.episodes, dtype=np.int64)
    if p.start is not None:
        starts[:] = lattice.index(np.asarray(p.start, dtype=np.float64))
        return starts
    for k in range(p.episodes):
        goal = goals[1] if p.move_goal_after and k >= p.move_goal_after else goals[0]
        starts[k] = rng.choice(np.flatnonzero(~goal))
    return starts


@dataclass
class TDResult:
    """All modes of one run: the lattice, the starts and one :class:`EpisodeLog` per replay mode."""

    params: ArenaTDParams
    lattice: ArenaLattice
    starts: NDArray[np.int64]
    logs: dict[str, EpisodeLog]
    side: float


def run_arena_td_experiment(world: Any, frame: CoordinateFrame, p: ArenaTDParams, rng: np.random.Generator) -> TDResult:
    """Form the code, draw the starts, run one agent per replay mode (same starts, same agent seed)."""
    side = float(world.side)
    lattice = arena_lattice(frame, side, p.step, rng, features=p.features, place_cells=p.place_cells,
                            synapses_per_module=p.place_synapses_per_module, threshold=p.place_threshold)
    starts = draw_starts(lattice, p, rng)
    agent_seed = int(rng.integers(2**63))
    logs = {mode: run_agent(world, lattice, p, mode, starts, np.random.default_rng(agent_seed))
            for mode in p.replay_modes}
    return TDResult(params=p, lattice=lattice, starts=starts, logs=logs, side=side)


def td_metrics(result: TDResult) -> dict[str, Any]:
    """JSON-able metrics: per mode the episodes to within tolerance, recovery, steps; a per-episode table."""
    p = result.params
    moved = p.move_goal_after if 0 < p.move_goal_after < p.episodes else None
    metrics: dict[str, Any] = {
        "episodes": p.episodes, "lattice_points": result.lattice.n_states,
        "features": int(result.lattice.phi.shape[1]),
        "active_features_per_place": float(result.lattice.phi.sum(1).mean()),
        "goal_moves_at": moved,
    }
    for mode, log in result.logs.items():
        ratio = log.steps / np.maximum(log.shortest, 1)
        learn = episodes_to_criterion(log.steps, log.shortest, window=p.window, tolerance=p.tolerance,
                                      last=moved)
        metrics[f"episodes_to_near_shortest_{mode}"] = learn if math.isfinite(learn) else None
        if moved is not None:
            again = episodes_to_criterion(log.steps, log.shortest, window=p.window, tolerance=p.tolerance,
                                          first=moved)
            metrics[f"episodes_to_recover_{mode}"] = again if math.isfinite(again) else None
        metrics[f"mean_steps_{mode}"] = float(log.steps.mean())
        metrics[f"final_path_ratio_{mode}"] = float(log.steps[-p.window:].sum() / max(log.shortest[-p.window:].sum(), 1))
        metrics[f"mean_path_ratio_{mode}"] = float(ratio.mean())
        metrics[f"fraction_reached_{mode}"] = float(log.reached.mean())
        if mode != "none":
            r = log.replay
            pairs = max(r.forward + r.reverse, 1)
            metrics[f"replay_backups_{mode}"] = r.backups
            metrics[f"replay_reverse_fraction_{mode}"] = r.reverse / pairs if r.backups else None
            metrics[f"replay_mean_sequence_{mode}"] = float(np.mean(r.events)) if r.events else None
            metrics[f"replay_sequence_duration_s_{mode}"] = (float(np.mean(r.events)) / p.replay_compression
                                                             if r.events else None)
        metrics[f"seconds_{mode}"] = log.seconds
    metrics["table"] = [
        {"episode": k + 1, "shortest": int(next(iter(result.logs.values())).shortest[k]),
         **{f"steps_{mode}": int(log.steps[k]) for mode, log in result.logs.items()}}
        for k in range(p.episodes)
    ]
    episodes = list(range(1, p.episodes + 1))
    metrics["series"] = {
        f"steps_{mode}": {"x": episodes, "y": (log.steps / np.maximum(log.shortest, 1)).tolist(),
                          "xlabel": "episode", "ylabel": "steps / shortest path"}
        for mode, log in result.logs.items()
    }
    return metrics


def plot_td(result: TDResult, path: str | Path) -> Path:
    """PNG: steps / shortest path per episode for each mode, and the value map of the last mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = result.params
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    episodes = np.arange(1, p.episodes + 1)
    for mode, log in result.logs.items():
        left.plot(episodes, log.steps / np.maximum(log.shortest, 1), marker=".", label=f"{mode} replay")
    if p.move_goal_after:
        left.axvline(p.move_goal_after + 0.5, color="k", ls=":", label="goal moves")
    left.axhline(1 + p.tolerance, color="0.5", ls="--", lw=0.8)
    left.set(yscale="log", xlabel="episode", ylabel="steps / shortest path", title="steps to goal")
    left.legend(fontsize=8)
    mode, log = list(result.logs.items())[-1]
    n = result.lattice.n
    image = right.imshow(log.values.reshape(n, n).T, origin="lower", extent=(0, result.side, 0, result.side))
    goal = p.moved_goal if p.move_goal_after and p.move_goal_after < p.episodes else p.goal
    right.scatter([goal[0]], [goal[1]], marker="*", s=200, color="gold", edgecolor="k")
    right.set(title=f"learned value over the place/grid code ({mode} replay)", xlabel="x", ylabel="y")
    fig.colorbar(image, ax=right)
    from .figures import save_pyplot_png

    return save_pyplot_png(fig, path)


def td_frame(net: Network) -> tuple[str, CoordinateFrame]:
    """The first region's name and the frame of its column's L6 grid modules."""
    from .navigation import navigation_frame

    return navigation_frame(net)


@register_builder("arena_td", "experiment", params=ArenaTDParams, protocol=True,
                  uses=Uses(layers=frozenset({"L6", "L4"}), required=frozenset({"L6", "L4"}),
                            l6_kinds=frozenset({"grid_modules"}), keys=frozenset({"world", "region"}),
                            worlds=frozenset({"arena"})))
def run_arena_td(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """TD(lambda) over the column's place / grid code in the ``arena`` world, with and without replay.

    Returns :func:`td_metrics`; keeps the last mode's value weights in ``net.memory``
    (``<region>.td.values``: the value of every lattice point); with ``output.plot`` also writes
    ``<output.dir or out/arena_td>/arena_td.png`` and names it under ``figure``.
    """
    from .config import ConfigError

    config = net.config
    if config.world.kind != "arena":
        raise ConfigError(f"experiment arena_td needs world.kind 'arena', got {config.world.kind!r}",
                          key_path="world.kind")
    p = ArenaTDParams.model_validate(config.experiment.params)
    name, frame = td_frame(net)
    result = run_arena_td_experiment(net.world, frame, p, net.rng)
    metrics = td_metrics(result)
    last = list(result.logs.values())[-1]
    net.memory[f"{name}.td.values"] = last.values
    if config.output.plot:
        fname = "arena_td.png" if trial == 0 else f"arena_td_trial{trial}.png"
        out = Path(config.output.dir or Path("out") / "arena_td") / fname
        metrics["figure"] = str(plot_td(result, out))
    return metrics
