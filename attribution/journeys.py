"""The encoded journey substrate every model reads.

Touches are stored column-wise as integer codes, sorted by (journey, timestamp, input
order): ties on the timestamp keep the order of the input rows (files of a folder in
sorted path order, rows in file order). Journey ``j`` owns the contiguous touch range
``offsets[j]:offsets[j + 1]``; a journey may have no touch at all (an opportunity nobody
touched: *untouched pipeline*). Per-journey outcome arrays are indexed by journey.

A journey *record* may stand for several identical journeys (``weight``), which is how
aggregated path tables are represented without expanding them: a converted record
carries ``weight`` conversions worth ``value`` in total. The bootstrap reweights records
the same way (:meth:`Journeys.reweighted`).

**Dimensions.** A roll-up dimension labels every touch: the four core labels
(``channel``, ``team``, ``campaign``, ``touch_type``), any further touch column
(``touch_dimensions``: a touch's ``region``, ``source``, ...) and any journey column
(``journey_dimensions``: ``segment``, ``period``, ...; each touch takes its journey's
label). Every dimension is a :class:`Coding`: integer codes into a tuple of names.

Every statistic a model needs is a sum over journeys, so it can be computed on any
partition of whole journeys and merged: :meth:`Journeys.subset` cuts such partitions
and :meth:`Journeys.recoded` puts a partition loaded on its own into a shared coding.

The constructor validates every field once, vectorised (lengths, dtypes, monotone
offsets, code ranges, outcome consistency), so a malformed substrate never reaches a
kernel (numba does not check bounds). :meth:`Journeys.from_arrays` builds one from plain
arrays with defaults for everything optional.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np

from attribution.kernels.segments import (
    NO_TIME,
    concatenated_ranges,
    duplicate_touches,
    first_unsorted_journey,
    keep_mask_for_window,
    lengths_of,
)
from attribution.labels import CORE_DIMENSIONS, MISSING_LABEL, NO_TOUCH_LABEL, UNASSIGNED_TEAM

NANOS_PER_DAY = 86_400 * 1_000_000_000
__all__ = [
    "CORE_DIMENSIONS",
    "MISSING_LABEL",
    "NO_TOUCH_LABEL",
    "UNASSIGNED_TEAM",
    "Coding",
    "Journeys",
    "LabelTables",
    "SubstrateError",
    "WindowCounts",
    "shared_coding",
]
TIME_FIELDS: tuple[str, ...] = (
    "converted_at",
    "lead_created_at",
    "opportunity_created_at",
    "closed_at",
)

Level = Literal["touch", "journey"]


class SubstrateError(ValueError):
    """A :class:`Journeys` (or :class:`Coding`) whose fields are inconsistent."""


@dataclass(frozen=True, eq=False)
class Coding:
    """Integer codes into a tuple of distinct label names."""

    codes: np.ndarray
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", _read_only(np.asarray(self.codes)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Coding):
            return NotImplemented
        return self.names == other.names and np.array_equal(self.codes, other.codes)

    __hash__ = None  # type: ignore[assignment]


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (itself when already read-only): the substrate is
    validated once, so nothing may change it afterwards (``j.channel[0] = 40`` raises).
    The caller's own array is not frozen, only the substrate's view of it."""
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


# Internal derivations (subsets, windows, recodings) of a validated substrate are valid
# by construction; they skip the checks so a window of 10M touches costs no extra pass.
# A context variable, so the switch holds only in the thread (or asyncio task) deriving:
# another thread constructing a Journeys at the same time is still validated.
_TRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar("journeys_trusted", default=False)


@contextlib.contextmanager
def _trusted() -> Iterator[None]:
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


