"""The encoded journey substrate every model reads.

Touches are stored column-wise as integer codes, sorted by (journey, timestamp, input
order): ties on the timestamp keep the order of the input rows (files of a folder in
sorted path order, rows in file order). Journey ``j`` owns the contiguous touch range
``offsets[j]:offsets[j + 1]``. Per-journey outcome arrays are indexed by journey.

A journey *record* may stand for several identical journeys (``weight``), which is how
aggregated path tables are represented without expanding them: a converted record
carries ``weight`` conversions worth ``value`` in total.

Every statistic a model needs is a sum over journeys, so it can be computed on any
partition of whole journeys and merged: :meth:`Journeys.subset` cuts such partitions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from attribution.kernels.segments import (
    NO_TIME,
    concatenated_ranges,
    duplicate_touches,
    keep_mask_for_window,
    lengths_of,
)

NANOS_PER_DAY = 86_400 * 1_000_000_000
#: Roll-up dimensions a touch can be grouped by.
DIMENSIONS: tuple[str, ...] = ("channel", "team", "campaign", "touch_type")
MISSING_LABEL = "(none)"


@dataclass(frozen=True)
class Journeys:
    """Encoded touches and journey outcomes.

    Touch arrays (length = number of touches): ``channel``, ``team``, ``campaign``,
    ``touch_type`` (int32 codes into the matching ``*_names``), ``timestamp`` (int64 ns
    UTC; the position in the path for path tables), ``row`` (index of the input row, for
    tracing) and optional ``cost``.

    Journey arrays (length = number of journey records): ``journey_id``, ``converted``,
    ``weight`` (journeys the record stands for), ``value`` (total value of its
    conversions, 0 when not converted), the milestone times ``converted_at``,
    ``lead_created_at``, ``opportunity_created_at``, ``closed_at`` (int64 ns, ``NO_TIME``
    when unknown) and ``won`` (1, 0, or -1 unknown).
    """

    channel: np.ndarray
    team: np.ndarray
    campaign: np.ndarray
    touch_type: np.ndarray
    timestamp: np.ndarray
    row: np.ndarray
    offsets: np.ndarray
    journey_id: np.ndarray
    converted: np.ndarray
    weight: np.ndarray
    value: np.ndarray
    converted_at: np.ndarray
    lead_created_at: np.ndarray
    opportunity_created_at: np.ndarray
    closed_at: np.ndarray
    won: np.ndarray
    channel_names: tuple[str, ...]
    team_names: tuple[str, ...]
    campaign_names: tuple[str, ...] = (MISSING_LABEL,)
    touch_type_names: tuple[str, ...] = (MISSING_LABEL,)
    cost: np.ndarray | None = None
    has_times: bool = True
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    # ------------------------------------------------------------------ sizes
    @property
    def n_touches(self) -> int:
        return len(self.channel)

    @property
    def n_journeys(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @cached_property
    def lengths(self) -> np.ndarray:
        """Touches per journey record."""
        return lengths_of(self.offsets)

    @cached_property
    def conversions(self) -> np.ndarray:
        """Conversions per journey record: its weight when converted, else 0."""
        return np.where(self.converted, self.weight, 0.0)

    @cached_property
    def duplicate_touches(self) -> int:
        """Touches identical to an earlier one of the same journey in time, channel, team,
        campaign and touch type (each is still credited as the input says)."""
        if not self.has_times:
            return 0
        return int(
            duplicate_touches(
                self.offsets,
                self.timestamp,
                self.channel,
                self.team,
                self.campaign,
                self.touch_type,
            )
        )

    @cached_property
    def converted_value(self) -> np.ndarray:
        """Value per journey record (0 when it did not convert)."""
        return np.where(self.converted, self.value, 0.0)

    @cached_property
    def touch_conversions(self) -> np.ndarray:
        """Each touch's journey conversions (0 in journeys that did not convert)."""
        return np.repeat(self.conversions, self.lengths)

    @cached_property
    def touch_value(self) -> np.ndarray:
        """Each touch's journey value (0 in journeys that did not convert)."""
        return np.repeat(self.converted_value, self.lengths)

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.converted_value.sum())

    def codes(self, dimension: str) -> np.ndarray:
        """Touch codes of a roll-up dimension."""
        if dimension not in DIMENSIONS:
            raise ValueError(
                f"unknown dimension {dimension!r}; choose from {', '.join(DIMENSIONS)}"
            )
        return np.asarray(getattr(self, dimension))

    def names(self, dimension: str) -> tuple[str, ...]:
        """Labels of a roll-up dimension's codes."""
        if dimension not in DIMENSIONS:
            raise ValueError(
                f"unknown dimension {dimension!r}; choose from {', '.join(DIMENSIONS)}"
            )
        return tuple(getattr(self, f"{dimension}_names"))

    # ------------------------------------------------------------- reshaping
    def subset(self, journeys: np.ndarray) -> Journeys:
        """The records at the given (sorted) journey indices, with their touches.

        Codes and name tables are kept, so statistics of subsets can be merged.
        """
        journeys = np.asarray(journeys, dtype=np.int64)
        touch_index = concatenated_ranges(self.offsets[journeys], self.offsets[journeys + 1])
        return self._take(touch_index, journeys)

    @cached_property
    def converted_only(self) -> Journeys:
        """The converted journey records alone (with their touches)."""
        if self.converted.all():
            return self
        return self.subset(np.flatnonzero(self.converted))

    def keep_touches(self, keep: np.ndarray) -> Journeys:
        """The same journey records with only the touches where ``keep`` is true."""
        kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
        offsets = kept_before[self.offsets]
        touch_index = np.flatnonzero(keep)
        taken = self._take(touch_index, np.arange(self.n_journeys, dtype=np.int64))
        return replace(taken, offsets=offsets)

    def _take(self, touch_index: np.ndarray, journeys: np.ndarray) -> Journeys:
        lengths = self.lengths[journeys]
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        return replace(
            self,
            channel=self.channel[touch_index],
            team=self.team[touch_index],
            campaign=self.campaign[touch_index],
            touch_type=self.touch_type[touch_index],
            timestamp=self.timestamp[touch_index],
            row=self.row[touch_index],
            cost=None if self.cost is None else self.cost[touch_index],
            offsets=offsets,
            journey_id=self.journey_id[journeys],
            converted=self.converted[journeys],
            weight=self.weight[journeys],
            value=self.value[journeys],
            converted_at=self.converted_at[journeys],
            lead_created_at=self.lead_created_at[journeys],
            opportunity_created_at=self.opportunity_created_at[journeys],
            closed_at=self.closed_at[journeys],
            won=self.won[journeys],
        )

    def window(self, lookback_days: float | None) -> tuple[Journeys, WindowCounts]:
        """The touches that can be credited, and counts of those left out.

        A touch after the journey's conversion time (``converted_at``) is never credited
        for it; a touch at exactly that time is. With a lookback of ``L`` days, touches
        earlier than ``reference - L`` are left out, where the reference is
        ``converted_at`` when known and otherwise the journey's last touch. Journeys that
        did not convert are windowed relative to their last touch, so data-driven models
        see the same window on both kinds of journey.
        """
        if lookback_days is not None and not (math.isfinite(lookback_days) and lookback_days >= 0):
            raise ValueError(
                f"the lookback must be a finite number of days >= 0, got {lookback_days}"
            )
        if lookback_days is not None and not self.has_times:
            raise ValueError("a lookback window needs touch timestamps; path tables have none")
        nanos = None if lookback_days is None else lookback_days * NANOS_PER_DAY
        # A lookback beyond int64 nanoseconds is longer than any span of times: no window.
        lookback = -1 if nanos is None or nanos >= 2.0**63 else round(nanos)
        cutoff = np.where(self.converted, self.converted_at, NO_TIME)
        keep, reason = keep_mask_for_window(self.timestamp, self.offsets, cutoff, lookback)
        counts = WindowCounts(
            after_conversion=_weighted_count(reason == 1, self),
            outside_lookback=_weighted_count(reason == 2, self),
            after_conversion_rows=int((reason == 1).sum()),
            outside_lookback_rows=int((reason == 2).sum()),
        )
        if keep.all():
            return self, counts
        return self.keep_touches(keep), counts


@dataclass(frozen=True)
class WindowCounts:
    """Touches left out of the credit window (``*_rows``: touch records; others weighted)."""

    after_conversion: float
    outside_lookback: float
    after_conversion_rows: int
    outside_lookback_rows: int


def _weighted_count(mask: np.ndarray, journeys: Journeys) -> float:
    if not mask.any():
        return 0.0
    return float(np.repeat(journeys.weight, journeys.lengths)[mask].sum())
