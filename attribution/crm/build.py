"""Build the engine's touch and outcome tables from CRM exports.

:func:`build_journeys` reads the exports, checks them, assigns channels, maps touches to
opportunities (:mod:`attribution.crm.mapping`) and returns the two tables in memory with
the reconciliation; :meth:`CrmJourneys.write` writes ``touches.parquet``,
``outcomes.parquet`` and ``reconciliation.csv``; :func:`load_crm` does the same from a
folder of exports with conventional names.

The outcome of each journey:

- an opportunity: ``journey_id`` = its id (as text), ``converted`` true,
  ``converted_at`` = ``opportunity_created_at`` = ``created_at`` (pipeline is credited
  to the touches up to creation), ``value`` = ``amount``, ``closed_at``, ``won``,
  ``lead_created_at`` = the earliest ``lead_created_at`` of the opportunity's people
  (account mapping: every contact of the account; role mappings: the people with a
  qualifying role), and every other opportunity column (``stage``, region, ...) as is;
- a non-converting journey (``account:<id>`` or ``person:<id>``): ``converted`` false,
  ``value`` 0, ``lead_created_at`` the earliest of the account's contacts (the person's
  own), the rest null.

Each journey touch has ``journey_id``, ``timestamp``, ``channel``, ``team``,
``campaign``, ``touch_type``, ``cost`` (when the touches have it: a touch copied into
``k`` opportunities' journeys carries ``cost / k`` on each copy, so spend is counted
once), ``person_id`` and ``account_id``. A touch's channel is its own ``channel`` when
it has one, else the first matching rule's (the rules given, or the built-in GA4
grouping), else the fallback; its team is its own ``team`` when it has one, else the
rule's, else null (the engine then applies its team map, else ``unassigned``).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from attribution.crm.channels import Channels
from attribution.crm.columns import CrmColumns
from attribution.crm.fields import (
    OpportunityFields,
    TouchFields,
    check_contacts,
    check_roles,
    code_all,
    merge_roles,
    resolve_people,
)
from attribution.crm.ga4 import default_rules
from attribution.crm.mapping import (
    MAPPINGS,
    NON_CONVERTING,
    MappingName,
    NonConverting,
    Opportunities,
    join,
    lookback_nanos,
)
from attribution.crm.output import (
    NEVER,
    journey_id_column,
    lead_times,
    outcome_output,
    touch_output,
)
from attribution.crm.reconcile import reconcile
from attribution.crm.reconciliation import CrmReconciliation
from attribution.crm.rules import ChannelRules
from attribution.crm.tables import Table, raise_problems, read_table
from attribution.errors import InputError, ParameterError, Problem
from attribution.io import Loaded, load
from attribution.io.parse import NO_TIME
from attribution.io.sources import CSV_SUFFIXES, PARQUET_SUFFIXES, Source
from attribution.io.writers import write_atomically, write_table

#: Touch columns read from parquet as dictionaries: labels with few distinct values.
#: Ids and referrers are read as plain text and hashed once: parquet builds a dictionary
#: per row group, and unifying large ones costs far more than one hash of the column.
LOW_CARDINALITY = ("channel", "team", "campaign", "touch_type", "source", "medium")


#: The files :meth:`CrmJourneys.write` writes into its folder.
CRM_OUTPUTS = {
    "touches": "touches.parquet",
    "outcomes": "outcomes.parquet",
    "reconciliation": "reconciliation.csv",
}


@dataclass(frozen=True)
class CrmJourneys:
    """The engine's input built from CRM exports, and how it was built."""

    touches: pa.Table
    outcomes: pa.Table
    reconciliation: CrmReconciliation

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write ``touches.parquet``, ``outcomes.parquet`` and ``reconciliation.csv``,
        each atomically (a temporary file renamed over the target once complete)."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise ParameterError(f"{folder} is an existing file: write the journeys to a folder")
        folder.mkdir(parents=True, exist_ok=True)
        paths = {key: folder / name for key, name in CRM_OUTPUTS.items()}
        # Dictionary pages and statistics only for the labels and numbers: ids have too
        # many distinct values for a dictionary page (falling back from one costs more
        # than plain pages), and min/max statistics of ids serve no reader.
        labels = [
            c
            for c in ("channel", "team", "campaign", "touch_type")
            if c in self.touches.column_names
        ]
        numbers = [c for c in ("timestamp", "cost") if c in self.touches.column_names]
        write_atomically(
            paths["touches"],
            lambda path: pq.write_table(
                self.touches, path, use_dictionary=labels, write_statistics=labels + numbers
            ),
        )
        write_atomically(paths["outcomes"], lambda path: pq.write_table(self.outcomes, path))
        write_table(self.reconciliation.to_frame(), paths["reconciliation"])
        return paths

    def load(self, **options: object) -> Loaded:
        """The journeys loaded for :func:`attribution.attribute` (options as for
        :func:`attribution.load`, e.g. ``channel_teams``)."""
        return load(self.touches, self.outcomes, **options)  # type: ignore[arg-type]


