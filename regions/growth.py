"""Growth of a running region (neurogenesis) and pruning, and the ``touch_objects_growth`` protocol.

Growing
-------
:func:`grow_region` adds columns to a :class:`~regions.region.Region` (and, optionally, L2/3 cells
to every column) while it runs.  New columns are *appended*: cell ``c`` of column ``k`` keeps its
flat index ``k * cells + c`` in every layer, so every segment, synapse and permanence of the old
columns is carried over bit for bit (with more L2/3 cells per column, ``k * cells + c`` becomes
``k * cells' + c``: the same column and local cell).  The grown layers are built fresh and the old
state is copied in through the region's own ``state_arrays`` / ``load_state_arrays`` with
vectorised index remaps: no Python loop over columns, cells or synapses.

How new columns join the lateral graph (:func:`grown_graph`, ``growth.rule``):

* ``attach: topology``: a networkx generator over the grown column set (default the region's own
  ``lateral`` generator), every old edge kept;
* ``attach: co_active``: each new column listens to the ``k`` existing columns whose L2/3 was most
  often active together with the others (:class:`Usage` counts it per sensation), and the columns
  added in one step to each other.

How new columns learn old objects (:func:`reexpose_object`): a stored object is touched again; the
old columns recognise it (they infer, as at test time); then, with the object's pairs sensed once
more, the **new columns learn** it -- a fresh L2/3 code each, proximal segments onto their L4, lateral
segments onto the old columns' recognised code and onto each other -- while the **old columns do
not learn**: their L4 gets no input during that pass and their existing segments are never
touched.  With ``listen_to_new`` they only *add* lateral segments listening to the new columns'
codes (stamped with the object's learning episode, so the new votes add to the old ones).

Pruning
-------
:class:`Usage` stamps, after every sensation, the L2/3 cells that were active.  :func:`prune`
frees the cells silent for more than ``idle_sensations`` sensations, and, while the region holds
more than ``synapses`` synapses, the least recently active cells (:func:`free_l23_cells`: their
proximal and distal segments, and every distal and L4 apical synapse onto them).  The freed cells
stay as empty slots a later object can draw.  Objects in use keep their cells (they were active),
their segments and the synapses among them, so they are still recognised.
:func:`remove_columns` removes whole columns with a vectorised remap of the survivors.

Checkpoints: the protocol keeps the grown shape in ``net.memory`` (``growth.<region>.*``) and
:func:`restore_grown_shapes` regrows a freshly built network to it before the saved arrays load.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from typing import Any

import networkx as nx
import numpy as np
from pydantic import ConfigDict
from pydantic.types import NonNegativeInt, PositiveInt
from scipy import sparse

from columns.kernels import union_ints, unique_ints

from .builder import ProgressFactory, Uses, register_builder
from .config import Params
from .network import Network, recall_codes, store_codes
from .recognition import learn_object, recognised
from .region import Region, flatten_rows_inverse

__all__ = [
    "grow_region",
    "grown_graph",
    "remap_cells",
    "remap_code",
    "free_l23_cells",
    "remove_columns",
    "column_synapses",
    "Usage",
    "prune",
    "reexpose_object",
    "touch",
    "restore_grown_shapes",
    "TouchObjectsGrowthParams",
    "run_touch_objects_growth",
]


# ------------------------------------------------------------------------- index remaps
def remap_cells(flat: np.ndarray, old_per_column: int, new_per_column: int,
                column_map: np.ndarray | None = None) -> np.ndarray:
    """Flat cells ``k * old + c`` -> ``k' * new + c`` (``k' = column_map[k]``, default ``k``), int64."""
    flat = np.asarray(flat, dtype=np.int64)
    k, c = np.divmod(flat, int(old_per_column))
    if column_map is not None:
        k = np.asarray(column_map, dtype=np.int64)[k]
    return k * int(new_per_column) + c


def remap_code(code: sparse.csr_array, n_columns: int, cells: int) -> sparse.csr_array:
    """A per-column code (CSR ``(columns, cells)``) padded to ``n_columns`` rows of ``cells`` cells."""
    rows, local = code.shape[0], np.asarray(code.indices, dtype=np.int64)
    indptr = np.r_[np.asarray(code.indptr, dtype=np.int64), np.full(n_columns - rows, code.indptr[-1], np.int64)]
    return sparse.csr_array((np.ones(local.size, dtype=bool), local, indptr), shape=(n_columns, cells))


def _store_arrays(arrays: dict[str, np.ndarray], prefix: str, n_cells: int, n_pre: int,
                  owner: tuple[int, int] | None = None, pre: tuple[int, int] | None = None,
                  column_map: np.ndarray | None = None, keep_owner: np.ndarray | None = None,
                  keep_pre: np.ndarray | None = None) -> None:
    """Resize one saved store in place: new shape, owners / presynaptic cells remapped by
    ``(old, new)`` cells per column (and ``column_map``), segments of dropped owners freed,
    synapses of freed segments or dropped presynaptic cells removed."""
    shape = arrays[f"{prefix}shape"].copy()
    shape[0], shape[1] = n_cells, n_pre
    arrays[f"{prefix}shape"] = shape
    seg_cell = np.asarray(arrays[f"{prefix}segment_cell"], dtype=np.int64)
    live = seg_cell >= 0
    if keep_owner is not None:
        live &= keep_owner[np.where(live, seg_cell, 0)]
    if owner is not None:
        seg_cell = np.where(live, remap_cells(np.where(live, seg_cell, 0), *owner, column_map), -1)
    else:
        seg_cell = np.where(live, seg_cell, -1)
    arrays[f"{prefix}segment_cell"] = seg_cell.astype(np.int32)
    sseg = np.asarray(arrays[f"{prefix}synapse_segment"], dtype=np.int64)
    spre = np.asarray(arrays[f"{prefix}synapse_presynaptic"], dtype=np.int64)
    keep = live[sseg] if sseg.size else np.zeros(0, dtype=bool)
    if keep_pre is not None and spre.size:
        keep &= keep_pre[spre]
    if pre is not None:
        spre = remap_cells(spre, *pre, column_map)
    arrays[f"{prefix}synapse_segment"] = sseg[keep].astype(np.int32)
    arrays[f"{prefix}synapse_presynaptic"] = spre[keep].astype(np.int32)
    arrays[f"{prefix}synapse_permanence"] = np.asarray(arrays[f"{prefix}synapse_permanence"])[keep]


def _check_growable(region: Region) -> None:
    if region.L6 is not None:
        raise ValueError("growth: a region with grid-module L6 cannot grow yet (its L6 anchors would need "
                         "new modules per column)")
    if region.apical_feedback and region.L23 is not None and region.apical_size != region.l23_params.cells:
        raise ValueError("growth: this region's L4 apical input comes from another region (feedback); "
                         "only a region fed back by its own L2/3 can grow")


def _rebuild(region: Region, n_columns: int, cells: int, graph: nx.Graph, arrays: dict[str, np.ndarray]) -> None:
    """Replace ``region``'s layers (in place: references to it stay valid) by ones of ``n_columns``
    columns with ``cells`` L2/3 cells, loaded from ``arrays``; the random generator and the
    plasticity rules carry over."""
    l23 = replace(region.l23_params, cells=int(cells)) if region.L23 is not None else None
    fresh = Region(n_columns, region.location_size, region.l4_params, l23, graph,
                   apical_feedback=region.apical_feedback, apical_size=None,
                   settle_max_iterations=region.settle_max_iterations, seed=region.rng,
                   object_layer=region.L23 is not None)
    fresh.load_state_arrays(arrays)
    fresh.L4.basal_rule, fresh.L4.apical_rule = region.L4.basal_rule, region.L4.apical_rule
    if region.L23 is not None:
        fresh.L23.proximal_rule, fresh.L23.distal_rule = region.L23.proximal_rule, region.L23.distal_rule
    region.__dict__.update(fresh.__dict__)  # the column views come along, on the new layers


def grow_region(region: Region, add_columns: int = 0, *, l23_cells: int = 0, graph: nx.Graph | None = None) -> None:
    """Append ``add_columns`` columns (and ``l23_cells`` L2/3 cells to every column) to a running region.

    Every learned segment, synapse and permanence is kept: the old columns' flat indices do not
    change (only the L2/3 ones move to ``k * cells' + c`` when ``l23_cells`` grows the pool).
    ``graph``: the grown lateral graph on ``0 .. n_columns + add_columns - 1`` (default: the old
    graph with the new columns connected to every column).  Activity is cleared.  The region
    object is grown in place, so a network or a :class:`~regions.network.SteppedRegion` holding it
    sees the grown region.

    >>> from columns.layers.l23 import L23Params
    >>> r = Region(2, 100, l23=L23Params(cells=64, sdr_size=8, proximal_threshold=5), seed=0)
    >>> grow_region(r, 3, l23_cells=16)
    >>> r.n_columns, r.L23.n_cells, r.lateral_graph.number_of_edges()
    (5, 400, 10)
    """
    _check_growable(region)
    add, extra = int(add_columns), int(l23_cells)
    if add < 0 or extra < 0:
        raise ValueError(f"growth adds columns and cells: add_columns={add_columns}, l23_cells={l23_cells}")
    if extra and region.L23 is None:
        raise ValueError("growth: l23_cells needs an L2/3 layer (list L23 in column.layers)")
    C, C2 = region.n_columns, region.n_columns + add
    if graph is None:
        graph = grown_graph(region.lateral_graph, C2)
    if graph.number_of_nodes() != C2:
        raise ValueError(f"the grown lateral graph has {graph.number_of_nodes()} nodes, the region grows to {C2}")
    P = region.l23_params.cells if region.L23 is not None else 0
    P2 = P + extra
    arrays = region.state_arrays()
    cpc = region.L4.cells_per_column
    _store_arrays(arrays, "L4.basal.", C2 * cpc, C2 * region.L4.basal_size)
    if region.L4.apical is not None:
        _store_arrays(arrays, "L4.apical.", C2 * cpc, C2 * P2, pre=(P, P2) if extra else None)
    if region.L23 is not None:
        _store_arrays(arrays, "L23.proximal.", C2 * P2, C2 * cpc, owner=(P, P2) if extra else None)
        _store_arrays(arrays, "L23.distal.", C2 * P2, C2 * P2, owner=(P, P2) if extra else None,
                      pre=(P, P2) if extra else None)
        cell, src = np.divmod(np.asarray(arrays["L23.distal_source_keys"], dtype=np.int64), C)
        arrays["L23.distal_source_keys"] = remap_cells(cell, P, P2) * C2 + src
    _rebuild(region, C2, P2, graph, arrays)


def grown_graph(graph: nx.Graph, n_columns: int, *, attach: str = "topology", topology: str | None = None,
                args: dict[str, Any] | None = None, k: int = 4, co_activity: np.ndarray | None = None,
                seed: int | None = None) -> nx.Graph:
    """The lateral graph of a region grown to ``n_columns``: every old edge kept, new columns attached.

    ``attach="topology"``: the edges of the networkx generator ``topology`` (keyword ``args``) over
    all ``n_columns`` columns are added (None: the new columns join every column).
    ``attach="co_active"``: each new column is joined to the ``k`` old columns with the largest
    co-activity (row sums of ``co_activity``, ``(old, old)``, ties to the lower index) and to the
    other new columns.

    >>> g = grown_graph(nx.cycle_graph(4), 6, topology="cycle_graph")
    >>> sorted(g.edges)[:3], g.number_of_edges()
    ([(0, 1), (0, 3), (0, 5)], 7)
    """
    old = graph.number_of_nodes()
    if n_columns < old:
        raise ValueError(f"a grown graph has at least the old {old} columns, got {n_columns}")
    out = nx.Graph()
    out.add_nodes_from(range(n_columns))
    out.add_edges_from((int(u), int(v)) for u, v in graph.edges if u != v)
    new = np.arange(old, n_columns)
    if attach == "topology":
        if topology is None:
            extra = nx.complete_graph(n_columns)
            extra.remove_edges_from(nx.complete_graph(old).edges)
        else:
            from .builder import build_lateral_graph

            extra = build_lateral_graph({"topology": topology, "args": dict(args or {})}, n_columns, seed=seed)
        out.add_edges_from(extra.edges)
    elif attach == "co_active":
        score = np.zeros(old) if co_activity is None else np.asarray(co_activity, dtype=float)[:old, :old].sum(axis=1)
        hubs = np.argsort(-score, kind="stable")[: int(k)]
        out.add_edges_from(zip(np.repeat(new, hubs.size).tolist(), np.tile(hubs, new.size).tolist()))
        out.add_edges_from(nx.complete_graph(new.tolist()).edges)
    else:
        raise ValueError(f"unknown attach rule {attach!r}; expected 'topology' or 'co_active'")
    out.graph["topology"] = f"grown ({attach})"
    return out


# ------------------------------------------------------------------------------ pruning
def free_l23_cells(region: Region, cells: np.ndarray) -> int:
    """Free L2/3 cells: their proximal and distal segments and every distal / L4 apical synapse
    onto them are destroyed (the cells stay, empty).  Returns the synapses freed.  Vectorised."""
    layer = region.L23
    cells = unique_ints(np.asarray(cells, dtype=np.int64))
    if cells.size == 0:
        return 0
    before = region.n_synapses
    layer.forget_cells(cells)
    if region.L4.apical is not None and region.apical_size == region.l23_params.cells:
        # own feedback: apical bit == L2/3 cell
        region.L4.apical.remove_synapses(region.L4.apical.synapses_of_presynaptic(cells).slots)
    for store in region._stores().values():
        store.compact()
    return before - region.n_synapses


def remove_columns(region: Region, remove: np.ndarray) -> None:
    """Remove whole columns: their cells, segments and every synapse onto them; the survivors are
    renumbered ``0 ..`` in order (a vectorised remap of every flat index) and keep their lateral
    edges among themselves."""
    _check_growable(region)
    C = region.n_columns
    gone = np.zeros(C, dtype=bool)
    gone[np.asarray(remove, dtype=np.int64)] = True
    if gone.all():
        raise ValueError("remove_columns would remove every column")
    keep_col = ~gone
    column_map = np.cumsum(keep_col) - 1
    C2 = int(keep_col.sum())
    arrays = region.state_arrays()
    cpc = region.L4.cells_per_column
    P = region.l23_params.cells if region.L23 is not None else 0

    def keep(per: int) -> np.ndarray:
        return np.repeat(keep_col, per)

    _store_arrays(arrays, "L4.basal.", C2 * cpc, C2 * region.L4.basal_size, owner=(cpc, cpc),
                  pre=(region.L4.basal_size, region.L4.basal_size), column_map=column_map,
                  keep_owner=keep(cpc), keep_pre=keep(region.L4.basal_size))
    if region.L4.apical is not None:
        _store_arrays(arrays, "L4.apical.", C2 * cpc, C2 * P, owner=(cpc, cpc), pre=(P, P), column_map=column_map,
                      keep_owner=keep(cpc), keep_pre=keep(P))
    if region.L23 is not None:
        _store_arrays(arrays, "L23.proximal.", C2 * P, C2 * cpc, owner=(P, P), pre=(cpc, cpc),
                      column_map=column_map, keep_owner=keep(P), keep_pre=keep(cpc))
        _store_arrays(arrays, "L23.distal.", C2 * P, C2 * P, owner=(P, P), pre=(P, P), column_map=column_map,
                      keep_owner=keep(P), keep_pre=keep(P))
        cell, src = np.divmod(np.asarray(arrays["L23.distal_source_keys"], dtype=np.int64), C)
        segs = np.asarray(arrays["L23.distal_source_segments"], dtype=np.int64)
        ok = keep_col[cell // P] & keep_col[src] & (np.asarray(arrays["L23.distal.segment_cell"])[segs] >= 0)
        arrays["L23.distal_source_keys"] = remap_cells(cell[ok], P, P, column_map) * C2 + column_map[src[ok]]
        arrays["L23.distal_source_segments"] = segs[ok].astype(np.int32)
    old = np.flatnonzero(keep_col)
    graph = nx.relabel_nodes(region.lateral_graph.subgraph(old.tolist()).copy(),
                             {int(o): int(n) for n, o in enumerate(old)})
    _rebuild(region, C2, P, nx.Graph(graph), arrays)


def column_synapses(region: Region, columns: np.ndarray) -> dict[str, np.ndarray]:
    """Every segment the given columns own, with its synapses, in local coordinates.

    Per store: ``(segment id, owner column, owner local cell, presynaptic column, presynaptic local
    cell, permanence bits)`` rows, sorted -- equal before and after :func:`grow_region` when nothing
    of these columns changed (the bit-identity check of growth).
    """
    cols = np.asarray(columns, dtype=np.int64)
    out = {}
    per_pre = {"L4.basal": region.L4.basal_size, "L4.apical": region.apical_size,
               "L23.proximal": region.L4.cells_per_column,
               "L23.distal": region.l23_params.cells if region.L23 is not None else 1}
    per_owner = {"L4.basal": region.L4.cells_per_column, "L4.apical": region.L4.cells_per_column,
                 "L23.proximal": region.l23_params.cells if region.L23 is not None else 1,
                 "L23.distal": region.l23_params.cells if region.L23 is not None else 1}
    for name, store in region._stores().items():
        syn = store.live_synapses()
        owner = store.segment_cell[syn.segment].astype(np.int64)
        ok, oc = np.divmod(owner, per_owner[name])
        pk, pc = np.divmod(syn.presynaptic, per_pre[name])
        mine = np.isin(ok, cols)
        rows = np.stack([syn.segment[mine].astype(np.int64), ok[mine], oc[mine], pk[mine], pc[mine],
                         syn.permanence[mine].view(np.int32).astype(np.int64)], axis=1)
        out[name] = rows[np.lexsort(rows.T[::-1])]
    return out


def _digest(rows: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(rows):
        h.update(name.encode())
        h.update(np.ascontiguousarray(rows[name]).tobytes())
    return h.hexdigest()


class Usage:
    """When each L2/3 cell was last active (in sensations) and how often columns were co-active.

    Call :meth:`observe` after every sensation; :meth:`idle` lists the cells silent for more than
    a number of sensations.  Vectorised: one assignment over the active cells per sensation.
    """

    def __init__(self, region: Region) -> None:
        self.cells = region.l23_params.cells
        self.clock = 0
        self.last_active = np.zeros(region.L23.n_cells, dtype=np.int64)
        self.co_activity = np.zeros((region.n_columns, region.n_columns), dtype=np.int64)

    def observe(self, region: Region) -> None:
        """Stamp the region's active L2/3 cells (one sensation passed)."""
        self.clock += 1
        active = region.L23.active_cells
        self.last_active[active] = self.clock
        on = (region.L23.counts_per_column() > 0).astype(np.int64)
        self.co_activity += np.outer(on, on)

    def grow(self, n_columns: int, cells: int) -> None:
        """Follow a :func:`grow_region` (new cells count as active now)."""
        C, P = self.co_activity.shape[0], self.cells
        last = np.full(n_columns * cells, self.clock, dtype=np.int64)
        last[remap_cells(np.arange(C * P), P, cells)] = self.last_active
        co = np.zeros((n_columns, n_columns), dtype=np.int64)
        co[:C, :C] = self.co_activity
        self.last_active, self.co_activity, self.cells = last, co, int(cells)

    def idle(self, sensations: int) -> np.ndarray:
        """Cells silent for more than ``sensations`` sensations (flat, sorted)."""
        return np.flatnonzero(self.clock - self.last_active > int(sensations))


def prune(region: Region, usage: Usage, *, idle_sensations: int = 0, synapses: int = 0) -> dict[str, int]:
    """Free L2/3 cells past the budget: silent for more than ``idle_sensations`` (0: off), then the
    least recently active while the region holds more than ``synapses`` (0: no cap).

    Returns ``{"synapses_before", "synapses_after", "cells_freed"}``.
    """
    before = region.n_synapses
    freed = np.zeros(0, dtype=np.int64)
    if idle_sensations > 0:
        freed = usage.idle(idle_sensations)
        free_l23_cells(region, freed)
    while synapses > 0 and region.n_synapses > synapses:  # a few passes: shared synapses count twice
        layer = region.L23
        load = np.zeros(layer.n_cells, dtype=np.int64)
        for store in (layer.proximal, layer.distal):
            live = np.flatnonzero(store.segment_cell >= 0)
            load += np.bincount(store.segment_cell[live], weights=store.segment_synapse_count[live],
                                minlength=layer.n_cells).astype(np.int64)
        load += np.bincount(layer.distal.live_synapses().presynaptic, minlength=layer.n_cells)
        if region.L4.apical is not None and region.apical_size == region.l23_params.cells:
            load += np.bincount(region.L4.apical.live_synapses().presynaptic, minlength=layer.n_cells)
        order = np.lexsort((np.arange(layer.n_cells), usage.last_active))  # stalest first
        order = order[load[order] > 0]
        if order.size == 0:
            break  # what is left is not L2/3's to free
        excess = region.n_synapses - synapses
        more = order[: int(np.searchsorted(np.cumsum(load[order]), excess)) + 1]
        free_l23_cells(region, more)
        freed = union_ints(freed, more)
    return {"synapses_before": int(before), "synapses_after": int(region.n_synapses), "cells_freed": int(freed.size)}


# ---------------------------------------------------------------------- touching, re-exposure
def _holders(code: sparse.csr_array) -> np.ndarray:
    return np.diff(code.indptr) > 0


def touch(region: Region, world: Any, codes: list[sparse.csr_array], objects: np.ndarray, rng: np.random.Generator,
          *, max_sensations: int, overlap_threshold: int, max_active: int,
          usage: Usage | None = None) -> dict[str, np.ndarray]:
    """Touch each object through the touch protocol's one loop (:func:`regions.experiments.touch_objects`:
    columns at distinct pairs, one random order per object), the recognition rule over the columns
    that hold a code of it, ``usage`` counting the active cells after every sensation; the region
    is reset afterwards.

    Returns ``sensations`` (float, ``inf`` when never converged) and ``correct`` ``(objects,
    max_sensations)``.
    """
    from .experiments import touch_objects

    res = touch_objects(region, world, codes, objects, rng, max_sensations=max_sensations,
                        overlap_threshold=overlap_threshold, max_active=max_active,
                        after_sensation=None if usage is None else usage.observe)
    region.reset()
    return {"sensations": res["sensations_to_converge"], "correct": res["correct"]}


def reexpose_object(region: Region, world: Any, obj: int, code: sparse.csr_array, episode: int, *,
                    repeats: int, rng: np.random.Generator, max_sensations: int, overlap_threshold: int,
                    max_active: int, listen: bool = True, usage: Usage | None = None) -> sparse.csr_array | None:
    """One exposure of a stored object after growth: the old columns recognise it, the new ones learn it.

    The columns holding a code of ``obj`` (rows of ``code``) infer while the object is touched,
    until they recognise it (``None`` is returned when they do not within ``max_sensations``).
    Then every pair of the object is sensed once more, held ``repeats`` steps: the other columns
    (the learners) draw a fresh L2/3 code and learn it as in one-shot learning -- L4 basal and
    apical segments, L2/3 proximal segments onto their L4 and lateral segments onto the active
    codes of their sources.  The holders get no L4 input and keep their recognised code; with
    ``listen`` they add lateral segments onto the learners' codes.  Segments learned here carry the
    object's learning ``episode`` (votes add to those of the old columns).  Returns the object's
    code over all columns.
    """
    C, P = region.n_columns, region.l23_params.cells
    holders = _holders(code)
    if holders.all():
        return code
    if not holders.any():
        raise ValueError(f"object {obj}: no column holds a code to re-expose")
    # 1. the holders recognise the object; the learners get no input yet (a column that knows only
    #    some objects would vote for those: it joins once it has learned this one)
    region.reset()
    cols = np.arange(C)
    order = rng.permutation(world.features_per_object)
    teacher = None
    mcs, locs = region.l4_params.minicolumns, region.location_size
    for s in range(max_sensations):
        mc, loc = region._inputs(*world.sense(int(obj), order[(s * C + cols) % world.features_per_object]))
        res = region.infer_sensation(flatten_rows_inverse(mc[holders[mc // mcs]], C, mcs),
                                     flatten_rows_inverse(loc[holders[loc // locs]], C, locs))
        if usage is not None:
            usage.observe(region)
        if recognised(region.overlaps_with(code)[holders], res.l23_active[holders],
                      overlap_threshold=overlap_threshold, max_active=max_active):
            act = region.L23.active_cells.astype(np.int64)
            teacher = act[holders[act // P]]
            break
    if teacher is None:
        region.reset()
        return None
    # 2. the learners learn it; the holders hold their code
    layer, l4 = region.L23, region.L4
    region.reset()
    learners = np.flatnonzero(~holders)
    picks = np.argsort(region.rng.random((learners.size, P)), axis=1)[:, : region.l23_params.sdr_size]
    fresh = np.sort((picks + learners[:, None] * P).reshape(-1))
    layer.active_cells = teacher.astype(np.int32)
    learner_col = ~holders
    nothing = np.zeros(0, dtype=np.int64)
    for i in range(world.features_per_object):
        mc, loc = region._inputs(*world.sense(int(obj), np.full(C, i)))
        mc, loc = mc[learner_col[mc // mcs]], loc[learner_col[loc // locs]]
        layer.begin_sensation()
        for _ in range(int(repeats)):
            l4.compute(mc, loc, region._apical(None), learn=True)
            prev = layer.active_cells.astype(np.int64)
            layer.proximal.timestep += 1
            layer.distal.timestep += 1
            learned_as = int(episode) if episode >= 0 else None
            layer.learn_cells(fresh, l4.active_cells, l4.winner_cells, prev, episode=learned_as)
            from_new = prev[learner_col[prev // P]]
            if listen and from_new.size:
                layer.learn_cells(teacher, nothing, nothing, from_new, episode=learned_as)
            layer.previous_active_cells = layer.active_cells
            layer.active_cells = union_ints(teacher, fresh).astype(np.int32)
    out = flatten_rows_inverse(np.sort(union_ints(code_cells(code, P), fresh)), C, P)
    if usage is not None:
        usage.observe(region)
    region.reset()
    return out


def code_cells(code: sparse.csr_array, cells: int) -> np.ndarray:
    """Flat cells of a per-column code (row ``k``'s cell ``c`` -> ``k * cells + c``)."""
    counts = np.diff(code.indptr)
    return np.asarray(code.indices, dtype=np.int64) + np.repeat(np.arange(counts.size) * int(cells), counts)


# ---------------------------------------------------------------------------- checkpoints
def _memory_key(region: str, what: str) -> str:
    return f"growth.{region}.{what}"


def remember_shape(net: Network, name: str) -> None:
    """Keep region ``name``'s grown shape (columns, L2/3 cells, lateral edges) in ``net.memory``."""
    r = net.regions[name]
    net.memory[_memory_key(name, "columns")] = np.array([r.n_columns], dtype=np.int64)
    net.memory[_memory_key(name, "l23_cells")] = np.array([r.l23_params.cells], dtype=np.int64)
    edges = np.array(sorted((min(u, v), max(u, v)) for u, v in r.lateral_graph.edges), dtype=np.int64)
    net.memory[_memory_key(name, "edges")] = edges.reshape(-1, 2)


def restore_grown_shapes(net: Network, arrays: dict[str, np.ndarray]) -> None:
    """Regrow the regions of a freshly built ``net`` to the shapes a saved grown network had
    (``memory/growth.<region>.*``), so that its saved arrays load.  Nothing for a network that
    never grew."""
    for spec in net.config.regions:
        key = "memory/" + _memory_key(spec.name, "columns")
        if key not in arrays:
            continue
        region = net.regions[spec.name]
        C2 = int(np.asarray(arrays[key])[0])
        P2 = int(np.asarray(arrays["memory/" + _memory_key(spec.name, "l23_cells")])[0])
        graph = nx.Graph()
        graph.add_nodes_from(range(C2))
        graph.add_edges_from(np.asarray(arrays["memory/" + _memory_key(spec.name, "edges")]).tolist())
        same = {tuple(sorted(e)) for e in graph.edges} == {tuple(sorted(e)) for e in region.lateral_graph.edges}
        if (C2, P2) != (region.n_columns, region.l23_params.cells) or not same:
            grow_region(region, C2 - region.n_columns, l23_cells=P2 - region.l23_params.cells, graph=graph)
        net.lateral[spec.name] = region.lateral_graph


# ------------------------------------------------------------------------------ protocol
class TouchObjectsGrowthParams(Params):
    """``experiment.params`` of ``touch_objects_growth``.

    ``in_use``: the objects still in use are the last ``in_use`` learned (0: all); before pruning
    (``growth.budget``) a use phase touches only them, so the cells of the others fall silent.
    Recognition follows ``touch_objects``: every column holding a code of the object overlaps it by
    ``overlap_threshold`` cells with at most ``max_active`` active.
    """

    model_config = ConfigDict(extra="forbid")

    learn_repeats: PositiveInt = 3
    overlap_threshold: PositiveInt = 30
    max_active: PositiveInt = 60
    in_use: NonNegativeInt = 0


def _mean(x: np.ndarray) -> float | None:
    finite = np.isfinite(x)
    return float(np.mean(x[finite])) if finite.any() else None


@register_builder("touch_objects_growth", "experiment", params=TouchObjectsGrowthParams, protocol=True,
                  uses=Uses().but(add_keys={"phases", "growth"}, drop_keys={"noise"},
                                  layers={"L6", "L4", "L23", "L1"}))
def run_touch_objects_growth(net: Network, *, progress: ProgressFactory, trial: int) -> dict[str, Any]:
    """Learn feature objects into a region that grows part-way (``growth.schedule``), re-expose the
    objects learned before each growth so the new columns learn them, prune under ``growth.budget``,
    and recognise by touch.  Without a ``growth`` block: the same run on a region that never grows
    (the baseline).  ``experiment.phases: [test]`` evaluates a loaded (grown) network.

    Metrics: ``table`` has one row per growth stage (before it, right after it, after each
    re-exposure) with the recognition and mean sensations of the objects learned before it;
    ``growth_<i>_old_columns_identical`` checks that growing changed nothing of the old columns.
    With a use phase (``in_use``) and a budget, ``synapses_before_prune`` / ``synapses_after_prune``
    and ``cells_freed``; the final test (``mean_sensations_to_converge``, ``in_use_recognised``,
    ``idle_recognised``, ``old_recognised``) comes after the pruning, so objects out of use may be
    forgotten there.
    """
    config = net.config
    p = TouchObjectsGrowthParams.model_validate(config.experiment.params)
    e = config.experiment
    g = config.growth
    name = (g.region if g is not None and g.region is not None else config.regions[0].name)
    region = net.regions[name]
    world = net.world
    rng = net.rng
    N = int(e.n_objects)
    kw = dict(max_sensations=e.max_sensations, overlap_threshold=p.overlap_threshold, max_active=p.max_active)
    usage = Usage(region)
    metrics: dict[str, Any] = {"columns_start": region.n_columns}
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    if "train" in e.phases:
        codes: list[sparse.csr_array] = []
        episodes = np.full(N, -1, dtype=np.int64)
        events = list(g.schedule) if g is not None else []
        stops = [ev.after_objects for ev in events] + [N]
        bar = progress(total=N, desc="learn", unit="obj")
        learned = 0
        for step, stop in enumerate(stops):
            for obj in range(learned, stop):
                lo = learn_object(region, (world.sense(obj, np.full(region.n_columns, i))
                                           for i in range(world.features_per_object)), p.learn_repeats)
                codes.append(lo.code)
                episodes[obj] = region.L23.episode
                usage.observe(region)
                region.reset()
                bar.update(1)
            learned = stop
            if step == len(events):
                break
            ev = events[step]
            old = np.arange(learned)
            before = touch(region, world, codes, old, rng, **kw)
            C, P = region.n_columns, region.l23_params.cells
            old_cols = np.arange(C)
            digest = _digest(column_synapses(region, old_cols))
            n_syn = region.n_synapses
            rule = g.rule
            spec = config.region(name).lateral
            topology = rule.topology if rule.topology is not None else spec.topology if spec.edges is None else None
            graph = grown_graph(region.lateral_graph, C + ev.add_columns, attach=rule.attach, topology=topology,
                                args=rule.args if rule.topology is not None else spec.args, k=rule.k or 4,
                                co_activity=usage.co_activity, seed=int(rng.integers(2**31)))
            t_grow = time.perf_counter()
            grow_region(region, ev.add_columns, l23_cells=ev.l23_cells, graph=graph)
            metrics[f"growth_{step + 1}_time_s"] = time.perf_counter() - t_grow
            net.lateral[name] = region.lateral_graph
            usage.grow(region.n_columns, region.l23_params.cells)
            codes = [remap_code(c, region.n_columns, region.l23_params.cells) for c in codes]
            identical = _digest(column_synapses(region, old_cols)) == digest and region.n_synapses == n_syn
            after = touch(region, world, codes, old, rng, **kw)
            label = f"growth {step + 1}: {C} -> {region.n_columns} columns"
            rows.append({"growth": step + 1, "columns": C, "stage": "before growth", "exposures": 0,
                         "objects": int(old.size), "recognised": float(np.isfinite(before["sensations"]).mean()),
                         "mean_sensations": _mean(before["sensations"])})
            rows.append({"growth": step + 1, "columns": region.n_columns, "stage": "grown", "exposures": 0,
                         "objects": int(old.size), "recognised": float(np.isfinite(after["sensations"]).mean()),
                         "mean_sensations": _mean(after["sensations"])})
            metrics[f"growth_{step + 1}"] = label
            metrics[f"growth_{step + 1}_old_columns_identical"] = bool(identical)
            metrics[f"growth_{step + 1}_old_recognised_before"] = rows[-2]["recognised"]
            metrics[f"growth_{step + 1}_old_recognised_after"] = rows[-1]["recognised"]
            missed = 0
            for x in range(1, g.reexpose + 1):
                for obj in old:
                    out = reexpose_object(region, world, int(obj), codes[obj], int(episodes[obj]),
                                          repeats=p.learn_repeats, rng=rng, listen=g.listen_to_new, usage=usage, **kw)
                    if out is None:
                        missed += 1
                    else:
                        codes[obj] = out
                res = touch(region, world, codes, old, rng, **kw)
                rows.append({"growth": step + 1, "columns": region.n_columns, "stage": "re-exposed", "exposures": x,
                             "objects": int(old.size), "recognised": float(np.isfinite(res["sensations"]).mean()),
                             "mean_sensations": _mean(res["sensations"])})
            metrics[f"growth_{step + 1}_old_sensations_after_exposures"] = rows[-1]["mean_sensations"]
            metrics[f"growth_{step + 1}_reexposures_unrecognised"] = int(missed)
        bar.close()
        store_codes(net, "object_codes", codes)
        net.memory["growth.episodes"] = episodes
        if g is not None:
            remember_shape(net, name)
    else:
        codes = recall_codes(net, "object_codes")
        if len(codes) < N:
            raise ValueError(f"the loaded network learned {len(codes)} objects; experiment.n_objects is {N}")
    metrics["learn_time_s"] = time.perf_counter() - t0
    metrics["columns"] = region.n_columns
    metrics["l23_cells"] = region.l23_params.cells
    metrics["objects"] = N
    budget = g.budget if g is not None else None
    in_use = np.arange(N - p.in_use, N) if p.in_use else np.arange(N)
    if "train" in e.phases and (p.in_use or (budget is not None and (budget.idle_sensations or budget.synapses))):
        use = touch(region, world, codes, in_use, rng, usage=usage, **kw)  # the use phase
        metrics["in_use_recognised_before_prune"] = float(np.isfinite(use["sensations"]).mean())
        if budget is not None:
            t_prune = time.perf_counter()
            pr = prune(region, usage, idle_sensations=budget.idle_sensations, synapses=budget.synapses)
            metrics["prune_time_s"] = time.perf_counter() - t_prune
            metrics.update({"synapses_before_prune": pr["synapses_before"], "synapses_after_prune": pr["synapses_after"],
                            "cells_freed": pr["cells_freed"]})
    if "test" in e.phases:
        res = touch(region, world, codes, np.arange(N), rng, **kw)
        sens = res["sensations"]
        metrics["mean_sensations_to_converge"] = _mean(sens)
        metrics["fraction_converged"] = float(np.isfinite(sens).mean())
        used = np.zeros(N, dtype=bool)
        used[in_use] = True
        metrics["in_use_recognised"] = float(np.isfinite(sens[used]).mean())
        if not used.all():
            metrics["idle_recognised"] = float(np.isfinite(sens[~used]).mean())
        first = g.schedule[0].after_objects if g is not None else 0
        if first:
            metrics["old_mean_sensations"] = _mean(sens[:first])
            metrics["old_recognised"] = float(np.isfinite(sens[:first]).mean())
        acc = res["correct"].mean(axis=0)
        metrics["series"] = {"accuracy_vs_sensations": {
            "x": list(range(1, len(acc) + 1)), "y": [float(a) for a in acc],
            "xlabel": "sensations", "ylabel": "fraction of objects recognised"}}
    metrics["synapses"] = int(region.n_synapses)
    metrics["sensations_per_object"] = [float(x) for x in sens] if "test" in e.phases else []
    stage = "never grown" if "train" in e.phases else "loaded"
    metrics["table"] = rows or [{"growth": 0, "columns": region.n_columns, "stage": stage, "exposures": 0,
                                 "objects": N,
                                 "recognised": metrics.get("fraction_converged"),
                                 "mean_sensations": metrics.get("mean_sensations_to_converge")}]
    return metrics
