"""Paired gains of a factor level against values worked out by hand (issue 22, MUTATION.md).

Tiny hand-made results and predictions, no run: every number of ``gains_<factor>.csv`` is
compared with an independent reimplementation of its definition (UAR over the classes present,
delete-one-speaker jackknife, t with G-1 degrees of freedom, Holm), and the formatted table
and sentences with exact strings.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from paraser.reports import gains as gains_module
from paraser.reports.gains import GAIN_COLUMNS, factor_gains, gains_sentences, gains_table
from paraser.results import FACTOR_DEFAULTS

#: Two corpora of three speakers with one ``a`` and one ``b`` utterance each.
SPEAKERS = {"t": ["p", "p", "q", "q", "r", "r"], "s": ["x", "x", "y", "y", "z", "z"]}
#: s has more a than b, so that accuracy and UAR differ there.
TRUTH = {"t": list("ababab"), "s": list("ababaa")}
#: Predictions per (source, target) cell: (at the baseline, at the level).
CELLS = {
    # Every speaker loses its b utterance at the level: the same loss -0.5 left out anywhere.
    ("s", "s"): ("ababaa", "aaaaaa"),
    # Every b is wrong at the baseline and right at the level: +0.5 whoever is left out.
    ("s", "t"): ("aaaaaa", "ababab"),
    # No gain overall, but -1/6, 0, +1/4 with x, y, z left out; 'c' is outside the labels.
    ("t", "s"): ("bbabaa", "ababca"),
    # +1/6: 0, +0.25, +0.25 with p, q, r left out (se 1/6, t = 1).
    ("t", "t"): ("aaabbb", "ababbb"),
}
WITHIN_PROTOCOL = {"t": "speaker-3fold", "s": "stratified-3fold"}
FACTOR, LEVEL = "adaptation", "prior-em"
#: Other configurations: a second feature set and another augmentation, t -> t only.
EXTRA_CONFIGS = [("g", "none"), ("f", "noise")]


def _config(feature_set: str, augmentation: str, adaptation: str) -> dict:
    return {
        "feature_set": feature_set,
        "classifier": "svm",
        "normalisation": "train",
        "adaptation": adaptation,
        "augmentation": augmentation,
    }


def _configs() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(feature set, augmentation, cells) of every configuration compared."""
    return [("f", "none", sorted(CELLS))] + [(f, a, [("t", "t")]) for f, a in EXTRA_CONFIGS]


def _macro_f1(feature_set: str, augmentation: str, cell: tuple[str, str], level: str) -> float:
    """A distinct macro-F1 per configuration, cell and level (the mean of two results rows)."""
    index = [c[:2] for c in _configs()].index((feature_set, augmentation))
    cell_index = sorted(CELLS).index(cell)
    return 0.30 + 0.1 * index + 0.02 * cell_index + (0.05 if level == LEVEL else 0.0)


