"""Golden outputs: a refactor must not change a single byte a user can read.

Runs, through the CLI, a small ``paraser demo`` and a transfer run with every factor
(normalisation, adaptation, augmentation, pooled and leave-one-corpus-out sources), a
``paraser shift`` into the same folder and ``paraser report``, all on synthetic corpora; then
compares every file written against ``tests/golden/``. Only what records a time, a version or
an absolute path is masked: the clock is frozen for the run, version/time keys of JSON files
are replaced by ``<masked>``, and the temporary folder becomes ``<ROOT>``.

Parquet files are compared through their CSV rendering, PNG figures through a hash of
their chunks without the text metadata (matplotlib writes its version there) and PDF figures
through a hash of their bytes.

After an intentional change to the outputs, regenerate the goldens and review the diff::

    PARASER_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/test_golden_outputs.py
    git diff tests/golden
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import struct
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from paraser.cli import app

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PARASER_UPDATE_GOLDEN") == "1"
REPO = Path(__file__).resolve().parents[1]

# JSON keys whose values record when or with what a run was made, never what it found.
MASKED_KEYS = {
    "created",
    "paraser",
    "python",
    "platform",
    "versions",
    "extractor_version",
    "audio_decoder",
    "audiomentations",
    "config_path",
}
PNG_TEXT_CHUNKS = {b"tEXt", b"iTXt", b"zTXt", b"tIME"}
EMBEDDED_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


def _mask_json(value):
    if isinstance(value, dict):
        return {k: "<masked>" if k in MASKED_KEYS else _mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    return value


def _png_digest(data: bytes) -> str:
    """SHA-256 of a PNG's chunks, leaving out the text chunks (software version, time)."""
    digest = hashlib.sha256(data[:8])
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if kind not in PNG_TEXT_CHUNKS:
            digest.update(data[position:end])
        position = end
    return digest.hexdigest()


def _canonical(path: Path, root: Path) -> tuple[str, str]:
    """(golden file name, comparable text) of one output file."""
    if path.suffix == ".png":
        return path.name + ".sha256", _png_digest(path.read_bytes()) + "\n"
    if path.suffix == ".pdf":  # written without a date or library version: bytes compare
        return path.name + ".sha256", hashlib.sha256(path.read_bytes()).hexdigest() + "\n"
    if path.suffix == ".parquet":
        buffer = io.StringIO()
        pd.read_parquet(path).to_csv(buffer, index=False, lineterminator="\n")
        text = buffer.getvalue()
        name = path.name + ".csv"
    else:
        text = path.read_text(encoding="utf-8")
        name = path.name
        if path.suffix == ".html":
            # Figures embedded in the page are compared like the PNG files.
            text = EMBEDDED_PNG.sub(
                lambda m: "data:image/png;sha256," + _png_digest(base64.b64decode(m.group(1))),
                text,
            )
        if path.suffix == ".json":
            text = json.dumps(_mask_json(json.loads(text)), indent=2, ensure_ascii=False) + "\n"
    return name, text.replace(str(root), "<ROOT>").replace(str(REPO), "<REPO>")


def _invoke(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("golden")
    cache = str(root / "cache")
    frozen = pytest.MonkeyPatch()
    # Extraction costs are timed; a frozen clock makes them (0 s) part of the golden.
    frozen.setattr(time, "perf_counter", lambda: 0.0)
    try:
        _invoke(
            [
                "demo",
                "--data", str(root / "data"),
                "--out", str(root / "demo"),
                "--features", "egemaps",
                "--classifiers", "svm",
                "--speakers", "3",
                "--per-class", "2",
                "--cache-dir", cache,
                "--jobs", "1",
            ]
        )  # fmt: skip
        manifests = sorted((root / "data").glob("*.csv"))
        corpora = ",".join(str(p) for p in manifests)
        transfer = str(root / "transfer")
        _invoke(
            [
                "transfer-matrix",
                "--corpora", corpora,
                "--features", "egemaps",
                "--classifiers", "svm",
                "--folds", "2",
                "--normalisation", "train,corpus",
                "--adapt", "none,coral",
                "--augment", "none,channel:tel",
                "--augment-copies", "1",
                "--pool", f"{manifests[0].stem}+{manifests[1].stem}",
                "--loco",
                "--out", transfer,
                "--cache-dir", cache,
                "--jobs", "1",
            ]
        )  # fmt: skip
        _invoke(
            [
                "shift",
                "--corpora", corpora,
                "--features", "egemaps",
                "--results", transfer,
                "--out", transfer,
                "--permutations", "20",
                "--n-boot", "100",
                "--cache-dir", cache,
                "--jobs", "1",
            ]
        )  # fmt: skip
        _invoke(["report", transfer, "--n-boot", "200"])
    finally:
        frozen.undo()
    return root


@pytest.mark.parametrize("run", ["demo", "transfer"])
def test_outputs_match_the_goldens(outputs: Path, run: str) -> None:
    produced: dict[str, str] = {}
    for path in sorted((outputs / run).rglob("*")):
        if path.is_file():
            name, text = _canonical(path, outputs)
            relative = path.parent.relative_to(outputs / run) / name
            produced[relative.as_posix()] = text
    golden_dir = GOLDEN / run
    if UPDATE:
        for old in golden_dir.rglob("*"):
            if old.is_file():
                old.unlink()
        for relative, text in produced.items():
            target = golden_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
    expected = {
        p.relative_to(golden_dir).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(golden_dir.rglob("*"))
        if p.is_file()
    }
    assert sorted(produced) == sorted(expected), "the set of output files changed"
    changed = [name for name in produced if produced[name] != expected[name]]
    assert not changed, f"outputs differ from tests/golden/{run}: {changed}"
