"""Domain-shift diagnostics between two corpora, from features alone.

Groundwork for the shift report (issue 9): how far apart two corpora are
(maximum mean discrepancy with a permutation p-value; proxy A-distance from a
cross-validated domain classifier) and where the shift lives (per-feature
standardised mean difference and Kolmogorov-Smirnov statistic, grouped into
descriptor families).  None of these functions reads a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from scipy.stats import ks_2samp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class MMDResult:
    """Squared MMD (biased estimate), RBF bandwidth and permutation p-value."""

    mmd2: float
    bandwidth: float
    p_value: float
    n_permutations: int


def _pooled_standardise(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pooled = np.vstack([x, y]).astype(np.float64)
    std = pooled.std(axis=0)
    std[std < 1e-12] = 1.0
    mean = pooled.mean(axis=0)
    return (x - mean) / std, (y - mean) / std


def mmd_rbf(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_permutations: int = 200,
    max_samples: int = 500,
    seed: int = 0,
) -> MMDResult:
    """MMD between samples ``x`` and ``y`` with an RBF kernel.

    Features are standardised on the pooled sample (so no single feature's
    scale dominates); the bandwidth is the median pairwise distance (median
    heuristic); the p-value comes from permuting corpus membership.  Large
    corpora are subsampled to ``max_samples`` each to bound the kernel matrix.
    """
    rng = np.random.default_rng(seed)
    if len(x) > max_samples:
        x = x[rng.choice(len(x), max_samples, replace=False)]
    if len(y) > max_samples:
        y = y[rng.choice(len(y), max_samples, replace=False)]
    x, y = _pooled_standardise(x, y)
    pooled = np.vstack([x, y])
    distances = cdist(pooled, pooled, "sqeuclidean")
    off_diagonal = distances[np.triu_indices_from(distances, k=1)]
    bandwidth = float(np.sqrt(np.median(off_diagonal))) or 1.0
    kernel = np.exp(-distances / (2 * bandwidth**2))
    n = len(x)

    def statistic(order: np.ndarray) -> float:
        k = kernel[np.ix_(order, order)]
        return float(k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean())

    observed = statistic(np.arange(len(pooled)))
    exceed = sum(statistic(rng.permutation(len(pooled))) >= observed for _ in range(n_permutations))
    return MMDResult(observed, bandwidth, (exceed + 1) / (n_permutations + 1), n_permutations)


def proxy_a_distance(x: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0) -> float:
    """Proxy A-distance 2(1 - 2 err) of a cross-validated source-vs-target classifier.

    0 when the corpora cannot be told apart (error 0.5), 2 when perfectly
    separable.  Uses balanced accuracy so unequal corpus sizes do not inflate it.
    """
    data = np.vstack([x, y])
    domain = np.r_[np.zeros(len(x)), np.ones(len(y))]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    accuracy = cross_val_score(model, data, domain, cv=splitter, scoring="balanced_accuracy")
    error = 1.0 - float(np.mean(accuracy))
    return max(0.0, 2.0 * (1.0 - 2.0 * error))


#: Descriptor families, matched on openSMILE feature names (first match wins).
FAMILIES: tuple[tuple[str, str], ...] = (
    ("mfcc", r"mfcc"),
    ("pitch", r"f0|pitch|semitone"),
    ("voice quality", r"jitter|shimmer|hnr|voicingprob|h1-h2|h1-a3|alpharatio"),
    ("energy", r"loudness|energy|rms|intensity|soundlevel|pcm_.*sma_(max|min|amean)"),
    ("formants", r"f[1-3](frequency|bandwidth|amplitude)"),
    ("spectral", r"spectral|slope|hammarberg|flux|audspec|fband|centroid|entropy|rolloff"),
    ("temporal", r"zcr|voiced|unvoiced|rate|segment|duration"),
)


def descriptor_family(name: str) -> str:
    lowered = name.lower()
    for family, pattern in FAMILIES:
        if re.search(pattern, lowered):
            return family
    return "other"


def feature_shift(x: np.ndarray, y: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Per-feature shift from ``x`` (source) to ``y`` (target), largest first.

    Columns: ``feature``, ``family``, ``smd`` (standardised mean difference,
    target minus source over the pooled standard deviation), ``abs_smd``,
    ``ks`` (two-sample Kolmogorov-Smirnov statistic) and ``ks_p``.
    """
    mean_difference = y.mean(axis=0) - x.mean(axis=0)
    pooled_sd = np.sqrt((x.var(axis=0, ddof=1) + y.var(axis=0, ddof=1)) / 2)
    smd = np.divide(mean_difference, pooled_sd, out=np.zeros_like(pooled_sd), where=pooled_sd > 0)
    ks = [ks_2samp(x[:, j], y[:, j]) for j in range(x.shape[1])]
    frame = pd.DataFrame(
        {
            "feature": names,
            "family": [descriptor_family(n) for n in names],
            "smd": smd,
            "abs_smd": np.abs(smd),
            "ks": [r.statistic for r in ks],
            "ks_p": [r.pvalue for r in ks],
        }
    )
    return frame.sort_values("abs_smd", ascending=False, kind="stable").reset_index(drop=True)


def family_shift(shift: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute SMD and KS per descriptor family, largest first."""
    summary = shift.groupby("family").agg(
        features=("feature", "size"), mean_abs_smd=("abs_smd", "mean"), mean_ks=("ks", "mean")
    )
    return summary.sort_values("mean_abs_smd", ascending=False).reset_index()
