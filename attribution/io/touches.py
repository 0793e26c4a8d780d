"""Load a touch table (and outcomes) into the encoded :class:`Journeys` substrate.

Outcomes come either as columns of the touch table, constant within a journey (nulls
are ignored; two different non-null values are a conflict), or as a separate table with
one row per ``journey_id``. Journeys with touches but no outcome row did not convert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.columns import (
    OPTIONAL_TOUCH_ROLES,
    OUTCOME_ROLES,
    OUTCOME_TIME_ROLES,
    REQUIRED_TOUCH_ROLES,
    ColumnMap,
)
from attribution.errors import InputError, Problem
from attribution.io.intake import Intake, Loaded
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
from attribution.io.validation import RowIssues, check_on_invalid
from attribution.journeys import MISSING_LABEL, Journeys
from attribution.kernels.segments import (
    constant_per_journey,
    increasing_runs,
    is_sorted,
    recode,
    sort_order,
)

UNASSIGNED_TEAM = "unassigned"
LABEL_ROLES = ("channel", "team", "campaign", "touch_type")
DEFAULT_SEPARATOR = " > "


class _Outcomes:
    """Per-journey outcome arrays being assembled (indexed by touch journey code)."""

    def __init__(self, n_journeys: int) -> None:
        self.converted = np.zeros(n_journeys, np.int8)
        self.has_converted = np.zeros(n_journeys, bool)
        self.value = np.ones(n_journeys, np.float64)
        self.has_value = np.zeros(n_journeys, bool)
        self.times = {role: np.full(n_journeys, NO_TIME, np.int64) for role in OUTCOME_TIME_ROLES}
        self.won = np.full(n_journeys, -1, np.int8)
        self.value_given = False
        self.converted_given = False
        self.converted_at_given = False
        self.without_outcome = 0


def load_touches(
    touches: Source,
    outcomes: Source | None = None,
    *,
    columns: ColumnMap | None = None,
    channel_teams: Mapping[str, str] | None = None,
    on_invalid: str = "fail",
    separator: str = DEFAULT_SEPARATOR,
) -> Loaded:
    """Read, validate and encode touches and outcomes.

    ``on_invalid="fail"`` raises :class:`InputError` describing every problem found;
    ``"skip"`` rejects every row of a journey with an invalid touch or outcome row (so no
    journey is credited on partial data) and returns the rows in ``Loaded.rejects`` with
    a reason; rows whose journey id is null are rejected on their own.
    """
    check_on_invalid(on_invalid)
    columns = columns or ColumnMap()
    touch_roles = REQUIRED_TOUCH_ROLES + OPTIONAL_TOUCH_ROLES
    roles = touch_roles + OUTCOME_ROLES
    source = read_source(
        touches,
        what="touches",
        columns=[columns.name(r) for r in roles],
        dictionary_columns=[columns.name(r) for r in LABEL_ROLES],
    )
    table = source.table
    _require_rows(source, "touches")
    _require_columns(source, "touches", [columns.name(r) for r in REQUIRED_TOUCH_ROLES])
    _require_renamed(source, "touches", columns, touch_roles if outcomes is not None else roles)

    outcome_source: SourceTable | None = None
    outcome_ids: pa.Array | None = None
    if outcomes is not None:
        outcome_roles = ("journey_id", *OUTCOME_ROLES)
        outcome_source = read_source(
            outcomes, what="outcomes", columns=[columns.name(r) for r in outcome_roles]
        )
        _require_rows(outcome_source, "outcomes")
        _require_columns(outcome_source, "outcomes", [columns.journey_id])
        on_touches = set(table.column_names)
        _require_renamed(
            outcome_source,
            "outcomes",
            columns,
            [r for r in OUTCOME_ROLES if columns.name(r) not in on_touches],
        )
        _refuse_outcomes_in_both(source, outcome_source, columns)
        outcome_ids = combined(outcome_source.table[columns.journey_id])
    ids, outcome_ids = _common_id_type(combined(table[columns.journey_id]), outcome_ids)

    issues = RowIssues(source, "touches", journey_ids=ids)
    issues.flag(null_mask(ids), columns.journey_id, "journey_id is null", show="none")
    times = parse_times(combined(table[columns.timestamp]))
    issues.flag(times.null, columns.timestamp, "timestamp is null", show="none")
    _flag_parsed(issues, times, columns.timestamp, "timestamp")
    labels = _labels(table, columns, issues, separator)
    cost = _cost(table, columns, issues)

    journey_code, unique_ids = _factorize(ids)
    n_journeys = len(unique_ids)
    outcome_issues: RowIssues | None = None
    outcome_code: np.ndarray | None = None
    if outcome_source is None:
        result = _Outcomes(n_journeys)
    else:
        assert outcome_ids is not None
        outcome_issues = RowIssues(outcome_source, "outcomes", journey_ids=outcome_ids)
        outcome_code, result = _outcomes_from_table(
            outcome_source, outcome_ids, columns, unique_ids, outcome_issues
        )
    # Outcome columns on the touches (all of them, or those the outcomes table lacks).
    _outcomes_from_touches(table, columns, issues, journey_code, result)
    _derive_converted(result, columns, source_label=(outcome_source or source).label)
    value_on_touches = outcome_issues is None or columns.value in table.column_names
    _check_values(
        result,
        columns.value,
        (issues, journey_code) if value_on_touches else (outcome_issues, outcome_code),
    )
    bad_journey = _reject_whole_journeys(
        issues, journey_code, n_journeys, outcome_issues, outcome_code
    )

    problems = issues.problems() + (outcome_issues.problems() if outcome_issues else [])
    if problems and on_invalid == "fail":
        raise InputError(problems)

    journeys = _encode(
        ~issues.invalid, journey_code, unique_ids, times.values, labels, cost, result, channel_teams
    )
    _check_total_value(journeys, source.label)
    rejects = [t.rejects() for t in (issues, outcome_issues) if t is not None and t.invalid.any()]
    rejected_converted = bad_journey & (result.converted == 1) & result.has_value
    notes = []
    if result.converted_at_given and not result.converted_given:
        notes.append("converted derived from converted_at (a journey converted when it is set)")
    if not result.value_given:
        notes.append("no value column: each conversion is worth 1")
    return Loaded(
        journeys=journeys,
        rejects=pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects(),
        intake=Intake(
            kind="touches",
            touch_rows=table.num_rows,
            outcome_rows=0 if outcome_source is None else outcome_source.table.num_rows,
            rejected_touch_rows=int(issues.invalid.sum()),
            rejected_outcome_rows=0
            if outcome_issues is None
            else int(outcome_issues.invalid.sum()),
            rejected_by_reason=issues.counts()
            + (outcome_issues.counts() if outcome_issues else Counter()),
            rejected_journeys=int(bad_journey.sum()),
            rejected_value=float(result.value[rejected_converted].sum()),
            journeys_without_outcome=result.without_outcome,
            files=source.files,
            file_starts=source.file_starts,
            in_memory=source.in_memory,
            notes=tuple(notes),
        ),
    )


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(columns=["table", "source_file", "source_row", "journey_id", "reason"])


def _require_rows(source: SourceTable, what: str) -> None:
    if source.table.num_rows == 0:
        raise InputError(Problem(f"the {what} input has no rows", source=source.label))


def _require_columns(source: SourceTable, what: str, names: list[str]) -> None:
    missing = ", ".join(repr(n) for n in names if n not in source.table.column_names)
    if missing:
        raise InputError(
            Problem(
                f"{what} input is missing required column(s) {missing}; "
                f"it has {source.columns_present()} "
                "(map other names with --column ROLE=NAME)",
                source=source.label,
            )
        )


def _require_renamed(
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


def _refuse_outcomes_in_both(
    touches: SourceTable, outcomes: SourceTable, columns: ColumnMap
) -> None:
    """Each outcome column comes from one table: the same column in both would leave one
    of them silently unused."""
    names = [columns.name(r) for r in OUTCOME_ROLES]
    both = [
        n for n in names if n in touches.table.column_names and n in outcomes.table.column_names
    ]
    if both:
        raise InputError(
            Problem(
                f"outcome column(s) {', '.join(map(repr, both))} are in both the touches and "
                f"the outcomes ({outcomes.label}): each outcome is read from one table; drop "
                "them from one of the two",
                source=touches.label,
            )
        )


def _flag_parsed(issues: RowIssues, parsed: Parsed, column: str, role: str) -> None:
    """Flag the rows a parser found invalid or (for times) out of range."""
    issues.flag(parsed.invalid, column, f"{role} {parsed.problem}")
    if parsed.out_of_range is not None:
        issues.flag(parsed.out_of_range, column, f"{role} {OUT_OF_RANGE}")


def _labels(
    table: pa.Table, columns: ColumnMap, issues: RowIssues, separator: str
) -> dict[str, Labels | None]:
    labels: dict[str, Labels | None] = {}
    for role in LABEL_ROLES:
        name = columns.name(role)
        if name not in table.column_names:
            labels[role] = None
            continue
        try:
            labels[role] = parse_labels(combined(table[name]))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise InputError(
                Problem(
                    f"{role} must hold text, not {table.schema.field(name).type} ({error})",
                    source=f"touches {issues.source.label}",
                    column=name,
                )
            ) from None
    channel = labels["channel"]
    assert channel is not None
    issues.flag(channel.codes < 0, columns.channel, "channel is null", show="none")
    names = np.asarray(channel.names, dtype=object)
    blank = np.array([not str(n).strip() for n in names], bool)
    issues.flag(_rows_with(channel.codes, blank), columns.channel, "channel is empty")
    if separator:
        mark = separator.strip() or separator
        with_separator = np.array([mark in str(n) for n in names], bool)
        issues.flag(
            _rows_with(channel.codes, with_separator),
            columns.channel,
            f"channel name contains the path separator {separator!r}",
        )
    return labels


def _rows_with(codes: np.ndarray, bad_code: np.ndarray) -> np.ndarray:
    if not bad_code.any():
        return np.zeros(len(codes), bool)
    return (codes >= 0) & bad_code[np.maximum(codes, 0)]


def _cost(table: pa.Table, columns: ColumnMap, issues: RowIssues) -> np.ndarray | None:
    if columns.cost not in table.column_names:
        return None
    cost = parse_numbers(combined(table[columns.cost]))
    _flag_parsed(issues, cost, columns.cost, "cost")
    issues.flag(cost.values < 0, columns.cost, "cost is negative")
    return np.where(cost.null, 0.0, cost.values)


def _common_id_type(
    ids: pa.Array, outcome_ids: pa.Array | None
) -> tuple[pa.Array, pa.Array | None]:
    """Touch and outcome journey ids of one type (text when the two tables disagree)."""
    ids = _plain_ids(ids)
    if outcome_ids is None:
        return ids, None
    outcome_ids = _plain_ids(outcome_ids)
    if ids.type != outcome_ids.type:
        if pa.types.is_integer(ids.type) and pa.types.is_integer(outcome_ids.type):
            return ids.cast(pa.int64()), outcome_ids.cast(pa.int64())
        return ids.cast(pa.string()), outcome_ids.cast(pa.string())
    return ids, outcome_ids


def _plain_ids(ids: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(ids.type.value_type)
    kind = ids.type
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        raise InputError(Problem(f"journey_id must be text or an integer, not {kind}"))
    return ids


def _factorize(ids: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Journey codes in order of first appearance (-1 for null ids) and the unique ids.

    Integer ids already grouped in increasing runs (the usual export order) are coded in
    one pass; anything else is hashed.
    """
    if pa.types.is_integer(ids.type) and ids.null_count == 0:
        ok, codes, firsts = increasing_runs(ids.to_numpy().astype(np.int64, copy=False))
        if ok:
            return codes, pa.array(firsts, ids.type)
    encoded = pc.dictionary_encode(ids)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary


