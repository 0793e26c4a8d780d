"""Plain-Python references for the Shapley tests: textbook formulas, no shared code.

Coalitions are bit masks over players 0..n-1, games are sequences ``v[mask]``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np


def brute_force_shapley(game: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """phi_i = sum over S not containing i of |S|!(n-|S|-1)!/n! (v(S+i) - v(S))."""
    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for members in itertools.combinations(others, size):
                mask = sum(1 << j for j in members)
                phi[i] += weight * (game[mask | 1 << i] - game[mask])
    return phi


def subsets_of(mask: int) -> list[int]:
    return [s for s in range(mask + 1) if s & mask == s]


def rate_estimates(
    n: int,
    count: dict[int, float],
    total: dict[int, float],
    rule: str,
    smoothing: float,
) -> list[float]:
    """Estimated rate of every coalition under a rule, straight from its definition."""
    estimate = [0.0] * (1 << n)
    for mask in range(1, 1 << n):
        one_smaller = [mask ^ (1 << i) for i in range(n) if mask >> i & 1]
        proper = [s for s in subsets_of(mask) if s != mask and count.get(s, 0) > 0]
        if rule == "zero":
            prior = 0.0
        elif rule == "mean_subsets":
            prior = sum(estimate[s] for s in one_smaller) / len(one_smaller)
        else:  # best_subset: the best observed rate among the proper subsets
            prior = max((total[s] / count[s] for s in proper), default=0.0)
        if count.get(mask, 0) > 0:
            estimate[mask] = (total[mask] + smoothing * prior) / (count[mask] + smoothing)
        else:
            estimate[mask] = prior
    return estimate


def rate_game(
    n: int,
    count: dict[int, float],
    total: dict[int, float],
    rule: str = "mean_subsets",
    smoothing: float = 0.0,
) -> list[float]:
    """v(S) = sum over observed T of n(T) rate(T & S); T itself keeps its observed rate."""
    estimate = rate_estimates(n, count, total, rule, smoothing)
    game = []
    for coalition in range(1 << n):
        value = 0.0
        for mask, journeys in count.items():
            kept = mask & coalition
            rate = total[mask] / journeys if kept == mask else estimate[kept]
            value += journeys * rate
        game.append(value)
    return game


def coalition_totals(
    paths: Sequence[Sequence[int]], amounts: Sequence[float], weights: Sequence[float]
) -> tuple[dict[int, float], dict[int, float]]:
    """Journeys and summed amount per channel set (bit mask of channel codes)."""
    count: dict[int, float] = {}
    total: dict[int, float] = {}
    for path, amount, weight in zip(paths, amounts, weights, strict=True):
        mask = sum(1 << c for c in set(path))
        if mask:
            count[mask] = count.get(mask, 0.0) + weight
            total[mask] = total.get(mask, 0.0) + amount
    return count, total


def permutation_shapley(game: Callable[[frozenset[int]], float], players: Sequence[int]) -> dict:
    """The Shapley value as the average, over every order of the players, of each
    player's marginal contribution when it joins the players before it."""
    totals = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        joined: set[int] = set()
        for player in order:
            before = game(frozenset(joined))
            joined.add(player)
            totals[player] += game(frozenset(joined)) - before
    return {player: total / len(orders) for player, total in totals.items()}
