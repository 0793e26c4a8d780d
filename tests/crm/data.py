"""A small CRM, hand-checked: two accounts with opportunities, one without, a lead
without an account and a person missing from the contacts.

Account A has o1 (created 1 March, closed 1 April) and o2 (created 15 March, open);
account B has o3 (1 June to 30 June); account C has none. With a 30-day lookback:

| touch | person | day | account mapping |
|---|---|---|---|
| t0 | a1 | 1 Jan | before both of A's windows (o1 opens 30 Jan, o2 13 Feb): outside |
| t1 | a1 | 20 Feb | o1 and o2 |
| t2 | a2 | 10 Mar | o1 and o2 |
| t3 | a2 | 10 Apr | o2 (after o1's close) |
| t4 | b1 | 5 Jul | after o3's close: outside |
| t5 | b1 | 20 May | o3 |
| t6 | c1 | 1 Feb | account C has no opportunity: journey account:C |
| t7 | n1 | 5 Mar | n1 has no account |
| t8 | x | 5 Mar | x is not in the contacts |

Contact roles: a1 on o1 (primary), a2 on o2 (primary), b1 on o2 (not primary: a role
on another account's opportunity). o3 has no role.
"""

from __future__ import annotations

import pandas as pd


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2025-{text}", tz="UTC")


def touches() -> pd.DataFrame:
    rows = [
        ("a1", "01-01", "google", "cpc"),
        ("a1", "02-20", "linkedin", "paid_social"),
        ("a2", "03-10", "google", "organic"),
        ("a2", "04-10", "newsletter", "email"),
        ("b1", "07-05", "google", "cpc"),
        ("b1", "05-20", None, None),
        ("c1", "02-01", "google", "cpc"),
        ("n1", "03-05", "google", "cpc"),
        ("x", "03-05", "google", "cpc"),
    ]
    return pd.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "timestamp": [day(r[1]) for r in rows],
            "source": [r[2] for r in rows],
            "medium": [r[3] for r in rows],
            "touch_type": [
                "ad_click",
                "ad_click",
                "page_view",
                "email_click",
                "ad_click",
                "call",
                "ad_click",
                "ad_click",
                "ad_click",
            ],
            "cost": [1.0, 2.0, None, None, 3.0, None, 4.0, 5.0, 6.0],
        }
    )


def contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["a1", "a2", "b1", "c1", "n1"],
            "account_id": ["A", "A", "B", "C", None],
            "lead_created_at": [day("01-15"), day("02-01"), None, day("01-20"), None],
        }
    )


def opportunities() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3"],
            "account_id": ["A", "A", "B"],
            "created_at": [day("03-01"), day("03-15"), day("06-01")],
            "closed_at": [day("04-01"), None, day("06-30")],
            "amount": [100.0, 50.0, 30.0],
            "won": [True, None, False],
            "stage": ["Closed Won", "Proposal", "Closed Lost"],
            "region": ["EMEA", "EMEA", "NA"],
        }
    )


def contact_roles() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o2"],
            "person_id": ["a1", "a2", "b1"],
            "is_primary": [True, True, False],
        }
    )
