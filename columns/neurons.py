"""Spiking point neurons: the Izhikevich (2003) simple model, vectorised over a population.

Model (Izhikevich, "Simple model of spiking neurons", IEEE Trans. Neural Netw. 14:1569, 2003)::

    v' = 0.04 v^2 + 5 v + 140 - u + I        (v: membrane potential, mV; t: ms)
    u' = a (b v - u)                         (u: recovery variable, mV/ms scale)
    if v >= 30 mV:  v <- c,  u <- u + d

``I`` is a dimensionless input current (the paper's units: the model is scaled so that
``I`` adds directly to ``dv/dt`` in mV/ms). Every neuron of a population has its own
``(a, b, c, d)``, so one population may mix cell classes.

Integration schemes (pinned; the choice matters for spike counts, see below)
---------------------------------------------------------------------------
``"euler"``
    Forward Euler at step ``dt`` (ms)::

        v_new = v + dt * (0.04 v^2 + 5 v + 140 - u + I)
        u_new = u + dt * a * (b v - u)            # the *old* v
        fired = v_new >= 30;  v_new[fired] = c;  u_new[fired] += d

    The reset is applied in the same step in which ``v`` reaches the threshold, and that
    step's spike is reported by :meth:`IzhikevichPopulation.step`. Default ``dt = 0.1`` ms.

``"euler_half"``
    The scheme of the 2003 paper's published code: ``v`` takes two forward-Euler
    half-steps of ``dt/2`` with the same ``u`` and ``I``, then ``u`` takes one step of
    ``dt`` using the *new* ``v``; threshold and reset as above. The paper uses
    ``dt = 1`` ms (two 0.5 ms half-steps), which is the default for this scheme. When ``v``
    crosses the threshold during the first half-step, the second half-step and the ``u``
    update see an overshooting ``v`` (hundreds of mV), which kicks ``u`` by an extra
    ``a * b * v_overshoot``; the reset happens afterwards. This is the published numerics,
    kept as is so that the network of the paper can be reproduced.

Accuracy against a high-accuracy reference (``scipy.integrate.solve_ivp``, DOP853,
rtol = atol = 1e-9, the 30 mV crossing as a terminal event, reset and restart). Spike
counts for constant ``I = 10`` over 1000 ms from ``v = -65``, ``u = b v``
(``tests/test_neurons.py`` recomputes the RS reference on every run and pins the RS row):

======  =========  ==========  =========  =========  =======  ===============
preset  reference  euler 0.01  euler 0.1  euler 0.5  euler 1  euler_half 1 ms
======  =========  ==========  =========  =========  =======  ===============
RS      23         23          23         23         22       20
IB      34         34          34         32         31       28
CH      87         87          87         81         75       43
FS      137        136         131        114        110      64
LTS     78         78          77         74         69       46
TC      277        275         260        224        201      63
RZ      196        195         186        167        143      76
======  =========  ==========  =========  =========  =======  ===============

Coarse steps fire *fewer* spikes, and the faster the cell fires the worse it gets. Forward
Euler at ``dt = 0.01`` ms is within 2 spikes everywhere (first RS spike 3.15 vs 3.127 ms,
ISI 44.84 vs 44.81 ms). The paper's ``euler_half`` at 1 ms is adequate for slow regular
spikers (RS: 20 of 23) but not for fast ones (TC: 63 of 277, FS: 64 of 137): the overshoot
kick to ``u`` described above acts as extra adaptation. It is kept for reproducing the
paper's network, whose cells fire at a few Hz; use ``"euler"`` with ``dt <= 0.1`` ms when
spike counts or timing matter.

Public API
----------
``PRESETS``                        the seven cell classes of the 2003 paper (Fig. 2).
``IzhikevichPopulation``           state + ``step(current)`` + ``run(current, duration_ms)``.
``SpikeTrain``                     spike time steps and neuron ids as int32 arrays.
``resting_state``                  the stable fixed point for a constant current.
``damped_oscillation_period_ms``   period of the subthreshold ringing (inf: integrator).
``pulse_threshold_amplitude``      weakest single pulse that fires a neuron at rest.
``pulse_train_response``           spike counts for pulse trains at given intervals
                                   (integrator vs resonator).
``izhikevich_network``,
``simulate_network``               the 1000-neuron pulse-coupled network of the paper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PRESETS",
    "SCHEMES",
    "SPIKE_THRESHOLD_MV",
    "IzhikevichNetwork",
    "IzhikevichParameters",
    "IzhikevichPopulation",
    "SpikeTrain",
    "izhikevich_network",
    "damped_oscillation_period_ms",
    "pulse_threshold_amplitude",
    "pulse_train_response",
    "resting_state",
    "simulate_network",
]

Scheme = Literal["euler", "euler_half"]
SCHEMES: tuple[str, ...] = ("euler", "euler_half")
SPIKE_THRESHOLD_MV = 30.0
_DEFAULT_DT_MS: dict[str, float] = {"euler": 0.1, "euler_half": 1.0}

CurrentLike = float | ArrayLike | Callable[[float], ArrayLike]


class IzhikevichParameters(NamedTuple):
    """One cell class: ``a`` (1/ms), ``b`` (1), ``c`` (mV), ``d`` (mV/ms scale)."""

    a: float
    b: float
    c: float
    d: float


#: Parameter sets of Izhikevich (2003), Fig. 2 (also Fig. 1 of Izhikevich 2004,
#: "Which model to use for cortical spiking neurons?").
PRESETS: dict[str, IzhikevichParameters] = {
    "RS": IzhikevichParameters(0.02, 0.2, -65.0, 8.0),  # regular spiking (excitatory)
    "IB": IzhikevichParameters(0.02, 0.2, -55.0, 4.0),  # intrinsically bursting
    "CH": IzhikevichParameters(0.02, 0.2, -50.0, 2.0),  # chattering
    "FS": IzhikevichParameters(0.1, 0.2, -65.0, 2.0),  # fast spiking (inhibitory)
    "LTS": IzhikevichParameters(0.02, 0.25, -65.0, 2.0),  # low-threshold spiking
    "TC": IzhikevichParameters(0.02, 0.25, -65.0, 0.05),  # thalamo-cortical
    "RZ": IzhikevichParameters(0.1, 0.26, -65.0, 2.0),  # resonator
}


@dataclass(frozen=True)
class SpikeTrain:
    """Spikes of a population, sorted by time step (then neuron id).

    ``time_steps[k]`` is the index ``j`` of the time grid point ``t_j = j * dt_ms`` at which
    neuron ``neuron_ids[k]`` was found at or above threshold, i.e. the spike happened in
    ``(t_{j-1}, t_j]``; ``j`` runs from 1 to ``n_steps``. With ``dt_ms = 1`` the time steps
    are spike times in ms.
    """

    time_steps: NDArray[np.int32]
    neuron_ids: NDArray[np.int32]
    dt_ms: float
    n_neurons: int
    n_steps: int

    @property
    def times_ms(self) -> NDArray[np.float64]:
        """Spike times in ms, shape ``(n_spikes,)``."""
        return self.time_steps.astype(np.float64) * self.dt_ms

    @property
    def duration_ms(self) -> float:
        """Simulated time in ms."""
        return self.n_steps * self.dt_ms

    def counts(self) -> NDArray[np.int64]:
        """Number of spikes per neuron, shape ``(n_neurons,)``."""
        return np.bincount(self.neuron_ids, minlength=self.n_neurons)

    def rates_hz(self) -> NDArray[np.float64]:
        """Mean firing rate per neuron in Hz, shape ``(n_neurons,)``."""
        return self.counts() / (self.duration_ms / 1000.0)

    def __len__(self) -> int:
        return int(self.time_steps.size)


# --------------------------------------------------------------------------- validation


def _finite_float(value: float, name: str, *, positive: bool = False) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(out) or (positive and out <= 0):
        kind = "a finite positive number" if positive else "finite"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return out


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    return scheme


def _n_steps(duration_ms: float, dt: float) -> int:
    duration_ms = _finite_float(duration_ms, "duration_ms")
    if duration_ms < 0:
        raise ValueError(f"duration_ms must be >= 0, got {duration_ms!r}")
    n = int(round(duration_ms / dt))
    if abs(n * dt - duration_ms) > 1e-6 * max(dt, 1.0):
        raise ValueError(f"duration_ms={duration_ms!r} is not a whole number of steps of dt={dt!r} ms")
    return n


# --------------------------------------------------------------------------- population


class IzhikevichPopulation:
    """A population of ``n`` Izhikevich neurons with per-neuron parameters.

    Parameters
    ----------
    a, b, c, d:
        Scalars or arrays broadcastable to one common shape ``(n,)``.
    dt:
        Time step in ms; ``None`` takes the scheme's default (0.1 ms for ``"euler"``,
        1 ms for ``"euler_half"``).
    scheme:
        ``"euler"`` or ``"euler_half"`` (see the module docstring).
    v_init:
        Initial membrane potential(s) in mV (default -65, as in the paper); ``u`` starts at
        ``b * v_init`` unless ``u_init`` is given.

    Examples
    --------
    >>> pop = IzhikevichPopulation.from_preset("RS", n=2, dt=0.1)
    >>> spikes = pop.run(10.0, duration_ms=100.0)
    >>> bool(len(spikes) > 0)
    True
    """

    def __init__(
        self,
        a: ArrayLike,
        b: ArrayLike,
        c: ArrayLike,
        d: ArrayLike,
        *,
        dt: float | None = None,
        scheme: Scheme = "euler",
        v_init: ArrayLike = -65.0,
        u_init: ArrayLike | None = None,
    ) -> None:
        self.scheme: str = _check_scheme(scheme)
        self.dt: float = _finite_float(_DEFAULT_DT_MS[scheme] if dt is None else dt, "dt", positive=True)
        arrays = {}
        for name, value in (("a", a), ("b", b), ("c", c), ("d", d)):
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim > 1:
                raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite, got {value!r}")
            arrays[name] = arr
        try:
            shape = np.broadcast_shapes(*(arr.shape for arr in arrays.values()), (1,))
        except ValueError:
            shapes = {k: v.shape for k, v in arrays.items()}
            raise ValueError(f"a, b, c, d must broadcast to one shape (n,), got {shapes}") from None
        self.a, self.b, self.c, self.d = (np.broadcast_to(arrays[k], shape).copy() for k in "abcd")
        self.n: int = shape[0]
        self.v = np.empty(self.n)
        self.u = np.empty(self.n)
        self.reset_state(v_init, u_init)

    # ---- construction helpers

    @classmethod
    def from_preset(cls, name: str, n: int = 1, **kwargs: object) -> IzhikevichPopulation:
        """``n`` identical neurons of the cell class ``name`` (a key of :data:`PRESETS`)."""
        return cls.from_presets([name] * _positive_int(n, "n"), **kwargs)

    @classmethod
    def from_presets(cls, names: Sequence[str], **kwargs: object) -> IzhikevichPopulation:
        """One neuron per entry of ``names`` (keys of :data:`PRESETS`), in that order."""
        if isinstance(names, str) or len(names) == 0:
            raise ValueError(f"names must be a non-empty sequence of preset names, got {names!r}")
        unknown = [x for x in names if x not in PRESETS]
        if unknown:
            raise ValueError(f"names contains unknown presets {unknown}; known: {sorted(PRESETS)}")
        params = np.array([PRESETS[x] for x in names], dtype=np.float64)
        return cls(*params.T, **kwargs)  # type: ignore[arg-type]

    # ---- state

    def reset_state(self, v: ArrayLike = -65.0, u: ArrayLike | None = None) -> None:
        """Set ``v`` (mV) and ``u``; ``u`` defaults to ``b * v``."""
        v_arr = np.asarray(v, dtype=np.float64)
        if v_arr.ndim > 1 or (v_arr.ndim == 1 and v_arr.shape[0] != self.n) or not np.all(np.isfinite(v_arr)):
            raise ValueError(f"v_init must be finite, scalar or shape ({self.n},), got {v!r}")
        self.v[:] = v_arr
        if u is None:
            self.u[:] = self.b * self.v
        else:
            u_arr = np.asarray(u, dtype=np.float64)
            if u_arr.ndim > 1 or (u_arr.ndim == 1 and u_arr.shape[0] != self.n) or not np.all(np.isfinite(u_arr)):
                raise ValueError(f"u_init must be finite, scalar or shape ({self.n},), got {u!r}")
            self.u[:] = u_arr

    # ---- dynamics

    def step(self, current: ArrayLike = 0.0) -> NDArray[np.bool_]:
        """Advance by one step of ``dt`` ms with input ``current`` (scalar or shape ``(n,)``).

        Returns the boolean spike vector, shape ``(n,)``: neurons that reached 30 mV in
        this step (they are already reset).
        """
        current = np.asarray(current, dtype=np.float64)
        if current.ndim > 1 or (current.ndim == 1 and current.shape[0] not in (1, self.n)):
            raise ValueError(f"current must be a scalar or shape ({self.n},), got shape {current.shape}")
        v, u, dt = self.v, self.u, self.dt
        if self.scheme == "euler":
            dv = (0.04 * v + 5.0) * v + 140.0 - u + current
            u += dt * self.a * (self.b * v - u)
            v += dt * dv
        else:  # "euler_half": the published code
            half = 0.5 * dt
            v += half * ((0.04 * v + 5.0) * v + 140.0 - u + current)
            v += half * ((0.04 * v + 5.0) * v + 140.0 - u + current)
            u += dt * self.a * (self.b * v - u)
        fired = v >= SPIKE_THRESHOLD_MV
        if fired.any():
            v[fired] = self.c[fired]
            u[fired] += self.d[fired]
        return fired

    def run(self, current: CurrentLike, duration_ms: float) -> SpikeTrain:
        """Simulate ``duration_ms`` ms from the current state and return the spikes.

        ``current`` is one of: a scalar (same constant input for all); a 1-D array of shape
        ``(n,)`` (a constant input per neuron); a 2-D array of shape ``(n_steps, n)`` or
        ``(n_steps, 1)`` (input per step, ``n_steps = duration_ms / dt``); or a callable
        ``current(t_ms) -> scalar or (n,)`` evaluated at the start ``t_ms`` of each step,
        with ``t_ms`` counted from the start of this run.
        """
        n_steps = _n_steps(duration_ms, self.dt)
        current_at = self._current_source(current, n_steps)
        steps_out: list[NDArray[np.int64]] = []
        ids_out: list[NDArray[np.int64]] = []
        for k in range(n_steps):
            fired = self.step(current_at(k))
            if fired.any():
                ids = np.flatnonzero(fired)
                ids_out.append(ids)
                steps_out.append(np.full(ids.size, k + 1))
        return _spike_train(steps_out, ids_out, self.dt, self.n, n_steps)

    def _current_source(self, current: CurrentLike, n_steps: int) -> Callable[[int], ArrayLike]:
        if callable(current):
            dt = self.dt

            def from_callable(k: int) -> ArrayLike:
                value = np.asarray(current(k * dt), dtype=np.float64)
                if value.ndim > 1 or (value.ndim == 1 and value.shape[0] not in (1, self.n)):
                    raise ValueError(f"current(t) must return a scalar or shape ({self.n},), got shape {value.shape}")
                return value

            return from_callable
        arr = np.asarray(current, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError("current must be finite")
        if arr.ndim == 0 or (arr.ndim == 1 and arr.shape[0] == self.n):
            return lambda k: arr
        if arr.ndim == 2 and arr.shape[0] == n_steps and arr.shape[1] in (1, self.n):
            return lambda k: arr[k]
        raise ValueError(
            f"current must be a scalar, shape ({self.n},), shape ({n_steps}, {self.n}) or ({n_steps}, 1), "
            f"or a callable of t_ms; got shape {arr.shape}"
        )


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _spike_train(
    steps: list[NDArray[np.int64]], ids: list[NDArray[np.int64]], dt: float, n: int, n_steps: int
) -> SpikeTrain:
    if steps:
        time_steps = np.concatenate(steps).astype(np.int32)
        neuron_ids = np.concatenate(ids).astype(np.int32)
    else:
        time_steps = np.zeros(0, np.int32)
        neuron_ids = np.zeros(0, np.int32)
    return SpikeTrain(time_steps, neuron_ids, float(dt), int(n), int(n_steps))


# --------------------------------------------------------------------------- analysis


def resting_state(
    a: ArrayLike, b: ArrayLike, current: ArrayLike = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The resting fixed point ``(v, u)`` for a constant input ``current``.

    Solves ``0.04 v^2 + (5 - b) v + 140 + I = 0``, ``u = b v`` and returns the lower root
    (the node/focus; the upper one is the saddle or unstable point). Shapes broadcast.
    Raises ``ValueError`` where no fixed point exists (the neuron fires tonically); ``a`` only
    sets the stability, not the position, and is validated for shape.
    """
    a_arr, b_arr, i_arr = np.broadcast_arrays(
        np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), np.asarray(current, dtype=np.float64)
    )
    disc = (5.0 - b_arr) ** 2 - 4.0 * 0.04 * (140.0 + i_arr)
    if np.any(disc < 0):
        raise ValueError(f"no resting state: current={current!r} is above rheobase for b={b!r}")
    v = (-(5.0 - b_arr) - np.sqrt(disc)) / (2.0 * 0.04)
    return v, b_arr * v


