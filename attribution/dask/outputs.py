"""Per-row outputs of a distributed run (per-touch credits, rejected rows) as datasets.

Each partition writes its own file (``part.00007.parquet``), on the worker that computed
it, into a staging folder beside the target; nothing of it goes to the client. When the
run succeeds the staging folder replaces the target, with a marker file
(``_attribution_dataset.json``, skipped by parquet readers) naming what wrote it; a run
that fails leaves the target as it was. A target that exists and was not written by this
engine (not empty, no marker) is refused before the run, never overwritten. Every part
has the same columns and types, so the folder reads as one table
(``pd.read_parquet(folder)``). A recomputed partition (a lost worker) rewrites the same
file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from attribution.dask.layout import open_filesystem, write_table
from attribution.errors import ParameterError

MARKER = "_attribution_dataset.json"


@dataclass(frozen=True)
class DatasetOutput:
    """A dataset a run writes (see the module docstring); ``what`` names it in messages."""

    target: str
    staging: str
    what: str
    filesystem: Any

    @classmethod
    def at(
        cls, target: str | os.PathLike[str], what: str, storage_options: dict[str, Any] | None
    ) -> DatasetOutput:
        filesystem, path = open_filesystem(os.fspath(target), storage_options)
        path = path.rstrip("/")
        output = cls(path, f"{path}.partial-{uuid.uuid4().hex[:12]}", what, filesystem)
        output.check()
        return output

    def check(self) -> None:
        """Refuse a target that is a file, or a folder this engine did not write."""
        fs = self.filesystem
        if not fs.exists(self.target):
            return
        if not fs.isdir(self.target):
            raise ParameterError(
                f"{self.what} {self.target} is a file: the Dask engine writes a dataset "
                "(a folder of parquet files) there; give a folder path"
            )
        if fs.ls(self.target) and not fs.exists(f"{self.target}/{MARKER}"):
            raise ParameterError(
                f"{self.what} {self.target} is a folder this engine did not write (it has no "
                f"{MARKER}); choose a new path or empty it, so that nothing is overwritten"
            )

    def part(self, index: int, table: pa.Table) -> None:
        write_table(self.filesystem, f"{self.staging}/part.{index:05d}.parquet", table)

    def commit(self, parts: int) -> None:
        """Replace the target with the staging folder."""
        fs = self.filesystem
        fs.makedirs(self.staging, exist_ok=True)
        marker = json.dumps({"written_by": "attribution (Dask engine)", "parts": parts})
        with fs.open(f"{self.staging}/{MARKER}", "wb") as handle:
            handle.write(marker.encode())
        if fs.exists(self.target):
            fs.rm(self.target, recursive=True)
        fs.mv(self.staging, self.target, recursive=True)

    def discard(self) -> None:
        if self.filesystem.exists(self.staging):
            self.filesystem.rm(self.staging, recursive=True)

    def parts(self) -> int:
        fs = self.filesystem
        if not fs.exists(self.staging):
            return 0
        return sum(1 for f in fs.ls(self.staging) if str(f).endswith(".parquet"))


def as_table(
    frame: pd.DataFrame, text: Sequence[str] = (), integers: Sequence[str] = ()
) -> pa.Table:
    """A frame as an Arrow table with ``text`` columns (and columns of no value at all)
    as strings and ``integers`` as int64, so that every part of a dataset has one schema
    (a partition with no rows, or only nulls, gives the same types)."""
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    for i, f in enumerate(table.schema):
        if f.name in integers:
            table = table.set_column(i, f.name, table.column(i).cast(pa.int64()))
        elif f.name in text or pa.types.is_null(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
    return table.replace_schema_metadata(None)
