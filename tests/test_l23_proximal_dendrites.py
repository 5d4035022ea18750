"""L2/3 proximal dendrites: one segment per (cell, sensation) (default) or one dendrite per cell
summing every learned pattern (``proximal_dendrites="per_cell"``, the 2017 reference's pooler)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from columns.layers import L4Params
from columns.layers.l23 import L23Params
from regions import load_config
from regions.config import ConfigError
from regions.experiments import l23_params, learn_objects, touch_objects
from regions.region import Region
from regions.worlds.feature_objects import FeatureObjectWorld

ROOT = Path(__file__).resolve().parent.parent


def _trained(dendrites: str, n_objects: int = 10, seed: int = 0):
    world = FeatureObjectWorld(n_objects, 5, 10, 10, seed=seed)
    params = L23Params(cells=1024, sdr_size=20, distal_threshold=8, distal_sample_size=12,
                       proximal_dendrites=dendrites)
    region = Region(1, 2400, L4Params(), params, apical_feedback=False, settle_max_iterations=3, seed=seed)
    codes, _ = learn_objects(region, world, np.arange(n_objects), repeats=3)
    return world, region, codes


def test_per_cell_keeps_one_proximal_dendrite_per_cell_across_objects() -> None:
    _, region, codes = _trained("per_cell")
    store = region.L23.proximal
    counts = store.cell_segment_count
    used = np.unique(np.concatenate([c.indices for c in codes]))
    assert counts.max() == 1  # never a second dendrite on a cell
    assert np.all(counts[used] == 1)  # every cell of a learned code has its dendrite
    # a cell shared by several objects holds the synapses of all of them on that one dendrite
    all_cells = np.concatenate([c.indices for c in codes])
    shared = np.flatnonzero(np.bincount(all_cells, minlength=store.n_cells) > 1)
    assert shared.size > 0
    seg_of = np.full(store.n_cells, -1)
    live = np.flatnonzero(store.segment_cell >= 0)
    seg_of[store.segment_cell[live]] = live
    only_cells = np.setdiff1d(used, shared)
    assert store.segment_synapse_count[seg_of[shared]].mean() > store.segment_synapse_count[seg_of[only_cells]].mean()


def test_per_sensation_grows_one_segment_per_sensation_of_each_object() -> None:
    world, region, codes = _trained("per_sensation")
    counts = region.L23.proximal.cell_segment_count
    used = np.unique(np.concatenate([c.indices for c in codes]))
    # each object's cells learned each of its sensations on a segment of its own
    assert counts[used].min() >= world.features_per_object


@pytest.mark.parametrize("dendrites", ["per_cell", "per_sensation"])
def test_learned_objects_are_recognised_without_noise(dendrites: str) -> None:
    world, region, codes = _trained(dendrites)
    objects = np.arange(len(codes))
    out = touch_objects(region, world, codes, objects, np.random.default_rng(0), max_sensations=5,
                        overlap_threshold=15, max_active=30)
    assert out["correct"][:, -1].all()


def test_the_config_key_reaches_the_layer_and_a_bad_value_is_named(tmp_path) -> None:
    raw = yaml.safe_load((ROOT / "configs" / "touch_objects_noise.yaml").read_text())
    raw["regions"][0]["column"]["L23"].setdefault("proximal", {})["dendrites"] = "per_cell"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = load_config(path)
    assert l23_params(cfg.regions[0]).proximal_dendrites == "per_cell"
    raw["regions"][0]["column"]["L23"]["proximal"]["dendrites"] = "per_synapse"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"dendrites"):
        load_config(path)
    with pytest.raises(ValueError, match="per_synapse"):
        L23Params(proximal_dendrites="per_synapse")


def _trained_distal(dendrites: str, n_objects: int = 10, seed: int = 0, columns: int = 1):
    world = FeatureObjectWorld(n_objects, 5, 10, 10, seed=seed)
    params = L23Params(cells=1024, sdr_size=20, distal_threshold=8, distal_sample_size=12,
                       distal_dendrites=dendrites)
    region = Region(columns, 2400, L4Params(), params, apical_feedback=False, settle_max_iterations=3, seed=seed)
    codes, _ = learn_objects(region, world, np.arange(n_objects), repeats=3)
    return world, region, codes


def test_per_source_keeps_one_distal_dendrite_per_cell_and_source() -> None:
    world, region, codes = _trained_distal("per_source", columns=2)
    store = region.L23.distal
    live = np.flatnonzero(store.segment_cell >= 0)
    # at most one dendrite per (cell, source column): 2 columns -> at most 2 per cell
    assert store.cell_segment_count.max() <= 2
    assert region.L23._obj_src_keys.size == live.size
    # the per-object layer grows one per (cell, source, object): a shared cell holds more
    _, per_object, _codes = _trained_distal("per_object", columns=2)
    assert per_object.L23.distal.cell_segment_count.max() > 2
    # the summed dendrites still recognise what they learned
    out = touch_objects(region, world, codes, np.arange(len(codes)), np.random.default_rng(0), max_sensations=5,
                        overlap_threshold=15, max_active=30)
    assert out["correct"][:, -1].all()


def test_per_source_map_survives_state_arrays_round_trip() -> None:
    world, region, codes = _trained_distal("per_source")
    arrays = region.state_arrays()
    fresh = Region(1, 2400, L4Params(), region.l23_params, apical_feedback=False, settle_max_iterations=3, seed=0)
    fresh.load_state_arrays(arrays)
    assert np.array_equal(fresh.L23._obj_src_keys, region.L23._obj_src_keys)
    before = fresh.L23.distal.n_segments
    # learning one more object on the loaded layer reuses the cells' dendrites: no second dendrite
    # for a (cell, source) already present
    learn_objects(fresh, world, np.array([0]), repeats=3)
    assert fresh.L23.distal.cell_segment_count.max() <= 1
    assert fresh.L23.distal.n_segments >= before


@pytest.mark.parametrize("extra", [[], ["regions[0].column.L23.proximal.dendrites=per_cell",
                                        "regions[0].column.L23.distal.dendrites=per_source"]])
def test_the_budget_counts_the_segments_each_dendrite_model_grows(extra) -> None:
    from regions import build
    from regions.cli import estimate_budget

    cfg = load_config(ROOT / "configs" / "touch_objects.yaml",
                      ["experiment.n_objects=6", "experiment.max_sensations=1", "experiment.params.test_objects=1",
                       *extra])
    net = build(cfg)
    net.run(trials=1)
    region = net.regions["S1"]
    learned = region.L23.proximal.n_segments + region.L23.distal.n_segments
    estimate = next(r for r in estimate_budget(cfg) if r["layer"] == "L23")["segments"]
    assert abs(estimate - learned) <= 0.1 * learned, (estimate, learned)
