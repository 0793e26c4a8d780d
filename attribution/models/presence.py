"""``presence``: a regression of conversion on channel exposure, step by step along the
path, for path tables (and for touch tables, ignoring times).

**Why steps, not paths.** A regression of each path's conversion on the channels it
contains is biased beyond use on journey data: a converted journey stops at its
conversion, a journey that did not convert keeps collecting touches until the data
ends, so channels common late in journeys look harmful (on the simulator's
``independent`` path table every channel but one has a lower conversion rate with it
than without it, and a prototype of such a model had a share error of 0.84 there,
against 0.085 for this one). ``presence`` therefore models each
*step* of the path (a discrete-time survival model, the step index standing in for
time): after each touch the journey either converts before the next touch or lives on.
The non-converters' late touches are then compared with converters at the same point,
not with converters that had already stopped.

**The model.** Step ``k`` of a journey (the time after its touch ``k``) converts with
probability ``1 - exp(-λ_k)``, an additive cumulative hazard:

    λ_k = b + Σ_{c present} β_c + Σ_{c recent} ρ_c + Σ_{selected pairs both present} δ_ab,

where a channel is *present* in step ``k`` when one of the touches ``1 .. k - g`` is of it
and *recent* when one of the last ``m`` of them is (``g = guard_steps``, default 1;
``m = recent_steps``, default 3). ``b`` is the baseline per step, ``β`` the lasting
effect of having met a channel, ``ρ`` its short-lived extra effect, ``δ`` a pair's
effect beyond its two channels. All effects are ``>= 0``. Pairs are selected by a score
test (``z > pair_z``, at most ``max_pairs``) or given. Fit and selection:
:mod:`attribution.models.presence_fit`; statistics: the counts per step pattern
(:mod:`attribution.models.presence_statistics`), which merge across partitions.

**Modelling choices, each measured** on path tables made from the simulator's seven
scenarios (``python -m benchmarks.accuracy_paths --variants``: 20,000 journeys, seeds 1
and 2, paths up to each conversion; mean share error over scenarios, lower is better;
the defaults give 0.161, the best rule model 0.333, ``markov`` 0.363):

- *The guard*: a touch starts to count one step after it happens, so the touch right
  before a conversion cannot take the credit for it. Without the guard a passenger
  closer (a visit booked because the deal is already closing) takes most of the credit:
  0.283 at ``g = 0`` (``last_touch_trap`` 0.670), 0.161 at 1, 0.193 at 2 (which also
  hides real closers).
- *Recency*: the ``ρ`` terms stand in for effects that fade: 0.167 without, 0.161 with
  ``m = 3`` (0.162 at 2 and at 5); they matter most where effects are short
  (``independent`` 0.107 without, 0.085 with).
- *Pairs*: 0.161 with the score-test selection, 0.153 without pairs. The pairs found
  are the true ones (``synergy``: ``sdr_call+webinar`` z 12.9, ``paid_search+
  paid_social`` z 7.2), and the model with them fits better, but the simulator's truth
  credits *both* channels of a pair with the pair's whole effect, while a conserving
  model shares it (half each), so on ``synergy`` the share error rises from 0.085 to
  0.123. The selection is kept as the default because it is the better model; use
  ``pairs="none"`` to compare with that truth convention.
- The penalty (``penalty = 1``, a prior of variance 1 on each effect) changes nothing at
  20,000 journeys (0.161 at 30); it keeps the fit unique when a channel is rare.
- Measured on a prototype before this implementation (same data; not in the
  repository): the additive link against a per-step logistic regression, 0.227 against
  0.258 (no recency terms, shares scaled to the total); saturating counts (a channel's
  second and third touch adding less and less) added nothing (0.148 against 0.149), so
  they are not part of the model; shares within each path 0.149 against 0.175 for
  scaling the summed removal effects to the total (it also makes the model conserve
  journey by journey). The additive link is also what splits the model's predictions
  by channel (:mod:`attribution.models.shapley_game`), so the model-based Shapley game
  has an exact closed form.

**Credit.** For a converted path the fitted cumulative hazard over its ``n`` steps is
``L = b·n + Σ_c R_c + Σ R_ab``, with ``R_c = β_c N_c + ρ_c M_c`` (``N_c``, ``M_c`` the steps
with ``c`` present and recent) and ``R_ab = δ_ab N_ab``. Removing channel ``c``'s touches
(the steps stay: the time still passes) removes ``D_c = R_c + Σ_{pairs ∋ c} R_ab``, and
the probability that the conversion would not have happened without ``c`` is

    q_c = 1 - P(L - D_c) / P(L) = e^{-(L - D_c)} (1 - e^{-D_c}) / (1 - e^{-L}).

The path's conversions and value are split over its channels in proportion to ``q_c``
(a path whose channels all have ``q = 0``, e.g. one touch hidden by the guard, is split
evenly over its channels; the notes of the reconciliation say how much), and a
channel's share over its touches in proportion to each touch's contribution to ``D_c``
(the first touch of a channel holds its presence part and half of its pairs' parts,
each touch the recency steps in which it is the channel's newest touch). So every
converted journey is credited exactly its own value, and every roll-up works.

**When not to trust it.** No observational model tells a passenger *opener* (a touch
caused by the buyer's intent, e.g. a brand search by someone already in-market) from a
cause: on the simulator's ``first_touch_trap`` this model credits it and is worse than
``last_touch`` (0.353 against 0.253). A path table that holds touches *after* the
conversion (deal-stage meetings, say) breaks the guard: they look like the last touches
before it, and on the ``b2b`` preset's raw path table the share error is 0.735 (0.176
on the paths up to each conversion). Steps are a proxy for time; with real timestamps
the ``hazard`` model uses them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal

import numpy as np

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.kernels.presence import journey_terms, pattern_rows
from attribution.kernels.presence_replicates import replicate_credit_sums
from attribution.models.base import AttributionModel, ReplicateColumns, TouchCredit, clone
from attribution.models.presence_fit import ROUNDING, PresenceFit, fit_presence
from attribution.models.presence_statistics import StepCounts
from attribution.models.shapley_game import ExposureTerms, credited_journeys, exposure_credit
from attribution.notes import Note

PairsOption = Literal["auto", "none"] | Sequence[tuple[str, str]]


class Presence(AttributionModel):
    """Step-wise additive-hazard regression of conversion on channel exposure (see the
    module docstring).

    Parameters: ``guard_steps`` (g >= 0), ``recent_steps`` (m >= 0; 0: no recency
    terms), ``penalty`` (>= 0), ``pairs`` (``"auto"``: selected by the score test;
    ``"none"``; or channel-name pairs), ``max_pairs``, ``pair_z`` (selection
    threshold), ``max_iterations`` and ``tolerance`` (of the projected Newton fit, on
    the largest projected gradient of the log-likelihood per conversion).

    Learned: ``statistics_``, ``channel_names_``, ``baseline_`` (``b``, per step),
    ``presence_effects_`` (``β``) and ``recent_effects_`` (``ρ``) by channel code,
    ``pairs_`` (channel-name pairs), ``pair_effects_`` (``δ``), ``pair_z_`` (the score
    test's ``z`` when each pair was selected; ``nan`` for given pairs),
    ``log_likelihood_``, ``converged_`` (``converged_at_rounding_``: by the rounding rule,
    not the tolerance), ``n_iterations_``, ``gradient_norm_``,
    ``presence_fit_`` (the fit, with the parameters of each stage of the selection).
    """

    name = "presence"
    learns: ClassVar[bool] = True

    def __init__(
        self,
        guard_steps: int = 1,
        recent_steps: int = 3,
        penalty: float = 1.0,
        pairs: PairsOption = "auto",
        max_pairs: int = 10,
        pair_z: float = 4.0,
        max_iterations: int = 200,
        tolerance: float = 1e-8,
    ) -> None:
        self.guard_steps = guard_steps
        self.recent_steps = recent_steps
        self.penalty = penalty
        self.pairs = pairs
        self.max_pairs = max_pairs
        self.pair_z = pair_z
        self.max_iterations = max_iterations
        self.tolerance = tolerance

    def _check_params(self) -> None:
        for name in ("guard_steps", "recent_steps", "max_pairs"):
            value = getattr(self, name)
            if not _is_integer(value) or value < 0:
                raise ParameterError(f"{name} must be an integer >= 0, got {value!r}")
        if not _is_integer(self.max_iterations) or self.max_iterations < 1:
            raise ParameterError(
                f"max_iterations must be an integer >= 1, got {self.max_iterations!r}"
            )
        for name in ("penalty", "pair_z"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (isinstance(self.tolerance, (int, float)) and 0 < self.tolerance < np.inf):
            raise ParameterError(f"tolerance must be a positive number, got {self.tolerance!r}")
        if isinstance(self.pairs, str):
            if self.pairs not in ("auto", "none"):
                raise ParameterError(
                    f"pairs must be 'auto', 'none' or a list of channel pairs, got {self.pairs!r}"
                )
        elif not all(
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and all(isinstance(name, str) for name in pair)
            and pair[0] != pair[1]
            for pair in self.pairs
        ):
            raise ParameterError(
                "pairs must be 'auto', 'none' or a list of pairs of two different channel "
                f"names, got {self.pairs!r}"
            )

    # ----------------------------------------------------------------- fitting
    def statistics(self, journeys: Journeys) -> StepCounts:
        """Step-pattern counts of a partition of whole journeys."""
        self._check_params()
        return StepCounts.of(journeys, int(self.guard_steps), int(self.recent_steps))

    def replicate_columns(
        self, journeys: Journeys, context: Any, statistics: StepCounts
    ) -> ReplicateColumns | None:
        """Every replicate's step-pattern counts at once: each count is a sum over
        journeys of the journey's weight (value) per step, so a replicate's are the same
        sums weighted by its factors (:func:`pattern_rows`), over the data's patterns (a
        replicate's are among them; those it never lives through are left out, as
        counting the replicate leaves them out)."""
        if tuple(journeys.channel_names) != statistics.channel_names:
            return None
        n_patterns = len(statistics.present)
        channel = np.ascontiguousarray(journeys.channel)
        offsets = np.ascontiguousarray(journeys.offsets, dtype=np.int64)
        converted = np.ascontiguousarray(journeys.converted, dtype=np.bool_)
        weight = np.ascontiguousarray(journeys.weight, dtype=np.float64)
        value = np.ascontiguousarray(journeys.value, dtype=np.float64)
        guard, recent = int(statistics.guard), int(statistics.recent_steps)

        def rows(a: int, z: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return pattern_rows(
                channel, offsets[a : z + 1], converted[a:z], weight[a:z], value[a:z],
                guard, recent, statistics.present, statistics.recent,
            )  # fmt: skip

        def replicate(sums: np.ndarray) -> StepCounts:
            at_risk = sums[:n_patterns]
            conversions = sums[n_patterns : 2 * n_patterns]
            kept = (at_risk != 0) | (conversions != 0)
            return StepCounts(
                guard=statistics.guard,
                recent_steps=statistics.recent_steps,
                channel_names=statistics.channel_names,
                present=statistics.present[kept],
                recent=statistics.recent[kept],
                at_risk=at_risk[kept],
                conversions=conversions[kept],
                conversion_value=sums[2 * n_patterns : 3 * n_patterns][kept],
                journeys=float(sums[3 * n_patterns]),
            )

        per_journey = journeys.n_touches / max(journeys.n_journeys, 1)
        return ReplicateColumns(3 * n_patterns + 1, rows, 3 + per_journey, replicate)

    def fit_statistics(self, statistics: StepCounts) -> Presence:
        return self._fit_counts(statistics, None)

    def fit_replicate(self, statistics: StepCounts) -> Presence:
        """A bootstrap replicate's model, its fit warm-started from this one's (fitted on
        the data): each stage of the pair selection starts from the data's same stage
        (the same convex problem, solved to the same tolerance as a cold fit)."""
        self._check_fitted("presence_fit_")
        return clone(self)._fit_counts(statistics, self.presence_fit_)

    def _fit_counts(self, statistics: StepCounts, warm: PresenceFit | None) -> Presence:
        self._check_params()
        if (statistics.guard, statistics.recent_steps) != (self.guard_steps, self.recent_steps):
            raise ValueError(
                f"statistics made with guard_steps={statistics.guard}, recent_steps="
                f"{statistics.recent_steps} do not match this model (guard_steps="
                f"{self.guard_steps}, recent_steps={self.recent_steps})"
            )
        names = statistics.channel_names
        fit = fit_presence(
            statistics,
            penalty=float(self.penalty),
            pairs=self._pair_codes(names),
            max_pairs=int(self.max_pairs),
            pair_z=float(self.pair_z),
            max_iterations=int(self.max_iterations),
            tolerance=float(self.tolerance),
            warm=warm,
        )
        c = statistics.n_channels
        self.statistics_ = statistics
        self.presence_fit_ = fit
        self.channel_names_ = names
        self.baseline_ = float(fit.theta[0])
        self.presence_effects_ = fit.theta[1 : 1 + c].copy()
        self.recent_effects_ = fit.theta[1 + c : 1 + 2 * c].copy()
        self.pairs_ = tuple((names[a], names[b]) for a, b in fit.pairs)
        self.pair_codes_ = np.array(fit.pairs, np.int64).reshape(-1, 2)
        self.pair_effects_ = fit.theta[1 + 2 * c :].copy()
        self.pair_z_ = fit.pair_z
        self.log_likelihood_ = fit.log_likelihood
        self.converged_ = fit.converged
        self.converged_at_rounding_ = fit.at_rounding
        self.n_iterations_ = fit.n_iterations
        self.gradient_norm_ = fit.gradient_norm
        self.even_split_conversions_, self.even_split_value_ = self._without_effect(statistics)
        return self

    def _without_effect(self, statistics: StepCounts) -> tuple[float, float]:
        """Conversions and value of the converted paths that no channel explains.

        Every channel of a converted path is present in its last step (with a recency
        window, each was recent in some step), so the path's channels all have ``q = 0``
        exactly when no channel present in its last step has an effect and no selected
        pair with an effect lies inside it: a property of the step pattern its
        conversion is counted in.
        """
        effect = self.presence_effects_ > 0
        if self.recent_steps > 0:
            effect |= self.recent_effects_ > 0
        effective = np.int64(0)
        for c in np.flatnonzero(effect):
            effective |= np.int64(1) << np.int64(c)
        explained = (statistics.present & effective) != 0
        for (a, b), delta in zip(self.pair_codes_, self.pair_effects_, strict=True):
            if delta > 0:
                explained |= (statistics.present >> a & 1 == 1) & (statistics.present >> b & 1 == 1)
        return (
            float(statistics.conversions[~explained].sum()),
            float(statistics.conversion_value[~explained].sum()),
        )

    def _pair_codes(self, names: tuple[str, ...]) -> list[tuple[int, int]] | None:
        """Explicit pairs as channel codes (``a < b``), [] for "none", None for "auto"."""
        if isinstance(self.pairs, str):
            return None if self.pairs == "auto" else []
        code = {name: i for i, name in enumerate(names)}
        unknown = sorted({n for pair in self.pairs for n in pair if n not in code})
        if unknown:
            raise ParameterError(
                f"pairs names channel(s) {', '.join(map(repr, unknown))}, which the data "
                f"does not have; its channels: {', '.join(names)}"
            )
        pairs = {tuple(sorted((code[a], code[b]))) for a, b in self.pairs}
        return [(int(a), int(b)) for a, b in sorted(pairs)]

    # ------------------------------------------------------------------ credit
    def exposure_terms(self, journeys: Journeys, wanted: np.ndarray | None = None) -> ExposureTerms:
        """Each journey's fitted cumulative hazard split by channel and pair (only the
        ``wanted`` journeys' if given: the others get no members and no pairs)."""
        self._check_fitted("baseline_")
        self._check_coding(journeys)
        pairs = self.pair_codes_
        if wanted is None:
            wanted = np.ones(journeys.n_journeys, np.bool_)
        return ExposureTerms(
            *journey_terms(
                np.ascontiguousarray(journeys.channel),
                np.asarray(journeys.offsets, np.int64),
                journeys.n_channels,
                int(self.guard_steps),
                int(self.recent_steps),
                self.baseline_,
                self.presence_effects_,
                self.recent_effects_,
                np.ascontiguousarray(pairs[:, 0]),
                np.ascontiguousarray(pairs[:, 1]),
                self.pair_effects_,
                np.ascontiguousarray(wanted, dtype=np.bool_),
            )
        )

    def credit(self, journeys: Journeys) -> TouchCredit:
        """Removal-effect credit (module docstring); the terms are computed for the
        converted journeys only, the only ones credited."""
        terms = self.exposure_terms(journeys, credited_journeys(journeys))
        return exposure_credit(terms, journeys, shapley=False).credit

    def for_credit(self) -> Presence:
        """A copy without the step-pattern counts (``statistics_`` keeps its settings and
        coding, no pattern): the credit reads only the fitted parameters, and a bootstrap
        holds one such model per replicate (the counts are about 3.5 MB each at 150,000
        patterns)."""
        self._check_fitted("baseline_")
        slim = copy.copy(self)
        counts = self.statistics_
        empty = np.zeros(0, np.int64)
        slim.statistics_ = replace(
            counts,
            present=empty,
            recent=empty,
            at_risk=np.zeros(0),
            conversions=np.zeros(0),
            conversion_value=np.zeros(0),
        )
        return slim

    def replicate_credit(
        self,
        replicates: Sequence[AttributionModel | None],
        journeys: Journeys,
        rows: np.ndarray,
        factors: np.ndarray,
        groups: np.ndarray,
        n_columns: int,
    ) -> np.ndarray | None:
        """Every replicate's removal-effect credit in one pass
        (:func:`exposure_replicate_sums`; None for a subclass, which may credit otherwise)."""
        if type(self) is not Presence:
            return None
        return exposure_replicate_sums(
            replicates, journeys, rows, factors, groups, n_columns, shapley=False
        )

    def _check_coding(self, journeys: Journeys) -> None:
        if tuple(journeys.channel_names) != self.channel_names_:
            raise ValueError(
                "these journeys code channels differently from the statistics the presence "
                "model was fitted on; fit on statistics merged in their coding"
            )

    # --------------------------------------------------------------- reporting
    def channel_columns(self) -> dict[str, np.ndarray]:
        self._check_fitted("baseline_")
        return {"presence_effect": self.presence_effects_, "recent_effect": self.recent_effects_}

    def _stop(self) -> str:
        """Why the fit stopped: ``tolerance``, ``rounding`` or ``iterations``."""
        if not self.converged_:
            return "iterations"
        return "rounding" if self.converged_at_rounding_ else "tolerance"

    def _stop_text(self) -> str:
        # The gradient at convergence is rounding noise (it differs between partitionings
        # of the same data): a converged fit's text names the rule met, not the gradient.
        stop = self._stop()
        if stop == "iterations":
            return (
                f"projected gradient {self.gradient_norm_:.1e} per conversion, "
                f"tolerance {self.tolerance:g}"
            )
        if stop == "rounding":
            return (
                f"no decrease of the objective beyond {ROUNDING:g} of its value, the "
                f"projected gradient per conversion above the tolerance {self.tolerance:g}"
            )
        return f"projected gradient per conversion within the tolerance {self.tolerance:g}"

    def notes(self) -> tuple[Note, ...]:
        self._check_fitted("baseline_")
        names = self.channel_names_
        without = [
            names[c]
            for c in range(len(names))
            if self.presence_effects_[c] == 0 and self.recent_effects_[c] == 0
        ]
        pairs = ", ".join(
            f"{a}+{b} (δ {effect:.3g}" + ("" if np.isnan(z) else f", z {z:.1f}") + ")"
            for (a, b), effect, z in zip(self.pairs_, self.pair_effects_, self.pair_z_, strict=True)
        )
        notes = [
            Note(
                "presence_fit",
                f"step-wise additive hazard (guard {self.guard_steps} step(s), recency "
                f"{self.recent_steps} step(s)): baseline {self.baseline_:.4g} per step; "
                f"pairs: {pairs or 'none'}; channels without effect: "
                f"{', '.join(without) or 'none'}",
                data={"pairs": list(self.pairs_), "without_effect": without},
            ),
            Note(
                "converged" if self.converged_ else "not_converged",
                f"fit {'converged' if self.converged_ else 'did NOT converge'} after "
                f"{self.n_iterations_} projected Newton iterations ({self._stop_text()}); "
                f"log-likelihood {self.log_likelihood_:.6g}",
                data={
                    "iterations": self.n_iterations_,
                    "gradient": self.gradient_norm_,
                    "stop": self._stop(),
                },
            ),
        ]
        if self.even_split_conversions_ > 0:
            notes.append(
                Note(
                    "even_split",
                    f"{self.even_split_conversions_:,.6g} converted journey(s) worth "
                    f"{self.even_split_value_:,.6g} have no channel with an effect in them "
                    "(e.g. their only touch is within the guard): each is split evenly over "
                    "its channels",
                    data={
                        "conversions": self.even_split_conversions_,
                        "value": self.even_split_value_,
                    },
                )
            )
        return tuple(notes)


