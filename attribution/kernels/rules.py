"""Per-touch weights of the rule-based models, one pass over the journeys.

Every kernel returns fractions that sum to 1 over the touches of each converted journey
that has touches, and are 0 elsewhere.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from attribution.kernels.segments import NO_TIME



@njit(cache=True)
def first_touch_fractions(offsets: np.ndarray, converted: np.ndarray) -> np.ndarray:
    out = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        if converted[j] and offsets[j + 1] > offsets[j]:
            out[offsets[j]] = 1.0
    return out


@njit(cache=True)
def last_touch_fractions(offsets: np.ndarray, converted: np.ndarray) -> np.ndarray:
    out = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        if converted[j] and offsets[j + 1] > offsets[j]:
            out[offsets[j + 1] - 1] = 1.0
    return out


@njit(cache=True)
def linear_fractions(offsets: np.ndarray, converted: np.ndarray) -> np.ndarray:
    out = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        n = offsets[j + 1] - offsets[j]
        if converted[j] and n > 0:
            share = 1.0 / n
            for k in range(offsets[j], offsets[j + 1]):
                out[k] = share
    return out


@njit(cache=True)
def time_decay_fractions(
    offsets: np.ndarray, converted: np.ndarray, timestamp: np.ndarray, half_life: float
) -> np.ndarray:
    """Weights 2^(-(t_last - t_i) / half_life), normalised within the journey.

    Measuring age from the journey's last touch instead of the conversion time T
    multiplies every weight of the journey by the same factor 2^(-(T - t_last)/h), which
    normalisation cancels; it avoids underflow when T is long after the last touch.
    """
    out = np.zeros(offsets[-1], np.float64)
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        if not converted[j] or end == start:
            continue
        last = timestamp[end - 1]
        total = 0.0
        for k in range(start, end):
            weight = 2.0 ** (-(last - timestamp[k]) / half_life)
            out[k] = weight
            total += weight
        for k in range(start, end):
            out[k] /= total
    return out


@njit(cache=True)
def last_at_or_before(
    offsets: np.ndarray, timestamp: np.ndarray, times: np.ndarray
) -> np.ndarray:
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
def milestone_fractions(
    offsets: np.ndarray,
    converted: np.ndarray,
    positions: np.ndarray,
    shares: np.ndarray,
    rest: float,
) -> np.ndarray:
    """Milestone weights: ``shares[m]`` to the touch at ``positions[j, m]``, ``rest`` split
    evenly over the touches that hold no milestone; then normalised to sum to 1.

    A milestone at position -1 is unknown and its share is not given out; a touch holding
    several milestones receives all their shares; when no touch is left for ``rest`` it
    is not given out either. Normalising spreads whatever was not given out over the
    touches in proportion to what they received. A journey where nothing was given out
    (every share 0 or unknown) is split evenly.
    """
    out = np.zeros(offsets[-1], np.float64)
    holds = np.zeros(offsets[-1], np.bool_)
    n_milestones = positions.shape[1]
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        n = end - start
        if not converted[j] or n == 0:
            continue
        holders = 0
        given = 0.0
        for m in range(n_milestones):
            p = positions[j, m]
            if p >= 0:
                if not holds[start + p]:
                    holds[start + p] = True
                    holders += 1
                out[start + p] += shares[m]
                given += shares[m]
        others = n - holders
        if others > 0 and rest > 0.0:
            each = rest / others
            for k in range(start, end):
                if not holds[k]:
                    out[k] = each
            given += rest
        if given == 0.0:
            for k in range(start, end):
                out[k] = 1.0 / n
        else:
            for k in range(start, end):
                out[k] /= given
    return out
