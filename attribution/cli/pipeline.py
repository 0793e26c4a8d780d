"""What ``run`` and ``compare`` share: choosing models on the command line, loading and
crediting with a progress bar, writing skipped rows, and the exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from attribution.cli.inputs import load_from_args, rejects_path
from attribution.cli.model_options import add_model_arguments, model_parameters
from attribution.cli.progress import Progress
from attribution.engine import AttributionResult, attribute
from attribution.io.intake import Loaded
from attribution.io.writers import write_table
from attribution.models.registry import model_names
from attribution.reconciliation import Reconciliation

EXIT_MISMATCH = 1


def add_model_selection(parser: argparse.ArgumentParser) -> None:
    """``--models``, ``--lookback`` and every model parameter option."""
    parser.add_argument(
        "--models",
        default="all",
        help=f"comma-separated models, or 'all' (default); known: {', '.join(model_names())}",
    )
    parser.add_argument(
        "--lookback", type=float, metavar="DAYS", help="credit only touches this recent"
    )
    add_model_arguments(parser)


def requested_models(args: argparse.Namespace) -> list[str] | None:
    """The model names of ``--models`` (None for 'all')."""
    if args.models == "all":
        return None
    return [name.strip() for name in args.models.split(",") if name.strip()]


def credit(
    args: argparse.Namespace,
    progress: Progress,
    *,
    by: Sequence[str],
    touch_credits: bool = False,
    also_by: Sequence[Sequence[str]] = (),
    required: Sequence[str] = (),
) -> AttributionResult:
    """Load the input and run the chosen models. With ``--models all``, a model that
    cannot run on this data is left out with a note in the reconciliation, unless the
    user asked for it in particular (gave its options, or it is in ``required``): then
    the reason is an error."""
    parameters = model_parameters(args)
    progress.start("reading input")
    loaded = load_from_args(args)
    write_rejects(loaded, args)
    names = requested_models(args)
    progress.set_total(2 + len(names if names is not None else model_names()))
    result = attribute(
        loaded,
        args.models,
        by=by,
        lookback_days=args.lookback,
        touch_credits=touch_credits,
        also_by=also_by,
        parameters=parameters,
        progress=progress.start,
    )
    for name in sorted((set(parameters) | set(required)) - set(result.models)):
        reasons = [
            note.split(" left out: ", 1)[1]
            for note in result.reconciliation.notes
            if note.startswith(f"{name} left out: ")
        ]
        if not reasons and name not in required:
            print(f"note: options for {name} ignored: it is not among --models", file=sys.stderr)
            continue
        asked = "its options were given" if name in parameters else "its output was asked for"
        raise ValueError(
            f"{name} cannot run on this input although {asked}: "
            + (reasons[0] if reasons else "it is not among --models")
        )
    return result


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


def exit_status(reconciliation: Reconciliation) -> int:
    """0, or 1 with a message when a conserving model's credits do not reconcile."""
    if reconciliation.ok:
        return 0
    bad = [m.model for m in reconciliation.models if m.status == "MISMATCH"]
    print(f"error: credits do not reconcile for {', '.join(bad)}", file=sys.stderr)
    return EXIT_MISMATCH
