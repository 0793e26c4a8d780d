"""Column roles of the four CRM exports, and the user's names for them.

Every CRM names its export columns its own way, so each role is looked up through a
:class:`CrmColumns`. A role named alone (``person_id``) is renamed in every table that
has it; ``TABLE.ROLE`` (``contacts.person_id``) renames it in one table only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from attribution.errors import ParameterError

#: The tables, in the order they are described and read.
TABLES: tuple[str, ...] = ("touches", "contacts", "opportunities", "contact_roles")


@dataclass(frozen=True)
class TouchColumns:
    """Touches recorded per person: campaign members, web sessions, sales activities."""

    person_id: str = "person_id"
    timestamp: str = "timestamp"
    channel: str = "channel"
    team: str = "team"
    campaign: str = "campaign"
    touch_type: str = "touch_type"
    source: str = "source"
    medium: str = "medium"
    referrer: str = "referrer"
    account_id: str = "account_id"
    cost: str = "cost"


@dataclass(frozen=True)
class ContactColumns:
    """People (contacts and leads) with their account."""

    person_id: str = "person_id"
    account_id: str = "account_id"
    lead_created_at: str = "lead_created_at"


@dataclass(frozen=True)
class OpportunityColumns:
    """Opportunities per account. Every other column is carried to the outcomes."""

    opportunity_id: str = "opportunity_id"
    account_id: str = "account_id"
    created_at: str = "created_at"
    closed_at: str = "closed_at"
    amount: str = "amount"
    won: str = "won"
    stage: str = "stage"


@dataclass(frozen=True)
class ContactRoleColumns:
    """People with a role on an opportunity."""

    opportunity_id: str = "opportunity_id"
    person_id: str = "person_id"
    is_primary: str = "is_primary"


#: Roles each table must have (more are needed by some options: see ``build``).
REQUIRED: dict[str, tuple[str, ...]] = {
    "touches": ("person_id", "timestamp"),
    "contacts": ("person_id", "account_id"),
    "opportunities": ("opportunity_id", "account_id", "created_at"),
    "contact_roles": ("opportunity_id", "person_id"),
}


@dataclass(frozen=True)
class CrmColumns:
    """Names of the input columns for each role of each table (defaults: the role names)."""

    touches: TouchColumns = field(default_factory=TouchColumns)
    contacts: ContactColumns = field(default_factory=ContactColumns)
    opportunities: OpportunityColumns = field(default_factory=OpportunityColumns)
    contact_roles: ContactRoleColumns = field(default_factory=ContactRoleColumns)

    def table(self, name: str) -> Any:
        """The column names of one table (a ``*Columns`` dataclass)."""
        return getattr(self, name)

    @staticmethod
    def roles(table: str) -> tuple[str, ...]:
        return tuple(f.name for f in fields(CrmColumns().table(table)))

    def with_overrides(self, overrides: Mapping[str, str]) -> CrmColumns:
        """A copy with roles renamed: ``{"person_id": "ContactId"}`` in every table with a
        person, ``{"contacts.person_id": "Id"}`` in one. Unknown roles are an error."""
        per_table: dict[str, dict[str, str]] = {name: {} for name in TABLES}
        unknown = []
        for key, name in overrides.items():
            table, dot, role = key.rpartition(".")
            targets = [table] if dot else [t for t in TABLES if role in self.roles(t)]
            if not targets or any(t not in TABLES or role not in self.roles(t) for t in targets):
                unknown.append(key)
                continue
            for target in targets:
                per_table[target][role] = name
        if unknown:
            known = ", ".join(f"{t}.{r}" for t in TABLES for r in self.roles(t))
            raise ParameterError(
                f"unknown column role(s) {', '.join(unknown)}; known roles: {known}"
            )
        return replace(
            self, **{t: replace(self.table(t), **renamed) for t, renamed in per_table.items()}
        )

    def renamed(self, table: str) -> list[str]:
        """The roles of ``table`` whose column name differs from the default."""
        default = CrmColumns().table(table)
        return [
            r for r in self.roles(table) if getattr(self.table(table), r) != getattr(default, r)
        ]
