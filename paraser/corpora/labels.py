"""Canonical emotion vocabulary and label maps.

Every corpus names its emotions its own way (``W`` in EmoDB, ``rab`` in EMOVO,
``Angry`` in URDU).  Recipes translate them into one canonical vocabulary so
that cross-corpus work can intersect label sets automatically; a
:class:`LabelMap` then maps canonical labels onto the shared label space an
experiment uses (by default the four classes every shipped corpus has).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: Levels, for corpora labelled on a dimension rather than by category (BAVED); only a
#: task (:mod:`paraser.corpora.tasks`) maps them, never a categorical label space.
LEVELS: tuple[str, ...] = (
    "arousal_low",
    "arousal_neutral",
    "arousal_high",
    "valence_negative",
    "valence_neutral",
    "valence_positive",
)

#: The canonical vocabulary. Recipes emit only these names.
CANONICAL_EMOTIONS: tuple[str, ...] = (
    "anger",
    "happiness",
    "sadness",
    "neutral",
    "fear",
    "disgust",
    "surprise",
    "boredom",
    "calm",
    "sarcasm",
    "contempt",
    "frustration",
    "excitement",
    "pleasant_surprise",
    *LEVELS,
)

#: Default shared label space (angry / happy / neutral / sad).
DEFAULT_CLASSES: tuple[str, ...] = ("anger", "happiness", "neutral", "sadness")

# Common spellings of each canonical emotion across corpora and papers.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "anger": ("angry", "anger", "ang", "mad", "annoyed", "rab", "rabbia", "kizgin"),
    "happiness": ("happy", "happiness", "hap", "joy", "gio", "gioia", "mutlu", "happy_joy"),
    "sadness": ("sad", "sadness", "tri", "tristezza", "uzgun", "sorrow"),
    "neutral": ("neutral", "neu", "neutrale", "notr"),
    "fear": ("fear", "fearful", "fea", "pau", "paura", "afraid", "scared"),
    "disgust": ("disgust", "disgusted", "dis", "disgusto"),
    "surprise": ("surprise", "surprised", "sur", "sor", "sorpresa"),
    "boredom": ("boredom", "bored", "bor"),
    "calm": ("calm", "calmness"),
    "sarcasm": ("sarcasm", "sarcastic"),
    "contempt": ("contempt",),
    "frustration": ("frustration", "frustrated", "fru"),
    "excitement": ("excitement", "excited", "exc"),
    "pleasant_surprise": ("pleasant_surprise", "ps", "pleasant_surprised"),
    **{level: (level,) for level in LEVELS},
}

_LOOKUP: dict[str, str] = {
    spelling: canonical for canonical, spellings in _SYNONYMS.items() for spelling in spellings
}


def canonical_emotion(label: str) -> str | None:
    """Return the canonical name of an emotion label, or ``None`` if unknown.

    Matching is case-insensitive and ignores surrounding whitespace and
    ``-``/space versus ``_`` differences.
    """
    key = str(label).strip().lower().replace("-", "_").replace(" ", "_")
    return _LOOKUP.get(key)


def read_json_spec(path: str | Path, what: str) -> dict:
    """A JSON object from ``path``, or a ValueError naming the file and ``what`` it should be."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read {what}: {exc}") from exc
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a {what} is a JSON object")
    return spec


@dataclass(frozen=True)
class LabelMap:
    """Maps corpus labels onto a shared label space.

    ``classes`` is the shared label space. ``overrides`` maps a raw label to a
    class (or to ``None`` to drop it) before synonym lookup, e.g.
    ``{"calm": "neutral"}`` for a corpus whose calm plays the role of neutral.
    """

    classes: tuple[str, ...] = DEFAULT_CLASSES
    overrides: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [c for c in self.classes if c not in CANONICAL_EMOTIONS]
        if unknown:
            near = {
                name: match[0]
                for name in unknown
                if (match := difflib.get_close_matches(name, CANONICAL_EMOTIONS, n=1))
            }
            hint = "".join(f" (did you mean '{v}' for '{k}'?)" for k, v in near.items())
            raise ValueError(
                f"unknown class name(s) {unknown}{hint}; use the canonical vocabulary: "
                f"{', '.join(CANONICAL_EMOTIONS)}"
            )

    def map_label(self, label: str) -> str | None:
        """The shared class of ``label``, or ``None`` when it falls outside."""
        key = str(label).strip()
        lowered = {k.lower(): v for k, v in self.overrides.items()}
        if key.lower() in lowered:
            return lowered[key.lower()]
        canonical = canonical_emotion(key)
        return canonical if canonical in self.classes else None

    def apply(self, labels: Iterable[str]) -> pd.Series:
        """Map many labels; unmapped ones become ``<NA>``."""
        return pd.Series([self.map_label(x) for x in labels], dtype="string")

    @classmethod
    def from_file(cls, path: str | Path) -> LabelMap:
        """Load ``{"classes": [...], "map": {"raw": "class" | null}}`` from JSON."""
        spec = read_json_spec(path, "label map")
        classes = tuple(spec.get("classes", DEFAULT_CLASSES))
        return cls(classes=classes, overrides=dict(spec.get("map", {})))

    def to_dict(self) -> dict:
        return {"classes": list(self.classes), "map": dict(self.overrides)}
