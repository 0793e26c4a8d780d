"""Output formats and spreadsheet-formula escaping."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.io.writers import escape_formulas, json_records, output_format, write_table


def test_formats_follow_the_extension(tmp_path: Path) -> None:
    frame = pd.DataFrame({"channel": ["a", "b"], "credited_value": [1.5, -2.0]})
    write_table(frame, tmp_path / "out.parquet")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out.parquet"), frame, check_dtype=False
    )
    write_table(frame, tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text()) == frame.to_dict("records")
    write_table(frame, tmp_path / "nested" / "out.csv")
    assert pd.read_csv(tmp_path / "nested" / "out.csv").equals(frame)
    with pytest.raises(ValueError, match="cannot tell the output format"):
        output_format("out.xlsx")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
def test_json_floats_round_trip_exactly(values: list[float]) -> None:
    """Every finite float reads back bit for bit (pandas' writer keeps 15 significant
    digits); NaN and infinities are null."""
    frame = pd.DataFrame(
        {
            "value": values,
            "when": pd.Timestamp("2026-01-02T03:04:05", tz="UTC"),
            "group": "a",
        }
    )
    read = json.loads(json_records(frame))
    assert [r["value"] for r in read] == [v if math.isfinite(v) else None for v in values]
    assert read[0]["when"] == "2026-01-02T03:04:05.000Z" and read[0]["group"] == "a"


def test_json_file_keeps_seventeen_digits(tmp_path: Path) -> None:
    value = 0.1 + 0.2  # 0.30000000000000004: 15 digits would write 0.3
    write_table(pd.DataFrame({"credited_value": [value, 1 / 3]}), tmp_path / "out.json")
    read = json.loads((tmp_path / "out.json").read_text())
    assert [r["credited_value"] for r in read] == [value, 1 / 3]


def test_csv_cells_that_look_like_formulas_are_escaped(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "channel": ["=HYPERLINK(1)", "+cmd", "-x", "@SUM(A1)", "plain", "\tTab"],
            "credited_value": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    write_table(frame, tmp_path / "out.csv")
    read = pd.read_csv(tmp_path / "out.csv")
    assert read["channel"].tolist() == [
        "'=HYPERLINK(1)",
        "'+cmd",
        "'-x",
        "'@SUM(A1)",
        "plain",
        "'\tTab",
    ]
    assert read["credited_value"].tolist() == [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # numbers untouched
    assert escape_formulas(frame)["channel"][4] == "plain"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_open_would_give(tmp_path: Path, umask: int) -> None:
    frame = pd.DataFrame({"a": [1]})
    previous = os.umask(umask)
    try:
        with open(tmp_path / "plain.csv", "w"):
            pass
        for name in ("new.csv", "new.parquet", "new.json"):
            write_table(frame, tmp_path / name)
    finally:
        os.umask(previous)
    expected = stat.S_IMODE((tmp_path / "plain.csv").stat().st_mode)
    assert expected == 0o666 & ~umask
    for name in ("new.csv", "new.parquet", "new.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "credits.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    write_table(pd.DataFrame({"a": [1]}), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text() == "a\n1\n"
