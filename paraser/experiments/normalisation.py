"""Feature normalisation strategies compared side by side.

``train``    standardisation fitted on the training data only (inside every
             classifier pipeline; the baseline, always applied).
``corpus``   each corpus standardised with its own statistics first: for a
             target corpus these come from its unlabelled features
             (transductive, label-free).
``speaker``  each speaker standardised with their own statistics (label-free).
             Useless, even harmful, when speakers each carry nearly one emotion:
             the speaker mean *is* the emotion.  Such corpora are detected
             (Cramér's V between speaker and label) and normalised per corpus
             instead, with a note.
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


def normalise(corpus, strategy: str):
    """Return ``(corpus with normalised features, note or None)``.

    Augmented copies are normalised with the statistics of the original
    utterances (of their corpus, or of their speaker), never their own.
    """
    if strategy == "train":
        return corpus, None
    if strategy not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation '{strategy}': use {', '.join(NORMALISATIONS)}")
    note = None
    speakers = corpus.frame["speaker"].to_numpy(str)
    groups = np.zeros(len(speakers), dtype=int).astype(str)
    if strategy == "speaker":
        association = speaker_label_association(corpus.labels, speakers)
        if association > CONFOUND_THRESHOLD:
            note = (
                f"{corpus.name}: speakers and labels are confounded (Cramér's V = "
                f"{association:.2f} > {CONFOUND_THRESHOLD}); per-speaker normalisation would "
                "remove the emotion itself, so this corpus is normalised per corpus instead"
            )
        else:
            groups = speakers
    features = {name: standardise_groups(v, groups) for name, v in corpus.features.items()}
    augmented = {}
    for recipe, copies in corpus.augmented.items():
        copy_groups = groups[copies.origin]
        scaled = {}
        for name, values in copies.features.items():
            scaled[name] = np.empty(values.shape, dtype=np.float32)
            for group in np.unique(copy_groups):
                own, originals = copy_groups == group, groups == group
                original = corpus.features[name][originals]
                scaled[name][own] = _standardiser(original)(values[own])
        augmented[recipe] = replace(copies, features=scaled)
    return replace(corpus, features=features, augmented=augmented), note
