"""The revenue scorecard: every column by hand on a small dataset, null ratios, period
boundaries, any-column dimensions, costs, and the totals it must keep."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.models.base import clone
from attribution.models.hazard import Hazard
from attribution.models.registry import model_names
from attribution.scorecards import Costs, credit_shares, lead_stage
from tests.builders import J, touches_frame

NAN = math.nan
T = pd.Timestamp


def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four opportunities over two quarters (won, lost, open, untouched) and a lead."""
    touches = pd.DataFrame(
        {
            "journey_id": ["j1", "j1", "j2", "j3", "j3", "j5"],
            "timestamp": pd.to_datetime(
                [
                    "2026-03-01",
                    "2026-03-11",
                    "2026-03-20",
                    "2026-04-01",
                    "2026-04-10",
                    "2026-04-05",
                ],
                utc=True,
            ),
            "channel": [
                "paid_search",
                "webinar",
                "webinar",
                "paid_search",
                "sdr_call",
                "paid_search",
            ],
            "cost": [100.0, None, None, 50.0, None, 30.0],
        }
    )
    created = pd.to_datetime(
        pd.Series(
            [
                "2026-03-31T23:59:59",
                "2026-04-01T00:00:00",
                "2026-04-15T00:00:00",
                "2026-02-01T00:00:00",
                None,
            ]
        ),
        utc=True,
    )
    closed = [created[0] + pd.Timedelta(days=40), created[1] + pd.Timedelta(days=20), None]
    closed += [created[3] + pd.Timedelta(days=10), None]
    outcomes = pd.DataFrame(
        {
            "journey_id": ["j1", "j2", "j3", "j4", "j5"],
            "converted": [True, True, True, True, False],
            "value": [1000.0, 500.0, 2000.0, 300.0, 0.0],
            "converted_at": created,
            "opportunity_created_at": created,
            "closed_at": pd.to_datetime(closed, utc=True),
            "won": pd.array([True, False, None, True, None], dtype="boolean"),
        }
    )
    return touches, outcomes


