"""Recognition rule, ideal observer and the learn-one-object loop, once for every experiment.

* :func:`recognised` -- the L2/3 recognition rule: a region holds an object when **every**
  column's L2/3 overlaps the object's learned code by at least ``overlap_threshold`` cells with
  at most ``max_active`` active cells.  Vectorised over any leading batch axes (episodes,
  objects), the columns on the last axis.
* :func:`held_objects` -- which learned object a column (or a region, given summed overlaps)
  holds: the best-overlapping object when that overlap reaches the threshold, else ``-1``.
* :func:`code_overlaps` -- the overlaps both rules read: active L2/3 cells of each column inside
  each object's code, ``(columns, objects)``.
* :func:`ideal_observer` -- the bound no recogniser beats on the same touches: the first
  sensation after which the (location, feature) pairs sensed so far belong to one object alone.
  It takes a world-independent description (per object its pairs, per row the touched pairs),
  in absolute locations (feature objects: the sensor knows where it is on the object) or
  relative ones (grid objects: only displacements between touches are known).
* :func:`learn_object` -- one object learned in one exposure: reset the region, learn each
  sensation held ``repeats`` steps, read the L2/3 code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .region import Region, flatten_rows_inverse

__all__ = [
    "recognised",
    "held_objects",
    "code_overlaps",
    "ideal_observer",
    "LearnedObject",
    "learn_object",
]


# ------------------------------------------------------------------- recognition rule
def _non_negative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def recognised(overlaps: ArrayLike, active: ArrayLike, *, overlap_threshold: int, max_active: int) -> np.ndarray:
    """The L2/3 recognition rule over batches.

    Parameters
    ----------
    overlaps : int ``(..., columns)``: active L2/3 cells of each column inside the object's learned
        code (cells).
    active : int ``(..., columns)``: active L2/3 cells of each column (cells); broadcast against
        ``overlaps`` (e.g. ``(columns,)`` for one region state compared with many objects
        ``(objects, columns)``).
    overlap_threshold : fewest cells of the code a column must hold.
    max_active : most active cells a column may have (a column holding the union of many codes
        holds none of them).

    Returns
    -------
    bool ``(...)``: every column reaches the threshold with at most ``max_active`` active cells.
    """
    threshold = _non_negative_int(overlap_threshold, "overlap_threshold")
    limit = _non_negative_int(max_active, "max_active")
    ov = np.asarray(overlaps)
    act = np.asarray(active)
    if ov.ndim == 0:
        raise ValueError("overlaps must have a columns axis, got a scalar")
    try:
        ov, act = np.broadcast_arrays(ov, act)
    except ValueError as exc:
        raise ValueError(f"active {act.shape} does not broadcast against overlaps {ov.shape}") from exc
    return np.all((ov >= threshold) & (act <= limit), axis=-1)


def held_objects(overlaps: ArrayLike, overlap_threshold: int) -> np.ndarray:
    """Which object each row holds: the best-overlapping one if it reaches the threshold.

    Parameters
    ----------
    overlaps : int ``(..., objects)``: overlap of each row (a column, or a region with overlaps
        summed over its columns) with each object's code (cells).
    overlap_threshold : fewest cells of the best object's code a row must hold.

    Returns
    -------
    int ``(...)``: the object (lowest index among ties), ``-1`` where the best overlap is below the
    threshold or there are no objects.
    """
    threshold = _non_negative_int(overlap_threshold, "overlap_threshold")
    ov = np.asarray(overlaps)
    if ov.ndim == 0:
        raise ValueError("overlaps must have an objects axis, got a scalar")
    if ov.shape[-1] == 0:
        return np.full(ov.shape[:-1], -1, dtype=np.int64)
    best = ov.argmax(axis=-1)
    return np.where(ov.max(axis=-1) >= threshold, best, -1).astype(np.int64)


def code_overlaps(active_cells: ArrayLike, n_columns: int, cells: int, membership: sparse.sparray) -> np.ndarray:
    """Active L2/3 cells of each column inside each object's code.

    Parameters
    ----------
    active_cells : int ``(a,)``: active L2/3 cells of the region (cell ``c`` of column ``k`` is
        ``k * cells + c``).
    n_columns, cells : columns of the region and L2/3 cells per column.
    membership : sparse ``(n_columns * cells, objects)``: 1 where a cell belongs to an object's
        code.

    Returns
    -------
    int ``(n_columns, objects)``.
    """
    act = np.asarray(active_cells, dtype=np.int64)
    if membership.shape[0] != n_columns * cells:
        raise ValueError(f"membership has {membership.shape[0]} rows, expected n_columns * cells = {n_columns * cells}")
    if act.size and (act.min() < 0 or act.max() >= n_columns * cells):
        raise ValueError(f"active_cells must lie in [0, {n_columns * cells}), got {act.min()}..{act.max()}")
    columns = act // cells
    pick = sparse.csr_array((np.ones(act.size, dtype=np.int64), (columns, np.arange(act.size))),
                            shape=(n_columns, act.size))
    ov = pick @ sparse.csr_array(membership)[act]
    return np.asarray(ov.todense() if sparse.issparse(ov) else ov, dtype=np.int64).reshape(n_columns, -1)


# --------------------------------------------------------------------- ideal observer
def ideal_observer(
    locations: ArrayLike,
    features: ArrayLike,
    objects: ArrayLike,
    touched: ArrayLike,
    *,
    relative: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Sensations an ideal observer needs with the same touches (the bound no recogniser beats).

    The observer knows every learned object exactly.  A hypothesis is an object (``relative``
    False: the sensed locations are absolute) or, per column, an (object, pair the column first
    touched) -- ``relative`` True: only the displacement since the column's first touch is known.
    A hypothesis survives while every pair sensed so far is the object's feature at the sensed
    (or displaced) location; the true hypothesis always survives.

    Parameters
    ----------
    locations : int ``(objects, pairs)`` location ids or ``(objects, pairs, dims)`` integer
        coordinates of every object's pairs.
    features : int ``(objects, pairs)``: feature id of every pair.
    objects : int ``(rows,)``: the object touched in each row.
    touched : int ``(rows, sensations, columns)``: the pair index of its object each column sensed
        at each sensation (``(rows, sensations)`` for one column).
    relative : whether only displacements are known (see above).

    Returns
    -------
    ``(by_object, by_hypothesis)``, float ``(rows,)``, 1-based, ``inf`` where never reached: the
    first sensation after which the surviving hypotheses name one object, and the first after
    which one hypothesis survives (per column one (object, first pair) when ``relative``;
    equal to ``by_object`` otherwise).
    """
    loc = np.asarray(locations)
    feat = np.asarray(features)
    objs = np.asarray(objects)
    touch = np.asarray(touched)
    if loc.ndim == 2:
        loc = loc[..., None]
    if loc.ndim != 3 or not np.issubdtype(loc.dtype, np.integer):
        raise ValueError(f"locations must be integer (objects, pairs) or (objects, pairs, dims), got {loc.dtype} "
                         f"{np.asarray(locations).shape}")
    n_obj, n_pairs, _ = loc.shape
    if feat.shape != (n_obj, n_pairs) or not np.issubdtype(feat.dtype, np.integer):
        raise ValueError(f"features must be integer {(n_obj, n_pairs)} like locations, got {feat.dtype} {feat.shape}")
    if feat.size and feat.min() < 0:
        raise ValueError(f"features must be non-negative ids, got {feat.min()}")
    if touch.ndim == 2:
        touch = touch[..., None]
    if objs.ndim != 1 or touch.ndim != 3 or touch.shape[0] != objs.size:
        raise ValueError(f"touched must have shape ({objs.size}, sensations, columns) for {objs.size} objects, "
                         f"got {np.asarray(touched).shape}")
    if objs.size and (objs.min() < 0 or objs.max() >= n_obj):
        raise ValueError(f"objects must lie in [0, {n_obj}), got {objs.min()}..{objs.max()}")
    if touch.size and (touch.min() < 0 or touch.max() >= n_pairs):
        raise ValueError(f"touched pair indices must lie in [0, {n_pairs}), got {touch.min()}..{touch.max()}")
    objs = objs.astype(np.int64)
    touch = touch.astype(np.int64)
    n_rows, n_sens, n_cols = touch.shape
    by_object = np.full(n_rows, np.inf)
    by_hypothesis = np.full(n_rows, np.inf)
    if n_rows == 0 or n_sens == 0:
        return by_object, by_hypothesis

    # feature of every object on a dense grid of coordinates (-1 = nothing there); relative
    # hypotheses look up first-pair coordinates plus displacements, so the grid is padded by the
    # extent on every side
    lo = loc.min(axis=(0, 1))
    extent = loc.max(axis=(0, 1)) - lo + 1
    pad = extent if relative else np.zeros_like(extent)
    shape = tuple(int(x) for x in extent + 2 * pad)
    grid = np.full((n_obj, int(np.prod(shape))), -1, dtype=np.int64)
    cell = np.ravel_multi_index(tuple(np.moveaxis(loc - lo + pad, -1, 0)), shape)  # (objects, pairs)
    grid[np.arange(n_obj)[:, None], cell] = feat

    # row-major strides of the grid: a coordinate's flat index is linear in it, so a hypothesis's
    # cell is its first pair's index plus the displacement's (every coordinate lies on the grid)
    strides = np.cumprod((1,) + shape[:0:-1])[::-1].astype(np.int64)
    sensed_flat = (loc[objs[:, None, None], touch] - lo) @ strides  # (rows, sensations, columns)
    sensed_feat = feat[objs[:, None, None], touch]  # (rows, sensations, columns)
    size = int(np.prod(shape))
    if relative:
        sensed_flat = sensed_flat - sensed_flat[:, :1]  # displacement since each column's first touch
        anchor = cell + np.arange(n_obj)[:, None] * size  # (objects, pairs): a hypothesis's first pair
    else:
        anchor = np.arange(n_obj)[:, None] * size  # (objects, 1): the object itself
    flat_grid = grid.reshape(-1)
    # alive[r, k, o, a]: column k's hypothesis (object o, first pair a) of row r survives
    alive = np.ones((n_rows, n_cols) + anchor.shape, dtype=bool)
    for s in range(n_sens):  # loop over sensations only
        seen = flat_grid[anchor[None, None] + sensed_flat[:, s, :, None, None]]
        alive &= seen == sensed_feat[:, s, :, None, None]
        per_column = alive.sum(axis=3)  # (rows, columns, objects): surviving first pairs
        object_alive = np.all(per_column > 0, axis=1)  # (rows, objects)
        one_object = object_alive.sum(axis=1) == 1
        # a hypothesis is one surviving object with one first pair per column
        one_hypothesis = one_object & np.all((per_column * object_alive[:, None, :]).sum(axis=2) == 1, axis=1)
        by_object[one_object & np.isinf(by_object)] = s + 1
        by_hypothesis[one_hypothesis & np.isinf(by_hypothesis)] = s + 1
    return by_object, by_hypothesis


