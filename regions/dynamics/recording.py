"""Activity recording: compact event storage, binned population activity, sparse export.

An event is one active cell: ``(step, settling iteration, column, cell)``, with ``cell`` the
index inside its column's layer.  Events are appended to four growing int32 arrays (capacity
doubling), never to Python lists of objects, so recording a region step costs one slice copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # pragma: no cover
    import sparse

__all__ = ["ActivityRecorder", "state_changes"]

_FIELDS = ("step", "iteration", "column", "cell")
_INT32_MAX = np.iinfo(np.int32).max


def _as_index_array(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        if array.size == 0:
            return np.empty(0, dtype=np.int32)
        raise ValueError(f"{name} must be an integer array, got dtype {array.dtype}")
    array = array.reshape(-1)
    if array.size and (array.min() < 0 or array.max() > _INT32_MAX):
        raise ValueError(f"{name} must lie in [0, 2**31 - 1], got range [{array.min()}, {array.max()}]")
    return array.astype(np.int32, copy=False)


class ActivityRecorder:
    """Records active cells of a region as events (step, iteration, column, cell).

    Args:
        max_iterations: settling iterations per step; sets the event time
            ``step * max_iterations + iteration``.  If None it is inferred as
            ``max(iteration) + 1`` when times are asked for.
        initial_capacity: events preallocated (grows by doubling).

    Example:
        >>> rec = ActivityRecorder(max_iterations=3)
        >>> rec.record(0, 0, columns=[0, 0, 1], cells=[5, 9, 2])
        >>> rec.record(0, 1, columns=1, cells=[2])
        >>> rec.times().tolist()
        [0, 0, 0, 1]
        >>> rec.population_activity().tolist()
        [3, 1]
    """

    def __init__(self, max_iterations: int | None = None, *, initial_capacity: int = 1024) -> None:
        if max_iterations is not None and (not isinstance(max_iterations, (int, np.integer)) or max_iterations < 1):
            raise ValueError(f"max_iterations must be a positive int or None, got {max_iterations!r}")
        if not isinstance(initial_capacity, (int, np.integer)) or initial_capacity < 1:
            raise ValueError(f"initial_capacity must be a positive int, got {initial_capacity!r}")
        self.max_iterations = None if max_iterations is None else int(max_iterations)
        self._arrays = {name: np.empty(int(initial_capacity), dtype=np.int32) for name in _FIELDS}
        self._size = 0
        self._last_time = (-1, -1)

    # ------------------------------------------------------------------ recording
    def __len__(self) -> int:
        return self._size

    @property
    def n_events(self) -> int:
        """Number of recorded events."""
        return self._size

    @property
    def capacity(self) -> int:
        """Events that fit before the next reallocation."""
        return int(self._arrays["step"].size)

    def record(self, step: int, iteration: int, columns: ArrayLike, cells: ArrayLike) -> None:
        """Append the active cells of one settling iteration.

        Args:
            step: sensation / time step index, >= 0.
            iteration: settling iteration inside the step, >= 0 (< max_iterations if set).
            columns: (k,) int column of each active cell, or one int for all of them.
            cells: (k,) int cell index inside its column's layer.

        Calls must come in chronological order of (step, iteration); equal times may repeat.
        """
        step_i, iteration_i = int(step), int(iteration)
        if step_i < 0:
            raise ValueError(f"step must be >= 0, got {step!r}")
        if iteration_i < 0:
            raise ValueError(f"iteration must be >= 0, got {iteration!r}")
        if self.max_iterations is not None and iteration_i >= self.max_iterations:
            raise ValueError(f"iteration must be < max_iterations={self.max_iterations}, got {iteration!r}")
        if (step_i, iteration_i) < self._last_time:
            raise ValueError(
                f"events must be recorded in time order: (step, iteration)=({step_i}, {iteration_i}) "
                f"comes before the last recorded {self._last_time}"
            )
        cell_array = _as_index_array(cells, "cells")
        column_array = _as_index_array(columns, "columns")
        if column_array.size == 1 and cell_array.size != 1:
            column_array = np.broadcast_to(column_array, cell_array.shape)
        if column_array.shape != cell_array.shape:
            raise ValueError(
                f"columns and cells must have the same length, got {column_array.size} and {cell_array.size}"
            )
        self._last_time = (step_i, iteration_i)
        k = cell_array.size
        if k == 0:
            return
        self._reserve(self._size + k)
        end = self._size + k
        self._arrays["step"][self._size : end] = step_i
        self._arrays["iteration"][self._size : end] = iteration_i
        self._arrays["column"][self._size : end] = column_array
        self._arrays["cell"][self._size : end] = cell_array
        self._size = end

    def _reserve(self, needed: int) -> None:
        capacity = self.capacity
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        for name, old in self._arrays.items():
            grown = np.empty(capacity, dtype=np.int32)
            grown[: self._size] = old[: self._size]
            self._arrays[name] = grown

    def clear(self) -> None:
        """Forget all events (keeps the allocated capacity)."""
        self._size = 0
        self._last_time = (-1, -1)

    # ------------------------------------------------------------------ views
    def events(self) -> dict[str, np.ndarray]:
        """Dict of (n_events,) int32 arrays: ``step``, ``iteration``, ``column``, ``cell``.

        The arrays are read-only views of the recorder's storage (no copy).
        """
        out = {}
        for name, array in self._arrays.items():
            view = array[: self._size]
            view.flags.writeable = False
            out[name] = view
        return out

    def _iterations_per_step(self) -> int:
        if self.max_iterations is not None:
            return self.max_iterations
        if self._size == 0:
            return 1
        return int(self._arrays["iteration"][: self._size].max()) + 1

    def times(self) -> np.ndarray:
        """(n_events,) int64 event time ``step * max_iterations + iteration`` (non-decreasing)."""
        per_step = self._iterations_per_step()
        return self._arrays["step"][: self._size].astype(np.int64) * per_step + self._arrays["iteration"][: self._size]

    def default_bin_width(self) -> float:
        """Mean interval between successive distinct event times (time units, >= 1).

        The discrete-time analogue of Beggs & Plenz's mean inter-event interval of the pooled
        events; 1.0 when fewer than two distinct times were recorded.
        """
        if self._size == 0:
            return 1.0
        times = self.times()
        distinct = np.count_nonzero(np.diff(times)) + 1  # times are sorted
        if distinct < 2:
            return 1.0
        return float(times[-1] - times[0]) / (distinct - 1)

    def population_activity(self, bin_width: float | None = None) -> np.ndarray:
        """Events per time bin, from the first event's time to the last's.

        Args:
            bin_width: in time units (``step * max_iterations + iteration``); default
                ``default_bin_width()`` (the mean inter-event interval).

        Returns:
            (n_bins,) int64 counts, bin k covering ``[t0 + k w, t0 + (k + 1) w)``.
        """
        width = self.default_bin_width() if bin_width is None else float(bin_width)
        if not (np.isfinite(width) and width > 0):
            raise ValueError(f"bin_width must be a positive number, got {bin_width!r}")
        if self._size == 0:
            return np.zeros(0, dtype=np.int64)
        times = self.times()
        index = np.floor((times - times[0]) / width).astype(np.int64)
        return np.bincount(index).astype(np.int64)

    def to_coo(self, shape: tuple[int, int, int, int] | None = None) -> "sparse.COO":
        """The recording as a boolean pydata ``sparse.COO`` of shape (steps, iterations, columns, cells).

        ``sparse`` (and numba) are imported here only.  Default shape: one past the largest
        recorded index on each axis (``max_iterations`` on the iteration axis if set).
        """
        import sparse  # lazy: pulls numba

        events = self.events()
        coords = np.stack([events[name].astype(np.int64) for name in _FIELDS])
        if shape is None:
            extent = [int(c.max()) + 1 if c.size else 0 for c in coords]
            if self.max_iterations is not None:
                extent[1] = max(extent[1], self.max_iterations)
            shape = tuple(extent)
        shape = tuple(int(s) for s in shape)
        if len(shape) != 4:
            raise ValueError(f"shape must have 4 entries (steps, iterations, columns, cells), got {shape}")
        for axis, (name, size) in enumerate(zip(_FIELDS, shape)):
            if coords[axis].size and coords[axis].max() >= size:
                raise ValueError(f"shape[{axis}]={size} is too small for the recorded {name} {coords[axis].max()}")
        data = np.ones(coords.shape[1], dtype=bool)
        return sparse.COO(coords, data, shape=shape, has_duplicates=True, sorted=False)

    def filtered(self, keep: ArrayLike) -> "ActivityRecorder":
        """A new recorder with the events where the (n_events,) bool mask ``keep`` holds."""
        mask = np.asarray(keep, dtype=bool)
        if mask.shape != (self._size,):
            raise ValueError(f"keep must be a bool mask of shape ({self._size},), got {mask.shape}")
        out = ActivityRecorder(self.max_iterations, initial_capacity=max(1, int(mask.sum())))
        for name in _FIELDS:
            selected = self._arrays[name][: self._size][mask]
            out._arrays[name][: selected.size] = selected
        out._size = int(mask.sum())
        out._last_time = self._last_time
        return out

    def raster_plot(self, ax: Any = None, *, cells_per_column: int | None = None, **scatter_kwargs: Any) -> Any:
        """Raster of events: time on x, flat cell index ``column * cells_per_column + cell`` on y.

        Needs matplotlib (optional extra ``plot``), imported here only.  Returns the axes.
        """
        import matplotlib.pyplot as plt  # lazy optional dependency

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        events = self.events()
        per_column = cells_per_column
        if per_column is None:
            per_column = int(events["cell"].max()) + 1 if self._size else 1
        unit = events["column"].astype(np.int64) * per_column + events["cell"]
        options = {"s": 2, "marker": "|", "color": "black"}
        options.update(scatter_kwargs)
        ax.scatter(self.times(), unit, **options)
        ax.set_xlabel("time (step x iterations + iteration)")
        ax.set_ylabel("cell (column x cells + cell)")
        return ax


def state_changes(previous_active: ArrayLike, current_active: ArrayLike) -> int:
    """Number of cells whose state changed between two settling iterations (cascade size).

    Args:
        previous_active, current_active: either bool/uint8 masks of the same shape, or sorted
            unique int index arrays of active cells (flat cell indices).

    Returns:
        Count of cells active in exactly one of the two states (size of the symmetric difference).
    """
    previous = np.asarray(previous_active)
    current = np.asarray(current_active)
    dense = {np.dtype(bool), np.dtype(np.uint8)}
    if previous.dtype in dense or current.dtype in dense:
        if previous.shape != current.shape:
            raise ValueError(
                f"previous_active and current_active masks differ in shape: {previous.shape} vs {current.shape}"
            )
        return int(np.count_nonzero(previous.astype(bool) != current.astype(bool)))
    for name, array in (("previous_active", previous), ("current_active", current)):
        if array.dtype.kind not in "iu" and array.size:
            raise ValueError(f"{name} must be a bool mask or an int index array, got dtype {array.dtype}")
    both = np.intersect1d(previous.reshape(-1), current.reshape(-1), assume_unique=True).size
    return int(previous.size + current.size - 2 * both)
