"""Single-touch models: all of a journey's credit to one touch.

- ``first_touch``: the earliest touch in the credit window.
- ``last_touch``: the latest touch at or before the conversion.
- ``sourced``: the touch that opened the journey, i.e. its earliest touch before the
  conversion *ignoring the lookback window*, because sourcing is about who opened the
  journey however long ago. Without a lookback it equals ``first_touch``.

Ties on the timestamp follow the substrate's order (input row order): the first such
row is the first touch, the last one the last touch.
"""

from __future__ import annotations

from attribution.journeys import Journeys
from attribution.kernels.rules import first_touch_credit, last_touch_credit
from attribution.models.base import RuleModel, TouchCredit


class FirstTouch(RuleModel):
    """Weight 1 on the first touch of each converted journey."""

    name = "first_touch"

    def _credit(self, journeys: Journeys) -> TouchCredit:
        return TouchCredit(
            *first_touch_credit(journeys.offsets, journeys.conversions, journeys.value)
        )


class LastTouch(RuleModel):
    """Weight 1 on the last touch before the conversion."""

    name = "last_touch"

    def _credit(self, journeys: Journeys) -> TouchCredit:
        return TouchCredit(
            *last_touch_credit(journeys.offsets, journeys.conversions, journeys.value)
        )


class Sourced(FirstTouch):
    """Full value to the touch that opened the journey (lookback window not applied)."""

    name = "sourced"
    uses_lookback = False
