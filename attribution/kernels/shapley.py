"""Numba kernels of the Shapley-value models.

Coalitions of channels are bit masks (``int64``; bit ``c`` is channel code ``c``, so at
most :data:`MAX_MASK_CHANNELS` channels). Three families of kernels:

* Games given as dense arrays over all ``2**n`` coalitions: the Möbius transform
  (Harsanyi dividends), the subset-sum (zeta) and superset-sum transforms, Shapley values
  from dividends and from the Hart–Mas-Colell potential. Each is ``O(n 2**n)``.
* The data-driven rate game (see :mod:`attribution.models.shapley`): one pass over all
  coalitions that estimates the rate of every coalition (observed ones from the data,
  the others by a rule) and computes its potential, in place and in parallel; then the
  Shapley value of every observed channel set's sub-game from the potential.
* Beyond the dense limit: the same sub-games solved on each channel set's own lattice
  of subsets, or estimated by permutation sampling with a counter-based generator (the
  rates met on the way estimated without bias by random walks down the lattice).

Rules for coalitions never observed (``RULE_*``), with ``prior`` the rule's value and
``r(U) = s(U) / n(U)`` the observed rate:

* ``RULE_ZERO``: prior 0.
* ``RULE_MEAN``: prior = mean over ``i in U`` of the estimate of ``U - {i}``.
* ``RULE_MAX``: prior = max of the observed rates of the proper subsets of ``U``
  (0 when none is observed).

An observed coalition's estimate is ``(s(U) + k prior(U)) / (n(U) + k)`` with ``k`` the
smoothing (pseudo-journeys); an unobserved one's is ``prior(U)``; the empty coalition's
is 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

RULE_ZERO = 0
RULE_MEAN = 1
RULE_MAX = 2
#: Channels a coalition mask can hold (bits of a non-negative int64).
MAX_MASK_CHANNELS = 63

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


# --------------------------------------------------------------------------- masks
@njit(cache=True)
def popcount(x: int | np.integer) -> int:
    """Number of set bits of a non-negative int64 (branch-free SWAR count)."""
    v = np.uint64(x)
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((v * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def popcounts(masks: np.ndarray) -> np.ndarray:
    out = np.empty(len(masks), np.int64)
    for t in range(len(masks)):
        out[t] = popcount(masks[t])
    return out


@njit(cache=True)
def journey_masks(offsets: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """The set of distinct channels of every journey, as a bit mask (0: no touches)."""
    n = len(offsets) - 1
    out = np.zeros(n, np.int64)
    one = np.int64(1)
    for j in range(n):
        mask = np.int64(0)
        for k in range(offsets[j], offsets[j + 1]):
            mask |= one << np.int64(channel[k])
        out[j] = mask
    return out


@njit(cache=True)
def _insert_slot(keys: np.ndarray, mask: np.int64, shift: np.uint64) -> int:
    h = np.int64((np.uint64(mask) * _GOLDEN) >> shift)
    last = len(keys) - 1
    while keys[h] != -1 and keys[h] != mask:
        h = (h + 1) & last
    return h


@njit(cache=True)
def coalition_groups(
    masks: np.ndarray,
    weight: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct non-empty journey coalitions (sorted) with summed weight, conversions and
    value, and each journey's index among them (-1 for the empty coalition).

    A hash group-by whose table grows with the number of groups (so it stays in cache
    when coalitions repeat), then a sort of the distinct masks.
    """
    n = len(masks)
    bits = 10
    keys = np.full(1 << bits, -1, np.int64)
    group = np.empty(1 << bits, np.int64)
    found = np.empty(n, np.int64)
    member = np.empty(n, np.int64)
    sum_w = np.zeros(n, np.float64)
    sum_c = np.zeros(n, np.float64)
    sum_v = np.zeros(n, np.float64)
    n_groups = 0
    for j in range(n):
        mask = masks[j]
        if mask == 0:
            member[j] = -1
            continue
        h = _insert_slot(keys, mask, np.uint64(64 - bits))
        if keys[h] == -1:
            if 2 * (n_groups + 1) > len(keys):
                bits += 1
                keys = np.full(1 << bits, -1, np.int64)
                group = np.empty(1 << bits, np.int64)
                for g in range(n_groups):
                    slot = _insert_slot(keys, found[g], np.uint64(64 - bits))
                    keys[slot] = found[g]
                    group[slot] = g
                h = _insert_slot(keys, mask, np.uint64(64 - bits))
            keys[h] = mask
            group[h] = n_groups
            found[n_groups] = mask
            n_groups += 1
        g = group[h]
        member[j] = g
        sum_w[g] += weight[j]
        sum_c[g] += conversions[j]
        sum_v[g] += value[j]
    order = np.argsort(found[:n_groups])
    rank = np.empty(n_groups, np.int64)
    for r in range(n_groups):
        rank[order[r]] = r
    for j in range(n):
        if member[j] >= 0:
            member[j] = rank[member[j]]
    return found[order], sum_w[order], sum_c[order], sum_v[order], member


