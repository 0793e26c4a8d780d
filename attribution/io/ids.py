"""Journey ids: one type per run, integral floats as integers, codes by first appearance.

Ids are text or integers (signed or unsigned 64-bit: hashes at or above 2^63 work).
A float id column is read as integers when every value is integral (a CSV round trip
through a spreadsheet turns ``17`` into ``17.0``); NaN is a null id; a fractional id is
invalid. When the touch and outcome tables give ids of different types they are compared
as text, so ``17`` matches ``"17"``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribution.errors import InputError, Problem
from attribution.kernels.segments import increasing_runs

_INT64_MAX = np.iinfo(np.int64).max


def plain_ids(ids: pa.Array, source: str) -> tuple[pa.Array, np.ndarray]:
    """Ids as text or integers, and the rows holding a fractional (invalid) id."""
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(ids.type.value_type)
    kind = ids.type
    bad = np.zeros(len(ids), bool)
    if pa.types.is_floating(kind):
        values = ids.fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
        null = np.isnan(values)
        fractional = ~null & (np.floor(values) != values)
        bad = fractional | (~null & ~np.isfinite(values))
        usable = ~null & ~bad
        as_int = np.where(usable, values, 0)
        unsigned = bool((as_int >= 2.0**63).any())
        target = pa.uint64() if unsigned and not (as_int < 0).any() else pa.int64()
        numbers = as_int.astype(np.uint64 if target == pa.uint64() else np.int64)
        return pa.array(numbers, target, mask=~usable), bad
    if pa.types.is_boolean(kind) or not (
        pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
    ):
        raise InputError(
            Problem(f"journey_id must be text or an integer, not {kind}", source=source)
        )
    if pa.types.is_integer(kind) and kind not in (pa.int64(), pa.uint64()):
        ids = ids.cast(pa.uint64() if pa.types.is_unsigned_integer(kind) else pa.int64())
    if pa.types.is_large_string(kind):
        ids = ids.cast(pa.string())
    return ids, bad


def common_id_type(ids: pa.Array, outcome_ids: pa.Array | None) -> tuple[pa.Array, pa.Array | None]:
    """Touch and outcome journey ids of one type: integers stay integers when both
    tables hold integers that one 64-bit type can represent, else both are text."""
    if outcome_ids is None or ids.type == outcome_ids.type:
        return ids, outcome_ids
    both_integer = pa.types.is_integer(ids.type) and pa.types.is_integer(outcome_ids.type)
    if both_integer:
        for target in (pa.int64(), pa.uint64()):
            try:
                return ids.cast(target), outcome_ids.cast(target)
            except (pa.ArrowInvalid, OverflowError):
                continue
    return ids.cast(pa.string()), outcome_ids.cast(pa.string())


def factorize(ids: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Journey codes in order of first appearance (-1 for null ids) and the unique ids.

    Signed integer ids already grouped in increasing runs (the usual export order) are
    coded in one pass; anything else is hashed.
    """
    if ids.type == pa.int64() and ids.null_count == 0:
        ok, codes, firsts = increasing_runs(ids.to_numpy())
        if ok:
            return codes, pa.array(firsts, ids.type)
    encoded = pc.dictionary_encode(ids)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary


def increasing(ids: pa.Array) -> bool:
    """Signed integer ids without nulls, strictly increasing."""
    if ids.type != pa.int64() or ids.null_count:
        return False
    values = ids.to_numpy()
    return bool(np.all(values[1:] > values[:-1]))


def lookup(ids: pa.Array, unique_ids: pa.Array) -> np.ndarray:
    """Position of each id among ``unique_ids`` (-1 where absent or null)."""
    if ids.type == pa.int64() and ids.null_count == 0 and increasing(unique_ids):
        keys = unique_ids.to_numpy()
        values = ids.to_numpy()
        position = np.minimum(np.searchsorted(keys, values), max(len(keys) - 1, 0))
        found = keys[position] == values if len(keys) else np.zeros(len(values), bool)
        return np.where(found, position, -1).astype(np.int64)
    index = pc.index_in(ids, value_set=unique_ids)
    return index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def duplicated(ids: pa.Array) -> np.ndarray:
    """Rows whose (non-null) id occurs more than once."""
    if increasing(ids):
        return np.zeros(len(ids), bool)
    codes = pc.dictionary_encode(ids).indices.fill_null(-1).to_numpy(zero_copy_only=False)
    valid = codes >= 0
    if not valid.any():
        return np.zeros(len(ids), bool)
    counts = np.bincount(codes[valid])
    return valid & (counts[np.maximum(codes, 0)] > 1)
