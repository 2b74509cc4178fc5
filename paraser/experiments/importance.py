"""Permutation importance of features and descriptor families, within and across corpora.

For each within-corpus fold and each transfer direction, a model is trained as
the grid trains it (training fold / all of the source) and scored on the test
side (held-out fold / the target) with one feature -- or all features of one
descriptor family together -- permuted.  The importance is the UAR lost.

Permutation is *within speakers* by default: a test speaker's values are
shuffled among that speaker's own utterances, so each speaker keeps their
feature distribution (voice, microphone) and only the utterance-level link to
emotion is broken; ``permute="all"`` shuffles over the whole test side.  A
family is permuted jointly (one permutation for all its columns), so
correlated features inside it cannot stand in for each other.

Cost is bounded: at most ``max_test`` test rows per cell (a seeded subsample)
and ``n_repeats`` permutations per feature or family, i.e.
``(features + families) x n_repeats`` predictions of at most ``max_test`` rows
per fold and direction.  Families come from :data:`paraser.experiments.shift.FAMILIES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from paraser.experiments.classifiers import ClassifierLike, make_classifier, resolve_classifier
from paraser.experiments.protocols import Protocol, plan_splits
from paraser.experiments.shift import descriptor_family
from paraser.experiments.transfer import CorpusData
from paraser.parallel import parallel_jobs

#: Columns of ``importance.csv``: one row per feature set x classifier x cell x feature or family.
IMPORTANCE_COLUMNS: dict[str, str] = {
    "feature_set": "feature set",
    "classifier": "classifier",
    "kind": "'within' (held-out folds of one corpus) or 'transfer' (source -> target)",
    "source": "training corpus",
    "target": "test corpus (equal to source for within)",
    "unit": "'feature' (one column permuted) or 'family' (all its columns together)",
    "name": "feature name, or family name for unit 'family'",
    "family": "descriptor family (pitch, energy, spectral, voice quality, mfcc, temporal, ...)",
    "n_features": "columns permuted together",
    "importance": "UAR lost when permuted: baseline minus permuted UAR, mean over repeats "
    "(and over folds, weighted by test rows, for within)",
    "sd": "standard deviation of the UAR lost over repeats (pooled over folds)",
    "baseline_uar": "UAR with nothing permuted, on the scored rows",
    "n_test": "test rows scored (after the max_test subsample; summed over folds)",
    "n_repeats": "permutations per feature or family",
    "permute": "'speaker' (within each test speaker) or 'all'",
}


def uar(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted average recall over the classes present in ``y_true``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def _permutation(groups: np.ndarray | None, rng: np.random.Generator, n: int) -> np.ndarray:
    order = np.arange(n)
    if groups is None:
        return rng.permutation(n)
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        order[rows] = rng.permutation(rows)
    return order


def permutation_importance(
    model,
    x: np.ndarray,
    y: np.ndarray,
    units: dict[str, np.ndarray],
    *,
    groups: np.ndarray | None = None,
    n_repeats: int = 3,
    seed: int = 0,
) -> tuple[float, dict[str, np.ndarray]]:
    """UAR of a fitted ``model`` on ``x, y`` and the UAR lost per unit and repeat.

    ``units`` maps a name to the columns permuted together; with ``groups`` rows
    are shuffled only within their group (speaker).  Each repeat uses one row
    permutation for every unit (common random numbers: units compare fairly).
    """
    x = np.asarray(x)
    baseline = uar(y, model.predict(x))
    rng = np.random.default_rng(seed)
    lost = {name: np.empty(n_repeats) for name in units}
    for repeat in range(n_repeats):
        order = _permutation(groups, rng, len(x))
        for name, columns in units.items():
            permuted = x.copy()
            permuted[:, columns] = x[order][:, columns]
            lost[name][repeat] = baseline - uar(y, model.predict(permuted))
    return baseline, lost


def feature_units(feature_names: Sequence[str]) -> tuple[dict, dict]:
    """(feature -> its column, family -> its columns) for a feature set."""
    families: dict[str, list[int]] = {}
    for index, name in enumerate(feature_names):
        families.setdefault(descriptor_family(name), []).append(index)
    features = {name: np.array([i]) for i, name in enumerate(feature_names)}
    return features, {k: np.array(v) for k, v in sorted(families.items())}


def _cell(
    kind, feature_set, spec, source, target, train, test, names, seed, n_repeats, max_test, permute
) -> list[dict]:
    """Importance rows of one fold or direction (train rows of source, test rows of target)."""
    x_train = source.features[feature_set][train]
    model = make_classifier(spec, seed).fit(x_train, source.labels[train])
    if len(test) > max_test:
        test = np.sort(np.random.default_rng(seed).choice(test, max_test, replace=False))
    x, y = target.features[feature_set][test], target.labels[test]
    groups = target.frame["speaker"].to_numpy(str)[test] if permute == "speaker" else None
    features, families = feature_units(names)
    rows = []
    for unit, units in (("feature", features), ("family", families)):
        baseline, lost = permutation_importance(
            model, x, y, units, groups=groups, n_repeats=n_repeats, seed=seed
        )
        for name, values in lost.items():
            rows.append(
                {
                    "feature_set": feature_set,
                    "classifier": spec.name,
                    "kind": kind,
                    "source": source.name,
                    "target": target.name,
                    "unit": unit,
                    "name": name,
                    "family": name if unit == "family" else descriptor_family(name),
                    "n_features": len(units[name]),
                    "importance": float(values.mean()),
                    "var": float(values.var(ddof=1)) if n_repeats > 1 else 0.0,
                    "baseline_uar": baseline,
                    "n_test": len(test),
                    "n_repeats": n_repeats,
                    "permute": permute,
                }
            )
    return rows


def importance_grid(
    corpora: Sequence[CorpusData],
    feature_names: dict[str, list[str]],
    classifiers: Sequence[ClassifierLike] = ("svm",),
    *,
    protocol: Protocol,
    seed: int = 0,
    n_repeats: int = 3,
    max_test: int = 400,
    permute: str = "speaker",
    transfer: bool = True,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Permutation importance for every within fold and transfer direction (IMPORTANCE_COLUMNS).

    Within rows average a corpus' folds (weighted by test rows scored); transfer
    models train on the source's utterances of the classes it shares with the
    target, as in the grid.
    """
    if permute not in ("speaker", "all"):
        raise ValueError(f"permute must be 'speaker' or 'all', not '{permute}'")
    specs = [resolve_classifier(c) for c in classifiers]
    tasks = []
    for feature_set, names in feature_names.items():
        common = (names, seed, n_repeats, max_test, permute)
        for spec in specs:
            for corpus in corpora:
                speakers = corpus.frame["speaker"].to_numpy(str)
                planned = plan_splits(corpus.name, corpus.labels, speakers, protocol, seed)
                for train, test in planned.splits:
                    tasks.append(
                        ("within", feature_set, spec, corpus, corpus, train, test, *common)
                    )
            for source in corpora if transfer else ():
                for target in corpora:
                    shared = sorted(set(source.classes()) & set(target.classes()))
                    if source.name == target.name or len(shared) < 2:
                        continue
                    train = np.flatnonzero(np.isin(source.labels, shared))
                    test = np.flatnonzero(np.isin(target.labels, shared))
                    tasks.append(("transfer", feature_set, spec, source, target, train, test,
                                  *common))  # fmt: skip
    rows: list[dict] = []
    if progress:
        progress(0, len(tasks))
    runner = Parallel(n_jobs=parallel_jobs(jobs), return_as="generator_unordered")
    for done, part in enumerate(runner(delayed(_cell)(*task) for task in tasks), 1):
        rows += part
        if progress:
            progress(done, len(tasks))
    return _pool_folds(pd.DataFrame(rows))


def _pool_folds(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: within folds averaged, weighted by the rows each scored."""
    keys = ["feature_set", "classifier", "kind", "source", "target", "unit", "name"]
    rows = rows.assign(
        w_importance=rows["importance"] * rows["n_test"],
        w_baseline=rows["baseline_uar"] * rows["n_test"],
    )
    pooled = rows.groupby(keys, sort=True).agg(
        family=("family", "first"),
        n_features=("n_features", "first"),
        w_importance=("w_importance", "sum"),
        var=("var", "mean"),
        w_baseline=("w_baseline", "sum"),
        n_test=("n_test", "sum"),
        n_repeats=("n_repeats", "first"),
        permute=("permute", "first"),
    )
    pooled["importance"] = pooled.pop("w_importance") / pooled["n_test"]
    pooled["baseline_uar"] = pooled.pop("w_baseline") / pooled["n_test"]
    pooled["sd"] = np.sqrt(pooled.pop("var"))
    return pooled.reset_index()[list(IMPORTANCE_COLUMNS)]
