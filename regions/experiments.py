"""Registered builders for regions and worlds, and the touch-objects experiment (2017 protocol).

``touch_objects`` reproduces the columns paper (Hawkins, Ahmad & Cui 2017): a region of
``columns`` columns learns ``n_objects`` objects of ``features_per_object``
(location, feature) pairs, one exposure each (every pair held ``learn_repeats`` steps),
then touches each object: the object's pairs are visited in one random order, the columns
touching distinct pairs at each sensation (column ``k`` at sensation ``s`` senses pair
``order[(s * columns + k) % pairs]``), and the region settles its votes.

Metrics
-------
* sensations to converge: the sensation after which every column's L2/3 holds the
  object's code (overlap >= ``overlap_threshold`` with the learned code and at most
  ``max_active`` active cells) and stays there, up to ``max_sensations``;
* accuracy after k sensations (fraction of objects correct at sensation k);
* L4 activity on the first (bursting) exposure versus on learned sensations;
* settling: fixed points, cycles and iterations to consensus; wall time per sensation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pydantic.types import NonNegativeInt, PositiveInt
from scipy import sparse

from columns.layers.l23 import L23Params
from columns.layers.l4 import L4Params
from columns.layers.l6 import L6Params

from .builder import ProgressFactory, Uses, get_params_model, register_builder
from .config import Config, Params, RegionSpec, WorldSpec
from .consensus import summarise
from .network import Network, recall_codes, store_codes
from .recognition import ideal_observer, learn_object, recognised
from .recorders import ActivityRecorder
from .region import Region
from .worlds.feature_objects import FeatureObjectWorld

__all__ = [
    "FeatureWorldParams",
    "TouchObjectsParams",
    "build_region",
    "set_region_plasticity",
    "build_feature_world",
    "run_touch_objects",
    "learn_objects",
    "touch_objects",
    "ideal_sensations_to_converge",
]


# ------------------------------------------------------------------------------ builders
def l4_params(spec: RegionSpec) -> L4Params:
    """Layer parameters of a region spec's L4."""
    c = spec.column.L4
    return L4Params(
        minicolumns=c.minicolumns, cells_per_minicolumn=c.cells_per_minicolumn,
        basal_threshold=c.basal_threshold, min_threshold=c.min_threshold,
        apical_threshold=c.apical_threshold, reduced_basal_threshold=c.reduced_basal_threshold,
        sample_size=c.sample_size, initial_permanence=c.permanence.initial,
        connected_permanence=c.permanence.connected, permanence_increment=c.permanence.increment,
        permanence_decrement=c.permanence.decrement,
    )


def l23_params(spec: RegionSpec) -> L23Params:
    """Layer parameters of a region spec's L2/3."""
    c = spec.column.L23
    return L23Params(
        cells=c.cells, sdr_size=c.sdr_size,
        proximal_sample_size=c.proximal.sample_size, proximal_threshold=c.proximal.threshold,
        proximal_initial_permanence=c.proximal.permanence.initial,
        proximal_connected_permanence=c.proximal.permanence.connected,
        proximal_increment=c.proximal.permanence.increment,
        proximal_decrement=c.proximal.permanence.decrement,
        distal_sample_size=c.distal.sample_size, distal_threshold=c.distal.threshold,
        distal_initial_permanence=c.distal.permanence.initial,
        distal_connected_permanence=c.distal.permanence.connected,
        distal_increment=c.distal.permanence.increment, distal_decrement=c.distal.permanence.decrement,
        inertia=c.inertia, proximal_dendrites=c.proximal.dendrites,
        distal_dendrites=c.distal.dendrites,
    )


