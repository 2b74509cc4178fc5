"""UAR matrices, orders, marks and summaries on hand-worked tables (reports/tables.py).

Tiny results tables whose means, orders and rendered cells are worked out by hand, so a
changed key, sign, mark or order fails here (and mutation testing of the module runs in a
couple of minutes, see MUTATION.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paraser.reports.tables import (
    COLLAPSE_MARK,
    OPTIMISTIC_MARK,
    SPEAKER_INDEPENDENT,
    SPEAKERS_SHARED,
    TRANSFER,
    Condition,
    baseline,
    cell_summary,
    column_alignment,
    conditions,
    corpus_order,
    is_numeric_column,
    is_optimistic,
    markdown_table,
    marks,
    matrix_order,
    normalisation_gains,
    protocol_families,
    protocol_family,
    protocol_statement,
    reference_comparison,
    reference_markdown,
    uar_matrix,
    write_matrices,
)

SI = "speaker-5fold"
SHARED = "stratified-5fold (fallback from speaker-5fold)"


def _row(source: str, target: str, uar: float, **changes) -> dict:
    row = {
        "feature_set": "egemaps", "classifier": "svm", "normalisation": "train",
        "adaptation": "none", "augmentation": "none", "source": source, "target": target,
        "kind": "within" if source == target else "transfer",
        "protocol": SI if source == target else "train-all-source", "fold": -1, "seed": 0,
        "uar": uar, "accuracy": uar, "macro_f1": uar, "chance": 0.25, "n_train": 40,
        "n_test": 10, "classes": "anger|happiness|neutral|sadness", "n_predicted_classes": 4,
        "dominant_share": 0.4, "collapsed": False, "params": "", "transductive": False,
    }  # fmt: skip
    row.update(changes)
    return row


def _results(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _two_by_two(**changes) -> list[dict]:
    """b before a on purpose; every direction a different UAR (a transposed matrix shows)."""
    return [
        _row("b", "b", 0.8, **changes),
        _row("a", "a", 0.7, **changes),
        _row("a", "b", 0.3, **changes),
        _row("b", "a", 0.4, **changes),
    ]


def test_protocol_families_and_marks():
    assert protocol_family("within", SI) == SPEAKER_INDEPENDENT
    assert protocol_family("within", "loso") == SPEAKER_INDEPENDENT
    assert protocol_family("within", "stratified-5fold") == SPEAKERS_SHARED
    assert protocol_family("within", SHARED) == SPEAKERS_SHARED
    assert protocol_family("transfer", "stratified-5fold") == TRANSFER
    assert (SPEAKER_INDEPENDENT, SPEAKERS_SHARED, TRANSFER) == (
        "speaker-independent", "speakers shared (optimistic)", "transfer",
    )  # fmt: skip
    cells = pd.DataFrame(
        {"kind": ["within", "within", "transfer"], "protocol": [SI, SHARED, SI]}, index=[5, 7, 9]
    )
    families = protocol_families(cells)
    assert families.to_dict() == {5: SPEAKER_INDEPENDENT, 7: SPEAKERS_SHARED, 9: TRANSFER}
    assert families.dtype == object
    assert is_optimistic("within", SHARED) and not is_optimistic("within", SI)
    assert not is_optimistic("transfer", "stratified")
    assert (COLLAPSE_MARK, OPTIMISTIC_MARK) == ("†", "‡")
    assert marks(True, True) == "†‡" and marks(True, False) == "†"
    assert marks(False, True) == "‡" and marks(False, False) == ""


def test_a_condition_names_only_the_factors_off_their_defaults():
    plain = Condition("egemaps", "svm")
    assert (plain.normalisation, plain.adaptation, plain.augmentation) == ("train", "none", "none")
    assert plain.stem == "matrix_egemaps_svm" and plain.title == "egemaps + svm"
    every = Condition("is10", "rf", "speaker", "coral", "noise:snr=5-20")
    assert every.stem == "matrix_is10_rf_speaker-norm_coral-adapt_noise-snr-5-20-aug"
    assert (
        every.title
        == "is10 + rf, speaker normalisation, coral adaptation, noise:snr=5-20 augmentation"
    )
    rows = _results(
        [_row("a", "a", 0.5), _row("a", "a", 0.6, adaptation="coral"),
         _row("a", "a", 0.7, classifier="rf")]
    )  # fmt: skip
    assert list(Condition("egemaps", "svm").select(rows).uar) == [0.5]
    assert list(Condition("egemaps", "svm", adaptation="coral").select(rows).uar) == [0.6]


def test_baseline_keeps_the_default_level_or_the_first_one():
    rows = _results(
        [_row("a", "a", 0.1, normalisation="corpus"), _row("a", "a", 0.2),
         _row("a", "a", 0.3, adaptation="coral")]
    )  # fmt: skip
    assert list(baseline(rows).uar) == [0.2]
    without_train = _results(
        [_row("a", "a", 0.1, normalisation="speaker"), _row("a", "a", 0.2, normalisation="corpus")]
    )
    assert list(baseline(without_train).uar) == [0.1]  # its first level
    assert baseline(_results([_row("a", "a", 0.1)]).iloc[:0]).empty


def test_conditions_put_baselines_first_then_run_order():
    rows = _results(
        [
            _row("a", "a", 0.1, feature_set="is10", adaptation="coral"),
            _row("a", "a", 0.1, feature_set="is10"),
            _row("a", "a", 0.1, feature_set="egemaps", normalisation="corpus"),
            _row("a", "a", 0.1, feature_set="egemaps"),
            _row("a", "a", 0.1, feature_set="is10", adaptation="coral"),  # a second seed
            _row("a", "a", 0.1, feature_set="is10", adaptation="importance"),
        ]
    )
    assert conditions(rows) == [
        Condition("is10", "svm"),
        Condition("is10", "svm", adaptation="coral"),
        Condition("is10", "svm", adaptation="importance"),
        Condition("egemaps", "svm"),
        Condition("egemaps", "svm", normalisation="corpus"),
    ]


def test_cell_summary_means_sds_counts_and_collapse():
    rows = _results(
        [
            _row("a", "b", 0.3, seed=0, n_test=10, dominant_share=0.5),
            _row("a", "b", 0.5, seed=1, n_test=12, dominant_share=0.95, collapsed=True),
            _row("a", "a", 0.7, seed=0, chance=0.5),
        ]
    )
    summary = cell_summary(rows).set_index(["source", "target"])
    transfer = summary.loc[("a", "b")]
    assert transfer.uar == pytest.approx(0.4)
    assert transfer.uar_sd == pytest.approx(np.std([0.3, 0.5], ddof=1))
    assert (transfer.n_evaluations, transfer.n_test) == (2, 22)
    assert bool(transfer.collapsed) and transfer.dominant_share == 0.95
    within = summary.loc[("a", "a")]
    assert within.chance == 0.5 and np.isnan(within.uar_sd) and not bool(within.collapsed)
    assert list(cell_summary(rows).columns) == [
        "feature_set", "classifier", "normalisation", "adaptation", "augmentation", "source",
        "target", "kind", "protocol", "uar", "uar_sd", "n_evaluations", "chance", "n_test",
        "collapsed", "dominant_share",
    ]  # fmt: skip


def test_matrix_order_follows_the_run_then_sorts_and_puts_pools_last():
    rows, columns = matrix_order(["c", "a", "a+b", "b"], ["a", "b", "c"], order=["c", "a"])
    assert rows == ["c", "a", "b", "a+b"] and columns == ["c", "a", "b"]
    rows, columns = matrix_order(["z", "y", "y+z"], ["y", "z"])
    assert rows == ["y", "z", "y+z"] and columns == ["y", "z"]
    assert corpus_order({"corpora": {"urdu": {}, "emodb": {}}}) == ["urdu", "emodb"]
    assert corpus_order({}) == []


def test_uar_matrix_rows_are_sources_and_columns_targets():
    rows = _results(_two_by_two() + [_row("a", "b", 0.5, seed=1)])
    matrix = uar_matrix(rows, Condition("egemaps", "svm"))
    assert list(matrix.index) == ["a", "b"] and list(matrix.columns) == ["a", "b"]
    assert matrix.loc["a", "b"] == pytest.approx(0.4)  # mean of seeds 0.3 and 0.5
    assert matrix.loc["b", "a"] == 0.4 and matrix.loc["a", "a"] == 0.7
    ordered = uar_matrix(rows, Condition("egemaps", "svm"), order=["b", "a"])
    assert list(ordered.index) == ["b", "a"] and ordered.loc["b", "b"] == 0.8


def test_numeric_columns_and_alignment():
    assert is_numeric_column(["0.860", "(0.750)", "+0.012", "−0.030", "-1", "–", "<0.001", None])
    assert is_numeric_column([0.5, np.nan, 3])
    assert not is_numeric_column(["emodb", "0.5"])
    assert not is_numeric_column([None, np.nan])  # nothing shown: not a number column
    assert not is_numeric_column(["–x"]) and not is_numeric_column(["<1"])
    frame = pd.DataFrame({"corpus": ["a"], "uar": [0.5], "note": ["x"], "p": ["<0.001"]})
    assert column_alignment(frame) == ["l", "r", "l", "r"]


def test_markdown_tables_print_three_decimals_dashes_and_alignment():
    frame = pd.DataFrame({"corpus": ["a", "b"], "uar": [0.86, np.nan], "n": [3, 12]})
    assert markdown_table(frame).splitlines() == [
        "| corpus   |   uar |   n |",
        "|:---------|------:|----:|",
        "| a        | 0.860 |   3 |",
        "| b        |     – |  12 |",
    ]
    indexed = markdown_table(frame.set_index("corpus"), index=True)
    assert indexed.splitlines()[0] == "| corpus   |   uar |   n |"


def test_protocol_statement_states_protocols_seeds_and_factors():
    rows = _results(
        [_row("b", "b", 0.8), _row("a", "a", 0.7, seed=2), _row("c", "c", 0.6, protocol=SHARED),
         _row("a", "b", 0.3)]
    )  # fmt: skip
    statement = protocol_statement(rows)
    assert statement.startswith(
        f"Diagonal: within-corpus UAR, protocol {SI} (a, b); {SHARED} (c) ‡, scored once per "
        "seed over the pooled out-of-fold predictions"
    )
    assert "(seeds [0, 2]). Off-diagonal: trained on all of the source (rows)" in statement
    assert "† marks a collapsed result (90% or more of predictions in one class)" in statement
    assert statement.endswith("results, and never averaged with them.")
    plain = protocol_statement(_results([_row("a", "a", 0.7), _row("a", "b", 0.3)]))
    assert plain.endswith("not a finding.") and "‡" not in plain
    adapted = protocol_statement(_results([_row("a", "b", 0.3, adaptation="coral")]))
    assert "protocol none," in adapted
    assert adapted.endswith("in brackets on the diagonal.")
    augmented = protocol_statement(_results([_row("a", "b", 0.3, augmentation="gain:-6..6")]))
    assert augmented.endswith("every test utterance is original.")


def test_reference_comparison_pairs_each_corpus_with_its_stratified_cell():
    results = _results(
        [_row("a", "a", 0.6), _row("a", "a", 0.7, seed=1), _row("b", "b", 0.5),
         _row("a", "b", 0.3)]
    )  # fmt: skip
    reference = _results(
        [_row("a", "a", 0.9, protocol="stratified-5fold"),
         _row("a", "a", 0.8, seed=1, protocol="stratified-5fold")]
    )  # fmt: skip
    table = reference_comparison(results, reference)
    assert len(table) == 1
    row = table.iloc[0]
    assert row.corpus == "a" and row.protocol == SI
    assert row.speaker_independent_uar == pytest.approx(0.65)
    assert row.stratified_uar == pytest.approx(0.85)
    assert row.difference == pytest.approx(0.20)  # stratified minus speaker-independent
    assert row.stratified_protocol == "stratified-5fold"
    assert reference_comparison(results, pd.DataFrame()).empty
    lines = reference_markdown(table)
    assert lines[0] == (
        "## Within-corpus: speaker-independent against stratified (speakers shared)"
    )
    assert "| a " in lines[-2] and lines[-1] == ""
    assert reference_markdown(pd.DataFrame()) == []


def test_normalisation_gains_are_paired_over_the_same_cells():
    rows = _results(
        [
            _row("a", "a", 0.6), _row("a", "a", 0.7, normalisation="corpus"),
            _row("a", "b", 0.3), _row("a", "b", 0.2, normalisation="corpus"),
            _row("b", "a", 0.4), _row("b", "a", 0.6, normalisation="corpus"),
            # not paired (no train cell) and not at the baseline of the other factors:
            _row("b", "b", 0.9, normalisation="corpus"),
            _row("a", "b", 0.9, normalisation="corpus", adaptation="coral"),
        ]
    )  # fmt: skip
    gains = normalisation_gains(rows).set_index(["normalisation", "kind"])
    transfer = gains.loc[("corpus", "transfer")]
    assert transfer.mean_uar == pytest.approx(0.4)  # (0.2 + 0.6) / 2
    assert transfer.gain_over_train == pytest.approx(0.05)  # (-0.1 + 0.2) / 2
    assert (transfer.cells_improved, transfer.cells) == (1, 2)
    assert transfer.protocol == TRANSFER
    within = gains.loc[("corpus", "within")]
    assert within.mean_uar == pytest.approx(0.7) and within.gain_over_train == pytest.approx(0.1)
    assert (within.cells_improved, within.cells, within.protocol) == (1, 1, SPEAKER_INDEPENDENT)
    train = gains.loc[("train", "transfer")]
    assert train.gain_over_train == 0 and train.cells_improved == 0
    assert normalisation_gains(_results(_two_by_two())).empty  # one strategy: nothing
    assert normalisation_gains(
        _results([_row("a", "a", 0.6, normalisation=n) for n in ("corpus", "speaker")])
    ).empty  # no train baseline


def _write_run(folder: Path, rows: list[dict], config: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _results(rows).to_csv(folder / "results.csv", index=False)
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_write_matrices_writes_the_numbers_of_each_direction(tmp_path):
    rows = _two_by_two() + [_row("a", "b", 0.25, adaptation="coral", collapsed=True,
                                 dominant_share=0.96)]  # fmt: skip
    config = {"corpora": {"b": {}, "a": {}}, "notes": ["a note"]}
    out = _write_run(tmp_path / "run", rows, config)
    written = {p.name for p in write_matrices(out)}
    assert written == {
        "matrix_egemaps_svm.csv", "matrix_egemaps_svm.md", "matrix_egemaps_svm_coral-adapt.csv",
        "matrix_egemaps_svm_coral-adapt.md", "summary.md",
    }  # fmt: skip
    numeric = pd.read_csv(out / "matrix_egemaps_svm.csv", index_col=0)
    assert list(numeric.index) == ["b", "a"] and list(numeric.columns) == ["b", "a"]
    assert numeric.loc["a", "b"] == 0.3 and numeric.loc["b", "a"] == 0.4
    markdown = (out / "matrix_egemaps_svm.md").read_text()
    assert "| b        | 0.800 | 0.400 |" in markdown
    assert "| a        | 0.300 | 0.700 |" in markdown
    adapted = (out / "matrix_egemaps_svm_coral-adapt.md").read_text()
    # The unadapted ceiling in brackets on the diagonal; the collapsed cell marked.
    assert "| b        | (0.800) |       – |" in adapted
    assert "| a        |  0.250† | (0.700) |" in adapted
    summary = (out / "summary.md").read_text()
    assert "## Notes\n\n- a note\n" in summary
    assert "## egemaps + svm, coral adaptation" in summary
    assert (
        "- egemaps + svm, coral adaptation, a -> b: 96% of predictions in one class (UAR 0.250)"
        in summary
    )


def test_write_matrices_marks_optimistic_cells_and_states_the_label_space(tmp_path):
    rows = [_row("a", "a", 0.9, protocol=SHARED), _row("b", "b", 0.5), _row("a", "b", 0.3),
            _row("b", "a", 0.4)]  # fmt: skip
    config = {"corpora": {}, "label_map": {"statement": "Task arousal (built-in mapping)."}}
    out = _write_run(tmp_path / "run", rows, config)
    write_matrices(out)
    markdown = (out / "matrix_egemaps_svm.md").read_text()
    assert "| a        | 0.900‡ | 0.300 |" in markdown
    assert "Task arousal (built-in mapping)." in markdown
    summary = (out / "summary.md").read_text()
    assert "## Notes" not in summary and "## Collapsed results" not in summary
    assert "## Normalisation strategies" not in summary


def test_write_matrices_adds_normalisation_gains(tmp_path):
    rows = _two_by_two() + _two_by_two(normalisation="corpus")
    out = _write_run(tmp_path / "run", rows)  # no config.json: no notes section
    written = {p.name for p in write_matrices(out)}
    assert "normalisation_gains.csv" in written
    summary = (out / "summary.md").read_text()
    assert "## Normalisation strategies: gain over training-set standardisation" in summary
    gains = pd.read_csv(out / "normalisation_gains.csv")
    assert set(gains.normalisation) == {"train", "corpus"}


# --- the cases mutation testing showed untested (MUTATION.md) -------------------------------

STATEMENT = (
    "Diagonal: within-corpus UAR, protocol speaker-5fold (a, b), scored once per seed over the "
    "pooled out-of-fold predictions (every utterance predicted once, by a model that never saw "
    "its speaker under a speaker-independent protocol; per-fold UARs in folds.csv are the "
    "spread only), mean over seeds (seeds [0]). Off-diagonal: trained on all of the source "
    "(rows), tested on all of the target (columns), on the classes both share. † marks a "
    "collapsed result (90% or more of predictions in one class): not a finding. Adapted "
    "matrices (transductive: the adapter saw the target's unlabelled features) show the "
    "unadapted within-corpus UAR, the ceiling, in brackets on the diagonal. Task arousal "
    "(built-in mapping)."
)
#: summary.md of the run below, worked out by hand (the statement is STATEMENT, verbatim).
SUMMARY = (Path(__file__).parent / "expected" / "tables_summary.md").read_text()


def test_summary_md_of_a_run_with_every_section_word_for_word(tmp_path):
    """Worked by hand: train within (0.70 + 0.80) / 2, transfer (0.30 + 0.40) / 2; corpus
    normalisation a->b 0.50 against 0.30 (+0.20) and a 0.60 against 0.70 (-0.10); the
    stratified cell of a 0.90 against 0.70 (+0.20); rows and columns in the run's order."""
    rows = _two_by_two() + [
        _row("a", "b", 0.5, normalisation="corpus"),
        _row("a", "a", 0.6, normalisation="corpus"),
        _row("a", "b", 0.123456, adaptation="coral", collapsed=True, dominant_share=0.96),
    ]
    config = {
        "corpora": {"b": {}, "a": {}},
        "notes": ["first note", "second note"],
        "label_map": {"statement": "Task arousal (built-in mapping)."},
    }
    out = _write_run(tmp_path / "run", rows, config)
    _results([_row("a", "a", 0.9, protocol="stratified-5fold")]).to_csv(
        out / "within_reference.csv", index=False
    )
    write_matrices(out)
    assert (out / "summary.md").read_text() == SUMMARY
    assert (out / "matrix_egemaps_svm_coral-adapt.csv").read_text() == "source,b\nb,\na,0.1235\n"
    assert (out / "matrix_egemaps_svm.md").read_text() == (
        "# UAR: egemaps + svm\n\n" + STATEMENT + "\n\n| source   |     b |     a |\n"
        "|:---------|------:|------:|\n| b        | 0.800 | 0.400 |\n"
        "| a        | 0.300 | 0.700 |\n"
    )


