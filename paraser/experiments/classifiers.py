"""Classifiers, each a scikit-learn ``Pipeline`` that carries its own scaling.

A fitted pipeline holds the standardisation fitted on its training data, so a
model applied to another corpus meets features scaled the way it was trained
on (the classic model-reuse bug is a model that travels without its scaler).
"""

from __future__ import annotations

from collections.abc import Callable

from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


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


#: Registered classifiers: name -> (factory(seed), description).
CLASSIFIERS: dict[str, tuple[Callable[[int], object], str]] = {
    "svm": (_svm, "SVM, RBF kernel, C=1, gamma='scale', class-weighted"),
    "rf": (_random_forest, "random forest, 300 trees, class-weighted"),
    "mlp": (_mlp, "MLP, one hidden layer of 128, early stopping"),
}


def make_classifier(name: str, seed: int = 0) -> Pipeline:
    """A fresh, unfitted ``StandardScaler -> classifier`` pipeline."""
    try:
        factory, _ = CLASSIFIERS[name]
    except KeyError:
        raise ValueError(
            f"unknown classifier '{name}': use one of {', '.join(CLASSIFIERS)}"
        ) from None
    return Pipeline([("scale", StandardScaler()), ("classify", factory(seed))])
