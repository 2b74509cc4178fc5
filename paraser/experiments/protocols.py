"""Within-corpus evaluation protocols: how a corpus is split into folds.

Speaker-independent splitting is the default whenever a corpus has speaker
ids.  Some corpora confound speaker and emotion (in URDU a few speakers carry
all the angry clips), so a speaker-independent fold can miss a class in
training or testing.  :func:`plan_splits` detects that, says so, and falls back
*explicitly*: every result row records the protocol actually used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

Splits = list[tuple[np.ndarray, np.ndarray]]


class ProtocolError(ValueError):
    """A split that cannot be made; the message names corpus, class and count."""


class DegenerateSplitError(ProtocolError):
    """A speaker-independent split that the corpus' speakers cannot support."""


@dataclass(frozen=True)
class StratifiedKFoldProtocol:
    """Stratified k-fold over utterances (a speaker may be in train and test)."""

    folds: int = 5
    speaker_independent = False

    @property
    def name(self) -> str:
        return f"stratified-{self.folds}fold"

    def splits(self, corpus: str, labels: np.ndarray, speakers: np.ndarray, seed: int) -> Splits:
        _check_classes(corpus, labels, self.folds)
        splitter = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels))


@dataclass(frozen=True)
class SpeakerKFoldProtocol:
    """Stratified k-fold over speakers: no speaker is in both train and test."""

    folds: int = 5
    speaker_independent = True

    @property
    def name(self) -> str:
        return f"speaker-{self.folds}fold"

    def splits(self, corpus: str, labels: np.ndarray, speakers: np.ndarray, seed: int) -> Splits:
        _check_classes(corpus, labels, 2)
        n_speakers = len(set(speakers))
        if n_speakers < self.folds:
            # Never suggest the folds already asked for (one speaker and --folds 2).
            fix = (
                f"--folds {n_speakers} or --protocol loso"
                if n_speakers >= 2
                else "--protocol stratified (not speaker-independent)"
            )
            raise DegenerateSplitError(
                f"{corpus}: {n_speakers} speakers, fewer than the {self.folds} folds "
                f"requested; use {fix}"
            )
        splitter = StratifiedGroupKFold(n_splits=self.folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels, groups=speakers))


@dataclass(frozen=True)
class LeaveOneSpeakerOutProtocol:
    """One fold per speaker: train on all other speakers, test on that one."""

    speaker_independent = True
    name = "loso"

    def splits(self, corpus: str, labels: np.ndarray, speakers: np.ndarray, seed: int) -> Splits:
        _check_classes(corpus, labels, 2)
        if len(set(speakers)) < 2:
            raise DegenerateSplitError(
                f"{corpus}: one speaker only; leave-one-speaker-out needs two"
            )
        return list(LeaveOneGroupOut().split(np.zeros(len(labels)), labels, groups=speakers))


Protocol = StratifiedKFoldProtocol | SpeakerKFoldProtocol | LeaveOneSpeakerOutProtocol

PROTOCOL_NAMES = ("auto", "speaker", "loso", "stratified")


def make_protocol(name: str = "auto", folds: int = 5) -> Protocol:
    """``auto`` is speaker-independent k-fold (resolved per corpus by :func:`plan_splits`)."""
    if name in ("auto", "speaker", "speaker-kfold", "group"):
        return SpeakerKFoldProtocol(folds)
    if name in ("loso", "leave-one-speaker-out"):
        return LeaveOneSpeakerOutProtocol()
    if name in ("stratified", "kfold", "stratified-kfold"):
        return StratifiedKFoldProtocol(folds)
    raise ValueError(f"unknown protocol '{name}': use one of {', '.join(PROTOCOL_NAMES)}")


def _check_classes(corpus: str, labels: np.ndarray, min_per_class: int) -> None:
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ProtocolError(
            f"{corpus}: only one class ({classes[0] if len(classes) else 'none'}) after "
            "label mapping; within-corpus evaluation needs at least two: widen the label "
            "space with --classes or --label-map, or leave this corpus out"
        )
    small = [(c, n) for c, n in zip(classes, counts) if n < min_per_class]
    if small:
        detail = ", ".join(f"'{c}' has {n}" for c, n in small)
        fewest = int(min(n for _, n in small))
        fix = f"use --folds {fewest} or " if 2 <= fewest < min_per_class else ""
        raise ProtocolError(
            f"{corpus}: {detail} utterance(s), fewer than the {min_per_class} folds requested; "
            f"{fix}drop the class (or add utterances of it)"
        )


