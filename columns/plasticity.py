"""Local plasticity over a :class:`~columns.dendrites.DendriteStore`: rules, homeostasis, budgets.

Every rule changes the permanences of one store (one dendrite kind of one layer,
all columns of a region) from local signals only: which presynaptic cells fired,
which owner (postsynaptic) cells fired, and when.  Permanences live in [0, 1]; a
synapse whose permanence reaches 0 is destroyed by the store.

Rules
-----
:class:`HebbianRule`   the HTM permanence rule: reinforce synapses onto active cells,
                       decrement the others, on the segments that learn.
:class:`STDPRule`      pair-based spike-timing-dependent plasticity with event-driven
                       exponential traces (lazy decay from last-spike times).
:class:`BCMRule`       rate-based LTP/LTD with a sliding, per-cell threshold.

All rules share one call, :meth:`PlasticityRule.learn`, and a registry
(:func:`get_rule`) so a layer selects its rule by name from YAML
(``regions[i].column.plasticity: stdp``).

Around the rules
----------------
:class:`Homeostasis`   duty cycles and boosting factors for k-winners-take-all layers.
:class:`SynapseBudget` synaptogenesis and pruning that keep a store under a synapse budget.
:func:`novelty`        fraction of active minicolumns that burst: a per-sensation surprise.

Time is counted in integer steps (one layer step; ``store.timestep`` by default);
every time constant is in steps.  No function loops in Python over cells,
segments or synapses: each step is a fixed number of vectorised passes over the
synapses that the step touches.
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from typing import Callable, ClassVar, TypeVar

import numpy as np

from .dendrites import DendriteStore, SynapseSlots
from .kernels import as_index_array

__all__ = [
    "PlasticityRule",
    "kwta_usage",
    "HebbianRule",
    "STDPRule",
    "BCMRule",
    "register_rule",
    "get_rule",
    "available_rules",
    "Homeostasis",
    "SynapseBudget",
    "novelty",
    "novelty_per_column",
    "usage_entropy",
]


def _positive(value: float, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _non_negative(value: float, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return v


def _unique_indices(values: object, name: str, upper: int) -> np.ndarray:
    """Validated, sorted, unique int64 indices in ``[0, upper)``."""
    if values is None:
        return np.zeros(0, dtype=np.int64)
    idx = np.sort(as_index_array(values, name, upper))
    # sort-based unique: numpy 2.4's hash-based np.unique is several times slower here
    return idx[np.r_[True, idx[1:] != idx[:-1]]] if idx.size > 1 else idx


# ---------------------------------------------------------------- interface
class PlasticityRule(ABC):
    """A local learning rule acting on one :class:`DendriteStore`.

    One call per layer step::

        rule.learn(store, segments, active_presynaptic, post_active=cells, t=step)

    Parameters of :meth:`learn`
    ---------------------------
    store : the dendrite store whose permanences change.
    segments : int array of live segment ids that may learn, or ``None``.  The
        Hebbian rule needs it (the layer chooses its learning segments); the
        spike-timing and rate rules treat ``None`` as "every segment of the store".
    active_presynaptic : int array ``(k,)`` of presynaptic cells active at step ``t``.
    post_active : int array of owner cells active at step ``t`` (required by the
        timing and rate rules, ignored by the Hebbian rule).
    t : the step (int); ``None`` means ``store.timestep``.  Stateful rules need
        strictly increasing steps.

    A stateful rule (traces, rates) serves one store: it sizes its per-cell state
    from the first store it sees and refuses a store of another shape.  Build one
    rule per store with :func:`get_rule`.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def learn(
        self,
        store: DendriteStore,
        segments: np.ndarray | None,
        active_presynaptic: np.ndarray,
        *,
        post_active: np.ndarray | None = None,
        t: int | None = None,
    ) -> None:
        """Apply one step of the rule to ``store`` (see the class docstring)."""

    def reset(self) -> None:
        """Forget all internal state (traces, rates, clocks); stateless rules do nothing."""


