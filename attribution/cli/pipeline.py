"""The steps ``run``, ``compare`` (and the commands built on them) share: model selection,
loading and crediting with a progress bar, writing skipped rows, and the exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from attribution.cli.inputs import comma_list, extra_dimensions, load_from_args, rejects_path
from attribution.cli.model_options import add_model_arguments, model_parameters, seed_type
from attribution.cli.progress import Progress
from attribution.errors import ParameterError
from attribution.models.registry import model_names

if TYPE_CHECKING:
    from attribution.bootstrap import Bootstrap
    from attribution.engine import AttributionResult
    from attribution.io.intake import Loaded
    from attribution.reconciliation import Reconciliation
    from attribution.scorecards import Costs

EXIT_MISMATCH = 1
PERIODS = ("month", "quarter", "year")
COHORTS = ("opportunity_created_at", "converted_at", "closed_at", "first_touch")


def add_model_selection(parser: argparse.ArgumentParser) -> None:
    """``--models``, ``--lookback``, ``--period``/``--cohort`` and every model parameter."""
    parser.add_argument(
        "--models",
        "--model",
        default="all",
        help=f"comma-separated models, or 'all' (default); known: {', '.join(model_names())}",
    )
    parser.add_argument(
        "--lookback", type=float, metavar="DAYS", help="credit only touches this recent (> 0)"
    )
    parser.add_argument(
        "--period",
        choices=PERIODS,
        help="add a period dimension (2026-07, 2026-Q3, 2026) from each journey's cohort date",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="DIM=LABEL",
        help="touches no model may credit, e.g. --exclude channel=direct (repeatable; any "
        "dimension): their share goes to the journey's other touches",
    )
    parser.add_argument(
        "--bootstrap",
        type=_replicates,
        metavar="B",
        help="add standard errors and percentile intervals from B Poisson-bootstrap "
        "replicates (the models are refitted on each)",
    )
    parser.add_argument(
        "--seed",
        type=seed_type,
        metavar="S",
        help="random seed of everything drawn at random: the bootstrap replicates, and "
        "shapley's sampling above its exact limit (default 0)",
    )
    parser.add_argument(
        "--ci",
        type=float,
        metavar="LEVEL",
        help="level of the bootstrap intervals (default 0.9; needs --bootstrap)",
    )
    parser.add_argument(
        "--cohort",
        choices=COHORTS,
        help="the date that puts a journey in a period (default opportunity_created_at when "
        "present, else converted_at, else first_touch)",
    )
    add_model_arguments(parser)


def add_view_options(parser: argparse.ArgumentParser) -> None:
    """``--wide`` and ``--format``/``--json``: how results show on stdout."""
    parser.add_argument("--wide", action="store_true", help="show every model in the terminal view")
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table (default): readable tables that fit the terminal; json: the results as "
        "JSON records on stdout, for piping (the reconciliation stays on stderr)",
    )
    parser.add_argument(
        "--json", dest="format", action="store_const", const="json", help="same as --format json"
    )


def _replicates(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of replicates, got {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected at least 2 replicates, got {value}")
    return value


def exclusions(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The (dimension, label) pairs of ``--exclude``."""
    pairs = []
    for item in getattr(args, "exclude", []):
        dimension, sep, label = item.partition("=")
        if not sep or not dimension.strip() or not label:
            raise ParameterError(f"--exclude expects DIMENSION=LABEL, got {item!r}")
        pairs.append((dimension.strip(), label))
    return pairs


def bootstrap_of(args: argparse.Namespace, names: Sequence[str] | None) -> Bootstrap | None:
    """The bootstrap of ``--bootstrap``, ``--ci`` and ``--seed`` (``names``: the run's
    models, None for all). ``--ci`` without ``--bootstrap`` is an error; so is ``--seed``
    when it seeds nothing: no bootstrap, and no ``shapley`` (whose sampling it seeds)."""
    from attribution.bootstrap import Bootstrap

    if not getattr(args, "bootstrap", None):
        if args.ci is not None:
            raise ParameterError(
                "--ci sets the level of the bootstrap intervals: give --bootstrap B too"
            )
        if args.seed is not None and names is not None and "shapley" not in names:
            raise ParameterError(
                "--seed seeds the bootstrap replicates and shapley's sampling, and neither "
                "runs: give --bootstrap B, or add shapley to --models"
            )
        return None
    return Bootstrap(
        args.bootstrap,
        ci=0.9 if args.ci is None else args.ci,
        seed=0 if args.seed is None else args.seed,
    )


