"""RAVDESS: Ryerson Audio-Visual Database of Emotional Speech and Song.

Source: Livingstone & Russo (2018), PLoS ONE 13(5): e0196391;
https://zenodo.org/record/1188976 .
Licence: CC BY-NC-SA 4.0.

Files are named with seven two-digit fields, e.g. ``03-01-05-01-02-01-12.wav``:
modality (01 full-AV, 02 video-only, 03 audio-only) - vocal channel
(01 speech, 02 song) - emotion - intensity (01 normal, 02 strong) - statement
(01 "Kids are talking by the door", 02 "Dogs are sitting by the door") -
repetition - actor (01-24; odd = male, even = female).  Emotion codes:
01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust,
08 surprised.  RAVDESS has both neutral and calm, so calm stays canonical
``calm``.  Speaker = the actor number.  Extra columns: ``vocal_channel``,
``intensity``, ``statement``, ``repetition``, ``modality``.

Some redistributions (e.g. Kaggle's) hold the same files twice under two
folders; duplicates of a file name are dropped (first path in sorted order
kept) with a warning.  A name that breaks the convention raises a ValueError.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import CorpusInfo, match_stem, parse_files

info = CorpusInfo(
    name="ravdess",
    title="Ryerson Audio-Visual Database of Emotional Speech and Song (RAVDESS)",
    language="en",
    source="Livingstone & Russo (2018), PLoS ONE 13(5): e0196391; zenodo.org/record/1188976",
    licence="CC BY-NC-SA 4.0",
    labels={
        "01": "neutral",
        "02": "calm",
        "03": "happiness",
        "04": "sadness",
        "05": "anger",
        "06": "fear",
        "07": "disgust",
        "08": "surprise",
    },
)

_NAME = re.compile(r"(0[1-3])-(0[12])-(0[1-8])-(0[12])-(0[12])-(\d{2})-(\d{2})")
_CONVENTION = (
    "<modality>-<channel>-<emotion>-<intensity>-<statement>-<repetition>-<actor>, "
    "e.g. 03-01-05-01-02-01-12"
)


def _parse(path: Path, root: Path) -> dict:
    modality, channel, emotion, intensity, statement, repetition, actor = match_stem(
        _NAME, path, root, "RAVDESS", _CONVENTION
    ).groups()
    return {
        "original_label": emotion,
        "speaker": actor,
        "gender": "male" if int(actor) % 2 else "female",
        "vocal_channel": {"01": "speech", "02": "song"}[channel],
        "intensity": {"01": "normal", "02": "strong"}[intensity],
        "statement": statement,
        "repetition": repetition,
        "modality": modality,
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per RAVDESS audio file under ``corpus_dir``."""
    frame = parse_files(corpus_dir, info, _parse)
    stems = frame["file"].map(lambda f: Path(f).stem)
    duplicated = stems.duplicated()
    if duplicated.any():
        warnings.warn(
            f"{corpus_dir}: dropped {int(duplicated.sum())} RAVDESS file(s) whose name "
            f"occurs twice, e.g. {frame.loc[duplicated, 'file'].iloc[0]}",
            stacklevel=2,
        )
        frame = frame.loc[~duplicated].reset_index(drop=True)
    return frame
