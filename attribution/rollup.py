"""Roll-ups: touch credits summed by any combination of dimensions.

A group is a combination of dimension labels (e.g. channel x team) that occurs on at
least one touch in the credit window; groups a model credits nothing still appear, with
0, so models can be compared row by row. ``share`` is the group's credited value over
the model's total credited value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.journeys import DIMENSIONS, Journeys
from attribution.kernels.rollup import sum_by_group, sum_once_per_journey
from attribution.models.base import TouchCredit

CREDIT_COLUMNS = ("credited_conversions", "credited_value", "share")


def check_dimensions(by: Sequence[str]) -> tuple[str, ...]:
    """Validated roll-up dimensions (non-empty, known, no repeats)."""
    by = tuple(by)
    if not by:
        raise ValueError("roll up by at least one dimension")
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"unknown roll-up dimension(s) {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}"
        )
    if len(set(by)) != len(by):
        raise ValueError(f"roll-up dimensions repeat: {', '.join(by)}")
    return by


@dataclass(frozen=True)
class Grouping:
    """Group code of every touch for one combination of dimensions."""

    by: tuple[str, ...]
    group: np.ndarray
    labels: pd.DataFrame

    @classmethod
    def of(cls, journeys: Journeys, by: Sequence[str]) -> Grouping:
        by = check_dimensions(by)
        sizes = [len(journeys.names(d)) for d in by]
        combined = np.zeros(journeys.n_touches, np.int64)
        for dimension, size in zip(by, sizes, strict=True):
            combined = combined * size + journeys.codes(dimension)
        if int(np.prod(sizes, dtype=np.float64)) <= 4 * max(journeys.n_touches, 1024):
            present = np.bincount(combined, minlength=int(np.prod(sizes))) > 0
            keys = np.flatnonzero(present)
            dense = np.cumsum(present) - 1
            group = dense[combined]
        else:
            keys, group = np.unique(combined, return_inverse=True)
        labels = {}
        remaining = keys.copy()
        for dimension, size in reversed(list(zip(by, sizes, strict=True))):
            names = np.asarray(journeys.names(dimension), dtype=object)
            labels[dimension] = names[remaining % size]
            remaining //= size
        frame = pd.DataFrame({d: labels[d] for d in by})
        return cls(by, group.astype(np.int64), frame)


def roll_up(
    journeys: Journeys,
    credit: TouchCredit,
    grouping: Grouping,
    *,
    counts_groups_once: bool = False,
) -> pd.DataFrame:
    """Credited conversions, value and share per group, with the dimension labels."""
    n_groups = len(grouping.labels)
    if counts_groups_once:
        conversions, value = sum_once_per_journey(
            grouping.group, journeys.offsets, credit.conversions, credit.value, n_groups
        )
    else:
        conversions, value = sum_by_group(
            grouping.group, credit.conversions, credit.value, n_groups
        )
    frame = grouping.labels.copy()
    frame["credited_conversions"] = conversions
    frame["credited_value"] = value
    total = value.sum()
    frame["share"] = value / total if total != 0 else 0.0
    return frame.sort_values(list(grouping.by), kind="stable").reset_index(drop=True)
