"""The aggregated path table of other attribution tools."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import attribution as at
from attribution.errors import InputError
from attribution.io.paths import paths_frame
from tests.builders import J, load


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "paths.csv"
    path.write_text(text)
    return path


def test_path_table_becomes_weighted_records(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "path,total_conversions,total_null,total_conversion_value\n"
        "a > b,2,3,300\n"
        "b,0,4,0\n"
        "a > a > c,1,0,50\n",
    )
    loaded = at.load(path, paths=True)
    j = loaded.journeys
    assert j.channel_names == ("a", "b", "c")
    assert j.n_journeys == 4  # a>b converted, a>b null, b null, a>a>c converted
    assert j.weight.tolist() == [2, 3, 4, 1]
    assert j.converted.tolist() == [True, False, False, True]
    assert j.total_conversions == 3 and j.total_value == 350
    assert not j.has_times
    result = at.attribute(loaded, ["linear", "last_touch"], by=("channel",))
    linear = result.credits[result.credits["model"] == "linear"].set_index("channel")
    # a>b: 300 split 150/150; a>a>c: 50 split by touch, a gets 2/3.
    assert linear["credited_value"].to_dict() == pytest.approx(
        {"a": 150 + 100 / 3, "b": 150, "c": 50 / 3}
    )
    assert linear["credited_conversions"].to_dict() == pytest.approx(
        {"a": 1 + 2 / 3, "b": 1, "c": 1 / 3}
    )


def test_semicolon_delimiter_and_custom_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "path;total_conversions;total_null\n a|b ;1;1\nc;0;2\n")
    loaded = at.load(path, paths=True, separator="|")
    assert loaded.journeys.channel_names == ("a", "b", "c")
    assert loaded.journeys.total_value == 1  # one per conversion without a value column


def test_empty_value_reads_as_0_only_where_nothing_converted(tmp_path: Path) -> None:
    text = "path;total_conversions;total_null;total_conversion_value\na > b;3;1;30\nc > a;0;5;\n"
    loaded = at.load(write(tmp_path, text), paths=True)
    assert loaded.journeys.total_value == 30 and loaded.journeys.n_journeys == 3
    text = "path;total_conversions;total_null;total_conversion_value\na > b;3;1;\n"
    with pytest.raises(InputError, match="total_conversion_value is null"):
        at.load(write(tmp_path, text), paths=True)


def test_invalid_path_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "path,total_conversions,total_null\na >  > b,1,0\nb,-1,0\nc,x,1\n")
    with pytest.raises(InputError) as caught:
        at.load(path, paths=True)
    message = str(caught.value)
    assert "empty channel name" in message and "row 1" in message
    assert "total_conversions is negative" in message and "row 2" in message
    assert "not a finite number" in message and "row 3" in message
    loaded = at.load(path, paths=True, on_invalid="skip")
    assert loaded.intake.rejected_touch_rows == 3
    assert len(loaded.rejects) == 3
    # Nothing is left to credit, and the run says so instead of failing.
    result = at.attribute(loaded, ["linear"])
    assert result.credits.empty
    assert result.reconciliation.value_in == 0 and result.reconciliation.ok


def test_rows_with_no_journeys_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "path,total_conversions,total_null\na,0,0\nb,1,0\n")
    loaded = at.load(path, paths=True)
    assert loaded.intake.rows_without_journeys == 1
    assert loaded.journeys.n_journeys == 1


def test_models_needing_times_are_left_out_of_all(tmp_path: Path) -> None:
    path = write(tmp_path, "path,total_conversions,total_null\na > b,1,1\n")
    result = at.attribute(at.load(path, paths=True), "all")
    assert "time_decay" not in set(result.credits["model"])
    assert result.reconciliation.notes_about("time_decay", "left_out")
    with pytest.raises(at.ParameterError, match="needs touch timestamps"):
        at.attribute(at.load(path, paths=True), ["time_decay"])
    with pytest.raises(at.ParameterError, match="lookback"):
        at.attribute(at.load(path, paths=True), ["linear"], lookback_days=3)


def test_paths_frame_round_trips() -> None:
    loaded = load([J(["a", "b"], value=10), J(["a", "b"], value=5), J(["b"], converted=False)])
    frame = paths_frame(loaded.journeys)
    assert frame.to_dict("records") == [
        {
            "path": "a > b",
            "total_conversions": 2.0,
            "total_null": 0.0,
            "total_conversion_value": 15.0,
        },
        {"path": "b", "total_conversions": 0.0, "total_null": 1.0, "total_conversion_value": 0.0},
    ]
    again = at.load(frame, paths=True)
    assert again.journeys.total_value == 15 and again.journeys.total_conversions == 2
    pd.testing.assert_frame_equal(paths_frame(again.journeys), frame)
