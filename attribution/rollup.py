"""Roll-ups: touch credits summed by any combination of dimensions.

A group is a combination of dimension labels (e.g. channel x team) that occurs on at
least one touch of the input; groups a model credits nothing (none of their touches in
its credit window, or no credit given) still appear, with 0, so every model lists the
same groups and models can be compared row by row. ``share`` is the group's credited value over
the model's total credited value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.journeys import DIMENSIONS, Journeys
from attribution.kernels.rollup import mixed_radix, sum_by_group, sum_once_per_journey
from attribution.models.base import TouchCredit

CREDIT_COLUMNS = ("credited_conversions", "credited_value", "share")


def check_dimensions(by: Sequence[str]) -> tuple[str, ...]:
    """Validated roll-up dimensions (non-empty, known, no repeats)."""
    by = tuple(by)
    if not by:
        raise ValueError("roll up by at least one dimension")
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        known = ", ".join(DIMENSIONS)
        raise ValueError(f"unknown roll-up dimension(s) {', '.join(unknown)}; choose from {known}")
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
    def of(cls, journeys: Journeys, by: Sequence[str], touches: Journeys | None = None) -> Grouping:
        """Groups of every combination present in ``journeys``; group codes for the touches
        of ``touches`` (a subset of the same journeys; default: ``journeys`` itself)."""
        by = check_dimensions(by)
        touches = journeys if touches is None else touches
        sizes = [len(journeys.names(d)) for d in by]
        n_keys = int(np.prod(sizes, dtype=np.float64))
        combined = _combined_codes(journeys, by, sizes)
        target = combined if touches is journeys else _combined_codes(touches, by, sizes)
        if n_keys <= 4 * max(journeys.n_touches, 1024):
            present = np.bincount(combined, minlength=n_keys) > 0
            keys = np.flatnonzero(present)
            dense = np.cumsum(present) - 1
            group = dense[target]
        else:
            keys = np.unique(combined)
            group = np.searchsorted(keys, target)
        labels = {}
        remaining = keys.copy()
        for dimension, size in reversed(list(zip(by, sizes, strict=True))):
            names = np.asarray(journeys.names(dimension), dtype=object)
            labels[dimension] = names[remaining % size]
            remaining //= size
        frame = pd.DataFrame({d: labels[d] for d in by})
        return cls(by, group.astype(np.int64), frame)


def _combined_codes(journeys: Journeys, by: Sequence[str], sizes: Sequence[int]) -> np.ndarray:
    """Mixed-radix code of each touch's combination of dimension codes."""
    first, *rest = by
    combined = journeys.codes(first).astype(np.int64)
    for dimension, size in zip(rest, sizes[1:], strict=True):
        combined = mixed_radix(combined, journeys.codes(dimension), size)
    return combined


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
