"""Fold protocols on hand-built label and speaker lists (experiments/protocols.py).

A few utterances per speaker, so every fold, every untrained class, every Cramér's V and
every message is worked out by hand: a changed comparison, default, seed or word fails here
(and mutation testing of the module runs in seconds, see MUTATION.md).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from paraser.experiments.protocols import (
    DegenerateSplitError,
    LeaveOneSpeakerOutProtocol,
    ProtocolError,
    SpeakerKFoldProtocol,
    StratifiedKFoldProtocol,
    _check_classes,
    _names,
    _untrained_label,
    make_protocol,
    plan_splits,
    speaker_label_association,
    untrained_classes,
)


def _as_lists(splits) -> list[tuple[list[int], list[int]]]:
    return [(sorted(train.tolist()), sorted(test.tolist())) for train, test in splits]


def _balanced(n_speakers: int, per_class: int = 2, classes=("a", "b")):
    """Every speaker records ``per_class`` utterances of every class."""
    labels, speakers = [], []
    for s in range(n_speakers):
        for label in classes:
            labels += [label] * per_class
            speakers += [f"s{s}"] * per_class
    return np.array(labels), np.array(speakers)


# --- names and make_protocol ------------------------------------------------------------


def test_protocol_names():
    assert StratifiedKFoldProtocol().name == "stratified-5fold"
    assert StratifiedKFoldProtocol(3).name == "stratified-3fold"
    assert SpeakerKFoldProtocol().name == "speaker-5fold"
    assert SpeakerKFoldProtocol(4).name == "speaker-4fold"
    assert LeaveOneSpeakerOutProtocol().name == "loso"


def test_make_protocol_defaults_and_spellings():
    assert make_protocol() == SpeakerKFoldProtocol(5)
    assert make_protocol("auto", 3) == SpeakerKFoldProtocol(3)
    assert make_protocol("group", 4) == SpeakerKFoldProtocol(4)
    assert make_protocol("loso", 3) == LeaveOneSpeakerOutProtocol()
    assert make_protocol("kfold", 2) == StratifiedKFoldProtocol(2)
    assert make_protocol("stratified") == StratifiedKFoldProtocol(5)


def test_make_protocol_unknown_name_message():
    with pytest.raises(ValueError) as error:
        make_protocol("random", 3)
    assert str(error.value) == (
        "unknown protocol 'random': use one of auto, speaker, loso, stratified"
    )


# --- _check_classes ---------------------------------------------------------------------


def test_one_class_message():
    with pytest.raises(ProtocolError) as error:
        _check_classes("emo", np.array(["x", "x", "x"]), 2)
    assert str(error.value) == (
        "emo: only one class (x) after label mapping; within-corpus evaluation needs at "
        "least two: widen the label space with --classes or --label-map, or leave this "
        "corpus out"
    )


def test_no_class_message():
    with pytest.raises(ProtocolError) as error:
        _check_classes("emo", np.array([], dtype=str), 2)
    assert str(error.value).startswith("emo: only one class (none) after label mapping;")


def test_two_classes_at_the_minimum_pass():
    # Exactly two classes with exactly min_per_class utterances each: no error.
    _check_classes("emo", np.array(["a", "a", "a", "b", "b", "b"]), 3)


def test_small_class_message_with_a_folds_fix():
    labels = np.array(["a"] * 5 + ["b"] * 2 + ["c"] * 3)
    with pytest.raises(ProtocolError) as error:
        _check_classes("emo", labels, 4)
    assert str(error.value) == (
        "emo: 'b' has 2, 'c' has 3 utterance(s), fewer than the 4 folds requested; "
        "use --folds 2 or drop the class (or add utterances of it)"
    )


def test_small_class_message_without_a_fix_when_the_fewest_is_one():
    labels = np.array(["a"] * 5 + ["b"] * 1)
    with pytest.raises(ProtocolError) as error:
        _check_classes("emo", labels, 3)
    assert str(error.value) == (
        "emo: 'b' has 1 utterance(s), fewer than the 3 folds requested; "
        "drop the class (or add utterances of it)"
    )


def test_small_class_fix_names_the_fewest_count():
    labels = np.array(["a"] * 3 + ["b"] * 4 + ["c"] * 9)
    with pytest.raises(ProtocolError) as error:
        _check_classes("emo", labels, 5)
    assert "'a' has 3, 'b' has 4 utterance(s)" in str(error.value)
    assert "; use --folds 3 or drop the class" in str(error.value)


def test_names_are_sorted_plain_strings():
    assert _names([np.str_("b"), np.str_("a"), 3]) == "3, a, b"
    assert _names([]) == ""


# --- splits -----------------------------------------------------------------------------


def test_stratified_splits_are_sklearns_shuffled_seeded_folds():
    labels = np.array(["a", "b"] * 6)
    speakers = np.array(["s0"] * 12)
    for seed in (0, 1):
        expected = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed).split(
            np.zeros(12), labels
        )
        got = StratifiedKFoldProtocol(3).splits("emo", labels, speakers, seed)
        assert len(got) == 3
        assert _as_lists(got) == _as_lists(expected)
    # The seed matters: two seeds give two different fold assignments.
    assert _as_lists(StratifiedKFoldProtocol(3).splits("emo", labels, speakers, 0)) != _as_lists(
        StratifiedKFoldProtocol(3).splits("emo", labels, speakers, 1)
    )


def test_stratified_splits_check_classes_against_the_folds():
    labels = np.array(["a"] * 3 + ["b"] * 2)
    with pytest.raises(ProtocolError, match="fewer than the 3 folds requested"):
        StratifiedKFoldProtocol(3).splits("emo", labels, np.array(["s"] * 5), 0)


def test_speaker_splits_are_sklearns_grouped_seeded_folds():
    labels, speakers = _balanced(6)
    for seed in (0, 3):
        expected = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed).split(
            np.zeros(len(labels)), labels, groups=speakers
        )
        got = SpeakerKFoldProtocol(3).splits("emo", labels, speakers, seed)
        assert _as_lists(got) == _as_lists(expected)
        for train, test in got:
            assert not set(speakers[train]) & set(speakers[test])


def test_speaker_splits_with_as_many_speakers_as_folds_and_two_per_class():
    # 3 speakers, 3 folds, a class with exactly 2 utterances: allowed.
    labels = np.array(["a", "a", "b", "a", "b", "a", "a"])
    speakers = np.array(["s0", "s0", "s0", "s1", "s1", "s2", "s2"])
    got = SpeakerKFoldProtocol(3).splits("emo", labels, speakers, 0)
    assert sorted(sorted(set(speakers[test])) for _, test in got) == [["s0"], ["s1"], ["s2"]]


def test_speaker_splits_refuse_a_class_with_one_utterance():
    labels = np.array(["a", "a", "b", "a"])
    speakers = np.array(["s0", "s1", "s2", "s3"])
    with pytest.raises(ProtocolError) as error:
        SpeakerKFoldProtocol(2).splits("emo", labels, speakers, 0)
    assert "'b' has 1 utterance(s), fewer than the 2 folds requested" in str(error.value)


def test_too_few_speakers_messages():
    labels, speakers = _balanced(2)
    with pytest.raises(DegenerateSplitError) as error:
        SpeakerKFoldProtocol(3).splits("emo", labels, speakers, 0)
    assert str(error.value) == (
        "emo: 2 speakers, fewer than the 3 folds requested; use --folds 2 or --protocol loso"
    )
    labels, speakers = _balanced(1)
    with pytest.raises(DegenerateSplitError) as error:
        SpeakerKFoldProtocol(2).splits("emo", labels, speakers, 0)
    assert str(error.value) == (
        "emo: 1 speakers, fewer than the 2 folds requested; "
        "use --protocol stratified (not speaker-independent)"
    )


def test_loso_splits_one_fold_per_speaker_in_sorted_order():
    labels, speakers = _balanced(2)
    got = LeaveOneSpeakerOutProtocol().splits("emo", labels, speakers, 0)
    assert _as_lists(got) == [([4, 5, 6, 7], [0, 1, 2, 3]), ([0, 1, 2, 3], [4, 5, 6, 7])]


def test_loso_needs_two_speakers_and_two_per_class():
    labels, speakers = _balanced(1)
    with pytest.raises(DegenerateSplitError) as error:
        LeaveOneSpeakerOutProtocol().splits("emo", labels, speakers, 0)
    assert str(error.value) == "emo: one speaker only; leave-one-speaker-out needs two"
    with pytest.raises(ProtocolError, match="'b' has 1 utterance"):
        LeaveOneSpeakerOutProtocol().splits(
            "emo", np.array(["a", "a", "b"]), np.array(["s0", "s1", "s1"]), 0
        )


# --- untrained classes, association, labels --------------------------------------------


def test_untrained_classes_by_hand():
    labels = np.array(["a", "b", "c", "a", "b", "c"])
    splits = [
        (np.array([0, 1, 2]), np.array([3, 4, 5])),  # trains on all three
        (np.array([0, 3]), np.array([1, 2, 4, 5])),  # only a
        (np.array([1, 2, 4]), np.array([0, 3, 5])),  # no a
    ]
    assert untrained_classes(labels, splits) == {1: ["b", "c"], 2: ["a"]}
    assert untrained_classes(labels, splits[:1]) == {}


def test_untrained_classes_are_plain_strings():
    labels = np.array([1, 2, 1, 2])
    got = untrained_classes(labels, [(np.array([0, 2]), np.array([1, 3]))])
    assert got == {0: ["2"]}


def _cramers_v(table: list[list[float]]) -> float:
    """Cramér's V written out: chi2 over n times (smaller side - 1)."""
    n = sum(map(sum, table))
    rows = [sum(r) for r in table]
    cols = [sum(c) for c in zip(*table)]
    chi2 = sum(
        (table[i][j] - rows[i] * cols[j] / n) ** 2 / (rows[i] * cols[j] / n)
        for i in range(len(rows))
        for j in range(len(cols))
    )
    return math.sqrt(chi2 / (n * (min(len(rows), len(cols)) - 1)))


