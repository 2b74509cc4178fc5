"""Synthetic emotional-speech corpora for the demo and the tests.

Real corpora cannot ship with paraser, so the demo makes its own: a few small
"corpora" of voiced, speech-like clips, bit-identical for a given seed, built
with numpy and scipy only and written as 16-bit PCM WAV.

Signal model (source-filter, the classic account of voice production), chosen
so that openSMILE's descriptors (F0, loudness, spectral balance, rhythm) see
the same cues that separate emotions in real speech:

* **Source**: Rosenberg glottal pulses following an F0 contour made of
  declination, one accent per syllable, slow drift, jitter (per-period F0
  noise) and shimmer (per-period amplitude noise).  The open quotient sets
  voice quality: short, "pressed" pulses (anger) carry more high-frequency
  energy than long ones; breathy voice (sadness) adds aspiration noise and a
  steeper spectral tilt.  The pulse derivative stands in for lip radiation.
* **Filter**: a cascade of four second-order formant resonators
  (``scipy.signal.lfilter``), moving between vowel targets from syllable to
  syllable and scaled by the speaker's vocal-tract length (shorter for women).
* **Prosody**: syllables with smooth amplitude envelopes grouped into words
  with pauses of low noise between them.  Emotions differ in F0 level and
  range, tempo, loudness and voice quality; every utterance also gets its own
  intensity (how strongly the emotion shows) and random jitter of all those
  parameters, so that classes overlap as in acted corpora and within-corpus
  recognition is good but not perfect.
* **Corpus effects**: each corpus has its own speakers, "language" code,
  recording channel (sample rate, Butterworth band limits, noise floor, gain,
  channel count), speaking rhythm (syllable rate, pause length) and its own
  "culture" of expressing emotion (a per-corpus rewrite of the emotion ->
  prosody mapping: one corpus shows anger cold and low, one barely separates
  happiness from anger, ...).  Channel differences can be normalised away;
  culture differences cannot, which is why a classifier trained on one corpus
  loses substantially on another, as with real corpora.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from scipy.signal import butter, lfilter, sosfilt

__all__ = ["EMOTIONS", "SyntheticSpec", "generate_corpora"]

EMOTIONS = ("angry", "happy", "neutral", "sad")


@dataclass(frozen=True)
class SyntheticSpec:
    """Size and seed of a synthetic corpus set (the defaults make 288 clips)."""

    n_corpora: int = 3
    speakers_per_corpus: int = 4
    utterances_per_speaker_and_class: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_corpora", "speakers_per_corpus", "utterances_per_speaker_and_class"):
            if getattr(self, name) < 1:
                raise ValueError(f"SyntheticSpec.{name} must be at least 1")


@dataclass(frozen=True)
class _Expression:
    """How one emotion is voiced, relative to the speaker's neutral voice."""

    f0_st: float  # F0 shift, semitones
    range_st: float  # size of the syllable accents, semitones
    tempo: float  # syllable-rate factor
    level_db: float  # loudness change
    open_quotient: float  # glottal pulse open phase; small = pressed, bright voice
    aspiration: float  # breath noise relative to the pulses
    tilt: float  # one-pole low-pass on the source; large = soft, dull voice
    jitter: float  # per-period F0 noise, relative

    def toward_neutral(self, neutral: _Expression, intensity: float) -> _Expression:
        """Blend with neutral: ``intensity`` 1 is full-blown, 0 is neutral."""
        values = {
            name: getattr(neutral, name) + intensity * (value - getattr(neutral, name))
            for name, value in vars(self).items()
        }
        return _Expression(**values)


