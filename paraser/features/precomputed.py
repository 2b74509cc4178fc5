"""Pre-extracted feature tables: CSV files of numeric features, one row per utterance.

Published corpora are sometimes distributed as feature tables rather than audio
(e.g. the Urdu-Sindhi tables of Syed et al. 2020).  A table is a CSV with a
``label`` column, optionally ``speaker`` and ``utterance`` (or ``file``/``name``)
columns, and any number of numeric feature columns.  A corpus is a folder with
one table per feature set, ``<corpus>/<feature set>.csv``; all tables of a
corpus must list the same utterances (matched by utterance id, or by row order
when there is none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paraser.corpora import LabelMap

#: Columns that are metadata, not features (case-insensitive).
ID_COLUMNS = ("utterance", "file", "name", "filename", "instance")
META_COLUMNS = ("label", "class", "emotion", "speaker", "gender", "language", *ID_COLUMNS)


def _column(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def read_feature_table(path: str | Path) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """(metadata with utterance/label/speaker, float32 features, feature names) of one CSV."""
    path = Path(path)
    raw = pd.read_csv(path)
    label = _column(raw, ("label", "class", "emotion"))
    if label is None:
        raise ValueError(f"{path}: a feature table needs a 'label' column")
    ident = _column(raw, ID_COLUMNS)
    speaker = _column(raw, ("speaker",))
    meta_columns = {c for c in raw.columns if c.lower() in META_COLUMNS}
    features = raw.drop(columns=sorted(meta_columns))
    non_numeric = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        raise ValueError(f"{path}: non-numeric feature column(s) {non_numeric[:5]}")
    if features.shape[1] == 0:
        raise ValueError(f"{path}: no numeric feature columns")
    meta = pd.DataFrame(
        {
            "utterance": raw[ident].astype(str) if ident else [f"row{i}" for i in range(len(raw))],
            "label": raw[label].astype(str),
            "speaker": raw[speaker].astype(str) if speaker else "",
        }
    )
    values = features.to_numpy(dtype=np.float32)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        rows = (np.flatnonzero(bad) + 2).tolist()[:5]  # +2: header line, 1-based
        raise ValueError(
            f"{path}: {int(bad.sum())} row(s) with NaN or infinite features, e.g. line(s) {rows}; "
            "fix or remove them (paraser never imputes silently)"
        )
    return meta, values, [str(c) for c in features.columns]


def load_table_corpus(
    corpus_dir: str | Path,
    feature_sets: Sequence[str],
    *,
    name: str | None = None,
    label_map: LabelMap | None = None,
):
    """A :class:`TableCorpus` from ``corpus_dir/<set>.csv`` tables.

    Labels are mapped to the shared label space (rows outside it are dropped);
    a missing speaker column gives every utterance its own speaker id, so
    speaker-level statistics fall back to utterances.
    """
    corpus_dir = Path(corpus_dir)
    label_map = label_map or LabelMap()
    frame: pd.DataFrame | None = None
    matrices: dict[str, np.ndarray] = {}
    for feature_set in feature_sets:
        path = corpus_dir / f"{feature_set}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no '{feature_set}' table for this corpus")
        meta, values, _ = read_feature_table(path)
        if frame is None:
            frame = meta
        elif set(meta["utterance"]) != set(frame["utterance"]) or len(meta) != len(frame):
            raise ValueError(f"{path}: lists other utterances than {corpus_dir}'s other tables")
        else:
            order = pd.Series(np.arange(len(meta)), index=meta["utterance"].to_numpy())
            values = values[order.loc[frame["utterance"]].to_numpy()]
        matrices[feature_set] = values
    if frame is None:
        raise ValueError("no feature sets requested")
    frame = frame.copy()
    frame["speaker"] = frame["speaker"].where(frame["speaker"] != "", frame["utterance"])
    mapped = label_map.apply(frame["label"])
    keep = mapped.notna().to_numpy()
    frame = frame.assign(label=mapped).loc[keep].reset_index(drop=True)
    return TableCorpus(name or corpus_dir.name, frame, {k: v[keep] for k, v in matrices.items()})


@dataclass(frozen=True)
class TableCorpus:
    """Imported features: the same shape as an extracted corpus (name, rows, matrices)."""

    name: str
    frame: pd.DataFrame
    features: dict[str, np.ndarray]


def is_table_corpus(spec: str | Path) -> bool:
    """A folder of ``<feature set>.csv`` tables (not a manifest) names a table corpus."""
    path = Path(spec)
    return path.is_dir() and any(path.glob("*.csv"))
