"""DendriteStore and kernels against a plain, obviously correct reference model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from columns.dendrites import DendriteStore
from columns.kernels import expand_ranges, group_ranks, radix_argsort_int32, sample_per_row


class ReferenceStore:
    """Dict-of-dicts model: segment id -> (cell, {presynaptic: permanence})."""

    def __init__(self, threshold: float, max_syn: int) -> None:
        self.threshold = np.float32(threshold)
        self.max_syn = max_syn
        self.segments: dict[int, tuple[int, dict[int, np.float32]]] = {}

    def activity(self, active: set[int], n_slots: int) -> tuple[np.ndarray, np.ndarray]:
        conn = np.zeros(n_slots, dtype=np.int64)
        pot = np.zeros(n_slots, dtype=np.int64)
        for s, (_, syn) in self.segments.items():
            for p, perm in syn.items():
                if p in active:
                    pot[s] += 1
                    conn[s] += perm >= self.threshold
        return conn, pot

    def adapt(self, segs, active, inc, dec, punish_only=False) -> None:
        for s in set(segs):
            cell, syn = self.segments[s]
            for p in list(syn):
                if p in active:
                    delta = -np.float32(dec) if punish_only else np.float32(inc)
                elif punish_only:
                    continue
                else:
                    delta = -np.float32(dec)
                v = np.float32(np.clip(syn[p] + delta, 0.0, 1.0))
                if v <= 0:
                    del syn[p]
                else:
                    syn[p] = v
            if not syn:
                del self.segments[s]

    def grow_all(self, seg, cands, perm) -> None:
        cell, syn = self.segments[seg]
        for p in cands:
            syn.setdefault(int(p), np.float32(perm))


def _compare(store: DendriteStore, ref: ReferenceStore, n_pre: int, rng: np.random.Generator) -> None:
    # invariant of the segment-major index (merged, not re-sorted, by compact): a permutation
    # of the sorted run's slots in ascending segment order
    by_seg = store._by_seg[: store._n_main]
    assert np.array_equal(np.sort(by_seg), np.arange(store._n_main))
    assert np.all(np.diff(store._seg_ptr) >= 0)
    keys = store._syn_seg[by_seg]
    live = keys >= 0
    assert np.all(np.diff(keys[live]) >= 0)
    live = {int(s) for s in np.flatnonzero(store.segment_cell >= 0)}
    assert live == set(ref.segments)
    for s in live:
        pre, perm = store.synapses_of(s)
        cell, syn = ref.segments[s]
        assert store.segment_cell[s] == cell
        assert list(pre) == sorted(syn)
        np.testing.assert_allclose(perm, [syn[p] for p in sorted(syn)], rtol=0, atol=1e-6)
        assert store.segment_synapse_count[s] == len(syn)
    active = np.zeros(0, dtype=np.int64)
    for i in range(6):
        if i % 2 and active.size:
            # a small change of the last input (a union narrowing or growing while a region
            # settles) takes the store's difference update; the counts must be the same
            flip = np.unique(rng.integers(0, n_pre, size=rng.integers(1, 4)))
            active = np.setxor1d(active, flip)
            rng.shuffle(active)  # inputs need not be sorted
        else:
            active = np.unique(rng.integers(0, n_pre, size=rng.integers(0, n_pre + 1)))
        conn, pot = ref.activity(set(active.tolist()), store.n_segment_slots)
        act = store.compute_activity(active)
        np.testing.assert_array_equal(act.connected, conn)
        np.testing.assert_array_equal(act.potential, pot)
        for threshold in (1, 2, 4):
            np.testing.assert_array_equal(act.active_segments(threshold), np.flatnonzero(conn >= threshold))
            np.testing.assert_array_equal(act.matching_segments(threshold), np.flatnonzero(pot >= threshold))
    assert store.n_synapses == sum(len(v[1]) for v in ref.segments.values())
    assert store.n_segments == len(ref.segments)
    np.testing.assert_array_equal(
        store.cell_segment_count,
        np.bincount([c for c, _ in ref.segments.values()], minlength=store.n_cells),
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    min_merge=st.sampled_from([1, 4, 1 << 15]),
    compiled_gather=st.booleans(),
    compiled_scatter=st.booleans(),
)
def test_store_matches_reference_under_random_operations(seed: int, min_merge: int, compiled_gather: bool,
                                                         compiled_scatter: bool) -> None:
    import columns.dendrites as dendrites

    original = dendrites._csr_row_index, dendrites._csr_todense
    if not compiled_gather:
        dendrites._csr_row_index = None  # exercise the pure-numpy gather
    if not compiled_scatter:
        dendrites._csr_todense = None  # exercise np.add.at
    try:
        _random_operations(seed, min_merge)
    finally:
        dendrites._csr_row_index, dendrites._csr_todense = original


def _random_operations(seed: int, min_merge: int) -> None:
    rng = np.random.default_rng(seed)
    n_cells, n_pre = 12, 30
    store = DendriteStore(n_cells, n_pre, 0.5, max_synapses_per_segment=255, min_merge=min_merge, merge_fraction=0.1)
    ref = ReferenceStore(0.5, 255)
    for _ in range(25):
        op = rng.integers(0, 5)
        live = np.flatnonzero(store.segment_cell >= 0)
        if op == 0 or live.size == 0:
            cells = rng.integers(0, n_cells, size=rng.integers(1, 4))
            ids = store.create_segments(cells)
            for s, c in zip(ids.tolist(), cells.tolist()):
                ref.segments[s] = (c, {})
            # grow everything offered (deterministic: quota >= candidates)
            cands = np.unique(rng.integers(0, n_pre, size=8))
            perm = np.float32(0.45 + 0.1 * rng.random())
            store.grow_synapses(ids, cands, 255, perm, rng)
            for s in ids.tolist():
                ref.grow_all(s, cands, perm)
        elif op == 1:
            segs = rng.choice(live, size=min(live.size, 3), replace=False)
            active = np.unique(rng.integers(0, n_pre, size=10))
            inc, dec = 0.1, float(rng.choice([0.02, 0.3, 0.6]))
            store.adapt_segments(segs, active, inc, dec)
            ref.adapt(segs.tolist(), set(active.tolist()), inc, dec)
        elif op == 2:
            segs = rng.choice(live, size=min(live.size, 2), replace=False)
            active = np.unique(rng.integers(0, n_pre, size=12))
            store.punish_segments(segs, active, 0.25)
            ref.adapt(segs.tolist(), set(active.tolist()), 0.0, 0.25, punish_only=True)
        elif op == 3:
            segs = rng.choice(live, size=1)
            store.destroy_segments(segs)
            del ref.segments[int(segs[0])]
        else:
            segs = rng.choice(live, size=min(live.size, 2), replace=False)
            cands = np.unique(rng.integers(0, n_pre, size=10))
            before = {int(s): set(store.synapses_of(int(s))[0].tolist()) for s in segs}
            store.grow_synapses(segs, cands, 255, 0.7, rng)
            for s in segs.tolist():
                for p in sorted(set(cands.tolist()) - before[s]):
                    ref.segments[s][1][p] = np.float32(0.7)
        _compare(store, ref, n_pre, rng)
    store.compact()
    _compare(store, ref, n_pre, rng)
    rebuilt = DendriteStore.from_arrays(store.to_arrays())
    _compare(rebuilt, ref, n_pre, rng)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), quota=st.integers(0, 12))
def test_growth_samples_without_duplicates_within_quota(seed: int, quota: int) -> None:
    rng = np.random.default_rng(seed)
    store = DendriteStore(5, 40, 0.5)
    segs = store.create_segments(np.array([0, 1, 2]))
    store.grow_synapses(segs[:1], np.arange(0, 40, 3), 5, 0.6, rng)
    before = set(store.synapses_of(int(segs[0]))[0].tolist())
    cands = np.unique(rng.integers(0, 40, size=15))
    grown = store.grow_synapses(segs, cands, np.array([quota, quota, 0]), 0.6, rng)
    total = 0
    for i, s in enumerate(segs.tolist()):
        if store.segment_cell[s] < 0:
            continue  # an empty segment stays alive; only a segment emptied by learning is destroyed
        pre, _ = store.synapses_of(s)
        assert np.unique(pre).size == pre.size
        new = set(pre.tolist()) - (before if i == 0 else set())
        assert new <= set(cands.tolist())
        expected = 0 if i == 2 else min(quota, len(set(cands.tolist()) - (before if i == 0 else set())))
        assert len(new) == expected
        total += len(new)
    assert grown == total


def test_per_segment_candidate_lists_are_respected() -> None:
    rng = np.random.default_rng(1)
    store = DendriteStore(4, 100, 0.5)
    segs = store.create_segments(np.array([0, 3]))
    indptr = np.array([0, 3, 6])
    indices = np.array([1, 2, 3, 50, 60, 70])
    store.grow_synapses(segs, (indptr, indices), 10, 0.6, rng)
    assert store.synapses_of(int(segs[0]))[0].tolist() == [1, 2, 3]
    assert store.synapses_of(int(segs[1]))[0].tolist() == [50, 60, 70]


def test_synapse_cap_removes_weakest() -> None:
    rng = np.random.default_rng(2)
    store = DendriteStore(2, 50, 0.5, max_synapses_per_segment=5)
    seg = store.create_segments(np.array([0]))
    store.grow_synapses(seg, np.arange(5), 5, 0.6, rng)
    store.adapt_segments(seg, np.array([0, 1, 2]), 0.1, 0.05)  # 3, 4 weaken to 0.55
    store.grow_synapses(seg, np.array([10, 11]), 2, 0.3, rng)
    pre, perm = store.synapses_of(int(seg[0]))
    assert pre.tolist() == [0, 1, 2, 10, 11]
    assert store.segment_synapse_count[seg[0]] == 5


def test_segment_cap_evicts_least_recently_used() -> None:
    store = DendriteStore(3, 10, 0.5, max_segments_per_cell=2)
    store.timestep = 1
    a = store.create_segments(np.array([1]))
    store.timestep = 2
    b = store.create_segments(np.array([1]))
    store.timestep = 3
    c = store.create_segments(np.array([1]))
    live = set(np.flatnonzero(store.segment_cell == 1).tolist())
    assert int(a[0]) not in live or int(c[0]) == int(a[0])  # a evicted (its id may be reused by c)
    assert int(b[0]) in live and int(c[0]) in live
    assert store.cell_segment_count[1] == 2


def test_store_stays_bounded_under_endless_learning() -> None:
    rng = np.random.default_rng(3)
    n_cells, n_pre = 64, 512
    store = DendriteStore(n_cells, n_pre, 0.5, max_segments_per_cell=4, max_synapses_per_segment=16,
                          min_merge=256)
    sizes = []
    for t in range(600):
        store.timestep = t
        cells = rng.choice(n_cells, size=8, replace=False)
        segs = store.create_segments(cells)
        store.grow_synapses(segs, rng.choice(n_pre, size=40, replace=False), 12, 0.55, rng)
        act = store.compute_activity(rng.choice(n_pre, size=40, replace=False))
        learn = act.matching_segments(1)
        store.adapt_segments(learn, rng.choice(n_pre, size=40, replace=False), 0.05, 0.02)
        sizes.append(store.n_synapses)
    assert store.n_segments <= n_cells * 4
    assert max(sizes) <= n_cells * 4 * 16
    assert store.nbytes < 64 * n_cells * 4 * 16 + 100_000


def test_difference_update_equals_a_fresh_count() -> None:
    rng = np.random.default_rng(3)
    store = DendriteStore(200, 500, 0.5)
    segs = store.create_segments(rng.integers(0, 200, size=400))
    store.grow_synapses(segs, np.arange(500), 20, 0.55, rng)
    store.update_permanences(store.live_synapses().slots[::3], -0.3)  # some synapses not connected
    union = rng.choice(500, size=300, replace=False)
    first = store.compute_activity(union)
    kept = union[:250]  # the union narrows: 50 cells leave
    narrowed = store.compute_activity(kept)
    assert narrowed.n_active_synapses < first.n_active_synapses / 2  # only the 50 cells were visited
    with pytest.raises(RuntimeError, match="overwritten"):
        _ = first.packed  # the buffer was updated in place
    fresh = DendriteStore.from_arrays(store.to_arrays()).compute_activity(kept)
    np.testing.assert_array_equal(narrowed.packed, fresh.packed)


@pytest.mark.parametrize("compiled", [True, False])
def test_pending_index_gives_the_scanned_counts(compiled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unchanged store indexes its pending run by presynaptic cell (from the third gather on):
    the counts equal a fresh count, and a change of the store drops the index."""
    import columns.dendrites as dendrites

    if not compiled:
        monkeypatch.setattr(dendrites, "_csr_row_index", None)
        monkeypatch.setattr(dendrites, "_csr_todense", None)
    rng = np.random.default_rng(5)
    store = DendriteStore(100, 300, 0.5, min_merge=1 << 20)  # everything stays pending
    segs = store.create_segments(rng.integers(0, 100, size=200))
    store.grow_synapses(segs, np.arange(300), 15, 0.55, rng)
    store.update_permanences(store.live_synapses().slots[::4], -0.3)
    store.remove_synapses(store.live_synapses().slots[::7])  # tombstones in the pending run
    assert store._n_main == 0 and store._n_dead > 0
    for round_ in range(2):
        fresh = DendriteStore.from_arrays(store.to_arrays() if round_ else _arrays_without_compacting(store))
        for i in range(6):
            active = np.unique(rng.integers(0, 300, size=rng.integers(1, 200)))
            act = store.compute_activity(active)
            np.testing.assert_array_equal(act.packed, fresh.compute_activity(active).packed)
            assert act.n_active_synapses == fresh.compute_activity(active).n_active_synapses
        assert store._pend_index is not None or store._n_total == store._n_main
        if round_ == 0:
            version = store.version
            store.grow_synapses(segs[:20], np.arange(300), 3, 0.6, rng)  # the store changes
            assert store.version != version
            assert store._pending_index() is None  # not rebuilt on the first gather after a change