def l6_params(spec: RegionSpec) -> L6Params | None:
    """Layer parameters of a region spec's grid-module L6 (None when the column has no L6 of kind
    ``grid_modules``: its location is the world's)."""
    c = spec.column.L6
    if "L6" not in spec.column.layers or c.kind != "grid_modules":
        return None
    return L6Params(
        modules=c.modules, cells_per_axis=c.cells_per_axis,
        scales=tuple(c.scales) if c.scales is not None else c.scale,
        orientations=tuple(np.radians(c.orientations_deg)) if c.orientations_deg is not None else None,
        bump_sigma=c.bump_sigma, anchoring_threshold=c.anchoring_threshold,
        anchor_sample_size=c.anchor_sample_size,
        anchor_initial_permanence=c.anchor_permanence.initial,
        anchor_connected_permanence=c.anchor_permanence.connected,
        anchor_increment=c.anchor_permanence.increment, anchor_decrement=c.anchor_permanence.decrement,
    )


class FeatureWorldParams(Params):
    """``world.params`` of the ``feature_objects`` world.

    Pool sizes come from ``experiment``; a feature SDR has the sensing column's L4 size
    (``L4.minicolumns`` bits, ``L4.active_minicolumns`` active: one source of truth for both).
    """

    model_config = ConfigDict(extra="forbid")

    location_size: PositiveInt = 2400
    location_active: PositiveInt = 20


@register_builder("default", "region")
def build_region(spec: RegionSpec, *, graph: Any, config: Config, seed: int,
                 apical_size: int | None = None) -> Region:
    """A :class:`Region` with the layers the spec's column lists, their parameters and the lateral graph.

    L6 of kind ``grid_modules`` becomes the region's ``L6`` layer (grid modules -> L4 basal, L4 ->
    L6 anchoring); of kind ``encoder`` the location is the world's SDR (``world.params.location_size``
    bits).  L2/3 is built when listed.  ``apical_size``: L4 apical input bits per column when a higher
    region feeds back (None: the column's own L2/3).
    """
    layers = spec.column.layers
    grid = l6_params(spec)
    object_layer = "L23" in layers
    world_model = get_params_model("world", config.world.kind)  # its location_size sets L4's basal input
    world = world_model.model_validate(config.world.params) if world_model is not None else None
    region = Region(
        spec.columns,
        getattr(world, "location_size", 2400),
        l4_params(spec), l23_params(spec) if object_layer else None, graph,
        apical_feedback="L1" in layers, apical_size=apical_size,
        settle_max_iterations=spec.column.L23.settle_max_iterations if object_layer else 10,
        seed=seed, l6=grid, object_layer=object_layer,
    )
    set_region_plasticity(region, spec.column.plasticity,
                          f"regions[{[r.name for r in config.regions].index(spec.name)}].column.plasticity")
    return region


def set_region_plasticity(region: Region, rule: str, key_path: str = "column.plasticity") -> None:
    """Make every layer of ``region`` learn with the plasticity rule named ``rule``.

    Raises :class:`~regions.config.ConfigError` at ``key_path`` for an unknown name (with a
    did-you-mean) or a rule that cannot serve a layer.
    """
    from .config import ConfigError

    try:
        region.L4.set_plasticity(rule)
        if region.L23 is not None:
            region.L23.set_plasticity(rule)
    except ValueError as err:
        raise ConfigError(str(err).removeprefix("plasticity: "), key_path=key_path) from None


@register_builder("feature_objects", "world", params=FeatureWorldParams)
def build_feature_world(spec: WorldSpec, *, config: Config, seed: int) -> FeatureObjectWorld:
    """The 2017 object generator, sized by ``experiment`` and the first region's L4."""
    p = FeatureWorldParams.model_validate(spec.params)
    e = config.experiment
    l4 = config.regions[0].column.L4
    return FeatureObjectWorld(
        e.n_objects, e.n_features, e.n_locations, e.features_per_object,
        feature_size=l4.minicolumns, feature_active=l4.active_minicolumns,
        location_size=p.location_size, location_active=p.location_active, seed=seed,
    )


