"""Domain-shift diagnostics between two corpora, from features alone.

Groundwork for the shift report (issue 9): how far apart two corpora are
(maximum mean discrepancy with a permutation p-value; proxy A-distance from a
domain classifier cross-validated over speakers; the Fréchet distance between
Gaussian fits, which still ranks pairs a classifier separates perfectly) and
where the shift lives (per-feature standardised mean difference and
Kolmogorov-Smirnov statistic, grouped into descriptor families).  None of these
functions reads a label.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from scipy.stats import ks_2samp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import PredefinedSplit, StratifiedKFold, cross_val_score
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


@dataclass(frozen=True)
class DomainCV:
    """A source-vs-target classifier, cross-validated: its balanced accuracy and PAD."""

    balanced_accuracy: float
    pad: float
    #: "speaker" when whole speakers were held out, else "utterance".
    unit: str
    folds: int


def _speaker_folds(speakers: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of every row of one corpus: its speakers dealt to the folds in random order."""
    codes, order = pd.factorize(pd.Series(speakers).astype(str))
    fold_of_speaker = np.empty(len(order), dtype=int)
    fold_of_speaker[rng.permutation(len(order))] = np.arange(len(order)) % folds
    return fold_of_speaker[codes]


def _known_speakers(speakers) -> bool:
    return speakers is not None and not pd.isna(pd.Series(speakers)).any()


def domain_classifier_cv(
    x: np.ndarray,
    y: np.ndarray,
    *,
    speakers_x: np.ndarray | None = None,
    speakers_y: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
) -> DomainCV:
    """Cross-validated balanced accuracy of a source-vs-target classifier, and its PAD.

    With speakers for both corpora (at least two each), every fold holds out whole
    speakers of both corpora (``min(folds, speakers of either)`` folds), so telling
    one speaker from another cannot pass for telling the corpora apart; otherwise
    the folds are over utterances (stratified by corpus).  Speakers are kept apart
    per corpus, so equal ids in two corpora never merge.
    """
    data = np.vstack([x, y])
    domain = np.r_[np.zeros(len(x)), np.ones(len(y))]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    grouped = _known_speakers(speakers_x) and _known_speakers(speakers_y)
    k = min(folds, len(set(speakers_x)), len(set(speakers_y))) if grouped else folds
    if grouped and k >= 2:
        rng = np.random.default_rng(seed)
        test_fold = np.r_[_speaker_folds(speakers_x, k, rng), _speaker_folds(speakers_y, k, rng)]
        splitter, unit = PredefinedSplit(test_fold), "speaker"
    else:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
        k, unit = folds, "utterance"
    accuracy = cross_val_score(model, data, domain, cv=splitter, scoring="balanced_accuracy")
    balanced = float(np.mean(accuracy))
    return DomainCV(balanced, max(0.0, 2.0 * (1.0 - 2.0 * (1.0 - balanced))), unit, k)


def proxy_a_distance(x: np.ndarray, y: np.ndarray, **cv) -> float:
    """Proxy A-distance 2(1 - 2 err) of a cross-validated source-vs-target classifier.

    0 when the corpora cannot be told apart (error 0.5), 2 when perfectly
    separable.  Uses balanced accuracy so unequal corpus sizes do not inflate it.
    ``cv`` are the keywords of :func:`domain_classifier_cv` (``speakers_x``,
    ``speakers_y``, ``folds``, ``seed``): give the speakers so whole speakers are
    held out; over utterances, speaker identity alone makes two halves of one
    corpus look far apart.
    """
    return domain_classifier_cv(x, y, **cv).pad


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Squared Fréchet (2-Wasserstein) distance between Gaussian fits of ``x`` and ``y``,
    per feature.

    Features are scaled by their pooled within-corpus standard deviation (as SMD
    is), so the mean term is the mean squared SMD; the covariance term
    tr(Cx + Cy - 2 (Cx^1/2 Cy Cx^1/2)^1/2) adds differences in spread and
    correlation.  Unlike PAD it has no ceiling: two pairs a classifier separates
    perfectly are still ranked by how far apart they are.  Divided by the number
    of features so feature sets of different size share one scale.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    scale = np.sqrt((x.var(axis=0, ddof=1) + y.var(axis=0, ddof=1)) / 2)
    scale[scale < 1e-12] = 1.0
    x, y = x / scale, y / scale
    difference = x.mean(axis=0) - y.mean(axis=0)
    # With Cx = A'A and Cy = B'B (A, B the centred rows over sqrt(n - 1)), the
    # eigenvalues of Cx^1/2 Cy Cx^1/2 are the squared singular values of A B', so the
    # trace of its square root is the nuclear norm of A B': an n_x x n_y SVD instead
    # of two eigendecompositions of d x d matrices (d = 1582 for IS10).
    a = (x - x.mean(axis=0)) / np.sqrt(max(1, len(x) - 1))
    b = (y - y.mean(axis=0)) / np.sqrt(max(1, len(y) - 1))
    cross = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    squared = difference @ difference + (a**2).sum() + (b**2).sum() - 2.0 * cross
    return max(0.0, float(squared)) / x.shape[1]


