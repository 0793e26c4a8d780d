"""Load the aggregated path table other attribution tools use.

Columns: ``path`` (channels joined by a separator, default ``" > "``; or a list of
channel names), ``total_conversions``, ``total_null`` and optionally
``total_conversion_value`` (default: 1 per conversion). Each row becomes up to two
journey records, one converted (weight ``total_conversions``, value
``total_conversion_value``) and one not (weight ``total_null``), so the table is never
expanded row by row. A text path is split on the separator exactly as given, and channel
names are stripped of surrounding spaces. Paths carry no times: a touch's timestamp is
its position, and models that need times or milestones are not available.

Encoding is Arrow-native: the split pieces are hashed once (``dictionary_encode``), so a
table of millions of paths costs one pass over its bytes; only the distinct names are
stripped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.columns import DEFAULT_SEPARATOR, PATH_ROLES, ColumnMap
from attribution.errors import InputError, ParameterError, Problem
from attribution.io import checks
from attribution.io.intake import Intake, Loaded
from attribution.io.parse import NO_TIME, combined, parse_numbers
from attribution.io.sources import Source, read_source
from attribution.io.validation import RowIssues, check_on_invalid, empty_rejects
from attribution.journeys import MISSING_LABEL, NO_TOUCH_LABEL, UNASSIGNED_TEAM, Journeys
from attribution.kernels.segments import codes_used, expand_rows
from attribution.notes import Note


def load_paths(
    paths: Source,
    *,
    columns: ColumnMap | None = None,
    channel_teams: Mapping[str, str] | None = None,
    on_invalid: Literal["fail", "skip"] = "fail",
    separator: str = DEFAULT_SEPARATOR,
) -> Loaded:
    """Read, validate and encode an aggregated path table."""
    check_on_invalid(on_invalid)
    if not separator.strip():
        raise ParameterError("the path separator must contain a non-space character")
    columns = columns or ColumnMap()
    source = read_source(paths, what="paths", columns=[columns.name(r) for r in PATH_ROLES])
    table = source.table
    checks.require_rows(source, "paths")
    checks.require_columns(source, "paths", [columns.name(r) for r in PATH_ROLES[:3]])
    checks.require_renamed(source, "paths", columns, PATH_ROLES)
    checks.refuse_booleans(source, "paths", [columns.name(r) for r in PATH_ROLES[1:]])
    issues = RowIssues(source, "paths")
    piece_codes, piece_names, lengths = _pieces(
        source.label, table[columns.path], separator, columns
    )
    issues.flag(lengths < 0, columns.path, "path is null", show="none")
    lengths = np.maximum(lengths, 0)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    empty_piece = np.array([name == "" for name in piece_names])[piece_codes]
    row_has_empty = np.zeros(len(lengths), bool)
    if empty_piece.any():
        row_has_empty = (
            np.add.reduceat(np.append(empty_piece, False).astype(np.int64), offsets[:-1])
            * (lengths > 0)
            > 0
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
    _check_totals(
        source.label,
        {
            columns.total_conversions: conversions,
            columns.total_null: nulls,
            value_name if value_name in table.column_names else columns.total_conversions: value,
        },
        issues.invalid,
    )
    problems = issues.problems()
    if problems and on_invalid == "fail":
        raise InputError(problems)

    valid = ~issues.invalid
    no_journeys = valid & (conversions == 0) & (nulls == 0)
    journeys, notes = _records(
        valid & ~no_journeys,
        offsets,
        piece_codes,
        piece_names,
        conversions,
        nulls,
        value,
        channel_teams,
    )
    if value_name not in table.column_names:
        notes.append(
            Note("no_value_column", "no total_conversion_value column: each conversion is worth 1")
        )
    return Loaded(
        journeys=journeys,
        rejects=issues.rejects() if issues.invalid.any() else empty_rejects(),
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
            skipped_files=source.skipped,
            notes=tuple(notes),
        ),
    )


def _pieces(
    label: str, path: pa.ChunkedArray, separator: str, columns: ColumnMap
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The channel names of every row, flattened: their codes, the names the codes stand
    for (stripped of surrounding spaces, so two codes may share a name; a null name is
    ``""``), and each row's count of names (-1: null path).

    A list column is taken as the channels themselves; text is split on ``separator``.
    The pieces are hashed as they are (one pass over the bytes, chunk by chunk) and only
    the distinct names are stripped.
    """
    kind = path.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
        path = path.cast(kind)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        if not (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)):
            raise InputError(
                Problem(
                    f"a path stored as a list must hold channel names (text), not {kind}",
                    source=f"paths {label}",
                    column=columns.path,
                )
            )
        lists = path
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        lists = pc.split_pattern(path, separator)
    else:
        raise InputError(
            Problem(
                f"path must be text (channels joined by {separator!r}) or a list of channel "
                f"names, not {kind}",
                source=f"paths {label}",
                column=columns.path,
            )
        )
    lengths = combined(pc.list_value_length(lists)).fill_null(-1).to_numpy(zero_copy_only=False)
    encoded = combined(pc.dictionary_encode(pc.list_flatten(lists)))
    dictionary = encoded.dictionary.cast(pa.string())
    names = [str(n) for n in pc.utf8_trim_whitespace(dictionary).to_pylist()] + [""]
    codes = encoded.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False)
    return codes.astype(np.int64), names, lengths.astype(np.int64)


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


