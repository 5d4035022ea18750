"""Criticality of the learned network: ongoing activity, avalanches and cluster consensus.

The ``learned_criticality`` protocol measures the network itself (not the stand-in cascade model
of :mod:`regions.sweeps`).  A region of many columns on a sparse or clustered lateral graph
learns feature objects (2017 protocol, one exposure each), and then senses a *stream*:

* no reset between sensations: every sensation starts from the state the last one left;
* slow drive: at each sensation ``movers`` columns move their sensor to another (location,
  feature) pair of the object under them (the other columns keep their input);
* with probability ``object_change_probability`` per sensation the object under the sensors
  changes (a column senses the new object only once it moves);
* every moved sensor's SDRs carry ``experiment.noise`` (exact-count bit moves).

The knob (continuous): ``connected_probability``.  After learning, each learned *lateral* distal
synapse of L2/3 (presynaptic cell in another column) stays connected with this probability; the
others are depressed below the connected permanence (drawn once per network, from the trial seed;
a column's own context synapses are kept).  It is the knob of the stand-in cascade model
(``critical_sweep``'s ``experiment.params.connected_probability``), applied to learned synapses.

A column whose L2/3 hypothesis changes changes the votes its neighbours receive, so the change
can spread over the settling iterations of the sensation.  Every settling iteration is a time bin;
per bin the protocol counts L2/3 and L4 *events* (cells that turn on), the columns whose L2/3
changed (per cluster), and each cluster's agreement (at least ``agreement_fraction`` of its
columns' L2/3 hold one learned object: overlap >= ``overlap_threshold`` with that object's code
and the best of all objects).
A silent bin separates sensations, so an avalanche (maximal run of bins with L2/3 events)
lives inside one sensation; it is a *runaway* when the sensation's settling ended in a cycle or
hit ``L23.settle_max_iterations`` instead of a fixed point.

Per run: the branching ratio by multistep regression (each avalanche's first ``2 k_max`` bins one
trial; with a 95 % interval) and pooled (sum A_t+1 / sum A_t over complete avalanches),
tau / alpha (discrete MLE, x_min by KS), gamma from ``<S>(T)`` and from (alpha-1)/(tau-1), the
preferred size law against lognormal / exponential / truncated power law, the runaway fraction,
time to consensus within and across clusters, and the test of "an avalanche fires when a
cluster agrees" (:func:`agreement_onset_test`) against shuffled and time-shifted controls.

The theory line: ``m_predicted`` is the analytic branching ratio of the excitable cascade model
(:func:`regions.sweeps.vote_transmission` x the mean excess degree of the lateral graph) with the
distal sample size and threshold of the region and ``p`` the fraction of learned lateral synapses
that are connected; it is printed beside the measured ``m`` (the model is an annealed
approximation of the learned network; see :mod:`regions.sweeps`).  The two move apart with the
knob: the model's m falls with ``connected_probability`` (6.79 at 1.0, 4.63 at 0.4 on the shipped
region), the measured m rises (0.63 at 1.0, 1.00 at 0.4; ``benchmarks/criticality.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from typing import Annotated

from pydantic import ConfigDict, Field
from pydantic.types import NonNegativeFloat, PositiveInt
from scipy import sparse

from . import dynamics as dyn
from .builder import ProgressFactory, Uses, register_builder
from .figures import ccdf, mean_size_by_duration
from .config import Fraction, Params
from .experiments import learn_objects
from .network import Network, store_codes
from .recognition import code_overlaps, held_objects
from .region import Region
from .sweeps import _offspring_degree, graph_clusters, vote_transmission

__all__ = [
    "LearnedCriticalityParams",
    "StreamActivity",
    "stream_activity",
    "agreement_onset_test",
    "stream_statistics",
    "run_learned_criticality",
    "disconnect_lateral_synapses",
    "predicted_branching_ratio",
]


class LearnedCriticalityParams(Params):
    """``experiment.params`` of ``learned_criticality`` (see the module docstring).

    Attributes:
        learn_repeats: steps each (location, feature) pair is held while learning.
        stream_sensations: sensations in the stream (the first, which settles from rest, is
            not analysed).
        movers: columns whose sensor moves at each sensation (the drive).
        object_change_probability: chance per sensation that the object under the sensors changes.
        overlap_threshold: L2/3 overlap (cells) with a learned code for a column to hold that object.
        agreement_fraction: a cluster agrees when at least this fraction of its columns hold one
            object (1.0: every column).
        k_max: largest lag of the multistep regression.
        min_tail_fraction: x_min candidates leave at least this fraction of the avalanches in the tail.
        agreement_window: bins after a cluster-agreement event in which an onset in that cluster counts.
        controls: shuffled and time-shifted control draws for the agreement test.
        min_agreement_events: fewer agreement events than this give the verdict "too few events"
            (the test is still computed and printed).
        connected_probability: the knob -- each learned lateral distal synapse stays connected with
            this probability after learning (:func:`disconnect_lateral_synapses`); 1.0 keeps the
            learned network as it is.
    """

    model_config = ConfigDict(extra="forbid")

    learn_repeats: PositiveInt = 2
    stream_sensations: PositiveInt = 2000
    movers: PositiveInt = 2
    object_change_probability: Fraction = 0.05
    overlap_threshold: PositiveInt = 5
    agreement_fraction: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    k_max: PositiveInt = 4
    min_tail_fraction: NonNegativeFloat = 0.1
    agreement_window: PositiveInt = 3
    controls: PositiveInt = 200
    min_agreement_events: PositiveInt = 20
    connected_probability: Fraction = 1.0


@dataclass(frozen=True)
class StreamActivity:
    """Per-bin activity of a stream (one bin per settling iteration, a silent bin between sensations).

    Attributes:
        l23_events: (n_bins,) int64, L2/3 cells that turned on in the bin.
        l4_events: (n_bins,) int64, L4 cells that turned on.
        changed: (n_bins, n_clusters) int64, columns per cluster whose L2/3 changed.
        agreed: (n_bins, n_clusters) bool, cluster holds one learned object in every column.
        sensation: (n_bins,) int64, the sensation a bin belongs to (-1 for separators).
        settle_kinds: (n_sensations,) str, how each sensation's settling ended.
        clusters: (n_columns,) int64 cluster label of each column.
    """

    l23_events: np.ndarray
    l4_events: np.ndarray
    changed: np.ndarray
    agreed: np.ndarray
    sensation: np.ndarray
    settle_kinds: np.ndarray
    clusters: np.ndarray


class _BinRecorder:
    """observe(iteration, region) hook: counts events of one settling iteration into bins."""

    def __init__(self, region: Region, clusters: np.ndarray, codes: sparse.csr_array, overlap_threshold: int,
                 agreement_fraction: float = 1.0) -> None:
        self.clusters = clusters
        self.n_clusters = int(clusters.max()) + 1
        self.cluster_size = np.bincount(clusters, minlength=self.n_clusters)
        self.cells = region.l23_params.cells
        self.n_columns = region.n_columns
        self.codes = codes  # (n_columns * cells, n_objects) membership of each L2/3 cell in each code
        self.overlap_threshold = int(overlap_threshold)
        self.agreement_fraction = float(agreement_fraction)
        self.n_objects = codes.shape[1]
        self.prev_l23 = np.zeros(0, dtype=np.int64)
        self.prev_l4 = np.zeros(0, dtype=np.int64)
        self.l23: list[int] = []
        self.l4: list[int] = []
        self.changed: list[np.ndarray] = []
        self.agreed: list[np.ndarray] = []
        self.sensation: list[int] = []
        self.current = -1

    def __call__(self, iteration: int, region: Region) -> None:
        l23 = region.L23.active_cells.astype(np.int64)
        l4 = region.L4.active_cells.astype(np.int64)
        on23 = np.setdiff1d(l23, self.prev_l23, assume_unique=True)
        off23 = np.setdiff1d(self.prev_l23, l23, assume_unique=True)
        self.l23.append(int(on23.size))
        self.l4.append(int(np.setdiff1d(l4, self.prev_l4, assume_unique=True).size))
        moved_columns = np.unique(np.concatenate([on23, off23]) // self.cells)
        self.changed.append(np.bincount(self.clusters[moved_columns], minlength=self.n_clusters))
        self.agreed.append(self._agreement(l23))
        self.sensation.append(self.current)
        self.prev_l23, self.prev_l4 = l23, l4

    def separator(self) -> None:
        self.l23.append(0)
        self.l4.append(0)
        self.changed.append(np.zeros(self.n_clusters, dtype=np.int64))
        self.agreed.append(self.agreed[-1] if self.agreed else np.zeros(self.n_clusters, dtype=bool))
        self.sensation.append(-1)

    def _agreement(self, l23: np.ndarray) -> np.ndarray:
        # the object each column holds (-1: none), from its overlaps with every object's code
        held = held_objects(code_overlaps(l23, self.n_columns, self.cells, self.codes), self.overlap_threshold)
        # votes[k, o]: columns of cluster k holding object o (held = -1 counts for none)
        holding = held >= 0
        votes = np.zeros((self.n_clusters, self.n_objects), dtype=np.int64)
        np.add.at(votes, (self.clusters[holding], held[holding]), 1)
        return votes.max(axis=1) >= np.ceil(self.agreement_fraction * self.cluster_size - 1e-9)

    def result(self, settle_kinds: list[str]) -> StreamActivity:
        return StreamActivity(
            l23_events=np.asarray(self.l23, dtype=np.int64),
            l4_events=np.asarray(self.l4, dtype=np.int64),
            changed=np.asarray(self.changed, dtype=np.int64).reshape(-1, self.n_clusters),
            agreed=np.asarray(self.agreed, dtype=bool).reshape(-1, self.n_clusters),
            sensation=np.asarray(self.sensation, dtype=np.int64),
            settle_kinds=np.asarray(settle_kinds),
            clusters=self.clusters,
        )


def _code_membership(codes: list[sparse.csr_array], n_columns: int, cells: int) -> sparse.csr_array:
    """(n_columns * cells, n_objects) 0/1: cell (flat) belongs to object o's learned code."""
    rows, cols = [], []
    for o, code in enumerate(codes):
        coo = sparse.coo_array(code)
        rows.append(coo.row.astype(np.int64) * cells + coo.col.astype(np.int64))
        cols.append(np.full(coo.nnz, o, dtype=np.int64))
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_array((np.ones(r.size), (r, c)), shape=(n_columns * cells, len(codes)))


