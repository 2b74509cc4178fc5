"""The domain-shift section of a report: read from the tidy tables ``paraser shift`` writes.

Inputs (columns documented in :mod:`paraser.experiments.shift`): ``shift.csv``,
``shift_features.csv``, ``shift_families.csv``, ``class_priors.csv``; and, to ask
whether shift predicts failure, a transfer-matrix ``results.csv`` (in the same
folder or another one) or the ``drops.csv`` taken from one earlier.

Outputs: ``drops.csv`` (:data:`DROP_COLUMNS`), ``shift_vs_drop.csv``
(:data:`CORRELATION_COLUMNS`), ``shift.md``, ``shift.html`` and
``figures/shift_<set>.png`` (distance heatmaps beside the transfer UAR heatmap).
When the folder holds ``report.md``/``report.html`` the same section is placed in
them between ``paraser:shift`` markers, replacing an earlier one.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from paraser.reports.document import Section, add_section
from paraser.reports.tables import baseline, corpus_order, is_optimistic, matrix_order
from paraser.results import (
    CLASS_PRIORS_FILE,
    CORRELATION_FILE,
    DROPS_FILE,
    FACTOR_DEFAULTS,
    SHIFT_FAMILIES_FILE,
    SHIFT_FEATURES_FILE,
    SHIFT_FILE,
    SHIFT_HTML_FILE,
    SHIFT_MARKDOWN_FILE,
    has_results,
    load_results,
    read_config,
    read_shift_config,
    write_figure,
    write_table_output,
    write_text_output,
)

#: Distances of ``shift.csv`` correlated with the drop, and how the report names them.
DISTANCES: dict[str, str] = {
    "mmd2": "MMD²",
    "pad": "PAD",
    "frechet": "Fréchet",
    "prior_tvd": "prior TVD",
    "class_conditional_mmd2": "class-conditional MMD²",
}

#: Columns of ``drops.csv``: one row per feature set x classifier x transfer direction.
DROP_COLUMNS: dict[str, str] = {
    "feature_set": "feature set name",
    "classifier": "classifier name",
    "source": "training corpus",
    "target": "test corpus",
    "within_uar": "within-corpus UAR of the source (mean over folds and seeds)",
    "transfer_uar": "UAR of source -> target (mean over seeds)",
    "drop": "within_uar - transfer_uar",
    "within_protocol": "protocol of the source's within-corpus UAR",
    "optimistic": "the within UAR comes from folds that share speakers (stratified): its drop is "
    "not comparable with speaker-independent ones and is left out of shift_vs_drop",
}

#: Columns of ``shift_vs_drop.csv``: one row per feature set x classifier x distance.
CORRELATION_COLUMNS: dict[str, str] = {
    "feature_set": "feature set name",
    "classifier": "classifier name",
    "distance": "column of shift.csv (mmd2, pad, frechet, prior_tvd, class_conditional_mmd2)",
    "spearman_rho": "Spearman rank correlation between the distance and the UAR drop over "
    "transfer directions",
    "ci_low": "2.5 % bootstrap percentile of rho (corpus pairs resampled: both directions of a "
    "pair share one distance, so directions are not independent)",
    "ci_high": "97.5 % bootstrap percentile of rho",
    "n_directions": "transfer directions with both a distance and a drop",
    "n_pairs": "unordered corpus pairs among them (the bootstrap's unit)",
    "n_boot_valid": "bootstrap resamples where rho was defined (not constant)",
    "distinct_values": "distinct values of the distance over the pairs (rounded to 3 significant "
    "digits); below 4 the rank correlation mostly reflects ties",
}

_START, _END = "<!-- paraser:shift -->", "<!-- /paraser:shift -->"
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
    "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
)

if TYPE_CHECKING:  # matplotlib only when figures are drawn
    from paraser.reports.document import FigureImages


def drops_from_results(results: pd.DataFrame) -> pd.DataFrame:
    """Within UAR of the source minus transfer UAR, per direction (:data:`DROP_COLUMNS`).

    Uses the baseline level of every factor (training-set normalisation, no
    adaptation, no augmentation) where a run has it; pooled sources have no
    within-corpus UAR and are left out.
    """
    # A run from before a factor existed (or a hand-made table) is at its baseline level.
    missing = {k: v for k, v in FACTOR_DEFAULTS.items() if k not in results.columns}
    if "protocol" not in results.columns:
        # Without it a drop could silently mix speakers-shared with speaker-independent cells.
        raise ValueError("results table has no 'protocol' column; every paraser run writes one")
    rows = baseline(results.assign(**missing))
    keys = ["feature_set", "classifier", "source", "target"]
    means = rows.groupby([*keys, "kind"], as_index=False).agg(
        uar=("uar", "mean"), protocol=("protocol", "first")
    )
    within = means[(means.kind == "within") & (means.source == means.target)]
    transfer = means[means.kind == "transfer"].rename(columns={"uar": "transfer_uar"})
    within = within[["feature_set", "classifier", "source", "uar", "protocol"]]
    drops = transfer.drop(columns="protocol").merge(
        within.rename(columns={"uar": "within_uar", "protocol": "within_protocol"}),
        on=["feature_set", "classifier", "source"],
    )
    drops["drop"] = drops["within_uar"] - drops["transfer_uar"]
    drops["optimistic"] = [is_optimistic("within", p) for p in drops["within_protocol"]]
    return drops[list(DROP_COLUMNS)].sort_values(keys, ignore_index=True)


def _magnitude(values: np.ndarray) -> int:
    """Order of magnitude of the largest |value| (0 for 1-9.99), for significant digits."""
    top = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    return int(np.floor(np.log10(top))) if top > 0 else 0


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def shift_vs_drop(
    shift: pd.DataFrame, drops: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Spearman rho between each distance and the UAR drop, with a bootstrap CI.

    The CI resamples unordered corpus pairs with replacement (a fixed ``seed``),
    taking both directions of a drawn pair: a pair's two directions share one
    distance, so treating directions as independent would narrow the interval
    falsely.  With four corpora that is 6 pairs and 12 directions; expect wide CIs.
    """
    merged = drops.merge(shift, on=["feature_set", "source", "target"])
    rows = []
    for (feature_set, classifier), group in merged.groupby(["feature_set", "classifier"]):
        pair = [
            "|".join(sorted(p)) for p in zip(group.source.astype(str), group.target.astype(str))
        ]
        codes, pairs = pd.factorize(pd.Series(pair))
        members = [np.flatnonzero(codes == k) for k in range(len(pairs))]
        rng = np.random.default_rng(seed)
        draws = [rng.integers(0, len(pairs), len(pairs)) for _ in range(n_boot)]
        for distance in [d for d in DISTANCES if d in group]:  # older shift.csv lack some
            valid = group[distance].notna().to_numpy() & group["drop"].notna().to_numpy()
            if "optimistic" in group:  # drops from speakers-shared within UARs: not comparable
                valid &= ~group["optimistic"].astype(bool).to_numpy()
            x, y = group[distance].to_numpy(float), group["drop"].to_numpy(float)
            boots = []
            for draw in draws:
                index = np.concatenate([members[k] for k in draw])
                index = index[valid[index]]
                boots.append(_rho(x[index], y[index]))
            boots = np.array(boots)
            boots = boots[np.isfinite(boots)]
            enough = len(boots) >= max(10, n_boot // 2)
            rows.append(
                {
                    "feature_set": feature_set,
                    "classifier": classifier,
                    "distance": distance,
                    "spearman_rho": _rho(x[valid], y[valid]),
                    "ci_low": float(np.percentile(boots, 2.5)) if enough else np.nan,
                    "ci_high": float(np.percentile(boots, 97.5)) if enough else np.nan,
                    "n_directions": int(valid.sum()),
                    "n_pairs": len({pair[i] for i in np.flatnonzero(valid)}),
                    "n_boot_valid": len(boots),
                    "distinct_values": len(np.unique(np.round(x[valid], 2 - _magnitude(x[valid])))),
                }
            )
    return pd.DataFrame(rows, columns=list(CORRELATION_COLUMNS))


def _number(value: float, digits: int = 2) -> str:
    return "–" if not np.isfinite(value) else f"{value:.{digits}f}".replace("-", "−")


def correlation_sentence(row) -> str:
    """'egemaps, svm — MMD² vs UAR drop: Spearman ρ = 0.42 [−0.15, 0.81], n = 12 directions'."""
    return (
        f"{row.feature_set}, {row.classifier} — {DISTANCES[row.distance]} vs UAR drop: "
        f"Spearman ρ = {_number(row.spearman_rho)} "
        f"[{_number(row.ci_low)}, {_number(row.ci_high)}], n = {row.n_directions} directions "
        f"({row.n_pairs} corpus pairs)" + _caveat(row)
    )


def _caveat(row) -> str:
    """Why a rho should not be read, when the data say so."""
    if getattr(row, "distinct_values", 99) < 4:
        return (
            f" — only {row.distinct_values} distinct value(s) over the pairs, so ρ reflects ties, "
            "not a ranking"
        )
    return ""


def _p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _pairs(shift: pd.DataFrame) -> pd.DataFrame:
    """One direction per unordered pair (the distances are symmetric)."""
    return shift[shift.source.astype(str) < shift.target.astype(str)]


def distance_table(shift: pd.DataFrame, features: pd.DataFrame, families: pd.DataFrame):
    """Per feature set: pair, distances, top shifted features and families (formatted)."""
    tables = {}
    pair_keys = ["feature_set", "source", "target"]
    features, families = features.set_index(pair_keys), families.set_index(pair_keys)
    for feature_set, group in _pairs(shift).groupby("feature_set", sort=True):
        rows = []
        for r in group.itertuples(index=False):
            key = (r.feature_set, r.source, r.target)
            top = features.loc[[key]].head(3)
            fam = families.loc[[key]].head(2)
            n_mmd = f"{r.n_mmd_source}/{r.n_mmd_target}"
            rows.append(
                {
                    "pair": f"{r.source} – {r.target}",
                    "n": f"{r.n_source}/{r.n_target}"
                    + ("" if n_mmd == f"{r.n_source}/{r.n_target}" else f" (MMD {n_mmd})"),
                    "MMD² (p)": f"{r.mmd2:.3f} ({_p_text(r.mmd_p)})",
                    "PAD": f"{r.pad:.2f}"
                    + ("" if getattr(r, "pad_unit", "speaker") == "speaker" else " (utt.)"),
                    "Fréchet": _number(getattr(r, "frechet", np.nan), 3),
                    "prior TVD": f"{r.prior_tvd:.2f}",
                    "class-cond. MMD²": _number(r.class_conditional_mmd2, 3),
                    "top shifted features (SMD second − first, KS)": "; ".join(
                        f"{f.feature} ({f.smd:+.2f}, {f.ks:.2f})" for f in top.itertuples()
                    ),
                    "top families (mean |SMD|)": "; ".join(
                        f"{f.family} ({f.mean_abs_smd:.2f})" for f in fam.itertuples()
                    ),
                }
            )
        tables[feature_set] = pd.DataFrame(rows)
    return tables


def priors_table(priors: pd.DataFrame) -> pd.DataFrame:
    """Classes as rows, corpora as columns: 'share (n)'."""
    text = priors.assign(cell=[f"{s:.2f} ({n})" for s, n in zip(priors.share, priors.n)])
    return text.pivot(index="class", columns="corpus", values="cell").fillna("–").reset_index()


def _panel(ax, values: np.ndarray, labels: list[str], title: str, cmap: str, vmax: float) -> None:
    dark_high = cmap != "viridis"  # white text where the colour is dark
    image = ax.imshow(values, vmin=0, vmax=vmax, cmap=cmap)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                white = (values[i, j] > 0.6 * vmax) == dark_high
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if white else "black")  # fmt: skip
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_title(title, fontsize=8)
    ax.figure.colorbar(image, ax=ax, fraction=0.045)


