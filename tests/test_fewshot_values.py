"""Few-shot curves on hand-worked numbers (experiments/fewshot.py).

The plan's checks and keys, the estimators' training rows and weights, the feature
augmentation layout, the unsupervised adaptations, the seeded speaker splits and nested
shots, and a whole run with a recording majority-class classifier whose every prediction,
UAR, count and table row is worked out by hand; so a changed count, seed, filter, sign or
key fails here (and mutation testing of the module runs in seconds).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import paraser.experiments.fewshot as fewshot
from paraser.experiments import CorpusData
from paraser.experiments.fewshot import (
    FEWSHOT_COLUMNS,
    FEWSHOT_PREDICTION_COLUMNS,
    FeatureAugmentation,
    FewShotPlan,
    PooledShots,
    TargetOnly,
    _domains,
    _fit_weighted,
    adapt_features,
    draw_seed,
    draw_shots,
    make_strategy,
    plan_directions,
    run_few_shot,
    split_target,
    write_few_shot,
)

#: Every fit and predict of a :class:`Majority`, in order: (event, X, y, weights, seed).
CALLS: list[tuple] = []


class Majority(BaseEstimator, ClassifierMixin):
    """Predicts the class of largest (weighted) count, ties to the first in sorted order;
    records what it was given."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        CALLS.append(("fit", np.array(X), y.copy(), sample_weight, self.seed))
        self.classes_ = np.unique(y)
        totals = [weights[y == c].sum() for c in self.classes_]
        self.label_ = self.classes_[int(np.argmax(totals))]
        return self

    def predict(self, X):
        CALLS.append(("predict", np.array(X), None, None, self.seed))
        return np.full(len(X), self.label_)


@pytest.fixture
def majority(monkeypatch):
    """The run's classifier replaced by a bare :class:`Majority` (no scaler in front)."""
    CALLS.clear()

    def make(name, seed):
        assert name == "maj", name  # the run's classifier name reaches the factory
        return Majority(seed)

    monkeypatch.setattr(fewshot, "make_classifier", make)
    yield CALLS
    CALLS.clear()


def _fits():
    return [call for call in CALLS if call[0] == "fit"]


# --- the plan ----------------------------------------------------------------------------------


def test_plan_defaults_and_keys():
    plan = FewShotPlan()
    assert (plan.shots, plan.draws, plan.shot_weight, plan.test_share) == (
        (0, 5, 10, 20, 50),
        5,
        1.0,
        0.5,
    )
    plan = FewShotPlan(shots=(10, 0, 5, 10), draws=1, shot_weight=2.5, test_share=0.25)
    assert plan.to_dict() == {
        "shots": [0, 5, 10],
        "draws": 1,
        "shot_weight": 2.5,
        "test_share": 0.25,
        "strategies": ["zero-shot", "ceiling", "target-only", "pooled", "feature-augment"],
    }
    assert plan.experiment_keys() == {
        "target_shots": [10, 0, 5, 10],
        "shot_draws": 1,
        "shot_weight": 2.5,
        "shot_test_share": 0.25,
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shots": ()}, "--target-shots []: give counts >= 0, e.g. 0,5,10"),
        ({"shots": (0, -1)}, "--target-shots [0, -1]: give counts >= 0, e.g. 0,5,10"),
        ({"draws": 0}, "few-shot draws must be at least 1"),
        ({"test_share": 0.0}, "test share 0.0: must lie strictly between 0 and 1"),
        ({"test_share": 1.0}, "test share 1.0: must lie strictly between 0 and 1"),
    ],
)
def test_plan_rejects(options, message):
    with pytest.raises(ValueError) as error:
        FewShotPlan(**options)
    assert str(error.value) == message


def test_plan_accepts_the_boundaries():
    plan = FewShotPlan(shots=(0,), draws=1, test_share=0.01)
    assert plan.shots == (0,) and plan.draws == 1
    assert FewShotPlan(test_share=0.99).test_share == 0.99


# --- weights, domains and the estimators ------------------------------------------------------


def test_fit_weighted_routes_weights_to_the_last_step():
    x, y = np.arange(6.0).reshape(3, 2), np.array(["a", "b", "b"])
    CALLS.clear()
    _fit_weighted(Majority(), x, y, None)
    assert CALLS[-1][3] is None
    _fit_weighted(Majority(), x, y, np.array([1.0, 2.0, 3.0]))
    assert list(CALLS[-1][3]) == [1.0, 2.0, 3.0]
    nested = Pipeline([("outer", Pipeline([("inner", Majority())]))])
    _fit_weighted(nested, x, y, np.array([4.0, 5.0, 6.0]))
    assert list(CALLS[-1][3]) == [4.0, 5.0, 6.0]
    flat = Pipeline([("scale", StandardScaler()), ("classify", Majority())])
    fitted = _fit_weighted(flat, x, y, np.array([7.0, 8.0, 9.0]))
    assert list(CALLS[-1][3]) == [7.0, 8.0, 9.0] and fitted is flat
    CALLS.clear()


def test_domains_are_checked():
    assert list(_domains([0, 1, 1.0], 3)) == [0, 1, 1]
    assert _domains(np.array([True, False]), 2).dtype.kind == "i"
    with pytest.raises(ValueError) as error:
        _domains(None, 2)
    assert str(error.value) == "few-shot estimators need domain= (0 source rows, 1 target shots)"
    bad = "domain must hold one 0 (source) or 1 (target) per training row"
    for domain, n in (([0, 1], 3), ([0, 2], 2), ([[0, 1]], 2), ([-1, 0], 2)):
        with pytest.raises(ValueError) as error:
            _domains(domain, n)
        assert str(error.value) == bad


