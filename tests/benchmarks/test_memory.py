"""Peak memory is the process's own, not inherited from the process that started it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from benchmarks.memory import peak_memory_mb, reset_peak_memory, resident_memory_mb

CHILD = "from benchmarks.memory import peak_memory_mb; print(peak_memory_mb())"


def test_a_child_does_not_report_its_parents_peak() -> None:
    held = np.ones(25_000_000)  # 200 MB, every page touched
    parent = peak_memory_mb()
    assert parent > 200
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    assert float(done.stdout) < parent - 150  # an interpreter and one small module
    del held


def test_reset_restarts_the_peak_from_what_is_resident() -> None:
    spike = np.ones(25_000_000)  # 200 MB
    del spike
    reset_peak_memory()
    assert peak_memory_mb() < resident_memory_mb() + 100
