"""The within/transfer grid (experiments/transfer.py) on hand-worked numbers.

Tiny corpora whose first feature column carries the class, and a nearest-centroid
classifier on that column alone: a standardisation inside the pipeline is an increasing
affine map of the column, so every prediction below is worked out by hand from the class
means.  Each test runs in well under a second (mutation testing of the module, MUTATION.md).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold

import paraser.experiments.transfer as transfer_module
from paraser.experiments.adaptation import TransductiveClassifier
from paraser.experiments.classifiers import (
    ClassifierSpec,
    SpeakerGroupedSearch,
    make_classifier,
    resolve_classifier,
)
from paraser.experiments.protocols import (
    LeaveOneSpeakerOutProtocol,
    SpeakerKFoldProtocol,
    StratifiedKFoldProtocol,
    speaker_label_association,
)
from paraser.experiments.transfer import (
    AugmentedCopies,
    CorpusData,
    GridResult,
    UnlabelledRows,
    _Job,
    plan_jobs,
    pool_corpora,
    pool_within,
    run_grid,
    skipped_directions,
    training_rows,
)
from paraser.results import PREDICTION_COLUMNS, RESULT_COLUMNS

FS = "fs"
LOSO = LeaveOneSpeakerOutProtocol()


class Centroid(BaseEstimator, ClassifierMixin):
    """Nearest class mean on one column; one-hot probabilities (first class wins a tie)."""

    def __init__(self, column: int = 0):
        self.column = column

    def fit(self, x, y, sample_weight=None):
        x, y = np.asarray(x, dtype=float), np.asarray(y)
        self.classes_ = np.unique(y)
        self.centres_ = np.array([x[y == c, self.column].mean() for c in self.classes_])
        return self

    def predict(self, x):
        return self.classes_[self._nearest(x)]

    def predict_proba(self, x):
        return np.eye(len(self.classes_))[self._nearest(x)]

    def _nearest(self, x):
        column = np.asarray(x, dtype=float)[:, [self.column]]
        return np.abs(column - self.centres_).argmin(axis=1)


def _centroid(seed: int) -> Centroid:
    return Centroid()


CENTROID = ClassifierSpec(_centroid, "nearest class mean", {"column": [1, 0]}, "centroid")
#: Built on column 1 (useless: every class ties): only a tuned model finds column 0.
TUNABLE = ClassifierSpec(lambda seed: Centroid(1), "column 1", {"column": [1, 0]}, "tunable")
#: Column = seed: seed 1 picks the useless column, so the seed a model gets shows.
SEEDED = ClassifierSpec(lambda seed: Centroid(seed), "column = seed", None, "seeded")
UNTUNABLE = ClassifierSpec(_centroid, "nearest class mean", None, "plain")


def _corpus(name, labels, column0, speakers, **extra) -> CorpusData:
    labels = list(labels)
    frame = pd.DataFrame(
        {
            "utterance": [f"{name}{i:02d}" for i in range(len(labels))],
            "label": labels,
            "speaker": [f"{name}:s{s}" for s in speakers],
        }
    )
    # Column 1 only follows the speaker: as a classifier column it ties every class.
    x = np.column_stack([column0, [9.0 * (s % 2) for s in speakers]]).astype(np.float32)
    return CorpusData(name, frame, {FS: x}, **extra)


def corpus_a(**extra) -> CorpusData:
    return _corpus(
        "a",
        ["ang"] * 4 + ["hap"] * 4 + ["neu"] * 4,
        [0, 1, -1, 0, 10, 11, 9, 10, 20, 21, 19, 20],
        [i % 2 for i in range(12)],
        **extra,
    )


def corpus_b(**extra) -> CorpusData:
    return _corpus(
        "b", ["ang"] * 4 + ["hap"] * 4, [0, 1, 6, -1, 10, 11, 9, 3], [i % 2 for i in range(8)],
        **extra,
    )  # fmt: skip


def corpus_c(**extra) -> CorpusData:
    return _corpus(
        "c",
        ["hap"] * 3 + ["neu"] * 3 + ["sad"] * 3,
        [10, 14, 16, 20, 19, 12, 30, 31, 29],
        [i % 3 for i in range(9)],
        **extra,
    )


def corpus_d() -> CorpusData:
    """Speakers and emotions confounded: d:s0 only angry, d:s1 only happy."""
    return _corpus("d", ["ang"] * 5 + ["hap"] * 5, [0, 1, 2, 1, 0, 10, 11, 12, 11, 10],
                   [0] * 5 + [1] * 5)  # fmt: skip


def _row(results: pd.DataFrame, source: str, target: str) -> dict:
    rows = results[(results.source == source) & (results.target == target)]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn)


# --- CorpusData, pooling, training rows ----------------------------------------------------


def test_corpus_accessors_with_and_without_unlabelled_rows():
    a = corpus_a()
    assert a.labels.tolist() == ["ang"] * 4 + ["hap"] * 4 + ["neu"] * 4
    assert a.labels.dtype.kind == "U"
    assert _corpus("z", ["n", "a", "n", "b"], [0, 1, 2, 3], [0, 0, 1, 1]).classes() == [
        "a", "b", "n",
    ]  # fmt: skip
    assert a.speakers.tolist() == ["a:s0", "a:s1"] * 6
    assert a.all_features(FS) is a.features[FS]
    assert a.all_speakers().tolist() == a.speakers.tolist()
    outside = UnlabelledRows(np.array([7, 8]), {FS: np.array([[50.0, 0.0], [60.0, 9.0]])})
    u = corpus_a(unlabelled=outside)
    assert u.all_features(FS)[:, 0].tolist() == [0, 1, -1, 0, 10, 11, 9, 10, 20, 21, 19, 20, 50, 60]
    assert u.all_speakers().tolist() == ["a:s0", "a:s1"] * 6 + ["7", "8"]
    assert u.all_speakers().dtype.kind == "U"


def _copies(origin, column0) -> AugmentedCopies:
    return AugmentedCopies(
        np.array(origin), {FS: np.column_stack([column0, np.zeros(len(column0))])}
    )


def test_pool_corpora_offsets_origins_and_keeps_shared_recipes_only():
    a = corpus_a(augmented={"noise": _copies([0, 11], [100, 111]), "speed": _copies([1], [5])})
    b = corpus_b(
        augmented={"noise": _copies([2], [202])},
        unlabelled=UnlabelledRows(np.array(["x"]), {FS: np.array([[70.0, 1.0]])}),
    )
    c = corpus_c(augmented={"noise": _copies([0, 8], [300, 308])})
    pooled = pool_corpora([a, b, c])
    assert pooled.name == "a+b+c"
    assert pooled.frame.index.tolist() == list(range(29))
    assert pooled.frame["utterance"].tolist()[11:13] == ["a11", "b00"]
    assert pooled.features[FS][:, 0].tolist() == (
        a.features[FS][:, 0].tolist() + b.features[FS][:, 0].tolist()
        + c.features[FS][:, 0].tolist()
    )  # fmt: skip
    assert set(pooled.augmented) == {"noise"}
    # a has 12 rows and b 8: b's copies shift by 12, c's by 20.
    assert pooled.augmented["noise"].origin.tolist() == [0, 11, 14, 20, 28]
    assert pooled.augmented["noise"].features[FS][:, 0].tolist() == [100, 111, 202, 300, 308]
    assert pooled.unlabelled.speakers.tolist() == ["x"]
    assert pooled.unlabelled.features[FS].tolist() == [[70.0, 1.0]]
    assert pool_corpora([a, c]).unlabelled is None
    both = pool_corpora([b, corpus_c(unlabelled=UnlabelledRows(
        np.array(["y", "z"]), {FS: np.array([[80.0, 2.0], [90.0, 3.0]])}))])  # fmt: skip
    assert both.unlabelled.speakers.tolist() == ["x", "y", "z"]
    assert both.unlabelled.features[FS][:, 0].tolist() == [70, 80, 90]


def test_training_rows_add_the_copies_of_the_chosen_rows_only():
    b = corpus_b(augmented={"noise": _copies([5, 0, 2, 5], [50, 40, 42, 51])})
    x, y, groups = training_rows(b, FS, [0, 5])
    assert x[:, 0].tolist() == [0, 11] and y.tolist() == ["ang", "hap"]
    assert groups.tolist() == ["b:s0", "b:s1"]
    x, y, groups = training_rows(b, FS, np.array([0, 5]), "noise")
    assert x[:, 0].tolist() == [0, 11, 50, 40, 51]
    assert y.tolist() == ["ang", "hap", "hap", "ang", "hap"]
    assert groups.tolist() == ["b:s0", "b:s1", "b:s1", "b:s0", "b:s1"]


def test_grid_result_defaults_are_empty_tables_with_the_result_columns():
    result = GridResult(pd.DataFrame(), pd.DataFrame(), [])
    assert list(result.folds.columns) == list(RESULT_COLUMNS) and result.folds.empty
    assert list(result.reference.columns) == list(RESULT_COLUMNS) and result.reference.empty
    assert result.folds is not GridResult(pd.DataFrame(), pd.DataFrame(), []).folds


# --- transfer -------------------------------------------------------------------------------


@pytest.fixture  # per test: mutmut maps a function to every test that runs it
def transfer() -> GridResult:
    return run_grid([corpus_a(), corpus_b(), corpus_c()], [FS], [CENTROID], protocol=LOSO,
                    within=False)  # fmt: skip


def test_transfer_rows_hand_worked(transfer):
    results = transfer.results
    assert list(results.columns) == list(RESULT_COLUMNS)
    # b <-> c share only 'hap': skipped.  Sorted by source, then target.
    assert list(zip(results.source, results.target)) == [
        ("a", "b"), ("a", "c"), ("b", "a"), ("c", "a"),
    ]  # fmt: skip
    # a -> b: a's ang/hap means 0 and 10 (boundary 5); b's 6 is called hap, its 3 ang.
    assert _row(results, "a", "b") == {
        "feature_set": FS, "classifier": "centroid", "source": "a", "target": "b",
        "kind": "transfer", "protocol": "train-all-source", "normalisation": "train",
        "adaptation": "none", "augmentation": "none", "transductive": False, "fold": -1,
        "seed": 0, "uar": 0.75, "accuracy": 0.75, "macro_f1": 0.75, "chance": 0.5,
        "n_predicted_classes": 2, "dominant_share": 0.5, "collapsed": False, "n_train": 8,
        "n_test": 8, "classes": "ang|hap", "params": "",
    }  # fmt: skip
    # a -> c over hap/neu (a's means 10 and 20, boundary 15): c's 16 and 12 are swapped.
    a_c = _row(results, "a", "c")
    assert a_c["uar"] == pytest.approx(2 / 3) and a_c["accuracy"] == pytest.approx(4 / 6)
    assert a_c["macro_f1"] == pytest.approx(2 / 3)
    assert (a_c["n_train"], a_c["n_test"], a_c["classes"]) == (8, 6, "hap|neu")
    # b -> a: means 1.5 and 8.25; a's ang/hap rows all right, its neu rows never tested.
    b_a = _row(results, "b", "a")
    assert (b_a["uar"], b_a["n_train"], b_a["n_test"], b_a["classes"]) == (1.0, 8, 8, "ang|hap")
    c_a = _row(results, "c", "a")
    assert (c_a["uar"], c_a["n_train"], c_a["n_test"], c_a["classes"]) == (1.0, 6, 8, "hap|neu")
    assert transfer.notes == []
    assert transfer.folds.empty and transfer.reference.empty


def test_transfer_predictions_hand_worked(transfer):
    predictions = transfer.predictions
    assert list(predictions.columns[: len(PREDICTION_COLUMNS)]) == PREDICTION_COLUMNS
    a_b = predictions[(predictions.source == "a") & (predictions.target == "b")]
    assert a_b["utterance"].tolist() == [f"b{i:02d}" for i in range(8)]
    assert a_b["speaker"].tolist() == ["b:s0", "b:s1"] * 4
    assert a_b["y_true"].tolist() == ["ang"] * 4 + ["hap"] * 4
    assert a_b["y_pred"].tolist() == ["ang", "ang", "hap", "ang", "hap", "hap", "hap", "ang"]
    assert set(a_b["score_kind"]) == {"probability"}
    assert a_b["score_hap"].tolist() == [0, 0, 1, 0, 1, 1, 1, 0]
    assert a_b["score_ang"].tolist() == [1, 1, 0, 1, 0, 0, 0, 1]
    assert a_b["score_neu"].isna().all()  # a class of another direction
    first = a_b.iloc[0]
    assert (first.feature_set, first.classifier, first.normalisation, first.adaptation,
            first.augmentation, first.fold, first.seed) == (FS, "centroid", "train", "none",
                                                            "none", -1, 0)  # fmt: skip
    a_c = predictions[(predictions.source == "a") & (predictions.target == "c")]
    assert a_c["utterance"].tolist() == ["c00", "c01", "c02", "c03", "c04", "c05"]
    assert a_c["y_pred"].tolist() == ["hap", "hap", "neu", "neu", "neu", "hap"]
    assert a_c["score_neu"].tolist() == [0, 0, 1, 1, 1, 0]
    assert len(predictions) == 8 + 6 + 8 + 8
    assert predictions.index.tolist() == list(range(30))
    assert "reference" not in predictions


def test_skipped_directions_name_the_shared_classes():
    notes = skipped_directions([corpus_a(), corpus_b(), corpus_c()])
    fix = "map both onto one label space with --classes or --label-map"
    assert notes == [
        "b -> c: skipped, shared classes hap (need at least two; b has ang, hap, c has hap, "
        f"neu, sad); {fix}",
        "c -> b: skipped, shared classes hap (need at least two; c has hap, neu, sad, b has "
        f"ang, hap); {fix}",
    ]
    z = _corpus("z", ["x", "y"], [0, 1], [0, 1])
    assert skipped_directions([z, corpus_b()])[0].startswith(
        "z -> b: skipped, shared classes none (need at least two; z has x, y, b has ang, hap)"
    )
    assert skipped_directions([corpus_a(), corpus_b()]) == []


# --- within, folds and the stratified reference --------------------------------------------


@pytest.fixture  # per test: mutmut maps a function to every test that runs it
def within() -> GridResult:
    return run_grid([corpus_b(), corpus_d()], [FS], [CENTROID], protocol=LOSO, transfer=False)


def test_within_cells_are_scored_on_pooled_out_of_fold_predictions(within):
    results = within.results
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert results.source.tolist() == ["b", "d"] and results.target.tolist() == ["b", "d"]
    # b, fold 0 tests b:s0 (0, 6, 10, 9) with b:s1's means 0 and 7: 6 is called hap.
    # Fold 1 tests b:s1 (1, -1, 11, 3) with b:s0's means 3 and 9.5: 3 is called ang.
    b = _row(results, "b", "b")
    assert b == {
        "feature_set": FS, "classifier": "centroid", "source": "b", "target": "b",
        "kind": "within", "protocol": "loso", "normalisation": "train", "adaptation": "none",
        "augmentation": "none", "transductive": False, "fold": -1, "seed": 0, "uar": 0.75,
        "accuracy": 0.75, "macro_f1": 0.75, "chance": 0.5, "n_predicted_classes": 2,
        "dominant_share": 0.5, "collapsed": False, "n_train": 4, "n_test": 8,
        "classes": "ang|hap", "params": "",
    }  # fmt: skip
    # d: each fold trains on one speaker, hence one class: it predicts that class only.
    d = _row(results, "d", "d")
    assert d["protocol"] == "loso (trained fold 0 without ang; fold 1 without hap)"
    assert (d["uar"], d["accuracy"], d["n_train"], d["n_test"], d["classes"]) == (
        0.0, 0.0, 5, 10, "ang|hap",
    )  # fmt: skip
    assert (d["n_predicted_classes"], d["dominant_share"], d["collapsed"]) == (2, 0.5, False)


def test_within_fold_rows_and_predictions(within):
    folds = within.folds
    assert list(folds.columns) == list(RESULT_COLUMNS)
    assert folds.index.tolist() == list(range(9))
    b = folds[folds.source == "b"]
    assert b.fold.tolist() == [0, 1] and b.protocol.tolist() == ["loso", "loso"]
    assert b.uar.tolist() == [0.75, 0.75] and b.n_train.tolist() == [4, 4]
    assert b.n_test.tolist() == [4, 4] and b.classes.tolist() == ["ang|hap", "ang|hap"]
    d = folds[folds.source == "d"]
    # The speaker-independent folds, then the stratified reference folds.
    assert (
        d.protocol.tolist()
        == ["loso (trained fold 0 without ang; fold 1 without hap)"] * 2 + ["stratified-5fold"] * 5
    )
    assert d.fold.tolist() == [0, 1, 0, 1, 2, 3, 4]
    # A fold's UAR is over the classes its test side has: d's fold 0 tests 'ang' only.
    assert d.classes.tolist()[:2] == ["ang", "hap"]
    assert d.uar.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert d.n_train.tolist() == [5, 5, 8, 8, 8, 8, 8]
    assert d.chance.tolist()[:3] == [1.0, 1.0, 0.5]
    assert (d.kind == "within").all() and (d.transductive == False).all()  # noqa: E712
    predictions = within.predictions
    assert len(predictions) == 18  # the reference folds' predictions are left out
    assert "reference" not in predictions
    b_pred = predictions[predictions.source == "b"]
    # Sorted by fold, then utterance: fold 0 tested b:s0's even rows.
    assert b_pred.utterance.tolist() == [f"b{i:02d}" for i in (0, 2, 4, 6, 1, 3, 5, 7)]
    assert b_pred.fold.tolist() == [0] * 4 + [1] * 4
    assert b_pred.y_pred.tolist() == ["ang", "hap", "hap", "hap", "ang", "ang", "hap", "ang"]
    d_pred = predictions[predictions.source == "d"]
    assert d_pred.y_pred.tolist() == ["hap"] * 5 + ["ang"] * 5
    # The one-class fallback has probabilities for its one class only.
    assert d_pred.score_hap.tolist()[:5] == [1.0] * 5
    assert d_pred.score_ang.isna().tolist() == [True] * 5 + [False] * 5


def test_the_stratified_reference_sits_beside_a_confounded_corpus(within):
    reference = within.reference
    assert list(reference.columns) == list(RESULT_COLUMNS)
    assert reference.index.tolist() == [0]
    row = reference.iloc[0]
    assert (row.source, row.protocol, row.fold, row.uar, row.n_test, row.n_train, row.seed) == (
        "d", "stratified-5fold", -1, 1.0, 10, 8, 0,
    )  # fmt: skip
    assert within.notes[-1] == (
        "d: speaker-label association Cramér's V = 1.00; a stratified-5fold cell (speakers "
        "shared) is reported beside the speaker-independent one (within_reference.csv, "
        "summary.md) to show the size of the speaker confound; it is never the ceiling"
    )
    assert not any(n.startswith("b: speaker-label") for n in within.notes)


def test_stratified_reference_choices():
    b = corpus_b()
    with pytest.raises(ValueError) as error:
        plan_jobs([b], [FS], ["c"], LOSO, [0], stratified_reference="some")
    assert str(error.value) == "stratified reference 'some': use auto, all, none"
    for choice, n_reference in (("all", 5), ("auto", 5), ("none", 0)):
        jobs, _ = plan_jobs([corpus_d(), b], [FS], ["c"], LOSO, [0], transfer=False,
                            stratified_reference=choice)  # fmt: skip
        b_jobs = [j for j in jobs if j.source == "b"]
        assert sum(j.reference for j in b_jobs) == 0  # b has 4 per class: too few for 5 folds
        d_jobs = [j for j in jobs if j.source == "d"]
        assert sum(j.reference for j in d_jobs) == n_reference
    _, notes = plan_jobs([b], [FS], ["c"], LOSO, [0], stratified_reference="all")
    assert notes == [
        "no stratified reference cell: b: 'ang' has 4, 'hap' has 4 utterance(s), "
        "fewer than the 5 folds requested; use --folds 4 or drop the class (or add utterances "
        "of it)"
    ]
    # The reference takes the protocol's own fold count; none under a stratified protocol
    # or without within cells.
    jobs, _ = plan_jobs([b], [FS], ["c"], SpeakerKFoldProtocol(2), [0], transfer=False,
                        stratified_reference="all")  # fmt: skip
    assert [(j.protocol, j.fold) for j in jobs if j.reference] == [
        ("stratified-2fold", 0), ("stratified-2fold", 1),
    ]  # fmt: skip
    jobs, notes = plan_jobs([b], [FS], ["c"], StratifiedKFoldProtocol(2), [0],
                            stratified_reference="all")  # fmt: skip
    assert not any(j.reference for j in jobs) and notes == []
    jobs, notes = plan_jobs([corpus_d(), b], [FS], ["c"], LOSO, [0], within=False,
                            stratified_reference="all")  # fmt: skip
    assert jobs[0].kind == "transfer" and len(notes) == 1  # d's untrained folds only


def test_a_single_speaker_corpus_reference_is_not_stacked_on_its_stratified_fallback():
    one = _corpus("o", ["ang"] * 5 + ["hap"] * 5, list(range(10)), [0] * 10)
    jobs, notes = plan_jobs([one], [FS], ["c"], SpeakerKFoldProtocol(2), [0], transfer=False,
                            stratified_reference="all")  # fmt: skip
    assert not any(j.reference for j in jobs)
    assert [j.protocol for j in jobs] == [
        "stratified-2fold (fallback from speaker-2fold: one speaker id)"
    ] * 2
    assert len(notes) == 1


# --- planning ---------------------------------------------------------------------------------


def test_plan_groups_targets_by_shared_classes_and_adapted_models_per_target():
    a, b, c = corpus_a(), corpus_b(), corpus_c()
    b2 = _corpus("e", ["hap", "ang", "hap", "ang"], [10, 0, 10, 0], [0, 0, 1, 1])
    jobs, notes = plan_jobs([a, b, c, b2], [FS], ["c"], LOSO, [0, 1], within=False,
                            adaptations=("none", "coral"))  # fmt: skip
    assert notes == []
    a_jobs = [(j.seed, j.adaptation, j.targets, j.classes) for j in jobs if j.source == "a"]
    assert a_jobs == [
        (0, "none", ("b", "e"), ("ang", "hap")), (0, "none", ("c",), ("hap", "neu")),
        (0, "coral", ("b",), ("ang", "hap")), (0, "coral", ("e",), ("ang", "hap")),
        (0, "coral", ("c",), ("hap", "neu")),
        (1, "none", ("b", "e"), ("ang", "hap")), (1, "none", ("c",), ("hap", "neu")),
        (1, "coral", ("b",), ("ang", "hap")), (1, "coral", ("e",), ("ang", "hap")),
        (1, "coral", ("c",), ("hap", "neu")),
    ]  # fmt: skip
    job = next(j for j in jobs if j.source == "a")
    assert (job.kind, job.feature_set, job.classifier, job.normalisation, job.augmentation,
            job.protocol, job.fold, job.training_view) == (
        "transfer", FS, "c", "train", "none", "train-all-source", -1, "")  # fmt: skip
    assert [j.targets for j in jobs if j.source == "c" and j.adaptation == "none"] == [("a",)] * 2


def test_plan_orders_factors_and_within_folds():
    b = corpus_b()
    jobs, _ = plan_jobs([b], ["f1", "f2"], ["c1", "c2"], LOSO, [3], transfer=False,
                        normalisations=("train", "corpus"),
                        augmentations=("none", "x"))  # fmt: skip
    assert [(j.feature_set, j.classifier, j.normalisation, j.augmentation, j.fold)
            for j in jobs][:5] == [
        ("f1", "c1", "train", "none", 0), ("f1", "c1", "train", "none", 1),
        ("f1", "c1", "train", "x", 0), ("f1", "c1", "train", "x", 1),
        ("f1", "c1", "corpus", "none", 0),
    ]  # fmt: skip
    assert len(jobs) == 2 * 2 * 2 * 2 * 2
    first = jobs[0]
    assert (first.kind, first.seed, first.source, first.protocol, first.adaptation) == (
        "within", 3, "b", "loso", "none",
    )  # fmt: skip
    assert first.train.tolist() == [1, 3, 5, 7] and first.test.tolist() == [0, 2, 4, 6]
    assert first.reference is False and first.training_view == ""


def test_speaker_normalisation_falls_back_per_training_set_and_says_so():
    d, b = corpus_d(), corpus_b()
    jobs, notes = plan_jobs([d, b], [FS], ["c"], LOSO, [0], normalisations=("speaker",),
                            stratified_reference="none")  # fmt: skip
    views = {(j.source, j.kind, j.fold): j.training_view for j in jobs}
    # d's training sets are one speaker (one class) or its two confounded speakers.
    assert views == {
        ("d", "within", 0): "corpus",
        ("d", "within", 1): "corpus",
        ("b", "within", 0): "corpus",
        ("b", "within", 1): "corpus",
        ("d", "transfer", -1): "corpus",
        ("b", "transfer", -1): "",
    }
    assert notes[-2:] == [
        f"{name}: per-speaker normalisation fell back to per-corpus for {k} of 3 training "
        "set(s): their own labels show speakers and emotions confounded (Cramér's V > 0.6), "
        "where per-speaker standardisation would remove the emotion itself"
        for name, k in (("d", 3), ("b", 2))
    ]
    jobs, notes = plan_jobs([d, b], [FS], ["c"], LOSO, [0], normalisations=("corpus",),
                            stratified_reference="none")  # fmt: skip
    assert {j.training_view for j in jobs} == {""}
    assert not any("fell back" in n for n in notes)


# --- run_grid options --------------------------------------------------------------------------


def test_run_grid_refuses_bad_options_before_training():
    a, b = corpus_a(), corpus_b()
    with pytest.raises(ValueError) as error:
        run_grid([a, b], [FS], [CENTROID], adaptations=("none", "magic"))
    assert str(error.value) == (
        "unknown adaptation ['magic']: use none, corpus-norm, speaker-norm, coral, importance, "
        "prior-em"
    )
    with pytest.raises(ValueError) as error:
        run_grid([a, b], [FS], [CENTROID], augmentations=("none", "noise"))
    assert str(error.value) == (
        "augmentation 'noise': no augmented copies for a, b (extract them first)"
    )
    with pytest.raises(ValueError) as error:
        run_grid([a, b], [FS], [CENTROID], pooled_sources=[["a", "q", "p"]])
    assert str(error.value) == "pooled source ['a', 'q', 'p']: unknown corpora ['p', 'q']"
    with pytest.raises(ValueError) as error:
        run_grid([a, b], [FS], [CENTROID], pooled_sources=[[]])
    assert str(error.value) == "pooled source []: unknown corpora []"
    with pytest.raises(ValueError, match="classifier 'plain' has no parameter grid"):
        run_grid([a, b], [FS], [UNTUNABLE], tune=True, within=False)


def test_pooled_sources_and_leave_one_corpus_out():
    a, b, c = corpus_a(), corpus_b(), corpus_c()
    grid = run_grid([a, b, c], [FS], [CENTROID], protocol=LOSO, within=False, transfer=False,
                    pooled_sources=[("a", "b")], leave_one_corpus_out=True)  # fmt: skip
    pairs = list(zip(grid.results.source, grid.results.target))
    assert pairs == [("a+b", "c"), ("a+b", "c"), ("a+c", "b"), ("b+c", "a")]
    # a+b -> c over hap/neu: hap mean (40 + 33) / 8, neu 20; c's 16 -> neu, 12 -> hap.
    ab_c = grid.results.iloc[0]
    assert (ab_c.uar, ab_c.n_train, ab_c.n_test, ab_c.classes) == (
        pytest.approx(2 / 3), 12, 6, "hap|neu",
    )  # fmt: skip
    # b+c -> a: b's ang/hap and c's hap/neu: all of a's classes, 14 training rows.
    bc_a = grid.results.iloc[3]
    assert (bc_a.n_train, bc_a.n_test, bc_a.classes) == (14, 12, "ang|hap|neu")
    # a+c -> b: a's ang/hap, c's hap: means 0 and (40 + 40) / 7 = 11.4; b's 6 -> hap, 3 -> ang.
    ac_b = grid.results.iloc[2]
    assert (ac_b.n_train, ac_b.uar) == (11, 0.75)
    assert grid.predictions[grid.predictions.source == "a+c"].y_pred.tolist() == [
        "ang", "ang", "hap", "ang", "hap", "hap", "hap", "ang",
    ]  # fmt: skip


def test_nothing_to_run_gives_empty_tables_and_progress_is_reported():
    calls = []
    grid = run_grid([corpus_a()], [FS], [CENTROID], protocol=LOSO, within=False,
                    progress=lambda *a: calls.append(a))  # fmt: skip
    assert grid.results.empty and list(grid.results.columns) == list(RESULT_COLUMNS)
    assert grid.predictions.empty and list(grid.predictions.columns) == PREDICTION_COLUMNS
    assert calls == [(0, 0)]
    calls.clear()
    run_grid([corpus_a(), corpus_b()], [FS], [CENTROID], protocol=LOSO, within=False, seeds=(0, 1),
             progress=lambda *a: calls.append(a))  # fmt: skip
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_augmented_copies_train_and_are_never_tested():
    noise_a = _copies([0, 4, 8, 9], [2, 12, 22, 18])
    noise_b = _copies([0, 7, 7], [-2, 8, 12])
    a, b = corpus_a(augmented={"noise": noise_a}), corpus_b(augmented={"noise": noise_b})
    grid = run_grid([a, b], [FS], [CENTROID], protocol=LOSO, transfer=True, within=True,
                    augmentations=("noise",))  # fmt: skip
    results = grid.results
    assert set(results.augmentation) == {"noise"}
    # a -> b: a's 8 ang/hap rows plus the copies of rows 0 and 4.
    a_b = _row(results, "a", "b")
    assert (a_b["n_train"], a_b["n_test"]) == (10, 8)
    # b -> a: b's 8 rows and three copies; hap mean (33 + 8 + 12) / 6.
    assert _row(results, "b", "a")["n_train"] == 11
    # b within: fold 0 trains b:s1 (rows 1, 3, 5, 7) plus row 7's two copies, fold 1
    # b:s0 plus row 0's copy; the pooled row rounds their mean 5.5 to 6.
    b_folds = grid.folds[grid.folds.source == "b"]
    assert b_folds.n_train.tolist() == [6, 5]
    assert _row(results, "b", "b")["n_train"] == 6
    a_folds = grid.folds[grid.folds.source == "a"]
    assert a_folds.n_train.tolist() == [7, 9]  # copies of row 9; of rows 0, 4 and 8
    predictions = grid.predictions
    assert set(predictions.augmentation) == {"noise"}
    assert len(predictions) == 8 + 8 + 12 + 8


def _z(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return (values - values.mean()) / values.std()


def _nearest(train_x, train_y, test_x) -> list[str]:
    train_x, train_y = np.asarray(train_x), np.asarray(train_y)
    classes = sorted(set(train_y))
    centres = np.array([train_x[train_y == c].mean() for c in classes])
    return [classes[i] for i in np.abs(np.asarray(test_x)[:, None] - centres).argmin(1)]


def test_corpus_and_speaker_normalisation_use_the_right_views():
    b, d = corpus_b(), corpus_d()
    grid = run_grid([b, d], [FS], [CENTROID], protocol=LOSO, within=False,
                    normalisations=("corpus", "speaker"))  # fmt: skip
    results, predictions = grid.results, grid.predictions
    assert list(zip(results.normalisation, results.source)) == [
        ("corpus", "b"), ("corpus", "d"), ("speaker", "b"), ("speaker", "d"),
    ]  # fmt: skip
    assert results.transductive.tolist() == [True] * 4
    b0, d0 = b.features[FS][:, 0], d.features[FS][:, 0]
    # corpus: both sides standardised with their own statistics.
    expected = _nearest(_z(b0), b.labels, _z(d0))
    got = predictions[(predictions.normalisation == "corpus") & (predictions.source == "b")]
    assert got.y_pred.tolist() == expected
    # speaker, d -> b: d is confounded, so its training side is standardised per corpus;
    # the target b is standardised per speaker.
    b_speaker = np.empty(8)
    for s in (0, 1):
        b_speaker[s::2] = _z(b0[s::2])
    expected = _nearest(_z(d0), d.labels, b_speaker)
    got = predictions[(predictions.normalisation == "speaker") & (predictions.source == "d")]
    assert got.y_pred.tolist() == expected
    # speaker, b -> d: b is not confounded: per speaker on both sides.
    d_speaker = np.concatenate([_z(d0[:5]), _z(d0[5:])])
    expected = _nearest(b_speaker, b.labels, d_speaker)
    got = predictions[(predictions.normalisation == "speaker") & (predictions.source == "b")]
    assert got.y_pred.tolist() == expected
    assert grid.notes[0].startswith("d: fold 0 has no ang; fold 1 has no hap in training")
    assert grid.notes[1:] == [
        "d: per-speaker normalisation fell back to per-corpus for 1 of 1 training set(s): "
        "their own labels show speakers and emotions confounded (Cramér's V > 0.6), where "
        "per-speaker standardisation would remove the emotion itself",
        "d: as a test set it is standardised per speaker; whether its speakers and emotions "
        "are confounded cannot be checked without its labels (judged here from the "
        "evaluation labels, for this note only: Cramér's V = 1.00 > 0.6, so per-speaker "
        "standardisation likely removes part of the emotion in its cells)",
    ]


def test_pooled_sources_are_normalised_per_member():
    b, d = corpus_b(), corpus_d()
    c = _corpus("c", ["ang", "hap", "ang", "hap"], [100, 110, 100, 110], [0, 0, 1, 1])
    grid = run_grid([b, d, c], [FS], [CENTROID], protocol=LOSO, within=False, transfer=False,
                    normalisations=("corpus",), pooled_sources=[("b", "d")])  # fmt: skip
    b0, d0 = b.features[FS][:, 0], d.features[FS][:, 0]
    expected = _nearest(np.concatenate([_z(b0), _z(d0)]), np.concatenate([b.labels, d.labels]),
                        _z(c.features[FS][:, 0]))  # fmt: skip
    assert grid.predictions.y_pred.tolist() == expected
    assert grid.results.source.tolist() == ["b+d"]


def test_adapted_transfer_sees_every_target_utterance_and_never_its_labels():
    outside = UnlabelledRows(np.array(["b:s0", "b:s1"]), {FS: np.array([[40.0, 0], [60.0, 9]])})
    a, b = corpus_a(), corpus_b(unlabelled=outside)
    grid = run_grid([a, b], [FS], [CENTROID], protocol=LOSO, within=False,
                    adaptations=("corpus-norm", "speaker-norm"))  # fmt: skip
    results, predictions = grid.results, grid.predictions
    assert results.adaptation.tolist() == ["corpus-norm"] * 2 + ["speaker-norm"] * 2
    assert results.transductive.tolist() == [True] * 4
    a0, b_all = a.features[FS][:, 0], b.all_features(FS)[:, 0]
    a_rows = np.arange(8)  # a's ang/hap rows
    # corpus-norm, a -> b: b standardised with its 8 labelled and 2 unlabelled rows.
    expected = _nearest(_z(a0[a_rows]), a.labels[a_rows], _z(b_all)[:8])
    got = predictions[(predictions.adaptation == "corpus-norm") & (predictions.source == "a")]
    assert got.y_pred.tolist() == expected
    assert got.utterance.tolist() == [f"b{i:02d}" for i in range(8)]
    assert set(got.score_kind) == {"probability"}
    assert got.score_hap.tolist() == [float(p == "hap") for p in expected]
    # speaker-norm, b -> a: b's speakers are not confounded: per speaker on both sides,
    # b's unlabelled rows among its speakers' statistics... but only on the target side.
    b0 = b.features[FS][:, 0]
    b_speaker = np.empty(8)
    for s in (0, 1):
        b_speaker[s::2] = _z(b0[s::2])
    a_speaker = np.empty(12)
    for s in (0, 1):
        a_speaker[s::2] = _z(a0[s::2])
    expected = _nearest(b_speaker, b.labels, a_speaker[a_rows])
    got = predictions[(predictions.adaptation == "speaker-norm") & (predictions.source == "b")]
    assert got.y_pred.tolist() == expected
    assert _row(results[results.adaptation == "speaker-norm"], "b", "a")["n_test"] == 8


def test_speaker_norm_adaptation_standardises_a_confounded_source_per_corpus():
    a, d = corpus_a(), corpus_d()
    grid = run_grid([d, a], [FS], [CENTROID], protocol=LOSO, within=False,
                    adaptations=("speaker-norm",))  # fmt: skip
    predictions = grid.predictions
    a0, d0 = a.features[FS][:, 0], d.features[FS][:, 0]
    a_speaker = np.empty(12)
    for s in (0, 1):
        a_speaker[s::2] = _z(a0[s::2])
    # Per speaker, d's one-class speakers would both collapse onto 0.
    expected = _nearest(_z(d0), d.labels, a_speaker[:8])
    got = predictions[predictions.source == "d"]
    assert got.y_pred.tolist() == expected
    assert expected != ["ang"] * 8


def test_tuning_searches_inside_each_training_set_and_records_the_choice():
    a, b = corpus_a(), corpus_b()
    grid = run_grid([a, b], [FS], [TUNABLE], protocol=LOSO, tune=True,
                    adaptations=("none", "corpus-norm"))  # fmt: skip
    chosen = json.dumps({"column": 0})
    assert set(grid.results.params) == {chosen}
    assert set(grid.folds.params) == {chosen}
    plain = run_grid([a, b], [FS], [CENTROID], protocol=LOSO, adaptations=("none", "corpus-norm"))
    assert grid.results.uar.tolist() == plain.results.uar.tolist()
    assert set(plain.results.params) == {""}


def test_pool_within_of_a_single_fold():
    keys = {"feature_set": FS, "classifier": "c", "normalisation": "train",
            "adaptation": "none", "augmentation": "none", "source": "b", "target": "b",
            "seed": 0}  # fmt: skip
    fold = {**keys, "kind": "within", "protocol": "p", "transductive": False, "fold": 0,
            "n_train": 3, "params": ""}  # fmt: skip
    predictions = pd.DataFrame([{**keys, "y_true": "x", "y_pred": "x"},
                                {**keys, "y_true": "y", "y_pred": "x"}])  # fmt: skip
    row = pool_within(pd.DataFrame([fold]), predictions).iloc[0]
    assert (row.protocol, row.uar, row.n_train, row.n_test, row.fold) == ("p", 0.5, 3, 2, -1)


def test_pool_within_keeps_one_params_value_or_points_to_the_folds():
    def fold_row(fold: int, n_train: int, params: str) -> dict:
        return {
            "feature_set": FS, "classifier": "c", "source": "b", "target": "b",
            "kind": "within", "protocol": "loso", "normalisation": "train",
            "adaptation": "none", "augmentation": "none", "transductive": False, "fold": fold,
            "seed": 0, "uar": 9.0, "accuracy": 9.0, "macro_f1": 9.0, "chance": 9.0,
            "n_predicted_classes": 9, "dominant_share": 9.0, "collapsed": True,
            "n_train": n_train, "n_test": 9, "classes": "x", "params": params,
        }  # fmt: skip

    keys = {"feature_set": FS, "classifier": "c", "normalisation": "train",
            "adaptation": "none", "augmentation": "none", "source": "b", "target": "b",
            "seed": 0}  # fmt: skip
    predictions = pd.DataFrame(
        [{**keys, "y_true": t, "y_pred": p} for t, p in
         [("x", "x"), ("x", "y"), ("y", "y"), ("z", "y"), ("z", "z")]]
    )  # fmt: skip
    folds = pd.DataFrame([fold_row(0, 5, "p"), fold_row(1, 6, "p")])
    pooled = pool_within(folds, predictions)
    assert list(pooled.columns) == list(RESULT_COLUMNS)
    row = pooled.iloc[0].to_dict()
    assert row["fold"] == -1 and row["protocol"] == "loso" and row["kind"] == "within"
    assert row["uar"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert row["accuracy"] == pytest.approx(3 / 5)
    assert row["macro_f1"] == pytest.approx((_f1(1, 0, 1) + _f1(1, 2, 0) + _f1(1, 0, 1)) / 3)
    assert row["chance"] == pytest.approx(1 / 3)
    assert (row["n_train"], row["n_test"], row["classes"], row["params"]) == (6, 5, "x|y|z", "p")
    assert isinstance(row["n_train"], int)
    assert (row["n_predicted_classes"], row["dominant_share"], row["collapsed"]) == (
        3, 0.6, False,
    )  # fmt: skip
    mixed = pool_within(pd.DataFrame([fold_row(0, 5, "p"), fold_row(1, 7, "q")]), predictions)
    assert mixed.iloc[0]["params"] == "per fold: folds.csv"
    assert mixed.iloc[0]["n_train"] == 6
    # Cells sort by their keys, whatever order the predictions come in.
    two = pd.concat([predictions.assign(seed=1), predictions])
    both = pool_within(pd.concat([folds, folds.assign(seed=1)]), two)
    assert both.seed.tolist() == [0, 1]


def test_a_job_defaults():
    job = _Job("transfer", FS, "c", 0, "a")
    assert (job.normalisation, job.adaptation, job.augmentation, job.protocol, job.fold) == (
        "train", "none", "none", "train-all-source", -1,
    )  # fmt: skip
    assert (job.targets, job.classes, job.training_view, job.spec, job.tune, job.reference) == (
        (), (), "", None, False, False,
    )  # fmt: skip


def test_pool_corpora_of_one_corpus_is_that_corpus():
    a = corpus_a()
    pooled = pool_corpora([a])
    assert pooled.name == "a" and pooled.features[FS].tolist() == a.features[FS].tolist()
    assert training_rows(a, FS, [0, 1])[2].dtype.kind == "U"


def test_the_seed_reaches_every_model():
    a, b = corpus_a(), corpus_b()
    # Seed 1: column 1, which ties every class: the first class is predicted everywhere.
    for adaptation in ("none", "corpus-norm"):
        grid = run_grid([a, b], [FS], [SEEDED], protocol=LOSO, seeds=(1,),
                        adaptations=(adaptation,))  # fmt: skip
        uar = {(r.source, r.target): r.uar for r in grid.results.itertuples()}
        assert uar == {("a", "a"): 1 / 3, ("a", "b"): 0.5, ("b", "a"): 0.5, ("b", "b"): 0.5}
        assert set(grid.results.seed) == {1} and set(grid.folds.seed) == {1}


class RecordingSearch(SpeakerGroupedSearch):
    """The speaker-grouped search, recording the seed and groups each fit receives."""

    calls: list = []

    def fit(self, X, y, groups=None):
        RecordingSearch.calls.append((self.seed, None if groups is None else list(groups)))
        return super().fit(X, y, groups=groups)


def test_a_tuned_search_gets_the_seed_and_the_training_speakers(monkeypatch):
    def recording(model, classifier, seed=0):
        return RecordingSearch(model, resolve_classifier(classifier).param_grid, seed=seed)

    monkeypatch.setattr(transfer_module, "tuned", recording)
    RecordingSearch.calls = []
    run_grid([corpus_a(), corpus_b()], [FS], [TUNABLE], protocol=LOSO, seeds=(3,), tune=True)
    calls = RecordingSearch.calls
    # a's two folds, b's two folds, then a -> b and b -> a (job order).
    assert [seed for seed, _ in calls] == [3] * 6
    assert calls[0][1] == ["a:s1"] * 6 and calls[1][1] == ["a:s0"] * 6
    assert calls[2][1] == ["b:s1"] * 4
    assert calls[4][1] == ["a:s0", "a:s1"] * 4
    assert calls[5][1] == ["b:s0", "b:s1"] * 4


def test_folds_sort_by_corpus_then_seed_then_fold():
    grid = run_grid([corpus_b(), corpus_a()], [FS], [CENTROID], protocol=LOSO, seeds=(0, 1),
                    transfer=False)  # fmt: skip
    folds = grid.folds
    assert folds.source.tolist() == ["a"] * 4 + ["b"] * 4
    assert folds.seed.tolist() == [0, 0, 1, 1] * 2
    assert folds.fold.tolist() == [0, 1] * 4
    assert grid.results.source.tolist() == ["a", "a", "b", "b"]
    assert grid.results.seed.tolist() == [0, 1, 0, 1]


def test_seeded_splits_follow_the_seed():
    b, d = corpus_b(), corpus_d()
    jobs, _ = plan_jobs([b], [FS], ["c"], StratifiedKFoldProtocol(2), [1], transfer=False)
    expected = StratifiedKFold(2, shuffle=True, random_state=1).split(np.zeros(8), b.labels)
    assert [j.train.tolist() for j in jobs] == [train.tolist() for train, _ in expected]
    jobs, _ = plan_jobs([d], [FS], ["c"], LOSO, [1], transfer=False)
    expected = StratifiedKFold(5, shuffle=True, random_state=1).split(np.zeros(10), d.labels)
    assert [j.train.tolist() for j in jobs if j.reference] == [t.tolist() for t, _ in expected]


def _skewed(name: str, per_class: int) -> CorpusData:
    """All but one of each class's utterances from one speaker."""
    n = per_class
    speakers = [0] * (n - 1) + [1] + [1] * (n - 1) + [0]
    return _corpus(name, ["ang"] * n + ["hap"] * n, list(range(2 * n)), speakers)


