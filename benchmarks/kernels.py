"""Benchmark the event-driven dendrite kernels (DendriteStore).

Builds stores of 1 M, 4 M and 16 M synapses laid out like a region's L2/3
distal dendrites: 64 columns x 4096 cells, a few segments per cell, 20 synapses
per segment onto cells of the same column.  40 presynaptic cells per column are
active.  Prints, per store: microseconds per ``compute_activity``, per learning
step (reinforce the active segments, grow synapses, create new segments; the
amortised merge of new synapses is included), bytes per synapse (every array,
every index), and the ratio of compute time when the synapse count is doubled by
adding presynaptic cells that stay silent (same active synapses).

Targets: 16 M synapses, 64 x 40 active cells: compute < 2 ms on one core;
doubling at fixed activity changes compute time by < 25 %; <= 16 bytes/synapse.

Usage: python benchmarks/kernels.py [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from columns.dendrites import DendriteStore  # noqa: E402
from columns.layers.l4 import column_candidates  # noqa: E402

N_COLUMNS = 64
CELLS = 4096
ACTIVE = 40
SYN_PER_SEG = 20


def build_store(n_synapses: int, rng: np.random.Generator, silent_copies: int = 0) -> tuple[DendriteStore, int]:
    """A store of ``n_synapses`` column-local synapses (+ as many per silent copy).

    Silent copies add a fresh block of 64 x 4096 presynaptic cells that never fire,
    with the same number of synapses onto new segments of the same owner cells.
    """
    n_cells = N_COLUMNS * CELLS
    n_seg = n_synapses // SYN_PER_SEG
    blocks = 1 + silent_copies
    seg_cell = np.tile(np.sort(rng.integers(0, n_cells, size=n_seg)).astype(np.int32), blocks)
    syn_seg = np.repeat(np.arange(n_seg * blocks, dtype=np.int64), SYN_PER_SEG)
    col = np.repeat(seg_cell // CELLS, SYN_PER_SEG).astype(np.int64)
    # 20 distinct presynaptic cells per segment inside the owner's column
    offs = (rng.integers(0, CELLS, size=(n_seg * blocks, 1)) + np.arange(SYN_PER_SEG) * (CELLS // SYN_PER_SEG)) % CELLS
    pre = col * CELLS + offs.reshape(-1)
    block = np.repeat(np.arange(blocks, dtype=np.int64), n_seg * SYN_PER_SEG)
    pre = pre + block * n_cells
    perm = rng.uniform(0.3, 0.8, size=pre.size).astype(np.float32)
    store = DendriteStore.from_synapses(
        n_cells, n_cells * blocks, 0.5, seg_cell, syn_seg, pre, perm,
        max_segments_per_cell=255, max_synapses_per_segment=64,
    )
    return store, n_cells


def active_cells(rng: np.random.Generator) -> np.ndarray:
    picks = np.argsort(rng.random((N_COLUMNS, CELLS)), axis=1)[:, :ACTIVE]
    return np.sort((picks + np.arange(N_COLUMNS)[:, None] * CELLS).reshape(-1))


def time_compute(store: DendriteStore, patterns: list[np.ndarray], repeats: int) -> tuple[float, int]:
    store.compute_activity(patterns[0])  # warm
    best = []
    touched = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for p in patterns:
            act = store.compute_activity(p)
        best.append((time.perf_counter() - t0) / len(patterns))
        touched = act.n_active_synapses
    return float(np.median(best)) * 1e6, touched


def time_learning(store: DendriteStore, patterns: list[np.ndarray], rng: np.random.Generator) -> float:
    """One learning step: compute, reinforce matching segments, grow on them, new segments on 1 cell/column.

    Synapses grow onto active cells of the segment's own column, as a layer grows them.
    """
    t0 = time.perf_counter()
    for t, p in enumerate(patterns):
        store.timestep = t
        act = store.compute_activity(p)
        matching = act.matching_segments(8)
        store.adapt_segments(matching, p, 0.1, 0.02)
        new = store.create_segments(p[::ACTIVE])  # one new segment per column
        # growth candidates: the active cells of the segment's own column
        store.grow_synapses(new, column_candidates(store.segment_cell[new] // CELLS, p, CELLS, N_COLUMNS),
                            SYN_PER_SEG, 0.41, rng)
        matching = matching[store.segment_cell[matching] >= 0]
        if matching.size:
            cols = store.segment_cell[matching] // CELLS
            store.grow_synapses(matching, column_candidates(cols, p, CELLS, N_COLUMNS), 2, 0.41, rng)
    return (time.perf_counter() - t0) / len(patterns) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small stores only (1 M), for smoke runs")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    sizes = [1_000_000] if args.quick else [1_000_000, 4_000_000, 16_000_000]
    patterns = [active_cells(rng) for _ in range(20)]
    print(f"{N_COLUMNS} columns x {CELLS} cells, {ACTIVE} active presynaptic cells per column, {SYN_PER_SEG} synapses/segment")
    header = f"{'synapses':>10} {'segments':>9} {'active syn':>10} {'compute us':>10} {'learn us':>9} {'B/syn':>6} {'x2 silent us':>12} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    rows = []
    for n in sizes:
        store, _ = build_store(n, rng)
        us, touched = time_compute(store, patterns, args.repeats)
        bps = store.nbytes / store.n_synapses
        big, _ = build_store(n, np.random.default_rng(args.seed + 1), silent_copies=1)
        us2, touched2 = time_compute(big, patterns, args.repeats)
        del big
        learn_us = time_learning(store, patterns, rng)
        rows.append((n, us, learn_us, bps, us2 / us))
        print(f"{store.n_synapses:>10,} {store.n_segments:>9,} {touched:>10,} {us:>10.0f} {learn_us:>9.0f} {bps:>6.2f} {us2:>12.0f} {us2 / us:>6.2f}")
    n, us, _, bps, ratio = rows[-1]
    print()
    print(f"target: compute < 2000 us at 16 M synapses -> {us:.0f} us at {n / 1e6:.0f} M")
    print(f"target: doubling ratio within 1.00 +/- 0.25  -> {ratio:.2f}")
    print(f"target: <= 16 bytes per synapse              -> {bps:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
