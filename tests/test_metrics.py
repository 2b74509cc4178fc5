"""The scores of one evaluation, against values worked out by hand (MUTATION.md's survivors)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from paraser.experiments.metrics import score


def test_a_predicted_class_outside_the_label_space_counts_as_an_error_not_as_a_class():
    # A training class this fold's test set lacks: UAR and F1 stay over the two classes.
    result = score(np.array(["a", "a", "b", "b"]), np.array(["a", "c", "b", "b"]), ["a", "b"])
    assert result["uar"] == pytest.approx((1 / 2 + 2 / 2) / 2)
    assert result["accuracy"] == pytest.approx(3 / 4)
    f1_a, f1_b = 2 * 1 * 0.5 / (1 + 0.5), 1.0  # a: precision 1, recall 1/2; b: both 1
    assert result["macro_f1"] == pytest.approx((f1_a + f1_b) / 2)
    assert result["chance"] == pytest.approx(1 / 2)
    assert result["n_predicted_classes"] == 3  # the outside class is counted here
    assert result["dominant_share"] == pytest.approx(2 / 4)
    assert result["collapsed"] is False


def test_a_class_without_test_utterances_scores_zero_without_a_warning():
    # Class c is in the label space but not in y_true: its recall counts as 0, not 1.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        result = score(
            np.array(["a", "a", "b", "b"]), np.array(["a", "b", "b", "b"]), ["a", "b", "c"]
        )
    assert result["uar"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    f1_a = 2 * 1 * 0.5 / (1 + 0.5)  # precision 1, recall 1/2
    f1_b = 2 * (2 / 3) * 1 / (2 / 3 + 1)  # precision 2/3, recall 1
    assert result["macro_f1"] == pytest.approx((f1_a + f1_b + 0) / 3)
    assert result["accuracy"] == pytest.approx(3 / 4)
    assert result["chance"] == pytest.approx(1 / 3)


def test_scoring_no_predictions_is_an_error():
    with pytest.raises(ValueError):
        score(np.array([], dtype=str), np.array([], dtype=str), ["a", "b"])


@pytest.mark.parametrize(
    ("n_a", "n_b", "collapsed"),
    [(10, 0, True), (19, 1, True), (9, 1, True), (17, 3, False)],
)
def test_a_cell_collapses_from_nine_tenths_of_its_predictions_in_one_class(n_a, n_b, collapsed):
    # 19 of 20 (0.95) with a second class predicted, exactly 9 of 10 (the threshold), and
    # 17 of 20 (0.85, below it); one class predicted is always collapsed.
    y_pred = np.array(["a"] * n_a + ["b"] * n_b)
    y_true = np.array(["a", "b"] * (len(y_pred) // 2))
    result = score(y_true, y_pred, ["a", "b"])
    assert result["dominant_share"] == pytest.approx(n_a / (n_a + n_b))
    assert result["collapsed"] is collapsed


@pytest.mark.parametrize("seed", range(40))
def test_scores_equal_scikit_learns_bit_for_bit(seed):
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    rng = np.random.default_rng(seed)
    # Labels in and out of the space, classes without test utterances or never predicted.
    pool = np.array(["anger", "happiness", "neutral", "sadness", "boredom"])
    n = int(rng.integers(1, 60))
    y_true = rng.choice(pool[: rng.integers(1, 6)], n)
    y_pred = rng.choice(pool[rng.integers(0, 3) :], n)
    classes = sorted(rng.choice(pool[:4], int(rng.integers(1, 5)), replace=False))
    result = score(y_true, y_pred, classes)
    options = dict(labels=classes, average="macro", zero_division=0)
    assert result["uar"] == recall_score(y_true, y_pred, **options)
    assert result["macro_f1"] == f1_score(y_true, y_pred, **options)
    assert result["accuracy"] == accuracy_score(y_true, y_pred)
