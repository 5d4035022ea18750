"""L5 action layer: from object hypotheses and the current location to the next movement.

Batched over all columns of a region.  Each column's L5 keeps

* the **object codes** of learned objects (the L2/3 cells of each object, per column), to read
  which objects are still *hypotheses*: an object is consistent when the column's L2/3
  activity covers at least ``match_fraction`` of that object's code;
* an **object model**: the feature id each learned object shows at each location as the
  column's sensor sees it, ``expected (n_columns, n_objects, n_locations)`` (-1: none);
* per location, whether it was visited during the current episode and how *novel* it was
  when last sensed (the fraction of bursting L4 minicolumns; 1 for a never-visited place).

It proposes, per column, a score for every candidate location (lower is better):

``random``      uniform random scores (a random walk over unvisited places);
``scan``        the next place in a fixed raster order after the current one;
``hypothesis``  the expected fraction of the current candidate objects that would remain
                after sensing there: for candidates ``C`` with ``n_f`` of them showing feature
                ``f`` at the place, ``sum_f n_f^2 / |C|^2`` (minimising it maximises the
                expected information of the next sensation);

visited places get ``+revisit_penalty``; ``curiosity * place_novelty`` is subtracted (a
curious column prefers places that surprised it or that it has not seen).  Combining the
columns' proposals into one motor command is the region's business
(:func:`regions.policies.combine_proposals`).

Shapes and units: locations are ids ``0..n_locations-1`` (optionally with coordinates
``(n_locations, d)`` in world units); columns ``0..n_columns-1``; L2/3 cells are flat
indices ``column * cells_per_column + cell``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["L5Layer", "L5Params", "POLICIES", "expected_remaining"]

POLICIES: tuple[str, ...] = ("random", "scan", "hypothesis")


@dataclass(frozen=True)
class L5Params:
    """Parameters of the L5 layer.

    policy : ``"random"``, ``"scan"`` or ``"hypothesis"``.
    curiosity : weight (>= 0) of a place's novelty in its score.
    match_fraction : an object is a hypothesis of a column when the column's L2/3 activity
        covers at least this fraction (0, 1] of the object's code in that column.
    revisit_penalty : added to the score of places already visited in this episode (>= 0).
    """

    policy: str = "random"
    curiosity: float = 0.0
    match_fraction: float = 0.75
    revisit_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"L5 policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if not self.curiosity >= 0:
            raise ValueError(f"L5 curiosity must be >= 0, got {self.curiosity}")
        if not 0 < self.match_fraction <= 1:
            raise ValueError(f"L5 match_fraction must lie in (0, 1], got {self.match_fraction}")
        if not self.revisit_penalty >= 0:
            raise ValueError(f"L5 revisit_penalty must be >= 0, got {self.revisit_penalty}")


def expected_remaining(candidates: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Expected fraction of candidates left after sensing each location, per column.

    Parameters
    ----------
    candidates : bool ``(n_columns, n_objects)``, the current hypotheses.
    expected : int ``(n_columns, n_objects, n_locations)``, feature id per object and
        location (-1: no feature; it forms its own group).

    Returns
    -------
    float ``(n_columns, n_locations)``: ``sum_f n_f^2 / n^2`` with ``n_f`` the candidates
    showing feature ``f`` there and ``n`` all candidates (1.0 where ``n == 0``).
    """
    candidates = np.asarray(candidates, dtype=bool)
    expected = np.asarray(expected)
    if expected.ndim != 3 or candidates.shape != expected.shape[:2]:
        raise ValueError(
            f"candidates {candidates.shape} and expected {expected.shape} must be (C, O) and (C, O, L)"
        )
    C, O, L = expected.shape
    n_values = int(expected.max(initial=-1)) + 2
    c_idx, o_idx = np.nonzero(candidates)
    feats = expected[c_idx, o_idx, :] + 1  # (m, L), 0 = no feature
    keys = (c_idx[:, None] * L + np.arange(L)[None, :]) * n_values + feats
    counts = np.bincount(keys.reshape(-1), minlength=C * L * n_values).reshape(C, L, n_values)
    n = candidates.sum(axis=1).astype(np.float64)
    squares = (counts.astype(np.float64) ** 2).sum(axis=2)
    out = np.ones((C, L))
    has = n > 0
    out[has] = squares[has] / (n[has, None] ** 2)
    return out


