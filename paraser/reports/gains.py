"""What a factor level buys: paired UAR gains over the baseline, per cell and on average.

For a factor (normalisation, adaptation, augmentation) and each of its
non-baseline levels, every cell (feature set x classifier x other factors x
source -> target) is compared with the same cell at the baseline level on the
*same test utterances* (:func:`paraser.reports.stats.paired_difference`:
delete-one-speaker jackknife over test speakers, both systems left out
together; t with G-1 degrees of freedom).  p-values are Holm-adjusted over
all cells of the factor, so a gain of a few points is not claimed where it
is noise.  The average row is the mean of the level's *cells* (each cell
weighs the same, however many folds and seeds it has), with the jackknife
run over the speakers of all its cells at once.

Methods target different metrics: label-shift correction (prior-em)
re-weights posteriors to the target's priors, which maximises accuracy; under
label shift the UAR-optimal decision does not depend on the priors, so its
UAR gain is not what it is for.  Every row therefore carries the accuracy gain
(with its CI) and the macro-F1 gain beside the UAR gain, and ``targets``
names the metric the level is meant to improve.

Transfer rows carry the *ceiling*: the target's own within-corpus UAR at the
baseline, which no method is mixed into.  Reads tidy tables only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from paraser.reports.stats import PairedStatistics, average_paired, holm, paired_metrics
from paraser.reports.tables import OPTIMISTIC_MARK, is_optimistic, protocol_family
from paraser.results import CONFIG_COLUMNS, FACTOR_DEFAULTS

#: Columns of ``gains_<factor>.csv``.
GAIN_COLUMNS: dict[str, str] = {
    "factor": "normalisation, adaptation or augmentation",
    "level": "the level compared with the baseline level",
    "baseline": "the baseline level (train, none, none)",
    **{c: f"configuration: {c}" for c in CONFIG_COLUMNS if c not in FACTOR_DEFAULTS},
    "other_factors": "levels of the other factors, 'factor=level' joined with ';'",
    "kind": "within or transfer",
    "protocol": "protocol family: speaker-independent, speakers shared (optimistic) or transfer; "
    "averages never mix families",
    "source": "training corpus, or 'average' for the pooled row",
    "target": "test corpus, or 'average'",
    "uar_baseline": "UAR at the baseline level",
    "uar": "UAR at this level",
    "gain": "uar - uar_baseline on the same test utterances",
    "ci_low": "lower bound of the paired CI of the gain (speaker jackknife)",
    "ci_high": "upper bound",
    "se": "jackknife standard error of the gain",
    "p_value": "two-sided p of gain / se (speaker jackknife, t with G-1 df)",
    "p_holm": "Holm-adjusted over all cells (not averages) of this factor",
    "significant": "p_holm < 0.05",
    "ceiling": "target's within-corpus UAR at the baseline (transfer rows); on average rows the "
    "mean over speaker-independent ceilings only",
    "ceiling_optimistic": "the ceiling comes from folds that share speakers (stratified)",
    "targets": "the metric this level is meant to improve (uar or accuracy)",
    "accuracy_baseline": "accuracy at the baseline level",
    "accuracy": "accuracy at this level",
    "accuracy_gain": "accuracy - accuracy_baseline on the same test utterances",
    "accuracy_ci_low": "lower bound of the paired CI of the accuracy gain",
    "accuracy_ci_high": "upper bound",
    "accuracy_p_value": "two-sided p of the accuracy gain",
    "macro_f1_baseline": "macro-F1 at the baseline level (mean over evaluations)",
    "macro_f1": "macro-F1 at this level",
    "macro_f1_gain": "macro_f1 - macro_f1_baseline",
    "n_test": "test utterances compared",
    "transductive": "this level used unlabelled target features",
}

#: What each level is for; levels not named target UAR.
TARGET_METRIC = {"prior-em": "accuracy"}

_TRANSDUCTIVE = {
    "normalisation": {"corpus", "speaker"},
    "adaptation": {"corpus-norm", "speaker-norm", "coral", "importance", "prior-em"},
    "augmentation": set(),
}


def _ceilings(results: pd.DataFrame) -> pd.Series:
    """Within-corpus UAR per (feature set, classifier, corpus) at the baseline of every factor."""
    base = results[results.kind == "within"]
    for factor, default in FACTOR_DEFAULTS.items():
        base = base[base[factor] == default]
    return base.groupby(["feature_set", "classifier", "target"])["uar"].mean()


def factor_gains(results: pd.DataFrame, predictions: pd.DataFrame, factor: str) -> pd.DataFrame:
    """Paired gains of every level of ``factor`` over its baseline (empty when not varied)."""
    default = FACTOR_DEFAULTS[factor]
    if default not in set(results[factor]) or results[factor].nunique() < 2:
        return pd.DataFrame(columns=list(GAIN_COLUMNS))
    others = [c for c in CONFIG_COLUMNS if c != factor]
    fixed = [c for c in others if c not in FACTOR_DEFAULTS]
    ceilings = _ceilings(results)
    kinds = results.groupby(["source", "target"])["kind"].first()
    protocols = results.groupby(["source", "target"])["protocol"].first()
    within_protocols = protocols[kinds == "within"].droplevel("source")
    macro_f1 = results.groupby([*CONFIG_COLUMNS, "source", "target"])["macro_f1"].mean()
    rows, pooled = [], {}
    baselines = dict(list(predictions[predictions[factor] == default].groupby(others, sort=True)))
    for key, level_rows in predictions[predictions[factor] != default].groupby(
        [factor, *others], sort=True
    ):
        level, config = key[0], dict(zip(others, key[1:]))
        base_rows = baselines.get(key[1:])
        if base_rows is None:
            continue
        context = {
            "factor": factor,
            "level": level,
            "baseline": default,
            **{c: config[c] for c in fixed},
            "other_factors": ";".join(f"{c}={config[c]}" for c in FACTOR_DEFAULTS if c != factor),
            "transductive": level in _TRANSDUCTIVE[factor],
            "targets": TARGET_METRIC.get(level, "uar"),
        }

        for (source, target), cell in level_rows.groupby(["source", "target"], sort=True):
            base_cell = base_rows[(base_rows.source == source) & (base_rows.target == target)]
            if base_cell.empty:
                continue
            kind = kinds.get((source, target), "transfer")
            family = protocol_family(kind, protocols.get((source, target), ""))
            ceiling_optimistic = is_optimistic("within", within_protocols.get(target, ""))
            f1_level, f1_base = (
                _cell_mean(macro_f1, {**config, factor: value}, source, target)
                for value in (level, default)
            )
            # Each pair is matched and scored once, for its row and for the averages.
            statistics = paired_metrics(cell, base_cell, _GAIN_METRICS)
            rows.append(
                {
                    **context,
                    "kind": kind,
                    "protocol": family,
                    "source": source,
                    "target": target,
                    **_difference_columns([statistics]),
                    "ceiling_optimistic": kind == "transfer" and ceiling_optimistic,
                    "ceiling": ceilings.get(
                        (config["feature_set"], config["classifier"], target), np.nan
                    )
                    if kind == "transfer"
                    else np.nan,
                    "macro_f1_baseline": f1_base,
                    "macro_f1": f1_level,
                    "macro_f1_gain": f1_level - f1_base,
                }
            )
            group = (*key, kind, family)
            pooled.setdefault(group, (context, []))
            pooled[group][1].append(statistics)
    table = pd.DataFrame(rows, columns=list(GAIN_COLUMNS))
    if table.empty:
        return table
    table["p_holm"] = holm(table["p_value"])
    table["significant"] = table["p_holm"] < 0.05
    averages = []
    for (*_, kind, family), (context, pairs) in pooled.items():
        mask = (table.level == context["level"]) & (table.kind == kind)
        mask &= table.protocol == family
        for column in fixed:
            mask &= table[column] == context[column]
        mask &= table.other_factors == context["other_factors"]
        averages.append(
            {
                **context,
                "kind": kind,
                "protocol": family,
                "source": "average",
                "target": "average",
                **_difference_columns(pairs),
                "ceiling": table.loc[
                    mask & ~table.ceiling_optimistic.astype(bool), "ceiling"
                ].mean(),
                "ceiling_optimistic": False,
                **{
                    column: table.loc[mask, column].mean()
                    for column in ("macro_f1_baseline", "macro_f1", "macro_f1_gain")
                },
            }
        )
    return pd.concat([table, pd.DataFrame(averages)], ignore_index=True)[list(GAIN_COLUMNS)]


def _cell_mean(means: pd.Series, config: dict, source: str, target: str) -> float:
    """A per-cell mean indexed by (configuration columns..., source, target)."""
    return means.get((*(config[c] for c in CONFIG_COLUMNS), source, target), np.nan)


#: What a gain is measured in (see :func:`_difference_columns`).
_GAIN_METRICS = ("uar", "accuracy")


def _difference_columns(pairs: list[dict[str, PairedStatistics]]) -> dict:
    """UAR and accuracy gains of (level, baseline) cell pairs (their :func:`paired_metrics`),
    cells weighing the same."""
    result = average_paired([pair["uar"] for pair in pairs])
    accuracy = average_paired([pair["accuracy"] for pair in pairs])
    return {
        "uar_baseline": result.uar_b,
        "uar": result.uar_a,
        "gain": result.difference,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "se": result.se,
        "p_value": result.p_value,
        "n_test": result.n_test,
        "accuracy_baseline": accuracy.uar_b,
        "accuracy": accuracy.uar_a,
        "accuracy_gain": accuracy.difference,
        "accuracy_ci_low": accuracy.ci_low,
        "accuracy_ci_high": accuracy.ci_high,
        "accuracy_p_value": accuracy.p_value,
    }


def gains_table(gains: pd.DataFrame) -> pd.DataFrame:
    """A gains table formatted for Markdown/HTML: averages first, then every cell."""
    if gains.empty:
        return gains
    ordered = pd.concat(
        [gains[gains.source == "average"], gains[gains.source != "average"]], ignore_index=True
    )

    def fmt_p(p: float) -> str:
        return "–" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")

    return pd.DataFrame(
        {
            "level": ordered.level,
            "features": ordered.feature_set,
            "classifier": ordered.classifier,
            "other factors": ordered.other_factors,
            "cell": [
                "average" if s == "average" else f"{s} → {t}"
                for s, t in zip(ordered.source, ordered.target)
            ],
            "kind": ordered.kind,
            "UAR base": ordered.uar_baseline.round(3),
            "UAR": ordered.uar.round(3),
            "gain [95% CI]": [
                f"{g:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                for g, lo, hi in zip(ordered.gain, ordered.ci_low, ordered.ci_high)
            ],
            "p (Holm)": [
                fmt_p(p if s != "average" else raw)
                for p, raw, s in zip(ordered.p_holm, ordered.p_value, ordered.source)
            ],
            "protocol": ordered.protocol,
            "ceiling": [
                "–" if not np.isfinite(c) else f"{c:.3f}" + (OPTIMISTIC_MARK if o else "")
                for c, o in zip(ordered.ceiling, ordered.ceiling_optimistic.astype(bool))
            ],
            "accuracy gain [95% CI]": [
                f"{g:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                for g, lo, hi in zip(
                    ordered.accuracy_gain, ordered.accuracy_ci_low, ordered.accuracy_ci_high
                )
            ],
            "macro-F1 gain": ordered.macro_f1_gain.round(3),
            "targets": ordered.targets,
        }
    )


def gains_sentences(gains: pd.DataFrame) -> list[str]:
    """One sentence per level and kind, from its average row: a gain, a loss or no evidence."""
    sentences = []
    cells = gains[gains.source != "average"]
    for row in gains[gains.source == "average"].itertuples(index=False):
        same = cells[
            (cells.level == row.level)
            & (cells.kind == row.kind)
            & (cells.protocol == row.protocol)
            & (cells.feature_set == row.feature_set)
            & (cells.classifier == row.classifier)
            & (cells.other_factors == row.other_factors)
        ]
        up = int(((same.gain > 0) & same.significant).sum())
        down = int(((same.gain < 0) & same.significant).sum())
        # Both the percentile CI and the normal-approximation p must agree: a CI that
        # grazes zero is not called an effect.
        clear = (row.ci_low > 0 or row.ci_high < 0) and row.p_value < 0.05
        verdict = ("helps" if row.gain > 0 else "hurts") if clear else "shows no clear effect"
        sentence = (
            f"{row.factor} {row.level} ({row.feature_set} + {row.classifier}, "
            f"{row.kind if row.kind == 'transfer' else row.protocol + ' within'}): "
            f"{verdict}, mean gain {row.gain:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}] "
            f"UAR ({row.uar_baseline:.3f} → {row.uar:.3f}); significant after Holm in "
            f"{up} of {len(same)} cells up, {down} down."
        )
        if row.targets == "accuracy":
            accuracy_clear = row.accuracy_ci_low > 0 or row.accuracy_ci_high < 0
            sentence += (
                f" It is meant to improve accuracy, not UAR (it re-weights posteriors to the "
                f"target's estimated priors; the UAR-optimal decision does not depend on "
                f"priors): accuracy {row.accuracy_baseline:.3f} → {row.accuracy:.3f}, gain "
                f"{row.accuracy_gain:+.3f} [{row.accuracy_ci_low:+.3f}, "
                f"{row.accuracy_ci_high:+.3f}]"
                + ("" if accuracy_clear else " (no clear effect)")
                + f"; macro-F1 gain {row.macro_f1_gain:+.3f}."
            )
        sentences.append(sentence)
    return sentences
