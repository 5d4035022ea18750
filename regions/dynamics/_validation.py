"""Input checks shared by the dynamics modules (errors name the argument and the bad value)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["as_positive_integers", "as_rng", "check_fraction", "check_positive_int"]


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator from a Generator, a seed or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def as_positive_integers(values: ArrayLike, name: str) -> np.ndarray:
    """A 1-D int64 array of values >= 1 (integral floats accepted); raises ValueError otherwise."""
    array = np.asarray(values)
    if array.ndim != 1:
        array = array.reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} is empty: at least one value is needed")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} holds non-finite values")
        if not np.all(array == np.round(array)):
            bad = array[array != np.round(array)][0]
            raise ValueError(f"{name} must hold integers, got {bad!r}")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"{name} must be an integer array, got dtype {array.dtype}")
    out = array.astype(np.int64)
    if out.min() < 1:
        raise ValueError(f"{name} must be >= 1 (discrete sizes/durations), got minimum {out.min()}")
    return out


def check_fraction(value: float, name: str, *, allow_zero: bool = False) -> float:
    """A probability in (0, 1] (or [0, 1] with allow_zero)."""
    v = float(value)
    low_ok = v >= 0.0 if allow_zero else v > 0.0
    if not (low_ok and v <= 1.0):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return v


def check_positive_int(value: int, name: str, *, minimum: int = 1) -> int:
    """An int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)
