"""One seed reproduces a run bit for bit: metrics, learned state, and parallel == serial."""

from __future__ import annotations

import os

import numpy as np

import regions
from regions import build, load_config
from regions.experiments import learn_objects
from regions.persist import load_state

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "touch_objects.yaml")
TINY = ["experiment.n_objects=4", "experiment.max_sensations=4", "regions[0].column.L23.cells=512",
        "regions[0].column.L23.sdr_size=20", "regions[0].column.L23.distal.threshold=8",
        "regions[0].column.L23.distal.sample_size=12", "experiment.params.overlap_threshold=15",
        "experiment.params.max_active=30"]


def _untimed(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if "time" not in k}


def test_same_seed_same_metrics_and_different_seed_differs() -> None:
    a = build(load_config(CONFIG, TINY)).run()[0]
    b = build(load_config(CONFIG, TINY)).run()[0]
    assert _untimed(a) == _untimed(b)
    c = build(load_config(CONFIG, TINY + ["seed=7"])).run()[0]
    assert c["synapses"] != a["synapses"] or c["table"] != a["table"]


def test_same_seed_same_saved_state(tmp_path) -> None:
    paths = []
    for name in ("a", "b"):
        net = build(load_config(CONFIG, TINY))
        learn_objects(net.regions["S1"], net.world, np.arange(4), repeats=3)
        path = tmp_path / f"{name}.npz"
        net.save(path)
        paths.append(path)
    spec_a, arrays_a, _ = load_state(paths[0])
    spec_b, arrays_b, _ = load_state(paths[1])
    assert spec_a == spec_b and arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)
    # and the loaded network carries the same learned state
    again = regions.load(paths[0]).regions["S1"].state_arrays()
    for key, value in again.items():
        np.testing.assert_array_equal(value, arrays_a[f"S1/{key}"], err_msg=key)


def test_parallel_trials_equal_serial_trials() -> None:
    cfg = load_config(CONFIG, TINY)
    serial = build(cfg).run(trials=2, workers=1)
    parallel = build(cfg).run(trials=2, workers=2)
    assert [_untimed(m) for m in serial] == [_untimed(m) for m in parallel]
    assert _untimed(serial[0]) != _untimed(serial[1])  # trials get their own seeds
