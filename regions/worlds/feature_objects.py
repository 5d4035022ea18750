"""Objects as sets of (location, feature) pairs: the generator of the 2017 columns paper.

Each object places ``features_per_object`` features, drawn with replacement from a pool
of ``n_features``, at distinct locations drawn from a pool of ``n_locations`` (with
``features_per_object == n_locations`` the locations are a permutation of the pool).
Features and locations are random SDRs: a feature activates ``feature_active`` of
``feature_size`` bits (L4 minicolumns), a location ``location_active`` of
``location_size`` bits (the L4 basal input).  One generator seed reproduces the world.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from columns.sdr import add_noise_batch, random_batch

__all__ = ["FeatureObjectWorld"]


class FeatureObjectWorld:
    """A seeded set of feature objects, sensed by any number of sensors.

    Parameters
    ----------
    n_objects, n_features, n_locations, features_per_object : the object generator.
    feature_size, feature_active : feature SDR size and active bits.
    location_size, location_active : location SDR size and active bits.
    seed : generator seed.

    Attributes
    ----------
    objects : int ``(n_objects, features_per_object, 2)``: (location id, feature id) pairs.
    feature_sdrs, location_sdrs : CSR batches, one row per feature / location.
    """

    def __init__(
        self,
        n_objects: int,
        n_features: int,
        n_locations: int = 10,
        features_per_object: int = 10,
        *,
        feature_size: int = 150,
        feature_active: int = 20,
        location_size: int = 2400,
        location_active: int = 20,
        seed: int = 0,
    ) -> None:
        for name, v in (("n_objects", n_objects), ("n_features", n_features), ("n_locations", n_locations),
                        ("features_per_object", features_per_object)):
            if int(v) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v}")
        if features_per_object > n_locations:
            raise ValueError(
                f"features_per_object ({features_per_object}) exceeds n_locations ({n_locations}): "
                "an object needs distinct locations"
            )
        self.n_objects = int(n_objects)
        self.n_features = int(n_features)
        self.n_locations = int(n_locations)
        self.features_per_object = int(features_per_object)
        self.feature_size, self.location_size = int(feature_size), int(location_size)
        rng = np.random.default_rng(seed)
        self.feature_sdrs = random_batch(self.n_features, feature_size, feature_active, rng)
        self.location_sdrs = random_batch(self.n_locations, location_size, location_active, rng)
        locs = np.argsort(rng.random((self.n_objects, self.n_locations)), axis=1)[:, : self.features_per_object]
        feats = rng.integers(0, self.n_features, size=(self.n_objects, self.features_per_object))
        self.objects = np.stack([locs, feats], axis=-1)

    def pairs(self, obj: int) -> np.ndarray:
        """(location id, feature id) pairs of one object, int ``(features_per_object, 2)``."""
        return self.objects[obj]

    def sense(
        self,
        obj: int,
        pair_indices: np.ndarray,
        *,
        feature_noise: float = 0.0,
        location_noise: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> tuple[sparse.csr_array, sparse.csr_array]:
        """Feature and location SDRs, one CSR row per sensor (one entry of ``pair_indices`` each).

        Noise moves that fraction of each SDR's active bits to random inactive bits.
        """
        pairs = self.objects[obj][np.asarray(pair_indices)]
        f = self.feature_sdrs[pairs[:, 1]]
        loc = self.location_sdrs[pairs[:, 0]]
        if feature_noise > 0 or location_noise > 0:
            if rng is None:
                raise ValueError("sense: noise needs an rng")
            if feature_noise > 0:
                f = add_noise_batch(f, feature_noise, rng)
            if location_noise > 0:
                loc = add_noise_batch(loc, location_noise, rng)
        return f, loc
