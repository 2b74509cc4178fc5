"""The pooled RAVDESS + SAVEE reproduction: missing-data message and a run on fake corpora."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
from conftest import voiced_tone
from typer.testing import CliRunner

from paraser.cli import app
from paraser.runs.reproduce import config_path

POOL = "ravdess+savee"
#: (RAVDESS code, SAVEE code, f0): one pitch per emotion, so the classes are learnable.
EMOTIONS = [("05", "a", 260), ("07", "d", 130), ("06", "f", 300), ("03", "h", 220),
            ("01", "n", 160), ("04", "sa", 110), ("08", "su", 340)]  # fmt: skip


def fake_corpora(root: Path) -> None:
    """Two RAVDESS actors and two SAVEE speakers, one short tone per emotion (and a
    RAVDESS 'calm' file, outside the 7-class space)."""

    def write(path: Path, f0: float, seed: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, voiced_tone(f0, 0.5, seed=seed), 16_000)

    for i, actor in enumerate(["01", "02"]):
        for code, _, f0 in EMOTIONS:
            write(root / f"ravdess/Actor_{actor}/03-01-{code}-01-01-01-{actor}.wav", f0 + i, i)
        write(root / f"ravdess/Actor_{actor}/03-01-02-01-01-01-{actor}.wav", 180, i)
    for i, speaker in enumerate(["DC", "JE"]):
        for _, code, f0 in EMOTIONS:
            write(root / f"savee/AudioData/{speaker}/{code}01.wav", f0 * 0.9 + i, 10 + i)


def shrunk_config(tmp_path: Path) -> Path:
    """The packaged config with a tiny protocol: 2 folds, eGeMAPS, one recipe, 1 copy."""
    text = config_path("pooled_ravdess_savee").read_text()
    for key, value in {
        "folds": "2",
        "features": '["egemaps"]',
        "augment": '["none", "noise:snr=5-20"]',
        "augment_copies": "1",
    }.items():
        text, n = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
        assert n == 1, key
    path = tmp_path / "pooled.toml"
    path.write_text(text)
    return path


def test_pooled_reproduction_without_data(tmp_path, monkeypatch):
    monkeypatch.setenv("PARASER_DATA", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["reproduce", "pooled_ravdess_savee"])
    assert result.exit_code == 0, result.output
    assert "data not found" in result.output
    for hint in ("1188976", "Audio_Speech_Actors_01-24", "Surrey", "PARASER_DATA", "savee/DC"):
        assert hint in result.output, hint


def test_pooled_reproduction_on_fake_corpora(tmp_path, monkeypatch):
    fake_corpora(tmp_path / "data")
    monkeypatch.setenv("PARASER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PARASER_SSL_MODEL", str(tmp_path / "no-model"))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["reproduce", str(shrunk_config(tmp_path)), "--out", str(out),
         "--cache-dir", str(tmp_path / "cache"), "--jobs", "1", "--n-boot", "100"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "SSL baseline skipped: xlsr" in result.output
    assert "Protocol difference" in result.output

    pooled = pd.read_csv(out / "manifests" / f"{POOL}.csv")
    assert len(pooled) == 30 and pooled["speaker"].nunique() == 4  # speakers kept apart
    assert set(pooled["origin"]) == {"ravdess", "savee"}

    results = pd.read_csv(out / "results.csv")
    directions = set(zip(results.source, results.target))
    stratified = f"{POOL}@stratified"
    assert {(POOL, POOL), (stratified, stratified), ("ravdess", "savee")} <= directions
    assert ("savee", "ravdess") in directions
    # A pooled model is never tested on its own members' utterances.
    assert not directions & {(POOL, "ravdess"), ("savee", POOL), (POOL, "savee")}
    assert set(results.augmentation) == {"none", "noise:snr=5-20"}
    within = results[results.source == POOL]
    assert set(within.classes.iloc[0].split("|")) == {
        "anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
    }  # fmt: skip
    assert within.protocol.str.startswith("speaker").all()
    assert results[results.source == stratified].protocol.str.startswith("stratified").all()

    published = pd.read_csv(out / "published_comparison.csv")
    assert set(published.target) == {POOL, stratified}
    assert set(published.augmentation) == {"none", "noise:snr=5-20"}
    assert (published.published_accuracy == 0.667).all()
    assert (published.published_macro_f1 == 0.631).all()
    ours = results.groupby(["source", "augmentation"])[["accuracy", "macro_f1"]].mean()
    for row in published.itertuples():
        assert row.our_accuracy == ours.loc[(row.source, row.augmentation), "accuracy"]
        assert row.our_macro_f1 == pytest.approx(
            ours.loc[(row.source, row.augmentation), "macro_f1"]
        )
    assert "0.6670" in result.output and "0.6310" in result.output
