"""Few-shot target curves in the report: UAR vs shots, shots to the ceiling, paired tests.

Reads ``fewshot.csv`` / ``fewshot_predictions.parquet`` (written by
:func:`paraser.experiments.fewshot.write_few_shot`) and writes

* ``fewshot_curves.csv`` - one row per configuration x direction x strategy x
  shots: mean UAR over draws with a speaker-cluster bootstrap CI (test speakers
  resampled; every draw is one evaluation), plus ``average`` rows over the
  single-source directions (replicates averaged, so the CI is of the mean);
* ``fewshot_to_ceiling.csv`` - the fewest shots per class at which a strategy
  reaches 80 % and 90 % of the ceiling (target-only on the whole adaptation pool,
  same test speakers); empty where the largest shot count does not reach it;
* ``fewshot_tests.csv`` - each strategy against target-only at every shot count,
  paired on the same test utterances (cluster bootstrap CI, normal-approximation
  p-value, Holm-adjusted over every row);
* ``figures/fewshot_<config>.png`` and a section in ``report.md`` / ``report.html``.
"""

from __future__ import annotations

import base64
import html
import os
import re
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from paraser.reports.document import Section
from paraser.reports.stats import holm
from paraser.results import (
    FEWSHOT_CURVE_TABLE_FILE,
    FEWSHOT_MARKDOWN_FILE,
    FEWSHOT_PREDICTIONS_FILE,
    FEWSHOT_TESTS_FILE,
    FEWSHOT_TO_CEILING_FILE,
    REPORT_MARKDOWN_FILE,
    has_results,
    load_results,
    read_config,
    write_figure,
    write_table_output,
    write_text_output,
)

AVERAGE = "average"
CONFIG_KEYS = ["feature_set", "classifier", "adaptation"]
DIRECTION_KEYS = [*CONFIG_KEYS, "source", "target"]
FRACTIONS = (0.8, 0.9)
_START, _END = "<!-- paraser:fewshot:start -->", "<!-- paraser:fewshot:end -->"
_STRATEGY_ORDER = ["zero-shot", "target-only", "pooled", "feature-augment", "ceiling"]

if TYPE_CHECKING:  # matplotlib only when figures are drawn
    from paraser.reports.document import FigureImages


