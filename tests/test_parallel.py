"""Extraction and the grid on a Dask cluster give what the local run gives, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import paraser
from paraser.cli import app
from paraser.corpora import load_manifest
from paraser.experiments import CLASSIFIERS, make_classifier
from paraser.features import load_features
from paraser.parallel import BackendUnavailableError, backend

distributed = pytest.importorskip("distributed")

FEATURES = ["egemaps", "is09"]


@pytest.fixture(scope="module")
def cluster():
    # Threads, not processes: quick to start, and it exercises the per-thread engines.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as local:
        yield local


def _features(manifest: Path, cache: Path) -> dict[str, np.ndarray]:
    frame = load_manifest(manifest, map_labels=False).frame
    return {f: load_features(frame, f, cache_dir=cache).values for f in FEATURES}


def test_dask_extraction_and_grid_equal_local(tone_corpus, tmp_path, cluster):
    corpora = [str(tone_corpus("a")), str(tone_corpus("b", speakers=("s3", "s4")))]
    common = dict(feature_sets=FEATURES, classifiers=["svm", "rf"], folds=2, jobs=2)
    local = paraser.transfer_matrix(
        corpora, out=tmp_path / "local", cache_dir=tmp_path / "cache_local", **common
    )
    dask = paraser.transfer_matrix(
        corpora,
        out=tmp_path / "dask",
        cache_dir=tmp_path / "cache_dask",
        scheduler=cluster.scheduler_address,
        **common,
    )
    assert sum(r.extracted["egemaps"] for r in dask.extraction) == 48  # extracted on dask
    for manifest in corpora:
        ours, theirs = (
            _features(manifest, tmp_path / "cache_local"),
            _features(manifest, tmp_path / "cache_dask"),
        )
        for name in FEATURES:
            np.testing.assert_array_equal(ours[name], theirs[name])
    pd.testing.assert_frame_equal(local.results, dask.results)
    pd.testing.assert_frame_equal(local.predictions, dask.predictions)


def test_cli_extract_on_scheduler(tone_corpus, tmp_path, cluster):
    manifest = tone_corpus("c")
    result = CliRunner().invoke(
        app,
        ["extract", str(manifest), "-f", "egemaps", "--cache-dir", str(tmp_path / "cache"),
         "--scheduler", cluster.scheduler_address],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _features(manifest, tmp_path / "cache")["egemaps"].shape == (24, 88)


def test_unknown_backend_is_a_clear_error(tone_corpus, tmp_path):
    result = CliRunner().invoke(
        app, ["extract", str(tone_corpus("d")), "--backend", "spark", "--cache-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "unknown backend 'spark'" in result.output


def test_missing_dask_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(BackendUnavailableError, match=r"paraser\[dask\]"):
        with backend("dask"):
            pass


def test_svm_approx_is_registered_and_described(tone_corpus, tmp_path):
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (30, 20)), rng.normal(2, 1, (30, 20))]).astype(np.float32)
    y = np.array(["anger"] * 30 + ["sadness"] * 30)
    model = make_classifier("svm-approx", seed=0).fit(x, y)
    assert (model.predict(x) == y).mean() > 0.9
    assert "Nystroem" in CLASSIFIERS["svm-approx"][1]
    run = paraser.transfer_matrix(
        [str(tone_corpus("e"))],
        feature_sets=["egemaps"],
        classifiers=["svm-approx"],
        folds=2,
        out=tmp_path / "out",
        cache_dir=tmp_path / "cache",
    )
    import json

    config = json.loads((run.out / "config.json").read_text())
    assert "Nystroem" in config["classifier_descriptions"]["svm-approx"]


def test_grid_transfer_only():
    from paraser.experiments import CorpusData, run_grid

    rng = np.random.default_rng(0)
    corpora = []
    for name in ("a", "b", "c"):
        labels = np.repeat(["anger", "sadness"], 10)
        frame = pd.DataFrame(
            {"utterance": [f"{name}{i}" for i in range(20)], "speaker": "s", "label": labels}
        )
        x = rng.normal(size=(20, 5)) + (labels == "anger")[:, None]
        corpora.append(CorpusData(name, frame, {"f": x}))
    grid = run_grid(corpora, ["f"], ["svm"], within=False)
    assert set(grid.results["kind"]) == {"transfer"} and len(grid.results) == 6