COSTS = pd.DataFrame(
    {"channel": ["webinar", "events"], "period": ["2026-Q1", "2026-Q2"], "cost": [200.0, 400.0]}
)
DAYS_J1 = 30 + 86_399 / 86_400  # 1 March 00:00 to 31 March 23:59:59
COLUMNS = [
    "opportunities",
    "pipeline",
    "closed",
    "won",
    "won_value",
    "win_rate",
    "win_rate_by_value",
    "average_won_deal",
    "cycle_days",
    "days_to_opportunity",
    "velocity_per_day",
    "cost",
    "cost_per_opportunity",
    "cost_per_won",
    "roi",
    "pipeline_to_cost",
]
UNTOUCHED = [1, 300, 1, 1, 300, 1, 1, 300, 10, NAN, 30, NAN, NAN, NAN, NAN, NAN]
COST_ONLY = [0, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN, NAN, 400, NAN, NAN, -1, 0]
EMPTY = [0, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN]
WEBINAR_Q2 = [1, 500, 1, 0, 0, 0, 0, NAN, NAN, 12, NAN, NAN, NAN, NAN, NAN, NAN]
EXPECTED = {
    "linear": {
        ("paid_search", "2026-Q1"): [
            0.5,
            500,
            0.5,
            0.5,
            500,
            1,
            1,
            1000,
            40,
            DAYS_J1,
            12.5,
            100,
            200,
            200,
            4,
            5,
        ],
        ("webinar", "2026-Q1"): [
            0.5,
            500,
            0.5,
            0.5,
            500,
            1,
            1,
            1000,
            40,
            DAYS_J1,
            12.5,
            200,
            400,
            400,
            1.5,
            2.5,
        ],
        ("webinar", "2026-Q2"): WEBINAR_Q2,
        ("paid_search", "2026-Q2"): [
            0.5,
            1000,
            0,
            0,
            0,
            NAN,
            NAN,
            NAN,
            NAN,
            14,
            NAN,
            80,
            160,
            NAN,
            -1,
            12.5,
        ],
        ("sdr_call", "2026-Q2"): [
            0.5,
            1000,
            0,
            0,
            0,
            NAN,
            NAN,
            NAN,
            NAN,
            14,
            NAN,
            NAN,
            NAN,
            NAN,
            NAN,
            NAN,
        ],
        ("paid_search", "(none)"): EMPTY,
        ("events", "2026-Q2"): COST_ONLY,
        ("(no touch)", "2026-Q1"): UNTOUCHED,
    },
    "sourced": {
        ("paid_search", "2026-Q1"): [
            1,
            1000,
            1,
            1,
            1000,
            1,
            1,
            1000,
            40,
            DAYS_J1,
            25,
            100,
            100,
            100,
            9,
            10,
        ],
        ("webinar", "2026-Q1"): [0, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN, NAN, 200, NAN, NAN, -1, 0],
        ("webinar", "2026-Q2"): WEBINAR_Q2,
        ("paid_search", "2026-Q2"): [
            1,
            2000,
            0,
            0,
            0,
            NAN,
            NAN,
            NAN,
            NAN,
            14,
            NAN,
            80,
            80,
            NAN,
            -1,
            25,
        ],
        ("sdr_call", "2026-Q2"): EMPTY,
        ("paid_search", "(none)"): EMPTY,
        ("events", "2026-Q2"): COST_ONLY,
        ("(no touch)", "2026-Q1"): UNTOUCHED,
    },
    "influenced": {
        ("paid_search", "2026-Q1"): [
            1,
            1000,
            1,
            1,
            1000,
            1,
            1,
            1000,
            40,
            DAYS_J1,
            25,
            100,
            100,
            100,
            9,
            10,
        ],
        ("webinar", "2026-Q1"): [
            1,
            1000,
            1,
            1,
            1000,
            1,
            1,
            1000,
            40,
            DAYS_J1,
            25,
            200,
            200,
            200,
            4,
            5,
        ],
        ("webinar", "2026-Q2"): WEBINAR_Q2,
        ("paid_search", "2026-Q2"): [
            1,
            2000,
            0,
            0,
            0,
            NAN,
            NAN,
            NAN,
            NAN,
            14,
            NAN,
            80,
            80,
            NAN,
            -1,
            25,
        ],
        ("sdr_call", "2026-Q2"): [
            1,
            2000,
            0,
            0,
            0,
            NAN,
            NAN,
            NAN,
            NAN,
            14,
            NAN,
            NAN,
            NAN,
            NAN,
            NAN,
            NAN,
        ],
        ("paid_search", "(none)"): EMPTY,
        ("events", "2026-Q2"): COST_ONLY,
        ("(no touch)", "2026-Q1"): UNTOUCHED,
    },
}


@pytest.fixture(scope="module")
def card() -> pd.DataFrame:
    touches, outcomes = data()
    return at.scorecard(
        at.load(touches, outcomes),
        ["linear", "sourced", "influenced"],
        by=("channel",),
        period="quarter",
        costs=COSTS,
    )


@pytest.mark.parametrize("model", ["linear", "sourced", "influenced"])
def test_every_column_by_hand(card: pd.DataFrame, model: str) -> None:
    rows = card[card["model"] == model].set_index(["channel", "period"])
    assert set(rows.index) == set(EXPECTED[model])
    for group, expected in EXPECTED[model].items():
        got = rows.loc[group, COLUMNS].to_numpy(dtype=float)
        np.testing.assert_allclose(
            got, expected, rtol=1e-12, atol=1e-12, err_msg=f"{model} {group}"
        )


def test_a_cost_row_matching_nothing_is_a_note() -> None:
    touches, outcomes = data()
    result = at.attribute(
        at.load(touches, outcomes),
        ["linear"],
        by=("channel",),
        period="quarter",
        scorecard=True,
        costs=Costs.load(COSTS),
    )
    (note,) = result.reconciliation.notes_about(code="costs_unmatched")
    assert "events 2026-Q2" in note.message


