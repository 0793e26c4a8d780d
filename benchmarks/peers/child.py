"""Run one peer's jobs in this process, writing what happens to an events file.

    python -m benchmarks.peers.child PEER INPUT_FOLDER EVENTS [--repeats R] [--budget S]
        [--conversions] JOB...

``PEER`` is a peer's name (:data:`benchmarks.peers.common.ADAPTER_MODULES`) or the module
name of any other adapter (a module with ``INFO`` whose ``name`` is that module name).

Started by :mod:`benchmarks.peers.runner`, possibly under another interpreter: it needs
only pandas, pyarrow and the peer. Standard output goes to ``/dev/null`` (the peers print
banners and timers, some from C code). Events are JSON lines, flushed as they happen:

- ``{"event": "start", "step": S}`` before each step: ``import``, ``read``, ``setup``,
  then each job (the runner's time limit applies to each step);
- ``{"event": "missing", "error": E}``: the peer is not installed (the child stops);
- ``{"event": "imported", "version": V, "seconds": s}``;
- ``{"event": "setup", "seconds": s, "read_seconds": r, "peak_mb": m}``: the peer's
  one-off work (timed), reading its input (not timed), and the process's peak resident
  memory so far (import, read, setup);
- ``{"event": "done", "job": J, "seconds": median, "runs": [...], "peak_mb": m,
  "credits": {model: {channel: [conversions, value]}}}``: ``runs`` are the wall times of
  the job's repeated calls (at least one; more while fewer than R and their sum is below
  S seconds), ``peak_mb`` the peak resident memory of this process during them, the
  data and the setup's state included; with ``--conversions``, peers whose timed run
  credits one unit only (MAM) add the credited conversions from an untimed second run;
- ``{"event": "failed", "step": S, "error": E}``: the step raised (later jobs still run,
  unless the step was the import, the read or the setup).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from benchmarks.memory import peak_memory_mb, reset_peak_memory
from benchmarks.peers.common import ADAPTER_MODULES, quiet


def describe(error: BaseException) -> str:
    """One line: the exception's type and message."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def import_peer(adapter: ModuleType) -> Any:
    """Import the peer (the adapter's own ``import_peer`` when it has workarounds)."""
    custom: Callable[[], Any] | None = getattr(adapter, "import_peer", None)
    with quiet():
        if custom is not None:
            return custom()
        return importlib.import_module(adapter.INFO.import_name)


def run(
    peer: str,
    folder: Path,
    jobs: list[str],
    repeats: int,
    budget: float,
    conversions: bool,
    out: TextIO,
) -> None:
    adapter = importlib.import_module(ADAPTER_MODULES.get(peer, peer))
    info = adapter.INFO

    def emit(**event: Any) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    emit(event="start", step="import")
    start = time.perf_counter()
    try:
        import_peer(adapter)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] == info.import_name:
            emit(event="missing", error=describe(error))
            return
        emit(event="failed", step="import", error=describe(error))
        return
    except Exception as error:
        emit(event="failed", step="import", error=describe(error))
        return
    emit(
        event="imported",
        version=metadata.version(info.distribution),
        seconds=time.perf_counter() - start,
    )
    try:
        emit(event="start", step="read")
        start = time.perf_counter()
        data = adapter.read(folder)
        read_seconds = time.perf_counter() - start
        emit(event="start", step="setup")
        start = time.perf_counter()
        state = adapter.setup(data)
        emit(
            event="setup",
            seconds=time.perf_counter() - start,
            read_seconds=read_seconds,
            peak_mb=peak_memory_mb(),
        )
    except Exception as error:
        traceback.print_exc()
        emit(event="failed", step="setup", error=describe(error))
        return
    complete = getattr(adapter, "complete", None) if conversions else None
    for job in jobs:
        emit(event="start", step=job)
        try:
            runs: list[float] = []
            reset_peak_memory()
            while not runs or (len(runs) < repeats and sum(runs) < budget):
                start = time.perf_counter()
                credits = adapter.run(state, job)
                runs.append(time.perf_counter() - start)
            peak = peak_memory_mb()
            if complete is not None:
                credits = complete(state, job, credits)
        except Exception as error:
            traceback.print_exc()
            emit(event="failed", step=job, error=describe(error))
            continue
        emit(
            event="done",
            job=job,
            seconds=statistics.median(runs),
            runs=runs,
            peak_mb=peak,
            credits={m: {c: list(v) for c, v in per.items()} for m, per in credits.items()},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", help=f"{', '.join(ADAPTER_MODULES)} or an adapter module's name")
    parser.add_argument("folder", type=Path)
    parser.add_argument("events", type=Path)
    parser.add_argument("jobs", nargs="+")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--budget", type=float, default=0.0)
    parser.add_argument(
        "--conversions", action="store_true", help="also credited conversions (untimed runs)"
    )
    args = parser.parse_args()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the life of the process)
    with args.events.open("a") as out:
        run(args.peer, args.folder, args.jobs, args.repeats, args.budget, args.conversions, out)


if __name__ == "__main__":
    main()
