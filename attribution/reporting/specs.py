"""The Vega-Lite specification of every chart, as plain dicts.

Specifications are written directly rather than through Altair: the charts need nothing
Altair adds but schema validation (the browser tests render every chart and fail on any
Vega warning instead), and plain dicts keep full control of what the page embeds: each
chart's frame goes in whole as a named dataset (so the tests read it back through the
Vega View API and compare it with the frame), there is no ``$schema`` URL, and there is
no extra dependency (Altair brings jsonschema, narwhals and more).

Each chart reads its frame under the frame's own name (``view.data("channel_credits")``
is the ``channel_credits`` frame, row for row). Label columns (model, channel, team,
period, path) are written as text; null numbers as JSON null. Charts only ever draw
and print cells of their frame: derived fields are formatting (labels, tooltips) or
positions (where a label goes), never new numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from attribution.reporting.colors import (
    NO_TOUCH_STROKE,
    OTHER_COLOR,
    PALETTE,
    ChannelColors,
    agreement_order,
    ordered,
)
from attribution.reporting.data import NO_TOUCH, ReportData
from attribution.reporting.formatting import as_float, is_null, money_expression

Spec = dict[str, Any]

FONT = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
    '"Liberation Sans", sans-serif'
)
INK = "#0f172a"
MUTED = "#475569"
GRID = "#e2e8f0"
NEUTRAL_BAR = "#64748b"
HIGHLIGHT_BAR = "#3730a3"
TEAM_MEASURES = {"sourced": "#a5b4fc", "influenced": "#e0e7ff", "credited": "#3730a3"}
ROW_STEP = 22

CONFIG: Spec = {
    "font": FONT,
    "background": "white",
    "padding": 4,
    "view": {"stroke": None},
    "axis": {
        "labelColor": MUTED,
        "titleColor": MUTED,
        "labelFontSize": 11,
        "titleFontSize": 11,
        "titleFontWeight": 600,
        "gridColor": GRID,
        "domainColor": "#94a3b8",
        "tickColor": "#94a3b8",
    },
    "legend": {
        "labelColor": MUTED,
        "titleColor": MUTED,
        "labelFontSize": 11,
        "titleFontSize": 11,
        "titleFontWeight": 600,
    },
    "title": {
        "anchor": "start",
        "color": INK,
        "fontSize": 13,
        "fontWeight": 600,
        "subtitleColor": MUTED,
        "subtitleFontSize": 11,
        "offset": 10,
    },
    "text": {"fontSize": 11, "color": INK},
    "concat": {"spacing": 24},
}

LABEL_COLUMNS = ("model", "other", "channel", "team", "period", "path")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts: labels as text, nulls as ``None``."""
    rows = []
    for row in frame.to_dict("records"):
        rows.append({str(k): _plain(v, str(k) in LABEL_COLUMNS) for k, v in row.items()})
    return rows


def _plain(value: object, label: bool) -> object:
    if is_null(value):
        return None
    if label or isinstance(value, str):
        return str(value)
    if isinstance(value, int | np.integer):
        return int(value)
    number = as_float(value)
    return str(value) if number is None else number


def expr_text(value: str) -> str:
    """``value`` as a Vega expression string literal."""
    return json.dumps(value)


def _base(frame: pd.DataFrame, name: str) -> Spec:
    return {"config": CONFIG, "datasets": {name: records(frame)}, "data": {"name": name}}


def _row_axis(order: Sequence[str], *, labels: bool = True, limit: int = 220) -> Spec:
    axis: Spec = {"title": None, "labelLimit": limit, "ticks": False, "domain": False}
    if not labels:
        axis["labels"] = False
    axis["labelFontStyle"] = {
        "condition": {"test": f"datum.value === {expr_text(NO_TOUCH)}", "value": "italic"},
        "value": "normal",
    }
    return {"scale": {"domain": list(order)}, "axis": axis}


def _money_axis(title: str, currency: str) -> Spec:
    return {"title": title, "labelExpr": money_expression("datum.value", currency), "grid": True}


