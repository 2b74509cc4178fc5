"""The fault drill: every adversarial case of issue 15, end to end against the CLI.

    python bench/fault_drill.py [--keep DIR] [--csv results.csv]     (make fault-drill)

Each case builds its own small corpus of tones in a scratch folder, attacks it
(bad audio of every kind, damaged caches, read-only and full disks, SIGKILL at
several moments, concurrent runs, malformed manifests), runs ``paraser`` as a
subprocess, then checks the outcome against a clean extraction of the same
audio into a fresh cache:

* ``exit``: the exit status of the attacked command (what a script would see);
* ``handled``: the exit status and message are the documented ones;
* ``rows lost``: good files without features after the rerun (must be 0);
* ``stale served``: vectors served that differ from a clean extraction of the
  file's current bytes, or served for a file that must fail (must be 0).

Read-only and full disks are real mounts in a private mount namespace
(``unshare -rm``); where that is not allowed they are reported as skipped.
The whole drill takes about two to three minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paraser.corpora import load_manifest  # noqa: E402
from paraser.features import extract_features, load_features  # noqa: E402

RATE = 16_000
FEATURES = "is09"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def tone(f0: float, seconds: float = 0.5, seed: int = 0, level: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / RATE
    signal = sum(np.sin(k * phase) / k for k in range(1, 8))
    signal = level * signal / 2 + 0.005 * rng.standard_normal(t.size)
    return signal.astype(np.float32)


def corpus(root: Path, n: int, seconds: float = 0.5, name: str = "corpus") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(n):
        file = f"u{k:03d}.wav"
        sf.write(root / file, tone(110 + 5 * k, seconds, seed=k), RATE)
        rows.append({"file": file, "label": ("angry", "sad")[k % 2], "speaker": f"s{k % 3}"})
    path = root / f"{name}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def add_rows(manifest: Path, files: list[str]) -> None:
    with open(manifest, "a") as handle:
        handle.writelines(f"{f},sad,s0\n" for f in files)


def paraser(*args: str, jobs: int = 1) -> list[str]:
    return [sys.executable, "-m", "paraser.cli", *map(str, args), "--jobs", str(jobs)]


def extract_cmd(manifest: Path, cache: Path, jobs: int = 1) -> list[str]:
    return paraser("extract", manifest, "--features", FEATURES, "--cache-dir", cache, jobs=jobs)


def run(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=ENV
        )
    except subprocess.TimeoutExpired as exc:  # a hang is a result, not a crash of the drill
        return subprocess.CompletedProcess(command, 124, exc.stdout or "", "timed out (hang)")


def in_namespace(script: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return run(["unshare", "-rm", "sh", "-c", script], timeout)


def shell(command: list[str]) -> str:
    return " ".join(map(str, command))


def namespace_ok() -> bool:
    return bool(shutil.which("unshare")) and run(["unshare", "-rm", "true"], 30).returncode == 0


@dataclass
class Outcome:
    case: str
    exit: int | str
    handled: bool | None  # None: skipped
    lost: int = 0
    stale: int = 0
    detail: str = ""


def check(manifest: Path, cache: Path, scratch: Path) -> tuple[int, int]:
    """(rows lost, stale vectors served) of ``cache`` against a clean extraction."""
    frame = load_manifest(manifest, map_labels=False).frame
    clean = scratch / f"clean-{time.monotonic_ns()}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extract_features(frame, [FEATURES], cache_dir=clean)
        reference = load_features(frame, FEATURES, cache_dir=clean)
        served = load_features(frame, FEATURES, cache_dir=cache)
    shutil.rmtree(clean)
    lost = int((reference.available & ~served.available).sum())
    wrongly_served = int((served.available & ~reference.available).sum())
    both = reference.available & served.available
    ref_rows = reference.values[both[reference.available]]
    our_rows = served.values[both[served.available]]
    differ = int((ref_rows != our_rows).any(axis=1).sum())
    return lost, differ + wrongly_served


def failed_files(cache: Path) -> dict[str, str]:
    path = cache / "corpus" / "failures.csv"
    if not path.is_file():
        return {}
    frame = pd.read_csv(path)
    return dict(zip(frame.file.map(lambda f: Path(f).name), frame.reason))


def store_dir(cache: Path) -> Path:
    (directory,) = [p for p in (cache / "corpus").iterdir() if p.name.startswith(FEATURES)]
    return directory


# --- cases ------------------------------------------------------------------------------


def bad_audio(tmp: Path) -> Outcome:
    root = tmp / "c"
    manifest = corpus(root, 6)
    good = sf.read(root / "u000.wav", dtype="float32")[0]
    sf.write(root / "cut.wav", good, RATE)
    data = (root / "cut.wav").read_bytes()
    (root / "cut.wav").write_bytes(data[: 44 + len(data) // 3])
    (root / "empty.wav").write_bytes(b"")
    (root / "text.wav").write_text("a transcript, not audio\n" * 20)
    (root / "random.mp3").write_bytes(np.random.default_rng(0).bytes(4000))
    (root / "random.ogg").write_bytes(np.random.default_rng(1).bytes(4000))
    sf.write(root / "silence.wav", np.zeros(RATE, np.float32), RATE)
    sf.write(root / "short.wav", tone(150, 0.05), RATE)
    nan = tone(150, 1.0)
    nan[10:20] = np.nan
    sf.write(root / "nan.wav", nan, RATE, subtype="FLOAT")
    sf.write(root / "dc.wav", np.full(RATE, 0.2, np.float32), RATE)
    click = np.zeros(RATE, np.float32)
    click[100] = 1 / 32768
    sf.write(root / "click.wav", click, RATE)
    os.mkfifo(root / "fifo.wav")
    os.symlink("/dev/zero", root / "zero.wav")
    (root / "folder.wav").mkdir()
    bad = ["cut.wav", "empty.wav", "text.wav", "random.mp3", "random.ogg", "silence.wav",
           "short.wav", "nan.wav", "dc.wav", "click.wav", "fifo.wav", "zero.wav",
           "folder.wav", "missing.wav"]  # fmt: skip
    add_rows(manifest, bad)
    cache = tmp / "cache"
    done = run(extract_cmd(manifest, cache))
    refused = failed_files(cache)
    lost, stale = check(manifest, cache, tmp)
    missed = sorted(set(bad) - set(refused))
    return Outcome(
        f"bad audio ({len(bad)} kinds, FIFO and /dev/zero included)",
        done.returncode,
        done.returncode == 1 and not missed,
        lost,
        stale,
        f"not refused: {missed}" if missed else "each in failures.csv with its reason",
    )


def truncated_mp3(tmp: Path) -> Outcome:
    root = tmp / "c"
    manifest = corpus(root, 3)
    if "MP3" not in sf.available_formats():
        return Outcome("truncated MP3 (40 % of its bytes)", "-", None, detail="no MP3 encoder")
    sf.write(root / "cut.mp3", tone(150, 2.0), RATE, format="MP3")
    data = (root / "cut.mp3").read_bytes()
    (root / "cut.mp3").write_bytes(data[: int(0.4 * len(data))])
    add_rows(manifest, ["cut.mp3"])
    cache = tmp / "cache"
    done = run(extract_cmd(manifest, cache))
    handled = done.returncode == 1 and "cut.mp3" in failed_files(cache)
    lost, stale = check(manifest, cache, tmp)
    return Outcome(
        "truncated MP3 (40 % of its bytes)",
        done.returncode,
        handled,
        lost,
        stale,
        "refused" if handled else "decoded as a shorter clip: left to the decoding check (#19)",
    )


def attack_cache(
    tmp: Path,
    n: int,
    case: str,
    attack: Callable[[Path, Path], None],
    detail: str,
    reruns: int = 1,
) -> tuple[Outcome, list[subprocess.CompletedProcess]]:
    """Extract ``n`` files, ``attack(corpus folder, store folder)``, rerun ``extract``."""
    manifest = corpus(tmp / "c", n)
    cache = tmp / "cache"
    run(extract_cmd(manifest, cache))
    attack(tmp / "c", store_dir(cache))
    done = [run(extract_cmd(manifest, cache)) for _ in range(reruns)]
    lost, stale = check(manifest, cache, tmp)
    handled = done[0].returncode == 0 and not lost and not stale
    return Outcome(case, done[0].returncode, handled, lost, stale, detail), done


def changed_audio(tmp: Path) -> Outcome:
    def attack(root: Path, _: Path) -> None:
        target = root / "u002.wav"
        before = target.stat()
        sf.write(target, tone(333, 0.5, seed=7), RATE)  # same size, other audio
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # touch -r / cp -p

    outcome, _ = attack_cache(
        tmp, 6, "changed audio, same size, mtime restored", attack, "re-hashed, re-extracted"
    )
    return outcome


def damaged_block(tmp: Path) -> Outcome:
    def attack(_: Path, store: Path) -> None:
        main = store / "features.parquet"
        data = bytearray(main.read_bytes())
        start = len(data) // 3
        data[start : start + 4096] = bytes(min(4096, len(data) - start))
        main.write_bytes(bytes(data))

    outcome, (done,) = attack_cache(
        tmp, 24, "features.parquet with a zeroed 4 KiB block", attack,
        "digest mismatch: set aside as .corrupt, rows re-extracted",
    )  # fmt: skip
    set_aside = any((tmp / "cache").glob("corpus/*/features.parquet.corrupt"))
    outcome.handled = outcome.handled and set_aside and "damaged cache file" in done.stderr
    return outcome


def nan_rows(tmp: Path) -> Outcome:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def attack(_: Path, store: Path) -> None:
        main = store / "features.parquet"
        table = pq.read_table(main)
        values = table.column("features").combine_chunks().flatten().to_numpy().copy()
        width = values.size // table.num_rows
        values[: 2 * width] = np.nan  # two rows of NaN, as a foreign tool might write
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(values), width)
        table = table.set_column(1, "features", vectors).replace_schema_metadata(None)
        pq.write_table(table, main)

    outcome, _ = attack_cache(
        tmp, 6, "NaN rows in the cache", attack, "not counted as cached: re-extracted"
    )
    return outcome


def garbage_shard(tmp: Path) -> Outcome:
    def attack(_: Path, store: Path) -> None:
        (store / "shard-garbage.parquet").write_bytes(b"PAR1 not parquet at all")

    outcome, (first, second) = attack_cache(
        tmp, 4, "garbage shard", attack, "set aside on first read, not warned about again", 2
    )
    once = "damaged cache file" in first.stderr and "damaged" not in second.stderr
    outcome.handled = outcome.handled and once
    return outcome


def read_only(tmp: Path) -> Outcome:
    if not NAMESPACE:
        return Outcome("read-only cache", "-", None, detail="skipped: no unshare -rm")
    manifest = corpus(tmp / "c", 4)
    cache = tmp / "cache"
    run(extract_cmd(manifest, cache))
    mount = f"mount --bind {cache} {cache} && mount -o remount,bind,ro {cache}"
    cached = in_namespace(f"{mount} && {shell(extract_cmd(manifest, cache))}")
    sf.write(tmp / "c" / "new.wav", tone(444), RATE)
    add_rows(manifest, ["new.wav"])
    needs = in_namespace(f"{mount} && {shell(extract_cmd(manifest, cache))}")
    handled = (
        cached.returncode == 0
        and needs.returncode == 3
        and "read-only" in needs.stderr
        and "Traceback" not in cached.stderr + needs.stderr
    )
    run(extract_cmd(manifest, cache))  # writable again: the new file is extracted
    lost, stale = check(manifest, cache, tmp)
    return Outcome(
        "read-only cache (read; then a new file)",
        f"{cached.returncode}, {needs.returncode}",
        handled,
        lost,
        stale,
        "read without write access; extraction asks for a writable --cache-dir",
    )


def disk_full(tmp: Path) -> Outcome:
    if not NAMESPACE:
        return Outcome("disk full", "-", None, detail="skipped: no unshare -rm")
    manifest = corpus(tmp / "c", 60)
    cache, saved = tmp / "cache", tmp / "saved"
    cache.mkdir()
    full = in_namespace(
        f"mount -t tmpfs -o size=96k tmpfs {cache} && {shell(extract_cmd(manifest, cache))}; "
        f"code=$?; cp -a {cache} {saved}; exit $code"
    )
    kept_failures = (saved / "corpus" / "failures.csv").is_file()
    said = " ".join(full.stderr.split())
    kept = said[said.find("Kept:") :].split(";")[0] if "Kept:" in said else "no 'Kept:' line"
    resumed = run(extract_cmd(manifest, saved))
    lost, stale = check(manifest, saved, tmp)
    return Outcome(
        "disk full (96 KiB tmpfs), then resume",
        full.returncode,
        full.returncode == 3
        and "disk full" in full.stderr
        and "Traceback" not in full.stderr
        and kept_failures
        and resumed.returncode == 0,
        lost,
        stale,
        f"{kept}; failures.csv written: {kept_failures}; resumed",
    )


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE  # a zombie has ended
    except psutil.NoSuchProcess:
        return False


def _kill_when(command: list[str], ready: Callable[[], bool]):
    """Start ``command``, SIGKILL it once ``ready()``; return its workers still alive 10 s on."""
    process = subprocess.Popen(
        command, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        workers = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:  # it finished before the moment came
        workers = []
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    return process.returncode, [p for p in workers if _alive(p)]


def sigkill(tmp: Path) -> Outcome:
    manifest = corpus(tmp / "c", 64, seconds=1.0)
    cache = tmp / "cache"
    started = time.monotonic()
    shards = lambda: len(list(cache.glob("corpus/*/shard-*.parquet")))  # noqa: E731
    moments = {
        "at start": lambda: time.monotonic() - started > 2.0,
        "after a shard": lambda: shards() >= 1,
        "mid-write": lambda: any(cache.glob("corpus/*/.tmp-*shard-*")),
    }
    codes, orphans = [], []
    for ready in moments.values():
        started = time.monotonic()
        code, alive = _kill_when(extract_cmd(manifest, cache, jobs=2), ready)
        codes.append(code)
        orphans += alive
    done = run(extract_cmd(manifest, cache, jobs=2), timeout=300)
    lost, stale = check(manifest, cache, tmp)
    return Outcome(
        "SIGKILL x3 in a row (at start, after a shard, mid-write), resume",
        done.returncode,
        done.returncode == 0 and not orphans,
        lost,
        stale,
        f"exit codes {codes}; workers alive 10 s after a kill: {len(orphans)}",
    )


def concurrent(tmp: Path) -> Outcome:
    manifest = corpus(tmp / "c", 32)
    cache = tmp / "cache"
    commands = [extract_cmd(manifest, cache) for _ in range(3)]
    commands.append(
        paraser(
            "transfer-matrix",
            "--corpora",
            manifest,
            "--features",
            FEATURES,
            "--classes",
            "anger,sadness",
            "--folds",
            "2",
            "--out",
            tmp / "run",
            "--cache-dir",
            cache,
        )  # fmt: skip
    )
    processes = [
        subprocess.Popen(c, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for c in commands
    ]
    codes = [p.wait(timeout=300) for p in processes]
    for p in processes:
        p.stdout.close()
        p.stderr.close()
    leftovers = [p.name for p in store_dir(cache).iterdir() if p.name.startswith(".tmp-")]
    lost, stale = check(manifest, cache, tmp)
    return Outcome(
        "3 extracts beside a transfer-matrix",
        ", ".join(map(str, codes)),
        codes == [0, 0, 0, 0] and not leftovers,
        lost,
        stale,
        "one consistent cache, no temporary files left",
    )


def manifests(tmp: Path) -> Outcome:
    root = tmp / "c"
    manifest = corpus(root, 3)
    text = manifest.read_text()
    cases = {
        "extra field on the first row": text.replace(
            "u000.wav,angry,s0", "u000.wav,angry,Smith, J"
        ),
        "every row shifted": "file,label,speaker\n"
        + "".join(f"u00{k}.wav,sad,Smith, J{k}\n" for k in range(3)),
        "/etc/passwd": text + "/etc/passwd,sad,s0\n",
        "../ escape": text + "../outside.wav,sad,s0\n",
        "/dev/zero": text + "/dev/zero,sad,s0\n",
    }
    wrong = []
    codes = []
    for name, content in cases.items():
        path = root / "bad.csv"
        path.write_text(content)
        done = run(extract_cmd(path, tmp / "cache"))
        codes.append(done.returncode)
        if done.returncode != 2 or "line" not in done.stderr or "Traceback" in done.stderr:
            wrong.append(name)
    # Symlinked folder and file inside the root, an absolute path elsewhere: all accepted.
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    sf.write(elsewhere / "a.wav", tone(210), RATE)
    sf.write(elsewhere / "b.wav", tone(230), RATE)
    os.symlink(elsewhere, root / "linked")
    os.symlink(elsewhere / "b.wav", root / "b.wav")
    sf.write(elsewhere / "c.wav", tone(250), RATE)
    add_rows(manifest, ["linked/a.wav", "b.wav", str(elsewhere / "c.wav")])
    links = run(extract_cmd(manifest, tmp / "cache"))
    odd = root / "...csv"
    shutil.copy(manifest, odd)
    dots = run(extract_cmd(odd, tmp / "deep" / "cache"))
    if links.returncode != 0:
        wrong.append("symlinks")
    if dots.returncode != 2 or (tmp / FEATURES).exists():
        wrong.append("'...csv'")
    lost, stale = check(manifest, tmp / "cache", tmp)
    return Outcome(
        "manifests: bad rows, /etc/passwd, ../, /dev/zero, links, '...csv'",
        ", ".join(map(str, [*codes, links.returncode, dots.returncode])),
        not wrong,
        lost,
        stale,
        f"wrong: {wrong}" if wrong else "errors name the line; symlinks followed",
    )


CASES = [
    bad_audio,
    truncated_mp3,
    changed_audio,
    damaged_block,
    nan_rows,
    garbage_shard,
    read_only,
    disk_full,
    sigkill,
    concurrent,
    manifests,
]
NAMESPACE = False


def main() -> int:
    global NAMESPACE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Keep the scratch folders here.")
    parser.add_argument("--csv", type=Path, help="Also write the table as CSV.")
    parser.add_argument("--only", help="Run the cases whose function name contains this.")
    args = parser.parse_args()
    NAMESPACE = namespace_ok()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="paraser-drill-"))
    outcomes = []
    started = time.monotonic()
    for case in CASES:
        if args.only and args.only not in case.__name__:
            continue
        folder = scratch / case.__name__
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        t0 = time.monotonic()
        try:
            outcome = case(folder)
        except Exception as exc:  # noqa: BLE001 - a broken case is a row, not the end
            outcome = Outcome(case.__name__, "-", False, -1, -1, f"drill error: {exc!r}")
        outcome.detail += f" [{time.monotonic() - t0:.0f} s]"
        outcomes.append(outcome)
        print(f"  {outcome.case}: {'ok' if outcome.handled else outcome.handled}", flush=True)
    table = pd.DataFrame(
        [
            {
                "case": o.case,
                "exit code": o.exit,
                "handled": {True: "yes", False: "NO", None: "skipped"}[o.handled],
                "rows lost": o.lost,
                "stale vectors served": o.stale,
                "detail": o.detail,
            }
            for o in outcomes
        ]
    )
    print()
    print(table.to_markdown(index=False))
    print(f"\n{len(outcomes)} cases in {time.monotonic() - started:.0f} s")
    if args.csv:
        table.to_csv(args.csv, index=False)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    bad = [o for o in outcomes if o.lost or o.stale]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
