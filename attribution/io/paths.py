"""Load the aggregated path table other attribution tools use.

Columns: ``path`` (channels joined by a separator, default ``" > "``),
``total_conversions``, ``total_null`` and optionally ``total_conversion_value``
(default: 1 per conversion). Each row becomes up to two journey records, one converted
(weight ``total_conversions``, value ``total_conversion_value``) and one not (weight
``total_null``), so the table is never expanded row by row. Channel names are stripped of
surrounding spaces. Paths carry no times: a touch's timestamp is its position, and models
that need times or milestones are not available.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.columns import ColumnMap
from attribution.errors import InputError, Problem
from attribution.io.intake import Intake, Loaded
from attribution.io.parse import NO_TIME, combined, parse_numbers
from attribution.io.sources import Source, read_source
from attribution.io.touches import DEFAULT_SEPARATOR, UNASSIGNED_TEAM, _empty_rejects, _sorted_codes
from attribution.io.validation import RowIssues, check_on_invalid
from attribution.journeys import MISSING_LABEL, Journeys
from attribution.kernels.segments import concatenated_ranges


def load_paths(
    paths: Source,
    *,
    columns: ColumnMap | None = None,
    channel_teams: Mapping[str, str] | None = None,
    on_invalid: str = "fail",
    separator: str = DEFAULT_SEPARATOR,
) -> Loaded:
    """Read, validate and encode an aggregated path table."""
    check_on_invalid(on_invalid)
    if not separator.strip():
        raise ValueError("the path separator must contain a non-space character")
    columns = columns or ColumnMap()
    roles = ("path", "total_conversions", "total_null", "total_conversion_value")
    source = read_source(paths, what="paths", columns=[columns.name(r) for r in roles])
    table = source.table
    if table.num_rows == 0:
        raise InputError(Problem("the paths input has no rows", source=source.label))
    required = [columns.name(r) for r in roles[:3]]
    missing = [n for n in required if n not in table.column_names]
    if missing:
        raise InputError(
            Problem(
                f"paths input is missing required column(s) {', '.join(repr(m) for m in missing)}; "
                f"it has {source.columns_present()}",
                source=source.label,
            )
        )
    issues = RowIssues(source, "paths")
    path = combined(table[columns.path])
    if pa.types.is_dictionary(path.type):
        path = path.cast(path.type.value_type)
    path = path.cast(pa.string())
    issues.flag(
        np.asarray(path.is_null().to_numpy(zero_copy_only=False), bool),
        columns.path,
        "path is null",
        show="none",
    )
    pieces = pc.utf8_trim_whitespace(
        pc.split_pattern(path.fill_null(""), separator.strip()).flatten()
    )
    lengths = pc.list_value_length(pc.split_pattern(path.fill_null(""), separator.strip()))
    lengths = lengths.to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    empty_piece = np.asarray(
        pc.equal(pc.utf8_length(pieces), 0).to_numpy(zero_copy_only=False), bool
    )
    row_has_empty = (
        np.add.reduceat(empty_piece.astype(np.int64), offsets[:-1]) > 0
        if len(empty_piece)
        else np.zeros(0, bool)
    )
    issues.flag(row_has_empty, columns.path, "path has an empty channel name")

    conversions = _count(table, columns.total_conversions, issues)
    nulls = _count(table, columns.total_null, issues)
    value_name = columns.total_conversion_value
    if value_name in table.column_names:
        # A row without conversions has no value to give: an empty cell there means 0.
        value = _count(table, value_name, issues, null_allowed=conversions == 0)
        issues.flag(
            (conversions == 0) & (value > 0),
            value_name,
            f"{value_name} is positive but {columns.total_conversions} is 0 "
            "(the value would be lost)",
        )
    else:
        value = conversions.copy()
    problems = issues.problems()
    if problems and on_invalid == "fail":
        raise InputError(problems)

    valid = ~issues.invalid
    no_journeys = valid & (conversions == 0) & (nulls == 0)
    journeys = _records(
        valid & ~no_journeys, offsets, pieces, conversions, nulls, value, channel_teams
    )
    return Loaded(
        journeys=journeys,
        rejects=issues.rejects() if issues.invalid.any() else _empty_rejects(),
        intake=Intake(
            kind="paths",
            touch_rows=table.num_rows,
            outcome_rows=0,
            rejected_touch_rows=int(issues.invalid.sum()),
            rejected_outcome_rows=0,
            rejected_by_reason=issues.counts(),
            rows_without_journeys=int(no_journeys.sum()),
            files=source.files,
            file_starts=source.file_starts,
            in_memory=source.in_memory,
            notes=()
            if value_name in table.column_names
            else ("no total_conversion_value column: each conversion is worth 1",),
        ),
    )


def _count(
    table: pa.Table, name: str, issues: RowIssues, null_allowed: np.ndarray | None = None
) -> np.ndarray:
    """A count column as floats; null (where not allowed), unparseable or negative cells
    are flagged. Allowed nulls read as 0."""
    parsed = parse_numbers(combined(table[name]))
    null = parsed.null if null_allowed is None else parsed.null & ~null_allowed
    issues.flag(null, name, f"{name} is null", show="none")
    issues.flag(parsed.invalid, name, f"{name} {parsed.problem}")
    issues.flag(parsed.values < 0, name, f"{name} is negative")
    return np.where(parsed.null | parsed.invalid, 0.0, parsed.values)


def _records(
    keep: np.ndarray,
    offsets: np.ndarray,
    pieces: pa.Array,
    conversions: np.ndarray,
    nulls: np.ndarray,
    value: np.ndarray,
    channel_teams: Mapping[str, str] | None,
) -> Journeys:
    """Journey records: per kept row, a converted record and/or a null record."""
    rows = np.flatnonzero(keep)
    record_row = np.concatenate([rows[conversions[rows] > 0], rows[nulls[rows] > 0]])
    record_converted = np.concatenate(
        [np.ones((conversions[rows] > 0).sum(), bool), np.zeros((nulls[rows] > 0).sum(), bool)]
    )
    order = np.lexsort((~record_converted, record_row))
    record_row, record_converted = record_row[order], record_converted[order]
    lengths = offsets[record_row + 1] - offsets[record_row]
    touch_index = concatenated_ranges(offsets[record_row], offsets[record_row + 1])
    within = touch_index - np.repeat(offsets[record_row], lengths)
    names = pieces.to_numpy(zero_copy_only=False)
    channel_labels, channel_codes = (
        np.unique(names[touch_index].astype(str), return_inverse=True)
        if len(touch_index)
        else (np.array([], str), np.zeros(0, np.int64))
    )
    channel, channel_names = _sorted_codes(
        channel_codes.astype(np.int64), [str(c) for c in channel_labels]
    )
    mapping = dict(channel_teams or {})
    team, team_names = _sorted_codes(
        channel.astype(np.int64), [mapping.get(c, UNASSIGNED_TEAM) for c in channel_names]
    )
    n_records = len(record_row)
    record_offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    no_time = np.full(n_records, NO_TIME, np.int64)
    return Journeys(
        channel=channel,
        team=team,
        campaign=np.zeros(len(touch_index), np.int32),
        touch_type=np.zeros(len(touch_index), np.int32),
        timestamp=within,
        row=np.repeat(record_row, lengths).astype(np.int64),
        offsets=record_offsets,
        journey_id=record_row.astype(np.int64),
        converted=record_converted,
        weight=np.where(record_converted, conversions[record_row], nulls[record_row]),
        value=np.where(record_converted, value[record_row], 0.0),
        converted_at=no_time,
        lead_created_at=no_time.copy(),
        opportunity_created_at=no_time.copy(),
        closed_at=no_time.copy(),
        won=np.full(n_records, -1, np.int8),
        channel_names=channel_names,
        team_names=team_names,
        campaign_names=(MISSING_LABEL,),
        touch_type_names=(MISSING_LABEL,),
        has_times=False,
    )


def paths_frame(journeys: Journeys, separator: str = DEFAULT_SEPARATOR) -> pd.DataFrame:
    """The journeys as an aggregated path table (the inverse of :func:`load_paths`)."""
    names = np.asarray(journeys.channel_names, dtype=object)
    texts = [
        separator.join(names[journeys.channel[journeys.offsets[j] : journeys.offsets[j + 1]]])
        for j in range(journeys.n_journeys)
    ]
    frame = pd.DataFrame(
        {
            "path": texts,
            "total_conversions": journeys.conversions,
            "total_null": np.where(journeys.converted, 0.0, journeys.weight),
            "total_conversion_value": np.where(journeys.converted, journeys.value, 0.0),
        }
    )
    frame = frame[frame["path"] != ""]
    return frame.groupby("path", sort=True, as_index=False).sum()
