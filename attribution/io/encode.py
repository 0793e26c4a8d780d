"""Encode validated rows into the :class:`Journeys` substrate.

Labels are recoded so that only used labels remain, numbered in sorted label order:
every output is then independent of the input row order, and labels equal as text (say
from different parquet dictionaries) share one code. Touches are sorted by (journey,
timestamp) with ties in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from attribution.io.outcomes import OutcomeColumns
from attribution.io.parse import Labels
from attribution.journeys import (
    MISSING_LABEL,
    UNASSIGNED_TEAM,
    Coding,
    Journeys,
)
from attribution.kernels.segments import is_sorted, recode, sort_order
from attribution.notes import Note


def sorted_codes(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Recode so that only used labels remain, numbered in sorted label order."""
    present = np.bincount(codes, minlength=len(names)) > 0 if len(codes) else np.zeros(0, bool)
    used_names = sorted({names[i] for i in np.flatnonzero(present)})
    position = {name: i for i, name in enumerate(used_names)}
    remap = np.array([position.get(name, -1) for name in names] or [0], dtype=np.int32)
    return recode(codes, remap), tuple(used_names)


def team_codes(
    team_labels: tuple[np.ndarray, list[str]] | None,
    channel: np.ndarray,
    channel_names: tuple[str, ...],
    channel_teams: Mapping[str, str] | None,
) -> tuple[np.ndarray, tuple[str, ...], list[Note]]:
    """Team of each touch: its team column where it has one, else the channel's team in
    the team map, else ``unassigned``; with notes on how the map was used."""
    mapping = dict(channel_teams or {})
    fallback = [mapping.get(name, UNASSIGNED_TEAM) for name in channel_names]
    notes: list[Note] = []
    if team_labels is None:
        codes, names = sorted_codes(channel, fallback)
        missing_rows = np.ones(len(channel), bool)
    else:
        raw, raw_names = team_labels[0], list(team_labels[1])
        blank = np.array([not name.strip() for name in raw_names] or [False])
        missing_rows = (raw < 0) | blank[np.maximum(raw, 0)]
        merged = raw_names + fallback
        codes, names = sorted_codes(np.where(missing_rows, len(raw_names) + channel, raw), merged)
        if channel_teams is not None:
            notes.append(
                Note(
                    "team_map_with_team_column",
                    "the input has a team column and a team map was given: the team column "
                    "wins where it has a value; the map fills "
                    f"{int(missing_rows.sum()):,} touches without a team",
                    data={"touches_filled": int(missing_rows.sum())},
                )
            )
    if channel_teams is not None:
        unmatched = sorted(set(mapping) - set(channel_names))
        if unmatched and len(unmatched) == len(mapping):
            notes.append(
                Note(
                    "team_map_matches_nothing",
                    "the team map matches no channel of the input (are the channel names "
                    f"spelled as in the data?): {', '.join(unmatched[:10])}",
                    data={"unmatched": unmatched},
                )
            )
        elif unmatched:
            notes.append(
                Note(
                    "team_map_unused_entries",
                    f"team map entries for channels not in the input: {', '.join(unmatched[:10])}",
                    data={"unmatched": unmatched},
                )
            )
        counts = np.bincount(channel[missing_rows], minlength=len(channel_names))
        left_out = [
            (name, int(counts[c]))
            for c, name in enumerate(channel_names)
            if name not in mapping and counts[c] > 0
        ]
        if left_out:
            listed = ", ".join(f"{name} ({n:,} touches)" for name, n in left_out[:10])
            notes.append(
                Note(
                    "team_map_missing_channels",
                    f"channels the team map leaves out, so their touches without a team are "
                    f"'{UNASSIGNED_TEAM}': {listed}",
                    data={"channels": dict(left_out)},
                )
            )
    return codes, names, notes


