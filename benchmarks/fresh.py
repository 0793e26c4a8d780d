"""One task in a fresh process, measured the way its user would measure it.

    python -m benchmarks.fresh REPORT TASK [ARGUMENT ...]

The parent (:func:`run`) times the process from outside: interpreter start, imports,
numba's on-disk kernel cache, the work and the exit. Just before it exits, the child
writes to the file REPORT its own peak resident memory (``VmHWM``, see
:mod:`benchmarks.memory`: the high-water mark of this process alone, not inherited from
the parent), its exit status and the numbers the task returned. Tasks (:func:`perform`):

- ``attribution ARG ...``: the ``attribution`` command, i.e. what its console script
  calls (``attribution.cli.main.main``); the runner discards its standard output;
- ``read-parquet FILE ...``: ``pyarrow.parquet.read_table`` of each file, the floor of
  any job that reads them;
- ``call MODULE:FUNCTION ARG ...``: a benchmark's function (a peer's whole job, a job
  timed inside its own process); the mapping of numbers it returns is reported.

The wrapper adds only this module and :mod:`benchmarks.memory` to the process (a few
milliseconds, no numerical library). :func:`run_command` runs a bare command instead (no
wrapper, no memory), for start-up times, where those milliseconds matter.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks.memory import peak_memory_mb

REPO = Path(__file__).resolve().parent.parent
OK = "ok"


@dataclass(frozen=True)
class Measured:
    """One process: wall seconds from outside, its peak MB (``None`` when not measured),
    ``status`` (``ok`` or what went wrong) and the numbers the task returned."""

    seconds: float
    peak_mb: float | None
    status: str
    values: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass(frozen=True)
class Repeated:
    """Several runs of one job: the median wall time, the largest peak, every run."""

    runs: tuple[Measured, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs)

    @property
    def status(self) -> str:
        return next((r.status for r in self.runs if not r.ok), OK)

    @property
    def seconds(self) -> float | None:
        return statistics.median(r.seconds for r in self.runs) if self.ok else None

    @property
    def peak_mb(self) -> float | None:
        peaks = [r.peak_mb for r in self.runs if r.peak_mb is not None]
        return max(peaks) if self.ok and peaks else None

    def value(self, name: str) -> float | None:
        """The median of a number the task returned."""
        if not self.ok:
            return None
        return statistics.median(r.values[name] for r in self.runs)


def environment() -> dict[str, str]:
    """This environment with the repository on ``PYTHONPATH`` (for ``benchmarks``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _failure(returncode: int, stderr: str) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if returncode == -signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f"exit code {returncode}: {lines[-1][:300] if lines else 'no message'}"


def _execute(
    argv: Sequence[str], timeout: float, env: Mapping[str, str] | None
) -> tuple[float, int | None, str]:
    """Wall seconds, exit status (None after a time-out, the process group killed) and
    standard error of one command; its standard output is discarded."""
    start = time.perf_counter()
    child = subprocess.Popen(
        list(argv),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(env) if env is not None else environment(),
        start_new_session=True,
    )
    try:
        _, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return time.perf_counter() - start, None, ""
    return time.perf_counter() - start, child.returncode, stderr


def run(
    task: Sequence[str],
    *,
    timeout: float = 3600.0,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> Measured:
    """Run ``task`` (see the module docstring) in a fresh ``python`` process."""
    with TemporaryDirectory(prefix="bench-fresh-") as scratch:
        report = Path(scratch) / "report.json"
        argv = [python, "-m", "benchmarks.fresh", str(report), *task]
        seconds, code, stderr = _execute(argv, timeout, env)
        if code is None:
            return Measured(seconds, None, f"timeout > {timeout:g} s")
        if not report.exists():
            return Measured(seconds, None, _failure(code, stderr))
        written = json.loads(report.read_text())
    status = OK if written["exit"] == 0 else _failure(written["exit"], stderr)
    return Measured(seconds, written["peak_mb"], status, written["values"])


def run_command(argv: Sequence[str], *, timeout: float = 600.0) -> Measured:
    """Run a bare command (no wrapper): its wall seconds and status, no memory."""
    seconds, code, stderr = _execute(argv, timeout, None)
    if code is None:
        return Measured(seconds, None, f"timeout > {timeout:g} s")
    return Measured(seconds, None, OK if code == 0 else _failure(code, stderr))


def repeat(job: Callable[[], Measured], repeats: int) -> Repeated:
    """``repeats`` runs of ``job``, stopping at the first that fails."""
    runs: list[Measured] = []
    for _ in range(max(1, repeats)):
        runs.append(job())
        if not runs[-1].ok:
            break
    return Repeated(tuple(runs))


def perform(task: Sequence[str]) -> tuple[int, dict[str, float]]:
    """Do ``task`` in this process: its exit status and the numbers it returned."""
    kind, arguments = task[0], list(task[1:])
    if kind == "attribution":
        from attribution.cli.main import main

        try:
            return int(main(arguments)), {}
        except SystemExit as done:  # --help, --version and usage errors exit from argparse
            return int(done.code or 0) if not isinstance(done.code, str) else 2, {}
    if kind == "read-parquet":
        import pyarrow.parquet as pq

        rows = sum(pq.read_table(path).num_rows for path in arguments)
        return 0, {"rows": float(rows)}
    if kind == "call":
        module, _, name = arguments[0].partition(":")
        function = getattr(importlib.import_module(module), name)
        values = function(*arguments[1:]) or {}
        return 0, {key: float(value) for key, value in values.items()}
    raise ValueError(f"unknown task {kind!r}: attribution, read-parquet or call")


def main() -> None:
    report, task = Path(sys.argv[1]), sys.argv[2:]
    code, values = perform(task)
    sys.stdout.flush()
    report.write_text(json.dumps({"exit": code, "peak_mb": peak_memory_mb(), "values": values}))
    sys.exit(code)


if __name__ == "__main__":
    main()