# Textbook profiles (Scherer, Banse & Scherer): anger high, loud, fast and
# pressed; happiness high with the widest range; sadness low, narrow, quiet,
# slow and breathy.
_TEXTBOOK = {
    "angry": _Expression(4.0, 6.0, 1.18, 7.0, 0.38, 0.01, 0.15, 0.012),
    "happy": _Expression(5.0, 9.0, 1.12, 3.5, 0.55, 0.02, 0.35, 0.008),
    "neutral": _Expression(0.0, 3.0, 1.00, 0.0, 0.62, 0.03, 0.45, 0.006),
    "sad": _Expression(-2.5, 1.5, 0.78, -6.0, 0.80, 0.12, 0.75, 0.010),
}


def _culture(**changes: dict[str, float]) -> dict[str, _Expression]:
    return {e: replace(_TEXTBOOK[e], **changes.get(e, {})) for e in EMOTIONS}


# Each corpus' own way of expressing emotion.  Real corpora differ like this
# (acted vs. elicited, languages, directors), and it is what a classifier
# cannot carry from one corpus to another.
_CULTURES = (
    # synth_a: textbook acting.
    _culture(),
    # synth_b: brisk speakers with a fast norm: a quick, fairly loud neutral,
    # clipped anger (louder and more pressed than neutral but hardly higher
    # or wider), warm, unhurried, soft happiness that shows only in pitch,
    # and tearful sadness, as high as neutral, told by breath and slowness.
    _culture(
        angry={
            "f0_st": 2.5,
            "range_st": 4.0,
            "tempo": 1.15,
            "level_db": 6.0,
            "open_quotient": 0.34,
            "tilt": 0.1,
        },
        happy={
            "f0_st": 5.0,
            "range_st": 10.0,
            "tempo": 0.95,
            "level_db": -1.0,
            "open_quotient": 0.62,
            "tilt": 0.45,
        },
        neutral={
            "f0_st": 1.0,
            "range_st": 4.0,
            "tempo": 1.15,
            "level_db": 2.0,
            "open_quotient": 0.5,
            "tilt": 0.3,
        },
        sad={
            "f0_st": 1.0,
            "range_st": 2.0,
            "tempo": 0.85,
            "level_db": -4.0,
            "open_quotient": 0.8,
            "aspiration": 0.08,
            "tilt": 0.55,
        },
    ),
    # synth_c: soft-spoken display rules: a subdued neutral close to another
    # corpus' sadness, cold anger (narrow, unhurried, only moderately loud but
    # pressed) and loud, pressed, exuberant happiness.
    _culture(
        angry={"f0_st": 0.0, "range_st": 2.5, "tempo": 0.95, "level_db": 2.0},
        happy={
            "f0_st": 5.0,
            "range_st": 9.0,
            "tempo": 1.2,
            "level_db": 6.0,
            "open_quotient": 0.42,
            "tilt": 0.15,
        },
        neutral={
            "f0_st": -1.0,
            "range_st": 1.5,
            "tempo": 0.85,
            "level_db": -3.0,
            "open_quotient": 0.72,
            "aspiration": 0.07,
            "tilt": 0.6,
        },
        sad={
            "f0_st": -3.5,
            "range_st": 1.0,
            "tempo": 0.68,
            "level_db": -7.0,
            "open_quotient": 0.85,
            "aspiration": 0.14,
            "tilt": 0.8,
        },
    ),
)


@dataclass(frozen=True)
class _Channel:
    """Recording set-up and speaking-rhythm norm of one corpus."""

    sample_rate: int
    band: tuple[float, float]  # Butterworth band-pass edges, Hz
    noise_db: float  # white noise floor, dBFS
    gain_db: float
    channels: int
    syllable_rate: float  # neutral syllables per second
    pause_s: float  # mean pause between words
    language: str
    word_pause_p: float = 0.35  # chance that a syllable ends a word


