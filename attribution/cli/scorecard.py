"""``attribution scorecard``: the revenue KPIs by source, per period, with cost."""

from __future__ import annotations

import argparse
import sys

from attribution.cli.inputs import add_input_arguments, comma_list, input_files, rejects_path
from attribution.cli.outputs import OutputPlan
from attribution.cli.pipeline import add_model_selection, add_view_options, credit, exit_status
from attribution.cli.progress import Progress
from attribution.errors import InputError, ParameterError, Problem


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scorecard",
        help="pipeline, win rate, cycle, velocity and cost per opportunity by source",
        description="The revenue scorecard: per model and group (channel, team, any "
        "column), and per period, the opportunities and pipeline credited, win rate, "
        "sales-cycle days, velocity, cost per opportunity and ROI (formulas in the README). "
        "Default models: the recommended data-driven model, sourced and influenced.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--by",
        default="channel,team",
        help="dimensions, comma-separated: one scorecard per dimension (default channel,team)",
    )
    parser.add_argument(
        "--costs",
        metavar="FILE",
        help="spend per group: a CSV or parquet file with one dimension column (channel, "
        "campaign, ...), an optional period column (2026-Q3) and cost",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="write the scorecards in one table (.parquet, .csv, .json): model, dimension, "
        "group, period, then the columns",
    )
    add_view_options(parser)
    add_model_selection(parser)
    parser.set_defaults(handler=run_scorecard, models=None)


def scorecard_models(has_times: bool) -> list[str]:
    """The recommended data-driven model, sourced and influenced."""
    from attribution.models.registry import recommended_model

    return [recommended_model(has_times), "sourced", "influenced"]


def run_scorecard(args: argparse.Namespace) -> int:
    from attribution.io.writers import json_records, output_format, write_table
    from attribution.scorecards import Costs, stacked

    by = comma_list(args.by)
    if not by:
        raise ParameterError("--by names no dimension")
    plan = OutputPlan()
    if args.out:
        output_format(args.out)
        plan.add("--out", args.out)
    plan.add("--rejects", rejects_path(args))
    plan.check(input_files(args))
    costs = Costs.load(args.costs) if args.costs else None
    if costs is not None and costs.has_period and not args.period:
        raise InputError(
            Problem(
                "costs by period need --period (month, quarter or year, the form of these "
                "periods): the spend is not summed over its periods",
                source=costs.source,
                column="period",
            )
        )
    period = ("period",) if args.period else ()
    with Progress(total=3, quiet=args.quiet) as progress:
        result = credit(
            args,
            progress,
            by=[*by, *period],
            also_by=[(d, *period) for d in by] if len(by) > 1 else [],
            scorecard=True,
            costs=costs,
            default_models=scorecard_models,
        )
        assert result.scorecards is not None
        table = stacked(result.scorecards, by)
        if args.out:
            progress.start("writing output")
            write_table(table, args.out)
    if args.format == "json":
        print(json_records(table))
    elif not args.out:
        from attribution.cli.scorecard_view import scorecard_report
        from attribution.cli.tables import terminal_width

        print(scorecard_report(table, width=terminal_width()))
    if not args.quiet:
        print(result.reconciliation.to_text(), file=sys.stderr)
    return exit_status(result.reconciliation)