def _teamed(teams: list[str] | None = None) -> at.Loaded:
    """The dataset with a team per touch (default: each channel one team's)."""
    touches, outcomes = data()
    if teams is None:
        team = touches["channel"].map(
            {"paid_search": "marketing", "webinar": "marketing", "sdr_call": "sdr"}
        )
    else:
        team = pd.Series(teams)
    return at.load(touches.assign(team=team), outcomes)


# Touch costs: paid_search 100 (j1), 50 (j3), 30 (j5); tv has no touch.
CHANNEL_COSTS = pd.DataFrame({"channel": ["webinar", "sdr_call", "tv"], "cost": [200.0, 10.0, 7.0]})


def _costs(card: pd.DataFrame, by: list[str]) -> dict[tuple[str, ...], float]:
    return {
        tuple(row[:-1]): row[-1]
        for row in card[[*by, "cost"]].itertuples(index=False)
        if not math.isnan(row[-1])
    }


def test_costs_keyed_by_the_card_dimension() -> None:
    card = at.scorecard(_teamed(), ["linear"], by=("channel",), costs=CHANNEL_COSTS)
    assert _costs(card, ["channel"]) == {
        ("paid_search",): 180.0,
        ("webinar",): 200.0,
        ("sdr_call",): 10.0,
        ("tv",): 7.0,
    }
    assert card.set_index("channel").loc["tv", "opportunities"] == 0


def test_costs_keyed_by_a_dimension_that_determines_the_card_dimension() -> None:
    """Every touch of webinar and sdr_call is one team's: their spend is that team's; tv
    has no touch, so no team: (unallocated), never a team named tv."""
    result = at.attribute(
        _teamed(), ["linear"], by=("team",), scorecard=True, costs=Costs.load(CHANNEL_COSTS)
    )
    assert result.scorecards is not None
    card = result.scorecards[("team",)]
    assert _costs(card, ["team"]) == {
        ("marketing",): 100 + 50 + 30 + 200.0,
        ("sdr",): 10.0,
        ("(unallocated)",): 7.0,
    }
    assert set(card["team"]) == {"marketing", "sdr", "(no touch)", "(unallocated)"}
    (note,) = result.reconciliation.notes_about(code="costs_unmatched")
    assert "match no group of the data" in note.message and "tv" in note.message
    assert not result.reconciliation.notes_about(code="costs_unallocated")


def test_costs_reach_the_default_channel_x_team_card() -> None:
    """The default roll-up (channel x team) gets the file's spend: each channel's spend on
    its one team; the card's cost column sums to touch costs plus the file's."""
    result = at.attribute(_teamed(), ["linear"], scorecard=True, costs=Costs.load(CHANNEL_COSTS))
    assert result.scorecards is not None
    card = result.scorecards[("channel", "team")]
    assert _costs(card, ["channel", "team"]) == {
        ("paid_search", "marketing"): 180.0,
        ("webinar", "marketing"): 200.0,
        ("sdr_call", "sdr"): 10.0,
        ("tv", "(unallocated)"): 7.0,
    }
    assert card["cost"].sum() == 180 + 217


def test_spend_of_a_key_spread_over_several_labels_is_unallocated() -> None:
    """webinar is touched by marketing (j1) and partner (j2): its 200 cannot be split
    between them exactly, so it is the row (webinar, (unallocated)), with a note; by
    team alone it is the (unallocated) team."""
    loaded = _teamed(["marketing", "marketing", "partner", "marketing", "sdr", "marketing"])
    result = at.attribute(
        loaded,
        ["linear"],
        by=("channel", "team"),
        also_by=[("team",)],
        scorecard=True,
        costs=Costs.load(CHANNEL_COSTS),
    )
    assert result.scorecards is not None
    card = result.scorecards[("channel", "team")]
    assert _costs(card, ["channel", "team"]) == {
        ("paid_search", "marketing"): 180.0,
        ("webinar", "(unallocated)"): 200.0,
        ("sdr_call", "sdr"): 10.0,
        ("tv", "(unallocated)"): 7.0,
    }
    rows = card.set_index(["channel", "team"])
    assert math.isnan(rows.loc[("webinar", "marketing"), "cost"])
    assert rows.loc[("webinar", "(unallocated)"), "opportunities"] == 0
    by_team = result.scorecards[("team",)]
    assert _costs(by_team, ["team"]) == {
        ("marketing",): 180.0,
        ("sdr",): 10.0,
        ("(unallocated)",): 207.0,
    }
    notes = result.reconciliation.notes_about(code="costs_unallocated")
    assert notes and all(
        "webinar" in n.message and "cannot be split over team" in n.message for n in notes
    )


