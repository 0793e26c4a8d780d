"""The generative process: determinism, schema, milestones, conversion, passengers."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.simulate import (
    BuyerKind,
    Channel,
    FollowUp,
    Passenger,
    Scenario,
    scenario,
    scenario_names,
    simulate,
)
from attribution.simulate.process import (
    Buyers,
    CausalTouches,
    Effects,
    contributions,
    conversion_seconds,
    draw_buyers,
    draw_causal_touches,
    hazard_at_horizon,
    streams,
)

TOUCH_COLUMNS = {"journey_id", "timestamp", "channel", "team", "touch_type"}
OUTCOME_COLUMNS = [
    "journey_id",
    "converted",
    "value",
    "converted_at",
    "lead_created_at",
    "opportunity_created_at",
    "closed_at",
    "won",
]


def test_same_seed_same_data_and_truth() -> None:
    first = simulate("b2b", journeys=1_500, seed=11)
    again = simulate("b2b", journeys=1_500, seed=11)
    pd.testing.assert_frame_equal(first.touches, again.touches)
    pd.testing.assert_frame_equal(first.outcomes, again.outcomes)
    assert first.truth is not None and again.truth is not None
    pd.testing.assert_frame_equal(first.truth, again.truth)


def test_another_seed_other_data() -> None:
    first = simulate("independent", journeys=1_000, seed=1)
    other = simulate("independent", journeys=1_000, seed=2)
    assert not first.outcomes["converted"].equals(other.outcomes["converted"])
    assert not first.touches["timestamp"].equals(other.touches["timestamp"])


def test_preset_seed_is_the_default() -> None:
    preset = scenario("synergy")
    by_default = simulate("synergy", journeys=500)
    explicit = simulate("synergy", journeys=500, seed=preset.seed)
    assert by_default.seed == preset.seed
    pd.testing.assert_frame_equal(by_default.outcomes, explicit.outcomes)


@pytest.mark.parametrize("name", scenario_names())
def test_every_scenario_loads_without_rejects(name: str) -> None:
    sim = simulate(name, journeys=600, seed=5)
    assert set(sim.touches.columns) >= TOUCH_COLUMNS
    assert list(sim.outcomes.columns) == OUTCOME_COLUMNS
    assert str(sim.touches["timestamp"].dtype) == "datetime64[ns, UTC]"
    loaded = at.load(sim.touches, sim.outcomes)
    assert loaded.rejects.empty
    assert loaded.intake.rejected_touch_rows == 0
    assert loaded.journeys.n_journeys == len(sim.outcomes)
    assert loaded.journeys.total_conversions == sim.outcomes["converted"].sum()
    assert loaded.journeys.total_value == pytest.approx(sim.outcomes["value"].sum())
    assert set(loaded.journeys.channel_names) <= set(sim.scenario.channel_names)
    assert sim.buyers - 10 <= len(sim.outcomes) <= sim.buyers


def test_written_files_load_like_the_frames(tmp_path: Path) -> None:
    sim = simulate("last_touch_trap", journeys=800, seed=3)
    written = sim.write(tmp_path)
    assert sorted(p.name for p in written.values()) == [
        "outcomes.parquet",
        "touches.parquet",
        "truth.parquet",
    ]
    from_files = at.load(written["touches"], written["outcomes"])
    from_frames = sim.load()
    assert from_files.rejects.empty
    assert from_files.journeys.n_touches == from_frames.journeys.n_touches
    np.testing.assert_array_equal(from_files.journeys.timestamp, from_frames.journeys.timestamp)
    np.testing.assert_array_equal(from_files.journeys.value, from_frames.journeys.value)


def test_milestones_and_outcomes_are_consistent() -> None:
    sim = simulate("b2b", journeys=3_000, seed=8)
    o = sim.outcomes
    converted = o["converted"]
    assert (o["converted_at"].notna() == converted).all()
    assert o["opportunity_created_at"].equals(o["converted_at"])
    assert ((o["value"] > 0) == converted).all()
    lead = o["lead_created_at"]
    assert lead[converted].notna().all()
    assert (lead[converted] <= o.loc[converted, "converted_at"]).all()
    closed = o["closed_at"].notna()
    assert not (closed & ~converted).any()
    assert (o.loc[closed, "closed_at"] > o.loc[closed, "converted_at"]).all()
    assert (o["won"].notna() == closed).all()
    assert 0 < o.loc[closed, "won"].astype(bool).mean() < 1
    assert (converted & ~closed).any(), "deals closing after the snapshot stay open"
    touches = sim.touches.merge(o[["journey_id", "converted_at", "closed_at"]], on="journey_id")
    late = touches["timestamp"] > touches["converted_at"]
    assert set(touches.loc[late, "channel"]) <= {"ae_meeting", "sdr_email"}, "deal stage only"
    open_or_closed = touches["closed_at"].isna() | (touches["timestamp"] <= touches["closed_at"])
    assert open_or_closed.all()


def _internals(
    spec: Scenario, n: int, seed: int
) -> tuple[Buyers, CausalTouches, Effects, np.ndarray]:
    """The simulator's internal draws for ``seed``, as ``simulate`` makes them."""
    rngs = streams(seed)
    buyers = draw_buyers(spec, n, rngs["buyers"])
    causal = draw_causal_touches(spec, buyers, rngs["exposure"], rngs["follow_ups"])
    effects = Effects.of(spec)
    at_horizon = hazard_at_horizon(
        spec, buyers, causal, effects, contributions(spec, causal, effects)
    )
    return buyers, causal, effects, at_horizon


