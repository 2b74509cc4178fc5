"""Reports: tables, statistics and exports read from tidy result tables."""

from __future__ import annotations

#: The public names and the modules that define them.
_API = {
    "bootstrap_uar": "paraser.reports.stats",
    "build_report": "paraser.reports.export",
    "cell_statistics": "paraser.reports.stats",
    "cell_summary": "paraser.reports.tables",
    "holm": "paraser.reports.stats",
    "load_results": "paraser.results",
    "paired_difference": "paraser.reports.stats",
    "chance_test": "paraser.reports.stats",
    "protocol_statement": "paraser.reports.tables",
    "uar_matrix": "paraser.reports.tables",
    "write_matrices": "paraser.reports.tables",
    "write_report": "paraser.reports.export",
}

__all__ = list(_API)


def __getattr__(name: str):
    # Imported lazily: a process that only draws figures (a report's figure workers)
    # imports paraser.reports.plots without the statistics and scipy (~1.5 s).
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'paraser.reports' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
