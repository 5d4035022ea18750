"""The 2019 locations experiment (Lewis, Purdy, Ahmad & Hawkins, "Locations in the Neocortex").

A network of ``columns`` columns, each an L4 (feature in the context of a location) and an L6a
location layer of grid-cell modules, learns grid objects (:class:`GridObjectWorld`) in one
pass and recognises them by touch:

* learning: each object starts at a random location (one bump per module); the sensor
  visits the object's features in order, path-integrating every movement; at each feature
  L4 learns the feature on basal segments onto the L6 learnable cells (the most excited cell
  of each module) and L6 grows anchor segments from those cells onto the L4 winner cells;
* inference: the sensor touches the features in random order (at most ``max_traversals``
  traversals, a traversal never starting where the previous one ended); every touch moves
  (all bumps shift), senses (L4 predicted cells fire, else whole minicolumns burst) and
  anchors (L6 bumps reset to the cells whose anchor segments recognise the L4 activity);
* recognised: the anchored ("sensory-driven") location cells are a non-empty subset of the
  cells learned for that object at the touched feature, in every column, and of no other
  object's; landing exactly on another object's learned location code is a failure;
* capacity: the largest object count at which fewer than ``1 - min_accuracy`` (10 %) of the
  objects fail (the reference's strict rule), found by the reference's search schedule
  (:func:`capacity_reference_search`: steps of 128 objects, then halving to 1 object).

With several columns an L2/3 object layer votes: :class:`ObjectVotes`, a small object-level
variant of the 2017 column pooler (one unit per learned object instead of a 40-cell SDR):
a column's candidates are the objects with a learned (feature, location) whose L4 code is
active, intersected with its previous candidates (temporal pooling); each column keeps its
candidates with the most lateral support; the winners' L4 cells bias L4 through apical
dendrites (the apical tie-break), so anchoring narrows to the voted objects' locations.

Speed: learning and inference are batched.  Objects are learned as one batch (each learning
event touches only its own segments; :meth:`LocationNetwork.learn` checks that no event would
have been predicted by another, and otherwise falls back to sensation-by-sensation
learning).  Inference runs every test episode at once: one row per episode, the learned
weights read-only.  Bumps sit on cell centres shifted by one movement since the last
anchoring, so a module's activity is the FFT convolution of its bump map with
``log(1 - kernel)``, the kernel cached per movement; L4 basal overlaps and anchoring are
products of the distinct learned synapse sets (CSR) with the dense activity; episodes stop
as soon as they are recognised or lock onto another object's code.
:meth:`LocationNetwork.infer_sequential` runs the same protocol through the layers' own
``compute`` methods (the reference the tests compare with).

Protocol checked against the reference code (htmresearch ``union_path_integration``):
anchoring threshold 8 of 10 anchor synapses, L4 basal threshold ``ceil(0.8 * modules)``,
bump sigma ``0.18172 * 6 / cells_per_axis`` with the activation threshold at radius
``(2 / sqrt 3) / cells_per_axis``, at most 4 traversals (40 touches), recognition when the
sensory-driven location cells are a subset of the object's learned cells at the touched
feature, failure on an exact lock onto another learned code, and capacity probes that pass
with fewer than 10 % failures, searched to a resolution of one object.  The reference's
``cellCoordinateOffsets`` (several phases per anchored cell) belong to its square-bump
modules only; its Gaussian-bump modules, used for the published figures, reset each bump to
the anchored cell's centre, as here.  The activity rule was checked against a direct
evaluation of the reference's formulas (four-corner rhombic distance, probabilistic union,
threshold at ``(2/sqrt 3)/cells_per_axis``): identical active cells for random unions.
:func:`ideal_observer` bounds what the touches themselves allow: at 140 objects it singles
out every object (median 2 touches), so the network's failures there (unions that never
narrow) are the mechanism's, not ambiguity of the objects.  Two deliberate differences: an empty anchored set does not
count as recognised (the reference's subset test would accept it; it never occurs in these
runs), and L4's basal input while learning is the learnable cells rather than all active
cells (a pair is re-used only when another object's location code falls inside the current
bumps in 8 of 10 modules, negligible here).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.types import PositiveFloat, PositiveInt
from scipy import fft as scipy_fft
from scipy import sparse

from columns.gridcells import torus_distance
from columns.kernels import expand_ranges, group_ranks
from columns.layers.l4 import L4Layer, L4Params
from columns.layers.l6 import L6Layer, L6Params, SynapseSets, rows_to_csr

from .builder import ProgressFactory, Uses, register_builder
from .config import Config, Params, WorldSpec
from .experiments import l4_params
from .worlds.grid_objects import GridObjectWorld

__all__ = [
    "LocationNetwork",
    "ObjectVotes",
    "InferenceResult",
    "make_location_network",
    "touch_orders",
    "ideal_observer",
    "run_locations",
    "capacity_reference_search",
    "GridWorldParams",
    "GridObjectsParams",
    "build_grid_world",
    "run_grid_objects",
    "PUBLISHED",
]

#: Published figures (Lewis et al. 2019, medians of 5 trials; reference code's result files).
PUBLISHED: dict[str, Any] = {
    "capacity_default": 148,
    "capacity_vs_cells_per_axis": {6: 63, 10: 148, 14: 259, 20: 467},
    "capacity_vs_feature_pool": {50: 84, 100: 148, 200: 265},
    "reference_seconds": {100: 7.7, 140: 26.0},
}


# ------------------------------------------------------------------------------ network
@dataclass
class InferenceResult:
    """Outcome of touching every test object.

    Attributes
    ----------
    sensations : float ``(n_objects,)``: sensation at which the object was recognised
        (1-based), ``inf`` when it never was.
    recognised : bool ``(n_objects,)``.
    wrong_lock : bool ``(n_objects,)``: failed by landing on another object's location code.
    trace : per sensation (when recorded): list of dicts with the number of anchored cells
        and of candidate objects of every episode.
    """

    sensations: np.ndarray
    recognised: np.ndarray
    wrong_lock: np.ndarray
    trace: list[dict[str, np.ndarray]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Fraction of objects recognised."""
        return float(self.recognised.mean()) if self.recognised.size else 0.0

    @property
    def median_sensations(self) -> float:
        """Median sensations over the recognised objects (``nan`` if none)."""
        ok = self.sensations[np.isfinite(self.sensations)]
        return float(np.median(ok)) if ok.size else float("nan")


