"""Reading audio: one consistent path from any file to 16 kHz mono float32.

Every extractor sees audio that went through :func:`read_audio`, so corpora
recorded at 8, 22.05, 44.1 or 48 kHz, mono or multichannel, are downmixed
(channel mean) and resampled (polyphase, :func:`scipy.signal.resample_poly`)
identically and deterministically.

What is refused (:class:`AudioError`, so extraction records the file as failed
instead of caching a misleading vector): missing, empty, undecodable or
truncated files (a WAV/AIFF whose header declares more audio than the file
holds), NaN/inf samples, clips shorter than :data:`MIN_DURATION_S`, and digital
silence (no sample reaches one 16-bit step), and near silence (less than
:data:`MIN_DURATION_S` of samples stand two 16-bit steps away from the median:
a DC offset alone, a single click).  openSMILE turns these into a finite but
mostly constant vector (zeros and floor values: 65-71 of 88 eGeMAPS features
zero), which would enter experiments as a real utterance; failing it makes the
problem visible.  FIFOs, devices and folders are refused before they are opened.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

TARGET_SAMPLE_RATE = 16_000

#: Shortest clip worth analysing: openSMILE's functionals need a few frames.
MIN_DURATION_S = 0.1

#: Peak below which a signal is digital silence: it rounds to all-zero 16-bit PCM.
SILENCE_PEAK = 1 / 32768

# libsndfile's header log notes a data chunk longer than the file as "data : N (should be M)".
_DECLARED_VS_ACTUAL = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)
# Streaming writers put placeholders in the size field; those are not truncation.
_SIZE_PLACEHOLDERS = (0, 0x7FFFFFFF, 0xFFFFFFFF)


class AudioError(ValueError):
    """An audio file that cannot be used; the message names the file and the problem."""


def file_digest(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes: the cache identity of its audio content."""
    digest = hashlib.sha256()
    # O_NONBLOCK: opening a FIFO never waits for a writer; fstat then refuses it (and a
    # device such as /dev/zero, which would never end).
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def read_audio(
    path: str | Path,
    sample_rate: int = TARGET_SAMPLE_RATE,
    min_duration_s: float = MIN_DURATION_S,
) -> np.ndarray:
    """Read ``path`` as mono float32 in [-1, 1] at ``sample_rate``.

    Raises :class:`AudioError` for missing, empty, undecodable, truncated, too
    short, silent or non-finite audio, naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        if path.exists():  # a FIFO or a device would block or never end
            raise AudioError(f"{path}: not a regular file")
        raise AudioError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        with sf.SoundFile(path) as handle:
            source_rate = handle.samplerate
            data = handle.read(dtype="float32", always_2d=True)
            header_log = handle.extra_info
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc)
        if "does not exist" in detail:
            # libsndfile's MP3 probe says so of any file it cannot parse; the file does exist.
            detail = "not a decodable audio file"
        raise AudioError(f"{path}: cannot decode audio: {detail}") from exc
    truncated = _truncation(header_log)
    if truncated:
        raise AudioError(f"{path}: truncated file: {truncated}")
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
    if np.max(np.abs(mono)) < SILENCE_PEAK:
        raise AudioError(
            f"{path}: digital silence (no sample reaches one 16-bit step); features would be "
            "constant"
        )
    _check_audible(mono, sample_rate, min_duration_s, path)
    return mono.astype(np.float32)


def _check_audible(mono: np.ndarray, sample_rate: int, min_duration_s: float, path: Path) -> None:
    """Refuse a signal with less than ``min_duration_s`` of samples off its median by 2 LSB."""
    audible = int(np.count_nonzero(np.abs(mono - np.median(mono)) > 1.5 * SILENCE_PEAK))
    if audible < min_duration_s * sample_rate:
        raise AudioError(
            f"{path}: near silence (only {audible} sample(s) rise two 16-bit steps above a "
            "DC offset or floor); features would be mostly zeros"
        )


def _truncation(header_log: str) -> str | None:
    """Why libsndfile's header log shows a truncated file, or ``None``."""
    for declared, actual in _DECLARED_VS_ACTUAL.findall(header_log):
        declared, actual = int(declared), int(actual)
        # 1 % slack: some writers miscount a pad byte or a trailing chunk by a few bytes.
        if actual < 0.99 * declared and declared not in _SIZE_PLACEHOLDERS:
            return f"header declares {declared} bytes of audio, the file holds {actual}"
    return None


def to_pcm16(signal: np.ndarray) -> np.ndarray:
    """Float [-1, 1] to int16, scaled as opensmile-python does but clipped, not wrapped."""
    return np.clip(signal * 32768.0, -32768, 32767).astype(np.int16)