def _training():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0]])
    y = np.array(["a", "b", "b", "a", "a"])
    domain = np.array([0, 0, 0, 1, 1])
    return x, y, domain


def test_target_only_fits_the_target_rows_alone():
    x, y, domain = _training()
    CALLS.clear()
    model = TargetOnly(Majority()).fit(x.tolist(), y, domain=domain)
    _, fit_x, fit_y, weights, _ = CALLS[-1]
    assert fit_x.tolist() == [[6.0, 7.0], [8.0, 9.0]] and list(fit_y) == ["a", "a"]
    assert weights is None and list(model.classes_) == ["a"]
    assert list(model.predict([[1, 1], [2, 2]])) == ["a", "a"]
    assert CALLS[-1][1].dtype == np.float64
    with pytest.raises(ValueError) as error:
        TargetOnly(Majority()).fit(x, y, domain=np.zeros(5))
    assert str(error.value) == "target-only training needs at least one target row"
    with pytest.raises(ValueError):
        TargetOnly(Majority()).fit(x, y)
    CALLS.clear()


def test_pooled_shots_weight_only_the_target_rows():
    x, y, domain = _training()
    CALLS.clear()
    model = PooledShots(Majority()).fit(x, y, domain=domain)
    assert model.shot_weight == 1.0
    _, fit_x, fit_y, weights, _ = CALLS[-1]
    assert fit_x.tolist() == x.tolist() and list(fit_y) == list(y) and weights is None
    # Unweighted: a 3, b 2 -> a.  Shots weighted 0.25: a 1 + 0.5 = 1.5 < b 2 -> b.
    assert list(model.classes_) == ["a", "b"] and model.predict(x[:1]).tolist() == ["a"]
    model = PooledShots(Majority(), shot_weight=0.25).fit(x, y, domain=domain)
    assert list(CALLS[-1][3]) == [1.0, 1.0, 1.0, 0.25, 0.25]
    assert model.predict(x[:1]).tolist() == ["b"]
    with pytest.raises(ValueError):
        PooledShots(Majority()).fit(x, y)
    CALLS.clear()


def test_feature_augmentation_layout():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    augmented = FeatureAugmentation.augment(x, np.array([0, 1]))
    assert augmented.tolist() == [[1.0, 2.0, 1.0, 2.0, 0.0, 0.0], [3.0, 4.0, 0.0, 0.0, 3.0, 4.0]]


