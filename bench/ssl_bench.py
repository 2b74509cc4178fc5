"""SSL feature extraction: throughput and bounded memory on long files.

    python bench/ssl_bench.py [--small]
    python bench/ssl_bench.py --devices [--small]   # only GPU fp16 vs CPU (on a GPU machine)

``run(small)`` returns printable lines (``bench/run.py`` calls it).  With a tiny
randomly initialised wav2vec2 (the architecture of XLS-R, 32 wide, 2 layers) it
measures

* throughput in audio-seconds per second: a 10-minute synthetic file (2 minutes
  with ``small``), cut into 20 s windows, and many 3 s clips batched by length
  versus one by one;
* peak memory while the long file is processed (RSS growth above the loaded,
  warmed-up model, from ``getrusage``; Python allocations from ``tracemalloc``,
  which does not see torch's buffers), next to an analytic bound for one
  batch of windows, which does not grow with the file; and next to the same
  file processed unwindowed where that is affordable, which does.

and files per second of XLS-R-300M- and WavLM-base-sized models (full-size
architectures, random weights) on CPU in fp32 and, where CUDA is available, on
the GPU in fp16, as paraser runs them (``--devices`` runs only this).

The real default model (facebook/wav2vec2-xls-r-300m) is measured too when it
is in the local Hugging Face cache; it is never downloaded.  Each measurement
runs in a fresh process so ``ru_maxrss`` is its own.  Times are printed, not
asserted; other jobs on the machine make them noisy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000


def synthetic_speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """A gliding harmonic tone with syllable-rate amplitude modulation and noise.

    Made 10 s at a time so that making a 10-minute file does not itself reach a
    higher memory peak than extracting it (``ru_maxrss`` only sees the highest).
    """
    rng = np.random.default_rng(seed)
    total = int(seconds * SAMPLE_RATE)
    out = np.empty(total, dtype=np.float32)
    offset = 0.0
    for start in range(0, total, 10 * SAMPLE_RATE):
        t = np.arange(start, min(total, start + 10 * SAMPLE_RATE)) / SAMPLE_RATE
        f0 = 140 * (1 + 0.2 * np.sin(2 * np.pi * 0.3 * t))
        phase = offset + 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
        offset = float(phase[-1])
        voiced = sum(np.sin(k * phase) / k for k in range(1, 10))
        envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
        chunk = 0.2 * voiced * envelope + 0.01 * rng.standard_normal(t.size)
        out[start : start + t.size] = chunk
    return out


def memory_bound_mb(config: dict, batch_samples: int, window_samples: int) -> float:
    """Rough peak of one forward pass over a full batch of windows (fp32), in MB.

    Input, the two largest convolution maps alive at once, every hidden state
    plus a pooling temporary, attention scores and probabilities, and the
    feed-forward activation: what a batch costs, whatever the file length.
    """
    windows = max(1, batch_samples // window_samples)
    frames = window_samples // 320
    conv = config["conv_dim"][0] * window_samples / config["conv_stride"][0]
    hidden = (config["num_hidden_layers"] + 1) * frames * config["hidden_size"] * 2
    attention = config["num_attention_heads"] * frames**2 * 2
    feed_forward = frames * config["intermediate_size"]
    per_window = window_samples + 2 * conv + hidden + attention + feed_forward
    return 4 * windows * per_window / 1e6


def measure(model: str, seconds: float, window_s: float, clips: int) -> dict:
    """In this (fresh) process: time and peak memory of one long file, then of short clips."""
    import dataclasses
    import resource
    import time
    import tracemalloc

    from paraser.features import resolve_feature_set

    spec = resolve_feature_set("ssl:all:meanstd", model=model, device="auto")
    spec = dataclasses.replace(spec, window_s=window_s)
    engine = spec.make_engine()
    engine(synthetic_speechlike(2.0))  # warm-up: lazy initialisation, allocator pools
    # Made before the baseline: generating it (float64 temporaries) peaks higher than
    # the extraction itself, and would be counted as the engine's memory otherwise.
    signal = synthetic_speechlike(seconds, seed=1)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    engine(signal)
    long_s = time.perf_counter() - started
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "device": spec.resolved_device,
        "long_s": long_s,
        "rss_growth_mb": (peak - baseline) / 1024,
        "python_peak_mb": python_peak / 1e6,
        "batch_samples": engine.max_batch_samples,
        "window_samples": engine.window,
    }
    if clips:
        short = [synthetic_speechlike(2.0 + (k % 5) * 0.5, seed=k) for k in range(clips)]
        started = time.perf_counter()
        engine.batch(short)
        result["batched_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for clip in short:
            engine(clip)
        result["single_s"] = time.perf_counter() - started
        result["clips_audio_s"] = sum(c.size for c in short) / SAMPLE_RATE
    return result


def throughput(model: str, device: str, clips: int) -> dict:
    """In this (fresh) process: files per second through ``engine.batch`` on ``device``."""
    import time

    from paraser.features import resolve_feature_set

    spec = resolve_feature_set("ssl:all:meanstd", model=model, device=device)
    engine = spec.make_engine()
    audio = [synthetic_speechlike(2.0 + (k % 6) * 0.5, seed=k) for k in range(clips)]
    engine.batch(audio[:2])  # warm-up: kernels chosen, allocator pools filled
    started = time.perf_counter()
    engine.batch(audio)  # returns arrays on the host: the device has finished
    seconds = time.perf_counter() - started
    name = "cpu"
    if spec.resolved_device.startswith("cuda"):
        import torch

        name = torch.cuda.get_device_name(spec.resolved_device)
    return {"device": name, "precision": spec.precision, "files_per_s": clips / seconds}


def _in_child(mode: str, *arguments: object) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, mode, json.dumps(arguments)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure_in_child(model: str, seconds: float, window_s: float, clips: int) -> dict:
    return _in_child("--measure", model, seconds, window_s, clips)


def _tests_on_path() -> None:
    """``tests/tiny_ssl.py`` makes the models: a test helper, not part of the library."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def device_comparison(small: bool) -> list[str]:
    """GPU (fp16) against CPU (fp32) in files per second, for full-size architectures
    (XLS-R-300M, WavLM-base) with random weights: the real models' compute, no download."""
    import torch

    _tests_on_path()
    from tiny_ssl import SIZED_MODELS, save_sized_model

    gpu = torch.cuda.is_available()
    lines = [
        "SSL extraction, files per second (2-4.5 s clips, batched by length; full-size "
        "architectures with random weights)"
    ]
    for size in SIZED_MODELS:
        with tempfile.TemporaryDirectory() as folder:
            model = str(save_sized_model(Path(folder) / size, size))
            cpu = _in_child("--throughput", model, "cpu", 2 if small else 8)
            text = f"  {size}-sized: CPU fp32 {cpu['files_per_s']:.2f} files/s"
            if gpu:
                device = _in_child("--throughput", model, "cuda", 32 if small else 256)
                text += (
                    f"; {device['device']} {device['precision']} "
                    f"{device['files_per_s']:.1f} files/s -> "
                    f"{device['files_per_s'] / cpu['files_per_s']:.0f}x the CPU"
                )
            else:
                text += "; no GPU on this machine: GPU fp16 not measured"
        lines.append(text)
    return lines


