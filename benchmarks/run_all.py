"""Run every benchmark in one go and write benchmarks/RESULTS.md.

    python -m benchmarks.run_all [--out benchmarks/RESULTS.md] [--journeys 1000000]
        [--speed-sizes 10000,100000,1000000] [--accuracy-journeys 20000] [--seeds 1,2,3]
        [--peer-python PY] [--mam1-python PY] [--peer-timeout 120]
        [--accuracy-peer-timeout 60] [--shapley-peer-journeys 20000]
        [--shapley-peer-timeout 60]
        [--skip rules,markov,shapley,process,scorecard,bootstrap,report,hazard,presence,
                paths_accuracy,journeys,dask,speed,accuracy]
        [--quick] [--json FILE]

Sections, in order: ``bench_rules`` (issue 2: load and the rule models at
``--journeys``), ``bench_markov`` (issue 3: counting and solving the chain, against
ChannelAttribution), ``bench_shapley`` (issue 4: targets, peers by channel count, the
unobserved-coalition rules), ``bench_process`` (issue 11: whole processes: start-up,
path tables against ChannelAttribution, every model at once, scale), ``bench_scorecard``
(issue 12), ``bench_bootstrap`` (issue 14: cost and calibration of the intervals),
``bench_report`` (issue 15), ``bench_hazard`` and ``bench_presence`` (issue 10: speed,
memory and the guard's trade-off), ``accuracy_paths`` (issue 10: path tables),
``bench_journeys`` (issue 16: CRM exports to journeys), ``bench_dask`` (issue 13: 100M
touches on two workers), :mod:`benchmarks.speed` and :mod:`benchmarks.accuracy`.
The scripts before ``speed`` run as child processes and their output is copied
verbatim (a script that fails or runs past ``--script-timeout`` is reported as such);
with ``--quick`` each runs its own ``--quick`` mode. The 1-minute load
average is recorded before and after each section: other work on the machine makes
times noisy, so the report says how busy it was. ``--quick`` shrinks every size so the
whole run takes seconds (what the smoke test runs); its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import attribution
from attribution.models.registry import RULE_MODELS
from benchmarks import accuracy, speed
from benchmarks.harness import machine
from benchmarks.peers.catalog import PEERS
from benchmarks.peers.runner import REPO

#: Sections that run a benchmark script as a child process: name -> (title, module).
SCRIPTS = {
    "rules": ("Rule models (benchmarks/bench_rules.py, issue 2)", "benchmarks.bench_rules"),
    "markov": ("Markov chain (benchmarks/bench_markov.py, issue 3)", "benchmarks.bench_markov"),
    "shapley": ("Shapley (benchmarks/bench_shapley.py, issue 4)", "benchmarks.bench_shapley"),
    "process": (
        "Whole processes (benchmarks/bench_process.py, issue 11)",
        "benchmarks.bench_process",
    ),
    "scorecard": (
        "Revenue scorecard (benchmarks/bench_scorecard.py, issue 12)",
        "benchmarks.bench_scorecard",
    ),
    "bootstrap": (
        "Bootstrap (benchmarks/bench_bootstrap.py, issue 14)",
        "benchmarks.bench_bootstrap",
    ),
    "report": ("HTML report (benchmarks/bench_report.py, issue 15)", "benchmarks.bench_report"),
    "hazard": ("Hazard model (benchmarks/bench_hazard.py, issue 10)", "benchmarks.bench_hazard"),
    "presence": (
        "Presence model (benchmarks/bench_presence.py, issue 10)",
        "benchmarks.bench_presence",
    ),
    "paths_accuracy": (
        "Accuracy on path tables (benchmarks/accuracy_paths.py, issue 10)",
        "benchmarks.accuracy_paths",
    ),
    "journeys": (
        "Journeys from CRM exports (benchmarks/bench_journeys.py, issue 16)",
        "benchmarks.bench_journeys",
    ),
    "dask": ("Dask engine (benchmarks/bench_dask.py, issue 13)", "benchmarks.bench_dask"),
}
SECTIONS = (*SCRIPTS, "speed", "accuracy")
#: Sections whose numbers are times (accuracy runs two peers at a time and times nothing).
TIMED_SECTIONS = (*SCRIPTS, "speed")
#: 1-minute load average above which the report flags the machine as busy (2 cores).
BUSY_LOAD = 1.5


@dataclass
class Section:
    """One benchmark's Markdown and the conditions it ran in."""

    name: str
    title: str
    markdown: str
    seconds: float
    load_before: float
    load_after: float


