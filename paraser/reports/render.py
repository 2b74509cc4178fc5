"""A report rendered: Markdown (``report.md``), LaTeX (``tables.tex``) and a self-contained
HTML page (``report.html``), from the tables of a :class:`~paraser.reports.document.Report`.
"""

from __future__ import annotations

import base64
import html
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from paraser.corpora.tasks import label_statement
from paraser.reports.document import Report
from paraser.reports.gains import gains_sentences, gains_table
from paraser.reports.tables import (
    OPTIMISTIC_MARK,
    Condition,
    column_alignment,
    conditions,
    corpus_order,
    is_optimistic,
    markdown_table,
    marks,
    matrix_order,
    protocol_statement,
    reference_markdown,
)
from paraser.results import CONFIG_COLUMNS

if TYPE_CHECKING:  # matplotlib only when figures are drawn
    from paraser.reports.document import FigureImages


def _ci_text(row) -> str:
    return f"{row.uar:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]" + marks(
        row.collapsed, is_optimistic(row.kind, row.protocol)
    )


def with_ceiling(all_cells: pd.DataFrame, config: Condition, cells: pd.DataFrame) -> pd.DataFrame:
    """An adapted configuration's cells with its ceiling on the diagonal.

    Adaptation never touches the within diagonal; the unadapted within cells of the same
    configuration stand there, marked by a true ``ceiling`` column (shown in brackets).
    """
    if config.adaptation == "none":
        return cells
    ceiling = config._replace(adaptation="none").select(all_cells)
    ceiling = ceiling[ceiling.kind == "within"]
    if ceiling.empty:
        return cells
    return pd.concat([cells, ceiling.assign(ceiling=True)], ignore_index=True)


def ci_matrix(cells: pd.DataFrame, order=()) -> pd.DataFrame:
    """One configuration's cells as a source x target matrix of 'UAR [low, high]' text;
    ceiling cells (:func:`with_ceiling`) as '(UAR)'."""
    ceilings = cells["ceiling"] if "ceiling" in cells else pd.Series(False, index=cells.index)
    text = cells.assign(
        cell=[
            f"({r.uar:.3f})" + marks(r.collapsed, is_optimistic(r.kind, r.protocol))
            if ceiling is True
            else _ci_text(r)
            for r, ceiling in zip(cells.itertuples(index=False), ceilings)
        ]
    ).pivot(index="source", columns="target", values="cell")
    rows, columns = matrix_order(text.index, text.columns, order)
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
            "mean ± sd over seeds": [
                # One seed has no spread: the sd is written as missing, never dropped.
                f"{m:.3f} ± {s:.3f}" if np.isfinite(s) else f"{m:.3f} ± – ({n} seed)"
                for m, s, n in zip(cells.uar_seed_mean, cells.uar_seed_sd, cells.n_seeds)
            ],
            "chance": cells.chance.map(lambda v: f"{v:.3f}"),
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


def latex_table(
    frame: pd.DataFrame,
    caption: str,
    label: str,
    *,
    diagonal: bool = False,
    notes: list[str] = (),
    wide: bool = False,
) -> str:
    """A booktabs table: text columns ``l``, numeric columns ``r``.

    The tabular is shrunk to the line width only when it is wider than the line (one- and
    two-column articles alike, with ``graphicx`` alone); ``diagonal`` sets a matrix's
    diagonal (row label equal to column header) in italics; ``notes`` (already LaTeX) end the
    caption, for the footnote marks the cells carry; ``wide`` makes it a ``table*`` (both
    columns of a two-column article).
    """
    environment = "table*" if wide else "table"
    align = column_alignment(frame)
    header = [_latex_escape(str(c)) for c in frame.columns]
    rows = []
    for values in frame.itertuples(index=False):
        cells = [_latex_escape("–" if pd.isna(v) else str(v)) for v in values]
        if diagonal:
            cells = [
                rf"\textit{{{cell}}}" if i > 0 and frame.columns[i] == values[0] else cell
                for i, cell in enumerate(cells)
            ]
        rows.append(" & ".join(cells) + r" \\")
    full_caption = " ".join([caption, *notes])
    return "\n".join(
        [
            rf"\begin{{{environment}}}[htbp]",
            r"\centering",
            rf"\caption{{{full_caption}}}",
            rf"\label{{{label}}}",
            # Box 0 holds the tabular so its width can be compared with the line's.
            r"\sbox0{%",
            rf"\begin{{tabular}}{{{''.join(align)}}}",
            r"\toprule",
            " & ".join(header) + r" \\",
            r"\midrule",
            *rows,
            r"\bottomrule",
            r"\end{tabular}}%",
            r"\ifdim\wd0>\linewidth\resizebox{\linewidth}{!}{\usebox0}\else\usebox0\fi",
            rf"\end{{{environment}}}",
        ]
    )


