"""Small builders the tests share: in-memory corpora and a classifier that records row ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paraser.experiments import CorpusData, make_classifier


def corpus_data(
    name: str, labels, features: np.ndarray, *, speakers: int, feature_set: str
) -> CorpusData:
    """A corpus held in memory: utterance ``<name>_<i>.wav``, speakers assigned round-robin."""
    labels = np.asarray(labels)
    frame = pd.DataFrame(
        {
            "corpus": name,
            "utterance": [f"{name}_{i}.wav" for i in range(len(labels))],
            "label": labels,
            "speaker": [f"{name}:s{i % speakers}" for i in range(len(labels))],
        }
    )
    return CorpusData(name, frame, {feature_set: np.asarray(features).astype(np.float32)})


class IdSpy:
    """A classifier that records the row ids (feature column 0) it trains and predicts on.

    Monkeypatched in for ``make_classifier``; ``IdSpy.fits`` collects one
    ``(train ids, test ids)`` pair per prediction.
    """

    fits: list[tuple[np.ndarray, np.ndarray]] = []

    def __init__(self, name, seed=0):
        self.model = make_classifier(name, seed)

    def fit(self, x, y, **kwargs):
        self.train_ids = np.asarray(x)[:, 0].copy()
        self.model.fit(np.asarray(x)[:, 1:], y)
        self.classes_ = self.model.classes_
        return self

    def predict(self, x):
        IdSpy.fits.append((self.train_ids, np.asarray(x)[:, 0].copy()))
        return self.model.predict(np.asarray(x)[:, 1:])


def frechet_reference(x: np.ndarray, y: np.ndarray) -> float:
    """The Fréchet distance per feature, written out from the Gaussian formula: features
    scaled by the pooled SD, ||mu_x - mu_y||^2 + Tr(Cx + Cy - 2 (Cx^1/2 Cy Cx^1/2)^1/2)."""
    from scipy.linalg import sqrtm

    scale = np.sqrt((x.var(axis=0, ddof=1) + y.var(axis=0, ddof=1)) / 2)
    xs, ys = x / scale, y / scale
    cx, cy = np.cov(xs, rowvar=False), np.cov(ys, rowvar=False)
    root = sqrtm(cx)
    distance = np.sum((xs.mean(0) - ys.mean(0)) ** 2) + np.trace(
        cx + cy - 2 * sqrtm(root @ cy @ root).real
    )
    return float(distance / x.shape[1])
