"""Last non-direct touch: the common web-analytics rule that a direct visit does not take
credit from the marketing that brought the buyer.

Weight 1 on the last touch before the conversion whose channel is not a direct channel
(``direct_channels``, default ``("direct",)``); a journey with direct touches only gives
it to its last touch (as web analytics falls back to direct).
"""

from __future__ import annotations

import numpy as np

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.kernels.rules import last_flagged_credit
from attribution.models.base import RuleModel, TouchCredit


class LastNonDirect(RuleModel):
    """Weight 1 on the last touch that is not direct (else the last touch)."""

    name = "last_non_direct"

    def __init__(self, direct_channels: tuple[str, ...] = ("direct",)) -> None:
        self.direct_channels = direct_channels

    def _check_params(self) -> None:
        channels = self.direct_channels
        if isinstance(channels, str) or not all(isinstance(c, str) for c in channels):
            raise ParameterError(
                f"direct_channels must be a sequence of channel names, not {channels!r}"
            )

    def _credit(self, journeys: Journeys) -> TouchCredit:
        direct = np.array(
            [name in self.direct_channels for name in journeys.channel_names] or [False]
        )
        return TouchCredit(
            *last_flagged_credit(
                journeys.offsets,
                journeys.conversions,
                journeys.value,
                ~direct[journeys.channel],
            )
        )