def channel_credits_spec(data: ReportData, colors: ChannelColors, models: Sequence[str]) -> Spec:
    """Credited pipeline by channel: the recommended model's bars (with bootstrap error
    bars where intervals exist) beside a channel x model heatmap of shares, rows in the
    page's channel order, ``(no touch)`` last in grey with a dashed outline."""
    frame = data.channel_credits
    currency = data.currency
    recommended = data.recommended_model
    y = {"field": "channel", "type": "nominal", **_row_axis(colors.order)}
    has_value_interval = {"credited_value_low", "credited_value_high"} <= set(frame.columns)
    has_share_interval = {"share_low", "share_high"} <= set(frame.columns)
    value_text = money_expression("datum.credited_value", currency)
    share_text = 'format(datum.share, ".1%")'
    share_interval = (
        'isValid(datum.share_low) && isValid(datum.share_high) ? format(datum.share_low, ".1%")'
        ' + " to " + format(datum.share_high, ".1%") : "none"'
    )
    value_interval = (
        "isValid(datum.credited_value_low) && isValid(datum.credited_value_high) ? "
        f"{money_expression('datum.credited_value_low', currency)} + ' to ' + "
        f"{money_expression('datum.credited_value_high', currency)} : 'none'"
    )
    texts: list[Spec] = [
        {"calculate": value_text, "as": "value_text"},
        {"calculate": share_text, "as": "share_text"},
    ]
    tooltip: list[Spec] = [
        {"field": "channel", "title": "channel"},
        {"field": "model", "title": "model"},
        {"field": "value_text", "title": "credited pipeline"},
        {"field": "share_text", "title": "share of pipeline"},
    ]
    if has_value_interval:
        texts.append({"calculate": value_interval, "as": "value_interval"})
        tooltip.append({"field": "value_interval", "title": "interval"})
    if has_share_interval:
        texts.append({"calculate": share_interval, "as": "share_interval"})
        tooltip.append({"field": "share_interval", "title": "share interval"})
    label_end = (
        "max(0, datum.credited_value, isValid(datum.credited_value_high) ? "
        "datum.credited_value_high : 0)"
        if has_value_interval
        else "max(0, datum.credited_value)"
    )
    no_touch = f"datum.channel === {expr_text(NO_TOUCH)}"
    bar_layers: list[Spec] = [
        {
            "mark": {"type": "bar", "height": {"band": 0.72}, "cornerRadiusEnd": 2},
            "encoding": {
                "y": y,
                "x": {
                    "field": "credited_value",
                    "type": "quantitative",
                    "axis": _money_axis("credited pipeline", currency),
                },
                "color": {
                    "field": "channel",
                    "type": "nominal",
                    "scale": colors.scale(),
                    "legend": None,
                },
                "stroke": {
                    "condition": {"test": no_touch, "value": NO_TOUCH_STROKE},
                    "value": None,
                },
                "strokeDash": {"condition": {"test": no_touch, "value": [3, 2]}, "value": [1, 0]},
                "tooltip": tooltip,
            },
        }
    ]
    if has_value_interval:
        bar_layers.append(
            {
                "transform": [
                    {
                        "filter": "isValid(datum.credited_value_low) && "
                        "isValid(datum.credited_value_high)"
                    }
                ],
                "mark": {"type": "errorbar", "ticks": {"size": 8}, "color": INK},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "credited_value_low",
                        "type": "quantitative",
                        "title": "credited pipeline",
                    },
                    "x2": {"field": "credited_value_high"},
                },
            }
        )
    bar_layers.append(
        {
            "transform": [{"calculate": label_end, "as": "label_end"}],
            "mark": {"type": "text", "align": "left", "dx": 5, "color": MUTED},
            "encoding": {
                "y": y,
                "x": {"field": "label_end", "type": "quantitative", "title": "credited pipeline"},
                "text": {"field": "bar_label"},
            },
        }
    )
    bars: Spec = {
        "title": {
            "text": f"Credited pipeline by channel: {recommended}",
            "subtitle": (
                "recommended model"
                if not data.recommended_missing
                else f"the recommended model, {data.recommended_missing}, did not run"
            )
            + (", bars show the bootstrap interval" if has_value_interval else ""),
        },
        "width": 340,
        "height": {"step": ROW_STEP},
        "transform": [
            {"filter": {"field": "model", "equal": recommended}},
            *texts,
            {"calculate": "datum.value_text + ' · ' + datum.share_text", "as": "bar_label"},
        ],
        "layer": bar_layers,
    }
    shares = [v for v in (as_float(s) for s in frame["share"]) if v is not None]
    negative = any(v < 0 for v in shares)
    scale: Spec = (
        {"scheme": "redblue", "domainMid": 0} if negative else {"scheme": "blues", "domainMin": 0}
    )
    dark = 0.6 * max([abs(v) for v in shares] or [0.0])
    model_axis: Spec = {
        "title": None,
        "orient": "top",
        "labelAngle": -30,
        "labelAlign": "left",
        "ticks": False,
        "domain": False,
        "labelFontWeight": {
            "condition": {"test": f"datum.value === {expr_text(recommended)}", "value": "bold"},
            "value": "normal",
        },
    }
    heatmap: Spec = {
        "title": {
            "text": "Share of pipeline under each model",
            "subtitle": "all models side by side",
        },
        "width": {"step": 58},
        "height": {"step": ROW_STEP},
        "transform": texts,
        "encoding": {
            "y": {"field": "channel", "type": "nominal", **_row_axis(colors.order, labels=False)},
            "x": {
                "field": "model",
                "type": "nominal",
                "scale": {"domain": list(models)},
                "axis": model_axis,
            },
        },
        "layer": [
            {
                "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1},
                "encoding": {
                    "color": {
                        "field": "share",
                        "type": "quantitative",
                        "scale": scale,
                        "legend": None,
                    },
                    "tooltip": tooltip,
                },
            },
            {
                "mark": {"type": "text", "fontSize": 10},
                "encoding": {
                    "text": {"field": "share_text"},
                    "color": {
                        "condition": {"test": f"abs(datum.share) > {dark!r}", "value": "white"},
                        "value": INK,
                    },
                },
            },
        ],
    }
    return {**_base(frame, "channel_credits"), "hconcat": [bars, heatmap]}


