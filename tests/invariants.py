"""Invariants every run must hold, asserted by the tests that make runs.

- within-corpus folds: each utterance of the corpus (in the label space) is tested exactly once
  per configuration and seed, the pooled within row of results.csv tests them all, and each
  fold's ``n_train + n_test`` (folds.csv) equals those rows (no test row trains, no row is
  dropped: the training set is the complement of the test set);
- transfer rows: the test labels are within the classes source and target share;
- every prediction's ``y_true`` is the manifest's label of that utterance;
- no test utterance is an augmented copy (each is an original row of its manifest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from paraser.corpora import load_manifest

CONFIG = ["feature_set", "classifier", "normalisation", "adaptation", "augmentation"]


def _members(name: str, corpora: Mapping[str, pd.DataFrame]) -> list[str] | None:
    """The corpora a (possibly pooled, ``a+b``) source is made of; None when unknown."""
    members = name.split("@")[0].split("+")
    return members if all(m in corpora for m in members) else None


def assert_run_invariants(
    results: pd.DataFrame,
    predictions: pd.DataFrame,
    corpora: Mapping[str, pd.DataFrame],
    folds: pd.DataFrame | None = None,
) -> None:
    """``corpora``: each corpus' frame (``utterance`` and canonical ``label`` columns);
    ``folds``: the per-fold within rows (results.csv holds one pooled row per cell)."""
    config = [c for c in CONFIG if c in results.columns and c in predictions.columns]
    labels = {
        (name, u): label
        for name, frame in corpora.items()
        for u, label in zip(frame["utterance"], frame["label"])
    }
    known = predictions[predictions.target.isin(list(corpora))]
    assert not known.empty, "no predictions on the given corpora"
    keys = list(zip(known.target, known.utterance))
    missing = [k for k in keys if k not in labels]
    assert not missing, f"test utterances that are not original manifest rows: {missing[:5]}"
    truth = [labels[k] for k in keys]
    wrong = known[known.y_true.to_numpy() != pd.Series(truth, index=known.index).to_numpy()]
    assert wrong.empty, f"y_true differs from the manifest: {wrong.head().to_dict('records')}"

    within = results[(results.kind == "within") & results.source.isin(list(corpora))]
    for key, rows in within.groupby([*config, "source", "seed"], dropna=False):
        *config_values, source, seed = key
        tested = known[
            (known.source == source)
            & (known.target == source)
            & (known.seed == seed)
            & (known[config] == pd.Series(config_values, index=config)).all(axis=1)
        ]
        frame = corpora[source]
        in_space = frame[frame.label.isin(set(tested.y_true))]
        assert tested.utterance.is_unique, f"{key}: an utterance tested in two folds"
        assert set(tested.utterance) == set(in_space.utterance), f"{key}: folds miss rows"
        assert list(rows.n_test) == [len(tested)], f"{key}: not one pooled row over all folds"
        if folds is None or rows.augmentation.iloc[0] != "none":
            continue
        per_fold = folds[
            (folds.source == source)
            & (folds.seed == seed)
            & (folds.protocol == rows.protocol.iloc[0])
            & (folds[config] == pd.Series(config_values, index=config)).all(axis=1)
        ]
        assert per_fold.n_test.sum() == len(tested), f"{key}: folds do not partition the corpus"
        sizes = (per_fold.n_train + per_fold.n_test).unique()
        assert list(sizes) == [len(in_space)], f"{key}: n_train + n_test {sizes}"

    transfer = results[results.kind != "within"]
    for _, row in transfer.iterrows():
        shared = set(str(row.classes).split("|"))
        members = _members(row.source, corpora)
        if members is not None and row.target in corpora:
            source_labels = set().union(*(set(corpora[m].label) for m in members))
            assert shared <= source_labels & set(corpora[row.target].label), row.to_dict()
        cell = known[(known.source == row.source) & (known.target == row.target)]
        assert set(cell.y_true) <= shared, (row.source, row.target, set(cell.y_true) - shared)


def assert_run_dir_invariants(out: Path, manifests: Sequence[Path]) -> None:
    """The invariants on a CLI run folder, with the manifests read through the library."""
    corpora = {}
    for path in manifests:
        loaded = load_manifest(path)
        corpora[str(loaded.frame.corpus.iloc[0])] = loaded.frame
    results = pd.read_csv(Path(out) / "results.csv")
    predictions = pd.read_parquet(Path(out) / "predictions.parquet")
    folds_csv = Path(out) / "folds.csv"
    folds = pd.read_csv(folds_csv) if folds_csv.is_file() else None
    assert_run_invariants(results, predictions, corpora, folds)


def assert_grid_invariants(grid, corpora) -> None:
    """The invariants on a :func:`paraser.experiments.run_grid` result over ``CorpusData``."""
    assert_run_invariants(
        grid.results, grid.predictions, {c.name: c.frame for c in corpora}, grid.folds
    )
