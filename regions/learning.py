"""Continual learning, novelty and energy of a region; the spiking-network avalanche experiment.

Two registered experiments:

``continual_learning``
    A protocol over the network built from the config: its (first) region learns ``stages`` sets of ``objects_per_stage`` feature objects in sequence, one
    exposure each, never resetting its synapses.  After every stage the first set and all objects
    learned so far are touched (the ``touch_objects`` protocol of :mod:`regions.experiments`) and
    the fraction recognised is reported: local, one-shot learning should keep the first set.  Side
    by side (when scikit-learn is installed) a small ``MLPClassifier`` learns the same objects,
    encoded as binary (location, feature) pair vectors, stage by stage with ``partial_fit``; it is
    expected to forget the first set (catastrophic forgetting).  Also reported: the novelty of
    sensations (fraction of bursting L4 minicolumns, :attr:`L4Layer.novelty`) on the first, second
    and third exposure of objects, and an energy proxy (active cells and synaptic events per
    sensation) for learned versus novel objects.

``spiking_network``
    The 1000-neuron pulse-coupled network of Izhikevich (2003) (:mod:`columns.neurons`), its firing
    rates, and its avalanche statistics (size exponent tau, duration exponent alpha, branching
    ratio m) from :mod:`regions.dynamics`, through :func:`regions.dynamics.spikes.analyse_spikes`.

Helpers used by ``benchmarks/learning.py``: :func:`recognition`, :func:`novelty_by_exposure`,
:func:`energy_per_sensation`, :func:`pair_vectors`, :func:`mlp_sequential`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.types import PositiveFloat, PositiveInt

from .builder import ProgressFactory, Uses, register_builder
from .figures import ccdf
from .config import Config, Params
from .dynamics.spikes import analyse_spikes
from .experiments import learn_objects, touch_objects
from .network import Network, derived_seed, recall_codes, store_codes
from .region import Region
from .worlds.feature_objects import FeatureObjectWorld

__all__ = [
    "ContinualLearningParams",
    "SpikingNetworkParams",
    "recognition",
    "novelty_by_exposure",
    "energy_per_sensation",
    "pair_vectors",
    "foreign_world",
    "mlp_sequential",
    "run_continual_learning",
    "run_spiking_network",
]


# ------------------------------------------------------------------------------- helpers
def recognition(
    region: Region,
    world: FeatureObjectWorld,
    codes: list[Any],
    objects: np.ndarray,
    *,
    max_sensations: int = 10,
    overlap_threshold: int = 30,
    max_active: int = 60,
    seed: int = 0,
) -> float:
    """Fraction of ``objects`` recognised after ``max_sensations`` touches (0..1).

    An object is recognised when, at the last sensation, every column's L2/3 overlaps its learned
    code (``codes[i]`` for ``objects[i]``, CSR one row per column) by >= ``overlap_threshold`` with
    at most ``max_active`` active cells (:func:`regions.recognition.recognised`, applied by
    :func:`regions.experiments.touch_objects`).
    """
    objects = np.asarray(objects)
    if len(codes) != objects.size:
        raise ValueError(f"codes: expected one code per object ({objects.size}), got {len(codes)}")
    if objects.size == 0:
        raise ValueError("objects: expected at least one object")
    res = touch_objects(region, world, codes, objects, np.random.default_rng(seed), max_sensations=int(max_sensations),
                        overlap_threshold=overlap_threshold, max_active=max_active)
    return float(res["correct"][:, -1].mean())


def _sense_pairs(world: FeatureObjectWorld, obj: int, n_columns: int, step: int) -> tuple[Any, Any]:
    """Column ``k`` senses pair ``(step + k) % pairs`` of ``obj`` (distinct pairs per column)."""
    return world.sense(int(obj), (step + np.arange(n_columns)) % world.features_per_object)


def novelty_by_exposure(
    region: Region, world: FeatureObjectWorld, objects: np.ndarray, *, exposures: int = 3, learn_repeats: int = 3
) -> np.ndarray:
    """Mean L4 novelty (fraction of active minicolumns that burst) per exposure of ``objects``.

    Exposure 1 learns each object one-shot (each pair held ``learn_repeats`` steps; novelty is read
    on the first step of each sensation, before the pair is learned); exposures 2.. sense the same
    pairs again without learning (a learned object needs no new L2/3 code).  Returns float
    ``(exposures,)``, each the mean over sensations and columns.  The per-sensation signal a
    curiosity policy reads is ``region.L4.novelty`` (float ``(n_columns,)``).
    """
    if int(exposures) < 1:
        raise ValueError(f"exposures must be >= 1, got {exposures!r}")
    if int(learn_repeats) < 1:
        raise ValueError(f"learn_repeats must be >= 1, got {learn_repeats!r}")
    n_pairs = world.features_per_object
    out = np.zeros(int(exposures))
    for e in range(int(exposures)):
        values = []
        for obj in np.asarray(objects):
            region.reset()
            for i in range(n_pairs):
                f, loc = _sense_pairs(world, obj, region.n_columns, i)
                if e == 0:
                    region.learn_sensation(f, loc, repeats=1)
                    values.append(region.L4.novelty.copy())
                    if learn_repeats > 1:
                        region.learn_sensation(f, loc, repeats=int(learn_repeats) - 1)
                else:
                    res = region.infer_sensation(f, loc)
                    values.append(res.l4_bursting / np.maximum(_active_minicolumns(region), 1))
        out[e] = float(np.mean(values))
    return out


def _active_minicolumns(region: Region) -> np.ndarray:
    return np.bincount(region.L4.active_minicolumns // region.l4_params.minicolumns, minlength=region.n_columns)


def energy_per_sensation(region: Region, world: FeatureObjectWorld, objects: np.ndarray) -> dict[str, float]:
    """Mean activity per sensation and column when ``objects`` are touched (no learning).

    Returns ``l4_active_cells``, ``l23_active_cells`` (after settling), ``synaptic_events``
    (active synapses over the whole settling, :attr:`SensationResult.active_synapses`, per column),
    ``settle_iterations`` (L2/3 updates until a fixed point, cycle or the limit) and ``novelty`` (fraction of bursting L4 minicolumns), each a mean over
    every sensation of every object.
    """
    rows = []
    n = region.n_columns
    for obj in np.asarray(objects):
        region.reset()
        for i in range(world.features_per_object):
            res = region.infer_sensation(*_sense_pairs(world, obj, n, i))
            rows.append((res.l4_active.mean(), res.l23_active.mean(), res.active_synapses / n,
                         res.settle.iterations,
                         float(np.mean(res.l4_bursting / np.maximum(_active_minicolumns(region), 1)))))
    if not rows:
        raise ValueError("objects: expected at least one object")
    m = np.mean(np.asarray(rows, dtype=np.float64), axis=0)
    keys = ("l4_active_cells", "l23_active_cells", "synaptic_events", "settle_iterations", "novelty")
    return {k: float(v) for k, v in zip(keys, m)}


def foreign_world(world: FeatureObjectWorld, seed: int) -> FeatureObjectWorld:
    """A world of the same sizes as ``world`` but other feature, location and object draws (novel input)."""
    return FeatureObjectWorld(world.n_objects, world.n_features, world.n_locations, world.features_per_object,
                              feature_size=world.feature_size, feature_active=int(world.feature_sdrs[[0]].nnz),
                              location_size=world.location_size, location_active=int(world.location_sdrs[[0]].nnz),
                              seed=seed)


def pair_vectors(world: FeatureObjectWorld, objects: np.ndarray) -> np.ndarray:
    """Objects as binary (location, feature) pair vectors, float ``(len(objects), n_locations * n_features)``.

    Bit ``location * n_features + feature`` is 1 when the object has that feature at that location:
    the whole object at once, an easier input than the region's one touch at a time.
    """
    objects = np.asarray(objects, dtype=np.int64)
    pairs = world.objects[objects]  # (n, pairs, 2): (location, feature)
    x = np.zeros((objects.size, world.n_locations * world.n_features))
    x[np.repeat(np.arange(objects.size), pairs.shape[1]), (pairs[..., 0] * world.n_features + pairs[..., 1]).ravel()] = 1
    return x


def mlp_sequential(
    world: FeatureObjectWorld,
    stages: list[np.ndarray],
    *,
    hidden: int = 64,
    max_epochs: int = 300,
    seed: int = 0,
) -> list[dict[str, float]] | None:
    """A scikit-learn ``MLPClassifier`` learning ``stages`` of objects in sequence with ``partial_fit``.

    Each stage trains on its own objects only (one :func:`pair_vectors` row per object, label =
    object id) until it classifies all of them or ``max_epochs`` passes are done; then it is
    tested on the first stage and on every object learned so far.  Returns one dict per stage
    (``first``, ``all``: accuracy 0..1; ``epochs``: passes used), or None without scikit-learn.
    """
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    classes = np.unique(np.concatenate([np.asarray(s) for s in stages]))
    # scikit-learn takes seeds below 2**32; a 63-bit trial seed is folded deterministically
    mlp = MLPClassifier(hidden_layer_sizes=(int(hidden),), random_state=int(seed) % (2**32), learning_rate_init=0.01)
    out = []
    seen: list[np.ndarray] = []
    for objs in stages:
        objs = np.asarray(objs)
        x, y = pair_vectors(world, objs), objs
        epochs = 0
        while epochs < max_epochs:
            mlp.partial_fit(x, y, classes=classes)
            epochs += 1
            if np.all(mlp.predict(x) == y):
                break
        seen.append(objs)
        learned = np.concatenate(seen)
        out.append({
            "first": float(np.mean(mlp.predict(pair_vectors(world, stages[0])) == stages[0])),
            "all": float(np.mean(mlp.predict(pair_vectors(world, learned)) == learned)),
            "epochs": float(epochs),
        })
    return out


# ------------------------------------------------------------------- continual learning
class ContinualLearningParams(Params):
    """``experiment.params`` of ``continual_learning``.

    ``experiment.n_objects`` must be at least ``stages * objects_per_stage + novel_objects`` (the
    world's objects are learned in that order; the next ``novel_objects``, never learned, are the
    novel input of the energy proxy, next to objects of another world).  The novelty curve uses
    the first ``novelty_objects`` objects in a fresh region.
    """

    model_config = ConfigDict(extra="forbid")

    stages: PositiveInt = 3
    objects_per_stage: PositiveInt = 50
    learn_repeats: PositiveInt = 3
    overlap_threshold: PositiveInt = 30
    max_active: PositiveInt = 60
    novelty_objects: PositiveInt = 10
    novel_objects: PositiveInt = 10
    mlp: bool = True
    mlp_hidden: PositiveInt = 64
    mlp_max_epochs: PositiveInt = 300


@register_builder("continual_learning", "experiment", params=ContinualLearningParams, protocol=True,
                  uses=Uses().but(add_keys={"phases"}, drop_keys={"noise"}))
def run_continual_learning(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn stages of objects into ``net``'s region, report retention, novelty and energy (module doc).

    ``experiment.phases``: ``train`` learns the stages (recognition of the first set and of all
    learned objects measured after each; the objects' L2/3 codes kept in ``net.memory``); ``test``
    alone evaluates a trained network (``cortical run --load``): recognition of the first set and of
    every learned object, novelty and energy, without a learning step.  The novelty curve learns
    its objects in a region with nothing learned: the network's region spec built afresh by the
    registered region builder (the network's own region is not touched by it).
    """
    from .builder import get_builder

    config = net.config
    p = ContinualLearningParams.model_validate(config.experiment.params)
    e = config.experiment
    n_learn = p.stages * p.objects_per_stage
    if e.n_objects < n_learn + p.novel_objects:
        raise ValueError(
            f"experiment.n_objects ({e.n_objects}) must be at least stages * objects_per_stage + novel_objects "
            f"= {n_learn + p.novel_objects}"
        )
    spec = config.regions[0]
    region: Region = net.regions[spec.name]
    world: FeatureObjectWorld = net.world
    stages = [np.arange(s * p.objects_per_stage, (s + 1) * p.objects_per_stage) for s in range(p.stages)]
    touch = dict(max_sensations=e.max_sensations, overlap_threshold=p.overlap_threshold, max_active=p.max_active)
    first_seed, all_seed = derived_seed(net.build_seed, 6, 0), derived_seed(net.build_seed, 6, 1)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    if "train" in e.phases:
        codes: list[Any] = []
        for s, objs in enumerate(stages):
            new_codes, _ = learn_objects(region, world, objs, p.learn_repeats, progress)
            codes.extend(new_codes)
            store_codes(net, "object_codes", codes)
            learned = np.concatenate(stages[: s + 1])
            rows.append({
                "stage": s + 1,
                "objects_learned": int(learned.size),
                "first_set_recognised": recognition(region, world, codes[: stages[0].size], stages[0],
                                                    seed=first_seed, **touch),
                "all_recognised": recognition(region, world, codes, learned, seed=all_seed, **touch),
                "synapses": int(region.n_synapses),
            })
    else:
        codes = recall_codes(net, "object_codes")
        if len(codes) < n_learn:
            raise ValueError(f"the loaded network learned {len(codes)} objects; stages * objects_per_stage is {n_learn}")
        learned = np.concatenate(stages)
        rows.append({
            "stage": p.stages,
            "objects_learned": int(learned.size),
            "first_set_recognised": recognition(region, world, codes[: stages[0].size], stages[0],
                                                seed=first_seed, **touch),
            "all_recognised": recognition(region, world, codes[:n_learn], learned, seed=all_seed, **touch),
            "synapses": int(region.n_synapses),
        })
    t_run = time.perf_counter() - t0
    metrics: dict[str, Any] = {
        "columns": region.n_columns,
        "plasticity": spec.column.plasticity,
        "first_set_recognised_final": rows[-1]["first_set_recognised"],
        "all_recognised_final": rows[-1]["all_recognised"],
        "synapses": int(region.n_synapses),
        "run_time_s": t_run,
    }
    if "test" not in e.phases:
        metrics["table"] = rows
        return metrics
    # the MLP baseline learns the same stages from scratch (it is no part of the network)
    mlp = (mlp_sequential(world, stages, hidden=p.mlp_hidden, max_epochs=p.mlp_max_epochs, seed=net.trial_seed)
           if p.mlp and "train" in e.phases else None)
    for row, m in zip(rows, mlp or []):
        row["mlp_first_set"] = m["first"]
        row["mlp_all"] = m["all"]
    novel = np.arange(n_learn, n_learn + p.novel_objects)
    energy_learned = energy_per_sensation(region, world, stages[0][: p.novel_objects])
    energy_novel = energy_per_sensation(region, world, novel)
    # wholly novel input: objects of another world (new feature and location SDRs)
    energy_unseen = energy_per_sensation(region, foreign_world(world, derived_seed(net.build_seed, 6, 2)),
                                         np.arange(p.novel_objects))
    # novelty over exposures, in a region with nothing learned (the same spec, built afresh)
    fresh_region: Region = get_builder("region", "default")(
        spec, graph=net.lateral[spec.name], config=config, seed=derived_seed(net.build_seed, 6, 3),
        apical_size=net.apical_size(spec.name))
    exposures = novelty_by_exposure(fresh_region, world, np.arange(p.novelty_objects), learn_repeats=p.learn_repeats)
    metrics.update({
        "mlp_first_set_final": rows[-1].get("mlp_first_set"),
        "mlp": "scikit-learn MLPClassifier" if mlp is not None else "skipped (scikit-learn not installed)"
        if p.mlp and "train" in e.phases else "off",
        "novelty_by_exposure": [float(v) for v in exposures],
        "energy_learned": energy_learned,
        "energy_novel": energy_novel,
        "energy_unseen_world": energy_unseen,
        "table": rows,
    })
    metrics["series"] = {
        "first_set_recognised": {"x": [r["objects_learned"] for r in rows], "y": [r["first_set_recognised"] for r in rows],
                                 "xlabel": "objects learned", "ylabel": "first set recognised"},
    }
    if mlp is not None:
        metrics["series"]["mlp_first_set"] = {"x": [r["objects_learned"] for r in rows],
                                              "y": [r["mlp_first_set"] for r in rows],
                                              "xlabel": "objects learned", "ylabel": "first set recognised (MLP)"}
    metrics["series"]["novelty_by_exposure"] = {"x": list(range(1, exposures.size + 1)),
                                                "y": [float(v) for v in exposures],
                                                "xlabel": "exposure", "ylabel": "mean L4 novelty"}
    return metrics


