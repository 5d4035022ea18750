"""Plasticity rules, homeostasis, synapse budget and novelty against brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from columns.dendrites import DendriteStore
from columns.plasticity import (
    kwta_usage,
    BCMRule,
    HebbianRule,
    Homeostasis,
    PlasticityRule,
    STDPRule,
    SynapseBudget,
    available_rules,
    get_rule,
    novelty,
    novelty_per_column,
    usage_entropy,
)

EMPTY = np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------- helpers
def random_store(rng: np.random.Generator, n_cells: int, n_pre: int, n_segments: int, *, min_merge: int = 1 << 15,
                 pending: bool = True) -> DendriteStore:
    """A store with random segments and synapses, part of them in the pending run, a few tombstones."""
    store = DendriteStore(n_cells, n_pre, 0.5, min_merge=min_merge, merge_fraction=0.1)
    segs = store.create_segments(rng.integers(0, n_cells, size=n_segments))
    store.grow_synapses(segs, np.arange(n_pre), rng.integers(1, n_pre + 1, size=n_segments), 0.5, rng)
    store.compact()
    if pending:  # more synapses in the pending run, some removed (tombstones)
        store.grow_synapses(segs, np.arange(n_pre), rng.integers(0, 3, size=n_segments), 0.45, rng)
        live = store.live_synapses()
        if live.slots.size > 4:
            store.remove_synapses(rng.choice(live.slots, size=2, replace=False))
    return store


def synapse_table(store: DendriteStore) -> dict[tuple[int, int], float]:
    """(segment, presynaptic) -> permanence of every live synapse, via the public per-segment view."""
    table = {}
    for s in np.flatnonzero(store.segment_cell >= 0).tolist():
        pre, perm = store.synapses_of(s)
        for p, v in zip(pre.tolist(), perm.tolist()):
            table[(s, p)] = v
    return table


def spikes(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    return np.flatnonzero(rng.random(n) < p)


# ------------------------------------------------------- store accessors
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), pending=st.booleans())
def test_store_synapse_views_match_per_segment_lookup(seed: int, pending: bool) -> None:
    rng = np.random.default_rng(seed)
    store = random_store(rng, 6, 12, 8, pending=pending)
    table = synapse_table(store)

    live = store.live_synapses()
    assert live.slots.size == store.n_synapses == len(table)
    got = {(int(s), int(p)): float(v) for s, p, v in zip(live.segment, live.presynaptic, live.permanence)}
    assert got == table

    segs = rng.choice(np.flatnonzero(store.segment_cell >= 0), size=3, replace=False)
    view = store.synapses_of_segments(segs)
    expected = {k: v for k, v in table.items() if k[0] in set(segs.tolist())}
    assert {(int(s), int(p)): float(v) for s, p, v in zip(view.segment, view.presynaptic, view.permanence)} == expected
    assert np.unique(view.slots).size == view.slots.size

    cells = rng.choice(12, size=4, replace=False)
    view = store.synapses_of_presynaptic(np.r_[cells, cells[:1]])  # duplicates ignored
    expected = {k: v for k, v in table.items() if k[1] in set(cells.tolist())}
    assert {(int(s), int(p)): float(v) for s, p, v in zip(view.segment, view.presynaptic, view.permanence)} == expected
    assert np.unique(view.slots).size == view.slots.size


def test_update_permanences_clips_destroys_and_stamps() -> None:
    rng = np.random.default_rng(0)
    store = DendriteStore(2, 6, 0.5)
    seg = store.create_segments(np.array([0, 1]))
    store.grow_synapses(seg, np.arange(3), 3, 0.5, rng)
    store.timestep = 7
    view = store.synapses_of_segments(seg[:1])
    order = np.argsort(view.presynaptic)
    store.update_permanences(view.slots[order], np.array([0.7, -0.2, -0.5]))
    pre, perm = store.synapses_of(int(seg[0]))
    assert pre.tolist() == [0, 1]  # the synapse that reached 0 is destroyed
    np.testing.assert_allclose(perm, [1.0, 0.3], atol=1e-6)
    assert store.segment_last_used[seg[0]] == 7 and store.segment_last_used[seg[1]] == 0
    # emptying a segment destroys it
    store.update_permanences(store.synapses_of_segments(seg[1:]).slots, -1.0)
    assert store.segment_cell[seg[1]] == -1 and store.n_segments == 1
    with pytest.raises(ValueError, match="duplicate"):
        slot = store.synapses_of_segments(seg[:1]).slots[0]
        store.update_permanences(np.array([slot, slot]), 0.1)
    with pytest.raises(ValueError, match="delta"):
        store.update_permanences(store.synapses_of_segments(seg[:1]).slots, np.ones(5))
    dead = np.setdiff1d(np.arange(6), store.live_synapses().slots)[0]
    with pytest.raises(ValueError, match="no live synapse"):
        store.update_permanences(np.array([dead]), 0.1)


def test_remove_synapses_destroys_emptied_segments() -> None:
    rng = np.random.default_rng(1)
    store = DendriteStore(3, 8, 0.5)
    seg = store.create_segments(np.array([0, 2]))
    store.grow_synapses(seg, np.arange(4), 4, 0.6, rng)
    store.remove_synapses(store.synapses_of_segments(seg[:1]).slots)
    store.remove_synapses(store.synapses_of_segments(seg[1:]).slots[:2])
    assert store.segment_cell[seg[0]] == -1
    assert store.segment_synapse_count[seg[1]] == 2 and store.n_synapses == 2


# ----------------------------------------------------------------- registry
def test_registry_builds_fresh_rules_by_name() -> None:
    assert set(available_rules()) >= {"hebbian", "stdp", "bcm"}
    a, b = get_rule("stdp"), get_rule(" STDP ")
    assert isinstance(a, STDPRule) and isinstance(a, PlasticityRule) and a is not b
    assert get_rule("bcm", eta=0.2).eta == 0.2
    assert isinstance(get_rule("hebbian"), HebbianRule)


def test_registry_errors_name_the_value() -> None:
    with pytest.raises(ValueError, match=r"unknown rule 'hebian' \(did you mean 'hebbian'\?\)"):
        get_rule("hebian")
    with pytest.raises(ValueError, match="known rules: bcm, hebbian, stdp"):
        get_rule("oja-xyz")
    with pytest.raises(ValueError, match="bad parameters for rule 'stdp'"):
        get_rule("stdp", a_pluss=0.1)
    with pytest.raises(ValueError, match="tau_plus"):
        get_rule("stdp", tau_plus=0)
    with pytest.raises(ValueError, match="pairing"):
        STDPRule(pairing="triplet")
    with pytest.raises(ValueError, match="rule name"):
        get_rule(3)  # type: ignore[arg-type]


# ------------------------------------------------------------------ Hebbian
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_hebbian_rule_is_the_store_permanence_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = random_store(np.random.default_rng(seed + 1), 6, 12, 8)
    b = random_store(np.random.default_rng(seed + 1), 6, 12, 8)
    segs = np.flatnonzero(a.segment_cell >= 0)[:4]
    active = spikes(rng, 12, 0.4)
    rule = HebbianRule(0.1, 0.3, punish_decrement=0.05)
    rule.learn(a, segs, active)
    b.adapt_segments(segs, active, 0.1, 0.3)
    assert synapse_table(a) == synapse_table(b)
    rule.punish(a, segs[:1], active)
    b.punish_segments(segs[:1], active, 0.05)
    assert synapse_table(a) == synapse_table(b)
    with pytest.raises(ValueError, match="segments"):
        rule.learn(a, None, active)


# --------------------------------------------------------------------- STDP
class ReferenceSTDP:
    """Pair-based STDP over whole spike histories, by brute force over spike pairs."""

    def __init__(self, rule: STDPRule) -> None:
        self.rule = rule
        self.pre_spikes: dict[int, list[int]] = {}
        self.post_spikes: dict[int, list[int]] = {}

    def step_deltas(self, table, seg_cell, pre, post, t, allowed):
        r = self.rule
        for p in pre:
            self.pre_spikes.setdefault(p, []).append(t)
        deltas: dict[tuple[int, int], float] = {}
        for (s, p) in table:
            if allowed is not None and s not in allowed:
                continue
            c = seg_cell[s]
            d = 0.0
            if c in post:  # post spike at t pairs with pre spikes at t' <= t
                times = [u for u in self.pre_spikes.get(p, []) if u <= t]
                if r.pairing == "nearest":
                    times = times[-1:]
                d += sum(r.a_plus * math.exp(-(t - u) / r.tau_plus) for u in times)
            if p in pre:  # pre spike at t pairs with post spikes at t' < t
                times = [u for u in self.post_spikes.get(c, []) if u < t]
                if r.pairing == "nearest":
                    times = times[-1:]
                d -= sum(r.a_minus * math.exp(-(t - u) / r.tau_minus) for u in times)
            if d != 0.0:
                deltas[(s, p)] = d
        for c in post:
            self.post_spikes.setdefault(c, []).append(t)
        return deltas


def apply_reference(table: dict, deltas: dict) -> None:
    for key, d in deltas.items():
        v = float(np.clip(np.float32(table[key]) + np.float32(d), 0.0, 1.0))
        if v <= 0:
            del table[key]
        else:
            table[key] = v


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    pairing=st.sampled_from(["all-to-all", "nearest"]),
    tau_plus=st.floats(0.5, 20),
    tau_minus=st.floats(0.5, 20),
    restrict=st.booleans(),
)
def test_stdp_matches_brute_force_pairs(seed: int, pairing: str, tau_plus: float, tau_minus: float,
                                        restrict: bool) -> None:
    rng = np.random.default_rng(seed)
    n_cells, n_pre = 4, 7
    store = random_store(rng, n_cells, n_pre, 6)
    rule = STDPRule(a_plus=0.03, a_minus=0.035, tau_plus=tau_plus, tau_minus=tau_minus, pairing=pairing)
    ref = ReferenceSTDP(rule)
    table = synapse_table(store)
    seg_cell = store.segment_cell.copy()
    live = np.flatnonzero(seg_cell >= 0)
    allowed = rng.choice(live, size=3, replace=False) if restrict else None
    t0 = int(rng.integers(0, 5))
    for t in range(t0, t0 + 25):
        pre, post = spikes(rng, n_pre, 0.3), spikes(rng, n_cells, 0.3)
        deltas = ref.step_deltas(table, seg_cell, set(pre.tolist()), set(post.tolist()), t,
                                 None if allowed is None else set(allowed.tolist()))
        apply_reference(table, deltas)
        if allowed is not None:
            allowed = allowed[store.segment_cell[allowed] >= 0]  # segments may die under LTD
        rule.learn(store, allowed, pre, post_active=post, t=t)
        got = synapse_table(store)
        assert got.keys() == table.keys()
        for key in table:
            assert got[key] == pytest.approx(table[key], abs=2e-6)


def test_stdp_traces_are_sums_of_decayed_spikes() -> None:
    store = DendriteStore(2, 3, 0.5)
    rule = STDPRule(tau_plus=4.0, tau_minus=2.0)
    rule.learn(store, None, np.array([0, 2]), post_active=np.array([1]), t=0)
    rule.learn(store, None, np.array([0]), post_active=EMPTY, t=3)
    pre_trace, post_trace = rule.traces(5)
    np.testing.assert_allclose(pre_trace, [math.exp(-5 / 4) + math.exp(-2 / 4), 0.0, math.exp(-5 / 4)])
    np.testing.assert_allclose(post_trace, [0.0, math.exp(-5 / 2)])


@pytest.mark.parametrize("pairing", ["all-to-all", "nearest"])
def test_stdp_timing_sets_the_sign(pairing: str) -> None:
    def final_permanence(pre_time: int, post_time: int) -> float:
        store = DendriteStore(1, 1, 0.5)
        seg = store.create_segments(np.array([0]))
        store.grow_synapses(seg, np.array([0]), 1, 0.5, np.random.default_rng(0))
        rule = STDPRule(a_plus=0.1, a_minus=0.1, tau_plus=5.0, tau_minus=5.0, pairing=pairing)
        for t in range(12):
            rule.learn(store, None, np.array([0]) if t == pre_time else EMPTY,
                       post_active=np.array([0]) if t == post_time else EMPTY, t=t)
        return float(store.synapses_of(int(seg[0]))[1][0])

    assert final_permanence(2, 5) == pytest.approx(0.5 + 0.1 * math.exp(-3 / 5), abs=1e-6)
    assert final_permanence(5, 2) == pytest.approx(0.5 - 0.1 * math.exp(-3 / 5), abs=1e-6)
    assert final_permanence(4, 4) == pytest.approx(0.6, abs=1e-6)  # same step: pre drove post
    assert final_permanence(1, 3) > final_permanence(1, 8) > 0.5  # closer pairs weigh more


def test_stateful_rules_reject_bad_calls() -> None:
    store = DendriteStore(3, 4, 0.5)
    for rule in (STDPRule(), BCMRule()):
        with pytest.raises(ValueError, match="post_active"):
            rule.learn(store, None, np.array([1]))
        rule.learn(store, None, np.array([1]), post_active=np.array([0]), t=4)
        with pytest.raises(ValueError, match="not after"):
            rule.learn(store, None, np.array([1]), post_active=np.array([0]), t=4)
        with pytest.raises(ValueError, match="one rule instance per store"):
            rule.learn(DendriteStore(5, 4, 0.5), None, EMPTY, post_active=EMPTY, t=9)
        with pytest.raises(ValueError, match="post_active: index 3"):
            rule.learn(store, None, EMPTY, post_active=np.array([3]), t=9)
        store.timestep = 10
        rule.learn(store, None, EMPTY, post_active=EMPTY)  # t defaults to store.timestep
        rule.reset()
        rule.learn(store, None, EMPTY, post_active=EMPTY, t=0)


# ---------------------------------------------------------------------- BCM
class ReferenceBCM:
    """BCM with every cell's rate and threshold advanced at every step."""

    def __init__(self, rule: BCMRule, n_cells: int) -> None:
        self.rule = rule
        self.y = np.zeros(n_cells)
        self.theta = np.full(n_cells, rule.theta_init)

    def step_deltas(self, table, seg_cell, pre, post, allowed):
        a, b = math.exp(-1 / self.rule.tau_rate), math.exp(-1 / self.rule.tau_theta)
        s = np.zeros(self.y.size)
        s[list(post)] = 1.0
        self.y = a * self.y + (1 - a) * s
        deltas = {}
        for (seg, p) in table:
            if p in pre and (allowed is None or seg in allowed):
                c = seg_cell[seg]
                d = self.rule.eta * self.y[c] * (self.y[c] - self.theta[c])
                if d != 0.0:
                    deltas[(seg, p)] = d
        self.theta = b * self.theta + (1 - b) * self.y**2
        return deltas


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    tau_rate=st.floats(0.3, 10),
    tau_theta=st.floats(0.3, 200),
    restrict=st.booleans(),
)
@example(seed=1, tau_rate=2.0, tau_theta=1.0, restrict=False)  # exp(-2/tau_rate) == exp(-1/tau_theta)
def test_bcm_matches_per_step_reference(seed: int, tau_rate: float, tau_theta: float, restrict: bool) -> None:
    rng = np.random.default_rng(seed)
    n_cells, n_pre = 4, 7
    store = random_store(rng, n_cells, n_pre, 6)
    rule = BCMRule(eta=0.2, tau_rate=tau_rate, tau_theta=tau_theta, theta_init=float(rng.uniform(0, 0.5)))
    ref = ReferenceBCM(rule, n_cells)
    table = synapse_table(store)
    seg_cell = store.segment_cell.copy()
    allowed = rng.choice(np.flatnonzero(seg_cell >= 0), size=3, replace=False) if restrict else None
    p_pre, p_post = rng.uniform(0.05, 0.6, size=2)
    for t in range(30):
        pre, post = spikes(rng, n_pre, p_pre), spikes(rng, n_cells, p_post)
        deltas = ref.step_deltas(table, seg_cell, set(pre.tolist()), set(post.tolist()),
                                 None if allowed is None else set(allowed.tolist()))
        apply_reference(table, deltas)
        if allowed is not None:
            allowed = allowed[store.segment_cell[allowed] >= 0]
        rule.learn(store, allowed, pre, post_active=post, t=t)
        got = synapse_table(store)
        assert got.keys() == table.keys()
        for key in table:
            assert got[key] == pytest.approx(table[key], abs=2e-6)
    y, theta = rule.state(29)
    np.testing.assert_allclose(y, ref.y, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(theta, ref.theta, rtol=1e-9, atol=1e-12)


def _bcm_single_synapse(pre_times: set[int], post_times: set[int], steps: int, rule: BCMRule) -> float:
    store = DendriteStore(1, 1, 0.5)
    seg = store.create_segments(np.array([0]))
    store.grow_synapses(seg, np.array([0]), 1, 0.5, np.random.default_rng(0))
    for t in range(steps):
        rule.learn(store, None, np.array([0]) if t in pre_times else EMPTY,
                   post_active=np.array([0]) if t in post_times else EMPTY, t=t)
    _, perm = store.synapses_of(int(seg[0]))
    return float(perm[0]) if perm.size else 0.0


def test_bcm_high_frequency_potentiates_low_frequency_depresses() -> None:
    params = dict(eta=0.05, tau_rate=5.0, tau_theta=100.0, theta_init=0.3)
    every_step = set(range(30))
    assert _bcm_single_synapse(every_step, every_step, 30, BCMRule(**params)) > 0.9
    every_tenth = set(range(0, 60, 10))
    assert _bcm_single_synapse(every_tenth, every_tenth, 60, BCMRule(**params)) < 0.5
    # same post bursts (5 of every 15 steps); the pre cell fires inside them or in the gaps
    post = {t for t in range(90) if t % 15 < 5}
    in_sync = {t for t in range(90) if 2 <= t % 15 < 5}
    out_of_sync = {t for t in range(90) if 10 <= t % 15}
    assert _bcm_single_synapse(in_sync, post, 90, BCMRule(**params)) > 0.6
    assert _bcm_single_synapse(out_of_sync, post, 90, BCMRule(**params)) < 0.5


def test_bcm_threshold_slides_with_activity() -> None:
    rule = BCMRule(eta=0.05, tau_rate=3.0, tau_theta=20.0, theta_init=0.05)
    store = DendriteStore(2, 1, 0.5)
    thresholds = []
    for t in range(120):
        post = np.array([0]) if t < 60 else EMPTY  # cell 0 very active, then silent; cell 1 silent
        rule.learn(store, None, EMPTY, post_active=post, t=t)
        thresholds.append(rule.state(t)[1])
    theta = np.array(thresholds)
    assert theta[59, 0] > 0.8 and np.all(np.diff(theta[5:60, 0]) > 0)  # rises toward <y^2> = 1
    assert theta[119, 0] < 0.1 and np.all(np.diff(theta[62:, 0]) < 0)  # decays when silent
    assert theta[119, 1] == pytest.approx(0.05 * math.exp(-120 / 20))  # theta_init holds before step 0
    # a stimulus that potentiates a naive cell depresses one whose threshold has risen
    burst = {100, 101}
    naive = BCMRule(eta=0.2, tau_rate=3.0, tau_theta=20.0, theta_init=0.05)
    assert _bcm_single_synapse(burst, burst, 102, naive) > 0.55
    seasoned = BCMRule(eta=0.2, tau_rate=3.0, tau_theta=20.0, theta_init=0.05)  # active over steps 60..90
    assert _bcm_single_synapse(burst, set(range(60, 91)) | burst, 102, seasoned) < 0.495


# -------------------------------------------------------------- homeostasis
def test_duty_cycles_are_moving_averages_and_boost_follows() -> None:
    rng = np.random.default_rng(4)
    h = Homeostasis(6, 0.25, strength=3.0, period=5)
    duty = np.zeros(6)
    for step in range(1, 13):
        active = spikes(rng, 6, 0.4)
        h.update(active)
        rate = 1 / min(step, 5)
        x = np.zeros(6)
        x[active] = 1
        duty = (1 - rate) * duty + rate * x
        np.testing.assert_allclose(h.duty_cycles, duty)
    np.testing.assert_allclose(h.boost_factors(), np.exp(-3.0 * (duty - 0.25)))
    scores = rng.random((2, 6))
    np.testing.assert_allclose(h.boost(scores), scores * np.exp(-3.0 * (duty - 0.25)))
    with pytest.raises(ValueError, match="scores"):
        h.boost(np.ones(5))
    with pytest.raises(ValueError, match="target_density"):
        Homeostasis(6, 0.0)
    with pytest.raises(ValueError, match="active_cells"):
        h.update(np.array([6]))




@pytest.mark.parametrize("seed", [0, 1])
def test_boosting_raises_usage_entropy_and_uses_every_cell(seed: int) -> None:
    plain = kwta_usage(0.0, seed)
    boosted = kwta_usage(50.0, seed)
    h_plain, h_boost = usage_entropy(plain), usage_entropy(boosted)
    print(f"\nseed {seed}: usage entropy without boosting {h_plain:.3f}, with boosting {h_boost:.3f}, "
          f"max {math.log(plain.size):.3f}; unused cells {np.sum(plain == 0)} -> {np.sum(boosted == 0)}")
    assert np.sum(plain == 0) > 0  # the setting starves cells without boosting
    assert h_boost > h_plain + 0.3
    assert h_boost > 0.95 * math.log(boosted.size)
    assert boosted.min() > 0


def test_usage_entropy() -> None:
    assert usage_entropy(np.ones(8)) == pytest.approx(math.log(8))
    assert usage_entropy(np.array([5, 0, 0])) == 0.0
    assert usage_entropy(np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="counts"):
        usage_entropy(np.array([1, -1]))


# ------------------------------------------------------------------- budget
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), policy=st.sampled_from(["weakest", "lru"]), n=st.integers(0, 40))
def test_prune_removes_exactly_the_lowest_priority_synapses(seed: int, policy: str, n: int) -> None:
    rng = np.random.default_rng(seed)
    store = random_store(rng, 5, 10, 8)
    for t in range(1, 5):  # distinct recencies and permanences
        store.timestep = t
        live = np.flatnonzero(store.segment_cell >= 0)
        store.adapt_segments(rng.choice(live, size=2, replace=False), spikes(rng, 10, 0.5), 0.05, 0.03)
    table = synapse_table(store)
    used = store.segment_last_used.copy()
    key = (lambda k: (table[k], used[k[0]])) if policy == "weakest" else (lambda k: (used[k[0]], table[k]))
    ranked = sorted(table, key=key)
    budget = SynapseBudget(10_000, policy=policy)
    removed = budget.prune(store, n)
    assert removed == min(n, len(table))
    after = synapse_table(store)
    assert set(after) <= set(table) and len(after) == len(table) - removed
    gone = set(table) - set(after)
    if gone and len(after):
        # every removed synapse ranks no higher than every kept one (ties may split either way)
        assert max(key(k) for k in gone) <= min(key(k) for k in after)
    assert set(ranked[: removed]) == gone or max(key(k) for k in gone) == key(ranked[removed - 1])


