"""Objects as sets of (location, feature) pairs: the generator of the 2017 columns paper.

Each object places ``features_per_object`` features, drawn with replacement from a pool
of ``n_features``, at distinct locations drawn from a pool of ``n_locations`` (with
``features_per_object == n_locations`` the locations are a permutation of the pool).
Features and locations are random SDRs: a feature activates ``feature_active`` of
``feature_size`` bits (L4 minicolumns), a location ``location_active`` of
``location_size`` bits (the L4 basal input).  One generator seed reproduces the world.

Two noise models (:data:`NOISE_KINDS`) perturb a sensed SDR at test time, both keeping its
number of active bits:

* ``"exact_count"``: exactly ``round(p * w)`` of the ``w`` active bits move to random inactive
  bits (:func:`columns.sdr.add_noise_batch`);
* ``"per_bit"`` (the 2017 reference, htmresearch ``SimpleObjectMachine._addNoise``): each active
  bit moves independently with probability ``p`` to a random inactive bit, so the number moved
  is Binomial(w, p) (:func:`add_noise_per_bit`).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from columns.sdr import add_noise_batch, random_batch

__all__ = ["NOISE_KINDS", "FeatureObjectWorld", "add_noise_per_bit"]

#: Noise models of :meth:`FeatureObjectWorld.sense`.
NOISE_KINDS = ("exact_count", "per_bit")


def add_noise_per_bit(matrix: sparse.csr_array, p: float, rng: np.random.Generator) -> sparse.csr_array:
    """Each active bit of each row moves, independently with probability ``p``, to an inactive bit.

    The noise of the 2017 reference: a row with ``w`` active bits moves Binomial(w, p) of them; the
    new bits are distinct, drawn uniformly from the bits inactive in that row, so a row keeps its
    size and holds no duplicate.  Vectorised over rows (no Python loop).

    Parameters
    ----------
    matrix : CSR batch ``(n, size)``, one SDR per row.
    p : probability in [0, 1] that an active bit moves.
    rng : the generator of the draws.

    Returns
    -------
    CSR batch ``(n, size)`` of bools, indices sorted within each row.
    """
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"noise probability must be in [0, 1], got {p}")
    m = sparse.csr_array(matrix)
    n_rows, size = m.shape
    indptr = m.indptr.astype(np.int64)
    active = m.indices.astype(np.int64)
    counts = np.diff(indptr)
    if np.any(2 * counts > size) and p > 0:
        row = int(np.flatnonzero(2 * counts > size)[0])
        raise ValueError(f"row {row} has {int(counts[row])} of {size} bits active: too few inactive bits "
                         "to move every active bit")
    rows = np.repeat(np.arange(n_rows), counts)
    moved = rng.random(active.size) < p
    n_moved = np.bincount(rows[moved], minlength=n_rows)
    # a uniform random order of each row's inactive bits: random keys, active bits last
    keys = rng.random((n_rows, size))
    keys[rows, active] = 2.0
    order = np.argsort(keys, axis=1)
    k = int(n_moved.max()) if n_rows else 0
    take = np.arange(k)[None, :] < n_moved[:, None]
    new_bits = order[:, :k][take]
    new_rows = np.repeat(np.arange(n_rows), n_moved)
    keep = ~moved
    flat = np.concatenate([rows[keep] * size + active[keep], new_rows * size + new_bits])
    flat.sort()
    out_rows = flat // size
    out_indptr = np.concatenate(([0], np.cumsum(np.bincount(out_rows, minlength=n_rows))))
    return sparse.csr_array((np.ones(flat.size, dtype=bool), flat - out_rows * size, out_indptr),
                            shape=(n_rows, size))


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
        noise: str = "exact_count",
    ) -> tuple[sparse.csr_array, sparse.csr_array]:
        """Feature and location SDRs, one CSR row per sensor (one entry of ``pair_indices`` each).

        ``noise`` (one of :data:`NOISE_KINDS`) says how ``feature_noise`` / ``location_noise``
        perturb them: ``"exact_count"`` moves that fraction of each SDR's active bits (rounded) to
        random inactive bits; ``"per_bit"`` moves each active bit with that probability.
        """
        if noise not in NOISE_KINDS:
            raise ValueError(f"unknown noise model {noise!r}; expected one of {NOISE_KINDS}")
        pairs = self.objects[obj][np.asarray(pair_indices)]
        f = self.feature_sdrs[pairs[:, 1]]
        loc = self.location_sdrs[pairs[:, 0]]
        if feature_noise > 0 or location_noise > 0:
            if rng is None:
                raise ValueError("sense: noise needs an rng")
            add = add_noise_batch if noise == "exact_count" else add_noise_per_bit
            if feature_noise > 0:
                f = add(f, feature_noise, rng)
            if location_noise > 0:
                loc = add(loc, location_noise, rng)
        return f, loc
