"""The results folder: the one module that knows its files, their schemas and how to write them.

A results folder (``paraser transfer-matrix --out DIR``) holds the tidy tables a run wrote
(``results.csv``, ``predictions.parquet``) and the record of what produced them
(``config.json``); ``paraser report`` derives everything else from those three. Every other
module names these files through this one, reads them with :func:`load_results`,
:func:`load_predictions` and :func:`read_config`, and writes them with
:func:`write_run_tables` and :func:`write_config`.

Writes are atomic (a temporary file beside the target, then ``os.replace``): a run killed
while writing leaves the previous file whole. The feature cache uses the same writers.

Ground floor: imports nothing from paraser.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

RESULTS_FILE = "results.csv"
PREDICTIONS_FILE = "predictions.parquet"
#: Per-fold rows of every within-corpus cell (results.csv holds the pooled score).
FOLDS_FILE = "folds.csv"
#: Stratified cells run beside speaker-independent ones (speakers shared; never a ceiling).
REFERENCE_FILE = "within_reference.csv"
CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.md"
REPORT_MARKDOWN_FILE = "report.md"
REPORT_HTML_FILE = "report.html"
REPORT_LATEX_FILE = "tables.tex"
FEWSHOT_CURVES_FILE = "fewshot.csv"
FEWSHOT_SHOTS_FILE = "fewshot_shots.csv"
FEWSHOT_PREDICTIONS_FILE = "fewshot_predictions.parquet"

#: Version of the ``config.json`` layout, its first key; raised when a key changes meaning
#: or goes away (adding a key keeps it).
CONFIG_SCHEMA_VERSION = 1

# What the analyses and ``paraser report`` derive from the run tables, beside them.
CELL_STATS_FILE = "cell_stats.csv"
INVERSION_FILE = "inversion.csv"
RANKINGS_FILE = "rankings.csv"
COMPARISONS_FILE = "comparisons.csv"
PROTOCOL_SUMMARY_FILE = "summary_by_protocol.csv"
PER_CLASS_RECALL_FILE = "per_class_recall.csv"
CONFUSION_FILE = "confusion.csv"
#: ``matrix_<set>_<classifier>[...].csv/.md``: one UAR matrix per condition.
MATRIX_PREFIX = "matrix"
PUBLISHED_FILE = "published_comparison.csv"
NORMALISATION_GAINS_FILE = "normalisation_gains.csv"
FIGURES_DIR = "figures"
SHIFT_FILE = "shift.csv"
SHIFT_FEATURES_FILE = "shift_features.csv"
SHIFT_FAMILIES_FILE = "shift_families.csv"
CLASS_PRIORS_FILE = "class_priors.csv"
DROPS_FILE = "drops.csv"
CORRELATION_FILE = "shift_vs_drop.csv"
SHIFT_MARKDOWN_FILE = "shift.md"
SHIFT_HTML_FILE = "shift.html"
SHIFT_CONFIG_FILE = "shift_config.json"
FEWSHOT_CURVE_TABLE_FILE = "fewshot_curves.csv"
FEWSHOT_TO_CEILING_FILE = "fewshot_to_ceiling.csv"
FEWSHOT_TESTS_FILE = "fewshot_tests.csv"
FEWSHOT_MARKDOWN_FILE = "fewshot.md"
IMPORTANCE_FILE = "importance.csv"
IMPORTANCE_FAMILIES_FILE = "importance_families.csv"
IMPORTANCE_MARKDOWN_FILE = "importance.md"
IMPORTANCE_CONFIG_FILE = "importance_config.json"

#: The factors of a run and their baseline levels. A results table from before a factor
#: existed is read as if every row had the baseline level.
FACTOR_DEFAULTS = {"normalisation": "train", "adaptation": "none", "augmentation": "none"}
#: The columns that name one configuration (one model recipe) of ``results.csv``.
CONFIG_COLUMNS = ["feature_set", "classifier", *FACTOR_DEFAULTS]


#: Columns of ``results.csv``, one row per evaluation.
RESULT_COLUMNS: dict[str, str] = {
    "feature_set": "feature set name",
    "classifier": "classifier name",
    "source": "training corpus",
    "target": "test corpus (equal to source for within-corpus rows)",
    "kind": "'within' or 'transfer'",
    "protocol": "split protocol actually used",
    "normalisation": "feature normalisation strategy (train, corpus, speaker)",
    "adaptation": "unsupervised adaptation to the target ('none' on the within diagonal)",
    "augmentation": "augmentation recipe of the training side ('none': original audio only)",
    "transductive": "True when unlabelled target (or test-fold) features shaped the model",
    "fold": "-1: transfer (all of source -> all of target) or a within-corpus cell scored on "
    "its pooled out-of-fold predictions; the per-fold rows are in folds.csv",
    "seed": "random seed of split and classifier",
    "uar": "unweighted average recall over `classes`",
    "accuracy": "accuracy",
    "macro_f1": "macro-averaged F1 over `classes`",
    "chance": "chance UAR, 1/K",
    "n_train": "training rows (utterances plus augmented copies)",
    "n_test": "test utterances",
    "classes": "classes evaluated, '|'-separated",
    "n_predicted_classes": "distinct classes the model predicted",
    "dominant_share": "share of predictions in the most predicted class",
    "collapsed": "True when predictions degenerate to (nearly) one class",
    "params": "hyperparameters chosen by the nested speaker-grouped search (--tune) on this "
    "row's training data, JSON; empty when not tuned",
}

PREDICTION_COLUMNS = [
    "feature_set", "classifier", "normalisation", "adaptation", "augmentation", "source",
    "target", "fold", "seed", "utterance", "speaker", "y_true", "y_pred", "score_kind",
]  # fmt: skip
#: Besides PREDICTION_COLUMNS, ``predictions.parquet`` has one ``score_<class>`` column per
#: class: the probability of that class, or the classifier's decision score where it has
#: no probabilities (``score_kind`` says which); NaN for classes the evaluation lacks.
SCORE_PREFIX = "score_"


# --- atomic writers ---------------------------------------------------------------------


def temporary_path(path: Path) -> Path:
    """Where ``path`` is written before it replaces the target.

    Host and pid in the name let a later run tell a dead writer's leftovers from live ones.
    """
    return path.with_name(
        f".tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}-{path.name}"
    )


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` and move ``tmp`` onto ``path``; on failure remove ``tmp``."""
    tmp = temporary_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        # A half-written file on a full disk holds the space the next write needs.
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_parquet(table: pa.Table, path: Path, **write_options) -> None:
    """Write an Arrow table to ``path`` as Parquet, atomically.

    ``write_options`` go to :func:`pyarrow.parquet.write_table`.
    """

    def write(tmp: Path) -> None:
        # A handle closed even when the write fails: a half-written file whose descriptor
        # pyarrow still held would keep a full disk full after it is unlinked.  Arrow's
        # own file, not a Python one: pyarrow writes a Python file in many small calls
        # through the interpreter (a ComParE cache file took 2.3x as long).
        with pa.OSFile(str(tmp), "wb") as handle:
            pq.write_table(table, handle, **write_options)

    atomic_write(path, write)