def requested_models(args: argparse.Namespace) -> list[str] | None:
    """The model names of ``--models`` (None for 'all', or for a command's default)."""
    if args.models is None or args.models.strip() == "all":
        return None
    names = comma_list(args.models)
    if not names:
        raise ParameterError("--models names no model")
    return names


def credit(
    args: argparse.Namespace,
    progress: Progress,
    *,
    by: Sequence[str],
    touch_credits: bool = False,
    also_by: Sequence[Sequence[str]] = (),
    required: Sequence[str] = (),
    scorecard: bool = False,
    costs: Costs | None = None,
    default_models: Callable[[bool], list[str]] | None = None,
) -> AttributionResult:
    """Load the input and run the chosen models. With ``--models all``, a model that
    cannot run on this data is left out with a note in the reconciliation, unless the
    user asked for it in particular (gave its options, or it is in ``required``): then
    the reason is an error. ``default_models``: the command's models when ``--models``
    is not given, from whether the data has times (else every model)."""
    from attribution.cli.compile_notice import announce_compilation
    from attribution.engine import attribute

    announce_compilation(args.quiet)
    progress.start("reading input")
    excluded = [d for d, _ in exclusions(args) if d not in by]
    loaded = load_from_args(args, extra_dimensions([*by, *excluded]), excluded)
    write_rejects(loaded, args)
    names = requested_models(args)
    if names is None and args.models is None and default_models is not None:
        names = default_models(loaded.journeys.has_times)
    parameters = run_parameters(args, names)
    progress.set_total(2 + len(names if names is not None else model_names()))
    result = attribute(
        loaded,
        "all" if names is None else names,
        by=by,
        lookback_days=args.lookback,
        touch_credits=touch_credits,
        also_by=also_by,
        parameters=parameters,
        period=args.period,
        cohort=args.cohort,
        scorecard=scorecard,
        costs=costs,
        bootstrap=bootstrap_of(args, names),
        exclude=exclusions(args),
        progress=progress.start,
    )
    refuse_left_out(result, parameters, required)
    return result


def run_parameters(args: argparse.Namespace, names: list[str] | None) -> dict[str, dict]:
    """The model parameters of the options, with ``--milestones`` for custom_stage and
    ``--seed`` for shapley's sampling."""
    parameters = model_parameters(args, names)
    milestones = comma_list(args.milestones)
    if milestones and (names is None or "custom_stage" in names):
        parameters.setdefault("custom_stage", {})["milestones"] = tuple(milestones)
    # Only the observed-rate game samples (the presence game is exact in closed form).
    rates = parameters.get("shapley", {}).get("game") == "observed_rates"
    if args.seed is not None and rates and (names is None or "shapley" in names):
        parameters["shapley"]["seed"] = args.seed
    return parameters


def refuse_left_out(
    result: AttributionResult, parameters: dict[str, dict], required: Sequence[str]
) -> None:
    """A model left out of ``all`` although its options were given or its output asked
    for is an error, with the reason it could not run."""
    for name in sorted((set(parameters) | set(required)) - set(result.models)):
        reasons = [n.message for n in result.reconciliation.notes_about(name, "left_out")]
        asked = "its options were given" if name in parameters else "its output was asked for"
        raise ParameterError(
            f"{name} cannot run on this input although {asked}: "
            + (reasons[0] if reasons else "it is not among --models")
        )


def write_rejects(loaded: Loaded, args: argparse.Namespace) -> None:
    """Write the rejected rows (the header alone when there are none) wherever rows may be
    skipped, so a rejects file never shows an earlier run's rows as current."""
    from attribution.io.writers import write_table

    path = rejects_path(args)
    if path is None:
        return
    write_table(loaded.rejects, path)
    if not loaded.rejects.empty:
        print(
            f"note: {len(loaded.rejects):,} invalid row(s) skipped and written to {path}",
            file=sys.stderr,
        )


def exit_status(reconciliation: Reconciliation) -> int:
    """0, or 1 with a message when a conserving model's credits do not reconcile."""
    from attribution.reconciliation import Status

    if reconciliation.ok:
        return 0
    bad = [m.model for m in reconciliation.models if m.status is Status.MISMATCH]
    print(f"error: credits do not reconcile for {', '.join(bad)}", file=sys.stderr)
    return EXIT_MISMATCH
