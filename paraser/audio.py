"""Reading audio: one consistent path from any file to 16 kHz mono float32.

Every extractor sees audio that went through :func:`read_audio`, which decodes,
downmixes and resamples exactly as opensmile-python's own file path does
(``Smile(..., sampling_rate=16000, resample=True, mixdown=True)`` through
audinterface): :func:`audiofile.read` (float32), :func:`audresample.remix`
(channel mean) and :func:`audresample.resample` (soxr, its default quality).
So a vector paraser caches is the vector a user of opensmile-python gets from
the same file, at any sample rate and channel count (see the README section
"What paraser reads").

Formats: WAV, FLAC, MP3 and OGG/Vorbis are decoded by libsndfile (through
audiofile).  Everything else (``.m4a``, ``.aac``, ``.wma``, ``.webm``,
``.opus``, ...) audiofile converts with ``ffmpeg`` (or ``sox``) and probes with
``mediainfo``; without those binaries such a file fails with a message naming
the missing program.  AIFF, AU and SPH, which libsndfile reads itself, are
then read by libsndfile directly.

What is refused (:class:`AudioError`, so extraction records the file as failed
instead of caching a misleading vector): missing, empty, undecodable or
truncated files (a WAV/AIFF whose header declares more audio than the file
holds, or a compressed file, e.g. an MP3 cut short, that decodes to fewer
frames than its header declares), segments outside the file, NaN/inf samples,
clips shorter than :data:`MIN_DURATION_S`, digital silence (no sample reaches
one 16-bit step), and near silence (less than :data:`MIN_DURATION_S` of
samples stand two 16-bit steps away from the median: a DC offset alone, a
single click).  openSMILE turns these into a finite but mostly constant vector
(zeros and floor values: 65-71 of 88 eGeMAPS features zero), which would enter
experiments as a real utterance; failing it makes the problem visible.  FIFOs,
devices and folders are refused before they are opened.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from pathlib import Path

import audiofile
import audresample
import numpy as np
import soundfile as sf

TARGET_SAMPLE_RATE = 16_000

#: Shortest clip worth analysing: openSMILE's functionals need a few frames.
MIN_DURATION_S = 0.1

#: Peak below which a signal is digital silence: it rounds to all-zero 16-bit PCM.
SILENCE_PEAK = 1 / 32768

#: Identity of the decoding path; part of every feature cache key, so vectors
#: decoded another way (paraser <= 0.1 used soundfile + scipy's resample_poly)
#: are never mixed with these.
DECODER_ID = f"audiofile{audiofile.__version__}-audresample{audresample.__version__}"

#: Formats libsndfile decodes that audiofile hands to ffmpeg/sox.
_LIBSNDFILE_FALLBACK = frozenset({".aif", ".aiff", ".aifc", ".au", ".snd", ".sph", ".nist"})

#: Compressed formats whose decoded length is checked against the header's frame count.
_PCM_CONTAINERS = frozenset({"WAV", "WAVEX", "RF64", "AIFF", "AU", "NIST", "W64", "CAF"})

#: A decoder may drop padding: tolerated shortfall of decoded against declared frames.
_FRAME_SLACK = 0.01

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
    *,
    start: float | None = None,
    end: float | None = None,
) -> np.ndarray:
    """Read ``path`` (or its segment ``start``..``end`` seconds) as mono float32 at ``sample_rate``.

    Raises :class:`AudioError` for missing, empty, undecodable, truncated, too
    short, silent or non-finite audio, or a segment outside the file, naming the
    file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        if path.exists():  # a FIFO or a device would block or never end
            raise AudioError(f"{path}: not a regular file")
        raise AudioError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    header = _header(path)
    offset, duration = _segment(path, start, end, header)
    data, source_rate = _decode(path, offset, duration)
    _check_complete(path, data.shape[1], source_rate, header, offset, duration)
    if data.shape[1] == 0:
        raise AudioError(f"{path}: no audio samples")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    mono = audresample.remix(data, mixdown=True) if data.shape[0] > 1 else data
    if source_rate != sample_rate:
        mono = audresample.resample(mono, source_rate, sample_rate)
    mono = np.ascontiguousarray(mono[0], dtype=np.float32)
    duration_s = mono.shape[0] / sample_rate
    if duration_s < min_duration_s:
        raise AudioError(
            f"{path}: too short ({duration_s:.3f} s < {min_duration_s} s) for functionals"
        )
    if np.max(np.abs(mono)) < SILENCE_PEAK:
        raise AudioError(
            f"{path}: digital silence (no sample reaches one 16-bit step); features would be "
            "constant"
        )
    _check_audible(mono, sample_rate, min_duration_s, path)
    return mono


def _header(path: Path) -> sf._SoundFileInfo | None:
    """libsndfile's view of the header (frames declared, format, log), or ``None``."""
    try:
        return sf.info(str(path))
    except Exception:  # noqa: BLE001 - not a libsndfile format; audiofile decides
        return None


def _segment(
    path: Path, start: float | None, end: float | None, header: sf._SoundFileInfo | None
) -> tuple[float | None, float | None]:
    """audiofile's (offset, duration) for a segment, checked against the file's length."""
    if start is None and end is None:
        return None, None
    offset = float(start or 0.0)
    if offset < 0 or (end is not None and end <= offset):
        raise AudioError(f"{path}: invalid segment start={start} end={end} (seconds)")
    if header is not None and header.frames > 0:
        length = header.frames / header.samplerate
        # Half a sample of slack: segment times are often rounded to milliseconds.
        if (end if end is not None else offset) > length + 0.5 / header.samplerate:
            raise AudioError(
                f"{path}: segment {offset:g}-{end if end is not None else '':} s lies beyond "
                f"the end of the file ({length:.3f} s)"
            )
    return (offset or None), (None if end is None else float(end) - offset)


