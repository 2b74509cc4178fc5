"""The full report of a results folder: its tables computed and every output written.

:func:`build_report` computes the tables (a :class:`~paraser.reports.document.Report`);
:func:`write_report` writes them as CSV, the figures (:mod:`paraser.reports.figures`) and the
documents rendered by :mod:`paraser.reports.render` (Markdown, LaTeX, self-contained HTML)
with the sections of other analyses (:mod:`paraser.reports.document`).

:func:`write_report` reads only ``results.csv``, ``predictions.parquet`` and
``config.json``, so ``paraser report DIR`` regenerates every output from the folder.
Published numbers to compare with come from ``config.json`` (``reproduction.published``,
written by :mod:`paraser.runs.reproduce`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from paraser.reports.document import Report, Section, add_section, write_report_documents
from paraser.reports.fewshot import fewshot_section
from paraser.reports.figures import (
    figure_workers,
    start_figure_workers,
    start_report_figures,
)
from paraser.reports.gains import factor_gains
from paraser.reports.importance import importance_section
from paraser.reports.inversion import (
    ALL,
    feature_dimensions,
    inversion_sentences,
    inversion_summary,
    published_inversion_holds,
    rankings,
)
from paraser.reports.render import latex_table, render_html, render_latex, render_markdown
from paraser.reports.shift import shift_section
from paraser.reports.stats import (
    cell_keys,
    cell_statistics,
    confusion_matrix,
    holm,
    paired_average,
    per_class_recall,
)
from paraser.reports.tables import (
    baseline,
    protocol_families,
    reference_comparison,
    write_matrices,
)
from paraser.results import (
    CELL_STATS_FILE,
    COMPARISONS_FILE,
    CONFIG_COLUMNS,
    CONFUSION_FILE,
    FACTOR_DEFAULTS,
    INVERSION_FILE,
    PER_CLASS_RECALL_FILE,
    PROTOCOL_SUMMARY_FILE,
    PUBLISHED_FILE,
    RANKINGS_FILE,
    REPORT_LATEX_FILE,
    gains_file,
    has_predictions,
    load_predictions,
    load_reference,
    load_results,
    read_config,
    remove_stale_outputs,
    write_figure,
    write_table_output,
    write_text_output,
)

#: Columns of ``comparisons.csv``: one row per classifier x normalisation x kind x protocol
#: family x other set.
COMPARISON_COLUMNS: dict[str, str] = {
    "classifier": "classifier name",
    "normalisation": "normalisation strategy",
    "kind": "within or transfer",
    "protocol": "protocol family: speaker-independent or speakers-shared (optimistic)",
    "best": "feature set with the highest mean UAR",
    "other": "feature set compared with it",
    "uar_best": "UAR of best on the paired test utterances",
    "uar_other": "UAR of other on the same utterances",
    "difference": "uar_best - uar_other",
    "ci_low": "lower bound of the difference's CI",
    "ci_high": "upper bound of the difference's CI",
    "p_value": "p-value of the paired test",
    "n_test": "test utterances of the compared cells",
    "p_holm": "p_value Holm-adjusted over the whole table",
}


def winner_comparisons(cells: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Per classifier and kind: the best feature set (by mean UAR) against every other,
    paired over the same test utterances; Holm-adjusted over the whole table.

    ``cells`` should hold one level of every other factor (see :func:`baseline`).
    """
    rows = []
    cells = cells.assign(protocol_family=protocol_families(cells))
    for (classifier, normalisation, kind, family), group in cells.groupby(
        ["classifier", "normalisation", "kind", "protocol_family"]
    ):
        means = group.groupby("feature_set")["uar"].mean().sort_values(ascending=False)
        if len(means) < 2:
            continue
        cell_index = group[["source", "target"]].drop_duplicates()
        levels = group[CONFIG_COLUMNS[2:]].drop_duplicates()
        subset = (
            predictions[predictions.classifier == classifier]
            .merge(levels, on=list(levels.columns))
            .merge(cell_index, on=["source", "target"])
        )
        best = means.index[0]
        by_cell = dict(list(subset.groupby(["feature_set", "source", "target"])))
        for other in means.index[1:]:
            # One pair per cell, so every corpus (direction) weighs the same.
            pairs = [
                (by_cell[(best, s, t)], by_cell[(other, s, t)])
                for s, t in cell_index.itertuples(index=False)
                if (best, s, t) in by_cell and (other, s, t) in by_cell
            ]
            result = paired_average(pairs)
            rows.append(
                {
                    "classifier": classifier,
                    "normalisation": normalisation,
                    "kind": kind,
                    "protocol": family,
                    "best": best,
                    "other": other,
                    "uar_best": result.uar_a,
                    "uar_other": result.uar_b,
                    "difference": result.difference,
                    "ci_low": result.ci_low,
                    "ci_high": result.ci_high,
                    "p_value": result.p_value,
                    "n_test": result.n_test,
                }
            )
    if not rows:  # one feature set: nothing to compare, but the file keeps its header
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"])
    return table[list(COMPARISON_COLUMNS)]


