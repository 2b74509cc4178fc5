from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from invariants import assert_grid_invariants
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import cross_val_predict

from paraser.experiments import CorpusData, run_grid
from paraser.experiments.classifiers import make_classifier
from paraser.experiments.normalisation import normalise
from paraser.experiments.protocols import (
    LeaveOneSpeakerOutProtocol,
    SpeakerKFoldProtocol,
    make_protocol,
    plan_splits,
    speaker_label_association,
)
from paraser.reports.stats import uar_estimate

CLASSES = ["anger", "happiness", "neutral", "sadness"]


def speaker_corpus(name: str, n_speakers: int = 6, per_cell: int = 4, confounded=False, seed=0):
    """Every speaker records every class, or (confounded) each speaker one class."""
    rng = np.random.default_rng(seed)
    rows, vectors = [], []
    for s in range(n_speakers):
        offset = rng.normal(0, 2, 5)  # a speaker's own voice
        classes = [CLASSES[s % 4]] if confounded else CLASSES
        for label in classes:
            for k in range(per_cell * (4 if confounded else 1)):
                rows.append({"utterance": f"{name}_{s}_{label}_{k}", "label": label,
                             "speaker": f"{name}:spk{s}", "corpus": name})  # fmt: skip
                vectors.append(offset + 3 * np.eye(5)[CLASSES.index(label)] + rng.normal(0, 1, 5))
    return CorpusData(name, pd.DataFrame(rows), {"f": np.array(vectors, dtype=np.float32)})


def test_speaker_folds_never_share_a_speaker():
    corpus = speaker_corpus("a")
    speakers = corpus.frame["speaker"].to_numpy()
    planned = plan_splits("a", corpus.labels, speakers, SpeakerKFoldProtocol(3), seed=0)
    assert planned.protocol == "speaker-3fold" and planned.note is None
    for train, test in planned.splits:
        assert not set(speakers[train]) & set(speakers[test])


def test_loso_has_one_fold_per_speaker():
    corpus = speaker_corpus("a", n_speakers=4)
    speakers = corpus.frame["speaker"].to_numpy()
    planned = plan_splits("a", corpus.labels, speakers, LeaveOneSpeakerOutProtocol(), seed=0)
    assert len(planned.splits) == 4
    assert all(len(set(speakers[test])) == 1 for _, test in planned.splits)


def test_confounded_corpus_stays_speaker_independent_and_pools_folds():
    # Each speaker carries one emotion (URDU-like): a test fold may lack a class, which
    # pooled scoring absorbs; no whole-corpus fallback to stratified folds.
    corpus = speaker_corpus("urduish", n_speakers=8, confounded=True)
    speakers = corpus.frame["speaker"].to_numpy()
    assert speaker_label_association(corpus.labels, speakers) > 0.9
    planned = plan_splits("urduish", corpus.labels, speakers, SpeakerKFoldProtocol(5), seed=0)
    assert planned.protocol == "speaker-5fold" and planned.note is None
    for train, test in planned.splits:
        assert not set(speakers[train]) & set(speakers[test])
    grid = run_grid([corpus], ["f"], ["svm"], protocol=make_protocol("auto", 5))
    within = grid.results[grid.results.kind == "within"]
    assert list(within.protocol) == ["speaker-5fold"] and list(within.fold) == [-1]
    assert within.n_test.iloc[0] == len(corpus.frame)
    assert set(grid.folds.protocol) == {"speaker-5fold", "stratified-5fold"}
    # The stratified cell is offered beside it (confounded corpus), labelled, never primary.
    assert list(grid.reference.protocol) == ["stratified-5fold"]
    assert any("stratified-5fold cell (speakers shared)" in n for n in grid.notes)


def test_pooled_within_uar_equals_sklearn_on_cross_val_predict():
    corpus = speaker_corpus("urduish", n_speakers=8, confounded=True)
    speakers = corpus.frame["speaker"].to_numpy()
    splits = plan_splits("urduish", corpus.labels, speakers, SpeakerKFoldProtocol(4), 0).splits
    predicted = cross_val_predict(
        make_classifier("svm", 0), corpus.features["f"], corpus.labels, cv=splits
    )
    expected = balanced_accuracy_score(corpus.labels, predicted)
    grid = run_grid([corpus], ["f"], ["svm"], protocol=make_protocol("auto", 4))
    within = grid.results[grid.results.kind == "within"]
    assert within.uar.iloc[0] == pytest.approx(expected)
    # The report's cell statistic is the same pooled number, with a speaker-cluster CI.
    estimate = uar_estimate(grid.predictions)
    assert estimate.uar == pytest.approx(expected) and estimate.unit == "speaker"
    assert estimate.n_units == 8


