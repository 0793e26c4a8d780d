"""Partitions loaded apart, coded alike, fitted on merged statistics and credited one by
one, give the whole-data credit: what the distributed engine stands on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.bootstrap import Bootstrap
from attribution.journeys import shared_coding
from attribution.models.registry import EXAMPLE_PARAMETERS, model_names
from attribution.models.registry import make_model as make_default
from attribution.passes import RunOptions, run_partitions
from attribution.plan import plan_run
from attribution.rollup import present_groups, sum_groups
from tests.builders import J, touches_frame


def make_model(name: str) -> at.models.AttributionModel:
    return make_default(name, EXAMPLE_PARAMETERS.get(name))


CHANNELS = ("paid_search", "webinar", "sdr_call", "direct", "events")


@st.composite
def journeys_and_split(draw: st.DrawFn) -> tuple[list[J], list[int]]:
    n = draw(st.integers(4, 14))
    journeys = []
    for i in range(n):
        length = draw(st.integers(1, 5))
        path = draw(st.lists(st.sampled_from(CHANNELS), min_size=length, max_size=length))
        days = list(np.cumsum(draw(st.lists(st.floats(0.1, 9), min_size=length, max_size=length))))
        converted = i < 2 or draw(st.booleans())
        value = draw(st.floats(1, 1e4))
        journeys.append(J(path, converted=converted, value=value, days=days))
    parts = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return journeys, parts


def credit_by_channel(
    model: at.models.AttributionModel, parts: list[at.Journeys]
) -> dict[str, float]:
    """Merge the parts' first-pass contexts (for models that need one), fit on the merged
    statistics of the parts, credit each part, sum by channel."""
    windows = [part.window(None)[0] for part in parts]
    contexts = [model.context(part) for part in windows]
    context = contexts[0]
    for other in contexts[1:]:
        context = None if context is None or other is None else context.merge(other)
    statistics = model.statistics_in_context(windows[0], context)
    for part in windows[1:]:
        statistics = statistics.merge(model.statistics_in_context(part, context))
    model.fit_statistics(statistics)
    keys = np.unique(np.concatenate([present_groups(w, ("channel",)) for w in windows]))
    total = np.zeros(len(keys))
    for part in windows:
        credited = part.converted_only if model.credits_converted_only else part
        sums = sum_groups(credited, model.credit(credited), ("channel",), keys)
        total += sums.value
    names = parts[0].channel_names
    return {names[int(k)]: float(v) for k, v in zip(keys, total, strict=True)}


@pytest.mark.parametrize("name", model_names())
@settings(max_examples=12, deadline=None)
@given(case=journeys_and_split())
def test_partitions_loaded_apart_credit_like_the_whole(
    name: str, case: tuple[list[J], list[int]]
) -> None:
    journeys, assignment = case
    frame = touches_frame(journeys)
    whole = at.load(frame).journeys
    parts = []
    for p in sorted(set(assignment)):
        ids = [f"j{i}" for i, a in enumerate(assignment) if a == p]
        parts.append(at.load(frame[frame["journey_id"].isin(ids)]).journeys)
    model = make_model(name)
    if model.counts_groups_once:
        return  # influenced: covered by the roll-up's own once-per-journey test
    try:
        expected = credit_by_channel(make_model(name), [whole])
    except at.models.ModelNotApplicable:
        return
    got = credit_by_channel(model, shared_coding(parts))
    for channel, value in expected.items():
        assert got.get(channel, 0.0) == pytest.approx(value, rel=1e-9, abs=1e-9), channel


def test_shared_coding_is_the_whole_load_coding() -> None:
    frame = touches_frame([J(["b", "a"]), J(["c"], converted=False), J(["a", "d"], value=2)])
    whole = at.load(frame).journeys
    first = at.load(frame[frame["journey_id"] == "j0"]).journeys
    rest = at.load(frame[frame["journey_id"] != "j0"]).journeys
    one, two = shared_coding([first, rest])
    assert one.channel_names == whole.channel_names
    merged = pd.concat(
        [
            pd.Series(np.asarray(one.channel_names)[one.channel]),
            pd.Series(np.asarray(two.channel_names)[two.channel]),
        ]
    )
    assert sorted(merged) == sorted(np.asarray(whole.channel_names)[whole.channel])


def test_the_engine_over_partitions_runs_like_one_partition() -> None:
    """Every model, the scorecard and the bootstrap over three partitions loaded apart:
    the context pass (hazard's horizon) makes the merged fit the whole-data fit."""
    rows = []
    for i in range(30):
        path = [CHANNELS[(i * 7 + k) % 5] for k in range(1 + i % 4)]
        days = [float(k * (1 + i % 3)) for k in range(len(path))]
        converted = i % 3 != 2
        milestones = {"lead_created_at": days[0] + 0.5, "opportunity_created_at": days[-1] + 1}
        if converted:
            milestones["converted_at"] = days[-1] + 2 + i % 5
        rows.append(J(path, converted, 100.0 + i, days=days, milestones=milestones))
    frame = touches_frame(rows)
    whole = at.load(frame).journeys
    pieces = [
        at.load(frame[frame["journey_id"].isin([f"j{i}" for i in range(30) if i % 3 == p])])
        for p in range(3)
    ]
    parts = shared_coding([piece.journeys for piece in pieces])
    plan = plan_run(whole, "all", by=("channel",), period="quarter")
    options = RunOptions(scorecard=True, bootstrap=Bootstrap(8))
    one, _ = run_partitions([plan.prepare(whole)], plan, options)
    three, fitted = run_partitions([plan.prepare(part) for part in parts], plan, options)
    assert "hazard" in fitted.models
    key = ("channel", "period")
    columns = ["model", "channel", "period"]
    # The iterative fits stop at their tolerance, and their sums run in another order
    # over partitions: they agree to 1e-6; every other model to rounding.
    iterative = {"hazard", "presence"}
    for got, want in [
        (three.rollups[key], one.rollups[key]),
        (three.scorecards[key], one.scorecards[key]),  # type: ignore[index]
    ]:
        got = got.sort_values(columns).reset_index(drop=True)
        want = want.sort_values(columns).reset_index(drop=True)
        rows = want["model"].isin(iterative).to_numpy()
        assert rows.any() and not rows.all()
        for part, rtol in ((rows, 1e-6), (~rows, 1e-9)):
            pd.testing.assert_frame_equal(
                got[part].reset_index(drop=True), want[part].reset_index(drop=True), rtol=rtol
            )
    assert three.replicates is not None and one.replicates is not None
    assert three.replicates.keys() == one.replicates.keys()
    for (model, dims), table in one.replicates.items():
        order = list(dims)
        pd.testing.assert_frame_equal(
            three.replicates[model, dims].sort_values(order).reset_index(drop=True),
            table.sort_values(order).reset_index(drop=True),
            rtol=1e-6 if model in iterative else 1e-9,
        )
