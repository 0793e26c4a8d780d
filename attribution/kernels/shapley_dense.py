"""Exact Shapley values of the observed-rate game (see :mod:`attribution.models.shapley_rates`).

One pass over all ``2**C`` coalitions estimates the rate of every coalition (observed ones
from the data, the others by a rule) and computes its Hart–Mas-Colell potential, in place
and in parallel; the Shapley value of every observed channel set's sub-game follows from
the potential. When the data has few small channel sets, the same recursion runs on each
set's own lattice of subsets instead (:func:`local_type_shapley`).

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

from attribution.kernels.subsets import MAX_MASK_CHANNELS, find_mask, mask_members

RULE_ZERO = 0

RULE_MEAN = 1

RULE_MAX = 2


@njit(cache=True)
def smoothed_rate(count: float, total: float, prior: float, smoothing: float) -> float:
    """``(total + smoothing * prior) / (count + smoothing)``, or ``prior`` when unobserved."""
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
    est_c = smoothed_rate(n, state[u, RATE_C], prior_c, smoothing)
    est_v = smoothed_rate(n, state[u, RATE_V], prior_v, smoothing)
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
        k = mask_members(masks[t], members)
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
