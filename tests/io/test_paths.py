"""The aggregated path table of other attribution tools."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


NAMES = ["a", "b", "é", "名前", " a", "b ", "x y", "a\u00a0"]


@st.composite
def path_tables(draw: st.DrawFn) -> list[tuple[list[str], int, int, float]]:
    rows = draw(st.integers(1, 12))
    return [
        (
            draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5)),
            draw(st.integers(0, 3)),
            draw(st.integers(0, 3)),
            draw(st.sampled_from([0.5, 10.0, 1234.25, 1e-3])),
        )
        for _ in range(rows)
    ]


def reference_records(
    rows: list[tuple[list[str], int, int, float]],
) -> tuple[tuple[str, ...], list[list[str]], list[float], list[bool], list[float], list[int]]:
    """A plain-Python path loader: names stripped, one converted then one null record
    per row (when it has such journeys), channels numbered in sorted name order."""
    records = []
    for i, (names, conversions, nulls, value) in enumerate(rows):
        stripped = [n.strip() for n in names]
        value = value if conversions else 0.0
        if conversions:
            records.append((stripped, float(conversions), True, value * conversions, i))
        if nulls:
            records.append((stripped, float(nulls), False, 0.0, i))
    channel_names = tuple(sorted({n for r in records for n in r[0]}))
    return (
        channel_names,
        [r[0] for r in records],
        [r[1] for r in records],
        [r[2] for r in records],
        [r[3] for r in records],
        [r[4] for r in records],
    )


@settings(max_examples=60, deadline=None)
@given(rows=path_tables(), chunks=st.integers(1, 3), as_list=st.booleans())
def test_the_loader_matches_a_plain_python_reference(
    rows: list[tuple[list[str], int, int, float]], chunks: int, as_list: bool
) -> None:
    """Codes, offsets, weights, values and rows of the encoded table equal a plain-Python
    reference, for text and list paths, in one or several Arrow chunks, with unicode
    names, names that differ only by surrounding spaces, and repeated names."""
    paths: list = [names if as_list else " > ".join(names) for names, *_ in rows]
    columns = {
        "path": paths,
        "total_conversions": [str(r[1]) for r in rows],
        "total_null": [r[2] for r in rows],
        "total_conversion_value": [f"{r[3] * r[1]!r}" for r in rows],
    }
    table = pa.table(columns)
    step = -(-len(rows) // chunks)
    table = pa.concat_tables([table.slice(i, step) for i in range(0, len(rows), step)])
    channel_names, channels, weights, converted, values, source_rows = reference_records(rows)
    if not weights:
        return
    j = at.load(table, paths=True).journeys
    assert j.channel_names == channel_names
    got = [
        [j.channel_names[c] for c in j.channel[j.offsets[k] : j.offsets[k + 1]]]
        for k in range(j.n_journeys)
    ]
    assert got == channels
    assert j.weight.tolist() == weights
    assert j.converted.tolist() == converted
    assert j.value.tolist() == pytest.approx(values, rel=1e-15)
    assert j.journey_id.tolist() == source_rows
