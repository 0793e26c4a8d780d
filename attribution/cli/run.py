"""``attribution run``: credit pipeline with every chosen model and write the roll-up."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from attribution.cli.dask_run import add_engine_arguments, check_engine_options, rejects_folder
from attribution.cli.inputs import add_input_arguments, comma_list, input_files, rejects_path
from attribution.cli.outputs import OutputPlan, stale_note
from attribution.cli.pipeline import (
    add_model_selection,
    add_view_options,
    credit,
    exit_status,
    requested_models,
)
from attribution.cli.progress import Progress
from attribution.errors import ParameterError

#: Options that write a model's own output: (option, argument name, model).
MODEL_OUTPUTS = (
    ("--transitions", "transitions", "markov"),
    ("--positions", "positions", "shapley_ordered"),
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="credit pipeline to channels and teams",
        description="Credit each converted journey's value to its touches with every chosen "
        "model, and roll the credit up by channel, team, campaign, touch type or any other "
        "column of the input.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--by",
        default="channel,team",
        help="roll-up dimensions, comma-separated: channel, team, campaign, touch_type, "
        "period (with --period) or any column of the touches or outcomes "
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
    add_view_options(parser)
    add_model_selection(parser)
    add_engine_arguments(parser)
    parser.set_defaults(handler=run)


def plan_outputs(args: argparse.Namespace, by: list[str]) -> OutputPlan:
    """Every file ``run`` will write, format-checked and checked against the inputs."""
    from attribution.io.writers import beside, output_format

    plan = OutputPlan()
    dask = args.engine == "dask"
    for option, path in (
        ("--out", args.out),
        ("--touch-credits", None if dask else args.touch_credits),
        ("--reconciliation", args.reconciliation),
        ("--positions", args.positions),
    ):
        if path:
            output_format(path)
            plan.add(option, path)
    if args.out and len(by) > 1:
        for dimension in by:
            plan.add(f"--out (by {dimension})", beside(args.out, dimension))
    if args.transitions:
        from attribution.io.transitions import check_transitions_path

        check_transitions_path(args.transitions)
        plan.add("--transitions", args.transitions)
    if dask:
        # The Dask engine writes these as datasets: folders of one file per partition.
        plan.add("--touch-credits", args.touch_credits, folder=True)
        plan.add("--rejects", rejects_folder(args), folder=True)
        plan.add("--shuffle-to", args.shuffle_to, folder=True)
    else:
        plan.add("--rejects", rejects_path(args))
    plan.check(input_files(args))
    return plan


def run(args: argparse.Namespace) -> int:
    from attribution.io.writers import beside, json_records, write_table

    by = comma_list(args.by)
    if not by:
        raise ParameterError("--by names no dimension")
    if args.period and "period" not in by:
        by.append("period")
    check_engine_options(args)
    plan = plan_outputs(args, by)
    stale = plan.stale(args.out, input_files(args))
    names = requested_models(args)
    asked = {model: option for option, dest, model in MODEL_OUTPUTS if getattr(args, dest)}
    for model, option in asked.items():
        if names is not None and model not in names:
            raise ParameterError(
                f"{option} writes output of the {model} model, which is not among --models; "
                f"add {model} to --models"
            )
    also_by = [(d,) for d in by] if len(by) > 1 else []
    dask = args.engine == "dask"
    with Progress(total=3, quiet=args.quiet) as progress:
        if dask:
            from attribution.cli.dask_run import credit_on_dask

            result = credit_on_dask(args, progress, by=by, also_by=also_by, required=list(asked))
        else:
            result = credit(
                args,
                progress,
                by=by,
                touch_credits=bool(args.touch_credits),
                also_by=also_by,
                required=list(asked),
            )
        reconciliation = result.reconciliation
        if stale:
            note = stale_note(stale)
            reconciliation = dataclasses.replace(
                reconciliation, notes=(*reconciliation.notes, note)
            )
            print(f"warning: {note.render()}", file=sys.stderr)
        progress.start("writing output")
        written = []
        if args.out:
            write_table(result.credits, args.out)
            for dimension in by if len(by) > 1 else ():
                written.append(beside(args.out, dimension))
                write_table(result.rollups[(dimension,)], written[-1])
        if args.touch_credits and not dask:
            assert result.touch_credits is not None
            write_table(result.touch_credits, args.touch_credits)
        if args.reconciliation:
            write_table(reconciliation.to_frame(), args.reconciliation)
        _write_model_outputs(args, result.models)
    if args.format == "json":
        print(json_records(result.credits))
    elif not args.out:
        from attribution.cli.display import credit_report
        from attribution.cli.tables import terminal_width

        view = credit_report(
            result.rollups,
            result.by,
            recommended=result.recommended,
            width=terminal_width(),
            wide=args.wide,
        )
        print(view)
    elif written and not args.quiet:
        print(
            f"wrote {args.out} and, by one dimension each, {', '.join(map(str, written))}",
            file=sys.stderr,
        )
    if not args.quiet:
        print(reconciliation.to_text(), file=sys.stderr)
    return exit_status(reconciliation)


def _write_model_outputs(args: argparse.Namespace, models: dict) -> None:
    """The Markov transitions and the ordered Shapley positions, when asked for (the
    models ran: ``credit`` refuses the run otherwise)."""
    from attribution.io.transitions import write_transitions
    from attribution.io.writers import write_table

    if args.transitions:
        write_transitions(models["markov"], args.transitions)
    if args.positions:
        write_table(models["shapley_ordered"].position_table(), args.positions)