def test_sorted_cells_targets_that_are_never_sources_and_pooled_sources_in_run_order():
    assert list(cell_summary(_results(_two_by_two())).source) == ["a", "a", "b", "b"]
    rows, columns = matrix_order(["a"], ["a", "b"])
    assert rows == ["a", "b"] and columns == ["a", "b"]
    rows, _ = matrix_order(["a", "b+c", "a+b"], ["a", "b", "c"], order=["b+c", "a+b"])
    assert rows == ["a", "b", "c", "b+c", "a+b"]


def test_protocols_are_stated_in_sorted_order():
    rows = _results([_row("c", "c", 0.6, protocol=SHARED), _row("a", "a", 0.7)])
    assert protocol_statement(rows).startswith(
        f"Diagonal: within-corpus UAR, protocol {SI} (a); {SHARED} (c) ‡, scored"
    )


def test_augmentation_is_stated_after_everything_else():
    rows = _results([_row("a", "a", 0.7), _row("a", "b", 0.3, augmentation="gain:-6..6")])
    statement = protocol_statement(rows)
    assert statement.startswith("Diagonal: within-corpus UAR, protocol speaker-5fold (a), ")
    assert statement.endswith(
        "not a finding. Augmentation touches training rows only; every test utterance is original."
    )


def test_optimistic_statement_word_for_word():
    rows = _results([_row("a", "a", 0.7, protocol=SHARED)])
    assert protocol_statement(rows).endswith(
        "not a finding. ‡ marks a within-corpus result whose folds share speakers between "
        "training and test (stratified): optimistic, not comparable with speaker-independent "
        "results, and never averaged with them."
    )


def test_normalisation_gain_columns():
    rows = _results(_two_by_two() + _two_by_two(normalisation="corpus"))
    assert list(normalisation_gains(rows).columns) == [
        "feature_set", "classifier", "normalisation", "kind", "protocol", "mean_uar",
        "gain_over_train", "cells_improved", "cells",
    ]  # fmt: skip
    assert set(normalisation_gains(rows).feature_set) == {"egemaps"}
    assert set(normalisation_gains(rows).classifier) == {"svm"}
