"""Report figures (matplotlib, Agg backend): each function returns :class:`FigureImages`.

A journal wants vector figures or raster ones of at least 300 dpi; a self-contained HTML page
wants small ones. Every figure is therefore rendered three times from the same drawing: a PDF
(vector), a 300-dpi PNG (both written to ``figures/``) and a screen-resolution PNG that
``report.html`` embeds, so the page stays a few megabytes however many figures it has.
Colour maps are perceptually uniform and colour-blind safe (viridis, cividis).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from paraser.reports.document import FigureImages  # noqa: E402
from paraser.reports.tables import (  # noqa: E402
    COLLAPSE_MARK,
    OPTIMISTIC_MARK,
    is_optimistic,
    marks,
    matrix_order,
)

#: Resolution of the PNG files in ``figures/`` (journals ask for 300 dpi or more).
PRINT_DPI = 300
#: Resolution of the PNGs embedded in ``report.html``.
SCREEN_DPI = 90
#: No creation date or library version in the PDF: the same run gives the same bytes.
_PDF_METADATA = {"Creator": "paraser", "Producer": None, "CreationDate": None}


#: zlib level of the PNGs: 1 encodes a 300-dpi figure ~4x as fast as Pillow's default 6,
#: for files ~15 % larger (flat colours and text compress well at any level).
_PNG_COMPRESS_LEVEL = 1


def render(fig) -> FigureImages:
    """The figure in every format; closes it.

    Drawn twice, not three times: once as the print raster, whose downsampled copy is
    the screen PNG, and once as the PDF.  The layout is solved on the first drawing and
    kept, so both show the same arrangement and the constrained-layout solver (a third
    of a drawing's time) runs once.
    """
    from PIL import Image

    fig.set_dpi(PRINT_DPI)
    fig.canvas.draw()
    fig.set_layout_engine("none")
    # Figures are opaque: RGB, a quarter less to compress than the canvas' RGBA.
    raster = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
    scale = SCREEN_DPI / PRINT_DPI
    # reducing_gap: a 3x box reduction first, then Lanczos (a third of the time, same look).
    screen = raster.resize(
        (round(raster.width * scale), round(raster.height * scale)),
        Image.Resampling.LANCZOS,
        reducing_gap=1.0,
    )
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", metadata=_PDF_METADATA)
    plt.close(fig)
    return FigureImages(
        screen=_png(screen, SCREEN_DPI), png=_png(raster, PRINT_DPI), pdf=pdf.getvalue()
    )


def warm_up() -> None:
    """Render a tiny figure in every format and throw it away.

    A process's first figure pays for fonts, the PDF backend and the PNG encoder
    (~0.4 s); a figure worker pays it while the report's statistics are computed.
    """
    fig, ax = plt.subplots(figsize=(1, 1), layout="constrained")
    fig.colorbar(ax.imshow([[0.0, 1.0]]), ax=ax)
    ax.text(0, 0, "0.50", fontsize=6)
    ax.set_title("warm-up", fontsize=8)
    render(fig)


def _png(image, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="png", dpi=(dpi, dpi), compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def transfer_heatmap(cells: pd.DataFrame, title: str, order=()) -> FigureImages:
    """UAR matrix of one configuration: rows source, columns target; CIs and marks in cells.

    The diagonal (within-corpus, the ceiling of its column) is framed. Rows with a true
    ``ceiling`` column are an adapted matrix's ceiling: the unadapted within UAR, shown in
    brackets on the diagonal, as in the tables.
    """
    sources, targets = matrix_order(cells.source, cells.target, order)
    lookup = {(r.source, r.target): r for r in cells.itertuples(index=False)}
    values = np.full((len(sources), len(targets)), np.nan)
    for i, s in enumerate(sources):
        for j, t in enumerate(targets):
            if (s, t) in lookup:
                values[i, j] = lookup[(s, t)].uar
    fig, ax = plt.subplots(
        figsize=(1.3 * len(targets) + 2.2, 1.0 * len(sources) + 1.6), layout="constrained"
    )
    image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis")
    optimistic_shown = False
    for i, s in enumerate(sources):
        for j, t in enumerate(targets):
            row = lookup.get((s, t))
            if row is None:
                continue
            optimistic = is_optimistic(row.kind, row.protocol) if hasattr(row, "kind") else False
            optimistic_shown |= optimistic
            ceiling = getattr(row, "ceiling", False) is True
            text = (f"({row.uar:.2f})" if ceiling else f"{row.uar:.2f}") + marks(
                row.collapsed, optimistic
            )
            if not ceiling and hasattr(row, "ci_low") and np.isfinite(row.ci_low):
                text += f"\n[{row.ci_low:.2f}, {row.ci_high:.2f}]"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if row.uar < 0.6 else "black")  # fmt: skip
            if s == t:
                ax.add_patch(
                    plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black",
                                  linewidth=1.5, linestyle="--" if optimistic else "-")
                )  # fmt: skip
    ax.set_xticks(range(len(targets)), targets, rotation=30, ha="right")
    ax.set_yticks(range(len(sources)), sources)
    notes = ["framed: within-corpus (the column's ceiling)"]
    if "ceiling" in cells and (cells["ceiling"] == True).any():  # noqa: E712 (object column)
        notes = ["(brackets): unadapted within-corpus ceiling"]
    if optimistic_shown:
        notes.append(f"{OPTIMISTIC_MARK} dashed: folds share speakers (optimistic)")
    if bool(cells["collapsed"].any()):
        notes.append(f"{COLLAPSE_MARK} collapsed (not a finding)")
    fig.text(0.01, 0.0, "; ".join(notes), fontsize=6, va="bottom")
    ax.set_xlabel("target (test)")
    ax.set_ylabel("source (train)")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04, label="UAR")
    return render(fig)


def rank_chart(summary: pd.DataFrame) -> FigureImages:
    """Slope chart per scope: each feature set's within-corpus rank vs its transfer rank."""
    scopes = list(dict.fromkeys(summary["scope"]))
    fig, axes = plt.subplots(
        1, len(scopes), figsize=(3.4 * len(scopes), 3.8), squeeze=False, layout="constrained"
    )
    for ax, scope in zip(axes[0], scopes):
        group = summary[summary.scope == scope].dropna(subset=["within_rank", "transfer_rank"])
        # nanmax: a run without transfer results (no shared classes) has no ranks at all.
        n = int(np.nanmax([group["within_rank"].max(), group["transfer_rank"].max(), 1]))
        for row in group.itertuples(index=False):
            line = ax.plot([0, 1], [row.within_rank, row.transfer_rank], marker="o")[0]
            label = f"{row.feature_set} ({row.dimensions})" if row.dimensions else row.feature_set
            ax.text(-0.05, row.within_rank, f"{label} {row.within_uar:.2f}", ha="right",
                    va="center", fontsize=7, color=line.get_color())  # fmt: skip
            ax.text(1.05, row.transfer_rank, f"{row.transfer_uar:.2f}", ha="left",
                    va="center", fontsize=7, color=line.get_color())  # fmt: skip
        ax.set_ylim(n + 0.5, 0.5)
        ax.set_xlim(-1.5, 1.35)  # room for "name (dim) UAR" labels left of the within column
        ax.set_xticks([0, 1], ["within", "transfer"])
        ax.set_yticks(range(1, n + 1))
        if ax is axes[0][0]:
            ax.set_ylabel("rank (1 = best mean UAR)")
        tau = group["kendall_tau"].iloc[0] if len(group) else np.nan
        ax.set_title(f"{scope}\nKendall's tau = {tau:.2f}", fontsize=9)
    return render(fig)


def recall_heatmap(recall: pd.DataFrame, title: str, order=()) -> FigureImages:
    """Per-class recall: rows cells (source → target), columns classes (full names)."""
    sources, _ = matrix_order(recall["source"], recall["target"], order)
    rank = {name: i for i, name in enumerate(sources)}
    recall = recall.assign(cell=recall["source"] + " → " + recall["target"])
    table = recall.pivot_table(index="cell", columns="class", values="recall")
    cells = recall.drop_duplicates("cell").set_index("cell")
    table = table.loc[
        sorted(table.index, key=lambda c: (rank[cells.source[c]], rank.get(cells.target[c], 0)))
    ]
    fig, ax = plt.subplots(
        figsize=(1.0 * table.shape[1] + 3.0, 0.32 * table.shape[0] + 1.8), layout="constrained"
    )
    image = ax.imshow(table.to_numpy(), vmin=0, vmax=1, cmap="cividis", aspect="auto")
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            value = table.iat[i, j]
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if value < 0.5 else "black")  # fmt: skip
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index, fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04, label="recall")
    return render(fig)


