"""``attribution scorecard`` end to end on the hand-checked dataset of
``tests/test_scorecard.py``: the terminal table, every output format, costs, periods and
cohorts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.cli.main import main
from attribution.scorecards import stacked
from tests.test_scorecard import COSTS, data


@pytest.fixture
def files(tmp_path: Path) -> Path:
    touches, outcomes = data()
    touches.to_parquet(tmp_path / "touches.parquet")
    outcomes.to_parquet(tmp_path / "outcomes.parquet")
    COSTS.to_csv(tmp_path / "costs.csv", index=False)
    return tmp_path


def scorecard(files: Path, *extra: str) -> int:
    return main(
        [
            "scorecard",
            str(files / "touches.parquet"),
            "--outcomes",
            str(files / "outcomes.parquet"),
            "--models",
            "linear",
            "--by",
            "channel",
            "--quiet",
            *extra,
        ]
    )


def test_terminal_table(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Money with thousands separators, rates as percentages, days with one decimal, nulls
    as an em dash; the untouched row has no cost; the cost-only row (events) is shown."""
    monkeypatch.setenv("COLUMNS", "200")
    assert scorecard(files, "--period", "quarter", "--costs", str(files / "costs.csv")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Scorecard by channel: linear"
    assert lines[1].split() == [
        "channel",
        "period",
        "opps",
        "pipeline",
        "win",
        "rate",
        "cycle",
        "d",
        "velocity/d",
        "avg",
        "won",
        "cost",
        "cost/opp",
        "ROI",
        "to",
        "opp",
        "d",
    ]
    cells = [line.replace("(no touch)", "(no_touch)").split() for line in lines[2:]]
    rows = {tuple(cell[:2]): cell[2:] for cell in cells}
    assert rows["paid_search", "2026-Q1"] == [
        "0.5",
        "500",
        "100.0%",
        "40.0",
        "12.50",
        "1,000",
        "100",
        "200",
        "4.00",
        "31.0",
    ]
    assert rows["webinar", "2026-Q2"] == ["1", "500", "0.0%", *["—"] * 6, "12.0"]
    assert rows["(no_touch)", "2026-Q1"][6:9] == ["—", "—", "—"]
    assert rows["events", "2026-Q2"] == ["0", "0", *["—"] * 4, "400", "—", "-1.00", "—"]


@pytest.mark.parametrize("suffix", ["csv", "parquet", "json"])
def test_out_formats_hold_the_library_scorecard(files: Path, suffix: str) -> None:
    """Each format holds exactly the stacked scorecard of the Python API (JSON floats
    to the last bit; nulls empty in CSV, null in JSON, NaN in parquet)."""
    out = files / f"card.{suffix}"
    assert (
        scorecard(
            files, "--period", "quarter", "--costs", str(files / "costs.csv"), "--out", str(out)
        )
        == 0
    )
    touches, outcomes = data()
    expected = at.scorecard(
        at.load(touches, outcomes), ["linear"], by=("channel",), period="quarter", costs=COSTS
    )
    expected = stacked({("channel", "period"): expected}, ["channel"])
    if suffix == "csv":
        written = pd.read_csv(out)
        assert "events" in written["group"].tolist()
        assert out.read_text().splitlines()[1].count(",,") >= 1  # nulls are empty cells
    elif suffix == "parquet":
        written = pd.read_parquet(out)
    else:
        records = json.loads(out.read_text())
        assert any(r["cost"] is None for r in records)
        written = pd.DataFrame(records)
    assert list(written.columns) == list(expected.columns)
    for name in expected.columns:
        if pd.api.types.is_float_dtype(expected[name]):
            got = written[name].to_numpy(dtype=float)
            want = expected[name].to_numpy(dtype=float)
            if suffix == "csv":
                np.testing.assert_allclose(got, want, rtol=1e-15, equal_nan=True)
            else:
                np.testing.assert_array_equal(got, want)
        else:
            assert written[name].astype(str).tolist() == expected[name].astype(str).tolist()


def test_costs_period_and_cohort(files: Path) -> None:
    """--costs adds the file's spend in its period; --cohort closed_at moves each journey
    to the quarter of its close (j1 closed 10 May: 2026-Q2; open j3 has none)."""
    out = files / "card.parquet"
    args = ["--period", "quarter", "--costs", str(files / "costs.csv"), "--out", str(out)]
    assert scorecard(files, *args) == 0
    card = pd.read_parquet(out).set_index(["group", "period"])
    assert card.loc[("webinar", "2026-Q1"), "cost"] == 200.0  # file cost, no touch cost
    assert card.loc[("paid_search", "2026-Q1"), "cost"] == 100.0  # touch cost
    assert card.loc[("events", "2026-Q2"), "opportunities"] == 0.0
    assert scorecard(files, *args, "--cohort", "closed_at") == 0
    closed = pd.read_parquet(out).set_index(["group", "period"])
    assert closed.loc[("webinar", "2026-Q2"), "opportunities"] == 1.5  # j1 and j2 closed in Q2
    assert closed.loc[("paid_search", "(none)"), "opportunities"] == 0.5  # j3 is open
    assert math.isnan(closed.loc[("paid_search", "(none)"), "win_rate"])


def test_costs_by_period_need_period(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert scorecard(files, "--costs", str(files / "costs.csv")) == 2
    err = capsys.readouterr().err
    assert "costs.csv: column 'period': costs by period need --period" in err
    assert "period=" not in err


def test_bad_costs_exit_2(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = files / "bad.csv"
    bad.write_text("channel,period,cost\nwebinar,2026-01,5\n,2026-Q1,3\n")
    assert scorecard(files, "--period", "quarter", "--costs", str(bad)) == 2
    err = capsys.readouterr().err
    assert "bad.csv: column 'channel': key is empty" in err and "row 2" in err
    bad.write_text("channel,period,cost\nwebinar,2026-01,5\n")
    assert scorecard(files, "--period", "quarter", "--costs", str(bad)) == 2
    assert "column 'period': period is not a quarter like '2026-Q3'" in capsys.readouterr().err
