"""Per-touch credit of the rule-based models, one pass over the journeys.

Each kernel computes a weight per touch that sums to 1 within every converted journey
with touches, and writes the touch's credited conversions (weight x the journey's
conversions) and value (weight x the journey's value); other touches get 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from attribution.kernels.segments import NO_TIME


@njit(cache=True)
def first_touch_credit(
    offsets: np.ndarray, conversions: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    out_c = np.zeros(offsets[-1], np.float64)
    out_v = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        if conversions[j] != 0.0 and offsets[j + 1] > offsets[j]:
            out_c[offsets[j]] = conversions[j]
            out_v[offsets[j]] = value[j]
    return out_c, out_v


@njit(cache=True)
def last_touch_credit(
    offsets: np.ndarray, conversions: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    out_c = np.zeros(offsets[-1], np.float64)
    out_v = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        if conversions[j] != 0.0 and offsets[j + 1] > offsets[j]:
            out_c[offsets[j + 1] - 1] = conversions[j]
            out_v[offsets[j + 1] - 1] = value[j]
    return out_c, out_v


@njit(cache=True)
def linear_credit(
    offsets: np.ndarray, conversions: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    out_c = np.zeros(offsets[-1], np.float64)
    out_v = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        n = offsets[j + 1] - offsets[j]
        if conversions[j] != 0.0 and n > 0:
            share = 1.0 / n
            for k in range(offsets[j], offsets[j + 1]):
                out_c[k] = share * conversions[j]
                out_v[k] = share * value[j]
    return out_c, out_v


@njit(cache=True)
def time_decay_credit(
    offsets: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
    timestamp: np.ndarray,
    half_life: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights 2^(-(t_last - t_i) / half_life), normalised within the journey.

    Measuring age from the journey's last touch instead of the conversion time T
    multiplies every weight of the journey by the same factor 2^(-(T - t_last)/h), which
    normalisation cancels; it avoids underflow when T is long after the last touch.
    """
    out_c = np.zeros(offsets[-1], np.float64)
    out_v = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        if conversions[j] == 0.0 or end == start:
            continue
        last = timestamp[end - 1]
        total = 0.0
        for k in range(start, end):
            weight = 2.0 ** (-(last - timestamp[k]) / half_life)
            out_c[k] = weight
            total += weight
        for k in range(start, end):
            share = out_c[k] / total
            out_c[k] = share * conversions[j]
            out_v[k] = share * value[j]
    return out_c, out_v


@njit(cache=True)
def last_at_or_before(offsets: np.ndarray, timestamp: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Position (within its journey) of the last touch at or before ``times[j]``; -1 if none."""
    out = np.full(len(offsets) - 1, -1, np.int64)
    for j in range(len(offsets) - 1):
        if times[j] == NO_TIME:
            continue
        for k in range(offsets[j + 1] - 1, offsets[j] - 1, -1):
            if timestamp[k] <= times[j]:
                out[j] = k - offsets[j]
                break
    return out


@njit(cache=True)
def milestone_credit(
    offsets: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
    positions: np.ndarray,
    shares: np.ndarray,
    rest: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Milestone weights: ``shares[m]`` to the touch at ``positions[m, j]``, ``rest`` split
    evenly over the touches that hold no milestone; then normalised to sum to 1.

    A milestone at position -1 is unknown and its share is not given out; a touch holding
    several milestones receives all their shares; when no touch is left for ``rest`` it
    is not given out either. Normalising spreads whatever was not given out over the
    touches in proportion to what they received. A journey where nothing was given out
    (every share 0 or unknown) is split evenly.
    """
    out_c = np.zeros(offsets[-1], np.float64)
    out_v = np.zeros(offsets[-1], np.float64)
    holds = np.zeros(offsets[-1], np.bool_)
    n_milestones = positions.shape[0]
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        n = end - start
        if conversions[j] == 0.0 or n == 0:
            continue
        holders = 0
        given = 0.0
        for m in range(n_milestones):
            p = positions[m, j]
            if p >= 0:
                if not holds[start + p]:
                    holds[start + p] = True
                    holders += 1
                out_c[start + p] += shares[m]
                given += shares[m]
        others = n - holders
        if others > 0 and rest > 0.0:
            each = rest / others
            for k in range(start, end):
                if not holds[k]:
                    out_c[k] = each
            given += rest
        for k in range(start, end):
            share = out_c[k] / given if given > 0.0 else 1.0 / n
            out_c[k] = share * conversions[j]
            out_v[k] = share * value[j]
    return out_c, out_v


@njit(cache=True)
def last_flagged_credit(
    offsets: np.ndarray, conversions: np.ndarray, value: np.ndarray, flagged: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weight 1 on each converted journey's last flagged touch, else on its last touch."""
    out_c = np.zeros(offsets[-1], np.float64)
    out_v = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        if conversions[j] == 0.0 or end == start:
            continue
        chosen = end - 1
        for t in range(end - 1, start - 1, -1):
            if flagged[t]:
                chosen = t
                break
        out_c[chosen] = conversions[j]
        out_v[chosen] = value[j]
    return out_c, out_v
