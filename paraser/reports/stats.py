"""Uncertainty for UAR: bootstrap CIs, permutation tests, paired comparisons, Holm.

Everything here reads a predictions table (one row per test utterance, columns
``seed``, ``fold``, ``utterance``, ``speaker``, ``y_true``, ``y_pred``) and is
vectorised over resamples with numpy.

The statistic is always the one ``results.csv`` reports: UAR computed per
evaluation (seed x fold, over the classes present in its test set) and
averaged over evaluations.  A resample reweights *test units*: speakers where
the predictions carry speaker ids (a cluster bootstrap; utterances of one
speaker are not independent), utterances otherwise.  The same unit keeps the
same weight in every evaluation, and, because weights are drawn from a
generator seeded by the sorted unit ids, two feature sets or classifiers
tested on the same corpus get identical resamples: their replicates are
paired.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Columns that identify one evaluation (one row of results.csv) in a predictions table.
EVALUATION_KEYS = ["source", "target", "seed", "fold"]


@dataclass(frozen=True)
class UarEstimate:
    """A UAR with its bootstrap confidence interval."""

    uar: float
    ci_low: float
    ci_high: float
    n_test: int
    n_units: int
    unit: str
    replicates: np.ndarray = field(repr=False, compare=False)


def _has_speakers(predictions: pd.DataFrame) -> bool:
    if "speaker" not in predictions.columns:
        return False
    speakers = predictions["speaker"].astype(str)
    return bool(speakers.ne("").all() and speakers.nunique() > 1)


def _units(predictions: pd.DataFrame, cluster: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(sorted unit ids, unit index of every row, unit name) for resampling."""
    if cluster == "speaker" and _has_speakers(predictions):
        column = "speaker"
    else:
        column = "utterance" if "utterance" in predictions.columns else None
    if column is None:
        ids = np.arange(len(predictions)).astype(str)
        return ids, np.arange(len(predictions)), "row"
    values = predictions[column].astype(str).to_numpy()
    if "target" in predictions.columns:
        # Speaker (or file) ids are only unique within a corpus.
        values = predictions["target"].astype(str).to_numpy() + "/" + values
    ids, index = np.unique(values, return_inverse=True)
    return ids, index, column


def _generator(ids: np.ndarray, seed: int) -> np.random.Generator:
    # Seeded by the unit ids, so every cell tested on the same units resamples alike.
    digest = zlib.crc32("\x1f".join(ids.tolist()).encode())
    return np.random.default_rng([seed, digest])


