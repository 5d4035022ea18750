"""Checkpoints: round trip, truncation, corruption, foreign files, atomic writes."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from regions import persist
from regions.persist import FORMAT_VERSION, CheckpointError, load_state, save_state

SPEC = {"regions": [{"name": "V1", "columns": 3}], "seed": 7}
META = {"step": 12, "note": "after training"}


def sample_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "V1/L23/active": np.sort(rng.choice(4096, 40, replace=False)).astype(np.int32),
        "V1/L4/permanence": rng.random((64, 30), dtype=np.float32),
        "V1/L6/phase": rng.random((3, 10, 2)),
        "flags": rng.random(17) < 0.5,
        "empty": np.zeros((0, 5), dtype=np.int64),
        "scalar": np.array(3.5),
        "fortran": np.asfortranarray(rng.integers(0, 9, (4, 6)).astype(np.uint16)),
    }


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert set(a) == set(b)
    for name in a:
        assert b[name].dtype == np.asarray(a[name]).dtype and b[name].shape == np.shape(a[name])
        np.testing.assert_array_equal(b[name], a[name])


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, compress):
    path = tmp_path / "model.npz"
    arrays = sample_arrays()
    save_state(path, SPEC, arrays, META, compress=compress)
    spec, loaded, meta = load_state(path)
    assert spec == SPEC and meta == META
    assert_same(arrays, loaded)
    # a plain numpy reader sees a normal npz, without pickles
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["V1/L23/active"], arrays["V1/L23/active"])
        header = json.loads(npz["__header__"].tobytes())
    assert header["format"] == "cortical-columns" and header["format_version"] == FORMAT_VERSION


@settings(max_examples=25, deadline=None)
@given(
    arr=hnp.arrays(
        dtype=st.sampled_from([np.int8, np.int32, np.uint64, np.float32, np.float64, np.complex64, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
    )
)
def test_round_trip_any_numeric_array(tmp_path_factory, arr):
    path = tmp_path_factory.mktemp("rt") / "a.npz"
    save_state(path, {}, {"a": arr})
    _spec, loaded, _meta = load_state(path)
    assert loaded["a"].dtype == arr.dtype and loaded["a"].shape == arr.shape
    np.testing.assert_array_equal(loaded["a"], arr)


def test_truncation_at_any_offset_is_detected(tmp_path):
    path = tmp_path / "model.npz"
    save_state(path, SPEC, sample_arrays(), META)
    blob = path.read_bytes()
    cut = tmp_path / "cut.npz"
    for offset in [0, 1, 2, 3, 10, 100, len(blob) // 3, len(blob) // 2, len(blob) - 200, len(blob) - 22, len(blob) - 1]:
        cut.write_bytes(blob[:offset])
        with pytest.raises(CheckpointError, match="cut.npz"):
            load_state(cut)


def test_flipped_byte_is_a_checksum_error(tmp_path):
    path = tmp_path / "model.npz"
    arrays = sample_arrays()
    save_state(path, SPEC, arrays, META)
    blob = bytearray(path.read_bytes())
    needle = arrays["V1/L4/permanence"].tobytes()[:16]
    at = bytes(blob).index(needle) + 5  # inside the permanence array data
    blob[at] ^= 0x40
    path.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="checksum"):
        load_state(path)


def test_consistent_tampering_is_caught_by_sha256(tmp_path):
    """Rewrite one member with valid zip CRCs but different data: only the SHA-256 sees it."""
    path = tmp_path / "model.npz"
    arrays = sample_arrays()
    save_state(path, SPEC, arrays, META)
    forged = tmp_path / "forged.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(forged, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "flags.npy":
                tampered = ~arrays["flags"]
                with dst.open(info.filename, "w") as member:
                    np.lib.format.write_array(member, tampered, allow_pickle=False)
            else:
                dst.writestr(info, data)
    with pytest.raises(CheckpointError, match=r"checksum mismatch \(SHA-256\)"):
        load_state(forged)


def test_foreign_and_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_state(tmp_path / "absent.npz")
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a cortical-columns checkpoint"):
        load_state(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.arange(3))
    with pytest.raises(CheckpointError, match="no header"):
        load_state(plain)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __header__=np.frombuffer(b'{"format": "cortical-columns"}', np.uint8),
             obj=np.array([{"x": 1}], dtype=object))
    with pytest.raises(CheckpointError):
        load_state(pickled)  # bad version / pickled member: refused, never unpickled


def test_newer_format_version_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "future.npz"
    monkeypatch.setattr(persist, "FORMAT_VERSION", FORMAT_VERSION + 1)
    save_state(path, SPEC, {"a": np.arange(3)})
    monkeypatch.setattr(persist, "FORMAT_VERSION", FORMAT_VERSION)
    with pytest.raises(CheckpointError, match="newer"):
        load_state(path)


def test_unserialisable_inputs_leave_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    save_state(path, SPEC, sample_arrays(0), META)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="holds Python objects"):
        save_state(path, SPEC, {"bad": np.array([object()], dtype=object)}, META)
    with pytest.raises(ValueError, match="spec must be JSON-serialisable"):
        save_state(path, {"x": {1, 2}}, {}, META)
    with pytest.raises(ValueError, match="invalid array name"):
        save_state(path, SPEC, {"__header__": np.zeros(1)}, META)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_failure_mid_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_state(path, SPEC, sample_arrays(0), META)
    before = path.read_bytes()
    calls = {"n": 0}
    real = persist._write_member

    def failing(archive, name, arr):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real(archive, name, arr)

    monkeypatch.setattr(persist, "_write_member", failing)
    with pytest.raises(OSError, match="disk full"):
        save_state(path, SPEC, sample_arrays(1), META)
    assert calls["n"] == 3
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]
    monkeypatch.setattr(persist, "_write_member", real)
    _spec, arrays, _meta = load_state(path)
    assert_same(sample_arrays(0), arrays)


def test_network_save_and_load_keep_the_config(tmp_path):
    from regions.builder import build, load_network
    from regions.config import config_from_dict

    cfg = config_from_dict({"seed": 9, "regions": [{"name": "V1", "columns": 3}]})
    path = tmp_path / "net.npz"
    build(cfg).save(path, meta={"note": "untrained"})
    net = load_network(path)
    assert net.config == cfg and net.seed == 9
    assert load_state(path)[2] == {"seed": 9, "trial_seed": net.trial_seed, "note": "untrained"}