#: What each character means to TeX, as text; one pass, so a replacement is never re-escaped.
_LATEX_TEXT = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "†": r"$^\dagger$",
    "‡": r"$^\ddagger$",
    "−": "--",
    "–": "--",
    "→": r"$\to$",
    "->": r"$\to$",
    "²": r"$^2$",
}
_LATEX_SPECIAL = re.compile("|".join(re.escape(k) for k in sorted(_LATEX_TEXT, key=len)[::-1]))


def _latex_escape(text: str) -> str:
    """``text`` as LaTeX prints it verbatim (TeX's ten special characters and our marks)."""
    return _LATEX_SPECIAL.sub(lambda m: _LATEX_TEXT[m.group(0)], text)


def _markdown(frame: pd.DataFrame) -> str:
    return markdown_table(frame) if len(frame) else "_none_"


def config_sections(report: Report):
    """(configuration, its cells) per configuration of the run."""
    for config in conditions(report.results):
        cells = config.select(report.cells)
        if len(cells):
            yield config, cells


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


# Follows the protocol statement, which already states the within-corpus scoring rule.
_SCORING_EXPLANATION = (
    "UAR [95% CI]: the interval is a "
    "delete-one-speaker jackknife (t with G-1 df over the G test speakers) where the "
    "predictions carry speaker ids, else over utterances. p > chance: one-sided test of "
    "UAR against the UAR that predictions unrelated to the labels would score (same "
    "marginals), with the same speaker jackknife standard error, Holm-corrected over all "
    "cells. Within-corpus summaries are computed per protocol family, never across."
)


def collapsed_cells(report: Report) -> list[str]:
    """One line per collapsed cell, naming its whole configuration (the adaptation or
    normalisation that produced it too)."""
    lines = []
    for row in report.cells[report.cells.collapsed.astype(bool)].itertuples(index=False):
        config = Condition(*(getattr(row, c) for c in CONFIG_COLUMNS))
        lines.append(
            f"{config.title}: {row.source} → {row.target}, {row.dominant_share:.0%} of "
            f"predictions in one class (UAR {row.uar:.3f})"
        )
    return lines


def inversion_absent(report: Report) -> str:
    """Why the report has no feature-ranking inversion section."""
    n = report.results["feature_set"].nunique()
    return (
        f"The feature-ranking inversion cannot be assessed: the run has {n} feature set"
        f"{'' if n == 1 else 's'}, and a ranking needs at least {INVERSION_MIN_FEATURE_SETS} "
        "to invert more than a single swap."
    )


def matrix_sections(report: Report):
    """(configuration, its cells with the ceiling, its UAR [CI] matrix) in report order."""
    order = corpus_order(report.config)
    for config, cells in config_sections(report):
        cells = with_ceiling(report.cells, config, cells)
        # A plain frame: its first column the source, no axis names for pandas to print.
        matrix = ci_matrix(cells, order).rename_axis(index="source", columns=None)
        yield config, cells, matrix


def render_markdown(report: Report) -> str:
    """``report.md``, ordered as a paper reads: setup, matrices, within, factors, ranking,
    long tables."""
    notes = report.config.get("notes", [])
    collapsed = collapsed_cells(report)
    lines = [
        "# paraser report",
        "",
        "## Setup",
        "",
        protocol_statement(report.results),
        "",
        *_label_lines(report.config),
        _SCORING_EXPLANATION,
        "",
    ]
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    lines += ["## Transfer matrices (UAR [95% CI]; rows: source, columns: target)", ""]
    for config, _, matrix in matrix_sections(report):
        lines += [f"### {config.title}", "", _markdown(matrix.reset_index()), ""]
    if collapsed:
        lines += ["Collapsed cells (not findings):", "", *[f"- {c}" for c in collapsed], ""]
    lines += [
        "## Within-corpus results",
        "",
        *[line.replace("## ", "### ", 1) for line in reference_markdown(report.reference)],
        "### Summary by protocol",
        "",
        _markdown(protocol_summary_table(report.by_protocol)),
        "",
    ]
    for title, sentences, table, extra in _gain_sections(report):
        lines += [f"## {title}", "", _GAIN_EXPLANATION, "", *[f"- {s}" for s in sentences], ""]
        if len(extra):
            lines += ["Extraction cost of the augmented copies:", "", _markdown(extra), ""]
        lines += [_markdown(table[table.cell == "average"]), ""]
    lines += ["## Feature-ranking inversion", ""]
    if shows_inversion(report):
        lines += [
            *[f"- {sentence}" for sentence in report.sentences.values()],
            "",
            report.verdict,
            "",
            _markdown(summary_table(report.summary)),
            "",
        ]
    else:
        lines += [inversion_absent(report), ""]
    lines += [
        "## Best feature set against the others (paired, same utterances, cells weigh equally)",
        "",
        _markdown(comparison_table(report.comparisons)),
        "",
        *_published_markdown(report.published),
        DETAILS_HEADING,
        "",
    ]
    for title, _, table, _ in _gain_sections(report):
        lines += [f"### {title}: every cell", "", _markdown(table[table.cell != "average"]), ""]
    lines += ["## All cells", "", _markdown(cell_table(report.cells)), ""]
    return "\n".join(lines)


