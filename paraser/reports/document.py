"""``report.md`` and ``report.html``: the one writer of both, assembled from sections.

The full report (:func:`paraser.reports.export.write_report`) is the main text plus the
sections of the analyses a results folder holds (domain shift, few-shot curves, feature
importance), each between its own markers, before the long tables ("Detailed tables"). A
later analysis run into a folder that already has a report adds (or replaces) its section
with :func:`add_section`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from paraser.results import REPORT_HTML_FILE, REPORT_MARKDOWN_FILE, atomic_write_text

#: Where a section goes in each document: before the first anchor found, else at the end.
ANCHORS = {
    REPORT_MARKDOWN_FILE: ("## Detailed tables", "## All cells"),
    REPORT_HTML_FILE: ("<h2>Detailed tables</h2>", "<h2>All cells</h2>", "</body>"),
}


# Here, not beside the plotting code: a process that receives figures drawn elsewhere
# unpickles them without importing matplotlib.
class FigureImages(NamedTuple):
    """One figure as written (``png`` at :data:`paraser.reports.plots.PRINT_DPI`, ``pdf``) and
    as embedded in ``report.html`` (``screen``)."""

    screen: bytes
    png: bytes
    pdf: bytes


@dataclass
class Report:
    """Everything a report shows, as tables.

    Built by :func:`paraser.reports.export.build_report`, rendered by
    :mod:`paraser.reports.render`.
    """

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
    #: Mean UAR per configuration, kind and protocol family
    #: (:func:`paraser.reports.export.protocol_summary`).
    by_protocol: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Speaker-independent within UAR beside the stratified reference cell, per corpus.
    reference: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class Section:
    """One analysis' part of the report, in both formats, and the markers around it."""

    markers: tuple[str, str]
    markdown: str
    html: str

    def text(self, document: str) -> str:
        return self.markdown if document == REPORT_MARKDOWN_FILE else self.html


def place(text: str, section: str, markers: tuple[str, str], anchors: Sequence[str]) -> str:
    """``text`` with ``section`` between ``markers``: replacing an earlier copy, else before
    the first anchor found, else at the end."""
    start, end = markers
    block = f"{start}\n{section}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    anchor = next((a for a in anchors if a in text), None)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    if anchor:
        return text.replace(anchor, block + "\n" + anchor, 1)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def write_report_documents(
    results_dir: Path, markdown: str, html: str, sections: Sequence[Section]
) -> list[Path]:
    """Write ``report.md`` and ``report.html``: the main text with every section placed."""
    written = []
    for document, text in ((REPORT_MARKDOWN_FILE, markdown), (REPORT_HTML_FILE, html)):
        for section in sections:
            text = place(text, section.text(document), section.markers, ANCHORS[document])
        atomic_write_text(results_dir / document, text)
        written.append(results_dir / document)
    return written


def add_section(results_dir: Path, section: Section | None) -> None:
    """Place ``section`` into the report documents that exist (none: nothing to do)."""
    if section is None:
        return
    for document, anchors in ANCHORS.items():
        path = results_dir / document
        if path.is_file():
            text = place(path.read_text(), section.text(document), section.markers, anchors)
            atomic_write_text(path, text)
