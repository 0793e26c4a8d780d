"""Count what the build did with every touch and opportunity into a
:class:`~attribution.crm.reconciliation.CrmReconciliation`."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribution.crm.channels import Channels
from attribution.crm.fields import OpportunityFields
from attribution.crm.mapping import NON_CONVERTING_JOURNEY, OPPORTUNITY, REASONS, Join, People
from attribution.crm.reconciliation import CrmReconciliation
from attribution.crm.rules import ChannelRules
from attribution.crm.tables import Table


def reconcile(
    *,
    joined: Join,
    channels: Channels,
    rules: ChannelRules,
    tables: tuple[Table, Table, Table | None, Table | None],
    opportunity: OpportunityFields,
    cost: pa.Array | None,
    people: People,
    account_has_opportunity: np.ndarray,
    settings: tuple[tuple[str, str], ...],
    notes: list[str],
) -> CrmReconciliation:
    touches, opportunities, contacts, roles = tables
    copied_cost = None
    if cost is not None:
        copied = pa.array(joined.copies > 1)
        copied_cost = pc.sum(pc.filter(cost, copied)).as_py() or 0.0
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
        copied_cost=copied_cost,
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
