"""Linear model: weight 1/n on each of the n touches of a converted journey."""

from __future__ import annotations

from attribution.journeys import Journeys
from attribution.kernels.rules import linear_credit
from attribution.models.base import RuleModel, TouchCredit


class Linear(RuleModel):
    """Equal credit to every touch in the credit window."""

    name = "linear"

    def _credit(self, journeys: Journeys) -> TouchCredit:
        return TouchCredit(*linear_credit(journeys.offsets, journeys.conversions, journeys.value))
