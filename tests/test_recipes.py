"""Corpus recipes: fake trees for every recipe, real corpora when available."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from paraser.corpora import CANONICAL_EMOTIONS, load_manifest
from paraser.corpora.recipes import (
    FRAME_COLUMNS,
    RECIPES,
    CorpusInfo,
    get_recipe,
    list_audio,
    prepare_corpus,
)

REAL_CORPORA = Path(
    os.environ.get(
        "PARASER_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
    )
)


def touch(root: Path, *names: str) -> None:
    """Empty files (recipes only parse names)."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def wav(root: Path, *names: str) -> None:
    """Tiny real (silent) WAV files."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.zeros(160, dtype=np.float32), 16_000)


def check_frame(frame: pd.DataFrame, name: str) -> None:
    assert list(frame.columns[: len(FRAME_COLUMNS)]) == list(FRAME_COLUMNS)
    assert frame["file"].tolist() == sorted(frame["file"])
    assert frame["label"].isin(CANONICAL_EMOTIONS).all()
    assert frame["gender"].isin(["female", "male", ""]).all()
    assert (frame["speaker"] != "").all()
    assert not frame["file"].str.contains("\\\\").any()
    info = RECIPES[name].info
    if info.language:
        assert (frame["language"] == info.language).all()


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_recipe_with_metadata():
    expected = {
        "emodb", "emovo", "urdu", "turev", "ased", "ravdess", "cremad", "savee", "tess",
        "shemo", "punjabi_rasa", "subesco", "audformat", "generic",
    }  # fmt: skip
    assert expected <= set(RECIPES)
    for name, recipe in RECIPES.items():
        assert isinstance(recipe.info, CorpusInfo)
        assert recipe.info.name == name
        assert recipe.info.title and recipe.info.source and recipe.info.licence
        assert set(recipe.info.labels.values()) <= set(CANONICAL_EMOTIONS)
        assert callable(recipe.prepare)
        assert recipe.__doc__ and "icence" in recipe.__doc__


def test_unknown_recipe_lists_known_names():
    with pytest.raises(ValueError, match="unknown corpus recipe 'nope'.*emodb.*urdu"):
        get_recipe("nope")
    assert get_recipe("EmoDB") is RECIPES["emodb"]
    assert get_recipe("punjabi-rasa") is RECIPES["punjabi_rasa"]


def test_no_audio_and_missing_directory_errors(tmp_path):
    touch(tmp_path / "empty", "README.md", "notes.txt")
    with pytest.raises(ValueError, match="empty: no audio files found"):
        get_recipe("emodb").prepare(tmp_path / "empty")
    with pytest.raises(ValueError, match="missing: corpus directory not found"):
        get_recipe("emodb").prepare(tmp_path / "missing")


def test_list_audio_matches_extensions_case_insensitively_and_skips_others(tmp_path):
    touch(tmp_path, "a.WAV", "b/c.Flac", "d.ogg", "e.mp3", "README.md", ".hidden.wav",
          ".git/x.wav", "f.txt")  # fmt: skip
    names = [p.relative_to(tmp_path).as_posix() for p in list_audio(tmp_path)]
    assert names == ["a.WAV", "b/c.Flac", "d.ogg", "e.mp3"]


def test_bad_name_is_reported_with_the_file(tmp_path):
    touch(tmp_path, "03a01Wa.wav", "sub/oops.wav")
    with pytest.raises(ValueError, match=r"'sub/oops.wav' does not follow the EmoDB naming"):
        get_recipe("emodb").prepare(tmp_path)


# --------------------------------------------------------------------------- fake trees


def test_emodb_fake(tmp_path):
    wav(tmp_path, "03a01Wa.wav", "08b10Tc.wav")
    touch(tmp_path, "16a02Nb.FLAC", "10a05Lb.mp3", "README.txt")
    frame = get_recipe("emodb").prepare(tmp_path)
    check_frame(frame, "emodb")
    assert frame["label"].tolist() == ["anger", "sadness", "boredom", "neutral"]
    assert frame["speaker"].tolist() == ["03", "08", "10", "16"]
    assert frame["gender"].tolist() == ["male", "female", "male", "female"]
    assert frame["sentence"].tolist() == ["a01", "b10", "a05", "a02"]


def test_emovo_fake(tmp_path):
    touch(tmp_path, "f1/rab-f1-b1.wav", "m3/gio-m3-n5.wav", "m3/tri-m3-l2.wav")
    frame = get_recipe("emovo").prepare(tmp_path)
    check_frame(frame, "emovo")
    assert frame["label"].tolist() == ["anger", "happiness", "sadness"]
    assert frame["speaker"].tolist() == ["f1", "m3", "m3"]
    assert frame["gender"].tolist() == ["female", "male", "male"]
    assert frame["sentence"].tolist() == ["b1", "n5", "l2"]


def test_urdu_fake(tmp_path):
    touch(tmp_path, "Angry/SM1_F10_A010.wav", "Sad/SF6_F01_S002.wav", "README.md")
    frame = get_recipe("urdu").prepare(tmp_path)
    check_frame(frame, "urdu")
    assert frame[["label", "original_label", "speaker", "gender"]].values.tolist() == [
        ["anger", "A", "SM1", "male"],
        ["sadness", "S", "SF6", "female"],
    ]


def test_turev_fake_maps_calm_to_neutral(tmp_path):
    touch(tmp_path, "Calm/1234_sk_acik.wav", "Angry/1157_kz_cay.wav", "Sad/1234_hl_defne.wav")
    frame = get_recipe("turev").prepare(tmp_path)
    check_frame(frame, "turev")
    assert frame[["label", "original_label", "speaker", "code", "word"]].values.tolist() == [
        ["anger", "Angry", "1157", "kz", "cay"],
        ["neutral", "Calm", "1234", "sk", "acik"],
        ["sadness", "Sad", "1234", "hl", "defne"],
    ]
    touch(tmp_path, "Happy/1234_kz_algi.wav")
    with pytest.raises(ValueError, match="Happy/1234_kz_algi.wav"):
        get_recipe("turev").prepare(tmp_path)


def test_ravdess_fake(tmp_path):
    wav(tmp_path, "Actor_12/03-01-05-01-02-01-12.wav")
    touch(tmp_path, "Actor_01/03-01-02-02-01-02-01.wav", "Actor_01/03-02-08-01-01-01-01.wav")
    frame = get_recipe("ravdess").prepare(tmp_path)
    check_frame(frame, "ravdess")
    assert frame["label"].tolist() == ["calm", "surprise", "anger"]
    assert frame["speaker"].tolist() == ["01", "01", "12"]
    assert frame["gender"].tolist() == ["male", "male", "female"]
    assert frame["intensity"].tolist() == ["strong", "normal", "normal"]
    assert frame["vocal_channel"].tolist() == ["speech", "song", "speech"]


def test_ravdess_drops_duplicated_copies(tmp_path):
    touch(tmp_path, "Actor_01/03-01-01-01-01-01-01.wav", "dup/Actor_01/03-01-01-01-01-01-01.wav")
    with pytest.warns(UserWarning, match="dropped 1 RAVDESS"):
        frame = get_recipe("ravdess").prepare(tmp_path)
    assert frame["file"].tolist() == ["Actor_01/03-01-01-01-01-01-01.wav"]


def test_cremad_fake_with_and_without_demographics(tmp_path):
    names = ["AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1002_IEO_HAP_HI.wav",
             "AudioWAV/1002_TIE_NEU_XX.wav"]  # fmt: skip
    touch(tmp_path, *names)
    frame = get_recipe("cremad").prepare(tmp_path)
    check_frame(frame, "cremad")
    assert frame["label"].tolist() == ["anger", "happiness", "neutral"]
    assert frame["speaker"].tolist() == ["1001", "1002", "1002"]
    assert (frame["gender"] == "").all()
    assert frame["sentence"].tolist() == ["DFA", "IEO", "TIE"]
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n"
    )
    frame = get_recipe("cremad").prepare(tmp_path)
    assert frame["gender"].tolist() == ["male", "female", "female"]


def test_savee_fake_both_layouts(tmp_path):
    touch(tmp_path / "orig", "AudioData/DC/a01.wav", "AudioData/JE/sa03.wav",
          "AudioData/KL/su15.wav", "AudioData/Info.txt")  # fmt: skip
    frame = get_recipe("savee").prepare(tmp_path / "orig")
    check_frame(frame, "savee")
    assert frame[["label", "original_label", "speaker"]].values.tolist() == [
        ["anger", "a", "DC"],
        ["sadness", "sa", "JE"],
        ["surprise", "su", "KL"],
    ]
    assert (frame["gender"] == "male").all()
    touch(tmp_path / "flat", "ALL/DC_a01.wav", "ALL/JK_n12.wav", "ALL/KL_d02.wav")
    frame = get_recipe("savee").prepare(tmp_path / "flat")
    assert frame[["label", "speaker"]].values.tolist() == [
        ["anger", "DC"],
        ["neutral", "JK"],
        ["disgust", "KL"],
    ]
    touch(tmp_path / "bad", "a01.wav")
    with pytest.raises(ValueError, match="'a01.wav'.*no speaker"):
        get_recipe("savee").prepare(tmp_path / "bad")


def test_tess_fake(tmp_path):
    touch(tmp_path, "OAF_angry/OAF_back_angry.wav", "YAF_pleasant_surprised/YAF_date_ps.wav",
          "OAF_neutral/OA_bite_neutral.wav", "YAF_fear/YAF_germ_Fear.wav")  # fmt: skip
    frame = get_recipe("tess").prepare(tmp_path)
    check_frame(frame, "tess")
    assert frame[["label", "speaker", "word"]].values.tolist() == [
        ["anger", "OAF", "back"],
        ["neutral", "OAF", "bite"],
        ["fear", "YAF", "germ"],
        ["pleasant_surprise", "YAF", "date"],
    ]
    assert (frame["gender"] == "female").all()


def test_shemo_fake(tmp_path):
    touch(tmp_path, "female/F01A01.wav", "female/F01W02.wav", "male/M12F03.wav", "male/M12N01.wav")
    frame = get_recipe("shemo").prepare(tmp_path)
    check_frame(frame, "shemo")
    assert frame["label"].tolist() == ["anger", "surprise", "fear", "neutral"]
    assert Counter(frame["speaker"]) == {"F01": 2, "M12": 2}
    assert frame["gender"].tolist() == ["female", "female", "male", "male"]
    assert frame["language"].eq("fa").all()


def test_subesco_fake(tmp_path):
    touch(tmp_path, "F_02_MONIKA_S_1_ANGRY_5.wav", "M_02_TITU_S_10_SURPRISE_1.wav",
          "F_02_MONIKA_S_3_NEUTRAL_2.wav")  # fmt: skip
    frame = get_recipe("subesco").prepare(tmp_path)
    check_frame(frame, "subesco")
    assert frame[["label", "speaker", "gender", "sentence", "take"]].values.tolist() == [
        ["anger", "F_02", "female", "1", "5"],
        ["neutral", "F_02", "female", "3", "2"],
        ["surprise", "M_02", "male", "10", "1"],
    ]
    assert frame["speaker_name"].tolist() == ["MONIKA", "MONIKA", "TITU"]


def test_ased_fake(tmp_path):
    touch(tmp_path, "01Neutral/n1-01-01-02-65.wav", "04Sad/S4-04-02-01-29.wav",
          "05Angry/a5-07-01-01-03.wav", "02Fearful/f2-03-02-02-41.wav")  # fmt: skip
    frame = get_recipe("ased").prepare(tmp_path)
    check_frame(frame, "ased")
    assert frame[["label", "original_label", "speaker", "gender"]].values.tolist() == [
        ["neutral", "n", "65", "male"],
        ["fear", "f", "41", "male"],
        ["sadness", "s", "29", "female"],
        ["anger", "a", "03", "female"],
    ]
    assert frame["language"].eq("am").all()


def test_punjabi_rasa_fake(tmp_path):
    touch(tmp_path / "nested", "spk1/PAN_F_angry_1.wav", "spk1/PAN_F_happy_2.wav",
          "spk2/PAN_M_Sad_1.wav")  # fmt: skip
    frame = get_recipe("punjabi_rasa").prepare(tmp_path / "nested")
    check_frame(frame, "punjabi_rasa")
    assert frame[["label", "original_label", "speaker", "gender"]].values.tolist() == [
        ["anger", "angry", "spk1", "female"],
        ["happiness", "happy", "spk1", "female"],
        ["sadness", "Sad", "spk2", "male"],
    ]
    touch(tmp_path / "flat", "PAN_F_neutral_1.wav", "PAN_M_fear_3.wav")
    with pytest.warns(UserWarning, match="pseudo-speaker"):
        frame = get_recipe("punjabi_rasa").prepare(tmp_path / "flat")
    assert frame["speaker"].tolist() == ["PAN_F", "PAN_M"]
    touch(tmp_path / "bad", "PAN_F_grumpy_1.wav")
    with pytest.raises(ValueError, match="PAN_F_grumpy_1.wav.*unknown emotion 'grumpy'"):
        get_recipe("punjabi_rasa").prepare(tmp_path / "bad")


# --------------------------------------------------------------------------- generic


def test_generic_csv(tmp_path):
    wav(tmp_path, "audio/a.wav", "audio/b.wav")
    touch(tmp_path, "audio/c.flac")
    (tmp_path / "list.csv").write_text(
        "file,label,speaker,gender,session\n"
        "audio/c.flac,rab,s2,M,2\naudio/a.wav,Angry,s1,F,1\naudio/b.wav,sad,s1,female,1\n"
    )
    for arg in (tmp_path, tmp_path / "list.csv"):
        frame = get_recipe("generic").prepare(arg)
        check_frame(frame, "generic")
        assert frame["file"].tolist() == ["audio/a.wav", "audio/b.wav", "audio/c.flac"]
        assert frame["label"].tolist() == ["anger", "sadness", "anger"]
        assert frame["original_label"].tolist() == ["Angry", "sad", "rab"]
        assert frame["gender"].tolist() == ["female", "female", "male"]
        assert frame["session"].tolist() == ["1", "1", "2"]


def test_generic_csv_errors(tmp_path):
    touch(tmp_path, "a.wav")
    csv = tmp_path / "list.csv"
    csv.write_text("file,label\na.wav,angry\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['speaker'\]"):
        get_recipe("generic").prepare(csv)
    csv.write_text("file,label,speaker\na.wav,grumpy,s1\n")
    with pytest.raises(ValueError, match="no canonical emotion.*grumpy"):
        get_recipe("generic").prepare(csv)
    csv.write_text("file,label,speaker\nb.wav,angry,s1\n")
    with pytest.raises(ValueError, match="not found.*b.wav"):
        get_recipe("generic").prepare(csv)
    (tmp_path / "other.csv").write_text("x\n")
    with pytest.raises(ValueError, match="exactly one CSV"):
        get_recipe("generic").prepare(tmp_path)


# --------------------------------------------------------------------------- audformat

DB_YAML = """\
name: tiny
description: a tiny audformat database
languages: [deu]
license: CC0-1.0
source: made by the test
usage: research
schemes:
  emotion:
    dtype: str
    labels: [anger, happiness, neutral, sadness, other]
  confidence: {dtype: float, minimum: 0, maximum: 1}
  speaker: {dtype: str, labels: speaker}
  gender: {dtype: str, labels: [female, male]}
