"""The learned model is the product: run leaves it in the network; --save / --load round-trip it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from regions import build, load, load_config
from regions.cli import main

SMALL = ["experiment.n_objects=6", "experiment.max_sensations=4", "regions[0].columns=2"]


def test_run_learns_into_net_and_the_saved_model_recognises_without_learning(tmp_path):
    net = build(load_config("configs/touch_objects.yaml", SMALL))
    first = net.run()[0]
    assert net.n_synapses > 0 and net.learned
    net.save(tmp_path / "m.npz")
    trained = load(tmp_path / "m.npz")
    assert trained.n_synapses == net.n_synapses
    synapses = trained.n_synapses
    trained.config = trained.config.with_values({"experiment.phases": ["test"]})
    again = trained.run()[0]
    assert trained.n_synapses == synapses          # no learning step
    assert again["fraction_converged"] == first["fraction_converged"] == 1.0
    assert again["accuracy_at_4"] == first["accuracy_at_4"]


def test_test_phase_on_an_untrained_network_names_the_cure():
    net = build(load_config("configs/touch_objects.yaml", SMALL + ["experiment.phases=[test]"]))
    with pytest.raises(ValueError, match="--load"):
        net.run()


def test_cli_save_then_load_recognises_the_same_objects(tmp_path, capsys):
    cfg = "configs/touch_objects.yaml"
    sets = [a for s in SMALL for a in ("--set", s)]
    assert main(["run", cfg, *sets, "--out", str(tmp_path / "a"), "--quiet", "--save", str(tmp_path / "m.npz")]) == 0
    assert main(["run", cfg, *sets, "--out", str(tmp_path / "b"), "--quiet", "--load", str(tmp_path / "m.npz")]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["trials"][0]
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())["trials"][0]
    assert b["synapses"] == a["synapses"] > 0
    assert b["fraction_converged"] == a["fraction_converged"] == 1.0
    assert b["l4_active_first_exposure"] == 0.0    # nothing was learned in the second run
    # a model trained on another network is refused before any work
    assert main(["run", cfg, "--set", "regions[0].columns=3", "--load", str(tmp_path / "m.npz"), "--quiet",
                 "--out", str(tmp_path / "c")]) == 2
    assert "regions differ" in capsys.readouterr().err
    assert main(["run", cfg, *sets, "--save", str(tmp_path / "missing" / "m.npz"), "--quiet"]) == 2


def test_readme_python_example_saves_a_non_empty_model(tmp_path):
    net = build(load_config("configs/touch_objects.yaml", ["experiment.n_objects=5"]))
    metrics = net.run()[0]
    region = net.regions["S1"]
    assert isinstance(region.columns[0].L23.active, np.ndarray) and metrics["fraction_converged"] > 0
    net.save(tmp_path / "model.npz")
    assert load(tmp_path / "model.npz").n_synapses == net.n_synapses > 0
