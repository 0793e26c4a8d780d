"""Invariants every model must satisfy, checked on random journeys (hypothesis).

Runs over every registered model, so models added later are held to the same rules:
credit conservation, determinism, invariance to input row order and to channel names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.models.registry import RULE_MODELS, model_names
from tests.builders import J, touches_frame

CHANNELS = ("paid_search", "webinar", "sdr_call", "direct")


@st.composite
def journey_sets(draw: st.DrawFn) -> list[J]:
    n = draw(st.integers(2, 12))
    journeys = []
    for i in range(n):
        length = draw(st.integers(1, 6))
        path = draw(st.lists(st.sampled_from(CHANNELS), min_size=length, max_size=length))
        gaps = draw(st.lists(st.floats(0.01, 20), min_size=length, max_size=length))
        converted = i == 0 or (i != 1 and draw(st.booleans()))
        value = draw(st.floats(1, 1e5))
        journeys.append(J(path, converted=converted, value=value, days=list(np.cumsum(gaps))))
    return journeys


def run(frame: pd.DataFrame, touch_credits: bool = False) -> at.AttributionResult:
    return at.attribute(at.load(frame), "all", by=("channel",), touch_credits=touch_credits)


def credits_by_channel(result: at.AttributionResult) -> dict[tuple[str, str], float]:
    frame = result.credits
    return {
        (m, c): v
        for m, c, v in zip(frame["model"], frame["channel"], frame["credited_value"], strict=True)
    }


@settings(max_examples=40, deadline=None)
@given(journey_sets())
def test_conservation(journeys: list[J]) -> None:
    result = run(touches_frame(journeys), touch_credits=True)
    total = sum(j.value for j in journeys if j.converted)
    assert result.reconciliation.ok
    for totals in result.reconciliation.models:
        if totals.conserving:
            assert abs(totals.credited_value - total) <= 1e-9 * total
            rows = result.credits[result.credits["model"] == totals.model]
            assert abs(rows["credited_value"].sum() - total) <= 1e-9 * total
            assert abs(rows["share"].sum() - 1) <= 1e-9
    # Rule-based conserving models conserve journey by journey.
    touches = result.touch_credits
    assert touches is not None
    expected = {f"j{i}": j.value for i, j in enumerate(journeys) if j.converted}
    for model in RULE_MODELS:
        if not model.conserving:
            continue
        per_journey = (
            touches[touches["model"] == model.name].groupby("journey_id")["credited_value"].sum()
        )
        for journey_id, value in expected.items():
            assert abs(per_journey[journey_id] - value) <= 1e-9 * value


@settings(max_examples=25, deadline=None)
@given(journey_sets(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(journeys: list[J], random: object) -> None:
    frame = touches_frame(journeys)
    shuffled = frame.sample(frac=1.0, random_state=random.randint(0, 2**31))  # type: ignore[attr-defined]
    first = credits_by_channel(run(frame))
    second = credits_by_channel(run(shuffled))
    assert first.keys() == second.keys()
    for key, value in first.items():
        assert abs(value - second[key]) <= 1e-9 * max(1.0, abs(value)), key


@settings(max_examples=25, deadline=None)
@given(journey_sets(), st.permutations(["z_one", "a_two", "m_three", "b_four"]))
def test_channel_names_do_not_matter(journeys: list[J], names: list[str]) -> None:
    rename = dict(zip(CHANNELS, names, strict=True))
    frame = touches_frame(journeys)
    renamed = frame.assign(channel=frame["channel"].map(rename))
    first = credits_by_channel(run(frame))
    second = credits_by_channel(run(renamed))
    for (model, channel), value in first.items():
        other = second[(model, rename[channel])]
        assert abs(value - other) <= 1e-9 * max(1.0, abs(value)), (model, channel)


@settings(max_examples=10, deadline=None)
@given(journey_sets())
def test_deterministic(journeys: list[J]) -> None:
    frame = touches_frame(journeys)
    first, second = run(frame), run(frame)
    pd.testing.assert_frame_equal(first.credits, second.credits)


def test_every_registered_model_is_exercised() -> None:
    frame = touches_frame([J(["paid_search", "webinar"]), J(["direct"], converted=False)])
    assert set(run(frame).credits["model"]) == set(model_names())


@settings(max_examples=25, deadline=None)
@given(journey_sets(), st.data())
def test_rule_credits_of_partitions_add_up(journeys: list[J], data: st.DataObject) -> None:
    """Rule models credit each journey on its own, so any partition of whole journeys
    (a later Dask backend's unit of work) sums to the credit of the whole."""
    loaded = at.load(touches_frame(journeys))
    whole = loaded.journeys
    chosen = data.draw(
        st.lists(st.booleans(), min_size=whole.n_journeys, max_size=whole.n_journeys)
    )
    mask = np.array(chosen)
    parts = [whole.subset(np.flatnonzero(mask)), whole.subset(np.flatnonzero(~mask))]
    names = [m.name for m in RULE_MODELS if not m.counts_groups_once]
    expected = at.attribute(whole, names, by=("channel",)).credits
    summed = (
        pd.concat(
            [at.attribute(part, names, by=("channel",)).credits for part in parts if part.n_touches]
        )
        .groupby(["model", "channel"])[["credited_conversions", "credited_value"]]
        .sum()
    )
    for row in expected.itertuples():
        got = (
            summed.loc[(row.model, row.channel)]
            if (row.model, row.channel) in summed.index
            else None
        )
        got_value = 0.0 if got is None else got["credited_value"]
        assert abs(got_value - row.credited_value) <= 1e-9 * max(1.0, row.credited_value)
