"""TESS: Toronto Emotional Speech Set.

Source: Dupuis & Pichora-Fuller (2010), Toronto Emotional Speech Set, University
of Toronto, https://doi.org/10.5683/SP2/E8H2MF .
Licence: CC BY-NC-ND 4.0.

Two female speakers: OAF (older adult female) and YAF (younger adult female),
200 target words ("Say the word ...") in 7 emotions.  Folders such as
``OAF_angry/``; files named ``<speaker>_<word>_<emotion>``, e.g.
``OAF_back_angry.wav``.  Emotion tokens (case-insensitive): angry, disgust,
fear, happy, neutral, ps (pleasant surprise; ``pleasant_surprise(d)`` also
accepted), sad.  A few original files carry the speaker typo ``OA_``; they are
counted as speaker OAF.  Extra column: ``word``.  A name that breaks the
convention raises a ValueError naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import CorpusInfo, match_stem, parse_files

info = CorpusInfo(
    name="tess",
    title="Toronto Emotional Speech Set (TESS)",
    language="en",
    source="Dupuis & Pichora-Fuller (2010), https://doi.org/10.5683/SP2/E8H2MF",
    licence="CC BY-NC-ND 4.0",
    labels={
        "angry": "anger",
        "disgust": "disgust",
        "fear": "fear",
        "happy": "happiness",
        "neutral": "neutral",
        "ps": "pleasant_surprise",
        "sad": "sadness",
    },
)

_NAME = re.compile(
    r"(OAF|YAF|OA)_([a-z]+)_(angry|disgust|fear|happy|neutral|ps|sad|pleasant_surprised?)",
    re.IGNORECASE,
)
_CONVENTION = "<OAF|YAF>_<word>_<angry|disgust|fear|happy|neutral|ps|sad>, e.g. OAF_back_angry"


def _parse(path: Path, root: Path) -> dict:
    speaker, word, emotion = match_stem(_NAME, path, root, "TESS", _CONVENTION).groups()
    speaker = speaker.upper()
    emotion = emotion.lower()
    return {
        "original_label": "ps" if emotion.startswith("pleasant") else emotion,
        "speaker": "OAF" if speaker == "OA" else speaker,
        "gender": "female",
        "word": word.lower(),
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per TESS audio file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