def stream_activity(net: Network, region_name: str, codes: list[sparse.csr_array], params: LearnedCriticalityParams,
                    rng: np.random.Generator, progress: ProgressFactory | None = None) -> StreamActivity:
    """Sense the stream (module docstring) on a learned region; per-bin activity.

    ``codes``: each learned object's L2/3 code (CSR ``(columns, cells)``).  A ``recording``
    block of the config records the region's layers at every settling iteration as well.
    """
    region: Region = net.regions[region_name]
    world = net.world
    n, pairs = region.n_columns, world.features_per_object
    if params.movers > n:
        raise ValueError(f"experiment.params.movers ({params.movers}) exceeds the region's {n} columns")
    if params.overlap_threshold > region.l23_params.sdr_size:
        raise ValueError(f"experiment.params.overlap_threshold ({params.overlap_threshold}) exceeds "
                         f"L23.sdr_size ({region.l23_params.sdr_size}): no column could hold an object")
    clusters = graph_clusters(region.lateral_graph, seed=0)
    clusters = np.zeros(n, dtype=np.int64) if clusters is None else clusters
    recorder = _BinRecorder(region, clusters, _code_membership(codes, n, region.l23_params.cells),
                            params.overlap_threshold, params.agreement_fraction)
    noise = net.config.experiment.noise
    n_objects = len(codes)
    current = int(rng.integers(n_objects))
    column_object = np.full(n, current, dtype=np.int64)
    column_pair = rng.integers(pairs, size=n)
    f, loc = world.sense(current, column_pair, feature_noise=noise.feature, location_noise=noise.location, rng=rng)
    # every column's current SDRs as fixed-width rows (an SDR keeps its size under noise)
    features = f.indices.reshape(n, -1).astype(np.int64)
    locations = loc.indices.reshape(n, -1).astype(np.int64)
    region.reset()
    stepped = net.stepped(region_name)  # sensing through the network's loop (recorded when configured)
    kinds: list[str] = []
    bar = (progress or ProgressFactory(False))(total=params.stream_sensations, desc="stream", unit="sens")
    for s in range(params.stream_sensations):
        if s > 0:
            if n_objects > 1 and rng.random() < params.object_change_probability:
                current = int((current + 1 + rng.integers(n_objects - 1)) % n_objects)
            movers = rng.choice(n, size=params.movers, replace=False)
            column_object[movers] = current
            column_pair[movers] = rng.integers(pairs, size=movers.size)
            f, loc = world.sense(current, column_pair[movers], feature_noise=noise.feature,
                                 location_noise=noise.location, rng=rng)
            features[movers] = f.indices.reshape(movers.size, -1)
            locations[movers] = loc.indices.reshape(movers.size, -1)
        recorder.current = s
        res = stepped.infer_sensation(_rows(features), _rows(locations), observe=recorder)
        kinds.append(res.settle.kind)
        recorder.separator()
        bar.update(1)
    bar.close()
    return recorder.result(kinds)


