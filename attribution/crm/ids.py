"""One integer code per identifier, shared by the tables that refer to it.

A person appears in the touches, the contacts and the contact roles; an account in the
touches, the contacts and the opportunities. Each table's id column is coded against one
shared dictionary, so the joins are on integers. Ids of one kind must compare equal
across tables: integers (and floats holding whole numbers, as pandas writes an integer
column with nulls) are compared as integers when every table has them; otherwise every
table's ids are compared as text (``17`` and ``"17"`` are the same id). A column with
only nulls has no ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribution.errors import InputError, Problem
from attribution.io.parse import combined


@dataclass(frozen=True)
class IdColumn:
    """An id column of one table, with where it came from (for messages)."""

    values: pa.Array | pa.ChunkedArray
    source: str
    column: str


@dataclass(frozen=True)
class Coded:
    """Per-row codes (-1 where null) of each column, into ``ids`` (the distinct ids)."""

    codes: tuple[np.ndarray, ...]
    ids: pa.Array

    @property
    def n(self) -> int:
        return len(self.ids)

    def text(self) -> pa.Array:
        """The distinct ids as text (how they are written to the outputs)."""
        return self.ids if pa.types.is_string(self.ids.type) else self.ids.cast(pa.string())


def code_ids(columns: Sequence[IdColumn]) -> Coded:
    """Code the id columns of several tables against one dictionary of distinct ids,
    numbered in order of first appearance (the first column's ids first): one hash pass
    over all the columns."""
    arrays = [_plain(_decoded(column.values), column) for column in columns]
    as_integers = all(
        pa.types.is_integer(array.type) or pa.types.is_null(array.type) for array in arrays
    )
    target = pa.int64() if as_integers else pa.string()
    encoded = pc.dictionary_encode(pa.chunked_array([a.cast(target) for a in arrays], target))
    # Empty columns leave no chunk behind, so split the codes by the columns' lengths.
    pooled = np.concatenate(
        [np.zeros(0, np.int64)]
        + [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in encoded.chunks]
    ).astype(np.int64, copy=False)
    ends = np.cumsum([len(a) for a in arrays])
    codes = tuple(np.split(pooled, ends[:-1]))
    ids = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], target)
    return Coded(codes, ids)


def _decoded(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    array = combined(values)
    if pa.types.is_dictionary(array.type):
        return array.dictionary.take(array.indices)
    return array


def _plain(values: pa.Array, column: IdColumn) -> pa.Array:
    """Ids as integers or text; whole-number floats as integers."""
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_null(kind):
        return values
    if pa.types.is_large_string(kind):
        return values.cast(pa.string())
    if pa.types.is_floating(kind):
        values = pc.if_else(pc.is_nan(values), pa.scalar(None, kind), values)
        numbers = values.to_numpy(zero_copy_only=False)
        finite = numbers[~np.isnan(numbers)]
        if np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2.0**53):
            return values.cast(pa.int64(), safe=False)
        return values.cast(pa.string())
    raise InputError(
        Problem(
            f"ids must be text or integers, not {kind}", source=column.source, column=column.column
        )
    )
