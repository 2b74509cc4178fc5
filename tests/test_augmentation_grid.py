"""Augmentation as a factor of the grid: copies train, never test, in every fold and direction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from builders import IdSpy
from invariants import assert_grid_invariants, assert_run_dir_invariants

import paraser.experiments.transfer as transfer_module
from paraser.experiments import CorpusData, StratifiedKFoldProtocol, run_grid
from paraser.experiments.normalisation import normalise
from paraser.experiments.transfer import AugmentedCopies, pool_corpora

CLASSES = ["anger", "happiness", "neutral", "sadness"]


def corpus_with_copies(name: str, seed: int, copies: int = 2) -> CorpusData:
    """Column 0 of every row is an id: the row index for originals, 1000 + origin for copies."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(CLASSES, 12)
    centres = np.random.default_rng(7).normal(0, 3, (4, 5))
    codes = np.repeat(np.arange(4), 12)
    x = np.column_stack([np.arange(len(codes)), centres[codes] + rng.normal(0, 1, (48, 5))])
    origin = np.repeat(np.arange(48), copies)
    augmented = x[origin] + np.column_stack(
        [np.full(len(origin), 1000.0), rng.normal(0, 0.3, (len(origin), 5))]
    )
    frame = pd.DataFrame(
        {
            "corpus": name,
            "utterance": [f"{name}_{i}.wav" for i in range(48)],
            "label": labels,
            "speaker": [f"{name}:s{i % 4}" for i in range(48)],
        }
    )
    return CorpusData(
        name,
        frame,
        {"f": x.astype(np.float32)},
        {"noise": AugmentedCopies(origin, {"f": augmented.astype(np.float32)})},
    )


def test_no_test_utterance_is_augmented_or_has_its_copies_in_training(monkeypatch):
    IdSpy.fits = []
    monkeypatch.setattr(transfer_module, "make_classifier", IdSpy)
    corpora = [corpus_with_copies("a", 1), corpus_with_copies("b", 2)]
    grid = run_grid(
        corpora,
        ["f"],
        ["svm"],
        protocol=StratifiedKFoldProtocol(3),
        augmentations=["none", "noise"],
        pooled_sources=[["a", "b"]],
    )
    assert_grid_invariants(grid, corpora)
    assert IdSpy.fits
    for train_ids, test_ids in IdSpy.fits:
        assert (test_ids < 1000).all()  # test rows are originals, always
        copies_of = train_ids[train_ids >= 1000] - 1000
        # A copy trains only beside its own original: never a copy of a test utterance.
        assert set(copies_of) <= set(train_ids[train_ids < 1000])
    results = grid.results
    within = results[results.kind == "within"]
    plain = within[within.augmentation == "none"].n_train.to_numpy()
    augmented = within[within.augmentation == "noise"].n_train.to_numpy()
    np.testing.assert_array_equal(augmented, plain * 3)  # 2 copies of each training row
    assert set(results.augmentation) == {"none", "noise"}


def test_pooled_sources_carry_their_copies_and_normalisation_uses_original_statistics():
    a, b = corpus_with_copies("a", 1), corpus_with_copies("b", 2)
    pooled = pool_corpora([a, b])
    copies = pooled.augmented["noise"]
    assert len(copies.origin) == 192 and copies.origin.max() == 95
    np.testing.assert_array_equal(
        copies.features["f"][:, 0] - 1000, pooled.features["f"][copies.origin, 0]
    )
    normalised = normalise(a, "corpus")
    original = a.features["f"]
    expected = (a.augmented["noise"].features["f"] - original.mean(0)) / original.std(0)
    np.testing.assert_allclose(
        normalised.augmented["noise"].features["f"], expected, rtol=1e-4, atol=1e-4
    )


def test_a_recipe_without_copies_is_refused():
    a = corpus_with_copies("a", 1)
    with pytest.raises(ValueError, match="no augmented copies"):
        run_grid([a], ["f"], ["svm"], augmentations=["none", "tempo:0.9-1.1"])


def test_cli_augment_and_adapt_end_to_end_cached_and_reported(tone_corpus, tmp_path):
    from typer.testing import CliRunner

    from paraser.cli import app

    runner = CliRunner()
    corpora = [tone_corpus(n, per_label=4, speakers=("s1", "s2")) for n in ("alpha", "beta")]
    cache, out = tmp_path / "cache", tmp_path / "run"
    args = [
        "transfer-matrix", "--corpora", ",".join(map(str, corpora)), "--features", "egemaps",
        "--augment", "none,noise:snr=10-20,channel:tel", "--augment-copies", "2",
        "--adapt", "none,coral", "--pool", "alpha+beta", "--folds", "2",
        "--out", str(out), "--cache-dir", str(cache), "-j", "2",
    ]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    results = pd.read_csv(out / "results.csv")
    assert set(results.augmentation) == {"none", "noise:snr=10-20", "channel:tel=300-3400"}
    assert set(results.adaptation) == {"none", "coral"}
    within = results[(results.kind == "within") & (results.adaptation == "none")]
    n_train = within.pivot_table(index=["source", "fold"], columns="augmentation", values="n_train")
    # Two noisy copies of every training utterance; one of a fixed filter (copies would be equal).
    assert (n_train["noise:snr=10-20"] == 3 * n_train["none"]).all()
    assert (n_train["channel:tel=300-3400"] == 2 * n_train["none"]).all()
    config = json.loads((out / "config.json").read_text())
    cost = pd.DataFrame(config["augmentation"]["cost"])
    assert (cost.extracted > 0).all() and (cost.seconds_per_audio_second > 0).all()
    # Every test row is an original manifest row with its label; folds partition each corpus.
    assert_run_dir_invariants(out, corpora)
    # The same configuration again into its folder: --resume (a plain rerun is refused).
    second = runner.invoke(app, [*args, "--resume"])
    assert second.exit_code == 0, second.output
    config = json.loads((out / "config.json").read_text())
    assert all(c["extracted"] == 0 for c in config["augmentation"]["cost"])  # all cached
    report = runner.invoke(app, ["report", str(out), "--n-boot", "100"])
    assert report.exit_code == 0, report.output
    gains = pd.read_csv(out / "gains_augmentation.csv")
    assert set(gains.level) == {"noise:snr=10-20", "channel:tel=300-3400"}
    assert (
        "Augmentation: gain over training on original audio only" in (out / "report.md").read_text()
    )
    assert (out / "gains_adaptation.csv").is_file()
