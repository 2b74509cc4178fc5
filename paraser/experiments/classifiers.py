"""Classifiers, each a scikit-learn ``Pipeline`` that carries its own scaling.

A fitted pipeline holds the standardisation fitted on its training data, so a
model applied to another corpus meets features scaled the way it was trained
on (the classic model-reuse bug is a model that travels without its scaler).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.kernel_approximation import Nystroem
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if


def _svm(seed: int) -> object:
    return SVC(kernel="rbf", C=1.0, gamma="scale", class_weight="balanced", random_state=seed)


def _random_forest(seed: int) -> object:
    return RandomForestClassifier(
        n_estimators=300, class_weight="balanced", random_state=seed, n_jobs=1
    )


def _mlp(seed: int) -> object:
    return MLPClassifier(
        hidden_layer_sizes=(128,),
        alpha=1e-3,
        max_iter=500,
        early_stopping=True,
        n_iter_no_change=20,
        random_state=seed,
    )


class _Nystroem(Nystroem):
    """Nystroem that quietly uses every sample as a landmark when there are fewer than asked.

    scikit-learn does the same, with a warning. Silencing it would take
    ``warnings.catch_warnings``, which saves and restores the process-wide filter list
    and is not thread-safe: grids fit in threads side by side (``parallel.run_tasks``)
    and one fit's restore could leave another's filter in place for the whole process.
    """

    def fit(self, X, y=None):
        asked = self.n_components
        self.n_components = min(asked, len(X))  # the landmarks scikit-learn would draw
        try:
            return super().fit(X, y)
        finally:
            self.n_components = asked


def _svm_approx(seed: int) -> object:
    # SVC's cost grows with the square of the training set (hours at 10k x 6373);
    # a 500-landmark Nystroem map + linear SVM is linear in it.  On standardised
    # features gamma=1/n_features equals SVC's gamma='scale'.
    return Pipeline(
        [
            ("kernel", _Nystroem(kernel="rbf", n_components=500, random_state=seed)),
            ("svm", LinearSVC(C=1.0, class_weight="balanced", random_state=seed)),
        ]
    )


class _RowBlockPipeline(Pipeline):
    """``scale -> (Nystroem -> linear SVM)`` that never holds a scaled copy of the data.

    The plain pipeline standardises all of ``X`` at once: a float32 copy plus
    scikit-learn's float64 variance temporary, four times the data for 10,000 x
    6,373 ComParE rows.  Both first steps act row by row once fitted, so here
    the scaler is fitted and the kernel map applied in blocks of rows, and only
    the small kernel features (rows x 500) exist in full.  The scaler and the
    kernel map are the same fitted objects a plain pipeline would hold (the
    landmark rows are drawn from the same seeded permutation), so the model
    still travels with its preprocessing.
    """

    block_rows = 128

    def _blocks(self, n: int):
        return (slice(start, start + self.block_rows) for start in range(0, n, self.block_rows))

    def _scaled(self, rows: np.ndarray, copy: bool = True) -> np.ndarray:
        scale = self.named_steps["scale"]
        # A wrapper that standardises by itself (few-shot feature augmentation) passes it through.
        if scale is None or isinstance(scale, str):
            return rows
        if isinstance(scale, StandardScaler):
            return scale.transform(rows, copy=copy)
        return scale.transform(rows)

    def _kernel_features(self, X) -> np.ndarray:
        kernel = self.named_steps["classify"].steps[0][1]
        # Filled in place, in the float64 the linear SVM needs: no stacked or converted copy.
        features = np.empty((len(X), kernel.components_.shape[0]))
        for rows in self._blocks(len(X)):
            features[rows] = kernel.transform(self._scaled(X[rows]))
        return features

    def fit(self, X, y=None, **params):
        scale = self.named_steps["scale"]
        kernel, svm = (step for _, step in self.named_steps["classify"].steps)
        svm_params = {
            key.removeprefix("classify__svm__"): value
            for key, value in params.items()
            if key.startswith("classify__svm__")
        }
        if len(svm_params) != len(params):
            raise TypeError(f"unsupported fit parameters for svm-approx: {sorted(params)}")
        X = np.asarray(X)
        if hasattr(scale, "partial_fit"):
            for index, rows in enumerate(self._blocks(len(X))):
                # partial_fit after a first fit: the same running mean and variance,
                # with float64 temporaries the size of one block.
                (scale.fit if index == 0 else scale.partial_fit)(X[rows])
        elif hasattr(scale, "fit"):
            scale.fit(X)
        order = check_random_state(kernel.random_state).permutation(len(X))
        landmarks = X[np.sort(order[: kernel.n_components])]  # a copy: safe to scale in place
        kernel.fit(self._scaled(landmarks, copy=False))
        del landmarks
        svm.fit(self._kernel_features(X), y, **svm_params)
        return self

    def predict(self, X, **params):
        svm = self.named_steps["classify"].steps[-1][1]
        return svm.predict(self._kernel_features(np.asarray(X)))

    def decision_function(self, X, **params):
        svm = self.named_steps["classify"].steps[-1][1]
        return svm.decision_function(self._kernel_features(np.asarray(X)))

    def score(self, X, y, sample_weight=None, **params):
        return ClassifierMixin.score(self, X, y, sample_weight)


class ClassifierSpec(NamedTuple):
    """A classifier the grid can build: ``factory(seed)`` returns a fresh, unfitted estimator.

    ``param_grid`` is what ``--tune`` searches, keyed by the estimator's own
    parameters (``C``, ``max_depth``; ``svm__C`` inside a nested pipeline).
    """

    factory: Callable[[int], object]
    description: str
    param_grid: dict[str, list] | None = None
    name: str = ""


class _Configured:
    """Factory for a user's estimator object: a clone per call, seeded and class-weighted.

    A plain class (not a closure), so a spec made from it travels to worker processes.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def __call__(self, seed: int) -> object:
        estimator = clone(self.estimator)
        params = estimator.get_params(deep=False)
        if "random_state" in params:
            estimator.set_params(random_state=seed)
        # Corpora are imbalanced: weight classes wherever the classifier can.
        if "class_weight" in params and params["class_weight"] is None:
            estimator.set_params(class_weight="balanced")
        return estimator


