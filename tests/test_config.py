"""Config loading: defaults, located errors, extends, overrides, cross-field checks, schema, builders."""

from __future__ import annotations

import json
import textwrap

import networkx as nx
import pytest
from pydantic import BaseModel, ConfigDict

from regions import builder
from regions.builder import (
    BuilderNotFoundError,
    build,
    build_lateral_graph,
    get_builder,
    get_params_model,
    register_builder,
    registered_kinds,
)
from regions.config import (
    Config,
    ConfigError,
    LateralSpec,
    config_from_dict,
    config_json_schema,
    load_config,
    parse_key_path,
)


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def error_of(path: str, overrides=()) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return info.value


# ---------------------------------------------------------------------------- defaults


def test_defaults_follow_the_published_parameters():
    cfg = Config.model_validate({"regions": [{"name": "V1", "columns": 3}]})
    col = cfg.regions[0].column
    assert (col.L4.minicolumns, col.L4.cells_per_minicolumn) == (150, 16)
    assert (col.L4.basal_threshold, col.L4.apical_threshold, col.L4.reduced_basal_threshold) == (13, 13, 7)
    assert col.L4.sample_size == 30
    assert (col.L4.permanence.initial, col.L4.permanence.connected) == (0.51, 0.6)
    assert (col.L4.permanence.increment, col.L4.permanence.decrement) == (0.1, 0.02)
    assert (col.L23.cells, col.L23.sdr_size, col.L23.inertia) == (4096, 40, 1.0)
    prox, dist = col.L23.proximal, col.L23.distal
    assert (prox.sample_size, prox.threshold, prox.permanence.initial, prox.permanence.connected) == (10, 5, 0.6, 0.5)
    assert (prox.permanence.increment, prox.permanence.decrement) == (0.1, 0.001)
    assert (dist.sample_size, dist.threshold, dist.permanence.initial) == (20, 13, 0.41)
    assert (col.L6.modules, col.L6.cells_per_axis, col.L6.scale, col.L6.anchoring_threshold) == (10, 10, 40.0, 8)
    assert col.L5.policy == "random" and col.plasticity == "hebbian"


def test_partial_blocks_keep_layer_specific_defaults():
    cfg = Config.model_validate(
        {"regions": [{"name": "V1", "column": {"L23": {"proximal": {"permanence": {"initial": 0.7}}}}}]}
    )
    perm = cfg.regions[0].column.L23.proximal.permanence
    assert perm.initial == 0.7 and perm.connected == 0.5 and perm.decrement == 0.001


def test_resolved_is_plain_and_round_trips():
    cfg = Config.model_validate({"seed": 4, "regions": [{"name": "V1", "columns": 2}]})
    resolved = cfg.resolved()
    json.dumps(resolved)  # plain data only
    assert resolved["regions"][0]["column"]["L4"]["minicolumns"] == 150
    assert Config.model_validate(resolved) == cfg


# ---------------------------------------------------------------------------- located errors


def test_bad_value_names_file_line_and_key_path(tmp_path):
    path = write(
        tmp_path,
        "x.yaml",
        """
        seed: 1
        regions:
          - name: V1
            columns: 4
            column:
              L23:
                cells: -4
        """,
    )
    err = error_of(path)
    assert str(err) == f"{path}:7: regions[0].column.L23.cells: must be a positive integer, got -4"
    assert (err.line, err.key_path) == (7, "regions[0].column.L23.cells")


def test_unknown_key_suggests_the_closest(tmp_path):
    path = write(
        tmp_path,
        "x.yaml",
        """
        regions:
          - name: V1
            colums: 4
        """,
    )
    assert str(error_of(path)) == f"{path}:3: regions[0]: unknown key 'colums' (did you mean 'columns'?)"


