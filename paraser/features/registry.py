"""The feature-set registry: what a feature-set name means, whichever extractor makes it.

Extractors (openSMILE functionals in :mod:`~paraser.features.opensmile_sets`, frozen speech
encoders in :mod:`~paraser.features.ssl`) register a family of names here; everything else
resolves names through :func:`resolve_feature_set` and never imports an extractor to ask.
The extractor modules import this one, never each other. ``paraser.features`` imports every
built-in extractor, so importing any ``paraser.features`` module registers them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class FeatureSetError(ValueError):
    """An unknown feature set or an unusable extractor configuration."""


class FeatureSetSpec(Protocol):
    """What the extraction loop needs of a feature set (openSMILE, SSL, ...)."""

    name: str

    @property
    def cache_key(self) -> str: ...

    def provenance(self) -> dict: ...

    def make_engine(self) -> Callable[[np.ndarray], np.ndarray]: ...


#: resolve(name, model=..., device=...) -> a feature set.
Resolver = Callable[..., FeatureSetSpec]


@dataclass(frozen=True)
class FeatureSetFamily:
    """One extractor's names: which it claims, how it resolves them, what it lists."""

    extractor: str
    claims: Callable[[str], bool]
    resolve: Resolver
    names: Callable[[], Sequence[str]]
    #: Position in listings (lower first).
    order: int = 0


_FAMILIES: dict[str, FeatureSetFamily] = {}
#: How the error for an unknown name ends (the last way to name a feature set).
UNKNOWN_HINT = "or a path to an openSMILE .conf file"


def register_feature_sets(family: FeatureSetFamily) -> None:
    """Add (or replace) an extractor's family of feature-set names."""
    _FAMILIES[family.extractor] = family


def _families() -> list[FeatureSetFamily]:
    return sorted(_FAMILIES.values(), key=lambda f: f.order)


def available_feature_sets() -> list[str]:
    """Every named feature set, in listing order (custom configs are paths, not listed)."""
    return [name for family in _families() for name in family.names()]


def resolve_feature_set(
    spec: str, *, model: str | None = None, device: str = "auto"
) -> FeatureSetSpec:
    """A built-in name (``egemaps``, ``is09``, ``is10``, ``compare``), a packaged
    config name, a path to a custom openSMILE ``.conf``, or a frozen speech encoder
    (``xlsr[:LAYER][:POOLING]``, ``wavlm``, ``hubert``, ``whisper-enc``, ``ssl``; see
    :mod:`paraser.features.ssl`), whose ``model`` (hub id or folder) and ``device``
    may be given; openSMILE sets ignore both."""
    key = spec.strip()
    for family in _families():
        if family.claims(key):
            return family.resolve(key, model=model, device=device)
    # The family name before any ``:LAYER``/``:POOLING`` is what a typo usually hits.
    near = difflib.get_close_matches(key.split(":")[0], available_feature_sets(), n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    raise FeatureSetError(
        f"unknown feature set '{spec}'{hint}: use one of {', '.join(available_feature_sets())} "
        f"{UNKNOWN_HINT}"
    )


def as_specs(feature_sets: Sequence[str | FeatureSetSpec]) -> list[FeatureSetSpec]:
    """Names resolved to feature sets; feature sets pass through."""
    return [resolve_feature_set(f) if isinstance(f, str) else f for f in feature_sets]
