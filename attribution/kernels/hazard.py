"""numba kernels of the ``hazard`` model: features, likelihood, score test, touch credit.

Journey ``j`` owns the touches ``offsets[j]:offsets[j + 1]`` (sorted by time, int64 ns).
It is at risk from ``start[j]`` (its first touch) to ``end[j]`` (its conversion, or the
end of its horizon); ``window_end[j]`` is the end of its horizon window (for converted
journeys at least the conversion), over which the credit counts the touches' effects.
``row[j]`` is its row among the converted journeys (``-1`` if it did not convert, ``-2``
if it takes no part: no touch, or weight 0). With guard ``δ`` (ns) a touch at ``s`` acts
on the hazard at ``t`` only when ``s < t - δ`` (strictly), so a journey's *cut* is
``end - δ``: touches at or after it add nothing to its hazard before ``end``.
``credit_cut[j]`` is the same for the credit: touches at or after it cannot have caused
the conversion (``end - δ`` when the conversion time is known; after the last touch when
it is not: then every touch may have).

**Columns** of the main design: ``0`` is the baseline, ``1 + c·G + g`` channel ``c``
with decay rate ``rates[g]`` (per day). For a touch of ``c`` at ``s`` before the cut and
``τ = (end - δ - s)`` days:

- hazard feature at the conversion (the converters' ``x``): ``r_g · e^(-r_g τ)``;
- integral over the at-risk time (the weighted ``totals``): ``1 - e^(-r_g τ)``, the
  kernel ``r e^(-r(t - δ - s))`` integrated from ``s + δ`` to ``end``; the baseline's
  feature is 1 and its integral the at-risk days;
- integral over the window (the converters' ``z``): the same to ``window_end``.

A channel **pair** ``(a, b)``, ``a < b``, is coded ``a·C + b``; it is complete at
``s_p = max(first touch of a, first touch of b)`` and has the same features with ``s_p``
for ``s`` and the pair rates. Time differences are taken in int64 nanoseconds before
conversion to days, so they are exact.

**Blocks.** The heavy kernels cut their journeys (or converter rows) into
:data:`BLOCKS` fixed contiguous blocks, each with its own partial sums (arrays with a
leading block axis, allocated and added up in block order by the caller); the
``*_parallel`` variants run the blocks on all threads, the others one after the other.
Both give the same bits whatever the number of threads; the caller takes the parallel
one for large inputs only (waking threads costs milliseconds). Inputs are passed as
tuples: ``journeys = (offsets, channel, timestamp, start, end, window_end, credit_cut,
row, weight)``; the converters' rows in the current design ``rows = (pointer, column, x,
pair_pointer, pair_code, pair_column, x_pairs, weight)``: converter ``r``'s main
entries ``pointer[r]:pointer[r + 1]`` of ``column`` and ``x``, and its entries of the
selected pairs ``pair_pointer[r]:pair_pointer[r + 1]`` of ``pair_code``,
``pair_column`` (the pair's first column) and ``x_pairs`` (one value per pair rate);
``x`` may be the features at the conversion or the integrals ``z``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

NANOS_PER_DAY = 86_400 * 1_000_000_000
#: ``row`` code of a journey that takes no part in the fit (no touch, or weight 0).
NOT_AT_RISK = -2
#: Fixed blocks of the heavy kernels (see the module docstring).
BLOCKS = 16


@njit(cache=True)
def _block(b: int, n: int) -> tuple[int, int]:
    """Items ``lo:hi`` of block ``b`` when ``n`` items are cut into :data:`BLOCKS`."""
    size = (n + BLOCKS - 1) // BLOCKS
    return min(b * size, n), min((b + 1) * size, n)


@njit(cache=True)
def _first_touches(
    lo: int,
    hi: int,
    channel: np.ndarray,
    timestamp: np.ndarray,
    first: np.ndarray,
    first_index: np.ndarray,
) -> np.ndarray:
    """Channels of touches ``lo:hi`` in order of first appearance; sets ``first[c]`` to
    each one's first touch time and ``first_index[c]`` to that touch (the caller resets
    ``first`` to -1 afterwards)."""
    present = np.empty(hi - lo, np.int64)
    k = 0
    for i in range(lo, hi):
        c = channel[i]
        if first[c] < 0:
            first[c] = timestamp[i]
            first_index[c] = i
            present[k] = c
            k += 1
    return present[:k]


# ------------------------------------------------------------------ statistics
@njit(cache=True)
def row_sizes(
    journeys: tuple,
    guard: np.int64,
    candidate: np.ndarray,
    n_rates: int,
    n_converters: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per converted journey, the entries of its sparse main row (the baseline and
    ``n_rates`` per channel touched before the credit cut) and its candidate pairs
    (``candidate[a, b]``, ``a < b``) complete before it."""
    offsets, channel, timestamp, _, _, _, credit_cut, row, _ = journeys
    n_channels = candidate.shape[0]
    main = np.zeros(n_converters, np.int64)
    pairs = np.zeros(n_converters, np.int64)
    first = np.full(n_channels, -1, np.int64)
    first_index = np.zeros(n_channels, np.int64)
    for j in range(len(offsets) - 1):
        r = row[j]
        if r < 0:
            continue
        cut = credit_cut[j]
        present = _first_touches(offsets[j], offsets[j + 1], channel, timestamp, first, first_index)
        main[r] = 1
        for u in range(len(present)):
            a = present[u]
            if first[a] < cut:
                main[r] += n_rates
            for v in range(u + 1, len(present)):
                b = present[v]
                if candidate[min(a, b), max(a, b)] and max(first[a], first[b]) < cut:
                    pairs[r] += 1
        for u in range(len(present)):
            first[present[u]] = -1
    return main, pairs


