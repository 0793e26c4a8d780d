"""The label names every layer shares: the core dimensions and the reserved labels."""

from __future__ import annotations

#: The labels every touch carries (and the input columns holding them).
CORE_DIMENSIONS: tuple[str, ...] = ("channel", "team", "campaign", "touch_type")
#: Label of a missing optional label (campaign, touch type, extra dimensions).
MISSING_LABEL = "(none)"
#: Label of the roll-up group holding converted journeys with no touch to credit.
NO_TOUCH_LABEL = "(no touch)"
#: Team of touches with neither a team nor a mapped channel.
UNASSIGNED_TEAM = "unassigned"
