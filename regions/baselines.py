"""Baselines trained on the same images as the columns: 1-nearest-neighbour and a small MLP on pixels.

They answer "how hard is this split?" for an image experiment (``digit_saccades``): the same
training images, the same held-out images, no saccades, no columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["nearest_neighbour_accuracy", "mlp_accuracy", "pixel_baselines"]


def _flat(images: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return np.asarray(images, dtype=np.float64)[np.asarray(indices, dtype=np.int64)].reshape(len(indices), -1)


def nearest_neighbour_accuracy(images: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    """Accuracy of 1-nearest-neighbour (Euclidean distance on raw pixels) on ``test``, fitted on ``train``.

    Parameters
    ----------
    images : ``(n, height, width)`` (or ``(n, pixels)``) pixel intensities.
    labels : ``(n,)`` class of each image.
    train, test : indices into ``images``; both non-empty.

    Ties go to the training image listed first.
    """
    train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
    if train.size == 0 or test.size == 0:
        raise ValueError(f"need training and test images, got {train.size} and {test.size}")
    a, b = _flat(images, train), _flat(images, test)
    d = (b * b).sum(axis=1)[:, None] - 2.0 * b @ a.T + (a * a).sum(axis=1)[None, :]
    predicted = np.asarray(labels)[train][np.argmin(d, axis=1)]
    return float(np.mean(predicted == np.asarray(labels)[test]))


def mlp_accuracy(images: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray, *,
                 seed: int, hidden: int = 64, max_epochs: int = 500) -> float | None:
    """Accuracy of a one-hidden-layer MLP (scikit-learn, backprop) on raw pixels scaled to 0..1.

    Returns None when scikit-learn is not installed.  ``seed`` is folded below 2**32 (scikit-learn's
    limit).
    """
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    import warnings

    train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
    a, b = _flat(images, train), _flat(images, test)
    scale = float(max(a.max(initial=0.0), 1e-12))
    clf = MLPClassifier(hidden_layer_sizes=(int(hidden),), max_iter=int(max_epochs), random_state=int(seed) % 2**32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(a / scale, np.asarray(labels)[train])
    return float(np.mean(clf.predict(b / scale) == np.asarray(labels)[test]))


def pixel_baselines(images: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray, *,
                    seed: int) -> dict[str, Any]:
    """``{"baseline_1nn_pixels": accuracy, "baseline_mlp_pixels": accuracy or None}`` on ``test``."""
    return {
        "baseline_1nn_pixels": nearest_neighbour_accuracy(images, labels, train, test),
        "baseline_mlp_pixels": mlp_accuracy(images, labels, train, test, seed=seed),
    }
