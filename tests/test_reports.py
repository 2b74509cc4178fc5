"""Report statistics, the feature-ranking inversion, exports, prosody and reproduction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import voiced_tone
from typer.testing import CliRunner

from paraser.cli import app
from paraser.experiments.metrics import score
from paraser.features import resolve_feature_set
from paraser.reports import bootstrap_uar, chance_test, holm, paired_difference
from paraser.reports.inversion import inversion_sentences
from paraser.reports.stats import uar, uar_estimate

CLASSES = np.array(["anger", "happiness", "neutral", "sadness"])


def predictions(n=400, accuracy=0.7, seed=0, speakers=20, labels=None) -> pd.DataFrame:
    """One cell's predictions: correct with probability ``accuracy``, else a random class."""
    rng = np.random.default_rng(seed)
    y_true = labels if labels is not None else CLASSES[rng.integers(0, 4, n)]
    hit = rng.random(n) < accuracy
    y_pred = np.where(hit, y_true, CLASSES[rng.integers(0, 4, n)])
    return pd.DataFrame(
        {
            "seed": 0,
            "fold": np.arange(n) % 5,
            "utterance": [f"u{i}" for i in range(n)],
            "speaker": [f"s{i % speakers}" for i in range(n)],
            "y_true": y_true,
            "y_pred": y_pred,
        }
    )


def test_ci_covers_the_truth():
    # Expected UAR: accuracy + (1 - accuracy) / 4 with balanced classes.
    truth = 0.6 + 0.4 / 4
    covered = 0
    for seed in range(20):
        estimate = uar_estimate(predictions(accuracy=0.6, seed=seed))
        assert estimate.ci_low <= estimate.uar <= estimate.ci_high
        assert estimate.unit == "speaker" and estimate.n_units == 20
        covered += estimate.ci_low <= truth <= estimate.ci_high
    assert covered >= 16  # nominal 95%: 19 of 20 expected


def test_bootstrap_matches_results_uar():
    # A within cell is scored once over its pooled out-of-fold predictions, not per fold.
    frame = predictions(accuracy=0.5)
    pooled = score(frame.y_true.to_numpy(), frame.y_pred.to_numpy(), sorted(set(frame.y_true)))
    assert bootstrap_uar(frame, n_boot=100).uar == pytest.approx(pooled["uar"])
    assert uar(frame.y_true, frame.y_true) == 1.0


def test_chance_test_significant_for_good_not_random():
    good = chance_test(predictions(accuracy=0.5))
    assert good.p_value < 1e-6 and good.unit == "speaker" and good.n_units == 20
    assert chance_test(predictions(accuracy=0.0, seed=3)).p_value > 0.05
    assert good.chance_uar == pytest.approx(0.25, abs=0.03)


def test_paired_difference_sign_and_significance():
    base = predictions(accuracy=0.8, seed=1)
    worse = base.assign(y_pred=predictions(accuracy=0.3, seed=2, labels=base.y_true).y_pred)
    result = paired_difference(base, worse)
    assert result.difference > 0 and result.ci_low > 0 and result.p_value < 0.05
    reverse = paired_difference(worse, base)
    assert reverse.difference == pytest.approx(-result.difference)
    same = paired_difference(base, base)
    assert same.difference == 0 and same.p_value == 1.0


def test_holm():
    adjusted = holm([0.01, 0.04, 0.03, np.nan, 0.5])
    np.testing.assert_allclose(adjusted[[0, 1, 2, 4]], [0.04, 0.09, 0.09, 0.5])
    assert np.isnan(adjusted[3])


