"""Load a touch table (and outcomes) into the encoded :class:`Journeys` substrate.

Outcomes come either as columns of the touch table, constant within a journey (nulls
are ignored; two different non-null values are a conflict), or as a separate table with
one row per ``journey_id``. Journeys with touches but no outcome row did not convert.
An outcome row whose journey has no touch is a journey with zero touches (an opportunity
nobody touched: untouched pipeline), unless ``untouched="reject"``.

Roll-up dimensions beyond the four labels (``dimensions``) are read by column name: a
column of the outcomes table is a journey-level dimension; a column of the touch table
is a touch-level one, unless listed in ``journey_dimensions`` (then it must be constant
within each journey, like an outcome column).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.columns import (
    DEFAULT_SEPARATOR,
    OPTIONAL_TOUCH_ROLES,
    OUTCOME_ROLES,
    REQUIRED_TOUCH_ROLES,
    ColumnMap,
)
from attribution.errors import InputError, MissingColumnsError, ParameterError, Problem
from attribution.io import checks, ids, outcomes
from attribution.io.encode import EncodedRows, encode
from attribution.io.intake import Intake, Loaded
from attribution.io.parse import (
    Labels,
    Parsed,
    combined,
    null_mask,
    parse_labels,
    parse_numbers,
    parse_times,
)
from attribution.io.sources import Source, SourceTable, read_source
from attribution.io.validation import RowIssues, check_on_invalid, empty_rejects
from attribution.journeys import CORE_DIMENSIONS, NO_TOUCH_LABEL, TIME_FIELDS, Journeys
from attribution.notes import Note

Untouched = Literal["accept", "reject"]
UNTOUCHED = ("accept", "reject")


def load_touches(
    touches: Source,
    outcomes_source: Source | None = None,
    *,
    columns: ColumnMap | None = None,
    channel_teams: Mapping[str, str] | None = None,
    on_invalid: Literal["fail", "skip"] = "fail",
    separator: str = DEFAULT_SEPARATOR,
    dimensions: Sequence[str] = (),
    journey_dimensions: Sequence[str] = (),
    untouched: Untouched = "accept",
    milestones: Sequence[str] = (),
) -> Loaded:
    """Read, validate and encode touches and outcomes.

    ``on_invalid="fail"`` raises :class:`InputError` describing every problem found;
    ``"skip"`` rejects every row of a journey with an invalid touch or outcome row (so no
    journey is credited on partial data) and returns the rows in ``Loaded.rejects`` with
    a reason; rows whose journey id is null are rejected on their own. ``dimensions``:
    further columns to read as roll-up dimensions (see the module docstring).
    ``milestones``: further milestone time columns (``mql_at``, ``sql_at``), read like
    the outcome times from either table, for the custom stage model.
    """
    check_on_invalid(on_invalid)
    # The standard milestones (lead_created_at, ...) are read as such: a custom stage
    # model naming them needs no second copy of the column.
    milestones = [m for m in dict.fromkeys(milestones) if m not in TIME_FIELDS]
    if untouched not in UNTOUCHED:
        raise ParameterError(f"untouched must be one of {', '.join(UNTOUCHED)}, not {untouched!r}")
    columns = columns or ColumnMap()
    _check_dimension_names(columns, dimensions, journey_dimensions)
    touch_roles = REQUIRED_TOUCH_ROLES + OPTIONAL_TOUCH_ROLES
    roles = touch_roles + OUTCOME_ROLES
    label_names = [columns.name(r) for r in CORE_DIMENSIONS]
    source = read_source(
        touches,
        what="touches",
        columns=[columns.name(r) for r in roles] + list(dimensions) + list(milestones),
        dictionary_columns=label_names + list(dimensions),
    )
    table = source.table
    checks.require_rows(source, "touches")
    checks.require_columns(source, "touches", [columns.name(r) for r in REQUIRED_TOUCH_ROLES])
    checks.require_renamed(
        source, "touches", columns, touch_roles if outcomes_source is not None else roles
    )

    outcome_source: SourceTable | None = None
    if outcomes_source is not None:
        outcome_source = read_source(
            outcomes_source,
            what="outcomes",
            columns=[
                columns.journey_id,
                *(columns.name(r) for r in OUTCOME_ROLES),
                *dimensions,
                *milestones,
            ],
        )
        checks.require_rows(outcome_source, "outcomes")
        checks.require_columns(outcome_source, "outcomes", [columns.journey_id])
        on_touches = set(table.column_names)
        checks.require_renamed(
            outcome_source,
            "outcomes",
            columns,
            [r for r in OUTCOME_ROLES if columns.name(r) not in on_touches],
        )
        checks.refuse_in_both(
            source,
            outcome_source,
            [columns.name(r) for r in OUTCOME_ROLES] + list(dimensions) + list(milestones),
        )
    _require_milestones(source, outcome_source, milestones)
    touch_dims, journey_dims_on_touches, journey_dims_on_outcomes = _place_dimensions(
        source, outcome_source, dimensions, journey_dimensions
    )
    checks.refuse_nested(source, "touches", list(table.column_names))
    checks.refuse_booleans(source, "touches", [columns.value, columns.cost])
    if outcome_source is not None:
        checks.refuse_nested(outcome_source, "outcomes", list(outcome_source.table.column_names))
        checks.refuse_booleans(outcome_source, "outcomes", [columns.value])

    touch_ids, fractional = ids.plain_ids(
        combined(table[columns.journey_id]),
        f"touches {source.label}: column {columns.journey_id!r}",
    )
    outcome_ids: pa.Array | None = None
    outcome_fractional = None
    if outcome_source is not None:
        outcome_ids, outcome_fractional = ids.plain_ids(
            combined(outcome_source.table[columns.journey_id]),
            f"outcomes {outcome_source.label}: column {columns.journey_id!r}",
        )
    touch_ids, outcome_ids = ids.common_id_type(touch_ids, outcome_ids)

    issues = RowIssues(source, "touches", journey_ids=touch_ids)
    issues.flag(fractional, columns.journey_id, "journey_id is not a whole number")
    issues.flag(null_mask(touch_ids), columns.journey_id, "journey_id is null", show="none")
    times = parse_times(combined(table[columns.timestamp]))
    issues.flag(times.null, columns.timestamp, "timestamp is null", show="none")
    outcomes.flag_parsed(issues, times, columns.timestamp, "timestamp")
    labels = _labels(table, columns, issues, separator)
    extra_touch_labels = {name: _label_column(table, name, issues) for name in touch_dims}
    cost = _cost(table, columns, issues)

    journey_code, unique_ids = ids.factorize(touch_ids)
    n_touch_journeys = len(unique_ids)
    outcome_issues: RowIssues | None = None
    outcome_code: np.ndarray | None = None
    untouched_journeys = 0
    if outcome_source is not None:
        assert outcome_ids is not None and outcome_fractional is not None
        outcome_issues = RowIssues(outcome_source, "outcomes", journey_ids=outcome_ids)
        outcome_issues.flag(
            outcome_fractional, columns.journey_id, "journey_id is not a whole number"
        )
        outcome_code, unique_ids, untouched_journeys = _outcome_codes(
            outcome_ids, unique_ids, outcome_issues, columns, untouched
        )
    n_journeys = len(unique_ids)
    journey_roles = [r for r in OUTCOME_ROLES if columns.name(r) in table.column_names]
    on_touches_milestones = [m for m in milestones if m in table.column_names]
    result = outcomes.from_touches(
        table,
        columns,
        journey_roles,
        journey_dims_on_touches,
        issues,
        journey_code,
        n_journeys,
        on_touches_milestones,
    )
    if outcome_source is not None and outcome_issues is not None and outcome_code is not None:
        from_outcomes = outcomes.from_table(
            outcome_source.table,
            columns,
            [r for r in OUTCOME_ROLES if r not in journey_roles],
            journey_dims_on_outcomes,
            outcome_issues,
            outcome_code,
            n_journeys,
            [m for m in milestones if m not in on_touches_milestones],
        )
        result = outcomes.combine(result, from_outcomes)
    converted = outcomes.converted_flags(result, columns, (outcome_source or source).label)
    value_on_touches = outcome_issues is None or columns.value in table.column_names
    value_rows = (issues, journey_code) if value_on_touches else (outcome_issues, outcome_code)
    assert value_rows[0] is not None and value_rows[1] is not None
    outcomes.check_values(result, converted, columns.value, value_rows[0], value_rows[1])
    bad_journey = _reject_whole_journeys(
        issues, journey_code, n_journeys, outcome_issues, outcome_code
    )

    problems = issues.problems() + (outcome_issues.problems() if outcome_issues else [])
    if problems and on_invalid == "fail":
        raise InputError(problems)

    journeys, notes = encode(
        EncodedRows(~issues.invalid, journey_code, ~bad_journey, unique_ids),
        times.values,
        labels,
        extra_touch_labels,
        cost,
        result,
        converted,
        channel_teams,
        milestones,
    )
    value_label = (
        source.label if value_on_touches or outcome_source is None else outcome_source.label
    )
    _check_total_value(journeys, value_label, columns.value)
    rejects = [t.rejects() for t in (issues, outcome_issues) if t is not None and t.invalid.any()]
    has_value = np.zeros(n_journeys, bool) if result.value is None else ~np.isnan(result.value)
    rejected_converted = bad_journey & converted & has_value
    untouched_kept = int((~bad_journey[n_touch_journeys:]).sum())
    if "converted_at" in result.given and "converted" not in result.given:
        notes.append(
            Note(
                "converted_derived",
                "converted derived from converted_at (a journey converted when it is set)",
            )
        )
    if result.value is None:
        notes.append(Note("no_value_column", "no value column: each conversion is worth 1"))
    notes.extend(_skipped_notes(source, outcome_source))
    assert result.value is None or len(result.value) == n_journeys
    return Loaded(
        journeys=journeys,
        rejects=pd.concat(rejects, ignore_index=True) if rejects else empty_rejects(),
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
            rejected_value=float(result.value[rejected_converted].sum())
            if result.value is not None
            else float(rejected_converted.sum()),
            journeys_without_outcome=_without_outcome(outcome_code, n_touch_journeys),
            journeys_without_touches=untouched_kept if untouched_journeys else 0,
            files=source.files,
            file_starts=source.file_starts,
            in_memory=source.in_memory,
            skipped_files=source.skipped
            + (outcome_source.skipped if outcome_source is not None else ()),
            notes=tuple(notes),
        ),
    )


def _require_milestones(
    source: SourceTable, outcome_source: SourceTable | None, milestones: Sequence[str]
) -> None:
    """A milestone asked for must be a column of one of the tables."""
    present = set(source.table.column_names)
    if outcome_source is not None:
        present |= set(outcome_source.table.column_names)
    missing = [m for m in milestones if m not in present]
    if missing:
        where = f"the touches have {source.columns_present()}"
        if outcome_source is not None:
            where += f"; the outcomes have {outcome_source.columns_present()}"
        raise InputError(
            Problem(
                f"no milestone column {', '.join(map(repr, missing))}; {where}", source=source.label
            )
        )


def _check_dimension_names(
    columns: ColumnMap, dimensions: Sequence[str], journey_dimensions: Sequence[str]
) -> None:
    roles = {columns.name(r) for r in ColumnMap.roles()}
    clash = [d for d in dimensions if d in roles]
    if clash:
        raise ParameterError(
            f"dimension(s) {', '.join(map(repr, clash))} name columns the engine reads for a "
            "role; roll up by the role's name (channel, team, campaign, touch_type) instead"
        )
    stray = [d for d in journey_dimensions if d not in dimensions]
    if stray:
        raise ParameterError(
            f"journey_dimensions {', '.join(map(repr, stray))} are not among dimensions"
        )


def _place_dimensions(
    source: SourceTable,
    outcome_source: SourceTable | None,
    dimensions: Sequence[str],
    journey_dimensions: Sequence[str],
) -> tuple[list[str], list[str], list[str]]:
    """Touch-level dimensions, journey-level ones on the touches, journey-level ones on
    the outcomes; a dimension in neither table is an error listing both tables' columns."""
    on_touches = set(source.table.column_names)
    on_outcomes = set(outcome_source.table.column_names) if outcome_source else set()
    missing = [d for d in dimensions if d not in on_touches and d not in on_outcomes]
    if missing:
        where = f"the touches have {source.columns_present()}"
        if outcome_source is not None:
            where += f"; the outcomes have {outcome_source.columns_present()}"
        raise MissingColumnsError(
            Problem(
                f"no column {', '.join(map(repr, missing))} to read as a dimension "
                f"(dimensions=); {where}",
                source=source.label,
            ),
            missing,
            where,
        )
    touch_level = [d for d in dimensions if d in on_touches and d not in journey_dimensions]
    journey_on_touches = [d for d in dimensions if d in on_touches and d in journey_dimensions]
    journey_on_outcomes = [d for d in dimensions if d in on_outcomes]
    return touch_level, journey_on_touches, journey_on_outcomes


