"""The input contract: canonical column roles and the user's names for them.

Every CRM exports its own column names, so each role the engine reads is looked up
through a :class:`ColumnMap`. The defaults are the canonical names in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from attribution.errors import ParameterError

#: Touch columns every touch table must have.
REQUIRED_TOUCH_ROLES: tuple[str, ...] = ("journey_id", "timestamp", "channel")
#: Optional per-touch columns.
OPTIONAL_TOUCH_ROLES: tuple[str, ...] = ("team", "campaign", "touch_type", "cost")
#: Per-journey outcome columns (on the touch table, or on a separate outcomes table).
OUTCOME_ROLES: tuple[str, ...] = (
    "converted",
    "value",
    "converted_at",
    "lead_created_at",
    "opportunity_created_at",
    "closed_at",
    "won",
)
#: Outcome columns holding timestamps.
OUTCOME_TIME_ROLES: tuple[str, ...] = (
    "converted_at",
    "lead_created_at",
    "opportunity_created_at",
    "closed_at",
)
#: Channel separator of aggregated path tables (ChannelAttribution's format).
DEFAULT_SEPARATOR = " > "
#: Columns of the aggregated path table used by other attribution tools.
PATH_ROLES: tuple[str, ...] = ("path", "total_conversions", "total_null", "total_conversion_value")


@dataclass(frozen=True)
class ColumnMap:
    """Names of the input columns for each role. Defaults are the canonical names."""

    journey_id: str = "journey_id"
    timestamp: str = "timestamp"
    channel: str = "channel"
    team: str = "team"
    campaign: str = "campaign"
    touch_type: str = "touch_type"
    cost: str = "cost"
    converted: str = "converted"
    value: str = "value"
    converted_at: str = "converted_at"
    lead_created_at: str = "lead_created_at"
    opportunity_created_at: str = "opportunity_created_at"
    closed_at: str = "closed_at"
    won: str = "won"
    path: str = "path"
    total_conversions: str = "total_conversions"
    total_null: str = "total_null"
    total_conversion_value: str = "total_conversion_value"

    def name(self, role: str) -> str:
        """The input column name used for ``role``."""
        return str(getattr(self, role))

    @classmethod
    def roles(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def with_overrides(self, overrides: dict[str, str]) -> ColumnMap:
        """A copy with some roles renamed; unknown roles are an error naming them."""
        unknown = sorted(set(overrides) - set(self.roles()))
        if unknown:
            raise ParameterError(
                f"unknown column role(s) {', '.join(unknown)}; "
                f"known roles: {', '.join(self.roles())}"
            )
        return replace(self, **overrides)
