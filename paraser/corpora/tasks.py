"""Label bridges: tasks that map every corpus' categories onto levels of arousal or valence.

A categorical experiment intersects label sets (angry / happy / neutral / sad).
A *task* instead maps each canonical emotion onto a level of one dimension, so
corpora with different category sets - or labelled by level in the first place,
like BAVED (``arousal_low`` / ``arousal_neutral`` / ``arousal_high``) - share one
label space.  One documented table per dimension (:data:`AROUSAL_TABLE`,
:data:`VALENCE_TABLE`), grounded in the circumplex model of affect (Russell
1980; Posner, Russell & Peterson 2005) and in the binary arousal / valence
clusters used for cross-corpus SER (Schuller et al. 2010, "Cross-corpus acoustic
emotion recognition: variances and strategies", IEEE T-AC).  Where that
literature disagrees, the emotion is excluded (mapped to ``None``) and the
reason is recorded in the table's notes.  ``arousal-core`` maps only the four
categories every shipped categorical corpus shares (the mapping of the issue's
independent reference run, kept so its numbers can be reproduced).

Nothing is guessed: a label that is neither placed nor explicitly excluded makes
:meth:`Task.apply` raise, listing the labels it cannot map, and a corpus with no
mappable utterance is refused (with its label list) by the pipeline.  A task is a
drop-in :class:`~paraser.corpora.labels.LabelMap` (``classes``, ``map_label``,
``apply``, ``to_dict``), so every factor of the transfer grid runs on it
unchanged.  A user replaces the table with a JSON file::

    {"task": "arousal", "levels": ["low", "neutral", "high"],
     "map": {"anger": "high", "sadness": "low", "neutral": "neutral", "fear": null},
     "notes": {"fear": "why it is excluded"}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from paraser.corpora.labels import CANONICAL_EMOTIONS, canonical_emotion, read_json_spec

#: Canonical emotion -> arousal level (``None``: excluded, see the notes).
AROUSAL_TABLE: dict[str, str | None] = {
    "anger": "high",
    "happiness": "high",
    "fear": "high",
    "surprise": "high",
    "pleasant_surprise": "high",
    "excitement": "high",
    "frustration": "high",
    "neutral": "neutral",
    "sadness": "low",
    "boredom": "low",
    "calm": "low",
    "disgust": None,
    "contempt": None,
    "sarcasm": None,
    # Corpora labelled by level (BAVED) map directly.
    "arousal_low": "low",
    "arousal_neutral": "neutral",
    "arousal_high": "high",
}

AROUSAL_NOTES: dict[str, str] = {
    "anger": "high arousal in every circumplex placement",
    "happiness": "high arousal (elated / happy) in Russell (1980) and Schuller et al. (2010)",
    "fear": "high arousal (alarmed / afraid); Schuller et al. (2010) place it high",
    "surprise": "high arousal (astonished) in Russell (1980)",
    "frustration": "high arousal, negative valence in Russell (1980)",
    "sadness": "low arousal (sad / depressed) in Russell (1980) and Schuller et al. (2010)",
    "boredom": "low arousal (bored / tired) in Russell (1980) and Schuller et al. (2010)",
    "calm": "low arousal (calm / relaxed) in Russell (1980); TurEV's Calm is read as neutral by "
    "its recipe, so this line only applies to corpora with a separate calm class",
    "disgust": "excluded: the literature disagrees (moderate-to-high in circumplex ratings, "
    "low-arousal cluster in Schuller et al. 2010)",
    "contempt": "excluded: no agreed arousal placement",
    "sarcasm": "excluded: an attitude, not a placement on the circumplex",
    "arousal_low": "a corpus labelled by level (BAVED level 0: tired, down)",
    "arousal_neutral": "a corpus labelled by level (BAVED level 1: everyday speech)",
    "arousal_high": "a corpus labelled by level (BAVED level 2: strong positive or negative "
    "emotion; its README puts strongly expressed sadness here too: an approximation)",
}

#: Canonical emotion -> valence level (``None``: excluded, see the notes).
VALENCE_TABLE: dict[str, str | None] = {
    "anger": "negative",
    "sadness": "negative",
    "fear": "negative",
    "disgust": "negative",
    "boredom": "negative",
    "contempt": "negative",
    "frustration": "negative",
    "neutral": "neutral",
    "happiness": "positive",
    "excitement": "positive",
    "pleasant_surprise": "positive",
    "calm": "positive",
    "surprise": None,
    "sarcasm": None,
    "valence_negative": "negative",
    "valence_neutral": "neutral",
    "valence_positive": "positive",
}

VALENCE_NOTES: dict[str, str] = {
    "anger": "negative valence in every circumplex placement",
    "sadness": "negative valence",
    "fear": "negative valence",
    "disgust": "negative valence",
    "boredom": "mildly negative valence (bored) in Russell (1980)",
    "happiness": "positive valence",
    "calm": "positive valence, low arousal (relaxed, serene) in Russell (1980)",
    "surprise": "excluded: surprise can be pleasant or unpleasant (valence ambiguous)",
    "sarcasm": "excluded: valence depends on what is meant",
}

#: Arousal from the four categories every shipped categorical corpus shares (anger,
#: happiness high; neutral; sadness low); every other emotion excluded.  The mapping
#: of the issue's independent reference run, kept so its cells can be reproduced.
AROUSAL_CORE_TABLE: dict[str, str | None] = {
    **{emotion: None for emotion in AROUSAL_TABLE},
    "anger": "high",
    "happiness": "high",
    "neutral": "neutral",
    "sadness": "low",
    "arousal_low": "low",
    "arousal_neutral": "neutral",
    "arousal_high": "high",
}

AROUSAL_CORE_NOTES: dict[str, str] = {
    **{e: "excluded: only the four shared categories are mapped" for e in AROUSAL_TABLE},
    **{k: v for k, v in AROUSAL_NOTES.items() if AROUSAL_CORE_TABLE[k] is not None},
}

#: Built-in tasks: name -> (levels low to high, table, notes).
TASKS: dict[str, tuple[tuple[str, ...], dict[str, str | None], dict[str, str]]] = {
    "arousal": (("low", "neutral", "high"), AROUSAL_TABLE, AROUSAL_NOTES),
    "arousal-core": (("low", "neutral", "high"), AROUSAL_CORE_TABLE, AROUSAL_CORE_NOTES),
    "valence": (("negative", "neutral", "positive"), VALENCE_TABLE, VALENCE_NOTES),
}


class UnmappableLabelError(ValueError):
    """Labels a task neither places nor explicitly excludes."""


@dataclass(frozen=True)
class Task:
    """A label bridge: canonical emotions (or level labels) -> levels of one dimension.

    ``levels`` are the classes, ordered low to high; ``table`` maps canonical
    labels to a level or to ``None`` (excluded on purpose: the utterances are
    dropped and counted).  A label missing from the table is an error.
    """

    name: str
    levels: tuple[str, ...]
    table: Mapping[str, str | None]
    notes: Mapping[str, str] = field(default_factory=dict)
    source: str = "built-in"

    def __post_init__(self) -> None:
        if len(self.levels) < 2 or len(set(self.levels)) != len(self.levels):
            raise ValueError(f"task '{self.name}': needs two or more distinct levels")
        bad = {k: v for k, v in self.table.items() if v is not None and v not in self.levels}
        if bad:
            raise ValueError(
                f"task '{self.name}' ({self.source}): {bad} map onto levels outside "
                f"{list(self.levels)}"
            )

    @property
    def classes(self) -> tuple[str, ...]:
        return self.levels

    def _key(self, label: str) -> str:
        text = str(label).strip()
        return canonical_emotion(text) or text.lower()

    def map_label(self, label: str) -> str | None:
        """The level of ``label``; ``None`` when excluded; raises when it is not in the table."""
        key = self._key(label)
        if key not in self.table:
            raise UnmappableLabelError(self._refusal([str(label)]))
        return self.table[key]

    def unmappable(self, labels: Iterable[str]) -> list[str]:
        """The distinct labels of ``labels`` the table does not cover, sorted."""
        return sorted({str(x) for x in labels if self._key(x) not in self.table})

    def apply(self, labels: Iterable[str]) -> pd.Series:
        """Map many labels; excluded ones become ``<NA>``; any unknown label raises."""
        labels = list(labels)
        missing = self.unmappable(labels)
        if missing:
            raise UnmappableLabelError(self._refusal(sorted(set(map(str, labels))), missing))
        return pd.Series([self.table[self._key(x)] for x in labels], dtype="string")

    def _refusal(self, labels: list[str], missing: list[str] | None = None) -> str:
        missing = missing if missing is not None else labels
        return (
            f"labels {missing} cannot be mapped onto the {self.name} levels "
            f"{list(self.levels)} (labels present: {labels}; the table, {self.source}, places "
            f"{sorted(k for k, v in self.table.items() if v)} and excludes "
            f"{sorted(k for k, v in self.table.items() if v is None) or 'nothing'}); "
            "give a table that maps or excludes them with --task FILE.json"
        )

    def statement(self) -> str:
        """One sentence for under every table: which emotions became which level."""
        placed = "; ".join(
            f"{level}: {', '.join(sorted(k for k, v in self.table.items() if v == level))}"
            for level in self.levels
        )
        excluded = sorted(k for k, v in self.table.items() if v is None)
        text = f"Task {self.name} ({self.source} mapping) - {placed}"
        if excluded:
            text += f"; excluded: {', '.join(excluded)}"
        return text + "."

    def to_dict(self) -> dict:
        return {
            "task": self.name,
            "classes": list(self.levels),
            "levels": list(self.levels),
            "map": dict(self.table),
            "notes": dict(self.notes),
            "source": self.source,
            "statement": self.statement(),
        }

    @classmethod
    def from_file(cls, path: str | Path) -> Task:
        """Load ``{"task", "levels", "map", "notes"}`` from JSON (see the module docstring)."""
        path = Path(path)
        spec = read_json_spec(path, "task mapping")
        if not isinstance(spec.get("map"), dict):
            raise ValueError(f"{path}: a task mapping needs a 'map' object (label -> level|null)")
        levels = spec.get("levels")
        if not levels:
            levels = list(dict.fromkeys(v for v in spec["map"].values() if v is not None))
        unknown = [k for k in spec["map"] if canonical_emotion(k) is None]
        if unknown:
            raise ValueError(
                f"{path}: {unknown} are not canonical labels (use: {', '.join(CANONICAL_EMOTIONS)})"
            )
        table = {canonical_emotion(k): v for k, v in spec["map"].items()}
        try:
            return cls(
                str(spec.get("task", path.stem)), tuple(levels), table,
                dict(spec.get("notes", {})), str(path),
            )  # fmt: skip
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc


def get_task(spec: str | Path) -> Task:
    """A built-in task by name (``arousal``, ``valence``) or a JSON table file."""
    text = str(spec).strip()
    if text.lower() in TASKS:
        levels, table, notes = TASKS[text.lower()]
        return Task(text.lower(), levels, dict(table), dict(notes))
    if Path(text).is_file():
        return Task.from_file(text)
    raise ValueError(
        f"unknown task '{text}': use categorical, {', '.join(TASKS)} or a JSON mapping file"
    )


def label_statement(label_map: Mapping | None) -> str:
    """The sentence stating a run's label space (config.json ``label_map``), or ``""``."""
    if not label_map:
        return ""
    if label_map.get("statement"):
        return str(label_map["statement"])
    return ""
