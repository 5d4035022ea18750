"""Event-driven sparse kernels shared by every dendrite store.

These are the small, allocation-conscious numpy building blocks that
:class:`columns.dendrites.DendriteStore` composes.  None of them loops in Python
over segments, cells or columns: each is a fixed number of vectorised passes
over the *touched* elements only (active synapses, learning segments).

Conventions: index arrays are ``int32`` (cells, segments) or ``int64`` (synapse
slots, which may exceed 2**31 in very large stores); permanences are ``float32``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "expand_ranges",
    "member_mask",
    "isin_sorted",
    "sort_ints",
    "unique_ints",
    "unique_counts",
    "union_ints",
    "setdiff_ints",
    "intersect_ints",
    "group_ranks",
    "group_labels",
    "group_max_counts",
    "owner_runs",
    "as_index_array",
    "mark",
    "sample_per_row",
    "radix_argsort_int32",
]


def as_index_array(values: object, name: str, upper: int) -> np.ndarray:
    """Validate ``values`` as integer indices in ``[0, upper)`` and return them as int64.

    Raises ``ValueError`` naming ``name`` and the offending value for floats,
    negatives and out-of-range entries.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "b":
        raise ValueError(f"{name}: expected integer indices, got a boolean array (use np.flatnonzero)")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            raise ValueError(f"{name}: expected integer indices, got float array (dtype {arr.dtype})")
        raise ValueError(f"{name}: expected integer indices, got dtype {arr.dtype}")
    lo = arr.min()
    hi = arr.max()
    if lo < 0:
        raise ValueError(f"{name}: negative index {int(lo)}")
    if hi >= upper:
        raise ValueError(f"{name}: index {int(hi)} out of range [0, {upper})")
    return arr.astype(np.int64, copy=False)


def expand_ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(starts[i], stops[i])`` for all ``i`` without a Python loop.

    Parameters
    ----------
    starts, stops : int arrays of equal shape ``(k,)`` with ``stops >= starts``.

    Returns
    -------
    int64 array of length ``sum(stops - starts)``.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(stops, dtype=np.int64) - starts
    keep = lengths > 0
    if not keep.all():
        starts, lengths = starts[keep], lengths[keep]
    if starts.size == 0:
        return np.zeros(0, dtype=np.int64)
    # a run of +1 steps, with a jump at the first element of every range; one cumsum
    ends = np.cumsum(lengths)
    out = np.ones(int(ends[-1]), dtype=np.int64)
    out[0] = starts[0]
    out[ends[:-1]] = starts[1:] - starts[:-1] - lengths[:-1] + 1
    np.cumsum(out, out=out)
    return out


def group_ranks(sorted_groups: np.ndarray) -> np.ndarray:
    """Rank of each element inside its run, for an array already sorted by group.

    ``group_ranks([3, 3, 5, 7, 7, 7]) -> [0, 1, 0, 0, 1, 2]``.
    """
    n = sorted_groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)


