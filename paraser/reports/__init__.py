"""Reports: tables, statistics and exports read from tidy result tables."""

from paraser.reports.export import build_report, write_report
from paraser.reports.stats import (
    bootstrap_uar,
    cell_statistics,
    chance_test,
    holm,
    paired_difference,
)
from paraser.reports.tables import (
    cell_summary,
    protocol_statement,
    uar_matrix,
    write_matrices,
)
from paraser.results import load_results

__all__ = [
    "bootstrap_uar",
    "build_report",
    "cell_statistics",
    "cell_summary",
    "holm",
    "load_results",
    "paired_difference",
    "chance_test",
    "protocol_statement",
    "uar_matrix",
    "write_matrices",
    "write_report",
]
