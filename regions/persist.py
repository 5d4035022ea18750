"""Checkpoints: one ``.npz`` file holding a spec, named arrays and metadata, written atomically.

Format ``cortical-columns`` (``FORMAT_VERSION`` 1): a zip archive readable by ``numpy.load``
(``allow_pickle=False``) with members

* ``__header__.npy``   uint8 array: UTF-8 JSON ``{"format", "format_version", "spec", "meta",
  "arrays": [{"name", "dtype", "shape"}, ...], "compressed"}``;
* ``<name>.npy``       one member per array (object arrays are refused: nothing is pickled);
* ``__checksum__.npy`` uint8 array: SHA-256 over the header bytes and, for every array in header
  order, its name, dtype, shape and C-order bytes.

:func:`save_state` writes to a temporary file in the target directory, fsyncs it and renames it
over the target (``os.replace``), so a crash or an exception mid-write leaves the previous file
intact.  :func:`load_state` checks the archive, the format name and version, every array's dtype
and shape, and the checksum; any problem is a :class:`CheckpointError` naming the file.

Example
-------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> save_state(path, {"regions": 1}, {"L23/active": np.arange(3, dtype=np.int32)}, {"step": 7})
>>> spec, arrays, meta = load_state(path)
>>> spec, arrays["L23/active"].tolist(), meta
({'regions': 1}, [0, 1, 2], {'step': 7})
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "CheckpointError", "save_state", "load_state"]

FORMAT_NAME = "cortical-columns"
FORMAT_VERSION = 1
_HEADER = "__header__"
_CHECKSUM = "__checksum__"
_RESERVED = {_HEADER, _CHECKSUM}


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, corrupted, foreign or from an unsupported version."""


def _checksum(header_bytes: bytes, arrays: list[tuple[str, np.ndarray]]) -> bytes:
    digest = hashlib.sha256()
    digest.update(len(header_bytes).to_bytes(8, "little"))
    digest.update(header_bytes)
    for name, arr in arrays:
        meta = json.dumps([name, arr.dtype.str, list(arr.shape)]).encode()
        digest.update(len(meta).to_bytes(8, "little"))
        digest.update(meta)
        data = np.asarray(arr, order="C")
        digest.update(memoryview(data.reshape(-1).view(np.uint8)) if data.size else b"")
    return digest.digest()


