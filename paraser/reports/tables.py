"""UAR matrices and summaries, read from the tidy ``results.csv`` of a run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from paraser.corpora.tasks import label_statement
from paraser.results import (
    CONFIG_COLUMNS,
    FACTOR_DEFAULTS,
    MATRIX_PREFIX,
    NORMALISATION_GAINS_FILE,
    SUMMARY_FILE,
    has_config,
    load_reference,
    load_results,
    read_config,
    write_table_output,
    write_text_output,
)

COLLAPSE_MARK = "†"
#: A within-corpus cell whose folds share speakers between training and test
#: (stratified k-fold, chosen or a fallback): optimistic, never averaged with
#: speaker-independent cells.
OPTIMISTIC_MARK = "‡"

#: The within-corpus scoring rule in one clause, under every table (the full rule is
#: ``within_scoring`` in config.json).
SCORING_NOTE = (
    "scored once per seed over the pooled out-of-fold predictions (every utterance predicted "
    "once, by a model that never saw its speaker under a speaker-independent protocol; "
    "per-fold UARs in folds.csv are the spread only), mean over seeds"
)

SPEAKER_INDEPENDENT = "speaker-independent"
SPEAKERS_SHARED = "speakers shared (optimistic)"
TRANSFER = "transfer"


def protocol_family(kind: str, protocol: str) -> str:
    """What a cell's number can be compared with: its protocol family.

    Within-corpus cells split by speaker (speaker k-fold, leave-one-speaker-out)
    are speaker-independent; stratified folds share speakers between training
    and test, which inflates UAR (URDU: 0.90 stratified against 0.61
    leave-one-speaker-out).  Summaries are computed per family.
    """
    if kind != "within":
        return TRANSFER
    return SPEAKERS_SHARED if str(protocol).startswith("stratified") else SPEAKER_INDEPENDENT


def protocol_families(cells: pd.DataFrame) -> pd.Series:
    """:func:`protocol_family` of every row of a table with ``kind`` and ``protocol`` columns."""
    families = [protocol_family(k, p) for k, p in zip(cells["kind"], cells["protocol"])]
    return pd.Series(families, index=cells.index, dtype=object)


def is_optimistic(kind: str, protocol: str) -> bool:
    return protocol_family(kind, protocol) == SPEAKERS_SHARED


def marks(collapsed: bool, optimistic: bool) -> str:
    """The footnote marks of one cell."""
    return (COLLAPSE_MARK if collapsed else "") + (OPTIMISTIC_MARK if optimistic else "")


class Condition(NamedTuple):
    """One experimental condition of a run (feature set, classifier and the level of each
    factor): one UAR matrix. Not a ``config.json`` record nor a TOML protocol config."""

    feature_set: str
    classifier: str
    normalisation: str = "train"
    adaptation: str = "none"
    augmentation: str = "none"

    def _factors(self) -> list[tuple[str, str]]:
        return [(k, getattr(self, k)) for k, d in FACTOR_DEFAULTS.items() if getattr(self, k) != d]

    @property
    def stem(self) -> str:
        """File stem: ``matrix_<set>_<classifier>[_<level>-<factor>...]``."""
        suffixes = {"normalisation": "norm", "adaptation": "adapt", "augmentation": "aug"}
        parts = [f"{level}-{suffixes[factor]}" for factor, level in self._factors()]
        stem = "_".join([MATRIX_PREFIX, self.feature_set, self.classifier, *parts])
        return re.sub(r"[^\w.+-]+", "-", stem)  # recipe names carry colons and equals signs

    @property
    def title(self) -> str:
        parts = [f"{level} {factor}" for factor, level in self._factors()]
        return f"{self.feature_set} + {self.classifier}" + "".join(f", {p}" for p in parts)

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of a results/cells/predictions table that belong to this configuration."""
        mask = pd.Series(True, index=frame.index)
        for column, value in self._asdict().items():
            mask &= frame[column] == value
        return frame[mask]


def baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows at the baseline level of every factor (where a run has it; else its first level)."""
    for factor, default in FACTOR_DEFAULTS.items():
        levels = list(dict.fromkeys(frame[factor]))
        if levels:
            frame = frame[frame[factor] == (default if default in levels else levels[0])]
    return frame


def conditions(results: pd.DataFrame) -> list[Condition]:
    """The configurations of a results table: baseline levels first, then in run order."""
    rows = results[CONFIG_COLUMNS].drop_duplicates().itertuples(index=False)
    configs = [Condition(*row) for row in rows]
    first = {c: i for i, c in reversed(list(enumerate(configs)))}

    def order(config: Condition) -> tuple:
        # Feature set and classifier as they first appear; the baseline level of each
        # factor before the others, which follow in the order the run lists them.
        seen = min(first[c] for c in configs if c[:2] == config[:2])
        levels = [getattr(config, f) != d for f, d in FACTOR_DEFAULTS.items()]
        return (seen, *levels, first[config])

    return sorted(configs, key=order)


def cell_summary(results: pd.DataFrame) -> pd.DataFrame:
    """One row per feature set x classifier x source x target: mean/sd UAR, collapse."""
    keys = [*CONFIG_COLUMNS, "source", "target", "kind", "protocol"]
    grouped = results.groupby(keys, sort=True)
    summary = grouped.agg(
        uar=("uar", "mean"),
        uar_sd=("uar", "std"),
        n_evaluations=("uar", "size"),
        chance=("chance", "first"),
        n_test=("n_test", "sum"),
        collapsed=("collapsed", "any"),
        dominant_share=("dominant_share", "max"),
    )
    return summary.reset_index()


def matrix_order(sources, targets, order=()) -> tuple[list[str], list[str]]:
    """Single corpora on both axes, in the same order; pooled sources as extra rows.

    ``order`` is the run's ``--corpora`` order (:func:`corpus_order`): corpora follow it, so
    a matrix reads as the command was written; corpora it does not name follow, sorted.
    """
    rank = {name: i for i, name in enumerate(order)}

    def key(name: str) -> tuple:
        return (rank.get(name, len(rank)), name)

    singles = sorted(set(targets) | (set(sources) & set(targets)), key=key)
    pooled = sorted(set(sources) - set(singles), key=key)
    return singles + pooled, singles


def corpus_order(config: dict) -> list[str]:
    """The corpora of a run in ``--corpora`` order, as ``config.json`` records them."""
    return list(config.get("corpora", {}))


def uar_matrix(results: pd.DataFrame, config: Condition, order=()) -> pd.DataFrame:
    """Rows: source corpus; columns: target corpus; values: mean UAR."""
    cells = config.select(cell_summary(results))
    matrix = cells.pivot(index="source", columns="target", values="uar")
    rows, columns = matrix_order(matrix.index, matrix.columns, order)
    return matrix.reindex(index=rows, columns=columns)


def _formatted_matrix(results: pd.DataFrame, config: Condition, order=()) -> pd.DataFrame:
    summary = cell_summary(results)
    cells = config.select(summary)
    if config.adaptation != "none":
        # An adapted configuration has no diagonal of its own: show the unadapted
        # within-corpus UAR there, in brackets, as the ceiling it is measured against.
        ceiling = config._replace(adaptation="none").select(summary)
        ceiling = ceiling[ceiling.kind == "within"]
        cells = pd.concat([cells, ceiling.assign(ceiling=True)], ignore_index=True)
    text = cells.assign(
        cell=[
            (f"({u:.3f})" if ceiling is True else f"{u:.3f}")
            + marks(c, is_optimistic(kind, protocol))
            for u, c, kind, protocol, ceiling in zip(
                cells["uar"], cells["collapsed"], cells["kind"], cells["protocol"],
                cells.get("ceiling", [None] * len(cells)),
            )
        ]
    ).pivot(index="source", columns="target", values="cell")  # fmt: skip
    rows, columns = matrix_order(text.index, text.columns, order)
    return text.reindex(index=rows, columns=columns).fillna("–")


#: A cell that reads as a number (a UAR, "0.860 [0.801, 0.912]†", "+0.012", "3 of 4", "–"):
#: its column is right-aligned in every format.
NUMERIC_CELL = re.compile(r"^\(?[-+−]?(\d|–$|<0\.)")


def is_numeric_column(values) -> bool:
    """True when every non-missing cell of a column reads as a number (or is '–')."""
    shown = [str(v) for v in values if not pd.isna(v)]
    return bool(shown) and all(NUMERIC_CELL.match(v) for v in shown)


def column_alignment(frame: pd.DataFrame) -> list[str]:
    """``"l"`` for text columns, ``"r"`` for numeric ones: one spec for LaTeX and Markdown."""
    return ["r" if is_numeric_column(frame[c]) else "l" for c in frame.columns]


def markdown_table(frame: pd.DataFrame, *, index: bool = False) -> str:
    """A pipe table as a paper prints it: text columns left-aligned, numeric ones right,
    floats with three decimals (0.860, never 0.86), strings exactly as given."""
    if index:
        frame = frame.reset_index()
    shown = frame.apply(
        lambda col: col.map(
            lambda v: "–" if pd.isna(v) else (f"{v:.3f}" if isinstance(v, float) else str(v))
        )
    )
    align = {"l": "left", "r": "right"}
    return shown.to_markdown(
        index=False,
        colalign=[align[a] for a in column_alignment(shown)],
        disable_numparse=True,
    )


def protocol_statement(results: pd.DataFrame) -> str:
    within = results.loc[results.kind == "within", ["protocol", "source"]].drop_duplicates()
    protocols = [
        f"{protocol} ({', '.join(sorted(group.source))})"
        + (f" {OPTIMISTIC_MARK}" if is_optimistic("within", protocol) else "")
        for protocol, group in within.groupby("protocol", sort=True)
    ]
    seeds = sorted(int(s) for s in results["seed"].unique())
    statement = (
        f"Diagonal: within-corpus UAR, protocol {'; '.join(protocols) or 'none'}, {SCORING_NOTE} "
        f"(seeds {seeds}). Off-diagonal: trained on all of the source (rows), tested on "
        f"all of the target (columns), on the classes both share. {COLLAPSE_MARK} marks a "
        "collapsed result (90% or more of predictions in one class): not a finding."
    )
    if any(is_optimistic("within", p) for p in within.protocol):
        statement += (
            f" {OPTIMISTIC_MARK} marks a within-corpus result whose folds share speakers between "
            "training and test (stratified): optimistic, not comparable with speaker-independent "
            "results, and never averaged with them."
        )
    if (results["adaptation"] != "none").any():
        statement += (
            " Adapted matrices (transductive: the adapter saw the target's unlabelled features) "
            "show the unadapted within-corpus UAR, the ceiling, in brackets on the diagonal."
        )
    if (results["augmentation"] != "none").any():
        statement += " Augmentation touches training rows only; every test utterance is original."
    return statement


def reference_comparison(results: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per corpus: the speaker-independent within UAR beside the stratified one.

    The difference is what sharing speakers between training and test adds
    (mostly speaker identification where speakers and labels are confounded).
    """
    if reference.empty:
        return pd.DataFrame()
    keys = [*CONFIG_COLUMNS, "source"]
    within = results[results.kind == "within"]
    independent = within.groupby(keys).agg(protocol=("protocol", "first"), uar=("uar", "mean"))
    shared = reference.groupby(keys).agg(
        stratified_protocol=("protocol", "first"), stratified_uar=("uar", "mean")
    )
    table = independent.join(shared, how="inner").reset_index()
    table["difference"] = table["stratified_uar"] - table["uar"]
    return table.rename(columns={"source": "corpus", "uar": "speaker_independent_uar"})


