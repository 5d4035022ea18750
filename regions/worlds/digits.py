"""Image saccades on the scikit-learn handwritten digits (1,797 images of 8 x 8 pixels).

An eye fixates a point of an (upsampled) image; each of its ``n_sensors`` sensors sits at a
fixed offset from the fixation and sees a ``patch x patch`` window.  A world hands out, per
sensor, a feature SDR (what the patch looks like) and a location SDR (where the patch is on
the image), and takes motor commands (a displacement of the fixation, in pixels).

Encoding
--------
* features: every patch is quantised to the nearest of ``n_prototypes`` prototype patches
  (k-means on the patches of the prototype images; the prototype id is the *feature id* a
  policy reasons with); a prototype's SDR is the ``feature_active`` largest entries of a fixed
  Gaussian random projection of the prototype patch (k-winners), so similar prototypes share
  bits;
* locations: the patch's top-left pixel through a :class:`columns.sdr.CoordinateEncoder`
  (overlap falls with distance), so a location is the same for every sensor.

Noisy views add Gaussian pixel noise (:class:`regions.worlds.sensors.SensorNoise`);
feature bit noise and habituation are sensor options too.  The world knows nothing of
columns.  scikit-learn is an optional extra (``pip install cortical-columns[digits]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.types import NonNegativeFloat, PositiveInt
from scipy import sparse

from columns.sdr import CoordinateEncoder

from ..config import Params
from .sensors import Habituation, SensorNoise

__all__ = ["DigitSaccadeWorld", "DigitWorldParams", "load_digit_images", "sensor_offsets", "split_digits",
           "build_digit_world"]


def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """The scikit-learn digits: images float ``(1797, 8, 8)`` in [0, 1] and labels int ``(1797,)``.

    Raises ``ImportError`` naming the optional extra when scikit-learn is missing.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "the digits world needs scikit-learn: pip install 'cortical-columns[digits]' "
            "(or pip install scikit-learn)"
        ) from exc
    data = load_digits()
    return data.images.astype(np.float64) / 16.0, data.target.astype(np.int64)


