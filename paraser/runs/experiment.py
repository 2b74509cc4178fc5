"""Experiment files: one TOML file (or a run's ``config.json``) that describes a transfer run.

    paraser run experiment.toml

An experiment file holds the keys of :class:`Experiment`, either at the top level or in an
``[experiment]`` table; each key is named after the ``paraser transfer-matrix`` option it
stands for and has the same default, so a file needs only what differs from the CLI::

    [experiment]
    corpora = ["emodb", "emovo"]
    features = ["egemaps", "is10"]
    classifiers = ["svm", "rf"]
    seeds = [0, 1, 2]
    out = "reports/egemaps_vs_is10"

Every run writes its experiment, with every key explicit, into ``config.json`` (the
``experiment`` object), so ``paraser run RESULTS/config.json`` repeats any run exactly.
This module is the experiment as data; :func:`paraser.runs.transfer.run_experiment` runs one.
Unknown keys, missing keys, wrong types and invalid names are reported with the file, the
line and the closest valid key or name, before anything is extracted.  Relative paths are
read from the folder the command runs in, as on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from paraser.corpora.labels import DEFAULT_CLASSES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: The version of the experiment schema; files and config.json record it.
EXPERIMENT_SCHEMA_VERSION = 1


class ExperimentError(ValueError):
    """An experiment file that cannot be run: every problem, each with its file and line."""


@dataclass(frozen=True)
class Experiment:
    """A transfer run as data.  Field names and defaults are those of ``paraser transfer-matrix``
    (``tests/test_experiment_files.py`` checks that they agree)."""

    corpora: tuple[str, ...]
    features: tuple[str, ...] = ("egemaps",)
    model: str | None = None
    device: str = "auto"
    classifiers: tuple[str, ...] = ("svm",)
    out: str = "reports/transfer"
    protocol: str = "auto"
    folds: int = 5
    stratified_reference: str = "auto"
    normalisation: tuple[str, ...] = ("train",)
    adapt: tuple[str, ...] = ("none",)
    augment: tuple[str, ...] = ("none",)
    augment_copies: int = 2
    pool: tuple[str, ...] = ()
    loco: bool = False
    #: Not a CLI option: False runs transfer directions only (the Python API's ``within``).
    within: bool = True
    seeds: tuple[int, ...] = (0,)
    classes: tuple[str, ...] = DEFAULT_CLASSES
    #: A JSON file or an inline table ``{classes = [...], map = {raw = "class"}}``.
    label_map: str | Mapping | None = None
    task: str = "categorical"
    target_shots: tuple[int, ...] = ()
    shot_draws: int = 5
    shot_weight: float = 1.0
    shot_test_share: float = 0.5
    tune: bool = False
    #: None: $PARASER_CACHE, else features_cache (as the CLI).
    cache_dir: str | None = None
    manifests_dir: str | None = None
    #: None: one worker per CPU core from the command line, one from Python. Never changes
    #: a result.
    jobs: int | None = None
    backend: str = "local"
    scheduler: str | None = None

    def to_dict(self) -> dict:
        """Every key, JSON- and TOML-friendly (lists, not tuples)."""
        record: dict = {"schema_version": EXPERIMENT_SCHEMA_VERSION}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = json.loads(json.dumps(value))
            record[spec.name] = value
        return record

    def to_toml(self) -> str:
        """The experiment as a TOML ``[experiment]`` table (keys left at None omitted)."""
        lines = ["[experiment]"]
        for key, value in self.to_dict().items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(f"cannot write {value!r} to TOML")


# --- reading -------------------------------------------------------------------------------

#: The type each key must have, as a check and the words an error uses.
_KINDS: dict[str, tuple[Callable[[object], bool], str]] = {
    "tuple[str, ...]": (
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        'a list of strings, e.g. ["a", "b"]',
    ),
    "tuple[int, ...]": (
        lambda v: (
            isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
        ),
        "a list of whole numbers, e.g. [0, 1, 2]",
    ),
    "str": (lambda v: isinstance(v, str), "a string"),
    "str | None": (lambda v: v is None or isinstance(v, str), "a string"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "int | None": (
        lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        "a whole number",
    ),
    "float": (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "a number",
    ),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str | Mapping | None": (
        lambda v: v is None or isinstance(v, (str, dict)),
        'a JSON file name or a table {classes = [...], map = {raw = "class"}}',
    ),
}

_FIELDS = {spec.name: spec for spec in dataclasses.fields(Experiment)}
#: Keys a run's config.json records beside its experiment, and an experiment file may carry.
_FILE_KEYS = {"schema_version"}


def _key_line(text: str, key: str, table: str | None, json_file: bool) -> int | None:
    """The line (1-based) where ``key`` is set, in ``table`` when the file has one."""
    if json_file:
        pattern = re.compile(rf'^\s*"{re.escape(key)}"\s*:')
    else:
        pattern = re.compile(rf'^\s*("{re.escape(key)}"|\'{re.escape(key)}\'|{re.escape(key)})\s*=')
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if not json_file and header:
            current = header.group(1).strip().strip('"')
            continue
        if pattern.match(line) and (json_file or current == table):
            return number
    return None


def _table_line(text: str, table: str | None, json_file: bool) -> int | None:
    if table is None:
        return None
    pattern = rf'^\s*"{table}"\s*:' if json_file else rf"^\s*\[\s*{table}\s*\]"
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(pattern, line):
            return number
    return None


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _closest(name: str, valid: Sequence[str]) -> str:
    from paraser.runs.validation import closest

    return closest(name, valid)


def read_document(path: str | Path) -> tuple[dict, str]:
    """The parsed file (TOML, or JSON for ``.json``) and its text; syntax errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such experiment file")
    text = path.read_text(encoding="utf-8")
    json_file = path.suffix.lower() == ".json"
    try:
        document = json.loads(text) if json_file else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if json_file else "TOML"
        raise ExperimentError(f"{path}: not valid {kind}: {exc}") from exc
    if not isinstance(document, dict):
        raise ExperimentError(f"{path}: an experiment file is a table of keys")
    return document, text


