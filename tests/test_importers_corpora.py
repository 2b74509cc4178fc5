"""The four shared corpora re-exported as nkululeko CSV, HF dataset and lhotse manifests give
the native recipes' results.csv (same files, labels, speakers, UARs); eGeMAPS + SVM."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import REPO, bench_module, shared_corpora_dir

CORPORA = ["emodb", "emovo", "turev", "urdu"]


@pytest.mark.corpora
@pytest.mark.slow
def test_reexported_corpora_give_the_native_results(tmp_path):
    if not all((shared_corpora_dir() / name).is_dir() for name in CORPORA):
        pytest.skip(f"{shared_corpora_dir()} lacks one of {CORPORA}")
    pytest.importorskip("datasets")
    pytest.importorskip("lhotse")
    roundtrip = bench_module("importers_roundtrip")
    # The project cache (or PARASER_CACHE) saves re-extracting; results do not depend on it.
    cache = Path(os.environ.get("PARASER_CACHE", REPO / "features_cache"))
    runs = roundtrip.roundtrip(
        CORPORA, tmp_path / "work", manifests_dir=REPO / "corpora_manifests", cache_dir=cache
    )
    native = runs.pop("native")
    assert set(native.source) == set(CORPORA) and (native.kind == "transfer").sum() == 12
    for fmt, results in runs.items():
        diff = roundtrip.differences(native, results)
        assert diff.empty, f"{fmt}:\n{diff.to_string()}"
