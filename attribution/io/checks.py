"""Checks of a source's shape before any value is parsed: rows, required and renamed
columns, outcome columns in one table only, column types that cannot hold the role."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from attribution.columns import ColumnMap
from attribution.errors import InputError, Problem
from attribution.io.sources import SourceTable


def require_rows(source: SourceTable, what: str) -> None:
    if source.table.num_rows == 0:
        raise InputError(Problem(f"the {what} input has no rows", source=source.label))


def require_columns(source: SourceTable, what: str, names: Sequence[str]) -> None:
    missing = ", ".join(repr(n) for n in names if n not in source.table.column_names)
    if missing:
        raise InputError(
            Problem(
                f"{what} input is missing required column(s) {missing}; "
                f"it has {source.columns_present()} (map other names to the roles, "
                "e.g. ColumnMap(journey_id='opportunity_id'))",
                source=source.label,
            )
        )


def require_renamed(
    source: SourceTable, what: str, columns: ColumnMap, roles: Sequence[str]
) -> None:
    """A column the user named for a role must exist: a typo must not silently turn into
    'no such column' (e.g. every conversion worth 1)."""
    default = ColumnMap()
    renamed = [r for r in roles if columns.name(r) != default.name(r)]
    missing = [r for r in renamed if columns.name(r) not in source.table.column_names]
    if missing:
        named = ", ".join(f"{columns.name(r)!r} (for {r})" for r in missing)
        raise InputError(
            Problem(
                f"{what} input has no column {named}; it has {source.columns_present()}",
                source=source.label,
            )
        )


def refuse_in_both(touches: SourceTable, outcomes: SourceTable, names: Sequence[str]) -> None:
    """Each outcome column (and journey dimension) comes from one table: the same column
    in both would leave one of them silently unused."""
    both = [
        n for n in names if n in touches.table.column_names and n in outcomes.table.column_names
    ]
    if both:
        raise InputError(
            Problem(
                f"column(s) {', '.join(map(repr, both))} are in both the touches and the "
                f"outcomes ({outcomes.label}): each is read from one table; drop them from "
                "one of the two",
                source=touches.label,
            )
        )


def refuse_booleans(source: SourceTable, what: str, names: Sequence[str]) -> None:
    """Amounts and counts must be numbers: a boolean column (true/false) is refused whole,
    naming the file and the column, since no cell of it means an amount."""
    for name in names:
        if name in source.table.column_names:
            kind = source.table.schema.field(name).type
            if pa.types.is_dictionary(kind):
                kind = kind.value_type
            if pa.types.is_boolean(kind):
                raise InputError(
                    Problem(
                        f"{what} column {name!r} holds true/false values; it must hold "
                        "numbers (amounts or counts)",
                        source=source.label,
                        column=name,
                    )
                )


def refuse_nested(source: SourceTable, what: str, names: Sequence[str]) -> None:
    """Columns of a nested type (lists, structs, maps) cannot hold a label, a number or a
    time: one error naming the file and every such column."""
    nested = [
        f"{name!r} ({source.table.schema.field(name).type})"
        for name in names
        if name in source.table.column_names
        and pa.types.is_nested(source.table.schema.field(name).type)
    ]
    if nested:
        raise InputError(
            Problem(
                f"{what} column(s) {', '.join(nested)} hold nested values (lists, structs or "
                "maps); each cell must be a single value",
                source=source.label,
            )
        )