@njit(cache=True)
def _main_block(
    b: int,
    journeys: tuple,
    guard: np.int64,
    suspect: np.int64,
    rates: np.ndarray,
    out: tuple,
    partial: tuple,
) -> None:
    """Block ``b`` of :func:`main_features`."""
    offsets, channel, timestamp, start, end, window_end, credit_cut, row, weight = journeys
    pointer, column, x, z = out
    totals, near, before = partial[0][b], partial[1][b], partial[2][b]
    n_rates = len(rates)
    slot = np.full(len(near), -1, np.int64)
    later = np.zeros(n_rates)
    lo, hi = _block(b, len(offsets) - 1)
    for j in range(lo, hi):
        r = row[j]
        if r == NOT_AT_RISK:
            continue
        w = weight[j]
        totals[0] += w * (end[j] - start[j]) / NANOS_PER_DAY
        k = 0
        if r >= 0:
            k = pointer[r]
            column[k] = 0
            x[k] = 1.0
            z[k] = (window_end[j] - start[j]) / NANOS_PER_DAY
            k += 1
        cut = end[j] - guard
        window_cut = window_end[j] - guard
        timed = credit_cut[j] == cut
        if r >= 0:
            # A kernel's arrival over the window is its arrival by the cut plus the rest:
            # 1 - e^(-r(τ + Δ)) = -expm1(-rτ) + (1 + expm1(-rτ)) · (-expm1(-rΔ)).
            for g in range(n_rates):
                later[g] = -math.expm1(-rates[g] * (window_cut - cut) / NANOS_PER_DAY)
        for i in range(offsets[j], offsets[j + 1]):
            s = timestamp[i]
            c = channel[i]
            if r >= 0 and timed and s <= end[j]:
                if s >= end[j] - suspect:
                    near[c] += w
                elif s >= end[j] - 2 * suspect:
                    before[c] += w
            if r >= 0 and s < credit_cut[j] and slot[c] < 0:
                slot[c] = k
                for g in range(n_rates):
                    column[k + g] = 1 + c * n_rates + g
                k += n_rates
            if s < cut:
                tau = (cut - s) / NANOS_PER_DAY
                for g in range(n_rates):
                    # expm1 gives both the arrived part (-expm1) and the decay (1 + expm1).
                    decayed = math.expm1(-rates[g] * tau)
                    totals[1 + c * n_rates + g] -= w * decayed
                    if r >= 0:
                        x[slot[c] + g] += rates[g] * (1.0 + decayed)
                        z[slot[c] + g] += later[g] * (1.0 + decayed) - decayed
            elif r >= 0 and s < credit_cut[j]:
                # A conversion without a time: its touches after the cut act from s + δ,
                # if that is within the window.
                tau = max(window_cut - s, 0) / NANOS_PER_DAY
                for g in range(n_rates):
                    z[slot[c] + g] -= math.expm1(-rates[g] * tau)
        for i in range(offsets[j], offsets[j + 1]):
            slot[channel[i]] = -1


