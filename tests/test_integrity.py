"""Fault injection, part two: nothing stale, nothing silent, nothing hangs (issue 15).

Changed audio behind a restored mtime, damaged and NaN cache files, read-only and
full disks, FIFOs and devices, malformed manifest rows, symlinks and absolute
paths, and workers orphaned by a SIGKILL.  Read-only and full disks are real
mounts in a private mount namespace (``unshare``); those tests are skipped where
user namespaces are not allowed.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from conftest import REPO, voiced_tone
from typer.testing import CliRunner

from paraser.audio import AudioError, read_audio
from paraser.cli import app
from paraser.corpora import load_manifest
from paraser.corpora.manifest import ManifestError
from paraser.features import load_features, resolve_feature_set
from paraser.features.extract import extract_features, open_store

runner = CliRunner()
RATE = 16_000
FEATURES = "is09"


def write_corpus(
    root: Path, n: int, name: str = "corpus", seconds: float = 0.5, shift: int = 0
) -> Path:
    """``n`` distinct tones (two labels, two speakers) and their manifest; ``shift`` makes
    another corpus' tones differ."""
    rows = []
    root.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        file = f"u{k:03d}.wav"
        sf.write(root / file, voiced_tone(110 + 7 * k + shift, seconds, seed=k + shift), RATE)
        rows.append({"file": file, "label": ("angry", "sad")[k % 2], "speaker": f"s{k % 2}"})
    path = root / f"{name}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def features(manifest: Path, cache: Path) -> np.ndarray:
    frame = load_manifest(manifest, map_labels=False).frame
    matrix = load_features(frame, FEATURES, cache_dir=cache)
    assert matrix.available.all()
    return matrix.values


def extract_args(manifest: Path, cache: Path) -> list[str]:
    return ["extract", str(manifest), "--features", FEATURES, "--cache-dir", str(cache), "-j", "1"]


def cli(args: list[str]):
    result = runner.invoke(app, args)
    return result, " ".join(result.output.split())


def store_dir(cache: Path, corpus: str = "corpus") -> Path:
    return open_store(resolve_feature_set(FEATURES), cache / corpus).directory


# --- stale or damaged cache entries -----------------------------------------------------


def test_changed_audio_behind_a_restored_mtime_is_re_extracted(tmp_path):
    manifest = write_corpus(tmp_path / "c", 4)
    cache = tmp_path / "cache"
    assert extract_features(load_manifest(manifest).frame, [FEATURES], cache_dir=cache).ok
    target = tmp_path / "c" / "u001.wav"
    before = target.stat()
    old = features(manifest, cache)
    # Different audio of the same size, mtime put back (touch -r, rsync -t, cp -p).
    sf.write(target, voiced_tone(300, 0.5, seed=99), RATE)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size
    assert target.stat().st_mtime_ns == before.st_mtime_ns

    result, text = cli(extract_args(manifest, cache))
    assert result.exit_code == 0, text
    frame = load_manifest(manifest).frame
    report = extract_features(frame, [FEATURES], cache_dir=cache)
    assert report.cached[FEATURES] == 4  # the new bytes were extracted by the CLI run
    new = features(manifest, cache)
    assert not np.array_equal(new[1], old[1])
    clean = tmp_path / "clean"
    extract_features(frame, [FEATURES], cache_dir=clean)
    assert new.tobytes() == features(manifest, clean).tobytes()


def _zero_block(path: Path, offset: int, size: int = 4096) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + size] = bytes(min(size, len(data) - offset))
    path.write_bytes(bytes(data))


