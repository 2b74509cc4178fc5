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


def _standardise(
    values: np.ndarray, copies: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Standardise ``values`` with their own statistics; ``copies`` (augmented) with the same."""
    mean = values.mean(axis=0, dtype=np.float64)
    std = values.std(axis=0, dtype=np.float64)
    std[std < 1e-8] = 1.0  # constant features stay constant instead of dividing by zero

    def apply(x: np.ndarray) -> np.ndarray:
        return ((x - mean) / std).astype(np.float32)

    return apply(values), None if copies is None else apply(copies)


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
    features = {name: np.empty_like(v, dtype=np.float32) for name, v in corpus.features.items()}
    augmented = {
        recipe: replace(
            copies,
            features={n: np.empty_like(v, dtype=np.float32) for n, v in copies.features.items()},
        )
        for recipe, copies in corpus.augmented.items()
    }
    for group in np.unique(groups):
        rows = groups == group
        copy_rows = {r: rows[c.origin] for r, c in corpus.augmented.items()}
        for name, values in corpus.features.items():
            if rows.sum() < 2:  # one utterance has no spread: it sits at its group's mean
                features[name][rows] = 0.0
                for recipe, copies in augmented.items():
                    copies.features[name][copy_rows[recipe]] = 0.0
                continue
            for recipe, copies in corpus.augmented.items():
                _, augmented[recipe].features[name][copy_rows[recipe]] = _standardise(
                    values[rows], copies.features[name][copy_rows[recipe]]
                )
            features[name][rows], _ = _standardise(values[rows])
    return replace(corpus, features=features, augmented=augmented), note
