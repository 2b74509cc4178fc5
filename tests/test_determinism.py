"""The synthetic test corpora are the same bytes in every process, so any failure reproduces.

Python's `hash()` of a string changes with PYTHONHASHSEED; a seed taken from it would give a
different corpus on every run. Two builds in fresh interpreters with different hash seeds must
write identical audio and manifests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

TESTS = Path(__file__).resolve().parent

BUILD = """
import hashlib, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import write_tone_corpus
import test_robustness

root = Path(sys.argv[1])
write_tone_corpus(root / "tones", "tones", per_label=2)
test_robustness.write_tone_corpus(root / "robust", "robust", ("angry", "sad"), per_label=2)
digest = hashlib.sha256()
for path in sorted(p for p in root.rglob("*") if p.is_file()):
    digest.update(str(path.relative_to(root)).encode())
    digest.update(path.read_bytes())
print(digest.hexdigest())
"""


def _build_digest(root: Path, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
    script = BUILD.format(tests=str(TESTS))
    done = subprocess.run(
        [sys.executable, "-c", script, str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_two_processes_with_different_hash_seeds_build_identical_test_corpora(tmp_path):
    first = _build_digest(tmp_path / "first", "1")
    second = _build_digest(tmp_path / "second", "2")
    assert len(first) == 64
    assert first == second
