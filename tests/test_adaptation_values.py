"""Unsupervised adaptation on hand-worked numbers (experiments/adaptation.py).

Covariances, matrix powers, CORAL, prior EM steps and density-ratio weights on a few rows,
checked against the formulas written out here (scipy's ``sqrtm`` for matrix roots), and a
spy classifier that records what each method fits and predicts on: a changed ridge, clip,
power, step or routing fails here (and mutation testing of the module runs in seconds, see
MUTATION.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import sqrtm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from paraser.experiments.adaptation import (
    TransductiveClassifier,
    _covariance,
    _fit_with_weights,
    _matrix_power,
    coral,
    em_priors,
    importance_weights,
)


class Spy(BaseEstimator, ClassifierMixin):
    """Records the rows, labels and weights it is fitted on and the rows it predicts."""

    def fit(self, X, y, sample_weight=None):
        self.fit_x_ = np.array(X, copy=True)
        self.fit_y_ = np.array(y, copy=True)
        self.sample_weight_ = sample_weight
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        self.predict_x_ = np.array(X, copy=True)
        return self.classes_[(np.asarray(X)[:, 0] > 0).astype(int)]

    def decision_function(self, X):
        return np.asarray(X, dtype=float)[:, 0] * 2


# Source: 6 rows, 2 features, speakers a, a, b, b, c, c; target: 4 rows, speakers t, t, u, u.
SOURCE = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 1.0], [6.0, 7.0], [1.0, 0.0], [5.0, 2.0]])
LABELS = np.array(["x", "y", "x", "y", "x", "y"])
GROUPS = np.array(["a", "a", "b", "b", "c", "c"])
TARGET = np.array([[1.0, 2.0], [3.0, 6.0], [10.0, 2.0], [12.0, 4.0]])
TARGET_GROUPS = np.array(["t", "t", "u", "u"])


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / x.std(axis=0)


def _z_by(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for g in np.unique(groups):
        out[groups == g] = _z(x[groups == g])
    return out


def _coral_by_formula(source: np.ndarray, target: np.ndarray, ridge: float) -> np.ndarray:
    """(S - mean S) C_S^-1/2 C_T^1/2 + mean T, with C = sample covariance + ridge I."""
    eye = np.eye(source.shape[1])
    c_s = np.cov(source.T) + ridge * eye
    c_t = np.cov(target.T) + ridge * eye
    whiten = np.linalg.inv(np.real(sqrtm(c_s)))
    return (source - source.mean(0)) @ whiten @ np.real(sqrtm(c_t)) + target.mean(0)


# --- covariance, matrix powers, CORAL --------------------------------------------------


def test_covariance_is_the_sample_covariance_plus_a_ridge():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    # Deviations +-1 in each column, uncorrelated: variance 4/3 (n - 1 = 3).
    np.testing.assert_allclose(_covariance(x, 1.0), [[7 / 3, 0.0], [0.0, 7 / 3]])
    np.testing.assert_allclose(_covariance(x, 0.5), [[4 / 3 + 0.5, 0.0], [0.0, 4 / 3 + 0.5]])
    y = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 1.0]])
    # Columns [0, 2, 4] (var 4) and [0, 2, 1] (var 1), covariance (-2*-1 + 0 + 2*0)/2 = 1.
    np.testing.assert_allclose(_covariance(y, 0.0), [[4.0, 1.0], [1.0, 1.0]])


def test_matrix_power_of_diagonal_and_full_matrices():
    np.testing.assert_allclose(_matrix_power(np.diag([4.0, 9.0]), 0.5), np.diag([2.0, 3.0]))
    np.testing.assert_allclose(
        _matrix_power(np.diag([4.0, 9.0]), -0.5), np.diag([0.5, 1 / 3]), rtol=1e-12
    )
    full = np.array([[2.0, 1.0], [1.0, 2.0]])
    root = _matrix_power(full, 0.5)
    np.testing.assert_allclose(root, np.real(sqrtm(full)), rtol=1e-12)
    np.testing.assert_allclose(root @ root, full, rtol=1e-12)
    np.testing.assert_allclose(_matrix_power(full, -0.5) @ root, np.eye(2), atol=1e-12)


def test_matrix_power_floors_eigenvalues_at_1e_minus_12():
    # Eigenvalues 0 and -1 are read as 1e-12: their inverse root is 1e6.
    np.testing.assert_allclose(
        _matrix_power(np.diag([4.0, 0.0]), -0.5), np.diag([0.5, 1e6]), rtol=1e-9
    )
    np.testing.assert_allclose(
        _matrix_power(np.diag([-1.0, 1.0]), -0.5), np.diag([1e6, 1.0]), rtol=1e-9
    )
    np.testing.assert_allclose(
        _matrix_power(np.diag([0.0, 9.0]), 0.5), np.diag([1e-6, 3.0]), rtol=1e-9, atol=0
    )


def test_coral_in_one_dimension_by_hand():
    source = np.array([[0.0], [2.0], [0.0], [2.0]])  # mean 1, variance 4/3
    target = np.array([[0.0], [6.0]])  # mean 3, variance 18
    # (x - 1) / sqrt(4/3 + 1) * sqrt(18 + 1) + 3
    expected = (source - 1) / np.sqrt(7 / 3) * np.sqrt(19) + 3
    np.testing.assert_allclose(coral(source, target), expected, rtol=1e-12)
    np.testing.assert_allclose(
        coral(source, target, ridge=2.0), (source - 1) / np.sqrt(10 / 3) * np.sqrt(20) + 3
    )


def test_coral_in_two_correlated_dimensions():
    got = coral(SOURCE, TARGET, ridge=0.5)
    np.testing.assert_allclose(got, _coral_by_formula(SOURCE, TARGET, 0.5), rtol=1e-10)
    np.testing.assert_allclose(got.mean(axis=0), TARGET.mean(axis=0), rtol=1e-12)
    assert got.dtype == np.float64
    # Integer input is read as float.
    np.testing.assert_allclose(coral(SOURCE.astype(int), TARGET.astype(int), 0.5), got, rtol=1e-12)


# --- importance weights -----------------------------------------------------------------


def _weights_by_formula(source, target, clip):
    data = np.vstack([source, target])
    domain = np.r_[np.zeros(len(source)), np.ones(len(target))]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    p = model.fit(data, domain).predict_proba(source)[:, 1]
    ratio = p / (1 - p) * len(source) / len(target)
    weights = np.minimum(np.maximum(ratio, 1 / clip), clip)
    return weights / weights.mean()


def test_importance_weights_are_clipped_size_corrected_density_ratios():
    rng = np.random.default_rng(0)
    source = rng.normal(0, 1, (40, 2))
    target = rng.normal(0.8, 1, (20, 2))
    got = importance_weights(source, target)
    np.testing.assert_allclose(got, _weights_by_formula(source, target, 10.0), rtol=1e-9)
    assert got.mean() == pytest.approx(1.0)
    # A tight clip binds on both sides.
    tight = importance_weights(source, target, clip=1.5)
    np.testing.assert_allclose(tight, _weights_by_formula(source, target, 1.5), rtol=1e-9)
    assert tight.max() / tight.min() == pytest.approx(1.5**2)


# --- prior EM -----------------------------------------------------------------------------


POSTERIORS = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])


def test_em_one_step_is_the_mean_posterior():
    priors, adjusted = em_priors(POSTERIORS, [0.5, 0.5], max_iter=1)
    np.testing.assert_allclose(priors, [0.65, 0.35])
    np.testing.assert_allclose(adjusted, POSTERIORS)


def test_em_two_steps_by_hand():
    priors, adjusted = em_priors(POSTERIORS, [0.5, 0.5], max_iter=2)
    # Step 2 scales by priors / train = [1.3, 0.7] and renormalises each row.
    scaled = POSTERIORS * [1.3, 0.7]
    expected = scaled / scaled.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(adjusted, expected)
    np.testing.assert_allclose(priors, expected.mean(axis=0))


def test_em_with_unequal_training_priors():
    priors, adjusted = em_priors(POSTERIORS, np.array([0.8, 0.2]), max_iter=2)
    # Step 1: priors equal the training ones, no change: mean [0.65, 0.35].
    # Step 2 scales by [0.65 / 0.8, 0.35 / 0.2].
    scaled = POSTERIORS * [0.65 / 0.8, 0.35 / 0.2]
    expected = scaled / scaled.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(adjusted, expected)
    np.testing.assert_allclose(priors, expected.mean(axis=0))


def test_em_defaults_run_to_the_fixed_point():
    priors, adjusted = em_priors(POSTERIORS, [0.5, 0.5])
    scaled = POSTERIORS * (priors / 0.5)
    np.testing.assert_allclose(adjusted, scaled / scaled.sum(axis=1, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(priors, adjusted.mean(axis=0), atol=1e-7)
    assert priors[0] > 0.9  # far from the one-step mean of 0.65


def test_em_stops_once_the_change_is_below_tol():
    # A tolerance of 0.1: step 2 moves the priors by more, step 3 by less (then stop).
    p1 = np.array([0.65, 0.35])
    s2 = POSTERIORS * (p1 / 0.5)
    a2 = s2 / s2.sum(axis=1, keepdims=True)
    p2 = a2.mean(axis=0)
    s3 = POSTERIORS * (p2 / 0.5)
    a3 = s3 / s3.sum(axis=1, keepdims=True)
    p3 = a3.mean(axis=0)
    assert np.abs(p2 - p1).max() >= 0.1 > np.abs(p3 - p2).max()
    priors, adjusted = em_priors(POSTERIORS, [0.5, 0.5], tol=0.1)
    np.testing.assert_allclose(priors, p3)
    np.testing.assert_allclose(adjusted, a3)


def test_em_returns_the_input_for_zero_iterations():
    priors, adjusted = em_priors(POSTERIORS, [0.4, 0.6], max_iter=0)
    np.testing.assert_allclose(priors, [0.4, 0.6])
    assert adjusted is POSTERIORS


def test_em_priors_converge_when_posteriors_match_the_training_priors():
    balanced = np.array([[0.7, 0.3], [0.3, 0.7]])
    priors, adjusted = em_priors(balanced, [0.5, 0.5])
    np.testing.assert_allclose(priors, [0.5, 0.5])
    np.testing.assert_allclose(adjusted, balanced)


# --- routing sample weights ---------------------------------------------------------------


def test_weights_reach_a_bare_estimator():
    spy = _fit_with_weights(Spy(), SOURCE, LABELS, np.arange(6.0))
    np.testing.assert_array_equal(spy.sample_weight_, np.arange(6.0))


def test_weights_reach_the_last_step_of_nested_pipelines():
    inner = Pipeline([("identity", "passthrough"), ("svm", Spy())])
    outer = Pipeline([("scale", StandardScaler()), ("classify", inner)])
    fitted = _fit_with_weights(outer, SOURCE, LABELS, np.arange(6.0))
    assert fitted is outer
    np.testing.assert_array_equal(inner.named_steps["svm"].sample_weight_, np.arange(6.0))
    flat = Pipeline([("scale", StandardScaler()), ("spy", Spy())])
    _fit_with_weights(flat, SOURCE, LABELS, np.ones(6))
    np.testing.assert_array_equal(flat.named_steps["spy"].sample_weight_, np.ones(6))


# --- TransductiveClassifier ---------------------------------------------------------------


def test_default_parameters():
    model = TransductiveClassifier(Spy())
    assert model.get_params(deep=False) == {
        "estimator": model.estimator,
        "method": "none",
        "coral_ridge": 1.0,
        "weight_clip": 10.0,
        "calibration_folds": 5,
    }


def test_unknown_method_message():
    with pytest.raises(ValueError) as error:
        TransductiveClassifier(Spy(), "mmd").fit(SOURCE, LABELS, X_target=TARGET)
    assert str(error.value) == (
        "unknown adaptation 'mmd': use none, corpus-norm, speaker-norm, coral, importance, prior-em"
    )


def _fit(method: str, **kwargs) -> TransductiveClassifier:
    fit_args = {key: kwargs.pop(key) for key in ("source_confounded",) if key in kwargs}
    spy = Spy()
    model = TransductiveClassifier(spy, method, **kwargs).fit(
        SOURCE, LABELS, X_target=TARGET, groups=GROUPS, target_groups=TARGET_GROUPS,
        **fit_args,
    )  # fmt: skip
    assert not hasattr(spy, "fit_x_")  # the estimator itself is cloned, never fitted
    return model


def test_none_fits_and_predicts_the_raw_rows():
    model = _fit("none")
    np.testing.assert_allclose(model.model_.fit_x_, SOURCE)
    np.testing.assert_array_equal(model.model_.fit_y_, LABELS)
    assert model.model_.sample_weight_ is None
    assert list(model.classes_) == ["x", "y"]
    assert model.source_scaler_ is None
    predicted = model.predict(TARGET, groups=TARGET_GROUPS)
    np.testing.assert_allclose(model.model_.predict_x_, TARGET)
    assert list(predicted) == ["y", "y", "y", "y"]
    scores, kind = model.class_scores(-TARGET, groups=TARGET_GROUPS)
    assert kind == "decision"
    np.testing.assert_allclose(scores, np.column_stack([2 * TARGET[:, 0], -2 * TARGET[:, 0]]))


def test_corpus_norm_standardises_source_and_target_each_with_its_own_statistics():
    model = _fit("corpus-norm")
    np.testing.assert_allclose(model.model_.fit_x_, _z(SOURCE), rtol=1e-6)
    model.predict(TARGET, groups=TARGET_GROUPS)
    np.testing.assert_allclose(model.model_.predict_x_, _z(TARGET), rtol=1e-6)
    scores, _ = model.class_scores(TARGET, groups=TARGET_GROUPS)
    np.testing.assert_allclose(scores[:, 1], 2 * _z(TARGET)[:, 0], rtol=1e-6)


def test_speaker_norm_standardises_each_speaker():
    model = _fit("speaker-norm")
    np.testing.assert_allclose(model.model_.fit_x_, _z_by(SOURCE, GROUPS), rtol=1e-6)
    model.predict(TARGET, groups=TARGET_GROUPS)
    np.testing.assert_allclose(model.model_.predict_x_, _z_by(TARGET, TARGET_GROUPS), rtol=1e-6)
    scores, _ = model.class_scores(TARGET, groups=TARGET_GROUPS)
    np.testing.assert_allclose(scores[:, 1], 2 * _z_by(TARGET, TARGET_GROUPS)[:, 0], rtol=1e-6)


def test_speaker_norm_of_a_confounded_source_standardises_it_per_corpus():
    model = _fit("speaker-norm", source_confounded=True)
    np.testing.assert_allclose(model.model_.fit_x_, _z(SOURCE), rtol=1e-6)
    model.predict(TARGET, groups=TARGET_GROUPS)  # the target is still per speaker
    np.testing.assert_allclose(model.model_.predict_x_, _z_by(TARGET, TARGET_GROUPS), rtol=1e-6)


def test_coral_fits_recoloured_source_in_source_standardised_units():
    model = _fit("coral", coral_ridge=0.5)
    mean, std = SOURCE.mean(axis=0), SOURCE.std(axis=0)
    expected = _coral_by_formula((SOURCE - mean) / std, (TARGET - mean) / std, 0.5)
    np.testing.assert_allclose(model.model_.fit_x_, expected, rtol=1e-9)
    model.predict(TARGET, groups=TARGET_GROUPS)
    np.testing.assert_allclose(model.model_.predict_x_, (TARGET - mean) / std, rtol=1e-12)
    scores, _ = model.class_scores(TARGET)
    np.testing.assert_allclose(scores[:, 1], 2 * (TARGET[:, 0] - mean[0]) / std[0], rtol=1e-12)
    # The default ridge is 1.
    default = _fit("coral")
    expected = _coral_by_formula((SOURCE - mean) / std, (TARGET - mean) / std, 1.0)
    np.testing.assert_allclose(default.model_.fit_x_, expected, rtol=1e-9)


def test_importance_weights_the_raw_source_rows():
    model = _fit("importance", weight_clip=1.5)
    expected = _weights_by_formula(SOURCE, TARGET, 1.5)
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-9)
    np.testing.assert_allclose(model.model_.sample_weight_, expected, rtol=1e-9)
    np.testing.assert_allclose(model.model_.fit_x_, SOURCE)
    np.testing.assert_array_equal(model.model_.fit_y_, LABELS)
    model.predict(TARGET)
    np.testing.assert_allclose(model.model_.predict_x_, TARGET)
    default = _fit("importance")
    np.testing.assert_allclose(
        default.weights_, _weights_by_formula(SOURCE, TARGET, 10.0), rtol=1e-9
    )


def _prior_em_data():
    rng = np.random.default_rng(1)
    y = np.array(["x"] * 18 + ["y"] * 12)
    x = rng.normal(0, 1, (30, 2)) + np.where(y == "y", 1.5, 0.0)[:, None]
    target = rng.normal(0, 1, (10, 2)) + np.r_[np.zeros(8), np.full(2, 1.5)][:, None]
    return x, y, target


def test_prior_em_calibrates_then_reweights_to_the_target_priors():
    x, y, target = _prior_em_data()
    estimator = LogisticRegression()
    model = TransductiveClassifier(estimator, "prior-em", calibration_folds=3).fit(
        x, y, X_target=target
    )
    reference = CalibratedClassifierCV(LogisticRegression(), method="sigmoid", cv=3).fit(x, y)
    np.testing.assert_allclose(model.train_priors_, [0.6, 0.4])
    np.testing.assert_allclose(
        model.model_.predict_proba(target), reference.predict_proba(target), rtol=1e-9
    )
    priors, adjusted = em_priors(reference.predict_proba(target), np.array([0.6, 0.4]))
    scores, kind = model.class_scores(target)
    assert kind == "probability"
    np.testing.assert_allclose(scores, adjusted, rtol=1e-9)
    np.testing.assert_allclose(model.target_priors_, priors, rtol=1e-9)
    predicted = model.predict(target)
    assert list(predicted) == list(np.array(["x", "y"])[adjusted.argmax(axis=1)])
    assert list(model.classes_) == ["x", "y"]


def test_prior_em_uses_five_calibration_folds_by_default():
    x, y, target = _prior_em_data()
    model = TransductiveClassifier(LogisticRegression(), "prior-em").fit(x, y, X_target=target)
    assert model.model_.cv == 5 and model.model_.method == "sigmoid"
    assert len(model.model_.calibrated_classifiers_) == 5


# --- the cases mutation testing showed untested ------------------------------------------


def test_coral_works_in_float64_whatever_the_input():
    # float32 2**24 and 2**24 + 2: a float32 mean rounds to 2**24; in float64 it is 2**24 + 1.
    source = np.array([[16777216.0], [16777218.0]], dtype=np.float32)
    target = np.array([[16777216.0], [16777218.0]], dtype=np.float32)
    # Centred source +-1; both covariances 2 + ridge: recoloured is the identity map.
    np.testing.assert_allclose(coral(source, target), [[16777216.0], [16777218.0]], rtol=0)


def test_transductive_classifier_works_in_float64_whatever_the_input():
    model = TransductiveClassifier(Spy(), "none").fit(
        SOURCE.astype(np.float32), LABELS, X_target=TARGET.astype(np.float32)
    )
    assert model.model_.fit_x_.dtype == np.float64
    model.predict(TARGET.astype(np.float32))
    assert model.model_.predict_x_.dtype == np.float64
    # CORAL's target side: float32 scaling would be off by about 1e-8.
    coral_model = TransductiveClassifier(Spy(), "coral", coral_ridge=0.5).fit(
        SOURCE.astype(np.float32), LABELS, X_target=TARGET.astype(np.float32)
    )
    mean, std = SOURCE.mean(axis=0), SOURCE.std(axis=0)
    expected = _coral_by_formula((SOURCE - mean) / std, (TARGET - mean) / std, 0.5)
    np.testing.assert_allclose(coral_model.model_.fit_x_, expected, rtol=1e-12)


def _shifted_corpora():
    # Target shifted by 2.5: the smallest density ratio is below 1/10, so the clip binds.
    rng = np.random.default_rng(0)
    return rng.normal(0, 1, (40, 2)), rng.normal(2.5, 1, (20, 2))


def test_importance_weights_default_clip_is_ten():
    source, target = _shifted_corpora()
    got = importance_weights(source, target)
    np.testing.assert_allclose(got, _weights_by_formula(source, target, 10.0), rtol=1e-9)
    assert not np.allclose(got, _weights_by_formula(source, target, 11.0), rtol=1e-6)


def test_transductive_importance_passes_its_clip_on():
    source, target = _shifted_corpora()
    labels = np.array(["x", "y"] * 20)
    model = TransductiveClassifier(Spy(), "importance", weight_clip=3.0).fit(
        source, labels, X_target=target
    )
    expected = _weights_by_formula(source, target, 3.0)
    np.testing.assert_allclose(model.model_.sample_weight_, expected, rtol=1e-9)
    assert not np.allclose(expected, _weights_by_formula(source, target, 10.0), rtol=1e-6)


def test_em_default_stops_after_200_steps():
    # Nearly uninformative posteriors: EM creeps, still moving after 200 steps.
    slow = np.array([[0.51, 0.49], [0.52, 0.48]])
    priors = np.array([0.5, 0.5])
    history = []
    for _ in range(201):
        scaled = slow * (priors / 0.5)
        adjusted = scaled / scaled.sum(axis=1, keepdims=True)
        priors = adjusted.mean(axis=0)
        history.append(priors)
    assert np.abs(history[200] - history[199]).max() > 1e-8
    got, _ = em_priors(slow, [0.5, 0.5])
    np.testing.assert_allclose(got, history[199], rtol=1e-12)


def test_weights_reach_the_last_of_three_steps_with_the_labels():
    pipeline = Pipeline([("a", "passthrough"), ("b", "passthrough"), ("spy", Spy())])
    _fit_with_weights(pipeline, SOURCE, LABELS, np.arange(6.0))
    spy = pipeline.named_steps["spy"]
    np.testing.assert_array_equal(spy.sample_weight_, np.arange(6.0))
    np.testing.assert_array_equal(spy.fit_y_, LABELS)
    inner = Pipeline([("identity", "passthrough"), ("svm", Spy())])
    outer = Pipeline([("scale", StandardScaler()), ("classify", inner)])
    _fit_with_weights(outer, SOURCE, LABELS, np.arange(6.0))
    np.testing.assert_array_equal(inner.named_steps["svm"].fit_y_, LABELS)
