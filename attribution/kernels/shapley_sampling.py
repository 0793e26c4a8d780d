"""Permutation sampling of the observed-rate game beyond the exact limit.

For each sampled channel set, antithetic permutation pairs are drawn from a counter-based
generator keyed by ``(seed, set, pair)`` (splitmix64), so results do not depend on how the
work is split. The rates of the sub-coalitions met along a permutation are exact for
``RULE_MAX`` (a memoised recursion) and one-walk unbiased estimates for ``RULE_ZERO`` and
``RULE_MEAN`` (random walks down the lattice of subsets); the rules are those of
:mod:`attribution.kernels.shapley_dense`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from attribution.kernels.shapley_dense import RULE_MAX, RULE_ZERO, smoothed_rate
from attribution.kernels.subsets import MAX_MASK_CHANNELS, find_mask, mask_members, popcount

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)

_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def _mix(x: np.uint64) -> np.uint64:
    """splitmix64 finaliser: a bijective scramble of 64 bits."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def _best_subset_rates(
    mask: np.int64,
    masks: np.ndarray,
    count: np.ndarray,
    total_c: np.ndarray,
    total_v: np.ndarray,
    smoothing: float,
    memo: dict,
    stack: np.ndarray,
    limit: int,
) -> tuple[float, float]:
    """Estimated rates of ``mask`` under ``RULE_MAX``, exactly, by a memoised recursion.

    ``memo[u]`` holds u's estimates and the best observed rate over u's subsets (u
    included) for both games; the prior of ``u`` is the best over its one-smaller
    subsets. Returns (nan, nan) when the memo would exceed ``limit`` coalitions.
    """
    if mask in memo:
        entry = memo[mask]
        return entry[0], entry[1]
    top = 0
    stack[0] = mask
    while top >= 0:
        u = stack[top]
        if u in memo:
            top -= 1
            continue
        missing = False
        best_c = -np.inf
        best_v = -np.inf
        rest = u
        while rest:
            low = rest & -rest
            rest ^= low
            v = u ^ low
            if v == 0:
                continue
            if v in memo:
                entry = memo[v]
                best_c = max(best_c, entry[2])
                best_v = max(best_v, entry[3])
            else:
                missing = True
                top += 1
                stack[top] = v
        if missing:
            continue
        if len(memo) >= limit:
            return np.nan, np.nan
        prior_c = best_c if best_c > -np.inf else 0.0
        prior_v = best_v if best_v > -np.inf else 0.0
        found = find_mask(masks, u)
        n = count[found] if found >= 0 else 0.0
        s_c = total_c[found] if found >= 0 else 0.0
        s_v = total_v[found] if found >= 0 else 0.0
        if found >= 0:
            best_c = max(best_c, s_c / n)
            best_v = max(best_v, s_v / n)
        memo[u] = (
            smoothed_rate(n, s_c, prior_c, smoothing),
            smoothed_rate(n, s_v, prior_v, smoothing),
            best_c,
            best_v,
        )
        top -= 1
    entry = memo[mask]
    return entry[0], entry[1]