#: Registered classifiers: name -> spec (factory(seed), description, tuning grid).
CLASSIFIERS: dict[str, ClassifierSpec] = {
    "svm": ClassifierSpec(
        _svm,
        "SVM, RBF kernel, C=1, gamma='scale', class-weighted",
        {"C": [0.1, 1.0, 10.0], "gamma": ["scale", 1e-3, 1e-2]},
        "svm",
    ),
    "rf": ClassifierSpec(
        _random_forest,
        "random forest, 300 trees, class-weighted",
        {"max_depth": [None, 10], "max_features": ["sqrt", 0.3]},
        "rf",
    ),
    "mlp": ClassifierSpec(
        _mlp,
        "MLP, one hidden layer of 128, early stopping",
        {"hidden_layer_sizes": [(64,), (128,)], "alpha": [1e-4, 1e-2, 1.0]},
        "mlp",
    ),
    "svm-approx": ClassifierSpec(
        _svm_approx,
        "approximate RBF SVM for large corpora: Nystroem (500 components, gamma=1/n_features) "
        "+ linear SVM, C=1, class-weighted",
        {"svm__C": [0.1, 1.0, 10.0]},
        "svm-approx",
    ),
}
_BUILTIN = frozenset(CLASSIFIERS)

ClassifierLike = str | ClassifierSpec | BaseEstimator


def register_classifier(
    name: str,
    estimator,
    description: str = "",
    param_grid: dict[str, list] | None = None,
) -> ClassifierSpec:
    """Register a classifier under ``name``: an estimator object or a ``factory(seed)``.

    An estimator object is cloned for every training, with ``random_state`` set
    to the seed and ``class_weight='balanced'`` where it has those parameters;
    either way it runs behind the same fitted ``StandardScaler``.
    """
    factory = estimator if _is_factory(estimator) else _Configured(estimator)
    spec = ClassifierSpec(factory, description or repr(estimator), param_grid, name)
    CLASSIFIERS[name] = spec
    return spec


def _is_factory(obj) -> bool:
    return callable(obj) and not hasattr(obj, "fit")


def resolve_classifier(classifier: ClassifierLike) -> ClassifierSpec:
    """The spec of a registered name, a spec, or an estimator object (named after its class)."""
    if isinstance(classifier, ClassifierSpec):
        return classifier
    if isinstance(classifier, str):
        try:
            return CLASSIFIERS[classifier]._replace(name=classifier)
        except KeyError:
            raise ValueError(
                f"unknown classifier '{classifier}': use one of {', '.join(CLASSIFIERS)}, "
                "or register one (paraser.experiments.classifiers.register_classifier)"
            ) from None
    if hasattr(classifier, "fit") and hasattr(classifier, "get_params"):
        return ClassifierSpec(
            _Configured(classifier), repr(classifier), None, type(classifier).__name__.lower()
        )
    raise ValueError(f"not a classifier: {classifier!r} (a name, a spec or an estimator)")


def portable(spec: ClassifierSpec) -> str | ClassifierSpec:
    """What a grid job carries: a built-in's name, else the whole spec.

    Worker processes import this module afresh, so a user's registration exists
    only in the process that made it; the spec itself travels.
    """
    return spec.name if spec.name in _BUILTIN and CLASSIFIERS[spec.name] == spec else spec


def describe_classifiers(classifiers: Sequence[ClassifierLike]) -> dict[str, str]:
    """The description of each classifier (for config.json)."""
    specs = [resolve_classifier(c) for c in classifiers]
    return {spec.name: spec.description for spec in specs}


