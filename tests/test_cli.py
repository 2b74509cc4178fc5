from __future__ import annotations

import json

import pandas as pd
from invariants import assert_run_dir_invariants
from typer.testing import CliRunner

from paraser.cli import app

runner = CliRunner()


def _corpora(tone_corpus):
    return [
        tone_corpus(name, per_label=5, speakers=("s1", "s2"), sample_rate=rate)
        for name, rate in (("alpha", 16_000), ("beta", 22_050))
    ]


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("extract", "transfer-matrix", "report", "demo", "corpus"):
        assert command in result.output


def test_extract_then_warm_rerun_extracts_nothing(tone_corpus, tmp_path):
    alpha, _ = _corpora(tone_corpus)
    cache = tmp_path / "cache"
    args = [
        "extract",
        str(alpha),
        "--features",
        "egemaps,is09",
        "--cache-dir",
        str(cache),
        "-j",
        "2",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (cache / "alpha" / "failures.csv").is_file()
    second = runner.invoke(app, args)
    assert second.exit_code == 0
    rows = [line.split("│")[1:-1] for line in second.output.splitlines() if "│ alpha" in line]
    assert [[cell.strip() for cell in row][2:6] for row in rows] == [
        ["egemaps", "0", "40", "0"],
        ["is09", "0", "40", "0"],
    ]


def test_transfer_matrix_end_to_end_and_report(tone_corpus, tmp_path):
    alpha, beta = _corpora(tone_corpus)
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "transfer-matrix", "--corpora", f"{alpha},{beta}", "--features", "egemaps",
            "--classifiers", "svm,rf", "--out", str(out), "--cache-dir", str(tmp_path / "c"),
            "--folds", "3", "-j", "2",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "UAR" in result.output and "alpha" in result.output
    assert_run_dir_invariants(out, [alpha, beta])
    results = pd.read_csv(out / "results.csv")
    assert {"uar", "accuracy", "macro_f1", "n_train", "n_test", "classes"} <= set(results.columns)
    assert set(results.kind) == {"within", "transfer"}
    assert len(results[results.kind == "transfer"]) == 2 * 2
    for stem in ("matrix_egemaps_svm", "matrix_egemaps_rf"):
        matrix = pd.read_csv(out / f"{stem}.csv", index_col=0)
        assert list(matrix.index) == list(matrix.columns) == ["alpha", "beta"]
        assert (out / f"{stem}.md").read_text().count("|") > 8
    config = json.loads((out / "config.json").read_text())
    assert config["seeds"] == [0] and "opensmile" in config["versions"]
    assert set(config["corpora"]) == {"alpha", "beta"}
    assert (out / "predictions.parquet").is_file()

    (out / "summary.md").unlink()
    regenerated = runner.invoke(app, ["report", str(out)])
    assert regenerated.exit_code == 0 and (out / "summary.md").is_file()


def test_user_errors_exit_2_with_a_clear_message(tmp_path):
    result = runner.invoke(app, ["extract", "no_such_corpus", "--manifests-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown corpus 'no_such_corpus'" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\na.wav,sad\n")
    result = runner.invoke(app, ["transfer-matrix", "--corpora", str(bad)])
    assert result.exit_code == 2 and "missing required column" in result.output


def test_failed_files_are_reported_and_set_exit_status(tone_corpus, tmp_path):
    manifest = tone_corpus("broken", per_label=1, speakers=("s1",))
    (manifest.parent / "s1" / "sad_0.wav").write_text("not audio")
    cache = tmp_path / "cache"
    result = runner.invoke(app, ["extract", str(manifest), "--cache-dir", str(cache)])
    assert result.exit_code == 1
    assert "sad_0.wav" in result.output and "cannot decode" in result.output
    failures = pd.read_csv(cache / "broken" / "failures.csv")
    assert failures.file.str.endswith("sad_0.wav").all() and len(failures) == 1
    strict = runner.invoke(app, ["extract", str(manifest), "--cache-dir", str(cache), "--strict"])
    assert strict.exit_code == 1 and "stopped" in strict.output


def test_corpus_list(tone_corpus, tmp_path):
    alpha, _ = _corpora(tone_corpus)
    registry = tmp_path / "reg"
    registry.mkdir()
    (registry / "alpha.csv").write_text(alpha.read_text().replace("s1/", f"{alpha.parent}/s1/"))
    result = runner.invoke(app, ["corpus", "list", "--manifests-dir", str(registry)])
    assert result.exit_code == 0 and "alpha" in result.output and "angry (10)" in result.output


def test_demo_runs_the_whole_pipeline(tmp_path):
    result = runner.invoke(
        app,
        [
            "demo", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "report"),
            "--cache-dir", str(tmp_path / "cache"), "--speakers", "2", "--per-class", "3",
            "--features", "egemaps", "--classifiers", "svm", "--jobs", "2",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    results = pd.read_csv(tmp_path / "report" / "results.csv")
    assert set(results.source) == {"synth_a", "synth_b", "synth_c"}
    assert set(results.normalisation) == {"train", "corpus"}
    assert (tmp_path / "report" / "summary.md").is_file()
