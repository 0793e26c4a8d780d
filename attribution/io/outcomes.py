"""Per-journey outcomes, read from the touch table (constant within a journey) or from an
outcomes table (one row per journey), into arrays indexed by journey code.

Each outcome column (and each journey-level dimension) is read from the one table that
has it; :func:`combine` joins what the two tables gave. Nothing here mutates shared state:
every reader returns an :class:`OutcomeColumns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from attribution.columns import ColumnMap
from attribution.errors import InputError, Problem
from attribution.io.parse import (
    NO_TIME,
    OUT_OF_RANGE,
    Labels,
    Parsed,
    combined,
    parse_flags,
    parse_labels,
    parse_numbers,
    parse_times,
)
from attribution.io.validation import RowIssues
from attribution.kernels.segments import constant_per_journey


@dataclass(frozen=True)
class OutcomeColumns:
    """Outcome arrays indexed by journey code, for the roles in ``given``.

    ``converted`` and ``won`` are int8 (1, 0, or -1 where the journey has no value);
    ``value`` is NaN where absent; times are ``NO_TIME`` where absent. ``labels`` holds
    journey-level dimensions: codes per journey (-1 where missing) and their names.
    """

    n_journeys: int
    given: frozenset[str] = frozenset()
    converted: np.ndarray | None = None
    value: np.ndarray | None = None
    won: np.ndarray | None = None
    times: dict[str, np.ndarray] = field(default_factory=dict)
    labels: dict[str, Labels] = field(default_factory=dict)

    def time(self, role: str) -> np.ndarray:
        return self.times.get(role, np.full(self.n_journeys, NO_TIME, np.int64))


def parse_outcome(role: str, array: pa.Array) -> Parsed:
    if role in ("converted", "won"):
        return parse_flags(array)
    if role == "value":
        return parse_numbers(array)
    return parse_times(array)


def flag_parsed(issues: RowIssues, parsed: Parsed, column: str, role: str) -> None:
    """Flag the rows a parser found invalid or (for times) out of range."""
    issues.flag(parsed.invalid, column, f"{role} {parsed.problem}")
    if parsed.out_of_range is not None:
        issues.flag(parsed.out_of_range, column, f"{role} {OUT_OF_RANGE}")


def _stored(result: dict[str, object], role: str, values: np.ndarray, seen: np.ndarray) -> None:
    if role in ("converted", "won"):
        result[role] = np.where(seen, values, -1).astype(np.int8)
    elif role == "value":
        result[role] = np.where(seen, values, np.nan)
    else:
        result.setdefault("times", {})
        times = result["times"]
        assert isinstance(times, dict)
        times[role] = np.where(seen, values, NO_TIME).astype(np.int64)


def _build(
    n_journeys: int, given: set[str], parts: dict[str, object], labels: dict[str, Labels]
) -> OutcomeColumns:
    times = parts.pop("times", {})
    assert isinstance(times, dict)
    return OutcomeColumns(
        n_journeys=n_journeys,
        given=frozenset(given),
        converted=parts.get("converted"),  # type: ignore[arg-type]
        value=parts.get("value"),  # type: ignore[arg-type]
        won=parts.get("won"),  # type: ignore[arg-type]
        times=times,
        labels=labels,
    )


def _columns_of(
    columns: ColumnMap, roles: Sequence[str], milestones: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(key, column, parser) of each outcome role, then of each further milestone (a
    time column named as such, kept under its own name)."""
    return [(r, columns.name(r), r) for r in roles] + [(m, m, "converted_at") for m in milestones]


