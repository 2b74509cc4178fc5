"""audformat databases: ``db.yaml`` plus table files (CSV or parquet).

audformat (https://audeering.github.io/audformat/) stores a database as a
header ``db.yaml`` (schemes, raters, tables, misc tables) next to one file per
table, ``db.<table id>.csv`` (or ``.parquet``), whose index columns
are ``file`` (filewise tables) or ``file,start,end`` (segmented tables).
This recipe reads them with pyyaml/pandas; the ``audformat`` package is not
needed.  ``corpus_dir`` is the database folder (or its ``db.yaml``); ``file``
paths are relative to it.

Source and licence: those of the database (its ``source``/``license`` header
fields); the label set is the database's emotion scheme, mapped by name.

How columns are found (in the filewise tables; segmented tables are ignored):

* emotion: the columns whose scheme (or, without a scheme, whose column id) is
  ``emotion``; else whose scheme id contains ``emotion`` and is categorical
  (dtype str or has labels).  All tables carrying that scheme are combined
  (e.g. per-split tables); where two disagree, a table or rater with
  ``gold`` in its id wins, then header order.
* speaker: columns with scheme or id ``speaker``.
* gender: a filewise column with scheme or id ``gender``/``sex``; else the
  ``gender``/``sex`` column of the misc table the speaker scheme's labels
  name; else a ``gender`` field of a speaker-scheme labels dict.
* language: a filewise ``language`` column, else the header's first language.

Labels map to canonical emotions by name (then via the label's description in
the scheme).  Unlike the name-parsing recipes this one is lenient, because
published databases contain non-emotion labels (``other``, ``no_agreement``):
rows whose emotion is missing or unmappable, rows without a speaker and rows
whose audio is not on disk are dropped with a warning that counts them; a
ValueError is raised when nothing remains, naming the database folder.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml

from paraser.corpora.labels import canonical_emotion
from paraser.corpora.recipes._common import CorpusInfo, build_frame, normalise_gender

info = CorpusInfo(
    name="audformat",
    title="audformat database (db.yaml + tables)",
    language="",
    source="any database in audformat, e.g. from audb (https://audeering.github.io/audb/)",
    licence="that of the database (its db.yaml 'license' field)",
    labels={},
)

_TABLE_SUFFIXES = (".csv", ".parquet")


def header_path(corpus_dir: str | Path) -> Path:
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
    header = header_path(corpus_dir)
    try:
        content = yaml.safe_load(header.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{header}: invalid YAML: {exc}") from exc
    if not isinstance(content, dict):
        raise ValueError(f"{header}: not an audformat header")
    return content


def read_table(root: Path, table_id: str) -> pd.DataFrame:
    """Table ``table_id`` of the database in ``root``, all values as strings."""
    for suffix in _TABLE_SUFFIXES:
        path = root / f"db.{table_id}{suffix}"
        if not path.is_file():
            continue
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = pd.read_parquet(path)
        frame = frame.reset_index() if "file" not in frame.columns else frame
        return frame.astype(object).where(frame.notna(), "").astype(str)
    if (root / f"db.{table_id}.pkl").is_file():
        # Unpickling a downloaded file can run arbitrary code: refuse, say how to convert.
        raise ValueError(
            f"{root}: table '{table_id}' is only stored as db.{table_id}.pkl, a pickle, which "
            "paraser does not load (it can execute code); save it as CSV or parquet, e.g. "
            "audformat.Database.load(...).save(root, storage_format='parquet')"
        )
    raise ValueError(f"{root}: table '{table_id}' listed in db.yaml but db.{table_id}.csv missing")


def _is_filewise(spec: Mapping) -> bool:
    return str(spec.get("type", "filewise")).lower() == "filewise"


def _columns(header: dict) -> list[tuple[str, str, str, str]]:
    """(table id, column id, scheme id, rater id) of every filewise column."""
    found = []
    for table_id, spec in (header.get("tables") or {}).items():
        spec = spec or {}
        if not _is_filewise(spec):
            continue
        for column_id, column in (spec.get("columns") or {}).items():
            column = column or {}
            scheme = column.get("scheme_id") or column_id
            found.append((str(table_id), str(column_id), str(scheme), str(column.get("rater_id"))))
    return found


def _emotion_scheme(header: dict, columns: list) -> str | None:
    schemes = header.get("schemes") or {}
    ids = [scheme for _, _, scheme, _ in columns]
    if "emotion" in ids:
        return "emotion"
    for scheme in ids:
        spec = schemes.get(scheme) or {}
        categorical = "labels" in spec or str(spec.get("dtype", "str")) in ("str", "object")
        if "emotion" in scheme.lower() and categorical:
            return scheme
    return None


def _combine(root: Path, columns: list, tables: dict) -> pd.Series:
    """One value per file from the given columns; gold tables/raters first."""
    ordered = sorted(
        enumerate(columns), key=lambda c: ("gold" not in (c[1][0] + c[1][3]).lower(), c[0])
    )
    result = pd.Series(dtype=str)
    for _, (table_id, column_id, _, _) in ordered:
        if table_id not in tables:
            tables[table_id] = read_table(root, table_id)
        table = tables[table_id]
        if "file" not in table.columns or column_id not in table.columns:
            continue
        values = table.set_index("file")[column_id]
        values = values[values.str.strip() != ""]
        values = values[~values.index.duplicated()]
        result = values if result.empty else result.combine_first(values)
    return result


def _speaker_genders(root: Path, header: dict, tables: dict) -> dict[str, str]:
    scheme = (header.get("schemes") or {}).get("speaker") or {}
    labels = scheme.get("labels")
    if isinstance(labels, str) and labels in (header.get("misc_tables") or {}):
        table = read_table(root, labels)
        key = next(iter((header["misc_tables"][labels] or {}).get("levels") or {}), None)
        key = key if key in table.columns else table.columns[0]
        for column in ("gender", "sex"):
            if column in table.columns:
                return {k: normalise_gender(g) for k, g in zip(table[key], table[column])}
    if isinstance(labels, Mapping):
        return {
            str(k): normalise_gender(v.get("gender", v.get("sex", "")))
            for k, v in labels.items()
            if isinstance(v, Mapping)
        }
    return {}


def _canonical(label: str, scheme: Mapping) -> str | None:
    found = canonical_emotion(label)
    labels = scheme.get("labels")
    if found is None and isinstance(labels, Mapping) and label in labels:
        description = labels[label]
        if isinstance(description, Mapping):
            description = description.get("description", "")
        found = canonical_emotion(str(description))
    return found


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per file that has an emotion and a speaker in the database."""
    header = read_header(corpus_dir)
    root = audio_root(corpus_dir)
    columns = _columns(header)
    tables: dict[str, pd.DataFrame] = {}
    scheme = _emotion_scheme(header, columns)
    if scheme is None:
        raise ValueError(f"{root}: db.yaml has no filewise table with an emotion column")
    emotion = _combine(root, [c for c in columns if c[2] == scheme], tables)
    speaker_columns = [c for c in columns if c[2] == "speaker" or c[1] == "speaker"]
    if not speaker_columns:
        raise ValueError(f"{root}: db.yaml has no filewise table with a speaker column")
    speaker = _combine(root, speaker_columns, tables)
    gender = _combine(root, [c for c in columns if c[2] in ("gender", "sex")], tables)
    language = _combine(root, [c for c in columns if c[2] == "language"], tables)
    genders = _speaker_genders(root, header, tables)
    languages = header.get("languages") or []
    default_language = str(languages[0]) if languages else ""

    emotion_scheme = (header.get("schemes") or {}).get(scheme) or {}
    dropped: dict[str, int] = {}
    rows = []
    for file, raw in emotion.items():
        label = _canonical(raw, emotion_scheme)
        who = speaker.get(file, "")
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
                "gender": normalise_gender(gender.get(file, "")) or genders.get(who, ""),
                "language": language.get(file, default_language),
            }
        )
    if dropped:
        warnings.warn(f"{root}: dropped rows: {dropped}", stacklevel=2)
    if not rows:
        raise ValueError(f"{root}: no usable files (emotion, speaker and audio) in the database")
    return build_frame(rows, info)
