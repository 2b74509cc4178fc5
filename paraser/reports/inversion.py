"""Feature-ranking inversion: does the best within-corpus feature set transfer best?

The published finding this report tests: within one language, high-dimensional
sets (ComParE, IS10) win; under cross-corpus transfer the ranking inverts and
compact eGeMAPS transfers best, while UAR drops by tens of points.  For each
classifier (and all classifiers together) feature sets are ranked by mean
within-corpus UAR (the diagonal) and by mean transfer UAR (off the diagonal),
Kendall's tau compares the two rankings, and every mean carries a bootstrap
CI taken from the per-cell replicates of :func:`paraser.reports.stats.cell_statistics`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from paraser.reports.tables import OPTIMISTIC_MARK, SPEAKER_INDEPENDENT, protocol_families

#: Dimensionality of the standard openSMILE functionals sets.
KNOWN_DIMENSIONS = {"egemaps": 88, "is09": 384, "is10": 1582, "compare": 6373, "prosody": 212}

ALL = "all classifiers"


def feature_dimensions(config: dict | None, feature_sets) -> dict[str, int | None]:
    """Dimensions from config.json provenance (``n_features``/``dimensions``), else known ones."""
    provenance = (config or {}).get("feature_sets", {})
    dims = {}
    for name in feature_sets:
        record = provenance.get(name, {})
        value = record.get("n_features") or record.get("dimensions") or record.get("dim")
        dims[name] = int(value) if value else KNOWN_DIMENSIONS.get(name)
    return dims


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _tau(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(kendalltau(a, b).statistic)


def _mean_replicates(cells: pd.DataFrame, replicates: dict, keys: list[str]) -> np.ndarray | None:
    stacks = [replicates.get(tuple(row)) for row in cells[keys].itertuples(index=False)]
    if not stacks or any(s is None for s in stacks):
        return None
    return np.nanmean(np.vstack(stacks), axis=0)


def rankings(cells: pd.DataFrame, dims: dict[str, int | None]) -> pd.DataFrame:
    """Per classifier (and all), per corpus (within) and per direction (transfer): ranks.

    ``unit`` is the corpus for within-corpus rows and ``source->target`` for
    transfer rows; rank 1 is the highest UAR.
    """
    frame = cells.assign(
        unit=np.where(
            cells["kind"] == "within", cells["source"], cells["source"] + "->" + cells["target"]
        )
    )
    pooled = (
        frame.groupby(["kind", "unit", "feature_set"], as_index=False)[["uar"]]
        .mean()
        .assign(classifier=ALL)
    )
    columns = ["classifier", "kind", "unit", "feature_set", "uar", "ci_low", "ci_high"]
    table = pd.concat([frame[[c for c in columns if c in frame]], pooled], ignore_index=True)
    table["rank"] = (
        table.groupby(["classifier", "kind", "unit"])["uar"]
        .rank(ascending=False, method="min")
        .astype(int)
    )
    table["dimensions"] = table["feature_set"].map(dims)
    return table.sort_values(["classifier", "kind", "unit", "rank"]).reset_index(drop=True)


def inversion_summary(
    cells: pd.DataFrame,
    replicates: dict[tuple, np.ndarray],
    keys: list[str],
    dims: dict[str, int | None],
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per scope (classifier or all) x feature set: mean within and transfer UAR
    with CIs, their ranks, the drop, and Kendall's tau between the rankings (with CI)."""
    alpha = (1 - level) / 2
    scopes = [(c, cells[cells.classifier == c]) for c in sorted(cells.classifier.unique())]
    if cells.classifier.nunique() > 1:
        scopes.append((ALL, cells))
    rows = []
    for scope, group in scopes:
        feature_sets = sorted(group.feature_set.unique())
        family, compared, left_out = _within_family(group)
        # Within means over one protocol family only; the drop compares them with the
        # transfers *into* the same corpora, so both sides are the same corpora.
        parts = {
            "within": group[(group.kind == "within") & group.source.isin(compared)],
            "transfer": group[group.kind == "transfer"],
            "matched": group[(group.kind == "transfer") & group.target.isin(compared)],
        }
        means: dict[str, dict[str, float]] = {}
        reps: dict[str, dict[str, np.ndarray | None]] = {}
        for kind, cells_of_kind in parts.items():
            means[kind], reps[kind] = {}, {}
            for name in feature_sets:
                part = cells_of_kind[cells_of_kind.feature_set == name]
                means[kind][name] = float(part["uar"].mean()) if len(part) else np.nan
                reps[kind][name] = _mean_replicates(part, replicates, keys) if len(part) else None
        within = np.array([means["within"][f] for f in feature_sets])
        transfer = np.array([means["transfer"][f] for f in feature_sets])
        tau = _tau(within, transfer)
        tau_low = tau_high = np.nan
        complete = all(reps[k][f] is not None for k in ("within", "transfer") for f in feature_sets)
        matched = np.array([means["matched"][f] for f in feature_sets])
        if complete and np.isfinite(tau):
            w = np.vstack([reps["within"][f] for f in feature_sets])
            t = np.vstack([reps["transfer"][f] for f in feature_sets])
            taus = np.array([_tau(w[:, b], t[:, b]) for b in range(w.shape[1])])
            taus = taus[np.isfinite(taus)]
            if len(taus):
                tau_low, tau_high = np.quantile(taus, [alpha, 1 - alpha])
        within_rank = pd.Series(within).rank(ascending=False, method="min").to_numpy()
        transfer_rank = pd.Series(transfer).rank(ascending=False, method="min").to_numpy()
        for i, name in enumerate(feature_sets):
            row = {
                "scope": scope,
                "feature_set": name,
                "dimensions": dims.get(name),
                "within_uar": within[i],
                "transfer_uar": transfer[i],
                "drop": within[i] - matched[i],
                "within_protocol": family,
                "within_corpora": ",".join(compared),
                "left_out_optimistic": ",".join(left_out),
                "within_rank": int(within_rank[i]) if np.isfinite(within[i]) else None,
                "transfer_rank": int(transfer_rank[i]) if np.isfinite(transfer[i]) else None,
                "kendall_tau": tau,
                "tau_ci_low": tau_low,
                "tau_ci_high": tau_high,
            }
            for kind in ("within", "transfer"):
                r = reps[kind][name]
                low, high = (
                    np.nanquantile(r, [alpha, 1 - alpha]) if r is not None else (np.nan,) * 2
                )
                row[f"{kind}_ci_low"], row[f"{kind}_ci_high"] = low, high
            if reps["within"][name] is not None and reps["matched"][name] is not None:
                drop = reps["within"][name] - reps["matched"][name]
                row["drop_ci_low"], row["drop_ci_high"] = np.nanquantile(drop, [alpha, 1 - alpha])
            rows.append(row)
    return pd.DataFrame(rows)