def test_feature_augmentation_standardises_and_bypasses_the_pipeline_scaler():
    x, y, domain = _training()
    # Standardised on the training rows: each column 0, 2, 4, 6, 8 -> (v - 4) / sqrt(8).
    z = (x - x.mean(axis=0)) / np.sqrt(8.0)
    CALLS.clear()
    pipeline = Pipeline([("scale", StandardScaler()), ("classify", Majority())])
    model = FeatureAugmentation(pipeline).fit(x, y, domain=domain)
    _, fit_x, fit_y, _, _ = CALLS[-1]
    expected = FeatureAugmentation.augment(z, domain)
    np.testing.assert_allclose(fit_x, expected, rtol=1e-12, atol=1e-12)
    assert list(fit_y) == list(y) and list(model.classes_) == ["a", "b"]
    assert model.model_.named_steps["scale"] == "passthrough"
    assert isinstance(pipeline.named_steps["scale"], StandardScaler)  # a clone was changed
    # Predictions treat every row as target: [z, 0, z].
    assert model.predict([[4.0, 5.0]]).tolist() == ["a"]
    assert CALLS[-1][1].tolist() == [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    model.predict([[8.0, 9.0]])
    r = 4 / np.sqrt(8.0)
    np.testing.assert_allclose(CALLS[-1][1], [[r, r, 0.0, 0.0, r, r]], rtol=1e-12)
    # A bare classifier (no pipeline) gets the same layout.
    FeatureAugmentation(Majority()).fit(x, y, domain=domain)
    np.testing.assert_allclose(CALLS[-1][1], expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        FeatureAugmentation(Majority()).fit(x, y)
    CALLS.clear()


def test_make_strategy():
    estimator = Majority()
    assert type(make_strategy("target-only", estimator)) is TargetOnly
    pooled = make_strategy("pooled", estimator, 3.0)
    assert type(pooled) is PooledShots and pooled.shot_weight == 3.0
    assert make_strategy("pooled", estimator).shot_weight == 1.0
    augment = make_strategy("feature-augment", estimator)
    assert type(augment) is FeatureAugmentation and augment.estimator is estimator
    assert make_strategy("target-only", estimator).estimator is estimator
    with pytest.raises(ValueError) as error:
        make_strategy("ceiling", estimator)
    assert str(error.value) == (
        "unknown few-shot strategy 'ceiling': use target-only, pooled, feature-augment"
    )


# --- unsupervised adaptations ---------------------------------------------------------------


def test_adapt_features_by_hand():
    source = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0], [10.0, 3.0]])
    target = np.array([[1.0, 0.0], [3.0, 4.0], [5.0, 8.0]])
    groups_s, groups_t = np.array(["p", "p", "p", "q"]), np.array(["r", "s", "s"])
    same_s, same_t = adapt_features("none", source, target, groups_s, groups_t)
    assert same_s is source and same_t is target
    # Corpus-norm: population SD; source column 0 mean 4, SD sqrt(14); column 1 mean 1.5,
    # SD sqrt(0.75); target columns mean 3, 4 with SD sqrt(8/3), sqrt(32/3).
    a, b = adapt_features("corpus-norm", source, target, groups_s, groups_t)
    np.testing.assert_allclose(a[:, 0], (source[:, 0] - 4) / np.sqrt(14), rtol=1e-6)
    np.testing.assert_allclose(a[:, 1], (source[:, 1] - 1.5) / np.sqrt(0.75), rtol=1e-6)
    np.testing.assert_allclose(b[:, 0], (target[:, 0] - 3) / np.sqrt(8 / 3), rtol=1e-6)
    np.testing.assert_allclose(b[:, 1], (target[:, 1] - 4) / np.sqrt(32 / 3), rtol=1e-6)
    # Speaker-norm: speaker p's column 0 (0, 2, 4) -> -1.22, 0, 1.22; its constant column and
    # lone speakers q and r -> 0; speaker s (3, 5 / 4, 8) -> -1, 1.
    a, b = adapt_features("speaker-norm", source, target, groups_s, groups_t)
    k = np.sqrt(1.5)
    np.testing.assert_allclose(a, [[-k, 0], [0, 0], [k, 0], [0, 0]], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(b, [[0, 0], [-1, -1], [1, 1]], rtol=1e-6, atol=1e-6)


def test_adapt_features_coral_by_hand():
    source = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 2.0], [10.0, 3.0]])
    target = np.array([[1.0, 0.0], [3.0, 4.0], [5.0, 8.0], [2.0, 2.0]])
    scaler = StandardScaler().fit(source)
    s, t = scaler.transform(source), scaler.transform(target)

    def power(matrix, p):
        values, vectors = np.linalg.eigh(matrix)
        return vectors @ np.diag(values**p) @ vectors.T

    def recoloured(ridge):
        whiten = power(np.cov(s, rowvar=False) + ridge * np.eye(2), -0.5)
        colour = power(np.cov(t, rowvar=False) + ridge * np.eye(2), 0.5)
        return (s - s.mean(axis=0)) @ whiten @ colour + t.mean(axis=0)

    a, b = adapt_features("coral", source, target, None, None)
    np.testing.assert_allclose(a, recoloured(1.0), rtol=1e-9)
    np.testing.assert_allclose(b, t, rtol=1e-12)
    a, _ = adapt_features("coral", source, target, None, None, ridge=0.5)
    np.testing.assert_allclose(a, recoloured(0.5), rtol=1e-9)
    with pytest.raises(ValueError) as error:
        adapt_features("importance", source, target, None, None)
    assert str(error.value) == (
        "adaptation 'importance' cannot be combined with shots: "
        "use none, corpus-norm, speaker-norm, coral"
    )


# --- seeds, splits and shots ----------------------------------------------------------------


def test_draw_seed_is_the_crc32_of_seed_target_and_draw():
    assert draw_seed(0, "tgt", 1) == zlib.crc32(b"0\x1ftgt\x1f1")
    assert draw_seed(7, "emodb", 0) == zlib.crc32(b"7\x1femodb\x1f0")
    assert len({draw_seed(0, "t", 0), draw_seed(1, "t", 0), draw_seed(0, "u", 0)}) == 3


def _reference_split(labels, speakers, share, seed, attempts=200):
    """Held-out row mask: the first of ``attempts`` seeded shuffles covering every class on
    both sides, else the first one covering most."""
    labels, speakers = np.asarray(labels, dtype=str), np.asarray(speakers, dtype=str)
    unique = np.unique(speakers)
    n_test = min(len(unique) - 1, max(1, int(round(share * len(unique)))))
    rng = np.random.default_rng(seed)
    best, best_cover = None, -1
    for _ in range(attempts):
        held = set(rng.permutation(unique)[:n_test])
        mask = np.array([s in held for s in speakers])
        cover = len(set(labels[mask]) & set(labels[~mask]))
        if cover > best_cover:
            best, best_cover = mask, cover
        if cover == len(set(labels)):
            break
    return best


def _assert_note(note, name, speakers, held, missing):
    """The confounded-split note, its classes written as plain strings (not np.str_('a'))."""
    head = (
        f"{name}: no speaker split of {speakers} speakers ({held} held out) has every class "
        "in both pool and test; classes ["
    )
    tail = "] are on one side only (speakers and labels confounded)"
    assert note.startswith(head) and note.endswith(tail), note
    assert note[len(head) : -len(tail)] == ", ".join(f"'{c}'" for c in missing)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_split_target_matches_the_reference(seed):
    # Six speakers, three held out; class "c" only with s0 and s1 (one must stay in the pool).
    speakers = np.array(["s0", "s0", "s1", "s1", "s2", "s2", "s3", "s4", "s5", "s5"])
    labels = np.array(["a", "c", "b", "c", "a", "b", "a", "b", "a", "b"])
    split = split_target(labels, speakers, 0.5, seed)
    mask = _reference_split(labels, speakers, 0.5, seed)
    assert list(split.test) == list(np.flatnonzero(mask))
    assert list(split.pool) == list(np.flatnonzero(~mask))
    assert split.note is None
    held = set(speakers[split.test])
    assert len(held) == 3 and not held & set(speakers[split.pool])


