"""Every shipped config runs end to end (shrunk to seconds, on the installed dependency versions),
and every key it sets is read by its run (or is a known, listed gap): no silent key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from regions import build, load_config
from regions.config import track_reads, unread_keys

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))

#: One shrink table for every shipped-config test (tests/test_shipped_configs.py).
from test_shipped_configs import SHRINK  # noqa: E402

#: Keys read by the command line, not by the run (test_cli covers them).
CLI_KEYS = {("description",), ("output", "dir"), ("output", "plot")}

#: Known gaps of the one-model migration, each with why; the test fails when one is fixed (update
#: this list) and when a new silent key appears.
KNOWN_UNREAD: dict[str, set[tuple]] = {
    # grid_objects: read only when capacity_search is true (it is false in the shipped file)
    "grid_objects": {("experiment", "params", "min_accuracy"), ("experiment", "params", "capacity_increment"),
                     ("experiment", "params", "capacity_resolution")},
    # runs read these through a copy of the config (sweep points / private world builders)
    "critical_sweep": {("regions", 0, "column", "L23", "distal", "sample_size"),
                       ("regions", 0, "column", "L23", "distal", "threshold")},
}


def leaves(data, path=()):
    """Key paths of the values a YAML document sets (``x-`` anchor holders skipped)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and key.startswith("x-"):
                continue
            if isinstance(value, dict) and not value:
                continue  # an empty block (L1: {}) sets nothing
            yield from leaves(value, path + (key,))
    elif isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        for i, value in enumerate(data):
            yield from leaves(value, path + (i,))
    else:
        yield path


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_key_of_a_shipped_config_is_read_by_its_run(path):
    if path.stem not in SHRINK:
        pytest.fail(f"add a shrink entry for the new config {path.name} to SHRINK in {__file__}")
    cfg = load_config(path, SHRINK[path.stem])
    with track_reads() as reads:
        build(cfg).run()
    unread = set(unread_keys(cfg, reads, list(leaves(yaml.safe_load(path.read_text()))))) - CLI_KEYS
    assert unread == KNOWN_UNREAD.get(path.stem, set())


def test_the_tracker_sees_a_key_the_run_ignores():
    cfg = load_config(ROOT / "configs" / "touch_objects.yaml", SHRINK["touch_objects"])
    with track_reads() as reads:
        _ = cfg.regions[0].columns
    assert ("regions", 0, "column", "L4", "minicolumns") in unread_keys(
        cfg, reads, [("regions", 0, "columns"), ("regions", 0, "column", "L4", "minicolumns")])
