"""The L2/3 object layer of a grid region: the batched episode path gives the L23Layer's own results,
and the columns' votes make recognition faster."""

from __future__ import annotations

import numpy as np
import pytest

from regions import build, load_config
from regions.gridpath import _ObjectLayer, episode_generators
from regions.locations import make_grid_region, touch_orders
from regions.worlds.grid_objects import GridObjectWorld


class _CountingGenerator:
    """A generator that counts the draws made from it."""

    def __init__(self, rng: np.random.Generator, counter: list[int]) -> None:
        self.rng, self.counter = rng, counter

    def random(self, size: int) -> np.ndarray:
        self.counter[0] += 1
        return self.rng.random(size)


def _voting_region(columns: int = 3, n_objects: int = 25, seed: int = 0):
    world = GridObjectWorld(n_objects, 30, seed=seed)
    region = make_grid_region(columns=columns, seed=seed)
    codes = region.learn_grid_objects(world)
    return world, region, codes


def test_the_object_layer_learns_one_code_per_object_and_l4_feedback_onto_it():
    world, region, codes = _voting_region(3, 12)
    l23, l4 = region.L23, region.L4
    assert l23 is not None and l4.apical is not None and region.apical_feedback
    # one proximal segment per (code cell, feature), distal segments from the second feature on
    assert l23.proximal.n_segments == 12 * 10 * 3 * l23.params.sdr_size
    assert l23.distal.n_segments == 12 * 3 * l23.params.sdr_size * 3  # own column + 2 neighbours
    # every learned winner cell has one apical segment onto its object's code
    assert l4.apical.n_segments == codes.winners.size