def test_costs_by_channel_and_campaign_sum_into_a_card_by_channel() -> None:
    touches, outcomes = data()
    loaded = at.load(touches.assign(campaign="c1"), outcomes)
    costs = pd.DataFrame(
        {"channel": ["webinar", "webinar"], "campaign": ["c1", "c2"], "cost": [5.0, 6.0]}
    )
    card = at.scorecard(loaded, ["linear"], by=("channel",), costs=costs)
    assert _costs(card, ["channel"]) == {("paid_search",): 180.0, ("webinar",): 11.0}


def test_costs_keyed_by_a_column_the_data_lacks() -> None:
    costs = pd.DataFrame({"vendor": ["acme"], "cost": [5.0]})
    with pytest.raises(at.ParameterError, match="keyed by 'vendor', which the data does not"):
        at.scorecard(_teamed(), ["linear"], by=("channel",), costs=costs)


def test_cost_rows_without_a_key_or_period_are_errors() -> None:
    frame = pd.DataFrame(
        {
            "channel": ["webinar", None, " ", "events"],
            "period": ["2026-Q1", "2026-Q1", "2026-Q2", None],
            "cost": [1.0, 2.0, 3.0, 4.0],
        }
    )
    with pytest.raises(at.InputError) as error:
        Costs.read(frame, "costs.csv")
    message = str(error.value)
    assert "costs.csv: column 'channel': key is empty" in message
    assert "row 2, row 3" in message
    assert "costs.csv: column 'period': period is empty" in message and "row 4" in message


def test_cost_periods_must_have_the_runs_form() -> None:
    touches, outcomes = data()
    costs = pd.DataFrame(
        {"channel": ["webinar", "webinar"], "period": ["2026-Q1", "2026-01"], "cost": [1.0, 2.0]}
    )
    with pytest.raises(
        at.InputError,
        match=r"column 'period': period is not a quarter like "
        r"'2026-Q3' \(the scorecard is by quarter\) \(1 row; e.g. row 2\)",
    ):
        at.scorecard(at.load(touches, outcomes), ["linear"], period="quarter", costs=costs)
    month = at.scorecard(
        at.load(touches, outcomes), ["linear"], period="month", costs=costs.iloc[[1]]
    )
    assert month.set_index(["channel", "period"]).loc[("webinar", "2026-01"), "cost"] == 2.0


def test_bad_costs_are_input_errors() -> None:
    with pytest.raises(at.InputError, match="cost must be a finite number >= 0"):
        Costs.load(pd.DataFrame({"channel": ["a", "b"], "cost": [1.0, -3.0]}))
    with pytest.raises(at.InputError, match="need a dimension column"):
        Costs.load(pd.DataFrame({"period": ["2026-Q1"], "cost": [1.0]}))
    with pytest.raises(at.InputError, match="need a 'cost' column"):
        Costs.load(pd.DataFrame({"channel": ["a"], "spend": [1.0]}))
    touches, outcomes = data()
    no_period = COSTS.drop(columns="period")
    with pytest.raises(at.ParameterError, match="has no period column"):
        at.scorecard(at.load(touches, outcomes), ["linear"], period="quarter", costs=no_period)


