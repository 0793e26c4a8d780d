"""What the HTML report adds to the run it shows (issue 15), and its size.

    python -m benchmarks.bench_report [--journeys 1000000] [--models all] [--repeats 3]
        [--quick] [--json FILE]

Data: ``--journeys`` synthetic journeys (10 touches each, 12 channels) with deal dates
(:func:`benchmarks.synthetic.generate` with ``milestones=True``), parquet. In this
process, after ``--warmups`` untimed passes of the whole report on a small dataset
(numba's kernels, the templates and the chart scripts loaded), the median of ``--repeats``
calls of each step ``attribution report`` takes:

- ``run_for_report``: the models with every roll-up the report shows (channel, team,
  channel x quarter, the scorecard): the run the report shows, not counted as added;
- ``report_data``: the report's tables from the run (the top paths and the model
  comparison are the only things computed anew);
- ``render_report``: the HTML page, every chart specification and table in it.

Target: ``report_data`` + ``render_report`` <= 5 s. The size of the page in bytes is
reported. Then, whole processes (:mod:`benchmarks.fresh`, ``--warmups`` untimed runs first):
``attribution report`` against ``attribution run`` with the same models and roll-ups,
wall time and peak memory (``VmHWM``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import fresh
from benchmarks.harness import (
    Target,
    dataset,
    load_average,
    machine,
    markdown_table,
    mb_text,
    seconds_text,
    targets_table,
    timed,
)

WARM_JOURNEYS = 2_000
#: ``--quick``'s models: the report's sections need a channel model, Markov (removal
#: effects), sourced and influenced (the team and scorecard sections).
QUICK_MODELS = ("linear", "markov", "sourced", "influenced")
ADDED_TARGET_S = 5.0


@dataclass
class ReportResults:
    settings: dict[str, object]
    machine: str
    load_before: str
    load_after: str = ""
    data: str = ""
    models: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)
    html_bytes: int = 0
    processes: list[dict[str, Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    @property
    def added_s(self) -> float | None:
        if "report_data" not in self.steps or "render_report" not in self.steps:
            return None
        return self.steps["report_data"] + self.steps["render_report"]


def report_steps(touches: Path, outcomes: Path, models: str, repeats: int) -> dict[str, Any]:
    """The three steps on one dataset: median seconds each, the page, the models run."""
    import attribution as at
    from attribution.reporting.build import report_data, run_for_report
    from attribution.reporting.render import render_report

    loaded = at.load(touches, outcomes)
    chosen: Any = "all" if models == "all" else models.split(",")

    def run() -> at.AttributionResult:
        return run_for_report(loaded, models=chosen)

    result = run()
    data = report_data(result, journeys=loaded.journeys)
    html = render_report(data)
    steps: dict[str, Callable[[], object]] = {
        "run_for_report": run,
        "report_data": lambda: report_data(result, journeys=loaded.journeys),
        "render_report": lambda: render_report(data),
    }
    seconds = {name: timed(step, repeats)[0] for name, step in steps.items()}
    return {"seconds": seconds, "html": html, "models": list(result.models)}


def measure(args: argparse.Namespace) -> ReportResults:
    results = ReportResults(
        settings={"journeys": args.journeys, "repeats": args.repeats, "models": args.models},
        machine=machine(),
        load_before=load_average(),
    )
    if args.warmups:
        print("[bench_report] warm-up on a small dataset ...", file=sys.stderr, flush=True)
        report_steps(*dataset(WARM_JOURNEYS, 12, milestones=True), args.models, 1)
    touches, outcomes = dataset(args.journeys, 12, milestones=True)
    print("[bench_report] the steps ...", file=sys.stderr, flush=True)
    done = report_steps(touches, outcomes, args.models, args.repeats)
    results.steps, results.models = done["seconds"], done["models"]
    results.html_bytes = len(done["html"].encode("utf-8"))
    import pyarrow.parquet as pq

    rows = pq.read_metadata(touches).num_rows
    results.data = f"{args.journeys:,} journeys, {rows:,} touches, 12 channels (parquet)"
    del done
    inputs = [str(touches), "--outcomes", str(outcomes), "--models", args.models]
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        page = str(Path(folder) / "report.html")
        commands = {
            "attribution report": ["report", *inputs, "--out", page],
            "attribution run, the same roll-ups": [
                "run", *inputs, "--by", "channel,team,period", "--period", "quarter"
            ],
        }  # fmt: skip
        for label, command in commands.items():
            print(f"[bench_report] {label} ...", file=sys.stderr, flush=True)
            task = ["attribution", *command]

            def once(task: list[str] = task) -> fresh.Measured:
                return fresh.run(task, timeout=args.timeout)

            for _ in range(args.warmups):
                once()
            measured = fresh.repeat(once, args.repeats)
            results.processes.append(
                {
                    "job": label,
                    "command": " ".join(["attribution", *command]).replace(folder, "DIR"),
                    "seconds": measured.seconds,
                    "peak_mb": measured.peak_mb,
                    "status": measured.status,
                }
            )
    results.targets = [
        Target("`report_data` + `render_report`", results.added_s, "s", at_most=ADDED_TARGET_S)
    ]
    results.load_after = load_average()
    return results


def render(results: ReportResults) -> str:
    steps = results.steps
    lines = [
        "# HTML report (benchmarks/bench_report.py, issue 15)",
        "",
        f"Machine: {results.machine}",
        f"Load average (1/5/15 min) before: {results.load_before}; after: {results.load_after}",
        "",
        f"Data: {results.data}; models: {', '.join(results.models)}.",
        "",
        "## Targets",
        "",
        targets_table(results.targets),
        "",
        f"## Steps (in this process, median of {results.settings['repeats']} warm calls)",
        "",
        markdown_table(
            ["step", "s"],
            [
                [
                    "`run_for_report` (the run the report shows)",
                    seconds_text(steps.get("run_for_report")),
                ],
                ["`report_data`", seconds_text(steps.get("report_data"))],
                ["`render_report`", seconds_text(steps.get("render_report"))],
                ["added by the report", seconds_text(results.added_s)],
            ],
        ),
        "",
        f"The page: {results.html_bytes:,} bytes ({results.html_bytes / 2**20:.2f} MiB).",
        "",
        "## Whole processes",
        "",
        markdown_table(
            ["job", "command", "median s", "peak MB", "status"],
            [
                [
                    p["job"],
                    f"`{p['command']}`",
                    seconds_text(p["seconds"]),
                    mb_text(p["peak_mb"]),
                    p["status"],
                ]
                for p in results.processes
            ],
        ),
        "",
    ]
    seconds = [p["seconds"] for p in results.processes]
    if len(seconds) == 2 and None not in seconds:
        lines += [
            f"`attribution report` takes {seconds[0] - seconds[1]:.2f} s more than "
            "`attribution run` with the same models and roll-ups: `report_data` and "
            "`render_report` above, plus the scorecard of every model, which `run_for_report` "
            "computes and a plain run does not (benchmarks/bench_scorecard.py measures it).",
            "",
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--models", default="all", help="comma-separated, or all (default)")
    parser.add_argument("--repeats", type=int, default=3, help="calls (processes) per median")
    parser.add_argument("--warmups", type=int, default=1, help="untimed passes before timing")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per process")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, 4 models, no warm-up (smoke test)"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.journeys, args.repeats, args.warmups = 2_000, 1, 0
        args.models = ",".join(QUICK_MODELS)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = measure(args)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(results), indent=1))


if __name__ == "__main__":
    main()