@dataclass(frozen=True, eq=False)
class Journeys:
    """Encoded touches and journey outcomes (see the module docstring).

    Touch arrays (length = number of touches): ``channel``, ``team``, ``campaign``,
    ``touch_type`` (int32 codes into the matching ``*_names``), ``timestamp`` (int64 ns
    UTC; the position in the path for path tables), ``row`` (int64 index of the input
    row, for tracing) and optional ``cost`` (float64 >= 0; NaN where not recorded).

    Journey arrays (length = number of journey records): ``journey_id``, ``converted``
    (bool), ``weight`` (float64 > 0: journeys the record stands for), ``value`` (float64
    >= 0: total value of its conversions, 0 when not converted), the milestone times
    ``converted_at``, ``lead_created_at``, ``opportunity_created_at``, ``closed_at``
    (int64 ns, ``NO_TIME`` when unknown) and ``won`` (int8: 1, 0, or -1 unknown).

    ``touch_dimensions`` / ``journey_dimensions``: further roll-up dimensions by name,
    each a :class:`Coding` over touches / journeys. ``milestone_times``: further funnel
    milestones by name (``mql_at``, ``sql_at``), int64 ns per journey like the others.
    """

    channel: np.ndarray
    team: np.ndarray
    campaign: np.ndarray
    touch_type: np.ndarray
    timestamp: np.ndarray
    row: np.ndarray
    offsets: np.ndarray
    journey_id: np.ndarray
    converted: np.ndarray
    weight: np.ndarray
    value: np.ndarray
    converted_at: np.ndarray
    lead_created_at: np.ndarray
    opportunity_created_at: np.ndarray
    closed_at: np.ndarray
    won: np.ndarray
    channel_names: tuple[str, ...]
    team_names: tuple[str, ...]
    campaign_names: tuple[str, ...] = (MISSING_LABEL,)
    touch_type_names: tuple[str, ...] = (MISSING_LABEL,)
    cost: np.ndarray | None = None
    has_times: bool = True
    touch_dimensions: Mapping[str, Coding] = field(default_factory=dict)
    journey_dimensions: Mapping[str, Coding] = field(default_factory=dict)
    milestone_times: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _TRUSTED.get():
            _validate(self)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                object.__setattr__(self, f.name, _read_only(value))
        times = {name: _read_only(t) for name, t in self.milestone_times.items()}
        object.__setattr__(self, "milestone_times", times)

    # ------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        *,
        offsets: Any,
        channel: Any,
        channel_names: Sequence[str],
        converted: Any,
        value: Any = None,
        weight: Any = None,
        timestamp: Any = None,
        team: Any = None,
        team_names: Sequence[str] | None = None,
        campaign: Any = None,
        campaign_names: Sequence[str] | None = None,
        touch_type: Any = None,
        touch_type_names: Sequence[str] | None = None,
        journey_id: Any = None,
        row: Any = None,
        cost: Any = None,
        converted_at: Any = None,
        lead_created_at: Any = None,
        opportunity_created_at: Any = None,
        closed_at: Any = None,
        won: Any = None,
        touch_dimensions: Mapping[str, tuple[Any, Sequence[str]]] | None = None,
        journey_dimensions: Mapping[str, tuple[Any, Sequence[str]]] | None = None,
    ) -> Journeys:
        """Journeys from plain arrays, converted to the substrate's dtypes and validated.

        Required: ``offsets`` (n_journeys + 1 touch offsets), ``channel`` codes with their
        ``channel_names``, and ``converted`` per journey. Defaults: ``value`` 1 per
        conversion (``weight`` for a converted record, 0 otherwise); ``weight`` 1;
        ``timestamp`` absent (the touch's position in its journey, and
        ``has_times=False``); team ``unassigned``; campaign and touch type ``(none)``;
        ``journey_id`` and ``row`` positions; milestone times unknown; ``won`` unknown.
        Extra dimensions are given as ``{name: (codes, names)}``.
        """
        offsets = _integers("offsets", offsets, np.int64)
        channel = _integers("channel", channel, np.int32)
        n_touches = len(channel)
        _check_offsets(offsets, n_touches)
        n_journeys = max(len(offsets) - 1, 0)
        converted = _flags("converted", converted)
        weight = np.ones(n_journeys) if weight is None else np.asarray(weight, np.float64)
        if value is None:
            value = np.where(converted, weight, 0.0)
        has_times = timestamp is not None
        if timestamp is None:
            starts = np.repeat(offsets[:-1], np.diff(offsets)) if n_journeys else offsets[:0]
            timestamp = np.arange(n_touches, dtype=np.int64) - starts

        def codes(name: str, values: Any) -> np.ndarray:
            if values is None:
                return np.zeros(n_touches, np.int32)
            return _integers(name, values, np.int32)

        def times(name: str, values: Any) -> np.ndarray:
            if values is None:
                return np.full(n_journeys, NO_TIME, np.int64)
            return _integers(name, values, np.int64)

        def dimensions(given: Mapping[str, tuple[Any, Sequence[str]]] | None) -> dict:
            return {
                name: Coding(_integers(name, c, np.int32), tuple(n))
                for name, (c, n) in (given or {}).items()
            }

        return cls(
            channel=channel,
            team=codes("team", team),
            campaign=codes("campaign", campaign),
            touch_type=codes("touch_type", touch_type),
            timestamp=_integers("timestamp", timestamp, np.int64),
            row=np.arange(n_touches, dtype=np.int64) if row is None else _integers("row", row),
            offsets=offsets,
            journey_id=np.arange(n_journeys) if journey_id is None else np.asarray(journey_id),
            converted=converted,
            weight=weight,
            value=np.asarray(value, dtype=np.float64),
            converted_at=times("converted_at", converted_at),
            lead_created_at=times("lead_created_at", lead_created_at),
            opportunity_created_at=times("opportunity_created_at", opportunity_created_at),
            closed_at=times("closed_at", closed_at),
            won=np.full(n_journeys, -1, np.int8) if won is None else _integers("won", won, np.int8),
            channel_names=tuple(channel_names),
            team_names=(UNASSIGNED_TEAM,) if team_names is None else tuple(team_names),
            campaign_names=(MISSING_LABEL,) if campaign_names is None else tuple(campaign_names),
            touch_type_names=(MISSING_LABEL,)
            if touch_type_names is None
            else tuple(touch_type_names),
            cost=None if cost is None else np.asarray(cost, dtype=np.float64),
            has_times=has_times,
            touch_dimensions=dimensions(touch_dimensions),
            journey_dimensions=dimensions(journey_dimensions),
        )

    def _derive(self, **changes: Any) -> Journeys:
        """A copy with some fields replaced, trusted to be consistent (internal use)."""
        with _trusted():
            return replace(self, **changes)

    # ---------------------------------------------------------------- equality
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Journeys):
            return NotImplemented
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, np.ndarray) or isinstance(theirs, np.ndarray):
                if mine is None or theirs is None or not _arrays_equal(mine, theirs):
                    return False
            elif isinstance(mine, Mapping):
                if set(mine) != set(theirs) or not all(
                    _arrays_equal(mine[k], theirs[k])
                    if isinstance(mine[k], np.ndarray)
                    else mine[k] == theirs[k]
                    for k in mine
                ):
                    return False
            elif mine != theirs:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ sizes
    @property
    def n_touches(self) -> int:
        return len(self.channel)

    @property
    def n_journeys(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @cached_property
    def lengths(self) -> np.ndarray:
        """Touches per journey record."""
        return lengths_of(self.offsets)

    @cached_property
    def conversions(self) -> np.ndarray:
        """Conversions per journey record: its weight when converted, else 0."""
        return np.where(self.converted, self.weight, 0.0)

    @cached_property
    def touch_journey(self) -> np.ndarray:
        """The journey index of every touch."""
        return np.repeat(np.arange(self.n_journeys, dtype=np.int64), self.lengths)

    @cached_property
    def duplicate_touches(self) -> int:
        """Touches identical to an earlier one of the same journey in time, channel, team,
        campaign and touch type (each is still credited as the input says)."""
        if not self.has_times:
            return 0
        return int(
            duplicate_touches(
                self.offsets,
                self.timestamp,
                self.channel,
                self.team,
                self.campaign,
                self.touch_type,
            )
        )

    @cached_property
    def touch_conversions(self) -> np.ndarray:
        """Each touch's journey conversions (0 in journeys that did not convert)."""
        return np.repeat(self.conversions, self.lengths)

    @cached_property
    def touch_value(self) -> np.ndarray:
        """Each touch's journey value (0 in journeys that did not convert)."""
        return np.repeat(self.value, self.lengths)

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.value.sum())

    # ------------------------------------------------------------- dimensions
    @property
    def dimensions(self) -> tuple[str, ...]:
        """Every roll-up dimension: the core labels, then touch and journey columns."""
        return CORE_DIMENSIONS + tuple(self.touch_dimensions) + tuple(self.journey_dimensions)

    def level(self, dimension: str) -> Level:
        """Whether a dimension labels touches or journeys."""
        self._check_dimension(dimension)
        return "journey" if dimension in self.journey_dimensions else "touch"

    def codes(self, dimension: str) -> np.ndarray:
        """Touch codes of a roll-up dimension (a journey dimension: each touch's journey's)."""
        self._check_dimension(dimension)
        if dimension in CORE_DIMENSIONS:
            return np.asarray(getattr(self, dimension))
        if dimension in self.touch_dimensions:
            return self.touch_dimensions[dimension].codes
        return np.repeat(self.journey_dimensions[dimension].codes, self.lengths)

    def names(self, dimension: str) -> tuple[str, ...]:
        """Labels of a roll-up dimension's codes."""
        self._check_dimension(dimension)
        if dimension in CORE_DIMENSIONS:
            return tuple(getattr(self, f"{dimension}_names"))
        if dimension in self.touch_dimensions:
            return self.touch_dimensions[dimension].names
        return self.journey_dimensions[dimension].names

    def _check_dimension(self, dimension: str) -> None:
        if dimension not in self.dimensions:
            raise ValueError(
                f"unknown dimension {dimension!r}; this data has {', '.join(self.dimensions)}"
            )

    def with_journey_dimension(self, name: str, coding: Coding) -> Journeys:
        """A copy with one more journey-level dimension (validated)."""
        if name in self.dimensions:
            raise ValueError(f"the data already has a dimension {name!r}")
        dimensions = {**self.journey_dimensions, name: coding}
        _check_coding(name, coding, self.n_journeys)
        return self._derive(journey_dimensions=dimensions)

    # ------------------------------------------------------------- reshaping
    def subset(self, journeys: np.ndarray) -> Journeys:
        """The records at the given (sorted) journey indices, with their touches.

        Codes and name tables are kept, so statistics and credits of subsets are in one
        coding and can be merged or summed.
        """
        journeys = np.asarray(journeys, dtype=np.int64)
        touch_index = concatenated_ranges(self.offsets[journeys], self.offsets[journeys + 1])
        return self._take(touch_index, journeys)

    @cached_property
    def converted_only(self) -> Journeys:
        """The converted journey records alone (with their touches)."""
        if self.converted.all():
            return self
        return self.subset(np.flatnonzero(self.converted))

    def keep_touches(self, keep: np.ndarray) -> Journeys:
        """The same journey records with only the touches where ``keep`` is true."""
        kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
        offsets = kept_before[self.offsets]
        touch_index = np.flatnonzero(keep)
        taken = self._take(touch_index, np.arange(self.n_journeys, dtype=np.int64))
        return taken._derive(offsets=offsets)

    def _take(self, touch_index: np.ndarray, journeys: np.ndarray) -> Journeys:
        lengths = self.lengths[journeys]
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        return self._derive(
            channel=self.channel[touch_index],
            team=self.team[touch_index],
            campaign=self.campaign[touch_index],
            touch_type=self.touch_type[touch_index],
            timestamp=self.timestamp[touch_index],
            row=self.row[touch_index],
            cost=None if self.cost is None else self.cost[touch_index],
            offsets=offsets,
            journey_id=self.journey_id[journeys],
            converted=self.converted[journeys],
            weight=self.weight[journeys],
            value=self.value[journeys],
            converted_at=self.converted_at[journeys],
            lead_created_at=self.lead_created_at[journeys],
            opportunity_created_at=self.opportunity_created_at[journeys],
            closed_at=self.closed_at[journeys],
            won=self.won[journeys],
            touch_dimensions={
                name: Coding(c.codes[touch_index], c.names)
                for name, c in self.touch_dimensions.items()
            },
            journey_dimensions={
                name: Coding(c.codes[journeys], c.names)
                for name, c in self.journey_dimensions.items()
            },
            milestone_times={name: t[journeys] for name, t in self.milestone_times.items()},
        )

    def reweighted(self, multiplier: np.ndarray) -> Journeys:
        """The records with weights (and values) multiplied per record; records whose
        multiplier is 0 are dropped (they stand for no journey).

        This is a bootstrap replicate when the multipliers are resampling weights: every
        model then fits and credits the replicate as if each record had been duplicated
        that many times.
        """
        multiplier = np.asarray(multiplier, dtype=np.float64)
        if multiplier.shape != (self.n_journeys,):
            raise ValueError(
                f"multiplier needs one value per journey record ({self.n_journeys}), "
                f"got shape {multiplier.shape}"
            )
        if not (np.isfinite(multiplier).all() and (multiplier >= 0).all()):
            raise ValueError("multipliers must be finite numbers >= 0")
        kept = self if (multiplier > 0).all() else self.subset(np.flatnonzero(multiplier > 0))
        factor = multiplier[multiplier > 0]
        return kept._derive(weight=kept.weight * factor, value=kept.value * factor)

    def recoded(
        self,
        *,
        channel_names: Sequence[str] | None = None,
        team_names: Sequence[str] | None = None,
        campaign_names: Sequence[str] | None = None,
        touch_type_names: Sequence[str] | None = None,
        dimensions: Mapping[str, Sequence[str]] | None = None,
    ) -> Journeys:
        """The same journeys with labels coded by the given name tables.

        Each table must hold every label the journeys use (it may hold more: a shared
        coding of several partitions loaded apart). Dimensions not given keep their
        coding. Statistics, fitted models and credits of partitions recoded to one coding
        can be merged and summed.
        """
        changes: dict[str, Any] = {}
        core = {
            "channel": channel_names,
            "team": team_names,
            "campaign": campaign_names,
            "touch_type": touch_type_names,
        }
        for dimension, names in core.items():
            if names is None:
                continue
            codes, table = _recode(
                dimension, getattr(self, dimension), self.names(dimension), names
            )
            changes[dimension], changes[f"{dimension}_names"] = codes, table
        touch_dims, journey_dims = dict(self.touch_dimensions), dict(self.journey_dimensions)
        for dimension, names in (dimensions or {}).items():
            target = touch_dims if dimension in touch_dims else journey_dims
            if dimension not in target:
                raise ValueError(f"unknown dimension {dimension!r} to recode")
            codes, table = _recode(
                dimension, target[dimension].codes, target[dimension].names, names
            )
            target[dimension] = Coding(codes, table)
        return self._derive(**changes, touch_dimensions=touch_dims, journey_dimensions=journey_dims)

    def window(
        self, lookback_days: float | None, exclude: np.ndarray | None = None
    ) -> tuple[Journeys, WindowCounts]:
        """The touches that can be credited, and counts of those left out.

        ``exclude`` marks touches no model may credit (say every ``direct`` touch): they
        are left out first, as if they had not happened, and counted.

        A touch after the journey's conversion time (``converted_at``) is never credited
        for it; a touch at exactly that time is. With a lookback of ``L`` days, touches
        earlier than ``reference - L`` are left out, where the reference is
        ``converted_at`` when known and otherwise the journey's last touch. Journeys that
        did not convert are windowed relative to their last touch, so data-driven models
        see the same window on both kinds of journey.
        """
        if lookback_days is not None and not (math.isfinite(lookback_days) and lookback_days > 0):
            raise ValueError(
                f"lookback_days must be a finite number of days > 0 (a window of 0 days "
                f"credits nothing), got {lookback_days}"
            )
        if lookback_days is not None and not self.has_times:
            raise ValueError("a lookback window needs touch timestamps; path tables have none")
        excluded = 0.0, 0
        if exclude is not None and exclude.any():
            excluded = _weighted_count(exclude, self), int(exclude.sum())
            windowed, counts = self.keep_touches(~exclude).window(lookback_days)
            return windowed, replace(counts, excluded=excluded[0], excluded_rows=excluded[1])
        nanos = None if lookback_days is None else lookback_days * NANOS_PER_DAY
        # A lookback beyond int64 nanoseconds is longer than any span of times: no window.
        lookback = -1 if nanos is None or nanos >= 2.0**63 else round(nanos)
        cutoff = np.where(self.converted, self.converted_at, NO_TIME)
        keep, reason = keep_mask_for_window(self.timestamp, self.offsets, cutoff, lookback)
        counts = WindowCounts(
            after_conversion=_weighted_count(reason == 1, self),
            outside_lookback=_weighted_count(reason == 2, self),
            after_conversion_rows=int((reason == 1).sum()),
            outside_lookback_rows=int((reason == 2).sum()),
        )
        if keep.all():
            return self, counts
        return self.keep_touches(keep), counts


