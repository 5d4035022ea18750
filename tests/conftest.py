"""Test-suite settings: property tests are derandomized so every run (and CI) draws the same
examples; set HYPOTHESIS_PROFILE=explore to draw fresh random examples locally."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