def build() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, predictions) of the configurations above."""
    predictions, results = [], []
    for feature_set, augmentation, cells in _configs():
        for source, target in cells:
            for level, preds in zip(("none", LEVEL), CELLS[(source, target)]):
                config = _config(feature_set, augmentation, level)
                within = source == target
                for i, (speaker, truth, pred) in enumerate(
                    zip(SPEAKERS[target], TRUTH[target], preds, strict=True)
                ):
                    predictions.append(
                        {
                            **config,
                            "source": source,
                            "target": target,
                            "seed": 0,
                            "fold": i // 2 if within else -1,
                            "utterance": f"{target}{i}",
                            "speaker": speaker,
                            "y_true": truth,
                            "y_pred": pred,
                        }
                    )
                f1 = _macro_f1(feature_set, augmentation, (source, target), level)
                for fold, delta in ((0, -0.04), (1, 0.04)):
                    results.append(
                        {
                            **config,
                            "source": source,
                            "target": target,
                            "seed": 0,
                            "fold": fold if within else -1,
                            "kind": "within" if within else "transfer",
                            "protocol": WITHIN_PROTOCOL[target] if within else "transfer",
                            "uar": 0.0,
                            "macro_f1": f1 + delta,
                        }
                    )
    results = pd.DataFrame(results)
    # Ceilings: within UAR at the baseline of every factor, mean over its rows.
    baseline = (results.kind == "within") & (results.adaptation == "none")
    for feature_set, target, uars in (("f", "t", (0.7, 0.8)), ("f", "s", (0.9, 0.5))):
        rows = baseline & (results.feature_set == feature_set) & (results.target == target)
        rows &= results.augmentation == "none"
        results.loc[rows, "uar"] = uars
    results.loc[(results.feature_set == "g") & baseline, "uar"] = (0.2, 0.4)
    results.loc[(results.kind == "within") & (results.adaptation == LEVEL), "uar"] = 0.1
    results.loc[(results.augmentation == "noise") & baseline, "uar"] = 0.05
    return results, pd.DataFrame(predictions)


# --- an independent reimplementation of the definitions -----------------------------------


def uar(truth: list[str], preds: list[str]) -> float:
    classes = sorted(set(truth))
    recalls = [
        sum(t == c and p == c for t, p in zip(truth, preds)) / truth.count(c) for c in classes
    ]
    return sum(recalls) / len(recalls)


def accuracy(truth: list[str], preds: list[str]) -> float:
    return sum(t == p for t, p in zip(truth, preds)) / len(truth)


def leave_out(target: str, preds: str, metric) -> tuple[float, dict[str, float]]:
    """The metric of a cell and its value with each speaker (``target/speaker``) left out."""
    speakers = SPEAKERS[target]
    values = {}
    for speaker in sorted(set(speakers)):
        kept = [i for i, s in enumerate(speakers) if s != speaker]
        truth = TRUTH[target]
        values[f"{target}/{speaker}"] = metric([truth[i] for i in kept], [preds[i] for i in kept])
    return metric(TRUTH[target], list(preds)), values


def mean_of_cells(cells: list[tuple[float, dict[str, float]]]):
    """Each cell weighs the same; a unit a cell lacks leaves that cell's value unchanged."""
    units = sorted(set().union(*(loo for _, loo in cells)))
    value = sum(v for v, _ in cells) / len(cells)
    return value, {u: sum(loo.get(u, v) for v, loo in cells) / len(cells) for u in units}


def expected_difference(cells: list[tuple[str, str]], metric) -> dict[str, float]:
    level = mean_of_cells([leave_out(t, CELLS[(s, t)][1], metric) for s, t in cells])
    base = mean_of_cells([leave_out(t, CELLS[(s, t)][0], metric) for s, t in cells])
    diff = level[0] - base[0]
    values = [level[1][u] - base[1][u] for u in level[1]]
    g = len(values)
    mean = sum(values) / g
    se = math.sqrt((g - 1) / g * sum((v - mean) ** 2 for v in values))
    half = student_t.ppf(0.975, g - 1) * se
    if se <= 1e-15:
        p = 0.0 if abs(diff) > 1e-12 else 1.0
    else:
        p = min(1.0, 2 * student_t.sf(abs(diff / se), g - 1))
    return {"level": level[0], "base": base[0], "diff": diff, "se": se, "half": half, "p": p}