def _decode(path: Path, offset: float | None, duration: float | None) -> tuple[np.ndarray, int]:
    """(channels, samples) float32 and the file's sample rate, as audiofile reads them."""
    try:
        return audiofile.read(str(path), offset=offset, duration=duration, always_2d=True)
    except FileNotFoundError as exc:
        if path.suffix.lower() not in _LIBSNDFILE_FALLBACK:
            detail = " ".join(str(exc).split())  # audiofile's message spans lines
            raise AudioError(
                f"{path}: cannot decode {path.suffix or 'this'} audio without an external "
                f"decoder ({detail}); install ffmpeg and mediainfo (e.g. apt-get install ffmpeg "
                "mediainfo) or convert the file to WAV/FLAC"
            ) from exc
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc)
        if "does not exist" in detail:
            # libsndfile's MP3 probe says so of any file it cannot parse; the file does exist.
            detail = "not a decodable audio file"
        raise AudioError(f"{path}: cannot decode audio: {detail}") from exc
    # A format libsndfile reads but audiofile sends to ffmpeg/sox, which are absent:
    # read it as audiofile reads its own libsndfile formats.
    try:
        with sf.SoundFile(path) as handle:
            rate = handle.samplerate
            first = round((offset or 0.0) * rate)
            handle.seek(first)
            frames = -1 if duration is None else round(duration * rate)
            data = handle.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{path}: cannot decode audio: {exc}") from exc
    return data.T, rate


def _check_complete(
    path: Path,
    decoded: int,
    rate: int,
    header: sf._SoundFileInfo | None,
    offset: float | None,
    duration: float | None,
) -> None:
    """Raise when the file holds less audio than its header (or the segment) promises."""
    if header is None:
        return
    truncated = _truncation(header.extra_info)
    if truncated:
        raise AudioError(f"{path}: truncated file: {truncated}")
    if header.format in _PCM_CONTAINERS or header.frames <= 0:
        return  # PCM frame counts are derived from the file size; the log check covers them
    first = round((offset or 0.0) * rate)
    wanted = header.frames - first if duration is None else round(duration * rate)
    if decoded < (1 - _FRAME_SLACK) * wanted:
        raise AudioError(
            f"{path}: truncated file: the header declares {header.frames} frames "
            f"({header.frames / rate:.3f} s) but only {first + decoded} decode "
            f"({(first + decoded) / rate:.3f} s)"
        )


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


# A W3C media-fragment time range on a path: "file.wav#t=1.5,3.25" (end may be empty).
_FRAGMENT = re.compile(r"^(?P<path>.+)#t=(?P<start>\d+(?:\.\d+)?),(?P<end>(?:\d+(?:\.\d+)?)?)$")


def _seconds(value: object) -> float | None:
    """A segment bound as float seconds; ``None`` for missing (None, NaN, empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = float(value)
    return None if np.isnan(number) else number


def _format_seconds(value: float) -> str:
    # Microsecond precision, no trailing zeros: one spelling per segment, stable across runs.
    return f"{value:.6f}".rstrip("0").rstrip(".")


def segment_item(path: str | Path, start: object = None, end: object = None) -> str:
    """``path`` itself, or ``path#t=start,end`` for a segment (seconds; ``end`` may be open).

    The item names what one manifest row analyses; feature cache keys add its
    fragment to the file's content hash, so each segment is cached on its own.
    """
    start, end = _seconds(start), _seconds(end)
    if not start and end is None:  # from 0 to the end: the whole file, one key
        return str(path)
    end_text = "" if end is None else _format_seconds(end)
    return f"{path}#t={_format_seconds(start or 0.0)},{end_text}"


def split_item(item: str) -> tuple[str, float | None, float | None]:
    """(path, start, end) of an item made by :func:`segment_item`."""
    found = _FRAGMENT.match(str(item))
    if found is None:
        return str(item), None, None
    end = found["end"]
    return found["path"], float(found["start"]), (float(end) if end else None)


def item_fragment(item: str) -> str:
    """The ``#t=...`` part of an item ('' for a whole file)."""
    path, _, _ = split_item(item)
    return str(item)[len(path) :]


def read_item(item: str, sample_rate: int = TARGET_SAMPLE_RATE) -> np.ndarray:
    """:func:`read_audio` of a whole file or of a ``path#t=start,end`` segment."""
    path, start, end = split_item(item)
    return read_audio(path, sample_rate, start=start, end=end)


def item_duration(item: str) -> float:
    """Seconds of audio an item covers (its segment, else the file's header duration)."""
    path, start, end = split_item(item)
    if end is not None:
        return end - (start or 0.0)
    return max(0.0, audio_duration(path) - (start or 0.0))


def audio_duration(path: str | Path) -> float:
    """Duration of ``path`` in seconds from its header (0.0 when it cannot be read)."""
    header = _header(Path(path))
    if header is not None:
        return float(header.duration)
    try:
        return float(audiofile.duration(str(path)))
    except Exception:  # noqa: BLE001 - read_audio reports unreadable files properly
        return 0.0


def to_pcm16(signal: np.ndarray) -> np.ndarray:
    """Float [-1, 1] to int16, scaled as opensmile-python does but clipped, not wrapped."""
    return np.clip(signal * 32768.0, -32768, 32767).astype(np.int16)
