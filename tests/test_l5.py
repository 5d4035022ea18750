"""L5 action layer: hypotheses from L2/3, movement proposals, and policies on feature objects."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from columns.layers.l5 import L5Layer, L5Params, expected_remaining
from regions.experiments import learn_objects
from regions.policies import combine_proposals, compare_policies
from regions.region import Region
from regions.worlds.feature_objects import FeatureObjectWorld


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_expected_remaining_is_a_fraction_between_one_over_n_and_one(n_objects, n_locations, n_values, seed):
    rng = np.random.default_rng(seed)
    expected = rng.integers(-1, n_values, size=(2, n_objects, n_locations))
    candidates = rng.random((2, n_objects)) < 0.7
    out = expected_remaining(candidates, expected)
    n = candidates.sum(axis=1)
    for c in range(2):
        if n[c] == 0:
            assert np.all(out[c] == 1.0)
        else:
            assert np.all(out[c] >= 1.0 / n[c] - 1e-12) and np.all(out[c] <= 1.0 + 1e-12)
            # brute force: sum over groups of (n_f / n)^2
            for loc in range(n_locations):
                _, counts = np.unique(expected[c, candidates[c], loc], return_counts=True)
                assert out[c, loc] == pytest.approx(((counts / n[c]) ** 2).sum())


def test_expected_remaining_extremes():
    cand = np.ones((1, 4), dtype=bool)
    same = np.zeros((1, 4, 1), dtype=int)
    distinct = np.arange(4).reshape(1, 4, 1)
    assert expected_remaining(cand, same)[0, 0] == 1.0
    assert expected_remaining(cand, distinct)[0, 0] == pytest.approx(0.25)


def _layer(policy="hypothesis", **kw):
    l5 = L5Layer(2, 3, 100, L5Params(policy=policy, **kw), rng=np.random.default_rng(0))
    # object 0: cells 0-9 (column 0) and 100-109 (column 1); object 1: cells 20-29, 120-129
    l5.learn_object(np.r_[0:10, 100:110], np.array([0, 1, 2]))
    l5.learn_object(np.r_[20:30, 120:130], np.array([0, 5, 2]))
    return l5


def test_hypotheses_read_l23_overlap_with_stored_codes():
    l5 = _layer()
    hyp = l5.hypotheses(np.r_[0:10, 20:30, 120:130])
    assert hyp.tolist() == [[True, True], [False, True]]
    assert l5.overlaps(np.r_[0:5]).tolist() == [[5, 0], [0, 0]]


def test_state_arrays_round_trip_and_wrong_shapes_are_refused():
    l5 = _layer()
    saved = l5.state_arrays()
    fresh = L5Layer(2, 3, 100, L5Params(policy="hypothesis"), rng=np.random.default_rng(0))
    fresh.load_state_arrays(saved)
    assert fresh.n_objects == 2 and np.array_equal(fresh.expected, l5.expected)
    active = np.r_[0:10, 20:30, 120:130]
    assert np.array_equal(fresh.overlaps(active), l5.overlaps(active))
    assert np.array_equal(fresh.hypotheses(active), l5.hypotheses(active))
    with pytest.raises(ValueError, match="shape"):
        L5Layer(2, 4, 100).load_state_arrays(saved)  # saved for 3 locations
    with pytest.raises(ValueError, match="outside"):
        L5Layer(2, 3, 50).load_state_arrays(saved)  # cells 100.. do not exist with 50 per column
    with pytest.raises(ValueError, match="lacks"):
        fresh.load_state_arrays({"expected": saved["expected"]})


def test_hypothesis_policy_moves_where_candidates_differ():
    l5 = _layer()
    scores = l5.propose(np.ones((2, 2), dtype=bool))
    assert np.all(np.argmin(scores, axis=1) == 1)  # only location 1 splits objects 0 and 1
    l5.observe(np.array([1, 1]), np.array([0.0, 0.0]))
    assert np.all(l5.propose(np.ones((2, 2), dtype=bool))[:, 1] > 1.0)  # visited: penalised


def test_scan_policy_follows_raster_order_and_curiosity_prefers_novel_places():
    l5 = L5Layer(1, 4, 10, L5Params(policy="scan"), location_coordinates=np.array([[1, 0], [0, 1], [0, 0], [1, 1]]))
    order = []
    for _ in range(4):
        target = int(np.argmin(l5.propose()[0]))
        order.append(target)
        l5.observe(np.array([target]), np.array([1.0]))
    assert order == [2, 1, 0, 3]
    curious = L5Layer(1, 3, 10, L5Params(policy="scan", curiosity=5.0, revisit_penalty=0.0))
    curious.observe(np.array([0]), np.array([0.0]))   # place 0: fully predicted
    curious.observe(np.array([1]), np.array([0.9]))   # place 1: surprising
    curious.observe(np.array([2]), np.array([0.1]))
    assert int(np.argmin(curious.propose()[0])) == 1


def test_combine_proposals_and_validation():
    s = np.array([[0.0, 1.0, 0.2], [1.0, 0.0, 0.2]])
    assert combine_proposals(s, "independent").tolist() == [0, 1]
    assert combine_proposals(s, "shared").tolist() == [2, 2]
    with pytest.raises(ValueError, match="mode"):
        combine_proposals(s, "vote")
    with pytest.raises(ValueError, match="policy"):
        L5Params(policy="greedy")
    with pytest.raises(ValueError, match="expected_features"):
        _layer().learn_object(np.r_[0:10], np.zeros(4))
    with pytest.raises(ValueError, match="hypotheses"):
        _layer().propose()
    assert np.isinf(_layer("random").propose(allowed=np.array([True, False, True]))[:, 1]).all()


def test_hypothesis_testing_needs_fewer_touches_than_random():
    world = FeatureObjectWorld(30, 5, 8, 8, seed=3)
    region = Region(1, seed=4)
    codes, _ = learn_objects(region, world, np.arange(world.n_objects), repeats=3)
    res = compare_policies(region, world, codes, np.arange(world.n_objects),
                           [("random", 0.0), ("hypothesis", 0.0)], max_sensations=12, seed=5)
    # objects never told apart (identical pair sets) count as max_sensations + 1
    hyp, rnd = (np.where(np.isfinite(res[k]), res[k], 13.0) for k in ("hypothesis", "random"))
    assert np.isfinite(res["hypothesis"]).mean() >= np.isfinite(res["random"]).mean()
    assert np.mean(hyp) < np.mean(rnd) - 0.25, (np.mean(hyp), np.mean(rnd))
    assert np.median(hyp) <= np.median(rnd)