def _unit_weights(units: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Row 0 all ones (the point estimate), then ``n_boot`` multinomial resamples of units.

    Seeded by the unit ids, so every strategy of a direction gets the same resamples
    (paired replicates).
    """
    rng = np.random.default_rng([seed, zlib.crc32("\x1f".join(units.tolist()).encode())])
    n = len(units)
    draws = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    return np.vstack([np.ones((1, n)), draws])


def _replicates(group: pd.DataFrame, units: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean-over-draws UAR under each row of ``weights`` (units: test speakers).

    Predictions are reduced to per draw x speaker x class counts first, so a
    resample costs a small matrix product whatever the number of utterances; a
    class with no weight in a draw is skipped, as the UAR of a split lacking it.
    """
    classes, class_index = np.unique(group["y_true"].astype(str), return_inverse=True)
    draws, draw_index = np.unique(group["fold"].to_numpy(), return_inverse=True)
    unit_index = np.searchsorted(units, group["speaker"].astype(str).to_numpy())
    correct = (group["y_true"].astype(str) == group["y_pred"].astype(str)).to_numpy(float)
    shape = (len(draws), len(units), len(classes))
    totals, hits = np.zeros(shape), np.zeros(shape)
    np.add.at(totals, (draw_index, unit_index, class_index), 1.0)
    np.add.at(hits, (draw_index, unit_index, class_index), correct)
    weighted_totals = np.einsum("bu,duk->bdk", weights, totals)
    weighted_hits = np.einsum("bu,duk->bdk", weights, hits)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        recall = np.where(weighted_totals > 0, weighted_hits / weighted_totals, np.nan)
        return np.nanmean(np.nanmean(recall, axis=2), axis=1)


def direction_replicates(
    predictions: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0
) -> dict[tuple, dict[tuple, tuple[np.ndarray, int, int]]]:
    """Direction -> (strategy, shots) -> (replicates, draws, test speakers); row 0 the estimate.

    Test speakers are resampled (a cluster bootstrap); every draw is one evaluation.
    """
    result = {}
    for key, direction in predictions.groupby(DIRECTION_KEYS, sort=True):
        units = np.unique(direction["speaker"].astype(str).to_numpy())
        weights = _unit_weights(units, n_boot, seed)
        result[key] = {
            (strategy, int(shots)): (
                _replicates(group, units, weights),
                group["fold"].nunique(),
                group["speaker"].nunique(),
            )
            for (strategy, shots), group in direction.groupby(["strategy", "shots"], sort=True)
        }
    return result


def _interval(replicates: np.ndarray) -> tuple[float, float]:
    finite = replicates[1:][np.isfinite(replicates[1:])]
    if not len(finite):
        return float("nan"), float("nan")
    low, high = np.quantile(finite, [0.025, 0.975])
    return float(low), float(high)


def _single_source(direction: tuple) -> bool:
    return "+" not in direction[len(CONFIG_KEYS)]


def curve_table(predictions: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Mean UAR over draws with a cluster-bootstrap CI, per direction and on average."""
    replicates = direction_replicates(predictions, n_boot=n_boot, seed=seed)
    rows, pooled = [], {}
    for direction, cells in replicates.items():
        for (strategy, shots), (reps, n_draws, n_units) in cells.items():
            low, high = _interval(reps)
            rows.append(
                {
                    **dict(zip(DIRECTION_KEYS, direction)), "strategy": strategy, "shots": shots,
                    "uar": float(reps[0]), "ci_low": low, "ci_high": high, "n_draws": n_draws,
                    "n_test_speakers": n_units, "n_directions": 1,
                }
            )  # fmt: skip
            if _single_source(direction):
                config = (*direction[: len(CONFIG_KEYS)], strategy, shots)
                pooled.setdefault(config, []).append((reps, n_draws, n_units))
    for config, members in sorted(pooled.items()):
        # Directions are independent samples: averaging their replicates bootstraps the mean.
        reps = np.nanmean(np.vstack([m[0] for m in members]), axis=0)
        low, high = _interval(reps)
        rows.append(
            {
                **dict(zip([*CONFIG_KEYS, "strategy", "shots"], config)),
                "source": AVERAGE, "target": AVERAGE, "uar": float(reps[0]),
                "ci_low": low, "ci_high": high, "n_draws": max(m[1] for m in members),
                "n_test_speakers": sum(m[2] for m in members), "n_directions": len(members),
            }
        )  # fmt: skip
    columns = [*DIRECTION_KEYS, "strategy", "shots", "uar", "ci_low", "ci_high", "n_draws"]
    return pd.DataFrame(rows, columns=[*columns, "n_test_speakers", "n_directions"])


def shots_to_ceiling(curves: pd.DataFrame) -> pd.DataFrame:
    """Fewest shots per class reaching 80 % / 90 % of the ceiling, per direction and strategy.

    A strategy that adds shots to the source starts from the zero-shot point, so
    it needs 0 shots where zero-shot transfer already reaches the fraction.
    """
    rows = []
    for key, group in curves.groupby(DIRECTION_KEYS, sort=True):
        by = {(r.strategy, r.shots): r.uar for r in group.itertuples(index=False)}
        ceiling, zero = by.get(("ceiling", -1), np.nan), by.get(("zero-shot", 0), np.nan)
        shots = sorted({int(s) for s in group.shots if s > 0})
        for strategy in ("target-only", "pooled", "feature-augment"):
            curve = [(0, zero)] if strategy != "target-only" else []
            curve += [(k, by[(strategy, k)]) for k in shots if (strategy, k) in by]
            row = {
                **dict(zip(DIRECTION_KEYS, key)), "strategy": strategy, "ceiling": ceiling,
                "zero_shot": zero, "max_shots": max(shots, default=0),
                "uar_at_max": curve[-1][1] if curve else np.nan,
            }  # fmt: skip
            for fraction in FRACTIONS:
                reached = [k for k, u in curve if u >= fraction * ceiling]
                row[f"shots_{round(fraction * 100)}"] = min(reached) if reached else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def paired_tests(predictions: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each shot strategy minus target-only at every shot count, on the same utterances.

    Paired: both UARs are recomputed under the same speaker resamples.  Average
    rows pool the single-source directions.  p: two-sided normal approximation of
    the bootstrap difference; ``p_holm`` adjusts over every row.
    """
    replicates = direction_replicates(predictions, n_boot=n_boot, seed=seed)
    rows, pooled = [], {}

    def add(label: dict, strategy: str, a: np.ndarray, b: np.ndarray) -> None:
        difference = a - b
        low, high = _interval(difference)
        se = float(np.nanstd(difference[1:]))
        if se > 0:
            p = float(2 * norm.sf(abs(difference[0]) / se))
        else:
            p = 1.0 if difference[0] == 0 else 0.0
        rows.append(
            {
                **label, "strategy": strategy, "uar": float(a[0]), "uar_target_only": float(b[0]),
                "difference": float(difference[0]), "ci_low": low, "ci_high": high, "p": p,
            }
        )  # fmt: skip

    for direction, cells in replicates.items():
        shots = sorted({k for _, k in cells if k > 0})
        for k in shots:
            if ("target-only", k) not in cells:
                continue
            baseline = cells[("target-only", k)][0]
            for strategy in ("pooled", "feature-augment"):
                if (strategy, k) not in cells:
                    continue
                label = {**dict(zip(DIRECTION_KEYS, direction)), "shots": k}
                add(label, strategy, cells[(strategy, k)][0], baseline)
                if _single_source(direction):
                    config = (*direction[: len(CONFIG_KEYS)], k, strategy)
                    pooled.setdefault(config, []).append((cells[(strategy, k)][0], baseline))
    for (*config, k, strategy), members in sorted(pooled.items()):
        label = {**dict(zip(CONFIG_KEYS, config)), "source": AVERAGE, "target": AVERAGE}
        a = np.nanmean(np.vstack([m[0] for m in members]), axis=0)
        b = np.nanmean(np.vstack([m[1] for m in members]), axis=0)
        add({**label, "shots": k}, strategy, a, b)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_holm"] = holm(table["p"].to_numpy())
    significant = (table.p_holm < 0.05) & ((table.ci_low > 0) | (table.ci_high < 0))
    table["verdict"] = np.where(
        significant, np.where(table.difference > 0, "better", "worse"), "no difference"
    )
    return table


# --- presentation ----------------------------------------------------------------------------


def _config_name(key) -> str:
    feature_set, classifier, adaptation = key
    suffix = "" if adaptation == "none" else f", adapted: {adaptation}"
    return f"{feature_set} + {classifier}{suffix}"


def _stem(key) -> str:
    return "fewshot_" + re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(key))


def curve_figure(curves: pd.DataFrame, title: str) -> FigureImages:
    """UAR vs shots per direction (and the average): strategies with CIs, references dashed."""
    from paraser.reports import plots

    plt = plots.plt
    panels = list(dict.fromkeys(zip(curves.source, curves.target)))
    panels.sort(key=lambda p: (p[0] == AVERAGE, "+" in p[0], p))
    columns = min(5, len(panels))
    n_rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        n_rows, columns, figsize=(3.0 * columns, 2.5 * n_rows), squeeze=False, sharey=True
    )
    colours = {"target-only": "tab:blue", "pooled": "tab:orange", "feature-augment": "tab:green"}
    for ax, (source, target) in zip(axes.ravel(), panels):
        group = curves[(curves.source == source) & (curves.target == target)]
        shots = sorted(k for k in group.shots.unique() if k > 0)
        positions = {k: i + 1 for i, k in enumerate(shots)}
        zero = group[group.strategy == "zero-shot"]
        ceiling = group[group.strategy == "ceiling"]
        for strategy, colour in colours.items():
            line = group[group.strategy == strategy].sort_values("shots")
            x = [positions[k] for k in line.shots]
            y, low, high = list(line.uar), list(line.ci_low), list(line.ci_high)
            if strategy != "target-only" and len(zero):
                x, y = [0, *x], [zero.uar.iloc[0], *y]
                low, high = [zero.ci_low.iloc[0], *low], [zero.ci_high.iloc[0], *high]
            ax.plot(x, y, marker="o", ms=3, color=colour, label=strategy)
            ax.fill_between(x, low, high, color=colour, alpha=0.15, linewidth=0)
        if len(zero):
            ax.axhline(zero.uar.iloc[0], color="grey", ls="--", lw=1, label="zero-shot")
        if len(ceiling):
            ax.axhline(ceiling.uar.iloc[0], color="black", ls=":", lw=1, label="ceiling")
        ax.set_xticks([0, *positions.values()], ["0", *[str(k) for k in shots]])
        name = "average over directions" if source == AVERAGE else f"{source} → {target}"
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("UAR")
    axes[0, 0].legend(fontsize=6, loc="lower right")
    fig.suptitle(f"Few-shot target curves: {title} (x: labelled target utterances per class)")
    fig.tight_layout()
    return plots.render(fig)


