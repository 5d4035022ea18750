"""A region: N columns sharing batched layer state, wired laterally by a graph.

Each sensation settles: the L4 -> L2/3 exchange (L2/3 votes through lateral
distal segments, L2/3 feeds L4 apical dendrites through L1) repeats until the joint
L2/3 state is a fixed point, a cycle is detected, or a step limit is hit
(:class:`regions.consensus.SettleTracker`).  All columns are computed in one set of
kernel calls per layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from scipy import sparse

from columns.column import Column
from columns.dendrites import DendriteStore
from columns.layers.l23 import L23Layer, L23Params
from columns.layers.l4 import L4Layer, L4Params
from columns.layers.l6 import L6Layer, L6Params

from .consensus import SettleResult, SettleTracker

if TYPE_CHECKING:  # pragma: no cover
    from .gridpath import GridCodes, InferenceResult
    from .worlds.grid_objects import GridObjectWorld

__all__ = ["Region", "SensationResult", "flatten_rows", "lateral_adjacency"]


def flatten_rows(rows: sparse.csr_array | sparse.csr_matrix | list[np.ndarray], size: int) -> np.ndarray:
    """Per-column index arrays (CSR rows or a list) -> one flat index array (row ``k`` offset by ``k * size``)."""
    if isinstance(rows, list):
        rows = sparse.csr_array(
            (np.ones(sum(len(r) for r in rows), dtype=bool),
             np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]) if rows else np.zeros(0, np.int64),
             np.r_[0, np.cumsum([len(r) for r in rows])]),
            shape=(len(rows), size),
        )
    indptr = np.asarray(rows.indptr)
    counts = np.diff(indptr)
    return rows.indices.astype(np.int64) + np.repeat(np.arange(counts.size, dtype=np.int64) * size, counts)


def lateral_adjacency(graph: nx.Graph | None, n_columns: int) -> np.ndarray:
    """Boolean ``(n, n)`` adjacency of a lateral graph on nodes ``0..n-1`` (None: all-to-all)."""
    if graph is None:
        return ~np.eye(n_columns, dtype=bool)
    if graph.number_of_nodes() != n_columns:
        raise ValueError(f"lateral graph has {graph.number_of_nodes()} nodes, the region has {n_columns} columns")
    g = nx.convert_node_labels_to_integers(graph, ordering="sorted") if set(graph.nodes) != set(range(n_columns)) else graph
    adj = nx.to_numpy_array(g, nodelist=range(n_columns), dtype=float) > 0
    if not g.is_directed():
        adj |= adj.T
    np.fill_diagonal(adj, False)
    return adj


@dataclass
class SensationResult:
    """What one sensation did.

    Attributes
    ----------
    settle : how the L2/3 exchange ended (fixed point, cycle or limit; entry time, period).
    l23_active : active L2/3 cells per column after settling, int ``(n_columns,)``.
    l4_active : active L4 cells per column on the first settling iteration.
    l4_bursting : bursting minicolumns per column on the first iteration.
    active_synapses : synapses touched over the whole sensation (an energy proxy).
    l23_trajectory : flat L2/3 activity at each settling iteration (when recorded).
    """

    settle: SettleResult
    l23_active: np.ndarray
    l4_active: np.ndarray
    l4_bursting: np.ndarray
    active_synapses: int
    l23_trajectory: list[np.ndarray] = field(default_factory=list)


class Region:
    """N columns with L4, L2/3 (and a grid-module L6), voting laterally.

    Parameters
    ----------
    n_columns : number of columns.
    location_size : L4 basal (location) input bits per column (with ``l6``: ignored, the L6 cells
        per column are L4's basal input).
    l4, l23 : layer parameters.
    l6 : grid-module L6 parameters (Lewis et al. 2019): the region holds ``L6``, an
        :class:`~columns.layers.l6.L6Layer` whose active cells are L4's basal input and whose anchor
        segments sample L4 (L4 -> L6 anchoring); see the grid methods below.  None: the location is an
        input (the world's location SDR).
    object_layer : build L2/3 (``L23``); False for a column without an object layer (``L23`` is None).
    lateral : networkx graph of lateral connections (None: all-to-all).
    apical_feedback : L2/3 -> L1 -> L4 apical feedback within each column.
    apical_size : L4 apical input bits per column.  Default: this column's L2/3 cells
        (feedback from its own object layer).  A hierarchy sets it to the size of a
        higher region's output and passes ``apical_input`` to the sensing methods.
    settle_max_iterations : bound on the settling exchange per sensation.
    seed : one seed reproduces everything.
    """

    def __init__(
        self,
        n_columns: int,
        location_size: int = 2400,
        l4: L4Params | None = None,
        l23: L23Params | None = None,
        lateral: nx.Graph | None = None,
        *,
        apical_feedback: bool = True,
        apical_size: int | None = None,
        settle_max_iterations: int = 10,
        seed: int | np.random.Generator | None = 0,
        l6: L6Params | None = None,
        object_layer: bool = True,
    ) -> None:
        self.n_columns = int(n_columns)
        if self.n_columns <= 0:
            raise ValueError(f"n_columns must be a positive integer, got {n_columns}")
        if int(settle_max_iterations) <= 0:
            raise ValueError(f"settle_max_iterations must be positive, got {settle_max_iterations}")
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.l4_params = l4 or L4Params()
        self.l23_params = l23 or L23Params()
        self.l6_params = l6
        self.location_size = int(location_size) if l6 is None else l6.cells_per_column
        self.lateral_graph = lateral if lateral is not None else nx.complete_graph(self.n_columns)
        self.adjacency = lateral_adjacency(self.lateral_graph, self.n_columns)
        self.apical_feedback = bool(apical_feedback)
        self.settle_max_iterations = int(settle_max_iterations)
        self.apical_size = (self.l23_params.cells if apical_size is None else int(apical_size)) if apical_feedback else 0
        self.L4 = L4Layer(self.n_columns, self.location_size, self.apical_size, self.l4_params, self.rng)
        self.L23: L23Layer | None = (
            L23Layer(self.n_columns, self.L4.cells_per_column, self.adjacency, self.l23_params, self.rng)
            if object_layer else None)
        self.L6: L6Layer | None = (
            L6Layer(self.n_columns, self.L4.cells_per_column, l6, self.rng) if l6 is not None else None)
        layers: dict[str, tuple[Any, int]] = {"L4": (self.L4, self.L4.cells_per_column)}
        if self.L23 is not None:
            layers["L23"] = (self.L23, self.l23_params.cells)
        if self.L6 is not None:
            layers["L6"] = (self.L6, self.L6.cells_per_column)
        self.columns = [Column(k, dict(layers)) for k in range(self.n_columns)]
        self._grid_readout: Any = None

    # --------------------------------------------------------------- inputs
    def _inputs(self, features, locations) -> tuple[np.ndarray, np.ndarray]:
        mc = flatten_rows(features, self.l4_params.minicolumns)
        loc = flatten_rows(locations, self.location_size)
        return mc, loc

    def reset(self) -> None:
        """Clear activity between objects (learned synapses stay)."""
        self.L4.reset()
        if self.L23 is not None:
            self.L23.reset()
        if self.L6 is not None:
            self.L6.reset()

    # ------------------------------------------------------------- sensing
    def _apical(self, apical_input: np.ndarray | None) -> np.ndarray | None:
        if not self.apical_feedback:
            return None
        return self.L23.active_cells if apical_input is None else apical_input

    def learn_sensation(self, features, locations, repeats: int = 3,
                        apical_input: np.ndarray | None = None,
                        observe: Callable[[int, Region], None] | None = None) -> np.ndarray:
        """Learn one sensation per column (one (feature, location) pair each), held ``repeats`` steps.

        ``features`` / ``locations``: CSR batches (one row per column) or lists of index arrays.
        Returns the number of active L4 cells (all columns) at each repeat, int ``(repeats,)``:
        a novel pair bursts on the first repeat.  ``apical_input`` (flat L4 apical bits)
        replaces the default feedback from this region's own L2/3.  ``observe(repeat, region)``,
        when given, is called after every repeat (``0 .. repeats - 1``) with the layers' state of
        that repeat (the hook :meth:`infer_sensation` offers per settling iteration).
        """
        self._require_object_layer("learn_sensation")
        mc, loc = self._inputs(features, locations)
        self.L23.begin_sensation()
        l4_active = np.zeros(int(repeats), dtype=np.int64)
        for r in range(int(repeats)):
            self.L4.compute(mc, loc, self._apical(apical_input), learn=True)
            l4_active[r] = self.L4.active_cells.size
            self.L23.compute(self.L4.active_cells, self.L4.winner_cells, learn=True)
            if observe is not None:
                observe(r, self)
        return l4_active

    def infer_sensation(self, features, locations, *, record: bool = False,
                        max_iterations: int | None = None,
                        apical_input: np.ndarray | None = None,
                        resense: Callable[[int], tuple[Any, Any]] | None = None,
                        observe: Callable[[int, Region], None] | None = None) -> SensationResult:
        """Sense one pair per column and settle the L2/3 exchange to a fixed point or cycle.

        ``apical_input`` (flat L4 apical bits) replaces the feedback from this region's L2/3.
        ``resense(iteration)``, when given, returns fresh ``(features, locations)`` for settling
        iterations ``1, 2, ...`` (iteration 0 uses ``features`` / ``locations``): the 2017
        reference's noise protocol draws noise afresh at every settling step.
        ``observe(iteration, region)``, when given, is called after every settling iteration
        (``0, 1, ...``) with the layers' state of that iteration: the hook a recorder uses to
        write any layer per settling iteration.
        """
        self._require_object_layer("infer_sensation")
        mc, loc = self._inputs(features, locations)
        limit = self.settle_max_iterations if max_iterations is None else int(max_iterations)
        tracker = SettleTracker(limit)
        tracker.observe(self._state_key())
        trajectory: list[np.ndarray] = []
        synapses = 0
        l4_active = l4_burst = None
        iteration = 0
        while True:
            if resense is not None and iteration > 0:
                mc, loc = self._inputs(*resense(iteration))
            iteration += 1
            self.L4.compute(mc, loc, self._apical(apical_input), learn=False)
            if l4_active is None:
                l4_active = np.bincount(self.L4.active_cells // self.L4.cells_per_column, minlength=self.n_columns)
                l4_burst = np.bincount(self.L4.bursting_minicolumns // self.l4_params.minicolumns,
                                       minlength=self.n_columns)
            self.L23.compute(self.L4.active_cells, learn=False)
            synapses += self.L4.n_active_synapses + self.L23.n_active_synapses
            if record:
                trajectory.append(self.L23.active_cells.copy())
            if observe is not None:
                observe(iteration - 1, self)
            if tracker.observe(self._state_key()):
                break
        return SensationResult(
            settle=tracker.result,
            l23_active=self.L23.counts_per_column(),
            l4_active=l4_active,
            l4_bursting=l4_burst,
            active_synapses=synapses,
            l23_trajectory=trajectory,
        )

    def _require_object_layer(self, method: str) -> None:
        if self.L23 is None:
            raise ValueError(f"Region.{method} settles the L2/3 object layer, which this region does not have "
                             "(list L23 in column.layers)")

    # ------------------------------------------------------- grid path (L6 grid modules)
    def _require_grid(self, method: str) -> L6Layer:
        if self.L6 is None:
            raise ValueError(f"Region.{method} needs a grid-module L6 (list L6 with kind: grid_modules in "
                             "column.layers)")
        return self.L6

    def _displace(self, displacement: np.ndarray | None) -> None:
        if displacement is not None:
            self.L6.path_integrate(np.asarray(displacement, dtype=np.float64))

    def learn_grid_sensation(self, minicolumns: np.ndarray,
                             displacement: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Move, then learn one feature at the current grid location (one shot), every column at once.

        With an object layer, L2/3 learns the sensation onto the object's code (call :meth:`reset`
        between objects) and the L4 winners grow apical segments onto that code.

        ``minicolumns``: flat active L4 minicolumns (column ``k``'s offset by ``k * minicolumns``);
        ``displacement``: the sensor's movement since the last sensation, world units, ``(2,)`` or
        ``(n_columns, 2)`` (None: no movement).  L4 learns on basal segments onto the L6 learnable
        cells (the most excited cell of each module), L6 grows anchor segments from those cells onto
        the L4 winner cells.  Returns ``(learnable L6 cells, L4 winner cells)``, flat and sorted.
        """
        l6 = self._require_grid("learn_grid_sensation")
        self._displace(displacement)
        learnable = l6.learnable_cells()
        self.L4.compute(np.asarray(minicolumns, dtype=np.int64), learnable, None, learn=True)
        l6.learn(self.L4.winner_cells)
        winners = self.L4.winner_cells.astype(np.int64)
        if self.L23 is not None:
            # the object layer keeps the object's code and learns this sensation onto it; the L4
            # winners grow apical segments onto the code (feedback)
            self.L23.begin_sensation()
            self.L23.compute(winners, winners, learn=True)
            if self.L4.apical is not None:
                from columns.layers.l4 import column_candidates

                from .gridpath import grow_apical

                code = np.sort(self.L23.active_cells.astype(np.int64))
                grow_apical(self, winners, column_candidates(winners // self.L4.cells_per_column, code,
                                                             self.apical_size, self.n_columns))
        self._grid_readout = None
        return l6.sensory_cells.astype(np.int64), winners

    def infer_grid_sensation(self, minicolumns: np.ndarray, displacement: np.ndarray | None = None) -> np.ndarray:
        """Move (path-integrate every bump), sense (L4 on the active grid cells), anchor L6 to L4.

        With an object layer the sensation settles L4 <-> L2/3 first (:meth:`infer_sensation`: L2/3
        votes laterally and feeds L4's apical tie-break) and L6 anchors to the settled L4 activity.
        Arguments as :meth:`learn_grid_sensation`.  Returns the anchored L6 cells (the location
        hypotheses the sensation left), flat sorted int32.
        """
        l6 = self._require_grid("infer_grid_sensation")
        self._displace(displacement)
        minicolumns = np.sort(np.asarray(minicolumns, dtype=np.int64))
        if self.L23 is None:
            self.L4.compute(minicolumns, l6.active_cells, None, learn=False)
        else:  # settle L4 <-> L2/3 (votes, apical feedback) on the grid location
            self.infer_sensation(flatten_rows_inverse(minicolumns, self.n_columns, self.l4_params.minicolumns),
                                 flatten_rows_inverse(l6.active_cells, self.n_columns, self.location_size))
        return l6.anchor_to(self.L4.active_cells)

    def learn_grid_objects(self, world: GridObjectWorld, *, initial_phases: np.ndarray | None = None,
                           sequential: bool = False) -> GridCodes:
        """Learn every object of a :class:`~regions.worlds.grid_objects.GridObjectWorld` (one pass each).

        Batched over objects (:func:`regions.gridpath.learn_objects`; sensation by sensation through
        :meth:`learn_grid_sensation` when ``sequential`` or when batching would change the result).
        ``initial_phases`` ``(n_objects, n_columns, modules, 2)``: start locations (drawn from this
        region's generator when None).  Returns the learned codes (:class:`regions.gridpath.GridCodes`).
        """
        from . import gridpath

        self._require_grid("learn_grid_objects")
        learn = gridpath.learn_sequential if sequential else gridpath.learn_objects
        codes = learn(self, world, initial_phases=initial_phases)
        self._grid_readout = None
        self.reset()
        return codes

    def infer_grid_episodes(self, world: GridObjectWorld, codes: GridCodes, orders: np.ndarray, *,
                            objects: np.ndarray | None = None, record: bool = False, seed: int = 0,
                            sequential: bool = False) -> InferenceResult:
        """Touch learned grid objects, one inference episode per test object, all episodes at once.

        Episodes are a batch axis of this region's layers (the learned synapses shared read-only,
        the activity of each episode one row): :func:`regions.gridpath.infer_episodes`.  ``orders``
        int ``(n_test, n_columns, steps)``: the feature each column touches at each step; ``objects``:
        the learned object ids tested (default all).  With an object layer every touch settles
        L4 <-> L2/3 (episode ``e``'s random fill from ``default_rng([seed, e])``).  ``sequential``:
        episode by episode through :meth:`infer_grid_sensation` instead (the reference, same result).
        """
        from . import gridpath

        self._require_grid("infer_grid_episodes")
        if sequential:
            return gridpath.infer_sequential(self, world, codes, orders, objects=objects, seed=seed)
        return gridpath.infer_episodes(self, world, codes, orders, objects=objects, record=record, seed=seed)

    def _state_key(self) -> np.ndarray:
        # the joint state that settles: L2/3 activity (L4 follows from it and the fixed input)
        return self.L23.active_cells

    # ------------------------------------------------------------- readout
    def l23_codes(self) -> list[np.ndarray]:
        """Each column's active L2/3 cells (local indices)."""
        return [c.L23.active for c in self.columns]

    def overlaps_with(self, codes: sparse.csr_array) -> np.ndarray:
        """Overlap of each column's L2/3 activity with a per-column code (CSR, one row per column)."""
        act = flatten_rows_inverse(self.L23.active_cells, self.n_columns, self.l23_params.cells)
        return np.asarray(act.multiply(codes).sum(axis=1)).reshape(-1).astype(np.int64)

    def _stores(self) -> dict[str, "DendriteStore"]:
        stores = {"L4.basal": self.L4.basal}
        if self.L23 is not None:
            stores.update({"L23.proximal": self.L23.proximal, "L23.distal": self.L23.distal})
        if self.L4.apical is not None:
            stores["L4.apical"] = self.L4.apical
        if self.L6 is not None:
            stores["L6.anchor"] = self.L6.anchor
        return stores

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every learned array of the region (dendrite stores and L2/3 segment maps), for saving."""
        arrays: dict[str, np.ndarray] = {}
        for name, store in self._stores().items():
            arrays.update(store.to_arrays(prefix=f"{name}."))
        if self.L23 is not None:
            arrays.update(self.L23.state_arrays())
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_arrays` saved (shapes must match this region's parameters)."""
        from columns.dendrites import DendriteStore

        self.reset()
        for name, store in self._stores().items():
            restored = DendriteStore.from_arrays(arrays, prefix=f"{name}.")
            if (restored.n_cells, restored.n_presynaptic) != (store.n_cells, store.n_presynaptic):
                raise ValueError(
                    f"saved {name} store has shape {(restored.n_cells, restored.n_presynaptic)}, "
                    f"this region expects {(store.n_cells, store.n_presynaptic)}"
                )
            layer, attr = name.split(".")
            if name == "L6.anchor":
                self.L6.replace_anchor_store(restored)
            else:
                setattr(getattr(self, layer), attr, restored)
        if self.L23 is not None:
            self.L23.load_state_arrays(arrays)
        self._grid_readout = None

    @property
    def n_synapses(self) -> int:
        """Synapses in all dendrite stores of the region."""
        return sum(s.n_synapses for s in self._stores().values())

    @property
    def nbytes(self) -> int:
        """Bytes held by all dendrite stores."""
        return sum(s.nbytes for s in self._stores().values())


def flatten_rows_inverse(flat: np.ndarray, n_rows: int, size: int) -> sparse.csr_array:
    """Flat indices (row ``k`` offset by ``k * size``, sorted) -> CSR batch ``(n_rows, size)``."""
    flat = np.asarray(flat, dtype=np.int64)
    rows = flat // size
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n_rows))]
    return sparse.csr_array((np.ones(flat.size, dtype=bool), flat - rows * size, indptr), shape=(n_rows, size))