#: The heading of the long tables at the end of ``report.md`` (analysis sections go before).
DETAILS_HEADING = "## Detailed tables"


#: Tables with more columns than this span both columns of a two-column article
#: (``table*``; the same as ``table`` in a one-column one).
_WIDE_COLUMNS = 5


def _matrix_notes(cells: pd.DataFrame) -> list[str]:
    """The caption sentences that explain the marks a matrix's cells carry."""
    notes = []
    if "ceiling" in cells and (cells["ceiling"] == True).any():  # noqa: E712 (object column)
        notes.append(
            "Diagonal in brackets: the unadapted within-corpus UAR, the ceiling (adaptation "
            "never touches the within diagonal)."
        )
    if bool(cells["collapsed"].astype(bool).any()):
        notes.append(
            r"$^\dagger$ collapsed: 90\% or more of the predictions fell in one class; not a "
            "finding."
        )
    if any(map(is_optimistic, cells["kind"], cells["protocol"])):
        notes.append(
            r"$^\ddagger$ within-corpus folds share speakers (stratified, a fallback where "
            "speaker-independent folds were impossible): optimistic, not comparable with the "
            "speaker-independent cells."
        )
    return notes


def render_latex(report: Report) -> str:
    """``tables.tex``: every table fits a one- and a two-column article (wide ones span both
    columns and shrink to the text width only when wider)."""

    def table(frame: pd.DataFrame, caption: str, label: str, **options) -> str:
        return latex_table(frame, caption, label, wide=frame.shape[1] > _WIDE_COLUMNS, **options)

    parts = [
        "% paraser report tables; needs \\usepackage{booktabs,graphicx}",
        table(
            protocol_summary_table(report.by_protocol).drop(columns="targets"),
            "Mean UAR per configuration and protocol family (never averaged across families).",
            "tab:protocols",
        ),
    ]
    for config, cells, matrix in matrix_sections(report):
        matrix = matrix.reset_index().rename(columns={"source": "source / target"})
        parts.append(
            table(
                matrix,
                f"UAR [95\\% CI], {_latex_escape(config.title)}; rows: source, columns: target; "
                "diagonal (italics): within-corpus UAR over pooled out-of-fold predictions.",
                f"tab:{config.stem}".replace("_", "-"),
                diagonal=True,
                notes=_matrix_notes(cells),
            )
        )
    for factor, gains in report.gains.items():
        averages = gains_table(gains[gains.source == "average"]).drop(columns="cell")
        parts.append(
            table(
                averages,
                f"{_GAIN_TITLES[factor]}: mean over cells, paired speaker-jackknife 95\\% CI.",
                f"tab:gains-{factor}",
            )
        )
    if shows_inversion(report):
        parts.append(
            table(
                summary_table(report.summary),
                "Feature-set ranking within corpus and under transfer (mean UAR, 95\\% "
                "speaker-bootstrap CI; within: speaker-independent corpora only).",
                "tab:inversion",
            )
        )
    if len(report.comparisons):
        parts.append(
            table(
                comparison_table(report.comparisons),
                "Best feature set against the others: paired UAR difference (speaker jackknife).",
                "tab:comparisons",
            )
        )
    return "\n\n".join(parts) + "\n"


#: A ranking inversion needs at least this many feature sets to be more than a swap.
INVERSION_MIN_FEATURE_SETS = 3


def shows_inversion(report: Report) -> bool:
    """Whether the report has a feature-ranking inversion to show (three or more sets)."""
    return report.results["feature_set"].nunique() >= INVERSION_MIN_FEATURE_SETS