def _is_integer(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def exposure_replicate_sums(
    replicates: Sequence[AttributionModel | None],
    journeys: Journeys,
    rows: np.ndarray,
    factors: np.ndarray,
    groups: np.ndarray,
    n_columns: int,
    *,
    shapley: bool,
) -> np.ndarray:
    """The value that each replicate's fitted :class:`Presence` model (``None``: a
    replicate that could not be fitted, whose sums are NaN) credits to every column, its
    exposure game solved by Shapley values (``shapley``) or removal effects, over
    ``journeys`` (the credited journeys, coded like the models) drawn by ``factors``
    (``rows`` x replicates; ``rows``: the journeys with a value to credit). ``groups``:
    each touch's column in every roll-up. One pass for all replicates
    (:func:`~attribution.kernels.presence_replicates.replicate_credit_sums`)."""
    count = len(replicates)
    n_channels = journeys.n_channels
    baseline = np.zeros(count)
    presence_effect = np.zeros((count, n_channels))
    recent_effect = np.zeros((count, n_channels))
    pair_effect = np.zeros((count, n_channels, n_channels))
    valid = np.zeros(count, np.bool_)
    guard = recent = -1
    for r, model in enumerate(replicates):
        if model is None:
            continue
        if type(model) is not Presence:
            raise TypeError(f"one-pass replicate credit of Presence, not {type(model).__name__}")
        model._check_fitted("baseline_")
        model._check_coding(journeys)
        guard, recent = int(model.guard_steps), int(model.recent_steps)
        valid[r] = True
        baseline[r] = model.baseline_
        presence_effect[r] = model.presence_effects_
        recent_effect[r] = model.recent_effects_
        for (a, b), effect in zip(model.pair_codes_, model.pair_effects_, strict=True):
            pair_effect[r, min(a, b), max(a, b)] = effect
    if not valid.any():
        return np.full((count, n_columns), np.nan)
    sums = replicate_credit_sums(
        np.ascontiguousarray(journeys.channel),
        np.asarray(journeys.offsets, np.int64),
        np.ascontiguousarray(rows, dtype=np.int64),
        np.asarray(journeys.value, np.float64),
        np.ascontiguousarray(factors, dtype=np.float64),
        guard,
        recent,
        baseline,
        presence_effect,
        recent_effect,
        pair_effect,
        valid,
        np.ascontiguousarray(groups, dtype=np.int64),
        n_columns,
        shapley,
    )
    sums[~valid] = np.nan
    return sums
