"""Reading audio: one consistent path from any file to 16 kHz mono float32.

Every extractor sees audio that went through :func:`read_audio`, so corpora
recorded at 8, 22.05, 44.1 or 48 kHz, mono or multichannel, are downmixed
(channel mean) and resampled (polyphase, :func:`scipy.signal.resample_poly`)
identically and deterministically.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

TARGET_SAMPLE_RATE = 16_000

#: Extensions tried as audio by recipes and loaders (case-insensitive).
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".opus"}
)

#: Shortest clip worth analysing: openSMILE's functionals need a few frames.
MIN_DURATION_S = 0.1


class AudioError(ValueError):
    """An audio file that cannot be used; the message names the file and the problem."""


def file_digest(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes: the cache identity of its audio content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def read_audio(
    path: str | Path,
    sample_rate: int = TARGET_SAMPLE_RATE,
    min_duration_s: float = MIN_DURATION_S,
) -> np.ndarray:
    """Read ``path`` as mono float32 in [-1, 1] at ``sample_rate``.

    Raises :class:`AudioError` for missing, empty, undecodable, too short or
    non-finite audio, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        data, source_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{path}: cannot decode audio: {exc}") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{path}: no audio samples")
    mono = data.mean(axis=1, dtype=np.float64)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    if source_rate != sample_rate:
        ratio = Fraction(sample_rate, int(source_rate))
        mono = resample_poly(mono, ratio.numerator, ratio.denominator)
    duration = mono.shape[0] / sample_rate
    if duration < min_duration_s:
        raise AudioError(
            f"{path}: too short ({duration:.3f} s < {min_duration_s} s) for functionals"
        )
    return mono.astype(np.float32)


def to_pcm16(signal: np.ndarray) -> np.ndarray:
    """Float [-1, 1] to int16, scaled as opensmile-python does but clipped, not wrapped."""
    return np.clip(signal * 32768.0, -32768, 32767).astype(np.int16)
