"""Punjabi RASA: Punjabi emotional speech (files ``PAN_<gender>_<emotion>_<n>``).

Source: the Punjabi part of the RASA emotional speech collection, as
distributed with files named ``PAN_<gender>_<emotion>_<n>.wav``.
Licence: as stated by the distributor (not verified here); research use.

Implemented convention (**checked only on a fake tree**): ``PAN`` (language
prefix), gender (``M``/``F`` or ``male``/``female``), emotion word, running
number, e.g. ``PAN_F_angry_12.wav``.  Emotion words: angry, happy, sad,
neutral, fear, disgust, surprise (any spelling known to
:func:`paraser.corpora.canonical_emotion` is also accepted, e.g. ``anger``,
``fearful``).  Matching is case-insensitive.

Speaker: the names carry no speaker id.  When files lie in sub-folders, the
folder path (relative to the corpus root) is taken as the speaker; files
directly in the corpus root get the pseudo-speaker ``PAN_<gender>`` and a
warning, because speaker-independent evaluation is then impossible.
Extra column: ``take`` (the number).  A name that breaks the convention or
carries an unknown emotion raises a ValueError naming the file.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from paraser.corpora.labels import canonical_emotion
from paraser.corpora.recipes._common import (
    CorpusInfo,
    match_stem,
    naming_error,
    normalise_gender,
    parse_files,
)

info = CorpusInfo(
    name="punjabi_rasa",
    title="Punjabi RASA emotional speech",
    language="pa",
    source="Punjabi RASA emotional speech collection (files PAN_<gender>_<emotion>_<n>.wav)",
    licence="research use as stated by the distributor (unverified)",
    labels={
        "angry": "anger",
        "happy": "happiness",
        "sad": "sadness",
        "neutral": "neutral",
        "fear": "fear",
        "disgust": "disgust",
        "surprise": "surprise",
    },
)

_NAME = re.compile(r"PAN_(m|f|male|female)_([a-z_]+?)_(\d+)", re.IGNORECASE)
_CONVENTION = "PAN_<gender M|F>_<emotion>_<n>, e.g. PAN_F_angry_12"


def _parse(path: Path, root: Path) -> dict:
    gender, emotion, take = match_stem(_NAME, path, root, "Punjabi RASA", _CONVENTION).groups()
    label = info.canonical(emotion) or canonical_emotion(emotion)
    if label is None:
        raise naming_error(root, path, "Punjabi RASA", f"(unknown emotion '{emotion}')")
    gender = normalise_gender(gender)
    folder = path.parent.relative_to(root).as_posix()
    return {
        "original_label": emotion,
        "label": label,
        "speaker": folder if folder != "." else f"PAN_{gender[0].upper()}",
        "gender": gender,
        "take": take,
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per Punjabi RASA audio file under ``corpus_dir``."""
    frame = parse_files(corpus_dir, info, _parse)
    pseudo = ~frame["file"].str.contains("/")
    if pseudo.any():
        warnings.warn(
            f"{corpus_dir}: {int(pseudo.sum())} Punjabi RASA file(s) lie directly in the corpus "
            "folder; their file names carry no speaker id, so their speaker is the "
            "pseudo-speaker PAN_<gender> (speaker-independent splits are not possible)",
            stacklevel=2,
        )
    return frame