@pytest.mark.parametrize(
    ("n_speakers", "share", "held"),
    [(2, 0.9, 1), (4, 0.1, 1), (5, 0.5, 2), (5, 0.7, 4), (4, 0.99, 3), (6, 0.25, 2)],
)
def test_split_target_holds_out_a_rounded_share_leaving_one(n_speakers, share, held):
    speakers = np.array([f"p{k}" for k in range(n_speakers)])
    split = split_target(np.array(["a"] * n_speakers), speakers, share, 0)
    assert len(split.test) == held and len(split.pool) == n_speakers - held


def test_split_target_needs_two_speakers():
    with pytest.raises(ValueError) as error:
        split_target(np.array(["a", "b"]), np.array(["x", "x"]), 0.5, 0, name="emodb")
    assert str(error.value) == "emodb: few-shot curves need two or more speakers (found 1)"
    with pytest.raises(ValueError) as error:
        split_target(np.array(["a"]), np.array(["x"]), 0.5, 0)
    assert str(error.value).startswith("target: ")


def test_split_target_notes_confounded_speakers():
    # Three speakers, one class each: no split has a class on both sides.
    speakers = np.array(["p", "p", "q", "r", "r"])
    labels = np.array(["a", "a", "b", "c", "c"])
    for seed in range(3):
        split = split_target(labels, speakers, 0.4, seed, name="tess")
        mask = _reference_split(labels, speakers, 0.4, seed)
        assert list(split.test) == list(np.flatnonzero(mask))
        _assert_note(split.note, "tess", 3, 1, ["a", "b", "c"])
    # Two of three classes can be covered: the first such split is kept, one class noted.
    speakers = np.array(["p", "p", "q", "q", "r", "r", "s"])
    labels = np.array(["a", "b", "a", "b", "a", "b", "c"])
    split = split_target(labels, speakers, 0.25, 5, name="t")
    mask = _reference_split(labels, speakers, 0.25, 5)
    assert list(split.test) == list(np.flatnonzero(mask))
    _assert_note(split.note, "t", 4, 1, ["c"])


def test_split_target_gives_up_after_the_attempts():
    # One speaker is held out; only holding out s3 (a and b) covers both classes on both
    # sides.  With one attempt the first shuffle is kept whatever it covers.
    speakers = np.array(["s0", "s1", "s2", "s3", "s3"])
    labels = np.array(["a", "a", "b", "a", "b"])
    for seed in range(6):
        one = split_target(labels, speakers, 0.25, seed, attempts=1)
        first = np.random.default_rng(seed).permutation(np.unique(speakers))[0]
        assert list(one.test) == list(np.flatnonzero(speakers == first))
        default = split_target(labels, speakers, 0.25, seed)
        assert list(default.test) == list(
            np.flatnonzero(_reference_split(labels, speakers, 0.25, seed))
        )


def _reference_shots(labels, pool, shots, seed):
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels, dtype=str)
    order = {}
    for c in sorted(set(labels[pool])):
        order[c] = rng.permutation([p for p in pool if labels[p] == c])
    return {k: sorted(int(r) for rows in order.values() for r in rows[:k]) for k in set(shots)}


def test_draw_shots_nested_capped_and_seeded():
    labels = np.array(["b", "a", "b", "a", "b", "a", "c", "b", "a"])
    pool = np.array([0, 1, 2, 4, 5, 7, 8])  # a: 1, 5, 8; b: 0, 2, 4, 7; c (row 6) not pooled
    for seed in (0, 4):
        shots = draw_shots(labels, pool, [2, 0, 3, 2, 5], seed)
        assert list(shots) == [0, 2, 3, 5]
        expected = _reference_shots(labels, pool, [0, 2, 3, 5], seed)
        assert {k: list(v) for k, v in shots.items()} == expected
        assert all(v.dtype == np.int64 for v in shots.values())
        assert list(shots[0]) == []
        assert set(shots[2]) <= set(shots[3]) <= set(shots[5])
        assert sorted(shots[5]) == [0, 1, 2, 4, 5, 7, 8]  # capped: the whole pool
    # Hand-worked: seed 0 permutes class a's rows [1, 5] then b's [0, 2].
    two = draw_shots(np.array(["a", "b", "b", "a"]), np.array([0, 1, 2, 3]), [1], 0)
    rng = np.random.default_rng(0)
    first_a, first_b = rng.permutation([0, 3])[0], rng.permutation([1, 2])[0]
    assert list(two[1]) == sorted([first_a, first_b])


# --- the grid, with a recording majority-class classifier -----------------------------------


def _frame(name, labels, speakers):
    return pd.DataFrame(
        {
            "utterance": [f"{name}_{i}.wav" for i in range(len(labels))],
            "label": labels,
            "speaker": speakers,
        }
    )


def _source():
    # a 2, b 3 and c 4 (not shared with the target, so never trained on); both speakers
    # have a and b, so src as a target splits without a note.
    labels = ["c", "a", "b", "c", "b", "c", "a", "c", "b"]
    speakers = ["u0", "u0", "u0", "u1", "u0", "u1", "u1", "u0", "u1"]
    x = np.arange(18.0).reshape(9, 2)
    return CorpusData("src", _frame("src", labels, speakers), {"f": x})


