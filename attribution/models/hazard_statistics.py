"""Sufficient statistics of the ``hazard`` model, computed per partition and merged.

**Who is at risk, from when to when.** A journey with touches and weight > 0 is at risk
from its first touch. A converted journey until its conversion ``T`` (``converted_at``).
A journey that did not convert until its first touch plus the horizon ``H``, but never
past the last time in the data (it was observed until then and no longer): ``end =
min(first + H, observed_until)``. ``H`` is ``horizon_days`` or, by default, the longest
first-touch-to-conversion gap among the converted journeys: no conversion was ever seen
later than that after a first touch.

**Conversions without ``converted_at``.** Their time is unknown, only that it came after
every touch (the engine's rule for the credit window). So they give the likelihood what
is known: the journey was at risk and did not convert from its first touch to its last
(no event term, no made-up time); and every touch of theirs may have caused the
conversion (their credit cut is after the last touch). Their first-to-last-touch gaps
count toward the default horizon only when no conversion has a time.

**Two passes.** ``H`` and ``observed_until`` are maxima over all journeys, and every
non-converter's integrals depend on them, so no per-partition sum can be completed
before they are known. Pass 1 computes :class:`HazardHorizon` per partition (merged by
taking maxima); pass 2 computes :class:`HazardStatistics` of each partition with the
merged horizon, and those merge by adding sums and concatenating the converters' rows.
Statistics computed with different horizons refuse to merge (they would silently give
a different fit). ``fit(journeys)`` on all the data runs both passes itself. Pass 1
costs one look at each journey's first and last touch.

**What pass 2 keeps.** The log-likelihood is ``Σ_conv w log(x_j · θ) - Z · θ``, where
``x_j`` is converted journey ``j``'s features at its conversion and ``Z`` the weighted
integrals of every journey's features over its at-risk time (see
:mod:`attribution.kernels.hazard`). So the statistics are ``Z`` (a sum), the converted
journeys' rows ``x_j`` and ``z_j`` (concatenated; ``z_j``, the integrals over the
journey's window, gives each conversion's cumulative hazard and channel parts for the
credit) with their weights (``event_weight``: the weight in the likelihood, 0 without a
conversion time), and for the pair search the same for every candidate pair: ``Z`` per
pair (a sum) and each converted journey's complete pairs as sparse rows. The score test
of a pair at any fitted main-effects model needs only these (its numerator ``Σ_conv w
x_p / η_j - Z_p`` and its information ``Σ_conv w x_p x / η_j²`` use the converted
journeys' rows), so no further pass over the partitions is needed after a fit: forward
selection runs on the merged statistics. Also kept, for the reported checks: touches
just before conversions and in the window before per channel (passenger suspects) and
the statistics of the same model at the reference guard (``reference``).

Every quantity is a weighted sum over journeys or a concatenation of converter rows, so
a record of weight 2 counts as two identical journeys, and statistics of partitions of
whole journeys merge exactly. Partitions loaded apart, each coding only its own
channels, merge in the union coding (sorted names), as for the other models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from attribution.journeys import Journeys
from attribution.kernels.hazard import (
    BLOCKS,
    NANOS_PER_DAY,
    NOT_AT_RISK,
    main_features,
    main_features_parallel,
    pair_features,
    pair_features_parallel,
    row_sizes,
)
from attribution.kernels.segments import NO_TIME, concatenated_ranges
from attribution.models.channel_coding import channel_positions, merged_channel_names

#: Touches from which the statistics are computed on all threads.
PARALLEL_TOUCHES = 2_000_000
#: The largest horizon in nanoseconds (beyond it every non-converter is observed until
#: the end of the data anyway).
_MAX_NANOS = 2**62


@dataclass(frozen=True)
class HazardHorizon:
    """Pass 1: what the at-risk windows of journeys that did not convert depend on.

    ``longest_gap``: the longest first-touch-to-conversion time of a converted journey
    with a conversion time (ns; -1 when none); ``longest_untimed_gap``: the longest
    first-to-last-touch time of one without (ns; -1 when none), used only when no
    conversion has a time; ``observed_until``: the last time in the data, touches and
    conversions (ns; ``NO_TIME`` when there is no touch). Journeys of weight 0 take no
    part. Merged by taking maxima.
    """

    longest_gap: int
    longest_untimed_gap: int
    observed_until: int

    def merge(self, other: HazardHorizon) -> HazardHorizon:
        return HazardHorizon(
            max(self.longest_gap, other.longest_gap),
            max(self.longest_untimed_gap, other.longest_untimed_gap),
            max(self.observed_until, other.observed_until),
        )

    @classmethod
    def of(cls, journeys: Journeys) -> HazardHorizon:
        span = Span.of(journeys)
        gaps = span.conversion - span.first
        timed = gaps[span.converted & span.timed]
        untimed = gaps[span.converted & ~span.timed]
        times = [span.last[span.active], span.conversion[span.converted]]
        observed = max((int(t.max()) for t in times if len(t)), default=NO_TIME)
        return cls(
            int(timed.max()) if len(timed) else -1,
            int(untimed.max()) if len(untimed) else -1,
            observed,
        )


@dataclass(frozen=True)
class HazardSettings:
    """The model parameters the statistics depend on (they must match the fit's)."""

    half_lives: tuple[float, ...]
    pair_half_lives: tuple[float, ...]
    guard: int
    suspect: int
    pairs: str | tuple[tuple[str, str], ...]

    @property
    def rates(self) -> np.ndarray:
        return np.array([math.log(2) / h for h in self.half_lives], np.float64)

    @property
    def pair_rates(self) -> np.ndarray:
        return np.array([math.log(2) / h for h in self.pair_half_lives], np.float64)

    @property
    def n_rates(self) -> int:
        return len(self.half_lives)


@dataclass(frozen=True)
class Span:
    """Per journey record (ns): at risk at all, converted, with a conversion time, first
    and last touch, and the conversion (``converted_at``, else the last touch)."""

    active: np.ndarray
    converted: np.ndarray
    timed: np.ndarray
    first: np.ndarray
    last: np.ndarray
    conversion: np.ndarray

    @classmethod
    def of(cls, journeys: Journeys) -> Span:
        offsets = np.asarray(journeys.offsets, np.int64)
        timestamp = np.asarray(journeys.timestamp, np.int64)
        has_touches = offsets[1:] > offsets[:-1]
        # Journeys without touches read a dummy 0 (a partition may have no touch at all).
        padded = np.append(timestamp, np.int64(0))
        first = np.where(has_touches, padded[offsets[:-1]], 0)
        last = np.where(has_touches, padded[np.maximum(offsets[1:] - 1, 0)], 0)
        converted_at = np.asarray(journeys.converted_at, np.int64)
        timed = converted_at != NO_TIME
        conversion = np.where(timed, converted_at, last)
        converted = np.asarray(journeys.converted, bool)
        active = has_touches & (np.asarray(journeys.weight) > 0)
        # A conversion before the first touch leaves nothing at risk (the engine's window
        # removes such touches; without it they could not have caused the conversion).
        active &= ~converted | (conversion >= first)
        return cls(active, converted & active, timed, first, last, conversion)

    def windows(
        self, horizon: int, observed_until: int, guard: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per journey the end of its at-risk time (its conversion; its last touch when
        the conversion time is unknown; else first touch + the horizon, not past
        ``observed_until``), the end of its window (the same for converted and other
        journeys, for converted ones at least the end of their at-risk time), and its
        credit cut (touches from it on cannot have caused the conversion)."""
        window_end = self.first + np.clip(observed_until - self.first, 0, horizon)
        end = np.where(self.converted, self.conversion, window_end)
        credit_cut = np.where(self.timed, end - guard, self.last + 1)
        return end, np.maximum(end, window_end), credit_cut


@dataclass(frozen=True)
class HazardStatistics:
    """Pass 2: the sufficient statistics of a partition (see the module docstring).

    Main design: column 0 the baseline, ``1 + c·G + g`` channel ``c`` at rate ``g``.
    ``totals`` (columns) and ``pair_totals`` (``C × C × G_pair``, upper triangle) are the
    weighted integrals over every journey's at-risk time. The converted journeys' rows
    are sparse: row ``r``'s main entries are ``row_pointer[r]:row_pointer[r + 1]`` of
    ``row_column``, ``x_values`` (features at the conversion) and ``z_values``
    (integrals over the window), its complete pairs ``pair_pointer[r]:pair_pointer[r +
    1]`` of ``pair_code`` (``a·C + b``), ``x_pairs`` and ``z_pairs`` (one column per pair
    rate); ``weight``, ``event_weight`` (the weight in the likelihood: 0 without a
    conversion time) and ``value`` are per row. ``near``/``before`` count touches per
    channel within ``suspect`` before a known conversion and in the ``suspect`` before
    that, over ``near_days``/``before_days`` of at-risk time. ``journeys``,
    ``conversions``, ``events`` (conversions with a time), ``untimed_conversions`` and
    ``total_value`` are weighted totals of the journeys at risk.
    """

    channel_names: tuple[str, ...]
    settings: HazardSettings
    horizon: int
    observed_until: int
    totals: np.ndarray
    row_pointer: np.ndarray
    row_column: np.ndarray
    x_values: np.ndarray
    z_values: np.ndarray
    weight: np.ndarray
    event_weight: np.ndarray
    value: np.ndarray
    pair_totals: np.ndarray
    pair_pointer: np.ndarray
    pair_code: np.ndarray
    x_pairs: np.ndarray
    z_pairs: np.ndarray
    near: np.ndarray
    before: np.ndarray
    near_days: float
    before_days: float
    journeys: float
    conversions: float
    events: float
    untimed_conversions: float
    total_value: float
    reference: HazardStatistics | None = None

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def n_converters(self) -> int:
        return len(self.weight)

    @property
    def n_columns(self) -> int:
        return len(self.totals)

    # ------------------------------------------------------------ bootstrap
    def reweighted(self, sums: HazardStatistics, factor: np.ndarray) -> HazardStatistics:
        """The statistics of the same journeys with each converter row's weight times
        ``factor`` (its journey's bootstrap factor, 0 for a journey drawn 0 times), given
        ``sums``: the statistics of the reweighted journeys, whose sums over every
        journey (``totals``, ``pair_totals``, ``near``, ``before`` and the scalar totals)
        they take. A row's features do not depend on any weight, so the rows are these
        statistics' own arrays, shared, not copies: a replicate holds only its weights
        and sums. The rows of weight 0 (journeys drawn 0 times) are left out of a fit
        (:meth:`occupied`)."""
        reference = None
        if self.reference is not None and sums.reference is not None:
            reference = self.reference.reweighted(sums.reference, factor)
        weights = replace(
            sums,
            weight=self.weight * factor,
            event_weight=self.event_weight * factor,
            value=self.value * factor,
            reference=reference,
        )
        return weights.with_rows_of(self)

    def occupied(self) -> HazardStatistics:
        """The statistics without the rows of weight 0 (a replicate's converters drawn 0
        times): what the statistics of the reweighted journeys hold, so a fit of these
        is the fit of those, to the last detail (the design's columns, the candidate
        pairs, the warm start's sample of rows). A copy of the kept rows, made for a fit
        and dropped after it; ``self`` when every row has a weight."""
        keep = self.weight > 0
        reference = None if self.reference is None else self.reference.occupied()
        if keep.all():
            return self if reference is self.reference else replace(self, reference=reference)
        rows = np.flatnonzero(keep)
        main = concatenated_ranges(self.row_pointer[rows], self.row_pointer[rows + 1])
        pair = concatenated_ranges(self.pair_pointer[rows], self.pair_pointer[rows + 1])
        return replace(
            self,
            row_pointer=_pointer(np.diff(self.row_pointer)[rows]),
            row_column=self.row_column[main],
            x_values=self.x_values[main],
            z_values=self.z_values[main],
            weight=self.weight[rows],
            event_weight=self.event_weight[rows],
            value=self.value[rows],
            pair_pointer=_pointer(np.diff(self.pair_pointer)[rows]),
            pair_code=self.pair_code[pair],
            x_pairs=self.x_pairs[pair],
            z_pairs=self.z_pairs[pair],
            reference=reference,
        )

    def without_rows(self) -> HazardStatistics:
        """The sums alone: no converter rows (and no reference statistics), what a
        fitted model's credit reads (settings, horizon, end of data); not for a fit."""
        ints, floats = np.zeros(0, np.int64), np.zeros(0)
        pair_rates = self.x_pairs.shape[1:]
        return replace(
            self,
            row_pointer=np.zeros(1, np.int64),
            row_column=ints,
            x_values=floats,
            z_values=floats,
            weight=floats,
            event_weight=floats,
            value=floats,
            pair_pointer=np.zeros(1, np.int64),
            pair_code=ints,
            x_pairs=np.zeros((0, *pair_rates)),
            z_pairs=np.zeros((0, *pair_rates)),
            reference=None,
        )

    def with_rows_of(self, data: HazardStatistics) -> HazardStatistics:
        """These statistics with the row arrays of ``data`` (the statistics of the same
        journeys, whose rows these are: a replicate of ``data``), shared; the merge of two
        replicates takes the rows of the merged data this way."""
        if (data.n_converters, data.channel_names) != (self.n_converters, self.channel_names):
            raise ValueError("with_rows_of needs the statistics of the same journeys")
        reference = self.reference
        if reference is not None and data.reference is not None:
            reference = reference.with_rows_of(data.reference)
        return replace(
            self,
            row_pointer=data.row_pointer,
            row_column=data.row_column,
            x_values=data.x_values,
            z_values=data.z_values,
            pair_pointer=data.pair_pointer,
            pair_code=data.pair_code,
            x_pairs=data.x_pairs,
            z_pairs=data.z_pairs,
            reference=reference,
        )

    # ----------------------------------------------------------------- merging
    def merge(self, other: HazardStatistics) -> HazardStatistics:
        """Statistics of the union of two partitions of whole journeys."""
        if self.settings != other.settings:
            raise ValueError("cannot merge hazard statistics computed with different parameters")
        if (self.horizon, self.observed_until) != (other.horizon, other.observed_until):
            raise ValueError(
                "cannot merge hazard statistics computed with different horizons: compute "
                "the HazardHorizon of every partition first (model.context), merge "
                "them, and pass the merged horizon to model.statistics(part, horizon)"
            )
        names = merged_channel_names(self.channel_names, other.channel_names)
        a, b = self.recoded(names), other.recoded(names)
        reference = None
        if a.reference is not None and b.reference is not None:
            reference = a.reference.merge(b.reference)
        return HazardStatistics(
            channel_names=names,
            settings=a.settings,
            horizon=a.horizon,
            observed_until=a.observed_until,
            totals=a.totals + b.totals,
            row_pointer=_joined_pointers(a.row_pointer, b.row_pointer),
            row_column=np.concatenate([a.row_column, b.row_column]),
            x_values=np.concatenate([a.x_values, b.x_values]),
            z_values=np.concatenate([a.z_values, b.z_values]),
            weight=np.concatenate([a.weight, b.weight]),
            event_weight=np.concatenate([a.event_weight, b.event_weight]),
            value=np.concatenate([a.value, b.value]),
            pair_totals=a.pair_totals + b.pair_totals,
            pair_pointer=_joined_pointers(a.pair_pointer, b.pair_pointer),
            pair_code=np.concatenate([a.pair_code, b.pair_code]),
            x_pairs=np.concatenate([a.x_pairs, b.x_pairs]),
            z_pairs=np.concatenate([a.z_pairs, b.z_pairs]),
            near=a.near + b.near,
            before=a.before + b.before,
            near_days=a.near_days + b.near_days,
            before_days=a.before_days + b.before_days,
            journeys=a.journeys + b.journeys,
            conversions=a.conversions + b.conversions,
            events=a.events + b.events,
            untimed_conversions=a.untimed_conversions + b.untimed_conversions,
            total_value=a.total_value + b.total_value,
            reference=reference,
        )

    def recoded(self, names: tuple[str, ...]) -> HazardStatistics:
        """The same statistics in the coding ``names`` (a superset of this coding)."""
        if names == self.channel_names:
            return self
        position = channel_positions(self.channel_names, names)
        n_new, g = len(names), self.settings.n_rates
        columns = np.concatenate(([0], (1 + position[:, None] * g + np.arange(g)[None, :]).ravel()))
        totals = np.zeros(1 + n_new * g)
        totals[columns] = self.totals
        first, second = np.divmod(self.pair_code, self.n_channels)
        low = np.minimum(position[first], position[second])
        high = np.maximum(position[first], position[second])
        pair_totals = np.zeros((n_new, n_new, self.pair_totals.shape[2]))
        old_a, old_b = np.triu_indices(self.n_channels, 1)
        new_a, new_b = position[old_a], position[old_b]
        pair_totals[np.minimum(new_a, new_b), np.maximum(new_a, new_b)] = self.pair_totals[
            old_a, old_b
        ]
        near, before = np.zeros(n_new), np.zeros(n_new)
        near[position], before[position] = self.near, self.before
        reference = None if self.reference is None else self.reference.recoded(names)
        return replace(
            self,
            channel_names=names,
            totals=totals,
            row_column=columns[self.row_column],
            pair_totals=pair_totals,
            pair_code=(low * n_new + high).astype(np.int64),
            near=near,
            before=before,
            reference=reference,
        )


def _joined_pointers(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a, b[1:] + a[-1]])


def converter_journeys(journeys: Journeys) -> np.ndarray:
    """The journey record of each converter row of the statistics of ``journeys``."""
    return np.flatnonzero(Span.of(journeys).converted)


def horizon_nanos(horizon: HazardHorizon, horizon_days: float | None) -> int:
    """The horizon ``H`` in ns: ``horizon_days``, or the longest gap of a conversion with
    a time, else of one without (0 if none)."""
    if horizon_days is None:
        gap = horizon.longest_gap if horizon.longest_gap >= 0 else horizon.longest_untimed_gap
        return max(gap, 0)
    return min(round(horizon_days * NANOS_PER_DAY), _MAX_NANOS)


def journey_statistics(
    journeys: Journeys,
    settings: HazardSettings,
    horizon: HazardHorizon,
    horizon_days: float | None,
) -> HazardStatistics:
    """Pass 2 on one partition (see the module docstring)."""
    span = Span.of(journeys)
    h = horizon_nanos(horizon, horizon_days)
    until = horizon.observed_until
    start = span.first
    end, window_end, credit_cut = span.windows(h, until, settings.guard)
    converters = np.flatnonzero(span.converted)
    n_converters = len(converters)
    row = np.full(journeys.n_journeys, NOT_AT_RISK, np.int64)
    row[span.active] = -1
    row[converters] = np.arange(n_converters)
    offsets = np.asarray(journeys.offsets, np.int64)
    channel = np.asarray(journeys.channel, np.int64)
    timestamp = np.asarray(journeys.timestamp, np.int64)
    weight = np.asarray(journeys.weight, np.float64)
    value = np.asarray(journeys.value, np.float64)
    n_channels, n_rates = journeys.n_channels, settings.n_rates
    guard = np.int64(settings.guard)
    data = (offsets, channel, timestamp, start, end, window_end, credit_cut, row, weight)
    candidate = _candidates(settings.pairs, journeys.channel_names)
    main_sizes, pair_sizes = row_sizes(data, guard, candidate, n_rates, n_converters)
    row_pointer, pair_pointer = _pointer(main_sizes), _pointer(pair_sizes)
    parallel = journeys.n_touches >= PARALLEL_TOUCHES
    rows = (
        row_pointer,
        np.zeros(row_pointer[-1], np.int64),
        np.zeros(row_pointer[-1]),
        np.zeros(row_pointer[-1]),
    )
    partial = (
        np.zeros((BLOCKS, 1 + n_channels * n_rates)),
        np.zeros((BLOCKS, n_channels)),
        np.zeros((BLOCKS, n_channels)),
    )
    (main_features_parallel if parallel else main_features)(
        data, guard, np.int64(settings.suspect), settings.rates, rows, partial
    )
    totals, near, before = (part.sum(axis=0) for part in partial)
    n_pair_rates = len(settings.pair_half_lives)
    pairs = (
        pair_pointer,
        np.zeros(pair_pointer[-1], np.int64),
        np.zeros((pair_pointer[-1], n_pair_rates)),
        np.zeros((pair_pointer[-1], n_pair_rates)),
    )
    pair_totals = np.zeros((n_channels, n_channels, n_pair_rates))
    if candidate.any():
        pair_partial = np.zeros((BLOCKS, n_channels, n_channels, n_pair_rates))
        (pair_features_parallel if parallel else pair_features)(
            data, guard, candidate, settings.pair_rates, pairs, pair_partial
        )
        pair_totals = pair_partial.sum(axis=0)
    converter_weight = weight[converters]
    event_weight = np.where(span.timed[converters], converter_weight, 0.0)
    timed_days = (end - start)[converters]
    return HazardStatistics(
        channel_names=tuple(journeys.channel_names),
        settings=settings,
        horizon=h,
        observed_until=until,
        totals=totals,
        row_pointer=row_pointer,
        row_column=rows[1],
        x_values=rows[2],
        z_values=rows[3],
        weight=converter_weight,
        event_weight=event_weight,
        value=value[converters],
        pair_totals=pair_totals,
        pair_pointer=pair_pointer,
        pair_code=pairs[1],
        x_pairs=pairs[2],
        z_pairs=pairs[3],
        near=near,
        before=before,
        near_days=_weighted_days(event_weight, np.minimum(timed_days, settings.suspect)),
        before_days=_weighted_days(
            event_weight, np.clip(timed_days - settings.suspect, 0, settings.suspect)
        ),
        journeys=float(weight[span.active].sum()),
        conversions=float(converter_weight.sum()),
        events=float(event_weight.sum()),
        untimed_conversions=float(converter_weight.sum() - event_weight.sum()),
        total_value=float(value[converters].sum()),
    )


def _pointer(counts: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _weighted_days(weight: np.ndarray, nanos: np.ndarray) -> float:
    return float(weight @ (nanos / NANOS_PER_DAY))


def _candidates(
    pairs: str | tuple[tuple[str, str], ...], channel_names: tuple[str, ...]
) -> np.ndarray:
    """Which channel pairs (upper triangle) get pair statistics."""
    n = len(channel_names)
    candidate = np.zeros((n, n), np.bool_)
    if pairs == "auto":
        candidate[np.triu_indices(n, 1)] = True
    elif not isinstance(pairs, str):
        code = {name: c for c, name in enumerate(channel_names)}
        for a, b in pairs:
            if a in code and b in code:
                candidate[min(code[a], code[b]), max(code[a], code[b])] = True
    return candidate
