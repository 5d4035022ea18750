"""Izhikevich neurons: presets, integration schemes against a solve_ivp reference,
integrator vs resonator, and the 1000-neuron pulse-coupled network."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from columns.neurons import (
    PRESETS,
    IzhikevichNetwork,
    IzhikevichPopulation,
    damped_oscillation_period_ms,
    izhikevich_network,
    pulse_threshold_amplitude,
    pulse_train_response,
    resting_state,
    simulate_network,
)


def reference_spike_times(a: float, b: float, c: float, d: float, current: float, duration_ms: float) -> np.ndarray:
    """High-accuracy reference: DOP853 at rtol = atol = 1e-9, the 30 mV crossing located as a
    terminal event, reset applied, integration restarted. Starts at v = -65, u = b v."""

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        v, u = y
        return [0.04 * v * v + 5.0 * v + 140.0 - u + current, a * (b * v - u)]

    def threshold(_t: float, y: np.ndarray) -> float:
        return y[0] - 30.0

    threshold.terminal = True  # type: ignore[attr-defined]
    threshold.direction = 1  # type: ignore[attr-defined]
    t, y, times = 0.0, [-65.0, -65.0 * b], []
    while True:
        sol = solve_ivp(rhs, (t, duration_ms), y, method="DOP853", rtol=1e-9, atol=1e-9, events=threshold)
        if sol.status != 1:
            return np.array(times)
        t = float(sol.t_events[0][0])
        times.append(t)
        y = [c, float(sol.y_events[0][0][1]) + d]


@lru_cache(maxsize=None)
def single_pulse_threshold(name: str) -> float:
    """Height of the weakest 1 ms pulse that makes the preset fire from rest (cached)."""
    return pulse_threshold_amplitude(name)


# --------------------------------------------------------------------------- presets


def test_presets_are_the_published_parameter_sets() -> None:
    assert PRESETS["RS"] == (0.02, 0.2, -65.0, 8.0)
    assert PRESETS["IB"] == (0.02, 0.2, -55.0, 4.0)
    assert PRESETS["CH"] == (0.02, 0.2, -50.0, 2.0)
    assert PRESETS["FS"] == (0.1, 0.2, -65.0, 2.0)
    assert PRESETS["LTS"] == (0.02, 0.25, -65.0, 2.0)
    assert PRESETS["TC"] == (0.02, 0.25, -65.0, 0.05)
    assert PRESETS["RZ"] == (0.1, 0.26, -65.0, 2.0)


def test_presets_show_their_firing_classes() -> None:
    """Step current I = 10 for 300 ms: FS fires fastest without adapting, RS adapts and
    never bursts, IB opens with a burst then fires tonically, CH keeps bursting."""
    names = ["RS", "IB", "CH", "FS"]
    pop = IzhikevichPopulation.from_presets(names, dt=0.05)
    spikes = pop.run(10.0, 300.0)
    counts = dict(zip(names, spikes.counts()))
    assert counts["FS"] == max(counts.values())
    isi = {name: np.diff(spikes.times_ms[spikes.neuron_ids == i]) for i, name in enumerate(names)}
    assert isi["RS"].min() > 10 and isi["RS"][-1] > 1.5 * isi["RS"][0]  # adaptation, no burst
    assert isi["IB"][0] < 5 and np.all(isi["IB"][-5:] > 20)  # initial burst, then tonic spikes
    assert np.sum(isi["CH"] > 20) >= 3 and np.mean(isi["CH"] < 6) > 0.5  # repeated bursts
    np.testing.assert_allclose(isi["FS"][-10:], isi["FS"][-1], rtol=0.05)  # no adaptation


# --------------------------------------------------------------------------- integration


@pytest.fixture(scope="module")
def rs_reference() -> np.ndarray:
    return reference_spike_times(*PRESETS["RS"], current=10.0, duration_ms=1000.0)


def test_reference_count_is_pinned(rs_reference: np.ndarray) -> None:
    # RS, I = 10, 1000 ms from v = -65: 23 spikes, first at 3.13 ms, then every ~44.8 ms.
    assert rs_reference.size == 23
    assert rs_reference[0] == pytest.approx(3.127, abs=1e-2)


def test_fine_euler_matches_the_reference(rs_reference: np.ndarray) -> None:
    pop = IzhikevichPopulation.from_preset("RS", dt=0.01, scheme="euler")
    spikes = pop.run(10.0, 1000.0)
    assert abs(len(spikes) - rs_reference.size) <= 1
    n = min(len(spikes), rs_reference.size)
    # the first spike within 0.1 ms; inter-spike intervals within 10 steps (0.2 %), so that the
    # accumulated drift stays under 1 ms over the second
    assert spikes.times_ms[0] == pytest.approx(rs_reference[0], abs=0.1)
    np.testing.assert_allclose(np.diff(spikes.times_ms[:n]), np.diff(rs_reference[:n]), atol=0.1)
    np.testing.assert_allclose(spikes.times_ms[:n], rs_reference[:n], atol=1.0)


def test_coarse_schemes_lose_spikes_as_documented(rs_reference: np.ndarray) -> None:
    """The discrepancy of the coarse schemes, pinned (see the table in columns.neurons):
    forward Euler at 1 ms fires 22 and the paper's half-step scheme 20 of the 23 spikes."""
    n_ref = rs_reference.size
    euler_1 = len(IzhikevichPopulation.from_preset("RS", dt=1.0, scheme="euler").run(10.0, 1000.0))
    half_1 = len(IzhikevichPopulation.from_preset("RS", dt=1.0, scheme="euler_half").run(10.0, 1000.0))
    assert (euler_1, half_1) == (22, 20)
    assert half_1 < euler_1 <= n_ref


