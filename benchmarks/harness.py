"""Shared benchmark plumbing: cached datasets, medians of repeated timings, fresh
processes, Markdown tables, verdicts against targets, and a description of the machine."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.synthetic import generate

#: Journeys generated at a time by :func:`scaled_dataset` (bounds the generator's memory).
CHUNK_JOURNEYS = 1_000_000

DATA = Path(
    os.environ.get("ATTRIBUTION_BENCH_DATA", Path(__file__).resolve().parent.parent / "bench_data")
)


def dataset(
    n_journeys: int, n_channels: int = 12, seed: int = 7, *, milestones: bool = False
) -> tuple[Path, Path]:
    """Touch and outcome parquet files of a synthetic dataset, generated once and cached
    (``milestones``: with the deal dates of :func:`benchmarks.synthetic.generate`)."""
    name = f"synthetic_{n_journeys}_{n_channels}_{seed}" + ("_milestones" if milestones else "")
    folder = DATA / name
    touches, outcomes = folder / "touches.parquet", folder / "outcomes.parquet"
    if not (touches.exists() and outcomes.exists()):
        generate(n_journeys, n_channels, seed, milestones=milestones).write(folder)
    return touches, outcomes


def scaled_dataset(n_journeys: int, n_channels: int = 12, seed: int = 7) -> tuple[Path, Path]:
    """Like :func:`dataset`, for sizes the generator cannot draw in one piece: up to
    :data:`CHUNK_JOURNEYS` it *is* ``dataset(n_journeys, ...)``; above, chunk ``k`` of
    that many journeys is ``generate(CHUNK_JOURNEYS, n_channels, seed + k)`` with journey
    ids from ``k * CHUNK_JOURNEYS`` (the last chunk is shorter), appended to one parquet
    file per table. So every size is the same kind of data and the first million
    journeys of every size are the same."""
    if n_journeys <= CHUNK_JOURNEYS:
        return dataset(n_journeys, n_channels, seed)
    folder = DATA / f"synthetic_chunked_{n_journeys}_{n_channels}_{seed}"
    touches, outcomes = folder / "touches.parquet", folder / "outcomes.parquet"
    if touches.exists() and outcomes.exists():
        return touches, outcomes
    folder.mkdir(parents=True, exist_ok=True)
    partial = [folder / "touches.parquet.partial", folder / "outcomes.parquet.partial"]
    writers: list[pq.ParquetWriter] = []
    for k, first in enumerate(range(0, n_journeys, CHUNK_JOURNEYS)):
        size = min(CHUNK_JOURNEYS, n_journeys - first)
        chunk = generate(size, n_channels, seed + k, first_id=first)
        tables = [
            pa.Table.from_pandas(f, preserve_index=False) for f in (chunk.touches, chunk.outcomes)
        ]
        if not writers:
            writers = [pq.ParquetWriter(p, t.schema) for p, t in zip(partial, tables, strict=True)]
        for writer, table in zip(writers, tables, strict=True):
            writer.write_table(table, row_group_size=CHUNK_JOURNEYS)
    for writer in writers:
        writer.close()
    partial[0].replace(touches)
    partial[1].replace(outcomes)
    return touches, outcomes


@dataclass(frozen=True)
class PathTable:
    """A path table written as CSV, and what is in it."""

    csv: Path
    journeys: int
    paths: int
    touches: int
    channels: int


def path_dataset(
    n_journeys: int, n_channels: int = 20, seed: int = 7, popularity_exponent: float = 1.75
) -> PathTable:
    """The path table (``path``, ``total_conversions``, ``total_null``,
    ``total_conversion_value``; paths joined by ``" > "``) of the synthetic journeys
    ``generate(n_journeys, n_channels, seed, popularity_exponent=...)``, one row per
    distinct path, as CSV; generated once and cached. The default exponent (channel
    popularity more skewed than :func:`dataset`'s 0.8) makes 1M journeys over 20 channels
    aggregate to about 790,000 distinct paths, the size of issue 11."""
    import attribution as at
    from benchmarks.peers.inputs import path_table

    folder = DATA / f"paths_{n_journeys}_{n_channels}_{seed}_{popularity_exponent:g}"
    csv, facts = folder / "paths.csv", folder / "facts.json"
    if not (csv.exists() and facts.exists()):
        synthetic = generate(n_journeys, n_channels, seed, popularity_exponent=popularity_exponent)
        journeys, _ = at.load(synthetic.touches, synthetic.outcomes).journeys.window(None)
        table = path_table(journeys)
        folder.mkdir(parents=True, exist_ok=True)
        table.to_csv(folder / "paths.csv.partial", index=False)
        (folder / "paths.csv.partial").replace(csv)
        counts = {
            "journeys": journeys.n_journeys,
            "paths": len(table),
            "touches": journeys.n_touches,
            "channels": journeys.n_channels,
        }
        facts.write_text(json.dumps(counts))
    return PathTable(csv, **json.loads(facts.read_text()))


def timed(function: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median and all wall times (seconds) of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def scenario_list(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """The simulator scenarios named by ``--scenarios``: ``all`` (the presets, then the
    robustness scenarios), ``presets``, ``robustness`` or comma-separated names; an
    unknown name is a usage error listing the known ones."""
    from attribution.simulate import scenario_names
    from attribution.simulate.robustness import robustness_names

    presets, robust = list(scenario_names()), list(robustness_names())
    names = presets + robust
    groups = {"all": names, "presets": presets, "robustness": robust}
    chosen = groups.get(text) or text.split(",")
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(names)}")
    return chosen


def report(results: Any, render: Callable[[Any], str], json_path: Path | None) -> None:
    """Print a benchmark's results (after the machine), and write them as JSON if asked."""
    print(f"Machine: {machine()}")
    print(render(results))
    if json_path:
        json_path.write_text(json.dumps(dataclasses.asdict(results), indent=1))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; columns whose header ends in a unit or count are right-aligned
    (every column but the first)."""
    lines = ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def seconds_text(seconds: float | None) -> str:
    """Seconds for a table: 3 decimals below 1 s, 2 below 100 s; ``-`` for none."""
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds:.3f}"
    return f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"


def mb_text(mb: float | None) -> str:
    return "-" if mb is None or math.isnan(mb) else f"{mb:,.0f}"


@dataclass(frozen=True)
class Target:
    """A measured number against its target: at most ``at_most``, at least ``at_least``
    (or both: a band), and optionally the level past which a miss is a regression
    (above it for an upper bound, below it for a lower bound)."""

    job: str
    measured: float | None
    unit: str
    at_most: float | None = None
    at_least: float | None = None
    regression: float | None = None
    #: ``met``, ``**missed**``, ``**regression**`` or ``not measured`` (set from the rest).
    verdict: str = field(default="", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", self._verdict())

    def _verdict(self) -> str:
        m = self.measured
        if m is None or math.isnan(m):
            return "not measured"
        low_ok = self.at_least is None or m >= self.at_least
        high_ok = self.at_most is None or m <= self.at_most
        if low_ok and high_ok:
            return "met"
        if self.regression is not None and (
            (not high_ok and m > self.regression) or (not low_ok and m < self.regression)
        ):
            return "**regression**"
        return "**missed**"

    def bound(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.at_most is not None and self.at_least is not None:
            return f"{self.at_least:g}-{self.at_most:g}{unit}"
        if self.at_most is not None:
            return f"≤ {self.at_most:g}{unit}"
        return f"≥ {self.at_least:g}{unit}"

    def cells(self) -> list[str]:
        unit = f" {self.unit}" if self.unit else ""
        measured = "-" if self.measured is None else f"{self.measured:,.2f}{unit}"
        return [self.job, measured, self.bound(), self.verdict]


def targets_table(targets: Sequence[Target]) -> str:
    return markdown_table(["job", "measured", "target", "verdict"], [t.cells() for t in targets])


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages (2 shared cores: above ~1.5, times are noisy)."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPU, cores, memory, Python and key library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("numpy", "pandas", "pyarrow", "numba", "scipy")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM; "
        f"Python {platform.python_version()}; {versions}"
    )
