"""Augmented copies of training audio and their cached openSMILE features.

The recipes (what a copy is, how it is seeded) are :mod:`paraser.features.augment_recipes`;
this module extracts the copies' features in parallel and caches them beside the corpus'
plain features, one store per recipe and feature set, keyed by ``<audio sha256>:<copy>``::

    features_cache/<corpus>/augmented/<recipe cache key>/<set cache key>/
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import delayed

from paraser.audio import TARGET_SAMPLE_RATE, AudioError, read_item
from paraser.features.augment_recipes import AugmentationError, AugmentRecipe, copy_seed
from paraser.features.extract import (
    DEFAULT_CACHE_DIR,
    PendingRows,
    corpus_cache_dir,
    hash_files,
    media_items,
    open_store,
    run_specs,
    save_failures,
    work_chunks,
)
from paraser.features.registry import FeatureSetSpec, as_specs
from paraser.features.store import FeatureStore, remove_stale_tmp
from paraser.parallel import parallel_runner, worker_count

FAILURE_COLUMNS = ("file", "copy", "feature_set", "reason")


def copy_key(audio_sha256: str, copy: int) -> str:
    """Cache key of one augmented copy."""
    return f"{audio_sha256}:{int(copy)}"


@dataclass
class AugmentationReport:
    """What one augmented extraction did; counts are augmented copies per feature set."""

    corpus: str
    recipe: str
    copies: int
    n_files: int
    extracted: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)
    failures: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(FAILURE_COLUMNS))
    )
    seconds: float = 0.0
    #: Duration of the augmented audio made in this run (copies actually augmented).
    audio_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failures.empty


def augmented_dir(cache_dir: str | Path, corpus: str, recipe: AugmentRecipe) -> Path:
    """Where the features of ``recipe``'s copies of ``corpus`` are cached."""
    return corpus_cache_dir(cache_dir, corpus) / "augmented" / recipe.cache_key


def _openSMILE_only(feature_sets: Sequence[str | FeatureSetSpec]) -> list[FeatureSetSpec]:
    specs = as_specs(feature_sets)
    batched = [s.name for s in specs if getattr(s, "batch_seconds", None) is not None]
    if batched:
        raise AugmentationError(
            f"augmentation supports openSMILE feature sets only, not {', '.join(batched)}"
        )
    return specs


def _stores(
    specs: Sequence[FeatureSetSpec], directory: Path, recipe: AugmentRecipe
) -> list[FeatureStore]:
    extra = {"augmentation": recipe.provenance()}
    return [open_store(spec, directory, extra) for spec in specs]


# (path, audio sha256, [(copy, spec indices still needed)])
_Item = tuple[str, str, list[tuple[int, list[int]]]]


def _augment_chunk(items: list[_Item], recipe: AugmentRecipe, specs: Sequence[FeatureSetSpec]):
    """Worker: read each file once, make each needed copy, run the feature sets on it."""
    results = []
    for path, digest, needed in items:
        try:
            signal = read_item(path)  # a whole file or a path#t=start,end segment
        except AudioError as exc:
            results.append((path, [(copy, {}, [(None, str(exc))], 0) for copy, _ in needed]))
            continue
        copies = [
            (copy, *_augment_copy(signal, path, digest, copy, indices, recipe, specs))
            for copy, indices in needed
        ]
        results.append((path, copies))
    return results


def _augment_copy(
    signal: np.ndarray,
    path: str,
    digest: str,
    copy: int,
    indices: list[int],
    recipe: AugmentRecipe,
    specs: Sequence[FeatureSetSpec],
) -> tuple[dict[int, np.ndarray], list[tuple[int | None, str]], int]:
    """One copy: its vectors by spec index, its errors and its length in samples."""
    label = f"{path} (copy {copy} of {recipe.name})"
    try:
        augmented = recipe.apply(signal, TARGET_SAMPLE_RATE, copy_seed(digest, recipe, copy))
    except Exception as exc:  # noqa: BLE001 - one bad copy must not stop the corpus
        return {}, [(None, f"{label}: augmentation failed: {exc}")], 0
    if augmented.size == 0 or not np.all(np.isfinite(augmented)):
        return {}, [(None, f"{label}: augmentation gave no finite audio")], 0
    return (*run_specs(augmented, label, indices, specs), augmented.size)


#: Augmented copies buffered before they are written as a cache shard.
_FLUSH_COPIES = 64


