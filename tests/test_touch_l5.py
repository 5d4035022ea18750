"""L5 chooses the touches of feature objects (configs/touch_objects_l5.yaml): hypothesis testing
reaches recognition in fewer touches than random touches on the same learned network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from columns.layers.l5 import L5Params
from regions import build, load_config
from regions.config import ConfigError
from regions.experiments import learn_objects, touch_objects
from regions.policies import L5Touches, l5_from_codes

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "touch_objects_l5.yaml"
SMALL = ["experiment.n_objects=25", "regions[0].column.L23.cells=1024", "regions[0].column.L23.sdr_size=20",
         "regions[0].column.L23.distal.threshold=8", "regions[0].column.L23.distal.sample_size=12",
         "experiment.params.overlap_threshold=15", "experiment.params.max_active=30"]


@pytest.fixture(scope="module")
def learned():
    cfg = load_config(CONFIG, SMALL)
    net = build(cfg)
    region, world = net.regions["S1"], net.world
    objects = np.arange(cfg.experiment.n_objects)
    codes, _ = learn_objects(region, world, objects, repeats=3)
    return region, world, codes, objects


def _touch(learned, policy: str | None) -> dict:
    region, world, codes, objects = learned
    touches = None
    if policy is not None:
        l5 = l5_from_codes(region, world, codes, objects, L5Params(policy=policy), np.random.default_rng(5))
        touches = L5Touches(l5, world)
    return touch_objects(region, world, codes, objects, np.random.default_rng(1), max_sensations=10,
                         overlap_threshold=15, max_active=30, touches=touches)


def test_hypothesis_testing_needs_fewer_touches_than_random_touches(learned) -> None:
    hyp, rnd, order = _touch(learned, "hypothesis"), _touch(learned, "random"), _touch(learned, None)
    for r in (hyp, rnd, order):
        assert r["converged"].all()
    mean = {k: float(np.mean(r["sensations_to_converge"])) for k, r in
            (("hypothesis", hyp), ("random", rnd), ("order", order))}
    assert mean["hypothesis"] < mean["random"] - 0.2
    assert mean["hypothesis"] < mean["order"] - 0.2  # and than the 2017 random touch order (no L5)
    # the policy picks touches that single the object out sooner: the ideal observer on them agrees
    assert np.mean(hyp["ideal_sensations_to_converge"]) < np.mean(rnd["ideal_sensations_to_converge"])


def test_l5_touches_stay_on_the_object_and_do_not_revisit_before_all_are_seen(learned) -> None:
    region, world, codes, objects = learned
    l5 = l5_from_codes(region, world, codes, objects, L5Params(policy="hypothesis"), np.random.default_rng(0))
    touches = L5Touches(l5, world)
    region.reset()
    touches.begin(3)
    seen = []
    for _ in range(world.features_per_object):
        pairs = touches.next_pairs()
        assert pairs.shape == (1,) and 0 <= pairs[0] < world.features_per_object
        f, loc = world.sense(3, pairs)
        region.infer_sensation(f, loc)
        touches.observe(region)
        seen.append(int(pairs[0]))
    assert sorted(seen) == list(range(world.features_per_object))  # every pair once
    assert touches.candidates[-1] <= touches.candidates[0]  # hypotheses only narrow
    assert touches.candidates[-1] == 1.0  # object 3 alone at the end


def test_the_config_reaches_the_protocol_and_a_bad_policy_is_named() -> None:
    out = build(load_config(CONFIG, [*SMALL, "experiment.n_objects=4", "experiment.max_sensations=3"])).run(trials=1)[0]
    assert out["touch_policy"] == "hypothesis"
    with pytest.raises(ConfigError, match="policy"):
        load_config(CONFIG, ["regions[0].column.L5.policy=greedy"])
