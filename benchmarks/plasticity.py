"""Benchmark local plasticity: synapse budget under endless growth, rule speed, boosting.

1. Budget.  A region store (8 columns x 1024 cells, 8192 presynaptic cells) is fed
   1e5 online sensations of random activity: 160 presynaptic cells and 20 owner
   cells active per sensation; each active owner cell reinforces its matching
   segments (Hebbian, +0.05/-0.01) or grows a new segment with 16 synapses onto the
   active presynaptic cells at permanence 0.3.  Random activity rarely matches, so
   the store grows ~320 synapses per sensation (3.2e7 over the run) unless a
   :class:`SynapseBudget` prunes it.  Prints synapses, segments and bytes every 1e4
   sensations; with a budget of 1e5 synapses they must stay bounded.  The per-step
   workload is kept small (20 learning cells, 16 synapses each) so that 1e5
   sensations take about 3 CPU minutes here; most of it is ``grow_synapses``.
   Times are CPU time of this process (``time.process_time``): the machine is shared.

2. Rule speed.  A store of about 1 M synapses (16 columns x 2048 cells, 20
   synapses per segment onto cells of the same column) learns with each rule, 40
   active presynaptic and 40 active owner cells per column: microseconds per
   ``learn`` step and synapses touched per step.

3. Homeostasis.  A k-winners-take-all population (120 cells, k = 6) with receptive
   fields of unequal size, fed random overlapping inputs (30 of 300 bits) for 3000
   steps: entropy of cell usage (nats; the maximum is log 120 = 4.787) and unused
   cells, without and with boosting.

Usage: python benchmarks/plasticity.py [--sensations N] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from columns.dendrites import DendriteStore  # noqa: E402
from columns.plasticity import (  # noqa: E402
    kwta_usage,
    BCMRule,
    HebbianRule,
    Homeostasis,
    STDPRule,
    SynapseBudget,
    usage_entropy,
)


# ------------------------------------------------------------------ budget
def run_budget(sensations: int, budget: SynapseBudget | None, report_every: int, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    n_columns, cells = 8, 1024
    n_cells = n_pre = n_columns * cells
    store = DendriteStore(n_cells, n_pre, 0.5, max_synapses_per_segment=32)
    rule = HebbianRule(0.05, 0.01)
    rows = []
    start = time.process_time()  # CPU time of this process: the machine is shared
    for step in range(1, sensations + 1):
        store.timestep = step
        active_pre = rng.choice(n_pre, size=160, replace=False)
        active_post = rng.choice(n_cells, size=20, replace=False)
        activity = store.compute_activity(active_pre)
        matching = activity.matching_segments(8)
        owner = store.segment_cell[matching]
        flag = np.zeros(n_cells, dtype=bool)
        flag[active_post] = True
        learning = matching[flag[owner]]
        rule.learn(store, learning, active_pre)
        flag[owner] = False  # cells with a matching segment need no new one
        new_cells = active_post[flag[active_post]]
        segments = store.create_segments(new_cells)
        if budget is None:
            store.grow_synapses(segments, active_pre, 16, 0.3, rng)
        else:
            budget.grow_synapses(store, segments, active_pre, 16, 0.3, rng)
        if step % report_every == 0:
            elapsed = time.process_time() - start
            rows.append((step, store.n_synapses, store.n_segments, store.nbytes, elapsed,
                         budget.n_pruned if budget else 0))
    return rows


def print_budget(rows: list[tuple], title: str) -> None:
    print(title)
    header = f"{'sensations':>10} {'synapses':>10} {'segments':>9} {'bytes':>12} {'B/syn':>6} {'pruned':>11} {'cpu s':>9} {'us/sens':>8}"
    print(header)
    print("-" * len(header))
    last_step, last_t = 0, 0.0
    for step, n_syn, n_seg, nbytes, elapsed, pruned in rows:
        per = (elapsed - last_t) / (step - last_step) * 1e6
        print(f"{step:>10,} {n_syn:>10,} {n_seg:>9,} {nbytes:>12,} {nbytes / max(n_syn, 1):>6.1f} {pruned:>11,} {elapsed:>9.1f} {per:>8.0f}")
        last_step, last_t = step, elapsed
    print()


# --------------------------------------------------------------- rule speed
def build_store(rng: np.random.Generator, n_columns: int = 16, cells: int = 2048, n_synapses: int = 1_000_000,
                syn_per_seg: int = 20) -> DendriteStore:
    n_cells = n_columns * cells
    n_seg = n_synapses // syn_per_seg
    seg_cell = np.sort(rng.integers(0, n_cells, size=n_seg)).astype(np.int32)
    syn_seg = np.repeat(np.arange(n_seg, dtype=np.int64), syn_per_seg)
    col = np.repeat(seg_cell // cells, syn_per_seg).astype(np.int64)
    offs = (rng.integers(0, cells, size=(n_seg, 1)) + np.arange(syn_per_seg) * (cells // syn_per_seg)) % cells
    pre = col * cells + offs.reshape(-1)
    perm = rng.uniform(0.3, 0.8, size=pre.size).astype(np.float32)
    return DendriteStore.from_synapses(n_cells, n_cells, 0.5, seg_cell, syn_seg, pre, perm,
                                       max_synapses_per_segment=64)


def time_rules(steps: int) -> None:
    n_columns, cells, active = 16, 2048, 40
    print(f"rule speed: {n_columns} columns x {cells} cells, ~1 M synapses, {active} active pre and post cells per column")
    header = f"{'rule':<28} {'us/step':>9} {'synapses touched/step':>22} {'ns/synapse':>11} {'synapses after':>15}"
    print(header)
    print("-" * len(header))
    rules = [
        ("hebbian (segments of post)", HebbianRule(0.05, 0.01)),
        ("stdp all-to-all", STDPRule(0.01, 0.012, 20.0, 20.0)),
        ("stdp nearest", STDPRule(0.01, 0.012, 20.0, 20.0, pairing="nearest")),
        ("bcm", BCMRule(0.01, 5.0, 100.0, 0.1)),
    ]
    for name, rule in rules:
        rng = np.random.default_rng(1)
        store = build_store(rng, n_columns, cells)
        base = np.arange(n_columns)[:, None] * cells
        touched = 0
        elapsed = 0.0
        for t in range(steps):
            store.timestep = t
            pre = (base + rng.choice(cells, size=active, replace=False)).reshape(-1)
            post = (base + rng.choice(cells, size=active, replace=False)).reshape(-1)
            start = time.process_time()
            if isinstance(rule, HebbianRule):
                flag = np.zeros(store.n_cells + 1, dtype=bool)
                flag[post] = True
                segments = np.flatnonzero(flag[store.segment_cell])
                rule.learn(store, segments, pre)
            else:
                rule.learn(store, None, pre, post_active=post, t=t)
            elapsed += time.process_time() - start
            if isinstance(rule, HebbianRule):
                touched += int(store.segment_synapse_count[segments].sum())
            else:
                touched += store.synapses_of_presynaptic(pre).slots.size
                if isinstance(rule, STDPRule):
                    flag = np.zeros(store.n_cells + 1, dtype=bool)
                    flag[post] = True
                    touched += int(store.segment_synapse_count[flag[store.segment_cell]].sum())
        print(f"{name:<28} {elapsed / steps * 1e6:>9.0f} {touched // steps:>22,} {elapsed / max(touched, 1) * 1e9:>11.0f} "
              f"{store.n_synapses:>15,}")
    print()


# -------------------------------------------------------------- homeostasis


def print_homeostasis(seeds: int) -> None:
    print(f"homeostasis: k-WTA, 120 cells, k = 6, 3000 steps; max entropy log(120) = {math.log(120):.3f} nats")
    header = f"{'seed':>4} {'strength':>8} {'entropy':>8} {'unused':>7} {'min wins':>9} {'max wins':>9}"
    print(header)
    print("-" * len(header))
    for seed in range(seeds):
        for strength in (0.0, 10.0, 50.0):
            counts = kwta_usage(strength, seed)
            print(f"{seed:>4} {strength:>8.0f} {usage_entropy(counts):>8.3f} {int(np.sum(counts == 0)):>7} "
                  f"{int(counts.min()):>9} {int(counts.max()):>9}")
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sensations", type=int, default=100_000, help="online sensations in the budget run")
    ap.add_argument("--budget", type=int, default=100_000, help="synapse budget")
    ap.add_argument("--quick", action="store_true", help="1e4 sensations, fewer rule steps")
    args = ap.parse_args(argv)
    sensations = 10_000 if args.quick else args.sensations
    report_every = max(sensations // 10, 1)

    unbounded = run_budget(min(sensations, 5_000), None, max(min(sensations, 5_000) // 5, 1))
    print_budget(unbounded, "no budget (first sensations only): the store grows without bound")
    budget = SynapseBudget(args.budget, low_water=0.8, policy="weakest")
    rows = run_budget(sensations, budget, report_every)
    print_budget(rows, f"budget {args.budget:,} synapses (prune weakest to 80 %), {sensations:,} sensations")
    peak = max(r[1] for r in rows)
    print(f"target: synapses <= {args.budget:,} at every report -> peak {peak:,}; "
          f"bytes at the end {rows[-1][3]:,} (peak {max(r[3] for r in rows):,})")
    print()
    time_rules(20 if args.quick else 100)
    print_homeostasis(1 if args.quick else 3)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
