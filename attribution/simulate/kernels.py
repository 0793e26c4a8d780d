"""numba kernels of the simulator (compiled once, cached on disk with ``cache=True``).

Journeys are contiguous runs of causal touches sorted by time: journey ``j`` owns
``offsets[j]:offsets[j + 1]``. The hazard of journey ``j`` at time ``t`` (days) is

    h(t) = base[j] + sum over touches s < t of  lift[c] * r[c] * exp(-r[c] * (t - s))
                   + sum over completed pairs p of  lift[p] * r[p] * exp(-r[p] * (t - s_p))

where ``s_p`` is the time the pair completed (the later of its channels' first touches).
A kernel of total ``lift`` started at ``s`` has delivered ``lift * (1 - exp(-r (t - s)))``
of cumulative hazard by ``t``: a touch's *contribution* at the horizon ``H``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Newton iterations allowed when solving for a conversion time (convergence is monotone).
MAX_NEWTON_STEPS = 100
#: Journeys up to this many touches are sorted by insertion sort, longer ones by merge sort.
INSERTION_SORT_LIMIT = 24


@njit(cache=True)
def pick_channels(kind: np.ndarray, draw: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """Channel of each touch: the first column of its kind's ``cdf`` row above ``draw``."""
    n_channels = cdf.shape[1]
    channel = np.empty(len(draw), np.int64)
    for i in range(len(draw)):
        row = kind[i]
        c = 0
        while c < n_channels - 1 and cdf[row, c] <= draw[i]:
            c += 1
        channel[i] = c
    return channel


@njit(cache=True)
def touch_seconds(
    draw: np.ndarray, channel: np.ndarray, timing: np.ndarray, horizon_seconds: np.int64
) -> np.ndarray:
    """Whole seconds in ``[1, horizon]``: ``floor(horizon * draw ** timing[channel]) + 1``."""
    seconds = np.empty(len(draw), np.int64)
    for i in range(len(draw)):
        shape = timing[channel[i]]
        fraction = draw[i] if shape == 1.0 else draw[i] ** shape
        seconds[i] = min(np.int64(math.floor(fraction * horizon_seconds)) + 1, horizon_seconds)
    return seconds


@njit(cache=True)
def label_codes(
    channel: np.ndarray, sizes: np.ndarray, starts: np.ndarray, flat: np.ndarray, draw: np.ndarray
) -> np.ndarray:
    """Label code of each touch: its channel's only option, or one of several picked by
    the next ``draw`` (-1 when the channel has none). Options of channel ``c`` are
    ``flat[starts[c]:starts[c] + sizes[c]]``."""
    codes = np.empty(len(channel), np.int64)
    used = 0
    for i in range(len(channel)):
        c = channel[i]
        if sizes[c] == 0:
            codes[i] = -1
        elif sizes[c] == 1:
            codes[i] = flat[starts[c]]
        else:
            codes[i] = flat[starts[c] + np.int64(draw[used] * sizes[c])]
            used += 1
    return codes


