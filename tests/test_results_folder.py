"""A results folder holds one run: a used --out is refused, --force replaces the run,
--resume continues only the same configuration, and every name is checked before any
extraction starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paraser.cli import app

runner = CliRunner()


@pytest.fixture
def corpora(tone_corpus) -> list[Path]:
    return [tone_corpus(name, per_label=3) for name in ("alpha", "beta", "third")]


def _run(corpora: list[Path], out: Path, cache: Path, *extra: str):
    return runner.invoke(
        app,
        [
            "transfer-matrix", "--corpora", ",".join(map(str, corpora)), "--features",
            "egemaps", "--classifiers", "svm", "--folds", "2", "--out", str(out),
            "--cache-dir", str(cache), "-j", "1", *extra,
        ],
    )  # fmt: skip


def _files_mentioning(folder: Path, word: str) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and p.suffix != ".parquet" and word in p.read_text(errors="ignore")
    )


def test_a_used_folder_is_refused_and_force_leaves_nothing_of_the_old_run(corpora, tmp_path):
    out, cache = tmp_path / "run", tmp_path / "cache"
    assert _run(corpora, out, cache).exit_code == 0
    assert runner.invoke(app, ["report", str(out), "--n-boot", "100"]).exit_code == 0
    assert "third" in (out / "report.html").read_text()
    (out / "my_notes.txt").write_text("third: to discuss")  # the user's own file

    refused = _run(corpora[:2], out, cache)
    assert refused.exit_code == 2
    message = " ".join(refused.output.split())
    assert str(out) in message and "--force" in message and "--resume" in message
    assert "third" in (out / "report.html").read_text()  # nothing was touched

    forced = _run(corpora[:2], out, cache, "--force")
    assert forced.exit_code == 0, forced.output
    assert _files_mentioning(out, "third") == ["my_notes.txt"]
    assert not (out / "report.html").exists() and not (out / "figures").exists()
    assert runner.invoke(app, ["report", str(out), "--n-boot", "100"]).exit_code == 0
    assert _files_mentioning(out, "third") == ["my_notes.txt"]


def test_resume_continues_only_the_same_configuration(corpora, tmp_path):
    out, cache = tmp_path / "run", tmp_path / "cache"
    assert _run(corpora[:2], out, cache).exit_code == 0
    first = (out / "results.csv").read_text()

    again = _run(corpora[:2], out, cache, "--resume")
    assert again.exit_code == 0, again.output
    assert (out / "results.csv").read_text() == first

    other = _run(corpora[:2], out, cache, "--resume", "--seeds", "1", "--normalisation", "corpus")
    assert other.exit_code == 2
    message = " ".join(other.output.split())
    assert "cannot resume" in message and "seeds" in message and "normalisations" in message


def test_report_removes_what_it_no_longer_produces(corpora, tmp_path):
    out, cache = tmp_path / "run", tmp_path / "cache"
    assert _run(corpora[:2], out, cache).exit_code == 0
    # An output of a condition the run does not have (left by hand or an older paraser).
    (out / "matrix_is09_rf.csv").write_text("stale")
    (out / "shift.md").write_text("a shift section without its shift.csv")
    assert runner.invoke(app, ["report", str(out), "--n-boot", "100"]).exit_code == 0
    assert not (out / "matrix_is09_rf.csv").exists() and not (out / "shift.md").exists()
    assert (out / "matrix_egemaps_svm.csv").is_file() and (out / "report.html").is_file()


@pytest.mark.parametrize(
    ("option", "typo", "suggestion"),
    [
        ("--classifiers", "svn", "svm"),
        ("--protocol", "lozo", "loso"),
        ("--adapt", "coral2", "coral"),
        ("--normalisation", "corpuss", "corpus"),
        ("--features", "egemap", "egemaps"),
    ],
)
def test_a_typo_fails_before_extraction_with_the_closest_name(
    corpora, tmp_path, option, typo, suggestion
):
    cache = tmp_path / "cache"
    result = _run(corpora[:2], tmp_path / "run", cache, option, typo)
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"'{typo}'" in message and f"did you mean '{suggestion}'" in message
    assert not cache.exists()  # nothing was extracted


def test_seeds_and_classes_are_checked_before_extraction(corpora, tmp_path):
    cache = tmp_path / "cache"
    seeds = _run(corpora[:2], tmp_path / "run", cache, "--seeds", "a,b")
    assert seeds.exit_code == 2
    assert "--seeds takes comma-separated whole numbers" in " ".join(seeds.output.split())
    classes = _run(
        corpora[:2], tmp_path / "run", cache, "--classes", "anger,happiness,sadness,contempt"
    )
    assert classes.exit_code == 2
    assert "contempt" in classes.output and "occur in no corpus" in classes.output
    assert not cache.exists()


def test_json_summary_quiet_and_plain_progress(corpora, tmp_path):
    out, cache = tmp_path / "run", tmp_path / "cache"
    result = _run(corpora[:2], out, cache, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["out"] == str(out) and summary["cells"] == summary["within_cells"] + 2
    assert {"results.csv", "config.json", "summary.md"} <= set(summary["files"])
    # No terminal here: progress is plain lines on stderr, a stage's last one complete.
    assert "extract alpha: 24/24" in result.stderr

    quiet = _run(corpora[:2], out, cache, "--resume", "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == "" and quiet.stdout.strip().startswith("Results written to")


def test_features_lists_the_packaged_prosody_dimension():
    from paraser.features import PACKAGED_DIMENSIONS, resolve_feature_set

    engine = resolve_feature_set("prosody").make_engine()
    assert PACKAGED_DIMENSIONS["prosody"] == len(engine.feature_names)
    listing = runner.invoke(app, ["features"])
    assert listing.exit_code == 0
    assert any("prosody" in line and str(len(engine.feature_names)) in line
               for line in listing.stdout.splitlines())  # fmt: skip


def test_help_shows_no_type_noise():
    for command in (["transfer-matrix"], ["demo"], ["report"], ["corpus", "prepare"]):
        shown = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
        assert shown.exit_code == 0
        # click's own --help row keeps its <bool>: typer builds it without a metavar hook.
        options = "\n".join(
            line for line in shown.stdout.split("Options")[-1].splitlines() if "--help" not in line
        )
        assert not any(noise in options for noise in ("<bool>", "<str>", "<list[str]>"))
    demo = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "120"}).stdout
    assert "Comma-separated feature sets" in demo
