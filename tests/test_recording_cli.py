"""`cortical avalanches` on any recorded run; `cortical run` writes the recording into its output directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regions.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def recorded_config(tmp_path):
    path = tmp_path / "rec.yaml"
    path.write_text(
        f"extends: {ROOT / 'configs' / 'touch_objects.yaml'}\n"
        "experiment: {n_objects: 4, max_sensations: 3}\n"
        "recording: {layers: [L4, L23], chunk_events: 2000}\n"
    )
    return path


def test_run_writes_the_recording_and_avalanches_reads_it(recorded_config, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(recorded_config), "--out", str(out), "--quiet"]) == 0
    index = json.loads((out / "recording" / "index.json").read_text())
    assert index["complete"] and set(index["regions"]["S1"]["layers"]) == {"L4", "L23"}
    capsys.readouterr()
    assert main(["avalanches", str(out)]) == 0
    text = capsys.readouterr().out
    assert "52 steps recorded" in text and "L23" in text and "L4" in text
    rows = json.loads((out / "recording" / "avalanches.json").read_text())
    assert [(r["region"], r["layer"]) for r in rows] == [("S1", "L4"), ("S1", "L23")]
    assert all(r["events"] > 0 and r["avalanches"] >= 1 for r in rows)
    # the recording directory itself works too; --plot draws each layer's size and duration CCDF
    pytest.importorskip("matplotlib")
    assert main(["avalanches", str(out / "recording"), "--quiet", "--plot"]) == 0
    for layer in ("L4", "L23"):
        png = out / "recording" / f"avalanches_S1_{layer}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_avalanches_of_a_config_with_a_recording_runs_it_first(recorded_config, tmp_path, capsys):
    out = tmp_path / "direct"
    assert main(["avalanches", str(recorded_config), "--out", str(out)]) == 0
    assert (out / "metrics.json").is_file() and (out / "recording" / "avalanches.json").is_file()
    assert "steps recorded" in capsys.readouterr().out


def test_avalanches_refuses_what_holds_no_recording(tmp_path, capsys):
    assert main(["avalanches", str(tmp_path)]) == 2
    assert "no recording here" in capsys.readouterr().err
    assert main(["avalanches", str(tmp_path), "--set", "seed=1"]) == 2
    assert "--set applies to a config" in capsys.readouterr().err
    assert main(["avalanches", str(ROOT / "configs" / "touch_objects.yaml")]) == 2
    assert "critical_sweep" in capsys.readouterr().err


def test_a_loaded_trained_network_records_its_test_phase(recorded_config, tmp_path):
    model = tmp_path / "model.npz"
    assert main(["run", str(recorded_config), "--out", str(tmp_path / "train"), "--save", str(model), "--quiet"]) == 0
    assert main(["run", str(recorded_config), "--out", str(tmp_path / "test"), "--load", str(model), "--quiet"]) == 0
    from regions.dynamics.recording import load_recording

    rec = load_recording(tmp_path / "test")
    assert rec.steps == 4 * 3 and rec.sensations("S1")["learn"].tolist() == [0] * 12  # touches only, no learning
