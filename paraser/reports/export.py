"""The full report of a results folder: CSV, Markdown, LaTeX and a self-contained HTML page.

:func:`write_report` reads only ``results.csv``, ``predictions.parquet`` and
``config.json``, so ``paraser report DIR`` regenerates every output from the folder.
Published numbers to compare with come from ``config.json`` (``reproduction.published``,
written by :mod:`paraser.runs.reproduce`).
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from paraser.corpora.tasks import label_statement
from paraser.reports.document import Section, add_section, write_report_documents
from paraser.reports.fewshot import fewshot_section
from paraser.reports.gains import factor_gains, gains_sentences, gains_table
from paraser.reports.importance import importance_section
from paraser.reports.inversion import (
    ALL,
    feature_dimensions,
    inversion_sentences,
    inversion_summary,
    published_inversion_holds,
    rankings,
)
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
    OPTIMISTIC_MARK,
    Config,
    baseline,
    configurations,
    is_optimistic,
    marks,
    matrix_order,
    protocol_families,
    protocol_statement,
    write_matrices,
)
from paraser.results import (
    CONFIG_COLUMNS,
    FACTOR_DEFAULTS,
    REPORT_LATEX_FILE,
    has_predictions,
    load_predictions,
    load_results,
    read_config,
)

PUBLISHED_FILE = "published_comparison.csv"

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


@dataclass
class Report:
    """Everything a report shows, as tables (written out by :func:`write_report`)."""

    results: pd.DataFrame
    cells: pd.DataFrame
    summary: pd.DataFrame
    ranks: pd.DataFrame
    comparisons: pd.DataFrame
    recall: pd.DataFrame
    sentences: dict[str, str]
    verdict: str
    config: dict
    published: pd.DataFrame | None
    predictions: pd.DataFrame
    #: factor -> paired gains of its levels over the baseline (only varied factors).
    gains: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Mean UAR per configuration, kind and protocol family (:func:`protocol_summary`).
    by_protocol: pd.DataFrame = field(default_factory=pd.DataFrame)


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


def _protocol_summary_table(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return table
    return pd.DataFrame(
        {
            "configuration": [
                Config(*row).title for row in table[CONFIG_COLUMNS].itertuples(index=False)
            ],
            "kind": table.kind,
            "protocol": table.protocol,
            "cells": table.cells,
            "mean UAR": table.mean_uar.map(lambda v: f"{v:.3f}"),
            "above chance (Holm)": [
                f"{s} of {n}" for s, n in zip(table.significant_after_holm, table.cells)
            ],
            "collapsed": table.collapsed,
            "targets": table.corpora,
        }
    )


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


def _ci_text(row) -> str:
    return f"{row.uar:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]" + marks(
        row.collapsed, is_optimistic(row.kind, row.protocol)
    )


def ci_matrix(cells: pd.DataFrame) -> pd.DataFrame:
    """One configuration's cells as a source x target matrix of 'UAR [low, high]' text."""
    text = cells.assign(cell=[_ci_text(r) for r in cells.itertuples(index=False)]).pivot(
        index="source", columns="target", values="cell"
    )
    rows, columns = matrix_order(text.index, text.columns)
    return text.reindex(index=rows, columns=columns).fillna("–")


