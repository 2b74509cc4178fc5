from __future__ import annotations

import numpy as np
import pandas as pd
import soundfile as sf
from typer.testing import CliRunner

from paraser.cli import app
from paraser.corpora import load_manifest
from paraser.datasets.synthetic import SyntheticSpec, generate_corpora
from paraser.features import extract_features, load_features

TINY = SyntheticSpec(n_corpora=3, speakers_per_corpus=2, utterances_per_speaker_and_class=2)


def _bytes(manifests):
    return {
        path: (manifest.parent / path).read_bytes()
        for manifest in manifests.values()
        for path in pd.read_csv(manifest)["file"]
    }


def test_same_seed_same_bytes_other_seed_other_audio(tmp_path):
    first = generate_corpora(tmp_path / "a", TINY)
    again = generate_corpora(tmp_path / "b", TINY)
    assert _bytes(first) == _bytes(again)
    other = generate_corpora(tmp_path / "c", SyntheticSpec(2, 2, 2, seed=1))
    assert _bytes(other)[next(iter(_bytes(other)))] != _bytes(first)[next(iter(_bytes(first)))]


def test_manifests_and_channels(tmp_path):
    manifests = generate_corpora(tmp_path, TINY)
    assert list(manifests) == ["synth_a", "synth_b", "synth_c"]
    rates = set()
    for manifest in manifests.values():
        frame = pd.read_csv(manifest)
        assert list(frame.columns) == ["file", "label", "speaker", "language", "gender"]
        assert frame.groupby("label").size().to_dict() == {
            "angry": 4, "happy": 4, "neutral": 4, "sad": 4,
        }  # fmt: skip
        info = sf.info(manifest.parent / frame["file"].iloc[0])
        rates.add(info.samplerate)
        assert 0.8 < info.duration < 4.0
    assert len(rates) == 3  # corpora differ in recording channel


def test_emotions_differ_in_pitch_and_loudness(tmp_path):
    manifest = generate_corpora(tmp_path, SyntheticSpec(1, 2, 3))["synth_a"]
    frame = load_manifest(manifest).frame
    extract_features(frame, ["egemaps"], cache_dir=tmp_path / "cache", jobs=2)
    features = load_features(frame, "egemaps", cache_dir=tmp_path / "cache")
    table = pd.DataFrame(features.values, columns=features.feature_names)
    table["label"] = frame["label"]
    means = table.groupby("label").mean()
    f0 = means["F0semitoneFrom27.5Hz_sma3nz_amean"]
    loudness = means["loudness_sma3_amean"]
    assert (f0 > 10).all()  # voiced: openSMILE finds a pitch
    assert f0["sadness"] < f0["anger"] and loudness["sadness"] < loudness["anger"]
    assert np.isfinite(features.values).all()


def test_demo_runs_the_whole_pipeline(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "demo", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "report"),
            "--cache-dir", str(tmp_path / "cache"), "--speakers", "2", "--per-class", "3",
            "--features", "egemaps", "--classifiers", "svm", "--jobs", "2",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    results = pd.read_csv(tmp_path / "report" / "results.csv")
    assert set(results.source) == {"synth_a", "synth_b", "synth_c"}
    assert (tmp_path / "report" / "summary.md").is_file()
