"""The terminal view of ``compare``: tables that fit the terminal, intervals in the cells.

With a truth, the error table comes first: one row per model, best (lowest share error)
first, each number with its bootstrap interval when there is one, ``0.175 (0.170–0.200)``.
Then the channel shares (the truth first, channels by true share), the credited value,
and the models' agreement: within the width, label columns are shortened and the
rightmost columns dropped with a line saying so (:func:`attribution.cli.tables.render`),
as in ``run``'s view; ``--out FILE`` writes every column. With a truth, models appear in
the order of their error, so a narrow terminal drops the worst ones; notes are wrapped.
"""

from __future__ import annotations

from collections.abc import Callable
from textwrap import fill

import numpy as np
import pandas as pd

from attribution.cli.tables import EM_DASH, Column, money, render, shorten
from attribution.compare import Comparison


def _number(digits: int) -> Callable[[object], str]:
    def format_(value: object) -> str:
        number = float(value)  # type: ignore[arg-type]
        return EM_DASH if np.isnan(number) else f"{number:.{digits}f}"

    return format_


def with_interval(value: object, low: object, high: object, fmt: Callable[[object], str]) -> str:
    """``value (low–high)``, or ``value`` alone when the interval is undefined."""
    text = fmt(value)
    bounds = [float(b) for b in (low, high)]  # type: ignore[arg-type]
    if any(np.isnan(b) for b in bounds) or text == EM_DASH:
        return text
    return f"{text} ({fmt(bounds[0])}–{fmt(bounds[1])})"


def _percent(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return EM_DASH if np.isnan(number) else f"{100 * number:.1f}"


def _matrix(
    matrix: pd.DataFrame, label: str, fmt: Callable[[object], str], width: int, total: bool
) -> str:
    columns = [Column(label, align="left", shrink=True, minimum=12)]
    columns += [Column(str(c), minimum=6) for c in matrix.columns]
    rows = [
        [str(index)] + [fmt(v) for v in row]
        for index, row in zip(matrix.index, matrix.values, strict=True)
    ]
    rule = -1
    if total:
        rule = len(rows)
        rows.append(["TOTAL"] + [fmt(v) for v in matrix.sum(axis=0, min_count=1)])
    return render(columns, rows, width, rule=rule)


def error_table(errors: pd.DataFrame, width: int, recommended: str | None = None) -> str:
    """The models' errors against the truth, best first, with intervals; the engine's
    recommended model for the data marked."""
    frame = errors.sort_values("share_error_tvd", kind="stable")
    columns = [
        Column("model", align="left", shrink=True, minimum=12),
        Column("share error (TVD)"),
        Column("rank correlation"),
    ]
    rows = []
    fmt = _number(3)
    for record in frame.to_dict("records"):
        model = str(record["model"])
        cells = [f"{model} (recommended)" if model == recommended else model]
        for name in ("share_error_tvd", "rank_correlation"):
            low, high = record.get(f"{name}_low", np.nan), record.get(f"{name}_high", np.nan)
            cells.append(with_interval(record[name], low, high, fmt))
        rows.append(cells)
    return render(columns, rows, width)


def comparison_report(comparison: Comparison, width: int, recommended: str | None = None) -> str:
    """Every table of the comparison within ``width`` (see the module docstring); with a
    truth, the models in every table are in the order of their error, best first (the
    columns a narrow terminal drops are the worst models')."""
    sections = []
    models = comparison.models
    if comparison.errors is not None:
        ranked = comparison.errors.sort_values("share_error_tvd", kind="stable")["model"]
        models = [m for m in ranked if m in models] + [m for m in models if m not in set(ranked)]
        sections.append(
            (
                "Error against the truth (share error: TVD, lower is better; rank "
                "correlation: higher is better)",
                error_table(comparison.errors, width, recommended),
            )
        )
    shares = comparison.share_matrix()
    shares = shares[[c for c in shares.columns if c not in models] + models]
    sections.append(
        (
            "Share of credited value by channel (%)",
            _matrix(shares, "channel", _percent, width, total=True),
        )
    )
    values = comparison.value_matrix()[models]
    sections.append(
        ("Credited value by channel", _matrix(values, "channel", money, width, total=True))
    )
    if len(models) > 1:
        agreement = comparison.agreement_matrix().loc[models, models]
        sections.append(
            (
                "Agreement between models: total variation distance of channel shares "
                "(0 = identical, 1 = disjoint)",
                _matrix(agreement, "model", _number(2), width, total=False),
            )
        )
    texts = [f"{shorten(title, width)}\n{table}" for title, table in sections]
    if comparison.notes:
        # Notes are prose: wrapped to the width (table cells are shortened instead).
        notes = (fill(f"note: {note}", width, subsequent_indent="  ") for note in comparison.notes)
        texts.append("\n".join(notes))
    return "\n\n".join(texts)
