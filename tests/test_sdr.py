"""Tests of columns.sdr: the SDR value object, set algebra, batches, noise, probabilities, encoders."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import hypergeom

from columns.sdr import (
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
    equal,
    false_match_probability,
    false_negative_probability,
    intersection,
    overlap,
    random_batch,
    random_sdr,
    sparsity,
    unbatch,
    union,
    union_fraction_off,
    validate_indices,
)

PROPERTY = settings(max_examples=60, deadline=None)


def moved_count(fraction: float, n_active: int) -> int:
    """round(fraction * n_active), halves up: the documented noise amount."""
    return int(math.floor(fraction * n_active + 0.5))


@st.composite
def index_arrays(draw, size: int, max_active: int | None = None):
    bits = draw(st.sets(st.integers(0, size - 1), max_size=max_active or size))
    return np.array(sorted(bits), dtype=np.int32)


@st.composite
def sized_triples(draw):
    size = draw(st.integers(1, 120))
    return size, draw(index_arrays(size)), draw(index_arrays(size)), draw(index_arrays(size))


# --------------------------------------------------------------------------------------------
# the SDR object
# --------------------------------------------------------------------------------------------


def test_sdr_canonical_form_sorts_and_is_read_only():
    sdr = SDR(64, [9, 3, 40, 1])
    assert sdr.indices.dtype == np.int32
    assert sdr.indices.tolist() == [1, 3, 9, 40]
    assert (sdr.size, sdr.shape, len(sdr), sdr.n_active) == (64, (64,), 4, 4)
    assert sdr.sparsity == pytest.approx(4 / 64)
    with pytest.raises(ValueError):
        sdr.indices[0] = 5
    source = np.array([1, 2, 3], dtype=np.int32)
    owned = SDR(8, source)
    source[0] = 7  # the SDR does not alias a caller's writable array
    assert owned.indices.tolist() == [1, 2, 3]


def test_dense_and_coordinate_views_for_minicolumns_by_cells():
    sdr = SDR((150, 16), [0, 17, 16 * 149 + 15])
    assert sdr.size == 2400 and sdr.shape == (150, 16)
    minicolumn, cell = sdr.coordinates
    assert minicolumn.tolist() == [0, 1, 149] and cell.tolist() == [0, 1, 15]
    assert sdr.dense.shape == (150, 16) and sdr.dense.sum() == 3
    assert sdr.dense[149, 15] and sdr.dense[1, 1]
    assert SDR.from_dense(sdr.dense) == sdr
    assert SDR.from_coordinates(sdr.coordinates, (150, 16)) == sdr
    assert sdr.reshape(2400) == SDR(2400, sdr.indices)
    assert sdr.reshape(2400) != sdr  # same bits, different shape


def test_from_dense_accepts_numbers_and_flat_arrays():
    assert SDR.from_dense(np.array([0, 2.5, 0, 1])).indices.tolist() == [1, 3]
    assert SDR.from_dense(np.zeros(5, bool)).n_active == 0


def test_value_semantics_eq_hash_repr_contains_pickle():
    a = SDR(100, [5, 7, 50])
    b = SDR(100, np.array([50, 5, 7], dtype=np.int64))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != SDR(101, [5, 7, 50]) and a != SDR(100, [5, 7])
    assert repr(a) == "SDR(100, [5, 7, 50])"
    assert "n_active=40" in repr(random_sdr(2048, 40, 0))
    assert 7 in a and 8 not in a and "x" not in a
    assert pickle.loads(pickle.dumps(a)) == a


def test_sdr_operators_match_module_functions():
    a, b = SDR(32, [1, 2, 3, 10]), SDR(32, [3, 10, 20])
    assert (a | b).indices.tolist() == [1, 2, 3, 10, 20]
    assert (a & b).indices.tolist() == [3, 10]
    assert (a - b).indices.tolist() == [1, 2]
    assert union(a, b) == a | b and intersection(a, b) == a & b and difference(a, b) == a - b
    assert a.overlap(b) == overlap(a, b) == 2
    assert equal(a, SDR(32, [10, 3, 2, 1])) and not equal(a, b)
    assert sparsity(a) == sparsity(a.indices, 32) == 4 / 32


def test_module_functions_on_arrays_return_int32_arrays():
    a = np.array([1, 4, 9], dtype=np.int32)
    b = np.array([4, 9, 12], dtype=np.int32)
    for result in (union(a, b), intersection(a, b), difference(a, b)):
        assert isinstance(result, np.ndarray) and result.dtype == np.int32
    assert union(a).tolist() == [1, 4, 9]
    assert union(a, b, np.array([0], np.int32)).tolist() == [0, 1, 4, 9, 12]


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indices", "message"),
    [
        ([1, 70], "index 70 out of range for an SDR of size 64"),
        ([-3, 1], "index -3 out of range for an SDR of size 64"),
        ([5, 2, 5], "duplicate index 5"),
        (np.array([1.0, 2.5]), "float64 array"),
        (np.array([True, False]), "boolean"),
        ([[1, 2]], "one-dimensional"),
    ],
)
def test_bad_indices_raise_value_error_naming_the_value(indices, message):
    with pytest.raises(ValueError, match=message):
        SDR(64, indices)
    with pytest.raises(ValueError, match=message):
        validate_indices(indices, 64)


def test_bad_sizes_counts_and_fractions():
    with pytest.raises(ValueError, match="n_active 70 is larger than size 64"):
        random_sdr(64, 70, 0)
    with pytest.raises(ValueError, match="n_active 9 is larger than size 8"):
        random_batch(3, 8, 9, 0)
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        SDR(0, [])
    with pytest.raises(ValueError, match="size must be an integer, got 2.5"):
        SDR(2.5, [])
    with pytest.raises(ValueError, match=r"fraction 1.5 is outside \[0, 1\]"):
        add_noise(SDR(10, [1]), 1.5, 0)
    with pytest.raises(ValueError, match=r"fraction -0.1 is outside \[0, 1\]"):
        add_noise_batch(random_batch(2, 10, 2, 0), -0.1, 0)
    with pytest.raises(ValueError, match="size is required"):
        add_noise(np.array([1, 2], np.int32), 0.5, 0)
    with pytest.raises(ValueError, match="rng must be"):
        random_sdr(10, 2, "seed")
    with pytest.raises(ValueError, match="cannot move 3 bits"):
        add_noise(SDR(4, [0, 1, 2]), 1.0, 0)


def test_binary_operations_reject_different_sizes():
    a, b = SDR(64, [1]), SDR(128, [1])
    for operation in (
        lambda: a | b,
        lambda: a & b,
        lambda: a - b,
        lambda: overlap(a, b),
        lambda: union(a, a, b),
        lambda: intersection(a, b),
        lambda: difference(a, b),
    ):
        with pytest.raises(ValueError, match="size 64 with one of size 128"):
            operation()
    with pytest.raises(ValueError, match="batches of size 64 and size 128"):
        batch_overlap(random_batch(2, 64, 3, 0), random_batch(2, 128, 3, 0))
    with pytest.raises(ValueError, match="rows\\[1\\] is an SDR of size 128, expected size 64"):
        batch([a, b])
    with pytest.raises(ValueError, match="float64 array"):
        overlap(np.array([1.0]), np.array([1], np.int32))


def test_batch_validation_names_value_and_row():
    with pytest.raises(ValueError, match="index 9 out of range for an SDR of size 8 .*row 1"):
        batch([[1, 2], [3, 9]], size=8)
    with pytest.raises(ValueError, match="duplicate index 3 in rows, row 1"):
        batch([[1, 2], [3, 3]], size=8)
    with pytest.raises(ValueError, match="float64 array"):
        batch([np.array([1.5])], size=8)
    with pytest.raises(ValueError, match="size is required"):
        batch([[1, 2]])


# --------------------------------------------------------------------------------------------
# algebra laws (hypothesis)
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(sized_triples())
def test_union_and_intersection_are_commutative_and_associative(triple):
    _, a, b, c = triple
    assert np.array_equal(union(a, b), union(b, a))
    assert np.array_equal(intersection(a, b), intersection(b, a))
    assert np.array_equal(union(union(a, b), c), union(a, union(b, c)))
    assert np.array_equal(union(a, b, c), union(a, union(b, c)))
    assert np.array_equal(intersection(intersection(a, b), c), intersection(a, intersection(b, c)))


@PROPERTY
@given(sized_triples())
def test_de_morgan_within_the_size(triple):
    size, a, b, _ = triple
    everything = np.arange(size, dtype=np.int32)

    def complement(x):
        return difference(everything, x)

    assert np.array_equal(complement(union(a, b)), intersection(complement(a), complement(b)))
    assert np.array_equal(complement(intersection(a, b)), union(complement(a), complement(b)))
    assert np.array_equal(difference(a, b), intersection(a, complement(b)))


@PROPERTY
@given(sized_triples())
def test_inclusion_exclusion_overlap_symmetry_and_set_reference(triple):
    _, a, b, _ = triple
    assert len(union(a, b)) == len(a) + len(b) - overlap(a, b)
    assert overlap(a, b) == overlap(b, a) == len(intersection(a, b))
    assert set(union(a, b).tolist()) == set(a.tolist()) | set(b.tolist())
    assert set(intersection(a, b).tolist()) == set(a.tolist()) & set(b.tolist())
    assert set(difference(a, b).tolist()) == set(a.tolist()) - set(b.tolist())
    for result in (union(a, b), intersection(a, b), difference(a, b)):
        assert np.all(np.diff(result) > 0)


@PROPERTY
@given(st.data())
def test_lopsided_operands_use_the_binary_search_path_correctly(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32)))
    long = np.sort(rng.choice(5000, size=data.draw(st.integers(200, 3000)), replace=False))
    long = long.astype(np.int32)
    short = data.draw(index_arrays(5000, max_active=12))
    short = union(short, long[:: max(1, long.size // 5)])[:20]
    expected = set(short.tolist()) & set(long.tolist())
    assert overlap(short, long) == overlap(long, short) == len(expected)
    assert set(intersection(long, short).tolist()) == expected
    assert set(difference(short, long).tolist()) == set(short.tolist()) - expected


@PROPERTY
@given(st.data())
def test_sdr_objects_obey_the_same_laws(data):
    size = data.draw(st.integers(1, 80))
    a = SDR(size, data.draw(index_arrays(size)))
    b = SDR(size, data.draw(index_arrays(size)))
    assert (a | b) == (b | a) and (a & b) == (b & a)
    assert (a - b) | (a & b) == a
    assert len(a | b) == len(a) + len(b) - a.overlap(b)
    assert SDR.from_dense(a.dense) == a


# --------------------------------------------------------------------------------------------
# random SDRs and noise
# --------------------------------------------------------------------------------------------


def test_random_sdr_is_reproducible_and_exact():
    a = random_sdr(2048, 40, np.random.default_rng(3))
    assert a == random_sdr(2048, 40, np.random.default_rng(3)) == random_sdr(2048, 40, 3)
    assert a != random_sdr(2048, 40, 4)
    assert a.n_active == 40 and np.all(np.diff(a.indices) > 0)
    assert random_sdr((150, 16), 20, 0).shape == (150, 16)
    assert random_sdr(10, 0, 0).n_active == 0 and random_sdr(10, 10, 0).n_active == 10


@pytest.mark.parametrize(("size", "n_active"), [(2048, 40), (400, 40), (64, 40), (50, 50), (30, 0)])
def test_random_batch_rows_are_valid_reproducible_and_uniform(size, n_active):
    n = 4000
    matrix = random_batch(n, size, n_active, np.random.default_rng(7))
    assert isinstance(matrix, sp.csr_array) and matrix.dtype == bool
    assert matrix.shape == (n, size) and matrix.has_canonical_format
    assert np.all(np.diff(matrix.indptr) == n_active)
    again = random_batch(n, size, n_active, np.random.default_rng(7))
    assert (matrix != again).nnz == 0
    if 0 < n_active < size:
        # every bit is active with probability n_active / size: check the per-bit counts
        counts = np.bincount(matrix.indices, minlength=size)
        expected = n * n_active / size
        spread = math.sqrt(expected * (1 - n_active / size))
        assert np.abs(counts - expected).max() < 5.5 * spread
        # and pairs are not correlated: overlaps follow the hypergeometric law
        overlaps = batch_overlap_sdr(matrix[1:], matrix.indices[:n_active])
        assert overlaps.mean() == pytest.approx(n_active**2 / size, rel=0.1)


@pytest.mark.parametrize(
    ("size", "n_active"),
    [(6, 2), (20, 5), (64, 4)],  # the three sampling regimes: dense keys, first distinct, rejection
)
def test_random_batch_draws_uniform_subsets(size, n_active):
    n = 30_000
    matrix = random_batch(n, size, n_active, 17)
    rows = matrix.indices.reshape(n, n_active)
    # P(smallest active bit = m) = C(size - m - 1, n_active - 1) / C(size, n_active)
    exact = np.array([math.comb(size - m - 1, n_active - 1) for m in range(size)]) / math.comb(
        size, n_active
    )
    observed = np.bincount(rows[:, 0], minlength=size) / n
    assert np.abs(observed - exact).max() < 4.5 * math.sqrt(0.25 / n)
    observed_max = np.bincount(rows[:, -1], minlength=size)[::-1] / n
    assert np.abs(observed_max - exact).max() < 4.5 * math.sqrt(0.25 / n)


def test_random_batch_rows_are_independent_draws():
    matrix = random_batch(3000, 200, 20, 11)
    overlaps = batch_overlap(matrix[:1500], matrix[1500:])
    observed = np.bincount(overlaps.ravel(), minlength=21)[:21] / overlaps.size
    expected = hypergeom(200, 20, 20).pmf(np.arange(21))
    assert np.abs(observed - expected).max() < 0.005


@PROPERTY
@given(st.data())
def test_add_noise_keeps_count_and_moves_exactly_the_requested_bits(data):
    size = data.draw(st.integers(2, 300))
    n_active = data.draw(st.integers(0, size // 2))
    fraction = data.draw(st.floats(0, 1))
    seed = data.draw(st.integers(0, 2**32))
    original = random_sdr(size, n_active, seed)
    noisy = add_noise(original, fraction, seed + 1)
    assert noisy.n_active == original.n_active and noisy.shape == original.shape
    assert len(original - noisy) == moved_count(fraction, n_active)
    as_array = add_noise(original.indices, fraction, seed + 1, size=size)
    assert np.array_equal(as_array, noisy.indices)


@PROPERTY
@given(st.data())
def test_add_noise_batch_moves_the_requested_bits_in_every_row(data):
    size = data.draw(st.integers(2, 200))
    rows = data.draw(
        st.lists(index_arrays(size, max_active=size // 2), min_size=1, max_size=12)
    )
    fraction = data.draw(st.floats(0, 1))
    matrix = batch(rows, size=size)
    noisy = add_noise_batch(matrix, fraction, data.draw(st.integers(0, 2**32)))
    assert noisy.has_canonical_format and noisy.shape == matrix.shape
    assert np.array_equal(np.diff(noisy.indptr), np.diff(matrix.indptr))
    kept = batch_overlap(matrix, noisy).diagonal()
    n_active = np.diff(matrix.indptr)
    moved = np.array([moved_count(fraction, k) for k in n_active])
    assert np.array_equal(n_active - kept, moved)


def test_noise_is_uniform_over_removed_and_added_bits():
    original = SDR(40, np.arange(10))
    matrix = batch([original] * 8000)
    noisy = add_noise_batch(matrix, 0.3, 5)  # 3 of 10 move, to 3 of the 30 inactive bits
    counts = np.bincount(noisy.indices, minlength=40) / 8000
    assert counts[:10] == pytest.approx(np.full(10, 0.7), abs=0.03)
    assert counts[10:] == pytest.approx(np.full(30, 0.1), abs=0.02)
    single = np.stack([add_noise(original, 0.3, seed).dense for seed in range(3000)]).mean(0)
    assert single[:10] == pytest.approx(np.full(10, 0.7), abs=0.04)
    assert single[10:] == pytest.approx(np.full(30, 0.1), abs=0.03)


# --------------------------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------------------------


def test_batch_accepts_sdrs_arrays_2d_indices_dense_and_sparse():
    sdrs = [SDR(16, [3, 1]), SDR(16, []), SDR(16, [15, 0, 7])]
    matrix = batch(sdrs)
    assert matrix.shape == (3, 16) and matrix.dtype == bool and matrix.has_canonical_format
    assert unbatch(matrix) == sdrs
    assert (batch([s.indices for s in sdrs], size=16) != matrix).nnz == 0
    assert (batch(matrix.toarray()) != matrix).nnz == 0
    assert (batch(sp.csr_matrix(matrix.toarray().astype(np.uint8))) != matrix).nnz == 0
    assert (batch(np.array([[2, 0], [5, 1]]), size=8).toarray().nonzero()[1]).tolist() == [0, 2, 1, 5]
    assert unbatch(batch([SDR((2, 4), [1, 6])]), shape=(2, 4))[0] == SDR((2, 4), [1, 6])
    assert batch([], size=4).shape == (0, 4)


@PROPERTY
@given(st.data())
def test_batch_overlap_equals_pairwise_scalar_overlap(data):
    size = data.draw(st.integers(1, 100))
    rows_a = data.draw(st.lists(index_arrays(size), min_size=1, max_size=8))
    rows_b = data.draw(st.lists(index_arrays(size), min_size=1, max_size=8))
    result = batch_overlap(batch(rows_a, size), batch(rows_b, size))
    expected = np.array([[overlap(a, b) for b in rows_b] for a in rows_a])
    assert result.dtype == np.int32 and np.array_equal(result, expected)
    one = batch_overlap_sdr(batch(rows_a, size), rows_b[0])
    assert np.array_equal(one, expected[:, 0])
    paired = min(len(rows_a), len(rows_b))
    rows = batch_overlap_rows(batch(rows_a[:paired], size), batch(rows_b[:paired], size))
    assert np.array_equal(rows, np.diagonal(expected)[:paired])
    assert np.array_equal(batch_union_rows(batch(rows_a, size)), union(*rows_a))
    assert np.array_equal(batch_union_rows(batch(rows_a, size), [0]), rows_a[0])


def test_batch_union_rows_with_mask_and_bad_rows():
    matrix = batch([[1, 2], [2, 5], [7]], size=8)
    assert batch_union_rows(matrix, np.array([True, False, True])).tolist() == [1, 2, 7]
    with pytest.raises(ValueError, match="row 3 out of range"):
        batch_union_rows(matrix, [0, 3])


# --------------------------------------------------------------------------------------------
# probabilities
# --------------------------------------------------------------------------------------------


def test_false_match_quoted_examples_to_two_significant_digits():
    assert f"{false_match_probability(2048, 40, 20, 10):.2g}" == "3.9e-13"
    assert f"{false_match_probability(2400, 40, 20, 13):.2g}" == "6.4e-20"


@pytest.mark.parametrize(
    ("n", "a", "s", "theta"),
    [(200, 20, 20, 5), (1000, 60, 30, 1), (50, 40, 30, 25), (2048, 40, 20, 10), (30, 30, 10, 10)],
)
def test_false_match_equals_hypergeometric_tail(n, a, s, theta):
    reference = hypergeom(n, s, a).sf(theta - 1)
    assert false_match_probability(n, a, s, theta) == pytest.approx(reference, rel=1e-9, abs=1e-300)


def test_false_match_monte_carlo():
    n, a, s, theta = 200, 20, 20, 5
    segment = np.arange(s, dtype=np.int32)  # any s cells: the random patterns are exchangeable
    patterns = random_batch(40_000, n, a, 21)
    observed = np.mean(batch_overlap_sdr(patterns, segment) >= theta)
    expected = false_match_probability(n, a, s, theta)
    assert 0.01 < expected < 0.2
    assert abs(observed - expected) < 4.5 * math.sqrt(expected * (1 - expected) / 40_000)


def test_false_negative_monte_carlo_with_the_noise_model():
    a, s, theta, v = 40, 20, 13, 12
    pattern = SDR(400, np.arange(a))
    segment = np.arange(0, 2 * s, 2, dtype=np.int32)  # s of the pattern's cells
    noisy = add_noise_batch(batch([pattern] * 40_000), v / a, 22)
    observed = np.mean(batch_overlap_sdr(noisy, segment) < theta)
    expected = false_negative_probability(a, s, theta, v)
    assert 0.05 < expected < 0.95
    assert abs(observed - expected) < 4.5 * math.sqrt(expected * (1 - expected) / 40_000)
    assert expected == pytest.approx(hypergeom(a, s, v).sf(s - theta), rel=1e-9)


def test_probability_edge_cases_neither_overflow_nor_underflow():
    assert false_match_probability(100, 10, 10, 0) == 1.0
    assert false_match_probability(100, 10, 10, 11) == 0.0
    # every one of 5 segment cells among the 10 active: C(95, 5) / C(100, 10)
    assert false_match_probability(100, 10, 5, 5) == pytest.approx(
        math.comb(95, 5) / math.comb(100, 10), rel=1e-9
    )
    log_p = false_match_probability(10**6, 2000, 500, 400, log=True)
    assert math.isfinite(log_p) and log_p < -1000  # far below the smallest float
    assert false_match_probability(10**6, 2000, 500, 400) == 0.0
    assert false_negative_probability(40, 20, 0, 40) == 0.0
    assert false_negative_probability(40, 20, 21, 0) == 1.0
    assert false_negative_probability(40, 20, 10, 10) == 0.0  # 10 noisy bits cannot kill 11
    with pytest.raises(ValueError, match="s 50 is larger than size 40"):
        false_negative_probability(40, 50, 10, 5)
    with pytest.raises(ValueError, match="a 3000 is larger than size 2048"):
        false_match_probability(2048, 3000, 20, 10)


def test_union_fraction_off_matches_a_monte_carlo_union():
    n, a = 1024, 32
    assert union_fraction_off(n, a, 0) == 1.0
    expected = union_fraction_off(n, a, np.array([1, 10, 50]))
    assert expected == pytest.approx((1 - a / n) ** np.array([1, 10, 50]))
    patterns = random_batch(50 * 200, n, a, 9)
    groups = np.arange(50 * 200).reshape(200, 50)
    off = [1 - batch_union_rows(patterns, g).size / n for g in groups]
    assert np.mean(off) == pytest.approx(expected[2], rel=0.02)


# --------------------------------------------------------------------------------------------
# encoders
# --------------------------------------------------------------------------------------------


def test_category_encoder_is_reproducible_order_independent_and_distinct():
    labels = ["cup", "mug", ("bowl", 3), 17, None, b"raw", frozenset({1, 2})]
    first = CategoryEncoder(2048, 40, seed=5)
    second = CategoryEncoder(2048, 40, seed=5)
    forward = [first.encode(label) for label in labels]
    backward = [second.encode(label) for label in reversed(labels)][::-1]
    assert forward == backward
    assert all(s.n_active == 40 and s.size == 2048 for s in forward)
    assert first.encode("cup") is not None and first.encode("cup") == forward[0]
    assert CategoryEncoder(2048, 40, seed=6).encode("cup") != forward[0]
    many = first.encode_many(labels)
    assert unbatch(many) == forward
    overlaps = batch_overlap(many, many)
    assert np.all(overlaps[~np.eye(len(labels), dtype=bool)] < 10)  # chance is 40*40/2048 ~ 0.8
    assert first.encode(1) == first.encode(1.0) == first.encode(True)
    assert first.encode(np.int64(17)) == forward[3]


def test_category_encoder_many_labels_are_random_like():
    encoder = CategoryEncoder(1024, 20, seed=0)
    matrix = encoder.encode_many(range(400))
    overlaps = batch_overlap(matrix, matrix)[np.triu_indices(400, 1)]
    assert overlaps.mean() == pytest.approx(20 * 20 / 1024, rel=0.1)
    assert len(set(unbatch(matrix))) == 400
    counts = np.bincount(encoder.encode_many(range(5000)).indices, minlength=1024)
    expected = 5000 * 20 / 1024
    assert np.abs(counts - expected).max() < 5.5 * math.sqrt(expected)


@pytest.mark.parametrize(("size", "n_active"), [(2048, 40), (64, 40), (16, 16), (8, 0)])
def test_category_encoder_batched_and_single_encodings_agree(size, n_active):
    labels = [f"label-{i}" for i in range(30)] + ["label-3"]
    together = CategoryEncoder(size, n_active, seed=9).encode_many(labels)
    alone = [CategoryEncoder(size, n_active, seed=9).encode(label) for label in labels]
    assert unbatch(together) == alone
    assert np.all(np.diff(together.indptr) == n_active)
    if 0 < n_active < size:
        assert len(set(alone)) == 30


def test_category_encoder_rejects_labels_without_a_stable_key():
    class Opaque:
        pass

    with pytest.raises(ValueError, match="no stable representation"):
        CategoryEncoder(64, 4).encode(Opaque())


def test_contiguous_scalar_encoder_overlap_falls_exactly_with_distance():
    encoder = ScalarEncoder(100, 10, 0.0, 90.0)  # 91 buckets, one per unit
    assert encoder.encode(0.0).indices.tolist() == list(range(10))
    assert encoder.encode(90.0).indices.tolist() == list(range(90, 100))
    base = encoder.encode(40.0)
    overlaps = [base.overlap(encoder.encode(40.0 + d)) for d in range(15)]
    assert overlaps == [max(0, 10 - d) for d in range(15)]
    assert encoder.encode(40.2) == base  # nearest bucket
    values = np.linspace(0, 90, 37)
    assert unbatch(encoder.encode_many(values)) == [encoder.encode(v) for v in values]


def test_scalar_encoder_range_and_arguments():
    encoder = ScalarEncoder(64, 8, -1.0, 1.0)
    with pytest.raises(ValueError, match="value 1.5 out of range"):
        encoder.encode(1.5)
    with pytest.raises(ValueError, match="value nan"):
        encoder.encode_many([0.0, float("nan")])
    clipped = ScalarEncoder(64, 8, -1.0, 1.0, clip=True)
    assert clipped.encode(7.0) == clipped.encode(1.0)
    with pytest.raises(ValueError, match="maximum 1 must be greater than minimum 1"):
        ScalarEncoder(64, 8, 1, 1)
    with pytest.raises(ValueError, match="n_buckets 100 is too many"):
        ScalarEncoder(64, 8, 0, 1, n_buckets=100)
    with pytest.raises(ValueError, match="kind must be"):
        ScalarEncoder(64, 8, 0, 1, kind="log")
    with pytest.raises(ValueError, match="n_active 80 is larger than size 64"):
        ScalarEncoder(64, 80, 0, 1)
    coarse = ScalarEncoder(64, 8, 0, 1, n_buckets=5)
    assert coarse.resolution == 0.25
    assert coarse.encode(0.5).indices.tolist() == list(range(28, 36))


def test_random_scalar_encoder_shares_bits_between_nearby_buckets():
    encoder = ScalarEncoder(400, 21, 0.0, 1.0, kind="random", n_buckets=5000, seed=2)
    assert encoder.resolution == pytest.approx(1 / 4999)
    values = np.arange(0, 4900) / 4999
    matrix = encoder.encode_many(values)
    assert np.all(np.diff(matrix.indptr) == 21)  # any 21 consecutive bits are distinct
    assert unbatch(matrix[:50]) == [encoder.encode(v) for v in values[:50]]
    mean_overlap = []
    for d in (0, 1, 2, 5, 10, 20, 100):
        shifted = encoder.encode_many(values[: 4900 - 100] + d / 4999)
        shared = batch_overlap_rows(matrix[: 4900 - 100], shifted)
        assert shared.min() >= 21 - d  # by construction, plus chance collisions
        mean_overlap.append(shared.mean())
    assert all(x > y for x, y in zip(mean_overlap, mean_overlap[1:]))
    assert mean_overlap[-1] < 3  # far buckets: chance level 21*21/400 ~ 1.1
    same = ScalarEncoder(400, 21, 0.0, 1.0, kind="random", n_buckets=5000, seed=2)
    other = ScalarEncoder(400, 21, 0.0, 1.0, kind="random", n_buckets=5000, seed=3)
    assert same.encode(0.3) == encoder.encode(0.3) and other.encode(0.3) != encoder.encode(0.3)


def test_coordinate_encoder_overlap_decreases_with_distance():
    encoder = CoordinateEncoder(2048, 40, radius=6, seed=1)
    rng = np.random.default_rng(0)
    centres = rng.integers(-1000, 1000, size=(300, 2))
    angles = rng.uniform(0, 2 * np.pi, size=300)
    direction = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    base = encoder.encode_many(centres)
    assert np.all(np.diff(base.indptr) == 40)
    means = []
    for distance in (0, 1, 2, 4, 6, 9, 11, 13, 20, 40):
        moved = encoder.encode_many(centres + distance * direction)
        means.append(batch_overlap_rows(base, moved).mean())
    assert means[0] == 40
    assert all(x > y for x, y in zip(means[:7], means[1:7]))  # falls until the radii part
    assert max(means[7:]) < 1.5  # beyond 2 * radius: chance level, 40*40/2048 ~ 0.8


def test_coordinate_encoder_is_deterministic_and_seeded():
    encoder = CoordinateEncoder(1024, 20, radius=4, seed=3)
    point = np.array([12, -7])
    assert encoder.encode(point) == encoder.encode([12, -7]) == encoder.encode([12.2, -6.9])
    assert CoordinateEncoder(1024, 20, radius=4, seed=3).encode(point) == encoder.encode(point)
    assert CoordinateEncoder(1024, 20, radius=4, seed=4).encode(point) != encoder.encode(point)
    points = np.array([[0, 0], [3, 1], [-50, 8]])
    assert unbatch(encoder.encode_many(points)) == [encoder.encode(p) for p in points]
    in_3d = encoder.encode_many(np.array([[0, 0, 0], [1, 0, 0], [40, 0, 0]]))
    overlaps = batch_overlap(in_3d, in_3d)[0]
    assert overlaps[0] == 20 and overlaps[1] > overlaps[2]
    scaled = CoordinateEncoder(1024, 20, radius=4, seed=3, resolution=0.5)
    assert scaled.encode([6.0, -3.5]) == encoder.encode(point)


def test_coordinate_encoder_arguments():
    with pytest.raises(ValueError, match="radius 1.0 gives 5 neighbours in 2-D, fewer than n_active 20"):
        CoordinateEncoder(1024, 20, radius=1).encode([0, 0])
    with pytest.raises(ValueError, match="radius must be a positive number, got -2"):
        CoordinateEncoder(1024, 20, radius=-2)
    with pytest.raises(ValueError, match="point nan is not finite"):
        CoordinateEncoder(1024, 20, radius=4).encode([np.nan, 0.0])
    with pytest.raises(ValueError, match="distinct bits"):
        CoordinateEncoder(25, 20, radius=3).encode([0, 0])