def test_euler_half_is_the_published_update() -> None:
    """One step of "euler_half" at dt = 1 equals the 2003 code written out by hand."""
    rng = np.random.default_rng(1)
    a, b, c, d = (np.array(x) for x in zip(*[PRESETS[k] for k in ("RS", "FS", "CH", "LTS")]))
    v = rng.uniform(-80, 25, 4)
    u = b * v + rng.normal(0, 2, 4)
    current = rng.normal(0, 5, 4)
    pop = IzhikevichPopulation(a, b, c, d, scheme="euler_half", v_init=v, u_init=u)
    assert pop.dt == 1.0
    fired = pop.step(current)
    v_ref, u_ref = v.copy(), u.copy()
    v_ref = v_ref + 0.5 * (0.04 * v_ref**2 + 5 * v_ref + 140 - u_ref + current)
    v_ref = v_ref + 0.5 * (0.04 * v_ref**2 + 5 * v_ref + 140 - u_ref + current)
    u_ref = u_ref + a * (b * v_ref - u_ref)
    expected_fired = v_ref >= 30
    u_ref[expected_fired] += d[expected_fired]
    v_ref[expected_fired] = c[expected_fired]
    np.testing.assert_array_equal(fired, expected_fired)
    np.testing.assert_allclose(pop.v, v_ref)
    np.testing.assert_allclose(pop.u, u_ref)


def test_euler_resets_in_the_step_that_crosses_threshold() -> None:
    pop = IzhikevichPopulation.from_preset("RS", dt=0.1, v_init=29.9, u_init=-10.0)
    fired = pop.step(0.0)
    assert fired.tolist() == [True]
    assert pop.v[0] == -65.0
    # u used the pre-step v, then got the reset increment d = 8
    assert pop.u[0] == pytest.approx(-10.0 + 0.1 * 0.02 * (0.2 * 29.9 + 10.0) + 8.0)


@settings(max_examples=15, deadline=None)
@given(
    names=st.lists(st.sampled_from(sorted(PRESETS)), min_size=1, max_size=5),
    current=st.floats(0.0, 20.0),
    scheme=st.sampled_from(["euler", "euler_half"]),
)
def test_population_equals_neurons_simulated_alone(names: list[str], current: float, scheme: str) -> None:
    """Vectorising over a population changes nothing: each neuron fires as it would alone."""
    dt = 0.5 if scheme == "euler" else 1.0
    together = IzhikevichPopulation.from_presets(names, dt=dt, scheme=scheme).run(current, 100.0)
    for i, name in enumerate(names):
        alone = IzhikevichPopulation.from_preset(name, dt=dt, scheme=scheme).run(current, 100.0)
        np.testing.assert_array_equal(together.time_steps[together.neuron_ids == i], alone.time_steps)


