"""The library API behind the CLI: corpora -> features -> experiments -> reports.

Everything ``paraser`` does on the command line is a call here, so a
researcher can run the same pipeline from Python::

    import paraser
    run = paraser.transfer_matrix(["emodb", "emovo"], ["egemaps"], ["svm"], out="reports/x")
    run.results  # tidy DataFrame, also in reports/x/results.csv
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from paraser.corpora import LabelMap, LoadedManifest, resolve_corpus
from paraser.experiments import CorpusData, GridResult, make_protocol, run_grid
from paraser.experiments.classifiers import resolve_classifier
from paraser.experiments.fewshot import FewShotPlan
from paraser.experiments.protocols import SCORING_RULE
from paraser.experiments.transfer import AugmentedCopies, UnlabelledRows, skipped_directions
from paraser.features import (
    DEFAULT_CACHE_DIR,
    ExtractionReport,
    extract_features,
    load_features,
)
from paraser.features.extract import corpus_cache_dir, hash_files
from paraser.features.precomputed import is_table_corpus, load_table_corpus
from paraser.features.registry import (
    FeatureSetSpec,
    as_specs,
)
from paraser.parallel import uses_backend
from paraser.reports import write_matrices
from paraser.results import claim_results_folder, clear_outputs, write_config, write_run_tables
from paraser.runs.experiment import Experiment, label_space, recorded_experiment
from paraser.runs.extraction import Progress, load_corpora
from paraser.runs.provenance import run_config, tuning_record
from paraser.runs.validation import check_classes_present, validate_run_options


@dataclass
class TransferRun:
    """A finished ``transfer_matrix`` run and where it was written."""

    out: Path
    results: pd.DataFrame
    predictions: pd.DataFrame
    manifests: list[LoadedManifest]
    extraction: list[ExtractionReport]
    notes: list[str] = field(default_factory=list)


def build_corpus_data(
    manifest: LoadedManifest,
    specs: Sequence[FeatureSetSpec],
    cache_dir: str | Path,
    *,
    label_free: bool = True,
) -> tuple[CorpusData, list[str]]:
    """Join a manifest with its cached features; rows without features are dropped.

    ``label_free``: attach the features of the rows outside the label space too
    (:attr:`CorpusData.unlabelled`), which only label-free methods read.
    """
    notes: list[str] = []
    frame = manifest.frame
    matrices: dict[str, np.ndarray] = {}
    keep = np.ones(len(frame), dtype=bool)
    loaded = {}
    for spec in specs:
        matrix = load_features(frame, spec, cache_dir=cache_dir)
        loaded[spec.name] = matrix
        keep &= matrix.available
    if not keep.any():
        failures = corpus_cache_dir(cache_dir, manifest.name) / "failures.csv"
        raise ValueError(
            f"{manifest.name}: none of its {len(frame)} utterance(s) has features; every file "
            f"failed extraction (reasons in {failures})"
        )
    if not keep.all():
        notes.append(
            f"{manifest.name}: {int((~keep).sum())} utterance(s) without features "
            "(failed extraction) left out; see failures.csv in the cache"
        )
    for name, matrix in loaded.items():
        matrices[name] = _available_rows(matrix, keep)
    frame = frame.loc[keep].reset_index(drop=True)
    unlabelled = _unlabelled(manifest, specs, cache_dir) if label_free else None
    return CorpusData(manifest.name, frame, matrices, unlabelled=unlabelled), notes


def _available_rows(matrix, keep: np.ndarray) -> np.ndarray:
    # ``values`` holds only available rows; re-align to the kept rows.
    position = np.cumsum(matrix.available) - 1
    return matrix.values[position[keep]]


def _unlabelled(
    manifest: LoadedManifest, specs: Sequence[FeatureSetSpec], cache_dir: str | Path
) -> UnlabelledRows | None:
    """Features of the rows outside the label space, for label-free methods."""
    outside = manifest.outside
    if outside is None or outside.empty:
        return None
    loaded = {spec.name: load_features(outside, spec, cache_dir=cache_dir) for spec in specs}
    keep = np.logical_and.reduce([m.available for m in loaded.values()])
    if not keep.any():
        return None
    return UnlabelledRows(
        outside["speaker"].to_numpy(str)[keep],
        {name: _available_rows(matrix, keep) for name, matrix in loaded.items()},
    )


@dataclass
class PreparedCorpora:
    """Corpora ready for experiments: features joined to manifests, and what it took."""

    data: list[CorpusData]
    manifests: list[LoadedManifest]
    extraction: list[ExtractionReport]
    notes: list[str]


def prepare_corpora(
    corpora: Sequence[str | Path],
    specs: Sequence[FeatureSetSpec],
    *,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    label_map: LabelMap | None = None,
    manifests_dir: str | Path | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    before_extraction: Callable[[list[LoadedManifest]], None] | None = None,
    label_free: bool = True,
) -> PreparedCorpora:
    """Load corpora (manifests or feature-table folders), extract what the cache lacks, join.

    Feature-table corpora come first, then manifests, in the order given. ``specs`` are
    resolved feature sets (:func:`~paraser.features.extract.as_specs`).
    ``before_extraction`` checks the loaded manifests before anything is extracted.
    ``label_free``: the experiment has label-free methods (corpus or speaker
    normalisation, adaptation), which see every utterance; the rows outside the label
    space are then extracted and attached too.  Without them nothing reads those rows,
    and they are left out (EmoDB and EMOVO: a fifth of their audio).
    """
    label_map = label_map or LabelMap()
    # A folder of pre-extracted feature tables is a corpus too, with nothing to extract.
    data = [
        CorpusData(**vars(load_table_corpus(c, [s.name for s in specs], label_map=label_map)))
        for c in corpora
        if is_table_corpus(c)
    ]
    manifests = load_corpora(
        [c for c in corpora if not is_table_corpus(c)],
        label_map=label_map,
        manifests_dir=manifests_dir,
    )
    for m in manifests:
        if m.frame.empty:
            found = ", ".join(f"{k} ({v})" for k, v in sorted(m.dropped_labels.items()))
            raise ValueError(
                f"{m.name}: no utterance in the label space {list(label_map.classes)} (its "
                f"labels: {found or 'none'}); choose the space with --classes or map its labels "
                "with --label-map (labelled by level, like BAVED: --task arousal)"
            )
    seen = (
        "label-free methods still see their audio"
        if label_free
        else "not extracted: no label-free method in this run"
    )
    notes = [
        f"{m.name}: {m.n_dropped_unmapped} utterance(s) outside the label space, never trained "
        f"on or evaluated ({seen}) "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(m.dropped_labels.items()))})"
        for m in manifests
        if m.n_dropped_unmapped
    ]
    if before_extraction is not None:
        before_extraction(manifests)
    extraction = []
    for manifest in manifests:
        callback = (
            (lambda d, t, n=manifest.name: progress(f"extract {n}", d, t)) if progress else None
        )
        rows = manifest.frame
        if label_free:  # label-free methods see every utterance
            rows = pd.concat([manifest.frame, manifest.outside], ignore_index=True)
        extraction.append(
            extract_features(rows, specs, cache_dir=cache_dir, jobs=jobs, progress=callback)
        )
    for manifest in manifests:
        corpus, corpus_notes = build_corpus_data(manifest, specs, cache_dir, label_free=label_free)
        data.append(corpus)
        notes += corpus_notes
    notes += identical_audio_notes(manifests)
    return PreparedCorpora(data, manifests, extraction, notes)


def uses_label_free_methods(
    normalisations: Sequence[str], adaptations: Sequence[str], few_shot: object | None
) -> bool:
    """Whether an experiment reads utterances without their labels (transductively).

    Corpus and speaker normalisation and every adaptation do; the few-shot study is
    counted in too, whatever its settings.
    """
    return (
        any(n != "train" for n in normalisations)
        or any(a != "none" for a in adaptations)
        or few_shot is not None
    )


def identical_audio_notes(manifests: Sequence[LoadedManifest]) -> list[str]:
    """Notes on files with identical bytes: they may sit on both sides of a fold or a pair.

    Within a corpus the copies can land in a training and a test fold; across corpora
    the same recording is in source and target.  Either inflates UAR, so it is said.
    """
    by_digest: dict[str, list[tuple[str, str]]] = {}
    for manifest in manifests:
        digests, _ = hash_files(list(manifest.frame["path"].astype(str)))  # memoised: cheap
        for utterance, path in zip(manifest.frame["utterance"], manifest.frame["path"]):
            if str(path) in digests:
                by_digest.setdefault(digests[str(path)], []).append((manifest.name, utterance))
    notes = []
    groups = [g for g in by_digest.values() if len(g) > 1]
    within = [g for g in groups if len({c for c, _ in g}) == 1]
    across = [g for g in groups if len({c for c, _ in g}) > 1]
    for kind, found, risk in (
        ("within a corpus", within, "copies may sit in a training and a test fold"),
        ("across corpora", across, "one recording is in both source and target"),
    ):
        if found:
            example = " = ".join(f"{c}:{u}" for c, u in found[0][:3])
            notes.append(
                f"identical audio {kind}: {len(found)} group(s) of files with the same bytes "
                f"(e.g. {example}); {risk}, which inflates UAR: remove the copies from the "
                "manifests"
            )
    return notes


def _extract_augmented(
    manifests, recipes, augment_copies, specs, cache_dir, jobs, progress
) -> list[dict]:
    """Extract every recipe's copies of every corpus; return the cost table for config.json."""
    from paraser.features.augment import extract_augmented

    cost = []
    for manifest in manifests:
        for recipe in recipes:
            callback = (
                (lambda d, t, n=manifest.name, r=recipe.name: progress(f"augment {n} ({r})", d, t))
                if progress
                else None
            )
            copies = recipe_copies(recipe, augment_copies)
            report = extract_augmented(
                manifest.frame, recipe, copies, specs,
                cache_dir=cache_dir, jobs=jobs, progress=callback,
            )  # fmt: skip
            cost.append(
                {
                    "corpus": manifest.name,
                    "recipe": recipe.name,
                    "copies": copies,
                    "extracted": int(sum(report.extracted.values())),
                    "cached": int(sum(report.cached.values())),
                    "failures": len(report.failures),
                    "seconds": round(report.seconds, 2),
                    "augmented_audio_seconds": round(report.audio_seconds, 1),
                    "seconds_per_audio_second": round(report.seconds / report.audio_seconds, 4)
                    if report.audio_seconds
                    else None,
                }
            )
    return cost


