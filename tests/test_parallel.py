"""Parallel trials give exactly the serial results; seeds derive from SeedSequence.spawn."""

from __future__ import annotations

import numpy as np
import pytest

from regions.parallel import DaskUnavailableError, run_trials, trial_seeds


def random_walk_trial(seed: int) -> dict[str, float]:
    """A small pure-numpy trial: statistics of a seeded random walk."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal(2000))
    return {"seed": seed, "final": float(walk[-1]), "max": float(walk.max()), "bytes": walk.tobytes().hex()[:64]}


def failing_trial(seed: int) -> int:
    if seed == 3:
        raise ValueError("trial exploded")
    return seed


def test_trial_seeds_are_spawned_and_reproducible():
    seeds = trial_seeds(42, 5)
    assert seeds == trial_seeds(42, 5)
    assert len(set(seeds)) == 5 and all(0 <= s < 2**63 for s in seeds)
    assert trial_seeds(42, 3) == seeds[:3]  # spawning more trials does not change earlier ones
    children = np.random.SeedSequence(42).spawn(5)
    assert seeds[0] == int(children[0].generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        trial_seeds(-1, 2)


def test_process_pool_equals_serial():
    seeds = trial_seeds(7, 6)
    serial = run_trials(random_walk_trial, seeds, workers=1)
    parallel = run_trials(random_walk_trial, seeds, workers=2)
    assert parallel == serial
    assert [r["seed"] for r in parallel] == seeds  # results keep the order of the tasks


def test_errors_propagate_with_the_trial_index():
    for workers in (1, 2):
        with pytest.raises(ValueError, match="trial exploded") as info:
            run_trials(failing_trial, [1, 2, 3, 4], workers=workers)
        assert any("in trial 2" in note for note in getattr(info.value, "__notes__", []))


def test_bad_arguments():
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        run_trials(random_walk_trial, [1], workers=0)
    with pytest.raises(ValueError, match="scheduler"):
        run_trials(random_walk_trial, [1], scheduler="  ")
    assert run_trials(random_walk_trial, [], workers=3) == []


def test_dask_scheduler_is_optional():
    try:
        import distributed  # noqa: F401
    except ImportError:
        with pytest.raises(DaskUnavailableError, match="pip install"):
            run_trials(random_walk_trial, [1, 2], scheduler="local")
    else:  # pragma: no cover - only where the optional extra is installed
        seeds = trial_seeds(3, 3)
        assert run_trials(random_walk_trial, seeds, workers=2, scheduler="local") == run_trials(
            random_walk_trial, seeds
        )
