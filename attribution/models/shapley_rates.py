"""The observed-rate game of ``shapley`` (``game="observed_rates"``): a counterfactual
conversion-rate game over channels.

**The game.** Let ``T`` range over the observed coalitions (distinct channel sets of
journeys in the credit window), ``n(T)`` the journeys with exactly that set, and
``r(U)`` the estimated conversion rate of a journey whose channel set is ``U``
(conversions per journey; for the value game, value per journey). Switching the
channels outside ``S`` off leaves each journey with the channels ``T ∩ S``, so

    v(S) = Σ_T n(T) · r(T ∩ S).

Every observed ``T`` keeps its observed rate (``r(T) = conversions(T) / n(T)``), so
``v(all channels)`` is the total conversions (value) of the journeys with touches, and
``v(∅) = 0``: a journey with no touch in the credit window has no coalition, is left
out of the game, and its value is reported by the engine as not creditable. (The
engine's window only removes touches from converted journeys, so the observed rate of
"touchless" journeys would be a windowing artefact near 1, not a no-touch baseline.)

**Coalitions never observed** (most of them once there are 20+ channels) need an
estimate; ``unobserved`` selects the rule, and ``smoothing = k`` optionally shrinks the
observed rate of every *proper* sub-coalition toward the rule's estimate, as if ``k``
extra journeys had converted at that rate: ``(s(U) + k·prior(U)) / (n(U) + k)``.

- ``"mean_subsets"`` (default): the mean of the estimates of the coalition's
  one-smaller subsets (recursively; ∅ has rate 0). It interpolates from the nearest
  observed combinations, so a channel that merely completes a never-seen combination
  is neither rewarded for its whole rate (as with ``"zero"``) nor ignored.
- ``"best_subset"``: the best observed rate among the coalition's proper subsets
  (optimistic: switching channels off never costs more than the best part achieves).
- ``"zero"``: rate 0 (pessimistic: a never-seen combination never converts; it pushes
  credit toward an even split over the journey's channels, like ``shapley_simplified``).

The default is the most accurate in ``benchmarks/bench_shapley.py``'s simulations with
known causal effects: with 18 channels and most coalitions unobserved its channel shares
were off by a total variation distance of 0.120, against 0.149 (``"zero"``) and 0.154
(``"best_subset"``), with smoothing 5 no better; with 10 densely observed channels the
rules agree (0.106). The top coalition of every observed channel set always keeps its
raw observed rate, so efficiency holds against the data whatever the rule and
smoothing.

**Computation.** ``v`` is a sum of games ``n(T) · r(T ∩ S)`` in which channels outside
``T`` are null players, so the Shapley value is ``φ_i(v) = Σ_T n(T) · φ_i(g_T)`` with
``g_T`` the rate game on the subsets of ``T``. With the Hart–Mas-Colell potential
``|U|·P(U) = r(U) + Σ_{i∈U} P(U − i)``, ``P(∅) = 0``, which is the sum of the Harsanyi
dividends of ``r`` below ``U`` divided by their sizes, ``φ_i(g_T) = P(T) − P(T − i)``
(plus an even share of the difference between observed and smoothed ``r(T)``). Up to
``exact_limit`` active channels (default 24) the values are exact, by the cheaper of two
routes: one parallel pass over all ``2^C`` coalitions that computes ``r`` and ``P`` in
place (``O(C·2^C)`` time; five float64 values per coalition, seven with
``"best_subset"``, i.e. 640 MB at 24 channels, held as one row per coalition so the values
read for each one-smaller subset share a cache line), or, when the data has few small
channel sets, each observed set's own ``2^|T|`` subsets. Above the limit every channel
set with at most ``min(12, exact_limit)`` channels is still solved exactly on its own
subsets, and larger sets are estimated by antithetic permutation sampling (seeded,
deterministic; the rates of the sub-coalitions met are one-walk unbiased estimates for
``"mean_subsets"``/``"zero"``, exact for ``"best_subset"``) until the largest per-channel
standard error is at most ``tolerance`` × the total (or ``max_permutations`` is
reached); every sample still sums to the observed rate. The errors are reported as the
``std_error`` (value) and ``std_error_conversions`` channel columns. With
``sampling="forbid"`` the model refuses instead and suggests grouping channels.

**Per-journey credit.** A journey of channel set ``T`` receives the credit of the same
game restricted to its own coalition: channel ``i`` gets ``s_j / r(T) · φ_i(g_T)``, where
``s_j`` is the journey's conversions (value), so its credits sum to exactly its own
conversions (value), and summing over journeys gives the Shapley values. A channel set
that never converted (``r(T) = 0``) still has a Shapley vector that sums to zero but
need not be zero (its channels made other coalitions convert); it is carried by those
journeys themselves, by weight, so channel totals still equal the Shapley values while
each such journey's credits sum to 0 (this is why the model credits touches of
journeys that did not convert). A journey's channel credit is split evenly over that
channel's touches in the journey.

**Negative credit** is possible and reported, never clipped: in a counterfactual game a
channel whose presence lowers the observed rate has a negative marginal contribution.

**Two biases** make it a poor default on journey data, which is why ``shapley`` plays the
model-based game unless asked for this one. It takes observed rates at face value:

- *Exposure.* A converted journey stops at its conversion; one that did not convert
  keeps collecting touches until the data ends. Journeys with many channels are then
  mostly non-converters, the observed rate falls with the size of the channel set, and
  channels common in long journeys look harmful, even negative (on the bundled fixture
  six channels get negative pipeline, ``email_nurture`` -16.7M). A lookback window
  giving both kinds of journey the same observation length reduces it.
- *Passengers.* A channel that appears because a conversion is already happening (a
  closing meeting booked on a hot deal) has a conversion rate near 100% and takes most
  of the credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import typed, types

from attribution.journeys import Journeys
from attribution.kernels.shapley_credit import channel_totals, touch_credit
from attribution.kernels.shapley_dense import (
    RATE_C,
    RATE_V,
    RULE_MAX,
    RULE_MEAN,
    RULE_ZERO,
    dense_rate_potential,
    dense_type_shapley,
    local_type_shapley,
    state_width,
)
from attribution.kernels.shapley_sampling import sample_type_shapley
from attribution.kernels.subsets import journey_masks, journey_types, popcounts
from attribution.models.base import ModelNotApplicable, TouchCredit
from attribution.models.coalitions import CoalitionCounts, check_channel_count

Unobserved = Literal["mean_subsets", "best_subset", "zero"]
Sampling = Literal["allow", "forbid"]
ExactMethod = Literal["auto", "dense", "per_set"]

#: Rules for coalitions never observed, by name.
UNOBSERVED_RULES: dict[Unobserved, int] = {
    "mean_subsets": RULE_MEAN,
    "best_subset": RULE_MAX,
    "zero": RULE_ZERO,
}
#: Hard cap on ``exact_limit``: 2^30 coalitions need 40 GB.
MAX_EXACT_LIMIT = 30
#: Channel sets up to this size are solved exactly on their own subsets when sampling.
LOCAL_EXACT = 12
#: Cost of one coalition-and-channel step of the dense pass relative to the per-set
#: route's unit (measured: ~4 ns against ~1.3 ns; the dense pass is memory-bound).
DENSE_STEP_COST = 3.0
#: Low bits of a block in the dense pass (2^14 coalitions: 128 KB per array).
BLOCK_BITS = 14
#: Permutation pairs per sampled channel set in the first round; later rounds double.
FIRST_ROUND_PAIRS = 16
#: Coalitions the sampler may memoise rate estimates for (about 100 bytes each).
MEMO_LIMIT = 1 << 24


@dataclass(frozen=True)
class RateGameSettings:
    """The parameters of the observed-rate game (see :class:`~attribution.models.shapley.
    Shapley`)."""

    unobserved: Unobserved
    smoothing: float
    exact_limit: int
    sampling: Sampling
    tolerance: float
    max_permutations: int
    seed: int
    exact_method: ExactMethod


@dataclass(frozen=True)
class RateGameFit:
    """The solved game: per-coalition Shapley vectors (``phi_*``, flat by member slot of
    ``member_offsets``), channel totals, and how they were obtained.

    ``standard_error*`` are 0 for exact values; ``n_permutations`` is the number of
    permutations per sampled channel set (0 when exact) and ``converged`` whether the
    sampler's stopping rule was met (True when exact).
    """

    counts: CoalitionCounts
    member_offsets: np.ndarray
    phi_conversions: np.ndarray
    phi_value: np.ndarray
    shapley_conversions: np.ndarray
    shapley_value: np.ndarray
    standard_error_conversions: np.ndarray
    standard_error: np.ndarray
    method: str
    detail: str
    converged: bool
    n_permutations: int
    n_sampled_sets: int
    n_active_channels: int


@dataclass(frozen=True)
class _Solution:
    """Per-type Shapley values of both games, and how they were obtained."""

    phi_conversions: np.ndarray
    phi_value: np.ndarray
    method: str
    detail: str
    std_error_conversions: np.ndarray | None = None
    std_error_value: np.ndarray | None = None
    converged: bool = True
    n_permutations: int = 0
    n_sampled_sets: int = 0


def fit_rate_game(counts: CoalitionCounts, settings: RateGameSettings) -> RateGameFit:
    """Shapley values of the observed-rate game of ``counts`` (see the module docstring)."""
    n_channels = len(counts.channel_names)
    check_channel_count(n_channels, "shapley")
    active = counts.active_channels
    compact = _compact_masks(counts.masks, active)
    sizes = popcounts(compact)
    member_offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    n_active = len(active)
    if n_active > settings.exact_limit:
        local_limit = min(LOCAL_EXACT, settings.exact_limit)
        solution = _solve_by_type(counts, compact, member_offsets, sizes, local_limit, settings)
    elif settings.exact_method == "per_set" or (
        settings.exact_method == "auto"
        and _local_cost(sizes) < DENSE_STEP_COST * n_active * 2.0**n_active
    ):
        solution = _solve_by_type(counts, compact, member_offsets, sizes, n_active, settings)
    else:
        solution = _solve_dense(counts, compact, member_offsets, n_active, settings)
    return RateGameFit(
        counts=counts,
        member_offsets=member_offsets,
        phi_conversions=solution.phi_conversions,
        phi_value=solution.phi_value,
        shapley_conversions=channel_totals(
            counts.masks, member_offsets, counts.journeys, solution.phi_conversions, n_channels
        ),
        shapley_value=channel_totals(
            counts.masks, member_offsets, counts.journeys, solution.phi_value, n_channels
        ),
        standard_error_conversions=_spread(solution.std_error_conversions, active, n_channels),
        standard_error=_spread(solution.std_error_value, active, n_channels),
        method=solution.method,
        detail=solution.detail,
        converged=solution.converged,
        n_permutations=solution.n_permutations,
        n_sampled_sets=solution.n_sampled_sets,
        n_active_channels=n_active,
    )


def rate_game_credit(fit: RateGameFit, journeys: Journeys) -> TouchCredit:
    """Credit of every touch: each journey gets its coalition's Shapley vector scaled to
    its own conversions (value); see the module docstring."""
    counts = fit.counts
    if journeys.channel_names != counts.channel_names:
        raise ValueError(
            "credit() needs journeys encoded like the statistics the model was fitted on"
        )
    index = journey_types(journey_masks(journeys.offsets, journeys.channel), counts.masks)
    if (index == -2).any():
        raise ValueError(
            "credit() got journeys whose channel sets were not in the fitted statistics; "
            "fit on statistics merged from (a superset of) these journeys first"
        )
    conversions, value = touch_credit(
        journeys.offsets,
        journeys.channel,
        index,
        counts.masks,
        fit.member_offsets,
        fit.phi_conversions,
        fit.phi_value,
        counts.journeys,
        counts.conversions,
        counts.value,
        np.asarray(journeys.weight, np.float64),
        np.asarray(journeys.conversions, np.float64),
        np.asarray(journeys.value, np.float64),
    )
    return TouchCredit(conversions, value)


def rate_split_keys(counts: CoalitionCounts, journeys: Journeys) -> tuple[np.ndarray, int]:
    """Each touch's key for the bootstrap's split of :func:`rate_game_credit`: its
    journey's coalition (index among ``counts``) times the channels, plus its channel;
    and the number of keys."""
    index = counts.journey_index(journeys)
    if index is None:
        raise ValueError(
            "the split needs journeys encoded like the statistics the model was fitted on, "
            "with coalitions among them"
        )
    n_channels = len(counts.channel_names)
    touch_index = np.repeat(index, np.diff(journeys.offsets))
    keys = touch_index * n_channels + np.asarray(journeys.channel, np.int64)
    return np.ascontiguousarray(keys, dtype=np.int64), len(counts.masks) * n_channels


def rate_split_rates(fit: RateGameFit, masks: np.ndarray) -> np.ndarray:
    """The value rates of :func:`rate_game_credit` over the keys of :func:`rate_split_keys`
    for coalitions ``masks`` (sorted; a superset of the fit's), on the bases (value,
    weight): journey ``j`` of coalition ``t`` gets ``value_j · n(t) / value(t) ·
    phi[t, c]`` for channel ``c`` when ``value(t) != 0``, else ``weight_j · phi[t, c]``,
    split evenly over its touches of ``c``. Coalitions the fit lacks have rates 0."""
    counts = fit.counts
    n_channels = len(counts.channel_names)
    bits = (counts.masks[:, None] >> np.arange(n_channels)) & 1
    slot_type, slot_channel = np.nonzero(bits)  # member slots in order: ascending channel
    position = np.searchsorted(masks, counts.masks)
    total = counts.value[slot_type]
    phi = fit.phi_value
    rates = np.zeros((len(masks) * n_channels, 2))
    key = position[slot_type] * n_channels + slot_channel
    with np.errstate(divide="ignore", invalid="ignore"):
        rates[key, 0] = np.where(total != 0, counts.journeys[slot_type] / total * phi, 0.0)
    rates[key, 1] = np.where(total == 0, phi, 0.0)
    return rates


def _solve_dense(
    counts: CoalitionCounts,
    compact: np.ndarray,
    member_offsets: np.ndarray,
    n_active: int,
    settings: RateGameSettings,
) -> _Solution:
    size = 1 << n_active
    rule = UNOBSERVED_RULES[settings.unobserved]
    count = np.zeros(size, np.float64)
    count[compact] = counts.journeys
    state = np.zeros((size, state_width(rule)), np.float64)
    state[compact, RATE_C] = counts.conversions
    state[compact, RATE_V] = counts.value
    low_bits = min(BLOCK_BITS, n_active)
    blocks, level_offsets = _blocks_by_level(n_active - low_bits)
    dense_rate_potential(
        count, state, rule, float(settings.smoothing), low_bits, blocks, level_offsets
    )
    phi_c, phi_v = dense_type_shapley(
        compact, counts.journeys, counts.conversions, counts.value, member_offsets, state
    )
    estimated = size - 1 - len(compact)
    return _Solution(
        phi_c,
        phi_v,
        "exact",
        detail=(
            f"exact over all 2^{n_active} coalitions of {n_active} active channels; "
            f"{estimated:,} never observed, estimated by rule '{settings.unobserved}'"
        ),
    )


def _solve_by_type(
    counts: CoalitionCounts,
    compact: np.ndarray,
    member_offsets: np.ndarray,
    sizes: np.ndarray,
    local_limit: int,
    settings: RateGameSettings,
) -> _Solution:
    """Each coalition's game on its own subsets: exactly up to ``local_limit`` channels,
    by sampling above."""
    rule = UNOBSERVED_RULES[settings.unobserved]
    n_active = len(counts.active_channels)
    sampled = sizes > local_limit
    n_sampled = int(sampled.sum())
    if n_sampled and settings.sampling == "forbid":
        raise ModelNotApplicable(
            f"shapley: {n_active} active channels exceed the exact limit "
            f"({settings.exact_limit}) and {n_sampled:,} journey channel sets have more than "
            f"{local_limit} channels, which would need sampling, and sampling is "
            "forbidden; group channels (e.g. map campaigns to channel groups) so at most "
            f"{settings.exact_limit} remain, raise exact_limit (memory 5 x 8 x 2^C bytes), "
            "or allow sampling"
        )
    phi_c, phi_v = local_type_shapley(
        compact,
        counts.journeys,
        counts.conversions,
        counts.value,
        member_offsets,
        ~sampled,
        rule,
        float(settings.smoothing),
    )
    if not n_sampled:
        return _Solution(
            phi_c,
            phi_v,
            "exact",
            detail=(
                f"exact on each observed channel set's own subsets ({n_active} active "
                f"channels, exact limit {settings.exact_limit}, largest channel set "
                f"{int(sizes.max(initial=0))}); never-observed coalitions estimated by rule "
                f"'{settings.unobserved}'"
            ),
        )
    return _sample(
        counts,
        compact,
        member_offsets,
        sampled,
        rule,
        phi_c,
        phi_v,
        n_active,
        local_limit,
        settings,
    )


def _sample(
    counts: CoalitionCounts,
    compact: np.ndarray,
    member_offsets: np.ndarray,
    sampled: np.ndarray,
    rule: int,
    phi_c: np.ndarray,
    phi_v: np.ndarray,
    n_active: int,
    local_limit: int,
    settings: RateGameSettings,
) -> _Solution:
    """Permutation sampling of the large channel sets, in doubling rounds, until the
    largest channel standard error is within ``tolerance`` of the totals."""
    sums = np.zeros((member_offsets[-1], 4), np.float64)
    memo = typed.Dict.empty(key_type=types.int64, value_type=types.UniTuple(types.float64, 4))
    slots = np.repeat(sampled, np.diff(member_offsets))
    slot_channel = _slot_channels(compact, member_offsets, n_active)
    slot_weight = np.repeat(counts.journeys, np.diff(member_offsets))
    target_c = settings.tolerance * max(abs(float(counts.conversions.sum())), 1e-300)
    target_v = settings.tolerance * max(abs(float(counts.value.sum())), 1e-300)
    pairs = 0
    max_pairs = int(settings.max_permutations) // 2
    batch = min(FIRST_ROUND_PAIRS, max_pairs)
    while True:
        ok = sample_type_shapley(
            compact,
            counts.journeys,
            counts.conversions,
            counts.value,
            member_offsets,
            sampled,
            rule,
            float(settings.smoothing),
            int(settings.seed),
            pairs,
            batch,
            sums,
            memo,
            MEMO_LIMIT,
        )
        if not ok:
            raise ModelNotApplicable(
                f"shapley: rule 'best_subset' needs exact rates for more than "
                f"{MEMO_LIMIT:,} sub-coalitions of the largest journey channel sets; "
                "group channels, or use unobserved='mean_subsets' or 'zero', whose "
                "rates the sampler estimates without enumerating subsets"
            )
        pairs += batch
        se_c, se_v = _standard_errors(sums, pairs, slots, slot_channel, slot_weight, n_active)
        met = bool(se_c.max() <= target_c and se_v.max() <= target_v)
        if met or pairs >= max_pairs:
            break
        batch = min(pairs, max_pairs - pairs)
    phi_c = np.where(slots, sums[:, 0] / pairs, phi_c)
    phi_v = np.where(slots, sums[:, 2] / pairs, phi_v)
    stop = (
        "stopping rule met"
        if met
        else f"stopping rule not met after max_permutations={settings.max_permutations}"
    )
    n_sampled = int(sampled.sum())
    return _Solution(
        phi_c,
        phi_v,
        "sampled",
        std_error_conversions=se_c,
        std_error_value=se_v,
        converged=met,
        n_permutations=2 * pairs,
        n_sampled_sets=n_sampled,
        detail=(
            f"sampled: {n_active} active channels exceed the exact limit "
            f"({settings.exact_limit}); {n_sampled:,} journey channel sets with more "
            f"than {local_limit} channels estimated with {2 * pairs:,} permutations each "
            f"(antithetic pairs, seed {settings.seed}), the others exact; largest standard "
            f"error {se_v.max():.4g} (value), {se_c.max():.4g} (conversions); {stop} "
            f"(tolerance {settings.tolerance:g} of the total)"
        ),
    )


def _local_cost(sizes: np.ndarray) -> float:
    """Work of solving every coalition on its own subsets, in units of the dense pass's
    per-coalition-and-channel step (a subset lookup is a binary search: ~4 steps per level)."""
    if len(sizes) == 0:
        return 0.0
    lookup = 4.0 * np.log2(len(sizes) + 1)
    return float(np.sum(np.exp2(sizes) * (sizes + lookup)))


def _compact_masks(masks: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Masks over the active channels only (bit b = the b-th active channel)."""
    out = np.zeros(len(masks), np.int64)
    for bit, code in enumerate(active):
        out |= ((masks >> np.int64(code)) & 1) << np.int64(bit)
    return out


