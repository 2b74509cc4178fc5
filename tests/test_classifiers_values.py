"""Classifier specs, the row-block SVM pipeline and nested tuning on small data
(experiments/classifiers.py).

Every built-in's parameters, the registry's errors, the row-block pipeline's scaler, landmarks,
kernel features and weights against the same steps done by hand, and the inner search against
its folds written out: a changed default, block, copy, fold count or key fails here (and
mutation testing of the module runs in seconds, see MUTATION.md).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from paraser.experiments.classifiers import (
    CLASSIFIERS,
    ClassifierSpec,
    SpeakerGroupedSearch,
    _Configured,
    _inner_uar,
    _is_factory,
    _Nystroem,
    _RowBlockPipeline,
    _svm_approx,
    chosen_parameters,
    class_scores,
    describe_classifiers,
    make_classifier,
    portable,
    register_classifier,
    resolve_classifier,
    tuned,
)


def _blobs(n: int = 300, seed: int = 0, features: int = 4):
    """Two noisy classes; offsets far from zero so scaling matters."""
    rng = np.random.default_rng(seed)
    y = np.array(["x", "y"] * (n // 2))
    x = rng.normal(0, 1, (n, features)) * [1.0, 3.0, 0.5, 2.0][:features]
    x += np.where(y == "y", 0.8, 0.0)[:, None] + [100.0, -50.0, 7.0, 0.0][:features]
    return x, y


# --- built-in specs ---------------------------------------------------------------------


def _params(estimator, *names):
    params = estimator.get_params(deep=False)
    return {name: params[name] for name in names}


def test_make_classifier_svm():
    model = make_classifier("svm", seed=3)
    assert type(model) is Pipeline
    assert [name for name, _ in model.steps] == ["scale", "classify"]
    assert isinstance(model.named_steps["scale"], StandardScaler)
    svm = model.named_steps["classify"]
    assert isinstance(svm, SVC)
    assert _params(svm, "kernel", "C", "gamma", "class_weight", "random_state") == {
        "kernel": "rbf", "C": 1.0, "gamma": "scale", "class_weight": "balanced",
        "random_state": 3,
    }  # fmt: skip


def test_make_classifier_default_seed_is_zero():
    assert make_classifier("svm").named_steps["classify"].random_state == 0


def test_make_classifier_random_forest():
    forest = make_classifier("rf", seed=4).named_steps["classify"]
    assert isinstance(forest, RandomForestClassifier)
    assert _params(forest, "n_estimators", "class_weight", "random_state", "n_jobs") == {
        "n_estimators": 300, "class_weight": "balanced", "random_state": 4, "n_jobs": 1,
    }  # fmt: skip


def test_make_classifier_mlp():
    mlp = make_classifier("mlp", seed=5).named_steps["classify"]
    assert isinstance(mlp, MLPClassifier)
    assert _params(
        mlp, "hidden_layer_sizes", "alpha", "max_iter", "early_stopping", "n_iter_no_change",
        "random_state",
    ) == {
        "hidden_layer_sizes": (128,), "alpha": 1e-3, "max_iter": 500, "early_stopping": True,
        "n_iter_no_change": 20, "random_state": 5,
    }  # fmt: skip


def test_make_classifier_svm_approx():
    model = make_classifier("svm-approx", seed=6)
    assert type(model) is _RowBlockPipeline
    assert [name for name, _ in model.steps] == ["scale", "classify"]
    inner = model.named_steps["classify"]
    assert [name for name, _ in inner.steps] == ["kernel", "svm"]
    kernel, svm = inner.named_steps["kernel"], inner.named_steps["svm"]
    assert type(kernel) is _Nystroem
    assert _params(kernel, "kernel", "n_components", "random_state") == {
        "kernel": "rbf", "n_components": 500, "random_state": 6,
    }  # fmt: skip
    assert isinstance(svm, LinearSVC)
    assert _params(svm, "C", "class_weight", "random_state") == {
        "C": 1.0, "class_weight": "balanced", "random_state": 6,
    }  # fmt: skip


def test_nystroem_with_fewer_samples_than_components_is_quiet():
    x = np.arange(12.0).reshape(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel = _Nystroem(n_components=10, random_state=0)
        assert kernel.fit(x) is kernel
    assert kernel.components_.shape == (4, 3)
    # Other warnings still pass: the filter names this message only.
    assert Nystroem(n_components=10, random_state=0).fit(x).components_.shape == (4, 3)


# --- the row-block pipeline -------------------------------------------------------------


def _landmark_rows(seed: int, n: int, k: int) -> np.ndarray:
    return np.sort(np.random.RandomState(seed).permutation(n)[:k])


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


def test_row_block_pipeline_scaler_landmarks_and_decisions_by_hand():
    x, y = _blobs(300)
    model = make_classifier("svm-approx", seed=2)
    model.set_params(classify__kernel__n_components=20)
    model.fit(x, y)
    scale = model.named_steps["scale"]
    # The scaler fitted over 3 blocks (128, 128, 44 rows) equals one fit on everything.
    np.testing.assert_allclose(scale.mean_, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scale.var_, x.var(axis=0), rtol=1e-9)
    assert scale.n_samples_seen_ == 300
    scaled = (x - x.mean(axis=0)) / x.std(axis=0)
    kernel, svm = (step for _, step in model.named_steps["classify"].steps)
    landmarks = scaled[_landmark_rows(2, 300, 20)]
    np.testing.assert_allclose(_sorted_rows(kernel.components_), _sorted_rows(landmarks), rtol=1e-9)
    features = kernel.transform(scaled)
    np.testing.assert_allclose(model.decision_function(x), svm.decision_function(features))
    np.testing.assert_array_equal(model.predict(x), svm.predict(features))
    # The SVM was fitted on those kernel features (same seed, same solution).
    reference = LinearSVC(C=1.0, class_weight="balanced", random_state=2).fit(features, y)
    np.testing.assert_allclose(svm.coef_, reference.coef_, rtol=1e-6, atol=1e-9)


def test_row_block_pipeline_never_scales_the_callers_rows_in_place():
    x, y = _blobs(300)
    original = x.copy()
    model = make_classifier("svm-approx", seed=0).set_params(classify__kernel__n_components=50)
    model.fit(x, y)
    model.predict(x)
    model.decision_function(x)
    np.testing.assert_array_equal(x, original)


def test_row_block_pipeline_refit_forgets_the_first_data():
    x, y = _blobs(300, seed=0)
    other, other_y = _blobs(200, seed=1)
    model = make_classifier("svm-approx", seed=0).fit(x, y)
    model.fit(other * 2, other_y)
    np.testing.assert_allclose(model.named_steps["scale"].mean_, (other * 2).mean(axis=0))
    assert model.named_steps["scale"].n_samples_seen_ == 200


def test_row_block_pipeline_routes_svm_sample_weights():
    x, y = _blobs(300)
    weights = np.where(np.arange(300) % 3 == 0, 5.0, 1.0)
    model = make_classifier("svm-approx", seed=1).fit(x, y, classify__svm__sample_weight=weights)
    scaled = (x - x.mean(axis=0)) / x.std(axis=0)
    kernel, svm = (step for _, step in model.named_steps["classify"].steps)
    features = kernel.transform(scaled)
    reference = LinearSVC(C=1.0, class_weight="balanced", random_state=1).fit(
        features, y, sample_weight=weights
    )
    np.testing.assert_allclose(svm.coef_, reference.coef_, rtol=1e-6, atol=1e-9)
    unweighted = make_classifier("svm-approx", seed=1).fit(x, y)
    assert not np.allclose(
        unweighted.named_steps["classify"].steps[1][1].coef_, svm.coef_, rtol=1e-6
    )


def test_row_block_pipeline_refuses_other_fit_parameters():
    x, y = _blobs(20)
    with pytest.raises(TypeError) as error:
        make_classifier("svm-approx").fit(
            x, y, classify__svm__sample_weight=np.ones(20), scale__sample_weight=np.ones(20)
        )
    assert str(error.value) == (
        "unsupported fit parameters for svm-approx: "
        "['classify__svm__sample_weight', 'scale__sample_weight']"
    )


def test_row_block_pipeline_score_is_weighted_accuracy():
    x, y = _blobs(300)
    model = make_classifier("svm-approx", seed=0).fit(x, y)
    correct = model.predict(x) == y
    assert model.score(x, y) == pytest.approx(correct.mean())
    weights = np.linspace(0.1, 3.0, 300)
    assert model.score(x, y, sample_weight=weights) == pytest.approx(
        (weights * correct).sum() / weights.sum()
    )
    assert correct.mean() < 1.0  # noisy classes: the weights matter


def test_row_block_pipeline_with_a_passthrough_scale():
    x, y = _blobs(40, features=2)
    x = x - x.mean(axis=0)
    model = _RowBlockPipeline([("scale", "passthrough"), ("classify", _svm_approx(0))]).set_params(
        classify__kernel__n_components=10
    )
    model.fit(x, y)
    kernel = model.named_steps["classify"].steps[0][1]
    np.testing.assert_allclose(
        _sorted_rows(kernel.components_), _sorted_rows(x[_landmark_rows(0, 40, 10)])
    )
    svm = model.named_steps["classify"].steps[1][1]
    np.testing.assert_allclose(
        model.decision_function(x), svm.decision_function(kernel.transform(x))
    )


class Halver(BaseEstimator):
    """A scale step without partial_fit: records its fits, divides by two."""

    def fit(self, X, y=None):
        self.fitted_rows_ = len(X)
        return self

    def transform(self, X):
        return np.asarray(X) / 2.0


def test_row_block_pipeline_with_a_scale_without_partial_fit():
    x, y = _blobs(300, features=2)
    x = x - x.mean(axis=0)
    model = _RowBlockPipeline([("scale", Halver()), ("classify", _svm_approx(0))]).set_params(
        classify__kernel__n_components=10
    )
    model.fit(x, y)
    assert model.named_steps["scale"].fitted_rows_ == 300
    kernel = model.named_steps["classify"].steps[0][1]
    np.testing.assert_allclose(
        _sorted_rows(kernel.components_), _sorted_rows(x[_landmark_rows(0, 300, 10)] / 2)
    )
    svm = model.named_steps["classify"].steps[1][1]
    np.testing.assert_allclose(
        model.decision_function(x), svm.decision_function(kernel.transform(x / 2))
    )


# --- the registry -----------------------------------------------------------------------


def test_configured_sets_seed_and_balanced_weights_on_a_clone():
    original = LogisticRegression(C=0.5)
    made = _Configured(original)(7)
    assert made is not original and original.random_state is None
    assert original.class_weight is None
    assert _params(made, "C", "random_state", "class_weight") == {
        "C": 0.5, "random_state": 7, "class_weight": "balanced",
    }  # fmt: skip
    # A class weighting of the user's own is kept; an estimator without the parameters works.
    weighted = _Configured(LogisticRegression(class_weight={"x": 2.0}))(1)
    assert weighted.class_weight == {"x": 2.0}
    assert _Configured(KNeighborsClassifier(3))(1).n_neighbors == 3


def test_register_an_estimator_and_a_factory():
    try:
        spec = register_classifier("logreg-test", LogisticRegression(), "", {"C": [1.0]})
        assert CLASSIFIERS["logreg-test"] is spec
        assert spec.name == "logreg-test" and spec.param_grid == {"C": [1.0]}
        assert spec.description == "LogisticRegression()"
        assert isinstance(spec.factory, _Configured)
        model = make_classifier("logreg-test", seed=9)
        assert type(model) is Pipeline
        assert model.named_steps["classify"].random_state == 9
        assert model.named_steps["classify"].class_weight == "balanced"

        def factory(seed):
            return LogisticRegression(random_state=seed + 100)

        spec = register_classifier("factory-test", factory, "my factory")
        assert spec.factory is factory and spec.description == "my factory"
        assert spec.param_grid is None
        assert make_classifier("factory-test", 1).named_steps["classify"].random_state == 101
    finally:
        CLASSIFIERS.pop("logreg-test", None)
        CLASSIFIERS.pop("factory-test", None)


def test_is_factory():
    assert _is_factory(lambda seed: None)
    assert not _is_factory(LogisticRegression())
    assert not _is_factory(LogisticRegression)  # a class has fit
    assert not _is_factory("svm")


def test_resolve_names_specs_and_estimators():
    assert resolve_classifier("rf") == CLASSIFIERS["rf"]
    spec = ClassifierSpec(lambda seed: None, "mine")
    assert resolve_classifier(spec) is spec
    estimator = KNeighborsClassifier(3)
    resolved = resolve_classifier(estimator)
    assert resolved.name == "kneighborsclassifier"
    assert resolved.description == "KNeighborsClassifier(n_neighbors=3)"
    assert resolved.param_grid is None
    assert isinstance(resolved.factory, _Configured) and resolved.factory.estimator is estimator


def test_resolve_a_name_renames_the_spec():
    try:
        CLASSIFIERS["alias-test"] = CLASSIFIERS["svm"]
        assert resolve_classifier("alias-test").name == "alias-test"
        assert resolve_classifier("alias-test").factory is CLASSIFIERS["svm"].factory
    finally:
        CLASSIFIERS.pop("alias-test", None)


def test_resolve_errors():
    with pytest.raises(ValueError) as error:
        resolve_classifier("knn")
    assert str(error.value) == (
        "unknown classifier 'knn': use one of svm, rf, mlp, svm-approx, or register one "
        "(paraser.experiments.classifiers.register_classifier)"
    )
    assert error.value.__cause__ is None and error.value.__suppress_context__
    with pytest.raises(ValueError) as error:
        resolve_classifier(3)
    assert str(error.value) == "not a classifier: 3 (a name, a spec or an estimator)"

    class FitOnly:
        def fit(self, X, y):
            return self

    with pytest.raises(ValueError, match="not a classifier"):
        resolve_classifier(FitOnly())


def test_portable():
    assert portable(resolve_classifier("svm")) == "svm"
    assert portable(resolve_classifier("svm-approx")) == "svm-approx"
    changed = resolve_classifier("svm")._replace(description="changed")
    assert portable(changed) is changed
    user = resolve_classifier(LogisticRegression())
    assert portable(user) is user


def test_describe_classifiers():
    assert describe_classifiers(["svm", KNeighborsClassifier(2)]) == {
        "svm": "SVM, RBF kernel, C=1, gamma='scale', class-weighted",
        "kneighborsclassifier": "KNeighborsClassifier(n_neighbors=2)",
    }


# --- nested tuning ----------------------------------------------------------------------


def _pipeline():
    return Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression())])


def _tuning_data():
    rng = np.random.default_rng(3)
    y = np.array(["x", "y", "z"] * 12)
    x = rng.normal(0, 1, (36, 3)) + np.eye(3)[np.searchsorted(["x", "y", "z"], y)] * 1.2
    groups = np.array([f"s{i % 6}" for i in range(36)])
    return x, y, groups


def _search_by_hand(x, y, groups, grid, cv):
    """Mean inner UAR per C over the given folds (each fold: scale, fit, score)."""
    scores = {}
    for c in grid:
        uars = []
        for train, test in cv.split(x, y, groups):
            model = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression(C=c))])
            model.fit(x[train], y[train])
            uars.append(balanced_accuracy_score(y[test], model.predict(x[test])))
        scores[c] = float(np.mean(uars))
    return scores


def test_search_with_speakers_scores_speaker_grouped_folds():
    x, y, groups = _tuning_data()
    grid = [0.001, 0.1, 10.0]
    search = SpeakerGroupedSearch(_pipeline(), {"C": grid}, seed=4).fit(x, y, groups=groups)
    assert search.inner_protocol_ == "speaker-3fold"
    cv = StratifiedGroupKFold(3, shuffle=True, random_state=4)
    scores = _search_by_hand(x, y, groups, grid, cv)
    best = max(grid, key=lambda c: scores[c])
    assert search.best_params_ == {"C": best}
    assert search.best_score_ == pytest.approx(scores[best])
    assert type(search.best_score_) is float
    assert list(search.classes_) == ["x", "y", "z"]
    # Refitted on all rows with the best C.
    refit = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression(C=best))])
    refit.fit(x, y)
    np.testing.assert_allclose(search.predict_proba(x), refit.predict_proba(x), rtol=1e-6)
    np.testing.assert_array_equal(search.predict(x), refit.predict(x))
    np.testing.assert_allclose(search.decision_function(x), refit.decision_function(x), rtol=1e-6)


def _filters_as_text() -> list[tuple]:
    return [tuple(getattr(part, "pattern", part) for part in entry) for entry in warnings.filters]


class _FiltersSeenByFit(BaseEstimator, ClassifierMixin):
    """A classifier that records the warning filters in force while it is fitted."""

    seen: list = []

    def __init__(self, unused: int = 0):
        self.unused = unused

    def fit(self, X, y):
        # As text: scikit-learn's own parallel helper re-creates the filters for each task.
        _FiltersSeenByFit.seen.append(_filters_as_text())
        self.classes_, self.first_ = np.unique(y), np.asarray(y)[0]
        return self

    def predict(self, X):
        return np.full(len(X), self.first_)


def test_search_leaves_the_process_warning_filters_alone():
    # Grids fit in threads; warnings.catch_warnings in a fit would race on the filter list
    # shared by the whole process (a restore can leave another thread's filter behind).
    x, y, groups = _tuning_data()
    _FiltersSeenByFit.seen = []
    before = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and the search itself must not warn
        outer = _filters_as_text()
        pipeline = Pipeline([("classify", _FiltersSeenByFit())])
        SpeakerGroupedSearch(pipeline, {"unused": [0, 1]}, folds=3).fit(x, y, groups=groups)
        assert len(_FiltersSeenByFit.seen) == 2 * 3 + 1  # every inner fit and the refit
        assert all(filters == outer for filters in _FiltersSeenByFit.seen)
    assert warnings.filters == before


def test_inner_scorer_is_balanced_accuracy_bit_for_bit():
    rng = np.random.default_rng(0)
    for case in range(40):
        truth = rng.choice(["a", "b", "c", "d"], size=int(rng.integers(3, 30)))
        predicted = rng.choice(["a", "b", "c", "d", "e"], size=len(truth))
        fixed = _Predicts(predicted)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn warns when predicted has extra classes
            expected = balanced_accuracy_score(truth, predicted)
        assert _inner_uar(fixed, np.zeros((len(truth), 1)), truth) == expected, case


class _Predicts:
    def __init__(self, predicted):
        self.predicted = predicted

    def predict(self, X):
        return self.predicted


def test_search_defaults():
    search = SpeakerGroupedSearch(_pipeline(), {"C": [1.0]})
    assert search.folds == 3 and search.seed == 0


def test_search_without_groups_uses_stratified_folds():
    x, y, _ = _tuning_data()
    grid = [0.001, 0.1, 10.0]
    search = SpeakerGroupedSearch(_pipeline(), {"C": grid}, seed=2).fit(x, y)
    assert search.inner_protocol_ == "stratified-3fold (too few speakers)"
    scores = _search_by_hand(x, y, None, grid, StratifiedKFold(3, shuffle=True, random_state=2))
    best = max(grid, key=lambda c: scores[c])
    assert search.best_score_ == pytest.approx(scores[best])


def test_search_with_exactly_as_many_speakers_as_folds_groups_them():
    x, y, _ = _tuning_data()
    groups = np.array([f"s{i % 3}" for i in range(36)])
    search = SpeakerGroupedSearch(_pipeline(), {"C": [1.0]}, folds=3).fit(x, y, groups=groups)
    assert search.inner_protocol_ == "speaker-3fold"
    groups = np.array([f"s{i % 2}" for i in range(36)])
    search = SpeakerGroupedSearch(_pipeline(), {"C": [1.0]}, folds=3).fit(x, y, groups=groups)
    assert search.inner_protocol_ == "stratified-3fold (too few speakers)"


def test_search_folds_shrink_to_the_smallest_class_but_not_below_two():
    x, y, groups = _tuning_data()
    not_z = np.flatnonzero(y != "z")
    few = np.r_[not_z, [2, 5]]  # x and y keep 12 rows each, z only 2
    y_few = y[few]
    smallest = int(np.unique(y_few, return_counts=True)[1].min())
    assert smallest == 2
    search = SpeakerGroupedSearch(_pipeline(), {"C": [1.0]}, folds=5).fit(x[few], y_few)
    assert search.inner_protocol_ == "stratified-2fold (too few speakers)"
    search = SpeakerGroupedSearch(_pipeline(), {"C": [1.0]}, folds=4).fit(x, y)
    assert search.inner_protocol_ == "stratified-4fold (too few speakers)"
    one = np.r_[not_z, [2]]  # z once: max(2, min(3, 1)) = 2 folds
    search = SpeakerGroupedSearch(_pipeline(), {"C": [1.0]}, folds=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(x[one], y[one])
    assert search.inner_protocol_ == "stratified-2fold (too few speakers)"


def test_search_quietly_scores_inner_folds_missing_a_class():
    x, y, _ = _tuning_data()
    rows = np.r_[np.flatnonzero(y != "z"), [2, 5]]  # z has 2 rows: an inner fold may lack it
    groups = np.array([f"s{i % 4}" for i in range(len(rows))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = SpeakerGroupedSearch(_pipeline(), {"C": [0.1, 1.0]}, folds=2).fit(
            x[rows], y[rows], groups=groups
        )
    assert np.isfinite(search.best_score_)


class NoScores(BaseEstimator, ClassifierMixin):
    """Predicts the first class; neither probabilities nor decision scores."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_search_offers_only_the_scores_its_model_has():
    x, y, groups = _tuning_data()
    model = Pipeline([("scale", StandardScaler()), ("classify", NoScores())])
    search = SpeakerGroupedSearch(model, {}, seed=0).fit(x, y, groups=groups)
    assert not hasattr(search, "predict_proba") and not hasattr(search, "decision_function")
    svc = Pipeline([("scale", StandardScaler()), ("classify", SVC())])
    search = SpeakerGroupedSearch(svc, {"C": [1.0]}).fit(x, y, groups=groups)
    assert hasattr(search, "decision_function") and not hasattr(search, "predict_proba")


