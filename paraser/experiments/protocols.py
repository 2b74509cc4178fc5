"""Within-corpus evaluation protocols: how a corpus is split into folds.

Speaker-independent splitting is the default whenever a corpus has speaker
ids.  Some corpora confound speaker and emotion (in URDU 26 of 29 speakers
carry one emotion each), so a speaker-independent fold can miss a class in
training or testing.  Within-corpus cells are scored once over the pooled
out-of-fold predictions (:data:`SCORING_RULE`), so a test fold lacking a class
is harmless; a training fold lacking one is named per row by
:func:`plan_splits`, never papered over by sharing speakers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

Splits = list[tuple[np.ndarray, np.ndarray]]

#: How every within-corpus cell is scored; written to config.json and under every table.
SCORING_RULE = (
    "Within-corpus UAR is computed once per seed over the pooled out-of-fold predictions "
    "(every utterance predicted exactly once, under a speaker-independent protocol by a "
    "model that never saw its speaker), then averaged over seeds; per-fold UARs (folds.csv) "
    "give the spread only; confidence intervals are a delete-one-speaker jackknife over the "
    "pooled predictions. Stratified cells (speakers shared) are a separately labelled "
    "protocol, never the ceiling of transfer drops, gains or correlations."
)


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
#: Every accepted spelling (the documented names and their aliases) -> ``factory(folds)``.
PROTOCOL_SPELLINGS: dict[str, Callable[[int], Protocol]] = {
    **dict.fromkeys(("auto", "speaker", "speaker-kfold", "group"), SpeakerKFoldProtocol),
    **dict.fromkeys(("loso", "leave-one-speaker-out"), lambda _folds: LeaveOneSpeakerOutProtocol()),
    **dict.fromkeys(("stratified", "kfold", "stratified-kfold"), StratifiedKFoldProtocol),
}


def make_protocol(name: str = "auto", folds: int = 5) -> Protocol:
    """``auto`` is speaker-independent k-fold (resolved per corpus by :func:`plan_splits`)."""
    factory = PROTOCOL_SPELLINGS.get(name)
    if factory is not None:
        return factory(folds)
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


def untrained_classes(labels: np.ndarray, splits: Splits) -> dict[int, list[str]]:
    """Fold index -> classes its training side lacks (empty when every fold sees all).

    A fold whose *test* side lacks a class is harmless once predictions are
    pooled over folds; a fold whose training side lacks one cannot predict it.
    """
    classes = set(labels)
    untrained = {}
    for fold, (train, _) in enumerate(splits):
        missing = classes - set(labels[train])
        if missing:
            untrained[fold] = sorted(str(c) for c in missing)
    return untrained


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
    #: Fold index -> classes its training side lacks (speaker-independent protocols).
    untrained: dict[int, list[str]] = field(default_factory=dict)


def _untrained_label(protocol: str, untrained: dict[int, list[str]]) -> str:
    """The protocol name with the folds that could not learn a class named in it."""
    if not untrained:
        return protocol
    folds = "; ".join(f"fold {f} without {', '.join(c)}" for f, c in sorted(untrained.items()))
    return f"{protocol} (trained {folds})"


def plan_splits(
    corpus: str, labels: np.ndarray, speakers: np.ndarray, protocol: Protocol, seed: int
) -> PlannedSplits:
    """Split ``corpus`` with ``protocol``; say so per row when a fold cannot learn a class.

    Speaker-independent protocols stay speaker-independent for every fold:
    scoring pools the out-of-fold predictions (:data:`SCORING_RULE`), so a fold
    whose test speakers lack a class is no obstacle.  A fold whose training
    speakers lack a class (every speaker of it sits in that fold's test side)
    keeps its speaker-independent split: its model cannot predict that class,
    its test utterances of that class count as errors, and the protocol name
    and a note name the fold and class: the class is not learnable
    speaker-independently there, a finding rather than a reason to share
    speakers.  Speaker k-fold with fewer speakers than folds uses
    leave-one-speaker-out (still speaker-independent).  Only a corpus with a
    single speaker id, where no speaker-independent split exists, is split
    stratified, labelled as such in every row and a note.
    """
    if not protocol.speaker_independent:
        return PlannedSplits(protocol.splits(corpus, labels, speakers, seed), protocol.name)
    name, note = protocol.name, None
    try:
        splits = protocol.splits(corpus, labels, speakers, seed)
    except DegenerateSplitError as exc:
        # The message names the corpus first; a corpus name may itself hold ": ".
        reason = str(exc).removeprefix(f"{corpus}: ")
        if isinstance(protocol, SpeakerKFoldProtocol) and len(set(speakers)) >= 2:
            loso = LeaveOneSpeakerOutProtocol()
            splits = loso.splits(corpus, labels, speakers, seed)
            name = f"{loso.name} (fallback from {protocol.name})"
            note = (
                f"{corpus}: {protocol.name} is not possible ({reason}), so within-corpus "
                f"results use {loso.name} (still speaker-independent)."
            )
        else:
            folds = protocol.folds if isinstance(protocol, SpeakerKFoldProtocol) else 5
            fallback = StratifiedKFoldProtocol(folds)
            return PlannedSplits(
                fallback.splits(corpus, labels, speakers, seed),
                f"{fallback.name} (fallback from {protocol.name}: one speaker id)",
                f"{corpus}: {reason}; no speaker-independent split exists, so its within-corpus "
                f"results use {fallback.name}: speakers shared, optimistic.",
            )
    untrained = untrained_classes(labels, splits)
    if untrained:
        association = speaker_label_association(labels, speakers)
        folds = "; ".join(f"fold {f} has no {', '.join(c)}" for f, c in sorted(untrained.items()))
        untrained_note = (
            f"{corpus}: {folds} in training (speaker-label association Cramér's V = "
            f"{association:.2f}): not learnable speaker-independently in that fold, so its "
            "test utterances of that class count as errors; every fold stays "
            "speaker-independent."
        )
        note = f"{note} {untrained_note}" if note else untrained_note
    return PlannedSplits(splits, _untrained_label(name, untrained), note, untrained)
