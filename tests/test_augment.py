"""Augmented copies: recipe parsing, deterministic seeding, caching, parallel extraction."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import voiced_tone

from paraser.corpora import load_manifest
from paraser.features import (
    AugmentationError,
    copy_seed,
    extract_augmented,
    load_augmented,
    parse_recipe,
)

FEATURES = "egemaps"


@pytest.fixture
def manifest(tone_corpus):
    """Four short tones: enough rows to check the origin mapping, fast to extract."""
    path = tone_corpus(labels=("angry", "sad"), per_label=1, speakers=("s1", "s2"))
    return load_manifest(path).frame


# parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("noise:snr=5-20", "noise:snr=5-20"),
        ("noise:snr=5.0-20.0", "noise:snr=5-20"),
        ("noise:5..20", "noise:snr=5-20"),
        ("gain:-6..6", "gain:db=-6..6"),
        ("gain:db=-6..-1.5", "gain:db=-6..-1.5"),
        ("gain:-3", "gain:db=-3"),
        ("tempo:0.9-1.1", "tempo:rate=0.9-1.1"),
        ("pitch:-2..2", "pitch:semitones=-2..2"),
        ("channel:tel", "channel:tel=300-3400"),
        ("channel:lowpass", "channel:lowpass=4000"),
        ("channel:lowpass=3000", "channel:lowpass=3000"),
        (" noise:snr=10-20 + channel:tel ", "noise:snr=10-20+channel:tel=300-3400"),
    ],
)
def test_recipes_parse_to_canonical_names(text, name):
    recipe = parse_recipe(text)
    assert recipe.name == name
    assert parse_recipe(recipe.name) == recipe  # the canonical name reads back the same


def test_equal_recipes_share_a_cache_key_and_provenance_names_them():
    a, b = parse_recipe("noise:snr=5-20"), parse_recipe("noise:snr=5.0..20")
    assert a.cache_key == b.cache_key != parse_recipe("noise:snr=5-21").cache_key
    provenance = a.provenance()
    assert provenance["recipe"] == "noise:snr=5-20"
    assert provenance["audiomentations"] and provenance["seed_scheme"]
    assert provenance["transforms"][0]["low"] == 5.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wobble", "unknown transform 'wobble'"),
        ("noise:snr=abc", "not a number or range"),
        ("gain:-6-6", "LO..HI"),  # a dash range with a negative end is refused, not guessed
        ("gain:6..-6", "high to low"),
        ("pitch:-30..2", "outside"),
        ("noise:level=3", "no parameter 'level'"),
        ("channel", "needs a mode"),
        ("channel:radio", "mode 'radio' unknown"),
        ("noise+", "empty transform"),
        ("", "empty transform"),
    ],
)
def test_bad_recipes_name_the_text_and_the_valid_forms(text, message):
    with pytest.raises(AugmentationError, match=message) as caught:
        parse_recipe(text)
    assert repr(text) in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_missing_audiomentations_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "audiomentations", None)
    with pytest.raises(AugmentationError, match=r"pip install 'paraser\[augment\]'"):
        parse_recipe("noise:snr=5-20")


def test_missing_pyroomacoustics_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyroomacoustics", None)
    with pytest.raises(AugmentationError, match="pip install pyroomacoustics"):
        parse_recipe("reverb")
    parse_recipe("noise:snr=5-20")  # other transforms do not need it


def test_importing_paraser_does_not_import_audiomentations():
    code = (
        "import sys, paraser, paraser.features, paraser.cli; "
        "print('audiomentations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# seeding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["noise:snr=5-20", "gain:-6..6", "tempo:0.9-1.1", "pitch:-2..2", "channel:tel"]
)
def test_apply_is_deterministic_per_seed_and_leaves_global_rng_alone(text):
    recipe = parse_recipe(text)
    signal = voiced_tone(160, seconds=0.5)
    random.seed(7)
    np.random.seed(7)
    expected_python, expected_numpy = random.random(), np.random.random()
    random.seed(7)
    np.random.seed(7)
    first = recipe.apply(signal, 16_000, seed=123)
    second = recipe.apply(signal, 16_000, seed=123)
    assert (random.random(), np.random.random()) == (expected_python, expected_numpy)
    assert first.dtype == np.float32 and first.ndim == 1
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, signal)


def test_copies_get_different_seeds_and_augmentations():
    recipe = parse_recipe("noise:snr=5-20+pitch:-2..2")
    sha = "ab" * 32
    seeds = {copy_seed(sha, recipe, k) for k in range(5)}
    assert len(seeds) == 5
    assert copy_seed(sha, recipe, 0) == copy_seed(sha, parse_recipe(recipe.name), 0)
    assert copy_seed(sha, recipe, 0) != copy_seed("cd" * 32, recipe, 0)
    assert copy_seed(sha, recipe, 0) != copy_seed(sha, parse_recipe("noise:snr=5-21"), 0)
    signal = voiced_tone(160, seconds=0.5)
    a, b = (recipe.apply(signal, 16_000, copy_seed(sha, recipe, k)) for k in (0, 1))
    assert not np.array_equal(a, b)


def test_copy_seed_is_the_same_in_another_process():
    recipe = parse_recipe("pitch:-2..2")
    code = (
        "from paraser.features import copy_seed, parse_recipe; "
        "print(copy_seed('ab' * 32, parse_recipe('pitch:-2..2'), 3))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == copy_seed("ab" * 32, recipe, 3)


# extraction and cache ----------------------------------------------------------------------


def test_augmented_features_are_cached_deterministic_and_parallel_safe(manifest, tmp_path):
    recipe = parse_recipe("noise:snr=5-20+tempo:0.9-1.1+pitch:-2..2")
    calls = []
    first = extract_augmented(
        manifest,
        recipe,
        2,
        [FEATURES],
        cache_dir=tmp_path / "a",
        progress=lambda *a: calls.append(a),
    )
    assert first.ok, first.failures
    assert first.extracted == {FEATURES: 8} and first.cached == {FEATURES: 0}
    assert first.n_files == 4 and first.copies == 2 and first.recipe == recipe.name
    assert 8 * 0.8 / 1.1 < first.audio_seconds < 8 * 0.8 / 0.9  # tempo changes the length
    assert calls[0] == (0, 8) and calls[-1] == (8, 8)
    again = extract_augmented(manifest, recipe, 2, [FEATURES], cache_dir=tmp_path / "a")
    assert again.extracted == {FEATURES: 0} and again.cached == {FEATURES: 8}
    assert again.audio_seconds == 0

    # A fresh cache, extracted by two worker processes, holds the same bits.
    parallel = extract_augmented(manifest, recipe, 2, [FEATURES], cache_dir=tmp_path / "b", jobs=2)
    assert parallel.extracted == {FEATURES: 8}
    one = load_augmented(manifest, recipe, 2, FEATURES, cache_dir=tmp_path / "a")
    two = load_augmented(manifest, recipe, 2, FEATURES, cache_dir=tmp_path / "b")
    np.testing.assert_array_equal(one.values, two.values)
    assert one.values.shape == (8, 88) and one.values.dtype == np.float32
    assert len(one.feature_names) == 88 and one.recipe == recipe.name
    assert one.provenance["augmentation"]["recipe"] == recipe.name
    # Copies of one utterance differ; every row came from its own utterance.
    assert not np.array_equal(one.values[0], one.values[1])
    np.testing.assert_array_equal(one.origin, [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(one.copy, [0, 1] * 4)


def test_changing_a_parameter_or_the_copies_extracts_only_what_changed(manifest, tmp_path):
    cache = tmp_path / "cache"
    noise, tempo = parse_recipe("noise:snr=5-20"), parse_recipe("tempo:0.9-1.1")
    for recipe in (noise, tempo):
        extract_augmented(manifest, recipe, 1, [FEATURES], cache_dir=cache)
    changed = parse_recipe("noise:snr=5-25")
    assert extract_augmented(manifest, changed, 1, [FEATURES], cache_dir=cache).extracted == {
        FEATURES: 4
    }
    for recipe in (noise, tempo):
        report = extract_augmented(manifest, recipe, 1, [FEATURES], cache_dir=cache)
        assert report.extracted == {FEATURES: 0}
    more = extract_augmented(manifest, noise, 3, [FEATURES], cache_dir=cache)
    assert more.extracted == {FEATURES: 8} and more.cached == {FEATURES: 4}
    # The first copy is the one extracted before: its seed does not depend on ``copies``.
    three = load_augmented(manifest, noise, 3, FEATURES, cache_dir=cache)
    fresh = tmp_path / "fresh"
    extract_augmented(manifest, noise, 1, [FEATURES], cache_dir=fresh)
    one = load_augmented(manifest, noise, 1, FEATURES, cache_dir=fresh)
    np.testing.assert_array_equal(three.values[three.copy == 0], one.values)


def test_failures_are_collected_and_missing_copies_are_absent(manifest, tmp_path):
    broken = manifest.copy()
    bad = broken["path"].iloc[1]
    sf.write(bad, np.zeros(16_000, np.float32), 16_000)  # digital silence: unreadable
    recipe = parse_recipe("gain:-6..6")
    report = extract_augmented(broken, recipe, 2, [FEATURES], cache_dir=tmp_path)
    assert not report.ok and report.extracted == {FEATURES: 6}
    assert set(report.failures["file"]) == {bad}
    assert (tmp_path / report.corpus / "augmented" / recipe.cache_key / "failures.csv").is_file()
    loaded = load_augmented(broken, recipe, 2, FEATURES, cache_dir=tmp_path)
    np.testing.assert_array_equal(loaded.origin, [0, 0, 2, 2, 3, 3])


def test_model_feature_sets_are_refused(manifest, tmp_path):
    class Batched:
        name, cache_key, batch_seconds = "xlsr", "xlsr-test", 60.0

    with pytest.raises(AugmentationError, match="openSMILE feature sets only"):
        extract_augmented(manifest, parse_recipe("noise"), 1, [Batched()], cache_dir=tmp_path)


def test_reverb_is_deterministic_when_pyroomacoustics_is_installed():
    pytest.importorskip("pyroomacoustics")
    recipe = parse_recipe("reverb:rt60=0.3-0.5")
    signal = voiced_tone(160, seconds=0.5)
    first = recipe.apply(signal, 16_000, seed=5)
    np.testing.assert_array_equal(first, recipe.apply(signal, 16_000, seed=5))
    assert first.shape == signal.shape and not np.array_equal(first, signal)
