"""Markov kernels against plain-Python references."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp

from attribution.kernels.markov import (
    BY_CONVERSIONS,
    BY_JOURNEYS,
    BY_VALUE,
    COUNTED,
    STATE_LIMIT_EXCEEDED,
    bicgstab_columns,
    count_transitions,
    masked_apply,
    split_credit,
    touch_state_codes,
)
from attribution.models.markov_chain import count_journeys, state_digits, state_labels
from attribution.models.markov_solver import SolverMethod, relative_residuals, solve_restricted
from tests.models.test_markov import _compact, journeys_of, random_journeys


def reference_code(history: list[int], order: int, n_channels: int) -> int:
    """Documented encoding: the last ``order`` channels + 1, left-padded with 0, base C + 1."""
    digits = [0] * order + [c + 1 for c in history]
    code = 0
    for digit in digits[-order:]:
        code = code * (n_channels + 1) + digit
    return code


def reference_counts(
    paths: list[list[int]],
    converted: list[bool],
    value: list[float],
    weight: list[float],
    order: int,
    collapse: bool,
    n_channels: int,
) -> tuple[
    dict[tuple[int, int], float], dict[tuple[int, int], float], np.ndarray, np.ndarray, np.ndarray
]:
    counts: dict[tuple[int, int], float] = defaultdict(float)
    values: dict[tuple[int, int], float] = defaultdict(float)
    conversions_with = np.zeros(n_channels)
    value_with = np.zeros(n_channels)
    weight_with = np.zeros(n_channels)
    for path, did_convert, v, w in zip(paths, converted, value, weight, strict=True):
        if not path:
            continue
        for c in set(path):
            weight_with[c] += w
            if did_convert:
                conversions_with[c] += w
                value_with[c] += v
        if collapse:
            path = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        history: list[int] = []
        for c in path:
            counts[reference_code(history, order, n_channels), c] += w
            history.append(c)
        end = n_channels if did_convert else n_channels + 1
        counts[reference_code(history, order, n_channels), end] += w
        if did_convert and v:
            values[reference_code(history, order, n_channels), end] += v
    return counts, values, conversions_with, value_with, weight_with


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("collapse", [False, True])
@pytest.mark.parametrize("n_channels", [3, 70])
def test_counts_match_python(order: int, collapse: bool, n_channels: int) -> None:
    rng = np.random.default_rng(order * 10 + collapse + n_channels)
    paths, converted, value, weight = random_journeys(rng, 150, n_channels)
    paths, used = _compact(paths)
    assert used > 63 or n_channels == 3  # codes above 63 take the kernel's other branch
    journeys = journeys_of(paths, converted, value, weight)
    counts = count_journeys(journeys, order, collapse, 10**6)
    expected, expected_value, conversions_with, value_with, weight_with = reference_counts(
        paths, converted, value, weight, order, collapse, journeys.n_channels
    )
    got = {
        (int(s), int(y)): float(c)
        for s, y, c in zip(counts.state, counts.symbol, counts.count, strict=True)
    }
    assert got == expected
    got_value = {
        (int(s), int(y)): float(v)
        for s, y, v in zip(counts.state, counts.symbol, counts.conversion_value, strict=True)
        if v
    }
    assert got_value == pytest.approx(expected_value)
    keys = counts.state * (journeys.n_channels + 2) + counts.symbol
    assert (np.diff(keys) > 0).all()  # sorted by (state, symbol), no duplicates
    np.testing.assert_allclose(counts.conversions_with, conversions_with)
    np.testing.assert_allclose(counts.value_with, value_with)
    np.testing.assert_allclose(counts.weight_with, weight_with)
    assert counts.journeys == sum(weight)
    assert counts.conversions == sum(w for w, c in zip(weight, converted, strict=True) if c)
    assert counts.value == pytest.approx(sum(v for v, c in zip(value, converted, strict=True) if c))


def test_state_limit_status_and_codes_per_touch() -> None:
    paths = [[0, 1, 2], [2, 2, 1], [1]]
    journeys = journeys_of(paths, [True, False, True])
    channel, offsets = journeys.channel, journeys.offsets
    codes = touch_state_codes(channel, offsets, 3, 2, False)
    expected = [reference_code(p[: i + 1], 2, 3) for p in paths for i in range(len(p))]
    assert codes.tolist() == expected
    collapsed = touch_state_codes(channel, offsets, 3, 2, True)
    assert collapsed[4] == -1 and collapsed[3] == reference_code([2], 2, 3)
    n_states = len(set(expected)) + 1

    def run(max_states: int) -> tuple[int, int]:
        capacity = max_states + 1
        status, n = count_transitions(
            channel, offsets, journeys.converted, journeys.weight, journeys.value,
            3, 2, False, max_states,
            np.zeros(capacity, np.int64), np.zeros(capacity * 3, np.int32),
            np.zeros(capacity * 5, np.float64), np.zeros(64, np.int64), np.zeros(64, np.int64),
            np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(capacity),
        )  # fmt: skip
        return int(status), int(n)

    assert run(n_states) == (COUNTED, n_states)
    assert run(n_states - 1)[0] == STATE_LIMIT_EXCEEDED


def test_state_digits_and_labels() -> None:
    codes = np.array([0, reference_code([1], 3, 4), reference_code([0, 3, 2, 1], 3, 4)])
    assert state_digits(codes, 3, 4).tolist() == [[0, 0, 0], [0, 0, 2], [4, 3, 2]]
    assert state_labels(codes, 3, ("a", "b", "c", "d")) == ["(start)", "(start) > b", "d > c > b"]


def test_split_credit_matches_python() -> None:
    rng = np.random.default_rng(5)
    paths, converted, value, weight = random_journeys(rng, 60, 4)
    journeys = journeys_of(paths, converted, value, weight)
    rate_conversions = rng.random(4)
    rate_value = rng.random(4)
    basis_conversions = np.array([BY_CONVERSIONS, BY_JOURNEYS, BY_CONVERSIONS, BY_VALUE])
    basis_value = np.array([BY_VALUE, BY_CONVERSIONS, BY_JOURNEYS, BY_VALUE])
    got_conversions, got_value = split_credit(
        journeys.channel, journeys.offsets, journeys.converted, journeys.weight,
        journeys.value, rate_conversions, basis_conversions, rate_value, basis_value,
    )  # fmt: skip
    expected_conversions, expected_value = [], []
    for path, did_convert, v, w in zip(paths, converted, value, weight, strict=True):
        amounts = {
            BY_VALUE: v if did_convert else 0.0,
            BY_CONVERSIONS: w if did_convert else 0.0,
            BY_JOURNEYS: w,
        }
        for c in path:
            m = path.count(c)
            expected_conversions.append(rate_conversions[c] * amounts[basis_conversions[c]] / m)
            expected_value.append(rate_value[c] * amounts[basis_value[c]] / m)
    np.testing.assert_allclose(got_conversions, expected_conversions, rtol=1e-15)
    np.testing.assert_allclose(got_value, expected_value, rtol=1e-15)


def random_system(
    rng: np.random.Generator, n: int, n_columns: int
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """A sparse substochastic Q with self-loops, masks (state 0 always in), right-hand sides."""
    dense = np.where(rng.random((n, n)) < 0.2, rng.random((n, n)), 0.0)
    dense[np.arange(n), np.arange(n)] += rng.random(n)  # self-loops
    dense *= (0.9 / dense.sum(axis=1).clip(min=1e-12))[:, None]
    mask = rng.random((n, n_columns)) < 0.7
    mask[0] = True
    rhs = np.where(mask, rng.random((n, n_columns)), 0.0)
    return sp.csr_matrix(dense), mask, rhs


def dense_solutions(q: sp.csr_matrix, mask: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    out = np.zeros(rhs.shape)
    for m in range(mask.shape[1]):
        keep = np.flatnonzero(mask[:, m])
        system = np.eye(len(keep)) - q.toarray()[np.ix_(keep, keep)]
        out[keep, m] = np.linalg.solve(system, rhs[keep, m])
    return out


def test_masked_apply_matches_dense() -> None:
    rng = np.random.default_rng(2)
    q, mask, _ = random_system(rng, 40, 5)
    x = np.where(mask, rng.random((40, 5)), 0.0)
    got = masked_apply(q.indptr, q.indices, q.data, mask, x)
    for m in range(5):
        d = np.diag(mask[:, m].astype(float))
        expected = (np.eye(40) - d @ q.toarray() @ d) @ x[:, m]
        np.testing.assert_allclose(got[:, m], expected, atol=1e-14)


def test_bicgstab_columns_match_dense_solutions() -> None:
    rng = np.random.default_rng(3)
    q, mask, rhs = random_system(rng, 120, 6)
    rhs[:, 2] = 0.0  # a zero right-hand side stops at once with x = 0 (rho = 0)
    x = bicgstab_columns(
        q.indptr, q.indices, q.data, mask, 1.0 / (1.0 - q.diagonal()),
        np.zeros(rhs.shape), rhs.copy(), 1e-13 * np.sqrt((rhs * rhs).sum(axis=0)), 500,
    )  # fmt: skip
    np.testing.assert_allclose(x, dense_solutions(q, mask, rhs), atol=1e-11)
    assert not x[:, 2].any()
    assert not x[~mask].any()


@pytest.mark.parametrize("method", ["direct", "iterative", "auto"])
def test_solve_restricted_meets_the_tolerance(method: SolverMethod) -> None:
    rng = np.random.default_rng(4)
    q, mask, rhs = random_system(rng, 150, 4)
    solved = solve_restricted(q, mask, rhs, method=method, tolerance=1e-13)
    np.testing.assert_allclose(solved.x, dense_solutions(q, mask, rhs), atol=1e-11)
    assert solved.residual <= 1e-13
    assert relative_residuals(q, mask, rhs, solved.x).max() == pytest.approx(solved.residual)
    assert ("LU" in solved.method) == (method in ("direct", "auto"))
