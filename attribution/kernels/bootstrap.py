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


#: Most entries of the inversion table (the draw is capped at this count, as in
#: :func:`poisson`).
_TABLE = 1001
#: Most replicates drawn together by one task of :func:`replicate_sums`.
REPLICATE_CHUNK = 32


@njit(cache=True, inline="always")
def _inverse(u: float, lam: float, table: np.ndarray, state: np.ndarray) -> float:
    """The inversion draw of :func:`poisson` for ``lam <= 30`` from its uniform ``u``,
    with the cumulative probabilities kept in ``table`` between calls (``state``: the
    table's λ, entries filled, last probability). The table's entries are the running
    sums :func:`poisson` computes, in the same order, so the draw is the same."""
    if state[0] != lam:
        state[0] = lam
        p = math.exp(-lam)
        table[0] = p
        state[1] = 1.0
        state[2] = p
    k = 0
    while u > table[k] and k < _TABLE - 1:
        k += 1
        if k == int(state[1]):
            state[2] *= lam / k
            table[k] = table[k - 1] + state[2]
            state[1] = k + 1.0
    return float(k)


@njit(cache=True, inline="always")
def _draws(
    seed: np.uint64,
    key: np.uint64,
    lam: float,
    salts: np.ndarray,
    first: int,
    table: np.ndarray,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out[q] = Poisson(lam) / lam`` of replicate ``first + q`` (``salts[q]``: the
    replicate's counter mix, :func:`uniform` with draw 0)."""
    if 0.0 < lam <= 30.0:
        for q in range(len(out)):
            h = mix64(seed ^ mix64(key ^ salts[q]))
            u = float(h >> np.uint64(11)) * _TO_UNIT
            out[q] = _inverse(u, lam, table, state) / lam
    else:
        for q in range(len(out)):
            out[q] = poisson(seed, key, np.uint64(first + q), lam) / lam


@njit(cache=True)
def _salts(first: int, count: int) -> np.ndarray:
    out = np.empty(count, np.uint64)
    for q in range(count):
        out[q] = mix64(np.uint64(first + q) * _GOLDEN + np.uint64(0))
    return out


@njit(cache=True, parallel=True)
def poisson_multipliers(
    keys: np.ndarray, lam: np.ndarray, seed: np.uint64, first: int, count: int
) -> np.ndarray:
    """``out[j, r] = Poisson(lam[j]) / lam[j]`` for replicates ``first .. first+count-1``:
    the factor that turns record ``j`` (standing for ``lam[j]`` journeys) into its
    bootstrap replicate (the draws of :func:`poisson`)."""
    n = len(keys)
    out = np.empty((n, count), np.float64)
    salts = _salts(first, count)
    n_tasks = max(1, min(n, 64))
    for task in prange(n_tasks):
        table = np.empty(_TABLE, np.float64)
        state = np.array([-1.0, 0.0, 0.0])
        for j in range(n * task // n_tasks, n * (task + 1) // n_tasks):
            _draws(seed, keys[j], lam[j], salts, first, table, state, out[j])
    return out


@njit(cache=True, parallel=True)
def replicate_sums(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    keys: np.ndarray,
    lam: np.ndarray,
    seed: np.uint64,
    first: int,
    out: np.ndarray,
) -> None:
    """``out[r, k] += Σ_j M[j, k] · w_jr``: the replicate sums of a records x columns
    matrix ``M`` for replicates ``first .. first + len(out) - 1``, with the factors
    ``w_jr = Poisson(lam[j]) / lam[j]`` of :func:`poisson_multipliers` drawn on the fly
    (never held as a matrix).

    ``M`` is the sum of ``P`` sparse row blocks sharing ``indices`` and ``data``: record
    ``j``'s entries of part ``p`` are ``indptr[p, j] .. indptr[p, j + 1]`` (so parts built
    apart need no merge). Replicates are spread over threads in chunks, each summing
    over the records in order, so the sums do not depend on the thread count; adding
    into ``out`` makes calls over consecutive record blocks the same as one call."""
    count, n_columns = out.shape
    n = len(keys)
    n_parts = indptr.shape[0]
    n_tasks = (count + REPLICATE_CHUNK - 1) // REPLICATE_CHUNK
    for task in prange(n_tasks):
        r0 = count * task // n_tasks
        width = count * (task + 1) // n_tasks - r0
        salts = _salts(first + r0, width)
        acc = np.empty((n_columns, width), np.float64)
        for k in range(n_columns):
            for q in range(width):
                acc[k, q] = out[r0 + q, k]
        factors = np.empty(width, np.float64)
        table = np.empty(_TABLE, np.float64)
        state = np.array([-1.0, 0.0, 0.0])
        for j in range(n):
            empty = True
            for part in range(n_parts):
                if indptr[part, j] != indptr[part, j + 1]:
                    empty = False
            if empty:
                continue
            _draws(seed, keys[j], lam[j], salts, first + r0, table, state, factors)
            for part in range(n_parts):
                for p in range(indptr[part, j], indptr[part, j + 1]):
                    v = data[p]
                    row = acc[indices[p]]
                    for q in range(width):
                        row[q] += v * factors[q]
        for k in range(n_columns):
            for q in range(width):
                out[r0 + q, k] = acc[k, q]


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
