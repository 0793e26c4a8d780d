"""The generative process: buyers, touches over time, conversion, milestones, values.

One journey per buyer, on a clock running from 0 to the horizon ``H`` (days):

1. **Buyer.** A kind ``k`` (marketing-led, sales-led, partner-led, ...) drawn by share; an
   intent ``z`` (1, or Gamma with mean 1 when the scenario has frailty); a start time
   uniform over the scenario's span; a deal value, log-normal per kind; a conversion
   threshold ``E ~ Exponential(1)``; a sales-cycle length and a win draw.
2. **Causal touches** (the exposure process). For each channel ``c``, touches arrive as a
   Poisson process with ``exposure[k][c]`` expected touches over the horizon, at times
   ``H * U ** timing[c]``. Then follow-up rules run in order: each touch of a rule's
   source triggers, with the rule's probability, a touch of its target an exponential
   lag later. Each touch carries its *lineage*: the bit of its own channel and of every
   touch that (transitively) triggered it. Times are whole seconds.
3. **Hazard and conversion.** The buyer's hazard of conversion is
   ``z * base_hazard[k]`` plus, for every earlier causal touch, a kernel of total
   ``lift[c]`` decaying with half-life ``half_life[c]``, plus one such kernel per
   interaction pair once both of its channels have been touched (an additive hazard,
   Zhang et al. 2014). ``base_hazard[k] = -ln(1 - base_rate[k]) / H``. The buyer converts
   at the first time the cumulative hazard reaches ``E`` (inverse-transform sampling of
   the first event), if that happens within the horizon. Conversion is opportunity
   creation: pipeline.
4. **What is observed.** Causal touches before the conversion time (all of them for
   buyers who do not convert: the journey is cut at conversion). Then passenger touches,
   which are caused by the (impending) conversion or by the buyer's intent and never by
   a channel: closers shortly before a conversion (after its last causal touch), openers
   at the start of the journey. Then deal-stage touches between opportunity creation
   and close. Campaign and touch type are labels drawn uniformly from the channel's
   lists.
5. **Milestones and outcomes.** ``converted_at = opportunity_created_at`` = the
   conversion time, rounded up to the second. ``lead_created_at`` is the first touch of
   a lead-capturing channel at or before conversion, else (for converted journeys)
   the opportunity creation itself. The deal closes a ``Gamma(2, cycle_days / 2)`` number
   of days after opportunity creation and is won with the kind's win rate; deals that
   would close after the snapshot (start + span + horizon) are open (no ``closed_at``,
   no ``won``). ``value`` is the deal value for converted journeys, 0 otherwise.

Buyers with no touch at all never show up in touch data, so they are left out of both
written tables (they count in the truth, where they can lose nothing to any channel).

Randomness comes from one seed split into independent streams (buyers, exposure,
follow-ups, passengers, deal stage, labels), so the same seed gives the same data and
every draw is made once: :mod:`attribution.simulate.truth` re-evaluates the same
buyers and touches with a channel removed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from attribution.simulate.kernels import (
    conversion_days,
    horizon_hazard,
    label_codes,
    order_by_journey_time,
    pick_channels,
    touch_seconds,
)
from attribution.simulate.spec import Scenario

SECONDS_PER_DAY = 86_400
NANOS_PER_SECOND = 1_000_000_000
NAT = np.iinfo(np.int64).min
#: Independent random streams split from the seed, in this order.
#: Streams are spawned by position, so adding one at the end leaves the others unchanged.
STREAMS = ("buyers", "exposure", "follow_ups", "passengers", "deal_stage", "labels", "response")


@dataclass(frozen=True)
class Buyers:
    """Per-buyer draws (arrays of length ``n``). Times in days unless named seconds."""

    kind: np.ndarray
    intent: np.ndarray
    base_hazard: np.ndarray
    start_seconds: np.ndarray
    value: np.ndarray
    threshold: np.ndarray
    win_draw: np.ndarray
    cycle_days: np.ndarray

    @property
    def n(self) -> int:
        return len(self.kind)


@dataclass(frozen=True)
class CausalTouches:
    """The exposure process of every buyer, over the whole horizon, sorted by time.

    Buyer ``j`` owns ``offsets[j]:offsets[j + 1]``. ``seconds`` since the journey start;
    ``lineage`` has bit ``c`` set when switching channel ``c`` off removes the touch.
    """

    offsets: np.ndarray
    channel: np.ndarray
    seconds: np.ndarray
    lineage: np.ndarray

    @cached_property
    def journey(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int64), np.diff(self.offsets))

    @cached_property
    def days(self) -> np.ndarray:
        return self.seconds / SECONDS_PER_DAY


@dataclass(frozen=True)
class Effects:
    """The causal parameters of a scenario as the kernels take them.

    Per channel: ``lift``, decay ``rate`` (per day), ``amplitude = lift * rate`` (the
    hazard a touch adds at once) and ``group``, the index of its rate in ``group_rate``
    (the distinct rates of channels and pairs). Per interaction pair: channel indices,
    ``pair_lift``, ``pair_rate``, ``pair_amplitude``, ``pair_group``.
    """

    lift: np.ndarray
    rate: np.ndarray
    amplitude: np.ndarray
    group: np.ndarray
    group_rate: np.ndarray
    pair_first: np.ndarray
    pair_second: np.ndarray
    pair_lift: np.ndarray
    pair_rate: np.ndarray
    pair_amplitude: np.ndarray
    pair_group: np.ndarray

    @classmethod
    def of(cls, scenario: Scenario) -> Effects:
        index = {name: i for i, name in enumerate(scenario.channel_names)}
        lift = np.array([c.lift for c in scenario.channels], np.float64)
        rate = np.array([math.log(2) / c.half_life_days for c in scenario.channels], np.float64)
        pairs = scenario.interactions
        pair_lift = np.array([p.lift for p in pairs], np.float64)
        pair_rate = np.array([math.log(2) / p.half_life_days for p in pairs], np.float64)
        group_rate, groups = np.unique(np.concatenate([rate, pair_rate]), return_inverse=True)
        return cls(
            lift=lift,
            rate=rate,
            amplitude=lift * rate,
            group=groups[: len(rate)].astype(np.int64),
            group_rate=group_rate,
            pair_first=np.array([index[p.first] for p in pairs], np.int64),
            pair_second=np.array([index[p.second] for p in pairs], np.int64),
            pair_lift=pair_lift,
            pair_rate=pair_rate,
            pair_amplitude=pair_lift * pair_rate,
            pair_group=groups[len(rate) :].astype(np.int64),
        )


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per part of the process, all from ``seed``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


def draw_buyers(scenario: Scenario, n: int, rng: np.random.Generator) -> Buyers:
    """Kind, intent, start, value, conversion threshold and deal-cycle draws of ``n`` buyers."""
    kinds = scenario.kinds
    share = np.array([k.share for k in kinds], np.float64)
    kind = np.searchsorted(np.cumsum(share / share.sum())[:-1], rng.random(n), side="right")
    if scenario.frailty_shape is None:
        intent = np.ones(n)
    else:
        shape = scenario.frailty_shape
        intent = rng.gamma(shape, 1.0 / shape, n)
    base = np.array([-math.log1p(-k.base_rate) / scenario.horizon_days for k in kinds])
    span = round(scenario.span_days * SECONDS_PER_DAY)
    start = rng.integers(0, span + 1, n, dtype=np.int64)
    log_median = np.log([k.value_median for k in kinds])
    sigma = np.array([k.value_sigma for k in kinds])
    value = np.maximum(
        1.0, np.round(np.exp(log_median[kind] + sigma[kind] * rng.standard_normal(n)))
    )
    threshold = rng.standard_exponential(n)
    win_draw = rng.random(n)
    cycle_mean = np.array([k.cycle_days for k in kinds])
    cycle = rng.gamma(2.0, 1.0, n) * cycle_mean[kind] / 2.0
    return Buyers(
        kind=kind.astype(np.int64),
        intent=intent,
        base_hazard=intent * base[kind],
        start_seconds=start,
        value=value,
        threshold=threshold,
        win_draw=win_draw,
        cycle_days=cycle,
    )


def draw_causal_touches(
    scenario: Scenario,
    buyers: Buyers,
    exposure_rng: np.random.Generator,
    follow_up_rng: np.random.Generator,
) -> CausalTouches:
    """The exposure process of every buyer over the whole horizon, with follow-ups.

    The Poisson processes of a buyer's channels are drawn as their superposition: a
    Poisson total, then each touch's channel in proportion to its expected count.
    """
    names = scenario.channel_names
    n_channels = len(names)
    index = {name: i for i, name in enumerate(names)}
    rates = np.zeros((len(scenario.kinds), n_channels))
    for k, kind in enumerate(scenario.kinds):
        for name, mean in kind.exposure.items():
            rates[k, index[name]] = mean
    totals = rates.sum(axis=1)
    counts = exposure_rng.poisson(totals[buyers.kind])
    journey = np.repeat(np.arange(buyers.n, dtype=np.int64), counts)
    cdf = np.cumsum(rates / np.where(totals > 0, totals, 1.0)[:, None], axis=1)
    cdf[:, -1] = 1.0
    channel = pick_channels(buyers.kind[journey], exposure_rng.random(len(journey)), cdf)
    horizon = round(scenario.horizon_days * SECONDS_PER_DAY)
    timing = np.array([c.timing for c in scenario.channels])
    seconds = touch_seconds(exposure_rng.random(len(journey)), channel, timing, np.int64(horizon))
    lineage = np.left_shift(np.int64(1), channel)

    # Each rule runs over every touch made so far (the exposure and earlier rules' follow-
    # ups); the parts are joined once at the end.
    parts = [(journey, channel, seconds, lineage)]
    for rule in scenario.follow_ups:
        source_code, target = index[rule.source], index[rule.target]
        made = []
        for part_journey, part_channel, part_seconds, part_lineage in parts:
            source = np.flatnonzero(part_channel == source_code)
            hit = follow_up_rng.random(len(source)) < rule.probability
            lag = np.ceil(follow_up_rng.exponential(rule.lag_days * SECONDS_PER_DAY, len(source)))
            child_seconds = part_seconds[source] + lag.astype(np.int64)
            keep = hit & (child_seconds <= horizon)
            parents = source[keep]
            made.append(
                (
                    part_journey[parents],
                    np.full(len(parents), target, np.int64),
                    child_seconds[keep],
                    part_lineage[parents] | np.left_shift(np.int64(1), target),
                )
            )
        parts.extend(made)
    journey, channel, seconds, lineage = (
        np.concatenate([part[i] for part in parts]) for i in range(4)
    )

    order = order_by_journey_time(journey, seconds, buyers.n)
    offsets = np.concatenate(([0], np.cumsum(np.bincount(journey, minlength=buyers.n))))
    return CausalTouches(
        offsets=offsets.astype(np.int64),
        channel=channel[order],
        seconds=seconds[order],
        lineage=lineage[order],
    )


def contributions(scenario: Scenario, touches: CausalTouches, effects: Effects) -> np.ndarray:
    """Cumulative hazard each causal touch has delivered by the horizon."""
    channel = touches.channel
    remaining = scenario.horizon_days - touches.days
    return effects.lift[channel] * -np.expm1(-effects.rate[channel] * remaining)


def hazard_at_horizon(
    scenario: Scenario,
    buyers: Buyers,
    touches: CausalTouches,
    effects: Effects,
    contribution: np.ndarray,
) -> np.ndarray:
    """Cumulative hazard of each buyer at the horizon (converts iff it reaches the threshold)."""
    return horizon_hazard(
        touches.offsets,
        touches.channel,
        touches.lineage,
        touches.days,
        contribution,
        buyers.base_hazard,
        float(scenario.horizon_days),
        effects.pair_first,
        effects.pair_second,
        effects.pair_lift,
        effects.pair_rate,
    )


def conversion_seconds(
    scenario: Scenario,
    buyers: Buyers,
    touches: CausalTouches,
    effects: Effects,
    at_horizon: np.ndarray,
) -> np.ndarray:
    """Second of conversion (rounded up) of each buyer; -1 for buyers who do not convert.

    A buyer converts when its cumulative hazard at the horizon reaches its threshold;
    the walk through its touches then finds when.
    """
    converts = at_horizon >= buyers.threshold
    days = conversion_days(
        touches.offsets,
        touches.channel,
        touches.days,
        converts,
        buyers.base_hazard,
        buyers.threshold,
        float(scenario.horizon_days),
        effects.amplitude,
        effects.group,
        effects.group_rate,
        effects.pair_first,
        effects.pair_second,
        effects.pair_amplitude,
        effects.pair_group,
    )
    exact = np.where(converts, days * SECONDS_PER_DAY, 0.0)
    return np.where(converts, np.ceil(exact), -1).astype(np.int64)


@dataclass(frozen=True)
class Observed:
    """The touches and outcomes of a simulation, as the engine reads them."""

    touches: pd.DataFrame
    outcomes: pd.DataFrame


class _TouchList:
    """Observed touches: the causal ones (already sorted by journey and time), and extra
    touches merged in by time; on equal times, causal touches come first, then the extras
    in the order they were added."""

    def __init__(self, journey: np.ndarray, seconds: np.ndarray, channel: np.ndarray) -> None:
        self.journey, self.seconds, self.channel = journey, seconds, channel
        self.extras: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []

    def add(
        self, journey: np.ndarray, seconds: np.ndarray, channel: np.ndarray, *, deal: bool
    ) -> None:
        self.extras.append((journey, seconds, channel, deal))

    def merged(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Journey, seconds, channel and deal-stage flag of every touch, in time order."""
        journey = np.concatenate([e[0] for e in self.extras] + [np.zeros(0, np.int64)])
        seconds = np.concatenate([e[1] for e in self.extras] + [np.zeros(0, np.int64)])
        channel = np.concatenate([e[2] for e in self.extras] + [np.zeros(0, np.int64)])
        deal = np.concatenate([np.full(len(e[0]), e[3]) for e in self.extras] + [np.zeros(0, bool)])
        order = np.lexsort((seconds, journey))
        bits = max(int(seconds.max(initial=0)), int(self.seconds.max(initial=0)), 1).bit_length()
        at = np.searchsorted(
            (self.journey << bits) | self.seconds,
            (journey[order] << bits) | seconds[order],
            side="right",
        )
        return (
            np.insert(self.journey, at, journey[order]),
            np.insert(self.seconds, at, seconds[order]),
            np.insert(self.channel, at, channel[order]),
            np.insert(np.zeros(len(self.journey), bool), at, deal[order]),
        )