def extract_augmented(
    manifest: pd.DataFrame,
    recipe: AugmentRecipe,
    copies: int,
    feature_sets: Sequence[str | FeatureSetSpec],
    *,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> AugmentationReport:
    """Extract what the cache lacks of copies ``0..copies-1`` of every utterance of ``manifest``.

    Each file is read once per worker task and augmented once per missing copy;
    every requested openSMILE feature set runs on each copy.  ``progress(done,
    total)`` counts augmented copies.  Failures (unreadable audio, augmentation
    errors, NaN features) are collected, not raised, and saved to
    ``failures.csv`` in the recipe's cache folder.
    """
    started = time.perf_counter()
    if copies < 0:
        raise AugmentationError(f"copies must be >= 0, got {copies}")
    specs = _openSMILE_only(feature_sets)
    corpus = str(manifest["corpus"].iloc[0]) if len(manifest) else "empty"
    directory = augmented_dir(cache_dir, corpus, recipe)
    paths = list(dict.fromkeys(media_items(manifest)))
    digests, unreadable = hash_files(paths, corpus_cache_dir(cache_dir, corpus))
    report = AugmentationReport(corpus, recipe.name, copies, len(paths))
    failures: list[dict] = [
        {"file": p, "copy": None, "feature_set": "*", "reason": reason} for p, reason in unreadable
    ]
    remove_stale_tmp(directory)
    stores = _stores(specs, directory, recipe)
    todo: dict[str, dict[int, list[int]]] = {}
    for index, store in enumerate(stores):
        remove_stale_tmp(store.directory)
        have = store.keys()
        missing = [
            (path, copy)
            for path, digest in digests.items()
            for copy in range(copies)
            if copy_key(digest, copy) not in have
        ]
        report.cached[specs[index].name] = len(digests) * copies - len(missing)
        report.extracted[specs[index].name] = 0
        for path, copy in missing:
            todo.setdefault(path, {}).setdefault(copy, []).append(index)
    items: list[_Item] = [
        (path, digests[path], sorted(todo[path].items())) for path in sorted(todo)
    ]
    total = sum(len(needed) for _, _, needed in items)
    done = 0
    if progress:
        progress(0, total)
    pending = PendingRows(stores, specs, report)
    samples = 0
    try:
        if items:
            runner = parallel_runner(jobs, return_as="generator_unordered")
            chunks = work_chunks(items, worker_count(jobs))
            batches = runner(delayed(_augment_chunk)(chunk, recipe, specs) for chunk in chunks)
            unflushed = 0
            try:
                for batch in batches:
                    for path, made in batch:
                        for copy, vectors, errors, n_samples in made:
                            samples += n_samples
                            for index, vector in vectors.items():
                                pending.add(index, copy_key(digests[path], copy), vector)
                            for index, reason in errors:
                                name = "*" if index is None else specs[index].name
                                failure = {"file": path, "copy": copy, "feature_set": name}
                                failures.append({**failure, "reason": reason})
                        unflushed += len(made)
                        done += len(made)
                    # Shards per ~64 copies, not per (small) chunk: see extract_features.
                    if unflushed >= _FLUSH_COPIES:
                        pending.flush()
                        unflushed = 0
                    if progress:
                        progress(done, total)
            finally:
                if hasattr(batches, "close"):
                    batches.close()
    finally:
        pending.flush()
        for store in stores:
            store.compact()
        save_failures(directory, failures, report, FAILURE_COLUMNS)  # type: ignore[arg-type]
        report.audio_seconds = samples / TARGET_SAMPLE_RATE
        report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class AugmentedFeatures:
    """Cached features of augmented copies of a manifest's utterances.

    Row ``i`` of ``values`` is copy ``copy[i]`` of manifest row ``origin[i]``
    (0-based position in the manifest frame).  Copies that are not cached (not
    extracted yet, or failed) are simply absent: count rows per origin if every
    utterance must have all its copies.
    """

    values: np.ndarray
    origin: np.ndarray
    copy: np.ndarray
    feature_names: list[str]
    feature_set: str
    recipe: str
    provenance: dict


def load_augmented(
    manifest: pd.DataFrame,
    recipe: AugmentRecipe,
    copies: int,
    feature_set: str | FeatureSetSpec,
    *,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
) -> AugmentedFeatures:
    """Load the cached copies ``0..copies-1`` of ``manifest``'s utterances, by row then copy."""
    (spec,) = _openSMILE_only([feature_set])
    corpus = str(manifest["corpus"].iloc[0])
    paths = media_items(manifest)
    digests, _ = hash_files(paths, corpus_cache_dir(cache_dir, corpus))
    (store,) = _stores([spec], augmented_dir(cache_dir, corpus, recipe), recipe)
    have = store.keys(verified=True)
    origin, copy_index, keys = [], [], []
    for row, path in enumerate(paths):
        digest = digests.get(path)
        if digest is None:
            continue
        for copy in range(copies):
            key = copy_key(digest, copy)
            if key in have:
                origin.append(row)
                copy_index.append(copy)
                keys.append(key)
    width = len(store.feature_names)
    values = store.load(keys) if keys else np.zeros((0, width), np.float32)
    return AugmentedFeatures(
        values=values,
        origin=np.asarray(origin, dtype=np.int64),
        copy=np.asarray(copy_index, dtype=np.int64),
        feature_names=store.feature_names,
        feature_set=spec.name,
        recipe=recipe.name,
        provenance=store.provenance,
    )
