"""Column layers and voting regions: learning, recognition, voting, settling, views, state."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from columns.layers import L4Layer, L4Params
from columns.layers.l23 import L23Layer, L23Params
from regions.region import Region, flatten_rows, flatten_rows_inverse
from regions.worlds import FeatureObjectWorld
from regions.experiments import ideal_sensations_to_converge, learn_objects, touch_objects

SMALL_L23 = L23Params(cells=1024, sdr_size=20, distal_threshold=8, distal_sample_size=12)


def _pair_input(layer: L4Layer, features: list[np.ndarray], locations: list[np.ndarray]):
    return flatten_rows(features, layer.params.minicolumns), flatten_rows(locations, layer.basal_size)


def test_l4_learns_a_pair_in_one_exposure_and_sparsifies() -> None:
    rng = np.random.default_rng(0)
    l4 = L4Layer(2, 400, 0, L4Params(), rng)
    feats = [rng.choice(150, 20, replace=False) for _ in range(2)]
    locs = [rng.choice(400, 20, replace=False) for _ in range(2)]
    mc, loc = _pair_input(l4, feats, locs)
    l4.compute(mc, loc, learn=True)
    first = l4.active_cells.size
    assert first == 2 * 20 * 16  # novel: every active minicolumn bursts
    assert np.allclose(l4.novelty, 1.0)
    l4.compute(mc, loc, learn=True)  # the same sensation held a second step (2017 protocol)
    l4.reset()
    l4.compute(mc, loc, learn=False)
    assert l4.active_cells.size == 2 * 20  # one predicted cell per active minicolumn
    assert first / l4.active_cells.size >= 10
    assert np.allclose(l4.novelty, 0.0)
    # the same feature at another location is not predicted
    other = [rng.choice(400, 20, replace=False) for _ in range(2)]
    l4.compute(mc, flatten_rows(other, 400), learn=False)
    assert l4.bursting_minicolumns.size == 40


def test_l4_apical_tie_break_selects_the_context_cells() -> None:
    rng = np.random.default_rng(1)
    l4 = L4Layer(1, 400, 300, L4Params(), rng)
    f = [rng.choice(150, 20, replace=False)]
    l1, l2 = rng.choice(400, 20, replace=False), rng.choice(400, 20, replace=False)
    a1, a2 = rng.choice(300, 20, replace=False), rng.choice(300, 20, replace=False)
    learned = {}
    for loc, ap in ((l1, a1), (l2, a2)):
        l4.reset()
        for _ in range(3):
            l4.compute(flatten_rows(f, 150), loc, ap, learn=True)
        learned[id(loc)] = l4.active_cells.copy()
    both = np.union1d(l1, l2)
    l4.reset()
    l4.compute(flatten_rows(f, 150), both, None, learn=False)
    assert l4.active_cells.size == 40  # two predicted cells per minicolumn without feedback
    l4.compute(flatten_rows(f, 150), both, a1, learn=False)
    np.testing.assert_array_equal(l4.active_cells, learned[id(l1)])
    l4.compute(flatten_rows(f, 150), both, a2, learn=False)
    np.testing.assert_array_equal(l4.active_cells, learned[id(l2)])


def _trained(n_columns: int, n_objects: int = 12, pool: int = 5, seed: int = 0, graph=None):
    world = FeatureObjectWorld(n_objects, pool, 10, 10, seed=seed)
    region = Region(n_columns, 2400, L4Params(), SMALL_L23, graph, seed=seed)
    codes, stats = learn_objects(region, world, np.arange(n_objects), repeats=3)
    return world, region, codes, stats


def test_single_column_recognises_every_learned_object() -> None:
    world, region, codes, _ = _trained(1)
    res = touch_objects(region, world, codes, np.arange(12), np.random.default_rng(3), max_sensations=10,
                        overlap_threshold=15, max_active=30)
    assert res["converged"].all()
    assert res["correct"][:, -1].all()
    # the union of candidates narrows: the first touch is ambiguous for most objects
    assert res["correct"][:, 0].mean() < res["correct"][:, 3].mean()


def test_ideal_observer_counts_the_objects_left_consistent() -> None:
    world = FeatureObjectWorld(3, 2, 3, 3, seed=0)
    # (location, feature) pairs; object 1 differs from 0 only at location 2, object 2 everywhere
    world.objects = np.array([[[0, 0], [1, 0], [2, 0]], [[0, 0], [1, 0], [2, 1]], [[0, 1], [1, 1], [2, 1]]])
    touched = np.array([[[0], [1], [2]], [[2], [0], [1]], [[1], [2], [0]], [[0], [1], [2]]])
    ideal = ideal_sensations_to_converge(world, np.array([0, 0, 2, 1]), touched)
    np.testing.assert_array_equal(ideal, [3.0, 1.0, 1.0, 3.0])
    # two columns sense two pairs at once: object 0 is singled out after one sensation
    two = ideal_sensations_to_converge(world, np.array([0]), np.array([[[1, 2], [0, 1]]]))
    np.testing.assert_array_equal(two, [1.0])
    # an object whose pairs another object also holds is never singled out
    world.objects = np.array([[[0, 0], [1, 0], [2, 0]], [[0, 0], [1, 0], [2, 0]], [[0, 1], [1, 1], [2, 1]]])
    assert np.isinf(ideal_sensations_to_converge(world, np.array([0]), touched[:1]))[0]


def test_single_column_reaches_the_ideal_observer() -> None:
    # a column recognises as soon as the sensed pairs single the object out: not a sensation later
    world, region, codes, _ = _trained(1, n_objects=25, pool=5, seed=2)
    res = touch_objects(region, world, codes, np.arange(25), np.random.default_rng(5), max_sensations=10,
                        overlap_threshold=15, max_active=30)
    np.testing.assert_array_equal(res["sensations_to_converge"], res["ideal_sensations_to_converge"])
    assert np.mean(res["ideal_sensations_to_converge"]) > 2  # the objects are ambiguous for a while


def test_voting_columns_recognise_in_fewer_sensations() -> None:
    results = {}
    for n in (1, 3):
        world, region, codes, _ = _trained(n, n_objects=15, pool=5, seed=1)
        res = touch_objects(region, world, codes, np.arange(15), np.random.default_rng(4), max_sensations=10,
                            overlap_threshold=15, max_active=30)
        assert res["converged"].all()
        results[n] = float(np.mean(res["sensations_to_converge"]))
    assert results[3] < results[1]


def test_settling_reaches_a_fixed_point_and_reports_it() -> None:
    world, region, codes, _ = _trained(3, n_objects=6)
    region.reset()
    f, loc = world.sense(0, np.array([0, 1, 2]))
    res = region.infer_sensation(f, loc, record=True)
    assert res.settle.kind in ("fixed_point", "cycle")
    assert res.settle.kind == "fixed_point" and res.settle.period == 1
    # the recorded trajectory ends in the reported fixed point: the last two states agree
    assert len(res.l23_trajectory) == res.settle.iterations
    np.testing.assert_array_equal(res.l23_trajectory[-1], region.L23.active_cells)


def test_lateral_graph_limits_who_votes() -> None:
    ring = nx.cycle_graph(5)
    region = Region(5, 400, L4Params(), SMALL_L23, ring, seed=0)
    assert region.adjacency.sum() == 10
    assert region.L23.sources[0, 1] and region.L23.sources[0, 4] and not region.L23.sources[0, 2]
    with pytest.raises(ValueError, match="lateral graph has 4 nodes, the region has 5 columns"):
        Region(5, 400, L4Params(), SMALL_L23, nx.path_graph(4))


def test_column_views_slice_region_state() -> None:
    world, region, codes, _ = _trained(3, n_objects=4)
    col = region.columns[2]
    cells = region.L23.params.cells
    expected = region.L23.active_cells[region.L23.active_cells >= 2 * cells] - 2 * cells
    np.testing.assert_array_equal(col.L23.active, expected)
    assert col.layers == ["L23", "L4"]
    assert col.L4.winner_cells.max(initial=0) < region.L4.cells_per_column
    with pytest.raises(AttributeError, match="no layer 'L9'"):
        col.L9


def test_region_state_round_trip_gives_identical_inference() -> None:
    world, region, codes, _ = _trained(2, n_objects=5)
    arrays = region.state_arrays()
    clone = Region(2, 2400, L4Params(), SMALL_L23, seed=99)
    clone.load_state_arrays(arrays)
    for obj in range(5):
        for r in (region, clone):
            r.reset()
        f, loc = world.sense(obj, np.array([3, 7]))
        a = region.infer_sensation(f, loc)
        b = clone.infer_sensation(f, loc)
        np.testing.assert_array_equal(region.L23.active_cells, clone.L23.active_cells)
        assert a.settle == b.settle


def test_flatten_rows_round_trip() -> None:
    rows = [np.array([1, 5]), np.array([], dtype=np.int64), np.array([0, 9])]
    flat = flatten_rows(rows, 10)
    np.testing.assert_array_equal(flat, [1, 5, 20, 29])
    back = flatten_rows_inverse(flat, 3, 10)
    assert [list(back.indices[back.indptr[i]:back.indptr[i + 1]]) for i in range(3)] == [[1, 5], [], [0, 9]]


def test_bad_layer_input_is_named() -> None:
    l4 = L4Layer(1, 100, 0, L4Params())
    with pytest.raises(ValueError, match="active_minicolumns: index 150 out of range"):
        l4.compute(np.array([150]), np.array([1]))
    with pytest.raises(ValueError, match="basal_input: negative index -3"):
        l4.compute(np.array([1]), np.array([-3]))
    with pytest.raises(ValueError, match="sdr_size"):
        L23Params(cells=10, sdr_size=20)
    with pytest.raises(ValueError, match="L4 minicolumns must be a positive integer, got 0"):
        L4Params(minicolumns=0)
