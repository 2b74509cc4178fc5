"""Permutation importance (experiments/importance.py) on hand-worked numbers.

Four-row corpora whose first column carries the class and a nearest-centroid classifier on
that column: permuting it swaps a test speaker's two utterances (both then wrong) or leaves
them, so every UAR lost below is counted by hand.  The permutations are numpy's own draws
for the seed (``default_rng(0)``), written out as literals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from paraser.experiments.classifiers import ClassifierSpec
from paraser.experiments.importance import (
    IMPORTANCE_COLUMNS,
    _permutation,
    _pool_folds,
    feature_units,
    importance_grid,
    permutation_importance,
    uar,
)
from paraser.experiments.protocols import LeaveOneSpeakerOutProtocol, StratifiedKFoldProtocol
from paraser.experiments.transfer import CorpusData

FS = "fs"
NAMES = ["F0_mean", "loudness_mean", "F0_range"]  # pitch, energy, pitch
LOSO = LeaveOneSpeakerOutProtocol()


class Centroid(BaseEstimator, ClassifierMixin):
    """Nearest class mean on one column."""

    def __init__(self, column: int = 0):
        self.column = column

    def fit(self, x, y):
        x, y = np.asarray(x, dtype=float), np.asarray(y)
        self.classes_ = np.unique(y)
        self.centres_ = np.array([x[y == c, self.column].mean() for c in self.classes_])
        return self

    def predict(self, x):
        column = np.asarray(x, dtype=float)[:, [self.column]]
        return self.classes_[np.abs(column - self.centres_).argmin(axis=1)]


CENTROID = ClassifierSpec(lambda seed: Centroid(), "nearest class mean", None, "centroid")
#: Column = seed: with seed 1 the model reads column 1 only.
SEEDED = ClassifierSpec(lambda seed: Centroid(seed), "column = seed", None, "seeded")


class Threshold:
    """A fitted model stand-in: 'hi' where column 0 exceeds 1.5."""

    def predict(self, x):
        return np.where(np.asarray(x)[:, 0] > 1.5, "hi", "lo")


class Sign:
    """A fitted model stand-in: 'hi' where column 0 is positive."""

    def predict(self, x):
        return np.where(np.asarray(x)[:, 0] > 0, "hi", "lo")


def _corpus(name, labels, column0, speakers) -> CorpusData:
    frame = pd.DataFrame(
        {
            "utterance": [f"{name}{i}" for i in range(len(labels))],
            "label": labels,
            "speaker": [f"{name}:{s}" for s in speakers],
        }
    )
    n = len(labels)
    x = np.column_stack([column0, np.arange(n) * 7.0, np.zeros(n)])
    return CorpusData(name, frame, {FS: x})


def corpus_p() -> CorpusData:
    # Speakers s0 (rows 0, 2) and s1 (rows 1, 3), each one lo and one hi.
    return _corpus("p", ["lo", "lo", "hi", "hi"], [-1, -2, 1, 2], ["s0", "s1", "s0", "s1"])


def corpus_q() -> CorpusData:
    # Speakers t0 (rows 0, 1) and t1 (rows 2, 3).
    return _corpus("q", ["lo", "hi", "lo", "hi"], [-3, 3, -4, 4], ["t0", "t0", "t1", "t1"])


def test_uar_is_over_the_true_classes_only():
    assert uar(["a", "a", "b"], ["a", "c", "b"]) == pytest.approx((1 / 2 + 1) / 2)
    assert uar(np.array(["a", "b", "b", "b"]), np.array(["b", "b", "a", "b"])) == pytest.approx(
        (0 + 2 / 3) / 2
    )
    assert isinstance(uar(["a"], ["a"]), float)


def test_permutations_with_and_without_groups():
    # default_rng(0).permutation(4) is [2, 0, 1, 3].
    assert _permutation(None, np.random.default_rng(0), 4).tolist() == [2, 0, 1, 3]
    # Groups in sorted order: 'a' (rows 1, 3, 5) drawn first -> [5, 1, 3]; then 'b'
    # (rows 0, 2, 4) -> [4, 2, 0].
    groups = np.array(["b", "a", "b", "a", "b", "a"])
    order = _permutation(groups, np.random.default_rng(0), 6)
    assert order.tolist() == [4, 5, 2, 1, 0, 3]


def test_permutation_importance_hand_worked():
    x = [[-1, 5], [-2, 5], [1, 5], [2, 5]]
    y = np.array(["lo", "lo", "hi", "hi"])
    units = {"a": np.array([0]), "b": np.array([1]), "ab": np.array([0, 1])}
    # Predictions lo, lo, lo, hi: baseline UAR (1 + 1/2) / 2.
    baseline, lost = permutation_importance(Threshold(), x, y, units, n_repeats=2, seed=0)
    assert baseline == 0.75
    # Draws [2, 0, 1, 3]: column 0 becomes 1, -1, -2, 2: same predictions, nothing lost.
    # Draws [3, 2, 1, 0]: 2, 1, -2, -1 -> hi, lo, lo, lo: UAR 1/4, lost 1/2.
    assert lost["a"].tolist() == [0.0, 0.5]
    assert lost["b"].tolist() == [0.0, 0.0]
    # One row order per repeat for every unit (common random numbers).
    assert lost["ab"].tolist() == [0.0, 0.5]
    assert list(lost) == ["a", "b", "ab"]
    assert x[0] == [-1, 5]
    # Within groups s0 (rows 0, 2) and s1 (rows 1, 3): draws identity, identity; then
    # identity and a swap of rows 1 and 3: column 0 becomes -1, 2, 1, -2 -> lo, hi, lo, lo:
    # UAR (1/2 + 0) / 2, lost 1/2.
    groups = np.array(["s0", "s1", "s0", "s1"])
    _, lost = permutation_importance(
        Threshold(), np.array(x), y, {"a": np.array([0])}, groups=groups, n_repeats=2, seed=0
    )
    assert lost["a"].tolist() == [0.0, 0.5]
    # Defaults: three repeats, seed 0.  'hi' where column 0 is positive (baseline 1):
    # draws [2, 0, 1, 3] -> 1, -1, -2, 2: UAR 1/2; [3, 2, 1, 0] -> 2, 1, -2, -1: UAR 0;
    # [1, 3, 0, 2] -> -2, 2, -1, 1: UAR 1/2.
    _, lost = permutation_importance(Sign(), x, y, {"a": [0]})
    assert lost["a"].tolist() == [0.5, 1.0, 0.5]


def test_feature_units_one_column_each_and_families_sorted():
    features, families = feature_units(["F0_mean", "loudness_mean", "F0_range", "mystery"])
    assert {k: v.tolist() for k, v in features.items()} == {
        "F0_mean": [0],
        "loudness_mean": [1],
        "F0_range": [2],
        "mystery": [3],
    }
    assert list(families) == ["energy", "other", "pitch"]
    assert {k: v.tolist() for k, v in families.items()} == {
        "energy": [1],
        "other": [3],
        "pitch": [0, 2],
    }


def _row(table: pd.DataFrame, kind: str, source: str, target: str, unit: str, name: str):
    rows = table[
        (table.kind == kind)
        & (table.source == source)
        & (table.target == target)
        & (table.unit == unit)
        & (table.name == name)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def _grid(**options) -> pd.DataFrame:
    return importance_grid(
        [corpus_p(), corpus_q()],
        {FS: NAMES},
        [CENTROID],
        protocol=LOSO,
        **{"n_repeats": 4, **options},
    )


def test_importance_grid_hand_worked():
    table = _grid()
    assert list(table.columns) == list(IMPORTANCE_COLUMNS)
    assert len(table) == 4 * 5  # 2 within, 2 transfer cells x (3 features + 2 families)
    assert table[["kind", "source", "target"]].drop_duplicates().values.tolist() == [
        ["transfer", "p", "q"],
        ["transfer", "q", "p"],
        ["within", "p", "p"],
        ["within", "q", "q"],
    ]
    assert table.unit.tolist()[:5] == ["family", "family", "feature", "feature", "feature"]
    assert table.name.tolist()[:5] == ["energy", "pitch", "F0_mean", "F0_range", "loudness_mean"]
    # Within p: each fold tests one speaker's lo and hi; draws of a pair: identity three
    # times, then a swap (both wrong): lost [0, 0, 0, 1], mean 1/4, SD 1/2.
    row = _row(table, "within", "p", "p", "feature", "F0_mean")
    assert row.to_dict() == {
        "feature_set": FS,
        "classifier": "centroid",
        "kind": "within",
        "source": "p",
        "target": "p",
        "unit": "feature",
        "name": "F0_mean",
        "family": "pitch",
        "n_features": 1,
        "importance": 0.25,
        "sd": 0.5,
        "baseline_uar": 1.0,
        "n_test": 4,
        "n_repeats": 4,
        "permute": "speaker",
    }
    pitch = _row(table, "within", "q", "q", "family", "pitch")
    assert (pitch.family, pitch.n_features, pitch.importance, pitch.sd) == ("pitch", 2, 0.25, 0.5)
    for name in ("loudness_mean", "F0_range"):
        row = _row(table, "within", "p", "p", "feature", name)
        assert (row.importance, row.sd, row.baseline_uar) == (0.0, 0.0, 1.0)
    assert _row(table, "within", "p", "p", "feature", "F0_range").family == "pitch"
    energy = _row(table, "transfer", "p", "q", "family", "energy")
    assert (energy.family, energy.n_features, energy.importance) == ("energy", 1, 0.0)
    # p -> q within q's speakers t0 (rows 0, 1) and t1 (rows 2, 3): per repeat one pair
    # swapped or not: lost [0, 1/2, 1/2, 1/2]; q -> p the same with p's speakers.
    for source, target in (("p", "q"), ("q", "p")):
        row = _row(table, "transfer", source, target, "feature", "F0_mean")
        assert (row.importance, row.sd, row.baseline_uar, row.n_test) == (0.375, 0.25, 1.0, 4)


def test_permuting_over_the_whole_test_side():
    table = _grid(permute="all")
    assert set(table.permute) == {"all"}
    # p -> q, draws [2, 0, 1, 3], [3, 2, 1, 0], [1, 3, 0, 2], [0, 2, 3, 1]: lost 1/2, 1,
    # 1/2, 1/2.
    row = _row(table, "transfer", "p", "q", "feature", "F0_mean")
    assert (row.importance, row.sd) == (0.625, 0.25)
    with pytest.raises(ValueError) as error:
        _grid(permute="speakers")
    assert str(error.value) == "permute must be 'speaker' or 'all', not 'speakers'"


def test_a_capped_test_side_is_a_seeded_subsample():
    # default_rng(0).choice(4 rows, 3) keeps rows 1, 2, 3 (sorted); within folds of two
    # rows stay whole.  Row 0 of q (lo) is gone, so q -> p is the only cell with 4 rows.
    table = _grid(max_test=3)
    assert _row(table, "transfer", "p", "q", "feature", "F0_mean").n_test == 3
    assert _row(table, "within", "p", "p", "feature", "F0_mean").n_test == 4
    table = _grid(max_test=2)
    assert _row(table, "transfer", "q", "p", "feature", "F0_mean").n_test == 2
    assert _row(table, "within", "q", "q", "feature", "F0_mean").n_test == 4


def test_transfer_off_skipped_directions_and_progress():
    calls = []
    table = _grid(transfer=False, progress=lambda *a: calls.append(a))
    assert set(table.kind) == {"within"}
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    calls.clear()
    _grid(progress=lambda *a: calls.append(a))
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    # r shares only 'lo' with p: no direction between them.
    r = _corpus("r", ["lo", "mid", "lo", "mid"], [-1, 5, -2, 6], ["s0", "s0", "s1", "s1"])
    table = importance_grid([corpus_p(), r], {FS: NAMES}, [CENTROID], protocol=LOSO)
    assert set(table.kind) == {"within"}
    assert set(table.n_repeats) == {3} and set(table.permute) == {"speaker"}


def test_the_transfer_model_trains_on_the_shared_classes_only():
    # s has a third class far up: trained on it, the centroid of 'hi' would not move, but
    # 'top' would take q's highest rows.
    s = _corpus("s", ["lo", "hi", "top", "lo", "hi", "top"], [-1, 1, 3.5, -1, 1, 3.5],
                ["s0", "s0", "s0", "s1", "s1", "s1"])  # fmt: skip
    table = importance_grid([s, corpus_q()], {FS: NAMES}, [CENTROID], protocol=LOSO)
    row = _row(table, "transfer", "s", "q", "feature", "F0_mean")
    assert (row.baseline_uar, row.n_test) == (1.0, 4)
    row = _row(table, "transfer", "q", "s", "feature", "F0_mean")
    assert row.n_test == 4  # s's 'top' rows are not scored


def test_pool_folds_weights_by_test_rows():
    keys = {
        "feature_set": FS,
        "classifier": "c",
        "kind": "within",
        "source": "p",
        "target": "p",
        "unit": "feature",
    }
    rows = pd.DataFrame(
        [
            {**keys, "name": "x", "family": "pitch", "n_features": 1, "importance": 0.5,
             "var": 0.04, "baseline_uar": 1.0, "n_test": 2, "n_repeats": 3, "permute": "all"},
            {**keys, "name": "x", "family": "pitch", "n_features": 1, "importance": 0.1,
             "var": 0.01, "baseline_uar": 0.5, "n_test": 6, "n_repeats": 3, "permute": "all"},
            {**keys, "name": "a", "family": "energy", "n_features": 2, "importance": 0.3,
             "var": 0.09, "baseline_uar": 0.7, "n_test": 5, "n_repeats": 3, "permute": "all"},
        ]
    )  # fmt: skip
    pooled = _pool_folds(rows)
    assert list(pooled.columns) == list(IMPORTANCE_COLUMNS)
    assert pooled.name.tolist() == ["a", "x"]
    a, x = pooled.iloc[0], pooled.iloc[1]
    assert (a.family, a.n_features, a.importance, a.n_test) == ("energy", 2, 0.3, 5)
    assert a.sd == pytest.approx(0.3) and a.baseline_uar == pytest.approx(0.7)
    assert x.importance == pytest.approx((0.5 * 2 + 0.1 * 6) / 8)
    assert x.baseline_uar == pytest.approx((1.0 * 2 + 0.5 * 6) / 8)
    assert x.sd == pytest.approx(np.sqrt((0.04 + 0.01) / 2))
    assert (x.n_test, x.n_repeats, x.permute, x.family) == (8, 3, "all", "pitch")


def test_one_repeat_has_no_spread():
    table = _grid(n_repeats=1)
    assert set(table.n_repeats) == {1}
    assert set(table.sd) == {0.0}
    # One repeat: the first draws (identity for every pair): nothing lost.
    assert set(table.importance) == {0.0}


def test_two_repeats_have_a_spread():
    # p -> q, pairs of q's speakers: (kept, kept), then (kept, swapped): lost [0, 1/2].
    row = _row(_grid(n_repeats=2), "transfer", "p", "q", "feature", "F0_mean")
    assert row.importance == 0.25
    assert row.sd == pytest.approx(np.sqrt(0.125))


def test_the_seed_reaches_the_model_and_the_permutations():
    # default_rng(1).permutation(4): [0, 1, 2, 3], [3, 0, 2, 1], [3, 0, 1, 2]; q's column 0
    # (-3, 3, -4, 4) becomes 4, -3, -4, 3 (UAR 1/2), then 4, -3, 3, -4 (UAR 0).
    table = _grid(permute="all", n_repeats=3, seed=1)
    row = _row(table, "transfer", "p", "q", "feature", "F0_mean")
    assert row.importance == pytest.approx(0.5)
    # A model on column 1 (seed 1) never reads column 0.
    table = importance_grid([corpus_p(), corpus_q()], {FS: NAMES}, [SEEDED], protocol=LOSO,
                            seed=1, permute="all")  # fmt: skip
    assert set(table[table.name == "F0_mean"].importance) == {0.0}
    assert set(table.classifier) == {"seeded"}


def test_the_capped_rows_are_drawn_without_replacement():
    # q -> p keeps p's rows 1, 2, 3 (lo, hi, hi; column 0 -2, 1, 2); one draw [2, 0, 1]
    # gives 2, -2, 1 -> hi, lo, hi: UAR (0 + 1/2) / 2, lost 3/4.
    table = _grid(permute="all", n_repeats=1, max_test=3)
    row = _row(table, "transfer", "q", "p", "feature", "F0_mean")
    assert (row.n_test, row.baseline_uar, row.importance) == (3, 1.0, 0.75)


def test_at_most_400_test_rows_by_default():
    n = 401
    big = _corpus("big", ["lo", "hi"] * 200 + ["lo"], [-1, 1] * 200 + [-1],
                  ["s0", "s0", "s1", "s1"] * 100 + ["s0"])  # fmt: skip
    table = importance_grid([corpus_p(), big], {FS: NAMES}, [CENTROID], protocol=LOSO,
                            n_repeats=1, transfer=True)  # fmt: skip
    assert _row(table, "transfer", "p", "big", "feature", "F0_mean").n_test == 400
    assert _row(table, "within", "big", "big", "feature", "F0_mean").n_test == n


def test_a_family_row_is_named_after_its_family():
    table = importance_grid([corpus_p(), corpus_q()], {FS: ["F0_mean", "jitterLocal", "mfcc1"]},
                            [CENTROID], protocol=LOSO, n_repeats=1)  # fmt: skip
    families = table[table.unit == "family"]
    assert sorted(set(families.name)) == ["mfcc", "pitch", "voice quality"]
    assert (families.family == families.name).all()
    features = table[table.unit == "feature"].drop_duplicates("name").set_index("name")
    assert features.family.to_dict() == {
        "F0_mean": "pitch", "jitterLocal": "voice quality", "mfcc1": "mfcc",
    }  # fmt: skip


def test_stratified_folds_and_subsamples_are_reproducible():
    corpora = [
        _corpus("u", ["lo", "hi"] * 6, [-1, 1, -2, 2, -3, 3, 1, -1, -2, 2, 3, -3], ["s"] * 12),
        _corpus("v", ["lo", "hi"] * 6, [-3, 3, 2, -2, -1, 1, -2, 2, 1, -1, -3, 3], ["s"] * 12),
    ]
    runs = [
        importance_grid(
            corpora,
            {FS: NAMES},
            [CENTROID],
            protocol=StratifiedKFoldProtocol(2),
            seed=3,
            n_repeats=2,
            max_test=4,
            permute="all",
        )  # fmt: skip
        for _ in range(3)
    ]
    for run in runs[1:]:
        pd.testing.assert_frame_equal(run, runs[0])


def test_a_corpus_that_cannot_be_split_is_named():
    mono = _corpus("mono", ["lo"] * 4, [1, 2, 3, 4], ["s0", "s1", "s0", "s1"])
    with pytest.raises(ValueError, match=r"^mono: only one class \(lo\) after label mapping"):
        importance_grid([mono], {FS: NAMES}, [CENTROID], protocol=LOSO)
