"""Output formats and spreadsheet-formula escaping."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from attribution.io.writers import escape_formulas, output_format, write_table


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
