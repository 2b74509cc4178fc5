"""Loading corpora and extracting their features: the first step of every run.

Kept apart from the transfer run so that ``paraser extract`` imports no classifier
library (a warm, fully cached extract is mostly start-up time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from paraser.corpora import LabelMap, LoadedManifest, load_manifest, resolve_corpus
from paraser.corpora.tasks import UnmappableLabelError
from paraser.features import DEFAULT_CACHE_DIR, ExtractionReport, extract_features
from paraser.features.registry import FeatureSetSpec
from paraser.parallel import uses_backend

Progress = Callable[[str, int, int], None]


def load_corpora(
    corpora: Sequence[str | Path],
    *,
    label_map: LabelMap | None = None,
    manifests_dir: str | Path | None = None,
    map_labels: bool = True,
) -> list[LoadedManifest]:
    """Load registered names or manifest paths, mapping labels to the shared space."""
    loaded = []
    for spec in corpora:
        name, path = resolve_corpus(spec, manifests_dir)
        try:
            manifest = load_manifest(path, name=name, label_map=label_map, map_labels=map_labels)
        except UnmappableLabelError as exc:  # a task refuses labels it has no level for
            raise ValueError(f"{name} ({path}): {exc}") from None
        loaded.append(manifest)
    names = [m.name for m in loaded]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise ValueError(f"corpus name(s) given twice: {sorted(duplicated)}")
    return loaded


@uses_backend
def extract(
    corpora: Sequence[str | Path],
    feature_sets: Sequence[str | FeatureSetSpec],
    *,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    jobs: int = 1,
    strict: bool = False,
    manifests_dir: str | Path | None = None,
    progress: Progress | None = None,
    backend: str = "local",
    scheduler: str | None = None,
) -> list[ExtractionReport]:
    """Extract feature sets for every utterance of each corpus (all labels).

    ``backend="dask"`` runs on a local Dask cluster, ``scheduler="tcp://host:port"``
    on a running one (see :mod:`paraser.parallel`); the cache is the same.
    """
    reports = []
    # Every row is extracted whatever its label, so changing the shared label
    # space later never forces a re-extraction.
    for manifest in load_corpora(corpora, manifests_dir=manifests_dir, map_labels=False):
        callback = (
            (lambda done, total, n=manifest.name: progress(n, done, total)) if progress else None
        )
        reports.append(
            extract_features(
                manifest.frame,
                feature_sets,
                cache_dir=cache_dir,
                jobs=jobs,
                strict=strict,
                progress=callback,
            )
        )
    return reports
