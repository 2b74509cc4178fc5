"""The synthetic corpora: deterministic, well-formed, and emotional where openSMILE looks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from paraser.datasets.synthetic import EMOTIONS, SyntheticSpec, generate_corpora

TINY = SyntheticSpec(n_corpora=3, speakers_per_corpus=2, utterances_per_speaker_and_class=2)
RATES = {"synth_a": 16_000, "synth_b": 8_000, "synth_c": 22_050}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_corpora(tmp_path_factory.mktemp("synth"), TINY)


def _wav_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.wav"))}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    spec = SyntheticSpec(n_corpora=2, speakers_per_corpus=1, utterances_per_speaker_and_class=1)
    first, second = tmp_path / "1", tmp_path / "2"
    generate_corpora(first, spec)
    generate_corpora(second, spec)
    assert _wav_bytes(first) == _wav_bytes(second)
    for name in ("synth_a.csv", "synth_b.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_other_seed_gives_other_audio(tmp_path: Path) -> None:
    spec = SyntheticSpec(n_corpora=1, speakers_per_corpus=1, utterances_per_speaker_and_class=1)
    generate_corpora(tmp_path / "0", spec)
    generate_corpora(tmp_path / "1", SyntheticSpec(**{**vars(spec), "seed": 1}))
    zero, one = _wav_bytes(tmp_path / "0"), _wav_bytes(tmp_path / "1")
    assert zero.keys() == one.keys()
    assert all(zero[k] != one[k] for k in zero)


def test_manifests(tiny: dict[str, Path]) -> None:
    assert list(tiny) == ["synth_a", "synth_b", "synth_c"]
    languages = set()
    for name, csv in tiny.items():
        assert csv == csv.parent / f"{name}.csv"
        df = pd.read_csv(csv)
        assert list(df.columns) == ["file", "label", "speaker", "language", "gender"]
        assert len(df) == 2 * 4 * 2
        assert df.label.value_counts().to_dict() == dict.fromkeys(EMOTIONS, 4)
        assert df.speaker.nunique() == 2
        assert set(df.gender) == {"female", "male"}
        assert df.language.nunique() == 1
        languages.add(df.language.iloc[0])
        assert df.file.str.startswith(f"{name}/").all()
        for file, speaker, label in zip(df.file, df.speaker, df.label):
            assert Path(file).name.startswith(f"{name}_{speaker}_{label}_")
            assert (csv.parent / file).is_file()
    assert len(languages) == 3
    # Each corpus has speakers of its own.
    speakers = [set(pd.read_csv(csv).speaker) for csv in tiny.values()]
    assert not set.intersection(*speakers)


def test_files_are_readable_pcm_at_declared_rates(tiny: dict[str, Path]) -> None:
    channels = set()
    for name, csv in tiny.items():
        for file in pd.read_csv(csv).file:
            info = sf.info(csv.parent / file)
            assert info.samplerate == RATES[name]
            assert info.subtype == "PCM_16"
            assert 0.9 <= info.duration <= 2.6
            channels.add(info.channels)
            audio, _ = sf.read(csv.parent / file)
            assert np.isfinite(audio).all() and 0.005 < np.abs(audio).max() < 1.0
    assert channels == {1, 2}  # one stereo corpus exercises downmixing


def test_opensmile_sees_emotions(tiny: dict[str, Path]) -> None:
    opensmile = pytest.importorskip("opensmile")
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02)
    df = pd.read_csv(tiny["synth_a"])
    df = df[df.label.isin(["angry", "sad"])]
    features = pd.concat([smile.process_file(tiny["synth_a"].parent / f) for f in df.file])
    features.index = df.label.to_numpy()
    f0 = features["F0semitoneFrom27.5Hz_sma3nz_amean"]
    loudness = features["loudness_sma3_amean"]
    assert (f0 > 0).all()
    assert f0["sad"].mean() < f0["angry"].mean()
    assert loudness["sad"].mean() < loudness["angry"].mean()
