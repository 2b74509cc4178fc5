"""Uncertainty for UAR: bootstrap CIs, permutation tests, paired comparisons, Holm.

Everything here reads a predictions table (one row per test utterance, columns
``seed``, ``fold``, ``utterance``, ``speaker``, ``y_true``, ``y_pred``) and is
vectorised over resamples with numpy.

The statistic is always the one ``results.csv`` reports: UAR computed per
evaluation (a seed; a within-corpus cell's folds are pooled, every utterance
predicted once out of fold; over the classes present in its test side) and
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
from typing import NamedTuple

import numpy as np
import pandas as pd

#: Columns that identify one evaluation (one row of results.csv) in a predictions table.
#: Not ``fold``: a within-corpus cell is scored once over its pooled out-of-fold
#: predictions (transfer rows have a single fold, -1), so the delete-one-speaker
#: jackknife and the bootstrap resample speakers of the pooled predictions.
EVALUATION_KEYS = ["source", "target", "seed"]


@dataclass(frozen=True)
class UarEstimate:
    """A UAR with its confidence interval (and bootstrap replicates where drawn)."""

    uar: float
    ci_low: float
    ci_high: float
    n_test: int
    n_units: int
    unit: str
    replicates: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)


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
    """Row indices of each evaluation, in the sorted order of the evaluation keys."""
    keys = [k for k in EVALUATION_KEYS if k in predictions.columns]
    if not keys:
        return [np.arange(len(predictions))]
    codes = [pd.factorize(predictions[k], sort=True) for k in keys]
    combined = np.ravel_multi_index(
        tuple(c for c, _ in codes), tuple(max(len(u), 1) for _, u in codes)
    )
    groups, inverse = np.unique(combined, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    return np.split(order, np.cumsum(np.bincount(inverse, minlength=len(groups)))[:-1])


def _codes(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of the classes present in ``y_true``; correct-prediction mask."""
    classes, true_codes = np.unique(y_true.astype(str), return_inverse=True)
    correct = (y_true.astype(str) == y_pred.astype(str)).astype(np.float64)
    return true_codes, correct, len(classes)


