"""Tests for regions.consensus: fixed-point / cycle detection and fixed-point solvers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from regions.consensus import (
    FixedPointResult,
    SettleResult,
    SettleTracker,
    fixed_point_anderson,
    fixed_point_naive,
    rate_voting_map,
    settle,
    summarise,
)

# ------------------------------------------------------------------------------ settle tracking


def _run(states, max_iterations=100):
    tracker = SettleTracker(max_iterations)
    for state in states:
        if tracker.observe(state):
            break
    return tracker


def test_fixed_point_detected_at_first_repeat():
    states = [np.array(s, dtype=bool) for s in ([1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 1, 1])]
    tracker = _run(states)
    assert tracker.result == SettleResult(kind="fixed_point", entry=2, period=1, iterations=3)
    assert tracker.result.converged


@settings(max_examples=60)
@given(st.integers(0, 12), st.integers(1, 9), st.integers(6, 40), st.sampled_from(["dense", "index"]))
def test_cycle_entry_and_period_are_exact(pre_period, period, n_cells, form):
    # n_cells >= 6: 64 states hold the up to 21 distinct ones the sequence needs
    rng = np.random.default_rng(pre_period * 100 + period)
    distinct: list[np.ndarray] = []
    seen: set[bytes] = set()
    while len(distinct) < pre_period + period:
        state = rng.random(n_cells) < 0.5
        if state.tobytes() not in seen:
            seen.add(state.tobytes())
            distinct.append(state)
    sequence = distinct + distinct[pre_period:] * 3
    if form == "index":
        sequence = [np.flatnonzero(s).astype(np.int32) for s in sequence]
    result = _run(sequence).result
    assert result.entry == pre_period
    assert result.period == period
    assert result.iterations == pre_period + period
    assert result.kind == ("fixed_point" if period == 1 else "cycle")


def test_limit_reached_without_repeat():
    tracker = SettleTracker(max_iterations=5)
    done = [tracker.observe(np.array([i], dtype=np.int64)) for i in range(6)]
    assert done == [False] * 5 + [True]
    assert tracker.result == SettleResult(kind="limit", entry=-1, period=0, iterations=5)
    assert tracker.observe(np.array([0])) is True  # stays done
    tracker.reset()
    assert tracker.result is None and tracker.iteration == 0


def test_states_of_any_shape_and_uint8_masks():
    a = np.zeros((3, 4), dtype=np.uint8)
    b = a.copy()
    b[1, 2] = 1
    tracker = _run([a, b, b.astype(bool)])
    assert tracker.result.kind == "fixed_point"  # uint8 and bool masks hash alike


def test_bad_states_and_limits_raise():
    with pytest.raises(ValueError, match="dtype"):
        SettleTracker(3).observe(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="max_iterations"):
        SettleTracker(-1)


def test_settle_majority_vote_reaches_a_fixed_point_and_rotation_cycles():
    rng = np.random.default_rng(0)
    n = 30
    adjacency = np.triu(rng.random((n, n)) < 0.2, 1)
    adjacency = (adjacency | adjacency.T).astype(int)

    def majority(state):  # each node adopts its neighbours' majority, ties keep the state
        votes = adjacency @ (2 * state.astype(int) - 1)
        return np.where(votes == 0, state, votes > 0)

    final, result = settle(majority, rng.random(n) < 0.5, max_iterations=100)
    assert result.kind in ("fixed_point", "cycle") and result.period <= 2  # Goles: period 1 or 2
    if result.kind == "fixed_point":
        np.testing.assert_array_equal(majority(final), final)

    start = np.zeros(6, dtype=bool)
    start[0] = True
    _, rotation = settle(lambda s: np.roll(s, 1), start, max_iterations=50)
    assert (rotation.kind, rotation.entry, rotation.period) == ("cycle", 0, 6)


def test_summarise_time_to_consensus():
    results = [
        SettleResult("fixed_point", 2, 1, 3),
        SettleResult("fixed_point", 4, 1, 5),
        SettleResult("cycle", 1, 2, 3),
        SettleResult("limit", -1, 0, 10),
    ]
    summary = summarise(results)
    assert summary.n_runs == 4
    assert (summary.fraction_fixed_point, summary.fraction_cycle, summary.fraction_limit) == (0.5, 0.25, 0.25)
    assert summary.mean_entry == pytest.approx(7 / 3)
    assert summary.median_entry == 2 and summary.max_entry == 4
    assert summary.mean_iterations == pytest.approx(21 / 4)
    assert summary.periods == {2: 1}
    with pytest.raises(ValueError, match="empty"):
        summarise([])


# --------------------------------------------------------------------------- fixed-point solvers


def _linear_contraction(n: int, radius: float, seed: int):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eigenvalues = radius * np.linspace(-1.0, 1.0, n)
    a = (q * eigenvalues) @ q.T  # symmetric, spectral radius `radius`
    b = rng.normal(size=n)
    return a, b


def test_anderson_beats_naive_on_linear_contraction():
    a, b = _linear_contraction(100, 0.95, seed=1)
    exact = np.linalg.solve(np.eye(100) - a, b)

    def f(z):
        return a @ z + b

    naive = fixed_point_naive(f, np.zeros(100), tol=1e-8, max_evals=5000)
    anderson = fixed_point_anderson(f, np.zeros(100), m=5, tol=1e-8, max_evals=5000)
    for result in (naive, anderson):
        assert isinstance(result, FixedPointResult) and result.converged
        assert result.residuals[-1] < 1e-8 and result.residuals.size == result.evaluations
        np.testing.assert_allclose(result.z, exact, atol=1e-5)
    assert anderson.evaluations < naive.evaluations / 2


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 1000), st.sampled_from(["tanh", "sigmoid"]))
def test_solvers_agree_on_rate_voting_fixed_point(seed, activation):
    rng = np.random.default_rng(seed)
    n = 60
    weights = sp.random(n, n, density=0.1, random_state=seed, format="csr")
    feedforward = rng.normal(size=(n, 2))
    norm = np.linalg.norm(weights.toarray(), 2)
    gain = 0.8 / norm / (1.0 if activation == "tanh" else 0.25)
    f = rate_voting_map(weights, feedforward, gain, activation=activation)
    assert f.is_contraction() and f.lipschitz_bound == pytest.approx(0.8, rel=1e-6)
    naive = fixed_point_naive(f, np.zeros((n, 2)), tol=1e-10)
    anderson = fixed_point_anderson(f, np.zeros((n, 2)), tol=1e-10)
    assert naive.converged and anderson.converged
    assert anderson.z.shape == (n, 2)
    np.testing.assert_allclose(anderson.z, naive.z, atol=1e-8)
    np.testing.assert_allclose(f(anderson.z), anderson.z, atol=1e-8)
    dense = rate_voting_map(weights.toarray(), feedforward, gain, activation=activation)
    np.testing.assert_allclose(dense(anderson.z), f(anderson.z))


def test_solver_budget_and_arguments():
    result = fixed_point_naive(lambda z: 0.999 * z + 1.0, np.zeros(3), tol=1e-12, max_evals=10)
    assert not result.converged and result.evaluations == 10
    with pytest.raises(ValueError, match="tol"):
        fixed_point_naive(lambda z: z, np.zeros(2), tol=0)
    with pytest.raises(ValueError, match="history"):
        fixed_point_anderson(lambda z: z, np.zeros(2), m=0)
    with pytest.raises(ValueError, match="beta"):
        fixed_point_anderson(lambda z: z, np.zeros(2), beta=0)
    with pytest.raises(ValueError, match="square"):
        rate_voting_map(np.zeros((2, 3)), np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="activation"):
        rate_voting_map(np.zeros((2, 2)), np.zeros(2), 0.5, activation="relu")
