"""svm-approx fits in memory linear in the data: no full scaled copy, same model."""

from __future__ import annotations

import tracemalloc

import numpy as np
from sklearn.kernel_approximation import Nystroem
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils import check_random_state

from paraser.experiments import make_classifier


def _data(n: int = 3000, d: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.array(["anger", "happiness", "neutral", "sadness"])[rng.integers(0, 4, n)]
    x = rng.normal(5.0, 3.0, (n, d)).astype(np.float32)
    x[:, :20] += (y == "anger")[:, None] * 2.0
    x[:, 20:40] += (y == "sadness")[:, None] * 2.0
    return x, y


def _reference_decisions(x, y, test, sample_weight=None):
    """The same model built from plain scikit-learn steps on the whole matrix at once."""
    scaler = StandardScaler().fit(x)
    scaled = scaler.transform(x)
    order = check_random_state(0).permutation(len(x))
    kernel = Nystroem(kernel="rbf", n_components=500, random_state=0)
    kernel.fit(scaled[np.sort(order[:500])])
    svm = LinearSVC(C=1.0, class_weight="balanced", random_state=0)
    svm.fit(kernel.transform(scaled), y, sample_weight=sample_weight)
    return svm.decision_function(kernel.transform(scaler.transform(test)))


def test_svm_approx_equals_the_plain_scikit_learn_model():
    x, y = _data()
    test, _ = _data(500, seed=1)
    model = make_classifier("svm-approx", seed=0).fit(x, y)
    expected = _reference_decisions(x, y, test)
    np.testing.assert_allclose(model.decision_function(test), expected, rtol=1e-4, atol=1e-4)
    assert (model.predict(test) == model.classes_[expected.argmax(1)]).all()
    assert (model.predict(x) == y).mean() > 0.5  # it learned something, not one class


def _traced_peak(fit) -> float:
    tracemalloc.start()
    try:
        fit()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_svm_approx_never_holds_a_scaled_copy_of_the_data():
    # Traced (numpy) allocations are exact, unlike RSS: the whole-matrix
    # pipeline (float32 copy + float64 variance temporary) peaks at 2.3x the
    # data here, the blocked one at 0.7x (kernel features and landmarks).
    x, y = _data(4000, 4000)
    lean = _traced_peak(lambda: make_classifier("svm-approx", seed=0).fit(x, y).predict(x))
    assert lean < x.nbytes, f"peak {lean / 2**20:.0f} MiB for {x.nbytes / 2**20:.0f} MiB data"


def test_svm_approx_routes_sample_weights_to_the_svm():
    # Importance weighting (adaptation) passes weights through the nested pipeline.
    x, y = _data(800, 60)
    weights = np.random.default_rng(3).uniform(0.0, 3.0, len(y))
    model = make_classifier("svm-approx", seed=0)
    model.fit(x, y, classify__svm__sample_weight=weights)
    weighted = _reference_decisions(x, y, x, sample_weight=weights)
    np.testing.assert_allclose(model.decision_function(x), weighted, atol=2e-3)
    assert not np.allclose(weighted, _reference_decisions(x, y, x), atol=0.05)