def _rows(idx: np.ndarray) -> sparse.csr_array:
    """Fixed-width index rows ``(n, w)`` (sorted within a row) as a CSR batch, one row per column."""
    n, w = idx.shape
    return sparse.csr_array((np.ones(idx.size, dtype=bool), idx.reshape(-1), np.arange(0, n * w + 1, w)),
                            shape=(n, int(idx.max()) + 1 if idx.size else 0))


def _onsets_by_cluster(activity: StreamActivity, aval: dyn.AvalancheSet) -> tuple[np.ndarray, np.ndarray]:
    """(onset bin, cluster) of every avalanche: the cluster with the most changed columns in its first bin."""
    first = aval.onsets
    return first, np.argmax(activity.changed[first], axis=1)


def agreement_onset_test(activity: StreamActivity, aval: dyn.AvalancheSet, window: int, controls: int,
                         rng: np.random.Generator, min_events: int = 1) -> dict[str, Any]:
    """Do avalanches start in a cluster right after it reaches agreement?

    Events: "cluster k reaches agreement" (its agreement flag turns on at a bin) and "avalanche
    starts in cluster k" (:func:`_onsets_by_cluster`).  Statistic: the fraction of agreement
    events followed within ``window`` bins by an onset in the same cluster.  Controls: the
    agreement times of each cluster (a) shuffled uniformly over the stream's bins and (b)
    circularly shifted by a random offset (keeps their spacing); p = (1 + #controls >= observed)
    / (1 + controls), one-sided; ``p_*_lower`` the other side (#controls <= observed).  Verdict
    ``"supported"`` when both p < 0.05, ``"not supported: onsets rarer after agreement"`` when both
    lower p < 0.05, ``"not supported"`` otherwise, ``"too few events"`` with fewer than ``min_events`` agreement events (the numbers
    are still returned).  ``shuffled_sd`` / ``shifted_sd``: the controls' spread, the smallest
    excess of the observed rate the test can resolve is about twice it.
    """
    n_bins, n_clusters = activity.agreed.shape
    starts = np.diff(activity.agreed.astype(np.int8), axis=0, prepend=np.zeros((1, n_clusters), np.int8)) == 1
    onset_bins, onset_clusters = _onsets_by_cluster(activity, aval)
    onset_mask = np.zeros((n_bins + window + 1, n_clusters), dtype=bool)
    onset_mask[onset_bins, onset_clusters] = True
    # followed[t, k]: an onset in cluster k within bins t+1 .. t+window
    cumulative = np.concatenate([np.zeros((1, n_clusters), np.int64), np.cumsum(onset_mask, axis=0)])

    last = cumulative.shape[0] - 1

    def statistic(times: list[np.ndarray]) -> float:
        hits, total = 0, 0
        for k, t in enumerate(times):
            after = cumulative[np.minimum(t + window + 1, last), k] - cumulative[np.minimum(t + 1, last), k]
            hits += int(np.count_nonzero(after > 0))
            total += t.size
        return hits / total if total else float("nan")

    observed_times = [np.flatnonzero(starts[:, k]) for k in range(n_clusters)]
    observed = statistic(observed_times)
    n_events = int(sum(t.size for t in observed_times))
    shuffled, shifted = np.empty(controls), np.empty(controls)
    for i in range(controls):
        shuffled[i] = statistic([np.sort(rng.choice(n_bins, size=t.size, replace=False)) for t in observed_times])
        shifted[i] = statistic([np.sort((t + rng.integers(1, n_bins)) % n_bins) for t in observed_times])
    if n_events == 0 or not np.isfinite(observed):
        nan = float("nan")
        return {"agreement_events": n_events, "onsets": int(onset_bins.size), "observed": nan,
                "shuffled_mean": nan, "shifted_mean": nan, "shuffled_sd": nan, "shifted_sd": nan,
                "p_shuffled": nan, "p_shifted": nan, "verdict": "no agreement events"}
    p_shuffled = float((1 + np.count_nonzero(shuffled >= observed)) / (1 + controls))
    p_shifted = float((1 + np.count_nonzero(shifted >= observed)) / (1 + controls))
    p_shuffled_lower = float((1 + np.count_nonzero(shuffled <= observed)) / (1 + controls))
    p_shifted_lower = float((1 + np.count_nonzero(shifted <= observed)) / (1 + controls))
    if max(p_shuffled, p_shifted) < 0.05:
        verdict = "supported"
    elif max(p_shuffled_lower, p_shifted_lower) < 0.05:
        verdict = "not supported: onsets rarer after agreement"
    else:
        verdict = "not supported"
    if n_events < min_events:
        verdict = "too few events"
    return {"agreement_events": n_events, "onsets": int(onset_bins.size), "observed": observed,
            "shuffled_mean": float(np.mean(shuffled)), "shifted_mean": float(np.mean(shifted)),
            "shuffled_sd": float(np.std(shuffled)), "shifted_sd": float(np.std(shifted)),
            "p_shuffled": p_shuffled, "p_shifted": p_shifted, "p_shuffled_lower": p_shuffled_lower,
            "p_shifted_lower": p_shifted_lower, "verdict": verdict}


