"""Kernels of the observed-rate Shapley game and of the closed-form models against
plain-Python references."""

from __future__ import annotations

import numpy as np
import pytest

from attribution.kernels import shapley_closed_form, shapley_credit, shapley_dense, subsets
from attribution.kernels import shapley_sampling as sampling
from tests.shapley_reference import brute_force_shapley, rate_game

RULES = {
    "zero": shapley_dense.RULE_ZERO,
    "mean_subsets": shapley_dense.RULE_MEAN,
    "best_subset": shapley_dense.RULE_MAX,
}


def random_coalitions(
    rng: np.random.Generator, n: int, types: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    masks = np.unique(rng.integers(1, 1 << n, size=types)).astype(np.int64)
    count = rng.integers(1, 6, size=len(masks)).astype(float)
    conversions = np.floor(rng.uniform(0, 1, len(masks)) * (count + 1))
    value = conversions * rng.uniform(1, 100, len(masks))
    return masks, count, conversions, value


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("smoothing", [0.0, 3.0])
@pytest.mark.parametrize("n", [1, 4, 7, 10])
def test_rate_game_kernels_match_brute_force(rule: str, smoothing: float, n: int) -> None:
    """Dense pass, per-coalition lattices, and totals against the game's definition."""
    rng = np.random.default_rng(n * 7 + int(smoothing))
    masks, count, conversions, value = random_coalitions(rng, n, 3 * n)
    sizes = subsets.popcounts(masks)
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    size = 1 << n
    count_dense = np.zeros(size)
    count_dense[masks] = count
    state = np.zeros((size, shapley_dense.state_width(RULES[rule])))
    state[masks, shapley_dense.RATE_C] = conversions
    state[masks, shapley_dense.RATE_V] = value
    low_bits = min(3, n)
    high = n - low_bits
    blocks = np.array(sorted(range(1 << high), key=lambda b: bin(b).count("1")), np.int64)
    levels = np.concatenate(
        ([0], np.cumsum(np.bincount(subsets.popcounts(blocks), minlength=high + 1)))
    )
    shapley_dense.dense_rate_potential(
        count_dense, state, RULES[rule], smoothing, low_bits, blocks, levels.astype(np.int64)
    )
    dense_c, dense_v = shapley_dense.dense_type_shapley(
        masks, count, conversions, value, offsets, state
    )
    local_c, local_v = shapley_dense.local_type_shapley(
        masks,
        count,
        conversions,
        value,
        offsets,
        np.ones(len(masks), bool),
        RULES[rule],
        smoothing,
    )
    for total, phis in ((conversions, (dense_c, local_c)), (value, (dense_v, local_v))):
        counts = dict(zip(masks.tolist(), count.tolist(), strict=True))
        totals = dict(zip(masks.tolist(), total.tolist(), strict=True))
        expected = brute_force_shapley(rate_game(n, counts, totals, rule, smoothing), n)
        scale = max(1.0, float(np.abs(expected).max()))
        for phi in phis:
            got = shapley_credit.channel_totals(masks, offsets, count, phi, n)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * scale)
        # Each coalition's vector sums to its observed rate (efficiency per journey type).
        per_type = np.add.reduceat(phis[0], offsets[:-1])
        np.testing.assert_allclose(per_type, total / count, atol=1e-9 * scale)


def test_sampler_is_exact_on_two_player_coalitions_and_deterministic() -> None:
    """An antithetic pair visits both orders of two players: the estimate is exact."""
    from numba import typed, types

    masks = np.array([0b01, 0b10, 0b11], np.int64)
    count = np.array([2.0, 4.0, 4.0])
    conv = np.array([1.0, 1.0, 3.0])
    offsets = np.array([0, 1, 2, 4], np.int64)
    sampled = np.array([False, False, True])

    def run(seed: int) -> np.ndarray:
        sums = np.zeros((4, 4))
        memo = typed.Dict.empty(key_type=types.int64, value_type=types.UniTuple(types.float64, 4))
        assert sampling.sample_type_shapley(
            masks,
            count,
            conv,
            conv,
            offsets,
            sampled,
            shapley_dense.RULE_MEAN,
            0.0,
            seed,
            0,
            3,
            sums,
            memo,
            1000,
        )
        return sums

    sums = run(1)
    # g({a}) = 1/2, g({b}) = 1/4, g({a,b}) = 3/4: phi_a = (1/2 + 1/2)/2, phi_b = (1/4 + 1/4)/2
    np.testing.assert_allclose(sums[2:, 0] / 3, [0.5, 0.25])
    np.testing.assert_array_equal(run(1), sums)


def test_coalition_groups_and_lookup() -> None:
    offsets = np.array([0, 2, 2, 5, 6], np.int64)
    channel = np.array([3, 0, 0, 3, 0, 1], np.int32)
    weight = np.array([1.0, 1.0, 2.0, 5.0])
    conversions = np.array([1.0, 1.0, 0.0, 5.0])
    value = np.array([10.0, 7.0, 0.0, 50.0])
    of_journeys = subsets.journey_masks(offsets, channel)
    np.testing.assert_array_equal(of_journeys, [9, 0, 9, 2])
    masks, n, conv, val, index = subsets.coalition_groups(of_journeys, weight, conversions, value)
    # Journeys 0 and 2 share {0, 3} (mask 9); journey 1 has no touch; journey 3 is {1}.
    np.testing.assert_array_equal(masks, [2, 9])
    np.testing.assert_array_equal(n, [5.0, 3.0])
    np.testing.assert_array_equal(conv, [5.0, 1.0])
    np.testing.assert_array_equal(val, [50.0, 10.0])
    np.testing.assert_array_equal(index, [1, -1, 1, 0])
    np.testing.assert_array_equal(subsets.journey_types(of_journeys, masks), [1, -1, 1, 0])
    np.testing.assert_array_equal(
        subsets.journey_types(of_journeys, np.array([9], np.int64)), [0, -1, 0, -2]
    )


def test_coalition_groups_grow_past_their_first_table() -> None:
    rng = np.random.default_rng(4)
    masks = rng.integers(0, 1 << 20, size=5000).astype(np.int64)
    ones = np.ones(len(masks))
    unique, n, _, _, index = subsets.coalition_groups(masks, ones, ones, ones)
    expected, counts = np.unique(masks[masks != 0], return_counts=True)
    np.testing.assert_array_equal(unique, expected)
    np.testing.assert_array_equal(n, counts)
    np.testing.assert_array_equal(unique[index[masks != 0]], masks[masks != 0])


def test_simplified_credit_by_hand() -> None:
    # Journey 0: a b a (value 6): 3 each to a and b; a's 3 over two touches.
    # Journey 1: b (not converted): nothing.
    offsets = np.array([0, 3, 4], np.int64)
    channel = np.array([0, 1, 0, 1], np.int32)
    conv, val = shapley_closed_form.simplified_credit(
        offsets, channel, np.array([1.0, 0.0]), np.array([6.0, 0.0]), 2
    )
    np.testing.assert_allclose(val, [1.5, 3.0, 1.5, 0.0])
    np.testing.assert_allclose(conv, [0.25, 0.5, 0.25, 0.0])
