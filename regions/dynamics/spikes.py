"""Avalanche analysis of spike trains (e.g. the Izhikevich network of :mod:`columns.neurons`).

Spikes are pooled into an :class:`ActivityRecorder` (one event per spike, the time step as
time), binned at the mean inter-event interval, cut into avalanches, and fitted: size and
duration exponents (discrete MLE, KS-chosen x_min), the crackling-noise gamma, the
preferred size distribution, and the branching ratio by multistep regression.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .avalanches import avalanches
from .alternatives import preferred_distribution
from .branching import multistep_regression
from .crackling import predicted_gamma
from .power_law import PowerLawFit, fit_power_law
from .recording import ActivityRecorder

__all__ = ["spike_recording", "analyse_spikes", "exponent_text"]


def spike_recording(spikes: Any, keep: np.ndarray) -> ActivityRecorder:
    """The kept spikes as an ``ActivityRecorder`` (one event per spike; the ms step is the time)."""
    recorder = ActivityRecorder(max_iterations=1, initial_capacity=max(1, int(keep.sum())))
    steps = spikes.time_steps[keep]
    ids = spikes.neuron_ids[keep]
    boundaries = np.flatnonzero(np.diff(steps)) + 1
    for step_ids, step in zip(np.split(ids, boundaries), steps[np.r_[0, boundaries]] if steps.size else []):
        recorder.record(int(step), 0, 0, step_ids)
    return recorder


def exponent_text(fit: PowerLawFit | None) -> str:
    """``tau+-sigma`` text of a fit (``n/a`` without one)."""
    return "n/a" if fit is None else f"{fit.exponent:.2f}+-{fit.sigma:.2f}"


def analyse_spikes(spikes: Any, keep: np.ndarray) -> dict:
    """Avalanche statistics of the kept spikes (bool mask over the spike train)."""
    recorder = spike_recording(spikes, keep)
    bin_steps = recorder.default_bin_width()
    activity = recorder.population_activity(bin_steps)
    events = avalanches(activity)
    complete = events.select(~events.truncated)
    size_fit = _safe_fit(complete.sizes)
    duration_fit = _safe_fit(complete.durations)
    gamma = np.nan
    if size_fit is not None and duration_fit is not None:
        gamma = predicted_gamma(size_fit, duration_fit)[0]
    size_law = "n/a"
    if size_fit is not None:
        try:
            size_law = preferred_distribution(complete.sizes, size_fit)
        except ValueError:
            pass
    m = np.nan
    if activity.size >= 200:
        try:
            m = multistep_regression(activity, k_max=20).m
        except ValueError:
            pass
    return {
        "n_spikes": recorder.n_events,
        "bin_ms": bin_steps * spikes.dt_ms,
        "empty": float(np.mean(activity == 0)) if activity.size else 1.0,
        "avalanches": complete,
        "mean_size": float(complete.sizes.mean()) if len(complete) else 0.0,
        "size_fit": size_fit,
        "duration_fit": duration_fit,
        "gamma": gamma,
        "size_law": size_law,
        "m": m,
    }


def _safe_fit(values: np.ndarray) -> PowerLawFit | None:
    try:
        return fit_power_law(values)
    except ValueError:
        return None
