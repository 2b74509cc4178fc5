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

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from paraser.corpora import CANONICAL_EMOTIONS, LabelMap
from paraser.experiments.protocols import SCORING_RULE
from paraser.results import (
    claim_results_folder,
    clear_outputs,
    load_predictions,
    load_results,
    update_config,
    write_config,
    write_run_tables,
)
from paraser.runs.extraction import Progress

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


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


def pool_manifests(
    manifests: Sequence[str | Path], name: str, out_dir: str | Path, audio_root: str | Path
) -> Path:
    """One manifest ``<out_dir>/<name>.csv`` holding every utterance of ``manifests``.

    Speakers stay distinct (``ravdess:01``, ``savee:DC``), each row keeps its
    corpus' language and names its corpus in ``origin``; labels stay as the
    recipes wrote them (canonical), so the run's label space applies as usual.
    """
    from paraser.corpora import load_manifest
    from paraser.corpora.manifest import write_manifest

    frames = []
    for manifest in manifests:
        frame = load_manifest(manifest, map_labels=False).frame
        frames.append(
            pd.DataFrame(
                {
                    "file": frame["path"],
                    "label": frame["label"],
                    "speaker": frame["speaker"],  # already corpus-prefixed by the loader
                    "language": frame["language"],
                    "gender": frame["gender"],
                    "origin": frame["corpus"],
                }
            )
        )
    pooled = pd.concat(frames, ignore_index=True)
    return write_manifest(pooled, Path(out_dir) / f"{name}.csv", audio_root, {"corpus": name})


def ssl_feature_sets(names: Sequence[str], model_env: str = "PARASER_SSL_MODEL"):
    """The SSL feature sets whose model is on disk, and a note for each one that is not.

    ``model_env`` may name a model folder or hub id (else each family's default);
    nothing is downloaded, so a baseline without its weights is skipped, never faked.
    """
    from paraser.features import FeatureSetError, resolve_feature_set
    from paraser.features.ssl import require_torch, resolve_model_dir

    model = os.environ.get(model_env) or None
    specs, notes = [], []
    for name in names:
        try:
            spec = resolve_feature_set(name, model=model)
            require_torch(f"the SSL baseline '{name}'")
            resolve_model_dir(spec.model)
        except (FeatureSetError, ImportError) as exc:
            notes.append(f"SSL baseline skipped: {name}: {exc}")
            continue
        specs.append(spec)
    return specs, notes


def _read_run(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_results(out), load_predictions(out)


def _finish_pool(out: Path, pool: str, members: Sequence[str], extra: dict[str, Path]) -> list[str]:
    """Drop transfer rows between the pooled corpus and its own members (their test
    utterances were training data) and add the pooled corpus' within rows of the extra
    protocols in ``extra`` (protocol -> its run folder) as ``<pool>@<protocol>``.
    Not ``[...]``: the console would read brackets as markup."""
    results, predictions = _read_run(out)
    overlapping = {(pool, m) for m in members} | {(m, pool) for m in members}

    def keep(frame: pd.DataFrame) -> pd.Series:
        return ~pd.Series(list(zip(frame["source"], frame["target"]))).isin(overlapping).values

    results, predictions = results[keep(results)], predictions[keep(predictions)]
    for protocol, folder in extra.items():
        renamed = {pool: f"{pool}@{protocol}"}
        more = [t.replace({"source": renamed, "target": renamed}) for t in _read_run(folder)]
        results = pd.concat([results, more[0]], ignore_index=True)
        predictions = pd.concat([predictions, more[1]], ignore_index=True)
    write_run_tables(out, results, predictions)
    return [
        f"{pool} pools {' and '.join(members)} into one corpus; transfers between it and its "
        "own members are left out (their test utterances were training data)",
        *(
            f"{pool}@{p}: the pooled corpus evaluated within with protocol '{p}' "
            f"(results of {folder})"
            for p, folder in extra.items()
        ),
    ]


def _run_tables(config: dict, root: Path, out: Path, label_map: LabelMap, jobs: int) -> None:
    """Within/transfer grid on feature tables; writes the tidy tables a report reads."""
    import numpy as np

    from paraser.experiments import CorpusData, make_protocol, run_grid, skipped_directions
    from paraser.features.precomputed import load_table_corpus

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
    write_run_tables(out, grid.results, grid.predictions, grid.folds, grid.reference)
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
        "within_scoring": SCORING_RULE,
        "seeds": protocol.get("seeds", [0]),
        "label_map": label_map.to_dict(),
        "numpy": np.__version__,
        "notes": [*grid.notes, *skipped_directions(corpora)],
    }
    write_config(out, record)


