"""Hierarchies: projection, DAG stepping and validation, feedback that speeds recognition."""

import numpy as np
import pytest

import regions.scenes  # noqa: F401  (registers hierarchy_scenes)
from regions.builder import build
from regions.config import load_config
from regions.hierarchy import FeedforwardProjection, Hierarchy
from regions.region import Region


def test_projection_is_fixed_sparse_and_keeps_similarity():
    proj = FeedforwardProjection(4096, 2, 150, 20, seed=0)
    rng = np.random.default_rng(1)
    a = np.sort(rng.choice(4096, 40, replace=False))
    b = np.sort(rng.choice(4096, 40, replace=False))
    near = np.sort(np.r_[a[:30], b[:10]])
    fa, fb, fn = proj(a), proj(b), proj(near)
    assert fa.shape == (2, 150) and np.all(np.diff(fa.indptr) == 20)
    assert (proj(a) != fa).nnz == 0  # deterministic
    same_near = fa.multiply(fn).sum()
    same_far = fa.multiply(fb).sum()
    assert same_near > same_far + 10
    assert proj(np.zeros(0, np.int64)).nnz == 0
    with pytest.raises(ValueError, match="active_cells"):
        proj(np.array([5000]))


def test_hierarchy_order_validation_and_apical_tiling():
    lo = Region(2, apical_size=4096, seed=0)
    hi = Region(1, seed=1)
    h = Hierarchy({"S1": lo, "S2": hi}, [("feedforward", "S1", "S2"), ("feedback", "S2", "S1")])
    assert h.order == ["S1", "S2"]
    hi.L23.active_cells = np.array([3, 7], dtype=np.int32)
    assert h.apical_input("S1").tolist() == [3, 7, 4096 + 3, 4096 + 7]
    assert h.apical_input("S1", enabled=False).size == 0
    with pytest.raises(ValueError, match="apical_size"):
        Hierarchy({"S1": Region(1, apical_size=100, seed=0), "S2": hi}, [("feedback", "S2", "S1")])
    with pytest.raises(ValueError, match="cycle"):
        Hierarchy({"S1": Region(1, seed=0), "S2": hi}, [("feedforward", "S1", "S2"), ("feedforward", "S2", "S1")])
    with pytest.raises(ValueError, match="unknown region"):
        Hierarchy({"S1": lo}, [("feedforward", "S1", "V9")])


def test_feedback_from_the_scene_region_speeds_the_lower_region():
    cfg = load_config("configs/hierarchy.yaml", [
        "experiment.n_objects=12", "experiment.params.n_scenes=8",
    ])
    m = build(cfg).run()[0]
    on, off = m["lower_sensations_after_first_feedback_on"], m["lower_sensations_after_first_feedback_off"]
    assert on is not None and off is not None
    assert on < off - 1.0, (on, off)
    assert m["lower_recognised_feedback_on"] >= m["lower_recognised_feedback_off"]
    assert m["scene_accuracy_feedback_on"] >= 0.6


@pytest.mark.slow
def test_hierarchy_config_full_run():
    m = build(load_config("configs/hierarchy.yaml")).run()[0]
    assert m["lower_sensations_after_first_feedback_on"] < m["lower_sensations_after_first_feedback_off"]
