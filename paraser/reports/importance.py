"""The importance section: which descriptor families carry emotion within a corpus, and which
of them still work across corpora (read back from ``importance.csv``).

``paraser report DIR`` regenerates it from the folder alone, like the shift section.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from paraser.reports.document import Section, add_section
from paraser.reports.shift import _html, _markdown
from paraser.results import (
    IMPORTANCE_FAMILIES_FILE,
    IMPORTANCE_FILE,
    IMPORTANCE_MARKDOWN_FILE,
    write_figure,
    write_table_output,
    write_text_output,
)

_MARKERS = ("<!-- paraser:importance -->", "<!-- /paraser:importance -->")

#: Columns of ``importance_families.csv``: one row per feature set x classifier x family.
SUMMARY_COLUMNS: dict[str, str] = {
    "feature_set": "feature set",
    "classifier": "classifier",
    "family": "descriptor family",
    "n_features": "features of the family in the set",
    "within_importance": "UAR lost when the family is permuted, mean over within-corpus cells",
    "within_cells": "corpora averaged",
    "transfer_importance": "UAR lost when the family is permuted, mean over transfer directions",
    "transfer_ci_low": "95% percentile bootstrap CI over directions, lower (directions share "
    "corpora, so this is optimistic)",
    "transfer_ci_high": "95% CI, upper",
    "transfer_cells": "directions averaged",
    "transfer_positive_share": "share of directions where permuting the family costs UAR",
    "retained": "transfer_importance / within_importance (NaN when within <= 0)",
    "survives": "True when the transfer CI lies above 0: the family still carries emotion "
    "across corpora",
}

if TYPE_CHECKING:  # matplotlib only when figures are drawn
    from paraser.reports.document import FigureImages


def family_summary(importance: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Within and transfer importance of each family side by side (:data:`SUMMARY_COLUMNS`)."""
    families = importance[importance["unit"] == "family"]
    rng = np.random.default_rng(seed)
    rows = []
    keys = ["feature_set", "classifier", "name"]
    for (feature_set, classifier, family), group in families.groupby(keys, sort=True):
        within = group.loc[group["kind"] == "within", "importance"].to_numpy()
        transfer = group.loc[group["kind"] == "transfer", "importance"].to_numpy()
        low = high = np.nan
        if len(transfer) > 1:
            means = transfer[rng.integers(0, len(transfer), (n_boot, len(transfer)))].mean(axis=1)
            low, high = np.percentile(means, [2.5, 97.5])
        within_mean = float(within.mean()) if len(within) else np.nan
        transfer_mean = float(transfer.mean()) if len(transfer) else np.nan
        rows.append(
            {
                "feature_set": feature_set,
                "classifier": classifier,
                "family": family,
                "n_features": int(group["n_features"].iloc[0]),
                "within_importance": within_mean,
                "within_cells": len(within),
                "transfer_importance": transfer_mean,
                "transfer_ci_low": float(low),
                "transfer_ci_high": float(high),
                "transfer_cells": len(transfer),
                "transfer_positive_share": float((transfer > 0).mean())
                if len(transfer)
                else np.nan,
                "retained": transfer_mean / within_mean if within_mean > 0 else np.nan,
                "survives": bool(low > 0),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def top_features(importance: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Per feature set and classifier, the ``n`` features most important within corpus,
    with their importance under transfer beside it."""
    features = importance[importance["unit"] == "feature"]
    means = (
        features.pivot_table(
            index=["feature_set", "classifier", "name", "family"],
            columns="kind",
            values="importance",
            aggfunc="mean",
        )
        .reset_index()
        .rename(columns={"name": "feature"})
    )
    for kind in ("within", "transfer"):
        if kind not in means:
            means[kind] = np.nan
    means = means.sort_values("within", ascending=False, kind="stable")
    return means.groupby(["feature_set", "classifier"], sort=True).head(n).reset_index(drop=True)


def headline(summary: pd.DataFrame, threshold: float = 0.01) -> list[str]:
    """One sentence per feature set and classifier: which families survive transfer."""
    sentences = []
    for (feature_set, classifier), group in summary.groupby(["feature_set", "classifier"]):
        carrying = group[group["within_importance"] >= threshold].sort_values(
            "within_importance", ascending=False
        )
        inside = (
            ", ".join(f"{r.family} ({r.within_importance:.3f})" for r in carrying.itertuples())
            or "no family"
        )
        survive = group[group["survives"]].sort_values("transfer_importance", ascending=False)
        kept = (
            ", ".join(
                f"{r.family} ({r.transfer_importance:.3f} [{r.transfer_ci_low:.3f}, "
                f"{r.transfer_ci_high:.3f}])"
                for r in survive.itertuples()
            )
            or "no family"
        )
        lost = ", ".join(sorted(set(carrying["family"]) - set(survive["family"]))) or "none"
        sentences.append(
            f"{feature_set} + {classifier}: within corpus, emotion is carried by {inside} (UAR "
            f"lost when permuted, ≥ {threshold}); across corpora, {kept} still carry it (CI over "
            f"directions above 0); stop working: {lost}."
        )
    return sentences


def importance_figure(summary: pd.DataFrame, feature_set: str) -> FigureImages:
    """Families x (within, transfer) per classifier: mean UAR lost when permuted."""
    from paraser.reports.plots import plt, render

    group = summary[summary["feature_set"] == feature_set]
    families = sorted(group["family"].unique())
    columns, values = [], []
    for classifier, cells in group.groupby("classifier", sort=True):
        lookup = cells.set_index("family")
        for kind in ("within", "transfer"):
            columns.append(f"{kind}\n{classifier}")
            values.append([lookup[f"{kind}_importance"].get(f, np.nan) for f in families])
    matrix = np.array(values).T
    fig, ax = plt.subplots(
        figsize=(1.3 * len(columns) + 2.6, 0.45 * len(families) + 1.6), layout="constrained"
    )
    limit = max(float(np.nanmax(np.abs(matrix))), 1e-3)
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if np.isfinite(matrix[i, j]):
                ax.text(j, i, f"{matrix[i, j]:.3f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(families)), families)
    ax.set_title(f"{feature_set}: UAR lost when a family is permuted")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return render(fig)


def write_importance_section(directory: str | Path) -> list[Path]:
    """Write the importance files of ``directory`` and add its section to a report there."""
    written, section = importance_section(directory)
    add_section(Path(directory), section)
    return written


def importance_section(directory: str | Path) -> tuple[list[Path], Section | None]:
    """Write ``importance_families.csv``, the figures and ``importance.md``; return them and
    the report section (nothing without ``importance.csv``)."""
    directory = Path(directory)
    if not (directory / IMPORTANCE_FILE).is_file():
        return [], None
    importance = pd.read_csv(directory / IMPORTANCE_FILE)
    summary = family_summary(importance)
    written = [write_table_output(directory, IMPORTANCE_FAMILIES_FILE, summary)]
    figures = {s: importance_figure(summary, s) for s in sorted(summary["feature_set"].unique())}
    written += [
        write_figure(directory, f"importance_{name}", images.png, images.pdf)
        for name, images in figures.items()
    ]
    first = importance.iloc[0]
    bounds = zip(summary.transfer_ci_low, summary.transfer_ci_high)
    columns = [
        "feature_set", "classifier", "family", "n_features", "within_importance",
        "transfer_importance", "transfer_ci", "transfer_positive_share", "survives",
    ]  # fmt: skip
    shown = summary.assign(transfer_ci=[f"[{lo:.3f}, {hi:.3f}]" for lo, hi in bounds])[columns]
    blocks = [
        ("h2", "Which features carry emotion, within and across corpora"),
        (
            "p",
            "Permutation importance on the test side: the UAR lost when one feature, or all "
            "features of a descriptor family together, is shuffled "
            f"({'within each test speaker' if first.permute == 'speaker' else 'over all test rows'}"
            f"; {int(first.n_repeats)} permutations; at most a fixed number of test rows per "
            "cell). Within: held-out folds of each corpus; transfer: a model trained on all of "
            "the source, scored on the target. A family that matters within but not under "
            "transfer carries emotion only in the corpus it was learnt from: the feature-level "
            "side of the ranking inversion.",
        ),
        ("list", headline(summary)),
        ("table", shown.round(3)),
        ("h3", "Most important features within corpus, and under transfer"),
        ("table", top_features(importance).round(3)),
    ]
    markdown = _markdown(blocks) + "\n".join(
        f"![{s}: importance per family](figures/importance_{s}.png)\n" for s in figures
    )
    section_html = _html(blocks, {}) + "".join(
        f'<figure><img alt="{html.escape(s)}: importance per family" src="data:image/png;base64,'
        f'{base64.b64encode(images.screen).decode()}"></figure>'
        for s, images in figures.items()
    )
    written.append(write_text_output(directory, IMPORTANCE_MARKDOWN_FILE, markdown))
    return written, Section(_MARKERS, markdown, section_html)
