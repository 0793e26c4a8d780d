"""The distributed run: the local engine's passes over partitions of whole journeys.

1. **Partitions of whole journeys** (:mod:`attribution.dask.partitioning`): a journey
   layout is read as it is; hive partitions the caller vouches for, and parquet datasets
   clustered by journey id (disjoint row-group id ranges), are read in place; dask
   DataFrames indexed by the journey id with known divisions are written to a layout
   partition by partition; anything else is first shuffled into a layout by journey
   (Dask's shuffle, :mod:`attribution.dask.shuffle`).
2. **Validation pass**: each partition is loaded by the local loader, its rejected rows
   written, its :class:`~attribution.plan.DataShape` and intake merged in a tree. Invalid
   rows stop the run with every problem of every partition (exit 2 on the command
   line), naming the files and rows as locally.
3. **Plan** on the client from the merged shape (:func:`~attribution.plan.plan_run`): the
   models, roll-ups and windows, and one global coding (every label of every partition,
   sorted; the period labels of every time of the data).
4. **Fit pass**: each partition recoded to the global coding and its
   :func:`~attribution.passes.fit_pass` sums merged in a tree; the models fitted once on
   the client (:func:`~attribution.passes.fit_models`) and sent to the workers as the
   results of tasks (recomputed, not lost, when a worker dies).
5. **Credit pass**: :func:`~attribution.passes.credit_pass` per partition, merged in a
   tree; per-touch credits written by the workers; the finish
   (:func:`~attribution.passes.finish_run`) on the client.

Only shapes, intakes, statistics, fitted models and sums cross the network. Merges are
sums over journeys, so the result equals the local engine's on the same data, whatever
the partitioning (to rounding: sums are added in another order). Random draws are keyed
by journey (the bootstrap) or made once on the client (sampled Shapley), so they do not
depend on the partitioning either.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from attribution.bootstrap import Bootstrap, bootstrap_option
from attribution.columns import DEFAULT_SEPARATOR, ColumnMap
from attribution.dask import tasks
from attribution.dask.checks import Checked
from attribution.dask.datasets import Dataset, list_dataset, read_piece
from attribution.dask.layout import find_layout, open_filesystem
from attribution.dask.outputs import DatasetOutput, as_table
from attribution.dask.partition import LoadOptions
from attribution.dask.partitioning import (
    Partitioning,
    from_hive,
    from_layout,
    from_ranges,
    group_parts,
)
from attribution.dask.shuffle import (
    PARTITION_ROWS,
    Input,
    align,
    aligned,
    dataset_input,
    frame_input,
    partition_count,
    write,
)
from attribution.engine import DEFAULT_BY, AttributionResult, result_of
from attribution.errors import InputError, ParameterError, Problem
from attribution.io.sources import Origins, PartitionSource
from attribution.io.touches import UNTOUCHED, Untouched
from attribution.io.validation import check_on_invalid, empty_rejects
from attribution.journeys import LabelTables
from attribution.passes import RunOptions, finish_run, fit_models, needs_context
from attribution.periods import PERIOD_DIMENSION, Cohort, Period
from attribution.plan import Models, RunPlan, plan_run, resolve_models
from attribution.scorecards import Costs

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future

#: Partition results merged per node of the merge trees.
SPLIT_EVERY = 8
#: Rows of each table the client loads before a shuffle, to report a wrong schema
#: (a missing column, say) before any data moves.
SAMPLE_ROWS = 1_000


def attribute(
    touches: str | os.PathLike[str] | dd.DataFrame,
    outcomes: str | os.PathLike[str] | dd.DataFrame | None = None,
    models: Models = "all",
    *,
    by: Sequence[str] = DEFAULT_BY,
    client: Client | None = None,
    touch_credits: str | os.PathLike[str] | None = None,
    rejects: str | os.PathLike[str] | None = None,
    lookback_days: float | None = None,
    also_by: Sequence[Sequence[str]] = (),
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    period: Period | None = None,
    cohort: Cohort | None = None,
    scorecard: bool = False,
    costs: Costs | None = None,
    bootstrap: Bootstrap | int | None = None,
    ci: float | None = None,
    seed: int | None = None,
    exclude: Sequence[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
    columns: ColumnMap | None = None,
    channel_teams: Mapping[str, str] | None = None,
    on_invalid: Literal["fail", "skip"] = "fail",
    separator: str = DEFAULT_SEPARATOR,
    dimensions: Sequence[str] = (),
    journey_dimensions: Sequence[str] = (),
    untouched: Untouched = "accept",
    partitioned: bool = False,
    partitions: int | None = None,
    shuffle_to: str | os.PathLike[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> AttributionResult:
    """:func:`attribution.attribute` on a Dask cluster, with the same result.

    ``touches``, ``outcomes``: parquet datasets (a file or a folder, local or any fsspec
    URL, read with ``storage_options``), a journey layout folder (then no ``outcomes``:
    the layout holds them), or dask DataFrames. The loading options (``columns``,
    ``channel_teams``, ``on_invalid``, ``separator``, ``dimensions``,
    ``journey_dimensions``, ``untouched``) are those of :func:`attribution.load`; the
    run's options those of :func:`attribution.attribute`.

    ``client``: the cluster to run on (default: the current client, else a temporary
    :class:`distributed.LocalCluster` of processes, closed at the end). ``touch_credits``,
    ``rejects``: folders where every touch's credit and every rejected row are written as
    parquet datasets, one file per partition (never collected to the client;
    ``result.touch_credits`` stays None).

    Partitions of whole journeys: ``partitioned=True`` vouches that the datasets' hive
    partition values (``region=emea/``; for dask DataFrames, their partitions, paired by
    number) never split a journey; parquet datasets whose row groups hold disjoint ranges
    of journey ids (written sorted by id, or in files of whole journeys) and dask
    DataFrames indexed by the journey id with known divisions are partitioned by journey
    as they are; anything else is shuffled by journey into one partition per 2M touch
    rows (or the DataFrame's partition count). ``partitions`` asks for a shuffle into that
    many partitions, ``shuffle_to`` for a shuffle whose layout is kept there (readable by
    later runs without a shuffle); otherwise the layout goes to a temporary folder
    (removed; on a cluster of several machines it must be shared storage, so pass
    ``shuffle_to``).
    """
    check_on_invalid(on_invalid)
    if untouched not in UNTOUCHED:
        raise ParameterError(f"untouched must be one of {', '.join(UNTOUCHED)}, not {untouched!r}")
    if partitions is not None and (
        isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1
    ):
        raise ParameterError(f"partitions must be a whole number >= 1, got {partitions!r}")
    boot = bootstrap_option(bootstrap, ci, seed)
    # The models and their parameters are checked before any data moves (touch tables
    # have times); the plan itself needs the data's shape, after the validation pass.
    resolve_models(models, True, parameters)
    storage = dict(storage_options or {})
    options = LoadOptions(
        columns=columns or ColumnMap(),
        channel_teams=None if channel_teams is None else dict(channel_teams),
        on_invalid=on_invalid,
        separator=separator,
        dimensions=tuple(dimensions),
        journey_dimensions=tuple(journey_dimensions),
        untouched=untouched,
    )
    run_options = RunOptions(scorecard=scorecard, costs=costs, bootstrap=boot)
    report = progress or (lambda _: None)
    touch_out = (
        None if touch_credits is None else DatasetOutput.at(touch_credits, "touch_credits", storage)
    )
    rejects_out = None if rejects is None else DatasetOutput.at(rejects, "rejects", storage)
    outputs = [o for o in (touch_out, rejects_out) if o is not None]
    try:
        with (
            connected(client) as cluster,
            journey_partitions(
                touches,
                outcomes,
                options,
                cluster,
                partitioned,
                partitions,
                shuffle_to,
                storage,
                report,
            ) as partitioning,
        ):
            run = _Run(cluster, partitioning, options)
            report("checking every partition")
            checked = run.check(rejects_out)
            if rejects_out is not None and not rejects_out.parts():
                # No row rejected: the dataset holds the header alone, as locally.
                rejects_out.part(0, as_table(empty_rejects(), integers=("source_row",)))
            intake = checked.finished_intake(options.channel_teams)
            assert checked.shape is not None
            plan = plan_run(
                checked.shape,
                models,
                parameters=parameters,
                by=by,
                also_by=also_by,
                lookback_days=lookback_days,
                period=period,
                cohort=cohort,
                exclude=exclude,
            )
            if scorecard and costs is not None:
                costs.check_run(plan.period)
            tables = checked.shape.tables
            if plan.period is not None:
                tables = LabelTables({**tables.tables, PERIOD_DIMENSION: plan.period_names})
            report("fitting")
            fit = run.fit(plan, tables, run_options).resolved()
            fitted = fit_models(plan, fit, run_options)
            report("crediting")
            credit = run.credit(plan, tables, run_options, fitted, fit, touch_out)
            finished = finish_run(plan, fit, credit, fitted, tables, intake, run_options)
        for output in outputs:
            output.commit(output.parts())
    finally:
        for output in outputs:
            output.discard()
    return result_of(finished, fitted, plan, run_options, checked.shape.has_times)


def partition_journeys(
    touches: str | os.PathLike[str] | dd.DataFrame,
    outcomes: str | os.PathLike[str] | dd.DataFrame | None,
    folder: str | os.PathLike[str],
    *,
    columns: ColumnMap | None = None,
    partitions: int | None = None,
    client: Client | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """Shuffle the input once into a journey layout at ``folder`` (new or empty) and
    return its path: later runs of :func:`attribute` on the folder (no ``outcomes``:
    the layout holds them) read it without shuffling. Every column is kept, so any
    later run's options find their columns."""
    options = LoadOptions(
        columns=columns or ColumnMap(),
        channel_teams=None,
        on_invalid="fail",
        separator=DEFAULT_SEPARATOR,
        dimensions=(),
        journey_dimensions=(),
        untouched="accept",
    )
    if isinstance(touches, (str, os.PathLike)) and find_layout(
        os.fspath(touches), dict(storage_options or {})
    ):
        raise ParameterError(f"{os.fspath(touches)} is a journey layout already")
    with (
        connected(client) as cluster,
        journey_partitions(
            touches,
            outcomes,
            options,
            cluster,
            False,
            partitions,
            folder,
            dict(storage_options or {}),
            lambda _: None,
        ),
    ):
        pass
    return os.fspath(folder)


class _Run:
    """The passes of one run on a cluster (see the module docstring)."""

    def __init__(self, client: Client, partitioning: Partitioning, options: LoadOptions) -> None:
        self.client = client
        self.label = partitioning.touches.label
        self.parts = group_parts(partitioning)
        self.indices = list(range(len(self.parts)))
        self.partitioning = self.shared(partitioning)
        self.options = self.shared(options)

    def check(self, rejects: DatasetOutput | None) -> Checked:
        futures = self.client.map(
            tasks.check,
            self.parts,
            self.indices,
            partitioning=self.partitioning,
            options=self.options,
            rejects=rejects,
        )
        checked: Checked = self.merged(futures)
        if checked.problems:
            raise InputError([p.problem for p in checked.problems])
        if not math.isfinite(checked.value):
            # The loader's check of the total value, over all partitions.
            raise InputError(
                Problem(
                    "the values are too large: their total is not a finite number",
                    source=self.label,
                )
            )
        return checked

    def fit(self, plan: RunPlan, tables: LabelTables, run_options: RunOptions) -> Any:
        """The context pass (when a model of the plan has one), then the fit pass in the
        merged contexts."""
        self.plan = self.shared(plan)
        self.tables = self.shared(tables)
        passes: dict[str, Any] = {
            "partitioning": self.partitioning,
            "options": self.options,
            "plan": self.plan,
            "tables": self.tables,
            "run_options": run_options,
        }
        contexts = None
        if needs_context(plan):
            contexts = self.merged(self.client.map(tasks.context, self.parts, **passes))
        shared = None if contexts is None else self.shared(contexts)
        return self.merged(self.client.map(tasks.fit, self.parts, contexts=shared, **passes))

    def credit(
        self,
        plan: Any,
        tables: LabelTables,
        run_options: RunOptions,
        fitted: Any,
        fit: Any,
        touch_credits: DatasetOutput | None,
    ) -> Any:
        # The credit pass needs the fit's groups, not its statistics.
        keys_only = replace(fit, statistics={}, lead_statistics={}, replicate_statistics={})
        futures = self.client.map(
            tasks.credit,
            self.parts,
            self.indices,
            partitioning=self.partitioning,
            options=self.options,
            plan=self.plan,
            tables=self.tables,
            run_options=run_options,
            fitted=self.shared(fitted),
            fit=self.shared(keys_only),
            touch_credits=touch_credits,
        )
        return self.merged(futures)

    def shared(self, value: Any) -> Future:
        """``value`` as the result of a task that returns it, for the partition tasks to
        depend on. Not ``client.scatter``: scattered data held only by a worker that dies
        is lost for good (the scheduler's memory manager keeps one replica of it, even
        when broadcast), whereas a task's result is recomputed from its spec."""
        return self.client.submit(tasks.identity, value, pure=False)

    def merged(self, futures: list[Future]) -> Any:
        """The partition results merged in a tree of ``SPLIT_EVERY``-way merges."""
        while len(futures) > 1:
            futures = [
                self.client.submit(tasks.merge_all, futures[i : i + SPLIT_EVERY])
                for i in range(0, len(futures), SPLIT_EVERY)
            ]
        return futures[0].result()


@contextlib.contextmanager
def connected(client: Client | None) -> Iterator[Client]:
    """The given client, else the current one, else a temporary local cluster."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster, get_client

    try:
        current = get_client()
    except ValueError:
        current = None
    if current is not None:
        yield current
        return
    with (
        LocalCluster(processes=True, dashboard_address=":0", silence_logs=logging.ERROR) as local,
        Client(local) as started,
    ):
        yield started


@contextlib.contextmanager
def journey_partitions(
    touches: Any,
    outcomes: Any,
    options: LoadOptions,
    client: Client,
    partitioned: bool,
    partitions: int | None,
    shuffle_to: str | os.PathLike[str] | None,
    storage: dict[str, Any],
    report: Callable[[str], None],
) -> Iterator[Partitioning]:
    """The input as partitions of whole journeys (see the module docstring); a temporary
    layout is removed at the end."""
    id_column = options.columns.journey_id
    if isinstance(touches, (str, os.PathLike)):
        layout = find_layout(os.fspath(touches), storage)
        if layout is not None:
            if outcomes is not None:
                raise ParameterError(
                    f"{os.fspath(touches)} is a journey layout, which holds its own outcomes: "
                    "do not pass outcomes with it"
                )
            if layout.id_column != id_column:
                raise ParameterError(
                    f"the journey layout {os.fspath(touches)} is partitioned by the column "
                    f"{layout.id_column!r}, not {id_column!r}: map journey_id to "
                    f"{layout.id_column!r}, or shuffle the original data again"
                )
            _check_rows(layout.touches.total_rows, layout.touches.label, "touches")
            if layout.outcomes is not None:
                _check_rows(layout.outcomes.total_rows, layout.outcomes.label, "outcomes")
            yield from_layout(layout)
            return
        if outcomes is not None and not isinstance(outcomes, (str, os.PathLike)):
            raise ParameterError("touches and outcomes must both be paths or both be DataFrames")
        touch_data = list_dataset(touches, "touches", id_column, **storage)
        _check_rows(touch_data.rows, touch_data.label, "touches")
        outcome_data = None
        if outcomes is not None:
            outcome_data = list_dataset(outcomes, "outcomes", id_column, **storage)
            _check_rows(outcome_data.rows, outcome_data.label, "outcomes")
        _precheck(_sample(touch_data), _sample(outcome_data), options)
        if partitioned:
            yield from_hive(touch_data, outcome_data, id_column)
            return
        clustered = None
        if partitions is None and shuffle_to is None:
            clustered = from_ranges(touch_data, outcome_data, id_column, PARTITION_ROWS)
        if clustered is not None:
            report(f"read in {len(clustered.parts)} partitions of journey id ranges (no shuffle)")
            yield clustered
            return
        n = partition_count(touch_data, partitions)
        keep = shuffle_to is not None
        inputs = {
            "touches": dataset_input(
                touch_data, "touches", None if keep else options.touch_columns(), id_column, n
            )
        }
        if outcome_data is not None:
            inputs["outcomes"] = dataset_input(
                outcome_data, "outcomes", None if keep else options.outcome_columns(), id_column, n
            )
        with _layout_root(shuffle_to, storage) as (root, filesystem):
            report(f"shuffling {touch_data.rows:,} touch rows into {n} journey partitions")
            layout = write(
                inputs, root, filesystem, partitions=n, id_column=id_column, shuffle=True
            )
            yield from_layout(layout)
        return
    yield from _frames(
        touches, outcomes, options, partitioned, partitions, shuffle_to, storage, report
    )


def _frames(
    touches: dd.DataFrame,
    outcomes: dd.DataFrame | None,
    options: LoadOptions,
    partitioned: bool,
    partitions: int | None,
    shuffle_to: str | os.PathLike[str] | None,
    storage: dict[str, Any],
    report: Callable[[str], None],
) -> Iterator[Partitioning]:
    import dask.dataframe as dd

    id_column = options.columns.journey_id
    if not isinstance(touches, dd.DataFrame) or not (
        outcomes is None or isinstance(outcomes, dd.DataFrame)
    ):
        raise ParameterError(
            "touches (and outcomes) must be parquet paths, a journey layout folder, or dask "
            f"DataFrames, not {type(touches).__name__}"
        )
    shuffle = True
    if aligned(touches, outcomes, id_column):
        touches, outcomes = align(touches, outcomes)
        shuffle = False
    elif partitioned:
        if outcomes is not None and outcomes.npartitions != touches.npartitions:
            raise ParameterError(
                f"partitioned=True pairs the DataFrames' partitions by number, but the touches "
                f"have {touches.npartitions} and the outcomes {outcomes.npartitions}"
            )
        shuffle = False
    n = partition_count(touches, partitions) if shuffle else touches.npartitions
    keep = shuffle_to is not None
    inputs: dict[str, Input] = {
        "touches": frame_input(
            touches, "touches", None if keep else options.touch_columns(), id_column, n
        )
    }
    if outcomes is not None:
        inputs["outcomes"] = frame_input(
            outcomes, "outcomes", None if keep else options.outcome_columns(), id_column, n
        )
    with _layout_root(shuffle_to, storage) as (root, filesystem):
        report("shuffling by journey" if shuffle else "writing the journey partitions")
        layout = write(inputs, root, filesystem, partitions=n, id_column=id_column, shuffle=shuffle)
        _check_rows(layout.touches.total_rows, layout.touches.label, "touches")
        if layout.outcomes is not None:
            _check_rows(layout.outcomes.total_rows, layout.outcomes.label, "outcomes")
        yield from_layout(layout)


@contextlib.contextmanager
def _layout_root(
    shuffle_to: str | os.PathLike[str] | None, storage: dict[str, Any]
) -> Iterator[tuple[str, Any]]:
    """Where the layout goes: ``shuffle_to`` (kept; it must not hold anything yet), or a
    temporary folder removed afterwards."""
    if shuffle_to is not None:
        filesystem, root = open_filesystem(os.fspath(shuffle_to), storage)
        if filesystem.exists(root) and filesystem.ls(root):
            raise ParameterError(
                f"shuffle_to {os.fspath(shuffle_to)} is not empty: the journey layout is "
                "written to a new or empty folder"
            )
        yield root.rstrip("/"), filesystem
        return
    folder = tempfile.mkdtemp(prefix="attribution-layout-")
    filesystem, root = open_filesystem(folder)
    try:
        yield root, filesystem
    finally:
        filesystem.rm(root, recursive=True)


def _check_rows(rows: int, label: str, what: str) -> None:
    if rows == 0:
        raise InputError(Problem(f"the {what} input has no rows", source=label))


def _sample(dataset: Dataset | None) -> PartitionSource | None:
    """The first rows of a dataset's first non-empty file, as a partition."""
    if dataset is None:
        return None
    piece = next(p for p in dataset.pieces(SAMPLE_ROWS) if dataset.row_groups[p.file][p.first])
    table = read_piece(dataset, piece, None).slice(0, SAMPLE_ROWS)
    origins = Origins(
        dataset.names,
        table["__attribution_file"].to_numpy(),
        table["__attribution_row"].to_numpy(),
    )
    data = table.drop_columns(["__attribution_file", "__attribution_row"])
    return PartitionSource(data, dataset.label, origins, dataset.available, dataset.skipped)


def _precheck(
    touches: PartitionSource | None, outcomes: PartitionSource | None, options: LoadOptions
) -> None:
    """Load a sample on the client and raise the problems that concern the input's
    columns rather than its rows (the same in every partition), before any shuffle."""
    assert touches is not None
    try:
        options.load(touches, outcomes)
    except InputError as error:
        general = [p for p in error.problems if not p.count]
        if general:
            raise InputError(general) from None


__all__ = ["attribute", "connected", "partition_journeys"]
