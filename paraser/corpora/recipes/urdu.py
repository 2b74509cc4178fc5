"""URDU-Dataset: emotional Urdu speech from TV talk shows (Latif et al. 2018).

Source: Latif, Qayyum, Usman, Qadir (2018), "Cross Lingual Speech Emotion
Recognition: Urdu vs. Western Languages", FIT 2018, arXiv:1812.10411;
https://github.com/siddiquelatif/URDU-Dataset .
Licence: "only for research purposes" (dataset README).

Layout: ``Angry/ Happy/ Neutral/ Sad/`` folders; files named ``S<G><n>_F<k>_<E><m>``,
e.g. ``SM1_F10_A010``: ``S<G><n>`` the speaker (G = M/F gender, n its number),
``F<k>`` the speaker's file number, ``<E><m>`` emotion code + running number.
Emotion codes: A angry, H happy, N neutral, S sad.  The label is read from
the name.  Non-audio files (the corpus' README.md) are skipped; an audio file
whose name breaks the convention raises a ValueError naming it.  Extra column:
``take`` (the speaker's file number ``F<k>``).

Known trap: speaker and emotion are heavily confounded (e.g. all Angry clips
come from a few speakers).
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
    name="urdu",
    title="URDU-Dataset (emotional speech from Urdu TV talk shows)",
    language="ur",
    source=(
        "Latif et al. (2018), Cross Lingual Speech Emotion Recognition: Urdu vs. Western "
        "Languages, arXiv:1812.10411; https://github.com/siddiquelatif/URDU-Dataset"
    ),
    licence="only for research purposes",
    labels={"A": "anger", "H": "happiness", "N": "neutral", "S": "sadness"},
)

_NAME = re.compile(r"(S([MF])\d+)_(F\d+)_([AHNS])\d+")
_CONVENTION = "S<gender M|F><n>_F<k>_<emotion A|H|N|S><m>, e.g. SM1_F10_A010"


def _parse(path: Path, root: Path) -> dict:
    speaker, gender, take, emotion = match_stem(_NAME, path, root, "URDU", _CONVENTION).groups()
    return {
        "original_label": emotion,
        "speaker": speaker,
        "gender": normalise_gender(gender),
        "take": take,
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per URDU-Dataset file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