raters:
  gold: {type: human}
tables:
  emotion.train:
    type: filewise
    columns:
      emotion: {scheme_id: emotion, rater_id: gold}
      emotion.confidence: {scheme_id: confidence, rater_id: gold}
  emotion.test:
    type: filewise
    columns:
      emotion: {scheme_id: emotion, rater_id: gold}
  files:
    type: filewise
    columns:
      speaker: {scheme_id: speaker}
  segments:
    type: segmented
    columns:
      emotion: {scheme_id: emotion}
misc_tables:
  speaker:
    levels: {speaker: str}
    columns:
      gender: {scheme_id: gender}
"""


def test_audformat_database(tmp_path):
    (tmp_path / "db.yaml").write_text(DB_YAML)
    (tmp_path / "db.emotion.train.csv").write_text(
        "file,emotion,emotion.confidence\nwav/a.wav,anger,0.9\nwav/b.wav,happiness,0.8\n"
        "wav/x.wav,other,0.5\n"
    )
    (tmp_path / "db.emotion.test.csv").write_text("file,emotion\nwav/c.wav,sadness\n")
    (tmp_path / "db.files.csv").write_text(
        "file,speaker\nwav/a.wav,s1\nwav/b.wav,s2\nwav/c.wav,s2\nwav/x.wav,s1\n"
    )
    (tmp_path / "db.segments.csv").write_text("file,start,end,emotion\nwav/a.wav,0 days,1 days,n\n")
    (tmp_path / "db.speaker.csv").write_text("speaker,gender\ns1,female\ns2,male\n")
    wav(tmp_path, "wav/a.wav", "wav/b.wav", "wav/c.wav", "wav/x.wav")
    with pytest.warns(UserWarning, match="emotion 'other' unmapped"):
        frame = get_recipe("audformat").prepare(tmp_path)
    check_frame(frame, "audformat")
    assert frame[["file", "label", "speaker", "gender", "language"]].values.tolist() == [
        ["wav/a.wav", "anger", "s1", "female", "de"],
        ["wav/b.wav", "happiness", "s2", "male", "de"],
        ["wav/c.wav", "sadness", "s2", "male", "de"],
    ]
    with pytest.warns(UserWarning, match="dropped rows"):
        out = prepare_corpus("audformat", tmp_path / "db.yaml", tmp_path / "manifests", "tiny")
    # ISO 639-3 'deu' is spelled as the other corpora spell German: 'de'.
    assert json.loads(out.with_suffix(".json").read_text())["language"] == "de"
    assert load_manifest(out).frame["path"].map(lambda p: Path(p).is_file()).all()


def test_audformat_without_speaker_or_header(tmp_path):
    with pytest.raises(ValueError, match="no audformat header db.yaml"):
        get_recipe("audformat").prepare(tmp_path)
    (tmp_path / "db.yaml").write_text(
        "name: x\nsource: s\nusage: research\nlanguages: []\nschemes: {emotion: {dtype: str}}\n"
        "tables: {t: {type: filewise, columns: {emotion: {scheme_id: emotion}}}}\n"
    )
    (tmp_path / "db.t.csv").write_text("file,emotion\na.wav,anger\n")
    with pytest.raises(ValueError, match="no table with a speaker column"):
        get_recipe("audformat").prepare(tmp_path)


# --------------------------------------------------------------------------- prepare_corpus


def test_prepare_corpus_writes_a_loadable_manifest(tmp_path):
    corpus = tmp_path / "data" / "shemo"
    wav(corpus, "female/F01A01.wav", "female/F01H02.wav", "male/M03N01.wav", "male/M03S04.wav")
    out = prepare_corpus("shemo", corpus, tmp_path / "manifests")
    assert out == tmp_path / "manifests" / "shemo.csv"
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["corpus"] == "shemo" and meta["language"] == "fa"
    assert meta["title"].startswith("Sharif") and meta["licence"] and meta["source"]
    loaded = load_manifest(out)
    frame = loaded.frame
    assert len(frame) == 4 and loaded.n_dropped_unmapped == 0
    assert frame["label"].tolist() == ["anger", "happiness", "neutral", "sadness"]
    assert frame["speaker"].tolist() == ["shemo:F01", "shemo:F01", "shemo:M03", "shemo:M03"]
    assert all(Path(p).is_file() for p in frame["path"])
    renamed = prepare_corpus("shemo", corpus, tmp_path / "manifests", manifest_name="persian")
    assert renamed.name == "persian.csv" and load_manifest(renamed).name == "persian"


def test_prepare_corpus_generic_root_is_the_csv_folder(tmp_path):
    wav(tmp_path / "corpus", "clips/a.wav")
    (tmp_path / "corpus" / "list.csv").write_text("file,label,speaker\nclips/a.wav,happy,s1\n")
    out = prepare_corpus("generic", tmp_path / "corpus" / "list.csv", tmp_path / "m", "mine")
    frame = load_manifest(out).frame
    assert Path(frame["path"].iloc[0]) == (tmp_path / "corpus" / "clips" / "a.wav").resolve()


# --------------------------------------------------------------------------- real corpora

REAL = {
    "emodb": {
        "n": 535,
        "labels": {"W": 127, "L": 81, "N": 79, "F": 71, "A": 69, "T": 62, "E": 46},
        "speakers": {
            "03": 49,
            "08": 58,
            "09": 43,
            "10": 38,
            "11": 55,
            "12": 35,
            "13": 61,
            "14": 69,
            "15": 56,
            "16": 71,
        },  # fmt: skip
        "genders": {"female": 302, "male": 233},
    },
    "urdu": {
        "n": 400,
        "labels": {"A": 100, "H": 100, "N": 100, "S": 100},
        "speakers": {
            "SF1": 12,
            "SF10": 2,
            "SF11": 4,
            "SF2": 2,
            "SF3": 2,
            "SF4": 4,
            "SF5": 4,
            "SF6": 14,
            "SF7": 6,
            "SF8": 2,
            "SF9": 4,
            "SM1": 22,
            "SM17": 2,
            "SM18": 2,
            "SM19": 2,
            "SM2": 28,
            "SM20": 10,
            "SM21": 4,
            "SM22": 2,
            "SM23": 6,
            "SM24": 38,
            "SM25": 40,
            "SM26": 2,
            "SM27": 4,
            "SM3": 12,
            "SM4": 48,
            "SM5": 80,
            "SM6": 14,
            "SM7": 28,
        },  # fmt: skip
        "genders": {"male": 344, "female": 56},
    },
    "emovo": {
        "n": 588,
        "labels": {e: 84 for e in ("dis", "gio", "neu", "pau", "rab", "sor", "tri")},
        "speakers": {s: 98 for s in ("f1", "f2", "f3", "m1", "m2", "m3")},
        "genders": {"female": 294, "male": 294},
    },
    "turev": {
        "n": 1735,
        "labels": {"Angry": 487, "Calm": 408, "Happy": 357, "Sad": 483},
        "speakers": {
            "1157": 150,
            "1234": 328,
            "1358": 328,
            "1984": 328,
            "6783": 328,
            "7895": 273,
        },  # fmt: skip
        "genders": {"": 1735},
    },
}


@pytest.mark.corpora
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_corpus_counts(name):
    corpus = REAL_CORPORA / name
    if not corpus.is_dir():
        pytest.skip(f"{corpus} not available")
    frame = get_recipe(name).prepare(corpus)
    check_frame(frame, name)
    expected = REAL[name]
    assert len(frame) == expected["n"]
    assert frame["original_label"].value_counts().to_dict() == expected["labels"]
    assert frame["speaker"].value_counts().to_dict() == expected["speakers"]
    assert frame["gender"].value_counts().to_dict() == expected["genders"]
    assert frame["file"].str.endswith(".flac").all()


@pytest.mark.corpora
def test_real_turev_speaker_class_table_and_calm_mapping():
    corpus = REAL_CORPORA / "turev"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} not available")
    frame = get_recipe("turev").prepare(corpus)
    table = pd.crosstab(frame["speaker"], frame["original_label"]).to_dict("index")
    full = {"Angry": 82, "Calm": 82, "Happy": 82, "Sad": 82}
    assert table == {
        "1157": {"Angry": 77, "Calm": 0, "Happy": 0, "Sad": 73},
        "1234": full, "1358": full, "1984": full, "6783": full,
        "7895": {"Angry": 82, "Calm": 80, "Happy": 29, "Sad": 82},
    }  # fmt: skip
    assert set(frame.loc[frame["original_label"] == "Calm", "label"]) == {"neutral"}


@pytest.mark.corpora
def test_real_urdu_speaker_emotion_confound():
    corpus = REAL_CORPORA / "urdu"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} not available")
    frame = get_recipe("urdu").prepare(corpus)
    assert frame.groupby("original_label")["speaker"].nunique().to_dict() == {
        "A": 4, "H": 15, "N": 6, "S": 8,
    }  # fmt: skip
    assert not frame["file"].str.endswith("README.md").any()


@pytest.mark.corpora
def test_real_emodb_manifest_roundtrip(tmp_path):
    corpus = REAL_CORPORA / "emodb"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} not available")
    loaded = load_manifest(prepare_corpus("emodb", corpus, tmp_path))
    # boredom, disgust and fear fall outside the default 4-class space
    assert len(loaded.frame) == 127 + 79 + 71 + 62
    assert loaded.n_dropped_unmapped == 81 + 69 + 46
    assert all(Path(p).is_file() for p in loaded.frame["path"])
    assert sorted(loaded.frame["label"].unique()) == ["anger", "happiness", "neutral", "sadness"]
