"""Compositional objects: hierarchies of regions learn items made of lower-level items.

Experiment kind ``hierarchy_scenes`` (world ``feature_objects``), on a network of any depth:

* **levels**: a region with no feedforward source is at level 0 (it senses the world); every
  other region is one level above its feedforward sources.  Feedforward connections go from a
  level to the next, feedback connections from a level to the one below; all regions of a level
  learn the same items, side by side (e.g. two 4-column regions at level 0 feeding a 2-column
  region at level 1 feeding a 1-column region at level 2);
* **items**: the level-0 items are the world's ``n_objects`` feature objects; a level-``k`` item
  (``k >= 1``; ``n_scenes`` of them per level, a *scene* at level 1) places ``grid x grid``
  level-``k-1`` items on a grid (:class:`SceneSet`);
* **learning**, bottom up: every level-0 region learns every object (2017 protocol, no apical
  input); then, level by level, each level-``k`` region learns each of its items: at each grid
  position the level below holds the code of the item there, the level-``k`` L4 senses its
  projection (:class:`regions.network.Network`) at the position's location (a random location SDR
  per position and level); then the level below learns its part of the item again with the
  item's code as apical input (feedback through L1): each of the part's sensations is learned
  again with the part's code held in its L2/3;
* **test** (with ``experiment.noise`` on a share ``noisy_fraction`` of the level-0 touches):
  each top-level item is visited depth first, position by position; at the bottom the level-0
  regions touch the object (random order of its pairs) until each holds the object's code, then
  every level above senses the projection of the level below at the position's location.  With
  feedback on, a lower L4 gets the higher L2/3 as apical input (candidate scenes narrow the
  candidate objects).  Reported: level-0 sensations per object with feedback on and off, whether
  each level holds its item's code after the item's last position, and the top level's accuracy
  (``scene_accuracy_*``).

Every step goes through :meth:`regions.network.Network.step`, so ``recording:`` records any of
the regions' layers.  With two regions the protocol is the original scenes experiment (same
seeds, same numbers).

Why noise: L4 codes a (feature, location) pair with the same cells whatever the object, so
apical feedback cannot split objects that share a pair; what it does (2017 apical
tie-break) is let cells with apical support fire at the *reduced* basal threshold.  When the
location is noisy, a cell without support misses its basal threshold and its minicolumn
bursts, feeding every object with that feature anywhere; with the scene's feedback the
right cells are still predicted and the lower L2/3 narrows as fast as without noise.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.types import NonNegativeInt, PositiveInt
from scipy import sparse

from columns.sdr import random_batch

from .builder import ProgressFactory, Uses, register_builder
from .config import Params
from . import recognition
from .network import Network, derived_seed
from .region import Region, flatten_rows_inverse
from .worlds.feature_objects import FeatureObjectWorld

__all__ = ["SceneParams", "SceneSet", "Hierarchy", "hierarchy_levels", "learn_hierarchy", "recognise_item",
           "run_hierarchy_scenes"]


class SceneParams(Params):
    """``experiment.params`` of ``hierarchy_scenes``."""

    model_config = ConfigDict(extra="forbid")

    n_scenes: PositiveInt = 20  # items per level above 0
    grid: PositiveInt = 2
    learn_repeats: PositiveInt = 3
    overlap_threshold: PositiveInt = 30
    max_active: PositiveInt = 60
    test_scenes: NonNegativeInt = 0  # top-level items tested; 0 = all
    noisy_fraction: float = Field(1.0, ge=0.0, le=1.0)  # share of level-0 touches with experiment.noise


class SceneSet:
    """Items of one level: ``grid x grid`` positions, each holding one item of the level below.

    Attributes
    ----------
    objects : int ``(n_scenes, grid * grid)``, the lower item at each position (row-major).
    position_sdrs : CSR ``(grid * grid, location_size)``, the location SDR of each position.
    """

    def __init__(self, n_scenes: int, grid: int, n_objects: int, location_size: int = 2400,
                 location_active: int = 20, seed: int = 0) -> None:
        for name, v in (("n_scenes", n_scenes), ("grid", grid), ("n_objects", n_objects)):
            if int(v) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v}")
        rng = np.random.default_rng(seed)
        self.n_scenes, self.grid = int(n_scenes), int(grid)
        self.objects = rng.integers(0, int(n_objects), size=(self.n_scenes, self.grid**2))
        self.position_sdrs = random_batch(self.grid**2, location_size, location_active, rng)

    @property
    def n_positions(self) -> int:
        """Positions per item."""
        return self.grid**2


def hierarchy_levels(net: Network) -> list[list[str]]:
    """Region names by level (level 0 first, config order within a level).

    Raises ``ValueError`` naming the connection or region when the network is not a layered
    hierarchy this protocol can run: a feedforward connection that skips a level, a feedback
    connection that does not go one level down, a motor connection, fewer than two levels, a
    level-0 region whose L4 does not match the world's features, or a world that is not
    ``feature_objects``.
    """
    config = net.config
    if config.world.kind != "feature_objects":
        raise ValueError(f"hierarchy_scenes needs world.kind 'feature_objects', got {config.world.kind!r}")
    level: dict[str, int] = {}
    for name in net.order:
        sources = list(net.feedforward_graph.predecessors(name))
        level[name] = 1 + max(level[s] for s in sources) if sources else 0
    for i, c in enumerate(config.connections):
        where = f"connections[{i}] ({c.kind} {c.source} -> {c.target})"
        if c.kind == "motor":
            raise ValueError(f"{where}: hierarchy_scenes moves no sensor by L5; remove the motor connection")
        if c.kind == "feedforward" and level[c.target] != level[c.source] + 1:
            raise ValueError(f"{where}: a feedforward connection must go one level up; {c.source} is at level "
                             f"{level[c.source]} and {c.target} at level {level[c.target]}")
        if c.kind == "feedback" and level[c.source] != level[c.target] + 1:
            raise ValueError(f"{where}: a feedback connection must come from the level just above; {c.source} is "
                             f"at level {level[c.source]} and {c.target} at level {level[c.target]}")
    depth = max(level.values())
    if depth < 1:
        raise ValueError("hierarchy_scenes needs at least two levels: a feedforward connection between regions")
    names = [r.name for r in config.regions]
    if level[names[0]] != 0:
        raise ValueError(f"regions[0] ({names[0]}) must sense the world (level 0): the world's features are sized "
                         "by its L4")
    world_l4 = config.regions[0].column.L4
    for i, spec in enumerate(config.regions):
        l4 = spec.column.L4
        if level[spec.name] == 0 and (l4.minicolumns, l4.active_minicolumns) != (world_l4.minicolumns,
                                                                                 world_l4.active_minicolumns):
            raise ValueError(f"regions[{i}].column.L4: level-0 region {spec.name} senses the world's features "
                             f"({world_l4.minicolumns} minicolumns, {world_l4.active_minicolumns} active, set by "
                             f"regions[0]); it has {l4.minicolumns} and {l4.active_minicolumns}")
    return [[n for n in names if level[n] == k] for k in range(depth + 1)]


class Hierarchy:
    """The items of every level and what each region learned for them.

    Attributes
    ----------
    levels : region names by level.
    items : ``items[k]`` the :class:`SceneSet` of level ``k >= 1`` (``items[0]`` is None: the
        world's objects).
    codes : region name -> one L2/3 code (CSR ``(columns, cells)``) per item of its level.
    """

    def __init__(self, net: Network, levels: list[list[str]], items: list[SceneSet | None]) -> None:
        self.net, self.levels, self.items = net, levels, items
        self.codes: dict[str, list[sparse.csr_array]] = {n: [] for level in levels for n in level}

    @property
    def depth(self) -> int:
        """Index of the top level."""
        return len(self.levels) - 1

    def n_items(self, k: int) -> int:
        """Items of level ``k``."""
        return self.net.world.n_objects if k == 0 else self.items[k].n_scenes

    def leaves(self, k: int, item: int) -> np.ndarray:
        """The level-0 objects of a level-``k`` item in visit order (depth first, row-major)."""
        objs = np.array([item])
        for j in range(k, 0, -1):
            objs = self.items[j].objects[objs].reshape(-1)
        return objs

    def hold(self, k: int, item: int) -> None:
        """Put item ``item``'s codes into the L2/3 of every level-``k`` region."""
        for name in self.levels[k]:
            _hold_code(self.net.regions[name], self.codes[name][item])

    def positions(self, k: int, pos: int) -> dict[str, sparse.csr_array]:
        """Location SDRs of grid position ``pos`` for every level-``k`` region (one row per column)."""
        sdr = self.items[k].position_sdrs
        return {name: sdr[np.full(self.net.regions[name].n_columns, pos)] for name in self.levels[k]}

    def recognised(self, k: int, item: int, threshold: int, max_active: int) -> bool:
        """Every level-``k`` region holds item ``item``'s code (overlap >= threshold, <= max_active)."""
        return all(_recognised(self.net.regions[n], self.codes[n][item], threshold, max_active)
                   for n in self.levels[k])


def _hold_code(region: Region, code: sparse.csr_array) -> None:
    """Put an item's code into a region's L2/3 (learning then keeps it)."""
    region.reset()
    region.L23.active_cells = np.sort(
        code.indices.astype(np.int64) + np.repeat(np.arange(code.shape[0]) * code.shape[1], np.diff(code.indptr))
    ).astype(np.int32)


def _code(region: Region) -> sparse.csr_array:
    return flatten_rows_inverse(region.L23.active_cells, region.n_columns, region.l23_params.cells)


def _learn_object(h: Hierarchy, obj: int, repeats: int, feedback: bool) -> None:
    """Level 0 learns each (feature, location) pair of object ``obj`` (every region at once)."""
    net, world = h.net, h.net.world
    for i in range(world.features_per_object):
        feats, locs = {}, {}
        for name in h.levels[0]:
            feats[name], locs[name] = world.sense(obj, np.full(net.regions[name].n_columns, i))
        net.step(locs, feats, learn=True, repeats=repeats, feedback=feedback)


def _learn_item(h: Hierarchy, k: int, item: int, repeats: int) -> None:
    """Level ``k >= 1`` senses item ``item`` position by position (the level below holds each part)."""
    for pos in range(h.items[k].n_positions):
        h.hold(k - 1, int(h.items[k].objects[item, pos]))
        h.net.step(h.positions(k, pos), learn=True, repeats=repeats)


def learn_hierarchy(net: Network, levels: list[list[str]], items: list[SceneSet | None], repeats: int = 3,
                    progress: ProgressFactory | None = None) -> Hierarchy:
    """Learn every level's items bottom up, with the feedback of each level into the one below."""
    h = Hierarchy(net, levels, items)
    world = net.world
    bar = (progress or ProgressFactory(False))(total=sum(h.n_items(k) for k in range(len(levels))), desc="learn",
                                               unit="item")
    for obj in range(world.n_objects):  # level 0: the objects, no apical input
        net.reset(levels[0])
        _learn_object(h, obj, repeats, feedback=False)
        for name in levels[0]:
            h.codes[name].append(_code(net.regions[name]))
        bar.update(1)
    for k in range(1, len(levels)):
        for s in range(items[k].n_scenes):
            net.reset(levels[k])
            _learn_item(h, k, s, repeats)
            for name in levels[k]:
                h.codes[name].append(_code(net.regions[name]))
            # feedback: level k-1 learns its part of the item with the item's code as apical input
            for pos in range(items[k].n_positions):
                part = int(items[k].objects[s, pos])
                h.hold(k - 1, part)
                if k == 1:
                    _learn_object(h, part, repeats, feedback=True)
                else:
                    for sub in range(items[k - 1].n_positions):
                        h.hold(k - 2, int(items[k - 1].objects[part, sub]))
                        net.step(h.positions(k - 1, sub), learn=True, repeats=repeats)
            bar.update(1)
    bar.close()
    return h


def _recognised(region: Region, code: sparse.csr_array, threshold: int, max_active: int) -> bool:
    return bool(recognition.recognised(region.overlaps_with(code), region.L23.counts_per_column(),
                                       overlap_threshold=threshold, max_active=max_active))


def recognise_item(h: Hierarchy, item: int, *, feedback: bool, max_sensations: int, rng: np.random.Generator,
                   threshold: int = 30, max_active: int = 60, feature_noise: float = 0.0,
                   location_noise: float = 0.0, noisy_fraction: float = 1.0) -> dict[str, np.ndarray]:
    """Visit top-level item ``item`` depth first.

    Returns ``sensations``: level-0 touches to recognise each of its objects, float
    ``(objects,)`` in visit order (``inf`` if not recognised in ``max_sensations``);
    ``held[k]`` for ``k >= 1``: bool, whether level ``k`` held each visited level-``k`` item's code
    after its last position (visit order); ``top``: bool ``(positions,)``, whether the top level
    holds the item's code after each position.  A share ``noisy_fraction`` of the touches (drawn
    at random) carries the noise.
    """
    net, world = h.net, h.net.world
    net.reset()
    sens: list[float] = []
    held: dict[int, list[bool]] = {k: [] for k in range(1, h.depth + 1)}
    top: list[bool] = []

    def touch(obj: int) -> None:
        orders = {name: np.argsort(rng.random((net.regions[name].n_columns, world.features_per_object)), axis=1)
                  for name in h.levels[0]}
        for s in range(int(max_sensations)):
            noisy = rng.random() < noisy_fraction
            feats, locs = {}, {}
            for name in h.levels[0]:
                feats[name], locs[name] = world.sense(obj, orders[name][:, s % world.features_per_object],
                                                      feature_noise=feature_noise * noisy,
                                                      location_noise=location_noise * noisy, rng=rng)
            net.step(locs, feats, feedback=feedback)
            if h.recognised(0, obj, threshold, max_active):
                sens.append(s + 1.0)
                return
        sens.append(np.inf)

    def visit(k: int, it: int) -> None:
        for pos in range(h.items[k].n_positions):
            part = int(h.items[k].objects[it, pos])
            net.reset([n for j in range(k) for n in h.levels[j]])
            if k == 1:
                touch(part)
            else:
                visit(k - 1, part)
            net.step(h.positions(k, pos), feedback=feedback)
            if k == h.depth:
                top.append(h.recognised(k, it, threshold, max_active))
        held[k].append(h.recognised(k, it, threshold, max_active))

    visit(h.depth, item)
    return {"sensations": np.array(sens), "top": np.array(top),
            **{f"held{k}": np.array(v) for k, v in held.items()}}


@register_builder("hierarchy_scenes", "experiment", params=SceneParams, protocol=True,
                  uses=Uses(regions=(2, 1024)).but(add_keys={"connections", "recording"}))
def run_hierarchy_scenes(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn objects and items of every level in ``net``; recognise the top items with feedback on and off."""
    config = net.config
    p = SceneParams.model_validate(config.experiment.params)
    levels = hierarchy_levels(net)
    world = net.world
    location_active = int(world.location_sdrs[0].nnz)
    items: list[SceneSet | None] = [None]
    for k in range(1, len(levels)):
        below = world.n_objects if k == 1 else p.n_scenes
        seed = derived_seed(net.build_seed, 4) if k == 1 else derived_seed(net.build_seed, 4, k)
        items.append(SceneSet(p.n_scenes, p.grid, below, world.location_size, location_active, seed=seed))
    t0 = time.perf_counter()
    h = learn_hierarchy(net, levels, items, p.learn_repeats, progress)
    _remember(net, h)
    t_learn = time.perf_counter() - t0
    n_test = p.n_scenes if p.test_scenes == 0 else min(p.test_scenes, p.n_scenes)
    has_feedback = any(c.kind == "feedback" for c in config.connections)
    modes = [("feedback on", True), ("feedback off", False)] if has_feedback else [("feedback off", False)]
    results: dict[str, dict[str, np.ndarray]] = {}
    t0 = time.perf_counter()
    for label, fb in modes:
        rng = np.random.default_rng(derived_seed(net.build_seed, 5))
        runs = [recognise_item(h, s, feedback=fb, max_sensations=config.experiment.max_sensations, rng=rng,
                               threshold=p.overlap_threshold, max_active=p.max_active,
                               feature_noise=config.experiment.noise.feature,
                               location_noise=config.experiment.noise.location, noisy_fraction=p.noisy_fraction)
                for s in progress.iterate(range(n_test), desc=f"test, {label}")]
        results[label] = {key: np.stack([r[key] for r in runs]) for key in runs[0]}
    t_test = time.perf_counter() - t0
    return _metrics(h, results, t_learn, t_test)


def _remember(net: Network, h: Hierarchy) -> None:
    """Codes and items in ``net.memory`` (saved with the network)."""
    first_lower, first_top = h.levels[0][0], h.levels[-1][0]
    net.memory.update({"object_codes": np.stack([c.toarray() for c in h.codes[first_lower]]),
                       "scene_codes": np.stack([c.toarray() for c in h.codes[first_top]]),
                       "scene_objects": h.items[1].objects})
    for name, codes in h.codes.items():
        if name not in (first_lower, first_top):
            net.memory[f"codes.{name}"] = np.stack([c.toarray() for c in codes])
    for k in range(2, len(h.levels)):
        net.memory[f"items.level{k}"] = h.items[k].objects


def _finite_mean(x: np.ndarray) -> float | None:
    return float(np.mean(x[np.isfinite(x)])) if np.isfinite(x).any() else None


def _metrics(h: Hierarchy, results: dict[str, dict[str, np.ndarray]], t_learn: float,
             t_test: float) -> dict[str, Any]:
    top = h.items[h.depth]
    n_objects = results[next(iter(results))]["sensations"].shape[1]
    per_position = n_objects // top.n_positions  # objects visited under each top-level position
    metrics: dict[str, Any] = {"objects": h.net.world.n_objects, "scenes": top.n_scenes, "positions": top.n_positions,
                               "levels": len(h.levels), "objects_per_item": n_objects,
                               "learn_time_s": t_learn, "test_time_s": t_test}
    rows = []
    for label, r in results.items():
        key = label.replace(" ", "_")
        s = r["sensations"]
        metrics[f"lower_sensations_{key}"] = _finite_mean(s)
        metrics[f"lower_sensations_after_first_{key}"] = _finite_mean(s[:, 1:])
        metrics[f"lower_recognised_{key}"] = float(np.isfinite(s).mean())
        metrics[f"scene_accuracy_{key}"] = float(r["top"][:, -1].mean())
        for k in range(1, h.depth):
            metrics[f"level{k}_accuracy_{key}"] = float(r[f"held{k}"].mean())
        rows += [{"feedback": label, "position": o + 1, "mean_lower_sensations": _finite_mean(s[:, o]),
                  "scene_recognised": float(r["top"][:, o // per_position].mean())} for o in range(n_objects)]
    metrics["table"] = rows
    metrics["series"] = {
        f"lower_sensations_{label.replace(' ', '_')}": {
            "x": list(range(1, n_objects + 1)),
            "y": [_finite_mean(r["sensations"][:, i]) or float("nan") for i in range(n_objects)],
            "xlabel": "object visited in the item", "ylabel": "lower-region sensations to recognise the object"}
        for label, r in results.items()
    }
    return metrics
