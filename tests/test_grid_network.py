"""grid_objects is a protocol over the one Network: the region holds L6 grid modules, the learned model
stays in the network, and --save / --load recognise the same objects without learning."""

from __future__ import annotations

import json

import numpy as np
import pytest

from regions import build, load, load_config
from regions.cli import describe_config, main
from regions.config import ConfigError

CFG = "configs/grid_objects.yaml"
SMALL = ["experiment.n_objects=20", "experiment.n_features=40"]


def test_the_network_region_holds_the_listed_layers_and_learns_into_them():
    net = build(load_config(CFG, SMALL))
    region = net.regions["S1"]
    assert region.L6 is not None and region.L23 is None  # layers [L6, L4]: no object layer built
    assert region.columns[0].layers == ["L4", "L6"]
    assert region.L4.basal_size == region.L6.cells_per_column == 10 * 10 * 10
    assert region.L6.anchor_input_size == region.L4.cells_per_column
    assert net.n_synapses == 0
    metrics = net.run()[0]
    assert metrics["accuracy"] == 1.0 and metrics["learned_batched"]
    # every learned synapse lives in the region's own stores: L4 basal onto L6, L6 anchors onto L4
    assert net.n_synapses == region.L4.basal.n_synapses + region.L6.anchor.n_synapses == metrics["synapses"] > 0
    assert region.L4.basal.n_segments == 20 * 10 * 10 and region.L6.anchor.n_segments == 20 * 10 * 10
    assert net.memory["grid_objects.location_codes"].shape == (20, 10, 1, 10)
    text = describe_config(net.config, CFG)
    assert "L6" in text and "L23" not in text.split("layers")[1].splitlines()[0]


@pytest.mark.parametrize("extra", [[], ["regions[0].columns=3", "regions[0].column.layers=[L6, L4, L23, L1]"]],
                         ids=["one column", "voting columns"])
def test_saved_model_recognises_the_same_objects_without_learning(tmp_path, extra):
    net = build(load_config(CFG, SMALL + extra))
    first = net.run()[0]
    net.save(tmp_path / "m.npz")
    trained = load(tmp_path / "m.npz")
    assert trained.n_synapses == net.n_synapses
    np.testing.assert_array_equal(trained.regions["S1"].L6.anchor.connected_matrix().toarray(),
                                  net.regions["S1"].L6.anchor.connected_matrix().toarray())
    trained.config = trained.config.with_values({"experiment.phases": ["test"]})
    again = trained.run()[0]
    assert trained.n_synapses == net.n_synapses  # nothing learned
    assert again["accuracy"] == first["accuracy"] == 1.0
    assert again["median_sensations"] == first["median_sensations"]
    # the test phase alone on an untrained network names the cure
    if extra:  # the object layer and L4's feedback onto it were saved too
        for name in ("L23.proximal", "L23.distal", "L4.apical"):
            assert trained.regions["S1"]._stores()[name].n_synapses == net.regions["S1"]._stores()[name].n_synapses > 0
        assert again["mean_sensations"] == first["mean_sensations"]
    fresh = build(load_config(CFG, SMALL + extra + ["experiment.phases=[test]"]))
    with pytest.raises(ValueError, match="--load"):
        fresh.run()


def test_cli_save_then_load_recognises_the_same_objects(tmp_path):
    sets = [a for s in SMALL for a in ("--set", s)]
    model = str(tmp_path / "m.npz")
    assert main(["run", CFG, *sets, "--out", str(tmp_path / "a"), "--quiet", "--save", model]) == 0
    assert main(["run", CFG, *sets, "--out", str(tmp_path / "b"), "--quiet", "--load", model]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["trials"][0]
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())["trials"][0]
    assert b["synapses"] == a["synapses"] > 0
    assert b["accuracy"] == a["accuracy"] == 1.0
    # a model of another world (other objects) is refused, naming the mismatch
    assert main(["run", CFG, "--set", "experiment.n_objects=30", "--set", "experiment.n_features=40",
                 "--load", model, "--quiet", "--out", str(tmp_path / "c")]) != 0


def test_voting_columns_run_through_the_network_region():
    net = build(load_config(CFG, SMALL + ["regions[0].columns=3", "regions[0].column.layers=[L6, L4, L23, L1]"]))
    metrics = net.run()[0]
    region = net.regions["S1"]
    assert region.n_columns == 3 and region.L6.n_columns == 3 and region.L23.n_columns == 3
    assert metrics["accuracy"] == 1.0 and metrics["median_sensations"] <= 2.0


def test_a_layer_grid_objects_does_not_drive_is_refused():
    with pytest.raises(ConfigError) as info:
        load_config(CFG, ["regions[0].column.layers=[L6, L4, L5]"])
    assert "L5" in str(info.value)


def test_the_readout_cache_follows_stores_changed_in_place():
    from regions import gridpath

    net = build(load_config(CFG, SMALL))
    region, world = net.regions["S1"], net.world
    codes = gridpath.learn_objects(region, world)
    first = gridpath.readout(region, world, codes)
    assert gridpath.readout(region, world, codes) is first  # nothing changed: the cached view
    region.L4.basal.create_segments(np.array([0]))  # a change in place (same store object)
    assert gridpath.readout(region, world, codes) is not first