def _outcomes_from_touches(
    table: pa.Table,
    columns: ColumnMap,
    issues: RowIssues,
    journey_code: np.ndarray,
    result: _Outcomes,
) -> None:
    """Outcome columns of the touch table, into ``result``: non-null values must agree
    within a journey."""
    n_journeys = len(result.converted)
    usable = journey_code >= 0
    for role in OUTCOME_ROLES:
        name = columns.name(role)
        if name not in table.column_names:
            continue
        parsed = _parse_outcome(role, combined(table[name]))
        _flag_parsed(issues, parsed, name, role)
        present = usable & ~parsed.null & ~issues.invalid
        values, seen, conflict = constant_per_journey(
            journey_code, parsed.values, present, n_journeys
        )
        if conflict.any():
            conflict_rows = usable & conflict[np.maximum(journey_code, 0)]
            issues.flag(
                conflict_rows,
                name,
                f"{role} differs between rows of the same journey",
                show="journey",
            )
        _store(result, role, values, seen)


def _parse_outcome(role: str, array: pa.Array) -> Parsed:
    if role in ("converted", "won"):
        return parse_flags(array)
    if role == "value":
        return parse_numbers(array)
    return parse_times(array)


def _store(result: _Outcomes, role: str, values: np.ndarray, seen: np.ndarray) -> None:
    if role == "converted":
        result.converted = np.where(seen, values, 0).astype(np.int8)
        result.has_converted = seen
        result.converted_given = True
    elif role == "value":
        result.value = np.where(seen, values, np.nan)
        result.has_value = seen
        result.value_given = True
    elif role == "won":
        result.won = np.where(seen, values, -1).astype(np.int8)
    else:
        result.times[role] = np.where(seen, values, NO_TIME).astype(np.int64)
        result.converted_at_given |= role == "converted_at"


