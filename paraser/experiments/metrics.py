"""Scores of one evaluation: UAR first, plus what tells a collapse from a finding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: A result whose predictions fall this much or more into one class is flagged.
COLLAPSE_SHARE = 0.9


def score(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """UAR (macro recall over ``classes``), accuracy, macro-F1 and collapse flags.

    ``n_predicted_classes`` and ``dominant_share`` count every predicted class, also
    one outside ``classes`` (a training class this fold's test set lacks).

    The values are scikit-learn's (``recall_score``/``f1_score`` with ``labels=classes,
    average="macro", zero_division=0``, ``accuracy_score``), bit for bit; counted here
    because a grid scores every fold and direction and scikit-learn's input checks
    cost ~6 ms a call (``tests/test_metrics.py`` compares them).
    """
    truth, predicted = np.asarray(y_true), np.asarray(y_pred)
    if truth.shape != predicted.shape or truth.ndim != 1:
        raise ValueError(f"y_true and y_pred differ in shape: {truth.shape} vs {predicted.shape}")
    if truth.size == 0:
        raise ValueError("no predictions to score")
    labels = list(classes)
    # Every predicted class counts, including one absent from this fold's test set: a model
    # that puts 90 % of a fold into a class the fold lacks has collapsed all the same.
    _, counts = np.unique(predicted, return_counts=True)
    dominant_share = float(counts.max() / len(predicted)) if len(predicted) else 0.0
    hits = truth == predicted
    # Per class over every utterance: a prediction of a class whose true class is outside
    # ``classes`` is still a false positive of that class, as in scikit-learn.
    true_count = np.array([np.sum(truth == label) for label in labels], dtype=float)
    predicted_count = np.array([np.sum(predicted == label) for label in labels], dtype=float)
    correct = np.array([np.sum(hits & (truth == label)) for label in labels], dtype=float)
    recall = np.divide(correct, true_count, out=np.zeros(len(labels)), where=true_count > 0)
    both = true_count + predicted_count
    f1 = np.divide(2 * correct, both, out=np.zeros(len(labels)), where=both > 0)
    return {
        "uar": float(np.mean(recall)),
        "accuracy": float(np.mean(hits)),
        "macro_f1": float(np.mean(f1)),
        "chance": 1.0 / len(labels),
        "n_predicted_classes": len(counts),
        "dominant_share": dominant_share,
        "collapsed": bool(dominant_share >= COLLAPSE_SHARE or len(counts) == 1),
    }
