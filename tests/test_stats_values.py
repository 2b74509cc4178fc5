"""The statistics of reports/stats.py against values worked out by hand (issue 22, MUTATION.md).

Tiny prediction tables, no run: each number is compared with a hand-worked value or with an
independent, loop-by-loop reimplementation of its definition in this file (UAR over the classes
present, delete-one-unit jackknife, t and normal references, Holm, the unit-seeded bootstrap).
"""

from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t

from paraser.reports.stats import (
    CELL_KEYS,
    UnitStatistic,
    average,
    bootstrap_uar,
    cell_keys,
    cell_statistics,
    chance_test,
    confusion_matrix,
    describe_difference,
    holm,
    paired_average,
    paired_difference,
    paired_statistics,
    per_class_recall,
    uar,
    uar_estimate,
    unit_statistic,
)

# --- an independent reimplementation of the definitions -----------------------------------


def reference_metric(metric: str, truth: list[str], preds: list[str]) -> float:
    """UAR over the classes in ``truth``, accuracy, or the UAR of unrelated predictions."""
    if not truth:
        return math.nan
    classes = sorted(set(truth))
    if metric == "accuracy":
        return sum(t == p for t, p in zip(truth, preds)) / len(truth)
    if metric == "chance_uar":
        return sum(preds.count(c) / len(preds) for c in classes) / len(classes)
    recalls = [sum(t == c == p for t, p in zip(truth, preds)) / truth.count(c) for c in classes]
    return sum(recalls) / len(recalls)


def _unit_ids(frame: pd.DataFrame, column: str) -> list[str]:
    return [f"{t}/{u}" for t, u in zip(frame["target"], frame[column])]


def reference_statistic(
    frame: pd.DataFrame, metric: str, unit_column: str, pred_column: str = "y_pred"
) -> tuple[float, dict[str, float]]:
    """Mean over evaluations (source, target, seed) and the mean with each unit left out."""
    units = _unit_ids(frame, unit_column)
    frame = frame.assign(unit=units)
    full, loo = [], {u: [] for u in sorted(set(units))}
    for _, evaluation in frame.groupby(["source", "target", "seed"]):
        truth = evaluation["y_true"].astype(str).tolist()
        preds = evaluation[pred_column].astype(str).tolist()
        full.append(reference_metric(metric, truth, preds))
        for unit in loo:
            kept = evaluation[evaluation.unit != unit]
            value = reference_metric(
                metric, kept["y_true"].astype(str).tolist(), kept[pred_column].astype(str).tolist()
            )
            loo[unit].append(value)
    means = {u: float(np.nanmean(v)) if not np.isnan(v).all() else math.nan for u, v in loo.items()}
    return sum(full) / len(full), means


def reference_se(values: list[float]) -> float:
    g = len(values)
    mean = sum(values) / g
    return math.sqrt((g - 1) / g * sum((v - mean) ** 2 for v in values))


def cell(
    preds: str,
    truth: str = "abababab",
    speakers: str = "ppqqrrss",
    *,
    target: str = "t",
    seed: int = 0,
    source: str = "src",
) -> pd.DataFrame:
    """One evaluation of a cell: an utterance per character of ``truth``."""
    return pd.DataFrame(
        {
            "source": source,
            "target": target,
            "seed": seed,
            "fold": -1,
            "utterance": [f"{target}{i}" for i in range(len(truth))],
            "speaker": list(speakers),
            "y_true": list(truth),
            "y_pred": list(preds),
        }
    )


#: Two seeds of one cell, with an unbalanced third class and a prediction outside the labels.
TWO_SEEDS = pd.concat(
    [
        cell("abcbaacbz", "abababcca", "ppqqrrsst"),
        cell("aabbabccc", "abababcca", "ppqqrrsst", seed=1),
    ],
    ignore_index=True,
)


# --- uar ------------------------------------------------------------------------------------


def test_uar_is_the_mean_recall_over_the_classes_present():
    assert uar(["a", "a", "b"], ["a", "b", "b"]) == pytest.approx((1 / 2 + 1) / 2)
    # A predicted class without test utterances is an error, not a class.
    assert uar(["a", "a"], ["a", "c"]) == pytest.approx(1 / 2)
    assert uar(np.array([1, 1, 2, 3]), np.array([1, 2, 2, 2])) == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert uar(["a"], ["b"]) == 0.0
    assert isinstance(uar(["a"], ["a"]), float)


# --- UnitStatistic and average --------------------------------------------------------------


def _statistic(value: float, leave_out: dict[str, float], unit: str = "speaker") -> UnitStatistic:
    return UnitStatistic(value, pd.Series(leave_out, dtype=float), unit)


