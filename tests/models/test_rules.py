"""Hand-checked credit of every rule-based model, including every documented edge case.

Journeys are written with tests.builders.J: channels in time order, one day apart unless
``days`` are given; value 100 so shares read as percentages.
"""

from __future__ import annotations

import math

import pytest

import attribution as at
from attribution.models import (
    FirstTouch,
    FullPath,
    Influenced,
    InverseJ,
    JShaped,
    LastTouch,
    Linear,
    PositionBased,
    Sourced,
    TimeDecay,
    WShaped,
)
from tests.builders import J, channel_credit, load


def credit(
    model: at.models.AttributionModel, journeys: list[J], **options: object
) -> dict[str, float]:
    result = at.attribute(load(journeys), {"m": model}, by=("channel",), **options)  # type: ignore[arg-type]
    return {k: v for k, v in channel_credit(result, "m").items() if v != 0}


ABCD = J(["a", "b", "c", "d"], value=100)


def approx(expected: dict[str, float]) -> object:
    return pytest.approx(expected, rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------- single touch
def test_first_and_last_touch() -> None:
    assert credit(FirstTouch(), [ABCD]) == approx({"a": 100})
    assert credit(LastTouch(), [ABCD]) == approx({"d": 100})


def test_equal_timestamps_keep_input_order() -> None:
    # b and c share a timestamp with a: the first input row among ties is the first touch,
    # the last input row among ties is the last touch.
    tied = J(["b", "a", "c"], value=100, days=[0, 0, 0])
    assert credit(FirstTouch(), [tied]) == approx({"b": 100})
    assert credit(LastTouch(), [tied]) == approx({"c": 100})


def test_non_converting_journeys_get_nothing() -> None:
    journeys = [ABCD, J(["x", "y"], converted=False)]
    for model in (FirstTouch(), LastTouch(), Linear(), TimeDecay(), PositionBased()):
        assert set(credit(model, journeys)) <= {"a", "b", "c", "d"}


# ---------------------------------------------------------------------- linear
def test_linear_splits_evenly_and_by_repeated_channel() -> None:
    assert credit(Linear(), [ABCD]) == approx({"a": 25, "b": 25, "c": 25, "d": 25})
    assert credit(Linear(), [J(["a", "b", "a"], value=90)]) == approx({"a": 60, "b": 30})


# ------------------------------------------------------------------ time decay
def test_time_decay_halves_per_half_life() -> None:
    # Touches 14, 7 and 0 days before the last: weights 1/4, 1/2, 1 -> 1/7, 2/7, 4/7.
    journey = J(["a", "b", "c"], value=70, days=[0, 7, 14])
    assert credit(TimeDecay(half_life_days=7), [journey]) == approx({"a": 10, "b": 20, "c": 40})


def test_time_decay_does_not_depend_on_conversion_time() -> None:
    journey = J(["a", "b"], value=30, days=[0, 1], milestones={"converted_at": 400})
    # Ages from T = day 400 are 400 and 399 days; with h = 1 day the weights 2^-400 and
    # 2^-399 underflow nothing once normalised: 1/3 and 2/3.
    assert credit(TimeDecay(half_life_days=1), [journey]) == approx({"a": 10, "b": 20})


def test_time_decay_equal_timestamps_share_equally() -> None:
    journey = J(["a", "b"], value=10, days=[3, 3])
    assert credit(TimeDecay(), [journey]) == approx({"a": 5, "b": 5})


def test_time_decay_rejects_bad_half_life() -> None:
    # Parameters are stored as given and checked when the model is used.
    for bad in (0, -1, math.inf, math.nan, True, "7"):
        model = TimeDecay(half_life_days=bad)  # type: ignore[arg-type]
        with pytest.raises(at.ParameterError, match="half_life_days"):
            credit(model, [J(["a"])])


# -------------------------------------------------------------- position based
@pytest.mark.parametrize(
    ("model", "one", "two", "four"),
    [
        (PositionBased(), {"a": 100}, {"a": 50, "b": 50}, {"a": 40, "b": 10, "c": 10, "d": 40}),
        (JShaped(), {"a": 100}, {"a": 25, "b": 75}, {"a": 20, "b": 10, "c": 10, "d": 60}),
        (InverseJ(), {"a": 100}, {"a": 75, "b": 25}, {"a": 60, "b": 10, "c": 10, "d": 20}),
        (
            PositionBased(first=0.3, middle=0.5, last=0.2),
            {"a": 100},
            {"a": 60, "b": 40},
            {"a": 30, "b": 25, "c": 25, "d": 20},
        ),
    ],
)
def test_position_based_shapes(
    model: PositionBased, one: dict[str, float], two: dict[str, float], four: dict[str, float]
) -> None:
    assert credit(model, [J(["a"], value=100)]) == approx(one)
    assert credit(model, [J(["a", "b"], value=100)]) == approx(two)
    assert credit(model, [ABCD]) == approx(four)


def test_position_based_three_touches() -> None:
    assert credit(PositionBased(), [J(["a", "b", "c"], value=100)]) == approx(
        {"a": 40, "b": 20, "c": 40}
    )


def test_position_weights_are_checked() -> None:
    with pytest.raises(at.ParameterError, match="sum to 1"):
        credit(PositionBased(0.5, 0.3, 0.1), [ABCD])
    with pytest.raises(at.ParameterError, match=r"weight middle=-0.2 must be a finite number >= 0"):
        credit(PositionBased(1.2, -0.2, 0.0), [ABCD])
    # Weights whose sum overflows are refused with their sum.
    with pytest.raises(at.ParameterError, match="must sum to 1, got inf"):
        credit(PositionBased(1e308, 1e308, 1e308), [ABCD])


# ------------------------------------------------------------------ milestones
def milestones(
    lead: float | None, opportunity: float | None, closed: float | None = None
) -> dict[str, float]:
    found = {"lead_created_at": lead, "opportunity_created_at": opportunity, "closed_at": closed}
    return {k: v for k, v in found.items() if v is not None}


def test_w_shaped_all_milestones_distinct() -> None:
    # Five touches on days 0-4; lead created on day 1 (b), opportunity on day 3 (d).
    journey = J(["a", "b", "c", "d", "e"], value=100, milestones=milestones(1, 3))
    # FT a 30, LC b 30, OC d 30, others c and e share 10.
    assert credit(WShaped(), [journey]) == approx({"a": 30, "b": 30, "c": 5, "d": 30, "e": 5})


def test_w_shaped_milestone_between_touches_takes_last_touch_before() -> None:
    # Lead created on day 1.5: the last touch at or before it is b (day 1).
    journey = J(["a", "b", "c"], value=100, milestones=milestones(1.5, 2))
    assert credit(WShaped(), [journey]) == approx({"a": 100 / 3, "b": 100 / 3, "c": 100 / 3})


def test_w_shaped_shared_milestones_add_up() -> None:
    # FT and LC on a (lead created day 0), OC on b; no other touch: 60/30 -> 2/3, 1/3.
    journey = J(["a", "b"], value=90, milestones=milestones(0, 1))
    assert credit(WShaped(), [journey]) == approx({"a": 60, "b": 30})


def test_w_shaped_all_milestones_on_one_touch_of_two() -> None:
    # FT, LC and OC all on a (both created on day 0); b is the only other touch:
    # a 90, b 10.
    journey = J(["a", "b"], value=100, milestones=milestones(0, 0))
    assert credit(WShaped(), [journey]) == approx({"a": 90, "b": 10})


def test_w_shaped_unknown_milestones_are_renormalised() -> None:
    # No milestone times: FT a 30, others b, c share 10 -> 30/40, 5/40, 5/40.
    journey = J(["a", "b", "c"], value=80)
    assert credit(WShaped(), [journey]) == approx({"a": 60, "b": 10, "c": 10})


def test_w_shaped_milestone_before_first_touch_is_unknown() -> None:
    # Lead created a day before any touch: no touch at or before it, LC unknown.
    journey = J(["a", "b", "c"], value=70, days=[1, 2, 3], milestones=milestones(0, 2))
    # FT a 30, OC b 30, c gets 10: 30/70, 30/70, 10/70.
    assert credit(WShaped(), [journey]) == approx({"a": 30, "b": 30, "c": 10})


def test_w_shaped_single_touch_takes_all() -> None:
    assert credit(WShaped(), [J(["a"], value=5, milestones=milestones(0, 0))]) == approx({"a": 5})


def test_full_path() -> None:
    # Six touches days 0-5: FT a, LC b (day 1), OC d (day 3), CW f (day 5); c, e share 10.
    journey = J(["a", "b", "c", "d", "e", "f"], value=100, milestones=milestones(1, 3, 5))
    assert credit(FullPath(), [journey]) == approx(
        {"a": 22.5, "b": 22.5, "c": 5, "d": 22.5, "e": 5, "f": 22.5}
    )


def test_full_path_closed_after_conversion_takes_last_credited_touch() -> None:
    # Converted (opportunity) on day 2; closed on day 10. Touch d on day 5 is after the
    # conversion and never credited, so CW is the last credited touch, c.
    journey = J(
        ["a", "b", "c", "d"],
        value=90,
        days=[0, 1, 2, 5],
        milestones={**milestones(1, 2, 10), "converted_at": 2},
    )
    # FT a 22.5, LC b 22.5, OC c 22.5 + CW c 22.5; no other touch: 22.5/90 etc.
    assert credit(FullPath(), [journey]) == approx({"a": 22.5, "b": 22.5, "c": 45})


def test_custom_w_weights() -> None:
    journey = J(["a", "b", "c", "d"], value=100, milestones=milestones(1, 2))
    model = WShaped(first_touch=0.5, lead_creation=0.2, opportunity_creation=0.2, other=0.1)
    assert credit(model, [journey]) == approx({"a": 50, "b": 20, "c": 20, "d": 10})


def test_milestone_weights_are_checked() -> None:
    with pytest.raises(at.ParameterError, match="sum to 1"):
        credit(WShaped(0.3, 0.3, 0.3, 0.3), [ABCD])
    with pytest.raises(at.ParameterError, match="sum to 1"):
        credit(FullPath(0.25, 0.25, 0.25, 0.25, 0.1), [ABCD])


# ------------------------------------------------------ sourced and influenced
def test_sourced_ignores_the_lookback_window() -> None:
    journey = J(["a", "b", "c"], value=100, days=[0, 50, 60], milestones={"converted_at": 61})
    assert credit(FirstTouch(), [journey], lookback_days=30) == approx({"b": 100})
    assert credit(Sourced(), [journey], lookback_days=30) == approx({"a": 100})


def test_sourced_never_credits_touches_after_conversion() -> None:
    # Converted before its touches: untouched pipeline, no channel is credited.
    journey = J(["a", "b"], value=100, days=[5, 6], milestones={"converted_at": 4})
    assert credit(Sourced(), [journey]) == {"(no touch)": 100}


def test_influenced_counts_each_channel_once_per_journey() -> None:
    journeys = [J(["a", "b", "a"], value=100), J(["a"], value=10), J(["c"], converted=False)]
    assert credit(Influenced(), journeys) == approx({"a": 110, "b": 100})


def test_influenced_by_team_counts_each_team_once() -> None:
    journey = J(["a", "b", "c"], value=100, teams=["marketing", "marketing", "sales"])
    result = at.attribute(load([journey]), ["influenced"], by=("team",))
    values = result.credits.set_index("team")["credited_value"].to_dict()
    assert values == {"marketing": 100, "sales": 100}


# --------------------------------------------------------------------- windows
def test_touches_after_conversion_are_never_credited() -> None:
    journey = J(["a", "b", "c"], value=100, days=[0, 1, 2], milestones={"converted_at": 1})
    assert credit(LastTouch(), [journey]) == approx({"b": 100})
    assert credit(Linear(), [journey]) == approx({"a": 50, "b": 50})


def test_touch_at_conversion_time_is_credited() -> None:
    journey = J(["a", "b"], value=100, days=[0, 1], milestones={"converted_at": 1})
    assert credit(LastTouch(), [journey]) == approx({"b": 100})


def test_lookback_window_edges() -> None:
    # Converted on day 10, lookback 5 days: touches on day 5 (exactly 5 days) and later count.
    journey = J(["a", "b", "c"], value=90, days=[4, 5, 9], milestones={"converted_at": 10})
    assert credit(Linear(), [journey], lookback_days=5) == approx({"b": 45, "c": 45})


def test_lookback_without_conversion_time_is_relative_to_last_touch() -> None:
    journey = J(["a", "b", "c"], value=90, days=[0, 8, 10])
    assert credit(Linear(), [journey], lookback_days=2) == approx({"b": 45, "c": 45})