def make_classifier(classifier: ClassifierLike, seed: int = 0) -> Pipeline:
    """A fresh, unfitted ``StandardScaler -> classifier`` pipeline."""
    spec = resolve_classifier(classifier)
    steps = [("scale", StandardScaler()), ("classify", spec.factory(seed))]
    # svm-approx is built for corpora too large for SVC: keep its memory linear too.
    lean = spec.factory is _svm_approx
    return (_RowBlockPipeline if lean else Pipeline)(steps)


def _inner_uar(estimator, X, y) -> float:
    """scikit-learn's ``balanced_accuracy`` scorer, bit for bit, without its warning.

    An inner fold can lack a class that the model predicts; scikit-learn warns and
    averages the recalls of the classes the fold holds, as this does (the warning
    filter it would need is not thread-safe; see :class:`_Nystroem`).
    """
    truth, predicted = np.asarray(y), np.asarray(estimator.predict(X))
    return float(
        np.mean([np.mean(predicted[truth == label] == label) for label in np.unique(truth)])
    )


class SpeakerGroupedSearch(BaseEstimator, ClassifierMixin):
    """Nested hyperparameter search inside one training set, speaker-grouped.

    ``fit(X, y, groups=speakers)`` runs a grid search over ``param_grid`` (keys
    of the pipeline's ``classify`` step) with inner folds that keep each
    speaker on one side (stratified group k-fold, scored by UAR), then refits
    the best setting on all of ``X``.  It only ever sees the rows it is given:
    the grid hands it one training fold or one source, never a test fold or a
    target.  Without enough speakers for ``folds`` inner folds it falls back to
    stratified k-fold and says so in ``inner_protocol_``.
    """

    def __init__(self, estimator, param_grid: dict[str, list], folds: int = 3, seed: int = 0):
        self.estimator = estimator
        self.param_grid = param_grid
        self.folds = folds
        self.seed = seed

    def fit(self, X, y, groups=None):
        y = np.asarray(y)
        grid = {f"classify__{key}": values for key, values in self.param_grid.items()}
        smallest = int(np.unique(y, return_counts=True)[1].min())
        folds = max(2, min(self.folds, smallest))
        if groups is not None and len(set(groups)) >= folds:
            cv = StratifiedGroupKFold(folds, shuffle=True, random_state=self.seed)
            self.inner_protocol_ = f"speaker-{folds}fold"
        else:
            cv, groups = StratifiedKFold(folds, shuffle=True, random_state=self.seed), None
            self.inner_protocol_ = f"stratified-{folds}fold (too few speakers)"
        search = GridSearchCV(
            self.estimator, grid, scoring=_inner_uar, cv=cv, refit=True,
            n_jobs=1, error_score=np.nan,
        ).fit(X, y, groups=groups)  # fmt: skip
        self.best_estimator_ = search.best_estimator_
        self.best_params_ = {
            k.removeprefix("classify__"): v for k, v in search.best_params_.items()
        }
        self.best_score_ = float(search.best_score_)
        self.classes_ = self.best_estimator_.classes_
        return self

    def predict(self, X):
        return self.best_estimator_.predict(X)

    def _has(attribute):  # noqa: N805 - a decorator factory used in the class body
        return lambda self: hasattr(self.best_estimator_, attribute)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X):
        return self.best_estimator_.predict_proba(X)

    @available_if(_has("decision_function"))
    def decision_function(self, X):
        return self.best_estimator_.decision_function(X)


def tuned(model: Pipeline, classifier: ClassifierLike, seed: int = 0) -> SpeakerGroupedSearch:
    """``model`` inside a :class:`SpeakerGroupedSearch` over its classifier's grid."""
    spec = resolve_classifier(classifier)
    if not spec.param_grid:
        raise ValueError(
            f"classifier '{spec.name}' has no parameter grid to tune; register it with "
            "param_grid={...} (register_classifier)"
        )
    return SpeakerGroupedSearch(model, spec.param_grid, seed=seed)


def chosen_parameters(model) -> str:
    """The tuned parameters of a fitted model as JSON ('' when it was not tuned)."""
    params = getattr(model, "best_params_", None)
    if params is None:
        return ""
    return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in params.items()})


def class_scores(model, x: np.ndarray) -> tuple[np.ndarray, str]:
    """Per-class scores of a fitted classifier, columns in ``model.classes_`` order.

    Probabilities where the classifier has them, else decision scores (a binary
    decision function becomes ``[-d, d]``); ``'none'`` and NaNs when it has neither.
    """
    classes = np.asarray(model.classes_)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x), dtype=float), "probability"
    if hasattr(model, "decision_function"):
        scores = np.asarray(model.decision_function(x), dtype=float)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        return scores, "decision"
    return np.full((len(x), len(classes)), np.nan), "none"
