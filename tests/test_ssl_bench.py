"""The SSL benchmark's GPU-vs-CPU comparison: its models have the real architectures' size,
and its throughput measurement runs through paraser's engine (on the CPU here)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from conftest import bench_module  # noqa: E402
from tiny_ssl import SIZED_MODELS, model_classes, save_tiny_model  # noqa: E402


@pytest.mark.parametrize(("size", "millions"), [("xls-r-300m", 315.4), ("wavlm-base", 94.4)])
def test_sized_models_have_the_real_architectures_parameter_count(size, millions):
    model_type, options = SIZED_MODELS[size]
    config_class, model_class = model_classes(model_type)
    with torch.device("meta"):  # the shapes without the memory
        model = model_class(config_class(**options))
    count = sum(p.numel() for p in model.parameters()) / 1e6
    assert count == pytest.approx(millions, abs=0.1)


def test_throughput_runs_the_engine_on_the_cpu(tmp_path):
    ssl_bench = bench_module("ssl_bench")
    model = save_tiny_model(tmp_path / "tiny")
    result = ssl_bench.throughput(str(model), "cpu", 4)
    assert result["device"] == "cpu" and result["precision"] == "fp32"
    assert result["files_per_s"] > 0
