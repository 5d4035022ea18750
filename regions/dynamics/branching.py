"""Branching-ratio estimators.

* ``branching_ratio_pooled``: descendants over ancestors pooled over an avalanche ensemble,
  ``m = sum A_{t+1} / sum A_t`` within avalanches (the Harris maximum-likelihood estimator for
  Galton-Watson data).  Biased when only part of the units is observed.
* ``multistep_regression`` (MR, Wilting & Priesemann 2018): the slopes r_k of A_{t+k} on A_t
  decay as ``r_k = b m**k``.  Subsampling (observing a random fraction of units) multiplies
  every r_k by the same b, so m stays unbiased.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from ._validation import check_positive_int
from .avalanches import AvalancheSet

__all__ = ["MultistepRegression", "branching_ratio_pooled", "multistep_regression", "regression_slopes"]


def branching_ratio_pooled(avalanche_set: AvalancheSet) -> float:
    """Pooled descendants/ancestors ratio over all avalanches (needs profiles).

    Every bin of an avalanche is an ancestor generation except the last bin of a truncated
    avalanche (its descendants were not observed); every bin but the first is a descendant
    generation.  Equals ``sum(S_i - A_i(0)) / sum(S_i)`` for complete avalanches.
    """
    if avalanche_set.activity is None:
        raise ValueError("branching_ratio_pooled needs avalanche profiles (activity)")
    offsets = avalanche_set.offsets
    first = avalanche_set.activity[offsets[:-1]]
    last = avalanche_set.activity[offsets[1:] - 1]
    total = avalanche_set.sizes.astype(np.float64)
    descendants = float(np.sum(total - first))
    ancestors = float(np.sum(total - np.where(avalanche_set.truncated, last, 0)))
    if ancestors <= 0:
        raise ValueError("no ancestor activity: the avalanche set is empty")
    return descendants / ancestors


def regression_slopes(activity: ArrayLike, k_max: int) -> np.ndarray:
    """Slopes r_k (k = 1..k_max) of the linear regression of A_{t+k} on A_t.

    Args:
        activity: (n_steps,) time series or (n_trials, n_steps) independent trials of activity
            counts; pairs never cross trials.
        k_max: largest lag, < n_steps.

    The same set of times ``t < n_steps - k_max`` enters every lag, so that a common
    subsampling factor b is shared by all r_k even for non-stationary trials.
    """
    series = np.asarray(activity, dtype=np.float64)
    if series.ndim == 1:
        series = series[None, :]
    if series.ndim != 2:
        raise ValueError(f"activity must be (n_steps,) or (n_trials, n_steps), got shape {series.shape}")
    k_max = check_positive_int(k_max, "k_max")
    n_steps = series.shape[1]
    if k_max >= n_steps:
        raise ValueError(f"k_max={k_max} must be smaller than the number of steps {n_steps}")
    length = n_steps - k_max
    x = series[:, :length]
    centred = x - x.mean()
    variance = float(np.sum(centred * centred))
    if variance <= 0:
        raise ValueError("activity is constant over the regression window: no slope to estimate")
    slopes = np.empty(k_max, dtype=np.float64)
    for k in range(1, k_max + 1):  # k_max dot products, each over all (trial, t) pairs
        slopes[k - 1] = float(np.vdot(centred, series[:, k : k + length])) / variance
    return slopes


@dataclass(frozen=True)
class MultistepRegression:
    """Result of multistep regression.

    Attributes:
        m: branching ratio estimate.
        b: amplitude of r_k = b m**k (the subsampling factor; 1 for full observation).
        stderr: standard error of m from the fit's covariance.
        k: (k_max,) lags.
        slopes: (k_max,) regression slopes r_k.
    """

    m: float
    b: float
    stderr: float
    k: np.ndarray
    slopes: np.ndarray


def multistep_regression(
    activity: ArrayLike,
    k_max: int = 40,
    *,
    method: Literal["exponential", "loglinear"] = "exponential",
) -> MultistepRegression:
    """Branching ratio by multistep regression: fit r_k = b m**k to the slopes r_k.

    Args:
        activity: (n_steps,) or (n_trials, n_steps) integer activity (possibly subsampled).
        k_max: largest lag; pick it so that m**k_max is still well above the noise of r_k
            (e.g. ~40 at m = 0.9, where r_40 ~ 0.015 b).
        method: ``"exponential"`` (nonlinear least squares on r_k, Wilting & Priesemann) or
            ``"loglinear"`` (least squares of ln r_k on k, positive slopes only).
    """
    if method not in ("exponential", "loglinear"):
        raise ValueError(f"method must be 'exponential' or 'loglinear', got {method!r}")
    slopes = regression_slopes(activity, k_max)
    k = np.arange(1, slopes.size + 1, dtype=np.float64)
    positive = slopes > 0
    if np.count_nonzero(positive) < 2:
        raise ValueError("fewer than two positive regression slopes: activity carries no branching signal")
    line = stats.linregress(k[positive], np.log(slopes[positive]))
    m0, b0 = float(np.exp(line.slope)), float(np.exp(line.intercept))
    if method == "loglinear":
        return MultistepRegression(m=m0, b=b0, stderr=float(m0 * line.stderr), k=k.astype(np.int64), slopes=slopes)
    (b, m), covariance = optimize.curve_fit(
        lambda kk, bb, mm: bb * mm**kk, k, slopes, p0=(b0, m0), maxfev=10_000
    )
    stderr = float(np.sqrt(covariance[1, 1])) if np.all(np.isfinite(covariance)) else float("nan")
    return MultistepRegression(m=float(m), b=float(b), stderr=stderr, k=k.astype(np.int64), slopes=slopes)
