"""Read and check the four CRM exports: typed columns, and every bad row reported.

Each table is read with :func:`attribution.io.sources.read_source` and parsed with the
parsers of :mod:`attribution.io.parse`, and problems are collected per table with
:class:`attribution.io.validation.RowIssues`, so messages look like the engine's: the
table and file, the column, the number of rows, example rows and values. Every problem
of every table is raised at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from attribution.crm.columns import REQUIRED, CrmColumns
from attribution.errors import InputError, Problem
from attribution.io.parse import (
    NO_TIME,
    OUT_OF_RANGE,
    Labels,
    Parsed,
    combined,
    null_mask,
    parse_flags,
    parse_labels,
    parse_numbers,
    parse_times,
)
from attribution.io.sources import Source, SourceTable, read_source
from attribution.io.validation import RowIssues

#: Text fields of a touch: the label columns written out and the raw fields rules read.
TOUCH_LABELS: tuple[str, ...] = (
    "channel",
    "team",
    "campaign",
    "touch_type",
    "source",
    "medium",
    "referrer",
)


@dataclass(frozen=True)
class Table:
    """One input table as read, with its problems being collected."""

    name: str
    source: SourceTable
    issues: RowIssues
    names: object  # the table's *Columns dataclass

    def has(self, role: str) -> bool:
        return self.column_name(role) in self.source.table.column_names

    def column_name(self, role: str) -> str:
        return str(getattr(self.names, role))

    def column(self, role: str) -> pa.Array:
        return combined(self.source.table[self.column_name(role)])

    @property
    def rows(self) -> int:
        return int(self.source.table.num_rows)

    def times(self, role: str, *, required: bool) -> np.ndarray:
        """A time column as int64 ns UTC (``NO_TIME`` where null); bad rows flagged."""
        if not self.has(role):
            return np.full(self.rows, NO_TIME, np.int64)
        parsed = parse_times(self.column(role))
        if required:
            self.issues.flag(parsed.null, self.column_name(role), f"{role} is null", show="none")
        self._flag(parsed, role)
        return parsed.values

    def numbers(self, role: str) -> Parsed | None:
        if not self.has(role):
            return None
        parsed = parse_numbers(self.column(role))
        self._flag(parsed, role)
        return parsed

    def flags(self, role: str) -> np.ndarray | None:
        """A boolean column as int8 (1, 0, -1 null); bad rows flagged."""
        if not self.has(role):
            return None
        parsed = parse_flags(self.column(role))
        self._flag(parsed, role)
        return parsed.values

    def labels(self, role: str) -> Labels | None:
        if not self.has(role):
            return None
        name = self.column_name(role)
        try:
            return parse_labels(self.column(role))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise InputError(
                Problem(
                    f"{role} must hold text, not {self.source.table.schema.field(name).type} "
                    f"({error})",
                    source=f"{self.name} {self.source.label}",
                    column=name,
                )
            ) from None

    def require_values(self, role: str, reason: str) -> None:
        """Flag rows where the column ``role`` is null."""
        self.issues.flag(null_mask(self.column(role)), self.column_name(role), reason, show="none")

    def flag_duplicates(self, role: str, codes: np.ndarray, reason: str) -> None:
        """Flag every row whose id (``codes``: one per row, -1 for null) occurs twice."""
        valid = codes >= 0
        if not valid.any():
            return
        counts = np.bincount(codes[valid])
        self.issues.flag(valid & (counts[np.maximum(codes, 0)] > 1), self.column_name(role), reason)

    def _flag(self, parsed: Parsed, role: str) -> None:
        name = self.column_name(role)
        self.issues.flag(parsed.invalid, name, f"{role} {parsed.problem}")
        if parsed.out_of_range is not None:
            self.issues.flag(parsed.out_of_range, name, f"{role} {OUT_OF_RANGE}")


def read_table(
    source: Source, name: str, columns: CrmColumns, *, dictionary: tuple[str, ...] = ()
) -> Table:
    """Read one table, checking that its required columns and every renamed column exist.

    The touches are read with only the columns of their roles (and text columns as
    dictionaries, which keeps ten million rows of repeated ids small); the other tables
    whole, since every other opportunity column is carried to the outcomes.
    """
    names = columns.table(name)
    wanted = [getattr(names, role) for role in columns.roles(name)]
    read = read_source(
        source,
        what=name.replace("_", " "),
        columns=wanted if name == "touches" else None,
        dictionary_columns=[getattr(names, role) for role in dictionary],
    )
    present = read.table.column_names
    label = f"{name.replace('_', ' ')} {read.label}"
    missing = [getattr(names, r) for r in REQUIRED[name] if getattr(names, r) not in present]
    if missing:
        raise InputError(
            Problem(
                f"missing required column(s) {', '.join(map(repr, missing))}; it has "
                f"{read.columns_present()} (map other names to the roles with CrmColumns, or "
                "columns= in Python)",
                source=label,
            )
        )
    absent = [r for r in columns.renamed(name) if getattr(names, r) not in present]
    if absent:
        named = ", ".join(f"{getattr(names, r)!r} (for {name}.{r})" for r in absent)
        raise InputError(
            Problem(f"no column {named}; it has {read.columns_present()}", source=label)
        )
    return Table(name, read, RowIssues(read, name.replace("_", " ")), names)


def raise_problems(tables: list[Table]) -> None:
    """Raise every problem found in any table, or return when there is none."""
    problems: list[Problem] = []
    for table in tables:
        problems += table.issues.problems()
    if problems:
        raise InputError(problems)
