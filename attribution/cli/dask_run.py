"""``attribution run --engine dask``: the options of the Dask engine, and the run on it.

Without ``--scheduler`` a :class:`distributed.LocalCluster` of ``--workers`` processes
is started for the run and closed after it. ``--touch-credits`` and ``--rejects`` name
folders: datasets of one parquet file per partition, written by the workers.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from attribution.cli.inputs import channel_teams, column_map, comma_list, extra_dimensions
from attribution.cli.pipeline import (
    bootstrap_of,
    exclusions,
    refuse_left_out,
    requested_models,
    run_parameters,
)
from attribution.cli.progress import Progress
from attribution.errors import ParameterError

if TYPE_CHECKING:
    from distributed import Client

    from attribution.engine import AttributionResult

#: Options that only the Dask engine reads, with their defaults.
DASK_OPTIONS = {
    "scheduler": None,
    "workers": None,
    "threads_per_worker": None,
    "memory_limit": None,
    "partitioned": False,
    "partitions": None,
    "shuffle_to": None,
}


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine")
    group.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local (default): in this process; dask: on a Dask cluster (parquet inputs)",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: the scheduler of a running cluster (tcp://host:8786); "
        "default: start a local cluster for the run",
    )
    group.add_argument(
        "--workers", type=_positive, metavar="N", help="local cluster: worker processes"
    )
    group.add_argument(
        "--threads-per-worker", type=_positive, metavar="T", help="local cluster: threads each"
    )
    group.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="local cluster: memory limit of each worker (e.g. 4GB; default: a share of "
        "this machine's memory)",
    )
    group.add_argument(
        "--partitioned",
        action="store_true",
        help="with --engine dask: the inputs' hive partition folders (key=value) never "
        "split a journey, so no shuffle is needed",
    )
    group.add_argument(
        "--partitions",
        type=_positive,
        metavar="N",
        help="with --engine dask: shuffle the input into N journey partitions (by default "
        "only input not already partitioned by journey is shuffled, into one partition per "
        "2M touch rows)",
    )
    group.add_argument(
        "--shuffle-to",
        metavar="DIR",
        help="with --engine dask: keep the input shuffled by journey in DIR (new or empty), "
        "which later runs read as INPUT without shuffling",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def check_engine_options(args: argparse.Namespace) -> None:
    """Dask options only with ``--engine dask``; a cluster is either named or started."""
    given = [
        "--" + name.replace("_", "-")
        for name, default in DASK_OPTIONS.items()
        if getattr(args, name) != default
    ]
    if args.engine != "dask":
        if given:
            raise ParameterError(f"{', '.join(given)}: only with --engine dask")
        return
    local = [o for o in given if o in ("--workers", "--threads-per-worker", "--memory-limit")]
    if args.scheduler and local:
        raise ParameterError(
            f"{', '.join(local)} configure a local cluster; with --scheduler the cluster "
            "is already running"
        )
    if args.paths:
        raise ParameterError(
            "--engine dask reads touch tables; aggregated path tables (--paths) are small: "
            "run them on the local engine"
        )
    if getattr(args, "crm", None):
        raise ParameterError(
            "--engine dask reads touch tables: build them from the CRM exports first "
            "(attribution journeys --out DIR), then run DIR/touches.parquet on the cluster"
        )


def rejects_folder(args: argparse.Namespace) -> Path | None:
    """Where the Dask engine writes rejected rows: ``--rejects``; with ``--on-invalid
    skip`` and no ``--rejects``, the folder ``<out stem>.rejects`` beside ``--out`` (else
    ``./attribution_rejects``)."""
    if args.rejects:
        return Path(args.rejects)
    if args.on_invalid != "skip":
        return None
    if args.out:
        out = Path(args.out)
        return out.with_name(f"{out.stem}.rejects")
    return Path("attribution_rejects")


@contextlib.contextmanager
def cluster(args: argparse.Namespace) -> Iterator[Client]:
    """The client of ``--scheduler``, or of a local cluster started for the run."""
    from distributed import Client, LocalCluster

    if args.scheduler:
        with Client(args.scheduler) as client:
            yield client
        return
    options: dict[str, object] = {}
    if args.workers:
        options["n_workers"] = args.workers
    if args.threads_per_worker:
        options["threads_per_worker"] = args.threads_per_worker
    if args.memory_limit:
        options["memory_limit"] = args.memory_limit
    try:
        local = LocalCluster(
            processes=True, dashboard_address=":0", silence_logs=logging.ERROR, **options
        )
    except (ValueError, TypeError) as error:
        raise ParameterError(f"cannot start the local cluster: {error}") from None
    with local, Client(local) as client:
        yield client


def credit_on_dask(
    args: argparse.Namespace,
    progress: Progress,
    *,
    by: Sequence[str],
    also_by: Sequence[Sequence[str]] = (),
    required: Sequence[str] = (),
) -> AttributionResult:
    """Run the chosen models on the Dask engine (as :func:`attribution.cli.pipeline.credit`
    does locally)."""
    from attribution.cli.compile_notice import announce_compilation
    from attribution.dask import attribute

    announce_compilation(args.quiet)
    excluded = exclusions(args)
    dimensions = extra_dimensions(list(by) + [d for d, _ in excluded if d not in by])
    journey_level = comma_list(args.journey_level)
    stray = [d for d in journey_level if d not in dimensions]
    if stray:
        raise ParameterError(f"--journey-level {', '.join(stray)}: not among the --by dimensions")
    names = requested_models(args)
    parameters = run_parameters(args, names)
    rejects = rejects_folder(args)
    progress.set_total(6)
    progress.start("starting the cluster")
    with cluster(args) as client:
        result = attribute(
            args.input,
            args.outcomes,
            "all" if names is None else names,
            by=by,
            client=client,
            touch_credits=args.touch_credits,
            rejects=rejects,
            lookback_days=args.lookback,
            also_by=also_by,
            parameters=parameters,
            period=args.period,
            cohort=args.cohort,
            bootstrap=bootstrap_of(args, names),
            exclude=excluded,
            progress=progress.start,
            columns=column_map(args),
            channel_teams=channel_teams(args.team_map),
            on_invalid=args.on_invalid,
            separator=args.separator,
            dimensions=dimensions,
            journey_dimensions=journey_level,
            untouched=args.untouched,
            partitioned=args.partitioned,
            partitions=args.partitions,
            shuffle_to=args.shuffle_to,
        )
    intake = result.reconciliation.intake
    skipped = 0 if intake is None else intake.rejected_touch_rows + intake.rejected_outcome_rows
    if skipped and rejects is not None:
        print(
            f"note: {skipped:,} invalid row(s) skipped and written to the dataset {rejects}",
            file=sys.stderr,
        )
    refuse_left_out(result, parameters, required)
    return result