def test_costs_by_period_need_a_run_by_period() -> None:
    """A costs file with a period column gives spend per period: without a period the
    run refuses it (naming the file and the column), before anything is computed,
    rather than summing it over its periods. A card without the period dimension of a
    run by period sums them (the spend of every period of the group)."""
    touches, outcomes = data()
    loaded = at.load(touches, outcomes)
    costs = Costs.read(COSTS, "costs.csv")
    expected = (
        r"costs.csv: column 'period': costs by period need a run by period "
        r"\(period='month', 'quarter' or 'year'"
    )
    with pytest.raises(at.InputError, match=expected):
        at.scorecard(loaded, ["linear"], by=("channel",), costs=costs)
    with pytest.raises(at.InputError, match=expected):
        at.attribute(loaded, ["linear"], scorecard=True, costs=costs)
    result = at.attribute(
        loaded,
        ["linear"],
        by=("channel",),
        also_by=[("channel",)],
        period="quarter",
        scorecard=True,
        costs=costs,
    )
    assert result.scorecards is not None
    by_channel = result.scorecards[("channel",)].set_index("channel")
    assert by_channel.loc["webinar", "cost"] == 200 and by_channel.loc["events", "cost"] == 400
    # Without a period column the file needs no period.
    plain = at.scorecard(loaded, ["linear"], costs=COSTS.drop(columns="period"))
    assert plain.set_index("channel").loc["webinar", "cost"] == 200


def journeys_with_leads(n: int) -> list[J]:
    """``n`` random journeys of 1 to 5 touches over four channels; 60% have a lead (after
    their first touch), and half of those an opportunity 5 days after the lead."""
    rng = np.random.default_rng(3)
    journeys = []
    for _ in range(n):
        length = int(rng.integers(1, 6))
        days = np.sort(np.round(rng.uniform(0, 60, length), 3))
        milestones = {}
        if rng.random() < 0.6:
            milestones["lead_created_at"] = float(days[0] + rng.uniform(0, 30))
        converted = "lead_created_at" in milestones and rng.random() < 0.5
        if converted:
            milestones["opportunity_created_at"] = milestones["lead_created_at"] + 5
            milestones["converted_at"] = milestones["opportunity_created_at"]
        path = [str(c) for c in rng.choice(["a", "b", "c", "d"], length)]
        journeys.append(J(path, converted, 10.0, list(days), milestones=milestones))
    return journeys


def test_a_data_driven_model_credits_leads_with_its_refit_on_the_lead_stage() -> None:
    """hazard's leads are the credit of hazard fitted on the lead stage (each lead a
    conversion at its creation, worth 1), over the touches up to lead creation; the
    reference guard, a check of the main run, plays no part in them."""
    loaded = at.load(touches_frame(journeys_with_leads(120)))
    model = {"hazard": Hazard(half_lives=(1.0, 7.0), pair_half_lives=(3.0,), pairs="none")}
    card = at.scorecard(loaded, model, by=("channel",)).set_index("channel")
    # By hand, through the public model API.
    staged, columns = lead_stage(loaded.journeys)
    windowed = staged.window(None)[0]
    refit = clone(model["hazard"]).fit(windowed)
    credited = windowed.converted_only
    share = credit_shares(credited, refit.credit(credited))
    leads = columns[np.flatnonzero(windowed.converted), 0]
    per_touch = share * np.repeat(leads, credited.lengths)
    names = np.asarray(credited.channel_names)[credited.channel]
    expected = pd.Series(per_touch).groupby(names).sum()
    got = card["leads"].drop("(no touch)", errors="ignore")
    np.testing.assert_allclose(got[expected.index], expected, rtol=1e-12)
    assert got.drop(expected.index).eq(0).all()
    without = {"hazard": clone(model["hazard"]).set_params(reference_guard_days=None)}
    other = at.scorecard(loaded, without, by=("channel",)).set_index("channel")
    pd.testing.assert_series_equal(other["leads"], card["leads"])