#: Descriptor families, matched on openSMILE feature names (first match wins).
FAMILIES: tuple[tuple[str, str], ...] = (
    ("mfcc", r"mfcc"),
    ("temporal", r"duration"),  # before pitch: IS10's F0final__Turn_duration is a duration
    # Before pitch too: eGeMAPS' F1amplitudeLogRelF0 and logRelF0-H1-H2 are relative to F0.
    ("voice quality", r"jitter|shimmer|hnr|voicingprob|voicingfinal|h1-h2|h1-a3|alpharatio"),
    ("formants", r"f[1-3](frequency|bandwidth|amplitude)"),
    ("pitch", r"f0|pitch|semitone"),
    ("energy", r"loudness|energy|rms|intensity|soundlevel|pcm_.*sma_(max|min|amean)"),
    (
        "spectral",
        r"spectral|slope|hammarberg|flux|audspec|fband|centroid|entropy|rolloff|melfreqband|lspfreq",
    ),
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


# --- The shift report: every corpus pair x feature set as tidy tables --------------------------

#: Columns of ``shift.csv``: one row per feature set x ordered pair (source, target).
SHIFT_COLUMNS: dict[str, str] = {
    "feature_set": "feature set name",
    "source": "first corpus of the direction (the training side under transfer)",
    "target": "second corpus (the test side); every distance here is symmetric, so the "
    "reverse direction carries the same values",
    "mmd2": "squared maximum mean discrepancy (biased estimate), RBF kernel on features "
    "standardised over the pooled pair",
    "mmd_p": "permutation p-value of mmd2 (corpus membership shuffled)",
    "bandwidth": "RBF bandwidth: median pairwise distance of the pooled (sub)sample",
    "n_permutations": "permutations behind mmd_p",
    "domain_accuracy": "cross-validated balanced accuracy of a source-vs-target classifier "
    "(logistic regression), whole speakers held out (see pad_unit)",
    "pad": "proxy A-distance 2(1 - 2 err) from domain_accuracy: 0 indistinguishable, 2 separable",
    "pad_unit": "what the domain classifier's folds hold out: 'speaker' (whole speakers of both "
    "corpora, so speaker identity cannot pass for corpus identity) or 'utterance' (speakers "
    "unknown, or fewer than two in a corpus)",
    "pad_folds": "folds of that cross-validation: 5, or fewer when a corpus has fewer speakers",
    "frechet": "squared Fréchet (2-Wasserstein) distance between Gaussian fits of the two "
    "corpora, features scaled by their pooled within-corpus SD, divided by the number of "
    "features; no ceiling, so it ranks pairs that PAD shows as all separable",
    "prior_tvd": "total-variation distance between the two corpora's class priors (union of "
    "their classes; a class a corpus lacks has prior 0)",
    "class_conditional_mmd2": "mmd2 between the same class in both corpora, averaged over the "
    "shared classes (each class standardised over its own pooled sample)",
    "shared_classes": "classes both corpora have with enough utterances, '|'-separated",
    "n_source": "source utterances (all of them: SMD, KS, PAD and priors use every row)",
    "n_target": "target utterances",
    "n_mmd_source": "source utterances in the MMD sample (a seeded subsample when smaller than "
    "n_source)",
    "n_mmd_target": "target utterances in the MMD sample",
    "top_features": "the three features with the largest |SMD|, '|'-separated",
    "top_family": "the descriptor family with the largest mean |SMD|",
}

#: Columns of ``shift_features.csv``: one row per feature set x direction x feature.
FEATURE_COLUMNS: dict[str, str] = {
    "feature_set": "feature set name",
    "source": "source corpus",
    "target": "target corpus",
    "rank": "1 = largest |SMD| of this direction",
    "feature": "feature name",
    "family": "descriptor family (pitch, energy, spectral, voice quality, mfcc, ...)",
    "smd": "standardised mean difference, target minus source over the pooled SD",
    "abs_smd": "|smd|",
    "ks": "two-sample Kolmogorov-Smirnov statistic",
    "ks_p": "p-value of ks (uncorrected; thousands of features are tested)",
}

#: Columns of ``shift_families.csv``: one row per feature set x direction x family.
FAMILY_COLUMNS: dict[str, str] = {
    "feature_set": "feature set name",
    "source": "source corpus",
    "target": "target corpus",
    "family": "descriptor family",
    "features": "features of the family in the set",
    "mean_abs_smd": "mean |SMD| over the family's features",
    "mean_ks": "mean KS statistic over the family's features",
}

#: Columns of ``class_priors.csv``: one row per corpus x class.
PRIOR_COLUMNS: dict[str, str] = {
    "corpus": "corpus name",
    "class": "class (shared label space)",
    "n": "utterances of the class",
    "share": "n over the corpus' utterances",
}


def class_priors(corpus: str, labels: np.ndarray) -> pd.DataFrame:
    """Class counts and shares of one corpus, long format (:data:`PRIOR_COLUMNS`)."""
    counts = pd.Series(labels).value_counts().sort_index()
    return pd.DataFrame(
        {
            "corpus": corpus,
            "class": counts.index.astype(str),
            "n": counts.to_numpy(),
            "share": counts.to_numpy() / max(1, counts.sum()),
        }
    )


def total_variation(p: pd.Series, q: pd.Series) -> float:
    """Total-variation distance between two distributions indexed by class (missing = 0)."""
    p, q = p.align(q, fill_value=0.0)
    return float(0.5 * np.abs(p - q).sum())


def class_conditional_mmd(
    x: np.ndarray,
    y: np.ndarray,
    labels_x: np.ndarray,
    labels_y: np.ndarray,
    *,
    min_per_class: int = 5,
    max_samples: int = 500,
    seed: int = 0,
) -> tuple[float, list[str]]:
    """Mean MMD² between the same class in ``x`` and ``y`` over their shared classes.

    Classes with fewer than ``min_per_class`` utterances on either side are left
    out (too few for a kernel mean).  Returns (mean MMD², classes used); NaN and
    ``[]`` when no class qualifies.
    """
    shared = sorted(
        c
        for c in set(labels_x) & set(labels_y)
        if (labels_x == c).sum() >= min_per_class and (labels_y == c).sum() >= min_per_class
    )
    values = [
        mmd_rbf(
            x[labels_x == c], y[labels_y == c], n_permutations=0, max_samples=max_samples, seed=seed
        ).mmd2
        for c in shared
    ]
    return (float(np.mean(values)) if values else float("nan")), shared


@dataclass
class ShiftTables:
    """The tidy tables of a shift report (columns in the ``*_COLUMNS`` dicts above)."""

    shift: pd.DataFrame
    features: pd.DataFrame
    families: pd.DataFrame
    priors: pd.DataFrame


def _speakers(corpus) -> np.ndarray | None:
    """Speaker ids of a corpus, or ``None`` when any is unknown."""
    if "speaker" not in corpus.frame:
        return None
    speakers = corpus.frame["speaker"]
    return None if speakers.isna().any() else speakers.astype(str).to_numpy()


def _pair_shift(
    feature_set: str,
    source,
    target,
    names: list[str],
    n_permutations: int,
    max_samples: int,
    seed: int,
) -> tuple[list[dict], pd.DataFrame, pd.DataFrame]:
    """Both directions of one unordered pair: computed once, the reverse mirrored."""
    x, y = source.features[feature_set], target.features[feature_set]
    lx, ly = source.labels, target.labels
    mmd = mmd_rbf(x, y, n_permutations=n_permutations, max_samples=max_samples, seed=seed)
    domain = domain_classifier_cv(
        x, y, speakers_x=_speakers(source), speakers_y=_speakers(target), seed=seed
    )
    conditional, shared = class_conditional_mmd(x, y, lx, ly, max_samples=max_samples, seed=seed)
    tvd = total_variation(
        pd.Series(lx).value_counts(normalize=True), pd.Series(ly).value_counts(normalize=True)
    )
    forward = feature_shift(x, y, names)
    common = {
        "feature_set": feature_set,
        "mmd2": mmd.mmd2,
        "mmd_p": mmd.p_value,
        "bandwidth": mmd.bandwidth,
        "n_permutations": mmd.n_permutations,
        "domain_accuracy": domain.balanced_accuracy,
        "pad": domain.pad,
        "pad_unit": domain.unit,
        "pad_folds": domain.folds,
        "frechet": frechet_distance(x, y),
        "prior_tvd": tvd,
        "class_conditional_mmd2": conditional,
        "shared_classes": "|".join(shared),
    }
    rows, features, families = [], [], []
    for a, b, sign in ((source, target, 1.0), (target, source, -1.0)):
        keys = {"feature_set": feature_set, "source": a.name, "target": b.name}
        table = forward.assign(smd=forward["smd"] * sign, rank=np.arange(1, len(forward) + 1))
        family = family_shift(table).assign(**keys)
        table = table.assign(**keys)[list(FEATURE_COLUMNS)]
        family = family[list(FAMILY_COLUMNS)]
        rows.append(
            {
                **common,
                "source": a.name,
                "target": b.name,
                "n_source": len(a.frame),
                "n_target": len(b.frame),
                "n_mmd_source": min(len(a.frame), max_samples),
                "n_mmd_target": min(len(b.frame), max_samples),
                "top_features": "|".join(table["feature"].head(3)),
                "top_family": family["family"].iloc[0] if len(family) else "",
            }
        )
        features.append(table)
        families.append(family)
    return rows, pd.concat(features, ignore_index=True), pd.concat(families, ignore_index=True)


def shift_tables(
    corpora: Sequence,
    feature_names: Mapping[str, list[str]],
    *,
    n_permutations: int = 200,
    max_samples: int = 500,
    seed: int = 0,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ShiftTables:
    """Shift between every pair of ``corpora`` for every feature set of ``feature_names``.

    ``corpora`` are :class:`~paraser.experiments.CorpusData` (name, frame with
    ``label``, ``features[set]`` aligned with the frame).  Every distance is
    symmetric, so each unordered pair is computed once (in parallel over
    ``jobs``) and written in both directions; SMD changes sign with the
    direction.  Labels are read only for the priors and the class-conditional
    distance; the frame's ``speaker`` column, where every row has one, decides
    PAD's folds (whole speakers held out).  MMD uses a seeded subsample of at
    most ``max_samples`` rows per corpus (per class for the class-conditional
    distance).
    """
    from joblib import delayed

    from paraser.parallel import parallel_runner

    names = [c.name for c in corpora]
    if len(set(names)) != len(names) or len(names) < 2:
        raise ValueError(f"shift needs at least two distinct corpora, got {names}")
    tasks = [
        (feature_set, corpora[i], corpora[j])
        for feature_set in feature_names
        for i in range(len(corpora))
        for j in range(i + 1, len(corpora))
    ]
    if progress:
        progress(0, len(tasks))
    runner = parallel_runner(jobs, return_as="generator")
    parts = []
    for done, part in enumerate(
        runner(
            delayed(_pair_shift)(s, a, b, feature_names[s], n_permutations, max_samples, seed)
            for s, a, b in tasks
        ),
        start=1,
    ):
        parts.append(part)
        if progress:
            progress(done, len(tasks))
    shift = pd.DataFrame([row for rows, _, _ in parts for row in rows])[list(SHIFT_COLUMNS)]
    return ShiftTables(
        shift=shift.sort_values(["feature_set", "source", "target"], ignore_index=True),
        features=pd.concat([p[1] for p in parts], ignore_index=True),
        families=pd.concat([p[2] for p in parts], ignore_index=True),
        priors=pd.concat([class_priors(c.name, c.labels) for c in corpora], ignore_index=True),
    )
