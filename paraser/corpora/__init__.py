"""Corpora: manifests, label maps and the registry of named corpora."""

from paraser.corpora.labels import (
    CANONICAL_EMOTIONS,
    DEFAULT_CLASSES,
    LabelMap,
    canonical_emotion,
)
from paraser.corpora.manifest import (
    MANIFEST_COLUMNS,
    LoadedManifest,
    ManifestError,
    load_manifest,
    read_manifest_csv,
    write_manifest,
)
from paraser.corpora.registry import registered_corpora, resolve_corpus

__all__ = [
    "CANONICAL_EMOTIONS",
    "DEFAULT_CLASSES",
    "MANIFEST_COLUMNS",
    "LabelMap",
    "LoadedManifest",
    "ManifestError",
    "canonical_emotion",
    "load_manifest",
    "read_manifest_csv",
    "registered_corpora",
    "resolve_corpus",
    "write_manifest",
]
