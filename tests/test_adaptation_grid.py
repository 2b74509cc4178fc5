"""Adaptation as a factor of the transfer grid, and the paired gains the report gives it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from builders import corpus_data
from invariants import assert_grid_invariants

import paraser
from paraser.experiments import StratifiedKFoldProtocol, make_classifier, run_grid
from paraser.experiments.adaptation import ADAPTATIONS, TransductiveClassifier
from paraser.reports.gains import factor_gains, gains_sentences

CLASSES = ["anger", "happiness", "neutral", "sadness"]


def corpus(name, *, seed=0, per_class=(20, 20, 20, 20), scale=1.0, shift=0.0, mix=None):
    """Four Gaussian classes (same centres in every corpus), optionally re-scaled/shifted/mixed."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(42).normal(0, 2.5, (4, 6))
    labels = np.repeat(CLASSES, per_class)
    codes = np.repeat(np.arange(4), per_class)
    x = centres[codes] + rng.normal(0, 1, (len(codes), 6))
    if mix is not None:
        x = x @ mix
    x = x * scale + shift
    return corpus_data(name, labels, x, speakers=4, feature_set="f")


def uar(y_true, y_pred) -> float:
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def test_adaptation_is_a_transfer_factor_and_the_diagonal_stays_the_ceiling():
    corpora = [corpus("a", seed=1), corpus("b", seed=2, shift=3.0), corpus("c", seed=3)]
    grid = run_grid(
        corpora, ["f"], ["svm"], protocol=StratifiedKFoldProtocol(3), adaptations=ADAPTATIONS
    )
    assert_grid_invariants(grid, corpora)
    results = grid.results
    within = results[results.kind == "within"]
    transfer = results[results.kind == "transfer"]
    assert set(within.adaptation) == {"none"}
    assert set(transfer.adaptation) == set(ADAPTATIONS)
    assert len(transfer) == 6 * len(ADAPTATIONS)
    assert (transfer.transductive == (transfer.adaptation != "none")).all()
    assert not within.transductive.any()
    assert set(grid.predictions.adaptation) == set(ADAPTATIONS)


def test_no_adapter_reads_target_labels():
    source = corpus("a", seed=1)
    target = corpus("b", seed=2, scale=2.0, shift=1.5, per_class=(40, 10, 10, 10))
    rng = np.random.default_rng(0)
    scrambled = replace(
        target, frame=target.frame.assign(label=rng.permutation(target.frame["label"]))
    )
    predictions = []
    for candidate in (target, scrambled):
        grid = run_grid(
            [source, candidate], ["f"], ["svm"], within=False, adaptations=ADAPTATIONS[1:]
        )
        rows = grid.predictions[grid.predictions.target == "b"]
        predictions.append(rows.sort_values(["adaptation", "utterance"])["y_pred"].to_numpy())
    np.testing.assert_array_equal(predictions[0], predictions[1])


def test_coral_recovers_a_known_mean_and_covariance_shift():
    source = corpus("a", seed=1, per_class=(60, 60, 60, 60))
    # Every feature re-scaled by its own factor and moved: a channel-like shift.
    stretch = np.diag([3.0, 0.3, 2.0, 0.5, 4.0, 1.5])
    target = corpus("b", seed=2, per_class=(60, 60, 60, 60), mix=stretch, shift=4.0)
    x, y = source.features["f"], source.labels
    tx, ty = target.features["f"], target.labels
    plain = make_classifier("svm").fit(x, y).predict(tx)
    adapted = TransductiveClassifier(make_classifier("svm"), "coral", coral_ridge=1e-3)
    recovered = adapted.fit(x, y, X_target=tx).predict(tx)
    assert uar(ty, plain) < 0.6
    assert uar(ty, recovered) > uar(ty, plain) + 0.25


def test_prior_em_recovers_a_known_label_shift():
    source = corpus("a", seed=1, per_class=(80, 80, 80, 80))
    target = corpus("b", seed=2, per_class=(300, 20, 20, 20))
    x, y = source.features["f"], source.labels
    tx, ty = target.features["f"], target.labels
    adapted = TransductiveClassifier(make_classifier("svm"), "prior-em").fit(x, y, X_target=tx)
    corrected = adapted.predict(tx)
    calibrated = adapted.classes_[adapted.model_.predict_proba(tx).argmax(axis=1)]
    # Knowing most target utterances are angry, borderline ones are called angry.
    assert np.sum(corrected == "anger") >= np.sum(calibrated == "anger")
    assert np.mean(corrected == ty) > 0.9
    priors = dict(zip(adapted.classes_, adapted.target_priors_))
    assert priors["anger"] == pytest.approx(300 / 360, abs=0.08)
    assert adapted.train_priors_ == pytest.approx([0.25] * 4)


