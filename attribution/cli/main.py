"""Entry point of the ``attribution`` command.

Exit status: 0 on success; 2 on bad input or options, including an input or size too
large for this machine's memory (the message on stderr, no traceback); 1 when a
conserving model's credits do not reconcile; 3 on an internal error (a bug;
``ATTRIBUTION_DEBUG=1`` shows its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from attribution import __version__
from attribution.cli import compare, journeys, run, simulate, validate
from attribution.errors import InputError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
DEBUG_VARIABLE = "ATTRIBUTION_DEBUG"


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
    journeys.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (InputError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        print(
            "error: out of memory: the input (or the requested size) is too large for this "
            "machine's memory; split it, group channels, or lower the model order",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        print(
            f"internal error (a bug: please report it with the command that caused it): "
            f"{type(error).__name__}: {error}; set {DEBUG_VARIABLE}=1 for the traceback",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
