"""Time-decay model: recent touches weigh more.

Weight of touch i: w_i = 2^(-(T - t_i) / h), normalised to sum to 1 within the journey,
with h the half-life and T the conversion time (``converted_at``, else the last touch).
Every touch credited is at or before T, so the normalised weights do not depend on T;
the kernel measures ages from the last touch, which is exact and cannot underflow.
"""

from __future__ import annotations

import math

from attribution.errors import ParameterError
from attribution.journeys import NANOS_PER_DAY, Journeys
from attribution.kernels.rules import time_decay_credit
from attribution.models.base import RuleModel, TouchCredit


class TimeDecay(RuleModel):
    """Exponential decay with a half-life in days (default 7)."""

    name = "time_decay"
    needs_times = True

    def __init__(self, half_life_days: float = 7.0) -> None:
        self.half_life_days = half_life_days

    def _check_params(self) -> None:
        h = self.half_life_days
        if (
            isinstance(h, bool)
            or not isinstance(h, (int, float))
            or not (math.isfinite(h) and 0 < h <= 1e6)
        ):
            raise ParameterError(
                f"half_life_days must be a number of days > 0 and at most 1e6, got {h!r}"
            )

    def _credit(self, journeys: Journeys) -> TouchCredit:
        if not journeys.has_times:
            raise ParameterError("time_decay needs touch timestamps; path tables have none")
        return TouchCredit(
            *time_decay_credit(
                journeys.offsets,
                journeys.conversions,
                journeys.value,
                journeys.timestamp,
                float(self.half_life_days * NANOS_PER_DAY),
            )
        )
