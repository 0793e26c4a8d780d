"""ReportData checks its frames on construction, naming the frame and the column."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from attribution.reporting import ReportData
from attribution.reporting.data import COLUMNS, OPTIONAL_SECTIONS
from tests.reporting.conftest import small_data


def test_the_small_data_is_valid_and_has_no_optional_section() -> None:
    data = small_data()
    assert all(getattr(data, name) is None for name in OPTIONAL_SECTIONS)
    assert data.notes == ("markov: order 1",)


def test_the_example_has_every_section_and_the_promised_sizes() -> None:
    data = ReportData.example()
    assert all(getattr(data, name) is not None for name in OPTIONAL_SECTIONS)
    credits = data.channel_credits
    assert credits["model"].nunique() == 6
    assert data.removal_effects is not None
    assert set(credits["channel"]) - {"(no touch)"} == set(data.removal_effects["channel"])
    assert credits["channel"].nunique() == 12 + 1
    assert data.team_credits is not None and len(data.team_credits) == 4
    assert data.trend is not None and data.trend["period"].nunique() == 4
    assert data.top_paths is not None and len(data.top_paths) == 20


def test_the_example_is_consistent_like_the_engine_output() -> None:
    data = ReportData.example()
    credits = data.channel_credits
    pipeline_in = float(data.headline.set_index("item").loc["pipeline in", "value"])
    for _, model in credits.groupby("model"):
        assert model["credited_value"].sum() == pytest.approx(pipeline_in, rel=1e-12)
        assert model["share"].sum() == pytest.approx(1.0, rel=1e-12)
    assert data.trend is not None
    recommended = credits[credits["model"] == data.recommended_model].set_index("channel")
    by_channel = data.trend.groupby("channel")["credited_value"].sum()
    np.testing.assert_allclose(
        by_channel.loc[recommended.index], recommended["credited_value"], rtol=1e-12
    )


def test_a_missing_column_names_the_frame_the_column_and_the_columns_present() -> None:
    credits = small_data().channel_credits.drop(columns=["share"])
    with pytest.raises(
        ValueError,
        match=r"ReportData.channel_credits: missing column 'share' "
        r"\(columns present: 'model', 'channel', 'credited_value'\)",
    ):
        small_data(channel_credits=credits)


def test_an_optional_frame_is_checked_when_present() -> None:
    with pytest.raises(
        ValueError, match=r"ReportData\.trend: missing columns 'channel', 'credited_value'"
    ):
        small_data(trend=pd.DataFrame({"period": ["2026-Q3"]}))


def test_text_where_numbers_belong_is_an_error_with_an_example() -> None:
    credits = small_data().channel_credits.assign(credited_value=["600"] * 6)
    with pytest.raises(ValueError, match=r"column 'credited_value' must hold numbers .*'600'"):
        small_data(channel_credits=credits)


def test_nulls_are_numbers_that_are_undefined() -> None:
    credits = small_data().channel_credits.assign(
        share_low=pd.Series([None] * 6, dtype=object), share_high=np.nan
    )
    assert small_data(channel_credits=credits).channel_credits is credits


def test_duplicate_rows_are_an_error_naming_the_key() -> None:
    credits = small_data().channel_credits
    doubled = pd.concat([credits, credits.iloc[:1]], ignore_index=True)
    with pytest.raises(
        ValueError,
        match=r"2 rows share the same model, channel "
        r"\(e.g. model='linear', channel='webinar'\)",
    ):
        small_data(channel_credits=doubled)


def test_an_unknown_status_is_an_error() -> None:
    statuses = pd.DataFrame({"model": ["markov"], "status": ["fine"]})
    with pytest.raises(ValueError, match="unknown status 'fine'"):
        small_data(statuses=statuses)


def test_an_unknown_headline_kind_is_an_error() -> None:
    headline = pd.DataFrame({"item": ["x"], "value": [1], "kind": ["euros"]})
    with pytest.raises(ValueError, match="column 'kind': unknown kind 'euros'"):
        small_data(headline=headline)


def test_the_recommended_model_must_be_in_the_channel_credits() -> None:
    with pytest.raises(
        ValueError,
        match="'hazard' is not a model of channel_credits "
        r"\(models: linear, markov\)",
    ):
        small_data(recommended_model="hazard")


def test_a_frame_must_be_a_dataframe() -> None:
    with pytest.raises(ValueError, match=r"ReportData\.headline must be a pandas DataFrame"):
        small_data(headline=[("pipeline in", 1.0)])


def test_notes_must_be_strings() -> None:
    with pytest.raises(ValueError, match="notes must be a sequence of strings"):
        small_data(notes="one note")


def test_omitted_reasons_are_for_absent_optional_sections_only() -> None:
    data = small_data(omitted_reasons={"scorecard": "the data has no won/closed_at columns"})
    assert data.omitted_line("scorecard") == (
        "No scorecard: the data has no won/closed_at columns."
    )
    assert data.omitted_line("trend") == "No trend: not produced by this run."
    with pytest.raises(ValueError, match="'channel_credits' is not an optional section"):
        small_data(omitted_reasons={"channel_credits": "x"})
    trend = pd.DataFrame({"period": ["q"], "channel": ["webinar"], "credited_value": [1.0]})
    with pytest.raises(ValueError, match="gives a reason for 'trend', which is present"):
        small_data(trend=trend, omitted_reasons={"trend": "x"})


def test_replace_checks_the_copy_again() -> None:
    with pytest.raises(ValueError, match="recommended_model 'shapley'"):
        dataclasses.replace(small_data(), recommended_model="shapley")


def test_every_frame_field_has_its_columns_declared() -> None:
    frames = {f.name for f in dataclasses.fields(ReportData) if "DataFrame" in str(f.type)}
    assert frames == set(COLUMNS)
