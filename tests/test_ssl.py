"""SSL (XLS-R, WavLM, ...) feature sets, through tiny randomly initialised models.

The models are saved with ``save_pretrained`` to a temporary folder and loaded
back the way a user's ``--model DIR`` would be; no weights are downloaded.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import voiced_tone  # noqa: E402
from tiny_ssl import save_tiny_model  # noqa: E402

from paraser.cli import app  # noqa: E402
from paraser.corpora import load_manifest  # noqa: E402
from paraser.features import (  # noqa: E402
    FeatureSetError,
    extract_features,
    load_features,
    resolve_feature_set,
)
from paraser.features.ssl import SSLFeatureSet  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="session")
def tiny_wav2vec2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-wav2vec2"), "wav2vec2")


@pytest.fixture(scope="session")
def tiny_wavlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-wavlm"), "wavlm")


def _spec(name: str, model: Path, **changes) -> SSLFeatureSet:
    spec = resolve_feature_set(name, model=str(model), device="cpu")
    assert isinstance(spec, SSLFeatureSet)
    return dataclasses.replace(spec, **changes) if changes else spec


def test_names_layers_and_pooling(tiny_wav2vec2: Path) -> None:
    default = _spec("xlsr", tiny_wav2vec2)
    assert (default.name, default.layers, default.pooling) == ("xlsr", [2], "mean")
    assert len(default.columns) == 32
    layer = _spec("xlsr:1:meanstd", tiny_wav2vec2)
    assert (layer.name, layer.layers, len(layer.columns)) == ("xlsr-l1-meanstd", [1], 64)
    every = _spec("xlsr:all", tiny_wav2vec2)
    assert (every.name, len(every.columns)) == ("xlsr-all", 3 * 32)
    # Every variant of one model is a view of one cache entry.
    assert len({default.cache_key, layer.cache_key, every.cache_key}) == 1
    assert default.cache_key.startswith("ssl-wav2vec2-") and default.cache_key.endswith("fp32")
    with pytest.raises(FeatureSetError, match="neither a layer"):
        resolve_feature_set("xlsr:max")
    with pytest.raises(FeatureSetError, match="out of range"):
        _ = _spec("xlsr:7", tiny_wav2vec2).columns
    with pytest.raises(FeatureSetError, match="needs a model"):
        resolve_feature_set("ssl")


def test_all_layers_cached_once_and_sliced(tiny_wav2vec2: Path, tone_corpus, tmp_path) -> None:
    manifest = load_manifest(tone_corpus("tones", per_label=1), name="tones").frame
    cache = tmp_path / "cache"
    every = _spec("xlsr:all:meanstd", tiny_wav2vec2)
    first = extract_features(manifest, [every], cache_dir=cache)
    assert first.ok and first.extracted[every.name] == len(manifest)
    layer1 = _spec("xlsr:1", tiny_wav2vec2)
    again = extract_features(manifest, [layer1, _spec("xlsr", tiny_wav2vec2)], cache_dir=cache)
    assert again.extracted == {"xlsr-l1": 0, "xlsr": 0}
    full = load_features(manifest, every, cache_dir=cache)
    one = load_features(manifest, layer1, cache_dir=cache)
    assert full.values.shape == (len(manifest), 3 * 2 * 32)
    # Layer-major, then (mean, std): layer 1's mean is the third block of 32.
    np.testing.assert_array_equal(one.values, full.values[:, 64:96])
    assert one.feature_names[0] == "l01_mean_0000"
    # The slice is what a fresh single-layer engine computes (deterministic, no dropout).
    signal = voiced_tone(150, 0.8, seed=5)
    engine = layer1.make_engine()
    vector = engine(signal)
    np.testing.assert_array_equal(vector, engine(signal))
    np.testing.assert_array_equal(vector, layer1.make_engine()(signal))


def test_batching_does_not_change_features(tiny_wav2vec2: Path, tiny_wavlm: Path) -> None:
    signals = [voiced_tone(120, 1.0, seed=1), voiced_tone(220, 2.5, seed=2)]
    for model in (tiny_wav2vec2, tiny_wavlm):
        engine = _spec("ssl", model).make_engine()
        batched = engine.batch(signals)
        for signal, vector in zip(signals, batched):
            np.testing.assert_allclose(vector, engine(signal), atol=1e-5)
    # WavLM here has group norm over the padded input: it must run window by window.
    assert not _spec("ssl", tiny_wavlm).make_engine().batchable


def test_windowed_pooling(tiny_wav2vec2: Path) -> None:
    long = voiced_tone(150, 12.0, seed=3)
    spec = _spec("xlsr:all:meanstd", tiny_wav2vec2)
    width = spec.hidden_size
    whole = dataclasses.replace(spec, window_s=30.0).make_engine()(long)
    windowed = dataclasses.replace(spec, window_s=2.0).make_engine()(long)
    mean = np.concatenate([np.arange(width) + 2 * layer * width for layer in range(3)])
    # Windows see less context (and are normalised alone): close, not identical.
    error = np.linalg.norm(windowed[mean] - whole[mean]) / np.linalg.norm(whole[mean])
    assert error < 0.05
    # Combining windows is exact: two 6 s windows pool to the frame-weighted statistics
    # of the two halves extracted separately (equal frame counts here).
    halves = dataclasses.replace(spec, window_s=6.0).make_engine()
    left, right = halves(long[: long.size // 2]), halves(long[long.size // 2 :])
    combined = halves(long)
    np.testing.assert_allclose(combined[mean], (left[mean] + right[mean]) / 2, atol=1e-5)
    std = mean + width
    second_moment = (left[std] ** 2 + left[mean] ** 2 + right[std] ** 2 + right[mean] ** 2) / 2
    expected_std = np.sqrt(second_moment - ((left[mean] + right[mean]) / 2) ** 2)
    np.testing.assert_allclose(combined[std], expected_std, atol=1e-4)


def test_cli_extract_cache_and_transfer_matrix(tiny_wav2vec2: Path, tone_corpus, tmp_path) -> None:
    first = tone_corpus("alpha", per_label=3)
    second = tone_corpus("beta", per_label=3, speakers=("s3", "s4"))
    cache = tmp_path / "cache"
    extract = ["extract", str(first), "--features", "xlsr", "--model", str(tiny_wav2vec2)]
    extract += ["--cache-dir", str(cache), "--jobs", "1", "--device", "cpu"]
    result = runner.invoke(app, extract)
    assert result.exit_code == 0, result.output
    assert "24" in result.output
    again = runner.invoke(app, extract)
    assert again.exit_code == 0, again.output
    row = next(line for line in again.output.splitlines() if "xlsr" in line)
    assert row.split("│")[4].strip() == "0"  # extracted
    assert row.split("│")[5].strip() == "24"  # cached

    out = tmp_path / "report"
    matrix = ["transfer-matrix", "--corpora", f"{first},{second}"]
    matrix += ["--features", "egemaps,xlsr:1", "--model", str(tiny_wav2vec2), "--device", "cpu"]
    matrix += ["--folds", "2", "--out", str(out), "--cache-dir", str(cache), "--jobs", "1"]
    result = runner.invoke(app, matrix)
    assert result.exit_code == 0, result.output
    results = pd.read_csv(out / "results.csv")
    assert set(results["feature_set"]) == {"egemaps", "xlsr-l1"}
    assert set(results["kind"]) >= {"within", "transfer"}
    config = json.loads((out / "config.json").read_text())
    provenance = config["feature_sets"]["xlsr-l1"]
    assert provenance["model_identity"].startswith("sha256:")
    assert provenance["precision"] == "fp32"
    assert (out / "matrix_xlsr-l1_svm.csv").is_file()


def test_missing_model_says_how_to_fetch(tone_corpus, tmp_path) -> None:
    manifest = tone_corpus("tones", per_label=1)
    absent = "paraser-tests/no-such-model"
    result = runner.invoke(
        app,
        ["extract", str(manifest), "--features", "xlsr", "--model", absent]
        + ["--cache-dir", str(tmp_path / "cache"), "--device", "cpu"],
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"'{absent}' is not available locally" in text
    assert f"hf download {absent}" in text and "--model DIR" in text
    with pytest.raises(FeatureSetError, match="model folder not found"):
        _ = _spec("ssl", tmp_path / "nowhere").cache_key


def test_missing_torch_says_what_to_install(
    tiny_wav2vec2: Path, tone_corpus, tmp_path, monkeypatch
) -> None:
    manifest = tone_corpus("tones", per_label=1)
    # None in sys.modules makes ``import torch`` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "transformers", None)
    result = runner.invoke(
        app,
        ["extract", str(manifest), "--features", "egemaps,xlsr", "--model", str(tiny_wav2vec2)]
        + ["--cache-dir", str(tmp_path / "cache")],
    )
    assert result.exit_code == 2
    assert "pip install 'paraser[xlsr]'" in " ".join(result.output.split())


def test_opensmile_path_does_not_import_torch() -> None:
    code = (
        "import sys, paraser, paraser.cli, paraser.runs.transfer\n"
        "from paraser.features import resolve_feature_set\n"
        "resolve_feature_set('egemaps'); resolve_feature_set('xlsr:3', device='cpu')\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
