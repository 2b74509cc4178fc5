"""audformat databases, read by audformat itself (``audformat.Database.load``).

audformat (https://audeering.github.io/audformat/) stores a database as a
header ``db.yaml`` (schemes, raters, tables, misc tables) next to one file per
table, ``db.<table id>.csv`` or ``.parquet``, indexed by ``file`` (filewise
tables) or ``file,start,end`` (segmented tables).  ``corpus_dir`` is the
database folder (or its ``db.yaml``), or ``audb:NAME[:VERSION]`` for a database
already in the local audb cache (see :func:`audb_cache_folder`; nothing is
downloaded).  ``file`` paths are relative to the database folder.

Safety: the header must parse as plain YAML (audformat's own loader would
construct Python objects from tags), and a table stored as ``db.<id>.pkl`` is
refused even beside a CSV (audformat prefers the pickle, and unpickling can
run code).

How columns are found, in filewise and segmented tables alike:

* emotion: the columns whose scheme (or, without a scheme, whose column id) is
  ``label_column`` (default ``emotion``); else whose scheme id contains
  ``emotion`` and is categorical.  All tables carrying it are combined (e.g.
  per-split tables); where two give a value for the same file or segment, a
  table or rater with ``gold`` in its id wins, then header order.  A segmented
  row becomes a manifest row with ``start``/``end`` (seconds; an open end reads
  to the end of the file).
* speaker: columns with scheme or id ``speaker_column`` (default ``speaker``),
  taken for the segment, else for its file.
* gender: a column with scheme or id ``gender``/``sex``; else the ``gender``/
  ``sex`` column of the misc table the speaker scheme's labels name; else a
  ``gender`` field of a speaker-scheme labels dict.
* language: a ``language`` column, else the header's first language, as the
  other recipes spell it (``deu`` -> ``de``).

audformat's ``Database.get`` is not used: with pandas 3 it misaligns
additional schemes when filewise and segmented tables are mixed.

Labels map to canonical emotions by name (then via the label's description in
the scheme).  Unlike the name-parsing recipes this one is lenient, because
published databases contain non-emotion labels (``other``, ``no_agreement``):
rows whose emotion is missing or unmappable, rows without a speaker and rows
whose audio is not on disk are dropped with a warning that counts them; a
ValueError is raised when nothing remains, naming the database folder.

Source and licence: those of the database (its ``source``/``license`` header
fields); the label set is the database's emotion scheme, mapped by name.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml

from paraser.corpora.labels import canonical_emotion
from paraser.corpora.recipes._common import (
    CorpusInfo,
    build_frame,
    normalise_gender,
    normalise_language,
)

info = CorpusInfo(
    name="audformat",
    title="audformat database (db.yaml + tables), or audb:NAME from the local audb cache",
    language="",
    source="any database in audformat, e.g. from audb (https://audeering.github.io/audb/)",
    licence="that of the database (its db.yaml 'license' field)",
    labels={},
)

#: (file, start seconds or None, end seconds or None): one utterance.
Key = tuple[str, float | None, float | None]


def audb_cache_folder(spec: str) -> Path:
    """The folder of ``audb:NAME[:VERSION]`` in the local audb cache (never downloads).

    audb keeps a loaded database in ``<cache>/<name>/<version>/<flavor>/`` with
    its ``db.yaml``; the caches searched are ``$AUDB_CACHE_ROOT``,
    ``$AUDB_SHARED_CACHE_ROOT`` and ``~/audb``.  Without a version the highest
    cached one is taken; several flavors of it are an error listing them.
    """
    _, _, rest = spec.partition(":")
    name, _, version = rest.partition(":")
    roots = [os.environ.get("AUDB_CACHE_ROOT"), os.environ.get("AUDB_SHARED_CACHE_ROOT")]
    roots = [Path(r).expanduser() for r in roots if r] + [Path("~/audb").expanduser()]
    headers = [h for root in roots for h in sorted((root / name).glob("*/*/db.yaml"))]
    if version:
        headers = [h for h in headers if h.parent.parent.name == version]
    if not name or not headers:
        searched = ", ".join(str(r) for r in roots)
        raise ValueError(
            f"{spec}: not in the local audb cache (searched {searched}); load it with audb "
            "first, or pass the database folder"
        )
    newest = max(headers, key=lambda h: _version_key(h.parent.parent.name)).parent.parent.name
    flavors = [h.parent for h in headers if h.parent.parent.name == newest]
    if len({f.name for f in flavors}) > 1:
        raise ValueError(f"{spec}: several cached flavors, pass one folder: {flavors}")
    return flavors[0]


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.replace("-", ".").split("."))


def header_path(corpus_dir: str | Path) -> Path:
    if str(corpus_dir).startswith("audb:"):
        return audb_cache_folder(str(corpus_dir)) / "db.yaml"
    path = Path(corpus_dir).expanduser()
    if path.is_file():
        return path
    header = path / "db.yaml"
    if not header.is_file():
        raise ValueError(f"{path}: no audformat header db.yaml found")
    return header


def audio_root(corpus_dir: str | Path) -> Path:
    return header_path(corpus_dir).parent


def read_header(corpus_dir: str | Path) -> dict:
    """The header as plain YAML: tags that would build Python objects are an error."""
    header = header_path(corpus_dir)
    try:
        content = yaml.safe_load(header.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{header}: invalid (or unsafe) YAML: {exc}") from exc
    if not isinstance(content, dict):
        raise ValueError(f"{header}: not an audformat header")
    return content


def _refuse_pickles(root: Path, name: str, header: dict) -> None:
    ids = [*(header.get("tables") or {}), *(header.get("misc_tables") or {})]
    for table_id in ids:
        if (root / f"{name}.{table_id}.pkl").is_file():
            # audformat loads the pickle in preference to a CSV/parquet beside it.
            raise ValueError(
                f"{root}: table '{table_id}' has a pickle {name}.{table_id}.pkl, which paraser "
                "does not load (unpickling can execute code); keep a CSV or parquet copy and "
                f"delete the .pkl, e.g. audformat.Database.load(root).save(root, "
                "storage_format='parquet') on a trusted copy"
            )


def load_database(corpus_dir: str | Path):
    """``audformat.Database.load`` of the database, after the safety checks."""
    import audformat

    header_file = header_path(corpus_dir)
    header = read_header(corpus_dir)
    root, name = header_file.parent, header_file.stem
    _refuse_pickles(root, name, header)
    try:
        return audformat.Database.load(str(root), name=name, load_data=True)
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"{root}: audformat cannot load this database: {exc!r}") from exc


def _seconds(value: object) -> float | None:
    return None if pd.isna(value) else pd.Timedelta(value).total_seconds()


def _values(table, column_id: str) -> dict[Key, str]:
    """One column of a table as {(file, start, end): text}, empty values left out."""
    frame = table.df
    values = frame[column_id]
    found: dict[Key, str] = {}
    for index, value in values.items():
        if pd.isna(value) or str(value).strip() == "":
            continue
        if isinstance(index, tuple):
            file, start, end = index
            start, end = _seconds(start) or None, _seconds(end)
            # A segment from 0 to an open end is the whole file: one key for both tables.
            key = (str(file), None if start is None and end is None else (start or 0.0), end)
        else:
            key = (str(index), None, None)
        found.setdefault(key, str(value))
    return found


def _columns(db) -> list[tuple[str, str, str, str]]:
    """(table id, column id, scheme id, rater id) of every table column, in header order."""
    return [
        (table_id, column_id, column.scheme_id or column_id, str(column.rater_id))
        for table_id, table in db.tables.items()
        for column_id, column in table.columns.items()
    ]


def _emotion_scheme(db, columns: list, wanted: str) -> str | None:
    ids = [scheme for _, _, scheme, _ in columns]
    if wanted in ids:
        return wanted
    for scheme in ids:
        spec = db.schemes.get(scheme)
        categorical = spec is None or spec.labels is not None or spec.dtype in ("str", "object")
        if "emotion" in scheme.lower() and categorical:
            return scheme
    return None


def _combine(db, columns: list) -> dict[Key, str]:
    """Values of the given columns; gold tables/raters first, then header order."""
    ordered = sorted(
        enumerate(columns), key=lambda c: ("gold" not in (c[1][0] + c[1][3]).lower(), c[0])
    )
    result: dict[Key, str] = {}
    for _, (table_id, column_id, _, _) in ordered:
        for key, value in _values(db.tables[table_id], column_id).items():
            result.setdefault(key, value)
    return result


def _lookup(values: dict[Key, str], key: Key) -> str:
    """A segment's value, else its file's."""
    return values.get(key) or values.get((key[0], None, None), "")


def _speaker_genders(db, speaker_scheme: str) -> dict[str, str]:
    scheme = db.schemes.get(speaker_scheme)
    labels = None if scheme is None else scheme.labels
    if isinstance(labels, str) and labels in db.misc_tables:
        table = db.misc_tables[labels].df
        for column in ("gender", "sex"):
            if column in table.columns:
                return {str(k): normalise_gender(g) for k, g in table[column].items()}
    if isinstance(labels, Mapping):
        return {
            str(k): normalise_gender(v.get("gender", v.get("sex", "")))
            for k, v in labels.items()
            if isinstance(v, Mapping)
        }
    return {}


def _canonical(label: str, scheme) -> str | None:
    found = canonical_emotion(label)
    labels = None if scheme is None else scheme.labels
    if found is None and isinstance(labels, Mapping) and label in labels:
        description = labels[label]
        if isinstance(description, Mapping):
            description = description.get("description", "")
        found = canonical_emotion(str(description))
    return found


def _bound(value: float | None) -> str:
    return "" if value is None else repr(round(value, 6))


def prepare(
    corpus_dir: str | Path, *, label_column: str = "emotion", speaker_column: str = "speaker"
) -> pd.DataFrame:
    """One row per file (or segment) that has an emotion and a speaker in the database."""
    db = load_database(corpus_dir)
    root = audio_root(corpus_dir)
    columns = _columns(db)
    scheme = _emotion_scheme(db, columns, label_column)
    if scheme is None:
        raise ValueError(f"{root}: db.yaml has no table with an emotion column")
    emotion = _combine(db, [c for c in columns if c[2] == scheme])
    speaker_columns = [c for c in columns if speaker_column in (c[1], c[2])]
    if not speaker_columns:
        raise ValueError(f"{root}: db.yaml has no table with a speaker column")
    speaker = _combine(db, speaker_columns)
    gender = _combine(db, [c for c in columns if c[2] in ("gender", "sex")])
    language = _combine(db, [c for c in columns if c[2] == "language"])
    genders = _speaker_genders(db, speaker_columns[0][2])
    default_language = normalise_language(db.languages[0]) if db.languages else ""

    dropped: dict[str, int] = {}
    rows = []
    for key, raw in emotion.items():
        file, start, end = key
        label = _canonical(raw, db.schemes.get(scheme))
        who = _lookup(speaker, key)
        reason = (
            f"emotion {raw!r} unmapped" if label is None
            else "no speaker" if not who
            else "audio missing" if not (root / file).is_file()
            else None
        )  # fmt: skip
        if reason:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        rows.append(
            {
                "file": Path(file).as_posix(),
                "label": label,
                "original_label": raw,
                "speaker": who,
                "gender": normalise_gender(_lookup(gender, key)) or genders.get(who, ""),
                "language": normalise_language(_lookup(language, key)) or default_language,
                "start": _bound(start),
                "end": _bound(end),
            }
        )
    if dropped:
        warnings.warn(f"{root}: dropped rows: {dropped}", stacklevel=2)
    if not rows:
        raise ValueError(f"{root}: no usable files (emotion, speaker and audio) in the database")
    frame = build_frame(rows, info)
    if (frame["start"] == "").all() and (frame["end"] == "").all():
        frame = frame.drop(columns=["start", "end"])
    return frame
