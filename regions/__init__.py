"""Many columns and how they are wired: regions, voting, hierarchies, worlds, dynamics, YAML, CLI.

>>> from regions import build, load_config          # doctest: +SKIP
>>> net = build(load_config("configs/touch_objects.yaml"))
>>> metrics = net.run()                              # one metrics dict per trial
>>> net.save("model.npz"); net2 = regions.load("model.npz")

Heavy submodules are imported on first use, so ``import regions`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "build": ("regions.builder", "build"),
    "load": ("regions.builder", "load_network"),
    "load_network": ("regions.builder", "load_network"),
    "Network": ("regions.network", "Network"),
    "load_config": ("regions.config", "load_config"),
    "Config": ("regions.config", "Config"),
    "ConfigError": ("regions.config", "ConfigError"),
    "Region": ("regions.region", "Region"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'regions' has no attribute {name!r}")
