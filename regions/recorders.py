"""Recorders: per-iteration layer activity of a region, for figures (column rasters).

:class:`ActivityRecorder` is an ``observe`` hook for ``Region.infer_sensation`` (and
``Network.step``): it writes down, after every settling iteration of the sensations it is given,
which L2/3 and L4 cells are active.  The touch protocol hands it the touches of its first test
object, so the raster shows the sensations that were measured (same touches, same noise), not a
separate re-run.  The result is plain lists (JSON-ready) in the form
:func:`regions.figures.column_activity` draws.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["ActivityRecorder", "flat_code"]


def flat_code(code: sparse.csr_array | sparse.spmatrix) -> list[int]:
    """A per-column code (CSR, one row per column) -> flat cell ids ``row * width + cell``, sorted."""
    csr = sparse.csr_array(code)
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    return sorted(int(v) for v in rows * csr.shape[1] + csr.indices)


class ActivityRecorder:
    """Record L2/3 and L4 activity after every settling iteration of the observed sensations.

    Parameters
    ----------
    obj : the object being touched (written into the result).
    code : its learned L2/3 code (CSR, one row per column), drawn highlighted.
    region : the :class:`~regions.region.Region` that senses (read for the layer widths).

    Use :meth:`hook` ``(sensation)`` as the ``observe`` argument of every settling call of that
    sensation, then :meth:`result`.
    """

    def __init__(self, obj: int, code: Any, region: Any) -> None:
        self.obj = int(obj)
        self.code = flat_code(code)
        self.widths = {"L23": int(region.l23_params.cells), "L4": int(region.L4.cells_per_column)}
        self.steps: list[dict[str, Any]] = []

    def hook(self, sensation: int) -> Callable[[int, Any], None]:
        """The ``observe(iteration, region)`` hook for 0-based ``sensation``.

        Iterations are numbered on from the sensation's earlier calls, so a sensation settled in
        several calls (per-step noise) reads as one run of iterations.
        """
        first = sum(1 for st in self.steps if st["sensation"] == sensation + 1)

        def observe(iteration: int, reg: Any) -> None:
            self.steps.append({"sensation": int(sensation) + 1, "iteration": first + int(iteration),
                               "L23": [int(c) for c in reg.L23.active_cells],
                               "L4": [int(c) for c in reg.L4.active_cells]})

        return observe

    def result(self) -> dict[str, Any]:
        """``{"object", "steps", "cells_per_column", "code"}``: ``steps`` holds one entry per settling
        iteration ``{"sensation": s (1-based), "iteration": i (0-based), "L23": [flat ids], "L4":
        [flat ids]}`` (flat id = ``column * cells_per_column[layer] + cell``); ``code`` the flat ids
        of the object's learned code."""
        return {"object": self.obj, "steps": list(self.steps), "cells_per_column": dict(self.widths),
                "code": list(self.code)}