def test_association_independent_and_confounded():
    labels, speakers = _balanced(2)
    assert speaker_label_association(labels, speakers) == pytest.approx(0.0)
    assert speaker_label_association(
        np.array(["x", "x", "y", "y"]), np.array(["a", "a", "b", "b"])
    ) == pytest.approx(1.0)


def test_association_of_a_two_by_two_table_is_one_third():
    # [[2, 1], [1, 2]]: expected 1.5 everywhere, chi2 = 4 * 0.25 / 1.5 = 2/3, V = sqrt(1/9).
    labels = np.array(["x", "x", "y", "x", "y", "y"])
    speakers = np.array(["a", "a", "a", "b", "b", "b"])
    assert speaker_label_association(labels, speakers) == pytest.approx(1 / 3)


def test_association_uses_the_smaller_side_of_the_table():
    # Three speakers, two labels, each speaker one label: V = 1 (not sqrt(1/2)).
    labels = np.array(["x", "x", "y", "y", "x", "x"])
    speakers = np.array(["a", "a", "b", "b", "c", "c"])
    assert speaker_label_association(labels, speakers) == pytest.approx(1.0)
    # And an uneven 3 x 2 table against the formula written out.
    labels = np.array(["x", "x", "x", "y", "x", "y", "y", "y", "y"])
    speakers = np.array(["a", "a", "a", "a", "b", "b", "c", "c", "c"])
    table = [[3, 1], [1, 1], [0, 3]]
    assert speaker_label_association(labels, speakers) == pytest.approx(_cramers_v(table))
    # Two speakers, three labels (transposed shape).
    labels = np.array(["x", "y", "z", "z", "x", "x", "y"])
    speakers = np.array(["a", "a", "a", "a", "b", "b", "b"])
    assert speaker_label_association(labels, speakers) == pytest.approx(
        _cramers_v([[1, 1, 2], [2, 1, 0]])
    )