def test_jackknife_standard_error_interval_and_p_by_hand():
    stat = _statistic(0.5, {"a": 1.0, "b": 2.0, "c": 3.0})
    # sqrt((3 - 1) / 3 * (1 + 0 + 1)) = sqrt(4 / 3)
    assert stat.se == pytest.approx(math.sqrt(4 / 3))
    assert stat.n_units == 3 and stat.df == 2 and stat.unit == "speaker"
    low, high = stat.interval()
    half = student_t.ppf(0.975, 2) * math.sqrt(4 / 3)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))
    low, high = stat.interval(0.8)
    half = student_t.ppf(0.9, 2) * math.sqrt(4 / 3)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))
    z = 0.5 / math.sqrt(4 / 3)
    assert stat.p_value() == pytest.approx(2 * student_t.sf(z, 2))
    assert stat.p_value("greater") == pytest.approx(student_t.sf(z, 2))
    assert stat.p_value(reference="normal") == pytest.approx(2 * norm.sf(z))
    assert stat.p_value("greater", reference="normal") == pytest.approx(norm.sf(z))
    negative = _statistic(-0.5, {"a": 1.0, "b": 2.0, "c": 3.0})
    assert negative.p_value() == pytest.approx(2 * student_t.sf(z, 2))
    assert negative.p_value("greater") == pytest.approx(student_t.sf(-z, 2))
    # A tiny spread: two-sided p is capped at 1.
    assert _statistic(1e-9, {"a": 0.0, "b": 1.0}).p_value() == 1.0


def test_one_unit_or_a_missing_leave_out_has_no_standard_error():
    one = _statistic(0.3, {"a": 0.2})
    assert one.n_units == 1 and one.df == 1 and np.isnan(one.se)
    assert all(np.isnan(one.interval()))
    assert np.isnan(_statistic(0.3, {"a": 0.2, "b": np.nan, "c": 0.1}).se)
    assert np.isnan(_statistic(0.3, {"a": 0.2, "b": np.inf}).se)
    assert _statistic(0.3, {"a": 0.2, "b": 0.1}).df == 1
    # No spread and no unit left: all-or-nothing evidence.
    for value, two_sided, greater in ((0.2, 0.0, 0.0), (-0.2, 0.0, 1.0), (0.0, 1.0, 1.0)):
        stat = _statistic(value, {"a": value, "b": value})
        assert stat.p_value() == two_sided and stat.p_value("greater") == greater
    assert _statistic(2e-12, {"a": 0.5, "b": 0.5}).p_value() == 0.0
    assert _statistic(5e-13, {"a": 0.5, "b": 0.5}).p_value() == 1.0
    assert _statistic(2e-12, {"a": 0.5, "b": 0.5}).p_value("greater") == 0.0
    assert _statistic(5e-13, {"a": 0.5, "b": 0.5}).p_value("greater") == 1.0
    # Exactly at the thresholds: a value of 1e-12 is no effect; an se of 1e-15 is no spread.
    at_value = _statistic(1e-12, {"a": 0.5, "b": 0.5})
    assert at_value.p_value() == 1.0 and at_value.p_value("greater") == 1.0
    at_se = _statistic(0.3, {"a": 0.0, "b": 2e-15})
    assert at_se.se == 1e-15 and at_se.p_value() == 0.0
    assert _statistic(-0.3, {"a": 0.0, "b": 2e-15}).p_value("greater") == 1.0
    # A spread of 1e-16 counts as none; one of 1e-14 does not.
    assert _statistic(0.2, {"a": 0.2, "b": 0.2 + 2e-16}).p_value() == 0.0
    tiny = _statistic(1e-14, {"a": 0.0, "b": 2e-14})
    assert tiny.se == pytest.approx(1e-14) and tiny.p_value() == pytest.approx(
        2 * student_t.sf(1.0, 1)
    )


