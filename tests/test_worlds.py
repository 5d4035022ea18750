"""Worlds: sensors (noise, habituation), digit saccades, the arena."""

import numpy as np
import pytest
from scipy import sparse

from regions.worlds.arena import ArenaWorld
from regions.worlds.sensors import Habituation, SensorNoise


def _sdr(rows, size=50):
    return sparse.csr_array((np.ones(sum(len(r) for r in rows), dtype=bool), np.concatenate(rows),
                             np.r_[0, np.cumsum([len(r) for r in rows])]), shape=(len(rows), size))


def test_habituation_decays_under_constant_input_and_recovers_on_change():
    hab = Habituation(1, 50, decay=0.3, recovery=0.3, threshold=0.5)
    a, b = _sdr([np.arange(10)]), _sdr([np.arange(20, 30)])
    counts = [hab.respond(a).nnz for _ in range(4)]
    assert counts[0] == 10 and counts[-1] == 0 and counts == sorted(counts, reverse=True)
    assert hab.respond(b).nnz == 10          # a new input answers at full strength
    for _ in range(4):
        hab.respond(b)
    assert hab.respond(a).nnz == 10          # the old input recovered during the pause


def test_graded_habituation_and_noise():
    hab = Habituation(2, 3, decay=0.5, recovery=0.5)
    x = np.array([[1.0, 0.0, 0.5], [1.0, 1.0, 1.0]])
    first, second = hab.respond_intensity(x), hab.respond_intensity(x)
    assert np.allclose(first, x) and np.all(second <= first) and second[0, 0] < first[0, 0]
    noise = SensorNoise(bit_noise=0.5, pixel_noise=0.1, seed=1)
    f = _sdr([np.arange(10), np.arange(10, 20)])
    g = noise.corrupt_sdrs(f)
    assert np.all(np.diff(g.indptr) == 10)
    assert np.all(g.multiply(f).sum(axis=1) == 5)
    img = noise.corrupt_pixels(np.full((8, 8), 0.5))
    assert img.min() >= 0 and img.max() <= 1 and 0.05 < img.std() < 0.15
    with pytest.raises(ValueError, match="bit_noise"):
        SensorNoise(bit_noise=1.5)
    with pytest.raises(ValueError, match="decay"):
        Habituation(1, 5, decay=0.0)


def test_arena_reflects_at_walls_and_senses_near_landmarks():
    world = ArenaWorld(10.0, n_landmarks=3, sense_radius=1.0, seed=2)
    world.reset(np.array([9.5, 5.0]))
    made = world.move(np.array([1.0, 0.0]))
    assert np.allclose(world.position, [9.5, 5.0]) and np.allclose(made, [0.0, 0.0])
    world.reset(world.landmarks[1] + 0.2)
    k, feature, offset = world.sense()
    assert k == 1 and feature.size == 20 and np.allclose(offset, [-0.2, -0.2])
    path = world.random_walk(200, 0.5, np.random.default_rng(0))
    assert path.shape == (201, 2) and path.min() >= 0 and path.max() <= 10.0
    with pytest.raises(ValueError, match="displacement"):
        world.move(np.array([1.0]))


def test_digit_world_features_locations_and_saccades():
    pytest.importorskip("sklearn")
    from regions.worlds.digits import DigitSaccadeWorld, load_digit_images

    images, labels = load_digit_images()
    world = DigitSaccadeWorld(images[:40], labels[:40], n_sensors=4, prototype_images=np.arange(20), seed=1)
    assert images.shape == (1797, 8, 8) and world.n_fixations == 25
    view = world.view(3)
    ids = world.feature_ids(view)
    assert ids.shape == (4, 25)
    for fix in (0, 7, 24):
        f, loc = world.sense_at(view, fix)
        assert f.shape == (4, 150) and loc.shape == (4, 2400)
        assert np.all(np.diff(f.indptr) == 20) and np.all(np.diff(loc.indptr) == 20)
        expect = world.feature_sdrs[ids[:, fix]]
        assert all(np.array_equal(f[[k]].indices, expect[k]) for k in range(4))
    # a location is the patch position: sensor 1 at fixation 0 sits where sensor 0 sits two fixations on
    _, loc0 = world.sense_at(view, 2)
    _, loc1 = world.sense_at(view, 0)
    assert np.array_equal(loc0[[0]].indices, loc1[[1]].indices)
    world.reset(0)
    made = world.move(np.array([2.0, 100.0]))
    assert np.allclose(made, [2.0, 8.0])  # clipped to the last valid fixation
    noisy = world.view(3, pixel_noise=0.3, rng=np.random.default_rng(0))
    assert (world.feature_ids(noisy) != ids).any()
    with pytest.raises(ValueError, match="fixation"):
        world.sense_at(view, 25)
