"""Importers: nkululeko CSVs, Hugging Face datasets on disk, lhotse manifests (data made here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import voiced_tone
from typer.testing import CliRunner

from paraser.cli import app
from paraser.corpora import load_manifest
from paraser.corpora.manifest import column_names
from paraser.corpora.recipes import get_recipe, prepare_corpus
from paraser.features import load_features

runner = CliRunner()

#: (file, emotion, speaker, gender) of the tiny corpus every test starts from.
ROWS = [
    ("s1/angry_0.wav", "angry", "s1", "female"),
    ("s1/sad_0.wav", "sad", "s1", "female"),
    ("s2/happy_0.wav", "happy", "s2", "male"),
    ("s2/neutral_0.wav", "neutral", "s2", "male"),
]


@pytest.fixture
def audio(tmp_path) -> Path:
    root = tmp_path / "audio"
    for k, (file, *_) in enumerate(ROWS):
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / file, voiced_tone(120 + 30 * k, 0.6, 16_000, seed=k), 16_000)
    return root


def _expected(root: Path) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": [str((root / f).resolve()) for f, *_ in ROWS],
            "original_label": [e for _, e, _, _ in ROWS],
            "speaker": [s for _, _, s, _ in ROWS],
        }
    )


def _check(manifest: Path, root: Path, name: str) -> pd.DataFrame:
    frame = load_manifest(manifest, name=name).frame
    got = frame[["path", "original_label", "speaker"]].copy()
    got["speaker"] = got["speaker"].str.removeprefix(f"{name}:")
    want = _expected(root)
    pd.testing.assert_frame_equal(
        got.sort_values("path").reset_index(drop=True).astype(str),
        want.sort_values("path").reset_index(drop=True).astype(str),
    )
    assert frame["label"].tolist() == ["anger", "sadness", "happiness", "neutral"]
    return frame


def _nkululeko_csv(audio: Path, path: Path, emotion: str = "emotion") -> Path:
    rows = [(str((audio / f).resolve()), s, g, e) for f, e, s, g in ROWS]
    pd.DataFrame(rows, columns=["file", "speaker", "gender", emotion]).to_csv(path, index=False)
    return path


def test_nkululeko_csv_with_absolute_paths_is_rebased_onto_their_common_root(tmp_path, audio):
    (tmp_path / "lists").mkdir()
    csv = _nkululeko_csv(audio, tmp_path / "lists" / "data.csv")
    out = tmp_path / "manifests"
    result = runner.invoke(
        app,
        ["corpus", "prepare", "nkululeko", str(csv), "--as", "tiny", "--manifests-dir", str(out)],
    )
    assert result.exit_code == 0, result.output
    manifest = out / "tiny.csv"
    written = pd.read_csv(manifest)
    assert written["file"].tolist() == [f for f, *_ in ROWS]  # relative to the common root
    assert load_manifest(manifest).frame["path"].tolist() == _expected(audio)["path"].tolist()
    frame = _check(manifest, audio, "tiny")
    assert frame["gender"].tolist() == ["female", "female", "male", "male"]

    other = _nkululeko_csv(audio, tmp_path / "other.csv", emotion="emo")
    with pytest.raises(ValueError, match=r"other\.csv: no column\(s\) \['emotion'\]"):
        get_recipe("nkululeko").prepare(other)
    frame = get_recipe("nkululeko").prepare(other, label_column="emo")
    assert frame["label"].tolist() == ["anger", "sadness", "happiness", "neutral"]
    refused = runner.invoke(
        app, ["corpus", "prepare", "emodb", str(audio), "--label-column", "emo"]
    )
    assert refused.exit_code == 2 and "takes no option(s) --label-column" in refused.output


def test_a_nkululeko_csv_is_a_manifest_wherever_one_is_accepted(tmp_path, audio):
    csv = _nkululeko_csv(audio, tmp_path / "nk.csv")
    with pytest.raises(ValueError, match=r"nk\.csv: missing required column\(s\) \['label'\]"):
        load_manifest(csv)
    with column_names(label="emotion"):
        _check(csv, audio, "nk")
    cache = tmp_path / "cache"
    args = ["extract", str(csv), "--features", "egemaps", "--cache-dir", str(cache), "-j", "1"]
    assert runner.invoke(app, args).exit_code == 2  # no 'label' column
    result = runner.invoke(app, ["--label-column", "emotion", *args])
    assert result.exit_code == 0, result.output
    assert "nk" in result.output and "4" in result.output
    with pytest.raises(ValueError, match="missing required column"):
        load_manifest(csv)  # the option held for that command only


def test_nkululeko_segments_in_timedeltas_become_seconds(tmp_path, audio):
    long = tmp_path / "long.wav"
    sf.write(long, voiced_tone(150, 3.0, 16_000), 16_000)
    csv = tmp_path / "seg.csv"
    csv.write_text(
        "file,start,end,speaker,emotion\n"
        f"{long},0 days 00:00:00,0 days 00:00:01.500000,a,angry\n"
        f"{long},0 days 00:00:01.500000,0 days 00:00:03,a,sad\n"
        f"{long},0 days 00:00:00,NaT,a,neutral\n"
    )
    frame = get_recipe("nkululeko").prepare(csv)
    assert frame[["start", "end"]].values.tolist() == [["0.0", "1.5"], ["1.5", "3.0"], ["0.0", ""]]
    with column_names(label="emotion"):
        loaded = load_manifest(csv).frame
    assert loaded["utterance"].str.replace(str(long), "x").tolist() == [
        "x#t=0,1.5",
        "x#t=1.5,3",
        "x",  # 0 to the end: the whole file
    ]


def _lhotse_manifests(audio: Path, folder: Path, segmented: bool = False) -> Path:
    lhotse = pytest.importorskip("lhotse")
    folder.mkdir(parents=True, exist_ok=True)
    recordings, supervisions = [], []
    for k, (file, emotion, speaker, gender) in enumerate(ROWS):
        recording = lhotse.Recording.from_file(audio / file, recording_id=f"r{k}")
        recordings.append(recording)
        duration = recording.duration / 2 if segmented else recording.duration
        supervisions.append(
            lhotse.SupervisionSegment(
                id=f"u{k}",
                recording_id=f"r{k}",
                start=0.0,
                duration=duration,
                speaker=speaker,
                gender=gender,
                custom={"emotion": emotion},
            )
        )
    recording_set = lhotse.RecordingSet.from_recordings(recordings)
    supervision_set = lhotse.SupervisionSet.from_segments(supervisions)
    recording_set.to_file(folder / "tiny_recordings.jsonl.gz")
    supervision_set.to_file(folder / "tiny_supervisions.jsonl.gz")
    return folder


def test_lhotse_recordings_and_supervisions(tmp_path, audio):
    folder = _lhotse_manifests(audio, tmp_path / "lhotse")
    out = tmp_path / "manifests"
    result = runner.invoke(
        app,
        ["corpus", "prepare", "lhotse", str(folder), "--as", "tiny", "--manifests-dir", str(out)],
    )
    assert result.exit_code == 0, result.output
    frame = _check(out / "tiny.csv", audio, "tiny")
    assert "start" not in frame.columns  # whole-recording supervisions are whole files
    assert frame["gender"].tolist() == ["female", "female", "male", "male"]


def test_lhotse_cuts_and_segments(tmp_path, audio):
    lhotse = pytest.importorskip("lhotse")
    folder = _lhotse_manifests(audio, tmp_path / "lhotse", segmented=True)
    frame = get_recipe("lhotse").prepare(folder)
    assert frame[["start", "end"]].values.tolist() == [["0.0", "0.3"]] * 4
    recordings = lhotse.load_manifest(folder / "tiny_recordings.jsonl.gz")
    supervisions = lhotse.load_manifest(folder / "tiny_supervisions.jsonl.gz")
    cuts = lhotse.CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
    cut_dir = tmp_path / "cuts"
    cut_dir.mkdir()
    # Cut from 0.1 s: supervision times are relative to the cut, so they shift.
    shifted = lhotse.CutSet.from_cuts(
        cut.truncate(offset=0.1, duration=0.4, keep_excessive_supervisions=True) for cut in cuts
    )
    shifted.to_file(cut_dir / "tiny_cuts.jsonl.gz")
    from_cuts = get_recipe("lhotse").prepare(cut_dir / "tiny_cuts.jsonl.gz")
    assert from_cuts["label"].tolist() == ["anger", "sadness", "happiness", "neutral"]
    assert [float(s) for s in from_cuts["start"]] == pytest.approx([0.0] * 4)
    assert [float(e) for e in from_cuts["end"]] == pytest.approx([0.3] * 4)
    with pytest.raises(ValueError, match="has no 'valence'"):
        get_recipe("lhotse").prepare(folder, label_column="valence")


def _hf_saved(audio: Path, folder: Path, splits: bool = False) -> Path:
    datasets = pytest.importorskip("datasets")
    emotions = sorted({e for _, e, _, _ in ROWS})
    plain = datasets.Features(
        {
            "audio": {"bytes": datasets.Value("binary"), "path": datasets.Value("string")},
            "emotion": datasets.ClassLabel(names=emotions),
            "spk": datasets.Value("string"),
        }
    )
    table = {
        "audio": [{"path": str(audio / f), "bytes": None} for f, *_ in ROWS],
        "emotion": [emotions.index(e) for _, e, _, _ in ROWS],
        "spk": [s for _, _, s, _ in ROWS],
    }
    # Cast, not encode: building Audio examples directly needs torchcodec in datasets 4+.
    dataset = datasets.Dataset.from_dict(table, features=plain).cast_column(
        "audio", datasets.Audio(decode=False)
    )
    if splits:
        dataset = datasets.DatasetDict(
            {"train": dataset.select([0, 1]), "test": dataset.select([2, 3])}
        )
    dataset.save_to_disk(str(folder))
    return folder


@pytest.mark.parametrize("splits", [False, True])
def test_hf_dataset_saved_to_disk_writes_embedded_audio_once(tmp_path, audio, splits):
    folder = _hf_saved(audio, tmp_path / "hf", splits)
    audio_dir = tmp_path / "hf_audio"
    frame = get_recipe("hf_dataset").prepare(
        folder, label_column="emotion", speaker_column="spk", audio_dir=audio_dir
    )
    by_bytes = {(audio / f).read_bytes(): (e, s) for f, e, s, _ in ROWS}
    got = [by_bytes[(audio_dir / f).read_bytes()] for f in frame["file"]]
    assert got == list(zip(frame["original_label"], frame["speaker"]))  # each row its own audio
    written = sorted(audio_dir.rglob("*.wav"))
    assert len(written) == 4  # save_to_disk embeds the bytes; paraser writes them out once
    originals = {(audio / f).read_bytes() for f, *_ in ROWS}
    assert {p.read_bytes() for p in written} == originals  # byte for byte
    stamps = [p.stat().st_mtime_ns for p in written]
    get_recipe("hf_dataset").prepare(
        folder, label_column="emotion", speaker_column="spk", audio_dir=audio_dir
    )
    assert [p.stat().st_mtime_ns for p in sorted(audio_dir.rglob("*.wav"))] == stamps
    if splits:
        assert sorted(frame["split"]) == ["test", "test", "train", "train"]
    with pytest.raises(ValueError, match=r"no column\(s\) \['speaker'\]"):
        get_recipe("hf_dataset").prepare(folder, label_column="emotion", audio_dir=audio_dir)


def test_hf_audiofolder_reads_files_in_place(tmp_path, audio):
    folder = tmp_path / "af"
    for file, emotion, *_ in ROWS:
        target = folder / "train" / emotion / Path(file).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((audio / file).read_bytes())
    (folder / "train" / "metadata.csv").write_text(
        "file_name,speaker\n" + "".join(f"{e}/{Path(f).name},{s}\n" for f, e, s, _ in ROWS)
    )
    out = tmp_path / "manifests"
    result = runner.invoke(
        app,
        ["corpus", "prepare", "hf_dataset", str(folder), "--as", "af", "--manifests-dir", str(out)],
    )
    assert result.exit_code == 0, result.output
    frame = load_manifest(out / "af.csv", name="af").frame
    assert sorted(frame["label"]) == ["anger", "happiness", "neutral", "sadness"]
    assert all(Path(p).is_relative_to(folder.resolve()) for p in frame["path"])
    assert set(frame["split"]) == {"train"}


def test_importers_are_listed_by_corpus_recipes():
    result = runner.invoke(app, ["corpus", "recipes"])
    assert result.exit_code == 0
    for name in ("nkululeko", "hf_dataset", "lhotse", "audformat"):
        assert name in result.output


def test_prepare_corpus_keeps_absolute_paths_outside_the_root(tmp_path, audio):
    elsewhere = tmp_path / "elsewhere.wav"
    sf.write(elsewhere, np.full(1600, 0.1, np.float32), 16_000)
    csv = tmp_path / "lists" / "mixed.csv"
    csv.parent.mkdir()
    csv.write_text(f"file,label,speaker\n{elsewhere},sad,a\n")
    sf.write(csv.parent / "here.wav", np.full(1600, 0.1, np.float32), 16_000)
    with csv.open("a") as handle:
        handle.write("here.wav,angry,b\n")
    manifest = prepare_corpus("generic", csv, tmp_path / "out", "mixed")
    assert pd.read_csv(manifest)["file"].tolist() == [str(elsewhere), "here.wav"]
    assert load_manifest(manifest).frame["path"].tolist()[0] == str(elsewhere.resolve())


def _audformat_db(root: Path, storage_format: str = "csv") -> Path:
    """A database written by audformat: one segmented table over two long recordings."""
    audformat = pytest.importorskip("audformat")
    emotions = ["angry", "happy", "neutral", "sad"]
    segments, files = [], []
    for k, speaker in enumerate(["s1", "s2"]):
        file = f"wav/talk{k}.wav"
        (root / "wav").mkdir(parents=True, exist_ok=True)
        parts = [voiced_tone(110 + 40 * e + 10 * k, 1.0, 22_050, seed=e) for e in range(4)]
        sf.write(root / file, np.concatenate(parts), 22_050)
        files.append((file, speaker))
        segments += [(file, float(e), float(e + 1), emotion) for e, emotion in enumerate(emotions)]
    db = audformat.Database("tiny", source="made by the test", usage="research", languages=["deu"])
    db.schemes["emotion"] = audformat.Scheme(labels=emotions)
    db.schemes["gender"] = audformat.Scheme(labels=["female", "male"])
    db["speaker"] = audformat.MiscTable(pd.Index(["s1", "s2"], name="speaker"))
    db["speaker"]["gender"] = audformat.Column(scheme_id="gender")
    db["speaker"]["gender"].set(["female", "male"])
    db.schemes["speaker"] = audformat.Scheme("str", labels="speaker")
    index = audformat.segmented_index(
        [f for f, *_ in segments], [s for _, s, _, _ in segments], [e for _, _, e, _ in segments]
    )
    db["emotion"] = audformat.Table(index)
    db["emotion"]["emotion"] = audformat.Column(scheme_id="emotion")
    db["emotion"]["emotion"].set([e for *_, e in segments])
    db["files"] = audformat.Table(audformat.filewise_index([f for f, _ in files]))
    db["files"]["speaker"] = audformat.Column(scheme_id="speaker")
    db["files"]["speaker"].set([s for _, s in files])
    db.save(str(root), storage_format=storage_format)
    return root


def test_audformat_segmented_database_runs_end_to_end(tmp_path, tone_corpus):
    root = _audformat_db(tmp_path / "db")
    frame = get_recipe("audformat").prepare(root)
    assert frame[["file", "start", "end", "label", "speaker", "gender", "language"]].values[
        :2
    ].tolist() == [
        ["wav/talk0.wav", "0.0", "1.0", "anger", "s1", "female", "de"],
        ["wav/talk0.wav", "1.0", "2.0", "happiness", "s1", "female", "de"],
    ]
    assert len(frame) == 8
    manifests = tmp_path / "manifests"
    prepared = runner.invoke(
        app, ["corpus", "prepare", "audformat", str(root), "--as", "segdb", "--manifests-dir",
              str(manifests)]
    )  # fmt: skip
    assert prepared.exit_code == 0, prepared.output
    other = tone_corpus("tones", per_label=2)
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "transfer-matrix", "--corpora", f"segdb,{other}", "--features", "egemaps",
            "--classifiers", "svm", "--out", str(out), "--cache-dir", str(tmp_path / "c"),
            "--folds", "2", "-j", "1", "--manifests-dir", str(manifests),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    results = pd.read_csv(out / "results.csv")
    transfer = results[(results.kind == "transfer") & (results.source == "segdb")]
    assert len(transfer) == 1 and transfer.n_train.iloc[0] == 8  # every segment a sample
    matrix = load_features(
        load_manifest(manifests / "segdb.csv").frame, "egemaps", cache_dir=tmp_path / "c"
    )
    assert matrix.available.all() and len({tuple(v) for v in matrix.values}) == 8


def test_audformat_pickles_and_unsafe_headers_are_refused(tmp_path):
    root = _audformat_db(tmp_path / "pickled", storage_format="pkl")
    assert list(root.glob("db.*.pkl"))
    with pytest.raises(ValueError, match=r"table '.*' has a pickle db\..*\.pkl"):
        get_recipe("audformat").prepare(root)
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    (unsafe / "db.yaml").write_text("name: !!python/object/apply:os.getcwd []\n")
    with pytest.raises(ValueError, match="invalid \\(or unsafe\\) YAML"):
        get_recipe("audformat").prepare(unsafe)


def test_audformat_from_the_local_audb_cache(tmp_path, monkeypatch):
    cache = tmp_path / "audb"
    _audformat_db(cache / "tiny" / "1.0.0" / "d3b07384")
    _audformat_db(cache / "tiny" / "1.10.0" / "d3b07384")
    monkeypatch.setenv("AUDB_CACHE_ROOT", str(cache))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/audb of the machine's user
    frame = get_recipe("audformat").prepare("audb:tiny")
    assert len(frame) == 8
    out = prepare_corpus("audformat", "audb:tiny:1.0.0", tmp_path / "m", "tiny")
    paths = load_manifest(out).frame["path"]
    assert all("/1.0.0/" in p for p in paths)
    newest = prepare_corpus("audformat", "audb:tiny", tmp_path / "m", "tiny_new")
    assert all("/1.10.0/" in p for p in load_manifest(newest).frame["path"])
    with pytest.raises(ValueError, match="audb:other: not in the local audb cache"):
        get_recipe("audformat").prepare("audb:other")
