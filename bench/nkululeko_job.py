"""The 4x4 job as nkululeko's ``multidb`` runs it, for the side-by-side in bench/run.py [5].

nkululeko reads its data from CSV files (``file,emotion,speaker``, absolute paths) named in
an INI config; ``multidb`` then trains and tests every source->target pair of the listed
databases, each on its own, and writes the UAR matrix to ``<root>/results.txt``.  Nothing
here imports nkululeko: it runs in whatever Python has it installed (its own venv, because
its pins clash with paraser's).
"""

from __future__ import annotations

import configparser
import re
import subprocess
import time
from pathlib import Path

import pandas as pd

from paraser.corpora import DEFAULT_CLASSES, load_manifest

#: Version the comparison was set up and checked against (issue 21).
NKULULEKO_VERSION = "1.14.1"

_NUMBER = re.compile(r"nan|[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")


def write_csvs(manifests: dict[str, Path], work: Path) -> dict[str, Path]:
    """One nkululeko CSV per corpus: absolute file path, label, speaker, every utterance.

    Labels in paraser's label space are written as mapped there (``Angry`` -> ``anger``);
    the others keep their own name, so nkululeko's ``DATA.labels`` filter drops them, as
    paraser never trains or tests on them.  Both tools still extract features for every
    utterance (paraser's label-free methods see their audio), so both do the same work.
    """
    out = {}
    for name, manifest in manifests.items():
        loaded = load_manifest(manifest)
        outside = loaded.outside if loaded.outside is not None else loaded.frame.iloc[:0]
        table = pd.concat(
            [
                _nkululeko_rows(loaded.frame, loaded.frame["label"]),
                _nkululeko_rows(outside, outside["original_label"]),
            ],
            ignore_index=True,
        )
        out[name] = work / f"{name}_nkululeko.csv"
        table.to_csv(out[name], index=False)
    return out


def _nkululeko_rows(frame: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": [str(Path(f).resolve()) for f in frame["path"]],
            "emotion": labels.astype(str).to_numpy(),
            "speaker": frame["speaker"].astype(str).to_numpy(),
        }
    )


def write_config(csvs: dict[str, Path], work: Path) -> Path:
    """The multidb INI: eGeMAPSv02 functionals (openSMILE), standardised, balanced SVM."""
    config = configparser.ConfigParser()
    # runs and epochs stay at nkululeko's defaults (1 run; epochs do not apply to an SVM).
    config["EXP"] = {"root": str(work / "results"), "name": "multidb"}
    config["EXP"]["databases"] = repr(list(csvs))
    config["DATA"] = {"target": "emotion", "labels": repr(list(DEFAULT_CLASSES))}
    for name, path in csvs.items():
        config["DATA"][name] = str(path)
        config["DATA"][f"{name}.type"] = "csv"
        config["DATA"][f"{name}.absolute_path"] = "True"
    config["FEATS"] = {"type": "['os']", "set": "eGeMAPSv02", "scale": "standard"}
    # class_weight: balanced sample weights, as paraser's SVM uses class_weight="balanced".
    config["MODEL"] = {"type": "svm", "C_val": "1", "kernel": "rbf", "class_weight": "True"}
    config["PLOT"] = {"format": "png"}
    path = work / "multidb.ini"
    with path.open("w") as handle:
        config.write(handle)
    return path


def read_results(results_txt: Path, names: list[str]) -> pd.DataFrame:
    """The UAR matrix (rows: train, columns: test) from multidb's ``results.txt``."""
    text = results_txt.read_text()
    block = text.split("all results", 1)[1].split("column sums epochs", 1)[0]
    values = [float(v) for v in _NUMBER.findall(block)]
    dim = len(names)
    if len(values) != dim * dim:
        raise ValueError(f"{results_txt}: expected {dim * dim} cells, found {len(values)}")
    rows = [values[i * dim : (i + 1) * dim] for i in range(dim)]
    return pd.DataFrame(rows, index=names, columns=names).rename_axis(index="train", columns="test")


def run_multidb(
    python: str, manifests: dict[str, Path], work: Path, timeout: float = 3600
) -> tuple[float, pd.DataFrame | str]:
    """Run multidb cold in a fresh ``work`` folder; wall seconds and the UAR matrix.

    On failure the second value is the tail of nkululeko's output instead.  The clock
    covers the whole process (interpreter start, imports, extraction, 16 trainings,
    plots), as paraser's job is timed in bench/run.py [10].
    """
    work.mkdir(parents=True, exist_ok=True)
    csvs = write_csvs(manifests, work)
    ini = write_config(csvs, work)
    command = [python, "-m", "nkululeko.multidb", "--config", str(ini)]
    started = time.perf_counter()
    try:
        # multidb writes its per-cell tmp.ini into the working directory.
        done = subprocess.run(
            command, cwd=work, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, f"timed out after {timeout:.0f} s"
    except OSError as error:  # e.g. NKULULEKO_PYTHON names no executable
        return time.perf_counter() - started, f"cannot start {python}: {error}"
    seconds = time.perf_counter() - started
    output = (done.stdout + done.stderr)[-3000:]
    results_txt = work / "results" / "results.txt"
    if done.returncode != 0 or not results_txt.is_file():
        return seconds, f"exit {done.returncode}: {output}"
    try:
        return seconds, read_results(results_txt, list(csvs))
    except ValueError as error:
        return seconds, f"{error}\n{output}"