def _target():
    # Four speakers with a, a, b each; one extra "d" of speaker t0 (not shared).
    labels = ["a", "a", "b"] * 4 + ["d"]
    speakers = [f"t{i // 3}" for i in range(12)] + ["t0"]
    x = 100.0 + np.arange(26.0).reshape(13, 2) ** 1.5
    return CorpusData("tgt", _frame("tgt", labels, speakers), {"f": x})


PLAN = FewShotPlan(shots=(0, 3, 1), draws=2)


def _test_speakers(seed, draw):
    target = _target()
    keep = target.labels != "d"
    mask = _reference_split(
        target.labels[keep], target.speakers[keep], 0.5, draw_seed(seed, "tgt", draw)
    )
    return sorted(set(target.speakers[keep][mask]))


def test_run_curves_by_hand(majority):
    result = run_few_shot([_source(), _target()], ["f"], ["maj"], PLAN, seeds=(3,))
    curves = result.curves
    assert list(curves.columns) == list(FEWSHOT_COLUMNS)
    # src -> tgt only: the reverse shares a and b too; keep the src -> tgt rows.
    assert set(zip(curves.source, curves.target)) == {("src", "tgt"), ("tgt", "src")}
    rows = curves[curves.source == "src"].reset_index(drop=True)
    # Sorted by strategy (alphabetical), shots, seed, draw.
    expected_keys = [
        ("ceiling", -1),
        ("feature-augment", 1),
        ("feature-augment", 3),
        ("pooled", 1),
        ("pooled", 3),
        ("target-only", 1),
        ("target-only", 3),
        ("zero-shot", 0),
    ]
    assert list(zip(rows.strategy, rows.shots)) == [k for k in expected_keys for _ in (0, 1)]
    assert list(rows.draw) == [0, 1] * 8
    assert set(rows.feature_set) == {"f"} and set(rows.classifier) == {"maj"}
    assert set(rows.adaptation) == {"none"} and set(rows.seed) == {3}
    assert set(rows.shot_weight) == {1.0}
    # Every split holds out 2 of 4 speakers: 4 a + 2 b test rows, the same in the pool.
    assert set(rows.n_test) == {6} and set(rows.n_test_speakers) == {2}
    assert set(rows.classes) == {"a|b"} and set(rows.chance) == {0.5}
    by = {(s, k): r for (s, k), r in rows.groupby(["strategy", "shots"])}
    # Majority labels: zero-shot on source a 2, b 3 -> b; ceiling on the pool a 4, b 2 -> a;
    # target-only on shots a k, b min(k, 2) -> a (ties to a); pooled/augmented on source plus
    # shots: k=1 a 3, b 4 -> b; k=3 a 5, b 5 -> a (tie).
    predicts_a = {"uar": 0.5, "accuracy": 4 / 6, "macro_f1": 0.4}
    predicts_b = {"uar": 0.5, "accuracy": 2 / 6, "macro_f1": 0.25}
    expected = {
        ("zero-shot", 0): (predicts_b, 0, 5),
        ("ceiling", -1): (predicts_a, 6, 6),
        ("target-only", 1): (predicts_a, 2, 2),
        ("target-only", 3): (predicts_a, 5, 5),
        ("pooled", 1): (predicts_b, 2, 7),
        ("pooled", 3): (predicts_a, 5, 10),
        ("feature-augment", 1): (predicts_b, 2, 7),
        ("feature-augment", 3): (predicts_a, 5, 10),
    }
    for key, (scores, n_shots, n_train) in expected.items():
        part = by[key]
        for column, value in scores.items():
            assert list(part[column]) == pytest.approx([value, value]), (key, column)
        assert list(part.n_shots) == [n_shots] * 2, key
        assert list(part.n_train) == [n_train] * 2, key
        assert list(part.n_predicted_classes) == [1, 1]
        assert list(part.dominant_share) == [1.0, 1.0]
        assert list(part.collapsed) == [True, True]
    assert result.notes == []


def test_run_trains_on_the_right_rows(majority):
    source, target = _source(), _target()
    run_few_shot([source, target], ["f"], ["maj"], FewShotPlan(shots=(1,), draws=1), seeds=(5,))
    fits = _fits()
    assert {call[4] for call in CALLS} == {5}  # the classifier is seeded with the run's seed
    # src -> tgt first: zero-shot on the source rows of a and b, features untouched.
    shared = source.labels != "c"
    assert fits[0][1].tolist() == source.features["f"][shared].tolist()
    assert list(fits[0][2]) == list(source.labels[shared])
    # Then the ceiling on the pool, target-only, pooled and augmented on 1 shot per class.
    held = _test_speakers(5, 0)
    keep = (target.labels != "d") & ~np.isin(target.speakers, held)
    assert fits[1][1].tolist() == target.features["f"][keep].tolist()
    assert list(fits[1][2]) == list(target.labels[keep])
    pool = np.flatnonzero(keep)
    shots = _reference_shots(target.labels, pool, [1], draw_seed(5, "tgt", 0) + 1)[1]
    assert fits[2][1].tolist() == target.features["f"][shots].tolist()
    assert list(fits[3][2]) == [*source.labels[shared], *target.labels[shots]]
    assert fits[3][1].tolist() == [
        *source.features["f"][shared].tolist(),
        *target.features["f"][shots].tolist(),
    ]
    assert fits[3][3] is None
    assert fits[4][1].shape == (len(fits[3][1]), 6)  # feature augmentation: three blocks
    # Predictions are made on the held-out speakers' rows (no "d").
    test = (target.labels != "d") & np.isin(target.speakers, held)
    predictions = [call for call in CALLS if call[0] == "predict"]
    assert predictions[0][1].tolist() == target.features["f"][test].tolist()


