"""The feature cache: Parquet tables keyed by audio content, with provenance.

Layout, one folder per corpus and per feature-set configuration::

    features_cache/<corpus>/
        audio_index.parquet         # path, size, mtime -> sha256 (skips re-hashing)
        failures.csv                # files the last extraction could not use, and why
        <set>-<config hash>-<ver>/  # e.g. egemaps-ded3a77d60-e33c
            provenance.json         # extractor, version, config hash, feature names
            features.parquet        # audio_sha256 + one fixed-size float32 vector per row
            shard-*.parquet         # rows added since the last compaction

Rows are keyed by the SHA-256 of the audio file, so changed audio is
re-extracted and renamed or moved audio is not.  Every write goes to a
temporary name first and is renamed into place: an interrupted run leaves
finished shards intact and never a torn file.  Compaction, which deletes
shards, takes an exclusive lock; readers take a shared one.

Temporary files are named ``.tmp-<host>-<pid>-<uuid>-<name>``; those of a
writer that died (killed mid-write) are removed by :func:`remove_stale_tmp`,
and a file that cannot be read as Parquet, or rows holding NaN/inf, are
never returned: they count as not extracted (with a warning).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from paraser.audio import file_digest

KEY_COLUMN = "audio_sha256"
VECTOR_COLUMN = "features"


class CacheError(RuntimeError):
    """A cache entry that is missing or does not match its provenance."""


#: Temporary files of another host (or an older paraser) this old are abandoned.
STALE_TMP_AGE_S = 24 * 3600

_TMP_NAME = re.compile(r"^\.tmp-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{32}-")

# Errors pyarrow raises for a file that is not (or no longer) valid Parquet.
_UNREADABLE = (pa.ArrowException, OSError)


def _tmp_path(path: Path) -> Path:
    # Host and pid in the name let a later run tell a dead writer's leftovers from live ones.
    return path.with_name(
        f".tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}-{path.name}"
    )


def atomic_write_table(table: pa.Table, path: Path) -> None:
    tmp = _tmp_path(path)
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = _tmp_path(path)
    tmp.write_text(text)
    os.replace(tmp, path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_tmp(directory: str | Path) -> list[Path]:
    """Delete temporary files whose writer died mid-write; return what was removed.

    A temporary file is stale when its writer's pid no longer runs on this host,
    or, written on another host or by an older paraser, when it is older than
    :data:`STALE_TMP_AGE_S`.  Files of live writers (a concurrent run) are kept.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    host = socket.gethostname()
    removed = []
    for tmp in directory.glob(".tmp-*"):
        match = _TMP_NAME.match(tmp.name)
        try:
            if match and match["host"] == host:
                stale = not _pid_alive(int(match["pid"]))
            else:
                stale = time.time() - tmp.stat().st_mtime > STALE_TMP_AGE_S
            if stale:
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:  # its writer renamed it, or another run removed it
            continue
    return removed


def _read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table | None:
    """``path`` as a table, or ``None`` (with a warning) when it is not readable Parquet."""
    try:
        return pq.read_table(path, columns=columns)
    except FileNotFoundError:
        return None  # compacted away by a concurrent run between listing and reading
    except _UNREADABLE as exc:
        warnings.warn(
            f"{path}: unreadable cache file ignored ({exc}); its rows count as not extracted",
            stacklevel=3,
        )
        return None