@njit(cache=True)
def main_features(
    journeys: tuple,
    guard: np.int64,
    suspect: np.int64,
    rates: np.ndarray,
    out: tuple,
    partial: tuple,
) -> None:
    """Fill the converted journeys' sparse main rows, ``out = (pointer, column, x, z)``
    (entries ``pointer[r]:pointer[r + 1]``, zero on entry): ``x`` the features at the
    conversion (from the touches before the cut), ``z`` the integrals over the window
    (from the touches before the credit cut). And per block ``partial = (totals, near,
    before)``: every journey's weighted integrals over its at-risk time; for the
    passenger check, the touches of each channel within ``suspect`` before a known
    conversion (``end - suspect <= s <= end``) and in the ``suspect`` before that
    (weighted)."""
    for b in range(BLOCKS):
        _main_block(b, journeys, guard, suspect, rates, out, partial)


@njit(cache=True, parallel=True)
def main_features_parallel(
    journeys: tuple,
    guard: np.int64,
    suspect: np.int64,
    rates: np.ndarray,
    out: tuple,
    partial: tuple,
) -> None:
    """:func:`main_features` on all threads."""
    for b in prange(BLOCKS):
        _main_block(b, journeys, guard, suspect, rates, out, partial)


@njit(cache=True)
def _pair_block(
    b: int,
    journeys: tuple,
    guard: np.int64,
    candidate: np.ndarray,
    rates: np.ndarray,
    out: tuple,
    partial: np.ndarray,
) -> None:
    """Block ``b`` of :func:`pair_features`."""
    offsets, channel, timestamp, _, end, window_end, credit_cut, row, weight = journeys
    pointer, code, x_pairs, z_pairs = out
    totals = partial[b]
    n_channels = candidate.shape[0]
    n_rates = len(rates)
    first = np.full(n_channels, -1, np.int64)
    first_index = np.zeros(n_channels, np.int64)
    decayed = np.zeros((n_channels, n_rates))
    arrived = np.zeros((n_channels, n_rates))
    lo, hi = _block(b, len(offsets) - 1)
    for j in range(lo, hi):
        r = row[j]
        if r == NOT_AT_RISK:
            continue
        w = weight[j]
        present = _first_touches(offsets[j], offsets[j + 1], channel, timestamp, first, first_index)
        cut = end[j] - guard
        window_cut = window_end[j] - guard
        # A pair's kernel starts at the later first touch: each channel's first-touch
        # terms are computed once and shared by its pairs.
        for u in range(len(present)):
            c = present[u]
            if first[c] < cut:
                tau = (cut - first[c]) / NANOS_PER_DAY
                rest = (window_cut - cut) / NANOS_PER_DAY
                for g in range(n_rates):
                    decayed[c, g] = math.expm1(-rates[g] * tau)
                    later = -math.expm1(-rates[g] * rest)
                    arrived[c, g] = later * (1.0 + decayed[c, g]) - decayed[c, g]
            else:
                tau = max(window_cut - first[c], 0) / NANOS_PER_DAY
                for g in range(n_rates):
                    decayed[c, g] = 0.0
                    arrived[c, g] = -math.expm1(-rates[g] * tau)
        k = pointer[r] if r >= 0 else 0
        for u in range(len(present)):
            for v in range(u + 1, len(present)):
                a, c = min(present[u], present[v]), max(present[u], present[v])
                if not candidate[a, c]:
                    continue
                last = a if first[a] >= first[c] else c
                acts = first[last] < cut
                credited = r >= 0 and first[last] < credit_cut[j]
                if credited:
                    code[k] = a * n_channels + c
                for g in range(n_rates):
                    if acts:
                        totals[a, c, g] -= w * decayed[last, g]
                        if credited:
                            x_pairs[k, g] = rates[g] * (1.0 + decayed[last, g])
                    if credited:
                        z_pairs[k, g] = arrived[last, g]
                if credited:
                    k += 1
        for u in range(len(present)):
            first[present[u]] = -1


