"""A report rendered: Markdown (``report.md``), LaTeX (``tables.tex``) and a self-contained
HTML page (``report.html``), from the tables of a :class:`~paraser.reports.document.Report`.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import pandas as pd

from paraser.corpora.tasks import label_statement
from paraser.reports.document import Report
from paraser.reports.gains import gains_sentences, gains_table
from paraser.reports.tables import (
    OPTIMISTIC_MARK,
    SCORING_NOTE,
    Condition,
    conditions,
    is_optimistic,
    marks,
    matrix_order,
    protocol_statement,
    reference_markdown,
)
from paraser.results import CONFIG_COLUMNS


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


def render_markdown(report: Report) -> str:
    lines = [
        "# paraser report",
        "",
        protocol_statement(report.results),
        "",
        *_label_lines(report.config),
        f"UAR [95% CI]: within-corpus cells {SCORING_NOTE}; the interval is a "
        "delete-one-speaker jackknife (t with G-1 df over the G test speakers) where the "
        "predictions carry speaker ids, else over utterances. p > chance: one-sided test of "
        "UAR against the UAR that predictions unrelated to the labels would score (same "
        "marginals), with the same speaker jackknife standard error, Holm-corrected over all "
        "cells. Within-corpus summaries are computed per protocol family, never across.",
        "",
        *reference_markdown(report.reference),
        "## Summary by protocol",
        "",
        _markdown(protocol_summary_table(report.by_protocol)),
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
    for config, cells in config_sections(report):
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


def render_latex(report: Report) -> str:
    parts = [
        "% paraser report tables; needs \\usepackage{booktabs}",
        latex_table(
            protocol_summary_table(report.by_protocol).drop(columns="targets"),
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
    for config, cells in config_sections(report):
        matrix = ci_matrix(cells).reset_index().rename(columns={"source": "source / target"})
        parts.append(
            latex_table(
                matrix,
                f"UAR [95\\% CI], {_latex_escape(config.title)}; rows: source, columns: target; "
                "diagonal: within-corpus UAR over pooled out-of-fold predictions.",
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


def render_html(report: Report, figures: dict[str, tuple[str, bytes]]) -> str:
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
        *(
            [
                "<h2>Within-corpus: speaker-independent against stratified (speakers shared)</h2>",
                _html_table(report.reference),
            ]
            if len(report.reference)
            else []
        ),
        "<h2>Summary by protocol</h2>",
        _html_table(protocol_summary_table(report.by_protocol)),
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
    for config, _ in config_sections(report):
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
