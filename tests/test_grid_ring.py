"""configs/grid_objects_ring.yaml: 8 columns on a ring, each [L6 grid modules, L4, L2/3, L1], vote
through L2/3 and recognise grid objects in fewer sensations than one column on the same objects.

Shrunk to seconds: 20 objects of a pool of 10 features (each feature on ~20 objects, so one column
needs many touches to single an object out; benchmarks/compositions.py measures the shipped size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import regions.locations  # noqa: F401  (registers grid_objects)
from regions import build, load_config
from regions.config import Config, config_from_dict

RING = Path(__file__).resolve().parent.parent / "configs" / "grid_objects_ring.yaml"
SMALL = ["experiment.n_objects=20", "experiment.n_features=10"]


def _config(*overrides: str, object_layer: bool = True) -> Config:
    if object_layer:
        return load_config(RING, [*SMALL, *overrides])
    data = yaml.safe_load(RING.read_text())
    del data["regions"][0]["column"]["L23"]  # a block for a layer the column leaves out is refused
    return config_from_dict(data, [*SMALL, "regions[0].column.layers=[L6, L4]", *overrides])


def _run(cfg: Config) -> tuple[dict, np.ndarray]:
    net = build(cfg)
    metrics = net.run()[0]
    return metrics, net.world.features


@pytest.fixture(scope="module")
def ring() -> tuple[dict, np.ndarray]:
    return _run(_config())


def test_the_shipped_ring_is_8_columns_of_grid_l6_l4_l23_l1_with_two_neighbours_each() -> None:
    cfg = load_config(RING)
    spec = cfg.regions[0]
    assert spec.columns == 8 and list(spec.column.layers) == ["L6", "L4", "L23", "L1"]
    net = build(load_config(RING, SMALL))
    region = net.regions[spec.name]
    assert region.L6 is not None and region.L23 is not None and region.apical_feedback
    adjacency = region.adjacency
    assert adjacency.sum(axis=1).tolist() == [2] * 8
    assert all(adjacency[k, (k + 1) % 8] and adjacency[k, (k - 1) % 8] for k in range(8))


def test_the_ring_recognises_in_fewer_sensations_than_one_column_on_the_same_objects(ring) -> None:
    one, one_features = _run(_config("regions[0].columns=1", "regions[0].lateral={topology: complete_graph}",
                                     object_layer=False))
    metrics, features = ring
    assert np.array_equal(features, one_features)  # the world depends on the seed only
    assert metrics["columns"] == 8 and one["columns"] == 1
    assert metrics["accuracy"] == 1.0 and metrics["accuracy"] >= one["accuracy"]
    assert metrics["mean_sensations"] < 0.6 * one["mean_sensations"], (metrics, one)
    assert metrics["median_sensations"] < one["median_sensations"]


def test_without_lateral_edges_or_without_l23_the_ring_needs_more_sensations(ring) -> None:
    metrics, _ = ring
    no_votes, _ = _run(_config("regions[0].lateral={topology: empty_graph}"))
    no_layer, _ = _run(_config(object_layer=False))
    assert no_votes["columns"] == no_layer["columns"] == 8
    # every column must single the object out; without votes each column does so on its own
    assert no_votes["mean_sensations"] > metrics["mean_sensations"] + 1.0, (no_votes, metrics)
    assert no_layer["mean_sensations"] > no_votes["mean_sensations"], (no_layer, no_votes)
