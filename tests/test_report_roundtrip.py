"""Every number a report renders equals its source row, in every format.

A fabricated run whose directions all differ (a -> b is not b -> a) is reported through the
CLI; the rendered Markdown, LaTeX, HTML and matrix files are parsed back and each number is
compared with its row of ``results.csv``, ``inversion.csv``, ``cell_stats.csv`` or
``comparisons.csv``, matched by direction and by row and column. A shifted column or a
transposed matrix fails here (issue 22, bugs 7 and 8).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rendered_tables import html_tables, latex_tables, markdown_tables, numbers
from test_reports import INVERTED, reported_run

ROUNDED = 5e-4 + 1e-9  # three decimals


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return reported_run(tmp_path_factory.mktemp("roundtrip"), 100)


def _read(run: Path, name: str) -> str:
    return (run / name).read_text()


def rendered(run: Path) -> dict[str, list[tuple[str, pd.DataFrame]]]:
    return {
        "report.md": markdown_tables(_read(run, "report.md")),
        "tables.tex": latex_tables(_read(run, "tables.tex")),
        "report.html": html_tables(_read(run, "report.html")),
    }


def _one(frame: pd.DataFrame, **keys) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in keys.items():
        mask &= frame[column].astype(str) == str(value)
    chosen = frame[mask]
    assert len(chosen) == 1, keys
    return chosen.iloc[0]


def _close(text: str, *expected: float, tolerance: float = ROUNDED) -> None:
    assert numbers(text) == pytest.approx(list(expected), abs=tolerance), text


def test_the_fabricated_run_has_different_uars_in_opposite_directions(run):
    results = pd.read_csv(run / "results.csv")
    transfer = results[results.kind == "transfer"].set_index(["feature_set", "source", "target"])
    for (feature_set, source, target), row in transfer.iterrows():
        back = transfer.loc[(feature_set, target, source), "uar"]
        assert abs(row.uar - back) > 1e-3, (feature_set, source, target)


def _inversion_table(tables) -> pd.DataFrame:
    (table,) = [t for _, t in tables if "rank within" in t.columns]
    return table


@pytest.mark.parametrize("output", ["report.md", "tables.tex", "report.html"])
def test_inversion_tables_equal_inversion_csv(run, output):
    summary = pd.read_csv(run / "inversion.csv")
    table = _inversion_table(rendered(run)[output])
    assert len(table) == len(summary)
    for _, shown in table.iterrows():
        row = _one(summary, scope=shown["scope"], feature_set=shown["features"])
        assert int(shown["dim"]) == row.dimensions
        _close(shown["within UAR [CI]"], row.within_uar, row.within_ci_low, row.within_ci_high)
        assert int(shown["rank within"]) == row.within_rank
        _close(
            shown["transfer UAR [CI]"], row.transfer_uar, row.transfer_ci_low, row.transfer_ci_high
        )
        assert int(shown["rank transfer"]) == row.transfer_rank
        _close(shown["drop [CI]"], row["drop"], row.drop_ci_low, row.drop_ci_high)
        _close(shown["Kendall tau [CI]"], row.kendall_tau, row.tau_ci_low, row.tau_ci_high)


def _check_matrix(table: pd.DataFrame, cells: pd.DataFrame, feature_set: str, classifier: str):
    """Rows are sources, columns targets; each shown UAR (and CI) is that direction's cell."""
    row_header = table.columns[0]
    assert row_header in ("source", "source / target")
    checked = 0
    for _, shown in table.iterrows():
        source = shown[row_header]
        for target in table.columns[1:]:
            values = numbers(shown[target])
            cell = _one(
                cells, feature_set=feature_set, classifier=classifier, source=source, target=target
            )
            expected = [cell.uar, cell.ci_low, cell.ci_high][: len(values)]
            assert len(values) in (1, 3), shown[target]
            assert values == pytest.approx(expected, abs=ROUNDED), (source, target)
            checked += 1
    assert checked == 9


def _matrix_key(heading: str) -> tuple[str, str] | None:
    """('compare', 'svm') from '## compare + svm' or from a LaTeX matrix caption."""
    text = heading.split(", ", 1)[1].split(";")[0] if heading.startswith("UAR [95") else heading
    parts = text.split(" + ")
    return (parts[0], parts[1]) if len(parts) == 2 and " " not in parts[0] else None