def table_problems(
    path: Path,
    text: str,
    table: str,
    section: object,
    *,
    allowed: Sequence[str],
    required: Sequence[str] = (),
) -> list[str]:
    """Unknown and missing keys of a TOML table (other than [experiment]), with their lines."""
    where = _where(path, _table_line(text, table, False))
    if not isinstance(section, dict):
        return [f"{where}: [{table}] must be a table of keys"]
    problems = [
        f"{_where(path, _key_line(text, key, table, False))}: unknown key '{key}' in "
        f"[{table}]{_closest(key, allowed)}; keys: {', '.join(allowed)}"
        for key in section
        if key not in allowed
    ]
    missing = [key for key in required if key not in section]
    return problems + [f"{where}: missing key '{key}' in [{table}]" for key in missing]


def read_experiment(
    path: str | Path, *, other_tables: Sequence[str] = (), **overrides
) -> Experiment:
    """Read and validate an experiment file (TOML, or a run's ``config.json``).

    ``overrides`` replace keys after reading (the CLI's ``--out``, ``--jobs``);
    ``other_tables`` are top-level tables a caller reads itself (a reproduction's
    ``[data]``).  Raises :class:`ExperimentError` listing every problem with its line.
    """
    path = Path(path)
    document, text = read_document(path)
    json_file = path.suffix.lower() == ".json"
    problems: list[str] = []
    if "experiment" in document:
        section, table = document["experiment"], "experiment"
        if not isinstance(section, dict):
            raise ExperimentError(f"{path}: 'experiment' must be a table of keys")
        if not json_file:
            # A config.json also holds the run's record; a TOML file holds only its experiment.
            outside = set(document) - {"experiment", *other_tables} - _FILE_KEYS
            for key in sorted(outside):
                line = _key_line(text, key, None, False) or _table_line(text, key, False)
                problems.append(
                    f"{_where(path, line)}: '{key}' is outside [experiment]; move it into the "
                    "table or remove it"
                )
    elif json_file and "paraser" in document:
        raise ExperimentError(
            f"{path}: this config.json records no experiment (it was written by a paraser "
            "before experiment files); repeat the run with the options its keys name"
        )
    else:
        section, table = document, None
    return _validate(section, path, text, table, json_file, problems, overrides)


