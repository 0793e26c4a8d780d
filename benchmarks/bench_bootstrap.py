"""The Poisson bootstrap's cost, and whether its intervals cover what they should (issue 14).

    python -m benchmarks.bench_bootstrap [--journeys 1000000] [--replicates 200]
        [--repeats 3] [--samples 200] [--sample-journeys 2000]
        [--reference-journeys 1000000] [--scenario b2b] [--skip cost,calibration]
        [--jobs rule,markov,shapley,shapley_observed]
        [--quick] [--json FILE]

**cost**: on ``--journeys`` synthetic journeys (10 touches each, 12 channels, parquet),
four jobs: every rule model ``"all"`` runs (one ``attribute`` call), ``markov`` (order
1), exact ``shapley`` (its default, model-based game) and exact ``shapley`` with
``game="observed_rates"`` (the coalition-rate game, the engine's exact Shapley when the
issue's target was set). Each job runs in fresh processes (:mod:`benchmarks.fresh`)
that load the data, warm numba's kernels on the first thousand journeys, and time the
call: plain (median of ``--repeats`` calls) and with ``--replicates`` bootstrap
replicates (one call), rolled up by channel and team. Peak memory is each process's
``VmHWM``. Targets: rule models bootstrapped <= 10x one plain run of them; Markov
<= 30 s; shapley (either game) <= 60 s; each job's peak with the bootstrap <= 2x
without.

**calibration**: ``--samples`` independent samples of ``--sample-journeys`` buyers of one
simulator scenario (``attribution.simulate.simulate(scenario, journeys, seed=s)`` for
seeds s = 1, 2, ...), each run with ``linear`` and ``markov`` and ``--replicates``
replicates (bootstrap seed s, 90% percentile intervals of each channel's share). The
estimand is the same model's share on one large sample of the same scenario
(``--reference-journeys`` buyers, seed :data:`REFERENCE_SEED`, unrelated to the samples'
seeds). Reported: how often the interval covers it, per model and channel and overall
(a good 90% interval: 85-95%). A channel absent from a sample has no interval there and
counts as not covered (the table says how often). The coverage of 200 samples has a
binomial standard error of about 2 points at 90%; the large sample's own sampling error
is part of what an interval must cover, and is small at 1M buyers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from attribution.models.registry import RULE_MODELS, all_models
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
)

SECTIONS = ("cost", "calibration")
CALIBRATED_MODELS = ("linear", "markov")
LEVEL = 0.9
REFERENCE_SEED = 1_000_003
WARM_JOURNEYS = 1_000
PROCESS_JOB = "benchmarks.bench_bootstrap:process_job"
#: Target seconds with the bootstrap, per job (rule models: a ratio to the plain run).
SECONDS_TARGETS = {"markov": 30.0, "shapley": 60.0, "shapley_observed": 60.0}
#: The cost jobs: key (``--jobs``), label, models, their parameters.
JOBS: tuple[tuple[str, str, list[str] | None, dict[str, dict[str, str]]], ...] = (
    ("rule", "rule models", None, {}),
    ("markov", "markov", ["markov"], {}),
    ("shapley", "shapley", ["shapley"], {}),
    ("shapley_observed", "shapley_observed", ["shapley"], {"shapley": {"game": "observed_rates"}}),
)
RULE_RATIO_TARGET = 10.0
MEMORY_RATIO_TARGET = 2.0
#: The coverage (%) a good 90% interval has over many samples.
COVERAGE = (85.0, 95.0)


def rule_models() -> list[str]:
    """Every rule model ``"all"`` runs."""
    return [name for name in all_models() if name in RULE_MODELS]


@dataclass
class CostRow:
    job: str
    models: list[str]
    plain_s: float | None
    plain_mb: float | None
    bootstrap_s: float | None
    bootstrap_mb: float | None
    status: str

    @property
    def time_ratio(self) -> float | None:
        if self.plain_s is None or self.bootstrap_s is None or not self.plain_s:
            return None
        return self.bootstrap_s / self.plain_s

    @property
    def memory_ratio(self) -> float | None:
        if self.plain_mb is None or self.bootstrap_mb is None or not self.plain_mb:
            return None
        return self.bootstrap_mb / self.plain_mb


@dataclass
class Coverage:
    """Intervals of one model and channel over the samples: how many covered the
    reference share, and how many samples had no interval (channel absent)."""

    model: str
    channel: str
    reference_share: float
    samples: int
    covered: int
    missing: int
    mean_width: float

    @property
    def rate(self) -> float:
        return self.covered / self.samples if self.samples else math.nan


@dataclass
class BootstrapResults:
    settings: dict[str, object]
    machine: str
    load_before: str
    load_after: str = ""
    data: str = ""
    cost: list[CostRow] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    calibration_s: float | None = None
    failed_replicates: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


def process_job(
    touches: str, outcomes: str, models: str, replicates: str, repeats: str, parameters: str
) -> dict:
    """In a fresh process: load, warm the kernels on the first journeys, then time the
    call (``replicates`` = 0: a plain run, the median of ``repeats`` calls; ``parameters``:
    the models' parameters as JSON)."""
    import attribution as at
    from attribution.bootstrap import Bootstrap

    loaded = at.load(touches, outcomes)
    names, b = models.split(","), int(replicates)
    options = json.loads(parameters) or None
    bootstrap = Bootstrap(b) if b else None
    first = np.arange(min(WARM_JOURNEYS, loaded.journeys.n_journeys))
    at.attribute(
        loaded.journeys.subset(first),
        names,
        parameters=options,
        bootstrap=Bootstrap(2) if b else None,
    )
    times = []
    for _ in range(1 if b else int(repeats)):
        start = time.perf_counter()
        at.attribute(loaded, names, parameters=options, bootstrap=bootstrap)
        times.append(time.perf_counter() - start)
    return {"seconds": float(np.median(times))}


def measure_cost(args: argparse.Namespace, results: BootstrapResults) -> None:
    import pyarrow.parquet as pq

    touches, outcomes = (str(p) for p in dataset(args.journeys, 12))
    rows = pq.read_metadata(touches).num_rows
    results.data = f"{args.journeys:,} journeys, {rows:,} touches, 12 channels (parquet)"
    for key, job, chosen, parameters in JOBS:
        if key not in args.jobs:
            continue
        models = rule_models() if chosen is None else chosen
        measured = {}
        for b in (0, args.replicates):
            print(f"[bench_bootstrap] {job}, B = {b} ...", file=sys.stderr, flush=True)
            task = ["call", PROCESS_JOB, touches, outcomes, ",".join(models), str(b),
                    str(args.repeats), json.dumps(parameters)]  # fmt: skip
            measured[b] = fresh.run(task, timeout=args.timeout)
        plain, boot = measured[0], measured[args.replicates]
        results.cost.append(
            CostRow(
                job,
                models,
                plain.values.get("seconds") if plain.ok else None,
                plain.peak_mb if plain.ok else None,
                boot.values.get("seconds") if boot.ok else None,
                boot.peak_mb if boot.ok else None,
                plain.status if not plain.ok else boot.status,
            )
        )
    for row in results.cost:
        if row.job == "rule models":
            label = f"rule models, B = {args.replicates} / one plain run"
            results.targets.append(Target(label, row.time_ratio, "x", at_most=RULE_RATIO_TARGET))
        else:
            label, limit = f"`{row.job}`, B = {args.replicates}", SECONDS_TARGETS[row.job]
            results.targets.append(Target(label, row.bootstrap_s, "s", at_most=limit))
    for row in results.cost:
        label = f"{row.job}: peak memory with / without the bootstrap"
        results.targets.append(Target(label, row.memory_ratio, "x", at_most=MEMORY_RATIO_TARGET))


def model_shares(credits: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Per model and channel the asked columns, without the untouched group."""
    from attribution.journeys import NO_TOUCH_LABEL

    kept = credits[credits["channel"] != NO_TOUCH_LABEL]
    return kept.set_index(["model", "channel"])[list(columns)]


def measure_calibration(args: argparse.Namespace, results: BootstrapResults) -> None:
    import attribution as at
    from attribution.bootstrap import Bootstrap
    from attribution.simulate import simulate

    start = time.perf_counter()
    print("[bench_bootstrap] reference sample ...", file=sys.stderr, flush=True)
    reference = simulate(args.scenario, args.reference_journeys, REFERENCE_SEED, truth=False)
    credits = at.attribute(reference.load(), list(CALIBRATED_MODELS), by=("channel",)).credits
    target = model_shares(credits, ["share"])["share"]
    del reference, credits
    covered = pd.Series(0, index=target.index)
    missing = pd.Series(0, index=target.index)
    widths = pd.Series(0.0, index=target.index)
    for seed in range(1, args.samples + 1):
        if seed % 20 == 1:
            print(f"[bench_bootstrap] samples {seed}-...", file=sys.stderr, flush=True)
        sample = simulate(args.scenario, args.sample_journeys, seed, truth=False)
        result = at.attribute(
            sample.load(),
            list(CALIBRATED_MODELS),
            by=("channel",),
            bootstrap=Bootstrap(args.replicates, ci=LEVEL, seed=seed),
        )
        results.failed_replicates += [
            f"sample {seed}: {note.render()}"
            for note in result.reconciliation.notes
            if note.code == "bootstrap_replicates_failed"
        ]
        bounds = model_shares(result.credits, ["share_low", "share_high"]).reindex(target.index)
        inside = (bounds["share_low"] <= target) & (target <= bounds["share_high"])
        covered += inside.astype(int)
        missing += bounds["share_low"].isna().astype(int)
        widths += (bounds["share_high"] - bounds["share_low"]).fillna(0.0)
    present = args.samples - missing
    results.coverage = [
        Coverage(model, channel, float(target[(model, channel)]), args.samples,
                 int(covered[(model, channel)]), int(missing[(model, channel)]),
                 float(widths[(model, channel)] / present[(model, channel)])
                 if present[(model, channel)] else math.nan)
        for model, channel in target.index
    ]  # fmt: skip
    results.calibration_s = time.perf_counter() - start
    for model in CALIBRATED_MODELS:
        rows = [c for c in results.coverage if c.model == model]
        rate = sum(c.covered for c in rows) / sum(c.samples for c in rows)
        label = f"coverage of `{model}`'s {LEVEL:.0%} share intervals"
        results.targets.append(
            Target(label, 100 * rate, "%", at_least=COVERAGE[0], at_most=COVERAGE[1])
        )


def coverage_table(coverage: Sequence[Coverage]) -> str:
    models = list(dict.fromkeys(c.model for c in coverage))
    channels = list(dict.fromkeys(c.channel for c in coverage))
    cell = {(c.model, c.channel): c for c in coverage}
    rows = []
    for channel in channels:
        row = [channel]
        for model in models:
            c = cell.get((model, channel))
            row += (
                ["-", "-", "-"]
                if c is None
                else [f"{c.reference_share:.1%}", f"{c.rate:.1%}", f"{c.mean_width:.3f}"]
            )
        rows.append(row)
    overall = ["overall"]
    for model in models:
        mine = [c for c in coverage if c.model == model]
        rate = sum(c.covered for c in mine) / sum(c.samples for c in mine)
        overall += ["", f"{rate:.1%}", ""]
    rows.append(overall)
    every = sum(c.covered for c in coverage) / sum(c.samples for c in coverage)
    rows.append(["both models", *[""] * (3 * len(models) - 2), f"{every:.1%}", ""])
    header = ["channel"]
    for model in models:
        header += [f"{model} share (reference)", f"{model} coverage", f"{model} mean width"]
    return markdown_table(header, rows)


def render(results: BootstrapResults) -> str:
    s = results.settings
    lines = [
        "# Bootstrap (benchmarks/bench_bootstrap.py, issue 14)",
        "",
        f"Machine: {results.machine}",
        f"Load average (1/5/15 min) before: {results.load_before}; after: {results.load_after}",
        "",
    ]
    if results.targets:
        lines += ["## Targets", "", targets_table(results.targets), ""]
    if results.cost:
        lines += [
            f"## Cost: B = {s['replicates']} on {results.data}",
            "",
            f"Fresh processes; plain: median of {s['repeats']} calls; bootstrap: one call; "
            "kernels warmed first on 1,000 journeys; roll-up by channel and team.",
            "",
            markdown_table(
                ["job", "plain s", "plain peak MB", "bootstrap s", "bootstrap peak MB",
                 "time ratio", "memory ratio", "status"],
                [
                    [f"{r.job} ({len(r.models)} models)" if len(r.models) > 1 else r.job,
                     seconds_text(r.plain_s), mb_text(r.plain_mb), seconds_text(r.bootstrap_s),
                     mb_text(r.bootstrap_mb),
                     "-" if r.time_ratio is None else f"{r.time_ratio:.1f}x",
                     "-" if r.memory_ratio is None else f"{r.memory_ratio:.2f}x", r.status]
                    for r in results.cost
                ],
            ),
            "",
        ]  # fmt: skip
        rules = [r for r in results.cost if r.job == "rule models"]
        if rules:
            lines += ["Rule models: " + ", ".join(rules[0].models) + ".", ""]
        if any(r.job == "shapley_observed" for r in results.cost):
            lines += ['`shapley_observed`: `shapley` with `game="observed_rates"`.', ""]
    if results.coverage:
        missing = sum(c.missing for c in results.coverage)
        lines += [
            f"## Calibration: `{s['scenario']}`, {s['samples']} samples of "
            f"{s['sample_journeys']:,} buyers, B = {s['replicates']}",
            "",
            f"Reference: the same models on {s['reference_journeys']:,} buyers (seed "
            f"{REFERENCE_SEED}). Coverage = share of samples whose {LEVEL:.0%} interval of the "
            f"channel's share contains the reference share; mean width of the intervals. "
            f"Intervals missing (channel absent from a sample, counted as not covered): "
            f"{missing}. Binomial standard error of a coverage near 90% over "
            f"{s['samples']} samples: {100 * math.sqrt(0.09 / max(1, int(str(s['samples'])))):.1f}"
            " points. Run time: "
            f"{seconds_text(results.calibration_s)} s.",
            "",
            coverage_table(results.coverage),
            "",
        ]
        if results.failed_replicates:
            lines += ["Replicates that could not be fitted:", ""]
            lines += [f"- {text}" for text in results.failed_replicates[:20]]
            lines.append("")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000, help="cost section")
    parser.add_argument("--replicates", type=int, default=200, help="bootstrap replicates B")
    parser.add_argument("--repeats", type=int, default=3, help="plain calls per median")
    parser.add_argument("--samples", type=int, default=200, help="calibration samples")
    parser.add_argument("--sample-journeys", type=int, default=2_000)
    parser.add_argument("--reference-journeys", type=int, default=1_000_000)
    parser.add_argument("--scenario", default="b2b", help="simulator scenario")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per process")
    parser.add_argument(
        "--jobs",
        default=",".join(key for key, *_ in JOBS),
        help=f"cost jobs to run: {','.join(key for key, *_ in JOBS)}",
    )
    parser.add_argument("--skip", default="", help=f"sections to leave out: {','.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.skip = {x for x in str(args.skip).split(",") if x}
    args.jobs = {x for x in str(args.jobs).split(",") if x}
    known = [key for key, *_ in JOBS]
    if unknown_jobs := sorted(args.jobs - set(known)):
        parser.error(f"unknown job(s) {', '.join(unknown_jobs)}; known: {', '.join(known)}")
    if unknown := sorted(args.skip - set(SECTIONS)):
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    if args.quick:
        args.journeys, args.replicates, args.repeats = 2_000, 5, 1
        args.samples, args.sample_journeys, args.reference_journeys = 4, 300, 3_000
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "skip", "jobs")}
    settings["jobs"] = sorted(args.jobs)
    results = BootstrapResults(settings, machine(), load_average())
    if "cost" not in args.skip:
        measure_cost(args, results)
    if "calibration" not in args.skip:
        measure_calibration(args, results)
    results.load_after = load_average()
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(results), indent=1))


if __name__ == "__main__":
    main()