def confusion_grid(
    matrices: dict[tuple[str, str], pd.DataFrame], title: str, order=()
) -> FigureImages:
    """Row-normalised confusion matrices (true rows, predicted columns) on a source × target
    grid: a panel's row is its training corpus, its column the test corpus; the diagonal is
    within-corpus. Class names are written in full."""
    sources, targets = matrix_order([s for s, _ in matrices], [t for _, t in matrices], order)
    longest = max((len(str(c)) for m in matrices.values() for c in m.columns), default=4)
    side = 2.6 + 0.04 * longest  # room for the class names on both axes
    fig, axes = plt.subplots(
        len(sources), len(targets), figsize=(side * len(targets), side * len(sources)),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    image = None
    for i, source in enumerate(sources):
        for j, target in enumerate(targets):
            ax = axes[i, j]
            matrix = matrices.get((source, target))
            if matrix is None:
                ax.axis("off")
                continue
            image = ax.imshow(matrix.to_numpy(), vmin=0, vmax=1, cmap="cividis")
            for a in range(matrix.shape[0]):
                for b in range(matrix.shape[1]):
                    value = matrix.iat[a, b]
                    ax.text(b, a, f"{value:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if value < 0.5 else "black")  # fmt: skip
            ax.set_xticks(range(matrix.shape[1]), list(matrix.columns), fontsize=6,
                          rotation=45, ha="right")  # fmt: skip
            ax.set_yticks(range(matrix.shape[0]), list(matrix.index), fontsize=6)
            name = f"{source} (within)" if source == target else f"{source} → {target}"
            ax.set_title(name, fontsize=8, fontweight="bold" if source == target else "normal")
    if image is not None:
        fig.colorbar(image, ax=axes, fraction=0.02, label="share of the true class")
    fig.suptitle(
        title + " (panel rows: source, columns: target; in a panel, rows true, columns predicted)",
        fontsize=9,
    )
    return render(fig)
