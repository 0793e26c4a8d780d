"""Tasks for the fresh-process tests (``call tests.benchmarks.tasks:NAME``)."""

from __future__ import annotations

import time


def numbers(value: str) -> dict[str, float]:
    return {"value": float(value), "twice": 2 * float(value)}


def sleep(seconds: str) -> None:
    time.sleep(float(seconds))


def fails() -> None:
    raise ValueError("bad input")
