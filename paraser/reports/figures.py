"""The figures of a report: which configurations get a heatmap, recall and confusion
matrix, and the ranks figure (drawn by :mod:`paraser.reports.plots`)."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterator
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
    from paraser.reports.document import FigureImages


#: Figures below this many are drawn in this process: starting workers (each imports
#: matplotlib, ~1 s) would cost more than the drawing they share.
PARALLEL_MIN_FIGURES = 6


def report_figures(report: Report, jobs: int | None = None) -> dict[str, tuple[str, FigureImages]]:
    """name -> (caption, images), in page order.

    Figures are independent, so with many of them they are drawn by ``jobs`` worker
    processes (default: every core); a figure is drawn and saved whole in one process,
    so its bytes are those of a serial run.
    """
    return start_report_figures(report, jobs)()


def start_report_figures(
    report: Report, jobs: int | None = None
) -> Callable[[], dict[str, tuple[str, FigureImages]]]:
    """Start drawing :func:`report_figures`; the returned call waits for them.

    With worker processes the drawing goes on while this process writes the tables.
    """
    drawings = figure_drawings(report)
    images = draw_all([(function, args) for _, function, args in drawings.values()], jobs)

    def finish() -> dict[str, tuple[str, FigureImages]]:
        return {
            name: (caption, image)
            for (name, (caption, _, _)), image in zip(drawings.items(), images)
        }

    return finish


def figure_drawings(report: Report) -> dict[str, tuple[str, str, tuple]]:
    """name -> (caption, plot function of :mod:`paraser.reports.plots`, its arguments), in
    page order: what to draw.

    Functions by name, so that a process that only hands the drawing to workers does
    not import matplotlib (~0.75 s).
    """
    order = corpus_order(report.config)
    drawings: dict[str, tuple[str, Callable, tuple]] = {}
    if len(report.summary):
        drawings["ranks"] = (
            "Within-corpus rank vs transfer rank of each feature set (mean UAR beside it)",
            "rank_chart",
            (report.summary,),
        )
    for config, cells in config_sections(report):
        stem, title = config.stem, config.title
        caption = f"UAR: {title}; diagonal framed: within-corpus"
        if config.adaptation != "none":
            caption += ", here the unadapted within-corpus ceiling in brackets"
        drawings[f"heatmap_{stem}"] = (
            caption,
            "transfer_heatmap",
            (with_ceiling(report.cells, config, cells), title, order),
        )
        drawings[f"recall_{stem}"] = (
            f"Per-class recall: {title}",
            "recall_heatmap",
            (config.select(report.recall), f"Per-class recall: {title}", order),
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
        drawings[f"confusion_{stem}"] = (
            f"Confusion matrices: {title}",
            "confusion_grid",
            (matrices, f"Confusion: {title}", order),
        )
    return drawings


def figure_workers(n_figures: int, jobs: int | None = None) -> int:
    """Worker processes that draw ``n_figures`` figures (1: none, this process draws)."""
    if n_figures < PARALLEL_MIN_FIGURES:
        return 1
    return max(1, min(jobs or os.cpu_count() or 1, n_figures))


def start_figure_workers(workers: int) -> Callable[[], None]:
    """Start ``workers`` processes now and have them import matplotlib and draw a first,
    tiny figure; the returned call waits until they have.

    They are the ones :func:`draw_all` then uses (joblib reuses its process pool for
    the same number of workers), so their start-up overlaps the statistics.
    """
    if workers <= 1:
        return lambda: None
    from joblib import delayed

    from paraser.parallel import parallel_runner

    started = parallel_runner(workers, return_as="generator")(
        delayed(_import_plots)() for _ in range(workers)
    )
    # Consumed to the end before draw_all starts: an unfinished joblib generator that is
    # closed stops the pool's workers.
    return lambda: collections.deque(started, maxlen=0)


def _import_plots() -> None:
    from paraser.reports import plots

    plots.warm_up()


def draw(function: str, *args) -> FigureImages:
    """The figure that :mod:`paraser.reports.plots`' ``function`` draws from ``args``."""
    from paraser.reports import plots  # matplotlib only where figures are drawn

    return getattr(plots, function)(*args)


def draw_all(drawings: list[tuple[str, tuple]], jobs: int | None = None) -> Iterator:
    """:func:`draw` of every drawing, in order; in worker processes when there are many.

    Workers start at once and draw while the caller goes on; iterating waits for them.
    In this process (few drawings, ``jobs=1``) each is drawn as it is iterated.
    """
    workers = figure_workers(len(drawings), jobs)
    if workers <= 1:
        return (draw(function, *args) for function, args in drawings)
    from joblib import delayed

    from paraser.parallel import parallel_runner

    # Confusion grids first: the longest drawings at the start even out the finish.
    order = sorted(range(len(drawings)), key=lambda i: drawings[i][0] != "confusion_grid")
    drawn = parallel_runner(workers, return_as="generator")(
        delayed(draw)(drawings[i][0], *drawings[i][1]) for i in order
    )

    def in_order() -> Iterator:
        images: list = [None] * len(drawings)
        for index, image in zip(order, drawn):
            images[index] = image
        yield from images

    return in_order()


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
