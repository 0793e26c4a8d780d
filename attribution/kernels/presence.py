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

**Features of a pattern**: the baseline, the bits of ``present`` (one effect per
channel), of ``recent`` (one per channel) and the selected pairs whose two channels are
both present. The fit's kernels take them as one flat list of parameter indices per
pattern (:func:`pattern_features`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Fibonacci hashing multipliers for the two masks of a pattern.
_HASH_PRESENT = np.uint64(0x9E3779B97F4A7C15)
_HASH_RECENT = np.uint64(0xC2B2AE3D27D4EB4F)
#: Blocks of patterns of :func:`weighted_feature_sums`: at most this many, of at least
#: ``BLOCK_PATTERNS`` patterns, with at most ``BLOCK_CROSS_CELLS`` cross sums in all
#: (but always one block, however many cross sums it has).
PATTERN_BLOCKS = 16
BLOCK_PATTERNS = 4096
BLOCK_CROSS_CELLS = 1 << 21


@njit(cache=True, inline="always")
def _slot(keys: np.ndarray, present: np.int64, recent: np.int64, shift: np.uint64) -> int:
    """Slot of a pattern in an open-addressing table of ``2^(64 - shift)`` rows whose
    first two words ``keys[slot]`` are the pattern ``(present, recent)`` (``present ==
    -1``: empty)."""
    mask = len(keys) - 1
    h = (np.uint64(present) * _HASH_PRESENT) ^ (np.uint64(recent) * _HASH_RECENT)
    slot = np.int64(h >> shift) & mask
    while keys[slot, 0] != -1 and (keys[slot, 0] != present or keys[slot, 1] != recent):
        slot = (slot + 1) & mask
    return slot


@njit(cache=True, nogil=True)
def _empty_table(bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A table of ``2^bits`` empty rows ``(present, recent, at_risk, conversions)``: the
    float rows, the same memory as integers (the keys) and the conversions' values."""
    rows = np.zeros((1 << bits, 4), np.float64)
    keys = rows.view(np.int64)
    keys[:, 0] = -1
    return rows, keys, np.zeros(1 << bits, np.float64)


@njit(cache=True, nogil=True)
def _step_masks(
    channel: np.ndarray, start: int, k: int, guard: int, recent_steps: int, present: np.int64
) -> tuple[np.int64, np.int64]:
    """The pattern of step ``k`` of the journey whose touches start at ``start``:
    ``present`` (the previous step's) with the touch that enters the exposure at this
    step (the newest touch ``guard`` steps back), and the channels of the
    ``recent_steps`` newest exposed touches."""
    one = np.int64(1)
    exposed = k - guard
    recent = np.int64(0)
    if exposed >= 0:
        present |= one << np.int64(channel[start + exposed])
        for p in range(max(0, exposed - recent_steps + 1), exposed + 1):
            recent |= one << np.int64(channel[start + p])
    return present, recent


@njit(cache=True, nogil=True)
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

    A hash group-by (open addressing, load at most 3/4) whose row of 32 bytes holds a
    pattern's masks beside its sums, so a look-up touches one row; a pattern is looked up
    only when it changes from one step to the next. Patterns come out in table order
    (each once, every sum added in journey order). It releases the GIL, so chunks of
    journeys can be counted on several threads and the counts merged.
    """
    bits = 10
    rows, keys, values = _empty_table(bits)
    n_patterns = 0
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        n = end - start
        w = weight[j]
        present = np.int64(0)
        last_present = np.int64(-1)
        last_recent = np.int64(-1)
        row = -1
        for k in range(n):
            present, recent = _step_masks(channel, start, k, guard, recent_steps, present)
            if present != last_present or recent != last_recent:
                if 4 * (n_patterns + 1) > 3 * len(rows):
                    bits += 1
                    old_rows, old_keys, old_values = rows, keys, values
                    rows, keys, values = _empty_table(bits)
                    for s in range(len(old_rows)):
                        if old_keys[s, 0] != -1:
                            moved = _slot(
                                keys, old_keys[s, 0], old_keys[s, 1], np.uint64(64 - bits)
                            )
                            rows[moved] = old_rows[s]
                            values[moved] = old_values[s]
                row = _slot(keys, present, recent, np.uint64(64 - bits))
                if keys[row, 0] == -1:
                    keys[row, 0] = present
                    keys[row, 1] = recent
                    n_patterns += 1
                last_present, last_recent = present, recent
            if converted[j] and k == n - 1:
                rows[row, 3] += w
                values[row] += value[j]
            else:
                rows[row, 2] += w
    found = np.flatnonzero(keys[:, 0] != -1)
    return keys[found, 0], keys[found, 1], rows[found, 2], rows[found, 3], values[found]


@njit(cache=True, nogil=True)
def group_features(
    masks: np.ndarray,
    offset: int,
    with_baseline: bool,
    pair_first: np.ndarray,
    pair_second: np.ndarray,
    pair_offset: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The parameters each distinct mask adds to ``λ``, as a flat list with offsets: the
    baseline (parameter 0) if ``with_baseline``, ``offset + c`` for each channel ``c`` of
    the mask, and ``pair_offset + q`` for each pair ``q`` with both channels in it."""
    n = len(masks)
    counts = np.zeros(n + 1, np.int64)
    for t in range(n):
        k = 1 if with_baseline else 0
        for c in range(63):
            k += masks[t] >> np.int64(c) & 1
        for q in range(len(pair_first)):
            if masks[t] >> pair_first[q] & 1 and masks[t] >> pair_second[q] & 1:
                k += 1
        counts[t + 1] = counts[t] + k
    features = np.empty(counts[-1], np.int64)
    for t in range(n):
        slot = counts[t]
        if with_baseline:
            features[slot] = 0
            slot += 1
        for c in range(63):
            if masks[t] >> np.int64(c) & 1:
                features[slot] = offset + c
                slot += 1
        for q in range(len(pair_first)):
            if masks[t] >> pair_first[q] & 1 and masks[t] >> pair_second[q] & 1:
                features[slot] = pair_offset + q
                slot += 1
    return features, counts


@njit(cache=True, nogil=True)
def _group_totals(theta: np.ndarray, features: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    out = np.empty(len(offsets) - 1, np.float64)
    for g in range(len(out)):
        total = 0.0
        for i in range(offsets[g], offsets[g + 1]):
            total += theta[features[i]]
        out[g] = total
    return out


@njit(cache=True, nogil=True)
def pattern_hazards(
    theta: np.ndarray,
    present_id: np.ndarray,
    recent_id: np.ndarray,
    present_features: np.ndarray,
    present_offsets: np.ndarray,
    recent_features: np.ndarray,
    recent_offsets: np.ndarray,
) -> np.ndarray:
    """``λ`` of every pattern: its present mask's parameters (baseline, presence effects,
    pairs) plus its recent mask's (recency effects), each summed once per distinct mask."""
    by_present = _group_totals(theta, present_features, present_offsets)
    by_recent = _group_totals(theta, recent_features, recent_offsets)
    out = np.empty(len(present_id), np.float64)
    for t in range(len(out)):
        out[t] = by_present[present_id[t]] + by_recent[recent_id[t]]
    return out


@njit(cache=True, parallel=True, nogil=True)
def log_likelihood(hazards: np.ndarray, at_risk: np.ndarray, conversions: np.ndarray) -> float:
    """``ℓ = Σ_t [y_t log(1 - e^{-λ_t}) - s_t λ_t]``: the logarithms on all threads, the
    sum in pattern order on one (so the total does not depend on the threads)."""
    n = len(hazards)
    logs = np.zeros(n, np.float64)
    for t in prange(n):
        if conversions[t] != 0.0:
            logs[t] = np.log(-np.expm1(-hazards[t]))
    value = 0.0
    for t in range(n):
        value -= at_risk[t] * hazards[t]
        if conversions[t] != 0.0:
            value += conversions[t] * logs[t]
    return value


@njit(cache=True, parallel=True, nogil=True)
def log_likelihood_terms(
    hazards: np.ndarray, at_risk: np.ndarray, conversions: np.ndarray, information: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pattern of ``ℓ`` (its total is :func:`log_likelihood`): the derivative
    ``y_t / (e^{λ_t} - 1) - s_t``, the curvature of ``-ℓ`` ``y_t e^{λ_t} / (e^{λ_t} - 1)²``
    and, if ``information``, the expected Fisher information ``(s_t + y_t) / (e^{λ_t} - 1)``
    (else an empty array). Each pattern's terms are its own: computed on all threads."""
    n = len(hazards)
    derivative = np.empty(n, np.float64)
    curvature = np.zeros(n, np.float64)
    fisher = np.empty(n if information else 0, np.float64)
    for t in prange(n):
        y = conversions[t]
        derivative[t] = -at_risk[t]
        if y != 0.0 or information:
            grow = np.expm1(hazards[t])
            if y != 0.0:
                derivative[t] += y / grow
                curvature[t] = y * (grow + 1.0) / (grow * grow)
            if information:
                fisher[t] = (at_risk[t] + y) / grow
    return derivative, curvature, fisher


@njit(cache=True, parallel=True, nogil=True)
def _mask_sums(
    first: np.ndarray,
    second: np.ndarray,
    present_id: np.ndarray,
    recent_id: np.ndarray,
    present_features: np.ndarray,
    present_offsets: np.ndarray,
    present_sums: np.ndarray,
    recent_sums: np.ndarray,
    cross: np.ndarray,
) -> None:
    """Block ``b``'s sums of ``first`` and ``second`` by present and by recent mask
    (``present_sums[b, 0 or 1]``, ``recent_sums[b, 0 or 1]``) and of ``second_t P_t`` by
    recent mask (``cross[b]``), the blocks on all threads."""
    n, blocks = len(first), len(cross)
    size = (n + blocks - 1) // blocks
    for b in prange(blocks):
        for t in range(min(b * size, n), min((b + 1) * size, n)):
            p, r = present_id[t], recent_id[t]
            present_sums[b, 0, p] += first[t]
            recent_sums[b, 0, r] += first[t]
            w = second[t]
            if w == 0.0:
                continue
            present_sums[b, 1, p] += w
            recent_sums[b, 1, r] += w
            for i in range(present_offsets[p], present_offsets[p + 1]):
                cross[b, r, present_features[i]] += w


def weighted_feature_sums(
    first: np.ndarray,
    second: np.ndarray,
    present_id: np.ndarray,
    recent_id: np.ndarray,
    present_features: np.ndarray,
    present_offsets: np.ndarray,
    recent_features: np.ndarray,
    recent_offsets: np.ndarray,
    n_parameters: int,
    by_mask: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``Σ_t first_t x_t`` (a gradient) and ``Σ_t second_t x_t x_tᵀ`` (a Hessian or
    information matrix) over patterns, through the distinct masks.

    A pattern's features are those of its present mask (``P``) and of its recent mask
    (``R``, disjoint from ``P``'s). Sums by mask make the ``P·Pᵀ`` and ``R·Rᵀ`` blocks cost
    per distinct mask; the cross block ``Σ_t second_t P_t R_tᵀ`` is accumulated by recent
    mask. Also returned: ``Σ_t second_t`` and ``Σ_t second_t x_t`` by present mask (what
    the score test of pairs needs: the pairs' features depend on the present mask only),
    if ``by_mask`` (else an array of no rows: the fit's Newton steps do not need it).

    The sums by mask are accumulated over fixed blocks of patterns on all threads
    (:func:`_mask_sums`) and added up in block order: up to :data:`PATTERN_BLOCKS`
    blocks of at least :data:`BLOCK_PATTERNS` patterns, fewer where the blocks' cross
    sums would pass :data:`BLOCK_CROSS_CELLS`. The blocks depend on the sizes of the
    design alone, so the result does not depend on the number of threads. (The blocks
    are allocated and added up here, in Python, as for the hazard kernels: a cached
    serial kernel that calls a parallel one crashes when loaded from numba's cache.)
    """
    n_present = len(present_offsets) - 1
    n_recent = len(recent_offsets) - 1
    n = len(first)
    cells = max(n_recent * n_parameters, 1)
    blocks = max(1, min(PATTERN_BLOCKS, n // BLOCK_PATTERNS, BLOCK_CROSS_CELLS // cells))
    present_sums = np.zeros((blocks, 2, n_present))
    recent_sums = np.zeros((blocks, 2, n_recent))
    cross = np.zeros((blocks, n_recent, n_parameters))
    _mask_sums(
        first, second, present_id, recent_id, present_features, present_offsets,
        present_sums, recent_sums, cross,
    )  # fmt: skip
    for b in range(1, blocks):  # in block order
        present_sums[0] += present_sums[b]
        recent_sums[0] += recent_sums[b]
        cross[0] += cross[b]
    by_present = np.zeros((n_present if by_mask else 0, n_parameters))
    if by_mask:
        _recency_by_present(
            second, present_id, recent_id, recent_features, recent_offsets, by_present
        )
    return _feature_sums(
        present_features, present_offsets, recent_features, recent_offsets, n_parameters,
        present_sums[0], recent_sums[0], cross[0], by_present,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _recency_by_present(
    second: np.ndarray,
    present_id: np.ndarray,
    recent_id: np.ndarray,
    recent_features: np.ndarray,
    recent_offsets: np.ndarray,
    by_present: np.ndarray,
) -> None:
    """Adds ``Σ_t second_t x_t`` by present mask, its recency part, to ``by_present``."""
    for t in range(len(second)):
        w = second[t]
        if w != 0.0:
            p, r = present_id[t], recent_id[t]
            for i in range(recent_offsets[r], recent_offsets[r + 1]):
                by_present[p, recent_features[i]] += w


@njit(cache=True, nogil=True)
def _feature_sums(
    present_features: np.ndarray,
    present_offsets: np.ndarray,
    recent_features: np.ndarray,
    recent_offsets: np.ndarray,
    n_parameters: int,
    present_sums: np.ndarray,
    recent_sums: np.ndarray,
    cross: np.ndarray,
    by_present: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`weighted_feature_sums` from the sums by mask (``present_sums``,
    ``recent_sums``: ``first`` and ``second`` by mask; ``cross``: ``second_t P_t`` by
    recent mask) and, when it has rows, ``by_present`` holding its recency part."""
    n_present = len(present_offsets) - 1
    n_recent = len(recent_offsets) - 1
    by_mask = len(by_present) > 0
    first_present, second_present = present_sums[0], present_sums[1]
    first_recent, second_recent = recent_sums[0], recent_sums[1]
    gradient = np.zeros(n_parameters, np.float64)
    matrix = np.zeros((n_parameters, n_parameters), np.float64)
    for p in range(n_present):
        if first_present[p] == 0.0 and second_present[p] == 0.0:
            continue  # no pattern of the mask has a weight: it adds nothing
        start, end = present_offsets[p], present_offsets[p + 1]
        for i in range(start, end):
            a = present_features[i]
            gradient[a] += first_present[p]
            if by_mask:
                by_present[p, a] += second_present[p]
            for k in range(start, end):
                matrix[a, present_features[k]] += second_present[p]
    for r in range(n_recent):
        start, end = recent_offsets[r], recent_offsets[r + 1]
        for i in range(start, end):
            a = recent_features[i]
            gradient[a] += first_recent[r]
            for k in range(start, end):
                matrix[a, recent_features[k]] += second_recent[r]
            for b in range(n_parameters):
                value = cross[r, b]
                if value != 0.0:
                    matrix[a, b] += value
                    matrix[b, a] += value
    return gradient, matrix, second_present, by_present


@njit(cache=True, nogil=True)
def cholesky_solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``matrix⁻¹ rhs`` for a symmetric positive definite ``matrix`` (Cholesky,
    ``matrix = L Lᵀ``); ``rhs`` may have several columns. Written out so the small dense
    systems of the fit never wake BLAS threads."""
    n = matrix.shape[0]
    lower = np.zeros((n, n), np.float64)
    for j in range(n):
        total = matrix[j, j]
        for k in range(j):
            total -= lower[j, k] * lower[j, k]
        lower[j, j] = np.sqrt(total)
        for i in range(j + 1, n):
            total = matrix[i, j]
            for k in range(j):
                total -= lower[i, k] * lower[j, k]
            lower[i, j] = total / lower[j, j]
    out = rhs.copy()
    for column in range(out.shape[1]):
        for i in range(n):
            total = out[i, column]
            for k in range(i):
                total -= lower[i, k] * out[k, column]
            out[i, column] = total / lower[i, i]
        for i in range(n - 1, -1, -1):
            total = out[i, column]
            for k in range(i + 1, n):
                total -= lower[k, i] * out[k, column]
            out[i, column] = total / lower[i, i]
    return out


@njit(cache=True, nogil=True)
def pair_score_sums(
    score_present: np.ndarray,
    information_present: np.ndarray,
    information_by_present: np.ndarray,
    present_masks: np.ndarray,
    free: np.ndarray,
    n_free: int,
    n_channels: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The score ``U``, information ``I_zz`` and cross information ``I_zF`` (pairs × free
    parameters) of every candidate pair ``(a, b)`` (``a < b``, index ``a·C + b``), from
    sums by distinct present mask: the pair's feature "both present" is 1 in the
    patterns of the masks that hold both channels. ``free[f]`` is parameter ``f``'s
    index among the free parameters (-1 if fixed)."""
    n_pairs = n_channels * n_channels
    u = np.zeros(n_pairs, np.float64)
    i_zz = np.zeros(n_pairs, np.float64)
    i_zf = np.zeros((n_pairs, n_free), np.float64)
    channels = np.empty(64, np.int64)
    for p in range(len(present_masks)):
        k = 0
        for c in range(n_channels):
            if present_masks[p] >> np.int64(c) & 1:
                channels[k] = c
                k += 1
        for x in range(k):
            for y in range(x + 1, k):
                pair = channels[x] * n_channels + channels[y]
                u[pair] += score_present[p]
                i_zz[pair] += information_present[p]
                for f in range(len(free)):
                    if free[f] >= 0:
                        i_zf[pair, free[f]] += information_by_present[p, f]
    return u, i_zz, i_zf


@njit(cache=True, parallel=True)
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
    wanted: np.ndarray,
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
    """Every ``wanted`` journey's cumulative hazard over its steps, split by channel and
    pair (the others get their ``base`` only: no members, no pairs, touch weights 0).

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
    n_chunks = max(1, min(n_journeys // 1024, 256))
    member_counts = np.zeros(n_journeys + 1, np.int64)
    pair_counts = np.zeros(n_journeys + 1, np.int64)
    # Pass 1: the members and pairs of each journey, from its channels' bit mask.
    one = np.int64(1)
    for j in prange(n_journeys):
        if not wanted[j]:
            continue
        mask = np.int64(0)
        for i in range(offsets[j], offsets[j + 1]):
            mask |= one << np.int64(channel[i])
        k = 0
        rest = mask
        while rest:
            rest &= rest - one
            k += 1
        member_counts[j + 1] = k
        p = 0
        for q in range(len(pair_first)):
            if mask >> pair_first[q] & one and mask >> pair_second[q] & one:
                p += 1
        pair_counts[j + 1] = p
    member_counts = np.cumsum(member_counts)
    pair_counts = np.cumsum(pair_counts)
    base = np.empty(n_journeys, np.float64)
    touch_weight = np.zeros(len(channel), np.float64)
    member_channel = np.empty(member_counts[-1], np.int64)
    member_part = np.zeros(member_counts[-1], np.float64)
    pair_members = np.empty((pair_counts[-1], 2), np.int64)
    pair_part = np.zeros(pair_counts[-1], np.float64)
    # Pass 2: the terms.
    for chunk in prange(n_chunks):
        first = np.full(n_channels, -1, np.int64)
        following = np.full(n_channels, -1, np.int64)
        local = np.full(n_channels, -1, np.int64)
        for j in range(chunk * n_journeys // n_chunks, (chunk + 1) * n_journeys // n_chunks):
            if not wanted[j]:
                base[j] = baseline * (offsets[j + 1] - offsets[j])
                continue
            _journey_terms_of(
                j, channel, offsets, guard, recent_steps, baseline, presence_effect,
                recent_effect, pair_first, pair_second, pair_effect, member_counts,
                pair_counts, base, touch_weight, member_channel, member_part,
                pair_members, pair_part, first, following, local,
            )  # fmt: skip
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


@njit(cache=True, inline="always")
def _journey_terms_of(
    j: int,
    channel: np.ndarray,
    offsets: np.ndarray,
    guard: int,
    recent_steps: int,
    baseline: float,
    presence_effect: np.ndarray,
    recent_effect: np.ndarray,
    pair_first: np.ndarray,
    pair_second: np.ndarray,
    pair_effect: np.ndarray,
    member_counts: np.ndarray,
    pair_counts: np.ndarray,
    base: np.ndarray,
    touch_weight: np.ndarray,
    member_channel: np.ndarray,
    member_part: np.ndarray,
    pair_members: np.ndarray,
    pair_part: np.ndarray,
    first: np.ndarray,
    following: np.ndarray,
    local: np.ndarray,
) -> None:
    """The terms of journey ``j`` (see :func:`journey_terms`); ``first``, ``following``
    and ``local`` are scratch arrays, all -1 on entry and on exit."""
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
        # A touch of c at position p is c's newest recent touch from step p + g until
        # the window passes it (p + g + m - 1) or the next touch of c takes over.
        for position in range(n):
            c = channel[start + position]
            if following[c] >= 0:
                _recent_part(following[c], position, n, guard, recent_steps, start, c,
                             slot + local[c], recent_effect, member_part, touch_weight)  # fmt: skip
            following[c] = position
        for a in range(k):
            c = member_channel[slot + a]
            _recent_part(following[c], -1, n, guard, recent_steps, start, c, slot + a,
                         recent_effect, member_part, touch_weight)  # fmt: skip
            following[c] = -1
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


@njit(cache=True, inline="always")
def _recent_part(
    position: int,
    following: int,
    n: int,
    guard: int,
    recent_steps: int,
    start: int,
    c: int,
    member: int,
    recent_effect: np.ndarray,
    member_part: np.ndarray,
    touch_weight: np.ndarray,
) -> None:
    """Add the recency part of the touch at ``position`` (the next touch of its channel
    at ``following``, -1 if none) to its channel and to its weight."""
    stop = min(n - 1, position + guard + recent_steps - 1)
    if following >= 0:
        stop = min(stop, following + guard - 1)
    steps = stop - (position + guard) + 1
    if steps > 0:
        part = recent_effect[c] * steps
        member_part[member] += part
        touch_weight[start + position] += part


@njit(cache=True, inline="always")
def _pattern_index(
    present_sorted: np.ndarray, recent_sorted: np.ndarray, present: np.int64, recent: np.int64
) -> int:
    """Position of the pattern ``(present, recent)`` among patterns sorted by present
    mask, then recent mask (binary search; the pattern must be among them)."""
    low, high = 0, len(present_sorted)
    while low < high:
        middle = (low + high) // 2
        p, r = present_sorted[middle], recent_sorted[middle]
        if p < present or (p == present and r < recent):
            low = middle + 1
        else:
            high = middle
    return low


@njit(cache=True, nogil=True)
def pattern_rows(
    channel: np.ndarray,
    offsets: np.ndarray,
    converted: np.ndarray,
    weight: np.ndarray,
    value: np.ndarray,
    guard: int,
    recent_steps: int,
    present_sorted: np.ndarray,
    recent_sorted: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each journey's part of :func:`count_patterns`' sums, as sparse rows over the
    columns of a bootstrap design (a replicate's counts are these rows' sums weighted
    by its factors).

    ``present_sorted`` / ``recent_sorted``: the ``P`` counted patterns, sorted by present
    then recent mask (every step pattern of these journeys is among them). Columns:
    ``p`` the steps lived through in pattern ``p`` (the journey's weight per step),
    ``P + p`` / ``2P + p`` the conversions and their value in pattern ``p``, ``3P`` the
    weight of the journeys with touches. Consecutive steps of one pattern make one
    entry."""
    n = len(offsets) - 1
    n_patterns = len(present_sorted)
    total = (offsets[n] - offsets[0]) + 3 * n
    lengths = np.zeros(n, np.int64)
    indices = np.empty(total, np.int64)
    data = np.empty(total, np.float64)
    w = 0
    for j in range(n):
        start, end = offsets[j], offsets[j + 1]
        steps = end - start
        if steps == 0:
            continue
        before = w
        weight_j = weight[j]
        present = np.int64(0)
        last_present = np.int64(-1)
        last_recent = np.int64(-1)
        run = 0  # steps at risk in the current pattern
        pattern = -1
        for k in range(steps):
            present, recent = _step_masks(channel, start, k, guard, recent_steps, present)
            if present != last_present or recent != last_recent:
                if run:
                    indices[w] = pattern
                    data[w] = weight_j * run
                    w += 1
                    run = 0
                pattern = _pattern_index(present_sorted, recent_sorted, present, recent)
                last_present, last_recent = present, recent
            if converted[j] and k == steps - 1:
                indices[w] = n_patterns + pattern
                data[w] = weight_j
                indices[w + 1] = 2 * n_patterns + pattern
                data[w + 1] = value[j]
                w += 2
            else:
                run += 1
        if run:
            indices[w] = pattern
            data[w] = weight_j * run
            w += 1
        indices[w] = 3 * n_patterns
        data[w] = weight_j
        w += 1
        lengths[j] = w - before
    return lengths, indices[:w].copy(), data[:w].copy()
