"""Sparse distributed representations (SDRs): algebra, batches, probabilities, encoders.

An SDR of ``size`` bits is stored as its active bits: a sorted, unique ``int32`` index array
(the canonical form). The :class:`SDR` class wraps one such array with a ``size`` and an
optional ``shape`` (e.g. ``(150, 16)`` = minicolumns x cells) and offers dense and coordinate
views. The module-level functions (:func:`overlap`, :func:`union`, :func:`intersection`,
:func:`difference`, :func:`equal`, :func:`sparsity`) work directly on plain sorted ``int32``
arrays, which is what the kernels use in their inner loops; they also accept :class:`SDR`
objects.

Batches of SDRs (one per column, one per learned object, ...) are ``scipy.sparse.csr_array``
matrices of shape ``(n_sdrs, size)`` with boolean data, canonical form (sorted column indices
in each row, no duplicates): see :func:`batch`, :func:`batch_overlap`, :func:`random_batch`,
:func:`add_noise_batch`.

Probabilities (:func:`false_match_probability`, :func:`false_negative_probability`,
:func:`union_fraction_off`) follow Ahmad & Hawkins (2016) and Hawkins, Ahmad & Cui (2017) and
are computed in log space.

Encoders turn values into SDRs: :class:`CategoryEncoder`, :class:`ScalarEncoder`,
:class:`CoordinateEncoder`; each has ``encode(value) -> SDR`` and a batched
``encode_many(values) -> csr_array``.

Examples
--------
>>> import numpy as np
>>> a = SDR(16, [1, 4, 9])
>>> b = SDR(16, [4, 9, 12])
>>> overlap(a, b)
2
>>> (a | b).indices.tolist()
[1, 4, 9, 12]
>>> overlap(np.array([1, 4, 9], np.int32), np.array([4, 9, 12], np.int32))
2
>>> f"{false_match_probability(2048, 40, 20, 10):.2g}"
'3.9e-13'
"""

from __future__ import annotations

import hashlib
import math
import numbers
import struct
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal, overload

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

__all__ = [
    "SDR",
    "IndexArray",
    "validate_indices",
    "overlap",
    "union",
    "intersection",
    "difference",
    "equal",
    "sparsity",
    "random_sdr",
    "add_noise",
    "batch",
    "unbatch",
    "batch_overlap",
    "batch_overlap_sdr",
    "batch_overlap_rows",
    "batch_union_rows",
    "random_batch",
    "add_noise_batch",
    "false_match_probability",
    "false_negative_probability",
    "union_fraction_off",
    "Encoder",
    "CategoryEncoder",
    "ScalarEncoder",
    "CoordinateEncoder",
]

IndexArray = NDArray[np.int32]
"""A sorted, unique ``int32`` array of active-bit indices (the canonical SDR form)."""

_INDEX_DTYPE = np.int32
_MAX_SIZE = int(np.iinfo(np.int32).max)
# Below this length ratio two sorted arrays are intersected by merge (concatenate + sort);
# above it the short one is looked up in the long one by binary search.
_SEARCH_RATIO = 8


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """repr of a value for an error message, numpy scalars shown as plain Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {_show(value)}")
    if not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (numbers.Real, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {_show(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _check_size(size: Any, name: str = "size") -> int:
    size = _check_int(size, name, minimum=1)
    if size > _MAX_SIZE:
        raise ValueError(f"{name} {size} is too large for int32 indices (max {_MAX_SIZE})")
    return size


def _check_shape(shape: Any, name: str = "size") -> tuple[int, ...]:
    """An int size or a tuple shape -> a shape tuple of positive ints."""
    if isinstance(shape, (numbers.Number, np.generic)):
        return (_check_size(shape, name),)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{name} must be a positive int or a tuple of them, got {_show(shape)}") from None
    if not dims:
        raise ValueError(f"{name} must have at least one dimension, got {_show(shape)}")
    dims = tuple(_check_int(d, f"{name} dimension", minimum=1) for d in dims)
    _check_size(math.prod(dims), name)
    return dims


def _check_n_active(n_active: Any, size: int, name: str = "n_active") -> int:
    n_active = _check_int(n_active, name, minimum=0)
    if n_active > size:
        raise ValueError(f"{name} {n_active} is larger than size {size}")
    return n_active


def _check_fraction(fraction: Any, name: str = "fraction") -> float:
    try:
        value = float(fraction)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {_show(fraction)}") from None
    if not 0.0 <= value <= 1.0:  # also rejects nan
        raise ValueError(f"{name} {_show(fraction)} is outside [0, 1]")
    return value


def _generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """Accept a numpy Generator or an integer seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"{name} must be a numpy.random.Generator or a non-negative int seed, got {_show(rng)}")


def _check_index_dtype(array: np.ndarray, name: str) -> None:
    kind = array.dtype.kind
    if kind in "iu":
        return
    if kind == "b":
        raise ValueError(f"{name} is a boolean array; pass active-bit indices, or use SDR.from_dense")
    first = array.flat[0] if array.size else None
    raise ValueError(
        f"{name} must hold integer indices, got a {array.dtype} array (first value {_show(first)})"
    )


def validate_indices(indices: ArrayLike, size: int, name: str = "indices") -> IndexArray:
    """Check and canonicalise an index array for an SDR of ``size`` bits.

    Parameters
    ----------
    indices : array_like of int, shape (n_active,)
        Active-bit indices, in any order.
    size : int
        Number of bits of the SDR.
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of int32, shape (n_active,)
        The indices sorted ascending (a new array unless ``indices`` already was a sorted,
        unique int32 array).

    Raises
    ------
    ValueError
        For non-integer (e.g. float or boolean) input, an index outside ``[0, size)``, or a
        duplicate index; the message names the offending value.
    """
    array = np.asarray(indices)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        return np.empty(0, _INDEX_DTYPE)
    if array.dtype.kind not in "iu":
        _check_index_dtype(array, name)
    if array.size > 1 and not (array[1:] > array[:-1]).all():
        array = np.sort(array)
        repeated = np.flatnonzero(array[1:] == array[:-1])
        if repeated.size:
            raise ValueError(f"duplicate index {int(array[repeated[0]])} in {name}")
    if array[0] < 0:
        raise ValueError(f"index {int(array[0])} out of range for an SDR of size {size} (in {name})")
    if array[-1] >= size:
        raise ValueError(f"index {int(array[-1])} out of range for an SDR of size {size} (in {name})")
    return array.astype(_INDEX_DTYPE, copy=False)


# --------------------------------------------------------------------------------------------
# the SDR value object
# --------------------------------------------------------------------------------------------