@dataclass(frozen=True)
class LabelTables:
    """The name table of every dimension of one or more partitions: the shared coding.

    Partitions of whole journeys loaded apart number their labels over the labels they
    contain. :meth:`merge` joins the tables of several partitions (the union of each
    dimension's names, sorted, as one load of all their journeys would number them) and
    :meth:`apply` recodes a partition to them, so statistics merge, one fitted model
    credits every partition, and roll-ups of partitions add up.
    """

    tables: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, journeys: Journeys) -> LabelTables:
        return cls({d: journeys.names(d) for d in journeys.dimensions})

    def names(self, dimension: str) -> tuple[str, ...]:
        """The label names of one dimension."""
        return self.tables[dimension]

    def merge(self, other: LabelTables) -> LabelTables:
        if set(self.tables) != set(other.tables):
            raise ValueError(
                "partitions have different dimensions: "
                f"{sorted(self.tables)} and {sorted(other.tables)}"
            )
        return LabelTables(
            {d: tuple(sorted(set(self.tables[d]) | set(other.tables[d]))) for d in self.tables}
        )

    def apply(self, journeys: Journeys) -> Journeys:
        core = {f"{d}_names": self.tables[d] for d in CORE_DIMENSIONS}
        extra = {d: names for d, names in self.tables.items() if d not in CORE_DIMENSIONS}
        return journeys.recoded(**core, dimensions=extra)


