"""Regions stacked as a DAG: feedforward L2/3 -> L4, feedback L2/3 -> L1 (apical).

A :class:`Hierarchy` holds named :class:`~regions.region.Region` objects and the config's
``connections``.  Feedforward connections form a networkx DAG; one :meth:`Hierarchy.step`
visits the regions in topological order:

* a region with a world input senses it; a region with feedforward sources senses the
  **projection** of their current L2/3 activity: a fixed random sparse binary matrix from the
  sources' flat L2/3 cells (all columns of all sources, concatenated) to the target's L4
  minicolumns, each target minicolumn sampling ``fan_in`` source cells, followed by
  k-winners (``feature_active`` minicolumns per target column; ties broken by a fixed random
  priority).  Similar lower codes give similar higher features; codes of different objects
  give different ones.  (The alternative, the recognised object id encoded as an SDR, needs
  the lower region's stored codes and throws away its uncertainty; the projection keeps the
  union of hypotheses visible to the higher region.)
* a region with feedback sources gets as apical input the concatenated L2/3 activity of
  those sources as they stand (higher regions were stepped at the previous step), identical
  for each of its columns: its ``apical_size`` must equal the sources' total L2/3 cells.

Locations of every region are given by the caller (the lower region's location on the
object, the higher region's location of the object in the scene).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse

from .region import Region, SensationResult

__all__ = ["FeedforwardProjection", "Hierarchy"]


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
        drive = np.asarray(self.weights[:, a].sum(axis=1)).reshape(-1) + self._priority
        drive = drive.reshape(self.target_columns, self.minicolumns)
        top = np.sort(np.argsort(-drive, axis=1)[:, : self.feature_active], axis=1)
        if a.size == 0:  # nothing to pass on
            return sparse.csr_array((self.target_columns, self.minicolumns), dtype=bool)
        return sparse.csr_array(
            (np.ones(top.size, dtype=bool), top.reshape(-1), np.arange(0, top.size + 1, self.feature_active)),
            shape=(self.target_columns, self.minicolumns),
        )


class Hierarchy:
    """Named regions wired by feedforward and feedback connections.

    Parameters
    ----------
    regions : name -> :class:`Region`.
    connections : ``(kind, source, target)`` triples or objects with ``kind``, ``source``,
        ``target`` attributes (a config's ``connections``); kinds ``feedforward``,
        ``feedback``; ``motor`` connections are ignored here.
    feature_active : active L4 minicolumns of a projected feedforward input per column.
    seed : seed of the projections.
    """

    def __init__(self, regions: Mapping[str, Region], connections: Iterable[Any], *,
                 feature_active: int = 20, seed: int = 0) -> None:
        self.regions = dict(regions)
        self.graph = nx.DiGraph()
        self.graph.add_nodes_from(self.regions)
        self.feedback_sources: dict[str, list[str]] = {n: [] for n in self.regions}
        for c in connections:
            kind, source, target = (c if isinstance(c, tuple) else (c.kind, c.source, c.target))
            if kind == "motor":
                continue
            for end in (source, target):
                if end not in self.regions:
                    raise ValueError(f"connection {kind} {source} -> {target} names unknown region {end!r}")
            if kind == "feedforward":
                self.graph.add_edge(source, target)
            elif kind == "feedback":
                self.feedback_sources[target].append(source)
            else:
                raise ValueError(f"connection kind must be feedforward, feedback or motor, got {kind!r}")
        if not nx.is_directed_acyclic_graph(self.graph):
            raise ValueError(f"feedforward connections contain a cycle: {nx.find_cycle(self.graph)}")
        self.order: list[str] = list(nx.topological_sort(self.graph))
        self.projections: dict[str, FeedforwardProjection] = {}
        for i, name in enumerate(self.order):
            sources = list(self.graph.predecessors(name))
            if sources:
                r = self.regions[name]
                cells = sum(self.regions[s].L23.n_cells for s in sources)
                self.projections[name] = FeedforwardProjection(
                    cells, r.n_columns, r.l4_params.minicolumns, feature_active,
                    seed=int(np.random.SeedSequence([seed, i]).generate_state(1)[0]))
        for name, sources in self.feedback_sources.items():
            if sources:
                need = sum(self.regions[s].L23.n_cells for s in sources)
                have = self.regions[name].apical_size
                if have != need:
                    raise ValueError(
                        f"region {name!r} has apical_size {have}, but its feedback sources {sources} "
                        f"have {need} L2/3 cells: build it with Region(..., apical_size={need})"
                    )

    def reset(self, names: Iterable[str] | None = None) -> None:
        """Clear activity of the named regions (default all)."""
        for n in (self.order if names is None else names):
            self.regions[n].reset()

    def feedforward_input(self, name: str) -> sparse.csr_array:
        """The projected L2/3 activity of ``name``'s feedforward sources, CSR ``(columns, minicolumns)``."""
        sources = list(self.graph.predecessors(name))
        if not sources:
            raise ValueError(f"region {name!r} has no feedforward sources")
        offset, cells = 0, []
        for s in sources:
            cells.append(self.regions[s].L23.active_cells.astype(np.int64) + offset)
            offset += self.regions[s].L23.n_cells
        return self.projections[name](np.concatenate(cells))

    def apical_input(self, name: str, enabled: bool = True) -> np.ndarray | None:
        """Flat apical input of ``name`` from its feedback sources (None: the region's default).

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
        world_features: Mapping[str, Any] | None = None,
        *,
        learn: bool = False,
        feedback: bool = True,
        repeats: int = 3,
    ) -> dict[str, SensationResult | np.ndarray]:
        """One sensation of the regions named in ``locations``, in topological order.

        Parameters
        ----------
        locations : region name -> location SDRs (CSR or list, one row per column); regions
            not named are not stepped (they keep their state).
        world_features : region name -> feature SDRs for regions sensing the world; any other
            stepped region senses its feedforward projection.
        learn : learn the sensation (``repeats`` steps) instead of inferring.
        feedback : pass feedback apical input (off: an empty apical input).

        Returns name -> :class:`SensationResult` (inference) or L4 activity per repeat (learning).
        """
        world_features = world_features or {}
        out: dict[str, SensationResult | np.ndarray] = {}
        for name in self.order:
            if name not in locations:
                continue
            region = self.regions[name]
            feats = world_features[name] if name in world_features else self.feedforward_input(name)
            apical = self.apical_input(name, feedback)
            if learn:
                out[name] = region.learn_sensation(feats, locations[name], repeats=repeats, apical_input=apical)
            else:
                out[name] = region.infer_sensation(feats, locations[name], apical_input=apical)
        return out
