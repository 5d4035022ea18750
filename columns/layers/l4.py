"""L4 input layer: sensation in the context of a location (apical tie-break pair memory).

Batched over all columns of a region.  Cell ``i`` of minicolumn ``m`` of column
``k`` has the flat index ``(k * minicolumns + m) * cells_per_minicolumn + i``;
minicolumn ``m`` of column ``k`` is ``k * minicolumns + m``; basal input bit ``b``
of column ``k`` is ``k * basal_size + b`` (likewise apical).

Algorithm (Hawkins, Ahmad & Cui 2017; DESIGN.md section 8):

* a cell with an active basal segment (location context) is *predicted*; where
  some cells of a minicolumn also have an active apical segment (feedback from
  L2/3 via L1), only those count (apical tie-break); with apical support a
  reduced basal threshold applies (inference only);
* active cells = predicted cells in active minicolumns; an active minicolumn
  without a predicted cell bursts (all its cells fire);
* learning: correctly predicted cells reinforce their active basal segments; a
  bursting minicolumn learns on its best matching segment or grows a new one on
  its least-used cell; segments grow up to ``sample_size`` synapses onto the
  active basal input; matching segments in inactive minicolumns are punished;
  winner cells learn apical segments onto the apical input.

No Python loop runs over columns, minicolumns, cells or segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dendrites import DendriteStore, SegmentActivity
from ..kernels import (as_index_array, expand_ranges, group_ranks, intersect_ints, isin_sorted, member_mask,
                       setdiff_ints, union_ints, unique_ints)
from ..plasticity import HebbianRule, PlasticityRule, get_rule

__all__ = ["L4Layer", "L4Params", "column_candidates"]


@dataclass(frozen=True)
class L4Params:
    """Parameters of the L4 layer (defaults: the 2017 columns paper)."""

    minicolumns: int = 150
    cells_per_minicolumn: int = 16
    basal_threshold: int = 13
    min_threshold: int = 13
    apical_threshold: int = 13
    reduced_basal_threshold: int = 7
    sample_size: int = 30
    initial_permanence: float = 0.51
    connected_permanence: float = 0.6
    permanence_increment: float = 0.1
    permanence_decrement: float = 0.02
    predicted_segment_decrement: float = 0.0
    max_segments_per_cell: int = 255
    max_synapses_per_segment: int = 255

    def __post_init__(self) -> None:
        for name in ("minicolumns", "cells_per_minicolumn", "basal_threshold", "min_threshold",
                     "apical_threshold", "reduced_basal_threshold", "sample_size"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"L4 {name} must be a positive integer, got {getattr(self, name)}")
        for name in ("initial_permanence", "connected_permanence", "permanence_increment",
                     "permanence_decrement", "predicted_segment_decrement"):
            v = float(getattr(self, name))
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"L4 {name} must lie in [0, 1], got {v}")


def column_candidates(
    segment_columns: np.ndarray, active_inputs: np.ndarray, input_size: int, n_columns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Growth candidates per segment: the active inputs of the segment's own column.

    Parameters
    ----------
    segment_columns : int ``(m,)``, the column of each learning segment.
    active_inputs : sorted int ``(k,)``, active presynaptic cells (flat, all columns).
    input_size : presynaptic cells per column.
    n_columns : number of columns.

    Returns
    -------
    ``(indptr (m+1,), indices)``: a CSR list of candidates per segment, as
    :meth:`DendriteStore.grow_synapses` takes it.
    """
    bounds = np.searchsorted(active_inputs, np.arange(n_columns + 1, dtype=np.int64) * input_size)
    starts = bounds[segment_columns]
    stops = bounds[segment_columns + 1]
    indptr = np.zeros(segment_columns.size + 1, dtype=np.int64)
    np.cumsum(stops - starts, out=indptr[1:])
    return indptr, active_inputs[expand_ranges(starts, stops)]


