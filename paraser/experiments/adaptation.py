"""Unsupervised domain adaptation: recover transfer without target labels.

Every method here sees the target corpus only through its *unlabelled*
features (and, for per-speaker standardisation, its speaker ids); results
built on them are *transductive*: the adapted model is fitted for one target
set and evaluated on that same set.  Nothing here takes target labels, which
tests check by construction (no such parameter) and by behaviour (permuting
the target labels changes no prediction).

Methods (``ADAPTATIONS``):

``none``          the plain source model (the baseline every gain is measured against)
``corpus-norm``   source and target each standardised with their own statistics
``speaker-norm``  each speaker standardised with their own statistics; a source whose
                  speakers each carry nearly one emotion is standardised per corpus
                  instead (checked with *source* labels; the target cannot be checked)
``coral``         source features re-coloured to the target's mean and covariance
                  (Sun et al. 2016), in source-standardised units
``importance``    source rows weighted by the density ratio p_target/p_source from a
                  probabilistic domain classifier (clipped), passed as sample weights.
                  Degenerates where corpora are (nearly) separable, proxy A-distance
                  near 2: every source row gets the floor weight 1/clip and training is
                  unweighted (IS10 on the shared corpora: all weights equal)
``prior-em``      target class priors re-estimated by EM from the calibrated posteriors
                  of the source model (Saerens et al. 2002); predictions re-weighted
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from paraser.experiments.classifiers import class_scores
from paraser.experiments.normalisation import standardise_groups

ADAPTATIONS = ("none", "corpus-norm", "speaker-norm", "coral", "importance", "prior-em")


def _covariance(x: np.ndarray, ridge: float) -> np.ndarray:
    return np.cov(x, rowvar=False) + ridge * np.eye(x.shape[1])


def _matrix_power(symmetric: np.ndarray, power: float) -> np.ndarray:
    # eigh instead of scipy's sqrtm: covariances are symmetric positive definite
    # (ridge), and eigh is ~20x faster on 1582-dimensional IS10 features.
    values, vectors = np.linalg.eigh(symmetric)
    return (vectors * np.clip(values, 1e-12, None) ** power) @ vectors.T


def coral(source: np.ndarray, target: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """Source features re-coloured to the target's mean and covariance (CORAL).

    Whitens the source with its own (ridge-regularised) covariance, re-colours
    with the target's, and moves the mean to the target's.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    whiten = _matrix_power(_covariance(source, ridge), -0.5)
    colour = _matrix_power(_covariance(target, ridge), 0.5)
    centred = source - source.mean(axis=0)
    return centred @ whiten @ colour + target.mean(axis=0)


def importance_weights(source: np.ndarray, target: np.ndarray, clip: float = 10.0) -> np.ndarray:
    """Density-ratio weights p_target(x) / p_source(x) for the source rows.

    From a probabilistic source-vs-target classifier, corrected for corpus
    sizes, clipped to ``[1/clip, clip]`` and normalised to mean 1.
    """
    data = np.vstack([source, target])
    domain = np.r_[np.zeros(len(source)), np.ones(len(target))]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    p_target = model.fit(data, domain).predict_proba(source)[:, 1]
    ratio = p_target / np.clip(1 - p_target, 1e-9, None) * len(source) / len(target)
    weights = np.clip(ratio, 1 / clip, clip)
    return weights / weights.mean()


def em_priors(
    probabilities: np.ndarray, train_priors: np.ndarray, max_iter: int = 200, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray]:
    """Target class priors re-estimated from unlabelled posteriors (Saerens et al. 2002).

    ``probabilities`` are calibrated posteriors under the training priors.
    Returns ``(target priors, adjusted posteriors)``.
    """
    train_priors = np.asarray(train_priors, dtype=float)
    priors = train_priors.copy()
    adjusted = probabilities
    for _ in range(max_iter):
        scaled = probabilities * (priors / train_priors)
        adjusted = scaled / scaled.sum(axis=1, keepdims=True)
        updated = adjusted.mean(axis=0)
        if np.abs(updated - priors).max() < tol:
            priors = updated
            break
        priors = updated
    return priors, adjusted


