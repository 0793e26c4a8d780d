"""Step-pattern counts: the sufficient statistics of the ``presence`` model.

Every step of every journey with touches (see :mod:`attribution.kernels.presence`) has
an exposure pattern ``(present, recent)``, two channel bit masks. For each distinct
pattern the counts hold the weighted steps lived through without converting
(``at_risk``), the weighted conversions and their value (``conversion_value``: the fit
does not use it; it says how much value the credit's fallback handles). They are sums
over journeys: two partitions merge by adding the counts of equal patterns (in the
coding of the union of their channels), and the merged counts give exactly the fit of
the whole, because the log-likelihood is a sum over patterns of these counts times
functions of the pattern. A path table is already in this form: its rows are distinct
paths with counts.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from attribution.journeys import Journeys
from attribution.kernels.presence import count_patterns
from attribution.models.channel_coding import channel_positions, merged_channel_names
from attribution.models.coalitions import check_channel_count

#: Journeys per thread below which the counting is not split.
CHUNK_JOURNEYS = 50_000


@dataclass(frozen=True)
class StepCounts:
    """Weighted steps at risk and conversions per step pattern, sorted by pattern.

    ``guard`` and ``recent_steps`` are the exposure rules the patterns were made with;
    ``journeys`` is the weighted number of journeys with touches.
    """

    guard: int
    recent_steps: int
    channel_names: tuple[str, ...]
    present: np.ndarray
    recent: np.ndarray
    at_risk: np.ndarray
    conversions: np.ndarray
    conversion_value: np.ndarray
    journeys: float

    @classmethod
    def of(cls, journeys: Journeys, guard: int, recent_steps: int) -> StepCounts:
        """Counts of one partition of whole journeys."""
        check_channel_count(journeys.n_channels, "presence")
        channel = np.ascontiguousarray(journeys.channel)
        offsets = np.asarray(journeys.offsets, np.int64)
        converted = np.asarray(journeys.converted, np.bool_)
        weight = np.asarray(journeys.weight, np.float64)
        value = np.asarray(journeys.value, np.float64)

        def count(first: int, last: int) -> tuple[np.ndarray, ...]:
            # Offsets index the whole touch arrays, so a slice of them is a chunk.
            return tuple(
                count_patterns(
                    channel,
                    offsets[first : last + 1],
                    converted[first:last],
                    weight[first:last],
                    value[first:last],
                    guard,
                    recent_steps,
                )
            )

        n = journeys.n_journeys
        n_chunks = max(1, min(os.cpu_count() or 1, n // CHUNK_JOURNEYS))
        bounds = [n * i // n_chunks for i in range(n_chunks + 1)]
        # The kernel releases the GIL: chunks are counted on threads, then merged.
        with ThreadPoolExecutor(max_workers=n_chunks) as pool:
            parts = list(pool.map(count, bounds[:-1], bounds[1:]))
        present, recent, at_risk, conversions, conversion_value = (
            np.concatenate([part[i] for part in parts]) for i in range(5)
        )
        has_touches = np.asarray(journeys.lengths) > 0
        return cls._reduce(
            guard,
            recent_steps,
            tuple(journeys.channel_names),
            present,
            recent,
            at_risk,
            conversions,
            conversion_value,
            float(weight[has_touches].sum()),
        )

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    def merge(self, other: StepCounts) -> StepCounts:
        """Counts of the union of two partitions, in the coding of all their channels."""
        if (self.guard, self.recent_steps) != (other.guard, other.recent_steps):
            raise ValueError(
                "cannot merge presence statistics made with different guard_steps or recent_steps"
            )
        names = merged_channel_names(self.channel_names, other.channel_names)
        mine, theirs = self.recoded(names), other.recoded(names)
        return self._reduce(
            self.guard,
            self.recent_steps,
            names,
            np.concatenate((mine.present, theirs.present)),
            np.concatenate((mine.recent, theirs.recent)),
            np.concatenate((mine.at_risk, theirs.at_risk)),
            np.concatenate((mine.conversions, theirs.conversions)),
            np.concatenate((mine.conversion_value, theirs.conversion_value)),
            self.journeys + other.journeys,
        )

    def recoded(self, channel_names: tuple[str, ...]) -> StepCounts:
        """The same counts with masks over ``channel_names`` (which holds every channel)."""
        if channel_names == self.channel_names:
            return self
        check_channel_count(len(channel_names), "presence")
        positions = channel_positions(self.channel_names, channel_names)
        present, recent = np.zeros_like(self.present), np.zeros_like(self.recent)
        for old, new in enumerate(positions):
            present |= ((self.present >> old) & 1) << new
            recent |= ((self.recent >> old) & 1) << new
        return self._reduce(
            self.guard,
            self.recent_steps,
            channel_names,
            present,
            recent,
            self.at_risk,
            self.conversions,
            self.conversion_value,
            self.journeys,
        )

    @classmethod
    def _reduce(
        cls,
        guard: int,
        recent_steps: int,
        channel_names: tuple[str, ...],
        present: np.ndarray,
        recent: np.ndarray,
        at_risk: np.ndarray,
        conversions: np.ndarray,
        conversion_value: np.ndarray,
        journeys: float,
    ) -> StepCounts:
        """Patterns made unique and sorted, their counts added."""
        order = np.lexsort((recent, present))
        present, recent = present[order], recent[order]
        new = np.ones(len(order), np.bool_)
        new[1:] = (np.diff(present) != 0) | (np.diff(recent) != 0)
        inverse = np.empty(len(order), np.int64)
        inverse[order] = np.cumsum(new) - 1
        size = int(new.sum())
        return cls(
            guard=guard,
            recent_steps=recent_steps,
            channel_names=channel_names,
            present=np.ascontiguousarray(present[new], dtype=np.int64),
            recent=np.ascontiguousarray(recent[new], dtype=np.int64),
            at_risk=np.bincount(inverse, at_risk, minlength=size),
            conversions=np.bincount(inverse, conversions, minlength=size),
            conversion_value=np.bincount(inverse, conversion_value, minlength=size),
            journeys=journeys,
        )