def _unit_weights(ids: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` x units: how often each unit is drawn in each resample."""
    rng = _generator(ids, seed)
    n = len(ids)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)


def _evaluations(predictions: pd.DataFrame) -> list[np.ndarray]:
    keys = [k for k in EVALUATION_KEYS if k in predictions.columns]
    if not keys:
        return [np.arange(len(predictions))]
    return list(predictions.groupby(keys, sort=True).indices.values())


def _codes(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of the classes present in ``y_true``; correct-prediction mask."""
    classes, true_codes = np.unique(y_true.astype(str), return_inverse=True)
    correct = (y_true.astype(str) == y_pred.astype(str)).astype(np.float64)
    return true_codes, correct, len(classes)


def _weighted_uar(y_true, y_pred, weights: np.ndarray) -> np.ndarray:
    """UAR under each row of ``weights`` (resamples x rows); classes drawn zero times skipped."""
    codes, correct, k = _codes(np.asarray(y_true), np.asarray(y_pred))
    onehot = np.zeros((len(codes), k))
    onehot[np.arange(len(codes)), codes] = 1.0
    totals = weights @ onehot
    hits = weights @ (onehot * correct[:, None])
    recall = np.where(totals > 0, hits / np.where(totals > 0, totals, 1), np.nan)
    with warnings.catch_warnings():
        # A resample can miss every unit of an evaluation: NaN, skipped by the caller.
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(recall, axis=1)


def uar(y_true, y_pred) -> float:
    """Unweighted average recall over the classes present in ``y_true``."""
    return float(_weighted_uar(y_true, y_pred, np.ones((1, len(y_true))))[0])


def _replicates(
    predictions: pd.DataFrame, unit_weights: np.ndarray, unit_index: np.ndarray
) -> np.ndarray:
    """Mean-over-evaluations UAR: point estimate (row 0 weights = 1) and replicates."""
    y_true = predictions["y_true"].to_numpy()
    y_pred = predictions["y_pred"].to_numpy()
    per_evaluation = []
    for rows in _evaluations(predictions):
        weights = unit_weights[:, unit_index[rows]]
        per_evaluation.append(_weighted_uar(y_true[rows], y_pred[rows], weights))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.vstack(per_evaluation), axis=0)


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    finite = values[np.isfinite(values)]
    if not len(finite):
        return float("nan"), float("nan")
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_uar(
    predictions: pd.DataFrame,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    cluster: str | None = "speaker",
    seed: int = 0,
) -> UarEstimate:
    """UAR of one cell's predictions with a percentile bootstrap CI.

    ``cluster="speaker"`` resamples speakers (falls back to utterances when
    the predictions have no speaker ids or a single speaker); ``None``
    resamples utterances.
    """
    if predictions.empty:
        raise ValueError("no predictions to bootstrap")
    ids, index, unit = _units(predictions, cluster)
    weights = np.vstack([np.ones((1, len(ids))), _unit_weights(ids, n_boot, seed)])
    values = _replicates(predictions, weights, index)
    low, high = _interval(values[1:], level)
    return UarEstimate(float(values[0]), low, high, len(predictions), len(ids), unit, values[1:])


def permutation_test(
    predictions: pd.DataFrame, *, n_perm: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """(UAR, one-sided p-value) against chance: are predictions related to the labels?

    ``y_true`` is permuted within each evaluation (class counts kept, so the
    null UAR centres on 1/K whatever the predictions' class balance), and the
    p-value is (1 + #{null >= observed}) / (1 + n_perm).
    """
    rng = np.random.default_rng(seed)
    observed = []
    null = []
    y_true_all = predictions["y_true"].to_numpy()
    y_pred_all = predictions["y_pred"].to_numpy()
    for rows in _evaluations(predictions):
        codes, _, k = _codes(y_true_all[rows], y_pred_all[rows])
        classes = np.unique(y_true_all[rows].astype(str))
        pred_codes = np.searchsorted(classes, y_pred_all[rows].astype(str))
        # Predictions of a class absent from y_true can never be correct.
        known = np.isin(y_pred_all[rows].astype(str), classes)
        pred_codes = np.where(known, pred_codes, -1)
        totals = np.bincount(codes, minlength=k).astype(np.float64)
        permuted = rng.permuted(np.tile(codes, (n_perm + 1, 1)), axis=1)
        permuted[0] = codes  # row 0: the observed labelling
        correct = permuted == pred_codes[None, :]
        offsets = permuted + k * np.arange(n_perm + 1)[:, None]
        hits = np.bincount(
            offsets.ravel(), weights=correct.ravel(), minlength=(n_perm + 1) * k
        ).reshape(n_perm + 1, k)
        recall = (hits / totals).mean(axis=1)
        observed.append(recall[0])
        null.append(recall[1:])
    statistic = float(np.mean(observed))
    null_mean = np.mean(np.vstack(null), axis=0)
    p_value = (1 + int((null_mean >= statistic - 1e-12).sum())) / (1 + n_perm)
    return statistic, float(p_value)


#: Columns on which two prediction tables are matched for a paired comparison.
PAIR_KEYS = ["source", "target", "seed", "fold", "utterance"]


@dataclass(frozen=True)
class PairedDifference:
    """UAR(a) - UAR(b) on the same test utterances, with a paired bootstrap CI."""

    uar_a: float
    uar_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_test: int
    n_units: int
    unit: str
    #: Standard deviation of the bootstrap differences (the difference's standard error).
    se: float = float("nan")

    @property
    def p_normal(self) -> float:
        """Two-sided p-value of ``difference / se`` under a normal approximation.

        The percentile p-value cannot go below ``1/(n_boot+1)``, which a Holm
        correction over many cells turns into "never significant"; the normal
        approximation of the same bootstrap distribution resolves small p-values.
        """
        if not np.isfinite(self.se) or self.se <= 0:
            return 1.0 if self.difference == 0 else 0.0
        return float(2 * _normal_sf(abs(self.difference) / self.se))


def _normal_sf(z: float) -> float:
    from scipy.stats import norm

    return float(norm.sf(z))


def paired_difference(
    pred_a: pd.DataFrame,
    pred_b: pd.DataFrame,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    cluster: str | None = "speaker",
    seed: int = 0,
) -> PairedDifference:
    """Compare two systems (feature sets, classifiers, ...) on the utterances both tested.

    Rows are matched on source, target, seed, fold and utterance (those
    present in both), so tables pooling several cells compare cell by cell;
    the statistic is then the mean UAR over the cells' evaluations.  Both
    UARs are recomputed under the same resampling weights, so the interval is
    of the paired difference.  The two-sided p-value is the share
    of centred bootstrap differences at least as extreme as the observed one.
    """
    keys = [k for k in PAIR_KEYS if k in pred_a.columns and k in pred_b.columns]
    if "utterance" not in keys:
        raise ValueError("paired comparison needs an 'utterance' column in both tables")
    extra = ["speaker"] if "speaker" in pred_a.columns else []
    left = pred_a[[*keys, *extra, "y_true", "y_pred"]]
    merged = left.merge(pred_b[[*keys, "y_pred"]], on=keys, suffixes=("_a", "_b"))
    if merged.empty:
        raise ValueError("the two prediction tables share no test utterances")
    ids, index, unit = _units(merged, cluster)
    weights = np.vstack([np.ones((1, len(ids))), _unit_weights(ids, n_boot, seed)])
    rep_a = _replicates(merged.rename(columns={"y_pred_a": "y_pred"}), weights, index)
    rep_b = _replicates(merged.rename(columns={"y_pred_b": "y_pred"}), weights, index)
    diff = rep_a - rep_b
    observed = float(diff[0])
    low, high = _interval(diff[1:], level)
    centred = diff[1:] - observed
    p_value = (1 + int((np.abs(centred) >= abs(observed) - 1e-12).sum())) / (1 + n_boot)
    return PairedDifference(
        float(rep_a[0]), float(rep_b[0]), observed, low, high, min(1.0, p_value),
        len(merged), len(ids), unit, float(np.nanstd(diff[1:])),
    )  # fmt: skip


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the input order (NaN stays NaN)."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    if not len(valid):
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted


#: Columns that identify one cell (one number of a UAR matrix).
CELL_KEYS = [
    "feature_set", "classifier", "normalisation", "adaptation", "augmentation", "source", "target",
]  # fmt: skip


def cell_keys(frame: pd.DataFrame) -> list[str]:
    return [k for k in CELL_KEYS if k in frame.columns]


def cell_statistics(
    results: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    n_boot: int = 1000,
    n_perm: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[tuple, np.ndarray]]:
    """Per cell: UAR [CI], mean and sd over seeds, chance, above-chance p (raw and Holm).

    Returns the table and the bootstrap replicates per cell (keyed by the cell
    key tuple), which the inversion report reuses for CIs of derived numbers.
    """
    keys = cell_keys(results)
    per_seed = results.groupby([*keys, "seed"])["uar"].mean().groupby(level=list(range(len(keys))))
    seed_stats = per_seed.agg(["mean", "std", "size"])
    meta = results.groupby(keys).agg(
        kind=("kind", "first"),
        protocol=("protocol", "first"),
        chance=("chance", "first"),
        collapsed=("collapsed", "any"),
        dominant_share=("dominant_share", "max"),
    )
    rows, replicates = [], {}
    for key, group in predictions.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        if key not in meta.index:
            continue
        estimate = bootstrap_uar(group, n_boot=n_boot, level=level, seed=seed)
        _, p_value = permutation_test(group, n_perm=n_perm, seed=seed)
        replicates[key] = estimate.replicates
        rows.append(
            {
                **dict(zip(keys, key)),
                **meta.loc[key].to_dict(),
                "uar": estimate.uar,
                "ci_low": estimate.ci_low,
                "ci_high": estimate.ci_high,
                "uar_seed_mean": seed_stats.loc[key, "mean"],
                "uar_seed_sd": seed_stats.loc[key, "std"],
                "n_seeds": int(seed_stats.loc[key, "size"]),
                "n_test": estimate.n_test,
                "ci_unit": estimate.unit,
                "n_units": estimate.n_units,
                "p_above_chance": p_value,
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table["p_above_chance_holm"] = holm(table["p_above_chance"])
    return table, replicates


def per_class_recall(predictions: pd.DataFrame) -> pd.DataFrame:
    """Recall of every true class per cell, pooled over folds and seeds (long format)."""
    keys = cell_keys(predictions)
    frame = predictions.assign(correct=predictions["y_true"] == predictions["y_pred"])
    table = (
        frame.groupby([*keys, "y_true"])
        .agg(recall=("correct", "mean"), n=("correct", "size"))
        .reset_index()
        .rename(columns={"y_true": "class"})
    )
    return table


def confusion_matrix(predictions: pd.DataFrame, normalise: bool = True) -> pd.DataFrame:
    """Rows: true class; columns: predicted class; row-normalised shares by default."""
    table = pd.crosstab(predictions["y_true"], predictions["y_pred"])
    labels = sorted(set(table.index) | set(table.columns))
    table = table.reindex(index=sorted(table.index), columns=labels, fill_value=0)
    if normalise:
        table = table.div(table.sum(axis=1).replace(0, 1), axis=0)
    return table