def protocol_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean UAR per configuration, kind and protocol family: the summaries a reader may quote.

    Speaker-independent within cells, within cells whose folds share speakers
    (optimistic) and transfer cells are never averaged together.
    """
    if cells.empty:
        return pd.DataFrame()
    frame = cells.assign(
        protocol=protocol_families(cells),
        significant=cells.p_above_chance_holm < 0.05,
    )
    keys = [*CONFIG_COLUMNS, "kind", "protocol"]
    table = frame.groupby(keys, sort=False).agg(
        cells=("uar", "size"),
        mean_uar=("uar", "mean"),
        significant_after_holm=("significant", "sum"),
        collapsed=("collapsed", "sum"),
        corpora=("target", lambda t: ", ".join(dict.fromkeys(t))),
    )
    return table.reset_index()


def build_report(results_dir: str | Path, *, n_boot: int = 1000, seed: int = 0) -> Report:
    """Compute every table of the report from a results folder."""
    results_dir = Path(results_dir)
    results = load_results(results_dir)
    predictions = load_predictions(results_dir)
    config = read_config(results_dir)
    cells, replicates = cell_statistics(results, predictions, n_boot=n_boot, seed=seed)
    dims = feature_dimensions(config, sorted(results.feature_set.unique()))
    # The ranking question is asked of the baseline (train norm., no adaptation or augmentation).
    base = baseline(cells)
    summary = inversion_summary(base, replicates, cell_keys(base), dims)
    return Report(
        results=results,
        cells=cells,
        summary=summary,
        ranks=rankings(base, dims),
        comparisons=winner_comparisons(base, predictions),
        recall=per_class_recall(predictions),
        sentences=inversion_sentences(summary),
        verdict=published_inversion_holds(summary),
        config=config,
        published=_published(config, cells, results),
        predictions=predictions,
        gains={
            factor: table
            for factor in FACTOR_DEFAULTS
            if len(table := factor_gains(results, predictions, factor))
        },
        by_protocol=protocol_summary(cells),
        reference=reference_comparison(results, load_reference(results_dir)),
    )


def _published(
    config: dict, cells: pd.DataFrame, results: pd.DataFrame | None = None
) -> pd.DataFrame | None:
    """Published numbers (config.json ``reproduction.published``) beside ours.

    An entry names a cell (source, target, feature set, classifier; a factor such as
    ``augmentation`` too, else the baseline level) and any of ``uar``, ``accuracy``,
    ``macro_f1``.  ``"*"`` for a key matches every level of our run, so one published
    number can stand beside several of our configurations.  UAR comes with our CI;
    accuracy and macro-F1 are our means over folds and seeds (from ``results``).
    """
    published = config.get("reproduction", {}).get("published", [])
    if not published:
        return None
    keys = ["source", "target", "feature_set", "classifier"]
    metrics = ["accuracy", "macro_f1"]
    ours = cells[[*cell_keys(cells), "uar", "ci_low", "ci_high"]]
    if results is not None and set(metrics) <= set(results.columns):
        means = results.groupby(cell_keys(cells), as_index=False)[metrics].mean()
        ours = ours.merge(means, on=cell_keys(cells), how="left")
    base = baseline(cells)[list(FACTOR_DEFAULTS)].drop_duplicates().head(1)
    rows = []
    for entry in published:
        entry = dict(entry)
        for factor in FACTOR_DEFAULTS:  # unnamed factors: the baseline level, as before
            if factor not in entry and len(base):
                entry[factor] = base[factor].iloc[0]
        match = ours
        for key in [*keys, *FACTOR_DEFAULTS]:
            if key in entry and entry[key] != "*":
                match = match[match[key] == entry[key]]
        mine = match.drop(columns=[k for k in [*keys, *FACTOR_DEFAULTS] if entry.get(k) != "*"])
        mine = mine.rename(columns={m: f"our_{m}" for m in ["uar", *metrics]})
        given = pd.DataFrame([entry]).rename(
            columns={m: f"published_{m}" for m in ["uar", *metrics]}
        )
        if mine.empty:  # a published cell we did not run: shown with empty values
            rows.append(given)
        else:
            given = given.drop(columns=[c for c in mine if c in given])
            rows.append(given.merge(mine, how="cross"))
    table = pd.concat(rows, ignore_index=True)
    for column in ("our_uar", "ci_low", "ci_high"):  # when no published cell was run
        if column not in table:
            table[column] = np.nan
    if "published_uar" in table:
        table["difference"] = table["our_uar"] - table["published_uar"]
        table["published_in_our_ci"] = (table["published_uar"] >= table["ci_low"]) & (
            table["published_uar"] <= table["ci_high"]
        )
    for metric in metrics:
        if f"published_{metric}" in table and f"our_{metric}" in table:
            table[f"{metric}_difference"] = table[f"our_{metric}"] - table[f"published_{metric}"]
    return table


def published_comparison(results_dir: str | Path) -> pd.DataFrame | None:
    """The published-vs-ours table a report wrote, if any."""
    path = Path(results_dir) / PUBLISHED_FILE
    return pd.read_csv(path) if path.is_file() else None


def write_report(
    results_dir: str | Path, *, n_boot: int = 1000, seed: int = 0, jobs: int | None = None
) -> list[Path]:
    """Regenerate every output of a results folder; return the paths written.

    Without ``predictions.parquet`` only the point-estimate matrices
    (:func:`paraser.reports.write_matrices`) can be written. ``jobs`` worker processes
    draw the figures (default: every core; the files are the same for any number).
    """
    results_dir = Path(results_dir)
    written = write_matrices(results_dir)
    if not has_predictions(results_dir):
        # No full report: the sections go into one written before, if any.
        for files, section in _sections(results_dir, n_boot=1000, seed=0):
            written += files
            add_section(results_dir, section)
        return written
    # Figures are drawn by worker processes when there are many: started now, they import
    # matplotlib during the statistics and draw while the tables are written.
    workers_ready = start_figure_workers(figure_workers(_expected_figures(results_dir), jobs))
    report = build_report(results_dir, n_boot=n_boot, seed=seed)
    workers_ready()
    figures_drawn = start_report_figures(report, jobs)
    csvs = {
        CELL_STATS_FILE: report.cells,
        INVERSION_FILE: report.summary,
        RANKINGS_FILE: report.ranks,
        COMPARISONS_FILE: report.comparisons,
        PROTOCOL_SUMMARY_FILE: report.by_protocol,
        PER_CLASS_RECALL_FILE: report.recall,
        CONFUSION_FILE: confusion_table(report.predictions),
    }
    if report.published is not None:
        csvs[PUBLISHED_FILE] = report.published
    for factor, gains in report.gains.items():
        csvs[gains_file(factor)] = gains
    written += [write_table_output(results_dir, name, frame) for name, frame in csvs.items()]
    write_text_output(results_dir, REPORT_LATEX_FILE, render_latex(report))
    sections = _sections(results_dir, n_boot=n_boot, seed=seed)
    markdown = render_markdown(report)
    figures = figures_drawn()
    written += [
        write_figure(results_dir, name, images.png, images.pdf)
        for name, (_, images) in figures.items()
    ]
    documents = write_report_documents(
        results_dir,
        markdown,
        render_html(report, figures),
        [section for _, section in sections if section is not None],
    )
    # The order in which paths were reported before: report.md, tables.tex, report.html.
    written += [documents[0], results_dir / REPORT_LATEX_FILE, documents[1]]
    for files, _ in sections:
        written += files
    # Outputs of conditions, corpora or analyses no longer in the folder's run.
    remove_stale_outputs(results_dir, written)
    return written


def _expected_figures(results_dir: Path) -> int:
    """About how many figures the report draws: a heatmap and a recall chart per
    configuration, the ranks and a confusion grid or two."""
    results = load_results(results_dir)
    columns = [c for c in CONFIG_COLUMNS if c in results.columns]
    return 2 * len(results[columns].drop_duplicates()) + 2


def _sections(
    results_dir: Path, *, n_boot: int, seed: int
) -> list[tuple[list[Path], Section | None]]:
    """The analyses' files and report sections (when shift.csv, few-shot predictions,
    importance.csv are in the folder), in report order."""
    return [
        shift_section(results_dir),
        fewshot_section(results_dir, n_boot=n_boot, seed=seed),
        importance_section(results_dir),
    ]


def confusion_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Row-normalised confusion of every cell, long format (cell keys, true, predicted, share)."""
    frames = []
    keys = cell_keys(predictions)
    for key, group in predictions.groupby(keys, sort=True):
        matrix = confusion_matrix(group).rename_axis(index="true", columns="predicted")
        long = matrix.stack().rename("share").reset_index()
        frames.append(long.assign(**dict(zip(keys, key))))
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    return table[[*keys, "true", "predicted", "share"]]


__all__ = ["ALL", "Report", "build_report", "latex_table", "write_report"]
