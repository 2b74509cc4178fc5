"""Shared fixtures: small audio the tests make themselves (no corpora needed)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def shared_corpora_dir() -> Path:
    return Path(os.environ.get("PARASER_DATA", REPO.parent / "shared" / "corpora"))


def stable_seed(*parts: object) -> int:
    """A seed from the parts' text: unlike `hash()`, the same in every process."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode())


def voiced_tone(
    f0: float, seconds: float = 1.0, sample_rate: int = 16_000, level: float = 0.3, seed: int = 0
) -> np.ndarray:
    """A harmonic tone with vibrato and a little noise: enough for openSMILE's F0."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / sample_rate
    signal = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t) ** 2
    signal = level * signal * envelope / 2 + 0.005 * rng.standard_normal(t.size)
    return signal.astype(np.float32)


ToneCorpus = Callable[..., Path]


def write_tone_corpus(
    root: Path,
    name: str = "tones",
    labels: tuple[str, ...] = ("angry", "happy", "neutral", "sad"),
    per_label: int = 3,
    speakers: tuple[str, ...] = ("s1", "s2"),
    sample_rate: int = 16_000,
) -> Path:
    """A small corpus of tones (label -> pitch) under `root` and its manifest CSV."""
    rows = []
    pitch = {label: 110 + 40 * i for i, label in enumerate(labels)}
    for s_index, speaker in enumerate(speakers):
        for label in labels:
            for k in range(per_label):
                file = f"{speaker}/{label}_{k}.wav"
                path = root / file
                path.parent.mkdir(parents=True, exist_ok=True)
                seed = stable_seed(name, speaker, label, k)
                f0 = pitch[label] * (1 + 0.05 * s_index) * (1 + 0.02 * k)
                sf.write(path, voiced_tone(f0, 0.8, sample_rate, seed=seed), sample_rate)
                rows.append({"file": file, "label": label, "speaker": speaker})
    manifest = root / f"{name}.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


@pytest.fixture
def tone_corpus(tmp_path: Path) -> ToneCorpus:
    """Factory: write a small corpus of tones (label -> pitch) and its manifest CSV."""

    def make(name: str = "tones", *, root: Path | None = None, **options) -> Path:
        return write_tone_corpus(root or tmp_path / name, name, **options)

    return make


def bench_module(stem: str):
    """``bench/<stem>.py`` as a module (bench/ is scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(stem, REPO / "bench" / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
