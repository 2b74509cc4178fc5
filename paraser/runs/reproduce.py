"""Reproduce a published protocol: an experiment file plus the published numbers.

A reproduction config (``paraser/configs/*.toml``) is an experiment file
(:mod:`paraser.runs.experiment`: its ``[experiment]`` table is what ``paraser run``
reads, validated the same way, with the same defaults) and three more tables:
``[reproduction]`` (name, citation, how our protocol differs, a pooled corpus),
``[data]`` (where the corpus folders or feature tables are: an environment variable
or a default folder, and how to obtain them) and ``[[published]]`` (the numbers to
print beside ours).  The experiment's ``corpora`` are folder names under the data folder.

When the data are absent, :func:`reproduce` returns a :class:`Reproduction`
with ``missing`` set to a message saying where to obtain the data and where to
put it; the CLI prints it and exits 0, so ``make reproduce-paper`` is a no-op
with instructions rather than a failure on machines without the data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import pandas as pd

from paraser.results import (
    claim_results_folder,
    clear_outputs,
    load_predictions,
    load_results,
    update_config,
    write_run_tables,
)
from paraser.runs.experiment import (
    Experiment,
    ExperimentError,
    read_document,
    read_experiment,
    table_problems,
)
from paraser.runs.extraction import Progress
from paraser.runs.transfer import run_experiment


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


#: The keys of a reproduction's own tables (the experiment's are those of paraser run).
REPRODUCTION_KEYS = ("name", "citation", "protocol_difference", "pool_as", "pooled_protocols",
                     "ssl_features")  # fmt: skip
DATA_KEYS = ("kind", "env", "default", "obtain")
PUBLISHED_TABLES = ("reproduction", "data", "published")


@dataclass(frozen=True)
class ReproductionConfig:
    """A validated reproduction config: the experiment and its own tables."""

    experiment: Experiment
    reproduction: dict
    data: dict
    published: list


def read_reproduction(path: str | Path) -> ReproductionConfig:
    """Read and validate a reproduction config; every problem is named with its line."""
    path = Path(path)
    document, text = read_document(path)
    problems = []
    if "experiment" not in document:
        problems.append(f"{path}: missing table [experiment] (the run, as for paraser run)")
    problems += table_problems(
        path, text, "reproduction", document.get("reproduction", {}),
        allowed=REPRODUCTION_KEYS, required=("name",),
    )  # fmt: skip
    problems += table_problems(
        path, text, "data", document.get("data", {}), allowed=DATA_KEYS,
        required=("default", "obtain"),
    )  # fmt: skip
    kind = document.get("data", {}).get("kind", "audio")
    if kind not in ("audio", "tables"):
        problems.append(f"{path}: [data] kind '{kind}': use 'tables' or 'audio'")
    experiment = None
    try:
        experiment = read_experiment(path, other_tables=PUBLISHED_TABLES)
    except ExperimentError as exc:
        problems.append(str(exc))
    if problems or experiment is None:
        raise ExperimentError("\n".join(problems))
    return ReproductionConfig(
        experiment,
        document.get("reproduction", {}),
        document["data"],
        list(document.get("published", [])),
    )


def data_dir(data: dict) -> Path:
    return Path(os.environ.get(data.get("env", ""), "") or data["default"]).expanduser()


def _missing(config: ReproductionConfig, root: Path) -> str | None:
    corpora = config.experiment.corpora
    if config.data.get("kind", "audio") == "tables":
        absent = [
            f"{root / c / f'{f}.csv'}"
            for c in corpora
            for f in config.experiment.features
            if not (root / c / f"{f}.csv").is_file()
        ]
    else:
        absent = [str(root / c) for c in corpora if not (root / c).is_dir()]
    if not absent:
        return None
    shown = ", ".join(absent[:4]) + (f" and {len(absent) - 4} more" if len(absent) > 4 else "")
    return (
        f"{config.reproduction.get('name', 'reproduction')}: data not found ({shown}).\n\n"
        f"{config.data.get('obtain', '').strip()}"
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
    """The SSL feature sets whose model is on disk, their model, and a note for each skipped.

    ``model_env`` may name a model folder or hub id (else each family's default);
    nothing is downloaded, so a baseline without its weights is skipped, never faked.
    """
    from paraser.features import FeatureSetError, resolve_feature_set
    from paraser.features.ssl import require_torch, resolve_model_dir

    model = os.environ.get(model_env) or None
    usable, notes = [], []
    for name in names:
        try:
            spec = resolve_feature_set(name, model=model)
            require_torch(f"the SSL baseline '{name}'")
            resolve_model_dir(spec.model)
        except (FeatureSetError, ImportError) as exc:
            notes.append(f"SSL baseline skipped: {name}: {exc}")
            continue
        usable.append(name)
    return usable, model, notes


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


def _run_audio(
    config: ReproductionConfig, experiment: Experiment, root: Path, progress: Progress | None
) -> list[str]:
    """Recipes -> manifests (and the pooled one, ``pool_as``) -> the experiment on them."""
    out, reproduction = Path(experiment.out), config.reproduction
    manifests = prepare_manifests(experiment.corpora, root, out / "manifests")
    ssl, model, notes = ssl_feature_sets(reproduction.get("ssl_features", []))
    pool = reproduction.get("pool_as")
    if pool:
        manifests.append(pool_manifests(manifests, pool, out / "manifests", root))
    experiment = replace(
        experiment,
        corpora=tuple(str(m) for m in manifests),
        features=(*experiment.features, *ssl),
        model=model if ssl else experiment.model,
    )
    # reproduce() has claimed ``out`` (refused, cleared or resumed) before this.
    run_experiment(experiment, progress=progress, force=True)
    if pool:
        # Further within-corpus protocols for the pooled corpus only; its features are cached.
        extra = {p: out / f"pooled-{p}" for p in reproduction.get("pooled_protocols", [])}
        for p, folder in extra.items():
            pooled = replace(experiment, corpora=(str(manifests[-1]),), protocol=p, out=str(folder))
            run_experiment(pooled, progress=progress, force=True)
        notes += _finish_pool(out, pool, config.experiment.corpora, extra)
    return notes


def _record_published(out: Path, config: ReproductionConfig, notes: Sequence[str] = ()) -> None:
    """Store the published numbers in config.json, where the report finds them."""
    update_config(
        out,
        reproduction={
            "name": config.reproduction.get("name"),
            "citation": config.reproduction.get("citation"),
            "protocol_difference": config.reproduction.get("protocol_difference"),
            "notes": list(notes),
            "published": config.published,
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

    config = read_reproduction(config_path(spec))
    name = config.reproduction["name"]
    root = data_dir(config.data)
    missing = _missing(config, root)
    if missing:
        return Reproduction(name, missing=missing)
    out = Path(out or config.experiment.out)

    def differences(recorded: dict) -> list[str]:
        return [] if (recorded.get("reproduction") or {}).get("name") == name else ["name"]

    if claim_results_folder(out, force=force, resume=resume, differences=differences):
        clear_outputs(out)
    experiment = replace(config.experiment, out=str(out), cache_dir=str(cache_dir), jobs=jobs)
    if config.data.get("kind", "audio") == "tables":
        tables = tuple(str(root / c) for c in experiment.corpora)
        run_experiment(replace(experiment, corpora=tables), progress=progress, force=True)
        notes = []
    else:
        notes = _run_audio(config, experiment, root, progress)
    difference = config.reproduction.get("protocol_difference")
    if difference:
        notes.insert(0, "Protocol difference: " + " ".join(difference.split()))
    _record_published(out, config, notes)
    write_report(out, n_boot=n_boot)
    published = published_comparison(out)
    return Reproduction(name, out=out, published=published, notes=notes)
