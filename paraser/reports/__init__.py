"""Reports: tables, statistics and exports read from tidy result tables."""

from paraser.reports.tables import (
    cell_summary,
    load_results,
    protocol_statement,
    uar_matrix,
    write_matrices,
)

__all__ = ["cell_summary", "load_results", "protocol_statement", "uar_matrix", "write_matrices"]