def damped_oscillation_period_ms(a: float, b: float, current: float = 0.0) -> float:
    """Period (ms) of the damped subthreshold oscillation around the resting state.

    Linearises the model at :func:`resting_state`; the Jacobian
    ``[[0.08 v + 5, -1], [a b, -a]]`` has complex eigenvalues ``lambda = -r +- i w`` for a
    resonator (returns ``2 pi / w``) and real ones for an integrator (returns ``inf``).
    RZ at ``I = 0`` gives about 40.8 ms; RS gives ``inf``.
    """
    a = _finite_float(a, "a")
    b = _finite_float(b, "b")
    v, _ = resting_state(a, b, _finite_float(current, "current"))
    jacobian = np.array([[0.08 * float(v) + 5.0, -1.0], [a * b, -a]])
    eig = np.linalg.eigvals(jacobian)
    omega = float(np.abs(eig.imag).max())
    return 2.0 * np.pi / omega if omega > 1e-12 else float("inf")


def pulse_threshold_amplitude(
    parameters: IzhikevichParameters | str,
    *,
    pulse_width_ms: float = 1.0,
    baseline_current: float = 0.0,
    upper: float = 1000.0,
    tolerance: float = 1e-3,
    dt: float = 0.1,
    scheme: Scheme = "euler",
) -> float:
    """Smallest height of one rectangular pulse of ``pulse_width_ms`` ms that makes a
    neuron at rest fire, found by bisection on ``[0, upper]`` to ``tolerance``.

    Pulse amplitudes for :func:`pulse_train_response` are best given as fractions of this.
    """
    tolerance = _finite_float(tolerance, "tolerance", positive=True)
    high = _finite_float(upper, "upper", positive=True)

    def fires(amplitude: float) -> bool:
        counts = pulse_train_response(
            parameters, [1.0], amplitude, n_pulses=1, pulse_width_ms=pulse_width_ms,
            baseline_current=baseline_current, dt=dt, scheme=scheme,
        )
        return bool(counts[0] > 0)

    if not fires(high):
        raise ValueError(f"upper={upper!r}: a pulse of that height does not make the neuron fire")
    low = 0.0
    if fires(low):
        raise ValueError(f"baseline_current={baseline_current!r}: the neuron fires without any pulse")
    while high - low > tolerance:
        mid = 0.5 * (low + high)
        low, high = (low, mid) if fires(mid) else (mid, high)
    return high


