"""The terminal view of a scorecard: per dimension and model, a table that fits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from attribution.cli.tables import EM_DASH, Column, count, days, money, percent, ratio, render

#: (column, title, formatter), in the order they are dropped last to first.
SHOWN = (
    ("opportunities", "opps", count),
    ("pipeline", "pipeline", money),
    ("win_rate", "win rate", percent),
    ("cycle_days", "cycle d", days),
    ("velocity_per_day", "velocity/d", money),
    ("average_won_deal", "avg won", money),
    ("cost", "cost", money),
    ("cost_per_opportunity", "cost/opp", money),
    ("roi", "ROI", ratio),
    ("days_to_opportunity", "to opp d", days),
)


def short_money(value: object) -> str:
    """``18.1M``, ``540k``, ``12.50``: money in at most a few characters."""
    number = float(value)  # type: ignore[arg-type]
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= size:
            scaled = number / size
            return f"{scaled:.1f}{suffix}" if abs(scaled) < 100 else f"{scaled:.0f}{suffix}"
    return f"{number:.0f}" if abs(number) >= 10 or number == 0 else f"{number:.2f}"


def _bound(fmt: Callable[[object], str]) -> Callable[[object], str]:
    """How an interval's bounds show: percentages without the sign, money short."""
    if fmt is percent:
        return lambda v: f"{100 * float(v):.1f}"  # type: ignore[arg-type]
    return short_money if fmt is money else fmt


def _cell(record: dict[str, Any], name: str, fmt: Callable[[object], str]) -> str:
    """The value, with its bootstrap interval when it has one: ``26.2% (24.0–28.1)``,
    ``18.1M (15.6M–19.4M)`` (the bounds of money in short form, as is the value)."""
    low, high = record.get(f"{name}_low"), record.get(f"{name}_high")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return fmt(record[name])
    text = (short_money if fmt is money else fmt)(record[name])
    if text == EM_DASH:
        return text
    bound = _bound(fmt)
    return f"{text} ({bound(low)}–{bound(high)})"


def scorecard_report(table: pd.DataFrame, *, width: int) -> str:
    """Every dimension's scorecard, model by model (``table``: the stacked scorecards),
    each number with its bootstrap interval when the run has one.
    Rows with nothing to show (no opportunity, lead or cost) are left out here; the
    written scorecard has them all."""
    if table.empty:
        return "No scorecard: no model credited anything (see the reconciliation)."
    sections = []
    with_period = "period" in table.columns
    numbers = [c for c in ("opportunities", "leads", "cost") if c in table.columns]
    shown = table[table[numbers].fillna(0).ne(0).any(axis=1)]
    for (dimension, model), rows in shown.groupby(["dimension", "model"], sort=False):
        columns = [Column(dimension, "left", True, 16)]
        if with_period:
            columns.append(Column("period", "left"))
        columns += [Column(title, minimum=6) for _, title, _ in SHOWN]
        lines = []
        for row in rows.itertuples(index=False):
            record = row._asdict()
            label = [str(row.group)] + ([str(record["period"])] if with_period else [])
            lines.append(label + [_cell(record, name, fmt) for name, _, fmt in SHOWN])
        title = f"Scorecard by {dimension}: {model}"
        sections.append(f"{title}\n{render(columns, lines, width)}")
    return "\n\n".join(sections)
