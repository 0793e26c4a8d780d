"""``attribution run``: credit pipeline with every chosen model and write the roll-up."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attribution.cli.display import credit_report
from attribution.cli.inputs import add_input_arguments, load_from_args, rejects_path
from attribution.cli.model_options import add_model_arguments, model_parameters
from attribution.cli.progress import Progress
from attribution.engine import attribute, resolve_models
from attribution.io.intake import Loaded
from attribution.io.writers import output_format, write_table
from attribution.models.markov import Markov, check_transitions_path, write_transitions
from attribution.models.registry import model_names
from attribution.rollup import check_dimensions


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="credit pipeline to channels and teams",
        description="Credit each converted journey's value to its touches with every chosen "
        "model, and roll the credit up by channel, team, campaign or touch type.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--models",
        default="all",
        help=f"comma-separated models, or 'all' (default); known: {', '.join(model_names())}",
    )
    parser.add_argument(
        "--by",
        default="channel,team",
        help="roll-up dimensions, comma-separated: channel, team, campaign, touch_type "
        "(default channel,team)",
    )
    parser.add_argument("--out", metavar="FILE", help="write the roll-up (.parquet, .csv, .json)")
    parser.add_argument(
        "--lookback", type=float, metavar="DAYS", help="credit only touches this recent"
    )
    parser.add_argument(
        "--touch-credits", metavar="FILE", help="also write the credit of every touch"
    )
    parser.add_argument(
        "--reconciliation", metavar="FILE", help="also write the reconciliation table"
    )
    parser.add_argument(
        "--transitions",
        metavar="FILE",
        help="also write the markov model's transitions: a table (.parquet, .csv, .json) "
        "or a networkx DiGraph with probabilities and counts on the edges (.graphml)",
    )
    add_model_arguments(parser)
    parser.set_defaults(handler=run)


def _dimensions(text: str) -> tuple[str, ...]:
    return check_dimensions([d.strip() for d in text.split(",") if d.strip()])


def run(args: argparse.Namespace) -> int:
    by = _dimensions(args.by)
    for path in (args.out, args.touch_credits, args.reconciliation):
        if path:
            output_format(path)
    if args.transitions:
        check_transitions_path(args.transitions)
    parameters = model_parameters(args)
    with Progress(total=3, quiet=args.quiet) as progress:
        progress.start("reading input")
        loaded = load_from_args(args)
        write_rejects(loaded, args)
        models, skipped = resolve_models(args.models, loaded.journeys, parameters)
        markov = [model for model in models.values() if isinstance(model, Markov)]
        if args.transitions and not markov:
            raise ValueError(
                "--transitions writes the transitions of the markov model, which is not "
                "among --models; add markov to --models"
            )
        unused = sorted(set(parameters) - set(models))
        for name in unused:
            print(f"note: options for {name} ignored: it is not among --models", file=sys.stderr)
        progress.set_total(2 + len(models))
        result = attribute(
            loaded,
            models,
            by=by,
            lookback_days=args.lookback,
            touch_credits=bool(args.touch_credits),
            also_by=[] if args.out else [(d,) for d in by],
            progress=progress.start,
        )
        progress.start("writing output")
        if args.out:
            write_table(result.credits, args.out)
        if args.touch_credits:
            assert result.touch_credits is not None
            write_table(result.touch_credits, args.touch_credits)
        if args.reconciliation:
            write_table(result.reconciliation.to_frame(), args.reconciliation)
        if args.transitions:
            write_transitions(markov[0], args.transitions)
    if not args.out:
        print(credit_report(result.rollups, by))
    reconciliation = result.reconciliation
    if not args.quiet:
        print(reconciliation.to_text(), file=sys.stderr)
        for note in skipped:
            print(f"note: {note}", file=sys.stderr)
    if not reconciliation.ok:
        bad = [m.model for m in reconciliation.models if m.status == "MISMATCH"]
        print(f"error: credits do not reconcile for {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def write_rejects(loaded: Loaded, args: argparse.Namespace) -> None:
    """Write skipped rows, if any, and say where they went."""
    if loaded.rejects.empty:
        return
    path = rejects_path(args)
    write_table(loaded.rejects, path)
    print(
        f"note: {len(loaded.rejects):,} invalid row(s) skipped and written to {Path(path)}",
        file=sys.stderr,
    )
