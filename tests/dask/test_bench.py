"""``benchmarks/bench_dask.py --quick`` runs end to end (it never asserts a time)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from distributed import Client

from benchmarks import bench_dask


def test_quick_benchmark_reports_every_run(
    client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(bench_dask, "DATA", tmp_path / "data")
    address = str(client.scheduler_info()["address"])
    results = bench_dask.main(
        ["--quick", "--scheduler", address, "--shuffle", "--json", str(tmp_path / "r.json")]
    )
    assert results is not None
    assert [(r.engine, r.path) for r in results.runs] == [
        ("local", "id ranges"),
        ("dask", "id ranges"),
        ("dask", "id ranges"),
        ("dask", "shuffle"),
    ]
    big = results.runs[2]
    assert big.touches > results.runs[0].touches and big.partitions == 4
    assert all(len(r.worker_peaks_mb) == 2 for r in results.runs[1:])
    assert json.loads((tmp_path / "r.json").read_text())["runs"][3]["path"] == "shuffle"
    assert "the in-memory engine's time per million touches" in capsys.readouterr().out
