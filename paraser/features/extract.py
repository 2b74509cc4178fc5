"""Extract feature sets for a corpus into the cache, once.

Each file is read, downmixed and resampled once for all requested feature sets;
files are spread over worker processes in chunks, and every worker keeps one
openSMILE engine per feature set for its whole life.  Finished chunks are
written as cache shards as they arrive, so an interrupted run loses at most
the chunks in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from paraser.audio import AudioError, read_audio
from paraser.features.opensmile_sets import resolve_feature_set
from paraser.features.store import AudioIndex, FeatureStore, atomic_write_text

DEFAULT_CACHE_DIR = Path("features_cache")


class FeatureSetSpec(Protocol):
    """What the extraction loop needs of a feature set (openSMILE, SSL, ...)."""

    name: str

    @property
    def cache_key(self) -> str: ...

    def provenance(self) -> dict: ...

    def make_engine(self) -> Callable[[np.ndarray], np.ndarray]: ...


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

    @property
    def ok(self) -> bool:
        return self.failures.empty


# One engine per feature set, kept for the life of the worker process.
_ENGINES: dict[str, Callable[[np.ndarray], np.ndarray]] = {}


def _engine(spec: FeatureSetSpec) -> Callable[[np.ndarray], np.ndarray]:
    engine = _ENGINES.get(spec.cache_key)
    if engine is None:
        engine = _ENGINES[spec.cache_key] = spec.make_engine()
    return engine


def _extract_chunk(
    items: list[tuple[str, list[int]]], specs: Sequence[FeatureSetSpec]
) -> list[tuple[str, dict[int, np.ndarray], list[tuple[int | None, str]]]]:
    """Worker: read each file once, run every feature set it still needs."""
    results = []
    for path, needed in items:
        vectors: dict[int, np.ndarray] = {}
        errors: list[tuple[int | None, str]] = []
        try:
            signal = read_audio(path)
        except AudioError as exc:
            results.append((path, vectors, [(None, str(exc))]))
            continue
        for index in needed:
            try:
                vector = _engine(specs[index])(signal)
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the corpus
                errors.append((index, f"{path}: {specs[index].name} failed: {exc}"))
                continue
            if not np.all(np.isfinite(vector)):
                errors.append((index, f"{path}: {specs[index].name} gave NaN/inf features"))
                continue
            vectors[index] = vector
        results.append((path, vectors, errors))
    return results


def _chunks(items: list, jobs: int, max_size: int = 32) -> list[list]:
    size = max(1, min(max_size, len(items) // max(1, jobs * 4)))
    return [items[i : i + size] for i in range(0, len(items), size)]


def corpus_cache_dir(cache_dir: str | Path, corpus: str) -> Path:
    return Path(cache_dir) / corpus


def hash_files(
    paths: Sequence[str], corpus_dir: Path
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Content hashes of ``paths`` (via the corpus' audio index); unreadable files listed."""
    index = AudioIndex(corpus_dir / "audio_index.parquet")
    digests: dict[str, str] = {}
    unreadable: list[tuple[str, str]] = []
    for path in paths:
        try:
            digests[path] = index.digest(path)
        except OSError as exc:
            unreadable.append((path, f"{path}: cannot read file: {exc.strerror or exc}"))
    index.save()
    return digests, unreadable


def open_store(spec: FeatureSetSpec, corpus_dir: Path) -> FeatureStore:
    directory = corpus_dir / spec.cache_key
    if (directory / "provenance.json").is_file():
        return FeatureStore.open(directory)
    names = getattr(spec, "feature_names", None) or _engine_names(spec)
    return FeatureStore(directory, spec.provenance(), names)


def _engine_names(spec: FeatureSetSpec) -> list[str]:
    return list(_engine(spec).feature_names)  # type: ignore[attr-defined]


def as_specs(feature_sets: Sequence[str | FeatureSetSpec]) -> list[FeatureSetSpec]:
    return [resolve_feature_set(f) if isinstance(f, str) else f for f in feature_sets]


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
    :class:`ExtractionError` after finished work is saved.
    """
    started = time.perf_counter()
    specs = as_specs(feature_sets)
    corpus = str(manifest["corpus"].iloc[0]) if len(manifest) else "empty"
    corpus_dir = corpus_cache_dir(cache_dir, corpus)
    paths = list(dict.fromkeys(manifest["path"].astype(str)))
    digests, unreadable = hash_files(paths, corpus_dir)
    report = ExtractionReport(corpus=corpus, n_files=len(paths))
    failures: list[dict] = [
        {"file": p, "feature_set": "*", "reason": reason} for p, reason in unreadable
    ]
    if strict and failures:
        _save_failures(corpus_dir, failures, report)
        raise ExtractionError(failures[0]["reason"])

    stores = [open_store(spec, corpus_dir) for spec in specs]
    todo: dict[str, list[int]] = {}
    for index, store in enumerate(stores):
        have = store.keys()
        missing = [p for p in digests if digests[p] not in have]
        report.cached[specs[index].name] = len(digests) - len(missing)
        report.extracted[specs[index].name] = 0
        for path in missing:
            todo.setdefault(path, []).append(index)

    items = sorted(todo.items())
    done = 0
    if progress:
        progress(0, len(items))
    if items:
        runner = Parallel(n_jobs=jobs, return_as="generator_unordered")
        batches = runner(delayed(_extract_chunk)(chunk, specs) for chunk in _chunks(items, jobs))
        try:
            for batch in batches:
                pending: dict[int, tuple[list[str], list[np.ndarray]]] = {}
                for path, vectors, errors in batch:
                    for index, vector in vectors.items():
                        keys, rows = pending.setdefault(index, ([], []))
                        keys.append(digests[path])
                        rows.append(vector)
                    for index, reason in errors:
                        name = "*" if index is None else specs[index].name
                        failures.append({"file": path, "feature_set": name, "reason": reason})
                for index, (keys, rows) in pending.items():
                    stores[index].add(keys, np.vstack(rows))
                    report.extracted[specs[index].name] += len(keys)
                done += len(batch)
                if progress:
                    progress(done, len(items))
                if strict and failures:
                    raise ExtractionError(failures[0]["reason"])
        finally:
            if hasattr(batches, "close"):
                batches.close()
            for store in stores:
                store.compact()
            _save_failures(corpus_dir, failures, report)
    else:
        _save_failures(corpus_dir, failures, report)
    report.seconds = time.perf_counter() - started
    return report


def _save_failures(corpus_dir: Path, failures: list[dict], report: ExtractionReport) -> None:
    frame = pd.DataFrame(failures, columns=["file", "feature_set", "reason"])
    report.failures = frame
    corpus_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(corpus_dir / "failures.csv", frame.to_csv(index=False))


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
    paths = list(manifest["path"].astype(str))
    digests, _ = hash_files(paths, corpus_dir)
    store = open_store(spec, corpus_dir)
    have = store.keys()
    available = np.array([digests.get(p) in have for p in paths], dtype=bool)
    keys = [digests[p] for p, ok in zip(paths, available) if ok]
    values = store.load(keys) if keys else np.zeros((0, len(store.feature_names)), np.float32)
    return FeatureMatrix(values, available, store.feature_names, spec.name, store.provenance)
