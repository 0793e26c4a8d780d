"""Run a peer's jobs in a child process with a time limit per step; never raise for a peer.

:func:`run_peer` starts :mod:`benchmarks.peers.child` (under ``sys.executable`` or the
interpreter given), follows its events file, and returns one :class:`JobOutcome` per job
asked for, whatever happens:

- the peer is not importable: every job is ``not installed``;
- the import, reading the input or the setup raises: every job is ``failed: <error>``;
- a job raises: that job is ``failed: <error>``, the others run;
- the child dies (a crash in C code, out of memory): the job it was in is
  ``failed: crashed (...)`` and the remaining jobs run in a new child;
- a step runs longer than ``timeout`` seconds: the child's process group is killed; a
  job is ``timeout > N s`` and the remaining jobs run in a new child; an import, read or
  setup that times out makes every remaining job ``timeout > N s (in <step>)``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.peers.common import Credits, PeerInfo

REPO = Path(__file__).resolve().parents[2]
NOT_INSTALLED = "not installed"
OK = "ok"


@dataclass
class JobOutcome:
    """What one job of a peer gave.

    ``status``: ``"ok"``, or why there are no numbers (``not installed``,
    ``failed: ...``, ``timeout > N s``, ``not run: ...``). ``seconds``: median wall time
    of the job's call (the peer's own work from its input in memory to its result);
    ``setup_seconds``: the peer's one-off setup before any job (e.g. its constructor),
    which a user of this job alone pays too; ``peak_mb``: peak resident memory of the
    peer's process up to the end of the job: the larger of its peak through import, read
    and setup and its peak during the job (the counter is reset between jobs, so earlier
    jobs' peaks do not count, though memory they still hold does). ``credits``:
    model -> channel -> (credited conversions, credited value).
    """

    peer: str
    job: str
    status: str
    seconds: float | None = None
    setup_seconds: float | None = None
    runs: int = 0
    peak_mb: float | None = None
    credits: Credits = field(default_factory=dict)
    version: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def total_seconds(self) -> float | None:
        """Setup plus the job: the time to this job's result from the peer's input."""
        if self.seconds is None:
            return None
        return self.seconds + (self.setup_seconds or 0.0)


def interpreter_has(python: str, import_name: str) -> str | None:
    """The installed version of the distribution providing ``import_name`` under
    ``python``, or ``None`` when it cannot be imported from there."""
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.find_spec({import_name!r})\n"
        "if spec is None: sys.exit(3)\n"
        "from importlib.metadata import packages_distributions, version\n"
        f"names = packages_distributions().get({import_name!r}, [])\n"
        "print(version(names[0]) if names else '?')\n"
    )
    try:
        done = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or "?"


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _last_error_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:200] if lines else "no error output"


def run_peer(
    info: PeerInfo,
    folder: Path,
    jobs: list[str],
    *,
    timeout: float,
    python: str = sys.executable,
    repeats: int = 1,
    budget: float = 0.0,
    conversions: bool = False,
) -> dict[str, JobOutcome]:
    """Run ``jobs`` of the peer on the input in ``folder``; one outcome per job.

    ``timeout``: seconds allowed for each step (import, read, setup, each job).
    ``repeats``/``budget``: each job is called up to ``repeats`` times while the calls
    so far took less than ``budget`` seconds (the median is reported).
    ``conversions``: also get the credited conversions where the peer needs a second,
    untimed run for them (MAM credits one unit per object); otherwise they are NaN there.
    """
    outcomes: dict[str, JobOutcome] = {}
    remaining = list(jobs)
    version: str | None = None

    def close(job: str, status: str, **numbers: Any) -> None:
        outcomes[job] = JobOutcome(info.name, job, status, version=version, **numbers)
        remaining.remove(job)

    with tempfile.TemporaryDirectory(prefix=f"peer-{info.name}-") as scratch:
        launch = 0
        while remaining:
            launch += 1
            left_before = len(remaining)
            events = Path(scratch) / f"events-{launch}.jsonl"
            errors = Path(scratch) / f"stderr-{launch}.txt"
            events.touch()
            command = [python, "-m", "benchmarks.peers.child", info.name, str(folder)]
            command += [str(events), "--repeats", str(repeats), "--budget", str(budget)]
            command += ["--conversions"] if conversions else []
            with errors.open("w") as stderr:
                child = subprocess.Popen(
                    [*command, *remaining],
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    cwd=REPO,
                    env=_child_env(),
                    start_new_session=True,
                )
            step, started = "import", time.monotonic()
            setup_seconds: float | None = None
            setup_peak = 0.0
            consumed = 0
            timed_out = False
            while True:
                exited = child.poll() is not None
                text = events.read_text()
                complete = text[: text.rfind("\n") + 1]
                for line in complete[consumed:].splitlines():
                    event = json.loads(line)
                    kind = event["event"]
                    if kind == "start":
                        step, started = event["step"], time.monotonic()
                    elif kind == "missing":
                        for job in list(remaining):
                            close(job, NOT_INSTALLED)
                    elif kind == "imported":
                        version = event["version"]
                    elif kind == "setup":
                        setup_seconds, setup_peak = event["seconds"], event["peak_mb"]
                    elif kind == "done":
                        close(
                            event["job"],
                            OK,
                            seconds=event["seconds"],
                            setup_seconds=setup_seconds,
                            runs=len(event["runs"]),
                            peak_mb=max(event["peak_mb"], setup_peak),
                            credits={
                                m: {c: (float(v[0]), float(v[1])) for c, v in per.items()}
                                for m, per in event["credits"].items()
                            },
                        )
                    elif kind == "failed" and event["step"] in remaining:
                        close(event["step"], f"failed: {event['error']}")
                    elif kind == "failed":
                        for job in list(remaining):
                            close(job, f"failed: {event['error']}")
                consumed = len(complete)
                if exited:
                    break
                if time.monotonic() - started > timeout:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
                    timed_out = True
                    break
                time.sleep(0.05)
            if timed_out and step in remaining:
                close(step, f"timeout > {timeout:g} s")
            elif timed_out:
                for job in list(remaining):
                    close(job, f"timeout > {timeout:g} s (in {step})")
            elif step in remaining:
                reason = f"exit code {child.returncode}: {_last_error_line(errors)}"
                close(step, f"failed: crashed ({reason})")
            elif remaining and len(remaining) == left_before:
                # died before any job ended, outside a job: a new child would too
                for job in list(remaining):
                    close(job, f"failed: {_last_error_line(errors)}")
    return {job: outcomes[job] for job in jobs}
