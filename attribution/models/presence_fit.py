"""Fitting the ``presence`` model from step-pattern counts: penalised maximum likelihood
under ``effects >= 0``, and forward selection of channel pairs by a score test.

**Likelihood.** A step with pattern ``x`` converts with probability ``1 - exp(-λ(x))``,

    λ(x) = b + Σ_{c ∈ present(x)} β_c + Σ_{c ∈ recent(x)} ρ_c + Σ_{pairs {a, b} ⊆ present(x)} δ_ab,

so with ``s_x`` the weighted steps lived through and ``y_x`` the weighted conversions of
pattern ``x``, the log-likelihood is ``ℓ = Σ_x [y_x log(1 - exp(-λ_x)) - s_x λ_x]``,
concave in ``θ = (b, β, ρ, δ)`` (``log(1 - e^{-λ})`` is concave, ``-λ`` linear, ``λ``
linear in ``θ``). The fit maximises ``ℓ - penalty/2 · |(β, ρ, δ)|²`` (a Gaussian prior of
variance ``1/penalty`` on every effect; the baseline is not penalised) subject to
``b >= 1e-12`` and every effect ``>= 0``.

**Optimiser**: projected Newton (Bertsekas 1982). The gradient and the Hessian
``Σ_x x xᵀ y_x e^{λ_x} / (e^{λ_x} - 1)²`` are sums over the patterns with conversions (the
others' part is linear in θ, summed once per stage), computed by numba kernels per
iteration and summed by distinct present and recent mask so that a pattern costs a few
operations, not the square of its features. Parameters at their bound whose gradient
pushes them out of the feasible set are held there; the step is Newton's on the face
where the held parameters sit on their bound (a Cholesky solve of at most 137 unknowns,
written out in numba), and a free parameter whose Newton point falls below its bound is
held too and the step solved again, so the step ends at a feasible point and the
iterations converge quadratically once the bounds that hold at the optimum are found.
The step goes no further than shrinking any converting pattern's ``λ`` tenfold
(``log(1 - e^{-λ})`` is a barrier at 0; Newton climbs back from below only about
twofold per iteration), with Armijo backtracking. It converges in a handful of
iterations, and a warm start after adding a pair in a few more. The stopping rule is the
largest projected gradient of ``ℓ`` per conversion ``<= tolerance``; or convergence at
rounding level: two steps in a row without a decrease of the objective beyond ``1e-14``
of it (near the optimum one full Newton step is taken without a visible decrease, since
the gradient it removes is real; with a million journeys the gradient's sum over
patterns then cancels to between 1e-8 and 4e-6 per conversion). The backtracking stops once a
step's promised decrease (its slope: the objective is convex) is below rounding, since
no shorter step can then show one.

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
from dataclasses import dataclass, replace

import numpy as np

from attribution.kernels.presence import (
    cholesky_solve,
    group_features,
    log_likelihood,
    log_likelihood_terms,
    pair_score_sums,
    pattern_hazards,
    weighted_feature_sums,
)
from attribution.models.presence_statistics import StepCounts

#: Lower bound of the baseline: every step's conversion probability stays positive.
MIN_BASELINE = 1e-12
#: Armijo sufficient-decrease constant and the largest number of step halvings.
ARMIJO = 1e-4
MAX_HALVINGS = 30
#: A step may shrink the hazard of a step with conversions to this fraction at most.
BARRIER_FRACTION = 0.1
#: Largest distance to a bound at which a parameter pushed outwards is held there.
ACTIVE_SLACK = 1e-3
#: The baseline starts at this fraction of the overall conversion rate per step.
START_FRACTION = 0.01
#: Relative decrease of the objective below which it no longer improves.
ROUNDING = 1e-14
#: Parameters within this fraction of the largest one above their bound are put on it.
SNAP = 1e-10


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
    #: Converged by the rounding rule (two steps in a row without a decrease of the
    #: objective beyond rounding), its projected gradient above the tolerance.
    at_rounding: bool = False
    #: The fit of each stage of the selection: ``stages[k]`` is ``θ`` with the first
    #: ``k`` pairs (one stage for given pairs), the warm starts of a replicate's fit.
    stages: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class _Design:
    """The parameters of each pattern, through its distinct present and recent masks.

    ``present_id`` / ``recent_id``: each pattern's index among the distinct present and
    recent masks; ``present_features`` (baseline, presence effects, pairs inside the
    mask) and ``recent_features`` (recency effects): flat lists with offsets per mask.
    """

    n_channels: int
    present_masks: np.ndarray
    present_id: np.ndarray
    recent_id: np.ndarray
    present_features: np.ndarray
    present_offsets: np.ndarray
    recent_features: np.ndarray
    recent_offsets: np.ndarray
    n_parameters: int

    @classmethod
    def of(cls, counts: StepCounts, pairs: Sequence[tuple[int, int]]) -> _Design:
        c = counts.n_channels
        present_masks, present_id = np.unique(counts.present, return_inverse=True)
        recent_masks, recent_id = np.unique(counts.recent, return_inverse=True)
        none = np.zeros(0, np.int64)
        recent_features, recent_offsets = group_features(recent_masks, 1 + c, False, none, none, 0)
        design = cls(
            n_channels=c,
            present_masks=present_masks,
            present_id=present_id.reshape(-1).astype(np.int64),
            recent_id=recent_id.reshape(-1).astype(np.int64),
            present_features=none,
            present_offsets=np.zeros(len(present_masks) + 1, np.int64),
            recent_features=recent_features,
            recent_offsets=recent_offsets,
            n_parameters=0,
        )
        return design.with_pairs(pairs)

    def with_pairs(self, pairs: Sequence[tuple[int, int]]) -> _Design:
        """The design of the same counts with ``pairs`` (the masks are the pairs' own:
        only the present masks' features change)."""
        c = self.n_channels
        first = np.array([a for a, _ in pairs], np.int64)
        second = np.array([b for _, b in pairs], np.int64)
        present_features, present_offsets = group_features(
            self.present_masks, 1, True, first, second, 1 + 2 * c
        )
        return replace(
            self,
            present_features=present_features,
            present_offsets=present_offsets,
            n_parameters=1 + 2 * c + len(pairs),
        )

    def rows(self, rows: np.ndarray) -> _Design:
        """The design of the patterns ``rows`` alone (the same masks and parameters)."""
        return replace(
            self,
            present_id=self.present_id[rows],
            recent_id=self.recent_id[rows],
        )

    def hazards(self, theta: np.ndarray) -> np.ndarray:
        return pattern_hazards(
            theta,
            self.present_id,
            self.recent_id,
            self.present_features,
            self.present_offsets,
            self.recent_features,
            self.recent_offsets,
        )

    def sums(
        self, first: np.ndarray, second: np.ndarray, by_mask: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return weighted_feature_sums(
            first,
            second,
            self.present_id,
            self.recent_id,
            self.present_features,
            self.present_offsets,
            self.recent_features,
            self.recent_offsets,
            self.n_parameters,
            by_mask,
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
    warm: PresenceFit | None = None,
) -> PresenceFit:
    """The penalised fit (see the module docstring); ``pairs=None`` selects pairs.

    ``warm``: a fit of similar counts (a bootstrap replicate's data) whose stages start
    this fit's: each stage is the same convex problem, solved to the same tolerance, so
    the result is the cold fit's to that tolerance, in fewer iterations. A stage starts
    from ``warm``'s stage with the same pairs (in any order), else from this fit's
    previous stage (as a cold fit does)."""

    def start(
        chosen: tuple[tuple[int, int], ...], previous: np.ndarray | None
    ) -> tuple[np.ndarray | None, bool]:
        """The stage's start, and whether it is ``warm``'s (a fit of other counts)."""
        stage = len(chosen)
        if warm is None or stage >= len(warm.stages) or set(warm.pairs[:stage]) != set(chosen):
            return previous, False
        # The same pairs, perhaps chosen in another order: the pair effects reordered.
        theta = warm.stages[stage]
        head = len(theta) - stage
        order = [warm.pairs.index(pair) for pair in chosen]
        return np.concatenate((theta[:head], theta[head + np.array(order, np.int64)])), True

    if pairs is not None:
        given = tuple(pairs)
        reuse = warm is not None and warm.pairs == given
        fit = _fit(
            counts, _Design.of(counts, given), given, penalty, max_iterations, tolerance,
            warm.theta if warm is not None and reuse else None, reuse,
        )  # fmt: skip
        return _with_z(fit, (float("nan"),) * len(fit.pairs), (fit.theta,))
    chosen: list[tuple[int, int]] = []
    z_values: list[float] = []
    # The masks are found once; each stage only adds its pairs to the present masks.
    design = _Design.of(counts, ())
    fit = _fit(counts, design, (), penalty, max_iterations, tolerance, *start((), None))
    stages = [fit.theta]
    while len(chosen) < max_pairs:
        best, z = _best_pair(counts, design, fit, penalty)
        if best is None or not z > pair_z:
            break
        chosen.append(best)
        z_values.append(z)
        first, other_counts = start(tuple(chosen), fit.theta)
        design = design.with_pairs(chosen)
        fit = _fit(
            counts, design, tuple(chosen), penalty, max_iterations, tolerance, first, other_counts
        )
        stages.append(fit.theta)
    return _with_z(fit, tuple(z_values), tuple(stages))


def _with_z(fit: PresenceFit, z: tuple[float, ...], stages: tuple[np.ndarray, ...]) -> PresenceFit:
    return PresenceFit(
        theta=fit.theta,
        pairs=fit.pairs,
        pair_z=z,
        converged=fit.converged,
        n_iterations=fit.n_iterations,
        gradient_norm=fit.gradient_norm,
        log_likelihood=fit.log_likelihood,
        at_rounding=fit.at_rounding,
        stages=stages,
    )


class _Objective:
    """``f(θ) = (penalty/2 |effects|² - ℓ(θ)) / Y`` (``Y`` the weighted conversions) with
    its gradient and Hessian, at ``θ`` and the hazards ``λ`` there of the patterns with
    conversions.

    A pattern without conversions adds ``-s_x λ_x`` to ``ℓ``, linear in ``θ``: together
    they are ``-θ·E`` with ``E = Σ_{x: y_x = 0} s_x x`` (computed once), and they add
    nothing to the Hessian. So each evaluation runs over the patterns with conversions
    alone (:attr:`converting`, a design of those patterns)."""

    def __init__(self, counts: StepCounts, design: _Design, penalty: float) -> None:
        rows = np.flatnonzero(counts.conversions > 0)
        idle = np.flatnonzero(counts.conversions <= 0)
        self.design = design
        self.converting = design.rows(rows)
        self.all_at_risk = counts.at_risk
        self.all_conversions = counts.conversions
        self.at_risk = counts.at_risk[rows]
        self.conversions = counts.conversions[rows]
        idle_at_risk = counts.at_risk[idle]
        self.exposure = design.rows(idle).sums(idle_at_risk, np.zeros(len(idle)), False)[0]
        self.penalty = penalty
        self.scale = max(counts.total_conversions, 1.0)
        self.penalised = np.ones(design.n_parameters)
        self.penalised[0] = 0.0

    def log_likelihood(self, theta: np.ndarray) -> float:
        """``ℓ(θ)``, summed over every pattern."""
        hazards = self.design.hazards(theta)
        return float(log_likelihood(hazards, self.all_at_risk, self.all_conversions))

    def hazards(self, theta: np.ndarray) -> np.ndarray:
        """``λ`` of the patterns with conversions (also of a step ``θ``: ``λ`` is linear)."""
        return self.converting.hazards(theta)

    def value(self, theta: np.ndarray, hazards: np.ndarray) -> float:
        penalty = 0.5 * self.penalty * float(np.sum(self.penalised * theta * theta))
        likelihood = float(log_likelihood(hazards, self.at_risk, self.conversions))
        likelihood -= float(theta @ self.exposure)
        return (penalty - likelihood) / self.scale

    def derivatives(self, theta: np.ndarray, hazards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        derivative, curvature, _ = log_likelihood_terms(
            hazards, self.at_risk, self.conversions, False
        )
        gradient, hessian, _, _ = self.converting.sums(derivative, curvature, False)
        gradient = (self.penalty * self.penalised * theta - gradient + self.exposure) / self.scale
        hessian = (hessian + np.diag(self.penalty * self.penalised)) / self.scale
        return gradient, hessian


def _projected_gradient(theta: np.ndarray, gradient: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The gradient with the components that point out of the feasible set at a bound
    set to 0 (the optimality measure of a bound-constrained problem)."""
    return np.where(theta > lower, gradient, np.minimum(gradient, 0.0))


def _fit(
    counts: StepCounts,
    design: _Design,
    pairs: tuple[tuple[int, int], ...],
    penalty: float,
    max_iterations: int,
    tolerance: float,
    start: np.ndarray | None,
    start_elsewhere: bool = False,
) -> PresenceFit:
    """The projected Newton fit of ``design`` (the counts' design with ``pairs``) from
    ``start`` (else from the baseline alone). ``start_elsewhere``: ``start`` is the fit
    of other counts (a bootstrap replicate's data), whose baseline is first moved to its
    optimum given the effects (:func:`_baseline_given_effects`)."""
    objective = _Objective(counts, design, penalty)
    n = design.n_parameters
    lower = np.zeros(n)
    lower[0] = MIN_BASELINE
    theta = np.zeros(n)
    steps = float(counts.at_risk.sum() + counts.conversions.sum())
    rate = counts.total_conversions / steps if steps else 0.5
    # Start below the optimum: Newton on y log(1 - e^{-λ}) - s λ (about y log λ - s λ)
    # overshoots past 0 from above twice the optimal λ, but climbs to it from below.
    theta[0] = max(START_FRACTION * -np.log1p(-min(rate, 0.5)), MIN_BASELINE)
    if start is not None:
        theta[: len(start)] = start
        if start_elsewhere:
            theta[0] = _baseline_given_effects(objective, theta, lower[0])
    hazards = objective.hazards(theta)
    value = objective.value(theta, hazards)
    gradient, hessian = objective.derivatives(theta, hazards)
    iterations = 0
    converged = at_rounding = flat_step = False
    while True:
        projected = _projected_gradient(theta, gradient, lower)
        gradient_norm = float(np.abs(projected).max(initial=0.0))
        if gradient_norm <= tolerance:
            converged = True
            break
        if iterations >= max_iterations:
            break
        iterations += 1
        # Held (Bertsekas's ε-active set): within ε of a bound and pushed outwards, with
        # ε the size of a projected gradient step, so variables near their bound do not
        # zigzag on and off it.
        slack = min(ACTIVE_SLACK, float(np.abs(theta - np.maximum(theta - gradient, lower)).max()))
        held = (theta - lower <= slack) & (gradient > 0)
        segment = _newton_segment(theta, gradient, hessian, lower, held)
        slope = float(np.sum(gradient * segment))
        if not slope < 0:  # not a descent direction: a projected, scaled gradient step
            scaled = -gradient / np.maximum(np.diag(hessian), 1e-300)
            segment = np.maximum(theta + scaled, lower) - theta
            slope = float(np.sum(gradient * segment))
        change = objective.hazards(segment)  # Δλ along the segment
        # The log-likelihood is a barrier at λ = 0 for steps with conversions: a step may
        # shrink their λ at most tenfold (fraction to the boundary), so iterates
        # do not jump onto the barrier and crawl back. λ is linear along the segment.
        shrinking = change < 0
        step = 1.0
        if shrinking.any():
            limit = (1 - BARRIER_FRACTION) * hazards[shrinking] / -change[shrinking]
            step = min(1.0, float(limit.min()))
        margin = ROUNDING * abs(value)
        for _ in range(MAX_HALVINGS):
            candidate = theta + step * segment
            candidate_hazards = objective.hazards(candidate)
            candidate_value = objective.value(candidate, candidate_hazards)
            if candidate_value <= value + ARMIJO * step * slope:
                break
            if not -step * slope > margin:
                # The objective is convex, so a shorter step cannot fall by more than
                # its slope promises, which is below rounding already: no halving can
                # show a decrease beyond it.
                break
            step /= 2
        else:
            candidate_value = value  # nothing found: no decrease
        if not value - candidate_value > margin:
            # No decrease beyond rounding. Near the optimum a full Newton step still
            # gains in the gradient what the objective no longer shows: one such step
            # is taken (if it does not raise the objective beyond rounding either), so
            # the tolerance can be met; the next step without a decrease ends the fit
            # at rounding level (with much data, the gradient's sum over patterns
            # cancels to its rounding level).
            if step < 1.0 or candidate_value > value + margin or flat_step:
                converged = at_rounding = True
                break
            flat_step = True
        else:
            flat_step = False
        # The accepted point's hazards and objective are those of the search.
        theta, hazards, value = candidate, candidate_hazards, candidate_value
        gradient, hessian = objective.derivatives(theta, hazards)
    # A shortened step moves a held parameter only part of the way to its bound, so it
    # can stop a rounding error above it (1e-17 where the baseline is 0.2). Such
    # residues are noise that differs between codings of the same channels, and the
    # credit divides by the effects: they are put on the bound, so an effect the data
    # do not support is 0.
    theta = np.where(theta - lower <= SNAP * float(theta.max()), lower, theta)
    return PresenceFit(
        theta=theta,
        pairs=pairs,
        pair_z=(),
        converged=converged,
        n_iterations=iterations,
        gradient_norm=gradient_norm,
        log_likelihood=objective.log_likelihood(theta),
        at_rounding=at_rounding,
    )


def _baseline_given_effects(objective: _Objective, theta: np.ndarray, lower: float) -> float:
    """The baseline ``b`` that maximises ``ℓ`` with the effects of ``θ`` fixed.

    Why: a replicate's fit starts from the data's, and the baseline is often set by a
    handful of conversions in steps where no channel is present yet (``λ = b`` there),
    which a replicate draws 0, 1, 2 or 3 times. ``log(1 - e^{-λ})`` is then a barrier
    whose optimum moves by a factor, and Newton's method on a barrier approaches it
    only about twofold per iteration from below (from above it overshoots past 0): on
    1M journeys a replicate's first stage took 8-9 iterations from the data's fit, 3-4
    after this (about 13% of a replicate's iterations in all). In ``b`` alone the problem
    is one-dimensional and concave: ``ℓ'(b) = Σ y_x / (e^{λ_x} - 1) - s_x`` (over every
    pattern) decreases and is convex in ``b``, so Newton's iterates from the left of its
    root rise to it monotonically; an iterate beyond the domain (a converting ``λ <= 0``
    or ``b`` below its bound) is replaced by the point half-way to its edge. The fit then
    goes on from this start as from any other: the optimum is the same.
    """
    hazards = objective.hazards(theta)
    baseline = float(theta[0])
    edge = max(lower - baseline, -float(hazards.min(initial=np.inf)))
    delta = 0.0
    for _ in range(60):
        derivative, curvature, _ = log_likelihood_terms(
            hazards + delta, objective.at_risk, objective.conversions, False
        )
        slope = float(derivative.sum()) - float(objective.exposure[0])
        bend = float(curvature.sum())
        if not bend > 0:
            break
        step = slope / bend
        following = delta + step
        if following <= edge:
            following = 0.5 * (delta + edge)
        if abs(following - delta) <= 1e-13 * (baseline + delta):
            delta = following
            break
        delta = following
    return max(baseline + delta, lower)


def _newton_segment(
    theta: np.ndarray,
    gradient: np.ndarray,
    hessian: np.ndarray,
    lower: np.ndarray,
    held: np.ndarray,
) -> np.ndarray:
    """The step to the Newton point of the free parameters, the ``held`` ones moved onto
    their bound: ``d_A = lower_A - θ_A``, ``d_F = -H_FF⁻¹ (g_F + H_FA d_A)`` (Newton on
    the face where the held parameters sit on their bound). A free parameter whose
    Newton point falls below its bound is held too and the step solved again, so the
    point ``θ + d`` is feasible and is the Newton point of the face it lies on: once the
    bounds that hold at the optimum are found, the iterations converge quadratically
    (clipping the unconstrained Newton point instead bends the other parameters' step,
    and the rate falls to linear)."""
    held = held.copy()
    direction = np.zeros(len(theta))
    while True:
        free, fixed = np.flatnonzero(~held), np.flatnonzero(held)
        direction[fixed] = lower[fixed] - theta[fixed]
        if not len(free):
            return direction
        system = hessian[np.ix_(free, free)]
        # A ridge of the order of rounding keeps the system definite when some effect
        # appears only in steps without conversions and there is no penalty.
        system = system + np.eye(len(free)) * (1e-12 * max(float(np.trace(system)), 1e-300))
        rhs = gradient[free] + hessian[np.ix_(free, fixed)] @ direction[fixed]
        direction[free] = -cholesky_solve(system, rhs[:, None])[:, 0]
        below = free[theta[free] + direction[free] < lower[free]]
        if not len(below):
            return direction
        held[below] = True


def _best_pair(
    counts: StepCounts, design: _Design, fit: PresenceFit, penalty: float
) -> tuple[tuple[int, int] | None, float]:
    """The candidate pair with the largest score-test ``z`` at ``fit`` (of ``design``),
    and that ``z`` (none without a step with conversions: no pair can be tested)."""
    if not (counts.conversions > 0).any():
        return None, float("nan")
    score, _, information = log_likelihood_terms(
        design.hazards(fit.theta), counts.at_risk, counts.conversions, True
    )
    _, i_all, information_present, information_by_present = design.sums(score, information, True)
    score_present = np.bincount(design.present_id, score, minlength=len(design.present_masks))
    free_features = np.flatnonzero((fit.theta > 0) | (np.arange(len(fit.theta)) == 0))
    free = np.full(len(fit.theta), -1, np.int64)
    free[free_features] = np.arange(len(free_features))
    u, i_zz, i_zf = pair_score_sums(
        score_present,
        information_present,
        information_by_present,
        design.present_masks,
        free,
        len(free_features),
        design.n_channels,
    )
    i_ff = i_all[np.ix_(free_features, free_features)]
    i_ff = i_ff + penalty * np.diag((free_features > 0).astype(np.float64))
    solved = cholesky_solve(i_ff, np.ascontiguousarray(i_zf.T))
    efficient = i_zz + penalty - np.sum(i_zf * solved.T, axis=1)
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
