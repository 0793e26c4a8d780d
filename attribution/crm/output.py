"""The engine's touch and outcome tables from the join (see :mod:`attribution.crm.build`
for what each column holds)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribution.crm.channels import Channels
from attribution.crm.fields import OpportunityFields, TouchFields
from attribution.crm.ids import Coded
from attribution.crm.mapping import Join, People, Roles
from attribution.crm.tables import Table
from attribution.io.parse import NO_TIME, Labels

#: Later than any time: the identity of a minimum over lead creation times.
NEVER = np.iinfo(np.int64).max


def journey_id_column(
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


def shared_cost(cost: pa.Array, joined: Join) -> pa.Array:
    """Each journey touch's cost: its input touch's cost split evenly over the journeys it
    was copied into (``cost / k`` on each of ``k`` copies, as Marketo Measure splits a
    shared cost), so the spend of the journey touches sums to that of the input touches
    in a journey, whatever the copies. A null cost stays null."""
    rows = pa.array(joined.touch, pa.int64())
    copies = np.maximum(joined.copies[joined.touch], 1).astype(np.float64)
    return pc.divide(cost.take(rows), pa.array(copies))


def touch_output(
    joined: Join,
    journey_ids: pa.Array,
    touch: TouchFields,
    channels: Channels,
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
        columns["cost"] = shared_cost(touch.cost, joined)
    columns["person_id"] = _dictionary(people.person[rows], persons.text())
    columns["account_id"] = _dictionary(people.account[rows], accounts.text())
    return pa.table(columns)


def lead_times(
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
    account_lead = np.full(n_accounts, NEVER, np.int64)
    if contact_person is not None and contact_account is not None:
        with_account = contact_account >= 0
        np.minimum.at(
            account_lead, contact_account[with_account], person_lead[contact_person[with_account]]
        )
    if mapping == "account" or roles is None:
        opportunity_lead = account_lead[opportunity_account]
    else:
        keep = roles.primary if mapping == "primary-contact-role" else np.ones_like(roles.primary)
        opportunity_lead = np.full(joined.n_opportunities, NEVER, np.int64)
        np.minimum.at(opportunity_lead, roles.opportunity[keep], person_lead[roles.person[keep]])
    keys = joined.non_converting_keys
    other = account_lead[keys] if joined.non_converting_unit == "account" else person_lead[keys]
    lead = np.concatenate((opportunity_lead, other))
    return np.where(lead == NEVER, NO_TIME, lead)


def outcome_output(
    joined: Join,
    journey_ids: pa.Array,
    opportunity: OpportunityFields,
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
