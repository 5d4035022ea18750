"""Avalanches: segmentation of binned activity, and ground-truth branching processes.

An avalanche is a maximal run of non-empty bins of the population activity (Beggs & Plenz 2003);
its size is the number of events in the run and its duration the number of bins.  Ground truth
comes from two processes whose branching ratio ``m`` is known:

* ``galton_watson_avalanches``: independent avalanches started by one unit, each active unit
  having Poisson(m) descendants in the next generation (critical at m = 1: size exponent 3/2,
  duration exponent 2, <S>(T) ~ T**2);
* ``driven_branching_process``: a network of ``n_units`` units with external drive ``h``, the
  activity time series for multistep regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_rng, check_fraction, check_positive_int
from .recording import ActivityRecorder

__all__ = [
    "AvalancheSet",
    "avalanches",
    "galton_watson_avalanches",
    "driven_branching_process",
    "subsample",
]


@dataclass(frozen=True)
class AvalancheSet:
    """A collection of avalanches, structure of arrays.

    Attributes:
        sizes: (n,) int64, events per avalanche.
        durations: (n,) int64, bins (or generations) per avalanche, >= 1.
        truncated: (n,) bool, True where the avalanche was cut by the observation window or a
            simulation cap (its size and duration are lower bounds).
        activity: optional flat int64 array of the per-bin activity of all avalanches,
            concatenated in avalanche order (``activity[offsets[i]:offsets[i+1]]`` is the profile
            of avalanche i); None when profiles were not kept.
        onsets: optional (n,) int64, index of each avalanche's first bin in the binned series.
    """

    sizes: np.ndarray
    durations: np.ndarray
    truncated: np.ndarray
    activity: np.ndarray | None = None
    onsets: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.sizes.size)

    @property
    def offsets(self) -> np.ndarray:
        """(n + 1,) start of each avalanche's profile in ``activity`` (cumulative durations)."""
        return np.concatenate(([0], np.cumsum(self.durations)))

    def profile(self, index: int) -> np.ndarray:
        """Activity per bin of avalanche ``index`` (requires profiles)."""
        self._require_profiles()
        offsets = self.offsets
        return self.activity[offsets[index] : offsets[index + 1]]

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """(avalanche index, bin within the avalanche) of every entry of ``activity``."""
        self._require_profiles()
        owner = np.repeat(np.arange(len(self)), self.durations)
        position = np.arange(self.activity.size) - np.repeat(self.offsets[:-1], self.durations)
        return owner, position

    def activity_matrix(self, n_steps: int) -> np.ndarray:
        """(n, n_steps) int64 profiles, zero-padded after extinction and cut at ``n_steps``.

        Each row is one trial of the process started by the avalanche's seed, the input
        ``multistep_regression`` expects for trial-separated data.
        """
        n_steps = check_positive_int(n_steps, "n_steps")
        owner, position = self.positions()
        keep = position < n_steps
        out = np.zeros((len(self), n_steps), dtype=np.int64)
        out[owner[keep], position[keep]] = self.activity[keep]
        return out

    def select(self, mask: ArrayLike) -> AvalancheSet:
        """The avalanches where ``mask`` (bool (n,) or index array) holds."""
        mask = np.asarray(mask)
        if mask.dtype == bool and mask.shape != self.sizes.shape:
            raise ValueError(f"mask has shape {mask.shape}, expected {self.sizes.shape}")
        index = np.flatnonzero(mask) if mask.dtype == bool else mask.astype(np.int64)
        activity = None
        if self.activity is not None:
            owner, _ = self.positions()
            chosen = np.zeros(len(self), dtype=bool)
            chosen[index] = True
            if not np.all(np.diff(index) > 0):
                raise ValueError("index arrays passed to select must be strictly increasing")
            activity = self.activity[chosen[owner]]
        return AvalancheSet(
            sizes=self.sizes[index],
            durations=self.durations[index],
            truncated=self.truncated[index],
            activity=activity,
            onsets=None if self.onsets is None else self.onsets[index],
        )

    def _require_profiles(self) -> None:
        if self.activity is None:
            raise ValueError("this AvalancheSet was built without activity profiles (profiles=False)")


