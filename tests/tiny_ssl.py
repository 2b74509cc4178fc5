"""Tiny randomly initialised speech encoders for the SSL tests and the SSL benchmark.

Not part of the library: such a model makes features of no use, only fast ones.
"""

from __future__ import annotations

from pathlib import Path

from paraser.features.ssl import require_torch


def model_classes(model_type: str) -> tuple[type, type]:
    """``(config class, model class)`` of ``wav2vec2`` or ``wavlm``."""
    _, transformers = require_torch()
    classes = {
        "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
        "wavlm": (transformers.WavLMConfig, transformers.WavLMModel),
    }
    if model_type not in classes:
        raise ValueError(f"unknown model type '{model_type}': use wav2vec2 or wavlm")
    return classes[model_type]


def _save_random_model(directory: str | Path, model_type: str, options: dict, seed: int) -> Path:
    """A randomly initialised encoder and its feature extractor, saved as a user's model is.

    wav2vec2 (layer norm) takes an attention mask and is batched, like XLS-R; wavlm
    (group norm) runs one window at a time, like wavlm-base.
    """
    torch, transformers = require_torch()
    config_class, model_class = model_classes(model_type)
    torch.manual_seed(seed)
    model = model_class(config_class(**options))
    directory = Path(directory)
    model.save_pretrained(directory)
    transformers.Wav2Vec2FeatureExtractor(
        return_attention_mask=model_type == "wav2vec2"
    ).save_pretrained(directory)
    return directory


def save_tiny_model(directory: str | Path, model_type: str = "wav2vec2", seed: int = 0) -> Path:
    """Save a tiny randomly initialised encoder (for tests and benchmarks, not for features).

    ``model_type``: ``wav2vec2`` (layer norm, attention mask: batched, like XLS-R) or
    ``wavlm`` (group norm: one window at a time, like wavlm-base).
    """
    common = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(16, 16, 16),
        conv_stride=(5, 4, 16),  # 320 samples per frame: 50 frames/s, like the real models
        conv_kernel=(10, 4, 16),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    extra = {
        "wav2vec2": dict(feat_extract_norm="layer", do_stable_layer_norm=True),
        "wavlm": dict(num_buckets=16, max_bucket_distance=40),
    }.get(model_type)
    if extra is None:
        raise ValueError(f"unknown tiny model type '{model_type}': use wav2vec2 or wavlm")
    return _save_random_model(directory, model_type, {**common, **extra}, seed)


#: Full-size architectures (random weights): the compute of the real models, none of their use.
SIZED_MODELS = {
    # facebook/wav2vec2-xls-r-300m's architecture: 24 layers, 1024 wide, stable layer norm.
    "xls-r-300m": (
        "wav2vec2",
        dict(
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
            feat_extract_norm="layer",
            do_stable_layer_norm=True,
            conv_bias=True,
        ),
    ),
    # microsoft/wavlm-base's architecture: 12 layers, 768 wide, group norm (no attention mask).
    "wavlm-base": ("wavlm", dict()),
}


def save_sized_model(directory: str | Path, size: str, seed: int = 0) -> Path:
    """Save a randomly initialised encoder with the architecture of ``size`` (see
    :data:`SIZED_MODELS`): for throughput benchmarks only."""
    _, transformers = require_torch()
    transformers.logging.disable_progress_bar()  # "Writing model shards" is noise in a bench
    model_type, options = SIZED_MODELS[size]
    return _save_random_model(directory, model_type, options, seed)
