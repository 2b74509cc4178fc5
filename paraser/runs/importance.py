"""``paraser importance``: which features carry emotion within corpora, and which transfer.

The library call behind the command::

    import paraser.runs.importance as imp
    run = imp.importance_report(["emodb", "emovo"], ["egemaps"], ["svm"], out="reports/mine")
    run.summary  # also reports/mine/importance_families.csv

Computation is in :mod:`paraser.experiments.importance`; the section, figure and
family summary in :mod:`paraser.reports.importance`, read back from
``importance.csv`` so ``paraser report DIR`` regenerates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from paraser.corpora import LabelMap
from paraser.experiments import make_protocol
from paraser.experiments.classifiers import ClassifierLike, describe_classifiers
from paraser.experiments.importance import importance_grid
from paraser.features import DEFAULT_CACHE_DIR
from paraser.features.registry import FeatureSetSpec, as_specs
from paraser.reports.importance import write_importance_section
from paraser.results import (
    IMPORTANCE_CONFIG_FILE,
    IMPORTANCE_FAMILIES_FILE,
    IMPORTANCE_FILE,
    write_json,
    write_table_output,
)
from paraser.runs.extraction import Progress
from paraser.runs.shift import _load


@dataclass
class ImportanceRun:
    """A finished importance run and where it was written."""

    out: Path
    importance: pd.DataFrame
    summary: pd.DataFrame
    written: list[Path]
    notes: list[str] = field(default_factory=list)


def importance_report(
    corpora: Sequence[str | Path],
    feature_sets: Sequence[str | FeatureSetSpec] = ("egemaps",),
    classifiers: Sequence[ClassifierLike] = ("svm",),
    *,
    out: str | Path = "reports/importance",
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    label_map: LabelMap | None = None,
    manifests_dir: str | Path | None = None,
    protocol: str = "auto",
    folds: int = 5,
    seed: int = 0,
    n_repeats: int = 3,
    max_test: int = 400,
    permute: str = "speaker",
    jobs: int = 1,
    progress: Progress | None = None,
) -> ImportanceRun:
    """Permutation importance per feature and family, within and under transfer, to ``out``.

    Writes ``importance.csv`` (:data:`~paraser.experiments.importance.IMPORTANCE_COLUMNS`),
    ``importance_families.csv``, ``figures/importance_<set>.png``, ``importance.md``
    and ``importance_config.json``; into ``report.md/html`` too when ``out`` is a
    results folder.  Models are trained as in :func:`paraser.transfer_matrix` with
    the same protocol, folds and seed.
    """
    out = Path(out)
    specs = as_specs(feature_sets)
    data, feature_names, notes = _load(
        corpora, specs, cache_dir=cache_dir, label_map=label_map or LabelMap(),
        manifests_dir=manifests_dir, jobs=jobs, progress=progress,
    )  # fmt: skip
    within_protocol = make_protocol(protocol, folds)
    callback = (lambda d, t: progress("importance", d, t)) if progress else None
    importance = importance_grid(
        data, feature_names, classifiers, protocol=within_protocol, seed=seed,
        n_repeats=n_repeats, max_test=max_test, permute=permute, jobs=jobs, progress=callback,
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    write_table_output(out, IMPORTANCE_FILE, importance)
    config = {
        "corpora": [c.name for c in data],
        "feature_sets": list(feature_names),
        "classifiers": describe_classifiers(classifiers),
        "protocol": within_protocol.name,
        "seed": seed,
        "n_repeats": n_repeats,
        "max_test": max_test,
        "permute": permute,
        "notes": notes,
    }
    write_json(out / IMPORTANCE_CONFIG_FILE, config)
    written = [out / IMPORTANCE_FILE, out / IMPORTANCE_CONFIG_FILE]
    written += write_importance_section(out)
    return ImportanceRun(
        out, importance, pd.read_csv(out / IMPORTANCE_FAMILIES_FILE), written, notes
    )
