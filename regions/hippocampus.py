"""One-shot episodic memory of (location, feature, object) and sequence replay.

`EpisodicMemory` stores each episode after a single exposure as three SDRs (sorted index
arrays) -- the location code (grid or place cells), the sensed feature and the object. The
stored SDRs of each field form a binary sparse matrix ``(n_episodes, field_size)`` (scipy CSR,
rebuilt lazily after stores), so recall from any subset of the three fields is one sparse
matrix-vector product per cued field: the overlap of the cue with every stored episode, summed
over the cued fields; the best episode wins (pattern completion from a partial, noisy cue).

Sequences: `store_trajectory` keeps an ordered list of location codes with timestamps;
`recall_next` completes the current (possibly noisy) code to a stored element and returns its
successor; `replay` chains those steps. When a place was visited more than once, several
stored elements match equally; a temporal-context bias (prefer the match nearest after the
element just replayed) keeps replay moving forward in time, as hippocampal replay does.
Replay is time-compressed: it reports the stored timestamps, relative to the first replayed
one, divided by ``compression``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

__all__ = ["EpisodicMemory", "Recall", "Replay", "SequenceStep"]

FIELDS = ("location", "feature", "object")


@dataclass(frozen=True)
class Recall:
    """Result of `EpisodicMemory.recall`.

    ``episode`` is -1 (and the SDRs empty) when nothing is stored or no stored episode shares
    at least ``min_overlap`` active bits with the cue.
    """

    episode: int
    location: NDArray[np.int32]
    feature: NDArray[np.int32]
    object: NDArray[np.int32]
    overlap: int
    field_overlaps: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SequenceStep:
    """Result of `EpisodicMemory.recall_next`: the matched element and its successor.

    ``matched`` is the stored element the cue completed to, ``next`` its successor (-1 at the
    end of its trajectory), ``code`` the successor's SDR, ``overlap`` the cue's overlap with
    the matched element.
    """

    matched: int
    next: int
    code: NDArray[np.int32]
    overlap: int


@dataclass(frozen=True)
class Replay:
    """A replayed sequence: stored element indices in replay order, their codes, times.

    ``timestamps`` are the stored times relative to the first replayed element divided by the
    compression factor; ``order`` is each element's index within its trajectory.
    """

    elements: NDArray[np.int64]
    order: NDArray[np.int64]
    codes: list[NDArray[np.int32]]
    timestamps: NDArray[np.float64]


class _SparseRows:
    """Append-only list of SDRs with a lazily built binary CSR matrix."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: list[NDArray[np.int32]] = []
        self._matrix: sp.csr_matrix | None = None

    def append(self, sdr: NDArray[np.int32]) -> None:
        self.rows.append(sdr)
        self._matrix = None

    def matrix(self) -> sp.csr_matrix:
        if self._matrix is None:
            lengths = np.array([r.size for r in self.rows], dtype=np.int64)
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            indices = (
                np.concatenate(self.rows) if self.rows else np.empty(0, dtype=np.int32)
            ).astype(np.int32)
            data = np.ones(indices.size, dtype=np.float32)
            self._matrix = sp.csr_matrix(
                (data, indices, indptr), shape=(len(self.rows), self.size)
            )
        return self._matrix

    def overlaps(self, cue: NDArray[np.int32]) -> NDArray[np.int64]:
        dense = np.zeros(self.size, dtype=np.float32)
        dense[cue] = 1.0
        return np.rint(self.matrix() @ dense).astype(np.int64)


