"""Period codes and distinct months (:mod:`attribution.periods`) against plain Python."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from attribution.journeys import MISSING_LABEL
from attribution.kernels.segments import NO_TIME
from attribution.periods import _distinct, _keys, period_codes


def _nanos(text: str) -> int:
    return int(np.datetime64(text, "ns").astype(np.int64))


#: The first and last times the engine reads (years 1678 to 2261, UTC).
FIRST = _nanos("1678-01-01")
LAST = _nanos("2261-12-31T23:59:59")


def _label(time: int, period: str) -> str:
    """A time's period label, by the calendar."""
    if time == NO_TIME:
        return MISSING_LABEL
    day = np.datetime64(time, "ns").astype("datetime64[D]").item()
    assert isinstance(day, dt.date)
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def _times(seed: int, n: int, span: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    times = rng.integers(span[0], span[1], n, dtype=np.int64)
    times[rng.random(n) < 0.2] = NO_TIME
    return times


CASES = [
    (1, 500, (FIRST, LAST)),
    (2, 500, (_nanos("2025-11-20"), _nanos("2026-04-10"))),
    (3, 1, (FIRST, FIRST + 1)),
    (4, 0, (FIRST, LAST)),
]


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
@pytest.mark.parametrize(("seed", "n", "span"), CASES)
def test_period_codes_match_calendar_labels(
    period: str, seed: int, n: int, span: tuple[int, int]
) -> None:
    times = _times(seed, n, span)
    times[: min(n, 2)] = [LAST, FIRST][: min(n, 2)]
    labels = [_label(int(t), period) for t in times]
    names = tuple(sorted(set(labels) | {MISSING_LABEL, "2300-01"}))
    codes = period_codes(times, period, names)  # type: ignore[arg-type]
    assert codes.dtype == np.int32
    assert [names[c] for c in codes] == labels


def test_period_codes_name_a_period_outside_the_coding() -> None:
    times = np.array([NO_TIME, int(np.datetime64("2026-07-01", "ns").astype(np.int64))])
    with pytest.raises(KeyError):
        period_codes(times, "quarter", (MISSING_LABEL, "2026-Q2"))


@pytest.mark.parametrize(("seed", "n", "span"), CASES)
def test_distinct_months_are_the_sorted_set(seed: int, n: int, span: tuple[int, int]) -> None:
    keys = _keys(_times(seed, n, span), "month")
    assert _distinct(keys).tolist() == sorted({int(k) for k in keys})
    assert _distinct(keys).dtype == np.int64