# ---------------------------------------------------------------------------- protocol
class TouchObjectsParams(Params):
    """``experiment.params`` of ``touch_objects``.

    ``noise_model`` says how ``experiment.noise.feature`` / ``experiment.noise.location`` (a
    level ``p``) perturb the sensed SDRs at test time (learning is always noise-free):

    * ``"exact_count"`` (default): exactly ``round(p * w)`` of an SDR's ``w`` active bits move to
      random inactive bits, drawn once per sensation and held through its settling;
    * ``"per_bit_each_step"`` (the 2017 reference, htmresearch ``SimpleObjectMachine._addNoise``
      behind paper figure 6A): each active bit moves independently with probability ``p`` (so
      Binomial(w, p) bits move), drawn afresh at every settling step of a sensation; with noise,
      every touch lasts exactly ``L23.settle_max_iterations`` steps (a repeated L2/3 state under
      a changing input is no fixed point).

    Figure 6A also ran with L4's apical feedback off (a column without ``L1`` in ``layers``) and
    3 steps per touch (``L23.settle_max_iterations: 3``); configs/touch_objects_noise.yaml is that
    setting.
    """

    model_config = ConfigDict(extra="forbid")

    learn_repeats: PositiveInt = 3
    overlap_threshold: PositiveInt = 30
    max_active: PositiveInt = 60
    accuracy_at: list[PositiveInt] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    test_objects: NonNegativeInt = 0  # 0 = all learned objects
    noise_model: Literal["exact_count", "per_bit_each_step"] = "exact_count"


def learn_objects(region: Region, world: FeatureObjectWorld, objects: np.ndarray, repeats: int,
                  progress: ProgressFactory | None = None) -> tuple[list[Any], dict[str, float]]:
    """Learn each object once; return each object's L2/3 code (CSR, one row per column) and L4 stats."""
    codes = []
    first_l4 = []
    bursting_l4 = []  # first exposures on which every active minicolumn burst
    bar = (progress or ProgressFactory(False))(total=len(objects), desc="learn", unit="obj")
    n_pairs = world.features_per_object
    seen: set[tuple[int, int]] = set()
    for obj in objects:
        learned = learn_object(region, (world.sense(int(obj), np.full(region.n_columns, i)) for i in range(n_pairs)),
                               repeats)
        for i in range(n_pairs):
            pair = (int(world.objects[obj][i][0]), int(world.objects[obj][i][1]))
            if pair not in seen:  # the first exposure of a (location, feature) pair
                seen.add(pair)
                first_l4.append(learned.l4_active[i, 0] / region.n_columns)
                if learned.l4_burst[i]:
                    bursting_l4.append(learned.l4_active[i, 0] / region.n_columns)
        codes.append(learned.code)
        bar.update(1)
    bar.close()
    return codes, {
        "l4_active_first_exposure": float(np.mean(first_l4)) if first_l4 else 0.0,
        "l4_active_bursting_exposure": float(np.mean(bursting_l4)) if bursting_l4 else 0.0,
    }