def test_run_tables_of_predictions_and_shots(majority):
    source, target = _source(), _target()
    result = run_few_shot([source, target], ["f"], ["maj"], PLAN, seeds=(3,))
    predictions = result.predictions
    assert list(predictions.columns) == FEWSHOT_PREDICTION_COLUMNS
    forward = predictions[predictions.source == "src"]
    assert len(forward) == 16 * 6
    zero = forward[forward.strategy == "zero-shot"]
    assert list(zero.fold) == [0] * 6 + [1] * 6 and set(zero.shots) == {0}
    assert set(zero.y_pred) == {"b"} and set(zero.seed) == {3}
    for draw in (0, 1):
        held = _test_speakers(3, draw)
        rows = zero[zero.fold == draw]
        test = (target.labels != "d") & np.isin(target.speakers, held)
        assert list(rows.utterance) == list(target.frame.utterance[test])
        assert list(rows.speaker) == list(target.speakers[test])
        assert list(rows.y_true) == list(target.labels[test])
    assert set(forward.feature_set) == {"f"} and set(forward.classifier) == {"maj"}
    assert set(forward.adaptation) == {"none"} and set(forward.target) == {"tgt"}
    assert set(forward[forward.strategy == "ceiling"].shots) == {-1}
    # The shots table: per draw, 1 and 3 shots per class into tgt (src -> tgt; the reverse
    # direction's shots, from src, come after).
    shots = result.shots
    assert list(shots.columns) == ["target", "seed", "draw", "shots", "utterance", "speaker",
                                   "label"]  # fmt: skip
    into = shots[shots.target == "tgt"]
    assert (
        list(zip(into.draw, into.shots))
        == [(0, 1)] * 2 + [(0, 3)] * 5 + [(1, 1)] * 2 + [(1, 3)] * 5
    )
    for draw in (0, 1):
        keep = (target.labels != "d") & ~np.isin(target.speakers, _test_speakers(3, draw))
        expected = _reference_shots(
            target.labels, np.flatnonzero(keep), [1, 3], draw_seed(3, "tgt", draw) + 1
        )
        for k in (1, 3):
            part = into[(into.draw == draw) & (into.shots == k)]
            assert list(part.utterance) == list(target.frame.utterance[expected[k]])
            assert list(part.speaker) == list(target.speakers[expected[k]])
            assert list(part.label) == list(target.labels[expected[k]])
    assert set(shots.seed) == {3}
    assert list(shots.index) == list(range(len(shots)))


def test_run_weights_the_pooled_shots(majority):
    # Shots weighted 0.5: k=3 a 2 + 1.5 < b 3 + 1 -> b (unweighted a tie: a); k=1 b.
    plan = FewShotPlan(shots=(1, 3), draws=1, shot_weight=0.5)
    curves = run_few_shot([_source(), _target()], ["f"], ["maj"], plan).curves
    pooled = curves[(curves.source == "src") & (curves.strategy == "pooled")]
    assert list(pooled.accuracy) == pytest.approx([2 / 6, 2 / 6])
    augmented = curves[(curves.source == "src") & (curves.strategy == "feature-augment")]
    assert list(augmented.accuracy) == pytest.approx([2 / 6, 4 / 6])  # never weighted
    assert set(curves.shot_weight) == {0.5}
    weights = [call[3] for call in _fits() if call[3] is not None]
    assert list(weights[0]) == [1.0] * 5 + [0.5] * 2


def test_run_skips_one_class_shots_and_notes_confounded_targets(majority):
    # Target speakers each carry one class: splits are confounded (noted), and the pool
    # may hold one class only, which no curve strategy can learn.
    target = CorpusData(
        "tgt",
        _frame("tgt", ["a", "a", "b", "b"], ["t0", "t0", "t1", "t1"]),
        {"f": np.arange(8.0).reshape(4, 2)},
    )
    result = run_few_shot([_source(), target], ["f"], ["maj"], FewShotPlan(shots=(1,), draws=1))
    forward = result.curves[result.curves.source == "src"]
    assert sorted(forward.strategy) == ["ceiling", "zero-shot"]
    assert forward.classes.tolist() == [forward.classes.iloc[0]] * 2
    assert len(forward.classes.iloc[0].split("|")) == 1  # the held-out speaker's class
    assert len(result.notes) == 1
    _assert_note(result.notes[0], "tgt", 2, 1, ["a", "b"])
    assert len(result.shots[result.shots.target == "tgt"]) == 1  # drawn, but not trained on


