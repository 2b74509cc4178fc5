"""SUBESCO: SUST Bangla Emotional Speech Corpus.

Source: Sultana, Rahman, Selim, Iqbal (2021), "SUST Bangla Emotional Speech
Corpus (SUBESCO): An audio-only emotional speech corpus for Bangla", PLoS ONE
16(4): e0250173; https://doi.org/10.5281/zenodo.4526477 .
Licence: CC BY 4.0.

20 actors (10 female, 10 male), 10 sentences, 7 emotions, 5 takes.  Files are
named ``<gender>_<nn>_<NAME>_S_<sentence>_<EMOTION>_<take>``, e.g.
``F_02_MONIKA_S_1_ANGRY_5.wav``.  Emotions: ANGRY, DISGUST, FEAR, HAPPY,
NEUTRAL, SAD, SURPRISE.  Speaker = gender + number (``F_02``; the numbers are
counted per gender).  Extra columns: ``speaker_name``, ``sentence``, ``take``.
A name that breaks the convention raises a ValueError naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import (
    CorpusInfo,
    match_stem,
    normalise_gender,
    parse_files,
)

info = CorpusInfo(
    name="subesco",
    title="SUST Bangla Emotional Speech Corpus (SUBESCO)",
    language="bn",
    source=(
        "Sultana et al. (2021), SUBESCO, PLoS ONE 16(4): e0250173; "
        "https://doi.org/10.5281/zenodo.4526477"
    ),
    licence="CC BY 4.0",
    labels={
        "ANGRY": "anger",
        "DISGUST": "disgust",
        "FEAR": "fear",
        "HAPPY": "happiness",
        "NEUTRAL": "neutral",
        "SAD": "sadness",
        "SURPRISE": "surprise",
    },
)

_NAME = re.compile(
    r"(([FM])_\d{2})_([A-Z]+)_S_(\d{1,2})_(ANGRY|DISGUST|FEAR|HAPPY|NEUTRAL|SAD|SURPRISE)_(\d+)",
    re.IGNORECASE,
)
_CONVENTION = "<F|M>_<nn>_<NAME>_S_<sentence>_<EMOTION>_<take>, e.g. F_02_MONIKA_S_1_ANGRY_5"


def _parse(path: Path, root: Path) -> dict:
    speaker, gender, name, sentence, emotion, take = match_stem(
        _NAME, path, root, "SUBESCO", _CONVENTION
    ).groups()
    return {
        "original_label": emotion.upper(),
        "speaker": speaker.upper(),
        "gender": normalise_gender(gender),
        "speaker_name": name.upper(),
        "sentence": sentence,
        "take": take,
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per SUBESCO audio file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
