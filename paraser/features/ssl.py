"""Frozen self-supervised speech encoders (XLS-R, WavLM, HuBERT, Whisper encoder) as features.

A feature-set name ``FAMILY[:LAYER][:POOLING]`` picks a model family (``xlsr``,
``wavlm``, ``hubert``, ``whisper-enc``, or ``ssl`` with an explicit model), a
hidden layer (an index into the model's hidden states, 0 being the input to
the first transformer layer; ``last`` by default; ``all`` for every layer
concatenated) and a pooling over time (``mean``; ``meanstd``).

**One cache entry per model.**  A forward pass computes every layer anyway, so
extraction always stores the mean *and* standard deviation of *every* layer in
one cache entry keyed by the model's identity (hub revision, or a hash of the
files of a local model folder), the numeric precision and the window length.
Each named variant (``xlsr``, ``xlsr:12``, ``xlsr:all:meanstd``, ...) is a view,
a column selection, of that entry: a layer sweep needs no re-extraction.

**Inference.**  16 kHz mono input from :func:`paraser.audio.read_audio`, the
model's own feature extractor (its normalisation), ``model.eval()`` under
``torch.inference_mode``; CUDA in fp16 when available (``device="auto"``),
otherwise CPU fp32.  Long files are cut into equal windows of at most
``window_s`` seconds so memory stays bounded; per-window frame sums and sums of
squares are combined, so the pooled mean over a file weights every frame
equally whatever the windowing.  Windows of similar length are batched
(:meth:`SSLEngine.batch`) when the model takes an attention mask; models whose
first convolution normalises over the whole (padded) input (``group`` norm,
e.g. wav2vec2-base) run one window at a time so a file's features never
depend on what it was batched with.

**Offline.**  Models are only ever loaded from disk (``local_files_only``):
a hub id must already be in the Hugging Face cache, or ``model`` names a
folder written by ``save_pretrained``.  torch and transformers are imported
only when a model actually runs (extra ``paraser[xlsr]``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from paraser.audio import DECODER_ID, TARGET_SAMPLE_RATE, file_digest
from paraser.features.registry import FeatureSetError, FeatureSetFamily, register_feature_sets

#: Feature-set families: name -> default model (hub id); ``ssl`` needs an explicit model.
SSL_FAMILIES: dict[str, str | None] = {
    "xlsr": "facebook/wav2vec2-xls-r-300m",
    "wavlm": "microsoft/wavlm-base-plus",
    "hubert": "facebook/hubert-base-ls960",
    "whisper-enc": "openai/whisper-base",
    "ssl": None,
}
POOLINGS = ("mean", "meanstd")
#: Statistics stored per layer in the cache entry, in this order.
STATISTICS = ("mean", "std")
DEFAULT_WINDOW_S = 20.0
#: Whisper's encoder takes exactly 30 s of log-mel frames (padded), 50 output frames/s.
WHISPER_WINDOW_S = 30.0
WHISPER_FRAME_RATE = 50
# Bumped when the stored layout or the pooling arithmetic changes: re-extracts.
_LAYOUT_VERSION = "1"


class SSLModelError(FeatureSetError):
    """A model that is not available locally, or not a usable speech encoder."""


class SSLDependencyError(FeatureSetError):
    """torch / transformers are not installed."""


def is_ssl_name(spec: str) -> bool:
    """Whether ``spec`` names an SSL feature set (``xlsr``, ``wavlm:6:meanstd``, ...)."""
    return spec.strip().lower().split(":")[0] in SSL_FAMILIES


def require_torch(what: str = "SSL feature sets") -> tuple:
    """Import torch and transformers, or say how to install them."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise SSLDependencyError(
            f"{what} need torch and transformers, which are not installed "
            f"({exc.name or exc} missing): pip install 'paraser[xlsr]'"
        ) from None
    return torch, transformers


def _hf_cache_dir() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:
        return "~/.cache/huggingface/hub"