def test_importance_weights_reach_the_classifier_and_speaker_norm_is_per_speaker():
    source = corpus("a", seed=1)
    target = corpus("b", seed=2, shift=1.0)
    x, y = source.features["f"], source.labels
    tx = target.features["f"]
    for name in ("svm", "rf", "mlp", "svm-approx"):
        model = TransductiveClassifier(make_classifier(name), "importance").fit(x, y, X_target=tx)
        assert model.weights_.mean() == pytest.approx(1.0)
        assert len(model.predict(tx)) == len(tx)
    speakers = target.frame["speaker"].to_numpy()
    model = TransductiveClassifier(make_classifier("svm"), "speaker-norm")
    model.fit(x, y, X_target=tx, groups=source.frame["speaker"].to_numpy(), target_groups=speakers)
    shifted = tx + np.where(speakers == "b:s0", 10.0, 0.0)[:, None]
    # A per-speaker offset is removed before the model sees the target.
    np.testing.assert_array_equal(model.predict(tx, speakers), model.predict(shifted, speakers))


def test_unknown_adaptation_is_refused():
    with pytest.raises(ValueError, match="unknown adaptation"):
        run_grid([corpus("a"), corpus("b")], ["f"], ["svm"], adaptations=["magic"])


def test_paired_gains_have_cis_holm_and_ceiling():
    corpora = [corpus("a", seed=1), corpus("b", seed=2, scale=3.0, shift=4.0), corpus("c", seed=3)]
    grid = run_grid(
        corpora,
        ["f"],
        ["svm"],
        protocol=StratifiedKFoldProtocol(3),
        adaptations=["none", "corpus-norm"],
    )
    gains = factor_gains(grid.results, grid.predictions, "adaptation")
    cells = gains[gains.source != "average"]
    assert len(cells) == 6 and set(gains.level) == {"corpus-norm"}
    assert (cells.p_holm >= cells.p_value).all()
    assert (gains.ci_low <= gains.gain).all() and (gains.gain <= gains.ci_high).all()
    assert cells.ceiling.notna().all()
    average = gains[gains.source == "average"].iloc[0]
    assert average.gain > 0.1  # a corpus shifted and scaled by 3x is re-standardised
    assert any("helps" in s for s in gains_sentences(gains))
    # A level identical to the baseline gains nothing and is never called significant.
    same = grid.predictions.query("adaptation == 'none'").assign(adaptation="copy")
    twin = pd.concat([grid.predictions, same], ignore_index=True)
    results = pd.concat(
        [grid.results, grid.results.query("adaptation == 'none'").assign(adaptation="copy")]
    )
    gains = factor_gains(results, twin, "adaptation")
    copy = gains[gains.level == "copy"]
    assert (copy.gain == 0).all() and not copy.significant.fillna(False).any()


def test_rows_outside_the_label_space_are_extracted_only_for_label_free_methods(
    tone_corpus, tmp_path
):
    labels = ("angry", "happy", "neutral", "sad", "bored")  # "bored": outside the 4 classes
    corpora = [
        str(tone_corpus(name, labels=labels, speakers=speakers, per_label=2))
        for name, speakers in (("a", ("s1", "s2")), ("b", ("s3", "s4")))
    ]
    common = dict(feature_sets=["is09"], classifiers=["svm"], folds=2, within=False)

    def extracted(run) -> int:
        return sum(report.extracted["is09"] for report in run.extraction)

    plain = paraser.transfer_matrix(
        corpora, out=tmp_path / "plain", cache_dir=tmp_path / "c1", **common
    )
    assert extracted(plain) == 2 * 16  # 4 classes x 2 speakers x 2: no "bored" file
    assert any("not extracted: no label-free method" in note for note in plain.notes)
    adapted = paraser.transfer_matrix(
        corpora, out=tmp_path / "coral", cache_dir=tmp_path / "c1", adaptations=["none", "coral"],
        **common,
    )  # fmt: skip
    assert extracted(adapted) == 2 * 4  # now the "bored" files, which CORAL sees unlabelled
    same = ["source", "target", "uar"]
    unadapted = adapted.results[adapted.results.adaptation == "none"]
    pd.testing.assert_frame_equal(
        plain.results[same].reset_index(drop=True), unadapted[same].reset_index(drop=True)
    )