def test_the_reference_needs_an_association_above_the_threshold():
    # 4 of 5 per speaker: Cramér's V = 0.6 exactly (not above); 5 of 6: 0.67.
    at, above = _skewed("at", 5), _skewed("above", 6)
    jobs, notes = plan_jobs([at, above], [FS], ["c"], LOSO, [0], transfer=False)
    assert {j.source for j in jobs if j.reference} == {"above"}
    assert notes[-1].startswith("above: speaker-label association Cramér's V = 0.67; a ")
    grid = run_grid([corpus_b(), above], [FS], [CENTROID], protocol=LOSO, within=False,
                    normalisations=("speaker",))  # fmt: skip
    assert "Cramér's V = 0.67 > 0.6, so per-speaker" in grid.notes[-1]
    assert grid.notes[-1].startswith("above: as a test set")


def test_speaker_normalisation_views_of_reference_folds_and_partial_sources():
    a, d = corpus_a(), corpus_d()
    # m: its ang/hap rows are one speaker each, its neu rows shared: confounded only on
    # the classes it shares with b.
    m = _corpus("m", ["ang"] * 2 + ["neu"] * 4 + ["hap"] * 2 + ["neu"] * 4, list(range(12)),
                [0] * 6 + [1] * 6)  # fmt: skip
    jobs, notes = plan_jobs([m, corpus_b()], [FS], ["c"], LOSO, [0], within=False,
                            normalisations=("speaker",))  # fmt: skip
    assert [(j.source, j.training_view) for j in jobs] == [("m", "corpus"), ("b", "")]
    # w: every speaker says both classes: no training set of it is confounded.
    w = _corpus("w", ["ang", "hap"] * 10, list(range(20)), [i // 2 % 5 for i in range(20)])
    jobs, notes = plan_jobs([a, d, corpus_c(), w], [FS], ["c"], SpeakerKFoldProtocol(2), [0],
                            transfer=False, normalisations=("speaker",),
                            stratified_reference="all")  # fmt: skip
    corpora = {"a": a, "d": d, "c": corpus_c(), "w": w}
    for job in jobs:
        corpus = corpora[job.source]
        association = speaker_label_association(
            corpus.labels[job.train], corpus.speakers[job.train]
        )
        assert job.training_view == ("corpus" if association > 0.6 else ""), job
        assert job.normalisation == "speaker"
    # c's second fold trains on two of its three speakers (not confounded), so does one of
    # its reference folds.
    assert [j.training_view for j in jobs if j.source == "c"] == ["corpus", "", "corpus", "corpus"]
    assert [j.training_view for j in jobs if j.source == "w"] == [""] * 4
    assert sum(j.reference for j in jobs) == 8
    assert notes[-2] == (
        "d: per-speaker normalisation fell back to per-corpus for 4 of 4 training set(s): "
        "their own labels show speakers and emotions confounded (Cramér's V > 0.6), where "
        "per-speaker standardisation would remove the emotion itself"
    )


def test_speaker_normalisation_alone_still_has_the_per_corpus_view_for_confounded_sources():
    b, d = corpus_b(), corpus_d()
    grid = run_grid([b, d], [FS], [CENTROID], protocol=LOSO, within=False,
                    normalisations=("speaker",))  # fmt: skip
    b0, d0 = b.features[FS][:, 0], d.features[FS][:, 0]
    b_speaker = np.empty(8)
    for s in (0, 1):
        b_speaker[s::2] = _z(b0[s::2])
    got = grid.predictions[grid.predictions.source == "d"]
    assert got.y_pred.tolist() == _nearest(_z(d0), d.labels, b_speaker)


def test_speaker_norm_adaptation_of_an_unconfounded_source_is_per_speaker_on_both_sides():
    # Speaker offsets of 100 in the source: per corpus, its class means would swap.
    s = _corpus("s", ["ang", "hap", "hap", "ang", "ang", "hap"], [0, 10, 12, 100, 104, 110],
                [0, 0, 0, 1, 1, 1])  # fmt: skip
    t = _corpus("t", ["ang", "ang", "hap", "hap", "hap"] * 2,
                [0, 3, 4, 7, 10, 51, 54, 56, 58, 59],
                [0] * 5 + [1] * 5)  # fmt: skip
    grid = run_grid([s, t], [FS], [CENTROID], protocol=LOSO, within=False,
                    adaptations=("speaker-norm",))  # fmt: skip
    s0, t0 = s.features[FS][:, 0], t.features[FS][:, 0]
    source = np.concatenate([_z(s0[:3]), _z(s0[3:])])
    target = np.concatenate([_z(t0[:5]), _z(t0[5:])])
    expected = _nearest(source, s.labels, target)
    assert expected != _nearest(_z(s0), s.labels, target)
    assert expected != _nearest(source, s.labels, _z(t0))
    got = grid.predictions[grid.predictions.source == "s"]
    assert got.y_pred.tolist() == expected
    assert got.score_hap.tolist() == [float(p == "hap") for p in expected]


def test_coral_adaptation_sees_the_target_features():
    a, b = corpus_a(), corpus_b()
    b.features[FS][:, 0] += 50  # a target far from the source, and spread on column 1
    b.features[FS][:, 1] = [0, 1, 0, 1, 5, 6, 5, 6]
    grid = run_grid([a, b], [FS], [CENTROID], protocol=LOSO, within=False,
                    adaptations=("coral",))  # fmt: skip
    rows = np.arange(8)
    adapted = TransductiveClassifier(make_classifier(CENTROID), "coral").fit(
        a.features[FS][rows], a.labels[rows], X_target=b.features[FS]
    )
    expected = adapted.predict(b.features[FS]).tolist()
    plain = make_classifier(CENTROID).fit(a.features[FS][rows], a.labels[rows])
    assert expected != plain.predict(b.features[FS]).tolist()
    got = grid.predictions[grid.predictions.source == "a"]
    assert got.y_pred.tolist() == expected


def test_run_grid_passes_the_stratified_reference_choice_on():
    grid = run_grid([corpus_b(), corpus_d()], [FS], [CENTROID], protocol=LOSO, transfer=False,
                    stratified_reference="none")  # fmt: skip
    assert grid.reference.empty
    assert set(grid.folds.protocol) == {
        "loso",
        "loso (trained fold 0 without ang; fold 1 without hap)",
    }
