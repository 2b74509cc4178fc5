"""Within-corpus evaluation protocols: how a corpus is split into folds.

Every result row records the protocol actually used, so a number is never
separated from the split that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold


class ProtocolError(ValueError):
    """A split that cannot be made; the message names corpus, class and count."""


@dataclass(frozen=True)
class StratifiedKFoldProtocol:
    """Stratified k-fold over utterances (speakers may appear in train and test)."""

    folds: int = 5

    @property
    def name(self) -> str:
        return f"stratified-{self.folds}fold"

    def splits(
        self, corpus: str, labels: np.ndarray, speakers: np.ndarray, seed: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        classes, counts = np.unique(labels, return_counts=True)
        if len(classes) < 2:
            raise ProtocolError(
                f"{corpus}: only one class ({classes[0] if len(classes) else 'none'}) after "
                "label mapping; within-corpus evaluation needs at least two"
            )
        small = [(c, n) for c, n in zip(classes, counts) if n < self.folds]
        if small:
            detail = ", ".join(f"'{c}' has {n}" for c, n in small)
            raise ProtocolError(
                f"{corpus}: {detail} utterance(s), fewer than the {self.folds} folds requested; "
                f"use --folds {max(2, int(min(n for _, n in small)))} or drop the class"
            )
        splitter = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels))


def make_protocol(name: str = "stratified", folds: int = 5) -> StratifiedKFoldProtocol:
    if name in ("stratified", "kfold", "stratified-kfold"):
        return StratifiedKFoldProtocol(folds)
    raise ValueError(f"unknown protocol '{name}': use 'stratified'")
