"""Numba kernels of the ``presence`` model (see :mod:`attribution.models.presence`).

**Steps and exposure patterns.** A journey of ``n`` touches has ``n`` steps: step ``k``
(0-based) is the time after its touch ``k``, until the next touch (or the end of the
data). A converted journey converts in its last step; the others live through every
step. With guard ``g`` and recency window ``m``, the exposure of step ``k`` is made of
the touches ``0 .. k - g``: the bit mask ``present`` of the channels among them and the
mask ``recent`` of the channels among the last ``m`` of them (positions
``k - g - m + 1 .. k - g``). A step's *pattern* is the pair ``(present, recent)``.

**Statistics** (:func:`count_patterns`): per distinct pattern, the weighted number of
steps lived through without converting (``at_risk``) and the weighted conversions.
They are sums over journeys.

**Features of a pattern**: the bits of ``present`` (one effect per channel), of
``recent`` (one per channel) and of the selected pairs (both channels present). The
fit's kernels work on patterns through flat member lists: ``present_members`` /
``recent_members`` / ``pair_members`` with offsets per pattern.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Fibonacci hashing multipliers for the two masks of a pattern.
_HASH_PRESENT = np.uint64(0x9E3779B97F4A7C15)
_HASH_RECENT = np.uint64(0xC2B2AE3D27D4EB4F)


@njit(cache=True, inline="always")
def _slot(
    present_keys: np.ndarray,
    recent_keys: np.ndarray,
    present: np.int64,
    recent: np.int64,
    shift: np.uint64,
) -> int:
    """Slot of a pattern in an open-addressing table of ``2^(64 - shift)`` slots
    (``present_keys == -1``: empty)."""
    mask = len(present_keys) - 1
    h = (np.uint64(present) * _HASH_PRESENT) ^ (np.uint64(recent) * _HASH_RECENT)
    slot = np.int64(h >> shift) & mask
    while present_keys[slot] != -1 and (
        present_keys[slot] != present or recent_keys[slot] != recent
    ):
        slot = (slot + 1) & mask
    return slot


@njit(cache=True)
def count_patterns(
    channel: np.ndarray,
    offsets: np.ndarray,
    converted: np.ndarray,
    weight: np.ndarray,
    value: np.ndarray,
    guard: int,
    recent_steps: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct step patterns ``(present, recent)`` of every journey with touches, with
    the weighted steps lived through (``at_risk``), the weighted conversions and the
    value of those conversions of each.

    A hash group-by whose table and arrays double as patterns are found; a pattern is
    looked up only when it changes from one step to the next.
    """
    bits = 10
    size = 1 << bits
    present_keys = np.full(size, -1, np.int64)
    recent_keys = np.zeros(size, np.int64)
    ids = np.zeros(size, np.int64)
    present_of = np.zeros(size, np.int64)
    recent_of = np.zeros(size, np.int64)
    at_risk = np.zeros(size, np.float64)
    conversions = np.zeros(size, np.float64)
    conversion_value = np.zeros(size, np.float64)
    n_patterns = 0
    one = np.int64(1)
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        n = end - start
        w = weight[j]
        present = np.int64(0)
        last_present = np.int64(-1)
        last_recent = np.int64(-1)
        pattern = -1
        for k in range(n):
            exposed = k - guard  # the newest touch in the exposure of step k
            recent = np.int64(0)
            if exposed >= 0:
                present |= one << np.int64(channel[start + exposed])
                for p in range(max(0, exposed - recent_steps + 1), exposed + 1):
                    recent |= one << np.int64(channel[start + p])
            if present != last_present or recent != last_recent:
                if 2 * (n_patterns + 1) > len(present_keys):
                    bits += 1
                    size = 1 << bits
                    present_keys = np.full(size, -1, np.int64)
                    recent_keys = np.zeros(size, np.int64)
                    ids = np.zeros(size, np.int64)
                    for q in range(n_patterns):
                        s = _slot(
                            present_keys,
                            recent_keys,
                            present_of[q],
                            recent_of[q],
                            np.uint64(64 - bits),
                        )
                        present_keys[s] = present_of[q]
                        recent_keys[s] = recent_of[q]
                        ids[s] = q
                    present_of = _grown(present_of, size)
                    recent_of = _grown(recent_of, size)
                    at_risk = _grown(at_risk, size)
                    conversions = _grown(conversions, size)
                    conversion_value = _grown(conversion_value, size)
                slot = _slot(present_keys, recent_keys, present, recent, np.uint64(64 - bits))
                if present_keys[slot] == -1:
                    present_keys[slot] = present
                    recent_keys[slot] = recent
                    ids[slot] = n_patterns
                    present_of[n_patterns] = present
                    recent_of[n_patterns] = recent
                    n_patterns += 1
                pattern = ids[slot]
                last_present, last_recent = present, recent
            if converted[j] and k == n - 1:
                conversions[pattern] += w
                conversion_value[pattern] += value[j]
            else:
                at_risk[pattern] += w
    return (
        present_of[:n_patterns].copy(),
        recent_of[:n_patterns].copy(),
        at_risk[:n_patterns].copy(),
        conversions[:n_patterns].copy(),
        conversion_value[:n_patterns].copy(),
    )


