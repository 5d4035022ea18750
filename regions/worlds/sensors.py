"""Sensor options for worlds: observation noise and habituation.

Both act on what a world hands out, per sensor, and know nothing of columns.

* :class:`SensorNoise` moves a fraction of each feature SDR's active bits to random inactive
  bits (``bit_noise``) and adds Gaussian noise to raw intensities (``pixel_noise``, in the
  units of the raw signal, clipped to ``[0, 1]``).
* :class:`Habituation` gives every bit of every sensor a gain in ``[0, 1]``: a bit active on a
  step loses ``decay`` of its gain, a silent bit recovers ``recovery`` of the missing gain.
  A bit is reported only while its gain is at least ``threshold``.  So a constant strong
  input fades (its bits drop out one step after the gain falls below threshold) and a new
  input is answered at full strength; an old input answers again after a pause.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from columns.sdr import add_noise_batch

__all__ = ["SensorNoise", "Habituation"]


class SensorNoise:
    """Observation noise of a world's sensors.

    Parameters
    ----------
    bit_noise : fraction in [0, 1] of active feature bits replaced by random inactive bits.
    pixel_noise : standard deviation of additive Gaussian noise on raw intensities in [0, 1].
    seed : seed or generator.
    """

    def __init__(self, bit_noise: float = 0.0, pixel_noise: float = 0.0,
                 seed: int | np.random.Generator | None = 0) -> None:
        if not 0.0 <= float(bit_noise) <= 1.0:
            raise ValueError(f"bit_noise must lie in [0, 1], got {bit_noise}")
        if not float(pixel_noise) >= 0.0:
            raise ValueError(f"pixel_noise must be >= 0, got {pixel_noise}")
        self.bit_noise = float(bit_noise)
        self.pixel_noise = float(pixel_noise)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def corrupt_sdrs(self, features: sparse.csr_array) -> sparse.csr_array:
        """Feature SDRs (CSR, one row per sensor) with ``bit_noise`` of their bits moved."""
        if self.bit_noise == 0.0:
            return features
        return add_noise_batch(features, self.bit_noise, self.rng)

    def corrupt_pixels(self, values: np.ndarray) -> np.ndarray:
        """Raw intensities in [0, 1] plus Gaussian noise of std ``pixel_noise``, clipped to [0, 1]."""
        values = np.asarray(values, dtype=np.float64)
        if self.pixel_noise == 0.0:
            return values
        return np.clip(values + self.rng.normal(0.0, self.pixel_noise, values.shape), 0.0, 1.0)


class Habituation:
    """Per-bit habituation of ``n_sensors`` sensors of ``size`` bits each.

    Parameters
    ----------
    n_sensors, size : sensors and bits per sensor.
    decay : fraction (0, 1] of its gain a bit loses on each step it is active.
    recovery : fraction [0, 1] of its missing gain a silent bit regains each step.
    threshold : a bit is reported while its gain is >= threshold, in (0, 1].
    """

    def __init__(self, n_sensors: int, size: int, decay: float = 0.3, recovery: float = 0.2,
                 threshold: float = 0.5) -> None:
        if int(n_sensors) <= 0 or int(size) <= 0:
            raise ValueError(f"n_sensors and size must be positive integers, got {n_sensors}, {size}")
        if not 0.0 < float(decay) <= 1.0:
            raise ValueError(f"decay must lie in (0, 1], got {decay}")
        if not 0.0 <= float(recovery) <= 1.0:
            raise ValueError(f"recovery must lie in [0, 1], got {recovery}")
        if not 0.0 < float(threshold) <= 1.0:
            raise ValueError(f"threshold must lie in (0, 1], got {threshold}")
        self.n_sensors, self.size = int(n_sensors), int(size)
        self.decay, self.recovery, self.threshold = float(decay), float(recovery), float(threshold)
        self.gain = np.ones((self.n_sensors, self.size))

    def reset(self) -> None:
        """Full gain on every bit."""
        self.gain.fill(1.0)

    def respond(self, features: sparse.csr_array) -> sparse.csr_array:
        """One step: the bits of ``features`` (CSR ``(n_sensors, size)``) that still respond.

        The response uses the gains before this step; then active bits lose gain and silent
        bits recover.
        """
        f = sparse.csr_array(features)
        if f.shape != (self.n_sensors, self.size):
            raise ValueError(f"features must have shape {(self.n_sensors, self.size)}, got {f.shape}")
        dense = f.toarray().astype(bool)
        out = dense & (self.gain >= self.threshold)
        self.gain = np.where(dense, self.gain * (1.0 - self.decay),
                             self.gain + self.recovery * (1.0 - self.gain))
        return sparse.csr_array(out)

    def respond_intensity(self, intensity: np.ndarray) -> np.ndarray:
        """Graded version for raw inputs in [0, 1], float ``(n_sensors, size)``: ``intensity * gain``.

        Gain decays in proportion to the intensity and recovers in proportion to its absence.
        """
        x = np.clip(np.asarray(intensity, dtype=np.float64), 0.0, 1.0)
        if x.shape != (self.n_sensors, self.size):
            raise ValueError(f"intensity must have shape {(self.n_sensors, self.size)}, got {x.shape}")
        out = x * self.gain
        self.gain = self.gain * (1.0 - self.decay * x) + self.recovery * (1.0 - x) * (1.0 - self.gain)
        return out
