"""The numbers beside each chart, as tables of formatted cells.

Every cell is one cell of a :class:`~attribution.reporting.data.ReportData` frame,
formatted (see :mod:`attribution.reporting.formatting`) with its exact value as hover text.
The scorecard's inline bars are drawn in proportion to the largest absolute value of
their column within the table (negative values in red): a picture of the column, not a
new number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

from attribution.reporting.colors import ChannelColors, ordered
from attribution.reporting.data import NO_TOUCH, SCORECARD_METRICS, STATUSES, ReportData
from attribution.reporting.formatting import (
    EM_DASH,
    as_float,
    count,
    exact,
    fixed,
    is_null,
    money,
    number,
    percent,
)

Formatter = Callable[[object], str]


@dataclass(frozen=True)
class Cell:
    """One table cell: display text, exact value on hover, optional second line and
    inline bar (a fraction of the cell's width; ``negative`` draws it red)."""

    text: str
    title: str = ""
    numeric: bool = False
    sub: str = ""
    bar: float | None = None
    negative: bool = False
    css: str = ""


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    css: str = ""
    heading: str = ""


@dataclass(frozen=True)
class Table:
    """A table: ``name`` identifies it in the page (``data-table``)."""

    name: str
    caption: str
    headers: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[Row, ...]
    css: str = ""


@dataclass(frozen=True)
class Tile:
    """A headline tile; ``text_value`` when the value is text, not a number."""

    label: str
    text: str
    title: str = ""
    text_value: bool = False


@dataclass(frozen=True)
class Status:
    model: str
    status: str
    css: str


@dataclass(frozen=True)
class Headline:
    tiles: tuple[Tile, ...]
    statuses: tuple[Status, ...] = field(default_factory=tuple)


def label_cell(value: object) -> Cell:
    text = EM_DASH if is_null(value) else str(value)
    return Cell(text, css="no-touch" if text == NO_TOUCH else "")


def number_cell(value: object, formatter: Formatter, sub: str = "") -> Cell:
    return Cell(formatter(value), title=exact(value), numeric=True, sub=sub)


def headline(data: ReportData) -> Headline:
    """Headline tiles in row order, and the model statuses as badges."""
    kinds = data.headline["kind"] if "kind" in data.headline.columns else None
    tiles = []
    for index, (item, value) in enumerate(
        zip(data.headline["item"], data.headline["value"], strict=True)
    ):
        kind = None if kinds is None or is_null(kinds.iloc[index]) else str(kinds.iloc[index])
        text_value = kind == "text" or as_float(value) is None
        tiles.append(
            Tile(str(item), headline_value(value, kind, data.currency), exact(value), text_value)
        )
    css = dict(zip(STATUSES, ("ok", "by-design", "mismatch"), strict=True))
    statuses = tuple(
        Status(str(m), str(s), css[str(s)])
        for m, s in zip(data.statuses["model"], data.statuses["status"], strict=True)
    )
    return Headline(tuple(tiles), statuses)


def headline_value(value: object, kind: str | None, currency: str) -> str:
    if as_float(value) is None or kind == "text":
        return EM_DASH if is_null(value) else str(value)
    formats: dict[str | None, Formatter] = {
        "money": partial(money, currency=currency),
        "count": count,
        "percent": percent,
    }
    return formats.get(kind, number)(value)


def channel_table(data: ReportData, colors: ChannelColors, models: Sequence[str]) -> Table:
    """Credited value and share per channel (rows, in the page order) and model."""
    frame = data.channel_credits
    cells = {(str(r.model), str(r.channel)): r for r in frame.itertuples(index=False)}
    has_interval = {"share_low", "share_high"} <= set(frame.columns)
    rows = []
    for channel in colors.order:
        if not any((m, channel) in cells for m in models):
            continue
        row_cells = [label_cell(channel)]
        for model in models:
            record = cells.get((model, channel))
            if record is None:
                row_cells.append(Cell(EM_DASH, numeric=True))
                continue
            share = percent(record.share)
            if has_interval and not (is_null(record.share_low) or is_null(record.share_high)):
                share += f" ({percent(record.share_low)}–{percent(record.share_high)})"
            row_cells.append(
                number_cell(record.credited_value, partial(money, currency=data.currency), share)
            )
        rows.append(Row(tuple(row_cells), css="no-touch" if channel == NO_TOUCH else ""))
    headers = (
        "channel",
        *(
            f"{m} (recommended)"
            if m == data.recommended_model and not data.recommended_missing
            else m
            for m in models
        ),
    )
    return Table(
        "channel_credits",
        "Credited pipeline and share of pipeline"
        + (" (bootstrap interval)" if has_interval else ""),
        headers,
        (False, *(True for _ in models)),
        tuple(rows),
    )


def simple_table(
    name: str,
    caption: str,
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str, Formatter | None]],
) -> Table:
    """A table of ``frame``'s rows: (column, header, formatter or None for a label)."""
    rows = []
    for record in frame.to_dict("records"):
        cells = tuple(
            label_cell(record[c]) if f is None else number_cell(record[c], f) for c, _, f in columns
        )
        rows.append(Row(cells))
    return Table(
        name,
        caption,
        tuple(h for _, h, _ in columns),
        tuple(f is not None for _, _, f in columns),
        tuple(rows),
    )