def pulse_train_response(
    parameters: IzhikevichParameters | str,
    intervals_ms: ArrayLike,
    amplitude: float,
    *,
    n_pulses: int = 2,
    pulse_width_ms: float = 1.0,
    baseline_current: float = 0.0,
    settle_ms: float = 100.0,
    dt: float = 0.1,
    scheme: Scheme = "euler",
) -> NDArray[np.int64]:
    """Spikes fired in response to a train of brief current pulses, one neuron per interval.

    Each neuron starts at its resting state for ``baseline_current``; at ``t = 10`` ms it
    receives ``n_pulses`` rectangular pulses of height ``amplitude`` and width
    ``pulse_width_ms``, their onsets ``intervals_ms[i]`` apart; the run lasts until
    ``settle_ms`` after the last pulse. All intervals are simulated at once, vectorised.

    This is the integrator / resonator test of Izhikevich (2003, 2004): an integrator (RS)
    sums pulses, so it fires more the shorter the interval; a resonator (RZ) has damped
    subthreshold oscillations and fires preferentially when the pulses arrive about one
    oscillation period apart (in phase), not for intervals near half a period (anti-phase)
    nor for much longer ones. Two caveats, measured for RZ (period P = 41 ms,
    :func:`damped_oscillation_period_ms`) with pulses at 0.85-0.95 of
    :func:`pulse_threshold_amplitude`: intervals below about P/3 fire too (the pulses merge
    into one stronger pulse before the ringing turns negative), and in trains of three or
    more at about P/2, pulses k and k+2 are one period apart, so near threshold that
    subharmonic can fire.

    Returns the spike count per interval, shape ``(len(intervals_ms),)``.
    """
    params = PRESETS[parameters] if isinstance(parameters, str) and parameters in PRESETS else parameters
    if isinstance(params, str):
        raise ValueError(
            f"parameters must be a preset name in {sorted(PRESETS)} or IzhikevichParameters, got {params!r}"
        )
    intervals = np.atleast_1d(np.asarray(intervals_ms, dtype=np.float64))
    if intervals.ndim != 1 or intervals.size == 0 or not np.all(np.isfinite(intervals)) or np.any(intervals <= 0):
        raise ValueError(f"intervals_ms must be a non-empty 1-D array of positive numbers, got {intervals_ms!r}")
    n_pulses = _positive_int(n_pulses, "n_pulses")
    amplitude = _finite_float(amplitude, "amplitude")
    width = _finite_float(pulse_width_ms, "pulse_width_ms", positive=True)
    if n_pulses > 1 and np.any(intervals < width):
        raise ValueError(
            f"intervals_ms must be >= pulse_width_ms={width!r} (pulses would overlap), got {intervals_ms!r}"
        )
    settle_ms = _finite_float(settle_ms, "settle_ms", positive=True)
    a, b, c, d = (float(x) for x in params)
    v0, u0 = resting_state(a, b, baseline_current)
    pop = IzhikevichPopulation(
        np.full(intervals.size, a), b, c, d, dt=dt, scheme=scheme, v_init=float(v0), u_init=float(u0)
    )
    onset = 10.0
    duration = onset + (n_pulses - 1) * intervals.max() + width + settle_ms
    n_steps = int(np.ceil(duration / pop.dt))
    t = (np.arange(n_steps) * pop.dt)[:, None]  # step start times, (n_steps, 1)
    since_onset = t - onset  # (n_steps, 1)
    pulse_index = np.floor(since_onset / intervals[None, :])  # which pulse's window we are in
    within = since_onset - pulse_index * intervals[None, :]
    on = (since_onset >= 0) & (pulse_index < n_pulses) & (within < width - 1e-9)
    current = baseline_current + amplitude * on
    spikes = pop.run(current, n_steps * pop.dt)
    return spikes.counts()


