"""Unsupervised adaptation building blocks (groundwork for issue 9).

Each uses only the *unlabelled* target features: results built on them are
transductive.  Not yet a factor of the transfer grid.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import sqrtm
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _covariance(x: np.ndarray, ridge: float) -> np.ndarray:
    return np.cov(x, rowvar=False) + ridge * np.eye(x.shape[1])


def coral(source: np.ndarray, target: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """Source features re-coloured to the target's mean and covariance (CORAL).

    Whitens the source with its own (ridge-regularised) covariance, re-colours
    with the target's, and moves the mean to the target's.
    """
    whiten = np.linalg.inv(np.real(sqrtm(_covariance(source, ridge))))
    colour = np.real(sqrtm(_covariance(target, ridge)))
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
