"""Configuration -> runtime objects, through builders registered per (category, kind).

In the spirit of Nengo's builder: the config says *what*, a registered builder says *how*, and a
new kind of world, layer or experiment is one function plus one ``@register_builder`` line, never
an edit to a central ``if`` chain.

Categories and the signature each builder is called with
---------------------------------------------------------
``world``       ``build(spec: WorldSpec, *, config: Config, seed: int) -> world``
``region``      ``build(spec: RegionSpec, *, graph: networkx.Graph, config: Config, seed: int) -> region``
``layer``       ``build(params: <layer params model>, *, n_columns: int, seed: int) -> layer``
``plasticity``  ``build(column: ColumnSpec) -> rule``
``topology``    ``build(spec: LateralSpec, n_columns: int, *, seed: int | None) -> networkx.Graph``
``experiment``  ``run(config: Config, *, seed: int, progress: ProgressFactory, trial: int) -> dict``

An experiment returns a JSON-able metrics dict; it may contain ``"table"`` (a list of row dicts
printed by the CLI and written to metrics.csv) and ``"series"`` (``{name: {"x": [...], "y": [...],
"xlabel": str, "ylabel": str, "loglog": bool}}`` or ``{name: [y, ...]}``, plotted with --plot).

A builder may declare a pydantic ``params`` model; ``world.params`` / ``experiment.params`` of a
config are then validated against it by :func:`regions.config.load_config`.

Plug-ins are imported lazily, at the first lookup of their category: the modules named in
:data:`PLUGIN_MODULES` (a missing module is tolerated and reported in the lookup error) and the
entry points of group ``cortical_columns.plugins``.

Example
-------
>>> from regions.config import LateralSpec
>>> g = build_lateral_graph(LateralSpec(topology="cycle_graph"), 5)
>>> sorted(g.degree)[:2]
[(0, 2), (1, 2)]
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.types import PositiveInt

from regions.config import Config, LateralSpec, Params, networkx_generator_names

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from regions.network import Network

__all__ = [
    "Uses",
    "CATEGORIES",
    "PLUGIN_MODULES",
    "BuilderNotFoundError",
    "Registration",
    "register_builder",
    "get_builder",
    "get_params_model",
    "registered_kinds",
    "plugin_failures",
    "ProgressFactory",
    "build_lateral_graph",
    "build",
    "load_network",
    "run_experiment_trial",
]

CATEGORIES: tuple[str, ...] = ("world", "region", "layer", "plasticity", "topology", "experiment")

#: Modules imported (once, lazily) before a category is looked up; absent modules are tolerated.
PLUGIN_MODULES: dict[str, tuple[str, ...]] = {
    "world": (
        "regions.worlds",
        "regions.experiments",
        "regions.locations",
        "regions.saccades",
        "regions.worlds.arena",
    ),
    "region": ("regions.experiments",),
    "layer": ("regions.region",),
    "plasticity": ("columns.plasticity",),
    "topology": (),
    "experiment": ("regions.experiments", "regions.locations", "regions.saccades", "regions.scenes",
                   "regions.sweeps", "regions.navigation", "regions.learning", "regions.td",
                   "regions.growth"),
}
ENTRY_POINT_GROUP = "cortical_columns.plugins"


class BuilderNotFoundError(LookupError):
    """No builder is registered for a (category, kind); the message says why and suggests kinds."""


@dataclass(frozen=True)
class Uses:
    """What an experiment reads of a config beyond its own ``params``; validation refuses the rest.

    Attributes
    ----------
    layers : the column layers the experiment drives (a listed layer outside them is refused).
    required : the layers every column must list for it.
    worlds : the world kinds it runs in.
    l6_kinds : the L6 kinds it can run.
    regions : (min, max) number of regions.
    keys : optional keys it reads: ``connections``, ``recording``, ``sweep``, ``phases``, ``growth``, and of
        ``experiment``: ``noise``, ``n_objects``, ``n_features``, ``n_locations``,
        ``features_per_object``, ``max_sensations``; ``world`` (world.params); ``region`` (the
        regions at all).
    """

    layers: frozenset[str] = frozenset({"L6", "L4", "L23", "L1"})
    required: frozenset[str] = frozenset({"L6", "L4", "L23"})
    l6_kinds: frozenset[str] = frozenset({"encoder"})
    worlds: frozenset[str] = frozenset({"feature_objects"})
    regions: tuple[int, int] = (1, 1)
    keys: frozenset[str] = frozenset({"n_objects", "n_features", "n_locations", "features_per_object",
                                      "max_sensations", "noise", "world", "region"})

    def but(self, **changes: Any) -> Uses:
        """A copy with fields replaced; ``add_keys`` / ``drop_keys`` edit ``keys``."""
        from dataclasses import replace

        add, drop = set(changes.pop("add_keys", ())), set(changes.pop("drop_keys", ()))
        out = replace(self, **{k: frozenset(v) if isinstance(v, (set, list, tuple)) and k != "regions" else v
                               for k, v in changes.items()})
        return replace(out, keys=frozenset((out.keys | add) - drop))


@dataclass(frozen=True)
class Registration:
    """One registered builder: its kind, category, callable and optional params model."""

    kind: str
    category: str
    builder: Callable[..., Any]
    params_model: type[BaseModel] | None = None
    protocol: bool = False
    uses: Uses | None = None


_REGISTRY: dict[str, dict[str, Registration]] = {c: {} for c in CATEGORIES}
_PLUGINS_TRIED: set[str] = set()
_PLUGIN_FAILURES: dict[str, str] = {}
_ENTRY_POINTS_LOADED = False


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        match = difflib.get_close_matches(str(category), CATEGORIES, n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}; got {category!r}{hint}")


def register_builder(
    kind: str, category: str, *, params: type[BaseModel] | None = None, protocol: bool = False,
    uses: Uses | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``fn`` as the builder of ``kind`` in ``category``.

    Parameters
    ----------
    kind : the name used in configs, e.g. ``"touch_objects"``.
    category : one of :data:`CATEGORIES`.
    params : optional pydantic model validating the ``params`` block of that kind.
    protocol : (category ``experiment``) the runner is a protocol over the network:
        ``run(net: Network, *, progress, trial) -> dict``; it learns into ``net`` and measures,
        building nothing of its own.
    uses : (category ``experiment``) what the runner reads of the config (:class:`Uses`);
        ``cortical validate`` refuses every other key.  Default: :class:`Uses()`.

    Registering a different function under a taken (category, kind) is a ``ValueError``;
    re-registering the same qualified function (a module reload) replaces it.

    >>> @register_builder("doc_example", "experiment")
    ... def run(config, *, seed, progress, trial):
    ...     return {"seed": seed}
    >>> get_builder("experiment", "doc_example") is run
    True
    """
    _check_category(category)
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty string, got {kind!r}")
    if params is not None and not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise ValueError(f"params must be a pydantic model class, got {params!r}")

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise ValueError(f"a builder must be callable, got {fn!r}")
        old = _REGISTRY[category].get(kind)
        if old is not None and _qualname(old.builder) != _qualname(fn):
            raise ValueError(
                f"{category} kind {kind!r} is already registered by {_qualname(old.builder)}"
            )
        _REGISTRY[category][kind] = Registration(kind, category, fn, params, bool(protocol),
                                                  uses if uses is not None else (Uses() if category == "experiment" else None))
        return fn

    return decorator


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _load_plugins(category: str) -> None:
    global _ENTRY_POINTS_LOADED
    for module in PLUGIN_MODULES.get(category, ()):
        if module in _PLUGINS_TRIED:
            continue
        _PLUGINS_TRIED.add(module)
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if module == missing or module.startswith(missing + "."):
                _PLUGIN_FAILURES[module] = "not written yet (module not found)"
            else:
                _PLUGIN_FAILURES[module] = f"ImportError: {exc}"
        except Exception as exc:  # a broken plug-in must not break other lookups
            _PLUGIN_FAILURES[module] = f"{type(exc).__name__}: {exc}"
    if not _ENTRY_POINTS_LOADED:
        _ENTRY_POINTS_LOADED = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()
            except Exception as exc:
                _PLUGIN_FAILURES[f"entry point {ep.name}"] = f"{type(exc).__name__}: {exc}"


