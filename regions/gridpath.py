"""The grid-cell path of a :class:`~regions.region.Region` (Lewis et al. 2019): L6 grid modules -> L4 basal,
L4 -> L6 anchoring, learned one object at a time or many at once, inferred for many episodes at once.

A region whose columns list L6 with ``kind: grid_modules`` holds an :class:`~columns.layers.l6.L6Layer`
(``region.L6``) whose active cells are L4's basal input.  This module is that region's grid path;
:class:`~regions.region.Region` exposes it as methods (``learn_grid_sensation``, ``infer_grid_sensation``,
``learn_grid_objects``, ``infer_grid_episodes``):

* learning: each object starts at a random location (one bump per module); the sensor visits the
  object's features in order, path-integrating every movement; at each feature L4 learns the feature
  on basal segments onto the L6 learnable cells (the most excited cell of each module) and L6 grows
  anchor segments from those cells onto the L4 winner cells.  :func:`learn_objects` learns every
  object as one batch (each learning event touches only its own segments; it checks that no event
  would have been predicted by another and otherwise falls back to sensation-by-sensation learning
  through :meth:`Region.learn_grid_sensation`);
* inference: every touch moves (all bumps shift), senses (L4 predicted cells fire, else whole
  minicolumns burst) and anchors (L6 bumps reset to the cells whose anchor segments recognise the L4
  activity).  :func:`infer_episodes` runs many independent episodes (one per test object) as a batch
  axis of the region's layers: the learned synapses of every column are shared read-only, each
  episode's activity is one row.  Bumps sit on cell centres shifted by one movement since the last
  anchoring, so a module's activity is the FFT convolution of its bump map with ``log(1 - kernel)``,
  the kernel cached per movement; L4 basal overlaps and anchoring are products of the distinct learned
  synapse sets (CSR) with the dense activity; episodes stop as soon as they are recognised or lock onto
  another object's code.  :func:`infer_sequential` runs the same protocol episode by episode through
  :meth:`Region.infer_grid_sensation` (the layers' own ``compute``), the reference the tests compare with;
* recognised: the anchored ("sensory-driven") location cells are a non-empty subset of the cells
  learned for that object at the touched feature, in every column, and of no other object's;
  landing exactly on another object's learned location code is a failure.

With an object layer (``column.layers`` lists L23, and L1 for its feedback) the region's
:class:`~columns.layers.l23.L23Layer` learns each object's code (a random SDR per column, proximal
segments onto the object's L4 codes, distal segments onto its own and the neighbouring columns' codes)
and L4 winner cells learn apical segments onto it.  Every touch then settles L4 <-> L2/3 as
:meth:`Region.infer_sensation` does (L2/3 votes laterally and feeds L4's apical tie-break, until the
L2/3 state repeats or ``settle_max_iterations``), and L6 anchors to the settled L4 activity, so the
columns' votes narrow each other's location hypotheses.  In the batched path the L2/3 step runs on
every episode's row at once (:class:`_ObjectLayer`, identical to ``L23Layer.compute`` given each
episode its own generator for the random fill: tested against the layer itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import fft as scipy_fft
from scipy import sparse

from columns.gridcells import torus_distance
from columns.kernels import expand_ranges, group_ranks, setdiff_ints, union_ints, unique_counts, unique_ints
from columns.layers.l23 import admit_by_support
from columns.layers.l6 import L6Layer, SynapseSets, rows_to_csr

from .worlds.grid_objects import GridObjectWorld

if TYPE_CHECKING:  # pragma: no cover
    from .region import Region

__all__ = [
    "GridCodes",
    "InferenceResult",
    "episode_generators",
    "feature_minicolumns",
    "learn_objects",
    "learn_sequential",
    "infer_episodes",
    "infer_sequential",
    "nearest_cells",
]


@dataclass
class GridCodes:
    """What learning grid objects associated, per (object, feature, column).

    Attributes
    ----------
    location : int64 ``(n_objects, features_per_object, n_columns, modules)``: the L6 cell (flat index
        of the region's L6) learned in each module at each feature -- the object's location code.
    winners : int64 ``(n_objects, features_per_object, n_columns, active_minicolumns)``: the L4 winner
        cells (flat, sorted) learned for each feature at its location.
    batched : whether the objects were learned as one batch (else sensation by sensation).
    """

    location: np.ndarray
    winners: np.ndarray
    batched: bool = True

    def __post_init__(self) -> None:
        self.location = np.asarray(self.location, dtype=np.int64)
        self.winners = np.asarray(self.winners, dtype=np.int64)
        if self.location.ndim != 4 or self.winners.ndim != 4 or self.location.shape[:3] != self.winners.shape[:3]:
            raise ValueError(f"location codes {self.location.shape} and winner codes {self.winners.shape} must be "
                             "(objects, features, columns, ...) arrays of one shape")

    @property
    def n_objects(self) -> int:
        """Objects learned."""
        return int(self.location.shape[0])


@dataclass
class InferenceResult:
    """Outcome of touching every test object.

    Attributes
    ----------
    sensations : float ``(n_objects,)``: sensation at which the object was recognised
        (1-based), ``inf`` when it never was.
    recognised : bool ``(n_objects,)``.
    wrong_lock : bool ``(n_objects,)``: failed by landing on another object's location code.
    trace : per sensation (when recorded): list of dicts with the episodes still touching and, per
        episode, the number of anchored L6 cells, of active L2/3 cells and whether it was recognised.
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



# ------------------------------------------------------------------------------ learning
def feature_minicolumns(region: Region, world: GridObjectWorld, objects: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Flat active L4 minicolumns ``(..., n_columns, active)`` of feature ``index[..., k]`` of ``objects`` in column ``k``."""
    feats = world.features[objects[..., None], index]
    offsets = np.arange(region.n_columns)[:, None] * region.L4.params.minicolumns
    return world.feature_sdrs[feats] + offsets


def check_world(region: Region, world: GridObjectWorld) -> None:
    """``ValueError`` unless ``region`` has a grid path and ``world``'s feature SDRs fit its L4."""
    if getattr(region, "L6", None) is None:
        raise ValueError("this region has no grid-module L6 (list L6 with kind: grid_modules in column.layers)")
    if world.feature_size != region.L4.params.minicolumns:
        raise ValueError(
            f"world.feature_size ({world.feature_size}) must equal L4 minicolumns ({region.L4.params.minicolumns})"
        )


def _start_phases(region: Region, n_objects: int, phases: np.ndarray | None) -> np.ndarray:
    """Each object's start location, ``(n_objects, n_columns, modules, 2)`` phases (drawn from ``region.rng`` when None)."""
    shape = (int(n_objects), region.n_columns, region.L6.params.modules, 2)
    if phases is None:
        return region.rng.random(shape)
    phases = np.asarray(phases, dtype=np.float64)
    if phases.shape != shape:
        raise ValueError(f"initial_phases must have shape {shape}, got {phases.shape}")
    return phases


def learn_objects(region: Region, world: GridObjectWorld, *, initial_phases: np.ndarray | None = None) -> GridCodes:
    """Learn every object of ``world`` into ``region`` in one batch (one pass over each object's features).

    ``initial_phases`` ``(n_objects, n_columns, modules, 2)``: each object's random start location
    (drawn when None).  If a learning event would have been predicted by another object's segments
    (an L4 or anchor segment matching), the batch is discarded and the objects are learned sensation
    by sensation (:func:`learn_sequential`).  Returns the learned :class:`GridCodes`.
    """
    check_world(region, world)
    phases0 = _start_phases(region, world.n_objects, initial_phases)
    l4, l6 = region.L4, region.L6
    snapshot = (l4.basal.to_arrays(), l6.anchor.to_arrays())
    codes = _learn_batch(region, world, phases0)
    if codes is None:
        l4.basal = type(l4.basal).from_arrays(snapshot[0])
        l6.replace_anchor_store(type(l6.anchor).from_arrays(snapshot[1]))
        return learn_sequential(region, world, initial_phases=phases0)
    if region.L23 is not None:
        learn_object_layer(region, codes)
    return codes


def learn_object_layer(region: Region, codes: GridCodes, *, bulk: bool = True) -> np.ndarray:
    """Learn each object's L2/3 code as ``L23Layer.compute`` does, and L4's apical segments onto it.

    Object by object (the layer keeps one code per object while it learns): every feature's L4
    winner cells (``codes.winners``, all columns) are the feed-forward input and growth candidates,
    one sensation each; from the second feature on the distal segments learn the code of the
    object's own and neighbouring columns.  Then every learned winner cell grows one apical segment
    onto its object's code in its column (what ``L4Layer`` learns with L2/3 feedback).  Returns the
    codes, int ``(n_objects, n_columns * sdr_size)`` flat L2/3 cells.

    ``bulk`` (default): build the L2/3 stores of all objects at once (:func:`_bulk_object_layer`, the
    same segments, synapses and permanences the layer grows, tested) when the layer is empty, learns
    per sensation with the Hebbian rule; else, and with ``bulk=False``, through ``L23Layer.compute``.
    """
    l23 = region.L23
    assert l23 is not None
    n_obj, n_feat = codes.location.shape[:2]
    objects = _bulk_object_layer(region, codes) if bulk else None
    if objects is None:
        winners = codes.winners.reshape(n_obj, n_feat, -1)
        objects = np.zeros((n_obj, region.n_columns * l23.params.sdr_size), dtype=np.int64)
        for obj in range(n_obj):  # the layer learns one object at a time (its code is held across features)
            l23.reset()
            for i in range(n_feat):
                l23.begin_sensation()
                l23.compute(winners[obj, i], winners[obj, i], learn=True)
            objects[obj] = l23.active_cells
        l23.reset()
    if region.L4.apical is not None:
        # every (object, feature) winner cell grows one apical segment onto its object's code
        cells = codes.winners.reshape(-1)
        per_event = codes.winners.shape[-1]
        column = cells // region.L4.cells_per_column
        code = objects.reshape(n_obj, region.n_columns, -1)
        obj_of = np.repeat(np.arange(n_obj), n_feat * region.n_columns * per_event)
        candidates = code[obj_of, column]  # (cells, sdr_size), sorted flat L2/3 cells
        grow_apical(region, cells, (np.arange(cells.size + 1, dtype=np.int64) * candidates.shape[1],
                                    candidates.reshape(-1)))
    return objects


def _bulk_object_layer(region: Region, codes: GridCodes, objects: np.ndarray | None = None) -> np.ndarray | None:
    """All objects' L2/3 learning at once: what ``L23Layer.compute(learn=True)`` grows, object by object.

    Per object the layer draws a code (``sdr_size`` random cells per column) and holds it for every
    feature.  Proximal: one segment per (feature, code cell) sampling ``proximal_sample_size`` of the
    column's L4 winners at the initial permanence.  Distal: from the second feature on, one segment per
    (code cell, source column: its own and each neighbour) sampling ``distal_sample_size`` of the
    source's code, reinforced by every later feature (the code stays active) -- the permanence after
    ``features - 2`` Hebbian increments, in float32 as the store adds them.  ``objects`` (flat codes
    ``(n_objects, n_columns * sdr_size)``) replaces the drawn codes.  Returns the codes, or None when
    the layer is not empty or learns otherwise (``per_cell`` dendrites, a non-Hebbian rule).
    """
    from columns.dendrites import DendriteStore
    from columns.plasticity import HebbianRule

    l23 = region.L23
    p = l23.params
    if l23.proximal.n_segments or l23.distal.n_segments or p.proximal_dendrites != "per_sensation" \
            or not isinstance(l23.proximal_rule, HebbianRule) or not isinstance(l23.distal_rule, HebbianRule):
        return None
    rng = region.rng
    n_obj, n_feat, K, A = codes.winners.shape
    P, sdr = p.cells, p.sdr_size
    if objects is None:
        picks = _smallest_keys(rng.random((n_obj * K, P)), sdr)
        objects = np.sort((picks + (np.arange(n_obj * K) % K)[:, None] * P).reshape(n_obj, K * sdr), axis=1)
    code = np.asarray(objects, dtype=np.int64).reshape(n_obj, K, sdr)

    def sample(candidates: np.ndarray, take: int) -> np.ndarray:
        if take >= candidates.shape[1]:
            return candidates
        return np.take_along_axis(candidates, _smallest_keys(rng.random(candidates.shape), take), axis=1)

    # proximal: (object, feature, column, code cell) -> the column's winners of that feature
    prox_cell = np.broadcast_to(code[:, None], (n_obj, n_feat, K, sdr)).reshape(-1)
    prox_syn = sample(np.broadcast_to(codes.winners[:, :, :, None, :], (n_obj, n_feat, K, sdr, A)).reshape(-1, A),
                      p.proximal_sample_size)
    store = l23.proximal
    proximal = DendriteStore.from_synapses(
        store.n_cells, store.n_presynaptic, float(store.connected_threshold), prox_cell,
        np.repeat(np.arange(prox_cell.size), prox_syn.shape[1]), prox_syn.reshape(-1),
        np.full(prox_syn.size, p.proximal_initial_permanence, dtype=np.float32),
        max_segments_per_cell=store.max_segments_per_cell, max_synapses_per_segment=store.max_synapses_per_segment)
    # distal: (object, column k, source j listened to by k, code cell of k) -> sample of j's code
    k_of, j_of = np.nonzero(l23.sources)
    episode0 = int(np.asarray(l23.state_arrays()["L23.episode"])[0])
    if n_feat >= 2:
        dist_cell = code[:, k_of, :].reshape(-1)
        dist_syn = sample(np.repeat(code[:, j_of, :], sdr, axis=1).reshape(-1, sdr), p.distal_sample_size)
        permanence = np.float32(p.distal_initial_permanence)
        for _ in range(n_feat - 2):  # one Hebbian increment per later feature (<= features_per_object)
            permanence = np.clip(permanence + np.float32(p.distal_increment), 0.0, 1.0).astype(np.float32)
        seg_episode = np.repeat(episode0 + 1 + np.arange(n_obj), k_of.size * sdr)
    else:
        dist_cell = dist_syn = np.zeros((0, 1), dtype=np.int64)
        seg_episode, permanence = np.zeros(0, dtype=np.int64), np.float32(0)
    store = l23.distal
    distal = DendriteStore.from_synapses(
        store.n_cells, store.n_presynaptic, float(store.connected_threshold), np.asarray(dist_cell).reshape(-1),
        np.repeat(np.arange(np.size(dist_cell)), dist_syn.shape[1]), dist_syn.reshape(-1),
        np.full(dist_syn.size, permanence, dtype=np.float32),
        max_segments_per_cell=store.max_segments_per_cell, max_synapses_per_segment=store.max_synapses_per_segment)
    l23.proximal, l23.distal = proximal, distal
    l23.load_state_arrays({"L23.distal_segment_episode": seg_episode, "L23.episode": np.array([episode0 + n_obj])})
    l23.reset()
    return code.reshape(n_obj, K * sdr)


def _smallest_keys(keys: np.ndarray, take: int) -> np.ndarray:
    """Column indices of the ``take`` smallest keys of every row of ``keys`` ``(rows, n)``, in no set order.

    The set of the first ``take`` columns of ``argsort(keys, axis=1)`` (the same set for distinct keys, as
    random floats are) by a partition: linear in ``n`` instead of ``n log n``.  The callers keep sets
    (a code is sorted, a segment's synapses are stored by presynaptic cell), so the order is free.
    """
    if take >= keys.shape[1]:
        return np.broadcast_to(np.arange(keys.shape[1]), keys.shape)
    return np.argpartition(keys, take - 1, axis=1)[:, :take]


def connected_csr(store: Any) -> sparse.csr_array:
    """``store.connected_matrix()`` (0/1 int32 ``(n_presynaptic, segment slots)``) built in linear time.

    The same matrix, sorted indices included: scipy's COO -> CSR conversion groups the connected synapses
    by presynaptic cell and sorts each row's few segments, instead of one lexsort of every synapse.
    """
    syn = store.live_synapses()
    keep = syn.permanence >= store.connected_threshold
    pre, seg = syn.presynaptic[keep], syn.segment[keep]
    matrix = sparse.csr_array((np.ones(pre.size, dtype=np.int32), (pre, seg)),
                              shape=(store.n_presynaptic, store.n_segment_slots))
    matrix.sort_indices()
    return matrix


def grow_apical(region: Region, cells: np.ndarray, candidates: tuple[np.ndarray, np.ndarray]) -> None:
    """One new apical segment per L4 cell of ``cells``, sampling ``L4.sample_size`` of its candidates.

    ``candidates``: CSR pair ``(indptr, flat L2/3 cells)``, each cell's own list (its column's code).
    """
    l4 = region.L4
    p = l4.params
    l4.apical.timestep += 1
    segments = l4.apical.create_segments(np.asarray(cells, dtype=np.int64))
    l4.apical.grow_synapses(segments, candidates, p.sample_size, p.initial_permanence, region.rng)


def _learn_batch(region: Region, world: GridObjectWorld, phases0: np.ndarray) -> GridCodes | None:
    """One batch of learning events (``None`` when an event would have been predicted by another)."""
    l4, l6 = region.L4, region.L6
    p4, p6 = l4.params, l6.params
    n_obj, n_feat = world.features.shape
    K, M = region.n_columns, p6.modules
    n_ev = n_obj * n_feat  # event j = object * F + feature index; K columns each
    # bump phase at every feature: start + A (position - first position)
    rel = world.positions - world.positions[:, :1]
    shift = np.einsum("kmij,ofj->ofkmi", l6.modules.phase_matrices, rel)
    phases = np.mod(phases0[:, None] + shift, 1.0).reshape(n_ev * K, M, 2)
    cells = nearest_cells(phases, p6.cells_per_axis, l6.modules.lattice_angle)  # (n_ev*K, M)
    column = np.tile(np.arange(K), n_ev)
    learn_cells = cells + (np.arange(M) * l6.cells_per_module)[None, :] + (column * l6.cells_per_column)[:, None]
    mc = feature_minicolumns(region, world, np.arange(n_obj)[:, None], np.repeat(np.arange(n_feat)[None, :, None], K, axis=2))  # (O, F, K, A)
    n_act = mc.shape[-1]
    mc = mc.reshape(n_ev * K, n_act)
    rows_l6 = rows_to_csr(np.repeat(np.arange(n_ev * K), M), learn_cells.ravel(), n_ev * K, l6.n_cells)

    # --- would any event have been predicted by another event's (or an old) L4 segment?
    thr_b = min(p4.basal_threshold, p4.min_threshold)
    gram = sparse.csr_array(rows_l6.astype(np.int32) @ rows_l6.T.astype(np.int32))
    r = np.repeat(np.arange(gram.shape[0]), np.diff(gram.indptr))
    hit = (gram.data >= thr_b) & (gram.indices != r)
    if np.any(hit) and _share_minicolumn(mc, r[hit], gram.indices[hit]):
        return None
    if l4.basal.n_segments:
        old = sparse.csr_array(rows_l6.astype(np.int32) @ connected_csr(l4.basal))
        r = np.repeat(np.arange(old.shape[0]), np.diff(old.indptr))
        hit = old.data >= thr_b
        seg_mc = l4.basal.segment_cell[old.indices[hit]] // p4.cells_per_minicolumn
        if np.any((mc[r[hit]] == seg_mc[:, None]).any(axis=1)):
            return None

    # --- winner cells: least-used cell of each bursting minicolumn, random tie-break
    pair_mc = mc.ravel()
    winners = _least_used_cells(pair_mc, l4.basal.cell_segment_count, p4.cells_per_minicolumn, region.rng)
    win = winners.reshape(n_ev * K, n_act)
    rows_l4 = rows_to_csr(np.repeat(np.arange(n_ev * K), n_act), win.ravel(), n_ev * K, l4.n_cells)

    # --- would an anchor segment have matched (same learning cell, >= threshold same winners)?
    gram = sparse.csr_array(rows_l4.astype(np.int32) @ rows_l4.T.astype(np.int32))
    r = np.repeat(np.arange(gram.shape[0]), np.diff(gram.indptr))
    hit = (gram.data >= p6.anchoring_threshold) & (gram.indices != r)
    if np.any(hit) and np.any((learn_cells[r[hit]] == learn_cells[gram.indices[hit]]).any(axis=1)):
        return None
    if l6.anchor.n_segments:
        old = sparse.csr_array(rows_l4.astype(np.int32) @ connected_csr(l6.anchor))
        r = np.repeat(np.arange(old.shape[0]), np.diff(old.indptr))
        hit = old.data >= p6.anchoring_threshold
        owner = l6.anchor.segment_cell[old.indices[hit]]
        if np.any((learn_cells[r[hit]] == owner[:, None]).any(axis=1)):
            return None

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
    return GridCodes(learn_cells.reshape(n_obj, n_feat, K, M), win.reshape(n_obj, n_feat, K, n_act), batched=True)


def learn_sequential(region: Region, world: GridObjectWorld, *, initial_phases: np.ndarray | None = None) -> GridCodes:
    """Learn object by object, sensation by sensation, through :meth:`Region.learn_grid_sensation`.

    During learning the L4 basal input is the L6 learnable cells (the 2019 model grows L4 segments
    onto them).  Same result as :func:`learn_objects` up to random tie-breaks.
    """
    check_world(region, world)
    n_obj, n_feat = world.features.shape
    K, M = region.n_columns, region.L6.params.modules
    phases0 = _start_phases(region, n_obj, initial_phases)
    locs = np.zeros((n_obj, n_feat, K, M), dtype=np.int64)
    wins = np.zeros((n_obj, n_feat, K, world.feature_active), dtype=np.int64)
    index = np.arange(n_feat)
    for obj in range(n_obj):  # the reference path: one object, one sensation at a time
        region.reset()
        region.L6.modules.set_bumps(phases0[obj])
        for i in range(n_feat):
            move = world.positions[obj, i] - world.positions[obj, i - 1] if i else None
            mc = feature_minicolumns(region, world, np.array([obj]), np.full((1, K), index[i]))[0]
            cells, winners = region.learn_grid_sensation(mc.ravel(), move)
            locs[obj, i] = cells.reshape(K, M)
            wins[obj, i] = np.sort(winners).reshape(K, -1)
    return GridCodes(locs, wins, batched=False)


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

    def __init__(self, region: Region, world: GridObjectWorld, codes: GridCodes) -> None:
        l4, l6 = region.L4, region.L6
        self.l4, self.l6 = l4, l6
        p4 = l4.params
        # L4 basal: live segments grouped by minicolumn; their connected synapses segment-major
        seg_cell = l4.basal.segment_cell.astype(np.int64)
        live = np.flatnonzero(seg_cell >= 0)
        seg_mc = seg_cell[live] // p4.cells_per_minicolumn
        order = np.argsort(seg_mc, kind="stable")
        self.seg = live[order]
        self.seg_cell = seg_cell[self.seg]
        self.sets = SynapseSets(connected_csr(l4.basal))
        self.seg_set = self.sets.segment_set[self.seg]
        self.mc_ptr = np.zeros(l4.n_minicolumns + 1, dtype=np.int64)
        np.cumsum(np.bincount(seg_mc, minlength=l4.n_minicolumns), out=self.mc_ptr[1:])
        # learned codes
        if codes.location.shape[:2] != world.features.shape or codes.location.shape[2] != region.n_columns:
            raise ValueError(f"the learned codes {codes.location.shape[:3]} do not match the world's objects "
                             f"{world.features.shape} and the region's {region.n_columns} column(s)")
        locs = codes.location  # (O, F, K, M)
        self.n_obj, self.n_feat, self.K, self.M = locs.shape
        self.locs = locs
        n_rows = self.n_obj * self.n_feat * self.K
        self.loc_matrix = rows_to_csr(np.repeat(np.arange(n_rows), self.M), locs.ravel(), n_rows, l6.n_cells)
        weights = np.random.default_rng(12345).integers(1, 2**63 - 1, size=l6.n_cells, dtype=np.int64).astype(np.uint64)
        self.cell_hash = weights
        self.loc_hash = np.sort(weights[locs].sum(axis=-1, dtype=np.uint64).ravel())
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
        cpm = self.l4.params.cells_per_minicolumn
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
        p4 = self.l4.params
        count = counts[pair_row[seg_pair[ok]], sets[ok]]
        on[ok] = count >= p4.basal_threshold
        if apical is not None and p4.reduced_basal_threshold < p4.basal_threshold:
            # with apical support the reduced basal threshold suffices (L4Layer.compute, inference)
            weak = np.flatnonzero(ok)[count >= p4.reduced_basal_threshold]
            on[weak] |= apical[pair_row[seg_pair[weak]], self.seg_cell[segrow[weak]]]
        pred_pair, pred_cell = seg_pair[on], self.seg_cell[segrow[on]]
        if pred_cell.size:
            key = _sorted_unique(pred_pair * self.l4.n_cells + pred_cell)
            pred_pair, pred_cell = np.divmod(key, self.l4.n_cells)
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
        l6 = self.l6
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
    """All test episodes of one inference run, stepped together (one row of the region's layers each)."""

    def __init__(self, region: Region, readout: _Readout, world: GridObjectWorld, objects: np.ndarray,
                 orders: np.ndarray, record: bool, seed: int) -> None:
        self.region = region
        self.readout = readout
        self.world = world
        self.objects = objects
        self.orders = orders
        self.record = record
        # one generator per episode for L2/3's random fill (what that episode's own layer would draw)
        self.rngs = episode_generators(seed, objects.size) if region.L23 is not None else []

    def run(self) -> InferenceResult:
        region, rd, world = self.region, self.readout, self.world
        l6 = region.L6
        E, K, T = self.orders.shape
        bumps = _LatticeBumps(l6, E, rd.kernels)
        layer = _ObjectLayer(region) if region.L23 is not None else None
        NC = layer.n_cells if layer is not None else 0
        state = np.zeros(0, dtype=np.int64)  # L2/3 activity: sorted keys episode * NC + cell
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
            mc = feature_minicolumns(region, world, objs, idx).reshape(n, -1)  # (n, K*A)
            if layer is None:
                rows4, cells4 = rd.l4_active(np.arange(n), mc, dense, None)
            else:
                # settle L4 <-> L2/3 (apical feedback, lateral votes) as Region.infer_sensation does
                pos = np.full(E, -1, dtype=np.int64)
                pos[alive] = np.arange(n)
                e_of, cell_of = np.divmod(state, NC)
                local = pos[e_of] * NC + cell_of  # every stored episode is alive
                local, (rows4, cells4) = self._settle(layer, rd, local, mc, dense, alive)
                state = alive[local // NC] * NC + local % NC
            l4_act = np.zeros((n, region.L4.n_cells), dtype=bool)
            l4_act[rows4, cells4] = True
            rep = l6.anchored_cells_batch(l4_act)
            rep_rows = np.repeat(np.arange(n), np.diff(rep.indptr))
            bumps.anchor(alive, rep)
            ok, lock = rd.recognition(rep, objs, idx)
            if self.record:
                per = np.bincount(rep_rows, minlength=n)
                l23 = np.bincount(np.searchsorted(alive, state // NC), minlength=n) if layer is not None \
                    else np.zeros(n, np.int64)
                trace.append({"episodes": alive.copy(), "anchored_cells": per, "l23_active": l23,
                              "recognised": ok.copy()})
            sensations[alive[ok]] = t + 1
            wrong[alive[lock]] = True
            done = ok | lock
            if np.any(done):
                bumps.drop(alive[done])
                if layer is not None:
                    state = state[~_flags(alive[done], E)[state // NC]]
                alive = alive[~done]
        return InferenceResult(sensations, np.isfinite(sensations), wrong, trace)

    def _settle(self, layer: _ObjectLayer, rd: _Readout, state: np.ndarray, mc: np.ndarray, dense: np.ndarray,
                alive: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """One touch of every row: L4 (apical from L2/3) -> L2/3 until the L2/3 state repeats or the limit.

        ``state``: sorted keys ``row * n_cells + cell`` of the rows' L2/3 activity before the touch.
        Returns the settled L2/3 keys and the L4 active (row, cell) pairs of each row's last iteration,
        the ones ``Region.infer_sensation`` leaves in ``L4.active_cells``.
        """
        region = self.region
        NC, n = layer.n_cells, mc.shape[0]
        limit = region.settle_max_iterations
        history = [_state_hash(state, n, NC)]
        settling = np.arange(n)
        out_rows: list[np.ndarray] = []
        out_cells: list[np.ndarray] = []
        it = 0
        while settling.size:
            it += 1
            s = settling.size
            where = np.full(n, -1, dtype=np.int64)
            where[settling] = np.arange(s)
            rows, cells = np.divmod(state, NC)
            mine = where[rows] >= 0
            sub_prev = where[rows[mine]] * NC + cells[mine]
            apical = layer.apical_cells(region, sub_prev, s) if region.apical_feedback else None
            r4, c4 = rd.l4_active(np.arange(s), mc[settling], dense[settling], apical)
            new = layer.step(r4, c4, sub_prev, s, region.L4.n_cells, self.rngs, alive[settling])
            h = _state_hash(new, s, NC)
            repeated = np.zeros(s, dtype=bool)
            for old in history:  # iterations of this touch (<= settle_max_iterations)
                repeated |= old[settling] == h
            finished = repeated | (it >= limit)
            nr, nc = np.divmod(new, NC)
            state = np.sort(np.concatenate([state[~mine], settling[nr] * NC + nc]))
            step_hash = history[0].copy()
            step_hash[settling] = h
            history.append(step_hash)
            fin = _flags(np.flatnonzero(finished), s)
            out_rows.append(settling[r4[fin[r4]]])
            out_cells.append(c4[fin[r4]])
            settling = settling[~finished]
        return state, (np.concatenate(out_rows), np.concatenate(out_cells))


class _ObjectLayer:
    """The region's L2/3 (:class:`~columns.layers.l23.L23Layer`) for many episodes at once, read-only.

    Row ``r`` is one episode; its L2/3 activity is a set of flat L2/3 cells of the region.  One
    :meth:`step` is ``L23Layer.compute(feedforward, learn=False)`` of every row: proximal segments
    with ``proximal_threshold`` connected synapses onto the row's active L4 cells make the
    feed-forward cells; distal support (most sources voting within one learning episode of a cell)
    comes from the row's previous activity; then the same admission by tiers of support, inertia
    and random fill.  The random fill of episode ``e`` draws from its own generator
    ``rngs[e]`` exactly as ``L23Layer`` would (one ``random(m)`` call per fill that needs a draw), so
    an episode run through the layer itself with that generator gives the same cells.
    """

    def __init__(self, region: Region) -> None:
        l23 = region.L23
        assert l23 is not None
        self.l23 = l23
        self.p = l23.params
        self.K, self.P = l23.n_columns, l23.params.cells
        self.n_cells = l23.n_cells
        # proximal segments grouped by identical connected sets (a sensation's segments on all the
        # object's code cells sample the same L4 winners)
        self.prox_sets = SynapseSets(connected_csr(l23.proximal))
        self.prox_cell = l23.proximal.segment_cell.astype(np.int64)
        self.dist = connected_csr(l23.distal)  # (K * P, segments) int32
        # L4's connected apical synapses (K * P, L4 apical segments), read as this run's stores are: a
        # store grown in place after an earlier run is read afresh (a cache kept across runs went stale)
        self.apical = connected_csr(region.L4.apical) if region.L4.apical is not None else None
        self.dist_cell = l23.distal.segment_cell.astype(np.int64)
        episode = np.asarray(l23.state_arrays()["L23.distal_segment_episode"], dtype=np.int64)
        self.dist_episode = np.zeros(self.dist_cell.size, dtype=np.int64)
        self.dist_episode[: min(episode.size, self.dist_cell.size)] = episode[: self.dist_cell.size]
        self.span = int(self.dist_episode.max(initial=0)) + 1

    def _thresholded(self, rows: np.ndarray, cells: np.ndarray, n: int, size: int, matrix: sparse.csr_array,
                     threshold: int) -> tuple[np.ndarray, np.ndarray]:
        """(row, segment) pairs with at least ``threshold`` connected synapses onto the rows' active cells."""
        if rows.size == 0 or matrix.shape[1] == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        act = rows_to_csr(rows, cells, n, size).astype(np.int32)
        counts = sparse.csr_array(act @ matrix)
        r = np.repeat(np.arange(n), np.diff(counts.indptr))
        on = counts.data >= threshold
        return r[on], counts.indices[on].astype(np.int64)

    def step(self, l4_rows: np.ndarray, l4_cells: np.ndarray, prev: np.ndarray, n: int, l4_size: int,
             rngs: list[np.random.Generator], episodes: np.ndarray) -> np.ndarray:
        """New activity of ``n`` rows: sorted keys ``row * n_cells + cell``.

        ``l4_rows, l4_cells``: the rows' active L4 cells; ``prev``: their previous L2/3 activity
        (sorted keys); ``episodes``: the episode of each row (``rngs[episodes[r]]`` draws its fill).
        """
        p, P, NC = self.p, self.P, self.n_cells
        C = n * self.K
        act = np.zeros((n, l4_size), dtype=bool)
        act[l4_rows, l4_cells] = True
        r, hit = np.nonzero(self.prox_sets.overlaps(act) >= p.proximal_threshold)
        indptr, segments = self.prox_sets.set_segments
        seg = segments[expand_ranges(indptr[hit], indptr[hit + 1])]
        r = np.repeat(r, indptr[hit + 1] - indptr[hit])
        ff = unique_ints(r * NC + self.prox_cell[seg])
        # distal support per (row, cell): most active segments within one learning episode of the cell
        pr, pc = np.divmod(prev, NC)
        r, seg = self._thresholded(pr, pc, n, NC, self.dist, p.distal_threshold)
        groups, votes = unique_counts((r * NC + self.dist_cell[seg]) * self.span + self.dist_episode[seg])
        cell_key = groups // self.span
        new = np.r_[True, cell_key[1:] != cell_key[:-1]] if cell_key.size else np.zeros(0, dtype=bool)
        sup_keys = cell_key[new]
        sup_vals = np.maximum.reduceat(votes, np.flatnonzero(new)) if votes.size else votes

        def support(keys: np.ndarray) -> np.ndarray:
            if sup_keys.size == 0:
                return np.zeros(keys.size, dtype=np.int64)
            at = np.minimum(np.searchsorted(sup_keys, keys), sup_keys.size - 1)
            return np.where(sup_keys[at] == keys, sup_vals[at], 0)

        # 1-2. feed-forward cells by tiers of distal support, then inertia: the layer's own admission
        chosen, n_chosen = admit_by_support(ff, support, prev, C, p)
        # 3. still short: a share of the remaining feed-forward cells, at least the discrepancy
        discrepancy = np.maximum(p.sdr_size - n_chosen, 0)
        filling = discrepancy.reshape(n, self.K).any(axis=1)  # rows whose layer would fill
        if filling.any():
            rem = setdiff_ints(ff, chosen)
            rem = rem[filling[rem // NC]]
            rc = rem // P
            n_rem = np.bincount(rc, minlength=C)
            quota = np.minimum(np.maximum(n_rem * discrepancy // p.sdr_size, discrepancy), n_rem)
            keep = np.ones(rem.size, dtype=bool)
            # rows with a column that keeps fewer than it has draw one key per remaining cell
            draw = (quota < n_rem).reshape(n, self.K).any(axis=1)
            in_draw = draw[rem // NC]
            if in_draw.any():
                rows_drawn = np.flatnonzero(draw)
                sizes = np.bincount(rem[in_draw] // NC, minlength=n)[rows_drawn]
                # one generator per episode: the draws an episode's own layer would make
                keys = np.concatenate([rngs[e].random(m) for e, m in zip(episodes[rows_drawn], sizes)])
                sub_rc = rc[in_draw]
                order = np.argsort(sub_rc + keys)
                ranks = np.empty(sub_rc.size, dtype=np.int64)
                ranks[order] = group_ranks(sub_rc[order])
                keep[in_draw] = ranks < quota[sub_rc]
            chosen = union_ints(chosen, rem[keep])
        return chosen

    def apical_cells(self, region: Region, keys: np.ndarray, n: int) -> np.ndarray | None:
        """L4 cells with an active apical segment onto each row's L2/3 activity, bool ``(n, L4 cells)``."""
        l4 = region.L4
        if l4.apical is None or keys.size == 0:
            return None
        rows, cells = np.divmod(keys, self.n_cells)
        r, seg = self._thresholded(rows, cells, n, self.n_cells, self.apical, l4.params.apical_threshold)
        out = np.zeros((n, l4.n_cells), dtype=bool)
        out[r, l4.apical.segment_cell[seg]] = True
        return out


def _state_hash(keys: np.ndarray, n: int, n_cells: int) -> np.ndarray:
    """One uint64 per row of a set of (row * n_cells + cell) keys: a sum of fixed random cell weights."""
    weights = _cell_weights(n_cells)
    rows, cells = np.divmod(keys, n_cells)
    h = np.zeros(n, dtype=np.uint64)
    np.add.at(h, rows, weights[cells])
    return h


_WEIGHTS: dict[int, np.ndarray] = {}


def _cell_weights(n_cells: int) -> np.ndarray:
    if n_cells not in _WEIGHTS:
        _WEIGHTS[n_cells] = np.random.default_rng(0xC0FFEE).integers(
            1, 2**63 - 1, size=n_cells, dtype=np.int64).astype(np.uint64)
    return _WEIGHTS[n_cells]


# ------------------------------------------------------------------------------ inference
def check_orders(orders: np.ndarray, n_test: int, n_columns: int, n_feat: int) -> np.ndarray:
    """``orders`` as int64 ``(n_test, n_columns, steps)`` of feature indices in ``[0, n_feat)``, else ``ValueError``."""
    orders = np.asarray(orders)
    if orders.ndim != 3 or orders.shape[:2] != (n_test, n_columns):
        raise ValueError(f"orders must have shape ({n_test}, {n_columns}, steps), got {orders.shape}")
    if orders.size and (orders.dtype.kind not in "iu" or orders.min() < 0 or orders.max() >= n_feat):
        raise ValueError(f"orders must hold feature indices in [0, {n_feat})")
    return orders.astype(np.int64)


def _test_objects(codes: GridCodes, objects: np.ndarray | None) -> np.ndarray:
    objs = np.arange(codes.n_objects) if objects is None else np.asarray(objects, dtype=np.int64)
    if objs.size and (objs.min() < 0 or objs.max() >= codes.n_objects):
        raise ValueError(f"objects must be learned object ids in [0, {codes.n_objects})")
    return objs


def readout(region: Region, world: GridObjectWorld, codes: GridCodes) -> _Readout:
    """The read-only view of ``region``'s learned weights and ``codes`` (cached until a store is
    replaced or changes in place: its ``version``)."""
    key = (world, codes, region.L4.basal, region.L6.anchor)
    versions = (region.L4.basal.version, region.L6.anchor.version)  # a store changed in place
    cached = getattr(region, "_grid_readout", None)
    if cached is not None and all(a is b for a, b in zip(cached[0], key)) and cached[2] == versions:
        return cached[1]
    rd = _Readout(region, world, codes)
    region._grid_readout = (key, rd, versions)
    return rd


def episode_generators(seed: int, n_episodes: int) -> list[np.random.Generator]:
    """One generator per inference episode (``default_rng([seed, e])``): episode ``e``'s L2/3 random fill."""
    return [np.random.default_rng([int(seed), e]) for e in range(int(n_episodes))]


def infer_episodes(
    region: Region,
    world: GridObjectWorld,
    codes: GridCodes,
    orders: np.ndarray,
    *,
    objects: np.ndarray | None = None,
    record: bool = False,
    seed: int = 0,
) -> InferenceResult:
    """Touch every test object, all episodes at once (one row of the region's layers per episode).

    ``orders``: int ``(n_test, n_columns, steps)`` touch sequences (feature indices); ``objects``:
    learned object ids to test (default all).  With an object layer every touch settles L4 <-> L2/3;
    episode ``e``'s L2/3 random fill draws from ``default_rng([seed, e])``.  The region's own activity
    is left untouched.
    """
    check_world(region, world)
    objs = _test_objects(codes, objects)
    orders = check_orders(orders, objs.size, region.n_columns, world.features_per_object)
    rd = readout(region, world, codes)
    return _BatchInference(region, rd, world, objs, orders, record, int(seed)).run()


def infer_sequential(region: Region, world: GridObjectWorld, codes: GridCodes, orders: np.ndarray, *,
                     objects: np.ndarray | None = None, seed: int = 0) -> InferenceResult:
    """The same protocol episode by episode through :meth:`Region.infer_grid_sensation` (the layers' own
    ``compute``; with an object layer, ``Region.infer_sensation`` settles L4 <-> L2/3).

    The reference :func:`infer_episodes` is tested against: episode ``e``'s L2/3 draws from
    ``default_rng([seed, e])`` as there.  Leaves the region's activity at the last episode's last touch.
    """
    check_world(region, world)
    objs = _test_objects(codes, objects)
    orders = check_orders(orders, objs.size, region.n_columns, world.features_per_object)
    rd = readout(region, world, codes)
    l6 = region.L6
    sensations = np.full(objs.size, np.inf)
    wrong = np.zeros(objs.size, dtype=bool)
    own_rng = region.L23.rng if region.L23 is not None else None
    rngs = episode_generators(seed, objs.size) if region.L23 is not None else []
    for e, obj in enumerate(objs):  # the reference path: one episode at a time
        region.reset()
        if region.L23 is not None:
            region.L23.rng = rngs[e]
        for t in range(orders.shape[2]):
            idx = orders[e, :, t]
            move = world.positions[obj, idx] - world.positions[obj, orders[e, :, t - 1]] if t else None
            mc = feature_minicolumns(region, world, np.array([obj]), idx[None, :])[0]
            rep = region.infer_grid_sensation(mc.ravel(), move).astype(np.int64)
            rep_csr = rows_to_csr(np.zeros(rep.size, dtype=np.int64), rep, 1, l6.n_cells)
            ok, lock = rd.recognition(rep_csr, np.array([obj]), idx[None, :])
            if ok[0]:
                sensations[e] = t + 1
                break
            if lock[0]:
                wrong[e] = True
                break
    if region.L23 is not None:
        region.L23.rng = own_rng
    return InferenceResult(sensations, np.isfinite(sensations), wrong)
