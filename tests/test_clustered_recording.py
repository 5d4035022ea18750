"""configs/clustered_recording.yaml: a clustered (stochastic block model) region learns objects
while its recording block writes L4 and L2/3 activity per settling iteration to disk in chunks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from regions.cli import main
from regions.dynamics.recording import load_recording

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "clustered_recording.yaml"
SHRUNK = ["--set", "experiment.n_objects=4", "--set", "experiment.max_sensations=3",
          "--set", "regions[0].column.L23.cells=512", "--set", "regions[0].column.L23.sdr_size=20",
          "--set", "regions[0].column.L23.distal.threshold=8", "--set", "regions[0].column.L23.distal.sample_size=12",
          "--set", "experiment.params.overlap_threshold=15", "--set", "experiment.params.max_active=30",
          "--set", "recording.chunk_events=2000"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clustered") / "run"
    assert main(["run", str(CONFIG), *SHRUNK, "--out", str(out), "--quiet"]) == 0
    return out


def test_the_recording_holds_both_layers_of_every_column_per_settling_iteration(run) -> None:
    rec = load_recording(run)
    assert rec.regions == ["S1"] and sorted(rec.layers("S1")) == ["L23", "L4"]
    sens = rec.sensations("S1")
    n_learn, n_infer = int(sens["learn"].sum()), int((sens["learn"] == 0).sum())
    assert n_learn == 4 * 10 and n_infer == 4 * 3  # every learning step and every touch
    for layer in ("L4", "L23"):
        ev = rec.events("S1", layer)
        assert set(np.unique(ev["column"])) == set(range(16))  # all 16 columns
        assert ev["cell"].max() < rec.cells_per_column("S1", layer)
    # inference steps are recorded at each settling iteration: some touch settles over several
    l23 = rec.events("S1", "L23")
    infer_steps = sens["step"][sens["learn"] == 0]
    iters = l23["iteration"][np.isin(l23["step"], infer_steps)]
    assert iters.max() >= 1
    # chunks bounded by chunk_events (2000): the L2/3 stream took several files
    chunks = sorted((run / "recording" / "S1" / "L23").glob("chunk_*.npz"))
    assert len(chunks) >= 2
    assert all(np.load(c)["cell"].size <= 2000 for c in chunks)


def test_without_the_block_nothing_is_recorded_and_the_metrics_are_the_same(run, tmp_path) -> None:
    raw = yaml.safe_load(CONFIG.read_text())
    del raw["recording"]
    path = tmp_path / "no_recording.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    assert main(["run", str(path), *SHRUNK[:-2], "--out", str(out), "--quiet"]) == 0
    assert not (out / "recording").exists()
    with_rec = json.loads((run / "metrics.json").read_text())["trials"][0]
    without = json.loads((out / "metrics.json").read_text())["trials"][0]
    for key in ("mean_sensations_to_converge", "fraction_converged", "synapses"):
        assert with_rec[key] == without[key]


def test_the_recording_feeds_the_avalanche_analysis(run, capsys) -> None:
    assert main(["avalanches", str(run)]) == 0
    assert (run / "recording" / "avalanches.json").is_file()