def test_a_damaged_cache_file_is_set_aside_never_served_and_re_extracted(tmp_path):
    manifest = write_corpus(tmp_path / "c", 24)
    cache, clean = tmp_path / "cache", tmp_path / "clean"
    frame = load_manifest(manifest).frame
    extract_features(frame, [FEATURES], cache_dir=cache)
    extract_features(frame, [FEATURES], cache_dir=clean)
    reference = features(manifest, clean)
    main = store_dir(cache) / "features.parquet"
    _zero_block(main, main.stat().st_size // 3)  # inside the vectors' data pages

    with pytest.warns(UserWarning, match="damaged cache file"):
        matrix = load_features(frame, FEATURES, cache_dir=cache)
    # Nothing served from the damaged file: no row at all rather than a wrong one.
    assert np.array_equal(matrix.values, reference[matrix.available])
    assert not matrix.available.any()
    assert (store_dir(cache) / "features.parquet.corrupt").is_file()  # kept, not deleted

    result, text = cli(extract_args(manifest, cache))
    assert result.exit_code == 0, text
    assert features(manifest, cache).tobytes() == reference.tobytes()


def extracted_and_edited(tmp_path: Path, n: int, edit, keep_metadata: bool):
    """Extract ``n`` files, then rewrite ``features.parquet`` with ``edit(flat values)``
    applied, footer metadata (the digest) kept or dropped; (manifest, cache, reference)."""
    manifest = write_corpus(tmp_path / "c", n)
    cache = tmp_path / "cache"
    extract_features(load_manifest(manifest).frame, [FEATURES], cache_dir=cache)
    reference = features(manifest, cache)
    main = store_dir(cache) / "features.parquet"
    table = pq.read_table(main)
    values = table.column("features").combine_chunks().flatten().to_numpy().copy()
    edit(values, len(reference[0]))
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(values), len(reference[0]))
    table = table.set_column(1, "features", vectors)
    pq.write_table(table if keep_metadata else table.replace_schema_metadata(None), main)
    return manifest, cache, reference


def test_a_changed_value_parquet_cannot_see_breaks_the_digest(tmp_path):
    def flip(values: np.ndarray, width: int) -> None:
        values[5] += 1.0

    # A well-formed file, footer and digest intact, one value changed: a silent bit flip.
    manifest, cache, reference = extracted_and_edited(tmp_path, 6, flip, keep_metadata=True)
    frame = load_manifest(manifest).frame
    with pytest.warns(UserWarning, match="does not match its stored SHA-256"):
        assert not load_features(frame, FEATURES, cache_dir=cache).available.any()
    report = extract_features(frame, [FEATURES], cache_dir=cache)
    assert report.cached[FEATURES] == 0 and report.extracted[FEATURES] == 6
    assert features(manifest, cache).tobytes() == reference.tobytes()


def test_nan_rows_in_the_cache_are_not_cached_and_are_re_extracted(tmp_path):
    def poison(values: np.ndarray, width: int) -> None:
        values[:width] = np.nan
        values[2 * width + 3] = np.inf

    # A foreign or older file (no digest) whose rows for two files hold NaN.
    manifest, cache, reference = extracted_and_edited(tmp_path, 4, poison, keep_metadata=False)
    frame = load_manifest(manifest).frame

    with pytest.warns(UserWarning, match="2 cached row"):
        report = extract_features(frame, [FEATURES], cache_dir=cache)
    assert report.cached[FEATURES] == 2 and report.extracted[FEATURES] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # compaction dropped the NaN rows: no more warnings
        assert features(manifest, cache).tobytes() == reference.tobytes()


# --- read-only and full disks -----------------------------------------------------------


def _namespace_available() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


needs_namespace = pytest.mark.skipif(
    not _namespace_available(), reason="needs unshare -rm (user and mount namespaces)"
)


