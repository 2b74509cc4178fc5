"""UAR matrices and summaries, read from the tidy ``results.csv`` of a run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

COLLAPSE_MARK = "†"


def load_results(results_dir: str | Path) -> pd.DataFrame:
    path = Path(results_dir) / "results.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no results.csv; run 'paraser transfer-matrix' first")
    return pd.read_csv(path)


def cell_summary(results: pd.DataFrame) -> pd.DataFrame:
    """One row per feature set x classifier x source x target: mean/sd UAR, collapse."""
    keys = ["feature_set", "classifier", "source", "target", "kind", "protocol"]
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


def uar_matrix(results: pd.DataFrame, feature_set: str, classifier: str) -> pd.DataFrame:
    """Rows: source corpus; columns: target corpus; values: mean UAR."""
    cells = cell_summary(results)
    cells = cells[(cells.feature_set == feature_set) & (cells.classifier == classifier)]
    matrix = cells.pivot(index="source", columns="target", values="uar")
    order = sorted(set(matrix.index) | set(matrix.columns))
    return matrix.reindex(index=order, columns=order)


def _formatted_matrix(results: pd.DataFrame, feature_set: str, classifier: str) -> pd.DataFrame:
    cells = cell_summary(results)
    cells = cells[(cells.feature_set == feature_set) & (cells.classifier == classifier)]
    text = cells.assign(
        cell=[
            f"{u:.3f}" + (COLLAPSE_MARK if c else "")
            for u, c in zip(cells["uar"], cells["collapsed"])
        ]
    ).pivot(index="source", columns="target", values="cell")
    order = sorted(set(text.index) | set(text.columns))
    return text.reindex(index=order, columns=order).fillna("–")


def protocol_statement(results: pd.DataFrame) -> str:
    within = sorted(results.loc[results.kind == "within", "protocol"].unique())
    seeds = sorted(int(s) for s in results["seed"].unique())
    return (
        f"Diagonal: within-corpus UAR, protocol {', '.join(within) or 'none'}, mean over folds "
        f"and seeds {seeds}. Off-diagonal: trained on all of the source (rows), tested on all of "
        f"the target (columns), on the classes both share. {COLLAPSE_MARK} marks a collapsed "
        "result (90% or more of predictions in one class): not a finding."
    )


def write_matrices(results_dir: str | Path) -> list[Path]:
    """Write ``matrix_<set>_<classifier>.csv/.md`` and ``summary.md``; return paths."""
    results_dir = Path(results_dir)
    results = load_results(results_dir)
    written: list[Path] = []
    sections = ["# Within-corpus and transfer UAR", "", protocol_statement(results), ""]
    config_path = results_dir / "config.json"
    if config_path.is_file():
        notes = json.loads(config_path.read_text()).get("notes", [])
        if notes:
            sections += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    pairs = results[["feature_set", "classifier"]].drop_duplicates().itertuples(index=False)
    for feature_set, classifier in pairs:
        stem = f"matrix_{feature_set}_{classifier}"
        numeric = uar_matrix(results, feature_set, classifier)
        numeric.round(4).to_csv(results_dir / f"{stem}.csv")
        text = _formatted_matrix(results, feature_set, classifier)
        markdown = text.to_markdown(stralign="right")
        (results_dir / f"{stem}.md").write_text(
            f"# UAR: {feature_set} + {classifier}\n\n{protocol_statement(results)}\n\n{markdown}\n"
        )
        written += [results_dir / f"{stem}.csv", results_dir / f"{stem}.md"]
        sections += [f"## {feature_set} + {classifier}", "", markdown, ""]
    collapsed = cell_summary(results).query("collapsed")
    if len(collapsed):
        sections += ["## Collapsed results", ""]
        for row in collapsed.itertuples(index=False):
            sections.append(
                f"- {row.feature_set} + {row.classifier}, {row.source} -> {row.target}: "
                f"{row.dominant_share:.0%} of predictions in one class (UAR {row.uar:.3f})"
            )
        sections.append("")
    summary = results_dir / "summary.md"
    summary.write_text("\n".join(sections))
    return [*written, summary]
