"""Sensorimotor policies for a region: L5 reads the columns' hypotheses, the region moves.

A region's columns each propose a score per candidate location (:class:`columns.layers.l5.L5Layer`);
:func:`combine_proposals` turns them into motor commands: ``"shared"`` (one body moves all
sensors: the location with the best summed score) or ``"independent"`` (each sensor moves
on its own, as fingers touching an object).

:func:`l5_from_codes` builds an L5 holding each learned object's L2/3 code and
feature-at-location model; :class:`L5Touches` lets it choose every touch of
:func:`regions.experiments.touch_objects` (the one sense-and-settle loop and the 2017
recognition criterion), which is how ``touch_objects`` runs a column listing L5;
:func:`compare_policies` runs several policies on the same learned region (used by
``benchmarks/policies.py``).

The 2017 feature-object world gives the location directly (a location SDR per location id);
a sensor can touch only the object's own locations (its surface).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from columns.layers.l5 import POLICIES, L5Layer, L5Params

from .region import Region, flatten_rows
from .worlds.feature_objects import FeatureObjectWorld

__all__ = [
    "COMBINE_MODES",
    "combine_proposals",
    "feature_model",
    "compare_policies",
    "L5Touches",
    "l5_from_codes",
]

COMBINE_MODES: tuple[str, ...] = ("shared", "independent")


def combine_proposals(scores: np.ndarray, mode: str = "shared") -> np.ndarray:
    """The region's motor command from its columns' proposals.

    Parameters
    ----------
    scores : float ``(n_columns, n_locations)``, lower is better (``inf``: unreachable).
    mode : ``"shared"``: one target for all columns, the location with the lowest summed
        score; ``"independent"``: each column its own best location.

    Returns
    -------
    int ``(n_columns,)``: the chosen location id per column.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] == 0:
        raise ValueError(f"scores must be a non-empty (n_columns, n_locations) array, got shape {s.shape}")
    if mode == "shared":
        return np.full(s.shape[0], int(np.argmin(s.sum(axis=0))), dtype=np.int64)
    if mode == "independent":
        return np.argmin(s, axis=1).astype(np.int64)
    raise ValueError(f"mode must be one of {', '.join(COMBINE_MODES)}, got {mode!r}")


def feature_model(world: FeatureObjectWorld, obj: int) -> np.ndarray:
    """Feature id at each location of one feature object, int ``(n_locations,)`` (-1: none)."""
    table = np.full(world.n_locations, -1, dtype=np.int32)
    pairs = world.pairs(int(obj))
    table[pairs[:, 0]] = pairs[:, 1]
    return table


def _pair_of_location(world: FeatureObjectWorld, obj: int) -> np.ndarray:
    pair = np.full(world.n_locations, -1, dtype=np.int64)
    pair[world.pairs(int(obj))[:, 0]] = np.arange(world.features_per_object)
    return pair


def compare_policies(
    region: Region,
    world: FeatureObjectWorld,
    codes: list[sparse.csr_array],
    objects: np.ndarray,
    policies: list[tuple[str, float]],
    *,
    max_sensations: int = 20,
    mode: str = "independent",
    seed: int = 0,
    **touch: Any,
) -> dict[str, np.ndarray]:
    """Sensations to recognise each object under each ``(policy, curiosity)`` on one learned region.

    ``codes[i]`` is the L2/3 code ``objects[i]`` was learned with
    (:func:`regions.experiments.learn_objects`).  Each policy gets a fresh L5 built from the
    codes and the world's object models, and touches every object through
    :func:`regions.experiments.touch_objects` (the one sense-and-settle loop and recognition
    rule; ``touch`` passes ``overlap_threshold``, ``max_active``, noise).  Returns ``{label:
    float (n_objects,)}`` (``inf``: not recognised for good within ``max_sensations``), label
    ``policy`` or ``policy+curiosity``.
    """
    from .experiments import touch_objects

    objects = np.asarray(objects)
    out: dict[str, np.ndarray] = {}
    for policy, curiosity in policies:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
        l5 = l5_from_codes(region, world, codes, objects, L5Params(policy=policy, curiosity=curiosity),
                           np.random.default_rng(seed))
        res = touch_objects(region, world, codes, objects, np.random.default_rng(seed + 1),
                            max_sensations=max_sensations, touches=L5Touches(l5, world, mode), **touch)
        out[policy if curiosity == 0 else f"{policy}+curiosity"] = res["sensations_to_converge"]
    return out


def l5_from_codes(region: Region, world: FeatureObjectWorld, codes: list[sparse.csr_array], objects: np.ndarray,
                  params: L5Params, rng: np.random.Generator) -> L5Layer:
    """An L5 for ``region`` holding each learned object's L2/3 code and feature-at-location model.

    ``codes[i]`` is the L2/3 code of ``objects[i]`` (CSR, one row per column), as
    :func:`regions.experiments.learn_objects` returns and ``net.memory`` keeps it, so a loaded
    network rebuilds its L5 from what it remembers; object ``i`` gets L5 object id ``i``.
    """
    if len(codes) != len(objects):
        raise ValueError(f"{len(codes)} codes for {len(objects)} objects")
    l5 = L5Layer(region.n_columns, world.n_locations, region.l23_params.cells, params, rng=rng)
    for code, obj in zip(codes, np.asarray(objects)):
        l5.learn_object(flatten_rows(sparse.csr_array(code), region.l23_params.cells), feature_model(world, int(obj)))
    return l5


class L5Touches:
    """Each touch of a feature object chosen by the region's L5 (``touch_objects(touches=...)``).

    Before every sensation each column's L5 scores the object's locations (its policy:
    ``hypothesis`` minimises the expected number of candidate objects left, ``random``,
    ``scan``) and the proposals are combined (``mode``: ``independent`` sensors, as fingers, or
    one ``shared`` sensor); after it L5 notes the place, its novelty and the objects still
    consistent with each column's L2/3.
    """

    def __init__(self, l5: L5Layer, world: FeatureObjectWorld, mode: str = "independent") -> None:
        if mode not in COMBINE_MODES:
            raise ValueError(f"mode must be one of {', '.join(COMBINE_MODES)}, got {mode!r}")
        self.l5, self.world, self.mode = l5, world, mode
        self.candidates: list[float] = []

    def begin(self, obj: int) -> None:
        """A new object: nothing visited, every learned object a hypothesis."""
        self.l5.reset()
        self._pair_of = _pair_of_location(self.world, int(obj))
        self._hyp = np.ones((self.l5.n_columns, self.l5.n_objects), dtype=bool)
        self._targets = np.zeros(self.l5.n_columns, dtype=np.int64)

    def next_pairs(self) -> np.ndarray:
        """The pair index (0..features_per_object-1) each column touches next, int ``(C,)``."""
        self._targets = combine_proposals(self.l5.propose(self._hyp, self._pair_of >= 0), self.mode)
        return self._pair_of[self._targets]

    def observe(self, region: Region) -> None:
        """After the sensation: note the places, their L4 novelty and the remaining hypotheses."""
        self.l5.observe(self._targets, region.L4.novelty)
        self._hyp = self.l5.hypotheses(region.L23.active_cells)
        self.candidates.append(float(self._hyp.sum(axis=1).mean()))
