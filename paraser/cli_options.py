"""Command-line options shared by several ``paraser`` commands, defined once."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import typer


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


FILE_COLUMN_HELP = "Column of the audio file paths, when not 'file' (e.g. a nkululeko CSV)."
LABEL_COLUMN_HELP = "Column of the labels, when not 'label' (nkululeko: emotion)."
SPEAKER_COLUMN_HELP = "Column of the speaker ids, when not 'speaker'."


CACHE_OPTION = typer.Option(
    Path("features_cache"), "--cache-dir", envvar="PARASER_CACHE", help="Feature cache folder."
)
MANIFESTS_OPTION = typer.Option(
    None,
    "--manifests-dir",
    envvar="PARASER_MANIFESTS",
    help="Folder of registered corpora (default: ./corpora_manifests).",
)
JOBS_OPTION = typer.Option(
    default_jobs(), "--jobs", "-j", min=1, help="Worker processes (default: CPU cores)."
)
BACKEND_OPTION = typer.Option(
    "local",
    "--backend",
    help="Where work runs: local (worker processes) or dask (a local Dask cluster; "
    "needs the dask extra: pip install 'paraser\\[dask]').",
)
SCHEDULER_OPTION = typer.Option(
    None,
    "--scheduler",
    envvar="PARASER_SCHEDULER",
    help="Address of a running Dask scheduler (tcp://HOST:PORT); implies --backend dask.",
)
MODEL_OPTION = typer.Option(
    None,
    "--model",
    help="Model of the SSL feature sets (xlsr, wavlm, hubert, whisper-enc, ssl): a Hugging "
    "Face hub id already in the local cache, or a folder written by save_pretrained. "
    "Default: the family's own (xlsr: facebook/wav2vec2-xls-r-300m). Never downloaded here.",
)
DEVICE_OPTION = typer.Option(
    "auto",
    "--device",
    help="Device of the SSL feature sets: auto (CUDA in fp16 when present, else CPU), cpu, "
    "cuda, cuda:N.",
)


TASK_OPTION = typer.Option(
    "categorical",
    "--task",
    help="Label space: categorical (--classes / --label-map); arousal or valence (every "
    "corpus' emotions mapped onto low/neutral/high, negative/neutral/positive by one documented "
    "table; level-labelled corpora such as BAVED taken directly); arousal-core (only anger, "
    "happiness, neutral, sadness mapped); or a JSON table file "
    '{"task", "levels", "map": {"emotion": "level"|null}}. Unmappable labels are refused.',
)


BOOT_OPTION = typer.Option(
    1000,
    "--n-boot",
    min=100,
    help="Speaker-bootstrap resamples behind the inversion's rank and tau CIs (cell CIs, "
    "gains and tests against chance are speaker-jackknife: no resampling).",
)


FORCE_OPTION = typer.Option(
    False,
    "--force",
    help="--out holds an earlier run: remove the files paraser wrote there (results, "
    "report, matrices, figures; never other files) before writing this run's.",
)
RESUME_OPTION = typer.Option(
    False,
    "--resume",
    help="--out holds an earlier run of the same configuration (its config.json): run "
    "again into it (extracted features come from the cache); another configuration is "
    "refused, naming the options that differ.",
)
QUIET_OPTION = typer.Option(
    False, "--quiet", "-q", help="No progress and no matrices: errors and the closing line only."
)
JSON_OPTION = typer.Option(
    False,
    "--json",
    help="Print one JSON summary object on stdout (out, files, cells, notes) instead of the "
    "matrices, for scripts; progress still goes to stderr.",
)


def without_type_metavars(app: typer.Typer) -> None:
    """Drop the ``<bool>``/``<str>``/``<list[str]>`` column from every command's help.

    Typer shows an option's Python type unless the option has a metavar; the help text
    already says what each option takes, so an empty metavar leaves only that.
    """
    apps = [app, *(group.typer_instance for group in app.registered_groups)]
    for each in apps:
        commands = [*each.registered_commands, each.registered_callback]
        for command in filter(None, commands):
            for parameter in inspect.signature(command.callback).parameters.values():
                option = parameter.default
                if isinstance(option, typer.models.OptionInfo) and option.metavar is None:
                    option.metavar = ""
