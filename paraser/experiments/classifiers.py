"""Classifiers, each a scikit-learn ``Pipeline`` that carries its own scaling.

A fitted pipeline holds the standardisation fitted on its training data, so a
model applied to another corpus meets features scaled the way it was trained
on (the classic model-reuse bug is a model that travels without its scaler).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

from sklearn.ensemble import RandomForestClassifier
from sklearn.kernel_approximation import Nystroem
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC


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
    """Nystroem that quietly uses every sample as a landmark when there are fewer than asked."""

    def fit(self, X, y=None):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="n_components > n_samples")
            return super().fit(X, y)


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


#: Registered classifiers: name -> (factory(seed), description).
CLASSIFIERS: dict[str, tuple[Callable[[int], object], str]] = {
    "svm": (_svm, "SVM, RBF kernel, C=1, gamma='scale', class-weighted"),
    "rf": (_random_forest, "random forest, 300 trees, class-weighted"),
    "mlp": (_mlp, "MLP, one hidden layer of 128, early stopping"),
    "svm-approx": (
        _svm_approx,
        "approximate RBF SVM for large corpora: Nystroem (500 components, gamma=1/n_features) "
        "+ linear SVM, C=1, class-weighted",
    ),
}


def describe_classifiers(names: Sequence[str]) -> dict[str, str]:
    """The registered description of each named classifier (for config.json)."""
    return {name: CLASSIFIERS[name][1] for name in names if name in CLASSIFIERS}


def make_classifier(name: str, seed: int = 0) -> Pipeline:
    """A fresh, unfitted ``StandardScaler -> classifier`` pipeline."""
    try:
        factory, _ = CLASSIFIERS[name]
    except KeyError:
        raise ValueError(
            f"unknown classifier '{name}': use one of {', '.join(CLASSIFIERS)}"
        ) from None
    return Pipeline([("scale", StandardScaler()), ("classify", factory(seed))])