def observe(
    scenario: Scenario,
    buyers: Buyers,
    causal: CausalTouches,
    converted_at: np.ndarray,
    rngs: dict[str, np.random.Generator],
) -> Observed:
    """The touch and outcome tables: the journeys cut at conversion, plus passengers,
    deal-stage touches, labels and milestones (steps 4 and 5 of the module docstring)."""
    index = {name: i for i, name in enumerate(scenario.channel_names)}
    converted = converted_at >= 0
    journey = causal.journey
    cut = np.where(converted, converted_at, np.iinfo(np.int64).max)
    # A causal touch is observed when it comes before the conversion: the conversion time
    # was solved from the touches strictly before it, so rounding up keeps them.
    before = causal.seconds < cut[journey]
    touches = _TouchList(journey[before], causal.seconds[before], causal.channel[before])
    # The last causal touch before conversion (0 if none): closers come after it.
    last_causal = np.zeros(buyers.n, np.int64)
    is_last = np.ones(len(touches.journey), bool)
    is_last[:-1] = touches.journey[1:] != touches.journey[:-1]
    last_causal[touches.journey[is_last]] = touches.seconds[is_last]

    rng = rngs["passengers"]
    for passenger in scenario.passengers:
        draw = rng.random(buyers.n)
        lag = np.ceil(rng.exponential(passenger.lag_days * SECONDS_PER_DAY, buyers.n))
        if passenger.role == "closer":
            hit = converted & (draw < passenger.probability)
            seconds = np.maximum(converted_at - lag.astype(np.int64), last_causal)
        else:
            hit = draw < np.minimum(1.0, passenger.probability * buyers.intent)
            seconds = np.zeros(buyers.n, np.int64)
        who = np.flatnonzero(hit)
        touches.add(who, seconds[who], np.full(len(who), index[passenger.channel]), deal=False)

    rng = rngs["deal_stage"]
    snapshot = round((scenario.span_days + scenario.horizon_days) * SECONDS_PER_DAY)
    until_snapshot = snapshot - buyers.start_seconds
    close = converted_at + np.ceil(buyers.cycle_days * SECONDS_PER_DAY).astype(np.int64)
    closed = converted & (close <= until_snapshot)
    end = np.where(closed, close, until_snapshot)
    width = np.where(converted, end - converted_at, 0)
    for deal in scenario.deal_touches:
        counts = rng.poisson(deal.mean, buyers.n) * (width >= 1)
        who = np.repeat(np.arange(buyers.n, dtype=np.int64), counts)
        offset = np.floor(rng.random(len(who)) * width[who]).astype(np.int64)
        touches.add(
            who, converted_at[who] + 1 + offset, np.full(len(who), index[deal.channel]), deal=True
        )

    journey, seconds, channel, deal_stage = touches.merged()
    lead = _lead_created(scenario, buyers.n, journey, seconds, channel, deal_stage, converted_at)
    kinds = buyers.kind
    win_rate = np.array([k.win_rate for k in scenario.kinds])
    won = closed & (buyers.win_draw < win_rate[kinds])
    present = np.bincount(journey, minlength=buyers.n) > 0

    origin = pd.Timestamp(scenario.start, tz="UTC").value
    start_nanos = origin + buyers.start_seconds * NANOS_PER_SECOND
    touch_frame = _touch_frame(scenario, journey, seconds, channel, start_nanos, rngs["labels"])

    def when(seconds_: np.ndarray, known: np.ndarray) -> pd.DatetimeIndex:
        return _utc(np.where(known, start_nanos + seconds_ * NANOS_PER_SECOND, NAT))

    ids = np.flatnonzero(present)
    outcomes = pd.DataFrame(
        {
            "journey_id": ids,
            "converted": converted[ids],
            "value": np.where(converted, buyers.value, 0.0)[ids],
            "converted_at": when(converted_at, converted)[ids],
            "lead_created_at": when(lead, lead >= 0)[ids],
            "opportunity_created_at": when(converted_at, converted)[ids],
            "closed_at": when(close, closed)[ids],
            "won": pd.arrays.BooleanArray(won[ids], ~closed[ids]),
        }
    )
    return Observed(touch_frame, outcomes)


