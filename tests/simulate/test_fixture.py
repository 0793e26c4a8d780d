"""The bundled fixture: reproducible from its script, and shaped as issue 2 describes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import attribution as at

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FILES = ("touches.parquet", "outcomes.parquet", "truth.parquet")
CHANNELS = {
    "paid_search",
    "paid_social",
    "organic_search",
    "webinar",
    "events",
    "content_syndication",
    "email_nurture",
    "sdr_call",
    "sdr_email",
    "ae_meeting",
    "partner_referral",
    "direct",
}


@pytest.fixture(scope="module")
def touches() -> pd.DataFrame:
    return pd.read_parquet(FIXTURES / "touches.parquet")


@pytest.fixture(scope="module")
def outcomes() -> pd.DataFrame:
    return pd.read_parquet(FIXTURES / "outcomes.parquet")


def test_the_script_reproduces_the_committed_files(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(FIXTURES / "make_fixture.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in FILES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / name), pd.read_parquet(FIXTURES / name), obj=name
        )


def test_size_and_conversion(touches: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    assert 4_900 <= len(outcomes) <= 5_000
    assert outcomes["journey_id"].is_unique
    assert 0.25 <= outcomes["converted"].mean() <= 1 / 3
    assert 50_000 <= len(touches) <= 70_000
    assert set(touches["journey_id"]) == set(outcomes["journey_id"])


def test_channels_teams_and_labels(touches: pd.DataFrame) -> None:
    assert set(touches["channel"].astype(str)) == CHANNELS
    assert set(touches["team"].astype(str)) == {"marketing", "sdr", "sales", "partner"}
    teams = touches.groupby("channel", observed=True)["team"].nunique()
    assert (teams == 1).all(), "each channel is owned by one team"
    assert touches["campaign"].notna().any() and touches["touch_type"].notna().all()


def test_milestones_in_order(outcomes: pd.DataFrame) -> None:
    converted = outcomes["converted"]
    assert outcomes["converted_at"].equals(outcomes["opportunity_created_at"])
    lead, opportunity, closed = (
        outcomes[c] for c in ("lead_created_at", "opportunity_created_at", "closed_at")
    )
    both = lead.notna() & opportunity.notna()
    assert (lead[both] <= opportunity[both]).all()
    assert (opportunity[closed.notna()] <= closed[closed.notna()]).all()
    assert lead[converted].notna().all() and closed[converted].notna().mean() > 0.5
    assert (outcomes["won"].notna() == closed.notna()).all()


def test_amounts_have_a_realistic_spread(outcomes: pd.DataFrame) -> None:
    amounts = outcomes.loc[outcomes["converted"], "value"]
    assert (amounts > 0).all() and (outcomes.loc[~outcomes["converted"], "value"] == 0).all()
    p10, p50, p90 = amounts.quantile([0.1, 0.5, 0.9])
    assert 5_000 <= p50 <= 100_000
    assert p90 / p10 > 5


def test_the_engine_reads_it_without_rejects() -> None:
    loaded = at.load(FIXTURES / "touches.parquet", FIXTURES / "outcomes.parquet")
    assert loaded.rejects.empty
    result = at.attribute(loaded, ["linear", "w_shaped"], by=["channel"])
    assert result.reconciliation.ok
