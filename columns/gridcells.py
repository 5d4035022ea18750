"""Grid-cell modules, batched over columns: path integration, bump activity, anchoring hooks.

A *grid-cell module* is a sheet of ``cells_per_axis x cells_per_axis`` cells that tiles a
rhombic phase torus (basis vectors at ``lattice_angle`` = 60 degrees, the grid-cell lattice;
90 degrees gives a square torus). A position in the world maps to a phase in ``[0, 1)^2``
through the module's scale (world units per period) and orientation (radians). Activity is
one or several Gaussian *bumps*; a module holding several bumps represents a union of
location hypotheses (Lewis, Purdy, Ahmad & Hawkins 2019, "Locations in the Neocortex").

`GridModules` holds ``n_columns x n_modules`` modules in one set of arrays. The bumps of all
modules are one flat, ragged (CSR-like) store: ``bump_phases`` (n_bumps, 2) sorted by their
global module id ``column * n_modules + module``, with ``bump_offsets`` giving each module's
slice. Every operation is vectorised over all bumps of all modules of all columns.

Cell index space (shared with the rest of `columns`): cell ``c`` of module ``m`` of column ``k``
is ``k * cells_per_column + m * cells_per_module + c`` with ``cells_per_module =
cells_per_axis**2``, ``cells_per_column = n_modules * cells_per_module`` and the cell ``c =
i * cells_per_axis + j`` sitting at phase ``((i + 0.5) / cells_per_axis, (j + 0.5) /
cells_per_axis)``.

Activity rule (2019 model, written from its equations)::

    excitation(cell) = 1 - prod_bumps (1 - exp(-d^2 / (2 sigma^2)))

with ``d`` the shortest distance on the torus between bump and cell centre, measured in the
lattice metric (phase difference mapped through the basis of unit vectors at
``lattice_angle``, so one period = distance 1). A cell is active when its excitation reaches
``activation_threshold``; see `default_activation_threshold` for its derivation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GridModules",
    "default_orientations",
    "random_orientations",
    "default_bump_sigma",
    "cell_patch_diameter",
    "default_activation_threshold",
    "torus_distance",
]

#: Bump sigma (in periods) the 2019 model uses for 6 cells per axis (a rat's bump estimate).
BUMP_SIGMA_AT_6_CELLS = 0.18172

# Largest (bumps x cells) block evaluated at once by `excitation` (bounds temporary memory).
_MAX_BLOCK_ELEMENTS = 1 << 15


def default_orientations(n_modules: int) -> NDArray[np.float64]:
    """Module orientations spread over the 60-degree symmetry of the lattice, in radians.

    Module ``i`` gets ``(i + 0.5) * 60 / n_modules`` degrees (the 2019 default), returned as
    radians, shape ``(n_modules,)``.
    """
    n_modules = _positive_int(n_modules, "n_modules")
    return np.radians((np.arange(n_modules) + 0.5) * 60.0 / n_modules)


def random_orientations(
    rng: np.random.Generator, n_modules: int, n_columns: int | None = None
) -> NDArray[np.float64]:
    """Orientations drawn uniformly in ``[0, 60)`` degrees, in radians.

    Shape ``(n_modules,)`` (shared by all columns) or ``(n_columns, n_modules)`` when
    ``n_columns`` is given (drawn per column).
    """
    n_modules = _positive_int(n_modules, "n_modules")
    shape: tuple[int, ...] = (n_modules,)
    if n_columns is not None:
        shape = (_positive_int(n_columns, "n_columns"), n_modules)
    return rng.uniform(0.0, math.pi / 3.0, size=shape)


def default_bump_sigma(cells_per_axis: int) -> float:
    """The 2019 bump width in periods: ``0.18172 * 6 / cells_per_axis``."""
    return BUMP_SIGMA_AT_6_CELLS * 6.0 / _positive_int(cells_per_axis, "cells_per_axis")


def cell_patch_diameter(cells_per_axis: int, lattice_angle: float = 60.0) -> float:
    """Diameter (in periods) of the disc around a cell centre that covers the cell's patch.

    The cell centres form a lattice of spacing ``s = 1 / cells_per_axis`` with basis angle
    ``lattice_angle`` (degrees). Every phase lies within the circumradius of a Delaunay
    triangle, ``R = s / (2 cos(angle / 2))``, of some cell centre, so the disc of diameter
    ``2 R`` covers the patch a cell stands for: ``(2 / sqrt 3) / cells_per_axis`` on the
    hexagonal (60 degree) lattice, ``sqrt 2 / cells_per_axis`` on the square one.
    """
    n = _positive_int(cells_per_axis, "cells_per_axis")
    angle = _lattice_angle(lattice_angle)
    return 1.0 / (n * math.cos(math.radians(angle) / 2.0))


def default_activation_threshold(
    bump_sigma: float, cells_per_axis: int, lattice_angle: float = 60.0
) -> float:
    """Excitation a cell must reach to be active: ``gauss(sigma, cell_patch_diameter)``.

    Derivation (2019 model). A cell that fires from sensory input says "the phase is within my
    patch", a disc of diameter ``D = cell_patch_diameter`` (``(2/sqrt 3)/cells_per_axis`` on
    the 60-degree lattice). The bump placed at that cell's centre may be off the learned phase
    by up to ``D``, so the learned cell must stay active while the bump is up to ``D`` away:
    a cell's firing field has diameter ``2 D``, i.e. radius ``D`` -- "half a firing-field
    width" -- and the threshold is the Gaussian at that radius,
    ``exp(-D^2 / (2 sigma^2))``. (The patch *radius* ``D / 2`` would leave a bump only
    one or two active cells and lose it after sub-cell drift.) With 10 cells per axis and the
    default sigma this is about 0.571: a bump at a cell centre activates that cell and its six
    neighbours.
    """
    sigma = _positive_float(bump_sigma, "bump_sigma")
    radius = cell_patch_diameter(cells_per_axis, lattice_angle)
    return float(np.exp(-(radius**2) / (2.0 * sigma**2)))


def torus_distance(
    phase_difference: ArrayLike, lattice_angle: float = 60.0
) -> NDArray[np.float64]:
    """Shortest distance on the rhombic unit torus for phase differences ``(..., 2)``.

    The difference is taken modulo 1 and mapped through the lattice basis (unit vectors at
    ``lattice_angle`` degrees); for angles in [60, 90] the nearest lattice point of a point in
    the unit rhombus is one of its four corners, so four candidates suffice. Distance is in
    periods (one rhombus edge = 1). Returns shape ``(...)``.
    """
    delta = np.mod(np.asarray(phase_difference, dtype=np.float64), 1.0)
    if delta.shape[-1:] != (2,):
        raise ValueError(
            f"phase_difference must have a last axis of length 2, got shape {delta.shape}"
        )
    cos_angle = math.cos(math.radians(_lattice_angle(lattice_angle)))
    return np.sqrt(_min_corner_sq_norm(delta[..., 0], delta[..., 1], cos_angle))


class GridModules:
    """A batch of ``n_columns x n_modules`` grid-cell modules with ragged bump sets.

    Parameters
    ----------
    n_columns, n_modules:
        Batch shape. Modules are addressed by ``(column, module)`` or by the global module id
        ``column * n_modules + module``.
    cells_per_axis:
        Cells per torus axis; each module has ``cells_per_axis**2`` cells (shared by all).
    scales:
        World distance units per period: scalar, ``(n_modules,)`` shared across columns, or
        ``(n_columns, n_modules)`` drawn per column. 2019 default 40.
    orientations:
        Radians, same shapes as ``scales``; default `default_orientations`.
    bump_sigma:
        Bump width in periods (default `default_bump_sigma`, the 2019 value).
    lattice_angle:
        Angle between the two torus basis vectors in degrees, 60 (grid cells, default) to 90
        (square torus, per-axis codes).
    activation_threshold:
        Excitation at which a cell is active, in (0, 1]; default
        `default_activation_threshold`.

    Examples
    --------
    >>> modules = GridModules(n_columns=2, n_modules=3, cells_per_axis=10)
    >>> modules.activate_random_location(np.random.default_rng(0))
    >>> modules.path_integrate([5.0, -2.0])
    >>> active = modules.cell_activity()      # flat (column, module, cell) indices
    """

    def __init__(
        self,
        n_columns: int,
        n_modules: int,
        cells_per_axis: int = 10,
        *,
        scales: ArrayLike = 40.0,
        orientations: ArrayLike | None = None,
        bump_sigma: float | None = None,
        lattice_angle: float = 60.0,
        activation_threshold: float | None = None,
    ) -> None:
        self._n_columns = _positive_int(n_columns, "n_columns")
        self._n_modules = _positive_int(n_modules, "n_modules")
        self._cells_per_axis = _positive_int(cells_per_axis, "cells_per_axis")
        self._lattice_angle = _lattice_angle(lattice_angle)
        self._scales = self._per_module(scales, "scales")
        if not np.all(np.isfinite(self._scales)) or np.any(self._scales <= 0):
            raise ValueError(f"scales must be finite and > 0, got {scales!r}")
        if orientations is None:
            orientations = default_orientations(self._n_modules)
        self._orientations = self._per_module(orientations, "orientations")
        if not np.all(np.isfinite(self._orientations)):
            raise ValueError(f"orientations must be finite, got {orientations!r}")
        self._bump_sigma = (
            default_bump_sigma(self._cells_per_axis)
            if bump_sigma is None
            else _positive_float(bump_sigma, "bump_sigma")
        )
        if activation_threshold is None:
            activation_threshold = default_activation_threshold(
                self._bump_sigma, self._cells_per_axis, self._lattice_angle
            )
        threshold = float(activation_threshold)
        if not 0.0 < threshold <= 1.0:
            raise ValueError(
                f"activation_threshold must be in (0, 1], got {activation_threshold!r}"
            )
        self._activation_threshold = threshold

        # basis[k, m] maps a phase difference to a world displacement / scale (unit rhombus);
        # phase_matrices[k, m] = inverse(scale * basis) maps world displacement -> phase.
        theta = self._orientations
        alpha = math.radians(self._lattice_angle)
        basis = np.empty((self._n_columns, self._n_modules, 2, 2))
        basis[..., 0, 0] = np.cos(theta)
        basis[..., 1, 0] = np.sin(theta)
        basis[..., 0, 1] = np.cos(theta + alpha)
        basis[..., 1, 1] = np.sin(theta + alpha)
        self._basis = basis
        self._phase_matrices = np.linalg.inv(self._scales[..., None, None] * basis)
        self._cos_angle = math.cos(alpha)

        axis = (np.arange(self._cells_per_axis) + 0.5) / self._cells_per_axis
        self._axis_centres = axis
        self._cell_centres = np.stack(
            [np.repeat(axis, self._cells_per_axis), np.tile(axis, self._cells_per_axis)],
            axis=1,
        )  # (cells_per_module, 2), cell c = i * n + j
        self._index_dtype = np.int32 if self.n_cells < 2**31 else np.int64
        self._bump_phases = np.empty((0, 2), dtype=np.float64)
        self._bump_modules = np.empty(0, dtype=np.int64)

    # ------------------------------------------------------------------ shape & parameters
    @property
    def n_columns(self) -> int:
        """Number of columns in the batch."""
        return self._n_columns

    @property
    def n_modules(self) -> int:
        """Modules per column."""
        return self._n_modules

    @property
    def n_module_instances(self) -> int:
        """``n_columns * n_modules``: the number of global module ids."""
        return self._n_columns * self._n_modules

    @property
    def cells_per_axis(self) -> int:
        """Cells along each torus axis."""
        return self._cells_per_axis

    @property
    def cells_per_module(self) -> int:
        """``cells_per_axis ** 2``."""
        return self._cells_per_axis**2

    @property
    def cells_per_column(self) -> int:
        """``n_modules * cells_per_module``: size of one column's grid-cell index space."""
        return self._n_modules * self.cells_per_module

    @property
    def n_cells(self) -> int:
        """Size of the flat cell index space, ``n_columns * cells_per_column``."""
        return self._n_columns * self.cells_per_column

    @property
    def scales(self) -> NDArray[np.float64]:
        """World units per period, shape ``(n_columns, n_modules)`` (read-only view)."""
        return _readonly(self._scales)

    @property
    def orientations(self) -> NDArray[np.float64]:
        """Module orientations in radians, shape ``(n_columns, n_modules)`` (read-only)."""
        return _readonly(self._orientations)

    @property
    def lattice_angle(self) -> float:
        """Angle between the torus basis vectors, degrees."""
        return self._lattice_angle

    @property
    def bump_sigma(self) -> float:
        """Bump width in periods."""
        return self._bump_sigma

    @property
    def activation_threshold(self) -> float:
        """Excitation at which a cell is active."""
        return self._activation_threshold

    @property
    def phase_matrices(self) -> NDArray[np.float64]:
        """``A = inverse(scale * basis)``: world displacement -> phase, ``(n_columns, n_modules, 2, 2)``."""
        return _readonly(self._phase_matrices)

    @property
    def cell_centres(self) -> NDArray[np.float64]:
        """Phase of every cell centre of one module, ``(cells_per_module, 2)``."""
        return _readonly(self._cell_centres)

    # ------------------------------------------------------------------ bump state
    @property
    def n_bumps(self) -> int:
        """Total number of bumps over all modules."""
        return int(self._bump_modules.size)

    @property
    def bump_phases(self) -> NDArray[np.float64]:
        """Phases of all bumps, ``(n_bumps, 2)`` in ``[0, 1)``, sorted by module id (read-only)."""
        return _readonly(self._bump_phases)

    @property
    def bump_modules(self) -> NDArray[np.int64]:
        """Global module id of every bump, ``(n_bumps,)``, non-decreasing (read-only)."""
        return _readonly(self._bump_modules)

    @property
    def bump_offsets(self) -> NDArray[np.int64]:
        """CSR offsets: module ``g``'s bumps are ``bump_phases[offsets[g]:offsets[g+1]]``."""
        counts = np.bincount(self._bump_modules, minlength=self.n_module_instances)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def bump_counts(self) -> NDArray[np.int64]:
        """Number of bumps per module, shape ``(n_columns, n_modules)``."""
        counts = np.bincount(self._bump_modules, minlength=self.n_module_instances)
        return counts.reshape(self._n_columns, self._n_modules).astype(np.int64)

    def bumps_of(self, column: int, module: int) -> NDArray[np.float64]:
        """Copy of the bump phases of one module, shape ``(k, 2)``."""
        column = _index(column, self._n_columns, "column")
        module = _index(module, self._n_modules, "module")
        gid = column * self._n_modules + module
        lo, hi = np.searchsorted(self._bump_modules, [gid, gid + 1])
        return self._bump_phases[lo:hi].copy()

    def current_phases(self) -> NDArray[np.float64]:
        """Phases as ``(n_columns, n_modules, 2)`` when every module holds exactly one bump.

        Raises ``ValueError`` otherwise (use `bump_phases` / `bumps_of` for unions).
        """
        counts = self.bump_counts()
        if not np.all(counts == 1):
            bad = np.argwhere(counts != 1)[0]
            raise ValueError(
                "current_phases needs exactly one bump per module; module "
                f"(column={bad[0]}, module={bad[1]}) holds {counts[bad[0], bad[1]]}"
            )
        return self._bump_phases.reshape(self._n_columns, self._n_modules, 2).copy()

    def clear(self, columns: ArrayLike | None = None) -> None:
        """Remove all bumps (of the given columns only, when ``columns`` is given)."""
        if columns is None:
            self._bump_phases = np.empty((0, 2), dtype=np.float64)
            self._bump_modules = np.empty(0, dtype=np.int64)
            return
        keep = ~np.isin(self._bump_modules // self._n_modules, self._columns(columns))
        self._bump_phases = self._bump_phases[keep]
        self._bump_modules = self._bump_modules[keep]

    def set_bumps(self, phases: ArrayLike, module_ids: ArrayLike | None = None) -> None:
        """Replace every bump.

        ``phases`` is ``(n_columns, n_modules, 2)`` (one bump per module) when ``module_ids``
        is None, otherwise ``(k, 2)`` with ``module_ids`` ``(k,)`` global module ids (any order;
        several bumps per module allowed). Phases are wrapped into ``[0, 1)``.
        """
        phase_array = np.asarray(phases, dtype=np.float64)
        if module_ids is None:
            expected = (self._n_columns, self._n_modules, 2)
            if phase_array.shape != expected:
                raise ValueError(
                    f"phases must have shape {expected} when module_ids is None, "
                    f"got {phase_array.shape}"
                )
            phase_array = phase_array.reshape(-1, 2)
            ids = np.arange(self.n_module_instances, dtype=np.int64)
        else:
            ids = np.asarray(module_ids)
            if phase_array.ndim != 2 or phase_array.shape[1] != 2:
                raise ValueError(f"phases must have shape (k, 2), got {phase_array.shape}")
            if ids.shape != (phase_array.shape[0],) or not np.issubdtype(ids.dtype, np.integer):
                raise ValueError(
                    f"module_ids must be {phase_array.shape[0]} integers, got {ids!r}"
                )
            if ids.size and (ids.min() < 0 or ids.max() >= self.n_module_instances):
                raise ValueError(
                    f"module_ids must lie in [0, {self.n_module_instances}), got "
                    f"range [{ids.min()}, {ids.max()}]"
                )
        if not np.all(np.isfinite(phase_array)):
            raise ValueError("phases must be finite")
        order = np.argsort(ids, kind="stable")
        self._bump_modules = ids[order].astype(np.int64)
        self._bump_phases = _wrap(phase_array[order])

    def activate_random_location(
        self, rng: np.random.Generator, *, columns: ArrayLike | None = None
    ) -> None:
        """One bump per module at a uniformly random phase (of the given columns only).

        Other columns keep their bumps; the selected columns' previous bumps are replaced.
        """
        cols = np.arange(self._n_columns) if columns is None else self._columns(columns)
        ids = (cols[:, None] * self._n_modules + np.arange(self._n_modules)).ravel()
        self._replace_modules_of_columns(cols, rng.random((ids.size, 2)), ids)

    def reset_to_cells(
        self, cell_indices: ArrayLike, *, columns: ArrayLike | None = None
    ) -> None:
        """Anchoring: set the bumps to the centre phases of the given cells.

        One bump per distinct given cell, in that cell's module; a module for which no cell is
        given is left empty. With ``columns`` given, only those columns are reset (cells in
        other columns are an error) and the other columns keep their bumps.
        """
        cells = self._cells(cell_indices, "cell_indices")
        cells = np.unique(cells)
        ids = cells // self.cells_per_module
        if columns is None:
            self._bump_modules = ids.astype(np.int64)
            self._bump_phases = self._cell_centres[cells % self.cells_per_module].copy()
            return
        cols = self._columns(columns)
        outside = ~np.isin(ids // self._n_modules, cols)
        if np.any(outside):
            raise ValueError(
                f"cell_indices contain cells of columns not listed in columns: "
                f"{np.unique(ids[outside] // self._n_modules)[:10]}"
            )
        self._replace_modules_of_columns(
            cols, self._cell_centres[cells % self.cells_per_module], ids
        )

    # ------------------------------------------------------------------ dynamics
    def phase_displacement(self, displacement: ArrayLike) -> NDArray[np.float64]:
        """Phase shift ``A d`` of every module for a world displacement.

        ``displacement`` is ``(2,)`` (all columns) or ``(n_columns, 2)`` in world units.
        Returns ``(n_columns, n_modules, 2)`` (not wrapped).
        """
        d = self._displacement(displacement)
        return np.einsum("kmij,kj->kmi", self._phase_matrices, d)

    def path_integrate(
        self,
        displacement: ArrayLike,
        *,
        phase_noise: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        """Move every bump by ``A d`` (mod 1), ``A = inverse(scale * basis(orientation))``.

        ``displacement``: ``(2,)`` broadcast to all columns, or ``(n_columns, 2)``, world
        units. ``phase_noise``: standard deviation (in periods, per phase axis) of Gaussian
        noise added to each module's shift this step; all bumps of a module move together
        (the noise is in the module's velocity input), so a union of hypotheses keeps its
        shape. Needs ``rng`` when ``phase_noise > 0``.
        """
        shift = self.phase_displacement(displacement).reshape(-1, 2)
        noise = float(phase_noise)
        if not math.isfinite(noise) or noise < 0:
            raise ValueError(f"phase_noise must be finite and >= 0, got {phase_noise!r}")
        if noise > 0:
            if rng is None:
                raise ValueError("rng is required when phase_noise > 0")
            shift = shift + rng.normal(0.0, noise, size=shift.shape)
        if self.n_bumps:
            self._bump_phases = _wrap(self._bump_phases + shift[self._bump_modules])

    def phases_at(self, positions: ArrayLike) -> NDArray[np.float64]:
        """Phases of world positions relative to the origin (phase 0 at position 0).

        ``positions``: ``(2,)`` or ``(n_columns, 2)``. Returns ``(n_columns, n_modules, 2)``
        in ``[0, 1)``.
        """
        return _wrap(self.phase_displacement(positions))

    # ------------------------------------------------------------------ activity
    def excitation(self) -> NDArray[np.float64]:
        """Excitation of every cell, ``(n_columns, n_modules, cells_per_module)`` in [0, 1].

        ``1 - prod_bumps (1 - exp(-d^2 / (2 sigma^2)))`` per module; zero where a module has
        no bump. Vectorised over all bumps, in module-aligned blocks of bounded memory.
        """
        n_cells = self.cells_per_module
        out = np.zeros((self.n_module_instances, n_cells))
        if self.n_bumps == 0:
            return out.reshape(self._n_columns, self._n_modules, n_cells)
        # first bump of each non-empty module, and the module ids in bump order
        starts = np.flatnonzero(np.r_[True, self._bump_modules[1:] != self._bump_modules[:-1]])
        modules = self._bump_modules[starts]
        block_rows = max(1, _MAX_BLOCK_ELEMENTS // n_cells)
        inv_two_sigma_sq = 1.0 / (2.0 * self._bump_sigma**2)
        first = 0
        while first < starts.size:
            # take whole modules until the block holds about block_rows bumps
            limit = starts[first] + block_rows
            last = max(first + 1, int(np.searchsorted(starts, limit, side="right")))
            lo = starts[first]
            hi = starts[last] if last < starts.size else self.n_bumps
            # cell (i, j) sits at ((i + .5)/n, (j + .5)/n): the phase difference separates into
            # an i-part and a j-part, so build it on (bumps, n) and broadcast to (bumps, n, n)
            u = np.mod(self._axis_centres[None, :] - self._bump_phases[lo:hi, 0, None], 1.0)
            v = np.mod(self._axis_centres[None, :] - self._bump_phases[lo:hi, 1, None], 1.0)
            dist_sq = _min_corner_sq_norm(u[:, :, None], v[:, None, :], self._cos_angle)
            miss = 1.0 - np.exp(-dist_sq.reshape(hi - lo, n_cells) * inv_two_sigma_sq)
            product = np.multiply.reduceat(miss, starts[first:last] - lo, axis=0)
            out[modules[first:last]] = 1.0 - product
            first = last
        return out.reshape(self._n_columns, self._n_modules, n_cells)

    def cell_activity(self) -> NDArray[np.integer]:
        """Active cells (excitation >= threshold) as sorted flat indices.

        Index = ``column * cells_per_column + module * cells_per_module + cell``; dtype int32
        (int64 if the space exceeds 2**31 cells).
        """
        excitation = self.excitation().reshape(-1)
        return np.flatnonzero(excitation >= self._activation_threshold).astype(self._index_dtype)

    def cell_activity_per_column(self) -> list[NDArray[np.integer]]:
        """Active cells split by column, each as local indices ``module * cells_per_module + cell``."""
        active = self.cell_activity()
        bounds = np.searchsorted(
            active, np.arange(1, self._n_columns) * self.cells_per_column
        )
        return [
            (part - k * self.cells_per_column).astype(self._index_dtype)
            for k, part in enumerate(np.split(active, bounds))
        ]

    def most_excited_cells(self, k_per_module: int = 1) -> NDArray[np.integer]:
        """The ``k_per_module`` most excited cells of every module that holds a bump.

        These are the cells that learn anchor segments (2019: the cells nearest each bump).
        Returns sorted flat indices; modules without bumps contribute none.
        """
        k = _positive_int(k_per_module, "k_per_module")
        if k > self.cells_per_module:
            raise ValueError(
                f"k_per_module must be <= cells_per_module={self.cells_per_module}, got {k}"
            )
        excitation = self.excitation().reshape(self.n_module_instances, -1)
        modules = np.unique(self._bump_modules)
        if modules.size == 0:
            return np.empty(0, dtype=self._index_dtype)
        rows = excitation[modules]
        if k < self.cells_per_module:
            top = np.argpartition(-rows, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(k), rows.shape)
        flat = modules[:, None] * self.cells_per_module + top
        return np.sort(flat.ravel()).astype(self._index_dtype)

    # ------------------------------------------------------------------ index helpers
    def cell_phases(self, cell_indices: ArrayLike) -> NDArray[np.float64]:
        """Centre phases of flat cell indices, shape ``(n, 2)`` (the anchoring targets)."""
        cells = self._cells(cell_indices, "cell_indices")
        return self._cell_centres[cells % self.cells_per_module].copy()

    def unravel_cells(
        self, cell_indices: ArrayLike
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Flat cell indices -> ``(column, module, cell)`` arrays."""
        cells = self._cells(cell_indices, "cell_indices")
        column, rest = np.divmod(cells, self.cells_per_column)
        module, cell = np.divmod(rest, self.cells_per_module)
        return column, module, cell

    def ravel_cells(
        self, columns: ArrayLike, modules: ArrayLike, cells: ArrayLike
    ) -> NDArray[np.int64]:
        """``(column, module, cell)`` -> flat cell indices (validated, broadcast)."""
        col, mod, cell = np.broadcast_arrays(
            np.asarray(columns), np.asarray(modules), np.asarray(cells)
        )
        for name, value, size in (
            ("columns", col, self._n_columns),
            ("modules", mod, self._n_modules),
            ("cells", cell, self.cells_per_module),
        ):
            if value.size and (
                not np.issubdtype(value.dtype, np.integer) or value.min() < 0 or value.max() >= size
            ):
                raise ValueError(f"{name} must be integers in [0, {size}), got {value!r}")
        return (
            col.astype(np.int64) * self.cells_per_column
            + mod.astype(np.int64) * self.cells_per_module
            + cell.astype(np.int64)
        )

    # ------------------------------------------------------------------ internals
    def _per_module(self, value: ArrayLike, name: str) -> NDArray[np.float64]:
        array = np.asarray(value, dtype=np.float64)
        shape = (self._n_columns, self._n_modules)
        if array.ndim == 0 or array.shape == (self._n_modules,) or array.shape == shape:
            return np.broadcast_to(array, shape).copy()
        raise ValueError(
            f"{name} must be a scalar, ({self._n_modules},) or {shape}, got shape {array.shape}"
        )

    def _displacement(self, displacement: ArrayLike) -> NDArray[np.float64]:
        d = np.asarray(displacement, dtype=np.float64)
        if d.shape == (2,):
            d = np.broadcast_to(d, (self._n_columns, 2))
        elif d.shape != (self._n_columns, 2):
            raise ValueError(
                f"displacement must have shape (2,) or ({self._n_columns}, 2), got {d.shape}"
            )
        if not np.all(np.isfinite(d)):
            raise ValueError("displacement must be finite")
        return d

    def _columns(self, columns: ArrayLike) -> NDArray[np.int64]:
        cols = np.atleast_1d(np.asarray(columns))
        if cols.ndim != 1 or (cols.size and not np.issubdtype(cols.dtype, np.integer)):
            raise ValueError(f"columns must be a 1-D array of integers, got {columns!r}")
        if cols.size and (cols.min() < 0 or cols.max() >= self._n_columns):
            raise ValueError(f"columns must lie in [0, {self._n_columns}), got {columns!r}")
        return np.unique(cols).astype(np.int64)

    def _cells(self, cell_indices: ArrayLike, name: str) -> NDArray[np.int64]:
        cells = np.atleast_1d(np.asarray(cell_indices))
        if cells.ndim != 1 or (cells.size and not np.issubdtype(cells.dtype, np.integer)):
            raise ValueError(f"{name} must be a 1-D array of integer cell indices")
        if cells.size and (cells.min() < 0 or cells.max() >= self.n_cells):
            raise ValueError(
                f"{name} must lie in [0, {self.n_cells}), got range "
                f"[{cells.min()}, {cells.max()}]"
            )
        return cells.astype(np.int64)

    def _replace_modules_of_columns(
        self, cols: NDArray[np.int64], phases: NDArray[np.float64], ids: NDArray[np.int64]
    ) -> None:
        keep = ~np.isin(self._bump_modules // self._n_modules, cols)
        all_ids = np.concatenate([self._bump_modules[keep], ids.astype(np.int64)])
        all_phases = np.concatenate([self._bump_phases[keep], _wrap(phases)])
        order = np.argsort(all_ids, kind="stable")
        self._bump_modules = all_ids[order]
        self._bump_phases = all_phases[order]


# ---------------------------------------------------------------------- helpers
def _min_corner_sq_norm(
    u: NDArray[np.float64], v: NDArray[np.float64], cos_angle: float
) -> NDArray[np.float64]:
    """Squared lattice norm of ``(u, v) - corner`` minimised over the unit rhombus corners."""
    # |(a, b)|^2 = a^2 + b^2 + 2 cos(angle) a b for the four corner shifts of (u, v)
    um, vm = u - 1.0, v - 1.0
    uu, vv, umum, vmvm = u * u, v * v, um * um, vm * vm
    c2 = 2.0 * cos_angle
    best = uu + vv + c2 * (u * v)
    best = np.minimum(best, umum + vv + c2 * (um * v))
    best = np.minimum(best, uu + vmvm + c2 * (u * vm))
    return np.minimum(best, umum + vmvm + c2 * (um * vm))


def _wrap(phases: NDArray[np.float64]) -> NDArray[np.float64]:
    wrapped = np.mod(phases, 1.0)
    wrapped[wrapped >= 1.0] = 0.0  # mod of a tiny negative number can round to 1.0
    return wrapped


def _readonly(array: NDArray) -> NDArray:
    view = array.view()
    view.flags.writeable = False
    return view


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _positive_float(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def _lattice_angle(value: float) -> float:
    angle = float(value)
    if not 60.0 <= angle <= 90.0:
        raise ValueError(f"lattice_angle must be in [60, 90] degrees, got {value!r}")
    return angle


def _index(value: int, size: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
        raise ValueError(f"{name} must be an integer in [0, {size}), got {value!r}")
    return int(value)
