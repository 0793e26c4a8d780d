"""What building journeys from CRM exports did with every touch and opportunity.

The counts add up, and the tests check that they do:

    touches read = in >= 1 opportunity's journey + in a non-converting journey
                   + Σ touches in no journey, per reason
    journey touches = Σ_k k × (touches in exactly k opportunities' journeys)
                      + touches in non-converting journeys
    opportunities = with touches + without any touch (untouched pipeline)
    touches without their own channel = Σ per rule + fallback

and, when the touches have a cost, the cost of the touches copied into several
opportunities' journeys, which is split evenly over the copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from attribution.reconciliation import format_value, numeric_value

Row = tuple[str, str, object]


@dataclass(frozen=True)
class CrmReconciliation:
    """Counts from the CRM exports to the journeys (see the module docstring)."""

    settings: tuple[tuple[str, str], ...]
    touches_read: int
    contacts_read: int
    opportunities_read: int
    contact_roles_read: int
    touches_with_own_channel: int
    touches_by_rule: tuple[tuple[str, int], ...]
    touches_fallback: int
    fallback_channel: str
    unmatched_pairs: tuple[tuple[str, str, int], ...]
    touches_in_opportunities: int
    touches_in_non_converting: int
    touches_without_journey: tuple[tuple[str, int], ...]
    copies: tuple[tuple[int, int], ...]
    #: Cost of the input touches copied into >= 2 opportunities' journeys (split evenly
    #: over the copies); None when the touches have no cost.
    copied_cost: float | None
    journey_touches: int
    opportunity_journey_touches: int
    opportunities_with_touches: int
    opportunities_without_touches: int
    pipeline: float
    untouched_pipeline: float
    accounts_with_touches: int
    accounts_without_opportunity: int
    non_converting_journeys: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    #: How many of the most frequent unmatched (source, medium) pairs are listed.
    TOP_UNMATCHED = 10

    @property
    def touches_not_in_a_journey(self) -> int:
        return sum(count for _, count in self.touches_without_journey)

    def rows(self) -> list[Row]:
        """Rows of (section, item, value): numbers, or text for settings and notes."""
        rows: list[Row] = [("settings", name, value) for name, value in self.settings]
        rows += [
            ("input", "touch rows read", self.touches_read),
            ("input", "contact rows read", self.contacts_read),
            ("input", "opportunity rows read", self.opportunities_read),
            ("input", "contact role rows read", self.contact_roles_read),
            ("channels", "touches with their own channel", self.touches_with_own_channel),
        ]
        rows += [("channels", f"assigned by {rule}", n) for rule, n in self.touches_by_rule]
        rows.append(
            (
                "channels",
                f"no rule matched: fallback '{self.fallback_channel}'",
                self.touches_fallback,
            )
        )
        rows += [
            ("unmatched (source, medium)", f"source={s!r} medium={m!r}", n)
            for s, m, n in self.unmatched_pairs[: self.TOP_UNMATCHED]
        ]
        rows += [
            ("touches", "in the journey of >= 1 opportunity", self.touches_in_opportunities),
            ("touches", "in a non-converting journey", self.touches_in_non_converting),
        ]
        rows += [
            ("touches", f"in no journey: {reason}", n) for reason, n in self.touches_without_journey
        ]
        rows += [
            (
                "copies",
                f"touches in {k} opportunities' journeys"
                if k > 1
                else "touches in 1 opportunity's journey",
                n,
            )
            for k, n in self.copies
        ]
        if self.copied_cost is not None:
            rows.append(
                (
                    "copies",
                    "cost of the touches in >= 2 opportunities' journeys (split evenly)",
                    self.copied_cost,
                )
            )
        rows += [
            ("journeys", "journey touches written", self.journey_touches),
            ("journeys", "of which in opportunities' journeys", self.opportunity_journey_touches),
            ("journeys", "opportunities with touches", self.opportunities_with_touches),
            (
                "journeys",
                "opportunities without any touch (untouched pipeline)",
                self.opportunities_without_touches,
            ),
            ("journeys", "pipeline (amount of every opportunity)", self.pipeline),
            ("journeys", "untouched pipeline (amount)", self.untouched_pipeline),
            ("journeys", "accounts with touches", self.accounts_with_touches),
            (
                "journeys",
                "accounts with touches but no opportunity",
                self.accounts_without_opportunity,
            ),
            ("journeys", "non-converting journeys", self.non_converting_journeys),
        ]
        rows += [("notes", "", note) for note in self.notes]
        return rows

    def value(self, section: str, item: str) -> object:
        """One row's value (for tests and callers): the number or text."""
        for row_section, row_item, value in self.rows():
            if (row_section, row_item) == (section, item):
                return value
        raise KeyError((section, item))

    def to_frame(self) -> pd.DataFrame:
        """The rows with columns ``section``, ``item``, ``value`` (numbers), ``text``."""
        rows = self.rows()
        return pd.DataFrame(
            {
                "section": [r[0] for r in rows],
                "item": [r[1] for r in rows],
                "value": [numeric_value(r[2]) for r in rows],
                "text": [None if numeric_value(r[2]) is not None else str(r[2]) for r in rows],
            }
        )

    def to_text(self) -> str:
        """A readable report: one block per section."""
        lines = ["Journeys from CRM exports"]
        section = None
        rows = self.rows()
        width = max(len(item) for _, item, _ in rows)
        for row_section, item, value in rows:
            if row_section != section:
                section = row_section
                lines.append(f"  {section}")
            text = format_value(value)
            lines.append(f"    {item:<{width}}  {text}" if item else f"    {text}")
        return "\n".join(lines)
