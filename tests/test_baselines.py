"""Pixel baselines: 1-nearest-neighbour and the MLP on known small image sets."""

from __future__ import annotations

import numpy as np
import pytest

from regions.baselines import mlp_accuracy, nearest_neighbour_accuracy, pixel_baselines


def _images():
    # class c: a 4x4 image with row c lit, plus a little noise; 3 images per class
    rng = np.random.default_rng(0)
    images, labels = [], []
    for c in range(4):
        for _ in range(3):
            img = rng.random((4, 4)) * 0.2
            img[c] += 1.0
            images.append(img)
            labels.append(c)
    return np.array(images), np.array(labels)


def test_nearest_neighbour_recovers_separable_classes_and_its_own_training_set():
    images, labels = _images()
    train = np.array([0, 3, 6, 9])  # one image per class
    test = np.setdiff1d(np.arange(12), train)
    assert nearest_neighbour_accuracy(images, labels, train, test) == 1.0
    assert nearest_neighbour_accuracy(images, labels, train, train) == 1.0


def test_nearest_neighbour_counts_a_confusable_image_wrong():
    images = np.array([[0.0, 0.0], [1.0, 1.0], [0.9, 0.9]])
    labels = np.array([0, 1, 0])  # image 2 looks like class 1
    assert nearest_neighbour_accuracy(images, labels, np.array([0, 1]), np.array([2])) == 0.0
    with pytest.raises(ValueError, match="need training and test images"):
        nearest_neighbour_accuracy(images, labels, np.array([], dtype=int), np.array([2]))


def test_mlp_learns_separable_classes_deterministically():
    pytest.importorskip("sklearn")
    images, labels = _images()
    train, test = np.arange(0, 12, 2), np.arange(1, 12, 2)
    first = mlp_accuracy(images, labels, train, test, seed=2**63 - 25, hidden=16, max_epochs=300)
    assert first == mlp_accuracy(images, labels, train, test, seed=2**63 - 25, hidden=16, max_epochs=300)
    assert first is not None and first >= 0.8
    both = pixel_baselines(images, labels, train, test, seed=1)
    assert set(both) == {"baseline_1nn_pixels", "baseline_mlp_pixels"} and both["baseline_1nn_pixels"] == 1.0