def test_unknown_top_level_key_and_bad_literal(tmp_path):
    path = write(tmp_path, "x.yaml", "regions: [{name: V1}]\nexperimnet: {}\n")
    assert str(error_of(path)) == f"{path}:2: unknown key 'experimnet' (did you mean 'experiment'?)"
    path = write(tmp_path, "y.yaml", "regions:\n  - name: V1\n    column: {L5: {policy: scna}}\n")
    err = error_of(path)
    assert err.line == 3 and err.key_path == "regions[0].column.L5.policy"
    assert "got 'scna' (did you mean 'scan'?)" in err.message


def test_every_error_is_collected_in_file_order(tmp_path):
    path = write(
        tmp_path,
        "x.yaml",
        """
        regions:
          - name: V1
            columns: 0
          - name: V2
            column: {L4: {sample_size: abc}}
        """,
    )
    err = error_of(path)
    assert [e.line for e in err.errors] == [3, 5]
    assert err.errors[1].message == "must be an integer, got 'abc'"


def test_invalid_yaml_and_missing_file(tmp_path):
    path = write(tmp_path, "x.yaml", "regions:\n  - name: [V1\n")
    err = error_of(path)
    assert err.source == path and err.line is not None and "invalid YAML" in err.message
    err = error_of(str(tmp_path / "nope.yaml"))
    assert str(err).endswith("nope.yaml: file not found")


def test_yaml_loader_is_safe(tmp_path):
    path = write(tmp_path, "x.yaml", "seed: !!python/object/apply:os.getpid []\n")
    err = error_of(path)
    assert "invalid YAML" in err.message


# ---------------------------------------------------------------------------- cross-field checks


def test_more_active_cells_than_cells(tmp_path):
    path = write(tmp_path, "x.yaml", "regions:\n  - name: V1\n    column:\n      L23: {cells: 30}\n")
    err = error_of(path)
    assert err.key_path == "regions[0].column.L23.sdr_size"
    assert err.message == "more active cells (40) than cells (30)"
    assert err.line == 4  # the L23 block, nearest written key
    path = write(tmp_path, "y.yaml", "regions:\n  - name: V1\n    column:\n      L4:\n        minicolumns: 8\n")
    err = error_of(path)
    assert err.key_path == "regions[0].column.L4.active_minicolumns"
    assert err.message == "more active minicolumns (10) than minicolumns (8)"


def test_threshold_above_sample_size(tmp_path):
    path = write(tmp_path, "x.yaml", "regions:\n  - name: V1\n    column:\n      L4: {basal_threshold: 31}\n")
    err = error_of(path)
    assert err.key_path == "regions[0].column.L4.basal_threshold"
    assert "can never be reached" in err.message and "sample_size = 30" in err.message


def test_undefined_region_reference(tmp_path):
    path = write(
        tmp_path,
        "x.yaml",
        """
        regions: [{name: visual}, {name: somatic}]
        connections:
          - {kind: feedforward, source: visual, target: somatc}
        """,
    )
    err = error_of(path)
    assert str(err) == f"{path}:3: connections[0].target: undefined region 'somatc' (did you mean 'somatic'?)"


def test_feedforward_cycle(tmp_path):
    path = write(
        tmp_path,
        "x.yaml",
        """
        regions: [{name: V1}, {name: V2}, {name: V3}]
        connections:
          - {kind: feedforward, source: V1, target: V2}
          - {kind: feedback, source: V2, target: V1}
          - {kind: feedforward, source: V2, target: V3}
          - {kind: feedforward, source: V3, target: V1}
        """,
    )
    err = error_of(path)
    assert err.message.startswith("feedforward cycle ")
    assert set(err.message.removeprefix("feedforward cycle ").split(" -> ")) == {"V1", "V2", "V3"}
    assert err.line in (3, 5, 6)


