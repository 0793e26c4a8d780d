"""Entry point of the ``attribution`` command.

Exit status: 0 on success, 2 on bad input or options (the message on stderr, no
traceback), 1 when a conserving model's credits do not reconcile.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from attribution import __version__
from attribution.cli import compare, run, simulate, validate
from attribution.errors import InputError

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attribution",
        description="Exact multi-touch attribution of B2B pipeline to channels and teams.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run.add_parser(subparsers)
    validate.add_parser(subparsers)
    simulate.add_parser(subparsers)
    compare.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_BAD_INPUT
