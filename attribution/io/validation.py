"""Track invalid input rows with their reasons; turn them into errors or a rejects table.

The first reason found for a row is the one reported, so one bad cell is one problem.
In ``fail`` mode all the problems found are raised together, each with a count and
example rows; reasons that only follow from another row's problem (the other rows of a
rejected journey) are not problems of their own. In ``skip`` mode the rows go to the
rejects table with a ``reason`` column, and are counted in the reconciliation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from attribution.errors import ParameterError, Problem
from attribution.io.parse import text_of
from attribution.io.sources import SourceTable

EXAMPLE_ROWS = 5
ON_INVALID = ("fail", "skip")


@dataclass
class RowIssues:
    """Per-row reasons for rejecting rows of one input table.

    Each reason shows examples: the offending values of its column (``show="value"``),
    the journeys concerned (``show="journey"``, needs ``journey_ids``) or none.
    """

    source: SourceTable
    what: str
    journey_ids: pa.Array | None = None
    reason: np.ndarray = field(init=False)
    labels: list[tuple[str | None, str]] = field(default_factory=list)
    shows: list[str] = field(default_factory=list)
    secondary: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reason = np.full(self.source.table.num_rows, -1, dtype=np.int32)

    @property
    def invalid(self) -> np.ndarray:
        return self.reason >= 0

    def flag(
        self,
        mask: np.ndarray,
        column: str | None,
        text: str,
        *,
        show: str = "value",
        secondary: bool = False,
    ) -> None:
        """Mark rows where ``mask`` is true (and not already marked) as invalid.
        ``secondary``: the reason follows from another row's problem (not reported as a
        problem of its own, but given as the row's reason in the rejects)."""
        new = mask & (self.reason < 0)
        if not new.any():
            return
        key = (column, text)
        if key in self.labels:
            index = self.labels.index(key)
        else:
            index = len(self.labels)
            self.labels.append(key)
            self.shows.append(show)
            self.secondary.append(secondary)
        self.reason[new] = index

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        for index, (column, text) in enumerate(self.labels):
            rows = np.flatnonzero(self.reason == index)
            if len(rows) == 0 or self.secondary[index]:
                continue
            first = rows[:EXAMPLE_ROWS]
            examples: tuple[str, ...] = ()
            show = self.shows[index]
            if show == "value" and column is not None and column in self.source.table.column_names:
                values = text_of(_column(self.source.table, column), first)
                examples = tuple(dict.fromkeys(values))
            elif show == "journey" and self.journey_ids is not None:
                journeys = text_of(self.journey_ids, first)
                examples = tuple(f"journey {j}" for j in dict.fromkeys(journeys))
            found.append(
                Problem(
                    reason=text,
                    source=f"{self.what} {self.source.label}",
                    column=column,
                    rows=tuple(self.source.locate(int(r)) for r in first),
                    count=len(rows),
                    examples=examples,
                )
            )
        return found

    def reason_text(self, index: int) -> str:
        column, text = self.labels[index]
        return f"{column}: {text}" if column else text

    def counts(self) -> Counter[str]:
        """Rejected rows per reason, the reason prefixed with the table."""
        used = self.reason[self.reason >= 0]
        tally = np.bincount(used, minlength=len(self.labels))
        return Counter(
            {f"{self.what}: {self.reason_text(i)}": int(c) for i, c in enumerate(tally) if c}
        )

    def rejects(self) -> pd.DataFrame:
        """The rejected rows with their origin and reason, original values as text."""
        rows = np.flatnonzero(self.invalid)
        table = self.source.table.take(pa.array(rows, pa.int64()))
        frame = pd.DataFrame(
            {
                "table": self.what,
                "source_file": self.source.file_of(rows),
                "source_row": self.source.row_in_file(rows),
                "journey_id": _as_text(self.journey_ids.take(pa.array(rows, pa.int64())))
                if self.journey_ids is not None
                else None,
                "reason": [self.reason_text(int(i)) for i in self.reason[rows]],
            }
        )
        for name in table.column_names:
            frame[f"input.{name}"] = _as_text(table[name])
        return frame


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table[name]
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _as_text(values: pa.Array | pa.ChunkedArray) -> list[str | None]:
    return [None if v is None else str(v) for v in values.to_pylist()]


def check_on_invalid(on_invalid: str) -> None:
    if on_invalid not in ON_INVALID:
        raise ParameterError(
            f"on_invalid must be one of {', '.join(ON_INVALID)}, not {on_invalid!r}"
        )


REJECT_COLUMNS = ("table", "source_file", "source_row", "journey_id", "reason")


def empty_rejects() -> pd.DataFrame:
    """The rejects table with no rows (its header only)."""
    return pd.DataFrame({name: pd.Series(dtype=object) for name in REJECT_COLUMNS})