def _within_family(cells: pd.DataFrame) -> tuple[str, list[str], list[str]]:
    """(protocol family, corpora compared, optimistic corpora left out) of the within cells.

    Speaker-independent within cells where there are any; a corpus whose within
    number shares speakers between folds (a stratified fallback) is left out
    of every mean rather than averaged with them.
    """
    within = cells[cells.kind == "within"]
    families = protocol_families(within)
    if (families == SPEAKER_INDEPENDENT).any():
        family = SPEAKER_INDEPENDENT
    else:
        family = families.iloc[0] if len(families) else SPEAKER_INDEPENDENT
    compared = sorted(set(within.source[families == family]))
    left_out = sorted(set(within.source) - set(compared))
    return family, compared, left_out


def _ci(low: float, high: float) -> str:
    return f"[{low:.2f}, {high:.2f}]" if np.isfinite(low) and np.isfinite(high) else "[no CI]"


def inversion_sentences(summary: pd.DataFrame) -> dict[str, str]:
    """A quotable sentence per scope, with the numbers behind it."""
    sentences = {}
    for scope, group in summary.groupby("scope", sort=False):
        if group["within_uar"].isna().all() or group["transfer_uar"].isna().all():
            lacking = "within-corpus" if group["within_uar"].isna().all() else "transfer"
            sentences[scope] = f"{scope}: no {lacking} results, so no ranking can be compared."
            continue
        top_within = group.loc[group["within_uar"].idxmax()]
        top_transfer = group.loc[group["transfer_uar"].idxmax()]
        moved = group.set_index("feature_set").loc[top_within.feature_set]
        tau = group["kendall_tau"].iloc[0]
        tau_ci = _ci(group["tau_ci_low"].iloc[0], group["tau_ci_high"].iloc[0])
        tau_text = (
            f"Kendall's tau = {tau:.2f} {tau_ci}"
            if np.isfinite(tau)
            else "Kendall's tau undefined (tied UARs)"
        )
        drop = group["drop"].mean()
        parts = [
            f"{scope}: within corpus, {top_within.feature_set} ranks first "
            f"(mean UAR {top_within.within_uar:.2f} "
            f"{_ci(top_within.within_ci_low, top_within.within_ci_high)})",
        ]
        if top_transfer.feature_set == top_within.feature_set:
            parts.append(
                f"under transfer it stays first ({top_transfer.transfer_uar:.2f} "
                f"{_ci(top_transfer.transfer_ci_low, top_transfer.transfer_ci_high)}): "
                "no inversion at the top"
            )
        else:
            parts.append(
                f"under transfer, {top_transfer.feature_set} ranks first "
                f"({top_transfer.transfer_uar:.2f} "
                f"{_ci(top_transfer.transfer_ci_low, top_transfer.transfer_ci_high)}) and "
                + (
                    f"{top_within.feature_set} drops to {_ordinal(int(moved.transfer_rank))} "
                    f"({moved.transfer_uar:.2f})"
                    if pd.notna(moved.transfer_rank)
                    else f"{top_within.feature_set} has no transfer result"
                )
            )
        first = group.iloc[0]
        left_out = str(first.get("left_out_optimistic", "") or "")
        sentences[scope] = (
            "; ".join(parts)
            + f"; {tau_text}. On {str(first.get('within_corpora', '')).replace(',', ', ')} "
            f"({first.get('within_protocol', SPEAKER_INDEPENDENT)} within), transfer into the "
            f"same corpora costs {drop * 100:.1f} UAR points on average over feature sets."
            + (
                f" Left out of the within means and the drop: {left_out.replace(',', ', ')} "
                f"(within result from folds that share speakers, {OPTIMISTIC_MARK}: optimistic)."
                if left_out
                else ""
            )
        )
    return sentences


