"""Plain-text tables that fit the terminal.

A table is a list of columns (a title, an alignment, whether it may be shortened) and
rows of already formatted cells. When the natural width exceeds the terminal's, label
columns are shortened with an ellipsis (never wrapped) down to a minimum, then the
rightmost columns are dropped and a line says how many were left out. Numbers are
formatted here too: money with thousands separators, rates as percentages, days with one
decimal, and an em dash for a value that is undefined.

A hundred lines of our own rather than a table library (rich, tabulate): the output
must stay within an exact width on every terminal and in logs, and the engine's
dependencies stay the numerical ones.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

EM_DASH = "—"
ELLIPSIS = "…"
GAP = "  "
DEFAULT_WIDTH = 100


def terminal_width() -> int:
    """The terminal's width; 100 columns when output is not a terminal."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


@dataclass(frozen=True)
class Column:
    title: str
    align: str = "right"
    shrink: bool = False
    minimum: int = 8


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: object) -> str:
    """``1,234,567`` from 100 up, ``12.50`` below."""
    if _missing(value):
        return EM_DASH
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if abs(number) >= 100 or number == 0 else f"{number:,.2f}"


def count(value: object) -> str:
    if _missing(value):
        return EM_DASH
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if number == round(number) else f"{number:,.1f}"


def percent(value: object) -> str:
    if _missing(value):
        return EM_DASH
    return f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def days(value: object) -> str:
    if _missing(value):
        return EM_DASH
    return f"{float(value):,.1f}"  # type: ignore[arg-type]


def ratio(value: object) -> str:
    if _missing(value):
        return EM_DASH
    return f"{float(value):,.2f}"  # type: ignore[arg-type]


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def render(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, *, rule: int = -1
) -> str:
    """The table within ``width`` characters (see the module docstring). ``rule``: draw
    a line above the row of that index (the total row), -1 for none."""
    natural = [max([len(c.title)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    widths = list(natural)

    def total(ws: Sequence[int]) -> int:
        return sum(ws) + len(GAP) * (len(ws) - 1)

    for i, column in enumerate(columns):
        if total(widths) <= width:
            break
        if column.shrink:
            widths[i] = max(column.minimum, widths[i] - (total(widths) - width))
    shown = len(columns)
    while shown > 1 and total(widths[:shown]) > width:
        shown -= 1
    lines = [_line([c.title for c in columns[:shown]], columns, widths)]
    for index, row in enumerate(rows):
        if index == rule:
            lines.append("-" * total(widths[:shown]))
        lines.append(_line(row[:shown], columns, widths))
    if shown < len(columns):
        left = len(columns) - shown
        lines.append(
            shorten(
                f"(+{left} column{'s' if left > 1 else ''}: a wider terminal, or --out FILE)", width
            )
        )
    return "\n".join(line.rstrip() for line in lines)


def _line(cells: Sequence[str], columns: Sequence[Column], widths: Sequence[int]) -> str:
    parts = []
    for cell, column, width in zip(cells, columns, widths, strict=False):
        text = shorten(cell, width)
        parts.append(text.ljust(width) if column.align == "left" else text.rjust(width))
    return GAP.join(parts)
