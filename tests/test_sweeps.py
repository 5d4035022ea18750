"""Criticality in a region: the excitable voting cascade, its statistics and the coupling sweep."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from regions.builder import ProgressFactory, get_builder
from regions.cli import main
from regions.config import load_config
from regions.sweeps import (
    CriticalSweepParams,
    ExcitableRegion,
    avalanche_statistics,
    cascade_avalanches,
    cluster_statistics,
    connected_probability_for,
    graph_clusters,
    run_critical_sweep,
    simulate_cascades,
    vote_transmission,
)

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "critical_sweep.yaml"


@pytest.fixture(scope="module")
def regular_graph() -> nx.Graph:
    return nx.random_regular_graph(16, 256, seed=3)


def _model(graph: nx.Graph, m: float, **kwargs) -> ExcitableRegion:
    degrees = np.array([d for _, d in sorted(graph.degree)])
    p = connected_probability_for(m, degrees, 20, 13, 2)
    return ExcitableRegion.from_graph(graph, connected_probability=p, clusters=None, **kwargs)


# ------------------------------------------------------------------------------ analytics
@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.0, 1.0), s=st.integers(1, 40), data=st.data())
def test_vote_transmission_is_the_binomial_tail(p, s, data):
    theta = data.draw(st.integers(1, s))
    direct = sum(math.comb(s, k) * p**k * (1.0 - p) ** (s - k) for k in range(theta, s + 1))
    assert vote_transmission(p, s, theta) == pytest.approx(direct, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(m=st.floats(0.05, 5.0), d=st.integers(3, 30))
def test_connected_probability_inverts_the_analytic_branching_ratio(m, d):
    degrees = np.full(64, d)
    if m >= d - 1:
        with pytest.raises(ValueError, match="out of reach"):
            connected_probability_for(m, degrees, 20, 13)
        return
    p = connected_probability_for(m, degrees, 20, 13)
    assert vote_transmission(p, 20, 13) * (d - 1) == pytest.approx(m, rel=1e-6)


def test_bad_inputs_name_the_argument(regular_graph):
    with pytest.raises(ValueError, match="connected_probability"):
        vote_transmission(1.5, 20, 13)
    with pytest.raises(ValueError, match="threshold"):
        vote_transmission(0.5, 20, 21)
    with pytest.raises(ValueError, match="refractory"):
        ExcitableRegion.from_graph(regular_graph, refractory=0)
    adjacency = sparse.csr_array(nx.to_scipy_sparse_array(regular_graph))
    with pytest.raises(ValueError, match="transmission"):
        simulate_cascades(adjacency, -0.1, 10)
    with pytest.raises(ValueError, match="n_avalanches"):
        simulate_cascades(adjacency, 0.1, 0)
    with pytest.raises(ValueError, match="clusters"):
        simulate_cascades(adjacency, 0.1, 10, clusters=np.zeros(3))


# ------------------------------------------------------------------------------ simulation
def test_deterministic_wave_on_a_ring():
    """q = 1 on a cycle: two fronts run round the ring and meet; refractory stops the echo."""
    n = 20
    adjacency = sparse.csr_array(nx.to_scipy_sparse_array(nx.cycle_graph(n)))
    run = simulate_cascades(adjacency, 1.0, 5, rng=0, refractory=2)
    aval = cascade_avalanches(run)
    assert aval.sizes.tolist() == [n] * 5
    assert aval.durations.tolist() == [n // 2 + 1] * 5
    assert aval.profile(0).tolist() == [1] + [2] * (n // 2 - 1) + [1]
    assert not aval.truncated.any()


def test_no_transmission_means_lone_seeds_and_events_are_in_time_order(regular_graph):
    model = ExcitableRegion.from_graph(regular_graph, connected_probability=0.0, clusters=None)
    run = model.cascades(50, rng=1)
    assert run.recorder.n_events == 50
    events = run.recorder.events()
    assert events["step"].tolist() == list(range(50))
    assert np.all(events["column"] == run.seeds)
    busy = _model(regular_graph, 1.0).cascades(200, rng=2)
    times = busy.recorder.events()
    key = times["step"].astype(np.int64) * 10**6 + times["iteration"]
    assert np.all(np.diff(key) >= 0)
    assert len(cascade_avalanches(busy)) == 200


def test_caps_truncate_runaway_avalanches(regular_graph):
    run = _model(regular_graph, 2.0).cascades(200, rng=4, max_size=300, min_iterations=0)
    aval = cascade_avalanches(run)
    assert aval.truncated.mean() > 0.5  # supercritical: most seeds run away
    assert np.all(aval.sizes[aval.truncated] >= 300)
    assert np.all(aval.sizes[~aval.truncated] < 300 + 256)
    short = _model(regular_graph, 1.0).cascades(300, rng=5, max_iterations=3)
    assert cascade_avalanches(short).durations.max() <= 3


def test_same_seed_same_avalanches(regular_graph):
    model = _model(regular_graph, 1.0)
    a, b = model.cascades(300, rng=7), model.cascades(300, rng=7)
    assert np.array_equal(cascade_avalanches(a).sizes, cascade_avalanches(b).sizes)


# ------------------------------------------------------------------------------ statistics
def test_branching_ratio_increases_with_coupling_and_tracks_the_analytic_value(regular_graph):
    measured, analytic = [], []
    for m in (0.5, 0.8, 1.0, 1.3):
        run = _model(regular_graph, m).cascades(1500, rng=11, min_iterations=16)
        s = avalanche_statistics(run)
        measured.append(s["m_pooled"])
        analytic.append(s["m_analytic"])
        assert abs(s["m_MR"] - s["m_pooled"]) < 0.06
    assert np.all(np.diff(measured) > 0)
    assert np.all(np.diff(analytic) > 0)
    # sub-critical: few collisions, the tree-like analytic m holds; it overestimates near m = 1
    assert measured[0] == pytest.approx(analytic[0], abs=0.03)
    assert measured[2] < analytic[2] + 0.02


def test_subcritical_prefers_a_cut_off(regular_graph):
    run = _model(regular_graph, 0.7).cascades(3000, rng=13)
    s = avalanche_statistics(run)
    assert s["m_pooled"] < 0.8
    assert s["preferred"] in ("truncated_power_law", "exponential")


def test_near_critical_size_exponent_is_three_halves(regular_graph):
    """The measured critical point (pooled m closest to 1) has tau within 0.15 of 3/2."""
    results = []
    for m in (0.9, 1.0, 1.1, 1.2):
        run = _model(regular_graph, m).cascades(3000, rng=17, min_iterations=16)
        results.append(avalanche_statistics(run))
    nearest = min(results, key=lambda s: abs(s["m_pooled"] - 1.0))
    assert abs(nearest["m_pooled"] - 1.0) < 0.05
    assert abs(nearest["tau"] - 1.5) <= 0.15


def test_cluster_statistics_on_disconnected_clusters():
    graph = nx.disjoint_union(nx.complete_graph(16), nx.complete_graph(16))
    labels = graph_clusters(graph)
    assert labels is not None and sorted(np.bincount(labels).tolist()) == [16, 16]
    model = ExcitableRegion.from_graph(graph, connected_probability=0.45, clusters=labels)
    run = model.cascades(300, rng=19)
    c = cluster_statistics(run)
    assert c["escape_fraction"] == 0.0 and c["clusters_reached"] == 1.0
    assert c["m_across"] == 0.0 and c["m_within"] > 0
    assert c["within_seed_cluster"] == 1.0
    assert model.cluster_branching()[1] == 0.0
    assert cluster_statistics(_model(nx.random_regular_graph(4, 20, seed=0), 0.5).cascades(5, rng=0)) == {}


def test_stochastic_block_model_blocks_are_the_clusters():
    graph = nx.stochastic_block_model([10, 10, 12], [[0.5, 0.05, 0.05], [0.05, 0.5, 0.05], [0.05, 0.05, 0.5]], seed=1)
    assert np.bincount(graph_clusters(graph)).tolist() == [10, 10, 12]


# ------------------------------------------------------------------------------ runner, CLI
def _tiny_config(tmp_path: Path) -> Path:
    data = yaml.safe_load(CONFIG.read_text())
    data["regions"][0]["columns"] = 64
    data["regions"][0]["lateral"] = {"topology": "random_regular_graph", "args": {"d": 12, "n": 64}}
    data["experiment"]["params"].update(n_avalanches=300, clusters=False)
    data["experiment"]["sweep"]["values"] = [0.44, 0.5]
    path = tmp_path / "tiny_sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_config_validates_and_registers():
    cfg = load_config(CONFIG)
    assert cfg.experiment.kind == "critical_sweep"
    assert get_builder("experiment", "critical_sweep") is run_critical_sweep
    CriticalSweepParams.model_validate(cfg.experiment.params)
    assert len(cfg.experiment.sweep.values) >= 3


def test_runner_returns_one_row_per_value_and_plot_series(tmp_path):
    cfg = load_config(_tiny_config(tmp_path))
    metrics = run_critical_sweep(cfg, seed=1, progress=ProgressFactory(False), trial=0)
    table = metrics["table"]
    assert [row["value"] for row in table] == [0.44, 0.5]
    for key in ("m_pooled", "m_MR", "tau", "alpha", "gamma", "preferred", "n_avalanches"):
        assert key in table[0]
    assert table[0]["m_pooled"] < table[1]["m_pooled"]
    assert {"size_ccdf_0.44", "duration_ccdf_0.5", "m_pooled_vs_coupling"} <= set(metrics["series"])
    json.dumps(metrics)  # JSON-able


def test_bad_swept_value_is_a_clear_error(tmp_path):
    cfg = load_config(_tiny_config(tmp_path), ["experiment.sweep.values=[0.4, 1.7]"])
    with pytest.raises(ValueError, match="1.7"):
        run_critical_sweep(cfg, seed=1, progress=ProgressFactory(False), trial=0)


def test_cli_avalanches_exits_0_on_a_tiny_config(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["avalanches", str(_tiny_config(tmp_path)), "--out", str(out), "--quiet"]) == 0
    payload = json.loads((out / "metrics.json").read_text())
    assert payload["experiment"] == "critical_sweep"
    assert len(payload["trials"][0]["table"]) == 2
    assert "m_pooled" in (out / "metrics.csv").read_text().splitlines()[0]


def test_demo_runs_on_a_tiny_config(tmp_path, capsys):
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "demos" / "critical_sweep.py"
    spec = importlib.util.spec_from_file_location("critical_sweep_demo", path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.main(["--config", str(_tiny_config(tmp_path)), "--skip-settling"]) == 0
    out = capsys.readouterr().out
    assert "measured critical coupling" in out and "regime" in out
    assert demo.regime(0.5, 0.03) == "sub-critical" and demo.regime(1.2, 0.03) == "super-critical"