def _outcome_codes(
    outcome_ids: pa.Array,
    unique_ids: pa.Array,
    issues: RowIssues,
    columns: ColumnMap,
    untouched: Untouched,
) -> tuple[np.ndarray, pa.Array, int]:
    """Each outcome row's journey code; journeys known only from an outcome row are
    appended to the unique ids (zero-touch journeys) unless they are rejected."""
    null = null_mask(outcome_ids)
    issues.flag(null, columns.journey_id, "journey_id is null", show="none")
    code = ids.lookup(outcome_ids, unique_ids)
    issues.flag(
        ids.duplicated(outcome_ids), columns.journey_id, "journey has more than one outcome row"
    )
    alone = (code < 0) & ~null
    if untouched == "reject":
        issues.flag(
            alone,
            columns.journey_id,
            "outcome row has no touches (journey_id not in the touch table)",
        )
        return code, unique_ids, 0
    if not alone.any():
        return code, unique_ids, 0
    encoded = pc.dictionary_encode(outcome_ids.filter(pa.array(alone)))
    extra = encoded.dictionary
    code = code.copy()
    code[alone] = len(unique_ids) + encoded.indices.to_numpy(zero_copy_only=False)
    return code, pa.concat_arrays([unique_ids, extra.cast(unique_ids.type)]), len(extra)


