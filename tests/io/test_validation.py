"""Every kind of invalid input gives a clear error naming where and what; ``skip`` mode
moves the rows to the rejects with a reason instead, and the counts reconcile."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import attribution as at
from attribution.errors import InputError
from tests.builders import J, touches_frame


def good() -> pd.DataFrame:
    return touches_frame(
        [J(["a", "b"], value=10), J(["b", "c", "a"], converted=False), J(["c"], value=5)]
    )


def error_of(frame: pd.DataFrame, tmp_path: Path, **options: object) -> str:
    path = tmp_path / "touches.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        at.load(path, **options)  # type: ignore[arg-type]
    return str(caught.value)


def test_missing_required_column(tmp_path: Path) -> None:
    message = error_of(good().rename(columns={"channel": "source"}), tmp_path)
    assert "touches.csv" in message
    assert "missing required column(s) 'channel'" in message
    # It lists every column the file has, also those the engine does not read.
    assert "it has 'journey_id', 'timestamp', 'source'" in message


@pytest.mark.parametrize("suffix", [".parquet", "folder"])
def test_missing_column_lists_every_column_of_parquet(tmp_path: Path, suffix: str) -> None:
    frame = good().rename(columns={"timestamp": "ts"})
    if suffix == "folder":
        (tmp_path / "in").mkdir()
        frame.to_parquet(tmp_path / "in" / "part-0.parquet")
        path = tmp_path / "in"
    else:
        path = tmp_path / "touches.parquet"
        frame.to_parquet(path)
    with pytest.raises(InputError, match="it has 'journey_id', 'ts', 'channel'"):
        at.load(path)


def test_configured_column_names(tmp_path: Path) -> None:
    frame = good().rename(columns={"journey_id": "opportunity_id", "value": "amount"})
    columns = at.ColumnMap(journey_id="opportunity_id", value="amount")
    loaded = at.load(frame, columns=columns)
    assert loaded.journeys.total_value == 15
    message = error_of(frame, tmp_path)
    assert "'journey_id'" in message


def test_unparseable_timestamp_names_row_and_value(tmp_path: Path) -> None:
    frame = good().astype({"timestamp": str})
    frame.loc[3, "timestamp"] = "yesterday"
    message = error_of(frame, tmp_path)
    assert "column 'timestamp'" in message
    assert "cannot be parsed as a timestamp" in message
    assert "row 4" in message  # 1-based data row of the file
    assert "'yesterday'" in message


def test_null_journey_id_and_channel(tmp_path: Path) -> None:
    frame = good()
    frame.loc[1, "journey_id"] = None
    frame.loc[4, "channel"] = None
    message = error_of(frame, tmp_path)
    assert "journey_id is null" in message and "row 2" in message
    assert "channel is null" in message and "row 5" in message


def test_negative_and_non_finite_values(tmp_path: Path) -> None:
    frame = good()
    frame.loc[frame["journey_id"] == "j0", "value"] = -10.0
    message = error_of(frame, tmp_path)
    assert "value is negative" in message
    frame = good()
    frame.loc[frame["journey_id"] == "j2", "value"] = np.inf
    message = error_of(frame, tmp_path)
    assert "column 'value'" in message and "not a finite number" in message


def test_conflicting_outcomes_name_the_column_and_journey(tmp_path: Path) -> None:
    frame = good()
    frame.loc[0, "value"] = 99.0  # j0 has two rows with values 99 and 10
    message = error_of(frame, tmp_path)
    assert "column 'value': value differs between rows of the same journey" in message
    assert "e.g. row 1, line 2, row 2, line 3" in message
    assert "journey 'j0'" in message


def test_outcome_rows_without_touches_can_be_refused(tmp_path: Path) -> None:
    touches = good().drop(columns=["converted", "value"])
    outcomes = pd.DataFrame({"journey_id": ["j0", "j1", "j2", "ghost"], "converted": [1, 0, 1, 1]})
    outcomes.to_parquet(tmp_path / "outcomes.parquet")
    with pytest.raises(InputError) as caught:
        at.load(touches, tmp_path / "outcomes.parquet", untouched="reject")
    message = str(caught.value)
    assert "outcomes" in message and "outcomes.parquet" in message
    assert "outcome row has no touches" in message and "row 4" in message
    assert "'ghost'" in message


def test_duplicate_outcome_rows(tmp_path: Path) -> None:
    touches = good().drop(columns=["converted", "value"])
    outcomes = pd.DataFrame({"journey_id": ["j0", "j0", "j1", "j2"], "converted": [1, 1, 0, 1]})
    with pytest.raises(InputError, match="more than one outcome row"):
        at.load(touches, outcomes)
    skipped = at.load(touches, outcomes, on_invalid="skip")
    assert skipped.intake.rejected_journeys == 1  # j0, with both of its outcome rows
    assert skipped.intake.journeys_without_outcome == 0  # j0 has rows, if too many


def test_empty_input(tmp_path: Path) -> None:
    message = error_of(good().iloc[:0], tmp_path)
    assert "has no rows" in message and "touches.csv" in message


def test_channel_containing_the_separator(tmp_path: Path) -> None:
    frame = good()
    frame.loc[0, "channel"] = "paid > search"
    message = error_of(frame, tmp_path)
    assert "contains the path separator ' > '" in message
    assert "'paid > search'" in message
    # A different separator makes the same name valid.
    assert at.load(frame, separator="|").journeys.n_touches == len(frame)


def test_missing_converted_column(tmp_path: Path) -> None:
    message = error_of(good().drop(columns=["converted", "converted_at"]), tmp_path)
    assert "'converted'" in message and "converted_at" in message


def test_converted_derived_from_converted_at() -> None:
    frame = good().drop(columns=["converted"])
    frame["converted_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    frame.loc[frame["journey_id"] == "j0", "converted_at"] = pd.Timestamp("2024-02-01", tz="UTC")
    loaded = at.load(frame)
    assert loaded.journeys.converted.tolist() == [True, False, False]
    assert [n.code for n in loaded.intake.notes] == ["converted_derived"]


def test_missing_value_of_a_converted_journey(tmp_path: Path) -> None:
    frame = good()
    frame.loc[frame["journey_id"] == "j2", "value"] = np.nan
    message = error_of(frame, tmp_path)
    assert "value is missing for a converted journey" in message


def test_unknown_file_and_type(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        at.load(tmp_path / "absent.parquet")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(InputError, match="unsupported touches file type"):
        at.load(tmp_path / "data.xlsx")


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    frame = good().astype({"timestamp": str})
    frame.loc[0, "timestamp"] = "not a time"
    frame.loc[2, "channel"] = None
    message = error_of(frame, tmp_path)
    lines = message.splitlines()
    # One bad cell is one problem: the other rows of the journeys are not problems of
    # their own (they are rejected with them in skip mode).
    assert lines[0] == "2 problems in the input:"
    assert "timestamp cannot be parsed" in lines[1]
    assert "channel is null" in lines[2]
    assert "another row" not in message


@pytest.mark.parametrize("text", ["2300-01-01", "9999-12-31T00:00:00Z", "1500-06-01"])
def test_times_outside_the_nanosecond_range_are_errors(tmp_path: Path, text: str) -> None:
    frame = good().astype({"timestamp": str})
    frame.loc[1, "timestamp"] = text
    message = error_of(frame, tmp_path)
    assert "timestamp is outside the supported range (years 1678-2261)" in message
    assert "row 2" in message
    milestone = good().astype({"closed_at": str})
    milestone.loc[:, "closed_at"] = None
    milestone.loc[0, "closed_at"] = text  # a CRM placeholder close date
    message = error_of(milestone, tmp_path)
    assert "column 'closed_at': closed_at is outside the supported range" in message


def test_a_renamed_column_must_exist(tmp_path: Path) -> None:
    frame = good()
    message = error_of(frame, tmp_path, columns=at.ColumnMap(value="amount"))
    assert "no column 'amount' (for value)" in message
    message = error_of(frame, tmp_path, columns=at.ColumnMap(team="owner"))
    assert "no column 'owner' (for team)" in message


def test_null_converted_falls_back_to_converted_at() -> None:
    frame = good().astype({"converted": "boolean"})
    frame["converted_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    frame.loc[frame["journey_id"] == "j1", "converted"] = None
    frame.loc[frame["journey_id"] == "j1", "converted_at"] = pd.Timestamp("2024-02-01", tz="UTC")
    frame.loc[frame["journey_id"] == "j1", "value"] = 7.0
    loaded = at.load(frame)
    assert loaded.journeys.converted.tolist() == [True, True, True]
    assert loaded.journeys.total_value == 22


def test_values_whose_total_overflows(tmp_path: Path) -> None:
    frame = good()
    frame["value"] = np.where(frame["converted"], 1.7e308, 0.0)
    message = error_of(frame, tmp_path)
    assert "total is not a finite number" in message


def test_skip_mode_rejects_whole_journeys_with_reasons(tmp_path: Path) -> None:
    frame = good().astype({"timestamp": str})
    frame.loc[3, "timestamp"] = "yesterday"  # one of j1's three touches
    frame.loc[0, "value"] = 99.0  # j0's two rows now conflict
    path = tmp_path / "touches.csv"
    frame.to_csv(path, index=False)
    loaded = at.load(path, on_invalid="skip")
    rejects = loaded.rejects
    # Every row of j0 and j1 is rejected: no journey is credited on part of its touches.
    assert sorted(rejects["source_row"].tolist()) == [1, 2, 3, 4, 5]
    assert set(rejects["journey_id"]) == {"j0", "j1"}
    reasons = dict(zip(rejects["source_row"], rejects["reason"], strict=True))
    assert "differs between rows" in reasons[1] and "differs between rows" in reasons[2]
    assert "cannot be parsed" in reasons[4]
    assert reasons[3] == reasons[5] == "another row of the same journey is invalid"
    assert rejects["input.timestamp"].tolist().count("yesterday") == 1
    intake = loaded.intake
    assert intake.touch_rows == len(frame)
    assert intake.rejected_touch_rows == 5
    assert sum(intake.rejected_by_reason.values()) == 5
    assert intake.rejected_journeys == 2
    assert loaded.journeys.n_touches == len(frame) - 5
    assert loaded.journeys.total_value == 5  # only j2 is left


def test_skip_mode_rejects_outcome_rows_and_their_touches() -> None:
    touches = good().drop(columns=["converted", "value"])
    outcomes = pd.DataFrame(
        {
            "journey_id": ["j0", "j1", "j2", "ghost"],
            "converted": [1, 0, 1, 1],
            "value": [10, 0, -5, 1],
        }
    )
    loaded = at.load(touches, outcomes, on_invalid="skip", untouched="reject")
    rejected = loaded.rejects
    outcome_rows = rejected[rejected["table"] == "outcomes"]
    assert sorted(outcome_rows["journey_id"]) == ["ghost", "j2"]
    assert "value is negative" in outcome_rows.set_index("journey_id").loc["j2", "reason"]
    touch_rows = rejected[rejected["table"] == "touches"]
    assert set(touch_rows["journey_id"]) == {"j2"}
    assert set(touch_rows["reason"]) == {
        "another touch row or the outcome row of the same journey is invalid"
    }
    assert loaded.journeys.total_value == 10
    assert loaded.intake.rejected_outcome_rows == 2


def test_a_journey_whose_touches_are_rejected_loses_its_outcome_row_visibly() -> None:
    touches = good().drop(columns=["converted", "value"])
    touches.loc[touches["journey_id"] == "j2", "channel"] = None  # j2's only touch
    outcomes = pd.DataFrame(
        {"journey_id": ["j0", "j1", "j2"], "converted": [1, 0, 1], "value": [10, 0, 1000]}
    )
    loaded = at.load(touches, outcomes, on_invalid="skip")
    rejected = loaded.rejects.set_index(["table", "journey_id"])["reason"]
    assert rejected["touches", "j2"] == "channel: channel is null"
    assert "a touch row of the journey is invalid" in rejected["outcomes", "j2"]
    assert loaded.intake.rejected_value == 1000
    text = at.attribute(loaded, ["linear"]).reconciliation.to_text()
    assert "value of rejected journeys" in text and "1,000" in text


def test_reconciliation_accounts_for_every_touch(tmp_path: Path) -> None:
    journeys = [
        J(["a", "b", "c"], value=10, days=[0, 5, 9], milestones={"converted_at": 8}),
        J(["a", "b"], value=20, days=[0, 30], milestones={"converted_at": 31}),
        J(["c", "c"], converted=False, days=[0, 1]),
        J(["d"], value=7, days=[3], milestones={"converted_at": 1}),
    ]
    frame = touches_frame(journeys)
    frame = pd.concat([frame, frame.iloc[[0]].assign(journey_id=None)], ignore_index=True)
    loaded = at.load(frame, on_invalid="skip")
    result = at.attribute(loaded, ["linear"], lookback_days=10)
    rec = result.reconciliation
    window = rec.windows[0]
    assert rec.intake is not None
    # 9 rows: 1 rejected, 2 after conversion (c on day 9, d), 1 outside lookback (a on day 0
    # of the second journey), 5 in the window.
    assert rec.intake.rejected_touch_rows == 1
    assert window.counts.after_conversion_rows == 2
    assert window.counts.outside_lookback_rows == 1
    assert window.touches_in_window == 5
    assert (
        rec.intake.rejected_touch_rows
        + window.counts.after_conversion_rows
        + window.counts.outside_lookback_rows
        + window.touches_in_window
        == rec.intake.touch_rows
    )
    # d converted before its only touch: its value cannot be credited, and is reported.
    assert window.converted_without_touches == 1 and window.value_without_touches == 7
    assert rec.value_in == 37
    (linear,) = rec.models
    assert linear.credited_value == 30 and linear.status is at.Status.OK
    assert result.credits.set_index("channel").loc["(no touch)", "credited_value"] == 7
    text = rec.to_text()
    assert "touches after conversion" in text and "untouched value: no touch in the window" in text


@pytest.mark.parametrize("lookback", [float("nan"), float("inf"), -1.0, 0.0])
def test_lookback_must_be_finite_and_positive(lookback: float) -> None:
    with pytest.raises(at.ParameterError, match="finite number of days > 0"):
        at.attribute(at.load(good()), ["linear"], lookback_days=lookback)


def test_a_lookback_longer_than_any_time_span_keeps_everything() -> None:
    result = at.attribute(at.load(good()), ["linear"], lookback_days=1e300)
    assert result.reconciliation.windows[0].counts.outside_lookback_rows == 0
    assert result.reconciliation.models[0].credited_value == 15


def test_duplicate_touches_are_reported() -> None:
    frame = good()
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    result = at.attribute(at.load(frame), ["linear"])
    assert result.reconciliation.duplicate_touches == 1
    assert "duplicates of another touch" in result.reconciliation.to_text()


def test_an_overflowing_total_names_its_column() -> None:
    frame = touches_frame([J(["a"], value=1e308), J(["b"], value=1e308)])
    with pytest.raises(at.InputError, match=r"column 'value': the values are too large"):
        at.load(frame)
    paths = pd.DataFrame(
        {"path": ["a > b", "b"], "total_conversions": [1e308, 1e308], "total_null": [0, 0]}
    )
    with pytest.raises(at.InputError, match=r"column 'total_conversions'.*too large"):
        at.load(paths, paths=True)


def test_an_out_of_range_time_is_shown_as_iso_text() -> None:
    late = dt.datetime(9999, 12, 31, 23, 59, 59, 999000)
    times = pa.array([dt.datetime(2024, 1, 1), late], pa.timestamp("ms", tz="UTC"))
    table = pa.table(
        {"journey_id": ["a", "b"], "channel": ["x", "y"], "timestamp": times,
         "converted": [1, 1], "value": [1.0, 1.0]}
    )  # fmt: skip
    with pytest.raises(at.InputError) as caught:
        at.load(table)
    assert "e.g. 9999-12-31T23:59:59.999000+00:00" in str(caught.value)
    assert "datetime.datetime" not in str(caught.value)
