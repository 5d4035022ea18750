"""A cortical column as a *view* onto region-wide batched layer state.

``region.columns[3].L23.active`` reads like an object, but the state lives in one
array per layer for the whole region (structure of arrays); a view slices it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["Column", "LayerView"]


class _BatchedLayer(Protocol):
    active_cells: np.ndarray
    n_columns: int


class LayerView:
    """One column's slice of a batched layer.

    Parameters
    ----------
    layer : the batched layer (has ``active_cells`` as flat sorted indices).
    column : column index.
    cells_per_column : cells of this layer in one column.
    """

    def __init__(self, layer: _BatchedLayer, column: int, cells_per_column: int) -> None:
        self._layer = layer
        self.column = int(column)
        self.cells_per_column = int(cells_per_column)

    def _local(self, flat: np.ndarray) -> np.ndarray:
        lo = self.column * self.cells_per_column
        a = np.asarray(flat)
        i0, i1 = np.searchsorted(a, [lo, lo + self.cells_per_column])
        return (a[i0:i1] - lo).astype(np.int32)

    @property
    def active(self) -> np.ndarray:
        """Active cells of this column (local indices, sorted int32)."""
        return self._local(self._layer.active_cells)

    def __getattr__(self, name: str) -> np.ndarray:
        # any other flat cell array of the layer (winner_cells, predicted_cells, ...)
        value = getattr(self._layer, name)
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu":
            return self._local(value)
        return value

    def __repr__(self) -> str:
        return f"LayerView({type(self._layer).__name__}, column={self.column}, active={self.active.size})"


class Column:
    """Column ``index`` of a region: its layers as views (``L4``, ``L23``, and ``L6`` when present)."""

    def __init__(self, index: int, layers: dict[str, tuple[_BatchedLayer, int]]) -> None:
        self.index = int(index)
        self._views = {name: LayerView(layer, index, n) for name, (layer, n) in layers.items()}

    def __getattr__(self, name: str) -> LayerView:
        views = self.__dict__.get("_views", {})
        if name in views:
            return views[name]
        raise AttributeError(f"column has no layer {name!r}; layers: {sorted(views)}")

    @property
    def layers(self) -> list[str]:
        """Names of the layers this column has."""
        return sorted(self._views)

    def __repr__(self) -> str:
        return f"Column({self.index}, layers={self.layers})"