@njit(cache=True)
def pair_features(
    journeys: tuple,
    guard: np.int64,
    candidate: np.ndarray,
    rates: np.ndarray,
    out: tuple,
    partial: np.ndarray,
) -> None:
    """Each converted journey's candidate pairs complete before its credit cut as sparse
    rows, ``out = (pointer, code, x_pairs, z_pairs)`` (one column per pair rate; ``x``
    0 for a pair complete only after the cut), and per block the candidates' weighted
    integrals over every journey's at-risk time (``partial[b, a, c, g]``, ``a < c``)."""
    for b in range(BLOCKS):
        _pair_block(b, journeys, guard, candidate, rates, out, partial)


@njit(cache=True, parallel=True)
def pair_features_parallel(
    journeys: tuple,
    guard: np.int64,
    candidate: np.ndarray,
    rates: np.ndarray,
    out: tuple,
    partial: np.ndarray,
) -> None:
    """:func:`pair_features` on all threads."""
    for b in prange(BLOCKS):
        _pair_block(b, journeys, guard, candidate, rates, out, partial)


# ------------------------------------------------------------------------ fit
@njit(cache=True)
def _gather(
    r: int,
    rows: tuple,
    columns: np.ndarray,
    values: np.ndarray,
) -> int:
    """Converter ``r``'s nonzero features in the current design (main entries, then the
    selected pairs' columns) into ``columns``/``values``; returns how many."""
    pointer, column, x, pair_pointer, _, pair_column, x_pairs, _ = rows
    k = 0
    for e in range(pointer[r], pointer[r + 1]):
        columns[k] = column[e]
        values[k] = x[e]
        k += 1
    for e in range(pair_pointer[r], pair_pointer[r + 1]):
        for g in range(x_pairs.shape[1]):
            columns[k] = pair_column[e] + g
            values[k] = x_pairs[e, g]
            k += 1
    return k


@njit(cache=True)
def row_width(rows: tuple, candidates: tuple) -> int:
    """The most entries a converter's row has in the current design, or with any
    candidate pair added (``candidates = (pair_pointer, pair_code, x_pairs)``)."""
    pointer, _, _, pair_pointer, _, _, x_pairs, _ = rows
    candidate_pointer = candidates[0]
    n_rates = x_pairs.shape[1]
    width = 1
    for r in range(len(pointer) - 1):
        main = pointer[r + 1] - pointer[r]
        pairs = (pair_pointer[r + 1] - pair_pointer[r]) * n_rates
        extra = (candidate_pointer[r + 1] - candidate_pointer[r]) * n_rates
        width = max(width, main + max(pairs, extra))
    return width


@njit(cache=True)
def _add_information(
    information: np.ndarray,
    columns: np.ndarray,
    values: np.ndarray,
    k: int,
    f2: float,
    mask: np.ndarray,
    kept: np.ndarray,
) -> None:
    """Add ``f2 x xᵀ`` of one row restricted to the columns where ``mask`` is set: each
    unordered pair of its entries once, at ``[a, b]`` or ``[b, a]`` (rows are not
    sorted); :func:`symmetrised` finishes the matrix. ``kept`` is work space."""
    m = 0
    for e in range(k):
        if mask[columns[e]]:
            kept[m] = e
            m += 1
    for u in range(m):
        e = kept[u]
        a = columns[e]
        ve = f2 * values[e]
        for v in range(u, m):
            d = kept[v]
            information[a, columns[d]] += ve * values[d]


def symmetrised(information: np.ndarray) -> np.ndarray:
    """The information from :func:`_add_information`'s half-filled sum ``M``:
    ``M + Mᵀ - diag(M)``."""
    return information + information.T - np.diag(np.diag(information))