def test_tuned_wraps_the_model_in_its_grid():
    model = make_classifier("svm")
    search = tuned(model, "svm", seed=5)
    assert search.estimator is model and search.seed == 5 and search.folds == 3
    assert search.param_grid == {"C": [0.1, 1.0, 10.0], "gamma": ["scale", 1e-3, 1e-2]}
    assert tuned(model, "svm").seed == 0
    with pytest.raises(ValueError) as error:
        tuned(model, KNeighborsClassifier())
    assert str(error.value) == (
        "classifier 'kneighborsclassifier' has no parameter grid to tune; register it with "
        "param_grid={...} (register_classifier)"
    )


def test_chosen_parameters():
    assert chosen_parameters(LogisticRegression()) == ""

    class Tuned:
        best_params_ = {"hidden_layer_sizes": (64,), "alpha": 0.01}

    assert json.loads(chosen_parameters(Tuned())) == {"hidden_layer_sizes": [64], "alpha": 0.01}
    assert chosen_parameters(Tuned()) == '{"hidden_layer_sizes": [64], "alpha": 0.01}'


# --- class scores -----------------------------------------------------------------------


def test_class_scores_probability_decision_and_none():
    x, y, _ = _tuning_data()
    logistic = LogisticRegression().fit(x, y)
    scores, kind = class_scores(logistic, x[:3])
    assert kind == "probability"
    np.testing.assert_allclose(scores, logistic.predict_proba(x[:3]))
    not_z = y != "z"
    binary = SVC().fit(x[not_z], y[not_z])  # classes x and y
    scores, kind = class_scores(binary, x[:3])
    d = binary.decision_function(x[:3])
    assert kind == "decision"
    np.testing.assert_allclose(scores, np.column_stack([-d, d]))
    multi = SVC().fit(x, y)
    scores, kind = class_scores(multi, x[:3])
    assert kind == "decision" and scores.shape == (3, 3)
    np.testing.assert_allclose(scores, multi.decision_function(x[:3]))
    scores, kind = class_scores(NoScores().fit(x, y), x[:4])
    assert kind == "none" and scores.shape == (4, 3) and np.isnan(scores).all()


