"""Number parsing: every text cell read as the plain-Python reference reads it, whether
the whole column is plain decimals (parsed by Arrow in one pass) or not."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.io.parse import NULL_TOKENS, parse_numbers

PLAIN = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(0, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.sampled_from(["-0", "+3", ".5", "5.", "1e5", "0001"]),
)
OTHER = st.sampled_from([" 12", "7 ", "NA", "null", "n/a", "inf", "-inf", "nan", "abc", "1,5"])


def reference(cell: str | None) -> tuple[float, bool, bool]:
    """(value, null, invalid) of one cell, in plain Python."""
    if cell is None or cell.strip().lower() in NULL_TOKENS:
        return math.nan, True, False
    try:
        value = float(cell.strip())
    except ValueError:
        return math.nan, False, True
    return (value + 0.0, False, False) if math.isfinite(value) else (math.nan, False, True)


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(st.one_of(PLAIN, PLAIN, OTHER, st.none()), min_size=1, max_size=30))
def test_text_numbers_read_as_the_reference(cells: list[str | None]) -> None:
    parsed = parse_numbers(pa.array(cells, pa.string()))
    expected = [reference(c) for c in cells]
    assert parsed.null.tolist() == [e[1] for e in expected]
    assert parsed.invalid.tolist() == [e[2] for e in expected]
    usable = ~parsed.null & ~parsed.invalid
    want = np.array([e[0] for e in expected])
    assert parsed.values[usable].tolist() == want[usable].tolist()
    # -0 reads as 0 whichever path parsed it.
    assert not np.signbit(parsed.values[usable & (parsed.values == 0)]).any()
