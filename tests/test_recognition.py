"""The recognition rule, the ideal observer and the learn-one-object loop (regions.recognition)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from columns.layers import L4Params
from columns.layers.l23 import L23Params
from regions.recognition import code_overlaps, held_objects, ideal_observer, learn_object, recognised
from regions.region import Region
from regions.worlds import FeatureObjectWorld

SMALL_L23 = L23Params(cells=1024, sdr_size=20, distal_threshold=8, distal_sample_size=12)


# ------------------------------------------------------------------- recognition rule
def test_the_rule_holds_at_the_threshold_and_fails_one_cell_below() -> None:
    assert recognised([30], [30], overlap_threshold=30, max_active=60)
    assert not recognised([29], [30], overlap_threshold=30, max_active=60)


def test_a_column_with_more_than_max_active_cells_holds_no_object() -> None:
    assert recognised([40], [60], overlap_threshold=30, max_active=60)
    assert not recognised([40], [61], overlap_threshold=30, max_active=60)


def test_every_column_must_hold_the_object() -> None:
    # (objects, columns): one column short of the threshold, or one over max_active, fails the object
    overlaps = np.array([[30, 31, 40], [30, 29, 40], [30, 30, 30]])
    active = np.array([[40, 40, 40], [40, 40, 40], [40, 61, 40]])
    np.testing.assert_array_equal(recognised(overlaps, active, overlap_threshold=30, max_active=60),
                                  [True, False, False])
    # one region state against many objects: the active counts broadcast over the objects
    np.testing.assert_array_equal(recognised(overlaps, active[0], overlap_threshold=30, max_active=60),
                                  [True, False, True])
    # batched episodes: (episodes, objects, columns)
    assert recognised(np.stack([overlaps, overlaps - 1]), active[0], overlap_threshold=30,
                      max_active=60).tolist() == [[True, False, True], [False, False, False]]


def test_bad_rule_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="overlap_threshold"):
        recognised([1], [1], overlap_threshold=-1, max_active=5)
    with pytest.raises(ValueError, match="max_active"):
        recognised([1], [1], overlap_threshold=1, max_active=2.5)
    with pytest.raises(ValueError, match=r"active \(3,\) does not broadcast against overlaps \(2,\)"):
        recognised([1, 2], [1, 2, 3], overlap_threshold=1, max_active=5)


def test_held_object_is_the_best_reaching_the_threshold() -> None:
    overlaps = np.array([[3, 9, 2], [4, 4, 1], [1, 2, 2], [0, 5, 5]])
    np.testing.assert_array_equal(held_objects(overlaps, 4), [1, 0, -1, 1])  # ties: lowest index
    np.testing.assert_array_equal(held_objects(overlaps, 10), [-1, -1, -1, -1])
    np.testing.assert_array_equal(held_objects(np.zeros((2, 0), dtype=int), 1), [-1, -1])
    # a region's answer: overlaps summed over its columns, any overlap counts
    assert held_objects(overlaps.sum(axis=0), 1) == 1
    assert held_objects(np.zeros(3, dtype=int), 1) == -1


def test_code_overlaps_count_each_columns_cells_in_each_code() -> None:
    cells, n_columns = 10, 2
    # object 0: cells 1, 2 of column 0 and 3 of column 1; object 1: cell 2 of column 0, 4, 5 of column 1
    rows = np.array([1, 2, 13, 2, 14, 15])
    cols = np.array([0, 0, 0, 1, 1, 1])
    membership = sparse.csr_array((np.ones(rows.size), (rows, cols)), shape=(n_columns * cells, 2))
    active = np.array([2, 1, 7, 14, 15, 13])
    np.testing.assert_array_equal(code_overlaps(active, n_columns, cells, membership), [[2, 1], [1, 2]])
    np.testing.assert_array_equal(code_overlaps(np.zeros(0, dtype=int), n_columns, cells, membership), [[0, 0], [0, 0]])
    with pytest.raises(ValueError, match=r"active_cells must lie in \[0, 20\)"):
        code_overlaps(np.array([20]), n_columns, cells, membership)


# --------------------------------------------------------------------- ideal observer
def _brute_force(locations: np.ndarray, features: np.ndarray, obj: int, touched: np.ndarray,
                 relative: bool) -> tuple[float, float]:
    """Hypothesis by hypothesis: (object,) absolute, (object, first pair per column) relative."""
    n_obj, n_pairs = features.shape
    n_cols = touched.shape[1]
    held = [{tuple(locations[o, p]): int(features[o, p]) for p in range(n_pairs)} for o in range(n_obj)]
    anchors = list(itertools.product(range(n_pairs), repeat=n_cols)) if relative else [()]
    alive = {(o, a) for o in range(n_obj) for a in anchors}
    first_obj = first_hyp = np.inf
    for s in range(touched.shape[0]):
        def consistent(o: int, a: tuple[int, ...]) -> bool:
            for k in range(n_cols):
                here = locations[obj, touched[s, k]]
                if relative:
                    here = locations[o, a[k]] + here - locations[obj, touched[0, k]]
                if held[o].get(tuple(here)) != features[obj, touched[s, k]]:
                    return False
            return True

        alive = {h for h in alive if consistent(*h)}
        if len({o for o, _ in alive}) == 1 and np.isinf(first_obj):
            first_obj = s + 1.0
        if len(alive) == 1 and np.isinf(first_hyp):
            first_hyp = s + 1.0
    return first_obj, first_hyp


@st.composite
def _worlds(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    relative = draw(st.booleans())
    dims = draw(st.integers(1, 2))
    n_obj = draw(st.integers(1, 5))
    n_pairs = draw(st.integers(1, 4))
    side = draw(st.integers(2, 3))
    n_feat = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    places = np.array(list(itertools.product(range(side), repeat=dims)))
    if len(places) < n_pairs:
        n_pairs = len(places)
    # distinct locations within an object (a world never puts two features at one place)
    locations = np.stack([places[rng.choice(len(places), n_pairs, replace=False)] for _ in range(n_obj)])
    if rng.random() < 0.3 and n_obj > 1:  # shifted twins: told apart only by absolute locations
        locations[1] = locations[0] + 1
    features = rng.integers(0, n_feat, size=(n_obj, n_pairs))
    if n_obj > 1 and rng.random() < 0.3:
        features[1] = features[0]
    rows = draw(st.integers(1, 4))
    n_cols = draw(st.integers(1, 1 if relative else 3))
    if relative:
        n_cols = draw(st.integers(1, 2))
    sens = draw(st.integers(1, 5))
    objects = rng.integers(0, n_obj, size=rows)
    touched = rng.integers(0, n_pairs, size=(rows, sens, n_cols))
    return locations, features, objects, touched, relative


@settings(max_examples=150, deadline=None)
@given(_worlds())
def test_ideal_observer_matches_brute_force_enumeration(world) -> None:
    locations, features, objects, touched, relative = world
    by_object, by_hypothesis = ideal_observer(locations, features, objects, touched, relative=relative)
    for r, obj in enumerate(objects):
        assert (by_object[r], by_hypothesis[r]) == _brute_force(locations, features, int(obj), touched[r], relative)
    assert np.all(by_hypothesis >= by_object)
    if not relative:
        np.testing.assert_array_equal(by_object, by_hypothesis)


def test_relative_locations_cannot_tell_shifted_twins_apart() -> None:
    locations = np.array([[[0, 0], [1, 0]], [[2, 1], [3, 1]]])  # object 1 = object 0 moved by (2, 1)
    features = np.array([[0, 1], [0, 1]])
    touched = np.array([[[0], [1]]])
    assert ideal_observer(locations, features, [0], touched)[0].tolist() == [1.0]
    assert np.isinf(ideal_observer(locations, features, [0], touched, relative=True)[0]).all()


def test_bad_ideal_observer_input_is_named() -> None:
    locations, features = np.zeros((2, 3), dtype=int), np.zeros((2, 3), dtype=int)
    with pytest.raises(ValueError, match=r"touched pair indices must lie in \[0, 3\)"):
        ideal_observer(locations, features, [0], np.array([[[3]]]))
    with pytest.raises(ValueError, match=r"objects must lie in \[0, 2\)"):
        ideal_observer(locations, features, [2], np.array([[[0]]]))
    with pytest.raises(ValueError, match="features must be integer"):
        ideal_observer(locations, features[:, :2], [0], np.array([[[0]]]))
    with pytest.raises(ValueError, match=r"touched must have shape \(2, sensations, columns\)"):
        ideal_observer(locations, features, [0, 1], np.array([[[0]]]))


# ----------------------------------------------------------------------- learn loop
def test_learn_object_leaves_a_code_the_rule_recognises() -> None:
    world = FeatureObjectWorld(3, 5, 10, 6, seed=1)
    region = Region(2, 2400, L4Params(), SMALL_L23, None, seed=1)
    learned = [learn_object(region, (world.sense(o, np.full(2, i)) for i in range(6)), 3) for o in range(3)]
    assert learned[0].l4_active.shape == (6, 3)
    assert learned[0].l4_burst.all()  # a fresh region: every first exposure bursts
    assert learned[0].code.shape == (2, SMALL_L23.cells)
    np.testing.assert_array_equal(learned[0].code.sum(axis=1), [SMALL_L23.sdr_size] * 2)
    for o in range(3):  # touching each learned object settles on its code, not another's
        region.reset()
        for i in range(6):
            res = region.infer_sensation(*world.sense(o, (np.arange(2) + i) % 6))
        ov = np.stack([region.overlaps_with(x.code) for x in learned])  # (objects, columns)
        np.testing.assert_array_equal(recognised(ov, res.l23_active, overlap_threshold=15, max_active=30),
                                      np.arange(3) == o)
    with pytest.raises(ValueError, match="repeats must be a positive integer, got 0"):
        learn_object(region, [], 0)


# ------------------------------------------------------------- the experiments' numbers
#: Metrics of small runs of the experiments that read the rule, the observer or the learn loop,
#: measured before these existed once (each experiment then had its own copy); fixed seeds.
BEFORE: dict[str, tuple[list[str], dict[str, float]]] = {
    "touch_objects": (["experiment.n_objects=20", "experiment.n_features=5", "experiment.max_sensations=8"],
                      {"mean_sensations_to_converge": 1.1, "ideal_mean_sensations_to_converge": 1.1,
                       "accuracy_at_1": 0.9, "accuracy_at_2": 1.0}),
    "touch_objects_noise": (["experiment.n_objects=6", "experiment.max_sensations=4"],
                            {"mean_sensations_to_converge": 4 / 3, "ideal_mean_sensations_to_converge": 4 / 3,
                             "accuracy_at_1": 2 / 3, "accuracy_at_3": 1.0}),
    "digit_saccades": (["world.params.test_per_class=1", "world.params.stride=4", "experiment.params.max_saccades=4"],
                       {"accuracy_learned_final": 1.0, "accuracy_held_out_final": 0.8,
                        "accuracy_held_out_noisy_final": 0.6}),
    "hierarchy": (["experiment.n_objects=6", "experiment.params.n_scenes=3"],
                  {"lower_sensations_feedback_on": 2.5, "lower_sensations_after_first_feedback_on": 20 / 9,
                   "lower_sensations_feedback_off": 41 / 12, "lower_sensations_after_first_feedback_off": 31 / 9,
                   "scene_accuracy_feedback_on": 1.0, "lower_recognised_feedback_off": 1.0}),
}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_each_experiment_reports_the_numbers_it_reported_with_its_own_copies(name: str) -> None:
    from regions import build, load_config

    overrides, expected = BEFORE[name]
    metrics = build(load_config(f"configs/{name}.yaml", overrides)).run()[0]
    assert {k: metrics[k] for k in expected} == pytest.approx(expected, abs=1e-12)
