"""Compositions of the one model written in YAML: what the composition changes, measured.

(a) ``configs/grid_objects_ring.yaml``: 8 columns on a ring, each [L6 grid modules, L4, L2/3, L1],
touching grid objects.  The table compares, on the same objects (the world is drawn from the
config seed alone), sensations to recognise for

* 1 column without an object layer (``configs/grid_objects.yaml``'s column),
* the 8 columns voting over a plain ring (``cycle_graph``, the shipped config),
* a wider ring (``circulant_graph`` with offsets [1, 2]: 4 neighbours) and all-to-all votes,
* the 8 columns with their L2/3 but no lateral edges (``empty_graph``: no votes), and
* the 8 columns without L2/3 / L1 (``[L6, L4]``: no object layer at all).

An object is recognised when every column's anchored location cells single it out (see
:mod:`regions.locations`), so columns that do not vote need the slowest column's sensations.

    python benchmarks/compositions.py        # 100 objects of pool 100, 20 of pool 10; seeds 0-2 (~3 minutes)
    python benchmarks/compositions.py --objects 50 --pool 20 --seeds 1

Each row runs the protocol through ``build(config).run()``, the path ``cortical run`` takes.
Measured on the 2-core development machine shared with other jobs (seconds vary with the load;
sensations are deterministic for the fixed seeds; the 8-column ring took 7.3 s at load ~7.9 before
the grid path's connected matrices and bulk stores were built in linear time)::

    sensations to recognise, 100 grid objects (pool 100, 10 features), the same objects per seed; seeds 0-2 (load average 1.65 2.67 4.00)
                   composition  recognised  median   mean          per seed (mean)  seconds
             1 column [L6, L4]       1.000     3.0   2.97           2.89,2.99,3.02      0.1
          8 ring (cycle_graph)       1.000     2.0   2.17           2.16,2.21,2.15      2.8
         8 ring offsets [1, 2]       1.000     2.0   2.17           2.16,2.21,2.15      3.2
                  8 all-to-all       1.000     2.0   2.17           2.16,2.21,2.15      4.1
      8 no edges (empty_graph)       1.000     3.0   2.90           2.89,2.95,2.87      2.2
       8 without L2/3 [L6, L4]       1.000     4.0   4.08           4.04,4.23,3.98      0.4

    sensations to recognise, 20 grid objects (pool 10, 10 features), the same objects per seed; seeds 0-2 (load average 1.36 2.48 3.89)
                   composition  recognised  median   mean          per seed (mean)  seconds
             1 column [L6, L4]       0.967     7.0   8.24           9.20,6.79,8.74      0.0
          8 ring (cycle_graph)       1.000     3.0   3.08           3.15,3.10,3.00      0.6
         8 ring offsets [1, 2]       1.000     3.0   3.08           3.15,3.10,3.00      0.5
                  8 all-to-all       1.000     3.0   3.08           3.15,3.10,3.00      0.6
      8 no edges (empty_graph)       1.000     5.0   5.47           5.30,5.10,6.00      0.5
       8 without L2/3 [L6, L4]       0.883    10.0  12.75        13.81,11.28,13.16      0.2

A plain ring is enough: within a touch's settling (at most 10 iterations) the votes cross the
ring (diameter 4) and the L2/3 activity reaches the fixed point all-to-all votes reach (the same
L2/3 active-cell counts touch by touch where compared: 20 objects, pool 10), hence the same
sensations on every seed -- so the shipped config uses ``cycle_graph`` (3 distal sources per column
instead of 8: fewer synapses, faster).  Recognition needs every column to single the object out:
8 columns without L2/3 need the slowest of 8 independent columns' touches, more than 1 column
(4.08 vs 2.97, 12.75 vs 8.24); with L2/3 and L1 but no lateral edges each column's own object
layer narrows its L4 by apical feedback (2.90, 5.47), and the ring's votes do the rest.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

# run as a script, this folder comes first on sys.path and benchmarks/columns.py would shadow
# the columns package: put the repository root first instead
_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if pathlib.Path(p or ".").resolve() != _ROOT / "benchmarks"]

import numpy as np  # noqa: E402

import yaml  # noqa: E402

import regions.locations  # noqa: E402,F401  (registers grid_objects)
from regions import build, load_config  # noqa: E402
from regions.config import Config, config_from_dict  # noqa: E402

RING = _ROOT / "configs" / "grid_objects_ring.yaml"

#: (row name, overrides of configs/grid_objects_ring.yaml); a column without L2/3 also drops the L23 block
VARIANTS: list[tuple[str, list[str]]] = [
    ("1 column [L6, L4]", ["regions[0].columns=1", "regions[0].column.layers=[L6, L4]",
                           "regions[0].lateral={topology: complete_graph}"]),
    ("8 ring (cycle_graph)", []),
    ("8 ring offsets [1, 2]", ['regions[0].lateral={"topology": "circulant_graph", "args": {"offsets": [1, 2]}}']),
    ("8 all-to-all", ["regions[0].lateral={topology: complete_graph}"]),
    ("8 no edges (empty_graph)", ["regions[0].lateral={topology: empty_graph}"]),
    ("8 without L2/3 [L6, L4]", ["regions[0].column.layers=[L6, L4]"]),
]


def ring_config(overrides: list[str], seed: int, objects: int, pool: int = 100) -> Config:
    """configs/grid_objects_ring.yaml with ``overrides``, ``seed``, ``objects`` and feature ``pool``; a column
    whose layers leave out L23 loses the file's L23 block (a block for an absent layer is refused)."""
    overrides = [*overrides, f"seed={seed}", f"experiment.n_objects={objects}", f"experiment.n_features={pool}"]
    if not any("layers=" in o and "L23" not in o for o in overrides):
        return load_config(RING, overrides)
    data = yaml.safe_load(RING.read_text())
    del data["regions"][0]["column"]["L23"]
    return config_from_dict(data, overrides)


