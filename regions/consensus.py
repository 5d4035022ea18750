"""Voting to equilibrium: fixed points and cycles of binary voting, fixed-point solvers for rates.

Binary voting (columns exchanging L2/3 votes until nothing changes) is a map on a finite state
set, so it must end in a fixed point or a cycle.  ``SettleTracker`` detects both by hashing the
packed joint state at each settling iteration (``np.packbits`` + blake2b, a dict from hash to
iteration): O(state bytes) per iteration, no stored states.

For a rate-based (continuous) relaxation ``z -> f(z)`` (Deep Equilibrium Models, Bai, Kolter &
Koltun 2019) the module offers naive iteration and Anderson acceleration with the relative
residual stop ``||f(z) - z|| / ||f(z)|| < tol``, and ``rate_voting_map`` builds such an ``f``
from a lateral weight matrix.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "SettleResult",
    "SettleTracker",
    "SettleSummary",
    "settle",
    "summarise",
    "FixedPointResult",
    "fixed_point_naive",
    "fixed_point_anderson",
    "RateVotingMap",
    "rate_voting_map",
]

SettleKind = Literal["fixed_point", "cycle", "limit"]


# ---------------------------------------------------------------------------------------------
# binary settling: fixed points and cycles
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettleResult:
    """How a settling run ended.

    Attributes:
        kind: ``"fixed_point"`` (the state repeated the previous one), ``"cycle"`` (a state seen
            earlier came back) or ``"limit"`` (max_iterations updates without a repeat).
        entry: iteration at which the fixed point / cycle was first entered (the first
            occurrence of the repeated state); -1 for ``"limit"``.
        period: cycle length in iterations (1 for a fixed point, 0 for ``"limit"``).
        iterations: updates applied when the run ended (index of the last observed state).
    """

    kind: SettleKind
    entry: int
    period: int
    iterations: int

    @property
    def converged(self) -> bool:
        """True for a fixed point."""
        return self.kind == "fixed_point"


def _state_digest(state: ArrayLike) -> bytes:
    array = np.asarray(state)
    hasher = hashlib.blake2b(digest_size=16)
    if array.dtype == np.bool_ or array.dtype == np.uint8:
        hasher.update(b"d")
        hasher.update(np.packbits(array.reshape(-1)).tobytes())
    elif array.dtype.kind in "iu":
        hasher.update(b"i")
        hasher.update(np.ascontiguousarray(array.reshape(-1), dtype=np.int64).tobytes())
    else:
        raise ValueError(
            f"state must be a bool/uint8 activity mask or an int index array, got dtype {array.dtype}"
        )
    return hasher.digest()


class SettleTracker:
    """Detects the fixed point or cycle of a settling region, one observed state at a time.

    Call ``observe`` with the joint state before the first update (iteration 0) and after each
    update; it returns True once the run is over, and ``result`` then holds a SettleResult.

    Args:
        max_iterations: updates allowed before giving up (``kind="limit"``).

    Example:
        >>> tracker = SettleTracker(max_iterations=10)
        >>> for state in ([0, 1], [1, 1], [1, 0], [1, 1]):
        ...     if tracker.observe(np.array(state, dtype=bool)):
        ...         break
        >>> tracker.result
        SettleResult(kind='cycle', entry=1, period=2, iterations=3)
    """

    def __init__(self, max_iterations: int) -> None:
        if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)) or max_iterations < 0:
            raise ValueError(f"max_iterations must be an int >= 0, got {max_iterations!r}")
        self.max_iterations = int(max_iterations)
        self._seen: dict[bytes, int] = {}
        self._count = 0
        self.result: SettleResult | None = None

    @property
    def iteration(self) -> int:
        """Index the next observed state will get."""
        return self._count

    @property
    def done(self) -> bool:
        """True once a fixed point, a cycle or the limit was reached."""
        return self.result is not None

    def reset(self) -> None:
        """Start a new settling run (e.g. for the next sensation)."""
        self._seen.clear()
        self._count = 0
        self.result = None

    def observe(self, state: ArrayLike) -> bool:
        """Record the state of this iteration; True when the run has ended.

        Args:
            state: joint binary state of the region, a bool/uint8 mask of any shape or a
                sorted int index array of active cells (use one form throughout a run).
        """
        if self.result is not None:
            return True
        digest = _state_digest(state)
        index = self._count
        self._count += 1
        first = self._seen.get(digest)
        if first is not None:
            period = index - first
            kind: SettleKind = "fixed_point" if period == 1 else "cycle"
            self.result = SettleResult(kind=kind, entry=first, period=period, iterations=index)
            return True
        self._seen[digest] = index
        if index >= self.max_iterations:
            self.result = SettleResult(kind="limit", entry=-1, period=0, iterations=index)
            return True
        return False


def settle(step_fn: Callable[[Any], Any], state0: ArrayLike, max_iterations: int) -> tuple[Any, SettleResult]:
    """Iterate ``state <- step_fn(state)`` from ``state0`` until a fixed point, a cycle or the limit.

    Returns:
        (last state, SettleResult).  For a fixed point the last state is the fixed point; for a
        cycle it is the first repeated state.
    """
    tracker = SettleTracker(max_iterations)
    state = state0
    while not tracker.observe(state):
        state = step_fn(state)
    assert tracker.result is not None
    return state, tracker.result


@dataclass(frozen=True)
class SettleSummary:
    """Time-to-consensus statistics over many settling runs.

    Attributes:
        n_runs: runs summarised.
        fraction_fixed_point, fraction_cycle, fraction_limit: how the runs ended.
        mean_entry, median_entry, max_entry: iterations until the fixed point or cycle was
            entered (time to consensus), over runs that ended in one (nan if none did).
        mean_iterations: updates applied per run, all runs.
        periods: cycle period -> number of runs that ended in such a cycle.
    """

    n_runs: int
    fraction_fixed_point: float
    fraction_cycle: float
    fraction_limit: float
    mean_entry: float
    median_entry: float
    max_entry: float
    mean_iterations: float
    periods: dict[int, int] = field(default_factory=dict)


def summarise(results: Iterable[SettleResult]) -> SettleSummary:
    """Aggregate SettleResults (e.g. one per sensation of a run)."""
    results = list(results)
    if not results:
        raise ValueError("results is empty: nothing to summarise")
    kinds = np.array([r.kind for r in results])
    entries = np.array([r.entry for r in results if r.kind != "limit"], dtype=np.float64)
    n = len(results)
    nan = float("nan")
    return SettleSummary(
        n_runs=n,
        fraction_fixed_point=float(np.mean(kinds == "fixed_point")),
        fraction_cycle=float(np.mean(kinds == "cycle")),
        fraction_limit=float(np.mean(kinds == "limit")),
        mean_entry=float(entries.mean()) if entries.size else nan,
        median_entry=float(np.median(entries)) if entries.size else nan,
        max_entry=float(entries.max()) if entries.size else nan,
        mean_iterations=float(np.mean([r.iterations for r in results])),
        periods=dict(sorted(Counter(r.period for r in results if r.kind == "cycle").items())),
    )


# ---------------------------------------------------------------------------------------------
# rate-based relaxation: fixed-point solvers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedPointResult:
    """Outcome of a fixed-point solve z* = f(z*).

    Attributes:
        z: the last image f(z_k), same shape as z0.
        evaluations: calls of f made.
        residuals: (evaluations,) relative residual ||f(z_k) - z_k|| / ||f(z_k)|| per call.
        converged: True if the last residual is below tol.
    """

    z: np.ndarray
    evaluations: int
    residuals: np.ndarray
    converged: bool


def _check_solver_args(tol: float, max_evals: int) -> None:
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if isinstance(max_evals, bool) or not isinstance(max_evals, (int, np.integer)) or max_evals < 1:
        raise ValueError(f"max_evals must be an int >= 1, got {max_evals!r}")


def _relative_residual(fz: np.ndarray, z: np.ndarray) -> float:
    scale = float(np.linalg.norm(fz))
    gap = float(np.linalg.norm(fz - z))
    return gap / scale if scale > 0 else gap


def fixed_point_naive(
    f: Callable[[np.ndarray], np.ndarray],
    z0: ArrayLike,
    tol: float = 1e-6,
    max_evals: int = 1000,
) -> FixedPointResult:
    """Solve z = f(z) by plain iteration z <- f(z) (converges linearly for a contraction)."""
    _check_solver_args(tol, max_evals)
    z = np.array(z0, dtype=np.float64)
    residuals: list[float] = []
    for _ in range(max_evals):
        fz = np.asarray(f(z), dtype=np.float64)
        residuals.append(_relative_residual(fz, z))
        z = fz
        if residuals[-1] < tol:
            break
    return FixedPointResult(z=z, evaluations=len(residuals), residuals=np.array(residuals),
                            converged=residuals[-1] < tol)


def fixed_point_anderson(
    f: Callable[[np.ndarray], np.ndarray],
    z0: ArrayLike,
    m: int = 5,
    tol: float = 1e-6,
    max_evals: int = 1000,
    beta: float = 1.0,
    lam: float = 1e-8,
) -> FixedPointResult:
    """Solve z = f(z) with Anderson acceleration (Walker & Ni 2011; as used in DEQs).

    With the last ``m`` iterates z_i and images f(z_i), residuals g_i = f(z_i) - z_i, the
    weights alpha minimise ||sum alpha_i g_i|| subject to sum alpha_i = 1:
    ``alpha = y / sum(y)``, ``(G G^T + lam_eff I) y = 1``, with ``lam_eff = lam * mean ||g_i||^2``
    (regularisation scaled to the residuals' norm).  Next iterate:
    ``z = beta sum alpha_i f(z_i) + (1 - beta) sum alpha_i z_i``.

    Args:
        f: the map; takes and returns arrays of z0's shape.
        z0: initial guess.
        m: history length (>= 1; m = 1 is damped naive iteration).
        tol: relative residual stop.
        max_evals: budget of f calls.
        beta: mixing (1 = undamped).
        lam: relative Tikhonov regularisation of the least-squares system.
    """
    _check_solver_args(tol, max_evals)
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m (history length) must be an int >= 1, got {m!r}")
    if not 0 < beta <= 1:
        raise ValueError(f"beta must lie in (0, 1], got {beta!r}")
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    start = np.array(z0, dtype=np.float64)
    shape = start.shape
    size = start.size
    history_z = np.zeros((m, size))
    history_f = np.zeros((m, size))
    residuals: list[float] = []

    def evaluate(z_flat: np.ndarray, slot: int) -> np.ndarray:
        fz = np.asarray(f(z_flat.reshape(shape)), dtype=np.float64).reshape(-1)
        history_z[slot] = z_flat
        history_f[slot] = fz
        residuals.append(_relative_residual(fz, z_flat))
        return fz

    fz = evaluate(start.reshape(-1), 0)
    k = 1
    while residuals[-1] >= tol and len(residuals) < max_evals:
        n_hist = min(k, m)
        g = history_f[:n_hist] - history_z[:n_hist]
        gram = g @ g.T
        gram[np.diag_indices(n_hist)] += lam * max(float(np.trace(gram)) / n_hist, np.finfo(float).tiny)
        try:
            y = np.linalg.solve(gram, np.ones(n_hist))
        except np.linalg.LinAlgError:
            y = np.linalg.lstsq(gram, np.ones(n_hist), rcond=None)[0]
        alpha = y / y.sum() if y.sum() != 0 else np.full(n_hist, 1.0 / n_hist)
        z_next = beta * (alpha @ history_f[:n_hist]) + (1.0 - beta) * (alpha @ history_z[:n_hist])
        fz = evaluate(z_next, k % m)
        k += 1
    return FixedPointResult(z=fz.reshape(shape), evaluations=len(residuals), residuals=np.array(residuals),
                            converged=residuals[-1] < tol)


# ---------------------------------------------------------------------------------------------
# a rate-based voting map
# ---------------------------------------------------------------------------------------------


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))


_ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "tanh": (np.tanh, 1.0),
    "sigmoid": (_sigmoid, 0.25),
}


class RateVotingMap:
    """``f(z) = activation(feedforward + gain * W_lateral @ z)``: rates relaxed by lateral votes.

    ``z`` has shape (n,) or (n, k) (k independent inputs); ``W_lateral`` is (n, n), dense or
    scipy.sparse (e.g. a region's lateral graph from networkx.to_scipy_sparse_array, weighted
    by vote strength).  It is a contraction in the 2-norm when
    ``lipschitz_bound = gain * ||W||_2 * L_activation < 1`` (L = 1 for tanh, 1/4 for sigmoid).
    """

    def __init__(self, W_lateral: Any, feedforward: ArrayLike, gain: float, activation: str = "tanh") -> None:
        shape = getattr(W_lateral, "shape", None)
        if shape is None or len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"W_lateral must be a square (n, n) matrix, got shape {shape}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        x = np.asarray(feedforward, dtype=np.float64)
        if x.shape[0] != shape[0]:
            raise ValueError(f"feedforward has {x.shape[0]} rows, W_lateral has {shape[0]}")
        if not np.isfinite(gain):
            raise ValueError(f"gain must be finite, got {gain!r}")
        self.W = W_lateral
        self.feedforward = x
        self.gain = float(gain)
        self.activation = activation
        self._phi, self._phi_lipschitz = _ACTIVATIONS[activation]
        self._norm: float | None = None

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self._phi(self.feedforward + self.gain * (self.W @ z))

    @property
    def spectral_norm(self) -> float:
        """||W_lateral||_2 (largest singular value), computed on first use."""
        if self._norm is None:
            import scipy.sparse as sp

            if sp.issparse(self.W):
                from scipy.sparse.linalg import svds

                n = self.W.shape[0]
                if n <= 2:
                    self._norm = float(np.linalg.norm(self.W.toarray(), 2))
                else:
                    self._norm = float(svds(self.W.astype(np.float64), k=1, return_singular_vectors=False)[0])
            else:
                self._norm = float(np.linalg.norm(np.asarray(self.W, dtype=np.float64), 2))
        return self._norm

    @property
    def lipschitz_bound(self) -> float:
        """Upper bound on the map's Lipschitz constant in the 2-norm."""
        return abs(self.gain) * self.spectral_norm * self._phi_lipschitz

    def is_contraction(self) -> bool:
        """True when ``lipschitz_bound < 1`` (the fixed point is unique and iteration converges)."""
        return self.lipschitz_bound < 1.0


def rate_voting_map(W_lateral: Any, x: ArrayLike, gain: float, activation: str = "tanh") -> RateVotingMap:
    """Build ``f(z) = activation(x + gain * W_lateral @ z)`` for the fixed-point solvers.

    Args:
        W_lateral: (n, n) lateral vote weights, dense or scipy.sparse.
        x: (n,) or (n, k) feed-forward drive.
        gain: strength of the lateral votes; choose ``gain < 1 / (||W||_2 L)`` for a contraction
            (check with ``.is_contraction()``).
        activation: ``"tanh"`` or ``"sigmoid"``.
    """
    return RateVotingMap(W_lateral, x, gain, activation)
