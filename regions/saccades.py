"""Digit saccades: a region recognises handwritten digits by looking at small patches.

Protocol (experiment kind ``digit_saccades``, world kind ``digits``) over the network built from
the config: the region is the network's first region (its L4 basal input sized by the world's
``location_size``, its L5 policy from the column's ``L5`` block), the world is ``net.world``.

1. learn (phase ``train``): every training image is one object; the eye visits every fixation in raster order
   and each column (one sensor each) learns its (patch feature, patch location) pair,
   held ``learn_repeats`` steps; the object's L2/3 code and the prototype id each sensor sees
   at each fixation are stored in L5 (the object model of the hypothesis policy);
2. test (phase ``test``): on learned images, on held-out images of the same digits and on noisy held-out
   views, the eye saccades as the L5 policy proposes (columns' proposals summed: one eye)
   for ``max_saccades`` fixations; after each, the region's answer is the class of the
   learned image whose code overlaps the L2/3 activity most (summed over columns).

Metrics: accuracy versus saccades per condition, a confusion matrix of held-out images
after the last saccade, sensations, time.

What L5 learned (object codes and object models) and the labels of the learned images are kept in
``net.memory`` (``<region>.L5.*``, ``<region>.digit_labels``), so ``cortical run --save`` writes the
whole trained model and ``experiment.phases: [test]`` evaluates a loaded one without learning.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.types import NonNegativeFloat, PositiveInt

from columns.layers.l5 import L5Layer, L5Params

from .baselines import pixel_baselines
from .builder import ProgressFactory, Uses, register_builder
from .config import Params
from .network import Network, derived_seed
from .policies import combine_proposals
from .recognition import held_objects, learn_object
from .region import Region
from .worlds.digits import DigitSaccadeWorld

__all__ = ["DigitSaccadeParams", "SaccadeEpisode", "make_l5", "confusion_matrix", "learn_digits", "saccade_episode",
           "evaluate_digits", "save_l5", "restore_l5", "run_digit_saccades"]


class DigitSaccadeParams(Params):
    """``experiment.params`` of ``digit_saccades``."""

    model_config = ConfigDict(extra="forbid")

    learn_repeats: PositiveInt = 3
    max_saccades: PositiveInt = 10
    test_pixel_noise: NonNegativeFloat = 0.2
    curiosity: NonNegativeFloat = 0.0
    match_fraction: float = Field(0.5, gt=0.0, le=1.0)
    test_learned: bool = True


def make_l5(region: Region, world: DigitSaccadeWorld, policy: str, curiosity: float = 0.0,
            match_fraction: float = 0.5, seed: int = 0) -> L5Layer:
    """An L5 for a region looking at a digit world (locations = fixations)."""
    return L5Layer(region.n_columns, world.n_fixations, region.l23_params.cells,
                   L5Params(policy=policy, curiosity=curiosity, match_fraction=match_fraction),
                   location_coordinates=world.fixations, rng=np.random.default_rng(seed))


def learn_digits(region: Region, l5: L5Layer, world: DigitSaccadeWorld, indices: np.ndarray,
                 repeats: int = 3, progress: ProgressFactory | None = None) -> np.ndarray:
    """Learn each image of ``indices`` as one object (all fixations); returns their labels."""
    if world.n_sensors != region.n_columns:
        raise ValueError(f"the world has {world.n_sensors} sensors, the region {region.n_columns} columns")
    bar = (progress or ProgressFactory(False))(total=len(indices), desc="learn", unit="img")
    for i in np.asarray(indices):
        view = world.view(int(i), pixel_noise=0.0)
        learn_object(region, (world.sense_at(view, f) for f in range(world.n_fixations)), repeats)
        l5.learn_object(region.L23.active_cells, world.feature_ids(view))
        bar.update(1)
    bar.close()
    return world.labels[np.asarray(indices)]


@dataclass
class SaccadeEpisode:
    """One image looked at.

    Attributes
    ----------
    predicted : int ``(saccades,)``, the class answered after each saccade (-1: none).
    fixations : int ``(saccades,)``, fixation ids visited.
    candidates : float ``(saccades,)``, mean hypotheses per column after each saccade.
    """

    predicted: np.ndarray
    fixations: np.ndarray
    candidates: np.ndarray


def saccade_episode(region: Region, l5: L5Layer, world: DigitSaccadeWorld, view: np.ndarray,
                    object_labels: np.ndarray, max_saccades: int) -> SaccadeEpisode:
    """Look at one image view for ``max_saccades`` fixations chosen by ``l5``'s policy."""
    region.reset()
    l5.reset()
    hyp = np.ones((region.n_columns, l5.n_objects), dtype=bool)
    pred, fix, cand = [], [], []
    for s in range(int(max_saccades)):
        target = int(combine_proposals(l5.propose(hyp), "shared")[0])
        if s == 0:
            world.reset(target)
        else:
            world.move(l5.displacement(np.full(region.n_columns, target))[0])
        feats, locs = world.sense(view)
        region.infer_sensation(feats, locs)
        l5.observe(np.full(region.n_columns, world.fixation), region.L4.novelty)
        ov = l5.overlaps(region.L23.active_cells)  # (C, O)
        hyp = l5.hypotheses(region.L23.active_cells)
        held = int(held_objects(ov.sum(axis=0), 1))  # the region's best image, any overlap
        pred.append(int(object_labels[held]) if held >= 0 else -1)
        fix.append(world.fixation)
        cand.append(float(hyp.sum(axis=1).mean()))
    return SaccadeEpisode(np.array(pred), np.array(fix), np.array(cand))


