"""Alternatives to the power law and likelihood-ratio tests (Clauset, Shalizi & Newman 2009, sec. 5).

All alternatives are *discrete* distributions on the same tail ``x >= x_min`` as the power-law
fit, so their likelihoods are comparable:

* ``lognormal``: ``p(x) = [Phi(z(x + 1/2)) - Phi(z(x - 1/2))] / [1 - Phi(z(x_min - 1/2))]``,
  ``z(y) = (ln y - mu) / sigma`` (a continuous lognormal integrated over unit bins);
* ``exponential``: the geometric law ``p(x) = (1 - q) q**(x - x_min)``, ``q = exp(-lambda)``
  (exactly an exponential integrated over unit bins), closed-form MLE;
* ``truncated_power_law``: ``p(x) = x**(-tau) exp(-lambda x) / Z(tau, lambda, x_min)``; Z is
  summed directly over 1000 integers from x_min and the rest by Euler-Maclaurin with the
  incomplete-gamma integral ``lambda**(tau-1) Gamma(1 - tau, lambda X0)``.

Comparison: ``R = sum ln p_powerlaw(x_i) - sum ln p_alternative(x_i)`` (> 0 favours the power
law).  Non-nested alternatives (lognormal, exponential) use Vuong's normalised ratio,
``p = erfc(|R| / (sigma sqrt(2 n)))`` with sigma the standard deviation of the pointwise log
ratios; the nested one (the power law is the truncated power law at lambda = 0) uses Wilks,
``p = P(chi2_1 >= 2 |R|)`` (conservative: lambda = 0 sits on the boundary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from ._validation import as_positive_integers
from .power_law import PowerLawFit, fit_power_law, power_law_log_pmf

__all__ = [
    "TailFit",
    "Comparison",
    "fit_lognormal",
    "fit_exponential",
    "fit_truncated_power_law",
    "compare_distributions",
    "preferred_distribution",
    "ALTERNATIVES",
]

ALTERNATIVES = ("lognormal", "exponential", "truncated_power_law")
_NESTED = {"truncated_power_law"}
_DIRECT_TERMS = 1000


@dataclass(frozen=True)
class TailFit:
    """A discrete distribution fitted to the tail ``x >= x_min``.

    Attributes:
        name: ``"power_law"``, ``"lognormal"``, ``"exponential"`` or ``"truncated_power_law"``.
        x_min: lower bound of the tail.
        parameters: fitted parameters (``tau``; ``mu``, ``sigma``; ``lambda``; ``tau``, ``lambda``).
        log_likelihood: total log-likelihood of the tail sample (nats).
    """

    name: str
    x_min: int
    parameters: dict[str, float] = field(default_factory=dict)
    log_likelihood: float = float("nan")

    def log_pmf(self, x: ArrayLike) -> np.ndarray:
        """ln p(x) for integers ``x >= x_min`` (-inf below)."""
        values = np.asarray(x, dtype=np.float64)
        p = self.parameters
        if self.name == "power_law":
            return power_law_log_pmf(values, p["tau"], self.x_min)
        if self.name == "lognormal":
            out = _lognormal_log_pmf(values, self.x_min, p["mu"], p["sigma"])
        elif self.name == "exponential":
            out = _geometric_log_pmf(values, self.x_min, p["lambda"])
        elif self.name == "truncated_power_law":
            out = _tpl_log_pmf(values, self.x_min, p["tau"], p["lambda"])
        else:  # pragma: no cover - guarded by the constructors
            raise ValueError(f"unknown distribution {self.name!r}")
        return np.where(values >= self.x_min, out, -np.inf)


class Comparison(NamedTuple):
    """Power law versus one alternative on the same tail.

    R: log-likelihood ratio ``LL(power law) - LL(alternative)`` in nats (> 0 favours the power law).
    p: significance of the sign of R (Vuong for non-nested, Wilks chi2(1) for nested).
    preferred: ``"power_law"``, the alternative's name, or ``"inconclusive"`` (non-nested, p >= significance).
    """

    R: float
    p: float
    preferred: str


def _tail(x: ArrayLike, x_min: int) -> tuple[np.ndarray, np.ndarray]:
    values = as_positive_integers(x, "x")
    tail = values[values >= x_min]
    if tail.size == 0:
        raise ValueError(f"x_min={x_min} leaves no data in the tail (max(x)={values.max()})")
    u, w = np.unique(tail, return_counts=True)
    return u.astype(np.float64), w.astype(np.float64)


# ------------------------------------------------------------------------------------ lognormal


def _log_ndtr_difference(a: np.ndarray, b: np.ndarray, width: np.ndarray | None = None) -> np.ndarray:
    """ln(Phi(b) - Phi(a)) for b > a, accurate in both tails and for narrow intervals.

    Intervals narrower than 1e-3 use the midpoint expansion
    ``h phi(m) [1 + h**2 (m**2 - 1)/24 + h**4 (m**4 - 6 m**2 + 3)/1920]`` (h = b - a, m the
    midpoint): the difference of two nearly equal tail probabilities would lose ~6 digits there.
    ``width``, when given, is ``b - a`` computed without cancellation (else ``b - a``).
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    upper = a > 0
    hi = np.where(upper, special.log_ndtr(-a), special.log_ndtr(b))
    lo = np.where(upper, special.log_ndtr(-b), special.log_ndtr(a))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(hi + np.log(-np.expm1(lo - hi)))
        h = b - a if width is None else np.broadcast_to(np.asarray(width, dtype=np.float64), a.shape)
        narrow = h < 1e-3
        if np.any(narrow):
            hn = h[narrow]
            m = a[narrow] + 0.5 * hn
            m2, h2 = m * m, hn * hn
            series = np.log1p(h2 * (m2 - 1.0) / 24.0 + h2 * h2 * (m2 * m2 - 6.0 * m2 + 3.0) / 1920.0)
            out = out.copy()
            out[narrow] = np.log(hn) - 0.5 * m2 - _LOG_SQRT_2PI + series
        return out