def test_untrainable_class_is_named_per_fold_not_a_corpus_fallback():
    corpus = speaker_corpus("partial", n_speakers=6)
    # One speaker holds every 'fear' utterance: the fold testing that speaker cannot learn it.
    rng = np.random.default_rng(5)
    extra = pd.DataFrame(
        {"utterance": [f"partial_fear_{k}" for k in range(6)], "label": "fear",
         "speaker": "partial:spk6", "corpus": "partial"}
    )  # fmt: skip
    corpus = CorpusData(
        "partial",
        pd.concat([corpus.frame, extra], ignore_index=True),
        {"f": np.vstack([corpus.features["f"], rng.normal(4, 1, (6, 5))]).astype(np.float32)},
    )
    speakers = corpus.frame["speaker"].to_numpy()
    planned = plan_splits("partial", corpus.labels, speakers, SpeakerKFoldProtocol(3), seed=0)
    (fold,) = planned.untrained
    assert planned.untrained[fold] == ["fear"]
    assert planned.protocol == f"speaker-3fold (trained fold {fold} without fear)"
    assert f"fold {fold} has no fear in training" in planned.note
    assert "np.str_" not in planned.note and "['" not in planned.note
    for train, test in planned.splits:  # every fold, also that one, stays speaker-independent
        assert not set(speakers[train]) & set(speakers[test])
    grid = run_grid([corpus], ["f"], ["svm"], protocol=make_protocol("auto", 3))
    assert set(grid.results.query("kind == 'within'").protocol) == {planned.protocol}
    assert planned.note in grid.notes


def test_one_speaker_corpus_is_split_stratified_and_labelled_so():
    corpus = speaker_corpus("solo", n_speakers=1)
    speakers = corpus.frame["speaker"].to_numpy()
    planned = plan_splits("solo", corpus.labels, speakers, SpeakerKFoldProtocol(3), seed=0)
    assert planned.protocol.startswith("stratified-3fold (fallback from speaker-3fold")
    assert "optimistic" in planned.note


def test_too_few_speakers_for_folds_falls_back_with_reason():
    corpus = speaker_corpus("few", n_speakers=3)
    speakers = corpus.frame["speaker"].to_numpy()
    planned = plan_splits("few", corpus.labels, speakers, SpeakerKFoldProtocol(5), seed=0)
    assert "3 speakers, fewer than the 5 folds" in planned.note
    assert planned.protocol == "loso (fallback from speaker-5fold)"
    assert len(planned.splits) == 3


def test_grid_records_speaker_independent_protocol():
    corpora = [speaker_corpus("a", seed=1), speaker_corpus("b", seed=2)]
    grid = run_grid(corpora, ["f"], ["svm"], protocol=make_protocol("auto", 3))
    assert_grid_invariants(grid, corpora)
    within = grid.results[grid.results.kind == "within"]
    assert set(within.protocol) == {"speaker-3fold"} and not grid.notes


def test_normalisation_strategies_side_by_side():
    corpora = [speaker_corpus("a", seed=1), speaker_corpus("b", seed=2)]
    grid = run_grid(
        corpora, ["f"], ["svm"], protocol=make_protocol("auto", 3),
        normalisations=("train", "corpus", "speaker"),
    )  # fmt: skip
    assert set(grid.results.normalisation) == {"train", "corpus", "speaker"}
    mean = grid.results.groupby("normalisation").uar.mean()
    # Speaker offsets dominate here: removing them per speaker must help.
    assert mean["speaker"] > mean["train"]


