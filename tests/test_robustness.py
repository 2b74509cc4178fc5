"""Fault injection: bad audio and manifests, impossible experiments, killed and concurrent
runs, and no executable formats in the cache or results.

Every file here is made in ``tmp_path``; extraction uses ``is09`` (cheap).
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from conftest import REPO, stable_seed, voiced_tone
from invariants import assert_run_dir_invariants
from typer.testing import CliRunner

import paraser
from paraser.audio import AudioError, read_audio
from paraser.corpora import load_manifest
from paraser.corpora.manifest import ManifestError
from paraser.features import FeatureStore, load_features, resolve_feature_set
from paraser.features.extract import extract_features, open_store
from paraser.features.store import remove_stale_tmp

runner = CliRunner()
RATE = 16_000
FEATURES = "is09"


def tone(seconds: float = 0.5, rate: int = RATE, f0: float = 160.0, seed: int = 0) -> np.ndarray:
    return voiced_tone(f0, seconds, rate, seed=seed)


def write_manifest(root: Path, rows: list[dict], name: str = "corpus") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def write_tone_corpus(
    root: Path,
    name: str,
    labels: tuple[str, ...],
    per_label: int = 3,
    speakers: tuple[str, ...] = ("s1", "s2"),
    seconds: float = 0.5,
) -> Path:
    """A corpus whose pitch depends on the label (a learnable task)."""
    rows = []
    for s_index, speaker in enumerate(speakers):
        for l_index, label in enumerate(labels):
            for k in range(per_label):
                file = f"{speaker}/{label}_{k}.wav"
                (root / speaker).mkdir(parents=True, exist_ok=True)
                f0 = (110 + 45 * l_index) * (1 + 0.03 * s_index + 0.01 * k)
                sf.write(root / file, tone(seconds, f0=f0, seed=stable_seed(file)), RATE)
                rows.append({"file": file, "label": label, "speaker": speaker})
    return write_manifest(root, rows, name)


def cli_output(result) -> str:
    # Errors go to stderr; CliRunner mixes them into ``output``.
    return " ".join(result.output.split())


# --- bad audio --------------------------------------------------------------------------


def _bad_files(root: Path) -> dict[str, str]:
    """Write one file per fault; return file name -> expected reason."""
    root.mkdir(parents=True, exist_ok=True)
    good = root / "good_for_cutting.wav"
    sf.write(good, tone(1.0), RATE)
    data = good.read_bytes()
    good.unlink()
    (root / "empty.wav").write_bytes(b"")
    (root / "header_cut.wav").write_bytes(data[:30])
    (root / "data_cut.wav").write_bytes(data[: 44 + len(data) // 3])
    (root / "text.wav").write_text("this is a transcript, not audio\n" * 20)
    (root / "text.flac").write_text("this is a transcript, not audio\n" * 20)
    (root / "random.mp3").write_bytes(np.random.default_rng(0).bytes(4000))
    (root / "random.ogg").write_bytes(np.random.default_rng(1).bytes(4000))
    sf.write(root / "silence.wav", np.zeros(RATE, np.float32), RATE)
    sf.write(root / "short.wav", tone(0.05), RATE)
    nan = tone(1.0)
    nan[100:200] = np.nan
    sf.write(root / "nan.wav", nan, RATE, subtype="FLOAT")
    inf = tone(1.0)
    inf[5] = np.inf
    sf.write(root / "inf.wav", inf, RATE, subtype="FLOAT")
    return {
        "missing.wav": "file not found|No such file",
        "empty.wav": "empty file",
        "header_cut.wav": "cannot decode",
        "data_cut.wav": "truncated file",
        "text.wav": "cannot decode",
        "text.flac": "cannot decode",
        "random.mp3": "cannot decode",
        "random.ogg": "cannot decode",
        "silence.wav": "digital silence",
        "short.wav": "too short",
        "nan.wav": "NaN or infinite",
        "inf.wav": "NaN or infinite",
    }


def test_each_bad_file_is_refused_with_a_reason_naming_it(tmp_path):
    for name, reason in _bad_files(tmp_path).items():
        with pytest.raises(AudioError, match=reason) as info:
            read_audio(tmp_path / name)
        assert name in str(info.value)


def _format_variants(root: Path) -> dict[str, tuple[int, int]]:
    """One 1 s tone per container, encoding, rate and channel count: name -> (rate, channels)."""
    root.mkdir(parents=True, exist_ok=True)
    variants: dict[str, tuple[int, int]] = {}
    for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"):
        variants[f"{subtype.lower()}.wav"] = (RATE, 1)
        sf.write(root / f"{subtype.lower()}.wav", tone(1.0), RATE, subtype=subtype)
    for rate in (8_000, 11_025, 22_050, 44_100, 48_000, 96_000):
        variants[f"rate{rate}.wav"] = (rate, 1)
        sf.write(root / f"rate{rate}.wav", tone(1.0, rate), rate)
    for channels in (2, 6):
        signal = np.stack([tone(1.0, seed=c) for c in range(channels)], axis=1)
        variants[f"ch{channels}.wav"] = (RATE, channels)
        sf.write(root / f"ch{channels}.wav", signal, RATE)
    available = sf.available_formats()
    for fmt, ext in (("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3"), ("AIFF", "aiff")):
        if fmt in available:  # soundfile >= 0.12 bundles all four; older builds may lack MP3
            variants[f"codec.{ext}"] = (RATE, 1)
            sf.write(root / f"codec.{ext}", tone(1.0), RATE, format=fmt)
    return variants


def test_every_encoding_rate_and_channel_count_reads_and_extracts(tmp_path):
    variants = _format_variants(tmp_path / "audio")
    reference = read_audio(tmp_path / "audio" / "pcm_16.wav")
    for name, (rate, channels) in variants.items():
        signal = read_audio(tmp_path / "audio" / name)
        assert signal.dtype == np.float32 and np.all(np.isfinite(signal))
        # 1 s at any source rate is 16 000 samples at 16 kHz (codecs may pad a frame).
        assert abs(signal.size - RATE) <= 0.07 * RATE, name
        if name.endswith(".wav") and rate == RATE and channels == 1:
            # Lossless 16 kHz mono: the same tone up to the encoding's quantisation step.
            assert np.max(np.abs(signal - reference)) < 2 / 128, name
    manifest = write_manifest(
        tmp_path / "audio", [{"file": n, "label": "neutral", "speaker": "s"} for n in variants]
    )
    loaded = load_manifest(manifest, map_labels=False)
    report = extract_features(loaded.frame, [FEATURES], cache_dir=tmp_path / "cache")
    assert report.ok, report.failures.reason.tolist()
    assert report.extracted[FEATURES] == len(variants)


def test_a_clip_longer_than_ten_minutes_extracts(tmp_path):
    # 10 min 5 s at 8 kHz (a small file), read and resampled to 9.7 M samples at 16 kHz.
    rng = np.random.default_rng(0)
    seconds = 605
    signal = np.tile(tone(5.0, 8_000), seconds // 5) + 0.001 * rng.standard_normal(seconds * 8_000)
    sf.write(tmp_path / "long.wav", signal.astype(np.float32), 8_000)
    manifest = write_manifest(tmp_path, [{"file": "long.wav", "label": "sad", "speaker": "s"}])
    report = paraser.extract([manifest], [FEATURES], cache_dir=tmp_path / "cache")[0]
    assert report.ok and report.extracted[FEATURES] == 1
    values = load_features(load_manifest(manifest).frame, FEATURES, cache_dir=tmp_path / "cache")
    assert values.available.all() and np.all(np.isfinite(values.values))


def test_extraction_goes_past_bad_files_records_them_and_caches_only_good_ones(tmp_path):
    root = tmp_path / "mixed"
    reasons = _bad_files(root)
    for k in range(3):
        sf.write(root / f"good{k}.wav", tone(0.6, seed=k), RATE)
    files = [*reasons, "good0.wav", "good1.wav", "good2.wav"]
    manifest = write_manifest(root, [{"file": f, "label": "sad", "speaker": "s"} for f in files])
    cache = tmp_path / "cache"
    args = ["extract", str(manifest), "--features", FEATURES, "--cache-dir", str(cache), "-j", "1"]

    result = runner.invoke(app_(), args)
    assert result.exit_code == 1, result.output
    failures = pd.read_csv(cache / "corpus" / "failures.csv")
    assert sorted(Path(f).name for f in failures.file) == sorted(reasons)
    for row in failures.itertuples():
        assert re.search(reasons[Path(row.file).name], row.reason)
        assert Path(row.file).name in cli_output(result)  # the summary lists each failure
    frame = load_manifest(manifest, map_labels=False).frame
    matrix = load_features(frame, FEATURES, cache_dir=cache)
    good = ["good0.wav", "good1.wav", "good2.wav"]
    assert [Path(p).name for p in frame.path[matrix.available]] == good
    assert np.all(np.isfinite(matrix.values))
    store = open_store(resolve_feature_set(FEATURES), cache / "corpus")
    assert len(store.keys()) == 3  # nothing partial or NaN was cached for a bad file

    again = runner.invoke(app_(), args)  # bad files are tried again, good ones not
    assert again.exit_code == 1
    assert len(pd.read_csv(cache / "corpus" / "failures.csv")) == len(reasons)

    strict = runner.invoke(app_(), [*args, "--strict"])
    assert strict.exit_code == 1 and "stopped (--strict)" in cli_output(strict)

    only_good = write_manifest(
        root, [{"file": f, "label": "sad", "speaker": "s"} for f in good], "good"
    )
    ok = runner.invoke(app_(), ["extract", str(only_good), *args[2:]])
    assert ok.exit_code == 0, ok.output
    assert pd.read_csv(cache / "good" / "failures.csv").empty


class NaNFeatureSet:
    """A feature set whose engine returns NaN for loud signals: a broken extractor."""

    name = "nanny"
    cache_key = "nanny-test"
    feature_names = ["mean", "peak"]

    def provenance(self) -> dict:
        return {"feature_set": self.name, "extractor": "test"}

    def make_engine(self):
        def engine(signal: np.ndarray) -> np.ndarray:
            peak = float(np.max(np.abs(signal)))
            if peak > 0.5:
                return np.array([signal.mean()], np.float32)  # a partial vector
            return np.array([signal.mean(), peak if peak < 0.2 else np.nan], np.float32)

        return engine


def test_nan_inf_or_partial_features_are_failures_and_never_cached(tmp_path):
    names = ("quiet", "loud", "louder")
    for name, level in zip(names, (0.1, 0.5, 1.5)):
        sf.write(tmp_path / f"{name}.wav", voiced_tone(150, 0.5, level=level), RATE)
    manifest = write_manifest(
        tmp_path, [{"file": f"{n}.wav", "label": "sad", "speaker": "s"} for n in names]
    )
    frame = load_manifest(manifest).frame
    report = extract_features(frame, [NaNFeatureSet()], cache_dir=tmp_path / "cache")
    assert report.failures.feature_set.tolist() == ["nanny", "nanny"]
    reasons = dict(zip(report.failures.file.map(lambda f: Path(f).stem), report.failures.reason))
    assert "gave NaN/inf features" in reasons["loud"]
    assert "gave 1 values, not 2" in reasons["louder"]
    matrix = load_features(frame, NaNFeatureSet(), cache_dir=tmp_path / "cache")
    assert matrix.available.tolist() == [True, False, False]
    store = FeatureStore(tmp_path / "direct", {}, ["a", "b"])
    with pytest.raises(ValueError, match="non-finite"):
        store.add(["k"], np.array([[1.0, np.inf]]))


def _write_shard(directory: Path, keys: list[str], rows: np.ndarray) -> Path:
    flat = pa.array(rows.astype(np.float32).ravel(), type=pa.float32())
    table = pa.table(
        {
            "audio_sha256": pa.array(keys),
            "features": pa.FixedSizeListArray.from_arrays(flat, rows.shape[1]),
        }
    )
    path = directory / f"shard-imported{len(keys)}.parquet"
    pq.write_table(table, path)
    return path


def test_nan_rows_and_torn_files_in_the_cache_are_never_served(tone_corpus, tmp_path):
    manifest = tone_corpus("tones", labels=("angry", "sad"), per_label=2, speakers=("s1",))
    frame = load_manifest(manifest).frame
    cache = tmp_path / "cache"
    assert extract_features(frame, [FEATURES], cache_dir=cache).ok
    store = open_store(resolve_feature_set(FEATURES), cache / "tones")
    reference = load_features(frame, FEATURES, cache_dir=cache).values
    # An imported (or hand-edited) shard re-stating the first file with NaN features.
    first_key = paraser_digest(frame.path.iloc[0])
    bad = np.full((1, len(store.feature_names)), np.nan)
    imported = _write_shard(store.directory, [first_key], bad)
    with pytest.warns(UserWarning, match="NaN/inf"):
        matrix = load_features(frame, FEATURES, cache_dir=cache)
    assert np.array_equal(matrix.values, reference)  # the stored finite row still wins
    imported.unlink()
    # A torn shard (a crash without a filesystem flush) is set aside on the first read.
    (store.directory / "shard-torn.parquet").write_bytes(b"PAR1\x00\x01garbage")
    with pytest.warns(UserWarning, match="damaged cache file.*set aside"):
        assert np.array_equal(load_features(frame, FEATURES, cache_dir=cache).values, reference)
    assert (store.directory / "shard-torn.parquet.corrupt").is_file()
    assert not list(store.directory.glob("shard-*.parquet"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # set aside once: not warned about on every run
        load_features(frame, FEATURES, cache_dir=cache)


def paraser_digest(path: str) -> str:
    from paraser.audio import file_digest

    return file_digest(path)


def app_():
    from paraser.cli import app

    return app


# --- bad manifests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("a.wav,sad,s1\nb.wav,,s1\n", r"empty 'label' in 1 row\(s\), e.g. line\(s\) \[3\]"),
        ("a.wav,sad,s1\nb.wav,sad,\n", r"empty 'speaker' in 1 row"),
        ("a.wav,sad,s1\na.wav,sad,s1\n", r"1 duplicate file row"),
        ("a.wav,sad,s1\n./a.wav,sad,s1\n", r"name a file another row names too"),
        ("a.wav,sad,s1\nsub/../a.wav,sad,s1\n", r"name a file another row names too"),
        ("../outside.wav,sad,s1\n", r"escapes the corpus root"),
        ("", r"no utterance rows"),
        # A row with one extra field: first row (pandas: an index column, then a TypeError),
        # every row (an unquoted comma: pandas shifts every column silently), a short row.
        ("a.wav,sad,Smith, J\nb.wav,sad,s2\n", r"line 2 has 4 field\(s\), the header 3"),
        ("a.wav,sad,Smith, J\nb.wav,sad,Doe, A\n", r"line 2 has 4 field\(s\)"),
        ("a.wav,sad,s1\n\nb.wav,sad\n", r"line 4 has 2 field\(s\)"),
        ("a.wav,sad,s1\nb.wav,sad,s1\na.wav,sad,s2\n", r"duplicate file row.*line 4: a.wav"),
        ("a.wav,sad,s1\n../b.wav,sad,s1\n", r"line 3: file '../b.wav' escapes the corpus"),
        ("a.wav,sad,s1\n/etc/passwd,sad,s1\n", r"line 3: file '/etc/passwd' has no audio"),
        ("a.wav,sad,s1\n/dev/zero,sad,s1\n", r"line 3: file '/dev/zero' has no audio ext"),
        ("notes.txt,sad,s1\n", r"line 2: file 'notes.txt' has no audio extension"),
    ],
)
def test_bad_manifests_are_refused_naming_file_and_problem(tmp_path, rows, message):
    path = tmp_path / "corpus" / "bad.csv"
    path.parent.mkdir()
    path.write_text("file,label,speaker\n" + rows)
    with pytest.raises(ManifestError, match=message):
        load_manifest(path)
    result = runner.invoke(app_(), ["extract", str(path), "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 2 and "bad.csv" in cli_output(result)
    assert "Traceback" not in cli_output(result)


# --- impossible experiments -------------------------------------------------------------


def _matrix(tmp_path: Path, corpora: list[Path], *extra: str):
    args = ["transfer-matrix", "--corpora", ",".join(map(str, corpora)), "--features", FEATURES,
            "--out", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"), "-j", "1",
            *extra]  # fmt: skip
    return runner.invoke(app_(), args)


def test_one_class_corpus_is_refused_naming_corpus_and_class(tmp_path):
    lonely = write_tone_corpus(tmp_path / "lonely", "lonely", ("angry",), per_label=2)
    result = _matrix(tmp_path, [lonely], "--folds", "2")
    text = cli_output(result)
    assert result.exit_code == 2
    assert "lonely: only one class (anger)" in text and "--classes" in text


def test_class_smaller_than_folds_is_refused_with_count_and_fix(tmp_path):
    small = write_tone_corpus(tmp_path / "small", "small", ("angry", "sad"), per_label=1)
    result = _matrix(tmp_path, [small], "--protocol", "stratified", "--folds", "3")
    text = cli_output(result)
    assert result.exit_code == 2
    assert "small: 'anger' has 2" in text and "fewer than the 3 folds" in text
    assert "--folds 2" in text


def test_corpus_without_a_class_in_the_label_space_is_refused(tmp_path):
    bored = write_tone_corpus(tmp_path / "bored", "bored", ("boredom", "disgust"), per_label=1)
    result = _matrix(tmp_path, [bored])
    text = cli_output(result)
    assert result.exit_code == 2
    assert "bored: no utterance in the label space" in text and "boredom (2)" in text


def test_corpus_whose_every_file_fails_is_refused(tmp_path):
    root = tmp_path / "dead"
    root.mkdir()
    rows = []
    for k, label in enumerate(("angry", "sad", "angry", "sad")):
        (root / f"{k}.wav").write_text("not audio")
        rows.append({"file": f"{k}.wav", "label": label, "speaker": f"s{k % 2}"})
    result = _matrix(tmp_path, [write_manifest(root, rows, "dead")], "--folds", "2")
    text = cli_output(result)
    assert result.exit_code == 2
    assert "dead: none of its 4 utterance(s) has features" in text and "failures.csv" in text


@pytest.fixture(scope="module")
def disjoint_run(tmp_path_factory):
    """A finished run where left and right share no class (both share two with full)."""
    tmp_path = tmp_path_factory.mktemp("disjoint")
    left = write_tone_corpus(tmp_path / "left", "left", ("angry", "happy"))
    right = write_tone_corpus(tmp_path / "right", "right", ("neutral", "sad"))
    full = write_tone_corpus(tmp_path / "full", "full", ("angry", "happy", "neutral", "sad"))
    manifests = [left, right, full]
    result = _matrix(tmp_path, manifests, "--folds", "2", "--classifiers", "svm")
    assert result.exit_code == 0, result.output
    # Targets with classes their sources lack: each direction tests only the shared ones.
    assert_run_dir_invariants(tmp_path / "run", manifests)
    return tmp_path, result, manifests


def test_source_and_target_without_shared_class_are_skipped_and_said(disjoint_run):
    tmp_path, result, _ = disjoint_run
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    transfer = results.query("kind == 'transfer'")
    assert {"full -> left", "left -> full", "right -> full"} <= set(
        transfer.source + " -> " + transfer.target
    )
    assert not len(transfer.query("source in ('left', 'right') and target in ('left', 'right')"))
    summary = (tmp_path / "run" / "summary.md").read_text()
    for text in (summary, cli_output(result)):
        assert "left -> right: skipped, shared classes none" in text
        assert (
            "left has anger, happiness, right has neutral, sadness" in text
            and "--label-map" in text
        )
    matrix = pd.read_csv(tmp_path / "run" / f"matrix_{FEATURES}_svm.csv", index_col=0)
    assert matrix.loc["left", "right"] != matrix.loc["left", "right"]  # NaN: no cell


# --- no executable formats --------------------------------------------------------------

# Data and documents paraser writes; none is ever loaded as code.
INERT_SUFFIXES = {".parquet", ".csv", ".json", ".md", ".txt", ".tex", ".html", ".png", ".svg"}


def test_cache_and_results_hold_only_inert_formats(disjoint_run):
    tmp_path, _, _ = disjoint_run
    for folder in (tmp_path / "cache", tmp_path / "run"):
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files
        # ``.lock`` is the empty file flock() needs; everything else is data, never code.
        unexpected = [p for p in files if p.name != ".lock" and p.suffix not in INERT_SUFFIXES]
        assert not unexpected


def test_cache_and_results_are_read_without_unpickling(disjoint_run, monkeypatch):
    tmp_path, _, manifests = disjoint_run

    def refuse(*args, **kwargs):
        raise AssertionError("paraser tried to unpickle cache or results data")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(np, "load", refuse)
    for manifest in manifests:
        frame = load_manifest(manifest).frame
        assert load_features(frame, FEATURES, cache_dir=tmp_path / "cache").available.all()
    report = runner.invoke(app_(), ["report", str(tmp_path / "run"), "--n-boot", "100"])
    assert report.exit_code == 0, report.output
    assert len(pd.read_parquet(tmp_path / "run" / "predictions.parquet"))


def test_no_module_loads_pickles_or_unsafe_weights():
    unsafe = ("pickle.load", "joblib.load", "allow_pickle=True", "read_pickle", "dill.load")
    for path in (REPO / "paraser").rglob("*.py"):
        source = path.read_text()
        assert not [u for u in unsafe if u in source], path
        if "torch.load(" in source:
            assert "weights_only=True" in source, path


# --- interruption and concurrency -------------------------------------------------------


def _extract_command(manifest: Path, cache: Path) -> list[str]:
    return [sys.executable, "-m", "paraser.cli", "extract", str(manifest), "--features",
            FEATURES, "--cache-dir", str(cache), "--jobs", "1"]  # fmt: skip


def _features(manifest: Path, cache: Path) -> np.ndarray:
    matrix = load_features(
        load_manifest(manifest, map_labels=False).frame, FEATURES, cache_dir=cache
    )
    assert matrix.available.all()
    return matrix.values


def test_stale_temporary_files_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    hexa = "0" * 32
    stale = tmp_path / f".tmp-{host}-{dead.pid}-{hexa}-shard-x.parquet"
    live = tmp_path / f".tmp-{host}-{os.getpid()}-{hexa}-shard-y.parquet"
    foreign_old = tmp_path / f".tmp-elsewhere-1-{hexa}-features.parquet"
    foreign_new = tmp_path / f".tmp-elsewhere-2-{hexa}-features.parquet"
    for path in (stale, live, foreign_old, foreign_new):
        path.write_bytes(b"half a parquet file")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(foreign_old, (day_ago, day_ago))
    assert sorted(remove_stale_tmp(tmp_path)) == sorted([stale, foreign_old])
    assert live.exists() and foreign_new.exists()


def test_sigkilled_extraction_resumes_to_identical_features(tmp_path):
    manifest = write_tone_corpus(
        tmp_path / "big", "big", ("angry", "happy", "neutral", "sad"), per_label=20, seconds=1.0
    )
    n_files = 160
    cache = tmp_path / "cache"
    store_dir = cache / "big" / resolve_feature_set(FEATURES).cache_key
    process = subprocess.Popen(
        _extract_command(manifest, cache), cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(store_dir.glob("shard-*.parquet")):
            assert process.poll() is None, "extraction ended before its first shard was seen"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (store_dir / "features.parquet").exists()  # killed before its compaction
    done = len(open_store(resolve_feature_set(FEATURES), cache / "big").keys())
    assert 0 < done < n_files
    # What a kill during a write leaves: a dead writer's temporary file, never a torn shard.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = store_dir / f".tmp-{socket.gethostname()}-{dead.pid}-{'0' * 32}-shard-z.parquet"
    leftover.write_bytes(b"PAR1 torn")

    resumed = paraser.extract([manifest], [FEATURES], cache_dir=cache)[0]
    assert resumed.ok
    assert resumed.cached[FEATURES] == done and resumed.extracted[FEATURES] == n_files - done
    assert not leftover.exists()
    assert not list(store_dir.glob(".tmp-*"))

    paraser.extract([manifest], [FEATURES], cache_dir=tmp_path / "clean")
    resumed_values = _features(manifest, cache)
    clean_values = _features(manifest, tmp_path / "clean")
    assert resumed_values.tobytes() == clean_values.tobytes()  # bit for bit


def test_two_concurrent_extractions_leave_a_complete_consistent_cache(tmp_path):
    manifest = write_tone_corpus(
        tmp_path / "shared", "shared", ("angry", "happy", "neutral", "sad"), per_label=8
    )
    n_files = 64
    cache = tmp_path / "cache"
    logs = [open(tmp_path / f"log{k}.txt", "w") for k in range(2)]  # noqa: SIM115
    try:
        processes = [
            subprocess.Popen(_extract_command(manifest, cache), cwd=REPO, stdout=log, stderr=log)
            for log in logs
        ]
        codes = [p.wait(timeout=300) for p in processes]
    finally:
        for log in logs:
            log.close()
    assert codes == [0, 0], [(tmp_path / f"log{k}.txt").read_text() for k in range(2)]

    store_dir = cache / "shared" / resolve_feature_set(FEATURES).cache_key
    names = sorted(p.name for p in store_dir.iterdir())
    assert names == [".lock", "features.parquet", "provenance.json"]  # all merged, no leftovers
    keys = pq.read_table(store_dir / "features.parquet").column("audio_sha256").to_pylist()
    assert len(keys) == len(set(keys)) == n_files
    paraser.extract([manifest], [FEATURES], cache_dir=tmp_path / "clean")
    assert _features(manifest, cache).tobytes() == _features(manifest, tmp_path / "clean").tobytes()
