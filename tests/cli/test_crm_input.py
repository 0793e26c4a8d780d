"""``--crm DIR``: the CRM join is one option away from the answer, on every command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from attribution.cli.main import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_run_on_crm_exports_equals_the_ready_made_fixture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm_out, ready_out = tmp_path / "crm.csv", tmp_path / "ready.csv"
    common = ["--models", "linear,sourced", "--by", "channel", "--quiet"]
    assert main(["run", "--crm", str(FIXTURES / "crm"), "--out", str(crm_out), *common]) == 0
    assert (
        main(
            [
                "run",
                str(FIXTURES / "touches.parquet"),
                "--outcomes",
                str(FIXTURES / "outcomes.parquet"),
                "--out",
                str(ready_out),
                *common,
            ]
        )
        == 0
    )
    crm = pd.read_csv(crm_out).set_index(["model", "channel"])["credited_value"]
    ready = pd.read_csv(ready_out).set_index(["model", "channel"])["credited_value"]
    pd.testing.assert_series_equal(crm.sort_index(), ready.sort_index(), rtol=1e-12)


def test_crm_and_input_are_exclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    touches = str(FIXTURES / "touches.parquet")
    assert main(["scorecard", touches, "--crm", str(FIXTURES / "crm"), "--quiet"]) == 2
    assert "give no INPUT" in capsys.readouterr().err
    assert main(["validate"]) == 2
    assert "--crm DIR" in capsys.readouterr().err


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """The small CRM of tests/crm/data.py, amount renamed Amount, with an mql_at column."""
    from tests.crm import data

    folder = tmp_path / "crm"
    folder.mkdir()
    data.touches().to_csv(folder / "touches.csv", index=False)
    opportunities = data.opportunities().rename(columns={"amount": "Amount"})
    opportunities["mql_at"] = opportunities["created_at"] - pd.Timedelta(days=1)
    opportunities.to_parquet(folder / "opportunities.parquet")
    data.contacts().to_csv(folder / "contacts.csv", index=False)
    return folder


def test_crm_passes_every_input_option_through(
    exports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--column (CRM roles), --milestones and --journey-level reach the join and the
    load: the amount read from Amount, custom_stage on mql_at, account_id a journey-level
    roll-up dimension."""
    out = tmp_path / "credits.csv"
    code = main(
        [
            "run",
            "--crm",
            str(exports),
            "--column",
            "opportunities.amount=Amount",
            "--milestones",
            "mql_at",
            "--models",
            "custom_stage,linear",
            "--milestone-weights",
            "0.4,0.4,0.2",
            "--by",
            "account_id",
            "--journey-level",
            "account_id",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    credits = pd.read_csv(out).set_index(["model", "account_id"])["credited_value"]
    # Pipeline (no lookback): o1 100 and o2 50 on account A, o3 30 on B.
    assert credits["linear", "A"] == pytest.approx(150.0)
    assert credits["custom_stage", "B"] == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--column", "person_id=NoSuchCol"], "missing required column(s) 'NoSuchCol'"),
        (["--column", "journey_id=opportunity"], "unknown column role(s) journey_id"),
        (["--journey-level", "segment"], "--journey-level segment: not among the --by"),
        (["--value-column", "Amount"], "--column opportunities.amount=NAME, not --value-column"),
        (["--separator", "|"], "--separator splits the paths of --paths"),
        (["--milestones", "sql_at", "--models", "linear"], "no milestone column 'sql_at'"),
    ],
)
def test_crm_refuses_options_it_cannot_use(
    exports: Path, option: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--crm", str(exports), "--column", "opportunities.amount=Amount", *option]
    assert main([*args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
