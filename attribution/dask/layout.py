"""The journey-partitioned layout every distributed run reads: whole journeys per partition.

A layout is a folder (local or any fsspec URL)::

    _attribution_layout.json                      the manifest
    touches/journey_partition=00000/part.parquet  the touch rows of partition 0
    outcomes/journey_partition=00000/part.parquet its outcome rows (with --outcomes)
    ...

Partition ``p`` holds every row whose journey id hashes to ``p``: ``key(id) mod n``, with
``key`` the 64-bit FNV-1a key of the id's text (integral floats read as integers, as the
loader reads them; :func:`journey_buckets`), so touches and outcomes of one journey meet
in one partition whatever their id types (``17`` and ``"17"`` hash alike, as the loader
matches them). Every row keeps its origin in two columns (the file, an index into the
manifest's file list, and the row within it), so messages, rejects and per-touch credits
name the input's own files and rows, and touches tied in time keep their input order.

The manifest records the partition count, the id column, each table's label, files,
columns, skipped files, schema and rows per partition. A layout written by
:func:`attribution.dask.partition_journeys` (or kept with ``shuffle_to``) can be read by
later runs without shuffling again; they check every row's partition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from attribution.errors import InputError, Problem
from attribution.io.ids import plain_ids
from attribution.kernels.bootstrap import text_keys

MANIFEST = "_attribution_layout.json"
FORMAT = "attribution journey layout"
VERSION = 1
BUCKET_COLUMN = "__attribution_partition"
PARTITION_KEY = "journey_partition"
TABLES = ("touches", "outcomes")
#: Order key of a row: file index x 2^40 + row (rows per file stay below 2^40).
ROW_BITS = 40


@dataclass(frozen=True)
class TableLayout:
    """One table of a layout: how the input was named and read, and rows per partition."""

    label: str
    files: tuple[str, ...]
    in_memory: bool
    available: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    schema: pa.Schema
    rows: tuple[int, ...]

    @property
    def total_rows(self) -> int:
        return sum(self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "files": list(self.files),
            "in_memory": self.in_memory,
            "available": list(self.available),
            "skipped": [list(s) for s in self.skipped],
            "schema": self.schema.serialize().to_pybytes().hex(),
            "rows": list(self.rows),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableLayout:
        return cls(
            data["label"],
            tuple(data["files"]),
            bool(data["in_memory"]),
            tuple(data["available"]),
            tuple((str(a), str(b)) for a, b in data["skipped"]),
            pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(data["schema"]))),
            tuple(int(r) for r in data["rows"]),
        )


@dataclass(frozen=True)
class Layout:
    """A journey-partitioned layout (see the module docstring).

    ``hashed``: rows are in the partition of their id's hash (else each partition is a
    partition of the caller's data that held whole journeys, which cannot be checked);
    ``trusted``: written by this run (its partitions need no check); a hashed layout read
    from storage is checked row by row in the validation pass.
    """

    root: str
    partitions: int
    id_column: str
    touches: TableLayout
    outcomes: TableLayout | None
    filesystem: Any = None
    trusted: bool = False
    hashed: bool = True

    def path(self, table: str, partition: int) -> str:
        return f"{self.root}/{table}/{PARTITION_KEY}={partition:05d}/part.parquet"

    def manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "partitions": self.partitions,
            "id_column": self.id_column,
            "hashed": self.hashed,
            "touches": self.touches.to_json(),
            "outcomes": None if self.outcomes is None else self.outcomes.to_json(),
        }

    def write_manifest(self) -> None:
        text = json.dumps(self.manifest(), indent=1)
        write_bytes(self.filesystem, f"{self.root}/{MANIFEST}", text.encode())


def open_filesystem(root: str, storage_options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec filesystem of a path or URL, and the path on it."""
    from fsspec.core import url_to_fs

    return url_to_fs(root, **(storage_options or {}))


def find_layout(source: str, storage_options: dict[str, Any] | None = None) -> Layout | None:
    """The layout at ``source`` when it is one (a folder holding the manifest), else None."""
    filesystem, root = open_filesystem(source, storage_options)
    manifest = f"{root.rstrip('/')}/{MANIFEST}"
    if not filesystem.exists(manifest):
        return None
    with filesystem.open(manifest, "rb") as handle:
        try:
            data = json.loads(handle.read().decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(
                Problem(f"the layout manifest cannot be read ({error})", source=manifest)
            ) from None
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise InputError(
            Problem(f"not a journey layout of this version ({FORMAT} {VERSION})", source=manifest)
        )
    outcomes = data.get("outcomes")
    return Layout(
        root=root.rstrip("/"),
        partitions=int(data["partitions"]),
        id_column=str(data["id_column"]),
        touches=TableLayout.from_json(data["touches"]),
        outcomes=None if outcomes is None else TableLayout.from_json(outcomes),
        filesystem=filesystem,
        hashed=bool(data["hashed"]),
    )


def journey_buckets(ids: pa.Array, partitions: int, source: str) -> np.ndarray:
    """The partition of each row's journey id (see the module docstring); rows whose id
    is null or not a whole number (rejected on their own by the loader) go to 0."""
    plain, _ = plain_ids(ids, source)
    text = plain.cast(pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    keys = _text_keys(text)
    buckets = (keys % np.uint64(partitions)).astype(np.int64)
    if text.null_count:
        buckets[np.asarray(text.is_null())] = 0
    return buckets


def _text_keys(text: pa.Array) -> np.ndarray:
    """:func:`~attribution.kernels.bootstrap.text_keys` of a string array (any offset)."""
    if len(text) == 0:
        return np.zeros(0, np.uint64)
    offsets = np.frombuffer(text.buffers()[1], np.int32)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    start = int(offsets[0])
    return text_keys(offsets.astype(np.int64) - start, raw[start:])


def order_keys(file: np.ndarray, row: np.ndarray) -> np.ndarray:
    """The input order of rows from their origin (file index, row within the file)."""
    return (file.astype(np.int64) << ROW_BITS) + row.astype(np.int64)


def write_table(filesystem: Any, path: str, table: pa.Table) -> None:
    """Write a parquet file atomically (a temporary name, then a rename)."""
    temporary = f"{path}.partial"
    filesystem.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with filesystem.open(temporary, "wb") as handle:
        pq.write_table(table, handle)
    filesystem.mv(temporary, path)


def write_bytes(filesystem: Any, path: str, data: bytes) -> None:
    temporary = f"{path}.partial"
    filesystem.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with filesystem.open(temporary, "wb") as handle:
        handle.write(data)
    filesystem.mv(temporary, path)