def fabricate_run(out: Path, accuracy: dict, corpora=("a", "b", "c"), n=90) -> Path:
    """A results folder whose cells have the given accuracy per feature set and kind."""
    rng = np.random.default_rng(0)
    truth = {c: (CLASSES[rng.integers(0, 4, n)], rng.integers(0, 6, n)) for c in corpora}
    folds = rng.integers(0, 3, n)
    rows, preds = [], []
    for feature_set, by_kind in accuracy.items():
        for s in corpora:
            for t in corpora:
                kind = "within" if s == t else "transfer"
                y, spk = truth[t]
                fold_of = folds if kind == "within" else np.full(n, -1)
                hit = rng.random(n) < by_kind[kind]
                y_pred = np.where(hit, y, CLASSES[rng.integers(0, 4, n)])
                # As a run writes it: one row per cell and seed, a within cell scored
                # once over its pooled out-of-fold predictions (fold -1).
                rows.append(
                    {"feature_set": feature_set, "classifier": "svm", "source": s,
                     "target": t, "kind": kind, "normalisation": "train",
                     "protocol": "stratified-3fold" if kind == "within" else "train-all-source",
                     "fold": -1, "seed": 0, "n_train": n, "n_test": n,
                     "classes": "|".join(CLASSES), **score(y, y_pred, CLASSES)}
                )  # fmt: skip
                for fold in np.unique(fold_of):
                    m = fold_of == fold
                    preds.append(
                        pd.DataFrame(
                            {
                                "feature_set": feature_set,
                                "classifier": "svm",
                                "normalisation": "train",
                                "source": s,
                                "target": t,
                                "fold": int(fold),
                                "seed": 0,
                                "utterance": [f"{t}{i}" for i in np.flatnonzero(m)],
                                "speaker": [f"p{k}" for k in spk[m]],
                                "y_true": y[m],
                                "y_pred": y_pred[m],
                            }
                        )  # fmt: skip
                    )
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
    pd.concat(preds).to_parquet(out / "predictions.parquet", index=False)
    (out / "config.json").write_text(json.dumps({"notes": ["fabricated for a test"]}))
    return out


INVERTED = {
    "compare": {"within": 0.9, "transfer": 0.05},
    "is10": {"within": 0.7, "transfer": 0.2},
    "egemaps": {"within": 0.5, "transfer": 0.45},
}


