"""Does the statistics module keep its promises on clustered data?  Simulations.

Speech corpora are clustered: a speaker's utterances share that speaker's
label balance and the model's tendencies on that voice.  Each scenario here
draws test sets of that shape, where the truth is known, and measures how often
:mod:`paraser.reports.stats` is wrong:

``chance``    type-I error of the test against chance: per speaker, labels and
              predictions follow independent speaker-specific distributions
              (Dirichlet tendencies), so predictions carry no information
``paired``    type-I error of the paired test: two systems of equal skill on
              the same utterances (per-speaker skill shared by both)
``coverage``  coverage of the UAR confidence interval: per-speaker skill drawn
              around a known population UAR
``holm``      power after Holm: one strong cell (UAR 0.8, 4 classes, 300
              utterances, 10 speakers) among null cells

``make validate-stats`` runs them large enough to quote; the unit tests run
them small.  Nothing here touches a corpus or a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from paraser.reports.stats import (
    chance_test,
    holm,
    paired_difference,
    uar_estimate,
)


@dataclass(frozen=True)
class Scenario:
    """The shape of a simulated test set."""

    speakers: int = 8
    utterances: int = 40
    classes: int = 4
    #: Dirichlet concentration of speaker tendencies (small: strongly clustered).
    concentration: float = 1.0


def _frame(speaker: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    names = np.array([f"c{i}" for i in range(int(max(y_true.max(), y_pred.max())) + 1)])
    return pd.DataFrame(
        {
            "speaker": [f"s{s}" for s in speaker],
            "utterance": [f"u{i}" for i in range(len(speaker))],
            "y_true": names[y_true],
            "y_pred": names[y_pred],
        }
    )


def _labels(rng: np.random.Generator, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Speaker of every utterance and labels drawn from per-speaker tendencies."""
    k, n = scenario.classes, scenario.utterances
    speaker = np.repeat(np.arange(scenario.speakers), n)
    tendencies = rng.dirichlet(np.full(k, scenario.concentration), size=scenario.speakers)
    y_true = np.concatenate([rng.choice(k, n, p=p) for p in tendencies])
    return speaker, y_true


def _skilled(rng, y_true: np.ndarray, skill: np.ndarray, k: int) -> np.ndarray:
    """Correct with probability ``skill`` per row, else a uniformly drawn wrong class."""
    correct = rng.random(len(y_true)) < skill
    wrong = (y_true + rng.integers(1, k, len(y_true))) % k
    return np.where(correct, y_true, wrong)


def null_cell(rng: np.random.Generator, scenario: Scenario = Scenario()) -> pd.DataFrame:
    """Predictions unrelated to labels, both clustered by speaker."""
    speaker, y_true = _labels(rng, scenario)
    k, n = scenario.classes, scenario.utterances
    tendencies = rng.dirichlet(np.full(k, scenario.concentration), size=scenario.speakers)
    y_pred = np.concatenate([rng.choice(k, n, p=q) for q in tendencies])
    return _frame(speaker, y_true, y_pred)


def skilled_cell(
    rng: np.random.Generator, scenario: Scenario, uar: float, spread: float = 20.0
) -> pd.DataFrame:
    """Predictions with per-speaker skill ~ Beta(mean ``uar``); population UAR = ``uar``."""
    speaker, y_true = _labels(rng, scenario)
    skill = rng.beta(uar * spread, (1 - uar) * spread, size=scenario.speakers)[speaker]
    return _frame(speaker, y_true, _skilled(rng, y_true, skill, scenario.classes))