# Distinct recording set-ups; corpora beyond these reuse them with new speakers
# and a random culture.
_CHANNELS = (
    _Channel(16_000, (70.0, 7000.0), -60.0, 0.0, 1, 4.5, 0.18, "xa"),
    _Channel(8_000, (300.0, 3400.0), -58.0, 0.0, 1, 5.6, 0.09, "xb"),  # telephone
    _Channel(22_050, (120.0, 9000.0), -52.0, 3.0, 2, 3.8, 0.28, "xc"),  # stereo
    _Channel(44_100, (50.0, 15000.0), -65.0, -2.0, 1, 4.8, 0.15, "xd"),
)

# (F1, F2, F3, F4) of five vowels, Hz, for an adult male vocal tract.
_VOWELS = np.array(
    [
        [730, 1090, 2440, 3400],  # a
        [270, 2290, 3010, 3700],  # i
        [530, 1840, 2480, 3500],  # e
        [570, 840, 2410, 3300],  # o
        [300, 870, 2240, 3300],  # u
    ],
    dtype=float,
)
_BANDWIDTHS = np.array([80.0, 100.0, 140.0, 200.0])
_NEUTRAL_RMS_DB = -28.0  # level of neutral speech before the channel gain, dBFS


@dataclass(frozen=True)
class _Speaker:
    name: str
    gender: str
    f0: float  # neutral baseline, Hz
    tract_scale: float  # formant scaling: shorter vocal tract, higher formants
    expressiveness: float  # how far this speaker departs from neutral
    open_quotient: float  # habitual voice quality offset
    tempo: float


def _corpus_name(index: int) -> str:
    return f"synth_{chr(ord('a') + index)}" if index < 26 else f"synth_{index:02d}"


def _random_culture(rng: np.random.Generator) -> dict[str, _Expression]:
    """A culture for corpora past the designed ones: the textbook, perturbed."""
    neutral = _TEXTBOOK["neutral"]
    culture = {}
    for emotion, expression in _TEXTBOOK.items():
        values = {
            name: getattr(neutral, name) + rng.uniform(0.3, 1.6) * (value - getattr(neutral, name))
            for name, value in vars(expression).items()
        }
        culture[emotion] = _Expression(**values)
    return culture


def _make_speaker(rng: np.random.Generator, corpus: str, index: int) -> _Speaker:
    gender = "female" if index % 2 else "male"
    female = gender == "female"
    return _Speaker(
        name=f"{corpus[6:]}{index + 1:02d}",
        gender=gender,
        f0=(205.0 if female else 112.0) * 2 ** (rng.normal(0.0, 1.5) / 12),
        tract_scale=(1.17 if female else 1.0) * rng.uniform(0.95, 1.05),
        expressiveness=rng.uniform(0.8, 1.2),
        open_quotient=rng.normal(0.0, 0.04),
        tempo=rng.uniform(0.92, 1.08),
    )


def _glottal_source(
    f0: np.ndarray, sample_rate: int, open_quotient: float, rng: np.random.Generator, shimmer: float
) -> np.ndarray:
    """Differentiated Rosenberg pulses along ``f0`` with per-period shimmer."""
    cycles = np.cumsum(f0 / sample_rate)
    phase = cycles % 1.0
    opening, closing = 0.6 * open_quotient, 0.4 * open_quotient
    rising = 0.5 * (1.0 - np.cos(np.pi * phase / opening))
    falling = np.cos(0.5 * np.pi * np.clip(phase - opening, 0.0, None) / closing)
    pulse = np.where(phase < opening, rising, np.where(phase < opening + closing, falling, 0.0))
    period = cycles.astype(int)
    pulse *= 1.0 + shimmer * rng.standard_normal(period[-1] + 1)[period]
    # Differentiating is the lip-radiation +6 dB/octave; scale so that level
    # does not depend on F0.
    return np.diff(pulse, prepend=0.0) * sample_rate / f0