def test_run_current_forms_agree() -> None:
    """Scalar, per-neuron, per-step array and callable inputs describe the same drive."""
    n_steps = 500
    per_neuron = np.array([4.0, 10.0])
    runs = []
    for current in (
        per_neuron,
        np.tile(per_neuron, (n_steps, 1)),
        lambda t_ms: per_neuron,
    ):
        runs.append(IzhikevichPopulation.from_preset("RS", n=2, dt=0.2).run(current, n_steps * 0.2))
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0].time_steps, other.time_steps)
        np.testing.assert_array_equal(runs[0].neuron_ids, other.neuron_ids)
    assert runs[0].time_steps.dtype == np.int32 and runs[0].neuron_ids.dtype == np.int32
    assert np.all(np.diff(runs[0].time_steps) >= 0)
    scalar = IzhikevichPopulation.from_preset("RS", n=2, dt=0.2).run(10.0, 100.0)
    np.testing.assert_array_equal(scalar.counts()[0], scalar.counts()[1])


def test_callable_current_sees_step_start_times() -> None:
    seen: list[float] = []

    def current(t_ms: float) -> float:
        seen.append(t_ms)
        return 0.0

    IzhikevichPopulation.from_preset("RS", dt=0.25).run(current, 1.0)
    assert seen == [0.0, 0.25, 0.5, 0.75]


def test_bad_inputs_raise_value_errors_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="scheme"):
        IzhikevichPopulation.from_preset("RS", scheme="rk4")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dt"):
        IzhikevichPopulation.from_preset("RS", dt=0.0)
    with pytest.raises(ValueError, match="names"):
        IzhikevichPopulation.from_presets(["RS", "XX"])
    with pytest.raises(ValueError, match="broadcast"):
        IzhikevichPopulation([0.02, 0.02], [0.2, 0.2, 0.2], -65, 8)
    with pytest.raises(ValueError, match="a must be finite"):
        IzhikevichPopulation(np.nan, 0.2, -65, 8)
    pop = IzhikevichPopulation.from_preset("RS", n=3)
    with pytest.raises(ValueError, match="current"):
        pop.step(np.zeros(2))
    with pytest.raises(ValueError, match="duration_ms"):
        pop.run(0.0, 1.05)
    with pytest.raises(ValueError, match="current"):
        pop.run(np.zeros((7, 3)), 1.0)
    with pytest.raises(ValueError, match="intervals_ms"):
        pulse_train_response("RZ", [0.5], 1.0, pulse_width_ms=1.0)
    with pytest.raises(ValueError, match="resting state"):
        resting_state(0.02, 0.2, current=10.0)


# --------------------------------------------------------------------------- integrator vs resonator


def test_resting_state_is_a_fixed_point() -> None:
    for name, (a, b, _c, _d) in PRESETS.items():
        v, u = resting_state(a, b)
        assert 0.04 * v**2 + 5 * v + 140 - u == pytest.approx(0.0, abs=1e-9), name
        assert a * (b * v - u) == pytest.approx(0.0, abs=1e-12), name


def test_rz_oscillates_below_threshold_and_rs_does_not() -> None:
    assert damped_oscillation_period_ms(*PRESETS["RS"][:2]) == float("inf")
    period = damped_oscillation_period_ms(*PRESETS["RZ"][:2])
    assert 35.0 < period < 45.0
    # a small kick rings: v rises above rest again about one period later
    v0, u0 = resting_state(*PRESETS["RZ"][:2])
    pop = IzhikevichPopulation.from_preset("RZ", dt=0.1, v_init=v0 + 1.0, u_init=u0)
    trace = np.empty(1000)
    for k in range(trace.size):
        pop.step(0.0)
        trace[k] = pop.v[0]
    t = (np.arange(trace.size) + 1) * 0.1
    trough = t[np.argmin(trace)]
    late = (t > 0.7 * period) & (t < 1.3 * period)
    peak = t[late][np.argmax(trace[late])]
    assert trace.min() < v0 < trace[late].max()
    assert trough == pytest.approx(period / 2, rel=0.35)
    assert peak == pytest.approx(period, rel=0.15)


