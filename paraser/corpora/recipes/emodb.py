"""Berlin Database of Emotional Speech (EmoDB).

Source: Burkhardt, Paeschke, Rolfes, Sendlmeier, Weiss (2005), "A database of
German emotional speech", Interspeech; http://emodb.bilderbar.info/ .
Licence: distributed by its authors for research use (cite the paper).

Layout: flat folder of files named like ``03a01Wa.wav``: characters 1-2 the
speaker (03, 08, ..., 16), 3-5 the text code (``a01`` ... ``b10``), 6 the
emotion, 7 the version (a, b, ...).  Emotion codes: W anger (Wut), L boredom
(Langeweile), E disgust (Ekel), A fear (Angst), F happiness (Freude),
T sadness (Trauer), N neutral.  Speaker genders are documented by the corpus:
03 m, 08 f, 09 f, 10 m, 11 m, 12 m, 13 f, 14 f, 15 m, 16 f.

Extra columns: ``sentence`` (text code), ``version``.  Any audio file whose name
breaks the convention raises a ValueError naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import CorpusInfo, match_stem, parse_files

info = CorpusInfo(
    name="emodb",
    title="Berlin Database of Emotional Speech (EmoDB)",
    language="de",
    source=(
        "Burkhardt et al. (2005), A database of German emotional speech, Interspeech; "
        "http://emodb.bilderbar.info/"
    ),
    licence="research use, as distributed by the authors (cite the paper)",
    labels={
        "W": "anger",
        "L": "boredom",
        "E": "disgust",
        "A": "fear",
        "F": "happiness",
        "T": "sadness",
        "N": "neutral",
    },
)

SPEAKER_GENDER: dict[str, str] = {
    "03": "male",
    "08": "female",
    "09": "female",
    "10": "male",
    "11": "male",
    "12": "male",
    "13": "female",
    "14": "female",
    "15": "male",
    "16": "female",
}

_NAME = re.compile(r"(\d{2})([ab]\d{2})([WLEAFTN])([a-z])")
_CONVENTION = "<speaker:2 digits><text:a01..b10><emotion:W|L|E|A|F|T|N><version>, e.g. 03a01Wa"


def _parse(path: Path, root: Path) -> dict:
    speaker, sentence, emotion, version = match_stem(
        _NAME, path, root, "EmoDB", _CONVENTION
    ).groups()
    return {
        "original_label": emotion,
        "speaker": speaker,
        "gender": SPEAKER_GENDER.get(speaker, ""),
        "sentence": sentence,
        "version": version,
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per EmoDB file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