@njit(cache=True)
def _likelihood_block(
    b: int,
    rows: tuple,
    theta: np.ndarray,
    mask: np.ndarray,
    width: int,
    partial: tuple,
) -> None:
    """Block ``b`` of :func:`log_likelihood`."""
    pointer, column, x, pair_pointer, _, pair_column, x_pairs, weight = rows
    value, gradient, information = partial[0][b : b + 1], partial[1][b], partial[2][b]
    hessian = mask.any()
    n_rates = x_pairs.shape[1]
    columns = np.empty(width, np.int64)
    values = np.empty(width)
    kept = np.empty(width, np.int64)
    lo, hi = _block(b, len(weight))
    for r in range(lo, hi):
        eta = 0.0
        for e in range(pointer[r], pointer[r + 1]):
            eta += x[e] * theta[column[e]]
        for e in range(pair_pointer[r], pair_pointer[r + 1]):
            for g in range(n_rates):
                eta += x_pairs[e, g] * theta[pair_column[e] + g]
        if not eta > 0.0:
            value[0] = -np.inf
            return
        value[0] += weight[r] * math.log(eta)
        f = weight[r] / eta
        for e in range(pointer[r], pointer[r + 1]):
            gradient[column[e]] += f * x[e]
        for e in range(pair_pointer[r], pair_pointer[r + 1]):
            for g in range(n_rates):
                gradient[pair_column[e] + g] += f * x_pairs[e, g]
        if hessian:
            k = _gather(r, rows, columns, values)
            _add_information(information, columns, values, k, f / eta, mask, kept)


@njit(cache=True)
def log_likelihood(
    rows: tuple,
    theta: np.ndarray,
    mask: np.ndarray,
    width: int,
    partial: tuple,
) -> None:
    """Per block ``partial = (value, gradient, information)``: ``Σ_conv w log η`` with
    ``η = x · θ`` in the current design (``-inf`` if some ``η ≤ 0``), its gradient
    ``Σ w x / η`` and the half-filled information ``Σ w x xᵀ / η²`` (see
    :func:`symmetrised`) between the columns where ``mask`` is set (none: no
    information), in one pass over the converters' sparse rows of at most ``width``
    entries."""
    for b in range(BLOCKS):
        _likelihood_block(b, rows, theta, mask, width, partial)


@njit(cache=True, parallel=True)
def log_likelihood_parallel(
    rows: tuple,
    theta: np.ndarray,
    mask: np.ndarray,
    width: int,
    partial: tuple,
) -> None:
    """:func:`log_likelihood` on all threads."""
    for b in prange(BLOCKS):
        _likelihood_block(b, rows, theta, mask, width, partial)


@njit(cache=True)
def _score_block(
    b: int,
    rows: tuple,
    candidates: tuple,
    theta: np.ndarray,
    candidate: np.ndarray,
    free: np.ndarray,
    width: int,
    partial: tuple,
) -> None:
    """Block ``b`` of :func:`pair_scores`."""
    weight = rows[7]
    pair_pointer, pair_code, x_pairs = candidates
    gain, own, cross, information = partial[0][b], partial[1][b], partial[2][b], partial[3][b]
    n_rates = x_pairs.shape[1]
    mask = free >= 0
    columns = np.empty(width, np.int64)
    values = np.empty(width)
    kept = np.empty(width, np.int64)
    lo, hi = _block(b, len(weight))
    for r in range(lo, hi):
        k = _gather(r, rows, columns, values)
        eta = 0.0
        for e in range(k):
            eta += values[e] * theta[columns[e]]
        f = weight[r] / eta
        f2 = f / eta
        _add_information(information, columns, values, k, f2, mask, kept)
        m_kept = 0
        for e in range(k):
            if mask[columns[e]]:
                kept[m_kept] = e
                m_kept += 1
        for e in range(pair_pointer[r], pair_pointer[r + 1]):
            m = candidate[pair_code[e]]
            if m < 0:
                continue
            for g in range(n_rates):
                v = x_pairs[e, g]
                gain[m, g] += f * v
                for h in range(n_rates):
                    own[m, g, h] += f2 * v * x_pairs[e, h]
                for u in range(m_kept):
                    d = kept[u]
                    cross[m, g, free[columns[d]]] += f2 * v * values[d]


