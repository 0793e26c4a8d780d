"""Speed of the ``presence`` model and of the model-based ``shapley`` game.

    python -m benchmarks.bench_presence [--journeys 1000000] [--channels 12] [--repeats 5]

On synthetic journeys (``benchmarks.synthetic.generate``; 1M journeys have about 10M
touches), loaded and windowed once, the median of ``--repeats`` warm runs (the numba
cache compiled by one warm-up run) of each step:

- ``presence``: the step-pattern counts (``statistics``: one pass over the touches), the
  fit (``fit_statistics``: projected Newton and the pair selection; also timed with
  ``pairs="none"`` for comparison, not counted in the total), and the credit (each
  journey's hazard terms, removal effects, split over touches); target: the three
  together <= 2 s at 1M journeys.
- model-based ``shapley`` beyond the presence fit: its ``credit`` (the same terms, the
  exact closed-form Shapley value of every converted journey's game, the split over
  touches); target <= 1 s at 12 channels.

Peak memory (the process's own high-water mark, reset after loading) is reported for
the presence runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import attribution as at
from attribution.journeys import Journeys
from attribution.models.presence import Presence
from attribution.models.shapley import Shapley
from benchmarks.harness import dataset, report
from benchmarks.memory import peak_memory_mb, reset_peak_memory

PRESENCE_TARGET_S = 2.0
SHAPLEY_TARGET_S = 1.0


@dataclass
class Step:
    name: str
    median_s: float
    times_s: list[float]


@dataclass
class PresenceSpeed:
    journeys: int
    touches: int
    channels: int
    patterns: int
    pairs: list[str]
    iterations: int
    converged: bool
    steps: list[Step] = field(default_factory=list)
    peak_memory_mb: float | None = None


def median_of(function: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def measure(journeys: Journeys, repeats: int) -> PresenceSpeed:
    """Time every step on already windowed journeys (see the module docstring)."""
    model = Presence()
    counts = model.statistics(journeys)
    model.fit_statistics(counts).credit(journeys)  # warm-up: numba compiles or loads
    shapley = Shapley().fit_statistics(counts)
    shapley.credit(journeys)
    result = PresenceSpeed(
        journeys=journeys.n_journeys,
        touches=journeys.n_touches,
        channels=journeys.n_channels,
        patterns=len(counts.present),
        pairs=[f"{a}+{b}" for a, b in model.pairs_],
        iterations=model.n_iterations_,
        converged=model.converged_,
    )
    without_pairs = Presence(pairs="none")
    reset_peak_memory()
    for name, function in (
        ("presence statistics", lambda: model.statistics(journeys)),
        ("presence fit", lambda: model.fit_statistics(counts)),
        ("presence credit", lambda: model.credit(journeys)),
        (
            "(for comparison) presence fit with pairs='none'",
            lambda: without_pairs.fit_statistics(counts),
        ),
    ):
        result.steps.append(Step(name, *median_of(function, repeats)))
    result.peak_memory_mb = peak_memory_mb()
    result.steps.append(
        Step("shapley credit (the game, beyond the fit)", *median_of(
            lambda: shapley.credit(journeys), repeats
        ))
    )  # fmt: skip
    return result


def render(result: PresenceSpeed) -> str:
    presence = sum(s.median_s for s in result.steps if s.name.startswith("presence"))
    game = next(s.median_s for s in result.steps if s.name.startswith("shapley"))
    lines = [
        f"{result.journeys:,} journeys, {result.touches:,} touches, {result.channels} channels; "
        f"{result.patterns:,} step patterns; pairs selected: {', '.join(result.pairs) or 'none'}; "
        f"projected Newton iterations (last fit) {result.iterations} "
        f"(converged: {result.converged})",
        "",
        "| step | median s | runs (s) |",
        "|---|---:|---|",
    ]
    for step in result.steps:
        runs = ", ".join(f"{t:.3f}" for t in step.times_s)
        lines.append(f"| {step.name} | {step.median_s:.3f} | {runs} |")
    lines += [
        "",
        f"presence fit + credit (statistics included): {presence:.3f} s, target <= "
        f"{PRESENCE_TARGET_S:g} s: {'ok' if presence <= PRESENCE_TARGET_S else 'MISSED'}",
        f"model-based shapley beyond the presence fit: {game:.3f} s, target <= "
        f"{SHAPLEY_TARGET_S:g} s: {'ok' if game <= SHAPLEY_TARGET_S else 'MISSED'}",
        f"peak memory of the presence runs (after loading): {result.peak_memory_mb or 0:,.0f} MB",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    touches, outcomes = dataset(args.journeys, args.channels)
    journeys, _ = at.load(touches, outcomes).journeys.window(None)
    report(measure(journeys, args.repeats), render, args.json)


if __name__ == "__main__":
    main()
