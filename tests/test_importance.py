"""Permutation importance within and across corpora, on data where the answer is known:
pitch carries emotion the same way everywhere, energy in a corpus-specific way, MFCC not at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from paraser.cli import app
from paraser.experiments import CorpusData, StratifiedKFoldProtocol
from paraser.experiments.importance import (
    IMPORTANCE_COLUMNS,
    feature_units,
    importance_grid,
    permutation_importance,
)
from paraser.experiments.shift import descriptor_family
from paraser.reports.importance import SUMMARY_COLUMNS, family_summary, headline

CLASSES = ["anger", "happiness", "neutral", "sadness"]
NAMES = [
    "F0semitoneFrom27.5Hz_sma3nz_amean",
    "F0semitoneFrom27.5Hz_sma3nz_stddevNorm",
    "loudness_sma3_amean",
    "mfcc1_sma3_amean",
    "mfcc2_sma3_amean",
]


def corpus_frame(name: str, seed: int, per_class: int = 24) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(CLASSES, per_class)
    code = np.array([CLASSES.index(c) for c in labels], dtype=float)
    # Energy orders the classes differently in every corpus: learnt inside one, it misleads.
    order = rng.permutation(len(CLASSES)).astype(float)
    x = np.column_stack(
        [
            code + rng.normal(0, 0.35, len(labels)),  # pitch: the same cue everywhere
            rng.normal(0, 1, len(labels)),  # pitch, uninformative
            order[code.astype(int)] + rng.normal(0, 0.35, len(labels)),  # energy: local cue
            rng.normal(0, 1, len(labels)),
            rng.normal(0, 1, len(labels)),
        ]
    )
    frame = pd.DataFrame(
        {
            "corpus": name,
            "utterance": [f"{name}_{i}.wav" for i in range(len(labels))],
            "label": labels,
            "speaker": [f"{name}:s{i % 4}" for i in range(len(labels))],
        }
    )
    return frame, x


def corpora() -> list[CorpusData]:
    out = []
    for i, name in enumerate(["a", "b", "c"]):
        frame, x = corpus_frame(name, seed=10 + i)
        out.append(CorpusData(name, frame, {"toy": x}))
    return out


def test_families_follow_the_descriptor_mapping():
    # eGeMAPS names measured relative to F0 belong to formants and voice quality, not pitch.
    assert descriptor_family("F1amplitudeLogRelF0_sma3nz_amean") == "formants"
    assert descriptor_family("logRelF0-H1-H2_sma3nz_stddevNorm") == "voice quality"
    assert descriptor_family("logRelF0-H1-A3_sma3nz_amean") == "voice quality"
    assert descriptor_family("F0semitoneFrom27.5Hz_sma3nz_amean") == "pitch"
    features, families = feature_units(NAMES)
    assert set(families) == {"pitch", "energy", "mfcc"}
    assert families["pitch"].tolist() == [0, 1] and len(features) == len(NAMES)


def test_permuting_within_speaker_keeps_each_speakers_values():
    class Memo:
        def predict(self, x):
            self.seen = x
            return np.array(["anger"] * len(x))

    x = np.arange(12, dtype=float).reshape(6, 2)
    groups = np.array(["s1", "s1", "s1", "s2", "s2", "s2"])
    model = Memo()
    permutation_importance(
        model, x, np.array(["anger"] * 6), {"f": np.array([0])}, groups=groups, n_repeats=1
    )
    assert set(model.seen[:3, 0]) == set(x[:3, 0]) and set(model.seen[3:, 0]) == set(x[3:, 0])
    assert (model.seen[:, 1] == x[:, 1]).all()  # other columns untouched


@pytest.fixture(scope="module")
def importance() -> pd.DataFrame:
    return importance_grid(
        corpora(), {"toy": NAMES}, ["svm"], protocol=StratifiedKFoldProtocol(3), n_repeats=3
    )


def test_importance_table_is_tidy(importance):
    assert list(importance.columns) == list(IMPORTANCE_COLUMNS)
    cells = importance.groupby(["kind", "unit"]).size().to_dict()
    # 3 within corpora + 6 directions; 5 features and 3 families each.
    assert cells == {
        ("transfer", "family"): 18,
        ("transfer", "feature"): 30,
        ("within", "family"): 9,
        ("within", "feature"): 15,
    }
    within = importance.query("kind == 'within'")
    assert (within.source == within.target).all() and (within.n_test == 96).all()


def test_the_local_cue_stops_working_across_corpora_and_the_shared_one_survives(importance):
    table = family_summary(importance)
    assert list(table.columns) == list(SUMMARY_COLUMNS)
    summary = table.set_index("family")
    assert summary.loc["pitch", "within_importance"] > 0.2
    assert summary.loc["energy", "within_importance"] > 0.1
    assert summary.loc["pitch", "survives"] and summary.loc["pitch", "transfer_importance"] > 0.1
    assert not summary.loc["energy", "survives"]
    assert abs(summary.loc["mfcc", "within_importance"]) < 0.05
    assert not summary.loc["mfcc", "survives"]
    (sentence,) = headline(family_summary(importance))
    assert "stop working: energy" in sentence


def test_cli_writes_csvs_figure_and_report_section(tmp_path):
    folders = []
    for i, name in enumerate(["a", "b", "c"]):
        frame, x = corpus_frame(name, seed=10 + i)
        table = pd.DataFrame(x, columns=NAMES).assign(
            label=frame.label, speaker=frame.speaker, utterance=frame.utterance
        )
        (tmp_path / name).mkdir()
        # A feature-table corpus; the set is named like a built-in one, the columns are ours.
        table.to_csv(tmp_path / name / "egemaps.csv", index=False)
        folders.append(str(tmp_path / name))
    out = tmp_path / "run"
    common = ["--corpora", ",".join(folders), "--features", "egemaps", "--folds", "3", "-j", "1"]
    matrix = runner.invoke(app, ["transfer-matrix", *common, "--out", str(out)])
    assert matrix.exit_code == 0, matrix.output
    result = runner.invoke(app, ["importance", *common, "--out", str(out), "--repeats", "2"])
    assert result.exit_code == 0, result.output
    assert "stop working: energy" in result.output
    for name in ("importance.csv", "importance_families.csv", "figures/importance_egemaps.png"):
        assert (out / name).is_file(), name
    report = runner.invoke(app, ["report", str(out), "--n-boot", "100"])
    assert report.exit_code == 0, report.output
    text = (out / "report.md").read_text()
    assert text.count("Which features carry emotion") == 1
    assert "paraser:importance" in (out / "report.html").read_text()


runner = CliRunner()
