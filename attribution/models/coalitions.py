"""Coalition counts: the sufficient statistics of the data-driven Shapley model.

A journey's *coalition* is the set of distinct channels among its touches in the credit
window. For every coalition ``T`` observed in a partition of whole journeys the counts
hold ``n(T)`` (journeys, i.e. the sum of record weights), ``conversions(T)`` and
``value(T)``. They are sums over journeys, so two partitions merge by adding the counts
of equal coalitions, and the merged counts give exactly the fit of the whole.

Journeys with no touch left in the window have the empty coalition; they are left out
(they cannot receive credit, and the engine reports their value as not creditable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attribution.journeys import Journeys
from attribution.kernels.subsets import (
    MAX_MASK_CHANNELS,
    coalition_groups,
    journey_masks,
    journey_types,
)
from attribution.models.base import ModelNotApplicable, ReplicateColumns
from attribution.models.channel_coding import channel_positions, merged_channel_names


def check_channel_count(n_channels: int, model: str) -> None:
    """Coalitions are 63-bit masks: refuse more channels with a way out."""
    if n_channels > MAX_MASK_CHANNELS:
        raise ModelNotApplicable(
            f"{model} supports at most {MAX_MASK_CHANNELS} channels in the credit window, "
            f"the data has {n_channels}; group channels (e.g. a channel_group column mapped "
            "to the channel role) or use shapley_simplified, which has no such limit"
        )


@dataclass(frozen=True)
class CoalitionCounts:
    """Journeys, conversions and value per observed coalition (bit mask), sorted by mask."""

    masks: np.ndarray
    journeys: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    channel_names: tuple[str, ...]

    @classmethod
    def of(cls, journeys: Journeys) -> CoalitionCounts:
        """Counts of one partition of whole journeys."""
        return cls.with_journey_index(journeys)[0]

    @classmethod
    def with_journey_index(cls, journeys: Journeys) -> tuple[CoalitionCounts, np.ndarray]:
        """Counts, and each journey's index among the coalitions (-1: no touches)."""
        check_channel_count(journeys.n_channels, "shapley")
        masks, weight, conversions, value, index = coalition_groups(
            journey_masks(journeys.offsets, journeys.channel),
            np.asarray(journeys.weight, np.float64),
            np.asarray(journeys.conversions, np.float64),
            np.asarray(journeys.value, np.float64),
        )
        return cls(masks, weight, conversions, value, journeys.channel_names), index

    def merge(self, other: CoalitionCounts) -> CoalitionCounts:
        """Counts of the union of two partitions, in the coding of all their channels."""
        names = merged_channel_names(self.channel_names, other.channel_names)
        mine, theirs = self.recoded(names), other.recoded(names)
        return self._reduce(
            np.concatenate((mine.masks, theirs.masks)),
            np.concatenate((mine.journeys, theirs.journeys)),
            np.concatenate((mine.conversions, theirs.conversions)),
            np.concatenate((mine.value, theirs.value)),
            names,
        )

    def recoded(self, channel_names: tuple[str, ...]) -> CoalitionCounts:
        """The same counts with masks over ``channel_names`` (which holds every channel)."""
        if channel_names == self.channel_names:
            return self
        check_channel_count(len(channel_names), "shapley")
        masks = np.zeros_like(self.masks)
        for old, new in enumerate(channel_positions(self.channel_names, channel_names)):
            masks |= ((self.masks >> old) & 1) << new
        return self._reduce(masks, self.journeys, self.conversions, self.value, channel_names)

    @classmethod
    def _reduce(
        cls,
        masks: np.ndarray,
        weight: np.ndarray,
        conversions: np.ndarray,
        value: np.ndarray,
        channel_names: tuple[str, ...],
    ) -> CoalitionCounts:
        keep = masks != 0
        unique, inverse = np.unique(masks[keep], return_inverse=True)
        size = len(unique)
        return cls(
            masks=unique.astype(np.int64),
            journeys=np.bincount(inverse, weight[keep], minlength=size),
            conversions=np.bincount(inverse, conversions[keep], minlength=size),
            value=np.bincount(inverse, value[keep], minlength=size),
            channel_names=channel_names,
        )

    def journey_index(self, journeys: Journeys) -> np.ndarray | None:
        """Each journey's index among these coalitions (-1: no touches), or ``None`` when
        the journeys are coded otherwise or hold a coalition these counts lack."""
        if tuple(journeys.channel_names) != self.channel_names:
            return None
        index = journey_types(journey_masks(journeys.offsets, journeys.channel), self.masks)
        return None if (index == -2).any() else index

    def replicate_columns(self, journeys: Journeys) -> ReplicateColumns | None:
        """Every bootstrap replicate's counts of ``journeys`` (whose counts these are, or a
        superset) at once: each count is a sum over journeys of the journey's weight,
        conversions or value at its coalition, so a replicate's are the same sums weighted
        by its factors; the coalitions a replicate draws no journey of are left out, as
        counting its journeys leaves them out (``None``: journeys coded otherwise)."""
        index = self.journey_index(journeys)
        if index is None:
            return None
        size = len(self.masks)
        weight = np.asarray(journeys.weight, np.float64)
        conversions = np.asarray(journeys.conversions, np.float64)
        value = np.asarray(journeys.value, np.float64)

        def rows(a: int, z: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            chosen = np.flatnonzero(index[a:z] >= 0) + a
            lengths = np.zeros(z - a, np.int64)
            lengths[chosen - a] = 3
            at = index[chosen]
            columns = np.stack((at, size + at, 2 * size + at), axis=1).ravel()
            data = np.stack((weight[chosen], conversions[chosen], value[chosen]), axis=1)
            return lengths, columns, data.ravel()

        def replicate(sums: np.ndarray) -> CoalitionCounts:
            journeys_sum = sums[:size]
            kept = journeys_sum != 0
            return CoalitionCounts(
                masks=self.masks[kept],
                journeys=journeys_sum[kept],
                conversions=sums[size : 2 * size][kept],
                value=sums[2 * size : 3 * size][kept],
                channel_names=self.channel_names,
            )

        return ReplicateColumns(3 * size, rows, 3.0, replicate)

    @property
    def active_channels(self) -> np.ndarray:
        """Codes of the channels that occur in at least one coalition, ascending."""
        union = int(np.bitwise_or.reduce(self.masks)) if len(self.masks) else 0
        return np.array([c for c in range(len(self.channel_names)) if union >> c & 1], np.int64)
