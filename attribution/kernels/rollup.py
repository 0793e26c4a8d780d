"""Summing touch credits into groups."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def sum_by_group(
    group: np.ndarray, conversions: np.ndarray, value: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Credited conversions and value per group."""
    out_conversions = np.zeros(n_groups, np.float64)
    out_value = np.zeros(n_groups, np.float64)
    for t in range(len(group)):
        g = group[t]
        out_conversions[g] += conversions[t]
        out_value[g] += value[t]
    return out_conversions, out_value


@njit(cache=True)
def sum_once_per_journey(
    group: np.ndarray,
    offsets: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`sum_by_group`, but each group takes a journey's credit once: the
    largest credit among the journey's touches in that group."""
    out_conversions = np.zeros(n_groups, np.float64)
    out_value = np.zeros(n_groups, np.float64)
    seen_in = np.full(n_groups, -1, np.int64)
    best_conversions = np.zeros(n_groups, np.float64)
    best_value = np.zeros(n_groups, np.float64)
    for j in range(len(offsets) - 1):
        for t in range(offsets[j], offsets[j + 1]):
            g = group[t]
            if seen_in[g] != j:
                seen_in[g] = j
                best_conversions[g] = conversions[t]
                best_value[g] = value[t]
            else:
                best_conversions[g] = max(best_conversions[g], conversions[t])
                best_value[g] = max(best_value[g], value[t])
        for t in range(offsets[j], offsets[j + 1]):
            g = group[t]
            if seen_in[g] == j:
                out_conversions[g] += best_conversions[g]
                out_value[g] += best_value[g]
                seen_in[g] = -1
    return out_conversions, out_value


@njit(cache=True)
def mixed_radix(high: np.ndarray, low: np.ndarray, base: int) -> np.ndarray:
    """``high * base + low`` elementwise, as int64 (one digit of a mixed-radix code)."""
    out = np.empty(len(low), np.int64)
    for i in range(len(low)):
        out[i] = high[i] * base + low[i]
    return out
