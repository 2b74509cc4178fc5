from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from invariants import assert_grid_invariants

from paraser.experiments import CorpusData, run_grid
from paraser.experiments.normalisation import normalise
from paraser.experiments.protocols import (
    LeaveOneSpeakerOutProtocol,
    SpeakerKFoldProtocol,
    make_protocol,
    plan_splits,
    speaker_label_association,
)

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


def test_confounded_corpus_falls_back_explicitly_and_says_why():
    corpus = speaker_corpus("urduish", n_speakers=8, confounded=True)
    speakers = corpus.frame["speaker"].to_numpy()
    assert speaker_label_association(corpus.labels, speakers) > 0.9
    planned = plan_splits("urduish", corpus.labels, speakers, SpeakerKFoldProtocol(5), seed=0)
    assert planned.protocol == "stratified-5fold (fallback from speaker-5fold)"
    assert "urduish" in planned.note and "Cramér's V" in planned.note
    assert "optimistic" in planned.note
    results = run_grid([corpus], ["f"], ["svm"], protocol=make_protocol("auto", 5)).results
    assert set(results.protocol) == {"stratified-5fold (fallback from speaker-5fold)"}


def test_fallback_notes_name_classes_plainly():
    corpus = speaker_corpus("urduish", n_speakers=8, confounded=True)
    speakers = corpus.frame["speaker"].to_numpy()
    planned = plan_splits("urduish", corpus.labels, speakers, SpeakerKFoldProtocol(5), seed=0)
    notes = run_grid([corpus], ["f"], ["svm"], protocol=make_protocol("auto", 5)).notes
    assert planned.note in notes
    for note in notes:
        assert "np.str_" not in note and "['" not in note
    # The missing class(es) are named as plain words, e.g. "has no anger in training".
    assert any(f"no {c}" in planned.note or f"lacks {c}" in planned.note for c in CLASSES)


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
