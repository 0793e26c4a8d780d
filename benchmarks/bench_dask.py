"""The Dask engine at scale: memory bounded by the partition, not the data.

    python -m benchmarks.bench_dask                   # 100M touches, 2 workers x 4 GB
    python -m benchmarks.bench_dask --quick           # seconds: 20k touches

The data are the speed benchmarks' synthetic journeys (:mod:`benchmarks.synthetic`: 12
channels, ~10 touches per journey), written by this script in chunks of
``--journeys-per-file`` journeys, each chunk a hive partition ``chunk=NNNNN`` of the touch
and the outcome datasets, ids increasing (so the engine finds from the row groups' id
ranges that each file holds whole journeys, and reads it as one partition without a
shuffle); the datasets are cached in ``bench_data/``. Models: every rule model, Markov of orders 1,
2 and 3, and exact Shapley, in one run.

Reported, for the Dask engine on a fresh ``LocalCluster`` (``--workers`` processes of
``--threads`` threads, ``--memory-limit`` each; ``--scheduler`` uses a running cluster
instead) at ``--touches`` and at ``--local-touches``, and for the in-memory engine (in a
fresh process) at ``--local-touches``: wall time (reading and validating included), time
per million touches, each worker's peak memory (its ``VmHWM``) and the client's (which
hosts the local cluster's scheduler), and whether a worker was restarted (e.g. for
exceeding its memory limit). ``--shuffle`` also runs the Dask engine on the same files
through the shuffle (forced by asking for a partition count).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import DATA, machine
from benchmarks.memory import peak_memory_mb, reset_peak_memory
from benchmarks.synthetic import generate

SEED = 11


def run_child(module: str, *args: str) -> str:
    """Run ``python -m module args`` in a fresh process and return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=True
    )
    return done.stdout


@dataclasses.dataclass
class Run:
    """One timed run of an engine."""

    engine: str
    touches: int
    seconds: float
    client_peak_mb: float
    worker_peaks_mb: list[float] = dataclasses.field(default_factory=list)
    workers_restarted: int = 0
    path: str = "id ranges"
    partitions: int = 1

    @property
    def seconds_per_million(self) -> float:
        return self.seconds / (self.touches / 1e6)


@dataclasses.dataclass
class Results:
    runs: list[Run]
    workers: int
    threads: int
    memory_limit: str


def models() -> dict[str, Any]:
    """Every rule model, Markov of orders 1-3, exact Shapley (12 channels: exact)."""
    from attribution.models.markov import Markov
    from attribution.models.registry import RULE_MODELS, all_models, make_model

    # The rule models "all" runs (custom_stage needs milestones named).
    rules = [name for name in RULE_MODELS if name in all_models()]
    chosen: dict[str, Any] = {name: make_model(name) for name in rules}
    chosen.update({f"markov_order_{k}": Markov(order=k) for k in (1, 2, 3)})
    chosen["shapley"] = make_model("shapley")
    return chosen


def dataset(touches: int, journeys_per_file: int) -> tuple[Path, Path, int]:
    """The hive-partitioned touch and outcome folders of about ``touches`` touches
    (generated once, chunk by chunk), and the exact touch count."""
    journeys = max(1, round(touches / 10))
    folder = DATA / f"dask_{journeys}_{journeys_per_file}_{SEED}"
    done = folder / "_complete.json"
    if not done.exists():
        written = 0
        for chunk, first in enumerate(range(0, journeys, journeys_per_file)):
            size = min(journeys_per_file, journeys - first)
            data = generate(size, 12, SEED + chunk)
            data.touches["journey_id"] += first
            data.outcomes["journey_id"] += first
            for name, frame in (("touches", data.touches), ("outcomes", data.outcomes)):
                part = folder / name / f"chunk={chunk:05d}"
                part.mkdir(parents=True, exist_ok=True)
                frame.to_parquet(part / "part.parquet", index=False, row_group_size=1_000_000)
            written += len(data.touches)
        done.write_text(json.dumps({"touches": written}))
    return folder / "touches", folder / "outcomes", int(json.loads(done.read_text())["touches"])


