"""The terminal view of a run: compact tables of credited shares that fit the terminal.

Per roll-up dimension, one table: the group, the recommended model's credited pipeline,
then each model's share of the pipeline in percent, rows sorted by the recommended model,
the untouched group ``(no touch)`` and a TOTAL row last. By default a short list of
models is shown (:data:`COMPACT_MODELS` that ran, the recommended one first); ``wide``
shows every model (those of the compact view first, so it never shows fewer). The
combination of several dimensions (channel x team) is shown only when it adds
information: when it has more groups than any one dimension has.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from attribution.cli.tables import Column, money, percent, render
from attribution.journeys import NO_TOUCH_LABEL

COMPACT_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "w_shaped", "markov")
MAX_COMBINED_ROWS = 60


def shown_models(models: Sequence[str], recommended: str, wide: bool) -> list[str]:
    """The models a view shows, the recommended one first. ``wide`` shows the compact
    view's models first and then every other one: a terminal too narrow for them all
    drops the rightmost columns, so the wide view never shows fewer models than the
    compact one."""
    compact = [m for m in models if m in COMPACT_MODELS or m == recommended] or list(models)
    chosen = compact + [m for m in models if m not in compact] if wide else compact
    if recommended in chosen:
        chosen.remove(recommended)
        chosen.insert(0, recommended)
    return chosen


def credit_table(
    credits: pd.DataFrame,
    by: tuple[str, ...],
    models: Sequence[str],
    recommended: str,
    width: int,
) -> str:
    """One dimension's (or combination's) table of shares, within ``width``."""
    values = credits.pivot_table(
        index=list(by), columns="model", values="credited_value", aggfunc="sum", sort=False
    )
    shares = credits.pivot_table(
        index=list(by), columns="model", values="share", aggfunc="sum", sort=False
    )
    bounds = None
    if "share_low" in credits.columns:
        bounds = {
            side: credits.pivot_table(
                index=list(by), columns="model", values=f"share_{side}", aggfunc="sum", sort=False
            )
            for side in ("low", "high")
        }
    lead = recommended if recommended in values.columns else models[0]
    touched = np.ones(len(values), bool)
    for level in range(values.index.nlevels):
        touched &= np.asarray(values.index.get_level_values(level) != NO_TOUCH_LABEL)
    order = values[touched].sort_values(lead, ascending=False, kind="stable").index
    order = order.append(values.index[~touched])
    columns = [Column(" x ".join(by), align="left", shrink=True, minimum=16)]
    columns.append(Column("pipeline"))
    columns += [Column(m, minimum=6) for m in models]
    rows = []
    for key in order:
        label = " / ".join(key) if isinstance(key, tuple) else str(key)
        row = [label, money(values.at[key, lead])]
        row += [_share(shares, bounds, key, m) for m in models]
        rows.append(row)
    totals = ["TOTAL", money(values[lead].sum())]
    totals += [percent(shares[m].sum()) if m in shares.columns else "—" for m in models]
    rows.append(totals)
    return render(columns, rows, width, rule=len(rows) - 1)


def _share(
    shares: pd.DataFrame,
    bounds: dict[str, pd.DataFrame] | None,
    key: object,
    model: str,
) -> str:
    """``12.3%``, or with a bootstrap interval ``12.3% (10.9–13.8)``."""
    if model not in shares.columns:
        return "—"
    text = percent(shares.at[key, model])
    if bounds is None or model not in bounds["low"].columns:
        return text
    low = float(bounds["low"].at[key, model])  # type: ignore[arg-type]
    high = float(bounds["high"].at[key, model])  # type: ignore[arg-type]
    if np.isnan(low) or np.isnan(high):
        return text
    return f"{text} ({100 * low:.1f}–{100 * high:.1f})"


def adds_information(rollups: dict[tuple[str, ...], pd.DataFrame], by: tuple[str, ...]) -> bool:
    """Whether the combination of ``by`` has more groups than any one dimension."""
    combined = rollups[by].drop_duplicates(list(by)).shape[0]
    return combined > max(rollups[(d,)].drop_duplicates([d]).shape[0] for d in by)


def credit_report(
    rollups: dict[tuple[str, ...], pd.DataFrame],
    by: tuple[str, ...],
    *,
    recommended: str,
    width: int,
    wide: bool = False,
) -> str:
    """Every dimension's table (and the combination's when it adds information)."""
    if all(frame.empty for frame in rollups.values()):
        return (
            "Nothing was credited: no model ran, or no touch is in the credit window "
            "(see the reconciliation)."
        )
    any_frame = next(frame for frame in rollups.values() if not frame.empty)
    models = shown_models(list(dict.fromkeys(any_frame["model"])), recommended, wide)
    hidden = len(dict.fromkeys(any_frame["model"])) - len(models)
    sections = []
    singles = [(d,) for d in by] if len(by) > 1 else [by]
    for dims in singles:
        title = f"Share of pipeline by {dims[0]} (%); pipeline and order: {models[0]}"
        sections.append(f"{title}\n{credit_table(rollups[dims], dims, models, recommended, width)}")
    if len(by) > 1 and adds_information(rollups, by):
        groups = rollups[by].drop_duplicates(list(by)).shape[0]
        title = f"Share of pipeline by {' x '.join(by)} (%); pipeline and order: {models[0]}"
        if groups <= MAX_COMBINED_ROWS:
            table = credit_table(rollups[by], by, models, recommended, width)
            sections.append(f"{title}\n{table}")
        else:
            sections.append(f"{title}: {groups} groups; write them with --out FILE")
    if hidden:
        sections.append(
            f"({hidden} more model{'s' if hidden > 1 else ''}: --wide shows every model)"
        )
    return "\n\n".join(sections)