def test_every_conserving_model_credits_every_lead() -> None:
    """The leads column of every conserving model, data-driven ones included, sums to the
    journeys with a lead, a lead before any touch in the (no touch) row. Each model is
    refitted on the lead stage: hazard's and markov's opportunity-stage fits conserve
    only in total, and on the leads they do not add up."""
    journeys = [
        *journeys_with_leads(120),
        J(["c"], converted=False, days=[40], milestones={"lead_created_at": 2}),
    ]
    n_leads = sum("lead_created_at" in j.milestones for j in journeys)
    loaded = at.load(touches_frame(journeys))
    # influenced counts a lead once per group it touched; custom_stage needs its
    # milestones and weights named.
    models = [m for m in model_names() if m not in ("influenced", "custom_stage")]
    result = at.attribute(loaded, models, by=("channel",), period="quarter", scorecard=True)
    assert result.scorecards is not None
    card = result.scorecards[result.by]
    assert card.loc[card["channel"] == "(no touch)", "leads"].sum() > 0
    for model in models:
        leads = card.loc[card["model"] == model, "leads"].sum()
        assert leads == pytest.approx(n_leads, rel=1e-9), model


def test_period_boundaries_are_utc() -> None:
    touches, outcomes = data()
    card = at.scorecard(at.load(touches, outcomes), ["linear"], by=("channel",), period="month")
    periods = set(card["period"])
    assert {"2026-03", "2026-04", "2026-02"} <= periods
    rows = card.set_index(["channel", "period"])
    assert rows.loc[("webinar", "2026-03"), "opportunities"] == 0.5  # 23:59:59 on 31 March
    assert rows.loc[("webinar", "2026-04"), "opportunities"] == 1.0  # 00:00:00 on 1 April
    year = at.scorecard(at.load(touches, outcomes), ["linear"], by=("channel",), period="year")
    assert set(year["period"]) == {"2026", "(none)"}


def test_leads_and_stage_conversion() -> None:
    journeys = [
        J(
            ["a", "b"],
            value=10,
            days=[0, 5],
            milestones={"lead_created_at": 1, "opportunity_created_at": 6},
        ),
        J(["a"], converted=False, days=[0], milestones={"lead_created_at": 0.5}),
        J(["b"], converted=False, days=[0]),
    ]
    card = at.scorecard(at.load(touches_frame(journeys)), ["linear"], by=("channel",))
    rows = card.set_index("channel")
    # The lead of j0 is credited to its touches up to lead creation: a alone.
    assert rows.loc["a", "leads"] == 2 and rows.loc["b", "leads"] == 0
    assert rows.loc["a", "lead_to_opportunity"] == 0.5
    assert math.isnan(rows.loc["b", "lead_to_opportunity"])
    assert rows.loc["a", "opportunity_to_won"] == 0  # won is unknown: not won


def test_period_none_is_counted_in_the_reconciliation() -> None:
    """j5 (not converted) has no opportunity_created_at: 1 journey in period (none)."""
    touches, outcomes = data()
    result = at.attribute(at.load(touches, outcomes), ["linear"], period="quarter")
    (note,) = result.reconciliation.notes_about(code="period_none")
    assert note.data == {"journeys": 1.0, "conversions": 0.0, "value": 0.0}
    assert "period (none): 1 journeys (0 conversions, value 0) have no opportunity_created_at" in (
        result.reconciliation.to_text()
    )
    undated = outcomes.assign(
        opportunity_created_at=outcomes["opportunity_created_at"].where(
            outcomes["journey_id"] != "j4"
        )
    )
    result = at.attribute(at.load(touches, undated), ["linear"], period="quarter")
    (note,) = result.reconciliation.notes_about(code="period_none")
    assert note.data == {"journeys": 2.0, "conversions": 1.0, "value": 300.0}
    plain = at.attribute(at.load(touches, outcomes), ["linear"])
    assert not plain.reconciliation.notes_about(code="period_none")


