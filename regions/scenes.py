"""Compositional objects: a higher region learns scenes made of lower-level feature objects.

Experiment kind ``hierarchy_scenes`` (two regions, world ``feature_objects``):

* the lower region (``regions[0]``) learns ``n_objects`` feature objects (2017 protocol);
* a *scene* places ``grid x grid`` of those objects on a grid; the higher region
  (``regions[1]``) learns each scene: at each grid position its L4 feature is the projection
  of the lower region's L2/3 code of the object there (:class:`regions.network.Network`)
  and its location is the grid position (a random location SDR per position);
* the lower region's L4 learns apical segments on the scene codes (feedback through L1):
  each object's pairs are sensed again with its code held in L2/3 and the scene's code as
  apical input;
* test (with the config's ``experiment.noise`` on the lower region's sensations): the sensor visits the scene's positions in order; at each, the lower region touches
  the object (random order of its pairs) until its L2/3 holds the object's code, then the
  higher region senses the projection.  Feedback on: the lower L4 gets the higher L2/3 as
  apical input (candidate scenes narrow the candidate objects).  Reported: lower sensations
  per object with feedback on and off, and scene recognition.

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
from pydantic import BaseModel, ConfigDict, Field
from pydantic.types import NonNegativeInt, PositiveInt
from scipy import sparse

from columns.sdr import random_batch

from .builder import ProgressFactory, Uses, register_builder
from .config import Config, Params
from .experiments import FeatureWorldParams
from .network import Network, derived_seed
from .region import Region, flatten_rows_inverse
from .worlds.feature_objects import FeatureObjectWorld

__all__ = ["SceneParams", "SceneSet", "scene_regions", "learn_objects_alone", "learn_scenes", "recognise_scene", "run_hierarchy_scenes"]


class SceneParams(Params):
    """``experiment.params`` of ``hierarchy_scenes``."""

    model_config = ConfigDict(extra="forbid")

    n_scenes: PositiveInt = 20
    grid: PositiveInt = 2
    learn_repeats: PositiveInt = 3
    overlap_threshold: PositiveInt = 30
    max_active: PositiveInt = 60
    test_scenes: NonNegativeInt = 0  # 0 = all
    noisy_fraction: float = Field(1.0, ge=0.0, le=1.0)  # share of lower sensations with experiment.noise


class SceneSet:
    """Scenes: ``grid x grid`` positions, each holding one lower-level object.

    Attributes
    ----------
    objects : int ``(n_scenes, grid * grid)``, the object at each position (row-major).
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
        """Positions per scene."""
        return self.grid**2


def _hold_code(region: Region, code: sparse.csr_array) -> None:
    """Put an object's code into a region's L2/3 (learning then keeps it)."""
    region.reset()
    region.L23.active_cells = np.sort(
        code.indices.astype(np.int64) + np.repeat(np.arange(code.shape[0]) * code.shape[1], np.diff(code.indptr))
    ).astype(np.int32)


def learn_objects_alone(region: Region, world: FeatureObjectWorld, repeats: int, apical: np.ndarray) -> list:
    """Learn every object of the world in the lower region; returns their codes."""
    codes = []
    for obj in range(world.n_objects):
        region.reset()
        for i in range(world.features_per_object):
            f, loc = world.sense(obj, np.full(region.n_columns, i))
            region.learn_sensation(f, loc, repeats=repeats, apical_input=apical)
        codes.append(flatten_rows_inverse(region.L23.active_cells, region.n_columns, region.l23_params.cells))
    return codes


def learn_scenes(h: Network, lower: str, higher: str, world: FeatureObjectWorld, scenes: SceneSet,
                 codes: list, repeats: int = 3) -> list:
    """The higher region learns each scene; then the lower L4 learns apical feedback from it."""
    lo, hi = h.regions[lower], h.regions[higher]
    scene_codes = []
    for s in range(scenes.n_scenes):
        hi.reset()
        for pos in range(scenes.n_positions):
            _hold_code(lo, codes[scenes.objects[s, pos]])
            h.step({higher: scenes.position_sdrs[np.full(hi.n_columns, pos)]}, learn=True, repeats=repeats)
        scene_codes.append(flatten_rows_inverse(hi.L23.active_cells, hi.n_columns, hi.l23_params.cells))
        # feedback: the lower L4 learns the object's pairs in the context of this scene
        for pos in range(scenes.n_positions):
            obj = int(scenes.objects[s, pos])
            _hold_code(lo, codes[obj])
            for i in range(world.features_per_object):
                f, loc = world.sense(obj, np.full(lo.n_columns, i))
                h.step({lower: loc}, {lower: f}, learn=True, repeats=repeats)
    return scene_codes


def _recognised(region: Region, code: sparse.csr_array, threshold: int, max_active: int) -> bool:
    ov = region.overlaps_with(code)
    return bool(np.all(ov >= threshold) and np.all(region.L23.counts_per_column() <= max_active))