# --------------------------------------------------------------------- spiking network
class SpikingNetworkParams(Params):
    """``experiment.params`` of ``spiking_network`` (Izhikevich 2003, Fig. 3)."""

    model_config = ConfigDict(extra="forbid")

    n_excitatory: int = Field(800, ge=0)
    n_inhibitory: int = Field(200, ge=0)
    duration_ms: PositiveFloat = 3000.0
    transient_ms: float = Field(100.0, ge=0)
    observe_fractions: list[float] = Field(default_factory=lambda: [1.0, 0.1], min_length=1)


def _fit_value(fit: Any, attr: str) -> float | None:
    return None if fit is None else float(getattr(fit, attr))


@register_builder("spiking_network", "experiment", params=SpikingNetworkParams,
                  uses=Uses(keys=frozenset(), worlds=frozenset()))
def run_spiking_network(config: Config, *, seed: int, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Simulate the Izhikevich network; firing rates and avalanche exponents (tau, alpha, m)."""
    from columns.neurons import izhikevich_network, simulate_network

    p = SpikingNetworkParams.model_validate(config.experiment.params)
    if not p.duration_ms > p.transient_ms:
        raise ValueError(f"experiment.params.duration_ms ({p.duration_ms}) must exceed transient_ms ({p.transient_ms})")
    bad = [f for f in p.observe_fractions if not 0 < f <= 1]
    if bad:
        raise ValueError(f"experiment.params.observe_fractions must lie in (0, 1], got {bad[0]!r}")
    if p.n_excitatory + p.n_inhibitory == 0:
        raise ValueError("experiment.params: n_excitatory + n_inhibitory must be positive")
    rng = np.random.default_rng(seed)
    network = izhikevich_network(p.n_excitatory, p.n_inhibitory, rng=rng)
    t0 = time.perf_counter()
    spikes = simulate_network(network, p.duration_ms, rng=rng)
    t_sim = time.perf_counter() - t0
    steady = spikes.time_steps > p.transient_ms / spikes.dt_ms
    rates = np.bincount(spikes.neuron_ids[steady], minlength=network.n) / ((spikes.duration_ms - p.transient_ms) / 1e3)
    rows = []
    avalanche_series: dict[str, Any] = {}  # distributions of the first observed fraction, for the report
    for fraction in p.observe_fractions:
        observed = rng.random(network.n) < fraction
        r = analyse_spikes(spikes, steady & observed[spikes.neuron_ids])
        for name, key, fit in (("size", "sizes", "size_fit"), ("duration", "durations", "duration_fit")):
            x, y = ccdf(getattr(r["avalanches"], key))
            avalanche_series.setdefault(f"avalanche_{name}_ccdf", {
                "x": x, "y": y, "xlabel": f"avalanche {name}", "ylabel": "P(X >= x)", "loglog": True,
                "fit_exponent": _fit_value(r[fit], "exponent"), "fit_x_min": _fit_value(r[fit], "x_min")})
        rows.append({
            "observed_fraction": float(fraction),
            "neurons": int(observed.sum()),
            "spikes": int(r["n_spikes"]),
            "bin_ms": float(r["bin_ms"]),
            "empty_bins": float(r["empty"]),
            "avalanches": len(r["avalanches"]),
            "mean_size": float(r["mean_size"]),
            "tau": _fit_value(r["size_fit"], "exponent"),
            "tau_sigma": _fit_value(r["size_fit"], "sigma"),
            "alpha": _fit_value(r["duration_fit"], "exponent"),
            "alpha_sigma": _fit_value(r["duration_fit"], "sigma"),
            "gamma": None if not np.isfinite(r["gamma"]) else float(r["gamma"]),
            "m": None if not np.isfinite(r["m"]) else float(r["m"]),
            "size_law": str(r["size_law"]),
        })
    exc, inh = rates[: network.n_exc], rates[network.n_exc:]
    counts = np.bincount(spikes.time_steps, minlength=spikes.n_steps + 1)[1:]
    return {
        "neurons": network.n,
        "duration_ms": float(spikes.duration_ms),
        "spikes": len(spikes),
        "simulation_s": t_sim,
        "rate_excitatory_hz": float(exc.mean()) if exc.size else None,
        "rate_inhibitory_hz": float(inh.mean()) if inh.size else None,
        "rate_all_hz": float(rates.mean()),
        "tau": rows[0]["tau"],
        "alpha": rows[0]["alpha"],
        "m": rows[0]["m"],
        "table": rows,
        "series": {
            "population_rate": {"x": list(range(1, min(counts.size, 1000) + 1)),
                                "y": [int(c) for c in counts[:1000]],
                                "xlabel": "time (ms)", "ylabel": "spikes / ms"},
            "rate_histogram_hz": {"x": [float(v) for v in np.arange(0, 51, 2.0)[:-1]],
                                  "y": [int(v) for v in np.histogram(rates, bins=np.arange(0, 51, 2.0))[0]],
                                  "xlabel": "firing rate (Hz)", "ylabel": "neurons"},
            **avalanche_series,
        },
    }
