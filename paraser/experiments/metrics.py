"""Scores of one evaluation: UAR first, plus what tells a collapse from a finding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score

#: A result whose predictions fall this much or more into one class is flagged.
COLLAPSE_SHARE = 0.9


def score(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """UAR (macro recall over ``classes``), accuracy, macro-F1 and collapse flags."""
    labels = list(classes)
    counts = np.array([(y_pred == c).sum() for c in labels])
    dominant_share = float(counts.max() / max(1, len(y_pred)))
    return {
        "uar": float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "chance": 1.0 / len(labels),
        "n_predicted_classes": int((counts > 0).sum()),
        "dominant_share": dominant_share,
        "collapsed": bool(dominant_share >= COLLAPSE_SHARE or (counts > 0).sum() == 1),
    }
