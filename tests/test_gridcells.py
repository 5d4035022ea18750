"""Grid-cell modules: torus geometry, path integration, bump activity, anchoring hooks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from columns.gridcells import (
    GridModules,
    cell_patch_diameter,
    default_activation_threshold,
    default_bump_sigma,
    default_orientations,
    random_orientations,
    torus_distance,
)

phase = st.floats(0.0, 1.0, allow_nan=False, exclude_max=True)
coordinate = st.floats(-500.0, 500.0, allow_nan=False)


def brute_force_distance(delta: np.ndarray, lattice_angle: float = 60.0) -> np.ndarray:
    """Distance to the nearest of the 25 lattice translations around the raw difference."""
    alpha = math.radians(lattice_angle)
    basis = np.array([[1.0, math.cos(alpha)], [0.0, math.sin(alpha)]])
    shifts = np.array([(a, b) for a in range(-2, 3) for b in range(-2, 3)], dtype=float)
    candidates = delta[..., None, :] - shifts  # (..., 25, 2)
    world = candidates @ basis.T
    return np.linalg.norm(world, axis=-1).min(axis=-1)


def reference_excitation(modules: GridModules) -> np.ndarray:
    """Excitation computed bump by bump with explicit loops (the equation, literally)."""
    out = np.zeros((modules.n_module_instances, modules.cells_per_module))
    miss = np.ones_like(out)
    for phase_, module in zip(modules.bump_phases, modules.bump_modules):
        d = brute_force_distance(modules.cell_centres - phase_, modules.lattice_angle)
        miss[module] *= 1.0 - np.exp(-(d**2) / (2 * modules.bump_sigma**2))
    has_bump = np.isin(np.arange(modules.n_module_instances), modules.bump_modules)
    out[has_bump] = 1.0 - miss[has_bump]
    return out.reshape(modules.n_columns, modules.n_modules, -1)


# ---------------------------------------------------------------- parameters
def test_2019_defaults() -> None:
    assert default_bump_sigma(10) == pytest.approx(0.18172 * 6 / 10)
    assert cell_patch_diameter(10) == pytest.approx((2 / math.sqrt(3)) / 10)
    assert cell_patch_diameter(10, 90.0) == pytest.approx(math.sqrt(2) / 10)
    sigma = default_bump_sigma(10)
    expected = math.exp(-(((2 / math.sqrt(3)) / 10) ** 2) / (2 * sigma**2))
    assert default_activation_threshold(sigma, 10) == pytest.approx(expected)
    np.testing.assert_allclose(
        np.degrees(default_orientations(4)), [7.5, 22.5, 37.5, 52.5]
    )
    modules = GridModules(3, 4, 10)
    assert modules.scales.shape == (3, 4) and np.all(modules.scales == 40.0)
    assert modules.activation_threshold == pytest.approx(expected)
    drawn = random_orientations(np.random.default_rng(0), 5, n_columns=3)
    assert drawn.shape == (3, 5) and np.all((drawn >= 0) & (drawn < math.pi / 3))


@settings(max_examples=200, deadline=None)
@given(u=phase, v=phase, angle=st.sampled_from([60.0, 75.0, 90.0]))
def test_torus_distance_is_the_shortest_lattice_distance(u: float, v: float, angle: float) -> None:
    delta = np.array([u, v])
    assert torus_distance(delta, angle) == pytest.approx(brute_force_distance(delta, angle), abs=1e-12)
    # invariant to whole-period shifts and symmetric
    assert torus_distance(delta + [3, -2], angle) == pytest.approx(torus_distance(delta, angle), abs=1e-9)
    assert torus_distance(-delta, angle) == pytest.approx(torus_distance(delta, angle), abs=1e-12)


# ---------------------------------------------------------------- path integration
def test_phase_matrix_inverts_the_scaled_basis() -> None:
    rng = np.random.default_rng(1)
    scales = rng.uniform(5, 50, (2, 3))
    orientations = rng.uniform(0, 1, (2, 3))
    modules = GridModules(2, 3, 8, scales=scales, orientations=orientations)
    for k in range(2):
        for m in range(3):
            t = orientations[k, m]
            basis = np.array(
                [[math.cos(t), math.cos(t + math.pi / 3)], [math.sin(t), math.sin(t + math.pi / 3)]]
            )
            np.testing.assert_allclose(modules.phase_matrices[k, m] @ (scales[k, m] * basis), np.eye(2), atol=1e-12)


def test_moving_one_cell_along_a_basis_vector_shifts_activity_by_one_cell() -> None:
    n = 10
    modules = GridModules(1, 3, n, scales=[20.0, 30.0, 45.0])
    centre = modules.cell_centres[3 * n + 4]
    modules.set_bumps(np.broadcast_to(centre, (1, 3, 2)))
    before = modules.cell_activity()
    # one cell along the first basis vector of each module is scale/n in world units
    theta = modules.orientations[0]
    for m in range(3):
        step = modules.scales[0, m] / n * np.array([math.cos(theta[m]), math.sin(theta[m])])
        single = GridModules(1, 1, n, scales=modules.scales[0, m], orientations=theta[m])
        single.set_bumps(centre[None, None, :])
        single.path_integrate(step)
        np.testing.assert_allclose(single.bumps_of(0, 0), [centre + [1 / n, 0]], atol=1e-12)
    # a whole period along either basis vector returns every bump to its phase
    period = modules.scales[0, 0] * np.array([math.cos(theta[0] + math.pi / 3), math.sin(theta[0] + math.pi / 3)])
    one = GridModules(1, 1, n, scales=modules.scales[0, 0], orientations=theta[0])
    one.set_bumps(centre[None, None, :])
    one.path_integrate(period)
    np.testing.assert_allclose(torus_distance(one.bumps_of(0, 0) - centre), 0.0, atol=1e-9)
    assert before.size == 3 * 7  # a bump on a cell centre lights that cell and its 6 neighbours


@settings(max_examples=60, deadline=None)
@given(d1=st.tuples(coordinate, coordinate), d2=st.tuples(coordinate, coordinate))
def test_path_integration_composes(d1: tuple[float, float], d2: tuple[float, float]) -> None:
    rng = np.random.default_rng(0)
    a = GridModules(2, 4, 6, scales=[11.0, 17.0, 23.0, 40.0])
    a.activate_random_location(rng)
    b = GridModules(2, 4, 6, scales=[11.0, 17.0, 23.0, 40.0])
    b.set_bumps(a.bump_phases, a.bump_modules)
    a.path_integrate(d1)
    a.path_integrate(d2)
    b.path_integrate(np.add(d1, d2))
    np.testing.assert_allclose(torus_distance(a.bump_phases - b.bump_phases), 0.0, atol=1e-7)
    assert np.all((a.bump_phases >= 0) & (a.bump_phases < 1))


def test_per_column_displacement_and_broadcast() -> None:
    rng = np.random.default_rng(2)
    modules = GridModules(3, 2, 10, scales=rng.uniform(10, 30, (3, 2)), orientations=rng.uniform(0, 1, (3, 2)))
    start = rng.random((3, 2, 2))
    modules.set_bumps(start)
    d = rng.normal(0, 5, (3, 2))
    modules.path_integrate(d)
    expected = start + np.einsum("kmij,kj->kmi", modules.phase_matrices, d)
    np.testing.assert_allclose(torus_distance(modules.current_phases() - expected), 0, atol=1e-9)
    modules.set_bumps(start)
    modules.path_integrate(d[0])
    expected = start + np.einsum("kmij,j->kmi", modules.phase_matrices, d[0])
    np.testing.assert_allclose(torus_distance(modules.current_phases() - expected), 0, atol=1e-9)


def test_phase_noise_moves_all_bumps_of_a_module_together() -> None:
    rng = np.random.default_rng(3)
    modules = GridModules(4, 3, 10)
    ids = np.repeat(np.arange(12), 3)
    modules.set_bumps(rng.random((36, 2)), ids)
    relative_before = modules.bump_phases[1::3] - modules.bump_phases[0::3]
    for _ in range(20):
        modules.path_integrate([1.0, 0.5], phase_noise=0.05, rng=rng)
    relative_after = modules.bump_phases[1::3] - modules.bump_phases[0::3]
    np.testing.assert_allclose(torus_distance(relative_after - relative_before), 0.0, atol=1e-9)
    with pytest.raises(ValueError, match="rng"):
        modules.path_integrate([1.0, 0.0], phase_noise=0.1)


# ---------------------------------------------------------------- activity
@pytest.mark.parametrize("angle", [60.0, 90.0])
def test_vectorised_excitation_matches_the_equation(angle: float) -> None:
    rng = np.random.default_rng(4)
    modules = GridModules(3, 4, 7, scales=20.0, lattice_angle=angle)
    ids = rng.choice(12, 20)  # ragged: some modules many bumps, some none
    modules.set_bumps(rng.random((20, 2)), ids)
    np.testing.assert_allclose(modules.excitation(), reference_excitation(modules), atol=1e-12)
    active = modules.cell_activity()
    expected = np.flatnonzero(reference_excitation(modules).ravel() >= modules.activation_threshold)
    np.testing.assert_array_equal(active, expected)
    assert active.dtype == np.int32


def test_excitation_blocks_cover_many_bumps(monkeypatch: pytest.MonkeyPatch) -> None:
    import columns.gridcells as gridcells

    rng = np.random.default_rng(5)
    modules = GridModules(5, 3, 6)
    ids = rng.choice(15, 200)
    modules.set_bumps(rng.random((200, 2)), ids)
    whole = modules.excitation()
    monkeypatch.setattr(gridcells, "_MAX_BLOCK_ELEMENTS", 36 * 7)  # ~7 bumps per block
    np.testing.assert_allclose(modules.excitation(), whole, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(u=phase, v=phase, n=st.integers(4, 20))
def test_any_bump_activates_the_cell_nearest_to_it(u: float, v: float, n: int) -> None:
    modules = GridModules(1, 1, n)
    modules.set_bumps(np.array([[[u, v]]]))
    nearest = int(np.argmin(torus_distance(modules.cell_centres - [u, v])))
    active = modules.cell_activity()
    assert nearest in active
    # the threshold is the excitation one cell-patch diameter from the bump
    far = torus_distance(modules.cell_centres[active] - [u, v])
    assert np.all(far <= cell_patch_diameter(n) + 1e-9)
    top = int(modules.most_excited_cells(1)[0])
    distance = torus_distance(modules.cell_centres[[top, nearest]] - [u, v])
    assert distance[0] == pytest.approx(distance[1], abs=1e-12)  # nearest, up to ties


def test_union_of_bumps_and_flat_index_layout() -> None:
    n = 10
    modules = GridModules(2, 3, n)
    cells = modules.ravel_cells([0, 0, 1], [1, 1, 2], [0, 55, 99])
    np.testing.assert_array_equal(cells, [100, 155, 3 * 100 + 200 + 99])
    modules.reset_to_cells(cells)
    assert modules.bump_counts().tolist() == [[0, 2, 0], [0, 0, 1]]
    np.testing.assert_allclose(modules.bumps_of(0, 1), modules.cell_phases([100, 155]))
    active = modules.cell_activity()
    column, module, cell = modules.unravel_cells(active)
    assert set(zip(column.tolist(), module.tolist())) == {(0, 1), (1, 2)}
    # two separated bumps each light 7 cells (cell 0 wraps around the torus corner)
    assert active.size == 7 + 7 + 7
    per_column = modules.cell_activity_per_column()
    np.testing.assert_array_equal(np.concatenate([per_column[0], per_column[1] + 300]), active)
    top = modules.most_excited_cells(1)  # one per module that holds bumps
    assert top.size == 2 and set(top.tolist()) <= set(cells.tolist())


def test_overlapping_bumps_raise_the_cells_between_them() -> None:
    modules = GridModules(1, 1, 10)
    a, b = modules.cell_centres[44], modules.cell_centres[46]
    modules.set_bumps(np.array([a, b]), np.array([0, 0]))
    union = modules.excitation()[0, 0, 45]
    single = GridModules(1, 1, 10)
    single.set_bumps(np.array([[a]]))
    alone = single.excitation()[0, 0, 45]
    assert union == pytest.approx(1 - (1 - alone) ** 2)


def test_reset_to_selected_columns_keeps_the_others() -> None:
    rng = np.random.default_rng(6)
    modules = GridModules(3, 2, 5)
    modules.activate_random_location(rng)
    before = modules.bumps_of(2, 1)
    modules.reset_to_cells([25 + 3], columns=[0])  # column 0, module 1, cell 3
    assert modules.bump_counts().tolist() == [[0, 1], [1, 1], [1, 1]]
    np.testing.assert_array_equal(modules.bumps_of(2, 1), before)
    with pytest.raises(ValueError, match="columns"):
        modules.reset_to_cells([60], columns=[0])
    modules.clear(columns=[1])
    assert modules.bump_counts().tolist() == [[0, 1], [0, 0], [1, 1]]
    modules.clear()
    assert modules.n_bumps == 0 and modules.cell_activity().size == 0
    assert modules.most_excited_cells(2).size == 0


def test_most_excited_cells_k_per_module() -> None:
    rng = np.random.default_rng(7)
    modules = GridModules(2, 3, 10)
    modules.activate_random_location(rng)
    top = modules.most_excited_cells(4)
    assert top.size == 2 * 3 * 4
    excitation = modules.excitation().reshape(6, 100)
    for g in range(6):
        chosen = top[(top // 100) == g] % 100
        assert excitation[g, chosen].min() >= np.sort(excitation[g])[-4] - 1e-12


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="n_columns"):
        GridModules(0, 2)
    with pytest.raises(ValueError, match="scales"):
        GridModules(2, 3, scales=[1.0, 2.0])
    with pytest.raises(ValueError, match="scales"):
        GridModules(2, 3, scales=-1.0)
    with pytest.raises(ValueError, match="lattice_angle"):
        GridModules(1, 1, lattice_angle=45.0)
    with pytest.raises(ValueError, match="bump_sigma"):
        GridModules(1, 1, bump_sigma=0.0)
    modules = GridModules(2, 2, 5)
    with pytest.raises(ValueError, match="displacement"):
        modules.path_integrate(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="cell_indices"):
        modules.cell_phases([100])
    with pytest.raises(ValueError, match="module_ids"):
        modules.set_bumps(np.zeros((1, 2)), np.array([4]))
    with pytest.raises(ValueError, match="current_phases"):
        modules.current_phases()
    with pytest.raises(ValueError, match="column"):
        modules.bumps_of(2, 0)
