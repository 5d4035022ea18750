"""L6a location layer: grid-cell modules anchored to L4 sensations (Lewis et al. 2019).

Batched over all columns of a region.  Each column owns ``modules`` grid-cell modules of
``cells_per_axis ** 2`` cells (a :class:`~columns.gridcells.GridModules` instance holds the
bumps of every module of every column); cell ``c`` of module ``m`` of column ``k`` has the flat
index ``k * cells_per_column + m * cells_per_module + c``.  Anchor segments on L6 cells sample
the L4 cells of the same column (one :class:`~columns.dendrites.DendriteStore`, presynaptic
cell ``j`` of column ``k`` = ``k * anchor_input_size + j``).

Algorithm (DESIGN.md section 8, "Grid-cell module, 2019 parameters"):

* movement: every bump of every module shifts by ``A d`` (path integration);
* activity: the cells whose excitation reaches the threshold are active; they are the L4
  basal (location) input;
* learning (one shot): the most excited cell of each module (the *learnable* cells) learns an
  anchor segment onto the L4 winner cells -- an active segment is reinforced, else the best
  matching one, else a new segment grows ``anchor_sample_size`` synapses at the initial
  permanence;
* inference (anchoring): anchor segments with at least ``anchoring_threshold`` connected
  synapses onto active L4 cells select cells, and the bumps of every module are reset to the
  centres of the selected cells (a module with none loses its bumps).  Several selected cells
  = a union of location hypotheses, narrowed by later sensations.

For many independent inference episodes at once (one row per episode, the learned weights
read-only) see :meth:`L6Layer.episode_modules` and :meth:`L6Layer.anchored_cells_batch`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..dendrites import DendriteStore
from ..gridcells import GridModules, default_orientations
from ..kernels import as_index_array, expand_ranges, group_ranks
from .l4 import column_candidates

__all__ = ["L6Layer", "L6Params", "SynapseSets", "rows_to_csr"]


@dataclass(frozen=True)
class L6Params:
    """Parameters of the L6a location layer (defaults: Lewis et al. 2019).

    ``scales`` is world units per grid period, one value or one per module; ``orientations``
    are radians, one per module (default ``(i + 0.5) * 60 / modules`` degrees); ``bump_sigma``
    is in periods (default ``0.18172 * 6 / cells_per_axis``).  Anchor segments grow
    ``anchor_sample_size`` synapses at ``anchor_initial_permanence`` and fire with
    ``anchoring_threshold`` connected active ones (also the learning match threshold).
    """

    modules: int = 10
    cells_per_axis: int = 10
    scales: float | tuple[float, ...] = 40.0
    orientations: tuple[float, ...] | None = None
    bump_sigma: float | None = None
    anchoring_threshold: int = 8
    anchor_sample_size: int = 10
    anchor_initial_permanence: float = 1.0
    anchor_connected_permanence: float = 0.5
    anchor_increment: float = 0.1
    anchor_decrement: float = 0.0
    max_segments_per_cell: int = 255

    def __post_init__(self) -> None:
        for name in ("modules", "cells_per_axis", "anchoring_threshold", "anchor_sample_size",
                     "max_segments_per_cell"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"L6 {name} must be a positive integer, got {value!r}")
        if self.anchor_sample_size > 255:
            raise ValueError(f"L6 anchor_sample_size must be <= 255, got {self.anchor_sample_size}")
        if self.anchoring_threshold > self.anchor_sample_size:
            raise ValueError(
                f"L6 anchoring_threshold ({self.anchoring_threshold}) can never be reached: a segment "
                f"grows at most anchor_sample_size = {self.anchor_sample_size} synapses"
            )
        for name in ("anchor_initial_permanence", "anchor_connected_permanence", "anchor_increment",
                     "anchor_decrement"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"L6 {name} must lie in [0, 1], got {value}")
        if self.orientations is not None and len(self.orientations) != self.modules:
            raise ValueError(
                f"L6 orientations must list one angle per module ({self.modules}), got {len(self.orientations)}"
            )
        if not np.isscalar(self.scales) and len(self.scales) != self.modules:  # type: ignore[arg-type]
            raise ValueError(
                f"L6 scales must be one number or one per module ({self.modules}), got {self.scales!r}"
            )

    @property
    def cells_per_column(self) -> int:
        """``modules * cells_per_axis ** 2``."""
        return self.modules * self.cells_per_axis**2

    @staticmethod
    def l4_basal_threshold(modules: int, fraction: float = 0.8) -> int:
        """The 2019 L4 threshold onto grid cells: ``ceil(fraction * modules)`` (0.8 by default)."""
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
        return max(1, math.ceil(float(fraction) * int(modules) - 1e-9))


class L6Layer:
    """The location layer of every column: grid-cell modules plus anchor segments onto L4.

    Parameters
    ----------
    n_columns : columns in the region.
    anchor_input_size : L4 cells per column (the anchor segments' presynaptic space).
    params : :class:`L6Params`.
    rng : random generator (random locations, synapse sampling).

    Attributes
    ----------
    modules : :class:`~columns.gridcells.GridModules` with ``n_columns`` columns.
    anchor : :class:`~columns.dendrites.DendriteStore` of anchor segments (L6 cells -> L4 cells).
    active_cells : sorted flat indices of the active grid cells (the L4 basal input).
    sensory_cells : cells associated with the last sensation: the learnable cells when
        learning, the anchored cells when inferring (the location code read out).
    """

    def __init__(
        self,
        n_columns: int,
        anchor_input_size: int,
        params: L6Params | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if isinstance(n_columns, bool) or int(n_columns) <= 0:
            raise ValueError(f"n_columns must be a positive integer, got {n_columns!r}")
        if isinstance(anchor_input_size, bool) or int(anchor_input_size) <= 0:
            raise ValueError(f"anchor_input_size must be a positive integer, got {anchor_input_size!r}")
        self.params = params or L6Params()
        p = self.params
        self.n_columns = int(n_columns)
        self.anchor_input_size = int(anchor_input_size)
        self.rng = rng if rng is not None else np.random.default_rng()
        orientations = default_orientations(p.modules) if p.orientations is None else np.asarray(p.orientations)
        self._orientations = np.asarray(orientations, dtype=np.float64)
        self._scales = np.broadcast_to(np.asarray(p.scales, dtype=np.float64), (p.modules,)).copy()
        self.modules = GridModules(
            self.n_columns, p.modules, p.cells_per_axis, scales=self._scales,
            orientations=self._orientations, bump_sigma=p.bump_sigma,
        )
        self.cells_per_module = self.modules.cells_per_module
        self.cells_per_column = self.modules.cells_per_column
        self.n_cells = self.modules.n_cells
        self.anchor = DendriteStore(
            self.n_cells, self.n_columns * self.anchor_input_size, p.anchor_connected_permanence,
            max_segments_per_cell=p.max_segments_per_cell, max_synapses_per_segment=p.anchor_sample_size,
        )
        self._anchor_matrix: sparse.csr_array | None = None
        self._anchor_sets: SynapseSets | None = None
        self.reset()

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Remove every bump and clear activity (learned anchors are kept)."""
        self.modules.clear()
        empty = np.zeros(0, dtype=np.int32)
        self.active_cells = empty
        self.sensory_cells = empty

    def activate_random_location(self, columns: np.ndarray | None = None) -> None:
        """One bump per module at a uniformly random phase (all columns, or ``columns``)."""
        self.modules.activate_random_location(self.rng, columns=columns)
        self._update_activity()

    def path_integrate(self, displacement: np.ndarray) -> None:
        """Shift every bump by the movement ``displacement`` (``(2,)`` or ``(n_columns, 2)``, world units)."""
        self.modules.path_integrate(displacement)
        self._update_activity()

    def learnable_cells(self) -> np.ndarray:
        """The most excited cell of every module holding a bump (sorted flat indices, int32)."""
        return self.modules.most_excited_cells(1).astype(np.int32)

    def _update_activity(self) -> None:
        self.active_cells = self.modules.cell_activity().astype(np.int32)

    # ---------------------------------------------------------------- compute
    def compute(self, l4_active_cells: np.ndarray, l4_winner_cells: np.ndarray, learn: bool) -> None:
        """One sensation: :meth:`learn` onto the L4 winner cells, or :meth:`anchor` to the L4 active cells."""
        if learn:
            self.learn(l4_winner_cells)
        else:
            self.anchor_to(l4_active_cells)

    def learn(self, l4_winner_cells: np.ndarray) -> None:
        """Associate the current location with the sensed L4 code (one shot).

        The learnable cell of every module of every column with L4 winners reinforces its
        active anchor segment, else its best matching one, else grows a new segment of
        ``anchor_sample_size`` synapses onto that column's L4 winner cells.
        """
        p = self.params
        winners = np.unique(as_index_array(l4_winner_cells, "l4_winner_cells", self.anchor.n_presynaptic))
        cells = self.learnable_cells().astype(np.int64)
        has_input = np.zeros(self.n_columns, dtype=bool)
        has_input[winners // self.anchor_input_size] = True
        cells = cells[has_input[cells // self.cells_per_column]]
        self.sensory_cells = cells.astype(np.int32)
        if cells.size == 0:
            return
        self.anchor.timestep += 1
        act = self.anchor.compute_activity(winners)
        seg_cell = self.anchor.segment_cell
        packed = act.packed
        active = np.flatnonzero(packed >= (p.anchoring_threshold << 8))
        active = active[np.isin(seg_cell[active], cells)]
        rest = np.setdiff1d(cells, seg_cell[active])
        matching = np.flatnonzero((packed & 0xFF) >= p.anchoring_threshold)
        matching = matching[np.isin(seg_cell[matching], rest)]
        # best matching segment per remaining cell (highest potential overlap)
        owner = seg_cell[matching]
        order = np.lexsort((matching, -(packed[matching] & 0xFF).astype(np.int64), owner))
        best = matching[order][group_ranks(owner[order]) == 0]
        new_cells = np.setdiff1d(rest, seg_cell[best])
        learning = np.union1d(active, best)
        if learning.size:
            self.anchor.adapt_segments(learning, winners, p.anchor_increment, p.anchor_decrement)
            learning = learning[self.anchor.segment_cell[learning] >= 0]
        potential = (packed[learning] & 0xFF).astype(np.int64)
        new_segments = self.anchor.create_segments(new_cells)
        keep = ~np.isin(learning, new_segments)  # creation may evict and reuse an id
        segments = np.concatenate([learning[keep], new_segments])
        quota = np.concatenate([p.anchor_sample_size - potential[keep], np.full(new_segments.size, p.anchor_sample_size)])
        columns = self.anchor.segment_cell[segments] // self.cells_per_column
        candidates = column_candidates(columns, winners, self.anchor_input_size, self.n_columns)
        self.anchor.grow_synapses(segments, candidates, quota, p.anchor_initial_permanence, self.rng)
        self._anchor_matrix = None
        self._anchor_sets = None

    def anchor_to(self, l4_active_cells: np.ndarray) -> np.ndarray:
        """Anchoring: reset the bumps to the cells whose anchor segments recognise the L4 activity.

        Columns without active L4 cells keep their bumps.  In the other columns every
        module's bumps are replaced by one bump at the centre of each selected cell (none
        selected: the module falls silent).  Returns the selected cells (flat, sorted int32),
        also stored as :attr:`sensory_cells`.
        """
        active = np.unique(as_index_array(l4_active_cells, "l4_active_cells", self.anchor.n_presynaptic))
        act = self.anchor.compute_activity(active)
        segments = act.active_segments(self.params.anchoring_threshold)
        cells = np.unique(self.anchor.segment_cell[segments]).astype(np.int64)
        columns = np.unique(active // self.anchor_input_size)
        if columns.size:
            self.modules.reset_to_cells(cells, columns=columns)
        self.sensory_cells = cells.astype(np.int32)
        self._update_activity()
        return self.sensory_cells

    # ------------------------------------------------------ batched episodes
    def episode_modules(self, n_episodes: int) -> GridModules:
        """Fresh (bump-less) grid modules for ``n_episodes`` independent episodes of every column.

        Column ``k`` of episode ``e`` is column ``e * n_columns + k`` of the returned
        :class:`GridModules` (same scales and orientations as this layer), so its flat cell
        index is ``e * cells_per_column * n_columns + (this layer's flat cell index)``: a row
        per episode of this layer's cell space.
        """
        if isinstance(n_episodes, bool) or int(n_episodes) <= 0:
            raise ValueError(f"n_episodes must be a positive integer, got {n_episodes!r}")
        n = int(n_episodes)
        return GridModules(
            n * self.n_columns, self.params.modules, self.params.cells_per_axis,
            scales=np.tile(self.modules.scales, (n, 1)),
            orientations=np.tile(self.modules.orientations, (n, 1)),
            bump_sigma=self.modules.bump_sigma, lattice_angle=self.modules.lattice_angle,
            activation_threshold=self.modules.activation_threshold,
        )

    def anchor_matrix(self) -> sparse.csr_array:
        """Connected anchor synapses, ``(n_columns * anchor_input_size, n_segment_slots)`` (cached)."""
        if self._anchor_matrix is None or self._anchor_matrix.shape[1] != self.anchor.n_segment_slots:
            self._anchor_matrix = self.anchor.connected_matrix()
        return self._anchor_matrix

    def anchored_cells_batch(self, l4_active: np.ndarray | sparse.csr_array) -> sparse.csr_array:
        """Anchoring for many episodes at once, the learned anchors read-only.

        ``l4_active``: 0/1 ``(n_episodes, n_columns * anchor_input_size)`` active L4 cells, one
        row per episode (dense bool or sparse).  Returns the selected L6 cells, 0/1
        ``csr_array`` of shape ``(n_episodes, n_cells)`` (sorted indices): the overlaps with the
        distinct connected anchor sets (:meth:`SynapseSets.overlaps`), thresholded at
        ``anchoring_threshold``.
        """
        if l4_active.shape[1] != self.anchor.n_presynaptic:
            raise ValueError(
                f"l4_active must have {self.anchor.n_presynaptic} columns, got shape {l4_active.shape}"
            )
        sets = self.anchor_sets()
        rows, hit_sets = np.nonzero(sets.overlaps(l4_active) >= self.params.anchoring_threshold)
        indptr, segments = sets.set_segments
        seg = segments[expand_ranges(indptr[hit_sets], indptr[hit_sets + 1])]
        rows = np.repeat(rows, indptr[hit_sets + 1] - indptr[hit_sets])
        cells = self.anchor.segment_cell[seg].astype(np.int64)
        return rows_to_csr(rows, cells, l4_active.shape[0], self.n_cells)

    def anchor_sets(self) -> SynapseSets:
        """The anchor segments grouped by identical connected synapse sets (cached with the matrix)."""
        if self._anchor_sets is None or self._anchor_matrix is None or \
                self._anchor_matrix.shape[1] != self.anchor.n_segment_slots:
            self._anchor_sets = SynapseSets(self.anchor_matrix())
        return self._anchor_sets

    def replace_anchor_store(self, store: DendriteStore) -> None:
        """Install another anchor store (same shape), e.g. a restored snapshot."""
        if (store.n_cells, store.n_presynaptic) != (self.anchor.n_cells, self.anchor.n_presynaptic):
            raise ValueError(
                f"store has shape {(store.n_cells, store.n_presynaptic)}, expected "
                f"{(self.anchor.n_cells, self.anchor.n_presynaptic)}"
            )
        self.anchor = store
        self._anchor_matrix = None
        self._anchor_sets = None

    def grow_anchor_segments(
        self, cells: np.ndarray, candidates: tuple[np.ndarray, np.ndarray]
    ) -> np.ndarray:
        """Bulk one-shot learning: one new anchor segment per entry of ``cells``.

        ``candidates`` is a CSR pair ``(indptr (len(cells)+1,), indices)`` of flat L4 cells
        (each segment's own list, same column as its cell); each segment grows
        ``anchor_sample_size`` of them at the initial permanence.  Used when independent
        sensations (different objects) are learned as one batch.  Returns the segment ids.
        """
        cells = as_index_array(cells, "cells", self.n_cells)
        indptr = np.asarray(candidates[0], dtype=np.int64)
        indices = as_index_array(candidates[1], "candidates", self.anchor.n_presynaptic)
        if indptr.size != cells.size + 1:
            raise ValueError(f"candidates: indptr has length {indptr.size}, expected {cells.size + 1}")
        seg_rows = np.repeat(np.arange(cells.size), np.diff(indptr))
        wrong = indices // self.anchor_input_size != cells[seg_rows] // self.cells_per_column
        if np.any(wrong):
            raise ValueError("candidates: an anchor segment may only sample L4 cells of its own column")
        self.anchor.timestep += 1
        segments = self.anchor.create_segments(cells)
        self.anchor.grow_synapses(
            segments, (indptr, indices), self.params.anchor_sample_size,
            self.params.anchor_initial_permanence, self.rng,
        )
        self._anchor_matrix = None
        self._anchor_sets = None
        return segments


class SynapseSets:
    """Segments grouped by identical connected presynaptic sets, for batched read-out.

    One-shot learning grows many segments onto the same cells (every L4 minicolumn of a
    sensation onto the same grid cells; every module's anchor segment onto the same L4 winner
    cells), so the overlap of such a group is computed once.  Built from a connected matrix
    ``(n_presynaptic, n_segments)`` (see ``DendriteStore.connected_matrix``); groups are exact
    (rows with equal hash are compared element by element).

    Attributes
    ----------
    matrix : 0/1 ``csr_array`` ``(n_presynaptic, n_sets)``: the distinct sets.
    segment_set : int64 ``(n_segments,)``: set of every segment (-1 for a segment without
        connected synapses).
    set_segments : ``(indptr, segments)``: the segments of every set (CSR).
    """

    def __init__(self, connected: sparse.csr_array) -> None:
        n_pre, n_seg = connected.shape
        by_seg = sparse.csr_array(connected.T)
        by_seg.sort_indices()
        lengths = np.diff(by_seg.indptr).astype(np.int64)
        weights = np.random.default_rng(0x5EED).integers(1, 2**62, size=n_pre, dtype=np.int64).astype(np.uint64)
        hashed = np.zeros(n_seg, dtype=np.uint64)
        rows = np.repeat(np.arange(n_seg), lengths)
        nonempty = np.flatnonzero(lengths > 0)
        if nonempty.size:
            hashed[nonempty] = np.add.reduceat(weights[by_seg.indices], by_seg.indptr[nonempty])
        hashed ^= lengths.astype(np.uint64) << np.uint64(48)
        # representative of each hash group = its lowest segment (sort-based grouping)
        h = hashed[nonempty]
        order = np.argsort(h, kind="stable")
        h_sorted = h[order]
        new_group = np.r_[True, h_sorted[1:] != h_sorted[:-1]] if h.size else np.zeros(0, dtype=bool)
        group_first = order[new_group]
        rep = np.empty(h.size, dtype=np.int64)
        rep[order] = nonempty[group_first][np.cumsum(new_group) - 1]
        # exact check: a segment equal in hash but not in content gets its own set
        same = lengths[nonempty] == lengths[rep]
        check = nonempty[same]
        a = expand_ranges(by_seg.indptr[check], by_seg.indptr[check + 1])
        b = expand_ranges(by_seg.indptr[rep[same]], by_seg.indptr[rep[same] + 1])
        diff = np.zeros(n_seg, dtype=bool)
        diff[rows[a][by_seg.indices[a] != by_seg.indices[b]]] = True
        diff[nonempty[~same]] = True
        rep[diff[nonempty]] = nonempty[diff[nonempty]]
        order = np.argsort(rep, kind="stable")
        rep_sorted = rep[order]
        new_rep = np.r_[True, rep_sorted[1:] != rep_sorted[:-1]] if rep.size else np.zeros(0, dtype=bool)
        reps = rep_sorted[new_rep]
        segment_rep = np.empty(rep.size, dtype=np.int64)
        segment_rep[order] = np.cumsum(new_rep) - 1
        self.segment_set = np.full(n_seg, -1, dtype=np.int64)
        self.segment_set[nonempty] = segment_rep
        self.n_sets = reps.size
        self.matrix = sparse.csr_array(sparse.csr_array(by_seg[reps]).T)
        self._by_set: sparse.csr_array | None = None
        order = np.argsort(self.segment_set[nonempty], kind="stable")
        seg_sorted = nonempty[order]
        indptr = np.zeros(self.n_sets + 1, dtype=np.int64)
        np.cumsum(np.bincount(segment_rep, minlength=self.n_sets), out=indptr[1:])
        self.set_segments = (indptr, seg_sorted)

    def overlaps(self, active: np.ndarray | sparse.csr_array) -> np.ndarray:
        """Connected overlap of every set with every row of ``active``, dense ``(rows, n_sets)``.

        ``active``: 0/1 ``(rows, n_presynaptic)``, a dense (bool) array or a sparse array.
        Computed as ``sets x presynaptic`` (CSR) times the dense transposed activity, whose
        cost is the synapse count times the rows (no sparse conversion of the activity).
        Integer dtype (int16 while every set has fewer than 2**15 synapses, else int32).
        """
        if sparse.issparse(active):
            active = active.toarray()
        active = np.asarray(active)
        if active.ndim != 2 or active.shape[1] != self.matrix.shape[0]:
            raise ValueError(f"active must have shape (rows, {self.matrix.shape[0]}), got {active.shape}")
        if self._by_set is None:
            sizes = np.diff(sparse.csc_array(self.matrix).indptr)
            dtype = np.int16 if sizes.max(initial=0) < 2**15 else np.int32
            self._by_set = sparse.csr_array(self.matrix.T, dtype=dtype)
        return np.ascontiguousarray((self._by_set @ active.T.astype(self._by_set.dtype)).T)


def rows_to_csr(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sparse.csr_array:
    """0/1 ``csr_array`` from (row, column) pairs (duplicates merged, indices sorted)."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if n_rows * n_cols <= 1 << 24 and rows.size * 8 > n_rows:
        mask = np.zeros(n_rows * n_cols, dtype=bool)
        mask[rows * n_cols + cols] = True
        r, c = np.divmod(np.flatnonzero(mask), n_cols)
    else:
        keys = np.sort(rows * n_cols + cols)
        if keys.size:
            keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
        r, c = np.divmod(keys, n_cols)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    return sparse.csr_array((np.ones(c.size, dtype=np.int8), c, indptr), shape=(n_rows, n_cols))