def recipe_copies(recipe, requested: int) -> int:
    """Copies made of each utterance: one for a recipe without randomness (they would be equal)."""
    return requested if recipe.is_random else 1


def attach_augmented(
    corpus: CorpusData,
    recipes: Sequence,
    requested: int,
    feature_sets: Sequence[FeatureSetSpec],
    cache_dir: str | Path,
) -> tuple[CorpusData, list[str]]:
    """``corpus`` with the cached augmented copies of each recipe (copies every set has)."""
    from paraser.features.augment import load_augmented

    augmented, notes = {}, []
    for recipe in recipes:
        copies = recipe_copies(recipe, requested)
        loaded = [
            load_augmented(corpus.frame, recipe, copies, spec, cache_dir=cache_dir)
            for spec in feature_sets
        ]
        # A copy that failed for one feature set is left out of all of them.
        keys = [set(zip(m.origin.tolist(), m.copy.tolist())) for m in loaded]
        common = sorted(set.intersection(*keys))
        features = {}
        for spec, matrix in zip(feature_sets, loaded):
            position = {key: i for i, key in enumerate(zip(matrix.origin, matrix.copy))}
            features[spec.name] = matrix.values[[position[key] for key in common]]
        origin = np.array([o for o, _ in common], dtype=np.int64)
        expected = len(corpus.frame) * copies
        if len(common) < expected:
            notes.append(
                f"{corpus.name}: {expected - len(common)} of {expected} augmented copies "
                f"({recipe.name}) missing (failed augmentation or extraction); trained without them"
            )
        augmented[recipe.name] = AugmentedCopies(origin, features)
    return replace(corpus, augmented=augmented), notes


