"""Activity recording: compact event storage, binned population activity, sparse export,
and recordings of a network's layers streamed to disk in chunks.

An event is one active cell: ``(step, settling iteration, column, cell)``, with ``cell`` the
index inside its column's layer.  Events are appended to four growing int32 arrays (capacity
doubling), never to Python lists of objects, so recording a region step costs one slice copy.

A *stored recording* (written by :class:`RecordingWriter`, read by :func:`load_recording`) holds
any number of (region, layer) event streams in bounded memory: each stream buffers at most
``chunk_events`` events, then writes them as one chunk.  On disk (format version 1)::

    <root>/index.json                              # shapes, streams, chunk files, step count
    <root>/<region>/<layer>/chunk_00000.npz        # int32 arrays step, iteration, column, cell
    <root>/<region>/sensations/chunk_00000.npz     # int32 arrays step, learn, iterations

A chunk holds exactly ``chunk_events`` rows (the last one of a stream fewer), in time order.
``index.json`` is rewritten after every chunk, so a run that stops early leaves a readable
recording of its complete chunks (``"complete": false``).  A *step* is one
:meth:`regions.network.Network.step` call; the event time is
``step * iterations_per_step + iteration`` as in :class:`ActivityRecorder`.  An inference step
records every settling iteration (``0 .. iterations - 1``); a learning step records every held
repeat (``iteration`` = the repeat, ``0 .. repeats - 1``; ``learn = 1`` in the sensations stream,
``iterations`` = the repeats).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # pragma: no cover
    import sparse

__all__ = ["ActivityRecorder", "ChunkedEvents", "Recording", "RecordingWriter", "load_recording",
           "recording_avalanches", "state_changes"]

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

    def record_many(self, step: ArrayLike, iteration: ArrayLike, column: ArrayLike, cell: ArrayLike) -> None:
        """Append many events at once, already in time order.

        Args:
            step, iteration, column, cell: (k,) int arrays, one entry per event, sorted by
                ``(step, iteration)`` and not before the last recorded time.

        Leaves the state ``record`` would leave called once per ``(step, iteration)`` group, in one
        copy per field.
        """
        arrays = [_as_index_array(values, name) for values, name in
                  ((step, "step"), (iteration, "iteration"), (column, "column"), (cell, "cell"))]
        k = arrays[0].size
        if any(a.size != k for a in arrays):
            raise ValueError(f"step, iteration, column and cell must have the same length, got "
                             f"{[a.size for a in arrays]}")
        if k == 0:
            return
        steps, iterations = arrays[0], arrays[1]
        if self.max_iterations is not None and int(iterations.max()) >= self.max_iterations:
            raise ValueError(f"iteration must be < max_iterations={self.max_iterations}, got {int(iterations.max())}")
        key = steps.astype(np.int64) * (_INT32_MAX + 1) + iterations
        first = (int(steps[0]), int(iterations[0]))
        if np.any(np.diff(key) < 0) or first < self._last_time:
            raise ValueError("record_many: events must be sorted by (step, iteration) and come after the last "
                             f"recorded time {self._last_time}")
        self._reserve(self._size + k)
        end = self._size + k
        for name, values in zip(_FIELDS, arrays):
            self._arrays[name][self._size : end] = values
        self._size = end
        self._last_time = (int(steps[-1]), int(iterations[-1]))

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


# ---------------------------------------------------------------------------------- stored recordings
RECORDING_FORMAT = "cortical-recording"
RECORDING_VERSION = 1
INDEX_FILE = "index.json"
SENSATIONS = "sensations"  #: the per-sensation stream of each region (not a layer)
_SENSATION_FIELDS = ("step", "learn", "iterations")


class ChunkedEvents:
    """One stream of int32 rows (fixed fields) buffered up to ``chunk_events`` rows per chunk.

    A full buffer is written as ``<directory>/chunk_<k:05d>.npz`` (``directory`` None: the chunk
    is kept in memory, in :attr:`memory_chunks`), so the buffer never holds more than
    ``chunk_events`` rows: ``nbytes`` is ``4 * len(fields) * chunk_events`` for the whole run.

    Args:
        fields: names of the int32 columns.
        chunk_events: rows per chunk, >= 1.
        directory: where chunks go (created on the first write), or None for memory.
        relative_to: chunk paths in :attr:`chunks` are given relative to it (default ``directory``).
    """

    def __init__(self, fields: tuple[str, ...], chunk_events: int, directory: Path | None,
                 relative_to: Path | None = None) -> None:
        if not isinstance(chunk_events, (int, np.integer)) or isinstance(chunk_events, bool) or chunk_events < 1:
            raise ValueError(f"chunk_events must be a positive int, got {chunk_events!r}")
        self.fields = tuple(fields)
        self.chunk_events = int(chunk_events)
        self.directory = directory
        self._relative_to = relative_to if relative_to is not None else directory
        self._buffer = {name: np.empty(self.chunk_events, dtype=np.int32) for name in self.fields}
        self._fill = 0
        self.n_rows = 0
        self.chunks: list[str] = []  #: chunk files written (relative paths), in order
        self.memory_chunks: list[dict[str, np.ndarray]] = []  #: chunks kept when ``directory`` is None

    @property
    def buffered(self) -> int:
        """Rows held in memory, not yet written (always < ``chunk_events`` between appends)."""
        return self._fill

    @property
    def nbytes(self) -> int:
        """Bytes of the write buffer (fixed)."""
        return sum(a.nbytes for a in self._buffer.values())

    def append(self, **columns: np.ndarray | int) -> None:
        """Append rows; each field an int array of one length, or one int repeated for all rows."""
        missing = set(self.fields) ^ set(columns)
        if missing:
            raise ValueError(f"append needs exactly the fields {self.fields}, got {sorted(columns)}")
        arrays = {name: np.asarray(columns[name]).reshape(-1) for name in self.fields}
        k = max(a.size for a in arrays.values())
        for name, a in arrays.items():
            if a.size not in (1, k):
                raise ValueError(f"field {name!r} has {a.size} rows, expected {k} or 1")
        start = 0
        while start < k:
            take = min(k - start, self.chunk_events - self._fill)
            for name, a in arrays.items():
                self._buffer[name][self._fill:self._fill + take] = a if a.size == 1 else a[start:start + take]
            self._fill += take
            self.n_rows += take
            start += take
            if self._fill == self.chunk_events:
                self.flush()

    def flush(self) -> bool:
        """Write the buffered rows as the next chunk (nothing when empty); True when written."""
        if self._fill == 0:
            return False
        data = {name: self._buffer[name][: self._fill].copy() for name in self.fields}
        if self.directory is None:
            self.memory_chunks.append(data)
            self.chunks.append(f"<memory>/chunk_{len(self.chunks):05d}")
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"chunk_{len(self.chunks):05d}.npz"
            np.savez(path, **data)
            self.chunks.append(path.relative_to(self._relative_to).as_posix())
        self._fill = 0
        return True


class RecordingWriter:
    """Records (region, layer) activity per settling iteration into chunked streams.

    Args:
        root: the recording directory (``<output.dir>/recording`` for a run), or None to keep the
            chunks in memory (unbounded; read them with :meth:`reader`).
        regions: region name -> ``{"columns": int, "settle_max_iterations": int,
            "layers": {layer: cells per column}}`` for every recorded region.
        chunk_events: events per chunk (per stream).

    Chunk files of an earlier recording under ``root`` (those its ``index.json`` lists) are
    removed first, so a rerun into the same directory leaves one recording.
    """

    def __init__(self, root: str | os.PathLike[str] | None, regions: Mapping[str, Mapping[str, Any]],
                 chunk_events: int) -> None:
        self.root = None if root is None else Path(root)
        self.chunk_events = int(chunk_events)
        self.regions = {name: {"columns": int(spec["columns"]),
                               "settle_max_iterations": int(spec["settle_max_iterations"]),
                               "layers": {layer: int(n) for layer, n in spec["layers"].items()}}
                        for name, spec in regions.items()}
        if self.root is not None:
            _remove_old_recording(self.root)
        self.streams: dict[tuple[str, str], ChunkedEvents] = {}
        for name, spec in self.regions.items():
            for layer in [*spec["layers"], SENSATIONS]:
                directory = None if self.root is None else self.root / name / layer
                fields = _SENSATION_FIELDS if layer == SENSATIONS else _FIELDS
                self.streams[(name, layer)] = ChunkedEvents(fields, self.chunk_events, directory, self.root)
        self.steps = 0
        self._iterations = {name: spec["settle_max_iterations"] for name, spec in self.regions.items()}
        self.complete = False

    @property
    def nbytes(self) -> int:
        """Bytes held by the write buffers (fixed: every stream's buffer of ``chunk_events`` rows)."""
        return sum(s.nbytes for s in self.streams.values())

    @property
    def buffered(self) -> int:
        """Events held in memory across all layer streams."""
        return sum(s.buffered for (_, layer), s in self.streams.items() if layer != SENSATIONS)

    def begin_step(self) -> int:
        """Start the next step; returns its index (0, 1, ...)."""
        self.steps += 1
        return self.steps - 1

    def record(self, region: str, layer: str, step: int, iteration: int, active_cells: np.ndarray) -> None:
        """Record the flat active cells (``column * cells_per_column + cell``) of one iteration."""
        stream = self.streams[(region, layer)]
        per_column = self.regions[region]["layers"][layer]
        flat = np.asarray(active_cells, dtype=np.int64)
        if iteration >= self._iterations[region]:
            self._iterations[region] = int(iteration) + 1
        if flat.size:
            self._append(stream, step=step, iteration=iteration, column=flat // per_column, cell=flat % per_column)

    def end_sensation(self, region: str, step: int, learn: bool, iterations: int) -> None:
        """Note that ``region`` sensed at ``step`` (learning or not) for ``iterations`` iterations."""
        self._append(self.streams[(region, SENSATIONS)], step=step, learn=int(learn), iterations=iterations)

    def _append(self, stream: ChunkedEvents, **columns: Any) -> None:
        written = len(stream.chunks)
        stream.append(**columns)
        self.complete = False
        if len(stream.chunks) != written:  # a chunk went to disk: the index lists it
            self.write_index()

    def close(self) -> None:
        """Write every buffered row and the final index (the recording is complete)."""
        for stream in self.streams.values():
            stream.flush()
        self.complete = True
        self.write_index()

    def index(self) -> dict[str, Any]:
        """The metadata of the recording (what ``index.json`` holds)."""
        regions = {}
        for name, spec in self.regions.items():
            layers = {layer: {"cells_per_column": n, "cells": n * spec["columns"],
                              "events": self.streams[(name, layer)].n_rows - self.streams[(name, layer)].buffered,
                              "chunks": list(self.streams[(name, layer)].chunks)}
                      for layer, n in spec["layers"].items()}
            sens = self.streams[(name, SENSATIONS)]
            regions[name] = {"columns": spec["columns"], "settle_max_iterations": spec["settle_max_iterations"],
                             "iterations_per_step": self._iterations[name], "layers": layers,
                             SENSATIONS: {"count": sens.n_rows - sens.buffered, "chunks": list(sens.chunks)}}
        return {"format": RECORDING_FORMAT, "version": RECORDING_VERSION, "chunk_events": self.chunk_events,
                "steps": self.steps, "complete": self.complete, "fields": list(_FIELDS),
                "time": "step * iterations_per_step + iteration", "regions": regions}

    def write_index(self) -> None:
        """Rewrite ``index.json`` (listing the chunks written so far); nothing in memory mode."""
        if self.root is None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / (INDEX_FILE + ".tmp")
        tmp.write_text(json.dumps(self.index(), indent=1))
        tmp.replace(self.root / INDEX_FILE)

    def reader(self) -> Recording:
        """A :class:`Recording` of what was written (call :meth:`close` first for the last rows)."""
        if self.root is not None:
            return load_recording(self.root)
        memory = {key: stream.memory_chunks for key, stream in self.streams.items()}
        return Recording(self.index(), None, memory)


def _remove_old_recording(root: Path) -> None:
    index = root / INDEX_FILE
    if not index.is_file():
        return
    try:
        meta = json.loads(index.read_text())
    except (OSError, ValueError):
        return
    for spec in (meta.get("regions") or {}).values():
        streams = [*(spec.get("layers") or {}).values(), spec.get(SENSATIONS) or {}]
        for stream in streams:
            for rel in stream.get("chunks", []):
                path = root / rel
                if path.is_file() and path.suffix == ".npz":
                    path.unlink()
    index.unlink()


class Recording:
    """A stored recording (see the module docstring), read chunk by chunk.

    Attributes:
        meta: the index (``steps``, ``chunk_events``, ``complete``, and per region ``columns``,
            ``iterations_per_step``, ``layers`` with ``cells_per_column`` / ``events`` / ``chunks``).
        root: the directory (None for an in-memory recording).
    """

    def __init__(self, meta: Mapping[str, Any], root: Path | None,
                 memory: Mapping[tuple[str, str], list[dict[str, np.ndarray]]] | None = None) -> None:
        self.meta = dict(meta)
        self.root = root
        self._memory = memory

    @property
    def regions(self) -> list[str]:
        """Recorded region names."""
        return list(self.meta["regions"])

    def layers(self, region: str) -> list[str]:
        """Recorded layers of ``region``."""
        return list(self._region(region)["layers"])

    @property
    def steps(self) -> int:
        """Network steps recorded."""
        return int(self.meta["steps"])

    def _region(self, region: str) -> dict[str, Any]:
        try:
            return self.meta["regions"][region]
        except KeyError:
            raise KeyError(f"no recorded region {region!r}; recorded: {', '.join(self.regions)}") from None

    def _stream(self, region: str, layer: str) -> dict[str, Any]:
        spec = self._region(region)
        if layer == SENSATIONS:
            return spec[SENSATIONS]
        if layer not in spec["layers"]:
            raise KeyError(f"layer {layer!r} of region {region!r} was not recorded; recorded: "
                           f"{', '.join(spec['layers'])}")
        return spec["layers"][layer]

    def cells_per_column(self, region: str, layer: str) -> int:
        """Cells per column of a recorded layer."""
        return int(self._stream(region, layer)["cells_per_column"])

    def iterations_per_step(self, region: str) -> int:
        """Time units per step of ``region`` (its settling limit, or more if a step ran longer)."""
        return int(self._region(region)["iterations_per_step"])

    def iter_chunks(self, region: str, layer: str) -> Iterator[dict[str, np.ndarray]]:
        """Yield the chunks of one stream in time order, one at a time (dict of int32 arrays)."""
        stream = self._stream(region, layer)
        if self._memory is not None:
            yield from self._memory[(region, layer)]
            return
        for rel in stream["chunks"]:
            path = self.root / rel
            if not path.is_file():
                raise FileNotFoundError(f"recording {self.root}: chunk {rel} listed in {INDEX_FILE} is missing")
            with np.load(path) as data:
                yield {name: data[name] for name in data.files}

    def events(self, region: str, layer: str) -> dict[str, np.ndarray]:
        """All events of a stream, concatenated (int32 arrays ``step``, ``iteration``, ``column``,
        ``cell``; for ``"sensations"``: ``step``, ``learn``, ``iterations``)."""
        fields = _SENSATION_FIELDS if layer == SENSATIONS else _FIELDS
        parts = list(self.iter_chunks(region, layer))
        return {name: np.concatenate([p[name] for p in parts]) if parts else np.zeros(0, np.int32)
                for name in fields}

    def sensations(self, region: str) -> dict[str, np.ndarray]:
        """Per sensation of ``region``: the ``step`` it was sensed in, ``learn`` (0/1), ``iterations``."""
        return self.events(region, SENSATIONS)

    def recorder(self, region: str, layer: str) -> ActivityRecorder:
        """The events of one layer as an :class:`ActivityRecorder` (time unit: one iteration), filled
        chunk by chunk, for :func:`regions.dynamics.avalanches` and the other dynamics tools."""
        stream = self._stream(region, layer)
        out = ActivityRecorder(self.iterations_per_step(region), initial_capacity=max(1, int(stream["events"])))
        for chunk in self.iter_chunks(region, layer):
            out.record_many(chunk["step"], chunk["iteration"], chunk["column"], chunk["cell"])
        return out

    def population_activity(self, region: str, layer: str) -> np.ndarray:
        """Active cells per time unit (``step * iterations_per_step + iteration``) over all recorded
        steps, int64 ``(steps * iterations_per_step,)``, accumulated chunk by chunk."""
        per_step = self.iterations_per_step(region)
        counts = np.zeros(self.steps * per_step, dtype=np.int64)
        for chunk in self.iter_chunks(region, layer):
            t = chunk["step"].astype(np.int64) * per_step + chunk["iteration"]
            counts += np.bincount(t, minlength=counts.size)[: counts.size]
        return counts


def load_recording(path: str | os.PathLike[str], trial: int = 0) -> Recording:
    """Open a stored recording: its directory, or a run's output directory holding ``recording/``.

    Raises ``FileNotFoundError`` naming the path when there is no ``index.json`` there, and
    ``ValueError`` when the index is not a recording of a known version.
    """
    base = Path(path)
    candidates = [base, base / "recording"]
    if trial:
        candidates = [base / f"trial_{trial:04d}", base / "recording" / f"trial_{trial:04d}"]
    root = next((c for c in candidates if (c / INDEX_FILE).is_file()), None)
    if root is None:
        raise FileNotFoundError(f"{path}: no recording here (no {INDEX_FILE} in "
                                f"{' or '.join(str(c) for c in candidates)}); run a config with a recording block "
                                f"and an output directory (cortical run CONFIG --out DIR)")
    try:
        meta = json.loads((root / INDEX_FILE).read_text())
    except ValueError as exc:
        raise ValueError(f"{root / INDEX_FILE}: not a recording index ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != RECORDING_FORMAT:
        raise ValueError(f"{root / INDEX_FILE}: not a recording index (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") != RECORDING_VERSION:
        raise ValueError(f"{root / INDEX_FILE}: recording version {meta.get('version')!r}, this code reads "
                         f"{RECORDING_VERSION}")
    return Recording(meta, root)


def recording_avalanches(recording: Recording, *, bin_width: float | None = None,
                         keep_sets: bool = False) -> list[dict[str, Any]]:
    """Avalanche statistics of every recorded (region, layer): one row each.

    The population activity is binned at ``bin_width`` time units (default: the mean interval
    between successive event times, Beggs & Plenz); an avalanche is a run of non-empty bins.
    Each row: ``region``, ``layer``, ``events``, ``bin_width``, ``avalanches``, ``mean_size``,
    ``max_size``, ``mean_duration``, ``tau`` / ``tau_x_min`` / ``tau_n_tail`` (size exponent,
    discrete MLE with KS-chosen x_min; None when fewer than 10 avalanches or fewer than 3
    distinct sizes), ``alpha`` / ``alpha_x_min`` (duration exponent, likewise),
    ``branching_ratio`` (multistep regression; None when the series is too short, constant or
    carries no branching signal).  ``keep_sets``: each row also holds its
    :class:`~regions.dynamics.avalanches.AvalancheSet` under ``"set"`` (for figures).
    """
    from .avalanches import avalanches
    from .branching import multistep_regression
    from .power_law import fit_power_law

    def fit(values: np.ndarray) -> Any:
        if values.size < 10 or np.unique(values).size < 3:
            return None
        try:
            return fit_power_law(values)
        except (ValueError, RuntimeError):
            return None

    rows = []
    for region in recording.regions:
        for layer in recording.layers(region):
            rec = recording.recorder(region, layer)
            width = rec.default_bin_width() if bin_width is None else float(bin_width)
            activity = rec.population_activity(width)
            aval = avalanches(activity)
            tau, alpha = fit(aval.sizes), fit(aval.durations)
            try:
                m = float(multistep_regression(activity, k_max=min(10, max(1, activity.size // 4))).m) \
                    if activity.size >= 8 and np.ptp(activity) > 0 else None
            except (ValueError, RuntimeError):  # no branching signal / the fit did not converge
                m = None
            row: dict[str, Any] = {
                "region": region, "layer": layer, "events": int(rec.n_events), "bin_width": float(width),
                "avalanches": len(aval),
                "mean_size": float(aval.sizes.mean()) if len(aval) else None,
                "max_size": int(aval.sizes.max()) if len(aval) else None,
                "mean_duration": float(aval.durations.mean()) if len(aval) else None,
                "tau": None if tau is None else float(tau.exponent),
                "tau_x_min": None if tau is None else int(tau.x_min),
                "tau_n_tail": None if tau is None else int(tau.n_tail),
                "alpha": None if alpha is None else float(alpha.exponent),
                "alpha_x_min": None if alpha is None else int(alpha.x_min),
                "branching_ratio": m,
            }
            if keep_sets:
                row["set"] = aval
            rows.append(row)
    return rows
