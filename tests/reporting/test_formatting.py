"""Numbers as the page prints them: exact expected text, and invariants."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.reporting.formatting import (
    count,
    exact,
    fixed,
    is_null,
    money,
    number,
    percent,
)
from attribution.reporting.render import script_json

NULLS = [None, float("nan"), np.nan, pd.NA, pd.NaT]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (67_851_640.0, "$67,851,640"),
        (100.0, "$100"),
        (99.5, "$99.50"),
        (12.345, "$12.35"),
        (-1234.4, "−$1,234"),
        (-0.001, "$0.00"),
        (0, "$0.00"),
        (np.int64(5), "$5.00"),
    ],
)
def test_money(value: object, expected: str) -> None:
    assert money(value, "$") == expected


def test_money_in_another_currency_or_none() -> None:
    assert money(1500, "€") == "€1,500"
    assert money(1500, "") == "1,500"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1469, "1,469"), (1469.0, "1,469"), (379.04, "379.0"), (12.25, "12.2"), (-3, "−3")],
)
def test_count(value: object, expected: str) -> None:
    assert count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1234, "12.3%"),
        (1.0, "100.0%"),
        (0.00042, "0.042%"),
        (0.0, "0.0%"),
        (-0.05, "−5.0%"),
        (3.469, "346.9%"),
    ],
)
def test_percent(value: float, expected: str) -> None:
    assert percent(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (60_625.0, "60,625"),
        (0.0, "0"),
        (88, "88"),
        (1462.9999999999995, "1,463.0"),
        (12.345, "12.35"),
        (-1.4901161193847656e-08, "−1.5e-08"),
    ],
)
def test_number(value: object, expected: str) -> None:
    assert number(value) == expected


def test_fixed() -> None:
    assert fixed(0.12345, 3) == "0.123"
    assert fixed(-0.5, 2) == "−0.50"


@pytest.mark.parametrize("null", NULLS)
def test_every_formatter_shows_null_as_an_em_dash(null: object) -> None:
    assert is_null(null)
    for text in (money(null, "$"), count(null), percent(null), number(null), fixed(null, 2)):
        assert text == "—"
    assert exact(null) == ""


def test_exact_keeps_every_digit() -> None:
    assert exact(1462.9999999999995) == "1462.9999999999995"
    assert exact(60_625.0) == "60,625"
    assert exact("2026-Q3") == "2026-Q3"


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False))
def test_money_shows_the_amount_to_the_cent_or_the_unit(value: float) -> None:
    text = money(value, "$")
    digits = text.replace("−", "-").replace("$", "").replace(",", "")
    tolerance = 0.5 if abs(value) >= 100 else 0.005
    assert abs(float(digits) - value) <= tolerance + 1e-9 * abs(value)
    assert text.startswith("−$") == (float(digits) < 0)


@given(st.floats(min_value=-10, max_value=10, allow_nan=False))
def test_percent_is_a_hundred_times_the_fraction(value: float) -> None:
    text = percent(value)
    assert text.endswith("%")
    shown = float(text[:-1].replace("−", "-").replace(",", ""))
    assert math.isclose(shown, 100 * value, abs_tol=0.05, rel_tol=0.05)


@given(st.text())
def test_script_json_round_trips_and_cannot_close_a_script(text: str) -> None:
    value = {"channel": text, "nested": [text, 1.5, None]}
    encoded = script_json(value)
    assert json.loads(encoded) == value
    for character in "<>&\u2028\u2029":
        assert character not in encoded


def test_script_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        script_json({"share": float("nan")})
