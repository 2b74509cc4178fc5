"""Generic recipe: a CSV listing ``file,label,speaker`` (any corpus).

``corpus_dir`` is either the CSV itself or a folder holding exactly one
``*.csv`` file (at its top level).  The corpus root is the CSV's folder:
``file`` paths in the CSV are relative to it (absolute paths are allowed and
made relative when they lie below it).  Every listed file must exist.

Labels are mapped with :func:`paraser.corpora.canonical_emotion` (``angry``,
``Anger``, ``rab``, ``fearful``, ...); ``original_label`` keeps what the CSV
says.  This recipe is strict: an unknown label, a missing column, an empty
cell, a duplicated or missing file raises a ValueError naming the CSV.
Optional ``start``/``end`` columns (seconds) make a row one segment of its
file (see :mod:`paraser.corpora.manifest`).
Optional ``gender`` and ``language`` columns are kept (gender normalised to
female/male/""); any other column is carried along as an extra column.

Source, licence and label set: whatever the CSV's corpus has; the manifest's
metadata then has an empty language unless the CSV has a single language.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from paraser.corpora.labels import canonical_emotion
from paraser.corpora.recipes._common import CorpusInfo, build_frame, normalise_gender

info = CorpusInfo(
    name="generic",
    title="Generic CSV corpus (file,label,speaker)",
    language="",
    source="a user-supplied CSV with file,label,speaker columns",
    licence="that of the user's corpus",
    labels={},
)

REQUIRED = ("file", "label", "speaker")


def csv_path(corpus_dir: str | Path) -> Path:
    """The CSV a ``corpus_dir`` argument designates."""
    path = Path(corpus_dir).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise ValueError(f"{path}: neither a CSV file nor a directory")
    found = sorted(p for p in path.glob("*.csv") if p.is_file())
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise ValueError(f"{path}: expected exactly one CSV file, found {names}")
    return found[0]


def audio_root(corpus_dir: str | Path) -> Path:
    """The folder ``file`` paths are relative to: the CSV's folder."""
    return csv_path(corpus_dir).parent


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV with every cell as a stripped-header string table; ValueError naming the file."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV: {exc}") from exc
    table.columns = [str(c).strip() for c in table.columns]
    return table


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """Rows of the CSV, with canonical labels, sorted by file."""
    path = csv_path(corpus_dir)
    return table_frame(read_csv(path), path, path.parent, info)


def table_frame(
    table: pd.DataFrame, path: Path, root: Path, info: CorpusInfo, *, sort: bool = True
) -> pd.DataFrame:
    """A ``file,label,speaker[,start,end,...]`` table -> the recipe frame (strict).

    ``path`` names the source in errors; relative ``file`` paths are relative
    to ``root``, and files below ``root`` are made relative to it.  Optional
    ``start``/``end`` (seconds) make a row a segment of its file.  Rows are
    sorted by file unless ``sort`` is false.
    """
    table = table.copy()
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; need {', '.join(REQUIRED)} "
            f"(found: {', '.join(table.columns)})"
        )
    for column in REQUIRED:
        table[column] = table[column].str.strip()
        empty = table[column] == ""
        if empty.any():
            lines = (empty[empty].index + 2).tolist()[:5]
            raise ValueError(f"{path}: empty '{column}' on line(s) {lines}")

    labels = table["label"].map(canonical_emotion)
    unknown = table.loc[labels.isna(), "label"].value_counts()
    if len(unknown):
        raise ValueError(
            f"{path}: label(s) with no canonical emotion: {unknown.to_dict()}; rename them "
            f"to one of the canonical names or their usual spellings, or drop those rows"
        )

    files = []
    for name in table["file"]:
        file = Path(name)
        absolute = file if file.is_absolute() else root / file
        if not absolute.is_file():
            files.append(None)
            continue
        try:
            files.append(absolute.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            files.append(file.as_posix())
    missing_files = [n for n, f in zip(table["file"], files) if f is None]
    if missing_files:
        raise ValueError(
            f"{path}: {len(missing_files)} listed file(s) not found below {root}, "
            f"e.g. {missing_files[:5]}"
        )
    table["file"] = files
    duplicated = table.duplicated([c for c in ("file", "start", "end") if c in table.columns])
    if duplicated.any():
        raise ValueError(
            f"{path}: duplicated file(s), e.g. {table.loc[duplicated, 'file'].head(3).tolist()}"
        )

    table["original_label"] = table["label"]
    table["label"] = labels
    if "gender" in table.columns:
        table["gender"] = table["gender"].map(normalise_gender)
    return build_frame(table.to_dict("records"), info, sort=sort)
