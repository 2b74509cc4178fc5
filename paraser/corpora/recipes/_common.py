"""Helpers shared by the corpus recipes: listing audio, parsing names, building frames.

A recipe turns a corpus folder into a DataFrame with the columns of
:data:`FRAME_COLUMNS` (plus corpus-specific extras), one row per audio file,
sorted by ``file``.  Most recipes only parse file and folder names, so the
work is: list the audio files (:func:`list_audio`), match each name against the
corpus' convention (:func:`match_stem`, which raises a :class:`ValueError`
naming the file), and hand the rows to :func:`build_frame`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Protocol, runtime_checkable

import pandas as pd

from paraser.corpora.labels import CANONICAL_EMOTIONS

#: File extensions taken as audio (matched case-insensitively).
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac",
        ".aif", ".aiff", ".au", ".sph", ".wma", ".webm",
    }
)  # fmt: skip

#: Columns every recipe returns, in order (extras follow).
FRAME_COLUMNS: tuple[str, ...] = (
    "file",
    "label",
    "original_label",
    "speaker",
    "gender",
    "language",
)


@dataclass(frozen=True)
class CorpusInfo:
    """What a recipe knows about its corpus."""

    name: str
    title: str
    language: str
    source: str
    licence: str
    #: corpus code -> canonical emotion (empty when labels are mapped by name at run time)
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.labels.items() if v not in CANONICAL_EMOTIONS}
        if bad:
            raise ValueError(f"{self.name}: non-canonical label target(s) {bad}")

    def canonical(self, code: str) -> str | None:
        """The canonical emotion of a corpus code (exact, then case-insensitive)."""
        if code in self.labels:
            return self.labels[code]
        lowered = {k.lower(): v for k, v in self.labels.items()}
        return lowered.get(str(code).lower())


@runtime_checkable
class Recipe(Protocol):
    """A corpus recipe: a module (or object) with ``info`` and ``prepare``."""

    info: CorpusInfo

    def prepare(self, corpus_dir: str | Path) -> pd.DataFrame: ...


def is_audio(path: str | Path) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def corpus_path(corpus_dir: str | Path) -> Path:
    """``corpus_dir`` as a Path, or a ValueError if it is not a directory."""
    root = Path(corpus_dir).expanduser()
    if not root.is_dir():
        raise ValueError(f"{root}: corpus directory not found (or not a directory)")
    return root


def list_audio(corpus_dir: str | Path) -> list[Path]:
    """All audio files below ``corpus_dir`` (recursively), sorted by relative path.

    Hidden files and folders (``.DS_Store``, ``.git``, ``._x.wav`` resource
    forks) and non-audio files (READMEs, CSVs, ...) are skipped.  Raises
    :class:`ValueError` naming the directory when no audio file is found.
    """
    root = corpus_path(corpus_dir)
    files = [
        p
        for p in root.rglob("*")
        if is_audio(p)
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    if not files:
        extensions = ", ".join(sorted(AUDIO_EXTENSIONS))
        raise ValueError(f"{root}: no audio files found (looked for {extensions})")
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def naming_error(root: Path, path: Path, corpus: str, convention: str) -> ValueError:
    return ValueError(
        f"{root}: '{relative(path, root)}' does not follow the {corpus} naming "
        f"convention {convention}"
    )


def match_stem(
    pattern: re.Pattern[str], path: Path, root: Path, corpus: str, convention: str
) -> re.Match[str]:
    """Full-match the file's stem against ``pattern`` or raise naming the file."""
    found = pattern.fullmatch(path.stem)
    if found is None:
        raise naming_error(root, path, corpus, convention)
    return found


def normalise_gender(value: object) -> str:
    """``female``/``male`` from the usual spellings (F, w, Female, m, ...), else ``""``."""
    text = str(value).strip().lower()
    if text in {"f", "female", "w", "woman", "women", "weiblich", "girl"}:
        return "female"
    if text in {"m", "male", "man", "men", "männlich", "maennlich", "boy"}:
        return "male"
    return ""


def optional_import(module: str, recipe: str) -> ModuleType:
    """Import an importer's optional library, or a ValueError naming the pip command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(
            f"the {recipe} recipe needs the {module} package: pip install "
            f"'paraser[importers]' (or pip install {module})"
        ) from exc


def normalise_language(value: object) -> str:
    """The language code the built-in recipes use (ISO 639-1 ``de``) for ``deu``, ``ger``,
    ``German``, ...; ISO 639-3 where there is no two-letter code; unknown text unchanged."""
    text = str(value or "").strip()
    if not text:
        return ""
    import iso639  # installed with audformat; imported here, as it loads its tables (0.15 s)

    try:
        language = iso639.Lang(text.title() if len(text) > 3 else text.lower())
    except Exception:  # noqa: BLE001 - not a language code or name iso639 knows
        return text
    return language.pt1 or language.pt3


def build_frame(rows: Iterable[dict], info: CorpusInfo, *, sort: bool = True) -> pd.DataFrame:
    """Rows (dicts) -> the recipe DataFrame, validated and sorted by ``file``.

    Each row needs ``file``, ``original_label`` and ``speaker``; ``label``
    defaults to ``info.canonical(original_label)``, ``gender`` to ``""`` and
    ``language`` to ``info.language``.  Other keys become extra columns.
    """
    records = []
    for row in rows:
        row = dict(row)
        row.setdefault("label", info.canonical(row["original_label"]))
        row.setdefault("gender", "")
        row.setdefault("language", info.language)
        if row["label"] not in CANONICAL_EMOTIONS:
            raise ValueError(
                f"{info.name}: '{row['file']}' has label {row['original_label']!r}, which "
                f"has no canonical emotion (known codes: {', '.join(info.labels)})"
            )
        records.append(row)
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=list(FRAME_COLUMNS))
    extras = [c for c in frame.columns if c not in FRAME_COLUMNS]
    frame = frame[list(FRAME_COLUMNS) + extras]
    for column in ("speaker", "original_label"):
        frame[column] = frame[column].astype(str)
    if not sort:  # the source's own order (a dataset's example order)
        return frame.reset_index(drop=True)
    return frame.sort_values("file", kind="stable").reset_index(drop=True)


def parse_files(
    corpus_dir: str | Path,
    info: CorpusInfo,
    parse: Callable[[Path, Path], dict],
) -> pd.DataFrame:
    """List the audio under ``corpus_dir`` and build the frame from ``parse(path, root)``.

    ``parse`` returns the row for one file (without ``file``); it raises a
    :class:`ValueError` for a name that breaks the corpus' convention.
    """
    root = corpus_path(corpus_dir)
    rows = []
    for path in list_audio(root):
        row = parse(path, root)
        row["file"] = relative(path, root)
        rows.append(row)
    return build_frame(rows, info)