def _derive_converted(result: _Outcomes, columns: ColumnMap, source_label: str) -> None:
    """Where ``converted`` is absent or null, a journey converted when ``converted_at`` is set."""
    if not result.converted_given and not result.converted_at_given:
        raise InputError(
            Problem(
                f"no {columns.converted!r} column and no {columns.converted_at!r} column to derive "
                "it from: say which journeys converted (map another column with "
                "--column converted=NAME)",
                source=source_label,
            )
        )
    from_time = (result.times["converted_at"] != NO_TIME).astype(np.int8)
    result.converted = np.where(result.has_converted, result.converted, from_time).astype(np.int8)


def _outcomes_from_table(
    source: SourceTable,
    outcome_ids: pa.Array,
    columns: ColumnMap,
    unique_ids: pa.Array,
    issues: RowIssues,
) -> tuple[np.ndarray, _Outcomes]:
    """Outcome rows keyed by journey id: their journey code (-1 if none) and the outcomes."""
    table = source.table
    issues.flag(null_mask(outcome_ids), columns.journey_id, "journey_id is null", show="none")
    code = _lookup(outcome_ids, unique_ids)
    duplicated = _duplicated(outcome_ids)
    issues.flag(duplicated, columns.journey_id, "journey has more than one outcome row")
    issues.flag(
        (code < 0) & ~null_mask(outcome_ids),
        columns.journey_id,
        "outcome row has no touches (journey_id not in the touch table)",
    )
    n_journeys = len(unique_ids)
    result = _Outcomes(n_journeys)
    for role in OUTCOME_ROLES:
        name = columns.name(role)
        if name not in table.column_names:
            continue
        parsed = _parse_outcome(role, combined(table[name]))
        _flag_parsed(issues, parsed, name, role)
        present = (code >= 0) & ~parsed.null & ~issues.invalid
        values = np.zeros(n_journeys, parsed.values.dtype)
        seen = np.zeros(n_journeys, bool)
        values[code[present]] = parsed.values[present]
        seen[code[present]] = True
        _store(result, role, values, seen)
    found = np.zeros(n_journeys, bool)
    found[code[code >= 0]] = True
    result.without_outcome = int((~found).sum())
    return code, result