def test_budget_keeps_growth_bounded() -> None:
    rng = np.random.default_rng(6)
    n_cells, n_pre = 200, 400
    store = DendriteStore(n_cells, n_pre, 0.5, min_merge=512)
    budget = SynapseBudget(3000, low_water=0.8)
    counts, sizes = [], []
    for t in range(400):
        store.timestep = t
        segs = store.create_segments(rng.choice(n_cells, size=10, replace=False))
        budget.grow_synapses(store, segs, rng.choice(n_pre, size=40, replace=False), 15, 0.3, rng)
        act = store.compute_activity(rng.choice(n_pre, size=40, replace=False))
        store.adapt_segments(act.matching_segments(2), rng.choice(n_pre, size=40, replace=False), 0.05, 0.01)
        counts.append(store.n_synapses)
        sizes.append(store.nbytes)
    assert max(counts) <= 3000 and budget.n_pruned > 10_000
    assert max(sizes[200:]) < 1.2 * max(sizes[:200]) + 50_000  # memory does not creep
    assert budget.enforce(store) == 0
    with pytest.raises(ValueError, match="max_synapses"):
        SynapseBudget(0)
    with pytest.raises(ValueError, match="policy"):
        SynapseBudget(10, policy="oldest")


def test_budget_prunes_weak_synapses_first() -> None:
    rng = np.random.default_rng(7)
    store = DendriteStore(2, 20, 0.5)
    seg = store.create_segments(np.array([0, 1]))
    store.grow_synapses(seg[:1], np.arange(10), 10, 0.8, rng)
    store.grow_synapses(seg[1:], np.arange(10, 20), 10, 0.2, rng)
    assert SynapseBudget(15, low_water=0.5).enforce(store) == 13  # 20 -> 7
    assert store.segment_cell[seg[1]] == -1  # the weak segment is gone with its synapses
    assert store.n_synapses == 7 and store.n_segments == 1


# ------------------------------------------------------------------ novelty
def test_novelty_is_the_bursting_fraction() -> None:
    assert novelty(np.array([3, 9]), np.array([1, 3, 5, 9])) == 0.5
    assert novelty(EMPTY, np.array([1, 2])) == 0.0
    assert novelty(EMPTY, EMPTY) == 0.0
    with pytest.raises(ValueError, match="bursting_minicolumns: minicolumn 4"):
        novelty(np.array([4]), np.array([1, 2]))
    per = novelty_per_column(np.array([0, 5, 6, 7]), np.array([0, 1, 5, 6, 7]), 4, 3)
    np.testing.assert_allclose(per, [0.5, 1.0, 0.0])
    with pytest.raises(ValueError, match="active_minicolumns: index 12"):
        novelty_per_column(EMPTY, np.array([12]), 4, 3)
