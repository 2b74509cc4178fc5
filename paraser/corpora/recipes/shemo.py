"""ShEMO: Sharif Emotional Speech Database (Persian).

Source: Mohamad Nezami, Jamshid Lou, Karami (2019), "ShEMO: a large-scale
validated database for Persian speech emotion detection", Language Resources
and Evaluation 53; https://github.com/mansourehk/ShEMO .
Licence: research use as distributed by the authors (see the repository).

Files are named like ``F01A01.wav``: gender (F/M), two-digit speaker number
(counted per gender), emotion letter, two-digit utterance number; the
original archive splits them into ``female/`` and ``male/`` folders (any
layout is accepted).  Emotion letters: A anger, H happiness, N neutral,
S sadness, W surprise, F fear.  Speaker = gender + number (``F01``).  Extra
column: ``utterance``.  A name that breaks the convention raises a ValueError.
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
    name="shemo",
    title="Sharif Emotional Speech Database (ShEMO)",
    language="fa",
    source=(
        "Mohamad Nezami et al. (2019), ShEMO, Language Resources and Evaluation 53; "
        "https://github.com/mansourehk/ShEMO"
    ),
    licence="research use, as distributed by the authors",
    labels={
        "A": "anger",
        "H": "happiness",
        "N": "neutral",
        "S": "sadness",
        "W": "surprise",
        "F": "fear",
    },
)

_NAME = re.compile(r"(([FM])\d{2})([AHNSWF])(\d{2})")
_CONVENTION = "<gender F|M><speaker nn><emotion A|H|N|S|W|F><utterance nn>, e.g. F01A01"


def _parse(path: Path, root: Path) -> dict:
    speaker, gender, emotion, utterance = match_stem(
        _NAME, path, root, "ShEMO", _CONVENTION
    ).groups()
    return {
        "original_label": emotion,
        "speaker": speaker,
        "gender": normalise_gender(gender),
        "utterance": utterance,
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per ShEMO audio file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