class ObjectVotes:
    """L2/3 object layer, object-level variant: temporal pooling plus lateral votes.

    State: ``candidates`` bool ``(n_episodes, n_columns, n_objects)``.  :meth:`update` takes
    the feed-forward support (objects with a learned pair whose L4 code is active) and
    returns the voted objects per column.
    """

    def __init__(self, adjacency: np.ndarray, n_episodes: int, n_objects: int) -> None:
        self.adjacency = np.asarray(adjacency, dtype=bool)
        k = self.adjacency.shape[0]
        self.candidates = np.zeros((int(n_episodes), k, int(n_objects)), dtype=bool)

    def update(self, feedforward: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Pool ``feedforward`` (bool ``(len(rows), n_columns, n_objects)``) into the episodes ``rows``.

        Candidates = feed-forward support intersected with the previous candidates (or the
        support alone where they do not intersect); votes = the candidates with the highest
        count of supporting neighbours (lateral graph).  Returns the voted objects, bool, same
        shape as ``feedforward``.
        """
        prev = self.candidates[rows]
        pooled = feedforward & prev
        keep = pooled.any(axis=2, keepdims=True)
        cand = np.where(keep, pooled, feedforward)
        self.candidates[rows] = cand
        lateral = np.einsum("jk,ekn->ejn", self.adjacency.astype(np.int32), cand.astype(np.int32))
        score = np.where(cand, 1 + lateral, 0)
        best = score.max(axis=2, keepdims=True)
        return cand & (score == best) & (best > 0)


class LocationNetwork:
    """L4 + L6a of ``n_columns`` columns (plus object votes when ``n_columns > 1``).

    Parameters
    ----------
    l4 : :class:`L4Layer` with ``basal_size == l6.cells_per_column`` and no apical store (the
        apical tie-break of the voting variant is applied in :meth:`infer`).
    l6 : :class:`L6Layer` with ``anchor_input_size == l4.cells_per_column``.
    adjacency : bool ``(n_columns, n_columns)`` lateral graph of the votes (default all-to-all).
    vote_threshold : active L4 cells of a learned pair's code needed to support its object.
    rng : generator of the learning locations and tie-breaks.
    """

    def __init__(
        self,
        l4: L4Layer,
        l6: L6Layer,
        *,
        adjacency: np.ndarray | None = None,
        vote_threshold: int = 5,
        rng: np.random.Generator | None = None,
    ) -> None:
        if l4.n_columns != l6.n_columns:
            raise ValueError(f"l4 has {l4.n_columns} columns but l6 has {l6.n_columns}")
        if l4.basal_size != l6.cells_per_column:
            raise ValueError(f"l4.basal_size ({l4.basal_size}) must equal l6.cells_per_column ({l6.cells_per_column})")
        if l6.anchor_input_size != l4.cells_per_column:
            raise ValueError(
                f"l6.anchor_input_size ({l6.anchor_input_size}) must equal l4.cells_per_column ({l4.cells_per_column})"
            )
        if int(vote_threshold) <= 0:
            raise ValueError(f"vote_threshold must be a positive integer, got {vote_threshold!r}")
        self.l4, self.l6 = l4, l6
        self.n_columns = l4.n_columns
        k = self.n_columns
        adj = ~np.eye(k, dtype=bool) if adjacency is None else np.asarray(adjacency, dtype=bool)
        if adj.shape != (k, k):
            raise ValueError(f"adjacency must have shape ({k}, {k}), got {adj.shape}")
        self.adjacency = adj & ~np.eye(k, dtype=bool)
        self.vote_threshold = int(vote_threshold)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.world: GridObjectWorld | None = None
        # learned codes: location cells (n_objects, F, K, modules), L4 winners (n_objects, F, K, active)
        self.location_codes = np.zeros((0, 0, k, l6.params.modules), dtype=np.int64)
        self.winner_codes = np.zeros((0, 0, k, 0), dtype=np.int64)
        self.learn_collisions = 0
        self.learned_batched = False
        self._readout: _Readout | None = None

    # ------------------------------------------------------------------ learning
    def _minicolumns(self, world: GridObjectWorld, objects: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Flat active minicolumns ``(..., K, active)`` for feature ``index[..., k]`` of ``objects``."""
        feats = world.features[objects[..., None], index]
        offsets = np.arange(self.n_columns)[:, None] * self.l4.params.minicolumns
        return world.feature_sdrs[feats] + offsets

    def _check_world(self, world: GridObjectWorld) -> None:
        if world.feature_size != self.l4.params.minicolumns:
            raise ValueError(
                f"world.feature_size ({world.feature_size}) must equal L4 minicolumns ({self.l4.params.minicolumns})"
            )

    def _initial_phases(self, n_objects: int, initial_phases: np.ndarray | None) -> np.ndarray:
        shape = (n_objects, self.n_columns, self.l6.params.modules, 2)
        if initial_phases is None:
            return self.rng.random(shape)
        phases = np.asarray(initial_phases, dtype=np.float64)
        if phases.shape != shape:
            raise ValueError(f"initial_phases must have shape {shape}, got {phases.shape}")
        return phases

    def learn(self, world: GridObjectWorld, *, initial_phases: np.ndarray | None = None) -> None:
        """Learn every object of ``world`` in one batch (one pass over each object's features).

        ``initial_phases`` ``(n_objects, n_columns, modules, 2)``: each object's random start
        location (drawn when None).  Learning is batched across objects; if a learning event
        would have been predicted by another object's segments (an L4 or anchor segment
        matching), the batch is discarded and the objects are learned sensation by sensation.
        """
        self._check_world(world)
        phases0 = self._initial_phases(world.n_objects, initial_phases)
        snapshot = (self.l4.basal.to_arrays(), self.l6.anchor.to_arrays())
        if self._learn_batch(world, phases0):
            self.learned_batched = True
        else:
            self.l4.basal = type(self.l4.basal).from_arrays(snapshot[0])
            self.l6.replace_anchor_store(type(self.l6.anchor).from_arrays(snapshot[1]))
            self.learn_sequential(world, initial_phases=phases0)
            self.learned_batched = False
        self._readout = None

    def _learn_batch(self, world: GridObjectWorld, phases0: np.ndarray) -> bool:
        l4, l6 = self.l4, self.l6
        p4, p6 = l4.params, l6.params
        n_obj, n_feat = world.features.shape
        K, M = self.n_columns, p6.modules
        n_ev = n_obj * n_feat  # event j = object * F + feature index; K columns each
        # bump phase at every feature: start + A (position - first position)
        rel = world.positions - world.positions[:, :1]
        shift = np.einsum("kmij,ofj->ofkmi", l6.modules.phase_matrices, rel)
        phases = np.mod(phases0[:, None] + shift, 1.0).reshape(n_ev * K, M, 2)
        cells = nearest_cells(phases, p6.cells_per_axis, l6.modules.lattice_angle)  # (n_ev*K, M)
        column = np.tile(np.arange(K), n_ev)
        learn_cells = cells + (np.arange(M) * l6.cells_per_module)[None, :] + (column * l6.cells_per_column)[:, None]
        mc = self._minicolumns(world, np.arange(n_obj)[:, None], np.repeat(np.arange(n_feat)[None, :, None], K, axis=2))  # (O, F, K, A)
        n_act = mc.shape[-1]
        mc = mc.reshape(n_ev * K, n_act)
        rows_l6 = rows_to_csr(np.repeat(np.arange(n_ev * K), M), learn_cells.ravel(), n_ev * K, l6.n_cells)

        # --- would any event have been predicted by another event's (or an old) L4 segment?
        thr_b = min(p4.basal_threshold, p4.min_threshold)
        gram = sparse.csr_array(rows_l6.astype(np.int32) @ rows_l6.T.astype(np.int32))
        r = np.repeat(np.arange(gram.shape[0]), np.diff(gram.indptr))
        hit = (gram.data >= thr_b) & (gram.indices != r)
        if np.any(hit) and _share_minicolumn(mc, r[hit], gram.indices[hit]):
            return False
        if l4.basal.n_segments:
            old = sparse.csr_array(rows_l6.astype(np.int32) @ l4.basal.connected_matrix())
            r = np.repeat(np.arange(old.shape[0]), np.diff(old.indptr))
            hit = old.data >= thr_b
            seg_mc = l4.basal.segment_cell[old.indices[hit]] // p4.cells_per_minicolumn
            if np.any((mc[r[hit]] == seg_mc[:, None]).any(axis=1)):
                return False

        # --- winner cells: least-used cell of each bursting minicolumn, random tie-break
        pair_mc = mc.ravel()
        winners = _least_used_cells(pair_mc, l4.basal.cell_segment_count, p4.cells_per_minicolumn, self.rng)
        win = winners.reshape(n_ev * K, n_act)
        rows_l4 = rows_to_csr(np.repeat(np.arange(n_ev * K), n_act), win.ravel(), n_ev * K, l4.n_cells)

        # --- would an anchor segment have matched (same learning cell, >= threshold same winners)?
        gram = sparse.csr_array(rows_l4.astype(np.int32) @ rows_l4.T.astype(np.int32))
        r = np.repeat(np.arange(gram.shape[0]), np.diff(gram.indptr))
        hit = (gram.data >= p6.anchoring_threshold) & (gram.indices != r)
        if np.any(hit) and np.any((learn_cells[r[hit]] == learn_cells[gram.indices[hit]]).any(axis=1)):
            return False
        if l6.anchor.n_segments:
            old = sparse.csr_array(rows_l4.astype(np.int32) @ l6.anchor.connected_matrix())
            r = np.repeat(np.arange(old.shape[0]), np.diff(old.indptr))
            hit = old.data >= p6.anchoring_threshold
            owner = l6.anchor.segment_cell[old.indices[hit]]
            if np.any((learn_cells[r[hit]] == owner[:, None]).any(axis=1)):
                return False

        # --- grow: one L4 segment per (event, minicolumn) onto the event's learnable cells
        l4_candidates = np.repeat(learn_cells, n_act, axis=0)  # (pairs, M)
        # one anchor segment per (event, module) onto the event's winner cells
        anchor_candidates = np.repeat(win, M, axis=0)  # (events * M, A)
        if l4.basal.n_segments == 0 and _fits(l4.basal, winners, l4_candidates, p4.sample_size):
            l4.basal = _bulk_store(l4.basal, winners, l4_candidates, p4.sample_size, p4.initial_permanence, l4.rng)
        else:
            l4.basal.timestep += 1
            segments = l4.basal.create_segments(winners)
            indptr = np.arange(0, (pair_mc.size + 1) * M, M, dtype=np.int64)
            l4.basal.grow_synapses(segments, (indptr, l4_candidates.ravel()), p4.sample_size, p4.initial_permanence, l4.rng)
        if l6.anchor.n_segments == 0 and _fits(l6.anchor, learn_cells.ravel(), anchor_candidates, p6.anchor_sample_size):
            l6.replace_anchor_store(_bulk_store(
                l6.anchor, learn_cells.ravel(), anchor_candidates, p6.anchor_sample_size,
                p6.anchor_initial_permanence, l6.rng,
            ))
        else:
            anchor_ptr = np.arange(0, (learn_cells.size + 1) * n_act, n_act, dtype=np.int64)
            l6.grow_anchor_segments(learn_cells.ravel(), (anchor_ptr, anchor_candidates.ravel()))
        self._record(world, learn_cells.reshape(n_obj, n_feat, K, M), win.reshape(n_obj, n_feat, K, n_act))
        return True

    def learn_sequential(self, world: GridObjectWorld, *, initial_phases: np.ndarray | None = None) -> None:
        """Learn object by object, sensation by sensation, through ``L4Layer.compute`` and ``L6Layer.learn``.

        During learning the L4 basal input is the L6 learnable cells (the 2019 model grows L4
        segments onto them).  Same result as :meth:`learn` up to random tie-breaks.
        """
        self._check_world(world)
        l4, l6 = self.l4, self.l6
        n_obj, n_feat = world.features.shape
        K, M = self.n_columns, l6.params.modules
        phases0 = self._initial_phases(n_obj, initial_phases)
        locs = np.zeros((n_obj, n_feat, K, M), dtype=np.int64)
        wins = np.zeros((n_obj, n_feat, K, world.feature_active), dtype=np.int64)
        index = np.arange(n_feat)
        for obj in range(n_obj):
            l4.reset()
            l6.reset()
            l6.modules.set_bumps(phases0[obj])
            for i in range(n_feat):
                if i:
                    l6.path_integrate(world.positions[obj, i] - world.positions[obj, i - 1])
                mc = self._minicolumns(world, np.array([obj]), np.full((1, K), index[i]))[0]
                learnable = l6.learnable_cells()
                l4.compute(mc.ravel(), learnable, None, learn=True)
                l6.learn(l4.winner_cells)
                locs[obj, i] = l6.sensory_cells.reshape(K, M)
                wins[obj, i] = np.sort(l4.winner_cells).reshape(K, -1)
        self._record(world, locs, wins)

    def _record(self, world: GridObjectWorld, locs: np.ndarray, wins: np.ndarray) -> None:
        self.world = world
        self.location_codes = locs
        self.winner_codes = wins
        self._readout = None

    # ------------------------------------------------------------------ inference
    def infer(
        self,
        orders: np.ndarray | None = None,
        *,
        objects: np.ndarray | None = None,
        max_traversals: int = 4,
        vote: bool | None = None,
        record: bool = False,
    ) -> InferenceResult:
        """Touch every test object in a batch of episodes (one row per object).

        ``orders``: int ``(n_test, n_columns, max_traversals * features_per_object)`` touch
        sequences (default :func:`touch_orders` with this network's generator); ``objects``:
        learned object ids to test (default all).  ``vote`` defaults to ``n_columns > 1``.
        """
        world = self._learned_world()
        objs = np.arange(world.n_objects) if objects is None else np.asarray(objects, dtype=np.int64)
        F = world.features_per_object
        if orders is None:
            orders = touch_orders(self.rng, objs.size, self.n_columns, F, max_traversals)
        orders = self._check_orders(orders, objs.size, F)
        vote = self.n_columns > 1 if vote is None else bool(vote)
        return _BatchInference(self, objs, orders, vote, record).run()

    def infer_sequential(self, orders: np.ndarray, *, objects: np.ndarray | None = None) -> InferenceResult:
        """The same protocol episode by episode through ``L4Layer.compute`` / ``L6Layer.anchor_to`` (no votes)."""
        world = self._learned_world()
        objs = np.arange(world.n_objects) if objects is None else np.asarray(objects, dtype=np.int64)
        F = world.features_per_object
        orders = self._check_orders(orders, objs.size, F)
        readout = self._get_readout()
        l4, l6 = self.l4, self.l6
        K = self.n_columns
        sensations = np.full(objs.size, np.inf)
        wrong = np.zeros(objs.size, dtype=bool)
        for e, obj in enumerate(objs):
            l4.reset()
            l6.reset()
            for t in range(orders.shape[2]):
                idx = orders[e, :, t]
                if t:
                    l6.path_integrate(world.positions[obj, idx] - world.positions[obj, orders[e, :, t - 1]])
                mc = self._minicolumns(world, np.array([obj]), idx[None, :])[0]
                l4.compute(mc.ravel(), l6.active_cells, None, learn=False)
                rep = l6.anchor_to(l4.active_cells)
                rep_csr = rows_to_csr(np.zeros(rep.size, dtype=np.int64), rep, 1, l6.n_cells)
                ok, lock = readout.recognition(rep_csr, np.array([obj]), idx[None, :])
                if ok[0]:
                    sensations[e] = t + 1
                    break
                if lock[0]:
                    wrong[e] = True
                    break
        return InferenceResult(sensations, np.isfinite(sensations), wrong)

    def _learned_world(self) -> GridObjectWorld:
        if self.world is None:
            raise ValueError("the network has learned no objects yet: call learn(world) first")
        return self.world

    def _check_orders(self, orders: np.ndarray, n_test: int, n_feat: int) -> np.ndarray:
        orders = np.asarray(orders)
        if orders.ndim != 3 or orders.shape[:2] != (n_test, self.n_columns):
            raise ValueError(f"orders must have shape ({n_test}, {self.n_columns}, steps), got {orders.shape}")
        if orders.size and (orders.min() < 0 or orders.max() >= n_feat or orders.dtype.kind not in "iu"):
            raise ValueError(f"orders must hold feature indices in [0, {n_feat})")
        return orders.astype(np.int64)

    def _get_readout(self) -> _Readout:
        if self._readout is None:
            self._readout = _Readout(self)
        return self._readout


def nearest_cells(phases: np.ndarray, cells_per_axis: int, lattice_angle: float = 60.0) -> np.ndarray:
    """Cell (within its module) whose centre is nearest to each phase, int64 ``phases.shape[:-1]``.

    For a single bump this is the most excited cell (the learnable cell).  The nearest centre
    is a corner of the small rhombus of centres around the phase, so four candidates are
    compared with :func:`columns.gridcells.torus_distance`.
    """
    n = int(cells_per_axis)
    u = np.mod(np.asarray(phases, dtype=np.float64), 1.0) * n - 0.5
    base = np.floor(u).astype(np.int64)
    corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    cand = base[..., None, :] + corners  # (..., 4, 2)
    centres = (np.mod(cand, n) + 0.5) / n
    dist = torus_distance(centres - np.mod(phases, 1.0)[..., None, :], lattice_angle)
    best = np.take_along_axis(np.mod(cand, n), np.argmin(dist, axis=-1)[..., None, None], axis=-2)[..., 0, :]
    return best[..., 0] * n + best[..., 1]


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array (sort-based; numpy 2.4's hashed ``np.unique`` is slower here)."""
    keys = np.sort(keys, axis=None)
    if keys.size == 0:
        return keys
    return keys[np.r_[True, keys[1:] != keys[:-1]]]


def _flags(indices: np.ndarray, size: int) -> np.ndarray:
    """Bool ``(size,)`` membership table of ``indices``."""
    out = np.zeros(size, dtype=bool)
    out[indices] = True
    return out


def _fits(store: Any, cells: np.ndarray, candidates: np.ndarray, sample: int) -> bool:
    """Whether a bulk build respects the store's per-cell and per-segment limits."""
    per_cell = np.bincount(cells, minlength=store.n_cells).max(initial=0)
    return per_cell <= store.max_segments_per_cell and min(sample, candidates.shape[1]) <= store.max_synapses_per_segment


def _bulk_store(store: Any, cells: np.ndarray, candidates: np.ndarray, sample: int, permanence: float,
                rng: np.random.Generator) -> Any:
    """A new store like the empty ``store`` with one segment per cell, sampling ``sample`` of its row of candidates."""
    rows, width = candidates.shape
    take = min(int(sample), width)
    if take < width:
        pick = np.argsort(rng.random((rows, width)), axis=1)[:, :take]
        candidates = np.take_along_axis(candidates, pick, axis=1)
    segment = np.repeat(np.arange(rows, dtype=np.int64), take)
    return type(store).from_synapses(
        store.n_cells, store.n_presynaptic, float(store.connected_threshold), cells, segment,
        candidates.ravel(), np.full(segment.size, permanence, dtype=np.float32),
        max_segments_per_cell=store.max_segments_per_cell, max_synapses_per_segment=store.max_synapses_per_segment,
    )


def _share_minicolumn(mc: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether rows ``a[i]`` and ``b[i]`` of ``mc`` share a minicolumn, for any ``i``."""
    return bool(np.any((mc[a][:, :, None] == mc[b][:, None, :]).any(axis=(1, 2))))


def _least_used_cells(pair_mc: np.ndarray, load: np.ndarray, cells_per_mc: int, rng: np.random.Generator) -> np.ndarray:
    """Winner cell of each bursting (event, minicolumn), in event order, as L4 would choose them.

    Sequentially, each burst takes the cell of its minicolumn with the fewest segments
    (random tie-break) and adds a segment to it.  Batched: every cell offers one slot per
    segment level from its current load upwards; a minicolumn's bursts take its slots in
    order of (level, random key).
    """
    n_mc = load.size // cells_per_mc
    per_mc = np.bincount(pair_mc, minlength=n_mc)
    used = np.flatnonzero(per_mc)
    cell_load = load.reshape(n_mc, cells_per_mc)[used].astype(np.int64)
    top = cell_load.max(axis=1) + -(-per_mc[used] // cells_per_mc)  # highest level ever needed
    counts = (top[:, None] - cell_load + 1).ravel()
    slot_owner = np.repeat(np.arange(counts.size), counts)
    level = np.repeat(cell_load.ravel(), counts) + (np.arange(slot_owner.size) - np.repeat(np.cumsum(counts) - counts, counts))
    slot_mc = used[slot_owner // cells_per_mc]
    slot_cell = slot_mc * cells_per_mc + slot_owner % cells_per_mc
    order = np.lexsort((rng.random(slot_owner.size), level, slot_mc))
    slot_mc, slot_cell = slot_mc[order], slot_cell[order]
    keep = group_ranks(slot_mc) < per_mc[slot_mc]
    chosen = slot_cell[keep]  # grouped by minicolumn, in rank order
    order = np.argsort(pair_mc, kind="stable")
    winners = np.empty(pair_mc.size, dtype=np.int64)
    winners[order] = chosen
    return winners


class _Readout:
    """Read-only views of the learned weights and codes for batched inference."""

    def __init__(self, net: LocationNetwork) -> None:
        l4, l6 = net.l4, net.l6
        self.net = net
        p4 = l4.params
        # L4 basal: live segments grouped by minicolumn; their connected synapses segment-major
        seg_cell = l4.basal.segment_cell.astype(np.int64)
        live = np.flatnonzero(seg_cell >= 0)
        seg_mc = seg_cell[live] // p4.cells_per_minicolumn
        order = np.argsort(seg_mc, kind="stable")
        self.seg = live[order]
        self.seg_cell = seg_cell[self.seg]
        self.sets = SynapseSets(l4.basal.connected_matrix())
        self.seg_set = self.sets.segment_set[self.seg]
        self.mc_ptr = np.zeros(l4.n_minicolumns + 1, dtype=np.int64)
        np.cumsum(np.bincount(seg_mc, minlength=l4.n_minicolumns), out=self.mc_ptr[1:])
        # learned codes
        world = net.world
        assert world is not None
        locs = net.location_codes  # (O, F, K, M)
        self.n_obj, self.n_feat, self.K, self.M = locs.shape
        self.locs = locs
        n_rows = self.n_obj * self.n_feat * self.K
        self.loc_matrix = rows_to_csr(np.repeat(np.arange(n_rows), self.M), locs.ravel(), n_rows, l6.n_cells)
        weights = np.random.default_rng(12345).integers(1, 2**63 - 1, size=l6.n_cells, dtype=np.int64).astype(np.uint64)
        self.cell_hash = weights
        self.loc_hash = np.sort(weights[locs].sum(axis=-1, dtype=np.uint64).ravel())
        wins = net.winner_codes  # (O, F, K, A)
        n_act = wins.shape[-1]
        self.pair_matrix = rows_to_csr(np.repeat(np.arange(n_rows), n_act), wins.ravel(), n_rows, l4.n_cells)
        # object cells per column: row k * O + o = the L4 winners of every pair of o in column k
        obj_rows = (np.arange(self.K)[None, None, :, None] * self.n_obj + np.arange(self.n_obj)[:, None, None, None])
        obj_rows = np.broadcast_to(obj_rows, wins.shape)
        self.object_cells = rows_to_csr(obj_rows.ravel(), wins.ravel(), self.K * self.n_obj, l4.n_cells)
        # grid kernels of every movement between two features of one object (computed once)
        self.kernels = _KernelCache(l6)
        self.kernels.index(world.positions[:, None, :, :] - world.positions[:, :, None, :])

    # ---- L4 for many episodes
    def l4_active(
        self,
        rows: np.ndarray,
        minicolumns: np.ndarray,
        l6_active: np.ndarray,
        apical: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Active L4 cells as (row, cell) pairs.

        ``rows`` ``(n,)`` and ``minicolumns`` ``(n, A)``: each row's active flat minicolumns;
        ``l6_active``: bool ``(n, n_l6_cells)``; ``apical``: bool ``(n, n_l4_cells)`` or None.
        Predicted cells (>= basal threshold connected synapses onto active grid cells) fire in
        their minicolumn; with apical support, only the supported predicted cells; a
        minicolumn with none bursts.
        """
        cpm = self.net.l4.params.cells_per_minicolumn
        n, n_act = minicolumns.shape
        pair_row = np.repeat(np.arange(n), n_act)
        pair_mc = minicolumns.ravel()
        counts = self.sets.overlaps(l6_active)  # (n, n_sets)
        seg_lo, seg_hi = self.mc_ptr[pair_mc], self.mc_ptr[pair_mc + 1]
        segrow = expand_ranges(seg_lo, seg_hi)
        seg_pair = np.repeat(np.arange(pair_mc.size), seg_hi - seg_lo)
        sets = self.seg_set[segrow]
        ok = sets >= 0
        on = np.zeros(segrow.size, dtype=bool)
        on[ok] = counts[pair_row[seg_pair[ok]], sets[ok]] >= self.net.l4.params.basal_threshold
        pred_pair, pred_cell = seg_pair[on], self.seg_cell[segrow[on]]
        if pred_cell.size:
            key = _sorted_unique(pred_pair * self.net.l4.n_cells + pred_cell)
            pred_pair, pred_cell = np.divmod(key, self.net.l4.n_cells)
            if apical is not None:
                sup = apical[pair_row[pred_pair], pred_cell]
                any_sup = np.zeros(pair_mc.size, dtype=bool)
                any_sup[pred_pair[sup]] = True
                keep = sup | ~any_sup[pred_pair]
                pred_pair, pred_cell = pred_pair[keep], pred_cell[keep]
        has_pred = np.zeros(pair_mc.size, dtype=bool)
        has_pred[pred_pair] = True
        burst = np.flatnonzero(~has_pred)
        burst_cells = (pair_mc[burst][:, None] * cpm + np.arange(cpm)).ravel()
        out_rows = np.concatenate([rows[pair_row[pred_pair]], np.repeat(rows[pair_row[burst]], cpm)])
        out_cells = np.concatenate([pred_cell, burst_cells])
        return out_rows, out_cells

    # ---- recognition
    def recognition(
        self, rep: sparse.csr_array, objects: np.ndarray, touched: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Recognised and wrong-lock flags for anchored cells ``rep`` ``(n, n_l6_cells)``.

        ``objects`` ``(n,)``: the true objects; ``touched`` ``(n, K)``: the feature index each
        column touched.  Recognised: in every column the anchored cells are a non-empty subset
        of the cells learned for (object, touched feature) and of no other object's learned
        location code.  Wrong lock: some column's anchored cells equal another object's
        learned code exactly.
        """
        l6 = self.net.l6
        n = rep.shape[0]
        cpc = l6.cells_per_column
        rows = np.repeat(np.arange(n), np.diff(rep.indptr))
        cells = rep.indices.astype(np.int64)
        col = cells // cpc
        rc = rows * self.K + col  # (episode, column) id
        n_rep = np.bincount(rc, minlength=n * self.K)
        target = self.locs[objects[:, None], touched, np.arange(self.K)[None, :]]  # (n, K, M)
        # a learned code holds one cell per module: compare each anchored cell with its module's
        module = (cells % cpc) // l6.cells_per_module
        inside = target[rows, col, module] == cells
        n_in = np.bincount(rc[inside], minlength=n * self.K)
        subset = ((n_rep > 0) & (n_in == n_rep)).reshape(n, self.K)
        candidate = np.flatnonzero(subset.all(axis=1))
        recognised = np.zeros(n, dtype=bool)
        if candidate.size:
            sub = sparse.csr_array(rep[candidate])
            overlap = sparse.csr_array(sub.astype(np.int32) @ self.loc_matrix.T.astype(np.int32))
            orow = np.repeat(np.arange(candidate.size), np.diff(overlap.indptr))
            code = overlap.indices.astype(np.int64)  # (object, feature, column) row
            code_obj, rest = np.divmod(code, self.n_feat * self.K)
            code_col = rest % self.K
            size = n_rep.reshape(n, self.K)[candidate[orow], code_col]
            contains = overlap.data == size
            other = contains & (code_obj != objects[candidate[orow]])
            bad = np.zeros(candidate.size, dtype=bool)
            bad[orow[other]] = True
            recognised[candidate[~bad]] = True
        # exact lock onto another object's code (hash of each (episode, column) cell set)
        h = np.zeros(n * self.K, dtype=np.uint64)
        np.add.at(h, rc, self.cell_hash[cells])
        full = (n_rep == self.M) & ~subset.ravel()
        where = np.minimum(np.searchsorted(self.loc_hash, h), self.loc_hash.size - 1)
        lock = full & (self.loc_hash[where] == h)
        wrong = lock.reshape(n, self.K).any(axis=1) & ~recognised
        return recognised, wrong


class _KernelCache:
    """Spectra of ``log(1 - kernel)`` for every column-module, cached per world displacement.

    After an anchoring every bump sits on a cell centre; a movement ``d`` then shifts the bumps
    of module ``m`` of column ``k`` by the phase ``A_km d``, so the excitation around a bump is
    one kernel per (displacement, column-module), evaluated by :meth:`GridModules.excitation`.
    ``spectra`` is complex ``(n_displacements, columns * modules, n, n // 2 + 1)``.
    """

    def __init__(self, l6: L6Layer) -> None:
        self.l6 = l6
        n = l6.params.cells_per_axis
        self.displacements = np.zeros((0, 2))
        self.spectra = np.zeros((0, l6.n_columns * l6.params.modules, n, n // 2 + 1), dtype=np.complex128)

    def index(self, displacements: np.ndarray) -> np.ndarray:
        """Cache row of each displacement ``(d, 2)`` (world units), computing the kernels of new ones."""
        distinct, inverse = _distinct_rows(np.asarray(displacements, dtype=np.float64).reshape(-1, 2))
        match = np.all(distinct[:, None, :] == self.displacements[None, :, :], axis=2)  # (u, cached)
        found = match.any(axis=1)
        index = np.full(distinct.shape[0], -1, dtype=np.int64)
        if self.displacements.shape[0]:
            index[found] = np.argmax(match[found], axis=1)
        new = distinct[~found]
        if new.size:
            n = self.l6.params.cells_per_axis
            KM = self.spectra.shape[1]
            a = self.l6.modules.phase_matrices.reshape(KM, 2, 2)
            # offset of every (new displacement, column-module); the excitation depends on the
            # offset only, so any module instances can host the kernels
            offset = np.mod(0.0 + np.einsum("mij,dj->dmi", a, new), 1.0).reshape(-1, 2)
            hosts = self.l6.episode_modules(new.shape[0])  # K * M module instances per displacement
            hosts.set_bumps(offset + 0.5 / n, module_ids=np.arange(offset.shape[0]))
            log_miss = np.log(np.maximum(1.0 - hosts.excitation().reshape(-1, n, n), 1e-30))
            spectra = scipy_fft.rfft2(log_miss).reshape(new.shape[0], KM, n, n // 2 + 1)
            index[~found] = self.displacements.shape[0] + np.arange(new.shape[0])
            self.displacements = np.concatenate([self.displacements, new])
            self.spectra = np.concatenate([self.spectra, spectra])
        return index[inverse]


class _LatticeBumps:
    """Bumps of many episodes that sit on cell centres plus one common offset per module.

    Anchoring puts every bump on a cell centre and path integration shifts all bumps of a
    module by the same phase (``A_km`` times the displacement since the anchoring), so a
    module's excitation is one kernel -- the excitation of a single bump at the module's
    offset, computed by :meth:`GridModules.excitation` -- shifted to each bump cell and
    combined as ``1 - prod (1 - kernel)``: the same activity rule as :class:`GridModules`.
    In logarithms this is a circular convolution of the module's bump-count map with
    ``log(1 - kernel)``, done for every module instance at once with 2-D FFTs.  The kernels'
    spectra are cached per displacement (a touch sequence on a grid object only ever makes
    a few distinct movements), for all ``columns x modules`` at once.
    """

    def __init__(self, l6: L6Layer, n_episodes: int, kernels: _KernelCache | None = None) -> None:
        self.l6 = l6
        self.K, self.M = l6.n_columns, l6.params.modules
        self.n_axis = l6.params.cells_per_axis
        self.cps = l6.cells_per_module
        self.log_miss_threshold = math.log1p(-l6.modules.activation_threshold) + 1e-9
        self.n_episodes = int(n_episodes)
        # world displacement of every (episode, column) since its last anchoring
        self.displacement = np.zeros((n_episodes * self.K, 2))
        self.rows = np.zeros(0, dtype=np.int64)  # episode of each bump (sorted)
        self.cells = np.zeros(0, dtype=np.int64)  # L6 flat cell of each bump (sorted per episode)
        self.kernels = kernels if kernels is not None else _KernelCache(l6)

    def move(self, alive: np.ndarray, displacement: np.ndarray) -> None:
        """Path-integrate the episodes ``alive`` by ``displacement`` ``(n, K, 2)`` world units."""
        cols = (alive[:, None] * self.K + np.arange(self.K)).ravel()
        self.displacement[cols] += np.asarray(displacement, dtype=np.float64).reshape(-1, 2)

    def anchor(self, alive: np.ndarray, rep: sparse.csr_array) -> None:
        """Replace the bumps of the episodes ``alive`` by the anchored cells ``rep`` (rows = ``alive``)."""
        keep = ~_flags(alive, self.n_episodes)[self.rows]
        new_rows = alive[np.repeat(np.arange(rep.shape[0]), np.diff(rep.indptr))]
        rows = np.concatenate([self.rows[keep], new_rows])
        cells = np.concatenate([self.cells[keep], rep.indices.astype(np.int64)])
        order = np.lexsort((cells, rows))
        self.rows, self.cells = rows[order], cells[order]
        cols = (alive[:, None] * self.K + np.arange(self.K)).ravel()
        self.displacement[cols] = 0.0

    def drop(self, episodes: np.ndarray) -> None:
        """Remove the bumps of finished episodes."""
        keep = ~_flags(episodes, self.n_episodes)[self.rows]
        self.rows, self.cells = self.rows[keep], self.cells[keep]

    def active(self, alive: np.ndarray) -> np.ndarray:
        """Active cells of the episodes ``alive`` (which must hold every bump), bool ``(n, n_l6_cells)``.

        ``log(1 - excitation)`` of every module instance = the FFT convolution of its bump-count
        map with its cached kernel; a cell is active when it is at most
        ``log(1 - activation_threshold)``.
        """
        l6 = self.l6
        out = np.zeros((alive.size, l6.n_cells), dtype=bool)
        if self.rows.size == 0:
            return out
        n, cps, KM = self.n_axis, self.cps, self.K * self.M
        col, rest = np.divmod(self.cells, l6.cells_per_column)
        module, local = np.divmod(rest, cps)
        instance = (self.rows * self.K + col) * self.M + module  # non-decreasing
        starts = np.flatnonzero(np.r_[True, instance[1:] != instance[:-1]])
        used = instance[starts]
        group = np.repeat(np.arange(used.size), np.diff(np.r_[starts, instance.size]))
        episode_col, column_module = used // self.M, used % KM
        cache = self.kernels.index(self.displacement[episode_col])
        bumps = np.bincount(group * cps + local, minlength=used.size * cps).reshape(used.size, n, n)
        spectrum = scipy_fft.rfft2(bumps.astype(np.float64)) * self.kernels.spectra[cache, column_module]
        log_total = scipy_fft.irfft2(spectrum, s=(n, n)).reshape(used.size, cps)
        g, c = np.nonzero(log_total <= self.log_miss_threshold)
        inst = used[g]
        episode_col, module = np.divmod(inst, self.M)
        episode, column = np.divmod(episode_col, self.K)
        where = np.searchsorted(alive, episode)
        out[where, column * l6.cells_per_column + module * cps + c] = True
        return out


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a float ``(r, 2)`` array (exact equality, sort-based) and each row's index into them."""
    order = np.lexsort((rows[:, 1], rows[:, 0]))
    ordered = rows[order]
    new = np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)] if rows.shape[0] else np.zeros(0, dtype=bool)
    inverse = np.empty(rows.shape[0], dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


class _BatchInference:
    """All test episodes of one inference run, stepped together."""

    def __init__(self, net: LocationNetwork, objects: np.ndarray, orders: np.ndarray, vote: bool, record: bool) -> None:
        self.net = net
        self.readout = net._get_readout()
        self.objects = objects
        self.orders = orders
        self.vote = vote
        self.record = record

    def run(self) -> InferenceResult:
        net, rd = self.net, self.readout
        l6 = net.l6
        world = net.world
        assert world is not None
        E, K, T = self.orders.shape
        cpc = l6.cells_per_column
        bumps = _LatticeBumps(l6, E, rd.kernels)
        votes = ObjectVotes(net.adjacency, E, rd.n_obj) if self.vote else None
        voted: np.ndarray | None = None
        sensations = np.full(E, np.inf)
        wrong = np.zeros(E, dtype=bool)
        alive = np.arange(E)
        trace: list[dict[str, np.ndarray]] = []
        for t in range(T):
            if alive.size == 0:
                break
            objs = self.objects[alive]
            idx = self.orders[alive, :, t]  # (n, K)
            if t:
                prev = self.orders[alive, :, t - 1]
                bumps.move(alive, world.positions[objs[:, None], idx] - world.positions[objs[:, None], prev])
            n = alive.size
            dense = bumps.active(alive)  # only alive episodes hold bumps
            mc = net._minicolumns(world, objs, idx).reshape(n, -1)  # (n, K*A)
            # L4 with apical support from the previous votes; then the votes settle once and
            # L4 is recomputed with their feedback before anchoring
            apical = self._apical_rows(voted, alive) if voted is not None else None
            rows4, cells4 = rd.l4_active(np.arange(n), mc, dense, apical)
            if votes is not None:
                ff = self._feedforward(rows4, cells4, n)
                if voted is None:
                    voted = np.zeros((E, K, rd.n_obj), dtype=bool)
                voted[alive] = votes.update(ff, alive)
                rows4, cells4 = rd.l4_active(np.arange(n), mc, dense, self._apical_rows(voted, alive))
            l4_act = np.zeros((n, net.l4.n_cells), dtype=bool)
            l4_act[rows4, cells4] = True
            rep = l6.anchored_cells_batch(l4_act)
            rep_rows = np.repeat(np.arange(n), np.diff(rep.indptr))
            bumps.anchor(alive, rep)
            ok, lock = rd.recognition(rep, objs, idx)
            if self.record:
                per = np.bincount(rep_rows, minlength=n)
                cand = votes.candidates[alive].any(axis=1).sum(axis=1) if votes is not None else np.zeros(n, np.int64)
                trace.append({"episodes": alive.copy(), "anchored_cells": per, "candidates": cand,
                              "recognised": ok.copy()})
            sensations[alive[ok]] = t + 1
            wrong[alive[lock]] = True
            done = ok | lock
            if np.any(done):
                bumps.drop(alive[done])
                alive = alive[~done]
        return InferenceResult(sensations, np.isfinite(sensations), wrong, trace)

    def _apical_rows(self, voted: np.ndarray, alive: np.ndarray) -> np.ndarray:
        rd = self.readout
        v = voted[alive].reshape(alive.size, -1)  # (n, K*O), index k*O + o
        r, c = np.nonzero(v)
        vm = sparse.csr_array((np.ones(r.size, dtype=np.int32), (r, c)), shape=v.shape)
        cells = sparse.csr_array(vm @ rd.object_cells.astype(np.int32))
        out = np.zeros((alive.size, self.net.l4.n_cells), dtype=bool)
        rr = np.repeat(np.arange(alive.size), np.diff(cells.indptr))
        out[rr, cells.indices] = True
        return out

    def _feedforward(self, rows4: np.ndarray, cells4: np.ndarray, n: int) -> np.ndarray:
        rd = self.readout
        act = rows_to_csr(rows4, cells4, n, self.net.l4.n_cells)
        overlap = sparse.csr_array(act.astype(np.int32) @ rd.pair_matrix.T.astype(np.int32))
        r = np.repeat(np.arange(n), np.diff(overlap.indptr))
        on = overlap.data >= self.net.vote_threshold
        code = overlap.indices[on].astype(np.int64)
        obj, rest = np.divmod(code, rd.n_feat * rd.K)
        col = rest % rd.K
        ff = np.zeros((n, rd.K, rd.n_obj), dtype=bool)
        ff[r[on], col, obj] = True
        return ff


def touch_orders(
    rng: np.random.Generator, n_episodes: int, n_columns: int, features_per_object: int, max_traversals: int = 4
) -> np.ndarray:
    """Random touch sequences ``(n_episodes, n_columns, max_traversals * features_per_object)``.

    Each traversal is a random permutation of the features; a traversal never starts with
    the feature the previous one ended on (so every touch moves), fixed by swapping its
    first touch with a random later one.
    """
    if int(max_traversals) <= 0:
        raise ValueError(f"max_traversals must be a positive integer, got {max_traversals!r}")
    F = int(features_per_object)
    perms = np.argsort(rng.random((n_episodes, n_columns, int(max_traversals), F)), axis=-1)
    if F > 1:
        for t in range(1, int(max_traversals)):  # loop over traversals only (<= 4)
            clash = perms[:, :, t, 0] == perms[:, :, t - 1, -1]
            e, k = np.nonzero(clash)
            j = rng.integers(1, F, size=e.size)
            first = perms[e, k, t, 0].copy()
            perms[e, k, t, 0] = perms[e, k, t, j]
            perms[e, k, t, j] = first
    return perms.reshape(n_episodes, n_columns, -1)


def ideal_observer(world: GridObjectWorld, objects: np.ndarray, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sensations an ideal observer needs with the same touches (the intrinsic ambiguity).

    The observer knows every learned object exactly and senses the touched feature ids and
    the exact displacements.  A hypothesis is (object, grid cell of the first touch); it
    survives while every touch so far finds the sensed feature at the displaced cell.
    ``objects`` ``(E,)`` and ``orders`` int ``(E, T)`` (one column's touch sequence).

    Returns float ``(E,)`` arrays, ``inf`` where never reached within the ``T`` touches:
    the first sensation after which the surviving hypotheses name one object, and the
    first after which one (object, location) hypothesis survives -- the network's
    recognition criterion (sensory-driven cells on the touched feature of that object only).
    """
    objects = np.asarray(objects, dtype=np.int64)
    orders = np.asarray(orders, dtype=np.int64)
    if orders.ndim != 2 or orders.shape[0] != objects.size:
        raise ValueError(f"orders must have shape ({objects.size}, steps), got {orders.shape}")
    n_obj, n_feat = world.features.shape
    w = world.grid_width
    gx, gy = world.grid_cells % w, world.grid_cells // w
    # feature id on every cell of a grid padded by w on each side (-1 = empty)
    grid = np.full((n_obj, 3 * w, 3 * w), -1, dtype=np.int64)
    grid[np.arange(n_obj)[:, None], gy + w, gx + w] = world.features
    n_ep, steps = orders.shape
    alive = np.ones((n_ep, n_obj, n_feat), dtype=bool)
    by_object = np.full(n_ep, np.inf)
    by_location = np.full(n_ep, np.inf)
    x0, y0 = gx[objects, orders[:, 0]], gy[objects, orders[:, 0]]
    hyp_obj = np.arange(n_obj)[None, :, None]
    for t in range(steps):  # loop over touches only (<= 40)
        idx = orders[:, t]
        dx = (gx[objects, idx] - x0)[:, None, None]
        dy = (gy[objects, idx] - y0)[:, None, None]
        seen = grid[hyp_obj, gy[None] + dy + w, gx[None] + dx + w]  # (E, objects, first-touch cells)
        alive &= seen == world.features[objects, idx][:, None, None]
        n_objects = alive.any(axis=2).sum(axis=1)
        n_hypotheses = alive.sum(axis=(1, 2))
        by_object[(n_objects == 1) & np.isinf(by_object)] = t + 1
        by_location[(n_hypotheses == 1) & np.isinf(by_location)] = t + 1
    return by_object, by_location


# ------------------------------------------------------------------------ conveniences
def make_location_network(
    *,
    columns: int = 1,
    modules: int = 10,
    cells_per_axis: int = 10,
    scale: float = 40.0,
    minicolumns: int = 150,
    cells_per_minicolumn: int = 16,
    basal_threshold: int | None = None,
    anchoring_threshold: int = 8,
    anchor_sample_size: int = 10,
    l6: L6Params | None = None,
    l4: L4Params | None = None,
    adjacency: np.ndarray | None = None,
    vote_threshold: int = 5,
    seed: int = 0,
) -> LocationNetwork:
    """A :class:`LocationNetwork` with the 2019 parameters (overridable).

    L4: ``minicolumns x cells_per_minicolumn``, basal threshold ``ceil(0.8 * modules)``
    (``basal_threshold``), sample size and min threshold = ``modules``, permanence 1.0 (so a
    learned segment is connected at once).  L6: ``modules`` modules of ``cells_per_axis**2``
    cells, scale ``scale``, the default orientations and bump width.
    """
    rng = np.random.default_rng(seed)
    if l6 is None:
        l6 = L6Params(modules=modules, cells_per_axis=cells_per_axis, scales=scale,
                      anchoring_threshold=anchoring_threshold, anchor_sample_size=anchor_sample_size)
    if l4 is None:
        thr = L6Params.l4_basal_threshold(l6.modules) if basal_threshold is None else int(basal_threshold)
        l4 = L4Params(
            minicolumns=minicolumns, cells_per_minicolumn=cells_per_minicolumn, basal_threshold=thr,
            min_threshold=l6.modules, apical_threshold=thr, reduced_basal_threshold=thr,
            sample_size=l6.modules, initial_permanence=1.0, connected_permanence=0.5,
        )
    seeds = rng.integers(0, 2**63 - 1, size=3)
    l4_layer = L4Layer(columns, l6.cells_per_column, 0, l4, np.random.default_rng(seeds[0]))
    l6_layer = L6Layer(columns, l4_layer.cells_per_column, l6, np.random.default_rng(seeds[1]))
    return LocationNetwork(l4_layer, l6_layer, adjacency=adjacency, vote_threshold=vote_threshold,
                           rng=np.random.default_rng(seeds[2]))


def run_locations(
    n_objects: int,
    *,
    n_features: int = 100,
    features_per_object: int = 10,
    max_traversals: int = 4,
    seed: int = 0,
    network: Callable[[int], LocationNetwork] | None = None,
    world_kwargs: dict[str, Any] | None = None,
    ideal: bool = False,
    **network_kwargs: Any,
) -> dict[str, Any]:
    """Learn ``n_objects`` fresh grid objects and recognise them all; metrics and wall times.

    ``network(seed)`` builds the network (default :func:`make_location_network` with
    ``network_kwargs``).  Returns accuracy, median/mean sensations, learn/infer seconds and
    the :class:`InferenceResult`; with ``ideal``, also what :func:`ideal_observer` makes of
    the same touches (``ideal_failures``: objects it cannot single out within them,
    ``ideal_median_sensations``, ``ideal_sensations``).
    """
    rng = np.random.default_rng(seed)
    world_seed, net_seed = (int(s) for s in rng.integers(0, 2**31 - 1, size=2))
    t0 = time.perf_counter()
    net = network(net_seed) if network is not None else make_location_network(seed=net_seed, **network_kwargs)
    world = GridObjectWorld(
        n_objects, n_features, features_per_object, feature_size=net.l4.params.minicolumns,
        seed=world_seed, **(world_kwargs or {}),
    )
    net.learn(world)
    t1 = time.perf_counter()
    # the same draw as ``infer`` makes itself; kept to give the ideal observer the same touches
    orders = touch_orders(net.rng, n_objects, net.n_columns, features_per_object, max_traversals)
    result = net.infer(orders, max_traversals=max_traversals)
    t2 = time.perf_counter()
    out = {
        "objects": int(n_objects),
        "accuracy": result.accuracy,
        "median_sensations": result.median_sensations,
        "mean_sensations": float(np.mean(result.sensations[result.recognised])) if result.recognised.any() else float("nan"),
        "wrong_locks": int(result.wrong_lock.sum()),
        "learned_batched": net.learned_batched,
        "learn_s": t1 - t0,
        "infer_s": t2 - t1,
        "total_s": t2 - t0,
        "result": result,
    }
    if ideal:
        by_object, by_location = ideal_observer(world, np.arange(n_objects), orders[:, 0, :])
        out["ideal_failures"] = int(np.isinf(by_location).sum())
        out["ideal_median_sensations"] = float(np.median(by_location[np.isfinite(by_location)]))
        out["ideal_sensations"] = by_location
    return out


def capacity_reference_search(
    *,
    initial_increment: int = 128,
    min_accuracy: float = 0.9,
    resolution: int = 1,
    seed: int = 0,
    **run_kwargs: Any,
) -> dict[str, Any]:
    """Capacity by the reference's search schedule (htmpapers ``capacity_simulation``).

    Probe ``initial_increment``, ``2 x``, ... objects until a probe fails; from then on the
    increment halves after every probe (integer division), stepping up from the last
    passing count, until it drops below ``resolution``.  A probe of ``n`` objects learns a
    fresh set of objects (:func:`run_locations`, seeded by ``seed`` and the count) and passes
    when fewer than ``n * (1 - min_accuracy)`` objects fail (the reference's strict rule: at
    140 objects and 90 %, at most 13 failures), or none does.  The schedule decides which
    counts get probed and so, with pass/fail noisy near the capacity, the distribution of
    the result; this one reproduces the published figures' protocol.  Returns ``capacity``
    (0 when the first probe fails) and ``probes`` ``[(objects, accuracy), ...]``.
    """
    if not 0 < min_accuracy <= 1:
        raise ValueError(f"min_accuracy must lie in (0, 1], got {min_accuracy}")
    if int(initial_increment) <= 0 or int(resolution) <= 0:
        raise ValueError("initial_increment and resolution must be positive integers")
    if int(resolution) > int(initial_increment):
        raise ValueError(f"resolution ({resolution}) must not exceed initial_increment ({initial_increment})")
    probes: list[tuple[int, float]] = []
    passed, increment, bounded = 0, int(initial_increment), False
    while True:
        n = passed + increment
        res = run_locations(n, seed=seed * 100003 + n, **run_kwargs)
        probes.append((n, res["accuracy"]))
        failures = int(round((1.0 - res["accuracy"]) * n))
        if failures == 0 or failures < round(n * (1.0 - min_accuracy), 9):
            passed = n
        else:
            bounded = True
        if bounded:
            increment //= 2
            if increment < int(resolution):
                break
    return {"capacity": passed, "probes": probes}


# ----------------------------------------------------------------- config: world + experiment
class GridWorldParams(Params):
    """``world.params`` of the ``grid_objects`` world (pool sizes come from ``experiment``)."""

    model_config = ConfigDict(extra="forbid")

    grid_width: PositiveInt = 4
    spacing: PositiveFloat = 20.0


@register_builder("grid_objects", "world", params=GridWorldParams)
def build_grid_world(spec: WorldSpec, *, config: Config, seed: int) -> GridObjectWorld:
    """The 2019 grid-object generator, sized by ``experiment`` and the first region's L4."""
    p = GridWorldParams.model_validate(spec.params)
    e = config.experiment
    l4 = config.regions[0].column.L4
    return GridObjectWorld(
        e.n_objects, e.n_features, e.features_per_object, grid_width=p.grid_width, spacing=p.spacing,
        feature_size=l4.minicolumns, feature_active=l4.active_minicolumns, seed=seed,
    )


class GridObjectsParams(Params):
    """``experiment.params`` of ``grid_objects``."""

    model_config = ConfigDict(extra="forbid")

    max_traversals: PositiveInt = 4
    min_accuracy: float = Field(0.9, gt=0.0, le=1.0)
    vote_threshold: PositiveInt = 5
    #: search the capacity after the run (:func:`capacity_reference_search`, the reference's
    #: schedule): first probe and step ``capacity_increment`` objects, then halving down to
    #: ``capacity_resolution`` objects
    capacity_search: bool = False
    capacity_increment: PositiveInt = 128
    capacity_resolution: PositiveInt = 1

    @field_validator("capacity_resolution")
    @classmethod
    def _resolution_within_increment(cls, value: int, info: ValidationInfo) -> int:
        increment = info.data.get("capacity_increment")
        if increment is not None and value > increment:
            raise ValueError(f"must not exceed capacity_increment ({increment}), got {value}")
        return value


def network_from_config(config: Config, seed: int, lateral: Any = None) -> LocationNetwork:
    """A :class:`LocationNetwork` from the first region's L4 and L6 parameters."""
    import networkx as nx

    spec = config.regions[0]
    c6 = spec.column.L6
    l6 = L6Params(
        modules=c6.modules, cells_per_axis=c6.cells_per_axis,
        scales=tuple(c6.scales) if c6.scales is not None else c6.scale,
        orientations=tuple(np.radians(c6.orientations_deg)) if c6.orientations_deg is not None else None,
        bump_sigma=c6.bump_sigma, anchoring_threshold=c6.anchoring_threshold,
        anchor_sample_size=c6.anchor_sample_size,
        anchor_initial_permanence=c6.anchor_permanence.initial,
        anchor_connected_permanence=c6.anchor_permanence.connected,
        anchor_increment=c6.anchor_permanence.increment, anchor_decrement=c6.anchor_permanence.decrement,
    )
    l4 = l4_params(spec)
    adjacency = None
    if lateral is not None and spec.columns > 1:
        adjacency = nx.to_numpy_array(lateral, nodelist=range(spec.columns)) > 0
    p = GridObjectsParams.model_validate(config.experiment.params)
    return make_location_network(columns=spec.columns, l6=l6, l4=l4, adjacency=adjacency,
                                 vote_threshold=p.vote_threshold, seed=seed)


@register_builder("grid_objects", "experiment", params=GridObjectsParams, uses=Uses(
    layers=frozenset({"L6", "L4", "L23"}), required=frozenset({"L6", "L4"}), l6_kinds=frozenset({"grid_modules"}),
    worlds=frozenset({"grid_objects"}),
    keys=frozenset({"n_objects", "n_features", "features_per_object", "world", "region"})))
def run_grid_objects(config: Config, *, seed: int, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn and recognise grid objects (2019 protocol); optionally search the capacity."""
    from .builder import build

    p = GridObjectsParams.model_validate(config.experiment.params)
    if config.world.kind != "grid_objects":
        raise ValueError(f"experiment kind 'grid_objects' needs world.kind 'grid_objects', got {config.world.kind!r}")
    e = config.experiment
    spec = config.regions[0]
    if spec.column.L4.active_minicolumns < spec.column.L23.proximal.threshold:
        raise ValueError("regions[0].column.L4.active_minicolumns is below the vote threshold")
    net_cfg = build(config.with_values({"seed": int(seed) % (2**31)}))
    world: GridObjectWorld = net_cfg.world
    lateral = net_cfg.lateral[spec.name]
    bar = progress(total=2, desc="grid_objects")
    t0 = time.perf_counter()
    net = network_from_config(config, seed, lateral)
    net.learn(world)
    t1 = time.perf_counter()
    bar.update(1)
    result = net.infer(max_traversals=p.max_traversals, record=True)
    t2 = time.perf_counter()
    bar.update(1)
    bar.close()
    steps = e.features_per_object * p.max_traversals
    sens = result.sensations
    metrics: dict[str, Any] = {
        "columns": net.n_columns,
        "objects": int(e.n_objects),
        "feature_pool": int(e.n_features),
        "modules": net.l6.params.modules,
        "cells_per_axis": net.l6.params.cells_per_axis,
        "accuracy": result.accuracy,
        "median_sensations": result.median_sensations,
        "mean_sensations": float(np.mean(sens[np.isfinite(sens)])) if np.isfinite(sens).any() else None,
        "wrong_locks": int(result.wrong_lock.sum()),
        "learned_batched": net.learned_batched,
        "learn_time_s": t1 - t0,
        "infer_time_s": t2 - t1,
        "synapses": int(net.l4.basal.n_synapses + net.l6.anchor.n_synapses),
    }
    if p.capacity_search:
        cap = capacity_reference_search(
            initial_increment=p.capacity_increment, resolution=p.capacity_resolution,
            min_accuracy=p.min_accuracy, seed=seed, n_features=e.n_features,
            features_per_object=e.features_per_object, max_traversals=p.max_traversals,
            network=lambda s: network_from_config(config, s, lateral),
            world_kwargs={"grid_width": world.grid_width, "spacing": world.spacing},
        )
        metrics["capacity"] = cap["capacity"]
        metrics["capacity_probes"] = [[n, acc] for n, acc in cap["probes"]]
    metrics["table"] = [
        {"sensations": k, "recognised_by": float(np.mean(sens <= k))} for k in range(1, min(steps, 12) + 1)
    ]
    metrics["series"] = {
        "recognised_vs_sensations": {
            "x": list(range(1, steps + 1)), "y": [float(np.mean(sens <= k)) for k in range(1, steps + 1)],
            "xlabel": "sensations", "ylabel": "fraction of objects recognised",
        },
    }
    return metrics