def test_every_lead_lands_in_a_group() -> None:
    """j0's lead (day 1) is credited to a, j1's (day 0.5) to a; j2's lead comes before its
    only touch, and j3 has no touch at all: both are leads of the (no touch) row, and
    j3 (converted) is its opportunity. The leads column sums to the 4 leads."""
    journeys = [
        J(
            ["a", "b"],
            value=10,
            days=[0, 5],
            milestones={"lead_created_at": 1, "opportunity_created_at": 6},
        ),
        J(["a"], converted=False, days=[0], milestones={"lead_created_at": 0.5}),
        J(["b"], converted=False, days=[3], milestones={"lead_created_at": 1}),
    ]
    frame = touches_frame(journeys)
    touches = frame[["journey_id", "timestamp", "channel"]]
    outcomes = frame.groupby("journey_id", as_index=False)[
        ["converted", "value", "lead_created_at", "opportunity_created_at"]
    ].first()
    day = pd.Timestamp("2024-01-01", tz="UTC")
    untouched = pd.DataFrame(
        {
            "journey_id": ["j3"],
            "converted": [True],
            "value": [4.0],
            "lead_created_at": [day + pd.Timedelta(days=2)],
            "opportunity_created_at": [day + pd.Timedelta(days=3)],
        }
    )
    loaded = at.load(touches, pd.concat([outcomes, untouched], ignore_index=True))
    for model in ("linear", "sourced", "influenced"):
        rows = at.scorecard(loaded, [model], by=("channel",)).set_index("channel")
        assert rows["leads"].to_dict() == {"a": 2.0, "b": 0.0, "(no touch)": 2.0}, model
        assert rows.loc["(no touch)", "lead_to_opportunity"] == 0.5
        assert rows.loc["(no touch)", "opportunities"] == 1.0
    by_team = at.scorecard(loaded, ["linear"], by=("team",), period="quarter")
    assert by_team["leads"].sum() == 4.0


def test_any_column_is_a_dimension() -> None:
    touches, outcomes = data()
    touches = touches.assign(region=["emea", "emea", "na", "na", "na", "apac"])
    outcomes = outcomes.assign(segment=pd.Series(["smb", "mid", "mid", "smb", None]))
    loaded = at.load(touches, outcomes, dimensions=["region", "segment"])
    assert loaded.journeys.level("region") == "touch"
    assert loaded.journeys.level("segment") == "journey"
    result = at.attribute(loaded, ["linear"], by=("region", "segment"))
    credits = result.credits.set_index(["region", "segment"])["credited_value"]
    assert credits["emea", "smb"] == 1000 and credits["na", "mid"] == 2500
    # The untouched opportunity keeps its segment.
    assert credits["(no touch)", "smb"] == 300
    assert result.credits["credited_value"].sum() == pytest.approx(3800)


def test_a_journey_level_column_must_be_constant_within_a_journey() -> None:
    frame = touches_frame([J(["a", "b"]), J(["c"])]).assign(segment=["smb", "mid", "smb"])
    with pytest.raises(at.InputError, match="segment differs between rows of the same journey"):
        at.load(frame, dimensions=["segment"], journey_dimensions=["segment"])
    loaded = at.load(frame, dimensions=["segment"])  # as a touch-level dimension it is fine
    assert loaded.journeys.level("segment") == "touch"


def test_only_the_named_columns_are_read(tmp_path: Path) -> None:
    """A column the reader refuses (nested values) costs nothing unless named: it is never
    read for a roll-up by another column, and is an error when named."""
    touches, outcomes = data()
    table = pa.Table.from_pandas(touches.assign(region="emea"), preserve_index=False)
    nested = pa.array([[i] for i in range(len(touches))], pa.list_(pa.int64()))
    pq.write_table(table.append_column("junk", nested), tmp_path / "wide.parquet")
    outcomes.to_parquet(tmp_path / "outcomes.parquet")
    loaded = at.load(
        tmp_path / "wide.parquet", tmp_path / "outcomes.parquet", dimensions=["region"]
    )
    assert loaded.journeys.dimensions == ("channel", "team", "campaign", "touch_type", "region")
    card = at.scorecard(loaded, ["linear"], by=("region",))
    assert card.set_index("region").loc["emea", "pipeline"] == 3500
    with pytest.raises(at.InputError, match=r"'junk' .* hold nested values"):
        at.load(tmp_path / "wide.parquet", tmp_path / "outcomes.parquet", dimensions=["junk"])