def _recalls_under(weights: np.ndarray, totals: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """UAR under each row of ``weights`` (resamples x units) from per-unit class counts.

    Classes drawn zero times in a resample are skipped (NaN when none is left).
    """
    drawn = weights @ totals
    correct = weights @ hits
    recall = np.where(drawn > 0, correct / np.where(drawn > 0, drawn, 1), np.nan)
    with warnings.catch_warnings():
        # A resample can miss every unit of an evaluation: NaN, skipped by the caller.
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(recall, axis=1)


def _weighted_uar(y_true, y_pred, weights: np.ndarray) -> np.ndarray:
    """UAR under each row of ``weights`` (resamples x rows); classes drawn zero times skipped."""
    codes, correct, k = _codes(np.asarray(y_true), np.asarray(y_pred))
    onehot = np.zeros((len(codes), k))
    onehot[np.arange(len(codes)), codes] = 1.0
    return _recalls_under(weights, onehot, onehot * correct[:, None])


def uar(y_true, y_pred) -> float:
    """Unweighted average recall over the classes present in ``y_true``."""
    return float(_weighted_uar(y_true, y_pred, np.ones((1, len(y_true))))[0])


def _replicates(
    predictions: pd.DataFrame, unit_weights: np.ndarray, unit_index: np.ndarray
) -> np.ndarray:
    """Mean-over-evaluations UAR: point estimate (row 0 weights = 1) and replicates.

    A resample weighs units, so each evaluation is reduced to per-unit class
    counts first: resamples x units x classes, never resamples x utterances.
    """
    y_true = predictions["y_true"].to_numpy()
    y_pred = predictions["y_pred"].to_numpy()
    per_evaluation = []
    for rows in _evaluations(predictions):
        codes, correct, k = _codes(y_true[rows], y_pred[rows])
        units, local = np.unique(unit_index[rows], return_inverse=True)
        totals = np.zeros((len(units), k))
        np.add.at(totals, (local, codes), 1.0)
        hits = np.zeros((len(units), k))
        np.add.at(hits, (local, codes), correct)
        per_evaluation.append(_recalls_under(unit_weights[:, units], totals, hits))
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


@dataclass(frozen=True)
class UnitStatistic:
    """A statistic of one or more cells with its delete-one-unit jackknife values.

    ``leave_out[u]`` is the statistic recomputed without test unit ``u``
    (a speaker where known: its utterances are one correlated cluster).
    The jackknife standard error over the ``G`` units and a t reference with
    G-1 degrees of freedom give CIs and p-values with no resampling floor,
    so a strong cell survives a Holm correction over hundreds of cells; with
    6-10 speakers a normal reference or a linearised (sandwich) variance would
    be anti-conservative, which the validation suite (``make validate-stats``)
    checks.  Differences and averages of statistics combine their
    leave-out values unit by unit, so cells that share test speakers stay
    correlated (paired).
    """

    value: float
    leave_out: pd.Series
    #: What a unit is: ``speaker``, ``utterance`` or ``row``.
    unit: str = "speaker"

    @property
    def n_units(self) -> int:
        return len(self.leave_out)

    @property
    def se(self) -> float:
        g = self.n_units
        values = self.leave_out.to_numpy(dtype=float)
        if g < 2 or not np.isfinite(values).all():
            return float("nan")
        return float(np.sqrt((g - 1) / g * np.sum((values - values.mean()) ** 2)))

    @property
    def df(self) -> int:
        return max(self.n_units - 1, 1)

    def _aligned(self, other: UnitStatistic) -> tuple[pd.Series, pd.Series]:
        index = self.leave_out.index.union(other.leave_out.index)
        # A unit absent from a statistic leaves it unchanged when left out.
        return (
            self.leave_out.reindex(index).fillna(self.value),
            other.leave_out.reindex(index).fillna(other.value),
        )

    def __sub__(self, other: UnitStatistic) -> UnitStatistic:
        mine, theirs = self._aligned(other)
        return UnitStatistic(self.value - other.value, mine - theirs, self.unit)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        from scipy.stats import t

        if not np.isfinite(self.se):
            return float("nan"), float("nan")
        half = float(t.ppf(0.5 + level / 2, self.df)) * self.se
        return self.value - half, self.value + half

    def p_value(self, alternative: str = "two-sided", reference: str = "t") -> float:
        """p of ``value == 0`` from ``value / se``.

        ``reference="t"``: t with G-1 degrees of freedom (differences, whose
        null distribution is symmetric); ``"normal"``: the standard normal.
        """
        from scipy.stats import norm, t

        se = self.se
        if not np.isfinite(se) or se <= 1e-15:
            # No spread between units: the evidence is all-or-nothing.
            if alternative == "greater":
                return 0.0 if self.value > 1e-12 else 1.0
            return 0.0 if abs(self.value) > 1e-12 else 1.0
        z = self.value / se
        tail = norm.sf if reference == "normal" else (lambda x: t.sf(x, self.df))
        if alternative == "greater":
            return float(tail(z))
        return float(min(1.0, 2 * tail(abs(z))))


def average(statistics: Sequence[UnitStatistic]) -> UnitStatistic:
    """The mean of several statistics (each cell weighs the same), unit by unit."""
    if not statistics:
        raise ValueError("nothing to average")
    index = statistics[0].leave_out.index
    for statistic in statistics[1:]:
        index = index.union(statistic.leave_out.index)
    stacked = np.vstack(
        [s.leave_out.reindex(index).fillna(s.value).to_numpy(float) for s in statistics]
    )
    return UnitStatistic(
        float(np.mean([s.value for s in statistics])),
        pd.Series(stacked.mean(axis=0), index),
        statistics[0].unit,
    )


METRICS = ("uar", "accuracy", "chance_uar")


def _metric_from_counts(metric: str, true: np.ndarray, hits: np.ndarray, pred: np.ndarray):
    """UAR or accuracy from class totals (last axis: classes); NaN where nothing is left."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "accuracy":
            return hits.sum(axis=-1) / true.sum(axis=-1)
        present = true > 0
        k = present.sum(axis=-1)
        recall = np.where(present, hits / np.where(present, true, 1), 0.0)
        return np.where(k > 0, recall.sum(axis=-1) / np.maximum(k, 1), np.nan)


def unit_statistic(
    predictions: pd.DataFrame, metric: str = "uar", *, cluster: str | None = "speaker"
) -> UnitStatistic:
    """``metric`` of one cell (the mean over its evaluations) with jackknife values.

    ``metric``: ``uar`` (over the classes present in each evaluation's
    ``y_true``: what ``results.csv`` reports), ``accuracy``, or
    ``chance_uar``: the UAR expected if the predictions were unrelated to the
    labels, given both marginals (the mean over present classes of the share
    of predictions in that class; below 1/K when some predictions fall in
    classes the test set lacks).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}': use {', '.join(METRICS)}")
    if predictions.empty:
        raise ValueError("no predictions to analyse")
    layout = _layout(predictions, cluster)
    return _statistic(layout, predictions["y_true"], predictions["y_pred"], metric)


