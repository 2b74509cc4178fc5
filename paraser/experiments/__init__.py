"""Experiments: classifiers, protocols and the within/transfer grid."""

from paraser.experiments.classifiers import CLASSIFIERS, make_classifier
from paraser.experiments.metrics import COLLAPSE_SHARE, score
from paraser.experiments.protocols import ProtocolError, StratifiedKFoldProtocol, make_protocol
from paraser.experiments.transfer import (
    PREDICTION_COLUMNS,
    RESULT_COLUMNS,
    CorpusData,
    GridResult,
    run_grid,
    skipped_directions,
)

__all__ = [
    "CLASSIFIERS",
    "COLLAPSE_SHARE",
    "PREDICTION_COLUMNS",
    "RESULT_COLUMNS",
    "CorpusData",
    "GridResult",
    "ProtocolError",
    "StratifiedKFoldProtocol",
    "make_classifier",
    "make_protocol",
    "run_grid",
    "score",
    "skipped_directions",
]
