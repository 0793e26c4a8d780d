"""Readable terminal tables of credited value."""

from __future__ import annotations

import pandas as pd

MAX_COMBINED_ROWS = 60


def credit_table(credits: pd.DataFrame, by: tuple[str, ...]) -> str:
    """Credited value with one row per group and one column per model, and a total row."""
    pivot = credits.pivot_table(
        index=list(by), columns="model", values="credited_value", aggfunc="sum", sort=False
    )
    pivot = pivot[list(dict.fromkeys(credits["model"]))]
    first = pivot.columns[0]
    pivot = pivot.sort_values(first, ascending=False, kind="stable")
    total = pd.DataFrame([pivot.sum()], index=_total_index(by))
    table = pd.concat([pivot, total])
    decimals = 0 if table.abs().max().max() >= 1000 else 2
    formatted = table.map(lambda v: f"{v:,.{decimals}f}")
    formatted.columns.name = None
    return formatted.to_string()


def _total_index(by: tuple[str, ...]) -> pd.Index:
    if len(by) == 1:
        return pd.Index(["TOTAL"], name=by[0])
    return pd.MultiIndex.from_tuples([("TOTAL",) + ("",) * (len(by) - 1)], names=list(by))


def credit_report(rollups: dict[tuple[str, ...], pd.DataFrame], by: tuple[str, ...]) -> str:
    """Credited value per single dimension of ``by``, then per combination if small."""
    if all(frame.empty for frame in rollups.values()):
        return (
            "Nothing was credited: no model ran, or no touch is in the credit window "
            "(see the reconciliation)."
        )
    sections = []
    for dimension in by:
        frame = rollups[(dimension,)]
        sections.append(f"Credited value by {dimension}\n{credit_table(frame, (dimension,))}")
    if len(by) > 1:
        frame = rollups[by]
        groups = frame.drop_duplicates(list(by)).shape[0]
        title = f"Credited value by {' x '.join(by)}"
        if groups <= MAX_COMBINED_ROWS:
            sections.append(f"{title}\n{credit_table(frame, by)}")
        else:
            sections.append(f"{title}: {groups} groups; write them with --out FILE")
    return "\n\n".join(sections)
