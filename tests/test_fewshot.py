"""Few-shot target curves: estimators, speaker-disjoint draws, known answers, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paraser.experiments import CLASSIFIERS, CorpusData, make_classifier
from paraser.experiments.fewshot import (
    CURVE_STRATEGIES,
    FeatureAugmentation,
    FewShotPlan,
    PooledShots,
    draw_shots,
    make_strategy,
    run_few_shot,
    split_target,
)
from paraser.reports.fewshot import curve_table, paired_tests, shots_to_ceiling

CLASSES = ["anger", "happiness", "sadness"]


def corpus(name, seed, order=(0, 1, 2), per_class=24, speakers=8) -> CorpusData:
    """Three Gaussian classes; ``order`` says which class centre each label sits on."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(42).normal(0, 2.0, (3, 5))
    codes = np.repeat(np.arange(3), per_class)
    x = centres[np.asarray(order)[codes]] + rng.normal(0, 1, (len(codes), 5))
    frame = pd.DataFrame(
        {
            "corpus": name,
            "utterance": [f"{name}_{i}.wav" for i in range(len(codes))],
            "label": np.array(CLASSES)[codes],
            "speaker": [f"{name}:s{i % speakers}" for i in range(len(codes))],
        }
    )
    return CorpusData(name, frame, {"f": x})


def mean_uar(curves, strategy, shots, source="src"):
    rows = curves[(curves.source == source) & (curves.strategy == strategy)]
    return rows[rows.shots == shots].uar.mean()


@pytest.fixture(scope="module")
def swapped():
    """A target whose classes sit on each other's source centres: only labels can repair it."""
    source, target = corpus("src", 1), corpus("tgt", 2, order=(1, 2, 0))
    plan = FewShotPlan(shots=(0, 2, 10), draws=3)
    return source, target, run_few_shot([source, target], ["f"], ["svm"], plan)


def test_target_shots_repair_a_shift_zero_shot_cannot(swapped):
    _, _, result = swapped
    curves = result.curves[result.curves.target == "tgt"]
    assert mean_uar(curves, "zero-shot", 0) < 0.1
    assert mean_uar(curves, "ceiling", -1) > 0.95
    assert mean_uar(curves, "target-only", 10) > 0.9
    assert mean_uar(curves, "feature-augment", 10) > 0.9
    # Source rows outvote 30 shots of weight 1: pooling alone does not repair a label swap.
    assert mean_uar(curves, "pooled", 10) < 0.5
    table = shots_to_ceiling(curve_table(result.predictions, n_boot=100))
    row = table[(table.source == "src") & (table.strategy == "target-only")].iloc[0]
    assert row.shots_80 in (2, 10) and row.zero_shot < 0.1


def test_evaluation_utterances_are_never_among_the_shots(swapped):
    _, target, result = swapped
    speaker_of = dict(zip(target.frame.utterance, target.frame.speaker))
    tested = result.predictions[result.predictions.target == "tgt"]
    for (seed, draw), shots in result.shots[result.shots.target == "tgt"].groupby(["seed", "draw"]):
        evaluated = tested[(tested.seed == seed) & (tested.fold == draw)]
        assert not set(shots.utterance) & set(evaluated.utterance)
        assert not {speaker_of[u] for u in shots.utterance} & set(evaluated.speaker)
    # Every strategy of a draw is tested on the same held-out utterances.
    per_strategy = tested.groupby(["source", "strategy", "shots", "fold"]).utterance.apply(
        frozenset
    )
    assert per_strategy.groupby(level=["source", "fold"]).nunique().eq(1).all()


def test_curves_are_identical_on_rerun_and_across_workers(swapped):
    source, target, result = swapped
    plan = FewShotPlan(shots=(0, 2, 10), draws=3)
    again = run_few_shot([source, target], ["f"], ["svm"], plan, jobs=2)
    pd.testing.assert_frame_equal(result.curves, again.curves)
    pd.testing.assert_frame_equal(result.predictions, again.predictions)
    pd.testing.assert_frame_equal(result.shots, again.shots)


def test_speaker_split_is_disjoint_and_every_class_on_both_sides():
    labels = np.repeat(CLASSES, 20)
    speakers = np.array([f"s{i % 10}" for i in range(60)])
    for seed in range(20):
        split = split_target(labels, speakers, 0.5, seed)
        assert not set(speakers[split.pool]) & set(speakers[split.test])
        assert len(split.pool) + len(split.test) == 60
        assert set(labels[split.pool]) == set(labels[split.test]) == set(CLASSES)
        assert split.note is None


def test_confounded_speakers_are_noted_not_hidden():
    labels = np.repeat(CLASSES, 10)
    speakers = np.repeat(["a", "b", "c"], 10)  # one speaker per class
    split = split_target(labels, speakers, 0.5, 0, name="conf")
    assert split.note and "conf" in split.note and "confounded" in split.note


def test_shots_are_nested_and_capped_by_the_pool():
    labels = np.array(["anger"] * 30 + ["sadness"] * 4)
    pool = np.arange(34)
    shots = draw_shots(labels, pool, [0, 2, 5, 10], seed=3)
    assert len(shots[0]) == 0
    assert set(shots[2]) <= set(shots[5]) <= set(shots[10])
    counts = pd.Series(labels[shots[10]]).value_counts().to_dict()
    assert counts == {"anger": 10, "sadness": 4}


