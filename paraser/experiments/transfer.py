"""The experiment grid: within-corpus folds on the diagonal, transfer off it.

For every feature set x classifier x normalisation x seed, each source corpus
is trained on once per distinct set of classes it shares with its targets
(normally once) and that model is evaluated on every target: N trainings per
configuration, not N squared.  Pooled sources (multi-source training and
leave-one-corpus-out) are sources like any other.

Two more factors sit beside normalisation:

* **adaptation** (:mod:`paraser.experiments.adaptation`): unsupervised methods
  fitted for one unlabelled target at a time, so an adapted source is trained
  once per target.  They apply to transfer only: the within-corpus diagonal is
  the target-trained ceiling, never adapted.
* **augmentation**: augmented copies of training utterances
  (:class:`AugmentedCopies`) join the training side of every fold and every
  transfer direction.  Test rows are always original utterances: copies are
  looked up only through the training indices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.dummy import DummyClassifier

from paraser.experiments.adaptation import ADAPTATIONS, TransductiveClassifier
from paraser.experiments.classifiers import (
    ClassifierLike,
    chosen_parameters,
    class_scores,
    make_classifier,
    portable,
    resolve_classifier,
    tuned,
)
from paraser.experiments.metrics import score
from paraser.experiments.normalisation import CONFOUND_THRESHOLD, confounded, normalise
from paraser.experiments.protocols import (
    Protocol,
    ProtocolError,
    StratifiedKFoldProtocol,
    plan_splits,
    speaker_label_association,
)
from paraser.parallel import run_tasks
from paraser.results import (
    CONFIG_COLUMNS,
    PREDICTION_COLUMNS,
    RESULT_COLUMNS,
    SCORE_PREFIX,
)

#: Sort keys of both tables; with ``fold`` and ``seed`` they identify one evaluation.
CONFIGURATION_KEYS = CONFIG_COLUMNS


@dataclass(frozen=True)
class AugmentedCopies:
    """Augmented copies of a corpus' utterances, for training only.

    ``origin[i]`` is the row of the corpus frame that copy ``i`` was made from;
    ``features`` maps feature-set names to one row per copy.
    """

    origin: np.ndarray
    features: dict[str, np.ndarray]


@dataclass(frozen=True)
class UnlabelledRows:
    """Utterances of a corpus outside the experiment's label space.

    Never trained on or evaluated; label-free methods (per-corpus and
    per-speaker statistics, adaptation to a target) see them beside the
    labelled rows, because a user without labels could not have told them apart.
    """

    speakers: np.ndarray
    features: dict[str, np.ndarray]


@dataclass(frozen=True)
class CorpusData:
    """A corpus ready for experiments: manifest rows and their feature matrices."""

    name: str
    frame: pd.DataFrame
    features: dict[str, np.ndarray]
    #: Augmentation recipe name -> copies of this corpus' utterances.
    augmented: dict[str, AugmentedCopies] = field(default_factory=dict)
    #: Rows outside the label space (features and speakers only), if any.
    unlabelled: UnlabelledRows | None = None

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].to_numpy(dtype=str)

    def classes(self) -> list[str]:
        return sorted(set(self.labels))

    @property
    def speakers(self) -> np.ndarray:
        return self.frame["speaker"].to_numpy(str)

    def all_features(self, feature_set: str) -> np.ndarray:
        """Every utterance's features, whatever its label: labelled rows first."""
        if self.unlabelled is None:
            return self.features[feature_set]
        return np.concatenate([self.features[feature_set], self.unlabelled.features[feature_set]])

    def all_speakers(self) -> np.ndarray:
        """Speakers of :meth:`all_features`' rows."""
        if self.unlabelled is None:
            return self.speakers
        return np.concatenate([self.speakers, self.unlabelled.speakers.astype(str)])


