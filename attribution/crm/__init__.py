"""Journeys from CRM exports: touches per person, opportunities per account.

What a revenue-operations analyst has is CRM exports: touches recorded per *person*
(campaign members, web sessions with UTM fields, sales activities) and opportunities per
*account*, sometimes with contact roles. :func:`build_journeys` joins them into the
engine's own touch and outcome tables (one journey per opportunity, plus non-converting
journeys), assigning channels by rules on the raw fields, and reconciles every touch.

>>> import attribution as at
>>> from attribution.crm import build_journeys
>>> crm = build_journeys("touches.csv", "opps.csv", contacts="contacts.csv")  # doctest: +SKIP
>>> print(crm.reconciliation.to_text())  # doctest: +SKIP
>>> result = at.attribute(crm.load(), ["linear", "w_shaped"])  # doctest: +SKIP
"""

from attribution.crm.build import CRM_FILES, CRM_OUTPUTS, CrmJourneys, build_journeys, load_crm
from attribution.crm.columns import (
    ContactColumns,
    ContactRoleColumns,
    CrmColumns,
    OpportunityColumns,
    TouchColumns,
)
from attribution.crm.ga4 import default_rules
from attribution.crm.mapping import MAPPINGS, NON_CONVERTING
from attribution.crm.reconciliation import CrmReconciliation
from attribution.crm.rules import ChannelRules, Condition, Rule

__all__ = [
    "CRM_FILES",
    "CRM_OUTPUTS",
    "MAPPINGS",
    "NON_CONVERTING",
    "ChannelRules",
    "Condition",
    "ContactColumns",
    "ContactRoleColumns",
    "CrmColumns",
    "CrmJourneys",
    "CrmReconciliation",
    "OpportunityColumns",
    "Rule",
    "TouchColumns",
    "build_journeys",
    "default_rules",
    "load_crm",
]
