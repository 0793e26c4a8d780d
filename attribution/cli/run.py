"""``attribution run``: credit pipeline with every chosen model and write the roll-up."""

from __future__ import annotations

import argparse
import sys

from attribution.cli.display import credit_report
from attribution.cli.inputs import add_input_arguments
from attribution.cli.pipeline import add_model_selection, credit, exit_status, requested_models
from attribution.cli.progress import Progress
from attribution.io.transitions import check_transitions_path, write_transitions
from attribution.io.writers import beside, output_format, write_table
from attribution.models.markov import Markov
from attribution.models.shapley_simplified import ShapleyOrdered
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
        "--by",
        default="channel,team",
        help="roll-up dimensions, comma-separated: channel, team, campaign, touch_type "
        "(default channel,team)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="write the roll-up by all --by dimensions (.parquet, .csv, .json); with several "
        "dimensions, the roll-up by each one alone goes to <stem>.<dimension><ext> beside it",
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
    parser.add_argument(
        "--positions",
        metavar="FILE",
        help="also write shapley_ordered's credit by channel and touch position "
        "(.parquet, .csv, .json)",
    )
    add_model_selection(parser)
    parser.set_defaults(handler=run)


#: Options that write a model's own output: (option, argument name, model).
MODEL_OUTPUTS = (
    ("--transitions", "transitions", "markov"),
    ("--positions", "positions", "shapley_ordered"),
)


def _dimensions(text: str) -> tuple[str, ...]:
    return check_dimensions([d.strip() for d in text.split(",") if d.strip()])


def run(args: argparse.Namespace) -> int:
    by = _dimensions(args.by)
    for path in (args.out, args.touch_credits, args.reconciliation, args.positions):
        if path:
            output_format(path)
    if args.transitions:
        check_transitions_path(args.transitions)
    names = requested_models(args)
    asked = {model: option for option, dest, model in MODEL_OUTPUTS if getattr(args, dest)}
    for model, option in asked.items():
        if names is not None and model not in names:
            raise ValueError(
                f"{option} writes output of the {model} model, which is not among --models; "
                f"add {model} to --models"
            )
    with Progress(total=3, quiet=args.quiet) as progress:
        result = credit(
            args,
            progress,
            by=by,
            touch_credits=bool(args.touch_credits),
            also_by=[(d,) for d in by] if len(by) > 1 else [],
            required=list(asked),
        )
        progress.start("writing output")
        written = []
        if args.out:
            write_table(result.credits, args.out)
            for dimension in by if len(by) > 1 else ():
                written.append(beside(args.out, dimension))
                write_table(result.rollups[(dimension,)], written[-1])
        if args.touch_credits:
            assert result.touch_credits is not None
            write_table(result.touch_credits, args.touch_credits)
        if args.reconciliation:
            write_table(result.reconciliation.to_frame(), args.reconciliation)
        # A model asked for here ran: credit() refuses the run otherwise.
        if args.transitions:
            markov = result.models["markov"]
            assert isinstance(markov, Markov)
            write_transitions(markov, args.transitions)
        if args.positions:
            ordered = result.models["shapley_ordered"]
            assert isinstance(ordered, ShapleyOrdered)
            write_table(ordered.position_table(), args.positions)
    if not args.out:
        print(credit_report(result.rollups, by))
    elif written and not args.quiet:
        print(
            f"wrote {args.out} and, by one dimension each, {', '.join(map(str, written))}",
            file=sys.stderr,
        )
    if not args.quiet:
        print(result.reconciliation.to_text(), file=sys.stderr)
    return exit_status(result.reconciliation)
