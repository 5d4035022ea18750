"""Coordinate frame: exact decoding, rotation view of path integration, drift, place cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regions.entorhinal import CoordinateFrame

displacement = st.tuples(
    st.floats(-50.0, 50.0, allow_nan=False), st.floats(-50.0, 50.0, allow_nan=False)
)


def test_unique_range_is_the_lcm_of_integer_periods() -> None:
    assert CoordinateFrame((3, 4, 5, 7)).unique_range == 420.0
    assert CoordinateFrame((4, 6)).unique_range == 12.0
    assert math.isinf(CoordinateFrame(CoordinateFrame.geometric_periods(3.0, 4)).unique_range)
    np.testing.assert_allclose(CoordinateFrame.geometric_periods(2.0, 3), [2.0, 2.8, 3.92])


def test_noise_free_codes_decode_exactly_over_the_unique_range() -> None:
    frame = CoordinateFrame((3, 4, 5, 7))
    every_integer = np.arange(420.0)
    positions = np.column_stack([every_integer, np.roll(every_integer[::-1], 17)])
    np.testing.assert_allclose(frame.decode(frame.encode(positions)), positions, atol=1e-9)
    rng = np.random.default_rng(0)
    real = rng.uniform(0.0, 420.0, (3000, 2))
    np.testing.assert_allclose(frame.decode(frame.encode(real)), real, atol=1e-9)
    # beyond the unique range the code repeats: position + L decodes to position
    np.testing.assert_allclose(frame.decode(frame.encode(real[:50] + 420.0)), real[:50], atol=1e-9)


def test_two_close_periods_alias_exactly_at_their_lcm() -> None:
    frame = CoordinateFrame((4, 6))
    np.testing.assert_allclose(frame.encode([[1.0, 2.0]]), frame.encode([[13.0, 14.0]]), atol=1e-12)
    assert not np.allclose(frame.encode([[1.0, 2.0]]), frame.encode([[7.0, 8.0]]))


def test_hexagonal_frame_decodes_within_a_search_box() -> None:
    periods = CoordinateFrame.geometric_periods(3.0, 4)
    frame = CoordinateFrame(periods, lattice="hexagonal")
    rng = np.random.default_rng(1)
    positions = rng.uniform(0, 40, (300, 2))
    decoded = frame.decode(frame.encode(positions), search_range=(0, 40, 0, 40))
    np.testing.assert_allclose(decoded, positions, atol=1e-9)
    with pytest.raises(ValueError, match="search_range"):
        frame.decode(frame.encode(positions))


def test_phase_vector_is_a_rotation_per_module_and_axis() -> None:
    frame = CoordinateFrame((3, 4, 5, 7))
    x = np.array([2.5, -11.0])
    z = frame.phase_vector(x)
    expected = np.exp(2j * np.pi * x[None, :] / frame.periods[:, None])
    np.testing.assert_allclose(z, expected, atol=1e-12)
    np.testing.assert_allclose(frame.phases_from_vector(z), frame.encode(x), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(displacement, min_size=1, max_size=30), lattice=st.sampled_from(["square", "hexagonal"]))
def test_path_integration_by_rotation_equals_encoding_the_summed_displacement(
    steps: list[tuple[float, float]], lattice: str
) -> None:
    frame = CoordinateFrame((3.0, 4.2, 5.9, 8.2), lattice=lattice)  # type: ignore[arg-type]
    start = np.array([1.5, -3.0])
    z = frame.phase_vector(start)
    for step in steps:
        z = frame.rotate(z, step)
    end = start + np.sum(steps, axis=0)
    np.testing.assert_allclose(z, frame.phase_vector(end), atol=1e-9)
    # the same path integrated by the grid modules lands on the same phases
    modules = frame.grid_modules(1)
    modules.set_bumps(frame.encode(start)[None])
    for step in steps:
        modules.path_integrate(step)
    difference = modules.current_phases()[0] - frame.phases_from_vector(z)
    assert np.all(np.abs(difference - np.rint(difference)) < 1e-9)


def test_path_integration_drift_grows_as_sigma_sqrt_n() -> None:
    frame = CoordinateFrame((3, 4, 5, 7))
    n_walkers, sigma = 2000, 0.004
    rng = np.random.default_rng(2)
    modules = frame.grid_modules(n_walkers)
    position = rng.uniform(0, 50, (n_walkers, 2))
    modules.set_bumps(frame.encode(position))
    checkpoints = {25: 0.0, 100: 0.0, 400: 0.0}
    for step in range(1, 401):
        move = rng.normal(0, 1.0, (n_walkers, 2))
        position += move
        modules.path_integrate(move, phase_noise=sigma, rng=rng)
        if step in checkpoints:
            error = modules.current_phases() - frame.encode(position)
            error -= np.rint(error)  # wrapped phase error in periods
            checkpoints[step] = float(np.sqrt(np.mean(error**2)))
    for n_steps, rms in checkpoints.items():
        assert rms == pytest.approx(sigma * math.sqrt(n_steps), rel=0.2)
    slope = np.polyfit(np.log(list(checkpoints)), np.log(list(checkpoints.values())), 1)[0]
    assert slope == pytest.approx(0.5, abs=0.05)


def test_grid_code_is_an_sdr_of_the_frame_cells() -> None:
    frame = CoordinateFrame((3, 4, 5, 7), cells_per_axis=10)
    codes = frame.grid_code(np.array([[0.0, 0.0], [0.05, 0.0], [1.5, 1.5]]))
    assert all(code.max() < frame.cells_per_code for code in codes)
    assert all(np.unique(code // 100).tolist() == [0, 1, 2, 3] for code in codes)
    same_place = np.intersect1d(codes[0], codes[1]).size / codes[0].size
    far_place = np.intersect1d(codes[0], codes[2]).size / codes[0].size
    assert same_place > 0.7 and far_place < 0.2


def test_place_cells_fire_near_their_centre_and_few_places_else() -> None:
    frame = CoordinateFrame((3, 4, 5, 7), cells_per_axis=10)
    rng = np.random.default_rng(3)
    place = frame.place_cells(60, rng, bounds=(0, 20, 0, 20), synapses_per_module=5, threshold=0.7)
    # 5 per module, fewer where a module has only 4 active cells at the centre
    assert np.all((place.synapse_counts >= 4 * 4) & (place.synapse_counts <= 4 * 5))
    axis = np.arange(0.0, 20.0, 0.1)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    firing = place.activity(frame.grid_code(grid))  # (positions, cells)
    at_centre = place.activity(frame.grid_code(place.centres))
    assert np.all(np.diag(at_centre))
    distance = np.linalg.norm(grid[:, None, :] - place.centres[None, :, :], axis=-1)
    fired = firing.sum(0)
    near = (firing & (distance < 1.0)).sum(0)
    # sparse: each cell fires on well under 1 % of the arena, and almost only near its centre
    assert np.all(fired > 0) and np.median(fired / grid.shape[0]) < 0.01
    assert near.sum() / fired.sum() > 0.95


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="periods"):
        CoordinateFrame((3, -4))
    with pytest.raises(ValueError, match="lattice"):
        CoordinateFrame((3, 4), lattice="triangular")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="orientations"):
        CoordinateFrame((3, 4), orientations=[0.1, 0.2])
    frame = CoordinateFrame((3, 4))
    with pytest.raises(ValueError, match="phases"):
        frame.decode(np.zeros((5, 3, 2)))
    with pytest.raises(ValueError, match="positions"):
        frame.encode([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="threshold"):
        frame.place_cells(3, np.random.default_rng(0), bounds=(0, 1, 0, 1), threshold=0.0)


def test_frame_of_grid_modules_takes_their_parameters() -> None:
    from columns.gridcells import GridModules

    modules = GridModules(1, 3, 8, scales=np.array([3.0, 4.0, 6.0]), orientations=np.array([0.1, 0.2, 0.3]),
                          bump_sigma=0.2)
    frame = CoordinateFrame.from_grid_modules(modules)
    assert frame.lattice == "hexagonal" and np.allclose(frame.periods, [3.0, 4.0, 6.0])
    assert frame.cells_per_code == modules.cells_per_column == 3 * 64
    # the frame codes a position as the modules do after path integration from the origin
    walker = frame.grid_modules(1)
    walker.set_bumps(frame.encode(np.zeros((1, 2))))
    walker.path_integrate(np.array([1.7, -2.3]))
    assert np.allclose(walker.current_phases()[0], frame.encode([1.7, -2.3]), atol=1e-9)
    # its grid code is the cells the modules themselves activate (bump width, threshold)
    phases = frame.encode([[1.0, 1.0], [5.5, -3.0]])
    modules_2 = GridModules(2, 3, 8, scales=np.array([3.0, 4.0, 6.0]), orientations=np.array([0.1, 0.2, 0.3]),
                            bump_sigma=0.2)
    modules_2.set_bumps(phases)
    for own, framed in zip(modules_2.cell_activity_per_column(), frame.grid_code_of_phases(phases)):
        assert np.array_equal(own, framed)
    strict = CoordinateFrame.from_grid_modules(GridModules(1, 3, 8, bump_sigma=0.2, activation_threshold=0.9))
    loose = CoordinateFrame.from_grid_modules(GridModules(1, 3, 8, bump_sigma=0.2, activation_threshold=0.3))
    assert strict.grid_code([[1.0, 1.0]])[0].size < loose.grid_code([[1.0, 1.0]])[0].size
    square = CoordinateFrame.from_grid_modules(GridModules(1, 4, 10, scales=np.array([3.0, 4.0, 5.0, 7.0]),
                                                           orientations=np.zeros(4), lattice_angle=90.0))
    assert square.lattice == "square" and square.unique_range == 420.0
    with pytest.raises(ValueError, match="lattice angle"):
        CoordinateFrame.from_grid_modules(GridModules(1, 2, 8, lattice_angle=75.0))
