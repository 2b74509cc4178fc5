"""Transductive methods see a target's audio and nothing else: no label, not even to choose rows.

Every adaptation method and normalisation strategy is run twice on the same
corpora with the target's labels reshuffled, including swaps between labels
inside and outside the label space (so a different set of rows is
evaluated).  Every utterance predicted in both runs must get a bit-identical
prediction: had any fit read a target label, or chosen the target rows it
sees by label, some prediction would move.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from invariants import assert_grid_invariants

from paraser.experiments import StratifiedKFoldProtocol, run_grid
from paraser.experiments.adaptation import ADAPTATIONS
from paraser.experiments.normalisation import NORMALISATIONS
from paraser.experiments.transfer import UnlabelledRows

CLASSES = ["anger", "happiness", "neutral", "sadness"]


def corpus(name: str, seed: int, shift: float = 0.0, outside: int = 0):
    """Four Gaussian classes over 6 speakers, plus ``outside`` rows of a fifth, unused class."""
    from paraser.experiments import CorpusData

    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(42).normal(0, 2.5, (5, 6))
    codes = np.repeat(np.arange(4), 18)
    x = centres[codes] + rng.normal(0, 1, (len(codes), 6)) + shift
    speakers = np.array([f"{name}:s{i % 6}" for i in range(len(codes))])
    frame = pd.DataFrame(
        {
            "corpus": name,
            "utterance": [f"{name}_{i}.wav" for i in range(len(codes))],
            "label": np.array(CLASSES)[codes],
            "speaker": speakers,
        }
    )
    unlabelled = None
    if outside:
        extra = centres[4] + rng.normal(0, 1, (outside, 6)) + shift
        unlabelled = UnlabelledRows(
            np.array([f"{name}:s{i % 6}" for i in range(outside)]),
            {"f": extra.astype(np.float32)},
        )
    return CorpusData(name, frame, {"f": x.astype(np.float32)}, unlabelled=unlabelled)


def swap_in_and_out(target, seed: int):
    """The same audio with labels reshuffled, and some labelled rows swapped with outside ones."""
    rng = np.random.default_rng(seed)
    n_swap = 10
    inside = rng.choice(len(target.frame), n_swap, replace=False)
    outside = rng.choice(len(target.unlabelled.speakers), n_swap, replace=False)
    # Every utterance keeps its audio (features) and speaker; only the labels move.
    frame = target.frame.copy()
    features = target.features["f"].copy()
    extra = target.unlabelled.features["f"].copy()
    extra_speakers = target.unlabelled.speakers.copy()
    moved_in = extra[outside].copy(), extra_speakers[outside].copy()
    extra[outside] = features[inside]
    extra_speakers[outside] = frame.speaker.to_numpy()[inside]
    features[inside] = moved_in[0]
    frame.loc[inside, "speaker"] = moved_in[1]
    frame.loc[inside, "utterance"] = [f"swapped_{i}.wav" for i in outside]
    frame["label"] = rng.permutation(frame["label"].to_numpy())
    return replace(
        target,
        frame=frame,
        features={"f": features},
        unlabelled=UnlabelledRows(extra_speakers, {"f": extra}),
    )


def transfer_predictions(source, target, **factors) -> pd.DataFrame:
    """Predictions of every source -> target transfer cell of a two-corpus grid."""
    grid = run_grid(
        [source, target], ["f"], ["svm"], protocol=StratifiedKFoldProtocol(3), within=False,
        **factors,
    )  # fmt: skip
    assert_grid_invariants(grid, [source, target])
    return grid.predictions[grid.predictions.target == target.name]


@pytest.mark.parametrize("normalisation", NORMALISATIONS)
def test_target_labels_never_reach_an_adapted_prediction(normalisation):
    source = corpus("src", seed=1)
    target = corpus("tgt", seed=2, shift=1.5, outside=30)
    relabelled = swap_in_and_out(target, seed=3)
    original, shuffled = (
        transfer_predictions(source, t, normalisations=(normalisation,), adaptations=ADAPTATIONS)
        for t in (target, relabelled)
    )
    keys = ["adaptation", "source", "target", "utterance"]
    merged = original.merge(shuffled, on=keys, suffixes=("", "_relabelled"))
    # The shared utterances: labelled in both runs (most of them).
    assert merged.utterance.nunique() >= len(target.frame) - 10
    assert set(merged.adaptation) == set(ADAPTATIONS)
    different = merged[merged.y_pred != merged.y_pred_relabelled]
    assert different.empty, different.groupby("adaptation").size().to_dict()


def test_adapters_see_rows_outside_the_label_space():
    source = corpus("src", seed=1)
    with_outside = corpus("tgt", seed=2, shift=1.5, outside=30)
    without = replace(with_outside, unlabelled=None)
    coral = [
        p[p.adaptation == "coral"]
        for p in (
            transfer_predictions(source, t, adaptations=("coral",)) for t in (with_outside, without)
        )
    ]
    # CORAL's target covariance includes the outside rows, so some predictions differ,
    # while the evaluated rows are the same labelled utterances.
    assert list(coral[0].utterance) == list(coral[1].utterance)
    assert (coral[0].y_pred.to_numpy() != coral[1].y_pred.to_numpy()).any()
