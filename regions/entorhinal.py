"""A shared allocentric coordinate frame: grid modules, phase codes, place cells.

A region's columns share one `CoordinateFrame`: a set of grid modules whose periods grow by a
ratio of about 1.4 (Fiete, Burak & Brookings 2008). A 2-D position ``x`` (world units) is
coded by each module ``m`` as the phase ``phi_m = A_m x mod 1`` in ``[0, 1)^2``, with ``A_m =
inverse(period_m * basis_m)``. On the default *square* lattice (axis-aligned, basis angle 90
degrees) this is ``x_axis / period_m mod 1`` per axis, so integer periods give an exact code
over ``unique_range = lcm(periods)`` along each axis; the *hexagonal* lattice (60 degrees, with
orientations) is the biological grid.

Phases are also rotations: ``phase_vector(x) = exp(i 2 pi A_m x)`` per module and phase axis,
and moving by ``d`` multiplies by ``exp(i 2 pi A_m d)`` (`rotate`) -- path integration is the
composition of rotations, exactly the rotary-position-embedding view.

Place cells (`PlaceCells`) read the frame's grid cells: each place cell wires one-shot to the
grid cells active at its centre (a random sample per module) and fires where at least a
fraction ``threshold`` of those synapses are active, so it fires near its centre and nowhere
else inside the unique range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from columns.gridcells import GridModules

__all__ = ["CoordinateFrame", "PlaceCells"]

# Largest (positions x candidates x modules) block the maximum-likelihood decoder evaluates.
_MAX_DECODE_ELEMENTS = 1 << 22


class CoordinateFrame:
    """Grid modules of increasing period sharing one allocentric frame.

    Parameters
    ----------
    periods:
        World units per period of each module, ``(n_modules,)``, all > 0 (default 3, 4, 5, 7:
        ratios near 1.4, unique range 420). Use ``geometric_periods`` for ``l0 * 1.4**i``.
    lattice:
        ``"square"`` (axis-aligned, per-axis codes; exact CRT-like range for integer periods)
        or ``"hexagonal"`` (60-degree grid-cell lattice with ``orientations``).
    orientations:
        Radians per module, hexagonal lattice only (default: spread over 60 degrees).
    cells_per_axis:
        Grid cells per torus axis for the cell-level views (`grid_modules`, `grid_code`).
    bump_sigma, activation_threshold:
        Width of a module's activity bump (periods) and the fraction of the bump's peak a cell
        needs to be active (defaults: ``GridModules``' defaults); they set which cells a grid
        code holds.

    `from_grid_modules` builds the frame of a column's L6 grid modules (their scales,
    orientations, lattice angle, cells and bump width): one source of truth for both.

    Examples
    --------
    >>> frame = CoordinateFrame((3, 4, 5, 7))
    >>> frame.unique_range
    420.0
    >>> bool(np.allclose(frame.decode(frame.encode([[12.5, 300.0]])), [[12.5, 300.0]]))
    True
    """

    def __init__(
        self,
        periods: ArrayLike = (3.0, 4.0, 5.0, 7.0),
        *,
        lattice: Literal["square", "hexagonal"] = "square",
        orientations: ArrayLike | None = None,
        cells_per_axis: int = 10,
        bump_sigma: float | None = None,
        activation_threshold: float | None = None,
    ) -> None:
        period_array = np.atleast_1d(np.asarray(periods, dtype=np.float64))
        if period_array.ndim != 1 or period_array.size == 0:
            raise ValueError(f"periods must be a non-empty 1-D sequence, got {periods!r}")
        if not np.all(np.isfinite(period_array)) or np.any(period_array <= 0):
            raise ValueError(f"periods must be finite and > 0, got {periods!r}")
        if lattice not in ("square", "hexagonal"):
            raise ValueError(f"lattice must be 'square' or 'hexagonal', got {lattice!r}")
        if lattice == "square":
            if orientations is not None and np.any(np.asarray(orientations) != 0):
                raise ValueError(
                    "orientations apply to the hexagonal lattice only; the square lattice is "
                    f"axis-aligned, got orientations={orientations!r}"
                )
            orientation_array = np.zeros_like(period_array)
            angle = 90.0
        else:
            if orientations is None:
                n = period_array.size
                orientation_array = np.radians((np.arange(n) + 0.5) * 60.0 / n)
            else:
                orientation_array = np.asarray(orientations, dtype=np.float64)
                if orientation_array.shape != period_array.shape:
                    raise ValueError(
                        f"orientations must have shape {period_array.shape}, got "
                        f"{orientation_array.shape}"
                    )
            angle = 60.0
        self._periods = period_array
        self._orientations = orientation_array
        self._lattice: Literal["square", "hexagonal"] = lattice
        self._lattice_angle = angle
        self._cells_per_axis = int(cells_per_axis)
        self._bump_sigma = None if bump_sigma is None else float(bump_sigma)
        self._activation_threshold = None if activation_threshold is None else float(activation_threshold)
        # the frame's own modules (one "column") give the phase matrices and cell geometry
        self._reference = self.grid_modules(1)
        self._phase_matrices = np.array(self._reference.phase_matrices[0])  # (M, 2, 2)

    @classmethod
    def from_grid_modules(cls, modules: GridModules) -> CoordinateFrame:
        """The frame of a batch of grid modules (e.g. a column's L6, ``region.L6.modules``).

        A 60-degree lattice gives a hexagonal frame with the modules' orientations, a 90-degree
        one with zero orientations the square frame; periods are the modules' scales (those of
        the first column), cells per axis, bump width and activation threshold are the modules',
        so the frame's grid codes are the cells the modules activate.
        """
        scales = np.asarray(modules.scales, dtype=np.float64).reshape(-1, modules.n_modules)[0]
        orientations = np.asarray(modules.orientations, dtype=np.float64).reshape(-1, modules.n_modules)[0]
        angle = float(modules.lattice_angle)
        if math.isclose(angle, 60.0):
            lattice: Literal["square", "hexagonal"] = "hexagonal"
        elif math.isclose(angle, 90.0) and np.allclose(orientations, 0.0):
            lattice = "square"
        else:
            raise ValueError(f"a frame takes 60-degree (hexagonal) or axis-aligned 90-degree (square) grid "
                             f"modules, got lattice angle {angle:g} with orientations {orientations.tolist()}")
        return cls(scales, lattice=lattice, orientations=orientations if lattice == "hexagonal" else None,
                   cells_per_axis=modules.cells_per_axis, bump_sigma=modules.bump_sigma,
                   activation_threshold=modules.activation_threshold)

    @staticmethod
    def geometric_periods(smallest: float, n_modules: int, ratio: float = 1.4) -> NDArray[np.float64]:
        """Periods ``smallest * ratio**i`` for ``i < n_modules``."""
        if not smallest > 0 or not ratio > 1 or int(n_modules) < 1:
            raise ValueError(
                f"need smallest > 0, ratio > 1, n_modules >= 1; got {smallest!r}, "
                f"{ratio!r}, {n_modules!r}"
            )
        return float(smallest) * float(ratio) ** np.arange(int(n_modules))

    # ------------------------------------------------------------------ parameters
    @property
    def periods(self) -> NDArray[np.float64]:
        """World units per period, ``(n_modules,)``."""
        return self._periods.copy()

    @property
    def n_modules(self) -> int:
        """Number of grid modules."""
        return int(self._periods.size)

    @property
    def lattice(self) -> str:
        """``"square"`` or ``"hexagonal"``."""
        return self._lattice

    @property
    def phase_matrices(self) -> NDArray[np.float64]:
        """``A_m``: world displacement -> phase, ``(n_modules, 2, 2)``."""
        return self._phase_matrices.copy()

    @property
    def unique_range(self) -> float:
        """Side of the region coded uniquely: ``lcm(periods)`` per axis (square lattice).

        Defined for integer periods on the square lattice; ``math.inf`` otherwise (the code
        then has no exact period and `decode` needs an explicit ``search_range``).
        """
        rounded = np.rint(self._periods)
        if self._lattice != "square" or not np.allclose(self._periods, rounded, rtol=0, atol=1e-9):
            return math.inf
        return float(math.lcm(*(int(p) for p in rounded)))

    # ------------------------------------------------------------------ phase codes
    def encode(self, positions: ArrayLike) -> NDArray[np.float64]:
        """Phases of positions: ``(..., 2)`` world units -> ``(..., n_modules, 2)`` in [0, 1)."""
        x = _positions(positions, "positions")
        phases = np.mod(np.einsum("mij,...j->...mi", self._phase_matrices, x), 1.0)
        phases[phases >= 1.0] = 0.0
        return phases

    def decode(
        self,
        phases: ArrayLike,
        *,
        search_range: tuple[float, float, float, float] | None = None,
        resolution: float | None = None,
        refine_candidates: int = 4,
    ) -> NDArray[np.float64]:
        """Maximum-likelihood positions of phase codes ``(..., n_modules, 2)`` -> ``(..., 2)``.

        The log-likelihood of a von Mises phase model, ``sum_m,axis cos(2 pi (phi - A_m x))``,
        is maximised over candidate positions spaced ``resolution`` (default: smallest
        period / 8) in ``search_range = (x_min, x_max, y_min, y_max)`` (default the unique
        range ``[0, L)^2``); the best ``refine_candidates`` candidates are refined by
        least squares on the wrapped phase residuals and the best refined one is returned. For
        a noise-free code this is exact over the unique range. On the square lattice the two
        axes are decoded independently.
        """
        phi = np.asarray(phases, dtype=np.float64)
        if phi.shape[-2:] != (self.n_modules, 2):
            raise ValueError(
                f"phases must have shape (..., {self.n_modules}, 2), got {phi.shape}"
            )
        if not np.all(np.isfinite(phi)):
            raise ValueError("phases must be finite")
        if search_range is None:
            side = self.unique_range
            if not math.isfinite(side):
                raise ValueError(
                    "search_range is required when the periods have no exact unique range "
                    f"(periods={self._periods.tolist()}, lattice={self._lattice!r})"
                )
            search_range = (0.0, side, 0.0, side)
        x_min, x_max, y_min, y_max = (float(v) for v in search_range)
        if not (x_max > x_min and y_max > y_min):
            raise ValueError(f"search_range must be (x_min, x_max, y_min, y_max), got {search_range!r}")
        step = float(self._periods.min() / 8.0 if resolution is None else resolution)
        if not step > 0:
            raise ValueError(f"resolution must be > 0, got {resolution!r}")
        k = max(1, int(refine_candidates))
        batch_shape = phi.shape[:-2]
        flat = phi.reshape(-1, self.n_modules, 2)
        if self._lattice == "square":
            inv_periods = 1.0 / self._periods
            out = np.empty((flat.shape[0], 2))
            side = self.unique_range
            for axis, (lo, hi) in enumerate(((x_min, x_max), (y_min, y_max))):
                grid = np.arange(lo, hi, step)
                decoded = _decode_1d(flat[:, :, axis], inv_periods, grid, k)
                if math.isfinite(side) and hi - lo >= side - 1e-9:
                    # candidates near lo + L alias lo: report the representative in [lo, lo + L)
                    offset = np.mod(decoded - lo, side)
                    offset[offset >= side] = 0.0  # mod of a tiny negative number rounds to side
                    decoded = lo + offset
                out[:, axis] = decoded
        else:
            xs = np.arange(x_min, x_max, step)
            ys = np.arange(y_min, y_max, step)
            grid = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1).reshape(-1, 2)
            out = _decode_2d(flat, self._phase_matrices, grid, k)
        return out.reshape(*batch_shape, 2)

    def phase_vector(self, positions: ArrayLike) -> NDArray[np.complex128]:
        """Phases as unit complex numbers ``exp(i 2 pi A_m x)``: ``(..., 2)`` -> ``(..., n_modules, 2)``.

        On the square lattice this is ``exp(i 2 pi x_axis / period_m)`` per module and axis.
        """
        x = _positions(positions, "positions")
        return np.exp(2j * np.pi * np.einsum("mij,...j->...mi", self._phase_matrices, x))

    def rotate(self, phase_vectors: ArrayLike, displacement: ArrayLike) -> NDArray[np.complex128]:
        """Path integration as rotation: multiply by ``exp(i 2 pi A_m d)``.

        ``phase_vectors``: ``(..., n_modules, 2)`` complex; ``displacement``: ``(2,)`` or
        broadcastable to ``(..., 2)`` world units. ``rotate(phase_vector(x), d) ==
        phase_vector(x + d)``.
        """
        z = np.asarray(phase_vectors)
        if z.shape[-2:] != (self.n_modules, 2):
            raise ValueError(
                f"phase_vectors must have shape (..., {self.n_modules}, 2), got {z.shape}"
            )
        return z * self.phase_vector(displacement)

    @staticmethod
    def phases_from_vector(phase_vectors: ArrayLike) -> NDArray[np.float64]:
        """Unit complex phases -> phases in [0, 1) (same shape)."""
        phases = np.mod(np.angle(np.asarray(phase_vectors)) / (2.0 * np.pi), 1.0)
        phases[phases >= 1.0] = 0.0
        return phases

    # ------------------------------------------------------------------ cells
    def grid_modules(self, n_walkers: int = 1, cells_per_axis: int | None = None) -> GridModules:
        """A `GridModules` batch (one column per walker) with this frame's modules, no bumps."""
        return GridModules(
            n_walkers,
            self.n_modules,
            self._cells_per_axis if cells_per_axis is None else cells_per_axis,
            scales=self._periods,
            orientations=self._orientations,
            bump_sigma=self._bump_sigma,
            lattice_angle=self._lattice_angle,
            activation_threshold=self._activation_threshold,
        )

    @property
    def cells_per_code(self) -> int:
        """Grid cells of one position code: ``n_modules * cells_per_axis**2``."""
        return self._reference.cells_per_column

    def grid_code(self, positions: ArrayLike) -> list[NDArray[np.int32]]:
        """Grid-cell SDR of each position: active cells, local index ``module * C^2 + cell``.

        ``positions``: ``(n, 2)`` or ``(2,)``; returns a list of n sorted index arrays.
        """
        x = _positions(positions, "positions").reshape(-1, 2)
        return self.grid_code_of_phases(self.encode(x))

    def grid_code_of_phases(self, phases: ArrayLike) -> list[NDArray[np.int32]]:
        """Grid-cell SDRs of phase codes ``(n, n_modules, 2)`` (one bump per module each)."""
        phase_array = np.asarray(phases, dtype=np.float64)
        if phase_array.ndim != 3 or phase_array.shape[1:] != (self.n_modules, 2):
            raise ValueError(
                f"phases must have shape (n, {self.n_modules}, 2), got {phase_array.shape}"
            )
        if phase_array.shape[0] == 0:
            return []
        modules = self.grid_modules(phase_array.shape[0])
        modules.set_bumps(phase_array)
        return modules.cell_activity_per_column()

    def place_cells(
        self,
        n_cells: int,
        rng: np.random.Generator,
        *,
        bounds: tuple[float, float, float, float],
        centres: ArrayLike | None = None,
        synapses_per_module: int | None = None,
        threshold: float = 0.7,
    ) -> PlaceCells:
        """Form place cells from this frame's grid cells (one-shot, at their centres).

        Each place cell picks a centre (uniform in ``bounds = (x_min, x_max, y_min, y_max)``
        unless ``centres`` ``(n_cells, 2)`` is given) and connects to a random sample of
        ``synapses_per_module`` grid cells active there in every module (all of them when
        None). It fires where at least ``threshold`` of its synapses are active.
        """
        n_cells = int(n_cells)
        if n_cells < 1:
            raise ValueError(f"n_cells must be >= 1, got {n_cells}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
        x_min, x_max, y_min, y_max = (float(v) for v in bounds)
        if centres is None:
            centre_array = np.column_stack(
                [rng.uniform(x_min, x_max, n_cells), rng.uniform(y_min, y_max, n_cells)]
            )
        else:
            centre_array = _positions(centres, "centres")
            if centre_array.shape != (n_cells, 2):
                raise ValueError(f"centres must have shape ({n_cells}, 2), got {centre_array.shape}")
        codes = self.grid_code(centre_array)
        lengths = np.array([code.size for code in codes], dtype=np.int64)
        row = np.repeat(np.arange(n_cells, dtype=np.int64), lengths)
        col = np.concatenate(codes).astype(np.int64)
        if synapses_per_module is not None:
            per_module = int(synapses_per_module)
            if per_module < 1:
                raise ValueError(f"synapses_per_module must be >= 1, got {synapses_per_module!r}")
            # rank the active cells of each (place cell, module) group in random order
            group = row * self.n_modules + col // self._reference.cells_per_module
            order = np.lexsort((rng.random(col.size), group))
            sorted_group = group[order]
            rank = np.arange(col.size) - np.searchsorted(sorted_group, sorted_group)
            keep = order[rank < per_module]
            row, col = row[keep], col[keep]
        weights = sp.csr_matrix(
            (np.ones(row.size, dtype=np.float32), (row, col)),
            shape=(n_cells, self.cells_per_code),
        )
        return PlaceCells(weights=weights, centres=centre_array, threshold=float(threshold))


@dataclass(frozen=True)
class PlaceCells:
    """Place cells reading one grid code: binary weights ``(n_cells, cells_per_code)``.

    A place cell is active when the number of its active grid synapses reaches
    ``threshold * synapse_count``.
    """

    weights: sp.csr_matrix
    centres: NDArray[np.float64]
    threshold: float

    @property
    def n_cells(self) -> int:
        """Number of place cells."""
        return int(self.weights.shape[0])

    @property
    def synapse_counts(self) -> NDArray[np.int64]:
        """Synapses per place cell, ``(n_cells,)``."""
        return np.diff(self.weights.indptr).astype(np.int64)

    def drive(self, grid_codes: list[NDArray[np.integer]]) -> NDArray[np.float64]:
        """Active-synapse counts ``(len(grid_codes), n_cells)`` for a batch of grid SDRs."""
        n_inputs = int(self.weights.shape[1])
        lengths = np.array([code.size for code in grid_codes], dtype=np.int64)
        columns = (
            np.concatenate([np.asarray(c, dtype=np.int64) for c in grid_codes])
            if grid_codes
            else np.empty(0, dtype=np.int64)
        )
        if columns.size and (columns.min() < 0 or columns.max() >= n_inputs):
            raise ValueError(f"grid_codes must hold cell indices in [0, {n_inputs})")
        rows = np.repeat(np.arange(len(grid_codes)), lengths)
        inputs = sp.csr_matrix(
            (np.ones(columns.size, dtype=np.float32), (rows, columns)),
            shape=(len(grid_codes), n_inputs),
        )
        return np.asarray((inputs @ self.weights.T).todense(), dtype=np.float64)

    def activity(self, grid_codes: list[NDArray[np.integer]]) -> NDArray[np.bool_]:
        """Which place cells fire for each grid SDR, boolean ``(len(grid_codes), n_cells)``."""
        needed = self.threshold * self.synapse_counts
        return self.drive(grid_codes) >= needed[None, :] - 1e-9


# ---------------------------------------------------------------------- decoding kernels
def _wrapped(value: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wrap phase differences into [-0.5, 0.5)."""
    return value - np.floor(value + 0.5)


def _cos_sin(phases: NDArray[np.float64]) -> NDArray[np.float64]:
    """``[cos 2 pi phi, sin 2 pi phi]`` along the last axis, ``(n, d) -> (n, 2d)``: the von Mises score
    ``sum cos(2 pi (phi - psi))`` of all candidates is then one matrix product
    (``cos(a - b) = cos a cos b + sin a sin b``)."""
    angle = 2.0 * np.pi * phases
    return np.concatenate([np.cos(angle), np.sin(angle)], axis=-1)


def _decode_1d(
    phases: NDArray[np.float64], inv_periods: NDArray[np.float64], grid: NDArray[np.float64], k: int
) -> NDArray[np.float64]:
    """ML decode along one axis: phases ``(n, M)``, candidates ``grid`` ``(G,)`` -> ``(n,)``."""
    n, m = phases.shape
    chunk = max(1, _MAX_DECODE_ELEMENTS // max(1, grid.size * m))
    k = min(k, grid.size)
    out = np.empty(n)
    grid_phase = grid[:, None] * inv_periods[None, :]  # (G, M)
    grid_basis = _cos_sin(grid_phase.reshape(grid.size, -1))  # (G, 2M)
    weight = inv_periods**2
    for start in range(0, n, chunk):
        phi = phases[start : start + chunk]  # (c, M)
        score = _cos_sin(phi) @ grid_basis.T  # sum_m cos(2 pi (phi - grid phase)), (c, G)
        top = np.argpartition(-score, k - 1, axis=1)[:, :k] if k < grid.size else np.broadcast_to(
            np.arange(grid.size), score.shape
        )
        x = grid[top]  # (c, k)
        for _ in range(3):  # Gauss-Newton on wrapped residuals (linear model: exact in 1 step)
            residual = _wrapped(phi[:, None, :] - x[..., None] * inv_periods)  # (c, k, M)
            x = x + (residual * inv_periods).sum(-1) / weight.sum()
        final = np.cos(2.0 * np.pi * (phi[:, None, :] - x[..., None] * inv_periods)).sum(-1)
        out[start : start + chunk] = x[np.arange(x.shape[0]), final.argmax(axis=1)]
    return out


def _decode_2d(
    phases: NDArray[np.float64], matrices: NDArray[np.float64], grid: NDArray[np.float64], k: int
) -> NDArray[np.float64]:
    """ML decode in 2-D: phases ``(n, M, 2)``, candidates ``(G, 2)`` -> ``(n, 2)``."""
    n, m, _ = phases.shape
    chunk = max(1, _MAX_DECODE_ELEMENTS // max(1, grid.shape[0] * m * 2))
    k = min(k, grid.shape[0])
    grid_phase = np.einsum("mij,gj->gmi", matrices, grid)  # (G, M, 2)
    grid_basis = _cos_sin(grid_phase.reshape(grid.shape[0], -1))  # (G, 4M)
    stacked = matrices.reshape(-1, 2)  # (2M, 2): residual r = stacked @ dx
    normal = np.linalg.inv(stacked.T @ stacked)
    out = np.empty((n, 2))
    for start in range(0, n, chunk):
        phi = phases[start : start + chunk]  # (c, M, 2)
        score = _cos_sin(phi.reshape(phi.shape[0], -1)) @ grid_basis.T  # sum cos(2 pi (phi - grid)), (c, G)
        top = np.argpartition(-score, k - 1, axis=1)[:, :k] if k < grid.shape[0] else np.broadcast_to(
            np.arange(grid.shape[0]), score.shape
        )
        x = grid[top]  # (c, k, 2)
        for _ in range(3):
            predicted = np.einsum("mij,ckj->ckmi", matrices, x)
            residual = _wrapped(phi[:, None] - predicted).reshape(*x.shape[:2], -1)  # (c, k, 2M)
            x = x + np.einsum("ij,jr,ckr->cki", normal, stacked.T, residual)
        predicted = np.einsum("mij,ckj->ckmi", matrices, x)
        final = np.cos(2.0 * np.pi * (phi[:, None] - predicted)).sum((-1, -2))
        out[start : start + chunk] = x[np.arange(x.shape[0]), final.argmax(axis=1)]
    return out


def _positions(value: ArrayLike, name: str) -> NDArray[np.float64]:
    x = np.asarray(value, dtype=np.float64)
    if x.shape[-1:] != (2,):
        raise ValueError(f"{name} must have a last axis of length 2, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x
