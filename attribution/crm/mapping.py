"""Which opportunities each touch belongs to: the account and contact-role mappings.

- ``account``: a touch belongs to every opportunity of its account whose window holds it,
  ``created_at - lookback <= t <= closed_at`` (no upper bound while the opportunity is
  open; no lower bound without a lookback). This is the window of Marketo Measure's
  account-based attribution: touches up to creation earn pipeline credit, later ones up
  to the close stay in the journey for the full path and the scorecard.
- ``contact-role``: only the people with a contact role on the opportunity, whatever
  account they belong to (a consultant of another account with a role counts), in the
  same window.
- ``primary-contact-role``: only the opportunity's primary contact role(s).

A touch in the windows of several opportunities is copied into each journey. A touch in
no journey has exactly one reason, checked in this order: ``person unknown`` (no account
on the touch, and its person is not in the contacts), ``no account`` (neither the touch
nor its person has one), ``no role`` (contact-role mappings: the person has no (primary)
role and the account has opportunities), ``account has no opportunity``, ``outside every
window`` (the account, or for the role mappings the person's roles, has opportunities,
but none whose window holds the touch).

Journeys that did not convert (so the data-driven models see them): with
``non_converting="account"`` (the default) the touches of accounts without any
opportunity form one journey per account, ``account:<id>``; with ``"person"``, one
journey per person, ``person:<id>``, of the touches of people whose account has no
opportunity and of people without an account (leads); with ``"none"`` there are none.
Touches of accounts *with* opportunities that fall outside every window are not turned
into non-converting journeys: those accounts did convert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from attribution.crm.kernels import count_matches, fill_matches
from attribution.kernels.segments import sort_order

MappingName = Literal["account", "contact-role", "primary-contact-role"]
MAPPINGS: tuple[str, ...] = ("account", "contact-role", "primary-contact-role")
NonConverting = Literal["account", "person", "none"]
NON_CONVERTING: tuple[str, ...] = ("account", "person", "none")

#: What happened to each touch, in the order of the reconciliation.
OPPORTUNITY, NON_CONVERTING_JOURNEY = 0, 1
PERSON_UNKNOWN, NO_ACCOUNT, NO_ROLE, NO_OPPORTUNITY, OUTSIDE = 2, 3, 4, 5, 6
REASONS: dict[int, str] = {
    PERSON_UNKNOWN: "person unknown (not in the contacts; no account on the touch)",
    NO_ACCOUNT: "no account (none on the touch or its person)",
    NO_ROLE: "no contact role on the account's opportunities",
    NO_OPPORTUNITY: "account has no opportunity (non_converting='none')",
    OUTSIDE: "outside every opportunity's window",
}


@dataclass(frozen=True)
class People:
    """Per touch: its person (code, -1 none), account (code, -1 none), time, and whether
    its person is unknown (not in the contacts and no account on the touch)."""

    person: np.ndarray
    account: np.ndarray
    time: np.ndarray
    unknown: np.ndarray


@dataclass(frozen=True)
class Roles:
    """Contact roles, one per (opportunity, person): codes and whether primary."""

    opportunity: np.ndarray
    person: np.ndarray
    primary: np.ndarray


@dataclass(frozen=True)
class Opportunities:
    account: np.ndarray
    created: np.ndarray
    closed: np.ndarray

    @property
    def n(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class Join:
    """The journey touches and what happened to every input touch.

    ``touch`` and ``journey`` (one entry per journey touch) give the input touch and the
    journey, ordered by (journey, time, input row). Journeys ``0 .. n_opportunities - 1``
    are the opportunities in input order; journey ``n_opportunities + r`` is the
    non-converting journey of ``non_converting_keys[r]`` (an account or person code, in
    code order). Per input touch: ``copies`` (opportunities it is in) and ``outcome``
    (``OPPORTUNITY``, ``NON_CONVERTING_JOURNEY`` or a reason code of :data:`REASONS`).
    """

    touch: np.ndarray
    journey: np.ndarray
    copies: np.ndarray
    outcome: np.ndarray
    n_opportunities: int
    non_converting_keys: np.ndarray
    non_converting_unit: str

    @property
    def n_journeys(self) -> int:
        return self.n_opportunities + len(self.non_converting_keys)


def lookback_nanos(lookback_days: float | None) -> int:
    """The lookback in nanoseconds; -1 for none (a window longer than int64 is none)."""
    if lookback_days is None:
        return -1
    nanos = lookback_days * 86_400e9
    return -1 if nanos >= 2.0**63 else round(nanos)


def join(
    people: People,
    opportunities: Opportunities,
    roles: Roles | None,
    *,
    mapping: MappingName,
    lookback: int,
    non_converting: NonConverting,
    n_accounts: int,
    n_persons: int,
) -> Join:
    """Map every touch to its opportunities (or a non-converting journey, or a reason)."""
    account_has_opportunity = np.bincount(opportunities.account, minlength=n_accounts) > 0
    if mapping == "account":
        group = people.account
        order = np.lexsort((opportunities.created, opportunities.account))
        starts = _starts(opportunities.account[order], n_accounts)
        candidate_opportunity = order
        has_role = None
    else:
        assert roles is not None
        keep = roles.primary if mapping == "primary-contact-role" else np.ones_like(roles.primary)
        role_opportunity, role_person = roles.opportunity[keep], roles.person[keep]
        order = np.lexsort((opportunities.created[role_opportunity], role_person))
        starts = _starts(role_person[order], n_persons)
        candidate_opportunity = role_opportunity[order]
        group = people.person
        has_role = np.bincount(role_person, minlength=n_persons) > 0
    counts = count_matches(
        group,
        people.time,
        starts,
        opportunities.created[candidate_opportunity],
        opportunities.closed[candidate_opportunity],
        lookback,
    )
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    matched = fill_matches(
        group,
        people.time,
        starts,
        opportunities.created[candidate_opportunity],
        opportunities.closed[candidate_opportunity],
        lookback,
        offsets,
    )
    outcome = _outcomes(people, counts, account_has_opportunity, has_role)
    keys, unit = _non_converting(people, outcome, non_converting)
    pair_touch = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    pair_journey = candidate_opportunity[matched]
    if len(keys):
        of_key = people.account if unit == "account" else people.person
        rank = np.full(n_accounts if unit == "account" else n_persons, -1, np.int64)
        rank[keys] = np.arange(len(keys))
        extra = np.flatnonzero(outcome == NON_CONVERTING_JOURNEY)
        pair_touch = np.concatenate((pair_touch, extra))
        pair_journey = np.concatenate((pair_journey, opportunities.n + rank[of_key[extra]]))
    n_journeys = opportunities.n + len(keys)
    sorted_pairs = sort_order(pair_journey, people.time[pair_touch], n_journeys)
    return Join(
        touch=pair_touch[sorted_pairs],
        journey=pair_journey[sorted_pairs],
        copies=counts,
        outcome=outcome,
        n_opportunities=opportunities.n,
        non_converting_keys=keys,
        non_converting_unit=unit,
    )


def _starts(sorted_groups: np.ndarray, n_groups: int) -> np.ndarray:
    counts = np.bincount(sorted_groups, minlength=n_groups)
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _outcomes(
    people: People,
    copies: np.ndarray,
    account_has_opportunity: np.ndarray,
    has_role: np.ndarray | None,
) -> np.ndarray:
    """Per touch: ``OPPORTUNITY`` or the one reason it is in no opportunity's journey."""
    account = people.account
    known = account >= 0
    with_opportunity = known & account_has_opportunity[np.maximum(account, 0)]
    outcome = np.full(len(copies), OUTSIDE, np.int8)
    if has_role is not None:
        role = (people.person >= 0) & has_role[np.maximum(people.person, 0)]
        outcome[~role & with_opportunity] = NO_ROLE
    else:
        role = np.zeros(len(copies), bool)
    no_account = ~known & ~role
    outcome[no_account] = NO_ACCOUNT
    outcome[no_account & people.unknown] = PERSON_UNKNOWN
    outcome[known & ~with_opportunity & ~role] = NO_OPPORTUNITY
    outcome[copies > 0] = OPPORTUNITY
    return outcome


def _non_converting(
    people: People, outcome: np.ndarray, unit: NonConverting
) -> tuple[np.ndarray, str]:
    """Mark the touches of non-converting journeys; return the journeys' keys."""
    if unit == "none":
        return np.zeros(0, np.int64), unit
    if unit == "account":
        chosen = outcome == NO_OPPORTUNITY
        key = people.account
    else:
        chosen = np.isin(outcome, (NO_OPPORTUNITY, NO_ACCOUNT, PERSON_UNKNOWN)) & (
            people.person >= 0
        )
        key = people.person
    outcome[chosen] = NON_CONVERTING_JOURNEY
    present = np.bincount(key[chosen], minlength=int(key.max(initial=-1)) + 1) > 0
    return np.flatnonzero(present).astype(np.int64), unit