def resolve_model_dir(model: str) -> Path:
    """The local folder of ``model`` (a folder, or a hub id already in the HF cache).

    Never touches the network; a model that is not on disk raises
    :class:`SSLModelError` saying how to fetch it ahead of time.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise SSLModelError(
                f"{model}: no config.json in this folder; save a model there with "
                "save_pretrained (model and feature extractor)"
            )
        return path.resolve()
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise SSLModelError(f"{model}: model folder not found")
    try:
        from huggingface_hub import snapshot_download

        local = Path(snapshot_download(model, local_files_only=True))
    except ImportError:
        require_torch()
        raise
    except Exception as exc:  # noqa: BLE001 - any hub failure means "not available locally"
        raise SSLModelError(
            f"model '{model}' is not available locally: it is not a folder and not in the "
            f"Hugging Face cache ({_hf_cache_dir()}), and paraser never downloads during "
            f"extraction ({type(exc).__name__}). Fetch it ahead of time where there is "
            f"network: `hf download {model}` (older huggingface_hub: `huggingface-cli "
            f"download {model}`) fills the cache; or save it to a folder with "
            f"AutoModel.from_pretrained('{model}').save_pretrained(DIR) and "
            f"AutoFeatureExtractor.from_pretrained('{model}').save_pretrained(DIR), then "
            "pass --model DIR."
        ) from None
    if not (local / "config.json").is_file():
        raise SSLModelError(f"model '{model}': cached snapshot {local} has no config.json")
    return local


@functools.lru_cache(maxsize=32)
def _hash_files(entries: tuple[tuple[str, int, int], ...]) -> str:
    # Keyed by (path, size, mtime) so a 1 GB weights file is hashed once per process.
    digest = hashlib.sha256()
    for path, _, _ in entries:
        digest.update(Path(path).name.encode())
        digest.update(file_digest(path).encode())
    return digest.hexdigest()


def model_identity(model_dir: Path) -> str:
    """``rev:<commit>`` for a hub snapshot, else ``sha256:<hash of the folder's files>``."""
    if model_dir.parent.name == "snapshots":
        return f"rev:{model_dir.name}"
    files = sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    entries = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return f"sha256:{_hash_files(entries)}"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class SSLFeatureSet:
    """Pooled hidden states of a frozen speech encoder (see the module docstring).

    ``feature_names`` and ``cache_key`` describe the stored entry (every layer,
    mean and std); ``columns`` selects this variant's layer(s) and pooling.
    """

    name: str
    family: str
    model: str
    layer: int | str = "last"
    pooling: str = "mean"
    device: str = "auto"
    window_s: float = DEFAULT_WINDOW_S
    #: Seconds of audio the extraction loop hands to one :meth:`SSLEngine.batch` call.
    batch_seconds: float = 160.0

    extractor = "transformers"

    @cached_property
    def model_dir(self) -> Path:
        return resolve_model_dir(self.model)

    @cached_property
    def config(self) -> dict:
        return json.loads((self.model_dir / "config.json").read_text())

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type", "unknown"))

    @property
    def is_whisper(self) -> bool:
        return self.model_type == "whisper"

    @property
    def n_layers(self) -> int:
        """Hidden states the model returns: the transformer input plus one per layer."""
        key = "encoder_layers" if self.is_whisper else "num_hidden_layers"
        return int(self.config[key]) + 1

    @property
    def hidden_size(self) -> int:
        return int(self.config["d_model" if self.is_whisper else "hidden_size"])

    @cached_property
    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        torch, _ = require_torch(f"feature set '{self.name}'")
        return "cuda" if torch.cuda.is_available() else "cpu"

    @property
    def precision(self) -> str:
        return "fp16" if self.resolved_device.startswith("cuda") else "fp32"

    @property
    def effective_window_s(self) -> float:
        return min(self.window_s, WHISPER_WINDOW_S) if self.is_whisper else self.window_s

    @cached_property
    def identity(self) -> str:
        return model_identity(self.model_dir)

    @property
    def cache_key(self) -> str:
        """One folder per model, precision and window, shared by every layer/pooling view."""
        parts = [self.identity, self.precision, f"{self.effective_window_s:g}", _LAYOUT_VERSION]
        parts.append(DECODER_ID)  # audio decoded another way is another entry
        digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]
        return f"ssl-{self.model_type}-{digest}-{self.precision}"

    @cached_property
    def feature_names(self) -> list[str]:
        """Names of the stored columns: layer-major, then statistic, then dimension."""
        return [
            f"l{layer:02d}_{stat}_{dim:04d}"
            for layer in range(self.n_layers)
            for stat in STATISTICS
            for dim in range(self.hidden_size)
        ]

    @property
    def layers(self) -> list[int]:
        """The hidden-state indices this variant uses."""
        if self.layer == "all":
            return list(range(self.n_layers))
        if self.layer == "last":
            return [self.n_layers - 1]
        index = int(self.layer)
        if not 0 <= index < self.n_layers:
            raise FeatureSetError(
                f"feature set '{self.name}': layer {index} out of range; {self.model} has "
                f"hidden states 0..{self.n_layers - 1}"
            )
        return [index]

    @property
    def columns(self) -> np.ndarray | None:
        """Indices of this variant's columns in the stored entry (``None``: all of them)."""
        stats = list(range(len(STATISTICS))) if self.pooling == "meanstd" else [0]
        if self.layer == "all" and len(stats) == len(STATISTICS):
            return None
        width = self.hidden_size
        blocks = [
            np.arange(width) + (layer * len(STATISTICS) + stat) * width
            for layer in self.layers
            for stat in stats
        ]
        return np.concatenate(blocks)

    def provenance(self) -> dict:
        """What produced the stored entry (shared by all views of this model)."""
        return {
            "feature_set": self.family,
            "extractor": self.extractor,
            "extractor_version": _version("transformers"),
            "torch_version": _version("torch"),
            "model": self.model,
            "model_dir": str(self.model_dir),
            "model_type": self.model_type,
            "model_identity": self.identity,
            "layers_stored": f"0..{self.n_layers - 1} (all hidden states)",
            "statistics": list(STATISTICS),
            "precision": self.precision,
            "window_s": self.effective_window_s,
            "sample_rate": TARGET_SAMPLE_RATE,
            "audio_decoder": DECODER_ID,
        }

    def make_engine(self) -> SSLEngine:
        return SSLEngine(
            self.model_dir,
            device=self.resolved_device,
            window_s=self.effective_window_s,
            whisper=self.is_whisper,
            max_batch_s=self.batch_seconds,
        )


