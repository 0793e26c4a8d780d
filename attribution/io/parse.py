"""Convert raw Arrow columns to typed numpy arrays, marking the rows that cannot be parsed.

Each parser returns the values and a boolean mask of invalid rows (and of nulls where
the caller decides whether a null is allowed). Repeated strings are parsed once per
distinct value, which keeps CSV inputs of millions of rows fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.kernels.segments import NO_TIME

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


#: What a time outside numpy's nanosecond range is reported as.
OUT_OF_RANGE = "is outside the supported range (years 1678-2261)"
_NS_PER_US = 1_000
_US_LIMIT = np.iinfo(np.int64).max // _NS_PER_US


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


def parse_times(array: pa.Array) -> Parsed:
    """Datetimes as int64 nanoseconds since the epoch, UTC.

    Timezone-aware values are converted to UTC; naive values are taken as UTC; strings
    are parsed as ISO 8601 (with or without offset); dates are midnight UTC.
    """
    kind = array.type
    nulls = null_mask(array)
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        target = (
            pa.timestamp("ns", tz=kind.tz) if pa.types.is_timestamp(kind) else pa.timestamp("ns")
        )
        try:
            nanos = array.cast(target).cast(pa.int64())
        except pa.ArrowInvalid:
            return _times_out_of_range(array, nulls)
        values = nanos.fill_null(NO_TIME).to_numpy(zero_copy_only=False)
        return Parsed(values.astype(np.int64, copy=False), nulls, np.zeros(len(array), bool))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        codes, dictionary = _dictionary(array)
        texts = pd.Series(dictionary.to_numpy(zero_copy_only=False), dtype=object)
        parsed = pd.to_datetime(texts, utc=True, format="ISO8601", errors="coerce")
        micros = parsed.to_numpy(dtype="datetime64[us]").view(np.int64)
        unparsed = micros == NO_TIME
        too_far = ~unparsed & (np.abs(micros) >= _US_LIMIT)
        per_value = np.where(unparsed | too_far, NO_TIME, micros * _NS_PER_US)
        values = _per_row(codes, per_value, NO_TIME)
        invalid = (codes >= 0) & _per_row(codes, unparsed, False).astype(bool)
        out_of_range = (codes >= 0) & _per_row(codes, too_far, False).astype(bool)
        return Parsed(values, nulls, invalid, "cannot be parsed as a timestamp", out_of_range)
    return Parsed(
        np.full(len(array), NO_TIME, np.int64),
        nulls,
        ~nulls,
        f"must be a datetime or an ISO 8601 string, not {kind}",
    )


def _times_out_of_range(array: pa.Array, nulls: np.ndarray) -> Parsed:
    seconds = array.cast(pa.timestamp("s", tz=getattr(array.type, "tz", None)))
    raw = seconds.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    limit = np.iinfo(np.int64).max // 1_000_000_000
    too_far = (~nulls) & (np.abs(raw) >= limit)
    values = np.where(too_far | nulls, NO_TIME, raw * 1_000_000_000)
    return Parsed(values, nulls, np.zeros(len(array), bool), "", too_far)


def parse_numbers(array: pa.Array) -> Parsed:
    """Floats; strings are parsed as decimal numbers. Non-finite values are invalid."""
    kind = array.type
    nulls = null_mask(array)
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        # Unsafe cast: integers beyond 2^53 become the nearest float instead of an error.
        floats = array.cast(pa.float64(), safe=False)
        values = floats.fill_null(np.nan).to_numpy(zero_copy_only=False)
        invalid = (~nulls) & ~np.isfinite(values)
        return Parsed(values, nulls, invalid, "is not a finite number")
    if pa.types.is_boolean(kind):
        values = array.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        return Parsed(values, nulls, np.zeros(len(array), bool))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        codes, dictionary = _dictionary(array)
        texts = pd.Series(dictionary.to_numpy(zero_copy_only=False), dtype=object)
        per_value = pd.to_numeric(texts.str.strip(), errors="coerce").to_numpy(dtype=float)
        values = _per_row(codes, per_value, np.nan)
        invalid = (codes >= 0) & ~np.isfinite(values)
        return Parsed(
            values, nulls, invalid, "is not a finite number (text must be a plain decimal: 1000.5)"
        )
    return Parsed(np.full(len(array), np.nan), nulls, ~nulls, f"must be numeric, not {kind}")


def parse_flags(array: pa.Array) -> Parsed:
    """Booleans as int8 (1 true, 0 false, -1 null); accepts 0/1 and true/false/yes/no text."""
    kind = array.type
    nulls = null_mask(array)
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_boolean(kind):
        values = array.cast(pa.int8()).fill_null(-1).to_numpy(zero_copy_only=False)
        return Parsed(values.astype(np.int8), nulls, np.zeros(len(array), bool))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        raw = array.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        invalid = (~nulls) & ~np.isin(raw, (0.0, 1.0))
        values = np.where(raw == 1.0, 1, np.where(raw == 0.0, 0, -1)).astype(np.int8)
        return Parsed(values, nulls, invalid, "must be true/false or 1/0")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        codes, dictionary = _dictionary(array)
        texts = [str(t).strip().lower() for t in dictionary.to_pylist()]
        per_value = np.array(
            [1 if t in _TRUE else 0 if t in _FALSE else -2 for t in texts], np.int8
        )
        values = _per_row(codes, per_value, -1).astype(np.int8)
        invalid = values == -2
        values[invalid] = -1
        return Parsed(values, nulls, invalid, "must be true/false, yes/no or 1/0")
    return Parsed(np.full(len(array), -1, np.int8), nulls, ~nulls, f"must be boolean, not {kind}")


@dataclass(frozen=True)
class Labels:
    """Dictionary-encoded labels: ``codes`` index ``names``; -1 where null."""

    codes: np.ndarray
    names: list[str]


def parse_labels(array: pa.Array) -> Labels:
    """Strings (or values converted to strings) dictionary-encoded in first-seen order."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        value_type = kind.value_type
        if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
            array = array.cast(value_type).cast(pa.string())
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        array = array.cast(pa.string())
    codes, dictionary = _dictionary(array)
    return Labels(codes, [str(name) for name in dictionary.to_pylist()])


def text_of(array: pa.Array, rows: np.ndarray) -> list[str]:
    """The input values at ``rows`` as short strings, for error messages."""
    values = array.take(pa.array(rows, pa.int64())).to_pylist()
    return [repr(v)[:60] for v in values]
