"""Hugging Face ``datasets`` on disk: a ``save_to_disk`` folder or an ``audiofolder``.

Offline only: nothing is downloaded.  ``corpus_dir`` is

* a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``
  (``state.json`` or ``dataset_dict.json``; all splits of a DatasetDict are
  taken, their name kept in a ``split`` column), read with
  ``datasets.load_from_disk``; or
* an ``audiofolder`` directory: audio files (optionally under split folders
  such as ``train/``) with a ``metadata.csv`` or ``metadata.jsonl`` whose
  ``file_name`` column gives each file's path relative to the metadata file.
  Without a label column the label is the file's parent folder name, as
  ``audiofolder`` infers it.  This layout is read directly (``datasets`` 4+
  needs ``torchcodec`` and FFmpeg just to load it, even without decoding).

Columns: ``audio_column`` (default ``audio``; an Audio feature, or a column of
paths), ``label_column`` (default ``label``; strings or a ClassLabel) and
``speaker_column`` (default ``speaker``).  A ``gender``/``language`` column is
kept.  Audio is used from the dataset's own files where they exist; audio
stored inside the dataset (``save_to_disk`` embeds the bytes of every file) is
written once, byte for byte, to ``audio_dir`` (default
``$PARASER_CACHE/hf_audio/<dataset folder name>``, i.e. beside the feature
cache), one file per content hash, and re-used on later runs.

Rows of a saved dataset keep the dataset's order (splits in their order);
audiofolder rows are sorted by file.  Labels map to canonical emotions by name
(strict).  ``load_from_disk`` needs the
``datasets`` package (``pip install 'paraser[importers]'``).  Source and
licence: those of the dataset.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pandas as pd
import soundfile as sf

from paraser.corpora.recipes._common import CorpusInfo, is_audio, optional_import
from paraser.corpora.recipes.generic import table_frame

info = CorpusInfo(
    name="hf_dataset",
    title="Hugging Face dataset on disk (save_to_disk folder or audiofolder)",
    language="",
    source="a Hugging Face datasets folder (offline; nothing is downloaded)",
    licence="that of the dataset",
    labels={},
)

_METADATA = ("metadata.csv", "metadata.jsonl")


def default_audio_dir(dataset_dir: Path) -> Path:
    cache = Path(os.environ.get("PARASER_CACHE", "features_cache"))
    return cache / "hf_audio" / dataset_dir.resolve().name


def _write_once(data: bytes, name: str | None, audio_dir: Path, where: Path) -> Path:
    """Embedded audio as a file named by its content hash (written only if absent)."""
    digest = hashlib.sha256(data).hexdigest()
    base = Path(name).name if name and is_audio(name) else None
    if base is None:
        try:
            kind = sf.info(io.BytesIO(data)).format
        except Exception as exc:  # noqa: BLE001 - any decoder failure means the same
            raise ValueError(f"{where}: embedded audio '{name}' is not a known format") from exc
        base = f"audio.{kind.lower()}"
    path = audio_dir / digest[:16] / base
    if not path.is_file() or path.stat().st_size != len(data):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


def _labels(column, feature) -> list[str]:
    names = getattr(feature, "names", None)
    if names is not None:  # a ClassLabel: integers index its names
        return [names[int(v)] if v is not None and int(v) >= 0 else "" for v in column]
    return ["" if v is None else str(v) for v in column]


def _from_saved(
    folder: Path, audio_column: str, label_column: str, speaker_column: str, audio_dir: Path
) -> pd.DataFrame:
    datasets = optional_import("datasets", "hf_dataset")
    loaded = datasets.load_from_disk(str(folder))
    splits = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"": loaded}
    frames = []
    for split, dataset in splits.items():
        missing = [
            c for c in (audio_column, label_column, speaker_column) if c not in dataset.features
        ]
        if missing:
            raise ValueError(
                f"{folder}: no column(s) {missing} (found: {', '.join(dataset.features)}); name "
                "them with --audio-column, --label-column and --speaker-column"
            )
        audio_feature = dataset.features[audio_column]
        if isinstance(audio_feature, datasets.Audio):
            dataset = dataset.cast_column(audio_column, datasets.Audio(decode=False))
        files = []
        for value in dataset[audio_column]:
            files.append(_audio_file(value, folder, audio_dir))
        frame = pd.DataFrame(
            {
                "file": files,
                "label": _labels(dataset[label_column], dataset.features[label_column]),
                "speaker": _labels(dataset[speaker_column], dataset.features[speaker_column]),
            }
        )
        for extra in ("gender", "language"):
            if extra in dataset.features and extra not in (label_column, speaker_column):
                frame[extra] = _labels(dataset[extra], dataset.features[extra])
        if split:
            frame["split"] = split
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _audio_file(value: object, folder: Path, audio_dir: Path) -> str:
    """The file one audio cell stands for: its own file where it exists, else its bytes written."""
    if isinstance(value, str):
        value = {"path": value, "bytes": None}
    if not isinstance(value, dict):
        raise ValueError(f"{folder}: audio cells must be files or {{bytes, path}}, not {value!r}")
    path, data = value.get("path"), value.get("bytes")
    if path:
        candidate = Path(path).expanduser()
        candidate = candidate if candidate.is_absolute() else folder / candidate
        if candidate.is_file():
            return str(candidate.resolve())
    if data:
        return str(_write_once(data, path, audio_dir, folder).resolve())
    raise ValueError(f"{folder}: audio '{path}' is neither a file on disk nor embedded bytes")


def _from_audiofolder(folder: Path, label_column: str, speaker_column: str) -> pd.DataFrame:
    metadata = sorted(p for name in _METADATA for p in folder.rglob(name))
    if not metadata:
        raise ValueError(
            f"{folder}: neither a save_to_disk folder (state.json / dataset_dict.json) nor an "
            "audiofolder with metadata.csv or metadata.jsonl"
        )
    frames = []
    for path in metadata:
        if path.suffix == ".csv":
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            lines = path.read_text().splitlines()
            table = pd.DataFrame([json.loads(line) for line in lines if line.strip()]).astype(str)
        if "file_name" not in table.columns:
            raise ValueError(f"{path}: an audiofolder metadata file needs a 'file_name' column")
        files = [(path.parent / f).resolve() for f in table["file_name"]]
        table["file"] = [str(f) for f in files]
        if label_column not in table.columns:
            # audiofolder's rule: the parent folder names the class.
            table[label_column] = [f.parent.name for f in files]
        if speaker_column not in table.columns:
            raise ValueError(
                f"{path}: no '{speaker_column}' column (found: {', '.join(table.columns)}); name "
                "it with --speaker-column"
            )
        split = path.parent.relative_to(folder).as_posix()
        table = table.rename(columns={label_column: "label", speaker_column: "speaker"})
        if split != ".":
            table["split"] = split
        frames.append(table.drop(columns=["file_name"]))
    return pd.concat(frames, ignore_index=True)


def prepare(
    corpus_dir: str | Path,
    *,
    audio_column: str = "audio",
    label_column: str = "label",
    speaker_column: str = "speaker",
    audio_dir: str | Path | None = None,
) -> pd.DataFrame:
    """One row per dataset example, sorted by file."""
    folder = Path(corpus_dir).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a dataset folder")
    saved = (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()
    if saved:
        target = Path(audio_dir) if audio_dir else default_audio_dir(folder)
        table = _from_saved(folder, audio_column, label_column, speaker_column, target)
    else:
        table = _from_audiofolder(folder, label_column, speaker_column)
    # A saved dataset keeps its example order: embedded files are named by content hash,
    # and sorting by those names would shuffle the rows (and so the folds built on them).
    return table_frame(table, folder, folder, info, sort=not saved)
