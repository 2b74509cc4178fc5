"""Reproduce a published protocol from a TOML description (``paraser reproduce CONFIG``).

A reproduction config names its data (feature tables or corpus folders, found
through an environment variable or a default folder), the protocol (within-
corpus folds, seeds, feature sets, classifiers, label space) and, optionally,
the published numbers to print beside ours.  See ``paraser/configs/*.toml``.

When the data are absent, :func:`reproduce` returns a :class:`Reproduction`
with ``missing`` set to a message saying where to obtain the data and where to
put it; the CLI prints it and exits 0, so ``make reproduce-paper`` is a no-op
with instructions rather than a failure on machines without the data.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from paraser.corpora import CANONICAL_EMOTIONS, LabelMap

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Progress = Callable[[str, int, int], None]


def config_path(spec: str | Path) -> Path:
    """A packaged config name (``paper_syed2020``) or a path to a TOML file."""
    path = Path(spec)
    if path.is_file():
        return path
    packaged = Path(str(resources.files("paraser") / "configs" / f"{spec}.toml"))
    if packaged.is_file():
        return packaged
    raise FileNotFoundError(f"{spec}: no such reproduction config (file or packaged name)")


@dataclass
class Reproduction:
    """What a reproduction did: where it wrote, or why it could not run."""

    name: str
    out: Path | None = None
    missing: str | None = None
    published: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def data_dir(data: dict) -> Path:
    return Path(os.environ.get(data.get("env", ""), "") or data["default"]).expanduser()


def _label_map(classes) -> LabelMap:
    if classes in (None, "all"):
        return LabelMap(tuple(CANONICAL_EMOTIONS))
    return LabelMap(tuple(classes))


def _missing(config: dict, root: Path) -> str | None:
    data = config["data"]
    kind = data.get("kind", "audio")
    if kind == "tables":
        tables = config["protocol"]["feature_sets"]
        absent = [
            f"{root / c / f'{f}.csv'}"
            for c in data["corpora"]
            for f in tables
            if not (root / c / f"{f}.csv").is_file()
        ]
    elif kind == "audio":
        absent = [str(root / c) for c in data["corpora"] if not (root / c).is_dir()]
    else:
        raise ValueError(f"unknown data kind '{kind}': use 'tables' or 'audio'")
    if not absent:
        return None
    shown = ", ".join(absent[:4]) + (f" and {len(absent) - 4} more" if len(absent) > 4 else "")
    return (
        f"{config.get('name', 'reproduction')}: data not found ({shown}).\n\n"
        f"{data.get('obtain', '').strip()}"
    )


def prepare_manifests(
    corpora: Sequence[str], corpus_root: str | Path, out_dir: str | Path
) -> list[Path]:
    """Manifests for corpus folders ``corpus_root/<name>`` made by paraser's recipes."""
    from paraser.corpora.recipes import prepare_corpus

    return [prepare_corpus(name, Path(corpus_root) / name, out_dir) for name in corpora]


def _run_tables(config: dict, root: Path, out: Path, label_map: LabelMap, jobs: int) -> None:
    """Within/transfer grid on feature tables; writes the tidy tables a report reads."""
    import numpy as np

    from paraser.experiments import CorpusData, make_protocol, run_grid, skipped_directions
    from paraser.features.store import atomic_write_text
    from paraser.features.tables import load_table_corpus

    protocol = config["protocol"]
    sets = protocol["feature_sets"]
    corpora = [
        CorpusData(**vars(load_table_corpus(root / name, sets, name=name, label_map=label_map)))
        for name in config["data"]["corpora"]
    ]
    within = make_protocol(protocol.get("within", "stratified"), protocol.get("folds", 5))
    grid = run_grid(
        corpora,
        sets,
        protocol["classifiers"],
        protocol=within,
        seeds=protocol.get("seeds", [0]),
        jobs=jobs,
    )
    out.mkdir(parents=True, exist_ok=True)
    grid.results.to_csv(out / "results.csv", index=False)
    grid.predictions.to_parquet(out / "predictions.parquet", index=False)
    record = {
        "source": "feature tables",
        "data_dir": str(root),
        "corpora": {
            c.name: {
                "n_utterances": len(c.frame),
                "classes": c.frame["label"].value_counts().sort_index().to_dict(),
            }
            for c in corpora
        },
        "feature_sets": {
            name: {"n_features": int(corpora[0].features[name].shape[1])} for name in sets
        },
        "classifiers": protocol["classifiers"],
        "protocol": within.name,
        "seeds": protocol.get("seeds", [0]),
        "label_map": label_map.to_dict(),
        "numpy": np.__version__,
        "notes": [*grid.notes, *skipped_directions(corpora)],
    }
    atomic_write_text(out / "config.json", json.dumps(record, indent=2) + "\n")


def _record_published(out: Path, config: dict) -> None:
    """Store the published numbers in config.json, where the report finds them."""
    path = out / "config.json"
    record = json.loads(path.read_text())
    record["reproduction"] = {
        "name": config.get("name"),
        "citation": config.get("citation"),
        "published": config.get("published", []),
    }
    path.write_text(json.dumps(record, indent=2) + "\n")


def reproduce(
    spec: str | Path,
    *,
    out: str | Path | None = None,
    cache_dir: str | Path = "features_cache",
    jobs: int = 1,
    n_boot: int = 1000,
    n_perm: int = 1000,
    progress: Progress | None = None,
) -> Reproduction:
    """Run the protocol of config ``spec`` and write the full report to ``out``."""
    from paraser.reports.export import published_comparison, write_report

    config = tomllib.loads(config_path(spec).read_text())
    name = config.get("name", str(spec))
    root = data_dir(config["data"])
    missing = _missing(config, root)
    if missing:
        return Reproduction(name, missing=missing)
    out = Path(out or config.get("out", "reports/reproduction"))
    protocol = config["protocol"]
    label_map = _label_map(protocol.get("classes"))
    if config["data"].get("kind", "audio") == "tables":
        _run_tables(config, root, out, label_map, jobs)
    else:
        from paraser.pipeline import transfer_matrix

        manifests = prepare_manifests(config["data"]["corpora"], root, out / "manifests")
        transfer_matrix(
            manifests,
            protocol["feature_sets"],
            protocol["classifiers"],
            out=out,
            cache_dir=cache_dir,
            label_map=label_map,
            protocol=protocol.get("within", "stratified"),
            folds=protocol.get("folds", 5),
            seeds=protocol.get("seeds", [0]),
            jobs=jobs,
            progress=progress,
        )
    _record_published(out, config)
    write_report(out, n_boot=n_boot, n_perm=n_perm)
    published = published_comparison(out)
    return Reproduction(name, out=out, published=published)
