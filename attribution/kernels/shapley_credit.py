"""Per-channel totals and per-touch credit of the observed-rate game's Shapley vectors.

Every observed channel set ``t`` (a *type*) has one Shapley vector ``phi[t]``, stored
flat: its members' values in ascending channel order from ``member_offsets[t]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from attribution.kernels.subsets import MAX_MASK_CHANNELS, popcount


@njit(cache=True)
def channel_totals(
    masks: np.ndarray,
    member_offsets: np.ndarray,
    weight: np.ndarray,
    phi: np.ndarray,
    n_channels: int,
) -> np.ndarray:
    """sum over types t of weight[t] x phi[t, i], per channel i."""
    out = np.zeros(n_channels, np.float64)
    for t in range(len(masks)):
        slot = member_offsets[t]
        for i in range(n_channels):
            if masks[t] & (np.int64(1) << np.int64(i)):
                out[i] += weight[t] * phi[slot]
                slot += 1
    return out


@njit(cache=True, parallel=True)
def touch_credit(
    offsets: np.ndarray,
    channel: np.ndarray,
    journey_type: np.ndarray,
    masks: np.ndarray,
    member_offsets: np.ndarray,
    phi_c: np.ndarray,
    phi_v: np.ndarray,
    type_journeys: np.ndarray,
    type_c: np.ndarray,
    type_v: np.ndarray,
    weight: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Credit of every touch from the Shapley vectors of the journeys' coalitions.

    Journey ``j`` of coalition ``t`` gets ``scale_j · phi[t, c]`` for channel ``c``, with
    ``scale_j = amount_j · n(t) / total(t)`` (its own conversions or value over the
    coalition's mean), or ``weight_j`` when the coalition's total is 0; the channel's
    credit is split evenly over the journey's touches of that channel.
    """
    n_journeys = len(offsets) - 1
    out_c = np.empty(offsets[-1], np.float64)
    out_v = np.empty(offsets[-1], np.float64)
    n_chunks = min(n_journeys, 256)
    for chunk in prange(n_chunks):
        touches = np.zeros(MAX_MASK_CHANNELS, np.int64)
        rank_of = np.zeros(MAX_MASK_CHANNELS, np.int64)
        share_c = np.empty(MAX_MASK_CHANNELS, np.float64)
        share_v = np.empty(MAX_MASK_CHANNELS, np.float64)
        for j in range(chunk * n_journeys // n_chunks, (chunk + 1) * n_journeys // n_chunks):
            start, end = offsets[j], offsets[j + 1]
            t = journey_type[j]
            scale_c = 0.0
            scale_v = 0.0
            if t >= 0:
                n = type_journeys[t]
                scale_c = conversions[j] * n / type_c[t] if type_c[t] != 0.0 else weight[j]
                scale_v = value[j] * n / type_v[t] if type_v[t] != 0.0 else weight[j]
            if scale_c == 0.0 and scale_v == 0.0:
                for pos in range(start, end):
                    out_c[pos] = 0.0
                    out_v[pos] = 0.0
                continue
            slot = member_offsets[t]
            k = member_offsets[t + 1] - slot
            rest = masks[t]
            for b in range(k):
                low = rest & -rest
                rest ^= low
                rank_of[popcount(low - 1)] = b
            for pos in range(start, end):
                touches[rank_of[channel[pos]]] += 1
            for b in range(k):
                share_c[b] = scale_c * phi_c[slot + b] / touches[b]
                share_v[b] = scale_v * phi_v[slot + b] / touches[b]
                touches[b] = 0
            for pos in range(start, end):
                rank = rank_of[channel[pos]]
                out_c[pos] = share_c[rank]
                out_v[pos] = share_v[rank]
    return out_c, out_v
