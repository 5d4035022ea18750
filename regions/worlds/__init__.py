"""Sensorimotor environments. Worlds know nothing of columns: they hand out features and
locations/displacements per sensor and take motor commands."""

from .feature_objects import FeatureObjectWorld

__all__ = ["FeatureObjectWorld"]
