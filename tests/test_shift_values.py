"""Shift diagnostics on hand-worked numbers (experiments/shift.py).

Tiny samples whose MMD, bandwidth, permutation p-value, Fréchet distance, SMD, KS,
families, priors and total variation are worked out by hand or by a plain reference
written here (loops, sklearn's own cross-validation), so a changed constant, sign,
comparison or key fails here (and mutation testing of the module runs in seconds).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
import pytest
from builders import frechet_reference
from scipy.stats import ks_2samp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import PredefinedSplit, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from paraser.experiments import CorpusData
from paraser.experiments.shift import (
    FAMILY_COLUMNS,
    FEATURE_COLUMNS,
    PRIOR_COLUMNS,
    SHIFT_COLUMNS,
    _pooled_standardise,
    _speaker_folds,
    class_conditional_mmd,
    class_priors,
    descriptor_family,
    domain_classifier_cv,
    family_shift,
    feature_shift,
    frechet_distance,
    mmd_rbf,
    proxy_a_distance,
    shift_tables,
    total_variation,
)


def _normal(rows: int, columns: int, tag: str, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(tag.encode())).normal(size=(rows, columns)) + shift


# --- a plain reference of the MMD: loops over pairs, the same random draws ------------------


def _reference_mmd(x, y, n_permutations=200, max_samples=500, seed=0):
    """(mmd2, bandwidth, p) by loops: pooled z-scores, median heuristic, permutations."""
    rng = np.random.default_rng(seed)
    if len(x) > max_samples:
        x = x[rng.choice(len(x), max_samples, replace=False)]
    if len(y) > max_samples:
        y = y[rng.choice(len(y), max_samples, replace=False)]
    pooled = np.vstack([x, y]).astype(float)
    mean, std = pooled.mean(axis=0), pooled.std(axis=0)
    std = np.where(std < 1e-12, 1.0, std)
    z = (pooled - mean) / std
    m, n = len(z), len(x)
    dist = [[float(np.sum((z[i] - z[j]) ** 2)) for j in range(m)] for i in range(m)]
    off = sorted(dist[i][j] for i in range(m) for j in range(i + 1, m))
    middle = len(off) // 2
    median = off[middle] if len(off) % 2 else (off[middle - 1] + off[middle]) / 2
    bandwidth = math.sqrt(median) or 1.0
    kernel = [[math.exp(-dist[i][j] / (2 * bandwidth**2)) for j in range(m)] for i in range(m)]

    def block(rows, columns):
        return sum(kernel[i][j] for i in rows for j in columns) / (len(rows) * len(columns))

    def statistic(order):
        a, b = list(order[:n]), list(order[n:])
        return block(a, a) + block(b, b) - 2 * block(a, b)

    observed = statistic(np.arange(m))
    exceed = sum(statistic(rng.permutation(m)) >= observed for _ in range(n_permutations))
    return observed, bandwidth, (exceed + 1) / (n_permutations + 1)


def _assert_mmd(result, expected, n_permutations):
    mmd2, bandwidth, p = expected
    assert result.mmd2 == pytest.approx(mmd2, rel=1e-9, abs=1e-12)
    assert result.bandwidth == pytest.approx(bandwidth, rel=1e-12)
    assert result.p_value == pytest.approx(p, rel=1e-12)
    assert result.n_permutations == n_permutations


# --- pooled standardisation ------------------------------------------------------------------


def test_pooled_standardise_by_hand():
    # Column 0: pooled 0, 2, 4, 6 -> mean 3, population SD sqrt(5).
    # Column 1: constant -> SD replaced by 1, so it stays 0.
    # Column 2: SD 5e-14 (below 1e-12) -> replaced by 1, values keep their tiny offset.
    x = np.array([[0.0, 7.0, 0.0], [2.0, 7.0, 0.0]])
    y = np.array([[4.0, 7.0, 1e-13], [6.0, 7.0, 1e-13]])
    zx, zy = _pooled_standardise(x, y)
    root5 = math.sqrt(5)
    assert zx[:, 0] == pytest.approx([-3 / root5, -1 / root5], rel=1e-12)
    assert zy[:, 0] == pytest.approx([1 / root5, 3 / root5], rel=1e-12)
    assert np.all(zx[:, 1] == 0) and np.all(zy[:, 1] == 0)
    assert zx[:, 2] == pytest.approx([-5e-14, -5e-14], rel=1e-6)
    assert zy[:, 2] == pytest.approx([5e-14, 5e-14], rel=1e-6)
    # A spread of 0.5 is kept (only spreads below 1e-12 are replaced).
    zx, zy = _pooled_standardise(np.array([[0.0]]), np.array([[1.0]]))
    assert zx[0, 0] == pytest.approx(-1.0) and zy[0, 0] == pytest.approx(1.0)


# --- MMD -------------------------------------------------------------------------------------


def test_mmd_of_two_points_by_hand():
    # z-scores -1 and 1: squared distance 4, bandwidth sqrt(4) = 2, cross kernel
    # exp(-4 / 8); MMD^2 = 1 + 1 - 2 exp(-0.5).  Swapping the two points gives the same
    # statistic exactly, so every permutation ties with the observed one (>=): p = 1.
    result = mmd_rbf(np.array([[0.0]]), np.array([[1.0]]), n_permutations=5)
    assert result.mmd2 == pytest.approx(2 - 2 * math.exp(-0.5), rel=1e-12)
    assert result.bandwidth == pytest.approx(2.0, rel=1e-12)
    assert result.p_value == 1.0 and result.n_permutations == 5


def test_mmd_of_a_square_by_hand():
    # x at (0,0),(0,2), y at (2,0),(2,2): z-scores (+-1, +-1); squared distances 4 along an
    # edge, 8 across; median 4 -> bandwidth 2; MMD^2 = (1 + e^-.5) - (e^-.5 + e^-1) = 1 - 1/e.
    x = np.array([[0.0, 0.0], [0.0, 2.0]])
    y = np.array([[2.0, 0.0], [2.0, 2.0]])
    result = mmd_rbf(x, y, n_permutations=0)
    assert result.mmd2 == pytest.approx(1 - math.exp(-1), rel=1e-12)
    assert result.bandwidth == pytest.approx(2.0, rel=1e-12)
    assert result.p_value == 1.0 and result.n_permutations == 0


def test_mmd_of_identical_points_uses_bandwidth_one():
    # Every distance 0: the median heuristic gives 0, replaced by 1; MMD^2 0.
    same = np.ones((3, 2))
    result = mmd_rbf(same, same.copy(), n_permutations=0)
    assert result.bandwidth == 1.0 and result.mmd2 == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    ("rows_x", "rows_y", "options"),
    [
        (6, 6, {"n_permutations": 30, "seed": 3}),
        (5, 7, {"n_permutations": 25, "seed": 11}),
        (7, 6, {"n_permutations": 20, "max_samples": 7, "seed": 4}),  # == max: no subsample
        (9, 8, {"n_permutations": 20, "max_samples": 5, "seed": 2}),  # both subsampled
        (4, 9, {"n_permutations": 20, "max_samples": 6, "seed": 1}),  # only y subsampled
    ],
)
def test_mmd_matches_the_loop_reference(rows_x, rows_y, options):
    x = _normal(rows_x, 3, f"x{rows_x}{rows_y}")
    y = _normal(rows_y, 3, f"y{rows_x}{rows_y}", shift=0.4)
    result = mmd_rbf(x, y, **options)
    _assert_mmd(result, _reference_mmd(x, y, **options), options["n_permutations"])


def test_mmd_defaults_seed_zero_and_200_permutations():
    x, y = _normal(5, 2, "dx"), _normal(5, 2, "dy", shift=0.3)
    _assert_mmd(mmd_rbf(x, y), _reference_mmd(x, y, n_permutations=200, seed=0), 200)


def test_mmd_subsamples_only_above_500_rows():
    # 501 rows are cut to 500 (seeded); 500 rows are used whole.
    x, y = _normal(501, 1, "big-x"), _normal(3, 1, "big-y", shift=1.0)
    cut = x[np.random.default_rng(0).choice(501, 500, replace=False)]
    assert mmd_rbf(x, y, n_permutations=0).mmd2 == pytest.approx(
        mmd_rbf(cut, y, n_permutations=0).mmd2, rel=1e-9
    )
    assert mmd_rbf(x, y, n_permutations=0).mmd2 != pytest.approx(
        mmd_rbf(x[:500], y, n_permutations=0, max_samples=501).mmd2, rel=1e-9
    )
    big_y = _normal(501, 1, "big-y2")
    first = np.random.default_rng(0).choice(501, 500, replace=False)
    assert mmd_rbf(y, big_y, n_permutations=0).mmd2 == pytest.approx(
        mmd_rbf(y, big_y[first], n_permutations=0).mmd2, rel=1e-9
    )


def test_mmd_p_value_of_a_clear_shift_is_the_smallest_possible():
    x, y = _normal(6, 2, "clear-x"), _normal(6, 2, "clear-y", shift=10.0)
    result = mmd_rbf(x, y, n_permutations=19, seed=5)
    assert result.p_value == pytest.approx(1 / 20)


# --- the domain classifier --------------------------------------------------------------------


def _model():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))


def _reference_speaker_folds(speakers, folds, rng):
    order = list(dict.fromkeys(str(s) for s in speakers))
    permutation = rng.permutation(len(order))
    fold_of = {order[permutation[i]]: i % folds for i in range(len(order))}
    return np.array([fold_of[str(s)] for s in speakers])


def test_speaker_folds_by_hand():
    # Speakers in order of appearance b, a, c; permutation [2, 0, 1] of seed 0 deals
    # c -> fold 0, b -> fold 1, a -> fold 0 (position modulo 2).
    assert list(np.random.default_rng(0).permutation(3)) == [2, 0, 1]
    folds = _speaker_folds(np.array(["b", "a", "b", "c"]), 2, np.random.default_rng(0))
    assert list(folds) == [1, 0, 1, 0]
    speakers = np.array([f"s{i % 5}" for i in range(12)])
    assert list(_speaker_folds(speakers, 3, np.random.default_rng(7))) == list(
        _reference_speaker_folds(speakers, 3, np.random.default_rng(7))
    )


def test_domain_cv_over_speakers_matches_sklearn():
    x, y = _normal(24, 3, "dom-x"), _normal(20, 3, "dom-y", shift=0.5)
    sx = np.array([f"p{i % 4}" for i in range(24)])
    sy = np.array([f"p{i % 3}" for i in range(20)])  # same ids, another corpus: kept apart
    result = domain_classifier_cv(x, y, speakers_x=sx, speakers_y=sy, seed=4)
    rng = np.random.default_rng(4)
    test_fold = np.r_[_reference_speaker_folds(sx, 3, rng), _reference_speaker_folds(sy, 3, rng)]
    expected = cross_val_score(
        _model(),
        np.vstack([x, y]),
        np.r_[np.zeros(24), np.ones(20)],
        cv=PredefinedSplit(test_fold),
        scoring="balanced_accuracy",
    ).mean()
    assert result.unit == "speaker" and result.folds == 3
    assert result.balanced_accuracy == pytest.approx(expected, rel=1e-12)
    assert result.pad == pytest.approx(max(0.0, 4 * expected - 2), rel=1e-12)


def _utterance_reference(x, y, folds=5, seed=0):
    return cross_val_score(
        _model(),
        np.vstack([x, y]),
        np.r_[np.zeros(len(x)), np.ones(len(y))],
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        scoring="balanced_accuracy",
    ).mean()


def test_domain_cv_over_utterances_matches_sklearn_and_pad_formula():
    # A partial shift: balanced accuracy strictly between 0.5 and 1, PAD 4 b - 2 in (0, 2).
    x, y = _normal(20, 2, "utt-x"), _normal(20, 2, "utt-y", shift=0.6)
    expected = _utterance_reference(x, y, folds=4, seed=2)
    assert 0.5 < expected < 0.99
    result = domain_classifier_cv(x, y, folds=4, seed=2)
    assert (result.unit, result.folds) == ("utterance", 4)
    assert result.balanced_accuracy == pytest.approx(expected, rel=1e-12)
    assert result.pad == pytest.approx(4 * expected - 2, rel=1e-12)
    assert proxy_a_distance(x, y, folds=4, seed=2) == pytest.approx(4 * expected - 2, rel=1e-12)
    # Defaults: 5 folds, seed 0.
    default = domain_classifier_cv(x, y)
    assert (default.unit, default.folds) == ("utterance", 5)
    assert default.balanced_accuracy == pytest.approx(_utterance_reference(x, y), rel=1e-12)


def test_pad_is_zero_below_chance():
    # Two samples of one distribution: cross-validated accuracy below 0.5, PAD clipped to 0.
    x, y = _normal(15, 2, "same-x"), _normal(15, 2, "same-y")
    expected = _utterance_reference(x, y)
    assert expected < 0.5
    result = domain_classifier_cv(x, y)
    assert result.balanced_accuracy == pytest.approx(expected, rel=1e-12)
    assert result.pad == 0.0


def test_domain_cv_falls_back_to_utterances():
    x, y = _normal(12, 2, "fb-x"), _normal(12, 2, "fb-y", shift=0.5)
    expected = _utterance_reference(x, y, folds=3, seed=1)
    two = np.array(["a", "b"] * 6)
    cases = [
        {"speakers_x": two, "speakers_y": None},
        {"speakers_x": None, "speakers_y": two},
        {"speakers_x": two, "speakers_y": np.array(["a", None] * 6, dtype=object)},
        {"speakers_x": np.array([np.nan, "b"] * 6, dtype=object), "speakers_y": two},
        {"speakers_x": np.array(["a"] * 12), "speakers_y": two},  # one speaker: 1 fold
        {"speakers_x": two, "speakers_y": np.array(["z"] * 12)},
    ]
    for speakers in cases:
        result = domain_classifier_cv(x, y, folds=3, seed=1, **speakers)
        assert (result.unit, result.folds) == ("utterance", 3), speakers
        assert result.balanced_accuracy == pytest.approx(expected, rel=1e-12), speakers
    # Two speakers each is enough: two folds over speakers.
    grouped = domain_classifier_cv(x, y, speakers_x=two, speakers_y=two, folds=3, seed=1)
    assert (grouped.unit, grouped.folds) == ("speaker", 2)


# --- Fréchet distance ---------------------------------------------------------------------------


def test_frechet_of_one_feature_by_hand():
    # x = 0, 2 and y = 4, 6: both variances 2 (ddof 1), scale sqrt(2); mean difference
    # 4 / sqrt(2) -> squared 8; equal spreads add nothing.
    assert frechet_distance(np.array([[0.0], [2.0]]), np.array([[4.0], [6.0]])) == pytest.approx(
        8.0, rel=1e-12
    )
    # x = 0, 2 (var 2) and y = 0, 4, 8 (var 16): scale sqrt(9) = 3; means 1 and 4 -> (3/3)^2 = 1;
    # spreads sqrt(2)/3 and 4/3 -> (4/3 - sqrt(2)/3)^2.
    value = frechet_distance(np.array([[0.0], [2.0]]), np.array([[0.0], [4.0], [8.0]]))
    assert value == pytest.approx(1 + ((4 - math.sqrt(2)) / 3) ** 2, rel=1e-12)


def test_frechet_is_per_feature_and_scales_constant_features_by_one():
    # Two features, the second constant 5 in both corpora (scale 1, no contribution):
    # the first gives 8 as above, divided by two features -> 4.
    x = np.array([[0.0, 5.0], [2.0, 5.0]])
    y = np.array([[4.0, 5.0], [6.0, 5.0]])
    assert frechet_distance(x, y) == pytest.approx(4.0, rel=1e-12)
    # A constant feature that differs between corpora by 1e-13: scale 1 keeps it tiny.
    x[:, 1], y[:, 1] = 0.0, 1e-13
    assert frechet_distance(x, y) == pytest.approx(4.0, rel=1e-9)
    # A spread of 0.5 is used as it is (only spreads below 1e-12 become 1): means 0 and
    # 0.5 with SDs sqrt(1/8) -> scaled mean difference sqrt(2).
    one = frechet_distance(np.array([[0.0], [0.5]]), np.array([[0.25], [0.75]]))
    assert one == pytest.approx(0.5, rel=1e-12)


def test_frechet_matches_the_gaussian_formula_on_small_samples():
    for tag, n_x, n_y, d in (("a", 6, 5, 3), ("b", 3, 4, 2)):
        x = _normal(n_x, d, f"fx{tag}") @ _normal(d, d, f"fm{tag}")
        y = _normal(n_y, d, f"fy{tag}") * 2 + 1
        assert frechet_distance(x, y) == pytest.approx(frechet_reference(x, y), rel=1e-6)


def test_frechet_of_identical_samples_is_zero_never_negative():
    x = _normal(5, 3, "same")
    assert frechet_distance(x, x.copy()) == pytest.approx(0.0, abs=1e-12)
    assert frechet_distance(x, x.copy()) >= 0.0
    # Rounding can leave the formula a hair below zero; the distance is clipped to 0.
    values = [frechet_distance(_normal(4, 3, f"z{k}"), _normal(4, 3, f"z{k}")) for k in range(8)]
    assert all(v >= 0.0 for v in values) and max(values) < 1e-12


# --- descriptor families -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("mfcc1_sma3_amean", "mfcc"),
        ("MFCC2", "mfcc"),  # matched case-insensitively
        ("F0final__Turn_duration", "temporal"),  # a duration before a pitch
        ("jitterLocal_sma3nz_amean", "voice quality"),
        ("alphaRatioV_sma3nz_amean", "voice quality"),
        ("logRelF0-H1-H2_sma3nz_amean", "voice quality"),
        ("F1frequency_sma3nz_amean", "formants"),
        ("F3amplitudeLogRelF0_sma3nz_amean", "formants"),
        ("F0semitoneFrom27.5Hz_sma3nz_amean", "pitch"),
        ("semitone", "pitch"),
        ("loudness_sma3_amean", "energy"),
        ("pcm_fftMag_sma_max", "energy"),
        ("spectralFlux_sma3_amean", "spectral"),
        ("lspFreq_sma_de[7]_amean", "spectral"),
        ("pcm_zcr_sma_stddev", "temporal"),
        ("MeanUnvoicedSegmentLength", "temporal"),
        ("durations", "temporal"),
        ("something_else", "other"),
    ],
)
def test_descriptor_family(name, family):
    assert descriptor_family(name) == family


# --- per-feature and per-family shift --------------------------------------------------------


NAMES = ["mfcc1", "loudness", "F0mean", "jitter"]


def _four_features():
    # mfcc1: x 0,2,4 / y 4,6,8 -> SMD +2 (pooled SD 2); loudness: x 3,4,5 / y 0,1,2 -> -3;
    # F0mean constant 1 in both -> SD 0, SMD 0; jitter: x 0,1,2 / y 2,3,4 -> +2 (ties with
    # mfcc1, which stays first: stable order).
    x = np.array([[0.0, 3, 1, 0], [2, 4, 1, 1], [4, 5, 1, 2]])
    y = np.array([[4.0, 0, 1, 2], [6, 1, 1, 3], [8, 2, 1, 4]])
    return x, y


def test_feature_shift_by_hand():
    x, y = _four_features()
    table = feature_shift(x, y, NAMES)
    assert list(table.columns) == ["feature", "family", "smd", "abs_smd", "ks", "ks_p"]
    assert list(table.feature) == ["loudness", "mfcc1", "jitter", "F0mean"]
    assert list(table.family) == ["energy", "mfcc", "voice quality", "pitch"]
    assert list(table.smd) == pytest.approx([-3.0, 2.0, 2.0, 0.0], rel=1e-12)
    assert list(table.abs_smd) == pytest.approx([3.0, 2.0, 2.0, 0.0], rel=1e-12)
    # KS: loudness and jitter fully/2-3 apart, mfcc1 2/3, equal constants 0.
    assert list(table.ks) == pytest.approx([1.0, 2 / 3, 2 / 3, 0.0], rel=1e-12)
    expected_p = [ks_2samp(x[:, j], y[:, j]).pvalue for j in (1, 0, 3, 2)]
    assert list(table.ks_p) == pytest.approx(expected_p, rel=1e-12)
    assert list(table.index) == [0, 1, 2, 3]


def test_feature_shift_keeps_the_input_order_of_ties():
    x = np.zeros((3, 5)) + np.arange(3)[:, None]
    y = x + 1.0  # every feature SMD +1: order unchanged
    names = [f"f{k}" for k in range(5)]
    assert list(feature_shift(x, y, names).feature) == names


def test_family_shift_by_hand():
    shift = pd.DataFrame(
        {
            "feature": ["a", "b", "c", "d"],
            "family": ["pitch", "energy", "pitch", "mfcc"],
            "abs_smd": [1.0, 0.5, 3.0, 1.5],
            "ks": [0.2, 0.1, 0.6, 0.3],
        }
    )
    summary = family_shift(shift)
    assert list(summary.columns) == ["family", "features", "mean_abs_smd", "mean_ks"]
    assert list(summary.family) == ["pitch", "mfcc", "energy"]
    assert list(summary.features) == [2, 1, 1]
    assert list(summary.mean_abs_smd) == pytest.approx([2.0, 1.5, 0.5])
    assert list(summary.mean_ks) == pytest.approx([0.4, 0.3, 0.1])
    assert list(summary.index) == [0, 1, 2]


# --- priors and class-conditional distance ----------------------------------------------------


def test_class_priors_by_hand():
    priors = class_priors("c1", np.array(["sad", "angry", "sad", "sad"]))
    assert list(priors.columns) == list(PRIOR_COLUMNS)
    assert priors.to_dict("list") == {
        "corpus": ["c1", "c1"],
        "class": ["angry", "sad"],
        "n": [1, 3],
        "share": [0.25, 0.75],
    }
    single = class_priors("c2", np.array(["x"]))
    assert single["share"].tolist() == [1.0] and single["n"].tolist() == [1]


def test_total_variation_by_hand():
    p = pd.Series({"a": 0.5, "b": 0.5})
    q = pd.Series({"b": 0.75, "c": 0.25})
    assert total_variation(p, q) == pytest.approx(0.5)  # (0.5 + 0.25 + 0.25) / 2
    assert total_variation(pd.Series({"a": 1.0}), pd.Series({"b": 1.0})) == 1.0
    assert total_variation(p, p.copy()) == 0.0


def test_class_conditional_mmd_by_hand():
    # Class "a": 5 rows each side (enough); "b": 5 in x but 4 in y (left out); "c": x only.
    x = _normal(13, 2, "cc-x")
    y = _normal(9, 2, "cc-y", shift=0.5)
    lx = np.array(["a"] * 5 + ["b"] * 5 + ["c"] * 3)
    ly = np.array(["b"] * 4 + ["a"] * 5)
    value, shared = class_conditional_mmd(x, y, lx, ly)
    assert shared == ["a"]
    assert value == pytest.approx(_reference_mmd(x[:5], y[4:], 0)[0], rel=1e-9)
    # With four per class enough, "b" joins: the mean of the two classes' MMD^2.
    value, shared = class_conditional_mmd(x, y, lx, ly, min_per_class=4)
    assert shared == ["a", "b"]
    expected = (_reference_mmd(x[:5], y[4:], 0)[0] + _reference_mmd(x[5:10], y[:4], 0)[0]) / 2
    assert value == pytest.approx(expected, rel=1e-9)
    # Subsampled per class, seeded.
    value, _ = class_conditional_mmd(x, y, lx, ly, max_samples=3, seed=6)
    assert value == pytest.approx(
        _reference_mmd(x[:5], y[4:], 0, max_samples=3, seed=6)[0], rel=1e-9
    )
    # No class qualifies: NaN and no classes.
    value, shared = class_conditional_mmd(x, y, lx, ly, min_per_class=6)
    assert math.isnan(value) and shared == []


# --- the shift tables -------------------------------------------------------------------------


def _corpus(name, x, labels, speakers=None):
    frame = pd.DataFrame({"label": labels})
    if speakers is not None:
        frame["speaker"] = speakers
    return CorpusData(name, frame, {"fs": x})


FEATURES = ["mfcc1", "loudness", "jitter"]


def _three_corpora():
    # "b" is shifted on loudness (feature 1) most, "c" on mfcc1; "a" has no speaker column.
    a = _corpus("a", _normal(12, 3, "ta"), np.array(["x", "y", "z"] * 4))
    shifted = _normal(10, 3, "tb") + np.array([0.5, 3.0, 1.0])
    b = _corpus("b", shifted, np.array(["x"] * 5 + ["y"] * 5), [f"s{i % 2}" for i in range(10)])
    c_x = _normal(11, 3, "tc") + np.array([2.0, 0.0, -1.0])
    c = _corpus("c", c_x, np.array(["x"] * 6 + ["w"] * 5), [f"s{i % 3}" for i in range(11)])
    return a, b, c


def test_shift_tables_of_three_corpora():
    a, b, c = _three_corpora()
    progress = []
    tables = shift_tables(
        [b, a, c],
        {"fs": FEATURES},
        n_permutations=9,
        max_samples=11,
        seed=3,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]
    shift = tables.shift
    assert list(shift.columns) == list(SHIFT_COLUMNS)
    pairs = list(zip(shift.source, shift.target))
    assert pairs == [("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b")]
    assert list(shift.index) == list(range(6))
    by_pair = {pair: row for pair, (_, row) in zip(pairs, shift.iterrows())}
    corpora = {"a": a, "b": b, "c": c}
    for (source, target), row in by_pair.items():
        x, y = corpora[source].features["fs"], corpora[target].features["fs"]
        lx, ly = corpora[source].labels, corpora[target].labels
        # The pair is computed once, in the order the corpora were given (b, a, c).
        first, second = sorted((source, target), key="bac".index)
        fx, fy = corpora[first].features["fs"], corpora[second].features["fs"]
        mmd2, bandwidth, p = _reference_mmd(fx, fy, 9, max_samples=11, seed=3)
        assert row.feature_set == "fs"
        assert row.mmd2 == pytest.approx(mmd2, rel=1e-9)
        assert row.mmd_p == pytest.approx(p, rel=1e-12)
        assert row.bandwidth == pytest.approx(bandwidth, rel=1e-12)
        assert row.n_permutations == 9
        assert row.frechet == pytest.approx(frechet_distance(x, y), rel=1e-9)
        assert row.n_source == len(x) and row.n_target == len(y)
        assert row.n_mmd_source == min(len(x), 11) and row.n_mmd_target == min(len(y), 11)
        prior_x = pd.Series(lx).value_counts(normalize=True)
        prior_y = pd.Series(ly).value_counts(normalize=True)
        union = set(prior_x.index) | set(prior_y.index)
        expected_tvd = sum(abs(prior_x.get(k, 0) - prior_y.get(k, 0)) for k in union) / 2
        assert row.prior_tvd == pytest.approx(expected_tvd, rel=1e-12)
        smd = (y.mean(0) - x.mean(0)) / np.sqrt((x.var(0, ddof=1) + y.var(0, ddof=1)) / 2)
        order = np.argsort(-np.abs(smd), kind="stable")
        assert row.top_features == "|".join(FEATURES[k] for k in order[:3])
        groups = {}
        for k, name in enumerate(FEATURES):
            groups.setdefault(descriptor_family(name), []).append(abs(smd[k]))
        assert row.top_family == max(groups, key=lambda f: np.mean(groups[f]))
        if "a" in (source, target):  # a has no speakers: folds over utterances
            assert (row.pad_unit, row.pad_folds) == ("utterance", 5)
        else:  # b has 2 speakers, c 3: two speaker folds
            assert (row.pad_unit, row.pad_folds) == ("speaker", 2)
        assert row.pad == pytest.approx(max(0.0, 4 * row.domain_accuracy - 2), rel=1e-12)
    # Utterance folds of a -> b (computed as b -> a), seed 3, by sklearn.
    expected = _utterance_reference(b.features["fs"], a.features["fs"], seed=3)
    assert by_pair["a", "b"].domain_accuracy == pytest.approx(expected, rel=1e-12)
    # Speaker folds of b -> c: whole speakers of both corpora held out.
    rng = np.random.default_rng(3)
    test_fold = np.r_[
        _reference_speaker_folds(b.frame.speaker, 2, rng),
        _reference_speaker_folds(c.frame.speaker, 2, rng),
    ]
    expected = cross_val_score(
        _model(),
        np.vstack([b.features["fs"], c.features["fs"]]),
        np.r_[np.zeros(10), np.ones(11)],
        cv=PredefinedSplit(test_fold),
        scoring="balanced_accuracy",
    ).mean()
    assert by_pair["c", "b"].domain_accuracy == pytest.approx(expected, rel=1e-12)
    # Class-conditional: b and c share only "x" (5 and 6 rows); a and b share x and y but
    # a has 4 of each (< 5): none, NaN.
    assert by_pair["b", "c"].shared_classes == "x"
    assert by_pair["b", "c"].class_conditional_mmd2 == pytest.approx(
        _reference_mmd(b.features["fs"][:5], c.features["fs"][:6], 0, max_samples=11, seed=3)[0],
        rel=1e-9,
    )
    assert by_pair["a", "b"].shared_classes == ""
    assert math.isnan(by_pair["a", "b"].class_conditional_mmd2)


def test_shift_tables_features_families_and_priors():
    a, b, c = _three_corpora()
    tables = shift_tables([b, c], {"fs": FEATURES}, n_permutations=3, max_samples=6, seed=1)
    shift = tables.shift
    assert list(zip(shift.source, shift.target)) == [("b", "c"), ("c", "b")]
    assert list(shift.n_mmd_source) == [6, 6] and list(shift.n_mmd_target) == [6, 6]
    features = tables.features
    assert list(features.columns) == list(FEATURE_COLUMNS)
    assert list(features.index) == list(range(6))
    x, y = b.features["fs"], c.features["fs"]
    smd = (y.mean(0) - x.mean(0)) / np.sqrt((x.var(0, ddof=1) + y.var(0, ddof=1)) / 2)
    order = list(np.argsort(-np.abs(smd), kind="stable"))
    forward, backward = features.iloc[:3], features.iloc[3:]
    assert list(forward.source) == ["b"] * 3 and list(forward.target) == ["c"] * 3
    assert list(backward.source) == ["c"] * 3 and list(backward.target) == ["b"] * 3
    assert list(features.feature_set) == ["fs"] * 6
    for part, sign in ((forward, 1.0), (backward, -1.0)):
        assert list(part["rank"]) == [1, 2, 3]
        assert list(part.feature) == [FEATURES[k] for k in order]
        assert list(part.smd) == pytest.approx([sign * smd[k] for k in order], rel=1e-9)
        assert list(part.abs_smd) == pytest.approx([abs(smd[k]) for k in order], rel=1e-9)
        ks = [ks_2samp(x[:, k], y[:, k]) for k in order]
        assert list(part.ks) == pytest.approx([r.statistic for r in ks])
        assert list(part.ks_p) == pytest.approx([r.pvalue for r in ks])
    families = tables.families
    assert list(families.columns) == list(FAMILY_COLUMNS)
    assert list(families.index) == list(range(6))
    assert list(zip(families.source, families.target)) == [("b", "c")] * 3 + [("c", "b")] * 3
    assert list(families.feature_set) == ["fs"] * 6
    expected_families = [descriptor_family(FEATURES[k]) for k in order]
    assert list(families.family.iloc[:3]) == expected_families
    assert list(families.features) == [1] * 6
    assert list(families.mean_abs_smd) == pytest.approx([abs(smd[k]) for k in order] * 2)
    priors = tables.priors
    assert list(priors.columns) == list(PRIOR_COLUMNS)
    assert list(priors.index) == list(range(4))
    assert list(zip(priors.corpus, priors["class"], priors.n)) == [
        ("b", "x", 5),
        ("b", "y", 5),
        ("c", "w", 5),
        ("c", "x", 6),
    ]


def test_shift_tables_speakers_with_a_gap_fold_over_utterances():
    a, b, _ = _three_corpora()
    gap = b.frame.copy()
    gap.loc[3, "speaker"] = None
    b_gap = CorpusData("b", gap, b.features)
    # With a speaker on each side known but one row of b unknown, folds go over utterances.
    c = _corpus("c", _normal(8, 3, "gap"), np.array(["x", "y"] * 4), ["u", "v"] * 4)
    tables = shift_tables([b_gap, c], {"fs": FEATURES}, n_permutations=0)
    assert set(tables.shift.pad_unit) == {"utterance"} and set(tables.shift.pad_folds) == {5}
    # Defaults: 200 permutations, at most 500 rows, seed 0.
    full = shift_tables([b, c], {"fs": FEATURES})
    assert list(full.shift.n_permutations) == [200, 200]
    mmd2, bandwidth, p = _reference_mmd(b.features["fs"], c.features["fs"], 200, seed=0)
    assert full.shift.mmd_p.iloc[0] == pytest.approx(p, rel=1e-12)
    assert set(full.shift.pad_unit) == {"speaker"}


def test_shift_tables_two_feature_sets_sorted_by_set():
    a, b, _ = _three_corpora()
    both = {"zz": FEATURES, "fs": FEATURES}
    a2 = CorpusData("a", a.frame, {"fs": a.features["fs"], "zz": a.features["fs"] * 2})
    b2 = CorpusData("b", b.frame, {"fs": b.features["fs"], "zz": b.features["fs"] * 2})
    tables = shift_tables([a2, b2], both, n_permutations=0)
    assert list(tables.shift.feature_set) == ["fs", "fs", "zz", "zz"]
    assert list(tables.features.feature_set) == ["zz"] * 6 + ["fs"] * 6


@pytest.mark.parametrize("names", [["a"], ["a", "a"], []])
def test_shift_tables_need_two_distinct_corpora(names):
    corpora = [_corpus(n, _normal(4, 3, "e"), np.array(["x"] * 4)) for n in names]
    with pytest.raises(ValueError) as error:
        shift_tables(corpora, {"fs": FEATURES})
    assert str(error.value) == f"shift needs at least two distinct corpora, got {names}"


# --- the cases mutation testing showed untested -------------------------------------------------


def test_pooled_standardise_keeps_a_spread_of_exactly_1e_12():
    # Pooled 0 and 2e-12: SD exactly 1e-12, not below it, so it is divided by (z = -1, 1);
    # below it (0 and 1e-13, SD 5e-14) the SD becomes 1 (not 2: the offsets stay 5e-14).
    assert np.array([0.0, 2e-12]).std() == 1e-12
    zx, zy = _pooled_standardise(np.array([[0.0, 0.0]]), np.array([[2e-12, 1e-13]]))
    assert zx[0, 0] == pytest.approx(-1.0, rel=1e-9) and zy[0, 0] == pytest.approx(1.0, rel=1e-9)
    assert zx[0, 1] == pytest.approx(-5e-14, rel=1e-6, abs=0)
    assert zy[0, 1] == pytest.approx(5e-14, rel=1e-6, abs=0)


def test_mmd_subsamples_y_of_exactly_max_samples_rows_not():
    # y of exactly max_samples rows is used whole: no random draw spent on it, so the
    # permutations (and p) are those of the reference.
    for seed in range(4):
        x, y = _normal(6, 2, f"eq-x{seed}"), _normal(7, 2, f"eq-y{seed}", shift=0.3)
        options = {"n_permutations": 15, "max_samples": 7, "seed": seed}
        _assert_mmd(mmd_rbf(x, y, **options), _reference_mmd(x, y, **options), 15)


def test_speaker_folds_are_integers():
    folds = _speaker_folds(np.array(["a", "b", "c"]), 2, np.random.default_rng(1))
    assert folds.dtype.kind == "i"


def test_domain_cv_uses_at_most_the_folds_asked():
    # Six speakers each, three folds asked: three folds, not six.
    x, y = _normal(18, 2, "many-x"), _normal(18, 2, "many-y", shift=0.4)
    sx = np.array([f"a{i % 6}" for i in range(18)])
    sy = np.array([f"b{i % 6}" for i in range(18)])
    result = domain_classifier_cv(x, y, speakers_x=sx, speakers_y=sy, folds=3)
    assert (result.unit, result.folds) == ("speaker", 3)
    rng = np.random.default_rng(0)
    test_fold = np.r_[_reference_speaker_folds(sx, 3, rng), _reference_speaker_folds(sy, 3, rng)]
    expected = cross_val_score(
        _model(),
        np.vstack([x, y]),
        np.r_[np.zeros(18), np.ones(18)],
        cv=PredefinedSplit(test_fold),
        scoring="balanced_accuracy",
    ).mean()
    assert result.balanced_accuracy == pytest.approx(expected, rel=1e-12)


def test_frechet_scale_of_constant_and_exactly_1e_12_features():
    # Constant features 0 (x) and 1 (y): SD 0 -> scale 1, mean term 1 (not 1/4 as with 2).
    assert frechet_distance(np.zeros((2, 1)), np.ones((2, 1))) == pytest.approx(1.0, rel=1e-12)
    # x = 0, a and y = -a, 0 with a chosen so the pooled SD is exactly 1e-12: it is kept
    # (not replaced by 1), so the mean difference a is sqrt(2) SDs, squared 2.
    a = 1.414213562373095e-12
    assert np.sqrt(np.array([0.0, a]).var(ddof=1)) == 1e-12
    assert np.array([-a, 0.0]).var(ddof=1) == np.array([0.0, a]).var(ddof=1)
    value = frechet_distance(np.array([[0.0], [a]]), np.array([[-a], [0.0]]))
    assert value == pytest.approx(2.0, rel=1e-6)


def test_feature_shift_keeps_ties_in_input_order_among_many_features():
    # 20 features shifted by 1 SD and 20 by 2 SD, interleaved: a non-stable sort of more
    # than 16 values would scramble the tied features.
    x = np.zeros((3, 40)) + np.arange(3)[:, None]
    y = x + np.where(np.arange(40) % 2, 2.0, 1.0)
    names = [f"f{k}" for k in range(40)]
    order = [f"f{k}" for k in range(1, 40, 2)] + [f"f{k}" for k in range(0, 40, 2)]
    assert list(feature_shift(x, y, names).feature) == order


def test_feature_shift_smd_of_constant_features_is_exactly_zero():
    # Many constant features among shifted ones: the SMD of each constant one is 0, not
    # whatever memory an unfilled output held.
    for repeat in range(5):
        junk = np.full(60, 123.0 + repeat)
        del junk
        x = np.tile([[1.0, 0.0, 5.0]], (3, 20))
        x[:, 1::3] += np.arange(3)[:, None]
        y = x + 3.0
        table = feature_shift(x, y, [f"f{k}" for k in range(60)])
        constant = table[table.feature.isin([f"f{k}" for k in range(0, 60, 3)])]
        assert list(constant.smd) == [0.0] * 20


def test_class_conditional_mmd_counts_each_side_of_a_class():
    # Class "a": 4 rows in x (too few) even though x has many others; 6 in y.
    x = _normal(10, 2, "side-x")
    y = _normal(8, 2, "side-y")
    lx = np.array(["a"] * 4 + ["b"] * 6)
    ly = np.array(["a"] * 6 + ["b"] * 2)
    value, shared = class_conditional_mmd(x, y, lx, ly)
    assert shared == [] and math.isnan(value)


def test_class_conditional_mmd_without_classes_warns_nothing():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, shared = class_conditional_mmd(
            np.zeros((2, 1)), np.ones((2, 1)), np.array(["a", "a"]), np.array(["b", "b"])
        )
    assert math.isnan(value) and shared == []


def test_class_conditional_mmd_defaults_subsample_above_500_rows_with_seed_zero():
    x = _normal(501, 1, "cc-big")
    y = _normal(5, 1, "cc-small", shift=1.0)
    value, _ = class_conditional_mmd(x, y, np.array(["a"] * 501), np.array(["a"] * 5))
    cut = x[np.random.default_rng(0).choice(501, 500, replace=False)]
    assert value == pytest.approx(mmd_rbf(cut, y, n_permutations=0).mmd2, rel=1e-9)


def test_shift_tables_class_conditional_subsampled_and_indexes_reset():
    # Two shared classes (x, y) of 6 and 5 rows, subsampled to 4 per class with seed 3;
    # four features so that the top three are a choice.
    names = ["mfcc1", "loudness", "jitter", "F0mean"]
    a = _corpus(
        "a", _normal(11, 4, "cs-a"), np.array(["x"] * 6 + ["y"] * 5), ["p", "q"] * 5 + ["p"]
    )
    b_x = _normal(12, 4, "cs-b") + np.array([0.2, 2.0, 1.0, -0.5])
    b = _corpus("b", b_x, np.array(["y"] * 6 + ["x"] * 6), ["r", "s", "t"] * 4)
    c = _corpus("c", _normal(9, 4, "cs-c"), np.array(["x", "y", "y"] * 3), ["u", "v", "w"] * 3)
    tables = shift_tables([a, b, c], {"fs": names}, n_permutations=0, max_samples=4, seed=3)
    row = tables.shift.iloc[0]
    assert (row.source, row.target, row.shared_classes) == ("a", "b", "x|y")
    fa, fb = a.features["fs"], b.features["fs"]
    expected = (
        _reference_mmd(fa[:6], fb[6:], 0, max_samples=4, seed=3)[0]
        + _reference_mmd(fa[6:], fb[:6], 0, max_samples=4, seed=3)[0]
    ) / 2
    assert row.class_conditional_mmd2 == pytest.approx(expected, rel=1e-9)
    smd = (fb.mean(0) - fa.mean(0)) / np.sqrt((fa.var(0, ddof=1) + fb.var(0, ddof=1)) / 2)
    order = np.argsort(-np.abs(smd), kind="stable")
    assert row.top_features == "|".join(names[k] for k in order[:3])
    # Three pairs, two directions, four features / families each: one running index.
    assert list(tables.features.index) == list(range(24))
    assert list(tables.families.index) == list(range(len(tables.families)))
    assert len(tables.families) == 24


def test_shift_tables_defaults_500_rows_and_seed_zero():
    big = _corpus("big", _normal(501, 2, "tb-big"), np.array(["x"] * 501))
    small = _corpus("small", _normal(6, 2, "tb-small", shift=0.2), np.array(["x"] * 6))
    tables = shift_tables([big, small], {"fs": FEATURES[:2]}, n_permutations=0)
    assert list(tables.shift.n_mmd_source) == [500, 6] and list(tables.shift.n_mmd_target) == [
        6,
        500,
    ]
    cut = big.features["fs"][np.random.default_rng(0).choice(501, 500, replace=False)]
    assert tables.shift.mmd2.iloc[0] == pytest.approx(
        _reference_mmd(cut, small.features["fs"], 0)[0], rel=1e-9
    )