def reload_plugins() -> None:
    """Forget which plug-in modules were tried, so the next lookup imports them again."""
    global _ENTRY_POINTS_LOADED
    _PLUGINS_TRIED.clear()
    _PLUGIN_FAILURES.clear()
    _ENTRY_POINTS_LOADED = False


def plugin_failures() -> dict[str, str]:
    """Plug-in modules that could not be imported so far, with the reason."""
    return dict(_PLUGIN_FAILURES)


def registered_kinds(category: str) -> list[str]:
    """Sorted kinds registered in ``category`` (plug-ins imported first)."""
    _check_category(category)
    _load_plugins(category)
    return sorted(_REGISTRY[category])


def get_registration(category: str, kind: str) -> Registration:
    """The :class:`Registration` of (category, kind); :class:`BuilderNotFoundError` if none."""
    _check_category(category)
    registry = _REGISTRY[category]
    if kind not in registry:
        _load_plugins(category)
    if kind in registry:
        return registry[kind]
    known = sorted(registry)
    match = difflib.get_close_matches(str(kind), known, n=1)
    msg = f"unknown {category} kind {kind!r}"
    if match:
        msg += f" (did you mean {match[0]!r}?)"
    msg += f"; registered: {', '.join(known)}" if known else f"; no {category} kinds are registered"
    failures = [
        f"{m}: {why}" for m, why in _PLUGIN_FAILURES.items() if m in PLUGIN_MODULES.get(category, ())
    ]
    if failures and not match:
        msg += "; plug-in modules not available: " + "; ".join(failures)
    raise BuilderNotFoundError(msg)


