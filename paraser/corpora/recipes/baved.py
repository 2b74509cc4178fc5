"""BAVED: Basic Arabic Vocal Emotions Dataset, single words at three levels of expressed emotion.

Source: Aouf, A. (2019), Basic Arabic Vocal Emotions Dataset (BAVED);
https://github.com/40uf411/Basic-Arabic-Vocal-Emotions-Dataset .
Licence: published openly by its authors without a stated licence (research use; cite it).

Layout: ``0/ … 6/`` folders, one per spoken word; files named
``<speaker>-<gender m|f>-<age>-<word 0-6>-<level 0-2>-<record>``, e.g.
``56-f-40-3-0-884``, and ``speakers_info.json`` (``{"<speaker>": {"age", "gender"}}``).

BAVED has **no emotion categories**: level 0 is low expressed emotion (tired,
down), 1 neutral (everyday speech), 2 high (strong positive *or* negative
emotion).  The levels are read as arousal (canonical ``arousal_low``,
``arousal_neutral``, ``arousal_high``) - an approximation: the corpus' own README
puts strongly expressed sadness at level 2 too.  Only an arousal task
(:mod:`paraser.corpora.tasks`) uses them; the categorical label space refuses them.

Gender and age come from ``speakers_info.json`` when it is there and must agree
with the file name (a disagreement is an error naming the file).  The word comes
from the file name: one shipped file, ``0/49-m-23-6-1-201``, lies in folder ``0``
while its name says word 6; the ``folder`` column keeps where it lies.  Extra
columns: ``age``, ``word``, ``folder``, ``record``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import (
    CorpusInfo,
    corpus_path,
    match_stem,
    naming_error,
    normalise_gender,
    parse_files,
)

info = CorpusInfo(
    name="baved",
    title="Basic Arabic Vocal Emotions Dataset (BAVED)",
    language="ar",
    source=(
        "Aouf (2019), Basic Arabic Vocal Emotions Dataset (BAVED); "
        "https://github.com/40uf411/Basic-Arabic-Vocal-Emotions-Dataset"
    ),
    licence="published openly by the authors without a stated licence (research use)",
    labels={"0": "arousal_low", "1": "arousal_neutral", "2": "arousal_high"},
)

_NAME = re.compile(r"(\d+)-([mf])-(\d+)-([0-6])-([0-2])-(\d+)", re.IGNORECASE)
_CONVENTION = "<speaker>-<gender m|f>-<age>-<word 0-6>-<level 0-2>-<record>, e.g. 56-f-40-3-0-884"


def _speakers(root: Path) -> dict:
    path = root / "speakers_info.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read speaker information: {exc}") from exc


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per BAVED file under ``corpus_dir``."""
    root = corpus_path(corpus_dir)
    speakers = _speakers(root)

    def parse(path: Path, root: Path) -> dict:
        found = match_stem(_NAME, path, root, "BAVED", _CONVENTION)
        speaker, gender, age, word, level, record = found.groups()
        known = speakers.get(speaker)
        if known is not None and (
            str(known.get("gender", gender)).lower() != gender.lower()
            or str(known.get("age", age)) != age
        ):
            raise naming_error(
                root, path, "BAVED",
                f"(speakers_info.json says speaker {speaker} is {known}, the name says "
                f"gender {gender}, age {age})",
            )  # fmt: skip
        return {
            "original_label": level,
            "speaker": speaker,
            "gender": normalise_gender(gender),
            "age": age,
            "word": word,
            "folder": path.parent.name if path.parent != root else "",
            "record": record,
        }

    return parse_files(root, info, parse)