def resolve_ssl_feature_set(
    spec: str, *, model: str | None = None, device: str = "auto"
) -> SSLFeatureSet:
    """Parse ``FAMILY[:LAYER][:POOLING]``; ``model`` (hub id or folder) overrides the default."""
    family, *options = [part.strip() for part in spec.strip().lower().split(":")]
    layer: int | str = "last"
    pooling = "mean"
    for option in options:
        if option in POOLINGS:
            pooling = option
        elif option in ("all", "last"):
            layer = option
        elif option.isdigit():
            layer = int(option)
        else:
            raise FeatureSetError(
                f"feature set '{spec}': '{option}' is neither a layer (a number, last, all) "
                f"nor a pooling ({', '.join(POOLINGS)})"
            )
    chosen = model or SSL_FAMILIES[family]
    if chosen is None:
        raise FeatureSetError(
            f"feature set '{spec}' needs a model: --model HUB_ID or --model DIR "
            "(a folder written by save_pretrained)"
        )
    # Filename-safe canonical name: it becomes a results column and a matrix file name.
    name = family
    if layer != "last":
        name += "-all" if layer == "all" else f"-l{layer}"
    if pooling != "mean":
        name += f"-{pooling}"
    return SSLFeatureSet(name, family, chosen, layer, pooling, device)


register_feature_sets(
    FeatureSetFamily(
        "ssl",
        claims=is_ssl_name,
        resolve=resolve_ssl_feature_set,
        names=lambda: list(SSL_FAMILIES),
        order=1,
    )
)


def _windows(signal: np.ndarray, window: int) -> list[np.ndarray]:
    # Equal-length pieces, none longer than ``window``: no tiny tail window.
    pieces = max(1, math.ceil(signal.shape[0] / window))
    return np.array_split(signal, pieces)