def team_table(data: ReportData) -> Table:
    frame = data.team_credits
    assert frame is not None
    cash = partial(money, currency=data.currency)
    return simple_table(
        "team_credits",
        "Pipeline by team",
        frame,
        [
            ("team", "team", None),
            ("sourced", "sourced", cash),
            ("influenced", "influenced", cash),
            ("credited", f"credited ({data.recommended_model})", cash),
        ],
    )


def agreement_table(data: ReportData, order: Sequence[str]) -> Table:
    """The model x model distance matrix."""
    frame = data.agreement
    assert frame is not None
    distance = {
        (str(m), str(o)): t
        for m, o, t in zip(frame["model"], frame["other"], frame["tvd"], strict=True)
    }
    rows = []
    for model in order:
        cells = [label_cell(model)]
        for other in order:
            value = distance.get((model, other))
            cells.append(
                Cell(EM_DASH, numeric=True)
                if value is None
                else number_cell(value, partial(fixed, decimals=3))
            )
        rows.append(Row(tuple(cells)))
    return Table(
        "agreement",
        "Total variation distance between the models' channel shares",
        ("model", *order),
        (False, *(True for _ in order)),
        tuple(rows),
    )


def errors_table(data: ReportData) -> Table:
    frame = data.errors
    assert frame is not None
    return simple_table(
        "errors",
        "Error against the truth, best first",
        best_first(frame),
        [
            ("model", "model", None),
            ("share_error_tvd", "share error (TVD)", partial(fixed, decimals=3)),
            ("rank_correlation", "rank correlation", partial(fixed, decimals=2)),
        ],
    )


def best_first(errors: pd.DataFrame) -> pd.DataFrame:
    """Errors sorted by share error, smallest first (undefined last)."""
    return errors.sort_values("share_error_tvd", kind="stable", na_position="last")


def scorecard_formats(currency: str) -> dict[str, tuple[str, Formatter]]:
    """Header and formatter of the scorecard's known columns."""
    cash = partial(money, currency=currency)
    return {
        "opportunities": ("opportunities", count),
        "pipeline": ("pipeline", cash),
        "win_rate": ("win rate", percent),
        "cycle_days": ("cycle (days)", partial(number, decimals=1)),
        "velocity_per_day": ("velocity / day", cash),
        "cost_per_opportunity": ("cost / opp.", cash),
        "roi": ("ROI", percent),
        "win_rate_value": ("win rate (value)", percent),
        "average_won_deal": ("average won deal", cash),
        "won_value": ("won value", cash),
        "cost": ("cost", cash),
        "won": ("won", count),
        "closed": ("closed", count),
    }


def scorecard_tables(data: ReportData) -> list[tuple[str, list[Table]]]:
    """One table per dimension for each model (recommended model first): the groups'
    metrics with inline bars; further columns of the frame follow the known ones."""
    frame = data.scorecard
    assert frame is not None
    formats = scorecard_formats(data.currency)
    keys = ("model", "dimension", "group")
    extra = [str(c) for c in frame.columns if c not in keys and c not in SCORECARD_METRICS]
    metrics = [*SCORECARD_METRICS, *extra]
    models = ordered(frame["model"])
    if data.recommended_model in models:
        models.remove(data.recommended_model)
        models.insert(0, data.recommended_model)
    result = []
    for model in models:
        of_model = frame[frame["model"].astype(str) == model]
        tables = []
        for dimension in ordered(of_model["dimension"]):
            part = of_model[of_model["dimension"].astype(str) == dimension]
            tables.append(_scorecard_table(model, dimension, part, metrics, formats))
        result.append((model, tables))
    return result


