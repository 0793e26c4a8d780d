"""Numba kernels of the Markov-chain model: transition counting and the touch split.

**State codes.** With ``C`` channels and order ``k``, a transient state is the tuple of
the last ``k`` channels of the journey so far, padded on the left with the start symbol
while fewer than ``k`` channels have been seen. It is coded in mixed radix ``R = C + 1``
with digit ``0`` for the start symbol and ``channel + 1`` for a channel, the newest
channel in the lowest digit::

    code(d_1, ..., d_k) = d_1·R^(k-1) + ... + d_k        (d_k: the newest channel)

so ``start`` (all padding) is code 0, and the state after a touch of channel ``c`` in
state ``s`` is ``(s·R + c + 1) mod R^k``. A transition is therefore fully named by its
from-state and a *symbol*: the next channel ``c`` (``0 <= c < C``), ``C`` for
``conversion`` or ``C + 1`` for ``null``.

**Counting** is one pass over the touches: the dense state id reached by a channel from
a state is cached in a ``(states, C)`` table, so a touch costs one table look-up and one
addition; only the first visit of each (state, channel) pair hashes the next state's
code. Work arrays are allocated by the caller with ``numpy.zeros`` (untouched pages of
large arrays cost no memory) and hold ``id + 1`` / ``code + 1`` so that 0 means empty.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Fibonacci hashing multiplier (2^64 / golden ratio, as a signed 64-bit integer).
_HASH_MULTIPLIER = np.int64(-7046029254386353131)
#: Channels below this code are tracked per journey in a 64-bit set (sign bit unused).
_BITSET_CHANNELS = 63
#: De Bruijn sequence and table: the index of the single set bit of ``x`` is
#: ``_DE_BRUIJN_POSITION[(x * _DE_BRUIJN) >> 58 & 63]``.
_DE_BRUIJN = np.int64(0x03F79D71B4CB0A89)
_DE_BRUIJN_POSITION = np.zeros(64, np.int64)
for _bit in range(64):
    _DE_BRUIJN_POSITION[(((1 << _bit) * 0x03F79D71B4CB0A89) % 2**64) >> 58] = _bit
#: Status of :func:`count_transitions`.
COUNTED = 0
STATE_LIMIT_EXCEEDED = 1


@njit(cache=True, inline="always")
def _slot(keys: np.ndarray, code: np.int64, shift: np.int64) -> np.int64:
    """Slot of ``code`` in the open-addressing table ``keys`` (holding code + 1, 0 = empty)."""
    mask = np.int64(len(keys) - 1)
    slot = ((code * _HASH_MULTIPLIER) >> shift) & mask
    while keys[slot] != 0 and keys[slot] != code + 1:
        slot = (slot + 1) & mask
    return slot


@njit(cache=True)
def count_transitions(
    channel: np.ndarray,
    offsets: np.ndarray,
    converted: np.ndarray,
    weight: np.ndarray,
    value: np.ndarray,
    n_channels: int,
    order: int,
    collapse: bool,
    max_states: int,
    codes: np.ndarray,
    successor: np.ndarray,
    counts: np.ndarray,
    keys: np.ndarray,
    ids: np.ndarray,
    conversions_with: np.ndarray,
    value_with: np.ndarray,
    weight_with: np.ndarray,
    conversion_value: np.ndarray,
) -> tuple[int, int]:
    """Weighted transition counts of every journey with at least one touch.

    A journey ``start -> s_1 -> ... -> s_n -> conversion | null`` of weight ``w`` adds
    ``w`` to ``counts[s, symbol]`` for each of its ``n + 1`` transitions. With
    ``collapse`` a touch of the same channel as the touch before it is skipped.
    Journeys without touches are skipped entirely.

    Work arrays (all zero on entry): ``codes`` (capacity), ``successor`` (capacity x C,
    flat, next id + 1), ``counts`` (capacity x (C + 2), flat), ``keys`` / ``ids`` (hash
    table, power-of-two size >= 2 x capacity). Capacity must be at least
    ``min(max_states, number of states) + 1``.

    Also accumulates, per channel, over the journeys that contain it (each journey
    once): ``conversions_with`` (conversions of converted journeys), ``value_with``
    (their value) and ``weight_with`` (journeys of any outcome); and per state
    (``conversion_value``, capacity), the value of the conversions that leave it.

    Returns ``(status, number of states)``; status ``STATE_LIMIT_EXCEEDED`` means a
    journey needed state number ``max_states + 1`` and counting stopped there.
    """
    radix = np.int64(n_channels + 1)
    modulus = np.int64(1)
    for _ in range(order):
        modulus *= radix
    width = np.int64(n_channels + 2)
    n_ch = np.int64(n_channels)
    bits = np.int64(0)
    while (np.int64(1) << bits) < len(keys):
        bits += 1
    shift = np.int64(64) - bits
    keys[_slot(keys, np.int64(0), shift)] = 1  # start: code 0, id 0
    n_states = np.int64(1)
    last_seen = np.full(n_channels, -1, np.int64)
    for j in range(len(offsets) - 1):
        first = offsets[j]
        end = offsets[j + 1]
        if first == end:
            continue
        w = weight[j]
        is_converted = converted[j]
        journey_conversions = w if is_converted else 0.0
        journey_value = value[j] if is_converted else 0.0
        present = np.int64(0)  # bit c: channel c < 63 occurs in the journey
        state = np.int64(0)
        previous = np.int64(-1)
        for i in range(first, end):
            c = np.int64(channel[i])
            if c < _BITSET_CHANNELS:
                present |= np.int64(1) << c
            elif last_seen[c] != j:
                last_seen[c] = j
                weight_with[c] += w
                conversions_with[c] += journey_conversions
                value_with[c] += journey_value
            if collapse:
                if c == previous:
                    continue
                previous = c
            counts[state * width + c] += w
            following = np.int64(successor[state * n_ch + c]) - 1
            if following < 0:
                code = (codes[state] * radix + c + 1) % modulus
                slot = _slot(keys, code, shift)
                if keys[slot] != 0:
                    following = ids[slot]
                else:
                    if n_states >= max_states:
                        return STATE_LIMIT_EXCEEDED, n_states
                    following = n_states
                    codes[following] = code
                    keys[slot] = code + 1
                    ids[slot] = following
                    n_states += 1
                successor[state * n_ch + c] = following + 1
            state = following
        counts[state * width + (n_ch if is_converted else n_ch + 1)] += w
        conversion_value[state] += journey_value
        while present != 0:
            lowest = present & -present
            c = _DE_BRUIJN_POSITION[((lowest * _DE_BRUIJN) >> 58) & 63]
            weight_with[c] += w
            conversions_with[c] += journey_conversions
            value_with[c] += journey_value
            present ^= lowest
    return COUNTED, n_states


@njit(cache=True)
def touch_state_codes(
    channel: np.ndarray, offsets: np.ndarray, n_channels: int, order: int, collapse: bool
) -> np.ndarray:
    """The code of the state each touch moves the chain to (-1 for a collapsed repeat).

    Used to count the states of a chain exactly when the state limit stops
    :func:`count_transitions`.
    """
    radix = np.int64(n_channels + 1)
    modulus = np.int64(1)
    for _ in range(order):
        modulus *= radix
    out = np.full(len(channel), -1, np.int64)
    for j in range(len(offsets) - 1):
        code = np.int64(0)
        previous = np.int64(-1)
        for i in range(offsets[j], offsets[j + 1]):
            c = np.int64(channel[i])
            if collapse:
                if c == previous:
                    continue
                previous = c
            code = (code * radix + c + 1) % modulus
            out[i] = code
    return out


#: What a channel's credit is split in proportion to (see :func:`split_credit`).
BY_VALUE = 0
BY_CONVERSIONS = 1
BY_JOURNEYS = 2


@njit(cache=True)
def split_credit(
    channel: np.ndarray,
    offsets: np.ndarray,
    converted: np.ndarray,
    weight: np.ndarray,
    value: np.ndarray,
    rate_conversions: np.ndarray,
    basis_conversions: np.ndarray,
    rate_value: np.ndarray,
    basis_value: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Credited conversions and value of every touch.

    Journey ``j`` has a basis amount per rule: ``BY_VALUE`` its value and
    ``BY_CONVERSIONS`` its conversions (both 0 unless it converted), ``BY_JOURNEYS`` its
    weight (any outcome). A touch of channel ``c`` in journey ``j`` that holds ``m``
    touches of ``c`` receives ``rate[c] · basis_amount(j) / m``, for conversions and for
    value with each its own rate and rule per channel.
    """
    n_channels = len(rate_conversions)
    credited_conversions = np.zeros(len(channel), np.float64)
    credited_value = np.zeros(len(channel), np.float64)
    in_journey = np.zeros(n_channels, np.int64)
    amounts = np.zeros(3, np.float64)
    for j in range(len(offsets) - 1):
        first = offsets[j]
        end = offsets[j + 1]
        amounts[BY_VALUE] = value[j] if converted[j] else 0.0
        amounts[BY_CONVERSIONS] = weight[j] if converted[j] else 0.0
        amounts[BY_JOURNEYS] = weight[j]
        for i in range(first, end):
            in_journey[channel[i]] += 1
        for i in range(first, end):
            c = channel[i]
            m = in_journey[c]
            credited_conversions[i] = rate_conversions[c] * amounts[basis_conversions[c]] / m
            credited_value[i] = rate_value[c] * amounts[basis_value[c]] / m
        for i in range(first, end):
            in_journey[channel[i]] = 0
    return credited_conversions, credited_value