def in_namespace(script: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def paraser_command(*args: str) -> str:
    return " ".join([sys.executable, "-m", "paraser.cli", *map(str, args)])


@needs_namespace
def test_a_read_only_cache_is_read_and_an_extraction_says_it_needs_write_access(tmp_path):
    manifest = write_corpus(tmp_path / "c", 4)
    cache = tmp_path / "cache"
    extract_features(load_manifest(manifest).frame, [FEATURES], cache_dir=cache)
    mount = f"mount --bind {cache} {cache} && mount -o remount,bind,ro {cache}"
    load = (
        f'{sys.executable} -c "from paraser.corpora import load_manifest; '
        f"from paraser.features import load_features; "
        f"print(load_features(load_manifest('{manifest}').frame, '{FEATURES}', "
        f"cache_dir='{cache}').available.sum())\""
    )
    done = in_namespace(f"{mount} && {paraser_command(*extract_args(manifest, cache))} && {load}")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.split()[-1] == "4"

    sf.write(tmp_path / "c" / "new.wav", voiced_tone(400, 0.5), RATE)
    with open(manifest, "a") as handle:
        handle.write("new.wav,sad,s0\n")
    needs = in_namespace(f"{mount} && {paraser_command(*extract_args(manifest, cache))}")
    text = " ".join(needs.stderr.split())
    assert needs.returncode == 3, needs.stderr
    assert "read-only" in text and "--cache-dir" in text and "Traceback" not in text


def _failing_writes(monkeypatch, allowed: int) -> None:
    """Shards after the first ``allowed`` fail as on a full disk (with a half-written file)."""
    import paraser.features.store as store

    real = store.pq.write_table
    calls = {"n": 0}

    def write_table(table, where, *args, **kwargs):
        # The store writes through its own (Arrow) file handle: its name is the fd's link.
        name = os.readlink(f"/proc/self/fd/{where.fileno()}")
        if "shard-" in name:
            calls["n"] += 1
            if calls["n"] > allowed:
                where.write(b"PAR1 half")
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(store.pq, "write_table", write_table)


def test_disk_full_says_what_was_kept_writes_failures_and_resumes_bit_for_bit(
    tmp_path, monkeypatch
):
    manifest = write_corpus(tmp_path / "c", 40)
    (tmp_path / "c" / "bad.wav").write_text("not audio")
    with open(manifest, "a") as handle:
        handle.write("bad.wav,sad,s0\n")
    cache = tmp_path / "cache"
    _failing_writes(monkeypatch, allowed=1)  # the first 32-file shard fits, the rest not
    result, text = cli(extract_args(manifest, cache))
    assert result.exit_code == 3, text
    # bad.wav sorts first: the first shard holds 31 of the first 32 files.
    assert "disk full" in text and "31 stored by it" in text and "rerun" in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    failures = pd.read_csv(cache / "corpus" / "failures.csv")
    assert [Path(f).name for f in failures.file] == ["bad.wav"]
    assert not list(store_dir(cache).glob(".tmp-*"))  # the half-written shard is gone
    monkeypatch.undo()

    again, text = cli(extract_args(manifest, cache))
    assert again.exit_code == 1, text  # bad.wav still fails; everything else is there
    frame = load_manifest(manifest).frame
    report = extract_features(frame, [FEATURES], cache_dir=cache)
    assert report.cached[FEATURES] == 40
    clean = tmp_path / "clean"
    extract_features(frame, [FEATURES], cache_dir=clean)
    good = frame.path.str.endswith("bad.wav") == False  # noqa: E712 - elementwise
    mine = load_features(frame[good], FEATURES, cache_dir=cache).values
    theirs = load_features(frame[good], FEATURES, cache_dir=clean).values
    assert mine.tobytes() == theirs.tobytes()


@needs_namespace
def test_a_real_full_disk_exits_3_and_keeps_a_consistent_cache(tmp_path):
    manifest = write_corpus(tmp_path / "c", 40)
    cache, saved = tmp_path / "cache", tmp_path / "saved"
    cache.mkdir()
    # 76 KiB: provenance (16 KiB) and one 32-file shard (52 KiB) fit, a second shard does not.
    script = (
        f"mount -t tmpfs -o size=76k tmpfs {cache} && "
        f"{paraser_command(*extract_args(manifest, cache))}; code=$?; "
        f"cp -a {cache} {saved}; exit $code"
    )
    full = in_namespace(script)
    text = " ".join(full.stderr.split())
    assert full.returncode == 3, full.stderr
    assert "disk full" in text and "Traceback" not in text
    assert "32 stored by it" in text  # what was kept is said
    assert (saved / "corpus" / "failures.csv").is_file()
    frame = load_manifest(manifest).frame
    report = extract_features(frame, [FEATURES], cache_dir=saved)
    assert report.ok and report.cached[FEATURES] + report.extracted[FEATURES] == 40
    clean = tmp_path / "clean"
    extract_features(frame, [FEATURES], cache_dir=clean)
    assert features(manifest, saved).tobytes() == features(manifest, clean).tobytes()


# --- files that are not audio files -----------------------------------------------------


def test_fifos_and_devices_are_refused_before_they_are_opened(tmp_path):
    manifest = write_corpus(tmp_path / "c", 2)
    os.mkfifo(tmp_path / "c" / "pipe.wav")
    os.symlink("/dev/zero", tmp_path / "c" / "zero.wav")
    (tmp_path / "c" / "folder.wav").mkdir()
    with open(manifest, "a") as handle:
        handle.write("pipe.wav,sad,s0\nzero.wav,sad,s0\nfolder.wav,sad,s1\n")
    command = [sys.executable, "-m", "paraser.cli", *extract_args(manifest, tmp_path / "cache")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 1, done.stderr
    failures = pd.read_csv(tmp_path / "cache" / "corpus" / "failures.csv")
    reasons = dict(zip(failures.file.map(lambda f: Path(f).name), failures.reason))
    assert "not a regular file (a FIFO)" in reasons["pipe.wav"]
    assert "not a regular file (a character device)" in reasons["zero.wav"]
    assert "not a regular file (a folder)" in reasons["folder.wav"]
    with pytest.raises(AudioError, match="not a regular file"):
        read_audio(tmp_path / "c" / "pipe.wav")


def test_quoted_commas_and_blank_lines_are_fine(tmp_path):
    root = tmp_path / "c"
    write_corpus(root, 2)
    path = root / "quoted.csv"
    path.write_text('file,label,speaker\nu000.wav,angry,"Smith, J"\n\nu001.wav,sad,"Doe, A"\n')
    frame = load_manifest(path).frame
    assert list(frame.speaker) == ["quoted:Smith, J", "quoted:Doe, A"]


# --- the path rule ----------------------------------------------------------------------


def test_symlinks_inside_the_root_are_followed_and_absolute_paths_accepted(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for k, name in enumerate(("linked.wav", "in_folder.wav", "absolute.wav")):
        sf.write(elsewhere / name, voiced_tone(150 + 30 * k, 0.5, seed=k), RATE)
    root = tmp_path / "corpus"
    root.mkdir()
    os.symlink(elsewhere / "linked.wav", root / "linked.wav")  # a file link
    os.symlink(elsewhere, root / "folder")  # a folder link
    rows = [
        {"file": "linked.wav", "label": "sad", "speaker": "s"},
        {"file": "folder/in_folder.wav", "label": "sad", "speaker": "s"},
        {"file": str(elsewhere / "absolute.wav"), "label": "sad", "speaker": "s"},
    ]
    manifest = root / "links.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    frame = load_manifest(manifest).frame
    # The path as written (under the root), not where the link points.
    assert frame.path.iloc[1] == str(root / "folder" / "in_folder.wav")
    result, text = cli(extract_args(manifest, tmp_path / "cache"))
    assert result.exit_code == 0, text
    assert load_features(frame, FEATURES, cache_dir=tmp_path / "cache").available.all()
    # '..' through a link is still judged on the path as written.
    (root / "escape.csv").write_text("file,label,speaker\nfolder/../../x.wav,sad,s\n")
    with pytest.raises(ManifestError, match="escapes the corpus root"):
        load_manifest(root / "escape.csv")


# --- orphans ----------------------------------------------------------------------------


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE  # a zombie has ended
    except psutil.NoSuchProcess:
        return False


def test_workers_end_soon_after_their_parent_is_sigkilled(tmp_path):
    manifest = write_corpus(tmp_path / "c", 80, seconds=1.0)
    command = [sys.executable, "-m", "paraser.cli", *extract_args(manifest, tmp_path / "cache")]
    command[-1] = "2"  # -j 2: two worker processes
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not list((tmp_path / "cache").glob("corpus/*/shard-*.parquet")):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        workers = psutil.Process(process.pid).children(recursive=True)
        assert len(workers) >= 2  # the pool (and its resource tracker) runs
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)]


# --- signals openSMILE cannot measure, identical audio ----------------------------------


def test_dc_offset_and_a_single_click_are_refused_as_near_silence(tmp_path):
    sf.write(tmp_path / "dc.wav", np.full(RATE, 0.25, np.float32), RATE)
    click = np.zeros(RATE, np.float32)
    click[RATE // 2] = 1 / 32768
    sf.write(tmp_path / "click.wav", click, RATE)
    for name in ("dc.wav", "click.wav"):
        with pytest.raises(AudioError, match="near silence"):
            read_audio(tmp_path / name)
    quiet = voiced_tone(150, 1.0, level=0.002)  # quiet speech is not silence
    sf.write(tmp_path / "quiet.wav", quiet, RATE)
    assert read_audio(tmp_path / "quiet.wav").size == RATE


def test_identical_audio_under_two_names_is_extracted_once_and_flagged(tmp_path):
    manifest = write_corpus(tmp_path / "c", 3)
    shutil.copy(tmp_path / "c" / "u000.wav", tmp_path / "c" / "copy.wav")
    with open(manifest, "a") as handle:
        handle.write("copy.wav,sad,s1\n")
    result, text = cli(extract_args(manifest, tmp_path / "cache"))
    assert result.exit_code == 0, text
    assert "1 file(s) hold the same audio as another file (extracted once)" in text
    assert "copy.wav =" in text and "u000.wav" in text
    report = extract_features(
        load_manifest(manifest).frame, [FEATURES], cache_dir=tmp_path / "other"
    )
    assert report.extracted[FEATURES] == 3 and len(report.identical) == 1
    values = features(manifest, tmp_path / "cache")
    assert np.array_equal(values[0], values[3])


def test_a_manifest_name_that_cannot_be_a_cache_folder_is_refused(tmp_path):
    root = tmp_path / "deep" / "c"
    write_corpus(root, 2)
    odd = root / "...csv"
    shutil.copy(root / "corpus.csv", odd)
    cache = tmp_path / "deep" / "cache"
    result, text = cli(extract_args(odd, cache))
    assert result.exit_code == 2 and "cannot name a cache folder" in text
    assert not (tmp_path / "deep" / "is09").exists() and not list(tmp_path.glob("deep/*/is09*"))


# --- registering corpora ----------------------------------------------------------------


def test_prepare_refuses_names_outside_the_registry_and_unloadable_manifests(tmp_path):
    root = tmp_path / "mine"
    write_corpus(root, 2, name="list")
    registry = tmp_path / "registry"
    args = ["corpus", "prepare", "generic", str(root / "list.csv"), "--manifests-dir"]
    result, text = cli([*args, str(registry), "--as", "../escaped"])
    assert result.exit_code == 2 and "plain name" in text
    assert not list(tmp_path.glob("escaped*"))

    good, text = cli([*args, str(registry), "--as", "good"])
    assert good.exit_code == 0, text
    (root / "notes.txt").write_text("not audio")
    with open(root / "list.csv", "a") as handle:
        handle.write("notes.txt,sad,s0\n")
    bad, text = cli([*args, str(registry), "--as", "bad"])
    assert bad.exit_code == 2 and "no audio extension" in text
    assert sorted(p.name for p in registry.iterdir()) == ["good.csv", "good.json"]

    # A manifest broken by hand after registration hides no other corpus.
    (registry / "broken.csv").write_text("file,label,speaker\na.wav,sad,Smith, J\n")
    listing, text = cli(["corpus", "list", "--manifests-dir", str(registry)])
    assert listing.exit_code == 2
    assert "good" in text and "broken.csv: line 2 has 4 field(s)" in text


def test_identical_audio_across_corpora_is_flagged_in_the_run_notes(tmp_path):
    first = write_corpus(tmp_path / "a", 8, name="first")
    second = write_corpus(tmp_path / "b", 8, name="second", shift=3)
    shutil.copy(tmp_path / "a" / "u000.wav", tmp_path / "b" / "u000.wav")  # one shared file
    args = ["transfer-matrix", "--corpora", f"{first},{second}", "--features", FEATURES,
            "--classes", "anger,sadness", "--folds", "2", "--out", str(tmp_path / "run"),
            "--cache-dir", str(tmp_path / "cache"), "-j", "1"]  # fmt: skip
    result, text = cli(args)
    assert result.exit_code == 0, text
    assert "identical audio across corpora: 1 group(s)" in text
    assert "first:u000.wav = second:u000.wav" in text


def test_ctrl_c_exits_130_quietly_and_keeps_finished_files(tmp_path):
    manifest = write_corpus(tmp_path / "c", 64, seconds=1.0)
    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "paraser.cli", *extract_args(manifest, cache)]
    command[-1] = "2"
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(cache.glob("corpus/*/shard-*.parquet")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole process group
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err and "Exception ignored" not in err
    resumed = extract_features(load_manifest(manifest).frame, [FEATURES], cache_dir=cache)
    assert resumed.ok and resumed.cached[FEATURES] >= 32