def _report(label: str, model: str, seconds: float, clips: int, config: dict) -> list[str]:
    lines = []
    windowed = _measure_in_child(model, seconds, 20.0, clips)
    bound = memory_bound_mb(config, windowed["batch_samples"], windowed["window_samples"])
    lines.append(
        f"  {label} on {windowed['device']}: {seconds / 60:.0f}-min file in 20 s windows: "
        f"{windowed['long_s']:.1f} s = {seconds / windowed['long_s']:.0f} audio-s/s; "
        f"RSS growth {windowed['rss_growth_mb']:.0f} MB (bound for one batch of windows "
        f"~{bound:.0f} MB, independent of file length); python peak "
        f"{windowed['python_peak_mb']:.1f} MB"
    )
    if clips:
        lines.append(
            f"  {label}: {clips} clips ({windowed['clips_audio_s']:.0f} s of audio): batched by "
            f"length {windowed['clips_audio_s'] / windowed['batched_s']:.0f} audio-s/s, one by "
            f"one {windowed['clips_audio_s'] / windowed['single_s']:.0f} audio-s/s"
        )
    # Unwindowed, attention grows with the square of the length: only a short file.
    short = min(seconds, 120.0)
    whole = _measure_in_child(model, short, short + 1, 0)
    lines.append(
        f"  {label}: {short:.0f}-s file unwindowed: RSS growth {whole['rss_growth_mb']:.0f} MB "
        f"(bound {memory_bound_mb(config, whole['window_samples'], whole['window_samples']):.0f}"
        f" MB) vs {_measure_in_child(model, short, 20.0, 0)['rss_growth_mb']:.0f} MB in 20 s "
        "windows"
    )
    return lines


def run(small: bool) -> list[str]:
    """Benchmark lines (tiny model always; the default XLS-R only if cached locally)."""
    from paraser.features.ssl import SSL_FAMILIES, SSLModelError, resolve_model_dir

    _tests_on_path()
    from tiny_ssl import save_tiny_model  # a test helper, not part of the library

    seconds = 120.0 if small else 600.0
    lines = ["SSL features (throughput in audio-seconds per second; times are not asserted)"]
    with tempfile.TemporaryDirectory() as folder:
        tiny = save_tiny_model(Path(folder) / "tiny-wav2vec2")
        config = json.loads((tiny / "config.json").read_text())
        lines += _report("tiny wav2vec2 (random, 32 wide)", str(tiny), seconds, 40, config)
    lines += device_comparison(small)
    default = SSL_FAMILIES["xlsr"]
    assert default is not None
    try:
        local = resolve_model_dir(default)
    except SSLModelError:
        lines.append(
            f"  {default}: not in the local Hugging Face cache, so not measured (paraser never "
            f"downloads; fetch it with `hf download {default}`)"
        )
        return lines
    config = json.loads((local / "config.json").read_text())
    lines += _report(default, default, 60.0 if small else seconds, 20, config)
    return lines


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(*json.loads(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--throughput":
        print(json.dumps(throughput(*json.loads(sys.argv[2]))))
    elif "--devices" in sys.argv:  # only the GPU-vs-CPU comparison (for a GPU machine)
        for text in device_comparison(small="--small" in sys.argv):
            print(text)
    else:
        for text in run(small="--small" in sys.argv):
            print(text)
