"""Convert raw Arrow columns to typed numpy arrays, marking the rows that cannot be parsed.

Each parser returns the values and boolean masks of null and invalid rows (the caller
decides whether a null is allowed). Repeated strings are parsed once per distinct value,
which keeps CSV inputs of millions of rows fast; a numeric column whose every cell is a
plain decimal is parsed by Arrow in one pass, to the same values.

**Null tokens.** In text columns only an empty cell (or an Arrow null) is null. In
numeric, boolean and time columns given as text, the cells ``NA``, ``N/A``, ``#N/A``,
``NULL``, ``None``, ``NaN`` and ``NaT`` (any case, surrounding spaces ignored) are null
too (:data:`NULL_TOKENS`), as spreadsheets and CRM exports write them.

**Times** are int64 nanoseconds since 1970 UTC, exact to the nanosecond from ISO 8601
strings and from parquet timestamps of any unit. A valid time that nanoseconds cannot
hold (before 1677-09-21 or after 2262-04-11, e.g. a ``9999-12-31`` placeholder) is
reported as out of range, whatever its unit or source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.kernels.segments import NO_TIME

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
#: Text cells read as null in numeric, boolean and time columns (compared lower-cased).
NULL_TOKENS = frozenset({"", "na", "n/a", "#n/a", "null", "none", "nan", "nat"})

#: What a time outside numpy's nanosecond range is reported as.
OUT_OF_RANGE = "is outside the supported range (years 1678-2261)"
_INT64_MAX = np.iinfo(np.int64).max
_NANOS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


@dataclass(frozen=True)
class Parsed:
    """Parsed values with masks: ``null`` (absent in the input), ``invalid`` (present but
    bad, described by ``problem``) and, for times, ``out_of_range`` (a valid time that
    nanoseconds since 1970 cannot hold, such as a CRM's 9999-12-31 placeholder)."""

    values: np.ndarray
    null: np.ndarray
    invalid: np.ndarray
    problem: str = ""
    out_of_range: np.ndarray | None = None


def combined(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def null_mask(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _dictionary(array: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Integer codes (-1 for null) and the dictionary of a string-like array."""
    encoded = array if pa.types.is_dictionary(array.type) else pc.dictionary_encode(array)
    indices = encoded.indices
    codes = indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, encoded.dictionary


def _per_row(codes: np.ndarray, per_value: np.ndarray, fill: float) -> np.ndarray:
    """Per-row values from per-distinct-value results (``fill`` where the code is -1)."""
    if len(per_value) == 0:
        return np.full(
            len(codes), fill, dtype=np.result_type(per_value.dtype, np.min_scalar_type(fill))
        )
    return np.where(codes >= 0, per_value[np.maximum(codes, 0)], fill)


def _plain(array: pa.Array) -> pa.Array:
    return array.cast(array.type.value_type) if pa.types.is_dictionary(array.type) else array


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _text_codes(array: pa.Array) -> tuple[np.ndarray, list[str | None], np.ndarray]:
    """Codes of a text array's distinct values, the values, and the rows whose text is a
    null token (they become null: code -1)."""
    codes, dictionary = _dictionary(array)
    texts = dictionary.to_pylist()
    token = np.array([str(t).strip().lower() in NULL_TOKENS for t in texts] or [False])
    null_token = (codes >= 0) & token[np.maximum(codes, 0)]
    codes = np.where(null_token, -1, codes)
    return codes, texts, null_token


def parse_times(array: pa.Array) -> Parsed:
    """Datetimes as int64 nanoseconds since the epoch, UTC.

    Timezone-aware values are converted to UTC; naive values are taken as UTC; strings
    are parsed as ISO 8601 (with or without offset, to the nanosecond); dates are
    midnight UTC.
    """
    array = _plain(array)
    kind = array.type
    nulls = null_mask(array)
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        if pa.types.is_date32(kind):
            raw, factor = array.cast(pa.int32()).cast(pa.int64()), 86_400 * 1_000_000_000
        elif pa.types.is_date64(kind):
            raw, factor = array.cast(pa.int64()), 1_000_000
        else:
            raw, factor = array.cast(pa.int64()), _NANOS_PER_UNIT[kind.unit]
        values, too_far = _scaled(raw.fill_null(0).to_numpy(zero_copy_only=False), factor)
        too_far &= ~nulls
        values = np.where(nulls | too_far, NO_TIME, values)
        return Parsed(values, nulls, np.zeros(len(array), bool), "", too_far)
    if _is_text(kind):
        codes, texts, null_token = _text_codes(array)
        per_value, unparsed, too_far = _parse_time_texts(texts)
        values = _per_row(codes, per_value, NO_TIME).astype(np.int64)
        invalid = (codes >= 0) & _per_row(codes, unparsed, False).astype(bool)
        out_of_range = (codes >= 0) & _per_row(codes, too_far, False).astype(bool)
        return Parsed(
            values,
            nulls | null_token,
            invalid,
            "cannot be parsed as a timestamp",
            out_of_range,
        )
    return Parsed(
        np.full(len(array), NO_TIME, np.int64),
        nulls,
        ~nulls,
        f"must be a datetime or an ISO 8601 string, not {kind}",
    )


def _scaled(raw: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """``raw * factor`` as int64 nanoseconds, and where that would overflow (or hit the
    NO_TIME sentinel)."""
    raw = raw.astype(np.int64, copy=False)
    if factor == 1:
        return raw, raw == np.iinfo(np.int64).min
    limit = _INT64_MAX // factor
    too_far = (raw >= limit) | (raw <= -limit)
    if not too_far.any():
        return raw * np.int64(factor), too_far
    return np.where(too_far, 0, raw) * np.int64(factor), too_far


def _parse_time_texts(texts: list[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nanoseconds of each distinct text, whether it could not be parsed, and whether it
    is a valid time out of the nanosecond range."""
    n = len(texts)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, bool)
    series = pd.Series(texts, dtype=object)
    parsed = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
    values, too_far = _datetimes_to_nanos(parsed)
    missing = parsed.isna().to_numpy() & series.notna().to_numpy()
    if missing.any():
        # A text pandas cannot hold in nanoseconds comes back as NaT when another text
        # needed nanoseconds; parsed alone (at a coarser unit) it shows as out of range.
        retry = pd.to_datetime(
            series[missing].str.replace(r"(\.\d{6})\d+", r"\1", regex=True),
            utc=True,
            format="ISO8601",
            errors="coerce",
        )
        parsed_now = retry.notna().to_numpy()
        positions = np.flatnonzero(missing)
        too_far[positions[parsed_now]] = True
        missing[positions[parsed_now]] = False
    unparsed = missing
    values = np.where(unparsed | too_far, NO_TIME, values)
    return values.astype(np.int64), unparsed, too_far


def _datetimes_to_nanos(parsed: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """int64 nanoseconds of a datetime Series of any unit, and which overflow."""
    unit = getattr(parsed.dt, "unit", "ns") if len(parsed) else "ns"
    raw = parsed.to_numpy(dtype=f"datetime64[{unit}]").view(np.int64)
    nat = raw == np.iinfo(np.int64).min
    values, too_far = _scaled(np.where(nat, 0, raw), _NANOS_PER_UNIT[unit])
    return np.where(nat, NO_TIME, values), too_far & ~nat


def parse_numbers(array: pa.Array) -> Parsed:
    """Floats; strings are parsed as decimal numbers. Non-finite values are invalid, and
    so is a boolean column (true/false is not an amount)."""
    array = _plain(array)
    kind = array.type
    nulls = null_mask(array)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        # Unsafe cast: integers beyond 2^53 become the nearest float instead of an error.
        floats = array.cast(pa.float64(), safe=False)
        values = floats.fill_null(np.nan).to_numpy(zero_copy_only=False)
        if pa.types.is_floating(kind):
            # A NaN in a float column is a missing value, as pandas writes it.
            nulls = nulls | np.isnan(values)
        invalid = (~nulls) & ~np.isfinite(values)
        return Parsed(values, nulls, invalid, "is not a finite number")
    if _is_text(kind):
        plain = _plain_decimals(array, nulls)
        if plain is not None:
            return plain
        codes, texts, null_token = _text_codes(array)
        stripped = pd.Series([None if t is None else str(t).strip() for t in texts], dtype=object)
        per_value = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=float)
        values = _per_row(codes, per_value, np.nan) + 0.0  # -0 reads as 0
        invalid = (codes >= 0) & ~np.isfinite(values)
        return Parsed(
            values,
            nulls | null_token,
            invalid,
            "is not a finite number (text must be a plain decimal: 1000.5)",
        )
    return Parsed(np.full(len(array), np.nan), nulls, ~nulls, f"must be numeric, not {kind}")


def _plain_decimals(array: pa.Array, nulls: np.ndarray) -> Parsed | None:
    """Text in which every cell is a plain finite decimal, parsed by Arrow in one pass
    (correctly rounded, as Python's ``float``); ``None`` when any cell is something else
    (spaces, a null token, ``inf``, text), which the general parser then reads. ``-0``
    reads as 0, as there."""
    try:
        floats = array.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = floats.fill_null(0.0).to_numpy(zero_copy_only=False)
    if not np.isfinite(values).all():
        return None
    values = np.where(nulls, np.nan, values + 0.0)
    return Parsed(
        values,
        nulls,
        np.zeros(len(array), bool),
        "is not a finite number (text must be a plain decimal: 1000.5)",
    )


def parse_flags(array: pa.Array) -> Parsed:
    """Booleans as int8 (1 true, 0 false, -1 null); accepts 0/1 and true/false/yes/no text."""
    array = _plain(array)
    kind = array.type
    nulls = null_mask(array)
    if pa.types.is_boolean(kind):
        values = array.cast(pa.int8()).fill_null(-1).to_numpy(zero_copy_only=False)
        return Parsed(values.astype(np.int8), nulls, np.zeros(len(array), bool))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        raw = array.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        nulls = nulls | np.isnan(raw)
        invalid = (~nulls) & ~np.isin(raw, (0.0, 1.0))
        values = np.where(raw == 1.0, 1, np.where(raw == 0.0, 0, -1)).astype(np.int8)
        return Parsed(values, nulls, invalid, "must be true/false or 1/0")
    if _is_text(kind):
        codes, texts, null_token = _text_codes(array)
        lowered = [str(t).strip().lower() for t in texts]
        per_value = np.array(
            [1 if t in _TRUE else 0 if t in _FALSE else -2 for t in lowered], np.int8
        )
        values = _per_row(codes, per_value, -1).astype(np.int8)
        invalid = values == -2
        values[invalid] = -1
        return Parsed(values, nulls | null_token, invalid, "must be true/false, yes/no or 1/0")
    return Parsed(np.full(len(array), -1, np.int8), nulls, ~nulls, f"must be boolean, not {kind}")


@dataclass(frozen=True)
class Labels:
    """Dictionary-encoded labels: ``codes`` index ``names``; -1 where null."""

    codes: np.ndarray
    names: list[str]


def parse_labels(array: pa.Array) -> Labels:
    """Strings (or values converted to strings) dictionary-encoded in first-seen order.

    Only a null is missing: every text, ``NA`` included, is a label.
    """
    kind = array.type
    if pa.types.is_dictionary(kind):
        value_type = kind.value_type
        if not _is_text(value_type):
            array = array.cast(value_type).cast(pa.string())
    elif not _is_text(kind):
        array = array.cast(pa.string())
    codes, dictionary = _dictionary(array)
    return Labels(codes, [str(name) for name in dictionary.to_pylist()])


def text_of(array: pa.Array, rows: np.ndarray) -> list[str]:
    """The input values at ``rows`` as short strings, for error messages."""
    values = array.take(pa.array(rows, pa.int64())).to_pylist()
    return [_shown(v)[:60] for v in values]


def _shown(value: object) -> str:
    """A value as the user wrote it: times in ISO text (not a Python repr), text quoted."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return repr(value)
