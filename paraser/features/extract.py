"""Extract feature sets for a corpus into the cache, once.

Each file is read, downmixed and resampled once for all requested feature sets;
files are spread over worker processes in chunks, and every worker keeps one
openSMILE engine per feature set for its whole life.  Finished files are
written as cache shards every ~32 files, so an interrupted run loses at most
those and the chunks in flight.

Feature sets that run a neural model (a spec with ``batch_seconds``, e.g. the
SSL encoders of :mod:`paraser.features.ssl`) are not sent to the workers: one
model per worker process would multiply its memory, and torch already uses
every core.  They run in this process after the openSMILE sets, on files
grouped by similar duration (``batch_seconds`` of audio per engine call), and
read each file again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import delayed

from paraser.audio import (
    AudioError,
    file_digest,
    item_duration,
    item_fragment,
    read_item,
    segment_item,
    split_item,
)
from paraser.features.registry import FeatureSetSpec, as_specs
from paraser.features.store import (
    FULL_ERRNOS,
    CacheStorageError,
    FeatureStore,
    remove_stale_tmp,
    storage_errno,
)
from paraser.parallel import parallel_runner, worker_count
from paraser.results import atomic_write_text

DEFAULT_CACHE_DIR = Path("features_cache")


class ExtractionError(RuntimeError):
    """Raised in ``strict`` mode at the first file that cannot be extracted."""


@dataclass
class ExtractionReport:
    """What one extraction run did, per feature set."""

    corpus: str
    n_files: int
    extracted: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)
    failures: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "feature_set", "reason"])
    )
    seconds: float = 0.0
    #: Files whose bytes equal an earlier file's (extracted once): (file, same as file).
    identical: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failures.empty


# One engine per feature set, kept for the life of the worker.  Per thread, because
# a Dask worker may run tasks in threads and an openSMILE instance is not reentrant.
_ENGINES = threading.local()


def _engine(spec: FeatureSetSpec) -> Callable[[np.ndarray], np.ndarray]:
    engines = getattr(_ENGINES, "by_key", None)
    if engines is None:
        engines = _ENGINES.by_key = {}
    engine = engines.get(spec.cache_key)
    if engine is None:
        engine = engines[spec.cache_key] = spec.make_engine()
    return engine


def _extract_chunk(
    items: list[tuple[str, list[int]]], specs: Sequence[FeatureSetSpec]
) -> list[tuple[str, dict[int, np.ndarray], list[tuple[int | None, str]]]]:
    """Worker: read each file once, run every feature set it still needs.

    Feature set by feature set over the chunk's files, not file by file: one
    engine's code and tables stay in the CPU caches across files (~1 % of the CPU).
    """
    signals: dict[str, np.ndarray] = {}
    results = []
    for path, _ in items:
        try:
            signals[path] = read_item(path)
        except AudioError as exc:
            results.append((path, {}, [(None, str(exc))]))
        else:
            results.append((path, {}, []))
    needed_by = dict(items)
    for index in sorted({index for _, needed in items for index in needed}):
        for path, vectors, errors in results:
            if path in signals and index in needed_by[path]:
                found, failed = run_specs(signals[path], path, [index], specs)
                vectors.update(found)
                errors.extend(failed)
    return results


def run_specs(
    signal: np.ndarray, label: str, needed: Sequence[int], specs: Sequence[FeatureSetSpec]
) -> tuple[dict[int, np.ndarray], list[tuple[int | None, str]]]:
    """Run the feature sets ``needed`` (indices into ``specs``) on one signal.

    Returns the valid vectors by spec index and the errors (spec index, reason
    naming ``label``); a vector that is NaN/inf or of the wrong size is an error.
    """
    vectors: dict[int, np.ndarray] = {}
    errors: list[tuple[int | None, str]] = []
    for index in needed:
        engine = _engine(specs[index])
        try:
            vector = engine(signal)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the corpus
            errors.append((index, f"{label}: {specs[index].name} failed: {exc}"))
            continue
        if not np.all(np.isfinite(vector)):
            errors.append((index, f"{label}: {specs[index].name} gave NaN/inf features"))
            continue
        names = getattr(specs[index], "feature_names", None) or getattr(
            engine, "feature_names", None
        )
        if names is not None and np.shape(vector) != (len(names),):
            # A partial vector would be cached as valid or break the whole shard.
            got, want = np.size(vector), len(names)
            errors.append((index, f"{label}: {specs[index].name} gave {got} values, not {want}"))
            continue
        vectors[index] = vector
    return vectors, errors


class PendingRows:
    """Finished vectors buffered per feature set until they are written as one cache shard."""

    def __init__(self, stores: Sequence[FeatureStore], specs: Sequence[FeatureSetSpec], report):
        self.stores, self.specs, self.report = stores, specs, report
        self.rows: dict[int, tuple[list[str], list[np.ndarray]]] = {}

    def add(self, index: int, key: str, vector: np.ndarray) -> None:
        keys, vectors = self.rows.setdefault(index, ([], []))
        keys.append(key)
        vectors.append(vector)

    def flush(self) -> None:
        for index, (keys, vectors) in self.rows.items():
            self.stores[index].add(keys, np.vstack(vectors))
            self.report.extracted[self.specs[index].name] += len(keys)
        self.rows.clear()


#: Finished files buffered before they are written as a cache shard.
_FLUSH_FILES = 32


def work_chunks(items: list, jobs: int, max_size: int = 8) -> list[list]:
    """``items`` in dispatch order, in chunks that shrink as the work runs out.

    Small chunks keep every worker busy to the end (a 32-file chunk of ComParE
    can leave one of two cores idle for ~4 s); dispatching one costs a few ms, so
    chunks are as large as ``max_size`` while much work remains and single files
    at the end, where one worker would otherwise finish a whole chunk alone.
    """
    if jobs <= 1:  # one worker: nothing to even out, fewer chunks
        size = max(1, min(max_size, len(items) // 4))
        return [items[i : i + size] for i in range(0, len(items), size)]
    chunks = []
    start = 0
    while start < len(items):
        size = max(1, min(max_size, (len(items) - start) // (jobs * 4)))
        chunks.append(items[start : start + size])
        start += size
    return chunks


#: Bytes per second of 16-bit 16 kHz audio: the work estimate of a segment.
_SEGMENT_BYTES_PER_S = 2 * 16_000


def work_estimate(item: str) -> float:
    """Relative extraction cost of an item: its file size, or its length for a segment.

    Only an order for dispatching (longest first), so a free estimate: openSMILE's
    cost grows with the duration, and so does a file's size within a corpus.
    """
    path, start, end = split_item(item)
    if end is not None:
        return (end - (start or 0.0)) * _SEGMENT_BYTES_PER_S
    try:
        return float(os.stat(path).st_size)
    except OSError:
        return 0.0


def corpus_cache_dir(cache_dir: str | Path, corpus: str) -> Path:
    """``cache_dir/corpus``; a corpus name that is not one plain folder name is refused."""
    if corpus in ("", ".", "..") or "/" in corpus or os.sep in corpus:
        # A manifest named '...csv' has the stem '..': its cache would land beside cache_dir.
        raise ValueError(
            f"corpus name '{corpus}' cannot name a cache folder; rename the manifest "
            "(or register it under a plain name)"
        )
    return Path(cache_dir) / corpus


# Digests computed in this process, by path and the full stat: the change time (ctime)
# cannot be set back by a copy, ``touch -r`` or a restore, unlike size and mtime.
# Never persisted: every run hashes every file's bytes once (EmoDB: 0.07 s).
_DIGESTS: dict[tuple, str] = {}


def content_hash(path: str) -> str:
    """SHA-256 of ``path``'s bytes; :class:`OSError` when unreadable or not a regular file."""
    info = os.stat(path)  # follows links: the file they point to is what is read
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, _kind(info.st_mode))
    key = (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    digest = _DIGESTS.get(key)
    if digest is None:
        digest = _DIGESTS[key] = file_digest(path)
    return digest


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return f"not a regular file ({name})"
    return "not a regular file"


def media_items(manifest: pd.DataFrame) -> list[str]:
    """What each manifest row analyses: its ``path``, or ``path#t=start,end`` for a segment.

    Optional ``start``/``end`` columns (seconds; empty for the whole file) cut
    one recording into several utterances.
    """
    paths = manifest["path"].astype(str).tolist()
    if "start" not in manifest.columns and "end" not in manifest.columns:
        return paths
    starts = manifest["start"] if "start" in manifest.columns else [None] * len(paths)
    ends = manifest["end"] if "end" in manifest.columns else [None] * len(paths)
    return [segment_item(p, s, e) for p, s, e in zip(paths, starts, ends)]


def hash_files(
    paths: Sequence[str], corpus_dir: Path | None = None
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Cache keys of ``paths`` (items, see :func:`media_items`); unreadable files listed.

    A key is the file's content hash, plus the item's ``#t=start,end`` fragment
    for a segment.  A FIFO or a device (``/dev/zero``) is refused before it is
    opened, so it can never hang a run.  ``corpus_dir`` is unused (kept for
    callers of older versions).
    """
    digests: dict[str, str] = {}
    unreadable: list[tuple[str, str]] = []
    for path in paths:
        try:
            digests[path] = content_hash(split_item(path)[0]) + item_fragment(path)
        except OSError as exc:
            unreadable.append((path, f"{path}: cannot read file: {exc.strerror or exc}"))
    return digests, unreadable


def writable(directory: Path) -> bool:
    """Whether files can be created in ``directory`` (or where it would be created)."""
    probe = Path(directory)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        with tempfile.TemporaryFile(dir=probe):
            return True
    except OSError as exc:
        code = storage_errno(exc)
        if code is None:
            raise
        return code in FULL_ERRNOS  # a full disk is not read-only: the write will say so


def open_store(
    spec: FeatureSetSpec, corpus_dir: Path, extra_provenance: dict | None = None
) -> FeatureStore:
    """The store of ``spec`` under ``corpus_dir``; a new one records ``extra_provenance`` too."""
    directory = corpus_dir / spec.cache_key
    if (directory / "provenance.json").is_file():
        return FeatureStore.open(directory)
    names = getattr(spec, "feature_names", None) or _engine_names(spec)
    return FeatureStore(directory, {**spec.provenance(), **(extra_provenance or {})}, names)


def _engine_names(spec: FeatureSetSpec) -> list[str]:
    return list(_engine(spec).feature_names)  # type: ignore[attr-defined]


def extract_features(
    manifest: pd.DataFrame,
    feature_sets: Sequence[str | FeatureSetSpec],
    *,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    jobs: int = 1,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExtractionReport:
    """Extract what the cache lacks for every utterance of a loaded manifest.

    ``progress(done, total)`` is called as files finish.  Failures are
    collected (file, feature set, reason), saved to ``failures.csv`` beside the
    cache and returned; with ``strict`` the first one raises
    :class:`ExtractionError` after finished work is saved.  Files with identical
    bytes are extracted once (listed in ``report.identical``).

    A fully cached corpus is read without write access.  When the cache cannot
    be written (read-only, disk full) :class:`CacheStorageError` says what was
    kept and how to resume; every row stored before it stays valid.
    """
    started = time.perf_counter()
    specs = as_specs(feature_sets)
    corpus = str(manifest["corpus"].iloc[0]) if len(manifest) else "empty"
    corpus_dir = corpus_cache_dir(cache_dir, corpus)
    paths = list(dict.fromkeys(media_items(manifest)))
    remove_stale_tmp(corpus_dir)  # leftovers of a run killed mid-write
    digests, unreadable = hash_files(paths)
    report = ExtractionReport(corpus=corpus, n_files=len(paths))
    failures: list[dict] = [
        {"file": p, "feature_set": "*", "reason": reason} for p, reason in unreadable
    ]
    if strict and failures:
        save_failures(corpus_dir, failures, report)
        raise ExtractionError(failures[0]["reason"])
    first_of: dict[str, str] = {}
    for path, digest in digests.items():
        if digest in first_of:
            report.identical.append((path, first_of[digest]))
        else:
            first_of[digest] = path

    stores = [open_store(spec, corpus_dir) for spec in specs]
    todo: dict[str, list[int]] = {}
    for index, store in enumerate(stores):
        remove_stale_tmp(store.directory)
        have = store.keys()  # verified: damaged or NaN rows are not "cached"
        report.cached[specs[index].name] = sum(d in have for d in digests.values())
        report.extracted[specs[index].name] = 0
        for path in first_of.values():  # identical bytes: extracted once
            if digests[path] not in have:
                todo.setdefault(path, []).append(index)

    if not writable(corpus_dir):
        if todo:
            raise CacheStorageError(
                f"{corpus_dir}: {len(todo)} file(s) need extraction but the cache is read-only; "
                "cached features are read without write access, extracting needs it: pass a "
                "writable --cache-dir (or copy this cache)"
            )
        report.failures = pd.DataFrame(failures, columns=["file", "feature_set", "reason"])
        report.seconds = time.perf_counter() - started
        return report  # all cached: nothing to write, nothing written

    try:
        _extract_missing(specs, stores, todo, digests, report, failures, strict, jobs, progress)
        # A file extracted once for several names failed for each of them.
        first_failures = [f for f in failures if f["file"] in todo]
        for path, same in report.identical:
            failures += [
                {**f, "file": path, "reason": f"{path}: same bytes as {f['reason']}"}
                for f in first_failures
                if f["file"] == same
            ]
    except OSError as exc:
        if storage_errno(exc) is None or isinstance(exc, CacheStorageError):
            raise
        raise _storage_error(exc, corpus_dir, report, todo) from exc
    finally:
        _settle(stores, corpus_dir, failures, report)
    report.seconds = time.perf_counter() - started
    return report


def _extract_missing(
    specs: Sequence[FeatureSetSpec],
    stores: list[FeatureStore],
    todo: dict[str, list[int]],
    digests: dict[str, str],
    report: ExtractionReport,
    failures: list[dict],
    strict: bool,
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Run the extractors on ``todo`` (path -> spec indices), storing rows as they finish."""
    batched = _batched_work(specs, todo)
    items = sorted((path, needed) for path, needed in todo.items() if needed)
    workers = worker_count(jobs)
    if workers > 1:  # longest first: the short files left at the end even out the finish
        items.sort(key=lambda item: -work_estimate(item[0]))
    total = len(items) + sum(len(files) for _, files in batched)
    done = 0
    if progress:
        progress(0, total)
    if items:
        runner = parallel_runner(jobs, return_as="generator_unordered")
        chunks = work_chunks(items, workers)
        batches = runner(delayed(_extract_chunk)(chunk, specs) for chunk in chunks)
        pending = PendingRows(stores, specs, report)
        unflushed = 0
        try:
            for batch in batches:
                for path, vectors, errors in batch:
                    for index, vector in vectors.items():
                        pending.add(index, digests[path], vector)
                    for index, reason in errors:
                        name = "*" if index is None else specs[index].name
                        failures.append({"file": path, "feature_set": name, "reason": reason})
                # A shard per ~32 files, not per (small) chunk: shard writes and
                # compaction run in this process, beside the workers, on the same cores.
                unflushed += len(batch)
                if unflushed >= _FLUSH_FILES:
                    pending.flush()
                    unflushed = 0
                done += len(batch)
                if progress:
                    progress(done, total)
                if strict and failures:
                    raise ExtractionError(failures[0]["reason"])
        except BaseException:
            batches.close()
            # Keep what finished; the error that stopped the loop is the one to report.
            with contextlib.suppress(OSError):
                pending.flush()
            raise
        batches.close()
        pending.flush()
    for indices, files in batched:
        for group in _duration_groups(files, specs[indices[0]].batch_seconds):
            _extract_batch(group, indices, specs, stores, digests, report, failures)
            done += len(group)
            if progress:
                progress(done, total)
            if strict and failures:
                raise ExtractionError(failures[0]["reason"])


def _settle(
    stores: list[FeatureStore], corpus_dir: Path, failures: list[dict], report: ExtractionReport
) -> None:
    """Compact every store and save ``failures.csv``, even after an error.

    A storage error here (the disk is still full) is not raised over the error
    that got us here: compaction is an optimisation (shards are read as they
    are) and the failures are on the report either way.
    """
    for store in stores:
        try:
            store.compact()
        except OSError as exc:
            if storage_errno(exc) is None:
                raise
    try:
        save_failures(corpus_dir, failures, report)
    except OSError as exc:
        if storage_errno(exc) is None:
            raise
        report.failures = pd.DataFrame(failures, columns=["file", "feature_set", "reason"])
        warnings.warn(f"{corpus_dir}: failures.csv not written ({exc})", stacklevel=3)


def _storage_error(
    exc: OSError, corpus_dir: Path, report: ExtractionReport, todo: dict[str, list[int]]
) -> CacheStorageError:
    what = "disk full" if storage_errno(exc) in FULL_ERRNOS else "cache not writable"
    stored = sum(report.extracted.values())
    cached = sum(report.cached.values())
    return CacheStorageError(
        f"{corpus_dir}: {what} while writing the cache ({exc}). Kept: {cached} row(s) cached "
        f"before this run and {stored} stored by it, all complete and verified; the rest of "
        f"the {len(todo)} file(s) to extract were not stored. Free space (or pass another "
        "--cache-dir) and rerun the same command: it extracts only what is missing."
    )


def _batched_work(
    specs: Sequence[FeatureSetSpec], todo: dict[str, list[int]]
) -> list[tuple[list[int], list[str]]]:
    """Take the batched (model) feature sets out of ``todo``: (spec indices, files) per entry.

    Specs sharing a cache entry (views of one model, e.g. ``xlsr`` and ``xlsr:6``)
    are extracted once.
    """
    by_key: dict[str, tuple[list[int], list[str]]] = {}
    for index, spec in enumerate(specs):
        if getattr(spec, "batch_seconds", None) is None:
            continue
        indices, files = by_key.setdefault(spec.cache_key, ([], []))
        indices.append(index)
        for path, needed in todo.items():
            if index in needed:
                needed.remove(index)
                if path not in files:
                    files.append(path)
    return [(indices, files) for indices, files in by_key.values() if files]


def _duration_groups(paths: list[str], batch_seconds: float) -> list[list[str]]:
    """Files sorted by duration, in groups of about ``batch_seconds`` of audio."""

    groups: list[list[str]] = []
    seconds = 0.0
    for path, length in sorted(((p, item_duration(p)) for p in paths), key=lambda pair: pair[1]):
        if not groups or seconds + length > batch_seconds:
            groups.append([])
            seconds = 0.0
        groups[-1].append(path)
        seconds += length
    return groups


def _extract_batch(
    paths: list[str],
    indices: list[int],
    specs: Sequence[FeatureSetSpec],
    stores: list[FeatureStore],
    digests: dict[str, str],
    report: ExtractionReport,
    failures: list[dict],
) -> None:
    """Run one batched engine on a group of files and store the vectors."""
    spec = specs[indices[0]]
    names = dict.fromkeys(specs[i].name for i in indices)
    # Engine errors (model missing, torch missing) concern every file: they propagate.
    engine = _engine(spec)
    signals, ok = [], []
    for path in paths:
        try:
            signals.append(read_item(path))
            ok.append(path)
        except AudioError as exc:
            failures += [{"file": path, "feature_set": n, "reason": str(exc)} for n in names]
    try:
        vectors = engine.batch(signals) if signals else []  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - retry one by one so one bad file fails alone
        vectors = []
        for path, signal in zip(ok, signals):
            try:
                vectors.extend(engine.batch([signal]))  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001
                vectors.append(None)
                failures += [
                    {"file": path, "feature_set": n, "reason": f"{path}: {n} failed: {exc}"}
                    for n in names
                ]
    keys, rows = [], []
    for path, vector in zip(ok, vectors):
        if vector is None:
            continue
        if not np.all(np.isfinite(vector)):
            failures += [
                {"file": path, "feature_set": n, "reason": f"{path}: {n} gave NaN/inf features"}
                for n in names
            ]
            continue
        keys.append(digests[path])
        rows.append(vector)
    if keys:
        stores[indices[0]].add(keys, np.vstack(rows))
    for name in names:
        report.extracted[name] += len(keys)


def save_failures(
    directory: Path,
    failures: list[dict],
    report: ExtractionReport,
    columns: Sequence[str] = ("file", "feature_set", "reason"),
) -> None:
    """Write ``failures`` to ``directory/failures.csv`` and set them on ``report``."""
    frame = pd.DataFrame(failures, columns=list(columns))
    report.failures = frame
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / "failures.csv", frame.to_csv(index=False))


@dataclass(frozen=True)
class FeatureMatrix:
    """Cached features of a manifest's utterances.

    ``available[i]`` says whether manifest row ``i`` has features (a file that
    failed extraction has none); ``values`` holds the available rows in order.
    """

    values: np.ndarray
    available: np.ndarray
    feature_names: list[str]
    feature_set: str
    provenance: dict


def load_features(
    manifest: pd.DataFrame,
    feature_set: str | FeatureSetSpec,
    *,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
) -> FeatureMatrix:
    """Load cached features for the rows of ``manifest`` that have them."""
    (spec,) = as_specs([feature_set])
    corpus = str(manifest["corpus"].iloc[0])
    corpus_dir = corpus_cache_dir(cache_dir, corpus)
    paths = media_items(manifest)
    digests, _ = hash_files(paths)
    store = open_store(spec, corpus_dir)
    have = store.keys(verified=True)
    available = np.array([digests.get(p) in have for p in paths], dtype=bool)
    keys = [digests[p] for p, ok in zip(paths, available) if ok]
    values = store.load(keys) if keys else np.zeros((0, len(store.feature_names)), np.float32)
    names = store.feature_names
    columns = getattr(spec, "columns", None)
    if columns is not None:  # a view of a wider cache entry (one layer of an SSL model)
        values = values[:, columns]
        names = [names[i] for i in columns]
    return FeatureMatrix(values, available, names, spec.name, store.provenance)
