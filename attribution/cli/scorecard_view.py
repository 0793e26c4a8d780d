"""The terminal view of a scorecard: per dimension and model, a table that fits."""

from __future__ import annotations

import pandas as pd

from attribution.cli.tables import Column, count, days, money, percent, ratio, render

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


def scorecard_report(table: pd.DataFrame, *, width: int) -> str:
    """Every dimension's scorecard, model by model (``table``: the stacked scorecards).
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
            lines.append(label + [fmt(record[name]) for name, _, fmt in SHOWN])
        title = f"Scorecard by {dimension}: {model}"
        sections.append(f"{title}\n{render(columns, lines, width)}")
    return "\n\n".join(sections)
