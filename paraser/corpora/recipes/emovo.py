"""EMOVO Corpus: an Italian emotional speech database.

Source: Costantini, Iaderola, Paoloni, Todisco (2014), "EMOVO Corpus: an
Italian Emotional Speech Database", LREC 2014.
Licence: distributed by its authors for research use (cite the paper).

Layout: speaker folders ``f1 f2 f3 m1 m2 m3``; files named
``<emotion>-<speaker>-<sentence>``, e.g. ``dis-f1-b1.wav``.  The speaker (and
its gender, from the first letter) is read from the file name.  Emotion codes:
dis disgust, gio joy (happiness), neu neutral, pau fear, rab anger,
sor surprise, tri sadness.  Extra column: ``sentence`` (b1, d2, l3, n4, ...).
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
    name="emovo",
    title="EMOVO Corpus (Italian emotional speech)",
    language="it",
    source="Costantini et al. (2014), EMOVO Corpus: an Italian Emotional Speech Database, LREC",
    licence="research use, as distributed by the authors (cite the paper)",
    labels={
        "dis": "disgust",
        "gio": "happiness",
        "neu": "neutral",
        "pau": "fear",
        "rab": "anger",
        "sor": "surprise",
        "tri": "sadness",
    },
)

_NAME = re.compile(r"(dis|gio|neu|pau|rab|sor|tri)-([fm]\d+)-(\w+)", re.IGNORECASE)
_CONVENTION = "<emotion>-<speaker>-<sentence>, e.g. dis-f1-b1"


def _parse(path: Path, root: Path) -> dict:
    emotion, speaker, sentence = match_stem(_NAME, path, root, "EMOVO", _CONVENTION).groups()
    speaker = speaker.lower()
    return {
        "original_label": emotion.lower(),
        "speaker": speaker,
        "gender": normalise_gender(speaker[0]),
        "sentence": sentence,
    }


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per EMOVO file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