def test_run_adaptations_and_notes(majority):
    source, target = _source(), _target()
    result = run_few_shot(
        [source, target],
        ["f"],
        ["maj"],
        FewShotPlan(shots=(1,), draws=1),
        adaptations=["corpus-norm", "importance", "speaker-norm", "pseudo"],
    )
    assert result.notes == [
        "few-shot curves: adaptation(s) importance, pseudo are not combined with shots "
        "(only the feature transforms corpus-norm, speaker-norm, coral are)"
    ]
    assert sorted(set(result.curves.adaptation)) == ["corpus-norm", "speaker-norm"]
    # corpus-norm: the zero-shot model trains on the source rows of a and b standardised
    # over themselves, and predicts target rows standardised over the target's a/b rows.
    fits = _fits()
    shared = source.features["f"][source.labels != "c"]
    z = (shared - shared.mean(axis=0)) / shared.std(axis=0)
    np.testing.assert_allclose(fits[0][1], z, rtol=1e-5)
    keep = target.labels != "d"
    t = target.features["f"][keep]
    zt = (t - t.mean(axis=0)) / t.std(axis=0)
    predicted = [call[1] for call in CALLS if call[0] == "predict"][0]
    held = _test_speakers(0, 0)
    test = np.isin(target.speakers[keep], held)
    np.testing.assert_allclose(predicted, zt[test], rtol=1e-5)
    # Only unusable adaptations: the plain features are used.
    only = run_few_shot(
        [source, target], ["f"], ["maj"], FewShotPlan(shots=(1,), draws=1), adaptations=["x"]
    )
    assert set(only.curves.adaptation) == {"none"}


def _third():
    labels = ["a", "b", "b", "a"]
    return CorpusData("oth", _frame("oth", labels, ["v0", "v0", "v1", "v1"]),
                      {"f": np.arange(8.0).reshape(4, 2) * 3})  # fmt: skip


def test_run_pooled_and_leave_one_out_sources(majority):
    source, target, third = _source(), _target(), _third()
    result = run_few_shot(
        [source, target, third],
        ["f"],
        ["maj"],
        FewShotPlan(shots=(1,), draws=1),
        pooled_sources=[("src", "oth")],
        leave_one_corpus_out=True,
    )
    pairs = set(zip(result.curves.source, result.curves.target))
    # Pairs of single corpora, the pooled src+oth into tgt, and each corpus left out.
    assert pairs == {
        ("src", "tgt"), ("src", "oth"), ("tgt", "src"), ("tgt", "oth"), ("oth", "src"),
        ("oth", "tgt"), ("src+oth", "tgt"), ("tgt+oth", "src"), ("src+tgt", "oth"),
    }  # fmt: skip
    pooled = result.curves[(result.curves.source == "src+oth")]
    # Zero-shot trained on src's a/b rows (5) and oth's 4.
    assert set(pooled[pooled.strategy == "zero-shot"].n_train) == {9}
    plain = run_few_shot([source, target, third], ["f"], ["maj"], FewShotPlan(shots=(1,), draws=1))
    assert "+" not in "".join(plain.curves.source)


def test_run_progress_and_empty_grid(majority):
    seen = []
    source, target = _source(), _target()
    run_few_shot(
        [source, target],
        ["f"],
        ["maj"],
        FewShotPlan(shots=(1,), draws=1),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(0, 2), (1, 2), (2, 2)]
    lone = CorpusData("one", _frame("one", ["a", "z"], ["q", "r"]), {"f": np.zeros((2, 2))})
    empty = run_few_shot([source, lone], ["f"], ["maj"], FewShotPlan(shots=(1,), draws=1))
    assert empty.curves.empty and list(empty.curves.columns) == list(FEWSHOT_COLUMNS)
    assert empty.predictions.empty
    assert list(empty.predictions.columns) == FEWSHOT_PREDICTION_COLUMNS
    assert empty.shots.empty
    assert list(empty.shots.columns) == ["target", "seed", "draw", "shots", "utterance",
                                         "speaker"]  # fmt: skip
    assert empty.notes == []


def test_plan_directions_need_two_shared_classes():
    source, target = _source(), _target()
    lone = CorpusData("one", _frame("one", ["a", "z"], ["q", "r"]), {"f": np.zeros((2, 2))})
    directions = plan_directions(
        [source, target, lone], ["f", "g"], ["svm", "rf"], [0, 1], ["none", "coral"]
    )
    assert len(directions) == 2 * 2 * 2 * 2 * 2
    first = directions[0]
    assert (first.feature_set, first.classifier, first.adaptation, first.seed) == (
        "f", "svm", "none", 0
    )  # fmt: skip
    assert (first.source, first.target, first.classes) == ("src", "tgt", ("a", "b"))
    assert [(d.source, d.target) for d in directions[:2]] == [("src", "tgt"), ("tgt", "src")]
    assert [d.seed for d in directions[:4]] == [0, 0, 1, 1]
    assert [d.adaptation for d in directions[:8:4]] == ["none", "coral"]
    assert [d.classifier for d in directions[:16:8]] == ["svm", "rf"]
    assert [d.feature_set for d in directions[::16]] == ["f", "g"]
    pooled = plan_directions([source, target], ["f"], ["svm"], [0], ["none"],
                             [(_third(), ["tgt", "src"])])  # fmt: skip
    assert [(d.source, d.target) for d in pooled] == [
        ("src", "tgt"), ("tgt", "src"), ("oth", "tgt"), ("oth", "src")
    ]  # fmt: skip


def test_write_few_shot(majority, tmp_path):
    source, target = _source(), _target()
    notes = write_few_shot(
        tmp_path, [source, target], ["f"], ["maj"], FewShotPlan(shots=(1,), draws=1), seeds=(2,)
    )
    assert notes == []
    curves = pd.read_csv(tmp_path / "fewshot.csv")
    assert len(curves) == 2 * 5 and set(curves.seed) == {2}
    shots = pd.read_csv(tmp_path / "fewshot_shots.csv")
    assert len(shots) == 4  # 1 shot per class into each target
    predictions = pd.read_parquet(tmp_path / "fewshot_predictions.parquet")
    assert len(predictions) == curves.n_test.sum() and set(predictions.seed) == {2}


