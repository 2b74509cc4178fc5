"""Adapters recover known shifts on synthetic data and never see target labels."""

from __future__ import annotations

import numpy as np

from paraser.experiments.adaptation import coral, em_priors, importance_weights


def test_coral_recovers_a_known_mean_and_covariance_shift():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(2000, 3))
    mixing = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.5]])
    target = rng.normal(size=(2000, 3)) @ mixing + np.array([3.0, -1.0, 0.5])
    aligned = coral(source, target, ridge=1e-6)
    np.testing.assert_allclose(aligned.mean(0), target.mean(0), atol=1e-8)
    np.testing.assert_allclose(
        np.cov(aligned, rowvar=False), np.cov(target, rowvar=False), atol=0.05
    )


def test_em_recovers_a_known_prior_shift():
    rng = np.random.default_rng(1)
    means = np.array([-1.5, 1.5])
    true_target_priors = np.array([0.8, 0.2])
    labels = rng.choice(2, size=5000, p=true_target_priors)
    x = rng.normal(means[labels], 1.0)
    # Exact posteriors of a classifier trained under equal priors.
    likelihood = np.exp(-0.5 * (x[:, None] - means[None, :]) ** 2)
    posteriors = likelihood / likelihood.sum(axis=1, keepdims=True)
    priors, adjusted = em_priors(posteriors, np.array([0.5, 0.5]))
    np.testing.assert_allclose(priors, true_target_priors, atol=0.03)
    assert (adjusted.argmax(1) == labels).mean() > (posteriors.argmax(1) == labels).mean()


def test_importance_weights_favour_target_like_source_rows():
    rng = np.random.default_rng(2)
    source = rng.normal(size=(1000, 2))
    target = rng.normal(size=(1000, 2)) + np.array([1.0, 0.0])
    weights = importance_weights(source, target)
    assert np.isclose(weights.mean(), 1.0)
    assert weights[source[:, 0] > 1].mean() > weights[source[:, 0] < -1].mean()


def test_adapters_use_the_target_distribution_only():
    # Target labels never reach an adapter (tests/test_label_blindness.py permutes them); what
    # an adapter does see is the target's rows as a set: their order must not matter.
    rng = np.random.default_rng(4)
    source = rng.normal(size=(300, 3))
    target = rng.normal(size=(300, 3)) * 2 + 1
    shuffled = target[rng.permutation(len(target))]
    np.testing.assert_allclose(coral(source, target), coral(source, shuffled), atol=1e-10)
    np.testing.assert_allclose(
        importance_weights(source, target), importance_weights(source, shuffled), rtol=1e-6
    )
