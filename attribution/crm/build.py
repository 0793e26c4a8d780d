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
``campaign``, ``touch_type``, ``cost`` (when the touches have it), ``person_id`` and
``account_id``. A touch's channel is its own ``channel`` when it has one, else the first
matching rule's (the rules given, or the built-in GA4 grouping), else the fallback; its
team is its own ``team`` when it has one, else the rule's, else null (the engine then
applies its team map, else ``unassigned``).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from attribution.crm.columns import CrmColumns
from attribution.crm.ga4 import default_rules
from attribution.crm.ids import Coded, IdColumn, code_ids
from attribution.crm.mapping import (
    MAPPINGS,
    NON_CONVERTING,
    NON_CONVERTING_JOURNEY,
    OPPORTUNITY,
    REASONS,
    Join,
    MappingName,
    NonConverting,
    Opportunities,
    People,
    Roles,
    join,
    lookback_nanos,
)
from attribution.crm.reconciliation import CrmReconciliation
from attribution.crm.rules import FIELDS, ChannelRules
from attribution.crm.tables import TOUCH_LABELS, Table, raise_problems, read_table
from attribution.errors import InputError, Problem
from attribution.io import Loaded, load
from attribution.io.parse import NO_TIME, Labels
from attribution.io.sources import CSV_SUFFIXES, PARQUET_SUFFIXES, Source
from attribution.io.writers import write_table

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
_NEVER = np.iinfo(np.int64).max
#: Touch columns read from parquet as dictionaries: labels with few distinct values.
#: Ids and referrers are read as plain text and hashed once: parquet builds a dictionary
#: per row group, and unifying large ones costs far more than one hash of the column.
LOW_CARDINALITY = ("channel", "team", "campaign", "touch_type", "source", "medium")