def test_association_of_one_speaker_or_one_label_is_one():
    assert speaker_label_association(np.array(["x", "y"]), np.array(["a", "a"])) == 1.0
    assert speaker_label_association(np.array(["x", "x"]), np.array(["a", "b"])) == 1.0


def test_untrained_label():
    assert _untrained_label("speaker-5fold", {}) == "speaker-5fold"
    assert _untrained_label("loso", {2: ["c"], 0: ["a", "b"]}) == (
        "loso (trained fold 0 without a, b; fold 2 without c)"
    )


# --- plan_splits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balanced", "protocol", "name"),
    [
        ((1, 12), StratifiedKFoldProtocol(3), "stratified-3fold"),
        # 12 speakers in 3 folds, three seeds: the seed is passed on (an unseeded split would
        # match all three only by a very long chance).
        ((12, 2), SpeakerKFoldProtocol(3), "speaker-3fold"),
    ],
)
def test_plan_splits_keeps_a_possible_protocol_as_is(balanced, protocol, name):
    labels, speakers = _balanced(*balanced)
    for seed in (0, 1, 2):
        planned = plan_splits("emo", labels, speakers, protocol, seed=seed)
        assert planned.protocol == name
        assert planned.note is None and planned.untrained == {}
        expected = protocol.splits("emo", labels, speakers, seed)
        assert _as_lists(planned.splits) == _as_lists(expected)


