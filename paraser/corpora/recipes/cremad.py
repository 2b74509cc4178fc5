"""CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset.

Source: Cao, Cooper, Keutmann, Gur, Nenkova, Verma (2014), IEEE Trans.
Affective Computing 5(4); https://github.com/CheyneyComputerScience/CREMA-D .
Licence: Open Database License (ODbL) v1.0, contents under DbCL v1.0.

Files are named ``<actor>_<sentence>_<emotion>_<level>``, e.g.
``1001_DFA_ANG_XX.wav``: actor 1001-1091, sentence code (DFA, IEO, IOM, ITH,
ITS, IWL, IWW, MTI, TAI, TIE, TSI, WSI), emotion code (ANG anger, DIS disgust,
FEA fear, HAP happy, NEU neutral, SAD sad), level (LO, MD, HI, XX
unspecified).  Speaker = actor id.  Gender comes from the corpus'
``VideoDemographics.csv`` (columns ActorID, Sex) when it lies anywhere under
the corpus folder; otherwise it is empty.  Extra columns: ``sentence``,
``intensity``.  A name that breaks the convention raises a ValueError.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import (
    CorpusInfo,
    corpus_path,
    match_stem,
    normalise_gender,
    parse_files,
)

info = CorpusInfo(
    name="cremad",
    title="Crowd-sourced Emotional Multimodal Actors Dataset (CREMA-D)",
    language="en",
    source=(
        "Cao et al. (2014), CREMA-D, IEEE Trans. Affective Computing 5(4); "
        "https://github.com/CheyneyComputerScience/CREMA-D"
    ),
    licence="ODbL 1.0 (contents DbCL 1.0)",
    labels={
        "ANG": "anger",
        "DIS": "disgust",
        "FEA": "fear",
        "HAP": "happiness",
        "NEU": "neutral",
        "SAD": "sadness",
    },
)

_NAME = re.compile(r"(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_([A-Z]{2})")
_CONVENTION = "<actor>_<sentence>_<emotion ANG|DIS|FEA|HAP|NEU|SAD>_<level>, e.g. 1001_DFA_ANG_XX"


def actor_genders(corpus_dir: str | Path) -> dict[str, str]:
    """Actor id -> gender from ``VideoDemographics.csv`` under the corpus (empty if absent)."""
    root = corpus_path(corpus_dir)
    for path in sorted(root.rglob("*.csv")):
        if path.name.lower() != "videodemographics.csv":
            continue
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        if {"ActorID", "Sex"} <= set(table.columns):
            return {
                actor.strip(): normalise_gender(sex)
                for actor, sex in zip(table["ActorID"], table["Sex"])
            }
        raise ValueError(f"{path}: expected columns ActorID and Sex")
    return {}


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per CREMA-D audio file under ``corpus_dir``."""
    genders = actor_genders(corpus_dir)

    def parse(path: Path, root: Path) -> dict:
        actor, sentence, emotion, level = match_stem(
            _NAME, path, root, "CREMA-D", _CONVENTION
        ).groups()
        return {
            "original_label": emotion,
            "speaker": actor,
            "gender": genders.get(actor, ""),
            "sentence": sentence,
            "intensity": level,
        }

    return parse_files(corpus_dir, info, parse)