def pool_corpora(corpora: Sequence[CorpusData]) -> CorpusData:
    """Several corpora as one training source, named ``a+b+c``."""
    name = "+".join(c.name for c in corpora)
    frame = pd.concat([c.frame for c in corpora], ignore_index=True)
    features = {
        key: np.concatenate([c.features[key] for c in corpora]) for key in corpora[0].features
    }
    offsets = np.cumsum([0] + [len(c.frame) for c in corpora[:-1]])
    recipes = set.intersection(*(set(c.augmented) for c in corpora))
    augmented = {
        recipe: AugmentedCopies(
            np.concatenate([c.augmented[recipe].origin + o for c, o in zip(corpora, offsets)]),
            {
                key: np.concatenate([c.augmented[recipe].features[key] for c in corpora])
                for key in features
            },
        )
        for recipe in recipes
    }
    outside = [c.unlabelled for c in corpora if c.unlabelled is not None]
    unlabelled = (
        UnlabelledRows(
            np.concatenate([u.speakers for u in outside]),
            {key: np.concatenate([u.features[key] for u in outside]) for key in features},
        )
        if outside
        else None
    )
    return CorpusData(name, frame, features, augmented, unlabelled)


def training_rows(
    corpus: CorpusData, feature_set: str, rows: np.ndarray, augmentation: str = "none"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and speakers of ``rows``, plus the augmented copies of those rows."""
    rows = np.asarray(rows)
    speakers = corpus.frame["speaker"].to_numpy(str)
    x, y, groups = corpus.features[feature_set][rows], corpus.labels[rows], speakers[rows]
    if augmentation == "none":
        return x, y, groups
    copies = corpus.augmented[augmentation]
    take = np.isin(copies.origin, rows)
    origin = copies.origin[take]
    return (
        np.concatenate([x, copies.features[feature_set][take]]),
        np.concatenate([y, corpus.labels[origin]]),
        np.concatenate([groups, speakers[origin]]),
    )


@dataclass(frozen=True)
class _Job:
    kind: str
    feature_set: str
    classifier: str
    seed: int
    source: str
    normalisation: str = "train"
    adaptation: str = "none"
    augmentation: str = "none"
    protocol: str = "train-all-source"
    fold: int = -1
    train: np.ndarray | None = None
    test: np.ndarray | None = None
    targets: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    #: Normalisation of the training side when it differs from ``normalisation``:
    #: per-speaker standardisation falls back to per-corpus for a training set
    #: whose own labels show speakers and emotions confounded.
    training_view: str = ""
    #: The classifier itself where a worker process cannot look its name up (a user's).
    spec: object = None
    tune: bool = False
    #: A stratified (speakers shared) within cell run beside the speaker-independent one.
    reference: bool = False


@dataclass
class GridResult:
    """``results``: one row per evaluation, within cells scored on pooled out-of-fold
    predictions; ``folds``: the per-fold rows of every within cell (the spread);
    ``reference``: pooled rows of the stratified cells run beside speaker-independent
    ones (their folds share speakers: the size of the speaker confound)."""

    results: pd.DataFrame
    predictions: pd.DataFrame
    notes: list[str]
    folds: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(RESULT_COLUMNS)))
    reference: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(RESULT_COLUMNS))
    )


#: ``--stratified-reference`` choices: which corpora get a stratified cell beside the
#: speaker-independent one.  ``auto``: those whose speakers and labels are confounded.
STRATIFIED_REFERENCE = ("auto", "all", "none")

#: Feature values (all corpora, all sets) up to which a grid starts in this process (see
#: :func:`paraser.parallel.run_tasks`): four corpora of eGeMAPS (~3,000 x 88) are well
#: inside, one corpus of ComParE is not.
LIGHT_GRID_VALUES = 1_000_000


def _new_model(job: _Job):
    model = make_classifier(job.spec or job.classifier, job.seed)
    return tuned(model, job.spec or job.classifier, job.seed) if job.tune else model


def _fit(job: _Job, model, x, y, groups):
    """Fit; a tuned model searches inside these training rows, grouped by their speakers."""
    return model.fit(x, y, groups=groups) if job.tune else model.fit(x, y)


def _prediction_rows(
    job: _Job, target: CorpusData, index: np.ndarray, y_pred, scores=None
) -> pd.DataFrame:
    rows = target.frame.iloc[index]
    values, kind, classes = scores if scores is not None else (None, "none", ())
    score_columns = {
        f"{SCORE_PREFIX}{c}": values[:, i] if values is not None else np.nan
        for i, c in enumerate(classes)
    }
    return pd.DataFrame(
        {
            "feature_set": job.feature_set,
            "classifier": job.classifier,
            "normalisation": job.normalisation,
            "adaptation": job.adaptation,
            "augmentation": job.augmentation,
            "source": job.source,
            "target": target.name,
            "fold": job.fold,
            "seed": job.seed,
            "utterance": rows["utterance"].to_numpy(),
            "speaker": rows["speaker"].to_numpy(),
            "y_true": rows["label"].to_numpy(),
            "y_pred": np.asarray(y_pred),
            "score_kind": kind,
            **score_columns,
        }
    )


def _result_row(job: _Job, target: str, y_true, y_pred, classes, n_train, params="") -> dict:
    return {
        "feature_set": job.feature_set,
        "classifier": job.classifier,
        "source": job.source,
        "target": target,
        "kind": job.kind,
        "protocol": job.protocol,
        "normalisation": job.normalisation,
        "adaptation": job.adaptation,
        "augmentation": job.augmentation,
        "transductive": job.normalisation != "train" or job.adaptation != "none",
        "fold": job.fold,
        "seed": job.seed,
        **score(np.asarray(y_true), np.asarray(y_pred), classes),
        "n_train": int(n_train),
        "n_test": len(y_true),
        "classes": "|".join(classes),
        "params": params,
    }


def _run_within(job: _Job, corpus: CorpusData) -> tuple[list[dict], pd.DataFrame]:
    features = corpus.features[job.feature_set]
    labels = corpus.labels
    x, y, groups = training_rows(corpus, job.feature_set, job.train, job.augmentation)
    if len(set(y)) < 2:
        # Every other class's speakers sit in this fold's test side: nothing can be learnt
        # speaker-independently, so the fold predicts its one training class (its row's
        # protocol names the classes it lacks); the pooled score counts those as errors.
        model = DummyClassifier(strategy="most_frequent").fit(x, y)
    else:
        model = _fit(job, _new_model(job), x, y, groups)
    test_x = features[job.test]
    y_pred = model.predict(test_x)
    scores = (*class_scores(model, test_x), model.classes_)
    # UAR over the classes this fold tests (a speaker-independent fold may lack one).
    classes = sorted(set(labels[job.test]))
    params = chosen_parameters(model)
    row = _result_row(job, corpus.name, labels[job.test], y_pred, classes, len(y), params)
    predictions = _prediction_rows(job, corpus, job.test, y_pred, scores)
    return [{**row, "reference": job.reference}], predictions.assign(reference=job.reference)


def pool_within(folds: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per within cell and seed, scored once on its pooled out-of-fold predictions.

    Every utterance of the corpus is predicted exactly once over the folds, so
    UAR is over every class the corpus has, whichever folds tested it.
    """
    keys = [*CONFIGURATION_KEYS, "source", "target", "seed"]
    fold_rows = folds.groupby(keys, sort=True)
    rows = []
    for key, cell in predictions.groupby(keys, sort=True):
        fold_group = fold_rows.get_group(key)
        y_true, y_pred = cell["y_true"].to_numpy(str), cell["y_pred"].to_numpy(str)
        params = set(fold_group["params"])
        rows.append(
            {
                **fold_group.iloc[0].to_dict(),
                "fold": -1,
                **score(y_true, y_pred, sorted(set(y_true))),
                "n_train": int(round(fold_group["n_train"].mean())),
                "n_test": len(y_true),
                "classes": "|".join(sorted(set(y_true))),
                "params": params.pop() if len(params) == 1 else "per fold: folds.csv",
            }
        )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def _run_transfer(
    job: _Job, source: CorpusData, targets: list[CorpusData]
) -> tuple[list[dict], pd.DataFrame]:
    classes = list(job.classes)
    keep = np.flatnonzero(np.isin(source.labels, classes))
    x, y, groups = training_rows(source, job.feature_set, keep, job.augmentation)
    model = (
        _fit(job, _new_model(job), x, y, groups) if job.adaptation == "none" or job.tune else None
    )
    params = chosen_parameters(model)
    rows, predictions = [], []
    for target in targets:
        # Evaluated: the target's utterances in the shared label space.
        index = np.flatnonzero(np.isin(target.labels, classes))
        if job.adaptation == "none":
            target_x = target.features[job.feature_set][index]
            y_pred = model.predict(target_x)
            scores = (*class_scores(model, target_x), model.classes_)
        else:
            # An adapter sees every utterance of the target, whatever its label
            # (in or out of the label space), and no label: what a user without
            # labels would have.  Only the evaluation is restricted afterwards.
            target_x, target_speakers = target.all_features(job.feature_set), target.all_speakers()
            # Tuned on the source alone; the adapter then refits the chosen setting.
            base = (
                model.best_estimator_
                if job.tune
                else make_classifier(job.spec or job.classifier, job.seed)
            )
            adapted = TransductiveClassifier(base, job.adaptation).fit(
                x, y, X_target=target_x, groups=groups, target_groups=target_speakers,
                source_confounded=job.adaptation == "speaker-norm" and confounded(y, groups),
            )  # fmt: skip
            y_pred = adapted.predict(target_x, groups=target_speakers)[index]
            values, kind = adapted.class_scores(target_x, groups=target_speakers)
            scores = (values[index], kind, adapted.classes_)
        y_true = target.labels[index]
        rows.append(_result_row(job, target.name, y_true, y_pred, classes, len(y), params))
        predictions.append(_prediction_rows(job, target, index, y_pred, scores))
    return rows, pd.concat(predictions, ignore_index=True)


def plan_jobs(
    corpora: Sequence[CorpusData],
    feature_sets: Sequence[str],
    classifiers: Sequence[str],
    protocol: Protocol,
    seeds: Sequence[int],
    transfer: bool = True,
    normalisations: Sequence[str] = ("train",),
    pooled: Sequence[tuple[CorpusData, Sequence[str]]] = (),
    within: bool = True,
    adaptations: Sequence[str] = ("none",),
    augmentations: Sequence[str] = ("none",),
    stratified_reference: str = "auto",
) -> tuple[list[_Job], list[str]]:
    """Every training the grid needs, validated before any is run, and notes on the plan.

    ``stratified_reference`` (:data:`STRATIFIED_REFERENCE`) adds, under a
    speaker-independent protocol, a stratified within cell beside the primary one.
    """
    if stratified_reference not in STRATIFIED_REFERENCE:
        raise ValueError(
            f"stratified reference '{stratified_reference}': use {', '.join(STRATIFIED_REFERENCE)}"
        )
    jobs: list[_Job] = []
    notes: list[str] = []
    splits = {}
    references: dict[tuple[str, int], list] = {}
    reference_protocol = StratifiedKFoldProtocol(getattr(protocol, "folds", 5))
    for corpus in corpora:
        association = speaker_label_association(corpus.labels, corpus.speakers)
        wanted = protocol.speaker_independent and (
            stratified_reference == "all"
            or (stratified_reference == "auto" and association > CONFOUND_THRESHOLD)
        )
        for seed in seeds:
            planned = plan_splits(
                corpus.name, corpus.labels, corpus.frame["speaker"].to_numpy(str), protocol, seed
            )
            splits[(corpus.name, seed)] = planned
            if planned.note and planned.note not in notes:
                notes.append(planned.note)
            if not wanted or planned.protocol.startswith("stratified") or not within:
                continue
            try:
                references[(corpus.name, seed)] = reference_protocol.splits(
                    corpus.name, corpus.labels, corpus.speakers, seed
                )
            except ProtocolError as exc:
                notes.append(f"no stratified reference cell: {exc}")
        if any(name == corpus.name for name, _ in references):
            notes.append(
                f"{corpus.name}: speaker-label association Cramér's V = {association:.2f}; a "
                f"{reference_protocol.name} cell (speakers shared) is reported beside the "
                "speaker-independent one (within_reference.csv, summary.md) to show the size "
                "of the speaker confound; it is never the ceiling"
            )
    sources: list[tuple[CorpusData, list[CorpusData]]] = []
    if transfer:
        sources = [(c, [t for t in corpora if t.name != c.name]) for c in corpora]
    by_name = {c.name: c for c in corpora}
    sources += [(source, [by_name[t] for t in targets]) for source, targets in pooled]
    factors = [
        (feature_set, classifier, normalisation, augmentation, seed)
        for feature_set in feature_sets
        for classifier in classifiers
        for normalisation in normalisations
        for augmentation in augmentations
        for seed in seeds
    ]
    fallbacks: dict[str, list[int]] = {}

    def view(normalisation: str, name: str, labels: np.ndarray, speakers: np.ndarray) -> str:
        # Decided on the training rows' own labels only, never a test fold's or target's.
        if normalisation != "speaker":
            return ""
        fell_back = confounded(labels, speakers)
        counts = fallbacks.setdefault(name, [0, 0])
        counts[0] += fell_back
        counts[1] += 1
        return "corpus" if fell_back else ""

    for feature_set, classifier, normalisation, augmentation, seed in factors:
        common = dict(normalisation=normalisation, augmentation=augmentation)
        for corpus in corpora if within else ():
            planned = splits[(corpus.name, seed)]
            for fold, (train, test) in enumerate(planned.splits):
                training_view = view(
                    normalisation, corpus.name, corpus.labels[train], corpus.speakers[train]
                )
                jobs.append(
                    _Job("within", feature_set, classifier, seed, corpus.name, **common,
                         protocol=planned.protocol, fold=fold, train=train, test=test,
                         training_view=training_view)
                )  # fmt: skip
            for fold, (train, test) in enumerate(references.get((corpus.name, seed), [])):
                training_view = view(
                    normalisation, corpus.name, corpus.labels[train], corpus.speakers[train]
                )
                jobs.append(
                    _Job("within", feature_set, classifier, seed, corpus.name, **common,
                         protocol=reference_protocol.name, fold=fold, train=train, test=test,
                         training_view=training_view, reference=True)
                )  # fmt: skip
        for source, targets in sources:
            by_classes: dict[tuple[str, ...], list[str]] = {}
            for target in targets:
                shared = tuple(sorted(set(source.classes()) & set(target.classes())))
                if len(shared) >= 2:
                    by_classes.setdefault(shared, []).append(target.name)
            for adaptation in adaptations:
                for shared, names in by_classes.items():
                    rows = np.isin(source.labels, shared)
                    training_view = view(
                        normalisation, source.name, source.labels[rows], source.speakers[rows]
                    )
                    # An adapted model is fitted for one target; a plain one serves all.
                    groups = [names] if adaptation == "none" else [[n] for n in names]
                    jobs += [
                        _Job("transfer", feature_set, classifier, seed, source.name, **common,
                             adaptation=adaptation, targets=tuple(g), classes=shared,
                             training_view=training_view)
                        for g in groups
                    ]  # fmt: skip
    for name, (fell_back, total) in fallbacks.items():
        if fell_back:
            notes.append(
                f"{name}: per-speaker normalisation fell back to per-corpus for {fell_back} of "
                f"{total} training set(s): their own labels show speakers and emotions "
                f"confounded (Cramér's V > {CONFOUND_THRESHOLD}), where per-speaker "
                "standardisation would remove the emotion itself"
            )
    return jobs, notes


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
                    f"{', '.join(sorted(shared)) or 'none'} (need at least two; {source.name} "
                    f"has {', '.join(source.classes())}, {target.name} has "
                    f"{', '.join(target.classes())}); map both onto one label space with "
                    "--classes or --label-map"
                )
    return notes


