"""Opportunities without touches are pipeline, not bad input: the untouched group."""

from __future__ import annotations

import pandas as pd
import pytest

import attribution as at
from attribution.compare import compare
from tests.builders import J, touches_frame

TOUCHED = [
    J(["a", "b"], value=100, days=[0, 1], milestones={"converted_at": 2}),
    J(["b"], converted=False, days=[1]),
    # Converted before its only touch: no touch in the window.
    J(["a"], value=30, days=[5], milestones={"converted_at": 4}),
]


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = touches_frame(TOUCHED)
    touches = frame[["journey_id", "timestamp", "channel"]]
    outcomes = frame.groupby("journey_id", as_index=False)[
        ["converted", "value", "converted_at"]
    ].first()
    # Two opportunities nobody touched (one of them still worth 0), one lead that did not
    # convert.
    extra = pd.DataFrame(
        {
            "journey_id": ["sales_sourced", "zero", "cold"],
            "converted": [True, True, False],
            "value": [70.0, 0.0, 0.0],
            "converted_at": pd.to_datetime(pd.Series(["2024-02-01", "2024-02-02", None]), utc=True),
        }
    )
    return touches, pd.concat([outcomes, extra], ignore_index=True)


def test_outcome_rows_without_touches_are_untouched_pipeline() -> None:
    touches, outcomes = tables()
    loaded = at.load(touches, outcomes)
    assert loaded.journeys.n_journeys == 6
    assert loaded.intake.journeys_without_touches == 3
    result = at.attribute(loaded, ["linear", "sourced", "influenced"], by=("channel",))
    credits = result.credits.set_index(["model", "channel"])["credited_value"]
    for model in ("linear", "sourced"):
        assert credits[model, "(no touch)"] == 100  # 70 + 0 never touched, 30 emptied
        assert credits[model].sum() == pytest.approx(200)  # the whole pipeline in
    assert ("influenced", "(no touch)") not in credits.index
    shares = result.credits.groupby("model")["share"].sum()
    assert shares["linear"] == pytest.approx(1.0)
    window = result.reconciliation.windows[0]
    assert (window.never_touched, window.never_touched_value) == (2, 70)
    assert (window.none_in_window, window.none_in_window_value) == (1, 30)
    assert result.reconciliation.ok
    text = result.reconciliation.to_text()
    assert "journeys with no touch (outcome row only: untouched)" in text


def test_every_dimension_of_the_untouched_row_is_no_touch() -> None:
    touches, outcomes = tables()
    result = at.attribute(at.load(touches, outcomes), ["linear"], by=("channel", "team"))
    row = result.credits[result.credits["channel"] == "(no touch)"]
    assert row[["channel", "team"]].values.tolist() == [["(no touch)", "(no touch)"]]


def _segmented() -> at.Loaded:
    """Ent journey a (touched, 10), SMB journey b (touched, 20), Ent journey c (no touch,
    5), all created in 2026-Q1."""
    touches = pd.DataFrame(
        {
            "journey_id": ["a", "a", "b"],
            "timestamp": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True),
            "channel": ["x", "y", "x"],
        }
    )
    outcomes = pd.DataFrame(
        {
            "journey_id": ["a", "b", "c"],
            "converted": True,
            "value": [10.0, 20.0, 5.0],
            "segment": ["Ent", "SMB", "Ent"],
            "opportunity_created_at": pd.to_datetime(["2026-01-05"] * 3, utc=True),
        }
    )
    return at.load(touches, outcomes, dimensions=["segment"])


def test_untouched_row_of_a_journey_level_rollup_is_no_touch() -> None:
    """By segment alone, the untouched Ent pipeline is the ``(no touch)`` row (as by
    channel), not a second ``Ent`` row; by segment x channel it keeps its segment; by
    segment x period it keeps its period. Credits and scorecard agree."""
    data = _segmented()
    credits = at.attribute(data, ["linear"], by=("segment",)).credits
    assert credits[["segment", "credited_value"]].values.tolist() == [
        ["Ent", 10.0],
        ["SMB", 20.0],
        ["(no touch)", 5.0],
    ]
    card = at.scorecard(data, "linear", by=("segment",))
    assert card[["segment", "pipeline"]].values.tolist() == [
        ["Ent", 10.0],
        ["SMB", 20.0],
        ["(no touch)", 5.0],
    ]
    both = at.attribute(data, ["linear"], by=("segment", "channel")).credits
    untouched = both[both["channel"] == "(no touch)"]
    assert untouched[["segment", "credited_value"]].values.tolist() == [["Ent", 5.0]]
    by_period = at.attribute(data, ["linear"], by=("segment",), period="quarter").credits
    assert by_period[["segment", "period", "credited_value"]].values.tolist() == [
        ["Ent", "2026-Q1", 10.0],
        ["SMB", "2026-Q1", 20.0],
        ["(no touch)", "2026-Q1", 5.0],
    ]


def test_untouched_can_be_rejected() -> None:
    touches, outcomes = tables()
    with pytest.raises(at.InputError, match="outcome row has no touches"):
        at.load(touches, outcomes, untouched="reject")
    loaded = at.load(touches, outcomes, untouched="reject", on_invalid="skip")
    assert loaded.intake.rejected_outcome_rows == 3


def test_data_driven_fits_and_compare_ignore_untouched_pipeline() -> None:
    touches, outcomes = tables()
    with_untouched = at.attribute(
        at.load(touches, outcomes), ["markov", "shapley"], by=("channel",)
    )
    touched_only = at.attribute(
        at.load(touches, outcomes.iloc[:3]), ["markov", "shapley"], by=("channel",)
    )

    def channels(result: at.AttributionResult) -> pd.Series:
        frame = result.credits[result.credits["channel"] != "(no touch)"]
        return frame.set_index(["model", "channel"])["credited_value"]

    pd.testing.assert_series_equal(channels(with_untouched), channels(touched_only))
    comparison = compare(with_untouched.credits)
    assert "(no touch)" not in set(comparison.shares["channel"])