def test_conversion_time_is_where_the_documented_hazard_reaches_the_threshold() -> None:
    spec = scenario("synergy")
    buyers, causal, effects, at_horizon = _internals(spec, 3_000, seed=4)
    converted_at = conversion_seconds(spec, buyers, causal, effects, at_horizon)
    converted = converted_at >= 0
    assert 0.1 < converted.mean() < 0.9
    assert np.array_equal(converted, at_horizon >= buyers.threshold)
    rates = {c.name: math.log(2) / c.half_life_days for c in spec.channels}
    names = spec.channel_names
    pairs = [(p.first, p.second, p.lift, math.log(2) / p.half_life_days) for p in spec.interactions]

    def cumulative_hazard(j: int, t: float) -> float:
        """The hazard integrated to ``t`` days, written from the documented formula."""
        lo, hi = causal.offsets[j], causal.offsets[j + 1]
        total = buyers.base_hazard[j] * t
        first: dict[str, float] = {}
        for s, c in zip(causal.seconds[lo:hi] / 86_400, causal.channel[lo:hi], strict=True):
            name = names[c]
            first.setdefault(name, s)
            if s < t:
                channel = spec.channel(name)
                total += channel.lift * (1 - math.exp(-rates[name] * (t - s)))
        for a, b, lift, rate in pairs:
            if a in first and b in first and max(first[a], first[b]) < t:
                total += lift * (1 - math.exp(-rate * (t - max(first[a], first[b]))))
        return total

    for j in np.flatnonzero(converted)[:300]:
        t = converted_at[j] / 86_400
        # Conversion is rounded up to the next second: the threshold lies in that second.
        assert cumulative_hazard(j, t - 1 / 86_400) <= buyers.threshold[j] + 1e-9
        assert cumulative_hazard(j, t) >= buyers.threshold[j] - 1e-9
    for j in np.flatnonzero(~converted)[:300]:
        assert cumulative_hazard(j, spec.horizon_days) < buyers.threshold[j]


def test_journeys_are_cut_at_conversion() -> None:
    spec = scenario("independent")
    buyers, causal, effects, at_horizon = _internals(spec, 2_000, seed=9)
    converted_at = conversion_seconds(spec, buyers, causal, effects, at_horizon)
    sim = simulate(spec, journeys=2_000, seed=9)
    observed = sim.touches.groupby("journey_id").size()
    counts = np.diff(causal.offsets)
    journey = np.repeat(np.arange(buyers.n), counts)
    before = np.where(converted_at[journey] >= 0, causal.seconds < converted_at[journey], True)
    expected = pd.Series(np.bincount(journey[before], minlength=buyers.n))
    expected = expected[expected > 0]
    pd.testing.assert_series_equal(
        observed.sort_index(), expected.sort_index(), check_names=False, check_index_type=False
    )