def test_plan_splits_falls_back_to_loso_with_fewer_speakers_than_folds():
    labels, speakers = _balanced(2)
    planned = plan_splits("emo", labels, speakers, SpeakerKFoldProtocol(3), seed=0)
    assert planned.protocol == "loso (fallback from speaker-3fold)"
    assert planned.note == (
        "emo: speaker-3fold is not possible (2 speakers, fewer than the 3 folds requested; "
        "use --folds 2 or --protocol loso), so within-corpus results use loso (still "
        "speaker-independent)."
    )
    assert _as_lists(planned.splits) == [([4, 5, 6, 7], [0, 1, 2, 3]), ([0, 1, 2, 3], [4, 5, 6, 7])]
    assert planned.untrained == {}


def test_plan_splits_falls_back_to_stratified_with_one_speaker():
    labels, speakers = _balanced(1, per_class=3)
    planned = plan_splits("emo", labels, speakers, SpeakerKFoldProtocol(3), seed=4)
    assert planned.protocol == ("stratified-3fold (fallback from speaker-3fold: one speaker id)")
    assert planned.note == (
        "emo: 1 speakers, fewer than the 3 folds requested; use --protocol stratified (not "
        "speaker-independent); no speaker-independent split exists, so its within-corpus "
        "results use stratified-3fold: speakers shared, optimistic."
    )
    expected = StratifiedKFoldProtocol(3).splits("emo", labels, speakers, 4)
    assert _as_lists(planned.splits) == _as_lists(expected)
    assert planned.untrained == {}
    # The seed is passed on: 24 utterances, three seeds, each its own folds.
    labels, speakers = _balanced(1, per_class=12)
    for seed in (0, 1, 2):
        planned = plan_splits("emo", labels, speakers, SpeakerKFoldProtocol(3), seed=seed)
        expected = StratifiedKFoldProtocol(3).splits("emo", labels, speakers, seed)
        assert _as_lists(planned.splits) == _as_lists(expected)


def test_plan_splits_loso_with_one_speaker_falls_back_to_five_stratified_folds():
    labels, speakers = _balanced(1, per_class=5)
    planned = plan_splits("emo", labels, speakers, LeaveOneSpeakerOutProtocol(), seed=0)
    assert planned.protocol == "stratified-5fold (fallback from loso: one speaker id)"
    assert planned.note == (
        "emo: one speaker only; leave-one-speaker-out needs two; no speaker-independent "
        "split exists, so its within-corpus results use stratified-5fold: speakers "
        "shared, optimistic."
    )
    assert len(planned.splits) == 5


def test_plan_splits_names_a_fold_that_cannot_learn_a_class():
    # s0 records a and b, s1 records a, b and c: the fold testing s1 trains without c.
    labels = np.array(["a", "a", "b", "b", "a", "a", "b", "b", "c", "c"])
    speakers = np.array(["s0"] * 4 + ["s1"] * 6)
    planned = plan_splits("emo", labels, speakers, LeaveOneSpeakerOutProtocol(), seed=0)
    association = _cramers_v([[2, 2, 0], [2, 2, 2]])
    assert f"{association:.2f}" == "0.41"
    assert planned.untrained == {1: ["c"]}
    assert planned.protocol == "loso (trained fold 1 without c)"
    assert planned.note == (
        "emo: fold 1 has no c in training (speaker-label association Cramér's V = 0.41): "
        "not learnable speaker-independently in that fold, so its test utterances of that "
        "class count as errors; every fold stays speaker-independent."
    )


def test_plan_splits_fallback_and_untrained_notes_are_joined():
    labels = np.array(["a", "a", "b", "b", "a", "a", "b", "b", "c", "c"])
    speakers = np.array(["s0"] * 4 + ["s1"] * 6)
    planned = plan_splits("emo", labels, speakers, SpeakerKFoldProtocol(3), seed=0)
    assert planned.protocol == "loso (fallback from speaker-3fold) (trained fold 1 without c)"
    assert planned.note == (
        "emo: speaker-3fold is not possible (2 speakers, fewer than the 3 folds requested; "
        "use --folds 2 or --protocol loso), so within-corpus results use loso (still "
        "speaker-independent). emo: fold 1 has no c in training (speaker-label association "
        "Cramér's V = 0.41): not learnable speaker-independently in that fold, so its test "
        "utterances of that class count as errors; every fold stays speaker-independent."
    )
    assert planned.untrained == {1: ["c"]}


def test_plan_splits_lists_several_untrained_folds():
    # Three speakers: s0 only a/b, s1 only a/b, s2 a/b/c/d: loso fold 2 trains without c, d.
    labels = np.array(["a", "b", "a", "b", "a", "b", "c", "c", "d", "d"])
    speakers = np.array(["s0", "s0", "s1", "s1", "s2", "s2", "s2", "s2", "s2", "s2"])
    planned = plan_splits("emo", labels, speakers, LeaveOneSpeakerOutProtocol(), seed=0)
    assert planned.untrained == {2: ["c", "d"]}
    assert planned.protocol == "loso (trained fold 2 without c, d)"
    assert planned.note.startswith("emo: fold 2 has no c, d in training (")