def _check_values(
    result: _Outcomes,
    column: str,
    rows: tuple[RowIssues | None, np.ndarray | None],
) -> None:
    """Values must be >= 0, and present for converted journeys when a value column exists;
    ``rows``: the issues and journey codes of the table holding the value column."""
    table, code = rows
    assert table is not None and code is not None
    negative = result.has_value & (result.value < 0)
    missing = (result.converted == 1) & ~result.has_value if result.value_given else None
    usable = code >= 0
    at = np.maximum(code, 0)
    table.flag(usable & negative[at], column, "value is negative", show="journey")
    if missing is not None:
        table.flag(
            usable & missing[at],
            column,
            "value is missing for a converted journey",
            show="journey",
        )


def _reject_whole_journeys(
    issues: RowIssues,
    journey_code: np.ndarray,
    n_journeys: int,
    outcome_issues: RowIssues | None,
    outcome_code: np.ndarray | None,
) -> np.ndarray:
    """A journey with any invalid touch or outcome row is rejected whole; returns which."""
    bad = np.zeros(n_journeys, bool)
    bad[journey_code[issues.invalid & (journey_code >= 0)]] = True
    if outcome_issues is not None and outcome_code is not None:
        bad[outcome_code[outcome_issues.invalid & (outcome_code >= 0)]] = True
    if not bad.any():
        return bad
    at = np.maximum(journey_code, 0)
    issues.flag(
        (journey_code >= 0) & bad[at],
        None,
        "another row of the same journey is invalid"
        if outcome_issues is None
        else "another touch row or the outcome row of the same journey is invalid",
        show="journey",
    )
    if outcome_issues is not None and outcome_code is not None:
        outcome_issues.flag(
            (outcome_code >= 0) & bad[np.maximum(outcome_code, 0)],
            None,
            "a touch row of the journey is invalid (see the touch rows)",
            show="journey",
        )
    return bad