def _resonate(signal: np.ndarray, formants: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cascade of second-order resonators with unit gain at DC."""
    for frequency, bandwidth in zip(formants, _BANDWIDTHS):
        if frequency >= 0.45 * sample_rate:
            break
        radius = np.exp(-np.pi * bandwidth / sample_rate)
        a = [1.0, -2.0 * radius * np.cos(2 * np.pi * frequency / sample_rate), radius**2]
        signal = lfilter([sum(a)], a, signal)
    return signal


def _utterance(
    rng: np.random.Generator,
    expression: _Expression,
    neutral: _Expression,
    speaker: _Speaker,
    channel: _Channel,
) -> np.ndarray:
    """One clip of voiced pseudo-speech at the corpus' sample rate, before the channel."""
    sr = channel.sample_rate
    # Every take differs: how strongly the emotion shows, and a little of everything.
    intensity = speaker.expressiveness * rng.uniform(0.7, 1.15)
    e = expression.toward_neutral(neutral, intensity)
    base_f0 = speaker.f0 * 2 ** ((e.f0_st + rng.normal(0.0, 1.0)) / 12)
    f0_range = max(0.3, e.range_st * rng.lognormal(0.0, 0.25))
    tempo = e.tempo * speaker.tempo * rng.lognormal(0.0, 0.07)
    level_db = e.level_db + rng.normal(0.0, 1.5)
    open_quotient = float(
        np.clip(e.open_quotient + speaker.open_quotient + rng.normal(0.0, 0.04), 0.25, 0.95)
    )
    aspiration = max(0.0, e.aspiration * rng.lognormal(0.0, 0.3))
    tilt = float(np.clip(e.tilt + rng.normal(0.0, 0.06), 0.0, 0.95))
    jitter = max(0.0, e.jitter * rng.lognormal(0.0, 0.2))

    syllable_s = 1.0 / (channel.syllable_rate * tempo)
    target_s = rng.uniform(0.8, 1.9)  # speech; the edges add ~0.2 s
    pieces: list[np.ndarray] = [np.zeros(int(rng.uniform(0.08, 0.15) * sr))]
    voiced_parts: list[np.ndarray] = []
    elapsed, index = 0.0, 0
    n_expected = max(2, int(target_s / syllable_s))
    while elapsed < target_s:
        duration = syllable_s * rng.uniform(0.7, 1.35)
        n = int(duration * sr)
        t = np.linspace(0.0, 1.0, n)
        # Declination over the phrase, a rise-fall (or a dip) per syllable and
        # slow random drift, all in semitones.
        declination = -0.5 * f0_range * min(index / n_expected, 1.2)
        accent = f0_range * rng.uniform(0.3, 1.0) * rng.choice([1.0, -0.4]) * np.sin(np.pi * t)
        drift = np.cumsum(rng.normal(0.0, 1.0, n)) / np.sqrt(n) * 0.5
        f0 = base_f0 * 2 ** ((declination + accent + drift) / 12)
        # Jitter changes once per glottal period, not per sample.
        period = max(1, int(sr / base_f0))
        f0 *= 1.0 + jitter * np.repeat(rng.standard_normal(n // period + 1), period)[:n]
        f0 = np.clip(f0, 50.0, 0.2 * sr)
        source = _glottal_source(f0, sr, open_quotient, rng, shimmer=4 * jitter)
        source = lfilter([1.0 - tilt], [1.0, -tilt], source)
        source += aspiration * np.sqrt(np.mean(source**2)) * 3 * rng.standard_normal(n)
        vowel = _VOWELS[rng.integers(len(_VOWELS))] * speaker.tract_scale
        voiced = _resonate(source, vowel * rng.normal(1.0, 0.04, 4), sr)
        envelope = np.sin(np.pi * t) ** rng.uniform(0.4, 0.9) * rng.lognormal(0.0, 0.15)
        voiced *= envelope
        pieces.append(voiced)
        voiced_parts.append(voiced)
        elapsed += duration
        index += 1
        if rng.random() < channel.word_pause_p and elapsed < target_s:
            pause = channel.pause_s * rng.uniform(0.5, 1.7) / tempo
            pieces.append(np.zeros(int(pause * sr)))
            elapsed += pause
    pieces.append(np.zeros(int(rng.uniform(0.08, 0.15) * sr)))
    signal = np.concatenate(pieces)
    # Set the level from the RMS of the speech itself: peak normalisation would
    # make the level depend on the pulse shape (crest factor) instead.
    rms = np.sqrt(np.mean(np.concatenate(voiced_parts) ** 2)) + 1e-12
    return signal * 10 ** ((_NEUTRAL_RMS_DB + level_db) / 20) / rms


def _apply_channel(signal: np.ndarray, channel: _Channel, rng: np.random.Generator) -> np.ndarray:
    """Band limits, gain and noise floor of the recording set-up; (samples, channels)."""
    high = min(channel.band[1], 0.45 * channel.sample_rate)
    sos = butter(4, [channel.band[0], high], btype="bandpass", fs=channel.sample_rate, output="sos")
    signal = sosfilt(sos, signal) * 10 ** (channel.gain_db / 20)
    noise = 10 ** (channel.noise_db / 20)
    # The second channel of a stereo corpus is a slightly quieter microphone
    # with its own noise, so a downmix is not just a copy.
    gains = (1.0, 0.8)[: channel.channels]
    out = np.stack([g * signal + noise * rng.standard_normal(signal.size) for g in gains], axis=1)
    return np.clip(out, -0.99, 0.99)


def generate_corpora(out_dir: str | Path, spec: SyntheticSpec = SyntheticSpec()) -> dict[str, Path]:
    """Write the corpora under ``out_dir``; return ``{corpus name: manifest CSV}``.

    Layout: ``out_dir/<corpus>/<speaker>/<corpus>_<speaker>_<label>_<nnn>.wav``
    (16-bit PCM at the corpus' sample rate) and one manifest per corpus,
    ``out_dir/<corpus>.csv``, with columns ``file,label,speaker,language,gender``
    and ``file`` relative to the CSV's folder.  The same spec always gives the
    same bytes; every clip is seeded from (seed, corpus, speaker, label, take).
    """
    out_dir = Path(out_dir)
    manifests: dict[str, Path] = {}
    for corpus_index in range(spec.n_corpora):
        name = _corpus_name(corpus_index)
        channel = _CHANNELS[corpus_index % len(_CHANNELS)]
        if corpus_index < len(_CULTURES):
            culture = _CULTURES[corpus_index]
        else:
            culture = _random_culture(np.random.default_rng([spec.seed, corpus_index, 0]))
        language = channel.language if corpus_index < len(_CHANNELS) else f"x{corpus_index}"
        rows = []
        for speaker_index in range(spec.speakers_per_corpus):
            speaker = _make_speaker(
                np.random.default_rng([spec.seed, corpus_index, 1, speaker_index]),
                name,
                speaker_index,
            )
            for label_index, label in enumerate(EMOTIONS):
                for take in range(spec.utterances_per_speaker_and_class):
                    rng = np.random.default_rng(
                        [spec.seed, corpus_index, 2, speaker_index, label_index, take]
                    )
                    signal = _utterance(rng, culture[label], culture["neutral"], speaker, channel)
                    signal = _apply_channel(signal, channel, rng)
                    file = f"{name}/{speaker.name}/{name}_{speaker.name}_{label}_{take:03d}.wav"
                    path = out_dir / file
                    path.parent.mkdir(parents=True, exist_ok=True)
                    sf.write(path, signal, channel.sample_rate, subtype="PCM_16")
                    rows.append(
                        {
                            "file": file,
                            "label": label,
                            "speaker": speaker.name,
                            "language": language,
                            "gender": speaker.gender,
                        }
                    )
        manifest = out_dir / f"{name}.csv"
        pd.DataFrame(rows, columns=["file", "label", "speaker", "language", "gender"]).to_csv(
            manifest, index=False
        )
        manifests[name] = manifest
    return manifests