def evaluate_digits(region: Region, l5: L5Layer, world: DigitSaccadeWorld, indices: np.ndarray,
                    object_labels: np.ndarray, max_saccades: int, pixel_noise: float = 0.0,
                    rng: np.random.Generator | None = None,
                    progress: ProgressFactory | None = None) -> tuple[np.ndarray, list[SaccadeEpisode]]:
    """Correct answers ``(n_images, max_saccades)`` and the episodes, for images ``indices``."""
    rng = rng if rng is not None else np.random.default_rng(0)
    bar = (progress or ProgressFactory(False))(total=len(indices), desc="test", unit="img")
    correct, episodes = [], []
    for i in np.asarray(indices):
        view = world.view(int(i), pixel_noise=pixel_noise, rng=rng)
        ep = saccade_episode(region, l5, world, view, object_labels, max_saccades)
        episodes.append(ep)
        correct.append(ep.predicted == world.labels[int(i)])
        bar.update(1)
    bar.close()
    return np.array(correct), episodes


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Counts ``(n_classes, n_classes + 1)``: row = true class, column = answer (last: none)."""
    p = np.where(predicted < 0, n_classes, predicted)
    return np.bincount(truth * (n_classes + 1) + p, minlength=n_classes * (n_classes + 1)).reshape(
        n_classes, n_classes + 1)


def save_l5(net: Network, name: str, l5: L5Layer, labels: np.ndarray) -> None:
    """Remember what ``l5`` learned and the learned images' labels in ``net.memory[name.*]``."""
    for key, value in l5.state_arrays().items():
        net.memory[f"{name}.L5.{key}"] = value
    net.memory[f"{name}.digit_labels"] = np.asarray(labels, dtype=np.int64)


def restore_l5(net: Network, name: str, l5: L5Layer) -> np.ndarray:
    """Load into ``l5`` what :func:`save_l5` remembered; returns the learned images' labels.

    ``ValueError`` naming the cure when ``net`` has learned no digits.
    """
    if f"{name}.digit_labels" not in net.memory:
        raise ValueError(f"region {name!r} of this network has learned no digits: run with phases [train, test], "
                         "or load a trained model (cortical run --load PATH)")
    prefix = f"{name}.L5."
    l5.load_state_arrays({k[len(prefix):]: v for k, v in net.memory.items() if k.startswith(prefix)})
    labels = np.asarray(net.memory[f"{name}.digit_labels"], dtype=np.int64)
    if labels.shape != (l5.n_objects,):
        raise ValueError(f"the saved digit labels ({labels.size}) do not match the {l5.n_objects} objects L5 learned")
    return labels


@register_builder("digit_saccades", "experiment", params=DigitSaccadeParams, protocol=True, uses=Uses(
    layers=frozenset({"L6", "L4", "L23", "L1", "L5"}), required=frozenset({"L6", "L4", "L23", "L5"}),
    worlds=frozenset({"digits"}), keys=frozenset({"world", "region", "phases"})))
