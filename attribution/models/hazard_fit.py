"""Maximum likelihood of the ``hazard`` model, forward selection of pairs, removal sums.

**Likelihood.** With ``θ = (b, β)`` the baseline and the coefficients (main columns,
then the selected pairs' columns), converter ``j``'s hazard at its conversion is
``η_j = x_j · θ`` and every journey's cumulative hazard over its at-risk time is
``z_j · θ``, so

    ℓ(θ) = Σ_conv w_j log η_j − Z · θ,        Z = Σ_j w_j z_j,

concave in ``θ``, with gradient ``Σ_conv w x / η − Z`` and Hessian ``−I``, ``I = Σ_conv
w x xᵀ / η²``. It is maximised over ``θ ≥ 0`` (the baseline above a floor of 1e-9 times
the baseline-only maximum, so that ``η > 0``) by a **projected Newton method**
(Bertsekas 1982) on ``f = −ℓ / N`` (``N`` the weighted conversions): the coordinates at
their bound whose gradient pushes them out are held there, Newton's step is taken on
the others and projected onto the bounds, with an Armijo backtracking line search;
when that fails, a projected step along the diagonally scaled gradient. The design has
at most a few hundred columns, so ``I`` is small; it is recomputed only when the last
step reduced the projected gradient less than tenfold (otherwise the previous ``I`` is
kept: a chord step costs a gradient, a tenth of an ``I``). The likelihood, gradient
and information are one fused numba pass over the converters' sparse rows
(:func:`attribution.kernels.hazard.log_likelihood`). Newton converges quadratically:
a fit takes a few iterations from a start near the maximum. (L-BFGS-B, the first
choice, took 100–450 gradient evaluations per fit on the simulator's presets, more
than the 10 s budget at a million journeys allows.)

The start is the maximum of the same likelihood over every ``k``-th converter only
(about :data:`SUBSAMPLE_ROWS`, their weights scaled up; ``Z`` stays the full data's),
itself started from giving every column an equal part of the conversions, ``θ_k = N /
(K Z_k)``, which satisfies ``Z · θ = N`` (a property of the maximum: ``ℓ`` is maximal
along the ray ``tθ`` at ``t = 1``). Only the start depends on the subsample; the
maximum reached is the full data's. Columns no converter has a feature in have their
maximum at 0 (their gradient is ``Z_k > 0`` for ``f``) and are fixed there.

Convergence is declared when the largest projected gradient component, each divided by
the square root of its diagonal Hessian entry (scale-free: a coordinate's score ``z``
over ``√N``), is at most ``tolerance``; it is reported with the iterations.

**Pairs** (``pairs="auto"``): forward selection by the score test. At the current fit,
the score of a candidate pair column ``p`` is ``U = Σ_conv w x_p / η − Z_p`` (the
derivative of ``ℓ`` at ``β_p = 0``) and its efficient information ``I_p·F = I_pp −
I_pF I_FF⁻¹ I_Fp`` with ``F`` the free parameters (those above their bound); ``z = U /
√I_p·F``, one per pair and pair rate, and a pair's ``z`` is the larger of its rates'.
The pair with the largest ``z`` enters (with all its pair rates) while ``z >
pair_threshold`` (default 4, which allows for testing every pair) and fewer than
``max_pairs`` are in. After an addition the fit takes one Newton step from the previous
maximum with the pair at 0, where the previous information extended by the pair's rows
(from the same pass as the scores) is exactly ``I``; the next scores are then Neyman's
C(α) statistics, ``U_p − I_pF I_FF⁻¹ U_F`` (``U_F`` the remaining score of the free
parameters), which equal the score test's at a maximum and agree with it to first
order one step away, so the search needs no full refit per pair; the fit with the
selected pairs is then run to ``tolerance``. The information is the model's own: it
assumes the additive hazard is right, and under a misspecified response pairs can pass
the threshold because they improve a wrong model (as on ``benchmarks/synthetic.py``'s
data). Everything uses the merged statistics only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import scipy.linalg

from attribution.kernels.hazard import (
    BLOCKS,
    log_likelihood,
    log_likelihood_parallel,
    pair_scores,
    pair_scores_parallel,
    removal_sums,
    row_width,
    symmetrised,
)
from attribution.kernels.segments import concatenated_ranges
from attribution.models.hazard_statistics import HazardStatistics

#: The baseline's lower bound, relative to the baseline-only maximum (keeps η > 0).
BASELINE_FLOOR = 1e-9
#: Armijo sufficient-decrease constant and the most halvings of a step.
ARMIJO = 1e-4
MAX_HALVINGS = 60
#: A predicted decrease of ``f`` below this relative size is rounding error.
ROUNDING = 1e-13
#: The information is recomputed when a step reduced the projected gradient by less
#: than this factor.
CHORD_RATE = 0.1
#: Converter entries from which the fit's passes run on all threads.
PARALLEL_ENTRIES = 2_000_000
#: Newton steps after each pair addition during the search, and the tolerance of the
#: subsample fit giving the start.
SEARCH_STEPS = 1
START_TOLERANCE = 1e-4
#: Converters in the subsample that gives the full fit its start.
SUBSAMPLE_ROWS = 20_000


@dataclass(frozen=True)
class Solution:
    """A maximum of the likelihood.

    ``theta``: every column (baseline, channel × rate, then each selected pair's rates);
    ``pairs``: the selected pair codes (``a·C + b``) in order of entry, and ``pair_z``
    their score ``z`` when they entered (NaN for pairs given explicitly).
    ``iterations`` counts Newton iterations over every fit (the subsample's included);
    ``gradient_norm`` is the scaled projected gradient at the end; ``converged`` whether
    it met the tolerance; ``identified`` False when no fit was possible (all 0).
    """

    theta: np.ndarray
    pairs: tuple[int, ...]
    pair_z: tuple[float, ...]
    iterations: int
    gradient_norm: float
    converged: bool
    log_likelihood: float
    identified: bool = True


def unidentified(design: Design) -> Solution:
    """The solution when nothing can be fitted: every coefficient 0."""
    return Solution(np.zeros(design.n_columns), (), (), 0, 0.0, True, 0.0, identified=False)


@dataclass(frozen=True)
class Design:
    """The columns being fitted: the main ones and the selected pairs (codes).

    ``present``: the main columns some converter has a feature in; ``pair_entries``: the
    converters' entries per pair code; ``entry_row``: the converter of each pair entry
    (all three computed once per statistics).
    """

    statistics: HazardStatistics
    present: np.ndarray
    pair_entries: np.ndarray
    entry_row: np.ndarray
    pairs: tuple[int, ...] = ()

    @classmethod
    def of(cls, statistics: HazardStatistics, pairs: tuple[int, ...] = ()) -> Design:
        s = statistics
        present = np.bincount(s.row_column, minlength=s.n_columns) > 0
        present[0] = True
        entries = np.bincount(s.pair_code, minlength=s.n_channels * s.n_channels)
        entry_row = np.repeat(np.arange(s.n_converters), np.diff(s.pair_pointer))
        return cls(s, present, entries, entry_row, pairs)

    def with_pair(self, code: int) -> Design:
        return replace(self, pairs=(*self.pairs, code))

    @property
    def n_columns(self) -> int:
        return self.statistics.n_columns + len(self.pairs) * self.n_pair_rates

    @property
    def n_pair_rates(self) -> int:
        return self.statistics.x_pairs.shape[1]

    @property
    def totals(self) -> np.ndarray:
        s = self.statistics
        first, second = np.divmod(np.asarray(self.pairs, np.int64), s.n_channels)
        return np.concatenate([s.totals, s.pair_totals[first, second].ravel()])

    @property
    def has_feature(self) -> np.ndarray:
        """Columns some converter has a feature in (and the baseline)."""
        selected = self.pair_entries[list(self.pairs)] > 0
        return np.concatenate([self.present, np.repeat(selected, self.n_pair_rates)])

    @cached_property
    def _selected(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The selected pairs' entries: per-converter pointer, entry numbers, columns."""
        s = self.statistics
        chosen = np.zeros(s.n_channels * s.n_channels, bool)
        chosen[list(self.pairs)] = True
        entries = np.flatnonzero(chosen[s.pair_code])
        counts = np.bincount(self.entry_row[entries], minlength=s.n_converters)
        first_column = np.zeros(s.n_channels * s.n_channels, np.int64)
        first_column[list(self.pairs)] = (
            s.n_columns + np.arange(len(self.pairs)) * self.n_pair_rates
        )
        return _pointer_of(counts), entries, first_column[s.pair_code[entries]]

    def rows(self, integrals: bool = False) -> tuple[np.ndarray, ...]:
        """The converted journeys' rows in this design as the kernels take them: features
        at the conversion with the likelihood weights, or (``integrals``) the integrals
        over the window with the journeys' weights."""
        return self._integral_rows if integrals else self._feature_rows

    @cached_property
    def _feature_rows(self) -> tuple[np.ndarray, ...]:
        s = self.statistics
        return self._rows(s.x_values, s.x_pairs, s.event_weight)

    @cached_property
    def _integral_rows(self) -> tuple[np.ndarray, ...]:
        s = self.statistics
        return self._rows(s.z_values, s.z_pairs, s.weight)

    def _rows(
        self, main: np.ndarray, pairs: np.ndarray, weight: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        s = self.statistics
        pointer, entries, columns = self._selected
        return (
            s.row_pointer,
            s.row_column,
            main,
            pointer,
            s.pair_code[entries],
            columns,
            np.ascontiguousarray(pairs[entries]),
            weight,
        )

    @cached_property
    def width(self) -> int:
        s = self.statistics
        return int(row_width(self.rows(), (s.pair_pointer, s.pair_code, s.x_pairs)))

    @property
    def parallel(self) -> bool:
        return len(self.statistics.x_values) >= PARALLEL_ENTRIES

    def terms(
        self, theta: np.ndarray, mask: np.ndarray | None
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """``Σ_conv w log η``, its gradient and the information ``I`` between the columns
        of ``mask`` (zero elsewhere; ``None``: no information)."""
        p = self.n_columns
        side = 1 if mask is None else p
        partial = (np.zeros(BLOCKS), np.zeros((BLOCKS, p)), np.zeros((BLOCKS, side, side)))
        kernel = log_likelihood_parallel if self.parallel else log_likelihood
        kernel(self.rows(), theta, np.zeros(p, bool) if mask is None else mask, self.width, partial)
        information = partial[2][0] if mask is None else symmetrised(partial[2].sum(axis=0))
        return float(partial[0].sum()), partial[1].sum(axis=0), information

    def removal_sums(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per channel ``Σ_conv w q_c`` and ``Σ_conv value q_c`` at ``theta``."""
        s = self.statistics
        return removal_sums(
            self.rows(integrals=True), s.value, theta, s.n_channels, s.settings.n_rates
        )


def equal_sums(statistics: HazardStatistics) -> tuple[np.ndarray, np.ndarray]:
    """Per channel ``Σ_conv w / k`` and ``Σ_conv value / k`` over the converted journeys
    it has a touch before the credit cut in, ``k`` their number of such channels: the
    credit when no effect is identified (every channel treated alike)."""
    s = statistics
    n_rates = s.settings.n_rates
    entry = (s.row_column > 0) & ((s.row_column - 1) % n_rates == 0)
    row = np.repeat(np.arange(s.n_converters), np.diff(s.row_pointer))[entry]
    channel = (s.row_column[entry] - 1) // n_rates
    k = np.bincount(row, minlength=s.n_converters)[row]
    conversions = np.bincount(channel, s.weight[row] / k, minlength=s.n_channels)
    value = np.bincount(channel, s.value[row] / k, minlength=s.n_channels)
    return conversions, value


def solve(
    statistics: HazardStatistics,
    pairs: str | list[int],
    *,
    max_pairs: int,
    threshold: float,
    tolerance: float,
    max_iterations: int,
    start: np.ndarray | None = None,
) -> tuple[Design, Solution]:
    """Fit the main effects (and explicit pairs), then select pairs if ``"auto"``.

    ``start``: a starting point for the design's columns (e.g. another guard's fit);
    without it, the subsample's fit (see the module docstring).
    """
    explicit = () if isinstance(pairs, str) else tuple(pairs)
    design = Design.of(statistics, explicit)
    iterations = 0
    if start is None:
        start, iterations = _warm_start(design, max_iterations)
    fit = _maximise(design, start, None, tolerance, max_iterations)
    iterations += fit.iterations
    z_values = [float("nan")] * len(explicit)
    while pairs == "auto" and len(design.pairs) < max_pairs:
        choice = best_pair(design, fit.theta, fit.score)
        if choice is None or not choice.z > threshold:
            break
        design = design.with_pair(choice.code)
        z_values.append(choice.z)
        start = np.concatenate([fit.theta, np.zeros(design.n_pair_rates)])
        # One Newton step from the previous fit with the pair at 0 (its information is
        # exact there): the next scores are orthogonalised against what remains.
        fit = _maximise(design, start, choice.information, tolerance, SEARCH_STEPS)
        iterations += fit.iterations
    if len(design.pairs) > len(explicit):
        fit = _maximise(design, fit.theta, None, tolerance, max_iterations)
        iterations += fit.iterations
    return design, Solution(
        theta=fit.theta,
        pairs=design.pairs,
        pair_z=tuple(z_values),
        iterations=iterations,
        gradient_norm=fit.gradient_norm,
        converged=fit.gradient_norm <= tolerance,
        log_likelihood=fit.log_likelihood,
    )


def _warm_start(design: Design, max_iterations: int) -> tuple[np.ndarray | None, int]:
    """The maximum over every ``k``-th converter (see the module docstring), to a loose
    tolerance, and its iterations; ``None`` (the default start) with few converters."""
    s = design.statistics
    step = s.n_converters // SUBSAMPLE_ROWS
    if step < 2:
        return None, 0
    rows = np.arange(0, s.n_converters, step)
    scale = s.event_weight.sum() / s.event_weight[rows].sum()
    main = concatenated_ranges(s.row_pointer[rows], s.row_pointer[rows + 1])
    pair = concatenated_ranges(s.pair_pointer[rows], s.pair_pointer[rows + 1])
    sample = replace(
        s,
        reference=None,
        row_pointer=_pointer_of(np.diff(s.row_pointer)[rows]),
        row_column=s.row_column[main],
        x_values=s.x_values[main],
        z_values=s.z_values[main],
        weight=s.weight[rows] * scale,
        event_weight=s.event_weight[rows] * scale,
        value=s.value[rows],
        pair_pointer=_pointer_of(np.diff(s.pair_pointer)[rows]),
        pair_code=s.pair_code[pair],
        x_pairs=s.x_pairs[pair],
        z_pairs=s.z_pairs[pair],
    )
    fit = _maximise(Design.of(sample, design.pairs), None, None, START_TOLERANCE, max_iterations)
    return fit.theta, fit.iterations


def _pointer_of(counts: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


@dataclass(frozen=True)
class _Fit:
    """A fit: the point, its iterations, scaled projected gradient, log-likelihood and
    score (the gradient of ``ℓ``)."""

    theta: np.ndarray
    iterations: int
    gradient_norm: float
    log_likelihood: float
    score: np.ndarray


def _maximise(
    design: Design,
    start: np.ndarray | None,
    information: np.ndarray | None,
    tolerance: float,
    max_iterations: int,
) -> _Fit:
    """Projected Newton on ``f = −ℓ / N`` over ``θ ≥ lower`` (see the module docstring);
    ``information``: ``I`` at ``start`` when known."""
    n = float(design.statistics.event_weight.sum())
    totals = design.totals
    free = design.has_feature
    lower = np.zeros(design.n_columns)
    lower[0] = BASELINE_FLOOR * n / totals[0]
    if start is None:
        start = n / (free.sum() * np.where(totals > 0, totals, 1.0))
    theta = np.where(free, np.maximum(start, lower), 0.0)

    def evaluate(
        point: np.ndarray, mask: np.ndarray | None
    ) -> tuple[float, np.ndarray, np.ndarray]:
        value, gradient, information = design.terms(point, mask)
        return (totals @ point - value) / n, (totals - gradient) / n, information / n

    def refresh(point: np.ndarray, gradient: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Value, gradient and information at ``point``, the information only between
        the columns not at their bound with the gradient pushing them out."""
        return evaluate(point, free & ~((point <= lower) & (gradient > 0)))

    f, g, h = evaluate(theta, None)
    if information is None:
        f, g, h = refresh(theta, g)
    else:
        h = information / n
    fresh = True
    iterations = 0
    norm = _projected_norm(theta, g, h, lower, free)
    while norm > tolerance and iterations < max_iterations:
        iterations += 1
        accepted = _step(evaluate, theta, f, g, h, lower, free, norm)
        if accepted is None and not fresh:
            f, g, h = refresh(theta, g)
            fresh = True
            accepted = _step(evaluate, theta, f, g, h, lower, free, norm)
        if accepted is None:
            break
        theta, f, g = accepted
        previous, norm = norm, _projected_norm(theta, g, h, lower, free)
        fresh = False
        if norm > CHORD_RATE * previous and norm > tolerance and iterations < max_iterations:
            f, g, h = refresh(theta, g)
            fresh = True
            norm = _projected_norm(theta, g, h, lower, free)
    return _Fit(theta, iterations, norm, -f * n, -g * n)


def _scales(h: np.ndarray) -> np.ndarray:
    """``1 / √H_kk`` (1 where the diagonal is 0)."""
    diagonal = np.diag(h)
    return np.where(diagonal > 0, 1 / np.sqrt(np.where(diagonal > 0, diagonal, 1.0)), 1.0)


def _projected_norm(
    theta: np.ndarray, g: np.ndarray, h: np.ndarray, lower: np.ndarray, free: np.ndarray
) -> float:
    """The largest projected gradient component, each times ``1 / √H_kk``."""
    projected = np.where((theta <= lower) & (g > 0) | ~free, 0.0, g)
    return float(np.abs(projected * _scales(h)).max(initial=0.0))


Evaluate = Callable[[np.ndarray, "np.ndarray | None"], tuple[float, np.ndarray, np.ndarray]]


def _step(
    evaluate: Evaluate,
    theta: np.ndarray,
    f: float,
    g: np.ndarray,
    h: np.ndarray,
    lower: np.ndarray,
    free: np.ndarray,
    norm: float,
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """A projected Newton step with line search, else a scaled gradient step; the new
    point with its value and gradient, or None when neither decreases ``f``."""
    scale = _scales(h)
    for direction in (
        _newton_direction(theta, g, h, lower, free, np.minimum(1e-6, norm) * scale),
        np.where(free, -g * scale**2, 0.0),
    ):
        accepted = _line_search(evaluate, theta, f, g, direction, lower)
        if accepted is not None:
            return accepted
    return None


def _newton_direction(
    theta: np.ndarray,
    g: np.ndarray,
    h: np.ndarray,
    lower: np.ndarray,
    free: np.ndarray,
    epsilon: np.ndarray,
) -> np.ndarray:
    """Newton's step on the coordinates not held at their bound.

    Held: those within ``epsilon`` of the bound whose gradient pushes them out (they
    step onto it), those without curvature, and those at the bound that Newton's step
    would push out (the step is recomputed without them, so that the projection does
    not cancel it).
    """
    held = free & ((theta - lower <= epsilon) & (g > 0) | (np.diag(h) <= 0))
    at_bound = free & (theta <= lower)
    while True:
        moving = free & ~held
        step = np.zeros_like(theta)
        step[held] = lower[held] - theta[held]
        step[moving] = -solve_positive(h[np.ix_(moving, moving)], g[moving])
        blocked = moving & at_bound & (step < 0)
        if not blocked.any():
            return step
        held |= blocked


def _line_search(
    evaluate: Evaluate,
    theta: np.ndarray,
    f: float,
    g: np.ndarray,
    step: np.ndarray,
    lower: np.ndarray,
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Armijo backtracking along the projected arc ``max(θ + α step, lower)``; the new
    point with its value and gradient, or None without a decrease. A full step whose
    predicted decrease is below the rounding error of ``f`` is taken as it is (near the
    maximum, where Newton's step is exact but ``f`` cannot show it)."""
    alpha = 1.0
    for _ in range(MAX_HALVINGS):
        trial = np.maximum(theta + alpha * step, lower)
        decrease = g @ (trial - theta)
        if not decrease < 0:
            return None
        f_trial, g_trial, _ = evaluate(trial, None)
        negligible = alpha == 1.0 and -decrease <= ROUNDING * (1.0 + abs(f))
        if f_trial <= f + ARMIJO * decrease or negligible:
            return trial, f_trial, g_trial
        alpha /= 2
    return None


def solve_positive(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix⁻¹ vector`` for a positive semi-definite ``matrix``: Cholesky, with a
    growing ridge on the diagonal if the matrix is singular (collinear columns)."""
    ridge = 0.0
    diagonal = np.diag(matrix).copy()
    for _ in range(20):
        try:
            factor = scipy.linalg.cho_factor(matrix + ridge * np.diag(diagonal))
            return np.asarray(scipy.linalg.cho_solve(factor, vector))
        except np.linalg.LinAlgError:
            ridge = max(1e-12, ridge * 10)
    return np.asarray(np.linalg.lstsq(matrix, vector, rcond=None)[0])


@dataclass(frozen=True)
class PairChoice:
    """The best candidate pair: its code, score ``z``, and ``information``, ``I`` at
    the current fit extended by the pair's rows and columns (the new design's ``I`` at
    the current fit with the pair at 0) between the free columns and the pair's."""

    code: int
    z: float
    information: np.ndarray


def best_pair(design: Design, theta: np.ndarray, score: np.ndarray) -> PairChoice | None:
    """The candidate pair with the largest score ``z`` at ``theta`` (None if there is no
    candidate); ``score`` is the gradient of ``ℓ`` at ``theta``.

    The test is Neyman's C(α): the pair's score ``U_p`` less its projection on the free
    parameters' score, ``U_p − I_pF I_FF⁻¹ U_F``, over the square root of the efficient
    information. At the maximum ``U_F = 0`` and it is the score test; one Newton step
    away (between pair additions) it is the same to first order.
    """
    s = design.statistics
    candidates = np.flatnonzero(design.pair_entries)
    candidates = candidates[~np.isin(candidates, design.pairs)]
    if len(candidates) == 0:
        return None
    free = design.has_feature & (theta > 0)
    gain, own, cross, information = _pair_sums(design, theta, candidates, free)
    first, second = np.divmod(candidates, s.n_channels)
    raw = (gain - s.pair_totals[first, second]).ravel()
    m, g, p = len(candidates), design.n_pair_rates, design.n_columns
    flat = cross.reshape(m * g, -1)
    free_information = information[np.ix_(free, free)]
    solved = solve_positive(free_information, flat.T)
    adjusted = raw - flat @ solve_positive(free_information, score[free])
    diagonal = np.einsum("mgg->mg", own).ravel()
    efficient = diagonal - np.einsum("kq,qk->k", flat, solved)
    usable = efficient > 1e-12 * diagonal
    z = np.where(usable, adjusted / np.sqrt(np.where(usable, efficient, 1.0)), 0.0)
    z = z.reshape(m, g).max(axis=1)
    best = int(np.argmax(z))
    extended = np.zeros((p + g, p + g))
    extended[:p, :p] = information
    extended[p:, :p][:, free] = cross[best]
    extended[:p, p:][free, :] = cross[best].T
    extended[p:, p:] = own[best]
    return PairChoice(int(candidates[best]), float(z[best]), extended)


def _pair_sums(
    design: Design, theta: np.ndarray, candidates: np.ndarray, free: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~attribution.kernels.hazard.pair_scores` for ``candidates`` with the
    cross-information taken over the ``free`` columns: ``(Σ w x / η, own block, cross,
    information of the design between the free columns)``."""
    s = design.statistics
    number = np.full(s.n_channels * s.n_channels, -1, np.int64)
    number[candidates] = np.arange(len(candidates))
    index = np.where(free, np.cumsum(free) - 1, -1)
    m, g, p, q = len(candidates), design.n_pair_rates, design.n_columns, int(free.sum())
    partial = (
        np.zeros((BLOCKS, m, g)),
        np.zeros((BLOCKS, m, g, g)),
        np.zeros((BLOCKS, m, g, q)),
        np.zeros((BLOCKS, p if q else 1, p if q else 1)),
    )
    kernel = pair_scores_parallel if design.parallel else pair_scores
    candidate_rows = (s.pair_pointer, s.pair_code, s.x_pairs)
    kernel(design.rows(), candidate_rows, theta, number, index, design.width, partial)
    gain, own, cross = (part.sum(axis=0) for part in partial[:3])
    return gain, own, cross, symmetrised(partial[3].sum(axis=0))
