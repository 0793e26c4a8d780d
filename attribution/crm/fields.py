"""Typed fields of the CRM tables, their checks, and the shared id codes.

Each table's columns are parsed (flagging bad rows in the table's issues, raised all at
once by the caller), the ids of persons, accounts and opportunities are coded against
shared dictionaries, and each touch is given its person and account.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribution.crm.ids import Coded, IdColumn, code_ids
from attribution.crm.mapping import People, Roles
from attribution.crm.tables import TOUCH_LABELS, Table
from attribution.errors import InputError, Problem
from attribution.io.parse import NO_TIME, Labels

#: Outcome columns the build writes; an opportunity column of one of these names would
#: be overwritten, so it is an error.
OUTCOME_COLUMNS = (
    "journey_id",
    "converted",
    "value",
    "converted_at",
    "opportunity_created_at",
    "closed_at",
    "won",
    "lead_created_at",
)
#: Opportunity roles turned into outcome columns (the others are carried as they are).
_OPPORTUNITY_ROLES_USED = (
    "opportunity_id",
    "account_id",
    "created_at",
    "closed_at",
    "amount",
    "won",
)


@dataclass(frozen=True)
class TouchFields:
    """The touches' times (ns UTC), text columns and cost, bad rows flagged."""

    time: np.ndarray
    labels: dict[str, Labels | None]
    cost: pa.Array | None

    @classmethod
    def of(cls, table: Table) -> TouchFields:
        time = table.times("timestamp", required=True)
        parsed = table.numbers("cost")
        cost = None
        if parsed is not None:
            table.issues.flag(parsed.values < 0, table.column_name("cost"), "cost is negative")
            cost = pa.array(parsed.values, pa.float64(), mask=parsed.null)
        labels = {role: table.labels(role) for role in TOUCH_LABELS}
        return cls(time, labels, cost)


@dataclass(frozen=True)
class OpportunityFields:
    """The opportunities' times, amounts and outcomes, bad rows flagged, and the columns
    carried to the outcomes as (output name, input column)."""

    created: np.ndarray
    closed: np.ndarray
    amount: np.ndarray | None
    won: np.ndarray | None
    carried: tuple[tuple[str, str], ...]  # (output name, input column)

    @classmethod
    def of(cls, table: Table, codes: np.ndarray, non_converting: str) -> OpportunityFields:
        key = table.column_name("opportunity_id")
        table.require_values("opportunity_id", "opportunity_id is null")
        table.flag_duplicates("opportunity_id", codes, "opportunity_id is duplicated")
        if non_converting != "none":
            prefix = f"{non_converting}:"
            ids = table.column("opportunity_id")
            as_text = ids.cast(ids.type.value_type) if pa.types.is_dictionary(ids.type) else ids
            if not pa.types.is_integer(as_text.type):
                starts = pc.starts_with(as_text.cast(pa.string()), prefix)
                table.issues.flag(
                    starts.fill_null(False).to_numpy(zero_copy_only=False),
                    key,
                    f"opportunity_id starts with {prefix!r}, the prefix of non-converting "
                    "journeys (use non_converting='none' or another id)",
                )
        table.require_values("account_id", "opportunity has no account (account_id is null)")
        created = table.times("created_at", required=True)
        closed = table.times("closed_at", required=False)
        both = (created != NO_TIME) & (closed != NO_TIME)
        table.issues.flag(
            both & (closed < created),
            table.column_name("closed_at"),
            "closed_at is before created_at",
        )
        amount = None
        parsed = table.numbers("amount")
        if parsed is not None:
            name = table.column_name("amount")
            table.issues.flag(parsed.null, name, "amount is null", show="none")
            table.issues.flag(parsed.values < 0, name, "amount is negative")
            amount = parsed.values
        won = table.flags("won")
        used = {table.column_name(r) for r in _OPPORTUNITY_ROLES_USED}
        stage = table.column_name("stage")
        carried = tuple(
            ("stage" if name == stage else name, name)
            for name in table.source.table.column_names
            if name not in used
        )
        clash = [out for out, _ in carried if out in OUTCOME_COLUMNS]
        if clash:
            raise InputError(
                Problem(
                    f"opportunity column(s) {', '.join(map(repr, clash))} would overwrite the "
                    "outcome column(s) of that name: rename them, or map them to a role",
                    source=f"opportunities {table.source.label}",
                )
            )
        return cls(created, closed, amount, won, carried)


def check_contacts(table: Table, codes: np.ndarray) -> np.ndarray:
    table.require_values("person_id", "person_id is null")
    table.flag_duplicates("person_id", codes, "person_id is duplicated (one row per person)")
    return table.times("lead_created_at", required=False)