def team_credits_spec(data: ReportData) -> Spec:
    """Sourced, influenced and credited pipeline per team, side by side."""
    frame = data.team_credits
    assert frame is not None
    currency = data.currency
    measures = list(TEAM_MEASURES)
    labels = {
        "sourced": "sourced (first touch)",
        "influenced": "influenced (any touch)",
        "credited": f"credited ({data.recommended_model})",
    }
    order = ordered(frame.sort_values("credited", ascending=False, kind="stable")["team"])
    label_of = (
        " : ".join(f"datum.measure === {expr_text(m)} ? {expr_text(labels[m])}" for m in measures)
        + " : datum.measure"
    )
    return {
        **_base(frame, "team_credits"),
        "title": {
            "text": "Pipeline by team",
            "subtitle": "influenced counts a journey once per team it touched: its totals "
            "exceed the pipeline by design",
        },
        "width": 420,
        "height": {"step": 15, "for": "offset"},
        "transform": [
            {"fold": measures, "as": ["measure", "amount"]},
            {"calculate": label_of, "as": "measure_label"},
            {"calculate": money_expression("datum.amount", currency), "as": "amount_text"},
        ],
        "encoding": {
            "y": {"field": "team", "type": "nominal", **_row_axis(order)},
            "yOffset": {"field": "measure", "type": "nominal", "scale": {"domain": measures}},
        },
        "layer": [
            {
                "mark": {"type": "bar", "height": {"band": 0.9}, "cornerRadiusEnd": 2},
                "encoding": {
                    "x": {
                        "field": "amount",
                        "type": "quantitative",
                        "axis": _money_axis("pipeline", currency),
                    },
                    "color": {
                        "field": "measure_label",
                        "type": "nominal",
                        "scale": {
                            "domain": [labels[m] for m in measures],
                            "range": list(TEAM_MEASURES.values()),
                        },
                        "legend": {"title": None, "orient": "top", "direction": "horizontal"},
                    },
                    "stroke": {"value": "#818cf8"},
                    "strokeWidth": {"value": 0.5},
                    "tooltip": [
                        {"field": "team", "title": "team"},
                        {"field": "measure_label", "title": "measure"},
                        {"field": "amount_text", "title": "pipeline"},
                    ],
                },
            },
            {
                "transform": [{"calculate": "max(0, datum.amount)", "as": "label_end"}],
                "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 10, "color": MUTED},
                "encoding": {
                    "x": {"field": "label_end", "type": "quantitative"},
                    "text": {"field": "amount_text"},
                },
            },
        ],
    }