def touch_objects(
    region: Region,
    world: FeatureObjectWorld,
    codes: list[Any],
    objects: np.ndarray,
    rng: np.random.Generator,
    *,
    max_sensations: int,
    overlap_threshold: int = 30,
    max_active: int = 60,
    feature_noise: float = 0.0,
    location_noise: float = 0.0,
    noise_model: str = "exact_count",
    progress: ProgressFactory | None = None,
    touches: Any = None,
    recorder: ActivityRecorder | None = None,
    after_sensation: Callable[[Region], None] | None = None,
) -> dict[str, Any]:
    """Infer each object by touch; per-object convergence and per-sensation correctness.

    ``noise_model`` (see :class:`TouchObjectsParams`):
    ``"exact_count"`` draws the noisy SDRs once per sensation; ``"per_bit_each_step"`` moves each
    active bit with probability ``feature_noise`` / ``location_noise`` and redraws at every
    settling step (``Region.infer_sensation(resense=...)``).  Under per-step noise a touch lasts
    exactly ``region.settle_max_iterations`` steps, as in the reference (settling resumes with
    fresh draws when the L2/3 state repeats early); the settling statistics describe the first
    settle of each touch.

    ``touches`` chooses the touches (default: every object's pairs in one random order, the
    columns at distinct pairs): an object with ``begin(obj)``, ``next_pairs() -> (C,)`` pair
    indices and ``observe(region)`` after each sensation, e.g.
    :class:`regions.policies.L5Touches` (the column's L5 policy).

    ``recorder``, when given, observes every settling iteration of the touches of the first
    object (``objects[0]``): the activity raster of the measured run.  ``after_sensation(region)``
    is called after every sensation (e.g. a usage count for pruning).

    The recognition rule applies to the columns that hold a code of the object (a code's empty
    rows are columns that never learned it, e.g. columns grown after it was learned).
    """
    if noise_model not in ("exact_count", "per_bit_each_step"):
        raise ValueError(f"unknown noise_model {noise_model!r}; expected 'exact_count' or 'per_bit_each_step'")
    noisy = feature_noise > 0 or location_noise > 0
    n_pairs = world.features_per_object
    correct = np.zeros((len(objects), max_sensations), dtype=bool)
    settle = []
    l4_first, l4_learned = [], []
    synapses = []
    t_sense = 0.0
    n_sense = 0
    bar = (progress or ProgressFactory(False))(total=len(objects), desc="infer", unit="obj")
    touched = np.zeros((len(objects), max_sensations, region.n_columns), dtype=np.int64)
    for row, obj in enumerate(objects):
        region.reset()
        # columns touch distinct pairs at each sensation (fingers at different places) and
        # walk through the object's pairs in one random order
        order = rng.permutation(n_pairs)
        cols = np.arange(region.n_columns)
        touched[row] = order[(np.arange(max_sensations)[:, None] * region.n_columns + cols) % n_pairs]
        if touches is not None:
            touches.begin(int(obj))
        for s in range(max_sensations):
            resense = None
            idx = touched[row, s] if touches is None else touches.next_pairs()
            touched[row, s] = idx
            if noise_model == "exact_count":
                f, loc = world.sense(int(obj), idx,
                                     feature_noise=feature_noise, location_noise=location_noise, rng=rng)
            else:  # per_bit_each_step: fresh per-bit noise at every settling step

                def resense(_iteration: int, obj: int = int(obj), idx: np.ndarray = idx):
                    return world.sense(obj, idx, feature_noise=feature_noise, location_noise=location_noise,
                                       rng=rng, noise="per_bit")

                f, loc = resense(0)
                if not noisy:
                    resense = None
            watch = recorder is not None and row == 0
            t0 = time.perf_counter()
            res = region.infer_sensation(f, loc, resense=resense, observe=recorder.hook(s) if watch else None)
            settle.append(res.settle)
            n_synapses = res.active_synapses
            if resense is not None:
                # the input changes at every step, so a repeated L2/3 state is no fixed point: the
                # touch lasts the full settle_max_iterations steps (the reference's settlingTime)
                steps = res.settle.iterations
                while steps < region.settle_max_iterations:
                    res = region.infer_sensation(*resense(steps), resense=resense,
                                                 max_iterations=region.settle_max_iterations - steps,
                                                 observe=recorder.hook(s) if watch else None)
                    steps += res.settle.iterations
                    n_synapses += res.active_synapses
            t_sense += time.perf_counter() - t0
            n_sense += 1
            if touches is not None:
                touches.observe(region)
            if after_sensation is not None:
                after_sensation(region)
            synapses.append(n_synapses)
            code = codes[row if len(codes) == len(objects) else int(obj)]
            holds = np.diff(sparse.csr_array(code).indptr) > 0
            ov = region.overlaps_with(code)
            correct[row, s] = holds.any() and bool(recognised(ov[holds], res.l23_active[holds],
                                                              overlap_threshold=overlap_threshold,
                                                              max_active=max_active))
        bar.update(1)
    bar.close()
    wrong_after = np.where(~correct, np.arange(max_sensations)[None, :], -1).max(axis=1)
    converged = wrong_after < max_sensations - 1
    sensations = np.where(converged, wrong_after + 2, np.inf)
    summary = summarise(settle)
    return {
        "sensations_to_converge": sensations,
        "ideal_sensations_to_converge": ideal_sensations_to_converge(world, objects, touched),
        "converged": converged,
        "correct": correct,
        "settle_summary": summary,
        "settle_iterations": [int(r.entry) for r in settle if r.kind != "limit"],
        "time_per_sensation_s": t_sense / max(n_sense, 1),
        "active_synapses_per_sensation": float(np.mean(synapses)) if synapses else 0.0,
    }


