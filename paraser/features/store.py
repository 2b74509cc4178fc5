"""The feature cache: Parquet tables keyed by audio content, with provenance.

Layout, one folder per corpus and per feature-set configuration::

    features_cache/<corpus>/
        failures.csv                # files the last extraction could not use, and why
        <set>-<config hash>-<ver>/  # e.g. egemaps-ded3a77d60-e33c
            provenance.json         # extractor, version, config hash, feature names
            features.parquet        # audio_sha256 + one fixed-size float32 vector per row
            shard-*.parquet         # rows added since the last compaction
            *.corrupt               # damaged files set aside (kept for inspection)

Rows are keyed by the SHA-256 of the audio file's bytes, hashed on every run
(never trusted from size and mtime, which a copy can restore), so changed audio
is re-extracted and renamed or moved audio is not.  Every write goes to a
temporary name first and is renamed into place: an interrupted run leaves
finished shards intact and never a torn file.  Compaction, which deletes
shards, takes an exclusive lock; readers take a shared one, and a read-only
cache is read without one when the lock file cannot be opened.

Integrity: every Parquet file paraser writes carries, in its footer metadata, the
SHA-256 of its content (keys and vectors as decoded).  Every read recomputes it;
a file that does not match (a flipped or zeroed block) or cannot be parsed is
set aside as ``<name>.corrupt`` with a warning, and its rows count as not
extracted, so the next ``extract`` re-extracts them.  Files of older paraser
versions, without a digest, are read and rewritten with one at the next
compaction.

Temporary files are named ``.tmp-<host>-<pid>-<uuid>-<name>``; those of a
writer that died (killed mid-write) are removed by :func:`remove_stale_tmp`.
Rows holding NaN/inf (paraser never writes them; an imported or edited file may)
are never returned: they count as not extracted (with a warning), and
compaction drops them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
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

from paraser.results import atomic_write_parquet, atomic_write_text

KEY_COLUMN = "audio_sha256"
VECTOR_COLUMN = "features"


class CacheError(RuntimeError):
    """A cache entry that is missing or does not match its provenance."""


class CacheStorageError(CacheError):
    """The cache cannot be written (disk full, read-only); the message says what was kept."""


#: Footer metadata key of a file's content digest.
DIGEST_KEY = b"paraser.content_sha256"

# errno values meaning "this storage cannot take the write", not "this file is bad".
READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def storage_errno(exc: BaseException) -> int | None:
    """The errno of a storage failure (disk full, read-only), also from pyarrow's messages."""
    code = getattr(exc, "errno", None)
    if code in READ_ONLY_ERRNOS + FULL_ERRNOS:
        return code
    text = str(exc)
    # pyarrow's OSError carries the C errno only in its message.
    for code in READ_ONLY_ERRNOS + FULL_ERRNOS:
        if f"[errno {code}]" in text.lower() or os.strerror(code) in text:
            return code
    return None


#: Temporary files of another host (or an older paraser) this old are abandoned.
STALE_TMP_AGE_S = 24 * 3600

_TMP_NAME = re.compile(r"^\.tmp-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{32}-")

# Errors pyarrow raises for a file that is not (or no longer) valid Parquet.
_UNREADABLE = (pa.ArrowException, OSError)


def content_digest(table: pa.Table) -> str:
    """SHA-256 of a cache table's keys and vectors as decoded (what a reader is served)."""
    digest = hashlib.sha256()
    digest.update("\n".join(table.column(KEY_COLUMN).to_pylist()).encode())
    digest.update(b"\0")
    digest.update(table.column(VECTOR_COLUMN).combine_chunks().flatten().to_numpy().tobytes())
    return digest.hexdigest()