def test_per_speaker_normalisation_is_label_free():
    corpus = speaker_corpus("c", n_speakers=8, confounded=True)
    normalised = normalise(corpus, "speaker")
    speakers = normalised.frame["speaker"].to_numpy()
    for speaker in set(speakers):
        np.testing.assert_allclose(
            normalised.features["f"][speakers == speaker].mean(0), 0, atol=1e-5
        )
    relabelled = replace(corpus, frame=corpus.frame.assign(label=corpus.labels[::-1]))
    np.testing.assert_array_equal(
        normalise(relabelled, "speaker").features["f"], normalised.features["f"]
    )


def test_confounded_training_sets_fall_back_to_per_corpus_from_their_own_labels():
    confounded = speaker_corpus("c", n_speakers=8, confounded=True)
    clean = speaker_corpus("d")
    grid = run_grid(
        [confounded, clean], ["f"], ["svm"], protocol=make_protocol("stratified", 3),
        normalisations=("speaker",),
    )  # fmt: skip
    fallback = [n for n in grid.notes if "fell back to per-corpus" in n]
    # c trains (within folds, and as a source) on confounded speakers; d never does.
    assert len(fallback) == 1 and fallback[0].startswith("c:")
    assert "4 of 4 training set(s)" in fallback[0]
    target_note = [n for n in grid.notes if "as a test set" in n]
    assert len(target_note) == 1 and target_note[0].startswith("c:")
    assert "cannot be checked without its labels" in target_note[0]


def test_pooled_and_leave_one_corpus_out_sources():
    corpora = [speaker_corpus(n, seed=i) for i, n in enumerate("abc")]
    grid = run_grid(
        corpora, ["f"], ["svm"], protocol=make_protocol("stratified", 3), transfer=False,
        pooled_sources=[["a", "b"]], leave_one_corpus_out=True,
    )  # fmt: skip
    transfer = grid.results[grid.results.kind == "transfer"]
    pairs = set(zip(transfer.source, transfer.target))
    assert pairs == {("a+b", "c"), ("b+c", "a"), ("a+c", "b")}
    row = transfer[transfer.source == "a+b"].iloc[0]
    assert row.n_train == 2 * len(corpora[0].frame)


def test_unknown_protocol_and_pool_member():
    with pytest.raises(ValueError, match="auto, speaker, loso, stratified"):
        make_protocol("random")
    with pytest.raises(ValueError, match="unknown corpora"):
        run_grid([speaker_corpus("a")], ["f"], ["svm"], pooled_sources=[["a", "zzz"]])


def test_ceiling_is_the_speaker_independent_number_never_the_stratified_one(tmp_path):
    from paraser.reports.shift import drops_from_results
    from paraser.reports.tables import write_matrices
    from paraser.results import write_run_tables

    corpora = [speaker_corpus("conf", n_speakers=8, confounded=True), speaker_corpus("clean")]
    grid = run_grid(corpora, ["f"], ["svm"], protocol=make_protocol("auto", 4))
    within = grid.results.query("kind == 'within'").set_index("source")
    assert list(grid.reference.source) == ["conf"]  # auto: only the confounded corpus
    stratified = grid.reference.set_index("source").loc["conf", "uar"]
    drops = drops_from_results(grid.results).set_index("source")
    assert drops.loc["conf", "within_uar"] == pytest.approx(within.loc["conf", "uar"])
    assert drops.loc["conf", "within_uar"] != pytest.approx(stratified)
    assert drops.loc["conf", "within_protocol"] == "speaker-4fold"
    assert not drops.optimistic.any()
    write_run_tables(tmp_path, grid.results, grid.predictions, grid.folds, grid.reference)
    write_matrices(tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert "speaker-independent against stratified" in summary
    assert "pooled out-of-fold predictions" in summary
    assert (tmp_path / "folds.csv").is_file() and (tmp_path / "within_reference.csv").is_file()


def test_a_fold_trained_on_one_class_predicts_it_and_says_so():
    # Two speakers, one emotion each: each speaker-independent fold trains on one class.
    corpus = speaker_corpus("duo", n_speakers=2, confounded=True)
    grid = run_grid([corpus], ["f"], ["svm"], protocol=make_protocol("auto", 2))
    within = grid.results.query("kind == 'within'")
    assert within.protocol.iloc[0].startswith("speaker-2fold (trained fold 0 without")
    # Nothing was learnable speaker-independently: every pooled prediction is wrong.
    assert within.uar.iloc[0] == 0.0
    assert list(grid.reference.protocol) == ["stratified-2fold"]