class _StatefulRule(PlasticityRule):
    """Shared bookkeeping: one store shape, strictly increasing steps."""

    def __init__(self) -> None:
        self._shape: tuple[int, int] | None = None
        self._last_t: int | None = None

    def reset(self) -> None:
        self._shape = None
        self._last_t = None

    def _allocate(self, n_cells: int, n_presynaptic: int, t: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _begin(
        self,
        store: DendriteStore,
        segments: np.ndarray | None,
        active_presynaptic: np.ndarray,
        post_active: np.ndarray | None,
        t: int | None,
    ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray | None]:
        """Validate one call; return (t, pre, post, learning-segment flags or None)."""
        if not isinstance(store, DendriteStore):
            raise ValueError(f"store: expected a DendriteStore, got {type(store).__name__}")
        if post_active is None:
            raise ValueError(f"post_active: {type(self).__name__} needs the owner cells active at this step")
        step = store.timestep if t is None else t
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise ValueError(f"t: expected an integer step, got {step!r}")
        step = int(step)
        if self._last_t is not None and step <= self._last_t:
            raise ValueError(
                f"t: step {step} is not after the previous learning step {self._last_t} "
                "(advance store.timestep or pass increasing t)"
            )
        shape = (store.n_cells, store.n_presynaptic)
        if self._shape is not None and self._shape != shape:
            raise ValueError(
                f"store: this {type(self).__name__} holds state for (cells, presynaptic)={self._shape}, "
                f"got a store of shape {shape}; use one rule instance per store"
            )
        pre = _unique_indices(active_presynaptic, "active_presynaptic", store.n_presynaptic)
        post = _unique_indices(post_active, "post_active", store.n_cells)
        allowed = None
        if segments is not None:
            seg = as_index_array(segments, "segments", max(store.n_segment_slots, 1)) if np.size(segments) else None
            allowed = np.zeros(store.n_segment_slots, dtype=bool)
            if seg is not None:
                if store.n_segment_slots == 0 or np.any(store.segment_cell[seg] < 0):
                    raise ValueError("segments: a segment id is not a live segment")
                allowed[seg] = True
        if self._shape is None:
            self._allocate(*shape, step)
            self._shape = shape
        self._last_t = step
        return step, pre, post, allowed


# ----------------------------------------------------------------- registry
_RULES: dict[str, type[PlasticityRule]] = {}
_R = TypeVar("_R", bound=type[PlasticityRule])


def register_rule(name: str) -> Callable[[_R], _R]:
    """Class decorator: make a :class:`PlasticityRule` subclass selectable as ``name``."""
    key = str(name).strip().lower()
    if not key:
        raise ValueError("register_rule: the rule name must be a non-empty string")

    def decorate(cls: _R) -> _R:
        if key in _RULES and _RULES[key] is not cls:
            raise ValueError(f"register_rule: a rule named {key!r} is already registered ({_RULES[key].__name__})")
        cls.name = key
        _RULES[key] = cls
        return cls

    return decorate


def available_rules() -> tuple[str, ...]:
    """Names accepted by :func:`get_rule`, sorted."""
    return tuple(sorted(_RULES))


def get_rule(name: str, **params: float | str) -> PlasticityRule:
    """Build a fresh rule by name (the YAML key ``regions[i].column.plasticity``).

    >>> get_rule("stdp", a_plus=0.02).a_plus
    0.02
    >>> get_rule("stpd")
    Traceback (most recent call last):
    ...
    ValueError: plasticity: unknown rule 'stpd' (did you mean 'stdp'?); known rules: bcm, hebbian, stdp
    """
    if not isinstance(name, str):
        raise ValueError(f"plasticity: expected a rule name string, got {name!r}")
    key = name.strip().lower()
    if key not in _RULES:
        known = available_rules()
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"plasticity: unknown rule {name!r}{hint}; known rules: {', '.join(known)}")
    try:
        return _RULES[key](**params)  # type: ignore[arg-type]
    except TypeError as err:
        raise ValueError(f"plasticity: bad parameters for rule {key!r}: {err}") from None


# ------------------------------------------------------------------ Hebbian
@register_rule("hebbian")
class HebbianRule(PlasticityRule):
    """HTM permanence learning: on the learning segments, synapses onto active cells gain
    ``increment`` and all others lose ``decrement`` (both in permanence units per step).

    Stateless; ``post_active`` and ``t`` are ignored.  :meth:`punish` depresses the
    synapses onto active cells of wrongly matching segments (L4: matching segments
    in inactive minicolumns) by ``punish_decrement``.  Defaults: the 2017 L4 values.
    """

    def __init__(self, increment: float = 0.1, decrement: float = 0.02, punish_decrement: float = 0.0) -> None:
        self.increment = _non_negative(increment, "increment")
        self.decrement = _non_negative(decrement, "decrement")
        self.punish_decrement = _non_negative(punish_decrement, "punish_decrement")

    def learn(
        self,
        store: DendriteStore,
        segments: np.ndarray | None,
        active_presynaptic: np.ndarray,
        *,
        post_active: np.ndarray | None = None,
        t: int | None = None,
    ) -> None:
        """Reinforce ``segments`` toward ``active_presynaptic`` (see the class docstring)."""
        if segments is None:
            raise ValueError("segments: HebbianRule needs the learning segments (an int array), got None")
        store.adapt_segments(segments, active_presynaptic, self.increment, self.decrement)

    def punish(self, store: DendriteStore, segments: np.ndarray, active_presynaptic: np.ndarray) -> None:
        """Depress the synapses of ``segments`` onto ``active_presynaptic`` by ``punish_decrement``."""
        if self.punish_decrement > 0:
            store.punish_segments(segments, active_presynaptic, self.punish_decrement)

    def __repr__(self) -> str:
        return f"HebbianRule(increment={self.increment}, decrement={self.decrement}, punish_decrement={self.punish_decrement})"


