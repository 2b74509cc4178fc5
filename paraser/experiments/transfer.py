"""The experiment grid: within-corpus folds on the diagonal, transfer off it.

For every feature set x classifier x seed, each source corpus is trained on
once per distinct set of classes it shares with its targets (normally once)
and that model is evaluated on every target: N trainings per configuration,
not N squared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from paraser.experiments.classifiers import make_classifier
from paraser.experiments.metrics import score
from paraser.experiments.protocols import StratifiedKFoldProtocol

#: Columns of ``results.csv``, one row per evaluation.
RESULT_COLUMNS: dict[str, str] = {
    "feature_set": "feature set name",
    "classifier": "classifier name",
    "source": "training corpus",
    "target": "test corpus (equal to source for within-corpus rows)",
    "kind": "'within' or 'transfer'",
    "protocol": "split protocol actually used",
    "fold": "fold index (-1 for transfer: all of source -> all of target)",
    "seed": "random seed of split and classifier",
    "uar": "unweighted average recall over `classes`",
    "accuracy": "accuracy",
    "macro_f1": "macro-averaged F1 over `classes`",
    "chance": "chance UAR, 1/K",
    "n_train": "training utterances",
    "n_test": "test utterances",
    "classes": "classes evaluated, '|'-separated",
    "n_predicted_classes": "distinct classes the model predicted",
    "dominant_share": "share of predictions in the most predicted class",
    "collapsed": "True when predictions degenerate to (nearly) one class",
}

PREDICTION_COLUMNS = [
    "feature_set", "classifier", "source", "target", "fold", "seed",
    "utterance", "speaker", "y_true", "y_pred",
]  # fmt: skip


@dataclass(frozen=True)
class CorpusData:
    """A corpus ready for experiments: manifest rows and their feature matrices."""

    name: str
    frame: pd.DataFrame
    features: dict[str, np.ndarray]

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].to_numpy(dtype=str)

    def classes(self) -> list[str]:
        return sorted(set(self.labels))


@dataclass(frozen=True)
class _Job:
    kind: str
    feature_set: str
    classifier: str
    seed: int
    source: str
    fold: int = -1
    train: np.ndarray | None = None
    test: np.ndarray | None = None
    targets: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()


@dataclass
class GridResult:
    results: pd.DataFrame
    predictions: pd.DataFrame


def _prediction_rows(job: _Job, target: CorpusData, index: np.ndarray, y_pred) -> pd.DataFrame:
    rows = target.frame.iloc[index]
    return pd.DataFrame(
        {
            "feature_set": job.feature_set,
            "classifier": job.classifier,
            "source": job.source,
            "target": target.name,
            "fold": job.fold,
            "seed": job.seed,
            "utterance": rows["utterance"].to_numpy(),
            "speaker": rows["speaker"].to_numpy(),
            "y_true": rows["label"].to_numpy(),
            "y_pred": np.asarray(y_pred),
        }
    )


def _result_row(job: _Job, target: str, protocol: str, y_true, y_pred, classes, n_train) -> dict:
    return {
        "feature_set": job.feature_set,
        "classifier": job.classifier,
        "source": job.source,
        "target": target,
        "kind": job.kind,
        "protocol": protocol,
        "fold": job.fold,
        "seed": job.seed,
        **score(np.asarray(y_true), np.asarray(y_pred), classes),
        "n_train": int(n_train),
        "n_test": len(y_true),
        "classes": "|".join(classes),
    }


def _run_within(job: _Job, corpus: CorpusData, protocol: str) -> tuple[list[dict], pd.DataFrame]:
    features = corpus.features[job.feature_set]
    labels = corpus.labels
    model = make_classifier(job.classifier, job.seed).fit(features[job.train], labels[job.train])
    y_pred = model.predict(features[job.test])
    classes = sorted(set(labels))
    row = _result_row(job, corpus.name, protocol, labels[job.test], y_pred, classes, len(job.train))
    return [row], _prediction_rows(job, corpus, job.test, y_pred)


def _run_transfer(
    job: _Job, source: CorpusData, targets: list[CorpusData]
) -> tuple[list[dict], pd.DataFrame]:
    classes = list(job.classes)
    keep = np.isin(source.labels, classes)
    model = make_classifier(job.classifier, job.seed).fit(
        source.features[job.feature_set][keep], source.labels[keep]
    )
    rows, predictions = [], []
    for target in targets:
        index = np.flatnonzero(np.isin(target.labels, classes))
        y_pred = model.predict(target.features[job.feature_set][index])
        rows.append(
            _result_row(
                job,
                target.name,
                "train-all-source",
                target.labels[index],
                y_pred,
                classes,
                int(keep.sum()),
            )
        )
        predictions.append(_prediction_rows(job, target, index, y_pred))
    return rows, pd.concat(predictions, ignore_index=True)


def plan_jobs(
    corpora: Sequence[CorpusData],
    feature_sets: Sequence[str],
    classifiers: Sequence[str],
    protocol: StratifiedKFoldProtocol,
    seeds: Sequence[int],
    transfer: bool = True,
) -> list[_Job]:
    """Every training the grid needs, validated before any is run."""
    jobs: list[_Job] = []
    splits = {
        (c.name, seed): protocol.splits(c.name, c.labels, c.frame["speaker"].to_numpy(), seed)
        for c in corpora
        for seed in seeds
    }
    for feature_set in feature_sets:
        for classifier in classifiers:
            for seed in seeds:
                for corpus in corpora:
                    for fold, (train, test) in enumerate(splits[(corpus.name, seed)]):
                        jobs.append(
                            _Job("within", feature_set, classifier, seed, corpus.name, fold,
                                 train, test)
                        )  # fmt: skip
                    if not transfer:
                        continue
                    by_classes: dict[tuple[str, ...], list[str]] = {}
                    for target in corpora:
                        if target.name == corpus.name:
                            continue
                        shared = tuple(sorted(set(corpus.classes()) & set(target.classes())))
                        if len(shared) >= 2:
                            by_classes.setdefault(shared, []).append(target.name)
                    for shared, names in by_classes.items():
                        jobs.append(
                            _Job("transfer", feature_set, classifier, seed, corpus.name,
                                 targets=tuple(names), classes=shared)
                        )  # fmt: skip
    return jobs


def skipped_directions(corpora: Sequence[CorpusData]) -> list[str]:
    """Ordered pairs left out because source and target share fewer than two classes."""
    notes = []
    for source in corpora:
        for target in corpora:
            if source.name == target.name:
                continue
            shared = set(source.classes()) & set(target.classes())
            if len(shared) < 2:
                notes.append(
                    f"{source.name} -> {target.name}: skipped, shared classes "
                    f"{sorted(shared) or 'none'} (need at least two)"
                )
    return notes


def run_grid(
    corpora: Sequence[CorpusData],
    feature_sets: Sequence[str],
    classifiers: Sequence[str],
    *,
    protocol: StratifiedKFoldProtocol | None = None,
    seeds: Sequence[int] = (0,),
    transfer: bool = True,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> GridResult:
    """Run within-corpus folds and all transfer directions; return tidy tables."""
    protocol = protocol or StratifiedKFoldProtocol()
    by_name = {c.name: c for c in corpora}
    planned = plan_jobs(corpora, feature_sets, classifiers, protocol, seeds, transfer)

    def call(job: _Job):
        if job.kind == "within":
            return delayed(_run_within)(job, by_name[job.source], protocol.name)
        targets = [by_name[t] for t in job.targets]
        return delayed(_run_transfer)(job, by_name[job.source], targets)

    rows: list[dict] = []
    predictions: list[pd.DataFrame] = []
    if progress:
        progress(0, len(planned))
    runner = Parallel(n_jobs=jobs, return_as="generator_unordered")
    for done, (job_rows, job_predictions) in enumerate(runner(call(j) for j in planned), 1):
        rows.extend(job_rows)
        predictions.append(job_predictions)
        if progress:
            progress(done, len(planned))
    results = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    sort_keys = ["feature_set", "classifier", "source", "target", "seed", "fold"]
    results = results.sort_values(sort_keys, kind="stable").reset_index(drop=True)
    predictions_frame = (
        pd.concat(predictions, ignore_index=True)
        if predictions
        else pd.DataFrame(columns=PREDICTION_COLUMNS)
    )
    predictions_frame = predictions_frame.sort_values(
        ["feature_set", "classifier", "source", "target", "seed", "fold", "utterance"],
        kind="stable",
    ).reset_index(drop=True)
    return GridResult(results, predictions_frame)
