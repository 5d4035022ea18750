"""The 2019 locations experiment (Lewis, Purdy, Ahmad & Hawkins, "Locations in the Neocortex").

A region of ``columns`` columns, each an L4 (feature in the context of a location) and an L6a
location layer of grid-cell modules (``column.layers: [L6, L4]``, L6 ``kind: grid_modules``),
learns grid objects (:class:`GridObjectWorld`) in one pass and recognises them by touch.  The
experiment is a protocol over the one :class:`~regions.network.Network` (:func:`run_grid_objects`):
the region's grid path (:mod:`regions.gridpath`, exposed as ``Region.learn_grid_objects`` /
``Region.infer_grid_episodes``) does the work:

* learning: each object starts at a random location (one bump per module); the sensor
  visits the object's features in order, path-integrating every movement; at each feature
  L4 learns the feature on basal segments onto the L6 learnable cells (the most excited cell
  of each module) and L6 grows anchor segments from those cells onto the L4 winner cells;
* inference: the sensor touches the features in random order (at most ``max_traversals``
  traversals, a traversal never starting where the previous one ended); every touch moves
  (all bumps shift), senses (L4 predicted cells fire, else whole minicolumns burst) and
  anchors (L6 bumps reset to the cells whose anchor segments recognise the L4 activity);
* recognised: the anchored ("sensory-driven") location cells are a non-empty subset of the
  cells learned for that object at the touched feature, in every column, and of no other
  object's; landing exactly on another object's learned location code is a failure;
* capacity: the largest object count at which fewer than ``1 - min_accuracy`` (10 %) of the
  objects fail (the reference's strict rule), found by the reference's search schedule
  (:func:`capacity_reference_search`: steps of 128 objects, then halving to 1 object).

With several columns the object layer votes: a column listing L23 (and L1, its feedback onto L4)
learns each object's L2/3 code with the region's :class:`~columns.layers.l23.L23Layer`, and every
touch settles L4 <-> L2/3 before L6 anchors (see :mod:`regions.gridpath`).  Learning is batched over objects and inference over
episodes (every test object one episode, a batch axis of the region's layers); the layers' own
``compute`` methods run the same protocol sensation by sensation (``sequential=True``), the reference
the tests compare with.

Protocol checked against the reference code (htmresearch ``union_path_integration``):
anchoring threshold 8 of 10 anchor synapses, L4 basal threshold ``ceil(0.8 * modules)``,
bump sigma ``0.18172 * 6 / cells_per_axis`` with the activation threshold at radius
``(2 / sqrt 3) / cells_per_axis``, at most 4 traversals (40 touches), recognition when the
sensory-driven location cells are a subset of the object's learned cells at the touched
feature, failure on an exact lock onto another learned code, and capacity probes that pass
with fewer than 10 % failures, searched to a resolution of one object.  The reference's
``cellCoordinateOffsets`` (several phases per anchored cell) belong to its square-bump
modules only; its Gaussian-bump modules, used for the published figures, reset each bump to
the anchored cell's centre, as here.  The activity rule was checked against a direct
evaluation of the reference's formulas (four-corner rhombic distance, probabilistic union,
threshold at ``(2/sqrt 3)/cells_per_axis``): identical active cells for random unions.
:func:`ideal_observer` bounds what the touches themselves allow: at 140 objects it singles
out every object (median 2 touches), so the network's failures there (unions that never
narrow) are the mechanism's, not ambiguity of the objects.  Two deliberate differences: an empty anchored set does not
count as recognised (the reference's subset test would accept it; it never occurs in these
runs), and L4's basal input while learning is the learnable cells rather than all active
cells (a pair is re-used only when another object's location code falls inside the current
bumps in 8 of 10 modules, negligible here).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from pydantic import ConfigDict, Field, ValidationInfo, field_validator
from pydantic.types import PositiveFloat, PositiveInt

from columns.layers.l23 import L23Params
from columns.layers.l4 import L4Params
from columns.layers.l6 import L6Params

from .builder import ProgressFactory, Uses, register_builder
from .config import Config, Params, WorldSpec
from . import recognition
from .gridpath import GridCodes, InferenceResult, nearest_cells
from .region import Region
from .worlds.grid_objects import GridObjectWorld

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

__all__ = [
    "GridCodes",
    "InferenceResult",
    "nearest_cells",
    "make_grid_region",
    "touch_orders",
    "ideal_observer",
    "run_locations",
    "capacity_reference_search",
    "GridWorldParams",
    "GridObjectsParams",
    "build_grid_world",
    "run_grid_objects",
    "remember_codes",
    "recall_grid_codes",
    "PUBLISHED",
]

#: Published figures (Lewis et al. 2019, medians of 5 trials; reference code's result files).
PUBLISHED: dict[str, Any] = {
    "capacity_default": 148,
    "capacity_vs_cells_per_axis": {6: 63, 10: 148, 14: 259, 20: 467},
    "capacity_vs_feature_pool": {50: 84, 100: 148, 200: 265},
    # learn + infer wall time of the reference (htm.core's Python port, release build), measured side
    # by side with ours in one quiet window on the 2-core development machine
    "reference_seconds": {100: 4.61, 140: 19.30},
}


def touch_orders(
    rng: np.random.Generator, n_episodes: int, n_columns: int, features_per_object: int, max_traversals: int = 4
) -> np.ndarray:
    """Random touch sequences ``(n_episodes, n_columns, max_traversals * features_per_object)``.

    Each traversal is a random permutation of the features; a traversal never starts with
    the feature the previous one ended on (so every touch moves), fixed by swapping its
    first touch with a random later one.
    """
    if int(max_traversals) <= 0:
        raise ValueError(f"max_traversals must be a positive integer, got {max_traversals!r}")
    F = int(features_per_object)
    perms = np.argsort(rng.random((n_episodes, n_columns, int(max_traversals), F)), axis=-1)
    if F > 1:
        for t in range(1, int(max_traversals)):  # loop over traversals only (<= 4)
            clash = perms[:, :, t, 0] == perms[:, :, t - 1, -1]
            e, k = np.nonzero(clash)
            j = rng.integers(1, F, size=e.size)
            first = perms[e, k, t, 0].copy()
            perms[e, k, t, 0] = perms[e, k, t, j]
            perms[e, k, t, j] = first
    return perms.reshape(n_episodes, n_columns, -1)


def ideal_observer(world: GridObjectWorld, objects: np.ndarray, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sensations an ideal observer needs with the same touches (the intrinsic ambiguity).

    The observer knows every learned object exactly and senses the touched feature ids and
    the exact displacements.  A hypothesis is (object, grid cell of the first touch); it
    survives while every touch so far finds the sensed feature at the displaced cell.
    ``objects`` ``(E,)`` and ``orders`` int ``(E, T)`` (one column's touch sequence).

    Returns float ``(E,)`` arrays, ``inf`` where never reached within the ``T`` touches:
    the first sensation after which the surviving hypotheses name one object, and the
    first after which one (object, location) hypothesis survives -- the network's
    recognition criterion (sensory-driven cells on the touched feature of that object only).
    """
    objects = np.asarray(objects, dtype=np.int64)
    orders = np.asarray(orders, dtype=np.int64)
    if orders.ndim != 2 or orders.shape[0] != objects.size:
        raise ValueError(f"orders must have shape ({objects.size}, steps), got {orders.shape}")
    w = world.grid_width
    cells = np.stack([world.grid_cells % w, world.grid_cells // w], axis=-1)  # (objects, features, 2): x, y
    return recognition.ideal_observer(cells, world.features, objects, orders, relative=True)


# ------------------------------------------------------------------------ conveniences
def make_grid_region(
    *,
    columns: int = 1,
    modules: int = 10,
    cells_per_axis: int = 10,
    scale: float = 40.0,
    minicolumns: int = 150,
    cells_per_minicolumn: int = 16,
    basal_threshold: int | None = None,
    anchoring_threshold: int = 8,
    anchor_sample_size: int = 10,
    l6: L6Params | None = None,
    l4: L4Params | None = None,
    l23: L23Params | None = None,
    object_layer: bool | None = None,
    lateral: Any = None,
    seed: int = 0,
) -> Region:
    """A :class:`~regions.region.Region` of L6 grid modules and L4 with the 2019 parameters (overridable).

    L4: ``minicolumns x cells_per_minicolumn``, basal threshold ``ceil(0.8 * modules)``
    (``basal_threshold``), sample size and min threshold = ``modules``, permanence 1.0 (so a
    learned segment is connected at once).  L6: ``modules`` modules of ``cells_per_axis**2``
    cells, scale ``scale`` (world units per period), the default orientations and bump width.
    ``object_layer`` (default: ``columns > 1``): an L2/3 object layer (``l23``, default
    :class:`~columns.layers.l23.L23Params`) with apical feedback onto L4, voting laterally over
    ``lateral`` (networkx graph; None: all-to-all).  The same region the ``region`` builder makes of
    configs/grid_objects.yaml (``column.layers: [L6, L4]``, or ``[L6, L4, L23, L1]``).
    """
    if l6 is None:
        l6 = L6Params(modules=modules, cells_per_axis=cells_per_axis, scales=scale,
                      anchoring_threshold=anchoring_threshold, anchor_sample_size=anchor_sample_size)
    if l4 is None:
        thr = L6Params.l4_basal_threshold(l6.modules) if basal_threshold is None else int(basal_threshold)
        l4 = L4Params(
            minicolumns=minicolumns, cells_per_minicolumn=cells_per_minicolumn, basal_threshold=thr,
            min_threshold=l6.modules, apical_threshold=thr, reduced_basal_threshold=thr,
            sample_size=l6.modules, initial_permanence=1.0, connected_permanence=0.5,
        )
    votes = columns > 1 if object_layer is None else bool(object_layer)
    return Region(columns, l4=l4, l23=l23, lateral=lateral, apical_feedback=votes, seed=seed, l6=l6,
                  object_layer=votes)


def run_locations(
    n_objects: int,
    *,
    n_features: int = 100,
    features_per_object: int = 10,
    max_traversals: int = 4,
    seed: int = 0,
    network: Callable[[int], Region] | None = None,
    world_kwargs: dict[str, Any] | None = None,
    ideal: bool = False,
    **region_kwargs: Any,
) -> dict[str, Any]:
    """Learn ``n_objects`` fresh grid objects into a fresh region and recognise them all; metrics and wall times.

    ``network(seed)`` builds the region (default :func:`make_grid_region` with ``region_kwargs``).
    Returns accuracy, median/mean sensations, learn/infer seconds, the learned
    :class:`~regions.gridpath.GridCodes` and the :class:`~regions.gridpath.InferenceResult`; with
    ``ideal``, also what :func:`ideal_observer` makes of the same touches (``ideal_failures``:
    objects it cannot single out within them, ``ideal_median_sensations``, ``ideal_sensations``).
    """
    rng = np.random.default_rng(seed)
    world_seed, net_seed, order_seed = (int(s) for s in rng.integers(0, 2**31 - 1, size=3))
    t0 = time.perf_counter()
    region = network(net_seed) if network is not None else make_grid_region(seed=net_seed, **region_kwargs)
    world = GridObjectWorld(
        n_objects, n_features, features_per_object, feature_size=region.L4.params.minicolumns,
        seed=world_seed, **(world_kwargs or {}),
    )
    codes = region.learn_grid_objects(world)
    t1 = time.perf_counter()
    orders = touch_orders(np.random.default_rng(order_seed), n_objects, region.n_columns, features_per_object,
                          max_traversals)
    result = region.infer_grid_episodes(world, codes, orders, seed=order_seed)
    t2 = time.perf_counter()
    out = {
        "objects": int(n_objects),
        "accuracy": result.accuracy,
        "median_sensations": result.median_sensations,
        "mean_sensations": float(np.mean(result.sensations[result.recognised])) if result.recognised.any() else float("nan"),
        "wrong_locks": int(result.wrong_lock.sum()),
        "learned_batched": codes.batched,
        "learn_s": t1 - t0,
        "infer_s": t2 - t1,
        "total_s": t2 - t0,
        "codes": codes,
        "result": result,
    }
    if ideal:
        by_object, by_location = ideal_observer(world, np.arange(n_objects), orders[:, 0, :])
        out["ideal_failures"] = int(np.isinf(by_location).sum())
        out["ideal_median_sensations"] = float(np.median(by_location[np.isfinite(by_location)]))
        out["ideal_sensations"] = by_location
    return out


def capacity_reference_search(
    *,
    initial_increment: int = 128,
    min_accuracy: float = 0.9,
    resolution: int = 1,
    seed: int = 0,
    **run_kwargs: Any,
) -> dict[str, Any]:
    """Capacity by the reference's search schedule (htmpapers ``capacity_simulation``).

    Probe ``initial_increment``, ``2 x``, ... objects until a probe fails; from then on the
    increment halves after every probe (integer division), stepping up from the last
    passing count, until it drops below ``resolution``.  A probe of ``n`` objects learns a
    fresh set of objects (:func:`run_locations`, seeded by ``seed`` and the count) and passes
    when fewer than ``n * (1 - min_accuracy)`` objects fail (the reference's strict rule: at
    140 objects and 90 %, at most 13 failures), or none does.  The schedule decides which
    counts get probed and so, with pass/fail noisy near the capacity, the distribution of
    the result; this one reproduces the published figures' protocol.  Returns ``capacity``
    (0 when the first probe fails) and ``probes`` ``[(objects, accuracy), ...]``.
    """
    if not 0 < min_accuracy <= 1:
        raise ValueError(f"min_accuracy must lie in (0, 1], got {min_accuracy}")
    if int(initial_increment) <= 0 or int(resolution) <= 0:
        raise ValueError("initial_increment and resolution must be positive integers")
    if int(resolution) > int(initial_increment):
        raise ValueError(f"resolution ({resolution}) must not exceed initial_increment ({initial_increment})")
    probes: list[tuple[int, float]] = []
    passed, increment, bounded = 0, int(initial_increment), False
    while True:
        n = passed + increment
        res = run_locations(n, seed=seed * 100003 + n, **run_kwargs)
        probes.append((n, res["accuracy"]))
        failures = int(round((1.0 - res["accuracy"]) * n))
        if failures == 0 or failures < round(n * (1.0 - min_accuracy), 9):
            passed = n
        else:
            bounded = True
        if bounded:
            increment //= 2
            if increment < int(resolution):
                break
    return {"capacity": passed, "probes": probes}


# ----------------------------------------------------------------- config: world + experiment
class GridWorldParams(Params):
    """``world.params`` of the ``grid_objects`` world (pool sizes come from ``experiment``)."""

    model_config = ConfigDict(extra="forbid")

    grid_width: PositiveInt = 4
    spacing: PositiveFloat = 20.0


@register_builder("grid_objects", "world", params=GridWorldParams)
def build_grid_world(spec: WorldSpec, *, config: Config, seed: int) -> GridObjectWorld:
    """The 2019 grid-object generator, sized by ``experiment`` and the first region's L4."""
    p = GridWorldParams.model_validate(spec.params)
    e = config.experiment
    l4 = config.regions[0].column.L4
    return GridObjectWorld(
        e.n_objects, e.n_features, e.features_per_object, grid_width=p.grid_width, spacing=p.spacing,
        feature_size=l4.minicolumns, feature_active=l4.active_minicolumns, seed=seed,
    )


class GridObjectsParams(Params):
    """``experiment.params`` of ``grid_objects``."""

    model_config = ConfigDict(extra="forbid")

    max_traversals: PositiveInt = 4
    min_accuracy: float = Field(0.9, gt=0.0, le=1.0)
    #: search the capacity after the run (:func:`capacity_reference_search`, the reference's
    #: schedule): first probe and step ``capacity_increment`` objects, then halving down to
    #: ``capacity_resolution`` objects
    capacity_search: bool = False
    capacity_increment: PositiveInt = 128
    capacity_resolution: PositiveInt = 1

    @field_validator("capacity_resolution")
    @classmethod
    def _resolution_within_increment(cls, value: int, info: ValidationInfo) -> int:
        increment = info.data.get("capacity_increment")
        if increment is not None and value > increment:
            raise ValueError(f"must not exceed capacity_increment ({increment}), got {value}")
        return value


_MEMORY = "grid_objects"


def remember_codes(net: Network, codes: GridCodes) -> None:
    """Keep what learning grid objects associated besides synapses in ``net.memory`` (saved with the network)."""
    net.memory[f"{_MEMORY}.location_codes"] = codes.location
    net.memory[f"{_MEMORY}.winner_codes"] = codes.winners
    net.memory[f"{_MEMORY}.batched"] = np.array([codes.batched])


def recall_grid_codes(net: Network) -> GridCodes:
    """The codes :func:`remember_codes` kept (``ValueError`` naming the cure when there are none)."""
    if f"{_MEMORY}.location_codes" not in net.memory:
        raise ValueError("this network has not learned grid objects: run with phases [train, test], "
                         "or load a trained model (cortical run --load PATH)")
    return GridCodes(net.memory[f"{_MEMORY}.location_codes"], net.memory[f"{_MEMORY}.winner_codes"],
                     batched=bool(np.asarray(net.memory.get(f"{_MEMORY}.batched", [True]))[0]))


@register_builder("grid_objects", "experiment", params=GridObjectsParams, protocol=True, uses=Uses(
    layers=frozenset({"L6", "L4", "L23", "L1"}), required=frozenset({"L6", "L4"}), l6_kinds=frozenset({"grid_modules"}),
    worlds=frozenset({"grid_objects"}),
    keys=frozenset({"n_objects", "n_features", "features_per_object", "world", "region", "phases"})))
def run_grid_objects(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn grid objects into ``net``'s region and recognise them by touch (2019 protocol); optionally
    search the capacity.

    ``experiment.phases``: ``train`` learns the objects into the region's L4 and L6 (the learned location
    and L4 codes kept in ``net.memory``); ``test`` touches every object (one inference episode per
    object, all episodes a batch axis of the region).  ``[test]`` alone evaluates a trained network
    (``cortical run --load``).  The capacity search (``capacity_search``) probes fresh regions built
    by the same region builder from the config.
    """
    config = net.config
    p = GridObjectsParams.model_validate(config.experiment.params)
    e = config.experiment
    spec = config.regions[0]
    region: Region = net.regions[spec.name]
    world: GridObjectWorld = net.world
    bar = progress(total=2, desc="grid_objects")
    t0 = time.perf_counter()
    if "train" in e.phases:
        codes = region.learn_grid_objects(world)
        remember_codes(net, codes)
    else:
        codes = recall_grid_codes(net)
        if codes.location.shape[:2] != world.features.shape:
            raise ValueError(f"the loaded network learned {codes.n_objects} objects of {codes.location.shape[1]} "
                             f"features; the config's world has {world.n_objects} of {world.features_per_object}")
    t1 = time.perf_counter()
    bar.update(1)
    metrics: dict[str, Any] = {
        "columns": region.n_columns,
        "objects": int(e.n_objects),
        "feature_pool": int(e.n_features),
        "modules": region.L6.params.modules,
        "cells_per_axis": region.L6.params.cells_per_axis,
        "learned_batched": codes.batched,
        "learn_time_s": t1 - t0,
        "synapses": int(region.n_synapses),
    }
    if "test" in e.phases:
        orders = touch_orders(net.rng, world.n_objects, region.n_columns, world.features_per_object,
                              p.max_traversals)
        result = region.infer_grid_episodes(world, codes, orders, record=True,
                                            seed=int(net.rng.integers(0, 2**63 - 1)))
        metrics["infer_time_s"] = time.perf_counter() - t1
        steps = e.features_per_object * p.max_traversals
        sens = result.sensations
        metrics.update({
            "accuracy": result.accuracy,
            "median_sensations": result.median_sensations,
            "mean_sensations": float(np.mean(sens[np.isfinite(sens)])) if np.isfinite(sens).any() else None,
            "wrong_locks": int(result.wrong_lock.sum()),
        })
        metrics["table"] = [
            {"sensations": k, "recognised_by": float(np.mean(sens <= k))} for k in range(1, min(steps, 12) + 1)
        ]
        metrics["series"] = {
            "recognised_vs_sensations": {
                "x": list(range(1, steps + 1)), "y": [float(np.mean(sens <= k)) for k in range(1, steps + 1)],
                "xlabel": "sensations", "ylabel": "fraction of objects recognised",
            },
        }
    bar.update(1)
    bar.close()
    if p.capacity_search:
        from .builder import get_builder

        build_region = get_builder("region", "default")
        graph = net.lateral[spec.name]
        cap = capacity_reference_search(
            initial_increment=p.capacity_increment, resolution=p.capacity_resolution,
            min_accuracy=p.min_accuracy, seed=net.build_seed, n_features=e.n_features,
            features_per_object=e.features_per_object, max_traversals=p.max_traversals,
            network=lambda s: build_region(spec, graph=graph, config=config, seed=s),
            world_kwargs={"grid_width": world.grid_width, "spacing": world.spacing},
        )
        metrics["capacity"] = cap["capacity"]
        metrics["capacity_probes"] = [[n, acc] for n, acc in cap["probes"]]
    return metrics
