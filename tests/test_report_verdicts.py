"""The inversion verdict needs evidence; a one-feature-set report still writes readable tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_reports import fabricate_run
from typer.testing import CliRunner

from paraser.cli import app
from paraser.reports.export import COMPARISON_COLUMNS
from paraser.reports.inversion import KNOWN_DIMENSIONS, published_inversion_holds


def _summary(uars: dict[str, tuple[float, float]], tau: float, ci: tuple[float, float]):
    """An inversion summary (the columns the verdict reads) for one scope."""
    return pd.DataFrame(
        [
            {
                "scope": "svm",
                "feature_set": name,
                "dimensions": KNOWN_DIMENSIONS.get(name),
                "within_uar": within,
                "transfer_uar": transfer,
                "kendall_tau": tau,
                "tau_ci_low": ci[0],
                "tau_ci_high": ci[1],
            }
            for name, (within, transfer) in uars.items()
        ]
    )


INVERTED = {"compare": (0.8, 0.3), "is10": (0.7, 0.35), "egemaps": (0.6, 0.4)}


def test_inversion_holds_only_when_the_tau_ci_excludes_zero():
    sure = published_inversion_holds(_summary(INVERTED, -1.0, (-1.0, -0.33)), "svm")
    assert sure.startswith("The published inversion holds here (svm)")
    # The same point estimates with a tau CI spanning 0: the data do not show it.
    unsure = published_inversion_holds(_summary(INVERTED, -1.0, (-1.0, 0.33)), "svm")
    assert "holds" not in unsure and "is not shown" in unsure and "not shown" in unsure
    no_ci = published_inversion_holds(_summary(INVERTED, -1.0, (np.nan, np.nan)), "svm")
    assert "is not shown" in no_ci


def test_agreeing_rankings_do_not_hold():
    agreeing = {"compare": (0.8, 0.5), "is10": (0.7, 0.4), "egemaps": (0.6, 0.3)}
    verdict = published_inversion_holds(_summary(agreeing, 1.0, (0.33, 1.0)), "svm")
    assert "does not hold" in verdict and "rankings agree" in verdict


@pytest.mark.parametrize("names", [["egemaps"], ["egemaps", "compare"]])
def test_fewer_than_three_feature_sets_give_no_verdict(names):
    tau = np.nan if len(names) == 1 else -1.0
    verdict = published_inversion_holds(_summary({n: INVERTED[n] for n in names}, tau, (tau, tau)))
    assert "cannot be assessed" in verdict
    assert "holds" not in verdict and "nan" not in verdict


def test_one_feature_set_report_writes_readable_comparisons(tmp_path):
    out = fabricate_run(tmp_path / "run", {"egemaps": {"within": 0.7, "transfer": 0.4}})
    result = CliRunner().invoke(app, ["report", str(out), "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    comparisons = pd.read_csv(out / "comparisons.csv")
    assert comparisons.empty and list(comparisons.columns) == list(COMPARISON_COLUMNS)
    markdown = (out / "report.md").read_text()
    assert "cannot be assessed" in markdown and "tau = nan" not in markdown


def test_comparison_columns_are_documented(tmp_path):
    accuracy = {
        "egemaps": {"within": 0.7, "transfer": 0.4},
        "is10": {"within": 0.6, "transfer": 0.3},
    }
    out = fabricate_run(tmp_path / "run", accuracy, corpora=("a", "b"), n=60)
    result = CliRunner().invoke(app, ["report", str(out), "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    comparisons = pd.read_csv(out / "comparisons.csv")
    assert len(comparisons) and list(comparisons.columns) == list(COMPARISON_COLUMNS)