class _Layout(NamedTuple):
    """Units and evaluations of a prediction table: shared by every statistic of its rows."""

    ids: np.ndarray
    unit_index: np.ndarray
    unit: str
    evaluations: list[np.ndarray]


def _layout(predictions: pd.DataFrame, cluster: str | None) -> _Layout:
    return _Layout(*_units(predictions, cluster), _evaluations(predictions))


def _statistic(layout: _Layout, y_true, y_pred, metric: str) -> UnitStatistic:
    """``metric`` with jackknife values over ``layout``'s units (see :func:`unit_statistic`)."""
    ids, unit_index, unit, evaluations = layout
    y_true_all = np.asarray(y_true).astype(str)
    y_pred_all = np.asarray(y_pred).astype(str)
    classes, true_codes = np.unique(y_true_all, return_inverse=True)
    pred_codes = np.searchsorted(classes, y_pred_all)
    known = (pred_codes < len(classes)) & (
        classes[np.minimum(pred_codes, len(classes) - 1)] == y_pred_all
    )
    g, k = len(ids), len(classes)
    full, leave_out = [], []
    for rows in evaluations:
        units = unit_index[rows]
        true = np.zeros((g, k))
        np.add.at(true, (units, true_codes[rows]), 1.0)
        hit = true_codes[rows] == np.where(known[rows], pred_codes[rows], -1)
        hits = np.zeros((g, k))
        np.add.at(hits, (units[hit], true_codes[rows][hit]), 1.0)
        pred = np.zeros((g, k))
        ok = known[rows]
        np.add.at(pred, (units[ok], pred_codes[rows][ok]), 1.0)
        # Predictions in classes the test set lacks still count in n (they are wrong).
        extra = np.bincount(units[~ok], minlength=g).astype(float)
        totals = (true.sum(0), hits.sum(0), pred.sum(0))
        if metric == "chance_uar":
            # n must include every prediction: add the absent-class ones as a pseudo-class.
            pred_n = np.c_[pred, extra]
            value = _chance_uar(totals[0], pred_n.sum(0))
            loo = _chance_uar(totals[0] - true, pred_n.sum(0) - pred_n)
        else:
            value = _metric_from_counts(metric, *totals)
            loo = _metric_from_counts(metric, totals[0] - true, totals[1] - hits, totals[2] - pred)
        full.append(value)
        leave_out.append(loo)
    with warnings.catch_warnings():
        # Leaving out a unit can empty an evaluation (a leave-one-speaker-out fold).
        warnings.simplefilter("ignore", RuntimeWarning)
        loo_values = np.nanmean(np.vstack(leave_out), axis=0)
    series = pd.Series(loo_values, index=pd.Index(ids, name="unit"))
    return UnitStatistic(float(np.mean(full)), series, unit)


def uar_estimate(
    predictions: pd.DataFrame, *, level: float = 0.95, cluster: str | None = "speaker"
) -> UarEstimate:
    """UAR of one cell with a jackknife t interval over test units (speakers where known).

    The interval the reports print: its coverage on clustered data is
    checked by ``make validate-stats`` (a percentile bootstrap over 6-10
    speakers under-covers).
    """
    statistic = unit_statistic(predictions, "uar", cluster=cluster)
    low, high = statistic.interval(level)
    return UarEstimate(
        statistic.value, low, high, len(predictions), statistic.n_units, statistic.unit
    )


