"""L2/3 object layer: pools L4 sensations into a stable object code and votes laterally.

Batched over all columns of a region; cell ``c`` of column ``k`` is ``k * cells + c``.

* Proximal dendrites sample L4 cells of the same column: one segment per (cell, sensation
  of an object) by default, or one dendrite per cell summing every learned pattern
  (``proximal_dendrites="per_cell"``, the 2017 reference's pooler).
* Distal dendrites: one segment per (cell, source column), where the source is the
  cell's own column (internal context: its previous activity) or a laterally
  connected column (a *vote*).  All of them live in one store whose presynaptic
  space is the whole region's L2/3, so one kernel call per settling step serves
  internal context and every lateral vote.

Learning (Hawkins, Ahmad & Cui 2017): a column with fewer than ``sdr_size`` active
cells picks ``sdr_size`` random cells (a new object) and keeps them for the whole
object; active cells reinforce proximal synapses onto active L4 cells and grow onto
L4 winner cells, and grow distal synapses onto the previous activity of each source.

Inference: feed-forward-supported cells (>= ``proximal_threshold`` connected
synapses onto active L4 cells) are ranked by their count of active distal segments;
tiers of equal support are admitted from the top while fewer than ``sdr_size``
cells are chosen; then previously active cells (inertia) by support; then, if still
short, a random share of the remaining feed-forward cells.  On the first touch there
is no distal support, so the union of all candidate objects fires; votes and inertia
narrow it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..dendrites import DendriteStore
from ..kernels import (as_index_array, group_labels, group_max_counts, group_ranks, member_mask, owner_runs,
                       sample_per_row, setdiff_ints, union_ints, unique_counts, unique_ints)
from ..plasticity import HebbianRule, PlasticityRule, get_rule
from .l4 import column_candidates

__all__ = ["L23Layer", "L23Params", "PROXIMAL_DENDRITES", "DISTAL_DENDRITES", "admit_by_support"]

#: How L2/3 cells keep their proximal (L4) synapses: ``per_sensation`` grows one segment per
#: (cell, sensation of an object), so a segment holds one (feature, location) pattern and
#: fires only for it; ``per_cell`` keeps one proximal dendrite per cell on which every learned
#: pattern adds synapses and whose overlap sums over all of them (the 2017 reference's column
#: pooler: one permanence row per cell).
PROXIMAL_DENDRITES = ("per_sensation", "per_cell")
#: How L2/3 cells keep their distal (internal context and lateral vote) synapses: ``per_object``
#: grows one segment per (cell, source column, object) and a cell's support is the most sources
#: voting within one object; ``per_source`` keeps one dendrite per (cell, source column) summing
#: every object learned on the cell, and the support is the number of sources whose dendrite is
#: active (the 2017 reference's column pooler).
DISTAL_DENDRITES = ("per_object", "per_source")


@dataclass(frozen=True)
class L23Params:
    """Parameters of the L2/3 layer (defaults: the 2017 column pooler)."""

    cells: int = 4096
    sdr_size: int = 40
    proximal_sample_size: int = 10
    proximal_threshold: int = 5
    proximal_initial_permanence: float = 0.6
    proximal_connected_permanence: float = 0.5
    proximal_increment: float = 0.1
    proximal_decrement: float = 0.001
    distal_sample_size: int = 20
    distal_threshold: int = 13
    distal_initial_permanence: float = 0.41
    distal_connected_permanence: float = 0.5
    distal_increment: float = 0.1
    distal_decrement: float = 0.001
    inertia: float = 1.0
    proximal_dendrites: str = "per_sensation"
    distal_dendrites: str = "per_object"

    def __post_init__(self) -> None:
        if self.proximal_dendrites not in PROXIMAL_DENDRITES:
            raise ValueError(f"L23 proximal_dendrites must be one of {', '.join(PROXIMAL_DENDRITES)}, "
                             f"got {self.proximal_dendrites!r}")
        if self.distal_dendrites not in DISTAL_DENDRITES:
            raise ValueError(f"L23 distal_dendrites must be one of {', '.join(DISTAL_DENDRITES)}, "
                             f"got {self.distal_dendrites!r}")
        for name in ("cells", "sdr_size", "proximal_sample_size", "proximal_threshold",
                     "distal_sample_size", "distal_threshold"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"L23 {name} must be a positive integer, got {getattr(self, name)}")
        if self.sdr_size > self.cells:
            raise ValueError(f"L23 sdr_size ({self.sdr_size}) exceeds cells ({self.cells})")
        if self.inertia < 0:
            raise ValueError(f"L23 inertia must be >= 0, got {self.inertia}")


def _tier_admission(column: np.ndarray, support: np.ndarray, already: np.ndarray, quota: int) -> np.ndarray:
    """Admit whole tiers of equal ``support`` from the top while a column holds fewer than ``quota``.

    Parameters are per candidate: ``column`` (int, below ``already.size``), ``support`` (int >= 0,
    higher first); ``already`` is the number of cells each column chose before (indexed by
    column).  Returns a boolean mask over the candidates: a candidate is admitted when its column's
    earlier choices plus its candidates of strictly higher support stay below ``quota``.  One
    bincount over (column, support) and a cumulative sum per column: no sort.
    """
    n = column.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    levels = int(support.max()) + 1
    key = column * levels + support
    counts = np.bincount(key, minlength=already.size * levels).reshape(already.size, levels)
    # at_or_above[c, s]: candidates of column c with support >= s; minus the tier itself: strictly higher
    at_or_above = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]
    higher = (at_or_above - counts).reshape(-1)[key]
    return already[column] + higher < quota


def admit_by_support(ff_cells: np.ndarray, support_of: Callable[[np.ndarray], np.ndarray], prev: np.ndarray,
                     n_rows: int, params: L23Params) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1 and 2 of L2/3 inference, for any batch of rows (columns, or episodes x columns).

    1. feed-forward-supported cells with distal support, admitted by tiers of support while a
       row holds fewer than ``sdr_size``;
    2. inertia: previously active cells by support, at most ``inertia`` x their count per row,
       again by tiers.

    ``ff_cells`` / ``prev``: sorted flat cells (row ``r``'s cell ``c`` is ``r * cells + c``);
    ``support_of(cells)``: their distal support (int).  Returns the chosen cells (sorted) and the
    number chosen per row, ``(n_rows,)``.  Step 3 (filling a short row with a random share of the
    remaining feed-forward cells) is the caller's, as it owns the random generator(s).
    """
    p = params
    P, C = p.cells, int(n_rows)
    s_ff = support_of(ff_cells)
    lat = ff_cells[s_ff > 0]
    chosen = lat[_tier_admission(lat // P, s_ff[s_ff > 0], np.zeros(C, dtype=np.int64), p.sdr_size)]
    n_chosen = np.bincount(chosen // P, minlength=C)
    if p.inertia > 0 and prev.size:
        prev_cells = setdiff_ints(prev, chosen)
        pc = prev_cells // P
        short = n_chosen[pc] < p.sdr_size
        prev_cells, pc = prev_cells[short], pc[short]
        if prev_cells.size:
            s_prev = support_of(prev_cells)
            order = np.lexsort((-s_prev, pc))
            cap = np.floor(np.bincount(pc, minlength=C) * p.inertia).astype(np.int64)
            ranks = np.empty(prev_cells.size, dtype=np.int64)
            ranks[order] = group_ranks(pc[order])
            capped = ranks < cap[pc]
            prev_cells, pc, s_prev = prev_cells[capped], pc[capped], s_prev[capped]
            admitted = prev_cells[_tier_admission(pc, s_prev, n_chosen, p.sdr_size)]
            chosen = union_ints(chosen, admitted)
            n_chosen = np.bincount(chosen // P, minlength=C)
    return chosen, n_chosen


class L23Layer:
    """L2/3 of every column of a region.

    Parameters
    ----------
    n_columns : columns in the region.
    ff_size : feed-forward (L4) cells per column.
    lateral : boolean ``(n_columns, n_columns)`` adjacency; ``lateral[k, j]`` means column
        ``k`` receives votes from column ``j`` (the diagonal is ignored: every column
        always has its internal context).
    params : :class:`L23Params`.
    rng : random generator.
    """

    def __init__(
        self,
        n_columns: int,
        ff_size: int,
        lateral: np.ndarray | None = None,
        params: L23Params | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.params = params or L23Params()
        p = self.params
        self.n_columns = int(n_columns)
        if self.n_columns <= 0:
            raise ValueError(f"n_columns must be a positive integer, got {n_columns}")
        self.ff_size = int(ff_size)
        self.n_cells = self.n_columns * p.cells
        self.rng = rng if rng is not None else np.random.default_rng()
        adj = np.zeros((self.n_columns, self.n_columns), dtype=bool) if lateral is None else np.asarray(lateral, dtype=bool)
        if adj.shape != (self.n_columns, self.n_columns):
            raise ValueError(f"lateral adjacency must have shape {(self.n_columns, self.n_columns)}, got {adj.shape}")
        adj = adj.copy()
        np.fill_diagonal(adj, True)
        self.sources = adj  # sources[k, j]: column k listens to column j
        self.proximal = DendriteStore(self.n_cells, self.n_columns * self.ff_size, p.proximal_connected_permanence)
        self.distal = DendriteStore(self.n_cells, self.n_cells, p.distal_connected_permanence)
        # learning episode (object) of every distal segment id: a cell's segments learned for one
        # object form a group, and a cell's support is the largest number of sources voting
        # within one group (votes for different objects on a shared cell do not add up)
        self._seg_episode = np.zeros(0, dtype=np.int64)
        self._episode = 0
        # per_source distal dendrites: (cell * n_columns + source) -> segment, kept for good
        self._obj_src_keys = np.zeros(0, dtype=np.int64)
        self._obj_src_segs = np.zeros(0, dtype=np.int32)
        # results kept while the stores and the input stay the same (see _support / _infer)
        self._support_cache: tuple | None = None  # store, version, episodes, activity, support, labels
        self._ff_cache: tuple | None = None  # proximal activity, its feed-forward cells
        self.set_plasticity("hebbian")
        self.reset()

    def set_plasticity(self, rule: str) -> None:
        """Select the permanence rule of the proximal and distal stores by registered name.

        ``"hebbian"`` (default) uses this layer's increments/decrements; any other rule of
        :func:`columns.plasticity.get_rule` (e.g. ``"bcm"``, ``"stdp"``) gets one fresh instance
        (default parameters) per store and sees the object's learning cells as the active owner
        cells.  Raises ``ValueError`` for an unknown name, with a did-you-mean.
        """
        p = self.params
        if get_rule(rule).name == "hebbian":
            self.proximal_rule: PlasticityRule = HebbianRule(p.proximal_increment, p.proximal_decrement)
            self.distal_rule: PlasticityRule = HebbianRule(p.distal_increment, p.distal_decrement)
        else:
            self.proximal_rule, self.distal_rule = get_rule(rule), get_rule(rule)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The learning episode of every distal segment (the stores are saved by the region)."""
        return {"L23.distal_segment_episode": self._seg_episode[: self.distal.n_segment_slots].copy(),
                "L23.episode": np.array([self._episode], dtype=np.int64),
                "L23.distal_source_keys": self._obj_src_keys.copy(),
                "L23.distal_source_segments": self._obj_src_segs.copy()}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_arrays` saved."""
        ep = np.asarray(arrays["L23.distal_segment_episode"], dtype=np.int64)
        if ep.size and ep.min() < 0:
            raise ValueError("saved L23.distal_segment_episode holds negative episode ids")
        self._seg_episode = ep.copy()
        self._episode = int(np.asarray(arrays["L23.episode"])[0])
        self._obj_src_keys = np.asarray(arrays.get("L23.distal_source_keys", np.zeros(0)), dtype=np.int64).copy()
        self._obj_src_segs = np.asarray(arrays.get("L23.distal_source_segments", np.zeros(0)), dtype=np.int32).copy()

    def reset(self) -> None:
        """Forget the current object: activity, and the segments that learning of it was using.

        Call it between objects: in learning mode each object grows its own proximal
        segments on each of its cells (one per sensation, see :meth:`begin_sensation`) and
        its own distal segment per (cell, source column).
        """
        self.active_cells = np.zeros(0, dtype=np.int32)
        self.previous_active_cells = np.zeros(0, dtype=np.int32)
        self.feedforward_cells = np.zeros(0, dtype=np.int32)
        self.support = np.zeros(0, dtype=np.int32)
        self.n_active_synapses = 0
        self._episode += 1
        self._obj_prox_keys = np.zeros(0, dtype=np.int64)  # cells, sorted
        self._obj_prox_segs = np.zeros(0, dtype=np.int32)
        self._obj_dist_keys = np.zeros(0, dtype=np.int64)  # cell * n_columns + source, sorted
        self._obj_dist_segs = np.zeros(0, dtype=np.int32)

    def begin_sensation(self) -> None:
        """Mark the start of a new sensation in learning mode.

        The proximal synapses learned for each sensation of an object go on their own
        dendritic segment, so a segment holds one (feature, location) pattern and only
        that pattern (not a mixture of all the object's patterns) can drive the cell.
        """
        self._obj_prox_keys = np.zeros(0, dtype=np.int64)
        self._obj_prox_segs = np.zeros(0, dtype=np.int32)

    @property
    def episode(self) -> int:
        """The current learning episode (one per object since the last :meth:`reset`): the distal
        segments learned now are grouped under it."""
        return int(self._episode)

    def learn_cells(self, cells: np.ndarray, feedforward: np.ndarray, growth_candidates: np.ndarray,
                    previous: np.ndarray, *, episode: int | None = None) -> None:
        """One learning step of the given ``cells`` (flat, sorted), without choosing them.

        Proximal segments of ``cells`` reinforce onto ``feedforward`` and grow onto
        ``growth_candidates`` (flat L4 cells); distal segments reinforce and grow onto ``previous``
        (flat L2/3 activity of their sources).  Segments made here carry learning ``episode``
        (default: the current one), so votes learned later for an earlier object add to its
        segments' votes.  The layer's activity is not changed; the stores' clocks are the caller's.
        """
        running = self._episode
        if episode is not None:
            self._episode = int(episode)
        try:
            self._learn(unique_ints(np.asarray(cells, dtype=np.int64)),
                        unique_ints(np.asarray(feedforward, dtype=np.int64)),
                        unique_ints(np.asarray(growth_candidates, dtype=np.int64)),
                        unique_ints(np.asarray(previous, dtype=np.int64)))
        finally:
            self._episode = running

    def forget_cells(self, cells: np.ndarray) -> None:
        """Free ``cells`` (flat, sorted): their proximal and distal segments and every distal synapse
        onto them go (segments left empty with them); the stores are not compacted."""
        cells = unique_ints(np.asarray(cells, dtype=np.int64))
        for store in (self.proximal, self.distal):
            owner = store.segment_cell
            live = np.flatnonzero(owner >= 0)
            store.destroy_segments(live[member_mask(owner[live], cells, store.n_cells)])
        self.distal.remove_synapses(self.distal.synapses_of_presynaptic(cells).slots)
        keys = self._obj_src_keys  # per_source dendrites: drop keys of freed cells or destroyed segments
        if keys.size:
            cell = keys // self.n_columns
            keep = ~member_mask(cell, cells, self.n_cells) & (self.distal.segment_cell[self._obj_src_segs] == cell)
            self._obj_src_keys, self._obj_src_segs = keys[keep], self._obj_src_segs[keep]

    def active_cells_of(self, column: int) -> np.ndarray:
        """Active cells of one column, as local indices."""
        a = self.active_cells
        c = self.params.cells
        return a[(a >= column * c) & (a < (column + 1) * c)] - column * c

    def counts_per_column(self, cells: np.ndarray | None = None) -> np.ndarray:
        """Number of active cells (or of ``cells``) per column, int ``(n_columns,)``."""
        cells = self.active_cells if cells is None else cells
        return np.bincount(np.asarray(cells) // self.params.cells, minlength=self.n_columns)

    # ------------------------------------------------------------- compute
    def compute(
        self,
        feedforward: np.ndarray,
        growth_candidates: np.ndarray | None = None,
        learn: bool = False,
        lateral_activity: np.ndarray | None = None,
    ) -> np.ndarray:
        """One step for every column; returns the new active cells (flat, sorted int32).

        Parameters
        ----------
        feedforward : active L4 cells (flat over columns: ``column * ff_size + cell``).
        growth_candidates : L4 winner cells for proximal growth (learning); defaults to
            ``feedforward``.
        learn : learning mode (keep or pick the object's representation and learn it).
        lateral_activity : the region's L2/3 activity the distal segments see (default:
            this layer's previous output, i.e. the last settling step).
        """
        ff = unique_ints(as_index_array(feedforward, "feedforward", self.n_columns * self.ff_size))
        prev = self.active_cells if lateral_activity is None else unique_ints(
            as_index_array(lateral_activity, "lateral_activity", self.n_cells))
        self.proximal.timestep += 1
        self.distal.timestep += 1
        if learn:
            gc = ff if growth_candidates is None else unique_ints(
                as_index_array(growth_candidates, "growth_candidates", self.n_columns * self.ff_size))
            new = self._learning_cells()
            self._learn(new, ff, gc, prev)
        else:
            new = self._infer(ff, prev)
        self.previous_active_cells = self.active_cells
        self.active_cells = new.astype(np.int32)
        return self.active_cells

    def _learning_cells(self) -> np.ndarray:
        """Keep each column's object code; columns with fewer than sdr_size cells draw a new one."""
        p = self.params
        counts = self.counts_per_column()
        fresh = np.flatnonzero(counts < p.sdr_size)
        keep = self.active_cells[~member_mask(self.active_cells // p.cells, fresh, self.n_columns)]
        if fresh.size == 0:
            return keep
        picks = np.argsort(self.rng.random((fresh.size, p.cells)), axis=1)[:, : p.sdr_size]
        drawn = (picks + fresh[:, None] * p.cells).reshape(-1)
        return union_ints(keep, drawn)

    def _support(self, prev: np.ndarray) -> np.ndarray:
        """Votes per cell: the most sources (own column + neighbours) with an active distal segment
        among the segments one learning episode (object) grew on the cell.

        The same activity (the same input on an unchanged store, as from one sensation to the next
        once the columns agree) gives the same support, kept read-only.  From the second call on an
        unchanged store, every segment carries the dense label of its group (cell, episode), so
        the votes are counted without a sort (:func:`columns.kernels.group_max_counts`).
        """
        store = self.distal
        act = store.compute_activity(prev)
        self.n_active_synapses += act.n_active_synapses
        cache = self._support_cache
        same = (cache is not None and cache[0] is store and cache[1] == store.version
                and cache[2] is self._seg_episode)
        if same and cache[3] is act:
            return cache[4]
        labels = cache[5] if same else None
        segs = act.active_segments(self.params.distal_threshold)
        support = np.zeros(self.n_cells, dtype=np.int64)
        if segs.size:
            if labels is None and same:
                n = store.n_segment_slots
                episode = np.zeros(n, dtype=np.int64)
                m = min(n, self._seg_episode.size)
                episode[:m] = self._seg_episode[:m]
                span = int(episode.max(initial=0)) + 1
                label, keys = group_labels(store.segment_cell.astype(np.int64) * span + episode)
                owner = keys // span  # a free slot's group has owner -1 and is never active
                labels = (label, owner, owner_runs(owner))
            if labels is not None:
                support = group_max_counts(labels[0][segs], labels[1], self.n_cells, labels[2])
            else:
                span = int(self._episode) + 1
                groups, votes = unique_counts(store.segment_cell[segs].astype(np.int64) * span
                                              + self._seg_episode[segs])
                np.maximum.at(support, groups // span, votes)
        support.setflags(write=False)
        self._support_cache = (store, store.version, self._seg_episode, act, support, labels)
        return support

    def _infer(self, ff: np.ndarray, prev: np.ndarray) -> np.ndarray:
        p = self.params
        P = p.cells
        self.n_active_synapses = 0
        prox = self.proximal.compute_activity(ff)
        self.n_active_synapses += prox.n_active_synapses
        cache = self._ff_cache
        if cache is not None and cache[0] is prox:  # the store's own result for the same input: same cells
            ff_cells = cache[1]
        else:
            ff_cells = unique_ints(self.proximal.segment_cell[prox.active_segments(p.proximal_threshold)])
            self._ff_cache = (prox, ff_cells)
        self.feedforward_cells = ff_cells.astype(np.int32)
        support = self._support(prev) if prev.size else np.zeros(self.n_cells, dtype=np.int64)
        self.support = support
        C = self.n_columns
        chosen, n_chosen = admit_by_support(ff_cells, support.__getitem__, prev, C, p)
        # 3. still short: a share of the remaining feed-forward cells, at least the discrepancy
        discrepancy = np.maximum(p.sdr_size - n_chosen, 0)
        if discrepancy.any():
            rem = setdiff_ints(ff_cells, chosen)
            rc = rem // P
            n_rem = np.bincount(rc, minlength=C)
            quota = np.minimum(np.maximum(n_rem * discrepancy // p.sdr_size, discrepancy), n_rem)
            pick = sample_per_row(rc, C, quota, self.rng)
            chosen = union_ints(chosen, rem[pick])
        return chosen

    # ------------------------------------------------------------- learning
    def _learn(self, cells: np.ndarray, ff: np.ndarray, growth: np.ndarray, prev: np.ndarray) -> None:
        p = self.params
        P = p.cells
        if ff.size:
            # proximal: one segment per (cell, sensation of the object), see begin_sensation;
            # or one dendrite per cell for every object and sensation (per_cell)
            which = "cell" if p.proximal_dendrites == "per_cell" else "prox"
            segs = self._object_segments(self.proximal, which, cells.astype(np.int64), cells)
            act = self.proximal.compute_activity(ff)
            self._reinforce_and_grow(self.proximal, which, cells.astype(np.int64), cells, segs, act.packed, ff,
                                     column_candidates(cells // P, growth, self.ff_size, self.n_columns),
                                     p.proximal_increment, p.proximal_decrement, p.proximal_sample_size,
                                     p.proximal_initial_permanence)
        if prev.size:
            # distal: one segment per (cell, source column, object), for sources with activity
            src_cols = unique_ints(prev // P)
            pair_cell = np.repeat(cells, src_cols.size)
            pair_src = np.tile(src_cols, cells.size)
            ok = self.sources[pair_cell // P, pair_src]
            pair_cell, pair_src = pair_cell[ok], pair_src[ok]
            if pair_cell.size == 0:
                return
            keys = pair_cell.astype(np.int64) * self.n_columns + pair_src
            which = "src" if p.distal_dendrites == "per_source" else "dist"
            segs = self._object_segments(self.distal, which, keys, pair_cell)
            act = self.distal.compute_activity(prev)
            self._reinforce_and_grow(self.distal, which, keys, pair_cell, segs, act.packed, prev,
                                     column_candidates(pair_src, prev, P, self.n_columns),
                                     p.distal_increment, p.distal_decrement, p.distal_sample_size,
                                     p.distal_initial_permanence)

    def _reinforce_and_grow(self, store: DendriteStore, which: str, keys: np.ndarray, cells: np.ndarray,
                            segs: np.ndarray, packed: np.ndarray, active: np.ndarray,
                            candidates: tuple[np.ndarray, np.ndarray], inc: float, dec: float,
                            sample_size: int, initial: float) -> None:
        """Hebbian update of this object's segments, then top each up to ``sample_size`` active synapses."""
        in_packed = segs < packed.size
        potential = np.zeros(segs.size, dtype=np.int64)
        potential[in_packed] = packed[segs[in_packed]] & 0xFF
        rule = self.proximal_rule if store is self.proximal else self.distal_rule
        rule.learn(store, segs, active, post_active=cells, t=store.timestep)
        dead = store.segment_cell[segs] < 0
        if dead.any():  # a segment emptied by depression is gone: start a fresh one
            self._forget(which, keys[dead])
            segs = self._object_segments(store, which, keys, cells)
            potential[dead] = 0
        store.grow_synapses(segs, candidates, sample_size - potential, initial, self.rng)

    def _object_segments(self, store: DendriteStore, which: str, keys: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """This object's segment for each key (creating the missing ones on ``cells``).

        ``which == "cell"``: the cell's one proximal dendrite, whatever the object (read from
        the store, so it survives reset, save and load).
        """
        if which == "cell":
            return self._cell_segments(store, cells)
        known = getattr(self, f"_obj_{which}_keys")
        segs_of = getattr(self, f"_obj_{which}_segs")
        idx = np.searchsorted(known, keys)
        found = np.zeros(keys.size, dtype=bool)
        if known.size:
            found = known[np.minimum(idx, known.size - 1)] == keys
        if not found.all():
            new_keys = keys[~found]
            new_segs = store.create_segments(cells[~found])
            if which in ("dist", "src"):
                need = int(new_segs.max()) + 1
                if self._seg_episode.size < need:
                    grown = np.zeros(max(need, 2 * self._seg_episode.size), dtype=np.int64)
                    grown[: self._seg_episode.size] = self._seg_episode
                    self._seg_episode = grown
                # per_source dendrites serve every object: one group per cell
                self._seg_episode[new_segs] = self._episode if which == "dist" else 0
            order = np.argsort(new_keys, kind="stable")
            at = np.searchsorted(known, new_keys[order])
            known = np.insert(known, at, new_keys[order])
            segs_of = np.insert(segs_of, at, new_segs[order])
            setattr(self, f"_obj_{which}_keys", known)
            setattr(self, f"_obj_{which}_segs", segs_of)
            idx = np.searchsorted(known, keys)
        return segs_of[idx]

    @staticmethod
    def _cell_segments(store: DendriteStore, cells: np.ndarray) -> np.ndarray:
        """The one live segment of each of ``cells`` (distinct), created where a cell has none."""
        owner = store.segment_cell
        live = np.flatnonzero(owner >= 0)
        by_cell = np.full(store.n_cells, -1, dtype=np.int64)
        by_cell[owner[live]] = live
        segs = by_cell[cells]
        missing = segs < 0
        if missing.any():
            segs[missing] = store.create_segments(np.asarray(cells)[missing])
        return segs

    def _forget(self, which: str, keys: np.ndarray) -> None:
        if which == "cell":
            return
        known = getattr(self, f"_obj_{which}_keys")
        keep = ~np.isin(known, keys)
        setattr(self, f"_obj_{which}_keys", known[keep])
        setattr(self, f"_obj_{which}_segs", getattr(self, f"_obj_{which}_segs")[keep])