def experiment_from_mapping(values: Mapping, source: str = "<experiment>") -> Experiment:
    """An :class:`Experiment` from a mapping of keys (as in a file), validated."""
    return _validate(dict(values), Path(source), "", None, True, [], {})


def _validate(
    section: dict,
    path: Path,
    text: str,
    table: str | None,
    json_file: bool,
    problems: list[str],
    overrides: Mapping,
) -> Experiment:
    def where(key: str) -> str:
        return _where(path, _key_line(text, key, table, json_file))

    version = section.get("schema_version", EXPERIMENT_SCHEMA_VERSION)
    if version != EXPERIMENT_SCHEMA_VERSION:
        problems.append(
            f"{where('schema_version')}: schema_version {version!r} is not supported (this "
            f"paraser reads version {EXPERIMENT_SCHEMA_VERSION})"
        )
    values: dict = {}
    for key, value in section.items():
        if key in _FILE_KEYS:
            continue
        if key not in _FIELDS:
            problems.append(
                f"{where(key)}: unknown key '{key}'{_closest(key, list(_FIELDS))}; experiment "
                f"keys: {', '.join(_FIELDS)}"
            )
            continue
        check, words = _KINDS[str(_FIELDS[key].type)]
        if not check(value):
            problems.append(f"{where(key)}: '{key}' must be {words}, not {value!r}")
            continue
        values[key] = tuple(value) if isinstance(value, list) else value
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "corpora" not in values:
        problems.append(
            f"{_where(path, _table_line(text, table, json_file))}: missing key 'corpora' (the "
            'corpora to run, e.g. corpora = ["emodb", "emovo"])'
        )
    for key, problem in _name_problems(values):
        problems.append(f"{where(key)}: '{key}': {problem}")
    if problems:
        raise ExperimentError("\n".join(problems))
    return Experiment(**values)


def _name_problems(values: Mapping) -> list[tuple[str, str]]:
    """Names checked against what exists, before any extraction starts."""
    from paraser.corpora import LabelMap
    from paraser.corpora.tasks import get_task
    from paraser.features import resolve_feature_set
    from paraser.runs import validation

    def nonempty(value) -> None:
        if not value:
            raise ValueError("names nothing; give at least one")

    def features(value) -> None:
        nonempty(value)
        for name in value:
            resolve_feature_set(
                name, model=values.get("model"), device=values.get("device", "auto")
            )

    def augment(value) -> None:
        from paraser.features.augment_recipes import parse_recipe

        for name in value:
            if name != "none":
                parse_recipe(name)

    def at_least(minimum: int) -> Callable[[object], None]:
        def check(value) -> None:
            if value < minimum:
                raise ValueError(f"must be at least {minimum}, not {value}")

        return check

    def label_map(value) -> None:
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"classes", "map"})
            if unknown:
                raise ValueError(f"unknown key(s) {unknown}: a label map has classes and map")
            LabelMap(tuple(value.get("classes", DEFAULT_CLASSES)), dict(value.get("map", {})))
        elif value is not None:
            LabelMap.from_file(value)

    checks: dict[str, Callable[[object], None]] = {
        "corpora": nonempty,
        "features": features,
        "classifiers": validation.check_classifiers,
        "protocol": validation.check_protocol,
        "stratified_reference": validation.check_stratified_reference,
        "normalisation": validation.check_normalisations,
        "adapt": validation.check_adaptations,
        "seeds": validation.check_seeds,
        "augment": augment,
        "folds": at_least(2),
        "jobs": lambda value: None if value is None else at_least(1)(value),
        "augment_copies": at_least(1),
        "shot_draws": at_least(1),
        "classes": lambda value: LabelMap(tuple(value)),
        "label_map": label_map,
        "task": lambda value: None if value == "categorical" else get_task(value),
    }
    problems = []
    for key, check in checks.items():
        if key in values:
            try:
                check(values[key])
            except (ValueError, FileNotFoundError, KeyError) as exc:
                problems.append((key, str(exc)))
    if values.get("label_map") is not None and values.get("task", "categorical") != "categorical":
        problems.append(("label_map", "is for the categorical task; give task = FILE.json"))
    return problems