def _consensus_times(activity: StreamActivity) -> tuple[float, float]:
    """Mean bins from a sensation's first bin until its clusters agree (within) / all agree (across)."""
    within, across = [], []
    sens = activity.sensation
    valid = sens >= 0
    boundaries = np.flatnonzero(np.diff(np.concatenate(([-2], sens))) != 0)
    for start in boundaries:
        if not valid[start]:
            continue
        stop = start
        while stop < sens.size and sens[stop] == sens[start]:
            stop += 1
        agreed = activity.agreed[start:stop]
        for k in range(agreed.shape[1]):
            hit = np.flatnonzero(agreed[:, k])
            if hit.size:
                within.append(hit[0] + 1)
        every = np.flatnonzero(agreed.all(axis=1))
        if every.size:
            across.append(every[0] + 1)
    nan = float("nan")
    return (float(np.mean(within)) if within else nan, float(np.mean(across)) if across else nan)


def stream_statistics(activity: StreamActivity, params: LearnedCriticalityParams, rng: np.random.Generator,
                      *, significance: float = 0.1) -> dict[str, Any]:
    """Avalanche statistics, branching ratio, consensus and the agreement test of a stream."""
    nan = float("nan")
    keep = activity.sensation != 0  # the first sensation settles from rest: not part of the stream
    counts = np.where(keep, activity.l23_events, 0)
    aval = dyn.avalanches(counts)
    owner = activity.sensation[aval.onsets]
    runaway_sensation = activity.settle_kinds != "fixed_point"
    truncated = runaway_sensation[owner]
    out: dict[str, Any] = {
        "n_bins": int(counts.size),
        "n_avalanches": len(aval),
        "runaway_fraction": float(np.mean(truncated)) if len(aval) else nan,
        "mean_size": float(aval.sizes.mean()) if len(aval) else nan,
        "max_size": int(aval.sizes.max()) if len(aval) else 0,
        "max_duration": int(aval.durations.max()) if len(aval) else 0,
        "l4_events": int(activity.l4_events[keep].sum()),
        "l23_events": int(counts.sum()),
    }
    try:
        if not len(aval):
            raise ValueError("no avalanches")
        # trial-separated: each avalanche is one trial of the process started by its drive
        mr = dyn.multistep_regression(aval.activity_matrix(2 * params.k_max), k_max=params.k_max)
        out.update(m=float(mr.m), m_stderr=float(mr.stderr),
                   m_ci=[float(mr.m - 1.96 * mr.stderr), float(mr.m + 1.96 * mr.stderr)])
    except (ValueError, RuntimeError):
        out.update(m=nan, m_stderr=nan, m_ci=[nan, nan])
    complete = aval.select(~truncated) if len(aval) else aval
    sizes, durations = complete.sizes, complete.durations
    out["m_pooled"] = dyn.branching_ratio_pooled(complete) if len(complete) else nan
    min_tail = max(10, int(np.ceil(params.min_tail_fraction * max(sizes.size, 1))))
    row, _, _ = dyn.avalanche_exponents(sizes, durations, min_tail=min_tail, gamma_t_min=2,
                                        significance=significance)
    out.update(row)
    out["sizes_ccdf"], out["durations_ccdf"] = ccdf(sizes), ccdf(durations)  # for the report
    out["size_by_duration"] = mean_size_by_duration(sizes, durations)
    within, across = _consensus_times(activity)
    out["consensus_bins_within_cluster"], out["consensus_bins_across_clusters"] = within, across
    out["agreement_test"] = (agreement_onset_test(activity, aval, params.agreement_window, params.controls, rng,
                                                  params.min_agreement_events)
                             if len(aval) else {"verdict": "no avalanches"})
    return out


