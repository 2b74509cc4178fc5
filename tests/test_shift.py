"""Shift diagnostics on synthetic data where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from builders import frechet_reference

from paraser.experiments.shift import (
    descriptor_family,
    domain_classifier_cv,
    family_shift,
    feature_shift,
    frechet_distance,
    mmd_rbf,
    proxy_a_distance,
)


def _samples(n=150, d=6, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) + shift


def test_identical_distributions_show_no_significant_shift():
    x, y = _samples(seed=1), _samples(seed=2)
    result = mmd_rbf(x, y, n_permutations=200)
    assert result.p_value > 0.05 and result.mmd2 < 0.02
    assert proxy_a_distance(x, y) < 0.4


def test_mean_shift_is_detected_and_located():
    x = _samples(seed=1)
    y = _samples(seed=2)
    y[:, 2] += 1.5  # only one feature moves
    result = mmd_rbf(x, y, n_permutations=200)
    assert result.p_value < 0.01
    assert proxy_a_distance(x, y) > 0.8
    names = ["F0semitone_amean", "loudness_amean", "mfcc1_amean", "jitter", "hnr", "slope"]
    shift = feature_shift(x, y, names)
    assert shift.feature.iloc[0] == "mfcc1_amean" and shift.smd.iloc[0] > 1.0
    assert family_shift(shift).family.iloc[0] == "mfcc"


def test_descriptor_families():
    assert descriptor_family("F0semitoneFrom27.5Hz_sma3nz_amean") == "pitch"
    assert descriptor_family("loudness_sma3_amean") == "energy"
    assert descriptor_family("equivalentSoundLevel_dBp") == "energy"
    assert descriptor_family("mfcc2_sma3_amean") == "mfcc"
    assert descriptor_family("HNRdBACF_sma3nz_amean") == "voice quality"
    assert descriptor_family("slopeV0-500_sma3nz_amean") == "spectral"


def _speaker_corpus(n_speakers=10, per_speaker=20, d=40, seed=0):
    """Utterances around each speaker's own offset: with more features than speakers, a
    linear classifier can memorise who is speaking."""
    rng = np.random.default_rng(seed)
    offsets = rng.normal(0, 1, (n_speakers, d))
    speaker = np.repeat(np.arange(n_speakers), per_speaker)
    return offsets[speaker] + rng.normal(size=(len(speaker), d)), speaker


def test_pad_holds_out_speakers_so_speaker_identity_is_not_corpus_identity():
    # Two halves of ONE corpus, split by speaker: nothing tells the halves apart
    # except who is speaking.
    x, speaker = _speaker_corpus()
    first, second = speaker < 5, speaker >= 5
    by_utterance = domain_classifier_cv(x[first], x[second])
    assert by_utterance.unit == "utterance" and by_utterance.pad > 1.0
    # Speaker ids repeat across the halves ("s0".."s4" in both) and must not merge.
    ids = np.array([f"s{k % 5}" for k in speaker])
    grouped = domain_classifier_cv(
        x[first], x[second], speakers_x=ids[first], speakers_y=ids[second]
    )
    assert grouped.unit == "speaker" and grouped.folds == 5
    assert grouped.pad < 0.5
    assert proxy_a_distance(
        x[first], x[second], speakers_x=ids[first], speakers_y=ids[second]
    ) == pytest.approx(grouped.pad)


def test_pad_falls_back_to_utterances_without_two_speakers_per_corpus():
    x, y = _samples(seed=1), _samples(seed=2, shift=1.0)
    one = domain_classifier_cv(x, y, speakers_x=np.array(["a"] * len(x)), speakers_y=None)
    assert one.unit == "utterance" and one.folds == 5
    few = domain_classifier_cv(
        x, y, speakers_x=np.arange(len(x)) % 3, speakers_y=np.arange(len(y)) % 2
    )
    assert few.unit == "speaker" and few.folds == 2


def test_frechet_ranks_pairs_where_pad_is_saturated():
    base = _samples(n=200, d=5, seed=1)
    near, far = _samples(n=200, d=5, seed=2, shift=4.0), _samples(n=200, d=5, seed=3, shift=8.0)
    assert proxy_a_distance(base, near) == proxy_a_distance(base, far) == 2.0
    assert frechet_distance(base, far) > 2 * frechet_distance(base, near)
    assert frechet_distance(base, _samples(n=200, d=5, seed=4)) < 0.05


def test_frechet_matches_the_gaussian_formula():
    rng = np.random.default_rng(5)
    for n_x, n_y, d in ((60, 80, 4), (30, 20, 40)):  # also fewer rows than features
        x = rng.normal(size=(n_x, d)) @ rng.normal(size=(d, d))
        y = rng.normal(size=(n_y, d)) * 2 + 1
        assert frechet_distance(x, y) == pytest.approx(frechet_reference(x, y), rel=1e-6)
        assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-9)
