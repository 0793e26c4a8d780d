"""Position-based models: fixed shares to the first and last touch, the rest to the middle.

``position_based`` (U-shaped) 40/20/40, ``j_shaped`` 20/20/60, ``inverse_j`` 60/20/20, or
custom ``first``/``middle``/``last`` shares that sum to 1. The middle share is split
evenly over the n - 2 middle touches. With n = 2 there is no middle and the first and
last shares are renormalised (U: 50/50, J: 25/75, inverse J: 75/25); with n = 1 the
single touch gets everything.
"""

from __future__ import annotations

import numpy as np

from attribution.journeys import Journeys
from attribution.kernels.rules import milestone_credit
from attribution.models.base import RuleModel, TouchCredit
from attribution.models.weights import check_weights


class PositionBased(RuleModel):
    """First/middle/last shares (default U-shaped 40/20/40)."""

    name = "position_based"

    def __init__(self, first: float = 0.4, middle: float = 0.2, last: float = 0.4) -> None:
        self.first = first
        self.middle = middle
        self.last = last

    def _check_params(self) -> None:
        check_weights(self.name, self.get_params())

    def _credit(self, journeys: Journeys) -> TouchCredit:
        lengths = journeys.lengths
        positions = np.stack([np.where(lengths > 0, 0, -1), lengths - 1]).astype(np.int64)
        return TouchCredit(
            *milestone_credit(
                journeys.offsets,
                journeys.conversions,
                journeys.value,
                positions,
                np.array([self.first, self.last], dtype=np.float64),
                float(self.middle),
            )
        )


class JShaped(PositionBased):
    """20% first, 20% middle, 60% last."""

    name = "j_shaped"

    def __init__(self, first: float = 0.2, middle: float = 0.2, last: float = 0.6) -> None:
        self.first = first
        self.middle = middle
        self.last = last


class InverseJ(PositionBased):
    """60% first, 20% middle, 20% last."""

    name = "inverse_j"

    def __init__(self, first: float = 0.6, middle: float = 0.2, last: float = 0.2) -> None:
        self.first = first
        self.middle = middle
        self.last = last
