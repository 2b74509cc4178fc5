"""Nested tuning never sees a test fold or a target; any sklearn classifier runs in the grid;
predictions carry class scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import paraser.experiments.transfer as transfer_module
from paraser.experiments import CorpusData, StratifiedKFoldProtocol, make_classifier, run_grid
from paraser.experiments.classifiers import (
    CLASSIFIERS,
    SpeakerGroupedSearch,
    register_classifier,
    resolve_classifier,
)

CLASSES = ["anger", "happiness", "neutral", "sadness"]


def id_corpus(name: str, offset: int, per_class: int = 12, seed: int = 0) -> CorpusData:
    """Blobs whose first column is a global row id (unique across corpora)."""
    rng = np.random.default_rng(seed)
    centres = {c: np.random.default_rng(i).normal(0, 3, 4) for i, c in enumerate(CLASSES)}
    labels = np.repeat(CLASSES, per_class)
    x = np.stack([centres[c] + rng.normal(0, 1, 4) for c in labels])
    ids = offset + np.arange(len(labels))
    frame = pd.DataFrame(
        {
            "corpus": name,
            "utterance": [f"{name}_{i}.wav" for i in range(len(labels))],
            "label": labels,
            "speaker": [f"{name}:s{i % 6}" for i in range(len(labels))],
        }
    )
    return CorpusData(name, frame, {"f": np.column_stack([ids, x]).astype(np.float64)})


class Recorder(BaseEstimator, ClassifierMixin):
    """Nearest centroid on columns 1: that logs the row ids of every fit and predict."""

    log: list[tuple[str, object, frozenset, frozenset]] = []
    context: object = None

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, X, y):
        X = np.asarray(X)
        self.fitted_ = frozenset(X[:, 0].astype(int).tolist())
        Recorder.log.append(("fit", Recorder.context, self.fitted_, self.fitted_))
        self.classes_ = np.unique(y)
        self.centres_ = np.stack([X[np.asarray(y) == c, 1:].mean(axis=0) for c in self.classes_])
        return self

    def predict(self, X):
        X = np.asarray(X)
        ids = frozenset(X[:, 0].astype(int).tolist())
        Recorder.log.append(("predict", Recorder.context, self.fitted_, ids))
        distance = ((X[:, None, 1:] - self.centres_[None]) ** 2).sum(axis=2)
        return self.classes_[distance.argmin(axis=1)]


def _unscaled(name, seed=0):
    # No scaler, so the recorder sees the id column as it is.
    return Pipeline([("classify", Recorder())])


def _ids(corpus: CorpusData, rows) -> frozenset:
    return frozenset(corpus.features["f"][rows, 0].astype(int).tolist())


@pytest.fixture
def recorder(monkeypatch):
    register_classifier("recorder", Recorder(), "instrumented", {"C": [1.0, 2.0, 3.0]})
    monkeypatch.setattr(transfer_module, "make_classifier", _unscaled)
    Recorder.log = []

    # Each job tells the recorder its training rows and what it must never learn from.
    def within(job, corpus):
        Recorder.context = ("within", _ids(corpus, job.train), _ids(corpus, job.test))
        return original_within(job, corpus)

    def transfer(job, source, targets):
        every = [_ids(t, np.arange(len(t.frame))) for t in targets]
        source_ids = _ids(source, np.arange(len(source.frame)))
        Recorder.context = ("transfer", source_ids, frozenset().union(*every))
        return original_transfer(job, source, targets)

    original_within, original_transfer = transfer_module._run_within, transfer_module._run_transfer
    monkeypatch.setattr(transfer_module, "_run_within", within)
    monkeypatch.setattr(transfer_module, "_run_transfer", transfer)
    yield Recorder
    CLASSIFIERS.pop("recorder", None)


def test_tuning_fits_and_selects_only_on_training_rows(recorder):
    corpora = [id_corpus("a", 0, seed=1), id_corpus("b", 1000, seed=2)]
    grid = run_grid(
        corpora, ["f"], ["recorder"], protocol=StratifiedKFoldProtocol(3), tune=True, jobs=1
    )
    fits = [entry for entry in recorder.log if entry[0] == "fit"]
    # 3 grid points x 3 inner folds + 1 refit, per within fold (3 x 2) and source (2).
    assert len(fits) == (3 * 3 + 1) * 8
    for _, (kind, train, held_out), fitted, _ in fits:
        assert fitted <= train, "a model was fitted on rows outside its training set"
        assert not fitted & held_out, f"{kind}: a fit saw a test fold or the target"
    # Selection: every prediction by a model fitted on part of the training set
    # (the inner search) is on training rows too; only the refit meets test rows.
    for op, (_, train, held_out), fitted, seen in recorder.log:
        if op == "predict" and fitted < train:
            assert seen <= train and not seen & held_out
        if op == "predict" and seen & held_out:
            assert fitted == train
    assert any(
        op == "predict" and seen & held_out for op, (_, _, held_out), _, seen in recorder.log
    )
    params = grid.results["params"].map(json.loads)
    assert params.map(lambda p: set(p) == {"C"} and p["C"] in (1.0, 2.0, 3.0)).all()


def test_untuned_runs_leave_params_empty_and_untunable_classifier_is_refused():
    corpora = [id_corpus("a", 0, seed=1), id_corpus("b", 1000, seed=2)]
    grid = run_grid(corpora, ["f"], ["svm"], protocol=StratifiedKFoldProtocol(3))
    assert (grid.results["params"].fillna("") == "").all()
    with pytest.raises(ValueError, match="no parameter grid to tune"):
        run_grid(corpora, ["f"], [LogisticRegression()], tune=True)


def test_search_is_speaker_grouped():
    corpus = id_corpus("a", 0)
    x, y = corpus.features["f"][:, 1:], corpus.labels
    speakers = corpus.frame["speaker"].to_numpy(str)
    search = SpeakerGroupedSearch(make_classifier("svm"), {"C": [0.1, 10.0]}).fit(
        x, y, groups=speakers
    )
    assert search.inner_protocol_ == "speaker-3fold"
    assert set(search.best_params_) == {"C"}
    few = SpeakerGroupedSearch(make_classifier("svm"), {"C": [1.0]}).fit(
        x, y, groups=np.array(["one"] * len(y))
    )
    assert few.inner_protocol_.startswith("stratified")


def test_any_sklearn_estimator_runs_scaled_and_class_weighted_in_worker_processes():
    model = make_classifier(LogisticRegression(max_iter=500), seed=3)
    assert [name for name, _ in model.steps] == ["scale", "classify"]
    assert model.named_steps["classify"].class_weight == "balanced"
    assert model.named_steps["classify"].random_state == 3
    corpora = [id_corpus("a", 0, seed=1), id_corpus("b", 1000, seed=2)]
    register_classifier("logreg", LogisticRegression(max_iter=500), "logistic regression")
    try:
        grid = run_grid(
            corpora, ["f"], ["logreg", LogisticRegression(max_iter=500)],
            protocol=StratifiedKFoldProtocol(3), jobs=2,
        )  # fmt: skip
    finally:
        CLASSIFIERS.pop("logreg")
    assert set(grid.results["classifier"]) == {"logreg", "logisticregression"}
    assert grid.results.query("kind == 'within'")["uar"].min() > 0.8
    assert resolve_classifier(LogisticRegression()).name == "logisticregression"


def test_predictions_carry_class_scores():
    corpora = [id_corpus("a", 0, seed=1), id_corpus("b", 1000, seed=2)]
    grid = run_grid(
        corpora, ["f"], ["svm", "rf"], protocol=StratifiedKFoldProtocol(3),
        adaptations=["none", "prior-em", "coral"],
    )  # fmt: skip
    predictions = grid.predictions
    columns = [f"score_{c}" for c in CLASSES]
    assert np.isfinite(predictions[columns].to_numpy()).all()
    kinds = predictions.groupby(["classifier", "adaptation"])["score_kind"].unique()
    assert kinds.loc[("svm", "none")].tolist() == ["decision"]
    assert kinds.loc[("rf", "none")].tolist() == ["probability"]
    assert kinds.loc[("svm", "prior-em")].tolist() == ["probability"]
    rf = predictions.query("classifier == 'rf' and adaptation == 'none'")
    top = np.asarray(CLASSES)[rf[columns].to_numpy().argmax(axis=1)]
    assert (top == rf["y_pred"].to_numpy()).all()
    em = predictions.query("adaptation == 'prior-em'")[columns].sum(axis=1)
    assert np.allclose(em, 1.0)


def test_transfer_matrix_tune_records_grids_and_chosen_parameters(tmp_path):
    from typer.testing import CliRunner

    from paraser.cli import app

    folders = []
    for i, name in enumerate(["a", "b"]):
        corpus = id_corpus(name, 0, seed=i)
        table = pd.DataFrame(corpus.features["f"][:, 1:], columns=[f"f{j}" for j in range(4)])
        table = table.assign(
            label=corpus.labels, speaker=corpus.frame.speaker.str.split(":").str[1]
        )
        (tmp_path / name).mkdir()
        table.to_csv(tmp_path / name / "egemaps.csv", index=False)
        folders.append(str(tmp_path / name))
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["transfer-matrix", "--corpora", ",".join(folders), "--features", "egemaps",
         "--folds", "3", "--tune", "--out", str(out), "-j", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["tuning"]["grids"]["svm"]["C"] == [0.1, 1.0, 10.0]
    # Per-fold choices are in folds.csv (3 folds x 2 corpora); results.csv holds one
    # pooled within row per corpus (params per fold differ) and the 2 transfer rows.
    params = pd.read_csv(out / "folds.csv")["params"].map(json.loads)
    assert len(params) == 3 * 2 and params.map(lambda p: set(p) == {"C", "gamma"}).all()
    transfer = pd.read_csv(out / "results.csv").query("kind == 'transfer'")["params"]
    assert len(transfer) == 2 and transfer.map(lambda p: set(json.loads(p)) == {"C", "gamma"}).all()


def test_adapted_transfer_is_tuned_on_the_source_alone():
    corpora = [id_corpus("a", 0, seed=1), id_corpus("b", 1000, seed=2)]
    grid = run_grid(
        corpora, ["f"], ["svm"], protocol=StratifiedKFoldProtocol(3), within=False,
        adaptations=["none", "coral"], tune=True,
    )  # fmt: skip
    results = grid.results.set_index(["adaptation", "source"])
    # The search sees only the source, so adapted and plain models choose alike.
    for source in ("a", "b"):
        assert results.loc[("coral", source), "params"] == results.loc[("none", source), "params"]
    assert results["params"].map(json.loads).map(len).eq(2).all()
