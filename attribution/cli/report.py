"""``attribution report``: one self-contained HTML page of charts and tables."""

from __future__ import annotations

import argparse
import sys

from attribution.cli.inputs import add_input_arguments, input_files, rejects_path
from attribution.cli.outputs import OutputPlan
from attribution.cli.pipeline import add_model_selection, bootstrap_of, exit_status
from attribution.cli.progress import Progress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an HTML report of every model's credit, the scorecard and the trend",
        description="Run the models and write one self-contained HTML page (no network "
        "needed to open it): the headline numbers, credited pipeline by channel under each "
        "model, sourced / influenced / credited per team, model agreement (and, with "
        "--truth, each model's error), the revenue scorecard, the trend per period, the "
        "top converting paths, Markov removal effects and the full reconciliation.",
    )
    add_input_arguments(parser)
    parser.add_argument("--out", metavar="FILE", required=True, help="the report to write (.html)")
    parser.add_argument("--title", default="Pipeline attribution", help="the page's title")
    parser.add_argument(
        "--by",
        default="channel,team",
        help="the dimensions of the scorecard section (default channel,team; any column)",
    )
    parser.add_argument(
        "--truth", metavar="FILE", help="true channel shares, for each model's error"
    )
    parser.add_argument(
        "--costs", metavar="FILE", help="spend per group for the scorecard (see scorecard)"
    )
    add_model_selection(parser)
    parser.set_defaults(handler=run_report, period="quarter")


def run_report(args: argparse.Namespace) -> int:
    from attribution.cli.compile_notice import announce_compilation
    from attribution.cli.inputs import comma_list, extra_dimensions, load_from_args
    from attribution.cli.model_options import model_parameters
    from attribution.cli.pipeline import exclusions, requested_models, write_rejects
    from attribution.compare import read_truth
    from attribution.errors import ParameterError
    from attribution.reporting.build import report_data, run_for_report
    from attribution.reporting.render import write_report

    if not str(args.out).lower().endswith((".html", ".htm")):
        raise ParameterError(f"--out {args.out}: the report is an .html file")
    plan = OutputPlan()
    plan.add("--out", args.out)
    plan.add("--rejects", rejects_path(args))
    plan.check(input_files(args))
    truth = read_truth(args.truth) if args.truth else None
    announce_compilation(args.quiet)
    with Progress(total=3, quiet=args.quiet) as progress:
        progress.start("reading input")
        exclude = exclusions(args)
        by = tuple(comma_list(args.by)) or ("channel", "team")
        excluded = [d for d, _ in exclude if d not in by]
        loaded = load_from_args(args, extra_dimensions([*by, *excluded]), excluded)
        write_rejects(loaded, args)
        names = requested_models(args)
        parameters = model_parameters(args, names)
        if args.seed is not None and (names is None or "shapley" in names):
            parameters.setdefault("shapley", {})["seed"] = args.seed
        progress.start("crediting")
        result = run_for_report(
            loaded,
            models="all" if names is None else names,
            period=args.period,
            costs=args.costs,
            bootstrap=bootstrap_of(args, names),
            lookback_days=args.lookback,
            parameters=parameters,
            exclude=exclude,
            by=by,
        )
        progress.start("writing the report")
        touches = "paths" if getattr(args, "paths", False) else "touches"
        inputs = [
            (touches if option == "INPUT" else option.lstrip("-"), str(path))
            for option, path in input_files(args)
        ]
        data = report_data(
            result, journeys=loaded.journeys, truth=truth, title=args.title, inputs=inputs
        )
        written = write_report(data, args.out)
    if not args.quiet:
        print(f"wrote {written}", file=sys.stderr)
        print(result.reconciliation.to_text(), file=sys.stderr)
    return exit_status(result.reconciliation)
