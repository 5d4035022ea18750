"""Segment and synapse storage for all columns of a region, with event-driven activity.

One :class:`DendriteStore` holds one kind of dendrite (basal, apical, proximal,
distal ...) of one layer for *every* column of a region.  Owner cells and
presynaptic cells live in flat index spaces: cell ``c`` of column ``k`` in a
layer of ``n`` cells is ``k * n + c``.

Layout (structure of arrays)
----------------------------
* Segments: ``segment -> owner cell`` (int32), last-used step (int32), live
  synapse count (int32).  Destroyed segment ids go to a free list and are reused.
* Synapses live in *slots*.  Slots ``[0, n_main)`` are sorted by presynaptic
  cell, so the synapses of presynaptic cell ``p`` are the contiguous run
  ``pre_ptr[p]:pre_ptr[p+1]`` (a CSC index that costs no per-synapse memory).
  Newly grown synapses are appended to a small *pending* run ``[n_main,
  n_total)`` that carries its presynaptic cell explicitly; it is merged into
  the sorted run when it grows past a fraction of the store (amortised
  linear-time merge, as in a log-structured merge tree).
* A segment -> synapse index (``by_segment``: main slots sorted by segment)
  serves learning, which touches only the segments that learn.
* Removed synapses become tombstones (segment id -1) until the next merge.

Per synapse this costs 4 (segment) + 4 (permanence) + 4 (segment index) bytes,
plus per-segment and per-cell arrays; :attr:`DendriteStore.nbytes` reports all of it.

Cost model
----------
:meth:`DendriteStore.compute_activity` gathers only the synapses of the
active presynaptic cells (plus a scan of the small pending run) and
accumulates them per segment with ``np.bincount``: its cost follows the active
synapses, not the store size.  Learning methods touch only the given segments.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:  # scipy's compiled CSR row gather; the numpy path below is the fallback
    from scipy.sparse._sparsetools import csr_row_index as _csr_row_index
except ImportError:  # pragma: no cover - depends on scipy internals
    _csr_row_index = None
try:  # scipy's compiled CSR -> dense accumulation, used as a scatter-add (np.add.at is the fallback)
    from scipy.sparse._sparsetools import csr_todense as _csr_todense
except ImportError:  # pragma: no cover - depends on scipy internals
    _csr_todense = None

from .kernels import (as_index_array, expand_ranges, group_ranks, isin_sorted, radix_argsort_int32, sample_per_row,
                      unique_ints)

__all__ = ["DendriteStore", "SegmentActivity", "SynapseSlots"]

_DEAD = -1


class SegmentActivity:
    """Per-segment synapse counts for one presynaptic activity pattern.

    Both counts are packed in one uint16 per segment slot (connected synapses in
    the high byte, potential synapses in the low byte; a segment holds at most 255
    synapses), so the kernel makes a single scatter pass over the active synapses.

    The counts live in a buffer the store reuses: the next ``compute_activity`` on the
    same store overwrites them, and reading a superseded activity raises
    ``RuntimeError`` (keep one with :meth:`copy`).  Reusing the buffer keeps the cost
    of a call independent of how many segments the store holds.

    Attributes
    ----------
    packed : read-only uint16 ``(n_segment_slots,)``: ``connected << 8 | potential``.
    n_active_synapses : how many synapses were touched (the work done).
    """

    __slots__ = ("_packed", "n_active_synapses", "_store", "_generation")

    def __init__(self, packed: np.ndarray, n_active_synapses: int, store: "DendriteStore | None" = None,
                 generation: int = 0) -> None:
        self._packed = packed
        self.n_active_synapses = int(n_active_synapses)
        self._store = store
        self._generation = generation

    @property
    def packed(self) -> np.ndarray:
        """``connected << 8 | potential`` per segment slot (read-only view)."""
        if self._store is not None and self._store._generation != self._generation:
            raise RuntimeError(
                "this SegmentActivity was overwritten by a later compute_activity on the same store; "
                "call .copy() on it to keep it"
            )
        return self._packed

    def copy(self) -> "SegmentActivity":
        """A detached copy that later computations do not overwrite."""
        packed = self.packed.copy()
        packed.setflags(write=False)
        return SegmentActivity(packed, self.n_active_synapses)

    @property
    def connected(self) -> np.ndarray:
        """Connected synapses (permanence >= threshold) onto active cells, per segment (int32)."""
        return (self.packed >> 8).astype(np.int32)

    @property
    def potential(self) -> np.ndarray:
        """All synapses onto active cells, per segment (int32)."""
        return (self.packed & 0xFF).astype(np.int32)

    def active_segments(self, threshold: int) -> np.ndarray:
        """Segments with at least ``threshold`` (>= 1) connected active synapses (int32, sorted)."""
        return np.flatnonzero(self.packed >= (max(int(threshold), 1) << 8)).astype(np.int32)

    def matching_segments(self, threshold: int) -> np.ndarray:
        """Segments with at least ``threshold`` (>= 1) potential active synapses (int32, sorted)."""
        return np.flatnonzero((self.packed & 0xFF) >= max(int(threshold), 1)).astype(np.int32)


class SynapseSlots(NamedTuple):
    """A set of live synapses of a :class:`DendriteStore`, one entry per synapse.

    ``slots`` are the store's internal synapse positions (int64): valid handles for
    :meth:`DendriteStore.update_permanences` and :meth:`DendriteStore.remove_synapses`
    until the next structural change (growth, removal, :meth:`DendriteStore.compact`).
    ``segment`` (int32), ``presynaptic`` (int64) and ``permanence`` (float32) give each
    synapse's segment, presynaptic cell and permanence; all four have shape ``(k,)``.
    """

    slots: np.ndarray
    segment: np.ndarray
    presynaptic: np.ndarray
    permanence: np.ndarray


def _grow(arr: np.ndarray, needed: int, fill: float | int | None = None) -> np.ndarray:
    """Return ``arr`` with capacity at least ``needed`` (growth factor 1.5)."""
    if needed <= arr.size:
        return arr
    new = np.empty(max(needed, int(arr.size * 1.5) + 16), dtype=arr.dtype)
    new[: arr.size] = arr
    if fill is not None:
        new[arr.size :] = fill
    return new


_MERGE_COST_IN_SCANS = 16  # a merge costs ~16 pending-synapse scans per synapse (measured)


class DendriteStore:
    """Segments and synapses of one dendrite kind, batched over all columns of a region.

    Parameters
    ----------
    n_cells : number of owner (postsynaptic) cells, all columns together.
    n_presynaptic : size of the presynaptic index space, all columns together.
    connected_threshold : permanence at or above which a synapse is connected.
    max_segments_per_cell : creating a segment on a full cell first destroys that
        cell's least recently used segment.
    max_synapses_per_segment : growing past it first destroys the segment's
        weakest synapses.
    merge_fraction, min_merge : the pending run of new synapses is merged into the sorted
        run when it exceeds ``max(min_merge, merge_fraction * n_main)`` slots, or earlier, once
        past ``min_merge``, when scanning it has cost about as much as a merge.

    Examples
    --------
    >>> import numpy as np
    >>> store = DendriteStore(n_cells=4, n_presynaptic=10, connected_threshold=0.5)
    >>> seg = store.create_segments(np.array([2]))
    >>> store.grow_synapses(seg, np.array([1, 3, 5]), np.array([3]), 0.6, np.random.default_rng(0))
    3
    >>> act = store.compute_activity(np.array([1, 5, 9]))
    >>> int(act.connected[seg[0]]), int(act.potential[seg[0]])
    (2, 2)
    """

    def __init__(
        self,
        n_cells: int,
        n_presynaptic: int,
        connected_threshold: float,
        *,
        max_segments_per_cell: int = 255,
        max_synapses_per_segment: int = 255,
        merge_fraction: float = 1 / 4,
        min_merge: int = 1 << 15,
    ) -> None:
        if int(n_cells) <= 0:
            raise ValueError(f"n_cells must be a positive integer, got {n_cells}")
        if int(n_presynaptic) <= 0:
            raise ValueError(f"n_presynaptic must be a positive integer, got {n_presynaptic}")
        if not 0.0 <= float(connected_threshold) <= 1.0:
            raise ValueError(f"connected_threshold must be in [0, 1], got {connected_threshold}")
        if int(max_segments_per_cell) <= 0:
            raise ValueError(f"max_segments_per_cell must be positive, got {max_segments_per_cell}")
        if not 0 < int(max_synapses_per_segment) <= 255:
            raise ValueError(f"max_synapses_per_segment must be in [1, 255], got {max_synapses_per_segment}")
        self.n_cells = int(n_cells)
        self.n_presynaptic = int(n_presynaptic)
        self.connected_threshold = np.float32(connected_threshold)
        self.max_segments_per_cell = int(max_segments_per_cell)
        self.max_synapses_per_segment = int(max_synapses_per_segment)
        self.merge_fraction = float(merge_fraction)
        self.min_merge = int(min_merge)
        self.timestep = 0  # advanced by the owning layer; stamps segment use
        self.version = 0  # bumped by every change of segments or synapses
        self._last_activity: tuple[int, np.ndarray, SegmentActivity] | None = None
        self._generation = 0  # of the count buffer: bumped by every compute
        self._count_buf = np.zeros(0, dtype=np.uint16)  # all zero except at the _touched segments
        self._touched: list[np.ndarray] = []  # segment ids the count buffer was written at

        # segments
        self._n_seg = 0  # high-water mark of segment ids
        self._seg_cell = np.zeros(0, dtype=np.int32)
        self._seg_last_used = np.zeros(0, dtype=np.int32)
        self._seg_nsyn = np.zeros(0, dtype=np.int32)
        self._free = np.zeros(0, dtype=np.int32)
        self._cell_nseg = np.zeros(self.n_cells, dtype=np.int32)

        # synapses
        self._syn_seg = np.zeros(0, dtype=np.int32)
        self._syn_perm = np.zeros(0, dtype=np.float32)
        self._syn_w = np.zeros(0, dtype=np.uint16)  # 1 + 256 * connected: the kernel's scatter weight
        self._n_main = 0
        self._n_total = 0
        self._n_dead = 0
        self._pend_pre = np.zeros(0, dtype=np.int32)
        self._scan_work = 0  # pending synapses scanned since the last merge
        # the pending run by presynaptic cell, built once the store has served a few activity
        # computations unchanged (inference): (version, pointer, segment ids, weights)
        self._pend_index: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._pend_seen = (-1, 0)  # (version, pending gathers at that version)
        self._pre_ptr = np.zeros(self.n_presynaptic + 1, dtype=np.int32)
        self._by_seg = np.zeros(0, dtype=np.int32)
        self._seg_ptr = np.zeros(1, dtype=np.int32)

        # scratch buffers, kept all-zero between calls
        self._pre_flag = np.zeros(self.n_presynaptic, dtype=bool)

    # ------------------------------------------------------------------ sizes
    @property
    def n_segment_slots(self) -> int:
        """Length of per-segment arrays (live and free segment ids)."""
        return self._n_seg

    @property
    def n_segments(self) -> int:
        """Number of live segments."""
        return self._n_seg - self._free.size

    @property
    def n_synapses(self) -> int:
        """Number of live synapses."""
        return self._n_total - self._n_dead

    @property
    def segment_cell(self) -> np.ndarray:
        """Owner cell of every segment slot, int32 ``(n_segment_slots,)``; -1 for free ids."""
        return self._seg_cell[: self._n_seg]

    @property
    def segment_synapse_count(self) -> np.ndarray:
        """Live synapses per segment slot, int32 ``(n_segment_slots,)``."""
        return self._seg_nsyn[: self._n_seg]

    @property
    def segment_last_used(self) -> np.ndarray:
        """Timestep at which each segment last learned, int32 ``(n_segment_slots,)``."""
        return self._seg_last_used[: self._n_seg]

    @property
    def cell_segment_count(self) -> np.ndarray:
        """Live segments per owner cell, int32 ``(n_cells,)``."""
        return self._cell_nseg

    @property
    def nbytes(self) -> int:
        """Bytes held by every array of the store (allocated capacity, all indexes included)."""
        arrays = (
            self._seg_cell, self._seg_last_used, self._seg_nsyn, self._free, self._cell_nseg,
            self._syn_seg, self._syn_perm, self._syn_w, self._pend_pre, self._pre_ptr, self._by_seg,
            self._seg_ptr, self._pre_flag, self._count_buf, *(self._pend_index or ())[1:],
        )
        return int(sum(a.nbytes for a in arrays))

    # --------------------------------------------------------------- activity
    def compute_activity(self, active_presynaptic: np.ndarray) -> SegmentActivity:
        """Count, for every segment, connected and potential synapses onto active cells.

        Parameters
        ----------
        active_presynaptic : int array ``(k,)`` of active presynaptic cells (flat
            index space, unique).

        Returns
        -------
        :class:`SegmentActivity` over all :attr:`n_segment_slots` segment slots.

        The last result is reused when the same input arrives again and the store has not
        changed since (:attr:`version`), as a location does across the settling iterations
        of one sensation.  When the input differs from the last one in fewer cells than it
        has (a union narrowing while a region settles), the last counts are updated by the
        synapses of the added and removed cells only; the result is identical.

        The gather and the scatter are proportional to the synapses of the ``k``
        active cells plus the pending run; clearing the 2-byte-per-segment result costs
        at most a constant times the entries the last call wrote.
        """
        active = as_index_array(active_presynaptic, "active_presynaptic", self.n_presynaptic)
        if self._scan_pays_for_merge():
            self.compact()
        cached = self._last_activity
        if cached is not None and cached[0] == self.version:
            if np.array_equal(cached[1], active):
                return cached[2]  # same input, unchanged store (e.g. the same location across settling)
            if cached[2]._generation == self._generation:
                # the buffer still holds the counts of the last input: when few cells
                # changed (settling narrows a union), update by the difference only
                added, removed = self._input_difference(cached[1], active)
                if added.size + removed.size < active.size:
                    result = self._update_activity(added, removed)
                    self._last_activity = (self.version, active.copy(), result)
                    return result
        result = self._compute_activity(active)
        self._last_activity = (self.version, active.copy(), result)
        return result

    def _input_difference(self, old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells of ``new`` not in ``old`` and of ``old`` not in ``new`` (flag table, linear)."""
        flag = self._pre_flag
        flag[old] = True
        added = new[~flag[new]]
        flag[old] = False
        flag[new] = True
        removed = old[~flag[old]]
        flag[new] = False
        return added, removed

    def _gather(self, active: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Segment ids and scatter weights of every live synapse of ``active`` cells, as parts
        (the sorted run, then the pending run)."""
        parts = [self._gather_main(active)]
        n_pend = self._n_total - self._n_main
        if n_pend:
            index = self._pending_index()
            if index is None:
                pend = self._pending_of_presynaptic(active) + self._n_main
                parts.append((self._syn_seg[pend], self._syn_w[pend]))
            else:
                parts.append(self._gather_rows(active, *index[1:]))
                # accounted as the scan it replaces: the merge points (and so the slot order that
                # learning sees) do not depend on whether the index was built
                self._scan_work += n_pend
        if self._n_dead:
            parts = [(segs[segs >= 0], weight[segs >= 0]) for segs, weight in parts]
        return parts

    def _pending_index(self) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
        """The pending run sorted by presynaptic cell (a CSR pointer, segment ids, weights), or None.

        Built on the third gather that finds the store unchanged (inference: the store serves
        every sensation as it is) and reused until the store changes; while the store changes
        between gathers (learning) the pending run is scanned instead, as the index would not
        pay for its sort.  Gathering from it costs the synapses of the active cells only.
        """
        index = self._pend_index
        if index is not None and index[0] == self.version:
            return index
        version, seen = self._pend_seen
        seen = seen + 1 if version == self.version else 1
        self._pend_seen = (self.version, seen)
        if seen < 3:
            return None
        n_main, n_total = self._n_main, self._n_total
        pre = self._pend_pre[: n_total - n_main]
        order = radix_argsort_int32(pre) + n_main
        ptr = np.zeros(self.n_presynaptic + 1, dtype=np.int32)
        np.cumsum(np.bincount(pre, minlength=self.n_presynaptic), out=ptr[1:])
        self._pend_index = (self.version, ptr, self._syn_seg[order], self._syn_w[order])
        return self._pend_index

    def _pending_of_presynaptic(self, cells: np.ndarray) -> np.ndarray:
        """Positions in the pending run of the synapses of ``cells`` (unique): one scan of the run."""
        n_pend = self._n_total - self._n_main
        if n_pend == 0:
            return np.zeros(0, dtype=np.int64)
        flag = self._pre_flag
        flag[cells] = True
        pend = np.flatnonzero(flag[self._pend_pre[:n_pend]])
        flag[cells] = False
        self._scan_work += n_pend
        return pend

    def _result(self, n_active_synapses: int) -> SegmentActivity:
        self._generation += 1
        packed = self._count_buf[: self._n_seg].view()
        packed.setflags(write=False)
        return SegmentActivity(packed, n_active_synapses, self, self._generation)

    def _compute_activity(self, active: np.ndarray) -> SegmentActivity:
        parts = self._gather(active)
        n = self._n_seg
        n_touched = sum(t.size for t in self._touched)
        if self._count_buf.size < n:
            self._count_buf = np.zeros(n + (n >> 2) + 16, dtype=np.uint16)
        elif n <= 16 * n_touched:
            # a memset of 2 bytes per segment beats scattered writes up to ~20 segments per
            # written entry (measured), and stays proportional to the last call's work
            self._count_buf[:n] = 0
        else:
            for t in self._touched:
                self._count_buf[t] = 0  # clear only what the last call wrote
        # one scatter pass: +1 to the low byte (potential), +256 more when connected
        for segs, weight in parts:
            self._scatter_add(segs, weight)
        self._touched = [segs for segs, _ in parts if segs.size]
        return self._result(sum(segs.size for segs, _ in parts))

    def _update_activity(self, added: np.ndarray, removed: np.ndarray) -> SegmentActivity:
        """Counts of the last input plus the synapses of ``added`` minus those of ``removed``."""
        parts_in = self._gather(added)
        parts_out = self._gather(removed)
        for segs, weight in parts_in:
            self._scatter_add(segs, weight)
        for segs, weight in parts_out:
            # exact: every removed count was added before (uint16 arithmetic wraps around)
            self._scatter_add(segs, np.negative(weight))
        # segments written since the last clear: the old ones plus the newly added
        self._touched = self._touched + [segs for segs, _ in parts_in if segs.size]
        return self._result(sum(segs.size for segs, _ in parts_in + parts_out))

    def _scatter_add(self, segs: np.ndarray, weight: np.ndarray) -> None:
        """``count_buf[segs] += weight`` (uint16, wrapping), repeated segment ids accumulating."""
        if segs.size == 0:
            return
        if _csr_todense is not None and segs.dtype == np.int32 and segs.size < 2**31:
            # one CSR row holding every (segment, weight) pair, added into the row
            # ``count_buf``: a compiled loop, about twice as fast as np.add.at
            _csr_todense(1, self._count_buf.size, np.array([0, segs.size], dtype=np.int32), segs,
                         weight.astype(np.uint16, copy=False), self._count_buf)
        else:
            np.add.at(self._count_buf, segs, weight)

    def _gather_main(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment ids and scatter weights of the sorted-run synapses of ``active`` cells."""
        return self._gather_rows(active, self._pre_ptr, self._syn_seg, self._syn_w)

    @staticmethod
    def _gather_rows(active: np.ndarray, ptr: np.ndarray, seg: np.ndarray,
                     weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``seg`` and ``weight`` over the CSR rows ``active`` of ``ptr`` (one run per active cell)."""
        if _csr_row_index is not None and ptr.dtype == np.int32 and active.size:
            rows = active.astype(np.int32)
            total = int((ptr[rows + 1] - ptr[rows]).sum())
            segs = np.empty(total, dtype=np.int32)
            w = np.empty(total, dtype=np.uint16)
            # scipy's C++ CSR row gather: one pass, no index array materialised
            _csr_row_index(rows.size, rows, ptr, seg, weight, segs, w)
            return segs, w
        slots = expand_ranges(ptr[active], ptr[active + 1])
        return seg[slots], weight[slots]

    # ------------------------------------------------------ synapse lookups
    def _slots_of_segments(self, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Live synapse slots of ``segments`` (unique ids), ascending, and the segment of each slot.

        Ascending slots make the presynaptic lookup (:meth:`_presynaptic_of_slots`, a binary
        search in the presynaptic pointer) walk the pointer in order: ~5x faster than
        searching slots in segment order once the store outgrows the cache.
        """
        segments = np.asarray(segments, dtype=np.int64)
        indexed = segments[segments < self._seg_ptr.size - 1]
        cand = np.sort(self._by_seg[expand_ranges(self._seg_ptr[indexed], self._seg_ptr[indexed + 1])]).astype(np.int64)
        # flag[-1] (the tombstone id) stays False
        flag = np.zeros(self._n_seg + 1, dtype=bool)
        flag[segments] = True
        if self._n_total > self._n_main:
            pend = np.flatnonzero(flag[self._syn_seg[self._n_main : self._n_total]]) + self._n_main
            self._scan_work += self._n_total - self._n_main
            cand = np.concatenate([cand, pend])
        owner = self._syn_seg[cand]
        # main slots may hold tombstones, or older synapses of a since-reused segment id
        keep = flag[owner]
        return cand[keep], owner[keep]

    def _presynaptic_of_slots(self, slots: np.ndarray) -> np.ndarray:
        """Presynaptic cell of each synapse slot (int64)."""
        out = np.empty(slots.size, dtype=np.int64)
        main = slots < self._n_main
        ptr = self._pre_ptr
        out[main] = np.searchsorted(ptr, slots[main].astype(ptr.dtype, copy=False), side="right") - 1
        out[~main] = self._pend_pre[slots[~main] - self._n_main]
        return out

    def synapses_of(self, segment: int) -> tuple[np.ndarray, np.ndarray]:
        """Presynaptic cells (sorted, int64) and permanences (float32) of one segment."""
        seg = int(segment)
        if not 0 <= seg < self._n_seg or self._seg_cell[seg] < 0:
            raise ValueError(f"segment {segment} is not a live segment")
        slots, _ = self._slots_of_segments(np.array([seg]))
        pre = self._presynaptic_of_slots(slots)
        order = np.argsort(pre, kind="stable")
        return pre[order], self._syn_perm[slots][order]

    def synapses_of_segments(self, segments: np.ndarray) -> SynapseSlots:
        """All live synapses of ``segments`` (live segment ids), in no particular order.

        Cost: the synapses of those segments plus a scan of the small pending run.
        """
        if np.size(segments) == 0:
            seg = np.zeros(0, dtype=np.int64)
        else:
            seg = np.sort(as_index_array(segments, "segments", max(self._n_seg, 1)))
            if self._n_seg == 0 or np.any(self._seg_cell[seg] < 0):
                raise ValueError("segments: a segment id is not a live segment")
            seg = seg[np.r_[True, seg[1:] != seg[:-1]]]  # sort-based unique (cheaper than np.unique here)
        slots, owner = self._slots_of_segments(seg)
        return SynapseSlots(
            slots, owner.astype(np.int32), self._presynaptic_of_slots(slots), self._syn_perm[slots]
        )

    def synapses_of_presynaptic(self, cells: np.ndarray) -> SynapseSlots:
        """All live synapses whose presynaptic cell is one of ``cells`` (duplicates are ignored).

        Cost: the synapses of those cells (one CSC slice each) plus a scan of the small
        pending run, as in :meth:`compute_activity`.
        """
        cells = np.sort(as_index_array(cells, "cells", self.n_presynaptic))
        if cells.size > 1:
            cells = cells[np.r_[True, cells[1:] != cells[:-1]]]
        ptr = self._pre_ptr
        slots = expand_ranges(ptr[cells], ptr[cells + 1])
        pre = np.repeat(cells, (ptr[cells + 1] - ptr[cells]).astype(np.int64))
        pend = self._pending_of_presynaptic(cells)
        if pend.size:
            slots = np.concatenate([slots, pend + self._n_main])
            pre = np.concatenate([pre, self._pend_pre[pend].astype(np.int64)])
        seg = self._syn_seg[slots]
        live = seg >= 0
        slots, seg, pre = slots[live], seg[live], pre[live]
        return SynapseSlots(slots, seg, pre, self._syn_perm[slots])

    def live_synapses(self) -> SynapseSlots:
        """Every live synapse of the store (one linear pass; for pruning and inspection)."""
        n_main, n_total = self._n_main, self._n_total
        pre_main = np.repeat(np.arange(self.n_presynaptic, dtype=np.int64), np.diff(self._pre_ptr))
        pre = np.concatenate([pre_main, self._pend_pre[: n_total - n_main].astype(np.int64)])
        slots = np.flatnonzero(self._syn_seg[:n_total] >= 0)
        return SynapseSlots(slots, self._syn_seg[slots], pre[slots], self._syn_perm[slots])

    def connected_matrix(self) -> "scipy.sparse.csr_array":
        """Connected synapses as a 0/1 ``csr_array`` of shape ``(n_presynaptic, n_segment_slots)``.

        Entry ``[p, s]`` is 1 when segment ``s`` has a synapse from cell ``p`` with permanence
        ``>= connected_threshold`` (dtype int32, sorted indices).  With activity as a
        ``(batch, n_presynaptic)`` sparse matrix ``A``, ``A @ store.connected_matrix()`` gives the
        connected overlap of every segment for every row: a read-only view of the learned
        weights for batched inference.  Cost: one pass over the live synapses.
        """
        from scipy import sparse

        syn = self.live_synapses()
        keep = syn.permanence >= self.connected_threshold
        pre, seg = syn.presynaptic[keep], syn.segment[keep].astype(np.int64)
        order = np.lexsort((seg, pre))
        pre, seg = pre[order], seg[order]
        indptr = np.zeros(self.n_presynaptic + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=self.n_presynaptic), out=indptr[1:])
        data = np.ones(seg.size, dtype=np.int32)
        return sparse.csr_array((data, seg, indptr), shape=(self.n_presynaptic, self._n_seg))

    def _check_slots(self, slots: object) -> np.ndarray:
        """Validate unique live synapse slots (int64)."""
        idx = as_index_array(slots, "slots", max(self._n_total, 1)) if np.size(slots) else np.zeros(0, np.int64)
        if idx.size and self._n_total == 0:
            raise ValueError("slots: the store holds no synapses")
        if idx.size and np.any(self._syn_seg[idx] < 0):
            raise ValueError(f"slots: slot {int(idx[np.argmax(self._syn_seg[idx] < 0)])} holds no live synapse")
        if idx.size > 1:
            # duplicates: with repeated targets the last write wins, so an earlier position reads back another value
            position = np.empty(self._n_total, dtype=np.int32)  # uninitialised; only written entries are read
            order = np.arange(idx.size, dtype=np.int32)
            position[idx] = order
            if np.any(position[idx] != order):
                raise ValueError("slots: duplicate synapse slots (sum their deltas first)")
        return idx

    def update_permanences(self, slots: np.ndarray, delta: np.ndarray | float, *, stamp: bool = True) -> None:
        """Add ``delta`` (float, broadcast to ``(k,)``) to the permanences of ``slots`` (unique, live).

        Permanences are clipped to [0, 1]; synapses that reach 0 are destroyed (and a
        segment left empty with them), exactly as in :meth:`adapt_segments`.  With
        ``stamp`` the segments of the slots are marked as used at :attr:`timestep`.
        """
        idx = self._check_slots(slots)
        d = np.asarray(delta, dtype=np.float32)
        if d.ndim > 1 or (d.ndim == 1 and d.size != idx.size):
            raise ValueError(f"delta: expected a scalar or shape ({idx.size},), got shape {d.shape}")
        if not np.all(np.isfinite(d)):
            raise ValueError("delta: values must be finite")
        if idx.size == 0:
            return
        if stamp:
            self._seg_last_used[self._syn_seg[idx]] = self.timestep
        self._apply_delta(idx, np.broadcast_to(d, idx.shape))

    def remove_synapses(self, slots: np.ndarray) -> None:
        """Destroy the synapses at ``slots`` (unique, live); segments left empty are destroyed."""
        idx = self._check_slots(slots)
        if idx.size:
            self._kill_synapses(idx)

    # ------------------------------------------------------------- learning
    def _check_segments(self, segments: object, name: str = "segments") -> np.ndarray:
        """Validate live segment ids; return them unique and sorted (int64)."""
        if np.size(segments) == 0:
            return np.zeros(0, dtype=np.int64)
        if self._n_seg == 0:
            raise ValueError(f"{name}: the store has no segments, got {np.asarray(segments).reshape(-1)[:5]}")
        seg = as_index_array(segments, name, self._n_seg)
        dead = self._seg_cell[seg] < 0
        if dead.any():
            raise ValueError(f"{name}: segment {int(seg[np.argmax(dead)])} has been destroyed")
        if seg.size > 1 and not np.all(seg[1:] > seg[:-1]):
            seg = unique_ints(seg)
        return seg

    def adapt_segments(
        self,
        segments: np.ndarray,
        active_presynaptic: np.ndarray,
        increment: float,
        decrement: float,
    ) -> None:
        """Hebbian reinforcement: synapses onto active cells gain ``increment``, the others lose ``decrement``.

        Permanences are clipped to [0, 1]; synapses that reach 0 are destroyed, and a
        segment left with no synapse is destroyed too.  Segments are stamped as used.
        """
        seg = self._check_segments(segments)
        if seg.size == 0:
            return
        active = as_index_array(active_presynaptic, "active_presynaptic", self.n_presynaptic)
        slots, _ = self._slots_of_segments(seg)
        pre = self._presynaptic_of_slots(slots)
        flag = self._pre_flag
        flag[active] = True
        on = flag[pre]
        flag[active] = False
        delta = np.where(on, np.float32(increment), np.float32(-decrement))
        self._apply_delta(slots, delta)
        self._seg_last_used[seg] = self.timestep

    def punish_segments(self, segments: np.ndarray, active_presynaptic: np.ndarray, decrement: float) -> None:
        """Depress only the synapses of ``segments`` onto active cells by ``decrement``."""
        seg = self._check_segments(segments)
        if seg.size == 0:
            return
        active = as_index_array(active_presynaptic, "active_presynaptic", self.n_presynaptic)
        slots, _ = self._slots_of_segments(seg)
        pre = self._presynaptic_of_slots(slots)
        flag = self._pre_flag
        flag[active] = True
        on = flag[pre]
        flag[active] = False
        slots = slots[on]
        self._apply_delta(slots, np.full(slots.size, -np.float32(decrement), dtype=np.float32))

    def _weights(self, permanence: np.ndarray) -> np.ndarray:
        """Scatter weight of synapses: 1 (potential) + 256 if connected, uint16."""
        w = (permanence >= self.connected_threshold).view(np.uint8).astype(np.uint16)
        w <<= 8
        w += 1
        return w

    def _apply_delta(self, slots: np.ndarray, delta: np.ndarray) -> None:
        self.version += 1
        if slots.size == 0:
            return
        p = np.clip(self._syn_perm[slots] + delta, 0.0, 1.0).astype(np.float32)
        self._syn_perm[slots] = p
        self._syn_w[slots] = self._weights(p)
        dead = slots[p <= 0.0]
        if dead.size:
            self._kill_synapses(dead)

    def _kill_synapses(self, slots: np.ndarray) -> None:
        self.version += 1
        owners = self._syn_seg[slots]
        self._syn_seg[slots] = _DEAD
        self._n_dead += slots.size
        counts = np.bincount(owners, minlength=self._n_seg)
        self._seg_nsyn[: self._n_seg] -= counts.astype(np.int32)
        emptied = np.flatnonzero((counts > 0) & (self._seg_nsyn[: self._n_seg] == 0))
        if emptied.size:
            self._release_segments(emptied)

    def grow_synapses(
        self,
        segments: np.ndarray,
        candidates: np.ndarray | tuple[np.ndarray, np.ndarray],
        max_new: np.ndarray | int,
        initial_permanence: float,
        rng: np.random.Generator,
    ) -> int:
        """Grow up to ``max_new[i]`` synapses on ``segments[i]`` to sampled candidate cells.

        Parameters
        ----------
        segments : int array ``(m,)`` of live, distinct segments.
        candidates : either one int array of presynaptic cells shared by all segments,
            or a CSR pair ``(indptr (m+1,), indices)`` giving each segment its own list.
        max_new : int or int array ``(m,)``: synapses to grow per segment (e.g.
            ``sample_size - potential_overlap``); values <= 0 grow nothing.
        initial_permanence : permanence of new synapses.
        rng : random generator for the sampling.

        Candidates already on a segment are skipped (no duplicate synapses); a segment
        that would exceed ``max_synapses_per_segment`` first loses its weakest synapses.

        Returns
        -------
        Number of synapses grown.
        """
        seg = np.asarray(segments, dtype=np.int64).reshape(-1) if np.size(segments) else np.zeros(0, np.int64)
        m = seg.size
        if m == 0:
            return 0
        if self._check_segments(segments).size != m:
            raise ValueError("segments: duplicate segment ids in one grow_synapses call")
        quota = np.broadcast_to(np.asarray(max_new, dtype=np.int64), (m,)).copy()
        quota = np.minimum(np.maximum(quota, 0), self.max_synapses_per_segment)
        if isinstance(candidates, tuple):
            indptr, indices = (np.asarray(candidates[0], dtype=np.int64), candidates[1])
            if indptr.size != m + 1:
                raise ValueError(f"candidates: indptr has length {indptr.size}, expected {m + 1}")
            cand = as_index_array(indices, "candidates", self.n_presynaptic)
            row = np.repeat(np.arange(m, dtype=np.int64), np.diff(indptr))
        else:
            shared = unique_ints(as_index_array(candidates, "candidates", self.n_presynaptic))
            cand = np.tile(shared, m)
            row = np.repeat(np.arange(m, dtype=np.int64), shared.size)
        if cand.size == 0 or not quota.any():
            return 0
        # drop candidates already present on the segment (and duplicates within a row)
        slots, owner = self._slots_of_segments(seg)
        existing = owner.astype(np.int64) * self.n_presynaptic + self._presynaptic_of_slots(slots)
        keys = seg[row] * self.n_presynaptic + cand
        existing.sort()
        fresh = ~isin_sorted(keys, existing)
        keys, row, cand = keys[fresh], row[fresh], cand[fresh]
        order = np.argsort(keys, kind="stable")
        first = order[np.r_[True, keys[order][1:] != keys[order][:-1]]] if keys.size else order
        row, cand = row[first], cand[first]
        chosen = sample_per_row(row, m, quota, rng)
        row, cand = row[chosen], cand[chosen]
        if row.size == 0:
            return 0
        n_new = np.bincount(row, minlength=m)
        # make room on segments that would overflow
        excess = self._seg_nsyn[seg] + n_new - self.max_synapses_per_segment
        if np.any(excess > 0):
            self._remove_weakest(seg, np.maximum(excess, 0), slots, owner)
        self._append_synapses(seg[row].astype(np.int32), cand.astype(np.int32), initial_permanence)
        np.add.at(self._seg_nsyn, seg, n_new.astype(np.int32))
        self._seg_last_used[seg] = self.timestep
        self._maybe_merge()
        return int(row.size)

    def _remove_weakest(self, seg: np.ndarray, excess: np.ndarray, slots: np.ndarray, owner: np.ndarray) -> None:
        self.version += 1
        lookup = np.zeros(self._n_seg, dtype=np.int64)
        lookup[seg] = excess
        need = lookup[owner] > 0
        slots, owner = slots[need], owner[need]
        order = np.lexsort((self._syn_perm[slots], owner))
        ranks = group_ranks(owner[order])
        victims = slots[order][ranks < lookup[owner[order]]]
        if victims.size:
            owners = self._syn_seg[victims]
            self._syn_seg[victims] = _DEAD
            self._n_dead += victims.size
            np.subtract.at(self._seg_nsyn, owners, 1)

    def _append_synapses(self, seg: np.ndarray, pre: np.ndarray, permanence: float) -> None:
        self.version += 1
        k = seg.size
        end = self._n_total + k
        self._syn_seg = _grow(self._syn_seg, end)
        self._syn_perm = _grow(self._syn_perm, end)
        self._syn_w = _grow(self._syn_w, end)
        n_pend = self._n_total - self._n_main
        self._pend_pre = _grow(self._pend_pre, n_pend + k)
        self._syn_seg[self._n_total : end] = seg
        self._syn_perm[self._n_total : end] = np.float32(permanence)
        self._syn_w[self._n_total : end] = self._weights(np.array([permanence], dtype=np.float32))[0]
        self._pend_pre[n_pend : n_pend + k] = pre
        self._n_total = end

    # --------------------------------------------------------------- segments
    def create_segments(self, cells: np.ndarray) -> np.ndarray:
        """Create one new (empty) segment on each of ``cells``; return their ids (int32).

        A cell already holding ``max_segments_per_cell`` segments first loses its least
        recently used ones.  New segments are stamped with the current timestep.
        """
        self.version += 1
        cells = as_index_array(cells, "cells", self.n_cells)
        if cells.size == 0:
            return np.zeros(0, dtype=np.int32)
        req = np.bincount(cells, minlength=self.n_cells)
        over = self._cell_nseg + req - self.max_segments_per_cell
        if np.any(over > 0):
            self._evict_lru(np.maximum(over, 0))
        k = cells.size
        reuse = min(k, self._free.size)
        ids = np.empty(k, dtype=np.int32)
        ids[:reuse] = self._free[self._free.size - reuse :]
        self._free = self._free[: self._free.size - reuse]
        fresh = k - reuse
        if fresh:
            start = self._n_seg
            self._n_seg += fresh
            self._seg_cell = _grow(self._seg_cell, self._n_seg)
            self._seg_last_used = _grow(self._seg_last_used, self._n_seg)
            self._seg_nsyn = _grow(self._seg_nsyn, self._n_seg)
            ids[reuse:] = np.arange(start, self._n_seg, dtype=np.int32)
        self._seg_cell[ids] = cells.astype(np.int32)
        self._seg_last_used[ids] = self.timestep
        self._seg_nsyn[ids] = 0
        self._cell_nseg += req.astype(np.int32)
        return ids

    def _evict_lru(self, excess_per_cell: np.ndarray) -> None:
        cells = np.flatnonzero(excess_per_cell)
        segs = np.flatnonzero(np.isin(self._seg_cell[: self._n_seg], cells))
        owner = self._seg_cell[segs]
        order = np.lexsort((segs, self._seg_last_used[segs], owner))
        ranks = group_ranks(owner[order])
        victims = segs[order][ranks < excess_per_cell[owner[order]]]
        self.destroy_segments(victims)

    def destroy_segments(self, segments: np.ndarray) -> None:
        """Destroy segments and all their synapses."""
        self.version += 1
        seg = self._check_segments(segments)
        if seg.size == 0:
            return
        slots, _ = self._slots_of_segments(seg)
        if slots.size:
            self._syn_seg[slots] = _DEAD
            self._n_dead += slots.size
        self._release_segments(seg)

    def _release_segments(self, seg: np.ndarray) -> None:
        self.version += 1
        np.subtract.at(self._cell_nseg, self._seg_cell[seg], 1)
        self._seg_cell[seg] = _DEAD
        self._seg_nsyn[seg] = 0
        self._free = np.concatenate([self._free, seg.astype(np.int32)])

    # ----------------------------------------------------------------- merge
    def _maybe_merge(self) -> None:
        pending = self._n_total - self._n_main
        if pending > max(self.min_merge, self.merge_fraction * self._n_main) or self._n_dead > max(
            self.min_merge, self._n_main // 4
        ) or self._scan_pays_for_merge():
            self.compact()

    def _scan_pays_for_merge(self) -> bool:
        """Rent or buy: merge once the pending scans since the last merge have cost about as
        much as a merge (a linear pass over all synapses, ~16x a scan's cost per synapse).

        Learning phases (many appends, few scans) merge rarely; a phase of inference over a
        store with a long pending run merges after a bounded number of scans.
        """
        pending = self._n_total - self._n_main
        return pending > self.min_merge and self._scan_work > _MERGE_COST_IN_SCANS * self._n_total

    def compact(self) -> None:
        """Merge pending synapses into the sorted run and drop tombstones (linear time)."""
        n_main, n_total = self._n_main, self._n_total
        main_pre = np.repeat(np.arange(self.n_presynaptic, dtype=np.int32), np.diff(self._pre_ptr))
        seg_main = self._syn_seg[:n_main]
        keep = seg_main >= 0
        pre_m, seg_m, perm_m = main_pre[keep], seg_main[keep], self._syn_perm[:n_main][keep]
        pend_pre = self._pend_pre[: n_total - n_main]
        seg_p = self._syn_seg[n_main:n_total]
        keep_p = seg_p >= 0
        pre_p, seg_p, perm_p = pend_pre[keep_p], seg_p[keep_p], self._syn_perm[n_main:n_total][keep_p]
        # the segment-major index is merged, not re-sorted: the live main slots keep their
        # segment order (a live slot never changes segment) and only move by the pending
        # synapses inserted before them
        kept_index = np.cumsum(keep) - 1  # old main slot -> position among the kept
        by_seg_old = self._by_seg[: n_main]
        by_seg = kept_index[by_seg_old[keep[by_seg_old]]]  # kept positions, in segment order
        if pre_p.size:
            order = np.argsort(pre_p, kind="stable")
            pre_p, seg_p, perm_p = pre_p[order], seg_p[order], perm_p[order]
            at = np.searchsorted(pre_m, pre_p, side="right")
            # np.insert moves kept element j by the number of insertions at or before j,
            # and puts pending synapse i (``at`` ascending) at at[i] + i
            moved = np.cumsum(np.bincount(at, minlength=pre_m.size + 1))
            seg_keys = seg_m[by_seg]
            by_seg = by_seg + moved[by_seg]
            by_seg_p = np.argsort(seg_p, kind="stable")
            by_seg = np.insert(by_seg, np.searchsorted(seg_keys, seg_p[by_seg_p], side="right"),
                               (at + np.arange(at.size))[by_seg_p])
            pre_m = np.insert(pre_m, at, pre_p)
            seg_m = np.insert(seg_m, at, seg_p)
            perm_m = np.insert(perm_m, at, perm_p)
        self._set_sorted(pre_m, seg_m, perm_m, by_seg)

    def _set_sorted(self, pre: np.ndarray, seg: np.ndarray, perm: np.ndarray,
                    by_seg: np.ndarray | None = None) -> None:
        """Install synapses already sorted by presynaptic cell as the main run.

        ``by_seg``: the slots in segment order when the caller has them (else sorted here).
        """
        self.version += 1
        self._scan_work = 0
        n = seg.size
        self._syn_seg = np.ascontiguousarray(seg, dtype=np.int32)
        self._syn_perm = np.ascontiguousarray(perm, dtype=np.float32)
        self._syn_w = self._weights(self._syn_perm)
        self._n_main = self._n_total = n
        self._n_dead = 0
        self._pend_pre = np.zeros(0, dtype=np.int32)
        counts = np.bincount(pre, minlength=self.n_presynaptic)
        ptr_dtype = np.int32 if n < 2**31 - 1 else np.int64
        self._pre_ptr = np.zeros(self.n_presynaptic + 1, dtype=ptr_dtype)
        np.cumsum(counts, out=self._pre_ptr[1:])
        self._by_seg = (radix_argsort_int32(self._syn_seg) if by_seg is None else by_seg).astype(np.int32)
        seg_counts = np.bincount(self._syn_seg, minlength=self._n_seg)
        self._seg_ptr = np.zeros(self._n_seg + 1, dtype=ptr_dtype)
        np.cumsum(seg_counts, out=self._seg_ptr[1:])

    # --------------------------------------------------- bulk build / arrays
    @classmethod
    def from_synapses(
        cls,
        n_cells: int,
        n_presynaptic: int,
        connected_threshold: float,
        segment_cell: np.ndarray,
        synapse_segment: np.ndarray,
        synapse_presynaptic: np.ndarray,
        synapse_permanence: np.ndarray,
        **kwargs: object,
    ) -> "DendriteStore":
        """Build a store in bulk from flat arrays (segment ids index ``segment_cell``).

        Duplicate (segment, presynaptic) pairs are rejected.
        """
        store = cls(n_cells, n_presynaptic, connected_threshold, **kwargs)  # type: ignore[arg-type]
        seg_cell = as_index_array(segment_cell, "segment_cell", store.n_cells).astype(np.int32)
        n_seg = seg_cell.size
        sseg = as_index_array(synapse_segment, "synapse_segment", max(n_seg, 1)) if np.size(synapse_segment) else np.zeros(0, np.int64)
        spre = as_index_array(synapse_presynaptic, "synapse_presynaptic", store.n_presynaptic) if np.size(synapse_presynaptic) else np.zeros(0, np.int64)
        sperm = np.asarray(synapse_permanence, dtype=np.float32).reshape(-1)
        if not (sseg.size == spre.size == sperm.size):
            raise ValueError(
                f"synapse arrays differ in length: segment {sseg.size}, presynaptic {spre.size}, permanence {sperm.size}"
            )
        if sperm.size and (sperm.min() < 0 or sperm.max() > 1 or not np.all(np.isfinite(sperm))):
            raise ValueError("synapse_permanence: values must lie in [0, 1]")
        nsyn = np.bincount(sseg, minlength=n_seg).astype(np.int32)
        if n_seg and nsyn.max(initial=0) > store.max_synapses_per_segment:
            raise ValueError(
                f"a segment holds {int(nsyn.max())} synapses, more than max_synapses_per_segment={store.max_synapses_per_segment}"
            )
        store._n_seg = n_seg
        store._seg_cell = seg_cell.copy()
        store._seg_last_used = np.zeros(n_seg, dtype=np.int32)
        store._seg_nsyn = nsyn
        store._cell_nseg = np.bincount(seg_cell, minlength=store.n_cells).astype(np.int32)
        order = radix_argsort_int32(spre.astype(np.int32))
        pre_sorted = spre[order].astype(np.int32)
        store._set_sorted(pre_sorted, sseg[order].astype(np.int32), sperm[order])
        # segment order is a stable sort of the presynaptic order: a duplicate pair sits next to its twin
        by_seg = store._by_seg
        if by_seg.size > 1:
            seg_run, pre_run = store._syn_seg[by_seg], pre_sorted[by_seg]
            if bool(np.any((seg_run[1:] == seg_run[:-1]) & (pre_run[1:] == pre_run[:-1]))):
                raise ValueError("duplicate (segment, presynaptic) synapse pairs")
        return store

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Canonical arrays of the store (compacted first), for saving."""
        self.compact()
        main_pre = np.repeat(np.arange(self.n_presynaptic, dtype=np.int32), np.diff(self._pre_ptr))
        return {
            f"{prefix}shape": np.array(
                [self.n_cells, self.n_presynaptic, self.max_segments_per_cell, self.max_synapses_per_segment, self.timestep],
                dtype=np.int64,
            ),
            f"{prefix}connected_threshold": np.array([self.connected_threshold], dtype=np.float32),
            f"{prefix}segment_cell": self.segment_cell.copy(),
            f"{prefix}segment_last_used": self.segment_last_used.copy(),
            f"{prefix}synapse_segment": self._syn_seg[: self._n_total].copy(),
            f"{prefix}synapse_presynaptic": main_pre,
            f"{prefix}synapse_permanence": self._syn_perm[: self._n_total].copy(),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "") -> "DendriteStore":
        """Inverse of :meth:`to_arrays` (free segment ids are restored as free)."""
        n_cells, n_pre, max_seg, max_syn, timestep = (int(v) for v in arrays[f"{prefix}shape"])
        seg_cell = np.asarray(arrays[f"{prefix}segment_cell"], dtype=np.int32)
        live = seg_cell >= 0
        store = cls.from_synapses(
            n_cells, n_pre, float(arrays[f"{prefix}connected_threshold"][0]),
            np.where(live, seg_cell, 0), arrays[f"{prefix}synapse_segment"],
            arrays[f"{prefix}synapse_presynaptic"], arrays[f"{prefix}synapse_permanence"],
            max_segments_per_cell=max_seg, max_synapses_per_segment=max_syn,
        )
        dead = np.flatnonzero(~live).astype(np.int32)
        if dead.size:
            np.subtract.at(store._cell_nseg, 0, dead.size)
            store._seg_cell[dead] = _DEAD
            store._free = dead[::-1].copy()
        store._seg_last_used = np.asarray(arrays[f"{prefix}segment_last_used"], dtype=np.int32).copy()
        store.timestep = timestep
        return store

    def __repr__(self) -> str:
        return (
            f"DendriteStore(cells={self.n_cells}, presynaptic={self.n_presynaptic}, "
            f"segments={self.n_segments}, synapses={self.n_synapses}, bytes={self.nbytes})"
        )