def reference_markdown(comparison: pd.DataFrame) -> list[str]:
    """The summary section of :func:`reference_comparison` (nothing when empty)."""
    if comparison.empty:
        return []
    return [
        "## Within-corpus: speaker-independent against stratified (speakers shared)",
        "",
        "The stratified cell shares speakers between training and test folds; the difference "
        "is the size of the speaker confound. It is shown for comparison only: the "
        "speaker-independent number is the within-corpus result and the ceiling of every "
        "transfer drop, gain and correlation.",
        "",
        markdown_table(comparison),
        "",
    ]


def write_matrices(results_dir: str | Path) -> list[Path]:
    """Write ``matrix_<set>_<classifier>.csv/.md`` and ``summary.md``; return paths."""
    results_dir = Path(results_dir)
    results = load_results(results_dir)
    written: list[Path] = []
    config = read_config(results_dir)
    order = corpus_order(config)
    # A task's mapping (arousal, valence) is stated with the protocol, under every table.
    statement = protocol_statement(results)
    if label_statement(config.get("label_map")):
        statement += " " + label_statement(config.get("label_map"))
    sections = ["# Within-corpus and transfer UAR", "", statement, ""]
    sections += reference_markdown(reference_comparison(results, load_reference(results_dir)))
    if has_config(results_dir):
        notes = config.get("notes", [])
        if notes:
            sections += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    for config in conditions(results):
        stem, title = config.stem, config.title
        numeric = uar_matrix(results, config, order)
        text = _formatted_matrix(results, config, order)
        markdown = markdown_table(text.rename_axis(index="source", columns=None), index=True)
        written += [
            write_table_output(results_dir, f"{stem}.csv", numeric.round(4), index=True),
            write_text_output(
                results_dir, f"{stem}.md", f"# UAR: {title}\n\n{statement}\n\n{markdown}\n"
            ),
        ]
        sections += [f"## {title}", "", markdown, "", statement, ""]
    gains = normalisation_gains(results)
    if len(gains):
        written.append(write_table_output(results_dir, NORMALISATION_GAINS_FILE, gains))
        sections += [
            "## Normalisation strategies: gain over training-set standardisation",
            "",
            "Mean UAR over cells; gain = strategy minus `train` on the same cells "
            "(corpus and speaker normalisation use unlabelled target statistics: transductive).",
            "",
            markdown_table(gains),
            "",
        ]
    collapsed = cell_summary(results).query("collapsed")
    if len(collapsed):
        sections += ["## Collapsed results", ""]
        for row in collapsed.itertuples(index=False):
            # The whole configuration: an adapted cell names the method that collapsed.
            condition = Condition(*(getattr(row, c) for c in CONFIG_COLUMNS))
            sections.append(
                f"- {condition.title}, {row.source} -> {row.target}: "
                f"{row.dominant_share:.0%} of predictions in one class (UAR {row.uar:.3f})"
            )
        sections.append("")
    return [*written, write_text_output(results_dir, SUMMARY_FILE, "\n".join(sections))]


