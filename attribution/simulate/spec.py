"""What a simulated world is made of: channels, buyer kinds, follow-ups, passengers.

A :class:`Scenario` fully describes the generative process of :mod:`attribution.simulate`
(see :mod:`attribution.simulate.process` for the process itself). Every field is a plain
value, so a scenario can be written out, compared and varied with
:func:`dataclasses.replace`. :meth:`Scenario.check` rejects scenarios the process cannot
run, naming the offending field.

Units: times in days; ``lift`` in units of cumulative hazard (a fully arrived lift ``l``
multiplies the buyer's probability of *not* converting by ``exp(-l)``); exposure in
expected touches per journey over the horizon; money in the currency of the values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

#: Channel bits are stored in one int64 per touch (see ``process``), so at most 63 channels.
MAX_CHANNELS = 63

PassengerRole = Literal["closer", "opener"]


@dataclass(frozen=True)
class Channel:
    """One channel, the team that owns it, its causal effect and how its touches look.

    - ``lift``: the cumulative hazard of conversion one touch adds once its effect has
      fully arrived. The effect arrives as an exponential kernel: a touch at time ``s``
      adds ``lift * r * exp(-r * (t - s))`` to the hazard at every later time ``t``, with
      ``r = ln 2 / half_life_days``. So the effect is strongest right after the touch and
      decays with the time since it; a touch late in the journey has not delivered all of
      its lift by the horizon. ``lift = 0`` makes a channel with no causal effect.
    - ``half_life_days``: how fast the effect decays (short: immediate, long: persistent).
    - ``timing``: touch times within the horizon are ``horizon * U ** timing`` with ``U``
      uniform: 1 spreads touches evenly, > 1 puts them early (door openers), < 1 late.
    - ``touch_types`` and ``campaigns``: labels, one drawn uniformly for each touch; a
      channel without campaigns has a null campaign.
    - ``captures_lead``: a touch of this channel creates a lead (a form fill, a badge
      scan, a referral); the journey's first such touch is its ``lead_created_at``.
    """

    name: str
    team: str
    lift: float = 0.0
    half_life_days: float = 14.0
    timing: float = 1.0
    touch_types: tuple[str, ...] = ("touch",)
    campaigns: tuple[str, ...] = ()
    captures_lead: bool = False


@dataclass(frozen=True)
class BuyerKind:
    """A kind of buyer (marketing-led, sales-led, partner-led, ...).

    - ``share``: relative frequency among journeys (shares are normalised to sum to 1).
    - ``base_rate``: probability that a buyer of average intent converts within the
      horizon with no touch at all (the hazard no channel is responsible for).
    - ``exposure``: expected touches per channel over the whole horizon, before the
      journey is cut at conversion; channels not listed are never touched by this kind.
    - ``value_median``, ``value_sigma``: deal values are log-normal with this median and
      log-scale spread, rounded to whole currency units (at least 1).
    - ``win_rate``: probability that a closed opportunity is won.
    - ``cycle_days``: mean days from opportunity creation to close (Gamma, shape 2).
    """

    name: str
    share: float
    base_rate: float
    exposure: Mapping[str, float]
    value_median: float
    value_sigma: float
    win_rate: float = 0.3
    cycle_days: float = 60.0


@dataclass(frozen=True)
class FollowUp:
    """A touch of ``source`` triggers a touch of ``target`` with ``probability``.

    The follow-up comes ``Exponential(lag_days)`` later (dropped when past the horizon).
    Rules apply in the order given, each to every touch that exists when it runs,
    including touches made by earlier rules: chains (download -> SDR call -> AE meeting)
    are written as successive rules. A follow-up is caused by its source touch, so
    switching the source's channel off removes it too (see :mod:`attribution.simulate.truth`).
    """

    source: str
    target: str
    probability: float
    lag_days: float = 2.0


@dataclass(frozen=True)
class Interaction:
    """Two channels whose combined presence adds ``lift`` (synergy).

    The pair takes effect when the journey has had at least one touch of each: at the
    later of the two channels' first touches, the pair adds a kernel of ``lift`` with
    ``half_life_days``, exactly like a touch. It acts once per journey. With both
    channels' own lifts at 0, the channels only work together.
    """

    first: str
    second: str
    lift: float
    half_life_days: float = 14.0


@dataclass(frozen=True)
class Passenger:
    """Touches of ``channel`` that appear *because* conversion is likely, causing nothing.

    - ``role="closer"``: each converting journey gets, with ``probability``, one touch
      ``Exponential(lag_days)`` before its conversion but not before its last causal
      touch, so it is the last touch (an AE meeting booked on a hot deal, a direct visit
      just before the form).
    - ``role="opener"``: each journey gets, with probability ``min(1, probability * z)``
      where ``z`` is the buyer's intent (see ``Scenario.frailty_shape``), one touch at the
      very start of its journey (a brand search by a buyer who was already in-market).

    Passenger touches never enter the hazard. The channel may also have ordinary
    exposure (through ``BuyerKind.exposure``) with its own ``lift``.
    """

    channel: str
    role: PassengerRole
    probability: float
    lag_days: float = 0.5


@dataclass(frozen=True)
class DealTouches:
    """Touches of ``channel`` during the deal stage of converted journeys.

    ``Poisson(mean)`` touches spread uniformly between opportunity creation and close
    (or the snapshot, for open deals). They come after the conversion being credited, so
    they cause nothing and no model may credit them; they make the data realistic.
    """

    channel: str
    mean: float


@dataclass(frozen=True)
class ExposureResponse:
    """A response that is *not* an additive hazard, to test models outside their comfort.

    A buyer of kind ``k`` converts within the horizon with probability

        p = logistic(logit(base_rate[k]) + Σ_c weights[c] · (1 − e^(−n_c / saturation)))

    where ``n_c`` counts the buyer's touches of ``c`` over the whole horizon, whatever
    their timing (each further touch adds less: saturation). A buyer who converts does so
    ``Exponential(lag_days)`` after its last causal touch (at the horizon at the latest),
    and every causal touch comes before the conversion. *Whether* a buyer converts does
    not depend on when its touches happened; *when* it converts does: the lag after the
    last touch is an exponentially decaying kernel (half-life ``lag_days · ln 2``, 3.5
    days by default), which an additive hazard of decaying effects can mimic. So this
    scenario is misspecified in the response's form, not in its timing: milder for the
    ``hazard`` model than "times carry no information" would be. Channel ``lift``s and
    half-lives, interactions and intent are not used; follow-ups and passengers work as
    usual. Channels not in ``weights`` have no effect.
    """

    weights: Mapping[str, float]
    saturation: float = 2.0
    lag_days: float = 5.0


@dataclass(frozen=True)
class Scenario:
    """A complete, named generative process with its default size and seed.

    - ``horizon_days``: each journey lasts this long; a buyer converts within it or not
      at all. Journeys start uniformly over ``span_days`` from ``start`` (UTC).
    - ``frailty_shape``: ``None`` gives every buyer intent ``z = 1``; a number ``k``
      draws ``z ~ Gamma(k, 1/k)`` (mean 1, variance ``1/k``), which multiplies the buyer's
      base hazard and the probability of an opener passenger. It is the buyers' hidden
      readiness to buy, which no channel causes.
    - The data snapshot is taken at ``start + span_days + horizon_days``: every journey
      has run its full horizon by then, deals closing later are still open.
    - ``response``: ``None`` for the additive hazard of :mod:`attribution.simulate.process`,
      or an :class:`ExposureResponse`.
    """

    name: str
    description: str
    channels: tuple[Channel, ...]
    kinds: tuple[BuyerKind, ...]
    horizon_days: float = 90.0
    seed: int = 0
    journeys: int = 10_000
    frailty_shape: float | None = None
    follow_ups: tuple[FollowUp, ...] = ()
    interactions: tuple[Interaction, ...] = ()
    passengers: tuple[Passenger, ...] = ()
    deal_touches: tuple[DealTouches, ...] = ()
    start: str = "2025-01-01"
    span_days: float = 365.0
    response: ExposureResponse | None = None

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    def channel(self, name: str) -> Channel:
        """The channel called ``name``."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def check(self) -> Scenario:
        """Raise ``ValueError`` naming the first invalid field; return ``self`` if valid."""
        names = self.channel_names
        _require(len(names) > 0, "a scenario needs at least one channel")
        _require(len(names) <= MAX_CHANNELS, f"at most {MAX_CHANNELS} channels, got {len(names)}")
        duplicated = sorted({n for n in names if names.count(n) > 1})
        _require(not duplicated, f"channel names repeat: {', '.join(duplicated)}")
        for c in self.channels:
            where = f"channel {c.name!r}"
            _require(bool(c.name.strip()), "a channel name is empty")
            _require(bool(c.team.strip()), f"{where}: team is empty")
            _require(_finite(c.lift) and c.lift >= 0, f"{where}: lift must be finite and >= 0")
            _positive(c.half_life_days, f"{where}: half_life_days")
            _positive(c.timing, f"{where}: timing")
            _require(len(c.touch_types) > 0, f"{where}: give at least one touch type")
        _require(len(self.kinds) > 0, "a scenario needs at least one buyer kind")
        for k in self.kinds:
            where = f"buyer kind {k.name!r}"
            _positive(k.share, f"{where}: share")
            _require(0 <= k.base_rate < 1, f"{where}: base_rate must be in [0, 1)")
            unknown = sorted(set(k.exposure) - set(names))
            _require(not unknown, f"{where}: exposure to unknown channel(s) {', '.join(unknown)}")
            for name, mean in k.exposure.items():
                _require(_finite(mean) and mean >= 0, f"{where}: exposure to {name} must be >= 0")
            _positive(k.value_median, f"{where}: value_median")
            _require(_finite(k.value_sigma) and k.value_sigma >= 0, f"{where}: value_sigma < 0")
            _require(0 <= k.win_rate <= 1, f"{where}: win_rate must be in [0, 1]")
            _positive(k.cycle_days, f"{where}: cycle_days")
        for rule in self.follow_ups:
            where = f"follow-up {rule.source}->{rule.target}"
            _known(names, (rule.source, rule.target), where)
            _require(0 <= rule.probability <= 1, f"{where}: probability must be in [0, 1]")
            _require(_finite(rule.lag_days) and rule.lag_days >= 0, f"{where}: lag_days < 0")
        for pair in self.interactions:
            where = f"interaction {pair.first}x{pair.second}"
            _known(names, (pair.first, pair.second), where)
            _require(pair.first != pair.second, f"{where}: a pair needs two different channels")
            _require(_finite(pair.lift) and pair.lift >= 0, f"{where}: lift must be >= 0")
            _positive(pair.half_life_days, f"{where}: half_life_days")
        keys = [frozenset((p.first, p.second)) for p in self.interactions]
        _require(len(set(keys)) == len(keys), "an interaction pair is listed twice")
        for passenger in self.passengers:
            where = f"passenger {passenger.channel} ({passenger.role})"
            _known(names, (passenger.channel,), where)
            _require(passenger.role in ("closer", "opener"), f"{where}: role is closer or opener")
            limit = 1.0 if passenger.role == "closer" else math.inf
            _require(
                0 <= passenger.probability <= limit,
                f"{where}: probability must be in [0, {limit}]",
            )
            _require(
                _finite(passenger.lag_days) and passenger.lag_days >= 0, f"{where}: lag_days < 0"
            )
        for deal in self.deal_touches:
            _known(names, (deal.channel,), f"deal touches of {deal.channel}")
            _require(
                _finite(deal.mean) and deal.mean >= 0, f"deal touches of {deal.channel}: mean < 0"
            )
        if self.response is not None:
            _known(names, tuple(self.response.weights), "exposure response")
            for name, weight in self.response.weights.items():
                _require(_finite(weight), f"exposure response: weight of {name} must be finite")
            _positive(self.response.saturation, "exposure response: saturation")
            _positive(self.response.lag_days, "exposure response: lag_days")
        _positive(self.horizon_days, "horizon_days")
        _require(_finite(self.span_days) and self.span_days >= 0, "span_days must be >= 0")
        if self.frailty_shape is not None:
            _positive(self.frailty_shape, "frailty_shape")
        _require(self.journeys >= 1, "journeys must be at least 1")
        return self


def _finite(value: float) -> bool:
    return math.isfinite(value)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"invalid scenario: {message}")


def _positive(value: float, what: str) -> None:
    _require(_finite(value) and value > 0, f"{what} must be finite and > 0")


def _known(names: tuple[str, ...], used: tuple[str, ...], where: str) -> None:
    unknown = [n for n in used if n not in names]
    _require(not unknown, f"{where}: unknown channel(s) {', '.join(unknown)}")
