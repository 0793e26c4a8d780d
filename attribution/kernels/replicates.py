"""Per-journey credit by group, as a dense matrix, for the bootstrap's matrix products."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def journey_group_matrix(
    group: np.ndarray, offsets: np.ndarray, value: np.ndarray, n_groups: int, once: bool
) -> np.ndarray:
    """``out[j, g]``: the credit of journey ``j``'s touches in group ``g`` (summed, or
    with ``once`` the largest: a group takes a journey's credit once)."""
    n = len(offsets) - 1
    out = np.zeros((n, n_groups), np.float64)
    for j in range(n):
        for t in range(offsets[j], offsets[j + 1]):
            g = group[t]
            if once:
                out[j, g] = max(out[j, g], value[t])
            else:
                out[j, g] += value[t]
    return out


@njit(cache=True)
def group_rows(
    offsets: np.ndarray,
    group: np.ndarray,
    value: np.ndarray,
    n_groups: int,
    once: bool,
    features: np.ndarray,
    column: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of :func:`journey_group_matrix` (``out[j, g]``) as sparse rows: per
    journey ``j`` (``offsets``: consecutive journeys, touch indices into ``group`` and
    ``value``) its entries' count, columns and values, zeros left out. Without features
    (``features`` with no column) the entry of group ``g`` is ``out[j, g]`` in column
    ``column + g``; with ``F`` features it is ``out[j, g] · features[j, f]`` in column
    ``column + g·F + f``, for each ``f``."""
    n = len(offsets) - 1
    n_features = features.shape[1]
    per_group = max(1, n_features)
    total = (offsets[n] - offsets[0]) * per_group
    lengths = np.zeros(n, np.int64)
    indices = np.empty(total, np.int64)
    data = np.empty(total, np.float64)
    weight = np.zeros(n_groups, np.float64)
    seen_in = np.full(n_groups, -1, np.int64)
    w = 0
    for j in range(n):
        start, end = offsets[j], offsets[j + 1]
        for t in range(start, end):
            g = group[t]
            if seen_in[g] != j:
                seen_in[g] = j
                weight[g] = max(0.0, value[t]) if once else 0.0 + value[t]
            elif once:
                weight[g] = max(weight[g], value[t])
            else:
                weight[g] += value[t]
        before = w
        for t in range(start, end):
            g = group[t]
            if seen_in[g] != j:
                continue
            seen_in[g] = -2 - j
            x = weight[g]
            if x == 0.0:
                continue
            if n_features == 0:
                indices[w] = column + g
                data[w] = x
                w += 1
            else:
                for f in range(n_features):
                    y = x * features[j, f]
                    if y != 0.0:
                        indices[w] = column + g * n_features + f
                        data[w] = y
                        w += 1
        lengths[j] = w - before
    return lengths, indices[:w], data[:w]