# --- the cases mutation testing showed untested ------------------------------------------


class BlockRecordingScaler(StandardScaler):
    """A StandardScaler that records how many rows each fit and partial_fit saw."""

    def fit(self, X, y=None, sample_weight=None):
        self.calls_ = [("fit", len(X))]
        return super().fit(X, y, sample_weight)

    def partial_fit(self, X, y=None, sample_weight=None):
        self.calls_ = getattr(self, "calls_", []) + [("partial_fit", len(X))]
        return super().partial_fit(X, y, sample_weight)


def test_row_block_pipeline_fits_the_scaler_in_blocks_of_128_rows():
    x, y = _blobs(300)
    model = _RowBlockPipeline([("scale", BlockRecordingScaler()), ("classify", _svm_approx(0))])
    model.fit(x, y)
    # fit on the first block, partial_fit on the rest (StandardScaler.fit itself calls
    # partial_fit once on the same block).
    calls = model.named_steps["scale"].calls_
    assert calls[0] == ("fit", 128)
    assert [n for kind, n in calls[1:] if kind == "partial_fit"][-2:] == [128, 44]
    assert max(n for _, n in calls) == 128


def test_register_without_a_description_uses_the_estimators_repr():
    try:
        spec = register_classifier("knn-test", KNeighborsClassifier(4))
        assert spec.description == "KNeighborsClassifier(n_neighbors=4)"
        assert spec.param_grid is None
    finally:
        CLASSIFIERS.pop("knn-test", None)