class SSLEngine:
    """A loaded encoder that maps signals to every layer's pooled mean and std."""

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str,
        window_s: float,
        whisper: bool = False,
        max_batch_s: float = 160.0,
    ):
        torch, transformers = require_torch()
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self._torch = torch
        self.whisper = whisper
        self.device = device
        self.fp16 = device.startswith("cuda")
        self.window = int(window_s * TARGET_SAMPLE_RATE)
        try:
            self.extractor = transformers.AutoFeatureExtractor.from_pretrained(
                model_dir, local_files_only=True
            )
            model = transformers.AutoModel.from_pretrained(model_dir, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SSLModelError(f"{model_dir}: cannot load model/feature extractor: {exc}") from exc
        if whisper:
            model = model.get_encoder()
        # eval(): no dropout, no layer drop, no SpecAugment masking.
        model.eval()
        model.to(device)
        if self.fp16:
            model.half()
        self.model = model
        # With an attention mask padding is ignored; without one (group norm over the
        # padded input) a window's features would depend on its batch mates.
        self.batchable = whisper or bool(getattr(self.extractor, "return_attention_mask", False))
        self.max_batch_samples = max(self.window, int(max_batch_s * TARGET_SAMPLE_RATE))
        config = model.config
        n_layers = (config.encoder_layers if whisper else config.num_hidden_layers) + 1
        width = config.d_model if whisper else config.hidden_size
        self.shape = (n_layers, width)
        self.feature_names = [
            f"l{layer:02d}_{stat}_{dim:04d}"
            for layer in range(n_layers)
            for stat in STATISTICS
            for dim in range(width)
        ]

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        return self.batch([signal])[0]

    def batch(self, signals: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Pooled vectors of many 16 kHz mono signals, windows batched by similar length."""
        windows = [(i, w) for i, s in enumerate(signals) for w in _windows(s, self.window)]
        n_layers, width = self.shape
        sums = np.zeros((len(signals), n_layers, width))
        squares = np.zeros_like(sums)
        counts = np.zeros(len(signals))
        order = sorted(range(len(windows)), key=lambda k: -windows[k][1].shape[0])
        for group in self._groups(order, [w.shape[0] for _, w in windows]):
            total, total_sq, frames = self._forward([windows[k][1] for k in group])
            for position, k in enumerate(group):
                owner = windows[k][0]
                sums[owner] += total[:, position]
                squares[owner] += total_sq[:, position]
                counts[owner] += frames[position]
        if np.any(counts == 0):
            raise ValueError("the model produced no frames (signal too short?)")
        mean = sums / counts[:, None, None]
        std = np.sqrt(np.maximum(squares / counts[:, None, None] - mean**2, 0.0))
        stacked = np.stack([mean, std], axis=2)  # signal, layer, statistic, dimension
        return [row.ravel().astype(np.float32) for row in stacked]

    def _groups(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """Windows (longest first) in batches whose padded size stays within budget."""
        if not self.batchable:
            return [[k] for k in order]
        groups: list[list[int]] = []
        for k in order:
            # Sorted longest first, so a group's padded length is its first window's.
            if groups and (len(groups[-1]) + 1) * lengths[groups[-1][0]] <= self.max_batch_samples:
                groups[-1].append(k)
            else:
                groups.append([k])
        return groups

    def _forward(self, windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-layer frame sums and sums of squares (layer, window, dim) and frame counts."""
        torch = self._torch
        lengths = [w.shape[0] for w in windows]
        if self.whisper:
            inputs = self.extractor(windows, sampling_rate=TARGET_SAMPLE_RATE, return_tensors="pt")
            values = inputs["input_features"]
            kwargs = {}
            max_frames = int(WHISPER_WINDOW_S * WHISPER_FRAME_RATE)
            per_sample = WHISPER_FRAME_RATE / TARGET_SAMPLE_RATE
            frames = torch.tensor([min(max_frames, math.ceil(n * per_sample)) for n in lengths])
        else:
            inputs = self.extractor(
                windows,
                sampling_rate=TARGET_SAMPLE_RATE,
                return_tensors="pt",
                padding=True,
                return_attention_mask=self.batchable,
            )
            values = inputs["input_values"]
            kwargs = {}
            if self.batchable:
                kwargs["attention_mask"] = inputs["attention_mask"].to(self.device)
            frames = self.model._get_feat_extract_output_lengths(torch.tensor(lengths))
        values = values.to(self.device, torch.float16 if self.fp16 else torch.float32)
        with torch.inference_mode():
            output = self.model(values, output_hidden_states=True, **kwargs)
            hidden = output.hidden_states
            steps = torch.arange(hidden[0].shape[1], device=self.device)
            mask = (steps[None, :] < frames.to(self.device)[:, None]).float()[..., None]
            sums, squares = [], []
            for layer in hidden:
                layer = layer.float() * mask
                sums.append(layer.sum(dim=1))
                squares.append((layer * layer).sum(dim=1))
            total = torch.stack(sums).double().cpu().numpy()
            total_sq = torch.stack(squares).double().cpu().numpy()
        return total, total_sq, frames.cpu().numpy().astype(np.float64)