def _fit_with_weights(estimator, x: np.ndarray, y: np.ndarray, weights: np.ndarray):
    """Fit, routing sample weights to the final classifier (inside nested pipelines too)."""
    route = []
    step = estimator
    while isinstance(step, Pipeline):
        name, step = step.steps[-1]
        route.append(name)
    if not route:
        return estimator.fit(x, y, sample_weight=weights)
    return estimator.fit(x, y, **{"__".join(route) + "__sample_weight": weights})


class TransductiveClassifier(BaseEstimator, ClassifierMixin):
    """A classifier adapted to one unlabelled target set.

    ``fit(X, y, X_target=..., groups=..., target_groups=...)`` sees the source
    with labels and the target without; ``predict(X, groups=...)`` is then
    called on that same target set.  ``estimator`` is any scikit-learn
    classifier (normally a ``StandardScaler -> classifier`` pipeline); it is
    cloned, never modified.
    """

    def __init__(
        self,
        estimator,
        method: str = "none",
        *,
        coral_ridge: float = 1.0,
        weight_clip: float = 10.0,
        calibration_folds: int = 5,
    ):
        self.estimator = estimator
        self.method = method
        self.coral_ridge = coral_ridge
        self.weight_clip = weight_clip
        self.calibration_folds = calibration_folds

    def fit(self, X, y, *, X_target, groups=None, target_groups=None, source_confounded=False):
        """Fit on labelled source ``X, y`` for the unlabelled ``X_target``.

        ``source_confounded`` (from the source's own labels) makes
        ``speaker-norm`` standardise the source per corpus instead of per speaker.
        """
        if self.method not in ADAPTATIONS:
            raise ValueError(f"unknown adaptation '{self.method}': use {', '.join(ADAPTATIONS)}")
        x = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        target = np.asarray(X_target, dtype=np.float64)
        self.model_ = clone(self.estimator)
        self.source_scaler_ = None
        if self.method == "corpus-norm":
            x = standardise_groups(x)
        elif self.method == "speaker-norm":
            x = standardise_groups(x, None if source_confounded else groups)
        elif self.method == "coral":
            # In source-standardised units, so the ridge means the same for every
            # feature however it is scaled (Hz, dB, ...).
            self.source_scaler_ = StandardScaler().fit(x)
            x = coral(
                self.source_scaler_.transform(x),
                self.source_scaler_.transform(target),
                self.coral_ridge,
            )
        if self.method == "importance":
            self.weights_ = importance_weights(x, target, self.weight_clip)
            _fit_with_weights(self.model_, x, y, self.weights_)
        elif self.method == "prior-em":
            self.model_ = CalibratedClassifierCV(
                self.model_, method="sigmoid", cv=self.calibration_folds
            ).fit(x, y)
            self.train_priors_ = np.array([np.mean(y == c) for c in self.model_.classes_])
        else:
            self.model_.fit(x, y)
        self.classes_ = self.model_.classes_
        return self

    def _target_features(self, X, groups) -> np.ndarray:
        x = np.asarray(X, dtype=np.float64)
        if self.method == "corpus-norm":
            return standardise_groups(x)
        if self.method == "speaker-norm":
            return standardise_groups(x, groups)
        if self.method == "coral":
            return self.source_scaler_.transform(x)
        return x

    def _prior_adjusted(self, x: np.ndarray) -> np.ndarray:
        """Prior-EM's posteriors re-weighted to the estimated target priors (kept)."""
        self.target_priors_, adjusted = em_priors(self.model_.predict_proba(x), self.train_priors_)
        return adjusted

    def predict(self, X, groups=None):
        """Predict the target set the model was adapted to (its speaker ids as ``groups``)."""
        x = self._target_features(X, groups)
        if self.method != "prior-em":
            return self.model_.predict(x)
        return self.classes_[self._prior_adjusted(x).argmax(axis=1)]

    def class_scores(self, X, groups=None) -> tuple[np.ndarray, str]:
        """Per-class scores on the adapted-to target, columns in ``classes_`` order, and their
        kind (see :func:`paraser.experiments.classifiers.class_scores`); prior-EM's are its
        re-weighted probabilities."""
        x = self._target_features(X, groups)
        if self.method == "prior-em":
            return self._prior_adjusted(x), "probability"
        return class_scores(self.model_, x)
