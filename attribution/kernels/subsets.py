"""Channel sets as bit masks, and their group-by: the substrate of the Shapley models.

A coalition (set of channels) is an ``int64`` bit mask: bit ``c`` is channel code ``c``, so
at most :data:`MAX_MASK_CHANNELS` channels. The kernels here compute each journey's
channel set, group journeys by it, and look sets up in a sorted table of masks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Channels a coalition mask can hold (bits of a non-negative int64).
MAX_MASK_CHANNELS = 63

#: Fibonacci hashing multiplier (2^64 / golden ratio).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def popcount(x: int | np.integer) -> int:
    """Number of set bits of a non-negative int64 (branch-free SWAR count)."""
    v = np.uint64(x)
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((v * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def popcounts(masks: np.ndarray) -> np.ndarray:
    out = np.empty(len(masks), np.int64)
    for t in range(len(masks)):
        out[t] = popcount(masks[t])
    return out


@njit(cache=True)
def mask_members(mask: np.int64, out: np.ndarray) -> int:
    k = 0
    for i in range(MAX_MASK_CHANNELS):
        if mask & (np.int64(1) << np.int64(i)):
            out[k] = i
            k += 1
    return k


@njit(cache=True)
def journey_masks(offsets: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """The set of distinct channels of every journey, as a bit mask (0: no touches)."""
    n = len(offsets) - 1
    out = np.zeros(n, np.int64)
    one = np.int64(1)
    for j in range(n):
        mask = np.int64(0)
        for k in range(offsets[j], offsets[j + 1]):
            mask |= one << np.int64(channel[k])
        out[j] = mask
    return out


@njit(cache=True)
def _insert_slot(keys: np.ndarray, mask: np.int64, shift: np.uint64) -> int:
    h = np.int64((np.uint64(mask) * _GOLDEN) >> shift)
    last = len(keys) - 1
    while keys[h] != -1 and keys[h] != mask:
        h = (h + 1) & last
    return h


@njit(cache=True)
def coalition_groups(
    masks: np.ndarray,
    weight: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct non-empty journey coalitions (sorted) with summed weight, conversions and
    value, and each journey's index among them (-1 for the empty coalition).

    A hash group-by whose table grows with the number of groups (so it stays in cache
    when coalitions repeat), then a sort of the distinct masks.
    """
    n = len(masks)
    bits = 10
    keys = np.full(1 << bits, -1, np.int64)
    group = np.empty(1 << bits, np.int64)
    found = np.empty(n, np.int64)
    member = np.empty(n, np.int64)
    sum_w = np.zeros(n, np.float64)
    sum_c = np.zeros(n, np.float64)
    sum_v = np.zeros(n, np.float64)
    n_groups = 0
    for j in range(n):
        mask = masks[j]
        if mask == 0:
            member[j] = -1
            continue
        h = _insert_slot(keys, mask, np.uint64(64 - bits))
        if keys[h] == -1:
            if 2 * (n_groups + 1) > len(keys):
                bits += 1
                keys = np.full(1 << bits, -1, np.int64)
                group = np.empty(1 << bits, np.int64)
                for g in range(n_groups):
                    slot = _insert_slot(keys, found[g], np.uint64(64 - bits))
                    keys[slot] = found[g]
                    group[slot] = g
                h = _insert_slot(keys, mask, np.uint64(64 - bits))
            keys[h] = mask
            group[h] = n_groups
            found[n_groups] = mask
            n_groups += 1
        g = group[h]
        member[j] = g
        sum_w[g] += weight[j]
        sum_c[g] += conversions[j]
        sum_v[g] += value[j]
    order = np.argsort(found[:n_groups])
    rank = np.empty(n_groups, np.int64)
    for r in range(n_groups):
        rank[order[r]] = r
    for j in range(n):
        if member[j] >= 0:
            member[j] = rank[member[j]]
    return found[order], sum_w[order], sum_c[order], sum_v[order], member


@njit(cache=True)
def find_mask(masks: np.ndarray, mask: np.int64) -> int:
    """Index of ``mask`` in the sorted ``masks``, or -1."""
    lo = 0
    hi = len(masks)
    while lo < hi:
        mid = (lo + hi) >> 1
        if masks[mid] < mask:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(masks) and masks[lo] == mask:
        return lo
    return -1


@njit(cache=True)
def journey_types(masks: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Index of every journey coalition in the sorted ``types``; -1 for the empty
    coalition, -2 for one missing from ``types``."""
    n = len(masks)
    out = np.empty(n, np.int64)
    for j in range(n):
        if masks[j] == 0:
            out[j] = -1
        else:
            t = find_mask(types, masks[j])
            out[j] = t if t >= 0 else -2
    return out