def shift_figure(
    shift: pd.DataFrame, drops: pd.DataFrame | None, feature_set: str, order: Sequence[str] = ()
) -> FigureImages:
    """MMD² and PAD heatmaps of one feature set beside its transfer UAR heatmap(s); corpora
    in ``order`` (the run's ``--corpora``), as every other matrix of the report."""
    from paraser.reports.plots import plt, render  # matplotlib (Agg) only when drawn

    group = shift[shift.feature_set == feature_set]
    corpora, _ = matrix_order(group.source, group.target, order)
    position = {c: i for i, c in enumerate(corpora)}

    def matrix(frame: pd.DataFrame, column: str) -> np.ndarray:
        values = np.full((len(corpora), len(corpora)), np.nan)
        for s, t, v in zip(frame.source, frame.target, frame[column]):
            if s in position and t in position:
                values[position[s], position[t]] = v
        return values

    panels = [
        (matrix(group, "mmd2"), "MMD²", "Reds", max(float(group.mmd2.max()), 1e-6)),
        (matrix(group, "pad"), "proxy A-distance", "Reds", 2.0),
    ]
    if "frechet" in group:
        top = max(float(group.frechet.max()), 1e-6)
        panels.append((matrix(group, "frechet"), "Fréchet (per feature)", "Reds", top))
    if drops is not None:
        uar = drops[drops.feature_set == feature_set]
        for classifier, cells in uar.groupby("classifier", sort=True):
            values = matrix(cells, "transfer_uar")
            within = cells.drop_duplicates("source")
            for s, v in zip(within.source, within.within_uar):
                if s in position:
                    values[position[s], position[s]] = v
            panels.append((values, f"UAR, {classifier} (rows: source)", "viridis", 1.0))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.3 * len(panels), 3.0), squeeze=False, layout="constrained"
    )
    for ax, (values, title, cmap, vmax) in zip(axes[0], panels):
        _panel(ax, values, corpora, title, cmap, vmax)
    fig.suptitle(f"{feature_set}: distance between corpora beside transfer UAR", fontsize=9)
    return render(fig)