@dataclass(frozen=True)
class CrmJourneys:
    """The engine's input built from CRM exports, and how it was built."""

    touches: pa.Table
    outcomes: pa.Table
    reconciliation: CrmReconciliation

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write ``touches.parquet``, ``outcomes.parquet`` and ``reconciliation.csv``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "touches": folder / "touches.parquet",
            "outcomes": folder / "outcomes.parquet",
            "reconciliation": folder / "reconciliation.csv",
        }
        # Dictionary pages and statistics only for the labels and numbers: ids have too
        # many distinct values for a dictionary page (falling back from one costs more
        # than plain pages), and min/max statistics of ids serve no reader.
        labels = [
            c
            for c in ("channel", "team", "campaign", "touch_type")
            if c in self.touches.column_names
        ]
        numbers = [c for c in ("timestamp", "cost") if c in self.touches.column_names]
        pq.write_table(
            self.touches,
            paths["touches"],
            use_dictionary=labels,
            write_statistics=labels + numbers,
        )
        pq.write_table(self.outcomes, paths["outcomes"])
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
        coding = pool.submit(_code_all, touch_table, opportunity_table, contact_table, role_table)
        touch = _TouchFields.of(touch_table)
        channels = _Channels.of(touch, rules, touch_table.rows)
        persons, accounts, opportunity_ids = coding.result()
    opportunity = _OpportunityFields.of(opportunity_table, opportunity_ids.codes[0], non_converting)
    lead_created = (
        None if contact_table is None else _check_contacts(contact_table, persons.codes[1])
    )
    primary = None if role_table is None else _check_roles(role_table, mapping)
    raise_problems([t for t in (touch_table, opportunity_table, contact_table, role_table) if t])

    person_code = persons.codes[0]
    contact_person = persons.codes[1] if contact_table else None
    own_account = accounts.codes[0] if touch_table.has("account_id") else None
    contact_account = accounts.codes[-2] if contact_table else None
    opportunity_account = accounts.codes[-1]
    n_opportunities = opportunity_table.rows

    people, account_of_person = _people(
        persons, person_code, own_account, contact_person, contact_account, touch.time
    )
    roles, role_notes = (
        (None, [])
        if role_table is None or primary is None
        else _roles(
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

    person_lead = np.full(persons.n, _NEVER, np.int64)
    if lead_created is not None and contact_person is not None:
        person_lead[contact_person] = np.where(lead_created == NO_TIME, _NEVER, lead_created)
    journey_ids = _journey_ids(opportunity_ids, persons, accounts, joined, n_opportunities)
    touches_out = _touch_table(joined, journey_ids, touch, channels, persons, accounts, people)
    outcomes_out = _outcome_table(
        joined,
        journey_ids,
        opportunity,
        opportunity_table,
        _lead_times(
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
    reconciliation = _reconcile(
        joined=joined,
        channels=channels,
        rules=rules,
        tables=(touch_table, opportunity_table, contact_table, role_table),
        opportunity=opportunity,
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
        raise ValueError(f"lookback_days must be a finite number >= 0, got {lookback_days}")


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
                "(give the contacts, contacts=, or an account column)",
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


def _people(
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


def _code_all(
    touches: Table, opportunities: Table, contacts: Table | None, roles: Table | None
) -> tuple[Coded, Coded, Coded]:
    """Shared codes of the persons, the accounts and the opportunities of every table."""
    persons = code_ids(
        [_id(touches, "person_id")]
        + ([_id(contacts, "person_id")] if contacts else [])
        + ([_id(roles, "person_id")] if roles else [])
    )
    accounts = code_ids(
        ([_id(touches, "account_id")] if touches.has("account_id") else [])
        + ([_id(contacts, "account_id")] if contacts else [])
        + [_id(opportunities, "account_id")]
    )
    opportunity_ids = code_ids(
        [_id(opportunities, "opportunity_id")] + ([_id(roles, "opportunity_id")] if roles else [])
    )
    return persons, accounts, opportunity_ids


def _id(table: Table | None, role: str) -> IdColumn:
    assert table is not None
    return IdColumn(
        table.column(role),
        f"{table.name.replace('_', ' ')} {table.source.label}",
        table.column_name(role),
    )


# ------------------------------------------------------------------ table fields


@dataclass(frozen=True)
class _TouchFields:
    time: np.ndarray
    labels: dict[str, Labels | None]
    cost: pa.Array | None

    @classmethod
    def of(cls, table: Table) -> _TouchFields:
        time = table.times("timestamp", required=True)
        parsed = table.numbers("cost")
        cost = None
        if parsed is not None:
            table.issues.flag(parsed.values < 0, table.column_name("cost"), "cost is negative")
            cost = pa.array(parsed.values, pa.float64(), mask=parsed.null)
        labels = {role: table.labels(role) for role in TOUCH_LABELS}
        return cls(time, labels, cost)


@dataclass(frozen=True)
class _OpportunityFields:
    created: np.ndarray
    closed: np.ndarray
    amount: np.ndarray | None
    won: np.ndarray | None
    carried: tuple[tuple[str, str], ...]  # (output name, input column)

    @classmethod
    def of(cls, table: Table, codes: np.ndarray, non_converting: str) -> _OpportunityFields:
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


def _check_contacts(table: Table, codes: np.ndarray) -> np.ndarray:
    table.require_values("person_id", "person_id is null")
    table.flag_duplicates("person_id", codes, "person_id is duplicated (one row per person)")
    return table.times("lead_created_at", required=False)


def _check_roles(table: Table, mapping: str) -> np.ndarray:
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


def _roles(
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


# ----------------------------------------------------------------------- channels


@dataclass(frozen=True)
class _Channels:
    """Final channel and team codes per input touch, and how they were assigned."""

    channel: np.ndarray
    channel_names: list[str]
    team: np.ndarray
    team_names: list[str]
    own: np.ndarray
    rule: np.ndarray
    unmatched: tuple[tuple[str, str, int], ...]

    @classmethod
    def of(cls, touch: _TouchFields, rules: ChannelRules, n: int) -> _Channels:
        own_channel = _present(touch.labels["channel"], n)
        own_team = _present(touch.labels["team"], n)
        need = np.flatnonzero(own_channel < 0)
        every = len(need) == n
        fields = {
            name: labels if labels is None or every else Labels(labels.codes[need], labels.names)
            for name, labels in ((f, touch.labels[f]) for f in FIELDS)
        }
        assigned = rules.assign(fields, len(need))

        def spread(values: np.ndarray, fill: int) -> np.ndarray:
            """Per row, from the values of the rows the rules were evaluated on."""
            if every:
                return values
            out = np.full(n, fill, values.dtype)
            out[need] = values
            return out

        own = own_channel >= 0
        rule = spread(assigned.rule, -2)
        n_channels, n_teams = (
            len(_names(touch.labels["channel"])),
            len(_names(touch.labels["team"])),
        )
        channel = np.where(own, own_channel, n_channels + spread(assigned.channel, 0))
        rule_team = spread(assigned.team, -1)
        team = np.where(
            own_team >= 0, own_team, np.where(~own & (rule_team >= 0), n_teams + rule_team, -1)
        )
        channel_names = _names(touch.labels["channel"]) + list(assigned.channel_names)
        team_names = _names(touch.labels["team"]) + list(assigned.team_names)
        return cls(
            channel.astype(np.int32),
            channel_names,
            team.astype(np.int32),
            team_names,
            own,
            rule,
            assigned.unmatched,
        )


def _present(labels: Labels | None, n: int) -> np.ndarray:
    """Codes of non-null, non-blank labels; -1 elsewhere."""
    if labels is None:
        return np.full(n, -1, np.int64)
    blank = np.array([not name.strip() for name in labels.names] + [True])
    codes = labels.codes
    return np.where(blank[np.where(codes >= 0, codes, len(labels.names))], -1, codes)


def _names(labels: Labels | None) -> list[str]:
    return [] if labels is None else list(labels.names)


# ------------------------------------------------------------------------ outputs


def _journey_ids(
    opportunity_ids: Coded, persons: Coded, accounts: Coded, joined: Join, n_opportunities: int
) -> pa.Array:
    own = opportunity_ids.text().slice(0, n_opportunities)
    keys = pa.array(joined.non_converting_keys, pa.int64())
    names = (accounts if joined.non_converting_unit == "account" else persons).text()
    prefix = f"{joined.non_converting_unit}:"
    others = pc.binary_join_element_wise(pa.scalar(prefix), names.take(keys), "")
    return pa.concat_arrays([own, others.cast(pa.string())])


def _dictionary(codes: np.ndarray, names: pa.Array | list[str]) -> pa.DictionaryArray:
    dictionary = names if isinstance(names, pa.Array) else pa.array(names, pa.string())
    indices = pa.array(codes.astype(np.int32, copy=False), pa.int32(), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _label_column(labels: Labels | None, rows: np.ndarray) -> pa.Array:
    if labels is None:
        return pa.nulls(len(rows), pa.dictionary(pa.int32(), pa.string()))
    return _dictionary(labels.codes[rows], labels.names)


def _times(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.int64(), mask=values == NO_TIME).cast(pa.timestamp("ns", tz="UTC"))


def _touch_table(
    joined: Join,
    journey_ids: pa.Array,
    touch: _TouchFields,
    channels: _Channels,
    persons: Coded,
    accounts: Coded,
    people: People,
) -> pa.Table:
    rows = joined.touch
    columns: dict[str, pa.Array] = {
        "journey_id": _dictionary(joined.journey, journey_ids),
        "timestamp": _times(touch.time[rows]),
        "channel": _dictionary(channels.channel[rows], channels.channel_names),
        "team": _dictionary(channels.team[rows], channels.team_names),
        "campaign": _label_column(touch.labels["campaign"], rows),
        "touch_type": _label_column(touch.labels["touch_type"], rows),
    }
    if touch.cost is not None:
        columns["cost"] = touch.cost.take(pa.array(rows, pa.int64()))
    columns["person_id"] = _dictionary(people.person[rows], persons.text())
    columns["account_id"] = _dictionary(people.account[rows], accounts.text())
    return pa.table(columns)


def _lead_times(
    joined: Join,
    mapping: str,
    person_lead: np.ndarray,
    opportunity_account: np.ndarray,
    contact_person: np.ndarray | None,
    contact_account: np.ndarray | None,
    roles: Roles | None,
    n_accounts: int,
) -> np.ndarray:
    """Per journey: the earliest lead creation of its people (``NO_TIME`` if none)."""
    account_lead = np.full(n_accounts, _NEVER, np.int64)
    if contact_person is not None and contact_account is not None:
        with_account = contact_account >= 0
        np.minimum.at(
            account_lead, contact_account[with_account], person_lead[contact_person[with_account]]
        )
    if mapping == "account" or roles is None:
        opportunity_lead = account_lead[opportunity_account]
    else:
        keep = roles.primary if mapping == "primary-contact-role" else np.ones_like(roles.primary)
        opportunity_lead = np.full(joined.n_opportunities, _NEVER, np.int64)
        np.minimum.at(opportunity_lead, roles.opportunity[keep], person_lead[roles.person[keep]])
    keys = joined.non_converting_keys
    other = account_lead[keys] if joined.non_converting_unit == "account" else person_lead[keys]
    lead = np.concatenate((opportunity_lead, other))
    return np.where(lead == _NEVER, NO_TIME, lead)


def _outcome_table(
    joined: Join,
    journey_ids: pa.Array,
    opportunity: _OpportunityFields,
    table: Table,
    lead: np.ndarray,
) -> pa.Table:
    n_other = len(joined.non_converting_keys)
    none = np.full(n_other, NO_TIME, np.int64)
    created = _times(np.concatenate((opportunity.created, none)))
    columns: dict[str, pa.Array] = {
        "journey_id": journey_ids,
        "converted": pa.array(np.arange(joined.n_journeys) < joined.n_opportunities),
    }
    if opportunity.amount is not None:
        columns["value"] = pa.array(np.concatenate((opportunity.amount, np.zeros(n_other))))
    columns["converted_at"] = created
    columns["opportunity_created_at"] = created
    if table.has("closed_at"):
        columns["closed_at"] = _times(np.concatenate((opportunity.closed, none)))
    if opportunity.won is not None:
        won = np.concatenate((opportunity.won, np.full(n_other, -1, np.int8)))
        columns["won"] = pa.array(won == 1, pa.bool_(), mask=won < 0)
    columns["lead_created_at"] = _times(lead)
    for out, name in opportunity.carried:
        values = table.source.table[name].combine_chunks()
        columns[out] = pa.concat_arrays([values, pa.nulls(n_other, values.type)])
    return pa.table(columns)


# ------------------------------------------------------------------ reconciliation


def _reconcile(
    *,
    joined: Join,
    channels: _Channels,
    rules: ChannelRules,
    tables: tuple[Table, Table, Table | None, Table | None],
    opportunity: _OpportunityFields,
    people: People,
    account_has_opportunity: np.ndarray,
    settings: tuple[tuple[str, str], ...],
    notes: list[str],
) -> CrmReconciliation:
    touches, opportunities, contacts, roles = tables
    outcome_counts = np.bincount(joined.outcome, minlength=max(REASONS) + 1)
    copies = np.bincount(joined.copies[joined.copies > 0])
    in_opportunity = joined.journey < joined.n_opportunities
    touched = np.bincount(joined.journey[in_opportunity], minlength=joined.n_opportunities) > 0
    amount = (
        opportunity.amount if opportunity.amount is not None else np.ones(joined.n_opportunities)
    )
    by_rule = np.bincount(channels.rule[channels.rule >= 0], minlength=len(rules.rules))
    n_accounts = len(account_has_opportunity)
    touched_accounts = np.bincount(people.account[people.account >= 0], minlength=n_accounts) > 0
    if opportunity.amount is None:
        notes = [*notes, "no amount column: pipeline counts opportunities (each worth 1)"]
    return CrmReconciliation(
        settings=settings,
        touches_read=touches.rows,
        contacts_read=0 if contacts is None else contacts.rows,
        opportunities_read=opportunities.rows,
        contact_roles_read=0 if roles is None else roles.rows,
        touches_with_own_channel=int(channels.own.sum()),
        touches_by_rule=tuple(
            (f"rule {i + 1} {rule.channel}" + (f" ({rule.name})" if rule.name else ""), int(n))
            for i, (rule, n) in enumerate(zip(rules.rules, by_rule, strict=True))
            if n
        ),
        touches_fallback=int((channels.rule == -1).sum()),
        fallback_channel=rules.fallback,
        unmatched_pairs=channels.unmatched,
        touches_in_opportunities=int(outcome_counts[OPPORTUNITY]),
        touches_in_non_converting=int(outcome_counts[NON_CONVERTING_JOURNEY]),
        touches_without_journey=tuple(
            (text, int(outcome_counts[code])) for code, text in REASONS.items()
        ),
        copies=tuple((k, int(n)) for k, n in enumerate(copies) if k > 0 and n),
        journey_touches=len(joined.touch),
        opportunity_journey_touches=int(in_opportunity.sum()),
        opportunities_with_touches=int(touched.sum()),
        opportunities_without_touches=int((~touched).sum()),
        pipeline=float(amount.sum()),
        untouched_pipeline=float(amount[~touched].sum()),
        accounts_with_touches=int(touched_accounts.sum()),
        accounts_without_opportunity=int((touched_accounts & ~account_has_opportunity).sum()),
        non_converting_journeys=len(joined.non_converting_keys),
        notes=tuple(notes),
    )


__all__ = ["CRM_FILES", "CrmJourneys", "build_journeys", "load_crm"]