def write_frame_parquet(frame: pd.DataFrame, path: Path) -> None:
    """A data frame (without its index) as Parquet, atomically."""
    atomic_write_parquet(pa.Table.from_pandas(frame, preserve_index=False), path)


def write_json(path: Path, record: dict) -> None:
    """A JSON record as paraser writes them (two-space indent, final newline), atomically."""
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def write_text_output(directory: str | Path, name: str, text: str) -> Path:
    """One derived text file (Markdown, HTML, LaTeX, CSV text) of a results folder, atomically."""
    path = Path(directory) / name
    atomic_write_text(path, text)
    return path


def write_table_output(directory: str | Path, name: str, frame: pd.DataFrame, **to_csv) -> Path:
    """One derived table of a results folder as CSV (no index unless asked), atomically."""
    to_csv.setdefault("index", False)
    return write_text_output(directory, name, frame.to_csv(**to_csv))


def gains_file(factor: str) -> str:
    """``gains_<factor>.csv``: each level of a factor against its baseline, per cell."""
    return f"gains_{factor}.csv"


def write_figure(directory: str | Path, stem: str, png: bytes, pdf: bytes | None = None) -> Path:
    """A figure of a results folder: ``figures/<stem>.png`` and, when given, the vector
    ``figures/<stem>.pdf`` beside it (each atomically); returns the PNG's path.

    A PDF left from an earlier report of the same figure is removed when none is given, so
    the two never disagree.
    """
    folder = Path(directory) / FIGURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.png"
    atomic_write(path, lambda tmp: tmp.write_bytes(png))
    vector = folder / f"{stem}.pdf"
    if pdf is not None:
        atomic_write(vector, lambda tmp: tmp.write_bytes(pdf))
    else:
        vector.unlink(missing_ok=True)
    return path


#: The formats :func:`write_figure` writes, for removing the figures of an earlier report.
FIGURE_SUFFIXES = (".png", ".pdf")


# --- the run tables -----------------------------------------------------------------------


def results_path(results_dir: str | Path) -> Path:
    return Path(results_dir) / RESULTS_FILE


def predictions_path(results_dir: str | Path) -> Path:
    return Path(results_dir) / PREDICTIONS_FILE


def config_path(results_dir: str | Path) -> Path:
    return Path(results_dir) / CONFIG_FILE


