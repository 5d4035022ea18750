"""Sensorimotor policies for a region: L5 reads the columns' hypotheses, the region moves.

A region's columns each propose a score per candidate location (:class:`columns.layers.l5.L5Layer`);
:func:`combine_proposals` turns them into motor commands: ``"shared"`` (one body moves all
sensors: the location with the best summed score) or ``"independent"`` (each sensor moves
on its own, as fingers touching an object).

:func:`learn_with_model` learns feature objects in a :class:`~regions.region.Region` and
stores each object's L2/3 code and feature-at-location model in L5;
:func:`recognise_with_policy` touches one object, moving as the policy says, until every
column's L2/3 holds the object's code (the 2017 criterion: overlap >= ``overlap_threshold``
and at most ``max_active`` active cells).  :func:`compare_policies` runs several policies
on the same learned region (used by ``benchmarks/policies.py``).

The 2017 feature-object world gives the location directly (a location SDR per location id);
a sensor can touch only the object's own locations (its surface).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from columns.layers.l5 import POLICIES, L5Layer, L5Params

from .region import Region, flatten_rows, flatten_rows_inverse
from .worlds.feature_objects import FeatureObjectWorld

__all__ = [
    "COMBINE_MODES",
    "EpisodeResult",
    "combine_proposals",
    "feature_model",
    "learn_with_model",
    "recognise_with_policy",
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


def learn_with_model(region: Region, l5: L5Layer, world: FeatureObjectWorld, objects: np.ndarray,
                     repeats: int = 3) -> list[sparse.csr_array]:
    """Learn each object once (every column senses every pair) and store it in L5.

    Returns each object's L2/3 code as CSR ``(n_columns, cells)``; object ``i`` of
    ``objects`` gets L5 object id ``i``.
    """
    if l5.n_columns != region.n_columns:
        raise ValueError(f"l5 has {l5.n_columns} columns, the region {region.n_columns}")
    if l5.n_locations != world.n_locations:
        raise ValueError(f"l5 has {l5.n_locations} locations, the world {world.n_locations}")
    codes = []
    for obj in np.asarray(objects):
        region.reset()
        for i in range(world.features_per_object):
            f, loc = world.sense(int(obj), np.full(region.n_columns, i))
            region.learn_sensation(f, loc, repeats=repeats)
        codes.append(flatten_rows_inverse(region.L23.active_cells, region.n_columns, region.l23_params.cells))
        l5.learn_object(region.L23.active_cells, feature_model(world, int(obj)))
    return codes


@dataclass
class EpisodeResult:
    """One object touched under a policy.

    Attributes
    ----------
    sensations : sensations until recognised (``inf`` if not within the limit).
    locations : int ``(sensations, n_columns)``, the location sensed by each column.
    candidates : float ``(sensations,)``, mean number of hypotheses per column after each.
    novelty : float ``(sensations,)``, mean L4 novelty (bursting fraction) of each sensation.
    """

    sensations: float
    locations: np.ndarray
    candidates: np.ndarray
    novelty: np.ndarray = field(default_factory=lambda: np.zeros(0))


def recognise_with_policy(
    region: Region,
    l5: L5Layer,
    world: FeatureObjectWorld,
    obj: int,
    code: sparse.csr_array,
    *,
    max_sensations: int = 20,
    overlap_threshold: int = 30,
    max_active: int = 60,
    mode: str = "independent",
    feature_noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> EpisodeResult:
    """Touch ``obj`` moving as ``l5``'s policy proposes until the region recognises it.

    The first touch of every column follows the policy with all objects as candidates; a
    column can reach only the object's own locations.
    """
    rng = rng if rng is not None else np.random.default_rng()
    if int(max_sensations) <= 0:
        raise ValueError(f"max_sensations must be positive, got {max_sensations}")
    region.reset()
    l5.reset()
    pair_of = _pair_of_location(world, obj)
    allowed = pair_of >= 0
    hyp = np.ones((region.n_columns, l5.n_objects), dtype=bool)
    locs, cands, novs = [], [], []
    sensations = np.inf
    for s in range(int(max_sensations)):
        targets = combine_proposals(l5.propose(hyp, allowed), mode)
        f, loc = world.sense(int(obj), pair_of[targets], feature_noise=feature_noise, rng=rng)
        res = region.infer_sensation(f, loc)
        nov = region.L4.novelty
        l5.observe(targets, nov)
        hyp = l5.hypotheses(region.L23.active_cells)
        locs.append(targets)
        cands.append(float(hyp.sum(axis=1).mean()))
        novs.append(float(nov.mean()))
        ov = region.overlaps_with(code)
        if np.all(ov >= overlap_threshold) and np.all(res.l23_active <= max_active):
            sensations = float(s + 1)
            break
    return EpisodeResult(sensations, np.array(locs), np.array(cands), np.array(novs))


def compare_policies(
    region: Region,
    world: FeatureObjectWorld,
    codes: list[sparse.csr_array],
    models: L5Layer,
    objects: np.ndarray,
    policies: list[tuple[str, float]],
    *,
    max_sensations: int = 20,
    mode: str = "independent",
    seed: int = 0,
    **kwargs: Any,
) -> dict[str, np.ndarray]:
    """Sensations to recognise each object under each ``(policy, curiosity)``.

    ``models`` is the L5 layer that learned the objects (its stored codes and object model
    are shared with a fresh L5 per policy).  Returns ``{label: float (n_objects,)}`` with
    label ``policy`` or ``policy+curiosity``.
    """
    out: dict[str, np.ndarray] = {}
    for policy, curiosity in policies:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
        l5 = clone_l5(models, L5Params(policy=policy, curiosity=curiosity,
                                       match_fraction=models.params.match_fraction),
                      np.random.default_rng(seed))
        rng = np.random.default_rng(seed + 1)
        label = policy if curiosity == 0 else f"{policy}+curiosity"
        out[label] = np.array([
            recognise_with_policy(region, l5, world, int(o), codes[i], max_sensations=max_sensations,
                                  mode=mode, rng=rng, **kwargs).sensations
            for i, o in enumerate(np.asarray(objects))
        ])
    return out


def clone_l5(source: L5Layer, params: L5Params, rng: np.random.Generator) -> L5Layer:
    """A new L5 with ``source``'s learned objects and a different policy."""
    l5 = L5Layer(source.n_columns, source.n_locations, source.cells_per_column, params,
                 location_coordinates=source.location_coordinates, rng=rng)
    l5.expected = source.expected.copy()
    l5._code_rows = list(source._code_rows)
    l5._code_sizes = source._code_sizes.copy()
    return l5


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