def run(overrides: list[str], seed: int, objects: int, pool: int) -> dict:
    """One run of the ring config with ``overrides``; the metrics of its single trial."""
    cfg = ring_config(overrides, seed, objects, pool)
    t0 = time.perf_counter()
    metrics = build(cfg).run()[0]
    metrics["seconds"] = time.perf_counter() - t0
    return metrics


def table(seeds: int, objects: int, pool: int) -> None:
    print(f"\nsensations to recognise, {objects} grid objects (pool {pool}, 10 features), the same objects per seed; "
          f"seeds 0-{seeds - 1} (load average %.2f %.2f %.2f)" % os.getloadavg())
    print(f"{'composition':>26} {'recognised':>11} {'median':>7} {'mean':>6} {'per seed (mean)':>24} {'seconds':>8}")
    for name, overrides in VARIANTS:
        runs = [run(overrides, seed, objects, pool) for seed in range(seeds)]
        acc = np.mean([r["accuracy"] for r in runs])
        medians = [r["median_sensations"] for r in runs]
        means = [r["mean_sensations"] for r in runs]
        per_seed = ",".join(f"{m:.2f}" for m in means)
        print(f"{name:>26} {acc:>11.3f} {np.median(medians):>7.1f} {np.mean(means):>6.2f} {per_seed:>24} "
              f"{np.median([r['seconds'] for r in runs]):>8.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="config seeds 0 .. seeds-1 (fresh objects each)")
    parser.add_argument("--objects", type=int, nargs="+", default=[100, 20],
                        help="grid objects learned and touched, one table each")
    parser.add_argument("--pool", type=int, nargs="+", default=[100, 10],
                        help="feature pool of each table (as many as --objects)")
    args = parser.parse_args()
    if len(args.pool) != len(args.objects):
        raise SystemExit(f"give one --pool per --objects, got {args.pool} for {args.objects}")
    if args.seeds < 1 or min(args.objects) < 1 or min(args.pool) < 1:
        raise SystemExit(f"--seeds, --objects and --pool must be positive, got {args.seeds}, {args.objects}, "
                         f"{args.pool}")
    for objects, pool in zip(args.objects, args.pool):
        table(args.seeds, objects, pool)


if __name__ == "__main__":
    main()