def write_run_tables(
    out: Path,
    results: pd.DataFrame,
    predictions: pd.DataFrame,
    folds: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
) -> None:
    """``results.csv`` and ``predictions.parquet`` of a results folder (atomic, each), with
    ``folds.csv`` and ``within_reference.csv`` where given and not empty."""
    write_table_output(out, RESULTS_FILE, results)
    write_frame_parquet(predictions, predictions_path(out))
    for name, table in ((FOLDS_FILE, folds), (REFERENCE_FILE, reference)):
        if table is not None and len(table):
            write_table_output(out, name, table)
        elif (Path(out) / name).is_file():
            (Path(out) / name).unlink()  # a stale table from an earlier run in this folder


_NO_RESULTS = f"no {RESULTS_FILE}; run 'paraser transfer-matrix' first"
_NO_PREDICTIONS = f"no predictions; statistics need {PREDICTIONS_FILE}"


def read_run_table(
    results_dir: str | Path, filename: str, read: Callable[[Path], pd.DataFrame], missing: str
) -> pd.DataFrame:
    """One tidy table of a results folder, with the factor defaults filled in.

    ``missing`` says what to do when the file is absent.
    """
    path = Path(results_dir) / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {missing}")
    frame = read(path)
    for factor, default in FACTOR_DEFAULTS.items():
        if factor not in frame.columns:  # a run from before this factor existed
            frame[factor] = default
    return frame


def load_results(results_dir: str | Path) -> pd.DataFrame:
    """``results.csv``: one row per configuration, source, target, fold and seed."""
    return read_run_table(results_dir, RESULTS_FILE, pd.read_csv, _NO_RESULTS)


def load_predictions(results_dir: str | Path) -> pd.DataFrame:
    """``predictions.parquet``: every test utterance's prediction."""
    return read_run_table(results_dir, PREDICTIONS_FILE, pd.read_parquet, _NO_PREDICTIONS)


def load_reference(results_dir: str | Path) -> pd.DataFrame:
    """``within_reference.csv`` (empty when the run has none)."""
    path = Path(results_dir) / REFERENCE_FILE
    return (
        read_run_table(results_dir, REFERENCE_FILE, pd.read_csv, "")
        if path.is_file()
        else (pd.DataFrame())
    )


def has_results(results_dir: str | Path) -> bool:
    return results_path(results_dir).is_file()


def has_predictions(results_dir: str | Path) -> bool:
    return predictions_path(results_dir).is_file()


def write_few_shot_tables(
    out: Path, curves: pd.DataFrame, shots: pd.DataFrame, predictions: pd.DataFrame
) -> None:
    """The few-shot target curves beside the run tables (``--target-shots``)."""
    write_table_output(out, FEWSHOT_CURVES_FILE, curves)
    write_table_output(out, FEWSHOT_SHOTS_FILE, shots)
    write_frame_parquet(predictions, out / FEWSHOT_PREDICTIONS_FILE)


# --- config.json -------------------------------------------------------------------------


def has_config(results_dir: str | Path) -> bool:
    return config_path(results_dir).is_file()


def read_config(results_dir: str | Path) -> dict:
    """The run record of a results folder; ``{}`` when it has none."""
    path = config_path(results_dir)
    return json.loads(path.read_text()) if path.is_file() else {}


def read_shift_config(directory: str | Path) -> dict:
    """The record of a ``paraser shift`` run (``shift_config.json``); ``{}`` when it has none."""
    path = Path(directory) / SHIFT_CONFIG_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def write_config(out: str | Path, config: dict) -> None:
    """The run record: versions, parameters, manifest hashes, notes (one writer).

    The record starts with its ``schema_version`` (:data:`CONFIG_SCHEMA_VERSION`).
    """
    record = {"schema_version": CONFIG_SCHEMA_VERSION}
    record.update((k, v) for k, v in config.items() if k != "schema_version")
    write_json(config_path(out), record)


def update_config(out: str | Path, **sections) -> None:
    """Add or replace top-level sections of an existing run record."""
    record = json.loads(config_path(out).read_text())
    record.update(sections)
    write_config(out, record)


# --- whose files are in a folder ---------------------------------------------------------

#: Extensions of the figures paraser writes into ``figures/``.
FIGURE_EXTENSIONS = (".png", ".pdf", ".svg")


def _named_files() -> set[str]:
    """Every file name this module gives a results folder (its ``*_FILE`` constants)."""
    return {
        value
        for name, value in globals().items()
        if name.endswith("_FILE") and isinstance(value, str)
    }


