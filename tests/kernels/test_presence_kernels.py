"""The ``presence`` likelihood kernels (threaded) against plain-Python references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attribution.kernels.presence import log_likelihood, log_likelihood_terms


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
