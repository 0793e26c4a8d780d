"""Whole processes as users time them (issue 11): start-up, path tables against
ChannelAttribution, every model at once, and the cost as the data grows.

    python -m benchmarks.bench_process [--journeys 1000000] [--path-journeys 1000000]
        [--scale-sizes 1000000,3000000,10000000] [--repeats 5] [--scale-repeats 1]
        [--memory-limit-mb MB] [--peer-python PY] [--skip startup,paths,models,scale]
        [--timeout 900] [--quick] [--json FILE]

Every number but two is a fresh process measured from outside (:mod:`benchmarks.fresh`:
interpreter, imports, numba's cached kernels, reading the file, the work, the output,
exit): the median wall time of ``--repeats`` runs after one untimed warm-up run (numba's
kernel cache and the OS file cache warm; ``--quick`` skips it), and the largest peak
resident memory (``VmHWM``) of those processes. The two exceptions are marked *in this
process*: loading the path table (``attribution.load_paths``, median of warm calls) and
the README command's own work without the process around it. Sections:

- **startup**: ``attribution --version`` and ``attribution run --help`` (targets
  <= 0.2 s), ``python -c "import attribution"`` (<= 0.5 s), run as bare commands; the
  README's main command on the bundled fixture (<= 1.0 s).
- **paths**: a path table of ~790,000 distinct paths (``--path-journeys`` synthetic
  journeys over 20 channels, :func:`benchmarks.harness.path_dataset`, CSV):
  ``attribution run FILE --paths --models markov --markov-order 3`` against
  ChannelAttribution's ``markov_model(order=3)`` (its defaults) reading the same file
  with pandas (:mod:`benchmarks.peers.whole_process`): target ours >= 8x faster, below
  4x a regression; loading the table in Python <= 1 s. Also the models both tools have
  (first, last, linear touch, Markov order 1) on the path table of the ``--journeys``
  12-channel dataset. Both sides' peak memory is reported. A peer that is not installed
  under ``--peer-python`` is reported as such.
- **models**: on ``--journeys`` synthetic journeys (10 touches each, 12 channels,
  :func:`benchmarks.harness.dataset`, parquet): wave 1's fifteen models in one run
  (target <= 3 s, <= 1,200 MB), its eleven rule models alone (target <= 4x a fresh
  process reading the same two files with pyarrow, also measured) and ``--models all``
  (the registry's current set, hazard, presence and last non-direct touch among them
  when registered).
- **scale**: wave 1's fifteen models at each of ``--scale-sizes`` journeys
  (:func:`benchmarks.harness.scaled_dataset`): seconds and MB, and both per million
  touches (flat = linear cost); the size of the models section is its run there. A
  size whose peak, projected linearly from the largest
  size measured, exceeds ``--memory-limit-mb`` (default: this machine's memory) is not
  run and says so; so is one whose process is killed. The largest size run is stated.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from attribution.models.registry import all_models
from benchmarks import fresh
from benchmarks.harness import (
    Target,
    dataset,
    load_average,
    machine,
    markdown_table,
    mb_text,
    path_dataset,
    scaled_dataset,
    seconds_text,
    targets_table,
    timed,
)
from benchmarks.peers.runner import interpreter_has

SECTIONS = ("startup", "paths", "models", "scale")
#: Wave 1's rule models and data-driven models: the set the targets of issue 11 are for.
WAVE1_RULES = (
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
    "j_shaped",
    "inverse_j",
    "w_shaped",
    "full_path",
    "sourced",
    "influenced",
)
WAVE1_DATA_DRIVEN = ("markov", "shapley", "shapley_simplified", "shapley_ordered")
WAVE1 = WAVE1_RULES + WAVE1_DATA_DRIVEN
#: The models ChannelAttribution has too, on a path table.
SHARED_PATH_MODELS = ("first_touch", "last_touch", "linear", "markov")
FIXTURE = ("fixtures/touches.parquet", "--outcomes", "fixtures/outcomes.parquet")
WHOLE = "benchmarks.peers.whole_process"
MB_PER_GB = 1000


@dataclass
class Job:
    """One whole-process job: what ran, the median seconds, the largest peak MB."""

    name: str
    command: str
    status: str
    seconds: float | None
    peak_mb: float | None
    runs: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, command: str, measured: fresh.Repeated) -> Job:
        return cls(
            name,
            command,
            measured.status,
            measured.seconds,
            measured.peak_mb,
            [r.seconds for r in measured.runs],
        )


@dataclass
class PathComparison:
    """This engine and ChannelAttribution on one path table file."""

    table: str
    paths: int
    journeys: int
    channels: int
    file_mb: float
    ours: Job
    peer: Job

    @property
    def ratio(self) -> float | None:
        if self.ours.seconds is None or self.peer.seconds is None:
            return None
        return self.peer.seconds / self.ours.seconds


@dataclass
class ScaleRow:
    journeys: int
    touches: int
    job: Job
    note: str = ""


@dataclass
class ProcessResults:
    settings: dict[str, object]
    machine: str
    load_before: str
    load_after: str = ""
    startup: list[Job] = field(default_factory=list)
    readme_work_s: float | None = None
    path_load_s: float | None = None
    paths: list[PathComparison] = field(default_factory=list)
    peer_version: str | None = None
    models: list[Job] = field(default_factory=list)
    data: str = ""
    scale: list[ScaleRow] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


def console_script() -> str:
    """The ``attribution`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("attribution")
    return str(beside) if beside.exists() else shutil.which("attribution") or "attribution"


def whole(
    name: str,
    task: Sequence[str],
    args: argparse.Namespace,
    repeats: int,
    python: str = sys.executable,
) -> Job:
    """``task`` in fresh processes: ``args.warmups`` untimed runs, then ``repeats``."""
    print(f"[bench_process] {name} ...", file=sys.stderr, flush=True)

    def once() -> fresh.Measured:
        return fresh.run(task, timeout=args.timeout, python=python)

    warm = fresh.repeat(once, args.warmups) if args.warmups else None
    measured = warm if warm is not None and not warm.ok else fresh.repeat(once, repeats)
    return Job.of(name, shlex.join(task[1:] if task[0] == "call" else task), measured)


def bare(name: str, argv: Sequence[str], args: argparse.Namespace) -> Job:
    """A bare command (no wrapper, no memory): warm-ups, then ``args.repeats`` runs."""
    print(f"[bench_process] {name} ...", file=sys.stderr, flush=True)

    def once() -> fresh.Measured:
        return fresh.run_command(argv, timeout=args.timeout)

    for _ in range(args.warmups):
        once()
    shown = ["attribution", *argv[1:]] if argv[0] == console_script() else ["python", *argv[1:]]
    return Job.of(name, shlex.join(shown), fresh.repeat(once, args.repeats))


def measure_startup(args: argparse.Namespace, results: ProcessResults) -> None:
    script = console_script()
    results.startup += [
        bare("attribution --version", [script, "--version"], args),
        bare("attribution run --help", [script, "run", "--help"], args),
        bare("import attribution", [sys.executable, "-c", "import attribution"], args),
        whole("README command, bundled fixture", ["attribution", "run", *FIXTURE], args,
              args.repeats),
    ]  # fmt: skip
    from attribution.cli.main import main

    with open(os.devnull, "w") as sink:
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = sink
        try:
            for _ in range(args.warmups):  # imports and kernels loaded
                main(["run", *FIXTURE])
            results.readme_work_s = timed(lambda: main(["run", *FIXTURE]), args.repeats)[0]
        finally:
            sys.stdout, sys.stderr = stdout, stderr
    version, help_, imported, readme = results.startup
    results.targets += [
        Target("`attribution --version`", version.seconds, "s", at_most=0.2),
        Target("`attribution run --help`", help_.seconds, "s", at_most=0.2),
        Target('`python -c "import attribution"`', imported.seconds, "s", at_most=0.5),
        Target(
            "README command on the fixture (warm kernel cache)", readme.seconds, "s", at_most=1.0
        ),
    ]


def peer_job(name: str, task: list[str], args: argparse.Namespace, missing: str) -> Job:
    """The peer's job, or why it did not run (``missing``: not installed or skipped)."""
    if missing:
        return Job(name, " ".join(task[1:]), missing, None, None)
    return whole(name, task, args, args.repeats, python=args.peer_python)


def measure_paths(args: argparse.Namespace, results: ProcessResults) -> None:
    import attribution as at

    installed = None if args.skip_peer else interpreter_has(args.peer_python, "ChannelAttribution")
    results.peer_version = installed
    if args.skip_peer:
        missing = "not run (--skip-peer)"
    else:
        missing = "" if installed else f"not installed under {args.peer_python}"
    tables = [
        ("20 channels, skewed popularity", path_dataset(args.path_journeys, 20),
         ("--models", "markov", "--markov-order", "3"), [f"{WHOLE}:channel_attribution_markov"],
         ["3"], "Markov order 3"),
        ("12 channels, the models section's journeys",
         path_dataset(args.journeys, 12, popularity_exponent=0.8),
         ("--models", ",".join(SHARED_PATH_MODELS)),
         [f"{WHOLE}:channel_attribution_heuristics_markov"], [],
         "first, last, linear touch + Markov order 1"),
    ]  # fmt: skip
    for label, table, options, peer, peer_args, job in tables:
        csv = str(table.csv)
        ours = whole(
            f"ours: {job}", ["attribution", "run", csv, "--paths", *options], args, args.repeats
        )
        theirs = peer_job(f"ChannelAttribution: {job}", ["call", *peer, csv, *peer_args], args,
                          missing)  # fmt: skip
        results.paths.append(
            PathComparison(
                label, table.paths, table.journeys, table.channels,
                table.csv.stat().st_size / 1e6, ours, theirs,
            )
        )  # fmt: skip
    first = results.paths[0]
    at.load_paths(tables[0][1].csv)  # warm: imports, kernels, file cache
    results.path_load_s = timed(lambda: at.load_paths(tables[0][1].csv), args.repeats)[0]
    results.targets += [
        Target(
            f"ChannelAttribution / ours, Markov order 3 on {first.paths:,} paths (whole processes)",
            first.ratio,
            "x",
            at_least=8.0,
            regression=4.0,
        ),
        Target(
            f"load the {first.paths:,}-path table in Python (in this process)",
            results.path_load_s,
            "s",
            at_most=1.0,
        ),
    ]


def measure_models(args: argparse.Namespace, results: ProcessResults) -> None:
    touches, outcomes = (str(p) for p in dataset(args.journeys, 12))
    import pyarrow.parquet as pq

    rows = pq.read_metadata(touches).num_rows
    results.data = f"{args.journeys:,} journeys, {rows:,} touches, 12 channels (parquet)"
    run = ["attribution", "run", touches, "--outcomes", outcomes]
    current = all_models()
    results.models += [
        whole("wave 1's 15 models", [*run, "--models", ",".join(WAVE1)], args, args.repeats),
        whole("wave 1's 11 rule models", [*run, "--models", ",".join(WAVE1_RULES)], args,
              args.repeats),
        whole(f"--models all ({len(current)} models)", [*run, "--models", "all"], args,
              args.repeats),
        whole("pyarrow reads the two files", ["read-parquet", touches, outcomes], args,
              args.repeats),
    ]  # fmt: skip
    every, rules, _, read = results.models
    ratio = None if rules.seconds is None or not read.seconds else rules.seconds / read.seconds
    results.targets += [
        Target("wave 1's 15 models, fresh process", every.seconds, "s", at_most=3.0),
        Target("wave 1's 15 models, peak memory", every.peak_mb, "MB", at_most=1.2 * MB_PER_GB),
        Target("11 rule models / pyarrow read of the same files", ratio, "x", at_most=4.0),
    ]


def memory_limit_mb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def measure_scale(args: argparse.Namespace, results: ProcessResults) -> None:
    import pyarrow.parquet as pq

    largest: ScaleRow | None = None
    for n in args.scale_sizes:
        if largest is not None and largest.job.peak_mb is not None:
            projected = largest.job.peak_mb * n / largest.journeys
            if projected > args.memory_limit_mb:
                note = (
                    f"not run: {projected:,.0f} MB projected from {largest.journeys:,} "
                    f"journeys > limit {args.memory_limit_mb:,.0f} MB"
                )
                results.scale.append(ScaleRow(n, 0, Job("", "", note, None, None), note))
                continue
        print(f"[bench_process] data for {n:,} journeys ...", file=sys.stderr, flush=True)
        touches, outcomes = (str(p) for p in scaled_dataset(n, 12))
        task = ["attribution", "run", touches, "--outcomes", outcomes, "--models", ",".join(WAVE1)]
        same = [j for j in results.models if j.command == shlex.join(task) and j.status == fresh.OK]
        if same:  # the models section ran this very job: the same data (scaled_dataset)
            job, note = same[0], "the models section's run"
        else:
            job, note = whole(f"{n:,} journeys", task, args, args.scale_repeats), ""
        row = ScaleRow(n, pq.read_metadata(touches).num_rows, job, note)
        if job.status == fresh.OK:
            largest = row
        else:
            row.note = "does not fit or failed: " + job.status
        results.scale.append(row)


def per_million(value: float | None, touches: int) -> str:
    if value is None or not touches:
        return "-"
    return f"{value / (touches / 1e6):.3f}"


def job_rows(jobs: Sequence[Job]) -> list[list[str]]:
    return [
        [j.name, f"`{j.command}`", seconds_text(j.seconds), mb_text(j.peak_mb),
         j.status]
        for j in jobs
    ]  # fmt: skip


def render(results: ProcessResults) -> str:
    settings = results.settings
    lines = [
        "# Whole processes (benchmarks/bench_process.py, issue 11)",
        "",
        f"Machine: {results.machine}",
        f"Load average (1/5/15 min) before: {results.load_before}; after: {results.load_after}",
        "",
        f"Fresh processes measured from outside; median of {settings['repeats']} runs after "
        f"{settings['warmups']} untimed warm-up run(s); MB = the largest peak resident memory "
        "(VmHWM) of those processes.",
        "",
    ]
    if results.targets:
        lines += ["## Targets", "", targets_table(results.targets), ""]
    header = ["job", "command", "median s", "peak MB", "status"]
    if results.startup:
        lines += ["## Start-up", "", markdown_table(header, job_rows(results.startup)), ""]
        if results.readme_work_s is not None:
            readme = results.startup[-1].seconds
            overhead = None if readme is None else readme - results.readme_work_s
            lines += [
                f"The README command's own work, in this process (imports and kernels "
                f"loaded): {seconds_text(results.readme_work_s)} s, so the process around it "
                f"(interpreter, imports, loading the cached kernels) costs "
                f"{seconds_text(overhead)} s.",
                "",
            ]
    if results.paths:
        version = results.peer_version or "not run"
        lines += [f"## Path tables against ChannelAttribution ({version})", ""]
        rows = []
        for p in results.paths:
            ratio = "-" if p.ratio is None else f"{p.ratio:.1f}x"
            for side in (p.ours, p.peer):
                rows.append(
                    [side.name, f"{p.paths:,} paths, {p.channels} channels ({p.file_mb:,.0f} MB "
                     f"CSV, {p.journeys:,} journeys)", seconds_text(side.seconds),
                     mb_text(side.peak_mb), ratio if side is p.peer else "", side.status]
                )  # fmt: skip
        lines += [
            markdown_table(["job", "file", "median s", "peak MB", "peer s / ours", "status"], rows),
            "",
            "Commands:",
            "",
            *[f"- `{side.command}`" for p in results.paths for side in (p.ours, p.peer)],
            "",
        ]
        if results.path_load_s is not None:
            lines += [
                f"Loading the {results.paths[0].paths:,}-path table in Python "
                f"(`attribution.load_paths`, in this process, median of warm calls): "
                f"{seconds_text(results.path_load_s)} s.",
                "",
            ]
    if results.models:
        lines += [
            f"## Every model at once: {results.data}",
            "",
            markdown_table(header, job_rows(results.models)),
            "",
        ]
    if results.scale:
        rows = [
            [f"{r.journeys:,}", f"{r.touches:,}" if r.touches else "-",
             seconds_text(r.job.seconds), mb_text(r.job.peak_mb),
             per_million(r.job.seconds, r.touches), per_million(r.job.peak_mb, r.touches),
             r.job.status if r.note in ('', r.job.status) else f'{r.job.status} ({r.note})']
            for r in results.scale
        ]  # fmt: skip
        fitted = [r for r in results.scale if r.job.status == fresh.OK]
        lines += [
            "## Scale: wave 1's 15 models as the data grows",
            "",
            markdown_table(
                ["journeys", "touches", "s", "peak MB", "s per M touches", "MB per M touches",
                 "status"],
                rows,
            ),
            "",
            f"Fresh process, {settings['scale_repeats']} run(s) per size; memory limit "
            f"{float(str(settings['memory_limit_mb'])):,.0f} MB. Largest size run: "
            + (f"{fitted[-1].journeys:,} journeys." if fitted else "none."),
            "",
        ]  # fmt: skip
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000, help="models section")
    parser.add_argument(
        "--path-journeys", type=int, default=1_000_000, help="journeys behind the path table"
    )
    parser.add_argument("--scale-sizes", default="1000000,3000000,10000000")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per median")
    parser.add_argument("--warmups", type=int, default=1, help="untimed runs before each job")
    parser.add_argument("--scale-repeats", type=int, default=1)
    parser.add_argument(
        "--memory-limit-mb", type=float, default=memory_limit_mb(), help="scale: largest peak"
    )
    parser.add_argument(
        "--peer-python", default=sys.executable, help="interpreter with ChannelAttribution"
    )
    parser.add_argument("--skip-peer", action="store_true", help="do not run ChannelAttribution")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per process")
    parser.add_argument("--skip", default="", help=f"sections to leave out: {','.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run, no warm-up")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.skip = {s for s in str(args.skip).split(",") if s}
    if unknown := sorted(args.skip - set(SECTIONS)):
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    if args.quick:
        args.journeys, args.path_journeys = 2_000, 2_000
        args.scale_sizes = "1000,2000"
        args.repeats, args.warmups, args.scale_repeats = 1, 0, 1
    args.scale_sizes = [int(s) for s in str(args.scale_sizes).split(",") if s]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = {
        k: v for k, v in vars(args).items() if k not in ("json", "skip") and not callable(v)
    }
    results = ProcessResults(settings=settings, machine=machine(), load_before=load_average())
    steps = {
        "startup": measure_startup,
        "paths": measure_paths,
        "models": measure_models,
        "scale": measure_scale,
    }
    for name, step in steps.items():
        if name not in args.skip:
            step(args, results)
    results.load_after = load_average()
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(results), indent=1))


if __name__ == "__main__":
    main()