def check_roles(table: Table, mapping: str) -> np.ndarray:
    table.require_values("opportunity_id", "opportunity_id is null")
    table.require_values("person_id", "person_id is null")
    primary = table.flags("is_primary")
    if primary is None:
        return np.zeros(table.rows, bool)
    if mapping == "primary-contact-role":
        table.issues.flag(
            primary < 0, table.column_name("is_primary"), "is_primary is null", show="none"
        )
    return primary == 1


def merge_roles(
    table: Table,
    persons: Coded,
    opportunity_ids: Coded,
    primary: np.ndarray,
    n_opportunities: int,
    account_of_person: np.ndarray,
    opportunity_account: np.ndarray,
) -> tuple[Roles, list[str]]:
    """One role per (opportunity, person) on a known opportunity (primary if any row of
    the pair says so), and notes on what was left out or merged."""
    opportunity = opportunity_ids.codes[1]
    person = persons.codes[-1]
    known = opportunity < n_opportunities
    key = opportunity[known] * persons.n + person[known]
    unique, inverse = np.unique(key, return_inverse=True)
    is_primary = np.zeros(len(unique), bool)
    np.logical_or.at(is_primary, inverse, primary[known])
    roles = Roles(unique // persons.n, unique % persons.n, is_primary)
    person_account = account_of_person[roles.person]
    other = (person_account >= 0) & (person_account != opportunity_account[roles.opportunity])
    notes = []
    if (~known).any():
        notes.append(
            f"{int((~known).sum()):,} contact role row(s) name an opportunity that is not in "
            "the opportunities (ignored)"
        )
    if len(key) > len(unique):
        notes.append(
            f"{len(key) - len(unique):,} contact role row(s) repeat an (opportunity, person) "
            "pair (merged: primary if any row says so)"
        )
    if other.any():
        notes.append(
            f"{int(other.sum()):,} contact role(s) put a person on another account's "
            "opportunity (the role mappings include them; the account mapping does not)"
        )
    with_role = np.bincount(roles.opportunity, minlength=n_opportunities) > 0
    with_primary = np.bincount(roles.opportunity[roles.primary], minlength=n_opportunities) > 0
    notes.append(
        f"{int((~with_role).sum()):,} opportunit(ies) have no contact role, "
        f"{int((~with_primary).sum()):,} no primary contact role"
    )
    return roles, notes


def resolve_people(
    persons: Coded,
    person_code: np.ndarray,
    own_account: np.ndarray | None,
    contact_person: np.ndarray | None,
    contact_account: np.ndarray | None,
    time: np.ndarray,
) -> tuple[People, np.ndarray]:
    """Each touch's person and account (its own account, else its contact's), and the
    account of each person (-1: none or not in the contacts)."""
    account_of_person = np.full(persons.n, -1, np.int64)
    in_contacts = np.zeros(persons.n, bool)
    if contact_person is not None and contact_account is not None:
        account_of_person[contact_person] = contact_account
        in_contacts[contact_person] = True
    at = np.maximum(person_code, 0)
    via_person = np.where(person_code >= 0, account_of_person[at], -1)
    account = (
        via_person if own_account is None else np.where(own_account >= 0, own_account, via_person)
    )
    unknown = (
        np.zeros(len(person_code), bool)
        if contact_person is None
        else (account < 0) & (person_code >= 0) & ~in_contacts[at]
    )
    return People(person_code, account, time, unknown), account_of_person


def code_all(
    touches: Table, opportunities: Table, contacts: Table | None, roles: Table | None
) -> tuple[Coded, Coded, Coded]:
    """Shared codes of the persons, the accounts and the opportunities of every table."""
    persons = code_ids(
        [id_column(touches, "person_id")]
        + ([id_column(contacts, "person_id")] if contacts else [])
        + ([id_column(roles, "person_id")] if roles else [])
    )
    accounts = code_ids(
        ([id_column(touches, "account_id")] if touches.has("account_id") else [])
        + ([id_column(contacts, "account_id")] if contacts else [])
        + [id_column(opportunities, "account_id")]
    )
    opportunity_ids = code_ids(
        [id_column(opportunities, "opportunity_id")]
        + ([id_column(roles, "opportunity_id")] if roles else [])
    )
    return persons, accounts, opportunity_ids


def id_column(table: Table | None, role: str) -> IdColumn:
    assert table is not None
    return IdColumn(
        table.column(role),
        f"{table.name.replace('_', ' ')} {table.source.label}",
        table.column_name(role),
    )
