"""Full reproductions of the 2017 columns experiments (run with -m slow; bounded for CI).

Published values (Hawkins, Ahmad & Cui 2017; figure values read off the figure, so within
0.1 counts as matching): 100 objects, pool 10: 2.8 / 1.7 / 1.1 sensations for 1 / 2 / 3
columns; accuracy after 3 and 4 sensations at least 0.70 and 0.97 (1 column).
"""

from __future__ import annotations

import os

import pytest

from regions.builder import run_experiment_trial
from regions.config import load_config

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "touch_objects.yaml")

pytestmark = pytest.mark.slow


def _run(columns: int, objects: int, pool: int, **noise: float) -> dict:
    overrides = [f"regions[0].columns={columns}", f"experiment.n_objects={objects}", f"experiment.n_features={pool}"]
    overrides += [f"experiment.noise.{k}={v}" for k, v in noise.items()]
    cfg = load_config(CONFIG, overrides)
    return run_experiment_trial((cfg, 0, cfg.seed, False))


def test_one_column_100_objects_pool_10() -> None:
    m = _run(1, 100, 10)
    assert m["fraction_converged"] == 1.0
    assert m["mean_sensations_to_converge"] <= 2.8 + 0.1
    assert m["accuracy_at_3"] >= 0.70
    assert m["accuracy_at_4"] >= 0.97
    assert m["l4_sparsification"] >= 10


def test_three_columns_100_objects_pool_10() -> None:
    m = _run(3, 100, 10)
    assert m["fraction_converged"] == 1.0
    assert m["mean_sensations_to_converge"] <= 1.1 + 0.1


@pytest.mark.parametrize("kind, level", [("feature", 0.3), ("location", 0.4)])
def test_noise_robustness_50_objects(kind: str, level: float) -> None:
    m = _run(1, 50, 10, **{kind: level})
    assert m["table"][-1]["accuracy"] >= 0.95


@pytest.mark.parametrize("columns, published", [(2, 2.4), (3, 1.95), (4, 1.5), (6, 1.0)])
def test_pool_5_more_columns_recognise_faster(columns: int, published: float) -> None:
    m = _run(columns, 100, 5)
    assert m["fraction_converged"] == 1.0
    assert m["mean_sensations_to_converge"] <= published + 0.1


def test_two_columns_100_objects_pool_10() -> None:
    m = _run(2, 100, 10)
    assert m["mean_sensations_to_converge"] <= 1.7 + 0.1


@pytest.mark.parametrize("pool", [5, 10])
def test_one_column_converges_as_soon_as_the_ideal_observer(pool: int) -> None:
    # With one column nothing is lost: the union of candidates narrows to the object at the
    # very sensation after which no other learned object holds the pairs sensed so far.  The
    # published means (3.7 for pool 5, 2.8 for pool 10) are samples of that bound, whose
    # expectation over object sets is 3.71 and 2.73 (benchmarks/columns.py).
    m = _run(1, 100, pool)
    assert m["fraction_converged"] == 1.0
    assert m["mean_sensations_to_converge"] == pytest.approx(m["ideal_mean_sensations_to_converge"], abs=1e-12)
