"""Speed of every model of this engine, fresh and warm, and of the peers' same models.

    python -m benchmarks.speed [--sizes 10000,100000,1000000] [--channels 12]
        [--models all] [--repeats 5] [--fresh-repeats 3] [--peers channelattribution,mam2,mam1,mta]
        [--peer-python PY] [--mam1-python PY] [--peer-timeout 120] [--json FILE]

Data: ``benchmarks.synthetic`` through ``harness.dataset`` (N journeys of ~10 touches
over 12 channels, seed 7, cached as parquet in bench_data/). What each number is:

- **warm s**: median of ``--repeats`` calls of ``attribute(loaded, {model}, by=channel)``
  in this process, after one untimed call of every model (numba's cache loaded): the
  model's own cost once the data is encoded.
- **warm MB**: the peak resident memory of this process during those calls above what it
  held before them (the encoded journeys): the model's own working memory.
- **load s**: median of ``attribute.load`` of the parquet files (read, validate, encode).
- **fresh s**: median over ``--fresh-repeats`` new processes of their wall time, measured
  from outside: interpreter start, ``import attribution``, numba cache load, load of the
  parquet files, the model, exit. **fresh MB**: that process's peak resident memory.
- **peer s**: the peer's setup (e.g. its constructor) plus the median of its job's call
  (repeated while fewer than ``--repeats`` runs took under 10 s in all), from its
  native input already in memory; building that input from the engine's journeys is not
  timed. **peer MB**: peak resident memory of the peer's process through its import,
  reading its input, its setup and the job (earlier jobs' peaks in the same process
  excluded, memory they still hold included): comparable with **fresh MB**. Each peer
  runs in a child process with a time limit per step (``--peer-timeout``); a job that
  timed out is not run at larger sizes, nor one whose time scaled linearly to the next
  size exceeds 1.5 time limits (both say so).
- **credit totals**: at the first size, each peer model's credited conversions and value
  summed over channels, against the data's totals (does a peer drop journeys?).
- **ours s** (for the ratio): loading the same journeys from DataFrames in memory
  (median) plus the warm call of the counterpart models (one call when a peer job gives
  several models, e.g. ChannelAttribution's heuristics). **ratio** = peer s / ours s:
  above 1, this engine is faster.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import attribution as at
from attribution.io import Loaded
from benchmarks import fresh
from benchmarks.harness import dataset, report, timed
from benchmarks.memory import peak_memory_mb, reset_peak_memory, resident_memory_mb
from benchmarks.ours import our_model, our_models
from benchmarks.peers.catalog import PEERS, peer_names
from benchmarks.peers.inputs import write_inputs
from benchmarks.peers.runner import NOT_INSTALLED, JobOutcome, interpreter_has, run_peer

ALL = "all models above, one call"
PEER_BUDGET_SECONDS = 10.0
#: A peer job is not run at the next size when its time, scaled linearly with the number
#: of journeys, would exceed this many time limits (it would only time out).
PROJECTION_LIMIT = 1.5


@dataclass
class OurRow:
    """One model of this engine at one size (seconds; MB)."""

    journeys: int
    model: str
    warm_s: float
    warm_mb: float
    fresh_s: float
    fresh_mb: float


@dataclass
class PeerRow:
    """One peer job at one size, next to this engine's counterpart models."""

    journeys: int
    peer: str
    job: str
    models: str
    ours: str
    status: str
    peer_s: float | None
    setup_s: float | None
    peer_mb: float | None
    ours_s: float | None
    totals: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.peer_s is None or not self.ours_s:
            return None
        return self.peer_s / self.ours_s


@dataclass
class SizeInfo:
    """The data of one size and this engine's load times."""

    journeys: int
    touches: int
    channels: int
    conversions: float
    value: float
    load_parquet_s: float
    load_memory_s: float


@dataclass
class SpeedResults:
    sizes: list[SizeInfo] = field(default_factory=list)
    ours: list[OurRow] = field(default_factory=list)
    peers: list[PeerRow] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)


