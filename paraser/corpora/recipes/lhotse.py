"""lhotse manifests: a RecordingSet + SupervisionSet, or a CutSet, as JSONL.

lhotse (https://lhotse.readthedocs.io) describes a corpus as recordings (audio
sources) and supervisions (segments of a recording with speaker, language,
gender and custom fields).  ``corpus_dir`` is a folder holding one
``*recordings*.jsonl[.gz]`` and one ``*supervisions*.jsonl[.gz]``, or one
``*cuts*.jsonl[.gz]``; or the path of a cuts (or supervisions) file itself,
whose recordings file is then found beside it.

Each supervision is one utterance:

* label: the supervision's custom field ``label_column`` (default
  ``emotion``), else its attribute of that name;
* speaker: the attribute (or custom field) ``speaker_column`` (default ``speaker``);
* the segment ``start``/``end`` (seconds) in its recording: a supervision that
  covers the whole recording is the whole file.  In a cut, supervision times
  are relative to the cut and are shifted by the cut's start;
* the file: the recording's (first) ``file`` source; a relative source path is
  taken relative to the manifest's folder.  Recordings read from URLs,
  commands or memory are refused (nothing is downloaded or run).

Channels are averaged as for every other file (a supervision's ``channel`` is
not used).  Labels map to canonical emotions by name (strict).  Needs the
``lhotse`` package (``pip install 'paraser[importers]'``).  Source and
licence: those of the user's corpus.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import CorpusInfo, normalise_gender, optional_import
from paraser.corpora.recipes.generic import table_frame

info = CorpusInfo(
    name="lhotse",
    title="lhotse manifests (recordings + supervisions, or cuts; JSONL)",
    language="",
    source="lhotse RecordingSet/SupervisionSet or CutSet JSONL files",
    licence="that of the user's corpus",
    labels={},
)

_SUFFIXES = (".jsonl", ".jsonl.gz")


def _find(folder: Path, kind: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if kind in p.name and p.name.endswith(_SUFFIXES))


def manifest_files(corpus_dir: str | Path) -> tuple[Path | None, Path | None, Path | None]:
    """(recordings, supervisions, cuts) files a ``corpus_dir`` argument designates."""
    path = Path(corpus_dir).expanduser()
    if path.is_file():
        if "cuts" in path.name:
            return None, None, path
        folder, supervisions = path.parent, path
    elif path.is_dir():
        folder, supervisions = path, None
    else:
        raise ValueError(f"{path}: no lhotse manifest (file or folder) found")
    cuts = _find(folder, "cuts")
    if supervisions is None:
        found = _find(folder, "supervisions")
        if len(found) > 1:
            raise ValueError(f"{folder}: several supervision files {[p.name for p in found]}")
        supervisions = found[0] if found else None
    if supervisions is None:
        if len(cuts) != 1:
            names = [p.name for p in cuts] or "none"
            raise ValueError(
                f"{folder}: expected *recordings*.jsonl[.gz] with *supervisions*.jsonl[.gz], "
                f"or exactly one *cuts*.jsonl[.gz] (cuts found: {names})"
            )
        return None, None, cuts[0]
    recordings = _find(folder, "recordings")
    if len(recordings) != 1:
        raise ValueError(
            f"{folder}: expected one *recordings*.jsonl[.gz] beside {supervisions.name}, found "
            f"{[p.name for p in recordings] or 'none'}"
        )
    return recordings[0], supervisions, None


def _field(segment, name: str) -> object:
    custom = getattr(segment, "custom", None) or {}
    if name in custom:
        return custom[name]
    return getattr(segment, name, None)


def _source(recording, folder: Path) -> Path:
    files = [s for s in recording.sources if s.type == "file"]
    if not files:
        kinds = sorted({s.type for s in recording.sources})
        raise ValueError(
            f"{folder}: recording '{recording.id}' has no file source (only {kinds}); paraser "
            "reads local files only"
        )
    path = Path(files[0].source).expanduser()
    return path if path.is_absolute() else (folder / path)


def _rows(pairs, folder: Path, label_column: str, speaker_column: str, where: Path) -> list:
    """Rows from (recording, supervision, offset of the supervision's time base)."""
    rows = []
    for recording, segment, offset in pairs:
        label, speaker = _field(segment, label_column), _field(segment, speaker_column)
        if label in (None, ""):
            raise ValueError(f"{where}: supervision '{segment.id}' has no '{label_column}'")
        if speaker in (None, ""):
            raise ValueError(f"{where}: supervision '{segment.id}' has no '{speaker_column}'")
        start = offset + float(segment.start)
        end = start + float(segment.duration)
        whole = start <= 0 and end >= float(recording.duration) - 0.5 / recording.sampling_rate
        rows.append(
            {
                "file": str(_source(recording, folder)),
                "start": "" if whole else repr(round(start, 6)),
                "end": "" if whole else repr(round(end, 6)),
                "label": str(label),
                "speaker": str(speaker),
                "gender": normalise_gender(_field(segment, "gender") or ""),
                "language": str(_field(segment, "language") or ""),
                "supervision": segment.id,
            }
        )
    return rows


def prepare(
    corpus_dir: str | Path, *, label_column: str = "emotion", speaker_column: str = "speaker"
) -> pd.DataFrame:
    """One row per supervision, sorted by file (then segment)."""
    lhotse = optional_import("lhotse", "lhotse")
    recordings_path, supervisions_path, cuts_path = manifest_files(corpus_dir)
    if cuts_path is not None:
        cuts = lhotse.load_manifest(cuts_path)
        pairs = [
            (cut.recording, segment, float(cut.start))
            for cut in cuts
            for segment in cut.supervisions
        ]
        where = cuts_path
    else:
        recordings = lhotse.load_manifest(recordings_path)
        supervisions = lhotse.load_manifest(supervisions_path)
        pairs = []
        for segment in supervisions:
            if segment.recording_id not in recordings:
                raise ValueError(
                    f"{supervisions_path}: supervision '{segment.id}' names recording "
                    f"'{segment.recording_id}', which {recordings_path.name} lacks"
                )
            pairs.append((recordings[segment.recording_id], segment, 0.0))
        where = supervisions_path
    if not pairs:
        raise ValueError(f"{where}: no supervisions")
    rows = _rows(pairs, where.parent, label_column, speaker_column, where)
    table = pd.DataFrame(rows)
    if (table["start"] == "").all():
        table = table.drop(columns=["start", "end"])
    return table_frame(table, where, where.parent, info)
