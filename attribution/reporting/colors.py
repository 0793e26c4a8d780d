"""One order and one colour per channel, shared by every chart of the page.

Channels are ordered by the recommended model's credited value, largest first (then the
channels only other models credit, then those only the trend or the removal effects
name, each alphabetically), with ``(no touch)`` always last. The first channels of that
order take the colours of :data:`PALETTE` (Vega's Tableau 20 without its two greys, dark
shades first so neighbours differ); channels beyond it share :data:`OTHER_COLOR`, a
grey, rather than reusing a colour that would mean another channel; ``(no touch)`` is
drawn in :data:`NO_TOUCH_COLOR` with a dashed outline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from attribution.reporting.data import NO_TOUCH, ReportData

PALETTE = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#b279a2",
    "#439894",
    "#b79a20",
    "#d67195",
    "#9e765f",
    "#9ecae9",
    "#ffbf79",
    "#88d27a",
    "#ff9d98",
    "#d6a5c9",
    "#83bcb6",
    "#f2cf5b",
    "#fcbfd2",
    "#d8b5a5",
)
OTHER_COLOR = "#a3acb9"
NO_TOUCH_COLOR = "#e2e8f0"
NO_TOUCH_STROKE = "#64748b"


@dataclass(frozen=True)
class ChannelColors:
    """The page's channel order and the colour of each channel, in that order."""

    order: tuple[str, ...]
    colors: tuple[str, ...]

    def scale(self) -> dict[str, object]:
        """A Vega-Lite colour scale giving every channel its colour."""
        return {"domain": list(self.order), "range": list(self.colors)}

    def of(self, channel: str) -> str:
        return self.colors[self.order.index(channel)]


def channel_colors(data: ReportData) -> ChannelColors:
    """The order and colours of every channel named anywhere in ``data``."""
    credits = data.channel_credits
    recommended = credits[credits["model"] == data.recommended_model]
    ranked = recommended.sort_values(["credited_value", "channel"], ascending=[False, True])
    order = list(dict.fromkeys(ranked["channel"].astype(str)))
    order += sorted(set(credits["channel"].astype(str)) - set(order))
    for frame in (data.trend, data.removal_effects):
        if frame is not None:
            order += sorted(set(frame["channel"].astype(str)) - set(order))
    channels = [c for c in order if c != NO_TOUCH]
    colors = [
        PALETTE[index] if index < len(PALETTE) else OTHER_COLOR for index in range(len(channels))
    ]
    if NO_TOUCH in order:
        channels.append(NO_TOUCH)
        colors.append(NO_TOUCH_COLOR)
    return ChannelColors(tuple(channels), tuple(colors))


def ordered(values: Iterable[object]) -> list[str]:
    """Distinct values as text, in order of first appearance."""
    return list(dict.fromkeys(str(v) for v in values))


def model_order(data: ReportData) -> list[str]:
    """The recommended model first, then the others in ``channel_credits`` order."""
    models = ordered(data.channel_credits["model"])
    return [data.recommended_model, *(m for m in models if m != data.recommended_model)]


def agreement_order(data: ReportData, models: Sequence[str]) -> list[str]:
    """The models of the agreement matrix: in the page's model order, then any others."""
    assert data.agreement is not None
    named = ordered([*data.agreement["model"], *data.agreement["other"]])
    return [m for m in models if m in named] + [m for m in named if m not in models]
