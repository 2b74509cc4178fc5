"""Corpora published only as feature tables work wherever extracted features do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from paraser.cli import app
from paraser.features.precomputed import read_feature_table

LABELS = ["angry", "happy", "neutral", "sad"]


def write_table_corpus(folder, seed: int, sets=("egemaps", "is09"), n_per_class: int = 12):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    labels = np.repeat(LABELS, n_per_class)
    for feature_set in sets:
        values = (
            rng.normal(size=(len(labels), 6)) + 2 * np.eye(6)[[LABELS.index(x) for x in labels]]
        )
        table = pd.DataFrame(values, columns=[f"{feature_set}_{i}" for i in range(6)])
        table.insert(0, "name", [f"u{i}" for i in range(len(labels))])
        table.insert(1, "label", labels)
        table.insert(2, "speaker", [f"s{i % 4}" for i in range(len(labels))])
        table.to_csv(folder / f"{feature_set}.csv", index=False)
    return folder


def test_transfer_matrix_accepts_feature_table_corpora(tmp_path):
    urdu = write_table_corpus(tmp_path / "urdu_tables", seed=1)
    sindhi = write_table_corpus(tmp_path / "sindhi_tables", seed=2)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "transfer-matrix", "--corpora", f"{urdu},{sindhi}", "--features", "egemaps,is09",
            "--protocol", "stratified", "--folds", "3", "--out", str(out), "-j", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    results = pd.read_csv(out / "results.csv")
    assert set(results.source) == {"urdu_tables", "sindhi_tables"}
    assert set(results.feature_set) == {"egemaps", "is09"}
    assert results.uar.min() > 0.5  # class structure survives import


def test_non_finite_imported_features_are_refused(tmp_path):
    folder = write_table_corpus(tmp_path / "bad", seed=3, sets=("egemaps",))
    table = pd.read_csv(folder / "egemaps.csv")
    table.loc[4, "egemaps_2"] = np.inf
    table.to_csv(folder / "egemaps.csv", index=False)
    with pytest.raises(ValueError, match=r"egemaps.csv: 1 row\(s\) with NaN or infinite.*line"):
        read_feature_table(folder / "egemaps.csv")