def equal_pair(
    rng: np.random.Generator, scenario: Scenario, uar: float = 0.6, spread: float = 20.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two systems of equal skill on the same utterances (skill shared per speaker)."""
    speaker, y_true = _labels(rng, scenario)
    skill = rng.beta(uar * spread, (1 - uar) * spread, size=scenario.speakers)[speaker]
    a = _frame(speaker, y_true, _skilled(rng, y_true, skill, scenario.classes))
    b = _frame(speaker, y_true, _skilled(rng, y_true, skill, scenario.classes))
    return a, b


@dataclass(frozen=True)
class Check:
    """One validation line: what was measured, against which target."""

    check: str
    scenario: str
    simulations: int
    value: float
    low: float
    high: float

    @property
    def passed(self) -> bool:
        return self.low <= self.value <= self.high


def chance_type_one(n: int, scenario: Scenario = Scenario(), seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    return float(np.mean([chance_test(null_cell(rng, scenario)).p_value < 0.05
                          for _ in range(n)]))  # fmt: skip


def paired_type_one(n: int, scenario: Scenario = Scenario(), seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    rejections = [paired_difference(*equal_pair(rng, scenario)).p_value < 0.05 for _ in range(n)]
    return float(np.mean(rejections))


def coverage(
    n: int, scenario: Scenario = Scenario(), uar: float = 0.6, level: float = 0.95, seed: int = 0
) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n):
        estimate = uar_estimate(skilled_cell(rng, scenario, uar), level=level)
        hits += estimate.ci_low <= uar <= estimate.ci_high
    return hits / n


def holm_power(n: int, cells: int = 500, seed: int = 0) -> float:
    """Share of runs in which the strong cell is significant after Holm over ``cells`` cells.

    The null cells' p-values are uniform draws (the chance test's level is
    checked separately), so each run costs one strong cell.
    """
    rng = np.random.default_rng(seed)
    strong = Scenario(speakers=10, utterances=30, classes=4)
    significant = 0
    for _ in range(n):
        p_strong = chance_test(skilled_cell(rng, strong, 0.8)).p_value
        p = np.r_[p_strong, rng.random(cells - 1)]
        significant += holm(p)[0] < 0.05
    return significant / n


def validate(n: int = 1000, seed: int = 0) -> list[Check]:
    """Every check at ``n`` simulations, with the targets ``make validate-stats`` quotes."""
    clustered = Scenario()
    label = (
        f"{clustered.speakers} speakers x {clustered.utterances} utterances, "
        f"{clustered.classes} classes, Dirichlet({clustered.concentration:g}) tendencies"
    )
    strongly = Scenario(concentration=0.5)
    strong_label = label.replace("Dirichlet(1)", "Dirichlet(0.5)")
    few = Scenario(speakers=6, utterances=60)
    few_label = label.replace("8 speakers x 40", "6 speakers x 60")
    return [
        Check("type-I error, test against chance (alpha 0.05)", label, n,
              chance_type_one(n, clustered, seed), 0.035, 0.065),
        Check("type-I error, test against chance (alpha 0.05)", strong_label, n,
              chance_type_one(n, strongly, seed), 0.035, 0.065),
        Check("type-I error, test against chance (alpha 0.05)", few_label, n,
              chance_type_one(n, few, seed), 0.035, 0.065),
        Check("type-I error, paired test (alpha 0.05)", label, n,
              paired_type_one(n, clustered, seed), 0.035, 0.065),
        Check("95% CI coverage of UAR (population UAR 0.6)", label, n,
              coverage(n, clustered, seed=seed), 0.93, 0.97),
        Check("95% CI coverage of UAR (population UAR 0.6)", few_label, n,
              coverage(n, few, seed=seed), 0.93, 0.97),
        Check("strong cell significant after Holm over 500 cells",
              "UAR 0.8, 4 classes, 300 utterances, 10 speakers", max(n // 10, 20),
              holm_power(max(n // 10, 20), seed=seed), 0.99, 1.0),
    ]  # fmt: skip


def validation_table(checks: list[Check]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "check": [c.check for c in checks],
            "scenario": [c.scenario for c in checks],
            "simulations": [c.simulations for c in checks],
            "measured": [round(c.value, 4) for c in checks],
            "target": [f"[{c.low:g}, {c.high:g}]" for c in checks],
            "within target": ["yes" if c.passed else "NO" for c in checks],
        }
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m paraser.reports.validation [--n N]``: print the table; 1 if a check fails."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="simulations per check")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = validation_table(validate(args.n, args.seed))
    print(table.to_markdown(index=False))
    failed = int((table["within target"] != "yes").sum())
    print(f"\n{len(table) - failed} of {len(table)} checks within target")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
