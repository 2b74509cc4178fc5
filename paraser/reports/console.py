"""Results shown on a terminal as rich tables: UAR matrices, published numbers beside ours,
domain shift per corpus pair."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from paraser.corpora.tasks import label_statement
from paraser.reports.tables import (
    OPTIMISTIC_MARK,
    cell_summary,
    conditions,
    corpus_order,
    is_optimistic,
    matrix_order,
    protocol_statement,
)
from paraser.results import has_config, load_results, read_config


def print_matrices(results_dir: Path, out_console: Console) -> None:
    """Every configuration's UAR matrix († collapsed, bold diagonal), then the protocol."""
    results = load_results(results_dir)
    cells = cell_summary(results)
    order = corpus_order(read_config(results_dir))  # as --corpora named them
    for config in conditions(results):
        group = config.select(cells)
        sources, names = matrix_order(group.source, group.target, order)
        table = Table(title=f"UAR — {config.title} (rows: source, columns: target)")
        table.add_column("source \\ target")
        for name in names:
            table.add_column(name, justify="right")
        lookup = {(r.source, r.target): r for r in group.itertuples(index=False)}
        for source in sources:
            cells_text = []
            for target in names:
                row = lookup.get((source, target))
                if row is None:
                    cells_text.append("–")
                    continue
                text = f"{row.uar:.3f}"
                if is_optimistic(row.kind, row.protocol):
                    text += OPTIMISTIC_MARK
                if row.collapsed:
                    text = f"[red]{text}†[/]"
                elif source == target:
                    text = f"[bold]{text}[/]"
                cells_text.append(text)
            table.add_row(source, *cells_text)
        out_console.print(table)
    out_console.print(protocol_statement(results))
    statement = _label_statement(results_dir)
    if statement:
        out_console.print(statement)


def _label_statement(results_dir: Path) -> str:
    if not has_config(results_dir):
        return ""
    return label_statement(read_config(results_dir).get("label_map"))


def published_table(name: str, published: pd.DataFrame) -> Table:
    """A reproduction's published numbers beside ours (with our UAR's CI)."""
    # Published entries may give UAR, accuracy and/or macro-F1; each beside ours.
    metrics = [m for m in ("uar", "accuracy", "macro_f1") if f"published_{m}" in published]
    table = Table(title=f"{name}: published {', '.join(metrics)} beside ours")
    columns = ["source", "target", "feature_set", "classifier"]
    varied = [c for c in ("augmentation",) if c in published]
    columns += [c for c in varied if published[c].nunique() > 1]
    for column in columns:
        table.add_column(column.replace("feature_set", "features"))
    for metric in metrics:
        table.add_column(f"published {metric}")
        table.add_column(f"ours {metric}" + (" [95% CI]" if metric == "uar" else ""))
    for row in published.to_dict("records"):
        cells = [str(row[c]) for c in columns]
        for metric in metrics:
            ours = f"{row[f'our_{metric}']:.4f}"
            if metric == "uar":
                ours += f" [{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
            cells += [f"{row[f'published_{metric}']:.4f}", ours]
        table.add_row(*cells)
    return table


def shift_table(pairs: pd.DataFrame) -> Table:
    """Distances per corpus pair and feature set (each unordered pair once)."""
    table = Table(title="Domain shift per corpus pair (distances are symmetric)")
    columns = ("features", "pair", "MMD² (p)", "PAD", "Fréchet", "prior TVD", "class MMD²")
    for column in (*columns, "top family"):
        table.add_column(column, justify="left" if column in ("features", "pair") else "right")
    for r in pairs[pairs.source < pairs.target].itertuples(index=False):
        table.add_row(
            r.feature_set,
            f"{r.source} – {r.target}",
            f"{r.mmd2:.3f} ({r.mmd_p:.3f})",
            f"{r.pad:.2f}" + ("" if r.pad_unit == "speaker" else " (utt.)"),
            f"{r.frechet:.3f}",
            f"{r.prior_tvd:.2f}",
            f"{r.class_conditional_mmd2:.3f}",
            r.top_family,
        )
    return table