def fresh_job(touches: str, outcomes: str, label: str) -> None:
    """In a new process (:mod:`benchmarks.fresh`): load and run the models ``label``
    (comma-separated) in one call."""
    loaded = at.load(touches, outcomes)
    labels = label.split(",")
    at.attribute(loaded, {name: our_model(name) for name in labels}, by=("channel",))


def fresh_run(touches: Path, outcomes: Path, label: str) -> tuple[float, float]:
    """Wall seconds and peak MB (NaN where not measured) of one new process loading the
    data and running ``label``."""
    task = ["call", "benchmarks.speed:fresh_job", str(touches), str(outcomes), label]
    measured = fresh.run(task)
    if not measured.ok:
        raise RuntimeError(f"fresh process for {label}: {measured.status}")
    return measured.seconds, math.nan if measured.peak_mb is None else measured.peak_mb


def warm_run(loaded: Loaded, labels: tuple[str, ...], repeats: int) -> tuple[float, float]:
    """Median seconds of one ``attribute`` call of the models ``labels`` (warm cache), and
    the peak MB of those calls above the memory held before them."""
    models = {label: our_model(label) for label in labels}
    at.attribute(loaded, models, by=("channel",))
    gc.collect()
    before = resident_memory_mb()
    reset_peak_memory()
    seconds = timed(lambda: at.attribute(loaded, models, by=("channel",)), repeats)[0]
    return seconds, max(0.0, peak_memory_mb() - before)


def peer_pythons(args: argparse.Namespace) -> dict[str, str]:
    return {name: args.mam1_python if name == "mam1" else args.peer_python for name in args.peers}


