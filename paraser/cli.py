"""The ``paraser`` command: a thin layer over :mod:`paraser.runs.transfer`."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from paraser import __version__
from paraser.cli_options import (
    BACKEND_OPTION,
    BOOT_OPTION,
    CACHE_OPTION,
    DEVICE_OPTION,
    FILE_COLUMN_HELP,
    FORCE_OPTION,
    JOBS_OPTION,
    JSON_OPTION,
    LABEL_COLUMN_HELP,
    MANIFESTS_OPTION,
    MODEL_OPTION,
    QUIET_OPTION,
    RESUME_OPTION,
    SCHEDULER_OPTION,
    SPEAKER_COLUMN_HELP,
    TASK_OPTION,
    default_jobs,
    without_type_metavars,
)

app = typer.Typer(
    help="Paralinguistic speech emotion recognition: extract features, run within-corpus and "
    "cross-corpus (transfer) experiments, report UAR tables.\n\nExit status: 0 done; 1 some "
    "files failed extraction (listed, and in failures.csv); 2 bad input (arguments, manifest, "
    "impossible experiment); 3 the cache cannot be written (read-only, disk full: what was kept "
    "and how to resume is said); 130 interrupted (finished work is kept).",
    no_args_is_help=True,
    add_completion=False,
)
corpus_app = typer.Typer(help="Register and inspect corpora.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

console = Console(stderr=True)
out_console = Console()

# Errors a user can fix: shown as one clear line, exit status 2.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, KeyError)
#: Exit status when the cache cannot be written (read-only, disk full).
EXIT_STORAGE = 3
#: Exit status after Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _integers(value: str, option: str) -> list[int]:
    """Comma-separated whole numbers of ``option``; anything else is a user error."""
    items = _split(value)
    bad = [item for item in items if not item.lstrip("-").isdigit()]
    if bad or not items:
        raise ValueError(
            f"{option} takes comma-separated whole numbers, e.g. {option} 0,1,2 "
            f"(got {value!r}{': not a number: ' + ', '.join(bad) if bad else ''})"
        )
    return [int(item) for item in items]


#: Without a terminal (a batch job, a pipe), a stage's progress is printed as a plain line
#: at least this often, and at every tenth of it.
PLAIN_PROGRESS_SECONDS = 10.0


def _plain_progress() -> Callable[[str, int, int], None]:
    """Progress as plain stderr lines ("extract emodb: 120/535"): a rich bar without a
    terminal prints only its final state, so a long batch job would look dead."""
    shown: dict[str, tuple[float, int]] = {}  # label -> (time, tenth) of its last line

    def update(label: str, done: int, total: int) -> None:
        now = time.monotonic()
        tenth = (10 * done // total) if total else 10
        last = shown.get(label)
        finished = done >= total
        if (
            last is None
            or (finished and last[1] < 11)
            or tenth > last[1]
            or now - last[0] >= PLAIN_PROGRESS_SECONDS
        ):
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)
            shown[label] = (now, 11 if finished else tenth)

    return update


@contextlib.contextmanager
def _progress(quiet: bool = False) -> Iterator:
    """A progress callback ``(label, done, total)``: a rich bar per stage on a terminal,
    plain periodic lines without one, nothing with ``--quiet``."""
    if quiet:
        yield lambda label, done, total: None
        return
    if not console.is_terminal:
        yield _plain_progress()
        return
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total or 1)
            bar.update(tasks[label], completed=done if total else 1, total=total or 1)

        yield update


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        console.print(f"[bold red]error:[/] {escape(str(message))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except RuntimeError as exc:
        # Imported here: only a run that touched the cache can raise it (keeps --help fast).
        from paraser.features.store import CacheStorageError

        if not isinstance(exc, CacheStorageError):
            raise
        console.print(f"[bold red]cache error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_STORAGE) from None
    except KeyboardInterrupt:
        console.print(
            "[yellow]interrupted:[/] finished files are kept in the cache; rerun to resume"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _version(value: bool) -> None:
    if value:
        out_console.print(f"paraser {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    file_column: str | None = typer.Option(None, "--file-column", help=FILE_COLUMN_HELP),
    label_column: str | None = typer.Option(None, "--label-column", help=LABEL_COLUMN_HELP),
    speaker_column: str | None = typer.Option(None, "--speaker-column", help=SPEAKER_COLUMN_HELP),
) -> None:
    """paraser command line.

    --file-column, --label-column and --speaker-column (before the command) apply to every
    manifest CSV the command reads that has those columns, e.g.
    paraser --label-column emotion extract nkululeko_data.csv
    """
    from paraser.corpora.manifest import column_names

    # Held for the whole command, released when it ends.
    ctx.with_resource(column_names(file_column, label_column, speaker_column))


def _label_space(classes: str, label_map: Path | None, task: str):
    """The LabelMap (categorical) or Task (arousal, valence, a file) a command runs on."""
    from paraser.runs.experiment import resolve_label_space

    return resolve_label_space(_split(classes), label_map, task)


def _feature_specs(features: str, model: str | None, device: str) -> list:
    """Feature-set names resolved with the SSL options (openSMILE sets ignore them)."""
    from paraser.features import resolve_feature_set

    return [resolve_feature_set(f, model=model, device=device) for f in _split(features)]


@app.command()
def extract(
    corpora: list[str] = typer.Argument(..., help="Registered corpus names or manifest CSVs."),
    features: str = typer.Option(
        "egemaps",
        "--features",
        "-f",
        help="Comma-separated feature sets: egemaps, is09, is10, compare, prosody, a path to an "
        "openSMILE .conf, or a frozen speech encoder xlsr[:LAYER|all][:mean|meanstd] "
        "(also wavlm, hubert, whisper-enc, ssl with --model).",
    ),
    model: str | None = MODEL_OPTION,
    device: str = DEVICE_OPTION,
    cache_dir: Path = CACHE_OPTION,
    jobs: int = JOBS_OPTION,
    strict: bool = typer.Option(False, "--strict", help="Stop at the first file that fails."),
    backend: str = BACKEND_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    manifests_dir: Path | None = MANIFESTS_OPTION,
) -> None:
    """Extract feature sets into the cache; files already extracted are skipped.

    Exit status: 0 all files extracted, 1 some files failed (listed, and saved in
    failures.csv beside the cache), 2 bad arguments or manifest, 3 the cache cannot be
    written (read-only, disk full; rows stored before it are kept), 130 interrupted.
    """
    from paraser.features import ExtractionError
    from paraser.runs.extraction import extract as run_extract

    with _user_errors(), _progress() as progress:
        try:
            reports = run_extract(
                corpora,
                _feature_specs(features, model, device),
                cache_dir=cache_dir,
                jobs=jobs,
                strict=strict,
                manifests_dir=manifests_dir,
                progress=lambda n, d, t: progress(f"extract {n}", d, t),
                backend=backend,
                scheduler=scheduler,
            )
        except ExtractionError as exc:
            console.print(f"[bold red]stopped (--strict):[/] {escape(str(exc))}")
            raise typer.Exit(1) from None
    table = Table(title="Extraction")
    for column in ("corpus", "files", "feature set", "extracted", "cached", "failed", "seconds"):
        table.add_column(
            column, justify="right" if column not in ("corpus", "feature set") else "left"
        )
    failed_any = False
    for report in reports:
        for name, extracted in report.extracted.items():
            failed = report.failures.query("feature_set in (@name, '*')").shape[0]
            failed_any |= failed > 0
            table.add_row(
                report.corpus,
                str(report.n_files),
                name,
                str(extracted),
                str(report.cached[name]),
                str(failed),
                f"{report.seconds:.1f}",
            )
    out_console.print(table)
    for report in reports:
        for row in report.failures.head(20).itertuples(index=False):
            # soft_wrap: a long path stays on one line, whole for copy and grep.
            console.print(f"[yellow]failed:[/] {escape(row.reason)}", soft_wrap=True)
        if len(report.failures) > 20:
            console.print(f"[yellow]… {len(report.failures) - 20} more in failures.csv[/]")
        if report.identical:
            examples = "; ".join(f"{a} = {b}" for a, b in report.identical[:3])
            console.print(
                f"[yellow]note:[/] {report.corpus}: {len(report.identical)} file(s) hold the "
                f"same audio as another file (extracted once): {escape(examples)}",
                soft_wrap=True,
            )
    if failed_any:
        raise typer.Exit(1)


@app.command("transfer-matrix")
def transfer_matrix(
    corpora: str = typer.Option(..., "--corpora", "-c", help="Comma-separated corpora."),
    features: str = typer.Option(
        "egemaps",
        "--features",
        "-f",
        help="Comma-separated feature sets (see extract), e.g. egemaps,xlsr:12.",
    ),
    model: str | None = MODEL_OPTION,
    device: str = DEVICE_OPTION,
    classifiers: str = typer.Option(
        "svm", "--classifiers", help="Comma-separated: svm, rf, mlp, svm-approx (large corpora)."
    ),
    out: Path = typer.Option(Path("reports/transfer"), "--out", "-o", help="Results folder."),
    protocol: str = typer.Option(
        "auto",
        "--protocol",
        help="Within-corpus protocol: auto (speaker-independent k-fold; leave-one-speaker-out "
        "where a corpus has fewer speakers than folds), speaker, loso, stratified. Within "
        "cells are scored once over the pooled out-of-fold predictions; a fold whose "
        "training side lacks a class stays speaker-independent and is named in its row.",
    ),
    folds: int = typer.Option(5, "--folds", min=2, help="Within-corpus folds."),
    stratified_reference: str = typer.Option(
        "auto",
        "--stratified-reference",
        help="Also run a stratified k-fold within cell (speakers shared: optimistic) beside "
        "the speaker-independent one, to show the size of a speaker-label confound: auto "
        "(corpora whose speakers and labels are confounded, Cramér's V > 0.6), all, none. "
        "Written to within_reference.csv and summary.md; never used as the ceiling.",
    ),
    normalisation: str = typer.Option(
        "train",
        "--normalisation",
        help="Comma-separated strategies run side by side: train (standardise on training "
        "data), corpus (per-corpus, transductive), speaker (per-speaker).",
    ),
    adapt: str = typer.Option(
        "none",
        "--adapt",
        help="Comma-separated unsupervised adaptation methods for transfer, run side by side: "
        "none, corpus-norm, speaker-norm, coral, importance (density-ratio sample weights), "
        "prior-em (EM label-shift correction). All but none read the target's unlabelled "
        "features (transductive); the within diagonal is never adapted.",
    ),
    augment: str = typer.Option(
        "none",
        "--augment",
        help="Comma-separated augmentation recipes of the training side, run side by side: "
        "none, noise:snr=5-20, gain:-6..6, tempo:0.9-1.1, pitch:-2..2, channel:tel, "
        "channel:lowpass=4000, reverb (needs pyroomacoustics); chain transforms with '+', "
        "e.g. noise:snr=10-30+channel:tel. Test utterances are never augmented.",
    ),
    augment_copies: int = typer.Option(
        2, "--augment-copies", min=1, help="Augmented copies per training utterance."
    ),
    pool: list[str] = typer.Option(
        [], "--pool", help="Multi-source training: corpora joined with '+', e.g. emodb+emovo."
    ),
    loco: bool = typer.Option(
        False, "--loco", help="Also train on all corpora but one, test on the one left out."
    ),
    seeds: str = typer.Option("0", "--seeds", help="Comma-separated seeds (e.g. 0,1,2)."),
    classes: str = typer.Option(
        "anger,happiness,neutral,sadness",
        "--classes",
        help="Shared label space (canonical names).",
    ),
    label_map: Path | None = typer.Option(
        None, "--label-map", help='JSON {"classes": [...], "map": {"raw": "class"}}.'
    ),
    task: str = TASK_OPTION,
    target_shots: str = typer.Option(
        "",
        "--target-shots",
        help="Few-shot target curves, e.g. 0,5,10,20,50 (labelled target utterances per class): "
        "each target's speakers are split into an adaptation pool and held-out test speakers "
        "(--shot-draws seeded draws); writes fewshot.csv beside results.csv.",
    ),
    shot_draws: int = typer.Option(5, "--shot-draws", min=1, help="Random draws per shot count."),
    shot_weight: float = typer.Option(
        1.0, "--shot-weight", min=0.0, help="Weight of each target shot in pooled training."
    ),
    shot_test_share: float = typer.Option(
        0.5, "--shot-test-share", min=0.1, max=0.9, help="Share of target speakers held out."
    ),
    cache_dir: Path = CACHE_OPTION,
    jobs: int = JOBS_OPTION,
    manifests_dir: Path | None = MANIFESTS_OPTION,
    backend: str = BACKEND_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    tune: bool = typer.Option(
        False,
        "--tune",
        help="Nested hyperparameter search per model (SVM C/gamma, RF depth/features, MLP "
        "size/alpha), speaker-grouped, inside each training fold and each source only; the "
        "chosen values go to results.csv (params).",
    ),
    force: bool = FORCE_OPTION,
    resume: bool = RESUME_OPTION,
    quiet: bool = QUIET_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Within-corpus UAR on the diagonal and every source -> target transfer off it.

    The run is recorded as an experiment in OUT/config.json: `paraser run OUT/config.json`
    repeats it exactly."""
    from paraser.runs.experiment import experiment_from_mapping

    with _user_errors():
        experiment = experiment_from_mapping(
            {
                "corpora": _split(corpora),
                "features": _split(features),
                "model": model,
                "device": device,
                "classifiers": _split(classifiers),
                "out": str(out),
                "protocol": protocol,
                "folds": folds,
                "stratified_reference": stratified_reference,
                "normalisation": _split(normalisation),
                "adapt": _split(adapt),
                "augment": _split(augment),
                "augment_copies": augment_copies,
                "pool": list(pool),
                "loco": loco,
                "seeds": _integers(seeds, "--seeds"),
                "classes": _split(classes),
                "label_map": str(label_map) if label_map else None,
                "task": task,
                "target_shots": _integers(target_shots, "--target-shots")
                if target_shots.strip()
                else [],
                "shot_draws": shot_draws,
                "shot_weight": shot_weight,
                "shot_test_share": shot_test_share,
                "tune": tune,
                "cache_dir": str(cache_dir),
                "manifests_dir": str(manifests_dir) if manifests_dir else None,
                "jobs": jobs,
                "backend": backend,
                "scheduler": scheduler,
            },
            source="paraser transfer-matrix",
        )
    _run_and_show(experiment, force=force, resume=resume, quiet=quiet, as_json=as_json)