def agreement_spec(data: ReportData, models: Sequence[str]) -> Spec:
    """Total variation distance between every two models' channel shares."""
    frame = data.agreement
    assert frame is not None
    order = agreement_order(data, models)
    distances = [v for v in (as_float(t) for t in frame["tvd"]) if v is not None]
    dark = 0.6 * max(distances or [0.0])
    axis = {"title": None, "ticks": False, "domain": False}
    return {
        **_base(frame, "agreement"),
        "title": {
            "text": "How far apart the models are",
            "subtitle": "total variation distance of channel shares: 0 identical, 1 disjoint",
        },
        "width": {"step": 44},
        "height": {"step": 30},
        "transform": [{"calculate": 'format(datum.tvd, ".2f")', "as": "tvd_text"}],
        "encoding": {
            "x": {
                "field": "other",
                "type": "nominal",
                "scale": {"domain": order},
                "axis": {**axis, "orient": "top", "labelAngle": -30, "labelAlign": "left"},
            },
            "y": {"field": "model", "type": "nominal", "scale": {"domain": order}, "axis": axis},
        },
        "layer": [
            {
                "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1},
                "encoding": {
                    "color": {
                        "field": "tvd",
                        "type": "quantitative",
                        "scale": {"scheme": "purples", "domainMin": 0},
                        "legend": None,
                    },
                    "tooltip": [
                        {"field": "model", "title": "model"},
                        {"field": "other", "title": "other"},
                        {"field": "tvd_text", "title": "distance"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "fontSize": 10},
                "encoding": {
                    "text": {"field": "tvd_text"},
                    "color": {
                        "condition": {"test": f"datum.tvd > {dark!r}", "value": "white"},
                        "value": INK,
                    },
                },
            },
        ],
    }


def errors_spec(data: ReportData, order: Sequence[str]) -> Spec:
    """Share error against the truth per model, best first, with rank correlation."""
    frame = data.errors
    assert frame is not None
    recommended = f"datum.model === {expr_text(data.recommended_model)}"
    label = (
        'format(datum.share_error_tvd, ".3f") + " · ρ " + '
        '(isValid(datum.rank_correlation) ? format(datum.rank_correlation, ".2f") : "—")'
    )
    return {
        **_base(frame, "errors"),
        "title": {
            "text": "Error against the truth, best first",
            "subtitle": "share error (total variation distance) and rank correlation ρ",
        },
        "width": 260,
        "height": {"step": 26},
        "transform": [{"calculate": label, "as": "label"}],
        "encoding": {
            "y": {"field": "model", "type": "nominal", **_row_axis(order)},
        },
        "layer": [
            {
                "mark": {"type": "bar", "height": {"band": 0.7}, "cornerRadiusEnd": 2},
                "encoding": {
                    "x": {
                        "field": "share_error_tvd",
                        "type": "quantitative",
                        "axis": {"title": "share error", "format": ".2f"},
                    },
                    "color": {
                        "condition": {"test": recommended, "value": HIGHLIGHT_BAR},
                        "value": "#a5b4fc",
                    },
                    "tooltip": [
                        {"field": "model", "title": "model"},
                        {"field": "label", "title": "error, ρ"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "align": "left", "dx": 5, "color": MUTED},
                "encoding": {
                    "x": {"field": "share_error_tvd", "type": "quantitative"},
                    "text": {"field": "label"},
                },
            },
        ],
    }


def trend_spec(data: ReportData, colors: ChannelColors) -> Spec:
    """Credited pipeline per period, stacked by channel in the page's channel order."""
    frame = data.trend
    assert frame is not None
    periods = ordered(frame["period"])
    currency = data.currency
    present = set(frame["channel"].astype(str))
    channels = [c for c in colors.order if c in present]
    legend: Spec = {"title": "channel", "orient": "right", "labelLimit": 160, "columns": 1}
    subtitle = "stacked by channel"
    if len(channels) > len(PALETTE) + 1:
        # Beyond the palette channels share a grey: list the coloured ones only.
        shown = [c for c in channels if colors.of(c) != OTHER_COLOR]
        legend["values"] = shown
        subtitle += f"; the other {len(channels) - len(shown)} channels in grey"
    return {
        **_base(frame, "trend"),
        "title": {
            "text": f"Credited pipeline per period: {data.recommended_model}",
            "subtitle": subtitle,
        },
        "width": "container",
        "height": 280,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "transform": [
            {"calculate": money_expression("datum.credited_value", currency), "as": "value_text"},
            # Stack in the page's channel order, as every other chart lists channels.
            {
                "calculate": f"indexof({json.dumps(list(colors.order))}, datum.channel)",
                "as": "channel_rank",
            },
        ],
        "mark": {"type": "bar", "stroke": "white", "strokeWidth": 0.5},
        "encoding": {
            "x": {
                "field": "period",
                "type": "ordinal",
                "scale": {"domain": periods},
                "axis": {"title": None, "labelAngle": -45 if len(periods) > 12 else 0},
            },
            "y": {
                "field": "credited_value",
                "type": "quantitative",
                "stack": "zero",
                "axis": _money_axis("credited pipeline", currency),
            },
            "color": {
                "field": "channel",
                "type": "nominal",
                "scale": colors.scale(),
                "sort": list(colors.order),
                "legend": legend,
            },
            "order": {"field": "channel_rank", "type": "quantitative"},
            "tooltip": [
                {"field": "period", "title": "period"},
                {"field": "channel", "title": "channel"},
                {"field": "value_text", "title": "credited pipeline"},
            ],
        },
    }


def top_paths_spec(data: ReportData) -> Spec:
    """The most common converting paths, in the order given."""
    frame = data.top_paths
    assert frame is not None
    order = ordered(frame["path"])
    label = (
        'format(datum.conversions, ",") + " of " + format(datum.journeys, ",") + " · " + '
        'format(datum.conversion_rate, ".1%")'
    )
    return {
        **_base(frame, "top_paths"),
        "title": {
            "text": "Top converting paths",
            "subtitle": "conversions of the journeys on each path, and its conversion rate",
        },
        "width": 260,
        "height": {"step": 20},
        "transform": [{"calculate": label, "as": "label"}],
        "encoding": {"y": {"field": "path", "type": "nominal", **_row_axis(order, limit=380)}},
        "layer": [
            {
                "mark": {
                    "type": "bar",
                    "height": {"band": 0.7},
                    "cornerRadiusEnd": 2,
                    "color": NEUTRAL_BAR,
                },
                "encoding": {
                    "x": {
                        "field": "conversions",
                        "type": "quantitative",
                        "axis": {"title": "conversions", "format": ",~r"},
                    },
                    "tooltip": [
                        {"field": "path", "title": "path"},
                        {"field": "label", "title": "conversions of journeys, rate"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "align": "left", "dx": 5, "color": MUTED},
                "encoding": {
                    "x": {"field": "conversions", "type": "quantitative"},
                    "text": {"field": "label"},
                },
            },
        ],
    }


def removal_effects_spec(data: ReportData, colors: ChannelColors) -> Spec:
    """Markov removal effects per channel, largest first."""
    frame = data.removal_effects
    assert frame is not None
    order = ordered(frame.sort_values("removal_effect", ascending=False, kind="stable")["channel"])
    return {
        **_base(frame, "removal_effects"),
        "title": {
            "text": "Markov removal effects",
            "subtitle": "share of conversions lost if the channel were removed",
        },
        "width": 260,
        "height": {"step": ROW_STEP},
        "transform": [{"calculate": 'format(datum.removal_effect, ".1%")', "as": "label"}],
        "encoding": {"y": {"field": "channel", "type": "nominal", **_row_axis(order)}},
        "layer": [
            {
                "mark": {"type": "bar", "height": {"band": 0.72}, "cornerRadiusEnd": 2},
                "encoding": {
                    "x": {
                        "field": "removal_effect",
                        "type": "quantitative",
                        "axis": {"title": "removal effect", "format": ".0%", "tickCount": 5},
                    },
                    "color": {
                        "field": "channel",
                        "type": "nominal",
                        "scale": colors.scale(),
                        "legend": None,
                    },
                    "tooltip": [
                        {"field": "channel", "title": "channel"},
                        {"field": "label", "title": "removal effect"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "align": "left", "dx": 5, "color": MUTED},
                "encoding": {
                    "x": {"field": "removal_effect", "type": "quantitative"},
                    "text": {"field": "label"},
                },
            },
        ],
    }
