"""Arena navigation: path integration drift, landmark recall, replay, the runner and the CLI."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from regions.builder import build, get_builder
from regions.cli import main
from regions.config import ConfigError, load_config
from regions.entorhinal import CoordinateFrame
from regions.navigation import (
    ArenaNavigationParams,
    integrate_walk,
    landmark_visits,
    navigate,
    navigation_metrics,
    position_error_scale,
    recall_landmark_episodes,
    recall_place_cells,
    run_arena_navigation,
)
from regions.worlds.arena import ArenaWorld

SMALL = """
seed: 3
regions:
  - name: EC
    column:
      layers: [L6, L4, L23]
      L6: {kind: grid_modules, modules: 4, cells_per_axis: 10, scales: [3.0, 4.0, 5.0, 7.0]}
      L4: {minicolumns: 1024, active_minicolumns: 20}
world:
  kind: arena
  params: {side: 10.0, n_landmarks: 5, sense_radius: 1.2}
experiment:
  kind: arena_navigation
  params:
    steps: 400
    walkers: 40
    phase_noise: 0.002
    checkpoints: [10, 100]
    place_cells: 40
    field_resolution: 20
output:
  dir: OUT
  plot: PLOT
"""


def small_config(tmp_path: Path, *, plot: bool = False, steps: int | None = None) -> Path:
    text = textwrap.dedent(SMALL).lstrip().replace("OUT", str(tmp_path / "out"))
    text = text.replace("PLOT", str(plot).lower())
    if steps is not None:
        text = text.replace("steps: 400", f"steps: {steps}")
    path = tmp_path / "arena_small.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def small_metrics(tmp_path_factory) -> dict:
    return build(load_config(small_config(tmp_path_factory.mktemp("nav")))).run()[0]


def test_registered_with_params_model():
    assert get_builder("experiment", "arena_navigation") is run_arena_navigation
    with pytest.raises(ValueError, match="periods"):
        ArenaNavigationParams(periods=[3.0, 4.0])  # the periods are the column's L6 scales


def test_runner_metrics_replay_recall_and_drift(small_metrics):
    m = small_metrics
    assert m["replay_rho"] > 0.9 and m["replay_fraction"] == 1.0
    assert m["landmarks_stored"] >= 3 and m["landmark_revisits"] >= 3
    assert m["landmark_recall_accuracy"] >= 0.9
    # the drift of the phases follows sigma * sqrt(N) (40 walkers x 4 modules x 2 axes)
    assert 0.8 < m["phase_error_ratio"] < 1.2
    assert m["sigma_sqrt_n"] == pytest.approx(0.002 * math.sqrt(400))
    assert 0.0 < m["place_fraction_with_field"] <= 1.0 and m["place_field_centre_error"] < 1.0
    assert [row["steps"] for row in m["table"]] == [10, 100, 400]
    errors = [row["median_error_in_arena"] for row in m["table"]]
    assert errors == sorted(errors)  # drift grows
    series = m["series"]
    assert {"phase_error_vs_steps", "trajectory", "decoded_trajectory"} <= set(series)
    assert len(series["trajectory"]["x"]) == 401
    json.dumps(m)  # JSON-able, as the CLI writes it


def test_runner_is_reproducible(tmp_path, small_metrics):
    again = build(load_config(small_config(tmp_path))).run()[0]
    assert again["replay_rho"] == small_metrics["replay_rho"]
    assert again["table"] == small_metrics["table"]


def test_the_frame_is_the_column_l6(tmp_path):
    """The grid modules that path-integrate are the column's L6 block: its scales, orientations and
    cells; another L6 block changes the run."""
    net = build(load_config(small_config(tmp_path)))
    result = navigate(net)
    l6 = net.regions["EC"].L6.modules
    assert result.frame.lattice == "hexagonal"
    assert np.allclose(result.frame.periods, [3.0, 4.0, 5.0, 7.0])
    assert np.allclose(result.frame.phase_matrices, CoordinateFrame.from_grid_modules(l6).phase_matrices)
    assert result.frame.cells_per_code == net.regions["EC"].L6.cells_per_column == 400
    assert result.world.feature_size == 1024 and result.landmark_episodes  # features sized by L4
    other = build(load_config(small_config(tmp_path), ["regions[0].column.L6.scales=[2.0, 3.0, 5.0, 7.0]",
                                                        "regions[0].column.L6.cells_per_axis=8"]))
    moved = navigate(other)
    assert np.allclose(moved.frame.periods, [2.0, 3.0, 5.0, 7.0]) and moved.frame.cells_per_code == 4 * 64
    assert navigation_metrics(moved)["table"] != navigation_metrics(result)["table"]


def test_landmark_identities_are_learned_l23_codes(tmp_path):
    net = build(load_config(small_config(tmp_path), ["regions[0].column.L23.cells=2048",
                                                      "regions[0].column.L23.sdr_size=30"]))
    assert net.n_synapses == 0
    result = navigate(net)
    region = net.regions["EC"]
    objects = [e["object"] for e in result.landmark_episodes.values()]
    assert objects and all(o.size == 30 and o.max() < 2048 for o in objects)
    assert len({tuple(o) for o in objects}) == len(objects)  # one code per landmark
    assert net.n_synapses > 0
    # the column learned each landmark's feature at its location: sensing it there again recalls its code
    for k, episode in result.landmark_episodes.items():
        region.reset()
        region.L6.modules.reset_to_cells(episode["location"].astype(np.int64))
        region.L6.path_integrate(np.zeros(2))  # refresh the active grid cells
        region.infer_grid_sensation(result.world.features[[k]].indices.astype(np.int64))
        assert np.intersect1d(region.L23.active_cells, episode["object"]).size == 30, k


def test_save_then_load_keeps_place_cells_and_landmarks(tmp_path):
    from regions import load

    net = build(load_config(small_config(tmp_path)))
    result = navigate(net)
    net.save(tmp_path / "m.npz")
    trained = load(tmp_path / "m.npz")
    assert trained.memory.keys() == net.memory.keys()
    place = recall_place_cells(trained, "EC", result.frame.cells_per_code)
    codes = result.frame.grid_code(result.path)
    assert np.array_equal(place.activity(codes), result.place.activity(codes))
    episodes = recall_landmark_episodes(trained, "EC")
    assert episodes.keys() == result.landmark_episodes.keys()
    for k, fields in episodes.items():
        for key, code in fields.items():
            assert np.array_equal(code, result.landmark_episodes[k][key]), (k, key)
    with pytest.raises(ValueError, match="place cells"):
        recall_place_cells(build(load_config(small_config(tmp_path))), "EC", 400)


def test_a_column_without_grid_modules_is_refused_at_load(tmp_path):
    path = small_config(tmp_path)
    path.write_text(path.read_text().replace("L6: {kind: grid_modules, modules: 4, cells_per_axis: 10, "
                                             "scales: [3.0, 4.0, 5.0, 7.0]}", "L6: {kind: encoder}"))
    with pytest.raises(ConfigError, match="L6 of kind grid_modules"):
        load_config(path)


def test_noise_free_integration_is_exact():
    frame = CoordinateFrame((3, 4, 5, 7))
    world = ArenaWorld(10.0, 0, seed=1)
    path = world.random_walk(200, 0.4, np.random.default_rng(1))
    result = integrate_walk(frame, path, n_walkers=3, phase_noise=0.0, rng=np.random.default_rng(2),
                            checkpoints=[50], search_box=(-2.0, 12.0, -2.0, 12.0))
    assert np.all(result.rms_phase_error < 1e-9)
    assert all(row.median_error_in_arena < 1e-6 and row.median_error_full_range < 1e-6 for row in result.drift)


def test_position_error_scale_square_lattice():
    periods = np.array([3.0, 4.0, 5.0, 7.0])
    expected = math.sqrt(2.0 / np.sum(periods**-2.0))
    assert position_error_scale(CoordinateFrame(periods)) == pytest.approx(expected)


def test_landmark_visits_are_entries_and_leave_the_world_in_place():
    world = ArenaWorld(10.0, 2, sense_radius=1.0, seed=0)
    a, b = world.landmarks
    start = world.position.copy()
    path = np.array([a + [3.0, 0.0], a, a + [0.1, 0.0], a + [3.0, 0.0], a, b])
    path = np.clip(path, 0.0, 10.0)
    visits = landmark_visits(world, path)
    assert [(v.step, v.landmark) for v in visits] == [(1, 0), (4, 0), (5, 1)]
    assert np.allclose(visits[0].offset, 0.0) and visits[0].feature.size == 20
    assert np.array_equal(world.position, start)


def test_needs_the_arena_world(tmp_path):
    with pytest.raises(ConfigError, match="world.kind: experiment 'arena_navigation' runs in world arena"):
        load_config(small_config(tmp_path)).with_values({"world.kind": "feature_objects", "world.params": {}})


def test_bad_params_name_the_key(tmp_path):
    path = small_config(tmp_path)
    path.write_text(path.read_text().replace("walkers: 40", "walkers: 0"))
    with pytest.raises(ConfigError, match="walkers"):
        load_config(path)
    with pytest.raises(ValueError):
        ArenaNavigationParams(replay_noise=1.0)


def test_cortical_run_tiny_arena(tmp_path, capsys):
    path = small_config(tmp_path, steps=60)
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "replay_rho" in json.dumps(metrics)


def test_cortical_run_with_output_plot_writes_the_trajectory_figure(tmp_path):
    pytest.importorskip("matplotlib")
    path = small_config(tmp_path, plot=True, steps=60)
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert (tmp_path / "out" / "arena_navigation.png").stat().st_size > 0  # the runner's figure
    assert list((tmp_path / "out").glob("figure_*.png"))  # the CLI's figures of the series
