"""Fitting the ``presence`` model from step-pattern counts: penalised maximum likelihood
under ``effects >= 0``, and forward selection of channel pairs by a score test.

**Likelihood.** A step with pattern ``x`` converts with probability ``1 - exp(-λ(x))``,

    λ(x) = b + Σ_{c ∈ present(x)} β_c + Σ_{c ∈ recent(x)} ρ_c + Σ_{pairs {a, b} ⊆ present(x)} δ_ab,

so with ``s_x`` the weighted steps lived through and ``y_x`` the weighted conversions of
pattern ``x``, the log-likelihood is ``ℓ = Σ_x [y_x log(1 - exp(-λ_x)) - s_x λ_x]``,
concave in ``θ = (b, β, ρ, δ)`` (``log(1 - e^{-λ})`` is concave, ``-λ`` linear, ``λ``
linear in ``θ``). The fit maximises ``ℓ - penalty/2 · |(β, ρ, δ)|²`` (a Gaussian prior of
variance ``1/penalty`` on every effect; the baseline is not penalised) subject to
``b >= 1e-12`` and every effect ``>= 0``, by L-BFGS-B (scipy) with the objective and its
gradient ``∂ℓ/∂λ_x = y_x / (e^{λ_x} - 1) - s_x`` summed over patterns by numba kernels.
The objective is divided by the weighted conversions, so the tolerance on the projected
gradient does not depend on the size of the data.

**Pairs** (``pairs="auto"``): starting from the fit without pairs, every pair of
channels that are present together in some step is scored by the one-sided score test
of adding its feature "both present" with ``δ >= 0``: ``U = Σ_x z_x ∂ℓ/∂λ_x`` at the
current fit, with efficient information ``I = I_zz - I_zF I_FF⁻¹ I_Fz`` (expected Fisher
information ``(s_x + y_x) / (e^{λ_x} - 1)`` per step, ``F`` the free parameters: the
baseline and the effects not at their bound, penalty included), ``z = U / sqrt(I)``. The
best pair is added while its ``z`` exceeds ``pair_z`` (default 4) and fewer than
``max_pairs`` (default 10) are selected; the model is refitted after each addition.
Every quantity is a sum over patterns of the merged counts, so selection from merged
statistics is the selection on all the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from attribution.kernels.presence import (
    feature_sums,
    log_likelihood_terms,
    mask_member_lists,
    pair_score_sums,
    pattern_hazards,
    pattern_pairs,
)
from attribution.models.presence_statistics import StepCounts

#: Lower bound of the baseline: every step's conversion probability stays positive.
MIN_BASELINE = 1e-12


@dataclass(frozen=True)
class PresenceFit:
    """Fitted parameters ``θ = (b, β, ρ, δ)``, the pairs (channel codes) with the ``z`` of
    their selection (``nan`` for pairs given explicitly), and convergence."""

    theta: np.ndarray
    pairs: tuple[tuple[int, int], ...]
    pair_z: tuple[float, ...]
    converged: bool
    n_iterations: int
    gradient_norm: float
    log_likelihood: float
    message: str


@dataclass(frozen=True)
class _Design:
    """Member lists of the patterns' features for one set of pairs."""

    n_channels: int
    present: np.ndarray
    present_members: np.ndarray
    present_offsets: np.ndarray
    recent_members: np.ndarray
    recent_offsets: np.ndarray
    pair_members: np.ndarray
    pair_offsets: np.ndarray
    n_parameters: int

    @classmethod
    def of(cls, counts: StepCounts, pairs: Sequence[tuple[int, int]]) -> _Design:
        present_members, present_offsets = mask_member_lists(counts.present)
        recent_members, recent_offsets = mask_member_lists(counts.recent)
        first = np.array([a for a, _ in pairs], np.int64)
        second = np.array([b for _, b in pairs], np.int64)
        pair_members, pair_offsets = pattern_pairs(counts.present, first, second)
        return cls(
            n_channels=counts.n_channels,
            present=counts.present,
            present_members=present_members,
            present_offsets=present_offsets,
            recent_members=recent_members,
            recent_offsets=recent_offsets,
            pair_members=pair_members,
            pair_offsets=pair_offsets,
            n_parameters=1 + 2 * counts.n_channels + len(pairs),
        )

    def hazards(self, theta: np.ndarray) -> np.ndarray:
        return pattern_hazards(
            theta,
            self.n_channels,
            self.present_members,
            self.present_offsets,
            self.recent_members,
            self.recent_offsets,
            self.pair_members,
            self.pair_offsets,
        )

    def sums(self, values: np.ndarray) -> np.ndarray:
        return feature_sums(
            values,
            self.n_parameters,
            self.n_channels,
            self.present_members,
            self.present_offsets,
            self.recent_members,
            self.recent_offsets,
            self.pair_members,
            self.pair_offsets,
        )


