"""Shared benchmark plumbing: cached datasets, medians of repeated timings, fresh
processes, and a description of the machine."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.synthetic import generate

DATA = Path(
    os.environ.get("ATTRIBUTION_BENCH_DATA", Path(__file__).resolve().parent.parent / "bench_data")
)


def dataset(n_journeys: int, n_channels: int = 12, seed: int = 7) -> tuple[Path, Path]:
    """Touch and outcome parquet files of a synthetic dataset, generated once and cached."""
    folder = DATA / f"synthetic_{n_journeys}_{n_channels}_{seed}"
    touches, outcomes = folder / "touches.parquet", folder / "outcomes.parquet"
    if not (touches.exists() and outcomes.exists()):
        generate(n_journeys, n_channels, seed).write(folder)
    return touches, outcomes


def timed(function: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median and all wall times (seconds) of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def run_child(module: str, *args: str) -> str:
    """Run ``python -m module args`` in a fresh process and return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def report(results: Any, render: Callable[[Any], str], json_path: Path | None) -> None:
    """Print a benchmark's results (after the machine), and write them as JSON if asked."""
    print(f"Machine: {machine()}")
    print(render(results))
    if json_path:
        json_path.write_text(json.dumps(dataclasses.asdict(results), indent=1))


def machine() -> str:
    """CPU, cores, memory, Python and key library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("numpy", "pandas", "pyarrow", "numba", "scipy")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM; "
        f"Python {platform.python_version()}; {versions}"
    )
