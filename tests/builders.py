"""Small journey tables written by hand, for tests.

A journey is given as its channel path, whether it converted and its value; touches are
one day apart from ``start`` unless explicit days are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

import attribution as at

START = pd.Timestamp("2024-01-01", tz="UTC")


@dataclass
class J:
    """One journey: channels in time order, outcome, optional days and milestones."""

    path: Sequence[str]
    converted: bool = True
    value: float = 1.0
    days: Sequence[float] | None = None
    teams: Sequence[str] | None = None
    milestones: dict[str, float] = field(default_factory=dict)


def touches_frame(journeys: Sequence[J], *, start: pd.Timestamp = START) -> pd.DataFrame:
    """A touch table with outcome columns, one row per touch."""
    rows = []
    for index, journey in enumerate(journeys):
        days = journey.days if journey.days is not None else range(len(journey.path))
        for position, (channel, day) in enumerate(zip(journey.path, days, strict=True)):
            row = {
                "journey_id": f"j{index}",
                "timestamp": start + pd.Timedelta(days=float(day)),
                "channel": channel,
                "converted": journey.converted,
                "value": journey.value if journey.converted else 0.0,
            }
            if journey.teams is not None:
                row["team"] = journey.teams[position]
            for name in ("converted_at", "lead_created_at", "opportunity_created_at", "closed_at"):
                row[name] = (
                    start + pd.Timedelta(days=float(journey.milestones[name]))
                    if name in journey.milestones
                    else pd.NaT
                )
            rows.append(row)
    frame = pd.DataFrame(rows)
    for name in ("converted_at", "lead_created_at", "opportunity_created_at", "closed_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def load(journeys: Sequence[J], **options: object) -> at.Loaded:
    """Load hand-written journeys through the public API."""
    return at.load(touches_frame(journeys), **options)  # type: ignore[arg-type]


def channel_credit(result: at.AttributionResult, model: str) -> dict[str, float]:
    """Credited value per channel of one model (needs 'channel' in the roll-up)."""
    frame = result.rollups.get(("channel",), result.credits)
    rows = frame[frame["model"] == model]
    return rows.groupby("channel")["credited_value"].sum().to_dict()
