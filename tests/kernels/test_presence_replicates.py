"""Every replicate's credit under the presence model's exposure game in one pass, against
plain Python: the terms step by step, the game solved by its definition (every
permutation, or removal), each journey's value split to its touches and summed by
column."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attribution.kernels.presence_replicates import replicate_credit_sums
from tests.models.test_presence import reference_terms
from tests.shapley_reference import permutation_shapley

N_CHANNELS = 5


def reference_sums(
    paths: list[list[int]],
    value: np.ndarray,
    rows: np.ndarray,
    factors: np.ndarray,
    guard: int,
    recent: int,
    parameters: list[tuple[float, np.ndarray, np.ndarray, np.ndarray] | None],
    groups: np.ndarray,
    offsets: np.ndarray,
    n_columns: int,
    shapley: bool,
) -> np.ndarray:
    out = np.zeros((len(parameters), n_columns))
    for r, chosen in enumerate(parameters):
        if chosen is None:
            continue
        b, beta, rho, delta = chosen
        pairs = [
            (a, c, float(delta[a, c]))
            for a in range(N_CHANNELS)
            for c in range(a + 1, N_CHANNELS)
            if delta[a, c] != 0
        ]
        for index, j in enumerate(rows):
            factor = factors[index, r]
            if factor == 0:
                continue
            path = paths[j]
            base, parts, pair_parts, weights = reference_terms(
                path, guard, recent, b, beta.tolist(), rho.tolist(), pairs
            )
            members = sorted(set(path))

            def hazard(
                kept: frozenset[int],
                base: float = base,
                parts: dict[int, float] = parts,
                pair_parts: dict[tuple[int, int], float] = pair_parts,
            ) -> float:
                total = base + sum(parts[c] for c in kept)
                total += sum(p for (a, c), p in pair_parts.items() if a in kept and c in kept)
                return -math.expm1(-total)

            if shapley:
                phi = permutation_shapley(hazard, members)
                values = [phi[c] for c in members]
            else:
                everyone = hazard(frozenset(members))
                values = [
                    (everyone - hazard(frozenset(members) - {c})) / everyone if everyone > 0 else 0
                    for c in members
                ]
            total = sum(values)
            share = {
                c: (v / total if total > 0 else 1 / len(members))
                for c, v in zip(members, values, strict=True)
            }
            for position, c in enumerate(path):
                of_channel = [p for p, d in enumerate(path) if d == c]
                weight_sum = sum(weights[p] for p in of_channel)
                fraction = (
                    share[c] * weights[position] / weight_sum
                    if weight_sum > 0
                    else share[c] / len(of_channel)
                )
                for d in range(groups.shape[1]):
                    out[r, groups[offsets[j] + position, d]] += factor * value[j] * fraction
    return out


@pytest.mark.parametrize("shapley", [True, False])
@pytest.mark.parametrize(("guard", "recent"), [(0, 0), (1, 2), (2, 1)])
def test_replicate_credit_sums_match_python(shapley: bool, guard: int, recent: int) -> None:
    rng = np.random.default_rng(11 + guard + 3 * recent)
    paths = [rng.integers(0, N_CHANNELS, int(rng.integers(1, 8))).tolist() for _ in range(40)]
    offsets = np.concatenate(([0], np.cumsum([len(p) for p in paths]))).astype(np.int64)
    channel = np.concatenate(paths).astype(np.int64)
    value = np.where(rng.random(40) < 0.2, 0.0, rng.integers(1, 50, 40).astype(float))
    rows = np.flatnonzero(value != 0)
    replicates = 4
    factors = rng.integers(0, 4, (len(rows), replicates)).astype(float) / 1.0
    parameters: list[tuple[float, np.ndarray, np.ndarray, np.ndarray] | None] = []
    for r in range(replicates):
        if r == 2:
            parameters.append(None)  # a replicate that could not be fitted
            continue
        beta = np.where(rng.random(N_CHANNELS) < 0.3, 0.0, rng.random(N_CHANNELS))
        rho = np.where(rng.random(N_CHANNELS) < 0.3, 0.0, rng.random(N_CHANNELS))
        delta = np.zeros((N_CHANNELS, N_CHANNELS))
        delta[0, 2], delta[1, 3], delta[2, 4] = rng.random(3) * (r != 1)
        parameters.append((0.02 * (r + 1), beta, rho, delta))
    # Every channel without effect in one replicate: the even splits.
    parameters[3] = (0.05, np.zeros(N_CHANNELS), np.zeros(N_CHANNELS), np.zeros((5, 5)))
    team = rng.integers(0, 3, len(channel))
    groups = np.stack((channel, N_CHANNELS + team), axis=1).astype(np.int64)
    n_columns = N_CHANNELS + 3

    def stacked(index: int) -> np.ndarray:
        return np.array(
            [np.zeros_like(parameters[0][index]) if p is None else p[index] for p in parameters]  # type: ignore[index]
        )

    got = replicate_credit_sums(
        channel,
        offsets,
        rows,
        value,
        factors,
        guard,
        recent,
        np.array([0.0 if p is None else p[0] for p in parameters]),
        stacked(1),
        stacked(2),
        stacked(3),
        np.array([p is not None for p in parameters]),
        groups,
        n_columns,
        shapley,
    )
    expected = reference_sums(
        paths, value, rows, factors, guard, recent, parameters, groups, offsets, n_columns,
        shapley,
    )  # fmt: skip
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    # Each replicate credits exactly the value it draws, once per roll-up.
    drawn = factors.T @ value[rows]
    for r, chosen in enumerate(parameters):
        if chosen is not None:
            assert got[r, :N_CHANNELS].sum() == pytest.approx(drawn[r])
            assert got[r, N_CHANNELS:].sum() == pytest.approx(drawn[r])


def test_chunks_of_many_journeys_sum_like_the_parts() -> None:
    """With several thousand journeys the kernel splits them into chunks, each with its
    own sums: their total is the sum of the kernel's results on the two halves."""
    rng = np.random.default_rng(8)
    lengths = rng.integers(1, 9, 5000)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    channel = rng.integers(0, N_CHANNELS, offsets[-1]).astype(np.int64)
    value = rng.integers(1, 20, 5000).astype(float)
    rows = np.arange(5000, dtype=np.int64)
    factors = rng.integers(0, 3, (5000, 3)).astype(float)
    delta = np.zeros((3, N_CHANNELS, N_CHANNELS))
    delta[:, 0, 3] = 0.2
    groups = channel[:, None].copy()
    arguments = (
        1, 1, np.full(3, 0.01), rng.random((3, N_CHANNELS)), rng.random((3, N_CHANNELS)),
        delta, np.ones(3, np.bool_), groups, N_CHANNELS, True,
    )  # fmt: skip
    whole = replicate_credit_sums(channel, offsets, rows, value, factors, *arguments)
    halves = sum(
        replicate_credit_sums(channel, offsets, part, value, factors[part], *arguments)
        for part in (rows[:1500], rows[1500:])
    )
    np.testing.assert_allclose(whole, halves, rtol=1e-12)
    np.testing.assert_allclose(whole.sum(axis=1), factors.T @ value, rtol=1e-12)
