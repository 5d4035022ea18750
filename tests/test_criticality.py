"""The learned network's own criticality: stream activity, the knob, the cluster-agreement test."""

from __future__ import annotations

import numpy as np
import pytest

from regions import dynamics as dyn
from regions.builder import ProgressFactory, build
from regions.config import config_from_dict
from regions.criticality import (StreamActivity, agreement_onset_test, disconnect_lateral_synapses,
                                 predicted_branching_ratio, run_learned_criticality)
from regions.experiments import learn_objects

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
    ("experiment.params.connected_probability", 1.5, "connected_probability"),
])
def test_bad_values_are_refused_before_the_stream(key, value, match):
    with pytest.raises(ValueError, match=match):
        run(small(**{key: value}))


def test_the_knob_disconnects_that_share_of_the_lateral_synapses_only():
    """connected_probability p: about p of the learned lateral distal synapses stay connected, the
    column's own context synapses all do, and the theory line's p is that fraction."""
    net = build(small(**{"experiment.n_objects": 2}))
    region = net.regions["S1"]
    learn_objects(net.stepped("S1"), net.world, np.arange(2), 2)
    store = region.L23.distal
    cells = region.l23_params.cells

    def connected_fractions() -> tuple[float, float]:
        syn = store.live_synapses()
        lateral = store.segment_cell[syn.segment] // cells != syn.presynaptic // cells
        on = syn.permanence >= store.connected_threshold
        return float(on[lateral].mean()), float(on[~lateral].mean())

    lateral_before, own_before = connected_fractions()
    m_before, p_before = predicted_branching_ratio(region)
    assert lateral_before == pytest.approx(p_before) and lateral_before > 0.9
    n = disconnect_lateral_synapses(region, 0.4, np.random.default_rng(0))
    lateral_after, own_after = connected_fractions()
    assert n > 0
    assert lateral_after == pytest.approx(0.4 * lateral_before, abs=0.02)
    assert own_after == own_before
    m_after, p_after = predicted_branching_ratio(region)
    assert p_after == pytest.approx(lateral_after) and m_after < m_before
    assert disconnect_lateral_synapses(region, 1.0, np.random.default_rng(0)) == 0


def test_fewer_connected_lateral_synapses_free_the_columns():
    """The knob through experiment.sweep on a small region: with every learned lateral synapse
    connected a change dies out (m < 1, no runaway); with few connected the region stays active
    (more events, runaway settling, larger m) -- the opposite of the cascade model's prediction,
    which falls with p."""
    cfg = small(**{"regions.0.column.L23.settle_max_iterations": 10,
                   "experiment.sweep": {"parameter": "experiment.params.connected_probability",
                                        "values": [0.2, 1.0]}})
    rows = run(cfg)["table"]
    low, high = rows
    assert high["m_ci"][1] < 1.0 and high["runaway_fraction"] < 0.1
    assert low["m"] > high["m"] + 0.3 and low["m_ci"][1] > 1.0  # 64 columns: m ~ 1 within a wide interval
    assert low["runaway_fraction"] > 0.5 and low["events_per_sensation"] > 10 * high["events_per_sensation"]
    assert low["m_predicted"] < high["m_predicted"]


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


def test_agreement_test_says_when_there_are_too_few_events():
    activity, aval = _synthetic(True, 0)
    result = agreement_onset_test(activity, aval, window=2, controls=50, rng=np.random.default_rng(1),
                                  min_events=1000)
    assert result["verdict"] == "too few events"
    assert result["p_shuffled"] < 0.05 and result["agreement_events"] < 1000
    assert result["shuffled_sd"] > 0


def test_agreement_test_does_not_find_a_link_that_is_not_there():
    activity, aval = _synthetic(False, 0)
    result = agreement_onset_test(activity, aval, window=2, controls=200, rng=np.random.default_rng(1))
    assert result["observed"] < 0.3
    assert result["p_shuffled"] > 0.05 or result["p_shifted"] > 0.05
    assert result["verdict"] == "not supported"


