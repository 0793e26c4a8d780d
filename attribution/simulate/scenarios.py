"""Named scenarios: presets of the generative process, each with its own seed.

Every preset has the same three buyer kinds (marketing-led, sales-led, partner-led) with
different exposure mixes and deal sizes, and channels owned by the marketing, sdr,
sales and partner teams. Each preset isolates one way attribution models go wrong:

- ``independent``: channels act independently (no interactions, follow-ups or
  passengers, one base rate for every buyer); ``paid_social`` has no effect at all.
- ``last_touch_trap``: ``direct`` is a passenger closer — a visit just before the form on
  70% of conversions, with no effect — so last-touch credits it heavily.
- ``first_touch_trap``: ``organic_search`` is a passenger opener — the brand search of
  buyers who were already in-market, more often the higher their intent — so first
  touch credits it heavily, and it correlates with conversion without causing any.
- ``synergy``: ``webinar`` x ``sdr_call`` and ``paid_social`` x ``paid_search`` only work
  together (no effect alone, a lift as a pair).
- ``long_cycle``: 150-day journeys, 30+ touches on average, slow-decaying effects, follow-up
  chains (content download -> SDR call -> AE meeting).
- ``many_channels``: 24 channels, a quarter of them without effect.
- ``b2b``: the realistic preset behind the bundled fixture: all twelve channels,
  follow-ups, one synergy, an AE meeting booked on hot deals (passenger closer), deal-
  stage meetings after opportunity creation, campaigns and touch types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from attribution.simulate.spec import (
    BuyerKind,
    Channel,
    DealTouches,
    FollowUp,
    Interaction,
    Passenger,
    Scenario,
)

#: The twelve channels of a B2B go-to-market, with teams, timing and labels (no effects).
CHANNELS: tuple[Channel, ...] = (
    Channel(
        "paid_search",
        "marketing",
        touch_types=("ad_click",),
        campaigns=("ps_brand", "ps_generic", "ps_competitor"),
        captures_lead=True,
    ),
    Channel(
        "paid_social",
        "marketing",
        timing=1.5,
        touch_types=("ad_click", "lead_form"),
        campaigns=("social_awareness", "social_retargeting"),
    ),
    Channel("organic_search", "marketing", timing=1.2, touch_types=("page_view",)),
    Channel(
        "webinar",
        "marketing",
        touch_types=("registered", "attended"),
        campaigns=("webinar_product_tour", "webinar_industry_panel", "webinar_customer_story"),
        captures_lead=True,
    ),
    Channel(
        "events",
        "marketing",
        touch_types=("booth_scan", "event_meeting"),
        campaigns=("event_annual_summit", "event_regional_roadshow"),
        captures_lead=True,
    ),
    Channel(
        "content_syndication",
        "marketing",
        timing=1.6,
        touch_types=("download",),
        campaigns=("cs_buyers_guide", "cs_analyst_report"),
        captures_lead=True,
    ),
    Channel(
        "email_nurture",
        "marketing",
        touch_types=("email_click",),
        campaigns=("nurture_onboarding", "nurture_newsletter", "nurture_product_update"),
    ),
    Channel("sdr_call", "sdr", timing=0.8, touch_types=("call_connected",)),
    Channel("sdr_email", "sdr", timing=0.9, touch_types=("email_reply",)),
    Channel("ae_meeting", "sales", timing=0.6, touch_types=("discovery_call", "demo")),
    Channel(
        "partner_referral",
        "partner",
        timing=1.3,
        touch_types=("referral",),
        campaigns=("partner_program",),
        captures_lead=True,
    ),
    Channel("direct", "marketing", timing=0.8, touch_types=("site_visit",)),
)

#: Twelve more channels for the ``many_channels`` scenario.
EXTRA_CHANNELS: tuple[Channel, ...] = (
    Channel("display", "marketing", timing=1.4, touch_types=("impression_click",)),
    Channel("retargeting", "marketing", timing=0.9, touch_types=("ad_click",)),
    Channel("review_sites", "marketing", touch_types=("profile_view",)),
    Channel("podcast", "marketing", timing=1.5, touch_types=("promo_code",)),
    Channel("direct_mail", "marketing", touch_types=("mail_response",), captures_lead=True),
    Channel("video", "marketing", timing=1.3, touch_types=("video_view",)),
    Channel("affiliate", "partner", timing=1.2, touch_types=("referral",), captures_lead=True),
    Channel("reseller", "partner", touch_types=("deal_registration",), captures_lead=True),
    Channel("chat", "sdr", timing=0.8, touch_types=("conversation",)),
    Channel("linkedin_inmail", "sdr", touch_types=("reply",)),
    Channel("executive_briefing", "sales", timing=0.6, touch_types=("briefing",)),
    Channel("customer_reference", "sales", timing=0.5, touch_types=("reference_call",)),
)

#: Expected touches per journey over the horizon, by buyer kind (before the cut at
#: conversion), for the twelve channels.
EXPOSURE: dict[str, dict[str, float]] = {
    "marketing_led": {
        "paid_search": 2.0,
        "paid_social": 2.0,
        "organic_search": 1.6,
        "webinar": 0.8,
        "events": 0.3,
        "content_syndication": 1.2,
        "email_nurture": 2.4,
        "sdr_call": 0.6,
        "sdr_email": 0.8,
        "ae_meeting": 0.3,
        "partner_referral": 0.05,
        "direct": 0.8,
    },
    "sales_led": {
        "paid_search": 0.6,
        "paid_social": 0.5,
        "organic_search": 0.8,
        "webinar": 0.4,
        "events": 0.8,
        "content_syndication": 0.3,
        "email_nurture": 1.0,
        "sdr_call": 2.0,
        "sdr_email": 2.2,
        "ae_meeting": 1.0,
        "partner_referral": 0.1,
        "direct": 0.6,
    },
    "partner_led": {
        "paid_search": 0.4,
        "paid_social": 0.3,
        "organic_search": 0.6,
        "webinar": 0.5,
        "events": 0.4,
        "content_syndication": 0.2,
        "email_nurture": 0.8,
        "sdr_call": 0.5,
        "sdr_email": 0.6,
        "ae_meeting": 0.8,
        "partner_referral": 1.5,
        "direct": 0.5,
    },
}

#: Deal sizes and sales cycles by buyer kind: (share, median value, log-sd, win rate, cycle).
KINDS: dict[str, tuple[float, float, float, float, float]] = {
    "marketing_led": (0.55, 18_000.0, 0.8, 0.22, 45.0),
    "sales_led": (0.30, 55_000.0, 0.9, 0.28, 75.0),
    "partner_led": (0.15, 40_000.0, 0.7, 0.35, 60.0),
}

#: Lift of one touch (cumulative hazard) and half-life in days, for the twelve channels.
EFFECTS: dict[str, tuple[float, float]] = {
    "paid_search": (0.05, 7.0),
    "paid_social": (0.02, 5.0),
    "organic_search": (0.03, 10.0),
    "webinar": (0.10, 21.0),
    "events": (0.12, 30.0),
    "content_syndication": (0.02, 14.0),
    "email_nurture": (0.01, 7.0),
    "sdr_call": (0.06, 10.0),
    "sdr_email": (0.02, 7.0),
    "ae_meeting": (0.15, 14.0),
    "partner_referral": (0.30, 30.0),
    "direct": (0.02, 3.0),
}


def _channels(
    effects: Mapping[str, tuple[float, float]], catalogue: tuple[Channel, ...] = CHANNELS
) -> tuple[Channel, ...]:
    """The catalogue channels named in ``effects``, with those lifts and half-lives."""
    return tuple(
        replace(c, lift=effects[c.name][0], half_life_days=effects[c.name][1])
        for c in catalogue
        if c.name in effects
    )


def _kinds(
    *,
    base_rate: Mapping[str, float],
    exposure: Mapping[str, Mapping[str, float]] = EXPOSURE,
    channels: tuple[Channel, ...],
    scale: float = 1.0,
) -> tuple[BuyerKind, ...]:
    """The three buyer kinds with exposure to ``channels`` only, multiplied by ``scale``."""
    names = {c.name for c in channels}
    kinds = []
    for name, (share, median, sigma, win_rate, cycle) in KINDS.items():
        kinds.append(
            BuyerKind(
                name=name,
                share=share,
                base_rate=base_rate[name],
                exposure={c: m * scale for c, m in exposure[name].items() if c in names},
                value_median=median,
                value_sigma=sigma,
                win_rate=win_rate,
                cycle_days=cycle,
            )
        )
    return tuple(kinds)


def _same(rate: float) -> dict[str, float]:
    return {name: rate for name in KINDS}


def _without(
    effects: Mapping[str, tuple[float, float]], *names: str
) -> dict[str, tuple[float, float]]:
    return {k: v for k, v in effects.items() if k not in names}


def _independent() -> Scenario:
    effects = dict(_without(EFFECTS, "events", "direct"), paid_social=(0.0, 5.0))
    channels = _channels(effects)
    return Scenario(
        name="independent",
        description="channels act independently; paid_social has no effect",
        channels=channels,
        kinds=_kinds(base_rate=_same(0.06), channels=channels),
        horizon_days=90.0,
        seed=101,
    )


def _last_touch_trap() -> Scenario:
    effects = dict(_without(EFFECTS, "events"), direct=(0.0, 3.0))
    channels = _channels(effects)
    exposure = {k: dict(v, direct=0.3) for k, v in EXPOSURE.items()}
    return Scenario(
        name="last_touch_trap",
        description="direct is a passenger closer: a visit just before 70% of conversions, "
        "with no effect",
        channels=channels,
        kinds=_kinds(base_rate=_same(0.06), channels=channels, exposure=exposure),
        horizon_days=90.0,
        seed=202,
        passengers=(Passenger("direct", "closer", probability=0.7, lag_days=0.2),),
    )


def _first_touch_trap() -> Scenario:
    effects = dict(_without(EFFECTS, "events", "direct"), organic_search=(0.0, 10.0))
    channels = _channels(effects)
    exposure = {k: dict(v, organic_search=0.2) for k, v in EXPOSURE.items()}
    return Scenario(
        name="first_touch_trap",
        description="organic_search is a passenger opener: the brand search of buyers "
        "already in-market, with no effect",
        channels=channels,
        kinds=_kinds(
            base_rate={"marketing_led": 0.10, "sales_led": 0.14, "partner_led": 0.16},
            channels=channels,
            exposure=exposure,
        ),
        horizon_days=90.0,
        seed=303,
        frailty_shape=0.7,
        passengers=(Passenger("organic_search", "opener", probability=0.45),),
    )


def _synergy() -> Scenario:
    effects = dict(
        _without(EFFECTS, "events", "direct"),
        webinar=(0.0, 21.0),
        sdr_call=(0.0, 10.0),
        paid_social=(0.0, 5.0),
        paid_search=(0.0, 7.0),
    )
    channels = _channels(effects)
    return Scenario(
        name="synergy",
        description="webinar x sdr_call and paid_social x paid_search only work together",
        channels=channels,
        kinds=_kinds(base_rate=_same(0.06), channels=channels),
        horizon_days=90.0,
        seed=404,
        interactions=(
            Interaction("webinar", "sdr_call", lift=0.6, half_life_days=30.0),
            Interaction("paid_social", "paid_search", lift=0.35, half_life_days=14.0),
        ),
    )


def _long_cycle() -> Scenario:
    effects = {name: (lift * 0.3, half_life * 3.0) for name, (lift, half_life) in EFFECTS.items()}
    channels = _channels(effects)
    return Scenario(
        name="long_cycle",
        description="150-day journeys with 30+ touches, slow-decaying effects, follow-up chains",
        channels=channels,
        kinds=_kinds(base_rate=_same(0.05), channels=channels, scale=3.2),
        horizon_days=150.0,
        seed=505,
        follow_ups=(
            FollowUp("content_syndication", "sdr_call", probability=0.4, lag_days=2.0),
            FollowUp("webinar", "sdr_email", probability=0.5, lag_days=1.0),
            FollowUp("sdr_call", "ae_meeting", probability=0.15, lag_days=5.0),
        ),
    )


def _many_channels() -> Scenario:
    extra_effects = {
        "display": (0.01, 5.0),
        "retargeting": (0.0, 3.0),
        "review_sites": (0.04, 14.0),
        "podcast": (0.0, 30.0),
        "direct_mail": (0.03, 21.0),
        "video": (0.0, 7.0),
        "affiliate": (0.08, 21.0),
        "reseller": (0.25, 30.0),
        "chat": (0.04, 3.0),
        "linkedin_inmail": (0.0, 7.0),
        "executive_briefing": (0.2, 21.0),
        "customer_reference": (0.15, 30.0),
    }
    effects = dict(EFFECTS, direct=(0.0, 3.0), email_nurture=(0.0, 7.0))
    channels = _channels(effects) + _channels(extra_effects, EXTRA_CHANNELS)
    extra_exposure = {
        "marketing_led": {
            "display": 1.5,
            "retargeting": 1.2,
            "review_sites": 0.6,
            "podcast": 0.4,
            "direct_mail": 0.2,
            "video": 1.0,
            "affiliate": 0.2,
            "reseller": 0.05,
            "chat": 0.6,
            "linkedin_inmail": 0.4,
            "executive_briefing": 0.05,
            "customer_reference": 0.05,
        },
        "sales_led": {
            "display": 0.4,
            "retargeting": 0.5,
            "review_sites": 0.5,
            "podcast": 0.2,
            "direct_mail": 0.6,
            "video": 0.4,
            "affiliate": 0.1,
            "reseller": 0.2,
            "chat": 0.4,
            "linkedin_inmail": 1.2,
            "executive_briefing": 0.4,
            "customer_reference": 0.3,
        },
        "partner_led": {
            "display": 0.3,
            "retargeting": 0.3,
            "review_sites": 0.4,
            "podcast": 0.1,
            "direct_mail": 0.2,
            "video": 0.3,
            "affiliate": 0.6,
            "reseller": 1.0,
            "chat": 0.3,
            "linkedin_inmail": 0.4,
            "executive_briefing": 0.3,
            "customer_reference": 0.3,
        },
    }
    exposure = {k: {**EXPOSURE[k], **extra_exposure[k]} for k in EXPOSURE}
    return Scenario(
        name="many_channels",
        description="24 channels, six of them without effect",
        channels=channels,
        kinds=_kinds(base_rate=_same(0.05), channels=channels, exposure=exposure, scale=0.8),
        horizon_days=90.0,
        seed=606,
    )


#: Lifts and half-lives of the ``b2b`` preset: about half of ``EFFECTS``, so that with
#: follow-ups and the synergy roughly 30% of journeys reach pipeline.
B2B_EFFECTS: dict[str, tuple[float, float]] = {
    "paid_search": (0.03, 7.0),
    "paid_social": (0.01, 5.0),
    "organic_search": (0.015, 10.0),
    "webinar": (0.055, 21.0),
    "events": (0.065, 30.0),
    "content_syndication": (0.01, 14.0),
    "email_nurture": (0.005, 7.0),
    "sdr_call": (0.035, 10.0),
    "sdr_email": (0.01, 7.0),
    "ae_meeting": (0.06, 14.0),
    "partner_referral": (0.165, 30.0),
    "direct": (0.01, 3.0),
}


def _b2b() -> Scenario:
    channels = _channels(B2B_EFFECTS)
    return Scenario(
        name="b2b",
        description="realistic B2B pipeline: twelve channels, follow-ups, a webinar x SDR "
        "synergy, AE meetings booked on hot deals, deal-stage meetings",
        channels=channels,
        kinds=_kinds(
            base_rate={"marketing_led": 0.03, "sales_led": 0.05, "partner_led": 0.06},
            channels=channels,
            scale=1.05,
        ),
        horizon_days=120.0,
        seed=2025,
        journeys=5_000,
        frailty_shape=2.0,
        follow_ups=(
            FollowUp("content_syndication", "sdr_call", probability=0.35, lag_days=2.0),
            FollowUp("webinar", "sdr_email", probability=0.4, lag_days=1.0),
            FollowUp("events", "sdr_call", probability=0.5, lag_days=3.0),
            FollowUp("sdr_call", "ae_meeting", probability=0.15, lag_days=4.0),
        ),
        interactions=(Interaction("webinar", "sdr_call", lift=0.2, half_life_days=30.0),),
        passengers=(
            Passenger("ae_meeting", "closer", probability=0.55, lag_days=1.0),
            Passenger("direct", "closer", probability=0.2, lag_days=0.1),
        ),
        deal_touches=(DealTouches("ae_meeting", mean=2.5), DealTouches("sdr_email", mean=0.5)),
    )


#: Every named scenario, in the order they are listed.
SCENARIOS: dict[str, Scenario] = {
    s.name: s.check()
    for s in (
        _independent(),
        _last_touch_trap(),
        _first_touch_trap(),
        _synergy(),
        _long_cycle(),
        _many_channels(),
        _b2b(),
    )
}


def scenario(name: str) -> Scenario:
    """The named preset or robustness scenario; unknown names are an error listing the
    known ones."""
    from attribution.simulate.robustness import ROBUSTNESS_SCENARIOS

    known = {**SCENARIOS, **ROBUSTNESS_SCENARIOS}
    if name not in known:
        raise ValueError(f"unknown scenario {name!r}; known scenarios: {', '.join(known)}")
    return known[name]


def scenario_names() -> tuple[str, ...]:
    """Names of the preset scenarios."""
    return tuple(SCENARIOS)