@contextlib.contextmanager
def _locked(directory: Path, exclusive: bool) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class FeatureStore:
    """Cached vectors of one feature-set configuration for one corpus."""

    def __init__(self, directory: str | Path, provenance: dict, feature_names: list[str]):
        self.directory = Path(directory)
        self.provenance = {**provenance, "feature_names": list(feature_names)}
        self.feature_names = list(feature_names)
        self._table: pd.DataFrame | None = None

    @classmethod
    def open(cls, directory: str | Path) -> FeatureStore:
        """Open an existing store, reading its provenance."""
        directory = Path(directory)
        provenance_path = directory / "provenance.json"
        if not provenance_path.is_file():
            raise CacheError(f"{directory}: no provenance.json; not a feature store")
        provenance = json.loads(provenance_path.read_text())
        return cls(directory, provenance, provenance["feature_names"])

    def _ensure_provenance(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "provenance.json"
        if path.is_file():
            stored = json.loads(path.read_text())
            if stored.get("feature_names") != self.feature_names:
                raise CacheError(
                    f"{self.directory}: cached feature names differ from the extractor's; "
                    "delete this folder to re-extract"
                )
            return
        atomic_write_text(path, json.dumps(self.provenance, indent=2) + "\n")

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Persist finished rows as a new shard (atomic; safe to interrupt)."""
        if not keys:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), len(self.feature_names)):
            raise ValueError(f"expected {len(keys)}x{len(self.feature_names)}, got {vectors.shape}")
        if not np.all(np.isfinite(vectors)):
            raise ValueError("refusing to cache non-finite feature vectors")
        self._ensure_provenance()
        flat = pa.array(vectors.ravel(), type=pa.float32())
        table = pa.table(
            {
                KEY_COLUMN: pa.array(keys, type=pa.string()),
                VECTOR_COLUMN: pa.FixedSizeListArray.from_arrays(flat, len(self.feature_names)),
            }
        )
        atomic_write_table(table, self.directory / f"shard-{uuid.uuid4().hex}.parquet")
        self._table = None

    def _files(self) -> list[Path]:
        main = self.directory / "features.parquet"
        shards = sorted(self.directory.glob("shard-*.parquet"))
        return ([main] if main.is_file() else []) + shards

    def _read(self) -> pd.DataFrame:
        if self._table is not None:
            return self._table
        keys: list[np.ndarray] = []
        blocks: list[np.ndarray] = []
        with _locked(self.directory, exclusive=False):
            for path in self._files():
                table = _read_parquet(path)
                if table is None:
                    continue
                keys.append(table.column(KEY_COLUMN).to_numpy(zero_copy_only=False))
                values = table.column(VECTOR_COLUMN).combine_chunks().flatten().to_numpy()
                blocks.append(values.reshape(-1, len(self.feature_names)))
        if keys:
            all_keys = np.concatenate(keys)
            matrix = np.concatenate(blocks).astype(np.float32, copy=False)
        else:
            all_keys = np.array([], dtype=object)
            matrix = np.zeros((0, len(self.feature_names)), np.float32)
        # paraser never stores NaN/inf (see ``add``); such rows come from an edited or
        # foreign file and must not reach a classifier as if they were features.
        finite = np.isfinite(matrix).all(axis=1)
        if not finite.all():
            warnings.warn(
                f"{self.directory}: {int((~finite).sum())} cached row(s) hold NaN/inf and are "
                "ignored; delete this folder to re-extract them",
                stacklevel=2,
            )
        # Concurrent runs may both store a file: the vectors are identical, keep one.
        _, first = np.unique(all_keys[finite], return_index=True)
        first = np.flatnonzero(finite)[first]
        first.sort()
        self._table = pd.DataFrame({"row": first}, index=pd.Index(all_keys[first], name=KEY_COLUMN))
        self._matrix = matrix
        return self._table

    def keys(self, verified: bool = False) -> set[str]:
        """Keys of the stored rows; reads only the key column unless vectors are loaded.

        ``verified`` reads the vectors too and leaves out rows holding NaN/inf: the
        keys :meth:`load` can serve.
        """
        if not self.directory.is_dir():
            return set()
        if verified or self._table is not None:
            return set(self._read().index)
        keys: set[str] = set()
        with _locked(self.directory, exclusive=False):
            for path in self._files():
                table = _read_parquet(path, columns=[KEY_COLUMN])
                if table is not None:
                    keys.update(table.column(KEY_COLUMN).to_pylist())
        return keys

    def load(self, keys: Iterable[str]) -> np.ndarray:
        """Vectors for ``keys`` in order; :class:`CacheError` names what is missing."""
        keys = list(keys)
        index = self._read()
        missing = [k for k in keys if k not in index.index]
        if missing:
            raise CacheError(
                f"{self.directory}: {len(missing)} of {len(keys)} file(s) not extracted yet"
            )
        return self._matrix[index.loc[keys, "row"].to_numpy()]

    def compact(self) -> None:
        """Merge shards into ``features.parquet`` (under an exclusive lock)."""
        with _locked(self.directory, exclusive=True):
            shards = sorted(self.directory.glob("shard-*.parquet"))
            if not shards:
                return
            main = self.directory / "features.parquet"
            tables = []
            for path in ([main] if main.is_file() else []) + shards:
                table = _read_parquet(path)
                if table is None:
                    # Keep the bytes for inspection, out of the way of readers.
                    path.replace(path.with_name(f"{path.name}.corrupt"))
                    continue
                tables.append(table)
            if not tables:
                return
            merged = pa.concat_tables(tables)
            keys = merged.column(KEY_COLUMN).to_numpy(zero_copy_only=False)
            _, first = np.unique(keys, return_index=True)
            merged = merged.take(pa.array(np.sort(first)))
            atomic_write_table(merged, main)
            for shard in shards:
                shard.unlink(missing_ok=True)
        self._table = None


class AudioIndex:
    """Remembers each file's content hash by (size, mtime) so warm runs skip hashing.

    Concurrent runs each rewrite the whole index (atomically) and the last one wins:
    safe, because an entry is only trusted while size and mtime match, and a lost
    entry costs one re-hash.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._entries: dict[str, tuple[int, int, str]] = {}
        table = _read_parquet(self.path) if self.path.is_file() else None
        if table is not None:  # an unreadable index only costs re-hashing
            frame = table.to_pandas()
            self._entries = {
                p: (int(s), int(m), h)
                for p, s, m, h in frame[["path", "size", "mtime_ns", "sha256"]].itertuples(
                    index=False
                )
            }
        self._dirty = False

    def digest(self, path: str) -> str:
        """The SHA-256 of ``path`` (raises OSError when the file is unreadable)."""
        stat = os.stat(path)
        cached = self._entries.get(path)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            return cached[2]
        digest = file_digest(path)
        self._entries[path] = (stat.st_size, stat.st_mtime_ns, digest)
        self._dirty = True
        return digest

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(
            [(p, s, m, h) for p, (s, m, h) in self._entries.items()],
            columns=["path", "size", "mtime_ns", "sha256"],
        )
        atomic_write_table(pa.Table.from_pandas(frame, preserve_index=False), self.path)
        self._dirty = False
