"""``paraser shift``: how far apart corpora are, where, and whether it predicts transfer failure.

The library call behind the command::

    import paraser
    run = paraser.shift_report(["emodb", "emovo", "urdu"], ["egemaps"], out="reports/shift",
                               results="reports/mine")
    run.tables.shift  # also reports/shift/shift.csv

Computation lives in :mod:`paraser.experiments.shift` (tables from features and
labels) and :mod:`paraser.reports.shift` (correlation with the transfer drop,
Markdown/HTML/figure, read back from the CSVs), so ``paraser report DIR``
regenerates the section from the folder alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from paraser.corpora import LabelMap
from paraser.experiments import CorpusData
from paraser.experiments.shift import ShiftTables, shift_tables
from paraser.features import DEFAULT_CACHE_DIR, load_features
from paraser.features.precomputed import is_table_corpus, read_feature_table
from paraser.features.registry import FeatureSetSpec, as_specs
from paraser.reports.shift import write_shift_section
from paraser.results import (
    CLASS_PRIORS_FILE,
    CORRELATION_FILE,
    SHIFT_CONFIG_FILE,
    SHIFT_FAMILIES_FILE,
    SHIFT_FEATURES_FILE,
    SHIFT_FILE,
    write_json,
    write_table_output,
)
from paraser.runs.extraction import Progress
from paraser.runs.transfer import prepare_corpora

#: File name -> attribute of :class:`ShiftTables` written there.
SHIFT_TABLE_FILES = {
    SHIFT_FILE: "shift",
    SHIFT_FEATURES_FILE: "features",
    SHIFT_FAMILIES_FILE: "families",
    CLASS_PRIORS_FILE: "priors",
}


@dataclass
class ShiftRun:
    """A finished shift report and where it was written."""

    out: Path
    tables: ShiftTables
    correlations: pd.DataFrame | None
    written: list[Path]
    notes: list[str] = field(default_factory=list)


def _load(
    corpora: Sequence[str | Path],
    specs: list[FeatureSetSpec],
    *,
    cache_dir: str | Path,
    label_map: LabelMap,
    manifests_dir: str | Path | None,
    jobs: int,
    progress: Progress | None,
) -> tuple[list[CorpusData], dict[str, list[str]], list[str]]:
    """Corpora with their features (extracting what is missing) and each set's feature names."""
    prepared = prepare_corpora(
        corpora, specs, cache_dir=cache_dir, label_map=label_map,
        manifests_dir=manifests_dir, jobs=jobs, progress=progress,
    )  # fmt: skip
    feature_names: dict[str, list[str]] = {}
    for spec in (c for c in corpora if is_table_corpus(c)):
        for name in (s.name for s in specs):
            feature_names.setdefault(name, read_feature_table(Path(spec) / f"{name}.csv")[2])
    for manifest in prepared.manifests:
        for spec in specs:
            if spec.name not in feature_names:
                matrix = load_features(manifest.frame.head(1), spec, cache_dir=cache_dir)
                feature_names[spec.name] = list(matrix.feature_names)
    return prepared.data, feature_names, prepared.notes


def shift_report(
    corpora: Sequence[str | Path],
    feature_sets: Sequence[str | FeatureSetSpec] = ("egemaps",),
    *,
    out: str | Path = "reports/shift",
    results: str | Path | None = None,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    label_map: LabelMap | None = None,
    manifests_dir: str | Path | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    n_permutations: int = 200,
    max_samples: int = 500,
    n_boot: int = 2000,
    seed: int = 0,
) -> ShiftRun:
    """Shift diagnostics of every corpus pair x feature set, written as tidy CSVs to ``out``.

    Writes ``shift.csv``, ``shift_features.csv``, ``shift_families.csv`` and
    ``class_priors.csv`` (columns: :mod:`paraser.experiments.shift`), then the
    report section (:func:`paraser.reports.shift.write_shift_section`). With a
    transfer-matrix ``results.csv`` in ``results`` (or in ``out``) it also writes
    ``drops.csv`` and ``shift_vs_drop.csv``: does shift predict the UAR drop?
    Labels are mapped to the shared space (``label_map``) as for
    :func:`paraser.transfer_matrix`, so priors match the transfer experiments.
    """
    out = Path(out)
    specs = as_specs(feature_sets)
    data, feature_names, notes = _load(
        corpora,
        specs,
        cache_dir=cache_dir,
        label_map=label_map or LabelMap(),
        manifests_dir=manifests_dir,
        jobs=jobs,
        progress=progress,
    )
    callback = (lambda d, t: progress("shift", d, t)) if progress else None
    tables = shift_tables(
        data,
        feature_names,
        n_permutations=n_permutations,
        max_samples=max_samples,
        seed=seed,
        jobs=jobs,
        progress=callback,
    )
    out.mkdir(parents=True, exist_ok=True)
    written = [
        write_table_output(out, name, getattr(tables, attribute))
        for name, attribute in SHIFT_TABLE_FILES.items()
    ]
    config = {
        "corpora": [c.name for c in data],
        "feature_sets": list(feature_names),
        "n_permutations": n_permutations,
        "max_samples": max_samples,
        "seed": seed,
        "n_boot": n_boot,
        "results": str(results) if results is not None else None,
        "cache_dir": str(cache_dir),
        "notes": notes,
    }
    write_json(out / SHIFT_CONFIG_FILE, config)
    written.append(out / SHIFT_CONFIG_FILE)
    written += write_shift_section(out, results_dir=results, n_boot=n_boot, seed=seed)
    correlations = (
        pd.read_csv(out / CORRELATION_FILE) if out / CORRELATION_FILE in written else None
    )
    return ShiftRun(out, tables, correlations, written, notes)
