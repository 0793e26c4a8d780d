"""``attribution validate``: check the input and print the reconciliation, no models."""

from __future__ import annotations

import argparse

from attribution.cli.inputs import add_input_arguments, load_from_args
from attribution.cli.pipeline import write_rejects
from attribution.cli.progress import Progress
from attribution.engine import reconcile


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check the input and print what would be credited",
        description="Read and validate the input, then print the reconciliation: rows read, "
        "rejected per reason, journeys, conversions, value, touches in the credit window.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--lookback", type=float, metavar="DAYS", help="credit only touches this recent"
    )
    parser.set_defaults(handler=validate)


def validate(args: argparse.Namespace) -> int:
    with Progress(total=2, quiet=args.quiet) as progress:
        progress.start("reading input")
        loaded = load_from_args(args)
        write_rejects(loaded, args)
        progress.start("reconciling")
        reconciliation = reconcile(loaded, lookback_days=args.lookback)
    print(reconciliation.to_text())
    return 0