def normalisation_gains(results: pd.DataFrame) -> pd.DataFrame:
    """Mean within and transfer UAR per strategy, and its gain over ``train``.

    Point estimates over cells without adaptation or augmentation; the paired
    gains with CIs of every factor are in the full report (``gains_*.csv``).
    """
    results = results[(results["adaptation"] == "none") & (results["augmentation"] == "none")]
    if results["normalisation"].nunique() < 2 or "train" not in set(results["normalisation"]):
        return pd.DataFrame()
    cells = cell_summary(results)
    cells["protocol_family"] = protocol_families(cells)
    keys = ["feature_set", "classifier", "source", "target", "kind"]
    base = cells[cells.normalisation == "train"].set_index(keys)["uar"]
    rows = []
    for (feature_set, classifier, normalisation, kind, family), group in cells.groupby(
        ["feature_set", "classifier", "normalisation", "kind", "protocol_family"]
    ):
        paired = group.set_index(keys)["uar"]
        common = paired.index.intersection(base.index)
        rows.append(
            {
                "feature_set": feature_set,
                "classifier": classifier,
                "normalisation": normalisation,
                "kind": kind,
                "protocol": family,
                "mean_uar": paired.loc[common].mean(),
                "gain_over_train": (paired.loc[common] - base.loc[common]).mean(),
                "cells_improved": int((paired.loc[common] > base.loc[common]).sum()),
                "cells": len(common),
            }
        )
    return pd.DataFrame(rows)