def sensor_offsets(n_sensors: int, spacing: int) -> np.ndarray:
    """Offsets (row, col) in pixels of ``n_sensors`` sensors on a near-square grid, ``(n, 2)``."""
    if int(n_sensors) <= 0:
        raise ValueError(f"n_sensors must be a positive integer, got {n_sensors}")
    side = int(np.ceil(np.sqrt(n_sensors)))
    k = np.arange(int(n_sensors))
    return np.stack([k // side, k % side], axis=1) * int(spacing)


def _kwinners(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest entries of each row (ties: lowest index), sorted, ``(n, k)``."""
    top = np.argsort(-values, axis=1, kind="stable")[:, :k]
    return np.sort(top, axis=1)


class DigitSaccadeWorld:
    """Saccades over a set of digit images.

    Parameters
    ----------
    images : float ``(n_images, h, w)`` in [0, 1].
    labels : int ``(n_images,)``.
    n_sensors : sensors per fixation (one per column).
    upsample : integer upsampling factor of the images (pixel repetition + 2x2 smoothing).
    patch : side of a sensor's window, in upsampled pixels.
    stride : step between fixations, in upsampled pixels.
    sensor_spacing : distance between neighbouring sensors (default ``patch``).
    n_prototypes : feature vocabulary size (k-means prototypes).
    prototype_images : indices of the images whose patches fit the prototypes (default all).
    feature_size, feature_active : feature SDR size (L4 minicolumns) and active bits.
    location_size, location_active : location SDR size and active bits.
    noise : observation noise (pixel noise on views, bit noise on feature SDRs).
    habituation : optional per-sensor habituation of feature bits.
    seed : seed of prototypes, projections and encoders.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        *,
        n_sensors: int = 1,
        upsample: int = 2,
        patch: int = 4,
        stride: int = 2,
        sensor_spacing: int | None = None,
        n_prototypes: int = 32,
        prototype_images: np.ndarray | None = None,
        feature_size: int = 150,
        feature_active: int = 20,
        location_size: int = 2400,
        location_active: int = 20,
        noise: SensorNoise | None = None,
        habituation: Habituation | None = None,
        seed: int = 0,
    ) -> None:
        images = np.asarray(images, dtype=np.float64)
        labels = np.asarray(labels)
        if images.ndim != 3:
            raise ValueError(f"images must have shape (n_images, h, w), got {images.shape}")
        if labels.shape != images.shape[:1]:
            raise ValueError(f"labels must have shape {images.shape[:1]}, got {labels.shape}")
        for name, v in (("n_sensors", n_sensors), ("upsample", upsample), ("patch", patch), ("stride", stride),
                        ("n_prototypes", n_prototypes), ("feature_size", feature_size),
                        ("feature_active", feature_active)):
            if int(v) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v}")
        if feature_active > feature_size:
            raise ValueError(f"feature_active ({feature_active}) exceeds feature_size ({feature_size})")
        self.images, self.labels = images, labels.astype(np.int64)
        self.upsample, self.patch, self.stride = int(upsample), int(patch), int(stride)
        self.n_sensors = int(n_sensors)
        self.offsets = sensor_offsets(self.n_sensors, self.patch if sensor_spacing is None else int(sensor_spacing))
        self.height, self.width = images.shape[1] * self.upsample, images.shape[2] * self.upsample
        reach = self.offsets.max(axis=0) + self.patch
        if reach[0] > self.height or reach[1] > self.width:
            raise ValueError(
                f"sensors span {reach.tolist()} pixels, more than the {self.height}x{self.width} image"
            )
        rows = np.arange(0, self.height - reach[0] + 1, self.stride)
        cols = np.arange(0, self.width - reach[1] + 1, self.stride)
        self.fixations = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
        self.feature_size, self.location_size = int(feature_size), int(location_size)
        self.noise = noise or SensorNoise(0.0, 0.0, seed)
        self.habituation = habituation
        rng = np.random.default_rng(seed)
        self.location_encoder = CoordinateEncoder(location_size, location_active, radius=3.0,
                                                  seed=int(rng.integers(2**31)), resolution=self.stride / 4)
        # prototypes from the patches of the prototype images
        which = np.arange(len(images)) if prototype_images is None else np.asarray(prototype_images)
        patches = self._all_patches(self._upsampled(images[which])).reshape(-1, self.patch**2)
        self.prototypes = _kmeans(patches, int(n_prototypes), rng)
        projection = rng.normal(size=(self.patch**2, self.feature_size))
        centred = self.prototypes - 0.5
        self.feature_sdrs = _kwinners(centred @ projection, int(feature_active))  # (K, active)
        pos = (self.fixations[:, None, :] + self.offsets[None, :, :]).reshape(-1, 2)
        loc = self.location_encoder.encode_many(pos.astype(np.float64))
        self._location_rows = sparse.csr_array(loc)  # row f * n_sensors + k
        self.fixation = 0

    # ---------------------------------------------------------------- geometry
    @property
    def n_fixations(self) -> int:
        """Candidate fixations (the policy's locations)."""
        return len(self.fixations)

    @property
    def n_prototypes(self) -> int:
        """Feature vocabulary size."""
        return len(self.prototypes)

    def _upsampled(self, images: np.ndarray) -> np.ndarray:
        u = self.upsample
        big = np.repeat(np.repeat(images, u, axis=-2), u, axis=-1)
        if u > 1:  # light 2x2 box smoothing so that upsampled edges are not blocky
            padded = np.pad(big, [(0, 0)] * (big.ndim - 2) + [(0, 1), (0, 1)], mode="edge")
            big = 0.25 * (padded[..., :-1, :-1] + padded[..., 1:, :-1] + padded[..., :-1, 1:] + padded[..., 1:, 1:])
        return big

    def _all_patches(self, big: np.ndarray) -> np.ndarray:
        """Patches at every fixation and sensor, ``(..., n_fixations, n_sensors, patch, patch)``."""
        win = np.lib.stride_tricks.sliding_window_view(big, (self.patch, self.patch), axis=(-2, -1))
        pos = self.fixations[:, None, :] + self.offsets[None, :, :]
        return win[..., pos[..., 0], pos[..., 1], :, :]

    def view(self, index: int, pixel_noise: float | None = None,
             rng: np.random.Generator | None = None) -> np.ndarray:
        """Upsampled image ``index`` as the eye sees it, float ``(height, width)``.

        ``pixel_noise`` (std) overrides the world's noise; noise uses ``rng`` or the noise's own.
        """
        if not 0 <= int(index) < len(self.images):
            raise ValueError(f"index must lie in [0, {len(self.images)}), got {index}")
        img = self._upsampled(self.images[int(index)])
        sigma = self.noise.pixel_noise if pixel_noise is None else float(pixel_noise)
        if sigma < 0:
            raise ValueError(f"pixel_noise must be >= 0, got {pixel_noise}")
        if sigma > 0:
            r = rng if rng is not None else self.noise.rng
            img = np.clip(img + r.normal(0.0, sigma, img.shape), 0.0, 1.0)
        return img

    # ---------------------------------------------------------------- features
    def feature_ids(self, image: np.ndarray) -> np.ndarray:
        """Prototype id of every sensor's patch at every fixation, int ``(n_sensors, n_fixations)``."""
        patches = self._all_patches(np.asarray(image, dtype=np.float64)).reshape(-1, self.patch**2)
        d = ((patches[:, None, :] - self.prototypes[None, :, :]) ** 2).sum(axis=2)
        return np.argmin(d, axis=1).reshape(self.n_fixations, self.n_sensors).T.astype(np.int64)

    def sense_at(self, image: np.ndarray, fixation: int) -> tuple[sparse.csr_array, sparse.csr_array]:
        """Feature and location SDRs of every sensor at one fixation (CSR, one row per sensor)."""
        f = int(fixation)
        if not 0 <= f < self.n_fixations:
            raise ValueError(f"fixation must lie in [0, {self.n_fixations}), got {fixation}")
        big = np.asarray(image, dtype=np.float64)
        pos = self.fixations[f] + self.offsets
        win = np.lib.stride_tricks.sliding_window_view(big, (self.patch, self.patch))
        patches = win[pos[:, 0], pos[:, 1]].reshape(self.n_sensors, -1)
        d = ((patches[:, None, :] - self.prototypes[None, :, :]) ** 2).sum(axis=2)
        ids = np.argmin(d, axis=1)
        bits = self.feature_sdrs[ids]
        feats = sparse.csr_array(
            (np.ones(bits.size, dtype=bool), bits.reshape(-1), np.arange(0, bits.size + 1, bits.shape[1])),
            shape=(self.n_sensors, self.feature_size),
        )
        feats = self.noise.corrupt_sdrs(feats)
        if self.habituation is not None:
            feats = self.habituation.respond(feats)
        locs = self._location_rows[np.arange(f * self.n_sensors, (f + 1) * self.n_sensors)]
        return feats, locs

    # ---------------------------------------------------------------- motor
    def reset(self, fixation: int = 0) -> None:
        """Place the eye at a fixation (and reset habituation)."""
        if not 0 <= int(fixation) < self.n_fixations:
            raise ValueError(f"fixation must lie in [0, {self.n_fixations}), got {fixation}")
        self.fixation = int(fixation)
        if self.habituation is not None:
            self.habituation.reset()

    def move(self, displacement: np.ndarray) -> np.ndarray:
        """Saccade by ``displacement`` (row, col) pixels to the nearest valid fixation.

        Returns the displacement actually made, float ``(2,)``.
        """
        d = np.asarray(displacement, dtype=np.float64).reshape(-1)
        if d.shape != (2,) or not np.isfinite(d).all():
            raise ValueError(f"displacement must be 2 finite numbers (row, col), got {displacement}")
        target = self.fixations[self.fixation] + d
        new = int(np.argmin(((self.fixations - target) ** 2).sum(axis=1)))
        made = (self.fixations[new] - self.fixations[self.fixation]).astype(np.float64)
        self.fixation = new
        return made

    def sense(self, image: np.ndarray) -> tuple[sparse.csr_array, sparse.csr_array]:
        """Feature and location SDRs of every sensor at the current fixation."""
        return self.sense_at(image, self.fixation)


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 20) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; ``(k, d)`` centres (fewer if fewer distinct points)."""
    points = np.unique(points.round(6), axis=0)
    if len(points) > 20000:
        points = points[rng.choice(len(points), 20000, replace=False)]
    k = min(k, len(points))
    centres = [points[rng.integers(len(points))]]
    d2 = ((points - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else None
        c = points[rng.choice(len(points), p=p)]
        centres.append(c)
        d2 = np.minimum(d2, ((points - c) ** 2).sum(axis=1))
    centres = np.array(centres)
    for _ in range(iterations):
        assign = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        counts = np.bincount(assign, minlength=k)
        sums = np.zeros_like(centres)
        np.add.at(sums, assign, points)
        moved = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres)
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres


# ------------------------------------------------------------------------- config builder
class DigitWorldParams(Params):
    """``world.params`` of the ``digits`` world.

    A feature SDR has the sensing column's L4 size (``L4.minicolumns`` bits, ``L4.active_minicolumns``
    active: one source of truth for both); ``location_size`` is also the L4 basal input size of the
    region the network builds.
    """

    model_config = ConfigDict(extra="forbid")

    upsample: PositiveInt = 2
    patch: PositiveInt = 4
    stride: PositiveInt = 2
    sensor_spacing: PositiveInt | None = None
    n_prototypes: PositiveInt = 32
    location_size: PositiveInt = 2400
    location_active: PositiveInt = 20
    pixel_noise: NonNegativeFloat = 0.0
    bit_noise: float = Field(0.0, ge=0.0, le=1.0)
    train_per_class: PositiveInt = 1
    test_per_class: PositiveInt = 5


def split_digits(labels: np.ndarray, train_per_class: int, test_per_class: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint random train / test indices with the given counts per class."""
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        if len(idx) < train_per_class + test_per_class:
            raise ValueError(f"class {c} has {len(idx)} images, fewer than train + test per class")
        train.append(idx[:train_per_class])
        test.append(idx[train_per_class:train_per_class + test_per_class])
    return np.concatenate(train), np.concatenate(test)