def get_builder(category: str, kind: str) -> Callable[..., Any]:
    """The builder registered for (category, kind).

    Raises :class:`BuilderNotFoundError` with a did-you-mean suggestion, the registered kinds,
    and which plug-in modules could not be imported.
    """
    return get_registration(category, kind).builder


def get_params_model(category: str, kind: str) -> type[BaseModel] | None:
    """The params model declared by (category, kind), or None (also when nothing is registered)."""
    try:
        return get_registration(category, kind).params_model
    except BuilderNotFoundError:
        return None


# --------------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------------


class _NullBar:
    """A progress bar that shows nothing (same methods as tqdm's)."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NullBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ProgressFactory:
    """Makes progress bars: tqdm when ``enabled``, else silent no-op bars.

    ``bar = progress(total=50, desc="objects")`` gives an object with ``update(n)``,
    ``set_postfix(**values)`` and ``close()`` (also a context manager);
    ``progress.iterate(items, desc=...)`` wraps an iterable.  Picklable, so it travels to
    worker processes (where it is disabled).
    """

    enabled: bool = False

    @classmethod
    def auto(cls, quiet: bool = False) -> ProgressFactory:
        """Enabled when stderr is a terminal, not ``quiet`` and not under CI (``$CI`` unset)."""
        try:
            tty = sys.stderr.isatty()
        except (AttributeError, ValueError):
            tty = False
        return cls(enabled=bool(tty and not quiet and not os.environ.get("CI")))

    def __call__(self, total: int | None = None, desc: str = "", unit: str = "it", leave: bool = False) -> Any:
        if not self.enabled:
            return _NullBar()
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr, dynamic_ncols=True)

    def iterate(self, iterable: Iterable[Any], total: int | None = None, desc: str = "") -> Iterator[Any]:
        """Yield from ``iterable`` while advancing a bar."""
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        with self(total=total, desc=desc) as bar:
            for item in iterable:
                yield item
                bar.update(1)


# --------------------------------------------------------------------------------------------
# topology
# --------------------------------------------------------------------------------------------


@register_builder("networkx", "topology")
def _networkx_topology(spec: LateralSpec, n_columns: int, *, seed: int | None = None) -> nx.Graph:
    import networkx as nx

    name = spec.topology or ""
    if name not in networkx_generator_names():
        match = difflib.get_close_matches(name, sorted(networkx_generator_names()), n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        raise ValueError(f"unknown networkx generator {name!r}{hint}")
    generator = getattr(nx, name, None) or getattr(nx.generators, name)
    kwargs = dict(spec.args)
    try:
        signature = inspect.signature(getattr(generator, "orig_func", generator))
        params = {
            k: v for k, v in signature.parameters.items() if k not in ("backend", "backend_kwargs")
        }
    except (TypeError, ValueError):  # pragma: no cover - all networkx generators have signatures
        params = {}
    if params:
        first = next(iter(params))
        if first == "n" and "n" not in kwargs:
            kwargs["n"] = n_columns
        if "seed" in params and "seed" not in kwargs and seed is not None:
            kwargs["seed"] = int(seed)
        unknown = [k for k in kwargs if k not in params]
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            hints = "".join(
                f" (did you mean {m[0]!r}?)" for k in unknown[:1]
                for m in [difflib.get_close_matches(k, list(params), n=1)] if m
            )
            raise ValueError(
                f"{name}() has no argument {unknown[0]!r}{hints}; it takes {', '.join(params)}"
            )
    args_text = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k != "seed")
    try:
        graph = generator(**kwargs)
    except Exception as exc:  # networkx raises many types for bad arguments
        raise ValueError(f"{name}({args_text}) failed: {type(exc).__name__}: {exc}") from None
    if graph.is_directed():
        graph = graph.to_undirected()
    if graph.number_of_nodes() != n_columns:
        raise ValueError(
            f"{name}({args_text}) has {graph.number_of_nodes()} nodes but the region has "
            f"{n_columns} columns"
        )
    graph = nx.convert_node_labels_to_integers(graph, ordering="default", label_attribute="label")
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    if graph.is_multigraph():
        graph = nx.Graph(graph)
    graph.graph["topology"] = name
    return graph


@register_builder("edges", "topology")
def _edge_list_topology(spec: LateralSpec, n_columns: int, *, seed: int | None = None) -> nx.Graph:
    import networkx as nx

    graph = nx.Graph(topology="edges")
    graph.add_nodes_from(range(n_columns))
    for u, v in spec.edges or ():
        if not (0 <= u < n_columns and 0 <= v < n_columns):
            raise ValueError(f"edge {[u, v]} names a column outside 0..{n_columns - 1}")
        if u == v:
            raise ValueError(f"edge {[u, v]} is a self-loop")
        graph.add_edge(int(u), int(v))
    return graph


def build_lateral_graph(
    spec: LateralSpec | Mapping[str, Any], n_columns: int, *, seed: int | None = None
) -> nx.Graph:
    """The lateral graph of a region's columns, nodes relabelled ``0..n_columns-1``.

    Parameters
    ----------
    spec : a :class:`~regions.config.LateralSpec` (or a dict of one): a networkx generator name
        with keyword ``args`` (``n`` defaults to ``n_columns``; ``seed`` to ``seed`` when the
        generator takes one), or an explicit ``edges`` list.
    n_columns : the region's column count; the graph must have exactly this many nodes.
    seed : seed passed to random generators (``watts_strogatz_graph`` ...).

    Node attributes of the generator survive (``block`` of ``stochastic_block_model``) and the
    original label is kept in ``label`` (``(row, col)`` of ``grid_2d_graph``).

    >>> g = build_lateral_graph({"topology": "grid_2d_graph", "args": {"m": 2, "n": 3}}, 6)
    >>> g.number_of_nodes(), g.number_of_edges(), g.nodes[5]["label"]
    (6, 7, (1, 2))
    """
    if isinstance(n_columns, bool) or not isinstance(n_columns, int) or n_columns <= 0:
        raise ValueError(f"n_columns must be a positive integer, got {n_columns!r}")
    if not isinstance(spec, LateralSpec):
        spec = LateralSpec.model_validate(dict(spec))
    kind = "edges" if spec.edges is not None else "networkx"
    return get_builder("topology", kind)(spec, n_columns, seed=seed)


# --------------------------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------------------------


def run_experiment_trial(task: tuple[Config, int, int, bool], net: Any = None) -> dict[str, Any]:
    """Run one trial ``(config, trial index, seed, progress enabled)`` of ``config.experiment``.

    A protocol runs on ``net`` (built for the trial's seed when not given); a legacy runner gets
    the config.  Module-level so that it pickles into worker processes.
    """
    from regions.network import Network

    config, trial, seed, progress_enabled = task
    reg = get_registration("experiment", config.experiment.kind)
    progress = ProgressFactory(progress_enabled)
    if reg.protocol:
        net = net if net is not None else Network(config, trial_seed=seed)
        metrics = reg.builder(net, progress=progress, trial=trial)
    else:
        metrics = reg.builder(config, seed=seed, progress=progress, trial=trial)
    if not isinstance(metrics, dict):
        raise TypeError(
            f"experiment {config.experiment.kind!r} returned {type(metrics).__name__}, expected a dict"
        )
    return metrics


def build(config: Config, *, trial_seed: int | None = None) -> Network:
    """Build the :class:`~regions.network.Network` described by ``config``.

    Lateral graphs and the region hierarchy are built now; world and regions on first use,
    through their registered builders.  ``trial_seed`` defaults to trial 0 of ``config.seed``
    (the trial :meth:`Network.run` runs on this network).
    """
    from regions.network import Network

    if not isinstance(config, Config):
        raise ValueError(f"config must be a regions.config.Config, got {type(config).__name__}")
    return Network(config, trial_seed=trial_seed)


def load_network(path: str | os.PathLike[str]) -> Network:
    """Rebuild a :class:`~regions.network.Network` saved by ``Network.save``, learned state included."""
    from regions.config import config_from_dict
    from regions.network import Network
    from regions.persist import load_state

    spec, arrays, meta = load_state(path)
    net = Network(config_from_dict(spec), trial_seed=meta.get("trial_seed"))
    if arrays:
        from regions.growth import restore_grown_shapes

        restore_grown_shapes(net, arrays)  # a region grown while it ran: regrow it to the saved shape
        net.load_state_arrays(arrays)
    return net


# --------------------------------------------------------------------------------------------
# built-in experiment: kernel benchmark
# --------------------------------------------------------------------------------------------


class KernelBenchmarkParams(Params):
    """Parameters of the ``kernel_benchmark`` experiment (quick mode by default).

    A random :class:`columns.dendrites.DendriteStore` of ``n_cells`` cells with
    ``segments_per_cell`` segments of ``synapses_per_segment`` synapses over ``n_presynaptic``
    cells; ``compute_activity`` is timed ``repeats`` times on ``n_active`` random active cells.
    For each factor in ``silent_factors`` the presynaptic space and every segment's synapses
    grow by that factor with the added cells silent: the active synapses, and so the time,
    should stay about the same.
    """

    model_config = ConfigDict(extra="forbid")

    n_cells: PositiveInt = 2048
    n_presynaptic: PositiveInt = 2048
    segments_per_cell: PositiveInt = 4
    synapses_per_segment: PositiveInt = 20
    n_active: PositiveInt = 40
    repeats: PositiveInt = 20
    silent_factors: list[PositiveInt] = Field(default_factory=lambda: [1, 2])


@register_builder("kernel_benchmark", "experiment", params=KernelBenchmarkParams,
                  uses=Uses(keys=frozenset(), worlds=frozenset()))
def run_kernel_benchmark(
    config: Config, *, seed: int, progress: ProgressFactory, trial: int
) -> dict[str, Any]:
    """Time ``DendriteStore.compute_activity`` (ms per call) on random stores; see
    :class:`KernelBenchmarkParams`."""
    import numpy as np

    try:
        from columns.dendrites import DendriteStore
    except ImportError as exc:
        raise RuntimeError(
            f"kernel_benchmark needs columns.dendrites.DendriteStore, which cannot be imported: {exc}"
        ) from None
    p = KernelBenchmarkParams.model_validate(config.experiment.params)
    if p.n_active > p.n_presynaptic:
        raise ValueError(
            f"experiment.params.n_active ({p.n_active}) exceeds n_presynaptic ({p.n_presynaptic})"
        )
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    series: dict[str, Any] = {}
    base_ms: float | None = None
    bar = progress(total=len(p.silent_factors) * p.repeats, desc="compute_activity")
    try:
        for factor in p.silent_factors:
            n_pre = p.n_presynaptic * factor
            syn_per_seg = p.synapses_per_segment * factor
            n_seg = p.n_cells * p.segments_per_cell
            seg_cell = np.repeat(np.arange(p.n_cells, dtype=np.int32), p.segments_per_cell)
            syn_seg = np.repeat(np.arange(n_seg, dtype=np.int64), syn_per_seg)
            syn_pre = rng.integers(0, n_pre, size=syn_seg.size, dtype=np.int64)
            key = np.unique(syn_seg * n_pre + syn_pre)  # drop duplicate (segment, cell) pairs
            syn_seg, syn_pre = key // n_pre, key % n_pre
            perm = rng.random(syn_seg.size, dtype=np.float32)
            store = DendriteStore.from_synapses(
                p.n_cells, n_pre, 0.5, seg_cell, syn_seg, syn_pre, perm,
                max_synapses_per_segment=max(255, syn_per_seg),
            )
            times = []
            touched = []
            for _ in range(p.repeats):
                # active cells drawn from the original (non-silent) presynaptic cells only
                active = np.sort(rng.choice(p.n_presynaptic, size=p.n_active, replace=False))
                t0 = time.perf_counter()
                act = store.compute_activity(active)
                times.append((time.perf_counter() - t0) * 1e3)
                touched.append(act.n_active_synapses)
                bar.update(1)
            median = float(np.median(times))
            base_ms = median if base_ms is None else base_ms
            rows.append(
                {
                    "silent_factor": factor,
                    "synapses": int(store.n_synapses),
                    "active_synapses": float(np.mean(touched)),
                    "store_bytes": int(store.nbytes),
                    "median_ms": round(median, 4),
                    "time_ratio": round(median / base_ms, 3) if base_ms else None,
                }
            )
            series[f"compute_activity_ms_x{factor}"] = {
                "x": list(range(1, p.repeats + 1)), "y": [round(t, 5) for t in times],
                "xlabel": "repeat", "ylabel": "ms per call",
            }
    finally:
        bar.close()
    return {
        "median_ms": rows[0]["median_ms"],
        "synapses": rows[0]["synapses"],
        "active_synapses": rows[0]["active_synapses"],
        "time_ratio_at_max_factor": rows[-1]["time_ratio"],
        "table": rows,
        "series": series,
    }
