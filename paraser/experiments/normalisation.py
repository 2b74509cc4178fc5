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

from dataclasses import replace

import numpy as np

from paraser.experiments.protocols import speaker_label_association

NORMALISATIONS = ("train", "corpus", "speaker")

#: Above this speaker-label association, per-speaker normalisation removes the emotion.
CONFOUND_THRESHOLD = 0.6


def _standardise(values: np.ndarray) -> np.ndarray:
    mean = values.mean(axis=0, dtype=np.float64)
    std = values.std(axis=0, dtype=np.float64)
    std[std < 1e-8] = 1.0  # constant features stay constant instead of dividing by zero
    return ((values - mean) / std).astype(np.float32)


def normalise(corpus, strategy: str):
    """Return ``(corpus with normalised features, note or None)``."""
    if strategy == "train":
        return corpus, None
    if strategy not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation '{strategy}': use {', '.join(NORMALISATIONS)}")
    note = None
    groups = None
    if strategy == "speaker":
        speakers = corpus.frame["speaker"].to_numpy(str)
        association = speaker_label_association(corpus.labels, speakers)
        if association > CONFOUND_THRESHOLD:
            note = (
                f"{corpus.name}: speakers and labels are confounded (Cramér's V = "
                f"{association:.2f} > {CONFOUND_THRESHOLD}); per-speaker normalisation would "
                "remove the emotion itself, so this corpus is normalised per corpus instead"
            )
        else:
            groups = speakers
    features = {}
    for name, values in corpus.features.items():
        if groups is None:
            features[name] = _standardise(values)
            continue
        out = np.empty_like(values, dtype=np.float32)
        for speaker in np.unique(groups):
            rows = groups == speaker
            out[rows] = _standardise(values[rows]) if rows.sum() > 1 else 0.0
        features[name] = out
    return replace(corpus, features=features), note