# --- the cases mutation testing showed untested -------------------------------------------------


def test_target_only_and_pooled_train_on_floats():
    x, y, domain = _training()
    CALLS.clear()
    TargetOnly(Majority()).fit(x.astype(int), y, domain=domain)
    assert CALLS[-1][1].dtype == np.float64
    PooledShots(Majority()).fit(x.astype(int), y, domain=domain)
    assert CALLS[-1][1].dtype == np.float64
    CALLS.clear()


def test_split_target_tries_200_shuffles():
    # 300 speakers, one held out; only holding out s150 (a and b; s010 has the other b)
    # covers both classes.  With seed 274 the first shuffle that holds s150 out is the
    # 201st: the default 200 attempts keep the first shuffle and note the missing class.
    speakers = np.array([f"s{k:03d}" for k in range(300)] + ["s150"])
    labels = np.array(["a"] * 300 + ["b"])
    labels[10] = "b"
    split = split_target(labels, speakers, 0.001, 274)
    first = np.random.default_rng(274).permutation(np.unique(speakers))[0]
    assert first != "s150" and list(split.test) == list(np.flatnonzero(speakers == first))
    _assert_note(split.note, "target", 300, 1, ["b"])
    more = split_target(labels, speakers, 0.001, 274, attempts=201)
    assert list(more.test) == [150, 300] and more.note is None


def test_split_and_shots_read_labels_and_speakers_as_text():
    # Object arrays mixing numbers and text are compared as text (no int/str ordering).
    speakers = np.array([1, "p", 1, "p", 2, 2], dtype=object)
    labels = np.array([1, "b", "b", 1, 1, "b"], dtype=object)
    split = split_target(labels, speakers, 0.3, 0)
    assert len(split.test) == 2 and split.note is None
    confounded = split_target(
        np.array([1, "b"], dtype=object), np.array(["p", "q"], dtype=object), 0.5, 0
    )
    _assert_note(confounded.note, "target", 2, 1, ["1", "b"])
    shots = draw_shots(labels, np.arange(6), [1], 0)
    assert len(shots[1]) == 2


def test_run_speaker_norm_standardises_each_speaker(majority):
    source, target = _source(), _target()
    run_few_shot(
        [source, target], ["f"], ["maj"], FewShotPlan(shots=(1,), draws=1),
        adaptations=["speaker-norm"],
    )  # fmt: skip

    def per_speaker(values, speakers):
        out = np.zeros_like(values)
        for speaker in np.unique(speakers):
            rows = speakers == speaker
            part = values[rows]
            spread = part.std(axis=0)
            out[rows] = (part - part.mean(axis=0)) / np.where(spread < 1e-8, 1.0, spread)
        return out

    shared = source.labels != "c"
    expected = per_speaker(source.features["f"][shared], source.speakers[shared])
    np.testing.assert_allclose(_fits()[0][1], expected, rtol=1e-5, atol=1e-6)
    keep = target.labels != "d"
    zt = per_speaker(target.features["f"][keep], target.speakers[keep])
    test = np.isin(target.speakers[keep], _test_speakers(0, 0))
    predicted = [call[1] for call in CALLS if call[0] == "predict"][0]
    np.testing.assert_allclose(predicted, zt[test], rtol=1e-5, atol=1e-6)


def test_run_keeps_adapted_target_features_in_double_precision(majority):
    # float32 features and CORAL: the adapted target rows (float64) are not rounded back
    # to float32 when placed by corpus row.
    source, target = _source(), _target()
    target = CorpusData("tgt", target.frame, {"f": target.features["f"].astype(np.float32)})
    run_few_shot(
        [source, target], ["f"], ["maj"], FewShotPlan(shots=(1,), draws=1), adaptations=["coral"]
    )
    keep = target.labels != "d"
    shared = source.labels != "c"
    scaler = StandardScaler().fit(source.features["f"][shared])
    expected = scaler.transform(target.features["f"][keep])
    test = np.isin(target.speakers[keep], _test_speakers(0, 0))
    predicted = [call[1] for call in CALLS if call[0] == "predict"][0]
    assert predicted.dtype == np.float64
    np.testing.assert_allclose(predicted, expected[test], rtol=1e-12)


def test_run_pooled_sources_beside_leave_one_out_and_a_running_index(majority):
    source, target, third = _source(), _target(), _third()
    fourth = CorpusData("fth", _third().frame.assign(utterance=lambda f: "f" + f.utterance),
                        {"f": third.features["f"] + 1.0})  # fmt: skip
    result = run_few_shot(
        [source, target, third, fourth],
        ["f"],
        ["maj"],
        FewShotPlan(shots=(1,), draws=1),
        pooled_sources=[("src", "oth")],
        leave_one_corpus_out=True,
    )
    sources = set(result.curves.source)
    assert {"src+oth", "tgt+oth+fth", "src+oth+fth", "src+tgt+fth", "src+tgt+oth"} <= sources
    assert list(result.predictions.index) == list(range(len(result.predictions)))
    assert list(result.curves.index) == list(range(len(result.curves)))
