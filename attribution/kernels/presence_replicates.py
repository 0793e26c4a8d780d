"""Every bootstrap replicate's credit under the ``presence`` model's exposure game in one
pass over the journeys (see :mod:`attribution.models.shapley_game`).

A journey's terms under parameters ``θ = (b, β, ρ, δ)`` are linear in them, with
coefficients that depend on the journey alone (:func:`attribution.kernels.presence.
journey_terms`): with ``n`` steps, channel ``c`` first touched at position ``f_c`` is
present in ``N_c = max(0, n - f_c - g)`` steps, the touch at position ``p`` is its
channel's newest recent touch in ``R_p`` steps (``M_c = Σ R_p`` over ``c``'s touches),
and a pair is both present in ``N_ab = max(0, n - max(f_a, f_b) - g)`` steps. So

    base = b·n,   part_c = β_c N_c + ρ_c M_c,   part_ab = δ_ab N_ab,
    weight of touch p = ρ_c R_p (+ β_c N_c + ½ Σ_{pairs with c} part on c's first touch).

:func:`replicate_credit_sums` finds these coefficients once per journey and, for each
replicate ``r`` that draws the journey (factor ``f_rj > 0``), solves the journey's game
under replicate ``r``'s parameters (Shapley values in closed form, or removal effects),
normalises them into shares (evenly when none is positive), splits each channel's share
over its touches by their weights (evenly when its weights are all 0) and adds
``f_rj · value_j`` times each touch's fraction to the touch's column in every roll-up.
That is, exactly, what crediting replicate ``r``'s reweighted journeys with replicate
``r``'s model and summing the value by group gives (up to the order of floating-point
additions), without building the reweighted journeys or any per-touch credit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from attribution.kernels.shapley_exposure import _journey_removal, _journey_shapley

#: At most this many journeys' chunks run in parallel (each holds its own sums).
MAX_CHUNKS = 64


@njit(cache=True, parallel=True)
def replicate_credit_sums(
    channel: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    value: np.ndarray,
    factors: np.ndarray,
    guard: int,
    recent_steps: int,
    baseline: np.ndarray,
    presence_effect: np.ndarray,
    recent_effect: np.ndarray,
    pair_effect: np.ndarray,
    valid: np.ndarray,
    groups: np.ndarray,
    n_columns: int,
    shapley: bool,
) -> np.ndarray:
    """Sums ``(replicates, n_columns)`` of the value credited to each column.

    ``rows``: the journeys credited (conversions or value above 0) with a value; their
    ``factors`` (rows x replicates). Per replicate ``r`` (rows of the parameter arrays):
    ``baseline[r]``, ``presence_effect[r, c]``, ``recent_effect[r, c]`` and
    ``pair_effect[r, a, b]`` (``a < b``; 0 for a pair not selected); replicates not
    ``valid`` get nothing. ``groups[i, d]``: the column of touch ``i`` in roll-up ``d``.
    ``shapley``: Shapley values, else removal effects.
    """
    n_rows = len(rows)
    n_replicates = factors.shape[1]
    n_channels = presence_effect.shape[1]
    n_rollups = groups.shape[1]
    longest = 0
    for index in range(n_rows):
        j = rows[index]
        longest = max(longest, offsets[j + 1] - offsets[j])
    n_chunks = max(1, min(MAX_CHUNKS, n_rows // 1024))
    sums = np.zeros((n_chunks, n_replicates, n_columns))
    for chunk in prange(n_chunks):
        out = sums[chunk]
        first = np.full(n_channels, -1, np.int64)
        local = np.full(n_channels, -1, np.int64)
        following = np.full(n_channels, -1, np.int64)
        member_channel = np.empty(64, np.int64)
        member_first = np.empty(64, np.int64)
        present_steps = np.empty(64, np.float64)
        recent_total = np.empty(64, np.float64)
        touches_of = np.empty(64, np.int64)
        parts = np.empty(64, np.float64)
        values = np.empty(64, np.float64)
        shares = np.empty(64, np.float64)
        weight_sum = np.empty(64, np.float64)
        pair_steps = np.empty((64, 64), np.float64)
        pairs = np.empty((2016, 2), np.int64)
        pair_parts = np.empty(2016, np.float64)
        member_of = np.empty(max(longest, 1), np.int64)
        recent_of = np.empty(max(longest, 1), np.float64)
        touch_weight = np.empty(max(longest, 1), np.float64)
        scratch = np.zeros((6, 65), np.float64)
        integers = np.full((3, 64), -1, np.int64)
        partners = np.zeros((64, 64), np.float64)
        q = np.empty(1, np.float64)
        for index in range(chunk * n_rows // n_chunks, (chunk + 1) * n_rows // n_chunks):
            j = rows[index]
            start, end = offsets[j], offsets[j + 1]
            n = end - start
            if n == 0:
                continue
            # The journey's coefficients: members (ascending code), first positions,
            # steps present, recency steps per touch and per member, pair steps.
            k = 0
            for i in range(start, end):
                c = channel[i]
                if first[c] < 0:
                    first[c] = i - start
                    member_channel[k] = c
                    k += 1
            for a in range(1, k):
                code = member_channel[a]
                b = a - 1
                while b >= 0 and member_channel[b] > code:
                    member_channel[b + 1] = member_channel[b]
                    b -= 1
                member_channel[b + 1] = code
            for a in range(k):
                c = member_channel[a]
                local[c] = a
                member_first[a] = first[c]
                present_steps[a] = max(0, n - first[c] - guard)
                recent_total[a] = 0.0
                touches_of[a] = 0
            for position in range(n):
                a = local[channel[start + position]]
                member_of[position] = a
                touches_of[a] += 1
                recent_of[position] = 0.0
            if recent_steps > 0:
                # A touch at position p is its channel's newest recent touch from step
                # p + g until the window passes it or the channel's next touch takes over.
                for position in range(n - 1, -1, -1):
                    c = channel[start + position]
                    stop = min(n - 1, position + guard + recent_steps - 1)
                    if following[c] >= 0:
                        stop = min(stop, following[c] + guard - 1)
                    steps = stop - (position + guard) + 1
                    if steps > 0:
                        recent_of[position] = steps
                        recent_total[member_of[position]] += steps
                    following[c] = position
            for a in range(k):
                for b in range(a + 1, k):
                    pair_steps[a, b] = max(0, n - max(member_first[a], member_first[b]) - guard)
            for a in range(k):
                c = member_channel[a]
                first[c] = -1
                local[c] = -1
                following[c] = -1
            amount = value[j]
            for r in range(n_replicates):
                factor = factors[index, r]
                if factor == 0.0 or not valid[r]:
                    continue
                base = baseline[r] * n
                for a in range(k):
                    c = member_channel[a]
                    parts[a] = (
                        presence_effect[r, c] * present_steps[a]
                        + recent_effect[r, c] * recent_total[a]
                    )
                n_pairs = 0
                for a in range(k):
                    for b in range(a + 1, k):
                        part = (
                            pair_effect[r, member_channel[a], member_channel[b]] * pair_steps[a, b]
                        )
                        if part != 0.0:
                            pairs[n_pairs, 0] = a
                            pairs[n_pairs, 1] = b
                            pair_parts[n_pairs] = part
                            n_pairs += 1
                if shapley:
                    q = _journey_shapley(
                        base, parts, k, pairs[:n_pairs], pair_parts[:n_pairs], n_pairs,
                        values, scratch, integers, partners, q,
                    )  # fmt: skip
                else:
                    _journey_removal(
                        base, parts, k, pairs[:n_pairs], pair_parts[:n_pairs], n_pairs, values
                    )
                total = 0.0
                for a in range(k):
                    total += values[a]
                for a in range(k):
                    shares[a] = values[a] / total if total > 0.0 else 1.0 / k
                    weight_sum[a] = 0.0
                # Touch weights: recency on every touch, presence and half of each pair
                # part on the channel's first touch.
                for position in range(n):
                    a = member_of[position]
                    touch_weight[position] = (
                        recent_effect[r, member_channel[a]] * recent_of[position]
                    )
                for a in range(k):
                    c = member_channel[a]
                    touch_weight[member_first[a]] += presence_effect[r, c] * present_steps[a]
                for p in range(n_pairs):
                    half = 0.5 * pair_parts[p]
                    touch_weight[member_first[pairs[p, 0]]] += half
                    touch_weight[member_first[pairs[p, 1]]] += half
                for position in range(n):
                    weight_sum[member_of[position]] += touch_weight[position]
                scale = factor * amount
                for position in range(n):
                    a = member_of[position]
                    if weight_sum[a] > 0.0:
                        fraction = shares[a] * touch_weight[position] / weight_sum[a]
                    else:
                        fraction = shares[a] / touches_of[a]
                    credited = scale * fraction
                    for d in range(n_rollups):
                        out[r, groups[start + position, d]] += credited
    return sums.sum(axis=0)