def local_child(touches: str, outcomes: str) -> None:
    """The in-memory engine, timed in this (fresh) process; prints JSON."""
    import attribution as at

    reset_peak_memory()
    start = time.perf_counter()
    loaded = at.load(touches, outcomes)
    at.attribute(loaded, models())
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": peak_memory_mb()}))


def local_run(touches: Path, outcomes: Path, count: int) -> Run:
    out = run_child("benchmarks.bench_dask", "--local-child", str(touches), str(outcomes))
    measured = json.loads(out.strip().splitlines()[-1])
    return Run("local", count, measured["seconds"], measured["peak_mb"])


def _reset() -> None:
    reset_peak_memory()


def _peak() -> float:
    return peak_memory_mb()


def dask_run(
    client: Any, touches: Path, outcomes: Path, count: int, shuffle: bool, files: int
) -> Run:
    import attribution.dask as adk
    from attribution.dask.shuffle import PARTITION_ROWS

    pids = client.run(os.getpid)
    client.run(_reset)
    reset_peak_memory()
    # Without a shuffle the files are found to hold disjoint ranges of journey ids; asking
    # for a partition count forces the shuffle.
    partitions = max(1, math.ceil(count / PARTITION_ROWS)) if shuffle else None
    start = time.perf_counter()
    adk.attribute(touches, outcomes, models(), client=client, partitions=partitions)
    seconds = time.perf_counter() - start
    peaks = client.run(_peak)
    restarted = len(set(pids.values()) - set(client.run(os.getpid).values()))
    return Run(
        "dask",
        count,
        seconds,
        peak_memory_mb(),
        [round(peaks[w], 1) for w in sorted(peaks)],
        restarted,
        "shuffle" if shuffle else "id ranges",
        partitions or files,
    )


def render(results: Results) -> str:
    lines = [
        f"Dask engine: {results.workers} workers x {results.threads} thread(s), memory limit "
        f"{results.memory_limit} each; models: every rule model, markov orders 1-3, exact "
        "shapley",
        "",
        "| engine | path | touches | partitions | wall s | s per M touches | worker peaks MB "
        "| client peak MB | workers restarted |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for run in results.runs:
        peaks = ", ".join(f"{p:,.0f}" for p in run.worker_peaks_mb) or "-"
        parts = run.partitions
        lines.append(
            f"| {run.engine} | {run.path if run.engine == 'dask' else '-'} | {run.touches:,} "
            f"| {parts} | {run.seconds:.1f} | {run.seconds_per_million:.2f} | {peaks} "
            f"| {run.client_peak_mb:,.0f} | {run.workers_restarted} |"
        )
    local = [r for r in results.runs if r.engine == "local"]
    if local:
        lines.append("")
        for run in results.runs:
            if run.engine == "dask":
                ratio = run.seconds_per_million / local[0].seconds_per_million
                lines.append(
                    f"dask ({run.path}) at {run.touches:,} touches: {ratio:.2f}x the in-memory "
                    f"engine's time per million touches at {local[0].touches:,}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Results | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touches", type=float, default=100e6)
    parser.add_argument("--local-touches", type=float, default=10e6)
    parser.add_argument("--journeys-per-file", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--scheduler", help="use a running cluster (its workers as they are)")
    parser.add_argument("--shuffle", action="store_true", help="also run through the shuffle")
    parser.add_argument("--quick", action="store_true", help="20k touches, in seconds")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--local-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.local_child:
        local_child(*args.local_child)
        return None
    if args.quick:
        args.touches, args.local_touches, args.journeys_per_file = 2e4, 1e4, 500
    big = dataset(int(args.touches), args.journeys_per_file)
    small = dataset(int(args.local_touches), args.journeys_per_file)
    runs = [local_run(*small)]
    from distributed import Client, LocalCluster

    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=args.threads,
            memory_limit=args.memory_limit,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        for touches, outcomes, count in (small, big):
            files = len(list(touches.iterdir()))
            runs.append(dask_run(client, touches, outcomes, count, False, files))
        if args.shuffle:
            runs.append(dask_run(client, *big, True, len(list(big[0].iterdir()))))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    results = Results(runs, args.workers, args.threads, args.memory_limit)
    print(f"Machine: {machine()}")
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(results), indent=1))
    return results


if __name__ == "__main__":
    main()