class RuntimeWarner(BaseEstimator, ClassifierMixin):
    """Warns with a RuntimeWarning (not a UserWarning) whenever it is fitted."""

    def fit(self, X, y):
        warnings.warn("from the classifier", RuntimeWarning, stacklevel=1)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_search_silences_user_warnings_only():
    x, y, groups = _tuning_data()
    model = Pipeline([("scale", StandardScaler()), ("classify", RuntimeWarner())])
    with pytest.warns(RuntimeWarning, match="from the classifier"):
        SpeakerGroupedSearch(model, {}).fit(x, y, groups=groups)


def test_search_scores_by_uar_on_imbalanced_classes():
    rng = np.random.default_rng(5)
    y = np.array(["x"] * 30 + ["y"] * 9 + ["z"] * 6)
    x = rng.normal(0, 1, (45, 3)) + np.eye(3)[np.searchsorted(["x", "y", "z"], y)] * 1.0
    groups = np.array([f"s{i % 5}" for i in range(45)])
    grid = [0.001, 0.1, 10.0]
    search = SpeakerGroupedSearch(_pipeline(), {"C": grid}, seed=1).fit(x, y, groups=groups)
    cv = StratifiedGroupKFold(3, shuffle=True, random_state=1)
    scores = _search_by_hand(x, y, groups, grid, cv)
    best = max(grid, key=lambda c: scores[c])
    assert search.best_score_ == pytest.approx(scores[best])
    # Accuracy would differ here: the majority class is two thirds of the rows.
    assert search.best_score_ < 0.6


class IntegerScores(BaseEstimator, ClassifierMixin):
    """Integer probabilities or integer decision scores (a user's model)."""

    def __init__(self, kind: str = "proba"):
        self.kind = kind

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def __getattr__(self, name):
        if name == "predict_proba" and self.kind == "proba":
            return lambda X: [[1, 0]] * len(X)
        if name == "decision_function" and self.kind == "decision":
            return lambda X: [1, -2, 3][: len(X)]
        raise AttributeError(name)


def test_class_scores_are_floats_whatever_the_model_returns():
    x = np.zeros((3, 2))
    y = np.array(["a", "b", "a"])
    scores, kind = class_scores(IntegerScores("proba").fit(x, y), x)
    assert kind == "probability" and scores.dtype == np.float64
    np.testing.assert_array_equal(scores, [[1.0, 0.0]] * 3)
    scores, kind = class_scores(IntegerScores("decision").fit(x, y), x)
    assert kind == "decision" and scores.dtype == np.float64
    np.testing.assert_array_equal(scores, [[-1.0, 1.0], [2.0, -2.0], [-3.0, 3.0]])
