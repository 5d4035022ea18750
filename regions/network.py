"""The network: regions of columns, the connections between their layers, the world, one step.

A :class:`Network` is built from a validated :class:`~regions.config.Config` (see
:func:`regions.builder.build`) and is the only runtime model every experiment runs on: an
experiment is a *protocol* (registered in category ``"protocol"``) that drives
:meth:`Network.step` and measures; it never builds a network of its own.  The learned state stays
in the network after :meth:`Network.run`, so ``net.save(path)`` writes the trained model and
:func:`regions.builder.load_network` restores it for evaluation without relearning.

Connections (``config.connections``):

* ``feedforward`` (source L2/3 or L5 -> target L4): the target senses the **projection** of its
  sources' current activity -- a fixed random sparse binary matrix from the sources' flat cells
  (all columns of all sources, concatenated) to the target's L4 minicolumns, each target
  minicolumn sampling ``fan_in`` source cells, then k-winners (``L4.active_minicolumns`` per
  target column; ties broken by a fixed random priority).  Similar lower codes give similar higher
  features; the union of hypotheses stays visible to the higher region.
* ``feedback`` (source L2/3 -> target L1): the target's L4 apical input is the concatenated
  L2/3 activity of its feedback sources as they stand (higher regions were stepped at the
  previous step), the same for each of its columns.
* ``motor`` (source L5 -> the world or another region): read by the protocol that moves sensors.

One :meth:`Network.step` visits the named regions in topological order of the feedforward
graph, so any number of regions and levels runs through the same code.

Recording (``config.recording``): every step records the listed layers of the recorded regions
-- each settling iteration of an inference, each held repeat of a learning step -- into a
:class:`~regions.dynamics.recording.RecordingWriter` (``net.recording``), streamed in chunks to
``<output.dir>/recording/`` (kept in memory when ``output.dir`` is unset).  Only the network of
trial 0 records (the one :func:`regions.builder.build` returns); :meth:`Network.run` closes the
recording when its protocol ends.  A protocol that drives one region through the loop gets
:meth:`Network.stepped`, a region whose sensing methods are network steps.

Seeds: a network is built for one *trial seed* (default: trial 0 of ``config.seed``, the seed
:meth:`Network.run` gives its first trial), so ``build(cfg).run()`` learns in this very network
and later trials, built fresh, are independent of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from scipy import sparse

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config
    from .dynamics.recording import RecordingWriter
    from .region import Region, SensationResult

__all__ = ["FeedforwardProjection", "Network", "SteppedRegion", "derived_seed", "recall_codes", "store_codes"]


def derived_seed(seed: int, *key: int) -> int:
    """A 32-bit seed derived from ``seed`` and a key path (``SeedSequence``), for one component."""
    return int(np.random.SeedSequence([int(seed), *key]).generate_state(1, dtype=np.uint32)[0])


class FeedforwardProjection:
    """Fixed random sparse projection + k-winners: source cells -> target L4 minicolumns.

    Parameters
    ----------
    source_cells : flat source cells (all columns of all feedforward sources).
    target_columns, minicolumns : the target region's columns and L4 minicolumns per column.
    feature_active : active minicolumns per target column (k-winners).
    fan_in : source cells sampled by each target minicolumn (default ``source_cells // 10``).
    seed : seed of the wiring.
    """

    def __init__(self, source_cells: int, target_columns: int, minicolumns: int, feature_active: int = 20,
                 fan_in: int | None = None, seed: int = 0) -> None:
        for name, v in (("source_cells", source_cells), ("target_columns", target_columns),
                        ("minicolumns", minicolumns), ("feature_active", feature_active)):
            if int(v) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v}")
        if feature_active > minicolumns:
            raise ValueError(f"feature_active ({feature_active}) exceeds minicolumns ({minicolumns})")
        self.source_cells, self.target_columns = int(source_cells), int(target_columns)
        self.minicolumns, self.feature_active = int(minicolumns), int(feature_active)
        fan = max(1, self.source_cells // 10) if fan_in is None else int(fan_in)
        if not 0 < fan <= self.source_cells:
            raise ValueError(f"fan_in must lie in [1, {self.source_cells}], got {fan_in}")
        rng = np.random.default_rng(seed)
        n_targets = self.target_columns * self.minicolumns
        rows = np.argsort(rng.random((n_targets, self.source_cells)), axis=1)[:, :fan] if fan < self.source_cells \
            else np.tile(np.arange(self.source_cells), (n_targets, 1))
        self.weights = sparse.csr_array(
            (np.ones(rows.size, dtype=np.float32), rows.reshape(-1), np.arange(0, rows.size + 1, fan)),
            shape=(n_targets, self.source_cells),
        )
        self._priority = rng.random(n_targets) * 1e-3

    def __call__(self, active_cells: np.ndarray) -> sparse.csr_array:
        """Active source cells (flat) -> target features, CSR ``(target_columns, minicolumns)``."""
        a = np.unique(np.asarray(active_cells, dtype=np.int64))
        if a.size and (a[0] < 0 or a[-1] >= self.source_cells):
            raise ValueError(f"active_cells must lie in [0, {self.source_cells}), got {a[0]}..{a[-1]}")
        if a.size == 0:  # nothing to pass on
            return sparse.csr_array((self.target_columns, self.minicolumns), dtype=bool)
        drive = np.asarray(self.weights[:, a].sum(axis=1)).reshape(-1) + self._priority
        drive = drive.reshape(self.target_columns, self.minicolumns)
        top = np.sort(np.argsort(-drive, axis=1)[:, : self.feature_active], axis=1)
        return sparse.csr_array(
            (np.ones(top.size, dtype=bool), top.reshape(-1), np.arange(0, top.size + 1, self.feature_active)),
            shape=(self.target_columns, self.minicolumns),
        )


class Network:
    """Regions, their connections and the world, built from one config for one trial seed.

    Parameters
    ----------
    config : the validated configuration.
    trial_seed : the seed of this network's trial (default: trial 0 of ``config.seed``).

    Attributes
    ----------
    config, seed : the configuration and its master seed (``config.seed``).
    trial_seed : the seed this network was built from; ``rng`` (protocol choices) derives from it.
    lateral : region name -> lateral graph of its columns (networkx).
    hierarchy : ``networkx.MultiDiGraph`` of regions; one edge per connection with attributes
        ``kind``, ``source_layer``, ``target_layer`` (motor connections to the world end at node
        ``"world"``).
    order : region names in topological order of the feedforward connections.
    memory : what protocols remember of learning besides synapses (e.g. the L2/3 code learned for
        each object, the labels of learned items), name -> array; saved with the network.
    """

    def __init__(self, config: Config, *, trial_seed: int | None = None) -> None:
        from .builder import build_lateral_graph
        from .parallel import trial_seeds

        self.config = config
        self.seed = int(config.seed)
        self.trial_seed = int(trial_seeds(self.seed, 1)[0] if trial_seed is None else trial_seed)
        self.build_seed = self.trial_seed % (2**31)
        self.rng = np.random.default_rng(self.trial_seed)
        self.lateral = {
            spec.name: build_lateral_graph(spec.lateral, spec.columns, seed=derived_seed(self.build_seed, 0, i))
            for i, spec in enumerate(config.regions)
        }
        self.hierarchy = nx.MultiDiGraph()
        for spec in config.regions:
            self.hierarchy.add_node(spec.name, columns=spec.columns)
        for conn in config.connections:
            self.hierarchy.add_edge(conn.source, conn.target, kind=conn.kind,
                                    source_layer=conn.source_layer, target_layer=conn.target_layer)
        ff = nx.DiGraph()
        ff.add_nodes_from(r.name for r in config.regions)
        ff.add_edges_from((c.source, c.target) for c in config.connections if c.kind == "feedforward")
        self.feedforward_graph = ff
        self.order: list[str] = list(nx.topological_sort(ff))
        self.feedback_sources: dict[str, list[str]] = {r.name: [] for r in config.regions}
        for c in config.connections:
            if c.kind == "feedback":
                self.feedback_sources[c.target].append(c.source)
        self.memory: dict[str, np.ndarray] = {}
        self._world: Any = None
        self._regions: dict[str, Region] | None = None
        self._projections: dict[str, FeedforwardProjection] | None = None
        self._recording: RecordingWriter | None = None
        self._first_trial = self.trial_seed == int(trial_seeds(self.seed, 1)[0])

    # ------------------------------------------------------------------ components
    @property
    def world(self) -> Any:
        """The world, built on first access by the registered ``world`` builder."""
        if self._world is None:
            from .builder import get_builder

            spec = self.config.world
            self._world = get_builder("world", spec.kind)(spec, config=self.config,
                                                          seed=derived_seed(self.build_seed, 1))
        return self._world

    def apical_size(self, name: str) -> int | None:
        """L4 apical input bits per column of region ``name``: its feedback sources' L2/3 cells
        (None: its own L2/3, the default within-column feedback)."""
        sources = self.feedback_sources[name]
        if not sources:
            return None
        return sum(self.config.region(s).column.L23.cells * self.config.region(s).columns for s in sources)

    @property
    def regions(self) -> dict[str, Region]:
        """Region name -> runtime region, built on first access by the ``region`` builder."""
        if self._regions is None:
            from .builder import get_builder

            built = {}
            for i, spec in enumerate(self.config.regions):
                built[spec.name] = get_builder("region", "default")(
                    spec, graph=self.lateral[spec.name], config=self.config,
                    seed=derived_seed(self.build_seed, 2, i), apical_size=self.apical_size(spec.name),
                )
            self._regions = built
        return self._regions

    @property
    def projections(self) -> dict[str, FeedforwardProjection]:
        """Target region name -> the fixed projection of its feedforward sources."""
        if self._projections is None:
            out = {}
            for i, name in enumerate(self.order):
                sources = list(self.feedforward_graph.predecessors(name))
                if sources:
                    r = self.regions[name]
                    cells = sum(self.regions[s].L23.n_cells for s in sources)
                    out[name] = FeedforwardProjection(
                        cells, r.n_columns, r.l4_params.minicolumns,
                        self.config.region(name).column.L4.active_minicolumns,
                        seed=derived_seed(self.build_seed, 3, i))
            self._projections = out
        return self._projections

    @property
    def records(self) -> bool:
        """True when this network records: ``config.recording.layers`` is set and it is trial 0's."""
        return bool(self.config.recording.layers) and self._first_trial

    @property
    def recording(self) -> RecordingWriter | None:
        """The recorder of ``config.recording`` (None when nothing is recorded), opened on first use.

        Opening it builds the regions and refuses, before any step, a recorded layer a region does
        not hold (``ValueError`` naming ``recording.layers``).
        """
        if not self.records:
            return None
        if self._recording is None:
            from pathlib import Path

            from .dynamics.recording import RecordingWriter

            rec = self.config.recording
            names = rec.regions or [r.name for r in self.config.regions]
            shapes = {}
            for name in names:
                region = self.regions[name]
                layers = {}
                for layer in rec.layers:
                    obj = getattr(region, layer, None)
                    if obj is None or not hasattr(obj, "active_cells"):
                        raise ValueError(f"recording.layers: region {name!r} holds no {layer} cells to record "
                                         f"(its columns list {self.config.region(name).column.layers})")
                    layers[layer] = int(obj.n_cells) // region.n_columns
                shapes[name] = {"columns": region.n_columns, "settle_max_iterations": region.settle_max_iterations,
                                "layers": layers}
            out = self.config.output.dir
            self._recording = RecordingWriter(None if out is None else Path(out) / "recording", shapes,
                                              rec.chunk_events)
        return self._recording

    def close_recording(self) -> None:
        """Write what the recorder still buffers and its final index (nothing when not recording)."""
        if self._recording is not None:
            self._recording.close()

    def _observer(self, name: str, step: int) -> Any:
        """``observe(iteration, region)`` writing ``name``'s recorded layers at ``step`` (None: not recorded)."""
        rec = self.recording
        if rec is None or name not in rec.regions:
            return None
        layers = list(rec.regions[name]["layers"])

        def observe(iteration: int, region: Region) -> None:
            for layer in layers:
                rec.record(name, layer, step, iteration, getattr(region, layer).active_cells)

        return observe

    # ------------------------------------------------------------------ dynamics
    def reset(self, names: Iterable[str] | None = None) -> None:
        """Clear activity of the named regions (default all); learned synapses stay."""
        for n in (self.order if names is None else names):
            self.regions[n].reset()

    def feedforward_input(self, name: str) -> sparse.csr_array:
        """The projected L2/3 activity of ``name``'s feedforward sources, CSR ``(columns, minicolumns)``."""
        sources = list(self.feedforward_graph.predecessors(name))
        if not sources:
            raise ValueError(f"region {name!r} has no feedforward sources")
        offset, cells = 0, []
        for s in sources:
            cells.append(self.regions[s].L23.active_cells.astype(np.int64) + offset)
            offset += self.regions[s].L23.n_cells
        return self.projections[name](np.concatenate(cells))

    def apical_input(self, name: str, enabled: bool = True) -> np.ndarray | None:
        """Flat L4 apical input of ``name`` from its feedback sources (None: its own L2/3).

        With ``enabled=False`` an empty array (feedback off).
        """
        sources = self.feedback_sources[name]
        if not sources:
            return None
        if not enabled:
            return np.zeros(0, dtype=np.int64)
        offset, cells = 0, []
        for s in sources:
            cells.append(self.regions[s].L23.active_cells.astype(np.int64) + offset)
            offset += self.regions[s].L23.n_cells
        flat = np.concatenate(cells)
        r = self.regions[name]
        return (flat[None, :] + (np.arange(r.n_columns, dtype=np.int64) * r.apical_size)[:, None]).reshape(-1)

    def step(
        self,
        locations: Mapping[str, Any],
        features: Mapping[str, Any] | None = None,
        *,
        learn: bool = False,
        feedback: bool = True,
        repeats: int = 3,
        resense: Mapping[str, Any] | None = None,
        max_iterations: int | None = None,
        observe: Mapping[str, Any] | None = None,
    ) -> dict[str, SensationResult | np.ndarray]:
        """One sensation of the regions named in ``locations``, in topological order.

        Parameters
        ----------
        locations : region name -> location SDRs (CSR or list, one row per column); regions
            not named are not stepped (they keep their state).
        features : region name -> feature SDRs (one row per column) for regions sensing the world;
            every other stepped region senses its feedforward projection.
        learn : learn the sensation (held ``repeats`` steps) instead of inferring.
        feedback : pass feedback apical input (off: an empty apical input).
        resense : region name -> ``callable(iteration) -> (features, locations)`` giving fresh
            inputs at each settling iteration (noise drawn afresh per step).
        max_iterations : bound on the settling iterations of this step (default: each region's
            ``settle_max_iterations``).
        observe : region name -> ``callable(iteration, region)`` called after every settling
            iteration (or held repeat), after the recorder.

        With ``config.recording``, the recorded layers of the stepped regions are written at every
        settling iteration (inference) or held repeat (learning; the recording's ``iteration`` is the
        repeat), under this step's index.

        Returns name -> :class:`~regions.region.SensationResult` (inference) or the active L4
        cells at each repeat (learning).
        """
        features = features or {}
        resense = resense or {}
        extra = observe or {}
        unknown = [n for n in list(locations) + list(features) if n not in self.feedback_sources]
        if unknown:
            raise ValueError(f"no region {unknown[0]!r} in this network; regions: {', '.join(self.order)}")
        out: dict[str, SensationResult | np.ndarray] = {}
        rec = self.recording
        step = rec.begin_step() if rec is not None else 0
        for name in self.order:
            if name not in locations:
                continue
            region = self.regions[name]
            feats = features[name] if name in features else self.feedforward_input(name)
            apical = self.apical_input(name, feedback)
            recorder = self._observer(name, step)
            observe = _chain(recorder, extra.get(name))
            if learn:
                out[name] = region.learn_sensation(feats, locations[name], repeats=repeats, apical_input=apical,
                                                   observe=observe)
                if recorder is not None:
                    rec.end_sensation(name, step, True, int(repeats))
            else:
                res = region.infer_sensation(feats, locations[name], apical_input=apical,
                                             resense=resense.get(name), max_iterations=max_iterations,
                                             observe=observe)
                out[name] = res
                if recorder is not None:
                    rec.end_sensation(name, step, False, res.settle.iterations)
        return out

    def stepped(self, name: str) -> SteppedRegion:
        """Region ``name`` with its sensing methods routed through :meth:`step` (so they are recorded)."""
        if name not in self.feedback_sources:
            raise ValueError(f"no region {name!r} in this network; regions: {', '.join(self.order)}")
        return SteppedRegion(self, name)

    # ------------------------------------------------------------------ running
    def run(
        self,
        *,
        trials: int | None = None,
        workers: int = 1,
        scheduler: str | None = None,
        progress: Any = None,
    ) -> list[dict[str, Any]]:
        """Run ``config.experiment`` for every trial; one metrics dict per trial, in order.

        Trial 0 runs on this network (its learned state stays here: ``net.save`` after ``run``
        writes the trained model); trial ``t > 0`` runs on a fresh network built for the
        ``t``-th seed of ``numpy.random.SeedSequence(seed).spawn``, so results do not depend on
        ``workers`` or ``scheduler``.
        """
        from .builder import ProgressFactory, get_builder, run_experiment_trial
        from .parallel import run_trials, trial_seeds

        progress = progress or ProgressFactory()
        n = int(trials if trials is not None else self.config.experiment.trials)
        if n <= 0:
            raise ValueError(f"trials must be a positive integer, got {trials!r}")
        get_builder("experiment", self.config.experiment.kind)  # fail early, in this process
        seeds = trial_seeds(self.seed, n)
        if seeds[0] != self.trial_seed:
            raise ValueError("this network was built for another trial seed; build(config) runs trial 0")
        inner = progress.enabled and workers == 1 and scheduler is None
        _ = self.recording  # a layer a region cannot record is refused before any work
        try:
            first = run_experiment_trial((self.config, 0, seeds[0], inner), net=self)
        finally:
            self.close_recording()
        rest = [(self.config, t, s, inner) for t, s in enumerate(seeds) if t > 0]
        others = run_trials(run_experiment_trial, rest, workers=workers, scheduler=scheduler,
                            progress=progress if n > 1 else None) if rest else []
        return [first, *others]

    # ------------------------------------------------------------------ persistence
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every learned array: ``"<region>/<name>"`` for built regions, ``"memory/<name>"``."""
        arrays: dict[str, np.ndarray] = {}
        for name, region in (self._regions or {}).items():
            arrays.update({f"{name}/{k}": v for k, v in region.state_arrays().items()})
        arrays.update({f"memory/{k}": np.asarray(v) for k, v in self.memory.items()})
        return arrays

    @property
    def n_synapses(self) -> int:
        """Synapses in every built region."""
        return sum(r.n_synapses for r in (self._regions or {}).values())

    def save(self, path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> None:
        """Write config, trial seed and learned state to one checkpoint (:mod:`regions.persist`)."""
        from .persist import save_state

        save_state(path, self.config.resolved(), self.state_arrays(),
                   {"seed": self.seed, "trial_seed": self.trial_seed, **dict(meta or {})})

    def load_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore what :meth:`state_arrays` wrote (regions rebuilt to the saved shapes)."""
        for name, region in self.regions.items():
            prefix = f"{name}/"
            own = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            if own:
                region.load_state_arrays(own)
        self.memory = {k[len("memory/"):]: np.asarray(v) for k, v in arrays.items() if k.startswith("memory/")}

    @property
    def learned(self) -> bool:
        """True once a protocol has learned into this network (or a trained one was loaded)."""
        return bool(self.memory)

    def __repr__(self) -> str:
        regions = ", ".join(f"{r.name}[{r.columns}]" for r in self.config.regions)
        return f"Network({regions}; world={self.config.world.kind}; experiment={self.config.experiment.kind})"


def _chain(first: Any, second: Any) -> Any:
    """``observe(iteration, region)`` calling ``first`` then ``second`` (either may be None)."""
    if first is None or second is None:
        return first if second is None else second

    def both(iteration: int, region: Region) -> None:
        first(iteration, region)
        second(iteration, region)

    return both


class SteppedRegion:
    """A region of a network whose sensing goes through :meth:`Network.step`.

    ``learn_sensation`` / ``infer_sensation`` take the arguments of
    :class:`~regions.region.Region`'s methods and run one network step of this region alone (its
    feedforward / feedback inputs as the network wires them, the step recorded); every other
    attribute is the region's own.
    """

    def __init__(self, net: Network, name: str) -> None:
        self.net, self.name = net, name
        self.region = net.regions[name]

    def __getattr__(self, attr: str) -> Any:
        if attr in ("net", "name", "region"):  # not set yet (copy, unpickling): no recursion
            raise AttributeError(attr)
        return getattr(self.region, attr)

    def learn_sensation(self, features: Any, locations: Any, repeats: int = 3) -> np.ndarray:
        """One learning step of this region (see :meth:`regions.region.Region.learn_sensation`)."""
        return self.net.step({self.name: locations}, {self.name: features}, learn=True, repeats=repeats)[self.name]

    def infer_sensation(self, features: Any, locations: Any, *, max_iterations: int | None = None,
                        resense: Any = None, observe: Any = None) -> SensationResult:
        """One inference step of this region (see :meth:`regions.region.Region.infer_sensation`)."""
        return self.net.step({self.name: locations}, {self.name: features},
                             resense=None if resense is None else {self.name: resense},
                             max_iterations=max_iterations,
                             observe=None if observe is None else {self.name: observe})[self.name]

    def __repr__(self) -> str:
        return f"SteppedRegion({self.name!r} of {self.net!r})"


def store_codes(net: Network, name: str, codes: list[sparse.csr_array]) -> None:
    """Remember per-item codes (one CSR ``(columns, cells)`` per item) in ``net.memory[name.*]``."""
    if not codes:
        return
    shape = codes[0].shape
    net.memory[f"{name}.indptr"] = np.concatenate(
        [[0], np.cumsum(np.concatenate([np.diff(c.indptr) for c in codes]))]).astype(np.int64)
    net.memory[f"{name}.indices"] = np.concatenate([c.indices for c in codes]).astype(np.int32)
    net.memory[f"{name}.shape"] = np.array([len(codes), *shape], dtype=np.int64)


def recall_codes(net: Network, name: str) -> list[sparse.csr_array]:
    """The codes :func:`store_codes` remembered (``ValueError`` naming the cure when there are none)."""
    if f"{name}.shape" not in net.memory:
        raise ValueError(f"this network has not learned {name!r}: run with phases [train, test], "
                         "or load a trained model (cortical run --load PATH)")
    n, rows, cols = (int(v) for v in net.memory[f"{name}.shape"])
    indptr, indices = net.memory[f"{name}.indptr"], net.memory[f"{name}.indices"]
    out = []
    for i in range(n):
        ptr = indptr[i * rows:(i + 1) * rows + 1]
        out.append(sparse.csr_array((np.ones(int(ptr[-1] - ptr[0]), dtype=bool), indices[ptr[0]:ptr[-1]],
                                     ptr - ptr[0]), shape=(rows, cols)))
    return out
