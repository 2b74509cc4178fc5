"""Models researchers keep and apply: ``paraser train`` and ``paraser predict``.

A saved model is one skops file holding the fitted ``StandardScaler ->
classifier`` pipeline (the scaling travels with the classifier, so a reused
model never meets unscaled features) and a JSON record of everything needed to
apply it honestly: the feature set and its cache key, the label space and
mapping, the classes, the training corpora with their manifest hashes, the
classifier and its (tuned) parameters, and the library versions.

skops never unpickles: loading rebuilds only the types it is told to trust.
:func:`load_model` trusts what paraser's own classifiers are made of and refuses
any other type *before* constructing anything, so a tampered file cannot run
code.  A model whose feature set this installation cannot rebuild with the same
cache key (another openSMILE version or configuration) is refused; a model made
with other library versions loads with a warning.
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from paraser import __version__
from paraser.corpora import LabelMap, load_manifest, resolve_corpus
from paraser.corpora.manifest import manifest_hash
from paraser.corpora.recipes._common import is_audio
from paraser.experiments.classifiers import (
    ClassifierLike,
    chosen_parameters,
    class_scores,
    make_classifier,
    resolve_classifier,
    tuned,
)
from paraser.experiments.transfer import pool_corpora, training_rows
from paraser.features import DEFAULT_CACHE_DIR, extract_features, load_features, resolve_feature_set
from paraser.results import SCORE_PREFIX, atomic_write_text

#: Format of the JSON record inside a model file; bumped when its meaning changes.
MODEL_FORMAT = 1

#: Types beyond skops' defaults that paraser's built-in classifiers are made of.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "sklearn.tree._tree.Tree",  # random forest
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",  # MLP
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "paraser.experiments.classifiers._Nystroem",  # svm-approx
        "paraser.experiments.classifiers._RowBlockPipeline",
    }
)


class UntrustedModelError(ValueError):
    """A model file holding a type paraser does not trust; nothing in it was constructed."""


class ModelVersionWarning(UserWarning):
    """A model saved with other library versions than the ones installed."""


def _versions() -> dict[str, str]:
    import opensmile
    import sklearn
    import skops

    return {
        "paraser": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "skops": skops.__version__,
        "opensmile": opensmile.__version__,
    }


@dataclass
class SavedModel:
    """A fitted pipeline and the record that says how to apply it."""

    estimator: object
    meta: dict

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def feature_set(self) -> str:
        return self.meta["feature_set"]["name"]

    @property
    def label_map(self) -> LabelMap:
        return LabelMap(tuple(self.meta["label_map"]["classes"]), self.meta["label_map"]["map"])


def save_model(model: SavedModel, path: str | Path) -> Path:
    """Write ``model`` as a skops file (atomically: a crash leaves no half file)."""
    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = sio.dumps({"estimator": model.estimator, "meta": json.dumps(model.meta)})
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def load_model(path: str | Path, *, trusted: Sequence[str] = ()) -> SavedModel:
    """Load a model file, refusing untrusted types and feature sets that cannot be rebuilt.

    ``trusted`` adds type names (``module.Class``) to trust, for a model made
    with a classifier of your own; check them before you do.
    """
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    data = path.read_bytes()
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a truncated or foreign file: skops' own error is opaque
        raise ValueError(f"{path}: not a paraser model file ({exc})") from exc
    refused = sorted(set(untrusted) - TRUSTED_TYPES - set(trusted))
    if refused:
        raise UntrustedModelError(
            f"{path}: refused, it holds types paraser does not trust: {', '.join(refused)}. "
            "Nothing was loaded. If you made this model with your own classifier, pass those "
            "types with --trust after checking them."
        )
    content = sio.loads(data, trusted=list(untrusted))
    if not isinstance(content, dict) or set(content) != {"estimator", "meta"}:
        raise ValueError(f"{path}: not a paraser model file (expected an estimator and a record)")
    meta = json.loads(content["meta"])
    if meta.get("format") != MODEL_FORMAT:
        raise ValueError(
            f"{path}: model format {meta.get('format')!r}, this paraser reads {MODEL_FORMAT}"
        )
    _check_versions(path, meta)
    _check_feature_set(path, meta)
    return SavedModel(content["estimator"], meta)


def _check_versions(path: Path, meta: dict) -> None:
    here = _versions()
    differ = {
        name: (saved, here.get(name))
        for name, saved in meta.get("versions", {}).items()
        if here.get(name) != saved
    }
    if differ:
        listed = ", ".join(f"{k} {a} (installed {b})" for k, (a, b) in sorted(differ.items()))
        warnings.warn(
            f"{path}: saved with other versions: {listed}; predictions may differ",
            ModelVersionWarning,
            stacklevel=3,
        )


def _check_feature_set(path: Path, meta: dict) -> None:
    saved = meta["feature_set"]
    try:
        spec = resolve_feature_set(saved["name"])
        key = spec.cache_key
    except Exception as exc:
        raise ValueError(
            f"{path}: its feature set '{saved['name']}' cannot be rebuilt here ({exc})"
        ) from exc
    if key != saved["cache_key"]:
        raise ValueError(
            f"{path}: its feature set '{saved['name']}' cannot be rebuilt here: the model was "
            f"trained on features with cache key {saved['cache_key']}, this installation makes "
            f"{key} (another openSMILE version or configuration); retrain the model"
        )


def train_model(
    corpora: Sequence[str | Path],
    feature_set: str = "egemaps",
    classifier: ClassifierLike = "svm",
    *,
    seed: int = 0,
    label_map: LabelMap | None = None,
    tune: bool = False,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    manifests_dir: str | Path | None = None,
    jobs: int = 1,
    out: str | Path | None = None,
) -> SavedModel:
    """Fit one model on all of ``corpora`` (pooled) and, with ``out``, save it.

    The training is the one a transfer cell of ``transfer-matrix`` makes for
    these settings: every utterance of the source(s) in the label space, one
    ``StandardScaler -> classifier`` pipeline, class-weighted, seeded; with
    ``tune`` the nested speaker-grouped search picks the parameters first.
    """
    from paraser.runs.transfer import prepare_corpora

    spec = resolve_feature_set(feature_set)
    label_map = label_map or LabelMap()
    prepared = prepare_corpora(
        corpora, [spec], cache_dir=cache_dir, label_map=label_map,
        manifests_dir=manifests_dir, jobs=jobs,
    )  # fmt: skip
    source = prepared.data[0] if len(prepared.data) == 1 else pool_corpora(prepared.data)
    x, y, groups = training_rows(source, spec.name, np.arange(len(source.frame)))
    classes = sorted(set(y))
    if len(classes) < 2:
        raise ValueError(f"{source.name}: one class ({', '.join(classes)}); nothing to learn")
    classifier_spec = resolve_classifier(classifier)
    model = make_classifier(classifier_spec, seed)
    params = ""
    if tune:
        search = tuned(model, classifier_spec, seed).fit(x, y, groups=groups)
        params, model = chosen_parameters(search), search.best_estimator_
    else:
        model.fit(x, y)
    hashes = {m.name: manifest_hash(m.frame) for m in prepared.manifests}
    meta = {
        "format": MODEL_FORMAT,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "feature_set": {
            "name": spec.name,
            "cache_key": spec.cache_key,
            "dimension": int(x.shape[1]),
        },
        "classifier": {
            "name": classifier_spec.name,
            "description": classifier_spec.description,
            "params": params,
            "seed": seed,
        },
        "normalisation": "train (StandardScaler fitted on the training data, inside the model)",
        "classes": classes,
        "label_map": label_map.to_dict(),
        "training": {
            "corpora": [c.name for c in prepared.data],
            "manifest_sha256_16": hashes,
            "n_utterances": int(len(y)),
            "n_speakers": int(len(set(groups))),
            "class_counts": {c: int((y == c).sum()) for c in classes},
        },
        "versions": _versions(),
        "notes": prepared.notes,
    }
    saved = SavedModel(model, meta)
    if out is not None:
        save_model(saved, out)
    return saved


#: Columns of ``paraser predict``'s CSV, before the ``score_<class>`` columns.
PREDICT_COLUMNS: dict[str, str] = {
    "input": "the manifest, folder or file given on the command line",
    "file": "audio path",
    "utterance": "manifest file entry (the path for loose files)",
    "speaker": "speaker id (empty for loose files)",
    "label": "true label in the model's label space (empty where unknown)",
    "predicted": "predicted label",
    "score_kind": "'probability' or 'decision' (score of the classifier, no probabilities)",
}


@dataclass
class Prediction:
    """Predictions of a saved model on some inputs, and UAR where labels are known."""

    predictions: pd.DataFrame
    scores: pd.DataFrame  # per labelled manifest: SCORE_COLUMNS
    notes: list[str] = field(default_factory=list)
    #: ``OUT_uar.csv`` beside the predictions, when labelled manifests were scored.
    scores_path: Path | None = None


def _input_frames(
    inputs: Sequence[str | Path], label_map: LabelMap, manifests_dir
) -> list[tuple[str, pd.DataFrame, bool, list[str]]]:
    """(input, frame for extraction, labelled?, notes) per manifest; loose audio grouped."""
    frames, loose = [], []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(str(p.resolve()) for p in path.rglob("*") if p.is_file() and is_audio(p))
            if not files:
                raise ValueError(f"{path}: no audio files in this folder")
            frames.append((str(item), _loose_frame(files, path.name or "files"), False, []))
        elif path.is_file() and is_audio(path):
            loose.append(str(path.resolve()))
        elif path.suffix.lower() == ".csv" or not path.exists():
            name, manifest_path = resolve_corpus(item, manifests_dir)
            manifest = load_manifest(manifest_path, name=name, label_map=label_map)
            notes = (
                [f"{item}: {manifest.n_dropped_unmapped} utterance(s) outside the model's "
                 "label space left out"]
                if manifest.n_dropped_unmapped
                else []
            )  # fmt: skip
            frames.append((str(item), manifest.frame, True, notes))
        else:
            raise ValueError(f"{path}: not an audio file, a folder or a manifest CSV")
    if loose:
        frames.append(("files", _loose_frame(loose, "files"), False, []))
    return frames


def _loose_frame(files: list[str], corpus: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "corpus": corpus,
            "utterance": files,
            "path": files,
            "label": pd.Series([pd.NA] * len(files), dtype="string"),
            "speaker": "",
        }
    )


def predict(
    model: SavedModel | str | Path,
    inputs: Sequence[str | Path],
    *,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    manifests_dir: str | Path | None = None,
    jobs: int = 1,
    n_boot: int = 1000,
    trusted: Sequence[str] = (),
    out: str | Path | None = None,
) -> Prediction:
    """Apply a saved model to manifests, folders or audio files.

    Features come through the same cache as every run.  Manifest labels are
    mapped into the model's label space; where a manifest has labels, its UAR
    with a speaker-cluster bootstrap 95% CI is reported.
    """
    from paraser.reports.stats import bootstrap_uar

    if not isinstance(model, SavedModel):
        model = load_model(model, trusted=trusted)
    spec = resolve_feature_set(model.feature_set)
    classes = np.asarray(model.estimator.classes_)
    parts, scores, notes = [], [], []
    for item, frame, labelled, frame_notes in _input_frames(inputs, model.label_map, manifests_dir):
        notes += frame_notes
        if frame.empty:
            continue
        report = extract_features(frame, [spec], cache_dir=cache_dir, jobs=jobs)
        matrix = load_features(frame, spec, cache_dir=cache_dir)
        if not matrix.available.all():
            notes.append(
                f"{item}: {int((~matrix.available).sum())} file(s) without features left out "
                f"({len(report.failures)} failure(s), see failures.csv in the cache)"
            )
        kept = frame.loc[matrix.available].reset_index(drop=True)
        if kept.empty:
            continue
        x = matrix.values
        if x.shape[1] != model.meta["feature_set"]["dimension"]:
            raise ValueError(
                f"{item}: {x.shape[1]} features, the model expects "
                f"{model.meta['feature_set']['dimension']}"
            )
        values, kind = class_scores(model.estimator, x)
        part = pd.DataFrame(
            {
                "input": item,
                "file": kept["path"].astype(str).to_numpy(),
                "utterance": kept["utterance"].astype(str).to_numpy(),
                "speaker": kept["speaker"].astype(str).to_numpy(),
                "label": kept["label"].astype("string").fillna("").to_numpy(),
                "predicted": model.estimator.predict(x),
                "score_kind": kind,
                **{f"{SCORE_PREFIX}{c}": values[:, i] for i, c in enumerate(classes)},
            }
        )
        parts.append(part)
        if labelled:
            scores.append(_scored(item, part, classes, n_boot, bootstrap_uar))
    if not parts:
        raise ValueError("nothing to predict: no input utterance has features")
    predictions = pd.concat(parts, ignore_index=True)
    score_table = pd.DataFrame(scores, columns=list(SCORE_COLUMNS))
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, predictions.to_csv(index=False))
        if not score_table.empty:
            scores_path = out.with_name(f"{out.stem}_uar.csv")
            atomic_write_text(scores_path, score_table.to_csv(index=False))
            return Prediction(predictions, score_table, notes, scores_path)
    return Prediction(predictions, score_table, notes)


#: Columns of the UAR table ``predict`` gives for labelled manifests.
SCORE_COLUMNS: dict[str, str] = {
    "input": "manifest",
    "uar": "unweighted average recall over the model's classes present in the manifest",
    "ci_low": "95% bootstrap CI, lower (speaker clusters)",
    "ci_high": "95% bootstrap CI, upper",
    "n": "utterances scored",
    "n_speakers": "speakers (bootstrap clusters)",
    "classes": "classes scored, '|'-separated",
}


def _scored(item, part: pd.DataFrame, classes, n_boot: int, bootstrap_uar) -> dict:
    """UAR on the rows whose true label is one of the model's classes."""
    rows = part[part["label"].isin(classes)]
    if rows.empty:
        return {"input": item, "uar": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0,
                "n_speakers": 0, "classes": ""}  # fmt: skip
    estimate = bootstrap_uar(
        pd.DataFrame(
            {"y_true": rows["label"].to_numpy(str), "y_pred": rows["predicted"].to_numpy(str),
             "speaker": rows["speaker"].to_numpy(str)}
        ),
        n_boot=n_boot,
    )  # fmt: skip
    return {
        "input": item,
        "uar": estimate.uar,
        "ci_low": estimate.ci_low,
        "ci_high": estimate.ci_high,
        "n": len(rows),
        "n_speakers": int(rows["speaker"].nunique()),
        "classes": "|".join(sorted(set(rows["label"]))),
    }