#: Feature sets a ranking needs before its inversion can be assessed: with two, Kendall's
#: tau is always +-1 and says nothing.
MIN_FEATURE_SETS = 3


def published_inversion_holds(summary: pd.DataFrame, scope: str = ALL) -> str:
    """Whether the published pattern (high-dimensional wins within, compact eGeMAPS wins
    under transfer, rankings anti-correlated) holds in ``scope``; a sentence.

    "Holds" needs all three, with the CI of Kendall's tau entirely below 0; "does not
    hold" needs evidence against (the tau CI entirely above 0); anything else is "not
    shown".  With fewer than :data:`MIN_FEATURE_SETS` feature sets there is no verdict.
    """
    group = summary[summary.scope == scope]
    if group.empty:
        group = summary[summary.scope == summary.scope.iloc[0]]
        scope = summary.scope.iloc[0]
    if group["within_uar"].isna().all() or group["transfer_uar"].isna().all():
        return f"{scope}: cannot be tested (within-corpus or transfer results missing)."
    ranked = group[group["within_uar"].notna() & group["transfer_uar"].notna()]
    if len(ranked) < MIN_FEATURE_SETS:
        return (
            f"The published inversion cannot be assessed here ({scope}): ranking feature sets "
            f"needs at least {MIN_FEATURE_SETS}, this run has {len(ranked)} with both within "
            f"and transfer results ({', '.join(map(str, ranked.feature_set))})."
        )
    top_within = group.loc[group["within_uar"].idxmax()]
    top_transfer = group.loc[group["transfer_uar"].idxmax()]
    dims = group.set_index("feature_set")["dimensions"]
    high_dim_within = (dims.get(top_within.feature_set) or 0) >= 1000
    compact_transfer = top_transfer.feature_set == "egemaps"
    tau = group["kendall_tau"].iloc[0]
    tau_low, tau_high = group["tau_ci_low"].iloc[0], group["tau_ci_high"].iloc[0]
    anti = bool(np.isfinite(tau_high) and tau_high < 0)
    agree = bool(np.isfinite(tau_low) and tau_low > 0)
    tau_text = f"tau = {tau:.2f} {_ci(tau_low, tau_high)}" if np.isfinite(tau) else "tau undefined"
    checks = [
        f"a high-dimensional set wins within corpus: {'yes' if high_dim_within else 'no'} "
        f"({top_within.feature_set})",
        f"eGeMAPS wins under transfer: {'yes' if compact_transfer else 'no'} "
        f"({top_transfer.feature_set})",
        f"rankings anti-correlated: {tau_text}"
        + (
            " (CI excludes 0)"
            if anti
            else " (CI above 0: the rankings agree)"
            if agree
            else " (no CI excluding 0, so not shown)"
        ),
    ]
    if high_dim_within and compact_transfer and anti:
        verdict = "holds"
    elif agree:
        verdict = "does not hold"
    else:
        verdict = "is not shown"
    return f"The published inversion {verdict} here ({scope}): " + "; ".join(checks) + "."
