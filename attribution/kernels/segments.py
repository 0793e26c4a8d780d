"""Kernels over journey segments: ordering, windowing and per-journey reductions."""

from __future__ import annotations

import numpy as np
from numba import njit

#: Sentinel for a missing time (numpy's NaT as int64).
NO_TIME = np.iinfo(np.int64).min


@njit(cache=True)
def lengths_of(offsets: np.ndarray) -> np.ndarray:
    n = len(offsets) - 1
    out = np.empty(n, np.int64)
    for j in range(n):
        out[j] = offsets[j + 1] - offsets[j]
    return out


def concatenated_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, e) for s, e in zip(starts, ends)])`` without the loop."""
    lengths = np.asarray(ends - starts, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shifts = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(total, dtype=np.int64) + shifts


@njit(cache=True)
def codes_used(
    rows: np.ndarray, offsets: np.ndarray, codes: np.ndarray, n_codes: int
) -> np.ndarray:
    """Which of ``n_codes`` codes occur in the segments ``offsets[r] .. offsets[r + 1]``
    of the given ``rows``."""
    used = np.zeros(n_codes, np.bool_)
    for r in rows:
        for i in range(offsets[r], offsets[r + 1]):
            used[codes[i]] = True
    return used


@njit(cache=True)
def expand_rows(
    rows: np.ndarray, offsets: np.ndarray, codes: np.ndarray, remap: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segments of ``rows`` (a row may repeat), one after another: each element's
    code through ``remap`` (int32), its position within its segment, and its row."""
    n = 0
    for r in rows:
        n += offsets[r + 1] - offsets[r]
    channel = np.empty(n, np.int32)
    position = np.empty(n, np.int64)
    row = np.empty(n, np.int64)
    k = 0
    for r in rows:
        start = offsets[r]
        for i in range(start, offsets[r + 1]):
            channel[k] = remap[codes[i]]
            position[k] = i - start
            row[k] = r
            k += 1
    return channel, position, row


@njit(cache=True)
def sort_order(journey: np.ndarray, timestamp: np.ndarray, n_journeys: int) -> np.ndarray:
    """Stable order of rows by (journey code, timestamp); ties keep input order.

    A counting sort on the journey code (linear time), then a stable sort of each
    journey's timestamps where they are not already ascending.
    """
    n = len(journey)
    counts = np.zeros(n_journeys + 1, np.int64)
    for i in range(n):
        counts[journey[i] + 1] += 1
    for j in range(n_journeys):
        counts[j + 1] += counts[j]
    order = np.empty(n, np.int64)
    position = counts[:-1].copy()
    for i in range(n):
        j = journey[i]
        order[position[j]] = i
        position[j] += 1
    for j in range(n_journeys):
        start, end = counts[j], counts[j + 1]
        ascending = True
        for k in range(start + 1, end):
            if timestamp[order[k]] < timestamp[order[k - 1]]:
                ascending = False
                break
        if not ascending:
            segment = order[start:end].copy()
            keys = timestamp[segment]
            inner = np.argsort(keys, kind="mergesort")
            for k in range(end - start):
                order[start + k] = segment[inner[k]]
    return order


@njit(cache=True)
def is_sorted(journey: np.ndarray, timestamp: np.ndarray) -> bool:
    """True when rows are already ordered by (journey code, timestamp)."""
    for i in range(1, len(journey)):
        if journey[i] < journey[i - 1]:
            return False
        if journey[i] == journey[i - 1] and timestamp[i] < timestamp[i - 1]:
            return False
    return True