# --------------------------------------------------------------------------- network


@dataclass(frozen=True)
class IzhikevichNetwork:
    """A pulse-coupled network of Izhikevich neurons.

    ``weights[j, i]`` is the current step that a spike of presynaptic neuron ``j`` adds to
    the input of neuron ``i`` for 1 ms; shape ``(n, n)``; rows ``< n_exc`` are excitatory
    (>= 0), the rest inhibitory (<= 0). ``noise_std`` (shape ``(n,)``) is the standard
    deviation of the Gaussian thalamic input redrawn every ms.
    """

    a: NDArray[np.float64]
    b: NDArray[np.float64]
    c: NDArray[np.float64]
    d: NDArray[np.float64]
    weights: NDArray[np.float64]
    noise_std: NDArray[np.float64]
    n_exc: int

    @property
    def n(self) -> int:
        """Number of neurons."""
        return int(self.a.size)

    @property
    def n_inh(self) -> int:
        """Number of inhibitory neurons (ids ``n_exc .. n-1``)."""
        return self.n - self.n_exc


def izhikevich_network(
    n_exc: int = 800,
    n_inh: int = 200,
    rng: np.random.Generator | int | None = None,
    *,
    exc_weight: float = 0.5,
    inh_weight: float = 1.0,
    exc_noise: float = 5.0,
    inh_noise: float = 2.0,
) -> IzhikevichNetwork:
    """The randomly coupled network of Izhikevich (2003), Fig. 3.

    Excitatory cells: ``r ~ U(0,1)``, ``a = 0.02, b = 0.2, c = -65 + 15 r^2, d = 8 - 6 r^2``
    (RS at ``r = 0``, CH at ``r = 1``, biased to RS). Inhibitory cells: ``a = 0.02 + 0.08 r``,
    ``b = 0.25 - 0.05 r``, ``c = -65, d = 2`` (LTS at ``r = 0``, FS at ``r = 1``). All-to-all
    weights: ``exc_weight * U(0,1)`` from excitatory and ``-inh_weight * U(0,1)`` from
    inhibitory cells (self-connections included, as in the paper). Thalamic noise std:
    ``exc_noise`` for excitatory and ``inh_noise`` for inhibitory cells.
    """
    n_exc = _nonneg_int(n_exc, "n_exc")
    n_inh = _nonneg_int(n_inh, "n_inh")
    if n_exc + n_inh == 0:
        raise ValueError("n_exc + n_inh must be positive, got 0 neurons")
    for name, value in (("exc_weight", exc_weight), ("inh_weight", inh_weight),
                        ("exc_noise", exc_noise), ("inh_noise", inh_noise)):
        if _finite_float(value, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    rng = np.random.default_rng(rng)
    n = n_exc + n_inh
    r_exc = rng.random(n_exc)
    r_inh = rng.random(n_inh)
    a = np.concatenate([np.full(n_exc, 0.02), 0.02 + 0.08 * r_inh])
    b = np.concatenate([np.full(n_exc, 0.2), 0.25 - 0.05 * r_inh])
    c = np.concatenate([-65.0 + 15.0 * r_exc**2, np.full(n_inh, -65.0)])
    d = np.concatenate([8.0 - 6.0 * r_exc**2, np.full(n_inh, 2.0)])
    weights = rng.random((n, n))
    weights[:n_exc] *= exc_weight
    weights[n_exc:] *= -inh_weight
    noise_std = np.concatenate([np.full(n_exc, float(exc_noise)), np.full(n_inh, float(inh_noise))])
    return IzhikevichNetwork(a, b, c, d, weights, noise_std, n_exc)


def _nonneg_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def simulate_network(
    network: IzhikevichNetwork,
    duration_ms: float,
    rng: np.random.Generator | int | None = None,
    *,
    scheme: Scheme = "euler_half",
    dt: float = 1.0,
    v_init: float = -65.0,
) -> SpikeTrain:
    """Run ``network`` for ``duration_ms`` ms from ``v = v_init``, ``u = b v``.

    Every ms each neuron receives fresh thalamic noise ``noise_std * N(0, 1)`` plus, for
    1 ms after each presynaptic spike, the synaptic weight of that spike. The default
    (``"euler_half"``, ``dt = 1``) is the published scheme; with a finer ``dt`` (which must
    divide 1 ms) the noise is held for the ms and each spike's current lasts 1 ms, so the
    delivered charge is the same. Synaptic input is event-driven: only the rows of the
    weight matrix of the neurons that fired are summed.

    Returns a :class:`SpikeTrain`; with ``dt = 1`` its ``time_steps`` are spike times in ms
    (int32) and ``neuron_ids`` (int32) are ``< n_exc`` for excitatory cells.
    """
    if not isinstance(network, IzhikevichNetwork):
        raise ValueError(f"network must be an IzhikevichNetwork, got {type(network).__name__}")
    rng = np.random.default_rng(rng)
    pop = IzhikevichPopulation(network.a, network.b, network.c, network.d, dt=dt, scheme=scheme, v_init=v_init)
    steps_per_ms = int(round(1.0 / pop.dt))
    if steps_per_ms < 1 or abs(steps_per_ms * pop.dt - 1.0) > 1e-9:
        raise ValueError(f"dt must divide 1 ms (1, 0.5, 0.25, 0.1, ...), got {dt!r}")
    n_steps = _n_steps(duration_ms, pop.dt)
    n = network.n
    weights = network.weights
    # Synaptic current of the spikes of the last `steps_per_ms` steps (a 1 ms pulse each).
    recent = np.zeros((steps_per_ms, n))
    noise = np.zeros(n)
    steps_out: list[NDArray[np.int64]] = []
    ids_out: list[NDArray[np.int64]] = []
    for k in range(n_steps):
        if k % steps_per_ms == 0:
            noise = network.noise_std * rng.standard_normal(n)
        synaptic = recent[0] if steps_per_ms == 1 else recent.sum(axis=0)
        fired = pop.step(noise + synaptic)
        slot = k % steps_per_ms
        if fired.any():
            ids = np.flatnonzero(fired)
            ids_out.append(ids)
            steps_out.append(np.full(ids.size, k + 1))
            recent[slot] = weights[ids].sum(axis=0)
        else:
            recent[slot] = 0.0
    return _spike_train(steps_out, ids_out, pop.dt, n, n_steps)
