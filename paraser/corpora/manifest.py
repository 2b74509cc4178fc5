"""Corpus manifests: one row per utterance.

On disk a manifest is a CSV with at least the columns ``file``, ``label`` and
``speaker``.  Optional ``language`` and ``gender`` columns and any other
columns are kept.  ``file`` is relative to the *corpus root*: the CSV's folder,
unless a sidecar ``<name>.json`` beside the CSV names another ``root``
(relative to the CSV's folder, or absolute).

The path rule: a relative ``file`` is joined to the corpus root and must stay
inside it, checked on the path as written (``.``/``..`` normalised, symlinks not
resolved), so a corpus built from symlinks works and links are followed to
read; an absolute ``file`` is taken as written, wherever it points.  Every
``file`` must end in a known audio extension (the recipes' ``AUDIO_EXTENSIONS``); that
each is a regular file is checked before anything opens it, at extraction.
Every problem is a :class:`ManifestError` naming the CSV and its line.

The sidecar may also carry ``language`` (default for rows without one),
``description``, ``source`` and ``licence``.

Optional ``start`` and ``end`` columns (seconds, empty for the whole file) make
a row one segment of its file, so one long recording yields many utterances;
the utterance id is then ``file#t=start,end``.

In memory (what :func:`load_manifest` returns) a manifest is a DataFrame with
the documented columns of :data:`MANIFEST_COLUMNS`, plus any extra columns.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paraser.audio import segment_item
from paraser.corpora.labels import LabelMap
from paraser.results import atomic_write_text

REQUIRED_COLUMNS: tuple[str, ...] = ("file", "label", "speaker")

#: Columns of a loaded manifest, in order.
MANIFEST_COLUMNS: dict[str, str] = {
    "corpus": "corpus name",
    "utterance": "utterance id, unique within the corpus (file path relative to the manifest)",
    "path": "absolute path of the audio file",
    "label": "class in the shared label space",
    "original_label": "label as written in the manifest",
    "speaker": "speaker id, prefixed with the corpus name so ids never collide across corpora",
    "language": "language (ISO 639 code or name), empty when unknown",
    "gender": "speaker gender, empty when unknown",
}


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class LoadedManifest:
    """A loaded manifest and what loading it dropped."""

    frame: pd.DataFrame
    source: Path
    n_dropped_unmapped: int
    dropped_labels: dict[str, int]
    #: The dropped rows (label ``<NA>``): outside the label space, but still the
    #: corpus' audio, which label-free (transductive) methods see like every other row.
    outside: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return str(self.frame["corpus"].iloc[0]) if len(self.frame) else self.source.stem


# Column names the user gave for the standard ones (--label-column ...), for this call chain.
_COLUMN_NAMES: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "manifest_column_names", default=None
)


@contextlib.contextmanager
def column_names(
    file: str | None = None, label: str | None = None, speaker: str | None = None
) -> Iterator[None]:
    """Within the block, manifest CSVs that have these columns use them as ``file``/``label``/
    ``speaker`` (e.g. a nkululeko CSV's ``emotion``); CSVs without them keep the standard ones.
    """
    names = {k: v for k, v in (("file", file), ("label", label), ("speaker", speaker)) if v}
    token = _COLUMN_NAMES.set(names)
    try:
        yield
    finally:
        _COLUMN_NAMES.reset(token)


def _rename_columns(frame: pd.DataFrame) -> pd.DataFrame:
    renames = {
        given: standard
        for standard, given in (_COLUMN_NAMES.get() or {}).items()
        if given in frame.columns and given != standard
    }
    shadowed = [s for s in renames.values() if s in frame.columns and s not in renames]
    return frame.drop(columns=shadowed).rename(columns=renames)


def read_manifest_csv(path: str | Path) -> pd.DataFrame:
    """Read and validate a manifest CSV without mapping labels.

    Columns named in an enclosing :func:`column_names` block stand in for the
    standard ones.  Raises :class:`ManifestError` naming the file, the row and
    the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    try:
        lines = _record_lines(path)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: not a readable CSV manifest: {exc}") from exc
    frame = _rename_columns(frame)
    if len(lines) == len(frame):
        frame.attrs["lines"] = lines
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ManifestError(
            f"{path}: missing required column(s) {missing}; a manifest needs "
            f"{', '.join(REQUIRED_COLUMNS)} (found: {', '.join(frame.columns)}); other names "
            "can stand in: paraser --file-column/--label-column/--speaker-column"
        )
    if frame.empty:
        raise ManifestError(f"{path}: no utterance rows")
    for column in REQUIRED_COLUMNS:
        values = frame[column].str.strip()
        empty = values == ""
        if empty.any():
            rows = [_line(frame, i) for i in empty[empty].index[:5]]
            raise ManifestError(
                f"{path}: empty '{column}' in {int(empty.sum())} row(s), e.g. line(s) {rows}"
            )
        frame[column] = values
    _check_segments(frame, path)
    duplicated = frame.duplicated([c for c in ("file", *SEGMENT_COLUMNS) if c in frame.columns])
    if duplicated.any():
        examples = [
            f"line {_line(frame, i)}: {frame.at[i, 'file']}" for i in frame.index[duplicated][:3]
        ]
        raise ManifestError(
            f"{path}: {int(duplicated.sum())} duplicate file row(s), e.g. {examples}"
        )
    return frame


#: Optional columns that make a row one segment (seconds) of its file.
SEGMENT_COLUMNS: tuple[str, ...] = ("start", "end")


def segment_seconds(values: pd.Series) -> pd.Series:
    """Segment bounds as float seconds from seconds or pandas timedeltas (nkululeko's
    ``0 days 00:00:01.500000``); empty/NaT is NaN, anything unparsable is ``None``."""
    text = values.astype(str).str.strip()
    empty = text.isin(["", "NaT", "nan", "None"])
    numbers = pd.to_numeric(text.where(~empty), errors="coerce").astype(object)
    for index in numbers.index[numbers.isna() & ~empty]:
        try:
            numbers[index] = pd.Timedelta(text[index]).total_seconds()
        except ValueError:
            numbers[index] = None
    return numbers.where(~empty, np.nan)


def _check_segments(frame: pd.DataFrame, path: Path) -> None:
    """``start``/``end`` must be empty or seconds with 0 <= start < end (made seconds in place)."""
    for column in SEGMENT_COLUMNS:
        if column not in frame.columns:
            continue
        numbers = segment_seconds(frame[column])
        bad = numbers.map(lambda v: v is None or (not pd.isna(v) and v < 0))
        if bad.any():
            lines = [_line(frame, i) for i in bad[bad].index[:5]]
            raise ManifestError(
                f"{path}: '{column}' must be seconds >= 0 or a timedelta (or empty), e.g. "
                f"line(s) {lines}"
            )
        frame[column] = numbers.map(lambda v: "" if pd.isna(v) else repr(float(v)))
    if set(SEGMENT_COLUMNS) <= set(frame.columns):
        # From 0 to the end is the whole file: spelled one way, so duplicates are caught.
        whole = (frame["end"] == "") & frame["start"].isin(["", "0.0"])
        frame.loc[whole, "start"] = ""
        start = pd.to_numeric(frame["start"].where(frame["start"] != ""), errors="coerce")
        end = pd.to_numeric(frame["end"].where(frame["end"] != ""), errors="coerce")
        bad = end.notna() & (end <= start.fillna(0.0))
        if bad.any():
            lines = [_line(frame, i) for i in bad[bad].index[:5]]
            raise ManifestError(f"{path}: segment 'end' not after 'start' on line(s) {lines}")


def _utterance_ids(raw: pd.DataFrame) -> pd.Series:
    """``file``, or ``file#t=start,end`` for a segment row (unique within the corpus)."""
    if not any(c in raw.columns for c in SEGMENT_COLUMNS):
        return raw["file"].astype("string")
    starts = raw["start"] if "start" in raw.columns else [None] * len(raw)
    ends = raw["end"] if "end" in raw.columns else [None] * len(raw)
    ids = [segment_item(f, s, e) for f, s, e in zip(raw["file"], starts, ends)]
    return pd.Series(ids, index=raw.index, dtype="string")


def _record_lines(path: Path) -> list[int]:
    """The line each data record starts on; a record with the wrong field count is an error.

    pandas takes a first data row with one extra field as an index column (a
    TypeError later) and, when every row has one (an unquoted ``Smith, J``),
    shifts every column silently.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return []
        lines = []
        start = reader.line_num + 1
        for record in reader:
            if record and any(field.strip() for field in record):
                if len(record) != len(header):
                    raise ManifestError(
                        f"{path}: line {start} has {len(record)} field(s), the header "
                        f"{len(header)} ({', '.join(header)}); quote a value holding a comma"
                    )
                lines.append(start)
            start = reader.line_num + 1
    return lines


def _line(frame: pd.DataFrame, row: int) -> int:
    """The CSV line of ``frame``'s row ``row`` (header first, 1-based)."""
    lines = frame.attrs.get("lines")
    return lines[row] if lines is not None else row + 2


def _resolve_paths(frame: pd.DataFrame, root: Path, manifest_path: Path) -> pd.Series:
    # Lexical, not resolved: a symlink inside the root stays inside it (and is followed to
    # read), while '..' that climbs out is refused whatever the links say.
    # Imported here: the recipes package imports this module (write_manifest).
    from paraser.corpora.recipes._common import AUDIO_EXTENSIONS

    root_text = os.path.abspath(root)
    paths = []
    for row, file in zip(frame.index, frame["file"]):
        where = f"{manifest_path}: line {_line(frame, row)}: file '{file}'"
        absolute = os.path.normpath(os.path.join(root_text, file))
        if not os.path.isabs(file) and os.path.commonpath([root_text, absolute]) != root_text:
            raise ManifestError(f"{where} escapes the corpus root {root_text}")
        if Path(file).suffix.lower() not in AUDIO_EXTENSIONS:
            raise ManifestError(
                f"{where} has no audio extension (known: {', '.join(sorted(AUDIO_EXTENSIONS))})"
            )
        paths.append(absolute)
    series = pd.Series(paths, index=frame.index, dtype="string")
    # 'a.wav' and './a.wav' pass the raw duplicate check but are one utterance, which
    # could land in both a training and a test fold.
    segments = [c for c in SEGMENT_COLUMNS if c in frame.columns]
    keyed = pd.concat([series.rename("path"), frame[segments]], axis=1)
    same = keyed.duplicated(keep=False)
    if same.any():
        examples = [f"line {_line(frame, i)}: {frame.at[i, 'file']}" for i in frame.index[same][:4]]
        raise ManifestError(
            f"{manifest_path}: {int(keyed.duplicated().sum())} row(s) name a file another row "
            f"names too, e.g. {examples}"
        )
    return series


def sidecar_path(csv_path: str | Path) -> Path:
    return Path(csv_path).with_suffix(".json")


def read_metadata(csv_path: str | Path) -> dict:
    """The sidecar metadata of a manifest (empty when there is none)."""
    sidecar = sidecar_path(csv_path)
    if not sidecar.is_file():
        return {}
    try:
        return json.loads(sidecar.read_text())
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{sidecar}: invalid JSON: {exc}") from exc


def corpus_root(csv_path: str | Path) -> Path:
    csv_path = Path(csv_path)
    root = read_metadata(csv_path).get("root")
    if not root:
        return csv_path.parent
    root = Path(root)
    return root if root.is_absolute() else csv_path.parent / root


def load_manifest(
    path: str | Path,
    *,
    name: str | None = None,
    label_map: LabelMap | None = None,
    map_labels: bool = True,
) -> LoadedManifest:
    """Load a manifest CSV, resolve paths and map labels into the shared space.

    Utterances whose label does not map are dropped and counted.  With
    ``map_labels=False`` every row is kept and ``label`` is the original label
    (what extraction wants: features do not depend on labels).
    """
    path = Path(path)
    raw = read_manifest_csv(path)
    metadata = read_metadata(path)
    if "language" not in raw.columns and metadata.get("language"):
        raw["language"] = metadata["language"]
    label_map = label_map or LabelMap()
    corpus = name or path.stem
    frame = pd.DataFrame(
        {
            "corpus": corpus,
            "utterance": _utterance_ids(raw),
            "path": _resolve_paths(raw, corpus_root(path), path),
            "label": (
                label_map.apply(raw["label"]).values
                if map_labels
                else raw["label"].astype("string").values
            ),
            "original_label": raw["label"].astype("string"),
            "speaker": (corpus + ":" + raw["speaker"]).astype("string"),
            "language": raw.get("language", pd.Series("", index=raw.index)).astype("string"),
            "gender": raw.get("gender", pd.Series("", index=raw.index)).astype("string"),
        }
    )
    extras = [c for c in raw.columns if c not in ("file", "label", "speaker", "language", "gender")]
    for column in extras:
        frame[column] = raw[column].values
    unmapped = frame["label"].isna()
    # Counted by the manifest's label: a recipe's own ``original_label`` column
    # (the corpus' code, e.g. EmoDB's "W") replaces the frame's above.
    dropped = raw.loc[unmapped.to_numpy(), "label"].value_counts().to_dict()
    outside = frame.loc[unmapped].reset_index(drop=True)
    frame = frame.loc[~unmapped].reset_index(drop=True)
    return LoadedManifest(
        frame=frame,
        source=path,
        n_dropped_unmapped=int(unmapped.sum()),
        dropped_labels={str(k): int(v) for k, v in dropped.items()},
        outside=outside,
    )


def write_manifest(
    frame: pd.DataFrame,
    csv_path: str | Path,
    audio_root: str | Path,
    metadata: dict | None = None,
) -> Path:
    """Write a recipe's DataFrame as a manifest CSV with its sidecar.

    ``frame['file']`` holds paths absolute or relative to ``audio_root``; they
    are written relative to ``audio_root``, and the sidecar records the root
    (relative to the CSV's folder), so the manifest stays portable together
    with its corpus.
    """
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ManifestError(f"{csv_path}: refusing to write a manifest without {missing}")
    audio_root = Path(audio_root).resolve()
    out = frame.copy()
    out["file"] = [_portable(Path(f), audio_root) for f in out["file"]]
    meta = dict(metadata or {})
    meta["root"] = Path(os.path.relpath(audio_root, csv_path.parent.resolve())).as_posix()
    atomic_write_text(sidecar_path(csv_path), json.dumps(meta, indent=2) + "\n")
    atomic_write_text(csv_path, out.to_csv(index=False))
    return csv_path


def _portable(file: Path, audio_root: Path) -> str:
    """``file`` relative to ``audio_root``; an absolute path outside it stays absolute."""
    absolute = file if file.is_absolute() else audio_root / file
    relative = Path(os.path.relpath(absolute, audio_root))
    if file.is_absolute() and relative.parts[:1] == ("..",):
        return file.as_posix()  # a relative path would leave the root, which loading refuses
    return relative.as_posix()


def manifest_hash(frame: pd.DataFrame) -> str:
    """A short, order-independent fingerprint of a loaded manifest's content."""
    cols = ["utterance", "label", "speaker"]
    text = frame[cols].sort_values("utterance").to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