def _corpus_order(directory: Path, results_dir: Path) -> list[str]:
    """The corpora as the shift run (``shift_config.json``) or the transfer run named them."""
    return corpus_order(read_shift_config(directory) or read_config(results_dir))


def _blocks(directory: Path, shift: pd.DataFrame, correlations: pd.DataFrame | None):
    """The section as (kind, payload) blocks, rendered to Markdown and HTML alike."""
    features = pd.read_csv(directory / SHIFT_FEATURES_FILE)
    families = pd.read_csv(directory / SHIFT_FAMILIES_FILE)
    priors = pd.read_csv(directory / CLASS_PRIORS_FILE)
    subsampled = shift[
        (shift.n_mmd_source < shift.n_source) | (shift.n_mmd_target < shift.n_target)
    ]
    blocks: list[tuple[str, object]] = [
        ("h2", "Domain shift between corpora"),
        (
            "p",
            "Distances from features alone: MMD² (RBF kernel, features standardised over each "
            "pair, median-heuristic bandwidth, permutation p-value), proxy A-distance (PAD, "
            "from a corpus classifier cross-validated over held-out speakers of both corpora, "
            "so telling speakers apart cannot pass for telling corpora apart; 0 = "
            "indistinguishable, 2 = separable), the Fréchet distance between Gaussian fits "
            "(features in pooled within-corpus SD units, per feature; no ceiling), "
            "and, from the labels, the total-variation distance between class priors and the "
            "MMD² between the same class in both corpora (mean over shared classes). All are "
            "symmetric. SMD is the target minus source mean over the pooled SD.",
        ),
    ]
    if len(subsampled):
        corpora = sorted(
            set(subsampled.source[subsampled.n_mmd_source < subsampled.n_source])
            | set(subsampled.target[subsampled.n_mmd_target < subsampled.n_target])
        )
        blocks.append(
            (
                "p",
                f"MMD on a seeded subsample of {int(shift.n_mmd_source.min())}–"
                f"{int(max(shift.n_mmd_source.max(), shift.n_mmd_target.max()))} utterances "
                f"for {', '.join(corpora)} (column n: all/MMD sample); PAD, SMD and KS use "
                "every utterance.",
            )
        )
    saturated = _pairs(shift).pad >= 1.9
    if saturated.any():
        blocks.append(
            (
                "p",
                f"PAD is at or near its ceiling of 2 (≥ 1.9) for {int(saturated.sum())} of "
                f"{len(saturated)} pair × feature-set rows: a linear classifier tells those "
                "corpora apart almost perfectly, so PAD says they differ but cannot rank them; "
                "MMD² and the Fréchet distance keep their resolution.",
            )
        )
    pairs = _pairs(shift)
    by_utterance = pairs[pairs.pad_unit == "utterance"] if "pad_unit" in pairs else pairs[:0]
    if len(by_utterance):
        names = sorted({f"{r.source} – {r.target}" for r in by_utterance.itertuples()})
        blocks.append(
            (
                "p",
                f"PAD marked (utt.) for {', '.join(names)}: speakers unknown or a single speaker "
                "in a corpus, so its classifier was cross-validated over utterances and speaker "
                "identity may inflate it.",
            )
        )
    if correlations is not None and len(correlations):
        blocks += [
            ("h3", "Does shift predict the transfer drop?"),
            (
                "p",
                "Spearman ρ between each distance and the UAR drop (within-corpus UAR of the "
                "source minus transfer UAR) across directions, 95 % bootstrap CI over corpus "
                "pairs. Both directions of a pair share one distance, so the evidence rests on "
                "the number of pairs, not directions: with a handful of pairs the intervals are "
                "wide, and a ρ whose interval spans 0 is no evidence either way.",
            ),
            ("list", [correlation_sentence(r) for r in correlations.itertuples(index=False)]),
        ]
    tables = distance_table(shift, features, families)
    for feature_set, table in tables.items():
        blocks += [("h3", f"{feature_set}: distances per corpus pair"), ("table", table)]
        blocks.append(("figure", feature_set))
    blocks += [("h3", "Class priors (share, n)"), ("table", priors_table(priors))]
    return blocks