def _with_grid_within(table: pd.DataFrame, results_dir: Path) -> pd.DataFrame:
    """Add ``within_grid``: the target's within-corpus UAR on the run's diagonal (its own
    protocol, all speakers), beside the held-out-speaker ceiling the fractions use."""
    if table.empty or not has_results(results_dir):
        return table
    results = load_results(results_dir)
    within = results[
        (results.kind == "within")
        & (results.normalisation == "train")
        & (results.augmentation == "none")
    ]
    means = within.groupby(["feature_set", "classifier", "target"]).uar.mean()
    table = table.copy()
    table["within_grid"] = [
        means.get((r.feature_set, r.classifier, r.target), np.nan)
        for r in table.itertuples(index=False)
    ]
    # Average rows: the mean over the single-source directions they average.
    single = table[(table.source != AVERAGE) & ~table.source.str.contains("+", regex=False)]
    average = single.groupby([*CONFIG_KEYS, "strategy"]).within_grid.mean()
    is_average = table.source == AVERAGE
    table.loc[is_average, "within_grid"] = [
        average.get((r.feature_set, r.classifier, r.adaptation, r.strategy), np.nan)
        for r in table[is_average].itertuples(index=False)
    ]
    return table


def _formatted_to_ceiling(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.copy()
    for fraction in FRACTIONS:
        column = f"shots_{round(fraction * 100)}"
        shown[column] = [
            f">{m}" if pd.isna(v) else str(int(v))
            for v, m in zip(shown[column], shown["max_shots"])
        ]
    shown = shown.drop(columns=["max_shots", *CONFIG_KEYS])
    for column in ("ceiling", "zero_shot", "uar_at_max", "within_grid"):
        if column in shown:
            shown[column] = shown[column].round(3)
    return shown.rename(
        columns={"shots_80": "shots to 80% of ceiling", "shots_90": "shots to 90% of ceiling"}
    )


def _formatted_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Average curve of one configuration: strategies as rows, shots as columns, UAR [CI]."""
    average = curves[curves.source == AVERAGE].copy()
    average["cell"] = [
        f"{u:.3f} [{lo:.3f}, {hi:.3f}]"
        for u, lo, hi in zip(average.uar, average.ci_low, average.ci_high)
    ]
    average["shots"] = average.shots.map(lambda k: "pool" if k < 0 else str(int(k)))
    wide = average.pivot(index="strategy", columns="shots", values="cell")
    order = sorted(wide.columns, key=lambda s: (s == "pool", int(s) if s != "pool" else 0))
    wide = wide.reindex(index=[s for s in _STRATEGY_ORDER if s in wide.index], columns=order)
    return wide.fillna("–").reset_index()


def _formatted_tests(tests: pd.DataFrame) -> pd.DataFrame:
    shown = tests.drop(columns=CONFIG_KEYS).copy()
    for column in ("uar", "uar_target_only", "difference", "ci_low", "ci_high"):
        shown[column] = shown[column].round(3)
    for column in ("p", "p_holm"):
        shown[column] = shown[column].map(lambda p: f"{p:.2g}")
    return shown


def headline(curves: pd.DataFrame, to_ceiling: pd.DataFrame, tests: pd.DataFrame) -> list[str]:
    """Sentences per configuration: average shots to the ceiling, and where shots do not help."""
    sentences = []
    for key, group in to_ceiling.groupby(CONFIG_KEYS, sort=True):
        average = group[group.source == AVERAGE]
        parts = []
        for row in average.itertuples(index=False):
            reach = [
                f"{'>' + str(row.max_shots) if pd.isna(v) else int(v)} for {round(f * 100)} %"
                for f, v in zip(FRACTIONS, (row.shots_80, row.shots_90))
            ]
            parts.append(f"{row.strategy} {', '.join(reach)}")
        if len(average):
            first = average.iloc[0]
            directions = int(_select(curves, key).n_directions.max())
            sentences.append(
                f"{_config_name(key)}, averaged over {directions} directions: ceiling "
                f"{first.ceiling:.3f}, zero-shot {first.zero_shot:.3f}; shots per class to reach "
                f"the ceiling's fraction: {'; '.join(parts)}."
            )
        config_tests = _select(tests, key)
        direction_tests = config_tests[config_tests.source != AVERAGE]
        for strategy in ("pooled", "feature-augment"):
            rows = direction_tests[direction_tests.strategy == strategy]
            if rows.empty:
                continue
            counts = rows.verdict.value_counts()
            sentences.append(
                f"{_config_name(key)}: {strategy} vs target-only over {len(rows)} direction x shot "
                f"cells - better in {counts.get('better', 0)}, worse in {counts.get('worse', 0)}, "
                f"no difference in {counts.get('no difference', 0)} (Holm-adjusted, paired)."
            )
        single = group[(group.source != AVERAGE) & (group.strategy != "target-only")]
        unhelped = single[single.uar_at_max <= single.zero_shot + 0.01]
        if len(unhelped):
            sentences.append(
                f"{_config_name(key)}: shots did not lift UAR above zero-shot transfer for "
                + ", ".join(
                    f"{r.strategy} {r.source} → {r.target}"
                    for r in unhelped.itertuples(index=False)
                )
                + f" (at {int(single.max_shots.max())} shots per class)."
            )
    return sentences


def _blocks(directory: Path, curves, to_ceiling, tests) -> list[tuple[str, object]]:
    from paraser.corpora.tasks import label_statement

    config = read_config(directory)
    plan = config.get("few_shot", {})
    protocol = (
        f"Each target's speakers are split into an adaptation pool and held-out test speakers "
        f"({plan.get('test_share', 0.5):.0%} of speakers held out; {plan.get('draws', '?')} seeded "
        "draws, each a fresh split shared by every source); k labelled utterances per class are "
        "drawn from the pool (nested across k) and every model is tested on the held-out speakers "
        f"only. Strategies: target-only (the shots alone), pooled (source + shots, shot weight "
        f"{plan.get('shot_weight', 1.0)}), feature-augment (Daumé III 2007). Zero-shot: the source "
        "model without shots; ceiling: target-only on the whole pool, the within-corpus "
        "reference on the same held-out speakers (within_grid: the run's diagonal, its own "
        "protocol, for comparison). Curves can end above the ceiling: it is estimated on few "
        "speakers too. UAR [95% CI]: speaker-cluster bootstrap over test speakers, draws "
        "averaged; averages over single-source directions."
    )
    statement = label_statement(config.get("label_map"))
    blocks: list[tuple[str, object]] = [("h2", "Few-shot target curves"), ("p", protocol)]
    if statement:
        blocks.append(("p", statement))
    blocks.append(("list", headline(curves, to_ceiling, tests)))
    for key, group in curves.groupby(CONFIG_KEYS, sort=True):
        name = _config_name(key)
        blocks += [
            ("h3", f"{name}: average curve"),
            ("table", _formatted_curves(group)),
            ("figure", (_stem(key), name)),
            ("h3", f"{name}: shots needed to reach 80 % / 90 % of the ceiling"),
            ("table", _formatted_to_ceiling(_select(to_ceiling, key))),
        ]
        selected = _select(tests, key)
        if len(selected):
            blocks += [
                ("h3", f"{name}: each strategy against target-only (paired)"),
                ("table", _formatted_tests(selected)),
            ]
        if statement:
            blocks.append(("p", statement))
    return blocks


def _select(frame: pd.DataFrame, key) -> pd.DataFrame:
    if frame.empty:
        return frame
    mask = np.ones(len(frame), dtype=bool)
    for column, value in zip(CONFIG_KEYS, key):
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def _render(blocks, figures: dict[str, FigureImages]) -> tuple[str, str]:
    """(Markdown, HTML) of the section."""
    markdown, page = [], []
    for kind, payload in blocks:
        if kind in ("h2", "h3"):
            markdown.append(f"{'#' * int(kind[1])} {payload}\n")
            page.append(f"<{kind}>{html.escape(str(payload))}</{kind}>")
        elif kind == "p":
            markdown.append(f"{payload}\n")
            page.append(f"<p>{html.escape(str(payload))}</p>")
        elif kind == "list":
            markdown.append("\n".join(f"- {item}" for item in payload) + "\n")
            page.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in payload) + "</ul>")
        elif kind == "table":
            markdown.append(payload.to_markdown(index=False) + "\n")
            page.append(payload.to_html(index=False, border=0, classes="t", escape=True))
        elif kind == "figure":
            stem, name = payload
            markdown.append(f"![Few-shot curves: {name}](figures/{stem}.png)\n")
            data = base64.b64encode(figures[stem].screen).decode()
            image = f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
            page.append(f"<figure>{image}</figure>")
    return "\n".join(markdown), "\n".join(page)


def fewshot_section(
    directory: str | Path, *, n_boot: int = 1000, seed: int = 0
) -> tuple[list[Path], Section | None]:
    """Write the few-shot tables, figures and ``fewshot.md``; return them and the report
    section (nothing without few-shot predictions)."""
    directory = Path(directory)
    if not (directory / FEWSHOT_PREDICTIONS_FILE).is_file():
        return [], None
    predictions = pd.read_parquet(directory / FEWSHOT_PREDICTIONS_FILE)
    if predictions.empty:
        return [], None
    curves = curve_table(predictions, n_boot=n_boot, seed=seed)
    to_ceiling = _with_grid_within(shots_to_ceiling(curves), directory)
    tests = paired_tests(predictions, n_boot=n_boot, seed=seed)
    written = [
        write_table_output(directory, name, frame)
        for name, frame in (
            (FEWSHOT_CURVE_TABLE_FILE, curves),
            (FEWSHOT_TO_CEILING_FILE, to_ceiling),
            (FEWSHOT_TESTS_FILE, tests),
        )
    ]
    figures = {}
    for key, group in curves.groupby(CONFIG_KEYS, sort=True):
        figures[_stem(key)] = curve_figure(group, _config_name(key))
        images = figures[_stem(key)]
        written.append(write_figure(directory, _stem(key), images.png, images.pdf))
    markdown, section_html = _render(_blocks(directory, curves, to_ceiling, tests), figures)
    written.append(write_text_output(directory, FEWSHOT_MARKDOWN_FILE, markdown + "\n"))
    return written, Section((_START, _END), markdown, section_html)


def write_study_report(out: str | Path, parts: list[str | Path]) -> list[Path]:
    """One report over several results folders (e.g. an arousal and a categorical run).

    Each part's few-shot section (``paraser report`` writes it) is included under its
    task, figure links rewritten to the part's folder; ``fewshot_to_ceiling.csv`` and
    ``fewshot_curves.csv`` are concatenated with a ``task`` column.
    """
    from paraser.corpora.tasks import label_statement

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# paraser few-shot study", ""]
    tables: dict[str, list[pd.DataFrame]] = {
        FEWSHOT_TO_CEILING_FILE: [],
        FEWSHOT_CURVE_TABLE_FILE: [],
    }
    for part in map(Path, parts):
        section = part / FEWSHOT_MARKDOWN_FILE
        if not section.is_file():
            raise ValueError(
                f"{part}: no {FEWSHOT_MARKDOWN_FILE}; run 'paraser report {part}' first"
            )
        config = read_config(part)
        label_map = config.get("label_map", {})
        task = label_map.get("task", "categorical: " + ", ".join(label_map.get("classes", [])))
        corpora = ", ".join(config.get("corpora", {}))
        relative = Path(os.path.relpath(part.resolve(), out.resolve())).as_posix()
        body = section.read_text().replace("](figures/", f"]({relative}/figures/")
        body = re.sub(r"^## Few-shot target curves", "### Few-shot target curves", body, flags=re.M)
        lines += [f"## Task: {task} ({corpora})", "", f"Results folder: `{relative}`.", ""]
        statement = label_statement(label_map)
        if statement:
            lines += [statement, ""]
        lines += [body.replace("\n### ", "\n#### "), ""]
        for name in tables:
            if (part / name).is_file():
                tables[name].append(pd.read_csv(part / name).assign(task=task))
    written = [
        write_table_output(out, name, pd.concat(frames, ignore_index=True))
        for name, frames in tables.items()
        if frames
    ]
    return [*written, write_text_output(out, REPORT_MARKDOWN_FILE, "\n".join(lines))]