def _lookup(ids: pa.Array, unique_ids: pa.Array) -> np.ndarray:
    """Position of each id among ``unique_ids`` (-1 where absent)."""
    if pa.types.is_integer(ids.type) and ids.null_count == 0 and _increasing(unique_ids):
        keys = unique_ids.to_numpy()
        values = ids.to_numpy()
        position = np.minimum(np.searchsorted(keys, values), max(len(keys) - 1, 0))
        found = keys[position] == values if len(keys) else np.zeros(len(values), bool)
        return np.where(found, position, -1).astype(np.int64)
    index = pc.index_in(ids, value_set=unique_ids)
    return index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _increasing(ids: pa.Array) -> bool:
    if not pa.types.is_integer(ids.type) or ids.null_count:
        return False
    values = ids.to_numpy()
    return bool(np.all(values[1:] > values[:-1]))


def _duplicated(ids: pa.Array) -> np.ndarray:
    """Rows whose (non-null) id occurs more than once."""
    if _increasing(ids):
        return np.zeros(len(ids), bool)
    codes = pc.dictionary_encode(ids).indices.fill_null(-1).to_numpy(zero_copy_only=False)
    valid = codes >= 0
    if not valid.any():
        return np.zeros(len(ids), bool)
    counts = np.bincount(codes[valid])
    return valid & (counts[np.maximum(codes, 0)] > 1)


def _check_total_value(journeys: Journeys, label: str) -> None:
    with np.errstate(over="ignore"):
        total = journeys.total_value
    if not np.isfinite(total):
        raise InputError(
            Problem(
                "the values are too large: their total is not a finite number",
                source=label,
            )
        )


