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