def test_feedback_alone_is_not_a_cycle():
    cfg = Config.model_validate(
        {
            "regions": [{"name": "V1"}, {"name": "V2"}],
            "connections": [
                {"kind": "feedforward", "source": "V1", "target": "V2"},
                {"kind": "feedback", "source": "V2", "target": "V1"},
                {"kind": "motor", "source": "V2", "target": "world"},
            ],
        }
    )
    assert [c.source_layer for c in cfg.connections] == ["L23", "L23", "L5"]
    assert [c.target_layer for c in cfg.connections] == ["L4", "L1", None]


def test_duplicate_region_names(tmp_path):
    path = write(tmp_path, "x.yaml", "regions:\n  - name: V1\n  - name: V1\n")
    err = error_of(path)
    assert (err.line, err.key_path) == (3, "regions[1].name")
    assert "duplicate region name 'V1'" in err.message


def test_unknown_generator_and_wrong_node_count(tmp_path):
    path = write(tmp_path, "x.yaml", "regions:\n  - name: V1\n    lateral: {topology: cycle_grph}\n")
    err = error_of(path)
    assert err.message == "unknown networkx generator 'cycle_grph' (did you mean 'cycle_graph'?)"
    path = write(
        tmp_path, "y.yaml",
        "regions:\n  - name: V1\n    columns: 6\n    lateral: {topology: grid_2d_graph, args: {m: 2, n: 2}}\n",
    )
    err = error_of(path)
    assert err.line == 4 and "4 nodes but the region has 6 columns" in err.message


def test_sweep_parameter_must_exist(tmp_path):
    path = write(
        tmp_path, "x.yaml",
        "regions: [{name: V1}]\nexperiment:\n  sweep: {parameter: 'regions[0].colums', values: [1, 2]}\n",
    )
    err = error_of(path)
    assert err.key_path == "experiment.sweep.parameter" and "did you mean 'columns'" in err.message
    path = write(
        tmp_path, "y.yaml",
        "regions: [{name: V1}]\nexperiment:\n  sweep: {parameter: regions.0.columns, values: [1, -2]}\n",
    )
    err = error_of(path)
    assert err.key_path == "experiment.sweep.values[1]" and "positive integer" in err.message


# ---------------------------------------------------------------------------- extends and overrides


def test_extends_deep_merges_and_reports_the_right_file(tmp_path):
    (tmp_path / "base").mkdir()
    base = write(
        tmp_path, "base/base.yaml",
        """
        seed: 5
        regions:
          - name: V1
            columns: 3
        experiment: {n_objects: 20, noise: {feature: 0.1}}
        """,
    )
    child = write(tmp_path, "child.yaml", "extends: base/base.yaml\nexperiment:\n  noise: {location: 0.2}\n")
    cfg = load_config(child)
    assert cfg.seed == 5 and cfg.regions[0].columns == 3
    assert (cfg.experiment.n_objects, cfg.experiment.noise.feature, cfg.experiment.noise.location) == (20, 0.1, 0.2)
    bad = write(tmp_path, "bad.yaml", "extends: base/base.yaml\nexperiment: {n_objects: -1}\n")
    assert error_of(bad).source == bad
    write(tmp_path, "base/base.yaml", "seed: 5\nregions:\n  - name: V1\n    columns: -3\n")
    err = error_of(child)
    assert (err.source, err.line) == (base, 4)


