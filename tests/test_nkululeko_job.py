"""bench [5]: the 4x4 job handed to nkululeko's multidb; a stand-in Python plays nkululeko,
so the CSVs, the INI and the reading of its result table are checked without installing it."""

from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, bench_module, shared_corpora_dir

# What the stand-in checks and writes: the files nkululeko's multidb reads and writes.
FAKE_MULTIDB = """
import ast, configparser, os, pathlib, sys

assert sys.argv[1:3] == ["-m", "nkululeko.multidb"], sys.argv
if os.environ.get("FAKE_MULTIDB_FAIL"):
    sys.exit("ERROR: no such file")
config = configparser.ConfigParser()
config.read(sys.argv[sys.argv.index("--config") + 1])
names = ast.literal_eval(config["EXP"]["databases"])
for name in names:
    assert config["DATA"][name + ".type"] == "csv"
    lines = pathlib.Path(config["DATA"][name]).read_text().splitlines()
    assert lines[0] == "file,emotion,speaker", lines[0]
    assert all(os.path.isabs(row.split(",")[0]) for row in lines[1:])
pathlib.Path("tmp.ini").write_text("")  # multidb's per-cell config, in its working folder
root = pathlib.Path(config["EXP"]["root"])
root.mkdir(parents=True)
n = len(names)
matrix = ",\\n       ".join(
    "[" + ", ".join(str(0.5 + i / 10 + j / 100) for j in range(n)) + "]" for i in range(n)
)
means = ", ".join("0.9" for _ in range(n))
root.joinpath("results.txt").write_text(
    f"Mean UAR: 0.5 (self: 0.6, cross: 0.4)\\n{', '.join(names)}\\ncolumn means\\n[{means}]\\n"
    f"rows means\\n[{means}]\\nall results\\narray([{matrix}])\\n"
)
"""


@pytest.fixture
def fake_python(tmp_path: Path) -> str:
    script = tmp_path / "bin" / "python"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\n{FAKE_MULTIDB}")
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def two_corpora(tone_corpus) -> dict[str, Path]:
    labels = ("angry", "happy", "neutral", "sad", "bored")
    return {name: tone_corpus(name, labels=labels, per_label=1) for name in ("one", "two")}


def test_multidb_gets_every_utterance_and_its_matrix_is_read(tmp_path, fake_python, two_corpora):
    job = bench_module("nkululeko_job")
    seconds, table = job.run_multidb(fake_python, two_corpora, tmp_path / "work")
    assert seconds > 0
    assert isinstance(table, pd.DataFrame), table
    assert list(table.index) == list(table.columns) == ["one", "two"]
    assert table.loc["two", "one"] == pytest.approx(0.6)  # row = train, column = test
    assert table.loc["one", "two"] == pytest.approx(0.51)
    # Shared labels as paraser maps them; the rest keep their name for DATA.labels to drop.
    rows = pd.read_csv(tmp_path / "work" / "one_nkululeko.csv")
    assert sorted(rows["emotion"].unique()) == [
        "anger", "bored", "happiness", "neutral", "sadness",
    ]  # fmt: skip
    assert len(rows) == 10 and rows["file"].map(os.path.isfile).all()
    config = configparser.ConfigParser()
    config.read(tmp_path / "work" / "multidb.ini")
    assert config["DATA"]["labels"] == "['anger', 'happiness', 'neutral', 'sadness']"
    assert config["FEATS"]["set"] == "eGeMAPSv02" and config["MODEL"]["type"] == "svm"


def test_a_failed_multidb_returns_its_output(tmp_path, fake_python, two_corpora, monkeypatch):
    monkeypatch.setenv("FAKE_MULTIDB_FAIL", "1")
    seconds, table = bench_module("nkululeko_job").run_multidb(
        fake_python, two_corpora, tmp_path / "work"
    )
    assert isinstance(table, str) and "exit 1" in table and "no such file" in table


def test_a_python_that_does_not_exist_is_reported(tmp_path, two_corpora):
    _, table = bench_module("nkululeko_job").run_multidb(
        str(tmp_path / "nope"), two_corpora, tmp_path / "work"
    )
    assert isinstance(table, str) and "cannot start" in table


@pytest.mark.corpora
@pytest.mark.slow
def test_nkululeko_runs_all_sixteen_cells(tmp_path):
    """The real job (~90 s on 2 cores): only where NKULULEKO_PYTHON names nkululeko's Python."""
    python = os.environ.get("NKULULEKO_PYTHON")
    names = ["emodb", "emovo", "turev", "urdu"]
    manifests = {name: REPO / "corpora_manifests" / f"{name}.csv" for name in names}
    if not python or not all((shared_corpora_dir() / name).is_dir() for name in names):
        pytest.skip("needs NKULULEKO_PYTHON and the four shared corpora")
    _, table = bench_module("nkululeko_job").run_multidb(python, manifests, tmp_path / "work")
    assert isinstance(table, pd.DataFrame), table
    assert table.shape == (4, 4) and table.notna().all().all()
    assert ((table > 0.2) & (table <= 1)).all().all()
