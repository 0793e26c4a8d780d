"""Shapley kernels against the textbook formula, and the axioms on random games."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.kernels import shapley as k
from attribution.models.shapley import (
    game_from_dividends,
    harsanyi_dividends,
    shapley_from_dividends,
    shapley_values,
)
from tests.shapley_reference import brute_force_shapley, rate_game, subsets_of

RULES = {"zero": k.RULE_ZERO, "mean_subsets": k.RULE_MEAN, "best_subset": k.RULE_MAX}


def random_game(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.normal(size=1 << n) * rng.uniform(0.1, 100)


@pytest.mark.parametrize("n", range(1, 11))
def test_every_dense_route_matches_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    game = random_game(rng, n)
    expected = brute_force_shapley(game, n)
    scale = max(1.0, float(np.abs(expected).max()))
    from_potential = k.shapley_from_potential(k.potential(game), n)
    from_dividends = k.shapley_from_dividends(k.mobius(game), n)
    np.testing.assert_allclose(from_potential, expected, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(from_dividends, expected, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(shapley_values(game), expected, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(
        shapley_from_dividends(harsanyi_dividends(game)), expected, rtol=0, atol=1e-9 * scale
    )


@pytest.mark.parametrize("n", [1, 3, 6])
def test_transforms_match_their_definitions(n: int) -> None:
    rng = np.random.default_rng(10 + n)
    values = rng.normal(size=1 << n)
    size = 1 << n
    down = [sum(values[u] for u in subsets_of(s)) for s in range(size)]
    up = [sum(values[u] for u in range(size) if u & s == s) for s in range(size)]
    dividends = [
        sum((-1) ** (bin(s).count("1") - bin(u).count("1")) * values[u] for u in subsets_of(s))
        for s in range(size)
    ]
    np.testing.assert_allclose(k.subset_sum(values), down, atol=1e-12)
    np.testing.assert_allclose(k.superset_sum(values), up, atol=1e-12)
    np.testing.assert_allclose(harsanyi_dividends(values), dividends, atol=1e-12)
    np.testing.assert_allclose(game_from_dividends(harsanyi_dividends(values)), values, atol=1e-12)


def test_game_arrays_are_validated() -> None:
    with pytest.raises(ValueError, match="2\\^n"):
        shapley_values(np.zeros(6))
    with pytest.raises(ValueError, match="coalition 1 has nan"):
        shapley_values(np.array([0.0, np.nan]))


games = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1 << n, max_size=1 << n).map(
        lambda values: (n, np.array(values))
    )
)


@settings(max_examples=60, deadline=None)
@given(games)
def test_efficiency(case: tuple[int, np.ndarray]) -> None:
    n, game = case
    assert shapley_values(game).sum() == pytest.approx(game[-1] - game[0], abs=1e-8)
    assert k.shapley_from_dividends(k.mobius(game), n).sum() == pytest.approx(
        game[-1] - game[0], abs=1e-8
    )


@settings(max_examples=60, deadline=None)
@given(games, st.data())
def test_symmetry(case: tuple[int, np.ndarray], data: st.DataObject) -> None:
    n, game = case
    if n < 2:
        return
    i, j = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))

    def swap(s: int) -> int:
        bi, bj = s >> i & 1, s >> j & 1
        s &= ~(1 << i | 1 << j)
        return s | bi << j | bj << i

    symmetric = np.array([game[s] + game[swap(s)] for s in range(1 << n)])
    phi = shapley_values(symmetric)
    assert phi[i] == pytest.approx(phi[j], abs=1e-8)


@settings(max_examples=60, deadline=None)
@given(games, st.data())
def test_null_player(case: tuple[int, np.ndarray], data: st.DataObject) -> None:
    n, small = case
    null = data.draw(st.integers(0, n))
    # Insert a player at position `null` who never changes the worth of a coalition.
    low = (1 << null) - 1

    def without(s: int) -> int:
        return (s & low) | (s >> (null + 1)) << null

    game = np.array([small[without(s)] for s in range(1 << (n + 1))])
    phi = shapley_values(game)
    assert phi[null] == pytest.approx(0.0, abs=1e-8)
    np.testing.assert_allclose(np.delete(phi, null), shapley_values(small), atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(games, st.integers(0, 2**32 - 1))
def test_additivity(case: tuple[int, np.ndarray], seed: int) -> None:
    n, game = case
    other = np.random.default_rng(seed).normal(size=1 << n) * 50
    np.testing.assert_allclose(
        shapley_values(game + other), shapley_values(game) + shapley_values(other), atol=1e-7
    )


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
    sizes = k.popcounts(masks)
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    size = 1 << n
    count_dense = np.zeros(size)
    count_dense[masks] = count
    state = np.zeros((size, k.state_width(RULES[rule])))
    state[masks, k.RATE_C] = conversions
    state[masks, k.RATE_V] = value
    low_bits = min(3, n)
    high = n - low_bits
    blocks = np.array(sorted(range(1 << high), key=lambda b: bin(b).count("1")), np.int64)
    levels = np.concatenate(([0], np.cumsum(np.bincount(k.popcounts(blocks), minlength=high + 1))))
    k.dense_rate_potential(
        count_dense, state, RULES[rule], smoothing, low_bits, blocks, levels.astype(np.int64)
    )
    dense_c, dense_v = k.dense_type_shapley(masks, count, conversions, value, offsets, state)
    local_c, local_v = k.local_type_shapley(
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
            got = k.channel_totals(masks, offsets, count, phi, n)
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
        assert k.sample_type_shapley(
            masks,
            count,
            conv,
            conv,
            offsets,
            sampled,
            k.RULE_MEAN,
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
    journey_masks = k.journey_masks(offsets, channel)
    np.testing.assert_array_equal(journey_masks, [9, 0, 9, 2])
    masks, n, conv, val, index = k.coalition_groups(journey_masks, weight, conversions, value)
    # Journeys 0 and 2 share {0, 3} (mask 9); journey 1 has no touch; journey 3 is {1}.
    np.testing.assert_array_equal(masks, [2, 9])
    np.testing.assert_array_equal(n, [5.0, 3.0])
    np.testing.assert_array_equal(conv, [5.0, 1.0])
    np.testing.assert_array_equal(val, [50.0, 10.0])
    np.testing.assert_array_equal(index, [1, -1, 1, 0])
    np.testing.assert_array_equal(k.journey_types(journey_masks, masks), [1, -1, 1, 0])
    np.testing.assert_array_equal(
        k.journey_types(journey_masks, np.array([9], np.int64)), [0, -1, 0, -2]
    )


def test_coalition_groups_grow_past_their_first_table() -> None:
    rng = np.random.default_rng(4)
    masks = rng.integers(0, 1 << 20, size=5000).astype(np.int64)
    ones = np.ones(len(masks))
    unique, n, _, _, index = k.coalition_groups(masks, ones, ones, ones)
    expected, counts = np.unique(masks[masks != 0], return_counts=True)
    np.testing.assert_array_equal(unique, expected)
    np.testing.assert_array_equal(n, counts)
    np.testing.assert_array_equal(unique[index[masks != 0]], masks[masks != 0])


def test_simplified_credit_by_hand() -> None:
    # Journey 0: a b a (value 6): 3 each to a and b; a's 3 over two touches.
    # Journey 1: b (not converted): nothing.
    offsets = np.array([0, 3, 4], np.int64)
    channel = np.array([0, 1, 0, 1], np.int32)
    conv, val = k.simplified_credit(offsets, channel, np.array([1.0, 0.0]), np.array([6.0, 0.0]), 2)
    np.testing.assert_allclose(val, [1.5, 3.0, 1.5, 0.0])
    np.testing.assert_allclose(conv, [0.25, 0.5, 0.25, 0.0])
