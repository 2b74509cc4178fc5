"""What a journal needs from a report (issue 17): vector and 300-dpi figures, LaTeX that
escapes every special character, numeric columns aligned right, tables that fit the page.

The renders themselves need no browser or TeX; one test compiles ``tables.tex`` with
``pdflatex`` in a one- and a two-column article and is skipped where TeX is missing.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from test_reports import INVERTED, fabricate_run
from typer.testing import CliRunner

from paraser.cli import app
from paraser.reports.render import latex_table
from paraser.reports.tables import column_alignment, markdown_table

NASTY = "a$b{c}d~e^f&g%h#i_j\\k"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = fabricate_run(tmp_path_factory.mktemp("publication"), INVERTED)
    result = CliRunner().invoke(app, ["report", str(out), "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    return out


def test_every_figure_is_a_vector_pdf_beside_a_300_dpi_png(run):
    figures = run / "figures"
    pngs = sorted(figures.glob("*.png"))
    assert pngs
    for png in pngs:
        assert png.with_suffix(".pdf").read_bytes().startswith(b"%PDF"), png.name
        with Image.open(png) as image:
            assert round(image.info["dpi"][0]) >= 300, png.name
    # The page embeds screen-sized copies, not the print files.
    page = (run / "report.html").read_text()
    embedded = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    largest = max(p.stat().st_size for p in pngs)
    assert embedded and all(len(data) * 3 // 4 < largest for data in embedded)


_REPORT_THEN_LIST_IMPORTS = """
import runpy, sys
sys.argv = ["paraser", "report", sys.argv[1], "--n-boot", "100"]
try:
    runpy.run_module("paraser.cli", run_name="__main__")
except SystemExit as stop:
    assert not stop.code, stop.code
print("matplotlib" in sys.modules)
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: figures are drawn in-process")
def test_the_process_writing_a_report_leaves_matplotlib_to_the_figure_workers(run):
    # Importing it (~0.75 s) would sit on the report's critical path while workers draw.
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_THEN_LIST_IMPORTS, str(run)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.split()[-1] == "False", done.stdout


def test_confusion_figures_write_class_names_in_full_on_a_source_by_target_grid(monkeypatch):
    from paraser.reports import plots

    drawn = []
    real_render = plots.render
    monkeypatch.setattr(plots, "render", lambda fig: drawn.append(fig) or real_render(fig))
    classes = ["happiness", "sadness"]
    matrix = pd.DataFrame([[0.5, 0.5], [0.2, 0.8]], index=classes, columns=classes)
    cells = {("emovo", "emovo"): matrix, ("emovo", "emodb"): matrix, ("emodb", "emodb"): matrix}
    images = plots.confusion_grid(cells, "t", order=["emovo", "emodb"])
    (fig,) = drawn
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [
        "emovo (within)", "emovo → emodb", "emodb (within)",
    ]  # fmt: skip
    for ax in panels:
        assert [t.get_text() for t in ax.get_xticklabels()] == classes
        assert [t.get_text() for t in ax.get_yticklabels()] == classes
    with Image.open(io.BytesIO(images.png)) as image:
        assert round(image.info["dpi"][0]) == 300


def test_latex_escapes_every_special_character():
    table = latex_table(pd.DataFrame({NASTY: [NASTY], "uar": ["0.860"]}), "caption", "tab:x")
    escaped = r"a\$b\{c\}d\textasciitilde{}e\textasciicircum{}f\&g\%h\#i\_j\textbackslash{}k"
    assert table.count(escaped) == 2  # header and cell
    assert NASTY not in table


def test_text_columns_align_left_and_numeric_columns_right():
    frame = pd.DataFrame(
        {
            "source": ["emodb", "emovo"],
            "UAR [95% CI]": ["0.860 [0.801, 0.912]†", "–"],
            "gain": ["+0.012", "−0.030"],
            "p": ["<0.001", "0.200"],
            "above chance": ["3 of 4", "1 of 4"],
            "ceiling": ["(0.750)", "0.700‡"],
        }
    )
    assert column_alignment(frame) == ["l", "r", "r", "r", "r", "r"]
    assert r"\begin{tabular}{lrrrrr}" in latex_table(frame, "c", "tab:c")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("options", ["10pt", "10pt,twocolumn"])
def test_tables_compile_without_an_overfull_box(run, tmp_path, options):
    source = tmp_path / "paper.tex"
    source.write_text(
        f"\\documentclass[{options}]{{article}}\n\\usepackage[T1]{{fontenc}}\n"
        "\\usepackage{booktabs}\n\\usepackage{graphicx}\n\\begin{document}\n"
        f"\\input{{{(run / 'tables.tex').as_posix()}}}\n\\end{{document}}\n"
    )
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    log = (tmp_path / "paper.log").read_text(errors="replace")
    assert done.returncode == 0, log[-2000:]
    assert "Overfull \\hbox" not in log


def test_markdown_aligns_text_left_numbers_right_with_three_decimals():
    frame = pd.DataFrame({"source": ["emodb", "urdu"], "uar": [0.86, 0.5], "n": [3, 12]})
    header, rule, first, _ = markdown_table(frame).splitlines()
    assert rule.replace(" ", "").startswith("|:-") and rule.replace(" ", "").endswith("-:|")
    assert "0.860" in first and "0.86 " not in first
    assert first.startswith("| emodb ")


def test_matrices_follow_the_corpora_order_of_the_run(tmp_path):
    out = fabricate_run(tmp_path / "run", INVERTED)
    config = json.loads((out / "config.json").read_text())
    config["corpora"] = {name: {} for name in ("c", "a", "b")}  # as --corpora c,a,b wrote it
    (out / "config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(app, ["report", str(out), "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    matrix = pd.read_csv(next(out.glob("matrix_*_svm.csv")), index_col="source")
    assert list(matrix.index) == list(matrix.columns) == ["c", "a", "b"]
    header = next(line for line in (out / "report.md").read_text().splitlines()
                  if line.startswith("| source"))  # fmt: skip
    assert [c.strip() for c in header.strip("|").split("|")][1:] == ["c", "a", "b"]
    # The terminal's matrices too (``paraser report`` prints them).
    terminal = next(line for line in result.output.splitlines() if "source \\ target" in line)
    assert [c.strip() for c in terminal.split("┃") if c.strip()][1:] == ["c", "a", "b"]


def test_html_tables_align_every_text_column_left_and_numbers_right(run):
    """Not only the first column: a text column anywhere is left-aligned, numbers right."""
    page = (run / "report.html").read_text()
    assert "td.l,table.t th.l{text-align:left}" in page
    rows = re.findall(r"<tr>\s*((?:<td[^>]*>.*?</td>\s*)+)</tr>", page, flags=re.S)
    cells = [re.findall(r"<td( class=\"l\")?>(.*?)</td>", row, flags=re.S) for row in rows]
    numbers = re.compile(r"^[−+-]?\d+(\.\d+)?( \[.*\])?[†‡*]*$")
    text_beyond_first = [
        value for row in cells for marked, value in row[1:] if marked and not numbers.match(value)
    ]
    assert text_beyond_first  # e.g. protocol or kind columns
    for row in cells:
        for marked, value in row:
            if numbers.match(value.strip()):
                assert not marked, value  # numbers stay right-aligned