def test_object_layer_step_equals_the_l23_layer_row_by_row():
    """Random L4 inputs and previous states (mixtures of learned codes and noise) through the batched
    step and through L23Layer.compute, one row at a time with the row's own generator: same cells,
    the random fill included."""
    world, region, codes = _voting_region(3, 20, seed=1)
    l23 = region.L23
    rng = np.random.default_rng(7)
    n = 40
    NC = l23.n_cells
    l4_rows, l4_cells, prev_keys = [], [], []
    for r in range(n):  # build the test inputs (not the code under test)
        objs = rng.choice(world.n_objects, size=rng.integers(1, 4), replace=False)
        feats = rng.integers(0, 10, size=objs.size)
        cells = np.unique(np.concatenate([codes.winners[objs, feats].ravel(),
                                          rng.integers(0, region.L4.n_cells, size=rng.integers(0, 30))]))
        cells = cells[rng.random(cells.size) < rng.uniform(0.5, 1.0)]
        l4_rows.append(np.full(cells.size, r))
        l4_cells.append(cells)
        if r % 4:
            l23.reset()
            prev_obj = rng.choice(world.n_objects, size=rng.integers(1, 3), replace=False)
            # the learned code of each object (L2/3 cells whose proximal segments its winners drive)
            l23.compute(np.unique(codes.winners[prev_obj, 0].ravel()), learn=False)
            prev = l23.active_cells.astype(np.int64)
            prev = np.unique(np.concatenate([prev[rng.random(prev.size) < 0.8], rng.integers(0, NC, size=15)]))
        else:
            prev = np.zeros(0, dtype=np.int64)
        prev_keys.append(r * NC + prev)
    l4_rows, l4_cells = np.concatenate(l4_rows), np.concatenate(l4_cells)
    prev_keys = np.concatenate(prev_keys)
    counter = [0]
    rngs = [_CountingGenerator(g, counter) for g in episode_generators(3, n)]
    batched = _ObjectLayer(region).step(l4_rows, l4_cells, prev_keys, n, region.L4.n_cells, rngs, np.arange(n))
    assert counter[0] > 0  # the random fill drew for some rows
    reference_rngs = episode_generators(3, n)
    own = l23.rng
    for r in range(n):
        l23.reset()
        l23.rng = reference_rngs[r]
        expected = l23.compute(l4_cells[l4_rows == r], learn=False,
                               lateral_activity=prev_keys[prev_keys // NC == r] % NC)
        np.testing.assert_array_equal(batched[batched // NC == r] % NC, np.sort(expected), err_msg=f"row {r}")
    l23.rng = own


@pytest.mark.parametrize("columns, seed", [(3, 0), (5, 4)])
def test_batched_voting_episodes_equal_the_region_sensation_by_sensation(columns: int, seed: int):
    world, region, codes = _voting_region(columns, 25, seed=seed)
    orders = touch_orders(np.random.default_rng(seed), world.n_objects, columns, world.features_per_object)
    batched = region.infer_grid_episodes(world, codes, orders, seed=11)
    reference = region.infer_grid_episodes(world, codes, orders, seed=11, sequential=True)
    np.testing.assert_array_equal(batched.sensations, reference.sensations)
    np.testing.assert_array_equal(batched.wrong_lock, reference.wrong_lock)
    assert batched.accuracy == 1.0


def test_votes_recognise_in_fewer_sensations_than_independent_columns():
    world = GridObjectWorld(60, 60, seed=8)
    means = {}
    for columns, votes in ((1, False), (3, False), (3, True)):
        region = make_grid_region(columns=columns, object_layer=votes, seed=8)
        codes = region.learn_grid_objects(world)
        orders = touch_orders(np.random.default_rng(8), world.n_objects, columns, world.features_per_object)
        result = region.infer_grid_episodes(world, codes, orders, seed=1)
        assert result.accuracy >= 0.95
        means[columns, votes] = float(np.mean(result.sensations[result.recognised]))
    # three fingers without votes must each single out the object; with votes they agree sooner
    assert means[3, True] < means[3, False] and means[3, True] < means[1, False]


def test_config_with_an_object_layer_reads_its_l23_and_votes():
    base = ["experiment.n_objects=20", "experiment.n_features=40", "regions[0].columns=3"]
    plain = build(load_config("configs/grid_objects.yaml", base)).run()[0]
    voting_net = build(load_config("configs/grid_objects.yaml", base + ["regions[0].column.layers=[L6, L4, L23, L1]"]))
    voting = voting_net.run()[0]
    region = voting_net.regions["S1"]
    assert region.L23 is not None and region.L23.proximal.n_segments > 0
    assert voting["accuracy"] == plain["accuracy"] == 1.0
    assert voting["mean_sensations"] < plain["mean_sensations"]
    # without L1 the object layer has no way back into L4: the touches go as without it
    mute = build(load_config("configs/grid_objects.yaml", base + ["regions[0].column.layers=[L6, L4, L23]"]))
    assert mute.run()[0]["mean_sensations"] == plain["mean_sensations"]
    assert mute.regions["S1"].L4.apical is None



def _segments(store) -> list[tuple]:
    """A store's segments as sorted (cell, presynaptic cells, permanences) tuples (segment ids dropped)."""
    a = store.to_arrays()
    seg, pre, perm = a["synapse_segment"].astype(np.int64), a["synapse_presynaptic"], a["synapse_permanence"]
    order = np.lexsort((pre, seg))
    seg, pre, perm = seg[order], pre[order], perm[order]
    bounds = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1], True])
    return sorted((int(a["segment_cell"][seg[lo]]), tuple(pre[lo:hi].tolist()), tuple(perm[lo:hi].tolist()))
                  for lo, hi in zip(bounds[:-1], bounds[1:]))


def test_bulk_object_layer_learning_grows_what_the_layer_grows():
    """With samples that take every candidate, building the L2/3 stores in bulk gives the segments,
    synapses, permanences and learning episodes that L23Layer.compute grows object by object."""
    from columns.layers.l23 import L23Params
    from regions.gridpath import _bulk_object_layer, _learn_batch, _start_phases, learn_object_layer

    world = GridObjectWorld(12, 30, 4, seed=5)  # 4 features: distal permanences 0.41 + 2 x 0.1, below 1
    l23 = L23Params(proximal_sample_size=10, distal_sample_size=40)
    stepwise = make_grid_region(columns=3, l23=l23, seed=5)
    bulk = make_grid_region(columns=3, l23=l23, seed=5)
    codes = _learn_batch(stepwise, world, _start_phases(stepwise, world.n_objects, None))
    assert codes is not None
    objects = learn_object_layer(stepwise, codes, bulk=False)  # through L23Layer.compute
    np.testing.assert_array_equal(_bulk_object_layer(bulk, codes, objects), objects)
    for name in ("proximal", "distal"):
        a, b = getattr(stepwise.L23, name), getattr(bulk.L23, name)
        assert a.n_segments == b.n_segments > 0
        assert _segments(a) == _segments(b)
    episodes = []
    for region in (stepwise, bulk):
        ep = region.L23.state_arrays()["L23.distal_segment_episode"][region.L23.distal.segment_cell >= 0]
        cells = region.L23.distal.segment_cell[region.L23.distal.segment_cell >= 0]
        # a learning episode is one object: its segments sit on that object's code cells
        episodes.append(sorted(tuple(np.unique(cells[ep == e]).tolist()) for e in np.unique(ep)))
        assert len(episodes[-1]) == world.n_objects
    assert episodes[0] == episodes[1]
    assert stepwise.L23.state_arrays()["L23.episode"][0] == bulk.L23.state_arrays()["L23.episode"][0]


def test_batched_episodes_read_the_feedback_learned_after_an_earlier_inference():
    # a second set of objects learned into the same region grows L4's apical store in place; the
    # batched episodes must read the grown store, not the one an earlier inference read
    region = make_grid_region(columns=3, seed=1)
    first = GridObjectWorld(15, 20, seed=2)
    orders = touch_orders(np.random.default_rng(3), 15, 3, 10, 4)
    region.infer_grid_episodes(first, region.learn_grid_objects(first), orders, seed=5)
    apical = region.L4.apical.n_segments
    second = GridObjectWorld(15, 20, seed=7)
    codes = region.learn_grid_objects(second)
    assert region.L4.apical.n_segments > apical
    batched = region.infer_grid_episodes(second, codes, orders, seed=5)
    reference = region.infer_grid_episodes(second, codes, orders, seed=5, sequential=True)
    assert np.array_equal(batched.sensations, reference.sensations)
    assert np.array_equal(batched.wrong_lock, reference.wrong_lock)
