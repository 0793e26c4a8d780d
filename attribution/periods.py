"""Reporting periods: each journey's cohort date as a month, quarter or year (UTC).

Pipeline is usually reported by the quarter its opportunity was created, revenue by the
quarter it closed. The cohort date of a journey is one of its milestones
(``opportunity_created_at``, ``converted_at``, ``closed_at``) or its first touch; the
period labels are ``2026-07`` (month), ``2026-Q3`` (quarter) and ``2026`` (year), and a
journey without the cohort date is in period ``(none)``. Labels sort in time order.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from attribution.errors import ParameterError
from attribution.journeys import MISSING_LABEL, TIME_FIELDS, Journeys
from attribution.kernels.segments import NO_TIME

Period = Literal["month", "quarter", "year"]
Cohort = Literal["opportunity_created_at", "converted_at", "closed_at", "first_touch"]
PERIODS: tuple[str, ...] = get_args(Period)
COHORTS: tuple[str, ...] = get_args(Cohort)
#: The dimension name of the period.
PERIOD_DIMENSION = "period"


def check_period(period: str | None, cohort: str | None) -> None:
    if period is not None and period not in PERIODS:
        raise ParameterError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    if cohort is not None and cohort not in COHORTS:
        raise ParameterError(f"cohort must be one of {', '.join(COHORTS)}, not {cohort!r}")


def default_cohort(has_opportunity_dates: bool, has_conversion_dates: bool) -> Cohort:
    """``opportunity_created_at`` when the data has it, else ``converted_at``, else the
    first touch."""
    if has_opportunity_dates:
        return "opportunity_created_at"
    if has_conversion_dates:
        return "converted_at"
    return "first_touch"


def months_of(journeys: Journeys) -> np.ndarray:
    """The distinct months (since 1970; the smallest int64 for "unknown") of every time
    a period can be taken from: milestones, touches, first touches."""
    times = [getattr(journeys, name) for name in TIME_FIELDS]
    if journeys.has_times:
        times.append(journeys.timestamp)
    months = [_distinct(_keys(t, "month")) for t in times]
    months.append(np.array([np.iinfo(np.int64).min]))
    return np.unique(np.concatenate(months))


def period_names(months: np.ndarray, period: Period) -> tuple[str, ...]:
    """The period labels of a set of months, sorted (``(none)`` first)."""
    unknown = months == np.iinfo(np.int64).min
    divisor = {"month": 1, "quarter": 3, "year": 12}[period]
    keys = np.unique(months[~unknown] // divisor)
    return (MISSING_LABEL, *(_label(int(k), period) for k in keys))


def cohort_times(journeys: Journeys, cohort: Cohort) -> np.ndarray:
    """Each journey's cohort date (int64 ns, ``NO_TIME`` when unknown)."""
    if cohort == "first_touch":
        if not journeys.has_times:
            raise ParameterError("the first-touch cohort needs touch timestamps; paths have none")
        first = np.full(journeys.n_journeys, NO_TIME, np.int64)
        touched = journeys.lengths > 0
        first[touched] = journeys.timestamp[journeys.offsets[:-1][touched]]
        return first
    return np.asarray(getattr(journeys, cohort))


def _keys(times: np.ndarray, period: str) -> np.ndarray:
    """The period number of each time (months, quarters or years since 1970; the
    smallest int64 where the time is unknown)."""
    known = times != NO_TIME
    months = np.zeros(len(times), np.int64)
    months[known] = times[known].astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    divisor = {"month": 1, "quarter": 3, "year": 12}[period]
    return np.where(known, months // divisor, np.iinfo(np.int64).min)


def _slots(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each period number's slot in a dense table of the numbers present (slot 0: the
    unknown time, slot ``1 + k - k_min`` for period number ``k``), and the period number
    of each slot. Times are int64 nanoseconds, years 1678 to 2261, so there are at most
    about 7,000 months: a table and a count replace sorting the times (``np.unique``)."""
    known = keys != np.iinfo(np.int64).min
    low = int(keys[known].min()) if known.any() else 0
    high = int(keys[known].max()) if known.any() else -1
    slots = np.where(known, keys, low - 1) - (low - 1)
    numbers = np.concatenate(([np.iinfo(np.int64).min], np.arange(low, high + 1, dtype=np.int64)))
    return slots, numbers


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The sorted distinct period numbers of ``keys`` (``np.unique``, by counting)."""
    slots, numbers = _slots(keys)
    return numbers[np.bincount(slots, minlength=len(numbers)) > 0]


def period_codes(times: np.ndarray, period: Period, names: tuple[str, ...]) -> np.ndarray:
    """Codes of ``times`` in an existing period coding (every period must be in it)."""
    index = {name: code for code, name in enumerate(names)}
    slots, numbers = _slots(_keys(times, period))
    present = np.flatnonzero(np.bincount(slots, minlength=len(numbers)))
    remap = np.zeros(len(numbers), np.int32)
    remap[present] = [index[_label(int(k), period)] for k in numbers[present]]
    return remap[slots]


#: The form of a period label (a costs file's ``period`` column must have it).
PERIOD_FORMS: dict[str, tuple[str, str]] = {
    "month": (r"\d{4}-(0[1-9]|1[0-2])", "2026-07"),
    "quarter": (r"\d{4}-Q[1-4]", "2026-Q3"),
    "year": (r"\d{4}", "2026"),
}


def _label(key: int, period: str) -> str:
    if key == np.iinfo(np.int64).min:
        return MISSING_LABEL
    if period == "month":
        return f"{1970 + key // 12:04d}-{key % 12 + 1:02d}"
    if period == "quarter":
        return f"{1970 + key // 4:04d}-Q{key % 4 + 1}"
    return f"{1970 + key:04d}"
