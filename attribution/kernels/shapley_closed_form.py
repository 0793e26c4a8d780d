"""Kernels of the closed-form Shapley models of Zhao et al. (2018): the simplified value
(each conversion split evenly over its journey's distinct channels) and its table by
touch position (see :mod:`attribution.models.shapley_simplified`).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def simplified_credit(
    offsets: np.ndarray,
    channel: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
    n_channels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each converted journey's conversions and value split evenly over its distinct
    channels, and each channel's share evenly over its touches in the journey."""
    out_c = np.zeros(offsets[-1], np.float64)
    out_v = np.zeros(offsets[-1], np.float64)
    touches = np.zeros(n_channels, np.int64)
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        if conversions[j] == 0.0 or end == start:
            continue
        distinct = 0
        for pos in range(start, end):
            if touches[channel[pos]] == 0:
                distinct += 1
            touches[channel[pos]] += 1
        for pos in range(start, end):
            share = 1.0 / (distinct * touches[channel[pos]])
            out_c[pos] = share * conversions[j]
            out_v[pos] = share * value[j]
        for pos in range(start, end):
            touches[channel[pos]] = 0
    return out_c, out_v


@njit(cache=True)
def position_sums(
    offsets: np.ndarray,
    channel: np.ndarray,
    credit_c: np.ndarray,
    credit_v: np.ndarray,
    n_channels: int,
    n_positions: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Credit summed by (channel, 0-based touch position within the journey)."""
    out_c = np.zeros((n_channels, n_positions), np.float64)
    out_v = np.zeros((n_channels, n_positions), np.float64)
    for j in range(len(offsets) - 1):
        for pos in range(offsets[j], offsets[j + 1]):
            out_c[channel[pos], pos - offsets[j]] += credit_c[pos]
            out_v[channel[pos], pos - offsets[j]] += credit_v[pos]
    return out_c, out_v
