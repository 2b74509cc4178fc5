"""Parse the tables of rendered reports (Markdown, LaTeX, HTML) back into string frames.

The round-trip tests read what a reader sees, not the frames the renderer started from, so a
column rendered under the wrong header or a transposed matrix is caught.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def numbers(text: str) -> list[float]:
    """Every number written in a rendered cell, in order ("0.940 [0.826, 1.053]‡" -> 3)."""
    return [float(n) for n in NUMBER.findall(str(text))]


def _frame(header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    assert all(len(r) == len(header) for r in rows), (header, rows)
    return pd.DataFrame(rows, columns=header)


def markdown_tables(text: str) -> list[tuple[str, pd.DataFrame]]:
    """(nearest heading above, table) for every pipe table in a Markdown text."""
    tables, heading, block = [], "", []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        if block:
            # block[1] is the |:---|---:| separator row.
            tables.append((heading, _frame(block[0], block[2:])))
            block = []
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
    return tables


def latex_tables(text: str) -> list[tuple[str, pd.DataFrame]]:
    """(caption, table) for every booktabs tabular in a LaTeX text."""
    tables = []
    for table in re.findall(r"\\begin\{table\*?\}.*?\\end\{table\*?\}", text, flags=re.S):
        caption = re.search(r"\\caption\{(.*)\}", table)
        body = re.search(r"\\toprule\n(.*?)\\bottomrule", table, flags=re.S).group(1)
        lines = [ln for ln in body.splitlines() if ln.strip() and ln.strip() != "\\midrule"]
        rows = [[c.strip() for c in ln.rstrip().removesuffix("\\\\").split(" & ")] for ln in lines]
        tables.append((caption.group(1) if caption else "", _frame(rows[0], rows[1:])))
    return tables


class _HtmlTables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.heading = ""
        self._in: str | None = None
        self._text = ""
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "h3", "th", "td"):
            self._in, self._text = tag, ""
        elif tag == "table":
            self.tables.append((self.heading, []))
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3") and self._in == tag:
            self.heading = self._text.strip()
        elif tag in ("th", "td") and self._row is not None:
            self._row.append(self._text.strip())
        elif tag == "tr" and self._row is not None:
            self.tables[-1][1].append(self._row)
            self._row = None
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._text += data


def html_tables(text: str) -> list[tuple[str, pd.DataFrame]]:
    """(nearest heading above, table) for every <table> of an HTML page.

    pandas writes the index as a first, empty-headed column; it is dropped.
    """
    parser = _HtmlTables()
    parser.feed(text)
    out = []
    for heading, rows in parser.tables:
        header, body = rows[0], rows[1:]
        frame = _frame(header, body)
        if header and header[0] == "":
            frame = frame.iloc[:, 1:]
        out.append((heading, frame))
    return out