def build_journeys(
    touches: Source,
    opportunities: Source,
    *,
    contacts: Source | None = None,
    contact_roles: Source | None = None,
    mapping: MappingName = "account",
    lookback_days: float | None = None,
    channel_rules: ChannelRules | str | Path | None = None,
    non_converting: NonConverting = "account",
    columns: CrmColumns | None = None,
) -> CrmJourneys:
    """Journeys of opportunities (and non-converting journeys) from CRM exports.

    Each source is a parquet file, a folder of parquet files, a CSV file, a DataFrame or
    an Arrow table. ``mapping``: ``account`` (every touch of the account's people),
    ``contact-role`` or ``primary-contact-role`` (needs ``contact_roles``).
    ``lookback_days``: touches earlier than that many days before an opportunity's
    creation are not in its journey (None: no limit). ``channel_rules``: a
    :class:`ChannelRules`, or the path of a YAML/JSON rules file; None uses the built-in
    GA4 grouping for touches without their own channel. ``non_converting``: the unit of
    non-converting journeys (``account``, ``person`` or ``none``). ``columns`` names the
    input columns (:class:`CrmColumns`). Bad input raises :class:`InputError` naming the
    file, column and rows of every problem found.
    """
    _check_options(mapping, non_converting, lookback_days)
    rules = _rules(channel_rules)
    columns = columns or CrmColumns()
    touch_table = read_table(touches, "touches", columns, dictionary=LOW_CARDINALITY)
    opportunity_table = read_table(opportunities, "opportunities", columns)
    contact_table = None if contacts is None else read_table(contacts, "contacts", columns)
    role_table = (
        None if contact_roles is None else read_table(contact_roles, "contact_roles", columns)
    )
    _check_shape(touch_table, opportunity_table, contact_table, role_table, mapping)

    # Hashing the ids (pyarrow, without the GIL) overlaps parsing the touches and
    # assigning their channels: the two largest steps, on two cores.
    with ThreadPoolExecutor(max_workers=1) as pool:
        coding = pool.submit(code_all, touch_table, opportunity_table, contact_table, role_table)
        touch = TouchFields.of(touch_table)
        channels = Channels.of(touch, rules, touch_table.rows)
        persons, accounts, opportunity_ids = coding.result()
    opportunity = OpportunityFields.of(opportunity_table, opportunity_ids.codes[0], non_converting)
    lead_created = (
        None if contact_table is None else check_contacts(contact_table, persons.codes[1])
    )
    primary = None if role_table is None else check_roles(role_table, mapping)
    raise_problems([t for t in (touch_table, opportunity_table, contact_table, role_table) if t])

    person_code = persons.codes[0]
    contact_person = persons.codes[1] if contact_table else None
    own_account = accounts.codes[0] if touch_table.has("account_id") else None
    contact_account = accounts.codes[-2] if contact_table else None
    opportunity_account = accounts.codes[-1]
    n_opportunities = opportunity_table.rows

    people, account_of_person = resolve_people(
        persons, person_code, own_account, contact_person, contact_account, touch.time
    )
    roles, role_notes = (
        (None, [])
        if role_table is None or primary is None
        else merge_roles(
            role_table,
            persons,
            opportunity_ids,
            primary,
            n_opportunities,
            account_of_person,
            opportunity_account,
        )
    )
    opportunities_ = Opportunities(opportunity_account, opportunity.created, opportunity.closed)
    joined = join(
        people,
        opportunities_,
        roles,
        mapping=mapping,
        lookback=lookback_nanos(lookback_days),
        non_converting=non_converting,
        n_accounts=accounts.n,
        n_persons=persons.n,
    )

    person_lead = np.full(persons.n, NEVER, np.int64)
    if lead_created is not None and contact_person is not None:
        person_lead[contact_person] = np.where(lead_created == NO_TIME, NEVER, lead_created)
    journey_ids = journey_id_column(opportunity_ids, persons, accounts, joined, n_opportunities)
    touches_out = touch_output(joined, journey_ids, touch, channels, persons, accounts, people)
    outcomes_out = outcome_output(
        joined,
        journey_ids,
        opportunity,
        opportunity_table,
        lead_times(
            joined,
            mapping,
            person_lead,
            opportunity_account,
            contact_person,
            contact_account,
            roles,
            accounts.n,
        ),
    )
    reconciliation = reconcile(
        joined=joined,
        channels=channels,
        rules=rules,
        tables=(touch_table, opportunity_table, contact_table, role_table),
        opportunity=opportunity,
        cost=touch.cost,
        people=people,
        account_has_opportunity=np.bincount(opportunity_account, minlength=accounts.n) > 0,
        settings=(
            ("mapping", mapping),
            ("lookback", "none" if lookback_days is None else f"{lookback_days:g} days"),
            ("non-converting journeys", non_converting),
            ("channel rules", rules.origin),
        ),
        notes=role_notes,
    )
    return CrmJourneys(touches_out, outcomes_out, reconciliation)