def reported_run(out: Path, n_boot: int) -> Path:
    """The fabricated inverted run, reported through the CLI."""
    out = fabricate_run(out, INVERTED)
    result = CliRunner().invoke(app, ["report", str(out), "--n-boot", str(n_boot)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    return reported_run(tmp_path_factory.mktemp("run"), 200)


def test_inversion_detected(report_dir):
    summary = pd.read_csv(report_dir / "inversion.csv").set_index("feature_set")
    assert summary.loc["compare", "within_rank"] == 1
    assert summary.loc["egemaps", "transfer_rank"] == 1
    assert summary.loc["compare", "dimensions"] == 6373
    assert summary["kendall_tau"].iloc[0] == pytest.approx(-1.0)
    assert summary["tau_ci_high"].iloc[0] < 0
    sentence = inversion_sentences(summary.reset_index())["svm"]
    assert "compare ranks first" in sentence and "egemaps ranks first" in sentence
    assert "drops to 3rd" in sentence and "Kendall's tau = -1.00" in sentence
    assert "The published inversion holds" in (report_dir / "report.md").read_text()


def test_report_outputs(report_dir):
    page = (report_dir / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 4
    assert "Kendall" in page and "compare ranks first" in page
    latex = (report_dir / "tables.tex").read_text()
    assert "\\toprule" in latex and "\\bottomrule" in latex
    markdown = (report_dir / "report.md").read_text()
    # Every number of these tables is checked against its source row in test_report_roundtrip.
    assert "p > chance" in markdown
    assert markdown.count("## All cells") == 1
    cells = pd.read_csv(report_dir / "cell_stats.csv")
    assert {"ci_low", "ci_high", "p_above_chance_holm", "uar_seed_sd"} <= set(cells.columns)
    assert (cells.ci_low <= cells.uar).all() and (cells.uar <= cells.ci_high).all()
    assert (report_dir / "figures" / "ranks.png").stat().st_size > 1000
    recall = pd.read_csv(report_dir / "per_class_recall.csv")
    assert set(recall["class"]) == set(CLASSES)
    confusion = pd.read_csv(report_dir / "confusion.csv")
    sums = confusion.groupby(["feature_set", "source", "target", "true"])["share"].sum()
    np.testing.assert_allclose(sums, 1.0)


def test_prosody_feature_set_on_a_tone():
    spec = resolve_feature_set("prosody")
    engine = spec.make_engine()
    low, high = engine(voiced_tone(120)), engine(voiced_tone(240))
    assert np.isfinite(low).all() and len(low) == len(engine.feature_names) > 50
    mean_f0 = engine.feature_names.index("F0semitone_sma_amean")
    # One octave up is 12 semitones up.
    assert high[mean_f0] - low[mean_f0] == pytest.approx(12, abs=0.5)


def test_reproduce_paper_without_data(tmp_path, monkeypatch):
    monkeypatch.setenv("PARASER_URDU_SINDHI", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["reproduce", "paper_syed2020"])
    assert result.exit_code == 0
    assert "data not found" in result.output and "PARASER_URDU_SINDHI" in result.output


def test_reproduce_on_feature_tables(tmp_path, monkeypatch):
    """A reproduction config run end to end on synthetic feature tables."""
    rng = np.random.default_rng(0)
    for corpus, shift in (("urdu", 0.0), ("sindhi", 1.0)):
        labels = np.repeat(["angry", "happy", "neutral", "sad"], 15)
        centres = {"angry": 2.0, "happy": 1.0, "neutral": 0.0, "sad": -1.0}
        signal = np.array([centres[x] for x in labels])
        table = pd.DataFrame(rng.normal(size=(60, 6)) + signal[:, None] + shift)
        table.columns = [f"f{i}" for i in range(6)]
        table.insert(0, "label", labels)
        table.insert(1, "speaker", [f"{corpus}{i % 5}" for i in range(60)])
        (tmp_path / "tables" / corpus).mkdir(parents=True)
        table.to_csv(tmp_path / "tables" / corpus / "egemaps.csv", index=False)
    config = tmp_path / "mini.toml"
    config.write_text(
        '[reproduction]\nname = "mini"\n[data]\nkind = "tables"\nenv = "MINI_TABLES"\n'
        'default = "x"\nobtain = "ask"\n[experiment]\ncorpora = ["urdu", "sindhi"]\n'
        'protocol = "stratified"\nfolds = 3\nseeds = [0]\nfeatures = ["egemaps"]\n'
        'classifiers = ["svm"]\n'
        '[[published]]\nsource = "urdu"\ntarget = "sindhi"\nfeature_set = "egemaps"\n'
        'classifier = "svm"\nuar = 0.2734\n'
    )
    monkeypatch.setenv("MINI_TABLES", str(tmp_path / "tables"))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["reproduce", str(config), "--out", str(out), "--jobs", "1", "--n-boot", "100"]
    )
    assert result.exit_code == 0, result.output
    published = pd.read_csv(out / "published_comparison.csv")
    assert published.loc[0, "published_uar"] == 0.2734
    # Ours is the urdu -> sindhi cell of results.csv, not just some number in [0, 1].
    results = pd.read_csv(out / "results.csv")
    cell = results[(results.source == "urdu") & (results.target == "sindhi")]
    assert published.loc[0, "our_uar"] == pytest.approx(cell.uar.mean())
    assert (out / "report.html").is_file()
    assert "0.2734" in result.output


def test_optimistic_cells_are_marked_everywhere_and_never_averaged(tmp_path):
    out = fabricate_run(tmp_path / "run", INVERTED)
    results = pd.read_csv(out / "results.csv")
    within = results.kind == "within"
    results.loc[within, "protocol"] = "speaker-3fold"
    results.loc[within & (results.source == "a"), "protocol"] = (
        "stratified-3fold (fallback from speaker-3fold)"
    )
    results.to_csv(out / "results.csv", index=False)
    result = CliRunner().invoke(app, ["report", str(out), "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    assert "‡" in result.output  # the terminal matrices
    for name in ("report.md", "report.html", "summary.md"):
        assert "‡" in (out / name).read_text(), name
    # LaTeX writes the mark as a math symbol, and its caption says what it means.
    latex = (out / "tables.tex").read_text()
    assert r"$^\ddagger$ within-corpus folds share speakers" in latex
    assert latex.count(r"$^\ddagger$") > 1
    cells = pd.read_csv(out / "cell_stats.csv")
    by_protocol = pd.read_csv(out / "summary_by_protocol.csv")
    families = by_protocol[by_protocol.kind == "within"].groupby("protocol").cells.sum()
    assert families.to_dict() == {"speaker-independent": 6, "speakers shared (optimistic)": 3}
    independent = cells[(cells.kind == "within") & (cells.source != "a")]
    inversion = pd.read_csv(out / "inversion.csv").set_index("feature_set")
    for feature_set, group in independent.groupby("feature_set"):
        assert inversion.loc[feature_set, "within_uar"] == pytest.approx(group.uar.mean())
        assert inversion.loc[feature_set, "left_out_optimistic"] == "a"
    assert "Left out of the within means" in (out / "report.md").read_text()
