"""Bad CRM exports: one clear error per problem, naming the file, column and rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from attribution.crm import CrmColumns, build_journeys
from attribution.errors import InputError
from tests.crm import data


def write(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def build_files(tmp_path: Path, **frames: pd.DataFrame) -> None:
    tables = {
        "touches": data.touches(),
        "opportunities": data.opportunities(),
        "contacts": data.contacts(),
        **frames,
    }
    paths = {name: write(tmp_path, name, frame) for name, frame in tables.items()}
    build_journeys(paths["touches"], paths["opportunities"], contacts=paths["contacts"])


def test_opportunity_without_account(tmp_path: Path) -> None:
    opportunities = data.opportunities()
    opportunities.loc[1, "account_id"] = None
    with pytest.raises(InputError) as error:
        build_files(tmp_path, opportunities=opportunities)
    text = str(error.value)
    assert "opportunities.csv" in text and "column 'account_id'" in text
    assert "opportunity has no account" in text and "row 2" in text


def test_closed_before_created(tmp_path: Path) -> None:
    opportunities = data.opportunities()
    opportunities.loc[2, "closed_at"] = pd.Timestamp("2025-05-01", tz="UTC")
    with pytest.raises(InputError) as error:
        build_files(tmp_path, opportunities=opportunities)
    text = str(error.value)
    assert "opportunities.csv" in text and "column 'closed_at'" in text
    assert "closed_at is before created_at" in text and "row 3" in text


def test_duplicate_opportunity_ids(tmp_path: Path) -> None:
    opportunities = data.opportunities()
    opportunities.loc[2, "opportunity_id"] = "o1"
    with pytest.raises(InputError) as error:
        build_files(tmp_path, opportunities=opportunities)
    text = str(error.value)
    assert "column 'opportunity_id'" in text and "opportunity_id is duplicated" in text
    assert "2 rows; e.g. row 1, line 2, row 3, line 4" in text and "'o1'" in text


def test_duplicate_people_in_contacts(tmp_path: Path) -> None:
    contacts = data.contacts()
    contacts.loc[4, "person_id"] = "a1"
    with pytest.raises(InputError) as error:
        build_files(tmp_path, contacts=contacts)
    text = str(error.value)
    assert "contacts.csv" in text and "person_id is duplicated" in text and "row 5" in text


def test_every_problem_of_every_table_at_once(tmp_path: Path) -> None:
    touches = data.touches()
    touches["timestamp"] = touches["timestamp"].astype(str)
    touches.loc[3, "timestamp"] = "yesterday"
    touches.loc[4, "cost"] = -1.0
    opportunities = data.opportunities()
    opportunities.loc[0, "amount"] = None
    opportunities.loc[1, "created_at"] = None
    with pytest.raises(InputError) as error:
        build_files(tmp_path, touches=touches, opportunities=opportunities)
    reasons = {(p.column, p.reason) for p in error.value.problems}
    assert reasons == {
        ("timestamp", "timestamp cannot be parsed as a timestamp"),
        ("cost", "cost is negative"),
        ("amount", "amount is null"),
        ("created_at", "created_at is null"),
    }


def test_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing required column.*'created_at'"):
        build_files(tmp_path, opportunities=data.opportunities().drop(columns="created_at"))
    with pytest.raises(InputError, match=r"no column 'Amount' \(for opportunities.amount\)"):
        build_journeys(
            data.touches(),
            data.opportunities(),
            contacts=data.contacts(),
            columns=CrmColumns().with_overrides({"opportunities.amount": "Amount"}),
        )


def test_unknown_mapping_and_roles_needed() -> None:
    with pytest.raises(InputError, match="unknown mapping 'contact'"):
        build_journeys(data.touches(), data.opportunities(), mapping="contact")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="contact-role mapping needs the contact roles"):
        build_journeys(
            data.touches(), data.opportunities(), contacts=data.contacts(), mapping="contact-role"
        )
    with pytest.raises(InputError, match="needs the column 'is_primary'"):
        build_journeys(
            data.touches(),
            data.opportunities(),
            contact_roles=data.contact_roles().drop(columns="is_primary"),
            mapping="primary-contact-role",
        )
    with pytest.raises(InputError, match="no 'account_id' column and no contacts"):
        build_journeys(data.touches(), data.opportunities())
    with pytest.raises(ValueError, match="lookback_days must be"):
        build_journeys(data.touches(), data.opportunities(), lookback_days=-1)


def test_renamed_roles_and_unknown_roles() -> None:
    touches = data.touches().rename(columns={"person_id": "ContactId"})
    contacts = data.contacts().rename(columns={"person_id": "Id"})
    columns = CrmColumns().with_overrides(
        {"touches.person_id": "ContactId", "contacts.person_id": "Id"}
    )
    crm = build_journeys(touches, data.opportunities(), contacts=contacts, columns=columns)
    assert crm.reconciliation.touches_in_opportunities == 5  # no lookback: t0 too
    with pytest.raises(ValueError, match="unknown column role"):
        CrmColumns().with_overrides({"touches.amount": "x"})


def test_opportunity_columns_that_would_overwrite_outcomes() -> None:
    opportunities = data.opportunities().assign(value=1.0)
    with pytest.raises(InputError, match="'value' would overwrite"):
        build_journeys(data.touches(), opportunities, contacts=data.contacts())


def test_ids_of_mixed_types_compare_as_text() -> None:
    touches = data.touches().assign(person_id=list(range(9)))
    contacts = pd.DataFrame({"person_id": ["0", "1"], "account_id": [7, 7]})
    opportunities = data.opportunities().assign(account_id=["7", "7", "8"])
    crm = build_journeys(touches, opportunities, contacts=contacts)
    # Persons 0 and 1 (t0, t1) are on account 7, which has o1 and o2.
    assert crm.reconciliation.touches_in_opportunities == 2
