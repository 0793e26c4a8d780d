"""The bundled fixture: reproducible from its script, and shaped as issues 2 and 12 describe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import attribution as at
from attribution.crm import load_crm

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FILES = (
    "touches.parquet",
    "outcomes.parquet",
    "truth.parquet",
    "crm/accounts.parquet",
    "crm/contacts.parquet",
    "crm/opportunities.parquet",
    "crm/contact_roles.parquet",
    "crm/touches.parquet",
)
PAID = {"paid_search", "paid_social"}
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
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "costs.csv"), pd.read_csv(FIXTURES / "costs.csv"), obj="costs"
    )
    rules = "crm/channel_rules.yaml"
    assert (tmp_path / rules).read_text() == (FIXTURES / rules).read_text()


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


def test_paid_touches_have_a_cost(touches: pd.DataFrame) -> None:
    paid = touches["channel"].astype(str).isin(PAID)
    assert touches.loc[paid, "cost"].notna().all()
    assert (touches.loc[paid, "cost"] > 0).all()
    assert touches.loc[~paid, "cost"].isna().all()
    per_click = touches[paid].groupby("campaign", observed=True)["cost"].median()
    assert per_click["ps_brand"] < per_click["ps_generic"] < per_click["ps_competitor"]


def test_costs_file_covers_events_and_syndication(touches: pd.DataFrame) -> None:
    costs = pd.read_csv(FIXTURES / "costs.csv")
    assert list(costs.columns) == ["channel", "campaign", "period", "cost"]
    assert set(costs["channel"]) == {"events", "content_syndication"}
    assert costs["period"].str.fullmatch(r"\d{4}-Q[1-4]").all()
    assert (costs["cost"] > 0).all()
    bought = touches[touches["channel"].astype(str).isin(set(costs["channel"]))]
    assert set(costs["campaign"]) == set(bought["campaign"].astype(str))


def test_region_and_segment_per_journey(outcomes: pd.DataFrame) -> None:
    assert set(outcomes["region"]) == {"NA", "EMEA", "APAC", "LATAM"}
    assert set(outcomes["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    converted = outcomes[outcomes["converted"]]
    median = converted.groupby("segment")["value"].median()
    assert median["SMB"] < median["Mid-Market"] < median["Enterprise"]


def test_the_crm_exports_rebuild_the_fixture_exactly(outcomes: pd.DataFrame) -> None:
    """Account mapping on fixtures/crm, then the engine: the same credits as the fixture
    (every journey is one account; the 400 leads' touches are in no journey)."""
    crm = load_crm(FIXTURES / "crm")
    recon = crm.reconciliation
    assert recon.journey_touches == len(pd.read_parquet(FIXTURES / "touches.parquet"))
    raw = pd.read_parquet(FIXTURES / "crm" / "touches.parquet")
    leads = int(raw["person_id"].str.startswith("LEAD-").sum())
    no_account = "in no journey: no account (none on the touch or its person)"
    assert leads > 0 and recon.value("touches", no_account) == leads
    assert recon.touches_read == recon.journey_touches + leads
    assert crm.outcomes.num_rows == len(outcomes)
    models = ["linear", "w_shaped", "full_path", "time_decay"]
    ours = at.attribute(crm.load(), models, by=("channel", "team", "campaign", "touch_type"))
    ready = at.attribute(
        at.load(FIXTURES / "touches.parquet", FIXTURES / "outcomes.parquet"),
        models,
        by=("channel", "team", "campaign", "touch_type"),
    )
    keys = ["model", "channel", "team", "campaign", "touch_type"]
    merged = ours.credits.merge(ready.credits, on=keys, how="outer", validate="1:1")
    assert len(merged) == len(ready.credits)
    assert merged["credited_value_x"].to_numpy() == pytest.approx(
        merged["credited_value_y"].to_numpy(), rel=1e-12, abs=1e-6
    )
