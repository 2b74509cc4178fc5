"""Corpus recipes: turn a corpus as distributed into a manifest.

Each corpus has a module here (modelled on lhotse's recipes) with

* ``info`` - a :class:`CorpusInfo` (name, title, language, source, licence and
  the corpus' label codes mapped to canonical emotions), and
* ``prepare(corpus_dir) -> pandas.DataFrame`` - one row per audio file with
  ``file`` (posix path relative to the corpus root), ``label`` (canonical
  emotion, see :data:`paraser.corpora.CANONICAL_EMOTIONS`), ``original_label``
  (the corpus' own code), ``speaker`` (the corpus' own id), ``gender``
  (female/male/""), ``language`` and corpus-specific extras, sorted by file.

:func:`prepare_corpus` runs a recipe and writes the manifest CSV + JSON sidecar
(see :func:`paraser.corpora.write_manifest`).  ``generic`` and ``audformat``
may be given a file (the CSV / ``db.yaml``); their module's ``audio_root``
names the folder the ``file`` paths are relative to.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from paraser.corpora.manifest import load_manifest, sidecar_path, write_manifest
from paraser.corpora.recipes._common import (
    AUDIO_EXTENSIONS,
    FRAME_COLUMNS,
    CorpusInfo,
    Recipe,
    list_audio,
)

#: One module per corpus layout, each with ``info`` and ``prepare(corpus_dir)``.
RECIPE_MODULES: tuple[str, ...] = (
    "ased",
    "audformat",
    "baved",
    "cremad",
    "emodb",
    "emovo",
    "generic",
    "hf_dataset",
    "lhotse",
    "nkululeko",
    "punjabi_rasa",
    "ravdess",
    "savee",
    "shemo",
    "subesco",
    "tess",
    "turev",
    "urdu",
)

_MODULES: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"paraser.corpora.recipes.{name}") for name in RECIPE_MODULES
)

#: Recipes by registry name (each a module with ``info`` and ``prepare``).
RECIPES: dict[str, Recipe] = {module.info.name: module for module in _MODULES}  # type: ignore[misc]


def get_recipe(name: str) -> Recipe:
    """The recipe registered as ``name`` (case-insensitive; ``-`` == ``_``)."""
    key = str(name).strip().lower().replace("-", "_")
    if key not in RECIPES:
        raise ValueError(f"unknown corpus recipe '{name}'; known recipes: {', '.join(RECIPES)}")
    return RECIPES[key]


def audio_root(name: str, corpus_dir: str | Path) -> Path:
    """The folder a recipe's ``file`` paths are relative to."""
    recipe = get_recipe(name)
    hook = getattr(recipe, "audio_root", None)
    return Path(hook(corpus_dir)) if hook is not None else Path(corpus_dir)


def prepare_corpus(
    name: str,
    corpus_dir: str | Path,
    out_dir: str | Path = "corpora_manifests",
    manifest_name: str | None = None,
    **options: object,
) -> Path:
    """Run recipe ``name`` on ``corpus_dir`` and write ``<out_dir>/<manifest_name or name>.csv``.

    ``options`` go to the recipe's ``prepare`` (e.g. ``label_column`` for the
    importers).  The JSON sidecar records the corpus root and ``corpus``,
    ``language``, ``title``, ``source`` and ``licence``.  When every ``file``
    the recipe returns is absolute (the importers' rows), the root is their
    common folder.  Returns the CSV path.
    """
    recipe = get_recipe(name)
    try:
        frame = recipe.prepare(corpus_dir, **options)
    except TypeError as exc:
        if options and "unexpected keyword argument" in str(exc):
            given = ", ".join("--" + k.replace("_", "-") for k in options)
            raise ValueError(f"recipe '{recipe.info.name}' takes no option(s) {given}") from exc
        raise
    info = recipe.info
    language = info.language
    if not language:
        languages = sorted(set(frame["language"]) - {""})
        language = languages[0] if len(languages) == 1 else ""
    metadata = {
        "corpus": info.name,
        "language": language,
        "title": info.title,
        "source": info.source,
        "licence": info.licence,
    }
    name = manifest_name or info.name
    if not name or name.startswith(".") or "/" in name or os.sep in name:
        # '--as ../x' would write outside the registry; '.x' would be hidden from it.
        raise ValueError(
            f"cannot register a corpus as '{name}': use a plain name (no '/', no leading '.')"
        )
    csv_path = Path(out_dir) / f"{name}.csv"
    root = audio_root(info.name, corpus_dir)
    files = [Path(f) for f in frame["file"]]
    if files and all(f.is_absolute() for f in files):
        # Importers may name files anywhere (a Hugging Face cache, an audb cache).
        root = Path(os.path.commonpath([f.parent for f in files]))
    # Written under a temporary name and validated first: a manifest that does not load
    # is never registered, so it cannot break every later 'corpus list'.
    draft = csv_path.with_name(f".draft-{os.getpid()}-{name}.csv")
    try:
        write_manifest(frame, draft, root, metadata)
        load_manifest(draft, name=name, map_labels=False)
        os.replace(sidecar_path(draft), sidecar_path(csv_path))
        os.replace(draft, csv_path)
    finally:
        draft.unlink(missing_ok=True)
        sidecar_path(draft).unlink(missing_ok=True)
    return csv_path


__all__ = [
    "AUDIO_EXTENSIONS",
    "FRAME_COLUMNS",
    "RECIPES",
    "CorpusInfo",
    "Recipe",
    "audio_root",
    "get_recipe",
    "list_audio",
    "prepare_corpus",
]