# --------------------------------------------------------------------- STDP
@register_rule("stdp")
class STDPRule(_StatefulRule):
    """Pair-based STDP with event-driven exponential traces.

    For a synapse from presynaptic cell ``p`` onto a segment of owner cell ``c``,
    every counted pair of a pre spike at step ``t_pre`` and a post spike (``c``
    active) at step ``t_post`` changes the permanence by::

        +a_plus  * exp(-(t_post - t_pre) / tau_plus)    if t_pre <= t_post  (pre before post: LTP)
        -a_minus * exp(-(t_pre - t_post) / tau_minus)   if t_post <  t_pre  (post before pre: LTD)

    A pre and a post spike in the *same* step count as pre-before-post
    (``dt = 0`` potentiates by ``a_plus``): in a layer the presynaptic activity of
    a step is what drives that step's owner cells.

    Pairing (``pairing``)
    ---------------------
    ``"all-to-all"``: every pre spike pairs with every post spike (traces add up:
    ``x <- x * exp(-dt/tau) + 1`` at each spike).
    ``"nearest"``: symmetric nearest-spike pairing: a post spike pairs only with the
    latest pre spike at or before it, and a pre spike only with the latest post
    spike strictly before it (traces reset to 1 at each spike).

    Traces are event-driven: a presynaptic trace per presynaptic cell and a
    postsynaptic trace per owner cell are stored with their last-spike step and
    decayed lazily (``exp(-(t - t_last)/tau)``) when read, so a step touches only
    cells that spiked and synapses it updates.  Updates at step ``t``:

    * LTD over all synapses of the active presynaptic cells (on learning segments),
      reading the post traces of their owners *before* this step's post spikes;
    * LTP over all synapses of the segments of the active owner cells, reading the
      pre traces *including* this step's pre spikes;

    both summed per synapse and applied once (clipped to [0, 1]).  Segments whose
    synapses change are stamped as used at ``store.timestep``.  Finding the segments
    of the active owner cells is one pass over the 4-byte segment-owner array (the
    store keeps no cell -> segment index); everything else follows the touched synapses.

    Parameters
    ----------
    a_plus, a_minus : LTP and LTD amplitudes (permanence units), >= 0.
    tau_plus, tau_minus : pre and post trace time constants (steps), > 0.
    pairing : ``"all-to-all"`` (default) or ``"nearest"``.
    """

    PAIRINGS: ClassVar[tuple[str, ...]] = ("all-to-all", "nearest")

    def __init__(
        self,
        a_plus: float = 0.01,
        a_minus: float = 0.012,
        tau_plus: float = 20.0,
        tau_minus: float = 20.0,
        *,
        pairing: str = "all-to-all",
    ) -> None:
        super().__init__()
        self.a_plus = _non_negative(a_plus, "a_plus")
        self.a_minus = _non_negative(a_minus, "a_minus")
        self.tau_plus = _positive(tau_plus, "tau_plus")
        self.tau_minus = _positive(tau_minus, "tau_minus")
        if pairing not in self.PAIRINGS:
            raise ValueError(f"pairing must be one of {self.PAIRINGS}, got {pairing!r}")
        self.pairing = pairing
        self._pre_trace = self._pre_last = self._post_trace = self._post_last = np.zeros(0)

    def _allocate(self, n_cells: int, n_presynaptic: int, t: int) -> None:
        self._pre_trace = np.zeros(n_presynaptic, dtype=np.float64)
        self._pre_last = np.full(n_presynaptic, -np.inf)
        self._post_trace = np.zeros(n_cells, dtype=np.float64)
        self._post_last = np.full(n_cells, -np.inf)

    @staticmethod
    def _read(trace: np.ndarray, last: np.ndarray, cells: np.ndarray, t: int, tau: float) -> np.ndarray:
        """Trace values of ``cells`` at step ``t`` (lazy exponential decay; 0 before any spike)."""
        value = trace[cells] * np.exp(-(t - last[cells]) / tau)
        return value

    def _spike(self, trace: np.ndarray, last: np.ndarray, cells: np.ndarray, t: int, tau: float) -> None:
        if self.pairing == "all-to-all":
            trace[cells] = self._read(trace, last, cells, t, tau) + 1.0
        else:
            trace[cells] = 1.0
        last[cells] = t

    def traces(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(presynaptic, postsynaptic) trace values at step ``t``: float64 ``(n_presynaptic,)``, ``(n_cells,)``.

        Evaluated lazily from the stored last-spike values; no side effect.
        """
        if self._shape is None:
            raise ValueError("traces: the rule has not learned yet")
        every_pre = np.arange(self._pre_trace.size)
        every_post = np.arange(self._post_trace.size)
        return (
            self._read(self._pre_trace, self._pre_last, every_pre, t, self.tau_plus),
            self._read(self._post_trace, self._post_last, every_post, t, self.tau_minus),
        )

    def reset(self) -> None:
        super().reset()
        self._pre_trace = self._pre_last = self._post_trace = self._post_last = np.zeros(0)

    def learn(
        self,
        store: DendriteStore,
        segments: np.ndarray | None,
        active_presynaptic: np.ndarray,
        *,
        post_active: np.ndarray | None = None,
        t: int | None = None,
    ) -> None:
        """One STDP step: LTD on synapses of active pre cells, LTP on segments of active owner cells."""
        t, pre, post, allowed = self._begin(store, segments, active_presynaptic, post_active, t)
        post_flag = np.zeros(store.n_cells + 1, dtype=bool)  # index -1 (free segment ids) stays False
        post_flag[post] = True
        # LTD: post spikes strictly before t, read before this step's post spikes
        dep = store.synapses_of_presynaptic(pre)
        if allowed is not None:
            keep = allowed[dep.segment]
            dep = SynapseSlots(*(a[keep] for a in dep))
        owner = store.segment_cell[dep.segment].astype(np.int64)
        # synapses onto active owner cells also potentiate: they are handled with the LTP set below
        only_ltd = ~post_flag[owner]
        ltd = self._read(self._post_trace, self._post_last, owner[only_ltd], t, self.tau_minus)
        # pre spikes of this step enter the trace before LTP (dt = 0 potentiates)
        self._spike(self._pre_trace, self._pre_last, pre, t, self.tau_plus)
        pot = store.synapses_of_segments(_segments_of_cells(store, post_flag, allowed))
        delta = self.a_plus * self._read(self._pre_trace, self._pre_last, pot.presynaptic, t, self.tau_plus)
        both = self._pre_last[pot.presynaptic] == t  # presynaptic cell active now: LTD as well
        if both.any():
            owner_both = store.segment_cell[pot.segment[both]].astype(np.int64)
            delta[both] -= self.a_minus * self._read(self._post_trace, self._post_last, owner_both, t, self.tau_minus)
        self._spike(self._post_trace, self._post_last, post, t, self.tau_minus)
        slots = np.concatenate([dep.slots[only_ltd], pot.slots])
        delta = np.concatenate([-self.a_minus * ltd, delta])
        nonzero = delta != 0
        store.update_permanences(slots[nonzero], delta[nonzero])

    def __repr__(self) -> str:
        return (
            f"STDPRule(a_plus={self.a_plus}, a_minus={self.a_minus}, tau_plus={self.tau_plus}, "
            f"tau_minus={self.tau_minus}, pairing={self.pairing!r})"
        )


def _segments_of_cells(store: DendriteStore, cell_flag: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Live segments whose owner is flagged in ``cell_flag`` (bool ``(n_cells + 1,)``, last entry False), within ``allowed``.

    One pass over the segment-owner array (4 bytes per segment): there is no cell -> segment index.
    """
    if store.n_segment_slots == 0:
        return np.zeros(0, dtype=np.int64)
    if allowed is not None:
        candidates = np.flatnonzero(allowed)
        return candidates[cell_flag[store.segment_cell[candidates]]]
    return np.flatnonzero(cell_flag[store.segment_cell])


# ---------------------------------------------------------------------- BCM
@register_rule("bcm")
class BCMRule(_StatefulRule):
    """Bienenstock-Cooper-Munro rate rule with a sliding threshold, per owner cell.

    Per owner cell ``c`` and step ``t`` (``s`` = 1 when ``c`` is active, else 0)::

        y_c(t)     = a * y_c(t-1) + (1 - a) * s              a = exp(-1 / tau_rate)
        dw         = eta * x_p(t) * y_c(t) * (y_c(t) - theta_c(t-1))
        theta_c(t) = b * theta_c(t-1) + (1 - b) * y_c(t)**2  b = exp(-1 / tau_theta)

    ``x_p(t)`` is the presynaptic activity of the step (1 for active cells, else 0),
    so only synapses of active presynaptic cells change (event-driven).  A post
    rate above the cell's threshold potentiates (LTP), a rate between 0 and the
    threshold depresses (LTD); the threshold tracks the running average of ``y**2``,
    so a cell that has been very active needs still more activity to potentiate.
    High-frequency co-activity drives ``y`` above ``theta`` (LTP); low-frequency or
    out-of-sync activity (the pre cell fires while the post rate has decayed) leaves
    ``y`` below ``theta`` (LTD).

    Rates and thresholds are advanced lazily and exactly: a cell is touched only at
    steps where it fires or one of its synapses is presynaptically active, and the
    silent steps in between are applied in closed form
    (``y <- a**d y``, ``theta <- b**d theta + (1-b) y**2 * sum_k b**(d-k) a**(2k)``).

    Parameters
    ----------
    eta : learning rate (permanence units per step), >= 0.
    tau_rate : time constant of the rate estimate ``y`` (steps), > 0.
    tau_theta : time constant of the threshold (steps), > 0; slower than ``tau_rate``.
    theta_init : threshold of every cell before any activity, in [0, 1].
    """

    def __init__(
        self,
        eta: float = 0.05,
        tau_rate: float = 5.0,
        tau_theta: float = 100.0,
        theta_init: float = 0.1,
    ) -> None:
        super().__init__()
        self.eta = _non_negative(eta, "eta")
        self.tau_rate = _positive(tau_rate, "tau_rate")
        self.tau_theta = _positive(tau_theta, "tau_theta")
        theta0 = _non_negative(theta_init, "theta_init")
        if theta0 > 1:
            raise ValueError(f"theta_init must be in [0, 1], got {theta_init!r}")
        self.theta_init = theta0
        self._a = math.exp(-1.0 / self.tau_rate)
        self._b = math.exp(-1.0 / self.tau_theta)
        self._rate = self._theta = self._last = np.zeros(0)

    def _allocate(self, n_cells: int, n_presynaptic: int, t: int) -> None:
        self._rate = np.zeros(n_cells, dtype=np.float64)
        self._theta = np.full(n_cells, self.theta_init, dtype=np.float64)
        self._last = np.full(n_cells, t - 1, dtype=np.int64)  # state valid at the step before the first call

    def reset(self) -> None:
        super().reset()
        self._rate = self._theta = self._last = np.zeros(0)

    def _advance(self, cells: np.ndarray, to: int) -> tuple[np.ndarray, np.ndarray]:
        """Rates and thresholds of ``cells`` after the silent steps up to step ``to``."""
        d = (to - self._last[cells]).astype(np.float64)
        y0, th0 = self._rate[cells], self._theta[cells]
        a, b = self._a, self._b
        c = a * a
        a_d = np.exp(d * math.log(a))
        b_d = np.exp(d * math.log(b))
        if abs(b - c) > 1e-12:
            geometric = c * (b_d - a_d * a_d) / (b - c)  # sum_{k=1..d} b**(d-k) c**k
        else:
            geometric = d * b_d * (c / b)
        return a_d * y0, b_d * th0 + (1 - b) * y0 * y0 * geometric

    def state(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(rates ``y``, thresholds ``theta``) of every owner cell at step ``t`` (float64, no side effect).

        ``t`` must not precede a cell's last update (at most the last learning step back).
        """
        if self._shape is None:
            raise ValueError("state: the rule has not learned yet")
        if self._last_t is not None and t < self._last_t:
            raise ValueError(f"t: step {t} precedes the last learning step {self._last_t}")
        return self._advance(np.arange(self._rate.size), int(t))

    def learn(
        self,
        store: DendriteStore,
        segments: np.ndarray | None,
        active_presynaptic: np.ndarray,
        *,
        post_active: np.ndarray | None = None,
        t: int | None = None,
    ) -> None:
        """One BCM step over the synapses of the active presynaptic cells."""
        t, pre, post, allowed = self._begin(store, segments, active_presynaptic, post_active, t)
        syn = store.synapses_of_presynaptic(pre)
        if allowed is not None:
            keep = allowed[syn.segment]
            syn = SynapseSlots(*(a[keep] for a in syn))
        owner = store.segment_cell[syn.segment].astype(np.int64)
        # cells touched this step: owners of active synapses and active cells (one flag pass over the cells)
        touched = np.zeros(store.n_cells, dtype=bool)
        touched[owner] = True
        touched[post] = True
        cells = np.flatnonzero(touched)
        y_prev, theta_prev = self._advance(cells, t - 1)
        spiking = np.zeros(store.n_cells, dtype=np.float64)
        spiking[post] = 1.0
        y = self._a * y_prev + (1 - self._a) * spiking[cells]
        self._rate[cells] = y
        self._theta[cells] = self._b * theta_prev + (1 - self._b) * y * y
        self._last[cells] = t
        dw_cell = spiking  # reuse the buffer: per-cell weight change, indexed by cell
        dw_cell[cells] = self.eta * y * (y - theta_prev)
        delta = dw_cell[owner]
        nonzero = delta != 0
        store.update_permanences(syn.slots[nonzero], delta[nonzero])

    def __repr__(self) -> str:
        return (
            f"BCMRule(eta={self.eta}, tau_rate={self.tau_rate}, tau_theta={self.tau_theta}, "
            f"theta_init={self.theta_init})"
        )


# -------------------------------------------------------------- homeostasis
class Homeostasis:
    """Duty cycles and boosting factors that spread activity over a cell population.

    ``duty[c]`` is an exponential moving average of cell ``c``'s activity (fraction
    of steps active) over ``period`` steps; during the first ``period`` steps the
    average runs over the steps seen so far, so it is meaningful from step 1.
    Boosting factors ``exp(-strength * (duty - target_density))`` exceed 1 for cells
    used less than the target and fall below 1 for overused ones; a layer multiplies
    them into its candidate scores before choosing winners (:meth:`boost`).

    Parameters
    ----------
    n_cells : population size (all columns together, flat index space).
    target_density : desired fraction of steps each cell is active, in (0, 1]; a
        scalar or one value per cell ``(n_cells,)``, e.g. ``k / n`` for k-WTA.
    strength : boosting strength (dimensionless), >= 0; 0 disables boosting.
    period : averaging window of the duty cycles (steps), >= 1.
    """

    def __init__(
        self,
        n_cells: int,
        target_density: float | np.ndarray,
        *,
        strength: float = 10.0,
        period: int = 1000,
    ) -> None:
        if isinstance(n_cells, bool) or int(n_cells) != n_cells or int(n_cells) <= 0:
            raise ValueError(f"n_cells must be a positive integer, got {n_cells!r}")
        self.n_cells = int(n_cells)
        target = np.asarray(target_density, dtype=np.float64)
        if target.ndim > 1 or (target.ndim == 1 and target.size != self.n_cells):
            raise ValueError(f"target_density: expected a scalar or shape ({self.n_cells},), got shape {target.shape}")
        if not np.all((target > 0) & (target <= 1)):
            raise ValueError(f"target_density must lie in (0, 1], got {target_density!r}")
        self.target_density = np.broadcast_to(target, (self.n_cells,)).copy()
        self.strength = _non_negative(strength, "strength")
        if isinstance(period, bool) or int(period) != period or int(period) < 1:
            raise ValueError(f"period must be an integer >= 1, got {period!r}")
        self.period = int(period)
        self.steps = 0
        self._duty = np.zeros(self.n_cells, dtype=np.float64)

    @property
    def duty_cycles(self) -> np.ndarray:
        """Fraction of recent steps each cell was active, float64 ``(n_cells,)`` (read-only view)."""
        view = self._duty.view()
        view.flags.writeable = False
        return view

    def update(self, active_cells: np.ndarray) -> None:
        """Fold one step's activity (int array of active cells) into the duty cycles."""
        active = _unique_indices(active_cells, "active_cells", self.n_cells)
        self.steps += 1
        rate = 1.0 / min(self.steps, self.period)
        self._duty *= 1.0 - rate
        self._duty[active] += rate

    def boost_factors(self) -> np.ndarray:
        """``exp(-strength * (duty - target_density))``, float64 ``(n_cells,)``."""
        return np.exp(-self.strength * (self._duty - self.target_density))

    def boost(self, scores: np.ndarray) -> np.ndarray:
        """``scores * boost_factors()``; ``scores`` has shape ``(..., n_cells)``."""
        s = np.asarray(scores)
        if s.ndim == 0 or s.shape[-1] != self.n_cells:
            raise ValueError(f"scores: expected last dimension {self.n_cells}, got shape {s.shape}")
        return s * self.boost_factors()

    def reset(self) -> None:
        """Zero the duty cycles and the step count."""
        self.steps = 0
        self._duty[:] = 0.0


def usage_entropy(counts: np.ndarray) -> float:
    """Shannon entropy (nats) of the distribution ``counts / counts.sum()``; 0 for no counts.

    A population of ``n`` cells used equally has entropy ``log(n)``.
    """
    c = np.asarray(counts, dtype=np.float64).reshape(-1)
    if np.any(c < 0) or not np.all(np.isfinite(c)):
        raise ValueError("counts: values must be finite and non-negative")
    total = c.sum()
    if total == 0:
        return 0.0
    p = c[c > 0] / total
    return float(-(p * np.log(p)).sum())


# ------------------------------------------------------------------- budget
class SynapseBudget:
    """Keep a store under ``max_synapses`` by pruning its lowest-priority synapses.

    When a store holds more than ``max_synapses`` live synapses, :meth:`enforce`
    removes enough of them to fall to ``low_water * max_synapses`` (the hysteresis
    makes pruning, a linear pass over the store, happen rarely), then compacts the
    store so its memory shrinks with it.  Priority, lowest pruned first:

    * ``"weakest"``: lowest permanence, ties broken by least recent use;
    * ``"lru"``: least recently used, ties broken by lowest permanence.

    A synapse's recency is its segment's last-used step
    (:attr:`DendriteStore.segment_last_used`: stamped when the segment learns or
    grows).  Segments left without synapses are destroyed.  The selection is one
    ``argpartition`` over a packed 64-bit key (permanence bits and recency), O(n).

    Parameters
    ----------
    max_synapses : the budget (live synapses), >= 1.
    low_water : fraction of the budget to prune down to, in (0, 1].
    policy : ``"weakest"`` (default) or ``"lru"``.
    compact : compact the store after pruning (drops tombstones, frees memory).
    """

    POLICIES: ClassVar[tuple[str, ...]] = ("weakest", "lru")

    def __init__(self, max_synapses: int, *, low_water: float = 0.9, policy: str = "weakest", compact: bool = True) -> None:
        if isinstance(max_synapses, bool) or int(max_synapses) != max_synapses or int(max_synapses) < 1:
            raise ValueError(f"max_synapses must be a positive integer, got {max_synapses!r}")
        self.max_synapses = int(max_synapses)
        lw = float(low_water)
        if not 0 < lw <= 1:
            raise ValueError(f"low_water must be in (0, 1], got {low_water!r}")
        self.low_water = lw
        if policy not in self.POLICIES:
            raise ValueError(f"policy must be one of {self.POLICIES}, got {policy!r}")
        self.policy = policy
        self.compact = bool(compact)
        self.n_pruned = 0  # synapses pruned over the budget's lifetime

    def priority(self, store: DendriteStore, synapses: SynapseSlots) -> np.ndarray:
        """Packed uint64 keys of ``synapses``: lower keys are pruned first."""
        perm_bits = np.ascontiguousarray(synapses.permanence, dtype=np.float32).view(np.uint32).astype(np.uint64)
        used = store.segment_last_used[synapses.segment].astype(np.int64)
        recency = (used - (used.min() if used.size else 0)).astype(np.uint64)  # >= 0, < 2**32
        if self.policy == "weakest":
            return (perm_bits << np.uint64(32)) | recency
        return (recency << np.uint64(32)) | perm_bits

    def prune(self, store: DendriteStore, n: int) -> int:
        """Remove the ``n`` lowest-priority synapses of ``store``; return how many were removed."""
        n = int(n)
        if n <= 0:
            return 0
        live = store.live_synapses()
        n = min(n, live.slots.size)
        if n == 0:
            return 0
        key = self.priority(store, live)
        victims = live.slots if n == key.size else live.slots[np.argpartition(key, n - 1)[:n]]
        store.remove_synapses(victims)
        if self.compact:
            store.compact()
        self.n_pruned += n
        return n

    def enforce(self, store: DendriteStore) -> int:
        """Prune ``store`` below the budget if it is over it; return the synapses removed."""
        excess = store.n_synapses - self.max_synapses
        if excess <= 0:
            return 0
        return self.prune(store, store.n_synapses - int(self.low_water * self.max_synapses))

    def grow_synapses(
        self,
        store: DendriteStore,
        segments: np.ndarray,
        candidates: np.ndarray | tuple[np.ndarray, np.ndarray],
        max_new: np.ndarray | int,
        initial_permanence: float,
        rng: np.random.Generator,
    ) -> int:
        """Synaptogenesis under the budget: :meth:`DendriteStore.grow_synapses`, then :meth:`enforce`.

        Returns the number of synapses grown (pruned ones are counted in :attr:`n_pruned`).
        """
        grown = store.grow_synapses(segments, candidates, max_new, initial_permanence, rng)
        self.enforce(store)
        return grown

    def __repr__(self) -> str:
        return f"SynapseBudget(max_synapses={self.max_synapses}, low_water={self.low_water}, policy={self.policy!r})"


# ------------------------------------------------------------------ novelty
def _minicolumn_sets(bursting: object, active: object) -> tuple[np.ndarray, np.ndarray]:
    upper = np.iinfo(np.int64).max
    burst = _unique_indices(bursting, "bursting_minicolumns", upper)
    act = _unique_indices(active, "active_minicolumns", upper)
    outside = ~np.isin(burst, act)
    if outside.any():
        raise ValueError(
            f"bursting_minicolumns: minicolumn {int(burst[np.argmax(outside)])} bursts but is not in active_minicolumns"
        )
    return burst, act


def novelty(bursting_minicolumns: np.ndarray, active_minicolumns: np.ndarray) -> float:
    """Fraction of active minicolumns that burst (no cell predicted them), in [0, 1].

    1 means the sensation was wholly unexpected, 0 fully predicted; 0 as well when
    no minicolumn is active.  Bursting minicolumns must be active ones.

    >>> novelty(np.array([3, 9]), np.array([1, 3, 5, 9]))
    0.5
    """
    burst, act = _minicolumn_sets(bursting_minicolumns, active_minicolumns)
    return float(burst.size / act.size) if act.size else 0.0


def novelty_per_column(
    bursting_minicolumns: np.ndarray,
    active_minicolumns: np.ndarray,
    minicolumns_per_column: int,
    n_columns: int,
) -> np.ndarray:
    """:func:`novelty` of every column at once (flat minicolumn ``m`` belongs to column ``m // minicolumns_per_column``).

    Returns float64 ``(n_columns,)``; a column with no active minicolumn gets 0.
    """
    if int(minicolumns_per_column) < 1:
        raise ValueError(f"minicolumns_per_column must be >= 1, got {minicolumns_per_column!r}")
    if int(n_columns) < 1:
        raise ValueError(f"n_columns must be >= 1, got {n_columns!r}")
    per, n = int(minicolumns_per_column), int(n_columns)
    burst, act = _minicolumn_sets(bursting_minicolumns, active_minicolumns)
    if act.size and act[-1] >= per * n:
        raise ValueError(f"active_minicolumns: index {int(act[-1])} out of range [0, {per * n})")
    n_burst = np.bincount(burst // per, minlength=n).astype(np.float64)
    n_act = np.bincount(act // per, minlength=n).astype(np.float64)
    return np.divide(n_burst, n_act, out=np.zeros(n), where=n_act > 0)


def kwta_usage(strength: float, seed: int, n_cells: int = 120, k: int = 6, n_inputs: int = 300,
               input_active: int = 30, steps: int = 3000) -> np.ndarray:
    """Win counts ``(n_cells,)`` of a k-winners-take-all population under :class:`Homeostasis`.

    Cells have random binary receptive fields of 10-80 of ``n_inputs`` inputs (so some cells
    would win far more often than others); each of ``steps`` inputs activates
    ``input_active`` random inputs; ``strength`` 0 disables boosting.  The demonstration of
    homeostasis used by the tests and ``benchmarks/plasticity.py``.
    """
    rng = np.random.default_rng(seed)
    field_size = rng.integers(10, 80, size=n_cells)
    fields = np.zeros((n_cells, n_inputs), dtype=np.float64)
    rows = np.repeat(np.arange(n_cells), field_size)
    cols = np.concatenate([rng.choice(n_inputs, size=f, replace=False) for f in field_size])
    fields[rows, cols] = 1.0
    homeostasis = Homeostasis(n_cells, k / n_cells, strength=strength, period=200)
    counts = np.zeros(n_cells, dtype=np.int64)
    for _ in range(steps):
        x = np.zeros(n_inputs)
        x[rng.choice(n_inputs, size=input_active, replace=False)] = 1.0
        scores = homeostasis.boost(fields @ x + 1e-3 * rng.random(n_cells))  # tiny noise breaks ties
        winners = np.argpartition(-scores, k)[:k]
        homeostasis.update(winners)
        counts[winners] += 1
    return counts