class L5Layer:
    """L5 of every column of a region: object hypotheses and movement proposals.

    Parameters
    ----------
    n_columns : columns in the region.
    n_locations : candidate locations (sensor places) per column.
    cells_per_column : L2/3 cells per column (object codes are read against them).
    params : :class:`L5Params`.
    location_coordinates : optional float ``(n_locations, d)``; the scan order is the raster
        order of these coordinates (default: the id order) and displacements are differences
        of coordinates.
    rng : random generator (random policy and tie-breaks).
    """

    def __init__(
        self,
        n_columns: int,
        n_locations: int,
        cells_per_column: int,
        params: L5Params | None = None,
        *,
        location_coordinates: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        for name, v in (("n_columns", n_columns), ("n_locations", n_locations),
                        ("cells_per_column", cells_per_column)):
            if int(v) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v}")
        self.n_columns = int(n_columns)
        self.n_locations = int(n_locations)
        self.cells_per_column = int(cells_per_column)
        self.params = params or L5Params()
        self.rng = rng if rng is not None else np.random.default_rng()
        if location_coordinates is None:
            coords = np.arange(self.n_locations, dtype=np.float64)[:, None]
        else:
            coords = np.asarray(location_coordinates, dtype=np.float64)
            if coords.ndim == 1:
                coords = coords[:, None]
            if coords.shape[0] != self.n_locations:
                raise ValueError(
                    f"location_coordinates has {coords.shape[0]} rows, expected n_locations = {self.n_locations}"
                )
        self.location_coordinates = coords
        # raster order: last coordinate fastest (row-major for (row, col) coordinates)
        order = np.lexsort(coords.T[::-1])
        self.scan_rank = np.empty(self.n_locations, dtype=np.int64)
        self.scan_rank[order] = np.arange(self.n_locations)
        self.expected = np.full((self.n_columns, 0, self.n_locations), -1, dtype=np.int32)
        self._code_rows: list[np.ndarray] = []
        self._codes: sparse.csr_array | None = None
        self._code_sizes = np.zeros((0, self.n_columns), dtype=np.int64)
        self.reset()

    # ----------------------------------------------------------------- state
    @property
    def n_objects(self) -> int:
        """Objects learned so far."""
        return self.expected.shape[1]

    def reset(self) -> None:
        """Start a new episode: nothing visited, every place maximally novel."""
        self.visited = np.zeros((self.n_columns, self.n_locations), dtype=bool)
        self.place_novelty = np.ones((self.n_columns, self.n_locations))
        self.current = np.full(self.n_columns, -1, dtype=np.int64)

    # -------------------------------------------------------------- learning
    def learn_object(self, l23_cells: np.ndarray, expected_features: np.ndarray) -> int:
        """Store one object; returns its id.

        Parameters
        ----------
        l23_cells : the object's L2/3 code, flat cell indices over all columns.
        expected_features : int ``(n_columns, n_locations)`` (or ``(n_locations,)`` for all
            columns alike): the feature id each column senses at each location (-1: none).
        """
        cells = np.unique(np.asarray(l23_cells, dtype=np.int64))
        if cells.size and (cells[0] < 0 or cells[-1] >= self.n_columns * self.cells_per_column):
            raise ValueError(
                f"l23_cells must lie in [0, {self.n_columns * self.cells_per_column}), got {cells[0]}..{cells[-1]}"
            )
        feats = np.asarray(expected_features)
        if feats.ndim == 1:
            feats = np.broadcast_to(feats, (self.n_columns, feats.size))
        if feats.shape != (self.n_columns, self.n_locations):
            raise ValueError(
                f"expected_features must have shape {(self.n_columns, self.n_locations)}, got {feats.shape}"
            )
        self.expected = np.concatenate([self.expected, feats[:, None, :].astype(np.int32)], axis=1)
        self._code_rows.append(cells)
        sizes = np.bincount(cells // self.cells_per_column, minlength=self.n_columns)
        self._code_sizes = np.vstack([self._code_sizes, sizes[None]])
        self._codes = None
        return self.n_objects - 1

    def state_arrays(self) -> dict[str, np.ndarray]:
        """What learning stored, for saving: ``expected`` int32 ``(C, O, L)``; the object codes as
        ``code_indptr`` int64 ``(O + 1,)`` and ``code_indices`` int64 (flat L2/3 cells, object by object)."""
        rows = self._code_rows
        return {
            "expected": self.expected.copy(),
            "code_indptr": np.r_[0, np.cumsum([r.size for r in rows])].astype(np.int64),
            "code_indices": (np.concatenate(rows) if rows else np.zeros(0)).astype(np.int64),
        }

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_arrays` wrote (``ValueError`` when it was saved for another shape)."""
        missing = [k for k in ("expected", "code_indptr", "code_indices") if k not in arrays]
        if missing:
            raise ValueError(f"saved L5 state lacks {', '.join(missing)}")
        expected = np.asarray(arrays["expected"], dtype=np.int32)
        indptr = np.asarray(arrays["code_indptr"], dtype=np.int64)
        indices = np.asarray(arrays["code_indices"], dtype=np.int64)
        if expected.ndim != 3 or expected.shape[0] != self.n_columns or expected.shape[2] != self.n_locations:
            raise ValueError(f"saved L5 state has shape {expected.shape}; this L5 expects "
                             f"({self.n_columns}, objects, {self.n_locations})")
        if indptr.shape != (expected.shape[1] + 1,) or indptr[-1] != indices.size:
            raise ValueError(f"saved L5 object codes ({indptr.size - 1} objects) do not match its "
                             f"{expected.shape[1]} object models")
        if indices.size and (indices.min() < 0 or indices.max() >= self.n_columns * self.cells_per_column):
            raise ValueError(f"saved L5 object codes name cells outside [0, {self.n_columns * self.cells_per_column})")
        self.expected = expected.copy()
        self._code_rows = [indices[a:b].copy() for a, b in zip(indptr[:-1], indptr[1:])]
        self._code_sizes = np.array([np.bincount(r // self.cells_per_column, minlength=self.n_columns)
                                     for r in self._code_rows], dtype=np.int64).reshape(-1, self.n_columns)
        self._codes = None
        self.reset()

    def _code_matrix(self) -> sparse.csr_array:
        if self._codes is None:
            rows = self._code_rows
            indptr = np.r_[0, np.cumsum([r.size for r in rows])]
            idx = np.concatenate(rows) if rows else np.zeros(0, np.int64)
            self._codes = sparse.csr_array(
                (np.ones(idx.size, dtype=np.int32), idx, indptr),
                shape=(len(rows), self.n_columns * self.cells_per_column),
            )
        return self._codes

    # ------------------------------------------------------------- inference
    def overlaps(self, l23_active: np.ndarray) -> np.ndarray:
        """Overlap of each column's L2/3 activity with each object's code there, int ``(C, O)``."""
        active = np.unique(np.asarray(l23_active, dtype=np.int64))
        if self.n_objects == 0:
            return np.zeros((self.n_columns, 0), dtype=np.int64)
        sub = self._code_matrix()[:, active]  # (O, n_active)
        column_of = sparse.csr_array(
            (np.ones(active.size, dtype=np.int32), active // self.cells_per_column, np.arange(active.size + 1)),
            shape=(active.size, self.n_columns),
        )
        return np.asarray((sub @ column_of).toarray()).T.astype(np.int64)

    def hypotheses(self, l23_active: np.ndarray) -> np.ndarray:
        """Objects still consistent with each column's L2/3 activity, bool ``(C, O)``."""
        ov = self.overlaps(l23_active)
        need = np.ceil(self.params.match_fraction * self._code_sizes.T)
        return (ov >= need) & (self._code_sizes.T > 0)

    def observe(self, locations: np.ndarray, novelty: np.ndarray) -> None:
        """Record the places just sensed (one location id per column) and their novelty ``(C,)``."""
        loc = np.asarray(locations, dtype=np.int64).reshape(-1)
        if loc.shape != (self.n_columns,) or loc.min() < 0 or loc.max() >= self.n_locations:
            raise ValueError(f"locations must be {self.n_columns} ids in [0, {self.n_locations}), got {loc}")
        nov = np.broadcast_to(np.asarray(novelty, dtype=np.float64), (self.n_columns,))
        cols = np.arange(self.n_columns)
        self.visited[cols, loc] = True
        self.place_novelty[cols, loc] = nov
        self.current = loc

    def propose(self, hypotheses: np.ndarray | None = None, allowed: np.ndarray | None = None) -> np.ndarray:
        """Score every candidate location for every column, float ``(C, L)`` (lower is better).

        Parameters
        ----------
        hypotheses : bool ``(C, O)`` from :meth:`hypotheses` (needed by ``hypothesis``).
        allowed : optional bool ``(C, L)`` or ``(L,)``: places the sensor can reach; others
            get ``+inf``.
        """
        p = self.params
        C, L = self.n_columns, self.n_locations
        if p.policy == "hypothesis":
            if hypotheses is None:
                raise ValueError("the hypothesis policy needs hypotheses (C, O)")
            hyp = np.asarray(hypotheses, dtype=bool)
            if hyp.shape != (C, self.n_objects):
                raise ValueError(f"hypotheses must have shape {(C, self.n_objects)}, got {hyp.shape}")
            score = expected_remaining(hyp, self.expected)
            score = score + 1e-6 * self.rng.random((C, L))  # random tie-break
        elif p.policy == "random":
            score = self.rng.random((C, L))
        else:  # scan: cyclic rank after the current place
            cur = np.where(self.current >= 0, self.scan_rank[np.maximum(self.current, 0)], -1)
            score = ((self.scan_rank[None, :] - cur[:, None] - 1) % L) / L
        score = score + p.revisit_penalty * self.visited - p.curiosity * self.place_novelty
        if allowed is not None:
            ok = np.broadcast_to(np.asarray(allowed, dtype=bool), (C, L))
            score = np.where(ok, score, np.inf)
        return score

    def displacement(self, targets: np.ndarray) -> np.ndarray:
        """Displacement from the current place to ``targets`` (ids per column), float ``(C, d)``."""
        t = np.asarray(targets, dtype=np.int64)
        cur = np.where(self.current >= 0, self.current, t)
        return self.location_coordinates[t] - self.location_coordinates[cur]
