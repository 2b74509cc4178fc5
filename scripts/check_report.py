"""Look at a report as a reader would: render it, compile it, rasterise it.

    python scripts/check_report.py RESULTS_DIR [--out reports/check]

* ``report.html`` is rendered by headless Chromium to ``report_page1.png`` (first
  screen) and ``report_full.png`` (whole page);
* ``tables.tex`` is compiled inside a one-column and a two-column ``article``; every
  overfull box is listed (table, width) and the PDFs are rasterised page by page;
* every figure is listed with its format, pixel size and resolution; a PNG under
  300 dpi or without its vector PDF beside it is flagged.

Exit status 1 when a render or compile fails, a box is overfull or a figure is not
print-ready, so layout regressions are seen. Needs ``chromium``, ``pdflatex`` (with booktabs and
siunitx) and ``pdftoppm`` (Debian: chromium texlive-latex-extra texlive-science
poppler-utils); a missing tool is named and its check skipped.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

PREAMBLE = r"""\documentclass[{options}]{{article}}
\usepackage[T1]{{fontenc}}
\usepackage[utf8]{{inputenc}}
\usepackage{{booktabs}}
\usepackage{{graphicx}}
\usepackage{{siunitx}}
\usepackage{{amssymb}}
\begin{{document}}
\input{{{tables}}}
\end{{document}}
"""


def _tool(name: str) -> str | None:
    path = shutil.which(name)
    if path is None:
        print(f"  {name}: not installed; check skipped")
    return path


def render_html(report: Path, out: Path) -> bool:
    chromium = _tool("chromium") or _tool("chromium-browser") or _tool("google-chrome")
    if chromium is None or not report.is_file():
        return report.is_file() or not print(f"  {report}: missing")
    ok = True
    for name, size in (("report_page1.png", "1280,900"), ("report_full.png", "1280,6000")):
        target = out / name
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--window-size={size}", f"--screenshot={target}", report.resolve().as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        ok &= done.returncode == 0 and target.is_file()
        print(f"  {report.name} -> {target} ({'ok' if target.is_file() else 'FAILED'})")
    return ok


def compile_tables(tables: Path, out: Path) -> bool:
    pdflatex = _tool("pdflatex")
    if pdflatex is None or not tables.is_file():
        return tables.is_file() or not print(f"  {tables}: missing")
    ok = True
    for layout, options in (("onecolumn", "10pt"), ("twocolumn", "10pt,twocolumn")):
        stem = f"tables_{layout}"
        source = out / f"{stem}.tex"
        source.write_text(PREAMBLE.format(options=options, tables=tables.resolve().as_posix()))
        done = subprocess.run(
            [pdflatex, "-interaction=nonstopmode", "-halt-on-error", source.name],
            cwd=out, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        log = (out / f"{stem}.log").read_text(errors="replace")
        overfull = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
        compiled = done.returncode == 0
        ok &= compiled and not overfull
        worst = f", widest {max(map(float, overfull)):.0f} pt too wide" if overfull else ""
        print(
            f"  {tables.name} in a {layout} article: {'compiled' if compiled else 'FAILED'}, "
            f"{len(overfull)} overfull box(es){worst}"
        )
        if compiled and shutil.which("pdftoppm"):
            subprocess.run(["pdftoppm", "-png", "-r", "80", f"{stem}.pdf", stem], cwd=out,
                           capture_output=True, timeout=120)  # fmt: skip
    return ok


#: What a journal asks of a raster figure (each also comes as a vector PDF beside it).
PRINT_DPI = 300


def list_figures(figures: Path) -> bool:
    """List every figure; False when a PNG is under :data:`PRINT_DPI` or has no PDF beside it."""
    if not figures.is_dir():
        print(f"  {figures}: no figures")
        return True
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - matplotlib brings Pillow
        Image = None
    ok = True
    for path in sorted(figures.iterdir()):
        detail = path.suffix.lstrip(".")
        if Image is not None and path.suffix == ".png":
            with Image.open(path) as image:
                dpi = float(image.info.get("dpi", (0,))[0])
                detail = f"png {image.width}x{image.height} px, {dpi:.0f} dpi"
            problems = [f"under {PRINT_DPI} dpi"] if round(dpi) < PRINT_DPI else []
            if not path.with_suffix(".pdf").is_file():
                problems.append("no PDF beside it")
            if problems:
                ok = False
                detail += " -- NOT PRINT-READY: " + ", ".join(problems)
        print(f"  {path.name}: {detail}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a results folder after `paraser report`")
    parser.add_argument("--out", type=Path, default=Path("reports/check"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"report.html ({args.results}):")
    html_ok = render_html(args.results / "report.html", args.out)
    print("tables.tex:")
    latex_ok = compile_tables(args.results / "tables.tex", args.out)
    print("figures:")
    figures_ok = list_figures(args.results / "figures")
    print(f"images in {args.out}/")
    return 0 if html_ok and latex_ok and figures_ok else 1


if __name__ == "__main__":
    sys.exit(main())
