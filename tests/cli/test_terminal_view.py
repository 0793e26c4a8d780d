"""The terminal view of ``run``: it fits the width, shows percentages that add up, and
shows every model only when asked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from attribution.cli.main import main
from tests.builders import J, touches_frame

JOURNEYS = [
    J(["paid_search", "a_channel_with_a_really_long_name_indeed"], value=1000, teams=["m", "m"]),
    J(["webinar", "sdr_call"], value=250, teams=["m", "sdr"]),
    J(["webinar"], value=500, teams=["x"]),  # webinar has two teams
    J(["direct"], converted=False, teams=["m"]),
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    touches_frame(JOURNEYS).to_parquet(tmp_path / "t.parquet")
    return tmp_path


def view(
    data: Path,
    width: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["run", str(data / "t.parquet"), "--quiet", *extra]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("width", [80, 100, 200])
def test_never_wider_than_the_terminal(
    data: Path, width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in ((), ("--wide",)):
        out = view(data, width, monkeypatch, capsys, *extra)
        assert max(len(line) for line in out.splitlines()) <= width
        if width == 80:
            assert "…" in out  # the long name is shortened, never wrapped


def test_percentages_of_each_model_add_up_to_100(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = view(data, 200, monkeypatch, capsys, "--wide", "--by", "channel")
    lines = out.splitlines()
    header = lines[1].split()
    total = next(line for line in lines if line.startswith("TOTAL")).split()
    for name, cell in zip(header[2:], total[2:], strict=True):
        if name == "influenced":  # not conserving: the pipeline each group touched
            continue
        assert cell == "100.0%", name
    rows = [
        line
        for line in lines[2 : lines.index(next(x for x in lines if x.startswith("TOTAL")))]
        if re.match(r"^[a-z(]", line)
    ]
    linear = header.index("linear")
    shares = [float(row.split()[linear].rstrip("%")) for row in rows]
    assert sum(shares) == pytest.approx(100, abs=0.05 * len(shares))


def test_compact_and_wide(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    compact = view(data, 250, monkeypatch, capsys, "--by", "channel")
    header = compact.splitlines()[1].split()
    assert "shapley_ordered" not in header and "linear" in header and "markov" in header
    assert "--wide shows every model" in compact
    wide = view(data, 400, monkeypatch, capsys, "--wide", "--by", "channel")
    wide_header = wide.splitlines()[1].split()
    from attribution.models.registry import all_models

    assert set(all_models()) <= set(wide_header)


def test_the_combination_shows_when_it_adds_information(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = view(data, 200, monkeypatch, capsys, "--models", "linear")
    assert "by channel x team" in out  # webinar belongs to two teams


def test_json_output_for_piping(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["run", str(data / "t.parquet"), "--models", "linear", "--by", "channel", "--json"])
        == 0
    )
    captured = capsys.readouterr()
    records = json.loads(captured.out)
    assert {r["channel"] for r in records} >= {"paid_search", "webinar"}
    assert sum(r["credited_value"] for r in records) == pytest.approx(1750)
    assert "Reconciliation" in captured.err


def header_models(out: str) -> list[str]:
    return out.splitlines()[1].split()[2:]


@pytest.mark.parametrize("width", [80, 100, 120, 200])
def test_wide_never_shows_fewer_models_than_compact(
    data: Path, width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    compact = header_models(view(data, width, monkeypatch, capsys, "--by", "channel"))
    wide = header_models(view(data, width, monkeypatch, capsys, "--by", "channel", "--wide"))
    assert wide[: len(compact)] == compact


INTERVAL = re.compile(r"\d+\.\d% \(\d+\.\d–\d+\.\d\)")


@pytest.mark.parametrize("width", [80, 100, 200])
def test_scorecard_view_shows_intervals_within_the_width(
    data: Path, width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = {"closed_at": 20.0}
    journeys = [
        J(["paid_search", "webinar"], value=100, milestones=closed),
        J(["webinar"], value=50, milestones=closed),
        J(["sdr_call", "paid_search"], value=80),
        J(["webinar", "sdr_call"], value=30, milestones=closed),
        J(["direct"], converted=False),
    ] * 4
    frame = touches_frame(journeys)
    won = frame["journey_id"].isin(["j0", "j3", "j9"])
    frame["won"] = pd.array(won.where(frame["closed_at"].notna()), dtype="boolean")
    frame.to_parquet(data / "t.parquet")
    monkeypatch.setenv("COLUMNS", str(width))
    args = ["scorecard", str(data / "t.parquet"), "--quiet", "--models", "linear,markov"]
    assert main([*args, "--bootstrap", "5"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width
    assert INTERVAL.search(out), out  # the win rate, as 25.0% (20.0–30.0)


@pytest.mark.parametrize("width", [80, 100, 200])
def test_compare_view_shows_intervals_within_the_width(
    data: Path, width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = data / "truth.csv"
    truth.write_text(
        "channel,true_share\npaid_search,0.3\nwebinar,0.3\nsdr_call,0.2\n"
        "a_channel_with_a_really_long_name_indeed,0.2\n"
    )
    monkeypatch.setenv("COLUMNS", str(width))
    args = ["compare", str(data / "t.parquet"), "--truth", str(truth), "--quiet"]
    assert main([*args, "--bootstrap", "5"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width
    errors = out.split("\n\n")[0].splitlines()
    assert errors[0].startswith("Error against the truth")
    assert all(re.search(r"\d\.\d{3} \(-?\d\.\d{3}–-?\d\.\d{3}\)", row) for row in errors[2:])
    assert "_low" not in out and "_high" not in out
