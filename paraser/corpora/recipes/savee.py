"""SAVEE: Surrey Audio-Visual Expressed Emotion database.

Source: Haq & Jackson (2009/2010), "Speaker-dependent audio-visual emotion
recognition", AVSP 2009; http://kahlan.eps.surrey.ac.uk/savee/ .
Licence: free for research use (registration with the authors).

Four male speakers (DC, JE, JK, KL).  Two layouts are accepted: the original
``AudioData/<speaker>/<code><nn>.wav`` (e.g. ``DC/a01.wav``; the speaker is the
parent folder) and the flat ``<speaker>_<code><nn>.wav`` (e.g. ``DC_a01.wav``).
Emotion codes: a anger, d disgust, f fear, h happiness, n neutral,
sa sadness, su surprise.  Extra column: ``take`` (the number).  A file whose
speaker cannot be found (no prefix, parent folder not a two-letter speaker
code) or whose name breaks the convention raises a ValueError naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import CorpusInfo, match_stem, naming_error, parse_files

info = CorpusInfo(
    name="savee",
    title="Surrey Audio-Visual Expressed Emotion (SAVEE)",
    language="en",
    source="Haq & Jackson (2009), AVSP; http://kahlan.eps.surrey.ac.uk/savee/",
    licence="free for research use (registration with the authors)",
    labels={
        "a": "anger",
        "d": "disgust",
        "f": "fear",
        "h": "happiness",
        "n": "neutral",
        "sa": "sadness",
        "su": "surprise",
    },
)

_NAME = re.compile(r"(?:([A-Z]{2})_)?(sa|su|a|d|f|h|n)(\d+)")
_SPEAKER_DIR = re.compile(r"[A-Z]{2}")
_CONVENTION = "<speaker>/<code><nn> or <speaker>_<code><nn>, code a|d|f|h|n|sa|su, e.g. DC/a01"


def _parse(path: Path, root: Path) -> dict:
    speaker, code, take = match_stem(_NAME, path, root, "SAVEE", _CONVENTION).groups()
    if speaker is None:
        if path.parent == root or not _SPEAKER_DIR.fullmatch(path.parent.name):
            raise naming_error(root, path, "SAVEE", "(no speaker prefix and no speaker folder)")
        speaker = path.parent.name
    return {"original_label": code, "speaker": speaker, "gender": "male", "take": take}


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per SAVEE audio file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
