"""Corpora registered by name: manifests under ``corpora_manifests/``.

Anywhere a corpus is expected, either a registered name (``emodb``) or a path
to a manifest CSV works.  The registry folder is ``./corpora_manifests`` unless
``PARASER_MANIFESTS`` or an explicit argument names another.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

DEFAULT_MANIFEST_DIR = Path("corpora_manifests")


def manifest_dir(directory: str | Path | None = None) -> Path:
    if directory is not None:
        return Path(directory)
    return Path(os.environ.get("PARASER_MANIFESTS", DEFAULT_MANIFEST_DIR))


def registered_corpora(directory: str | Path | None = None) -> dict[str, Path]:
    """Registered corpus names and their manifest CSVs, sorted by name."""
    folder = manifest_dir(directory)
    if not folder.is_dir():
        return {}
    # Hidden files are drafts being validated (see prepare_corpus), not registrations.
    return {p.stem: p for p in sorted(folder.glob("*.csv")) if not p.name.startswith(".")}


def resolve_corpus(spec: str | Path, directory: str | Path | None = None) -> tuple[str, Path]:
    """Turn a corpus name or manifest path into ``(name, manifest_path)``."""
    text = str(spec)
    candidate = Path(text)
    if text.endswith(".csv") or candidate.is_file():
        if not candidate.is_file():
            raise FileNotFoundError(f"{candidate}: manifest not found")
        return candidate.stem, candidate
    registered = registered_corpora(directory)
    if text in registered:
        return text, registered[text]
    near = difflib.get_close_matches(text, list(registered), n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    # Run from another folder, the default ./corpora_manifests is empty: say where else to look.
    known = ", ".join(registered) or (
        "none; point --manifests-dir or PARASER_MANIFESTS at the folder of registered corpora"
    )
    raise FileNotFoundError(
        f"unknown corpus '{text}'{hint}: not a manifest CSV and not registered in "
        f"{manifest_dir(directory)}/ (registered: {known}). Register one with "
        f"'paraser corpus prepare NAME DIR' or pass a path to a manifest CSV."
    )
