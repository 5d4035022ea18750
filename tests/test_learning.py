"""Continual learning, novelty, energy, plasticity selection from YAML, the spiking experiment."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import regions.learning as learning
from columns.plasticity import BCMRule, HebbianRule, STDPRule
from regions.builder import build, run_experiment_trial
from regions.config import ConfigError, load_config
from regions.experiments import learn_objects
from regions.region import Region
from regions.worlds.feature_objects import FeatureObjectWorld

SMALL = {
    "experiment.n_objects": 28,
    "experiment.params.objects_per_stage": 8,
    "experiment.params.novel_objects": 4,
    "experiment.params.novelty_objects": 4,
    "experiment.max_sensations": 6,
    "experiment.params.mlp": False,
}


def small_world(n_objects: int = 20, seed: int = 1) -> FeatureObjectWorld:
    return FeatureObjectWorld(n_objects, 10, 10, 10, seed=seed)


def test_continual_learning_keeps_the_first_objects():
    cfg = load_config("configs/continual_learning.yaml").with_values(SMALL)
    metrics = run_experiment_trial((cfg, 0, 0, False))
    rows = metrics["table"]
    assert [r["objects_learned"] for r in rows] == [8, 16, 24]
    assert all(r["first_set_recognised"] >= 0.95 for r in rows)
    assert rows[-1]["all_recognised"] >= 0.95
    assert rows[-1]["synapses"] > rows[0]["synapses"]  # learning kept growing, nothing was reset
    assert metrics["mlp"] == "off"


def _small_net(*overrides: str):
    cfg = load_config("configs/continual_learning.yaml", [f"{k}={v}" for k, v in SMALL.items()] + list(overrides))
    return build(cfg)


def test_continual_learning_learns_into_the_network_and_plasticity_changes_the_result():
    net = _small_net()
    hebbian = net.run()[0]
    assert net.n_synapses == hebbian["synapses"] == hebbian["table"][-1]["synapses"] > 0 and net.learned
    stdp = _small_net("regions[0].column.plasticity=stdp").run()[0]
    assert hebbian["first_set_recognised_final"] >= 0.95
    # stdp's small steps cannot connect a synapse within one exposure: nothing is learned one-shot
    assert stdp["first_set_recognised_final"] < 0.5 and stdp["plasticity"] == "stdp"


def test_continual_learning_save_then_load_evaluates_without_learning(tmp_path):
    from regions import load

    net = _small_net()
    first = net.run()[0]
    net.save(tmp_path / "m.npz")
    trained = load(tmp_path / "m.npz")
    trained.config = trained.config.with_values({"experiment.phases": ["test"]})
    again = trained.run()[0]
    assert trained.n_synapses == net.n_synapses == again["synapses"]
    for key in ("first_set_recognised_final", "all_recognised_final", "novelty_by_exposure", "energy_learned",
                "energy_novel"):
        assert again[key] == first[key], key
    # bursting input: L2/3 draws its cells from the region's generator, whose state is not saved
    assert again["energy_unseen_world"] == pytest.approx(first["energy_unseen_world"], rel=1e-2)
    assert len(again["table"]) == 1 and again["table"][0]["objects_learned"] == 24
    with pytest.raises(ValueError, match="--load"):
        _small_net("experiment.phases=[test]").run()


def test_continual_learning_refuses_the_noise_it_does_not_read():
    with pytest.raises(ConfigError, match="experiment.noise"):
        load_config("configs/continual_learning.yaml", ["experiment.noise.feature=0.1"])


def test_novelty_falls_with_repetition():
    world = small_world()
    region = Region(1, 2400, seed=2)
    by_exposure = learning.novelty_by_exposure(region, world, np.arange(4))
    assert by_exposure.shape == (3,)
    assert by_exposure[0] > 0.5  # a fresh region: most pairs are unseen
    assert by_exposure[1] < 0.1 * by_exposure[0]
    assert by_exposure[2] <= by_exposure[1] + 1e-12
    assert region.L4.novelty.shape == (1,)  # the per-sensation signal a curiosity policy reads


def test_energy_is_lower_for_learned_input():
    world = small_world()
    region = Region(1, 2400, seed=2)
    learn_objects(region, world, np.arange(5), 3)
    learned = learning.energy_per_sensation(region, world, np.arange(3))
    unseen = learning.energy_per_sensation(region, learning.foreign_world(world, 99), np.arange(3))
    assert learned["novelty"] == 0.0 and unseen["novelty"] == 1.0
    assert learned["l4_active_cells"] == 20  # one predicted cell per active minicolumn
    assert unseen["l4_active_cells"] == 20 * 16  # every active minicolumn bursts
    assert learned["l23_active_cells"] >= 30


def test_pair_vectors_encode_each_pair_once():
    world = small_world()
    x = learning.pair_vectors(world, np.arange(3))
    assert x.shape == (3, 100) and np.all(x.sum(axis=1) == 10)
    loc, feat = world.objects[2][4]
    assert x[2, loc * 10 + feat] == 1


def test_mlp_sequential_reports_each_stage():
    pytest.importorskip("sklearn")
    world = small_world()
    out = learning.mlp_sequential(world, [np.arange(5), np.arange(5, 10)], hidden=16, max_epochs=200)
    assert len(out) == 2 and out[0]["first"] == 1.0
    assert 0.0 <= out[1]["first"] <= 1.0 and out[1]["all"] >= 0.5


def test_recognition_rejects_misaligned_codes():
    world = small_world()
    region = Region(1, 2400, seed=2)
    with pytest.raises(ValueError, match="codes"):
        learning.recognition(region, world, [], np.arange(2))


# ------------------------------------------------------------------ plasticity selection
def _region(plasticity: str) -> Region:
    cfg = load_config("configs/touch_objects.yaml").with_values({"regions[0].column.plasticity": plasticity,
                                                                 "regions[0].columns": 1})
    return next(iter(build(cfg).regions.values()))


def _learned_digest(region: Region) -> str:
    world = small_world(4)
    learn_objects(region, world, np.arange(4), 3)
    h = hashlib.sha256()
    for name, array in sorted(region.state_arrays().items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def test_plasticity_key_selects_the_rule():
    hebb = _region("hebbian")
    assert isinstance(hebb.L4.basal_rule, HebbianRule) and isinstance(hebb.L23.distal_rule, HebbianRule)
    assert hebb.L23.proximal_rule.increment == hebb.l23_params.proximal_increment
    bcm = _region("bcm")
    assert isinstance(bcm.L23.proximal_rule, BCMRule) and isinstance(bcm.L4.basal_rule, BCMRule)
    assert bcm.L23.proximal_rule is not bcm.L23.distal_rule  # one stateful rule per store
    stdp = _region("STDP")
    assert isinstance(stdp.L23.distal_rule, STDPRule)
    # another rule learns other permanences; the default equals an explicit "hebbian"
    assert _learned_digest(_region("stdp")) != _learned_digest(_region("hebbian"))
    default = load_config("configs/touch_objects.yaml").with_values({"regions[0].columns": 1})
    assert _learned_digest(next(iter(build(default).regions.values()))) == _learned_digest(_region("hebbian"))


def test_hebbian_selection_is_bit_for_bit_the_direct_update():
    """Selecting "hebbian" again reproduces exactly what the layers learned before selection existed."""
    a, b = Region(1, 2400, seed=5), Region(1, 2400, seed=5)
    b.L4.set_plasticity("hebbian")
    b.L23.set_plasticity("hebbian")
    assert _learned_digest(a) == _learned_digest(b)


def test_bad_plasticity_name_gives_did_you_mean():
    cfg = load_config("configs/touch_objects.yaml").with_values({"regions[0].column.plasticity": "stpd"})
    with pytest.raises(ConfigError, match=r"regions\[0\]\.column\.plasticity.*did you mean 'stdp'"):
        build(cfg).regions


def test_rule_that_cannot_serve_l4_names_the_key():
    from columns.layers.l4 import L4Layer, L4Params

    layer = L4Layer(1, 100, params=L4Params(predicted_segment_decrement=0.01))
    with pytest.raises(ValueError, match="cannot serve L4"):
        layer.set_plasticity("bcm")


# ------------------------------------------------------------------------- spiking network
def test_spiking_network_experiment_runs_short():
    cfg = load_config("configs/spiking_network.yaml").with_values(
        {"experiment.params.duration_ms": 600, "experiment.params.observe_fractions": [1.0, 0.2]})
    metrics = run_experiment_trial((cfg, 0, 0, False))
    assert metrics["neurons"] == 1000 and metrics["duration_ms"] == 600
    assert 1 < metrics["rate_all_hz"] < 50
    assert len(metrics["table"]) == 2 and metrics["table"][1]["neurons"] < 400
    assert {"tau", "alpha", "m"} <= set(metrics["table"][0])
    assert len(metrics["series"]["population_rate"]["y"]) == 600


def test_spiking_network_rejects_bad_params():
    cfg = load_config("configs/spiking_network.yaml").with_values({"experiment.params.transient_ms": 5000})
    with pytest.raises(ValueError, match="duration_ms"):
        run_experiment_trial((cfg, 0, 0, False))
