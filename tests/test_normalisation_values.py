"""Per-corpus and per-speaker standardisation on hand-worked numbers (experiments/normalisation.py).

A corpus of a few one- and two-column rows whose means and standard deviations are worked
out by hand (or by :mod:`statistics` on the same rows), with unlabelled rows and augmented
copies, so a changed group, statistic, dtype or threshold fails here (and mutation testing of
the module runs in seconds, see MUTATION.md).
"""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd
import pytest

from paraser.experiments.normalisation import (
    _standardiser,
    confounded,
    normalise,
    standardise_groups,
)
from paraser.experiments.transfer import AugmentedCopies, CorpusData, UnlabelledRows


def _z(value: float, reference: list[float]) -> float:
    """A value standardised with the population mean and deviation of ``reference``."""
    return (value - statistics.fmean(reference)) / statistics.pstdev(reference)


# --- _standardiser and standardise_groups ------------------------------------------------


def test_standardiser_uses_population_statistics_of_its_reference():
    scale = _standardiser(np.array([[2.0, 0.0], [4.0, 1.0], [2.0, 0.0], [4.0, 1.0]]))
    # Column 0: mean 3, std 1; column 1: mean 0.5, std 0.5.
    got = scale(np.array([[2.0, 0.0], [5.0, 2.0]]))
    np.testing.assert_allclose(got, [[-1.0, -1.0], [2.0, 3.0]])
    assert got.dtype == np.float32


def test_standardiser_leaves_constant_and_near_constant_columns_unscaled():
    values = np.array([[7.0, 0.0], [7.0, 1e-8]])
    # Column 0 is constant (std 0), column 1 has std 5e-9 < 1e-8: both divided by 1.
    got = _standardiser(values)(values)
    np.testing.assert_allclose(got[:, 0], [0.0, 0.0])
    np.testing.assert_allclose(got[:, 1], [-5e-9, 5e-9], rtol=1e-5)


def test_standardiser_accumulates_in_float64():
    # 2**24 and 2**24 + 2 in float32: a float32 mean rounds to 2**24 (std sqrt 2).
    values = np.array([[16777216.0], [16777218.0]], dtype=np.float32)
    np.testing.assert_allclose(_standardiser(values)(values), [[-1.0], [1.0]])


def test_standardiser_of_one_row_gives_zeros_of_the_input_shape():
    scale = _standardiser(np.array([[3.0, 4.0]]))
    got = scale(np.array([[1.0, 2.0], [5.0, 6.0], [7.0, 8.0]]))
    assert got.shape == (3, 2) and got.dtype == np.float32
    assert not got.any()
    assert not _standardiser(np.zeros((0, 2)))(np.ones((1, 2))).any()


def test_standardise_groups_whole_set_and_per_group():
    values = np.array([[0.0], [2.0], [10.0], [14.0]])
    whole = standardise_groups(values)
    np.testing.assert_allclose(whole[:, 0], [_z(v, [0, 2, 10, 14]) for v in (0, 2, 10, 14)])
    assert whole.dtype == np.float32
    grouped = standardise_groups(values, np.array(["a", "a", "b", "b"]))
    np.testing.assert_allclose(grouped[:, 0], [-1.0, 1.0, -1.0, 1.0])
    assert grouped.dtype == np.float32
    # Groups need not be contiguous; a one-row group becomes 0.
    mixed = standardise_groups(np.array([[0.0], [10.0], [2.0], [5.0]]), [1, 2, 1, 3])
    np.testing.assert_allclose(mixed[:, 0], [-1.0, 0.0, 1.0, 0.0])


# --- confounded ------------------------------------------------------------------------


def _two_speakers(same: int, other: int) -> tuple[np.ndarray, np.ndarray]:
    """Speaker a: ``same`` x and ``other`` y; speaker b the mirror image."""
    labels = ["x"] * same + ["y"] * other + ["x"] * other + ["y"] * same
    return np.array(labels), np.array(["a"] * (same + other) + ["b"] * (same + other))


def test_confounded_above_the_threshold_only():
    # 2 x 2 tables: V = |ad - bc| / (row and column sums): [[4, 1], [1, 4]] gives 15/25 = 0.6.
    assert not confounded(*_two_speakers(4, 1))  # exactly 0.6: not above
    assert confounded(*_two_speakers(5, 1))  # 24/36 = 0.67
    assert not confounded(*_two_speakers(3, 1))  # 8/16 = 0.5
    assert confounded(*_two_speakers(2, 0))  # 1.0
    assert not confounded(*_two_speakers(2, 2))  # 0.0


# --- normalise --------------------------------------------------------------------------


def _corpus(with_unlabelled: bool = True) -> CorpusData:
    """Speakers s0 (rows 0, 1), s1 (rows 2, 3, and two unlabelled rows) and s2 (row 4)."""
    frame = pd.DataFrame(
        {
            "utterance": [f"u{i}" for i in range(5)],
            "label": ["x", "y", "x", "y", "x"],
            "speaker": ["s0", "s0", "s1", "s1", "s2"],
        }
    )
    features = {
        "f": np.array([[0.0], [2.0], [10.0], [14.0], [5.0]], dtype=np.float32),
        "g": np.array([[1.0, 4.0], [3.0, 4.0], [5.0, 0.0], [5.0, 2.0], [9.0, 9.0]]),
    }
    augmented = {
        "noise": AugmentedCopies(
            np.array([0, 3, 4]),
            {
                "f": np.array([[1.0], [13.0], [7.0]]),
                "g": np.array([[4.0, 4.0], [5.0, 1.0], [1.0, 1.0]]),
            },
        ),
        "speed": AugmentedCopies(
            np.array([1]), {"f": np.array([[4.0]]), "g": np.array([[3.0, 3.0]])}
        ),
    }
    unlabelled = (
        UnlabelledRows(
            np.array(["s1", "s1"]),
            {"f": np.array([[12.0], [12.0]]), "g": np.array([[5.0, 1.0], [5.0, 1.0]])},
        )
        if with_unlabelled
        else None
    )
    return CorpusData("emo", frame, features, augmented, unlabelled)


