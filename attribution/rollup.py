"""Roll-ups: touch credits summed by any combination of dimensions.

A group is a combination of dimension labels (e.g. channel x team) that occurs on at
least one touch of the input; groups a model credits nothing (none of their touches in
its credit window, or no credit given) still appear, with 0, so every model lists the
same groups and models can be compared row by row.

**Untouched pipeline.** Converted journeys with no touch in a model's credit window (no
touch at all, or none left in the lookback window) cannot be credited to any group. A
conserving model's roll-up carries them as more groups whose touch-level labels
(channel, team, ...) are ``(no touch)``; journey-level labels (segment, period) keep
the journey's own, so untouched pipeline shows per segment and per quarter (channel x
segment: a ``(no touch), Ent`` row). A roll-up with no touch-level dimension (by
``segment`` alone) has nowhere to say "untouched" but its labels, so there every
dimension except the period is ``(no touch)``: one untouched row (per period), never a
second ``Ent`` row. The table then adds up to the whole pipeline in.

``share`` is a group's credited value over the value in (the pipeline of every converted
journey), for every model: for a conserving model the shares of its table, untouched
group included, sum to 1; for ``influenced`` each share is the fraction of the pipeline
the group touched (they sum to more than 1).

Group keys are mixed-radix codes of the dimension codes, so partial sums of partitions
in one coding merge by key (:class:`GroupSums`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from attribution.errors import ParameterError
from attribution.journeys import NO_TOUCH_LABEL, Journeys
from attribution.kernels.rollup import mixed_radix, sum_by_group, sum_once_per_journey
from attribution.models.base import TouchCredit
from attribution.periods import PERIOD_DIMENSION

CREDIT_COLUMNS = ("credited_conversions", "credited_value", "share")
_KEY_LIMIT = 2.0**62


def check_dimensions(by: Sequence[str], available: Sequence[str]) -> tuple[str, ...]:
    """Validated roll-up dimensions (non-empty, known, no repeats)."""
    by = tuple(d.strip() for d in by)
    if not by:
        raise ParameterError("roll up by at least one dimension")
    unknown = [d for d in by if d not in available]
    if unknown:
        raise ParameterError(
            f"unknown roll-up dimension(s) {', '.join(map(repr, unknown))}; this data has "
            f"{', '.join(available)} (any other column must be read as a dimension: "
            "dimensions=[...] when loading)"
        )
    if len(set(by)) != len(by):
        raise ParameterError(f"roll-up dimensions repeat: {', '.join(by)}")
    return by


def group_keys(journeys: Journeys, by: Sequence[str]) -> np.ndarray:
    """Mixed-radix key of each touch's combination of dimension codes."""
    sizes = [len(journeys.names(d)) for d in by]
    if float(np.prod(sizes, dtype=np.float64)) >= _KEY_LIMIT:
        raise ParameterError(
            f"the roll-up by {' x '.join(by)} has too many possible groups "
            f"({' x '.join(map(str, sizes))}); roll up by fewer dimensions at once"
        )
    first, *rest = by
    combined = journeys.codes(first).astype(np.int64)
    for dimension, size in zip(rest, sizes[1:], strict=True):
        combined = mixed_radix(combined, journeys.codes(dimension), size)
    return combined


@dataclass(frozen=True)
class GroupSums:
    """Credited conversions and value per group key (sorted, unique), mergeable."""

    keys: np.ndarray
    conversions: np.ndarray
    value: np.ndarray

    def merge(self, other: GroupSums) -> GroupSums:
        keys = np.concatenate((self.keys, other.keys))
        unique, inverse = np.unique(keys, return_inverse=True)
        return GroupSums(
            unique,
            np.bincount(
                inverse, np.concatenate((self.conversions, other.conversions)), len(unique)
            ),
            np.bincount(inverse, np.concatenate((self.value, other.value)), len(unique)),
        )


def _key_space(journeys: Journeys, by: Sequence[str]) -> int:
    return int(np.prod([len(journeys.names(d)) for d in by], dtype=np.float64))


def _dense(journeys: Journeys, by: Sequence[str]) -> bool:
    """Whether the key space is small enough for a lookup table (else: sorting)."""
    return _key_space(journeys, by) <= max(4 * journeys.n_touches, 1 << 20)


def present_groups(journeys: Journeys, by: Sequence[str]) -> np.ndarray:
    """The sorted keys of the groups that occur on a touch of ``journeys``."""
    keys = group_keys(journeys, by)
    if _dense(journeys, by):
        return np.flatnonzero(np.bincount(keys, minlength=_key_space(journeys, by)))
    return np.unique(keys)