def shared_coding(partitions: Sequence[Journeys]) -> list[Journeys]:
    """The partitions recoded to one coding (see :class:`LabelTables`)."""
    if not partitions:
        return []
    tables = LabelTables.of(partitions[0])
    for part in partitions[1:]:
        tables = tables.merge(LabelTables.of(part))
    return [tables.apply(part) for part in partitions]


@dataclass(frozen=True)
class WindowCounts:
    """Touches left out of the credit window (``*_rows``: touch records; others weighted)."""

    after_conversion: float
    outside_lookback: float
    after_conversion_rows: int
    outside_lookback_rows: int
    excluded: float = 0.0
    excluded_rows: int = 0

    def merge(self, other: WindowCounts) -> WindowCounts:
        """The counts of two partitions together."""
        return WindowCounts(
            self.after_conversion + other.after_conversion,
            self.outside_lookback + other.outside_lookback,
            self.after_conversion_rows + other.after_conversion_rows,
            self.outside_lookback_rows + other.outside_lookback_rows,
            self.excluded + other.excluded,
            self.excluded_rows + other.excluded_rows,
        )


def _weighted_count(mask: np.ndarray, journeys: Journeys) -> float:
    if not mask.any():
        return 0.0
    return float(np.repeat(journeys.weight, journeys.lengths)[mask].sum())


