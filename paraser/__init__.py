"""paraser: paralinguistic speech emotion recognition, within and across corpora.

The pipeline runs corpora -> features -> experiments -> reports, tied together by
``paraser.runs``; the functions re-exported here are the same ones the ``paraser``
command calls (layers: ARCHITECTURE.md).
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = {
    "extract": "paraser.runs.extraction",
    "transfer_matrix": "paraser.runs.transfer",
    "load_corpora": "paraser.runs.extraction",
    "TransferRun": "paraser.runs.transfer",
    "shift_report": "paraser.runs.shift",
    "LabelMap": "paraser.corpora",
    "load_manifest": "paraser.corpora",
    "extract_features": "paraser.features",
    "load_features": "paraser.features",
    "run_grid": "paraser.experiments",
    "make_classifier": "paraser.experiments",
    "write_matrices": "paraser.reports",
    "generate_corpora": "paraser.datasets.synthetic",
    "train_model": "paraser.runs.models",
    "predict": "paraser.runs.models",
    "load_model": "paraser.runs.models",
    "importance_report": "paraser.runs.importance",
    "register_classifier": "paraser.experiments.classifiers",
    "load_results": "paraser.results",
    "load_predictions": "paraser.results",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    # Imported lazily so that ``import paraser`` stays fast (openSMILE, sklearn).
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'paraser' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazy API is listed beside what is already loaded (``dir(paraser)``, completion).
    return sorted({*globals(), *_API})
