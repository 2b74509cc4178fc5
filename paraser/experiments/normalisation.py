"""Feature normalisation strategies compared side by side.

``train``    standardisation fitted on the training data only (inside every
             classifier pipeline; the baseline, always applied).
``corpus``   each corpus standardised with its own statistics first: for a
             target corpus these come from its unlabelled features
             (transductive, label-free).
``speaker``  each speaker standardised with their own statistics (label-free).
             Useless, even harmful, when speakers each carry nearly one emotion:
             the speaker mean *is* the emotion.  Whether a training set is
             confounded that way is checked on *its own labels* (Cramér's V
             between speaker and label, see :func:`confounded`), per training
             fold and per transfer source, and such training data is
             standardised per corpus instead.  A test set or target cannot be
             checked without reading its labels, so it is always standardised
             per speaker (the report says so).

Statistics always come from every utterance of the corpus (or speaker),
whatever its label: which rows a label-free method sees is never chosen by
label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from paraser.experiments.protocols import speaker_label_association

NORMALISATIONS = ("train", "corpus", "speaker")

#: Above this speaker-label association, per-speaker normalisation removes the emotion.
CONFOUND_THRESHOLD = 0.6


def _standardiser(values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Standardisation with the statistics of ``values`` (a single row has no spread: 0)."""
    if len(values) < 2:
        return lambda x: np.zeros(np.shape(x), dtype=np.float32)
    mean = values.mean(axis=0, dtype=np.float64)
    std = values.std(axis=0, dtype=np.float64)
    std[std < 1e-8] = 1.0  # constant features stay constant instead of dividing by zero
    return lambda x: ((x - mean) / std).astype(np.float32)


def standardise_groups(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Each group (or, with ``groups=None``, the whole set) standardised with its own statistics."""
    groups = np.zeros(len(values), dtype=int) if groups is None else np.asarray(groups)
    out = np.empty(np.shape(values), dtype=np.float32)
    for group in np.unique(groups):
        rows = groups == group
        out[rows] = _standardiser(values[rows])(values[rows])
    return out


def confounded(labels: np.ndarray, speakers: np.ndarray) -> bool:
    """Do these (training) speakers each carry nearly one emotion?"""
    return speaker_label_association(labels, speakers) > CONFOUND_THRESHOLD


def normalise(corpus, strategy: str):
    """The corpus with every feature matrix standardised per corpus or per speaker.

    Label-free: statistics over all of the corpus' utterances (its
    :attr:`~paraser.experiments.transfer.CorpusData.unlabelled` rows too).
    Augmented copies are normalised with the statistics of the original
    utterances (of their corpus, or of their speaker), never their own.
    """
    if strategy == "train":
        return corpus
    if strategy not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation '{strategy}': use {', '.join(NORMALISATIONS)}")
    speakers = corpus.all_speakers()
    groups = speakers if strategy == "speaker" else np.zeros(len(speakers), dtype=int).astype(str)
    n = len(corpus.frame)
    features, outside = {}, {}
    for name in corpus.features:
        every_row = standardise_groups(corpus.all_features(name), groups)
        features[name], outside[name] = every_row[:n], every_row[n:]
    unlabelled = (
        replace(corpus.unlabelled, features=outside) if corpus.unlabelled is not None else None
    )
    everything = {name: corpus.all_features(name) for name in corpus.features}
    augmented = {}
    for recipe, copies in corpus.augmented.items():
        copy_groups = groups[:n][copies.origin]
        scaled = {}
        for name, values in copies.features.items():
            scaled[name] = np.empty(values.shape, dtype=np.float32)
            for group in np.unique(copy_groups):
                own, reference = copy_groups == group, groups == group
                scaled[name][own] = _standardiser(everything[name][reference])(values[own])
        augmented[recipe] = replace(copies, features=scaled)
    return replace(corpus, features=features, augmented=augmented, unlabelled=unlabelled)