def run_digit_saccades(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn digit images by saccades into ``net`` and recognise learned, held-out and noisy views.

    ``experiment.phases``: ``train`` learns the training images (L2/3 and L4 synapses in the
    region, object codes and models in L5, kept in ``net.memory``); ``test`` looks at the
    images.  ``[test]`` alone evaluates a trained network loaded with ``cortical run --load``.
    """
    config = net.config
    if config.world.kind != "digits":
        raise ValueError(f"digit_saccades needs world.kind 'digits', got {config.world.kind!r}")
    p = DigitSaccadeParams.model_validate(config.experiment.params)
    spec = config.regions[0]
    world: DigitSaccadeWorld = net.world
    region: Region = net.regions[spec.name]
    if region.location_size != world.location_size:
        raise ValueError(f"region {spec.name!r} takes {region.location_size}-bit locations, the digits world "
                         f"gives {world.location_size} (world.params.location_size)")
    policy = spec.column.L5.policy
    l5 = make_l5(region, world, policy, p.curiosity, p.match_fraction, derived_seed(net.build_seed, 5))
    t0 = time.perf_counter()
    if "train" in config.experiment.phases:
        if net.learned:
            labels = restore_l5(net, spec.name, l5)  # continue learning a trained network
            labels = np.concatenate([labels, learn_digits(region, l5, world, world.train_indices,
                                                          p.learn_repeats, progress)])
        else:
            labels = learn_digits(region, l5, world, world.train_indices, p.learn_repeats, progress)
        save_l5(net, spec.name, l5, labels)
    else:
        labels = restore_l5(net, spec.name, l5)
    t_learn = time.perf_counter() - t0
    metrics: dict[str, Any] = {
        "columns": region.n_columns,
        "policy": policy,
        "train_images": int(len(world.train_indices)),
        "test_images": int(len(world.test_indices)),
        "fixations": int(world.n_fixations),
        "feature_prototypes": int(world.n_prototypes),
        "learned_objects": int(l5.n_objects),
        "synapses": int(region.n_synapses),
        "learn_time_s": t_learn,
    }
    if "test" not in config.experiment.phases:
        return metrics
    rng = net.rng
    conditions = [("held-out", world.test_indices, 0.0),
                  (f"held-out, pixel noise {p.test_pixel_noise:g}", world.test_indices, p.test_pixel_noise)]
    if p.test_learned:
        conditions.insert(0, ("learned", world.train_indices, 0.0))
    t0 = time.perf_counter()
    acc: dict[str, np.ndarray] = {}
    held_out_episodes: list[SaccadeEpisode] = []
    for name, idx, noise in conditions:
        correct, eps = evaluate_digits(region, l5, world, idx, labels, p.max_saccades, noise, rng, progress)
        acc[name] = correct.mean(axis=0)
        if name == "held-out":
            held_out_episodes = eps
    t_test = time.perf_counter() - t0
    n_tests = sum(len(idx) for _, idx, _ in conditions)
    truth = world.labels[world.test_indices]
    final = np.array([ep.predicted[-1] for ep in held_out_episodes])
    conf = confusion_matrix(truth, final)
    metrics.update({
        **{f"accuracy_{name.split(',')[0].replace('-', '_')}{'_noisy' if 'noise' in name else ''}_final":
           float(a[-1]) for name, a in acc.items()},
        "time_per_saccade_ms": 1e3 * t_test / max(1, n_tests * p.max_saccades),
        "confusion_held_out": conf.tolist(),
        # the same training and held-out images without columns: 1-NN and an MLP on raw pixels
        **pixel_baselines(world.images, world.labels, world.train_indices, world.test_indices,
                          seed=derived_seed(net.build_seed, 6)),
    })
    metrics["table"] = [
        {"saccades": s + 1, **{name: round(float(a[s]), 3) for name, a in acc.items()}}
        for s in range(p.max_saccades)
    ]
    metrics["series"] = {
        name: {"x": list(range(1, p.max_saccades + 1)), "y": [float(v) for v in a],
               "xlabel": "saccades", "ylabel": "accuracy"}
        for name, a in acc.items()
    }
    return metrics
