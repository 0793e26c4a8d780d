"""``attribution run`` and ``attribution validate`` end to end."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import attribution as at
from attribution.cli import progress
from attribution.cli.main import main
from attribution.journeys import Journeys
from attribution.models import Linear, TouchCredit, registry
from tests.builders import J, touches_frame

JOURNEYS = [
    J(["paid_search", "webinar", "sdr_call"], value=1000, teams=["marketing", "marketing", "sdr"]),
    J(["direct", "webinar"], converted=False, teams=["marketing", "marketing"]),
    J(["webinar", "ae_meeting"], value=250, teams=["marketing", "sales"]),
    J(["partner_referral"], value=500, teams=["partner"]),
]
TOTAL = 1750


@pytest.fixture
def data(tmp_path: Path) -> Path:
    frame = touches_frame(JOURNEYS)
    touches = frame.drop(columns=["converted", "value"])
    outcomes = frame.groupby("journey_id", as_index=False)[["converted", "value"]].first()
    touches.to_parquet(tmp_path / "touches.parquet")
    outcomes.to_parquet(tmp_path / "outcomes.parquet")
    return tmp_path


def run(*args: str | Path) -> int:
    return main([str(a) for a in args])


def inputs_of(data: Path) -> list[str | Path]:
    """The touches and outcomes of the ``data`` fixture, as command-line arguments."""
    return [data / "touches.parquet", "--outcomes", data / "outcomes.parquet"]


def test_run_writes_every_format(data: Path) -> None:
    for suffix in ("csv", "parquet", "json"):
        out = data / f"credits.{suffix}"
        code = run(
            "run",
            *inputs_of(data),
            "--out",
            out,
            "--quiet",
        )
        assert code == 0
        frame = (
            pd.read_csv(out)
            if suffix == "csv"
            else pd.read_parquet(out)
            if suffix == "parquet"
            else pd.DataFrame(json.loads(out.read_text()))
        )
        assert list(frame.columns[:5]) == [
            "model",
            "channel",
            "team",
            "credited_conversions",
            "credited_value",
        ]
        totals = frame.groupby("model")["credited_value"].sum()
        for model, total in totals.items():
            if model != "influenced":
                assert total == pytest.approx(TOTAL, rel=1e-12), model
        assert totals["influenced"] == pytest.approx(1000 * 3 + 250 * 2 + 500)


def test_shapley_options_reach_the_model(data: Path) -> None:
    from attribution.models.shapley import Shapley

    out = data / "shapley.csv"
    options = {
        "--shapley-game": ("game", "observed_rates"),
        "--shapley-unobserved": ("unobserved", "zero"),
        "--shapley-smoothing": ("smoothing", 1.5),
        "--shapley-exact-limit": ("exact_limit", 2),
        "--shapley-tolerance": ("tolerance", 1e-9),
        "--shapley-max-permutations": ("max_permutations", 8),
        "--seed": ("seed", 3),
    }
    flags = [str(part) for flag, (_, value) in options.items() for part in (flag, value)]
    inputs = inputs_of(data)
    code = run("run", *inputs, "--models", "shapley", "--by", "channel", "--out", out, *flags)
    assert code == 0
    got = pd.read_csv(out).set_index("channel")["credited_value"]
    model = Shapley(**{name: value for name, value in options.values()})  # type: ignore[arg-type]
    loaded = at.load(data / "touches.parquet", data / "outcomes.parquet")
    expected = at.attribute(loaded, {"shapley": model}, by=("channel",)).credits
    assert got.to_dict() == pytest.approx(
        expected.set_index("channel")["credited_value"].to_dict(), rel=1e-12
    )
    assert not model.converged_ and model.n_permutations_ == 8


def test_positions_of_ordered_shapley(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = data / "positions.csv"
    inputs: list[str | Path] = [
        *inputs_of(data),
        "--quiet",
    ]
    assert run("run", *inputs, "--positions", out) == 0
    table = pd.read_csv(out).set_index(["channel", "position"])["credited_value"]
    # paid_search > webinar > sdr_call (1000): a third each at positions 1, 2, 3;
    # webinar > ae_meeting (250): half each at 1, 2; partner_referral (500) at 1.
    assert table.to_dict() == pytest.approx(
        {
            ("paid_search", 1): 1000 / 3,
            ("webinar", 2): 1000 / 3,
            ("sdr_call", 3): 1000 / 3,
            ("webinar", 1): 125,
            ("ae_meeting", 2): 125,
            ("partner_referral", 1): 500,
        }
    )
    assert run("run", *inputs, "--models", "linear", "--positions", out) == 2
    assert "add shapley_ordered to --models" in capsys.readouterr().err


def test_run_writes_the_roll_up_by_each_dimension_beside_out(data: Path) -> None:
    out = data / "credits.csv"
    code = run(
        "run",
        *inputs_of(data),
        "--models",
        "influenced,first_touch",
        "--out",
        out,
        "--quiet",
    )
    assert code == 0
    teams = pd.read_csv(data / "credits.team.csv").set_index(["model", "team"])
    # Influenced counts a team once per journey it touched: marketing touched the
    # journeys worth 1000 and 250, so not the sum over its channels (1000 * 2 + 250).
    assert teams.loc[("influenced", "marketing"), "credited_value"] == 1250
    assert teams.loc[("influenced", "sdr"), "credited_value"] == 1000
    assert teams.loc[("first_touch", "marketing"), "credited_value"] == 1250
    channels = pd.read_csv(data / "credits.channel.csv").set_index(["model", "channel"])
    assert list(channels.columns) == ["credited_conversions", "credited_value", "share"]
    assert channels.loc[("influenced", "webinar"), "credited_value"] == 1250


def test_run_prints_channel_and_team_tables(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        "run",
        *inputs_of(data),
        "--models",
        "linear,first_touch",
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "Share of pipeline by channel (%)" in captured.out
    assert "Share of pipeline by team (%)" in captured.out
    team_table = captured.out.split("Share of pipeline by team")[1]
    assert "marketing" in team_table and "partner" in team_table
    assert "TOTAL" in captured.out and "1,750" in captured.out
    # Every channel has one team: the channel x team table would repeat the channel one.
    assert "by channel x team" not in captured.out
    assert "Reconciliation" in captured.err and "status" in captured.err


def test_model_options(data: Path) -> None:
    out = data / "credits.csv"
    base: list[str | Path] = [
        "run",
        *inputs_of(data),
        "--out",
        out,
        "--quiet",
        "--by",
        "channel",
    ]
    run(*base, "--models", "position_based", "--position-weights", "10,80,10")
    frame = pd.read_csv(out).set_index("channel")["credited_value"]
    assert frame["webinar"] == pytest.approx(800 + 125)  # middle of 3 touches, and 50% of 2
    run(*base, "--models", "time_decay", "--half-life", "1")
    decay = pd.read_csv(out).set_index("channel")["credited_value"]
    # Touches one day apart: weights 1/4, 1/2, 1 -> 1000/7 * (1, 2, 4).
    assert decay["sdr_call"] == pytest.approx(4000 / 7)


def test_touch_credits_and_reconciliation_files(data: Path) -> None:
    touches_out, rec_out = data / "touches_credit.parquet", data / "rec.parquet"
    code = run(
        "run",
        *inputs_of(data),
        "--models",
        "linear",
        "--out",
        data / "c.csv",
        "--touch-credits",
        touches_out,
        "--reconciliation",
        rec_out,
        "--quiet",
    )
    assert code == 0
    touches = pd.read_parquet(touches_out)
    assert touches.groupby("journey_id")["credited_value"].sum().to_dict() == pytest.approx(
        {"j0": 1000, "j2": 250, "j3": 500}
    )
    assert {"source_file", "source_row", "timestamp", "channel", "team"} <= set(touches.columns)
    first = touches.sort_values("source_row").iloc[0]
    assert (first["source_file"], first["source_row"]) == (str(data / "touches.parquet"), 1)
    rec = pd.read_parquet(rec_out)
    assert list(rec.columns) == ["section", "item", "value", "text"]
    assert rec.set_index("item").loc["status", "text"] == "ok"
    assert rec.set_index("item").loc["value in", "value"] == TOTAL


def test_skip_writes_rejects_next_to_the_output(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    touches = pd.read_parquet(data / "touches.parquet")
    touches.loc[1, "channel"] = None
    touches.to_parquet(data / "bad.parquet")
    code = run(
        "run",
        data / "bad.parquet",
        "--outcomes",
        data / "outcomes.parquet",
        "--out",
        data / "c.csv",
    )
    assert code == 2
    assert "channel is null" in capsys.readouterr().err
    code = run(
        "run",
        data / "bad.parquet",
        "--outcomes",
        data / "outcomes.parquet",
        "--out",
        data / "c.csv",
        "--on-invalid",
        "skip",
    )
    assert code == 0
    rejects = pd.read_csv(data / "c.rejects.csv")
    # The bad touch takes its whole journey (j0: three touches and its outcome row) along.
    assert sorted(rejects["reason"].tolist()) == [
        "a touch row of the journey is invalid (see the touch rows)",
        "another touch row or the outcome row of the same journey is invalid",
        "another touch row or the outcome row of the same journey is invalid",
        "channel: channel is null",
    ]
    assert set(rejects["journey_id"]) == {"j0"}
    err = capsys.readouterr().err
    assert "4 invalid row(s) skipped" in err
    assert "value of rejected journeys (not credited)" in err and "1,000" in err
    run(
        "run",
        data / "bad.parquet",
        "--outcomes",
        data / "outcomes.parquet",
        "--out",
        data / "c.csv",
        "--on-invalid",
        "skip",
        "--rejects",
        data / "mine.parquet",
        "--quiet",
    )
    assert len(pd.read_parquet(data / "mine.parquet")) == 4


def test_columns_and_team_map(data: Path) -> None:
    touches = pd.read_parquet(data / "touches.parquet").rename(
        columns={"journey_id": "opp", "channel": "source"}
    )
    touches.drop(columns=["team"]).to_csv(data / "renamed.csv", index=False)
    outcomes = pd.read_parquet(data / "outcomes.parquet").rename(
        columns={"journey_id": "opp", "value": "amount"}
    )
    outcomes.to_csv(data / "outcomes.csv", index=False)
    (data / "teams.json").write_text(json.dumps({"webinar": "marketing", "sdr_call": "sdr"}))
    code = run(
        "run",
        data / "renamed.csv",
        "--outcomes",
        data / "outcomes.csv",
        "--column",
        "journey_id=opp",
        "--column",
        "channel=source",
        "--value-column",
        "amount",
        "--team-map",
        data / "teams.json",
        "--by",
        "team",
        "--models",
        "linear",
        "--out",
        data / "t.csv",
        "--quiet",
    )
    assert code == 0
    teams = pd.read_csv(data / "t.csv").set_index("team")["credited_value"]
    assert teams.sum() == pytest.approx(TOTAL)
    assert set(teams.index) == {"marketing", "sdr", "unassigned"}


def test_paths_input(tmp_path: Path) -> None:
    (tmp_path / "paths.csv").write_text("path;total_conversions;total_null\n=evil > b;2;1\nb;1;3\n")
    code = run(
        "run",
        tmp_path / "paths.csv",
        "--paths",
        "--out",
        tmp_path / "c.csv",
        "--quiet",
        "--by",
        "channel",
    )
    assert code == 0
    frame = pd.read_csv(tmp_path / "c.csv")
    assert "time_decay" not in set(frame["model"])
    assert "'=evil" in set(frame["channel"])  # escaped against formula injection


def test_bad_options_exit_2(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    touches = data / "touches.parquet"
    assert run("run", touches, "--models", "nonsense") == 2
    assert "unknown model 'nonsense'" in capsys.readouterr().err
    assert run("run", touches, "--by", "region") == 2
    err = capsys.readouterr().err
    assert "error: --by region: the data has no column 'region' (" in err
    assert "touches.parquet: the touches have" in err
    assert run("run", touches, "--exclude", "region=x") == 2
    assert "error: --exclude region=...: the data has no column 'region'" in (
        capsys.readouterr().err
    )
    assert run("run", touches, "--out", data / "x.xlsx") == 2
    assert run("run", touches, "--column", "journey_id") == 2
    # A weight sum that is neither 1 nor 100 is the option's (argparse) error: exit 2.
    with pytest.raises(SystemExit) as exited:
        run("run", touches, "--models", "w_shaped", "--w-weights", "50,50,50,50")
    assert exited.value.code == 2
    assert "--w-weights: the weights sum to 200: give fractions summing to 1 or percentages" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        run("run", touches, "--milestones", "mql_at", "--milestone-weights", "40,30,20,20")
    assert "--milestone-weights: the weights sum to 110" in capsys.readouterr().err


def test_validate_prints_the_reconciliation(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        "validate",
        *inputs_of(data),
        "--lookback",
        "1",
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "touch rows read" in out and "touches outside the lookback window" in out
    assert "value in" in out and "1,750" in out


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attribution", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_exit_codes_and_no_traceback(data: Path) -> None:
    """The real entry point (``python -m attribution``): 0 on success, 2 with a one-line
    error naming the file it could not find, never a traceback."""
    ok = cli(
        "run",
        *inputs_of(data),
        "--quiet",
        "--models",
        "linear",
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""
    missing = cli("run", data / "absent.parquet")
    assert missing.returncode == 2
    assert "absent.parquet" in missing.stderr and "not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_bad_values_and_usage_exit_2(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In this process (an interpreter's start-up saved; the real entry point's exit codes
    and the absence of a traceback are checked by ``test_exit_codes_and_no_traceback``):
    an exception ``main`` did not turn into a message would fail this test by raising."""
    bad_time = data / "bad.csv"
    pd.DataFrame(
        {"journey_id": [1], "timestamp": ["soon"], "channel": ["a"], "converted": [True]}
    ).to_csv(bad_time, index=False)
    assert run("validate", bad_time) == 2
    err = capsys.readouterr().err
    assert "column 'timestamp'" in err and "'soon'" in err
    assert run("run") == 2
    assert "INPUT" in capsys.readouterr().err


