"""Scores of one evaluation: UAR first, plus what tells a collapse from a finding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score

#: A result whose predictions fall this much or more into one class is flagged.
COLLAPSE_SHARE = 0.9


def score(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """UAR (macro recall over ``classes``), accuracy, macro-F1 and collapse flags.

    ``n_predicted_classes`` and ``dominant_share`` count every predicted class, also
    one outside ``classes`` (a training class this fold's test set lacks).
    """
    labels = list(classes)
    # Every predicted class counts, including one absent from this fold's test set: a model
    # that puts 90 % of a fold into a class the fold lacks has collapsed all the same.
    _, counts = np.unique(np.asarray(y_pred), return_counts=True)
    dominant_share = float(counts.max() / len(y_pred)) if len(y_pred) else 0.0
    return {
        "uar": float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "chance": 1.0 / len(labels),
        "n_predicted_classes": len(counts),
        "dominant_share": dominant_share,
        "collapsed": bool(dominant_share >= COLLAPSE_SHARE or len(counts) == 1),
    }
