"""Digit saccades: learned images are recognised; held-out digits beat chance."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from regions.region import Region  # noqa: E402
from regions.saccades import confusion_matrix, evaluate_digits, learn_digits, make_l5  # noqa: E402
from regions.worlds.digits import DigitSaccadeWorld, load_digit_images, split_digits  # noqa: E402


@pytest.fixture(scope="module")
def learned():
    images, labels = load_digit_images()
    train, test = split_digits(labels, 1, 4, np.random.default_rng(0))
    world = DigitSaccadeWorld(images, labels, n_sensors=4, stride=4, prototype_images=train, seed=0)
    region = Region(4, seed=1)
    l5 = make_l5(region, world, "hypothesis")
    object_labels = learn_digits(region, l5, world, train, repeats=3)
    return world, region, l5, object_labels, train, test


def test_learned_images_are_recognised(learned):
    world, region, l5, object_labels, train, _ = learned
    assert world.n_fixations == 9
    correct, episodes = evaluate_digits(region, l5, world, train, object_labels, max_saccades=4)
    assert correct[:, -1].mean() == 1.0
    assert all(len(set(ep.fixations.tolist())) == 4 for ep in episodes)  # no fixation revisited


def test_held_out_digits_beat_chance_and_confusion_counts(learned):
    world, region, l5, object_labels, _, test = learned
    correct, episodes = evaluate_digits(region, l5, world, test, object_labels, max_saccades=5)
    assert correct[:, -1].mean() >= 0.25  # chance is 0.1
    conf = confusion_matrix(world.labels[test], np.array([ep.predicted[-1] for ep in episodes]))
    assert conf.shape == (10, 11) and conf.sum() == len(test)
    assert np.trace(conf[:, :10]) == correct[:, -1].sum()


@pytest.mark.slow
def test_digit_saccades_config_runs():
    import regions.saccades  # noqa: F401
    from regions.builder import build
    from regions.config import load_config

    metrics = build(load_config("configs/digit_saccades.yaml")).run()[0]
    assert metrics["accuracy_learned_final"] == 1.0
    assert metrics["accuracy_held_out_final"] > 0.2
