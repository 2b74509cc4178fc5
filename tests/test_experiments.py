from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest
from builders import corpus_data
from invariants import assert_grid_invariants
from joblib import delayed

import paraser.experiments.transfer as transfer_module
from paraser.experiments import (
    RESULT_COLUMNS,
    ProtocolError,
    StratifiedKFoldProtocol,
    make_classifier,
    run_grid,
    score,
)
from paraser.parallel import run_tasks

CLASSES = ["anger", "happiness", "neutral", "sadness"]


def blob_corpus(name: str, shift: float = 0.0, per_class: int = 15, seed: int = 0, classes=CLASSES):
    rng = np.random.default_rng(seed)
    centres = {c: np.random.default_rng(i).normal(0, 3, 6) for i, c in enumerate(CLASSES)}
    labels = np.repeat(classes, per_class)
    features = np.stack([centres[c] + rng.normal(0, 1, 6) for c in labels]) + shift
    return corpus_data(name, labels, features, speakers=3, feature_set="blobs")


def test_grid_is_tidy_and_covers_every_direction():
    corpora = [blob_corpus("a", seed=1), blob_corpus("b", seed=2), blob_corpus("c", seed=3)]
    grid = run_grid(corpora, ["blobs"], ["svm", "rf"], protocol=StratifiedKFoldProtocol(3))
    assert_grid_invariants(grid, corpora)
    results = grid.results
    assert list(results.columns) == list(RESULT_COLUMNS)
    within = results[results.kind == "within"]
    transfer = results[results.kind == "transfer"]
    # One pooled within row per corpus x classifier; the per-fold rows are in grid.folds.
    assert len(within) == 3 * 2 and (within.fold == -1).all()
    assert len(grid.folds) == 3 * 3 * 2 and grid.folds.n_test.sum() == within.n_test.sum()
    assert len(transfer) == 6 * 2  # ordered pairs x classifiers
    assert set(within.protocol) == {"stratified-3fold"}
    assert (transfer.fold == -1).all() and (transfer.n_test == 60).all()
    assert results.uar.between(0, 1).all()
    # Same-distribution corpora: transfer works, and nothing is flagged.
    assert transfer.uar.min() > 0.8 and not results.collapsed.any()
    # Every test utterance of every evaluation has a prediction row.
    assert len(grid.predictions) == within.n_test.sum() + transfer.n_test.sum()


def test_each_source_is_trained_once_per_configuration(monkeypatch):
    calls = []

    def counting(name, seed=0):
        calls.append(name)
        return make_classifier(name, seed)

    monkeypatch.setattr(transfer_module, "make_classifier", counting)
    corpora = [blob_corpus(n, seed=i) for i, n in enumerate("abcd")]
    run_grid(corpora, ["blobs"], ["svm"], protocol=StratifiedKFoldProtocol(2), jobs=1)
    # 4 corpora x 2 folds within, plus 4 source trainings (not 4 x 3 directions).
    assert len(calls) == 4 * 2 + 4


def test_shifted_target_collapses_and_is_flagged():
    corpora = [blob_corpus("clean", seed=1), blob_corpus("shifted", shift=50.0, seed=2)]
    results = run_grid(corpora, ["blobs"], ["svm"], protocol=StratifiedKFoldProtocol(3)).results
    cell = results[(results.source == "clean") & (results.target == "shifted")].iloc[0]
    assert cell.collapsed and cell.n_predicted_classes == 1
    assert cell.uar == pytest.approx(0.25)


def test_transfer_uses_only_shared_classes():
    a = blob_corpus("a", seed=1)
    b = blob_corpus("b", seed=2, classes=["anger", "sadness", "neutral"])
    results = run_grid([a, b], ["blobs"], ["svm"], protocol=StratifiedKFoldProtocol(3)).results
    cell = results[(results.source == "a") & (results.target == "b")].iloc[0]
    assert cell.classes == "anger|neutral|sadness" and cell.chance == pytest.approx(1 / 3)
    assert cell.n_train == 45


@pytest.mark.parametrize("start", ["here", "in workers"])
def test_grid_is_deterministic_for_a_seed(start, monkeypatch):
    if start == "in workers":  # as a grid on large matrices does
        monkeypatch.setattr(transfer_module, "LIGHT_GRID_VALUES", 0)
    corpora = [blob_corpus("a", seed=1), blob_corpus("b", seed=2)]
    first = run_grid(corpora, ["blobs"], ["rf", "mlp"], protocol=StratifiedKFoldProtocol(3))
    second = run_grid(
        corpora, ["blobs"], ["rf", "mlp"], protocol=StratifiedKFoldProtocol(3), jobs=2
    )
    pd.testing.assert_frame_equal(first.results, second.results)
    pd.testing.assert_frame_equal(first.predictions, second.predictions)


def test_light_work_runs_here_and_the_rest_moves_to_workers_once_it_looks_long():
    here = os.getpid()
    tasks = [delayed(os.getpid)() for _ in range(6)]
    assert list(run_tasks(tasks, 2, start_here=True)) == [here] * 6
    assert here not in list(run_tasks(tasks, 2))  # not light: workers from the start
    slow = [delayed(_pid_after)(0.2) for _ in range(6)]
    pids = list(run_tasks(slow, 2, start_here=True, budget_s=0.3))
    # 0.2 s each, two at a time: after the first two, the four left look like 0.4 s > 0.3 s.
    assert pids[:2] == [here, here] and here not in pids[2:] and len(pids) == 6


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_too_few_utterances_for_folds_names_corpus_class_and_count():
    corpus = blob_corpus("tiny", per_class=2)
    with pytest.raises(
        ProtocolError, match=r"tiny: 'anger' has 2.* fewer than the 5 folds.*--folds 2"
    ):
        run_grid([corpus], ["blobs"], ["svm"])


def test_single_class_corpus_is_refused():
    corpus = blob_corpus("one", classes=["anger"])
    with pytest.raises(ProtocolError, match="only one class"):
        run_grid([corpus], ["blobs"], ["svm"], protocol=StratifiedKFoldProtocol(2))


def test_score_flags_one_class_predictions():
    y_true = np.array(CLASSES * 5)
    scored = score(y_true, np.array(["neutral"] * 20), CLASSES)
    assert scored["uar"] == 0.25 and scored["collapsed"] and scored["dominant_share"] == 1.0


def test_score_counts_predictions_of_classes_absent_from_the_test_set():
    # The fold's test set holds anger and sad only; 90 % of predictions go to happy.
    y_true = np.array(["anger", "sad"] * 10)
    y_pred = np.array(["happy"] * 18 + ["anger", "sad"])
    scored = score(y_true, y_pred, ["anger", "sad"])
    assert scored["n_predicted_classes"] == 3
    assert scored["dominant_share"] == pytest.approx(0.9)
    assert scored["collapsed"]


def test_unknown_classifier():
    with pytest.raises(ValueError, match="svm, rf, mlp"):
        make_classifier("xgboost")