class SDR:
    """One sparse distributed representation: a set of active bits out of ``size``.

    Parameters
    ----------
    size : int or tuple of int
        Number of bits, or the shape of the bit array (e.g. ``(150, 16)`` for 150 minicolumns
        of 16 cells; bits are numbered in C order, so cell ``c`` of minicolumn ``m`` is bit
        ``m * 16 + c``).
    indices : array_like of int, shape (n_active,)
        Flat indices of the active bits, any order, no duplicates.

    Notes
    -----
    An SDR is an immutable value: its ``indices`` array is read-only, ``==`` compares shape and
    active bits, and it can be hashed and used as a dict key. The set operators ``|``
    (union), ``&`` (intersection) and ``-`` (difference) return new SDRs.

    Examples
    --------
    >>> s = SDR((3, 4), [1, 6, 11])
    >>> s.size, s.n_active, s.coordinates
    (12, 3, (array([0, 1, 2], dtype=int32), array([1, 2, 3], dtype=int32)))
    >>> SDR.from_dense(s.dense) == s
    True
    """

    __slots__ = ("_shape", "_size", "_indices", "_dense")

    def __init__(self, size: int | Sequence[int], indices: ArrayLike = ()) -> None:
        shape = _check_shape(size)
        total = math.prod(shape)
        array = validate_indices(indices, total)
        if array is indices:
            array = array.copy()
        array.flags.writeable = False
        self._shape = shape
        self._size = total
        self._indices = array
        self._dense: np.ndarray | None = None

    @classmethod
    def _trusted(cls, shape: tuple[int, ...], indices: np.ndarray) -> SDR:
        """Wrap an index array already known to be sorted, unique, int32 and in range."""
        sdr = object.__new__(cls)
        indices.flags.writeable = False
        sdr._shape = shape
        sdr._size = math.prod(shape)
        sdr._indices = indices
        sdr._dense = None
        return sdr

    @classmethod
    def from_dense(cls, array: ArrayLike) -> SDR:
        """Build an SDR from a dense array (its shape becomes the SDR's shape).

        Parameters
        ----------
        array : array_like of bool or numbers, any shape
            Non-zero entries are the active bits.
        """
        dense = np.asarray(array)
        if dense.ndim == 0 or dense.size == 0:
            raise ValueError(f"dense array must have at least one element, got shape {dense.shape}")
        shape = _check_shape(dense.shape, "dense array shape")
        indices = np.flatnonzero(dense).astype(_INDEX_DTYPE)
        return cls._trusted(shape, indices)

    @classmethod
    def from_coordinates(cls, coordinates: Sequence[ArrayLike], shape: Sequence[int]) -> SDR:
        """Build an SDR from per-dimension coordinate arrays (the inverse of ``coordinates``)."""
        dims = _check_shape(shape, "shape")
        coords = [np.asarray(c) for c in coordinates]
        if len(coords) != len(dims):
            raise ValueError(f"got {len(coords)} coordinate arrays for shape {dims}")
        for axis, (coord, extent) in enumerate(zip(coords, dims)):
            if coord.size:
                _check_index_dtype(coord, f"coordinates[{axis}]")
                bad = coord[(coord < 0) | (coord >= extent)]
                if bad.size:
                    raise ValueError(
                        f"coordinate {int(bad[0])} out of range for axis {axis} of extent {extent}"
                    )
        flat = np.ravel_multi_index(tuple(coords), dims) if coords[0].size else np.empty(0, int)
        return cls(dims, flat)

    # views ---------------------------------------------------------------------------------

    @property
    def indices(self) -> IndexArray:
        """Flat indices of the active bits: read-only int32 array, shape (n_active,), sorted."""
        return self._indices

    @property
    def dense(self) -> NDArray[np.bool_]:
        """Read-only boolean array of shape ``shape``, True at the active bits."""
        if self._dense is None:
            dense = np.zeros(self._size, dtype=bool)
            dense[self._indices] = True
            dense = dense.reshape(self._shape)
            dense.flags.writeable = False
            self._dense = dense
        return self._dense

    @property
    def coordinates(self) -> tuple[NDArray[np.int32], ...]:
        """Active bits as one int32 coordinate array per dimension (``np.unravel_index``)."""
        if len(self._shape) == 1:
            return (self._indices,)
        return tuple(c.astype(_INDEX_DTYPE) for c in np.unravel_index(self._indices, self._shape))

    @property
    def size(self) -> int:
        """Total number of bits."""
        return self._size

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the bit array (``(size,)`` for a flat SDR)."""
        return self._shape

    @property
    def n_active(self) -> int:
        """Number of active bits."""
        return int(self._indices.size)

    @property
    def sparsity(self) -> float:
        """Fraction of bits that are active, ``n_active / size``."""
        return self._indices.size / self._size

    def reshape(self, shape: int | Sequence[int]) -> SDR:
        """The same active bits viewed with another shape of the same total size."""
        dims = _check_shape(shape, "shape")
        if math.prod(dims) != self._size:
            raise ValueError(f"cannot reshape an SDR of size {self._size} to shape {dims}")
        return SDR._trusted(dims, self._indices)

    # algebra -------------------------------------------------------------------------------

    def overlap(self, other: SDR | ArrayLike) -> int:
        """Number of active bits shared with ``other`` (an SDR or a sorted index array)."""
        return overlap(self, other)

    def _same_shape(self, other: SDR, operation: str) -> None:
        if other._shape != self._shape:
            raise ValueError(
                f"cannot {operation} an SDR of size {_describe(self._shape)} with one of size "
                f"{_describe(other._shape)}"
            )

    def __or__(self, other: SDR) -> SDR:
        if not isinstance(other, SDR):
            return NotImplemented
        self._same_shape(other, "unite")
        return SDR._trusted(self._shape, _union_arrays((self._indices, other._indices)))

    def __and__(self, other: SDR) -> SDR:
        if not isinstance(other, SDR):
            return NotImplemented
        self._same_shape(other, "intersect")
        return SDR._trusted(self._shape, _intersect_arrays(self._indices, other._indices))

    def __sub__(self, other: SDR) -> SDR:
        if not isinstance(other, SDR):
            return NotImplemented
        self._same_shape(other, "subtract")
        return SDR._trusted(self._shape, _difference_arrays(self._indices, other._indices))

    def __contains__(self, bit: object) -> bool:
        if not isinstance(bit, (numbers.Integral, np.integer)):
            return False
        position = np.searchsorted(self._indices, bit)
        return bool(position < self._indices.size and self._indices[position] == bit)

    # value semantics -----------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._indices.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SDR):
            return NotImplemented
        return self._shape == other._shape and np.array_equal(self._indices, other._indices)

    def __hash__(self) -> int:
        return hash((self._shape, self._indices.tobytes()))

    def __repr__(self) -> str:
        size = self._size if len(self._shape) == 1 else self._shape
        values = self._indices.tolist()
        if len(values) <= 10:
            return f"SDR({size}, {values})"
        head = ", ".join(map(str, values[:4]))
        return f"SDR({size}, [{head}, ..., {values[-1]}], n_active={len(values)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (SDR, (self._shape, np.array(self._indices)))


def _describe(shape: tuple[int, ...]) -> str:
    return str(shape[0]) if len(shape) == 1 else f"{math.prod(shape)} (shape {shape})"


# --------------------------------------------------------------------------------------------
# algebra on sorted int32 arrays
# --------------------------------------------------------------------------------------------


def _as_array(value: Any, name: str) -> np.ndarray:
    if type(value) is np.ndarray:
        if value.dtype.kind not in "iu":
            _check_index_dtype(value, name)
        return value
    if isinstance(value, SDR):
        return value._indices
    array = np.asarray(value)
    if array.size == 0:
        return np.empty(0, _INDEX_DTYPE)
    _check_index_dtype(array, name)
    return array


def _common_shape(values: Sequence[Any], operation: str) -> tuple[int, ...] | None:
    """The shared shape when every operand is an SDR, else None (checks SDR operands agree)."""
    shape: tuple[int, ...] | None = None
    all_sdrs = True
    for value in values:
        if isinstance(value, SDR):
            if shape is None:
                shape = value._shape
            elif value._shape != shape:
                raise ValueError(
                    f"cannot {operation} an SDR of size {_describe(shape)} with one of size "
                    f"{_describe(value._shape)}"
                )
        else:
            all_sdrs = False
    return shape if all_sdrs else None


def _intersect_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.size > b.size:
        a, b = b, a
    if a.size == 0:
        return a[:0].copy()
    if b.size > _SEARCH_RATIO * a.size:
        position = np.searchsorted(b, a)
        np.minimum(position, b.size - 1, out=position)
        return a[b[position] == a]
    merged = np.concatenate((a, b))
    merged.sort()
    return merged[1:][merged[1:] == merged[:-1]]


def _count_shared(a: np.ndarray, b: np.ndarray) -> int:
    if a.size > b.size:
        a, b = b, a
    if a.size == 0:
        return 0
    if b.size > _SEARCH_RATIO * a.size:
        position = np.searchsorted(b, a)
        np.minimum(position, b.size - 1, out=position)
        return int(np.count_nonzero(b[position] == a))
    merged = np.concatenate((a, b))
    merged.sort()
    return int(np.count_nonzero(merged[1:] == merged[:-1]))


def _union_arrays(arrays: Sequence[np.ndarray]) -> np.ndarray:
    merged = np.concatenate(arrays)
    if merged.size == 0:
        return merged
    merged.sort(kind="stable")  # timsort: linear on the pre-sorted runs
    keep = np.empty(merged.size, dtype=bool)
    keep[0] = True
    np.not_equal(merged[1:], merged[:-1], out=keep[1:])
    return merged[keep]


def _difference_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.size == 0 or b.size == 0:
        return a.copy()
    position = np.searchsorted(b, a)
    np.minimum(position, b.size - 1, out=position)
    return a[b[position] != a]


def overlap(a: SDR | ArrayLike, b: SDR | ArrayLike) -> int:
    """Number of active bits two SDRs share, ``|a & b|``.

    Parameters
    ----------
    a, b : SDR or sorted unique int array, shape (n_active,)
        Plain arrays are not checked for order or duplicates (that is the caller's contract).

    Returns
    -------
    int
        The overlap, a count of bits.
    """
    if type(a) is SDR and type(b) is SDR:
        if a._shape != b._shape:
            _common_shape((a, b), "overlap")  # raises, naming both sizes
        return _count_shared(a._indices, b._indices)
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        _common_shape((a, b), "overlap")
    return _count_shared(_as_array(a, "a"), _as_array(b, "b"))


@overload
def union(*sdrs: SDR) -> SDR: ...
@overload
def union(*sdrs: SDR | ArrayLike) -> SDR | IndexArray: ...
def union(*sdrs: SDR | ArrayLike) -> SDR | IndexArray:
    """Union of one or more SDRs: the bits active in any of them.

    Parameters
    ----------
    *sdrs : SDR or sorted unique int array
        At least one operand.

    Returns
    -------
    SDR or ndarray of int
        An SDR when every operand is an SDR (all of the same shape), otherwise the sorted
        index array of the union (dtype of the inputs, int32 for canonical inputs).
    """
    if not sdrs:
        raise ValueError("union needs at least one SDR")
    shape = _common_shape(sdrs, "unite")
    arrays = [_as_array(s, f"sdrs[{i}]") for i, s in enumerate(sdrs)]
    result = _union_arrays(arrays) if len(arrays) > 1 else arrays[0].copy()
    return result if shape is None else SDR._trusted(shape, result)


@overload
def intersection(a: SDR, b: SDR) -> SDR: ...
@overload
def intersection(a: SDR | ArrayLike, b: SDR | ArrayLike) -> SDR | IndexArray: ...
def intersection(a: SDR | ArrayLike, b: SDR | ArrayLike) -> SDR | IndexArray:
    """Bits active in both ``a`` and ``b`` (SDR if both are SDRs, else a sorted index array)."""
    shape = _common_shape((a, b), "intersect")
    result = _intersect_arrays(_as_array(a, "a"), _as_array(b, "b"))
    return result if shape is None else SDR._trusted(shape, result)


@overload
def difference(a: SDR, b: SDR) -> SDR: ...
@overload
def difference(a: SDR | ArrayLike, b: SDR | ArrayLike) -> SDR | IndexArray: ...
def difference(a: SDR | ArrayLike, b: SDR | ArrayLike) -> SDR | IndexArray:
    """Bits active in ``a`` but not in ``b`` (SDR if both are SDRs, else a sorted index array)."""
    shape = _common_shape((a, b), "subtract")
    result = _difference_arrays(_as_array(a, "a"), _as_array(b, "b"))
    return result if shape is None else SDR._trusted(shape, result)


def equal(a: SDR | ArrayLike, b: SDR | ArrayLike) -> bool:
    """True when ``a`` and ``b`` have the same active bits (and the same shape, for SDRs)."""
    if isinstance(a, SDR) and isinstance(b, SDR):
        return a == b
    return bool(np.array_equal(_as_array(a, "a"), _as_array(b, "b")))


def sparsity(sdr: SDR | ArrayLike, size: int | None = None) -> float:
    """Fraction of active bits: ``n_active / size`` (``size`` is required for a plain array)."""
    if isinstance(sdr, SDR):
        if size is not None and _check_size(size) != sdr.size:
            raise ValueError(f"size {size} does not match the SDR's size {sdr.size}")
        return sdr.sparsity
    if size is None:
        raise ValueError("size is required to compute the sparsity of an index array")
    return np.asarray(sdr).size / _check_size(size)


# --------------------------------------------------------------------------------------------
# random SDRs and noise
# --------------------------------------------------------------------------------------------


def _n_moved(fraction: float, n_active: int | np.ndarray) -> Any:
    """round(fraction * n_active), halves rounded up."""
    return np.floor(fraction * np.asarray(n_active) + 0.5).astype(np.int64)


def random_sdr(size: int | Sequence[int], n_active: int, rng: np.random.Generator | int) -> SDR:
    """A uniformly random SDR with exactly ``n_active`` of ``size`` bits active.

    Parameters
    ----------
    size : int or tuple of int
        Number of bits, or the SDR's shape.
    n_active : int
        Number of active bits, ``0 <= n_active <= size``.
    rng : numpy.random.Generator or int
        Source of randomness (an int is used as a seed).
    """
    shape = _check_shape(size)
    total = math.prod(shape)
    n_active = _check_n_active(n_active, total)
    generator = _generator(rng)
    indices = generator.choice(total, size=n_active, replace=False).astype(_INDEX_DTYPE)
    indices.sort()
    return SDR._trusted(shape, indices)


def _nth_inactive(active: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """The bits that are the ``ranks``-th (0-based) inactive bits, given sorted ``active``."""
    gaps = active.astype(np.int64) - np.arange(active.size)  # inactive bits before each active one
    return ranks + np.searchsorted(gaps, ranks, side="right")


@overload
def add_noise(sdr: SDR, fraction: float, rng: np.random.Generator | int) -> SDR: ...
@overload
def add_noise(
    sdr: ArrayLike, fraction: float, rng: np.random.Generator | int, size: int
) -> IndexArray: ...
def add_noise(
    sdr: SDR | ArrayLike,
    fraction: float,
    rng: np.random.Generator | int,
    size: int | None = None,
) -> SDR | IndexArray:
    """Move ``round(fraction * n_active)`` active bits to random inactive bits.

    The noise model of Hawkins, Ahmad & Cui (2017): the active count (hence the sparsity)
    is kept exactly; the removed bits are a uniform random subset of the active ones and the
    new bits a uniform random subset of the bits that were inactive. Halves round up.

    Parameters
    ----------
    sdr : SDR or sorted unique int array
        The pattern to corrupt.
    fraction : float in [0, 1]
        Fraction of the active bits to move.
    rng : numpy.random.Generator or int
        Source of randomness.
    size : int, optional
        Number of bits; required when ``sdr`` is a plain array.

    Returns
    -------
    SDR or ndarray of int32
        Same kind as ``sdr``.
    """
    fraction = _check_fraction(fraction)
    generator = _generator(rng)
    if isinstance(sdr, SDR):
        shape, active = sdr.shape, sdr.indices
    else:
        if size is None:
            raise ValueError("size is required to add noise to an index array")
        shape = (_check_size(size),)
        active = validate_indices(sdr, shape[0], "sdr")
    total = math.prod(shape)
    n_active = active.size
    moved = int(_n_moved(fraction, n_active))
    if moved > total - n_active:
        raise ValueError(
            f"cannot move {moved} bits: only {total - n_active} of {total} bits are inactive"
        )
    if moved == 0:
        result = active.copy()
    else:
        removed = generator.permutation(n_active)[:moved]
        ranks = generator.choice(total - n_active, size=moved, replace=False)
        ranks.sort()
        added = _nth_inactive(active, ranks)
        kept = np.delete(active, removed)
        result = np.concatenate((kept, added.astype(_INDEX_DTYPE)))
        result.sort(kind="stable")
    return SDR._trusted(shape, result) if isinstance(sdr, SDR) else result


# --------------------------------------------------------------------------------------------
# batches: csr_array rows = SDRs
# --------------------------------------------------------------------------------------------


def _make_csr(indices: np.ndarray, indptr: np.ndarray, size: int) -> sp.csr_array:
    """A canonical boolean csr_array from trusted (sorted-per-row, unique) parts."""
    n_rows = indptr.size - 1
    index_dtype = np.int32 if indices.size < _MAX_SIZE else np.int64
    matrix = sp.csr_array(
        (
            np.ones(indices.size, dtype=bool),
            indices.astype(np.int32, copy=False),
            indptr.astype(index_dtype, copy=False),
        ),
        shape=(n_rows, size),
    )
    matrix.has_sorted_indices = True
    matrix.has_canonical_format = True
    return matrix


def _segment_positions(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(starts[i], starts[i] + counts[i])`` over i, without a loop."""
    total = int(counts.sum())
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(total)


def _row_ids(indptr: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(indptr.size - 1), np.diff(indptr))


def _csr_from_rows(row_ids: np.ndarray, columns: np.ndarray, n_rows: int, size: int, name: str):
    """Validate (range, duplicates) and canonicalise (row, column) pairs into a csr_array."""
    if columns.size:
        _check_index_dtype(columns, name)
        low, high = columns.min(), columns.max()
        for value in (low, high):
            if value < 0 or value >= size:
                rows = row_ids[columns == value]
                raise ValueError(
                    f"index {int(value)} out of range for an SDR of size {size} "
                    f"(in {name}, row {int(rows[0])})"
                )
    keys = row_ids.astype(np.int64) * size + columns.astype(np.int64)
    if keys.size > 1 and not (keys[1:] > keys[:-1]).all():
        keys = np.sort(keys)
        repeated = np.flatnonzero(keys[1:] == keys[:-1])
        if repeated.size:
            key = int(keys[repeated[0]])
            raise ValueError(f"duplicate index {key % size} in {name}, row {key // size}")
    counts = np.bincount(keys // size, minlength=n_rows) if keys.size else np.zeros(n_rows, int)
    indptr = np.concatenate(([0], np.cumsum(counts)))
    return _make_csr(keys % size, indptr, size)


def batch(
    rows: Iterable[SDR | ArrayLike] | np.ndarray | sp.sparray | sp.spmatrix,
    size: int | None = None,
) -> sp.csr_array:
    """Stack SDRs into a batch: a canonical boolean ``csr_array`` of shape ``(n, size)``.

    Parameters
    ----------
    rows : sequence of SDR or index arrays, 2-D int array, 2-D bool array, or sparse matrix
        One SDR per row. A 2-D integer array holds ``n_active`` indices per row; a 2-D boolean
        array is a dense batch; a sparse matrix is checked and converted.
    size : int, optional
        Number of bits per SDR. Inferred from SDRs, dense arrays and sparse matrices; required
        for index arrays.

    Returns
    -------
    scipy.sparse.csr_array, shape (n, size), dtype bool
        Sorted column indices in every row, no duplicates.

    Raises
    ------
    ValueError
        An index out of range or duplicated within a row, SDRs of different sizes, float
        indices, or a missing/contradicting ``size``.
    """
    if size is not None:
        size = _check_size(size)
    if sp.issparse(rows):
        matrix = sp.csr_array(rows)
        if size is not None and matrix.shape[1] != size:
            raise ValueError(f"batch has {matrix.shape[1]} columns but size is {size}")
        matrix = matrix.copy()
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return _make_csr(matrix.indices, matrix.indptr, matrix.shape[1])
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        if rows.dtype == bool:
            if size is not None and rows.shape[1] != size:
                raise ValueError(f"dense batch has {rows.shape[1]} columns but size is {size}")
            row_ids, columns = np.nonzero(rows)
            return _make_csr(columns, np.concatenate(([0], np.cumsum(rows.sum(1)))), rows.shape[1])
        if size is None:
            raise ValueError("size is required to batch a 2-D array of indices")
        n_rows, width = rows.shape
        row_ids = np.repeat(np.arange(n_rows), width)
        return _csr_from_rows(row_ids, rows.ravel(), n_rows, size, "rows")
    items = list(rows)
    arrays = []
    for i, item in enumerate(items):
        if isinstance(item, SDR):
            if size is None:
                size = item.size
            elif item.size != size:
                raise ValueError(f"rows[{i}] is an SDR of size {item.size}, expected size {size}")
            arrays.append(item.indices)
        else:
            array = np.asarray(item)
            if array.ndim != 1:
                raise ValueError(f"rows[{i}] must be one-dimensional, got shape {array.shape}")
            arrays.append(array if array.size else np.empty(0, _INDEX_DTYPE))
    if size is None:
        raise ValueError("size is required to batch index arrays")
    counts = np.array([a.size for a in arrays], dtype=np.int64)
    columns = np.concatenate(arrays) if arrays else np.empty(0, _INDEX_DTYPE)
    return _csr_from_rows(np.repeat(np.arange(len(arrays)), counts), columns, len(arrays), size, "rows")


def unbatch(matrix: sp.csr_array, shape: int | Sequence[int] | None = None) -> list[SDR]:
    """Split a batch into a list of SDRs (a Python loop: for inspection, not hot paths)."""
    matrix = _as_batch(matrix, "matrix")
    dims = (matrix.shape[1],) if shape is None else _check_shape(shape, "shape")
    if math.prod(dims) != matrix.shape[1]:
        raise ValueError(f"shape {dims} does not match the batch's size {matrix.shape[1]}")
    indices = matrix.indices.astype(_INDEX_DTYPE)
    bounds = matrix.indptr
    return [SDR._trusted(dims, indices[bounds[i] : bounds[i + 1]]) for i in range(matrix.shape[0])]


def _as_batch(matrix: Any, name: str) -> sp.csr_array:
    if not sp.issparse(matrix):
        raise ValueError(f"{name} must be a scipy.sparse batch (csr_array), got {type(matrix).__name__}")
    if matrix.format != "csr":
        matrix = sp.csr_array(matrix)
    if not matrix.has_canonical_format:
        matrix = batch(matrix)
    return matrix


def _counting(matrix: sp.csr_array) -> sp.csr_array:
    """The same pattern with int32 ones as data (for matrix products that count)."""
    return sp.csr_array(
        (np.ones(matrix.indices.size, np.int32), matrix.indices, matrix.indptr), shape=matrix.shape
    )


def batch_overlap(a: sp.csr_array, b: sp.csr_array) -> NDArray[np.int32]:
    """Pairwise overlaps of two batches, by one sparse matrix product.

    Parameters
    ----------
    a : csr_array, shape (n_a, size)
    b : csr_array, shape (n_b, size)

    Returns
    -------
    ndarray of int32, shape (n_a, n_b)
        ``result[i, j] = overlap(a[i], b[j])``.
    """
    a = _as_batch(a, "a")
    b = _as_batch(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"cannot overlap batches of size {a.shape[1]} and size {b.shape[1]}")
    product = _counting(a) @ _counting(b).T
    return product.toarray().astype(np.int32, copy=False)


def batch_overlap_sdr(matrix: sp.csr_array, sdr: SDR | ArrayLike) -> NDArray[np.int32]:
    """Overlap of every row of a batch with one SDR.

    Parameters
    ----------
    matrix : csr_array, shape (n, size)
    sdr : SDR or sorted unique int array
        An SDR of the same size (plain arrays are range-checked).

    Returns
    -------
    ndarray of int32, shape (n,)
    """
    matrix = _as_batch(matrix, "matrix")
    size = matrix.shape[1]
    if isinstance(sdr, SDR):
        if sdr.size != size:
            raise ValueError(f"cannot overlap a batch of size {size} with an SDR of size {sdr.size}")
        active = sdr.indices
    else:
        active = validate_indices(sdr, size, "sdr")
    mask = np.zeros(size, dtype=np.int32)
    mask[active] = 1
    hits = mask[matrix.indices]
    cumulative = np.concatenate(([0], np.cumsum(hits, dtype=np.int64)))
    return np.diff(cumulative[matrix.indptr]).astype(np.int32)


def batch_overlap_rows(a: sp.csr_array, b: sp.csr_array) -> NDArray[np.int32]:
    """Overlap of each row of ``a`` with the same row of ``b`` (e.g. each column vs its target).

    Parameters
    ----------
    a, b : csr_array, shape (n, size)

    Returns
    -------
    ndarray of int32, shape (n,)
        ``result[i] = overlap(a[i], b[i])``.
    """
    a = _as_batch(a, "a")
    b = _as_batch(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"cannot pair batches of shapes {a.shape} and {b.shape}")
    shared = _counting(a).multiply(_counting(b))
    return np.asarray(shared.sum(axis=1)).ravel().astype(np.int32)


def batch_union_rows(matrix: sp.csr_array, rows: ArrayLike | None = None) -> IndexArray:
    """Union of the SDRs in (some) rows of a batch.

    Parameters
    ----------
    matrix : csr_array, shape (n, size)
    rows : array_like of int or bool mask, optional
        Rows to unite (default: all).

    Returns
    -------
    ndarray of int32, shape (n_union,)
        Sorted active bits of the union.
    """
    matrix = _as_batch(matrix, "matrix")
    if rows is not None:
        selection = np.asarray(rows)
        if selection.dtype != bool:
            if selection.size:
                _check_index_dtype(selection, "rows")
                bad = selection[(selection < -matrix.shape[0]) | (selection >= matrix.shape[0])]
                if bad.size:
                    raise ValueError(f"row {int(bad[0])} out of range for a batch of {matrix.shape[0]} rows")
        elif selection.shape != (matrix.shape[0],):
            raise ValueError(f"row mask has shape {selection.shape}, expected ({matrix.shape[0]},)")
        matrix = matrix[selection]
    seen = np.zeros(matrix.shape[1], dtype=bool)
    seen[matrix.indices] = True
    return np.flatnonzero(seen).astype(_INDEX_DTYPE)


def _first_distinct(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, keep the first ``counts[r]`` distinct values in column order.

    ``values`` are non-negative integers, shape ``(rows, width)``. Returns
    ``(sorted_values, keep_sorted, ok)``: each row of ``values`` sorted ascending, a mask of the
    kept entries in that sorted order (so ``sorted_values[keep_sorted]`` lists the kept values
    row by row, ascending within a row), and whether each row had enough distinct values.
    """
    width = values.shape[1]
    keys = values.astype(np.int64) * width + np.arange(width)  # ties broken by column: stable
    keys.sort(axis=1)
    ordered = keys // width
    position = keys - ordered * width
    first_sorted = np.ones(keys.shape, dtype=bool)
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=first_sorted[:, 1:])
    first = np.empty_like(first_sorted)
    np.put_along_axis(first, position, first_sorted, axis=1)
    rank = np.cumsum(first, axis=1, dtype=np.int32)
    keep = first & (rank <= counts[:, None])
    ok = rank[:, -1] >= counts
    return ordered, np.take_along_axis(keep, position, axis=1), ok


def _draw_integers(rng: np.random.Generator, ranges: np.ndarray, width: int) -> np.ndarray:
    """``(len(ranges), width)`` uniform integers, row r in ``[0, ranges[r])``."""
    high = int(ranges.max())
    dtype = np.int32 if high + width < _MAX_SIZE else np.int64
    if int(ranges.min()) == high:  # one range for all rows: the fast scalar path
        return rng.integers(0, high, size=(ranges.size, width), dtype=dtype)
    return rng.integers(0, ranges[:, None], size=(ranges.size, width), dtype=dtype)


def _sample_distinct(ranges: np.ndarray, counts: np.ndarray, rng: np.random.Generator):
    """Row ``r`` gets ``counts[r]`` distinct uniform integers from ``[0, ranges[r])``.

    Returns ``(indptr, values)``: CSR row pointers and the values, ascending within each row.
    No Python loop over rows; three regimes, each exactly uniform over subsets:

    - ``counts**2 <= ranges`` (sparse, e.g. 40 of 2048): draw ``counts`` values with
      replacement and redraw the rows that hold a repeat (accepted with probability
      ``> exp(-1/2)``; an accepted row is a uniform random subset);
    - ``4 * counts <= ranges``: draw a few more values than needed and keep the first
      ``counts`` distinct ones in draw order (the rare short rows are redrawn);
    - otherwise (dense): random keys for every candidate, keep the ``counts`` smallest (a row
      whose threshold key is tied is redrawn).
    """
    ranges = np.asarray(ranges, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    indptr = np.concatenate(([0], np.cumsum(counts)))
    values = np.empty(int(indptr[-1]), dtype=np.int64)
    busy = counts > 0
    dense = busy & (4 * counts > ranges)
    rejection = busy & ~dense & (counts * counts <= ranges)

    pending = np.flatnonzero(dense)
    while pending.size:  # keys for every candidate; the `need` smallest win (ties: redraw)
        width = int(ranges[pending].max())
        need = counts[pending]
        keys = rng.random((pending.size, width), dtype=np.float32)
        keys[np.arange(width) >= ranges[pending, None]] = np.inf  # outside the row's range
        threshold = np.take_along_axis(np.sort(keys, axis=1), need[:, None] - 1, axis=1)
        chosen = keys <= threshold
        ok = chosen.sum(axis=1) == need
        done = pending[ok]
        values[_segment_positions(indptr[done], counts[done])] = np.nonzero(chosen[ok])[1]
        pending = pending[~ok]

    pending = np.flatnonzero(rejection)
    while pending.size:
        need = counts[pending]
        k_max = int(need.max())
        draws = _draw_integers(rng, ranges[pending], k_max)
        if int(need.min()) < k_max:  # pad short rows with distinct values above every range
            columns = np.arange(k_max)
            draws = np.where(columns < need[:, None], draws, int(ranges.max()) + columns)
        draws.sort(axis=1)
        repeated = (draws[:, 1:] == draws[:, :-1]).any(axis=1)
        done = pending[~repeated]
        accepted = draws[~repeated]
        values[_segment_positions(indptr[done], counts[done])] = accepted[
            np.arange(k_max) < counts[done, None]
        ]
        pending = pending[repeated]

    pending = np.flatnonzero(busy & ~dense & ~rejection)
    while pending.size:
        need = counts[pending]
        k_max = int(need.max())
        width = int(math.ceil(k_max * 4 / 3 + 6 * math.sqrt(k_max) + 8))
        draws = _draw_integers(rng, ranges[pending], width)
        ordered, keep, ok = _first_distinct(draws, need)
        done = pending[ok]
        values[_segment_positions(indptr[done], counts[done])] = ordered[ok][keep[ok]]
        pending = pending[~ok]
    return indptr, values


def random_batch(
    n: int, size: int, n_active: int, rng: np.random.Generator | int
) -> sp.csr_array:
    """``n`` independent uniformly random SDRs, drawn without a Python loop.

    Parameters
    ----------
    n : int
        Number of SDRs (rows).
    size : int
        Bits per SDR.
    n_active : int
        Active bits per SDR.
    rng : numpy.random.Generator or int

    Returns
    -------
    csr_array, shape (n, size), dtype bool
    """
    n = _check_int(n, "n", minimum=0)
    size = _check_size(size)
    n_active = _check_n_active(n_active, size)
    generator = _generator(rng)
    indptr, values = _sample_distinct(np.full(n, size), np.full(n, n_active), generator)
    return _make_csr(values, indptr, size)


def add_noise_batch(
    matrix: sp.csr_array, fraction: float, rng: np.random.Generator | int
) -> sp.csr_array:
    """:func:`add_noise` applied to every row of a batch independently, without a row loop.

    Each row moves ``round(fraction * n_active_row)`` of its active bits (halves up) to
    uniformly chosen bits that were inactive in that row; row sizes are kept exactly.

    Parameters
    ----------
    matrix : csr_array, shape (n, size)
    fraction : float in [0, 1]
    rng : numpy.random.Generator or int

    Returns
    -------
    csr_array, shape (n, size), dtype bool
    """
    fraction = _check_fraction(fraction)
    generator = _generator(rng)
    matrix = _as_batch(matrix, "matrix")
    n_rows, size = matrix.shape
    indptr = matrix.indptr.astype(np.int64)
    active = matrix.indices.astype(np.int64)
    n_active = np.diff(indptr)
    moved = _n_moved(fraction, n_active)
    room = size - n_active
    if (moved > room).any():
        row = int(np.flatnonzero(moved > room)[0])
        raise ValueError(
            f"cannot move {int(moved[row])} bits in row {row}: only {int(room[row])} bits are inactive"
        )
    # which active entries leave: moved[r] distinct positions out of n_active[r]
    _, local = _sample_distinct(n_active, moved, generator)
    removed = np.zeros(active.size, dtype=bool)
    removed[np.repeat(indptr[:-1], moved) + local] = True
    # where they go: the ranks-th inactive bit of each row
    _, ranks = _sample_distinct(room, moved, generator)
    row_of_active = _row_ids(indptr)
    stride = size + 1
    gaps = row_of_active * stride + active - (np.arange(active.size) - indptr[row_of_active])
    row_of_new = np.repeat(np.arange(n_rows), moved)
    before = np.searchsorted(gaps, row_of_new * stride + ranks, side="right") - indptr[row_of_new]
    added = ranks + before
    # merge the kept entries (sorted) with the new ones (sorted) by position, without a sort
    kept_keys = (row_of_active * size + active)[~removed]
    new_keys = row_of_new * size + added
    merged = np.empty(active.size, dtype=np.int64)
    new_slots = np.searchsorted(kept_keys, new_keys) + np.arange(new_keys.size)
    is_new = np.zeros(active.size, dtype=bool)
    is_new[new_slots] = True
    merged[new_slots] = added
    merged[~is_new] = active[~removed]
    return _make_csr(merged, indptr, size)


# --------------------------------------------------------------------------------------------
# probabilities (Ahmad & Hawkins 2016; Hawkins, Ahmad & Cui 2017)
# --------------------------------------------------------------------------------------------


def _logsumexp(values: np.ndarray) -> float:
    """log(sum(exp(values))) without overflow (``-inf`` for an empty array)."""
    if values.size == 0:
        return -math.inf
    peak = float(values.max())
    if peak == -math.inf:
        return -math.inf
    return peak + math.log(float(np.exp(values - peak).sum()))


def _log_comb(n: Any, k: Any) -> Any:
    return gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)


def _log_tail(total: int, drawn: int, marked: int, low: int, high: int) -> float:
    """log P(low <= B <= high) for B hypergeometric: ``drawn`` of ``total`` with ``marked`` marked.

    ``P(B = b) = C(marked, b) C(total - marked, drawn - b) / C(total, drawn)``. Summed in log
    space; when the requested tail holds most of the mass, it is computed as one minus the
    (small, accurately summed) rest, so values near 1 keep their precision too.
    """
    support_low = max(0, drawn - (total - marked))
    support_high = min(marked, drawn)
    low, high = max(low, support_low), min(high, support_high)
    if low > high:
        return -math.inf
    if low == support_low and high == support_high:
        return 0.0
    b = np.arange(support_low, support_high + 1, dtype=np.float64)
    log_terms = _log_comb(marked, b) + _log_comb(total - marked, drawn - b) - _log_comb(total, drawn)
    inside = (b >= low) & (b <= high)
    log_inside = _logsumexp(log_terms[inside])
    if log_inside < math.log(0.5):
        return log_inside
    return math.log1p(-min(1.0, math.exp(_logsumexp(log_terms[~inside]))))


def false_match_probability(n: int, a: int, s: int, theta: int, *, log: bool = False) -> float:
    """Probability that a random SDR matches a dendritic segment by chance.

    ``P(overlap >= theta) = sum_{b=theta..s} C(s, b) C(n-s, a-b) / C(n, a)`` for a uniformly
    random SDR with ``a`` of ``n`` bits active and a segment with ``s`` synapses on distinct
    cells of that population; computed in log space, so it neither overflows nor underflows.

    Parameters
    ----------
    n : int
        Population size (cells).
    a : int
        Active cells in the random pattern, ``0 <= a <= n``.
    s : int
        Synapses on the segment, ``0 <= s <= n``.
    theta : int
        Segment threshold (active synapses needed); ``theta <= 0`` always matches.
    log : bool
        Return the natural logarithm of the probability (``-inf`` for 0).

    Examples
    --------
    >>> f"{false_match_probability(2048, 40, 20, 10):.2g}"
    '3.9e-13'
    """
    n = _check_int(n, "n", minimum=1)
    a = _check_n_active(a, n, "a")
    s = _check_n_active(s, n, "s")
    theta = _check_int(theta, "theta")
    value = _log_tail(n, a, s, theta, s)
    return value if log else math.exp(value)


def false_negative_probability(a: int, s: int, theta: int, v: int, *, log: bool = False) -> float:
    """Probability that noise makes a segment miss the pattern it learned.

    The segment has ``s`` synapses on cells of a pattern of ``a`` active cells and threshold
    ``theta``; ``v`` of the ``a`` cells are replaced by noise. The segment fails when more than
    ``s - theta`` of its synapses hit noisy cells:
    ``sum_{b=s-theta+1..s} C(s, b) C(a-s, v-b) / C(a, v)``.

    Parameters
    ----------
    a : int
        Active cells in the pattern.
    s : int
        Synapses of the segment on the pattern, ``0 <= s <= a``.
    theta : int
        Segment threshold.
    v : int
        Noisy (moved) cells, ``0 <= v <= a``.
    log : bool
        Return the natural logarithm instead.
    """
    a = _check_int(a, "a", minimum=0)
    s = _check_n_active(s, a, "s")
    v = _check_n_active(v, a, "v")
    theta = _check_int(theta, "theta")
    if a == 0:
        value = 0.0 if theta > 0 else -math.inf
    else:
        value = _log_tail(a, v, s, s - theta + 1, s)
    return value if log else math.exp(value)


def union_fraction_off(n: int, a: int, M: int | ArrayLike) -> float | NDArray[np.float64]:
    """Expected fraction of bits still off after the union of ``M`` random SDRs: ``(1-a/n)^M``.

    Parameters
    ----------
    n : int
        Bits per SDR.
    a : int
        Active bits per SDR.
    M : int or array_like of int
        Number of SDRs in the union (an array gives one fraction per entry).
    """
    n = _check_int(n, "n", minimum=1)
    a = _check_n_active(a, n, "a")
    counts = np.asarray(M)
    if counts.size and (counts.dtype.kind not in "iu" or (counts < 0).any()):
        raise ValueError(f"M must be non-negative integers, got {_show(M)}")
    result = np.power(1.0 - a / n, counts.astype(np.float64))
    return float(result) if result.ndim == 0 else result


# --------------------------------------------------------------------------------------------
# encoders
# --------------------------------------------------------------------------------------------


_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective avalanche mix of uint64 arrays."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX_1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX_2
    return x ^ (x >> np.uint64(31))


class Encoder(ABC):
    """Turns values into SDRs of ``size`` bits with ``n_active`` active bits."""

    size: int
    n_active: int

    @abstractmethod
    def encode(self, value: Any) -> SDR:
        """Encode one value."""

    @abstractmethod
    def encode_many(self, values: Any) -> sp.csr_array:
        """Encode several values into a batch, shape ``(len(values), size)``."""

    def _check_dimensions(self, size: Any, n_active: Any) -> None:
        self.size = _check_size(size)
        self.n_active = _check_n_active(n_active, self.size)

    def _rows_to_batch(self, rows: NDArray[np.int64]) -> sp.csr_array:
        """Rows of exactly ``n_active`` sorted unique indices -> csr batch."""
        n_rows = rows.shape[0]
        indptr = np.arange(n_rows + 1, dtype=np.int64) * self.n_active
        return _make_csr(rows.ravel(), indptr, self.size)


def _stable_label_bytes(label: Any) -> bytes:
    """A process-independent byte key for a label (equal labels give equal keys)."""
    if isinstance(label, (bool, np.bool_)):
        label = int(label)
    if isinstance(label, (numbers.Integral, np.integer)):
        return b"i" + str(int(label)).encode()
    if isinstance(label, (float, np.floating)):
        if float(label).is_integer():
            return b"i" + str(int(label)).encode()
        return b"f" + struct.pack("<d", float(label))
    if isinstance(label, str):
        return b"s" + label.encode("utf-8", "surrogatepass")
    if isinstance(label, bytes):
        return b"b" + label
    if label is None:
        return b"n"
    if isinstance(label, tuple):
        parts = [_stable_label_bytes(item) for item in label]
        return b"t" + b"".join(struct.pack("<Q", len(p)) + p for p in parts)
    if isinstance(label, frozenset):
        parts = sorted(_stable_label_bytes(item) for item in label)
        return b"z" + b"".join(struct.pack("<Q", len(p)) + p for p in parts)
    if not isinstance(label, Hashable):
        raise ValueError(f"label {_show(label)} is not hashable")
    text = f"{type(label).__module__}.{type(label).__qualname__}:{label!r}"
    if " at 0x" in text:
        raise ValueError(
            f"label {_show(label)} has no stable representation (its repr holds a memory address); "
            "use str, int, float, bytes, tuples of them, or give the class a deterministic __repr__"
        )
    return b"r" + text.encode("utf-8", "surrogatepass")


class CategoryEncoder(Encoder):
    """A random SDR per label, reproducible from ``seed``, independent of encoding order.

    A label's bits depend only on the label, ``seed``, ``size`` and ``n_active``: a keyed
    BLAKE2 digest of the label (keyed by the seed) starts a SplitMix64 counter stream, and the
    first ``n_active`` distinct values of ``stream % size`` are the active bits (for dense codes,
    ``4 * n_active > size``, the ``n_active`` bits of smallest hashed priority). So the same
    label gives the same SDR in every process, run and encoding order, and different labels
    give independent-looking random SDRs (expected overlap ``n_active**2 / size``). New labels
    of one ``encode_many`` call are drawn together, vectorised; every SDR is cached.

    Labels may be any hashable built from str, bytes, numbers, None, tuples and frozensets
    (other objects are keyed by their type and repr); labels that compare equal
    (``1 == 1.0 == True``) share an SDR.

    Parameters
    ----------
    size : int
        Bits per SDR.
    n_active : int
        Active bits per SDR.
    seed : int
        Non-negative seed.

    Examples
    --------
    >>> encoder = CategoryEncoder(2048, 40, seed=1)
    >>> encoder.encode("cup") == CategoryEncoder(2048, 40, seed=1).encode("cup")
    True
    """

    def __init__(self, size: int, n_active: int, seed: int = 0) -> None:
        self._check_dimensions(size, n_active)
        self.seed = _check_int(seed, "seed", minimum=0)
        self._hash_key = hashlib.blake2b(str(self.seed).encode(), digest_size=32).digest()
        self._cache: dict[bytes, np.ndarray] = {}

    def _stream_keys(self, labels: Sequence[bytes]) -> np.ndarray:
        digests = b"".join(
            hashlib.blake2b(label, digest_size=8, key=self._hash_key).digest() for label in labels
        )
        return np.frombuffer(digests, dtype="<u8").astype(np.uint64)

    def _draw_bits(self, stream_keys: np.ndarray) -> np.ndarray:
        """Sorted active bits, shape ``(len(stream_keys), n_active)``, one row per label."""
        size, n_active = self.size, self.n_active
        rows = np.empty((stream_keys.size, n_active), dtype=np.int64)
        if n_active == 0 or stream_keys.size == 0:
            return rows
        if 4 * n_active > size:  # dense code: hashed priority for every bit, keep the smallest
            counter = (np.arange(size, dtype=np.uint64) + np.uint64(1)) * _GOLDEN
            priority = _mix64(stream_keys[:, None] + counter)
            chosen = np.argpartition(priority, n_active - 1, axis=1)[:, :n_active]
            return np.sort(chosen, axis=1)
        need = np.full(stream_keys.size, n_active)
        width = int(math.ceil(n_active * 4 / 3 + 6 * math.sqrt(n_active) + 8))
        pending = np.arange(stream_keys.size)
        while pending.size:  # a longer prefix of the same stream: results do not depend on width
            counter = (np.arange(width, dtype=np.uint64) + np.uint64(1)) * _GOLDEN
            stream = _mix64(stream_keys[pending, None] + counter) % np.uint64(size)
            ordered, keep, ok = _first_distinct(stream.astype(np.int64), need[: pending.size])
            rows[pending[ok]] = ordered[ok][keep[ok]].reshape(-1, n_active)
            pending = pending[~ok]
            width *= 2
        return rows

    def _rows_for(self, labels: Iterable[Any]) -> list[np.ndarray]:
        keys = [_stable_label_bytes(label) for label in labels]
        missing = list(dict.fromkeys(key for key in keys if key not in self._cache))
        if missing:
            drawn = self._draw_bits(self._stream_keys(missing)).astype(_INDEX_DTYPE)
            drawn.flags.writeable = False
            self._cache.update(zip(missing, drawn))
        return [self._cache[key] for key in keys]

    def encode(self, value: Hashable) -> SDR:
        """The SDR of one label."""
        return SDR._trusted((self.size,), self._rows_for((value,))[0])

    def encode_many(self, values: Iterable[Hashable]) -> sp.csr_array:
        """The SDRs of several labels as a batch of shape ``(len(values), size)``."""
        rows = self._rows_for(values)
        if not rows:
            return _make_csr(np.empty(0, _INDEX_DTYPE), np.zeros(1, np.int64), self.size)
        return self._rows_to_batch(np.stack(rows))

    def __repr__(self) -> str:
        return f"CategoryEncoder(size={self.size}, n_active={self.n_active}, seed={self.seed})"


class ScalarEncoder(Encoder):
    """Scalars in ``[minimum, maximum]`` -> SDRs where nearby values share bits.

    The range is cut into ``n_buckets`` equal buckets (a value goes to the nearest bucket).

    - ``kind="contiguous"``: bucket ``b`` is a block of ``n_active`` consecutive bits starting
      at ``round(b * (size - n_active) / (n_buckets - 1))``; at most
      ``size - n_active + 1`` buckets.
    - ``kind="random"`` (random distributed scalar encoder): a fixed random sequence of bits,
      any ``n_active`` consecutive entries distinct; bucket ``b`` takes entries
      ``b .. b + n_active - 1``. Buckets ``d`` apart share ``n_active - d`` bits by
      construction (plus chance collisions); ``n_buckets`` may far exceed ``size``.

    Parameters
    ----------
    size, n_active : int
        Bits per SDR and active bits.
    minimum, maximum : float
        Encoded range (``maximum > minimum``).
    kind : {"contiguous", "random"}
    n_buckets : int, optional
        Default ``size - n_active + 1`` (one bit of shift per bucket).
    seed : int
        Seed of the random kind's bit sequence.
    clip : bool
        Clip out-of-range values to the range instead of raising ``ValueError``.
    """

    def __init__(
        self,
        size: int,
        n_active: int,
        minimum: float,
        maximum: float,
        kind: Literal["contiguous", "random"] = "contiguous",
        n_buckets: int | None = None,
        seed: int = 0,
        clip: bool = False,
    ) -> None:
        self._check_dimensions(size, n_active)
        if self.n_active == 0:
            raise ValueError("n_active must be >= 1 for a scalar encoder, got 0")
        self.minimum = float(minimum)
        self.maximum = float(maximum)
        if not (math.isfinite(self.minimum) and math.isfinite(self.maximum)):
            raise ValueError(f"minimum and maximum must be finite, got {_show(minimum)} and {_show(maximum)}")
        if not self.maximum > self.minimum:
            raise ValueError(f"maximum {_show(maximum)} must be greater than minimum {_show(minimum)}")
        if kind not in ("contiguous", "random"):
            raise ValueError(f"kind must be 'contiguous' or 'random', got {_show(kind)}")
        self.kind = kind
        most = self.size - self.n_active + 1
        self.n_buckets = most if n_buckets is None else _check_int(n_buckets, "n_buckets", minimum=1)
        if kind == "contiguous" and self.n_buckets > most:
            raise ValueError(
                f"n_buckets {self.n_buckets} is too many for contiguous blocks of {self.n_active} "
                f"bits in {self.size} (at most {most})"
            )
        self.seed = _check_int(seed, "seed", minimum=0)
        self.clip = bool(clip)
        self._sequence = self._bit_sequence() if kind == "random" else None

    @property
    def resolution(self) -> float:
        """Width of one bucket, in the units of the encoded values."""
        return (self.maximum - self.minimum) / max(self.n_buckets - 1, 1)

    def _bit_sequence(self) -> np.ndarray:
        """Bits such that any ``n_active`` consecutive entries are distinct."""
        length = self.n_buckets + self.n_active - 1
        generator = np.random.default_rng(np.random.SeedSequence([self.seed, self.size, self.n_active]))
        window = self.n_active - 1
        if length > self.size and 2 * window > self.size:
            raise ValueError(
                f"n_active {self.n_active} is too large for a random encoder of {self.n_buckets} "
                f"buckets in {self.size} bits (needs n_active - 1 <= size / 2)"
            )
        chunks = [generator.permutation(self.size)]
        filled = self.size
        while filled < length:  # one permutation per `size` positions, not per bucket
            tail = chunks[-1][self.size - window :] if window else chunks[-1][:0]
            in_tail = np.zeros(self.size, dtype=bool)
            in_tail[tail] = True
            fresh = generator.permutation(self.size)
            allowed = fresh[~in_tail[fresh]]
            rest = np.concatenate((allowed[window:], tail))
            chunks.append(np.concatenate((allowed[:window], generator.permutation(rest))))
            filled += self.size
        return np.concatenate(chunks)[:length].astype(np.int64)

    def _buckets(self, values: ArrayLike) -> np.ndarray:
        array = np.asarray(values, dtype=np.float64)
        if np.isnan(array).any():
            raise ValueError("value nan cannot be encoded")
        outside = (array < self.minimum) | (array > self.maximum)
        if outside.any():
            if not self.clip:
                bad = array[outside].flat[0]
                raise ValueError(
                    f"value {_show(bad)} out of range [{_show(self.minimum)}, {_show(self.maximum)}] "
                    "(pass clip=True to clip)"
                )
            array = np.clip(array, self.minimum, self.maximum)
        scale = (self.n_buckets - 1) / (self.maximum - self.minimum)
        return np.floor((array - self.minimum) * scale + 0.5).astype(np.int64)

    def _rows(self, values: ArrayLike) -> np.ndarray:
        buckets = self._buckets(values).ravel()
        offsets = np.arange(self.n_active)
        if self.kind == "contiguous":
            span = self.size - self.n_active
            if self.n_buckets > 1:
                starts = np.floor(buckets * span / (self.n_buckets - 1) + 0.5).astype(np.int64)
            else:
                starts = np.zeros_like(buckets)
            return starts[:, None] + offsets
        rows = self._sequence[buckets[:, None] + offsets]
        rows.sort(axis=1)
        return rows

    def encode(self, value: float) -> SDR:
        """The SDR of one scalar."""
        scalar = np.asarray(value)
        if scalar.ndim:
            raise ValueError(f"encode takes one scalar, got shape {scalar.shape}; use encode_many")
        return SDR._trusted((self.size,), self._rows(scalar)[0].astype(_INDEX_DTYPE))

    def encode_many(self, values: ArrayLike) -> sp.csr_array:
        """The SDRs of a 1-D array of scalars, as a batch of shape ``(len(values), size)``."""
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"values must be one-dimensional, got shape {array.shape}")
        return self._rows_to_batch(self._rows(array))

    def __repr__(self) -> str:
        return (
            f"ScalarEncoder(size={self.size}, n_active={self.n_active}, minimum={self.minimum}, "
            f"maximum={self.maximum}, kind={self.kind!r}, n_buckets={self.n_buckets})"
        )


class CoordinateEncoder(Encoder):
    """Points in n-D space -> SDRs whose overlap falls with distance.

    The point is rounded to the integer grid (in units of ``resolution``); every integer
    coordinate within Euclidean distance ``radius`` of it is hashed (with ``seed``) to a
    priority and to a bit; the ``n_active`` highest-priority coordinates with distinct bits
    give the active bits. Two points share the coordinates of the overlap of their
    neighbourhoods, and the winners among those, so their overlap decreases as they move
    apart and vanishes (up to chance) beyond ``2 * radius``. After the idea of Numenta's
    coordinate encoder; vectorised over points and neighbours.

    Parameters
    ----------
    size, n_active : int
        Bits per SDR and active bits.
    radius : float
        Neighbourhood radius, in grid units. The neighbourhood must hold at least ``n_active``
        grid points and should hold a few times more, so that the winners vary smoothly
        (2-D: radius 6 -> 113 points, a good fit for ``n_active = 40``). Overlap falls to
        chance at a distance of about ``2 * radius``.
    seed : int
        Seed of the hashes.
    resolution : float
        Grid spacing in the units of the input (a point ``x`` is at grid ``round(x/resolution)``).
    """

    def __init__(
        self, size: int, n_active: int, radius: float, seed: int = 0, resolution: float = 1.0
    ) -> None:
        self._check_dimensions(size, n_active)
        if self.n_active == 0:
            raise ValueError("n_active must be >= 1 for a coordinate encoder, got 0")
        self.radius = float(radius)
        if not (math.isfinite(self.radius) and self.radius > 0):
            raise ValueError(f"radius must be a positive number, got {_show(radius)}")
        self.resolution = float(resolution)
        if not (math.isfinite(self.resolution) and self.resolution > 0):
            raise ValueError(f"resolution must be a positive number, got {_show(resolution)}")
        self.seed = _check_int(seed, "seed", minimum=0)
        self._seed_key = _mix64(np.array([self.seed % 2**64], dtype=np.uint64) + _GOLDEN)[0]
        self._offsets: dict[int, np.ndarray] = {}

    def neighbourhood(self, ndim: int) -> NDArray[np.int64]:
        """Integer offsets within ``radius`` of the origin, shape ``(n_neighbours, ndim)``."""
        ndim = _check_int(ndim, "ndim", minimum=1)
        found = self._offsets.get(ndim)
        if found is None:
            reach = int(math.floor(self.radius))
            axis = np.arange(-reach, reach + 1)
            count = axis.size**ndim
            if count > 50_000_000:
                raise ValueError(f"radius {self.radius} in {ndim} dimensions gives too many neighbours")
            grid = np.stack(np.meshgrid(*([axis] * ndim), indexing="ij"), axis=-1).reshape(-1, ndim)
            found = grid[(grid**2).sum(axis=1) <= self.radius**2 + 1e-9]
            if found.shape[0] < self.n_active:
                raise ValueError(
                    f"radius {self.radius} gives {found.shape[0]} neighbours in {ndim}-D, fewer than "
                    f"n_active {self.n_active}"
                )
            self._offsets[ndim] = found
        return found

    def _grid(self, points: ArrayLike) -> np.ndarray:
        array = np.asarray(points)
        if array.dtype.kind not in "iuf":
            raise ValueError(f"points must be numeric, got dtype {array.dtype}")
        if array.dtype.kind == "f":
            if not np.isfinite(array).all():
                raise ValueError(f"point {_show(array[~np.isfinite(array)].flat[0])} is not finite")
            return np.floor(array / self.resolution + 0.5).astype(np.int64)
        if self.resolution == 1.0:
            return array.astype(np.int64)
        return np.floor(array / self.resolution + 0.5).astype(np.int64)

    def _rows(self, centres: np.ndarray) -> np.ndarray:
        """``(n_points, ndim)`` grid centres -> ``(n_points, n_active)`` sorted bits."""
        offsets = self.neighbourhood(centres.shape[1])
        coords = centres[:, None, :] + offsets[None, :, :]  # (P, K, ndim)
        state = np.full(coords.shape[:2], self._seed_key, dtype=np.uint64)
        for axis in range(coords.shape[2]):  # a handful of dimensions, not a hot loop
            salt = np.uint64((int(_GOLDEN) * (axis + 1)) % 2**64)
            state = _mix64(state ^ (coords[..., axis].view(np.uint64) + salt))
        priority = _mix64(state ^ np.uint64(0x5851F42D4C957F2D))
        bits = (_mix64(state ^ np.uint64(0x14057B7EF767814F)) % np.uint64(self.size)).astype(np.int64)
        # candidates in descending priority; a margin above n_active absorbs bit collisions
        n_neighbours = priority.shape[1]
        need = np.full(priority.shape[0], self.n_active)
        margin = min(n_neighbours, 2 * self.n_active + 16)
        inverted = ~priority
        rows = np.empty((priority.shape[0], self.n_active), dtype=np.int64)
        pending = np.arange(priority.shape[0])
        widths = (margin, n_neighbours) if margin < n_neighbours else (n_neighbours,)
        for width in widths:
            if width < n_neighbours:
                top = np.argpartition(inverted[pending], width - 1, axis=1)[:, :width]
            else:
                top = np.broadcast_to(np.arange(n_neighbours), (pending.size, n_neighbours))
            order = np.argsort(np.take_along_axis(inverted[pending], top, axis=1), axis=1)
            candidates = np.take_along_axis(bits[pending], np.take_along_axis(top, order, axis=1), axis=1)
            ordered, keep, ok = _first_distinct(candidates, need[: pending.size])
            rows[pending[ok]] = ordered[ok][keep[ok]].reshape(-1, self.n_active)
            pending = pending[~ok]
            if not pending.size:
                return rows
        raise ValueError(
            f"radius {self.radius} is too small: the neighbourhood of point "
            f"{centres[pending[0]].tolist()} hashes to fewer than n_active {self.n_active} distinct "
            f"bits of size {self.size}"
        )

    def encode(self, value: ArrayLike) -> SDR:
        """The SDR of one point, array_like of shape ``(ndim,)``."""
        grid = self._grid(value)
        if grid.ndim != 1 or grid.size == 0:
            raise ValueError(f"encode takes one point of shape (ndim,), got shape {grid.shape}")
        return SDR._trusted((self.size,), self._rows(grid[None, :])[0].astype(_INDEX_DTYPE))

    def encode_many(self, values: ArrayLike) -> sp.csr_array:
        """The SDRs of ``(n_points, ndim)`` points, as a batch of shape ``(n_points, size)``."""
        grid = self._grid(values)
        if grid.ndim != 2 or grid.shape[1] == 0:
            raise ValueError(f"points must have shape (n_points, ndim), got shape {grid.shape}")
        if grid.shape[0] == 0:
            return _make_csr(np.empty(0, _INDEX_DTYPE), np.zeros(1, np.int64), self.size)
        return self._rows_to_batch(self._rows(grid))

    def __repr__(self) -> str:
        return (
            f"CoordinateEncoder(size={self.size}, n_active={self.n_active}, radius={self.radius}, "
            f"seed={self.seed}, resolution={self.resolution})"
        )
