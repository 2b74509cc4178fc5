"""nkululeko CSV databases: ``file,speaker,gender,emotion`` (or any column names).

nkululeko (https://github.com/felixbur/nkululeko) reads a corpus as a CSV with
one row per file: ``file`` (usually an absolute path), ``speaker``, ``gender``
and the target, by default ``emotion``.  Segmented nkululeko tables add
``start`` and ``end`` as pandas timedeltas (``0 days 00:00:01.500000``) or
seconds; both are accepted and stored as seconds.

``corpus_dir`` is the CSV (or a folder holding exactly one CSV).  The columns
are named by ``file_column`` (default ``file``), ``label_column`` (default
``emotion``) and ``speaker_column`` (default ``speaker``): ``paraser corpus
prepare nkululeko data.csv --label-column emo --speaker-column spk``.
Relative paths are relative to the CSV's folder; absolute paths are kept and
``paraser corpus prepare`` rebases them onto their common folder, which the
manifest's sidecar records as its root.

Labels map to canonical emotions by name (strict, as the generic recipe: an
unknown label, a missing file or a duplicated row raises a ValueError naming
the CSV).  Source and licence: those of the user's corpus.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from paraser.corpora.manifest import segment_seconds
from paraser.corpora.recipes._common import CorpusInfo
from paraser.corpora.recipes.generic import csv_path, read_csv, table_frame

info = CorpusInfo(
    name="nkululeko",
    title="nkululeko CSV (file,speaker,gender,emotion; columns selectable)",
    language="",
    source="a CSV database as nkululeko reads it",
    licence="that of the user's corpus",
    labels={},
)


def prepare(
    corpus_dir: str | Path,
    *,
    file_column: str = "file",
    label_column: str = "emotion",
    speaker_column: str = "speaker",
) -> pd.DataFrame:
    """Rows of the CSV, columns renamed to ``file,label,speaker``, sorted by file."""
    path = csv_path(corpus_dir)
    table = read_csv(path)
    wanted = {file_column: "file", label_column: "label", speaker_column: "speaker"}
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: no column(s) {missing} (found: {', '.join(table.columns)}); name them "
            "with --file-column, --label-column and --speaker-column"
        )
    # A column that the renaming would shadow (e.g. a 'label' beside 'emotion') is dropped.
    shadowed = [t for s, t in wanted.items() if t in table.columns and t not in wanted]
    table = table.drop(columns=shadowed).rename(columns=wanted)
    for column in ("start", "end"):
        if column in table.columns:
            numbers = segment_seconds(table[column])
            bad = numbers.map(lambda v: v is None)
            if bad.any():
                lines = (bad[bad].index + 2).tolist()[:5]
                raise ValueError(
                    f"{path}: '{column}' is neither seconds nor a timedelta on line(s) {lines}"
                )
            table[column] = numbers.map(lambda v: "" if pd.isna(v) else repr(float(v)))
    return table_frame(table, path, path.parent, info)
