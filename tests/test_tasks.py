"""Label bridges (arousal / valence tasks) and the BAVED recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from paraser.cli import app
from paraser.corpora.recipes import get_recipe, prepare_corpus
from paraser.corpora.tasks import AROUSAL_TABLE, Task, UnmappableLabelError, get_task
from paraser.runs.transfer import load_corpora

REAL_BAVED = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "baved"
runner = CliRunner()


def fake_baved(root: Path, info: dict | None = None) -> Path:
    names = [
        "0/0-m-21-0-0-1.flac", "0/0-m-21-0-1-2.flac", "0/0-m-21-0-2-3.flac",
        "3/7-f-40-3-0-4.flac", "3/7-f-40-3-2-5.flac", "0/9-m-23-6-1-6.flac",
    ]  # fmt: skip
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    info = info or {"0": {"age": 21, "gender": "m"}, "7": {"age": 40, "gender": "f"}}
    (root / "speakers_info.json").write_text(json.dumps(info))
    return root


def test_baved_recipe_reads_levels_speakers_and_demographics(tmp_path):
    frame = get_recipe("baved").prepare(fake_baved(tmp_path))
    assert frame["label"].tolist() == [
        "arousal_low", "arousal_neutral", "arousal_high", "arousal_neutral",
        "arousal_low", "arousal_high",
    ]  # fmt: skip
    assert frame["speaker"].tolist() == ["0", "0", "0", "9", "7", "7"]
    assert frame["gender"].tolist() == ["male"] * 4 + ["female"] * 2
    # The word comes from the name; the folder it lies in is kept beside it.
    misplaced = frame[frame.speaker == "9"].iloc[0]
    assert (misplaced.word, misplaced.folder) == ("6", "0")


def test_baved_recipe_refuses_a_name_that_contradicts_speakers_info(tmp_path):
    fake_baved(tmp_path, {"0": {"age": 21, "gender": "f"}})
    with pytest.raises(ValueError, match=r"0-m-21-0-0-1.*speakers_info.json says speaker 0"):
        get_recipe("baved").prepare(tmp_path)


def test_arousal_maps_categories_and_levels_and_excludes_explicitly():
    task = get_task("arousal")
    mapped = task.apply(["anger", "Happy", "sad", "neutral", "disgust", "arousal_high", "calm"])
    assert mapped.tolist() == ["high", "high", "low", "neutral", pd.NA, "high", "low"]
    assert set(AROUSAL_TABLE) >= {"fear", "disgust", "surprise", "boredom", "calm"}
    assert "disgust" in task.statement() and "excluded" in task.statement()
    assert task.to_dict()["map"]["disgust"] is None


def test_a_label_without_a_level_is_refused_with_the_label_list():
    with pytest.raises(UnmappableLabelError, match=r"\['arousal_high', 'arousal_low'\].*valence"):
        get_task("valence").apply(["arousal_low", "arousal_high", "arousal_low"])
    core = get_task("arousal-core")
    assert core.apply(["anger", "fear", "boredom"]).tolist() == ["high", pd.NA, pd.NA]


def test_a_user_table_replaces_the_built_in_one_and_is_checked(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"task": "arousal", "map": {"anger": "high", "sad": "low"}}))
    task = Task.from_file(path)
    assert task.levels == ("high", "low") and task.source == str(path)
    with pytest.raises(UnmappableLabelError, match="neutral"):
        task.apply(["anger", "neutral"])
    path.write_text(json.dumps({"levels": ["low", "high"], "map": {"anger": "loud"}}))
    with pytest.raises(ValueError, match=r"mine.json.*levels outside"):
        Task.from_file(path)


def test_pipeline_names_the_corpus_whose_labels_cannot_be_mapped(tmp_path):
    manifest = tmp_path / "levels.csv"
    manifest.write_text("file,label,speaker\na.wav,arousal_low,s1\nb.wav,arousal_high,s2\n")
    with pytest.raises(ValueError, match=r"levels \(.*levels.csv\): labels \['arousal_high'"):
        load_corpora([manifest], label_map=get_task("valence"))
    loaded = load_corpora([manifest], label_map=get_task("arousal"))[0]
    assert loaded.frame["label"].tolist() == ["low", "high"]


def test_cli_refuses_an_unmappable_corpus_before_any_extraction(tmp_path):
    manifest = tmp_path / "levels.csv"
    manifest.write_text("file,label,speaker\na.wav,arousal_low,s1\nb.wav,arousal_high,s2\n")
    result = runner.invoke(
        app,
        ["transfer-matrix", "--corpora", str(manifest), "--task", "valence",
         "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "arousal_high" in result.output and "valence" in result.output
    categorical = runner.invoke(
        app,
        ["transfer-matrix", "--corpora", str(manifest), "--out", str(tmp_path / "o"),
         "--cache-dir", str(tmp_path / "c")],
    )  # fmt: skip
    assert categorical.exit_code == 2 and "arousal_low (1)" in categorical.output


@pytest.mark.corpora
def test_real_baved_manifest(tmp_path):
    if not REAL_BAVED.is_dir():
        pytest.skip(f"{REAL_BAVED} not available")
    frame = get_recipe("baved").prepare(REAL_BAVED)
    assert len(frame) == 1935
    assert frame["original_label"].value_counts().to_dict() == {"2": 678, "1": 672, "0": 585}
    assert frame["speaker"].nunique() == 60  # speakers_info.json lists 61; one has no file
    assert frame["gender"].value_counts().to_dict() == {"male": 1109, "female": 826}
    out = prepare_corpus("baved", REAL_BAVED, tmp_path)
    registered = Path(__file__).resolve().parents[1] / "corpora_manifests" / "baved.csv"
    assert out.read_text() == registered.read_text()


#: The issue's independent opensmile + sklearn reference (eGeMAPS, SVM-RBF, arousal from
#: the four shared categories): source -> target UAR, trained on all source.
BAVED_REFERENCE = {
    ("baved", "baved"): 0.793,  # stratified 5-fold
    ("emovo", "baved"): 0.531,
    ("turev", "baved"): 0.499,
    ("emodb", "baved"): 0.314,
    ("urdu", "baved"): 0.392,
    ("baved", "emovo"): 0.599,
    ("baved", "turev"): 0.432,
}


@pytest.mark.corpora
def test_real_baved_cells_agree_with_the_independent_reference(tmp_path):
    from paraser.runs.transfer import transfer_matrix

    repo = Path(__file__).resolve().parents[1]
    names = ["urdu", "emodb", "emovo", "turev", "baved"]
    if not all((repo.parent / "shared" / "corpora" / n).is_dir() for n in names):
        pytest.skip("shared corpora not available")
    run = transfer_matrix(
        names, ["egemaps"], ["svm"], out=tmp_path / "run", cache_dir=repo / "features_cache",
        label_map=get_task("arousal-core"), protocol="stratified",
        manifests_dir=repo / "corpora_manifests", jobs=1,
    )  # fmt: skip
    cells = run.results.groupby(["source", "target"]).uar.mean()
    for cell, expected in BAVED_REFERENCE.items():
        assert cells[cell] == pytest.approx(expected, abs=0.02), cell