@pytest.mark.parametrize(
    ("n_pulses", "fraction"), [(2, 0.85), (2, 0.9), (2, 0.95), (3, 0.85), (3, 0.9), (4, 0.85), (4, 0.9)]
)
def test_resonator_prefers_pulses_at_its_resonant_interval(n_pulses: int, fraction: float) -> None:
    """RZ, pulses each below the single-pulse threshold: a train at its resonant period
    makes it fire; the same pulses at about half the period (anti-phase) or at 1.5-2.5
    periods (the ringing has died out) do not.

    (Not tested, because not true: pulses closer than about P/3 merge into one stronger
    pulse and fire any neuron; and in a train of 3 or more at about P/2, pulses k and k+2
    are one period apart, so near threshold (0.95) that subharmonic fires too.)"""
    period = damped_oscillation_period_ms(*PRESETS["RZ"][:2])
    amplitude = fraction * single_pulse_threshold("RZ")
    resonant = np.array([1.0, 1.05, 1.1]) * period
    anti_phase = np.array([0.4, 0.5, 0.6]) * period
    too_long = np.array([1.5, 2.0, 2.5]) * period
    counts = pulse_train_response(
        "RZ", np.concatenate([resonant, anti_phase, too_long]), amplitude, n_pulses=n_pulses
    )
    assert np.all(counts[:3] > 0)
    assert np.all(counts[3:] == 0)


@pytest.mark.parametrize("n_pulses", [2, 3])
@pytest.mark.parametrize("fraction", [0.7, 0.85, 0.95])
def test_integrator_fires_more_for_shorter_intervals(n_pulses: int, fraction: float) -> None:
    """RS sums sub-threshold pulses: the response never grows with the interval, it fires
    for the shortest intervals and stays silent at RZ's resonant interval and beyond."""
    intervals = np.array([1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 41, 60, 100], dtype=float)
    amplitude = fraction * single_pulse_threshold("RS")
    counts = pulse_train_response("RS", intervals, amplitude, n_pulses=n_pulses)
    assert np.all(np.diff(counts) <= 0)
    assert counts[0] > 0
    assert np.all(counts[intervals >= 30] == 0)


def test_pulses_below_threshold_alone_do_not_fire() -> None:
    for name in ("RS", "RZ"):
        threshold = single_pulse_threshold(name)
        below = pulse_train_response(name, [10.0], 0.98 * threshold, n_pulses=1)
        above = pulse_train_response(name, [10.0], 1.02 * threshold, n_pulses=1)
        assert below[0] == 0 and above[0] > 0


# --------------------------------------------------------------------------- network


def test_network_construction_follows_the_paper() -> None:
    net = izhikevich_network(80, 20, rng=0)
    assert isinstance(net, IzhikevichNetwork)
    assert (net.n, net.n_exc, net.n_inh) == (100, 80, 20)
    assert net.weights.shape == (100, 100)
    assert np.all(net.weights[:80] >= 0) and np.all(net.weights[:80] <= 0.5)
    assert np.all(net.weights[80:] <= 0) and np.all(net.weights[80:] >= -1.0)
    # excitatory: RS (r = 0) to CH (r = 1); inhibitory: LTS (r = 0) to FS (r = 1)
    assert np.all((net.c[:80] >= -65) & (net.c[:80] <= -50)) and np.all((net.d[:80] >= 2) & (net.d[:80] <= 8))
    np.testing.assert_allclose(net.d[:80], 8 - 6 * ((net.c[:80] + 65) / 15))
    assert np.all((net.a[80:] >= 0.02) & (net.a[80:] <= 0.1))
    np.testing.assert_allclose(net.b[80:], 0.25 - 0.05 * (net.a[80:] - 0.02) / 0.08)
    np.testing.assert_array_equal(net.noise_std, [5.0] * 80 + [2.0] * 20)