def load_average() -> float:
    return os.getloadavg()[0]


def busiest_processes(count: int = 5) -> str:
    """The processes using the most CPU right now (``ps``), for the report."""
    try:
        done = subprocess.run(
            ["ps", "-eo", "pid,pcpu,etime,comm", "--sort=-pcpu"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "(ps unavailable)"
    return "\n".join(done.stdout.splitlines()[: count + 1])


def demote(markdown: str, levels: int = 2) -> str:
    """Push a script's Markdown headings down ``levels`` levels to nest them here."""
    return "\n".join(
        "#" * levels + line if line.startswith("#") else line for line in markdown.splitlines()
    )


def run_script(arguments: list[str], timeout: float) -> str:
    """A benchmark script's standard output, or what went wrong."""
    try:
        done = subprocess.run(
            [sys.executable, *arguments],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"**timeout**: `{' '.join(arguments)}` ran longer than {timeout:g} s."
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return (
            f"**failed** (exit code {done.returncode}): `{' '.join(arguments)}`\n\n"
            f"```\n{tail}\n```\n\nOutput before the failure:\n\n{done.stdout}"
        )
    return demote(done.stdout.strip())


def timed_section(name: str, title: str, produce: Callable[[], str]) -> Section:
    print(f"[run_all] {title} ...", file=sys.stderr, flush=True)
    before = load_average()
    start = time.perf_counter()
    markdown = produce()
    return Section(name, title, markdown, time.perf_counter() - start, before, load_average())


def speed_summary(results: speed.SpeedResults) -> list[str]:
    """Facts for the narrative: ratio ranges per peer, where a peer was faster."""
    lines = []
    for size in results.sizes:
        n = size.journeys
        rows = [r for r in results.peers if r.journeys == n]
        for peer in dict.fromkeys(r.peer for r in rows):
            mine = [r for r in rows if r.peer == peer]
            ratios = [r.ratio for r in mine if r.ratio is not None]
            others = [f"{r.job}: {r.status}" for r in mine if r.status != "ok"]
            text = f"- {speed.size_label(n)} journeys, {peer}: "
            if ratios:
                text += (
                    f"ratio peer/ours {speed.ratio_text(min(ratios))} to "
                    f"{speed.ratio_text(max(ratios))} over {len(ratios)} comparable job(s)"
                )
            else:
                text += "no comparable job finished"
            if others:
                text += "; no numbers for " + "; ".join(others)
            lines.append(text + ".")
    largest = max(size.journeys for size in results.sizes)
    ours = [r.fresh_mb for r in results.ours if r.journeys == largest and r.model != speed.ALL]
    text = (
        f"- Peak memory at {speed.size_label(largest)} journeys: this engine "
        f"{min(ours):,.0f}-{max(ours):,.0f} MB (a fresh process loading the data and running "
        "one model)"
    )
    for peer in dict.fromkeys(r.peer for r in results.peers):
        peaks = [
            r.peer_mb
            for r in results.peers
            if r.peer == peer and r.journeys == largest and r.peer_mb is not None
        ]
        if peaks:
            text += f"; {peer} {min(peaks):,.0f}-{max(peaks):,.0f} MB"
    lines.append(text + ".")
    return lines


def speed_expectation(results: speed.SpeedResults) -> list[str]:
    faster = speed.peers_faster(results)
    if not faster:
        return [
            "**Holds** in this run: every peer job that finished took longer than this "
            "engine's load + counterpart model (peer jobs that failed or timed out are "
            "listed above; they did not finish within the limit)."
        ]
    loads = {size.journeys: size.load_memory_s for size in results.sizes}
    lines = ["**Does not hold** for these peer jobs (ratio below 1 = the peer was faster):", ""]
    for row in faster:
        load = loads[row.journeys]
        model = (row.ours_s or 0.0) - load
        lines.append(
            f"- {row.peer} `{row.job}` at {speed.size_label(row.journeys)} journeys: "
            f"peer {speed.seconds_text(row.peer_s)} s against ours "
            f"{speed.seconds_text(row.ours_s)} s = load {speed.seconds_text(load)} s + "
            f"{row.ours} {speed.seconds_text(model)} s ({speed.ratio_text(row.ratio)})."
        )
    lines += [
        "",
        "What would close it: our side of the ratio includes loading the raw touch table "
        "(validation, sorting and encoding of every touch), while ChannelAttribution and mta "
        "start from a path table that the benchmark aggregated for them, untimed. Where the "
        "load is most of our time (above), a cheaper load for small inputs, or timing this "
        "engine from the same path table (`attribution.load_paths`), would close it; the "
        "model computation itself is not where the time goes.",
    ]
    return lines


def accuracy_summary(results: accuracy.AccuracyResults) -> list[str]:
    summary = accuracy.summarize(results)
    best = accuracy.best_by_scenario(summary)
    ours = best[best["source"] == accuracy.OURS]
    lines = []
    for row in ours.itertuples(index=False):
        lines.append(
            f"- {row.scenario}: best model here `{row.model}` (share error "
            f"{accuracy.mean_sd(float(row.tvd_mean), float(row.tvd_sd))})."
        )
    rules = set(RULE_MODELS)
    rule_best = [str(r.scenario) for r in ours.itertuples(index=False) if r.model in rules]
    if rule_best:
        lines.append(
            f"- In {len(rule_best)} of {len(ours)} scenarios ({', '.join(rule_best)}) the "
            "best model here is a rule model, which the peers implement with the same "
            "definition where they have it."
        )
    return lines


def accuracy_expectation(results: accuracy.AccuracyResults) -> list[str]:
    verdicts = accuracy.comparisons(accuracy.summarize(results))
    misses = [v for v in verdicts if v.outcome != "lower"]
    if not verdicts:
        return ["Not measured: no peer model ran on every seed."]
    if not misses:
        return [
            "**Holds** in this run: in every scenario this engine's best model has a lower "
            "mean share error than each peer's best."
        ]
    lines = ["**Does not hold** in these cases:", ""]
    for v in misses:
        relation = "the same error as" if v.outcome == "tie" else "a lower error than"
        lines.append(
            f"- {v.scenario}: {v.peer} `{v.peer_model}` ({v.peer_tvd:.4f}) has {relation} "
            f"this engine's best `{v.our_model}` ({v.our_tvd:.4f})."
        )
    lines += ["", *closing_accuracy(results, misses)]
    return lines


def closing_accuracy(
    results: accuracy.AccuracyResults, misses: list[accuracy.Verdict]
) -> list[str]:
    """What the data say would close the accuracy gap: ties are shared rule models, so
    only a better model here closes them; strictly better peer models are named with
    their counterpart here."""
    summary = accuracy.summarize(results)
    complete = summary[(summary["status"] == "ok") & summary["tvd_mean"].notna()]
    mine = complete[complete["source"] == accuracy.OURS]
    rules = set(RULE_MODELS)
    lines = [
        "What would close it: a tie means that this engine's best model in that scenario is "
        "a rule model the peer computes by the same definition (identical numbers), so no "
        "implementation can beat it; only a model here that beats every rule model can. "
        "The best data-driven model here against the best rule model, per scenario:",
        "",
    ]
    for scenario, group in mine.groupby("scenario", sort=False):
        rule = group[group["model"].isin(rules)].sort_values("tvd_mean").iloc[0]
        data = group[~group["model"].isin(rules)].sort_values("tvd_mean").iloc[0]
        lines.append(
            f"- {scenario}: `{data['model']}` {float(data['tvd_mean']):.3f} against "
            f"`{rule['model']}` {float(rule['tvd_mean']):.3f}"
        )
    higher = [v for v in misses if v.outcome == "higher"]
    if higher:
        lines += ["", "Peer models with a strictly lower error than this engine's best:", ""]
        for v in higher:
            job = next(
                (
                    j
                    for info in PEERS.values()
                    if info.label == v.peer
                    for j in info.jobs
                    if v.peer_model in {m.name for m in j.models}
                ),
                None,
            )
            counterpart = ", ".join(job.ours) if job is not None and job.ours else "none"
            lines.append(
                f"- {v.scenario}: {v.peer} `{v.peer_model}` {v.peer_tvd:.4f} (its "
                f"counterpart here: {counterpart}; this engine's best `{v.our_model}` "
                f"{v.our_tvd:.4f})"
            )
    return lines


def peer_notes(names: list[str]) -> list[str]:
    lines = []
    for name in names:
        info = PEERS[name]
        lines.append(f"**{info.label}** (PyPI `{info.distribution}`, import `{info.import_name}`)")
        lines.append("")
        lines.append(f"- input: {info.input} table; setup timed: {info.setup}")
        for job in info.jobs:
            counterpart = ", ".join(job.ours) or "no counterpart here"
            notes = "; ".join(f"{m.name}: {m.note}" for m in job.models if m.note)
            lines.append(
                f"- job `{job.name}` = `{job.options}` -> {counterpart}"
                + (f" ({notes})" if notes else "")
            )
        lines += [f"- {note}" for note in info.notes]
        lines.append("")
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        help="default benchmarks/RESULTS.md; with --quick bench_data/RESULTS.quick.md, "
        "so a smoke run never replaces the recorded results",
    )
    parser.add_argument("--journeys", type=int, default=1_000_000, help="rules/markov/shapley")
    parser.add_argument(
        "--speed-sizes", default="10000,100000,1000000", help="journeys per speed run"
    )
    parser.add_argument("--speed-models", default="all", help="this engine's models in speed")
    parser.add_argument(
        "--accuracy-journeys", type=int, default=20_000, help="simulated buyers per dataset"
    )
    parser.add_argument("--seeds", default="1,2,3", help="accuracy: seeds per scenario")
    parser.add_argument("--scenarios", default="all", help="accuracy: simulator scenarios")
    parser.add_argument("--repeats", type=int, default=5, help="warm runs per median")
    parser.add_argument(
        "--fresh-repeats", type=int, default=3, help="fresh processes per median (speed)"
    )
    parser.add_argument("--peers", default=",".join(PEERS), help="peer libraries to run")
    parser.add_argument(
        "--peer-python", default=sys.executable, help="interpreter with the peers installed"
    )
    parser.add_argument(
        "--mam1-python", default=sys.executable, help="interpreter of MAM 1.x (pandas < 3)"
    )
    parser.add_argument("--peer-timeout", type=float, default=120.0, help="speed, per step")
    parser.add_argument(
        "--accuracy-peer-timeout", type=float, default=60.0, help="seconds per peer job"
    )
    parser.add_argument(
        "--shapley-peer-journeys", type=int, default=20_000, help="journeys of the Shapley peers"
    )
    parser.add_argument(
        "--shapley-peer-timeout", type=float, default=60.0, help="seconds per Shapley peer run"
    )
    parser.add_argument(
        "--script-timeout", type=float, default=1800.0, help="seconds per benchmark script"
    )
    parser.add_argument("--skip", default="", help=f"sections to leave out: {','.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--json", type=Path, help="also write speed and accuracy as JSON")
    args = parser.parse_args(argv)
    args.skip = {s for s in str(args.skip).split(",") if s}
    unknown = sorted(args.skip - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    if args.out is None:
        args.out = REPO / ("bench_data/RESULTS.quick.md" if args.quick else "benchmarks/RESULTS.md")
    if args.quick:
        args.journeys = 2_000
        args.speed_sizes = "500"
        args.speed_models = "first_touch,markov,shapley"
        args.accuracy_journeys = 500
        args.seeds = "1,2"
        args.scenarios = "independent,last_touch_trap"
        args.repeats = 1
        args.fresh_repeats = 1
    return args


def script_arguments(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command-line arguments of each script section (their own ``--quick`` with
    ``--quick``, else the sizes and repeats of this run)."""
    journeys, repeats = ["--journeys", str(args.journeys)], ["--repeats", str(args.repeats)]
    peers = ["--peer-python", args.peer_python, "--mam1-python", args.mam1_python]
    quick = ["--quick"] if args.quick else []
    chosen = [p for p in str(args.peers).split(",") if p]
    markov = [*journeys, *repeats, "--channels", "12" if args.quick else "12,20"]
    shapley = [*journeys, "--repeat", str(args.repeats), *peers]
    shapley += ["--peer-journeys", str(args.shapley_peer_journeys)]
    shapley += ["--peer-timeout", str(args.shapley_peer_timeout)]
    shapley += ["--skip-peers", "--skip-accuracy"] if args.quick else []
    process = [*journeys, *repeats, "--peer-python", args.peer_python, *quick]
    process += [] if "channelattribution" in chosen else ["--skip-peer"]
    return {
        "rules": [*journeys, *repeats],
        "markov": markov
        + ([] if "channelattribution" in chosen else ["--skip-channelattribution"]),
        "shapley": shapley,
        "process": process,
        "scorecard": [*journeys, *repeats, *quick],
        "bootstrap": [*journeys, *quick],
        "report": [*journeys, *quick],
        "hazard": (
            [
                *("--journeys", "2000", "--repeats", "1", "--guard-journeys", "300"),
                *("--seeds", "1", "--scenarios", "independent"),
            ]
            if args.quick
            else [*journeys, *repeats]
        ),
        "presence": ["--journeys", "2000", "--repeats", "1"]
        if args.quick
        else [*journeys, *repeats],
        "paths_accuracy": (
            ["--journeys", "400", "--seeds", "1", "--scenarios", "independent"]
            if args.quick
            else ["--timed"]
        ),
        "journeys": (
            [
                *("--touches", "20000", "--people", "4000", "--accounts", "400"),
                *("--opportunities", "2000", "--repeats", "1"),
            ]
            if args.quick
            else repeats
        ),
        "dask": ["--quick"] if args.quick else [],
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    load_start, processes = load_average(), busiest_processes()
    peer_args = ["--peers", args.peers, "--peer-python", args.peer_python]
    peer_args += ["--mam1-python", args.mam1_python]
    sections: list[Section] = []
    speed_results: speed.SpeedResults | None = None
    accuracy_results: accuracy.AccuracyResults | None = None
    repeats = str(args.repeats)
    for name, arguments in script_arguments(args).items():
        if name not in args.skip:
            title, module = SCRIPTS[name]
            command = ["-m", module, *arguments]
            sections.append(
                timed_section(name, title, partial(run_script, command, args.script_timeout))
            )
    if "speed" not in args.skip:
        speed_args = speed.parse_args(
            [
                *("--sizes", args.speed_sizes, "--models", args.speed_models),
                *("--repeats", repeats, "--fresh-repeats", str(args.fresh_repeats)),
                *("--peer-timeout", str(args.peer_timeout), *peer_args),
            ]
        )

        def run_speed() -> str:
            nonlocal speed_results
            speed_results = speed.measure(speed_args)
            return speed.render(speed_results)

        sections.append(timed_section("speed", "Speed: this engine and the peers", run_speed))
    if "accuracy" not in args.skip:
        accuracy_args = accuracy.parse_args(
            [
                *("--journeys", str(args.accuracy_journeys), "--seeds", args.seeds),
                *("--scenarios", args.scenarios),
                *("--peer-timeout", str(args.accuracy_peer_timeout), *peer_args),
            ]
        )

        def run_accuracy() -> str:
            nonlocal accuracy_results
            accuracy_results = accuracy.measure(accuracy_args)
            return accuracy.render(accuracy_results)

        sections.append(
            timed_section("accuracy", "Accuracy against simulated ground truth", run_accuracy)
        )
    finished = dt.datetime.now(dt.timezone.utc)
    report = write_report(
        args, sections, speed_results, accuracy_results, started, finished, load_start, processes
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    if args.json:
        raw = {
            "speed": None if speed_results is None else asdict(speed_results),
            "accuracy": None if accuracy_results is None else asdict(accuracy_results),
        }
        args.json.write_text(json.dumps(raw, indent=1))
    print(f"[run_all] wrote {args.out}", file=sys.stderr)


def write_report(
    args: argparse.Namespace,
    sections: list[Section],
    speed_results: speed.SpeedResults | None,
    accuracy_results: accuracy.AccuracyResults | None,
    started: dt.datetime,
    finished: dt.datetime,
    load_start: float,
    processes: str,
) -> str:
    """RESULTS.md: conditions, summary, expectations, every table, peer notes, how to rerun."""
    peers = [p for p in str(args.peers).split(",") if p]
    versions: dict[str, str] = {}
    for results in (speed_results, accuracy_results):
        if results is not None:
            versions.update(results.versions)
    busy = [
        s
        for s in sections
        if s.name in TIMED_SECTIONS and max(s.load_before, s.load_after) > BUSY_LOAD
    ]
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks.run_all`"
        + (" --quick (tiny sizes: these numbers mean nothing)" if args.quick else "")
        + "; re-run it to update this file, do not edit by hand.",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} to {finished:%H:%M} UTC "
        f"({(finished - started).total_seconds() / 60:.0f} min)",
        f"- Machine: {machine()}",
        f"- pipeline-attribution {attribution.__version__} (this engine)",
        "- Peers: "
        + (
            "; ".join(f"{PEERS[p].label} {versions.get(p, 'not run')}" for p in peers)
            if peers
            else "none"
        ),
        f"- Peer interpreters: `{args.peer_python}` (MAM 1.x: `{args.mam1_python}`)",
        f"- Sizes: rules, Markov, Shapley, process, scorecard, bootstrap and report benchmarks "
        f"{int(args.journeys):,} journeys"
        + (" (each script's own --quick sizes from process on)" if args.quick else "")
        + "; speed "
        + ", ".join(f"{int(s):,}" for s in str(args.speed_sizes).split(","))
        + f" journeys (12 channels); accuracy {int(args.accuracy_journeys):,} simulated buyers "
        f"per dataset, seeds {args.seeds}",
        f"- Load average (1 min) at the start: {load_start:.2f}; per section: "
        + "; ".join(
            f"{s.name} {s.load_before:.2f} -> {s.load_after:.2f} ({s.seconds / 60:.1f} min)"
            for s in sections
        )
        + (" (accuracy times nothing and runs two peers at a time)" if accuracy_results else ""),
    ]
    if busy:
        lines.append(
            f"- **The machine was busy** (load above {BUSY_LOAD}) during: "
            + ", ".join(s.name for s in busy)
            + ". Other work shares its 2 cores, so those times are upper bounds."
        )
    lines += ["", "Busiest processes at the start:", "", "```", processes, "```"]
    if speed_results is not None or accuracy_results is not None:
        lines += ["", "## What the numbers say", ""]
    if speed_results is not None:
        lines += ["Speed (peer time over this engine's time for the same model):", ""]
        lines += speed_summary(speed_results)
        lines.append("")
    if accuracy_results is not None:
        lines += ["Accuracy (share error against the simulated truth):", ""]
        lines += accuracy_summary(accuracy_results)
        lines.append("")
    if speed_results is not None or accuracy_results is not None:
        lines += ["## The expectations of issue 5", ""]
    if accuracy_results is not None:
        lines += [
            "1. *The best model here has a lower share error than each peer's best in every "
            "scenario.*",
            "",
        ]
        lines += accuracy_expectation(accuracy_results)
        lines.append("")
    if speed_results is not None:
        lines += [
            "2. *Every model here is faster than the peer implementation of the same model.*",
            "",
        ]
        lines += speed_expectation(speed_results)
        lines.append("")
    for section in sections:
        lines += [f"## {section.title}", "", section.markdown, ""]
    if peers:
        lines += ["## Peers: how they run and what their models compute", ""]
        lines += [
            "Each peer runs in a child process (`benchmarks/peers/child.py`) under the "
            "interpreter above, with its standard output discarded and a time limit per "
            "step; its input is built from this engine's journeys after the credit window "
            "(`benchmarks/peers/inputs.py`), so all libraries credit the same touches. "
            "Options are the peers' defaults except where noted.",
            "",
        ]
        lines += peer_notes(peers)
    lines += [
        "## Reproduce",
        "",
        "```",
        "python3 -m venv .venv && .venv/bin/pip install -e '.[bench]'",
        ".venv/bin/python -m benchmarks.run_all",
        "```",
        "",
        "MAM 1.x needs pandas < 3, so it runs only from its own environment: "
        "`--mam1-python /path/to/venv/bin/python` (pip install 'marketing-attribution-models<2' "
        "'pandas<3' matplotlib pyarrow). Each script also runs alone: "
        "`python -m benchmarks.speed --help`, `python -m benchmarks.accuracy --help`, "
        + ", ".join(f"`python -m {module} --help`" for _, module in SCRIPTS.values())
        + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