@uses_backend
def transfer_matrix(
    corpora: Sequence[str | Path],
    feature_sets: Sequence[str | FeatureSetSpec] = ("egemaps",),
    classifiers: Sequence[str] = ("svm",),
    *,
    out: str | Path = "reports/transfer",
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    label_map: LabelMap | None = None,
    protocol: str = "auto",
    folds: int = 5,
    seeds: Sequence[int] = (0,),
    normalisations: Sequence[str] = ("train",),
    adaptations: Sequence[str] = ("none",),
    augmentations: Sequence[str] = ("none",),
    augment_copies: int = 2,
    pooled_sources: Sequence[Sequence[str]] = (),
    leave_one_corpus_out: bool = False,
    within: bool = True,
    few_shot: FewShotPlan | None = None,
    jobs: int = 1,
    manifests_dir: str | Path | None = None,
    progress: Progress | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    tune: bool = False,
    stratified_reference: str = "auto",
    force: bool = False,
    resume: bool = False,
) -> TransferRun:
    """Extract what is missing, run the within/transfer grid, write tidy results.

    ``protocol`` is the within-corpus protocol: ``auto`` (speaker-independent
    k-fold; leave-one-speaker-out where a corpus has fewer speakers than folds),
    ``speaker``, ``loso`` or ``stratified``.  Within cells are scored once over
    their pooled out-of-fold predictions (:data:`SCORING_RULE`);
    ``stratified_reference`` (``auto``: corpora whose speakers and labels are
    confounded; ``all``; ``none``) adds a stratified cell beside the
    speaker-independent one (``within_reference.csv``), never used as a ceiling.
    ``normalisations`` runs strategies side by side (``train``,
    ``corpus``, ``speaker``).  ``adaptations`` adds unsupervised adaptation
    methods to the transfer directions (``none``, ``corpus-norm``,
    ``speaker-norm``, ``coral``, ``importance``, ``prior-em``; transductive).
    ``augmentations`` names augmentation recipes (``none`` or e.g.
    ``noise:snr=5-20``, see :mod:`paraser.features.augment_recipes`): ``augment_copies``
    augmented copies of every training utterance are extracted (cached) and
    join the training side only.  ``within=False`` skips the diagonal.
    ``few_shot`` adds few-shot target curves (:mod:`paraser.experiments.fewshot`):
    ``fewshot.csv``, ``fewshot_predictions.parquet`` and ``fewshot_shots.csv``.
    ``label_map`` may be a :class:`~paraser.corpora.tasks.Task` (arousal, valence).
    ``backend``/``scheduler`` as for :func:`extract`.  ``classifiers`` are
    registered names or scikit-learn estimator objects; ``tune`` adds a nested,
    speaker-grouped hyperparameter search inside each training set.

    ``out`` must hold no other run's outputs: ``force`` removes them (paraser's files only)
    before the new ones are written, ``resume`` continues the same configuration (the one
    ``out/config.json`` records); otherwise a folder with outputs is refused. Every name is
    checked before any extraction starts.
    """
    out = Path(out)
    validate_run_options(
        classifiers=classifiers, protocol=protocol, normalisations=normalisations,
        adaptations=adaptations, stratified_reference=stratified_reference, seeds=seeds,
    )  # fmt: skip
    within_protocol = make_protocol(protocol, folds)
    recipes = []
    if any(a != "none" for a in augmentations):
        from paraser.features.augment_recipes import parse_recipe

        recipes = [parse_recipe(a) for a in augmentations if a != "none"]
        # Results are keyed by the canonical recipe name (equal spellings, one row).
        augmentations = ["none"] * ("none" in augmentations) + [r.name for r in recipes]
    # Resolved once: a spec may carry options (an SSL model, a device), and the grid
    # keys features by each spec's canonical name, as build_corpus_data does.
    specs = as_specs(feature_sets)
    label_map = label_map or LabelMap()
    requested = {
        "corpora": _corpus_names(corpora, manifests_dir),
        "feature_sets": [spec.name for spec in specs],
        "classifiers": [resolve_classifier(c).name for c in classifiers],
        "label_map": label_map.to_dict(),
        "protocol": within_protocol.name,
        "seeds": list(seeds),
        "normalisations": list(normalisations),
        "adaptations": list(adaptations),
        "augmentation": sorted(r.name for r in recipes),
        "augment_copies": augment_copies if recipes else 0,
        "within": within,
        "pooled_sources": [list(g) for g in pooled_sources],
        "leave_one_corpus_out": leave_one_corpus_out,
        "stratified_reference": stratified_reference,
        "tune": tune,
        "few_shot": few_shot.to_dict() if few_shot is not None else None,
    }
    replace_old = claim_results_folder(
        out, force=force, resume=resume,
        differences=lambda recorded: _differences(requested, recorded),
    )  # fmt: skip
    prepared = prepare_corpora(
        corpora, specs, cache_dir=cache_dir, label_map=label_map,
        manifests_dir=manifests_dir, jobs=jobs, progress=progress,
        before_extraction=lambda manifests: check_classes_present(label_map, manifests),
        label_free=uses_label_free_methods(normalisations, adaptations, few_shot),
    )  # fmt: skip
    manifests, extraction, notes = prepared.manifests, prepared.extraction, prepared.notes
    data, augmentation_cost = prepared.data, []
    if recipes:
        tables = [c.name for c in data if c.name not in {m.name for m in manifests}]
        if tables:
            raise ValueError(
                f"augmentation needs audio; feature-table corpora ({', '.join(tables)}) "
                "cannot be augmented"
            )
        augmentation_cost = _extract_augmented(
            manifests, recipes, augment_copies, specs, cache_dir, jobs, progress
        )
        for index, corpus in enumerate(data):
            data[index], augment_notes = attach_augmented(
                corpus, recipes, augment_copies, specs, cache_dir
            )
            notes += augment_notes
    notes += skipped_directions(data)
    callback = (lambda d, t: progress("train and test", d, t)) if progress else None
    grid: GridResult = run_grid(
        data,
        [spec.name for spec in specs],
        classifiers,
        protocol=within_protocol,
        seeds=seeds,
        normalisations=normalisations,
        adaptations=adaptations,
        augmentations=augmentations,
        pooled_sources=pooled_sources,
        leave_one_corpus_out=leave_one_corpus_out,
        within=within,
        jobs=jobs,
        progress=callback,
        tune=tune,
        stratified_reference=stratified_reference,
    )
    notes += grid.notes
    if grid.results.empty:
        raise ValueError("nothing could be evaluated: " + ("; ".join(notes) or "no experiments"))
    out.mkdir(parents=True, exist_ok=True)
    if replace_old:  # only now: a run that failed above leaves the old one whole
        clear_outputs(out)
    write_run_tables(out, grid.results, grid.predictions, grid.folds, grid.reference)
    if few_shot is not None:
        from paraser.experiments.fewshot import write_few_shot

        if list(normalisations) != ["train"] or list(augmentations) != ["none"]:
            notes.append(
                "few-shot curves: training-set standardisation and original audio only (the "
                "normalisation and augmentation factors apply to the transfer matrix)"
            )

        notes += write_few_shot(
            out, data, [spec.name for spec in specs], classifiers, few_shot,
            seeds=seeds, adaptations=adaptations, pooled_sources=pooled_sources,
            leave_one_corpus_out=leave_one_corpus_out, jobs=jobs,
            progress=(lambda d, t: progress("few-shot curves", d, t)) if progress else None,
        )  # fmt: skip
    config = run_config(
        manifests,
        specs,
        classifiers,
        label_map,
        within_protocol.name,
        seeds,
        cache_dir,
        notes,
        extraction,
    )
    config.update(
        protocol_requested=protocol,
        protocols_used=sorted(grid.results["protocol"].unique()),
        within_scoring=SCORING_RULE,
        stratified_reference=stratified_reference,
        reference_protocols=sorted(grid.reference["protocol"].unique()),
        normalisations=list(normalisations),
        adaptations=list(adaptations),
        adaptation_note=(
            "adaptation methods other than 'none' fit one model per target from the target's "
            "unlabelled features (and speaker ids for speaker-norm): transductive"
        ),
        augmentation={
            "recipes": {r.name: r.provenance() for r in recipes},
            "copies": augment_copies if recipes else 0,
            "cost": augmentation_cost,
        },
        within=within,
        pooled_sources=[list(g) for g in pooled_sources],
        leave_one_corpus_out=leave_one_corpus_out,
        tuning=tuning_record(classifiers) if tune else None,
    )
    if few_shot is not None:
        config["few_shot"] = few_shot.to_dict()
    config["experiment"] = recorded_experiment(
        corpora=corpora, specs=specs, classifiers=classifiers, label_map=label_map, out=out,
        cache_dir=cache_dir, manifests_dir=manifests_dir, protocol=protocol, folds=folds,
        stratified_reference=stratified_reference, normalisation=list(normalisations),
        adapt=list(adaptations), augment=list(augmentations), augment_copies=augment_copies,
        pool=["+".join(group) for group in pooled_sources], loco=leave_one_corpus_out,
        within=within, seeds=list(seeds), tune=tune, backend=backend,
        scheduler=scheduler,
        **(few_shot.experiment_keys() if few_shot is not None else {}),
    )  # fmt: skip
    write_config(out, config)
    write_matrices(out)
    return TransferRun(out, grid.results, grid.predictions, manifests, extraction, notes)


