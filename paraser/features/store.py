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
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
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


def atomic_write_table(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    tmp.write_text(text)
    os.replace(tmp, path)


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
                table = pq.read_table(path)
                keys.append(table.column(KEY_COLUMN).to_numpy(zero_copy_only=False))
                values = table.column(VECTOR_COLUMN).combine_chunks().flatten().to_numpy()
                blocks.append(values.reshape(-1, len(self.feature_names)))
        if keys:
            all_keys = np.concatenate(keys)
            matrix = np.concatenate(blocks).astype(np.float32, copy=False)
        else:
            all_keys = np.array([], dtype=object)
            matrix = np.zeros((0, len(self.feature_names)), np.float32)
        # Concurrent runs may both store a file: the vectors are identical, keep one.
        _, first = np.unique(all_keys, return_index=True)
        first.sort()
        self._table = pd.DataFrame({"row": first}, index=pd.Index(all_keys[first], name=KEY_COLUMN))
        self._matrix = matrix
        return self._table

    def keys(self) -> set[str]:
        if not self.directory.is_dir():
            return set()
        return set(self._read().index)

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
            tables = [pq.read_table(p) for p in ([main] if main.is_file() else []) + shards]
            merged = pa.concat_tables(tables)
            keys = merged.column(KEY_COLUMN).to_numpy(zero_copy_only=False)
            _, first = np.unique(keys, return_index=True)
            merged = merged.take(pa.array(np.sort(first)))
            atomic_write_table(merged, main)
            for shard in shards:
                shard.unlink(missing_ok=True)
        self._table = None


class AudioIndex:
    """Remembers each file's content hash by (size, mtime) so warm runs skip hashing."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._entries: dict[str, tuple[int, int, str]] = {}
        if self.path.is_file():
            frame = pq.read_table(self.path).to_pandas()
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