@njit(cache=True)
def keep_mask_for_window(
    timestamp: np.ndarray, offsets: np.ndarray, cutoff: np.ndarray, lookback: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which touches fall in the credit window, and why the others do not.

    ``reason`` is 0 (kept), 1 (after the conversion time ``cutoff[j]``) or 2 (before the
    lookback window that ends at the conversion time, or at the last touch when the
    conversion time is unknown). ``lookback < 0`` means no lookback window.
    """
    n = len(timestamp)
    keep = np.ones(n, np.bool_)
    reason = np.zeros(n, np.int8)
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        if end == start:
            continue
        has_cutoff = cutoff[j] != NO_TIME
        reference = NO_TIME
        for k in range(start, end):
            if has_cutoff and timestamp[k] > cutoff[j]:
                keep[k] = False
                reason[k] = 1
            elif timestamp[k] > reference:
                reference = timestamp[k]
        if lookback < 0:
            continue
        if has_cutoff:
            reference = cutoff[j]
        for k in range(start, end):
            # The age reference - t as an unsigned difference: exact for any two valid
            # times, where a signed reference - lookback could overflow.
            if reason[k] == 0 and timestamp[k] < reference:
                age = np.uint64(reference) - np.uint64(timestamp[k])
                if age > np.uint64(lookback):
                    keep[k] = False
                    reason[k] = 2
    return keep, reason


@njit(cache=True)
def constant_per_journey(
    journey: np.ndarray, values: np.ndarray, present: np.ndarray, n_journeys: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduce a column that must be constant within each journey.

    Returns the journey's value, whether any row gave one, and whether two rows gave
    different values (a conflict). Rows where ``present`` is false are ignored.
    """
    out = np.zeros(n_journeys, values.dtype)
    seen = np.zeros(n_journeys, np.bool_)
    conflict = np.zeros(n_journeys, np.bool_)
    for i in range(len(journey)):
        if not present[i]:
            continue
        j = journey[i]
        if not seen[j]:
            seen[j] = True
            out[j] = values[i]
        elif out[j] != values[i]:
            conflict[j] = True
    return out, seen, conflict


@njit(cache=True)
def increasing_runs(ids: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
    """Codes of integer ids that come in runs of strictly increasing value.

    Returns (ok, code per row, id per code). ``ok`` is false when a run's id is not
    larger than the previous run's (the ids are then not known to be unique per run, and
    the caller falls back to hashing).
    """
    n = len(ids)
    codes = np.empty(n, np.int64)
    firsts = np.empty(n, np.int64)
    if n == 0:
        return True, codes, firsts[:0]
    code = 0
    firsts[0] = ids[0]
    codes[0] = 0
    for i in range(1, n):
        if ids[i] != ids[i - 1]:
            if ids[i] < ids[i - 1]:
                return False, codes[:0], firsts[:0]
            code += 1
            firsts[code] = ids[i]
        codes[i] = code
    return True, codes, firsts[: code + 1]


@njit(cache=True)
def recode(codes: np.ndarray, remap: np.ndarray) -> np.ndarray:
    """``remap[codes]`` as int32."""
    out = np.empty(len(codes), np.int32)
    for i in range(len(codes)):
        out[i] = remap[codes[i]]
    return out


@njit(cache=True)
def duplicate_touches(
    offsets: np.ndarray,
    timestamp: np.ndarray,
    channel: np.ndarray,
    team: np.ndarray,
    campaign: np.ndarray,
    touch_type: np.ndarray,
) -> int:
    """Touches identical to an earlier touch of the same journey (same time, channel, team,
    campaign and touch type). Touches are sorted by time, so only runs of equal times
    within a journey are compared."""
    count = 0
    for j in range(len(offsets) - 1):
        k, end = offsets[j], offsets[j + 1]
        while k < end:
            run_end = k + 1
            while run_end < end and timestamp[run_end] == timestamp[k]:
                run_end += 1
            for a in range(k + 1, run_end):
                for b in range(k, a):
                    if (
                        channel[a] == channel[b]
                        and team[a] == team[b]
                        and campaign[a] == campaign[b]
                        and touch_type[a] == touch_type[b]
                    ):
                        count += 1
                        break
            k = run_end
    return count


@njit(cache=True)
def first_unsorted_journey(offsets: np.ndarray, timestamp: np.ndarray) -> int:
    """The first journey whose touches are not in time order (-1: all are)."""
    for j in range(len(offsets) - 1):
        for t in range(offsets[j] + 1, offsets[j + 1]):
            if timestamp[t] < timestamp[t - 1]:
                return j
    return -1