def _corpus_names(corpora: Sequence[str | Path], manifests_dir: str | Path | None) -> list[str]:
    """The names the corpora will have in config.json (manifests; feature tables by folder)."""
    names = []
    for corpus in corpora:
        if is_table_corpus(corpus):
            continue  # recorded under their own names in the data, not config.json's corpora
        name, path = resolve_corpus(corpus, manifests_dir)
        names.append(name or Path(path).stem)
    return names


def _differences(requested: dict, recorded: dict) -> list[str]:
    """The keys in which a requested run differs from the one ``config.json`` records."""
    augmentation = recorded.get("augmentation") or {}
    tuning = recorded.get("tuning")
    was = {
        "corpora": list(recorded.get("corpora", {})),
        "feature_sets": list(recorded.get("feature_sets", {})),
        "classifiers": list(recorded.get("classifiers", [])),
        "label_map": recorded.get("label_map"),
        "protocol": recorded.get("protocol"),
        "seeds": recorded.get("seeds"),
        "normalisations": recorded.get("normalisations"),
        "adaptations": recorded.get("adaptations"),
        "augmentation": sorted(augmentation.get("recipes", {})),
        "augment_copies": augmentation.get("copies", 0),
        "within": recorded.get("within"),
        "pooled_sources": recorded.get("pooled_sources"),
        "leave_one_corpus_out": recorded.get("leave_one_corpus_out"),
        "stratified_reference": recorded.get("stratified_reference"),
        "tune": tuning is not None,
        "few_shot": recorded.get("few_shot"),
    }
    requested = json.loads(json.dumps(requested))  # tuples as lists, as config.json has them
    return [key for key, value in requested.items() if was[key] != value]