def _markdown(blocks) -> str:
    lines = []
    for kind, payload in blocks:
        if kind == "h2":
            lines += [f"## {payload}", ""]
        elif kind == "h3":
            lines += [f"### {payload}", ""]
        elif kind == "p":
            lines += [str(payload), ""]
        elif kind == "list":
            lines += [*[f"- {item}" for item in payload], ""]
        elif kind == "table":
            lines += [payload.to_markdown(index=False), ""]
        elif kind == "figure":
            caption = f"{payload}: distances beside transfer UAR"
            lines += [f"![{caption}](figures/shift_{payload}.png)", ""]
    return "\n".join(lines)


def _html(blocks, figures: dict[str, FigureImages]) -> str:
    parts = []
    for kind, payload in blocks:
        if kind in ("h2", "h3"):
            parts.append(f"<{kind}>{html.escape(str(payload))}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{html.escape(str(payload))}</p>")
        elif kind == "list":
            parts.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in payload) + "</ul>")
        elif kind == "table":
            parts.append(payload.to_html(index=False, border=0, classes="t", escape=True))
        elif kind == "figure":
            data = base64.b64encode(figures[payload].screen).decode()
            caption = f"{payload}: distances between corpora beside transfer UAR"
            parts.append(
                f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    return "\n".join(parts)


def write_shift_section(
    directory: str | Path,
    *,
    results_dir: str | Path | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> list[Path]:
    """Write the shift files of ``directory`` and add its section to a report there."""
    written, section = shift_section(directory, results_dir=results_dir, n_boot=n_boot, seed=seed)
    add_section(Path(directory), section)
    return written


def shift_section(
    directory: str | Path,
    *,
    results_dir: str | Path | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[list[Path], Section | None]:
    """Write the shift tables, figures and ``shift.md/html`` of ``directory``; return them and
    the report section (nothing when it has no ``shift.csv``).

    The drop comes from ``results_dir/results.csv`` when given, else from
    ``directory/results.csv``, else from a ``drops.csv`` written before.
    """
    directory = Path(directory)
    if not (directory / SHIFT_FILE).is_file():
        return [], None
    written: list[Path] = []
    shift = pd.read_csv(directory / SHIFT_FILE)
    source = Path(results_dir) if results_dir is not None else directory
    drops = None
    if results_dir is not None or has_results(directory):
        drops = drops_from_results(load_results(source))
        drops = drops[drops.feature_set.isin(shift.feature_set)].reset_index(drop=True)
        written.append(write_table_output(directory, DROPS_FILE, drops))
    elif (directory / DROPS_FILE).is_file():
        drops = pd.read_csv(directory / DROPS_FILE)
    correlations = None
    if drops is not None:
        correlations = shift_vs_drop(shift, drops, n_boot=n_boot, seed=seed)
        written.append(write_table_output(directory, CORRELATION_FILE, correlations))
    order = _corpus_order(directory, source)
    figures = {s: shift_figure(shift, drops, s, order) for s in sorted(shift.feature_set.unique())}
    written += [
        write_figure(directory, f"shift_{name}", images.png, images.pdf)
        for name, images in figures.items()
    ]
    blocks = _blocks(directory, shift, correlations)
    markdown, section_html = _markdown(blocks), _html(blocks, figures)
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>paraser: domain '
        f"shift</title><style>{_STYLE}</style></head><body>\n{section_html}\n</body></html>\n"
    )
    written += [
        write_text_output(directory, SHIFT_MARKDOWN_FILE, markdown),
        write_text_output(directory, SHIFT_HTML_FILE, page),
    ]
    return written, Section((_START, _END), markdown, section_html)
