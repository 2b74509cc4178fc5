"""Cost of augmented copies: eGeMAPS of augmented audio vs of the plain files.

    python bench/augment_bench.py [--small]

``run(small)`` returns printable lines (``bench/run.py`` calls it).  On EmoDB
(the registered manifest in the default four-class space: 339 files, 40 with
``small``) it times,
in one run and each in a fresh temporary cache, plain eGeMAPS extraction and
the extraction of one augmented copy per file for several recipes, all with
``jobs=2``.  Each figure is wall-clock seconds per second of audio extracted
(augmented audio for the recipes: tempo changes the length), so the ratio is
the price of augmenting on top of extracting.  Plain extraction is timed before
and after the recipes; other jobs on the machine make all of it noisy.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile

import soundfile as sf

RECIPES = ["noise:snr=5-20", "tempo:0.9-1.1", "pitch:-2..2", "channel:tel", "gain:-6..6"]
FEATURES = "egemaps"
JOBS = 2


def _subset(frame, n: int | None):
    """Every k-th row: all classes and speakers in a small subset."""
    if n is None or n >= len(frame):
        return frame
    step = len(frame) / n
    return frame.iloc[[int(i * step) for i in range(n)]].reset_index(drop=True)


def run(small: bool) -> list[str]:
    """Benchmark lines; says why when EmoDB is not available."""
    from paraser.corpora import load_manifest, resolve_corpus
    from paraser.features import extract_augmented, extract_features, parse_recipe

    try:
        frame = load_manifest(resolve_corpus("emodb")[1]).frame
    except Exception as exc:  # noqa: BLE001 - a bench without its corpus says so and stops
        return [f"augmentation cost: EmoDB not available ({exc}); nothing measured"]
    frame = _subset(frame, 40 if small else None)
    audio_seconds = sum(sf.info(path).duration for path in frame["path"])
    recipes = RECIPES + (["reverb"] if importlib.util.find_spec("pyroomacoustics") else [])
    lines = [
        f"augmentation cost: {FEATURES}, {len(frame)} EmoDB files ({audio_seconds:.0f} s of "
        f"audio), 1 copy per file, jobs={JOBS}, fresh cache per measurement"
    ]

    def plain() -> float:
        with tempfile.TemporaryDirectory() as cache:
            report = extract_features(frame, [FEATURES], cache_dir=cache, jobs=JOBS)
        return report.seconds

    with tempfile.TemporaryDirectory() as cache:  # start the worker pool outside the timings
        extract_features(frame.iloc[:2], [FEATURES], cache_dir=cache, jobs=JOBS)
    before = plain()
    results = []
    for text in recipes:
        recipe = parse_recipe(text)
        with tempfile.TemporaryDirectory() as cache:
            report = extract_augmented(frame, recipe, 1, [FEATURES], cache_dir=cache, jobs=JOBS)
            warm = extract_augmented(frame, recipe, 1, [FEATURES], cache_dir=cache, jobs=JOBS)
        results.append((recipe.name, report, warm))
    after = plain()
    base = (before + after) / 2 / audio_seconds
    lines.append(
        f"  plain {FEATURES}: {before:.2f} s before, {after:.2f} s after the recipes -> "
        f"{1000 * base:.1f} ms per audio-second"
    )
    for name, report, warm in results:
        failed = f", {len(report.failures)} failed" if not report.ok else ""
        cost = report.seconds / report.audio_seconds if report.audio_seconds else float("nan")
        lines.append(
            f"  {name}: {report.extracted[FEATURES]} copies{failed}, "
            f"{report.audio_seconds:.0f} s of augmented audio in {report.seconds:.2f} s -> "
            f"{1000 * cost:.1f} ms per augmented audio-second vs {1000 * base:.1f} unaugmented "
            f"-> {cost / base:.2f}x (cost model, not a target); warm re-run extracted "
            f"{warm.extracted[FEATURES]} in {warm.seconds:.2f} s"
        )
    return lines


if __name__ == "__main__":
    for text in run(small="--small" in sys.argv):
        print(text)