def group_index(journeys: Journeys, by: Sequence[str], keys: np.ndarray) -> np.ndarray:
    """Each touch's position among ``keys`` (which hold every group of the touches)."""
    touch_keys = group_keys(journeys, by)
    if _dense(journeys, by):
        table = np.zeros(_key_space(journeys, by), np.int64)
        table[keys] = np.arange(len(keys))
        return table[touch_keys]
    return np.searchsorted(keys, touch_keys)


def sum_groups(
    journeys: Journeys,
    credit: TouchCredit,
    by: Sequence[str],
    keys: np.ndarray,
    *,
    counts_groups_once: bool = False,
    group: np.ndarray | None = None,
) -> GroupSums:
    """Credit summed into the groups ``keys`` (which hold every group of the touches);
    ``group``: the touches' :func:`group_index`, when already known."""
    if group is None:
        group = group_index(journeys, by, keys)
    n_groups = len(keys)
    if counts_groups_once:
        conversions, value = sum_once_per_journey(
            group, journeys.offsets, credit.conversions, credit.value, n_groups
        )
    else:
        conversions, value = sum_by_group(group, credit.conversions, credit.value, n_groups)
    return GroupSums(keys, conversions, value)


class HasNames(Protocol):
    """Anything that tells a dimension's label names (journeys, a shared coding)."""

    def names(self, dimension: str) -> tuple[str, ...]: ...


def labels_of(keys: np.ndarray, journeys: HasNames, by: Sequence[str]) -> pd.DataFrame:
    """The dimension labels of group keys."""
    sizes = [len(journeys.names(d)) for d in by]
    labels = {}
    remaining = keys.astype(np.int64).copy()
    for dimension, size in reversed(list(zip(by, sizes, strict=True))):
        names = np.asarray(journeys.names(dimension), dtype=object)
        labels[dimension] = names[remaining % size]
        remaining //= size
    return pd.DataFrame({d: labels[d] for d in by})


def untouched_labels(journeys: Journeys, by: Sequence[str], mask: np.ndarray) -> pd.DataFrame:
    """The roll-up labels of the journeys in ``mask`` as untouched groups: ``(no touch)``
    for touch-level dimensions, the journey's own label for journey-level ones. A
    roll-up with no touch-level dimension (``segment``, ``segment x period``) labels
    every dimension but the period ``(no touch)``, so the untouched row never repeats a
    touched group's labels (the period too when it is the only dimension)."""
    marked = untouched_marked(journeys, by)
    columns = {}
    for dimension in by:
        if dimension not in marked:
            names = np.asarray(journeys.names(dimension), dtype=object)
            columns[dimension] = names[journeys.journey_dimensions[dimension].codes[mask]]
        else:
            columns[dimension] = np.full(int(mask.sum()), NO_TOUCH_LABEL, dtype=object)
    return pd.DataFrame(columns)


def untouched_marked(journeys: Journeys, by: Sequence[str]) -> set[str]:
    """The dimensions of ``by`` whose label is ``(no touch)`` in an untouched group."""
    touch_level = {d for d in by if journeys.level(d) == "touch"}
    if touch_level:
        return touch_level
    others = {d for d in by if d != PERIOD_DIMENSION}
    return others or set(by)


def untouched_sums(windowed: Journeys, by: Sequence[str]) -> pd.DataFrame:
    """Conversions and value of the converted journeys with no touch in the window, per
    untouched group (see the module docstring)."""
    mask = windowed.converted & (windowed.lengths == 0)
    sums = {"credited_conversions": windowed.weight[mask], "credited_value": windowed.value[mask]}
    return untouched_table(windowed, by, mask, sums)


def untouched_table(
    journeys: Journeys, by: Sequence[str], mask: np.ndarray, sums: dict[str, np.ndarray]
) -> pd.DataFrame:
    """The journeys in ``mask`` as untouched groups (:func:`untouched_labels`), with
    ``sums`` (columns of one value per journey in ``mask``) added up per group, sorted
    by label."""
    labels = untouched_labels(journeys, by, mask)
    columns: dict[str, object] = {str(d): labels[d] for d in labels.columns}
    frame = pd.DataFrame(columns | sums)
    return frame.groupby(list(by), as_index=False, sort=True).sum()


@dataclass(frozen=True)
class SortedGroups:
    """A roll-up's groups in table order, worked out once for every model: ``labels``
    the groups' labels sorted (stably) by label, ``order`` the position in ``keys`` of
    each of those rows."""

    labels: pd.DataFrame
    order: np.ndarray


def sorted_groups(keys: np.ndarray, journeys: HasNames, by: Sequence[str]) -> SortedGroups:
    """The groups of ``keys`` in the order of a roll-up table (see :class:`SortedGroups`)."""
    labels = labels_of(keys, journeys, by).sort_values(list(by), kind="stable")
    return SortedGroups(labels.reset_index(drop=True), labels.index.to_numpy())
