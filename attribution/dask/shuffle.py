"""Write a journey layout (:mod:`attribution.dask.layout`) with Dask's shuffle.

Each row gets its origin (file and row; for a dask DataFrame, its partition and position)
and its journey's partition (:func:`~attribution.dask.layout.journey_buckets`), and
``set_index`` on the partition column with divisions ``0, 1, ..., n`` moves every row to
its partition: Dask's own shuffle (peer-to-peer on a distributed cluster, spilling to
disk), not one of ours. Each partition is then written as one parquet file per table.

**What it costs.** Every row crosses the network once and is written once, which is
about as much as the whole run's reading; the passes that follow read the layout three
times. A dataset already partitioned by journey needs none of it: a layout kept from an
earlier run (``shuffle_to``, or :func:`attribution.dask.partition_journeys`), hive
partitions the caller vouches for (``partitioned=True``), or dask DataFrames indexed by
the journey id with known divisions (written to the layout partition by partition,
without a shuffle).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from attribution.dask.datasets import (
    FILE_COLUMN,
    ROW_COLUMN,
    Dataset,
    Piece,
    read_piece,
)
from attribution.dask.layout import (
    BUCKET_COLUMN,
    PARTITION_KEY,
    Layout,
    TableLayout,
    journey_buckets,
    write_table,
)
from attribution.io.parse import combined

if TYPE_CHECKING:
    import dask.dataframe as dd

#: Touch rows per journey partition when the caller does not say.
PARTITION_ROWS = 2_000_000
#: Rows read per task of the shuffle's input.
PIECE_ROWS = 1_000_000


@dataclass(frozen=True)
class Input:
    """One table to write into a layout: its rows as a dask DataFrame with origins and
    partitions, and how the input names itself."""

    frame: dd.DataFrame
    table: TableLayout
    schema: pa.Schema | None


def partition_count(touches: Dataset | dd.DataFrame, partitions: int | None) -> int:
    """The layout's partition count: as asked, else one per ``PARTITION_ROWS`` touch rows
    of a dataset (a dask DataFrame keeps its partition count)."""
    if partitions is not None:
        return partitions
    if isinstance(touches, Dataset):
        return max(1, math.ceil(touches.rows / PARTITION_ROWS))
    return max(1, touches.npartitions)


def dataset_input(
    dataset: Dataset, what: str, columns: Sequence[str] | None, id_column: str, partitions: int
) -> Input:
    """A parquet dataset read in pieces, with origins and partitions."""
    import dask.dataframe as dd

    names = [c for c in (columns if columns is not None else dataset.available)]
    names = [c for c in dict.fromkeys(names) if c in dataset.available]
    schema = pa.schema(
        [dataset.schema.field(n) for n in names]
        + [pa.field(FILE_COLUMN, pa.int32()), pa.field(ROW_COLUMN, pa.int64())]
    )
    meta = _empty(schema).assign(**{BUCKET_COLUMN: pd.Series(dtype=np.int64)})
    frame = dd.from_map(
        _piece_frame,
        dataset.pieces(PIECE_ROWS),
        dataset=dataset,
        names=names,
        schema=schema,
        id_column=id_column,
        partitions=partitions,
        source=f"{what} {dataset.label}: column {id_column!r}",
        meta=meta,
        enforce_metadata=False,
        label=f"read-{what}",
    )
    table = TableLayout(
        dataset.label,
        dataset.names,
        False,
        dataset.available,
        dataset.skipped,
        schema,
        (),
    )
    return Input(frame, table, schema)


def _empty(schema: pa.Schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def _piece_frame(
    piece: Piece,
    dataset: Dataset,
    names: list[str],
    schema: pa.Schema,
    id_column: str,
    partitions: int,
    source: str,
) -> pd.DataFrame:
    table = read_piece(dataset, piece, names).cast(schema)
    buckets = journey_buckets(combined(table[id_column]), partitions, source)
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame[BUCKET_COLUMN] = buckets
    return frame


def frame_input(
    frame: dd.DataFrame, what: str, columns: Sequence[str] | None, id_column: str, partitions: int
) -> Input:
    """A dask DataFrame with origins (partition, 0-based position) and partitions. An
    index named like the journey id column is read as that column."""
    if frame.index.name == id_column and id_column not in frame.columns:
        frame = frame.reset_index()
    available = tuple(str(c) for c in frame.columns)
    if columns is not None:
        frame = frame[[c for c in dict.fromkeys(columns) if c in frame.columns]]
    label = f"{what} dask DataFrame"
    meta = frame._meta.assign(
        **{
            FILE_COLUMN: pd.Series(dtype=np.int32),
            ROW_COLUMN: pd.Series(dtype=np.int64),
            BUCKET_COLUMN: pd.Series(dtype=np.int64),
        }
    )
    with_origins = frame.map_partitions(
        _with_origins,
        id_column=id_column,
        partitions=partitions,
        source=f"{what} {label}: column {id_column!r}",
        meta=meta,
        enforce_metadata=False,
    )
    files = tuple(f"partition {p}" for p in range(frame.npartitions))
    table = TableLayout(label, files, True, available, (), pa.schema([]), ())
    return Input(with_origins, table, None)


def _with_origins(
    part: pd.DataFrame,
    id_column: str,
    partitions: int,
    source: str,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    number = 0 if partition_info is None else int(partition_info["number"])
    out = part.reset_index(drop=True)
    out[FILE_COLUMN] = np.full(len(out), number, np.int32)
    out[ROW_COLUMN] = np.arange(len(out), dtype=np.int64)
    if id_column in out.columns:
        ids = pa.array(out[id_column], from_pandas=True)
        out[BUCKET_COLUMN] = journey_buckets(ids, partitions, source)
    else:
        out[BUCKET_COLUMN] = np.zeros(len(out), np.int64)
    return out


def aligned(touches: dd.DataFrame, outcomes: dd.DataFrame | None, id_column: str) -> bool:
    """Whether dask DataFrames are indexed by the journey id with known divisions (both,
    when there are outcomes): their partitions then hold whole journeys."""
    frames = [touches] if outcomes is None else [touches, outcomes]
    return all(f.index.name == id_column and f.known_divisions for f in frames)


def align(
    touches: dd.DataFrame, outcomes: dd.DataFrame | None
) -> tuple[dd.DataFrame, dd.DataFrame | None]:
    """Both frames cut at the touches' divisions (widened to the outcomes' range), so that
    partition ``i`` of each holds the same journeys."""
    if outcomes is None:
        return touches, None
    divisions = list(touches.divisions)
    divisions[0] = min(divisions[0], outcomes.divisions[0])
    divisions[-1] = max(divisions[-1], outcomes.divisions[-1])
    return (
        touches.repartition(divisions=tuple(divisions), force=True),
        outcomes.repartition(divisions=tuple(divisions), force=True),
    )


def write(
    inputs: dict[str, Input],
    root: str,
    filesystem: Any,
    *,
    partitions: int,
    id_column: str,
    shuffle: bool,
) -> Layout:
    """Write the layout: shuffled by journey (``shuffle``), or each input partition as the
    layout partition of the same number (inputs already partitioned by journey)."""
    import dask

    counts = []
    for name, item in inputs.items():
        frame = item.frame
        if shuffle:
            frame = frame.set_index(BUCKET_COLUMN, divisions=list(range(partitions + 1)))
        counts.append(
            frame.map_partitions(
                _write_partition,
                root=root,
                table=name,
                schema=item.schema,
                filesystem=filesystem,
                meta={"partition": np.int64, "rows": np.int64},
                enforce_metadata=False,
            )
        )
    computed = dask.compute(*counts)
    tables: dict[str, TableLayout] = {}
    for (name, item), frame in zip(inputs.items(), computed, strict=True):
        rows = np.zeros(partitions, np.int64)
        rows[frame["partition"].to_numpy()] = frame["rows"].to_numpy()
        table = item.table
        schema = item.schema if item.schema is not None else _written_schema(root, name, filesystem)
        tables[name] = TableLayout(
            table.label,
            table.files,
            table.in_memory,
            table.available,
            table.skipped,
            schema,
            tuple(int(r) for r in rows),
        )
    layout = Layout(
        root=root,
        partitions=partitions,
        id_column=id_column,
        touches=tables["touches"],
        outcomes=tables.get("outcomes"),
        filesystem=filesystem,
        trusted=True,
        hashed=shuffle,
    )
    layout.write_manifest()
    return layout


def _write_partition(
    part: pd.DataFrame,
    root: str,
    table: str,
    schema: pa.Schema | None,
    filesystem: Any,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    number = 0 if partition_info is None else int(partition_info["number"])
    frame = part.reset_index(drop=True)
    frame = frame.drop(columns=[c for c in (BUCKET_COLUMN,) if c in frame.columns])
    arrow = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    path = f"{root}/{table}/{PARTITION_KEY}={number:05d}/part.parquet"
    write_table(filesystem, path, arrow.replace_schema_metadata(None))
    return pd.DataFrame({"partition": [number], "rows": [len(frame)]})


def _written_schema(root: str, table: str, filesystem: Any) -> pa.Schema:
    """The unified schema of a table's written partitions (a dask DataFrame's column
    types are known only once its partitions are converted)."""
    import pyarrow.parquet as pq

    files = sorted(filesystem.glob(f"{root}/{table}/{PARTITION_KEY}=*/part.parquet"))
    schemas = [pq.read_schema(f, filesystem=filesystem) for f in files]
    return pa.unify_schemas(schemas, promote_options="permissive")