def test_a_difference_and_an_average_combine_units_one_by_one():
    a = _statistic(0.6, {"p": 0.5, "q": 0.7}, "utterance")
    b = _statistic(0.4, {"q": 0.1, "r": 0.3})
    difference = a - b
    assert difference.value == pytest.approx(0.2) and difference.unit == "utterance"
    # A unit a statistic lacks leaves it at its value.
    expected = {"p": 0.5 - 0.4, "q": 0.7 - 0.1, "r": 0.6 - 0.3}
    assert difference.leave_out.to_dict() == pytest.approx(expected)
    mean = average([a, b])
    assert mean.value == pytest.approx(0.5) and mean.unit == "utterance"
    assert mean.leave_out.to_dict() == pytest.approx(
        {"p": (0.5 + 0.4) / 2, "q": (0.7 + 0.1) / 2, "r": (0.6 + 0.3) / 2}
    )
    three = average([a, b, _statistic(0.2, {"s": 0.0})])
    assert three.value == pytest.approx(0.4)
    assert three.leave_out.to_dict() == pytest.approx(
        {"p": 1.1 / 3, "q": 1.0 / 3, "r": 1.1 / 3, "s": 1.0 / 3}
    )
    assert average([b]).leave_out.to_dict() == pytest.approx(b.leave_out.to_dict())
    with pytest.raises(ValueError, match="^nothing to average$"):
        average([])


# --- unit_statistic, uar_estimate, chance_test -----------------------------------------------


@pytest.mark.parametrize("metric", ["uar", "accuracy", "chance_uar"])
def test_unit_statistic_matches_the_reference_over_two_seeds(metric):
    statistic = unit_statistic(TWO_SEEDS, metric)
    value, loo = reference_statistic(TWO_SEEDS, metric, "speaker")
    assert statistic.value == pytest.approx(value)
    assert statistic.unit == "speaker" and list(statistic.leave_out.index) == list(loo)
    np.testing.assert_allclose(statistic.leave_out.to_numpy(), list(loo.values()))
    by_utterance = unit_statistic(TWO_SEEDS, metric, cluster=None)
    value, loo = reference_statistic(TWO_SEEDS, metric, "utterance")
    assert by_utterance.unit == "utterance" and by_utterance.n_units == 9
    assert by_utterance.value == pytest.approx(value)
    np.testing.assert_allclose(by_utterance.leave_out.to_numpy(), list(loo.values()))