def _lateral_synapses(region: Region) -> tuple[Any, np.ndarray]:
    """The L2/3 distal store's live synapses and a mask of the lateral ones (presynaptic cell in
    another column than the segment's cell)."""
    store = region.L23.distal
    syn = store.live_synapses()
    cells = region.l23_params.cells
    lateral = store.segment_cell[syn.segment].astype(np.int64) // cells != syn.presynaptic // cells
    return syn, lateral


def disconnect_lateral_synapses(region: Region, probability: float, rng: np.random.Generator) -> int:
    """Keep each connected lateral L2/3 distal synapse connected with ``probability``; depress the
    others to half the connected permanence (removed where that permanence is 0).  Returns the
    number disconnected.  The column's own context synapses are untouched."""
    if probability >= 1.0:
        return 0
    store = region.L23.distal
    syn, lateral = _lateral_synapses(region)
    threshold = float(store.connected_threshold)
    candidates = lateral & (syn.permanence >= threshold)
    drop = candidates & (rng.random(lateral.size) >= probability)
    slots = syn.slots[drop]
    if threshold > 0.0:
        store.update_permanences(slots, np.float32(threshold / 2.0) - syn.permanence[drop], stamp=False)
    else:
        store.remove_synapses(slots)
    return int(slots.size)


def predicted_branching_ratio(region: Region) -> tuple[float, float]:
    """(m_predicted, p): the excitable model's m = q(p) x mean excess degree for this region -- the
    theory line, not a measurement.

    ``p`` is the fraction of the region's learned *lateral* L2/3 distal synapses at or above the
    connected permanence (with the knob, ``connected_probability`` of them); q(p) =
    P[Binomial(distal sample size, p) >= distal threshold] (:func:`regions.sweeps.vote_transmission`);
    refractoriness 2 (inertia holds a changed code).
    """
    syn, lateral = _lateral_synapses(region)
    permanence = np.asarray(syn.permanence[lateral], dtype=np.float64)
    p = float(np.mean(permanence >= region.L23.distal.connected_threshold)) if permanence.size else 0.0
    params = region.l23_params
    degrees = region.adjacency.sum(axis=1)
    q = vote_transmission(p, params.distal_sample_size, min(params.distal_threshold, params.distal_sample_size))
    return q * _offspring_degree(np.asarray(degrees), 2), p


