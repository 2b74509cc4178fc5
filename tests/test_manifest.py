from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from paraser.corpora import (
    LabelMap,
    ManifestError,
    canonical_emotion,
    load_manifest,
    resolve_corpus,
    write_manifest,
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_loads_paths_relative_to_csv_and_keeps_extra_columns(tmp_path):
    csv = _write(
        tmp_path / "c" / "m.csv",
        "file,label,speaker,gender,take\na.wav,Angry,s1,f,1\nsub/b.wav,sad,s2,m,2\n",
    )
    manifest = load_manifest(csv)
    frame = manifest.frame
    assert list(frame["label"]) == ["anger", "sadness"]
    assert list(frame["original_label"]) == ["Angry", "sad"]
    assert frame["path"].iloc[1] == str((tmp_path / "c" / "sub" / "b.wav").resolve())
    assert list(frame["speaker"]) == ["m:s1", "m:s2"]
    assert list(frame["take"]) == ["1", "2"]
    assert manifest.name == "m"


def test_unmapped_labels_are_dropped_and_counted(tmp_path):
    csv = _write(
        tmp_path / "m.csv",
        "file,label,speaker\na.wav,angry,s\nb.wav,fear,s\nc.wav,bored,s\nd.wav,xyz,s\n",
    )
    manifest = load_manifest(csv)
    assert list(manifest.frame["label"]) == ["anger"]
    assert manifest.n_dropped_unmapped == 3
    assert manifest.dropped_labels == {"fear": 1, "bored": 1, "xyz": 1}


def test_label_map_overrides_and_custom_classes(tmp_path):
    csv = _write(tmp_path / "m.csv", "file,label,speaker\na.wav,calm,s\nb.wav,fear,s\n")
    mapping = LabelMap(classes=("neutral", "fear"), overrides={"Calm": "neutral"})
    assert list(load_manifest(csv, label_map=mapping).frame["label"]) == ["neutral", "fear"]
    spec = tmp_path / "map.json"
    spec.write_text('{"classes": ["neutral", "fear"], "map": {"Calm": "neutral"}}')
    assert LabelMap.from_file(spec) == mapping


def test_unknown_class_name_is_rejected():
    with pytest.raises(ValueError, match="canonical vocabulary"):
        LabelMap(classes=("angry-ish",))


def test_canonical_emotion_synonyms():
    assert canonical_emotion("ANGRY") == "anger"
    assert canonical_emotion(" joy ") == "happiness"
    assert canonical_emotion("tri") == "sadness"
    assert canonical_emotion("nonsense") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file,label\na.wav,angry\n", "missing required column"),
        ("file,label,speaker\na.wav,,s\n", "empty 'label'"),
        ("file,label,speaker\na.wav,angry,\n", "empty 'speaker'"),
        ("file,label,speaker\na.wav,angry,s\na.wav,sad,s\n", "duplicate file"),
        ("file,label,speaker\n../../etc/passwd,angry,s\n", "escapes the corpus root"),
    ],
)
def test_invalid_manifests_name_file_and_problem(tmp_path, text, message):
    csv = _write(tmp_path / "bad.csv", text)
    with pytest.raises(ManifestError, match=message) as info:
        load_manifest(csv)
    assert str(csv) in str(info.value)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "nope.csv")


def test_write_manifest_roundtrip_with_sidecar_root(tmp_path):
    audio_root = tmp_path / "corpus"
    (audio_root / "x").mkdir(parents=True)
    frame = pd.DataFrame({"file": ["x/a.wav"], "label": ["sad"], "speaker": ["p1"]})
    csv = write_manifest(frame, tmp_path / "manifests" / "c.csv", audio_root, {"language": "ur"})
    loaded = load_manifest(csv).frame
    assert loaded["path"].iloc[0] == str((audio_root / "x" / "a.wav").resolve())
    assert loaded["language"].iloc[0] == "ur"


def test_registry_resolves_names_and_paths(tmp_path):
    csv = _write(tmp_path / "reg" / "mine.csv", "file,label,speaker\na.wav,sad,s\n")
    assert resolve_corpus("mine", tmp_path / "reg") == ("mine", csv)
    assert resolve_corpus(str(csv)) == ("mine", csv)
    with pytest.raises(FileNotFoundError, match="registered: mine"):
        resolve_corpus("other", tmp_path / "reg")