def _lognormal_log_pmf(x: np.ndarray, x_min: int, mu: float, sigma: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = (np.log(x + 0.5) - mu) / sigma
        lower = (np.log(np.maximum(x - 0.5, 1e-300)) - mu) / sigma
        width = np.log1p(1.0 / np.maximum(x - 0.5, 1e-300)) / sigma
        norm = special.log_ndtr(-(np.log(x_min - 0.5) - mu) / sigma)
        return _log_ndtr_difference(lower, upper, width) - norm


_LOG_SQRT_2PI = 0.5 * float(np.log(2.0 * np.pi))
# ln b = ln(1 / (2 sigma**2)) is searched in [ln 1e-10, ln 1e6] (sigma from 7e4 down to 7e-4)
_LOG_B_BOUNDS = (float(np.log(1e-10)), float(np.log(1e6)))
_AGREEMENT = 1e-10  # nats per observation within which two starts count as the same optimum


class _LognormalObjective:
    """Mean negative log-likelihood of the binned lognormal in natural parameters, with gradient.

    ``theta = (a, ln b)`` with ``a = mu / sigma**2`` and ``b = 1 / (2 sigma**2)``: the log-density
    ``-ln x + a ln x - b (ln x)**2 + const`` is linear in (a, b), so the likelihood surface has no
    curved ridge -- in (mu, sigma) a heavy tail gives a long, nearly flat, curved valley
    (mu -> -inf, sigma -> inf along mu ~ -sigma**2 (tau - 1)) in which generic optimisers stop
    early.  Values are per observation so that tolerances do not scale with the sample size.
    """

    def __init__(self, u: np.ndarray, w: np.ndarray, x_min: int) -> None:
        self.w = w / w.sum()
        self.log_hi = np.log(u + 0.5)
        self.log_lo = np.log(u - 0.5)
        self.log_width = np.log1p(1.0 / (u - 0.5))  # ln(u + 1/2) - ln(u - 1/2) without cancellation
        self.log_x0 = float(np.log(x_min - 0.5))

    @staticmethod
    def natural_to_mu_sigma(theta: np.ndarray) -> tuple[float, float]:
        b = float(np.exp(theta[1]))
        sigma = 1.0 / np.sqrt(2.0 * b)
        return float(theta[0]) * sigma * sigma, float(sigma)

    @staticmethod
    def mu_sigma_to_natural(mu: float, sigma: float) -> np.ndarray:
        return np.array([mu / sigma**2, -np.log(2.0 * sigma**2)])

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, log_b = float(theta[0]), float(theta[1])
        r = np.sqrt(2.0 * np.exp(log_b))  # 1 / sigma
        c = a / r  # mu / sigma
        zu = r * self.log_hi - c
        zl = r * self.log_lo - c
        z0 = r * self.log_x0 - c
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_d = _log_ndtr_difference(zl, zu, r * self.log_width)
            log_norm = float(special.log_ndtr(-z0))
            value = -(float(np.dot(self.w, log_d)) - log_norm)
            if not np.isfinite(value):
                return 1e300, np.zeros(2)
            # d ln(Phi(zu) - Phi(zl)) = [phi(zu) dzu - phi(zl) dzl] / (Phi(zu) - Phi(zl)) with
            # dz/da = -1/r and dz/d(ln b) = z/2 + c.  With h = zu - zl: phi(zu) = phi(zl) e**(-h m)
            # (m the midpoint), so gu - gl and gu zu - gl zl = (gu - gl) zl + gu h are formed
            # without cancelling the two large ratios of a narrow bin.
            h = r * self.log_width
            gl = np.exp(-0.5 * zl * zl - _LOG_SQRT_2PI - log_d)
            g_diff = gl * np.expm1(-h * (zl + 0.5 * h))  # gu - gl
            gu = gl + g_diff
            g0 = float(np.exp(-0.5 * z0 * z0 - _LOG_SQRT_2PI - log_norm))  # phi(z0) / (1 - Phi(z0))
            # far from the optimum the two terms can both overflow (inf - inf): no gradient there
            d_a = -float(np.dot(self.w, g_diff)) / r - g0 / r
            d_b = float(np.dot(self.w, g_diff * (0.5 * zl + c) + 0.5 * gu * h)) + g0 * (0.5 * z0 + c)
        gradient = -np.array([d_a, d_b])
        if not np.all(np.isfinite(gradient)):
            return value, np.zeros(2)
        return value, gradient


def fit_lognormal(x: ArrayLike, x_min: int) -> TailFit:
    """Discrete (binned) lognormal MLE on ``x >= x_min``, at its maximum.

    The search runs in natural parameters (``a = mu / sigma**2``, ``ln b = ln 1/(2 sigma**2)``)
    with the analytic gradient, L-BFGS-B from several starts (moments of ``ln x``; the slope of
    the power-law fit at several curvatures, which reaches heavy tails with very negative mu)
    until two starts agree on the best optimum (else all starts run and the best is kept).  ``sigma`` is
    searched in [7e-4, 7e4]; a tail indistinguishable from a power law ends at the large-sigma
    bound with the power law's likelihood.
    """
    return _fit_lognormal(*_tail(x, x_min), int(x_min))


def _lognormal_starts(u: np.ndarray, w: np.ndarray, x_min: int) -> list[np.ndarray]:
    logs = np.log(u)
    n = float(w.sum())
    mean = float(np.dot(w, logs)) / n
    spread = float(np.sqrt(np.dot(w, (logs - mean) ** 2) / n))
    starts = []
    if spread > 0:
        starts.append(_LognormalObjective.mu_sigma_to_natural(mean, spread))
    # the local slope of ln p in ln x is -1 + a - 2 b ln x; match the continuous power-law slope
    # -tau at the mean log for curvatures from nearly none to the moments' own
    excess_log = max(mean - float(np.log(x_min - 0.5)), 1e-3)
    tau = 1.0 + 1.0 / excess_log
    for b in (1e-3, 1e-2, 1e-1, 1.0, 1e-5):
        starts.append(np.array([1.0 - tau + 2.0 * b * mean, np.log(b)]))
    low, high = _LOG_B_BOUNDS
    return [np.array([s[0], min(max(s[1], low), high)]) for s in starts]


def _fit_lognormal(u: np.ndarray, w: np.ndarray, x_min: int) -> TailFit:
    objective = _LognormalObjective(u, w, x_min)
    bounds = [(None, None), _LOG_B_BOUNDS]
    values: list[float] = []
    best_theta, best_value = None, np.inf
    for start in _lognormal_starts(u, w, x_min):
        result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                   options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
        value = float(result.fun)
        values.append(value)
        if value < best_value:
            best_theta, best_value = np.asarray(result.x, dtype=float), value
        # the check: a second start reaching the same optimum (to 1e-10 nats per observation)
        if sum(v <= best_value + _AGREEMENT for v in values) >= 2:
            break
    mu, sigma = _LognormalObjective.natural_to_mu_sigma(best_theta)
    log_likelihood = float(np.dot(w, _lognormal_log_pmf(u, x_min, mu, sigma)))
    return TailFit("lognormal", int(x_min), {"mu": mu, "sigma": sigma}, log_likelihood)


# ---------------------------------------------------------------------------------- exponential


def _geometric_log_pmf(x: np.ndarray, x_min: int, lam: float) -> np.ndarray:
    if lam == np.inf:
        return np.where(x == x_min, 0.0, -np.inf)
    return np.log(-np.expm1(-lam)) - lam * (x - x_min)


def fit_exponential(x: ArrayLike, x_min: int) -> TailFit:
    """Discrete exponential (geometric) MLE on ``x >= x_min``: ``lambda = ln(1 + 1/mean(x - x_min))``."""
    return _fit_exponential(*_tail(x, x_min), int(x_min))


def _fit_exponential(u: np.ndarray, w: np.ndarray, x_min: int) -> TailFit:
    excess = float(np.average(u - x_min, weights=w))
    lam = float(np.log1p(1.0 / excess)) if excess > 0 else np.inf
    log_likelihood = float(np.dot(w, _geometric_log_pmf(u, x_min, lam)))
    return TailFit("exponential", int(x_min), {"lambda": lam}, log_likelihood)


# ------------------------------------------------------------------------- truncated power law


def _log_upper_gamma(a: float, z: float) -> float:
    """ln Gamma(a, z) (upper incomplete gamma) for any real a and z > 0."""
    if z > 50.0:  # asymptotic series z**(a-1) e**-z (1 + (a-1)/z + (a-1)(a-2)/z**2 + ...)
        term, total = 1.0, 1.0
        for k in range(1, 12):
            term *= (a - k) / z
            total += term
        return (a - 1.0) * np.log(z) - z + np.log(total)
    if a > 0:
        return float(np.log(special.gammaincc(a, z)) + special.gammaln(a))
    # a <= 0: recur down from a base in (0, 1] (or from Gamma(0, z) = E1(z) for integer a):
    # Gamma(b - 1, z) = (Gamma(b, z) - z**(b-1) e**-z) / (b - 1)
    nearest = round(a)
    if abs(a - nearest) < 1e-12:
        b, value = 0.0, float(special.exp1(z))
        steps = int(-nearest)
    else:
        steps = int(np.floor(-a)) + 1
        b = a + steps
        value = float(special.gammaincc(b, z) * special.gamma(b))
    for _ in range(steps):
        value = (value - z ** (b - 1.0) * np.exp(-z)) / (b - 1.0)
        b -= 1.0
    return float(np.log(value))


class _TruncatedNormaliser:
    """ln Z(tau, lambda) for the discrete truncated power law on x >= x_min, relative to x_min.

    Returns ``ln sum_{x >= x_min} (x/x_min)**(-tau) exp(-lambda (x - x_min))``.
    """

    def __init__(self, x_min: int) -> None:
        self.x_min = float(x_min)
        grid = x_min + np.arange(_DIRECT_TERMS, dtype=np.float64)
        self.log_ratio = np.log(grid / self.x_min)
        self.excess = grid - self.x_min
        self.x0 = self.x_min + _DIRECT_TERMS  # first integer of the Euler-Maclaurin tail

    def __call__(self, tau: float, lam: float) -> float:
        exponents = -tau * self.log_ratio - lam * self.excess
        top = float(exponents.max())
        direct = float(np.exp(exponents - top).sum())
        # tail: integral + f(X0)/2 - f'(X0)/12, relative to f(x_min)
        log_f0 = -tau * np.log(self.x0 / self.x_min) - lam * (self.x0 - self.x_min)
        if lam > 0:
            z = lam * self.x0
            log_integral = (tau - 1.0) * np.log(lam) + _log_upper_gamma(1.0 - tau, z) + tau * np.log(self.x_min) + lam * self.x_min
        elif tau > 1:
            log_integral = log_f0 + np.log(self.x0 / (tau - 1.0))
        else:
            return np.inf
        correction = np.exp(log_f0) * (0.5 + (tau / self.x0 + lam) / 12.0)
        tail = np.exp(log_integral - top) + correction * np.exp(-top)
        return top + float(np.log(direct + tail))


def _tpl_log_pmf(x: np.ndarray, x_min: int, tau: float, lam: float) -> np.ndarray:
    log_z = _TruncatedNormaliser(x_min)(tau, lam)
    return -tau * np.log(x / x_min) - lam * (x - x_min) - log_z


def fit_truncated_power_law(x: ArrayLike, x_min: int, initial_exponent: float | None = None) -> TailFit:
    """Discrete truncated power law ``x**(-tau) exp(-lambda x)`` MLE on ``x >= x_min``.

    The negative log-likelihood is jointly convex in (tau, lambda); it is minimised by L-BFGS-B
    over (tau, ln lambda) from several cut-off scales, and never returns a likelihood below the
    pure power law's (lambda -> 0).
    """
    return _fit_truncated_power_law(*_tail(x, x_min), int(x_min), initial_exponent)


def _fit_truncated_power_law(u: np.ndarray, w: np.ndarray, x_min: int, initial_exponent: float | None) -> TailFit:
    n = float(w.sum())
    normaliser = _TruncatedNormaliser(int(x_min))
    sum_log = float(np.dot(w, np.log(u / x_min)))
    sum_excess = float(np.dot(w, u - x_min))

    def nll(theta: np.ndarray) -> float:
        tau, lam = float(theta[0]), float(np.exp(theta[1]))
        value = tau * sum_log + lam * sum_excess + n * normaliser(tau, lam)
        return value if np.isfinite(value) else 1e300

    tau0 = 1.5 if initial_exponent is None else float(initial_exponent)
    mean_excess = max(sum_excess / n, 1.0)
    scale_low = np.log(1e-6 / (u[-1] + 1.0))
    bounds = [(-5.0, 20.0), (float(scale_low) - 5.0, np.log(50.0))]
    starts = [(tau0, np.log(c / mean_excess)) for c in (1e-3, 1e-1, 1.0)] + [(tau0, float(scale_low))]
    best = min(
        (optimize.minimize(nll, np.array(s, dtype=float), method="L-BFGS-B", bounds=bounds) for s in starts),
        key=lambda r: r.fun,
    )
    tau, lam = float(best.x[0]), float(np.exp(best.x[1]))
    log_likelihood = float(np.dot(w, _tpl_log_pmf(u, int(x_min), tau, lam)))
    return TailFit("truncated_power_law", int(x_min), {"tau": tau, "lambda": lam}, log_likelihood)


# ------------------------------------------------------------------------------- comparisons


def _vuong(difference: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    n = float(weights.sum())
    total = float(np.dot(weights, difference))
    mean = total / n
    variance = float(np.dot(weights, (difference - mean) ** 2)) / n
    if variance <= 0:
        return total, (1.0 if total == 0 else 0.0)
    normalised = total / np.sqrt(n * variance)
    return total, float(special.erfc(abs(normalised) / np.sqrt(2.0)))


def compare_distributions(
    x: ArrayLike,
    fit: PowerLawFit | None = None,
    *,
    alternatives: tuple[str, ...] = ALTERNATIVES,
    significance: float = 0.1,
) -> dict[str, Comparison]:
    """Likelihood-ratio tests of the power-law fit against each alternative on its tail.

    Args:
        x: the sample (positive integers) the power law was fitted to.
        fit: the power-law fit (default: ``fit_power_law(x)``); its x_min defines the tail.
        alternatives: names among ``ALTERNATIVES``.
        significance: p below which the sign of R decides the preferred distribution.

    Returns:
        dict name -> Comparison(R, p, preferred).
    """
    unknown = [a for a in alternatives if a not in ALTERNATIVES]
    if unknown:
        raise ValueError(f"alternatives must be among {ALTERNATIVES}, got {unknown}")
    if not 0 < significance < 1:
        raise ValueError(f"significance must lie in (0, 1), got {significance!r}")
    if fit is None:
        fit = fit_power_law(x)
    u, w = _tail(x, fit.x_min)
    log_pl = power_law_log_pmf(u, fit.exponent, fit.x_min)
    ll_pl = float(np.dot(w, log_pl))  # nested test: R = LL_pl - LL_tpl
    out: dict[str, Comparison] = {}
    for name in alternatives:
        alt = _fit_weighted(name, u, w, fit)
        log_alt = alt.log_pmf(u)
        if name in _NESTED:
            ratio = min(0.0, ll_pl - float(np.dot(w, log_alt)))
            p = float(stats.chi2.sf(-2.0 * ratio, df=1))
            preferred = name if (p < significance and ratio < 0) else "power_law"
        else:
            ratio, p = _vuong(log_pl - log_alt, w)
            preferred = "inconclusive" if p >= significance else ("power_law" if ratio > 0 else name)
        out[name] = Comparison(R=float(ratio), p=p, preferred=preferred)
    return out


def _fit_weighted(name: str, u: np.ndarray, w: np.ndarray, fit: PowerLawFit) -> TailFit:
    if name == "lognormal":
        return _fit_lognormal(u, w, fit.x_min)
    if name == "exponential":
        return _fit_exponential(u, w, fit.x_min)
    return _fit_truncated_power_law(u, w, fit.x_min, fit.exponent)


def preferred_distribution(
    x: ArrayLike,
    fit: PowerLawFit | None = None,
    *,
    comparisons: dict[str, Comparison] | None = None,
    significance: float = 0.1,
) -> str:
    """The distribution the tests favour: ``"power_law"`` unless an alternative wins significantly.

    When several alternatives beat the power law, the one with the highest likelihood (most
    negative R) is returned.
    """
    if comparisons is None:
        comparisons = compare_distributions(x, fit, significance=significance)
    winners = {name: c.R for name, c in comparisons.items() if c.preferred == name}
    if not winners:
        return "power_law"
    return min(winners, key=winners.get)
