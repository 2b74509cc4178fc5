"""Run provenance: the record of what produced a results folder (``config.json``).

Versions, parameters, manifest hashes and notes; :mod:`paraser.results` writes it.
"""

from __future__ import annotations

import datetime as _dt
import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from paraser import __version__
from paraser.corpora import LabelMap, LoadedManifest
from paraser.corpora.manifest import manifest_hash
from paraser.experiments.classifiers import describe_classifiers, resolve_classifier
from paraser.features import ExtractionReport
from paraser.features.registry import FeatureSetSpec


def tuning_record(classifiers) -> dict:
    """What ``--tune`` searched, per classifier (the chosen values are in results.csv)."""
    return {
        "search": "grid search, UAR, inner stratified speaker-grouped 3-fold inside each "
        "training fold and each source only (never a test fold or a target)",
        "grids": {
            spec.name: {k: [list(v) if isinstance(v, tuple) else v for v in values]
                        for k, values in (spec.param_grid or {}).items()}
            for spec in map(resolve_classifier, classifiers)
        },
    }  # fmt: skip


def run_config(
    manifests: Sequence[LoadedManifest],
    specs: Sequence[FeatureSetSpec],
    classifiers: Sequence,
    label_map: LabelMap,
    protocol: str,
    seeds: Sequence[int],
    cache_dir: str | Path,
    notes: list[str],
    extraction: Sequence[ExtractionReport],
) -> dict:
    """A record of what produced a results folder: versions, parameters, data hashes."""
    import joblib
    import opensmile
    import scipy
    import sklearn

    provenance = {}
    for spec in specs:
        provenance[spec.name] = {k: v for k, v in spec.provenance().items() if k != "feature_names"}
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "paraser": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "joblib": joblib.__version__,
            "opensmile": opensmile.__version__,
        },
        "corpora": {
            m.name: {
                "manifest": str(m.source),
                "manifest_sha256_16": manifest_hash(m.frame),
                "n_utterances": len(m.frame),
                "n_speakers": int(m.frame["speaker"].nunique()),
                "classes": m.frame["label"].value_counts().sort_index().to_dict(),
                "dropped_unmapped": m.n_dropped_unmapped,
            }
            for m in manifests
        },
        "feature_sets": provenance,
        "classifiers": list(describe_classifiers(classifiers)),
        "classifier_descriptions": describe_classifiers(classifiers),
        "label_map": label_map.to_dict(),
        "protocol": protocol,
        "transfer_protocol": "train-all-source",
        "seeds": list(seeds),
        "cache_dir": str(cache_dir),
        "extraction_failures": int(sum(len(r.failures) for r in extraction)),
        "notes": notes,
    }
