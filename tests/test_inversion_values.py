"""The feature-ranking inversion on hand-worked numbers (reports/inversion.py).

Small tables whose means, ranks, drops, Kendall's tau and replicate CIs are worked out by
hand, so a changed rank method, quantile, sign or key fails here (and mutation testing of
the module runs in seconds, see MUTATION.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paraser.reports.inversion import (
    ALL,
    KNOWN_DIMENSIONS,
    _ordinal,
    feature_dimensions,
    inversion_sentences,
    inversion_summary,
    published_inversion_holds,
    rankings,
)

KEYS = ["feature_set", "classifier", "source", "target"]
SI = "speaker-5fold"
FALLBACK = "stratified-5fold (fallback from speaker-5fold)"
#: Within UAR per feature set and corpus; means compare 0.70, is10 0.60, egemaps 0.50.
WITHIN = {
    "compare": {"a": 0.80, "b": 0.70, "c": 0.60},
    "egemaps": {"a": 0.60, "b": 0.50, "c": 0.40},
    "is10": {"a": 0.70, "b": 0.65, "c": 0.45},
}
#: Transfer UAR per direction; means egemaps 0.40, is10 0.35, compare 0.30 (inverted).
TRANSFER = {
    "compare": {("a", "b"): 0.30, ("a", "c"): 0.32, ("b", "a"): 0.28, ("b", "c"): 0.30,
                ("c", "a"): 0.26, ("c", "b"): 0.34},
    "egemaps": {("a", "b"): 0.45, ("a", "c"): 0.35, ("b", "a"): 0.40, ("b", "c"): 0.40,
                ("c", "a"): 0.38, ("c", "b"): 0.42},
    "is10": {("a", "b"): 0.35, ("a", "c"): 0.35, ("b", "a"): 0.30, ("b", "c"): 0.40,
             ("c", "a"): 0.33, ("c", "b"): 0.37},
}  # fmt: skip
OFFSETS = np.array([-0.02, -0.01, 0.01, 0.02])
DIMS = {"compare": 6373, "egemaps": 88, "is10": 1582}


def _cells(classifier: str = "svm", shift: float = 0.0) -> pd.DataFrame:
    rows = [
        ("within", name, source, source, SI, uar + shift)
        for name, by_corpus in WITHIN.items()
        for source, uar in by_corpus.items()
    ] + [
        ("transfer", name, source, target, "train-all-source", uar + shift)
        for name, by_pair in TRANSFER.items()
        for (source, target), uar in by_pair.items()
    ]
    frame = pd.DataFrame(
        rows, columns=["kind", "feature_set", "source", "target", "protocol", "uar"]
    )
    frame.insert(0, "classifier", classifier)
    frame["ci_low"], frame["ci_high"] = frame.uar - 0.1, frame.uar + 0.1
    return frame


def _replicates(cells: pd.DataFrame, offsets=OFFSETS) -> dict[tuple, np.ndarray]:
    return {tuple(row[KEYS]): row.uar + offsets for _, row in cells.iterrows()}


def test_feature_dimensions_come_from_provenance_then_the_known_sets():
    config = {
        "feature_sets": {
            "egemaps": {"n_features": 90},
            "custom": {"dimensions": 12},
            "other": {"dim": "7"},
            "empty": {"n_features": 0},
        }
    }
    dims = feature_dimensions(config, ["egemaps", "custom", "other", "is10", "mystery", "empty"])
    assert dims == {
        "egemaps": 90, "custom": 12, "other": 7, "is10": 1582, "mystery": None, "empty": None,
    }  # fmt: skip
    assert feature_dimensions(None, ["compare", "prosody"]) == {"compare": 6373, "prosody": 212}
    assert KNOWN_DIMENSIONS["is09"] == 384 and KNOWN_DIMENSIONS["egemaps"] == 88


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (10, "10th"), (11, "11th"), (12, "12th"),
     (13, "13th"), (20, "20th"), (21, "21st"), (22, "22nd"), (23, "23rd"), (101, "101st"),
     (111, "111th")],
)  # fmt: skip
def test_ordinals(n, text):
    assert _ordinal(n) == text


def test_rankings_per_unit_with_ties_at_the_lowest_rank_and_a_pooled_scope():
    cells = pd.DataFrame(
        {
            "classifier": ["svm", "svm", "svm", "svm", "rf", "rf"],
            "kind": ["within", "within", "transfer", "transfer", "within", "within"],
            "source": ["a", "a", "a", "a", "a", "a"],
            "target": ["a", "a", "b", "b", "a", "a"],
            "feature_set": ["x", "y", "x", "y", "x", "y"],
            "uar": [0.5, 0.7, 0.4, 0.4, 0.9, 0.3],
            "ci_low": [0.4, 0.6, 0.3, 0.3, 0.8, 0.2],
            "ci_high": [0.6, 0.8, 0.5, 0.5, 1.0, 0.4],
        }
    )
    table = rankings(cells, {"x": 10, "y": None})
    got = {
        (r.classifier, r.kind, r.unit, r.feature_set): (r.uar, r.rank) for r in table.itertuples()
    }
    assert got == {
        ("svm", "within", "a", "x"): (0.5, 2),
        ("svm", "within", "a", "y"): (0.7, 1),
        ("svm", "transfer", "a->b", "x"): (0.4, 1),  # a tie: both first
        ("svm", "transfer", "a->b", "y"): (0.4, 1),
        ("rf", "within", "a", "x"): (0.9, 1),
        ("rf", "within", "a", "y"): (0.3, 2),
        (ALL, "within", "a", "x"): (pytest.approx(0.7), 1),  # (0.5 + 0.9) / 2
        (ALL, "within", "a", "y"): (pytest.approx(0.5), 2),  # (0.7 + 0.3) / 2
        (ALL, "transfer", "a->b", "x"): (pytest.approx(0.4), 1),
        (ALL, "transfer", "a->b", "y"): (pytest.approx(0.4), 1),
    }
    assert table["rank"].dtype.kind == "i"
    assert (table[table.feature_set == "x"]["dimensions"] == 10).all()
    assert table[table.feature_set == "y"]["dimensions"].isna().all()
    pooled = table[table.classifier == ALL]
    assert pooled[["ci_low", "ci_high"]].isna().all().all()  # a pooled mean has no cell CI
    svm = table[(table.classifier == "svm") & (table.unit == "a")]
    assert list(svm.feature_set) == ["y", "x"]  # sorted by rank within a unit
    assert list(table.columns) == [
        "classifier", "kind", "unit", "feature_set", "uar", "ci_low", "ci_high", "rank",
        "dimensions",
    ]  # fmt: skip


def test_summary_means_ranks_drop_tau_and_replicate_cis_by_hand():
    cells = _cells()
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS).set_index("feature_set")
    assert list(summary.scope.unique()) == ["svm"]  # one classifier: no pooled scope
    assert list(summary.index) == ["compare", "egemaps", "is10"]
    expected = {  # within mean, transfer mean, within rank, transfer rank
        "compare": (0.70, 0.30, 1, 3),
        "egemaps": (0.50, 0.40, 3, 1),
        "is10": (0.60, 0.35, 2, 2),
    }
    for name, (within, transfer, within_rank, transfer_rank) in expected.items():
        row = summary.loc[name]
        assert row.within_uar == pytest.approx(within)
        assert row.transfer_uar == pytest.approx(transfer)
        assert row["drop"] == pytest.approx(within - transfer)  # every target is compared
        assert (row.within_rank, row.transfer_rank) == (within_rank, transfer_rank)
        assert row.dimensions == DIMS[name]
        # Replicates are the mean plus OFFSETS: the 2.5/97.5 % quantiles (linear) lie
        # 0.075 of a step inside the extremes: mean -/+ 0.01925.
        assert (row.within_ci_low, row.within_ci_high) == pytest.approx(
            (within - 0.01925, within + 0.01925)
        )
        assert (row.transfer_ci_low, row.transfer_ci_high) == pytest.approx(
            (transfer - 0.01925, transfer + 0.01925)
        )
        assert (row.drop_ci_low, row.drop_ci_high) == pytest.approx(
            (within - transfer, within - transfer)
        )
    assert (summary.kendall_tau == -1.0).all()
    assert (summary.tau_ci_low == -1.0).all() and (summary.tau_ci_high == -1.0).all()
    assert set(summary.within_protocol) == {"speaker-independent"}
    assert set(summary.within_corpora) == {"a,b,c"} and set(summary.left_out_optimistic) == {""}

    narrow = inversion_summary(cells, _replicates(cells), KEYS, DIMS, level=0.5)
    row = narrow.set_index("feature_set").loc["compare"]
    # 25/75 % quantiles of m + [-0.02, -0.01, 0.01, 0.02]: m -/+ 0.0125.
    assert (row.within_ci_low, row.within_ci_high) == pytest.approx((0.6875, 0.7125))


def test_tau_ci_comes_from_the_rankings_of_each_replicate():
    cells = _cells()
    replicates = {}
    # Replicate 0: the cells' own values (inverted, tau -1). Replicate 1: transfer follows
    # the within ranking (compare 0.50 > is10 0.45 > egemaps 0.40: tau +1).
    agreeing = {"compare": 0.50, "is10": 0.45, "egemaps": 0.40}
    for _, row in cells.iterrows():
        second = row.uar if row.kind == "within" else agreeing[row.feature_set]
        replicates[tuple(row[KEYS])] = np.array([row.uar, second])
    summary = inversion_summary(cells, replicates, KEYS, DIMS)
    assert (summary.kendall_tau == -1.0).all()
    # Quantiles of [-1, +1] at 2.5 % and 97.5 %: -0.95 and 0.95.
    assert summary.tau_ci_low.iloc[0] == pytest.approx(-0.95)
    assert summary.tau_ci_high.iloc[0] == pytest.approx(0.95)


def test_missing_replicates_leave_cis_empty_but_keep_the_means():
    cells = _cells()
    replicates = _replicates(cells)
    replicates.pop(("egemaps", "svm", "a", "b"))
    summary = inversion_summary(cells, replicates, KEYS, DIMS).set_index("feature_set")
    assert np.isnan(summary.loc["egemaps", "transfer_ci_low"])
    assert np.isnan(summary.loc["egemaps", "drop_ci_low"])
    assert summary.loc["egemaps", "transfer_uar"] == pytest.approx(0.40)
    assert summary.loc["compare", "transfer_ci_low"] == pytest.approx(0.30 - 0.01925)
    assert summary.tau_ci_low.isna().all()  # tau needs every replicate
    assert (summary.kendall_tau == -1.0).all()


def test_an_optimistic_corpus_is_left_out_of_the_within_means_and_the_drop():
    cells = _cells()
    cells.loc[(cells.kind == "within") & (cells.source == "c"), "protocol"] = FALLBACK
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS).set_index("feature_set")
    assert set(summary.within_corpora) == {"a,b"} and set(summary.left_out_optimistic) == {"c"}
    row = summary.loc["compare"]
    assert row.within_uar == pytest.approx(0.75)  # (0.80 + 0.70) / 2, without c
    assert row.transfer_uar == pytest.approx(0.30)  # every transfer cell
    # Into a and b only: b->a 0.28, c->a 0.26, a->b 0.30, c->b 0.34 -> 0.295.
    assert row["drop"] == pytest.approx(0.75 - 0.295)
    assert (row.drop_ci_low, row.drop_ci_high) == pytest.approx((0.455, 0.455))
    everything_optimistic = _cells()
    everything_optimistic.loc[everything_optimistic.kind == "within", "protocol"] = FALLBACK
    summary = inversion_summary(everything_optimistic, {}, KEYS, DIMS)
    assert set(summary.within_protocol) == {"speakers shared (optimistic)"}
    assert set(summary.within_corpora) == {"a,b,c"}


def test_two_classifiers_add_a_pooled_scope_over_both():
    cells = pd.concat([_cells("svm"), _cells("rf", shift=0.1)], ignore_index=True)
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    assert list(summary.scope.unique()) == ["rf", "svm", ALL]
    pooled = summary[summary.scope == ALL].set_index("feature_set")
    assert pooled.loc["compare", "within_uar"] == pytest.approx(0.75)  # 0.70 and 0.80
    assert pooled.loc["egemaps", "transfer_uar"] == pytest.approx(0.45)


def test_tau_is_undefined_for_tied_or_single_rankings():
    cells = _cells()
    cells.loc[cells.kind == "transfer", "uar"] = 0.3
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    assert summary.kendall_tau.isna().all() and summary.tau_ci_low.isna().all()
    assert set(summary.transfer_rank) == {1}
    one = _cells()
    one = one[one.feature_set == "egemaps"]
    assert inversion_summary(one, _replicates(one), KEYS, DIMS).kendall_tau.isna().all()


def test_sentence_names_the_inversion_with_its_numbers():
    cells = _cells()
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    assert inversion_sentences(summary) == {
        "svm": "svm: within corpus, compare ranks first (mean UAR 0.70 [0.68, 0.72]); under "
        "transfer, egemaps ranks first (0.40 [0.38, 0.42]) and compare drops to 3rd (0.30); "
        "Kendall's tau = -1.00 [-1.00, -1.00]. On a, b, c (speaker-independent within), "
        "transfer into the same corpora costs 25.0 UAR points on average over feature sets."
    }


def test_sentence_without_inversion_with_a_left_out_corpus_and_without_cis():
    cells = _cells()
    cells.loc[(cells.feature_set == "compare") & (cells.kind == "transfer"), "uar"] += 0.2
    cells.loc[(cells.kind == "within") & (cells.source == "c"), "protocol"] = FALLBACK
    summary = inversion_summary(cells, {}, KEYS, DIMS)
    sentence = inversion_sentences(summary)["svm"]
    assert sentence.startswith(
        "svm: within corpus, compare ranks first (mean UAR 0.75 [no CI]); under transfer it "
        "stays first (0.50 [no CI]): no inversion at the top; Kendall's tau = "
    )
    assert "On a, b (speaker-independent within)" in sentence
    assert sentence.endswith(
        "Left out of the within means and the drop: c (within result from folds that share "
        "speakers, ‡: optimistic)."
    )


def test_sentences_for_missing_sides_and_undefined_tau():
    cells = _cells()
    within_only = inversion_summary(cells[cells.kind == "within"], {}, KEYS, DIMS)
    assert inversion_sentences(within_only) == {
        "svm": "svm: no transfer results, so no ranking can be compared."
    }
    transfer_only = inversion_summary(cells[cells.kind == "transfer"], {}, KEYS, DIMS)
    assert inversion_sentences(transfer_only)["svm"].startswith("svm: no within-corpus results")
    tied = _cells()
    tied.loc[tied.kind == "transfer", "uar"] = 0.3
    text = inversion_sentences(inversion_summary(tied, {}, KEYS, DIMS))["svm"]
    assert "Kendall's tau undefined (tied UARs)" in text


def _verdict(**changes) -> str:
    cells = _cells()
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    for column, value in changes.items():
        summary[column] = value
    return published_inversion_holds(summary)


def test_the_published_inversion_holds_only_with_all_three_conditions():
    assert _verdict() == (
        "The published inversion holds here (svm): a high-dimensional set wins within corpus: "
        "yes (compare); eGeMAPS wins under transfer: yes (egemaps); rankings anti-correlated: "
        "tau = -1.00 [-1.00, -1.00] (CI excludes 0)."
    )
    assert _verdict(tau_ci_high=0.2).startswith("The published inversion is not shown here")
    assert "(no CI excluding 0, so not shown)" in _verdict(tau_ci_high=0.2)
    assert _verdict(tau_ci_high=0.0).startswith("The published inversion is not shown")
    agreeing = _verdict(kendall_tau=0.8, tau_ci_low=0.1, tau_ci_high=1.0)
    assert agreeing.startswith("The published inversion does not hold here (svm)")
    assert "(CI above 0: the rankings agree)" in agreeing
    assert _verdict(tau_ci_low=0.0, tau_ci_high=1.0).startswith("The published inversion is not")
    assert "tau undefined" in _verdict(kendall_tau=np.nan, tau_ci_low=np.nan, tau_ci_high=np.nan)


def test_the_verdict_needs_a_high_dimensional_winner_and_egemaps_under_transfer():
    # compare (6373) wins within; with 999 dimensions it is no longer high-dimensional.
    assert "high-dimensional set wins within corpus: no" in _verdict(dimensions=[999, 88, 1582])
    assert "high-dimensional set wins within corpus: yes" in _verdict(dimensions=[1000, 88, 1582])
    assert "is not shown" in _verdict(dimensions=[999, 88, 1582])
    cells = _cells()
    cells.loc[(cells.feature_set == "is10") & (cells.kind == "transfer"), "uar"] += 0.2
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    text = published_inversion_holds(summary)
    assert "eGeMAPS wins under transfer: no (is10)" in text and "holds" not in text


def test_no_verdict_without_three_ranked_sets_or_a_missing_side():
    cells = _cells()
    two = cells[cells.feature_set != "is10"]
    text = published_inversion_holds(inversion_summary(two, _replicates(two), KEYS, DIMS))
    assert text == (
        "The published inversion cannot be assessed here (svm): ranking feature sets needs at "
        "least 3, this run has 2 with both within and transfer results (compare, egemaps)."
    )
    within_only = inversion_summary(cells[cells.kind == "within"], {}, KEYS, DIMS)
    assert published_inversion_holds(within_only) == (
        "svm: cannot be tested (within-corpus or transfer results missing)."
    )


def test_the_verdict_reads_the_pooled_scope_and_falls_back_to_the_first():
    cells = pd.concat([_cells("svm"), _cells("rf")], ignore_index=True)
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    assert f"({ALL})" in published_inversion_holds(summary)
    assert "(svm)" in published_inversion_holds(summary, scope="svm")
    assert "(rf)" in published_inversion_holds(summary, scope="nothing")


# --- the cases mutation testing showed untested (MUTATION.md) -------------------------------


def test_more_ordinals_where_the_hundreds_matter():
    assert [_ordinal(n) for n in (121, 211, 1012)] == ["121st", "211th", "1012th"]


def test_two_feature_sets_have_a_tau_and_a_range_of_one_is_not_a_tie():
    cells = _cells()
    two = cells[cells.feature_set != "is10"]
    assert (inversion_summary(two, _replicates(two), KEYS, DIMS).kendall_tau == -1.0).all()
    extreme = _cells()
    within = extreme.kind == "within"
    # Within means exactly 1.0, 0.5 and 0.0 (a range of 1): still a ranking.
    for name, value in {"compare": 1.0, "is10": 0.5, "egemaps": 0.0}.items():
        extreme.loc[within & (extreme.feature_set == name), "uar"] = value
    assert (inversion_summary(extreme, {}, KEYS, DIMS).kendall_tau == -1.0).all()
    flipped = _cells()
    transfer = flipped.kind == "transfer"
    for name, value in {"compare": 0.0, "is10": 0.5, "egemaps": 1.0}.items():
        flipped.loc[transfer & (flipped.feature_set == name), "uar"] = value
    assert (inversion_summary(flipped, {}, KEYS, DIMS).kendall_tau == -1.0).all()


def test_three_tied_sets_all_rank_first():
    cells = _cells()
    cells.loc[cells.kind == "within", "uar"] = 0.5
    summary = inversion_summary(cells, {}, KEYS, DIMS)
    assert set(summary.within_rank) == {1}
    table = rankings(cells, DIMS)
    assert set(table[table.kind == "within"]["rank"]) == {1}


def test_two_optimistic_corpora_are_listed_with_commas():
    cells = _cells()
    cells.loc[(cells.kind == "within") & cells.source.isin(["b", "c"]), "protocol"] = FALLBACK
    summary = inversion_summary(cells, {}, KEYS, DIMS)
    assert set(summary.left_out_optimistic) == {"b,c"}
    assert (
        "Left out of the within means and the drop: b, c (within"
        in (inversion_sentences(summary)["svm"])
    )


def test_a_single_optimistic_within_cell_is_its_own_family():
    cells = _cells()
    cells = cells[(cells.kind == "transfer") | (cells.source == "a")].copy()
    cells = cells[cells.feature_set == "egemaps"]
    cells.loc[cells.kind == "within", "protocol"] = FALLBACK
    summary = inversion_summary(cells, {}, KEYS, DIMS)
    assert list(summary.within_protocol) == ["speakers shared (optimistic)"]
    assert list(summary.within_corpora) == ["a"]
    sentence = inversion_sentences(summary)["svm"]
    assert "On a (speakers shared (optimistic) within)" in sentence
    assert "Kendall's tau undefined (tied UARs). On a" in sentence


def test_ci_text_needs_both_ends():
    from paraser.reports.inversion import _ci

    assert _ci(0.1, np.nan) == "[no CI]" and _ci(np.nan, 0.2) == "[no CI]"
    assert _ci(0.111, 0.229) == "[0.11, 0.23]"


def test_sentences_keep_the_scope_order_of_the_summary():
    cells = pd.concat([_cells("svm"), _cells("rf")], ignore_index=True)
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    assert list(inversion_sentences(summary)) == ["rf", "svm", ALL]


def test_a_scope_without_results_does_not_stop_the_others():
    cells = pd.concat([_cells("svm"), _cells("rf")], ignore_index=True)
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    summary.loc[summary.scope == "rf", "within_uar"] = np.nan
    sentences = inversion_sentences(summary)
    assert sentences["rf"] == "rf: no within-corpus results, so no ranking can be compared."
    assert sentences["svm"].startswith("svm: within corpus, compare ranks first")
    assert published_inversion_holds(summary, scope="nothing") == (
        "rf: cannot be tested (within-corpus or transfer results missing)."
    )


def test_one_feature_set_still_gets_a_sentence():
    cells = _cells()
    one = cells[cells.feature_set == "is10"]
    sentence = inversion_sentences(inversion_summary(one, _replicates(one), KEYS, DIMS))["svm"]
    assert sentence.startswith(
        "svm: within corpus, is10 ranks first (mean UAR 0.60 [0.58, 0.62]); under transfer it "
        "stays first (0.35 [0.33, 0.37]): no inversion at the top; Kendall's tau undefined "
        "(tied UARs). On a, b, c"
    )


def test_a_top_set_without_transfer_results_is_said_so():
    cells = _cells()
    cells = cells[~((cells.feature_set == "compare") & (cells.kind == "transfer"))]
    sentence = inversion_sentences(inversion_summary(cells, {}, KEYS, DIMS))["svm"]
    assert "under transfer, egemaps ranks first (0.40 [no CI]) and compare has no transfer " in (
        sentence
    )


def test_a_summary_without_the_protocol_columns_reads_as_speaker_independent():
    cells = _cells()
    summary = inversion_summary(cells, {}, KEYS, DIMS).drop(
        columns=["within_corpora", "within_protocol", "left_out_optimistic"]
    )
    sentence = inversion_sentences(summary)["svm"]
    assert sentence.endswith(
        "On  (speaker-independent within), transfer into the same corpora costs 25.0 UAR points "
        "on average over feature sets."
    )


def test_the_verdict_counts_only_sets_with_both_sides():
    cells = _cells()
    cells = cells[~((cells.feature_set == "is10") & (cells.kind == "transfer"))]
    text = published_inversion_holds(inversion_summary(cells, {}, KEYS, DIMS))
    assert text.startswith("The published inversion cannot be assessed here (svm)")
    assert "this run has 2 with both within and transfer results (compare, egemaps)" in text


def test_verdict_wording_ends_each_case_exactly():
    assert _verdict(tau_ci_high=0.2).endswith(
        "rankings anti-correlated: tau = -1.00 [-1.00, 0.20] (no CI excluding 0, so not shown)."
    )
    assert _verdict(kendall_tau=0.8, tau_ci_low=0.1, tau_ci_high=1.0).endswith(
        "rankings anti-correlated: tau = 0.80 [0.10, 1.00] (CI above 0: the rankings agree)."
    )
    assert _verdict(kendall_tau=np.nan, tau_ci_low=np.nan, tau_ci_high=np.nan).endswith(
        "rankings anti-correlated: tau undefined (no CI excluding 0, so not shown)."
    )


def test_an_unknown_scope_falls_back_to_the_whole_first_scope():
    cells = pd.concat([_cells("svm"), _cells("rf")], ignore_index=True)
    cells = cells[cells.feature_set == "egemaps"]  # one row per scope
    summary = inversion_summary(cells, _replicates(cells), KEYS, DIMS)
    summary.loc[summary.scope == "rf", "within_uar"] = np.nan
    assert list(summary.scope) == ["rf", "svm", ALL]
    assert published_inversion_holds(summary, scope="nothing") == (
        "rf: cannot be tested (within-corpus or transfer results missing)."
    )
