"""The ``presence`` kernels (the likelihood ones threaded) against plain-Python references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attribution.kernels.presence import (
    count_patterns,
    journey_terms,
    log_likelihood,
    log_likelihood_terms,
)


def patterns(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hazards, steps at risk and conversions of ``n`` patterns (a third without
    conversions, some without steps at risk)."""
    rng = np.random.default_rng(seed)
    hazards = rng.uniform(1e-6, 2.0, n)
    at_risk = rng.integers(0, 50, n).astype(np.float64)
    conversions = rng.integers(0, 5, n) * (rng.random(n) < 2 / 3)
    return hazards, at_risk, conversions.astype(np.float64)


@pytest.mark.parametrize("n", [0, 1, 7, 20_000])
def test_log_likelihood_matches_python(n: int) -> None:
    hazards, at_risk, conversions = patterns(n, n)
    expected = 0.0
    for lam, s, y in zip(hazards, at_risk, conversions, strict=True):
        expected -= s * lam
        if y != 0:
            expected += y * math.log(-math.expm1(-lam))
    assert log_likelihood(hazards, at_risk, conversions) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("information", [False, True])
def test_log_likelihood_terms_match_python(information: bool) -> None:
    hazards, at_risk, conversions = patterns(3, 20_000)
    derivative, curvature, fisher = log_likelihood_terms(hazards, at_risk, conversions, information)
    grow = [math.expm1(lam) for lam in hazards]
    expected_derivative = [y / g - s for g, s, y in zip(grow, at_risk, conversions, strict=True)]
    expected_curvature = [y * (g + 1) / (g * g) for g, y in zip(grow, conversions, strict=True)]
    np.testing.assert_allclose(derivative, expected_derivative, rtol=1e-13, atol=0)
    np.testing.assert_allclose(curvature, expected_curvature, rtol=1e-13, atol=0)
    if information:
        expected = [(s + y) / g for g, s, y in zip(grow, at_risk, conversions, strict=True)]
        np.testing.assert_allclose(fisher, expected, rtol=1e-13, atol=0)
    else:
        assert fisher.shape == (0,)


def test_the_total_does_not_depend_on_the_threads() -> None:
    hazards, at_risk, conversions = patterns(4, 50_000)
    totals = {log_likelihood(hazards, at_risk, conversions) for _ in range(5)}
    assert len(totals) == 1


def reference_counts(
    paths: list[list[int]], converted: list[bool], value: list[float], guard: int, recent: int
) -> dict[tuple[int, int], tuple[float, float, float]]:
    """(present, recent) of every step -> (at risk, conversions, value), in plain Python
    (each journey of weight 1)."""
    out: dict[tuple[int, int], list[float]] = {}
    for path, did_convert, v in zip(paths, converted, value, strict=True):
        for k in range(len(path)):
            exposure = path[: max(0, k + 1 - guard)]
            newest = exposure[max(0, len(exposure) - recent) :] if recent else []
            key = (sum(1 << c for c in set(exposure)), sum(1 << c for c in set(newest)))
            sums = out.setdefault(key, [0.0, 0.0, 0.0])
            if did_convert and k == len(path) - 1:
                sums[1] += 1.0
                sums[2] += v
            else:
                sums[0] += 1.0
    return {key: (a, c, v) for key, (a, c, v) in out.items()}


@pytest.mark.parametrize(("guard", "recent"), [(0, 0), (1, 3), (2, 1)])
def test_count_patterns_matches_python_through_table_growth(guard: int, recent: int) -> None:
    # 40 channels and long paths: thousands of patterns, so the table grows many times.
    rng = np.random.default_rng(guard * 10 + recent)
    paths = [list(rng.integers(0, 40, rng.integers(0, 30))) for _ in range(3_000)]
    converted = list(rng.random(len(paths)) < 0.4)
    value = list(rng.uniform(0, 100, len(paths)))
    lengths = [len(path) for path in paths]
    got = count_patterns(
        np.array([c for path in paths for c in path], np.int64),
        np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        np.array(converted, np.bool_),
        np.ones(len(paths)),
        np.array(value),
        guard,
        recent,
    )
    table = {(int(p), int(r)): (a, c, v) for p, r, a, c, v in zip(*got, strict=True)}
    expected = reference_counts(paths, converted, value, guard, recent)
    assert len(expected) > 2_000
    assert len(got[0]) == len(table) == len(expected)
    for key, (at_risk, conversions, total) in expected.items():
        assert table[key][:2] == (at_risk, conversions)
        assert table[key][2] == pytest.approx(total, rel=1e-12)


def test_journey_terms_of_wanted_journeys_only() -> None:
    # The journeys not wanted get their base only; the others the terms of the full call
    # (itself checked against a plain-Python reference in tests/models/test_presence.py).
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 12, 400)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    channel = rng.integers(0, 6, offsets[-1]).astype(np.int64)
    wanted = rng.random(len(lengths)) < 0.4
    effects = (0.05, rng.random(6), rng.random(6), np.array([0, 1]), np.array([2, 4]))
    every = journey_terms(channel, offsets, 6, 1, 3, *effects, np.array([0.7, 0.4]),
                          np.ones(len(lengths), np.bool_))  # fmt: skip
    some = journey_terms(channel, offsets, 6, 1, 3, *effects, np.array([0.7, 0.4]), wanted)
    base, members, member_channel, member_part, pairs, pair_members, pair_part, weight = some
    np.testing.assert_array_equal(base, every[0])
    for j in range(len(lengths)):
        mine = slice(members[j], members[j + 1])
        full = slice(every[1][j], every[1][j + 1])
        mine_pairs = slice(pairs[j], pairs[j + 1])
        full_pairs = slice(every[4][j], every[4][j + 1])
        touches = slice(offsets[j], offsets[j + 1])
        if wanted[j]:
            np.testing.assert_array_equal(member_channel[mine], every[2][full])
            np.testing.assert_array_equal(member_part[mine], every[3][full])
            np.testing.assert_array_equal(pair_members[mine_pairs], every[5][full_pairs])
            np.testing.assert_array_equal(pair_part[mine_pairs], every[6][full_pairs])
            np.testing.assert_array_equal(weight[touches], every[7][touches])
        else:
            assert members[j] == members[j + 1] and pairs[j] == pairs[j + 1]
            assert not weight[touches].any()
    assert members[-1] < every[1][-1]