@pytest.fixture(scope="module")
def network_spikes():
    net = izhikevich_network(rng=np.random.default_rng(7))
    return net, simulate_network(net, 500.0, rng=np.random.default_rng(8))


def test_network_spikes_are_int32_sorted_and_plausible(network_spikes) -> None:
    net, spikes = network_spikes
    assert spikes.time_steps.dtype == np.int32 and spikes.neuron_ids.dtype == np.int32
    assert spikes.dt_ms == 1.0 and spikes.n_steps == 500
    assert np.all(np.diff(spikes.time_steps) >= 0)
    assert spikes.time_steps.min() >= 1 and spikes.time_steps.max() <= 500
    assert spikes.neuron_ids.min() >= 0 and spikes.neuron_ids.max() < net.n
    rates = spikes.rates_hz()
    # the paper's regime: both populations fire at a few Hz to ~20 Hz on average
    assert 3.0 < rates[: net.n_exc].mean() < 20.0
    assert 3.0 < rates[net.n_exc :].mean() < 20.0
    # a refractory neuron cannot fire twice in one ms step
    pairs = spikes.time_steps.astype(np.int64) * net.n + spikes.neuron_ids
    assert np.unique(pairs).size == pairs.size


def test_network_is_reproducible_from_seeds(network_spikes) -> None:
    net, spikes = network_spikes
    again = simulate_network(net, 500.0, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(spikes.time_steps, again.time_steps)
    np.testing.assert_array_equal(spikes.neuron_ids, again.neuron_ids)
    other = simulate_network(net, 500.0, rng=np.random.default_rng(9))
    assert not np.array_equal(spikes.neuron_ids, other.neuron_ids)


def test_recurrent_coupling_matters() -> None:
    """Without inhibition the network runs away; without coupling it is the noise alone."""
    base = dict(n_exc=200, n_inh=50)
    full = simulate_network(izhikevich_network(**base, rng=1), 300.0, rng=2).rates_hz().mean()
    uncoupled = simulate_network(izhikevich_network(**base, rng=1, exc_weight=0, inh_weight=0), 300.0, rng=2)
    no_inhibition = simulate_network(izhikevich_network(**base, rng=1, inh_weight=0), 300.0, rng=2)
    assert uncoupled.rates_hz().mean() < full < no_inhibition.rates_hz().mean()


def test_fine_step_network_keeps_the_charge_per_spike() -> None:
    """With dt = 0.5 ms the noise and each spike's current are held for 1 ms, so the rates
    stay close to the 1 ms run (within 25 %)."""
    net = izhikevich_network(200, 50, rng=3)
    coarse = simulate_network(net, 400.0, rng=4).rates_hz().mean()
    fine = simulate_network(net, 400.0, rng=4, dt=0.5)
    assert fine.n_steps == 800
    assert fine.rates_hz().mean() == pytest.approx(coarse, rel=0.25)
    with pytest.raises(ValueError, match="dt"):
        simulate_network(net, 10.0, dt=0.3)


def test_demo_runs_end_to_end(tmp_path, capsys) -> None:
    """Smoke test of demos/spiking_network.py on a short run (the avalanche toolkit included)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "demos" / "spiking_network.py"
    spec = importlib.util.spec_from_file_location("spiking_network_demo", path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)  # type: ignore[union-attr]
    try:
        import matplotlib  # noqa: F401  (an optional extra)
    except ImportError:
        plot_args: list[str] = []
    else:
        plot_args = ["--plot", str(tmp_path)]
    assert demo.main(["--duration-ms", "600", "--seed", "1", *plot_args]) == 0
    out = capsys.readouterr().out
    assert "excitatory" in out and "inhibitory" in out and "avalanches" in out
    if plot_args:
        assert (tmp_path / "raster.png").stat().st_size > 0
        assert (tmp_path / "avalanche_sizes.png").stat().st_size > 0
