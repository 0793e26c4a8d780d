"""Influenced view: every channel (team, …) touching a converted journey gets its full value.

Not conserving by design: a journey touched by three channels counts three times, so
totals exceed the pipeline. In a roll-up each group receives the journey's value once,
however many of its touches the journey has. Per touch, every credited touch carries the
journey's full value.
"""

from __future__ import annotations

from attribution.journeys import Journeys
from attribution.models.base import RuleModel, TouchCredit


class Influenced(RuleModel):
    """Full value to every group with at least one touch in the credit window."""

    name = "influenced"
    conserving = False
    counts_groups_once = True

    def _credit(self, journeys: Journeys) -> TouchCredit:
        return TouchCredit(journeys.touch_conversions.copy(), journeys.touch_value.copy())
