"""openSMILE functionals: named feature sets, custom configs, and a reusable engine.

opensmile-python's ``Smile.process_*`` builds and frees a whole openSMILE
instance per call (20-40 ms fixed cost, a large share on 1-2 s clips).
:class:`SmileEngine` initialises one instance per feature set and uses
``OpenSMILE.reset()`` between files, feeding it exactly the int16 stream
``Smile`` would, so the functionals are the same; it reads them through a sink
that skips openSMILE's per-reset name lookups (see ``configs/single_field_sink.conf.inc``).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from paraser.audio import DECODER_ID, TARGET_SAMPLE_RATE, to_pcm16
from paraser.features.registry import FeatureSetError, FeatureSetFamily, register_feature_sets

#: Built-in feature sets: short name -> (opensmile FeatureSet, expected dimensionality).
#: Built-in sets: name -> (opensmile-python's config, relative to its config folder; dim).
#: The values of ``opensmile.FeatureSet``, written out so that resolving a name (all a
#: cached run needs) does not import opensmile-python and its audformat stack.
BUILTIN_SETS: dict[str, tuple[str, int]] = {
    "egemaps": ("egemaps/v02/eGeMAPSv02", 88),
    "is09": ("is09-13/IS09_emotion", 384),
    "is10": ("is09-13/IS10_paraling_compat", 1582),
    "compare": ("compare/ComParE_2016", 6373),
}

#: Feature sets shipped as custom configs inside paraser (``paraser/configs``).
PACKAGED_CONFIGS: dict[str, str] = {
    # F0 (semitones, voiced frames), voicing probability, loudness, energy: 212 functionals.
    "prosody": "prosody.conf",
}
#: Their dimensionality, for listings only (not an extraction check: it would change the
#: sets' provenance and with it every cached key).
PACKAGED_DIMENSIONS: dict[str, int] = {"prosody": 212}


@functools.cache
def opensmile_version() -> str:
    """The installed opensmile-python version, looked up once per process.

    ``importlib.metadata`` parses the package's metadata on every call (~0.4 ms), and
    every cache key and engine lookup needs it: per file and feature set, 2-3 % of an
    extraction's CPU.
    """
    return importlib.metadata.version("opensmile")


_INCLUDE = re.compile(r"^\s*\\\{([^}]+)\}", re.MULTILINE)


def smile_config_root() -> Path:
    """opensmile-python's folder of configs, found without importing the package."""
    spec = importlib.util.find_spec("opensmile")
    if spec is None or spec.origin is None:
        raise FeatureSetError("opensmile-python is not installed: pip install opensmile")
    return Path(spec.origin).parent / "core" / "config"


def _config_files(config_path: Path) -> list[Path]:
    """The config and every file it includes (``\\{file}``), depth first."""
    seen: list[Path] = []
    stack = [config_path]
    while stack:
        current = stack.pop()
        if current in seen or not current.is_file():
            continue
        seen.append(current)
        for include in _INCLUDE.findall(current.read_text(errors="replace")):
            if "\\cm[" in include:
                continue  # a command-line option placeholder, filled at run time
            stack.append((current.parent / include.strip()).resolve())
    return seen


@dataclass(frozen=True)
class OpenSmileFeatureSet:
    """A named openSMILE functionals configuration."""

    name: str
    config_path: Path
    expected_dim: int | None = None

    extractor = "opensmile"

    @property
    def extractor_version(self) -> str:
        return opensmile_version()

    @cached_property
    def config_hash(self) -> str:
        """Hash of the config and its includes: any edit re-extracts."""
        digest = hashlib.sha256()
        for path in _config_files(self.config_path):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    @property
    def cache_key(self) -> str:
        """Folder name in the cache: name, config hash, extractor version and audio decoder."""
        # The decoder is part of the key: vectors from another decoding path are another entry.
        versions = f"{self.extractor_version}|{DECODER_ID}"
        version_hash = hashlib.sha256(versions.encode()).hexdigest()[:4]
        return f"{self.name}-{self.config_hash[:10]}-{version_hash}"

    def provenance(self) -> dict:
        return {
            "feature_set": self.name,
            "extractor": self.extractor,
            "extractor_version": self.extractor_version,
            "config_path": str(self.config_path),
            "config_sha256": self.config_hash,
            "sample_rate": TARGET_SAMPLE_RATE,
            "audio_decoder": DECODER_ID,
        }

    def make_engine(self) -> SmileEngine:
        return SmileEngine(self.config_path)


