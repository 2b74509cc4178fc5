"""Shift diagnostics on synthetic data where the answer is known."""

from __future__ import annotations

import numpy as np

from paraser.experiments.shift import (
    descriptor_family,
    family_shift,
    feature_shift,
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