class EpisodicMemory:
    """One-shot memory of (location, feature, object) SDR triples, plus trajectories.

    Parameters
    ----------
    location_size, feature_size, object_size:
        Number of bits of each field's SDR space.
    min_overlap:
        Smallest summed cue overlap that counts as a recall (default 1).
    location_encoder:
        Optional callable mapping positions ``(n, d)`` to a list of n location SDRs; lets
        `store_trajectory` accept positions.

    Examples
    --------
    >>> memory = EpisodicMemory(100, 100, 10)
    >>> memory.store(location=[1, 2, 3], feature=[7, 8], object=[4])
    0
    >>> memory.recall(location=[1, 2]).object.tolist()
    [4]
    """

    def __init__(
        self,
        location_size: int,
        feature_size: int,
        object_size: int,
        *,
        min_overlap: int = 1,
        location_encoder: Callable[[NDArray[np.float64]], Sequence[ArrayLike]] | None = None,
    ) -> None:
        sizes = {"location": location_size, "feature": feature_size, "object": object_size}
        for name, size in sizes.items():
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"{name}_size must be a positive integer, got {size!r}")
        if isinstance(min_overlap, bool) or not isinstance(min_overlap, (int, np.integer)) or min_overlap < 1:
            raise ValueError(f"min_overlap must be a positive integer, got {min_overlap!r}")
        self._fields = {name: _SparseRows(int(size)) for name, size in sizes.items()}
        self._min_overlap = int(min_overlap)
        self._location_encoder = location_encoder
        self._sequence = _SparseRows(int(location_size))
        self._times: list[float] = []
        self._trajectory_of: list[int] = []
        self._order_in_trajectory: list[int] = []
        self._n_trajectories = 0

    # ------------------------------------------------------------------ episodes
    def __len__(self) -> int:
        return len(self._fields["location"].rows)

    @property
    def n_episodes(self) -> int:
        """Number of stored episodes."""
        return len(self)

    def field_size(self, name: str) -> int:
        """Bits of the SDR space of ``name`` (``location``, ``feature`` or ``object``)."""
        if name not in self._fields:
            raise ValueError(f"field must be one of {FIELDS}, got {name!r}")
        return self._fields[name].size

    def store(self, *, location: ArrayLike, feature: ArrayLike, object: ArrayLike) -> int:  # noqa: A002
        """Store one episode after a single exposure; returns its index.

        Each argument is an SDR: indices of active bits (any order; duplicates removed).
        """
        sdrs = {
            name: _sdr(value, self._fields[name].size, name)
            for name, value in (("location", location), ("feature", feature), ("object", object))
        }
        for name, sdr in sdrs.items():
            self._fields[name].append(sdr)
        return len(self) - 1

    def episode(self, index: int) -> dict[str, NDArray[np.int32]]:
        """The stored SDRs of one episode, keyed by field name."""
        if not 0 <= int(index) < len(self):
            raise ValueError(f"index must be in [0, {len(self)}), got {index!r}")
        return {name: rows.rows[int(index)].copy() for name, rows in self._fields.items()}

    def recall(
        self,
        *,
        location: ArrayLike | None = None,
        feature: ArrayLike | None = None,
        object: ArrayLike | None = None,  # noqa: A002
    ) -> Recall:
        """Complete a partial cue (any non-empty subset of the three fields) to the best episode.

        Score = sum over cued fields of |cue AND stored SDR|; ties go to the earliest episode.
        """
        cues = {
            name: _sdr(value, self._fields[name].size, name)
            for name, value in (("location", location), ("feature", feature), ("object", object))
            if value is not None
        }
        if not cues:
            raise ValueError("recall needs at least one of location, feature, object")
        empty = np.empty(0, dtype=np.int32)
        if len(self) == 0:
            return Recall(-1, empty, empty, empty, 0, {name: 0 for name in cues})
        per_field = {name: self._fields[name].overlaps(cue) for name, cue in cues.items()}
        total = np.sum(list(per_field.values()), axis=0)
        best = int(np.argmax(total))
        if total[best] < self._min_overlap:
            return Recall(-1, empty, empty, empty, int(total[best]), {n: 0 for n in cues})
        stored = self.episode(best)
        return Recall(
            best,
            stored["location"],
            stored["feature"],
            stored["object"],
            int(total[best]),
            {name: int(values[best]) for name, values in per_field.items()},
        )

    # ------------------------------------------------------------------ sequences
    @property
    def n_sequence_elements(self) -> int:
        """Number of stored trajectory elements (all trajectories)."""
        return len(self._sequence.rows)

    @property
    def n_trajectories(self) -> int:
        """Number of stored trajectories."""
        return self._n_trajectories

    def store_trajectory(
        self,
        trajectory: Sequence[ArrayLike] | NDArray[np.float64],
        timestamps: ArrayLike | None = None,
    ) -> NDArray[np.int64]:
        """Store an ordered trajectory in one exposure; returns its element indices.

        ``trajectory`` is a sequence of location SDRs, or positions ``(n, d)`` (float array)
        when a ``location_encoder`` was given. ``timestamps`` ``(n,)`` non-decreasing
        (default ``0, 1, ..., n-1``).
        """
        if isinstance(trajectory, np.ndarray) and trajectory.ndim == 2 and np.issubdtype(
            trajectory.dtype, np.floating
        ):
            if self._location_encoder is None:
                raise ValueError(
                    "trajectory is an array of positions but no location_encoder was given; "
                    "pass location SDRs or construct EpisodicMemory(location_encoder=...)"
                )
            codes = list(self._location_encoder(trajectory))
            if len(codes) != trajectory.shape[0]:
                raise ValueError("location_encoder must return one SDR per position")
        else:
            codes = list(trajectory)
        n = len(codes)
        if n == 0:
            raise ValueError("trajectory must hold at least one element")
        sdrs = [_sdr(code, self._sequence.size, "trajectory") for code in codes]
        if timestamps is None:
            times = np.arange(n, dtype=np.float64)
        else:
            times = np.asarray(timestamps, dtype=np.float64)
            if times.shape != (n,) or not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
                raise ValueError(
                    f"timestamps must be {n} finite non-decreasing numbers, got {timestamps!r}"
                )
        first = self.n_sequence_elements
        for sdr in sdrs:
            self._sequence.append(sdr)
        self._times.extend(times.tolist())
        self._trajectory_of.extend([self._n_trajectories] * n)
        self._order_in_trajectory.extend(range(n))
        self._n_trajectories += 1
        return np.arange(first, first + n, dtype=np.int64)

    def recall_next(
        self,
        code: ArrayLike,
        *,
        after: int | None = None,
        tolerance: float = 0.1,
        trajectory: int | None = None,
    ) -> SequenceStep:
        """Complete ``code`` to a stored element and return that element's successor.

        Candidates are the elements (of ``trajectory``, default all) whose overlap with the
        cue is at least ``(1 - tolerance)`` of the best overlap; among them the temporal
        context picks the first at or after element ``after + 1`` (wrapping), or the best
        overlap when ``after`` is None.
        """
        cue = _sdr(code, self._sequence.size, "code")
        if self.n_sequence_elements == 0:
            raise ValueError("no trajectory stored")
        if not 0.0 <= tolerance < 1.0:
            raise ValueError(f"tolerance must be in [0, 1), got {tolerance!r}")
        overlaps = self._sequence.overlaps(cue).astype(np.float64)
        trajectory_of = np.asarray(self._trajectory_of)
        if trajectory is not None:
            if not 0 <= trajectory < self._n_trajectories:
                raise ValueError(
                    f"trajectory must be in [0, {self._n_trajectories}), got {trajectory!r}"
                )
            overlaps[trajectory_of != trajectory] = -1.0
        best = overlaps.max()
        if best <= 0:
            return SequenceStep(-1, -1, np.empty(0, dtype=np.int32), 0)
        candidates = np.flatnonzero(overlaps >= (1.0 - tolerance) * best)
        if after is None:
            matched = int(candidates[np.argmax(overlaps[candidates])])
        else:
            distance = np.mod(candidates - (int(after) + 1), self.n_sequence_elements)
            matched = int(candidates[np.argmin(distance)])
        successor = matched + 1
        if successor >= self.n_sequence_elements or trajectory_of[successor] != trajectory_of[matched]:
            return SequenceStep(matched, -1, np.empty(0, dtype=np.int32), int(overlaps[matched]))
        return SequenceStep(
            matched, successor, self._sequence.rows[successor].copy(), int(overlaps[matched])
        )

    def replay(
        self,
        compression: float = 10.0,
        *,
        trajectory: int = -1,
        start: int = 0,
        noise: float = 0.0,
        rng: np.random.Generator | None = None,
        max_steps: int | None = None,
        tolerance: float = 0.1,
    ) -> Replay:
        """Replay a stored trajectory by chained recall, time-compressed.

        Starts from element ``start`` (index within the trajectory; ``trajectory`` -1 is the
        latest) and repeatedly completes the current code to a stored element and moves to its
        successor (`recall_next`, with temporal context). ``noise`` in [0, 1) replaces that
        fraction of the current code's bits by random bits at every step (needs ``rng``), so
        the chain runs on pattern completion, not on stored pointers. Stops at the end of the
        trajectory, when recall fails, or after ``max_steps`` (default: trajectory length).
        """
        if not compression > 0:
            raise ValueError(f"compression must be > 0, got {compression!r}")
        if not 0.0 <= noise < 1.0:
            raise ValueError(f"noise must be in [0, 1), got {noise!r}")
        if noise > 0 and rng is None:
            raise ValueError("rng is required when noise > 0")
        if self._n_trajectories == 0:
            raise ValueError("no trajectory stored")
        which = trajectory % self._n_trajectories if trajectory < 0 else trajectory
        if not 0 <= which < self._n_trajectories:
            raise ValueError(f"trajectory must be in [0, {self._n_trajectories}), got {trajectory!r}")
        members = np.flatnonzero(np.asarray(self._trajectory_of) == which)
        if not 0 <= start < members.size:
            raise ValueError(f"start must be in [0, {members.size}), got {start!r}")
        limit = members.size if max_steps is None else int(max_steps)
        element = int(members[start])
        elements = [element]
        current = self._sequence.rows[element]
        while len(elements) < limit:
            if noise > 0:
                current = _corrupt(current, noise, self._sequence.size, rng)  # type: ignore[arg-type]
            step = self.recall_next(
                current, after=elements[-1] - 1, tolerance=tolerance, trajectory=which
            )
            if step.next < 0:
                break
            elements.append(step.next)
            current = step.code
        index = np.asarray(elements, dtype=np.int64)
        times = np.asarray(self._times)[index]
        return Replay(
            elements=index,
            order=np.asarray(self._order_in_trajectory, dtype=np.int64)[index],
            codes=[self._sequence.rows[i].copy() for i in index],
            timestamps=(times - times[0]) / float(compression),
        )


def _sdr(value: ArrayLike, size: int, name: str) -> NDArray[np.int32]:
    array = np.atleast_1d(np.asarray(value))
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must be a 1-D array of integer bit indices, got {value!r}")
    if array.size and (array.min() < 0 or array.max() >= size):
        raise ValueError(
            f"{name} indices must lie in [0, {size}), got range [{array.min()}, {array.max()}]"
        )
    return np.unique(array).astype(np.int32)


def _corrupt(
    sdr: NDArray[np.int32], fraction: float, size: int, rng: np.random.Generator
) -> NDArray[np.int32]:
    """Replace ``round(fraction * len(sdr))`` bits of ``sdr`` by random other bits."""
    n_swap = int(round(fraction * sdr.size))
    if n_swap == 0:
        return sdr
    keep = rng.choice(sdr.size, sdr.size - n_swap, replace=False)
    pool = np.setdiff1d(np.arange(size), sdr, assume_unique=True)
    new = rng.choice(pool, min(n_swap, pool.size), replace=False)
    return np.unique(np.concatenate([sdr[keep], new])).astype(np.int32)
