"""``attribution validate``: check the input and print the reconciliation, no models."""

from __future__ import annotations

import argparse

from attribution.cli.inputs import add_input_arguments, input_files, load_from_args, rejects_path
from attribution.cli.outputs import OutputPlan
from attribution.cli.pipeline import write_rejects
from attribution.cli.progress import Progress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check the input and print what would be credited",
        description="Read and validate the input, then print the reconciliation: rows read, "
        "rejected per reason, journeys, conversions, value, touches in the credit window.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--lookback", type=float, metavar="DAYS", help="credit only touches this recent (> 0)"
    )
    parser.set_defaults(handler=validate)


def validate(args: argparse.Namespace) -> int:
    from attribution.cli.compile_notice import announce_compilation
    from attribution.engine import reconcile
    from attribution.plan import check_lookback

    plan = OutputPlan()
    plan.add("--rejects", rejects_path(args))
    plan.check(input_files(args))
    announce_compilation(args.quiet)
    with Progress(total=2, quiet=args.quiet) as progress:
        progress.start("reading input")
        loaded = load_from_args(args)
        check_lookback(args.lookback, loaded.journeys.has_times)
        write_rejects(loaded, args)
        progress.start("reconciling")
        reconciliation = reconcile(loaded.journeys, loaded.intake, lookback_days=args.lookback)
    print(reconciliation.to_text())
    return 0