def fit_presence(
    counts: StepCounts,
    *,
    penalty: float,
    pairs: Sequence[tuple[int, int]] | None,
    max_pairs: int,
    pair_z: float,
    max_iterations: int,
    tolerance: float,
) -> PresenceFit:
    """The penalised fit (see the module docstring); ``pairs=None`` selects pairs.

    Runs with BLAS limited to one thread: L-BFGS-B's and the score test's dense algebra
    is tiny, and waking BLAS threads costs more than the work (milliseconds per
    iteration on a busy machine).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _select_and_fit(counts, penalty, pairs, max_pairs, pair_z, max_iterations, tolerance)


def _select_and_fit(
    counts: StepCounts,
    penalty: float,
    pairs: Sequence[tuple[int, int]] | None,
    max_pairs: int,
    pair_z: float,
    max_iterations: int,
    tolerance: float,
) -> PresenceFit:
    if pairs is not None:
        fit = _fit(counts, tuple(pairs), penalty, max_iterations, tolerance, None)
        return _with_z(fit, (float("nan"),) * len(fit.pairs))
    chosen: list[tuple[int, int]] = []
    z_values: list[float] = []
    fit = _fit(counts, (), penalty, max_iterations, tolerance, None)
    while len(chosen) < max_pairs:
        best, z = _best_pair(counts, fit, penalty)
        if best is None or not z > pair_z:
            break
        chosen.append(best)
        z_values.append(z)
        fit = _fit(counts, tuple(chosen), penalty, max_iterations, tolerance, fit.theta)
    return _with_z(fit, tuple(z_values))


def _with_z(fit: PresenceFit, z: tuple[float, ...]) -> PresenceFit:
    return PresenceFit(
        theta=fit.theta,
        pairs=fit.pairs,
        pair_z=z,
        converged=fit.converged,
        n_iterations=fit.n_iterations,
        gradient_norm=fit.gradient_norm,
        log_likelihood=fit.log_likelihood,
        message=fit.message,
    )


def _fit(
    counts: StepCounts,
    pairs: tuple[tuple[int, int], ...],
    penalty: float,
    max_iterations: int,
    tolerance: float,
    start: np.ndarray | None,
) -> PresenceFit:
    design = _Design.of(counts, pairs)
    at_risk, conversions = counts.at_risk, counts.conversions
    scale = max(counts.total_conversions, 1.0)
    n = design.n_parameters

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        log_likelihood, derivative = log_likelihood_terms(
            design.hazards(theta), at_risk, conversions
        )
        effects = theta[1:]
        value = 0.5 * penalty * float(np.sum(effects * effects)) - log_likelihood
        gradient = -design.sums(derivative)
        gradient[1:] += penalty * effects
        return value / scale, gradient / scale

    theta0 = np.zeros(n)
    steps = float(at_risk.sum() + conversions.sum())
    theta0[0] = max(-np.log1p(-counts.total_conversions / steps), MIN_BASELINE) if steps else 1.0
    if start is not None:
        theta0[: len(start)] = start
    bounds = [(MIN_BASELINE, None)] + [(0.0, None)] * (n - 1)
    result = minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iterations, "gtol": tolerance, "ftol": 1e-15},
    )
    theta = np.asarray(result.x, np.float64)
    gradient = objective(theta)[1]
    lower = np.array([b for b, _ in bounds])
    projected = np.where(theta > lower, gradient, np.minimum(gradient, 0.0))
    gradient_norm = float(np.abs(projected).max(initial=0.0))
    log_likelihood = float(log_likelihood_terms(design.hazards(theta), at_risk, conversions)[0])
    return PresenceFit(
        theta=theta,
        pairs=pairs,
        pair_z=(),
        # L-BFGS-B succeeds when the projected gradient meets the tolerance or the
        # objective stops decreasing at machine precision (then the gradient is at its
        # rounding level); it fails at max_iterations or when the line search fails.
        converged=bool(result.success),
        n_iterations=int(result.nit),
        gradient_norm=gradient_norm,
        log_likelihood=log_likelihood,
        message=str(result.message),
    )


def _best_pair(
    counts: StepCounts, fit: PresenceFit, penalty: float
) -> tuple[tuple[int, int] | None, float]:
    """The candidate pair with the largest score-test ``z``, and that ``z``."""
    design = _Design.of(counts, fit.pairs)
    rate = 1.0 / np.expm1(design.hazards(fit.theta))
    score = counts.conversions * rate - counts.at_risk
    information = (counts.at_risk + counts.conversions) * rate
    free_features = np.flatnonzero((fit.theta > 0) | (np.arange(len(fit.theta)) == 0))
    free = np.full(len(fit.theta), -1, np.int64)
    free[free_features] = np.arange(len(free_features))
    u, i_zz, i_zf, i_ff = pair_score_sums(
        design.present,
        score,
        information,
        free,
        design.n_channels,
        design.present_members,
        design.present_offsets,
        design.recent_members,
        design.recent_offsets,
        design.pair_members,
        design.pair_offsets,
    )
    i_ff = i_ff + penalty * np.diag((free_features > 0).astype(np.float64))
    efficient = i_zz + penalty - np.einsum("pf,fp->p", i_zf, np.linalg.solve(i_ff, i_zf.T))
    c = design.n_channels
    candidate = (i_zz > 0) & (efficient > 0)
    for a, b in fit.pairs:
        candidate[a * c + b] = False
    if not candidate.any():
        return None, float("nan")
    z = np.full(len(u), -np.inf)
    z[candidate] = u[candidate] / np.sqrt(efficient[candidate])
    best = int(np.argmax(z))
    return (best // c, best % c), float(z[best])