# ----------------------------------------------------------------------- learn loop
@dataclass
class LearnedObject:
    """One object learned by :func:`learn_object`.

    Attributes
    ----------
    code : CSR ``(columns, L2/3 cells per column)``: the L2/3 code the object left (one row per
        column).
    l4_active : int ``(sensations, repeats)``: active L4 cells of the whole region at every
        learning step of every sensation (the first step of a new pair bursts).
    l4_burst : bool ``(sensations,)``: whether every active L4 minicolumn burst (all its cells
        active) on the first step of the sensation.
    """

    code: sparse.csr_array
    l4_active: np.ndarray
    l4_burst: np.ndarray


def learn_object(region: Region, sensations: Iterable[tuple[Any, Any]], repeats: int) -> LearnedObject:
    """Learn one object in one exposure: reset, learn each sensation held ``repeats`` steps.

    Parameters
    ----------
    region : the region that learns (its L2/3 code of the object is read at the end; the region
        is left holding it).
    sensations : ``(features, locations)`` per sensation, as ``Region.learn_sensation`` takes them
        (one row per column); consumed in order.
    repeats : steps each sensation is held (>= 1).
    """
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    region.reset()
    counts, burst = [], []
    for f, loc in sensations:
        counts.append(np.asarray(region.learn_sensation(f, loc, repeats=int(repeats))))
        burst.append(counts[-1][0] == region.L4.active_minicolumns.size * region.l4_params.cells_per_minicolumn)
    code = flatten_rows_inverse(region.L23.active_cells, region.n_columns, region.l23_params.cells)
    l4 = np.array(counts, dtype=np.int64).reshape(len(counts), int(repeats))
    return LearnedObject(code, l4, np.array(burst, dtype=bool))