def _without_outcome(outcome_code: np.ndarray | None, n_touch_journeys: int) -> int:
    if outcome_code is None:
        return 0
    found = np.zeros(n_touch_journeys, bool)
    in_touches = outcome_code[(outcome_code >= 0) & (outcome_code < n_touch_journeys)]
    found[in_touches] = True
    return int((~found).sum())


def _labels(
    table: pa.Table, columns: ColumnMap, issues: RowIssues, separator: str
) -> dict[str, Labels | None]:
    labels: dict[str, Labels | None] = {}
    for role in CORE_DIMENSIONS:
        name = columns.name(role)
        labels[role] = _label_column(table, name, issues) if name in table.column_names else None
    channel = labels["channel"]
    assert channel is not None
    issues.flag(channel.codes < 0, columns.channel, "channel is null", show="none")
    names = np.asarray(channel.names, dtype=object)
    blank = np.array([not str(n).strip() for n in names], bool)
    issues.flag(_rows_with(channel.codes, blank), columns.channel, "channel is empty")
    if separator:
        with_separator = np.array([separator in str(n) for n in names], bool)
        issues.flag(
            _rows_with(channel.codes, with_separator),
            columns.channel,
            f"channel name contains the path separator {separator!r}",
        )
    return labels


def _label_column(table: pa.Table, name: str, issues: RowIssues) -> Labels:
    """A text column as labels; the reserved roll-up label is refused."""
    try:
        labels = parse_labels(combined(table[name]))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise InputError(
            Problem(
                f"must hold text, not {table.schema.field(name).type} ({error})",
                source=f"touches {issues.source.label}",
                column=name,
            )
        ) from None
    reserved = np.array([n == NO_TOUCH_LABEL for n in labels.names] or [False])
    issues.flag(
        _rows_with(labels.codes, reserved),
        name,
        f"the label {NO_TOUCH_LABEL!r} is reserved for untouched pipeline",
    )
    return labels