@njit(cache=True)
def _uniform(state: np.uint64) -> float:
    return float(_mix(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _walk_rates(
    mask: np.int64,
    masks: np.ndarray,
    count: np.ndarray,
    total_c: np.ndarray,
    total_v: np.ndarray,
    rule: int,
    smoothing: float,
    state: np.uint64,
) -> tuple[float, float, np.uint64]:
    """An unbiased one-walk estimate of the rates of ``mask`` under ``RULE_ZERO`` or
    ``RULE_MEAN`` (with smoothing ``k``).

    The estimate is linear in the estimates of the one-smaller subsets:
    ``(s + k·prior) / (n + k) = n/(n+k) · s/n + k/(n+k) · prior`` with ``prior`` their mean
    (or 0), so a walk that stops at an observed coalition with probability ``n / (n + k)``
    and otherwise removes a uniformly random channel has exactly that expectation. Both
    games share the walk. Returns the estimates and the advanced generator state.
    """
    current = mask
    while current != 0:
        found = find_mask(masks, current)
        if found >= 0:
            n = count[found]
            state += _GOLDEN
            if smoothing == 0.0 or _uniform(state) * (n + smoothing) < n:
                return total_c[found] / n, total_v[found] / n, state
        if rule == RULE_ZERO:
            return 0.0, 0.0, state
        state += _GOLDEN
        drop = np.int64(_mix(state) % np.uint64(popcount(current)))
        rest = current
        for _ in range(drop):
            rest &= rest - 1
        current ^= rest & -rest
    return 0.0, 0.0, state


@njit(cache=True)
def sample_type_shapley(
    masks: np.ndarray,
    count: np.ndarray,
    total_c: np.ndarray,
    total_v: np.ndarray,
    member_offsets: np.ndarray,
    sampled: np.ndarray,
    rule: int,
    smoothing: float,
    seed: int,
    first_pair: int,
    n_pairs: int,
    sums: np.ndarray,
    memo: dict,
    memo_limit: int,
) -> bool:
    """Add ``n_pairs`` antithetic permutation pairs to the estimates of the sampled types.

    For pair ``p`` of type ``t`` a permutation of the type's channels is drawn from a
    generator keyed by ``(seed, t, p)`` (so results do not depend on how the work is
    split), and both it and its reverse are walked: each channel's marginal change of
    the rate game is recorded. The rates of the coalitions passed are exact for
    ``RULE_MAX`` (memoised recursion) and one-walk unbiased estimates otherwise (see
    :func:`_walk_rates`); the top coalition always has its observed rate, so every walk
    sums to it exactly. ``sums[slot]`` accumulates, per member slot, the sum and the sum
    of squares of the pair means, for conversions (columns 0, 1) and value (2, 3).
    Returns False when the ``RULE_MAX`` memo would exceed ``memo_limit`` coalitions.
    """
    members = np.empty(MAX_MASK_CHANNELS, np.int64)
    order = np.empty(MAX_MASK_CHANNELS, np.int64)
    delta = np.empty((MAX_MASK_CHANNELS, 4), np.float64)
    stack = np.empty(MAX_MASK_CHANNELS * MAX_MASK_CHANNELS + 1, np.int64)
    for t in range(len(masks)):
        if not sampled[t]:
            continue
        k = mask_members(masks[t], members)
        slot = member_offsets[t]
        top_c = total_c[t] / count[t]
        top_v = total_v[t] / count[t]
        for p in range(first_pair, first_pair + n_pairs):
            state = _mix(np.uint64(seed) * _GOLDEN + np.uint64(t) * _MIX1 + np.uint64(p) * _MIX2)
            for b in range(k):
                order[b] = b
            for b in range(k - 1, 0, -1):
                state += _GOLDEN
                j = np.int64(_mix(state) % np.uint64(b + 1))
                order[b], order[j] = order[j], order[b]
            for b in range(k):
                delta[b, 0] = 0.0
                delta[b, 1] = 0.0
            for direction in range(2):
                prev_c = 0.0
                prev_v = 0.0
                mask = np.int64(0)
                for step in range(k):
                    b = order[step] if direction == 0 else order[k - 1 - step]
                    mask |= np.int64(1) << np.int64(members[b])
                    if step == k - 1:
                        now_c, now_v = top_c, top_v
                    elif rule != RULE_MAX:
                        now_c, now_v, state = _walk_rates(
                            mask, masks, count, total_c, total_v, rule, smoothing, state
                        )
                    else:
                        now_c, now_v = _best_subset_rates(
                            mask, masks, count, total_c, total_v, smoothing, memo, stack, memo_limit
                        )
                        if np.isnan(now_c):
                            return False
                    delta[b, 0] += 0.5 * (now_c - prev_c)
                    delta[b, 1] += 0.5 * (now_v - prev_v)
                    prev_c, prev_v = now_c, now_v
            for b in range(k):
                sums[slot + b, 0] += delta[b, 0]
                sums[slot + b, 1] += delta[b, 0] * delta[b, 0]
                sums[slot + b, 2] += delta[b, 1]
                sums[slot + b, 3] += delta[b, 1] * delta[b, 1]
    return True