def _html_table(frame: pd.DataFrame) -> str:
    """pandas' HTML table, its text columns marked ``class="l"`` (left-aligned, as in the
    Markdown and LaTeX tables; numbers stay right-aligned)."""
    if frame.empty:
        return "<p><em>none</em></p>"
    text_columns = {i for i, a in enumerate(column_alignment(frame)) if a == "l"}
    lines, column = [], 0
    # to_html writes one cell per line, so the cell's column is its position in its row.
    for line in frame.to_html(index=False, border=0, classes="t", escape=True).splitlines():
        stripped = line.lstrip()
        if stripped.startswith("<tr"):
            column = 0
        elif stripped.startswith(("<td>", "<td ", "<th>", "<th ")):
            if column in text_columns:
                line = line.replace(stripped[:3], stripped[:3] + ' class="l"', 1)
            column += 1
        lines.append(line)
    return "\n".join(lines)


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
table.t{border-collapse:collapse;font-size:13px;margin:1em 0}
table.t th,table.t td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
table.t th{border-bottom:2px solid #444}
table.t td.l,table.t th.l{text-align:left}
figure{display:inline-block;margin:0.5em;vertical-align:top}
figcaption{font-size:12px;color:#555}
.quote{background:#f4f6fa;border-left:4px solid #4a6fa5;padding:0.6em 1em}
"""


def render_html(report: Report, figures: dict[str, tuple[str, FigureImages]]) -> str:
    """``report.html``, in the order of ``report.md``, with the figures after their tables."""

    def image(name: str) -> str:
        caption, images = figures[name]
        data = base64.b64encode(images.screen).decode()
        return (
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    notes = report.config.get("notes", [])
    collapsed = collapsed_cells(report)
    body = [
        "<h1>paraser report</h1>",
        "<h2>Setup</h2>",
        f"<p>{html.escape(protocol_statement(report.results))}</p>",
        *[f"<p>{html.escape(line)}</p>" for line in _label_lines(report.config) if line],
        f"<p>{html.escape(_SCORING_EXPLANATION)}</p>",
    ]
    if notes:
        body += ["<h2>Notes</h2><ul>", *[f"<li>{html.escape(n)}</li>" for n in notes], "</ul>"]
    body.append("<h2>Transfer matrices (UAR [95% CI]; rows: source, columns: target)</h2>")
    for config, _, matrix in matrix_sections(report):
        body += [f"<h3>{html.escape(config.title)}</h3>", _html_table(matrix.reset_index())]
    if collapsed:
        body += ["<p>Collapsed cells (not findings):</p><ul>"]
        body += [f"<li>{html.escape(c)}</li>" for c in collapsed] + ["</ul>"]
    body.append("<h3>Heatmaps</h3>")
    body += [image(n) for n in figures if n.startswith("heatmap_")]
    body.append("<h2>Within-corpus results</h2>")
    if len(report.reference):
        body += [
            "<h3>Speaker-independent against stratified (speakers shared)</h3>",
            _html_table(report.reference),
        ]
    body += [
        "<h3>Summary by protocol</h3>",
        _html_table(protocol_summary_table(report.by_protocol)),
    ]
    for title, sentences, table, extra in _gain_sections(report):
        body += [f"<h2>{html.escape(title)}</h2>", f"<p>{html.escape(_GAIN_EXPLANATION)}</p>"]
        body += [f'<p class="quote">{html.escape(s)}</p>' for s in sentences]
        if len(extra):
            body += ["<p>Extraction cost of the augmented copies:</p>", _html_table(extra)]
        body.append(_html_table(table[table.cell == "average"]))
    body.append("<h2>Feature-ranking inversion</h2>")
    if shows_inversion(report):
        body += [f'<p class="quote">{html.escape(s)}</p>' for s in report.sentences.values()]
        body.append(f"<p><strong>{html.escape(report.verdict)}</strong></p>")
        if "ranks" in figures:
            body.append(image("ranks"))
        body.append(_html_table(summary_table(report.summary)))
    else:
        body.append(f"<p>{html.escape(inversion_absent(report))}</p>")
    body += [
        "<h2>Best feature set against the others</h2>",
        _html_table(comparison_table(report.comparisons)),
    ]
    if report.published is not None and len(report.published):
        body += ["<h2>Published numbers beside ours</h2>", _html_table(report.published.round(4))]
    body += [DETAILS_HTML_HEADING, "<h3>Per-class recall and confusion matrices</h3>"]
    for config, _ in config_sections(report):
        stem = config.stem
        body += [
            f"<details><summary>{html.escape(config.title)}</summary>",
            image(f"recall_{stem}"),
            image(f"confusion_{stem}") if f"confusion_{stem}" in figures else "",
            "</details>",
        ]
    for title, _, table, _ in _gain_sections(report):
        body += [
            f"<h3>{html.escape(title)}: every cell</h3>",
            _html_table(table[table.cell != "average"]),
        ]
    body += ["<h2>All cells</h2>", _html_table(cell_table(report.cells))]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>paraser report'
        f"</title><style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


#: The heading of the long tables at the end of ``report.html`` (analysis sections go before).
DETAILS_HTML_HEADING = "<h2>Detailed tables</h2>"


def protocol_summary_table(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return table
    return pd.DataFrame(
        {
            "configuration": [
                Condition(*row).title for row in table[CONFIG_COLUMNS].itertuples(index=False)
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
