"""The learned network's own criticality: stream activity, the knob, the cluster-agreement test."""

from __future__ import annotations

import numpy as np
import pytest

from regions import dynamics as dyn
from regions.builder import ProgressFactory, build
from regions.config import config_from_dict
from regions.criticality import StreamActivity, agreement_onset_test, run_learned_criticality

SMALL = {
    "seed": 0,
    "regions": [{
        "name": "S1",
        "columns": 64,
        "column": {
            "layers": ["L6", "L4", "L23"],
            "L4": {"minicolumns": 32, "cells_per_minicolumn": 4, "active_minicolumns": 6, "sample_size": 10,
                   "basal_threshold": 5, "min_threshold": 5, "apical_threshold": 5, "reduced_basal_threshold": 3},
            "L23": {"cells": 64, "sdr_size": 8, "proximal": {"sample_size": 6, "threshold": 3},
                    "distal": {"sample_size": 8, "threshold": 3}, "settle_max_iterations": 20},
        },
        "lateral": {"topology": "stochastic_block_model",
                    "args": {"sizes": [32, 32], "p": [[0.25, 0.02], [0.02, 0.25]]}},
    }],
    "world": {"kind": "feature_objects", "params": {"location_size": 64, "location_active": 6}},
    "experiment": {
        "kind": "learned_criticality", "n_objects": 4, "n_features": 3, "n_locations": 5, "features_per_object": 5,
        "noise": {"feature": 0.1},
        "params": {"learn_repeats": 2, "stream_sensations": 60, "movers": 2, "object_change_probability": 0.1,
                   "overlap_threshold": 5, "k_max": 3, "controls": 50},
    },
}


def small(**values) -> object:
    return config_from_dict(SMALL).with_values(values) if values else config_from_dict(SMALL)


def run(cfg) -> dict:
    return run_learned_criticality(build(cfg), progress=ProgressFactory(False), trial=0)


def test_the_distal_threshold_moves_activity_and_branching_monotonically():
    """Sweeping the knob through experiment.sweep: a lower lateral threshold lets a change spread
    further (more L2/3 events per sensation, larger m); a high one freezes the region."""
    cfg = small(**{"experiment.sweep": {"parameter": "regions.0.column.L23.distal.threshold", "values": [1, 3, 6]}})
    metrics = run(cfg)
    rows = metrics["table"]
    assert [r["value"] for r in rows] == [1, 3, 6]
    events = [r["events_per_sensation"] for r in rows]
    assert events[0] > events[1] > events[2]
    m = [r["m"] for r in rows]
    assert np.isfinite(m[0]) and np.isfinite(m[1]) and m[0] > m[1]
    assert rows[2]["n_avalanches"] == 0 or m[2] < m[1]
    assert rows[0]["runaway_fraction"] >= rows[1]["runaway_fraction"]
    assert metrics["value_nearest_critical"] in (1, 3, 6)


def test_a_config_block_changes_the_result():
    """experiment.noise and experiment.params.movers change the stream and so the avalanches."""
    base = run(small())
    quiet = run(small(**{"experiment.noise.feature": 0.0}))
    busy = run(small(**{"experiment.params.movers": 8}))
    assert base["n_avalanches"] > 0
    assert quiet["events_per_sensation"] != base["events_per_sensation"]
    assert busy["events_per_sensation"] > base["events_per_sensation"]
    for key in ("m", "m_pooled", "tau", "alpha", "gamma", "gamma_predicted", "runaway_fraction", "m_predicted"):
        assert key in base
    assert base["preferred"] in ("power_law", "lognormal", "exponential", "truncated_power_law", "n/a")


@pytest.mark.parametrize("key,value,match", [
    ("experiment.params.overlap_threshold", 9, "overlap_threshold"),
    ("experiment.params.movers", 65, "movers"),
])
def test_bad_values_are_refused_before_the_stream(key, value, match):
    with pytest.raises(ValueError, match=match):
        run(small(**{key: value}))


def _synthetic(onset_after_agreement: bool, seed: int) -> tuple[StreamActivity, dyn.AvalancheSet]:
    """Two clusters, 4000 bins; agreement events every ~40 bins; avalanches of 2 bins either one bin
    after each agreement event in the same cluster, or at random times."""
    rng = np.random.default_rng(seed)
    n_bins, n_clusters = 4000, 2
    agreed = np.zeros((n_bins, n_clusters), dtype=bool)
    changed = np.zeros((n_bins, n_clusters), dtype=np.int64)
    counts = np.zeros(n_bins, dtype=np.int64)
    events = np.sort(rng.choice(np.arange(10, n_bins - 20, 5), size=90, replace=False))
    clusters = rng.integers(n_clusters, size=events.size)
    for t, k in zip(events, clusters):
        agreed[t:t + 3, k] = True
        start = t + 1 if onset_after_agreement else int(rng.integers(0, n_bins - 3))
        counts[start:start + 2] += 3
        changed[start, k if onset_after_agreement else rng.integers(n_clusters)] += 2
    activity = StreamActivity(l23_events=counts, l4_events=counts, changed=changed, agreed=agreed,
                              sensation=np.zeros(n_bins, dtype=np.int64), settle_kinds=np.array(["fixed_point"]),
                              clusters=np.zeros(4, dtype=np.int64))
    return activity, dyn.avalanches(counts)


def test_agreement_test_detects_onsets_that_follow_agreement():
    activity, aval = _synthetic(True, 0)
    result = agreement_onset_test(activity, aval, window=2, controls=200, rng=np.random.default_rng(1))
    assert result["observed"] > 0.9
    assert result["p_shuffled"] < 0.01 and result["p_shifted"] < 0.01
    assert result["verdict"] == "supported"


def test_agreement_test_does_not_find_a_link_that_is_not_there():
    activity, aval = _synthetic(False, 0)
    result = agreement_onset_test(activity, aval, window=2, controls=200, rng=np.random.default_rng(1))
    assert result["observed"] < 0.3
    assert result["p_shuffled"] > 0.05 or result["p_shifted"] > 0.05
    assert result["verdict"] == "not supported"
