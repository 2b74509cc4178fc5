"""The augmentation recipe language: parsing, canonical names, seeded application.

A *recipe* names one or more audiomentations transforms joined by ``+``; each
is ``name[:key=value]`` or ``name[:value]`` (the value then belongs to the
transform's main parameter).  Values are a number or a range drawn uniformly
per copy: ``lo..hi`` always works, ``lo-hi`` too when both ends are positive::

    noise:snr=5-20          additive Gaussian noise, SNR in dB      (AddGaussianSNR)
    gain:-6..6              gain in dB                               (Gain)
    tempo:0.9-1.1           time stretch rate; the length changes    (TimeStretch)
    pitch:-2..2             pitch shift in semitones                 (PitchShift)
    channel:tel             telephone band, band-pass 300-3400 Hz    (BandPassFilter)
    channel:lowpass[=4000]  low-pass at the cutoff in Hz             (LowPassFilter)
    reverb[:rt60=0.2..0.6]  simulated room, RT60 in s                (RoomSimulator, needs
                                                                      pyroomacoustics)
    noise:snr=10-20+channel:tel   both, in that order

Every transform always applies (p=1).  A recipe's canonical ``name`` spells
every parameter (``tempo:0.9-1.1`` is ``tempo:rate=0.9-1.1``), so equal recipes
have equal names and cache keys however they were written.

Copy ``k`` of an utterance is seeded from a SHA-256 of the seed scheme, the
audio's SHA-256, the recipe name and ``k`` (:func:`copy_seed`); audiomentations
draws from Python's :mod:`random` and numpy's global RNG, which :meth:`AugmentRecipe.apply`
seeds and restores afterwards, so a copy is bit-identical across runs and
processes and the caller's random state is untouched.

audiomentations (the ``augment`` extra) is imported only when a recipe is
parsed, never by ``import paraser``. Extraction and caching of the copies:
:mod:`paraser.features.augment`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import random
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from paraser.audio import TARGET_SAMPLE_RATE

#: Changes whenever the way copies are seeded changes; part of every cache key.
SEED_SCHEME = "sha256(scheme|audio_sha256|recipe|copy)->random+np.random/v1"

_INSTALL = "pip install 'paraser[augment]'"


class AugmentationError(ValueError):
    """A recipe that cannot be parsed or run (bad text, missing optional dependency)."""


@dataclass(frozen=True)
class _Kind:
    """One transform name: its parameters (key -> default range, allowed bounds, unit)."""

    params: dict[str, tuple[tuple[float, float] | None, tuple[float, float], str]]
    main: str | None  # the key a bare value belongs to; None: the key must be written


_KINDS: dict[str, _Kind] = {
    "noise": _Kind({"snr": ((5.0, 20.0), (-20.0, 80.0), "dB")}, "snr"),
    "gain": _Kind({"db": ((-6.0, 6.0), (-40.0, 40.0), "dB")}, "db"),
    "tempo": _Kind({"rate": ((0.9, 1.1), (0.1, 10.0), "x")}, "rate"),
    "pitch": _Kind({"semitones": ((-2.0, 2.0), (-24.0, 24.0), "semitones")}, "semitones"),
    # Channel modes are keys: the mode is required, its band or cutoff optional.
    "channel": _Kind(
        {
            "tel": ((300.0, 3400.0), (1.0, 7999.0), "Hz band edges"),
            "lowpass": ((4000.0, 4000.0), (50.0, 7999.0), "Hz cutoff"),
        },
        None,
    ),
    "reverb": _Kind({"rt60": ((0.2, 0.6), (0.05, 3.0), "s")}, "rt60"),
}

FORMS = (
    "noise:snr=LO-HI (dB), gain:LO..HI (dB), tempo:LO-HI (rate), pitch:LO..HI (semitones), "
    "channel:tel, channel:lowpass[=HZ], reverb[:rt60=LO-HI]; join transforms with '+'; "
    "a range is LO..HI (LO-HI when both are positive) or one number"
)

_UNSIGNED = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
# LO-HI only for unsigned numbers: "-2-2" would be hard to read; negatives take LO..HI.
_DASH_RANGE = re.compile(rf"^({_UNSIGNED})-({_UNSIGNED})$")


def _number_text(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _range_text(low: float, high: float) -> str:
    if low == high:
        return _number_text(low)
    separator = "-" if low >= 0 and high >= 0 else ".."
    return f"{_number_text(low)}{separator}{_number_text(high)}"


@dataclass(frozen=True)
class Transform:
    """One transform of a recipe: ``kind`` (noise, ...), parameter ``key`` and its range."""

    kind: str
    key: str
    low: float
    high: float

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.key}={_range_text(self.low, self.high)}"

    def build(self):
        """The audiomentations transform (p=1)."""
        am = _audiomentations()
        low, high = self.low, self.high
        if self.kind == "noise":
            return am.AddGaussianSNR(min_snr_db=low, max_snr_db=high, p=1.0)
        if self.kind == "gain":
            return am.Gain(min_gain_db=low, max_gain_db=high, p=1.0)
        if self.kind == "tempo":
            return am.TimeStretch(min_rate=low, max_rate=high, leave_length_unchanged=False, p=1.0)
        if self.kind == "pitch":
            return am.PitchShift(min_semitones=low, max_semitones=high, p=1.0)
        # Both channel filters: a steep, zero-phase edge (no group delay in the copies).
        edge = {"min_rolloff": 24, "max_rolloff": 24, "zero_phase": True, "p": 1.0}
        if self.kind == "channel" and self.key == "tel":
            # A fixed band: centre and width give exactly the edges low..high.
            centre = (low + high) / 2
            fraction = (high - low) / centre
            return am.BandPassFilter(
                min_center_freq=centre, max_center_freq=centre,
                min_bandwidth_fraction=fraction, max_bandwidth_fraction=fraction, **edge,
            )  # fmt: skip
        if self.kind == "channel":
            return am.LowPassFilter(min_cutoff_freq=low, max_cutoff_freq=high, **edge)
        if self.kind == "reverb":
            _pyroomacoustics()
            # Image-source model only: pyroomacoustics' ray tracing draws rays from an
            # RNG we cannot seed, which would break bit-identical copies.
            return am.RoomSimulator(
                min_target_rt60=low,
                max_target_rt60=high,
                calculation_mode="rt60",
                use_ray_tracing=False,
                max_order=10,
                leave_length_unchanged=True,
                p=1.0,
            )
        raise AugmentationError(f"unknown transform {self.kind!r}")  # parse_recipe prevents it


def _audiomentations():
    try:
        import audiomentations
    except ImportError:
        raise AugmentationError(
            f"augmentation needs audiomentations, which is not installed: {_INSTALL}"
        ) from None
    return audiomentations


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _pyroomacoustics():
    try:
        import pyroomacoustics
    except ImportError:
        raise AugmentationError(
            "the reverb transform needs pyroomacoustics, which is not installed: "
            f"pip install pyroomacoustics (or {_INSTALL})"
        ) from None
    return pyroomacoustics


@dataclass(frozen=True)
class AugmentRecipe:
    """A named, parameterised chain of transforms; see the module docstring."""

    name: str
    transforms: tuple[Transform, ...]

    @property
    def is_random(self) -> bool:
        """False when every parameter is fixed (``channel:tel``): all copies would be equal."""
        # Noise samples and simulated rooms are random whatever the parameters; the
        # telephone band's two numbers are its edges, not a range to draw from.
        return any(
            t.kind in ("noise", "reverb") or (t.key != "tel" and t.low != t.high)
            for t in self.transforms
        )

    @property
    def cache_key(self) -> str:
        """Short hash of the canonical recipe, the library versions and the seed scheme."""
        text = json.dumps(self._identity(), sort_keys=True)
        slug = re.sub(r"[^a-z0-9]+", "-", "-".join(t.kind for t in self.transforms))
        return f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"

    def _identity(self) -> dict:
        identity = {
            "recipe": self.name,
            "audiomentations": _audiomentations().__version__,
            "seed_scheme": SEED_SCHEME,
        }
        kinds = {t.kind for t in self.transforms}
        if kinds & {"tempo", "pitch"}:
            # The stretcher does the DSP of both; a new release may change the samples.
            identity["python-stretch"] = _version("python-stretch")
        if "reverb" in kinds:
            identity["pyroomacoustics"] = _pyroomacoustics().__version__
        return identity

    def provenance(self) -> dict:
        """What made the copies: recipe, transforms, library versions, seeding."""
        return {
            **self._identity(),
            "cache_key": self.cache_key,
            "transforms": [
                {"kind": t.kind, "key": t.key, "low": t.low, "high": t.high, "text": t.text}
                for t in self.transforms
            ],
            "probability": 1.0,
            "sample_rate": TARGET_SAMPLE_RATE,
        }

    def apply(self, signal: np.ndarray, sample_rate: int, seed: int) -> np.ndarray:
        """Augment one mono float32 signal; the same ``seed`` gives the same samples."""
        samples = np.ascontiguousarray(signal, dtype=np.float32)
        if samples.ndim != 1:
            raise AugmentationError(f"expected a mono signal, got shape {samples.shape}")
        transforms = _built(self)
        # audiomentations draws from the global RNGs: seed them for this copy only,
        # under a lock (threads of one Dask worker), and give the caller its state back.
        with _RNG_LOCK:
            python_state, numpy_state = random.getstate(), np.random.get_state()
            try:
                random.seed(seed)
                np.random.seed([seed & 0xFFFFFFFF, seed >> 32])
                for transform in transforms:
                    samples = transform(samples, sample_rate)
            finally:
                random.setstate(python_state)
                np.random.set_state(numpy_state)
        return np.ascontiguousarray(samples, dtype=np.float32)


_RNG_LOCK = threading.Lock()


@lru_cache(maxsize=32)
def _built(recipe: AugmentRecipe) -> tuple:
    return tuple(t.build() for t in recipe.transforms)


def _parse_range(text: str, where: str) -> tuple[float, float]:
    try:
        if ".." in text:
            low_text, high_text = text.split("..", 1)
            low, high = float(low_text), float(high_text)
        else:
            match = _DASH_RANGE.match(text)
            if match:
                low, high = float(match[1]), float(match[2])
            else:
                low = high = float(text)
    except ValueError:
        raise AugmentationError(
            f"{where}: {text!r} is not a number or range (LO..HI, or LO-HI when both are positive)"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high)):
        raise AugmentationError(f"{where}: {text!r} is not finite")
    if low > high:
        raise AugmentationError(f"{where}: range {text!r} goes from high to low")
    return low, high


def _parse_transform(text: str, recipe_text: str) -> Transform:
    where = f"augmentation recipe {recipe_text!r}"
    kind, _, rest = text.strip().partition(":")
    kind = kind.strip().lower()
    spec = _KINDS.get(kind)
    if spec is None:
        raise AugmentationError(f"{where}: unknown transform {kind!r}; valid forms: {FORMS}")
    if not rest.strip():
        if spec.main is None:
            keys = ", ".join(f"{kind}:{k}" for k in spec.params)
            raise AugmentationError(f"{where}: {kind} needs a mode ({keys}); valid forms: {FORMS}")
        key, value = spec.main, None
    elif "=" in rest:
        key, _, value = rest.partition("=")
        key, value = key.strip().lower(), value.strip()
    elif rest.strip().lower() in spec.params:
        key, value = rest.strip().lower(), None
    elif spec.main is not None:
        key, value = spec.main, rest.strip()
    else:
        keys = ", ".join(f"{kind}:{k}" for k in spec.params)
        raise AugmentationError(f"{where}: {kind} mode {rest!r} unknown ({keys})")
    if key not in spec.params:
        keys = ", ".join(spec.params)
        raise AugmentationError(
            f"{where}: {kind} has no parameter {key!r} (it takes {keys}); valid forms: {FORMS}"
        )
    default, (lowest, highest), unit = spec.params[key]
    low, high = _parse_range(value, f"{where}, {kind}:{key}") if value else default
    if low < lowest or high > highest:
        raise AugmentationError(
            f"{where}: {kind}:{key}={value} is outside {_range_text(lowest, highest)} {unit}"
        )
    if kind == "channel" and key == "tel" and low == high:
        raise AugmentationError(f"{where}: channel:tel takes a band LO-HI in Hz, not {value}")
    return Transform(kind, key, low, high)


def parse_recipe(text: str) -> AugmentRecipe:
    """Parse ``text`` (e.g. ``noise:snr=5-20+channel:tel``) into a recipe.

    Raises :class:`AugmentationError` for unknown transforms, bad parameters and
    missing optional dependencies (audiomentations; pyroomacoustics for reverb).
    """
    parts = str(text).split("+")
    if any(not part.strip() for part in parts):
        raise AugmentationError(
            f"augmentation recipe {text!r} has an empty transform; valid forms: {FORMS}"
        )
    transforms = tuple(_parse_transform(part, str(text)) for part in parts)
    _audiomentations()
    if any(t.kind == "reverb" for t in transforms):
        _pyroomacoustics()
    return AugmentRecipe("+".join(t.text for t in transforms), transforms)


def copy_seed(audio_sha256: str, recipe: AugmentRecipe, copy: int) -> int:
    """The 64-bit seed of copy ``copy`` of the audio ``audio_sha256`` under ``recipe``."""
    text = f"{SEED_SCHEME}|{audio_sha256}|{recipe.name}|{int(copy)}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
