"""`paraser run EXPERIMENT`: one file describes a run; a run's config.json repeats it exactly;
a mistake in the file is named with its key and line before anything is extracted."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from paraser.cli import app, transfer_matrix
from paraser.runs.experiment import Experiment, ExperimentError, read_experiment

runner = CliRunner()

#: transfer-matrix options that say how to run, not what: not experiment keys.
INVOCATION_ONLY = {"force", "resume", "quiet", "as_json"}


@pytest.fixture
def corpora(tone_corpus) -> list[Path]:
    return [tone_corpus(name, per_label=3) for name in ("alpha", "beta", "gamma")]


def _cli_run(corpora: list[Path], out: Path, cache: Path):
    # Non-default values for many keys, so the round trip has something to lose.
    return runner.invoke(
        app,
        [
            "transfer-matrix", "--corpora", ",".join(map(str, corpora)), "--features",
            "egemaps", "--classifiers", "svm,rf", "--folds", "2", "--seeds", "0,3",
            "--normalisation", "train,corpus", "--adapt", "none,coral", "--classes",
            "anger,neutral,sadness", "--stratified-reference", "none", "--out", str(out),
            "--cache-dir", str(cache), "-j", "1", "--quiet",
        ],
    )  # fmt: skip


def test_config_json_of_a_cli_run_repeats_it_byte_for_byte(corpora, tmp_path):
    first, again, cache = tmp_path / "first", tmp_path / "again", tmp_path / "cache"
    result = _cli_run(corpora, first, cache)
    assert result.exit_code == 0, result.output
    recorded = json.loads((first / "config.json").read_text())["experiment"]
    assert recorded["classifiers"] == ["svm", "rf"] and recorded["seeds"] == [0, 3]
    assert recorded["adapt"] == ["none", "coral"] and recorded["classes"] == [
        "anger",
        "neutral",
        "sadness",
    ]

    repeated = runner.invoke(
        app, ["run", str(first / "config.json"), "--out", str(again), "--quiet"]
    )
    assert repeated.exit_code == 0, repeated.output
    assert (again / "results.csv").read_bytes() == (first / "results.csv").read_bytes()
    assert json.loads((again / "config.json").read_text())["experiment"] == {
        **recorded,
        "out": str(again),
    }


def test_a_toml_file_with_the_same_keys_gives_the_same_results(corpora, tmp_path):
    cache = tmp_path / "cache"
    assert _cli_run(corpora, tmp_path / "cli", cache).exit_code == 0
    names = ", ".join(f'"{c}"' for c in corpora)
    experiment = tmp_path / "experiment.toml"
    experiment.write_text(
        f"""# the same run as the CLI's, defaults left out
