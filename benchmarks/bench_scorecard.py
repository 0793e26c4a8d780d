"""The revenue scorecard's cost on top of the run it summarises (issue 12).

    python -m benchmarks.bench_scorecard [--journeys 1000000] [--models M1,M2,M3]
        [--repeats 5] [--quick] [--json FILE]

Data: ``--journeys`` synthetic journeys (10 touches each, 12 channels) with deal dates
(lead, opportunity, close, won: :func:`benchmarks.synthetic.generate` with
``milestones=True``), parquet. Models: the scorecard's defaults, the recommended
data-driven model with ``sourced`` and ``influenced``; where the recommended model is not
registered in this tree, ``markov`` stands in and the output says so.

Both runs are what ``attribution scorecard --by channel,team --period quarter`` asks of
the engine: the models rolled up by channel x team x quarter, by channel x quarter and by
team x quarter; the second run adds ``scorecard=True``. Reported:

- **time added**: the median of ``--repeats`` warm calls with the scorecard minus the
  median without (in this process, data loaded, numba's kernels warm): target <= 2 s;
- **memory**: the peak resident memory (``VmHWM``) of a fresh process loading the data
  and making each call once (:mod:`benchmarks.fresh`): target with / without <= 1.2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attribution.models.registry import model_names, recommended_model
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

DIMENSIONS = ("channel", "team")
PERIOD = "quarter"
#: Stands in for the recommended model where it is not registered yet.
STAND_IN = "markov"
#: :func:`process_job` as a task of :mod:`benchmarks.fresh`.
PROCESS_JOB = "benchmarks.bench_scorecard:process_job"


@dataclass
class ScorecardResults:
    settings: dict[str, object]
    machine: str
    load_before: str
    data: str = ""
    models: list[str] = field(default_factory=list)
    note: str = ""
    load_after: str = ""
    plain_s: float | None = None
    scorecard_s: float | None = None
    plain_mb: float | None = None
    scorecard_mb: float | None = None
    rows: int = 0
    statuses: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    @property
    def added_s(self) -> float | None:
        if self.plain_s is None or self.scorecard_s is None:
            return None
        return self.scorecard_s - self.plain_s


def default_models() -> tuple[list[str], str]:
    """The scorecard's default models, and a note when a stand-in replaces one."""
    recommended = recommended_model(True)
    if recommended in model_names():
        return [recommended, "sourced", "influenced"], ""
    note = (
        f"The recommended model `{recommended}` is not registered in this tree: "
        f"`{STAND_IN}` stands in for it."
    )
    return [STAND_IN, "sourced", "influenced"], note


def run_options(scorecard: bool) -> dict[str, Any]:
    """``attribute`` options of ``attribution scorecard --by channel,team --period quarter``."""
    return {
        "by": (*DIMENSIONS, "period"),
        "also_by": [(d, "period") for d in DIMENSIONS],
        "period": PERIOD,
        "scorecard": scorecard,
    }


def process_job(touches: str, outcomes: str, models: str, scorecard: str) -> dict[str, float]:
    """In a fresh process: load, and run the models once (with the scorecard if
    ``scorecard == "yes"``); the run's seconds (the process's peak is measured around)."""
    import attribution as at

    loaded = at.load(touches, outcomes)
    start = time.perf_counter()
    at.attribute(loaded, models.split(","), **run_options(scorecard == "yes"))
    return {"seconds": time.perf_counter() - start}


def warm_runs(args: argparse.Namespace, models: list[str], results: ScorecardResults) -> None:
    """The data loaded in this process and the two calls timed warm."""
    import attribution as at

    touches, outcomes = dataset(args.journeys, 12, milestones=True)
    loaded = at.load(touches, outcomes)
    journeys = loaded.journeys
    results.data = (
        f"{journeys.n_journeys:,} journeys, {journeys.n_touches:,} touches, "
        f"{journeys.n_channels} channels, {journeys.total_conversions:,.0f} opportunities "
        "with lead, close and won (parquet)"
    )
    with_card = at.attribute(loaded, models, **run_options(True))  # warm-up: kernels
    assert with_card.scorecards is not None
    results.rows = sum(len(frame) for frame in with_card.scorecards.values())
    results.statuses = [f"{m.model}: {m.status.value}" for m in with_card.reconciliation.models]
    print("[bench_scorecard] warm runs ...", file=sys.stderr, flush=True)

    def plain() -> object:
        return at.attribute(loaded, models, **run_options(False))

    def scorecard() -> object:
        return at.attribute(loaded, models, **run_options(True))

    results.plain_s = timed(plain, args.repeats)[0]
    results.scorecard_s = timed(scorecard, args.repeats)[0]


def measure(args: argparse.Namespace) -> ScorecardResults:
    results = ScorecardResults(
        settings={"journeys": args.journeys, "repeats": args.repeats},
        machine=machine(),
        load_before=load_average(),
    )
    models, results.note = (args.models, "") if args.models else default_models()
    results.models = models
    warm_runs(args, models, results)
    print("[bench_scorecard] fresh processes ...", file=sys.stderr, flush=True)
    touches, outcomes = dataset(args.journeys, 12, milestones=True)
    for flag in ("no", "yes"):
        task = ["call", PROCESS_JOB, str(touches), str(outcomes), ",".join(models), flag]
        measured = fresh.run(task, timeout=args.timeout)
        peak = measured.peak_mb if measured.ok else None
        if flag == "yes":
            results.scorecard_mb = peak
        else:
            results.plain_mb = peak
        if not measured.ok:
            results.statuses.append(f"fresh process ({flag} scorecard): {measured.status}")
    ratio = (
        results.scorecard_mb / results.plain_mb
        if results.scorecard_mb is not None and results.plain_mb
        else None
    )
    results.targets = [
        Target("time the scorecard adds to the run", results.added_s, "s", at_most=2.0),
        Target("peak memory, with / without the scorecard", ratio, "x", at_most=1.2),
    ]
    results.load_after = load_average()
    return results


def render(results: ScorecardResults) -> str:
    lines = [
        "# Revenue scorecard (benchmarks/bench_scorecard.py, issue 12)",
        "",
        f"Machine: {results.machine}",
        f"Load average (1/5/15 min) before: {results.load_before}; after: {results.load_after}",
        "",
        f"Data: {results.data}. Models: {', '.join(f'`{m}`' for m in results.models)}, by "
        f"channel x team x {PERIOD}, channel x {PERIOD} and team x {PERIOD} "
        f"({results.rows:,} scorecard rows).",
        *([results.note] if results.note else []),
        "",
        "## Targets",
        "",
        targets_table(results.targets),
        "",
        "## Measurements",
        "",
        markdown_table(
            [
                "run",
                f"median of {results.settings['repeats']} warm calls, s",
                "fresh process peak MB",
            ],
            [
                ["models alone", seconds_text(results.plain_s), mb_text(results.plain_mb)],
                [
                    "models + scorecard",
                    seconds_text(results.scorecard_s),
                    mb_text(results.scorecard_mb),
                ],
                ["added", seconds_text(results.added_s), "-"],
            ],
        ),
        "",
        "Statuses: " + "; ".join(results.statuses),
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument(
        "--models", help="comma-separated (default: recommended, sourced, influenced)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="warm calls per median")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per process")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.models = [m for m in str(args.models).split(",") if m] if args.models else None
    if args.quick:
        args.journeys, args.repeats = 2_000, 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = measure(args)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(results), indent=1))


if __name__ == "__main__":
    main()