def _chance_uar(true: np.ndarray, pred_with_absent: np.ndarray) -> np.ndarray:
    """Mean over present classes of the share of all predictions in that class."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = pred_with_absent.sum(axis=-1)
        pred = pred_with_absent[..., :-1]
        present = true > 0
        k = present.sum(axis=-1)
        share = np.where(present, pred / n[..., None], 0.0)
        return np.where(k > 0, share.sum(axis=-1) / np.maximum(k, 1), np.nan)


@dataclass(frozen=True)
class ChanceTest:
    """One cell's UAR against what unrelated predictions would score."""

    uar: float
    chance_uar: float
    t: float
    df: int
    p_value: float
    n_units: int
    unit: str


def chance_test(predictions: pd.DataFrame, *, cluster: str | None = "speaker") -> ChanceTest:
    """One-sided test that predictions carry information about the labels.

    The statistic is UAR minus its expectation under independence of
    predictions and labels (given both marginals), with a delete-one-unit
    jackknife standard error over test units: speakers where the predictions
    carry them, so a speaker's utterances count as one correlated cluster.
    The one-sided p-value is from the normal tail: under the null the
    statistic over its jackknife SE is left-skewed (the SE grows with the
    effect), so t with G-1 degrees of freedom is conservative in this tail
    (about 3 % at alpha 0.05 with 8 speakers) while the normal reference holds
    the level from 4 to 20 speakers.  Unlike a permutation p it has no
    floor, so a strong cell survives a Holm correction over hundreds of
    cells, and unlike an utterance-level permutation it holds its level when
    speakers differ in their label and prediction tendencies (checked by
    ``make validate-stats``).
    """
    if predictions.empty:
        raise ValueError("no predictions to analyse")
    layout = _layout(predictions, cluster)
    observed = _statistic(layout, predictions["y_true"], predictions["y_pred"], "uar")
    chance = _statistic(layout, predictions["y_true"], predictions["y_pred"], "chance_uar")
    effect = observed - chance
    se = effect.se
    if np.isfinite(se) and se > 0:
        t_value = effect.value / se
    else:
        t_value = float(np.sign(effect.value) * np.inf) if effect.value else float("nan")
    return ChanceTest(
        uar=observed.value,
        chance_uar=chance.value,
        t=float(t_value),
        df=effect.df,
        p_value=effect.p_value("greater", reference="normal"),
        n_units=effect.n_units,
        unit=observed.unit,
    )


#: Columns on which two prediction tables are matched for a paired comparison.
PAIR_KEYS = ["source", "target", "seed", "fold", "utterance"]


@dataclass(frozen=True)
class PairedDifference:
    """metric(a) - metric(b) on the same test utterances, with a speaker-level CI and p."""

    uar_a: float
    uar_b: float
    difference: float
    ci_low: float
    ci_high: float
    #: Two-sided p of the difference (jackknife standard error over test units).
    p_value: float
    n_test: int
    n_units: int
    unit: str
    #: Standard error of the difference (delete-one-unit jackknife).
    se: float = float("nan")


def paired_difference(
    pred_a: pd.DataFrame,
    pred_b: pd.DataFrame,
    *,
    level: float = 0.95,
    cluster: str | None = "speaker",
    metric: str = "uar",
) -> PairedDifference:
    """Compare two systems (feature sets, classifiers, ...) on the utterances both tested.

    Rows are matched on source, target, seed, fold and utterance (those
    present in both), so tables pooling several cells compare cell by cell;
    the statistic is then the mean ``metric`` over the cells' evaluations.
    Both systems are left out unit by unit together, so the standard error
    is of the paired difference.
    """
    a, b, n_test = paired_statistics(pred_a, pred_b, metric, cluster)
    return describe_difference(a - b, a.value, b.value, n_test, level)


def describe_difference(
    difference: UnitStatistic, value_a: float, value_b: float, n_test: int, level: float = 0.95
) -> PairedDifference:
    """A :class:`PairedDifference` from a difference of unit statistics."""
    low, high = difference.interval(level)
    return PairedDifference(
        value_a, value_b, difference.value, low, high, difference.p_value(),
        n_test, difference.n_units, difference.unit, difference.se,
    )  # fmt: skip


PairedStatistics = tuple[UnitStatistic, UnitStatistic, int]


def paired_statistics(
    pred_a: pd.DataFrame, pred_b: pd.DataFrame, metric: str = "uar", cluster: str | None = "speaker"
) -> PairedStatistics:
    """Unit statistics of two systems on the utterances both tested (for averaging cells)."""
    return paired_metrics(pred_a, pred_b, (metric,), cluster)[metric]


