"""Numba kernels of the touch-to-opportunity join.

Each touch belongs to a *group* (its account, or its person for the contact-role
mappings); each group has a list of *candidates*, the opportunities it can belong to,
stored contiguously (``starts[g]:starts[g + 1]``) and sorted by creation time. A touch
at time ``t`` belongs to candidate ``k`` when

    created[k] - lookback <= t <= closed[k]     (no upper bound while open: closed = NO_TIME)

and without a lookback (``lookback < 0``) when ``t <= closed[k]``. The join is two
linear passes: count each touch's matches, then write them, so memory is exactly the
output; both passes run in parallel over the touches. Because candidates are sorted by
creation, a touch stops scanning at the first
candidate created more than ``lookback`` after it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from attribution.kernels.segments import NO_TIME


@njit(cache=True)
def _in_window(t: int, created: int, closed: int, lookback: int) -> bool:
    if closed != NO_TIME and t > closed:
        return False
    if lookback < 0 or t >= created:
        return True
    # created - t as an unsigned difference: exact for any two valid times.
    return np.uint64(created) - np.uint64(t) <= np.uint64(lookback)


@njit(cache=True)
def _too_late(t: int, created: int, lookback: int) -> bool:
    """This candidate, and every later one, was created after the touch's window."""
    return lookback >= 0 and created > t and np.uint64(created) - np.uint64(t) > np.uint64(lookback)


@njit(cache=True, parallel=True)
def count_matches(
    group: np.ndarray,
    times: np.ndarray,
    starts: np.ndarray,
    created: np.ndarray,
    closed: np.ndarray,
    lookback: int,
) -> np.ndarray:
    """Matching candidates of each touch (0 for touches without a group, ``group < 0``)."""
    n = len(group)
    counts = np.zeros(n, np.int64)
    for i in prange(n):
        g = group[i]
        if g < 0:
            continue
        t = times[i]
        c = 0
        for k in range(starts[g], starts[g + 1]):
            if _too_late(t, created[k], lookback):
                break
            if _in_window(t, created[k], closed[k], lookback):
                c += 1
        counts[i] = c
    return counts


@njit(cache=True, parallel=True)
def fill_matches(
    group: np.ndarray,
    times: np.ndarray,
    starts: np.ndarray,
    created: np.ndarray,
    closed: np.ndarray,
    lookback: int,
    offsets: np.ndarray,
) -> np.ndarray:
    """The matching candidates of every touch, touch after touch: those of touch ``i``
    at ``offsets[i]:offsets[i + 1]`` (``offsets`` from :func:`count_matches`)."""
    out = np.empty(offsets[-1], np.int64)
    for i in prange(len(group)):
        g = group[i]
        if g < 0:
            continue
        t = times[i]
        position = offsets[i]
        for k in range(starts[g], starts[g + 1]):
            if _too_late(t, created[k], lookback):
                break
            if _in_window(t, created[k], closed[k], lookback):
                out[position] = k
                position += 1
    return out