# --- the cases mutation testing showed untested ------------------------------------------


def test_every_protocol_names_the_corpus_in_its_class_errors():
    labels, speakers = np.array(["a", "a", "a", "b"]), np.array(["s0", "s1", "s2", "s3"])
    for protocol in (StratifiedKFoldProtocol(2), SpeakerKFoldProtocol(2)):
        with pytest.raises(ProtocolError, match=r"^emo: 'b' has 1 utterance"):
            protocol.splits("emo", labels, speakers, 0)
        with pytest.raises(ProtocolError, match=r"^emo: 'b' has 1 utterance"):
            plan_splits("emo", labels, speakers, protocol, seed=0)
    with pytest.raises(ProtocolError, match=r"^emo: 'b' has 1 utterance"):
        LeaveOneSpeakerOutProtocol().splits("emo", labels, speakers, 0)


def test_stratified_fallback_names_the_corpus_in_its_class_error():
    # One speaker: speaker 3-fold passes its 2-per-class check, then the stratified
    # 3-fold fallback refuses a class of 2.
    labels = np.array(["a", "a", "a", "b", "b"])
    with pytest.raises(ProtocolError) as error:
        plan_splits("emo", labels, np.array(["s0"] * 5), SpeakerKFoldProtocol(3), seed=0)
    assert str(error.value) == (
        "emo: 'b' has 2 utterance(s), fewer than the 3 folds requested; use --folds 2 or "
        "drop the class (or add utterances of it)"
    )


def test_fallback_reason_keeps_the_whole_message_after_a_corpus_name_with_a_space():
    labels, speakers = _balanced(2)
    planned = plan_splits("my emo", labels, speakers, SpeakerKFoldProtocol(3), seed=0)
    assert planned.note.startswith(
        "my emo: speaker-3fold is not possible (2 speakers, fewer than the 3 folds requested;"
    )


def test_association_of_a_three_by_three_table_divides_by_n_times_two():
    # A 3 x 3 table: V = sqrt(chi2 / (n * 2)); each speaker one label gives 1.
    labels = np.array(["x", "x", "y", "y", "z", "z"])
    speakers = np.array(["a", "a", "b", "b", "c", "c"])
    assert speaker_label_association(labels, speakers) == pytest.approx(1.0)
    labels = np.array(["x", "y", "x", "y", "z", "z", "z", "x"])
    speakers = np.array(["a", "a", "b", "b", "b", "c", "c", "c"])
    assert speaker_label_association(labels, speakers) == pytest.approx(
        _cramers_v([[1, 1, 0], [1, 1, 1], [1, 0, 2]])
    )


def test_plan_splits_note_joins_two_untrained_folds_with_a_semicolon():
    # s0 alone has c, s1 alone has d: loso fold 0 trains without c, fold 1 without d.
    labels = np.array(["a", "b", "c", "c", "a", "b", "d", "d", "a", "b"])
    speakers = np.array(["s0"] * 4 + ["s1"] * 4 + ["s2"] * 2)
    planned = plan_splits("emo", labels, speakers, LeaveOneSpeakerOutProtocol(), seed=0)
    association = _cramers_v([[1, 1, 2, 0], [1, 1, 0, 2], [1, 1, 0, 0]])
    assert planned.untrained == {0: ["c"], 1: ["d"]}
    assert planned.protocol == "loso (trained fold 0 without c; fold 1 without d)"
    assert planned.note == (
        f"emo: fold 0 has no c; fold 1 has no d in training (speaker-label association "
        f"Cramér's V = {association:.2f}): not learnable speaker-independently in that fold, "
        "so its test utterances of that class count as errors; every fold stays "
        "speaker-independent."
    )


def test_fallback_reasons_of_a_corpus_whose_name_holds_a_colon():
    labels, speakers = _balanced(2)
    planned = plan_splits("set: a", labels, speakers, SpeakerKFoldProtocol(3), seed=0)
    assert planned.note.startswith(
        "set: a: speaker-3fold is not possible (2 speakers, fewer than the 3 folds requested;"
    )
    labels, speakers = _balanced(1, per_class=3)
    planned = plan_splits("set: a", labels, speakers, SpeakerKFoldProtocol(3), seed=0)
    assert planned.note.startswith("set: a: 1 speakers, fewer than the 3 folds requested; use")