@njit(cache=True)
def journey_types(masks: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Index of every journey coalition in the sorted ``types``; -1 for the empty
    coalition, -2 for one missing from ``types``."""
    n = len(masks)
    out = np.empty(n, np.int64)
    for j in range(n):
        if masks[j] == 0:
            out[j] = -1
        else:
            t = find_mask(types, masks[j])
            out[j] = t if t >= 0 else -2
    return out


# ------------------------------------------------------------ dense game transforms
@njit(cache=True)
def _subset_transform(values: np.ndarray, sign: float) -> np.ndarray:
    """One pass per bit: f(S) += sign x f(S without the bit), for every S with the bit."""
    out = values.astype(np.float64)
    size = len(out)
    bit = 1
    while bit < size:
        for s in range(size):
            if s & bit:
                out[s] += sign * out[s ^ bit]
        bit <<= 1
    return out


@njit(cache=True)
def mobius(game: np.ndarray) -> np.ndarray:
    """Harsanyi dividends d(S) = sum over U in S of (-1)^|S - U| v(U) (subset Möbius)."""
    return _subset_transform(game, -1.0)


@njit(cache=True)
def subset_sum(values: np.ndarray) -> np.ndarray:
    """Zeta transform: f(S) = sum over U in S of values(U) (inverse of :func:`mobius`)."""
    return _subset_transform(values, 1.0)


@njit(cache=True)
def superset_sum(values: np.ndarray) -> np.ndarray:
    """f(S) = sum over U containing S of values(U)."""
    out = values.astype(np.float64)
    size = len(out)
    bit = 1
    while bit < size:
        for s in range(size):
            if not s & bit:
                out[s] += out[s | bit]
        bit <<= 1
    return out


@njit(cache=True)
def shapley_from_dividends(dividends: np.ndarray, n_players: int) -> np.ndarray:
    """phi_i = sum over S containing i of d(S) / |S|: a superset sum read at {i}."""
    share = np.zeros(len(dividends), np.float64)
    for s in range(1, len(dividends)):
        share[s] = dividends[s] / popcount(s)
    up = superset_sum(share)
    out = np.empty(n_players, np.float64)
    for i in range(n_players):
        out[i] = up[1 << i]
    return out


@njit(cache=True)
def potential(game: np.ndarray) -> np.ndarray:
    """Hart–Mas-Colell potential of v - v(empty): |S| P(S) = v(S) - v(0) + sum_i P(S - i).

    The Shapley value of the sub-game on ``S`` is ``P(S) - P(S - {i})`` for ``i`` in S.
    """
    size = len(game)
    out = np.zeros(size, np.float64)
    base = game[0]
    for s in range(1, size):
        total = game[s] - base
        k = 0
        rest = s
        while rest:
            low = rest & -rest
            total += out[s ^ low]
            k += 1
            rest ^= low
        out[s] = total / k
    return out


@njit(cache=True)
def shapley_from_potential(pot: np.ndarray, n_players: int) -> np.ndarray:
    """Shapley value of the grand coalition's game from its potential."""
    full = len(pot) - 1
    out = np.empty(n_players, np.float64)
    for i in range(n_players):
        out[i] = pot[full] - pot[full ^ (1 << i)]
    return out


# ------------------------------------------------------------- the rate game, dense
@njit(cache=True)
def _estimate(count: float, total: float, prior: float, smoothing: float) -> float:
    if count > 0.0:
        return (total + smoothing * prior) / (count + smoothing)
    return prior


#: Columns of the per-coalition state rows of the dense pass.
RATE_C, RATE_V, POT_C, POT_V, BEST_C, BEST_V = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _dense_coalition(
    u: np.int64,
    count: np.ndarray,
    state: np.ndarray,
    rule: int,
    smoothing: float,
) -> None:
    """Estimate the rates of coalition ``u`` and compute its potential, in ``state[u]``.

    On entry ``state[u, RATE_*]`` hold the coalition's summed conversions and value and
    ``count[u]`` its journeys; every proper subset must be done already. One row per
    coalition keeps the values read for each one-smaller subset in one cache line.
    """
    k = 0
    sum_pc = 0.0
    sum_pv = 0.0
    sum_rc = 0.0
    sum_rv = 0.0
    max_c = -np.inf
    max_v = -np.inf
    rest = u
    while rest:
        low = rest & -rest
        rest ^= low
        v = u ^ low
        k += 1
        sum_pc += state[v, POT_C]
        sum_pv += state[v, POT_V]
        if rule == RULE_MEAN:
            sum_rc += state[v, RATE_C]
            sum_rv += state[v, RATE_V]
        elif rule == RULE_MAX:
            max_c = max(max_c, state[v, BEST_C])
            max_v = max(max_v, state[v, BEST_V])
    prior_c = 0.0
    prior_v = 0.0
    if rule == RULE_MEAN:
        prior_c = sum_rc / k
        prior_v = sum_rv / k
    elif rule == RULE_MAX:
        prior_c = max_c if max_c > -np.inf else 0.0
        prior_v = max_v if max_v > -np.inf else 0.0
    n = count[u]
    if rule == RULE_MAX:
        if n > 0.0:
            state[u, BEST_C] = max(max_c, state[u, RATE_C] / n)
            state[u, BEST_V] = max(max_v, state[u, RATE_V] / n)
        else:
            state[u, BEST_C] = max_c
            state[u, BEST_V] = max_v
    est_c = _estimate(n, state[u, RATE_C], prior_c, smoothing)
    est_v = _estimate(n, state[u, RATE_V], prior_v, smoothing)
    state[u, RATE_C] = est_c
    state[u, RATE_V] = est_v
    state[u, POT_C] = (est_c + sum_pc) / k
    state[u, POT_V] = (est_v + sum_pv) / k


@njit(cache=True)
def _empty_coalition(state: np.ndarray, rule: int) -> None:
    state[0, RATE_C] = 0.0
    state[0, RATE_V] = 0.0
    state[0, POT_C] = 0.0
    state[0, POT_V] = 0.0
    if rule == RULE_MAX:
        state[0, BEST_C] = -np.inf
        state[0, BEST_V] = -np.inf


@njit(cache=True, parallel=True)
def dense_rate_potential(
    count: np.ndarray,
    state: np.ndarray,
    rule: int,
    smoothing: float,
    low_bits: int,
    blocks: np.ndarray,
    level_offsets: np.ndarray,
) -> None:
    """Rates and potentials of every coalition, in place.

    ``count[u]`` holds the journeys whose channel set is ``u``; ``state`` has one row per
    coalition with columns ``RATE_C, RATE_V`` (on entry the sums of conversions and
    value; on exit the estimated rates), ``POT_C, POT_V`` (the potentials) and, for
    ``RULE_MAX`` only, ``BEST_C, BEST_V`` (the best observed rate over subsets).

    Coalition ``u = (h << low_bits) | l`` lives in block ``h``. A block needs its own lower
    masks (done in order) and the blocks ``h - {bit}`` (one popcount level below), so the
    blocks of one level (``blocks[level_offsets[p]:level_offsets[p + 1]]``) run in
    parallel.
    """
    block_size = np.int64(1) << np.int64(low_bits)
    _empty_coalition(state, rule)
    for level in range(len(level_offsets) - 1):
        start = level_offsets[level]
        n_blocks = level_offsets[level + 1] - start
        for b in prange(n_blocks):
            base = blocks[start + b] * block_size
            first = 1 if base == 0 else 0
            for low in range(first, block_size):
                _dense_coalition(base + low, count, state, rule, smoothing)


@njit(cache=True, parallel=True)
def dense_type_shapley(
    masks: np.ndarray,
    count: np.ndarray,
    total_c: np.ndarray,
    total_v: np.ndarray,
    member_offsets: np.ndarray,
    state: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Shapley value of each observed channel set's rate game, one entry per member.

    The game of channel set ``T`` is the estimated rate on every proper subset and the
    observed rate ``total / count`` on ``T`` itself, so the values sum to the observed
    rate. From the potential of the estimates: ``P(T) - P(T - i)`` plus an equal share
    of the difference between the observed and the estimated rate of ``T``.
    """
    phi_c = np.empty(member_offsets[-1], np.float64)
    phi_v = np.empty(member_offsets[-1], np.float64)
    for t in prange(len(masks)):
        mask = masks[t]
        k = member_offsets[t + 1] - member_offsets[t]
        fix_c = (total_c[t] / count[t] - state[mask, RATE_C]) / k
        fix_v = (total_v[t] / count[t] - state[mask, RATE_V]) / k
        slot = member_offsets[t]
        rest = mask
        while rest:
            low = rest & -rest
            rest ^= low
            phi_c[slot] = state[mask, POT_C] - state[mask ^ low, POT_C] + fix_c
            phi_v[slot] = state[mask, POT_V] - state[mask ^ low, POT_V] + fix_v
            slot += 1
    return phi_c, phi_v


def state_width(rule: int) -> int:
    """Columns of the dense state rows a rule needs."""
    return 6 if rule == RULE_MAX else 4


# --------------------------------------------------------- the rate game, per type
@njit(cache=True)
def find_mask(masks: np.ndarray, mask: np.int64) -> int:
    """Index of ``mask`` in the sorted ``masks``, or -1."""
    lo = 0
    hi = len(masks)
    while lo < hi:
        mid = (lo + hi) >> 1
        if masks[mid] < mask:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(masks) and masks[lo] == mask:
        return lo
    return -1


@njit(cache=True)
def _members(mask: np.int64, out: np.ndarray) -> int:
    k = 0
    for i in range(MAX_MASK_CHANNELS):
        if mask & (np.int64(1) << np.int64(i)):
            out[k] = i
            k += 1
    return k


@njit(cache=True)
def _local_game(
    t: int,
    masks: np.ndarray,
    count: np.ndarray,
    total_c: np.ndarray,
    total_v: np.ndarray,
    members: np.ndarray,
    k: int,
    rule: int,
    smoothing: float,
    phi_c: np.ndarray,
    phi_v: np.ndarray,
    slot: int,
) -> None:
    """Exact Shapley values of type ``t``'s rate game on its own lattice of subsets.

    The same recursion as :func:`dense_rate_potential`, over the ``2**k`` subsets of the
    type's ``k`` channels (local bit ``b`` is channel ``members[b]``).
    """
    size = 1 << k
    local_count = np.zeros(size, np.float64)
    state = np.zeros((size, 6 if rule == RULE_MAX else 4), np.float64)
    for local in range(1, size):
        mask = np.int64(0)
        for b in range(k):
            if local & (1 << b):
                mask |= np.int64(1) << np.int64(members[b])
        found = find_mask(masks, mask)
        if found >= 0:
            local_count[local] = count[found]
            state[local, RATE_C] = total_c[found]
            state[local, RATE_V] = total_v[found]
    _empty_coalition(state, rule)
    for local in range(1, size):
        _dense_coalition(np.int64(local), local_count, state, rule, smoothing)
    full = size - 1
    fix_c = (total_c[t] / count[t] - state[full, RATE_C]) / k
    fix_v = (total_v[t] / count[t] - state[full, RATE_V]) / k
    for b in range(k):
        phi_c[slot + b] = state[full, POT_C] - state[full ^ (1 << b), POT_C] + fix_c
        phi_v[slot + b] = state[full, POT_V] - state[full ^ (1 << b), POT_V] + fix_v


@njit(cache=True, parallel=True)
def local_type_shapley(
    masks: np.ndarray,
    count: np.ndarray,
    total_c: np.ndarray,
    total_v: np.ndarray,
    member_offsets: np.ndarray,
    exact: np.ndarray,
    rule: int,
    smoothing: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Shapley values of the types where ``exact[t]`` (others left at 0)."""
    phi_c = np.zeros(member_offsets[-1], np.float64)
    phi_v = np.zeros(member_offsets[-1], np.float64)
    for t in prange(len(masks)):
        if not exact[t]:
            continue
        members = np.empty(MAX_MASK_CHANNELS, np.int64)
        k = _members(masks[t], members)
        _local_game(
            t,
            masks,
            count,
            total_c,
            total_v,
            members,
            k,
            rule,
            smoothing,
            phi_c,
            phi_v,
            member_offsets[t],
        )
    return phi_c, phi_v


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
            _estimate(n, s_c, prior_c, smoothing),
            _estimate(n, s_v, prior_v, smoothing),
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
        k = _members(masks[t], members)
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


# ---------------------------------------------------------------- totals and credit
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


@njit(cache=True)
def simplified_credit(
    offsets: np.ndarray,
    channel: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
    n_channels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each converted journey's conversions and value split evenly over its distinct
    channels, and each channel's share evenly over its touches in the journey."""
    out_c = np.zeros(offsets[-1], np.float64)
    out_v = np.zeros(offsets[-1], np.float64)
    touches = np.zeros(n_channels, np.int64)
    for j in range(len(offsets) - 1):
        start, end = offsets[j], offsets[j + 1]
        if conversions[j] == 0.0 or end == start:
            continue
        distinct = 0
        for pos in range(start, end):
            if touches[channel[pos]] == 0:
                distinct += 1
            touches[channel[pos]] += 1
        for pos in range(start, end):
            share = 1.0 / (distinct * touches[channel[pos]])
            out_c[pos] = share * conversions[j]
            out_v[pos] = share * value[j]
        for pos in range(start, end):
            touches[channel[pos]] = 0
    return out_c, out_v


@njit(cache=True)
def position_sums(
    offsets: np.ndarray,
    channel: np.ndarray,
    credit_c: np.ndarray,
    credit_v: np.ndarray,
    n_channels: int,
    n_positions: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Credit summed by (channel, 0-based touch position within the journey)."""
    out_c = np.zeros((n_channels, n_positions), np.float64)
    out_v = np.zeros((n_channels, n_positions), np.float64)
    for j in range(len(offsets) - 1):
        for pos in range(offsets[j], offsets[j + 1]):
            out_c[channel[pos], pos - offsets[j]] += credit_c[pos]
            out_v[channel[pos], pos - offsets[j]] += credit_v[pos]
    return out_c, out_v
