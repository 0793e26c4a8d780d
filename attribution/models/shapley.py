"""Data-driven Shapley model: a counterfactual conversion-rate game over channels.

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
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, ClassVar

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
from attribution.models.base import AttributionModel, ModelNotApplicable, TouchCredit
from attribution.models.coalitions import CoalitionCounts, check_channel_count

#: Rules for coalitions never observed, by name.
UNOBSERVED_RULES: dict[str, int] = {
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
class _Solution:
    """Per-type Shapley values of both games, and how they were obtained."""

    phi_conversions: np.ndarray
    phi_value: np.ndarray
    method: str
    std_error_conversions: np.ndarray | None = None
    std_error_value: np.ndarray | None = None
    detail: str = ""


class Shapley(AttributionModel):
    """Shapley values of the counterfactual rate game (see the module docstring).

    Parameters: ``unobserved`` (``"mean_subsets"``, ``"best_subset"`` or ``"zero"``),
    ``smoothing`` (pseudo-journeys, >= 0), ``exact_limit`` (active channels solved over
    all coalitions, <= 30), ``sampling`` (``"allow"`` or ``"forbid"``), ``tolerance``
    (relative standard-error target of the sampler), ``max_permutations`` (per sampled
    channel set), ``seed``, and ``exact_method`` (within the exact limit: ``"auto"`` takes
    the cheaper route, ``"dense"`` the pass over all ``2^C`` coalitions, ``"per_set"`` each
    observed channel set's own subsets; all give the same values).

    Learned: ``shapley_conversions_`` and ``shapley_value_`` (per channel code),
    ``std_error_`` / ``std_error_conversions_`` (``None`` when exact), ``method_``, and
    the per-coalition solution used by :meth:`credit`.
    """

    name = "shapley"
    credits_converted_only: ClassVar[bool] = False

    def __init__(
        self,
        unobserved: str = "mean_subsets",
        smoothing: float = 0.0,
        exact_limit: int = 24,
        sampling: str = "allow",
        tolerance: float = 1e-3,
        max_permutations: int = 4096,
        seed: int = 0,
        exact_method: str = "auto",
    ) -> None:
        if unobserved not in UNOBSERVED_RULES:
            raise ValueError(
                f"unknown rule for unobserved coalitions {unobserved!r}; "
                f"choose from {', '.join(UNOBSERVED_RULES)}"
            )
        if not (np.isfinite(smoothing) and smoothing >= 0):
            raise ValueError(f"smoothing must be a number >= 0, got {smoothing}")
        if not 0 <= int(exact_limit) <= MAX_EXACT_LIMIT or int(exact_limit) != exact_limit:
            raise ValueError(f"exact_limit must be an integer from 0 to {MAX_EXACT_LIMIT}")
        if sampling not in ("allow", "forbid"):
            raise ValueError(f"sampling must be 'allow' or 'forbid', got {sampling!r}")
        if not (np.isfinite(tolerance) and tolerance > 0):
            raise ValueError(f"tolerance must be a positive number, got {tolerance}")
        if int(max_permutations) != max_permutations or max_permutations < 4:
            raise ValueError("max_permutations must be an integer >= 4")
        if int(seed) != seed or seed < 0:
            raise ValueError("seed must be a non-negative integer")
        if exact_method not in ("auto", "dense", "per_set"):
            raise ValueError(
                f"exact_method must be 'auto', 'dense' or 'per_set', got {exact_method!r}"
            )
        self.unobserved = unobserved
        self.smoothing = float(smoothing)
        self.exact_limit = int(exact_limit)
        self.sampling = sampling
        self.tolerance = float(tolerance)
        self.max_permutations = int(max_permutations)
        self.seed = int(seed)
        self.exact_method = exact_method
        self._fitted_index: tuple[weakref.ref[Journeys], np.ndarray] | None = None

    # ----------------------------------------------------------------- fitting
    def statistics(self, journeys: Journeys) -> CoalitionCounts:
        return CoalitionCounts.of(journeys)

    def fit(self, journeys: Journeys) -> Shapley:
        """Fit, remembering which coalition each of these journeys has for :meth:`credit`."""
        counts, index = CoalitionCounts.with_journey_index(journeys)
        self.fit_statistics(counts)
        self._fitted_index = (weakref.ref(journeys), index)
        return self

    def fit_statistics(self, statistics: Any) -> Shapley:
        counts: CoalitionCounts = statistics
        self._fitted_index = None
        n_channels = len(counts.channel_names)
        check_channel_count(n_channels, self.name)
        active = counts.active_channels
        compact = _compact_masks(counts.masks, active)
        sizes = popcounts(compact)
        member_offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        n_active = len(active)
        if n_active > self.exact_limit:
            local_limit = min(LOCAL_EXACT, self.exact_limit)
            solution = self._solve_by_type(counts, compact, member_offsets, sizes, local_limit)
        elif self.exact_method == "per_set" or (
            self.exact_method == "auto"
            and _local_cost(sizes) < DENSE_STEP_COST * n_active * 2.0**n_active
        ):
            solution = self._solve_by_type(counts, compact, member_offsets, sizes, n_active)
        else:
            solution = self._solve_dense(counts, compact, member_offsets, n_active)
        self.counts_ = counts
        self.member_offsets_ = member_offsets
        self.phi_conversions_ = solution.phi_conversions
        self.phi_value_ = solution.phi_value
        self.method_ = solution.method
        self.method_detail_ = solution.detail
        self.shapley_conversions_ = channel_totals(
            counts.masks, member_offsets, counts.journeys, solution.phi_conversions, n_channels
        )
        self.shapley_value_ = channel_totals(
            counts.masks, member_offsets, counts.journeys, solution.phi_value, n_channels
        )
        self.std_error_conversions_ = _spread(solution.std_error_conversions, active, n_channels)
        self.std_error_ = _spread(solution.std_error_value, active, n_channels)
        self.n_active_channels_ = len(active)
        return self

    def _solve_dense(
        self,
        counts: CoalitionCounts,
        compact: np.ndarray,
        member_offsets: np.ndarray,
        n_active: int,
    ) -> _Solution:
        size = 1 << n_active
        rule = UNOBSERVED_RULES[self.unobserved]
        count = np.zeros(size, np.float64)
        count[compact] = counts.journeys
        state = np.zeros((size, state_width(rule)), np.float64)
        state[compact, RATE_C] = counts.conversions
        state[compact, RATE_V] = counts.value
        low_bits = min(BLOCK_BITS, n_active)
        blocks, level_offsets = _blocks_by_level(n_active - low_bits)
        dense_rate_potential(count, state, rule, self.smoothing, low_bits, blocks, level_offsets)
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
                f"{estimated:,} never observed, estimated by rule '{self.unobserved}'"
            ),
        )

    def _solve_by_type(
        self,
        counts: CoalitionCounts,
        compact: np.ndarray,
        member_offsets: np.ndarray,
        sizes: np.ndarray,
        local_limit: int,
    ) -> _Solution:
        """Each coalition's game on its own subsets: exactly up to ``local_limit`` channels,
        by sampling above."""
        rule = UNOBSERVED_RULES[self.unobserved]
        n_active = len(counts.active_channels)
        sampled = sizes > local_limit
        n_sampled = int(sampled.sum())
        if n_sampled and self.sampling == "forbid":
            raise ModelNotApplicable(
                f"shapley: {n_active} active channels exceed the exact limit "
                f"({self.exact_limit}) and {n_sampled:,} journey channel sets have more than "
                f"{local_limit} channels, which would need sampling, and sampling is "
                "forbidden; group channels (e.g. map campaigns to channel groups) so at most "
                f"{self.exact_limit} remain, raise exact_limit (memory 5 x 8 x 2^C bytes), "
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
            self.smoothing,
        )
        if not n_sampled:
            return _Solution(
                phi_c,
                phi_v,
                "exact",
                detail=(
                    f"exact on each observed channel set's own subsets ({n_active} active "
                    f"channels, exact limit {self.exact_limit}, largest channel set "
                    f"{int(sizes.max(initial=0))}); never-observed coalitions estimated by rule "
                    f"'{self.unobserved}'"
                ),
            )
        return self._sample(
            counts, compact, member_offsets, sampled, rule, phi_c, phi_v, n_active, local_limit
        )

    def _sample(
        self,
        counts: CoalitionCounts,
        compact: np.ndarray,
        member_offsets: np.ndarray,
        sampled: np.ndarray,
        rule: int,
        phi_c: np.ndarray,
        phi_v: np.ndarray,
        n_active: int,
        local_limit: int,
    ) -> _Solution:
        """Permutation sampling of the large channel sets, in doubling rounds, until the
        largest channel standard error is within ``tolerance`` of the totals."""
        sums = np.zeros((member_offsets[-1], 4), np.float64)
        memo = typed.Dict.empty(key_type=types.int64, value_type=types.UniTuple(types.float64, 4))
        slots = np.repeat(sampled, np.diff(member_offsets))
        slot_channel = _slot_channels(compact, member_offsets, n_active)
        slot_weight = np.repeat(counts.journeys, np.diff(member_offsets))
        target_c = self.tolerance * max(abs(float(counts.conversions.sum())), 1e-300)
        target_v = self.tolerance * max(abs(float(counts.value.sum())), 1e-300)
        pairs = 0
        max_pairs = self.max_permutations // 2
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
                self.smoothing,
                self.seed,
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
            else f"stopping rule NOT met after max_permutations={self.max_permutations}"
        )
        return _Solution(
            phi_c,
            phi_v,
            "sampled",
            std_error_conversions=se_c,
            std_error_value=se_v,
            detail=(
                f"sampled: {n_active} active channels exceed the exact limit "
                f"({self.exact_limit}); {int(sampled.sum()):,} journey channel sets with more "
                f"than {local_limit} channels estimated with {2 * pairs:,} permutations each "
                f"(antithetic pairs, seed {self.seed}), the others exact; largest standard "
                f"error {se_v.max():.4g} (value), {se_c.max():.4g} (conversions); {stop} "
                f"(tolerance {self.tolerance:g} of the total)"
            ),
        )

    # ----------------------------------------------------------------- credit
    def credit(self, journeys: Journeys) -> TouchCredit:
        counts: CoalitionCounts = self.counts_
        if journeys.channel_names != counts.channel_names:
            raise ValueError("credit() needs journeys encoded like those the model was fit on")
        if self._fitted_index is not None and self._fitted_index[0]() is journeys:
            index = self._fitted_index[1]
        else:
            index = journey_types(journey_masks(journeys.offsets, journeys.channel), counts.masks)
            if (index == -2).any():
                raise ValueError(
                    "credit() got journeys whose channel sets were not in the fitted "
                    "statistics; fit on (a superset of) these journeys first"
                )
        conversions, value = touch_credit(
            journeys.offsets,
            journeys.channel,
            index,
            counts.masks,
            self.member_offsets_,
            self.phi_conversions_,
            self.phi_value_,
            counts.journeys,
            counts.conversions,
            counts.value,
            np.asarray(journeys.weight, np.float64),
            np.asarray(journeys.conversions, np.float64),
            np.asarray(journeys.converted_value, np.float64),
        )
        return TouchCredit(conversions, value)

    # ----------------------------------------------------------------- reporting
    def channel_columns(self) -> dict[str, np.ndarray]:
        if self.std_error_ is None or self.std_error_conversions_ is None:
            return {}
        return {"std_error": self.std_error_, "std_error_conversions": self.std_error_conversions_}

    def notes(self) -> tuple[str, ...]:
        counts: CoalitionCounts = self.counts_
        notes = [
            "game v(S) = sum over observed channel sets T of n(T) x rate(T ∩ S) (conversions "
            "and value per journey); v(all) = creditable total, v(empty) = 0; unobserved "
            f"coalitions: rule '{self.unobserved}', smoothing {self.smoothing:g}",
            self.method_detail_,
        ]
        negative = [counts.channel_names[c] for c in np.flatnonzero(self.shapley_value_ < 0)]
        if negative:
            notes.append(
                f"negative credit (reported, not clipped) for {len(negative)} channel(s): "
                + ", ".join(negative)
            )
        never = counts.value == 0
        if never.any():
            weights = np.repeat(counts.journeys * never, np.diff(self.member_offsets_))
            moved = float(np.abs(weights * self.phi_value_).sum()) / 2
            if moved > 0:
                notes.append(
                    f"channel sets that never converted move {moved:,.6g} of value between "
                    "channels (zero-sum per journey, carried by those journeys' touches)"
                )
        return tuple(notes)


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


def _spread(values: np.ndarray | None, active: np.ndarray, n_channels: int) -> np.ndarray | None:
    """Per-active-channel values spread to every channel code (0 for inactive ones)."""
    if values is None:
        return None
    out = np.zeros(n_channels, np.float64)
    out[active] = values
    return out
