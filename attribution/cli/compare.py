"""``attribution compare``: every model's channel credit side by side, and against a truth."""

from __future__ import annotations

import argparse
import sys

from attribution.cli.inputs import add_input_arguments, input_files, rejects_path
from attribution.cli.outputs import OutputPlan, stale_note
from attribution.cli.pipeline import add_model_selection, credit, exit_status
from attribution.cli.progress import Progress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare models' channel credit with each other and with a known truth",
        description="Run the chosen models, then show per channel and model the credited "
        "value and its share, how far apart the models are (total variation distance of "
        "their channel shares) and, with --truth, each model's error against the true "
        "shares: total variation distance 1/2 sum |share - true share| and Spearman rank "
        "correlation. Shares are over channels: untouched pipeline is left out.",
        epilog="With --out FILE and --truth, FILE gets one row per model (model, "
        "share_error_tvd, rank_correlation), FILE's <stem>.shares<ext> the channel x model "
        "shares and <stem>.agreement<ext> the model x model distances. Without --truth, "
        "FILE gets the shares and <stem>.agreement<ext> the distances.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--truth",
        metavar="FILE",
        help="true channel shares (.parquet, .csv, .json with channel and true_share or "
        "true_value), e.g. the truth.parquet of 'attribution simulate'",
    )
    parser.add_argument("--out", metavar="FILE", help="write the tables (.parquet, .csv, .json)")
    add_model_selection(parser)
    parser.set_defaults(handler=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    from attribution.cli.compare_view import comparison_report
    from attribution.cli.tables import terminal_width
    from attribution.compare import compare, read_truth, side_files
    from attribution.io.writers import output_format

    plan = OutputPlan()
    if args.out:
        output_format(args.out)
        plan.add("--out", args.out)
        for table, path in side_files(args.out, with_truth=bool(args.truth)):
            plan.add(f"--out ({table})", path)
    plan.add("--rejects", rejects_path(args))
    plan.check(input_files(args))
    stale = plan.stale(args.out, input_files(args))
    if stale:
        print(f"warning: {stale_note(stale).render()}", file=sys.stderr)
    truth = read_truth(args.truth) if args.truth else None
    by = ["channel"] + (["period"] if args.period else [])
    with Progress(total=3, quiet=args.quiet) as progress:
        result = credit(args, progress, by=by, also_by=[("channel",)] if args.period else [])
        if result.credits.empty:
            print("Nothing to compare: no model credited anything (see the reconciliation).")
            if not args.quiet:
                print(result.reconciliation.to_text(), file=sys.stderr)
            return exit_status(result.reconciliation)
        progress.start("comparing")
        replicates = None
        if result.replicates is not None and result.bootstrap is not None:
            replicates = {m: result.replicates[(m, ("channel",))] for m in result.models}
        comparison = compare(
            result.rollups[("channel",)],
            truth,
            replicates=replicates,
            ci=result.bootstrap.ci if result.bootstrap is not None else 0.9,
        )
        written = comparison.write(args.out) if args.out else []
    if written:
        if not args.quiet:
            for path in written:
                print(f"wrote {path}", file=sys.stderr)
            for note in comparison.notes:
                print(f"note: {note}", file=sys.stderr)
    else:
        print(comparison_report(comparison, terminal_width(), result.recommended or None))
    if not args.quiet:
        for left_out in result.reconciliation.notes_about(code="left_out"):
            print(f"note: {left_out.render()}", file=sys.stderr)
    return exit_status(result.reconciliation)