@pytest.mark.parametrize("classifier", sorted(CLASSIFIERS))
@pytest.mark.parametrize("strategy", CURVE_STRATEGIES)
def test_every_strategy_composes_with_every_classifier(strategy, classifier):
    source, target = corpus("s", 0, per_class=12), corpus("t", 1, per_class=4)
    x = np.vstack([source.features["f"], target.features["f"]])
    y = np.concatenate([source.labels, target.labels])
    domain = np.r_[np.zeros(len(source.labels), int), np.ones(len(target.labels), int)]
    model = make_strategy(strategy, make_classifier(classifier, 0)).fit(x, y, domain=domain)
    assert set(model.predict(target.features["f"])) <= set(CLASSES)
    assert list(model.classes_) == sorted(CLASSES)


def test_shot_weight_moves_pooled_training_towards_the_target():
    source, target = corpus("s", 0), corpus("t", 1, order=(1, 2, 0), per_class=5)
    x = np.vstack([source.features["f"], target.features["f"]])
    y = np.concatenate([source.labels, target.labels])
    domain = np.r_[np.zeros(len(source.labels), int), np.ones(len(target.labels), int)]
    test = corpus("t2", 5, order=(1, 2, 0))
    scores = {}
    for weight in (1.0, 50.0):
        model = PooledShots(make_classifier("svm"), shot_weight=weight).fit(x, y, domain=domain)
        scores[weight] = np.mean(model.predict(test.features["f"]) == test.labels)
    assert scores[50.0] > scores[1.0] + 0.5


def test_feature_augmentation_layout_and_domain_check():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    augmented = FeatureAugmentation.augment(x, np.array([0, 1]))
    assert augmented.tolist() == [[1, 2, 1, 2, 0, 0], [3, 4, 0, 0, 3, 4]]
    with pytest.raises(ValueError, match="domain"):
        FeatureAugmentation(make_classifier("svm")).fit(x, ["a", "b"])


def test_paired_tests_and_average_rows(swapped):
    _, _, result = swapped
    curves = curve_table(result.predictions, n_boot=100)
    average = curves[curves.source == "average"]
    assert set(average.strategy) == {"zero-shot", "ceiling", *CURVE_STRATEGIES}
    assert (average.ci_low <= average.uar + 1e-9).all() and (
        average.uar <= average.ci_high + 1e-9
    ).all()
    tests = paired_tests(result.predictions, n_boot=100)
    pooled = tests[(tests.source == "src") & (tests.strategy == "pooled") & (tests.shots == 10)]
    assert pooled.verdict.iloc[0] == "worse"


def test_shots_to_ceiling_on_a_known_curve():
    rows = [("ceiling", -1, 0.8), ("zero-shot", 0, 0.7)]
    rows += [("target-only", k, u) for k, u in ((5, 0.5), (10, 0.65), (20, 0.75))]
    rows += [("pooled", k, 0.7) for k in (5, 10, 20)]
    curves = pd.DataFrame(
        [
            {"feature_set": "f", "classifier": "svm", "adaptation": "none", "source": "a",
             "target": "b", "strategy": s, "shots": k, "uar": u}
            for s, k, u in rows
        ]
    )  # fmt: skip
    table = shots_to_ceiling(curves).set_index("strategy")
    assert table.loc["target-only", "shots_80"] == 10  # 0.65 >= 0.64
    assert table.loc["target-only", "shots_90"] == 20  # 0.75 >= 0.72
    assert table.loc["pooled", "shots_80"] == 0  # zero-shot 0.7 already reaches 0.64
    assert np.isnan(table.loc["pooled", "shots_90"])  # never reaches 0.72


def test_shots_combine_with_adaptation_and_pooled_sources():
    corpora = [corpus("a", 1), corpus("b", 2, order=(1, 2, 0)), corpus("c", 3)]
    plan = FewShotPlan(shots=(0, 4), draws=1)
    result = run_few_shot(
        corpora, ["f"], ["svm"], plan, adaptations=("none", "coral", "prior-em"),
        leave_one_corpus_out=True,
    )  # fmt: skip
    curves = result.curves
    assert set(curves.adaptation) == {"none", "coral"}
    assert any("prior-em" in note for note in result.notes)
    assert {"a+b", "a+c", "b+c"} <= set(curves.source)
    assert set(curves[curves.source == "a+c"].target) == {"b"}


def test_cli_few_shot_arousal_run_and_report(tone_corpus, tmp_path):
    from typer.testing import CliRunner

    from paraser.cli import app

    runner = CliRunner()
    manifests = [
        tone_corpus(name, per_label=3, speakers=("s1", "s2", "s3", "s4")) for name in ("x", "y")
    ]
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        ["transfer-matrix", "--corpora", ",".join(map(str, manifests)), "--task", "arousal",
         "--target-shots", "0,2", "--shot-draws", "2", "--folds", "2", "--out", str(out),
         "--cache-dir", str(tmp_path / "cache"), "-j", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Task arousal" in result.output
    config = __import__("json").loads((out / "config.json").read_text())
    assert config["label_map"]["task"] == "arousal" and config["few_shot"]["draws"] == 2
    curves = pd.read_csv(out / "fewshot.csv")
    assert set(curves.classes) == {"high|low|neutral"}
    assert "Task arousal" in (out / "summary.md").read_text()
    report = runner.invoke(app, ["report", str(out), "--n-boot", "100"])
    assert report.exit_code == 0, report.output
    text = (out / "report.md").read_text()
    assert "## Few-shot target curves" in text and "shots needed to reach 80 %" in text
    assert (out / "fewshot_to_ceiling.csv").is_file()
    assert (out / "figures" / "fewshot_egemaps_svm_none.png").is_file()
    combined = runner.invoke(app, ["fewshot-report", str(tmp_path / "study"), str(out)])
    assert combined.exit_code == 0, combined.output
    study = (tmp_path / "study" / "report.md").read_text()
    assert "## Task: arousal" in study and "../run/figures/fewshot_" in study