def test_extends_cycle(tmp_path):
    a = write(tmp_path, "a.yaml", "extends: b.yaml\nseed: 1\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    err = error_of(a)
    assert "extends cycle: a.yaml -> b.yaml -> a.yaml" in err.message
    self_ref = write(tmp_path, "c.yaml", "extends: c.yaml\n")
    assert "extends cycle" in error_of(self_ref).message


def test_overrides_with_indices_and_yaml_values(tmp_path):
    path = write(tmp_path, "x.yaml", "regions:\n  - name: V1\n  - name: V2\n"
                 "connections: [{kind: feedforward, source: V1, target: V2}]\nexperiment: {kind: hierarchy_scenes}\n")
    cfg = load_config(
        path,
        ["regions[0].columns=4", "regions.1.column.L23.cells=2048", "experiment.noise={feature: 0.25}",
         "world.params.location_active=15"],
    )
    assert cfg.regions[0].columns == 4 and cfg.regions[1].column.L23.cells == 2048
    assert cfg.experiment.noise.feature == 0.25 and cfg.world.params["location_active"] == 15
    err = error_of(path, ["regions[1].columns=-2"])
    assert str(err) == "--set regions[1].columns=-2: regions[1].columns: must be a positive integer, got -2"
    assert "out of range" in error_of(path, ["regions[5].columns=2"]).message
    assert "expected KEY=VALUE" in error_of(path, ["regions"]).message


def test_parse_key_path():
    assert parse_key_path("regions[0].column.L23.cells") == ("regions", 0, "column", "L23", "cells")
    assert parse_key_path("a.2.b") == ("a", 2, "b")
    for bad in ("", "a..b", ".a", "a[x]"):
        with pytest.raises(ValueError):
            parse_key_path(bad)


def test_json_schema_describes_the_config():
    schema = config_json_schema()
    json.dumps(schema)
    assert set(schema["properties"]) >= {"seed", "regions", "connections", "world", "experiment"}
    assert schema["additionalProperties"] is False


# ---------------------------------------------------------------------------- builders


def test_lateral_graph_generators_and_edges():
    g = build_lateral_graph(LateralSpec(topology="watts_strogatz_graph", args={"k": 2, "p": 0.5}), 8, seed=1)
    assert sorted(g.nodes) == list(range(8))
    assert nx.utils.graphs_equal(g, build_lateral_graph(
        LateralSpec(topology="watts_strogatz_graph", args={"k": 2, "p": 0.5}), 8, seed=1))
    g = build_lateral_graph({"topology": "stochastic_block_model", "args": {"sizes": [3, 3], "p": [[1, 0], [0, 1]]}}, 6)
    assert nx.number_connected_components(g) == 2 and g.nodes[4]["block"] == 1
    g = build_lateral_graph({"topology": "connected_caveman_graph", "args": {"l": 2, "k": 3}}, 6)
    assert g.number_of_nodes() == 6 and nx.is_connected(g)
    g = build_lateral_graph({"edges": [[0, 1], [1, 2]]}, 4)
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 2
    with pytest.raises(ValueError, match="has 5 nodes but the region has 4 columns"):
        build_lateral_graph({"topology": "cycle_graph", "args": {"n": 5}}, 4)
    with pytest.raises(ValueError, match="no argument 'kk'"):
        build_lateral_graph({"topology": "watts_strogatz_graph", "args": {"kk": 2, "p": 0.1}}, 4)
    with pytest.raises(ValueError, match="outside 0..2"):
        build_lateral_graph({"edges": [[0, 3]]}, 3)


def test_registry_lookup_and_suggestions():
    assert "kernel_benchmark" in registered_kinds("experiment")
    with pytest.raises(BuilderNotFoundError, match="did you mean 'kernel_benchmark'"):
        get_builder("experiment", "kernel_benchmrk")
    with pytest.raises(ValueError, match="did you mean 'world'"):
        get_builder("wrld", "x")
    with pytest.raises(ValueError, match="already registered"):
        register_builder("networkx", "topology")(lambda spec, n, seed=None: None)


def test_registered_params_model_validates_config_params(tmp_path, monkeypatch):
    class ArenaParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        size: int = 10

    monkeypatch.setitem(builder._REGISTRY["world"], "arena",
                        builder.Registration("arena", "world", lambda *a, **k: None, ArenaParams))
    assert get_params_model("world", "arena") is ArenaParams
    grid = "regions: [{name: EC, column: {layers: [L6, L4, L23], L6: {kind: grid_modules}}}]\n"
    path = write(tmp_path, "x.yaml", "experiment: {kind: arena_navigation}\nworld:\n  kind: arena\n  params:\n    sise: 3\n"
                 + grid)
    assert str(error_of(path)) == f"{path}:5: world.params: unknown key 'sise' (did you mean 'size'?)"
    cfg = load_config(path, ["world.params={size: 4}"])
    assert cfg.world.params == {"size": 4}
    assert load_config(write(tmp_path, "y.yaml", "world: {kind: arena}\nexperiment: {kind: arena_navigation}\n" + grid)
                       ).world.params == {"size": 10}


def test_build_makes_graphs_and_hierarchy():
    cfg = config_from_dict(
        {
            "seed": 2,
            "regions": [{"name": "V1", "columns": 5, "lateral": {"topology": "cycle_graph"}}, {"name": "V2"}],
            "connections": [{"kind": "feedforward", "source": "V1", "target": "V2"}],
            "experiment": {"kind": "hierarchy_scenes"},
        }
    )
    net = build(cfg)
    assert net.lateral["V1"].number_of_edges() == 5 and net.lateral["V2"].number_of_nodes() == 1
    assert list(net.hierarchy.edges(data="kind")) == [("V1", "V2", "feedforward")]


def test_schema_example_is_valid_and_complete():
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parent.parent / "configs" / "schema_example.yaml"
    cfg = load_config(path)
    raw = yaml.safe_load(path.read_text())

    def missing(resolved, written, where=""):
        out = []
        for key, value in resolved.items():
            if key == "edges":  # the alternative to `topology`, shown as a comment
                continue
            if key not in written:
                out.append(f"{where}{key}")
            elif isinstance(value, dict) and isinstance(written[key], dict) and key != "params":
                out += missing(value, written[key], f"{where}{key}.")
        return out

    resolved = cfg.resolved()
    resolved["regions"], raw_region = resolved["regions"][0], raw["regions"][0]
    raw = {**raw, "regions": raw_region}
    text = path.read_text()
    # keys this experiment does not use are documented in comments (a config that set them is refused)
    undocumented = [k for k in missing(resolved, raw) if f"{k.split('.')[-1]}:" not in text]
    assert undocumented == []
    for layer_key in ("modules", "anchoring_threshold", "policy", "recording", "sweep", "phases", "motor"):
        assert layer_key in text


def test_duplicate_keys_merge_keys_and_anchor_holders(tmp_path):
    path = write(tmp_path, "x.yaml", "regions:\n  - name: V1\n    columns: 2\n    columns: 3\n")
    err = error_of(path)
    assert err.line == 4 and "duplicate key 'columns' (first on line 3)" in err.message
    path = write(
        tmp_path,
        "y.yaml",
        """
        x-column: &column
          L23: {cells: 2048, sdr_size: 30}
        regions:
          - name: V1
            column:
              <<: *column
              L23: {cells: 2048, sdr_size: 35}
          - name: V2
            column:
              <<: *column
              L4: {sample_size: -1}
        connections: [{kind: feedforward, source: V1, target: V2}]
        experiment: {kind: hierarchy_scenes}
        """,
    )
    err = error_of(path)
    assert (err.line, err.key_path) == (11, "regions[1].column.L4.sample_size")
    cfg = load_config(path, ["regions[1].column.L4.sample_size=30"])
    assert cfg.regions[0].column.L23.cells == 2048 and cfg.regions[0].column.L23.sdr_size == 35
    assert cfg.regions[1].column.L23.sdr_size == 30


def test_sweep_configs_apply_each_value():
    cfg = config_from_dict(
        {"regions": [{"name": "V1"}], "experiment": {"kind": "critical_sweep",
                                                    "sweep": {"parameter": "regions.0.columns", "values": [1, 4]}}}
    )
    points = cfg.sweep_configs()
    assert [(v, c.regions[0].columns, c.experiment.sweep) for v, c in points] == [(1, 1, None), (4, 4, None)]
    with pytest.raises(ConfigError, match="extends"):
        config_from_dict({"extends": "base.yaml"})
