"""The named presets do what their names promise, and invalid scenarios are refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from attribution.simulate import (
    SCENARIOS,
    FollowUp,
    Interaction,
    Passenger,
    scenario,
    scenario_names,
    simulate,
)

REQUIRED = {
    "independent",
    "last_touch_trap",
    "first_touch_trap",
    "synergy",
    "long_cycle",
    "many_channels",
}


def test_required_presets_exist_with_distinct_seeds() -> None:
    assert set(scenario_names()) >= REQUIRED
    seeds = [s.seed for s in SCENARIOS.values()]
    assert len(set(seeds)) == len(seeds)
    with pytest.raises(ValueError, match="unknown scenario 'nope'; known scenarios: independent"):
        scenario("nope")


def test_every_preset_uses_the_three_buyer_kinds_and_four_teams() -> None:
    for spec in SCENARIOS.values():
        assert [k.name for k in spec.kinds] == ["marketing_led", "sales_led", "partner_led"]
        assert {c.team for c in spec.channels} == {"marketing", "sdr", "sales", "partner"}


def test_independent_has_no_interactions_passengers_or_follow_ups() -> None:
    spec = scenario("independent")
    assert not spec.interactions and not spec.passengers and not spec.follow_ups
    assert spec.frailty_shape is None


def test_traps_have_a_passenger_without_effect() -> None:
    for name, role in (("last_touch_trap", "closer"), ("first_touch_trap", "opener")):
        spec = scenario(name)
        (passenger,) = spec.passengers
        assert passenger.role == role
        assert spec.channel(passenger.channel).lift == 0


def test_synergy_pairs_work_only_together() -> None:
    spec = scenario("synergy")
    assert len(spec.interactions) >= 2
    for pair in spec.interactions:
        assert pair.lift > 0
        assert spec.channel(pair.first).lift == 0 == spec.channel(pair.second).lift


def test_long_cycle_has_30_touches_over_90_days() -> None:
    sim = simulate("long_cycle", journeys=2_000, seed=1)
    per_journey = sim.touches.groupby("journey_id")["timestamp"].agg(["size", "min", "max"])
    assert per_journey["size"].mean() >= 30
    assert sim.scenario.horizon_days >= 90
    spread = (per_journey["max"] - per_journey["min"]).dt.days
    assert spread.median() >= 90


def test_many_channels_has_24() -> None:
    spec = scenario("many_channels")
    assert len(spec.channels) == 24
    sim = simulate(spec, journeys=3_000, seed=1)
    assert sim.touches["channel"].nunique() == 24


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"horizon_days": 0.0}, "horizon_days must be finite and > 0"),
        ({"frailty_shape": -1.0}, "frailty_shape must be finite and > 0"),
        ({"follow_ups": (FollowUp("webinar", "nowhere", 0.5),)}, "unknown channel"),
        ({"follow_ups": (FollowUp("webinar", "sdr_call", 1.5),)}, "probability must be in"),
        ({"interactions": (Interaction("webinar", "webinar", 0.3),)}, "two different channels"),
        ({"passengers": (Passenger("direct", "closer", 1.2),)}, "probability must be in"),
        ({"journeys": 0}, "journeys must be at least 1"),
    ],
)
def test_invalid_scenarios_are_refused(change: dict[str, object], message: str) -> None:
    spec = replace(scenario("b2b"), **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        spec.check()


def test_invalid_channels_and_kinds_are_refused() -> None:
    spec = scenario("independent")
    negative = replace(spec.channels[0], lift=-0.1)
    with pytest.raises(ValueError, match="lift must be finite and >= 0"):
        replace(spec, channels=(negative, *spec.channels[1:])).check()
    with pytest.raises(ValueError, match="channel names repeat"):
        replace(spec, channels=(spec.channels[0], *spec.channels)).check()
    bad_kind = replace(spec.kinds[0], exposure={"fax": 1.0})
    with pytest.raises(ValueError, match="exposure to unknown channel"):
        replace(spec, kinds=(bad_kind,)).check()
    with pytest.raises(ValueError, match="journeys must be at least 1"):
        simulate(spec, journeys=0)
