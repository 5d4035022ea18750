"""Digit saccades: learned images are recognised; held-out digits beat chance."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from regions.region import Region  # noqa: E402
from regions.saccades import confusion_matrix, evaluate_digits, learn_digits, make_l5  # noqa: E402
from regions.worlds.digits import DigitSaccadeWorld, load_digit_images, split_digits  # noqa: E402


@pytest.fixture(scope="module")
def learned():
    images, labels = load_digit_images()
    train, test = split_digits(labels, 1, 4, np.random.default_rng(0))
    world = DigitSaccadeWorld(images, labels, n_sensors=4, stride=4, prototype_images=train, seed=0)
    region = Region(4, seed=1)
    l5 = make_l5(region, world, "hypothesis")
    object_labels = learn_digits(region, l5, world, train, repeats=3)
    return world, region, l5, object_labels, train, test


def test_learned_images_are_recognised(learned):
    world, region, l5, object_labels, train, _ = learned
    assert world.n_fixations == 9
    correct, episodes = evaluate_digits(region, l5, world, train, object_labels, max_saccades=4)
    assert correct[:, -1].mean() == 1.0
    assert all(len(set(ep.fixations.tolist())) == 4 for ep in episodes)  # no fixation revisited


def test_held_out_digits_beat_chance_and_confusion_counts(learned):
    world, region, l5, object_labels, _, test = learned
    correct, episodes = evaluate_digits(region, l5, world, test, object_labels, max_saccades=5)
    assert correct[:, -1].mean() >= 0.25  # chance is 0.1
    conf = confusion_matrix(world.labels[test], np.array([ep.predicted[-1] for ep in episodes]))
    assert conf.shape == (10, 11) and conf.sum() == len(test)
    assert np.trace(conf[:, :10]) == correct[:, -1].sum()


@pytest.mark.slow
def test_digit_saccades_config_runs():
    from regions.builder import build
    from regions.config import load_config

    metrics = build(load_config("configs/digit_saccades.yaml")).run()[0]
    assert metrics["accuracy_learned_final"] == 1.0
    assert metrics["accuracy_held_out_final"] > 0.2


# ------------------------------------------------------------------ the protocol over the network
SMALL = ["world.params.test_per_class=1", "world.params.stride=4", "experiment.params.max_saccades=4"]


def _net(*overrides: str):
    from regions.builder import build
    from regions.config import load_config

    return build(load_config("configs/digit_saccades.yaml", [*SMALL, *overrides]))


def test_protocol_learns_into_the_network_and_columns_change_the_result():
    one, four = _net("regions[0].columns=1"), _net("regions[0].columns=4")
    m1, m4 = one.run()[0], four.run()[0]
    # the region the run used is the network's own, with the world's locations as L4 basal input
    assert one.regions["V1"].n_columns == 1 and four.regions["V1"].n_columns == 4
    assert four.regions["V1"].location_size == four.world.location_size
    assert m1["synapses"] == one.n_synapses > 0 and m4["synapses"] == four.n_synapses > m1["synapses"]
    assert m1["accuracy_learned_final"] == m4["accuracy_learned_final"] == 1.0
    assert m1["learned_objects"] == m4["learned_objects"] == 10
    assert m1["table"] != m4["table"]  # one eye with 4 patch sensors sees differently from one with 1


def test_world_location_size_sets_the_region_basal_input():
    net = _net("world.params.location_size=1200")
    assert net.world.location_size == 1200 and net.regions["V1"].location_size == 1200
    assert net.run()[0]["accuracy_learned_final"] == 1.0


def test_l5_policy_comes_from_the_column_block():
    hyp, scan = _net().run()[0], _net("regions[0].column.L5.policy=scan").run()[0]
    assert hyp["policy"] == "hypothesis" and scan["policy"] == "scan"
    assert hyp["table"] != scan["table"]


def test_save_then_load_evaluates_without_learning(tmp_path):
    from regions import load

    net = _net()
    first = net.run()[0]
    net.save(tmp_path / "m.npz")
    trained = load(tmp_path / "m.npz")
    synapses = trained.n_synapses
    assert synapses == net.n_synapses > 0
    trained.config = trained.config.with_values({"experiment.phases": ["test"]})
    again = trained.run()[0]
    assert trained.n_synapses == synapses and again["learn_time_s"] < first["learn_time_s"]
    for key in ("accuracy_learned_final", "accuracy_held_out_final", "accuracy_held_out_noisy_final", "table"):
        assert again[key] == first[key], key


def test_test_phase_on_an_untrained_network_names_the_cure():
    with pytest.raises(ValueError, match="--load"):
        _net("experiment.phases=[test]").run()


def test_feature_active_is_the_column_l4_key():
    from regions.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="feature_active"):
        load_config("configs/digit_saccades.yaml", ["world.params.feature_active=20"])
    net = _net("regions[0].column.L4.active_minicolumns=15")
    assert net.world.feature_sdrs.shape[1] == 15