def is_paraser_output(path: Path, folder: Path) -> bool:
    """Whether ``path`` (inside ``folder``) is a file paraser writes into a results folder.

    Only names this module gives out count, so a user's own file beside them is never one.
    """
    relative = path.relative_to(folder)
    name = relative.name
    if len(relative.parts) == 2 and relative.parts[0] == FIGURES_DIR:
        return path.suffix in FIGURE_EXTENSIONS
    if len(relative.parts) != 1:
        return False
    return (
        name in _named_files()
        or (name.startswith(f"{MATRIX_PREFIX}_") and path.suffix in (".csv", ".md"))
        or (name.startswith("gains_") and name.endswith(".csv"))
        or name.startswith(".tmp-")  # an interrupted atomic write
    )


def paraser_outputs(folder: str | Path) -> list[Path]:
    """The files paraser wrote in a results folder (none when it does not exist), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    candidates = [*folder.iterdir(), *(folder / FIGURES_DIR).glob("*")]
    return sorted(p for p in candidates if p.is_file() and is_paraser_output(p, folder))


def clear_outputs(folder: str | Path) -> list[Path]:
    """Remove the files paraser wrote in ``folder``; return them.

    A user's own files stay; an emptied ``figures/`` folder goes.
    """
    folder = Path(folder)
    removed = paraser_outputs(folder)
    for path in removed:
        path.unlink()
    figures = folder / FIGURES_DIR
    if figures.is_dir() and not any(figures.iterdir()):
        figures.rmdir()
    return removed


class ResultsFolderInUse(ValueError):
    """``--out`` holds another run's outputs and neither ``--force`` nor ``--resume`` was given."""


def claim_results_folder(
    folder: str | Path,
    *,
    force: bool = False,
    resume: bool = False,
    differences: Callable[[dict], list[str]] | None = None,
) -> bool:
    """Check that a run may write into ``folder``; return whether its old outputs must go.

    A folder without paraser outputs is free. One with outputs is refused unless
    ``force`` (the caller clears them with :func:`clear_outputs` before it writes, so a
    failed run leaves the old one whole) or ``resume`` with a ``config.json`` for which
    ``differences(recorded)`` names no key (the same configuration continues).
    """
    if force and resume:
        raise ValueError("--force and --resume exclude each other: choose one")
    folder = Path(folder)
    found = paraser_outputs(folder)
    if not found:
        return False
    if force:
        return True
    if resume:
        if not has_config(folder):
            raise ResultsFolderInUse(
                f"{folder}: cannot resume, it has paraser outputs but no {CONFIG_FILE} to "
                "compare with; start afresh with --force or choose another --out"
            )
        differing = differences(read_config(folder)) if differences else []
        if differing:
            raise ResultsFolderInUse(
                f"{folder}: cannot resume, its {CONFIG_FILE} records another configuration "
                f"(differs in: {', '.join(differing)}); rerun with the same options, or "
                "--force to replace that run, or choose another --out"
            )
        return False
    names = ", ".join(str(p.relative_to(folder)) for p in found[:4])
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    raise ResultsFolderInUse(
        f"{folder} already holds the outputs of a paraser run ({names}{more}); results of "
        "two runs in one folder would be mixed. Choose another --out, add --force to remove "
        "that run's files first (your own files stay), or --resume to continue the same "
        "configuration"
    )


#: Files a report reads and never writes: what runs and analyses (``paraser shift``,
#: ``paraser importance``, ``--target-shots``) leave for ``paraser report``.
REPORT_INPUTS = frozenset(
    {
        RESULTS_FILE, PREDICTIONS_FILE, FOLDS_FILE, REFERENCE_FILE, CONFIG_FILE,
        FEWSHOT_CURVES_FILE, FEWSHOT_SHOTS_FILE, FEWSHOT_PREDICTIONS_FILE,
        SHIFT_FILE, SHIFT_FEATURES_FILE, SHIFT_FAMILIES_FILE, CLASS_PRIORS_FILE,
        SHIFT_CONFIG_FILE, IMPORTANCE_FILE, IMPORTANCE_CONFIG_FILE,
    }
)  # fmt: skip


def remove_stale_outputs(folder: str | Path, written: list[Path]) -> list[Path]:
    """Remove the derived files of ``folder`` that a report just did not write; return them.

    A report regenerated after the run changed (a condition, a corpus, an analysis gone)
    must not keep the old matrices, figures or sections beside the new ones. What runs and
    analyses wrote (:data:`REPORT_INPUTS`) and a user's own files stay.
    """
    folder = Path(folder)
    fresh = {Path(p).resolve() for p in written}
    # write_figure returns a figure's PNG; its other formats were written with it.
    fresh |= {
        p.with_suffix(suffix) for p in fresh if p.suffix in FIGURE_SUFFIXES
        for suffix in FIGURE_SUFFIXES
    }  # fmt: skip
    stale = [
        p
        for p in paraser_outputs(folder)
        if p.name not in REPORT_INPUTS
        and not p.name.startswith(".tmp-")  # possibly another writer's, in flight
        and p.resolve() not in fresh
    ]
    for path in stale:
        path.unlink()
    return stale
