from __future__ import annotations

import shutil

import numpy as np
import opensmile
import pytest
import soundfile as sf
from conftest import voiced_tone

from paraser.audio import AudioError, read_audio
from paraser.corpora import load_manifest
from paraser.features import (
    FeatureSetError,
    extract_features,
    load_features,
    resolve_feature_set,
)


@pytest.mark.parametrize("name", ["egemaps", "is09", "is10", "compare"])
def test_engine_matches_opensmile_python_bit_for_bit(name):
    spec = resolve_feature_set(name)
    engine = spec.make_engine()
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet[{
        "egemaps": "eGeMAPSv02", "is09": "IS09", "is10": "IS10", "compare": "ComParE_2016",
    }[name]])  # fmt: skip
    assert engine.feature_names == list(smile.feature_names)
    assert len(engine.feature_names) == spec.expected_dim
    # Several files through one reused instance: state kept across reset() would show here
    # (openSMILE re-parses the sink's element selection on every reset).
    for f0 in (110.0, 220.0, 165.0):
        signal = voiced_tone(f0)
        expected = smile.process_signal(signal, 16_000).to_numpy()[0].astype(np.float32)
        assert engine(signal).tobytes() == expected.tobytes()


def test_unknown_feature_set_lists_choices():
    with pytest.raises(FeatureSetError, match="egemaps"):
        resolve_feature_set("mfcc-magic")


def test_read_audio_downmixes_and_resamples(tmp_path):
    mono = voiced_tone(150, seconds=1.0, sample_rate=44_100)
    stereo = np.stack([mono, mono], axis=1)
    sf.write(tmp_path / "stereo.wav", stereo, 44_100, subtype="PCM_24")
    signal = read_audio(tmp_path / "stereo.wav")
    assert signal.dtype == np.float32 and signal.ndim == 1
    assert len(signal) == 16_000
    reference = read_audio(_write(tmp_path / "mono.wav", mono, 44_100))
    np.testing.assert_allclose(signal, reference, atol=1e-4)


def _write(path, signal, rate):
    sf.write(path, signal, rate)
    return path


def test_read_audio_errors_name_the_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio at all")
    sf.write(tmp_path / "short.wav", np.zeros(800, np.float32), 16_000)
    for name, message in [
        ("empty.wav", "empty file"),
        ("text.wav", "cannot decode"),
        ("short.wav", "too short"),
        ("missing.wav", "not found"),
    ]:
        with pytest.raises(AudioError, match=message) as info:
            read_audio(tmp_path / name)
        assert name in str(info.value)


def test_cache_hit_miss_and_invalidation(tone_corpus, tmp_path):
    manifest = load_manifest(tone_corpus(per_label=2)).frame
    cache = tmp_path / "cache"
    first = extract_features(manifest, ["egemaps", "is09"], cache_dir=cache, jobs=2)
    assert first.extracted == {"egemaps": 16, "is09": 16} and first.ok
    features = load_features(manifest, "egemaps", cache_dir=cache)
    assert features.values.shape == (16, 88) and features.available.all()

    again = extract_features(manifest, ["egemaps", "is09"], cache_dir=cache, jobs=2)
    assert again.extracted == {"egemaps": 0, "is09": 0}
    assert again.cached == {"egemaps": 16, "is09": 16}

    # Changed audio content is re-extracted, and only that file.
    changed = manifest["path"].iloc[0]
    sf.write(changed, voiced_tone(300.0, 0.8), 16_000)
    third = extract_features(manifest, ["egemaps"], cache_dir=cache)
    assert third.extracted == {"egemaps": 1}
    new_vector = load_features(manifest, "egemaps", cache_dir=cache).values[0]
    assert not np.array_equal(new_vector, features.values[0])
    np.testing.assert_array_equal(
        load_features(manifest, "egemaps", cache_dir=cache).values[1:], features.values[1:]
    )


def test_changed_config_is_re_extracted(tone_corpus, tmp_path):
    manifest = load_manifest(tone_corpus(per_label=1, speakers=("s1",))).frame
    cache = tmp_path / "cache"
    config_dir = tmp_path / "conf"
    source = resolve_feature_set("egemaps").config_path
    shutil.copytree(source.parents[2], config_dir)  # the config and what it includes
    custom = config_dir / "egemaps" / "v02" / "eGeMAPSv02.conf"
    first = extract_features(manifest, [str(custom)], cache_dir=cache)
    assert first.extracted == {"eGeMAPSv02": 4}
    assert extract_features(manifest, [str(custom)], cache_dir=cache).extracted == {"eGeMAPSv02": 0}
    # An edit to an included file changes the configuration hash.
    included = config_dir / "egemaps" / "v02" / "eGeMAPSv02_core.func.conf.inc"
    included.write_text(included.read_text() + "\n; edited\n")
    assert extract_features(manifest, [str(custom)], cache_dir=cache).extracted == {"eGeMAPSv02": 4}
    # Custom config gives the same numbers as the built-in one.
    np.testing.assert_array_equal(
        load_features(manifest, str(custom), cache_dir=cache).values,
        _extract_builtin(manifest, tmp_path / "cache2"),
    )


def _extract_builtin(manifest, cache):
    extract_features(manifest, ["egemaps"], cache_dir=cache)
    return load_features(manifest, "egemaps", cache_dir=cache).values


def test_sample_rates_and_channels_are_read_consistently(tone_corpus, tmp_path):
    a = load_manifest(tone_corpus("a", per_label=1, speakers=("s",), sample_rate=16_000)).frame
    b = load_manifest(tone_corpus("b", per_label=1, speakers=("s",), sample_rate=48_000)).frame
    cache = tmp_path / "cache"
    extract_features(a, ["egemaps"], cache_dir=cache)
    extract_features(b, ["egemaps"], cache_dir=cache)
    fa = load_features(a, "egemaps", cache_dir=cache).values
    fb = load_features(b, "egemaps", cache_dir=cache).values
    # Same tones written at different rates give close functionals (F0 mean).
    np.testing.assert_allclose(fa[:, 0], fb[:, 0], rtol=0.02)