def test_closer_passenger_sits_just_before_conversion() -> None:
    sim = simulate("last_touch_trap", journeys=4_000, seed=12)
    passenger = sim.scenario.passengers[0]
    o = sim.outcomes.set_index("journey_id")
    touches = sim.touches.join(o["converted_at"], on="journey_id")
    touches = touches[touches["timestamp"] <= touches["converted_at"]]
    last = touches.groupby("journey_id").tail(1)
    share_last_direct = (last["channel"] == passenger.channel).mean()
    # The passenger is the last touch of 70% of conversions (binomial sd ~0.012 here).
    assert abs(share_last_direct - passenger.probability) < 0.04
    gap = (last["converted_at"] - last["timestamp"]).dt.total_seconds() / 86_400
    assert gap[last["channel"] == passenger.channel].median() < 2 * passenger.lag_days


def test_opener_passenger_comes_first_and_more_often_for_intent() -> None:
    sim = simulate("first_touch_trap", journeys=6_000, seed=13)
    passenger = sim.scenario.passengers[0]
    first = sim.touches.groupby("journey_id").head(1).set_index("journey_id")["channel"]
    opened = (first == passenger.channel).reindex(sim.outcomes["journey_id"]).to_numpy()
    converted = sim.outcomes["converted"].to_numpy()
    assert opened[converted].mean() > opened[~converted].mean() + 0.05


def _two_channel_scenario(**changes: object) -> Scenario:
    kind = BuyerKind(
        "only",
        share=1.0,
        base_rate=0.05,
        exposure={"trigger": 2.0, "effective": 1.0},
        value_median=1000.0,
        value_sigma=0.5,
    )
    spec = Scenario(
        name="two",
        description="test",
        channels=(
            Channel("trigger", "marketing", lift=0.0),
            Channel("effective", "sdr", lift=0.4),
        ),
        kinds=(kind,),
        horizon_days=60.0,
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


def test_follow_ups_are_caused_by_their_source() -> None:
    spec = _two_channel_scenario(follow_ups=(FollowUp("trigger", "effective", 0.5, 1.0),))
    without = simulate(replace(spec, follow_ups=()), journeys=3_000, seed=1)
    with_follow_ups = simulate(spec, journeys=3_000, seed=1)
    counts = with_follow_ups.touches["channel"].value_counts()
    base_counts = without.touches["channel"].value_counts()
    assert counts["effective"] > 1.5 * base_counts["effective"]
    assert with_follow_ups.truth is not None and without.truth is not None
    truth = with_follow_ups.truth.set_index("channel")
    # No lift of its own, but switching it off removes the SDR touches it triggers.
    assert (
        truth.loc["trigger", "true_conversions"] > 5 * truth.loc["trigger", "conversions_std_error"]
    )
    assert without.truth.set_index("channel").loc["trigger", "true_conversions"] == 0.0


def test_passenger_touches_never_enter_the_hazard() -> None:
    plain = _two_channel_scenario()
    with_closer = replace(plain, passengers=(Passenger("trigger", "closer", 0.9, 0.5),))
    a = simulate(plain, journeys=2_000, seed=6)
    b = simulate(with_closer, journeys=2_000, seed=6)
    # Same conversions; the closer can only make a touchless converted buyer visible.
    same = b.outcomes[b.outcomes["journey_id"].isin(a.outcomes["journey_id"])]
    pd.testing.assert_frame_equal(a.outcomes, same.reset_index(drop=True))
    assert b.outcomes.loc[
        ~b.outcomes["journey_id"].isin(a.outcomes["journey_id"]), "converted"
    ].all()
    assert len(b.touches) > len(a.touches)
    assert a.truth is not None and b.truth is not None
    pd.testing.assert_frame_equal(a.truth, b.truth)
