"""The CRM benchmark's generator and timed command run at a tiny size (the fresh
processes around them are :mod:`benchmarks.fresh`'s, tested in test_fresh.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from benchmarks import bench_journeys


def test_the_generated_exports_build_journeys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench_journeys.generate(tmp_path, 20_000, 4_000, 400, 2_000, 7)
    assert pq.read_metadata(tmp_path / "touches.parquet").num_rows == 20_000
    bench_journeys.child(str(tmp_path), ["--lookback", "180"])
    measured = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (
        measured["journey_touches"]
        == pq.read_metadata(tmp_path / "out" / "touches.parquet").num_rows
    )
    assert measured["journey_touches"] > 0