def run_grid(
    corpora: Sequence[CorpusData],
    feature_sets: Sequence[str],
    classifiers: Sequence[ClassifierLike],
    *,
    protocol: Protocol | None = None,
    seeds: Sequence[int] = (0,),
    transfer: bool = True,
    within: bool = True,
    normalisations: Sequence[str] = ("train",),
    adaptations: Sequence[str] = ("none",),
    augmentations: Sequence[str] = ("none",),
    pooled_sources: Sequence[Sequence[str]] = (),
    leave_one_corpus_out: bool = False,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    tune: bool = False,
    stratified_reference: str = "auto",
) -> GridResult:
    """Run within-corpus folds and all transfer directions; return tidy tables.

    ``pooled_sources`` lists groups of corpus names trained on together and
    tested on every corpus outside the group; ``leave_one_corpus_out`` adds, for
    each corpus, a source pooling all the others.  ``within=False`` runs only
    the transfer directions.  ``adaptations`` (see
    :data:`~paraser.experiments.adaptation.ADAPTATIONS`) apply to transfer
    directions; ``augmentations`` name recipes whose copies every training
    corpus carries in :attr:`CorpusData.augmented`.  ``classifiers`` are
    registered names, specs or scikit-learn estimator objects.  ``tune`` runs a
    nested speaker-grouped hyperparameter search inside every training set (each
    within fold's training part, each source), recorded in the ``params`` column.
    Within cells are scored on pooled out-of-fold predictions (see
    :data:`~paraser.experiments.protocols.SCORING_RULE`); ``stratified_reference``
    (:data:`STRATIFIED_REFERENCE`) adds stratified cells beside speaker-independent ones.
    """
    protocol = protocol or StratifiedKFoldProtocol()
    specs = {spec.name: spec for spec in map(resolve_classifier, classifiers)}
    if tune:
        for spec in specs.values():
            tuned(make_classifier(spec), spec)  # an untunable classifier fails here, not later
    unknown = [a for a in adaptations if a not in ADAPTATIONS]
    if unknown:
        raise ValueError(f"unknown adaptation {unknown}: use {', '.join(ADAPTATIONS)}")
    for recipe in augmentations:
        lacking = [c.name for c in corpora if recipe != "none" and recipe not in c.augmented]
        if lacking:
            raise ValueError(
                f"augmentation '{recipe}': no augmented copies for {', '.join(lacking)} "
                "(extract them first)"
            )
    names = [c.name for c in corpora]
    groups = [list(g) for g in pooled_sources]
    if leave_one_corpus_out:
        groups += [[n for n in names if n != held_out] for held_out in names]
    for group in groups:
        unknown = set(group) - set(names)
        if unknown or not group:
            raise ValueError(f"pooled source {group}: unknown corpora {sorted(unknown)}")
    by_key: dict[tuple[str, str], CorpusData] = {}
    # Per-speaker normalisation needs the per-corpus view too, for confounded training sets.
    views = list(
        dict.fromkeys([*normalisations, *(["corpus"] if "speaker" in normalisations else [])])
    )
    for normalisation in views:
        for corpus in corpora:
            by_key[(normalisation, corpus.name)] = normalise(corpus, normalisation)
        for group in groups:
            pooled = pool_corpora([by_key[(normalisation, n)] for n in group])
            by_key[(normalisation, pooled.name)] = pooled
    notes = [
        f"{c.name}: as a test set it is standardised per speaker; whether its speakers and "
        "emotions are confounded cannot be checked without its labels (judged here from "
        "the evaluation labels, for this note only: Cramér's V = "
        f"{speaker_label_association(c.labels, c.speakers):.2f} > {CONFOUND_THRESHOLD}, so "
        "per-speaker standardisation likely removes part of the emotion in its cells)"
        for c in corpora
        if "speaker" in normalisations and confounded(c.labels, c.speakers)
    ]
    pooled_plan = [
        (pool_corpora([by_key[(normalisations[0], n)] for n in group]),
         [n for n in names if n not in group])
        for group in groups
    ]  # fmt: skip
    planned, plan_notes = plan_jobs(
        corpora,
        feature_sets,
        list(specs),
        protocol,
        seeds,
        transfer,
        normalisations,
        pooled_plan,
        within=within,
        adaptations=adaptations,
        augmentations=augmentations,
        stratified_reference=stratified_reference,
    )
    notes = plan_notes + notes
    carried = {name: portable(spec) for name, spec in specs.items()}
    planned = [
        replace(j, spec=None if isinstance(carried[j.classifier], str) else carried[j.classifier],
                tune=tune)
        for j in planned
    ]  # fmt: skip

    def call(job: _Job):
        source = by_key[(job.training_view or job.normalisation, job.source)]
        if job.kind == "within":
            return delayed(_run_within)(job, source)
        targets = [by_key[(job.normalisation, t)] for t in job.targets]
        return delayed(_run_transfer)(job, source, targets)

    rows: list[dict] = []
    predictions: list[pd.DataFrame] = []
    if progress:
        progress(0, len(planned))
    light = sum(m.size for c in corpora for m in c.features.values()) <= LIGHT_GRID_VALUES
    tasks = (call(j) for j in planned)
    for done, (job_rows, job_predictions) in enumerate(run_tasks(tasks, jobs, start_here=light), 1):
        rows.extend(job_rows)
        predictions.append(job_predictions)
        if progress:
            progress(done, len(planned))
    keys = [*CONFIGURATION_KEYS, "source", "target", "seed", "fold"]
    every_row = pd.DataFrame(rows, columns=[*RESULT_COLUMNS, "reference"])
    every_row["reference"] = every_row["reference"].eq(True)
    every_prediction = (
        pd.concat(predictions, ignore_index=True)
        if predictions
        else pd.DataFrame(columns=PREDICTION_COLUMNS)
    )
    every_prediction["reference"] = every_prediction.get("reference", False)
    every_prediction["reference"] = every_prediction["reference"].eq(True)
    within_rows = every_row["kind"] == "within"
    # A within job predicts its own corpus; a transfer direction never has source == target.
    within_predictions = every_prediction["source"] == every_prediction["target"]
    pooled = {
        is_reference: pool_within(
            every_row[within_rows & (every_row["reference"] == is_reference)],
            every_prediction[within_predictions & (every_prediction["reference"] == is_reference)],
        )
        for is_reference in (False, True)
    }
    results = pd.concat(
        [every_row[~within_rows].drop(columns="reference"), pooled[False]], ignore_index=True
    )
    results = results.sort_values(keys, kind="stable").reset_index(drop=True)
    predictions_frame = every_prediction[~every_prediction["reference"]].drop(columns="reference")
    predictions_frame = predictions_frame.sort_values(
        [*keys, "utterance"], kind="stable"
    ).reset_index(drop=True)
    fold_rows = every_row[within_rows].drop(columns="reference")
    fold_rows = fold_rows.sort_values([*keys[:-1], "protocol", "fold"], kind="stable")
    reference = pooled[True].sort_values(keys, kind="stable").reset_index(drop=True)
    return GridResult(
        results, predictions_frame, notes, fold_rows.reset_index(drop=True), reference
    )
