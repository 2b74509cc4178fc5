"""Saved models: kept without pickle, refused when tampered or unbuildable, and applied by
``paraser predict`` exactly as the transfer cell of a run with the same settings."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from invariants import assert_run_dir_invariants
from typer.testing import CliRunner

from paraser.cli import app
from paraser.experiments import make_classifier
from paraser.features import resolve_feature_set
from paraser.runs.models import (
    MODEL_FORMAT,
    ModelVersionWarning,
    SavedModel,
    UntrustedModelError,
    _versions,
    load_model,
    save_model,
)

runner = CliRunner()
CLASSES = ["anger", "happiness", "neutral", "sadness"]


def _model(classifier: str = "rf", **meta_changes) -> SavedModel:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 88)), np.repeat(CLASSES, 10)
    meta = {
        "format": MODEL_FORMAT,
        "feature_set": {
            "name": "egemaps",
            "cache_key": resolve_feature_set("egemaps").cache_key,
            "dimension": 88,
        },
        "classes": CLASSES,
        "label_map": {"classes": CLASSES, "map": {}},
        "versions": _versions(),
        **meta_changes,
    }
    return SavedModel(make_classifier(classifier).fit(x, y), meta)


@pytest.mark.parametrize("classifier", ["svm", "rf", "mlp", "svm-approx"])
def test_round_trip_keeps_the_scaler_and_predictions(tmp_path, classifier):
    model = _model(classifier)
    path = save_model(model, tmp_path / "m.skops")
    assert not zipfile.ZipFile(path).namelist() == []  # a skops zip, not a pickle
    loaded = load_model(path)
    x = np.random.default_rng(1).normal(size=(15, 88))
    assert (loaded.estimator.predict(x) == model.estimator.predict(x)).all()
    assert loaded.estimator.named_steps["scale"].mean_.shape == (88,)
    assert loaded.meta == model.meta


class Boom:
    """Constructing this (unpickling or any loader that trusts it) leaves a marker file."""

    marker: Path | None = None

    def __setstate__(self, state):
        Path(state["marker"]).write_text("executed")


def test_a_model_holding_an_untrusted_type_is_refused_without_executing_it(tmp_path):
    marker = tmp_path / "executed.txt"
    boom = Boom()
    boom.__dict__["marker"] = str(marker)
    path = tmp_path / "tampered.skops"
    path.write_bytes(sio.dumps({"estimator": boom, "meta": json.dumps(_model().meta)}))
    with pytest.raises(UntrustedModelError, match="test_models.Boom"):
        load_model(path)
    assert not marker.exists()
    result = runner.invoke(app, ["predict", str(path), str(tmp_path)])
    assert result.exit_code == 2 and "does not trust" in result.output
    assert not marker.exists()
    # Trust is an explicit opt-in per type, and then the type is built.
    assert isinstance(load_model(path, trusted=["test_models.Boom"]).estimator, Boom)
    assert marker.read_text() == "executed"


def test_a_model_edited_to_import_another_module_is_refused_before_importing_it(
    tmp_path, monkeypatch
):
    marker = tmp_path / "imported.txt"
    (tmp_path / "evil_module.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\nSVC = object\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = save_model(_model("svm"), tmp_path / "m.skops")
    tampered = tmp_path / "edited.skops"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "schema.json":
                data = data.replace(b'"sklearn.svm._classes"', b'"evil_module"')
            target.writestr(item, data)
    with pytest.raises(UntrustedModelError, match="evil_module.SVC"):
        load_model(tampered)
    assert not marker.exists() and "evil_module" not in sys.modules


def test_other_versions_warn_and_an_unbuildable_feature_set_is_refused(tmp_path):
    versions = {**_versions(), "scikit-learn": "0.1.0"}
    path = save_model(_model(versions=versions), tmp_path / "old.skops")
    with pytest.warns(ModelVersionWarning, match=r"scikit-learn 0\.1\.0"):
        load_model(path)
    model = _model()
    model.meta["feature_set"]["cache_key"] = "egemaps-0000-1111"
    path = save_model(model, tmp_path / "other-opensmile.skops")
    with pytest.raises(ValueError, match="cannot be rebuilt here.*egemaps-0000-1111"):
        load_model(path)
    path = save_model(_model(feature_set={"name": "no-such-set", "cache_key": "x"}), tmp_path / "x")
    with pytest.raises(ValueError, match="'no-such-set' cannot be rebuilt"):
        load_model(path)


def test_predict_equals_the_transfer_cell_of_a_run(tone_corpus, tmp_path):
    alpha = tone_corpus("alpha", per_label=5, speakers=("s1", "s2"))
    beta = tone_corpus("beta", per_label=5, speakers=("t1", "t2"), sample_rate=22_050)
    cache = ["--cache-dir", str(tmp_path / "cache"), "-j", "1"]
    run = runner.invoke(
        app,
        ["transfer-matrix", "--corpora", f"{alpha},{beta}", "--features", "egemaps",
         "--classifiers", "svm", "--folds", "2", "--out", str(tmp_path / "run"), *cache],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert_run_dir_invariants(tmp_path / "run", [alpha, beta])
    model = tmp_path / "alpha.skops"
    trained = runner.invoke(app, ["train", str(alpha), "-o", str(model), *cache])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "beta.csv"
    applied = runner.invoke(app, ["predict", str(model), str(beta), "-o", str(out), *cache])
    assert applied.exit_code == 0, applied.output

    cell = pd.read_parquet(tmp_path / "run" / "predictions.parquet").query(
        "source == 'alpha' and target == 'beta'"
    )
    ours = pd.read_csv(out)
    assert list(ours.columns[:7]) == [
        "input", "file", "utterance", "speaker", "label", "predicted", "score_kind"
    ]  # fmt: skip
    merged = cell.merge(ours, on="utterance", validate="one_to_one")
    assert len(merged) == len(cell) == 40
    assert (merged["y_pred"] == merged["predicted"]).all()
    assert (merged["y_true"] == merged["label"]).all()
    for c in CLASSES:
        np.testing.assert_allclose(merged[f"score_{c}_x"], merged[f"score_{c}_y"], rtol=1e-9)
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    uar = results.query("source == 'alpha' and target == 'beta'")["uar"].iloc[0]
    assert f"UAR {uar:.3f}" in applied.output
    scored = pd.read_csv(tmp_path / "beta_uar.csv")
    assert scored["uar"].iloc[0] == pytest.approx(uar) and scored["n"].iloc[0] == 40

    saved = load_model(model)
    assert saved.meta["training"]["corpora"] == ["alpha"]
    assert len(saved.meta["training"]["manifest_sha256_16"]["alpha"]) == 16
    assert saved.meta["feature_set"]["cache_key"] == resolve_feature_set("egemaps").cache_key

    # Folders and loose files: predictions without labels or UAR.
    loose = runner.invoke(
        app,
        ["predict", str(model), str(beta.parent / "t1"), str(next(beta.parent.rglob("*.wav"))),
         "-o", str(tmp_path / "loose.csv"), *cache],
    )  # fmt: skip
    assert loose.exit_code == 0, loose.output
    assert "UAR" not in loose.output
    frame = pd.read_csv(tmp_path / "loose.csv", keep_default_na=False)
    assert len(frame) == 21 and (frame["label"] == "").all()
    assert set(frame["predicted"]) <= set(CLASSES)


def test_tuned_training_records_the_chosen_parameters(tone_corpus, tmp_path):
    alpha = tone_corpus("alpha", per_label=4, speakers=("s1", "s2", "s3"))
    model = tmp_path / "tuned.skops"
    result = runner.invoke(
        app, ["train", str(alpha), "-o", str(model), "--tune", "--cache-dir", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    params = json.loads(load_model(model).meta["classifier"]["params"])
    assert set(params) == {"C", "gamma"}
    assert "tuned" in result.output


@pytest.mark.corpora
def test_real_emodb_model_applied_to_emovo_equals_the_transfer_cell(tmp_path):
    import os

    from conftest import REPO, shared_corpora_dir

    import paraser

    if (
        not (shared_corpora_dir() / "emodb").is_dir()
        or not (shared_corpora_dir() / "emovo").is_dir()
    ):
        pytest.skip("EmoDB and EMOVO not available")
    cache = os.environ.get("PARASER_CACHE", str(REPO / "features_cache"))
    run = paraser.transfer_matrix(
        ["emodb", "emovo"], ["egemaps"], ["svm"], out=tmp_path / "run", cache_dir=cache,
        within=False,
    )  # fmt: skip
    model = tmp_path / "emodb.skops"
    common = ["--cache-dir", cache, "-j", "1"]
    trained = runner.invoke(app, ["train", "emodb", "-o", str(model), *common])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "emovo.csv"
    applied = runner.invoke(app, ["predict", str(model), "emovo", "-o", str(out), *common])
    assert applied.exit_code == 0, applied.output
    cell = run.predictions.query("source == 'emodb' and target == 'emovo'")
    merged = cell.merge(pd.read_csv(out), on="utterance", validate="one_to_one")
    assert len(merged) == len(cell) > 300
    assert (merged["y_pred"] == merged["predicted"]).all()
    for c in CLASSES:
        np.testing.assert_allclose(merged[f"score_{c}_x"], merged[f"score_{c}_y"], rtol=1e-9)
    uar = run.results.query("source == 'emodb' and target == 'emovo'")["uar"].iloc[0]
    assert pd.read_csv(tmp_path / "emovo_uar.csv")["uar"].iloc[0] == pytest.approx(uar)