# --- running -------------------------------------------------------------------------------


def resolve_label_space(classes: Sequence[str], label_map: str | Path | Mapping | None, task: str):
    """The LabelMap (categorical) or Task (arousal, valence, a file) of the options
    ``--classes``, ``--label-map`` (a JSON file, or an experiment file's inline table) and
    ``--task``; every command that takes them resolves them here."""
    from paraser.corpora import LabelMap
    from paraser.corpora.tasks import get_task

    if task.strip().lower() != "categorical":
        if label_map:
            raise ValueError("--label-map is for the categorical task; give --task FILE.json")
        return get_task(task)
    if isinstance(label_map, Mapping):
        return LabelMap(
            tuple(label_map.get("classes", DEFAULT_CLASSES)), dict(label_map.get("map", {}))
        )
    return LabelMap.from_file(label_map) if label_map else LabelMap(tuple(classes))


def label_space(experiment: Experiment):
    """The label space ``experiment`` runs on (:func:`resolve_label_space`)."""
    return resolve_label_space(experiment.classes, experiment.label_map, experiment.task)


def recorded_experiment(
    *,
    corpora: Sequence,
    specs: Sequence,
    classifiers: Sequence,
    label_map,
    out: Path,
    cache_dir,
    manifests_dir,
    **settings,
) -> dict:
    """The experiment a transfer run was given, every key explicit, for ``config.json``.

    Corpora keep the names they were given; paths become absolute, and the manifests folder
    the names were found in is recorded, so the file runs from any folder.  ``settings``
    are the remaining :class:`Experiment` keys, as the run used them.
    """
    from paraser.corpora import LabelMap
    from paraser.corpora.registry import manifest_dir
    from paraser.experiments.classifiers import resolve_classifier

    def absolute(value) -> str:
        return str(Path(value).expanduser().resolve())

    names = [str(c) for c in corpora]
    given_as_paths = [n.endswith(".csv") or Path(n).exists() for n in names]
    models = sorted({spec.model for spec in specs if getattr(spec, "model", None)})
    devices = sorted({spec.device for spec in specs if hasattr(spec, "device")})
    record = dict(
        corpora=[absolute(n) if is_path else n for n, is_path in zip(names, given_as_paths)],
        features=[spec.name for spec in specs],
        # SSL sets record the model they ran (their family's default included).
        model=models[0] if len(models) == 1 else None,
        device=devices[0] if len(devices) == 1 else "auto",
        classifiers=[resolve_classifier(c).name for c in classifiers],
        out=str(out),
        cache_dir=str(cache_dir),
        manifests_dir=None if all(given_as_paths) else absolute(manifest_dir(manifests_dir)),
        **settings,
    )
    if isinstance(label_map, LabelMap):
        record.update(task="categorical", classes=list(label_map.classes))
        record["label_map"] = label_map.to_dict() if label_map.overrides else None
    else:  # a Task: a built-in name or the file it came from
        record.update(task=label_map.name if label_map.source == "built-in" else label_map.source)
    return Experiment(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in record.items()}
    ).to_dict()