def ideal_sensations_to_converge(world: FeatureObjectWorld, objects: np.ndarray, touched: np.ndarray) -> np.ndarray:
    """Sensations an ideal observer needs: the bound no recogniser can beat on the same touches.

    Parameters
    ----------
    world : the learned objects (every learned object is a candidate).
    objects : int ``(m,)``, the object touched in each row.
    touched : int ``(m, sensations, columns)``, the pair index each column sensed at each
        sensation.

    Returns
    -------
    float ``(m,)``: the first sensation (1-based) after which the (location, feature) pairs
    sensed so far by all columns together belong to that object alone; ``inf`` when they
    never single it out (an object whose pairs another object also holds).
    """
    pairs = world.objects  # (n_objects, pairs, 2): (location, feature), locations absolute
    return ideal_observer(pairs[..., 0], pairs[..., 1], objects, touched)[0]


def l4_active_on_learned(region: Region, world: FeatureObjectWorld, objects: np.ndarray) -> float:
    """Mean active L4 cells per column when learned pairs are sensed again (inference).

    Repetition makes activity sparser: a learned pair is predicted by its location, so
    one cell per active minicolumn fires instead of the whole minicolumn.
    """
    counts = []
    for obj in objects[: min(len(objects), 10)]:
        region.reset()
        mc, loc = region._inputs(*world.sense(int(obj), np.arange(region.n_columns) % world.features_per_object))
        region.L4.compute(mc, loc, None, learn=False)
        counts.append(region.L4.active_cells.size / region.n_columns)
    return float(np.mean(counts))


def _finite_mean(x: np.ndarray) -> float | None:
    finite = np.isfinite(x)
    return float(np.mean(x[finite])) if finite.any() else None


@register_builder("touch_objects", "experiment", params=TouchObjectsParams, protocol=True,
                  uses=Uses().but(add_keys={"phases", "recording"},
                                  layers={"L6", "L4", "L23", "L1", "L5"}))
