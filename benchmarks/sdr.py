"""Speed of the SDR toolkit (columns.sdr): scalar algebra, batches, noise, encoders.

Run:  python benchmarks/sdr.py          (about half a minute on one core)

Prints one row per operation: the best-of-5 time per call and, where it helps, the time of a
plain-numpy or plain-Python reference doing the same work.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from columns.sdr import (  # noqa: E402
    SDR,
    CategoryEncoder,
    CoordinateEncoder,
    ScalarEncoder,
    add_noise,
    add_noise_batch,
    batch,
    batch_overlap,
    batch_overlap_rows,
    batch_overlap_sdr,
    batch_union_rows,
    difference,
    false_match_probability,
    intersection,
    overlap,
    random_batch,
    random_sdr,
    union,
)


def best_time(function, target_seconds: float = 0.2) -> float:
    """Best-of-5 seconds per call, with the call count chosen to fill ``target_seconds``."""
    function()
    number = 1
    while True:
        elapsed = timeit.timeit(function, number=number)
        if elapsed > target_seconds / 5 or number > 1_000_000:
            break
        number *= 4
    return min(timeit.repeat(function, number=number, repeat=5)) / number


def show(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:9.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:9.2f} ms"
    return f"{seconds:9.2f} s "


def main() -> None:
    rng = np.random.default_rng(0)
    rows: list[tuple[str, float, str]] = []

    def add(name: str, function, reference=None, reference_name: str = "") -> None:
        mine = best_time(function)
        other = f"{show(best_time(reference))}  {reference_name}" if reference else ""
        rows.append((name, mine, other))
        print(f"{name:<52} {show(mine)}   {other}", flush=True)

    print(f"{'operation':<52} {'time/call':>12}   reference")
    print("-" * 100)

    # scalar algebra on 40-of-2048 index arrays -------------------------------------------
    a = random_sdr(2048, 40, rng)
    b = random_sdr(2048, 40, rng)
    ai, bi = a.indices, b.indices
    sa, sb = set(ai.tolist()), set(bi.tolist())
    add("overlap(a, b)  arrays, 40 of 2048", lambda: overlap(ai, bi),
        lambda: np.intersect1d(ai, bi, assume_unique=True).size, "np.intersect1d(...).size")
    add("overlap(a, b)  SDR objects", lambda: overlap(a, b),
        lambda: len(sa & sb), "len(set & set)")
    add("union(a, b)", lambda: union(ai, bi), lambda: np.union1d(ai, bi), "np.union1d")
    add("intersection(a, b)", lambda: intersection(ai, bi),
        lambda: np.intersect1d(ai, bi, assume_unique=True), "np.intersect1d(assume_unique)")
    add("difference(a, b)", lambda: difference(ai, bi),
        lambda: np.setdiff1d(ai, bi, assume_unique=True), "np.setdiff1d(assume_unique)")
    many = [random_sdr(2048, 40, rng).indices for _ in range(50)]
    add("union of 50 SDRs", lambda: union(*many), lambda: np.unique(np.concatenate(many)),
        "np.unique(concatenate)")
    long = random_sdr(100_000, 5000, rng).indices
    add("overlap 40 vs 5000 of 100000 (binary search)", lambda: overlap(ai, long),
        lambda: np.intersect1d(ai, long, assume_unique=True).size, "np.intersect1d(...).size")
    add("SDR(2048, indices)  validated", lambda: SDR(2048, ai))
    add("a | b  on SDR objects", lambda: a | b)
    add("random_sdr(2048, 40)", lambda: random_sdr(2048, 40, rng))
    add("add_noise(40 of 2048, 0.3)", lambda: add_noise(a, 0.3, rng))
    add("false_match_probability(2048, 40, 20, 10)", lambda: false_match_probability(2048, 40, 20, 10))

    # batches -------------------------------------------------------------------------------
    objects = random_batch(1000, 2048, 40, rng)
    probes = random_batch(1000, 2048, 40, rng)
    object_rows = [objects.indices[objects.indptr[i]:objects.indptr[i + 1]] for i in range(1000)]
    add("random_batch(10000, 2048, 40)", lambda: random_batch(10_000, 2048, 40, rng),
        lambda: [np.sort(rng.choice(2048, 40, replace=False)) for _ in range(10_000)],
        "loop of rng.choice")
    add("random_batch(10000, 64, 40)  dense regime", lambda: random_batch(10_000, 64, 40, rng))
    add("random_batch(1000, 4096, 40)", lambda: random_batch(1000, 4096, 40, rng))
    add("batch(1000 index arrays, 2048)", lambda: batch(object_rows, 2048))
    add("batch_overlap 1000 x 1000, 40 of 2048", lambda: batch_overlap(objects, probes),
        lambda: [[overlap(x, y) for y in object_rows[:100]] for x in object_rows[:100]],
        "(100 x 100 Python loop of overlap)")
    wide = random_batch(5000, 4096, 40, rng)
    few = random_batch(50, 4096, 40, rng)
    add("batch_overlap 50 x 5000, 40 of 4096", lambda: batch_overlap(few, wide))
    add("batch_overlap 50 x 50, 40 of 4096", lambda: batch_overlap(few, wide[:50]))
    add("batch_overlap_sdr 5000 rows vs one SDR", lambda: batch_overlap_sdr(wide, few.indices[:40]))
    add("batch_overlap_rows 1000 paired rows", lambda: batch_overlap_rows(objects, probes))
    add("batch_union_rows 1000 rows", lambda: batch_union_rows(objects))
    big = random_batch(10_000, 2048, 40, rng)
    add("add_noise_batch(10000 x 40 of 2048, 0.3)", lambda: add_noise_batch(big, 0.3, rng),
        lambda: [add_noise(r, 0.3, rng, size=2048) for r in object_rows],
        "(1000-row loop of add_noise)")

    # encoders ------------------------------------------------------------------------------
    labels = [f"feature-{i}" for i in range(1000)]
    add("CategoryEncoder.encode_many 1000 new labels",
        lambda: CategoryEncoder(2048, 40, seed=1).encode_many(labels))
    cached = CategoryEncoder(2048, 40, seed=1)
    cached.encode_many(labels)
    add("CategoryEncoder.encode_many 1000 cached labels", lambda: cached.encode_many(labels))
    values = rng.uniform(0, 1, 10_000)
    contiguous = ScalarEncoder(2048, 40, 0, 1)
    random_kind = ScalarEncoder(2048, 40, 0, 1, kind="random", n_buckets=100_000)
    add("ScalarEncoder contiguous encode_many 10000", lambda: contiguous.encode_many(values))
    add("ScalarEncoder random encode_many 10000", lambda: random_kind.encode_many(values))
    points = rng.uniform(-500, 500, (1000, 2))
    coordinate = CoordinateEncoder(2048, 40, radius=6, seed=1)
    add("CoordinateEncoder encode_many 1000 pts, r=6 (113 nbrs)", lambda: coordinate.encode_many(points))
    add("CoordinateEncoder encode one point", lambda: coordinate.encode(points[0]))


if __name__ == "__main__":
    main()
