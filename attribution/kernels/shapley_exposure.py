"""Credit from a fitted model's cumulative hazard split by channel (an exposure game).

A journey with distinct channels ``T`` (its *members*) and, for every ``U ⊆ T``, the
probability of converting with only the channels in ``U`` kept

    g(U) = 1 - exp(-(base + Σ_{c ∈ U} r_c + Σ_{pairs {a, b} ⊆ U} r_ab)),

with every part ``>= 0`` (see :class:`attribution.models.shapley_game.ExposureTerms`).
Writing ``y_c = exp(-r_c)``, ``z_ab = exp(-r_ab)`` and ``Q(A) = Π_{a ∈ A} y_a Π_{pairs ⊆ A}
z``, ``g(U) = 1 - exp(-base) Q(U)``.

**Shapley value, exactly, in polynomial time.** Let ``M`` be the members in a pair with a
positive part and ``F`` the others, ``k = |T|`` and ``w(t) = t! (k - t - 1)! / k!``. Adding a
free member ``i`` to a coalition ``S`` changes ``g`` by ``exp(-base) Q(S ∩ M) Π_{S ∩ F} y ·
(1 - y_i)``, so with ``e_s`` the elementary symmetric polynomials,

    φ_i = exp(-base) (1 - y_i) Σ_{A ⊆ M} Q(A) Σ_s w(|A| + s) e_s(y of F - {i}),
    φ_j = exp(-base) Σ_{A ⊆ M - {j}} (Q(A) - Q(A + j)) Σ_s w(|A| + s) e_s(y of F)   (j ∈ M):

``O(k³ + 2^|M| k)`` per journey instead of ``O(k 2^k)``, so any journey (up to 63
channels) is solved exactly; ``|M|`` is at most the number of channels in the model's
pairs (at most 20 for ten pairs). The values sum to ``g(T) - g(∅)`` and are ``>= 0``
(``g`` is increasing).

**Removal effects**: ``q_c = 1 - g(T - c) / g(T) = exp(-L_c) (1 - exp(-D_c)) / (1 -
exp(-L))``, with ``L`` the journey's total, ``D_c`` the parts that contain ``c`` and
``L_c = L - D_c``: the probability that the conversion would not have happened without
``c`` (under the coupling where a journey that converts with fewer channels also converts
with more).

Both are turned into *shares* of the journey (they sum to 1 over its members). A
journey whose members all have zero parts has no share to give (``g`` is constant): it
is split evenly over its members (flagged). :func:`split_to_touches` then gives each
touch its channel's share of the journey's amount in proportion to the touch weights.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _shapley_weights(k: int, out: np.ndarray) -> None:
    """``w(t) = t! (k - t - 1)! / k! = 1 / (k · C(k - 1, t))`` for ``t = 0 .. k - 1``."""
    binomial = 1.0
    for t in range(k):
        out[t] = 1.0 / (k * binomial)
        binomial = binomial * (k - 1 - t) / (t + 1)


@njit(cache=True)
def _symmetric(y: np.ndarray, n: int, skip: int, out: np.ndarray) -> None:
    """Elementary symmetric polynomials ``e_0 .. e_n`` of ``y[:n]`` without ``y[skip]``."""
    out[: n + 1] = 0.0
    out[0] = 1.0
    size = 0
    for i in range(n):
        if i == skip:
            continue
        size += 1
        for s in range(size, 0, -1):
            out[s] += y[i] * out[s - 1]


@njit(cache=True)
def _journey_shapley(
    base: float,
    parts: np.ndarray,
    k: int,
    pairs: np.ndarray,
    pair_parts: np.ndarray,
    n_pairs: int,
    out: np.ndarray,
    scratch: np.ndarray,
    integers: np.ndarray,
    partners: np.ndarray,
    q: np.ndarray,
) -> np.ndarray:
    """Shapley values of one journey's game (see the module docstring) into ``out[:k]``.

    ``scratch`` (float, 6 x 65), ``integers`` (int, 3 x 64) and ``partners`` (float,
    64 x 64: the factors ``z`` between paired members) are work space; ``q`` holds
    ``Q`` over the subsets of the paired members (and two more arrays of that size) and
    is returned, grown if it was too small, so callers reuse it across journeys.

    ``Q`` is built by products, a subset from the one without its highest member ``h``:
    ``Q(R + h) = Q(R) · y_h · Π_{b ∈ R} z_hb``, the last product itself built the same
    way over the subsets ``R`` of the members below ``h``; so the only exponentials are
    one per member and per pair.
    """
    paired = integers[0]
    free = integers[1]
    position = integers[2]
    y = scratch[0]
    weights = scratch[1]
    by_size = scratch[2]
    symmetric = scratch[3]
    inner_by_size = scratch[4]
    y_paired = scratch[5]
    position[:k] = -1
    for p in range(n_pairs):
        if pair_parts[p] > 0.0:
            position[pairs[p, 0]] = 0
            position[pairs[p, 1]] = 0
    m = 0
    f = 0
    for i in range(k):
        if position[i] == 0:
            paired[m] = i
            m += 1
        else:
            free[f] = i
            f += 1
    for i in range(k):
        position[i] = -1
    for a in range(m):
        position[paired[a]] = a  # bit of a paired member in the subsets of M
    for i in range(f):
        y[i] = np.exp(-parts[free[i]])
    for a in range(m):
        y_paired[a] = np.exp(-parts[paired[a]])
    _shapley_weights(k, weights)
    scale = np.exp(-base)
    full = 1 << m
    if len(q) < 3 * full:
        q = np.empty(3 * full, np.float64)
    products = q[full : 2 * full]
    sizes = q[2 * full : 3 * full]
    for a in range(m):
        partners[a, :m] = 1.0
    for p in range(n_pairs):
        first, second = position[pairs[p, 0]], position[pairs[p, 1]]
        if first >= 0 and second >= 0:
            factor = np.exp(-pair_parts[p])
            partners[first, second] *= factor
            partners[second, first] *= factor
    by_size[: m + 1] = 0.0
    q[0] = 1.0
    sizes[0] = 0.0
    by_size[0] = 1.0
    for h in range(m):
        top = 1 << h
        # products[R] = Π_{b ∈ R} z_hb over the subsets R of the members below h.
        products[0] = 1.0
        for b in range(h):
            low = 1 << b
            factor = partners[h, b]
            for rest in range(low):
                products[low | rest] = products[rest] * factor
        factor = y_paired[h]
        for rest in range(top):
            value = q[rest] * factor * products[rest]
            q[top | rest] = value
            size = sizes[rest] + 1.0
            sizes[top | rest] = size
            by_size[int(size)] += value
    for i in range(f):
        _symmetric(y, f, i, symmetric)
        total = 0.0
        for r in range(m + 1):
            inner = 0.0
            for s in range(f):
                inner += weights[r + s] * symmetric[s]
            total += by_size[r] * inner
        out[free[i]] = scale * (1.0 - y[i]) * total
    if m:
        _symmetric(y, f, -1, symmetric)
        inner_by_size[: m + 1] = 0.0
        for r in range(m):
            for s in range(f + 1):
                inner_by_size[r] += weights[r + s] * symmetric[s]
        for a in range(m):
            bit = 1 << a
            total = 0.0
            # The subsets without member a: high bits above a, low bits below it.
            for high in range(full >> (a + 1)):
                for low in range(bit):
                    subset = (high << (a + 1)) | low
                    total += (q[subset] - q[subset | bit]) * inner_by_size[int(sizes[subset])]
            out[paired[a]] = scale * total
    for i in range(k):
        position[i] = -1
    return q


@njit(cache=True)
def _journey_removal(
    base: float,
    parts: np.ndarray,
    k: int,
    pairs: np.ndarray,
    pair_parts: np.ndarray,
    n_pairs: int,
    out: np.ndarray,
) -> None:
    """Removal effects ``q_c`` of one journey's members into ``out[:k]``."""
    total = base
    for i in range(k):
        out[i] = parts[i]  # D_c, completed with the pairs below
        total += parts[i]
    for p in range(n_pairs):
        total += pair_parts[p]
        out[pairs[p, 0]] += pair_parts[p]
        out[pairs[p, 1]] += pair_parts[p]
    probability = -np.expm1(-total)
    for i in range(k):
        removed = out[i]
        out[i] = (
            0.0
            if probability <= 0.0
            else (np.exp(-(total - removed)) * -np.expm1(-removed) / probability)
        )


