"""Linear model: weight 1/n on each of the n touches of a converted journey."""

from __future__ import annotations

from attribution.journeys import Journeys
from attribution.kernels.rules import linear_fractions
from attribution.models.base import AttributionModel, TouchCredit


class Linear(AttributionModel):
    """Equal credit to every touch in the credit window."""

    name = "linear"

    def credit(self, journeys: Journeys) -> TouchCredit:
        return TouchCredit.from_fractions(
            journeys, linear_fractions(journeys.offsets, journeys.converted)
        )