def test_agreement_test_names_onsets_that_avoid_agreement():
    """Onsets kept out of the windows after agreement: the rate falls below chance, and the verdict
    says so (the other one-sided p), instead of a bare "not supported"."""
    rng = np.random.default_rng(3)
    n_bins, n_clusters, window = 4000, 2, 2
    agreed = np.zeros((n_bins, n_clusters), dtype=bool)
    changed = np.zeros((n_bins, n_clusters), dtype=np.int64)
    counts = np.zeros(n_bins, dtype=np.int64)
    events = np.sort(rng.choice(np.arange(10, n_bins - 20, 10), size=90, replace=False))
    clusters = rng.integers(n_clusters, size=events.size)
    blocked = np.zeros((n_bins, n_clusters), dtype=bool)
    for t, k in zip(events, clusters):
        agreed[t:t + 3, k] = True
        blocked[t + 1:t + 1 + window, k] = True
    for start in np.sort(rng.choice(np.arange(0, n_bins - 3, 3), size=500, replace=False)):
        k = int(rng.integers(n_clusters))
        if blocked[start, k]:
            continue
        counts[start] += 3
        changed[start, k] += 2
    activity = StreamActivity(l23_events=counts, l4_events=counts, changed=changed, agreed=agreed,
                              sensation=np.zeros(n_bins, dtype=np.int64), settle_kinds=np.array(["fixed_point"]),
                              clusters=np.zeros(4, dtype=np.int64))
    result = agreement_onset_test(activity, dyn.avalanches(counts), window=window, controls=200,
                                  rng=np.random.default_rng(1))
    assert result["observed"] == 0.0 and result["shuffled_mean"] > 0.05
    assert result["p_shuffled"] > 0.5 and result["p_shuffled_lower"] < 0.05 and result["p_shifted_lower"] < 0.05
    assert result["verdict"] == "not supported: onsets rarer after agreement"


def test_the_report_of_a_swept_run_draws_measured_m_beside_the_theory_line(tmp_path):
    """`cortical run` with experiment.sweep: report.html holds the sweep figure (measured m with its
    interval, the cascade model's m, m = 1, runaways, the agreement verdict per value)."""
    import re

    import yaml

    pytest.importorskip("matplotlib")
    from regions.cli import main

    spec = {**SMALL, "experiment": {**SMALL["experiment"], "sweep": {
        "parameter": "experiment.params.connected_probability", "values": [1.0, 0.4]}}}
    config = tmp_path / "swept.yaml"
    config.write_text(yaml.safe_dump(spec))
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    text = (out / "report.html").read_text()
    assert "figure failed" not in text
    titles = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', text)
    assert titles == ["Branching ratio across the sweep", "The network"]
    caption = re.findall(r"<figcaption>(.*?)</figcaption>", text)[0]
    assert "beside the theory line (the analytic cascade model&#x27;s m" in caption
    assert "critical line m = 1" in caption and "ran away" in caption
    assert re.search(r"verdict per value: 1: [^;]+; 0\.4: ", caption), caption


def test_the_demo_runs_shrunk(tmp_path, capsys):
    """demos/learned_criticality.py on 64 columns and a 40-sensation stream: the sweep table (measured m
    beside the theory m), the agreement verdicts and, with matplotlib, the figure."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "demos" / "learned_criticality.py"
    spec = importlib.util.spec_from_file_location("learned_criticality_demo", path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.main(["--values", "1.0,0.4", "--sensations", "40", "--plot", str(tmp_path), "--set",
                      "regions[0].columns=64", "regions[0].lateral.args.sizes=[16,16,16,16]", "experiment.n_objects=3",
                      "experiment.params.controls=20"]) == 0
    out = capsys.readouterr().out
    assert "m measured [95% CI]" in out and "m theory" in out and "runaway" in out
    assert "verdict" in out and ("too few events" in out or "supported" in out)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out
    else:
        assert (tmp_path / "learned_criticality.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert demo.regime({"m_ci": [0.5, 0.9]}) == "sub-critical" and demo.regime({"m_ci": [0.9, 1.1]}).startswith("m = 1")
    assert demo.crossing([{"value": 1.0, "m": 0.6}, {"value": 0.5, "m": 1.1}]) == pytest.approx(0.6)
