"""Sorted-set kernels of columns.kernels against numpy's own (obviously correct) functions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from columns.kernels import (group_max_counts, owner_runs, intersect_ints, setdiff_ints, sort_ints, union_ints, unique_counts,
                             unique_ints)

# int arrays shaped like a layer's inputs: random, sorted, or a few sorted runs (long runs take
# the stable-sort path, short ones the quicksort, int64 values the int32 quicksort)
_runs = st.lists(st.lists(st.integers(0, 2**31 - 1), max_size=300).map(sorted), max_size=6)
_values = st.one_of(
    st.lists(st.integers(0, 2**31 - 1), max_size=600).map(lambda v: [v]),
    st.lists(st.integers(0, 50), max_size=600).map(lambda v: [v]),
    _runs,
)


def _array(runs: list[list[int]], dtype: str) -> np.ndarray:
    flat = [v for run in runs for v in run]
    return np.array(flat, dtype=dtype)


@settings(max_examples=200, deadline=None)
@given(_values, st.sampled_from(["int32", "int64"]))
def test_sort_and_unique_match_numpy(runs: list[list[int]], dtype: str) -> None:
    x = _array(runs, dtype)
    before = x.copy()
    s = sort_ints(x)
    assert s.dtype == x.dtype and s.tolist() == sorted(before.tolist())
    assert s is not x
    u = unique_ints(x)
    assert u.dtype == x.dtype and u.tolist() == np.unique(before).tolist()
    values, counts = unique_counts(x)
    ref_values, ref_counts = np.unique(before, return_counts=True)
    assert values.tolist() == ref_values.tolist() and counts.tolist() == ref_counts.tolist()
    np.testing.assert_array_equal(x, before)  # inputs are not modified


def test_sort_ints_negative_and_large_values() -> None:
    x = np.array([5, -3, 2**40, 0, -3, 7] * 100, dtype=np.int64)  # not int32-safe: the plain sort
    assert sort_ints(x).tolist() == sorted(x.tolist())
    assert unique_ints(x).tolist() == sorted(set(x.tolist()))


@given(st.lists(st.lists(st.integers(0, 40), max_size=30), min_size=1, max_size=4))
def test_set_operations_match_numpy(arrays: list[list[int]]) -> None:
    arrs = [np.unique(np.array(a, dtype=np.int64)) for a in arrays]
    assert union_ints(*arrs).tolist() == np.unique(np.concatenate(arrs)).tolist()
    a, b = arrs[0], arrs[-1][::-1]  # b unsorted
    assert setdiff_ints(a, b).tolist() == np.setdiff1d(a, b).tolist()
    assert intersect_ints(a, b).tolist() == np.intersect1d(a, b).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 4)), max_size=80), st.integers(1, 5))
def test_group_max_counts_matches_python(items: list[tuple[int, int]], extra_groups: int) -> None:
    # items: (owner, label) pairs; a group is one (owner, label); per owner the largest group
    keys = sorted({k for k in items})
    group_of = {k: i for i, k in enumerate(keys)}
    group_owner = np.array([o for o, _ in keys] + [0] * extra_groups, dtype=np.int64)  # unused groups too
    groups = np.array([group_of[k] for k in items], dtype=np.int32)
    expected = [0] * 10
    for (o, lab) in set(items):
        expected[o] = max(expected[o], items.count((o, lab)))
    assert group_max_counts(groups, group_owner, 10).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 9), st.integers(0, 4)), max_size=80), st.integers(0, 30),
       st.integers(0, 80))
def test_group_max_counts_segmented_path_matches_python(pairs: list[tuple[int, int]], n_items: int,
                                                        seed: int) -> None:
    # groups numbered owner by owner (free groups, owner -1, first), as group_labels gives them;
    # few items take the scatter, many the segmented maximum over owner_runs: both must agree
    keys = sorted(set(pairs))
    group_owner = np.array([o for o, _ in keys], dtype=np.int64)
    runs = owner_runs(group_owner)
    assert runs is not None
    live = [g for g, (o, _) in enumerate(keys) if o >= 0]
    rng = np.random.default_rng(seed)
    groups = rng.choice(live, size=n_items).astype(np.int32) if live else np.zeros(0, dtype=np.int32)
    expected = [0] * 10
    for g in set(groups.tolist()):
        o = keys[g][0]
        expected[o] = max(expected[o], groups.tolist().count(g))
    assert group_max_counts(groups, group_owner, 10, runs).tolist() == expected
    assert group_max_counts(groups, group_owner, 10).tolist() == expected
    assert owner_runs(group_owner[::-1]) is None or len(set(group_owner.tolist())) <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 7)), max_size=60),
       st.lists(st.integers(0, 6), min_size=5, max_size=5), st.integers(0, 8))
def test_tier_admission_admits_whole_tiers_from_the_top(cands: list[tuple[int, int]], already: list[int],
                                                         quota: int) -> None:
    # L2/3 admission: a candidate enters when its column's earlier choices plus the candidates of
    # the same column with strictly higher support stay below the quota (a tier enters whole or not)
    from columns.layers.l23 import _tier_admission

    column = np.array([c for c, _ in cands], dtype=np.int64)
    support = np.array([s for _, s in cands], dtype=np.int64)
    got = _tier_admission(column, support, np.array(already, dtype=np.int64), quota)
    expected = [already[c] + sum(1 for c2, s2 in cands if c2 == c and s2 > s) < quota for c, s in cands]
    assert got.tolist() == expected