@pytest.mark.parametrize("output", ["report.md", "tables.tex", "summary.md", "matrix_*.md"])
def test_rendered_matrices_are_source_by_target_and_equal_cell_stats(run, output):
    cells = pd.read_csv(run / "cell_stats.csv")
    if output == "matrix_*.md":
        tables = []
        for path in sorted(run.glob("matrix_*.md")):
            feature_set, classifier = path.stem.removeprefix("matrix_").rsplit("_", 1)
            ((_, table),) = markdown_tables(path.read_text())
            tables.append((f"{feature_set} + {classifier}", table))
    elif output == "summary.md":
        tables = markdown_tables(_read(run, output))
    else:
        tables = rendered(run)[output]
    matrices = [(key, t) for heading, t in tables if (key := _matrix_key(heading))]
    assert {key for key, _ in matrices} == {(f, "svm") for f in INVERTED}
    for (feature_set, classifier), table in matrices:
        _check_matrix(table, cells, feature_set, classifier)


def test_matrix_csvs_are_source_by_target_and_equal_results(run):
    cells = pd.read_csv(run / "cell_stats.csv")
    results = pd.read_csv(run / "results.csv")
    for feature_set in INVERTED:
        matrix = pd.read_csv(run / f"matrix_{feature_set}_svm.csv", index_col="source")
        assert list(matrix.index) == list(matrix.columns) == ["a", "b", "c"]
        for source in matrix.index:
            for target in matrix.columns:
                value = matrix.loc[source, target]
                cell = _one(cells, feature_set=feature_set, source=source, target=target)
                assert value == pytest.approx(cell.uar, abs=5e-5), (source, target)
                if source != target:  # a transfer direction is one row of results.csv
                    row = _one(results, feature_set=feature_set, source=source, target=target)
                    assert value == pytest.approx(row.uar, abs=5e-5), (source, target)


@pytest.mark.parametrize("output", ["report.md", "report.html"])
def test_all_cells_tables_equal_cell_stats(run, output):
    cells = pd.read_csv(run / "cell_stats.csv")
    (table,) = [t for heading, t in rendered(run)[output] if heading == "All cells"]
    assert len(table) == len(cells)
    for _, shown in table.iterrows():
        cell = _one(
            cells, feature_set=shown["features"], classifier=shown["classifier"],
            normalisation=shown["norm."], adaptation=shown["adapt."],
            augmentation=shown["augment."], source=shown["source"], target=shown["target"],
        )  # fmt: skip
        _close(shown["UAR [95% CI]"], cell.uar, cell.ci_low, cell.ci_high)
        _close(shown["chance"], cell.chance)
        assert shown["CI unit"] == f"{cell.ci_unit} ({cell.n_units})"


@pytest.mark.parametrize("output", ["report.md", "tables.tex", "report.html"])
def test_comparison_tables_equal_comparisons_csv(run, output):
    comparisons = pd.read_csv(run / "comparisons.csv")
    (table,) = [t for _, t in rendered(run)[output] if "UAR best" in t.columns]
    assert len(table) == len(comparisons)
    pair_column = "best -- other" if output == "tables.tex" else "best − other"
    for _, shown in table.iterrows():
        best, other = (part.strip() for part in shown[pair_column].replace("--", "−").split("−"))
        row = _one(comparisons, classifier=shown["classifier"], kind=shown["kind"], best=best,
                   other=other)  # fmt: skip
        assert shown["protocol"] == row.protocol
        _close(shown["UAR best"], row.uar_best)
        _close(shown["UAR other"], row.uar_other)
        _close(shown["difference [CI]"], row.difference, row.ci_low, row.ci_high)


@pytest.mark.parametrize("output", ["report.md", "tables.tex", "report.html"])
def test_protocol_summary_tables_equal_summary_by_protocol_csv(run, output):
    summary = pd.read_csv(run / "summary_by_protocol.csv")
    (table,) = [t for _, t in rendered(run)[output] if "mean UAR" in t.columns]
    assert len(table) == len(summary)
    for _, shown in table.iterrows():
        feature_set, classifier = shown["configuration"].split(" + ")
        row = _one(summary, feature_set=feature_set, classifier=classifier, kind=shown["kind"],
                   protocol=shown["protocol"])  # fmt: skip
        assert int(shown["cells"]) == row.cells
        _close(shown["mean UAR"], row.mean_uar)
        assert int(shown["collapsed"]) == row.collapsed