def _fmt_p(p: float) -> str:
    return "–" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def cell_table(cells: pd.DataFrame) -> pd.DataFrame:
    """The per-cell statistics, formatted for Markdown/LaTeX."""
    return pd.DataFrame(
        {
            "features": cells.feature_set,
            "classifier": cells.classifier,
            "norm.": cells.normalisation,
            "adapt.": cells.adaptation,
            "augment.": cells.augmentation,
            "source": cells.source,
            "target": cells.target,
            "UAR [95% CI]": [_ci_text(r) for r in cells.itertuples(index=False)],
            "seeds mean ± sd": [
                f"{m:.3f} ± {s:.3f}" if np.isfinite(s) else f"{m:.3f}"
                for m, s in zip(cells.uar_seed_mean, cells.uar_seed_sd)
            ],
            "chance": cells.chance.round(3),
            "p > chance (Holm)": [_fmt_p(p) for p in cells.p_above_chance_holm],
            "CI unit": [f"{u} ({n})" for u, n in zip(cells.ci_unit, cells.n_units)],
        }
    )


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    def ci(value, low, high):
        return f"{value:.3f} [{low:.3f}, {high:.3f}]" if np.isfinite(value) else "–"

    return pd.DataFrame(
        {
            "scope": summary.scope,
            "features": summary.feature_set,
            "dim": summary.dimensions.map(lambda d: "?" if pd.isna(d) else str(int(d))),
            "within UAR [CI]": [
                ci(r.within_uar, r.within_ci_low, r.within_ci_high)
                for r in summary.itertuples(index=False)
            ],
            "rank within": summary.within_rank,
            "transfer UAR [CI]": [
                ci(r.transfer_uar, r.transfer_ci_low, r.transfer_ci_high)
                for r in summary.itertuples(index=False)
            ],
            "rank transfer": summary.transfer_rank,
            "drop [CI]": [
                ci(r.drop, getattr(r, "drop_ci_low", np.nan), getattr(r, "drop_ci_high", np.nan))
                for r in summary.itertuples(index=False)
            ],
            "Kendall tau [CI]": [
                ci(r.kendall_tau, r.tau_ci_low, r.tau_ci_high)
                for r in summary.itertuples(index=False)
            ],
        }
    )


def comparison_table(comparisons: pd.DataFrame) -> pd.DataFrame:
    if comparisons.empty:
        return comparisons
    return pd.DataFrame(
        {
            "classifier": comparisons.classifier,
            "kind": comparisons.kind,
            "protocol": comparisons.protocol,
            "best − other": comparisons.best + " − " + comparisons.other,
            "UAR best": comparisons.uar_best.round(3),
            "UAR other": comparisons.uar_other.round(3),
            "difference [CI]": [
                f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                for d, lo, hi in zip(
                    comparisons.difference, comparisons.ci_low, comparisons.ci_high
                )
            ],
            "p (Holm)": [_fmt_p(p) for p in comparisons.p_holm],
        }
    )