def _arrays_without_compacting(store: DendriteStore) -> dict[str, np.ndarray]:
    """The store's live synapses as from_synapses arrays (a reference built without the store's merge)."""
    live = store.live_synapses()
    return DendriteStore.from_synapses(store.n_cells, store.n_presynaptic, float(store.connected_threshold),
                                       np.maximum(store.segment_cell, 0), live.segment, live.presynaptic,
                                       live.permanence).to_arrays()


def test_bad_input_is_named() -> None:
    store = DendriteStore(4, 10, 0.5)
    with pytest.raises(ValueError, match="active_presynaptic: index 10 out of range"):
        store.compute_activity(np.array([1, 10]))
    with pytest.raises(ValueError, match="active_presynaptic: negative index -1"):
        store.compute_activity(np.array([-1]))
    with pytest.raises(ValueError, match="float"):
        store.compute_activity(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="cells: index 4 out of range"):
        store.create_segments(np.array([4]))
    seg = store.create_segments(np.array([0]))
    store.destroy_segments(seg)
    with pytest.raises(ValueError, match="destroyed"):
        store.adapt_segments(seg, np.array([1]), 0.1, 0.1)
    with pytest.raises(ValueError, match="connected_threshold"):
        DendriteStore(4, 10, 1.5)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 20)), max_size=30))