def _run_and_show(experiment, *, force: bool, resume: bool, quiet: bool, as_json: bool) -> None:
    from paraser.runs.transfer import run_experiment

    with _user_errors():
        with _progress(quiet) as progress:
            run = run_experiment(experiment, progress=progress, force=force, resume=resume)
    _show_run(run, quiet=quiet, as_json=as_json)


@app.command("run")
def run_file(
    experiment: Path = typer.Argument(
        ...,
        help="Experiment file: TOML (keys of `paraser transfer-matrix`, see the README) or a "
        "results folder's config.json, which repeats that run.",
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Results folder (default: the file's `out`)."
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", min=1, help="Parallel workers (default: the file's `jobs`)."
    ),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="Feature cache folder (default: the file's `cache_dir`)."
    ),
    check: bool = typer.Option(
        False, "--check", help="Validate the file and print the experiment; run nothing."
    ),
    force: bool = FORCE_OPTION,
    resume: bool = RESUME_OPTION,
    quiet: bool = QUIET_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run an experiment file: every key named as the transfer-matrix option it stands for,
    with the same defaults. Unknown or missing keys, wrong types and misspelt names are
    reported with their line before anything runs."""
    from paraser.runs.experiment import read_experiment

    with _user_errors():
        chosen = read_experiment(
            experiment,
            out=str(out) if out else None,
            jobs=jobs,
            cache_dir=str(cache_dir) if cache_dir else None,
        )
        if chosen.jobs is None:
            chosen = dataclasses.replace(chosen, jobs=default_jobs())
    if check:
        out_console.print(escape(chosen.to_toml()), end="")
        return
    _run_and_show(chosen, force=force, resume=resume, quiet=quiet, as_json=as_json)


def _show_run(run, *, quiet: bool = False, as_json: bool = False) -> None:
    """The matrices, notes and where the run went; ``as_json``: one summary object on
    stdout instead (for scripts); ``quiet``: only the closing line."""
    from paraser.reports.console import print_matrices
    from paraser.results import paraser_outputs

    failures = sum(len(r.failures) for r in run.extraction)
    if as_json:
        summary = {
            "out": str(run.out),
            "files": [str(p.relative_to(run.out)) for p in paraser_outputs(run.out)],
            "cells": len(run.results),
            "within_cells": int((run.results["kind"] == "within").sum()),
            "transfer_cells": int((run.results["kind"] == "transfer").sum()),
            "extraction_failures": failures,
            "notes": list(run.notes),
        }
        print(json.dumps(summary, indent=2))
        return
    if not quiet:
        print_matrices(run.out, out_console)
        for note in run.notes:
            console.print(f"[yellow]note:[/] {escape(note)}")
    if failures:
        console.print(f"[yellow]{failures} file(s) failed extraction; see failures.csv[/]")
    notes = f"; {len(run.notes)} note(s) in summary.md" if quiet and run.notes else ""
    out_console.print(
        f"Results written to [bold]{run.out}[/] (results.csv, summary.md, matrices){notes}"
    )


@app.command()
def report(
    results_dir: Path = typer.Argument(..., help="A transfer-matrix results folder."),
    n_boot: int = BOOT_OPTION,
) -> None:
    """Regenerate every output of a results folder from results.csv, predictions.parquet
    and config.json: matrices, bootstrap CIs, tests, the feature-ranking inversion,
    Markdown, LaTeX (tables.tex) and a self-contained report.html."""
    from paraser.reports import write_report
    from paraser.reports.console import print_matrices

    with _user_errors():
        written = write_report(results_dir, n_boot=n_boot)
    print_matrices(results_dir, out_console)
    out_console.print(f"Wrote {len(written)} file(s) to {results_dir}")


@app.command("fewshot-report")
def fewshot_report(
    out: Path = typer.Argument(..., help="Folder of the combined report."),
    parts: list[Path] = typer.Argument(..., help="Results folders with --target-shots runs."),
) -> None:
    """One few-shot report over several results folders (e.g. arousal and categorical runs,
    each already through 'paraser report'): report.md, fewshot_to_ceiling.csv and
    fewshot_curves.csv with a task column."""
    from paraser.reports.fewshot import write_study_report

    with _user_errors():
        written = write_study_report(out, parts)
    out_console.print(f"Wrote {len(written)} file(s) to {out}")


@app.command()
def reproduce(
    config: str = typer.Argument(
        ...,
        help="A packaged reproduction (paper_syed2020, multilingual, pooled_ravdess_savee) "
        "or a TOML path.",
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Results folder (default: config)."),
    cache_dir: Path = CACHE_OPTION,
    jobs: int = JOBS_OPTION,
    n_boot: int = BOOT_OPTION,
    force: bool = FORCE_OPTION,
    resume: bool = RESUME_OPTION,
) -> None:
    """Run a published protocol and write its full report, published numbers beside ours.

    Without the data it prints where to obtain them and where to put them, and
    exits 0 (nothing to do is not an error for `make reproduce-paper`).
    """
    from paraser.reports.console import print_matrices, published_table
    from paraser.runs.reproduce import reproduce as run_reproduction

    with _user_errors(), _progress() as progress:
        run = run_reproduction(
            config,
            out=out,
            cache_dir=cache_dir,
            jobs=jobs,
            n_boot=n_boot,
            progress=progress,
            force=force,
            resume=resume,
        )
    if run.missing:
        out_console.print(escape(run.missing), soft_wrap=True)
        return
    print_matrices(run.out, out_console)
    for note in run.notes:
        out_console.print(escape(note), soft_wrap=True)
    if run.published is not None:
        out_console.print(published_table(run.name, run.published))
    out_console.print(f"Report written to [bold]{run.out}[/] (report.html, report.md, tables.tex)")


@app.command()
def demo(
    data: Path = typer.Option(Path("demo_data"), "--data", help="Where to write the demo corpora."),
    out: Path = typer.Option(Path("reports/demo"), "--out", "-o", help="Results folder."),
    features: str = typer.Option(
        "egemaps,is09", "--features", "-f", help="Comma-separated feature sets (see extract)."
    ),
    classifiers: str = typer.Option(
        "svm,rf,mlp", "--classifiers", help="Comma-separated classifiers (see transfer-matrix)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic corpora."),
    speakers: int = typer.Option(5, "--speakers", min=2, help="Speakers per corpus."),
    per_class: int = typer.Option(5, "--per-class", min=1, help="Clips per speaker and class."),
    cache_dir: Path = CACHE_OPTION,
    jobs: int = JOBS_OPTION,
    force: bool = FORCE_OPTION,
    resume: bool = RESUME_OPTION,
    quiet: bool = QUIET_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Generate synthetic corpora and run the full pipeline on them."""
    from paraser.datasets.synthetic import SyntheticSpec, generate_corpora
    from paraser.runs.transfer import transfer_matrix as run_matrix

    if not quiet:
        console.print(f"Generating synthetic corpora in {data} (seed {seed}) …")
    spec = SyntheticSpec(
        speakers_per_corpus=speakers, utterances_per_speaker_and_class=per_class, seed=seed
    )
    manifests = generate_corpora(data, spec)
    with _user_errors(), _progress(quiet) as progress:
        run = run_matrix(
            [str(p) for p in manifests.values()],
            _split(features),
            _split(classifiers),
            out=out,
            cache_dir=cache_dir,
            normalisations=("train", "corpus"),
            jobs=jobs,
            progress=progress,
            force=force,
            resume=resume,
        )
    _show_run(run, quiet=quiet, as_json=as_json)


@app.command(
    help="How far apart corpora are, where the shift lives, and whether it predicts transfer "
    "failure.\n\nFor every corpus pair and feature set: MMD² with a permutation p-value, proxy "
    "A-distance (speakers held out), the Fréchet distance between Gaussian fits, the most "
    "shifted features and descriptor families (SMD, KS), class priors and "
    "their total-variation distance, and class-conditional MMD². Writes shift.csv, "
    "shift_features.csv, shift_families.csv, class_priors.csv, shift.md, shift.html and "
    "figures/shift_<set>.png; with a transfer-matrix results.csv (--results, or one in --out) "
    "also drops.csv and shift_vs_drop.csv: Spearman rho between each distance and the UAR drop, "
    "with a bootstrap CI over corpus pairs. Missing features are extracted first; "
    "'paraser report DIR' regenerates the section.\n\nExample: paraser shift --corpora "
    "emodb,emovo,urdu,turev --features egemaps,is10 --results reports/mine --out reports/mine"
)
def shift(
    corpora: str = typer.Option(..., "--corpora", "-c", help="Comma-separated corpora (2+)."),
    features: str = typer.Option(
        "egemaps", "--features", "-f", help="Comma-separated feature sets (see extract)."
    ),
    model: str | None = MODEL_OPTION,
    device: str = DEVICE_OPTION,
    out: Path = typer.Option(Path("reports/shift"), "--out", "-o", help="Output folder."),
    results: Path | None = typer.Option(
        None,
        "--results",
        help="A transfer-matrix folder whose results.csv gives the UAR drop (default: --out, "
        "when it holds one). Adds shift_vs_drop.csv: does shift predict failure?",
    ),
    classes: str = typer.Option(
        "anger,happiness,neutral,sadness", "--classes", help="Shared label space (canonical)."
    ),
    label_map: Path | None = typer.Option(
        None, "--label-map", help='JSON {"classes": [...], "map": {"raw": "class"}}.'
    ),
    task: str = TASK_OPTION,
    permutations: int = typer.Option(200, "--permutations", min=0, help="MMD permutations."),
    max_samples: int = typer.Option(
        500, "--max-samples", min=10, help="MMD subsample per corpus (seeded; PAD/SMD use all)."
    ),
    n_boot: int = typer.Option(2000, "--n-boot", min=100, help="Bootstrap resamples of rho."),
    seed: int = typer.Option(0, "--seed", help="Seed of subsamples, permutations, bootstrap."),
    cache_dir: Path = CACHE_OPTION,
    jobs: int = JOBS_OPTION,
    manifests_dir: Path | None = MANIFESTS_OPTION,
) -> None:
    """Domain-shift diagnostics between corpora (help text above)."""
    from paraser.reports.console import shift_table
    from paraser.runs.shift import shift_report

    with _user_errors():
        mapping = _label_space(classes, label_map, task)
        with _progress() as progress:
            run = shift_report(
                _split(corpora),
                _feature_specs(features, model, device),
                out=out,
                results=results,
                cache_dir=cache_dir,
                label_map=mapping,
                manifests_dir=manifests_dir,
                jobs=jobs,
                progress=progress,
                n_permutations=permutations,
                max_samples=max_samples,
                n_boot=n_boot,
                seed=seed,
            )
    out_console.print(shift_table(run.tables.shift))
    if run.correlations is not None:
        from paraser.reports.shift import correlation_sentence

        for row in run.correlations.itertuples(index=False):
            out_console.print(escape(correlation_sentence(row)), soft_wrap=True)
    for note in run.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    out_console.print(f"Shift report written to [bold]{run.out}[/] (shift.md, shift.csv, …)")


@app.command()
def train(
    corpora: list[str] = typer.Argument(..., help="Training corpora (pooled): names or CSVs."),
    out: Path = typer.Option(..., "--out", "-o", help="Model file to write (.skops)."),
    features: str = typer.Option("egemaps", "--features", "-f", help="One feature set."),
    classifier: str = typer.Option("svm", "--classifier", help="svm, rf, mlp, svm-approx."),
    seed: int = typer.Option(0, "--seed", help="Seed of the classifier."),
    tune: bool = typer.Option(
        False, "--tune", help="Nested speaker-grouped hyperparameter search first."
    ),
    classes: str = typer.Option(
        "anger,happiness,neutral,sadness", "--classes", help="Label space (canonical names)."
    ),
    label_map: Path | None = typer.Option(
        None, "--label-map", help='JSON {"classes": [...], "map": {"raw": "class"}}.'
    ),
    cache_dir: Path = CACHE_OPTION,
    jobs: int = JOBS_OPTION,
    manifests_dir: Path | None = MANIFESTS_OPTION,
) -> None:
    """Fit one model on all of the given corpora and save it with what applying it needs:
    scaler and classifier, feature set and cache key, label space, versions, manifest hashes.
    The same model a transfer cell of transfer-matrix trains for these settings."""
    from paraser.corpora import LabelMap
    from paraser.runs.models import train_model

    with _user_errors():
        mapping = LabelMap.from_file(label_map) if label_map else LabelMap(tuple(_split(classes)))
        model = train_model(
            corpora, features, classifier, seed=seed, label_map=mapping, tune=tune,
            cache_dir=cache_dir, manifests_dir=manifests_dir, jobs=jobs, out=out,
        )  # fmt: skip
    training = model.meta["training"]
    for note in model.meta["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}")
    params = model.meta["classifier"]["params"]
    out_console.print(
        f"Trained {model.meta['classifier']['name']} on {model.feature_set} "
        f"({', '.join(training['corpora'])}: {training['n_utterances']} utterances, classes "
        f"{', '.join(model.classes)}){f'; tuned {params}' if params else ''} → [bold]{out}[/]"
    )


@app.command()
def predict(
    model: Path = typer.Argument(..., help="A model file written by 'paraser train'."),
    inputs: list[str] = typer.Argument(
        ..., help="Audio files, folders of audio, manifest CSVs or registered corpus names."
    ),
    out: Path = typer.Option(Path("predictions.csv"), "--out", "-o", help="CSV to write."),
    trust: list[str] = typer.Option(
        [], "--trust", help="Also trust this type (module.Class) in the model file."
    ),
    n_boot: int = BOOT_OPTION,
    cache_dir: Path = CACHE_OPTION,
    jobs: int = JOBS_OPTION,
    manifests_dir: Path | None = MANIFESTS_OPTION,
) -> None:
    """Apply a saved model: a CSV with file, predicted label and one score column per class;
    UAR with a speaker-cluster bootstrap CI for manifests with labels."""
    from paraser.runs.models import predict as run_predict

    with _user_errors():
        result = run_predict(
            model, inputs, cache_dir=cache_dir, manifests_dir=manifests_dir, jobs=jobs,
            n_boot=n_boot, trusted=trust, out=out,
        )  # fmt: skip
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for row in result.scores.itertuples(index=False):
        out_console.print(
            f"{row.input}: UAR {row.uar:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}] "
            f"({row.n} utterances, {row.n_speakers} speakers)",
            soft_wrap=True,
        )
    written = f"{len(result.predictions)} prediction(s) written to [bold]{out}[/]"
    if not result.scores.empty:
        written += f", UAR to [bold]{result.scores_path}[/]"
    out_console.print(written, soft_wrap=True)


@app.command()
def importance(
    corpora: str = typer.Option(..., "--corpora", "-c", help="Comma-separated corpora."),
    features: str = typer.Option("egemaps", "--features", "-f", help="Comma-separated sets."),
    classifiers: str = typer.Option("svm", "--classifiers", help="Comma-separated classifiers."),
    out: Path = typer.Option(
        Path("reports/importance"), "--out", "-o", help="Output folder (a results folder works)."
    ),
    protocol: str = typer.Option("auto", "--protocol", help="Within protocol, as transfer-matrix."),
    folds: int = typer.Option(5, "--folds", min=2, help="Within-corpus folds."),
    seed: int = typer.Option(0, "--seed", help="Seed of splits, models and permutations."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Permutations per feature/family."),
    max_test: int = typer.Option(
        400, "--max-test", min=20, help="Test rows scored per fold or direction (subsample)."
    ),
    permute: str = typer.Option(
        "speaker", "--permute", help="speaker (shuffle within each test speaker) or all."
    ),
    classes: str = typer.Option(
        "anger,happiness,neutral,sadness", "--classes", help="Label space (canonical names)."
    ),
    cache_dir: Path = CACHE_OPTION,
    jobs: int = JOBS_OPTION,
    manifests_dir: Path | None = MANIFESTS_OPTION,
) -> None:
    """Permutation importance per feature and descriptor family on the test side, for
    within-corpus folds and transfer directions side by side: which families carry emotion
    inside a corpus and which still work across corpora. Writes importance.csv,
    importance_families.csv, figures/importance_<set>.png, importance.md (and the section of
    report.md/html when --out is a results folder; 'paraser report' regenerates it)."""
    from paraser.corpora import LabelMap
    from paraser.runs.importance import importance_report

    with _user_errors(), _progress() as progress:
        run = importance_report(
            _split(corpora), _split(features), _split(classifiers), out=out,
            cache_dir=cache_dir, label_map=LabelMap(tuple(_split(classes))),
            manifests_dir=manifests_dir, protocol=protocol, folds=folds, seed=seed,
            n_repeats=repeats, max_test=max_test, permute=permute, jobs=jobs,
            progress=progress,
        )  # fmt: skip
    from paraser.reports.importance import headline

    for sentence in headline(run.summary):
        out_console.print(sentence, soft_wrap=True)
    out_console.print(f"Wrote {len(run.written)} file(s) to [bold]{out}[/]")


@app.command("features")
def list_features() -> None:
    """List the available feature sets."""
    from paraser.features import BUILTIN_SETS, PACKAGED_DIMENSIONS, available_feature_sets

    table = Table(title="Feature sets")
    table.add_column("name")
    table.add_column("dimensions", justify="right")
    for name in available_feature_sets():
        dim = BUILTIN_SETS.get(name, (None, None))[1] or PACKAGED_DIMENSIONS.get(name)
        # SSL encoders' size depends on the model, layers and pooling (explained below).
        table.add_row(name, str(dim or "see below"))
    out_console.print(table)
    out_console.print("Any openSMILE .conf path works too, e.g. --features my/config.conf")
    out_console.print(
        "SSL encoders (xlsr, wavlm, hubert, whisper-enc, ssl): hidden size x layers used x "
        "(1 mean, 2 meanstd); e.g. xlsr:12:meanstd, xlsr:all; --model picks the model"
    )


@corpus_app.command("prepare")
def corpus_prepare(
    name: str = typer.Argument(..., help="Recipe name (see 'paraser corpus recipes')."),
    corpus_dir: Path = typer.Argument(..., help="The corpus in its original layout."),
    manifest_name: str | None = typer.Option(
        None, "--as", help="Register under this name (default: the recipe name)."
    ),
    manifests_dir: Path | None = MANIFESTS_OPTION,
    file_column: str | None = typer.Option(None, "--file-column", help=FILE_COLUMN_HELP),
    label_column: str | None = typer.Option(None, "--label-column", help=LABEL_COLUMN_HELP),
    speaker_column: str | None = typer.Option(None, "--speaker-column", help=SPEAKER_COLUMN_HELP),
    audio_column: str | None = typer.Option(
        None, "--audio-column", help="Audio column of a Hugging Face dataset (hf_dataset)."
    ),
) -> None:
    """Parse a corpus in its original layout and register its manifest.

    The column options are for the importers (nkululeko, hf_dataset, lhotse; see
    'paraser corpus recipes').
    """
    from paraser.corpora.recipes import prepare_corpus
    from paraser.corpora.registry import manifest_dir

    given = {
        "file_column": file_column,
        "label_column": label_column,
        "speaker_column": speaker_column,
        "audio_column": audio_column,
    }
    options = {k: v for k, v in given.items() if v is not None}
    with _user_errors():
        path = prepare_corpus(
            name, corpus_dir, manifest_dir(manifests_dir), manifest_name, **options
        )
    out_console.print(f"Registered [bold]{path.stem}[/] → {path}")
    corpus_list(manifests_dir=manifests_dir, only=path.stem)


@corpus_app.command("recipes")
def corpus_recipes() -> None:
    """Corpus layouts paraser can parse, with language, labels and licence."""
    from paraser.corpora.recipes import RECIPES

    table = Table(title="Corpus recipes")
    for column in ("name", "corpus", "language", "labels", "licence", "options"):
        table.add_column(column, overflow="fold")
    for name, recipe in RECIPES.items():
        info = recipe.info
        labels = ", ".join(sorted(set(info.labels.values())))
        parameters = inspect.signature(recipe.prepare).parameters.values()
        options = " ".join(
            f"--{p.name.replace('_', '-')} ({p.default})"
            for p in parameters
            if p.kind is p.KEYWORD_ONLY and p.name.endswith("_column")
        )
        table.add_row(
            name, info.title, info.language or "(from data)", labels, info.licence, options
        )
    out_console.print(table)


@corpus_app.command("list")
def corpus_list(
    manifests_dir: Path | None = MANIFESTS_OPTION,
    only: str | None = typer.Option(None, "--only", help="Show one corpus."),
) -> None:
    """Registered corpora with language, classes, counts per class and speakers."""
    from paraser.corpora import ManifestError, load_manifest, registered_corpora
    from paraser.corpora.registry import manifest_dir

    registered = registered_corpora(manifests_dir)
    if not registered:
        console.print(f"No corpora registered in {manifest_dir(manifests_dir)}/")
        return
    table = Table(title=f"Corpora in {manifest_dir(manifests_dir)}/")
    for column in ("name", "language", "utterances", "speakers", "labels (count)"):
        table.add_column(column)
    broken = []
    with _user_errors():
        for name, path in registered.items():
            if only and name != only:
                continue
            try:
                frame = load_manifest(path, name=name, map_labels=False).frame
            except ManifestError as exc:  # one bad manifest must not hide the others
                broken.append(str(exc))
                table.add_row(name, "", "", "", "[red]unreadable manifest (below)[/]")
                continue
            languages = ",".join(sorted(set(frame["language"]) - {""})) or "?"
            counts = frame["label"].value_counts().sort_index()
            table.add_row(
                name,
                languages,
                str(len(frame)),
                str(frame["speaker"].nunique()),
                ", ".join(f"{k} ({v})" for k, v in counts.items()),
            )
    out_console.print(table)
    for message in broken:
        console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if broken:
        raise typer.Exit(2)


# Every command is registered by now: their help loses the <type> column.
without_type_metavars(app)

if __name__ == "__main__":  # pragma: no cover
    app()