def _check_totals(label: str, counts: dict[str, np.ndarray], invalid: np.ndarray) -> None:
    """Totals that overflow a float are refused before any model sees an ``inf``, naming
    the column whose total (or, for the journeys, conversions plus nulls) overflows.
    ``counts``: each count column by name."""
    valid = ~invalid
    with np.errstate(over="ignore", invalid="ignore"):
        sums = {name: float(np.sum(column[valid])) for name, column in counts.items()}
        journeys = sum(list(sums.values())[:2])
    overflowing = [name for name, total in sums.items() if not np.isfinite(total)]
    if not overflowing and not np.isfinite(journeys):
        overflowing = list(sums)[:2]
    if overflowing:
        raise InputError(
            Problem(
                "the counts or values are too large: their total is not a finite number",
                source=label,
                column=", ".join(dict.fromkeys(overflowing)),
            )
        )


def _records(
    keep: np.ndarray,
    offsets: np.ndarray,
    piece_codes: np.ndarray,
    piece_names: list[str],
    conversions: np.ndarray,
    nulls: np.ndarray,
    value: np.ndarray,
    channel_teams: Mapping[str, str] | None,
) -> tuple[Journeys, list[Note]]:
    """Journey records: per kept row, a converted record and/or a null record."""
    rows = np.flatnonzero(keep)
    has_conversions, has_nulls = conversions[rows] > 0, nulls[rows] > 0
    # In row order; a row's converted record before its null record.
    per_row = has_conversions.astype(np.int64) + has_nulls
    record_row = np.repeat(rows, per_row)
    record_converted = np.zeros(len(record_row), bool)
    record_converted[(np.cumsum(per_row) - per_row)[has_conversions]] = True
    lengths = offsets[record_row + 1] - offsets[record_row]
    if NO_TOUCH_LABEL in piece_names:
        raise InputError(
            Problem(f"the channel name {NO_TOUCH_LABEL!r} is reserved for untouched pipeline")
        )
    # Channels numbered in sorted name order among the names the records use (names
    # equal once stripped share a number).
    used = codes_used(record_row, offsets, piece_codes, len(piece_names))
    channel_names = tuple(sorted({piece_names[i] for i in np.flatnonzero(used)}))
    position = {name: i for i, name in enumerate(channel_names)}
    remap = np.array([position.get(name, -1) for name in piece_names], np.int32)
    channel, within, touch_row = expand_rows(record_row, offsets, piece_codes, remap)
    mapping = dict(channel_teams or {})
    channel_team = [mapping.get(c, UNASSIGNED_TEAM) for c in channel_names]
    team_names = tuple(sorted(set(channel_team)))
    team_of_channel = np.array([team_names.index(t) for t in channel_team] or [0], np.int32)
    team = team_of_channel[channel]
    notes = []
    if channel_teams is not None:
        unmatched = sorted(set(mapping) - set(channel_names))
        if unmatched:
            notes.append(
                Note(
                    "team_map_unused_entries",
                    f"team map entries for channels not in the input: {', '.join(unmatched[:10])}",
                    data={"unmatched": unmatched},
                )
            )
        left_out = [c for c in channel_names if c not in mapping]
        if left_out:
            notes.append(
                Note(
                    "team_map_missing_channels",
                    f"channels the team map leaves out (team '{UNASSIGNED_TEAM}'): "
                    + ", ".join(left_out[:10]),
                    data={"channels": left_out},
                )
            )
    n_records = len(record_row)
    record_offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    no_time = np.full(n_records, NO_TIME, np.int64)
    journeys = Journeys(
        channel=channel,
        team=team,
        campaign=np.zeros(len(channel), np.int32),
        touch_type=np.zeros(len(channel), np.int32),
        timestamp=within,
        row=touch_row,
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
    return journeys, notes


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
