"""``attribution compare`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from attribution.cli.main import main
from tests.builders import J, touches_frame


@pytest.fixture
def hand_made(tmp_path: Path) -> Path:
    """Two converted journeys (a > b worth 10, a worth 10) and a truth of 50/50."""
    frame = touches_frame(
        [J(["a", "b"], value=10.0), J(["a"], value=10.0), J(["b"], converted=False)]
    )
    frame.to_csv(tmp_path / "touches.csv", index=False)
    pd.DataFrame({"channel": ["a", "b"], "true_share": [0.5, 0.5]}).to_csv(
        tmp_path / "truth.csv", index=False
    )
    return tmp_path


def compare(*args: str | Path) -> int:
    return main(["compare", *(str(a) for a in args)])


def test_errors_against_truth_are_written(hand_made: Path) -> None:
    out = hand_made / "errors.csv"
    code = compare(
        hand_made / "touches.csv",
        "--truth",
        hand_made / "truth.csv",
        "--models",
        "first_touch,last_touch,linear",
        "--out",
        out,
        "--quiet",
    )
    assert code == 0
    errors = pd.read_csv(out)
    assert list(errors.columns) == ["model", "share_error_tvd", "rank_correlation"]
    by_model = errors.set_index("model")["share_error_tvd"].to_dict()
    # first touch a = 1; last touch a = .5, b = .5; linear a = .75, b = .25.
    assert by_model == {
        "first_touch": pytest.approx(0.5),
        "last_touch": pytest.approx(0.0),
        "linear": pytest.approx(0.25),
    }
    shares = pd.read_csv(hand_made / "errors.shares.csv")
    assert {"channel", "model", "credited_value", "share", "true_share"} <= set(shares.columns)
    agreement = pd.read_csv(hand_made / "errors.agreement.csv")
    assert len(agreement) == 3


def test_terminal_tables(hand_made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = compare(
        hand_made / "touches.csv",
        "--truth",
        hand_made / "truth.csv",
        "--models",
        "first_touch,linear",
        "--quiet",
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Share of credited value by channel (%)" in out
    assert "Agreement between models" in out
    assert "Error against the truth" in out
    errors = out.split("Error against the truth", 1)[1].split("\n\n")[0].splitlines()[2:]
    assert [line.split() for line in errors] == [
        ["linear", "0.250", "—"],
        ["first_touch", "0.500", "—"],
    ], "best first; two channels with tied true shares: the rank correlation is undefined"


def test_the_recommended_model_is_marked(
    hand_made: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = compare(hand_made / "touches.csv", "--truth", hand_made / "truth.csv",
                   "--models", "linear,hazard", "--quiet")  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    errors = out.split("Error against the truth", 1)[1].split("\n\n")[0].splitlines()[2:]
    marked = [line.split()[:2] for line in errors if "(recommended)" in line]
    assert marked == [["hazard", "(recommended)"]]


def test_simulated_data_without_truth_as_json(tmp_path: Path) -> None:
    data = tmp_path / "sim"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "first_touch_trap",
                "--journeys",
                "400",
                "--out",
                str(data),
                "--quiet",
            ]
        )
        == 0
    )
    out = tmp_path / "shares.json"
    code = compare(
        data / "touches.parquet",
        "--outcomes",
        data / "outcomes.parquet",
        "--models",
        "first_touch,time_decay",
        "--half-life",
        "3",
        "--out",
        out,
        "--quiet",
    )
    assert code == 0
    shares = pd.DataFrame(json.loads(out.read_text()))
    assert set(shares["model"]) == {"first_touch", "time_decay"}
    assert shares.groupby("model")["share"].sum().tolist() == [pytest.approx(1.0)] * 2
    assert (tmp_path / "shares.agreement.json").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--truth", "missing.parquet"], "truth file not found"),
        (["--out", "out.xlsx"], "cannot tell the output format"),
        (["--models", "no_such_model"], "unknown model"),
    ],
)
def test_bad_input_exits_2(
    hand_made: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = [str(hand_made / e) if e.endswith((".parquet", ".xlsx")) else e for e in extra]
    assert compare(hand_made / "touches.csv", *extra, "--quiet") == 2
    assert message in capsys.readouterr().err


def test_truth_without_share_columns_exits_2(
    hand_made: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pd.DataFrame({"channel": ["a"], "credit": [1.0]}).to_csv(hand_made / "bad.csv", index=False)
    assert compare(hand_made / "touches.csv", "--truth", hand_made / "bad.csv") == 2
    assert "'true_share' or 'true_value'" in capsys.readouterr().err