def latex_table(frame: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table (``\\toprule``/``\\midrule``/``\\bottomrule``)."""
    # Missing values (a ceiling where none exists) stay missing under astype(str) in pandas 3.
    escaped = frame.apply(
        lambda col: col.map(lambda v: _latex_escape("–" if pd.isna(v) else str(v)))
    )
    escaped.columns = [_latex_escape(str(c)) for c in escaped.columns]
    return escaped.style.hide(axis="index").to_latex(
        hrules=True,
        caption=caption,
        label=label,
        position="htbp",
        column_format="l" * frame.shape[1],
    )


def _latex_escape(text: str) -> str:
    for char, repl in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                       ("#", r"\#"), ("±", r"$\pm$"), ("†", r"$^\dagger$"), ("−", "--"),
                       ("–", "--"), ("->", r"$\to$")):  # fmt: skip
        text = text.replace(char, repl)
    return text


def _markdown(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False) if len(frame) else "_none_"


def _config_sections(report: Report):
    """(configuration, its cells) per configuration of the run."""
    for config in configurations(report.results):
        cells = config.select(report.cells)
        if len(cells):
            yield config, cells


def write_report(results_dir: str | Path, *, n_boot: int = 1000, seed: int = 0) -> list[Path]:
    """Regenerate every output of a results folder; return the paths written.

    Without ``predictions.parquet`` only the point-estimate matrices
    (:func:`paraser.reports.write_matrices`) can be written.
    """
    results_dir = Path(results_dir)
    written = write_matrices(results_dir)
    if not has_predictions(results_dir):
        # No full report: the sections go into one written before, if any.
        for files, section in _sections(results_dir, n_boot=1000, seed=0):
            written += files
            add_section(results_dir, section)
        return written
    report = build_report(results_dir, n_boot=n_boot, seed=seed)
    csvs = {
        "cell_stats.csv": report.cells,
        "inversion.csv": report.summary,
        "rankings.csv": report.ranks,
        "comparisons.csv": report.comparisons,
        "summary_by_protocol.csv": report.by_protocol,
        "per_class_recall.csv": report.recall,
        "confusion.csv": confusion_table(report.predictions),
    }
    if report.published is not None:
        csvs[PUBLISHED_FILE] = report.published
    for factor, gains in report.gains.items():
        csvs[f"gains_{factor}.csv"] = gains
    for name, frame in csvs.items():
        frame.to_csv(results_dir / name, index=False)
        written.append(results_dir / name)
    figures = _figures(report)
    figure_dir = results_dir / "figures"
    figure_dir.mkdir(exist_ok=True)
    for stale in figure_dir.glob("*.png"):  # figures of configurations no longer in the run
        stale.unlink()
    for name, (_, png) in figures.items():
        (figure_dir / f"{name}.png").write_bytes(png)
        written.append(figure_dir / f"{name}.png")
    (results_dir / REPORT_LATEX_FILE).write_text(_report_latex(report))
    sections = _sections(results_dir, n_boot=n_boot, seed=seed)
    documents = write_report_documents(
        results_dir,
        _report_markdown(report),
        _report_html(report, figures),
        [section for _, section in sections if section is not None],
    )
    # The order in which paths were reported before: report.md, tables.tex, report.html.
    written += [documents[0], results_dir / REPORT_LATEX_FILE, documents[1]]
    for files, _ in sections:
        written += files
    return written


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


def _figures(report: Report) -> dict[str, tuple[str, bytes]]:
    """name -> (caption, PNG), in page order."""
    from paraser.reports import plots  # matplotlib only when figures are drawn

    figures: dict[str, tuple[str, bytes]] = {}
    if len(report.summary):
        figures["ranks"] = (
            "Within-corpus rank vs transfer rank of each feature set (mean UAR beside it)",
            plots.rank_chart(report.summary),
        )
    for config, cells in _config_sections(report):
        stem, title = config.stem, config.title
        figures[f"heatmap_{stem}"] = (f"UAR: {title}", plots.transfer_heatmap(cells, title))
        figures[f"recall_{stem}"] = (
            f"Per-class recall: {title}",
            plots.recall_heatmap(config.select(report.recall), f"Per-class recall: {title}"),
        )
    # Confusion grids (one matrix per cell) are the slowest figures: drawn for the feature
    # sets that win within or under transfer per classifier; confusion.csv has them all.
    for config in _winner_configurations(report):
        stem, title = config.stem, config.title
        predictions = config.select(report.predictions)
        matrices = {
            (s if s == t else f"{s}->{t}"): confusion_matrix(group)
            for (s, t), group in predictions.groupby(["source", "target"])
        }
        figures[f"confusion_{stem}"] = (
            f"Confusion matrices: {title}",
            plots.confusion_grid(matrices, f"Confusion: {title}"),
        )
    return figures


def _winner_configurations(report: Report) -> list[Config]:
    """Baseline configurations of the within and transfer winners."""
    chosen = []
    summary = report.summary[report.summary.scope != ALL]
    levels = baseline(report.cells)[CONFIG_COLUMNS[2:]].iloc[0]
    for classifier, group in summary.groupby("scope"):
        for column in ("within_uar", "transfer_uar"):
            if group[column].notna().any():
                feature_set = group.loc[group[column].idxmax(), "feature_set"]
                key = Config(feature_set, classifier, *levels)
                if key not in chosen:
                    chosen.append(key)
    return chosen


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


def _published_markdown(published: pd.DataFrame | None) -> list[str]:
    if published is None or published.empty:
        return []
    return [
        "## Published numbers beside ours",
        "",
        _markdown(published.round(4)),
        "",
    ]


_GAIN_TITLES = {
    "normalisation": "Normalisation: gain over training-set standardisation",
    "adaptation": "Unsupervised adaptation: gain over the unadapted source model",
    "augmentation": "Augmentation: gain over training on original audio only",
}

_GAIN_EXPLANATION = (
    "Paired differences on the same test utterances: delete-one-speaker jackknife over test "
    "speakers (95% CI, t with G-1 df), p-values Holm-adjusted over every cell of the factor "
    "(average rows: raw p of the mean over cells, each cell weighing the same; never across "
    "protocol families). Ceiling: the target's own within-corpus UAR, never mixed into a method; "
    f"{OPTIMISTIC_MARK} marks a ceiling from folds that share speakers, left out of averages. "
    "Accuracy and macro-F1 gains stand beside UAR: label-shift correction (prior-em) targets "
    "accuracy. Methods that read unlabelled target features are transductive: they see every "
    "target utterance, whatever its label, and no label."
)


def _augmentation_cost(config: dict) -> pd.DataFrame:
    """Extraction cost of augmented copies (config.json ``augmentation``), per recipe."""
    rows = config.get("augmentation", {}).get("cost", [])
    return pd.DataFrame(rows)


def _gain_sections(report: Report) -> list[tuple[str, list[str], pd.DataFrame, pd.DataFrame]]:
    """(title, sentences, formatted gains, extra table) per varied factor."""
    sections = []
    for factor, gains in report.gains.items():
        extra = _augmentation_cost(report.config) if factor == "augmentation" else pd.DataFrame()
        sections.append((_GAIN_TITLES[factor], gains_sentences(gains), gains_table(gains), extra))
    return sections


def _label_lines(config: dict) -> list[str]:
    """The task's label mapping (arousal, valence), stated where the protocol is."""
    statement = label_statement(config.get("label_map"))
    return [statement, ""] if statement else []


def _report_markdown(report: Report) -> str:
    lines = [
        "# paraser report",
        "",
        protocol_statement(report.results),
        "",
        *_label_lines(report.config),
        "UAR [95% CI]: mean over folds and seeds; the interval is a delete-one-speaker "
        "jackknife (t with G-1 df over the G test speakers) where the predictions carry "
        "speaker ids, else over utterances. p > chance: one-sided test of UAR against the UAR "
        "that predictions unrelated to the labels would score (same marginals), with the same "
        "speaker jackknife standard error, Holm-corrected over all cells. Within-corpus "
        "summaries are computed per protocol family, never across.",
        "",
        "## Summary by protocol",
        "",
        _markdown(_protocol_summary_table(report.by_protocol)),
        "",
        "## Feature-ranking inversion",
        "",
        *[f"- {sentence}" for sentence in report.sentences.values()],
        "",
        report.verdict,
        "",
        _markdown(summary_table(report.summary)),
        "",
        "## Best feature set against the others (paired, same utterances, cells weigh equally)",
        "",
        _markdown(comparison_table(report.comparisons)),
        "",
        *_published_markdown(report.published),
    ]
    for title, sentences, table, extra in _gain_sections(report):
        lines += [f"## {title}", "", _GAIN_EXPLANATION, "", *[f"- {s}" for s in sentences], ""]
        if len(extra):
            lines += ["Extraction cost of the augmented copies:", "", _markdown(extra), ""]
        lines += [_markdown(table), ""]
    for config, cells in _config_sections(report):
        lines += [
            f"## {config.title}",
            "",
            ci_matrix(cells).to_markdown(stralign="right"),
            "",
            *_label_lines(report.config),
        ]
    lines += ["## All cells", "", _markdown(cell_table(report.cells)), ""]
    notes = report.config.get("notes", [])
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def _report_latex(report: Report) -> str:
    parts = [
        "% paraser report tables; needs \\usepackage{booktabs}",
        latex_table(
            _protocol_summary_table(report.by_protocol).drop(columns="targets"),
            "Mean UAR per configuration and protocol family (never averaged across families).",
            "tab:protocols",
        ),
        latex_table(
            summary_table(report.summary),
            "Feature-set ranking within corpus and under transfer (mean UAR, 95\\% "
            "speaker-bootstrap CI; within: speaker-independent corpora only).",
            "tab:inversion",
        ),
    ]
    if len(report.comparisons):
        parts.append(
            latex_table(
                comparison_table(report.comparisons),
                "Best feature set against the others: paired UAR difference (speaker jackknife).",
                "tab:comparisons",
            )
        )
    for factor, gains in report.gains.items():
        averages = gains_table(gains[gains.source == "average"]).drop(columns="cell")
        parts.append(
            latex_table(
                averages,
                f"{_GAIN_TITLES[factor]}: mean over cells, paired speaker-jackknife 95\\% CI.",
                f"tab:gains-{factor}",
            )
        )
    for config, cells in _config_sections(report):
        matrix = ci_matrix(cells).reset_index().rename(columns={"source": "source / target"})
        parts.append(
            latex_table(
                matrix,
                f"UAR [95\\% CI], {_latex_escape(config.title)}; rows: source, columns: target.",
                f"tab:{config.stem}".replace("_", "-"),
            )
        )
    return "\n\n".join(parts) + "\n"


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p><em>none</em></p>"
    return frame.to_html(index=False, border=0, classes="t", escape=True)


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
table.t{border-collapse:collapse;font-size:13px;margin:1em 0}
table.t th,table.t td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
table.t th{border-bottom:2px solid #444}
figure{display:inline-block;margin:0.5em;vertical-align:top}
figcaption{font-size:12px;color:#555}
.quote{background:#f4f6fa;border-left:4px solid #4a6fa5;padding:0.6em 1em}
"""


def _report_html(report: Report, figures: dict[str, tuple[str, bytes]]) -> str:
    def image(name: str) -> str:
        caption, png = figures[name]
        data = base64.b64encode(png).decode()
        return (
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    body = [
        "<h1>paraser report</h1>",
        f"<p>{html.escape(protocol_statement(report.results))}</p>",
        "<h2>Summary by protocol</h2>",
        _html_table(_protocol_summary_table(report.by_protocol)),
        "<h2>Feature-ranking inversion</h2>",
        *[f'<p class="quote">{html.escape(s)}</p>' for s in report.sentences.values()],
        f"<p><strong>{html.escape(report.verdict)}</strong></p>",
    ]
    if "ranks" in figures:
        body.append(image("ranks"))
    body += [
        _html_table(summary_table(report.summary)),
        "<h2>Best feature set against the others</h2>",
        _html_table(comparison_table(report.comparisons)),
    ]
    if report.published is not None and len(report.published):
        body += ["<h2>Published numbers beside ours</h2>", _html_table(report.published.round(4))]
    for title, sentences, table, extra in _gain_sections(report):
        body += [f"<h2>{html.escape(title)}</h2>", f"<p>{html.escape(_GAIN_EXPLANATION)}</p>"]
        body += [f'<p class="quote">{html.escape(s)}</p>' for s in sentences]
        if len(extra):
            body += ["<p>Extraction cost of the augmented copies:</p>", _html_table(extra)]
        body.append(_html_table(table))
    body.append("<h2>Transfer matrices</h2>")
    body += [image(n) for n in figures if n.startswith("heatmap_")]
    body.append("<h2>Per-class recall and confusion matrices</h2>")
    for config, _ in _config_sections(report):
        stem = config.stem
        body += [
            f"<details><summary>{html.escape(config.title)}</summary>",
            image(f"recall_{stem}"),
            image(f"confusion_{stem}") if f"confusion_{stem}" in figures else "",
            "</details>",
        ]
    body += ["<h2>All cells</h2>", _html_table(cell_table(report.cells))]
    notes = report.config.get("notes", [])
    if notes:
        body += ["<h2>Notes</h2><ul>", *[f"<li>{html.escape(n)}</li>" for n in notes], "</ul>"]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>paraser report'
        f"</title><style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


__all__ = ["ALL", "Report", "build_report", "latex_table", "write_report"]