def _encode(
    valid: np.ndarray,
    journey_code: np.ndarray,
    unique_ids: pa.Array,
    times: np.ndarray,
    labels: dict[str, Labels | None],
    cost: np.ndarray | None,
    result: _Outcomes,
    channel_teams: Mapping[str, str] | None,
) -> Journeys:
    in_input_order = bool(valid.all())
    if in_input_order:
        rows = np.arange(len(valid), dtype=np.int64)
        code, timestamp = journey_code, times
        used = np.ones(len(unique_ids), bool)
    else:
        rows = np.flatnonzero(valid)
        code = journey_code[rows]
        used = np.zeros(len(unique_ids), bool)
        used[code] = True
        code = (np.cumsum(used) - 1)[code]
        timestamp = times[rows]
    n_journeys = int(used.sum())
    if not is_sorted(code, timestamp):
        order = sort_order(code, timestamp, n_journeys)
        rows, code, timestamp = rows[order], code[order], timestamp[order]
        in_input_order = False

    def at_rows(values: np.ndarray) -> np.ndarray:
        return values if in_input_order else values[rows]

    counts = np.bincount(code, minlength=n_journeys)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    channel_labels = labels["channel"]
    assert channel_labels is not None
    channel, channel_names = _sorted_codes(at_rows(channel_labels.codes), channel_labels.names)
    team_labels = labels["team"]
    team, team_names = _teams(
        None if team_labels is None else (at_rows(team_labels.codes), team_labels.names),
        channel,
        channel_names,
        channel_teams,
    )
    campaign, campaign_names = _optional_labels(len(rows), labels["campaign"], at_rows)
    touch_type, touch_type_names = _optional_labels(len(rows), labels["touch_type"], at_rows)

    journey_index = np.flatnonzero(used)
    converted = result.converted[journey_index] == 1
    value = np.where(converted, np.nan_to_num(result.value[journey_index], nan=1.0), 0.0)
    return Journeys(
        channel=channel,
        team=team,
        campaign=campaign,
        touch_type=touch_type,
        timestamp=timestamp,
        row=rows,
        offsets=offsets,
        journey_id=(
            unique_ids if used.all() else unique_ids.take(pa.array(journey_index))
        ).to_numpy(zero_copy_only=False),
        converted=converted,
        weight=np.ones(n_journeys, np.float64),
        value=value,
        converted_at=result.times["converted_at"][journey_index],
        lead_created_at=result.times["lead_created_at"][journey_index],
        opportunity_created_at=result.times["opportunity_created_at"][journey_index],
        closed_at=result.times["closed_at"][journey_index],
        won=result.won[journey_index],
        channel_names=channel_names,
        team_names=team_names,
        campaign_names=campaign_names,
        touch_type_names=touch_type_names,
        cost=None if cost is None else at_rows(cost),
    )


def _sorted_codes(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Recode so that only used labels remain, numbered in sorted label order.

    Sorted codes make every output independent of the input row order; labels that are
    equal as text (e.g. from different parquet dictionaries) share one code.
    """
    present = np.bincount(codes, minlength=len(names)) > 0
    used_names = sorted({names[i] for i in np.flatnonzero(present)})
    position = {name: i for i, name in enumerate(used_names)}
    remap = np.array([position.get(name, -1) for name in names] or [0], dtype=np.int32)
    return recode(codes, remap), tuple(used_names)


def _teams(
    team_labels: tuple[np.ndarray, list[str]] | None,
    channel: np.ndarray,
    channel_names: tuple[str, ...],
    channel_teams: Mapping[str, str] | None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Team of each touch: its team column, else the channel's mapped team, else unassigned."""
    mapping = dict(channel_teams or {})
    fallback = [mapping.get(name, UNASSIGNED_TEAM) for name in channel_names]
    if team_labels is None:
        return _sorted_codes(channel, fallback)
    codes, names = team_labels[0], list(team_labels[1])
    blank = np.array([not name.strip() for name in names] or [False])
    missing = (codes < 0) | blank[np.maximum(codes, 0)]
    if missing.any():
        offset = len(names)
        names += fallback
        codes = np.where(missing, offset + channel, codes)
    return _sorted_codes(codes, names)


def _optional_labels(
    n_rows: int, labels: Labels | None, at_rows: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, tuple[str, ...]]:
    if labels is None:
        return np.zeros(n_rows, np.int32), (MISSING_LABEL,)
    codes = at_rows(labels.codes)
    names = [*labels.names, MISSING_LABEL]
    blank = np.array([not name.strip() for name in labels.names] or [False])
    missing = (codes < 0) | blank[np.maximum(codes, 0)]
    return _sorted_codes(np.where(missing, len(labels.names), codes), names)