def from_touches(
    table: pa.Table,
    columns: ColumnMap,
    roles: Sequence[str],
    dimensions: Sequence[str],
    issues: RowIssues,
    journey_code: np.ndarray,
    n_journeys: int,
    milestones: Sequence[str] = (),
) -> OutcomeColumns:
    """Outcome columns (and journey-level dimensions) of the touch table: non-null values
    must agree within a journey; a conflict flags every row of the journey."""
    usable = journey_code >= 0
    parts: dict[str, object] = {}
    given: set[str] = set()

    def constant(
        values: np.ndarray, present: np.ndarray, name: str, what: str
    ) -> tuple[np.ndarray, np.ndarray]:
        out, seen, conflict = constant_per_journey(journey_code, values, present, n_journeys)
        if conflict.any():
            issues.flag(
                usable & conflict[np.maximum(journey_code, 0)],
                name,
                f"{what} differs between rows of the same journey",
                show="journey",
            )
        return out, seen

    for role, name, parser in _columns_of(columns, roles, milestones):
        if name not in table.column_names:
            continue
        parsed = parse_outcome(parser, combined(table[name]))
        flag_parsed(issues, parsed, name, role)
        present = usable & ~parsed.null & ~issues.invalid
        values, seen = constant(parsed.values, present, name, role)
        _stored(parts, role, values, seen)
        given.add(role)
    labels: dict[str, Labels] = {}
    for name in dimensions:
        parsed_labels = parse_labels(combined(table[name]))
        present = usable & (parsed_labels.codes >= 0) & ~issues.invalid
        values, seen = constant(parsed_labels.codes, present, name, name)
        labels[name] = Labels(np.where(seen, values, -1), parsed_labels.names)
    return _build(n_journeys, given, parts, labels)


def from_table(
    table: pa.Table,
    columns: ColumnMap,
    roles: Sequence[str],
    dimensions: Sequence[str],
    issues: RowIssues,
    code: np.ndarray,
    n_journeys: int,
    milestones: Sequence[str] = (),
) -> OutcomeColumns:
    """Outcome rows keyed by journey (``code``: each row's journey, -1 if none)."""
    parts: dict[str, object] = {}
    given: set[str] = set()
    usable = code >= 0
    for role, name, parser in _columns_of(columns, roles, milestones):
        if name not in table.column_names:
            continue
        parsed = parse_outcome(parser, combined(table[name]))
        flag_parsed(issues, parsed, name, role)
        present = usable & ~parsed.null & ~issues.invalid
        values = np.zeros(n_journeys, parsed.values.dtype)
        seen = np.zeros(n_journeys, bool)
        values[code[present]] = parsed.values[present]
        seen[code[present]] = True
        _stored(parts, role, values, seen)
        given.add(role)
    labels: dict[str, Labels] = {}
    for name in dimensions:
        parsed_labels = parse_labels(combined(table[name]))
        per_journey = np.full(n_journeys, -1, np.int64)
        rows = usable & ~issues.invalid
        per_journey[code[rows]] = parsed_labels.codes[rows]
        labels[name] = Labels(per_journey, parsed_labels.names)
    return _build(n_journeys, given, parts, labels)


def combine(first: OutcomeColumns, second: OutcomeColumns) -> OutcomeColumns:
    """The outcomes of two tables together (each role comes from one of them)."""

    def pick(role: str) -> np.ndarray | None:
        return getattr(second, role) if role in second.given else getattr(first, role)

    return OutcomeColumns(
        n_journeys=first.n_journeys,
        given=first.given | second.given,
        converted=pick("converted"),
        value=pick("value"),
        won=pick("won"),
        times={**first.times, **second.times},
        labels={**first.labels, **second.labels},
    )


def converted_flags(outcomes: OutcomeColumns, columns: ColumnMap, source_label: str) -> np.ndarray:
    """Which journeys converted: the ``converted`` flag, and where it is absent or null,
    whether ``converted_at`` is set."""
    if "converted" not in outcomes.given and "converted_at" not in outcomes.given:
        raise InputError(
            Problem(
                f"no {columns.converted!r} column and no {columns.converted_at!r} column to "
                "derive it from: say which journeys converted (map another column to the "
                "'converted' role)",
                source=source_label,
            )
        )
    from_time = outcomes.time("converted_at") != NO_TIME
    if outcomes.converted is None:
        return from_time
    return np.where(outcomes.converted >= 0, outcomes.converted == 1, from_time)


def check_values(
    outcomes: OutcomeColumns,
    converted: np.ndarray,
    column: str,
    issues: RowIssues,
    code: np.ndarray,
) -> None:
    """Values must be >= 0, and present for converted journeys when a value column
    exists; ``issues`` and ``code`` are those of the table holding the value column."""
    if outcomes.value is None:
        return
    value = outcomes.value
    has_value = ~np.isnan(value)
    usable = code >= 0
    at = np.maximum(code, 0)
    issues.flag(usable & (has_value & (value < 0))[at], column, "value is negative", show="journey")
    issues.flag(
        usable & (converted & ~has_value)[at],
        column,
        "value is missing for a converted journey",
        show="journey",
    )
