"""Weighted sums of journey quantities per group: the scorecard's one pass."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def journey_group_sums(
    group: np.ndarray,
    offsets: np.ndarray,
    share: np.ndarray,
    features: np.ndarray,
    n_groups: int,
    once: bool,
) -> np.ndarray:
    """``out[g, f] = Σ_j w_jg · features[j, f]`` where ``w_jg`` is the sum (or, with
    ``once``, the largest) of ``share[t]`` over journey ``j``'s touches in group ``g``."""
    n_features = features.shape[1]
    out = np.zeros((n_groups, n_features), np.float64)
    weight = np.zeros(n_groups, np.float64)
    seen_in = np.full(n_groups, -1, np.int64)
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        for t in range(start, end):
            g = group[t]
            if seen_in[g] != j:
                seen_in[g] = j
                weight[g] = share[t]
            elif once:
                weight[g] = max(weight[g], share[t])
            else:
                weight[g] += share[t]
        for t in range(start, end):
            g = group[t]
            if seen_in[g] == j:
                w = weight[g]
                if w != 0.0:
                    for f in range(n_features):
                        out[g, f] += w * features[j, f]
                seen_in[g] = -2 - j
    return out
