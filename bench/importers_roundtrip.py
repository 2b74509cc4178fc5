"""Re-export registered corpora as a nkululeko CSV, a Hugging Face dataset and lhotse
manifests, import each back with its recipe, and compare the transfer matrices.

Every export keeps the corpus name, so features come from the same cache entries
(keyed by audio content): a difference in ``results.csv`` can only come from files,
labels or speakers the importer got wrong.

    python bench/importers_roundtrip.py --work /tmp/roundtrip emodb emovo turev urdu

Prints, per format, whether ``results.csv`` equals the native one (and where not,
the rows that differ); exit status 1 when any differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from paraser.corpora import load_manifest, resolve_corpus
from paraser.corpora.recipes import prepare_corpus
from paraser.runs.transfer import transfer_matrix

FORMATS = ("nkululeko", "hf_dataset", "lhotse")


def native_rows(name: str, manifests_dir: Path | None) -> pd.DataFrame:
    """file (absolute), emotion (canonical), speaker (the corpus' own id), gender."""
    _, path = resolve_corpus(name, manifests_dir)
    frame = load_manifest(path, name=name, map_labels=False).frame
    return pd.DataFrame(
        {
            "file": frame["path"].astype(str),
            "speaker": frame["speaker"].str.removeprefix(f"{name}:").astype(str),
            "gender": frame["gender"].astype(str),
            "emotion": frame["label"].astype(str),
        }
    )


def export_nkululeko(rows: pd.DataFrame, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.csv"
    rows.to_csv(path, index=False)
    return path


def export_hf_dataset(rows: pd.DataFrame, folder: Path) -> Path:
    import datasets

    emotions = sorted(set(rows["emotion"]))
    features = datasets.Features(
        {
            "audio": {"bytes": datasets.Value("binary"), "path": datasets.Value("string")},
            "emotion": datasets.ClassLabel(names=emotions),
            "speaker": datasets.Value("string"),
            "gender": datasets.Value("string"),
        }
    )
    table = {
        "audio": [{"path": f, "bytes": None} for f in rows["file"]],
        "emotion": [emotions.index(e) for e in rows["emotion"]],
        "speaker": rows["speaker"].tolist(),
        "gender": rows["gender"].tolist(),
    }
    dataset = datasets.Dataset.from_dict(table, features=features)
    # save_to_disk embeds each file's bytes: the importer must write them back out.
    dataset.cast_column("audio", datasets.Audio(decode=False)).save_to_disk(str(folder))
    return folder


def export_lhotse(rows: pd.DataFrame, folder: Path) -> Path:
    import lhotse

    folder.mkdir(parents=True, exist_ok=True)
    recordings, supervisions = [], []
    for k, row in enumerate(rows.itertuples(index=False)):
        recording = lhotse.Recording.from_file(row.file, recording_id=f"r{k:05d}")
        recordings.append(recording)
        supervisions.append(
            lhotse.SupervisionSegment(
                id=f"s{k:05d}",
                recording_id=recording.id,
                start=0.0,
                duration=recording.duration,
                speaker=row.speaker,
                gender=row.gender or None,
                custom={"emotion": row.emotion},
            )
        )
    lhotse.RecordingSet.from_recordings(recordings).to_file(folder / "recordings.jsonl.gz")
    lhotse.SupervisionSet.from_segments(supervisions).to_file(folder / "supervisions.jsonl.gz")
    return folder


EXPORTERS = {
    "nkululeko": export_nkululeko,
    "hf_dataset": export_hf_dataset,
    "lhotse": export_lhotse,
}

#: Options each recipe needs to read what its exporter wrote.
IMPORT_OPTIONS = {"hf_dataset": {"label_column": "emotion"}}


def roundtrip(
    corpora: list[str],
    work: Path,
    *,
    manifests_dir: Path | None = None,
    cache_dir: Path = Path("features_cache"),
    formats: tuple[str, ...] = FORMATS,
    jobs: int = 1,
) -> dict[str, pd.DataFrame]:
    """results.csv of the native corpora and of each format's re-import, by format."""
    runs = {"native": _run(corpora, work / "native", manifests_dir, cache_dir, jobs)}
    for fmt in formats:
        registry = work / fmt / "manifests"
        for name in corpora:
            exported = EXPORTERS[fmt](native_rows(name, manifests_dir), work / fmt / name)
            options = dict(IMPORT_OPTIONS.get(fmt, {}))
            if fmt == "hf_dataset":
                options["audio_dir"] = work / fmt / "audio" / name
            prepare_corpus(fmt, exported, registry, name, **options)
        runs[fmt] = _run(corpora, work / fmt, registry, cache_dir, jobs)
    return runs


def _run(corpora, folder: Path, manifests_dir, cache_dir: Path, jobs: int) -> pd.DataFrame:
    run = transfer_matrix(
        corpora,
        ["egemaps"],
        ["svm"],
        out=folder / "run",
        cache_dir=cache_dir,
        manifests_dir=manifests_dir,
        jobs=jobs,
    )
    return pd.read_csv(Path(run.out) / "results.csv")


def differences(native: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``other`` that differ from ``native`` (empty when results are equal)."""
    columns = list(native.columns)
    if list(other.columns) != list(native.columns) or len(other) != len(native):
        return other
    left, right = native[columns].astype(str), other[columns].astype(str)
    # Missing on both sides is equal (pandas keeps NaN missing through astype(str)).
    both_missing = native[columns].isna().to_numpy() & other[columns].isna().to_numpy()
    return other[((left != right).to_numpy() & ~both_missing).any(axis=1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--manifests", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=Path("features_cache"))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args(argv)
    runs = roundtrip(
        args.corpora, args.work, manifests_dir=args.manifests, cache_dir=args.cache_dir,
        formats=tuple(args.formats.split(",")), jobs=args.jobs,
    )  # fmt: skip
    native = runs.pop("native")
    print(native[["kind", "source", "target", "uar", "n_train", "n_test"]].to_string())
    failed = False
    for fmt, results in runs.items():
        diff = differences(native, results)
        failed |= not diff.empty
        verdict = "identical" if diff.empty else f"{len(diff)} row(s) differ"
        print(f"{fmt}: results.csv {verdict} ({len(results)} rows)")
        if not diff.empty:
            print(diff.to_string())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