def _check_inputs(
    spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> list[tuple[str, np.ndarray]]:
    if not isinstance(arrays, Mapping):
        raise ValueError(f"arrays must be a mapping of name -> numpy array, got {type(arrays).__name__}")
    checked: list[tuple[str, np.ndarray]] = []
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name in _RESERVED or name.startswith("/"):
            raise ValueError(f"arrays: invalid array name {name!r} (non-empty str, not reserved)")
        if "\\" in name or ".." in name.split("/"):
            raise ValueError(f"arrays: invalid array name {name!r}")
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise ValueError(
                f"arrays[{name!r}]: dtype {arr.dtype} holds Python objects, which cannot be saved "
                "without pickling"
            )
        checked.append((name, arr))
    checked.sort(key=lambda item: item[0])
    for label, value in (("spec", spec), ("meta", meta)):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{label} must be JSON-serialisable: {exc}") from None
    return checked


def _write_member(archive: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    with archive.open(name + ".npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.asarray(arr, order="C"), allow_pickle=False)


def save_state(
    path: str | os.PathLike[str],
    spec: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None,
    *,
    compress: bool = False,
) -> None:
    """Write ``spec``, ``arrays`` and ``meta`` to one checkpoint file, atomically.

    Parameters
    ----------
    path : target file (conventionally ``.npz``); its directory must exist.
    spec : JSON-serialisable description (e.g. ``Config.resolved()``).
    arrays : name -> numpy array (any non-object dtype and shape); names may contain ``/``.
    meta : JSON-serialisable extras (seed, step, versions ...).
    compress : deflate members (smaller, slower); the default stores them uncompressed.

    Raises ``ValueError`` for object arrays, reserved/empty names or non-JSON spec/meta (before
    anything is written); on any failure the previous file at ``path`` is left untouched and no
    temporary file remains.
    """
    meta = dict(meta or {})
    checked = _check_inputs(spec, arrays, meta)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "spec": spec,
        "meta": meta,
        "compressed": bool(compress),
        "arrays": [{"name": n, "dtype": a.dtype.str, "shape": list(a.shape)} for n, a in checked],
    }
    header_bytes = json.dumps(header, sort_keys=True, allow_nan=False).encode("utf-8")
    digest = _checksum(header_bytes, checked)

    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise ValueError(f"path: directory {directory!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w+b") as handle:
            mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            with zipfile.ZipFile(handle, "w", compression=mode, allowZip64=True) as archive:
                _write_member(archive, _HEADER, np.frombuffer(header_bytes, dtype=np.uint8))
                for name, arr in checked:
                    _write_member(archive, name, arr)
                _write_member(archive, _CHECKSUM, np.frombuffer(digest, dtype=np.uint8))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _read_member(archive: zipfile.ZipFile, name: str, where: str) -> np.ndarray:
    try:
        with archive.open(name + ".npy") as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except KeyError:
        raise CheckpointError(f"{where}: missing array {name!r}") from None
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise CheckpointError(f"{where}: checksum mismatch (zip CRC-32) in {name!r}: the file is corrupted") from None
        raise CheckpointError(f"{where}: corrupted archive member {name!r}: {exc}") from None
    except (ValueError, EOFError, OSError, zlib.error) as exc:
        raise CheckpointError(f"{where}: cannot read array {name!r} ({exc}); the file is truncated or corrupted") from None


def load_state(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_state`: ``(spec, arrays, meta)``.

    Never unpickles (``allow_pickle=False``); raises :class:`CheckpointError` for a missing,
    truncated, corrupted or foreign file, an unsupported format version, or a checksum mismatch.
    """
    where = os.fspath(path)
    if not os.path.exists(where):
        raise CheckpointError(f"{where}: no such checkpoint file")
    try:
        with open(where, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise CheckpointError(f"{where}: cannot read: {exc}") from None
    if not magic.startswith(b"PK"):
        raise CheckpointError(f"{where}: not a {FORMAT_NAME} checkpoint (not a zip/npz archive)")
    try:
        archive = zipfile.ZipFile(where)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise CheckpointError(
            f"{where}: not a readable npz archive ({exc}); the file is truncated or corrupted"
        ) from None
    with archive:
        if _HEADER + ".npy" not in archive.namelist():
            raise CheckpointError(f"{where}: not a {FORMAT_NAME} checkpoint (no header entry)")
        header_arr = _read_member(archive, _HEADER, where)
        if header_arr.dtype != np.uint8 or header_arr.ndim != 1:
            raise CheckpointError(f"{where}: malformed header entry")
        header_bytes = header_arr.tobytes()
        try:
            header = json.loads(header_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{where}: header is not valid JSON ({exc})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            found = header.get("format") if isinstance(header, dict) else None
            raise CheckpointError(f"{where}: not a {FORMAT_NAME} checkpoint (format {found!r})")
        version = header.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise CheckpointError(f"{where}: invalid format_version {version!r}")
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{where}: format_version {version} is newer than this library reads "
                f"({FORMAT_VERSION}); upgrade cortical-columns"
            )
        entries = header.get("arrays")
        if not isinstance(entries, list):
            raise CheckpointError(f"{where}: malformed header (no array list)")
        arrays: list[tuple[str, np.ndarray]] = []
        for entry in entries:
            try:
                name, dtype, shape = entry["name"], np.dtype(entry["dtype"]), tuple(entry["shape"])
            except (KeyError, TypeError, ValueError):
                raise CheckpointError(f"{where}: malformed header entry {entry!r}") from None
            arr = _read_member(archive, name, where)
            if arr.dtype != dtype or arr.shape != shape:
                raise CheckpointError(
                    f"{where}: array {name!r} is {arr.dtype}{list(arr.shape)}, header says "
                    f"{dtype}{list(shape)}"
                )
            arrays.append((name, arr))
        stored = _read_member(archive, _CHECKSUM, where)
        if stored.tobytes() != _checksum(header_bytes, arrays):
            raise CheckpointError(f"{where}: checksum mismatch (SHA-256): the file is corrupted")
    spec, meta = header.get("spec"), header.get("meta") or {}
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where}: malformed header (meta is not a mapping)")
    return spec, dict(arrays), meta