def _claims(key: str) -> bool:
    return (
        key.lower() in BUILTIN_SETS
        or key.lower() in PACKAGED_CONFIGS
        or key.endswith(".conf")
        or os.sep in key
    )


def resolve_opensmile_set(spec: str, **_options) -> OpenSmileFeatureSet:
    """A built-in name, a packaged config name or a path to a custom ``.conf``.

    Extractor options (a model, a device) mean nothing to openSMILE and are ignored.
    """
    key = spec.strip()
    root = smile_config_root()
    if key.lower() in BUILTIN_SETS:
        feature_set, dim = BUILTIN_SETS[key.lower()]
        return OpenSmileFeatureSet(key.lower(), root / (feature_set + ".conf"), dim)
    if key.lower() in PACKAGED_CONFIGS:
        path = Path(str(resources.files("paraser") / "configs" / PACKAGED_CONFIGS[key.lower()]))
        return OpenSmileFeatureSet(key.lower(), path)
    path = Path(key).expanduser().resolve()
    if not path.is_file():
        raise FeatureSetError(f"{key}: openSMILE config not found")
    return OpenSmileFeatureSet(path.stem, path)


register_feature_sets(
    FeatureSetFamily(
        "opensmile",
        claims=_claims,
        resolve=resolve_opensmile_set,
        names=lambda: [*BUILTIN_SETS, *PACKAGED_CONFIGS],
        order=0,
    )
)


#: glibc's ``mallopt`` parameters, and the values set for openSMILE's allocations.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 32 << 20
_TRIM_THRESHOLD_BYTES = 64 << 20


@functools.cache
def keep_freed_memory() -> bool:
    """Let glibc keep freed blocks for reuse instead of returning them to the kernel.

    ``reset()`` destroys and re-creates every openSMILE component, freeing and
    allocating its buffers once per file.  By default glibc serves blocks over
    ~128 KiB with ``mmap`` and trims the heap as soon as 128 KiB are free, so every
    file's buffers are unmapped and then page-faulted back in, zeroed by the kernel:
    about 5 % of an extraction's CPU (measured on the four openSMILE sets, EmoDB).
    With these thresholds the blocks stay in the heap and are reused; the peak is
    unchanged, only up to 64 MiB of free heap may stay mapped.  Once per process;
    a no-op (``False``) where the C library is not glibc.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
            and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)
        )
    except (OSError, AttributeError):
        return False


def _packaged_config(name: str) -> str:
    return str(resources.files("paraser") / "configs" / name)


class SmileEngine:
    """One openSMILE instance that extracts functionals from many signals.

    The instance reads the functionals through paraser's single-field sink
    (``configs/single_field_sink.conf.inc``): the same values, bit for bit, without
    openSMILE's per-file name lookups (a third of ComParE's CPU). The names come
    from one instance with opensmile-python's own sink, made once per config.
    """

    def __init__(self, config_path: str | Path, sample_rate: int = TARGET_SAMPLE_RATE):
        keep_freed_memory()
        # Imported only where audio is processed: the package pulls in audformat.
        from opensmile.core.config import config as smile_config

        self._config = smile_config
        self.config_path = Path(config_path)
        self.sample_rate = sample_rate
        self.feature_names = list(_feature_names(self.config_path, sample_rate))
        self._smile = _single_field_instance(self.config_path, sample_rate, len(self.feature_names))
        if self._smile is None:  # a custom config the single-field sink cannot read
            self._smile = _initialise(
                self.config_path,
                sample_rate,
                str(smile_config_root() / smile_config.EXTERNAL_OUTPUT_SINGLE_CONFIG),
            )

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        """Functionals of one mono float32 signal at the engine's sample rate."""
        return self.process_pcm16(to_pcm16(signal))

    def process_pcm16(self, pcm: np.ndarray) -> np.ndarray:
        rows: list[np.ndarray] = []

        def collect(data: np.ndarray) -> None:
            rows.append(np.array(data, dtype=np.float32, copy=True).ravel())

        # Callbacks must be registered again after every reset; the previous file's are
        # no longer referenced by openSMILE (the wrapper would keep them all).
        callbacks = getattr(self._smile, "_callbacks", None)
        if isinstance(callbacks, list):
            callbacks.clear()
        self._smile.external_sink_set_callback(self._config.EXTERNAL_OUTPUT_COMPONENT, collect)
        self._smile.external_audio_source_write_data(
            self._config.EXTERNAL_SOURCE_COMPONENT, pcm.tobytes()
        )
        self._smile.external_audio_source_set_eoi(self._config.EXTERNAL_SOURCE_COMPONENT)
        self._smile.run()
        self._smile.reset()
        if not rows:
            raise ValueError("openSMILE produced no functionals (signal too short?)")
        return rows[0]

    def close(self) -> None:
        self._smile.free()

    def __del__(self) -> None:
        try:
            self._smile.free()
        except Exception:
            pass