@njit(cache=True)
def order_by_journey_time(journey: np.ndarray, seconds: np.ndarray, n_journeys: int) -> np.ndarray:
    """Stable order by (journey, seconds): ties keep the order of the input arrays.

    A counting sort by journey, then a stable sort of each journey's few touches.
    """
    counts = np.zeros(n_journeys + 1, np.int64)
    for i in range(len(journey)):
        counts[journey[i] + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    order = np.empty(len(journey), np.int64)
    for i in range(len(journey)):
        order[fill[journey[i]]] = i
        fill[journey[i]] += 1
    for j in range(n_journeys):
        lo, hi = offsets[j], offsets[j + 1]
        if hi - lo > INSERTION_SORT_LIMIT:
            part = order[lo:hi]
            order[lo:hi] = part[np.argsort(seconds[part], kind="mergesort")]
            continue
        for i in range(lo + 1, hi):
            item = order[i]
            key = seconds[item]
            k = i - 1
            while k >= lo and seconds[order[k]] > key:
                order[k + 1] = order[k]
                k -= 1
            order[k + 1] = item
    return order


@njit(cache=True)
def _arrived(lift: float, rate: float, elapsed: float) -> float:
    """Cumulative hazard a kernel of total ``lift`` has delivered after ``elapsed`` days."""
    return lift * -math.expm1(-rate * elapsed)


@njit(cache=True)
def _pair_term(
    lo: int,
    hi: int,
    channel: np.ndarray,
    lineage: np.ndarray,
    days: np.ndarray,
    removed: np.int64,
    first: np.int64,
    second: np.int64,
    lift: float,
    rate: float,
    horizon: float,
) -> float:
    """Contribution at the horizon of one pair, from the touches not in ``removed``."""
    first_time = np.inf
    second_time = np.inf
    for i in range(lo, hi):
        if lineage[i] & removed:
            continue
        if channel[i] == first and days[i] < first_time:
            first_time = days[i]
        elif channel[i] == second and days[i] < second_time:
            second_time = days[i]
    completed = max(first_time, second_time)
    if completed > horizon:
        return 0.0
    return _arrived(lift, rate, horizon - completed)


@njit(cache=True)
def horizon_hazard(
    offsets: np.ndarray,
    channel: np.ndarray,
    lineage: np.ndarray,
    days: np.ndarray,
    contribution: np.ndarray,
    base: np.ndarray,
    horizon: float,
    pair_first: np.ndarray,
    pair_second: np.ndarray,
    pair_lift: np.ndarray,
    pair_rate: np.ndarray,
) -> np.ndarray:
    """Cumulative hazard of every journey at the horizon, from all its causal touches.

    The probability of converting within the horizon is ``1 - exp(-result)``.
    """
    n_journeys = len(offsets) - 1
    result = np.empty(n_journeys, np.float64)
    for j in range(n_journeys):
        lo, hi = offsets[j], offsets[j + 1]
        total = base[j] * horizon
        for i in range(lo, hi):
            total += contribution[i]
        for p in range(len(pair_lift)):
            total += _pair_term(
                lo,
                hi,
                channel,
                lineage,
                days,
                np.int64(0),
                pair_first[p],
                pair_second[p],
                pair_lift[p],
                pair_rate[p],
                horizon,
            )
        result[j] = total
    return result


@njit(cache=True)
def removed_hazard(
    offsets: np.ndarray,
    channel: np.ndarray,
    lineage: np.ndarray,
    days: np.ndarray,
    contribution: np.ndarray,
    n_channels: int,
    horizon: float,
    pair_first: np.ndarray,
    pair_second: np.ndarray,
    pair_lift: np.ndarray,
    pair_rate: np.ndarray,
) -> np.ndarray:
    """Cumulative hazard at the horizon that each journey loses when each channel is off.

    Result ``[c, j]``: the contributions of journey ``j``'s touches whose lineage has bit
    ``c`` (the channel's own touches and the follow-ups they triggered), plus what its
    pairs lose when their completion is delayed or prevented by the removal.
    """
    n_journeys = len(offsets) - 1
    result = np.zeros((n_channels, n_journeys), np.float64)
    for j in range(n_journeys):
        lo, hi = offsets[j], offsets[j + 1]
        for i in range(lo, hi):
            own = channel[i]
            result[own, j] += contribution[i]
            others = lineage[i] & ~(np.int64(1) << own)
            if others:
                for c in range(n_channels):
                    if others & (np.int64(1) << c):
                        result[c, j] += contribution[i]
        for p in range(len(pair_lift)):
            whole = _pair_term(
                lo,
                hi,
                channel,
                lineage,
                days,
                np.int64(0),
                pair_first[p],
                pair_second[p],
                pair_lift[p],
                pair_rate[p],
                horizon,
            )
            if whole == 0.0:
                continue
            # Only removing a channel in the lineage of one of the pair's touches can
            # delay or prevent its completion.
            involved = np.int64(0)
            for i in range(lo, hi):
                if channel[i] == pair_first[p] or channel[i] == pair_second[p]:
                    involved |= lineage[i]
            for c in range(n_channels):
                if not involved & (np.int64(1) << c):
                    continue
                kept = _pair_term(
                    lo,
                    hi,
                    channel,
                    lineage,
                    days,
                    np.int64(1) << c,
                    pair_first[p],
                    pair_second[p],
                    pair_lift[p],
                    pair_rate[p],
                    horizon,
                )
                result[c, j] += whole - kept
    return result


@njit(cache=True)
def _gained(base: float, level: np.ndarray, rate: np.ndarray, elapsed: float) -> float:
    """Cumulative hazard gained over ``elapsed`` days from the current hazard levels."""
    gained = base * elapsed
    for g in range(len(level)):
        if level[g] != 0.0:
            gained += level[g] * -math.expm1(-rate[g] * elapsed) / rate[g]
    return gained


@njit(cache=True)
def _solve(base: float, level: np.ndarray, rate: np.ndarray, needed: float, most: float) -> float:
    """The elapsed time in ``[0, most]`` at which the gained hazard reaches ``needed``.

    The gain is increasing and concave in the elapsed time, so Newton's method started at
    0 approaches the root from below without overshooting.
    """
    elapsed = 0.0
    for _ in range(MAX_NEWTON_STEPS):
        value = base * elapsed - needed
        slope = base
        for g in range(len(level)):
            if level[g] != 0.0:
                decayed = math.exp(-rate[g] * elapsed)
                value += level[g] * (1.0 - decayed) / rate[g]
                slope += level[g] * decayed
        if value >= 0.0 or slope <= 0.0:
            break
        step = -value / slope
        elapsed += step
        if step <= 1e-12 * max(1.0, elapsed):
            break
    return min(elapsed, most)


@njit(cache=True)
def conversion_days(
    offsets: np.ndarray,
    channel: np.ndarray,
    days: np.ndarray,
    converts: np.ndarray,
    base: np.ndarray,
    threshold: np.ndarray,
    horizon: float,
    amplitude: np.ndarray,
    group: np.ndarray,
    group_rate: np.ndarray,
    pair_first: np.ndarray,
    pair_second: np.ndarray,
    pair_amplitude: np.ndarray,
    pair_group: np.ndarray,
) -> np.ndarray:
    """Day of conversion of the journeys that convert (``inf`` for the others).

    ``converts[j]`` says whether the cumulative hazard at the horizon reaches
    ``threshold[j]`` (a unit exponential draw); the journey then converts at the first
    time it does, which is the inverse-transform way of sampling the first event of a
    process with hazard ``h``. ``amplitude[c]`` is the hazard a touch of ``c`` adds at
    once (``lift * r``), decaying at ``group_rate`` of its ``group``: kernels with equal
    rates are summed into one level, so the walk costs O(touches x distinct rates).
    """
    n_journeys = len(offsets) - 1
    n_channels = len(amplitude)
    result = np.full(n_journeys, np.inf)
    level = np.zeros(len(group_rate), np.float64)
    first = np.full(n_channels, np.inf)
    for j in range(n_journeys):
        if not converts[j]:
            continue
        level[:] = 0.0
        now = 0.0
        spent = 0.0
        needed = threshold[j]
        for i in range(offsets[j], offsets[j + 1]):
            t = days[i]
            if t > now:
                gained = _gained(base[j], level, group_rate, t - now)
                if spent + gained >= needed:
                    result[j] = now + _solve(base[j], level, group_rate, needed - spent, t - now)
                    break
                spent += gained
                for g in range(len(level)):
                    level[g] *= math.exp(-group_rate[g] * (t - now))
                now = t
            c = channel[i]
            level[group[c]] += amplitude[c]
            if first[c] == np.inf:
                first[c] = t
                for p in range(len(pair_amplitude)):
                    if pair_first[p] == c or pair_second[p] == c:
                        other = pair_second[p] if pair_first[p] == c else pair_first[p]
                        if first[other] < np.inf:
                            level[pair_group[p]] += pair_amplitude[p]
        if result[j] == np.inf:
            # Reaching the threshold is known (converts[j]); it happens after the last
            # touch. Rounding can leave the walk a hair short: convert at the horizon.
            result[j] = now + _solve(base[j], level, group_rate, needed - spent, horizon - now)
        for i in range(offsets[j], offsets[j + 1]):
            first[channel[i]] = np.inf
    return result


@njit(cache=True)
def exposure_logits(
    offsets: np.ndarray,
    channel: np.ndarray,
    lineage: np.ndarray,
    intercept: np.ndarray,
    weight: np.ndarray,
    saturation: float,
    removed_channels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Logit of converting under an exposure response, per buyer, with every channel on
    (``whole[j]``) and with each channel off (``without[c, j]``, for ``c <
    removed_channels``: the buyer's touches whose lineage has bit ``c`` removed).

    ``logit = intercept[j] + Σ_c weight[c] · (1 − e^(−n_c / saturation))``, ``n_c`` the
    buyer's touches of ``c``.
    """
    n_channels = len(weight)
    n_journeys = len(offsets) - 1
    whole = np.empty(n_journeys)
    without = np.empty((removed_channels, n_journeys))
    counts = np.zeros(n_channels)
    kept = np.zeros(n_channels)
    for j in range(n_journeys):
        lo, hi = offsets[j], offsets[j + 1]
        counts[:] = 0.0
        involved = np.int64(0)
        for i in range(lo, hi):
            counts[channel[i]] += 1.0
            involved |= lineage[i]
        total = intercept[j]
        for c in range(n_channels):
            total += weight[c] * -math.expm1(-counts[c] / saturation)
        whole[j] = total
        for c in range(removed_channels):
            if not involved & (np.int64(1) << c):
                without[c, j] = total
                continue
            kept[:] = counts
            for i in range(lo, hi):
                if lineage[i] & (np.int64(1) << c):
                    kept[channel[i]] -= 1.0
            value = intercept[j]
            for d in range(n_channels):
                value += weight[d] * -math.expm1(-kept[d] / saturation)
            without[c, j] = value
    return whole, without
