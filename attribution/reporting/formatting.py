"""Numbers as the page prints them, in the tables (Python) and on the charts (Vega).

Every formatter shows null (an undefined ratio, a missing interval) as an em dash, and
negative numbers with a minus sign (U+2212, as the charts' d3-format does). The exact
value of every table cell is kept in its ``title`` (shown on hover), so rounding for
display never hides a number.

- money: the currency before the amount, thousands separators, whole units from 100 up
  and cents below (``$1,234,567``, ``$12.50``);
- counts: whole numbers with separators, one decimal when fractional (the weighted
  opportunities of a fractional model);
- percentages: one decimal (``12.3%``), two significant digits when that would show 0
  for a value that is not 0 (``0.042%``);
- other numbers: whole numbers as such, else one decimal from 100 up and two below,
  scientific when that would show 0 for a value that is not 0 (``−1.5e-08``, a
  reconciliation difference).
"""

from __future__ import annotations

import json
import math
from numbers import Real

EM_DASH = "—"
MINUS = "−"


def is_null(value: object) -> bool:
    """Whether ``value`` is missing: ``None``, NaN, ``pd.NA`` or ``NaT``."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA (raises), NaT
    except TypeError:
        return True


def as_float(value: object) -> float | None:
    """``value`` as a float, or ``None`` when null or not a number."""
    if isinstance(value, bool) or not isinstance(value, Real) or is_null(value):
        return None
    return float(value)


def _signed(value: float, digits: str, prefix: str = "", suffix: str = "") -> str:
    """``digits`` (of ``abs(value)``) with the sign of ``value``, unless they show 0."""
    sign = MINUS if value < 0 and digits.strip("0.,") else ""
    return f"{sign}{prefix}{digits}{suffix}"


def money(value: object, currency: str) -> str:
    """``$1,234,567`` from 100 up, ``$12.50`` below; em dash when null."""
    number = as_float(value)
    if number is None:
        return EM_DASH
    size = abs(number)
    digits = f"{size:,.0f}" if size >= 100 else f"{size:,.2f}"
    return _signed(number, digits, prefix=currency)


def count(value: object) -> str:
    """``12,345``, or ``12,345.5`` when fractional; em dash when null."""
    number = as_float(value)
    if number is None:
        return EM_DASH
    text = f"{abs(number):,.0f}" if number == round(number) else f"{abs(number):,.1f}"
    return _signed(number, text)


def percent(value: object, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.1234`` is ``12.3%``; em dash when null."""
    number = as_float(value)
    if number is None:
        return EM_DASH
    size = abs(number) * 100
    text = f"{size:,.{decimals}f}"
    if size and not text.strip("0.,"):
        text = f"{size:.2g}"
    return _signed(number, text, suffix="%")


def number(value: object, decimals: int = 2) -> str:
    """``1,234``; ``1,234.5`` from 100 up, ``12.34`` below, ``1.5e-08`` for tiny values."""
    value_float = as_float(value)
    if value_float is None:
        return EM_DASH
    size = abs(value_float)
    if size == round(size):
        text = f"{size:,.0f}"
    elif size >= 100:
        text = f"{size:,.{min(decimals, 1)}f}"
    else:
        text = f"{size:.{decimals}f}"
        if size and not text.strip("0."):
            text = f"{size:.2g}"
    return _signed(value_float, text)


def fixed(value: object, decimals: int) -> str:
    """A number with exactly ``decimals`` decimals (distances, correlations)."""
    number_float = as_float(value)
    if number_float is None:
        return EM_DASH
    return _signed(number_float, f"{abs(number_float):,.{decimals}f}")


def exact(value: object) -> str:
    """The exact value, for a cell's hover text: the shortest repr that round-trips."""
    number_float = as_float(value)
    if number_float is None:
        return "" if is_null(value) else str(value)
    if math.isfinite(number_float) and number_float == int(number_float):
        return f"{int(number_float):,}"
    return repr(number_float)


def money_expression(field: str, currency: str) -> str:
    """A Vega expression printing ``field`` as compact money: ``$1.23M``, ``$950k``.

    Below 1,000 it prints up to two decimals (no SI milli prefix for small counts);
    billions are ``B``, not SI's ``G``.
    """
    size = f"abs({field})"
    digits = (
        f'({size} >= 1000 ? replace(format({size}, ".3~s"), "G", "B") : format({size}, ",.2~f"))'
    )
    return f'({field} < 0 ? "{MINUS}" : "") + {json.dumps(currency)} + {digits}'