def run_touch_objects(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn feature objects into ``net`` and recognise them by touch (2017 protocol).

    ``experiment.phases``: ``train`` learns the objects (their L2/3 codes are remembered in
    ``net.memory``); ``test`` touches them.  ``[test]`` alone evaluates a trained network (loaded
    with ``cortical run --load``) without a learning step.
    """
    config = net.config
    p = TouchObjectsParams.model_validate(config.experiment.params)
    e = config.experiment
    region = net.stepped(config.regions[0].name)  # the region, sensing through net.step (recorded)
    world: FeatureObjectWorld = net.world
    rng = net.rng
    objects = np.arange(e.n_objects)
    t0 = time.perf_counter()
    if "train" in e.phases:
        codes, learn_stats = learn_objects(region, world, objects, p.learn_repeats, progress)
        store_codes(net, "object_codes", codes)
    else:
        codes = recall_codes(net, "object_codes")
        if len(codes) < e.n_objects:
            raise ValueError(f"the loaded network learned {len(codes)} objects; experiment.n_objects is {e.n_objects}")
        learn_stats = {"l4_active_first_exposure": 0.0, "l4_active_bursting_exposure": 0.0}
    t_learn = time.perf_counter() - t0
    if "test" not in e.phases:
        return {"columns": region.n_columns, "objects": int(e.n_objects), "learn_time_s": t_learn,
                "synapses": int(region.n_synapses), "bytes": int(region.nbytes), **learn_stats}
    n_test = e.n_objects if p.test_objects == 0 else min(p.test_objects, e.n_objects)
    test = objects[:n_test]
    spec = config.regions[0]
    touches = None
    if "L5" in spec.column.layers:  # the column's L5 chooses every touch (its policy over the learned objects)
        from columns.layers.l5 import L5Params

        from .network import derived_seed
        from .policies import L5Touches, l5_from_codes

        l5 = l5_from_codes(net.regions[spec.name], world, codes[: e.n_objects], objects,
                           L5Params(policy=spec.column.L5.policy), np.random.default_rng(derived_seed(net.build_seed, 5)))
        touches = L5Touches(l5, world, mode="independent")
    recorder = ActivityRecorder(int(test[0]), codes[0], net.regions[spec.name])
    res = touch_objects(
        region, world, codes[:n_test], test, rng, max_sensations=e.max_sensations,
        overlap_threshold=p.overlap_threshold, max_active=p.max_active,
        feature_noise=e.noise.feature, location_noise=e.noise.location, noise_model=p.noise_model,
        progress=progress, touches=touches, recorder=recorder,
    )
    learned_l4 = l4_active_on_learned(region, world, test)
    first_exposure_l4 = learn_stats["l4_active_first_exposure"]
    sens = res["sensations_to_converge"]
    acc = res["correct"].mean(axis=0)
    s = res["settle_summary"]
    metrics: dict[str, Any] = {
        "columns": region.n_columns,
        "objects": int(e.n_objects),
        "feature_pool": int(e.n_features),
        "touch_policy": spec.column.L5.policy if touches is not None else "random order",
        "mean_sensations_to_converge": _finite_mean(sens),
        "ideal_mean_sensations_to_converge": _finite_mean(res["ideal_sensations_to_converge"]),
        "fraction_converged": float(res["converged"].mean()),
        **{f"accuracy_at_{k}": float(acc[k - 1]) for k in p.accuracy_at if k <= len(acc)},
        "l4_active_learned": learned_l4,
        "l4_sparsification": learn_stats["l4_active_bursting_exposure"] / max(learned_l4, 1e-9),
        "l4_sparsification_novel_pairs": first_exposure_l4 / max(learned_l4, 1e-9),
        "settle_fixed_point_fraction": float(s.fraction_fixed_point),
        "settle_cycle_fraction": float(s.fraction_cycle),
        "settle_mean_iterations_to_consensus": float(s.mean_entry),
        "time_per_sensation_ms": 1e3 * res["time_per_sensation_s"],
        "learn_time_s": t_learn,
        "synapses": int(region.n_synapses),
        "bytes": int(region.nbytes),
        "active_synapses_per_sensation": res["active_synapses_per_sensation"],
        **learn_stats,
    }
    metrics["table"] = [
        {"sensation": k + 1, "accuracy": float(acc[k]),
         "converged_by": float(np.mean(sens <= k + 1))}
        for k in range(len(acc))
    ]
    metrics["settle_iterations"] = res["settle_iterations"]  # per sensation, to a fixed point or cycle
    metrics["activity"] = recorder.result()  # the measured touches of the first test object
    metrics["series"] = {
        "accuracy_vs_sensations": {"x": list(range(1, len(acc) + 1)), "y": [float(a) for a in acc],
                                   "xlabel": "sensations", "ylabel": "fraction of objects recognised"},
    }
    return metrics
