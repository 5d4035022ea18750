"""Growth of a running region (regions/growth.py): old state bit-identical, recognition kept,
new columns learning by re-exposure, pruning, the growth block, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import regions
from regions import build, load_config
from regions.config import ConfigError
from regions.growth import (Usage, column_synapses, free_l23_cells, grow_region, grown_graph, prune,
                            reexpose_object, remap_code, remove_columns, touch)
from regions.recognition import learn_object

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "touch_objects_growth.yaml"
#: small and fast: 6 objects, 3 learned before 2 -> 4 columns, a 1024-cell L2/3
SMALL = ["regions[0].columns=2", "experiment.n_objects=6", "experiment.n_features=3", "experiment.max_sensations=4",
         "growth.schedule[0].after_objects=3", "growth.schedule[0].add_columns=2",
         "experiment.params.in_use=2", "growth.budget.idle_sensations=8", "regions[0].column.L23.cells=1024"]
KW = dict(max_sensations=4, overlap_threshold=30, max_active=60)


def _learned(n_objects=3, overrides=()):
    net = build(load_config(CONFIG, SMALL + list(overrides)))
    region, world = net.regions["S1"], net.world
    codes, episodes = [], []
    for obj in range(n_objects):
        lo = learn_object(region, (world.sense(obj, np.full(region.n_columns, i))
                                   for i in range(world.features_per_object)), 3)
        codes.append(lo.code)
        episodes.append(region.L23.episode)
    region.reset()
    return net, region, world, codes, episodes


def test_l23_learn_cells_keeps_activity_and_episode_and_forget_cells_frees_them():
    net, region, world, codes, episodes = _learned(2)
    layer = region.L23
    running, active = layer.episode, layer.active_cells.copy()
    cells = np.arange(5, 45, dtype=np.int64)  # column 0: cells that learned no object yet (mostly)
    prev = np.asarray(codes[0].indices[:40], dtype=np.int64)  # column 0's code of object 0
    before = layer.distal.n_synapses
    layer.learn_cells(cells, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), prev, episode=episodes[0])
    assert layer.episode == running and np.array_equal(layer.active_cells, active)
    assert layer.distal.n_synapses > before  # distal segments grew onto the previous activity
    owner = layer.distal.segment_cell
    assert np.isin(cells, owner[owner >= 0]).all()
    layer.forget_cells(cells)
    owner = layer.distal.segment_cell
    assert not np.isin(cells, owner[owner >= 0]).any()  # their segments are gone
    assert layer.distal.synapses_of_presynaptic(cells).slots.size == 0  # and every synapse onto them


def test_growth_keeps_every_old_array_bit_identical():
    net, region, world, codes, _ = _learned()
    before = region.state_arrays()
    grow_region(region, 3, graph=grown_graph(region.lateral_graph, 5))
    after = region.state_arrays()
    assert region.n_columns == 5 and region.L23.sources.shape == (5, 5)
    assert set(before) == set(after)
    for key, value in before.items():
        if key.endswith(".shape"):  # cells and presynaptic spaces grew, limits and timestep kept
            assert after[key][0] == value[0] // 2 * 5 and after[key][2:].tolist() == value[2:].tolist()
        else:
            assert np.array_equal(after[key], value), key


def test_growing_the_l23_pool_keeps_every_old_synapse_in_local_coordinates():
    net, region, world, codes, _ = _learned()
    before = column_synapses(region, np.arange(2))
    n = region.n_synapses
    grow_region(region, 1, l23_cells=256)
    assert region.l23_params.cells == 1280 and region.L23.n_cells == 3 * 1280
    after = column_synapses(region, np.arange(2))
    assert region.n_synapses == n
    for name in before:
        assert np.array_equal(before[name], after[name]), name


def test_grown_region_recognises_old_objects_and_new_columns_learn_them():
    net, region, world, codes, episodes = _learned()
    rng = np.random.default_rng(1)
    grow_region(region, 2)
    codes = [remap_code(c, region.n_columns, region.l23_params.cells) for c in codes]
    res = touch(region, world, codes, np.arange(3), rng, **KW)  # the old columns recognise, new ones are silent
    assert np.isfinite(res["sensations"]).all()
    old = column_synapses(region, np.arange(2))
    for obj in range(3):
        codes[obj] = reexpose_object(region, world, obj, codes[obj], episodes[obj], repeats=3, rng=rng,
                                     listen=False, **KW)
    assert all(np.all(np.diff(c.indptr) == 40) for c in codes)  # every column holds a code now
    new = column_synapses(region, np.arange(2))
    for name in old:  # the old columns only inferred: nothing of theirs changed
        assert np.array_equal(old[name], new[name]), name
    res = touch(region, world, codes, np.arange(3), rng, **KW)
    assert np.isfinite(res["sensations"]).all()  # recognised by all 4 columns together


def test_listening_old_columns_only_add_segments():
    net, region, world, codes, episodes = _learned(2)
    rng = np.random.default_rng(2)
    grow_region(region, 2)
    codes = [remap_code(c, region.n_columns, region.l23_params.cells) for c in codes]
    old = column_synapses(region, np.arange(2))
    reexpose_object(region, world, 0, codes[0], episodes[0], repeats=3, rng=rng, listen=True, **KW)
    new = column_synapses(region, np.arange(2))
    assert np.array_equal(old["L23.proximal"], new["L23.proximal"])
    assert np.array_equal(old["L4.basal"], new["L4.basal"])
    kept = np.isin(new["L23.distal"][:, 0], old["L23.distal"][:, 0])
    assert np.array_equal(new["L23.distal"][kept], old["L23.distal"])  # every old segment as it was
    assert (~kept).sum() > 0 and np.all(new["L23.distal"][~kept][:, 3] >= 2)  # new ones listen to new columns


def test_grow_then_remove_the_new_columns_is_the_identity():
    net, region, world, codes, _ = _learned(2)
    before = region.state_arrays()
    edges = sorted(region.lateral_graph.edges)
    grow_region(region, 2)
    remove_columns(region, [2, 3])
    after = region.state_arrays()
    assert region.n_columns == 2 and sorted(region.lateral_graph.edges) == edges
    for key in before:
        assert np.array_equal(before[key], after[key]), key


def test_remove_a_column_remaps_the_survivors():
    net, region, world, codes, _ = _learned(2)
    grow_region(region, 1)
    survivors = column_synapses(region, np.array([2]))
    remove_columns(region, [0])
    moved = column_synapses(region, np.array([1]))
    # column 2 became column 1; its synapses onto the removed column 0 are gone
    for name, rows in survivors.items():
        rows = rows[rows[:, 3] != 0]
        rows[:, 1] -= 1
        rows[:, 3] -= 1
        assert np.array_equal(rows[:, 1:], moved[name][:, 1:]), name


def test_pruning_frees_synapses_and_keeps_the_objects_in_use():
    net, region, world, codes, _ = _learned(4)
    rng = np.random.default_rng(3)
    usage = Usage(region)
    in_use = np.array([2, 3])
    touch(region, world, codes, in_use, rng, usage=usage, **KW)
    out = prune(region, usage, idle_sensations=4)
    assert out["synapses_after"] < out["synapses_before"] and out["cells_freed"] > 0
    res = touch(region, world, codes, np.arange(4), rng, **KW)
    assert np.isfinite(res["sensations"][in_use]).all()  # in use: still recognised
    assert free_l23_cells(region, np.zeros(0, dtype=np.int64)) == 0


def test_a_synapse_cap_frees_the_stalest_cells_first():
    net, region, world, codes, _ = _learned(4)
    usage = Usage(region)
    touch(region, world, codes, np.array([3]), np.random.default_rng(4), usage=usage, **KW)
    cap = region.n_synapses * 3 // 4
    out = prune(region, usage, synapses=cap)
    assert out["synapses_after"] <= cap
    res = touch(region, world, codes, np.array([3]), np.random.default_rng(5), **KW)
    assert np.isfinite(res["sensations"]).all()


def test_the_growth_block_changes_the_run():
    grown = build(load_config(CONFIG, SMALL)).run()[0]
    plain = build(load_config(CONFIG, SMALL + ["growth=null"])).run()[0]
    assert grown["columns"] == 4 and plain["columns"] == 2
    assert grown["growth_1_old_columns_identical"] is True
    assert grown["growth_1_old_recognised_before"] == grown["growth_1_old_recognised_after"] == 1.0
    assert grown["synapses_after_prune"] < grown["synapses_before_prune"]
    assert grown["in_use_recognised"] == 1.0
    assert [r["stage"] for r in grown["table"]] == ["before growth", "grown", "re-exposed"]
    fewer = build(load_config(CONFIG, SMALL + ["growth.reexpose=0"])).run()[0]
    assert len(fewer["table"]) == 2


def test_growth_keys_are_checked_with_file_and_line(tmp_path):
    text = CONFIG.read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("after_objects: 30", "after_objects: 40"))
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert "growth.schedule[0].after_objects" in str(err.value) and err.value.line is not None
    other = tmp_path / "other.yaml"
    other.write_text(text.replace("kind: touch_objects_growth", "kind: touch_objects")
                     .replace("    in_use: 10", "").replace("experiment.params.in_use", ""))
    with pytest.raises(ConfigError) as err:
        load_config(other)
    assert "does not use growth" in str(err.value) and err.value.line is not None
    with pytest.raises(ConfigError, match="'k' applies to attach: co_active"):
        load_config(CONFIG, ["growth.rule.k=3"])
    with pytest.raises(ConfigError, match="does not use experiment.noise"):
        load_config(CONFIG, ["experiment.noise.feature=0.1"])


def test_co_active_rule_attaches_new_columns_to_the_busiest():
    co = np.array([[5, 1, 1], [1, 9, 9], [1, 9, 9]])
    import networkx as nx

    g = grown_graph(nx.empty_graph(3), 5, attach="co_active", k=2, co_activity=co)
    assert sorted(g.edges) == [(1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]


@pytest.mark.parametrize("extra", [[], ["growth.schedule[0].l23_cells=64", "growth.reexpose=0"]],
                         ids=["columns", "columns and cells"])
def test_a_grown_network_saves_and_loads(tmp_path, extra):
    net = build(load_config(CONFIG, SMALL + extra))
    first = net.run()[0]
    path = tmp_path / "grown.npz"
    net.save(path)
    loaded = regions.load(path)
    a, b = net.state_arrays(), loaded.state_arrays()
    assert set(a) == set(b)
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert loaded.regions["S1"].n_columns == 4
    assert loaded.regions["S1"].L23.n_cells == net.regions["S1"].L23.n_cells
    loaded.config = loaded.config.with_values({"experiment.phases": ["test"]})
    again = loaded.run()[0]
    assert again["columns"] == 4 and again["in_use_recognised"] == first["in_use_recognised"]


def test_the_co_active_rule_runs_from_the_config():
    cfg = load_config(CONFIG, SMALL + ["growth.rule={attach: co_active, k: 1}", "growth.reexpose=0",
                                       "experiment.params.in_use=0", "growth.budget.idle_sensations=0"])
    net = build(cfg)
    out = net.run()[0]
    g = net.regions["S1"].lateral_graph
    assert out["columns"] == 4 and sorted(g.edges) == [(0, 1), (0, 2), (0, 3), (2, 3)]
    assert "synapses_before_prune" not in out


def test_the_demo_runs(capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo_growth", ROOT / "demos" / "touch_objects_growth.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.main(["--objects", "5", "--before", "3", "--add", "2", "--in-use", "2", "--set",
                      "regions[0].columns=2", "regions[0].column.L23.cells=1024", "experiment.max_sensations=4",
                      "growth.schedule[0].after_objects=3"]) == 0
    out = capsys.readouterr().out
    assert "identical: True" in out and "saved and loaded: 4 columns" in out


def test_each_growth_key_changes_the_run():
    base = SMALL + ["growth.reexpose=1"]
    runs = {name: build(load_config(CONFIG, base + extra)).run()[0] for name, extra in {
        "base": [],
        "deaf": ["growth.listen_to_new=false"],
        "cells": ["growth.schedule[0].l23_cells=64"],
        "cap": ["growth.budget.idle_sensations=0", "growth.budget.synapses=200000"],
    }.items()}
    b = runs["base"]
    assert runs["deaf"]["synapses_before_prune"] < b["synapses_before_prune"]  # no listening segments
    assert runs["cells"]["l23_cells"] == 1024 + 64 and b["l23_cells"] == 1024
    assert runs["cap"]["synapses_after_prune"] <= 200000 < runs["cap"]["synapses_before_prune"]
    assert runs["cap"]["in_use_recognised"] == 1.0