def _run_audio(
    config: dict,
    root: Path,
    out: Path,
    label_map: LabelMap,
    cache_dir: str | Path,
    jobs: int,
    progress: Progress | None,
) -> list[str]:
    """Recipes -> manifests (and the pooled one, with ``data.pool_as``) -> transfer_matrix."""
    from paraser.runs.transfer import transfer_matrix

    data, protocol = config["data"], config["protocol"]
    manifests = prepare_manifests(data["corpora"], root, out / "manifests")
    ssl, notes = ssl_feature_sets(protocol.get("ssl_feature_sets", []))
    pool = data.get("pool_as")
    if pool:
        manifests.append(pool_manifests(manifests, pool, out / "manifests", root))
    common = dict(
        feature_sets=[*protocol["feature_sets"], *ssl],
        classifiers=protocol["classifiers"],
        cache_dir=cache_dir,
        label_map=label_map,
        folds=protocol.get("folds", 5),
        seeds=protocol.get("seeds", [0]),
        augmentations=protocol.get("augmentations", ["none"]),
        augment_copies=protocol.get("augment_copies", 2),
        jobs=jobs,
        progress=progress,
        # reproduce() has claimed ``out`` (refused, cleared or resumed) before this.
        force=True,
    )
    transfer_matrix(manifests, out=out, protocol=protocol.get("within", "stratified"), **common)
    if pool:
        # Further within-corpus protocols for the pooled corpus only; its features are cached.
        extra = {p: out / f"pooled-{p}" for p in protocol.get("pooled_protocols", [])}
        for p, folder in extra.items():
            transfer_matrix([manifests[-1]], out=folder, protocol=p, **common)
        notes += _finish_pool(out, pool, data["corpora"], extra)
    return notes


def _record_published(out: Path, config: dict, notes: Sequence[str] = ()) -> None:
    """Store the published numbers in config.json, where the report finds them."""
    update_config(
        out,
        reproduction={
            "name": config.get("name"),
            "citation": config.get("citation"),
            "protocol_difference": config.get("protocol_difference"),
            "notes": list(notes),
            "published": config.get("published", []),
        },
    )


def reproduce(
    spec: str | Path,
    *,
    out: str | Path | None = None,
    cache_dir: str | Path = "features_cache",
    jobs: int = 1,
    n_boot: int = 1000,
    progress: Progress | None = None,
    force: bool = False,
    resume: bool = False,
) -> Reproduction:
    """Run the protocol of config ``spec`` and write the full report to ``out``.

    ``out`` holding another run's outputs is refused unless ``force`` (they are removed
    first) or ``resume`` (the folder records a reproduction of the same config).
    """
    from paraser.reports.export import published_comparison, write_report

    config = tomllib.loads(config_path(spec).read_text())
    name = config.get("name", str(spec))
    root = data_dir(config["data"])
    missing = _missing(config, root)
    if missing:
        return Reproduction(name, missing=missing)
    out = Path(out or config.get("out", "reports/reproduction"))

    def differences(recorded: dict) -> list[str]:
        return [] if (recorded.get("reproduction") or {}).get("name") == name else ["name"]

    if claim_results_folder(out, force=force, resume=resume, differences=differences):
        clear_outputs(out)
    protocol = config["protocol"]
    label_map = _label_map(protocol.get("classes"))
    if config["data"].get("kind", "audio") == "tables":
        _run_tables(config, root, out, label_map, jobs)
        notes = []
    else:
        notes = _run_audio(config, root, out, label_map, cache_dir, jobs, progress)
    if config.get("protocol_difference"):
        notes.insert(0, "Protocol difference: " + " ".join(config["protocol_difference"].split()))
    _record_published(out, config, notes)
    write_report(out, n_boot=n_boot)
    published = published_comparison(out)
    return Reproduction(name, out=out, published=published, notes=notes)
