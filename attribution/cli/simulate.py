"""``attribution simulate``: write simulated journeys with their ground truth."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from attribution.cli.model_options import seed_type
from attribution.cli.progress import Progress
from attribution.errors import ParameterError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from attribution.simulate import SCENARIOS

    listing = "\n".join(
        f"  {name:<17} {s.description} ({s.journeys:,} journeys, seed {s.seed})"
        for name, s in SCENARIOS.items()
    )
    parser = subparsers.add_parser(
        "simulate",
        help="simulate journeys with known channel effects (and their ground truth)",
        description=textwrap.fill(
            "Simulate B2B journeys whose channels have known causal effects, and write "
            "DIR/touches.parquet and DIR/outcomes.parquet (the engine's input) and "
            "DIR/truth.parquet: per channel, the conversions and value lost when it is "
            "switched off (channel, true_conversions, true_value, true_share, std_error, "
            "...). The same scenario, journeys and seed always give the same files.",
            width=88,
        ),
        epilog=f"scenarios (default journeys and seed):\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scenario",
        required=True,
        choices=list(SCENARIOS),
        metavar="NAME",
        help="preset scenario (listed below)",
    )
    parser.add_argument(
        "--journeys", type=int, metavar="N", help="buyers to simulate (default: the preset's)"
    )
    parser.add_argument(
        "--seed", type=seed_type, metavar="S", help="random seed >= 0 (default: the preset's)"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write the files to")
    parser.add_argument(
        "--no-truth",
        action="store_true",
        help="skip the ground truth (faster); a truth.parquet already in the folder is "
        "removed, since it would not match the new data",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(handler=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from attribution.simulate import simulate

    if args.journeys is not None and args.journeys < 1:
        raise ParameterError(f"--journeys must be at least 1, got {args.journeys}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {out} is a file; simulate writes a folder of files")
    with Progress(total=2, quiet=args.quiet) as progress:
        progress.start("simulating")
        sim = simulate(args.scenario, args.journeys, args.seed, truth=not args.no_truth)
        progress.start("writing")
        written = sim.write(out)
    stale = out / "truth.parquet"
    if args.no_truth and stale.exists():
        stale.unlink()
        if not args.quiet:
            print(f"removed {stale}: it was the truth of other data", file=sys.stderr)
    if not args.quiet:
        s = sim.summary()
        print(
            f"{sim.scenario.name} (seed {sim.seed}): {int(s['journeys']):,} journeys "
            f"({int(s['buyers'] - s['journeys']):,} buyers without touches left out), "
            f"{int(s['touches']):,} touches, {int(s['conversions']):,} conversions "
            f"({s['conversion_rate']:.1%}), value {s['value']:,.0f}",
            file=sys.stderr,
        )
        for path in written.values():
            print(f"wrote {path}", file=sys.stderr)
    return 0
