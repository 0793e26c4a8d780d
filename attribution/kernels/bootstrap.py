"""Counter-based Poisson draws for the bootstrap, and stable journey keys.

A replicate weight is a pure function of (seed, journey key, replicate): uniforms come
from a SplitMix64-style mix of the three (and of a draw counter), so a journey's weights
do not depend on row order, on the partitioning or on the worker that reads it.
Poisson(λ) is drawn by inversion for λ <= 30 and by Hörmann's transformed rejection
(PTRS, 1993) above, both exact.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53


@njit(cache=True, inline="always")
def mix64(x: np.uint64) -> np.uint64:
    """The SplitMix64 finaliser: a bijective avalanche of 64 bits."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def uniform(seed: np.uint64, key: np.uint64, replicate: np.uint64, draw: np.uint64) -> float:
    """A uniform in [0, 1) from the counter (seed, key, replicate, draw)."""
    h = mix64(seed ^ mix64(key ^ mix64(replicate * _GOLDEN + draw)))
    return float(h >> np.uint64(11)) * _TO_UNIT


@njit(cache=True)
def poisson(seed: np.uint64, key: np.uint64, replicate: np.uint64, lam: float) -> float:
    """One Poisson(``lam``) draw of the counter stream (seed, key, replicate)."""
    if lam <= 0.0:
        return 0.0
    if lam <= 30.0:
        u = uniform(seed, key, replicate, np.uint64(0))
        p = math.exp(-lam)
        cumulative = p
        k = 0
        while u > cumulative and k < 1000:
            k += 1
            p *= lam / k
            cumulative += p
        return float(k)
    root = math.sqrt(lam)
    b = 0.931 + 2.53 * root
    a = -0.059 + 0.02483 * b
    inverse_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    log_lam = math.log(lam)
    draw = np.uint64(0)
    while True:
        u = uniform(seed, key, replicate, draw) - 0.5
        v = uniform(seed, key, replicate, draw + np.uint64(1))
        draw += np.uint64(2)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return float(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(inverse_alpha) - math.log(a / (us * us) + b) <= (
            -lam + k * log_lam - math.lgamma(k + 1.0)
        ):
            return float(k)


@njit(cache=True, parallel=True)
def poisson_multipliers(
    keys: np.ndarray, lam: np.ndarray, seed: np.uint64, first: int, count: int
) -> np.ndarray:
    """``out[j, r] = Poisson(lam[j]) / lam[j]`` for replicates ``first .. first+count-1``:
    the factor that turns record ``j`` (standing for ``lam[j]`` journeys) into its
    bootstrap replicate."""
    n = len(keys)
    out = np.empty((n, count), np.float64)
    for j in prange(n):
        for r in range(count):
            out[j, r] = poisson(seed, keys[j], np.uint64(first + r), lam[j]) / lam[j]
    return out


@njit(cache=True)
def text_keys(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """A 64-bit key per text (FNV-1a over its UTF-8 bytes, then mixed)."""
    n = len(offsets) - 1
    out = np.empty(n, np.uint64)
    for i in range(n):
        h = _FNV_OFFSET
        for b in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[b])) * _FNV_PRIME
        out[i] = mix64(h)
    return out


@njit(cache=True)
def integer_keys(ids: np.ndarray) -> np.ndarray:
    """A 64-bit key per integer id (the id's 64 bits, mixed)."""
    out = np.empty(len(ids), np.uint64)
    for i in range(len(ids)):
        out[i] = mix64(np.uint64(ids[i]) ^ np.uint64(0x5555555555555555))
    return out


@njit(cache=True)
def sequence_keys(
    offsets: np.ndarray, channel: np.ndarray, name_keys: np.ndarray, converted: np.ndarray
) -> np.ndarray:
    """A 64-bit key per journey from its channel sequence and outcome (path tables,
    whose records have no id of their own)."""
    n = len(offsets) - 1
    out = np.empty(n, np.uint64)
    for j in range(n):
        h = np.uint64(0x243F6A8885A308D3) ^ np.uint64(converted[j])
        for t in range(offsets[j], offsets[j + 1]):
            h = mix64(h ^ name_keys[channel[t]])
        out[j] = mix64(h)
    return out