[experiment]
corpora = [{names}]
classifiers = ["svm", "rf"]
folds = 2
seeds = [0, 3]
normalisation = ["train", "corpus"]
adapt = ["none", "coral"]
classes = ["anger", "neutral", "sadness"]
stratified_reference = "none"
out = "{tmp_path / "toml"}"
cache_dir = "{cache}"
jobs = 1
"""
    )
    result = runner.invoke(app, ["run", str(experiment), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "toml" / "results.csv").read_bytes() == (
        tmp_path / "cli" / "results.csv"
    ).read_bytes()


def _refusal(tmp_path: Path, text: str) -> str:
    experiment = tmp_path / "typo.toml"
    experiment.write_text(text)
    result = runner.invoke(app, ["run", str(experiment)])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "cache").exists()  # refused before any extraction
    return " ".join(result.output.split())


def test_a_misspelt_key_is_named_with_its_line_and_the_closest_key(tmp_path):
    message = _refusal(
        tmp_path,
        '[experiment]\ncorpora = ["emodb"]\nclasifiers = ["svm"]\n'
        f'cache_dir = "{tmp_path}/cache"\n',
    )
    assert "typo.toml:3" in message and "'clasifiers'" in message
    assert "did you mean 'classifiers'" in message


def test_wrong_types_bad_names_and_missing_keys_are_all_named_with_lines(tmp_path):
    message = _refusal(
        tmp_path,
        '[experiment]\nfolds = "5"\nclassifiers = ["svn"]\nprotocol = "lozo"\n'
        f'seeds = [0, "a"]\ncache_dir = "{tmp_path}/cache"\n',
    )
    assert "typo.toml:2: 'folds' must be a whole number" in message
    assert "typo.toml:3: 'classifiers': unknown classifier 'svn'" in message
    assert "(did you mean 'svm'?)" in message
    assert "typo.toml:4: 'protocol': unknown protocol 'lozo'" in message
    assert "typo.toml:5: 'seeds' must be a list of whole numbers" in message
    assert "typo.toml:1: missing key 'corpora'" in message


def test_a_key_outside_the_experiment_table_and_bad_toml_are_refused(tmp_path):
    message = _refusal(tmp_path, 'seed = 1\n[experiment]\ncorpora = ["emodb"]\n')
    assert "typo.toml:1: 'seed' is outside [experiment]" in message
    message = _refusal(tmp_path, '[experiment]\ncorpora = ["emodb"]\nfolds = = 3\n')
    assert "not valid TOML" in message and "line 3" in message


def test_defaults_are_those_of_the_cli_and_every_option_is_a_key():
    """One experiment can say whatever transfer-matrix can, with the same defaults."""
    import inspect

    fields = {f.name: f for f in dataclasses.fields(Experiment)}
    options = {
        name: parameter.default
        for name, parameter in inspect.signature(transfer_matrix).parameters.items()
        if name not in INVOCATION_ONLY
    }
    assert set(options) <= set(fields), set(options) - set(fields)
    assert set(fields) - set(options) == {"within"}  # the Python API's transfer-only switch
    for name, option in options.items():
        assert isinstance(option, typer.models.OptionInfo), name
        cli_default, default = option.default, fields[name].default
        if name == "corpora":
            continue  # required on both
        if name == "jobs":
            assert default is None  # the CLI's default: one worker per core
            continue
        if name == "cache_dir":
            assert default is None and option.envvar == "PARASER_CACHE"
            assert str(cli_default) == "features_cache"
            continue
        if isinstance(default, tuple) and isinstance(cli_default, str):
            parsed = tuple(x for x in cli_default.split(",") if x)
            if default and isinstance(default[0], int):
                parsed = tuple(int(x) for x in parsed)
            assert parsed == default, name
        elif isinstance(default, tuple):
            assert tuple(cli_default) == default, name
        elif isinstance(cli_default, Path):
            assert str(cli_default) == default, name
        else:
            assert cli_default == default, name
    assert fields["classes"].default == ("anger", "happiness", "neutral", "sadness")


def test_check_prints_an_experiment_file_that_reads_back_the_same(tmp_path):
    experiment = tmp_path / "e.toml"
    experiment.write_text(
        'corpora = ["emodb", "urdu"]\nfeatures = ["egemaps", "is10"]\ntarget_shots = [0, 5]\n'
        'label_map = {classes = ["anger", "neutral"], map = {calm = "neutral"}}\n'
    )
    result = runner.invoke(app, ["run", str(experiment), "--check"])
    assert result.exit_code == 0, result.output
    printed = tmp_path / "printed.toml"
    printed.write_text(result.output)
    again = read_experiment(printed)
    assert again == dataclasses.replace(read_experiment(experiment), jobs=again.jobs)
    assert again.label_map == {"classes": ["anger", "neutral"], "map": {"calm": "neutral"}}


def test_a_config_json_without_an_experiment_says_so(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"schema_version": 1, "paraser": "0.9", "corpora": {}}))
    with pytest.raises(ExperimentError, match="records no experiment"):
        read_experiment(config)


def test_every_shipped_reproduction_is_a_valid_experiment_file():
    from importlib import resources

    from paraser.runs.reproduce import read_reproduction

    shipped = sorted(Path(str(resources.files("paraser") / "configs")).glob("*.toml"))
    assert len(shipped) >= 3
    for path in shipped:
        config = read_reproduction(path)
        assert config.experiment.corpora and config.reproduction["name"], path


def test_a_typo_in_a_reproduction_is_named_with_its_line(tmp_path):
    config = tmp_path / "mine.toml"
    config.write_text(
        '[reproduction]\nname = "mine"\ncitaton = "x"\n[data]\ndefault = "d"\nobtain = "o"\n'
        '[experiment]\ncorpora = ["urdu"]\nfeature_sets = ["egemaps"]\n'
    )
    result = runner.invoke(app, ["reproduce", str(config)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "mine.toml:3: unknown key 'citaton' in [reproduction] (did you mean 'citation'?)" in (
        message
    )
    assert "mine.toml:9: unknown key 'feature_sets'" in message


def test_the_example_experiment_files_are_valid():
    examples = sorted((Path(__file__).parents[1] / "experiments").glob("*.toml"))
    assert examples
    for path in examples:
        result = runner.invoke(app, ["run", str(path), "--check"])
        assert result.exit_code == 0, (path, result.output)
        assert "[experiment]" in result.output