def _names(values) -> str:
    """Plain comma-joined names: a list of numpy strings would print as np.str_ reprs."""
    return ", ".join(sorted(str(v) for v in values))


def confound_problem(labels: np.ndarray, splits: Splits, test_needs_all: bool) -> str | None:
    """Why these splits are degenerate (a fold misses a class), or ``None``."""
    classes = set(labels)
    for fold, (train, test) in enumerate(splits):
        missing_train = classes - set(labels[train])
        if missing_train:
            return f"fold {fold} has no {_names(missing_train)} in training"
        test_classes = set(labels[test])
        if test_needs_all and test_classes != classes:
            return f"fold {fold}'s test set lacks {_names(classes - test_classes)}"
        if len(test_classes) < 2:
            return f"fold {fold}'s test set holds one class only ({_names(test_classes)})"
    return None


def speaker_label_association(labels: np.ndarray, speakers: np.ndarray) -> float:
    """Cramér's V between speaker and label: 0 independent, 1 each speaker one label."""
    import pandas as pd

    table = pd.crosstab(speakers, labels).to_numpy(dtype=float)
    if min(table.shape) < 2:
        return 1.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))


@dataclass(frozen=True)
class PlannedSplits:
    """The folds used for one corpus and seed, the protocol they follow, and why."""

    splits: Splits
    protocol: str
    note: str | None = None


def _problem(protocol: Protocol, corpus: str, labels, speakers, seed) -> tuple[Splits, str | None]:
    try:
        splits = protocol.splits(corpus, labels, speakers, seed)
    except DegenerateSplitError as exc:
        return [], str(exc).split(": ", 1)[-1]
    test_needs_all = isinstance(protocol, SpeakerKFoldProtocol)
    return splits, confound_problem(labels, splits, test_needs_all)


def plan_splits(
    corpus: str, labels: np.ndarray, speakers: np.ndarray, protocol: Protocol, seed: int
) -> PlannedSplits:
    """Split ``corpus`` with ``protocol``, falling back explicitly when it degenerates.

    Speaker k-fold with fewer speakers than folds tries leave-one-speaker-out
    (still speaker-independent).  A speaker-independent protocol whose folds
    miss a class (speaker and label confounded) falls back to stratified
    k-fold.  The returned protocol name and note say what was used and why.
    """
    if not protocol.speaker_independent:
        return PlannedSplits(protocol.splits(corpus, labels, speakers, seed), protocol.name)
    splits, problem = _problem(protocol, corpus, labels, speakers, seed)
    if problem is None:
        return PlannedSplits(splits, protocol.name)
    association = speaker_label_association(labels, speakers)
    reason = f"{problem}; speaker-label association Cramér's V = {association:.2f}"
    if isinstance(protocol, SpeakerKFoldProtocol):
        loso = LeaveOneSpeakerOutProtocol()
        loso_splits, loso_problem = _problem(loso, corpus, labels, speakers, seed)
        if loso_problem is None:
            note = (
                f"{corpus}: {protocol.name} is not possible ({reason}), so within-corpus "
                f"results use {loso.name} (still speaker-independent)."
            )
            return PlannedSplits(loso_splits, f"{loso.name} (fallback from {protocol.name})", note)
    folds = protocol.folds if isinstance(protocol, SpeakerKFoldProtocol) else 5
    fallback = StratifiedKFoldProtocol(folds)
    note = (
        f"{corpus}: {protocol.name} is degenerate ({reason}), so within-corpus results use "
        f"{fallback.name} instead. Speakers appear in both train and test: these numbers are "
        "optimistic."
    )
    return PlannedSplits(
        fallback.splits(corpus, labels, speakers, seed),
        f"{fallback.name} (fallback from {protocol.name})",
        note,
    )
