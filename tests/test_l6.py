"""L6a location layer: anchoring, path integration, batched anchoring, connected matrices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from columns.dendrites import DendriteStore
from columns.layers.l6 import L6Layer, L6Params, SynapseSets, rows_to_csr


def _random_store(rng: np.random.Generator, n_cells: int, n_pre: int, n_seg: int) -> DendriteStore:
    store = DendriteStore(n_cells, n_pre, 0.5)
    segments = store.create_segments(rng.integers(0, n_cells, n_seg))
    store.grow_synapses(segments, np.arange(n_pre), rng.integers(1, 12, n_seg), 0.3, rng)
    slots = store.live_synapses().slots
    store.update_permanences(slots, rng.uniform(-0.2, 0.5, slots.size).astype(np.float32))
    return store


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_active=st.integers(0, 40))
def test_connected_matrix_gives_the_connected_overlaps_of_compute_activity(seed: int, n_active: int) -> None:
    rng = np.random.default_rng(seed)
    store = _random_store(rng, 30, 60, 50)
    active = np.sort(rng.choice(60, size=n_active, replace=False))
    matrix = store.connected_matrix()
    assert matrix.shape == (60, store.n_segment_slots)
    row = rows_to_csr(np.zeros(active.size, dtype=np.int64), active, 1, 60)
    overlap = (row.astype(np.int32) @ matrix).toarray().ravel()
    np.testing.assert_array_equal(overlap, store.compute_activity(active).connected)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_synapse_sets_group_equal_segments_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    store = DendriteStore(20, 40, 0.5)
    base = [np.sort(rng.choice(40, size=5, replace=False)) for _ in range(4)]
    owners = rng.integers(0, 20, 12)
    segments = store.create_segments(owners)
    for k, seg in enumerate(segments):  # segments share one of four synapse sets
        store.grow_synapses(np.array([seg]), base[k % 4], 5, 1.0, rng)
    sets = SynapseSets(store.connected_matrix())
    assert sets.n_sets == len({tuple(b) for b in base})
    for k, seg in enumerate(segments):
        same = [j for j in range(12) if tuple(base[j % 4]) == tuple(base[k % 4])]
        assert {sets.segment_set[segments[j]] for j in same} == {sets.segment_set[seg]}
    active = rows_to_csr(np.zeros(10, dtype=np.int64), rng.choice(40, 10, replace=False), 1, 40)
    per_set = sets.overlaps(active)[0]
    direct = (active.astype(np.int32) @ store.connected_matrix()).toarray()[0]
    np.testing.assert_array_equal(per_set[sets.segment_set[segments]], direct[segments])
    np.testing.assert_array_equal(sets.overlaps(active.toarray().astype(bool))[0], per_set)  # dense input
    with pytest.raises(ValueError, match="active"):
        sets.overlaps(np.zeros((1, 39), dtype=bool))


def test_params_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="anchoring_threshold"):
        L6Params(anchoring_threshold=11, anchor_sample_size=10)
    with pytest.raises(ValueError, match="modules"):
        L6Params(modules=0)
    with pytest.raises(ValueError, match="orientations"):
        L6Params(modules=3, orientations=(0.1, 0.2))
    with pytest.raises(ValueError, match="n_columns"):
        L6Layer(0, 100)
    assert L6Params.l4_basal_threshold(10) == 8 and L6Params.l4_basal_threshold(5) == 4


def _layer(columns: int = 2, seed: int = 0) -> L6Layer:
    return L6Layer(columns, 2400, L6Params(), np.random.default_rng(seed))


def test_path_integration_is_reversible_and_moves_the_code() -> None:
    layer = _layer()
    layer.activate_random_location()
    start = layer.active_cells.copy()
    assert start.size >= 2 * 10  # every module of both columns has active cells
    layer.path_integrate(np.array([20.0, 0.0]))
    assert not np.array_equal(layer.active_cells, start)
    layer.path_integrate(np.array([-20.0, 0.0]))
    np.testing.assert_array_equal(layer.active_cells, start)


def test_anchoring_resets_the_location_to_the_learned_cells() -> None:
    rng = np.random.default_rng(1)
    layer = _layer(seed=1)
    layer.activate_random_location()
    learned = layer.learnable_cells()
    assert learned.size == 2 * 10  # one per module and column
    winners = np.concatenate([np.sort(rng.choice(2400, 10, replace=False)) + k * 2400 for k in range(2)])
    layer.learn(winners)
    np.testing.assert_array_equal(layer.sensory_cells, learned)
    assert layer.anchor.n_segments == 20
    layer.path_integrate(np.array([13.0, 31.0]))  # wander off
    assert not np.all(np.isin(learned, layer.active_cells))
    anchored = layer.anchor_to(winners)
    np.testing.assert_array_equal(anchored, learned)
    assert np.all(np.isin(learned, layer.active_cells))
    np.testing.assert_array_equal(layer.modules.bump_counts(), np.ones((2, 10)))


def test_anchoring_needs_the_threshold_and_keeps_columns_without_input() -> None:
    rng = np.random.default_rng(2)
    layer = _layer(seed=2)
    layer.activate_random_location()
    winners = np.sort(rng.choice(2400, 10, replace=False))  # column 0 only
    layer.learn(winners)
    assert layer.sensory_cells.size == 10  # column 1 had no L4 winners: nothing learned there
    bumps_col1 = layer.modules.bumps_of(1, 0)
    anchored = layer.anchor_to(winners[:7])  # 7 < anchoring threshold 8
    assert anchored.size == 0
    assert layer.modules.bump_counts()[0].sum() == 0  # column 0's modules fell silent
    np.testing.assert_array_equal(layer.modules.bumps_of(1, 0), bumps_col1)  # column 1 untouched
    assert layer.anchor_to(winners[:8]).size == 10


def test_learning_the_same_pair_again_reinforces_instead_of_growing() -> None:
    rng = np.random.default_rng(3)
    layer = _layer(columns=1, seed=3)
    layer.activate_random_location()
    winners = np.sort(rng.choice(2400, 10, replace=False))
    layer.learn(winners)
    layer.learn(winners)
    assert layer.anchor.n_segments == 10


def test_batched_anchoring_matches_the_layer_row_by_row() -> None:
    rng = np.random.default_rng(4)
    layer = _layer(columns=2, seed=4)
    codes = []
    for _ in range(6):
        layer.reset()
        layer.activate_random_location()
        winners = np.concatenate([np.sort(rng.choice(2400, 10, replace=False)) + k * 2400 for k in range(2)])
        layer.learn(winners)
        codes.append(winners)
    inputs = [codes[0], np.union1d(codes[1], codes[2]), codes[3][:15], np.arange(0, 4800, 3)]
    rows = np.concatenate([np.full(c.size, i) for i, c in enumerate(inputs)])
    batch = layer.anchored_cells_batch(rows_to_csr(rows, np.concatenate(inputs), len(inputs), 4800))
    assert batch.shape == (len(inputs), layer.n_cells)
    for i, cells in enumerate(inputs):
        expected = layer.anchor_to(cells)
        np.testing.assert_array_equal(batch[[i]].indices, expected)


def test_episode_modules_replicate_the_columns() -> None:
    layer = _layer(columns=2)
    modules = layer.episode_modules(3)
    assert modules.n_columns == 6
    np.testing.assert_allclose(modules.orientations[4], layer.modules.orientations[0])
    assert modules.activation_threshold == layer.modules.activation_threshold
    with pytest.raises(ValueError, match="n_episodes"):
        layer.episode_modules(0)


def test_grow_anchor_segments_rejects_other_columns() -> None:
    layer = _layer(columns=2)
    with pytest.raises(ValueError, match="own column"):
        layer.grow_anchor_segments(np.array([5]), (np.array([0, 2]), np.array([3000, 3001])))
    segments = layer.grow_anchor_segments(np.array([5, 1005]), (np.array([0, 2, 4]), np.array([1, 2, 2401, 2402])))
    assert segments.size == 2 and layer.anchor.n_synapses == 4
    assert isinstance(layer.anchor_matrix(), sparse.csr_array)
