"""The closed-form Shapley models of Zhao, Mahboobi & Bagheri (2018).

**Simplified Shapley** (``shapley_simplified``). The game counts the conversions (value)
of the journeys whose set of distinct channels lies inside the coalition:
``v(S) = Σ_{T ⊆ S} R(T)`` with ``R(T)`` the conversions (value) of journeys whose channel
set is exactly ``T``. ``v`` is a sum of unanimity games, one per observed ``T``, and the
Shapley value of a unanimity game splits its worth evenly over its members, so

    φ_c = Σ_{T ∋ c} R(T) / |T|:

each conversion's value is split evenly over its journey's distinct channels. No
``2^C`` work is needed and any number of channels works. Journeys that did not convert
play no part (``v`` only counts conversions). Per touch, a channel's share of a journey
is split evenly over that channel's touches in the journey.

**Ordered Shapley** (``shapley_ordered``). Zhao et al. refine the simplified value by
touch position: the credit of channel ``c`` at position ``i`` is

    φ_c^i = Σ_{T ∋ c} R_c^i(T) / |T|,

where ``R_c^i(T)`` counts the conversions (value) of journeys with channel set ``T``
whose ``i``-th touch (1-based, within the credit window) is channel ``c``. A channel that
appears at several positions of one journey shares its ``1/|T|`` evenly between them
(the paper leaves repeats implicit; this keeps each conversion credited exactly once),
so every touch receives ``value / (|T| · touches of its channel in the journey)`` and
``Σ_i φ_c^i`` is the simplified value. The per-position credit is learned as
``position_value_`` / ``position_conversions_`` (channel code × position), available as
a table from :meth:`ShapleyOrdered.position_table`, and summarised per channel by the
``mean_position`` column (credit-weighted mean position).

Both models conserve: every converted journey with touches is credited exactly its
value. Neither can give negative credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from attribution.journeys import Journeys
from attribution.kernels.shapley_closed_form import position_sums, simplified_credit
from attribution.models.base import AttributionModel, TouchCredit
from attribution.models.channel_coding import channel_positions, merged_channel_names


def _simplified(journeys: Journeys) -> TouchCredit:
    return TouchCredit(
        *simplified_credit(
            journeys.offsets,
            journeys.channel,
            np.asarray(journeys.conversions, np.float64),
            np.asarray(journeys.value, np.float64),
            journeys.n_channels,
        )
    )


class ShapleySimplified(AttributionModel):
    """Each conversion split evenly over its journey's distinct channels (closed form)."""

    name = "shapley_simplified"
    linear_in_weights: ClassVar[bool] = True

    def credit(self, journeys: Journeys) -> TouchCredit:
        return _simplified(journeys)


@dataclass(frozen=True)
class PositionCredit:
    """Credited conversions and value by (channel code, 0-based position): mergeable."""

    conversions: np.ndarray
    value: np.ndarray
    channel_names: tuple[str, ...]

    def merge(self, other: PositionCredit) -> PositionCredit:
        """Credit of the union of two partitions, in the coding of all their channels."""
        names = merged_channel_names(self.channel_names, other.channel_names)
        mine, theirs = self.recoded(names), other.recoded(names)
        width = max(mine.value.shape[1], theirs.value.shape[1])
        return PositionCredit(
            _pad(mine.conversions, width) + _pad(theirs.conversions, width),
            _pad(mine.value, width) + _pad(theirs.value, width),
            names,
        )

    def recoded(self, channel_names: tuple[str, ...]) -> PositionCredit:
        """The same credit with rows for ``channel_names`` (which holds every channel)."""
        if channel_names == self.channel_names:
            return self
        rows = channel_positions(self.channel_names, channel_names)
        shape = (len(channel_names), self.value.shape[1])
        conversions, value = np.zeros(shape), np.zeros(shape)
        conversions[rows], value[rows] = self.conversions, self.value
        return PositionCredit(conversions, value, channel_names)


def _pad(table: np.ndarray, width: int) -> np.ndarray:
    return np.pad(table, ((0, 0), (0, width - table.shape[1])))


class ShapleyOrdered(AttributionModel):
    """Zhao et al.'s ordered Shapley value: the simplified value by touch position."""

    name = "shapley_ordered"
    linear_in_weights: ClassVar[bool] = True

    def statistics(self, journeys: Journeys) -> PositionCredit:
        credit = _simplified(journeys)
        width = int(journeys.lengths.max()) if journeys.n_journeys else 0
        conversions, value = position_sums(
            journeys.offsets,
            journeys.channel,
            credit.conversions,
            credit.value,
            journeys.n_channels,
            width,
        )
        return PositionCredit(conversions, value, journeys.channel_names)

    def fit_statistics(self, statistics: Any) -> ShapleyOrdered:
        self._check_params()
        positions: PositionCredit = statistics
        self.position_conversions_ = positions.conversions
        self.position_value_ = positions.value
        self.channel_names_ = positions.channel_names
        return self

    def credit(self, journeys: Journeys) -> TouchCredit:
        return _simplified(journeys)

    def position_table(self) -> pd.DataFrame:
        """Credited conversions and value per channel and 1-based touch position."""
        self._check_fitted("position_value_")
        channel, position = np.nonzero(
            (self.position_value_ != 0) | (self.position_conversions_ != 0)
        )
        return pd.DataFrame(
            {
                "channel": np.asarray(self.channel_names_, dtype=object)[channel],
                "position": position + 1,
                "credited_conversions": self.position_conversions_[channel, position],
                "credited_value": self.position_value_[channel, position],
            }
        )

    def channel_columns(self) -> dict[str, np.ndarray]:
        self._check_fitted("position_value_")
        value = self.position_value_
        total = value.sum(axis=1)
        weighted = (value * np.arange(1, value.shape[1] + 1)).sum(axis=1)
        mean = np.divide(weighted, total, out=np.full(len(total), np.nan), where=total != 0)
        return {"mean_position": mean}