@njit(cache=True)
def _grown(values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, values.dtype)
    out[: len(values)] = values
    return out


@njit(cache=True)
def mask_member_lists(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The set bits of every mask, ascending, as a flat list with offsets."""
    counts = np.zeros(len(masks) + 1, np.int64)
    for t in range(len(masks)):
        m = masks[t]
        k = 0
        while m:
            m &= m - 1
            k += 1
        counts[t + 1] = counts[t] + k
    members = np.empty(counts[-1], np.int64)
    for t in range(len(masks)):
        slot = counts[t]
        for c in range(63):
            if masks[t] >> np.int64(c) & 1:
                members[slot] = c
                slot += 1
    return members, counts


@njit(cache=True)
def pattern_pairs(
    present: np.ndarray, pair_first: np.ndarray, pair_second: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The selected pairs (indices) whose two channels are both present, per pattern."""
    counts = np.zeros(len(present) + 1, np.int64)
    for t in range(len(present)):
        k = 0
        for p in range(len(pair_first)):
            if present[t] >> pair_first[p] & 1 and present[t] >> pair_second[p] & 1:
                k += 1
        counts[t + 1] = counts[t] + k
    members = np.empty(counts[-1], np.int64)
    for t in range(len(present)):
        slot = counts[t]
        for p in range(len(pair_first)):
            if present[t] >> pair_first[p] & 1 and present[t] >> pair_second[p] & 1:
                members[slot] = p
                slot += 1
    return members, counts


@njit(cache=True)
def pattern_hazards(
    theta: np.ndarray,
    n_channels: int,
    present_members: np.ndarray,
    present_offsets: np.ndarray,
    recent_members: np.ndarray,
    recent_offsets: np.ndarray,
    pair_members: np.ndarray,
    pair_offsets: np.ndarray,
) -> np.ndarray:
    """``λ`` of every pattern: ``θ_0 + Σ_present β + Σ_recent ρ + Σ_pairs δ``, with
    ``θ = (b, β_0 .. β_{C-1}, ρ_0 .. ρ_{C-1}, δ_0 ..)``."""
    n = len(present_offsets) - 1
    out = np.empty(n, np.float64)
    for t in range(n):
        total = theta[0]
        for i in range(present_offsets[t], present_offsets[t + 1]):
            total += theta[1 + present_members[i]]
        for i in range(recent_offsets[t], recent_offsets[t + 1]):
            total += theta[1 + n_channels + recent_members[i]]
        for i in range(pair_offsets[t], pair_offsets[t + 1]):
            total += theta[1 + 2 * n_channels + pair_members[i]]
        out[t] = total
    return out


@njit(cache=True)
def feature_sums(
    values: np.ndarray,
    n_parameters: int,
    n_channels: int,
    present_members: np.ndarray,
    present_offsets: np.ndarray,
    recent_members: np.ndarray,
    recent_offsets: np.ndarray,
    pair_members: np.ndarray,
    pair_offsets: np.ndarray,
) -> np.ndarray:
    """``Σ_t values[t] · x_t``: the per-pattern ``values`` summed onto each feature."""
    out = np.zeros(n_parameters, np.float64)
    for t in range(len(values)):
        v = values[t]
        out[0] += v
        for i in range(present_offsets[t], present_offsets[t + 1]):
            out[1 + present_members[i]] += v
        for i in range(recent_offsets[t], recent_offsets[t + 1]):
            out[1 + n_channels + recent_members[i]] += v
        for i in range(pair_offsets[t], pair_offsets[t + 1]):
            out[1 + 2 * n_channels + pair_members[i]] += v
    return out


@njit(cache=True)
def log_likelihood_terms(
    hazards: np.ndarray, at_risk: np.ndarray, conversions: np.ndarray
) -> tuple[float, np.ndarray]:
    """``ℓ = Σ_t [y_t log(1 - e^{-λ_t}) - s_t λ_t]`` and ``∂ℓ/∂λ_t = y_t / (e^{λ_t} - 1) - s_t``.

    (In numba rather than numpy: a BLAS dot product on a shared machine can cost
    milliseconds to wake its threads, which L-BFGS-B would pay at every evaluation.)
    """
    value = 0.0
    derivative = np.empty(len(hazards), np.float64)
    for t in range(len(hazards)):
        lam = hazards[t]
        value -= at_risk[t] * lam
        if conversions[t] != 0.0:
            value += conversions[t] * np.log(-np.expm1(-lam))
            derivative[t] = conversions[t] / np.expm1(lam) - at_risk[t]
        else:
            derivative[t] = -at_risk[t]
    return value, derivative


@njit(cache=True)
def pair_score_sums(
    present: np.ndarray,
    score: np.ndarray,
    information: np.ndarray,
    free: np.ndarray,
    n_channels: int,
    present_members: np.ndarray,
    present_offsets: np.ndarray,
    recent_members: np.ndarray,
    recent_offsets: np.ndarray,
    pair_members: np.ndarray,
    pair_offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the score test of every candidate pair needs, summed over patterns.

    ``score[t]`` and ``information[t]`` are pattern ``t``'s derivative of the
    log-likelihood in ``λ`` and its Fisher information; ``free[f]`` is the index of
    feature ``f`` among the free parameters (-1 if fixed). A candidate pair ``(a, b)``
    (``a < b``, channels) has the feature "both present". Returns, by pair ``a·C + b``:
    the score ``U`` and information ``I_zz``, the cross information ``I_zF`` with the
    free parameters (pairs × free), and the information ``I_FF`` of the free parameters.
    """
    n_free = 0
    for f in range(len(free)):
        if free[f] >= 0:
            n_free += 1
    n_pairs = n_channels * n_channels
    u = np.zeros(n_pairs, np.float64)
    i_zz = np.zeros(n_pairs, np.float64)
    i_zf = np.zeros((n_pairs, n_free), np.float64)
    i_ff = np.zeros((n_free, n_free), np.float64)
    features = np.empty(1 + 3 * 64 + len(free), np.int64)
    channels = np.empty(64, np.int64)
    for t in range(len(score)):
        info = information[t]
        k = 0
        if free[0] >= 0:
            features[k] = free[0]
            k += 1
        for i in range(present_offsets[t], present_offsets[t + 1]):
            f = free[1 + present_members[i]]
            if f >= 0:
                features[k] = f
                k += 1
        for i in range(recent_offsets[t], recent_offsets[t + 1]):
            f = free[1 + n_channels + recent_members[i]]
            if f >= 0:
                features[k] = f
                k += 1
        for i in range(pair_offsets[t], pair_offsets[t + 1]):
            f = free[1 + 2 * n_channels + pair_members[i]]
            if f >= 0:
                features[k] = f
                k += 1
        for x in range(k):
            for y in range(k):
                i_ff[features[x], features[y]] += info
        n_present = 0
        for i in range(present_offsets[t], present_offsets[t + 1]):
            channels[n_present] = present_members[i]
            n_present += 1
        for x in range(n_present):
            for y in range(x + 1, n_present):
                pair = channels[x] * n_channels + channels[y]
                u[pair] += score[t]
                i_zz[pair] += info
                for z in range(k):
                    i_zf[pair, features[z]] += info
    return u, i_zz, i_zf, i_ff


@njit(cache=True)
def journey_terms(
    channel: np.ndarray,
    offsets: np.ndarray,
    n_channels: int,
    guard: int,
    recent_steps: int,
    baseline: float,
    presence_effect: np.ndarray,
    recent_effect: np.ndarray,
    pair_first: np.ndarray,
    pair_second: np.ndarray,
    pair_effect: np.ndarray,
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]:
    """Every journey's cumulative hazard over its steps, split by channel and pair.

    With ``n`` steps, ``base = b·n``. Channel ``c`` first touched at position ``f_c``
    is present in ``N_c = max(0, n - f_c - g)`` steps and recent in ``M_c`` steps; its
    part is ``β_c·N_c + ρ_c·M_c``. A selected pair both present in ``N_ab`` steps has
    part ``δ_ab·N_ab``. Members (distinct channels) are listed in ascending code order.

    Touch weights (each touch's contribution to the journey's hazard, used to split a
    channel's credit over its touches): the first touch of ``c`` holds ``β_c·N_c`` and
    half of each part of a pair with ``c``; every touch holds ``ρ_c`` times the steps in
    which it is the newest recent touch of ``c``.

    Returns ``base``, ``member_offsets``, ``member_channel``, ``member_part``,
    ``pair_offsets``, ``pair_members`` (local member indices, two columns),
    ``pair_part`` and ``touch_weight``.
    """
    n_journeys = len(offsets) - 1
    base = np.empty(n_journeys, np.float64)
    touch_weight = np.zeros(len(channel), np.float64)
    first = np.full(n_channels, -1, np.int64)
    following = np.full(n_channels, -1, np.int64)
    next_same = np.empty(len(channel), np.int64)
    local = np.full(n_channels, -1, np.int64)
    member_counts = np.zeros(n_journeys + 1, np.int64)
    pair_counts = np.zeros(n_journeys + 1, np.int64)
    # Pass 1: sizes.
    for j in range(n_journeys):
        start, end = offsets[j], offsets[j + 1]
        k = 0
        for i in range(start, end):
            c = channel[i]
            if first[c] < 0:
                first[c] = i
                k += 1
        member_counts[j + 1] = member_counts[j] + k
        p = 0
        for q in range(len(pair_first)):
            if first[pair_first[q]] >= 0 and first[pair_second[q]] >= 0:
                p += 1
        pair_counts[j + 1] = pair_counts[j] + p
        for i in range(start, end):
            first[channel[i]] = -1
    member_channel = np.empty(member_counts[-1], np.int64)
    member_part = np.zeros(member_counts[-1], np.float64)
    pair_members = np.empty((pair_counts[-1], 2), np.int64)
    pair_part = np.zeros(pair_counts[-1], np.float64)
    # Pass 2: the terms.
    for j in range(n_journeys):
        start, end = offsets[j], offsets[j + 1]
        n = end - start
        base[j] = baseline * n
        slot = member_counts[j]
        k = 0
        for i in range(start, end):
            c = channel[i]
            if first[c] < 0:
                first[c] = i - start
                member_channel[slot + k] = c
                k += 1
        # Insertion sort of the members by channel code (journeys hold few channels).
        for a in range(1, k):
            value = member_channel[slot + a]
            b = a - 1
            while b >= 0 and member_channel[slot + b] > value:
                member_channel[slot + b + 1] = member_channel[slot + b]
                b -= 1
            member_channel[slot + b + 1] = value
        for a in range(k):
            local[member_channel[slot + a]] = a
        # Presence parts, held by each channel's first touch.
        for a in range(k):
            c = member_channel[slot + a]
            steps = max(0, n - first[c] - guard)
            part = presence_effect[c] * steps
            member_part[slot + a] += part
            touch_weight[start + first[c]] += part
        # Recency parts: step s (exposure up to position s - g) credits the newest touch
        # of each channel among positions s - g - m + 1 .. s - g.
        if recent_steps > 0:
            for position in range(n - 1, -1, -1):
                c = channel[start + position]
                next_same[start + position] = following[c]
                following[c] = position
            for position in range(n):
                c = channel[start + position]
                following[c] = -1
                # Steps where this touch is c's newest recent touch: from position + g
                # until the next touch of c takes over or the window passes it.
                stop = min(n - 1, position + guard + recent_steps - 1)
                if next_same[start + position] >= 0:
                    stop = min(stop, next_same[start + position] + guard - 1)
                steps = stop - (position + guard) + 1
                if steps > 0:
                    part = recent_effect[c] * steps
                    member_part[slot + local[c]] += part
                    touch_weight[start + position] += part
        # Pair parts, held half by the first touch of each of the two channels.
        pslot = pair_counts[j]
        for q in range(len(pair_first)):
            a, b = pair_first[q], pair_second[q]
            if first[a] >= 0 and first[b] >= 0:
                steps = max(0, n - max(first[a], first[b]) - guard)
                part = pair_effect[q] * steps
                pair_members[pslot, 0] = local[a]
                pair_members[pslot, 1] = local[b]
                pair_part[pslot] = part
                touch_weight[start + first[a]] += 0.5 * part
                touch_weight[start + first[b]] += 0.5 * part
                pslot += 1
        for a in range(k):
            c = member_channel[slot + a]
            first[c] = -1
            local[c] = -1
    return (
        base,
        member_counts,
        member_channel,
        member_part,
        pair_counts,
        pair_members,
        pair_part,
        touch_weight,
    )