F_ALL = [0, 2, 10, 14, 5, 12, 12]  # labelled rows then unlabelled rows
S1 = [10, 14, 12, 12]  # speaker s1's f values, unlabelled rows included


def test_train_returns_the_corpus_itself():
    corpus = _corpus()
    assert normalise(corpus, "train") is corpus


def test_unknown_strategy_message():
    with pytest.raises(ValueError) as error:
        normalise(_corpus(), "global")
    assert str(error.value) == "unknown normalisation 'global': use train, corpus, speaker"


def test_per_corpus_statistics_include_the_unlabelled_rows():
    got = normalise(_corpus(), "corpus")
    expected = [_z(v, F_ALL) for v in F_ALL]
    np.testing.assert_allclose(got.features["f"][:, 0], expected[:5], rtol=1e-6)
    np.testing.assert_allclose(got.unlabelled.features["f"][:, 0], expected[5:], rtol=1e-6)
    assert list(got.unlabelled.speakers) == ["s1", "s1"]
    # Column 1 of g: [4, 4, 0, 2, 9, 1, 1].
    g1 = [4, 4, 0, 2, 9, 1, 1]
    np.testing.assert_allclose(got.features["g"][:, 1], [_z(v, g1) for v in g1[:5]], rtol=1e-6)
    assert got.features["f"].dtype == np.float32
    assert got.name == "emo"
    pd.testing.assert_frame_equal(got.frame, _corpus().frame)


def test_per_corpus_augmented_copies_use_the_corpus_statistics():
    got = normalise(_corpus(), "corpus")
    noise, speed = got.augmented["noise"], got.augmented["speed"]
    np.testing.assert_allclose(
        noise.features["f"][:, 0], [_z(v, F_ALL) for v in (1, 13, 7)], rtol=1e-6
    )
    np.testing.assert_allclose(speed.features["f"][:, 0], [_z(4, F_ALL)], rtol=1e-6)
    g0 = [1, 3, 5, 5, 9, 5, 5]
    np.testing.assert_allclose(noise.features["g"][:, 0], [_z(v, g0) for v in (4, 5, 1)], rtol=1e-6)
    assert list(noise.origin) == [0, 3, 4] and list(speed.origin) == [1]
    assert noise.features["f"].dtype == np.float32


def test_per_speaker_statistics_include_the_unlabelled_rows():
    got = normalise(_corpus(), "speaker")
    # s0: [0, 2] -> mean 1, std 1; s1: [10, 14, 12, 12] -> mean 12, std sqrt 2; s2 one row -> 0.
    expected = [-1.0, 1.0, _z(10, S1), _z(14, S1), 0.0]
    np.testing.assert_allclose(got.features["f"][:, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(got.unlabelled.features["f"][:, 0], [0.0, 0.0], atol=1e-7)
    # g column 0 of s1 is constant (5 everywhere): divided by 1, it stays 0.
    np.testing.assert_allclose(got.features["g"][:, 0], [-1.0, 1.0, 0.0, 0.0, 0.0], atol=1e-7)
    g1_s1 = [0, 2, 1, 1]
    np.testing.assert_allclose(got.features["g"][2:4, 1], [_z(0, g1_s1), _z(2, g1_s1)], rtol=1e-6)


def test_per_speaker_augmented_copies_use_their_origins_speaker():
    got = normalise(_corpus(), "speaker")
    noise, speed = got.augmented["noise"], got.augmented["speed"]
    # Copy 0 from row 0 (s0: f mean 1, std 1; g mean 2, std 1), copy 1 from row 3 (s1),
    # copy 2 from row 4 (s2, one row: 0).
    np.testing.assert_allclose(noise.features["f"][:, 0], [0.0, _z(13, S1), 0.0], rtol=1e-6)
    np.testing.assert_allclose(speed.features["f"][:, 0], [3.0], rtol=1e-6)
    np.testing.assert_allclose(noise.features["g"][:, 0], [2.0, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(noise.features["g"][1, 1], _z(1, [0, 2, 1, 1]), rtol=1e-6)
    assert noise.features["g"].dtype == np.float32


def test_without_unlabelled_rows():
    got = normalise(_corpus(with_unlabelled=False), "speaker")
    assert got.unlabelled is None
    np.testing.assert_allclose(got.features["f"][:, 0], [-1.0, 1.0, -1.0, 1.0, 0.0])
    # s1 is now [10, 14] only: mean 12, std 2.
    np.testing.assert_allclose(got.augmented["noise"].features["f"][:, 0], [0.0, 0.5, 0.0])


def test_normalise_leaves_the_input_corpus_unchanged():
    corpus = _corpus()
    normalise(corpus, "speaker")
    np.testing.assert_array_equal(corpus.features["f"][:, 0], [0, 2, 10, 14, 5])
    np.testing.assert_array_equal(corpus.augmented["noise"].features["f"][:, 0], [1, 13, 7])


# --- the cases mutation testing showed untested ------------------------------------------


def test_a_deviation_of_exactly_1e_minus_8_is_still_divided_by():
    # [0, 2e-8]: mean 1e-8, population std exactly 1e-8 (not below the floor): +-1.
    values = np.array([[0.0], [2e-8]])
    assert values.std() == 1e-8
    np.testing.assert_allclose(_standardiser(values)(values), [[-1.0], [1.0]])
