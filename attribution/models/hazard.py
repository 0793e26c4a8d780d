"""Time-to-event attribution: an additive hazard fitted by maximum likelihood.

**Model** (Zhang, Wei & Ren 2014; Ji & Wang 2017; Shender et al. 2020). Journey ``j``
converts at the rate

    h_j(t) = b + Σ_{touches i: s_i < t − δ} Σ_g β_{c_i g} r_g e^{−r_g (t − δ − s_i)}
               + Σ_{selected pairs p: s_p < t − δ} Σ_g β_{p g} ρ_g e^{−ρ_g (t − δ − s_p)}

with ``b`` the baseline (conversions per day that no touch explains), ``r_g = ln 2 /
half_lives[g]`` a basis of decay rates, ``β ≥ 0`` and the guard ``δ`` (``guard_days``):
no touch causes a conversion within ``δ`` of itself. A pair of channels is complete at
``s_p``, the later of their first touches; its kernel (rates ``ρ_g`` from
``pair_half_lives``) is what the two do together beyond their own effects, once per
journey (as in the simulator). Each kernel integrates to 1, so one touch of ``c`` adds
``lift_c = Σ_g β_cg`` to the cumulative hazard once its effect has fully arrived: for a
buyer otherwise unlikely to convert, the expected number of extra conversions the touch
causes (``1 − e^{−lift}`` in probability, the same units as the simulator's ``lift``).
``β_cg / lift_c`` is the channel's half-life mix.

**At risk** from the first touch to the conversion, or for journeys that did not
convert to first touch + horizon ``H``, never past the data's last time; ``H`` is
``horizon_days`` or the longest first-touch-to-conversion gap. A conversion without
``converted_at`` has no event time: the fit only uses that the journey had not
converted by its last touch, and every touch of it is credited (its conversion came
after all of them, as the engine's credit window assumes). When no effect can be
identified (no conversion with a time, no time at risk, or no channel part in any
converted journey) each converted journey's value is split equally over its channels
with a touch before its cut, and the notes say so. Details and the two passes over
partitions:
:mod:`attribution.models.hazard_statistics`; the maximisation, the pair search and
convergence: :mod:`attribution.models.hazard_fit`.

**The guard** is the assumption that separates a cause from a passenger. A touch that
appears because a conversion is imminent (an AE meeting booked on a hot deal, a direct
visit just before the form) sits just before conversions and looks exactly like a cause
with an immediate effect; with ``δ`` longer than such lags it cannot explain any
conversion and gets no credit. The price: a real effect's first ``δ`` days carry ``1 −
e^{−r δ}`` of its lift (50% at a 1-day half-life, 9% at 7 days for ``δ = 1``), which the
model gives to earlier touches and the baseline, and a passenger with a longer lag is
still credited. The credit of the same model at ``reference_guard_days`` (default 0,
same pairs) is reported beside it, and so are the channels whose touches are more
frequent in the guard before conversions than in the guard-length window before that
(passenger suspects).

**Credit: the fitted model's removal effect.** Take journey ``j``'s window, from its
first touch to first touch + ``H`` (not past the data's last time, and at least to its
conversion ``T_j``), the window a journey that did not convert is observed for. Let
``L_j`` be the cumulative hazard its touches before ``T_j − δ`` and the baseline deliver
over the window, and ``R_jc`` the part due to channel ``c``: its touches' arrived
kernels ``Σ_g β_cg (1 − e^{−r_g τ})``, ``τ`` = window end − ``δ`` − ``s_i``, plus the
selected pairs containing ``c``. With a unit-exponential threshold ``E`` (the common
random numbers of the simulator's truth) the journey converts within the window when
``E ≤ L_j``, and without ``c`` when ``E ≤ L_j − R_jc``; so the probability that its
conversion is lost without ``c``, given that it converted, is

    q_jc = P(L − R < E ≤ L) / P(E ≤ L) = e^{−L}(e^{R} − 1) / (1 − e^{−L})
         = (e^{R} − 1) / (e^{L} − 1).

This is the issue's formula, and its derivation holds, with one correction: ``L`` and
``R`` must be taken over the window, not up to ``T_j``. Up to ``T_j`` the formula answers
"would it have converted *this early* without ``c``": a touch shortly before an early
conversion has delivered little of its effect yet, a late touch's effect is cut short,
and the credit shifts toward short half-lives and early touches. The truth the
simulator measures, and the question users ask, is whether the conversion would have
happened at all within the journey's horizon; over the window each observed touch
counts with the effect it has by then (touches after the conversion are not observed,
so none are assumed). Measured on the presets (20,000 journeys, seeds 1–2, mean share
error): up to ``T_j`` 0.072 / 0.087 / 0.249 / 0.093 / 0.110 / 0.095 / 0.195 (independent,
last_touch_trap, first_touch_trap, synergy, long_cycle, many_channels, b2b); over the
window 0.073 / 0.086 / 0.241 / 0.052 / 0.097 / 0.087 / 0.173. ``q`` is computed as
``e^{R−L} expm1(−R) / expm1(−L)``, exact for any size. It lies between 0 (a conversion
that was near certain anyway) and ``R/L`` (when ``L`` is small); it is not additive
(``Σ_c q_jc`` need not be 1), and a pair counts for both of its channels, as in the
truth.

Channel ``c`` is credited ``A_c = scale · Σ_j value_j q_jc``, one ``scale`` for all
channels such that ``Σ_c A_c`` is the creditable value (conserving in total, like
Markov); conversions likewise with the weights. Within journey ``j``, channel ``c``'s
credit is split over its touches in proportion to their arrived kernels (a pair's part
on the channel's first touch), so the per-channel sums of touch credit are ``A_c`` and
every roll-up (team, campaign, touch type) is a sum of touch credits. Touches within the
guard of their conversion get nothing.

**When not to trust it.** The model is an additive hazard with decaying effects; the
simulator generates exactly that, which flatters it. A response to exposure counts
whatever their timing, a passenger lagging more than ``δ``, buyers' hidden intent
(touched journeys convert more without any touch causing it), or effects that do not
decay within the horizon bias it; ``benchmarks/accuracy.py`` measures each case. The
pair search's ``z`` assumes the model is right: on data from another response it admits
pairs that only patch the misfit.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal

import numpy as np

from attribution.errors import ParameterError
from attribution.journeys import NANOS_PER_DAY, Journeys
from attribution.kernels.hazard import removal_credit, removal_credit_parallel
from attribution.models.base import (
    AttributionModel,
    ModelNotApplicable,
    TouchCredit,
    clone,
)
from attribution.models.hazard_fit import Design, Solution, equal_sums, solve, unidentified
from attribution.models.hazard_statistics import (
    PARALLEL_TOUCHES,
    HazardHorizon,
    HazardSettings,
    HazardStatistics,
    Span,
    converter_journeys,
    journey_statistics,
)
from attribution.notes import Note

PairsOption = Literal["auto", "none"] | Sequence[tuple[str, str]]
#: Window before a conversion for the passenger check when the guard is 0 (days).
SUSPECT_DAYS_WITHOUT_GUARD = 1.0
#: A channel is a passenger suspect when its touches within the guard before conversions
#: are at least this many times as frequent as in the guard-length window before that ...
SUSPECT_RATIO = 2.0
#: ... and the excess has a Poisson z of at least this.
SUSPECT_Z = 4.0


class Hazard(AttributionModel):
    """Additive-hazard attribution with a guard against passengers (module docstring).

    Parameters: ``half_lives`` (days, the decay basis of channel effects),
    ``pair_half_lives`` (of pair effects), ``guard_days`` (``δ``), ``horizon_days``
    (``None``: the longest first-touch-to-conversion gap), ``pairs`` (``"auto"``:
    forward selection by score test; ``"none"``; or channel-name pairs fitted as
    given), ``max_pairs`` and ``pair_threshold`` (the selection adds at most this many
    pairs, each with score ``z`` above the threshold), ``reference_guard_days`` (the
    guard of the comparison fit reported beside the credit; ``None``: none),
    ``tolerance`` (largest scaled projected gradient accepted at the maximum) and
    ``max_iterations`` (Newton iterations per fit).

    Learned: ``channel_names_``, ``baseline_`` (per day at risk), ``coefficients_``
    (channels × half-lives), ``lift_``, ``half_life_mix_``, ``pairs_`` (``(a, b, z,
    lift)`` in order of entry), ``pair_coefficients_``, ``horizon_days_``,
    ``observed_until_`` (ns), ``channel_conversions_`` and ``channel_value_`` (``A_c``),
    ``reference_value_`` (the channel credit at ``reference_guard_days``, or None),
    ``guard_excess_`` and ``passenger_suspects_``, ``iterations_``, ``gradient_norm_``,
    ``converged_``, ``log_likelihood_``, ``statistics_`` and ``solution_``.
    """

    name = "hazard"
    needs_times: ClassVar[bool] = True
    learns: ClassVar[bool] = True

    def __init__(
        self,
        half_lives: Sequence[float] = (1.0, 3.0, 7.0, 14.0, 30.0),
        pair_half_lives: Sequence[float] = (7.0, 30.0),
        guard_days: float = 1.0,
        horizon_days: float | None = None,
        pairs: PairsOption = "auto",
        max_pairs: int = 10,
        pair_threshold: float = 4.0,
        reference_guard_days: float | None = 0.0,
        tolerance: float = 1e-9,
        max_iterations: int = 200,
    ) -> None:
        self.half_lives = half_lives
        self.pair_half_lives = pair_half_lives
        self.guard_days = guard_days
        self.horizon_days = horizon_days
        self.pairs = pairs
        self.max_pairs = max_pairs
        self.pair_threshold = pair_threshold
        self.reference_guard_days = reference_guard_days
        self.tolerance = tolerance
        self.max_iterations = max_iterations

    # -------------------------------------------------------------- parameters
    def _check_params(self) -> None:
        for name in ("half_lives", "pair_half_lives"):
            values = getattr(self, name)
            if isinstance(values, str) or not isinstance(values, Sequence):
                raise ParameterError(f"{name} must be a sequence of days, got {values!r}")
            if not values or not all(_positive(v) for v in values):
                raise ParameterError(f"{name} must be positive numbers of days, got {values!r}")
            if len(set(values)) != len(values):
                raise ParameterError(f"{name} must not repeat a value, got {values!r}")
        if not _non_negative(self.guard_days):
            raise ParameterError(
                f"guard_days must be a number of days >= 0, got {self.guard_days!r}"
            )
        if self.horizon_days is not None and not _positive(self.horizon_days):
            raise ParameterError(
                f"horizon_days must be a positive number of days or None, got {self.horizon_days!r}"
            )
        if self.reference_guard_days is not None and not _non_negative(self.reference_guard_days):
            raise ParameterError(
                "reference_guard_days must be a number of days >= 0 or None, got "
                f"{self.reference_guard_days!r}"
            )
        self._pair_names()
        if not _whole(self.max_pairs, 0):
            raise ParameterError(f"max_pairs must be an integer >= 0, got {self.max_pairs!r}")
        if not _positive(self.pair_threshold):
            raise ParameterError(
                f"pair_threshold must be a positive number, got {self.pair_threshold!r}"
            )
        if not _positive(self.tolerance):
            raise ParameterError(f"tolerance must be a positive number, got {self.tolerance!r}")
        if not _whole(self.max_iterations, 1):
            raise ParameterError(
                f"max_iterations must be an integer >= 1, got {self.max_iterations!r}"
            )

    def _pair_names(self) -> str | tuple[tuple[str, str], ...]:
        """``"auto"``, ``"none"`` or the explicit pairs as a tuple of name pairs."""
        if isinstance(self.pairs, str):
            if self.pairs not in ("auto", "none"):
                raise ParameterError(
                    f"pairs must be 'auto', 'none' or a list of channel pairs, got {self.pairs!r}"
                )
            return self.pairs
        result = []
        for pair in self.pairs:
            items = () if isinstance(pair, str) else tuple(pair)
            if len(items) != 2 or not all(isinstance(name, str) for name in items):
                raise ParameterError(f"each of pairs must be two channel names, got {pair!r}")
            if items[0] == items[1]:
                raise ParameterError(f"a pair needs two different channels, got {pair!r}")
            result.append((items[0], items[1]))
        return tuple(result)

    def _settings(self, guard_days: float) -> HazardSettings:
        suspect = self.guard_days if self.guard_days > 0 else SUSPECT_DAYS_WITHOUT_GUARD
        return HazardSettings(
            half_lives=tuple(float(h) for h in self.half_lives),
            pair_half_lives=tuple(float(h) for h in self.pair_half_lives),
            guard=round(guard_days * NANOS_PER_DAY),
            suspect=round(suspect * NANOS_PER_DAY),
            pairs=self._pair_names(),
        )

    # ----------------------------------------------------------------- fitting
    def context(self, journeys: Journeys) -> HazardHorizon:
        """Pass 1 over a partition: what the horizon needs (merge with ``merge``)."""
        _require_times(journeys)
        return HazardHorizon.of(journeys)

    def statistics(
        self, journeys: Journeys, horizon: HazardHorizon | None = None
    ) -> HazardStatistics:
        """Pass 2 over a partition, given the merged pass-1 ``horizon`` (``None``: this
        partition's own, which is right when it holds all the journeys)."""
        self._check_params()
        _require_times(journeys)
        horizon = HazardHorizon.of(journeys) if horizon is None else horizon
        statistics = journey_statistics(
            journeys, self._settings(self.guard_days), horizon, self.horizon_days
        )
        reference = self.reference_guard_days
        if reference is not None and reference != self.guard_days:
            statistics = replace(
                statistics,
                reference=journey_statistics(
                    journeys, self._settings(reference), horizon, self.horizon_days
                ),
            )
        return statistics

    def statistics_in_context(self, journeys: Journeys, context: Any) -> HazardStatistics:
        """Pass 2 given the merged pass 1 of all partitions."""
        return self.statistics(journeys, context)

    def replicate_statistics(
        self,
        journeys: Journeys,
        context: Any,
        statistics: HazardStatistics,
        multipliers: np.ndarray,
    ) -> HazardStatistics:
        """A bootstrap replicate's statistics: the sums of the reweighted journeys, and
        the data's converter rows (shared arrays) with their weights times the
        multipliers (:meth:`HazardStatistics.reweighted`)."""
        sums = super().replicate_statistics(journeys, context, statistics, multipliers)
        assert isinstance(sums, HazardStatistics)
        factor = np.asarray(multipliers, np.float64)[converter_journeys(journeys)]
        return statistics.reweighted(sums, factor)

    def lead_stage_model(self) -> Hazard:
        """The lead-stage copy without the reference guard: the credit at
        ``reference_guard_days`` is a check reported beside the main roll-up
        (``value_at_reference_guard``), which the lead stage never shows, and it costs a
        second set of statistics and a second fit. The credit is the same (the main
        fit does not depend on the reference)."""
        return clone(self).set_params(reference_guard_days=None)

    def fit_statistics(self, statistics: HazardStatistics) -> Hazard:
        self._check_params()
        if statistics.settings != self._settings(self.guard_days):
            raise ValueError("these statistics were computed with different hazard parameters")
        if statistics.conversions <= 0:
            raise ModelNotApplicable("hazard needs conversions; there are none")
        # Fitted on the rows with a weight (a replicate's rows of journeys drawn 0 times
        # left out, a transient copy); the statistics kept are the shared ones.
        kept = statistics
        statistics = statistics.occupied()
        solution, conversions, value = self._credit_sums(statistics, self._pair_codes(statistics))
        self.statistics_ = kept
        self.channel_names_ = statistics.channel_names
        self._set_solution(statistics, solution)
        self.scale_conversions_ = _ratio(statistics.conversions, conversions.sum())
        self.scale_value_ = _ratio(statistics.total_value, value.sum())
        self.channel_conversions_ = conversions * self.scale_conversions_
        self.channel_value_ = value * self.scale_value_
        self.reference_value_ = None
        if statistics.reference is not None:
            # The same pairs as the chosen guard's fit: only the guard differs.
            _, _, reference_value = self._credit_sums(statistics.reference, list(solution.pairs))
            self.reference_value_ = reference_value * _ratio(
                statistics.total_value, reference_value.sum()
            )
        self._set_suspects(statistics)
        return self

    def _credit_sums(
        self, statistics: HazardStatistics, pairs: str | list[int]
    ) -> tuple[Solution, np.ndarray, np.ndarray]:
        """The fit and its per-channel removal sums (``Σ w q``, ``Σ value q``); when no
        effect is identified (no conversion with a time, no time at risk, or no channel
        part in any converted journey), the equal split of :func:`equal_sums` with every
        coefficient 0 (``solution.identified`` False)."""
        design = Design.of(statistics)
        if statistics.events > 0 and statistics.totals[0] > 0:
            design, solution = self._solve(statistics, pairs)
            conversions, value = design.removal_sums(solution.theta)
            if conversions.sum() > 0 or value.sum() > 0:
                return solution, conversions, value
        conversions, value = equal_sums(statistics)
        if not (conversions.sum() > 0 or value.sum() > 0):
            raise ModelNotApplicable(
                f"no converted journey has a touch more than guard_days = {self.guard_days:g} "
                "days before its conversion, so no channel can be credited"
            )
        return unidentified(design), conversions, value

    def _pair_codes(self, statistics: HazardStatistics) -> str | list[int]:
        """``"auto"``/``"none"``, or the explicit pairs as codes of the statistics."""
        names = self._pair_names()
        if isinstance(names, str):
            return names
        code = {name: c for c, name in enumerate(statistics.channel_names)}
        unknown = sorted({name for pair in names for name in pair} - set(code))
        if unknown:
            raise ParameterError(
                f"pairs name channel(s) not in the data: {', '.join(map(repr, unknown))}"
            )
        n = statistics.n_channels
        return list(
            dict.fromkeys(min(code[a], code[b]) * n + max(code[a], code[b]) for a, b in names)
        )

    def _solve(
        self, statistics: HazardStatistics, pairs: str | list[int]
    ) -> tuple[Design, Solution]:
        return solve(
            statistics,
            pairs,
            max_pairs=int(self.max_pairs),
            threshold=float(self.pair_threshold),
            tolerance=float(self.tolerance),
            max_iterations=int(self.max_iterations),
        )

    def _set_solution(self, statistics: HazardStatistics, solution: Solution) -> None:
        n_channels, n_rates = statistics.n_channels, statistics.settings.n_rates
        main = statistics.n_columns
        names = statistics.channel_names
        self.solution_ = solution
        self.baseline_ = float(solution.theta[0])
        self.coefficients_ = solution.theta[1:main].reshape(n_channels, n_rates)
        self.lift_ = self.coefficients_.sum(axis=1)
        lift = self.lift_[:, None]
        self.half_life_mix_ = np.divide(
            self.coefficients_, lift, out=np.zeros_like(self.coefficients_), where=lift > 0
        )
        self.pair_coefficients_ = solution.theta[main:].reshape(
            len(solution.pairs), len(statistics.settings.pair_half_lives)
        )
        first, second = np.divmod(np.asarray(solution.pairs, np.int64), n_channels)
        self.pairs_ = tuple(
            (names[a], names[b], z, float(beta.sum()))
            for a, b, z, beta in zip(
                first, second, solution.pair_z, self.pair_coefficients_, strict=True
            )
        )
        self.horizon_days_ = statistics.horizon / NANOS_PER_DAY
        self.observed_until_ = statistics.observed_until
        self.iterations_ = solution.iterations
        self.gradient_norm_ = solution.gradient_norm
        self.converged_ = solution.converged
        self.log_likelihood_ = solution.log_likelihood

    def _set_suspects(self, statistics: HazardStatistics) -> None:
        """Touch rate per channel within the guard before conversions over the rate in
        the guard-length window before that; suspects: ratio and Poisson ``z`` high."""
        s = statistics
        near = s.near / s.near_days if s.near_days > 0 else np.zeros(s.n_channels)
        before = s.before / s.before_days if s.before_days > 0 else np.zeros(s.n_channels)
        expected = before * s.near_days
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(s.near > 0, near / before, 0.0)
            z = (s.near - expected) / np.sqrt(expected)
        self.guard_excess_ = ratio
        suspect = (ratio >= SUSPECT_RATIO) & ~(z < SUSPECT_Z)
        self.passenger_suspects_ = tuple(s.channel_names[c] for c in np.flatnonzero(suspect))

    # ------------------------------------------------------------------ credit
    def for_credit(self) -> Hazard:
        """A copy whose ``statistics_`` keep the sums and not the converters' rows: the
        credit reads only their settings, horizon and end of data, and the rows are the
        bulk of a fitted model's memory (hundreds of MB for a million journeys)."""
        self._check_fitted("solution_")
        slim = copy.copy(self)
        slim.statistics_ = self.statistics_.without_rows()
        return slim

    def credit(self, journeys: Journeys) -> TouchCredit:
        self._check_fitted("solution_")
        if tuple(journeys.channel_names) != self.channel_names_:
            raise ValueError(
                "these journeys code channels differently from the ones the model was fitted on"
            )
        settings = self.statistics_.settings
        span = Span.of(journeys)
        end, window_end, credit_cut = span.windows(
            self.statistics_.horizon, self.statistics_.observed_until, settings.guard
        )
        n = len(self.channel_names_)
        pair_index = np.full((n, n), -1, np.int64)
        first, second = np.divmod(np.asarray(self.solution_.pairs, np.int64), n)
        pair_index[first, second] = np.arange(len(first))
        data = (
            np.asarray(journeys.offsets, np.int64),
            np.asarray(journeys.channel, np.int64),
            np.asarray(journeys.timestamp, np.int64),
            span.first,
            end,
            window_end,
            credit_cut,
            np.where(span.converted, 0, -1),
            np.asarray(journeys.weight, np.float64),
        )
        amounts = (
            np.asarray(journeys.conversions, np.float64),
            np.asarray(journeys.value, np.float64),
            self.scale_conversions_,
            self.scale_value_,
            not self.solution_.identified,
        )
        model = (
            settings.rates,
            np.ascontiguousarray(self.coefficients_),
            self.baseline_,
            pair_index,
            np.ascontiguousarray(self.pair_coefficients_),
            settings.pair_rates,
        )
        conversions, value = np.zeros(journeys.n_touches), np.zeros(journeys.n_touches)
        parallel = journeys.n_touches >= PARALLEL_TOUCHES
        kernel = removal_credit_parallel if parallel else removal_credit
        kernel(data, amounts, np.int64(settings.guard), model, (conversions, value))
        return TouchCredit(conversions, value)

    # --------------------------------------------------------------- reporting
    def channel_columns(self) -> dict[str, np.ndarray]:
        columns = {"lift": self.lift_, "guard_excess": self.guard_excess_}
        if self.reference_value_ is not None:
            columns["value_at_reference_guard"] = self.reference_value_
        return columns

    def notes(self) -> tuple[Note, ...]:
        self._check_fitted("solution_")
        names = self.channel_names_
        status = "converged" if self.converged_ else "did NOT converge"
        notes = [
            Note(
                "hazard_fit" if self.converged_ else "not_converged",
                f"additive hazard with guard {self.guard_days:g} days and horizon "
                f"{self.horizon_days_:.4g} days; {status} in {self.iterations_} Newton "
                # The gradient at convergence is rounding noise (it differs between
                # partitionings of the same data): the text names the tolerance met.
                "iterations (scaled projected gradient "
                + (
                    f"within the tolerance {self.tolerance:g}"
                    if self.converged_
                    else f"{self.gradient_norm_:.1e}, tolerance {self.tolerance:g}"
                )
                + "); baseline "
                f"{self.baseline_:.4g} conversions per day at risk. It assumes an additive "
                "hazard of decaying effects (see the documentation for when not to trust it)",
                data={
                    "guard_days": self.guard_days,
                    "horizon_days": self.horizon_days_,
                    "iterations": self.iterations_,
                    "converged": self.converged_,
                    "gradient": self.gradient_norm_,
                },
            ),
            Note(
                "lifts",
                "lift per touch (half-life mix over "
                f"{', '.join(f'{h:g}' for h in self.half_lives)} days): "
                + "; ".join(
                    f"{names[c]} {self.lift_[c]:.3g} ("
                    + "/".join(f"{100 * m:.0f}" for m in self.half_life_mix_[c])
                    + "%)"
                    for c in np.argsort(-self.lift_, kind="stable")
                ),
                data={"lift": dict(zip(names, map(float, self.lift_), strict=True))},
            ),
        ]
        pairs = ", ".join(
            f"{a} x {b} (z = {z:.1f}, lift {lift:.3g})" for a, b, z, lift in self.pairs_
        )
        notes.append(
            Note(
                "pairs",
                f"pairs: {pairs}" if pairs else "pairs: none",
                data={"pairs": [(a, b) for a, b, _, _ in self.pairs_]},
            )
        )
        if self.reference_value_ is not None:
            share = self.channel_value_ / max(self.channel_value_.sum(), 1e-300)
            reference = self.reference_value_ / max(self.reference_value_.sum(), 1e-300)
            moved = np.argsort(-np.abs(reference - share), kind="stable")[:3]
            notes.append(
                Note(
                    "reference_guard",
                    f"share at guard {self.reference_guard_days:g} days instead of "
                    f"{self.guard_days:g} (value_at_reference_guard), largest changes: "
                    + ", ".join(
                        f"{names[c]} {100 * share[c]:.1f}% -> {100 * reference[c]:.1f}%"
                        for c in moved
                    ),
                )
            )
        if self.passenger_suspects_:
            notes.append(
                Note(
                    "passenger_suspects",
                    "passenger suspects (touches in the last "
                    f"{self.statistics_.settings.suspect / NANOS_PER_DAY:g} days before "
                    f"conversions at least {SUSPECT_RATIO:g}x as frequent as in the "
                    "window before; guard_excess): "
                    + ", ".join(
                        f"{s} ({self.guard_excess_[names.index(s)]:.1f}x)"
                        for s in self.passenger_suspects_
                    ),
                    data={"channels": list(self.passenger_suspects_)},
                )
            )
        untimed = self.statistics_.untimed_conversions
        if untimed:
            notes.append(
                Note(
                    "untimed_conversions",
                    f"{untimed:,.0f} conversion(s) without converted_at: at risk until their "
                    "last touch in the fit (no event time is assumed), and every touch of "
                    "theirs is credited",
                    data={"conversions": untimed},
                )
            )
        if not self.solution_.identified:
            notes.append(
                Note(
                    "even_split",
                    "no channel effect could be estimated (no conversion with a time, no time "
                    "at risk, or no effect on any converted journey): each converted journey's "
                    "value is split equally over its channels with a touch before its cut",
                )
            )
        return tuple(notes)


def _require_times(journeys: Journeys) -> None:
    if not journeys.has_times:
        raise ModelNotApplicable("hazard needs touch timestamps; path tables have none")


def _number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _positive(value: object) -> bool:
    return _number(value) and math.isfinite(value) and value > 0  # type: ignore[arg-type,operator]


def _non_negative(value: object) -> bool:
    return _number(value) and math.isfinite(value) and value >= 0  # type: ignore[arg-type,operator]


def _whole(value: object, least: int) -> bool:
    if not (_number(value) and math.isfinite(value)):  # type: ignore[arg-type]
        return False
    return float(value) == int(value) and int(value) >= least  # type: ignore[arg-type,call-overload]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0