def _initialise(config_path: Path, sample_rate: int, sink: str, **options: object):
    """An initialised ``OpenSMILE`` reading from the external source into ``sink``."""
    import opensmile
    from opensmile.core.config import config as smile_config
    from opensmile.core.lib import OpenSMILE

    root = smile_config_root()
    smile = OpenSMILE()
    try:
        smile.initialize(
            config_file=str(config_path),
            options={
                "source": str(root / smile_config.EXTERNAL_INPUT_CONFIG),
                "sink": sink,
                "sinkLevel": opensmile.FeatureLevel.Functionals.value,
                "bufferModeRbConf": str(root / "shared/BufferModeRb.conf.inc"),
                "frameModeFunctionalsConf": str(root / "shared/FrameModeFunctionals.conf.inc"),
                "sampleRate": sample_rate,
                "nBits": 16,
                **options,
            },
            loglevel=0,
            debug=False,
        )
    except Exception as exc:  # openSMILE reports config errors as generic exceptions
        smile.free()
        raise FeatureSetError(
            f"{config_path}: openSMILE could not load this config ({exc}). Custom "
            "configs must read from the external source and write to the external sink "
            "as opensmile-python's own configs do."
        ) from exc
    return smile


@functools.cache
def _feature_names(config_path: Path, sample_rate: int) -> tuple[str, ...]:
    """The functionals' names, from an instance with opensmile-python's own sink."""
    from opensmile.core.config import config as smile_config

    sink = str(smile_config_root() / smile_config.EXTERNAL_OUTPUT_SINGLE_CONFIG)
    smile = _initialise(config_path, sample_rate, sink)
    try:
        component = smile_config.EXTERNAL_OUTPUT_COMPONENT
        count = smile.external_sink_get_num_elements(component)
        return tuple(smile.external_sink_get_element_name(component, i) for i in range(count))
    finally:
        smile.free()


def _single_field_instance(config_path: Path, sample_rate: int, n_elements: int):
    """An instance with paraser's single-field sink, or None where the config refuses it."""
    from opensmile.core.config import config as smile_config

    try:
        smile = _initialise(
            config_path,
            sample_rate,
            _packaged_config("single_field_sink.conf.inc"),
            selectionFile=_packaged_config("every_element.sel"),
        )
    except FeatureSetError:
        return None
    if smile.external_sink_get_num_elements(smile_config.EXTERNAL_OUTPUT_COMPONENT) != n_elements:
        smile.free()
        return None
    return smile