def _blocks_by_level(high_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Block numbers ``0 .. 2^high_bits - 1`` grouped by popcount, with level offsets."""
    blocks = np.arange(1 << high_bits, dtype=np.int64)
    level = popcounts(blocks)
    order = np.argsort(level, kind="stable")
    offsets = np.concatenate(([0], np.cumsum(np.bincount(level, minlength=high_bits + 1))))
    return blocks[order], offsets.astype(np.int64)


def _slot_channels(compact: np.ndarray, member_offsets: np.ndarray, n_active: int) -> np.ndarray:
    """Active channel (compact bit) of every member slot."""
    bits = ((compact[:, None] >> np.arange(n_active, dtype=np.int64)) & 1).astype(bool)
    out = np.nonzero(bits)[1].astype(np.int64)
    assert len(out) == member_offsets[-1]
    return out


def _standard_errors(
    sums: np.ndarray,
    pairs: int,
    slots: np.ndarray,
    slot_channel: np.ndarray,
    slot_weight: np.ndarray,
    n_active: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of the channel totals: sqrt(Σ_T n(T)² s²_T / m) per channel."""
    out = []
    for column in (0, 2):
        mean = sums[:, column] / pairs
        var = np.maximum(sums[:, column + 1] / pairs - mean * mean, 0.0) * pairs / max(pairs - 1, 1)
        variance = np.where(slots, slot_weight**2 * var / pairs, 0.0)
        out.append(np.sqrt(np.bincount(slot_channel, variance, minlength=n_active)))
    return out[0], out[1]


def _spread(values: np.ndarray | None, active: np.ndarray, n_channels: int) -> np.ndarray:
    """Per-active-channel values spread to every channel code (0 for inactive ones, and
    everywhere when exact)."""
    out = np.zeros(n_channels, np.float64)
    if values is not None:
        out[active] = values
    return out
