"""TurEV-DB: Turkish emotional voice database of acted single words.

Source: Canpolat, Ormanoğlu, Zeyrek (2020), "Turkish Emotion Voice Database
(TurEV-DB)", SLTU-CCURL 2020; https://github.com/Xeonen/TurEV-DB .
Licence: CC BY-NC-ND 4.0.

Layout: ``Angry/ Calm/ Happy/ Sad/`` folders; files named
``<speaker>_<code>_<word>``, e.g. ``1234_sk_acik``.  The emotion comes from the
folder (``original_label`` is the folder name); the code must agree with it:
kz (kızgın) Angry, sk (sakin) Calm, mt (mutlu) Happy, hl (hüzünlü) Sad.  A file
outside an emotion folder is labelled by its code.  Extra columns: ``code``,
``word``.  Speaker genders are not encoded, so ``gender`` is empty.

**Calm is mapped to canonical ``neutral``** (not ``calm``): TurEV has no neutral
class, and its Calm recordings play that role, so the four TurEV classes line
up with the angry/happy/neutral/sad space shared with the other corpora.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paraser.corpora.recipes._common import CorpusInfo, match_stem, naming_error, parse_files

info = CorpusInfo(
    name="turev",
    title="Turkish Emotion Voice Database (TurEV-DB)",
    language="tr",
    source=(
        "Canpolat et al. (2020), Turkish Emotion Voice Database (TurEV-DB), SLTU-CCURL; "
        "https://github.com/Xeonen/TurEV-DB"
    ),
    licence="CC BY-NC-ND 4.0",
    labels={"Angry": "anger", "Calm": "neutral", "Happy": "happiness", "Sad": "sadness"},
)

#: the code in a file name -> the folder it belongs to
CODES: dict[str, str] = {"kz": "Angry", "sk": "Calm", "mt": "Happy", "hl": "Sad"}

_NAME = re.compile(r"(\w+?)_(kz|sk|mt|hl)_(.+)", re.IGNORECASE)
_CONVENTION = "<speaker>_<code kz|sk|mt|hl>_<word>, e.g. 1234_sk_acik"


def _parse(path: Path, root: Path) -> dict:
    speaker, code, word = match_stem(_NAME, path, root, "TurEV-DB", _CONVENTION).groups()
    folder = {name.lower(): name for name in info.labels}.get(path.parent.name.lower())
    expected = CODES[code.lower()]
    if folder is not None and folder != expected:
        raise naming_error(
            root, path, "TurEV-DB", f"(code '{code}' belongs in {expected}/, not {folder}/)"
        )
    return {"original_label": expected, "speaker": speaker, "code": code.lower(), "word": word}


def prepare(corpus_dir: str | Path) -> pd.DataFrame:
    """One row per TurEV-DB file under ``corpus_dir``."""
    return parse_files(corpus_dir, info, _parse)