def _check_params(p: LearnedCriticalityParams, config: Any) -> None:
    """Refuse params the region cannot honour, naming the key, before any learning."""
    spec = config.regions[0]
    if p.movers > spec.columns:
        raise ValueError(f"experiment.params.movers ({p.movers}) exceeds the {spec.columns} columns of region "
                         f"{spec.name!r}")
    if p.overlap_threshold > spec.column.L23.sdr_size:
        raise ValueError(f"experiment.params.overlap_threshold ({p.overlap_threshold}) exceeds "
                         f"regions[0].column.L23.sdr_size ({spec.column.L23.sdr_size}): no column could hold an object")


def measure_learned_criticality(net: Network, progress: ProgressFactory | None = None) -> dict[str, Any]:
    """Learn objects into ``net``, sense the stream, and measure (one point of a sweep)."""
    config = net.config
    p = LearnedCriticalityParams.model_validate(config.experiment.params)
    name = config.regions[0].name
    _check_params(p, config)
    t0 = time.perf_counter()
    objects = np.arange(config.experiment.n_objects)
    codes, _ = learn_objects(net.stepped(name), net.world, objects, p.learn_repeats, progress)
    store_codes(net, "object_codes", codes)
    t_learn = time.perf_counter() - t0
    region = net.regions[name]
    disconnected = disconnect_lateral_synapses(region, p.connected_probability,
                                               np.random.default_rng([int(net.trial_seed) % 2**63, 2]))
    rng = np.random.default_rng([int(net.trial_seed) % 2**63, 1])
    t0 = time.perf_counter()
    activity = stream_activity(net, name, codes, p, rng, progress)
    t_stream = time.perf_counter() - t0
    stats = stream_statistics(activity, p, rng)
    m_predicted, p_connected = predicted_branching_ratio(region)
    return {
        "columns": region.n_columns,
        "clusters": int(activity.clusters.max()) + 1,
        "distal_threshold": int(region.l23_params.distal_threshold),
        "m_predicted": m_predicted,
        "connected_fraction": p_connected,
        "disconnected_synapses": disconnected,
        "learn_time_s": t_learn,
        "stream_time_s": t_stream,
        "events_per_sensation": float(stats["l23_events"]) / max(p.stream_sensations - 1, 1),
        **stats,
    }


