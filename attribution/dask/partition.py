"""Load one partition of whole journeys on a worker, exactly as a local load would.

The partition's pieces are read, put back in input order (the order of their origins:
file, then row; so touches tied in time keep the order a local load gives them) and
handed to the local loader (:func:`attribution.io.touches.load_touches`) as
:class:`~attribution.io.sources.PartitionSource` objects: each row keeps the origin a
load of the whole input gives it, so every message and every rejected row names the
same file and row as locally. Nothing of the loader is re-implemented here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from attribution.columns import (
    OPTIONAL_TOUCH_ROLES,
    OUTCOME_ROLES,
    REQUIRED_TOUCH_ROLES,
    ColumnMap,
)
from attribution.dask.datasets import FILE_COLUMN, ORIGIN_COLUMNS, ROW_COLUMN, Piece, read_piece
from attribution.dask.layout import journey_buckets, order_keys
from attribution.dask.partitioning import Part, Partitioning, Table
from attribution.errors import Problem
from attribution.io.intake import Loaded
from attribution.io.parse import combined
from attribution.io.sources import Origins, PartitionSource
from attribution.io.touches import Untouched, load_touches
from attribution.journeys import CORE_DIMENSIONS, Journeys, LabelTables
from attribution.plan import RunPlan

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class LoadOptions:
    """The options of :func:`attribution.load` a distributed run loads every partition
    with."""

    columns: ColumnMap
    channel_teams: Mapping[str, str] | None
    on_invalid: Literal["fail", "skip"]
    separator: str
    dimensions: tuple[str, ...]
    journey_dimensions: tuple[str, ...]
    untouched: Untouched

    def touch_columns(self) -> list[str]:
        """The columns the loader reads of the touches."""
        roles = REQUIRED_TOUCH_ROLES + OPTIONAL_TOUCH_ROLES + OUTCOME_ROLES
        return [self.columns.name(r) for r in roles] + list(self.dimensions)

    def outcome_columns(self) -> list[str]:
        """The columns the loader reads of the outcomes."""
        names = [self.columns.journey_id, *(self.columns.name(r) for r in OUTCOME_ROLES)]
        return names + list(self.dimensions)

    def label_columns(self) -> list[str]:
        """Touch columns read as dictionaries (labels), as the local reader reads them."""
        return [self.columns.name(r) for r in CORE_DIMENSIONS] + list(self.dimensions)

    def load(self, touches: PartitionSource, outcomes: PartitionSource | None) -> Loaded:
        return load_touches(
            touches,
            outcomes,
            columns=self.columns,
            channel_teams=self.channel_teams,
            on_invalid=self.on_invalid,
            separator=self.separator,
            dimensions=self.dimensions,
            journey_dimensions=self.journey_dimensions,
            untouched=self.untouched,
        )


@dataclass(frozen=True)
class Read:
    """One table of a partition, in input order: its rows, their origins, and the layout
    partition each row must hash to (-1: not checked)."""

    table: pa.Table
    origins: Origins
    expected: np.ndarray

    def source(self, table: Table) -> PartitionSource:
        return PartitionSource(
            self.table, table.label, self.origins, table.available, table.skipped
        )


def read(
    table: Table,
    pieces: Sequence[tuple[Piece, int | None]],
    columns: Sequence[str],
    dictionary_columns: Sequence[str] = (),
) -> Read:
    """The rows of a partition's pieces of one table, sorted into input order."""
    wanted = list(dict.fromkeys(columns))
    parts = []
    expected = []
    for piece, partition in pieces:
        if table.carries_origins:
            part = read_piece(
                table.dataset,
                piece,
                [*wanted, *ORIGIN_COLUMNS],
                dictionary_columns,
                with_origins=False,
            )
        else:
            part = read_piece(table.dataset, piece, wanted, dictionary_columns)
        parts.append(part)
        expected.append(np.full(part.num_rows, -1 if partition is None else partition, np.int64))
    joined = (
        pa.concat_tables(parts, promote_options="permissive").unify_dictionaries()
        if len(parts) > 1
        else parts[0]
    )
    file = combined(joined[FILE_COLUMN]).to_numpy(zero_copy_only=False).astype(np.int32)
    row = combined(joined[ROW_COLUMN]).to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(order_keys(file, row), kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        joined, file, row = joined.take(pa.array(order)), file[order], row[order]
    data = joined.drop_columns([c for c in ORIGIN_COLUMNS if c in joined.column_names])
    origins = Origins(table.files, file, row, table.in_memory)
    return Read(data, origins, np.concatenate(expected)[order])


@dataclass(frozen=True)
class PartitionInput:
    """A partition's touches and outcomes, read."""

    touches: Read
    outcomes: Read | None

    def load(self, partitioning: Partitioning, options: LoadOptions) -> Loaded:
        outcomes = None
        if self.outcomes is not None:
            assert partitioning.outcomes is not None
            outcomes = self.outcomes.source(partitioning.outcomes)
        return options.load(self.touches.source(partitioning.touches), outcomes)

    def misplaced(self, partitioning: Partitioning) -> list[Problem]:
        """Rows of a layout whose journey hashes to another partition than theirs."""
        problems = []
        reads = [("touches", self.touches, partitioning.touches)]
        if self.outcomes is not None and partitioning.outcomes is not None:
            reads.append(("outcomes", self.outcomes, partitioning.outcomes))
        for what, data, table in reads:
            checked = np.flatnonzero(data.expected >= 0)
            if not len(checked) or partitioning.id_column not in data.table.column_names:
                continue
            ids = combined(data.table[partitioning.id_column]).take(pa.array(checked))
            source = f"{what} {table.label}: column {partitioning.id_column!r}"
            buckets = journey_buckets(ids, partitioning.partitions, source)
            wrong = checked[buckets != data.expected[checked]]
            if len(wrong):
                problems.append(
                    Problem(
                        reason="row is in another partition of the journey layout than its "
                        "journey_id hashes to (was the layout changed after it was written?)",
                        source=f"{what} {table.label}",
                        column=partitioning.id_column,
                        rows=tuple(data.origins.locate(int(r)) for r in wrong[:EXAMPLE_ROWS]),
                        count=len(wrong),
                    )
                )
        return problems


def read_part(partitioning: Partitioning, part: Part, options: LoadOptions) -> PartitionInput:
    touches = read(
        partitioning.touches, part.touches, options.touch_columns(), options.label_columns()
    )
    outcomes = None
    if partitioning.outcomes is not None:
        outcomes = read(partitioning.outcomes, part.outcomes, options.outcome_columns())
    return PartitionInput(touches, outcomes)


def prepared(journeys: Journeys, plan: RunPlan, tables: LabelTables) -> Journeys:
    """A partition's journeys with the plan's dimensions, in the run's shared coding.
    The plan adds the period dimension first (its names are the plan's), then every
    dimension is recoded to the run's tables."""
    return tables.apply(plan.prepare(journeys))