#: File names :func:`load_crm` looks for in a folder (each with .parquet, .csv, or as a
#: folder of parquet files).
CRM_FILES = ("touches", "opportunities", "contacts", "contact_roles")
RULE_FILES = ("channel_rules.yaml", "channel_rules.yml", "channel_rules.json")


def load_crm(
    folder: str | Path,
    *,
    mapping: MappingName = "account",
    lookback_days: float | None = None,
    channel_rules: ChannelRules | str | Path | None = None,
    non_converting: NonConverting = "account",
    columns: CrmColumns | None = None,
) -> CrmJourneys:
    """:func:`build_journeys` on the exports in ``folder``: ``touches`` and
    ``opportunities`` (required), ``contacts`` and ``contact_roles`` (optional), each a
    ``.parquet`` or ``.csv`` file or a folder of parquet files of that name; the rules
    are ``channel_rules`` when given, else the folder's ``channel_rules.yaml`` (``.yml``,
    ``.json``) if it has one, else the built-in GA4 grouping. This is what ``--crm DIR``
    of the other commands calls."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(Problem("CRM folder not found (or not a folder)", source=str(root)))
    found = {name: _find(root, name) for name in CRM_FILES}
    missing = [name for name in ("touches", "opportunities") if found[name] is None]
    if missing:
        raise InputError(
            Problem(
                f"CRM folder has no {' and no '.join(missing)} export (looked for "
                f"{', '.join(f'{m}.parquet, {m}.csv or a folder {m}/' for m in missing)})",
                source=str(root),
            )
        )
    if mapping != "account" and found["contact_roles"] is None:
        raise InputError(
            Problem(
                f"the {mapping} mapping needs the contact roles: the CRM folder has no "
                "contact_roles.parquet, contact_roles.csv or folder contact_roles/",
                source=str(root),
            )
        )
    if channel_rules is None:
        channel_rules = next((root / n for n in RULE_FILES if (root / n).exists()), None)
    touches, opportunities = found["touches"], found["opportunities"]
    assert touches is not None and opportunities is not None
    return build_journeys(
        touches,
        opportunities,
        contacts=found["contacts"],
        contact_roles=found["contact_roles"],
        mapping=mapping,
        lookback_days=lookback_days,
        channel_rules=channel_rules,
        non_converting=non_converting,
        columns=columns,
    )


def _find(root: Path, name: str) -> Path | None:
    if (root / name).is_dir():
        return root / name
    for suffix in PARQUET_SUFFIXES + CSV_SUFFIXES:
        if (root / f"{name}{suffix}").is_file():
            return root / f"{name}{suffix}"
    return None


# ----------------------------------------------------------------------- options


def _check_options(mapping: str, non_converting: str, lookback_days: float | None) -> None:
    if mapping not in MAPPINGS:
        raise InputError(
            Problem(f"unknown mapping {mapping!r}; choose one of {', '.join(MAPPINGS)}")
        )
    if non_converting not in NON_CONVERTING:
        raise InputError(
            Problem(
                f"unknown non_converting unit {non_converting!r}; choose one of "
                f"{', '.join(NON_CONVERTING)}"
            )
        )
    if lookback_days is not None and not (math.isfinite(lookback_days) and lookback_days >= 0):
        raise ParameterError(f"lookback_days must be a finite number >= 0, got {lookback_days}")


def _rules(channel_rules: ChannelRules | str | Path | None) -> ChannelRules:
    if channel_rules is None:
        return default_rules()
    if isinstance(channel_rules, ChannelRules):
        return channel_rules
    return ChannelRules.from_file(channel_rules)


def _check_shape(
    touches: Table,
    opportunities: Table,
    contacts: Table | None,
    roles: Table | None,
    mapping: str,
) -> None:
    problems = [
        Problem("the input has no rows", source=f"{t.name.replace('_', ' ')} {t.source.label}")
        for t in (touches, opportunities)
        if t.rows == 0
    ]
    if mapping == "account" and not touches.has("account_id") and contacts is None:
        problems.append(
            Problem(
                f"the touches have no {touches.column_name('account_id')!r} column and no "
                "contacts were given: the account mapping needs each touch's account "
                "(give the contacts, or an account column on the touches)",
                source=f"touches {touches.source.label}",
            )
        )
    if mapping != "account" and roles is None:
        problems.append(Problem(f"the {mapping} mapping needs the contact roles (contact_roles=)"))
    if mapping == "primary-contact-role" and roles is not None and not roles.has("is_primary"):
        problems.append(
            Problem(
                f"the primary-contact-role mapping needs the column "
                f"{roles.column_name('is_primary')!r}; it has {roles.source.columns_present()}",
                source=f"contact roles {roles.source.label}",
            )
        )
    if problems:
        raise InputError(problems)


__all__ = ["CRM_FILES", "CRM_OUTPUTS", "CrmJourneys", "build_journeys", "load_crm"]
