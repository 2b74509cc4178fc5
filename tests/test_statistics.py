"""The statistics hold their promises on clustered data (small versions of make validate-stats)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paraser.reports import chance_test, holm, paired_difference
from paraser.reports.stats import unit_statistic
from paraser.reports.validation import (
    Scenario,
    chance_type_one,
    coverage,
    holm_power,
    main,
    null_cell,
    paired_type_one,
)


def test_chance_test_holds_its_level_where_utterance_resampling_does_not():
    strongly_clustered = Scenario(concentration=0.3)
    rng = np.random.default_rng(0)
    cells = [null_cell(rng, strongly_clustered) for _ in range(150)]
    by_speaker = np.mean([chance_test(c).p_value < 0.05 for c in cells])
    by_utterance = np.mean([chance_test(c, cluster=None).p_value < 0.05 for c in cells])
    assert by_speaker <= 0.09
    # Treating a speaker's utterances as independent rejects a true null far too often.
    assert by_utterance >= 0.15


def test_paired_test_level_and_ci_coverage_small():
    assert paired_type_one(150, seed=1) <= 0.10
    assert 0.88 <= coverage(150, seed=2) <= 1.0
    assert chance_type_one(150, seed=3) <= 0.10


def test_strong_cell_survives_holm_over_500_cells():
    assert holm_power(5, cells=500) == 1.0
    # The permutation p this replaces could not: its floor 1/1001 over 125 cells.
    assert holm([1 / 1001] * 125)[0] > 0.1


def test_chance_uar_counts_predictions_of_absent_classes():
    frame = pd.DataFrame(
        {
            "speaker": ["a", "b"] * 10,
            "utterance": [f"u{i}" for i in range(20)],
            "y_true": ["x"] * 10 + ["y"] * 10,
            # 90 % of predictions in a class the test set lacks
            "y_pred": ["z"] * 18 + ["y"] * 2,
        }
    )
    chance = unit_statistic(frame, "chance_uar")
    assert chance.value == pytest.approx((0 + 2 / 20) / 2)
    assert unit_statistic(frame, "uar").value == pytest.approx(0.1)


def test_a_perfect_cell_with_one_test_unit_each_fold_is_certain():
    frame = pd.DataFrame(
        {
            "fold": np.repeat(np.arange(4), 10),
            "speaker": np.repeat([f"s{i}" for i in range(4)], 10),
            "utterance": [f"u{i}" for i in range(40)],
            "y_true": np.tile(["x", "y"], 20),
        }
    ).assign(y_pred=lambda f: f.y_true)
    result = chance_test(frame)
    assert result.uar == 1.0 and result.p_value < 1e-6
    same = paired_difference(frame, frame)
    assert same.difference == 0 and same.p_value == 1.0


def test_validation_command_prints_every_check(capsys):
    code = main(["--n", "40"])
    out = capsys.readouterr().out
    assert "type-I error, test against chance" in out and "95% CI coverage" in out
    assert "checks within target" in out and code in (0, 1)