@st.composite
def journeys_with_regions(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(2, 8))
    journeys = []
    for i in range(n):
        length = draw(st.integers(1, 4))
        path = draw(st.lists(st.sampled_from("abc"), min_size=length, max_size=length))
        converted = i == 0 or draw(st.booleans())
        days = sorted(draw(st.lists(st.floats(0, 400), min_size=length, max_size=length)))
        journeys.append(J(path, converted=converted, value=draw(st.floats(1, 1e4)), days=days))
    frame = touches_frame(journeys)
    regions = draw(st.lists(st.sampled_from(["x", "y"]), min_size=len(frame), max_size=len(frame)))
    return frame.assign(region=regions, converted_at=frame["timestamp"].max())


@settings(max_examples=20, deadline=None)
@given(frame=journeys_with_regions())
def test_scorecard_totals_are_the_models_credits(frame: pd.DataFrame) -> None:
    loaded = at.load(frame, dimensions=["region"])
    for by in (("channel",), ("channel", "region")):
        result = at.attribute(
            loaded, ["linear", "time_decay", "sourced"], by=by, period="quarter", scorecard=True
        )
        assert result.scorecards is not None
        card = result.scorecards[result.by]
        for model, rows in card.groupby("model"):
            credits = result.credits[result.credits["model"] == model]
            assert rows["opportunities"].sum() == pytest.approx(
                credits["credited_conversions"].sum()
            )
            assert rows["pipeline"].sum() == pytest.approx(credits["credited_value"].sum())


SUMMED = ["opportunities", "pipeline", "closed", "won", "won_value", "cost"]


@settings(max_examples=8, deadline=None)
@given(frame=journeys_with_regions(), spend=st.lists(st.floats(0, 1e4), min_size=3, max_size=3))
def test_adding_a_dimension_never_changes_the_totals(
    frame: pd.DataFrame, spend: list[float]
) -> None:
    """The scorecards by channel, by channel x region and by region (touch costs and a
    channel costs file: spend on a channel touched in both regions is the (unallocated)
    region's), and by channel per quarter, have the same totals for the conserving
    models, and the same cost for every model (``influenced`` counts a journey once per
    group it touched, so its other totals grow with the groups)."""
    frame = frame.assign(cost=np.arange(len(frame), dtype=float))
    loaded = at.load(frame, dimensions=["region"])
    models = ["linear", "sourced", "influenced"]
    result = at.attribute(
        loaded,
        models,
        by=("channel", "region"),
        also_by=[("channel",), ("region",)],
        scorecard=True,
        costs=Costs.load(pd.DataFrame({"channel": list("abc"), "cost": spend})),
    )
    by_period = at.attribute(loaded, models, by=("channel",), period="quarter", scorecard=True)
    assert result.scorecards is not None and by_period.scorecards is not None
    cards = [*result.scorecards.values(), *by_period.scorecards.values()]
    assert len(cards) == 4
    totals = [card.groupby("model")[SUMMED].sum() for card in cards]
    assert [t.loc["influenced", "cost"] for t in totals[1:3]] == pytest.approx(
        [totals[0].loc["influenced", "cost"]] * 2
    )
    totals = [t.drop(index="influenced") for t in totals]
    for other in totals[1:3]:
        pd.testing.assert_frame_equal(other, totals[0], rtol=1e-9)
    assert totals[0]["cost"].iloc[0] == pytest.approx(frame["cost"].sum() + sum(spend))
    pd.testing.assert_frame_equal(
        totals[3], totals[0].assign(cost=totals[0]["cost"] - sum(spend)), rtol=1e-9, atol=1e-9
    )
