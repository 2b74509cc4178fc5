"""Results shown on a terminal: the UAR matrices of a results folder as rich tables."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from paraser.corpora.tasks import label_statement
from paraser.reports.tables import (
    OPTIMISTIC_MARK,
    cell_summary,
    conditions,
    is_optimistic,
    matrix_order,
    protocol_statement,
)
from paraser.results import has_config, load_results, read_config


def print_matrices(results_dir: Path, out_console: Console) -> None:
    """Every configuration's UAR matrix († collapsed, bold diagonal), then the protocol."""
    results = load_results(results_dir)
    cells = cell_summary(results)
    for config in conditions(results):
        group = config.select(cells)
        sources, names = matrix_order(group.source, group.target)
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
