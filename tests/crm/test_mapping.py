"""Hand-checked joins for each mapping on the small CRM of ``tests/crm/data.py``."""

from __future__ import annotations

import pandas as pd
import pytest

import attribution as at
from attribution.crm import CrmJourneys, build_journeys
from tests.crm import data
from tests.crm.data import day


def build(mapping: str = "account", **options: object) -> CrmJourneys:
    return build_journeys(
        data.touches(),
        data.opportunities(),
        contacts=data.contacts(),
        contact_roles=data.contact_roles(),
        mapping=mapping,  # type: ignore[arg-type]
        lookback_days=options.pop("lookback_days", 30),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def journeys(crm: CrmJourneys) -> dict[str, list[tuple[str, str]]]:
    """Journey id -> [(person, day)] in journey order."""
    frame = crm.touches.to_pandas()
    result: dict[str, list[tuple[str, str]]] = {}
    for row in frame.itertuples():
        result.setdefault(str(row.journey_id), []).append(
            (str(row.person_id), row.timestamp.strftime("%m-%d"))
        )
    return result


def without_journey(crm: CrmJourneys) -> dict[str, int]:
    return {reason.split(" (")[0]: n for reason, n in crm.reconciliation.touches_without_journey}


def test_account_mapping() -> None:
    crm = build("account")
    assert journeys(crm) == {
        "o1": [("a1", "02-20"), ("a2", "03-10")],
        "o2": [("a1", "02-20"), ("a2", "03-10"), ("a2", "04-10")],
        "o3": [("b1", "05-20")],
        "account:C": [("c1", "02-01")],
    }
    recon = crm.reconciliation
    assert recon.touches_in_opportunities == 4
    assert recon.touches_in_non_converting == 1
    assert without_journey(crm) == {
        "person unknown": 1,
        "no account": 1,
        "no contact role on the account's opportunities": 0,
        "account has no opportunity": 0,
        "outside every opportunity's window": 2,
    }
    assert recon.copies == ((1, 2), (2, 2))
    assert recon.journey_touches == 7
    assert recon.accounts_with_touches == 3
    assert recon.accounts_without_opportunity == 1


def test_outcomes_of_the_account_mapping() -> None:
    outcomes = build("account").outcomes.to_pandas().set_index("journey_id")
    assert list(outcomes.index) == ["o1", "o2", "o3", "account:C"]
    assert outcomes["converted"].tolist() == [True, True, True, False]
    assert outcomes["value"].tolist() == [100.0, 50.0, 30.0, 0.0]
    assert (outcomes["converted_at"] == outcomes["opportunity_created_at"]).iloc[:3].all()
    assert outcomes.loc["o1", "converted_at"] == day("03-01")
    assert pd.isna(outcomes.loc["o2", "closed_at"]) and outcomes.loc["o1", "closed_at"] == day(
        "04-01"
    )
    assert outcomes["won"].tolist()[:3] == [True, None, False]
    # The earliest lead creation of the account's contacts: a1 (15 Jan) for A; none for B.
    assert outcomes.loc["o1", "lead_created_at"] == day("01-15")
    assert outcomes.loc["o2", "lead_created_at"] == day("01-15")
    assert pd.isna(outcomes.loc["o3", "lead_created_at"])
    assert outcomes.loc["account:C", "lead_created_at"] == day("01-20")
    # Extra opportunity columns are carried, null for the non-converting journeys.
    assert outcomes["stage"].tolist()[:3] == ["Closed Won", "Proposal", "Closed Lost"]
    assert outcomes["region"].tolist()[:3] == ["EMEA", "EMEA", "NA"]
    assert outcomes[["stage", "region"]].iloc[3].isna().all()


def test_contact_role_mapping() -> None:
    crm = build("contact-role")
    # b1's role on A's o2 brings b1's touches in, even after B's o3 closed.
    assert journeys(crm) == {
        "o1": [("a1", "02-20")],
        "o2": [("a2", "03-10"), ("a2", "04-10"), ("b1", "05-20"), ("b1", "07-05")],
        "account:C": [("c1", "02-01")],
    }
    assert without_journey(crm)["outside every opportunity's window"] == 1  # t0
    assert crm.reconciliation.opportunities_without_touches == 1  # o3: no role
    assert crm.reconciliation.untouched_pipeline == 30.0
    assert any("another account's opportunity" in n for n in crm.reconciliation.notes)
    outcomes = crm.outcomes.to_pandas().set_index("journey_id")
    # Role mappings: the earliest lead creation of the people with a role.
    assert outcomes.loc["o1", "lead_created_at"] == day("01-15")
    assert outcomes.loc["o2", "lead_created_at"] == day("02-01")


def test_primary_contact_role_mapping() -> None:
    crm = build("primary-contact-role")
    assert journeys(crm) == {
        "o1": [("a1", "02-20")],
        "o2": [("a2", "03-10"), ("a2", "04-10")],
        "account:C": [("c1", "02-01")],
    }
    reasons = without_journey(crm)
    assert reasons["no contact role on the account's opportunities"] == 2  # b1's t4, t5
    assert reasons["person unknown"] == 1 and reasons["no account"] == 1


def test_without_lookback_every_earlier_touch_belongs() -> None:
    crm = build("account", lookback_days=None)
    assert journeys(crm)["o1"][0] == ("a1", "01-01")
    assert journeys(crm)["o2"][0] == ("a1", "01-01")


def test_non_converting_units() -> None:
    by_person = build("account", non_converting="person")
    ids = set(journeys(by_person))
    # Person journeys: c1 (account without opportunity), n1 (no account), x (unknown).
    assert ids - {"o1", "o2", "o3"} == {"person:c1", "person:n1", "person:x"}
    assert without_journey(by_person)["no account"] == 0
    none = build("account", non_converting="none")
    assert set(journeys(none)) == {"o1", "o2", "o3"}
    assert without_journey(none)["account has no opportunity"] == 1


def test_the_engine_credits_the_built_journeys() -> None:
    crm = build("account")
    result = at.attribute(crm.load(), ["linear"], by=("channel",))
    assert result.reconciliation.ok
    credits = result.credits.set_index("channel")["credited_value"]
    # o1 (created 1 Mar): only the 20 Feb paid_social touch is before creation, 100;
    # o2 (15 Mar): paid_social and organic_search share 50 (10 Apr is after creation);
    # o3: one touch (unassigned: no rule matches a call), 30.
    assert credits["paid_social"] == pytest.approx(125.0)
    assert credits["organic_search"] == pytest.approx(25.0)
    assert credits["unassigned"] == pytest.approx(30.0)


def test_touch_columns_are_carried() -> None:
    frame = build("account").touches.to_pandas()
    assert list(frame.columns) == [
        "journey_id",
        "timestamp",
        "channel",
        "team",
        "campaign",
        "touch_type",
        "cost",
        "person_id",
        "account_id",
    ]
    o2 = frame[frame["journey_id"] == "o2"]
    # t1 (cost 2) is copied into o1 and o2: 1 on each copy.
    assert o2["cost"].tolist()[:1] == [1.0]
    assert o2["account_id"].astype(str).tolist() == ["A", "A", "A"]
    assert o2["channel"].astype(str).tolist() == ["paid_social", "organic_search", "email"]
    assert set(o2["team"].astype(str)) == {"marketing"}


def test_copied_touches_split_their_cost_evenly() -> None:
    """t1 (cost 2) is in o1 and o2: 1 on each copy, so the journeys' spend is the spend of
    the input touches in a journey (t1 2, t6 4: the others are null or in no journey)."""
    crm = build("account")
    frame = crm.touches.to_pandas()
    costs = {
        (str(j), str(p), t.strftime("%m-%d")): c
        for j, p, t, c in zip(
            frame["journey_id"], frame["person_id"], frame["timestamp"], frame["cost"], strict=True
        )
        if not pd.isna(c)
    }
    assert costs == {
        ("o1", "a1", "02-20"): 1.0,
        ("o2", "a1", "02-20"): 1.0,
        ("account:C", "c1", "02-01"): 4.0,
    }
    assert frame["cost"].sum() == 6.0
    recon = crm.reconciliation
    assert recon.copied_cost == 2.0
    assert (
        recon.value("copies", "cost of the touches in >= 2 opportunities' journeys (split evenly)")
        == 2.0
    )
    without_cost = build_journeys(
        data.touches().drop(columns="cost"), data.opportunities(), contacts=data.contacts()
    )
    assert without_cost.reconciliation.copied_cost is None