def _lead_created(
    scenario: Scenario,
    n: int,
    journey: np.ndarray,
    seconds: np.ndarray,
    channel: np.ndarray,
    deal_stage: np.ndarray,
    converted_at: np.ndarray,
) -> np.ndarray:
    """Second of lead creation per buyer (-1: no lead): the first lead-capturing touch
    before the deal stage; converted journeys without one create the lead with the
    opportunity."""
    captures = np.array([c.captures_lead for c in scenario.channels])
    capture = captures[channel] & ~deal_stage
    capture_journey = journey[capture]
    first = np.ones(len(capture_journey), bool)
    first[1:] = capture_journey[1:] != capture_journey[:-1]
    lead = np.full(n, -1, np.int64)
    lead[capture_journey[first]] = seconds[capture][first]
    return np.where((lead < 0) & (converted_at >= 0), converted_at, lead)


def _touch_frame(
    scenario: Scenario,
    journey: np.ndarray,
    seconds: np.ndarray,
    channel: np.ndarray,
    start_nanos: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    names = list(scenario.channel_names)
    teams = sorted({c.team for c in scenario.channels})
    team_code = np.array([teams.index(c.team) for c in scenario.channels])
    touch_type = _labels(rng, channel, [c.touch_types for c in scenario.channels])
    frame = pd.DataFrame(
        {
            "journey_id": journey,
            "timestamp": _utc(start_nanos[journey] + seconds * NANOS_PER_SECOND),
            "channel": pd.Categorical.from_codes(channel, categories=pd.Index(names)),
            "team": pd.Categorical.from_codes(team_code[channel], categories=pd.Index(teams)),
            "touch_type": touch_type,
        }
    )
    if any(c.campaigns for c in scenario.channels):
        frame["campaign"] = _labels(rng, channel, [c.campaigns for c in scenario.channels])
    return frame


def _labels(
    rng: np.random.Generator, channel: np.ndarray, options: list[tuple[str, ...]]
) -> pd.Categorical:
    """One label per touch drawn uniformly from its channel's options (null if none;
    a draw is made only for touches of channels with several options)."""
    categories = sorted({label for labels in options for label in labels})
    position = {label: i for i, label in enumerate(categories)}
    flat = np.array([position[label] for labels in options for label in labels], np.int64)
    sizes = np.array([len(labels) for labels in options], np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    per_channel = np.bincount(channel, minlength=len(options))
    draw = rng.random(int(per_channel[sizes > 1].sum()))
    codes = label_codes(channel, sizes, starts, flat, draw)
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories))


def _utc(nanos: np.ndarray) -> pd.DatetimeIndex:
    """UTC timestamps from int64 nanoseconds since the epoch (``NAT`` for none)."""
    return pd.to_datetime(nanos.view("M8[ns]"), utc=True)
