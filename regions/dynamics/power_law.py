"""Discrete power-law fits for avalanche sizes and durations (Clauset, Shalizi & Newman 2009).

A discrete power law on the integers ``x >= x_min`` has the probability mass function

    p(x) = x**(-tau) / zeta(tau, x_min)

with ``zeta`` the Hurwitz zeta function.  Two estimators of ``tau`` are offered:

* ``"approx"``: ``tau = 1 + n / sum(ln(x / (x_min - 1/2)))`` -- the continuous MLE with the
  half-integer shift; accurate to ~1 % for ``x_min >~ 6``, biased for ``x_min`` of 1 or 2;
* ``"exact"``: the maximiser of the discrete likelihood ``-n ln zeta(tau, x_min) - tau sum ln x``
  (the default), found by a vectorised golden-section search (the negative log-likelihood is
  convex in ``tau``).

``x_min`` is the candidate that minimises the Kolmogorov-Smirnov distance between the empirical
tail and the fitted law.  The scan is vectorised over every candidate at once: the data are sorted
once, tail counts and ``sum ln x`` come from cumulative sums, the exponent of every candidate is
fitted in one batched search, and the KS distance of every candidate is evaluated over all
distinct values of its tail with an Euler-Maclaurin Hurwitz zeta (a handful of numpy operations
per (candidate, value) pair).  On 1e5 critical avalanche sizes (~3 500 distinct values) the whole
scan takes a fraction of a second.

The KS distance used is the supremum over *all integers* of ``|F_data - F_model|`` (both CDFs
``P(X <= x)``), i.e. each gap between consecutive distinct observations is checked at both ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ._validation import as_positive_integers, as_rng, check_positive_int

__all__ = [
    "PowerLawFit",
    "BootstrapResult",
    "hurwitz_zeta",
    "log_hurwitz_zeta",
    "power_law_exponent",
    "fit_power_law",
    "power_law_log_pmf",
    "sample_discrete_power_law",
    "bootstrap_goodness_of_fit",
]

Method = Literal["exact", "approx"]

_INV_PHI = (np.sqrt(5.0) - 1.0) / 2.0
_TAU_FLOOR = 1.0 + 1e-7
_BLOCK_ELEMENTS = 1 << 20  # (candidate, value) pairs evaluated per KS block


# --------------------------------------------------------------------------------------------
# Hurwitz zeta
# --------------------------------------------------------------------------------------------


def _em_threshold(s: np.ndarray) -> np.ndarray:
    """Smallest ``a`` at which the 4-term Euler-Maclaurin expansion is accurate to ~1e-9."""
    return 10.0 + 2.0 * s


def _em_series(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``zeta(s, a) * a**s`` by a four-term Euler-Maclaurin expansion (valid for a >= 10 + 2 s)."""
    inv_a = 1.0 / a
    inv_a2 = inv_a * inv_a
    s1 = s * (s + 1.0) * (s + 2.0)
    return (
        a / (s - 1.0)
        + 0.5
        + inv_a * (s / 12.0 - inv_a2 * (s1 / 720.0 - inv_a2 * s1 * (s + 3.0) * (s + 4.0) / 30240.0))
    )


def _zeta_em(s: np.ndarray, a: np.ndarray, a_pow: np.ndarray) -> np.ndarray:
    """Euler-Maclaurin Hurwitz zeta ``zeta(s, a)`` given ``a_pow = a**(-s)`` (valid for large a)."""
    return a_pow * _em_series(s, a)


def hurwitz_zeta(s: ArrayLike, a: ArrayLike) -> np.ndarray:
    """Hurwitz zeta ``sum_{k>=0} (k + a)**(-s)`` for ``s > 1``, ``a > 0`` (broadcast, float64).

    Uses scipy.special.zeta where ``a < 10 + 2 s`` and a four-term Euler-Maclaurin expansion
    elsewhere (relative error < 1e-9, about 8x faster than scipy on large arrays).
    """
    s_arr, a_arr = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(a, dtype=np.float64))
    out = np.empty(s_arr.shape, dtype=np.float64)
    small = a_arr < _em_threshold(s_arr)
    if np.any(small):
        out[small] = special.zeta(s_arr[small], a_arr[small])
    large = ~small
    if np.any(large):
        sl, al = s_arr[large], a_arr[large]
        out[large] = _zeta_em(sl, al, np.exp(-sl * np.log(al)))
    return out