def build_digit_world(spec: Any, *, config: Any, seed: int) -> DigitSaccadeWorld:
    """The digits world of a config: sensors = the first region's columns, features sized by its L4
    (``minicolumns`` bits, ``active_minicolumns`` active).

    The world keeps ``train_indices`` / ``test_indices`` (a seeded split) as attributes;
    prototypes are fitted on the training images only.
    """
    p = DigitWorldParams.model_validate(spec.params)
    images, labels = load_digit_images()
    rng = np.random.default_rng(seed)
    train, test = split_digits(labels, p.train_per_class, p.test_per_class, rng)
    region = config.regions[0]
    world = DigitSaccadeWorld(
        images, labels, n_sensors=region.columns, upsample=p.upsample, patch=p.patch, stride=p.stride,
        sensor_spacing=p.sensor_spacing, n_prototypes=p.n_prototypes, prototype_images=train,
        feature_size=region.column.L4.minicolumns, feature_active=region.column.L4.active_minicolumns,
        location_size=p.location_size, location_active=p.location_active,
        noise=SensorNoise(p.bit_noise, p.pixel_noise, seed + 1), seed=seed,
    )
    world.train_indices, world.test_indices = train, test
    return world


def _register() -> None:
    from regions.builder import register_builder

    register_builder("digits", "world", params=DigitWorldParams)(build_digit_world)


_register()