def _scorecard_table(
    model: str,
    dimension: str,
    part: pd.DataFrame,
    metrics: Sequence[str],
    formats: dict[str, tuple[str, Formatter]],
) -> Table:
    numeric = {m: _is_numeric(part[m]) for m in metrics}
    largest = {
        m: max([abs(v) for v in (as_float(x) for x in part[m]) if v is not None] or [0.0])
        for m in metrics
        if numeric[m]
    }
    rows = []
    for record in part.to_dict("records"):
        cells = [label_cell(record["group"])]
        for metric in metrics:
            value = record[metric]
            if not numeric[metric]:
                cells.append(label_cell(value))
                continue
            formatter = formats.get(metric, (metric, number))[1]
            size = as_float(value)
            bar = None if size is None or not largest[metric] else abs(size) / largest[metric]
            cells.append(
                Cell(
                    formatter(value),
                    title=exact(value),
                    numeric=True,
                    bar=bar,
                    negative=size is not None and size < 0,
                )
            )
        rows.append(Row(tuple(cells)))
    headers = [formats.get(m, (m.replace("_", " "), number))[0] for m in metrics]
    return Table(
        f"scorecard:{model}:{dimension}",
        f"By {dimension}: {model}",
        (dimension, *headers),
        (False, *(numeric[m] for m in metrics)),
        tuple(rows),
        css="scorecard",
    )


def _is_numeric(column: pd.Series) -> bool:
    return all(is_null(v) or as_float(v) is not None for v in column)


def trend_table(data: ReportData, colors: ChannelColors) -> Table:
    """Credited pipeline per channel (rows, page order) and period (columns)."""
    frame = data.trend
    assert frame is not None
    periods = ordered(frame["period"])
    value = {
        (str(c), str(p)): v
        for c, p, v in zip(frame["channel"], frame["period"], frame["credited_value"], strict=True)
    }
    present = set(frame["channel"].astype(str))
    cash = partial(money, currency=data.currency)
    rows = []
    for channel in (c for c in colors.order if c in present):
        cells = [label_cell(channel)]
        for period in periods:
            v = value.get((channel, period))
            cells.append(Cell(EM_DASH, numeric=True) if v is None else number_cell(v, cash))
        rows.append(Row(tuple(cells), css="no-touch" if channel == NO_TOUCH else ""))
    return Table(
        "trend",
        "Credited pipeline per channel and period",
        ("channel", *periods),
        (False, *(True for _ in periods)),
        tuple(rows),
    )


def top_paths_table(data: ReportData) -> Table:
    frame = data.top_paths
    assert frame is not None
    return simple_table(
        "top_paths",
        "Top converting paths",
        frame,
        [
            ("path", "path", None),
            ("conversions", "conversions", count),
            ("journeys", "journeys", count),
            ("conversion_rate", "conversion rate", percent),
        ],
    )


def removal_effects_table(data: ReportData) -> Table:
    frame = data.removal_effects
    assert frame is not None
    return simple_table(
        "removal_effects",
        "Markov removal effects",
        frame.sort_values("removal_effect", ascending=False, kind="stable"),
        [("channel", "channel", None), ("removal_effect", "removal effect", percent)],
    )


def reconciliation_table(data: ReportData) -> Table:
    """The full reconciliation, rows in order, a heading row at each new section."""
    rows = []
    section = None
    frame = data.reconciliation
    for record in frame.to_dict("records"):
        if record["section"] != section:
            section = record["section"]
            rows.append(Row((), heading=str(section)))
        text = "" if is_null(record["text"]) else str(record["text"])
        status = {"ok": "ok", "MISMATCH": "mismatch"}.get(text, "")
        rows.append(
            Row(
                (
                    label_cell(record["item"]),
                    Cell("", numeric=True)
                    if is_null(record["value"])
                    else number_cell(record["value"], number),
                    Cell(text, css=f"status {status}" if status else ""),
                )
            )
        )
    return Table(
        "reconciliation",
        "Reconciliation: every input row credited or reported",
        ("item", "value", "text"),
        (False, True, False),
        tuple(rows),
        css="reconciliation",
    )