def test_expand_ranges_matches_python(pairs: list[tuple[int, int]]) -> None:
    starts = np.array([a for a, _ in pairs], dtype=np.int64)
    stops = starts + np.array([b for _, b in pairs], dtype=np.int64)
    expected = [i for a, b in zip(starts, stops) for i in range(a, b)]
    assert expand_ranges(starts, stops).tolist() == expected


@given(st.lists(st.integers(0, 2**31 - 1), max_size=200))
def test_radix_argsort_is_a_stable_sort(values: list[int]) -> None:
    v = np.array(values, dtype=np.int32)
    assert radix_argsort_int32(v).tolist() == np.argsort(v, kind="stable").tolist()


@given(st.lists(st.integers(0, 5), max_size=60).map(sorted))
def test_group_ranks(groups: list[int]) -> None:
    g = np.array(groups, dtype=np.int64)
    expected = [groups[:i].count(x) for i, x in enumerate(groups)]
    assert group_ranks(g).tolist() == expected


@given(seed=st.integers(0, 1000), sizes=st.lists(st.integers(0, 10), min_size=1, max_size=8), quota=st.integers(0, 12))
def test_sample_per_row_respects_quota(seed: int, sizes: list[int], quota: int) -> None:
    rows = np.repeat(np.arange(len(sizes)), sizes)
    chosen = sample_per_row(rows, len(sizes), np.full(len(sizes), quota), np.random.default_rng(seed))
    counts = np.bincount(rows[chosen], minlength=len(sizes))
    assert counts.tolist() == [min(s, quota) for s in sizes]
