"""Journeys' channel sequences as 64-bit keys, to count common paths without strings."""

from __future__ import annotations

import numpy as np
from numba import njit

_MULTIPLIER = np.uint64(0x100000001B3)
_OFFSET = np.uint64(0xCBF29CE484222325)


@njit(cache=True)
def path_keys(offsets: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """A key per journey from its channel sequence (FNV-1a over the codes and the
    length): equal sequences get equal keys; different ones collide with probability
    about 2^-64 per pair."""
    n = len(offsets) - 1
    out = np.empty(n, np.uint64)
    for j in range(n):
        h = _OFFSET ^ np.uint64(offsets[j + 1] - offsets[j])
        for t in range(offsets[j], offsets[j + 1]):
            h = (h ^ np.uint64(channel[t] + 1)) * _MULTIPLIER
        out[j] = h
    return out
