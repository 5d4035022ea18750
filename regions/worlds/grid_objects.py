"""Objects as features placed on a grid: the generator of the 2019 locations paper.

Each object puts ``features_per_object`` features, drawn with replacement from a pool of
``n_features``, on distinct cells of a ``grid_width x grid_width`` grid whose cells are
``spacing`` world units apart (2019: 10 features on a 4 x 4 grid, spacing 20, pool 100).  A
sensor always touches a feature at its cell centre, so moving from feature ``i`` to feature
``j`` is the displacement ``position[j] - position[i]``.  A feature is an SDR of
``feature_active`` of ``feature_size`` bits (the L4 minicolumns).  One seed reproduces it all.

The world knows nothing of columns: it hands out features and displacements.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GridObjectWorld"]


class GridObjectWorld:
    """A seeded set of grid objects.

    Parameters
    ----------
    n_objects, n_features, features_per_object : the object generator.
    grid_width : cells per side of the object grid (``features_per_object <= grid_width**2``).
    spacing : world units between neighbouring grid cells.
    feature_size, feature_active : feature SDR size (L4 minicolumns) and active bits.
    seed : generator seed.

    Attributes
    ----------
    features : int ``(n_objects, features_per_object)``: feature id of each of an object's features.
    positions : float ``(n_objects, features_per_object, 2)``: centre of each feature, world units.
    feature_sdrs : int ``(n_features, feature_active)``: sorted active bits of every feature.
    """

    def __init__(
        self,
        n_objects: int,
        n_features: int,
        features_per_object: int = 10,
        *,
        grid_width: int = 4,
        spacing: float = 20.0,
        feature_size: int = 150,
        feature_active: int = 10,
        seed: int | np.random.Generator = 0,
    ) -> None:
        for name, value in (("n_objects", n_objects), ("n_features", n_features),
                            ("features_per_object", features_per_object), ("grid_width", grid_width),
                            ("feature_size", feature_size), ("feature_active", feature_active)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if features_per_object > grid_width**2:
            raise ValueError(
                f"features_per_object ({features_per_object}) exceeds the {grid_width}x{grid_width} grid: "
                "every feature needs its own grid cell"
            )
        if feature_active > feature_size:
            raise ValueError(f"feature_active ({feature_active}) exceeds feature_size ({feature_size})")
        if not np.isfinite(spacing) or spacing <= 0:
            raise ValueError(f"spacing must be a positive number, got {spacing!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.n_objects = int(n_objects)
        self.n_features = int(n_features)
        self.features_per_object = int(features_per_object)
        self.grid_width = int(grid_width)
        self.spacing = float(spacing)
        self.feature_size = int(feature_size)
        self.feature_active = int(feature_active)
        self.feature_sdrs = np.sort(
            np.argsort(rng.random((self.n_features, self.feature_size)), axis=1)[:, : self.feature_active], axis=1
        ).astype(np.int64)
        cells = np.argsort(rng.random((self.n_objects, self.grid_width**2)), axis=1)[:, : self.features_per_object]
        self.grid_cells = cells.astype(np.int64)
        self.positions = np.stack(
            [(cells % self.grid_width + 0.5) * self.spacing, (cells // self.grid_width + 0.5) * self.spacing], axis=-1
        ).astype(np.float64)
        self.features = rng.integers(0, self.n_features, size=(self.n_objects, self.features_per_object))

    def sense(self, obj: int, feature_index: int) -> np.ndarray:
        """Active bits (sorted L4 minicolumns) of feature ``feature_index`` of object ``obj``."""
        obj, i = self._check(obj, feature_index)
        return self.feature_sdrs[self.features[obj, i]].copy()

    def position(self, obj: int, feature_index: int) -> np.ndarray:
        """Centre of a feature of an object, world units ``(2,)``."""
        obj, i = self._check(obj, feature_index)
        return self.positions[obj, i].copy()

    def displacement(self, obj: int, from_index: int, to_index: int) -> np.ndarray:
        """Movement from one feature of an object to another, world units ``(2,)``."""
        return self.position(obj, to_index) - self.position(obj, from_index)

    def _check(self, obj: int, feature_index: int) -> tuple[int, int]:
        if not 0 <= int(obj) < self.n_objects:
            raise ValueError(f"obj must lie in [0, {self.n_objects}), got {obj!r}")
        if not 0 <= int(feature_index) < self.features_per_object:
            raise ValueError(f"feature_index must lie in [0, {self.features_per_object}), got {feature_index!r}")
        return int(obj), int(feature_index)

    def __repr__(self) -> str:
        return (
            f"GridObjectWorld(objects={self.n_objects}, features={self.n_features}, "
            f"per_object={self.features_per_object}, grid={self.grid_width}x{self.grid_width}, spacing={self.spacing})"
        )


def _register_runner() -> None:
    """Make the ``grid_objects`` world builder and experiment known to the builder registry.

    ``regions.builder.PLUGIN_MODULES`` lists this module (for worlds) but not
    ``regions.locations``, where both builders live; loading the config validates the world
    first, which imports this module and, through this hook, registers them.
    """
    import importlib

    try:
        importlib.import_module("regions.locations")
    except ImportError:  # pragma: no cover - columns not importable
        pass


_register_runner()
