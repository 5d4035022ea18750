"""Recorders: per-iteration layer activity of a trained region, for figures (column rasters).

:func:`touch_activity` touches one learned object with a region and writes down, after every
settling iteration (``Region.infer_sensation(observe=...)``), which L2/3 and L4 cells are active.
The result is plain lists (JSON-ready) in the form :func:`regions.figures.column_activity` draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["touch_activity", "flat_code"]


def flat_code(code: sparse.csr_array | sparse.spmatrix) -> list[int]:
    """A per-column code (CSR, one row per column) -> flat cell ids ``row * width + cell``, sorted."""
    csr = sparse.csr_array(code)
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    return sorted(int(v) for v in rows * csr.shape[1] + csr.indices)


def touch_activity(region: Any, world: Any, obj: int, code: Any, sensations: int,
                   rng: np.random.Generator) -> dict[str, Any]:
    """Touch learned object ``obj`` for ``sensations`` sensations (no noise) and record every iteration.

    Parameters
    ----------
    region : a :class:`~regions.region.Region` that learned ``obj`` (state is reset first and left
        as the last sensation leaves it; nothing is learned).
    world : the :class:`~regions.worlds.feature_objects.FeatureObjectWorld` it learned from.
    obj : the object to touch.
    code : the object's learned L2/3 code (CSR, one row per column), drawn highlighted.
    sensations : number of sensations; columns touch distinct pairs at each sensation, walking the
        object's pairs in one random order from ``rng`` (the touch protocol of ``touch_objects``).

    Returns
    -------
    ``{"object", "steps", "cells_per_column", "code"}``: ``steps`` holds one entry per settling
    iteration ``{"sensation": s (1-based), "iteration": i (0-based), "L23": [flat ids], "L4": [flat
    ids]}`` (flat id = ``column * cells_per_column[layer] + cell``); ``code`` the flat ids of ``code``.
    """
    if sensations <= 0:
        raise ValueError(f"sensations must be positive, got {sensations}")
    steps: list[dict[str, Any]] = []
    region.reset()
    pairs = world.features_per_object
    order = rng.permutation(pairs)
    cols = np.arange(region.n_columns)
    for s in range(int(sensations)):
        features, locations = world.sense(int(obj), order[(s * region.n_columns + cols) % pairs])

        def observe(iteration: int, reg: Any, s: int = s) -> None:
            steps.append({"sensation": s + 1, "iteration": int(iteration),
                          "L23": [int(c) for c in reg.L23.active_cells],
                          "L4": [int(c) for c in reg.L4.active_cells]})

        region.infer_sensation(features, locations, observe=observe)
    return {
        "object": int(obj),
        "steps": steps,
        "cells_per_column": {"L23": int(region.l23_params.cells), "L4": int(region.L4.cells_per_column)},
        "code": flat_code(code),
    }
