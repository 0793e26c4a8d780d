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