def measure(args: argparse.Namespace) -> SpeedResults:
    results = SpeedResults(
        settings={
            "repeats": args.repeats,
            "fresh_repeats": args.fresh_repeats,
            "peer_timeout_s": args.peer_timeout,
            "channels": args.channels,
        }
    )
    pythons = peer_pythons(args)
    installed = {name: interpreter_has(pythons[name], PEERS[name].import_name) for name in pythons}
    for name, version in installed.items():
        results.versions[name] = version or f"{NOT_INSTALLED} ({pythons[name]})"
    gave_up: dict[tuple[str, str], str] = {}
    for n in args.sizes:
        touches, outcomes = dataset(n, args.channels)
        frames = pd.read_parquet(touches), pd.read_parquet(outcomes)
        loaded = at.load(*frames)
        journeys = loaded.journeys
        labels = args.models
        warm = {label: warm_run(loaded, (label,), args.repeats) for label in labels}
        warm[ALL] = warm_run(loaded, tuple(labels), args.repeats)
        for combo in {j.ours for name in args.peers for j in PEERS[name].jobs if j.ours}:
            if ", ".join(combo) not in warm:
                warm[", ".join(combo)] = warm_run(loaded, combo, args.repeats)

        def load_parquet(t: Path = touches, o: Path = outcomes) -> Loaded:
            return at.load(t, o)

        def load_memory(f: tuple[pd.DataFrame, pd.DataFrame] = frames) -> Loaded:
            return at.load(*f)

        size = SizeInfo(
            journeys=journeys.n_journeys,
            touches=journeys.n_touches,
            channels=journeys.n_channels,
            conversions=journeys.total_conversions,
            value=journeys.total_value,
            load_parquet_s=timed(load_parquet, args.repeats)[0],
            load_memory_s=timed(load_memory, args.repeats)[0],
        )
        results.sizes.append(size)
        print(f"{n:,} journeys: load {size.load_parquet_s:.3f} s", file=sys.stderr, flush=True)
        for label in [*labels, ALL]:
            models = ",".join(labels) if label == ALL else label
            runs = [fresh_run(touches, outcomes, models) for _ in range(args.fresh_repeats)]
            results.ours.append(
                OurRow(
                    n,
                    label,
                    *warm[label],
                    statistics.median(r[0] for r in runs),
                    max(r[1] for r in runs),
                )
            )
        windowed, _ = journeys.window(None)
        available = [name for name in args.peers if installed[name]]
        kinds = {PEERS[name].input for name in available}
        with tempfile.TemporaryDirectory(prefix="peer-inputs-") as folder:
            if kinds:
                write_inputs(windowed, Path(folder), kinds)
            del frames, loaded, journeys, windowed
            for name in args.peers:
                info = PEERS[name]
                jobs = [job.name for job in info.jobs if (name, job.name) not in gave_up]
                if installed[name] and jobs:
                    outcomes_ = run_peer(
                        info,
                        Path(folder),
                        jobs,
                        timeout=args.peer_timeout,
                        python=pythons[name],
                        repeats=args.repeats,
                        budget=PEER_BUDGET_SECONDS,
                        conversions=n == args.sizes[0],
                    )
                else:
                    outcomes_ = {job: JobOutcome(name, job, NOT_INSTALLED) for job in jobs}
                for job in info.jobs:
                    outcome = outcomes_.get(job.name) or JobOutcome(
                        name, job.name, gave_up[(name, job.name)]
                    )
                    if outcome.status.startswith("timeout"):
                        gave_up[(name, job.name)] = f"not run: {outcome.status} at {n:,}"
                    later = [m for m in args.sizes if m > n]
                    seconds = outcome.total_seconds
                    if seconds is not None and later:
                        projected = seconds * later[0] / n
                        if projected > PROJECTION_LIMIT * args.peer_timeout:
                            gave_up[(name, job.name)] = (
                                f"not run: {seconds:.0f} s at {n:,}, so ~{projected:.0f} s "
                                f"projected > limit {args.peer_timeout:g} s"
                            )
                    ours = ", ".join(job.ours)
                    ours_s = size.load_memory_s + warm[ours][0] if ours else None
                    results.peers.append(
                        PeerRow(
                            journeys=n,
                            peer=info.label,
                            job=job.name,
                            models=", ".join(m.name for m in job.models),
                            ours=ours or "-",
                            status=outcome.status,
                            peer_s=outcome.total_seconds,
                            setup_s=outcome.setup_seconds,
                            peer_mb=outcome.peak_mb,
                            ours_s=ours_s,
                            totals={
                                model: (
                                    sum(c for c, _ in per.values()),
                                    sum(v for _, v in per.values()),
                                )
                                for model, per in outcome.credits.items()
                            },
                        )
                    )
                print(f"  {info.label} done", file=sys.stderr, flush=True)
    return results


def size_label(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def seconds_text(x: float | None) -> str:
    if x is None:
        return "-"
    if x < 1:
        return f"{x:.3f}"
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:,.0f}x"


def peer_cell(row: PeerRow) -> str:
    """The peer's time, or why there is none."""
    return seconds_text(row.peer_s) if row.status == "ok" else row.status


def peers_faster(results: SpeedResults) -> list[PeerRow]:
    """Peer jobs that took less time than this engine's counterpart (ratio < 1)."""
    return [row for row in results.peers if row.ratio is not None and row.ratio < 1]