@njit(cache=True)
def pair_scores(
    rows: tuple,
    candidates: tuple,
    theta: np.ndarray,
    candidate: np.ndarray,
    free: np.ndarray,
    width: int,
    partial: tuple,
) -> None:
    """Sums over the converters for the score test of candidate pairs at ``theta``.

    ``candidates = (pair_pointer, pair_code, x_pairs)`` are the converters' entries of
    every candidate pair, ``candidate[code]`` the candidate number of a pair code (-1:
    not tested) and
    ``free[k]`` the number of column ``k`` among the free parameters (-1: not free). Per
    block ``partial = (gain, own, cross, information)``: per candidate and pair rate
    ``Σ w x / η``; the candidate's own information block ``Σ w x_g x_h / η²``; its
    cross-information with the free columns ``Σ w x x_k / η²``; and the half-filled
    information of the design between its free columns (:func:`symmetrised`).
    """
    for b in range(BLOCKS):
        _score_block(b, rows, candidates, theta, candidate, free, width, partial)


@njit(cache=True, parallel=True)
def pair_scores_parallel(
    rows: tuple,
    candidates: tuple,
    theta: np.ndarray,
    candidate: np.ndarray,
    free: np.ndarray,
    width: int,
    partial: tuple,
) -> None:
    """:func:`pair_scores` on all threads."""
    for b in prange(BLOCKS):
        _score_block(b, rows, candidates, theta, candidate, free, width, partial)


@njit(cache=True)
def _removal_effect(part: float, whole: float) -> float:
    """``(e^R − 1) / (e^L − 1)`` computed as ``e^(R − L) · expm1(−R) / expm1(−L)``, which
    neither overflows nor cancels; 0 when ``R = 0``."""
    if not part > 0.0:
        return 0.0
    return math.exp(part - whole) * math.expm1(-part) / math.expm1(-whole)