def test_unit_statistic_hand_worked_values():
    frame = cell("abbbaabb")  # p: a b, q: b b, r: a a, s: b b against a b a b a b a b
    statistic = unit_statistic(frame)
    # a: 2 of 4 (p, r), b: 3 of 4 (p, q, s)
    assert statistic.value == pytest.approx((2 / 4 + 3 / 4) / 2)
    # Without q: a 2/3, b 2/3; without r: a 1/3, b 3/3; without p: a 1/3, b 2/3.
    assert statistic.leave_out["t/q"] == pytest.approx(2 / 3)
    assert statistic.leave_out["t/r"] == pytest.approx(2 / 3)
    assert statistic.leave_out["t/p"] == pytest.approx(1 / 2)
    assert statistic.leave_out["t/s"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert unit_statistic(frame, "accuracy").value == pytest.approx(5 / 8)
    # 5 of 8 predictions are b, 3 are a.
    assert unit_statistic(frame, "chance_uar").value == pytest.approx((3 / 8 + 5 / 8) / 2)


def test_one_class_predictions_between_classes_and_outside_them():
    for metric, expected in (("uar", 1 / 2), ("accuracy", 1 / 2), ("chance_uar", 1 / 2)):
        # One class only: its recall, not NaN nor half of it.
        statistic = unit_statistic(cell("ab", "aa", "pq"), metric)
        assert statistic.value == pytest.approx(expected)
        assert statistic.leave_out.to_dict() == pytest.approx({"t/p": 0.0, "t/q": 1.0})
    # b sorts between the classes a and c but is neither: a wrong prediction of c.
    between = cell("bbac", "acac", "ppqq")
    assert unit_statistic(between).value == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert unit_statistic(between, "chance_uar").value == pytest.approx((1 / 4 + 1 / 4) / 2)
    # z sorts after every class: a wrong prediction of b (the second class) too.
    outside = cell("azaz", "abab", "ppqq")
    assert unit_statistic(outside).value == pytest.approx((1 + 0) / 2)
    assert unit_statistic(outside, "accuracy").value == pytest.approx(1 / 2)
    assert unit_statistic(outside).leave_out.index.name == "unit"


def test_a_single_test_utterance_has_a_value_but_no_spread():
    # Leaving out the only unit leaves nothing: NaN, quietly, and no standard error.
    statistic = unit_statistic(cell("a", "a", "p"))
    assert statistic.value == 1.0 and statistic.unit == "utterance"
    assert statistic.n_units == 1 and np.isnan(statistic.leave_out.iloc[0])
    assert np.isnan(statistic.se) and all(np.isnan(statistic.interval()))


def test_units_fall_back_from_speakers_to_utterances_to_rows():
    frame = cell("abbbaabb")
    assert unit_statistic(frame).unit == "speaker"
    one_speaker = frame.assign(speaker="p")
    assert unit_statistic(one_speaker).unit == "utterance"
    missing = frame.assign(speaker=["p", "", "q", "q", "r", "r", "s", "s"])
    assert unit_statistic(missing).unit == "utterance"
    assert unit_statistic(frame.drop(columns="speaker")).unit == "utterance"
    rows = frame.drop(columns=["speaker", "utterance"])
    statistic = unit_statistic(rows)
    assert statistic.unit == "row" and statistic.n_units == 8
    assert list(statistic.leave_out.index) == [str(i) for i in range(8)]
    # Ids are only unique within a corpus: the same speaker name in two targets is two units.
    two = pd.concat([frame, cell("abbbaabb", target="u")], ignore_index=True)
    assert unit_statistic(two).n_units == 8
    assert list(unit_statistic(two).leave_out.index[:2]) == ["t/p", "t/q"]
    no_target = frame.drop(columns="target")
    assert list(unit_statistic(no_target).leave_out.index) == ["p", "q", "r", "s"]
    # Without evaluation keys the whole table is one evaluation.
    bare = frame.drop(columns=["source", "target", "seed"])
    assert unit_statistic(bare).value == pytest.approx(unit_statistic(frame).value)


def test_unit_statistic_refuses_an_unknown_metric_and_no_predictions():
    with pytest.raises(ValueError, match="^unknown metric 'f1': use uar, accuracy, chance_uar$"):
        unit_statistic(cell("abababab"), "f1")
    with pytest.raises(ValueError, match="^no predictions to analyse$"):
        unit_statistic(cell("abababab").iloc[:0])


def test_leaving_out_the_only_unit_of_an_evaluation_skips_that_evaluation():
    # Seed 1 is tested on speaker p only: without p only seed 0 is left.
    frame = pd.concat([cell("abbbaabb"), cell("bb", "ab", "pp", seed=1)], ignore_index=True)
    statistic = unit_statistic(frame)
    assert statistic.value == pytest.approx(((2 / 4 + 3 / 4) / 2 + 1 / 2) / 2)
    assert statistic.leave_out["t/p"] == pytest.approx(1 / 2)
    assert statistic.leave_out["t/q"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    for metric in ("uar", "accuracy", "chance_uar"):
        with warnings.catch_warnings():
            # An emptied evaluation is skipped quietly, not with a division warning.
            warnings.simplefilter("error", RuntimeWarning)
            statistic = unit_statistic(frame, metric)
        value, loo = reference_statistic(frame, metric, "speaker")
        assert statistic.value == pytest.approx(value)
        np.testing.assert_allclose(statistic.leave_out.to_numpy(), list(loo.values()))


def test_uar_estimate_reports_the_t_interval_and_its_units():
    frame = cell("abbbaabb")
    estimate = uar_estimate(frame)
    loo = [1 / 2, 2 / 3, 2 / 3, 2 / 3]
    half = student_t.ppf(0.975, 3) * reference_se(loo)
    assert estimate.uar == pytest.approx(5 / 8)
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((5 / 8 - half, 5 / 8 + half))
    assert (estimate.n_test, estimate.n_units, estimate.unit) == (8, 4, "speaker")
    narrow = uar_estimate(frame, level=0.5)
    half = student_t.ppf(0.75, 3) * reference_se(loo)
    assert (narrow.ci_low, narrow.ci_high) == pytest.approx((5 / 8 - half, 5 / 8 + half))
    by_utterance = uar_estimate(frame, cluster=None)
    assert (by_utterance.n_units, by_utterance.unit) == (8, "utterance")


def test_chance_test_by_hand():
    frame = cell("abbbaabb")
    test = chance_test(frame)
    observed, observed_loo = reference_statistic(frame, "uar", "speaker")
    chance, chance_loo = reference_statistic(frame, "chance_uar", "speaker")
    effects = [observed_loo[u] - chance_loo[u] for u in observed_loo]
    se = reference_se(effects)
    assert test.uar == pytest.approx(5 / 8) and test.chance_uar == pytest.approx(1 / 2)
    assert test.t == pytest.approx((observed - chance) / se)
    assert test.p_value == pytest.approx(norm.sf((observed - chance) / se))
    assert (test.df, test.n_units, test.unit) == (3, 4, "speaker")
    assert chance_test(frame, cluster=None).unit == "utterance"
    with pytest.raises(ValueError, match="^no predictions to analyse$"):
        chance_test(frame.iloc[:0])


def test_chance_test_without_spread_is_certain_either_way():
    # Every speaker perfect: no spread of the effect, t is +inf and p 0.
    perfect = chance_test(cell("abababab"))
    assert perfect.t == math.inf and perfect.p_value == 0.0
    assert perfect.uar == 1.0 and perfect.chance_uar == pytest.approx(0.5)
    # Every speaker exactly wrong: effect -1/2 everywhere, t is -inf and p 1.
    wrong = chance_test(cell("babababa"))
    assert wrong.t == -math.inf and wrong.p_value == 1.0
    # Exactly at chance in every speaker: no effect, t undefined.
    level = chance_test(cell("aaaaaaaa"))
    assert np.isnan(level.t) and level.p_value == 1.0


# --- paired comparisons ---------------------------------------------------------------------


def test_paired_difference_matches_the_reference():
    a, b = cell("abbbaabb"), cell("aabbabab")
    merged = a.assign(y_pred_b=b.y_pred)
    value_a, loo_a = reference_statistic(merged, "uar", "speaker")
    value_b, loo_b = reference_statistic(merged, "uar", "speaker", "y_pred_b")
    differences = [loo_a[u] - loo_b[u] for u in loo_a]
    se = reference_se(differences)
    result = paired_difference(a, b)
    assert (result.uar_a, result.uar_b) == pytest.approx((value_a, value_b))
    assert result.difference == pytest.approx(value_a - value_b)
    assert result.se == pytest.approx(se)
    half = student_t.ppf(0.975, 3) * se
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (value_a - value_b - half, value_a - value_b + half)
    )
    assert result.p_value == pytest.approx(2 * student_t.sf(abs(value_a - value_b) / se, 3))
    assert (result.n_test, result.n_units, result.unit) == (8, 4, "speaker")
    narrow = paired_difference(a, b, level=0.5)
    assert narrow.ci_high - narrow.difference == pytest.approx(student_t.ppf(0.75, 3) * se)
    assert paired_difference(a, b, cluster=None).unit == "utterance"
    accuracy = paired_difference(a, b, metric="accuracy")
    assert (accuracy.uar_a, accuracy.uar_b) == pytest.approx((5 / 8, 6 / 8))


def test_paired_rows_are_matched_on_the_utterance_not_the_row_order():
    a, b = cell("abbbaabb"), cell("aabbabab")
    shuffled = b.iloc[::-1].reset_index(drop=True)
    assert paired_difference(a, shuffled) == paired_difference(a, b)
    # Only the utterances both tested count; b's speaker column is not needed.
    result = paired_difference(a, b.iloc[:4].drop(columns="speaker"))
    assert result.n_test == 4 and result.n_units == 2
    assert result.uar_a == pytest.approx(uar(list("abab"), list("abbb")))
    # A different seed is a different evaluation: nothing shared.
    with pytest.raises(ValueError, match="^the two prediction tables share no test utterances$"):
        paired_difference(a, b.assign(seed=1))
    # Without speakers in system a's table, the units are the utterances.
    assert paired_difference(a.drop(columns="speaker"), b).unit == "utterance"
    # Without a fold column in one table, the others still match.
    assert paired_difference(a, b.drop(columns="fold")).n_test == 8
    with pytest.raises(
        ValueError, match="^paired comparison needs an 'utterance' column in both tables$"
    ):
        paired_difference(a.drop(columns="utterance"), b)
    with pytest.raises(ValueError, match="^unknown metric 'f1': use uar, accuracy, chance_uar$"):
        paired_difference(a, b, metric="f1")


@pytest.mark.parametrize("metric", ["accuracy", "chance_uar"])
def test_paired_statistics_score_the_metric_asked_for(metric):
    other = TWO_SEEDS.assign(y_pred=list("aabbbccca") * 2)
    stat_a, stat_b, n_test = paired_statistics(TWO_SEEDS, other, metric)
    merged = TWO_SEEDS.assign(y_pred_b=other.y_pred)
    assert stat_a.value == pytest.approx(reference_statistic(merged, metric, "speaker")[0])
    expected_b = reference_statistic(merged, metric, "speaker", "y_pred_b")[0]
    assert stat_b.value == pytest.approx(expected_b) and n_test == 18
    result = paired_difference(TWO_SEEDS, other, metric=metric)
    assert result.uar_b == pytest.approx(expected_b)


def test_paired_statistics_and_their_description():
    a, b = cell("abbbaabb"), cell("aabbabab")
    stat_a, stat_b, n_test = paired_statistics(a, b, "accuracy", None)
    assert n_test == 8 and stat_a.unit == stat_b.unit == "utterance"
    assert stat_a.value == pytest.approx(5 / 8) and stat_b.value == pytest.approx(6 / 8)
    stat_a, stat_b, _ = paired_statistics(a, b)
    assert stat_a.unit == "speaker" and stat_a.value == pytest.approx(5 / 8)
    described = describe_difference(stat_a - stat_b, 0.9, 0.1, 17, 0.5)
    difference = stat_a - stat_b
    assert (described.uar_a, described.uar_b, described.n_test) == (0.9, 0.1, 17)
    assert described.difference == difference.value and described.se == difference.se
    assert (described.ci_low, described.ci_high) == difference.interval(0.5)
    assert described.p_value == difference.p_value()
    assert (described.n_units, described.unit) == (4, "speaker")
    assert describe_difference(difference, 0.9, 0.1, 17).ci_low == difference.interval(0.95)[0]


def test_paired_average_weighs_every_cell_the_same():
    small = (cell("abab", "abab", "ppqq"), cell("aaaa", "abab", "ppqq"))
    large = (
        cell("abbbaabb", target="u", seed=3),
        cell("aabbabab", target="u", seed=3),
    )
    result = paired_average([small, large])
    gain_small = 1.0 - 0.5
    gain_large = paired_difference(*large).difference
    assert result.difference == pytest.approx((gain_small + gain_large) / 2)
    assert result.uar_a == pytest.approx((1.0 + 5 / 8) / 2)
    assert result.n_test == 12 and result.n_units == 6
    # The small cell's gain is 0.5 without any of its speakers; u's units leave it as is.
    loo_large = (unit_statistic(large[0]) - unit_statistic(large[1])).leave_out
    values = [(0.5 + gain_large) / 2] * 2 + [(0.5 + v) / 2 for v in loo_large]
    assert result.se == pytest.approx(reference_se(values))
    assert paired_average([small, large], cluster=None).unit == "utterance"
    accuracy = paired_average([small], metric="accuracy")
    assert accuracy.difference == pytest.approx(0.5)
    assert result.uar_b == pytest.approx((0.5 + 6 / 8) / 2)
    assert result.ci_high - result.difference == pytest.approx(
        student_t.ppf(0.975, 5) * reference_se(values)
    )
    narrow = paired_average([small, large], level=0.5)
    assert narrow.ci_high - narrow.difference == pytest.approx(
        student_t.ppf(0.75, 5) * reference_se(values)
    )


# --- holm -----------------------------------------------------------------------------------


def test_holm_by_hand():
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    # Sorted: 0.005 x 4, 0.01 x 3, 0.03 x 2, 0.04 x 1, each at least the one before.
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.3, np.nan, 0.2]), [0.4, np.nan, 0.4])
    np.testing.assert_allclose(holm([0.6, 0.5]), [1.0, 1.0])
    np.testing.assert_allclose(holm([0.02, 0.02, 0.5]), [0.06, 0.06, 0.5])
    assert np.isnan(holm([np.nan, np.inf])).all()
    assert len(holm([])) == 0
    assert holm([0.01])[0] == 0.01
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])  # 1.2 and 0.7, capped at 1
    # Integer p-values (0 and 1 from certain cells) are p-values too.
    adjusted = holm([1, 0])
    assert adjusted.dtype == float  # the same float array, able to hold NaN, as for floats
    np.testing.assert_array_equal(adjusted, [1.0, 0.0])


