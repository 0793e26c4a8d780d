"""Entry point of the ``attribution`` command.

Exit status: 0 on success; 2 on bad input or options (an input error, a parameter or
option check, an asked-for model that cannot run on this data, an unreadable or
unwritable file, or an input too large for this machine's memory; the message on stderr,
no traceback); 1 when a conserving model's credits do not reconcile; 3 on any other
exception, which is a bug (``ATTRIBUTION_DEBUG=1`` shows its traceback).

Only the chosen subcommand's module is imported and its full parser built, so
``attribution --version`` and ``attribution run --help`` import no numerical library.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from attribution import __version__
from attribution.errors import InputError, ParameterError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
DEBUG_VARIABLE = "ATTRIBUTION_DEBUG"

#: Subcommands: module and one-line help (shown without importing the module).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("attribution.cli.run", "credit pipeline to channels and teams"),
    "validate": ("attribution.cli.validate", "check the input and print what would be credited"),
    "simulate": (
        "attribution.cli.simulate",
        "simulate journeys with known channel effects (and their ground truth)",
    ),
    "compare": (
        "attribution.cli.compare",
        "compare models' channel credit with each other and with a known truth",
    ),
    "scorecard": (
        "attribution.cli.scorecard",
        "pipeline, win rate, cycle, velocity and cost per opportunity by source",
    ),
    "report": (
        "attribution.cli.report",
        "write an HTML report of every model's credit, the scorecard and the trend",
    ),
    "journeys": (
        "attribution.cli.journeys",
        "build journeys (touches and outcomes) from CRM exports",
    ),
}


def _chosen(argv: Sequence[str]) -> str | None:
    for item in argv:
        if item in COMMANDS:
            return item
        if not item.startswith("-"):
            return None
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the full options of the subcommand named in ``argv`` (all of them
    when ``argv`` names none of them... only their one-line help)."""
    parser = argparse.ArgumentParser(
        prog="attribution",
        description="Exact multi-touch attribution of B2B pipeline to channels and teams.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen(argv)
    for name, (module, help_text) in COMMANDS.items():
        if name == chosen:
            importlib.import_module(module).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.handler(args))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ParameterError as error:
        from attribution.cli.model_options import flag_message

        print(f"error: {flag_message(str(error), args)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
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
        from attribution.models.base import ModelNotApplicable

        if isinstance(error, ModelNotApplicable):
            print(f"error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if os.environ.get(DEBUG_VARIABLE):
            raise
        print(
            f"internal error (a bug: please report it with the command that caused it): "
            f"{type(error).__name__}: {error}; set {DEBUG_VARIABLE}=1 for the traceback",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