def _recode(
    dimension: str, codes: np.ndarray, old: Sequence[str], new: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``codes`` over ``old`` names as codes over ``new`` names (which must hold every
    name in use)."""
    new = tuple(new)
    if new == tuple(old):
        return codes, new
    if len(set(new)) != len(new):
        raise ValueError(f"the {dimension} coding repeats a name")
    index = {name: code for code, name in enumerate(new)}
    used = np.zeros(len(old), bool)
    used[codes] = True
    missing = [old[int(c)] for c in np.flatnonzero(used) if old[int(c)] not in index]
    if missing:
        raise ValueError(
            f"the {dimension} coding lacks {len(missing)} label(s) these journeys use: "
            + ", ".join(map(repr, missing[:5]))
        )
    remap = np.array([index.get(name, -1) for name in old] or [0], dtype=np.int32)
    return remap[codes].astype(np.int32), new


def _arrays_equal(first: np.ndarray, second: np.ndarray) -> bool:
    """Same shape and values, NaN equal to NaN (an unrecorded cost is the same in both)."""
    numeric = first.dtype.kind in "fc" and second.dtype.kind in "fc"
    return bool(np.array_equal(first, second, equal_nan=numeric))


# ------------------------------------------------------------------ validation
_TOUCH_INT32 = ("channel", "team", "campaign", "touch_type")
_JOURNEY_TIMES = TIME_FIELDS


def _validate(journeys: Journeys) -> None:
    """Every field checked once, vectorised; the first inconsistency is an error."""
    offsets = journeys.offsets
    n_touches = len(journeys.channel)
    _check_offsets(offsets, n_touches)
    n_journeys = len(offsets) - 1
    for name in _TOUCH_INT32:
        array = getattr(journeys, name)
        _dtype(name, array, np.int32)
        _length(name, array, n_touches, "touches")
        _code_range(name, array, len(journeys.names(name)))
        _names(f"{name}_names", journeys.names(name))
    _dtype("timestamp", journeys.timestamp, np.int64)
    _length("timestamp", journeys.timestamp, n_touches, "touches")
    _dtype("row", journeys.row, np.int64)
    _length("row", journeys.row, n_touches, "touches")
    if journeys.cost is not None:
        _dtype("cost", journeys.cost, np.float64)
        _length("cost", journeys.cost, n_touches, "touches")
        known = journeys.cost[~np.isnan(journeys.cost)]
        if not (np.isfinite(known).all() and (known >= 0).all()):
            raise SubstrateError("cost must be finite and >= 0 (or NaN: not recorded)")
    _journey_ids(journeys.journey_id, n_journeys)
    _dtype("converted", journeys.converted, np.bool_)
    _length("converted", journeys.converted, n_journeys, "journeys")
    for name in ("weight", "value"):
        array = getattr(journeys, name)
        _dtype(name, array, np.float64)
        _length(name, array, n_journeys, "journeys")
        if not np.isfinite(array).all():
            raise SubstrateError(f"{name} must be finite")
    if (journeys.weight <= 0).any():
        raise SubstrateError("weight must be > 0 (a record stands for at least some journeys)")
    if (journeys.value < 0).any():
        raise SubstrateError("value must be >= 0")
    if (journeys.value[~journeys.converted] != 0).any():
        raise SubstrateError("value must be 0 for journeys that did not convert")
    for name in _JOURNEY_TIMES:
        array = getattr(journeys, name)
        _dtype(name, array, np.int64)
        _length(name, array, n_journeys, "journeys")
    _dtype("won", journeys.won, np.int8)
    _length("won", journeys.won, n_journeys, "journeys")
    if len(journeys.won) and (journeys.won.min() < -1 or journeys.won.max() > 1):
        raise SubstrateError("won must be 1, 0 or -1 (unknown)")
    where = first_unsorted_journey(offsets, journeys.timestamp)
    if where >= 0:
        raise SubstrateError(
            f"touches must be sorted by time within each journey (journey {where} is not)"
        )
    for name, times in journeys.milestone_times.items():
        _dtype(f"milestone {name}", times, np.int64)
        _length(f"milestone {name}", times, n_journeys, "journeys")
    seen = set(CORE_DIMENSIONS)
    for level, dims, size in (
        ("touch", journeys.touch_dimensions, n_touches),
        ("journey", journeys.journey_dimensions, n_journeys),
    ):
        for name, coding in dims.items():
            if name in seen:
                raise SubstrateError(f"dimension {name!r} is defined twice")
            seen.add(name)
            if not isinstance(coding, Coding):
                raise SubstrateError(f"{level} dimension {name!r} must be a Coding")
            _check_coding(name, coding, size)


def _integers(name: str, values: Any, dtype: type = np.int64) -> np.ndarray:
    """``values`` as integers of ``dtype``; floats only when every one is a whole number
    (``0.5`` is refused, never truncated), and never a value ``dtype`` cannot hold."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or (array != np.round(array)).any():
            raise SubstrateError(f"{name} must hold whole numbers, found {_first_bad(array)}")
    elif array.dtype.kind not in "iub" and array.size:
        raise SubstrateError(f"{name} must hold integers, not {array.dtype}")
    if array.size and array.dtype.kind in "iuf":
        limits = np.iinfo(dtype)
        if array.min() < limits.min or array.max() > limits.max:
            raise SubstrateError(f"{name} has values outside the range of {np.dtype(dtype)}")
    return array.astype(dtype)


def _first_bad(array: np.ndarray) -> object:
    bad = ~np.isfinite(array) | (array != np.round(np.nan_to_num(array)))
    return array[np.flatnonzero(bad)[0]].item()


def _flags(name: str, values: Any) -> np.ndarray:
    """``values`` as bools: bools, or numbers that are all 0 or 1 (``5`` is refused)."""
    array = np.asarray(values)
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind not in "iuf" and array.size:
        raise SubstrateError(f"{name} must hold booleans (or 0/1), not {array.dtype}")
    if ((array != 0) & (array != 1)).any():
        bad = array[np.flatnonzero((array != 0) & (array != 1))[0]].item()
        raise SubstrateError(f"{name} must be true/false (or 1/0), found {bad!r}")
    return array.astype(np.bool_)


def _check_offsets(offsets: np.ndarray, n_touches: int) -> None:
    _dtype("offsets", offsets, np.int64)
    if len(offsets) < 1:
        raise SubstrateError("offsets must be a 1-D array of n_journeys + 1 values")
    if offsets[0] != 0:
        raise SubstrateError(f"offsets must start at 0, not {offsets[0]}")
    if len(offsets) > 1 and (np.diff(offsets) < 0).any():
        where = int(np.flatnonzero(np.diff(offsets) < 0)[0])
        raise SubstrateError(f"offsets must not decrease (journey {where})")
    if offsets[-1] != n_touches:
        raise SubstrateError(
            f"offsets claim {int(offsets[-1])} touches but the touch arrays hold {n_touches}"
        )


def _check_coding(name: str, coding: Coding, size: int) -> None:
    _dtype(name, coding.codes, np.int32)
    _length(name, coding.codes, size, "touches or journeys")
    _code_range(name, coding.codes, len(coding.names))
    _names(f"{name} names", coding.names)


def _dtype(name: str, array: Any, dtype: type) -> None:
    if not isinstance(array, np.ndarray) or array.dtype != dtype:
        got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise SubstrateError(f"{name} must be a numpy array of {np.dtype(dtype)}, not {got}")
    if array.ndim != 1:
        raise SubstrateError(f"{name} must be 1-D, not of shape {array.shape}")


def _journey_ids(ids: Any, n_journeys: int) -> None:
    """A 1-D numpy array, one id per journey: integers, or text (object or str dtype)."""
    if not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iuUO":
        got = ids.dtype if isinstance(ids, np.ndarray) else type(ids).__name__
        raise SubstrateError(f"journey_id must be a numpy array of integers or text, not {got}")
    if ids.ndim != 1:
        raise SubstrateError(f"journey_id must be 1-D, not of shape {ids.shape}")
    _length("journey_id", ids, n_journeys, "journeys")


def _length(name: str, array: np.ndarray, expected: int, of: str) -> None:
    if len(array) != expected:
        raise SubstrateError(f"{name} has {len(array)} values, expected {expected} ({of})")


def _code_range(name: str, codes: np.ndarray, n_names: int) -> None:
    if len(codes) and (codes.min() < 0 or codes.max() >= n_names):
        raise SubstrateError(
            f"{name} codes must lie in 0..{n_names - 1} (its names), found "
            f"{int(codes.min())}..{int(codes.max())}"
        )


def _names(name: str, names: tuple[str, ...]) -> None:
    if not isinstance(names, tuple) or not all(isinstance(n, str) for n in names):
        raise SubstrateError(f"{name} must be a tuple of strings")
    if len(set(names)) != len(names):
        raise SubstrateError(f"{name} repeat a name")