def run_experiment(
    experiment: Experiment, *, progress=None, force: bool = False, resume: bool = False
):
    """Run ``experiment`` (:func:`transfer_matrix`); the CLI's ``transfer-matrix`` and ``run``
    both come here, so a file and its options give one run."""
    from paraser.features import resolve_feature_set

    few_shot = None
    if experiment.target_shots:
        few_shot = FewShotPlan(
            shots=tuple(experiment.target_shots),
            draws=experiment.shot_draws,
            shot_weight=experiment.shot_weight,
            test_share=experiment.shot_test_share,
        )
    specs = [
        resolve_feature_set(f, model=experiment.model, device=experiment.device)
        for f in experiment.features
    ]
    return transfer_matrix(
        list(experiment.corpora),
        specs,
        list(experiment.classifiers),
        out=experiment.out,
        cache_dir=experiment.cache_dir or os.environ.get("PARASER_CACHE") or DEFAULT_CACHE_DIR,
        label_map=label_space(experiment),
        protocol=experiment.protocol,
        folds=experiment.folds,
        normalisations=list(experiment.normalisation),
        adaptations=list(experiment.adapt),
        augmentations=list(experiment.augment),
        augment_copies=experiment.augment_copies,
        pooled_sources=[p.split("+") for p in experiment.pool],
        leave_one_corpus_out=experiment.loco,
        within=experiment.within,
        few_shot=few_shot,
        seeds=list(experiment.seeds),
        jobs=experiment.jobs or 1,
        manifests_dir=experiment.manifests_dir,
        progress=progress,
        backend=experiment.backend,
        scheduler=experiment.scheduler,
        tune=experiment.tune,
        stratified_reference=experiment.stratified_reference,
        force=force,
        resume=resume,
    )