@njit(cache=True)
def removal_sums(
    rows: tuple,
    value: np.ndarray,
    theta: np.ndarray,
    n_channels: int,
    n_rates: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per channel ``Σ_conv w q_c`` and ``Σ_conv value · q_c``, with ``q_c`` the removal
    effect of :func:`removal_credit`, from ``rows`` holding the converters' window
    integrals ``z`` in the current design."""
    pointer, column, z, pair_pointer, pair_code, pair_column, z_pairs, weight = rows
    conversions = np.zeros(n_channels)
    amounts = np.zeros(n_channels)
    part = np.zeros(n_channels)
    for r in range(len(pointer) - 1):
        whole = 0.0
        for e in range(pointer[r], pointer[r + 1]):
            contribution = theta[column[e]] * z[e]
            whole += contribution
            if column[e] > 0:
                part[(column[e] - 1) // n_rates] += contribution
        for e in range(pair_pointer[r], pair_pointer[r + 1]):
            contribution = 0.0
            for g in range(z_pairs.shape[1]):
                contribution += theta[pair_column[e] + g] * z_pairs[e, g]
            whole += contribution
            part[pair_code[e] // n_channels] += contribution
            part[pair_code[e] % n_channels] += contribution
        for c in range(n_channels):
            q = _removal_effect(part[c], whole)
            conversions[c] += weight[r] * q
            amounts[c] += value[r] * q
            part[c] = 0.0
    return conversions, amounts


# --------------------------------------------------------------------- credit
@njit(cache=True)
def _credit_block(
    b: int,
    journeys: tuple,
    amounts: tuple,
    guard: np.int64,
    model: tuple,
    out: tuple,
) -> None:
    """Block ``b`` of :func:`removal_credit`."""
    offsets, channel, timestamp, start, _, window_end, credit_cut, credited, _ = journeys
    conversions, value, scale_conversions, scale_value, equal = amounts
    rates, beta, baseline, pair_index, pair_beta, pair_rates = model
    out_conversions, out_value = out
    n_channels, n_rates = beta.shape
    part = np.zeros(n_channels)
    first = np.full(n_channels, -1, np.int64)
    first_index = np.zeros(n_channels, np.int64)
    lo, hi = _block(b, len(offsets) - 1)
    for j in range(lo, hi):
        a_lo, a_hi = offsets[j], offsets[j + 1]
        if credited[j] < 0 or a_lo == a_hi:
            continue
        cut = credit_cut[j]
        window_cut = window_end[j] - guard
        whole = baseline * (window_end[j] - start[j]) / NANOS_PER_DAY
        present = _first_touches(a_lo, a_hi, channel, timestamp, first, first_index)
        # Each touch's own arrived kernels (kept in out_value until the split).
        for i in range(a_lo, a_hi):
            if timestamp[i] >= cut:
                continue
            c = channel[i]
            tau = max(window_cut - timestamp[i], 0) / NANOS_PER_DAY
            contribution = 1.0 if equal else 0.0
            for g in range(n_rates):
                contribution -= beta[c, g] * math.expm1(-rates[g] * tau)
            out_value[i] = contribution
            part[c] += contribution
            whole += contribution
        for u in range(len(present)):
            for v in range(u + 1, len(present)):
                a, c = min(present[u], present[v]), max(present[u], present[v])
                p = pair_index[a, c]
                complete = max(first[a], first[c])
                if p < 0 or complete >= cut:
                    continue
                tau = max(window_cut - complete, 0) / NANOS_PER_DAY
                contribution = 0.0
                for g in range(len(pair_rates)):
                    contribution -= pair_beta[p, g] * math.expm1(-pair_rates[g] * tau)
                out_value[first_index[a]] += contribution
                out_value[first_index[c]] += contribution
                part[a] += contribution
                part[c] += contribution
                whole += contribution
        eligible = 0
        for u in range(len(present)):
            if part[present[u]] > 0.0:
                eligible += 1
        for u in range(len(present)):
            c = present[u]
            q = 1.0 / eligible if equal and part[c] > 0.0 else _removal_effect(part[c], whole)
            if q > 0.0:
                # Each touch of c gets its share of c's part.
                rate_conversions = scale_conversions * conversions[j] * q / part[c]
                rate_value = scale_value * value[j] * q / part[c]
                for i in range(first_index[c], a_hi):
                    if channel[i] == c:
                        out_conversions[i] = rate_conversions * out_value[i]
                        out_value[i] = rate_value * out_value[i]
            else:
                for i in range(first_index[c], a_hi):
                    if channel[i] == c:
                        out_value[i] = 0.0
            part[c] = 0.0
            first[c] = -1


@njit(cache=True)
def removal_credit(
    journeys: tuple,
    amounts: tuple,
    guard: np.int64,
    model: tuple,
    out: tuple,
) -> None:
    """Conversions and value credited to every touch by the fitted model's removal
    effect, into ``out = (conversions, value)`` (zero on entry).

    ``journeys`` as in the module docstring with ``row`` replaced by ``credited`` (>= 0
    for the journeys to credit); ``amounts = (conversions, value, scale_conversions,
    scale_value, equal)`` per journey and overall; ``model = (rates, beta, baseline,
    pair_index, pair_beta, pair_rates)`` with ``beta`` channels × rates and
    ``pair_index[a, b]`` (``a < b``) the selected pair number or -1. With ``equal`` (no
    effect identified, ``beta`` 0), ``q_c`` is instead 1 over the channels with a touch
    before the credit cut, split evenly over those touches.

    For a credited journey with cumulative hazard ``L`` over its window and channel
    ``c``'s part ``R_c`` of it (the arrived kernels of its touches before the cut, plus
    those of the selected pairs containing ``c``), ``q_c = (e^(R_c) − 1) / (e^L − 1)``;
    channel ``c`` receives ``scale · amount · q_c``, split over its touches in proportion
    to their own arrived kernels, a pair's part going to the channel's first touch.
    """
    for b in range(BLOCKS):
        _credit_block(b, journeys, amounts, guard, model, out)


@njit(cache=True, parallel=True)
def removal_credit_parallel(
    journeys: tuple,
    amounts: tuple,
    guard: np.int64,
    model: tuple,
    out: tuple,
) -> None:
    """:func:`removal_credit` on all threads."""
    for b in prange(BLOCKS):
        _credit_block(b, journeys, amounts, guard, model, out)
