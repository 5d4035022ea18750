"""Cortical layers, each batched over all columns of a region.

L4 (input), L2/3 (object pooling + lateral votes), L6 (location), L5 (action), L1 (feedback).
"""

from .l4 import L4Layer, L4Params

__all__ = ["L4Layer", "L4Params"]