class L4Layer:
    """L4 of every column of a region: minicolumns of cells with basal and apical segments.

    Parameters
    ----------
    n_columns : columns in the region.
    basal_size : basal (location) input bits per column.
    apical_size : apical (L1 feedback) input bits per column; 0 disables apical dendrites.
    params : :class:`L4Params`.
    rng : random generator (winner-cell choice and synapse sampling).

    Attributes (flat cell / minicolumn indices, int32, sorted; set by :meth:`compute`)
    ----------
    active_cells, winner_cells, active_minicolumns, bursting_minicolumns.
    predicted_cells : cells with basal support after the apical tie-break.  In inference
        the apical dendrites of a column are computed only where feedback can change its
        active cells, so there the tie-break in inactive minicolumns is not applied.
    """

    def __init__(
        self,
        n_columns: int,
        basal_size: int,
        apical_size: int = 0,
        params: L4Params | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if int(n_columns) <= 0:
            raise ValueError(f"n_columns must be a positive integer, got {n_columns}")
        if int(basal_size) <= 0:
            raise ValueError(f"basal_size must be a positive integer, got {basal_size}")
        if int(apical_size) < 0:
            raise ValueError(f"apical_size must be >= 0, got {apical_size}")
        self.params = params or L4Params()
        p = self.params
        self.n_columns = int(n_columns)
        self.basal_size = int(basal_size)
        self.apical_size = int(apical_size)
        self.cells_per_column = p.minicolumns * p.cells_per_minicolumn
        self.n_cells = self.n_columns * self.cells_per_column
        self.n_minicolumns = self.n_columns * p.minicolumns
        self.rng = rng if rng is not None else np.random.default_rng()
        kw = dict(max_segments_per_cell=p.max_segments_per_cell, max_synapses_per_segment=p.max_synapses_per_segment)
        self.basal = DendriteStore(self.n_cells, self.n_columns * self.basal_size, p.connected_permanence, **kw)
        self.apical = (
            DendriteStore(self.n_cells, self.n_columns * self.apical_size, p.connected_permanence, **kw)
            if self.apical_size
            else None
        )
        # cells with an active basal segment, per threshold, of the last basal activity: the
        # same activity serves every settling iteration of a sensation (an unchanged location)
        self._basal_cells_cache: tuple[object, dict[int, np.ndarray]] = (None, {})
        self.set_plasticity("hebbian")
        self.reset()

    def set_plasticity(self, rule: str) -> None:
        """Select the permanence rule of the basal and apical stores by registered name.

        ``"hebbian"`` (default) uses this layer's increment/decrement; any other rule of
        :func:`columns.plasticity.get_rule` gets one fresh instance (default parameters) per
        store and sees the winner cells as the active owner cells.  Raises ``ValueError``
        for an unknown name (with a did-you-mean) or a rule that cannot serve L4.
        """
        p = self.params
        if get_rule(rule).name == "hebbian":
            self.basal_rule: PlasticityRule = HebbianRule(p.permanence_increment, p.permanence_decrement)
            self.apical_rule: PlasticityRule = HebbianRule(p.permanence_increment, p.permanence_decrement)
            return
        if p.predicted_segment_decrement > 0:
            raise ValueError(
                f"plasticity: rule {rule!r} cannot serve L4 with predicted_segment_decrement > 0 "
                "(punishing wrongly predicted segments is a Hebbian operation)"
            )
        self.basal_rule, self.apical_rule = get_rule(rule), get_rule(rule)

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Clear all activity (between objects); learned synapses are kept."""
        empty = np.zeros(0, dtype=np.int32)
        self.active_cells = empty
        self.winner_cells = empty
        self.predicted_cells = empty
        self.active_minicolumns = empty
        self.bursting_minicolumns = empty
        self.n_active_synapses = 0

    @property
    def novelty(self) -> np.ndarray:
        """Fraction of each column's active minicolumns that burst, float ``(n_columns,)``.

        A per-sensation surprise signal: 1 for a never-seen (feature, location), 0 when
        every active minicolumn was predicted.
        """
        k = self.params.minicolumns
        act = np.bincount(self.active_minicolumns // k, minlength=self.n_columns)
        burst = np.bincount(self.bursting_minicolumns // k, minlength=self.n_columns)
        return np.divide(burst, act, out=np.zeros(self.n_columns), where=act > 0)

    def column_of_cells(self, cells: np.ndarray) -> np.ndarray:
        """Column of each flat cell index."""
        return np.asarray(cells) // self.cells_per_column

    # --------------------------------------------------------------- compute
    def compute(
        self,
        active_minicolumns: np.ndarray,
        basal_input: np.ndarray,
        apical_input: np.ndarray | None = None,
        learn: bool = True,
    ) -> None:
        """One sensation for every column.

        Parameters
        ----------
        active_minicolumns : flat minicolumn indices (``column * minicolumns + m``).
        basal_input : active basal input bits (``column * basal_size + b``).
        apical_input : active apical input bits (``column * apical_size + b``), or None.
        learn : grow and adapt synapses (one-shot learning of the pair).
        """
        p = self.params
        K = p.cells_per_minicolumn
        cols = unique_ints(as_index_array(active_minicolumns, "active_minicolumns", self.n_minicolumns))
        basal_in = unique_ints(as_index_array(basal_input, "basal_input", self.n_columns * self.basal_size))
        if apical_input is not None and self.apical is not None:
            apical_in = unique_ints(as_index_array(apical_input, "apical_input", self.n_columns * self.apical_size))
        else:
            apical_in = np.zeros(0, dtype=np.int64)
        self.basal.timestep += 1
        if self.apical is not None:
            self.apical.timestep += 1

        # ---- depolarisation
        b_act = self.basal.compute_activity(basal_in)
        b_packed = b_act.packed
        seg_cell_b = self.basal.segment_cell
        active_basal = np.flatnonzero(b_packed >= (p.basal_threshold << 8))
        matching_basal = np.flatnonzero((b_packed & 0xFF) >= p.min_threshold)
        n_syn = b_act.n_active_synapses
        if not learn and apical_in.size:
            apical_in = self._apical_where_it_decides(apical_in, cols, b_act)
        if self.apical is not None and apical_in.size:
            a_act = self.apical.compute_activity(apical_in)
            active_apical = np.flatnonzero(a_act.packed >= (p.apical_threshold << 8))
            matching_apical = np.flatnonzero((a_act.packed & 0xFF) >= p.min_threshold)
            a_packed = a_act.packed
            n_syn += a_act.n_active_synapses
        else:
            active_apical = matching_apical = np.zeros(0, dtype=np.int64)
            a_packed = None
        self.n_active_synapses = n_syn
        apical_cells = unique_ints(self.apical.segment_cell[active_apical]) if active_apical.size else active_apical
        basal_cells = self._basal_cells(b_act, p.basal_threshold)
        if not learn and apical_cells.size and p.reduced_basal_threshold < p.basal_threshold:
            reduced_cells = self._basal_cells(b_act, p.reduced_basal_threshold)
            basal_cells = union_ints(basal_cells, intersect_ints(reduced_cells, apical_cells))
        # apical tie-break: in a minicolumn where some cell has both, only those count
        both = intersect_ints(basal_cells, apical_cells)
        tie_mc = unique_ints(both // K)
        n_mc = self.n_minicolumns
        in_tie = member_mask(basal_cells // K, tie_mc, n_mc)
        predicted = union_ints(basal_cells[~in_tie], both)
        self.predicted_cells = predicted.astype(np.int32)

        # ---- activation
        active_mc = np.zeros(n_mc, dtype=bool)
        active_mc[cols] = True
        pred_in_active = predicted[active_mc[predicted // K]]
        predicted_mc = unique_ints(pred_in_active // K)
        bursting = setdiff_ints(cols, predicted_mc)
        burst_cells = (bursting[:, None] * K + np.arange(K)).reshape(-1)
        self.active_cells = union_ints(pred_in_active, burst_cells).astype(np.int32)
        self.active_minicolumns = cols.astype(np.int32)
        self.bursting_minicolumns = bursting.astype(np.int32)

        # ---- winner cells (and learning)
        correct_segments = active_basal[member_mask(seg_cell_b[active_basal], pred_in_active, self.n_cells)]
        # best matching segment per bursting minicolumn (highest potential overlap)
        m_cells = seg_cell_b[matching_basal]
        in_burst = member_mask(m_cells // K, bursting, n_mc)
        cand_segs = matching_basal[in_burst]
        cand_mc = m_cells[in_burst] // K
        order = np.lexsort((cand_segs, -(b_packed[cand_segs] & 0xFF).astype(np.int64), cand_mc))
        first = group_ranks(cand_mc[order]) == 0
        best_segments = cand_segs[order][first]
        burst_with_match = cand_mc[order][first]
        burst_new = setdiff_ints(bursting, burst_with_match)
        # least-used cell (fewest basal segments, random tie-break) in the other bursting minicolumns
        if burst_new.size:
            cells2d = burst_new[:, None] * K + np.arange(K)
            load = self.basal.cell_segment_count[cells2d] + self.rng.random(cells2d.shape)
            new_cells = cells2d[np.arange(burst_new.size), np.argmin(load, axis=1)]
        else:
            new_cells = np.zeros(0, dtype=np.int64)
        winners = union_ints(union_ints(pred_in_active, seg_cell_b[best_segments]), new_cells)
        self.winner_cells = winners.astype(np.int32)
        if not learn:
            return

        # ---- basal learning
        learning_segments = union_ints(correct_segments, best_segments)
        self._learn_store(self.basal, learning_segments, new_cells, basal_in, self.basal_size, b_packed)
        if p.predicted_segment_decrement > 0 and matching_basal.size:
            wrong = matching_basal[~active_mc[seg_cell_b[matching_basal] // K]]
            self.basal.punish_segments(wrong, basal_in, p.predicted_segment_decrement)

        # ---- apical learning on winner cells
        if self.apical is not None and apical_in.size:
            ap_cells = self.apical.segment_cell
            act_ap = active_apical[member_mask(ap_cells[active_apical], winners, self.n_cells)]
            have = unique_ints(ap_cells[act_ap])
            rest = setdiff_ints(winners, have)
            mat = matching_apical[member_mask(ap_cells[matching_apical], rest, self.n_cells)]
            mcell = ap_cells[mat]
            order = np.lexsort((mat, -(a_packed[mat] & 0xFF).astype(np.int64), mcell))
            first = group_ranks(mcell[order]) == 0
            best_ap = mat[order][first]
            new_ap_cells = setdiff_ints(rest, mcell[order][first])
            self._learn_store(self.apical, union_ints(act_ap, best_ap), new_ap_cells, apical_in,
                              self.apical_size, a_packed)

    def _basal_cells(self, basal_activity: SegmentActivity, threshold: int) -> np.ndarray:
        """Cells (sorted, read-only) with a basal segment of at least ``threshold`` connected
        active synapses, kept for the activity object: the basal store returns the same
        object while its input and synapses are unchanged (every settling iteration of a
        sensation), so each threshold is read once per sensation."""
        owner, by_threshold = self._basal_cells_cache
        if owner is not basal_activity:
            by_threshold = {}
            self._basal_cells_cache = (basal_activity, by_threshold)
        cells = by_threshold.get(threshold)
        if cells is None:
            segments = np.flatnonzero(basal_activity.packed >= (threshold << 8))
            cells = unique_ints(self.basal.segment_cell[segments])
            cells.setflags(write=False)
            by_threshold[threshold] = cells
        return cells

    def _apical_where_it_decides(self, apical_in: np.ndarray, cols: np.ndarray,
                                 basal_activity: SegmentActivity) -> np.ndarray:
        """The apical input of the columns where feedback can change which cells fire.

        In inference apical support decides only in an active minicolumn holding two or
        more cells with basal support at the reduced threshold (the tie-break), or one cell
        whose basal support reaches only the reduced threshold (fires with feedback, else
        the minicolumn bursts).  Elsewhere the active cells are the same with and without
        feedback, so the apical dendrites of columns without such a minicolumn are not
        computed: settling iterations whose only change is the feedback cost nothing here.
        """
        p = self.params
        K = p.cells_per_minicolumn
        low = min(p.reduced_basal_threshold, p.basal_threshold)
        weak = self._basal_cells(basal_activity, low)
        active_mc = np.zeros(self.n_minicolumns, dtype=bool)
        active_mc[cols] = True
        weak = weak[active_mc[weak // K]]
        if weak.size == 0:
            return apical_in[:0]
        strong = self._basal_cells(basal_activity, p.basal_threshold)
        mc = weak // K
        shared = np.r_[mc[1:] == mc[:-1], False] | np.r_[False, mc[1:] == mc[:-1]]  # weak is sorted
        deciding = mc[shared | ~isin_sorted(weak, strong)]
        if deciding.size == 0:
            return apical_in[:0]
        columns = np.zeros(self.n_columns, dtype=bool)
        columns[deciding // p.minicolumns] = True
        return apical_in[columns[apical_in // self.apical_size]]

    def _learn_store(
        self,
        store: DendriteStore,
        segments: np.ndarray,
        new_cells: np.ndarray,
        active_input: np.ndarray,
        input_size: int,
        packed: np.ndarray,
    ) -> None:
        """Reinforce ``segments``, top them up to ``sample_size`` and grow new segments on ``new_cells``."""
        p = self.params
        if segments.size:
            rule = self.basal_rule if store is self.basal else self.apical_rule
            rule.learn(store, segments, active_input, post_active=self.winner_cells, t=store.timestep)
            # a segment emptied by the decrement is destroyed: keep only live ones
            segments = segments[store.segment_cell[segments] >= 0]
        if new_cells.size and active_input.size:
            new_segments = store.create_segments(new_cells)
            # creation may evict (and reuse the id of) a least recently used segment
            segments = segments[(store.segment_cell[segments] >= 0)
                                & ~member_mask(segments, new_segments, store.n_segment_slots)]
            potential = np.concatenate(
                [(packed[segments] & 0xFF).astype(np.int64), np.zeros(new_segments.size, dtype=np.int64)]
            )
            segments = np.concatenate([segments, new_segments])
        else:
            potential = (packed[segments] & 0xFF).astype(np.int64)
        if segments.size == 0 or active_input.size == 0:
            return
        columns = store.segment_cell[segments] // self.cells_per_column
        candidates = column_candidates(columns, active_input, input_size, self.n_columns)
        store.grow_synapses(segments, candidates, p.sample_size - potential, p.initial_permanence, self.rng)
