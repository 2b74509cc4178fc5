"""paraser reads audio as opensmile-python does, refuses short-decoding files, honours segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import opensmile
import pandas as pd
import pytest
import soundfile as sf
from conftest import voiced_tone
from typer.testing import CliRunner

from paraser.audio import DECODER_ID, AudioError, read_audio
from paraser.cli import app
from paraser.corpora import load_manifest
from paraser.corpora.manifest import ManifestError
from paraser.features import extract_features, load_features, resolve_feature_set

SMILE_SETS = {
    "egemaps": opensmile.FeatureSet.eGeMAPSv02,
    "is09": opensmile.FeatureSet.IS09,
    "is10": opensmile.FeatureSet.IS10,
    "compare": opensmile.FeatureSet.ComParE_2016,
}


def _clip(rate: int, channels: int, seconds: float = 1.2) -> np.ndarray:
    """(samples, channels): different pitch per channel, so a downmix differs from channel 0."""
    columns = [voiced_tone(140 + 60 * c, seconds, rate, seed=c) for c in range(channels)]
    return np.stack(columns, axis=1)


@pytest.fixture(scope="module")
def engines():
    return {name: resolve_feature_set(name).make_engine() for name in SMILE_SETS}


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_vectors_equal_opensmile_python_resample_path_bit_for_bit(
    tmp_path, engines, rate, channels
):
    path = tmp_path / f"clip_{rate}_{channels}.wav"
    sf.write(path, _clip(rate, channels), rate, subtype="PCM_16")
    signal = read_audio(path)
    for name, feature_set in SMILE_SETS.items():
        # paraser averages the channels: opensmile-python's mixdown=True over all channels.
        smile = opensmile.Smile(
            feature_set=feature_set,
            sampling_rate=16_000,
            resample=True,
            channels=list(range(channels)),
            mixdown=True,
        )
        expected = smile.process_file(str(path)).to_numpy()[0].astype(np.float32)
        np.testing.assert_array_equal(engines[name](signal), expected, err_msg=name)
        if channels == 1:  # and the default Smile(resample=True) on a mono file
            plain = opensmile.Smile(feature_set=feature_set, sampling_rate=16_000, resample=True)
            np.testing.assert_array_equal(
                engines[name](signal), plain.process_file(str(path)).to_numpy()[0], err_msg=name
            )


def test_a_segment_equals_opensmile_python_on_that_segment(tmp_path, engines):
    path = tmp_path / "long.flac"
    sf.write(path, _clip(44_100, 2, seconds=3.0), 44_100)
    smile = opensmile.Smile(
        feature_set=SMILE_SETS["egemaps"],
        sampling_rate=16_000,
        resample=True,
        channels=[0, 1],
        mixdown=True,
    )
    start, end = pd.Timedelta(seconds=0.75), pd.Timedelta(seconds=2.1)
    expected = smile.process_file(str(path), start=start, end=end).to_numpy()[0]
    segment = read_audio(path, start=0.75, end=2.1)
    assert len(segment) == round(1.35 * 16_000)
    np.testing.assert_array_equal(engines["egemaps"](segment), expected.astype(np.float32))
    with pytest.raises(AudioError, match=r"long\.flac: segment .* beyond the end of the file"):
        read_audio(path, start=2.5, end=4.0)


def _truncated_mp3(path: Path, keep: float = 0.4) -> Path:
    sf.write(path, voiced_tone(180, 2.0, 16_000), 16_000, format="MP3")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def test_a_truncated_mp3_is_an_extraction_failure_naming_the_file(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3")
    root = tmp_path / "corpus"
    root.mkdir()
    sf.write(root / "whole.mp3", voiced_tone(150, 2.0, 16_000), 16_000, format="MP3")
    _truncated_mp3(root / "cut.mp3")
    assert len(read_audio(root / "whole.mp3")) == 32_000  # an intact MP3 reads in full
    with pytest.raises(AudioError, match=r"cut\.mp3: truncated file: the header declares 32000"):
        read_audio(root / "cut.mp3")

    manifest = root / "corpus.csv"
    manifest.write_text("file,label,speaker\nwhole.mp3,sad,s1\ncut.mp3,sad,s1\n")
    cache = tmp_path / "cache"
    result = CliRunner().invoke(
        app, ["extract", str(manifest), "--features", "egemaps", "--cache-dir", str(cache)]
    )
    assert result.exit_code == 1, result.output
    failures = pd.read_csv(cache / "corpus" / "failures.csv")
    assert [Path(f).name for f in failures.file] == ["cut.mp3"]
    assert "truncated file" in failures.reason[0]
    frame = load_manifest(manifest, map_labels=False).frame
    available = load_features(frame, "egemaps", cache_dir=cache).available
    assert available.tolist() == [True, False]  # nothing cached for the cut file


def test_segmented_manifest_extracts_each_segment_under_its_own_key(tmp_path, engines):
    root = tmp_path / "seg"
    root.mkdir()
    rate = 22_050
    sf.write(root / "talk.wav", _clip(rate, 1, seconds=4.0), rate)
    sf.write(root / "short.wav", _clip(rate, 1, seconds=1.0), rate)
    (root / "seg.csv").write_text(
        "file,start,end,label,speaker\n"
        "talk.wav,0,1.5,angry,s1\n"
        "talk.wav,1.5,3.25,sad,s1\n"
        "talk.wav,3.25,,happy,s1\n"  # open end: to the end of the file
        "short.wav,,,neutral,s2\n"  # the whole file
        "short.wav,0.5,2.0,sad,s2\n"  # beyond the end of the file
    )
    frame = load_manifest(root / "seg.csv", map_labels=False).frame
    assert frame.utterance.tolist()[:3] == [
        "talk.wav#t=0,1.5",
        "talk.wav#t=1.5,3.25",
        "talk.wav#t=3.25,",
    ]
    cache = tmp_path / "cache"
    report = extract_features(frame, ["egemaps"], cache_dir=cache)
    assert report.extracted == {"egemaps": 4}
    assert report.failures.file.tolist() == [f"{root / 'short.wav'}#t=0.5,2"]
    assert "beyond the end of the file" in report.failures.reason[0]
    matrix = load_features(frame, "egemaps", cache_dir=cache)
    assert matrix.available.tolist() == [True, True, True, True, False]
    bounds = [(0, 1.5), (1.5, 3.25), (3.25, None), (None, None)]
    files = ["talk.wav"] * 3 + ["short.wav"]
    for row, (file, (start, end)) in enumerate(zip(files, bounds)):
        expected = engines["egemaps"](read_audio(root / file, start=start, end=end))
        np.testing.assert_array_equal(matrix.values[row], expected)
    assert len({tuple(v) for v in matrix.values}) == 4  # distinct vectors, distinct keys
    again = extract_features(frame, ["egemaps"], cache_dir=cache)
    assert again.cached == {"egemaps": 4} and again.extracted == {"egemaps": 0}


@pytest.mark.parametrize(
    "rows, message",
    [
        ("a.wav,-1,2,sad,s\n", "'start' must be seconds >= 0"),
        ("a.wav,x,2,sad,s\n", "'start' must be seconds >= 0"),
        ("a.wav,2,1,sad,s\n", "'end' not after 'start' on line"),
        ("a.wav,0,1,sad,s\na.wav,0,1,sad,s\n", "duplicate file row"),
        ("a.wav,0,,sad,s\na.wav,,,sad,s\n", "duplicate file row"),
    ],
)
def test_bad_segments_are_refused_naming_the_manifest(tmp_path, rows, message):
    sf.write(tmp_path / "a.wav", voiced_tone(150, 2.0), 16_000)
    path = tmp_path / "bad.csv"
    path.write_text("file,start,end,label,speaker\n" + rows)
    with pytest.raises(ManifestError, match=message) as info:
        load_manifest(path)
    assert str(path) in str(info.value)


def test_the_decoder_is_part_of_every_cache_key(monkeypatch):
    spec = resolve_feature_set("egemaps")
    assert spec.provenance()["audio_decoder"] == DECODER_ID
    assert DECODER_ID.startswith("audiofile") and "audresample" in DECODER_ID
    before = spec.cache_key
    monkeypatch.setattr("paraser.features.opensmile_sets.DECODER_ID", "soundfile-scipy")
    assert resolve_feature_set("egemaps").cache_key != before


def test_formats_beyond_libsndfile_name_the_missing_decoder(tmp_path):
    import shutil

    if shutil.which("ffmpeg") and shutil.which("mediainfo"):
        pytest.skip("ffmpeg and mediainfo are installed: audiofile decodes these formats")
    clip = tmp_path / "clip.m4a"
    clip.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(2000))
    with pytest.raises(AudioError, match=r"clip\.m4a: cannot decode \.m4a audio.*install ffmpeg"):
        read_audio(clip)


def test_aiff_and_au_are_read_by_libsndfile_when_sox_and_ffmpeg_are_absent(tmp_path):
    signal = _clip(22_050, 2)
    sf.write(tmp_path / "clip.wav", signal, 22_050, subtype="PCM_16")
    reference = read_audio(tmp_path / "clip.wav")
    for name, kind in (("clip.aiff", "AIFF"), ("clip.au", "AU")):
        sf.write(tmp_path / name, signal, 22_050, format=kind, subtype="PCM_16")
        np.testing.assert_array_equal(read_audio(tmp_path / name), reference)
    np.testing.assert_array_equal(
        read_audio(tmp_path / "clip.aiff", start=0.25, end=0.75),
        read_audio(tmp_path / "clip.wav", start=0.25, end=0.75),
    )