def _our_table(results: SpeedResults, sizes: list[int]) -> list[str]:
    lines = [
        "| journeys | touches | channels | conversions | load parquet s | load DataFrames s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in results.sizes:
        lines.append(
            f"| {size.journeys:,} | {size.touches:,} | {size.channels} | {size.conversions:,.0f} "
            f"| {seconds_text(size.load_parquet_s)} | {seconds_text(size.load_memory_s)} |"
        )
    lines += [
        "",
        "This engine, per model (warm s | warm MB above the encoded data | fresh s | fresh "
        "process peak MB):",
        "",
    ]
    header = "| model | " + " | ".join(
        f"{size_label(n)} warm s | {size_label(n)} warm MB | {size_label(n)} fresh s "
        f"| {size_label(n)} fresh MB"
        for n in sizes
    )
    lines += [header + " |", "|---|" + "---:|---:|---:|---:|" * len(sizes)]
    ours = {(r.model, r.journeys): r for r in results.ours}
    for model in dict.fromkeys(r.model for r in results.ours):
        cells = [
            f"{seconds_text(ours[(model, n)].warm_s)} | {ours[(model, n)].warm_mb:,.0f} "
            f"| {seconds_text(ours[(model, n)].fresh_s)} | {ours[(model, n)].fresh_mb:,.0f}"
            for n in sizes
        ]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return lines


def _peer_tables(results: SpeedResults, sizes: list[int]) -> list[str]:
    lines = [
        "Peers next to this engine (peer s = setup + job; ours s = load from DataFrames "
        "+ warm model; ratio = peer s / ours s, above 1 = this engine faster):",
        "",
        "| peer | job: models | ours | "
        + " | ".join(
            f"{size_label(n)} peer s | {size_label(n)} ours s | {size_label(n)} ratio"
            for n in sizes
        )
        + " |",
        "|---|---|---|" + "---:|---:|---:|" * len(sizes),
    ]
    rows = {(r.peer, r.job, r.journeys): r for r in results.peers}
    jobs = list(dict.fromkeys((r.peer, r.job) for r in results.peers))
    for peer, job in jobs:
        first = rows[(peer, job, sizes[0])]
        cells = [
            f"{peer_cell(rows[(peer, job, n)])} | {seconds_text(rows[(peer, job, n)].ours_s)}"
            f" | {ratio_text(rows[(peer, job, n)].ratio)}"
            for n in sizes
        ]
        lines.append(
            f"| {peer} | {job}: {first.models} | {first.ours} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "Peak resident memory of the peer's process (import, read its input, setup, the "
        "job), MB; this engine: the fresh-process column above:",
        "",
        "| peer | job | " + " | ".join(size_label(n) for n in sizes) + " |",
        "|---|---|" + "---:|" * len(sizes),
    ]
    for peer, job in jobs:
        peaks = [rows[(peer, job, n)].peer_mb for n in sizes]
        cells = ["-" if mb is None else f"{mb:,.0f}" for mb in peaks]
        lines.append(f"| {peer} | {job} | " + " | ".join(cells) + " |")
    smallest = results.sizes[0]
    lines += [
        "",
        f"Credit totals of each peer model on the {smallest.journeys:,}-journey data "
        f"(the data: {smallest.conversions:,.0f} conversions, {smallest.value:,.2f} value; "
        "mta's value is its conversion share times the total value):",
        "",
        "| peer | model | credited conversions | credited value |",
        "|---|---|---:|---:|",
    ]
    for row in results.peers:
        if row.journeys == smallest.journeys:
            for model, (conversions, value) in row.totals.items():
                lines.append(f"| {row.peer} | {model} | {conversions:,.2f} | {value:,.2f} |")
    return lines


def render(results: SpeedResults) -> str:
    """The speed tables as Markdown."""
    sizes = sorted({row.journeys for row in results.ours})
    lines = _our_table(results, sizes)
    if results.peers:
        lines += ["", *_peer_tables(results, sizes)]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="journey counts")
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--models", default="all", help="this engine's models ('all' or a list)")
    parser.add_argument("--repeats", type=int, default=5, help="warm runs per median")
    parser.add_argument("--fresh-repeats", type=int, default=3, help="new processes per median")
    parser.add_argument("--peers", default=",".join(PEERS), help="peers to run ('' for none)")
    parser.add_argument("--peer-python", default=sys.executable, help="interpreter of the peers")
    parser.add_argument(
        "--mam1-python", default=sys.executable, help="interpreter of MAM 1.x (pandas < 3)"
    )
    parser.add_argument("--peer-timeout", type=float, default=120.0, help="seconds per step")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s]
    labels = list(our_models())
    args.models = labels if args.models == "all" else str(args.models).split(",")
    if sorted(set(args.models) - set(labels)):
        parser.error(f"unknown model(s) in {args.models}; known: {', '.join(labels)}")
    args.peers = peer_names(parser, str(args.peers))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report(measure(args), render, args.json)


if __name__ == "__main__":
    main()
