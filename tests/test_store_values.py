"""The feature cache, file by file and message by message (issue 22, MUTATION.md).

Tiny stores in a temporary folder, no extraction: provenance, shards, compaction, the content
digest (against its own SHA-256 here), damaged files set aside, NaN rows ignored, stale
temporary files, and the storage errors the cache tells apart.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paraser.features import store as store_module
from paraser.features.store import (
    DIGEST_KEY,
    FULL_ERRNOS,
    KEY_COLUMN,
    READ_ONLY_ERRNOS,
    STALE_TMP_AGE_S,
    VECTOR_COLUMN,
    CacheError,
    CacheStorageError,
    FeatureStore,
    atomic_write_table,
    content_digest,
    remove_stale_tmp,
    set_aside,
    storage_errno,
)

NAMES = ["f0", "f1"]


def _table(keys: list[str], rows: list[list[float]]) -> pa.Table:
    flat = pa.array(np.asarray(rows, np.float32).ravel(), type=pa.float32())
    return pa.table(
        {
            KEY_COLUMN: pa.array(keys, type=pa.string()),
            VECTOR_COLUMN: pa.FixedSizeListArray.from_arrays(flat, len(rows[0])),
        }
    )


def _expected_digest(keys: list[str], rows: list[list[float]]) -> str:
    digest = hashlib.sha256("\n".join(keys).encode() + b"\0")
    digest.update(np.asarray(rows, np.float32).tobytes())
    return digest.hexdigest()


def _store(tmp_path: Path) -> FeatureStore:
    return FeatureStore(tmp_path / "emo" / "set-abc", {"extractor": "x", "version": 2}, NAMES)


# --- storage errors -------------------------------------------------------------------------


def test_storage_errno_reads_the_errno_or_pyarrows_message():
    assert READ_ONLY_ERRNOS == (errno.EROFS, errno.EACCES, errno.EPERM)
    assert FULL_ERRNOS == (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    for code in READ_ONLY_ERRNOS + FULL_ERRNOS:
        assert storage_errno(OSError(code, "x")) == code
        # pyarrow: the errno only in the message, either as '[errno N]' or as its text.
        assert storage_errno(OSError(f"IOError: write failed. Detail: [Errno {code}]")) == code
        assert storage_errno(OSError(f"failed: {os.strerror(code)}")) == code
    assert storage_errno(OSError(errno.ENOENT, "gone")) is None
    assert storage_errno(ValueError("bad")) is None
    assert storage_errno(OSError(errno.ENOENT, os.strerror(errno.ENOSPC))) == errno.ENOSPC
    assert storage_errno(OSError("[errno 2]")) is None
    # The errno attribute alone, with no message to read it from.
    bare = OSError()
    bare.errno = errno.ENOSPC
    assert str(bare) == "" and storage_errno(bare) == errno.ENOSPC


# --- digest ---------------------------------------------------------------------------------


def test_the_content_digest_is_the_sha256_of_keys_and_vectors(tmp_path):
    keys, rows = ["k1", "k2"], [[1.0, 2.0], [3.5, -4.0]]
    table = _table(keys, rows)
    assert content_digest(table) == _expected_digest(keys, rows)
    assert content_digest(_table(keys, [[1.0, 2.0], [3.5, -4.5]])) != content_digest(table)
    path = tmp_path / "t.parquet"
    atomic_write_table(table.replace_schema_metadata({b"mine": b"kept"}), path)
    metadata = pq.read_schema(path).metadata
    assert metadata[DIGEST_KEY] == _expected_digest(keys, rows).encode()
    assert metadata[b"mine"] == b"kept"
    # Not a feature table (no key or no vector column): Parquet's own checks only.
    for other in (pa.table({"x": [1]}), pa.table({KEY_COLUMN: ["a"]})):
        atomic_write_table(other, path)
        assert DIGEST_KEY not in (pq.read_schema(path).metadata or {})
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_feature_tables_are_written_without_dictionary_encoding(tmp_path):
    """Keys and vectors never repeat: dictionary pages would only cost time (issue 21)."""
    path = tmp_path / "t.parquet"
    atomic_write_table(_table(["k1", "k2", "k3"], [[1.0, 2.0], [3.5, -4.0], [0.5, 0.25]]), path)
    metadata = pq.ParquetFile(path).metadata
    encodings = {
        encoding
        for group in range(metadata.num_row_groups)
        for column in range(metadata.num_columns)
        for encoding in metadata.row_group(group).column(column).encodings
    }
    assert encodings and not any("DICTIONARY" in e for e in encodings), encodings


# --- stale temporary files ------------------------------------------------------------------


def test_stale_temporary_files_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    now = 1_000_000_000.0
    monkeypatch.setattr(store_module, "time", types.SimpleNamespace(time=lambda: now))
    host, hexa = socket.gethostname(), "0" * 32
    dead = 2**22 + 1  # above Linux's largest pid: never running
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    files = {
        "dead": f".tmp-{host}-{dead}-{hexa}-a.parquet",
        "live": f".tmp-{host}-{writer.pid}-{hexa}-b.parquet",
        "other-old": f".tmp-elsewhere-{os.getpid()}-{hexa}-c.parquet",
        "other-new": f".tmp-elsewhere-{dead}-{hexa}-d.parquet",
        "other-at-limit": f".tmp-elsewhere-{dead}-{hexa}-e.parquet",
        "old-name": ".tmp-old",
        "not-tmp": "shard-x.parquet",
    }
    ages = {"other-old": STALE_TMP_AGE_S + 1, "old-name": STALE_TMP_AGE_S + 1}
    ages["other-at-limit"] = STALE_TMP_AGE_S
    for label, name in files.items():
        path = tmp_path / name
        path.write_text(label)
        mtime = now - ages.get(label, 0)
        os.utime(path, (mtime, mtime))
    removed = remove_stale_tmp(tmp_path)
    # Asking whether the writer runs must not signal it: still running a moment later.
    with pytest.raises(subprocess.TimeoutExpired):
        writer.wait(timeout=0.3)
    assert sorted(p.name for p in removed) == sorted(
        files[k] for k in ("dead", "other-old", "old-name")
    )
    assert all(p.parent == tmp_path for p in removed)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        files[k] for k in ("live", "other-new", "other-at-limit", "not-tmp")
    )
    assert remove_stale_tmp(tmp_path / "absent") == []
    assert remove_stale_tmp(tmp_path) == []
    writer.kill()
    writer.wait()
    assert STALE_TMP_AGE_S == 24 * 3600


def test_a_pid_owned_by_someone_else_is_alive(tmp_path, monkeypatch):
    def kill(pid, signal):
        raise PermissionError(errno.EPERM, "not yours")

    monkeypatch.setattr(store_module.os, "kill", kill)
    name = f".tmp-{socket.gethostname()}-12345-{'a' * 32}-x.parquet"
    (tmp_path / name).write_text("x")
    assert remove_stale_tmp(tmp_path) == []
    assert (tmp_path / name).exists()


def test_removing_a_stale_file_on_read_only_storage_is_skipped(tmp_path, monkeypatch):
    name = f".tmp-{socket.gethostname()}-{2**22 + 1}-{'a' * 32}-x.parquet"
    (tmp_path / name).write_text("x")

    def read_only(self, missing_ok=False):
        raise OSError(errno.EROFS, "read-only")

    monkeypatch.setattr(Path, "unlink", read_only)
    assert remove_stale_tmp(tmp_path) == []
    monkeypatch.undo()
    # One file that cannot be removed does not stop the others being removed.
    second = tmp_path / f".tmp-{socket.gethostname()}-{2**22 + 2}-{'b' * 32}-y.parquet"
    second.write_text("y")
    real_unlink, real_glob = Path.unlink, Path.glob
    # Listed in name order, so the file that fails comes first.
    monkeypatch.setattr(Path, "glob", lambda self, pattern: sorted(real_glob(self, pattern)))
    for error in (OSError(errno.EROFS, "read-only"), FileNotFoundError(errno.ENOENT, "gone")):

        def first_fails(self, missing_ok=False, error=error):
            if self.name == name:
                raise error
            real_unlink(self, missing_ok=missing_ok)

        monkeypatch.setattr(Path, "unlink", first_fails)
        second.write_text("y")
        assert [p.name for p in tmp_path.glob(".tmp-*")] == [name, second.name]
        assert remove_stale_tmp(tmp_path) == [second] and not second.exists()

    def broken(self, missing_ok=False):
        raise OSError(errno.EIO, "broken")

    monkeypatch.setattr(Path, "unlink", broken)
    with pytest.raises(OSError, match="broken"):
        remove_stale_tmp(tmp_path)

    def gone(self, missing_ok=False):
        raise FileNotFoundError(errno.ENOENT, "gone")

    monkeypatch.setattr(Path, "unlink", gone)
    assert remove_stale_tmp(tmp_path) == []


# --- set_aside ------------------------------------------------------------------------------


def test_a_damaged_file_is_set_aside_with_a_warning(tmp_path):
    path = tmp_path / "shard-1.parquet"
    path.write_text("junk")
    with pytest.warns(UserWarning) as record:
        target = set_aside(path, "broken")
    assert target == tmp_path / "shard-1.parquet.corrupt" and target.read_text() == "junk"
    assert not path.exists()
    assert str(record[0].message) == (
        f"{path}: damaged cache file (broken); set aside as shard-1.parquet.corrupt, its rows "
        "count as not extracted and are re-extracted by the next 'paraser extract'"
    )
    # A second damaged file of the same name keeps the first one's evidence.
    path.write_text("junk 2")
    with pytest.warns(UserWarning):
        second = set_aside(path, "again")
    assert second.name.startswith("shard-1.parquet.") and second.name.endswith(".corrupt")
    assert len(second.name) == len("shard-1.parquet.") + 8 + len(".corrupt")
    assert second.read_text() == "junk 2" and target.read_text() == "junk"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert set_aside(tmp_path / "gone.parquet", "x") is None


def test_a_damaged_file_on_read_only_storage_stays_and_is_ignored(tmp_path, monkeypatch):
    path = tmp_path / "features.parquet"
    path.write_text("junk")

    def read_only(self, target):
        raise OSError(errno.EROFS, "read-only file system")

    monkeypatch.setattr(Path, "rename", read_only)
    with pytest.warns(UserWarning) as record:
        assert set_aside(path, "why") is None
    assert str(record[0].message) == (
        f"{path}: damaged cache file (why); its rows are ignored, but it cannot be set aside "
        "(read-only cache)"
    )

    def broken(self, target):
        raise OSError(errno.EIO, "i/o")

    monkeypatch.setattr(Path, "rename", broken)
    with pytest.raises(OSError, match="i/o"):
        set_aside(path, "why")


# --- FeatureStore ---------------------------------------------------------------------------


def test_add_writes_provenance_and_a_verified_shard(tmp_path):
    store = _store(tmp_path)
    store.add([], np.zeros((0, 2)))
    assert not store.directory.exists() and store.keys() == set()
    store.add(["k1", "k2"], np.array([[1.0, 2.0], [3.0, 4.0]]))
    provenance = json.loads((store.directory / "provenance.json").read_text())
    assert provenance == {"extractor": "x", "version": 2, "feature_names": NAMES}
    assert (store.directory / "provenance.json").read_text() == (
        '{\n  "extractor": "x",\n  "version": 2,\n'
        '  "feature_names": [\n    "f0",\n    "f1"\n  ]\n}\n'
    )
    (shard,) = store.directory.glob("shard-*.parquet")
    assert len(shard.name) == len("shard-") + 32 + len(".parquet")
    table = pq.read_table(shard)
    assert table.column(KEY_COLUMN).to_pylist() == ["k1", "k2"]
    assert table.schema.field(VECTOR_COLUMN).type == pa.list_(pa.float32(), 2)
    assert (
        table.schema.metadata[DIGEST_KEY]
        == _expected_digest(["k1", "k2"], [[1, 2], [3, 4]]).encode()
    )
    assert store.keys() == {"k1", "k2"} and store.keys(verified=False) == {"k1", "k2"}
    np.testing.assert_array_equal(store.load(["k2", "k1", "k2"]), [[3, 4], [1, 2], [3, 4]])
    assert store.load(["k1"]).dtype == np.float32
    # A second add is seen by the next read (the cached table is dropped).
    store.add(["k3"], np.array([[5.0, 6.0]]))
    assert store.keys() == {"k1", "k2", "k3"}
    assert store.provenance["feature_names"] == NAMES and store.feature_names == NAMES


def test_add_refuses_wrong_shapes_and_non_finite_values(tmp_path):
    store = _store(tmp_path)
    with pytest.raises(ValueError) as info:
        store.add(["k1"], np.zeros((1, 3)))
    assert str(info.value) == "expected 1x2, got (1, 3)"
    with pytest.raises(ValueError, match=r"^expected 2x2, got \(1, 2\)$"):
        store.add(["k1", "k2"], np.zeros((1, 2)))
    # 1e39 is finite as float64 but not as the float32 the cache stores.
    for bad in (np.nan, np.inf, -np.inf, 1e39):
        with (
            np.errstate(over="ignore"),
            pytest.raises(ValueError, match="^refusing to cache non-finite feature vectors$"),
        ):
            store.add(["k1"], np.array([[0.0, bad]]))
    assert not store.directory.exists()


def test_load_names_how_many_keys_are_missing(tmp_path):
    store = _store(tmp_path)
    store.add(["k1"], np.array([[1.0, 2.0]]))
    with pytest.raises(CacheError) as info:
        store.load(["k1", "x", "y"])
    assert str(info.value) == f"{store.directory}: 2 of 3 file(s) not extracted yet"
    assert store.load([]).shape == (0, 2)


def test_provenance_must_match_and_open_reads_it(tmp_path):
    store = _store(tmp_path)
    store.add(["k1"], np.array([[1.0, 2.0]]))
    opened = FeatureStore.open(store.directory)
    assert opened.feature_names == NAMES and opened.provenance["extractor"] == "x"
    np.testing.assert_array_equal(opened.load(["k1"]), [[1.0, 2.0]])
    other = FeatureStore(store.directory, {}, ["g0", "g1"])
    with pytest.raises(CacheError) as info:
        other.add(["k2"], np.array([[1.0, 2.0]]))
    assert str(info.value) == (
        f"{store.directory}: cached feature names differ from the extractor's; "
        "delete this folder to re-extract"
    )
    # The same names again: the stored provenance is kept as it is.
    again = FeatureStore(store.directory, {"extractor": "new"}, NAMES)
    again.add(["k2"], np.array([[1.0, 2.0]]))
    assert json.loads((store.directory / "provenance.json").read_text())["extractor"] == "x"
    with pytest.raises(CacheError) as info:
        FeatureStore.open(tmp_path / "nothing")
    assert str(info.value) == f"{tmp_path / 'nothing'}: no provenance.json; not a feature store"


def _write_shard(store: FeatureStore, name: str, keys, rows, digest: bool = True) -> Path:
    store.directory.mkdir(parents=True, exist_ok=True)
    path = store.directory / name
    table = _table(keys, rows)
    if digest:
        atomic_write_table(table, path)
    else:
        pq.write_table(table, path)
    return path


def test_compaction_merges_shards_keeps_one_row_per_key_and_drops_nan_rows(tmp_path):
    store = _store(tmp_path)
    (store.directory).mkdir(parents=True)
    (store.directory / "provenance.json").write_text(json.dumps({"feature_names": NAMES}))
    assert not store.needs_compaction()
    _write_shard(store, "shard-a.parquet", ["k1", "k2", "k3"], [[1, 1], [np.nan, 2], [3, 3]])
    _write_shard(store, "shard-b.parquet", ["k2", "k1", "k4"], [[2, 2], [1, 1], [np.inf, 4]])
    assert store.needs_compaction()
    with pytest.warns(UserWarning) as record:
        assert store.keys() == {"k1", "k2", "k3"}
    assert str(record[0].message) == (
        f"{store.directory}: 2 cached row(s) hold NaN/inf and are ignored; the next "
        "'paraser extract' re-extracts them"
    )
    np.testing.assert_array_equal(store.load(["k2", "k3"]), [[2, 2], [3, 3]])
    store.compact()
    assert not store.needs_compaction()
    # The same store object reads the compacted file (its cached table is dropped).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.keys() == {"k1", "k2", "k3"}
    assert [p.name for p in sorted(store.directory.iterdir())] == [
        ".lock",
        "features.parquet",
        "provenance.json",
    ]
    main = pq.read_table(store.directory / "features.parquet")
    # One row per key, the first finite one, in the order they came.
    assert main.column(KEY_COLUMN).to_pylist() == ["k1", "k3", "k2"]
    assert main.column(VECTOR_COLUMN).to_pylist() == [[1, 1], [3, 3], [2, 2]]
    assert main.schema.metadata == {
        DIGEST_KEY: _expected_digest(["k1", "k3", "k2"], [[1, 1], [3, 3], [2, 2]]).encode()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh = FeatureStore.open(store.directory)
        assert fresh.keys() == {"k1", "k2", "k3"}
        np.testing.assert_array_equal(fresh.load(["k3", "k1"]), [[3, 3], [1, 1]])
    # A new shard is merged after the main file's rows.
    _write_shard(store, "shard-c.parquet", ["k5", "k1"], [[5, 5], [9, 9]])
    store.compact()
    main = pq.read_table(store.directory / "features.parquet")
    assert main.column(KEY_COLUMN).to_pylist() == ["k1", "k3", "k2", "k5"]
    assert main.column(VECTOR_COLUMN).to_pylist()[0] == [1, 1]
    assert FeatureStore.open(store.directory).keys() == {"k1", "k2", "k3", "k5"}


def test_the_first_row_of_a_key_is_served(tmp_path):
    store = _store(tmp_path)
    _write_shard(store, "shard-a.parquet", ["k1", "k2"], [[1, 1], [2, 2]])
    _write_shard(store, "shard-b.parquet", ["k1"], [[7, 7]])
    _write_shard(store, "features.parquet", ["k2", "k3"], [[8, 8], [3, 3]])
    # The main file first, then the shards by name.
    np.testing.assert_array_equal(store.load(["k1", "k2", "k3"]), [[1, 1], [8, 8], [3, 3]])


def test_a_main_file_without_a_digest_is_read_and_rewritten_with_one(tmp_path):
    store = _store(tmp_path)
    _write_shard(store, "features.parquet", ["k1"], [[1, 2]], digest=False)
    assert store.needs_compaction()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(store.load(["k1"]), [[1, 2]])
    store.compact()
    metadata = pq.read_schema(store.directory / "features.parquet").metadata
    assert metadata[DIGEST_KEY] == _expected_digest(["k1"], [[1, 2]]).encode()
    assert not store.needs_compaction()


def test_damaged_files_are_set_aside_and_their_rows_not_served(tmp_path):
    store = _store(tmp_path)
    good = _write_shard(store, "shard-a.parquet", ["k1"], [[1, 1]])
    junk = store.directory / "shard-b.parquet"
    junk.write_bytes(b"not parquet at all")
    # A valid file whose content does not match its digest (a vector edited afterwards).
    table = _table(["k2"], [[2, 2]])
    edited = table.replace_schema_metadata({DIGEST_KEY: b"0" * 64})
    pq.write_table(edited, store.directory / "shard-c.parquet")
    # A file with a digest but no vector column.
    pq.write_table(
        pa.table({KEY_COLUMN: ["k3"]}).replace_schema_metadata({DIGEST_KEY: b"1" * 64}),
        store.directory / "shard-d.parquet",
    )
    with pytest.warns(UserWarning) as record:
        assert store.keys() == {"k1"}
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 3
    assert messages[0].startswith(f"{junk}: damaged cache file (not readable Parquet: ")
    assert messages[1] == (
        f"{store.directory / 'shard-c.parquet'}: damaged cache file (content does not match "
        "its stored SHA-256); set aside as shard-c.parquet.corrupt, its rows count as not "
        "extracted and are re-extracted by the next 'paraser extract'"
    )
    assert messages[2].startswith(
        f"{store.directory / 'shard-d.parquet'}: damaged cache file (not a feature table: "
    )
    assert sorted(p.name for p in store.directory.glob("*.corrupt")) == [
        "shard-b.parquet.corrupt",
        "shard-c.parquet.corrupt",
        "shard-d.parquet.corrupt",
    ]
    assert good.exists()


def test_a_damaged_main_file_needs_no_compaction_until_read(tmp_path):
    store = _store(tmp_path)
    store.directory.mkdir(parents=True)
    (store.directory / "features.parquet").write_bytes(b"junk")
    assert not store.needs_compaction()
    store.compact()  # nothing to do: the damaged file is left for the next read
    assert (store.directory / "features.parquet").exists()
    with pytest.warns(UserWarning):
        assert store.keys() == set()
    assert (store.directory / "features.parquet.corrupt").exists()


def test_compacting_nothing_writes_nothing(tmp_path):
    store = _store(tmp_path)
    store.compact()
    assert not store.directory.exists()
    store.directory.mkdir(parents=True)
    store.compact()
    assert list(store.directory.iterdir()) == []
    # Only damaged shards: they are set aside and no main file is written.
    (store.directory / "shard-x.parquet").write_bytes(b"junk")
    with pytest.warns(UserWarning):
        store.compact()
    assert sorted(p.name for p in store.directory.iterdir()) == [
        ".lock",
        "shard-x.parquet.corrupt",
    ]


def test_a_read_only_cache_cannot_be_compacted_into_but_is_read(tmp_path, monkeypatch):
    store = _store(tmp_path)
    store.add(["k1"], np.array([[1.0, 2.0]]))
    real_open = open

    def read_only_open(path, mode="r", *args, **kwargs):
        if str(path).endswith(".lock") and "a" in mode:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", read_only_open)
    with pytest.raises(CacheStorageError) as info:
        store.compact()
    assert str(info.value) == (
        f"{store.directory}: the cache is read-only ({os.strerror(errno.EROFS)}); extracting "
        "needs write access: pass a writable --cache-dir"
    )
    # Read with a shared lock on the existing lock file, or none when there is none.
    assert FeatureStore.open(store.directory).keys() == {"k1"}
    (store.directory / ".lock").unlink(missing_ok=True)
    assert FeatureStore.open(store.directory).keys() == {"k1"}
    assert not (store.directory / ".lock").exists()

    def broken_open(path, mode="r", *args, **kwargs):
        if str(path).endswith(".lock"):
            raise OSError(errno.EIO, "i/o error")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", broken_open)
    with pytest.raises(OSError, match="i/o error"):
        FeatureStore.open(store.directory).keys()


def test_reading_takes_a_shared_lock_and_compacting_an_exclusive_one(tmp_path, monkeypatch):
    store = _store(tmp_path)
    store.add(["k1"], np.array([[1.0, 2.0]]))
    calls = []
    real_flock = store_module.fcntl.flock

    def flock(handle, operation):
        calls.append(operation)
        real_flock(handle, operation)

    monkeypatch.setattr(store_module.fcntl, "flock", flock)
    fcntl = store_module.fcntl
    FeatureStore.open(store.directory).keys()
    assert calls == [fcntl.LOCK_SH, fcntl.LOCK_UN]
    calls.clear()
    store.compact()
    assert calls == [fcntl.LOCK_EX, fcntl.LOCK_UN]
    calls.clear()
    empty = FeatureStore(tmp_path / "never", {}, NAMES).load([])
    assert calls == [] and empty.shape == (0, 2) and empty.dtype == np.float32
