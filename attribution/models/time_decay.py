"""Time-decay model: recent touches weigh more.

Weight of touch i: w_i = 2^(-(T - t_i) / h), normalised to sum to 1 within the journey,
with h the half-life and T the conversion time (``converted_at``, else the last touch).
Every touch credited is at or before T, so the normalised weights do not depend on T;
the kernel measures ages from the last touch, which is exact and cannot underflow.
"""

from __future__ import annotations

import math

from attribution.journeys import NANOS_PER_DAY, Journeys
from attribution.kernels.rules import time_decay_credit
from attribution.models.base import AttributionModel, TouchCredit


class TimeDecay(AttributionModel):
    """Exponential decay with a half-life in days (default 7)."""

    name = "time_decay"
    needs_times = True

    def __init__(self, half_life_days: float = 7.0) -> None:
        if not (math.isfinite(half_life_days) and half_life_days > 0):
            raise ValueError(f"half_life_days must be a positive number, got {half_life_days}")
        self.half_life_days = half_life_days

    def credit(self, journeys: Journeys) -> TouchCredit:
        if not journeys.has_times:
            raise ValueError("time_decay needs touch timestamps; path tables have none")
        return TouchCredit(
            *time_decay_credit(
                journeys.offsets,
                journeys.conversions,
                journeys.converted_value,
                journeys.timestamp,
                float(self.half_life_days * NANOS_PER_DAY),
            )
        )