def recognise_scene(h: Network, lower: str, higher: str, world: FeatureObjectWorld, scenes: SceneSet,
                    scene: int, codes: list, scene_code: sparse.csr_array, *, feedback: bool,
                    max_sensations: int, rng: np.random.Generator, threshold: int = 30,
                    max_active: int = 60, feature_noise: float = 0.0,
                    location_noise: float = 0.0, noisy_fraction: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Visit a scene's positions in order.

    Returns (lower sensations per position ``(n_positions,)``, ``inf`` if not recognised;
    whether the higher region holds the scene's code after each position ``(n_positions,)``).
    A share ``noisy_fraction`` of the lower sensations (drawn at random) carries the noise.
    """
    lo, hi = h.regions[lower], h.regions[higher]
    h.reset()
    sens = np.full(scenes.n_positions, np.inf)
    scene_ok = np.zeros(scenes.n_positions, dtype=bool)
    for pos in range(scenes.n_positions):
        obj = int(scenes.objects[scene, pos])
        lo.reset()
        order = np.argsort(rng.random((lo.n_columns, world.features_per_object)), axis=1)
        for s in range(int(max_sensations)):
            noisy = rng.random() < noisy_fraction
            f, loc = world.sense(obj, order[:, s % world.features_per_object], feature_noise=feature_noise * noisy,
                                 location_noise=location_noise * noisy, rng=rng)
            h.step({lower: loc}, {lower: f}, feedback=feedback)
            if _recognised(lo, codes[obj], threshold, max_active):
                sens[pos] = s + 1
                break
        h.step({higher: scenes.position_sdrs[np.full(hi.n_columns, pos)]}, feedback=feedback)
        scene_ok[pos] = _recognised(hi, scene_code, threshold, max_active)
    return sens, scene_ok


def scene_regions(net: Network) -> tuple[str, str]:
    """The (lower, higher) region names of a ``hierarchy_scenes`` network; errors say what is missing."""
    config = net.config
    if len(config.regions) != 2:
        raise ValueError(f"hierarchy_scenes needs exactly 2 regions, got {len(config.regions)}")
    if config.world.kind != "feature_objects":
        raise ValueError(f"hierarchy_scenes needs world.kind 'feature_objects', got {config.world.kind!r}")
    lower, higher = config.regions[0].name, config.regions[1].name
    if lower not in net.feedforward_graph.predecessors(higher):
        raise ValueError(f"hierarchy_scenes needs a feedforward connection {lower} -> {higher}")
    return lower, higher


@register_builder("hierarchy_scenes", "experiment", params=SceneParams, protocol=True,
                  uses=Uses(regions=(2, 2)).but(add_keys={"connections"}))
def run_hierarchy_scenes(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn objects and scenes in ``net``; recognise scenes with feedback on and off."""
    config = net.config
    p = SceneParams.model_validate(config.experiment.params)
    lower, higher = scene_regions(net)
    h, world = net, net.world
    lo = h.regions[lower]
    scenes = SceneSet(p.n_scenes, p.grid, world.n_objects, world.location_size,
                      int(world.location_sdrs[0].nnz), seed=derived_seed(net.build_seed, 4))
    t0 = time.perf_counter()
    no_apical = np.zeros(0, dtype=np.int64) if h.feedback_sources[lower] else None
    codes = learn_objects_alone(lo, world, p.learn_repeats, no_apical)
    scene_codes = learn_scenes(h, lower, higher, world, scenes, codes, p.learn_repeats)
    net.memory.update({"object_codes": np.stack([c.toarray() for c in codes]),
                       "scene_codes": np.stack([c.toarray() for c in scene_codes]),
                       "scene_objects": scenes.objects})
    t_learn = time.perf_counter() - t0
    n_test = p.n_scenes if p.test_scenes == 0 else min(p.test_scenes, p.n_scenes)
    results: dict[str, dict[str, np.ndarray]] = {}
    modes = [("feedback on", True), ("feedback off", False)] if h.feedback_sources[lower] else [("feedback off", False)]
    t0 = time.perf_counter()
    for label, fb in modes:
        rng = np.random.default_rng(derived_seed(net.build_seed, 5))
        sens, ok = zip(*[recognise_scene(h, lower, higher, world, scenes, s, codes, scene_codes[s], feedback=fb,
                                         max_sensations=config.experiment.max_sensations, rng=rng,
                                         threshold=p.overlap_threshold, max_active=p.max_active,
                                         feature_noise=config.experiment.noise.feature,
                                         location_noise=config.experiment.noise.location,
                                         noisy_fraction=p.noisy_fraction)
                         for s in range(n_test)])
        results[label] = {"sensations": np.array(sens), "scene_ok": np.array(ok)}
    t_test = time.perf_counter() - t0

    def finite_mean(x: np.ndarray) -> float | None:
        return float(np.mean(x[np.isfinite(x)])) if np.isfinite(x).any() else None

    metrics: dict[str, Any] = {"objects": world.n_objects, "scenes": scenes.n_scenes, "positions": scenes.n_positions,
                               "learn_time_s": t_learn, "test_time_s": t_test}
    rows = []
    for label, r in results.items():
        key = label.replace(" ", "_")
        s = r["sensations"]
        metrics[f"lower_sensations_{key}"] = finite_mean(s)
        metrics[f"lower_sensations_after_first_{key}"] = finite_mean(s[:, 1:])
        metrics[f"lower_recognised_{key}"] = float(np.isfinite(s).mean())
        metrics[f"scene_accuracy_{key}"] = float(r["scene_ok"][:, -1].mean())
        rows += [{"feedback": label, "position": pos + 1, "mean_lower_sensations": finite_mean(s[:, pos]),
                  "scene_recognised": float(r["scene_ok"][:, pos].mean())} for pos in range(scenes.n_positions)]
    metrics["table"] = rows
    metrics["series"] = {
        f"lower_sensations_{label.replace(' ', '_')}": {
            "x": list(range(1, scenes.n_positions + 1)),
            "y": [finite_mean(r["sensations"][:, i]) or float("nan") for i in range(scenes.n_positions)],
            "xlabel": "position in scene", "ylabel": "lower-region sensations to recognise the object"}
        for label, r in results.items()
    }
    return metrics
