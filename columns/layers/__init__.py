"""Cortical layers, each batched over all columns of a region.

L4 (input), L2/3 (object pooling + lateral votes), L6 (location), L5 (action); L1 feedback
arrives as L4's apical input.
"""

from .l4 import L4Layer, L4Params
from .l5 import L5Layer, L5Params
from .l6 import L6Layer, L6Params
from .l23 import L23Layer, L23Params

__all__ = ["L4Layer", "L4Params", "L23Layer", "L23Params", "L5Layer", "L5Params", "L6Layer", "L6Params"]