class _Leaky(Linear):
    """A deliberately broken model: claims to conserve but loses 1% of every credit."""

    name = "leaky"

    def credit(self, journeys: Journeys) -> TouchCredit:
        credit = super().credit(journeys)
        return TouchCredit(credit.conversions * 0.99, credit.value * 0.99)


def test_credits_that_do_not_reconcile_exit_1(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._FACTORIES, "leaky", _Leaky)
    code = run(
        "run",
        *inputs_of(data),
        "--models",
        "linear,leaky",
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "MISMATCH" in err and "do not reconcile for leaky" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    with progress.Progress(total=2, quiet=False) as bar:
        bar.start("reading input")
        bar.start("linear")
    assert ("0/2" in stream.getvalue()) == terminal


@pytest.mark.parametrize("command", ["run", "validate"])
def test_run_and_validate_show_progress_on_a_terminal(
    data: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    stream = _Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    assert run(command, data / "touches.parquet", "--outcomes", data / "outcomes.parquet") == 0
    assert "0/" in stream.getvalue()  # the bar was drawn


def test_nothing_credited_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Converted before its only touch: the touch is never credited, and the table says 0.
    frame = touches_frame([J(["a"], value=10, days=[2], milestones={"converted_at": 1})])
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert run("run", tmp_path / "t.csv", "--models", "linear", "--by", "channel") == 0
    captured = capsys.readouterr()
    # The journey is untouched pipeline: its value is in the (no touch) group.
    assert re.search(r"\(no touch\)\s+10\.00\s+100\.0%", captured.out)
    assert "untouched converted journeys: no touch in the window" in captured.err
    # Every row rejected: nothing to show at all.
    frame.assign(channel=None).to_csv(tmp_path / "bad.csv", index=False)
    assert (
        run(
            "run",
            tmp_path / "bad.csv",
            "--models",
            "linear",
            "--on-invalid",
            "skip",
            "--rejects",
            tmp_path / "r.csv",
        )
        == 0
    )
    assert "Nothing was credited" in capsys.readouterr().out


def test_internal_errors_exit_3_without_traceback(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("attribution.engine.attribute", broken)
    code = run("run", data / "touches.parquet", "--outcomes", data / "outcomes.parquet")
    err = capsys.readouterr().err
    assert code == 3
    assert "internal error" in err and "RuntimeError: boom" in err and "Traceback" not in err


def test_running_out_of_memory_exits_2_with_advice(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def too_big(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("attribution.engine.attribute", too_big)
    code = run("run", data / "touches.parquet", "--outcomes", data / "outcomes.parquet")
    err = capsys.readouterr().err
    assert code == 2
    assert "out of memory" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "team map CSV is empty"),
        ("channel,team\nwebinar,marketing\nwebinar,sales\n", "lists a channel twice: webinar"),
        ("channel,team\nwebinar,\n", "no team for webinar"),
        ("channel,owner\nwebinar,marketing\n", "needs columns 'channel' and 'team'"),
    ],
)
def test_team_map_errors(
    data: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    (data / "teams.csv").write_text(content)
    code = run(
        "validate",
        *inputs_of(data),
        "--team-map",
        data / "teams.csv",
    )
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "teams.csv" in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ci", "1.5"], "--ci sets the level of the bootstrap intervals"),
        (["--ci", "0.8"], "--ci sets the level of the bootstrap intervals"),
        (["--seed", "3"], "--seed seeds the bootstrap replicates and shapley's sampling"),
    ],
)
def test_bootstrap_options_without_bootstrap_are_refused(
    data: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    for command in ("run", "scorecard"):
        code = run(
            command,
            data / "touches.parquet",
            "--outcomes",
            data / "outcomes.parquet",
            "--models",
            "linear",
            "--quiet",
            *options,
        )
        assert code == 2
        assert message in capsys.readouterr().err


def test_seed_without_bootstrap_seeds_shapley(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for models in ("linear,shapley", "all"):
        code = run(
            "run",
            data / "touches.parquet",
            "--outcomes",
            data / "outcomes.parquet",
            "--models",
            models,
            "--quiet",
            "--seed",
            "3",
        )
        assert code == 0, capsys.readouterr().err


def test_ci_and_seed_set_the_bootstrap(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        "run",
        data / "touches.parquet",
        "--outcomes",
        data / "outcomes.parquet",
        "--models",
        "linear",
        "--bootstrap",
        "4",
        "--ci",
        "0.8",
        "--seed",
        "5",
        "--json",
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "4 Poisson-bootstrap replicates (seed 5)" in err and "80% percentile" in err