@njit(cache=True)
def masked_apply(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, mask: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """``A_m x_m`` for every column ``m`` of ``x`` at once, where ``A_m = I - D_m Q D_m``.

    ``Q`` is n x n CSR (``indptr``, ``indices``, ``data``) and ``D_m`` the diagonal 0/1
    matrix of column ``m`` of ``mask`` (n x M): system ``m`` is ``I - Q`` restricted to
    the states of its mask. ``x`` (n x M) must be 0 outside each column's mask (so
    ``D_m x_m = x_m``); the result is too. One traversal of ``Q`` serves all M systems.
    """
    out = np.zeros(x.shape, np.float64)
    _apply_into(indptr, indices, data, mask, x, out)
    return out


@njit(cache=True, inline="always")
def _apply_into(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    mask: np.ndarray,
    x: np.ndarray,
    out: np.ndarray,
) -> None:
    n, n_columns = x.shape
    row_sum = np.zeros(n_columns, np.float64)
    for i in range(n):
        row_sum[:] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            q = data[p]
            for m in range(n_columns):
                row_sum[m] += q * x[j, m]
        for m in range(n_columns):
            out[i, m] = x[i, m] - row_sum[m] if mask[i, m] else 0.0


@njit(cache=True, inline="always")
def _column_dots(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    out[:] = 0.0
    for i in range(a.shape[0]):
        for m in range(a.shape[1]):
            out[m] += a[i, m] * b[i, m]


@njit(cache=True)
def bicgstab_columns(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    mask: np.ndarray,
    inverse_diagonal: np.ndarray,
    x: np.ndarray,
    residual: np.ndarray,
    target: np.ndarray,
    max_iterations: int,
) -> np.ndarray:
    """Jacobi-preconditioned BiCGSTAB for every column of ``A_m x_m = b_m`` at once.

    ``A_m`` as in :func:`masked_apply`; ``x`` is the starting iterate and ``residual``
    its residual ``b - A x`` (both 0 outside the masks), ``inverse_diagonal`` is
    ``1 / diag(I - Q)``. The recurrences of the columns are independent (right
    preconditioning, van der Vorst 1992, Alg. 3.1); the two products with ``Q`` per
    iteration are shared. A column stops when its recurrence residual is at most
    ``target[m]``, or when a scalar of its recurrence is zero or not finite (breakdown),
    keeping its last iterate; the caller checks the true residual and restarts.
    """
    n, n_columns = x.shape
    x = x.copy()
    r = residual.copy()
    r_hat = residual.copy()
    p = np.zeros((n, n_columns), np.float64)
    v = np.zeros((n, n_columns), np.float64)
    s = np.zeros((n, n_columns), np.float64)
    t = np.zeros((n, n_columns), np.float64)
    p_hat = np.zeros((n, n_columns), np.float64)
    s_hat = np.zeros((n, n_columns), np.float64)
    rho = np.zeros(n_columns, np.float64)
    rho_old = np.ones(n_columns, np.float64)
    alpha = np.ones(n_columns, np.float64)
    omega = np.ones(n_columns, np.float64)
    beta = np.zeros(n_columns, np.float64)
    dot = np.zeros(n_columns, np.float64)
    dot2 = np.zeros(n_columns, np.float64)
    running = np.ones(n_columns, np.bool_)
    for _ in range(max_iterations):
        _column_dots(r_hat, r, rho)
        for m in range(n_columns):
            if running[m]:
                beta[m] = (rho[m] / rho_old[m]) * (alpha[m] / omega[m])
                running[m] = rho[m] != 0.0 and np.isfinite(beta[m])
        for i in range(n):
            for m in range(n_columns):
                if running[m]:
                    p[i, m] = r[i, m] + beta[m] * (p[i, m] - omega[m] * v[i, m])
                    p_hat[i, m] = inverse_diagonal[i] * p[i, m]
        _apply_into(indptr, indices, data, mask, p_hat, v)
        _column_dots(r_hat, v, dot)
        for m in range(n_columns):
            if running[m]:
                alpha[m] = rho[m] / dot[m]
                running[m] = np.isfinite(alpha[m])
        for i in range(n):
            for m in range(n_columns):
                if running[m]:
                    s[i, m] = r[i, m] - alpha[m] * v[i, m]
        _column_dots(s, s, dot)
        for m in range(n_columns):
            if running[m] and np.sqrt(dot[m]) <= target[m]:
                # Converged at the half step: x += alpha p_hat, r = s.
                for i in range(n):
                    x[i, m] += alpha[m] * p_hat[i, m]
                    r[i, m] = s[i, m]
                running[m] = False
        for i in range(n):
            for m in range(n_columns):
                if running[m]:
                    s_hat[i, m] = inverse_diagonal[i] * s[i, m]
        _apply_into(indptr, indices, data, mask, s_hat, t)
        _column_dots(t, s, dot)
        _column_dots(t, t, dot2)
        for m in range(n_columns):
            if running[m]:
                omega[m] = dot[m] / dot2[m]
                if not np.isfinite(omega[m]) or omega[m] == 0.0:
                    # Breakdown after the half step: keep it and stop.
                    for i in range(n):
                        x[i, m] += alpha[m] * p_hat[i, m]
                    running[m] = False
        for i in range(n):
            for m in range(n_columns):
                if running[m]:
                    x[i, m] += alpha[m] * p_hat[i, m] + omega[m] * s_hat[i, m]
                    r[i, m] = s[i, m] - omega[m] * t[i, m]
        _column_dots(r, r, dot)
        any_running = False
        for m in range(n_columns):
            if running[m]:
                running[m] = np.sqrt(dot[m]) > target[m]
                rho_old[m] = rho[m]
                any_running = any_running or running[m]
        if not any_running:
            break
    return x


@njit(cache=True)
def transition_rows(
    channel: np.ndarray,
    offsets: np.ndarray,
    converted: np.ndarray,
    weight: np.ndarray,
    value: np.ndarray,
    codes: np.ndarray,
    keys: np.ndarray,
    n_channels: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each journey's part of :func:`count_transitions`' sums, as sparse rows over the
    columns of a bootstrap design (the replicate statistics are these rows' sums
    weighted by the replicate factors).

    ``codes``: the state code each touch moves to (:func:`touch_state_codes`, -1 for a
    collapsed repeat); ``keys``: the counted transitions ``state · (C + 2) + symbol``,
    sorted (every transition of these journeys is among them). Columns, ``K`` the number
    of transitions: ``k`` the count of transition ``k`` (the journey's weight per
    passage), ``K + k`` the value of the conversions on it, ``2K + c`` / ``2K + C + c``
    / ``2K + 2C + c`` channel ``c``'s conversions, value and weight of the journeys
    containing it (each journey once), ``2K + 3C`` the value of converted journeys with
    touches."""
    n = len(offsets) - 1
    n_keys = len(keys)
    width = np.int64(n_channels + 2)
    total = (offsets[n] - offsets[0]) * 5 + 5 * n
    lengths = np.zeros(n, np.int64)
    indices = np.empty(total, np.int64)
    data = np.empty(total, np.float64)
    last_seen = np.full(n_channels, -1, np.int64)
    w = 0
    for j in range(n):
        first, end = offsets[j], offsets[j + 1]
        if first == end:
            continue
        before = w
        weight_j = weight[j]
        is_converted = converted[j]
        state = np.int64(0)
        for i in range(first, end):
            c = np.int64(channel[i])
            if last_seen[c] != j:
                last_seen[c] = j
                if is_converted:
                    indices[w] = 2 * n_keys + c
                    data[w] = weight_j
                    indices[w + 1] = 2 * n_keys + n_channels + c
                    data[w + 1] = value[j]
                    w += 2
                indices[w] = 2 * n_keys + 2 * n_channels + c
                data[w] = weight_j
                w += 1
            if codes[i] < 0:
                continue
            indices[w] = np.searchsorted(keys, state * width + c)
            data[w] = weight_j
            w += 1
            state = codes[i]
        symbol = np.int64(n_channels) if is_converted else np.int64(n_channels + 1)
        k = np.searchsorted(keys, state * width + symbol)
        indices[w] = k
        data[w] = weight_j
        w += 1
        if is_converted:
            indices[w] = n_keys + k
            data[w] = value[j]
            indices[w + 1] = 2 * n_keys + 3 * n_channels
            data[w + 1] = value[j]
            w += 2
        lengths[j] = w - before
    return lengths, indices[:w], data[:w]


@njit(cache=True)
def split_rows(
    channel: np.ndarray,
    offsets: np.ndarray,
    pair: np.ndarray,
    amounts: np.ndarray,
    n_channels: int,
    column: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The terms of :func:`split_credit` as sparse rows: touch ``i`` of channel ``c`` in
    journey ``j`` (which holds ``m`` touches of ``c``) adds ``amounts[j, b] / m`` to
    column ``column + pair[i] · B + b`` for each basis ``b`` (``B`` bases; ``pair[i]``: the
    touch's (group, channel) column pair), so that the credit of a group is
    ``Σ_pairs Σ_b rate[c, b] · column`` (zeros left out)."""
    n = len(offsets) - 1
    n_bases = amounts.shape[1]
    total = (offsets[n] - offsets[0]) * n_bases
    lengths = np.zeros(n, np.int64)
    indices = np.empty(total, np.int64)
    data = np.empty(total, np.float64)
    in_journey = np.zeros(n_channels, np.int64)
    w = 0
    for j in range(n):
        first, end = offsets[j], offsets[j + 1]
        before = w
        for i in range(first, end):
            in_journey[channel[i]] += 1
        for i in range(first, end):
            m = in_journey[channel[i]]
            for b in range(n_bases):
                x = amounts[j, b] / m
                if x != 0.0:
                    indices[w] = column + pair[i] * n_bases + b
                    data[w] = x
                    w += 1
        for i in range(first, end):
            in_journey[channel[i]] = 0
        lengths[j] = w - before
    return lengths, indices[:w], data[:w]
