"""Load, encode and every rule-based model on a large synthetic dataset.

    python -m benchmarks.bench_rules --journeys 1000000 --channels 12 --repeats 5

Reports the median of ``--repeats`` warm runs (numba's on-disk cache compiled once by a
warm-up run) for reading the parquet files, the whole load (read, validate, encode),
each rule model alone and all of them together in one ``attribute`` call (rolled up by
channel and team), and the peak memory of a fresh process doing load + all rule models.
"""

from __future__ import annotations

import argparse
from functools import partial

import attribution as at
from attribution.io.sources import read_source
from attribution.models.registry import RULE_MODELS, all_models
from benchmarks import fresh
from benchmarks.harness import dataset, machine, mb_text, timed

RULE_NAMES = [name for name in RULE_MODELS if name in all_models()]


def peak_job(touches: str, outcomes: str) -> None:
    """In a fresh process (:mod:`benchmarks.fresh`): load and run all rule models once."""
    loaded = at.load(touches, outcomes)
    at.attribute(loaded, RULE_NAMES)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.journeys, args.repeats = 2_000, 1

    touches, outcomes = dataset(args.journeys, args.channels)
    loaded = at.load(touches, outcomes)
    at.attribute(loaded, RULE_NAMES)  # warm-up: compiles or loads the numba cache
    journeys = loaded.journeys
    print(f"Machine: {machine()}")
    print(
        f"Data: {journeys.n_journeys:,} journeys, {journeys.n_touches:,} touches, "
        f"{journeys.n_channels} channels, {int(journeys.converted.sum()):,} converted; "
        f"median of {args.repeats} warm runs\n"
    )

    def read() -> None:
        read_source(touches, what="touches")
        read_source(outcomes, what="outcomes")

    rows = [
        ("read parquet (touches + outcomes)", timed(read, args.repeats)[0]),
        (
            "load = read + validate + encode",
            timed(lambda: at.load(touches, outcomes), args.repeats)[0],
        ),
    ]
    for name in RULE_NAMES:
        rows.append(
            (f"model {name}", timed(partial(at.attribute, loaded, [name]), args.repeats)[0])
        )
    rows.append(
        (
            "all rule models (one attribute call)",
            timed(lambda: at.attribute(loaded, RULE_NAMES), args.repeats)[0],
        )
    )
    peak = fresh.run(["call", "benchmarks.bench_rules:peak_job", str(touches), str(outcomes)])
    print("| step | median seconds |")
    print("|---|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} |")
    print(
        f"\nPeak memory of a fresh process (load + all rule models): {mb_text(peak.peak_mb)} MB"
        + ("" if peak.ok else f" ({peak.status})")
    )


if __name__ == "__main__":
    main()