@njit(cache=True, parallel=True)
def exposure_shares(
    base: np.ndarray,
    member_offsets: np.ndarray,
    member_part: np.ndarray,
    pair_offsets: np.ndarray,
    pair_members: np.ndarray,
    pair_part: np.ndarray,
    wanted: np.ndarray,
    shapley: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's share of its journey: by Shapley value (``shapley``) or by removal
    effect, normalised within the journey, for the journeys where ``wanted``.

    Returns the shares (flat, per member; 0 in journeys not wanted) and, per journey,
    whether it fell back to an even split (no member has a positive value).
    """
    n_journeys = len(member_offsets) - 1
    shares = np.zeros(member_offsets[-1], np.float64)
    even = np.zeros(n_journeys, np.bool_)
    n_chunks = min(n_journeys, 256)
    for chunk in prange(n_chunks):
        values = np.empty(64, np.float64)
        scratch = np.zeros((6, 65), np.float64)
        integers = np.full((3, 64), -1, np.int64)
        partners = np.zeros((64, 64), np.float64)
        q = np.empty(1, np.float64)
        for j in range(chunk * n_journeys // n_chunks, (chunk + 1) * n_journeys // n_chunks):
            if not wanted[j]:
                continue
            start, end = member_offsets[j], member_offsets[j + 1]
            k = end - start
            if k == 0:
                continue
            p0, p1 = pair_offsets[j], pair_offsets[j + 1]
            parts = member_part[start:end]
            if shapley:
                q = _journey_shapley(
                    base[j], parts, k, pair_members[p0:p1], pair_part[p0:p1], p1 - p0,
                    values, scratch, integers, partners, q,
                )  # fmt: skip
            else:
                _journey_removal(
                    base[j], parts, k, pair_members[p0:p1], pair_part[p0:p1], p1 - p0, values
                )
            total = 0.0
            for i in range(k):
                total += values[i]
            if total > 0.0:
                for i in range(k):
                    shares[start + i] = values[i] / total
            else:
                even[j] = True
                for i in range(k):
                    shares[start + i] = 1.0 / k
    return shares, even


@njit(cache=True, parallel=True)
def split_to_touches(
    channel: np.ndarray,
    offsets: np.ndarray,
    member_offsets: np.ndarray,
    member_channel: np.ndarray,
    shares: np.ndarray,
    touch_weight: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
    n_channels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Credit of every touch: its journey's conversions and value times its channel's
    share, split over the channel's touches in proportion to their weights (evenly when
    the channel's weights in the journey are all 0)."""
    out_c = np.zeros(len(channel), np.float64)
    out_v = np.zeros(len(channel), np.float64)
    n_journeys = len(offsets) - 1
    n_chunks = min(n_journeys, 256)
    for chunk in prange(n_chunks):
        weight_sum = np.zeros(n_channels, np.float64)
        touches = np.zeros(n_channels, np.int64)
        share = np.zeros(n_channels, np.float64)
        for j in range(chunk * n_journeys // n_chunks, (chunk + 1) * n_journeys // n_chunks):
            if conversions[j] == 0.0 and value[j] == 0.0:
                continue
            start, end = offsets[j], offsets[j + 1]
            for i in range(member_offsets[j], member_offsets[j + 1]):
                share[member_channel[i]] = shares[i]
            for t in range(start, end):
                weight_sum[channel[t]] += touch_weight[t]
                touches[channel[t]] += 1
            for t in range(start, end):
                c = channel[t]
                if weight_sum[c] > 0.0:
                    fraction = share[c] * touch_weight[t] / weight_sum[c]
                else:
                    fraction = share[c] / touches[c]
                out_c[t] = conversions[j] * fraction
                out_v[t] = value[j] * fraction
            for t in range(start, end):
                weight_sum[channel[t]] = 0.0
                touches[channel[t]] = 0
                share[channel[t]] = 0.0
    return out_c, out_v
