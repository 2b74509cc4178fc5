"""Few-shot target curves: how many labelled target utterances does transfer need?

For every transfer direction the target's speakers are split into an
*adaptation pool* and *held-out test speakers* (speaker-disjoint; a fresh,
seeded split per draw, shared by every source so directions into one target
are compared on the same test speakers).  ``k`` labelled utterances per class
are drawn from the pool (nested: the 5 shots of a draw are among its 10), and
every model is evaluated on the held-out speakers only.

Strategies (each a scikit-learn estimator wrapping any classifier; ``fit(X, y,
domain=...)`` with ``domain`` 0 for source rows and 1 for target shots):

* :class:`TargetOnly` - train on the shots alone;
* :class:`PooledShots` - source plus shots, each shot weighted ``shot_weight``;
* :class:`FeatureAugmentation` - Daumé III (2007) "frustratingly easy" domain
  adaptation: each row becomes ``[x, x, 0]`` (source) or ``[x, 0, x]`` (target).

Reference points on the same test speakers: ``zero-shot`` (the source model,
no shots: today's transfer) and ``ceiling`` (target-only on the whole pool).
With an unsupervised adaptation (``corpus-norm``, ``speaker-norm``, ``coral``)
source and target features are adapted first - from the target's unlabelled
features, all of them, as the transfer grid's adapters - and the shots are added
on the adapted features.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from paraser.experiments.adaptation import coral
from paraser.experiments.classifiers import make_classifier
from paraser.experiments.metrics import score
from paraser.experiments.normalisation import standardise_groups
from paraser.experiments.transfer import CorpusData, pool_corpora
from paraser.parallel import parallel_jobs

#: Strategies drawn as learning curves (k > 0).
CURVE_STRATEGIES: tuple[str, ...] = ("target-only", "pooled", "feature-augment")
#: Reference strategies: the source model without shots, target-only on the whole pool.
REFERENCE_STRATEGIES: tuple[str, ...] = ("zero-shot", "ceiling")
#: Unsupervised adaptations that can run before the shots are added (feature transforms).
SHOT_ADAPTATIONS: tuple[str, ...] = ("none", "corpus-norm", "speaker-norm", "coral")

#: Columns of ``fewshot.csv``, one row per evaluation.
FEWSHOT_COLUMNS: dict[str, str] = {
    "feature_set": "feature set name",
    "classifier": "classifier name",
    "adaptation": "unsupervised adaptation applied before the shots ('none': plain features)",
    "source": "training corpus (or pooled corpora a+b)",
    "target": "corpus the shots come from and the test speakers belong to",
    "strategy": "zero-shot, target-only, pooled, feature-augment or ceiling",
    "shots": "labelled target utterances requested per class (ceiling: -1, the whole pool)",
    "draw": "speaker split and shot draw index",
    "seed": "base seed of the draws and of the classifier",
    "shot_weight": "sample weight of each shot in pooled training",
    "uar": "unweighted average recall over `classes` on the held-out target speakers",
    "accuracy": "accuracy",
    "macro_f1": "macro-averaged F1",
    "chance": "chance UAR, 1/K",
    "n_shots": "labelled target utterances actually used (fewer where the pool lacks them)",
    "n_train": "training rows",
    "n_test": "test utterances (held-out speakers)",
    "n_test_speakers": "held-out target speakers",
    "classes": "classes evaluated, '|'-separated",
    "n_predicted_classes": "distinct classes the model predicted",
    "dominant_share": "share of predictions in the most predicted class",
    "collapsed": "True when predictions degenerate to (nearly) one class",
}

FEWSHOT_PREDICTION_COLUMNS = [
    "feature_set", "classifier", "adaptation", "source", "target", "strategy", "shots",
    "seed", "fold", "utterance", "speaker", "y_true", "y_pred",
]  # fmt: skip


@dataclass(frozen=True)
class FewShotPlan:
    """What the few-shot factor runs: shot counts, draws, pooled-shot weight, test share."""

    shots: tuple[int, ...] = (0, 5, 10, 20, 50)
    draws: int = 5
    shot_weight: float = 1.0
    test_share: float = 0.5

    def __post_init__(self) -> None:
        if not self.shots or any(k < 0 for k in self.shots):
            raise ValueError(f"--target-shots {list(self.shots)}: give counts >= 0, e.g. 0,5,10")
        if self.draws < 1:
            raise ValueError("few-shot draws must be at least 1")
        if not 0 < self.test_share < 1:
            raise ValueError(f"test share {self.test_share}: must lie strictly between 0 and 1")

    def to_dict(self) -> dict:
        return {
            "shots": sorted(set(self.shots)),
            "draws": self.draws,
            "shot_weight": self.shot_weight,
            "test_share": self.test_share,
            "strategies": [*REFERENCE_STRATEGIES, *CURVE_STRATEGIES],
        }

    def experiment_keys(self) -> dict:
        """The plan as the keys of an experiment file (the CLI's --target-shots options)."""
        return {
            "target_shots": list(self.shots),
            "shot_draws": self.draws,
            "shot_weight": self.shot_weight,
            "shot_test_share": self.test_share,
        }


# --- estimators ---------------------------------------------------------------------------


def _fit_weighted(estimator, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None):
    """Fit, routing sample weights to the final step of (nested) pipelines."""
    if weights is None:
        return estimator.fit(x, y)
    route, step = [], estimator
    while isinstance(step, Pipeline):
        name, step = step.steps[-1]
        route.append(name)
    key = "__".join(route) + "__sample_weight" if route else "sample_weight"
    return estimator.fit(x, y, **{key: weights})


def _domains(domain, n: int) -> np.ndarray:
    if domain is None:
        raise ValueError("few-shot estimators need domain= (0 source rows, 1 target shots)")
    domain = np.asarray(domain).astype(int)
    if domain.shape != (n,) or not np.isin(domain, (0, 1)).all():
        raise ValueError("domain must hold one 0 (source) or 1 (target) per training row")
    return domain


class _ShotEstimator(BaseEstimator, ClassifierMixin):
    """Shared plumbing: clone the wrapped classifier, expose ``classes_``, predict."""

    def _finish(self, model) -> _ShotEstimator:
        self.model_ = model
        self.classes_ = model.classes_
        return self

    def predict(self, X):
        return self.model_.predict(np.asarray(X, dtype=np.float64))


class TargetOnly(_ShotEstimator):
    """Train on the labelled target rows (``domain == 1``) alone; source rows are ignored."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, domain=None):
        x, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        keep = _domains(domain, len(y)) == 1
        if not keep.any():
            raise ValueError("target-only training needs at least one target row")
        return self._finish(clone(self.estimator).fit(x[keep], y[keep]))


class PooledShots(_ShotEstimator):
    """Source and target shots in one training set; each shot has weight ``shot_weight``."""

    def __init__(self, estimator, shot_weight: float = 1.0):
        self.estimator = estimator
        self.shot_weight = shot_weight

    def fit(self, X, y, domain=None):
        x, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        domain = _domains(domain, len(y))
        weights = None
        if self.shot_weight != 1.0:
            weights = np.where(domain == 1, float(self.shot_weight), 1.0)
        return self._finish(_fit_weighted(clone(self.estimator), x, y, weights))


class FeatureAugmentation(_ShotEstimator):
    """Daumé III (2007): ``[x, x, 0]`` for source rows, ``[x, 0, x]`` for target rows.

    Features are standardised on the training rows first and the wrapped
    pipeline's own ``StandardScaler`` step is bypassed: re-scaling the mostly-zero
    target block would inflate the few shots' values by about sqrt(n / n_shots).
    ``predict`` treats every row as target.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    @staticmethod
    def augment(x: np.ndarray, domain: np.ndarray) -> np.ndarray:
        target = (domain == 1)[:, None]
        return np.hstack([x, np.where(target, 0.0, x), np.where(target, x, 0.0)])

    def fit(self, X, y, domain=None):
        x, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        domain = _domains(domain, len(y))
        self.scaler_ = StandardScaler().fit(x)
        model = clone(self.estimator)
        if isinstance(model, Pipeline):
            scalers = [n for n, s in model.steps if isinstance(s, StandardScaler)]
            model.set_params(**{n: "passthrough" for n in scalers})
        return self._finish(model.fit(self.augment(self.scaler_.transform(x), domain), y))

    def predict(self, X):
        x = self.scaler_.transform(np.asarray(X, dtype=np.float64))
        return self.model_.predict(self.augment(x, np.ones(len(x), dtype=int)))


def make_strategy(name: str, estimator, shot_weight: float = 1.0):
    """The few-shot estimator ``name`` wrapping ``estimator``."""
    if name == "target-only":
        return TargetOnly(estimator)
    if name == "pooled":
        return PooledShots(estimator, shot_weight)
    if name == "feature-augment":
        return FeatureAugmentation(estimator)
    raise ValueError(f"unknown few-shot strategy '{name}': use {', '.join(CURVE_STRATEGIES)}")


def adapt_features(
    method: str,
    source: np.ndarray,
    target: np.ndarray,
    source_groups: np.ndarray,
    target_groups: np.ndarray,
    ridge: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Source and target features after an unsupervised adaptation (target unlabelled)."""
    if method == "none":
        return source, target
    if method == "corpus-norm":
        return standardise_groups(source), standardise_groups(target)
    if method == "speaker-norm":
        return standardise_groups(source, source_groups), standardise_groups(target, target_groups)
    if method == "coral":
        scaler = StandardScaler().fit(source)
        aligned = coral(scaler.transform(source), scaler.transform(target), ridge)
        return aligned, scaler.transform(target)
    raise ValueError(
        f"adaptation '{method}' cannot be combined with shots: use {', '.join(SHOT_ADAPTATIONS)}"
    )


# --- splits and draws ---------------------------------------------------------------------


def draw_seed(seed: int, target: str, draw: int) -> int:
    """Seed of one draw: the same for every source into ``target`` (comparable directions)."""
    return zlib.crc32(f"{seed}\x1f{target}\x1f{draw}".encode())


@dataclass(frozen=True)
class TargetSplit:
    """Row indices of a target's adaptation pool and held-out test speakers."""

    pool: np.ndarray
    test: np.ndarray
    note: str | None = None


def split_target(
    labels: np.ndarray,
    speakers: np.ndarray,
    test_share: float,
    seed: int,
    *,
    name: str = "target",
    attempts: int = 200,
) -> TargetSplit:
    """A speaker-disjoint pool / test split with every class on both sides where possible.

    Speakers are shuffled (seeded) and the first ``round(test_share * n)`` held out;
    shuffles are retried until every class has utterances in pool and test.  Where
    none of ``attempts`` manages it (speakers and labels confounded) the split
    covering the most classes is used and a note says which classes are missing.
    """
    labels, speakers = np.asarray(labels, dtype=str), np.asarray(speakers, dtype=str)
    unique = np.unique(speakers)
    if len(unique) < 2:
        raise ValueError(f"{name}: few-shot curves need two or more speakers (found {len(unique)})")
    n_test = min(len(unique) - 1, max(1, int(round(test_share * len(unique)))))
    classes = set(labels)
    rng = np.random.default_rng(seed)
    best, best_cover = None, -1
    for _ in range(attempts):
        held = set(rng.permutation(unique)[:n_test])
        is_test = np.array([s in held for s in speakers])
        cover = len(set(labels[is_test]) & set(labels[~is_test]))
        if cover > best_cover:
            best, best_cover = is_test, cover
        if cover == len(classes):
            break
    note = None
    if best_cover < len(classes):
        missing = sorted(str(c) for c in classes - (set(labels[best]) & set(labels[~best])))
        note = (
            f"{name}: no speaker split of {len(unique)} speakers ({n_test} held out) has every "
            f"class in both pool and test; classes {missing} are on one side only "
            "(speakers and labels confounded)"
        )
    return TargetSplit(np.flatnonzero(~best), np.flatnonzero(best), note)


def draw_shots(
    labels: np.ndarray, pool: np.ndarray, shots: Sequence[int], seed: int
) -> dict[int, np.ndarray]:
    """Nested shots: ``k`` -> pool rows, the first ``k`` of each class' seeded permutation."""
    labels = np.asarray(labels, dtype=str)
    rng = np.random.default_rng(seed)
    order = {c: rng.permutation(pool[labels[pool] == c]) for c in sorted(set(labels[pool]))}
    return {
        k: np.sort(np.concatenate([rows[:k] for rows in order.values()]).astype(np.int64))
        for k in sorted(set(shots))
    }


# --- the grid -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Direction:
    feature_set: str
    classifier: str
    seed: int
    adaptation: str
    source: str
    target: str
    classes: tuple[str, ...]


@dataclass
class FewShotResult:
    """Tidy tables of a few-shot run: curves, predictions, the shots drawn, and notes."""

    curves: pd.DataFrame
    predictions: pd.DataFrame
    shots: pd.DataFrame
    notes: list[str]


def _draws(target: CorpusData, classes, plan: FewShotPlan, seed: int):
    """(draw, test rows, pool rows, {k: shot rows}, note) of one target, on ``classes``."""
    labels = target.labels
    speakers = target.frame["speaker"].to_numpy(str)
    keep = np.isin(labels, classes)
    for draw in range(plan.draws):
        split_seed = draw_seed(seed, target.name, draw)
        split = split_target(
            labels[keep], speakers[keep], plan.test_share, split_seed, name=target.name
        )
        index = np.flatnonzero(keep)
        pool, test = index[split.pool], index[split.test]
        shots = draw_shots(labels, pool, [*plan.shots, 0], split_seed + 1)
        # The guarantee the curves rest on: no test speaker ever lends a shot.
        if set(speakers[pool]) & set(speakers[test]):
            raise RuntimeError(f"{target.name}: pool and test speakers overlap (draw {draw})")
        yield draw, test, pool, shots, split.note


def _run_direction(
    job: _Direction, source: CorpusData, target: CorpusData, plan: FewShotPlan
) -> tuple[list[dict], list[pd.DataFrame], list[pd.DataFrame], list[str]]:
    classes = list(job.classes)
    keep = np.flatnonzero(np.isin(source.labels, classes))
    source_x = source.features[job.feature_set][keep]
    source_y = source.labels[keep]
    source_groups = source.frame["speaker"].to_numpy(str)[keep]
    target_all = np.flatnonzero(np.isin(target.labels, classes))
    target_speakers = target.frame["speaker"].to_numpy(str)
    adapted_source, adapted_target = adapt_features(
        job.adaptation,
        source_x,
        target.features[job.feature_set][target_all],
        source_groups,
        target_speakers[target_all],
    )
    # Target features by corpus row (rows outside the classes are never used).
    target_x = np.zeros_like(target.features[job.feature_set], dtype=np.float64)
    target_x[target_all] = adapted_target
    estimator = make_classifier(job.classifier, job.seed)
    zero_shot = clone(estimator).fit(adapted_source, source_y)
    rows, predictions, shot_rows, notes = [], [], [], []

    def record(strategy, shots, draw, test, y_pred, n_shots, n_train):
        y_true = target.labels[test]
        # UAR over the classes the held-out speakers have (a confounded split may lack one).
        present = sorted(set(y_true))
        rows.append(
            {
                "feature_set": job.feature_set, "classifier": job.classifier,
                "adaptation": job.adaptation, "source": job.source, "target": job.target,
                "strategy": strategy, "shots": shots, "draw": draw, "seed": job.seed,
                "shot_weight": plan.shot_weight,
                **score(y_true, np.asarray(y_pred), present),
                "n_shots": int(n_shots), "n_train": int(n_train), "n_test": len(test),
                "n_test_speakers": len(set(target_speakers[test])), "classes": "|".join(present),
            }
        )  # fmt: skip
        frame = target.frame.iloc[test]
        predictions.append(
            pd.DataFrame(
                {
                    "feature_set": job.feature_set,
                    "classifier": job.classifier,
                    "adaptation": job.adaptation,
                    "source": job.source,
                    "target": job.target,
                    "strategy": strategy,
                    "shots": shots,
                    "seed": job.seed,
                    "fold": draw,
                    "utterance": frame["utterance"].to_numpy(),
                    "speaker": frame["speaker"].to_numpy(),
                    "y_true": y_true,
                    "y_pred": np.asarray(y_pred),
                }
            )  # fmt: skip
        )

    for draw, test, pool, shots, note in _draws(target, classes, plan, job.seed):
        if note:
            notes.append(note)
        x_test = target_x[test]
        record("zero-shot", 0, draw, test, zero_shot.predict(x_test), 0, len(source_y))
        ceiling = clone(estimator).fit(target_x[pool], target.labels[pool])
        record("ceiling", -1, draw, test, ceiling.predict(x_test), len(pool), len(pool))
        for k in sorted(set(plan.shots) - {0}):
            chosen = shots[k]
            shot_rows.append(
                pd.DataFrame(
                    {
                        "target": job.target,
                        "seed": job.seed,
                        "draw": draw,
                        "shots": k,
                        "utterance": target.frame["utterance"].to_numpy()[chosen],
                        "speaker": target_speakers[chosen],
                        "label": target.labels[chosen],
                    }
                )  # fmt: skip
            )
            if len(set(target.labels[chosen])) < 2:
                continue  # one class cannot be learnt: no model, noted by the missing point
            x = np.vstack([adapted_source, target_x[chosen]])
            y = np.concatenate([source_y, target.labels[chosen]])
            domain = np.r_[np.zeros(len(source_y), int), np.ones(len(chosen), int)]
            for strategy in CURVE_STRATEGIES:
                model = make_strategy(strategy, estimator, plan.shot_weight).fit(
                    x, y, domain=domain
                )
                n_train = len(chosen) if strategy == "target-only" else len(y)
                record(strategy, k, draw, test, model.predict(x_test), len(chosen), n_train)
    return rows, predictions, shot_rows, notes


def plan_directions(
    corpora: Sequence[CorpusData],
    feature_sets: Sequence[str],
    classifiers: Sequence[str],
    seeds: Sequence[int],
    adaptations: Sequence[str],
    pooled: Sequence[tuple[CorpusData, Sequence[str]]] = (),
) -> list[_Direction]:
    """Every (configuration, source, target) of the few-shot grid, sharing two classes or more."""
    sources = [(c, [t.name for t in corpora if t.name != c.name]) for c in corpora]
    sources += [(source, list(targets)) for source, targets in pooled]
    by_name = {c.name: c for c in corpora}
    directions = []
    for feature_set in feature_sets:
        for classifier in classifiers:
            for adaptation in adaptations:
                for seed in seeds:
                    for source, targets in sources:
                        for name in targets:
                            shared = sorted(set(source.classes()) & set(by_name[name].classes()))
                            if len(shared) >= 2:
                                directions.append(
                                    _Direction(feature_set, classifier, seed, adaptation,
                                               source.name, name, tuple(shared))
                                )  # fmt: skip
    return directions


def run_few_shot(
    corpora: Sequence[CorpusData],
    feature_sets: Sequence[str],
    classifiers: Sequence[str],
    plan: FewShotPlan,
    *,
    seeds: Sequence[int] = (0,),
    adaptations: Sequence[str] = ("none",),
    pooled_sources: Sequence[Sequence[str]] = (),
    leave_one_corpus_out: bool = False,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> FewShotResult:
    """Few-shot curves of every transfer direction (and pooled source) of ``corpora``.

    ``adaptations`` other than those in :data:`SHOT_ADAPTATIONS` are left out
    with a note.  Deterministic: the same inputs give identical tables.
    """
    notes = []
    usable = [a for a in adaptations if a in SHOT_ADAPTATIONS]
    skipped = [a for a in adaptations if a not in SHOT_ADAPTATIONS]
    if skipped:
        notes.append(
            f"few-shot curves: adaptation(s) {', '.join(skipped)} are not combined with shots "
            f"(only the feature transforms {', '.join(SHOT_ADAPTATIONS[1:])} are)"
        )
    names = [c.name for c in corpora]
    groups = [list(g) for g in pooled_sources]
    if leave_one_corpus_out:
        groups += [[n for n in names if n != held_out] for held_out in names]
    by_name = {c.name: c for c in corpora}
    pooled = [
        (pool_corpora([by_name[n] for n in g]), [n for n in names if n not in g]) for g in groups
    ]
    for source, _ in pooled:
        by_name[source.name] = source
    directions = plan_directions(
        corpora, feature_sets, classifiers, seeds, usable or ["none"], pooled
    )
    runner = Parallel(n_jobs=parallel_jobs(jobs), return_as="generator")
    calls = (
        delayed(_run_direction)(d, by_name[d.source], by_name[d.target], plan) for d in directions
    )
    rows, predictions, shots = [], [], []
    if progress:
        progress(0, len(directions))
    for done, (r, p, s, n) in enumerate(runner(calls), 1):
        rows += r
        predictions += p
        shots += s
        notes += [x for x in n if x not in notes]
        if progress:
            progress(done, len(directions))
    keys = ["feature_set", "classifier", "adaptation", "source", "target", "strategy", "shots"]
    curves = pd.DataFrame(rows, columns=list(FEWSHOT_COLUMNS))
    curves = curves.sort_values([*keys, "seed", "draw"], kind="stable").reset_index(drop=True)
    prediction_frame = (
        pd.concat(predictions, ignore_index=True)
        if predictions
        else pd.DataFrame(columns=FEWSHOT_PREDICTION_COLUMNS)
    )
    shot_frame = (
        pd.concat(shots, ignore_index=True).drop_duplicates().reset_index(drop=True)
        if shots
        else pd.DataFrame(columns=["target", "seed", "draw", "shots", "utterance", "speaker"])
    )
    return FewShotResult(curves, prediction_frame, shot_frame, notes)


def write_few_shot(
    out, corpora, feature_sets, classifiers, plan: FewShotPlan, **options
) -> list[str]:
    """Run :func:`run_few_shot` and write its tables into the results folder ``out``; notes."""
    from pathlib import Path

    from paraser.results import write_few_shot_tables

    result = run_few_shot(corpora, feature_sets, classifiers, plan, **options)
    write_few_shot_tables(Path(out), result.curves, result.shots, result.predictions)
    return result.notes
