"""Tests that fail when the science breaks: one per realistic bug that once passed the suite.

Each test names the bug class it guards (issue 22). They were checked by applying each bug by
hand: the test fails with the bug and passes without it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from builders import IdSpy
from conftest import voiced_tone
from invariants import assert_grid_invariants
from scipy.stats import t as student_t

import paraser.experiments.transfer as transfer_module
from paraser.experiments import CorpusData, StratifiedKFoldProtocol, run_grid
from paraser.experiments.metrics import score
from paraser.features.extract import hash_files
from paraser.reports import paired_difference
from paraser.reports.stats import unit_statistic

CLASSES = ["anger", "happiness", "neutral", "sadness"]


def gaussian_corpus(
    name: str,
    seed: int,
    classes=CLASSES,
    per_class: int = 12,
    speakers: int = 4,
    speaker_of=None,
    speaker_offset: float = 0.0,
) -> CorpusData:
    """Gaussian classes; column 0 is a global row id (so train and test rows can be told apart).

    ``speaker_of(i, code)`` gives row i's speaker index (default: round robin, so every speaker
    carries every class); ``speaker_offset`` shifts each speaker's features by its own vector.
    """
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(7).normal(0, 3, (len(CLASSES), 5))
    codes = np.repeat([CLASSES.index(c) for c in classes], per_class)
    speaker_index = np.array(
        [speaker_of(i, c) if speaker_of else i % speakers for i, c in enumerate(codes)]
    )
    offsets = np.random.default_rng(seed + 100).normal(0, speaker_offset, (speakers, 5))
    x = centres[codes] + offsets[speaker_index] + rng.normal(0, 1, (len(codes), 5))
    ids = seed * 10_000 + np.arange(len(codes))
    frame = pd.DataFrame(
        {
            "corpus": name,
            "utterance": [f"{name}_{i}.wav" for i in range(len(codes))],
            "label": np.array(CLASSES)[codes],
            "speaker": [f"{name}:s{k}" for k in speaker_index],
        }
    )
    features = np.column_stack([ids, x]).astype(np.float64)
    return CorpusData(name, frame, {"f": features})


# Bug 1: a within-corpus model fitted on its training and test rows.
def test_within_folds_train_on_disjoint_rows_that_add_up_to_the_corpus(monkeypatch):
    IdSpy.fits = []
    monkeypatch.setattr(transfer_module, "make_classifier", IdSpy)
    corpus = gaussian_corpus("a", 1)
    grid = run_grid([corpus], ["f"], ["svm"], protocol=StratifiedKFoldProtocol(3))
    assert_grid_invariants(grid, [corpus])
    # results.csv holds one pooled within row; the per-fold rows are grid.folds.
    within = grid.folds
    assert len(within) == 3 and len(IdSpy.fits) == 3
    assert (within.n_train + within.n_test == len(corpus.frame)).all()
    for train_ids, test_ids in IdSpy.fits:
        assert not set(train_ids) & set(test_ids)
        assert len(train_ids) + len(test_ids) == len(corpus.frame)


# Bug 2: the target of a transfer not restricted to the classes both corpora share.
def test_a_target_with_an_extra_class_is_evaluated_on_the_shared_classes_only():
    source = gaussian_corpus("three", 1, classes=CLASSES[:3])
    target = gaussian_corpus("four", 2)
    grid = run_grid([source, target], ["f"], ["svm"], protocol=StratifiedKFoldProtocol(3))
    assert_grid_invariants(grid, [source, target])
    row = grid.results.query("source == 'three' and target == 'four'").iloc[0]
    assert row.classes == "|".join(CLASSES[:3])
    assert row.n_test == 36  # 12 per shared class; the 12 'sadness' rows are not tested
    predictions = grid.predictions.query("source == 'three' and target == 'four'")
    assert len(predictions) == 36 and set(predictions.y_true) == set(CLASSES[:3])


# Bug 3: the collapse threshold moved away from 0.9.
@pytest.mark.parametrize(("share", "collapsed"), [(0.95, True), (0.9, True), (0.85, False)])
def test_a_cell_with_nine_tenths_or_more_in_one_class_is_flagged(share, collapsed):
    n = 100
    dominant = round(share * n)
    y_pred = np.array(["anger"] * dominant + ["happiness"] * (n - dominant))
    y_true = np.array(["anger", "happiness"] * (n // 2))
    scores = score(y_true, y_pred, ["anger", "happiness"])
    assert scores["dominant_share"] == pytest.approx(share)
    assert scores["collapsed"] is collapsed


def paired_systems(n_speakers: int = 24, per_speaker: int = 40, gain: float = 0.05):
    """System a, and b = a with a share ``gain`` of every speaker's utterances made correct.

    Speakers differ a lot in difficulty, which both systems share: the paired difference is
    precise although each system's own UAR is not.
    """
    rng = np.random.default_rng(3)
    classes = np.array(CLASSES)
    frames_a, frames_b = [], []
    for s in range(n_speakers):
        y_true = classes[np.arange(per_speaker) % 4]
        accuracy = 0.25 + 0.7 * s / (n_speakers - 1)
        hit = rng.random(per_speaker) < accuracy
        wrong = classes[(np.arange(per_speaker) + 1 + rng.integers(0, 3, per_speaker)) % 4]
        y_a = np.where(hit, y_true, wrong)
        misses = np.flatnonzero(y_a != y_true)
        n_fix = min(len(misses), round(gain * per_speaker))
        fixed = y_a.copy()
        chosen = rng.choice(misses, n_fix, replace=False)
        fixed[chosen] = y_true[chosen]
        base = {
            "source": "a",
            "target": "b",
            "seed": 0,
            "fold": -1,
            "utterance": [f"s{s}_u{i}" for i in range(per_speaker)],
            "speaker": f"s{s}",
            "y_true": y_true,
        }
        frames_a.append(pd.DataFrame({**base, "y_pred": y_a}))
        frames_b.append(pd.DataFrame({**base, "y_pred": fixed}))
    return pd.concat(frames_b, ignore_index=True), pd.concat(frames_a, ignore_index=True)


# Bug 4: the paired difference resampling (or leaving out) the two systems independently.
def test_a_small_real_gain_has_a_narrow_paired_interval():
    better, worse = paired_systems()
    result = paired_difference(better, worse)
    assert result.difference == pytest.approx(0.05, abs=0.01)
    assert result.ci_low > 0 and result.p_value < 0.001
    # Treating the systems as independent adds both speaker spreads; pairing cancels them.
    a, b = unit_statistic(better), unit_statistic(worse)
    half = student_t.ppf(0.975, a.df)
    independent_width = 2 * half * np.hypot(a.se, b.se)
    paired_width = result.ci_high - result.ci_low
    assert paired_width < 0.25 * independent_width
    assert independent_width > 0.1  # the speakers' spread is large; the test would be moot else


# Bug 5: speaker-norm's confound check reading the target's labels.
def test_speaker_norm_ignores_target_labels_even_when_target_speakers_carry_one_emotion():
    # Source: every speaker carries every class, with a strong per-speaker shift.
    source = gaussian_corpus("src", 1, speakers=4, speaker_offset=2.0)
    # Target: speaker k carries only class k, the confound a label-reading check would see.
    target = gaussian_corpus("tgt", 2, speakers=4, speaker_of=lambda i, code: code)
    frame = target.frame.copy()
    frame["label"] = np.random.default_rng(5).permutation(frame["label"].to_numpy())
    permuted = replace(target, frame=frame)

    def predictions(t: CorpusData) -> pd.DataFrame:
        grid = run_grid(
            [source, t], ["f"], ["svm"], protocol=StratifiedKFoldProtocol(3), within=False,
            adaptations=("speaker-norm",),
        )  # fmt: skip
        chosen = grid.predictions.query("source == 'src' and target == 'tgt'")
        return chosen.set_index("utterance").sort_index()

    original, shuffled = predictions(target), predictions(permuted)
    assert len(original) == len(target.frame)
    pd.testing.assert_series_equal(original.y_pred, shuffled.y_pred)


# Bug 6: the audio index trusting mtime (or size) instead of the file's content.
def test_changed_audio_with_restored_mtime_gets_a_new_cache_key(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, voiced_tone(150, 0.5, seed=1), 16_000)
    before = os.stat(path)
    first, _ = hash_files([str(path)])
    # New content and a new size, then the old timestamps put back (as a restore would).
    sf.write(path, voiced_tone(220, 0.6, seed=2), 16_000)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    second, _ = hash_files([str(path)])
    assert first[str(path)] != second[str(path)]


def test_scores_of_a_hand_worked_evaluation():
    # 'd' is predicted but outside the classes (a training class this test set lacks);
    # 'e' is a class of the label space that is neither true nor predicted.
    y_true = np.array(["a", "a", "b", "b", "c", "c"])
    y_pred = np.array(["a", "b", "b", "b", "d", "c"])
    scores = score(y_true, y_pred, ["a", "b", "c"])
    # Recall a 1/2, b 2/2, c 1/2; F1 a 2/3, b 4/5, c 2/3.
    assert scores["uar"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 4 / 5 + 2 / 3) / 3)
    assert scores["chance"] == pytest.approx(1 / 3)
    assert scores["n_predicted_classes"] == 4
    assert scores["dominant_share"] == pytest.approx(3 / 6)
    assert scores["collapsed"] is False
    # A class with no true and no predicted row scores 0, never 1 (no free recall).
    # ... and silently: a grid scores thousands of folds, so the 0 is chosen, not warned about.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_empty = score(y_true, y_pred, ["a", "b", "c", "e"])
    assert with_empty["uar"] == pytest.approx((0.5 + 1 + 0.5 + 0) / 4)
    assert with_empty["macro_f1"] == pytest.approx((2 / 3 + 4 / 5 + 2 / 3 + 0) / 4)
    assert with_empty["chance"] == pytest.approx(1 / 4)
    one_class = score(y_true, np.array(["b"] * 6), ["a", "b", "c"])
    assert one_class["collapsed"] is True and one_class["n_predicted_classes"] == 1