# --- cell_statistics, per_class_recall, confusion_matrix ------------------------------------


def _results(predictions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (feature_set, seed), group in predictions.groupby(["feature_set", "seed"]):
        for fold, shift in ((0, -0.1), (1, 0.1)):
            rows.append(
                {
                    "feature_set": feature_set,
                    "source": "src",
                    "target": "t",
                    "seed": seed,
                    "fold": fold,
                    "uar": uar(group.y_true, group.y_pred) + shift + 0.01 * seed,
                    "kind": "transfer",
                    "protocol": f"protocol-{feature_set}",
                    "chance": 0.5 if fold == 0 else 0.9,
                    "collapsed": fold == 1 and feature_set == "f",
                    "dominant_share": 0.6 + 0.1 * fold,
                }
            )
    return pd.DataFrame(rows)


def test_cell_statistics_by_hand():
    predictions = pd.concat(
        [
            cell("abbbaabb").assign(feature_set="f"),
            cell("aabbabab", seed=1).assign(feature_set="f"),
            cell("abababab").assign(feature_set="g"),
        ],
        ignore_index=True,
    )
    results = _results(predictions)
    # A cell in the predictions without results rows is left out.
    # (e sorts first: the cells after it are still described.)
    orphan = cell("abababab").assign(feature_set="e")
    table, replicates = cell_statistics(results, pd.concat([predictions, orphan]), n_boot=20)
    # Cells come out sorted whatever the order of the predictions.
    reverse, _ = cell_statistics(results, pd.concat([orphan, predictions]).iloc[::-1], n_boot=0)
    pd.testing.assert_frame_equal(reverse, table)
    assert cell_keys(results) == ["feature_set", "source", "target"]
    assert table.feature_set.tolist() == ["f", "g"]
    f = table.iloc[0]
    f_predictions = predictions[predictions.feature_set == "f"]
    estimate, test = uar_estimate(f_predictions), chance_test(f_predictions)
    assert (f.uar, f.ci_low, f.ci_high) == (estimate.uar, estimate.ci_low, estimate.ci_high)
    assert (f.chance_uar, f.p_above_chance) == (test.chance_uar, test.p_value)
    assert (f.n_test, f.ci_unit, f.n_units) == (16, "speaker", 4)
    # Per seed, the mean of its two folds (the shifts cancel); then mean and sd over seeds.
    per_seed = [5 / 8, uar(list("abababab"), list("aabbabab")) + 0.01]
    assert f.uar_seed_mean == pytest.approx(np.mean(per_seed))
    assert f.uar_seed_sd == pytest.approx(np.std(per_seed, ddof=1))
    assert f.n_seeds == 2 and table.iloc[1].n_seeds == 1 and np.isnan(table.iloc[1].uar_seed_sd)
    assert (f.kind, f.protocol, f.chance) == ("transfer", "protocol-f", 0.5)
    assert bool(f.collapsed) and not bool(table.iloc[1].collapsed)
    assert f.dominant_share == pytest.approx(0.7)
    np.testing.assert_allclose(table.p_above_chance_holm, holm(table.p_above_chance))
    assert set(replicates) == {("f", "src", "t"), ("g", "src", "t")}
    assert len(replicates[("f", "src", "t")]) == 20
    np.testing.assert_allclose(
        replicates[("f", "src", "t")],
        bootstrap_uar(f_predictions, n_boot=20, seed=0).replicates,
    )
    again, _ = cell_statistics(results, predictions, n_boot=20, seed=5, level=0.5)
    narrow = uar_estimate(f_predictions, level=0.5)
    assert again.iloc[0].ci_low == pytest.approx(narrow.ci_low)
    _, seeded = cell_statistics(results, predictions, n_boot=20, seed=5)
    np.testing.assert_allclose(
        seeded[("f", "src", "t")], bootstrap_uar(f_predictions, n_boot=20, seed=5).replicates
    )
    _, default = cell_statistics(results, predictions)
    assert len(default[("g", "src", "t")]) == 1000
    _, none = cell_statistics(results, predictions, n_boot=0)
    assert none == {}
    empty, _ = cell_statistics(results, orphan)
    assert empty.empty and "p_above_chance_holm" not in empty.columns


def test_cell_keys_follow_the_cell_key_order():
    frame = pd.DataFrame(columns=["target", "seed", "classifier", "source", "augmentation"])
    assert cell_keys(frame) == ["classifier", "augmentation", "source", "target"]
    assert CELL_KEYS[-2:] == ["source", "target"] and len(CELL_KEYS) == 7


def test_per_class_recall_and_the_confusion_matrix_by_hand():
    frame = pd.concat([cell("abbbaabb"), cell("aabbabab", seed=1)], ignore_index=True).assign(
        feature_set="f"
    )
    recall = per_class_recall(frame)
    assert list(recall.columns) == ["feature_set", "source", "target", "class", "recall", "n"]
    # a: 2 of 4 at seed 0 and 3 of 4 at seed 1; b: 3 of 4 at both.
    assert recall["class"].tolist() == ["a", "b"]
    assert recall.recall.tolist() == pytest.approx([5 / 8, 6 / 8])
    assert recall.n.tolist() == [8, 8]
    matrix = confusion_matrix(cell("abbbaaca", "abababcc", "ppqqrrss"))
    # Rows: the true classes; columns: every class seen, true or predicted.
    assert list(matrix.index) == ["a", "b", "c"] and list(matrix.columns) == ["a", "b", "c"]
    # true a: a, b, a -> 2/3 a; true b: b, b, a -> 1/3 a, 2/3 b; true c: c, a -> 1/2 each.
    np.testing.assert_allclose(
        matrix.to_numpy(), [[2 / 3, 1 / 3, 0], [1 / 3, 2 / 3, 0], [1 / 2, 0, 1 / 2]]
    )
    counts = confusion_matrix(cell("abbbaaca", "abababcc", "ppqqrrss"), normalise=False)
    np.testing.assert_array_equal(counts.to_numpy(), [[2, 1, 0], [1, 2, 0], [1, 0, 1]])
    # A predicted class without test utterances is a column, not a row.
    outside = confusion_matrix(cell("az", "ab", "pq"))
    assert list(outside.index) == ["a", "b"] and list(outside.columns) == ["a", "b", "z"]
    np.testing.assert_allclose(outside.to_numpy(), [[1, 0, 0], [0, 0, 1]])


# --- bootstrap ------------------------------------------------------------------------------


def reference_bootstrap(frame: pd.DataFrame, unit_column: str, n_boot: int, seed: int):
    """Unit weights from the generator seeded by the sorted unit ids; weighted UAR per seed."""
    units = _unit_ids(frame, unit_column)
    ids = sorted(set(units))
    digest = zlib.crc32("\x1f".join(ids).encode())
    rng = np.random.default_rng([seed, digest])
    weights = rng.multinomial(len(ids), [1 / len(ids)] * len(ids), size=n_boot)
    frame = frame.assign(unit=[ids.index(u) for u in units])
    replicates = []
    for draw in weights:
        per_seed = []
        for _, evaluation in frame.groupby(["source", "target", "seed"]):
            recalls = []
            for label in sorted(set(evaluation.y_true)):
                rows = evaluation[evaluation.y_true == label]
                drawn = sum(draw[u] for u in rows.unit)
                right = sum(draw[u] for u, p in zip(rows.unit, rows.y_pred) if p == label)
                if drawn:
                    recalls.append(right / drawn)
            per_seed.append(np.mean(recalls) if recalls else np.nan)
        replicates.append(np.nanmean(per_seed) if not np.isnan(per_seed).all() else np.nan)
    return np.array(replicates)


def test_bootstrap_matches_the_reference_resamples():
    estimate = bootstrap_uar(TWO_SEEDS, n_boot=50, seed=3)
    expected = reference_bootstrap(TWO_SEEDS, "speaker", 50, 3)
    np.testing.assert_allclose(estimate.replicates, expected)
    assert estimate.uar == pytest.approx(reference_statistic(TWO_SEEDS, "uar", "speaker")[0])
    low, high = np.quantile(expected[np.isfinite(expected)], [0.025, 0.975])
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((low, high))
    assert (estimate.n_test, estimate.n_units, estimate.unit) == (18, 5, "speaker")
    narrow = bootstrap_uar(TWO_SEEDS, n_boot=50, seed=3, level=0.5)
    low, high = np.quantile(expected[np.isfinite(expected)], [0.25, 0.75])
    assert (narrow.ci_low, narrow.ci_high) == pytest.approx((low, high))
    by_utterance = bootstrap_uar(TWO_SEEDS, n_boot=30, cluster=None)
    np.testing.assert_allclose(
        by_utterance.replicates, reference_bootstrap(TWO_SEEDS, "utterance", 30, 0)
    )
    assert (by_utterance.n_units, by_utterance.unit) == (9, "utterance")
    assert len(bootstrap_uar(TWO_SEEDS).replicates) == 1000


def test_bootstrap_resamples_pair_across_systems_and_skip_empty_draws():
    other = TWO_SEEDS.assign(y_pred="a")
    # The same units get the same weights: a system that predicts a everywhere scores its
    # resamples with the same draws (checked against the reference's draws).
    np.testing.assert_allclose(
        bootstrap_uar(other, n_boot=40, seed=1).replicates,
        reference_bootstrap(other, "speaker", 40, 1),
    )
    # One speaker per class: a resample missing a class skips it; missing a seed's every
    # unit skips that seed.
    sparse = pd.concat([cell("ab", "ab", "pq"), cell("a", "a", "r", seed=1)], ignore_index=True)
    with warnings.catch_warnings():
        # Classes drawn zero times are skipped without a division warning.
        warnings.simplefilter("error", RuntimeWarning)
        estimate = bootstrap_uar(sparse, n_boot=60, seed=2)
    np.testing.assert_allclose(estimate.replicates, reference_bootstrap(sparse, "speaker", 60, 2))
    with pytest.raises(ValueError, match="^no predictions to bootstrap$"):
        bootstrap_uar(TWO_SEEDS.iloc[:0])


def test_a_bootstrap_of_one_utterance_has_a_point_interval():
    estimate = bootstrap_uar(cell("a", "a", "p"), n_boot=5)
    assert estimate.uar == 1.0 and estimate.unit == "utterance" and estimate.n_units == 1
    assert estimate.ci_low == 1.0 and estimate.ci_high == 1.0