def avalanches(counts: ArrayLike) -> AvalancheSet:
    """Avalanches of a binned population activity: maximal runs of non-empty bins.

    Args:
        counts: (n_bins,) non-negative integer events per bin (``population_activity``).

    Returns:
        AvalancheSet with sizes (events per run), durations (bins per run), onsets (first bin),
        the per-bin activity, and ``truncated`` set for runs touching the first or last bin
        (they may extend beyond the recording).
    """
    values = np.asarray(counts)
    if values.ndim != 1:
        raise ValueError(f"counts must be 1-D (events per bin), got shape {values.shape}")
    if values.dtype.kind not in "iub":
        if values.dtype.kind == "f" and np.all(values == np.round(values)):
            values = values.astype(np.int64)
        else:
            raise ValueError(f"counts must hold integers, got dtype {values.dtype}")
    if values.size and values.min() < 0:
        raise ValueError(f"counts must be >= 0, got minimum {values.min()}")
    values = values.astype(np.int64)
    active = values > 0
    edges = np.diff(np.concatenate(([0], active.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    cumulative = np.concatenate(([0], np.cumsum(values)))
    truncated = (starts == 0) | (ends == values.size)
    return AvalancheSet(
        sizes=cumulative[ends] - cumulative[starts],
        durations=ends - starts,
        truncated=truncated,
        activity=values[active],
        onsets=starts,
    )


def galton_watson_avalanches(
    m: float,
    n_avalanches: int,
    rng: np.random.Generator | int | None = None,
    *,
    max_size: int | None = None,
    max_generations: int | None = None,
    profiles: bool = False,
) -> AvalancheSet:
    """Avalanches of a Galton-Watson process with Poisson(m) offspring, one seed each.

    Vectorised across avalanches, generation by generation: the next generation of an avalanche
    with ``A`` active units is ``Poisson(m * A)`` (the sum of A independent Poisson(m)), so the
    cost is one draw per living avalanche per generation, independent of the avalanche's size.

    Args:
        m: branching ratio (mean offspring per unit), >= 0.
        n_avalanches: number of independent avalanches.
        rng: numpy Generator or seed.
        max_size: an avalanche is stopped (and marked truncated) once its size reaches this.
            Default ``max(10**6, n_avalanches**2)``.  Finite-size honesty: at m = 1 the size
            survival is P(S >= s) ~ 0.80 s**-1/2, so about ``0.8 n / sqrt(max_size)`` avalanches
            are censored -- below one with the default.  This matters: censored values pile up
            at the cap, and at 1e5 avalanches a cap of 1e8 (~8 censored) already makes the
            nested likelihood-ratio test prefer a truncated power law with lambda ~ 1/max_size
            (p ~ 0.003), while the cap of 1e10 does not (p ~ 0.4); the bias on tau itself is
            below 1e-4 either way.  Cost grows like sqrt(max_size) generations for the largest
            avalanches (~3 s for 1e5 critical avalanches at the default).  For m > 1 a fraction
            ``1 - q`` (q: extinction probability, q = 0.824 at m = 1.1) grows forever and is
            always truncated; the extinct ones form a subcritical process (m q).
        max_generations: optionally stop every avalanche after this many generations (marked
            truncated if still alive), e.g. for fixed-length trials.
        profiles: keep the activity of every generation (needed for shape collapse and for
            ``activity_matrix``); memory ~ 8 bytes x total duration.

    Returns:
        AvalancheSet; durations count generations including the seed's (a lone seed has
        size 1 and duration 1).
    """
    if not (np.isfinite(m) and m >= 0):
        raise ValueError(f"m must be a finite branching ratio >= 0, got {m!r}")
    n_avalanches = check_positive_int(n_avalanches, "n_avalanches")
    max_size = max(10**6, n_avalanches**2) if max_size is None else check_positive_int(max_size, "max_size")
    if max_generations is not None:
        max_generations = check_positive_int(max_generations, "max_generations")
    generator = as_rng(rng)
    sizes = np.ones(n_avalanches, dtype=np.int64)
    durations = np.ones(n_avalanches, dtype=np.int64)
    truncated = np.zeros(n_avalanches, dtype=bool)
    alive = np.arange(n_avalanches)
    current = np.ones(n_avalanches, dtype=np.int64)  # activity of the last generation
    total = np.ones(n_avalanches, dtype=np.int64)  # running size of each living avalanche
    owners: list[np.ndarray] = [alive.copy()] if profiles else []
    values: list[np.ndarray] = [current.copy()] if profiles else []
    if max_size <= 1:
        truncated[:] = True
        alive = alive[:0]
    generations = 1  # generations with activity so far
    while alive.size:
        if alive.size <= _SCALAR_TAIL:
            # the last few survivors: scalar draws cost ~2 us, array draws ~30 us
            for index, start, running in zip(alive.tolist(), current.tolist(), total.tolist()):
                size, duration, cut, trace = _finish_one(
                    generator, m, start, running, generations, max_size, max_generations, profiles
                )
                sizes[index], durations[index], truncated[index] = size, duration, cut
                if profiles and trace:
                    owners.append(np.full(len(trace), index, dtype=np.int64))
                    values.append(np.asarray(trace, dtype=np.int64))
            break
        if max_generations is not None and generations >= max_generations:
            sizes[alive] = total
            durations[alive] = generations
            truncated[alive] = True
            break
        offspring = generator.poisson(m * current)
        total += offspring
        extinct = offspring == 0
        capped = total >= max_size
        ended = extinct | capped
        if profiles:
            living = ~extinct
            owners.append(alive[living])
            values.append(offspring[living])
        if ended.any():
            index = alive[ended]
            sizes[index] = total[ended]
            durations[index] = generations + capped[ended]  # a capped avalanche was active now
            truncated[index] = capped[ended]
            keep = ~ended
            alive, current, total = alive[keep], offspring[keep], total[keep]
        else:
            current = offspring
        generations += 1
    activity = None
    if profiles:
        owner = np.concatenate(owners)
        order = np.argsort(owner, kind="stable")  # generations were appended in order
        activity = np.concatenate(values)[order]
    return AvalancheSet(sizes=sizes, durations=durations, truncated=truncated, activity=activity)


_SCALAR_TAIL = 32


def _finish_one(
    generator: np.random.Generator,
    m: float,
    current: int,
    total: int,
    generations: int,
    max_size: int,
    max_generations: int | None,
    keep_trace: bool,
) -> tuple[int, int, bool, list[int]]:
    """Run one living Galton-Watson avalanche to its end with scalar draws (same rules as the batch)."""
    trace: list[int] = []
    while True:
        if max_generations is not None and generations >= max_generations:
            return total, generations, True, trace
        offspring = int(generator.poisson(m * current))
        if offspring == 0:
            return total, generations, False, trace
        total += offspring
        generations += 1
        if keep_trace:
            trace.append(offspring)
        if total >= max_size:
            return total, generations, True, trace
        current = offspring


def driven_branching_process(
    m: float,
    h: float,
    n_steps: int,
    n_units: int,
    rng: np.random.Generator | int | None = None,
    *,
    n_trials: int | None = None,
    initial: int | None = None,
) -> np.ndarray:
    """Activity time series of a driven branching network (Wilting & Priesemann 2018).

    ``n_units`` units; at each step each unit is active with probability
    ``min(1, (m A_t + h) / n_units)``, i.e. ``A_{t+1} ~ Binomial(n_units, (m A_t + h)/n_units)``,
    so ``E[A_{t+1} | A_t] = m A_t + h`` exactly as long as ``m A_t + h <= n_units``.  Below that
    bound the conditional mean is linear and multistep regression is unbiased; for m < 1 the
    stationary mean is ``h / (1 - m)`` (keep it well below n_units); for m >= 1 the mean grows
    (linearly at m = 1, geometrically above), so use finite trials short enough not to reach
    ``n_units`` (the model saturates there and the effective branching ratio drops).

    Args:
        m: branching ratio, >= 0.
        h: external drive (expected spontaneous activations per step), >= 0.
        n_steps: time steps per trial.
        n_units: number of units (upper bound on the activity).
        rng: numpy Generator or seed.
        n_trials: if given, return (n_trials, n_steps) independent trials; else (n_steps,).
        initial: activity at t = 0; default ``round(h / (1 - m))`` for m < 1, else ``round(h)``
            (at least 1).

    Returns:
        int64 activity, (n_steps,) or (n_trials, n_steps).
    """
    if not (np.isfinite(m) and m >= 0):
        raise ValueError(f"m must be a finite branching ratio >= 0, got {m!r}")
    if not (np.isfinite(h) and h >= 0):
        raise ValueError(f"h must be a finite drive >= 0, got {h!r}")
    n_steps = check_positive_int(n_steps, "n_steps")
    n_units = check_positive_int(n_units, "n_units")
    generator = as_rng(rng)
    shape = (1,) if n_trials is None else (check_positive_int(n_trials, "n_trials"),)
    if initial is None:
        initial = int(round(h / (1.0 - m))) if m < 1 else max(1, int(round(h)))
    if not 0 <= initial <= n_units:
        raise ValueError(f"initial must lie in [0, n_units={n_units}], got {initial!r}")
    out = np.empty((shape[0], n_steps), dtype=np.int64)
    if n_trials is None:  # one series: scalar draws (~2 us) beat size-1 array draws (~30 us)
        level = int(initial)
        out[0, 0] = level
        binomial = generator.binomial
        for t in range(1, n_steps):
            level = binomial(n_units, min(1.0, (m * level + h) / n_units))
            out[0, t] = level
        return out[0]
    current = np.full(shape, initial, dtype=np.int64)
    out[:, 0] = current
    for t in range(1, n_steps):
        probability = np.minimum(1.0, (m * current + h) / n_units)
        current = generator.binomial(n_units, probability)
        out[:, t] = current
    return out


def subsample(
    data: ArrayLike | ActivityRecorder,
    fraction: float,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray | ActivityRecorder:
    """Observe only a ``fraction`` of the units.

    * integer activity counts (any shape): binomial thinning, each event kept with probability
      ``fraction`` -- for exchangeable units this is the activity of a random subset of units;
    * an ``ActivityRecorder``: a new recorder holding only the events of a random subset of the
      units (``(column, cell)`` pairs) that fired, each kept with probability ``fraction``.
    """
    fraction = check_fraction(fraction, "fraction")
    generator = as_rng(rng)
    if isinstance(data, ActivityRecorder):
        events = data.events()
        units, inverse = np.unique(
            np.stack((events["column"], events["cell"]), axis=1), axis=0, return_inverse=True
        )
        observed = generator.random(units.shape[0]) < fraction
        keep = observed[inverse.reshape(-1)]
        return data.filtered(keep)
    values = np.asarray(data)
    if values.dtype.kind not in "iu":
        raise ValueError(f"activity to subsample must be integer counts, got dtype {values.dtype}")
    if values.size and values.min() < 0:
        raise ValueError(f"activity counts must be >= 0, got minimum {values.min()}")
    return generator.binomial(values, fraction).astype(np.int64)
