"""The shift report (issue 9, diagnostics) on synthetic data where the answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from paraser.cli import app
from paraser.experiments import CorpusData
from paraser.experiments.shift import SHIFT_COLUMNS, shift_tables, total_variation
from paraser.reports.shift import drops_from_results, shift_vs_drop

runner = CliRunner()

NAMES = [
    "F0semitoneFrom27.5Hz_sma3nz_amean",
    "loudness_sma3_amean",
    "mfcc1_sma3_amean",
    "HNRdBACF_sma3nz_amean",
    "slopeV0-500_sma3nz_amean",
]
LOUDNESS = 1


def _features(n: int, seed: int, loudness_shift: float = 0.0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, len(NAMES)))
    x[:, LOUDNESS] += loudness_shift
    return x


def _labels(counts: dict[str, int]) -> np.ndarray:
    return np.array([c for c, n in counts.items() for _ in range(n)])


def _corpus(name: str, x: np.ndarray, labels: np.ndarray) -> CorpusData:
    frame = pd.DataFrame({"label": labels, "speaker": [f"s{i % 4}" for i in range(len(x))]})
    return CorpusData(name, frame, {"egemaps": x})


def _write_table_corpus(folder: Path, x: np.ndarray, labels: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    table = pd.DataFrame(x, columns=NAMES)
    table.insert(0, "label", labels)
    table.insert(1, "speaker", [f"{folder.name}{i % 4}" for i in range(len(x))])
    table.to_csv(folder / "egemaps.csv", index=False)
    return folder


BALANCED = {"anger": 40, "happiness": 40, "neutral": 40, "sadness": 40}


def test_identical_corpora_show_no_shift():
    # Two random halves of one corpus: no distance beyond sampling noise.
    x, labels = _features(320, seed=1), np.tile(_labels(BALANCED), 2)
    order = np.random.default_rng(0).permutation(len(x))
    a, b = order[:160], order[160:]
    tables = shift_tables(
        [_corpus("half1", x[a], labels[a]), _corpus("half2", x[b], labels[b])],
        {"egemaps": NAMES},
    )
    shift = tables.shift
    assert list(shift.columns) == list(SHIFT_COLUMNS)
    assert len(shift) == 2  # both directions of the one pair, same distances
    assert shift.mmd2.nunique() == 1 and shift.pad.nunique() == 1
    row = shift.iloc[0]
    assert row.mmd_p > 0.05 and row.mmd2 < 0.02
    assert row.pad < 0.4
    assert row.class_conditional_mmd2 < 0.1


def test_halves_split_by_speaker_are_not_far_apart():
    # One corpus with speaker effects and more features than speakers, split into two
    # "corpora" by speaker: PAD cross-validated over utterances learns the speakers (1.7
    # here); over held-out speakers it sees no corpus difference.
    rng = np.random.default_rng(0)
    names = [f"mfcc{k}_sma3_amean" for k in range(40)]
    speaker = np.repeat(np.arange(10), 20)
    x = rng.normal(0, 1, (10, len(names)))[speaker] + rng.normal(size=(len(speaker), len(names)))
    labels = np.tile(_labels({"anger": 5, "happiness": 5, "neutral": 5, "sadness": 5}), 10)
    halves = []
    for name, rows in (("first", speaker < 5), ("second", speaker >= 5)):
        frame = pd.DataFrame({"label": labels[rows], "speaker": [f"s{k}" for k in speaker[rows]]})
        halves.append(CorpusData(name, frame, {"mfcc": x[rows]}))
    row = shift_tables(halves, {"mfcc": names}, n_permutations=0).shift.iloc[0]
    assert row.pad_unit == "speaker" and row.pad_folds == 5
    assert row.pad < 0.5 and row.domain_accuracy < 0.65
    assert row.frechet > 0  # the speakers do differ; the distance says by how much


def test_shifted_feature_and_family_ranked_top():
    labels = _labels(BALANCED)
    tables = shift_tables(
        [
            _corpus("quiet", _features(160, seed=1), labels),
            _corpus("loud", _features(160, seed=2, loudness_shift=2.0), labels),
        ],
        {"egemaps": NAMES},
    )
    row = tables.shift.query("source == 'quiet'").iloc[0]
    assert row.mmd_p < 0.01 and row.pad > 1.0
    assert row.top_features.split("|")[0] == "loudness_sma3_amean"
    assert row.top_family == "energy"
    features = tables.features.query("rank == 1")
    assert set(features.feature) == {"loudness_sma3_amean"}
    forward = features.set_index("source").smd
    assert forward["quiet"] > 1.5 and forward["loud"] == pytest.approx(-forward["quiet"])
    families = tables.families.query("source == 'quiet'")
    assert families.family.iloc[0] == "energy"


def test_label_shift_priors_and_tvd():
    x = _features(200, seed=3)
    skewed = {"anger": 80, "happiness": 40, "neutral": 40, "sadness": 40}
    tables = shift_tables(
        [
            _corpus("a", x[:160], _labels(BALANCED)),
            _corpus("b", _features(160, seed=4), _labels(BALANCED)),
            _corpus("c", x, _labels(skewed)),
        ],
        {"egemaps": NAMES},
    )
    priors = tables.priors.set_index(["corpus", "class"])
    assert priors.loc[("c", "anger"), "n"] == 80
    assert priors.loc[("c", "anger"), "share"] == pytest.approx(0.4)
    assert priors.loc[("a", "sadness"), "share"] == pytest.approx(0.25)
    tvd = tables.shift.set_index(["source", "target"]).prior_tvd
    assert tvd[("a", "b")] == 0.0
    assert tvd[("a", "c")] == pytest.approx(0.15) == tvd[("c", "a")]
    # A class only one corpus has counts fully towards the distance.
    assert total_variation(pd.Series({"x": 1.0}), pd.Series({"y": 1.0})) == 1.0


def _results(drops: dict[tuple[str, str], float], within: float = 0.8) -> pd.DataFrame:
    """A results.csv: within rows (two folds) and transfer rows with the given drops."""
    rows = []
    corpora = sorted({c for pair in drops for c in pair})
    for corpus in corpora:
        for fold, uar in enumerate((within - 0.05, within + 0.05)):
            rows.append(dict(source=corpus, target=corpus, kind="within", fold=fold, uar=uar,
                             protocol="speaker-5fold"))  # fmt: skip
    for (source, target), drop in drops.items():
        rows.append(dict(source=source, target=target, kind="transfer", fold=-1,
                         uar=within - drop, protocol="train-all-source"))  # fmt: skip
    frame = pd.DataFrame(rows).assign(feature_set="egemaps", classifier="svm", seed=0)
    # Another adaptation level must not enter the drop.
    noise = frame[frame.kind == "transfer"].assign(adaptation="coral", uar=0.99)
    return pd.concat([frame.assign(adaptation="none"), noise], ignore_index=True)


def test_shift_vs_drop_monotone_relation_gives_rho_one():
    pairs = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
    distance = dict(zip(pairs, [0.05, 0.1, 0.2, 0.3, 0.4, 0.5]))
    shift = pd.DataFrame(
        [
            dict(
                feature_set="egemaps",
                source=s,
                target=t,
                mmd2=d,
                pad=1.0,
                prior_tvd=0.0,
                class_conditional_mmd2=-d,
            )  # fmt: skip
            for (a, b), d in distance.items()
            for s, t in ((a, b), (b, a))
        ]
    )
    drop = {(s, t): 0.1 + d for (s, t), d in zip(shift[["source", "target"]].apply(tuple, axis=1),
                                               shift.mmd2)}  # fmt: skip
    drops = drops_from_results(_results(drop))
    assert len(drops) == 12
    assert drops["within_uar"].to_numpy() == pytest.approx(0.8)
    assert drops.set_index(["source", "target"])["drop"][("c", "d")] == pytest.approx(0.6)
    table = shift_vs_drop(shift, drops, n_boot=200).set_index("distance")
    assert table.loc["mmd2", "spearman_rho"] == pytest.approx(1.0)
    assert table.loc["mmd2", ["ci_low", "ci_high"]].tolist() == pytest.approx([1.0, 1.0])
    assert table.loc["class_conditional_mmd2", "spearman_rho"] == pytest.approx(-1.0)
    assert table.loc["mmd2", "n_directions"] == 12 and table.loc["mmd2", "n_pairs"] == 6
    # A constant distance has no rank correlation (not a fake zero).
    assert np.isnan(table.loc["pad", "spearman_rho"])


def test_frechet_ranks_the_drop_where_pad_is_saturated():
    pairs = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
    frechet = dict(zip(pairs, [0.5, 1.0, 2.0, 3.0, 4.0, 5.0]))
    # Every pair separable (PAD 2) and equally far by MMD²; only the Fréchet distance varies.
    shift = pd.DataFrame(
        [
            {"feature_set": "egemaps", "source": s, "target": t, "frechet": f, "pad": 2.0}
            for (a, b), f in frechet.items()
            for s, t in ((a, b), (b, a))
        ]
    ).assign(mmd2=0.4, prior_tvd=0.0, class_conditional_mmd2=0.1)
    drops = drops_from_results(
        _results({(r.source, r.target): 0.05 * r.frechet for r in shift.itertuples()})
    )
    table = shift_vs_drop(shift, drops, n_boot=200).set_index("distance")
    assert table.loc["frechet", "spearman_rho"] == pytest.approx(1.0)
    assert np.isnan(table.loc["pad", "spearman_rho"])  # saturated: no ranking at all
    # A shift.csv written before the Fréchet column still correlates what it has.
    older = shift_vs_drop(shift.drop(columns="frechet"), drops, n_boot=200)
    assert "frechet" not in set(older.distance) and "mmd2" in set(older.distance)


def test_cli_on_feature_tables_with_results(tmp_path, monkeypatch):
    import paraser.reports.shift as shift_report

    drawn: list[list[str]] = []
    draw_panel = shift_report._panel

    def spy(ax, values, labels, *rest):
        drawn.append(list(labels))
        return draw_panel(ax, values, labels, *rest)

    monkeypatch.setattr(shift_report, "_panel", spy)
    # Not alphabetical: the figures follow the order the corpora were named in.
    offsets = {"z": 2.7, "w": 0.0, "y": 1.5, "x": 0.6}
    corpora = [
        _write_table_corpus(tmp_path / name, _features(80, seed=i, loudness_shift=o),
                            _labels({"angry": 20, "happy": 20, "neutral": 20, "sad": 20}))
        for i, (name, o) in enumerate(offsets.items())
    ]  # fmt: skip
    out = tmp_path / "shift"
    args = ["shift", "--corpora", ",".join(map(str, corpora)), "--features", "egemaps",
            "--out", str(out), "--permutations", "50", "--n-boot", "200", "-j", "1"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for name in ("shift.csv", "shift_features.csv", "shift_families.csv", "class_priors.csv"):
        assert (out / name).is_file()
    assert not (out / "shift_vs_drop.csv").exists()  # no results yet: no correlation
    shift = pd.read_csv(out / "shift.csv")
    assert len(shift) == 12 and set(shift.top_family) == {"energy"}
    assert "Domain shift" in (out / "shift.md").read_text()
    header = next(line for line in (out / "shift.md").read_text().splitlines() if "| pair" in line)
    assert "PAD" in header and "Fréchet" in header
    assert set(shift.pad_unit) == {"speaker"} and (shift.frechet > 0).all()
    assert (out / "figures" / "shift_egemaps.png").stat().st_size > 1000
    assert drawn and all(labels == ["z", "w", "y", "x"] for labels in drawn)

    # A transfer run whose drop is a monotone function of the measured MMD².
    results = tmp_path / "results"
    results.mkdir()
    drop = {(r.source, r.target): 0.05 + r.mmd2 for r in shift.itertuples()}
    _results(drop).to_csv(results / "results.csv", index=False)
    second = runner.invoke(app, [*args, "--results", str(results)])
    assert second.exit_code == 0, second.output
    assert "MMD² vs UAR drop: Spearman ρ = 1.00" in second.output
    table = pd.read_csv(out / "shift_vs_drop.csv").set_index("distance")
    assert table.loc["mmd2", "spearman_rho"] == pytest.approx(1.0)
    assert np.isfinite(table.loc["frechet", "spearman_rho"])
    assert (out / "drops.csv").is_file()
    assert "Does shift predict the transfer drop?" in (out / "shift.md").read_text()


def test_cli_end_to_end_and_report_regenerates(tone_corpus, tmp_path):
    corpora = [tone_corpus(n, per_label=3, speakers=("s1", "s2")) for n in ("alpha", "beta")]
    out, cache = tmp_path / "run", str(tmp_path / "cache")
    common = ["--corpora", ",".join(map(str, corpora)), "--features", "egemaps",
              "--out", str(out), "--cache-dir", cache, "-j", "2"]  # fmt: skip
    matrix = runner.invoke(app, ["transfer-matrix", *common, "--folds", "2"])
    assert matrix.exit_code == 0, matrix.output
    result = runner.invoke(app, ["shift", *common, "--permutations", "20", "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    assert "Domain shift per corpus pair" in result.output and "alpha" in result.output
    assert (out / "shift_vs_drop.csv").is_file()  # results.csv of the same folder is used
    priors = pd.read_csv(out / "class_priors.csv")
    assert set(priors.corpus) == {"alpha", "beta"} and (priors.n == 6).all()

    (out / "shift.md").unlink()
    report = runner.invoke(app, ["report", str(out), "--n-boot", "100"])
    assert report.exit_code == 0, report.output
    assert "Domain shift between corpora" in (out / "shift.md").read_text()
    assert (out / "figures" / "shift_egemaps.png").is_file()
    for name in ("report.md", "report.html"):
        text = (out / name).read_text()
        assert text.count("Domain shift between corpora") == 1
    # Regenerating again replaces the section rather than adding a second one.
    again = runner.invoke(app, ["shift", *common, "--permutations", "20", "--n-boot", "100"])
    assert again.exit_code == 0
    assert (out / "report.html").read_text().count("Domain shift between corpora") == 1