def expected_holm(pvalues: list[float]) -> list[float]:
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(pvalues) - rank) * pvalues[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def expected_row(feature_set: str, augmentation: str, cells: list[tuple[str, str]]) -> dict:
    uar_diff = expected_difference(cells, uar)
    acc_diff = expected_difference(cells, accuracy)
    f1 = [[_macro_f1(feature_set, augmentation, c, lv) for c in cells] for lv in ("none", LEVEL)]
    f1_base, f1_level = (sum(v) / len(v) for v in f1)
    return {
        "factor": FACTOR,
        "level": LEVEL,
        "baseline": "none",
        "feature_set": feature_set,
        "classifier": "svm",
        "other_factors": f"normalisation=train;augmentation={augmentation}",
        "uar_baseline": uar_diff["base"],
        "uar": uar_diff["level"],
        "gain": uar_diff["diff"],
        "ci_low": uar_diff["diff"] - uar_diff["half"],
        "ci_high": uar_diff["diff"] + uar_diff["half"],
        "se": uar_diff["se"],
        "p_value": uar_diff["p"],
        "accuracy_baseline": acc_diff["base"],
        "accuracy": acc_diff["level"],
        "accuracy_gain": acc_diff["diff"],
        "accuracy_ci_low": acc_diff["diff"] - acc_diff["half"],
        "accuracy_ci_high": acc_diff["diff"] + acc_diff["half"],
        "accuracy_p_value": acc_diff["p"],
        "macro_f1_baseline": f1_base,
        "macro_f1": f1_level,
        "macro_f1_gain": f1_level - f1_base,
        "n_test": 6 * len(cells),
        "transductive": True,
        "targets": "accuracy",
    }


SI, SHARED, TRANSFER = "speaker-independent", "speakers shared (optimistic)", "transfer"
NONE = "normalisation=train;augmentation=none"


def expected_table() -> pd.DataFrame:
    family = {("s", "s"): SHARED, ("t", "t"): SI}
    cells, averages = [], []
    # Sorted by configuration (the augmentation 'noise' before 'none'), then by cell.
    for feature_set, augmentation, config_cells in sorted(_configs(), key=lambda c: c[:2]):
        groups: dict[str, list] = {}
        for cell in config_cells:
            kind = "within" if cell[0] == cell[1] else "transfer"
            protocol = family.get(cell, TRANSFER)
            ceiling = {"t": 0.75, "s": 0.7}[cell[1]] if kind == "transfer" else np.nan
            cells.append(
                {
                    **expected_row(feature_set, augmentation, [cell]),
                    "kind": kind,
                    "protocol": protocol,
                    "source": cell[0],
                    "target": cell[1],
                    "ceiling": ceiling,
                    "ceiling_optimistic": kind == "transfer" and cell[1] == "s",
                }
            )
            groups.setdefault(protocol, []).append(cell)
        for protocol, group in groups.items():
            transfer = protocol == TRANSFER
            averages.append(
                {
                    **expected_row(feature_set, augmentation, group),
                    "kind": "transfer" if transfer else "within",
                    "protocol": protocol,
                    "source": "average",
                    "target": "average",
                    # Only speaker-independent ceilings: t's, not s's stratified one.
                    "ceiling": 0.75 if transfer else np.nan,
                    "ceiling_optimistic": False,
                }
            )
    holm = expected_holm([c["p_value"] for c in cells])
    for cell, p in zip(cells, holm):
        cell.update(p_holm=p, significant=p < 0.05)
    return pd.DataFrame(cells + averages)


def test_every_gains_column_matches_the_hand_worked_definition():
    results, predictions = build()
    gains = factor_gains(results, predictions, FACTOR)
    expected = expected_table()
    assert list(gains.columns) == list(GAIN_COLUMNS)
    assert len(gains) == len(expected) == 11
    for column in expected.columns:
        actual, wanted = gains[column].tolist(), expected[column].tolist()
        if isinstance(wanted[0], str | bool | np.bool_):
            assert actual == wanted, column
        else:
            np.testing.assert_allclose(
                np.asarray(actual, float), np.asarray(wanted, float), atol=1e-12, err_msg=column
            )
    averages = gains[gains.source == "average"]
    assert averages.p_holm.isna().all() and averages.significant.isna().all()
    assert list(gains.index) == list(range(11))  # one row per label, not the cells' indices
    # Cells come out sorted whatever the order of the predictions.
    shuffled = factor_gains(results, predictions.iloc[::-1], FACTOR)
    pd.testing.assert_frame_equal(shuffled, gains)


def test_a_cell_holm_adjusted_to_exactly_five_percent_is_not_significant(monkeypatch):
    results, predictions = build()
    monkeypatch.setattr(gains_module, "holm", lambda p: np.full(len(p), 0.05))
    gains = factor_gains(results, predictions, FACTOR)
    cells = gains[gains.source != "average"]
    assert (cells.p_holm == 0.05).all() and not cells.significant.astype(bool).any()


def test_each_level_averages_only_its_own_cells():
    results, predictions = build()
    alone = factor_gains(results, predictions, FACTOR)
    # A second level: the baseline's predictions (no gain) and its own macro-F1 of 0.9.
    copy = predictions[predictions.adaptation == "none"].assign(adaptation="coral")
    copy_results = results[results.adaptation == "none"].assign(adaptation="coral", macro_f1=0.9)
    both = factor_gains(pd.concat([results, copy_results]), pd.concat([predictions, copy]), FACTOR)
    averages = both[both.source == "average"]
    coral = averages[averages.level == "coral"]
    assert len(coral) == 5 and np.allclose(coral.macro_f1, 0.9) and (coral.gain == 0).all()
    mine = averages[averages.level == LEVEL].reset_index(drop=True)
    expected = alone[alone.source == "average"].reset_index(drop=True)
    for column in ("macro_f1", "macro_f1_baseline", "ceiling", "gain", "n_test"):
        pd.testing.assert_series_equal(mine[column], expected[column])


def test_a_transfer_target_without_within_rows_has_no_ceiling():
    results, predictions = build()
    gains = factor_gains(results[results.kind == "transfer"], predictions, FACTOR)
    transfer = gains[gains.kind == "transfer"]
    # Without within rows every cell counts as transfer (its kind is unknown), with no ceiling.
    assert len(transfer) == len(gains) == 9
    assert gains.ceiling.dtype == float and gains.ceiling.isna().all()
    assert set(gains_table(gains).ceiling) == {"–"}


def test_hand_worked_numbers_of_one_cell_and_of_the_sure_cells():
    results, predictions = build()
    gains = factor_gains(results, predictions, FACTOR).set_index(
        ["feature_set", "other_factors", "source", "target"]
    )
    within = gains.loc[("f", NONE, "t", "t")]
    # Level 5/6 against 2/3; left-out gains 0, 1/4, 1/4: se = sqrt(2/3 * 1/24) = 1/6, t = 1.
    assert within.uar == pytest.approx(5 / 6) and within.uar_baseline == pytest.approx(2 / 3)
    assert within.gain == pytest.approx(1 / 6) and within.se == pytest.approx(1 / 6)
    assert within.p_value == pytest.approx(2 * student_t.sf(1.0, 2))
    assert within.ci_high - within.gain == pytest.approx(student_t.ppf(0.975, 2) / 6)
    assert within.accuracy_gain == pytest.approx(5 / 6 - 4 / 6)
    assert within.n_test == 6
    assert within.macro_f1_gain == pytest.approx(0.05)
    sure_gain, sure_loss = gains.loc[("f", NONE, "s", "t")], gains.loc[("f", NONE, "s", "s")]
    assert (sure_gain.gain, sure_gain.se, sure_gain.p_value) == (0.5, 0.0, 0.0)
    assert (sure_gain.ci_low, sure_gain.ci_high) == (0.5, 0.5)
    assert (sure_loss.gain, sure_loss.p_value, bool(sure_loss.significant)) == (-0.5, 0.0, True)
    assert sure_gain.ceiling == pytest.approx(0.75) and not sure_gain.ceiling_optimistic
    stratified = gains.loc[("f", NONE, "t", "s")]
    assert stratified.ceiling == pytest.approx(0.7) and stratified.ceiling_optimistic
    assert stratified.gain == pytest.approx(0.0) and stratified.p_value == pytest.approx(1.0)
    assert not stratified.significant


def test_a_factor_that_is_not_varied_or_lacks_its_baseline_gives_an_empty_table():
    results, predictions = build()
    only_baseline = results[results.adaptation == "none"]
    without_baseline = results.assign(adaptation=results.adaptation.replace("none", "coral"))
    for frame, factor in (
        (results, "normalisation"),
        (only_baseline, FACTOR),
        (without_baseline, FACTOR),
    ):
        empty = factor_gains(frame, predictions, factor)
        assert empty.empty and list(empty.columns) == list(GAIN_COLUMNS)
    # Varied, with a baseline configuration, but no cell tested at both levels.
    level_cells = (predictions.adaptation == LEVEL) & (predictions.source == "s")
    baseline_cells = (predictions.adaptation == "none") & (predictions.source == "t")
    empty = factor_gains(results, predictions[level_cells | baseline_cells], FACTOR)
    assert empty.empty and list(empty.columns) == list(GAIN_COLUMNS)


def test_cells_without_their_baseline_are_not_compared():
    results, predictions = build()
    only_f = predictions[
        (predictions.feature_set == "f") & (predictions.augmentation == "none")
    ].copy()
    # No baseline configuration for e at all; no baseline cell for s -> t.
    # (e sorts first: the configurations after it are still compared.)
    orphan = only_f[only_f.adaptation == LEVEL].assign(feature_set="e")
    lacking = (only_f.adaptation == "none") & (only_f.source == "s") & (only_f.target == "t")
    gains = factor_gains(results, pd.concat([only_f[~lacking], orphan]), FACTOR)
    cells = gains[gains.source != "average"]
    assert set(gains.feature_set) == {"f"}
    assert list(zip(cells.source, cells.target)) == [("s", "s"), ("t", "s"), ("t", "t")]
    transfer = gains[(gains.source == "average") & (gains.kind == "transfer")].iloc[0]
    # The transfer average is t -> s alone now: its ceiling is optimistic, so none is left.
    assert transfer.n_test == 6 and np.isnan(transfer.ceiling)


def test_a_cell_missing_from_results_counts_as_transfer_and_levels_name_their_purpose():
    results, predictions = build()
    keep = (results.source == "s") & (results.target == "t")
    cells = predictions[
        (predictions.source == "s") & (predictions.target == "t") & (predictions.feature_set == "f")
    ]
    noise = cells.assign(
        augmentation=cells.adaptation.map({"none": "none", LEVEL: "noise"}), adaptation="none"
    )
    gains = factor_gains(results[~keep], noise, "augmentation")
    row = gains.iloc[0]
    assert (row.kind, row.protocol, row.transductive, row.targets) == (
        "transfer",
        TRANSFER,
        False,
        "uar",
    )
    assert row.other_factors == "normalisation=train;adaptation=none"
    assert (row.factor, row.level, row.baseline) == ("augmentation", "noise", "none")
    assert np.isnan(row.macro_f1) and np.isnan(row.macro_f1_baseline)
    corpus = predictions.assign(
        normalisation=predictions.adaptation.map({"none": "train", LEVEL: "corpus"}),
        adaptation="none",
    )
    corpus_results = results.assign(
        normalisation=results.adaptation.map({"none": "train", LEVEL: "corpus"}),
        adaptation="none",
    )
    gains = factor_gains(corpus_results, corpus, "normalisation")
    assert gains.transductive.all() and (gains.targets == "uar").all()
    assert set(gains.other_factors) == {
        "adaptation=none;augmentation=none",
        "adaptation=none;augmentation=noise",
    }
    assert FACTOR_DEFAULTS["normalisation"] == "train"


def _gains(**columns) -> pd.DataFrame:
    """A gains table with the columns the formatting reads; two rows unless given."""
    base = {
        "factor": "adaptation",
        "level": "coral",
        "feature_set": "f",
        "classifier": "svm",
        "other_factors": "normalisation=train;augmentation=none",
        "kind": "transfer",
        "protocol": TRANSFER,
        "source": "a",
        "target": "b",
        "uar_baseline": 0.41234,
        "uar": 0.45678,
        "gain": 0.04444,
        "ci_low": 0.01111,
        "ci_high": 0.07777,
        "p_value": 0.0123,
        "p_holm": 0.0246,
        "significant": True,
        "ceiling": 0.61234,
        "ceiling_optimistic": False,
        "targets": "uar",
        "accuracy_baseline": 0.5,
        "accuracy": 0.52,
        "accuracy_gain": 0.02,
        "accuracy_ci_low": -0.01,
        "accuracy_ci_high": 0.05,
        "macro_f1_gain": -0.01234,
    }
    return pd.DataFrame([{**base, **row} for row in columns.get("rows", [{}])])


def test_gains_table_puts_averages_first_and_formats_every_column():
    gains = _gains(
        rows=[
            {"p_holm": 0.0004, "ceiling_optimistic": True},
            {"source": "average", "target": "average", "p_value": 0.0512, "p_holm": np.nan},
            {"source": "b", "target": "a", "p_holm": np.nan, "ceiling": np.nan},
            {"source": "c", "target": "a", "p_holm": 0.001},
        ]
    )
    table = gains_table(gains)
    assert list(table.columns) == [
        "level",
        "features",
        "classifier",
        "other factors",
        "cell",
        "kind",
        "UAR base",
        "UAR",
        "gain [95% CI]",
        "p (Holm)",
        "protocol",
        "ceiling",
        "accuracy gain [95% CI]",
        "macro-F1 gain",
        "targets",
    ]
    assert table.cell.tolist() == ["average", "a → b", "b → a", "c → a"]
    assert list(table.index) == [0, 1, 2, 3]
    # Averages print their raw p (Holm is over cells only).
    assert table["p (Holm)"].tolist() == ["0.051", "<0.001", "–", "0.001"]
    assert table.ceiling.tolist() == ["0.612", "0.612‡", "–", "0.612"]
    first = table.iloc[0]
    assert (first.level, first.features, first.classifier, first.kind) == (
        "coral",
        "f",
        "svm",
        "transfer",
    )
    assert first["other factors"] == "normalisation=train;augmentation=none"
    assert (first["UAR base"], first["UAR"]) == (0.412, 0.457)
    assert first["gain [95% CI]"] == "+0.044 [+0.011, +0.078]"
    assert first["accuracy gain [95% CI]"] == "+0.020 [-0.010, +0.050]"
    assert first["macro-F1 gain"] == -0.012
    assert (first.protocol, first.targets) == (TRANSFER, "uar")
    assert gains_table(gains.iloc[:0]).empty


def test_gains_sentences_call_an_effect_only_when_ci_and_p_agree():
    cell = {"source": "a", "target": "b"}
    rows = [
        {**cell, "gain": 0.1, "significant": True},
        {**cell, "gain": 0.2, "significant": True},
        {**cell, "gain": -0.1, "significant": True},
        {**cell, "gain": 0.3, "significant": False},
        {**cell, "gain": 0.0, "significant": True},  # neither up nor down
        # Another level, kind, protocol, feature set, classifier or other factors: not counted.
        {**cell, "gain": 0.1, "significant": True, "level": "importance"},
        {**cell, "gain": 0.1, "significant": True, "kind": "within"},
        {**cell, "gain": 0.1, "significant": True, "protocol": SI},
        {**cell, "gain": 0.1, "significant": True, "feature_set": "g"},
        {**cell, "gain": 0.1, "significant": True, "classifier": "rf"},
        {**cell, "gain": 0.1, "significant": True, "other_factors": "x=y"},
        {"source": "average", "target": "average"},
    ]
    (sentence,) = gains_sentences(_gains(rows=rows))
    assert sentence == (
        "adaptation coral (f + svm, transfer): helps, mean gain +0.044 [+0.011, +0.078] UAR "
        "(0.412 → 0.457); significant after Holm in 2 of 5 cells up, 1 down."
    )
    average = {"source": "average", "target": "average"}
    verdicts = {
        "hurts": {"gain": -0.04, "ci_low": -0.07, "ci_high": -0.01},
        "shows no clear effect": {"ci_low": -0.01},
    }
    for verdict, values in verdicts.items():
        (sentence,) = gains_sentences(_gains(rows=[{**average, **values}]))
        assert f": {verdict}, mean gain" in sentence
    # The CI excludes zero but p does not agree (and the other way round): no effect claimed.
    for values in ({"p_value": 0.05}, {"ci_low": 0.0, "p_value": 0.001}):
        (sentence,) = gains_sentences(_gains(rows=[{**average, **values}]))
        assert ": shows no clear effect, mean gain" in sentence
    # A CI ending exactly at zero does not exclude it.
    for values in ({"ci_high": 0.0, "ci_low": -0.07, "gain": -0.03}, {"ci_low": 0.0}):
        (sentence,) = gains_sentences(_gains(rows=[{**average, **values}]))
        assert ": shows no clear effect, mean gain" in sentence
    (sentence,) = gains_sentences(
        _gains(rows=[{**average, "kind": "within", "protocol": SHARED, "p_value": 0.049}])
    )
    assert sentence.startswith(
        "adaptation coral (f + svm, speakers shared (optimistic) within): helps,"
    )
    assert sentence.endswith("in 0 of 0 cells up, 0 down.")


def test_a_level_meant_for_accuracy_says_so_with_its_accuracy_gain():
    average = {"source": "average", "target": "average", "level": "prior-em"}
    (sentence,) = gains_sentences(_gains(rows=[{**average, "targets": "accuracy"}]))
    assert sentence.endswith(
        "cells up, 0 down. It is meant to improve accuracy, not UAR (it re-weights posteriors "
        "to the target's estimated priors; the UAR-optimal decision does not depend on "
        "priors): accuracy 0.500 → 0.520, gain +0.020 [-0.010, +0.050] (no clear effect); "
        "macro-F1 gain -0.012."
    )

    def with_accuracy_ci(low: float, high: float) -> str:
        row = {**average, "targets": "accuracy", "accuracy_ci_low": low, "accuracy_ci_high": high}
        (sentence,) = gains_sentences(_gains(rows=[row]))
        return sentence

    for low, high in ((0.001, 0.05), (-0.05, -0.001)):
        assert with_accuracy_ci(low, high).endswith(f"{high:+.3f}]; macro-F1 gain -0.012.")
    for low, high in ((0.0, 0.05), (-0.05, 0.0)):
        assert with_accuracy_ci(low, high).endswith("] (no clear effect); macro-F1 gain -0.012.")
    (sentence,) = gains_sentences(_gains(rows=[average]))
    assert "accuracy" not in sentence