def paired_metrics(
    pred_a: pd.DataFrame,
    pred_b: pd.DataFrame,
    metrics: Sequence[str],
    cluster: str | None = "speaker",
) -> dict[str, PairedStatistics]:
    """:func:`paired_statistics` for each of ``metrics``, the tables matched only once."""
    keys = [k for k in PAIR_KEYS if k in pred_a.columns and k in pred_b.columns]
    if "utterance" not in keys:
        raise ValueError("paired comparison needs an 'utterance' column in both tables")
    extra = ["speaker"] if "speaker" in pred_a.columns else []
    merged = pred_a[[*keys, *extra, "y_true", "y_pred"]].merge(
        pred_b[[*keys, "y_pred"]], on=keys, suffixes=("_a", "_b")
    )
    if merged.empty:
        raise ValueError("the two prediction tables share no test utterances")
    for metric in metrics:
        if metric not in METRICS:
            raise ValueError(f"unknown metric '{metric}': use {', '.join(METRICS)}")
    layout = _layout(merged, cluster)  # both systems are scored on the same units
    return {
        metric: (
            _statistic(layout, merged["y_true"], merged["y_pred_a"], metric),
            _statistic(layout, merged["y_true"], merged["y_pred_b"], metric),
            len(merged),
        )
        for metric in metrics
    }


def paired_average(
    pairs: Sequence[tuple[pd.DataFrame, pd.DataFrame]],
    *,
    level: float = 0.95,
    cluster: str | None = "speaker",
    metric: str = "uar",
) -> PairedDifference:
    """The mean over cells of paired differences, every cell weighing the same.

    ``pairs`` holds one (system a, system b) pair of prediction tables per
    cell.  A cell that fell back to leave-one-speaker-out has many more
    evaluations than a 5-fold one but still counts once; cells that share
    test speakers (one target, several sources) are left out together.
    """
    statistics = [paired_statistics(a, b, metric, cluster) for a, b in pairs]
    return average_paired(statistics, level)


def average_paired(statistics: Sequence[PairedStatistics], level: float = 0.95) -> PairedDifference:
    """:func:`paired_average` of cells whose :func:`paired_statistics` are already known."""
    mean_a = average([a for a, _, _ in statistics])
    mean_b = average([b for _, b, _ in statistics])
    n_test = sum(n for _, _, n in statistics)
    return describe_difference(mean_a - mean_b, mean_a.value, mean_b.value, n_test, level)


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
    level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[tuple, np.ndarray]]:
    """Per cell: UAR [CI], mean and sd over seeds, chance, above-chance p (raw and Holm).

    The CI and the test against chance come from the speaker-level
    jackknife (:func:`uar_estimate`, :func:`chance_test`).  Also returns
    cluster-bootstrap replicates per cell (keyed by the cell key tuple),
    which the inversion report resamples for CIs of derived numbers (ranks,
    Kendall's tau); ``n_boot=0`` skips them.
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
        estimate = uar_estimate(group, level=level)
        test = chance_test(group)
        if n_boot:
            replicates[key] = bootstrap_uar(group, n_boot=n_boot, level=level, seed=seed).replicates
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
                "chance_uar": test.chance_uar,
                "p_above_chance": test.p_value,
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
    """Rows: true class; columns: predicted class; row-normalised shares by default.

    Rows are the classes present in ``y_true``, columns every class in either, both
    sorted.  Counted with numpy: a report builds one per cell (``pd.crosstab`` took
    ~8 ms each, most of a 125-cell report's statistics).
    """
    true = predictions["y_true"].to_numpy()
    predicted = predictions["y_pred"].to_numpy()
    labels = np.array(sorted(set(true) | set(predicted)), dtype=object)
    rows = np.array(sorted(set(true)), dtype=object)
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(counts, (np.searchsorted(labels, true), np.searchsorted(labels, predicted)), 1)
    table = pd.DataFrame(
        counts[np.searchsorted(labels, rows)],
        index=pd.Index(list(rows), name="y_true"),
        columns=pd.Index(list(labels), name="y_pred"),
    )
    if normalise:
        table = table.div(table.sum(axis=1).replace(0, 1), axis=0)
    return table
