"""Criticality in a region: an excitable voting cascade, its avalanches, and coupling sweeps.

**This is the theory line, not the measurement.**  ``ExcitableRegion`` is an analytic cascade model
of a region (no synapse is learned, no column model runs: each vote fires with a fresh probability
P[Bin(s, p) >= theta]); ``critical_sweep`` sweeps that model.  The learned network itself is
measured by the ``learned_criticality`` protocol (:mod:`regions.criticality`), which prints this
model's predicted m (``m_predicted``) beside the measured one.  Both share the knob ``p`` (the
fraction of lateral synapses connected: ``experiment.params.connected_probability``), and they
disagree: on the learned 256-column region the model predicts m = 6.79 at p = 1 falling to 4.63 at
p = 0.4, while the measured m rises from 0.63 to 1.00 (``benchmarks/criticality.py`` section 5) --
a fired vote here changes its target, in the learned network it mostly holds the target on the
object it already has.

Why a model, and what it models
-------------------------------
The 2017 L2/3 layer (:mod:`columns.layers.l23`) settles a sensation to a fixed point in a few
iterations (``Region.infer_sensation``): its "avalanches" last one to three iterations, far too
short for scaling laws.  Heavy-tailed avalanches need a *driven, excitable* regime, so this module
keeps the region's architecture -- its columns, its lateral graph, the L2/3 distal rule -- and
abstracts each column's L2/3 state to what a cascade needs:

* **state**: a column is *quiescent* (settled, holding a code), *changing* (its L2/3 code changed
  at this settling iteration: the active unit of the cascade), or *refractory* for
  ``refractory`` iterations after a change (inertia holds the new code: the column ignores votes).
* **vote**: a changing column ``j`` sends its new code to every lateral neighbour ``k``.  Column
  ``k`` reads it with the one distal segment it grew for that code from source ``j`` (L2/3 keeps
  one distal segment per (cell, source column)).  The segment has ``sample_size`` synapses, each
  connected (permanence >= the connected threshold) with probability ``p``; it fires when its
  connected synapses onto ``j``'s active cells reach ``threshold`` (the distal threshold).  So a
  vote activates its segment with probability

      q(p) = P[Binomial(sample_size, p) >= threshold]          (``vote_transmission``)

  A region learns many objects and each code change brings up a different segment, so the
  connected count is drawn afresh per vote (the quenched learned disorder, averaged over many
  codes: an annealed approximation).
* **switch**: a quiescent column with at least one active lateral segment at iteration ``t``
  changes its code at ``t + 1`` (a supported hypothesis beats an unsupported one, as in the
  L2/3 ranking by distal support); several votes on one column cause one change.
* **drive**: slow, one perturbation at a time (separation of time scales): a random column
  re-senses and changes its code, the cascade runs until no column changes, the region rests
  (all columns quiescent again), and only then comes the next perturbation.

Not modelled: feed-forward L4 input during the cascade, which hypothesis a code stands for
(a change is a change), and competition between several supported codes (one active segment
suffices).  The coupling knob is ``p``, the probability that a lateral synapse is connected
(equivalently the distal threshold, or the lateral graph's degree).

Branching ratio, analytically
-----------------------------
A column changed by a neighbour has that neighbour refractory (when ``refractory >= 2``: the
neighbour changed at ``t``, its child at ``t + 1``, and the child's vote would reach it at
``t + 2``), so on a locally tree-like graph it flips on average

    m = q(p) * <d (d - 1)> / <d>          (the seed column: q <d>)

neighbours (``<.>`` over columns, ``d`` the degree; ``<d (d - 1)> / <d>`` is the mean excess
degree of a column reached along an edge).  With ``refractory = 1`` the parent may be flipped
back, and ``m = q <d^2> / <d>``.  Collisions (two changing neighbours flipping one column once)
and short loops make the measured m slightly smaller; ``m = 1`` is the critical coupling.

Measurement
-----------
Every change is an event ``(step = perturbation, iteration, column, cell = 0)`` in a
:class:`regions.dynamics.ActivityRecorder`; the activity is the number of columns that change
per settling iteration (times ``2 * sdr_size`` for L2/3 cells, a constant factor); an avalanche
is a maximal run of non-empty iterations, one per perturbation, with one silent bin between
perturbations.  Per coupling value: tau, alpha (discrete MLE, x_min by KS), gamma from
``<S>(T)``, the branching ratio pooled over avalanches and by multistep regression, the
preferred size distribution (likelihood-ratio tests), and, on a clustered lateral graph
(``stochastic_block_model`` ``block`` attributes, or Louvain communities), within- versus
across-cluster statistics.

Example
-------
>>> import networkx as nx
>>> model = ExcitableRegion.from_graph(nx.random_regular_graph(16, 256, seed=0),
...                                    connected_probability=0.55)
>>> run = model.cascades(2000, rng=0)
>>> stats = avalanche_statistics(run)
>>> round(model.branching_ratio, 2), round(stats["m_pooled"], 1)   # doctest: +SKIP
(0.98, 1.0)
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pydantic.types import PositiveInt
from scipy import optimize, sparse, stats

from . import dynamics as dyn
from .builder import ProgressFactory, Uses, build, register_builder
from .figures import mean_size_by_duration
from .config import Config, Params
from .parallel import run_trials, trial_seeds
from .region import lateral_adjacency

__all__ = [
    "ExcitableRegion",
    "CascadeRun",
    "CriticalSweepParams",
    "vote_transmission",
    "connected_probability_for",
    "graph_clusters",
    "simulate_cascades",
    "cascade_avalanches",
    "avalanche_statistics",
    "cluster_statistics",
    "sweep_point",
    "run_critical_sweep",
]

_NEVER = -(2**30)  # "last change" of a column that has not changed in this avalanche


# ------------------------------------------------------------------------------ analytics
def vote_transmission(connected_probability: float, sample_size: int, threshold: int) -> float:
    """q = P[Binomial(sample_size, p) >= threshold]: the chance a changed vote fires its segment.

    Args:
        connected_probability: p in [0, 1], probability that a lateral synapse is connected.
        sample_size: synapses per lateral distal segment (L2/3 ``distal.sample_size``), >= 1.
        threshold: connected synapses onto the source's active cells needed (``distal.threshold``),
            1 <= threshold <= sample_size.

    >>> round(vote_transmission(0.5, 20, 13), 4)
    0.1316
    """
    p = float(connected_probability)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"connected_probability must lie in [0, 1], got {connected_probability!r}")
    s, theta = _check_segment(sample_size, threshold)
    return float(stats.binom.sf(theta - 1, s, p))


def _check_segment(sample_size: int, threshold: int) -> tuple[int, int]:
    if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)) or sample_size < 1:
        raise ValueError(f"sample_size must be a positive integer, got {sample_size!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or not 1 <= threshold <= sample_size:
        raise ValueError(f"threshold must be an integer in [1, sample_size={sample_size}], got {threshold!r}")
    return int(sample_size), int(threshold)


def _offspring_degree(degrees: np.ndarray, refractory: int) -> float:
    """Mean number of susceptible neighbours of a column reached along an edge (tree-like graph)."""
    d = degrees.astype(np.float64)
    total = float(d.sum())
    if total <= 0:
        return 0.0
    if refractory >= 2:
        return float(np.sum(d * (d - 1.0)) / total)
    return float(np.sum(d * d) / total)


def connected_probability_for(
    branching_ratio: float, degrees: np.ndarray, sample_size: int, threshold: int, refractory: int = 2
) -> float:
    """The connected-synapse probability p at which the analytic branching ratio equals a target.

    Args:
        branching_ratio: target m > 0 (1 for the critical coupling).
        degrees: (n_columns,) degrees of the lateral graph.
        sample_size, threshold: the lateral distal segment (see :func:`vote_transmission`).
        refractory: refractory iterations after a change (see the module docstring).

    Raises ValueError if the target is out of reach (m >= mean excess degree even at p = 1).
    """
    m = float(branching_ratio)
    if not (math.isfinite(m) and m > 0):
        raise ValueError(f"branching_ratio must be a positive number, got {branching_ratio!r}")
    s, theta = _check_segment(sample_size, threshold)
    excess = _offspring_degree(np.asarray(degrees), int(refractory))
    if m >= excess:
        raise ValueError(
            f"branching_ratio {m} is out of reach: the mean excess degree of the graph is {excess:.3g}"
        )
    return float(optimize.brentq(lambda p: vote_transmission(p, s, theta) * excess - m, 0.0, 1.0, xtol=1e-10))


def graph_clusters(graph: nx.Graph, *, detect: bool = True, seed: int = 0) -> np.ndarray | None:
    """Cluster label of each column, int ``(n_columns,)``, or None.

    The ``block`` node attribute (``stochastic_block_model``) when every node has one; else, when
    ``detect``, Louvain communities (networkx); None when there is a single cluster.
    """
    nodes = sorted(graph.nodes)
    blocks = [graph.nodes[v].get("block") for v in nodes]
    if all(b is not None for b in blocks):
        _, labels = np.unique(np.asarray(blocks), return_inverse=True)
    elif detect and graph.number_of_edges():
        communities = nx.community.louvain_communities(graph, seed=seed)
        position = {v: i for i, v in enumerate(nodes)}
        labels = np.empty(len(nodes), dtype=np.int64)
        for label, members in enumerate(sorted(communities, key=min)):
            labels[[position[v] for v in members]] = label
    else:
        return None
    labels = labels.astype(np.int64).reshape(-1)
    return labels if np.unique(labels).size > 1 else None


# ------------------------------------------------------------------------------ simulation
@dataclass(frozen=True)
class CascadeRun:
    """The avalanches of one driven run, one perturbation each.

    Attributes:
        recorder: every column change as an event ``(step = perturbation, iteration, column,
            cell = 0)``; ``max_iterations`` is the duration cap.
        truncated: (n_avalanches,) bool, stopped by the size or duration cap while still active.
        seeds: (n_avalanches,) int, the perturbed column of each avalanche.
        votes: successful votes (lateral segments fired on quiescent columns), all avalanches.
        votes_within: those whose source and target share a cluster (0 without clusters).
        clusters: (n_columns,) cluster labels, or None.
        transmission: q, the probability that a vote fires its segment.
        branching_ratio: the analytic m (see the module docstring).
        n_columns: columns of the region.
    """

    recorder: dyn.ActivityRecorder
    truncated: np.ndarray
    seeds: np.ndarray
    votes: int
    votes_within: int
    clusters: np.ndarray | None
    transmission: float
    branching_ratio: float
    n_columns: int

    @property
    def n_avalanches(self) -> int:
        """Perturbations (= avalanches) in the run."""
        return int(self.seeds.size)


def _append_sorted(recorder: dyn.ActivityRecorder, step: np.ndarray, iteration: np.ndarray,
                   column: np.ndarray, cell: np.ndarray) -> None:
    """Append events already sorted by (step, iteration) in bulk.

    ``ActivityRecorder.record`` takes one (step, iteration) per call (~35 us each); a cascade run
    has one such group per avalanche iteration (10^5 and more), so the sorted arrays are copied
    into the recorder's storage in one pass -- the same state ``record`` would leave.
    """
    bulk = getattr(recorder, "record_many", None)
    if bulk is not None:  # a public bulk-append hook, when the recorder offers one
        bulk(step, iteration, column, cell)
        return
    n = int(step.size)
    if n == 0:
        return
    recorder._reserve(recorder.n_events + n)  # noqa: SLF001 - see docstring
    start, end = recorder.n_events, recorder.n_events + n
    for name, values in (("step", step), ("iteration", iteration), ("column", column), ("cell", cell)):
        recorder._arrays[name][start:end] = values  # noqa: SLF001
    recorder._size = end  # noqa: SLF001
    recorder._last_time = (int(step[-1]), int(iteration[-1]))  # noqa: SLF001


def simulate_cascades(
    adjacency: sparse.csr_array,
    transmission: float,
    n_avalanches: int,
    rng: np.random.Generator | int | None = None,
    *,
    refractory: int = 2,
    max_size: int | None = None,
    max_iterations: int = 1000,
    min_iterations: int = 0,
    clusters: np.ndarray | None = None,
    branching_ratio: float = float("nan"),
) -> CascadeRun:
    """Run ``n_avalanches`` independent cascades, each from one perturbed column (slow drive).

    Vectorised over avalanches and event-driven: each settling iteration gathers the lateral
    neighbours of every changing (avalanche, column) pair from the CSR graph, draws one Bernoulli
    per vote, and keeps the distinct quiescent targets -- work proportional to the votes sent.

    Args:
        adjacency: ``(n, n)`` symmetric CSR adjacency of the lateral graph (nonzero = edge).
        transmission: q in [0, 1], probability that a vote fires its segment.
        n_avalanches: perturbations, one avalanche each.
        rng: numpy Generator or seed.
        refractory: iterations after a change during which a column ignores votes, >= 1.
        max_size: an avalanche is stopped (truncated) once its size reaches this many changes
            (default ``2 * n``: twice as many changes as the region has columns is a runaway).
        max_iterations: duration cap in settling iterations (truncated when still active).
        min_iterations: the size cap applies only from this iteration on, so that every avalanche
            is followed at least this long (the window of multistep regression).
        clusters: optional (n,) cluster label per column, to count within-cluster votes.
        branching_ratio: the analytic m, stored in the result.

    Returns:
        CascadeRun (events in time order in its recorder).
    """
    adjacency = sparse.csr_array(adjacency)
    n = int(adjacency.shape[0])
    if adjacency.shape != (n, n) or n == 0:
        raise ValueError(f"adjacency must be a non-empty square matrix, got shape {adjacency.shape}")
    q = float(transmission)
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"transmission must lie in [0, 1], got {transmission!r}")
    n_avalanches = _positive(n_avalanches, "n_avalanches")
    refractory = _positive(refractory, "refractory")
    max_iterations = _positive(max_iterations, "max_iterations")
    max_size = 2 * n if max_size is None else _positive(max_size, "max_size")
    if isinstance(min_iterations, bool) or not isinstance(min_iterations, (int, np.integer)) or min_iterations < 0:
        raise ValueError(f"min_iterations must be an integer >= 0, got {min_iterations!r}")
    if clusters is not None:
        clusters = np.asarray(clusters, dtype=np.int64).reshape(-1)
        if clusters.shape != (n,):
            raise ValueError(f"clusters must have one label per column ({n}), got shape {clusters.shape}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    indptr = adjacency.indptr.astype(np.int64)
    indices = adjacency.indices.astype(np.int64)
    degree = np.diff(indptr)

    last_change = np.full(n_avalanches * n, _NEVER, dtype=np.int32)
    sizes = np.zeros(n_avalanches, dtype=np.int64)
    truncated = np.zeros(n_avalanches, dtype=bool)
    seeds = generator.integers(0, n, size=n_avalanches)
    act_b = np.arange(n_avalanches, dtype=np.int64)
    act_c = seeds.astype(np.int64)
    chunks: list[tuple[np.ndarray, np.ndarray, int]] = []
    votes = votes_within = 0
    t = 0
    while act_b.size:
        last_change[act_b * n + act_c] = t
        sizes += np.bincount(act_b, minlength=n_avalanches)
        chunks.append((act_b, act_c, t))
        # votes of every changing column to its lateral neighbours
        fan = degree[act_c]
        total = int(fan.sum())
        if total == 0:
            break
        source = np.repeat(np.arange(act_c.size), fan)
        offset = np.arange(total) - np.repeat(np.cumsum(fan) - fan, fan)
        target = indices[np.repeat(indptr[act_c], fan) + offset]
        fired = generator.random(total) < q
        source, target = source[fired], target[fired]
        key = act_b[source] * n + target
        susceptible = (t + 1) - last_change[key].astype(np.int64) > refractory
        key = key[susceptible]
        votes += int(key.size)
        if clusters is not None and key.size:
            votes_within += int(np.count_nonzero(clusters[act_c[source[susceptible]]] == clusters[target[susceptible]]))
        key = np.unique(key)
        nxt_b, nxt_c = key // n, key % n
        # caps: stop avalanches that would go on past the size or duration limit
        stop = (t + 1 >= max_iterations) | ((sizes[nxt_b] >= max_size) & (t + 1 >= min_iterations))
        if stop.any():
            truncated[nxt_b[stop]] = True
            nxt_b, nxt_c = nxt_b[~stop], nxt_c[~stop]
        act_b, act_c = nxt_b, nxt_c
        t += 1

    # events in (step, iteration) order: chunks are iteration-major, sort by avalanche (stable)
    step = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
    column = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, np.int64)
    iteration = np.concatenate([np.full(c[0].size, c[2], dtype=np.int64) for c in chunks]) if chunks else np.zeros(0, np.int64)
    order = np.lexsort((column, iteration, step))
    recorder = dyn.ActivityRecorder(max_iterations=max_iterations, initial_capacity=max(1, int(step.size)))
    _append_sorted(recorder, step[order].astype(np.int32), iteration[order].astype(np.int32),
                   column[order].astype(np.int32), np.zeros(step.size, dtype=np.int32))
    return CascadeRun(
        recorder=recorder, truncated=truncated, seeds=seeds, votes=votes, votes_within=votes_within,
        clusters=clusters, transmission=q, branching_ratio=float(branching_ratio), n_columns=n,
    )


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ExcitableRegion:
    """A region's columns on their lateral graph, in the excitable voting regime.

    Attributes:
        adjacency: ``(n, n)`` symmetric CSR lateral adjacency (bool).
        sample_size: synapses per lateral distal segment.
        threshold: distal threshold (connected synapses onto the source's active cells).
        connected_probability: p, probability a lateral synapse is connected (the coupling knob).
        refractory: iterations a column ignores votes after changing, >= 1.
        clusters: optional (n,) int cluster label per column.
    """

    adjacency: sparse.csr_array
    sample_size: int = 20
    threshold: int = 13
    connected_probability: float = 0.5
    refractory: int = 2
    clusters: np.ndarray | None = None

    def __post_init__(self) -> None:
        vote_transmission(self.connected_probability, self.sample_size, self.threshold)  # validates
        _positive(self.refractory, "refractory")

    @classmethod
    def from_graph(
        cls,
        graph: nx.Graph,
        *,
        sample_size: int = 20,
        threshold: int = 13,
        connected_probability: float = 0.5,
        refractory: int = 2,
        clusters: np.ndarray | None | str = "auto",
    ) -> ExcitableRegion:
        """Build from a networkx lateral graph (nodes ``0..n-1``); ``clusters="auto"`` uses
        :func:`graph_clusters` (``block`` attributes or Louvain), None for no clusters."""
        n = graph.number_of_nodes()
        adjacency = sparse.csr_array(lateral_adjacency(graph, n))
        labels = graph_clusters(graph) if isinstance(clusters, str) and clusters == "auto" else clusters
        if isinstance(labels, str):
            raise ValueError(f"clusters must be 'auto', None or an array of labels, got {clusters!r}")
        return cls(adjacency, int(sample_size), int(threshold), float(connected_probability), int(refractory),
                   None if labels is None else np.asarray(labels, dtype=np.int64))

    @property
    def n_columns(self) -> int:
        """Columns in the region."""
        return int(self.adjacency.shape[0])

    @property
    def degrees(self) -> np.ndarray:
        """(n,) lateral degree of each column."""
        return np.diff(self.adjacency.indptr).astype(np.int64)

    @property
    def transmission(self) -> float:
        """q: probability that one changed vote fires its lateral segment."""
        return vote_transmission(self.connected_probability, self.sample_size, self.threshold)

    @property
    def branching_ratio(self) -> float:
        """Analytic m = q x mean excess degree (tree-like graph, no collisions)."""
        return self.transmission * _offspring_degree(self.degrees, self.refractory)

    def cluster_branching(self) -> tuple[float, float]:
        """Analytic (m_within, m_across): m split by the share of edges inside and across clusters."""
        if self.clusters is None:
            return float("nan"), float("nan")
        coo = self.adjacency.tocoo()
        inside = float(np.mean(self.clusters[coo.row] == self.clusters[coo.col])) if coo.nnz else 0.0
        m = self.branching_ratio
        return m * inside, m * (1.0 - inside)

    def critical_connected_probability(self) -> float:
        """p at which the analytic branching ratio is 1."""
        return connected_probability_for(1.0, self.degrees, self.sample_size, self.threshold, self.refractory)

    def cascades(self, n_avalanches: int, rng: np.random.Generator | int | None = None, **caps: Any) -> CascadeRun:
        """:func:`simulate_cascades` on this region (``caps``: max_size, max_iterations, min_iterations)."""
        return simulate_cascades(
            self.adjacency, self.transmission, n_avalanches, rng, refractory=self.refractory,
            clusters=self.clusters, branching_ratio=self.branching_ratio, **caps,
        )


# ------------------------------------------------------------------------------ analysis
def cascade_avalanches(run: CascadeRun) -> dyn.AvalancheSet:
    """The avalanches of a run (one per perturbation, in order), with profiles.

    The activity series puts each perturbation's settling iterations end to end with one empty
    bin between perturbations (the quiet interval of slow drive, compressed), so that every
    avalanche is exactly one maximal run of non-empty bins; ``truncated`` comes from the caps.
    """
    events = run.recorder.events()
    step = events["step"].astype(np.int64)
    iteration = events["iteration"].astype(np.int64)
    duration = np.zeros(run.n_avalanches, dtype=np.int64)
    np.maximum.at(duration, step, iteration + 1)
    if np.any(duration == 0):
        raise ValueError("every perturbation must have at least one event (its seed)")
    start = np.concatenate(([0], np.cumsum(duration + 1)[:-1]))
    series = np.bincount(start[step] + iteration, minlength=int(start[-1] + duration[-1]))
    found = dyn.avalanches(series)
    if len(found) != run.n_avalanches:  # pragma: no cover - guaranteed by the construction
        raise RuntimeError(f"expected {run.n_avalanches} avalanches, found {len(found)}")
    return dataclasses.replace(found, truncated=run.truncated.copy())


def _ccdf(values: np.ndarray, points: int = 120) -> tuple[list[float], list[float]]:
    """Empirical P(X >= x) at up to ``points`` log-spaced x (for plots)."""
    if values.size == 0:
        return [], []
    u, counts = np.unique(values, return_counts=True)
    survival = np.cumsum(counts[::-1])[::-1] / values.size
    if u.size > points:
        pick = np.unique(np.searchsorted(u, np.geomspace(u[0], u[-1], points)).clip(0, u.size - 1))
        u, survival = u[pick], survival[pick]
    return [float(x) for x in u], [float(y) for y in survival]


def avalanche_statistics(
    run: CascadeRun,
    *,
    k_max: int = 8,
    min_tail_fraction: float = 0.1,
    duration_x_min_floor: int = 1,
    gamma_t_min: int = 2,
    significance: float = 0.1,
) -> dict[str, Any]:
    """Exponents, branching ratios and the preferred size law of a cascade run.

    Args:
        run: a :class:`CascadeRun`.
        k_max: largest lag of multistep regression, over trials = the first ``2 * k_max``
            iterations of every avalanche (simulate with ``min_iterations >= 2 * k_max`` so that
            no avalanche is cut by the size cap inside that window).
        min_tail_fraction: x_min candidates must leave at least this fraction of the complete
            avalanches (and at least 10) in the tail.  Without it the KS scan of a sub-critical
            sample may settle on its last hundred avalanches, where a steep power law and a
            truncated one cannot be told apart; with it the cut-off stays in view.
        duration_x_min_floor: smallest x_min scanned for the duration exponent alpha.
        gamma_t_min: smallest duration in the <S>(T) regression.
        significance: p below which a likelihood-ratio test decides.

    Returns a dict: ``m_analytic``, ``m_pooled``, ``m_MR`` (and its ``m_MR_stderr``), ``tau``,
    ``tau_sigma``, ``tau_x_min``, ``alpha``, ``alpha_x_min``, ``gamma`` (the <S>(T) slope),
    ``gamma_predicted`` ((alpha-1)/(tau-1)), ``preferred``, ``comparisons`` (name -> R, p),
    ``n_avalanches``, ``truncated_fraction``, ``mean_size``, ``max_size``, ``sizes_ccdf`` and
    ``durations_ccdf`` ((x, P(X >= x)) lists); fits that cannot be made are nan / ``"n/a"``.
    Exponents use the complete (untruncated) avalanches; the branching ratios use all.
    """
    if not 0.0 <= min_tail_fraction < 1.0:
        raise ValueError(f"min_tail_fraction must lie in [0, 1), got {min_tail_fraction!r}")
    aval = cascade_avalanches(run)
    complete = ~aval.truncated
    sizes, durations = aval.sizes[complete], aval.durations[complete]
    nan = float("nan")
    out: dict[str, Any] = {
        "m_analytic": run.branching_ratio,
        "transmission": run.transmission,
        "n_avalanches": len(aval),
        "truncated_fraction": float(np.mean(aval.truncated)),
        "mean_size": float(aval.sizes.mean()),
        "max_size": int(aval.sizes.max()),
        "mean_duration": float(aval.durations.mean()),
    }
    out["m_pooled"] = dyn.branching_ratio_pooled(aval)
    window = 2 * k_max
    try:
        mr = dyn.multistep_regression(aval.activity_matrix(window), k_max=k_max)
        out["m_MR"], out["m_MR_stderr"] = float(mr.m), float(mr.stderr)
    except ValueError:
        out["m_MR"] = out["m_MR_stderr"] = nan
    min_tail = max(10, int(math.ceil(min_tail_fraction * sizes.size)))
    row, _, _ = dyn.avalanche_exponents(sizes, durations, min_tail=min_tail,
                                        duration_x_min_floor=duration_x_min_floor, gamma_t_min=gamma_t_min,
                                        significance=significance)
    out.update(row)
    out["sizes_ccdf"] = _ccdf(sizes)
    out["durations_ccdf"] = _ccdf(durations)
    out["size_by_duration"] = mean_size_by_duration(sizes, durations)  # <S>(T), for the report
    return out


def cluster_statistics(run: CascadeRun) -> dict[str, float]:
    """Within- versus across-cluster statistics of a run (empty dict without clusters).

    Returns:
        ``m_within`` / ``m_across``: successful votes per change whose source and target share /
        do not share a cluster (the vote branching ratio split by the kind of edge);
        ``within_seed_cluster``: fraction of all changes inside the perturbed column's cluster;
        ``escape_fraction``: fraction of avalanches that reach another cluster;
        ``clusters_reached``: mean number of clusters an avalanche touches;
        ``seed_cluster_coverage``: mean fraction of the seed cluster's columns that changed at
        least once (how far a cluster "agrees" on the change).
    """
    if run.clusters is None:
        return {}
    events = run.recorder.events()
    step = events["step"].astype(np.int64)
    column = events["column"].astype(np.int64)
    label = run.clusters[column]
    seed_label = run.clusters[run.seeds][step]
    n_changes = max(int(step.size), 1)
    n_clusters = int(run.clusters.max()) + 1
    pairs = np.unique(step * n_clusters + label)
    reached = np.bincount(pairs // n_clusters, minlength=run.n_avalanches)
    in_seed = label == seed_label
    distinct = np.unique(step[in_seed] * run.n_columns + column[in_seed])
    covered = np.bincount(distinct // run.n_columns, minlength=run.n_avalanches)
    cluster_size = np.bincount(run.clusters, minlength=n_clusters)
    return {
        "m_within": run.votes_within / n_changes,
        "m_across": (run.votes - run.votes_within) / n_changes,
        "within_seed_cluster": float(np.mean(in_seed)),
        "escape_fraction": float(np.mean(reached > 1)),
        "clusters_reached": float(reached.mean()),
        "seed_cluster_coverage": float(np.mean(covered / cluster_size[run.clusters[run.seeds]])),
    }


# ------------------------------------------------------------------------------ experiment
class CriticalSweepParams(Params):
    """``experiment.params`` of ``critical_sweep``.

    The coupling knob is ``connected_probability`` (sweep it with ``experiment.sweep.parameter:
    experiment.params.connected_probability``); the lateral segment (``sample_size``,
    ``threshold``) comes from the first region's ``column.L23.distal`` and the graph from its
    ``lateral`` block, so the distal threshold or the graph can be swept instead.
    """

    model_config = ConfigDict(extra="forbid")

    connected_probability: float = Field(0.55, ge=0.0, le=1.0)
    refractory_iterations: PositiveInt = 2
    n_avalanches: PositiveInt = 5000
    max_size: PositiveInt | None = None  # size cap (changes); default max_size_per_column x columns
    max_size_per_column: PositiveInt = 2
    max_iterations: PositiveInt = 1000
    k_max: PositiveInt = 8
    min_tail_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    duration_x_min_floor: PositiveInt = 1
    gamma_t_min: PositiveInt = 2
    significance: float = Field(0.1, gt=0.0, lt=1.0)
    clusters: bool = True  # within/across-cluster statistics (block attribute or Louvain)
    workers: PositiveInt = 1  # sweep points in parallel (run_trials)


def _region_model(config: Config, params: CriticalSweepParams, graph_seed: int) -> ExcitableRegion:
    spec = config.regions[0]
    graph = build(config.with_values({"seed": int(graph_seed) % (2**31)})).lateral[spec.name]
    distal = spec.column.L23.distal
    clusters: Any = "auto" if params.clusters else None
    return ExcitableRegion.from_graph(
        graph, sample_size=distal.sample_size, threshold=distal.threshold,
        connected_probability=params.connected_probability, refractory=params.refractory_iterations,
        clusters=clusters,
    )


def sweep_point(task: tuple[Config, Any, int, int]) -> dict[str, Any]:
    """One sweep point ``(config, swept value, graph seed, dynamics seed)``: simulate and analyse.

    Returns a dict with the row values, ``sizes_ccdf`` / ``durations_ccdf`` and timing.
    Module-level, so it pickles to worker processes.  All points of one trial share the graph
    seed (one lateral graph per trial); each point has its own dynamics seed.
    """
    config, value, graph_seed, seed = task
    params = CriticalSweepParams.model_validate(config.experiment.params)
    window = 2 * params.k_max
    if params.max_iterations <= window:
        raise ValueError(
            f"experiment.params.max_iterations ({params.max_iterations}) must exceed the multistep "
            f"regression window 2 * k_max = {window}"
        )
    t0 = time.perf_counter()
    model = _region_model(config, params, graph_seed)
    run = model.cascades(
        params.n_avalanches, np.random.default_rng(seed),
        max_size=params.max_size if params.max_size is not None else params.max_size_per_column * model.n_columns,
        max_iterations=params.max_iterations, min_iterations=window,
    )
    result = avalanche_statistics(
        run, k_max=params.k_max, min_tail_fraction=params.min_tail_fraction, duration_x_min_floor=params.duration_x_min_floor,
        gamma_t_min=params.gamma_t_min, significance=params.significance,
    )
    result.update(cluster_statistics(run))
    if model.clusters is not None:
        result["m_within_analytic"], result["m_across_analytic"] = model.cluster_branching()
        result["n_clusters"] = int(np.unique(model.clusters).size)
    result["value"] = value
    result["connected_probability"] = params.connected_probability
    result["p_critical_analytic"] = _critical_or_nan(model)
    result["seconds"] = time.perf_counter() - t0
    return result


def _critical_or_nan(model: ExcitableRegion) -> float:
    try:
        return model.critical_connected_probability()
    except ValueError:
        return float("nan")


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _round(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return round(value, digits)
    return value


_TABLE_KEYS = ("m_analytic", "m_pooled", "m_MR", "tau", "alpha", "gamma", "preferred", "n_avalanches",
               "truncated_fraction", "m_within", "m_across", "escape_fraction")


@register_builder("critical_sweep", "experiment", params=CriticalSweepParams,
                  uses=Uses(keys=frozenset({"region", "sweep"}), worlds=frozenset(),
                            layers=frozenset({"L6", "L4", "L23", "L1"}), required=frozenset({"L23"})))
def run_critical_sweep(config: Config, *, seed: int, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Sweep the coupling of an excitable region; per value the branching ratio, tau, alpha,
    gamma and the preferred size distribution (one table row each), plus plot series.

    The sweep points (``experiment.sweep``; the config itself when there is none) run through
    :func:`regions.parallel.run_trials` with ``experiment.params.workers`` processes, each with
    its own seed from ``trial_seeds(seed, n_points)``.
    """
    points = config.sweep_configs()
    params = CriticalSweepParams.model_validate(config.experiment.params)
    for value, point in points:  # fail on a bad swept value before any work
        try:
            CriticalSweepParams.model_validate(point.experiment.params)
        except ValueError as exc:
            raise ValueError(f"experiment.sweep value {value!r}: {exc}") from None
    seeds = trial_seeds(int(seed) % (2**63), len(points))
    tasks = [(point, value, int(seed), s) for (value, point), s in zip(points, seeds)]
    workers = min(params.workers, len(tasks))
    results = run_trials(sweep_point, tasks, workers=workers, progress=progress if progress.enabled else None)
    parameter = config.experiment.sweep.parameter if config.experiment.sweep else "experiment.params.connected_probability"
    values = [r["value"] if r["value"] is not None else r["connected_probability"] for r in results]
    table = []
    for value, r in zip(values, results):
        row = {"value": value}
        row.update({k: _round(r[k]) for k in _TABLE_KEYS if k in r})
        table.append(row)
    series: dict[str, Any] = {}
    numeric = all(isinstance(v, (int, float)) for v in values)
    if numeric:
        for key, label in (("m_pooled", "branching ratio (pooled)"), ("m_analytic", "branching ratio (analytic)"),
                           ("tau", "size exponent tau")):
            series[f"{key}_vs_coupling"] = {"x": values, "y": [r[key] for r in results],
                                            "xlabel": parameter, "ylabel": label}
    for value, r in zip(values, results):
        for kind, name in (("sizes_ccdf", "size"), ("durations_ccdf", "duration")):
            x, y = r[kind]
            series[f"{name}_ccdf_{_label(value)}"] = {"x": x, "y": y, "xlabel": f"avalanche {name}",
                                                     "ylabel": "P(X >= x)", "loglog": True}
    m = np.array([r["m_pooled"] for r in results])
    nearest = int(np.argmin(np.abs(m - 1.0)))
    metrics: dict[str, Any] = {
        "parameter": parameter,
        "columns": int(config.regions[0].columns),
        "p_critical_analytic": results[0]["p_critical_analytic"],
        "critical_value": values[nearest],
        "m_at_critical": float(m[nearest]),
        "tau_at_critical": results[nearest]["tau"],
        "alpha_at_critical": results[nearest]["alpha"],
        "preferred_at_critical": results[nearest]["preferred"],
        "sweep_seconds": float(sum(r["seconds"] for r in results)),
        "table": table,
        "series": series,
        "points": [{k: v for k, v in r.items() if not k.endswith("_ccdf")} for r in results],
    }
    return metrics


# the learned network's own criticality protocol lives next door; importing it registers it
from . import criticality as _criticality  # noqa: E402,F401