def group_labels(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense labels of integer keys: ``(label of each key (int32), the distinct keys, sorted)``.

    ``distinct[label[i]] == keys[i]``; labels follow the sorted order of the keys.
    """
    keys = np.asarray(keys).reshape(-1)
    if keys.size == 0:
        return np.zeros(0, dtype=np.int32), keys.copy()
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.empty(keys.size, dtype=bool)
    first[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    labels = np.empty(keys.size, dtype=np.int32)
    labels[order] = np.cumsum(first) - 1
    return labels, sorted_keys[first]


def group_max_counts(groups: np.ndarray, group_owner: np.ndarray, n_owners: int,
                     owner_runs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per owner, the most items that fall in one of its groups (int64 ``(n_owners,)``, 0 for none).

    ``groups``: the group label of every item (ints below ``group_owner.size``);
    ``group_owner``: the owner of every group (int64; a negative owner is nobody's);
    ``owner_runs``: :func:`owner_runs` of ``group_owner`` when its groups come owner by owner.
    A bincount over the labels, then the maximum per owner: one segmented maximum over all
    groups when the items are many (given ``owner_runs``), else one maximum scatter over the
    items.  Linear, no sort.
    """
    out = np.zeros(int(n_owners), dtype=np.int64)
    if groups.size == 0:
        return out
    counts = np.bincount(groups, minlength=group_owner.size)
    if owner_runs is not None and 4 * groups.size >= group_owner.size:
        starts, owners = owner_runs
        if starts.size:
            out[owners] = np.maximum.reduceat(counts, starts)
    else:
        np.maximum.at(out, group_owner[groups], counts[groups])
    return out


def owner_runs(group_owner: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """For :func:`group_max_counts`: the first group of every owner's run and that owner, over
    the owners >= 0 -- or None when ``group_owner`` is not sorted (groups not owner by owner)."""
    group_owner = np.asarray(group_owner).reshape(-1)
    if group_owner.size == 0:
        return np.zeros(0, dtype=np.int64), group_owner.copy()
    if not (group_owner[1:] >= group_owner[:-1]).all():
        return None
    starts = np.flatnonzero(_run_starts(group_owner))
    owners = group_owner[starts]
    # the negative owners come first: the runs from the first owner >= 0 cover the rest
    valid = owners >= 0
    return starts[valid], owners[valid]


def mark(scratch: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Set ``scratch[indices] = True`` and return ``scratch`` (caller must clear it again)."""
    scratch[indices] = True
    return scratch


def sample_per_row(
    row_of_item: np.ndarray,
    n_rows: int,
    quota: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Choose up to ``quota[r]`` items uniformly without replacement from each row ``r``.

    Parameters
    ----------
    row_of_item : int array ``(m,)``, the row each candidate item belongs to.
    n_rows : number of rows.
    quota : int array ``(n_rows,)``, how many items each row may keep.
    rng : random generator.

    Returns
    -------
    Boolean mask ``(m,)`` over the items, True for the chosen ones.
    """
    m = row_of_item.size
    if m == 0:
        return np.zeros(0, dtype=bool)
    sizes = np.bincount(row_of_item, minlength=n_rows)
    if np.all(quota >= sizes):
        return np.ones(m, dtype=bool)  # every row keeps all its items: no draw needed
    # one argsort of row + uniform key in [0, 1): rows stay grouped, items shuffled within
    order = np.argsort(row_of_item + rng.random(m))
    ranks = np.empty(m, dtype=np.int64)
    ranks[order] = group_ranks(row_of_item[order])
    return ranks < quota[row_of_item]


def radix_argsort_int32(values: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative int32 values in two 16-bit radix passes.

    numpy sorts 16-bit keys with a linear-time radix sort, so two passes (low
    half, then high half) give a stable O(n) argsort of 32-bit keys; it is
    several times faster than a comparison sort on tens of millions of keys.
    """
    v = np.asarray(values)
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    u = v.astype(np.uint32, copy=False)
    low = (u & 0xFFFF).astype(np.uint16)
    order = np.argsort(low, kind="stable")
    if int(u.max()) > 0xFFFF:
        high = (u[order] >> 16).astype(np.uint16)
        order = order[np.argsort(high, kind="stable")]
    return order


def member_mask(values: np.ndarray, members: np.ndarray, size: int) -> np.ndarray:
    """``np.isin(values, members)`` for non-negative ints below ``size``, by a flag table.

    Linear time with one ``size``-byte table; much cheaper than sorting for the small
    arrays a layer handles per step.
    """
    flags = np.zeros(size, dtype=bool)
    flags[members] = True
    return flags[values]


def isin_sorted(values: np.ndarray, sorted_members: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_members)`` for a sorted ``sorted_members``, by binary search."""
    if sorted_members.size == 0:
        return np.zeros(np.shape(values), dtype=bool)
    idx = np.searchsorted(sorted_members, values)
    np.minimum(idx, sorted_members.size - 1, out=idx)
    return sorted_members[idx] == values


# Sorted-set operations on integer index arrays.  numpy 2.4's np.unique is hash based and,
# with np.union1d / np.setdiff1d / np.intersect1d / np.isin built on it, costs several times a
# plain sort for the few hundred indices a layer handles per step.
def sort_ints(x: np.ndarray) -> np.ndarray:
    """Sorted copy of a 1-D integer array, cheapest for the inputs a layer hands over.

    A layer's index arrays are mostly sorted already, or a few sorted runs: the concatenation
    of sorted arrays, or the cells of segments that were created in cell order.  One linear
    pass counts the descents: none, no sort; runs averaging 64 or more elements, numpy's
    stable sort (a timsort that merges the runs, several times faster than a quicksort on
    such input); otherwise a quicksort, on int32 when int64 values fit (about twice as fast).
    """
    x = np.asarray(x).reshape(-1)
    out = _sorted_or_same(x)
    return out.copy() if out is x else out


def _sorted_or_same(x: np.ndarray) -> np.ndarray:
    """:func:`sort_ints` of a 1-D array, returning ``x`` itself when it is sorted already."""
    n = x.size
    if n < 2:
        return x
    descents = int(np.count_nonzero(x[1:] < x[:-1]))
    if descents == 0:
        return x
    if n >= 64 * (descents + 1):
        return np.sort(x, kind="stable")
    if x.dtype == np.int64 and n >= 256 and 0 <= x.min() and x.max() <= np.iinfo(np.int32).max:
        return np.sort(x.astype(np.int32)).astype(np.int64)
    return np.sort(x)


def _sorted(x: np.ndarray) -> np.ndarray:
    return _sorted_or_same(np.asarray(x).reshape(-1))


def _run_starts(x: np.ndarray) -> np.ndarray:
    """Mask of the first element of every run of equal values in a sorted non-empty array."""
    first = np.empty(x.size, dtype=bool)
    first[0] = True
    np.not_equal(x[1:], x[:-1], out=first[1:])
    return first


def unique_ints(x: np.ndarray) -> np.ndarray:
    """Sorted unique values of an integer array (sort-based ``np.unique``)."""
    x = _sorted_or_same(np.asarray(x).reshape(-1))
    return x[_run_starts(x)] if x.size else x.copy()


def unique_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and their counts (sort-based ``np.unique(return_counts=True)``)."""
    x = _sorted_or_same(np.asarray(x).reshape(-1))
    if x.size == 0:
        return x.copy(), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(_run_starts(x))
    counts = np.empty(starts.size, dtype=np.int64)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = x.size - starts[-1]
    return x[starts], counts


def union_ints(*arrays: np.ndarray) -> np.ndarray:
    """Sorted union of integer arrays."""
    return unique_ints(np.concatenate([np.asarray(a).reshape(-1) for a in arrays]))


def setdiff_ints(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elements of ``a`` not in ``b`` (order of ``a`` kept; ``a`` sorted unique gives a sorted result)."""
    return a[~isin_sorted(a, _sorted(np.asarray(b)))]


def intersect_ints(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elements of ``a`` that are in ``b`` (order of ``a`` kept)."""
    return a[isin_sorted(a, _sorted(np.asarray(b)))]