def _with_digest(table: pa.Table) -> pa.Table:
    if KEY_COLUMN not in table.column_names or VECTOR_COLUMN not in table.column_names:
        return table  # not a feature table (e.g. an index): Parquet's own checks only
    metadata = {**(table.schema.metadata or {}), DIGEST_KEY: content_digest(table).encode()}
    return table.replace_schema_metadata(metadata)


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` (with its content digest when it is a feature table) atomically.

    Without dictionary encoding: unique keys and float vectors never repeat, so
    pyarrow's attempt costs ~40 ms per ComParE shard of 32 rows (1 ms without,
    files a third smaller), in the process that collects the workers' results.
    """
    atomic_write_parquet(_with_digest(table), path, use_dictionary=False)


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
        except OSError as exc:
            if storage_errno(exc) is None:
                raise
            continue  # a read-only cache: nothing of ours to clean
    return removed


def set_aside(path: Path, reason: str) -> Path | None:
    """Rename a damaged cache file to ``<name>.corrupt`` (kept, never deleted), warning.

    Returns the new path, or ``None`` when it could not be moved (read-only cache,
    or a concurrent reader moved it first); its rows are ignored either way.
    """
    target = path.with_name(f"{path.name}.corrupt")
    if target.exists():
        target = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.corrupt")
    try:
        path.rename(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if storage_errno(exc) is None:
            raise
        warnings.warn(
            f"{path}: damaged cache file ({reason}); its rows are ignored, but it cannot be set "
            "aside (read-only cache)",
            stacklevel=3,
        )
        return None
    warnings.warn(
        f"{path}: damaged cache file ({reason}); set aside as {target.name}, its rows count as "
        "not extracted and are re-extracted by the next 'paraser extract'",
        stacklevel=3,
    )
    return target


def _read_parquet(path: Path) -> pa.Table | None:
    """``path`` as a verified table, or ``None`` when it is damaged (then set aside)."""
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        return None  # compacted away by a concurrent run between listing and reading
    except _UNREADABLE as exc:
        set_aside(path, f"not readable Parquet: {exc}")
        return None
    expected = (table.schema.metadata or {}).get(DIGEST_KEY)
    if expected is None:
        return table  # written before digests: read as is, given one at the next compaction
    try:
        actual = content_digest(table)
    except (KeyError, pa.ArrowException) as exc:
        set_aside(path, f"not a feature table: {exc}")
        return None
    if actual != expected.decode():
        set_aside(path, "content does not match its stored SHA-256")
        return None
    return table


@contextlib.contextmanager
def _locked(directory: Path, exclusive: bool) -> Iterator[None]:
    if exclusive:
        directory.mkdir(parents=True, exist_ok=True)
    elif not directory.is_dir():
        yield  # nothing stored yet: nothing to read
        return
    try:
        handle = open(directory / ".lock", "a+")  # noqa: SIM115 - closed below
    except OSError as exc:
        if storage_errno(exc) is None:
            raise
        if exclusive:
            raise CacheStorageError(
                f"{directory}: the cache is read-only ({os.strerror(storage_errno(exc))}); "
                "extracting needs write access: pass a writable --cache-dir"
            ) from exc
        try:
            handle = open(directory / ".lock")  # noqa: SIM115 - flock needs no write access
        except FileNotFoundError:
            yield  # a read-only cache without a lock file: no writer can change it here
            return
    with handle:
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
                "ignored; the next 'paraser extract' re-extracts them",
                stacklevel=2,
            )
        # Concurrent runs may both store a file: the vectors are identical, keep one.
        _, first = np.unique(all_keys[finite], return_index=True)
        first = np.flatnonzero(finite)[first]
        first.sort()
        self._table = pd.DataFrame({"row": first}, index=pd.Index(all_keys[first], name=KEY_COLUMN))
        self._matrix = matrix
        return self._table

    def keys(self, verified: bool = True) -> set[str]:
        """Keys of the rows :meth:`load` can serve: in files that pass their integrity
        check, without NaN/inf.

        Always verified (``verified`` is kept for callers of older versions): a key
        whose row is damaged or non-finite must count as not extracted, or
        ``extract`` would report it cached and never redo it.
        """
        if not self.directory.is_dir():
            return set()
        return set(self._read().index)

    def needs_compaction(self) -> bool:
        """Whether :meth:`compact` has work: shards to merge, or a main file without a digest."""
        if any(self.directory.glob("shard-*.parquet")):
            return True
        main = self.directory / "features.parquet"
        try:
            metadata = pq.read_schema(main).metadata or {}
        except (FileNotFoundError, *_UNREADABLE):
            return False  # absent, or damaged: the next read sets it aside
        return DIGEST_KEY not in metadata

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
        """Merge shards into ``features.parquet`` (under an exclusive lock).

        Damaged files are set aside; rows holding NaN/inf are dropped, so a good row
        of the same key (re-extracted after an imported NaN row) is the one kept.
        """
        if not self.directory.is_dir() or not self.needs_compaction():
            return  # nothing to write: a read-only cache stays untouched
        with _locked(self.directory, exclusive=True):
            shards = sorted(self.directory.glob("shard-*.parquet"))
            main = self.directory / "features.parquet"
            tables = []
            for path in ([main] if main.is_file() else []) + shards:
                table = _read_parquet(path)  # a damaged one is set aside, out of readers' way
                if table is not None:
                    tables.append(table.select([KEY_COLUMN, VECTOR_COLUMN]))
            if tables:
                merged = pa.concat_tables(tables).combine_chunks()
                values = merged.column(VECTOR_COLUMN).combine_chunks().flatten().to_numpy()
                finite = np.isfinite(values.reshape(len(merged), -1)).all(axis=1)
                keys = merged.column(KEY_COLUMN).to_numpy(zero_copy_only=False)
                finite_rows = np.flatnonzero(finite)
                _, first = np.unique(keys[finite_rows], return_index=True)
                if len(first) < len(merged):  # rows to drop: a copy without them
                    merged = merged.take(pa.array(np.sort(finite_rows[first])))
                atomic_write_table(merged.replace_schema_metadata(None), main)
            for shard in shards:
                shard.unlink(missing_ok=True)
        self._table = None
