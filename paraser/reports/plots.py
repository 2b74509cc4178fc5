"""Report figures (matplotlib, Agg backend): each function returns PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from paraser.reports.tables import (  # noqa: E402
    OPTIMISTIC_MARK,
    is_optimistic,
    marks,
    matrix_order,
)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    # No bbox_inches="tight": it renders every figure twice (text layout dominates).
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def transfer_heatmap(cells: pd.DataFrame, title: str) -> bytes:
    """UAR matrix of one configuration: rows source, columns target; CIs and collapse in cells."""
    sources, targets = matrix_order(cells.source, cells.target)
    lookup = {(r.source, r.target): r for r in cells.itertuples(index=False)}
    values = np.full((len(sources), len(targets)), np.nan)
    for i, s in enumerate(sources):
        for j, t in enumerate(targets):
            if (s, t) in lookup:
                values[i, j] = lookup[(s, t)].uar
    fig, ax = plt.subplots(
        figsize=(1.3 * len(targets) + 2.2, 1.0 * len(sources) + 1.4), layout="constrained"
    )
    image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis")
    for i, s in enumerate(sources):
        for j, t in enumerate(targets):
            row = lookup.get((s, t))
            if row is None:
                continue
            optimistic = is_optimistic(row.kind, row.protocol) if hasattr(row, "kind") else False
            text = f"{row.uar:.2f}" + marks(row.collapsed, optimistic)
            if hasattr(row, "ci_low") and np.isfinite(row.ci_low):
                text += f"\n[{row.ci_low:.2f},{row.ci_high:.2f}]"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if row.uar < 0.6 else "black")  # fmt: skip
    ax.set_xticks(range(len(targets)), targets, rotation=30, ha="right")
    ax.set_yticks(range(len(sources)), sources)
    if "kind" in cells and any(map(is_optimistic, cells["kind"], cells["protocol"])):
        fig.text(0.01, 0.0, f"{OPTIMISTIC_MARK} speakers shared by training and test folds "
                 "(stratified): optimistic", fontsize=6, va="bottom")  # fmt: skip
    ax.set_xlabel("target (test)")
    ax.set_ylabel("source (train)")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04, label="UAR")
    return _png(fig)


def rank_chart(summary: pd.DataFrame) -> bytes:
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
    return _png(fig)


def recall_heatmap(recall: pd.DataFrame, title: str) -> bytes:
    """Per-class recall: rows cells (source->target), columns classes."""
    table = recall.assign(cell=recall["source"] + "->" + recall["target"]).pivot_table(
        index="cell", columns="class", values="recall"
    )
    fig, ax = plt.subplots(
        figsize=(1.0 * table.shape[1] + 3.0, 0.32 * table.shape[0] + 1.6), layout="constrained"
    )
    image = ax.imshow(table.to_numpy(), vmin=0, vmax=1, cmap="magma", aspect="auto")
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            value = table.iat[i, j]
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if value < 0.5 else "black")  # fmt: skip
    ax.set_xticks(range(table.shape[1]), table.columns)
    ax.set_yticks(range(table.shape[0]), table.index, fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04, label="recall")
    return _png(fig)


def confusion_grid(matrices: dict[str, pd.DataFrame], title: str) -> bytes:
    """Row-normalised confusion matrices side by side (true rows, predicted columns)."""
    n = len(matrices)
    columns = min(4, n)
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.0 * columns, 2.9 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (name, matrix) in zip(axes.ravel(), matrices.items()):
        ax.imshow(matrix.to_numpy(), vmin=0, vmax=1, cmap="Blues")
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                value = matrix.iat[i, j]
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if value > 0.5 else "black")  # fmt: skip
        ax.set_xticks(range(matrix.shape[1]), [c[:4] for c in matrix.columns], fontsize=7)
        ax.set_yticks(range(matrix.shape[0]), [c[:4] for c in matrix.index], fontsize=7)
        ax.set_title(name, fontsize=8)
    fig.suptitle(title + " (rows: true, columns: predicted)", fontsize=9)
    return _png(fig)