def _rows_with(codes: np.ndarray, bad_code: np.ndarray) -> np.ndarray:
    if not bad_code.any():
        return np.zeros(len(codes), bool)
    return (codes >= 0) & bad_code[np.maximum(codes, 0)]


def _cost(table: pa.Table, columns: ColumnMap, issues: RowIssues) -> np.ndarray | None:
    if columns.cost not in table.column_names:
        return None
    cost: Parsed = parse_numbers(combined(table[columns.cost]))
    outcomes.flag_parsed(issues, cost, columns.cost, "cost")
    issues.flag(cost.values < 0, columns.cost, "cost is negative")
    return np.where(cost.null | cost.invalid, np.nan, cost.values)


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
        secondary=True,
    )
    if outcome_issues is not None and outcome_code is not None:
        outcome_issues.flag(
            (outcome_code >= 0) & bad[np.maximum(outcome_code, 0)],
            None,
            "a touch row of the journey is invalid (see the touch rows)",
            show="journey",
            secondary=True,
        )
    return bad


def _check_total_value(journeys: Journeys, label: str, column: str) -> None:
    """A value total that overflows a float is refused, naming the value column."""
    with np.errstate(over="ignore"):
        total = float(np.sum(journeys.value))
    if not np.isfinite(total):
        raise InputError(
            Problem(
                "the values are too large: their total is not a finite number",
                source=label,
                column=column,
            )
        )


def _skipped_notes(*sources: SourceTable | None) -> list[Note]:
    notes = []
    for source in sources:
        if source is None or not source.skipped:
            continue
        listed = "; ".join(f"{path} ({why})" for path, why in source.skipped[:20])
        more = f" and {len(source.skipped) - 20} more" if len(source.skipped) > 20 else ""
        notes.append(
            Note(
                "files_not_read",
                f"{len(source.skipped)} file(s) in {source.label} not read: {listed}{more}",
                data={"files": [path for path, _ in source.skipped]},
            )
        )
    return notes