def optional_codes(
    n_rows: int, labels: Labels | None, at_rows: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes of an optional label column: null and blank labels are ``(none)``."""
    if labels is None:
        return np.zeros(n_rows, np.int32), (MISSING_LABEL,)
    codes = at_rows(labels.codes)
    names = [*labels.names, MISSING_LABEL]
    blank = np.array([not name.strip() for name in labels.names] or [False])
    missing = (codes < 0) | blank[np.maximum(codes, 0)]
    return sorted_codes(np.where(missing, len(labels.names), codes), names)


@dataclass(frozen=True)
class EncodedRows:
    """The validated rows to encode: which touch rows and journeys are kept."""

    valid_rows: np.ndarray
    journey_code: np.ndarray
    keep_journey: np.ndarray
    unique_ids: pa.Array


def encode(
    rows: EncodedRows,
    times: np.ndarray,
    labels: Mapping[str, Labels | None],
    touch_dimensions: Mapping[str, Labels],
    cost: np.ndarray | None,
    outcomes: OutcomeColumns,
    converted: np.ndarray,
    channel_teams: Mapping[str, str] | None,
    milestones: Sequence[str] = (),
) -> tuple[Journeys, list[Note]]:
    """The journeys kept, with their valid touches (possibly none), and notes."""
    keep = rows.keep_journey
    touch_rows = np.flatnonzero(rows.valid_rows & keep[np.maximum(rows.journey_code, 0)])
    in_input_order = len(touch_rows) == len(rows.valid_rows) and bool(keep.all())
    renumber = np.cumsum(keep) - 1
    code = renumber[rows.journey_code[touch_rows]] if len(touch_rows) else np.zeros(0, np.int64)
    timestamp = times[touch_rows]
    n_journeys = int(keep.sum())
    if not is_sorted(code, timestamp):
        order = sort_order(code, timestamp, n_journeys)
        touch_rows, code, timestamp = touch_rows[order], code[order], timestamp[order]
        in_input_order = False

    def at_rows(values: np.ndarray) -> np.ndarray:
        return values if in_input_order else values[touch_rows]

    counts = np.bincount(code, minlength=n_journeys)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    channel_labels = labels["channel"]
    assert channel_labels is not None
    channel, channel_names = sorted_codes(at_rows(channel_labels.codes), channel_labels.names)
    team_labels = labels["team"]
    team, team_names, notes = team_codes(
        None if team_labels is None else (at_rows(team_labels.codes), team_labels.names),
        channel,
        channel_names,
        channel_teams,
    )
    campaign, campaign_names = optional_codes(len(touch_rows), labels["campaign"], at_rows)
    touch_type, touch_type_names = optional_codes(len(touch_rows), labels["touch_type"], at_rows)
    extra_touch = {
        name: Coding(*optional_codes(len(touch_rows), dimension, at_rows))
        for name, dimension in touch_dimensions.items()
    }
    journey_index = np.flatnonzero(keep)
    extra_journey = {}
    for name, dimension in outcomes.labels.items():
        codes_per_journey = dimension.codes[journey_index]
        names = [*dimension.names, MISSING_LABEL]
        blank = np.array([not n.strip() for n in dimension.names] or [False])
        missing = (codes_per_journey < 0) | blank[np.maximum(codes_per_journey, 0)]
        extra_journey[name] = Coding(
            *sorted_codes(np.where(missing, len(dimension.names), codes_per_journey), names)
        )
    kept_converted = converted[journey_index]
    value = (
        np.ones(n_journeys)
        if outcomes.value is None
        else np.nan_to_num(outcomes.value[journey_index], nan=1.0)
    )
    journeys = Journeys(
        channel=channel,
        team=team,
        campaign=campaign,
        touch_type=touch_type,
        timestamp=timestamp,
        row=touch_rows.astype(np.int64),
        offsets=offsets,
        journey_id=(
            rows.unique_ids if keep.all() else rows.unique_ids.take(pa.array(journey_index))
        ).to_numpy(zero_copy_only=False),
        converted=kept_converted,
        weight=np.ones(n_journeys, np.float64),
        value=np.where(kept_converted, value, 0.0),
        won=(
            np.full(n_journeys, -1, np.int8)
            if outcomes.won is None
            else outcomes.won[journey_index].astype(np.int8)
        ),
        channel_names=channel_names,
        team_names=team_names,
        campaign_names=campaign_names,
        touch_type_names=touch_type_names,
        cost=None if cost is None else at_rows(cost),
        touch_dimensions=extra_touch,
        journey_dimensions=extra_journey,
        milestone_times={m: outcomes.time(m)[journey_index] for m in milestones},
        converted_at=outcomes.time("converted_at")[journey_index],
        lead_created_at=outcomes.time("lead_created_at")[journey_index],
        opportunity_created_at=outcomes.time("opportunity_created_at")[journey_index],
        closed_at=outcomes.time("closed_at")[journey_index],
    )
    return journeys, notes
