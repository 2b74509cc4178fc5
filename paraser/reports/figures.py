"""The figures of a report: which configurations get a heatmap, recall and confusion
matrix, and the ranks figure (drawn by :mod:`paraser.reports.plots`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paraser.reports.document import Report
from paraser.reports.inversion import (
    ALL,
)
from paraser.reports.render import config_sections, with_ceiling
from paraser.reports.stats import (
    confusion_matrix,
)
from paraser.reports.tables import (
    Condition,
    baseline,
    corpus_order,
)
from paraser.results import (
    CONFIG_COLUMNS,
)

if TYPE_CHECKING:  # matplotlib only when figures are drawn
    from paraser.reports.plots import FigureImages


def report_figures(report: Report) -> dict[str, tuple[str, FigureImages]]:
    """name -> (caption, images), in page order."""
    from paraser.reports import plots  # matplotlib only when figures are drawn

    order = corpus_order(report.config)
    figures: dict[str, tuple[str, FigureImages]] = {}
    if len(report.summary):
        figures["ranks"] = (
            "Within-corpus rank vs transfer rank of each feature set (mean UAR beside it)",
            plots.rank_chart(report.summary),
        )
    for config, cells in config_sections(report):
        stem, title = config.stem, config.title
        caption = f"UAR: {title}; diagonal framed: within-corpus"
        if config.adaptation != "none":
            caption += ", here the unadapted within-corpus ceiling in brackets"
        figures[f"heatmap_{stem}"] = (
            caption,
            plots.transfer_heatmap(with_ceiling(report.cells, config, cells), title, order),
        )
        figures[f"recall_{stem}"] = (
            f"Per-class recall: {title}",
            plots.recall_heatmap(config.select(report.recall), f"Per-class recall: {title}", order),
        )
    # Confusion grids (one matrix per cell) are the slowest figures: drawn for the feature
    # sets that win within or under transfer per classifier; confusion.csv has them all.
    for config in _winner_configurations(report):
        stem, title = config.stem, config.title
        predictions = config.select(report.predictions)
        matrices = {
            (s, t): confusion_matrix(group)
            for (s, t), group in predictions.groupby(["source", "target"])
        }
        figures[f"confusion_{stem}"] = (
            f"Confusion matrices: {title}",
            plots.confusion_grid(matrices, f"Confusion: {title}", order),
        )
    return figures


def _winner_configurations(report: Report) -> list[Condition]:
    """Baseline configurations of the within and transfer winners."""
    chosen = []
    summary = report.summary[report.summary.scope != ALL]
    levels = baseline(report.cells)[CONFIG_COLUMNS[2:]].iloc[0]
    for classifier, group in summary.groupby("scope"):
        for column in ("within_uar", "transfer_uar"):
            if group[column].notna().any():
                feature_set = group.loc[group[column].idxmax(), "feature_set"]
                key = Condition(feature_set, classifier, *levels)
                if key not in chosen:
                    chosen.append(key)
    return chosen