_ROW_KEYS = ("m", "m_ci", "m_pooled", "m_predicted", "tau", "alpha", "gamma", "gamma_predicted", "preferred",
             "runaway_fraction", "n_avalanches", "events_per_sensation", "consensus_bins_within_cluster",
             "consensus_bins_across_clusters")


def _row(value: Any, metrics: dict[str, Any]) -> dict[str, Any]:
    test = metrics["agreement_test"]
    row = {"value": value, **{k: metrics[k] for k in _ROW_KEYS}}
    nan = float("nan")
    row.update(agreement_events=test.get("agreement_events", 0), agreement_observed=test.get("observed", nan),
               agreement_shuffled_mean=test.get("shuffled_mean", nan),
               agreement_shifted_mean=test.get("shifted_mean", nan),
               agreement_p_shuffled=test.get("p_shuffled", nan),
               agreement_p_shifted=test.get("p_shifted", nan), agreement_verdict=test["verdict"])
    return row


@register_builder("learned_criticality", "experiment", params=LearnedCriticalityParams, protocol=True,
                  uses=Uses(keys=frozenset({"n_objects", "n_features", "n_locations", "features_per_object",
                                            "noise", "world", "region", "recording", "sweep"}),
                            layers=frozenset({"L6", "L4", "L23"})))
def run_learned_criticality(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn objects, sense a stream, measure avalanches and consensus (module docstring).

    Metrics: ``m`` (multistep regression, ``m_ci`` its 95 % interval), ``m_pooled``,
    ``m_predicted`` (the analytic cascade model: the theory line), tau, alpha, gamma (both
    routes), the preferred size law, the runaway fraction, consensus times and the
    cluster-agreement test.  With ``experiment.sweep`` every value is a fresh network built for
    this trial's seed (the knob may change what is built), one table row each; the headline is the
    value whose ``m`` is nearest 1.
    """
    config = net.config
    if config.experiment.sweep is None:
        return measure_learned_criticality(net, progress)
    rows = []
    for value, point in config.sweep_configs():
        rows.append(_row(value, measure_learned_criticality(Network(point, trial_seed=net.trial_seed), progress)))
    finite = [r for r in rows if np.isfinite(r["m"])]
    nearest = min(finite, key=lambda r: abs(r["m"] - 1.0)) if finite else rows[0]
    return {
        "knob": config.experiment.sweep.parameter,
        "value_nearest_critical": nearest["value"],
        "m_nearest_critical": nearest["m"],
        "tau_nearest_critical": nearest["tau"],
        "alpha_nearest_critical": nearest["alpha"],
        "runaway_fraction_nearest_critical": nearest["runaway_fraction"],
        "table": rows,
    }