def log_hurwitz_zeta(s: ArrayLike, a: ArrayLike) -> np.ndarray:
    """``ln zeta(s, a)`` without underflow for large ``s`` and ``a`` (broadcast, float64)."""
    s_arr, a_arr = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(a, dtype=np.float64))
    out = np.empty(s_arr.shape, dtype=np.float64)
    small = a_arr < _em_threshold(s_arr)
    if np.any(small):
        out[small] = np.log(special.zeta(s_arr[small], a_arr[small]))
    large = ~small
    if np.any(large):
        sl, al = s_arr[large], a_arr[large]
        out[large] = np.log(_em_series(sl, al)) - sl * np.log(al)
    return out


# --------------------------------------------------------------------------------------------
# Exponent estimators
# --------------------------------------------------------------------------------------------


def _approx_exponents(x_min: np.ndarray, n_tail: np.ndarray, sum_log: np.ndarray) -> np.ndarray:
    """``1 + n / sum ln(x / (x_min - 1/2))`` for each candidate (vectorised)."""
    denominator = sum_log - n_tail * np.log(x_min - 0.5)
    with np.errstate(divide="ignore"):
        return 1.0 + n_tail / denominator


def _exact_exponents(x_min: np.ndarray, mean_log: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Discrete MLE of tau for each candidate: argmin ln zeta(tau, x_min) + tau * mean_log.

    The objective is convex in tau (ln zeta is a log-sum-exp of functions linear in tau), so a
    golden-section search on [1 + 1e-7, upper] converges to the global minimum; all candidates
    are searched together (one Hurwitz-zeta evaluation per candidate per iteration).
    """
    lo = np.full_like(mean_log, _TAU_FLOOR)
    hi = upper.astype(np.float64).copy()

    def objective(tau: np.ndarray) -> np.ndarray:
        return log_hurwitz_zeta(tau, x_min) + tau * mean_log

    c = hi - _INV_PHI * (hi - lo)
    d = lo + _INV_PHI * (hi - lo)
    fc, fd = objective(c), objective(d)
    width = float(np.max(hi - lo)) if hi.size else 0.0
    n_iter = int(np.ceil(np.log(1e-11 / max(width, 1e-11)) / np.log(_INV_PHI))) + 1
    for _ in range(max(n_iter, 1)):
        left = fc < fd
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        new = np.where(left, hi - _INV_PHI * (hi - lo), lo + _INV_PHI * (hi - lo))
        f_new = objective(new)
        c, d, fc, fd = (
            np.where(left, new, d),
            np.where(left, c, new),
            np.where(left, f_new, fd),
            np.where(left, fc, f_new),
        )
    return 0.5 * (lo + hi)


def _upper_bounds(approx: np.ndarray) -> np.ndarray:
    safe = np.where(np.isfinite(approx), approx, 50.0)
    return np.clip(2.0 * safe + 1.0, 6.0, 100.0)


def power_law_exponent(x: ArrayLike, x_min: int, method: Method = "exact") -> float:
    """Exponent tau of a discrete power law fitted to the values ``x >= x_min`` of ``x``.

    Args:
        x: positive integers (sizes or durations), any shape.
        x_min: lower bound of the power-law tail (>= 1).
        method: ``"exact"`` (discrete MLE, Hurwitz zeta) or ``"approx"`` (continuous formula
            with the half-integer shift).
    """
    values = as_positive_integers(x, "x")
    x_min = check_positive_int(x_min, "x_min")
    tail = values[values >= x_min]
    if tail.size == 0:
        raise ValueError(f"x_min={x_min} leaves no data in the tail (max(x)={values.max()})")
    n = np.array([float(tail.size)])
    sum_log = np.array([float(np.log(tail).sum())])
    xm = np.array([float(x_min)])
    approx = _approx_exponents(xm, n, sum_log)
    if method == "approx":
        return float(approx[0])
    if method != "exact":
        raise ValueError(f"method must be 'exact' or 'approx', got {method!r}")
    return float(_exact_exponents(xm, sum_log / n, _upper_bounds(approx))[0])


# --------------------------------------------------------------------------------------------
# KS scan over x_min candidates
# --------------------------------------------------------------------------------------------


def _scaled_zeta_pairs(
    tau: np.ndarray, u: np.ndarray, log_u: np.ndarray, log_u0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``zeta(tau, u) * u0**tau`` and ``(u / u0)**(-tau)`` for broadcast pairs (u >= u0).

    Scaling by ``u0**-tau`` (u0: the candidate's x_min) keeps steep laws from underflowing;
    Euler-Maclaurin where accurate, scipy elsewhere (there u0 <= u is small, so no underflow).
    """
    rel_pow = np.exp(-tau * (log_u - log_u0))
    zeta_u = rel_pow * _em_series(tau, u)
    small = u < _em_threshold(tau)
    if np.any(small):
        shape = small.shape
        tau_b = np.broadcast_to(tau, shape)[small]
        zeta_u[small] = special.zeta(tau_b, np.broadcast_to(u, shape)[small]) * np.exp(
            tau_b * np.broadcast_to(log_u0, shape)[small]
        )
    return zeta_u, rel_pow


def _gaps(
    zeta_u: np.ndarray,
    a_pow: np.ndarray,
    zeta_next: np.ndarray,
    inv_z0: np.ndarray,
    cum_i: np.ndarray,
    below: np.ndarray,
    inv_n_tail: np.ndarray,
) -> np.ndarray:
    """|F_data - F_model| at u_i and just before the next distinct value (both CDFs P(X <= x))."""
    empirical = (cum_i - below) * inv_n_tail
    cdf_at = 1.0 - (zeta_u - a_pow) * inv_z0
    cdf_before_next = 1.0 - zeta_next * inv_z0
    return np.maximum(np.abs(empirical - cdf_at), np.abs(empirical - cdf_before_next))


class _TailTable:
    """Sorted distinct values of a sample with cumulative counts, shared by the KS routines."""

    def __init__(self, u: np.ndarray, cum: np.ndarray, n_total: int) -> None:
        self.u = u.astype(np.float64)
        self.log_u = np.log(self.u)
        self.cum = cum
        self.n_total = n_total
        self.below = np.concatenate(([0], cum[:-1]))  # observations < u_j

    def scaled_z0(self, cand: np.ndarray, taus: np.ndarray) -> np.ndarray:
        """``zeta(tau, x_min) * x_min**tau`` per candidate (the normaliser of the scaled pairs)."""
        log_u0 = self.log_u[cand]
        return _scaled_zeta_pairs(taus, self.u[cand], log_u0, log_u0)[0]

    def exact(self, cand: np.ndarray, taus: np.ndarray, z0: np.ndarray) -> np.ndarray:
        """Exact KS distance of each candidate (sorted ascending) over all distinct values >= x_min."""
        k = self.u.size
        out = np.empty(cand.size, dtype=np.float64)
        start = 0
        while start < cand.size:
            j0 = int(cand[start])
            rows = max(1, _BLOCK_ELEMENTS // (k - j0))
            stop = min(cand.size, start + rows)
            js = cand[start:stop]
            tau = taus[start:stop, None]
            zeta_u, a_pow = _scaled_zeta_pairs(tau, self.u[None, j0:], self.log_u[None, j0:],
                                               self.log_u[js][:, None])
            zeta_next = np.zeros_like(zeta_u)  # P(X <= inf) = 1 after the last value
            zeta_next[:, :-1] = zeta_u[:, 1:]
            below = self.below[js][:, None]
            gap = _gaps(zeta_u, a_pow, zeta_next, 1.0 / z0[start:stop, None], self.cum[None, j0:], below,
                        1.0 / (self.n_total - below))
            gap[np.arange(j0, k)[None, :] < js[:, None]] = 0.0
            out[start:stop] = gap.max(axis=1)
            start = stop
        return out

    def lower_bounds(self, cand: np.ndarray, taus: np.ndarray, z0: np.ndarray) -> np.ndarray:
        """KS distance of each candidate restricted to ~80 of its tail values (a lower bound).

        The values are the first 16 of the tail and 64 log-spaced in rank up to the largest.
        """
        k = self.u.size
        span = (k - cand).astype(np.float64)[:, None]
        ranks = np.round(span ** np.linspace(0.0, 1.0, 64)[None, :]) - 1.0
        offsets = np.concatenate((np.broadcast_to(np.arange(16.0), (cand.size, 16)), ranks), axis=1)
        index = np.minimum(cand[:, None] + offsets.astype(np.int64), k - 1)
        nxt = np.minimum(index + 1, k - 1)
        tau = taus[:, None]
        log_u0 = self.log_u[cand][:, None]
        zeta_u, a_pow = _scaled_zeta_pairs(tau, self.u[index], self.log_u[index], log_u0)
        zeta_next, _ = _scaled_zeta_pairs(tau, self.u[nxt], self.log_u[nxt], log_u0)
        zeta_next[index == k - 1] = 0.0
        below = self.below[cand][:, None]
        gap = _gaps(zeta_u, a_pow, zeta_next, 1.0 / z0[:, None], self.cum[index], below,
                    1.0 / (self.n_total - below))
        return gap.max(axis=1)

    def best(self, cand: np.ndarray, taus: np.ndarray, chunk: int = 32) -> tuple[int, float]:
        """(position in cand, KS) of the candidate with the smallest exact KS distance.

        Candidates are visited in order of their lower bound and the scan stops as soon as the
        next lower bound is no better than the best exact distance found: the result is the
        exact minimiser, but only near-optimal candidates pay for a full-tail evaluation.
        """
        z0 = self.scaled_z0(cand, taus)
        bounds = self.lower_bounds(cand, taus, z0)
        order = np.argsort(bounds, kind="stable")
        best_pos, best_ks = -1, np.inf
        for start in range(0, order.size, chunk):
            block = order[start : start + chunk]
            if bounds[block[0]] >= best_ks:
                break
            block = np.sort(block)
            distances = self.exact(cand[block], taus[block], z0[block])
            i = int(np.argmin(distances))
            if distances[i] < best_ks or (distances[i] == best_ks and block[i] < best_pos):
                best_pos, best_ks = int(block[i]), float(distances[i])
        return best_pos, best_ks


@dataclass(frozen=True)
class PowerLawFit:
    """A discrete power law fitted to the tail ``x >= x_min`` of a sample.

    Attributes:
        exponent: tau (dimensionless), ``p(x) ~ x**(-tau)``.
        x_min: lower bound of the fitted tail (same units as the data: events, bins).
        n_tail: number of observations ``>= x_min``.
        ks: Kolmogorov-Smirnov distance between the tail and the fitted law.
        sigma: standard error ``(tau - 1) / sqrt(n_tail)``.
        n: total number of observations (tail and body).
        method: ``"exact"`` or ``"approx"`` (the exponent estimator used).
        log_likelihood: tail log-likelihood ``-n_tail ln zeta(tau, x_min) - tau sum ln x`` (nats).
    """

    exponent: float
    x_min: int
    n_tail: int
    ks: float
    sigma: float
    n: int
    method: str
    log_likelihood: float

    def log_pmf(self, x: ArrayLike) -> np.ndarray:
        """ln p(x) of the fitted law for integers ``x >= x_min`` (-inf below x_min)."""
        return power_law_log_pmf(x, self.exponent, self.x_min)


def power_law_log_pmf(x: ArrayLike, exponent: float, x_min: int) -> np.ndarray:
    """``ln p(x) = -tau ln x - ln zeta(tau, x_min)`` for ``x >= x_min`` and -inf below."""
    values = np.asarray(x, dtype=np.float64)
    log_norm = float(log_hurwitz_zeta(exponent, float(x_min)))
    with np.errstate(divide="ignore"):
        out = -exponent * np.log(values) - log_norm
    return np.where(values >= x_min, out, -np.inf)


def _candidate_indices(
    u: np.ndarray,
    n_tail: np.ndarray,
    min_tail: int,
    x_min_range: tuple[int, int] | None,
    max_candidates: int | None,
) -> np.ndarray:
    ok = n_tail >= min_tail
    ok[-1] = False  # a tail of one distinct value has no shape to test
    if x_min_range is not None:
        low, high = x_min_range
        ok &= (u >= low) & (u <= high)
    cand = np.flatnonzero(ok)
    if max_candidates is not None and cand.size > max_candidates:
        picks = np.unique(np.round(np.geomspace(1, cand.size, max_candidates)).astype(np.int64) - 1)
        cand = cand[picks]
    return cand


def fit_power_law(
    x: ArrayLike,
    *,
    x_min: int | None = None,
    method: Method = "exact",
    min_tail: int = 10,
    x_min_range: tuple[int, int] | None = None,
    max_candidates: int | None = None,
) -> PowerLawFit:
    """Fit a discrete power law, choosing ``x_min`` by minimum KS distance (Clauset et al. 2009).

    Args:
        x: positive integers (avalanche sizes or durations), any shape.
        x_min: fix the tail's lower bound instead of scanning for it.
        method: exponent estimator, ``"exact"`` (discrete MLE, default) or ``"approx"``; the same
            estimator is used in the scan and for the returned exponent.
        min_tail: candidates must leave at least this many observations in the tail.
        x_min_range: optional inclusive ``(low, high)`` bounds on the scanned candidates.
        max_candidates: cap on the number of candidates (log-spaced in rank, so all the small
            values are kept); ``None`` scans every distinct value.  Only needed for data with
            very many distinct values: the scan costs (candidates x distinct values) operations.

    Returns:
        PowerLawFit(exponent, x_min, n_tail, ks, sigma, n, method, log_likelihood).

    Finite-size note: for a sample drawn with a cut-off (e.g. simulated avalanches stopped at a
    maximal size), censored values at the cut-off enter as if exact; keep the cut-off far above
    the bulk (see ``galton_watson_avalanches``) so that their weight in ``sum ln x`` is negligible.
    """
    if method not in ("exact", "approx"):
        raise ValueError(f"method must be 'exact' or 'approx', got {method!r}")
    values = as_positive_integers(x, "x")
    min_tail = check_positive_int(min_tail, "min_tail", minimum=2)
    if max_candidates is not None:
        max_candidates = check_positive_int(max_candidates, "max_candidates")
    u, counts = np.unique(values, return_counts=True)
    cum = np.cumsum(counts)
    n_total = int(values.size)
    below = np.concatenate(([0], cum[:-1]))
    n_tail_all = n_total - below
    log_u = np.log(u.astype(np.float64))
    sum_log_all = np.cumsum((counts * log_u)[::-1])[::-1]  # sum of ln x over x >= u_j

    if x_min is not None:
        x_min = check_positive_int(x_min, "x_min")
        j = int(np.searchsorted(u, x_min, side="left"))
        if j >= u.size:
            raise ValueError(f"x_min={x_min} leaves no data in the tail (max(x)={u[-1]})")
        # the tail starts at the fixed x_min, even if x_min itself was never observed
        n_tail_j = n_tail_all[j : j + 1].astype(np.float64)
        sum_log_j = sum_log_all[j : j + 1]
        xm = np.array([float(x_min)])
        approx = _approx_exponents(xm, n_tail_j, sum_log_j)
        tau = approx if method == "approx" else _exact_exponents(xm, sum_log_j / n_tail_j, _upper_bounds(approx))
        tail_u = np.concatenate(([x_min], u[j:])) if u[j] != x_min else u[j:]
        tail_counts = np.concatenate(([0], counts[j:])) if u[j] != x_min else counts[j:]
        table = _TailTable(tail_u, np.cumsum(tail_counts), int(n_tail_j[0]))
        ks = float(table.exact(np.array([0]), tau, table.scaled_z0(np.array([0]), tau))[0])
        return _make_fit(float(tau[0]), x_min, int(n_tail_j[0]), ks, n_total, method, float(sum_log_j[0]))

    cand = _candidate_indices(u, n_tail_all, min_tail, x_min_range, max_candidates)
    if cand.size == 0:
        raise ValueError(
            f"no x_min candidate leaves min_tail={min_tail} observations over at least two distinct "
            f"values (n={n_total}, distinct values={u.size}); pass x_min or lower min_tail"
        )
    xm = u[cand].astype(np.float64)
    n_tail_c = n_tail_all[cand].astype(np.float64)
    sum_log_c = sum_log_all[cand]
    approx = _approx_exponents(xm, n_tail_c, sum_log_c)
    if method == "approx":
        taus = approx
    else:
        taus = _exact_exponents(xm, sum_log_c / n_tail_c, _upper_bounds(approx))
    valid = np.isfinite(taus) & (taus > 1.0 + 1e-6) & (taus < 0.999 * _upper_bounds(approx))
    if not np.any(valid):
        raise ValueError("no x_min candidate gives a normalisable power law (tau > 1)")
    positions = np.flatnonzero(valid)
    table = _TailTable(u, cum, n_total)
    pick, ks = table.best(cand[valid], taus[valid])
    best = int(positions[pick])
    return _make_fit(float(taus[best]), int(u[cand[best]]), int(n_tail_c[best]), ks,
                     n_total, method, float(sum_log_c[best]))


def _make_fit(tau: float, x_min: int, n_tail: int, ks: float, n: int, method: str, sum_log: float) -> PowerLawFit:
    log_likelihood = -n_tail * float(log_hurwitz_zeta(tau, float(x_min))) - tau * sum_log
    return PowerLawFit(
        exponent=tau,
        x_min=x_min,
        n_tail=n_tail,
        ks=ks,
        sigma=(tau - 1.0) / np.sqrt(n_tail),
        n=n,
        method=method,
        log_likelihood=float(log_likelihood),
    )


# --------------------------------------------------------------------------------------------
# Sampling and bootstrap goodness of fit
# --------------------------------------------------------------------------------------------

_MAX_SAMPLE = float(2**62)


def sample_discrete_power_law(
    exponent: float,
    x_min: int,
    size: int,
    rng: np.random.Generator | int | None = None,
    *,
    table_size: int = 10_000,
) -> np.ndarray:
    """Draw ``size`` integers from ``p(x) = x**(-tau) / zeta(tau, x_min)``, ``x >= x_min``.

    Inverse-CDF sampling, vectorised: the complementary CDF ``P(X >= x)`` is tabulated once for
    ``x_min <= x <= x_min + table_size`` (exact, Hurwitz zeta) and looked up with searchsorted;
    the rare draws beyond the table use the continuous approximation
    ``x = floor((x0 - 1/2) v**(-1/(tau-1)) + 1/2)`` (relative error O(1/x0**2)).  Draws are
    clipped at 2**62 to stay in int64.
    """
    if not exponent > 1.0:
        raise ValueError(f"exponent must be > 1 for a normalisable power law, got {exponent!r}")
    x_min = check_positive_int(x_min, "x_min")
    size = check_positive_int(size, "size", minimum=0)
    table_size = check_positive_int(table_size, "table_size")
    generator = as_rng(rng)
    grid = x_min + np.arange(table_size + 1, dtype=np.float64)
    ccdf = np.exp(log_hurwitz_zeta(exponent, grid) - log_hurwitz_zeta(exponent, float(x_min)))
    v = 1.0 - generator.random(size)  # in (0, 1]
    count = np.searchsorted(-ccdf, -v, side="right")  # number of table entries with ccdf >= v
    out = (x_min + count - 1).astype(np.float64)
    beyond = count > table_size
    if np.any(beyond):
        x0 = float(grid[-1])
        scaled = v[beyond] / ccdf[-1]
        out[beyond] = np.floor((x0 - 0.5) * scaled ** (-1.0 / (exponent - 1.0)) + 0.5)
    return np.minimum(out, _MAX_SAMPLE).astype(np.int64)


@dataclass(frozen=True)
class BootstrapResult:
    """Semi-parametric bootstrap goodness of fit (Clauset et al. 2009, section 4.1).

    Attributes:
        p_value: fraction of synthetic data sets whose KS distance (after their own x_min scan
            and fit) is at least the observed one; the power law is ruled out when p <= 0.1.
        ks: KS distance of the observed fit.
        ks_synthetic: (n_boot,) KS distances of the synthetic fits.
    """

    p_value: float
    ks: float
    ks_synthetic: np.ndarray


def bootstrap_goodness_of_fit(
    x: ArrayLike,
    fit: PowerLawFit | None = None,
    *,
    n_boot: int = 100,
    rng: np.random.Generator | int | None = None,
    method: Method = "exact",
    min_tail: int = 10,
    max_candidates: int | None = None,
) -> BootstrapResult:
    """Goodness-of-fit p-value of a power-law fit by the semi-parametric bootstrap.

    Each synthetic set has the size ``n`` of the data: ``Binomial(n, n_tail/n)`` draws from the
    fitted power law (vectorised inverse CDF), the rest resampled from the observed values below
    ``x_min``; each set goes through the same x_min scan and fit as the data.  The p-value's
    resolution is ``1/n_boot`` (Clauset et al. suggest n_boot ~ 2500 for +-0.01).
    """
    values = as_positive_integers(x, "x")
    n_boot = check_positive_int(n_boot, "n_boot")
    generator = as_rng(rng)
    options = dict(method=method, min_tail=min_tail, max_candidates=max_candidates)
    if fit is None:
        fit = fit_power_law(values, **options)
    body = values[values < fit.x_min]
    n = values.size
    synthetic = np.empty(n_boot, dtype=np.float64)
    for b in range(n_boot):
        n_tail = int(generator.binomial(n, fit.n_tail / n)) if body.size else n
        tail = sample_discrete_power_law(fit.exponent, fit.x_min, n_tail, generator)
        head = generator.choice(body, size=n - n_tail, replace=True) if n - n_tail else body[:0]
        try:
            synthetic[b] = fit_power_law(np.concatenate((head, tail)), **options).ks
        except ValueError:
            synthetic[b] = np.inf  # degenerate synthetic set: counts as a worse fit
    p_value = float(np.mean(synthetic >= fit.ks))
    return BootstrapResult(p_value=p_value, ks=fit.ks, ks_synthetic=synthetic)
