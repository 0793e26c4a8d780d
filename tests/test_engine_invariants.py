"""Invariants every model must satisfy, checked on random journeys (hypothesis).

Runs over every registered model, so models added later are held to the same rules:
credit conservation, determinism, invariance to input row order and to channel names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.models.registry import RULE_MODELS, all_models, make_model
from tests.builders import J, touches_frame

CHANNELS = ("paid_search", "webinar", "sdr_call", "direct")


@st.composite
def journey_sets(draw: st.DrawFn) -> list[J]:
    """Random journeys: distinct touch times (ties are covered by their own tests), values
    including 0, and lead/opportunity milestones anywhere around the touches."""
    n = draw(st.integers(2, 12))
    journeys = []
    for i in range(n):
        length = draw(st.integers(1, 6))
        path = draw(st.lists(st.sampled_from(CHANNELS), min_size=length, max_size=length))
        gaps = draw(st.lists(st.floats(0.01, 20), min_size=length, max_size=length))
        days = list(np.cumsum(gaps))
        converted = i == 0 or (i != 1 and draw(st.booleans()))
        value = draw(st.one_of(st.just(0.0), st.floats(1, 1e5))) if i else draw(st.floats(1, 1e5))
        milestones = {}
        for name in ("lead_created_at", "opportunity_created_at"):
            if draw(st.booleans()):
                milestones[name] = draw(st.floats(-5, days[-1] + 5))
        journeys.append(J(path, converted=converted, value=value, days=days, milestones=milestones))
    return journeys


def run(
    frame: pd.DataFrame, touch_credits: bool = False, lookback_days: float | None = None
) -> at.AttributionResult:
    return at.attribute(
        at.load(frame),
        "all",
        by=("channel",),
        touch_credits=touch_credits,
        lookback_days=lookback_days,
    )


def credits_by_channel(result: at.AttributionResult) -> dict[tuple[str, str], float]:
    frame = result.credits
    return {
        (m, c): v
        for m, c, v in zip(frame["model"], frame["channel"], frame["credited_value"], strict=True)
    }


@settings(max_examples=40, deadline=None)
@given(journey_sets(), st.one_of(st.none(), st.floats(0.01, 40)))
def test_conservation(journeys: list[J], lookback_days: float | None) -> None:
    # Without converted_at the lookback window ends at the last touch, so every converted
    # journey keeps a touch and the whole value is creditable.
    result = run(touches_frame(journeys), touch_credits=True, lookback_days=lookback_days)
    total = sum(j.value for j in journeys if j.converted)
    assert result.reconciliation.ok
    assert {t.model for t in result.reconciliation.models} == set(all_models())
    for totals in result.reconciliation.models:
        if totals.conserving:
            assert abs(totals.credited_value - total) <= 1e-9 * total
            rows = result.credits[result.credits["model"] == totals.model]
            assert abs(rows["credited_value"].sum() - total) <= 1e-9 * total
            assert abs(rows["share"].sum() - 1) <= 1e-9
    # Rule-based conserving models conserve journey by journey.
    touches = result.touch_credits
    assert touches is not None
    expected = {f"j{i}": j.value for i, j in enumerate(journeys) if j.converted and j.value}
    for name in RULE_MODELS:
        if name not in all_models() or not make_model(name).conserving:
            continue
        per_journey = (
            touches[touches["model"] == name].groupby("journey_id")["credited_value"].sum()
        )
        for journey_id, value in expected.items():
            assert abs(per_journey[journey_id] - value) <= 1e-9 * value


@settings(max_examples=25, deadline=None)
@given(journey_sets(), st.randoms(use_true_random=False), st.booleans())
def test_row_order_does_not_matter(journeys: list[J], random: object, integer_ids: bool) -> None:
    frame = touches_frame(journeys)
    if integer_ids:
        frame["journey_id"] = frame["journey_id"].str[1:].astype(int) * 7
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
        if model == "last_non_direct":  # it reads one name, "direct", by design
            continue
        other = second[(model, rename.get(channel, channel))]
        assert abs(value - other) <= 1e-9 * max(1.0, abs(value)), (model, channel)


@settings(max_examples=10, deadline=None)
@given(journey_sets())
def test_deterministic(journeys: list[J]) -> None:
    frame = touches_frame(journeys)
    first, second = run(frame), run(frame)
    pd.testing.assert_frame_equal(first.credits, second.credits)


def test_every_registered_model_is_exercised() -> None:
    frame = touches_frame([J(["paid_search", "webinar"]), J(["direct"], converted=False)])
    assert set(run(frame).credits["model"]) == set(all_models())


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
    names = [n for n in RULE_MODELS if n in all_models() and not make_model(n).counts_groups_once]
    expected = at.attribute(whole, names, by=("channel",)).credits
    summed = (
        pd.concat(
            [at.attribute(part, names, by=("channel",)).credits for part in parts if part.n_touches]
        )
        .groupby(["model", "channel"])[["credited_conversions", "credited_value"]]
        .sum()
    )
    summed_value = summed["credited_value"].to_dict()
    for model, channel, value in expected[["model", "channel", "credited_value"]].itertuples(
        index=False
    ):
        got_value = float(summed_value.get((model, channel), 0.0))
        assert abs(got_value - float(value)) <= 1e-9 * max(1.0, float(value))


def test_all_leaves_out_models_that_cannot_run_and_says_why() -> None:
    frame = touches_frame(
        [J(["paid_search", "webinar"], converted=False), J(["direct"], converted=False)]
    )
    result = at.attribute(at.load(frame), "all", by=("channel",))
    (note,) = result.reconciliation.notes_about("markov", "left_out")
    assert "converted" in note.message
    assert "markov" not in result.models and "markov" not in set(result.credits["model"])
    assert "linear" in result.models
    # Asked for by name, the model's own error stops the run.
    with pytest.raises(ValueError, match="converted"):
        at.attribute(at.load(frame), ["markov"])


def test_every_model_lists_the_same_groups() -> None:
    # With a lookback, first_touch loses the old touch's channel; sourced keeps it. Both
    # list every channel of the input, with 0 where they credit nothing.
    journey = J(["old", "recent"], value=10, days=[0, 50])
    result = at.attribute(
        at.load(touches_frame([journey])),
        ["first_touch", "sourced"],
        by=("channel",),
        lookback_days=30,
    )
    by_model = result.credits.groupby("model")["channel"].apply(list).to_dict()
    assert by_model == {"first_touch": ["old", "recent"], "sourced": ["old", "recent"]}
    values = result.credits.set_index(["model", "channel"])["credited_value"].to_dict()
    assert values == {
        ("first_touch", "old"): 0,
        ("first_touch", "recent"): 10,
        ("sourced", "old"): 10,
        ("sourced", "recent"): 0,
    }
    notes = at.attribute(
        at.load(touches_frame([journey])), ["linear"], by=("campaign",)
    ).reconciliation.notes
    assert [n.data["dimension"] for n in notes if n.code == "dimension_missing"] == ["campaign"]
