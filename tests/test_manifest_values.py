"""Manifest loading and writing, value by value and message by message (issue 22, MUTATION.md).

Small CSVs written by each test, no corpus and no audio: every column of a loaded manifest,
every problem's whole message (file, line, values), the segment rules, the sidecar and the
fingerprint, checked against values worked out by hand.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from paraser.corpora.labels import LabelMap
from paraser.corpora.manifest import (
    MANIFEST_COLUMNS,
    REQUIRED_COLUMNS,
    SEGMENT_COLUMNS,
    LoadedManifest,
    ManifestError,
    column_names,
    corpus_root,
    load_manifest,
    manifest_hash,
    read_manifest_csv,
    read_metadata,
    segment_seconds,
    sidecar_path,
    write_manifest,
)
from paraser.corpora.recipes._common import AUDIO_EXTENSIONS


def _csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path, message: str, **kwargs) -> None:
    """Loading ``path`` fails with exactly ``message``."""
    with pytest.raises(ManifestError) as info:
        load_manifest(path, **kwargs)
    assert str(info.value) == message


# --- load_manifest: the loaded columns ------------------------------------------------------


def test_every_column_of_a_loaded_manifest(tmp_path):
    csv = _csv(
        tmp_path / "corpus" / "emo.csv",
        "file,label,speaker,gender,take\n"
        " a.wav ,Angry, s1 ,f,1\n"
        "sub/b.WAV,sad,s2,,2\n"
        "c.wav,bored,s1,m,3\n",
    )
    loaded = load_manifest(csv)
    frame = loaded.frame
    assert list(frame.columns) == [*MANIFEST_COLUMNS, "take"]
    root = os.path.abspath(tmp_path / "corpus")
    assert frame.to_dict("list") == {
        "corpus": ["emo", "emo"],
        "utterance": ["a.wav", "sub/b.WAV"],  # file, whitespace stripped
        "path": [os.path.join(root, "a.wav"), os.path.join(root, "sub", "b.WAV")],
        "label": ["anger", "sadness"],
        "original_label": ["Angry", "sad"],
        "speaker": ["emo:s1", "emo:s2"],
        "language": ["", ""],
        "gender": ["f", ""],
        "take": ["1", "2"],
    }
    for column in ("utterance", "path", "original_label", "speaker", "language", "gender"):
        # pandas' nullable string (missing is <NA>), not the NaN-backed default str dtype.
        assert frame[column].dtype == pd.StringDtype(), column
    assert list(frame.index) == [0, 1]
    assert loaded.source == csv and loaded.name == "emo"
    assert loaded.n_dropped_unmapped == 1 and loaded.dropped_labels == {"bored": 1}
    assert loaded.outside.to_dict("list")["utterance"] == ["c.wav"]
    assert loaded.outside["label"].isna().all() and list(loaded.outside.index) == [0]
    assert loaded.outside["speaker"].tolist() == ["emo:s1"]
    assert list(loaded.outside.columns) == list(frame.columns)


def test_names_label_maps_and_unmapped_labels(tmp_path):
    csv = _csv(
        tmp_path / "m.csv",
        "file,label,speaker\na.wav,calm,s\nb.wav,fear,s\nc.wav,xyz,t\nd.wav,xyz,t\ne.wav,sad,u\n",
    )
    loaded = load_manifest(csv, name="other")
    assert loaded.name == "other" and set(loaded.frame.corpus) == {"other"}
    assert loaded.frame.speaker.tolist() == ["other:u"]
    assert loaded.frame.gender.tolist() == [""] and loaded.frame.language.tolist() == [""]
    everything = load_manifest(csv, map_labels=False).frame
    # Without gender and language columns every row has them empty (not missing).
    assert everything.gender.tolist() == [""] * 5 and everything.language.tolist() == [""] * 5
    assert everything.gender.dtype == pd.StringDtype()
    # Outside the default four classes; counted by the manifest's label, most frequent first.
    assert loaded.dropped_labels == {"xyz": 2, "calm": 1, "fear": 1}
    assert loaded.n_dropped_unmapped == 4
    assert loaded.outside.utterance.tolist() == ["a.wav", "b.wav", "c.wav", "d.wav"]
    mapping = LabelMap(classes=("neutral", "fear"), overrides={"Calm": "neutral"})
    mapped = load_manifest(csv, label_map=mapping).frame
    assert mapped.label.tolist() == ["neutral", "fear"]
    unmapped = load_manifest(csv, map_labels=False)
    assert unmapped.frame.label.tolist() == ["calm", "fear", "xyz", "xyz", "sad"]
    assert unmapped.frame.label.dtype == "string"
    assert unmapped.n_dropped_unmapped == 0 and unmapped.dropped_labels == {}
    assert unmapped.outside.empty


def test_the_name_of_a_manifest_without_rows_is_its_file_name(tmp_path):
    empty = LoadedManifest(
        frame=pd.DataFrame(columns=list(MANIFEST_COLUMNS)),
        source=tmp_path / "x.csv",
        n_dropped_unmapped=0,
        dropped_labels={},
    )
    assert empty.name == "x" and empty.outside is None
    csv = _csv(tmp_path / "none.csv", "file,label,speaker\na.wav,xyz,s\n")
    assert load_manifest(csv).name == "none"


def test_the_sidecar_language_fills_rows_without_one(tmp_path):
    csv = _csv(tmp_path / "m.csv", "file,label,speaker\na.wav,sad,s\n")
    _csv(tmp_path / "m.json", '{"language": "ur"}')
    assert load_manifest(csv).frame.language.tolist() == ["ur"]
    with_column = _csv(tmp_path / "n.csv", "file,label,speaker,language\na.wav,sad,s,de\n")
    _csv(tmp_path / "n.json", '{"language": "ur"}')
    frame = load_manifest(with_column).frame
    assert frame.language.tolist() == ["de"] and list(frame.columns) == list(MANIFEST_COLUMNS)
    assert frame.language.dtype == pd.StringDtype()
    _csv(tmp_path / "m.json", '{"language": ""}')
    assert load_manifest(csv).frame.language.tolist() == [""]


# --- paths and the sidecar ------------------------------------------------------------------


def test_paths_are_joined_to_the_root_lexically_and_absolute_ones_kept(tmp_path):
    outside = tmp_path / "elsewhere" / "z.flac"
    csv = _csv(
        tmp_path / "c" / "m.csv",
        f"file,label,speaker\n./x/../a.wav,sad,s\n{outside},sad,s\nd/e.Opus,sad,s\n",
    )
    root = os.path.abspath(tmp_path / "c")
    assert load_manifest(csv).frame.path.tolist() == [
        os.path.join(root, "a.wav"),
        str(outside),
        os.path.join(root, "d", "e.Opus"),
    ]


def test_a_sidecar_root_relative_absolute_or_missing(tmp_path):
    csv = _csv(tmp_path / "manifests" / "m.csv", "file,label,speaker\na.wav,sad,s\n")
    assert sidecar_path(csv) == tmp_path / "manifests" / "m.json"
    assert read_metadata(csv) == {} and corpus_root(csv) == tmp_path / "manifests"
    _csv(sidecar_path(csv), '{"root": "../audio", "source": "x"}')
    assert read_metadata(csv) == {"root": "../audio", "source": "x"}
    assert corpus_root(csv) == tmp_path / "manifests" / "../audio"
    expected = os.path.normpath(tmp_path / "audio" / "a.wav")
    assert load_manifest(csv).frame.path.tolist() == [expected]
    _csv(sidecar_path(csv), json.dumps({"root": str(tmp_path / "abs")}))
    assert corpus_root(csv) == tmp_path / "abs"
    _csv(sidecar_path(csv), '{"root": ""}')
    assert corpus_root(csv) == tmp_path / "manifests"
    bad = _csv(sidecar_path(csv), "{root")
    with pytest.raises(ManifestError) as info:
        read_metadata(csv)
    assert str(info.value).startswith(f"{bad}: invalid JSON: Expecting property name")


def test_a_file_outside_the_root_or_without_an_audio_extension_is_refused(tmp_path):
    root = os.path.abspath(tmp_path)
    escape = _csv(tmp_path / "e.csv", "file,label,speaker\na.wav,sad,s\nx/../../b.wav,sad,s\n")
    _refused(escape, f"{escape}: line 3: file 'x/../../b.wav' escapes the corpus root {root}")
    known = ", ".join(sorted(AUDIO_EXTENSIONS))
    text = _csv(tmp_path / "t.csv", "file,label,speaker\na.txt,sad,s\n")
    _refused(text, f"{text}: line 2: file 'a.txt' has no audio extension (known: {known})")
    # A root whose name another folder's name extends is not inside it.
    sibling = _csv(tmp_path / "c" / "m.csv", "file,label,speaker\n../c2/a.wav,sad,s\n")
    _refused(
        sibling,
        f"{sibling}: line 2: file '../c2/a.wav' escapes the corpus root "
        f"{os.path.abspath(tmp_path / 'c')}",
    )


def test_two_spellings_of_one_file_are_one_utterance(tmp_path):
    csv = _csv(
        tmp_path / "m.csv",
        "file,label,speaker\na.wav,sad,s\nb.wav,sad,s\n./a.wav,sad,s\nx/../b.wav,sad,s\n"
        "c.wav,sad,s\nx/../a.wav,sad,s\n",
    )
    _refused(
        csv,
        f"{csv}: 3 row(s) name a file another row names too, e.g. "
        "['line 2: a.wav', 'line 3: b.wav', 'line 4: ./a.wav', 'line 5: x/../b.wav']",
    )
    # One file cut into different segments is fine.
    segments = _csv(
        tmp_path / "s.csv", "file,label,speaker,start,end\na.wav,sad,s,0,1\n./a.wav,sad,s,1,2\n"
    )
    assert load_manifest(segments).frame.utterance.tolist() == ["a.wav#t=0,1", "./a.wav#t=1,2"]


# --- read_manifest_csv: problems and their lines --------------------------------------------


def test_a_missing_or_unreadable_manifest(tmp_path):
    missing = tmp_path / "nope.csv"
    _refused(missing, f"{missing}: manifest not found")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    _refused(folder, f"{folder}: manifest not found")
    empty = _csv(tmp_path / "empty.csv", "")
    _refused(empty, f"{empty}: not a readable CSV manifest: No columns to parse from file")
    binary = tmp_path / "latin.csv"
    binary.write_bytes(b"file,label,speaker\n\xe9.wav,sad,s\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(binary)
    assert str(info.value).startswith(f"{binary}: not a readable CSV manifest: 'utf-8' codec")
    # csv reads an unclosed quote as one field (the header has one); pandas refuses it.
    quote = _csv(tmp_path / "quote.csv", 'file\n"a.wav\n')
    with pytest.raises(ManifestError) as info:
        read_manifest_csv(quote)
    assert str(info.value) == (
        f"{quote}: not a readable CSV manifest: Error tokenizing data. C error: EOF inside "
        "string starting at row 1"
    )


def test_required_columns_and_rows(tmp_path):
    assert REQUIRED_COLUMNS == ("file", "label", "speaker")
    csv = _csv(tmp_path / "m.csv", "file,label,take\na.wav,sad,1\n")
    _refused(
        csv,
        f"{csv}: missing required column(s) ['speaker']; a manifest needs file, label, speaker "
        "(found: file, label, take); other names can stand in: "
        "paraser --file-column/--label-column/--speaker-column",
    )
    header = _csv(tmp_path / "h.csv", "file,label,speaker\n")
    _refused(header, f"{header}: no utterance rows")


def test_empty_values_name_their_count_and_first_five_lines(tmp_path):
    rows = "".join(f"{i}.wav,sad,{'' if i % 2 else 's'}\n" for i in range(14))
    csv = _csv(tmp_path / "m.csv", "file,label,speaker\n" + rows)
    _refused(csv, f"{csv}: empty 'speaker' in 7 row(s), e.g. line(s) [3, 5, 7, 9, 11]")
    blank = _csv(tmp_path / "b.csv", "file,label,speaker\na.wav,  ,s\n")
    _refused(blank, f"{blank}: empty 'label' in 1 row(s), e.g. line(s) [2]")
    # Lines count the CSV's lines: a blank line and a quoted value over two lines.
    lines = _csv(
        tmp_path / "l.csv", 'file,label,speaker\n\na.wav,"sad\nly",s\n\nb.wav,sad,s\n,sad,s\n'
    )
    _refused(lines, f"{lines}: empty 'file' in 1 row(s), e.g. line(s) [7]")
    first = _csv(tmp_path / "f.csv", "file,label,speaker\n,sad,s\nb.wav,sad,s\n")
    _refused(first, f"{first}: empty 'file' in 1 row(s), e.g. line(s) [2]")


def test_a_line_of_spaces_is_skipped_like_a_blank_line(tmp_path):
    csv = _csv(tmp_path / "m.csv", "file,label,speaker\n\na.wav,sad,s\n   \nc.wav,sad,s\n")
    frame = read_manifest_csv(csv)
    assert frame.file.tolist() == ["a.wav", "c.wav"] and frame.attrs["lines"] == [3, 5]


def test_a_row_of_blank_fields_is_an_empty_row_on_its_own_line(tmp_path):
    # csv skips the blank-field record pandas keeps: rows are then numbered from line 2.
    csv = _csv(tmp_path / "m.csv", "file,label,speaker\na.wav,sad,s\n , , \nc.wav,sad,s\n")
    _refused(csv, f"{csv}: empty 'file' in 1 row(s), e.g. line(s) [3]")


def test_a_record_with_the_wrong_number_of_fields_names_its_line(tmp_path):
    csv = _csv(tmp_path / "m.csv", "file,label,speaker\n\na.wav,sad,s\nb.wav,Smith, J,s\n")
    _refused(
        csv,
        f"{csv}: line 4 has 4 field(s), the header 3 (file, label, speaker); "
        "quote a value holding a comma",
    )
    short = _csv(tmp_path / "s.csv", "file,label,speaker\na.wav,sad\n")
    _refused(
        short,
        f"{short}: line 2 has 2 field(s), the header 3 (file, label, speaker); "
        "quote a value holding a comma",
    )


def test_duplicate_rows_name_the_first_three(tmp_path):
    rows = "a.wav,sad,s\n" * 5 + "b.wav,sad,s\n"
    csv = _csv(tmp_path / "m.csv", "file,label,speaker\n" + rows)
    _refused(
        csv,
        f"{csv}: 4 duplicate file row(s), e.g. ['line 3: a.wav', 'line 4: a.wav', 'line 5: a.wav']",
    )
    # The same file with other bounds is another segment; the same bounds are a duplicate.
    same = _csv(
        tmp_path / "s.csv", "file,label,speaker,start,end\na.wav,sad,s,1,2\na.wav,x,s,1,2\n"
    )
    _refused(same, f"{same}: 1 duplicate file row(s), e.g. ['line 3: a.wav']")


def test_read_manifest_csv_strips_and_keeps_every_column(tmp_path):
    csv = _csv(tmp_path / "m.csv", "file,label,speaker,note\n a.wav , sad , s ,  x \n")
    frame = read_manifest_csv(csv)
    assert frame.to_dict("list") == {
        "file": ["a.wav"],
        "label": ["sad"],
        "speaker": ["s"],
        "note": ["  x "],
    }
    assert frame.attrs["lines"] == [2]
    # A value pandas would read as missing stays text.
    assert read_manifest_csv(
        _csv(tmp_path / "n.csv", "file,label,speaker\nNA.wav,NA,NA\n")
    ).to_dict("list") == {"file": ["NA.wav"], "label": ["NA"], "speaker": ["NA"]}


# --- column names ---------------------------------------------------------------------------


def test_other_column_names_stand_in_within_the_block_only(tmp_path):
    csv = _csv(
        tmp_path / "m.csv",
        "wav,emotion,label,spk,speaker\na.wav,sad,ignored,p,ignored-too\n",
    )
    with column_names(file="wav", label="emotion", speaker="spk"):
        frame = read_manifest_csv(csv)
        loaded = load_manifest(csv)
    # The given columns replace the standard ones they shadow.
    assert frame.to_dict("list") == {"file": ["a.wav"], "label": ["sad"], "speaker": ["p"]}
    assert loaded.frame.label.tolist() == ["sadness"]
    with pytest.raises(ManifestError, match=r"missing required column\(s\) \['file'\]"):
        read_manifest_csv(csv)
    plain = _csv(tmp_path / "p.csv", "file,label,speaker\na.wav,sad,s\n")
    with column_names(label="emotion", file=None, speaker=""):
        # A CSV without the named column keeps its standard one.
        assert read_manifest_csv(plain).label.tolist() == ["sad"]
    with column_names(label="label"):  # a standard name for itself: nothing dropped
        assert read_manifest_csv(plain).label.tolist() == ["sad"]
    partial = _csv(tmp_path / "q.csv", "file,emotion,label,speaker\na.wav,sad,x,s\n")
    with column_names(label="emotion"):
        assert read_manifest_csv(partial).to_dict("list") == {
            "file": ["a.wav"],
            "label": ["sad"],
            "speaker": ["s"],
        }


# --- segments -------------------------------------------------------------------------------


def test_segment_seconds_from_numbers_and_timedeltas():
    values = pd.Series(["1.5", " 2 ", "", "NaT", "nan", "None", "0 days 00:00:01.500000", "x"])
    seconds = segment_seconds(values).tolist()
    assert seconds[:2] == [1.5, 2.0]
    assert all(math.isnan(v) for v in seconds[2:6])
    assert seconds[6] == 1.5 and seconds[7] is None
    assert segment_seconds(pd.Series([pd.Timedelta(seconds=3), 4.0])).tolist() == [3.0, 4.0]
    assert segment_seconds(pd.Series(["-1"])).tolist() == [-1.0]


def test_segment_rows_are_normalised_and_named(tmp_path):
    csv = _csv(
        tmp_path / "m.csv",
        "file,label,speaker,start,end\n"
        "a.wav,sad,s,0,\n"  # the whole file
        "b.wav,sad,s,0.0,\n"
        "c.wav,sad,s,,2.5\n"
        "d.wav,sad,s,1,2\n"
        "e.wav,sad,s,0 days 00:00:01.250000,\n"
        "f.wav,sad,s,,\n",
    )
    frame = read_manifest_csv(csv)
    assert frame.start.tolist() == ["", "", "", "1.0", "1.25", ""]
    assert frame.end.tolist() == ["", "", "2.5", "2.0", "", ""]
    loaded = load_manifest(csv).frame
    assert loaded.utterance.tolist() == [
        "a.wav",
        "b.wav",
        "c.wav#t=0,2.5",
        "d.wav#t=1,2",
        "e.wav#t=1.25,",
        "f.wav",
    ]
    assert loaded.start.tolist() == frame.start.tolist()
    assert loaded.utterance.dtype == pd.StringDtype()
    start_only = _csv(tmp_path / "s.csv", "file,label,speaker,start\na.wav,sad,s,3\nb.wav,sad,s,\n")
    assert load_manifest(start_only).frame.utterance.tolist() == ["a.wav#t=3,", "b.wav"]
    end_only = _csv(tmp_path / "e.csv", "file,label,speaker,end\na.wav,sad,s,4\nb.wav,sad,s,\n")
    assert load_manifest(end_only).frame.utterance.tolist() == ["a.wav#t=0,4", "b.wav"]
    # Whole-file spellings are one: '0' and '' with no end are the same utterance.
    twice = _csv(
        tmp_path / "t.csv", "file,label,speaker,start,end\na.wav,sad,s,0,\na.wav,sad,s,,\n"
    )
    _refused(twice, f"{twice}: 1 duplicate file row(s), e.g. ['line 3: a.wav']")
    assert SEGMENT_COLUMNS == ("start", "end")


def test_bad_segment_bounds_name_their_lines(tmp_path):
    rows = "".join(f"{i}.wav,sad,s,{'-1' if i % 2 else '1'},\n" for i in range(14))
    csv = _csv(tmp_path / "m.csv", "file,label,speaker,start,end\n" + rows)
    _refused(
        csv,
        f"{csv}: 'start' must be seconds >= 0 or a timedelta (or empty), e.g. "
        "line(s) [3, 5, 7, 9, 11]",
    )
    text = _csv(tmp_path / "t.csv", "file,label,speaker,end\na.wav,sad,s,soon\n")
    _refused(
        text, f"{text}: 'end' must be seconds >= 0 or a timedelta (or empty), e.g. line(s) [2]"
    )
    zero = _csv(tmp_path / "z.csv", "file,label,speaker,start\na.wav,sad,s,0\nb.wav,sad,s,-0.5\n")
    _refused(
        zero, f"{zero}: 'start' must be seconds >= 0 or a timedelta (or empty), e.g. line(s) [3]"
    )
    rows = "".join(f"{i}.wav,sad,s,2,{e}\n" for i, e in enumerate(["3", "2", "1", "", "2.5"] * 2))
    order = _csv(tmp_path / "o.csv", "file,label,speaker,start,end\n" + rows)
    _refused(order, f"{order}: segment 'end' not after 'start' on line(s) [3, 4, 8, 9]")
    rows = "".join(f"{i}.wav,sad,s,2,1\n" for i in range(7))
    many = _csv(tmp_path / "n.csv", "file,label,speaker,start,end\n" + rows)
    _refused(many, f"{many}: segment 'end' not after 'start' on line(s) [2, 3, 4, 5, 6]")
    at_zero = _csv(tmp_path / "a.csv", "file,label,speaker,start,end\na.wav,sad,s,,0\n")
    _refused(at_zero, f"{at_zero}: segment 'end' not after 'start' on line(s) [2]")
    fine = _csv(tmp_path / "f.csv", "file,label,speaker,start,end\na.wav,sad,s,,0.001\n")
    assert load_manifest(fine).frame.utterance.tolist() == ["a.wav#t=0,0.001"]


# --- write_manifest and the fingerprint -----------------------------------------------------


def test_write_manifest_writes_portable_paths_and_the_root(tmp_path):
    audio = tmp_path / "audio"
    outside = tmp_path / "elsewhere" / "z.wav"
    frame = pd.DataFrame(
        {
            "file": ["x/a.wav", str(audio / "b.wav"), str(outside)],
            "label": ["sad", "angry", "sad"],
            "speaker": ["p", "q", "p"],
            "take": [1, 2, 3],
        }
    )
    metadata = {"language": "ur"}
    csv = write_manifest(frame, tmp_path / "deep" / "manifests" / "c.csv", audio, metadata)
    assert csv == tmp_path / "deep" / "manifests" / "c.csv"
    assert csv.read_text() == (
        f"file,label,speaker,take\nx/a.wav,sad,p,1\nb.wav,angry,q,2\n{outside.as_posix()},sad,p,3\n"
    )
    assert sidecar_path(csv).read_text() == ('{\n  "language": "ur",\n  "root": "../../audio"\n}\n')
    assert metadata == {"language": "ur"} and frame.file.iloc[0] == "x/a.wav"
    loaded = load_manifest(csv).frame
    assert loaded.path.tolist() == [
        os.path.normpath(audio / "x" / "a.wav"),
        os.path.normpath(audio / "b.wav"),
        str(outside),
    ]
    bare = write_manifest(frame.iloc[:1], tmp_path / "c2.csv", tmp_path)
    assert json.loads(sidecar_path(bare).read_text()) == {"root": "."}
    # A relative path that climbs out of the root stays relative (and loading refuses it).
    up = write_manifest(frame.assign(file="../up.wav").iloc[:1], tmp_path / "u.csv", audio)
    assert up.read_text().splitlines()[1] == "../up.wav,sad,p,1"


def test_write_manifest_refuses_a_frame_without_the_required_columns(tmp_path):
    frame = pd.DataFrame({"file": ["a.wav"], "label": ["sad"]})
    with pytest.raises(ManifestError) as info:
        write_manifest(frame, tmp_path / "m.csv", tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'm.csv'}: refusing to write a manifest without ['speaker']"
    )
    assert not (tmp_path / "m.csv").exists() and not (tmp_path / "m.json").exists()


def test_the_fingerprint_is_of_utterances_labels_and_speakers_in_any_order():
    frame = pd.DataFrame(
        {
            "utterance": ["b.wav", "a.wav"],
            "label": ["sad", "anger"],
            "speaker": ["c:q", "c:p"],
            "path": ["/x/b.wav", "/x/a.wav"],
        }
    )
    text = "utterance,label,speaker\na.wav,anger,c:p\nb.wav,sad,c:q\n"
    expected = hashlib.sha256(text.encode()).hexdigest()[:16]
    assert manifest_hash(frame) == expected
    assert manifest_hash(frame.iloc[::-1]) == expected
    assert manifest_hash(frame.assign(path="/elsewhere")) == expected
    assert manifest_hash(frame.assign(label=["sad", "sadness"])) != expected
    assert re.fullmatch(r"[0-9a-f]{16}", expected)
