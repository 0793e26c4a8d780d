"""``shapley``: channels as players of a cooperative game, credited their Shapley value.

    φ_i = Σ_{S ⊆ N - {i}} |S|! (n - |S| - 1)! / n! · (v(S + i) - v(S)).

The characteristic function ``v`` is the modelling choice (``game``):

- ``"presence"`` (default): ``v(S)`` is what a fitted model says the converted journeys
  would have kept with only the channels in ``S``. For journey ``j`` with channels
  ``T_j``, amount ``s_j`` (its conversions, or its value) and ``P_j(U)`` the model's
  probability that it converts with only ``U ⊆ T_j`` kept,

      v(S) = Σ_j s_j (P_j(S ∩ T_j) - P_j(∅)) / (P_j(T_j) - P_j(∅)),

  under the fitted :class:`~attribution.models.presence.Presence` model (or
  ``game_model``: any fitted model with an additive cumulative hazard over channels,
  :mod:`attribution.models.shapley_game`). *Efficiency*: ``v(all) = `` the creditable
  total exactly and ``v(∅) = 0``, so the values sum to the conversions (value) of the
  converted journeys with touches, and each journey's credits to its own amount: the
  baseline ``P_j(∅)`` (what the model says would have converted without any tracked
  touch) is no channel's, so each journey's amount is shared by its channels in
  proportion to what they add. The model's effects are ``>= 0``, so ``P_j`` grows with
  ``U`` and no channel gets negative credit. Each journey's game is solved exactly in
  closed form (:mod:`attribution.kernels.shapley_exposure`), at any number of channels;
  its channel credit is split over the channel's touches in proportion to their
  contribution to the model's hazard.
- ``"observed_rates"``: every journey keeps the observed conversion rate of the
  channels it would have left, ``v(S) = Σ_T n(T) r(T ∩ S)`` over observed channel sets
  (:mod:`attribution.models.shapley_rates`). It takes journey data at face value and
  inherits its biases (non-converters collect touches longer; passengers look like
  causes): on the bundled fixture six channels get negative pipeline. Exact up to
  ``exact_limit`` active channels, sampled above.

Parameters of the observed-rate game (``unobserved``, ``smoothing``, ``exact_limit``,
``sampling``, ``tolerance``, ``max_permutations``, ``seed``, ``exact_method``) are
ignored by the model-based game, which is exact.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal

import numpy as np

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.models.base import (
    AttributionModel,
    ReplicateColumns,
    TouchCredit,
    clone,
    same_model,
)
from attribution.models.coalitions import CoalitionCounts
from attribution.models.presence import Presence, exposure_replicate_sums
from attribution.models.shapley_game import ExposureModel, exposure_credit
from attribution.models.shapley_rates import (
    MAX_EXACT_LIMIT,
    UNOBSERVED_RULES,
    ExactMethod,
    RateGameFit,
    RateGameSettings,
    Sampling,
    Unobserved,
    fit_rate_game,
    rate_game_credit,
    rate_split_keys,
    rate_split_rates,
)
from attribution.notes import Note
from attribution.seeds import check_seed

Game = Literal["presence", "observed_rates"]
GAMES: tuple[Game, ...] = ("presence", "observed_rates")
#: The parameters of the observed-rate game (an error to set under the presence game).
RATE_GAME_PARAMETERS = (
    "unobserved",
    "smoothing",
    "exact_limit",
    "sampling",
    "tolerance",
    "max_permutations",
    "seed",
    "exact_method",
)


class Shapley(AttributionModel):
    """Shapley values of a game over channels (see the module docstring).

    Parameters: ``game`` (``"presence"`` or ``"observed_rates"``), ``game_model`` (for
    the model-based game: an unfitted model providing
    :class:`~attribution.models.shapley_game.ExposureModel`; ``None``:
    ``Presence()``), and for the observed-rate game ``unobserved``, ``smoothing``,
    ``exact_limit`` (<= 30), ``sampling``, ``tolerance``, ``max_permutations``, ``seed``
    and ``exact_method`` (see :mod:`attribution.models.shapley_rates`).

    Learned: ``game_`` (the game played); ``converged_`` (exact values, or the
    sampler's stopping rule met), ``n_permutations_`` (per sampled channel set; 0 when
    exact), ``standard_error_`` and ``standard_error_conversions_`` (per channel code;
    0 when exact), ``method_``. Model-based game: ``game_model_`` (the fitted model).
    Observed rates: ``rate_game_`` (the solved game), ``shapley_conversions_`` and
    ``shapley_value_`` (per channel code), ``counts_``.
    """

    name = "shapley"
    learns: ClassVar[bool] = True
    #: The observed-rate game credits journeys that did not convert (zero-sum vectors of
    #: channel sets that never converted); the model-based game gives them nothing.
    credits_converted_only: ClassVar[bool] = False

    def __init__(
        self,
        game: Game = "presence",
        game_model: AttributionModel | None = None,
        unobserved: Unobserved = "mean_subsets",
        smoothing: float = 0.0,
        exact_limit: int = 24,
        sampling: Sampling = "allow",
        tolerance: float = 1e-3,
        max_permutations: int = 4096,
        seed: int = 0,
        exact_method: ExactMethod = "auto",
    ) -> None:
        self.game = game
        self.game_model = game_model
        self.unobserved = unobserved
        self.smoothing = smoothing
        self.exact_limit = exact_limit
        self.sampling = sampling
        self.tolerance = tolerance
        self.max_permutations = max_permutations
        self.seed = seed
        self.exact_method = exact_method

    def _check_params(self) -> None:
        if self.game not in GAMES:
            raise ParameterError(f"game must be one of {', '.join(GAMES)}, got {self.game!r}")
        if self.game == "presence":
            # The model-based game is exact in closed form: the observed-rate game's
            # options would be silently ignored, so setting one is an error.
            defaults = {
                name: parameter.default
                for name, parameter in inspect.signature(Shapley.__init__).parameters.items()
                if name in RATE_GAME_PARAMETERS
            }
            given = [name for name, default in defaults.items() if getattr(self, name) != default]
            if given:
                raise ParameterError(
                    f"{', '.join(given)}: option(s) of the observed-rate game "
                    "(game='observed_rates'), not of the presence game (exact in closed form)"
                )
        elif self.game_model is not None:
            raise ParameterError("game_model applies to the model-based game (game='presence')")
        if self.game_model is not None and not isinstance(self.game_model, ExposureModel):
            raise ParameterError(
                f"game_model must be a model that splits its hazard by channel "
                f"(exposure_terms), got {type(self.game_model).__name__}"
            )
        if self.unobserved not in UNOBSERVED_RULES:
            raise ParameterError(
                f"unknown rule for unobserved coalitions {self.unobserved!r}; "
                f"choose from {', '.join(UNOBSERVED_RULES)}"
            )
        if not (_is_number(self.smoothing) and self.smoothing >= 0):
            raise ParameterError(f"smoothing must be a number >= 0, got {self.smoothing!r}")
        if not (_is_integer(self.exact_limit) and 0 <= self.exact_limit <= MAX_EXACT_LIMIT):
            raise ParameterError(
                f"exact_limit must be an integer from 0 to {MAX_EXACT_LIMIT}, "
                f"got {self.exact_limit!r}"
            )
        if self.sampling not in ("allow", "forbid"):
            raise ParameterError(f"sampling must be 'allow' or 'forbid', got {self.sampling!r}")
        if not (_is_number(self.tolerance) and self.tolerance > 0):
            raise ParameterError(f"tolerance must be a positive number, got {self.tolerance!r}")
        if not (_is_integer(self.max_permutations) and self.max_permutations >= 4):
            raise ParameterError(
                f"max_permutations must be an integer >= 4, got {self.max_permutations!r}"
            )
        check_seed(self.seed)
        if self.exact_method not in ("auto", "dense", "per_set"):
            raise ParameterError(
                f"exact_method must be 'auto', 'dense' or 'per_set', got {self.exact_method!r}"
            )

    def _new_game_model(self) -> AttributionModel:
        """An unfitted copy of ``game_model`` (the parameter is never fitted in place)."""
        model = self.game_model if self.game_model is not None else Presence()
        return type(model)(**model.get_params())

    # ----------------------------------------------------------------- fitting
    def statistics(self, journeys: Journeys) -> Any:
        """The game model's statistics, or the coalition counts of the observed rates."""
        self._check_params()
        if self.game == "observed_rates":
            return CoalitionCounts.of(journeys)
        return self._new_game_model().statistics(journeys)

    def replicate_columns(
        self, journeys: Journeys, context: Any, statistics: Any
    ) -> ReplicateColumns | None:
        """The replicate columns of the coalition counts (observed rates) or of the game
        model's statistics (model-based game)."""
        if self.game == "observed_rates":
            return statistics.replicate_columns(journeys)
        return self._new_game_model().replicate_columns(journeys, context, statistics)

    def fit_statistics(self, statistics: Any) -> Shapley:
        self._check_params()
        self.game_ = self.game
        if self.game == "observed_rates":
            fit = fit_rate_game(statistics, self._rate_settings())
            self.rate_game_ = fit
            self.counts_ = fit.counts
            self.shapley_conversions_ = fit.shapley_conversions
            self.shapley_value_ = fit.shapley_value
            self.standard_error_ = fit.standard_error
            self.standard_error_conversions_ = fit.standard_error_conversions
            self.converged_ = fit.converged
            self.n_permutations_ = fit.n_permutations
            self.method_ = fit.method
            return self
        return self._with_game_model(self._new_game_model().fit_statistics(statistics))

    def inner_model(self) -> AttributionModel | None:
        """The game model under the model-based game (None for observed rates)."""
        return None if self.game == "observed_rates" else self._new_game_model()

    def fit_on_inner(self, fitted: AttributionModel) -> Shapley:
        """This model on its game model ``fitted`` on its statistics (model-based game).
        The game model is a copy: ``fitted`` (the run's own model, perhaps the caller's
        object) may be refitted later without changing this model."""
        self._check_params()
        if self.game == "observed_rates" or not same_model(fitted, self._new_game_model()):
            raise ValueError(f"{fitted!r} is not this model's game model")
        self.game_ = self.game
        return self._with_game_model(copy.copy(fitted))

    def fit_replicate(self, statistics: Any) -> Shapley:
        """A bootstrap replicate's model; under the model-based game its game model is
        the data's game model's replicate (:meth:`AttributionModel.fit_replicate`: a
        fit warm-started from the data's)."""
        self._check_fitted("game_")
        if self.game_ == "observed_rates":
            return super().fit_replicate(statistics)
        replicate = clone(self)
        replicate._check_params()
        replicate.game_ = self.game_
        return replicate._with_game_model(self.game_model_.fit_replicate(statistics))

    def _with_game_model(self, model: Any) -> Shapley:
        self.game_model_ = model
        n_channels = len(model.channel_names_)
        self.standard_error_ = np.zeros(n_channels)
        self.standard_error_conversions_ = np.zeros(n_channels)
        self.converged_ = True
        self.n_permutations_ = 0
        self.method_ = "exact"
        return self

    def _rate_settings(self) -> RateGameSettings:
        return RateGameSettings(
            unobserved=self.unobserved,
            smoothing=float(self.smoothing),
            exact_limit=int(self.exact_limit),
            sampling=self.sampling,
            tolerance=float(self.tolerance),
            max_permutations=int(self.max_permutations),
            seed=int(self.seed),
            exact_method=self.exact_method,
        )

    # ----------------------------------------------------------------- credit
    def credit(self, journeys: Journeys) -> TouchCredit:
        self._check_fitted("game_")
        if self.game_ == "observed_rates":
            return rate_game_credit(self.rate_game_, journeys)
        model: Any = self.game_model_
        return exposure_credit(model.exposure_terms(journeys), journeys, shapley=True).credit

    def split_amounts(self, journeys: Journeys) -> np.ndarray | None:
        """Under the observed-rate game, each journey's value and weight (the bases of
        :func:`~attribution.models.shapley_rates.rate_split_rates`); the model-based game's
        credit has no such form (None)."""
        self._check_fitted("game_")
        if self.game_ != "observed_rates":
            return None
        return np.stack(
            (np.asarray(journeys.value, np.float64), np.asarray(journeys.weight, np.float64)),
            axis=1,
        )

    def split_keys(self, journeys: Journeys) -> tuple[np.ndarray, int]:
        """Observed-rate game: a touch's key is its journey's coalition and its channel."""
        self._check_fitted("rate_game_")
        return rate_split_keys(self.counts_, journeys)

    def split_rates(self, keyed_like: AttributionModel | None = None) -> np.ndarray:
        self._check_fitted("rate_game_")
        like = self if keyed_like is None else keyed_like
        if not isinstance(like, Shapley):
            raise TypeError(f"rates keyed like {type(like).__name__}, not a shapley model")
        like._check_fitted("rate_game_")
        return rate_split_rates(self.rate_game_, like.counts_.masks)

    def for_credit(self) -> Shapley:
        """Under the model-based game, a copy whose game model keeps only what its credit
        reads (:meth:`AttributionModel.for_credit`); the observed-rate game's credit reads
        its whole solved game."""
        self._check_fitted("game_")
        if self.game_ == "observed_rates":
            return self
        slim = copy.copy(self)
        slim.game_model_ = self.game_model_.for_credit()
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
        """Under the model-based game with a :class:`Presence` game model, every
        replicate's credit in one pass (:func:`~attribution.models.presence.
        exposure_replicate_sums` with Shapley values); else None."""
        self._check_fitted("game_")
        # Presence itself (a subclass may credit otherwise).
        if self.game_ == "observed_rates" or type(self.game_model_) is not Presence:
            return None
        games = [None if m is None else m.game_model_ for m in replicates]  # type: ignore[attr-defined]
        return exposure_replicate_sums(
            games, journeys, rows, factors, groups, n_columns, shapley=True
        )

    # ----------------------------------------------------------------- reporting
    def channel_columns(self) -> dict[str, np.ndarray]:
        self._check_fitted("game_")
        if self.n_permutations_ == 0:
            return {}
        return {
            "std_error": self.standard_error_,
            "std_error_conversions": self.standard_error_conversions_,
        }

    def notes(self) -> tuple[Note, ...]:
        self._check_fitted("game_")
        if self.game_ == "observed_rates":
            return self._rate_notes(self.rate_game_)
        model = self.game_model_
        game = Note(
            "model_game",
            f"game v(S) = sum over converted journeys j of s_j (P_j(S) - P_j(none)) / "
            f"(P_j(all) - P_j(none)), P_j the fitted {model.name} model's conversion "
            "probability with only the channels in S kept; v(all) = creditable total, "
            "v(empty) = 0; exact per journey (closed form)",
        )
        inner = tuple(
            replace(note, message=f"{model.name} game model: {note.message}")
            for note in model.notes()
        )
        return (game, *inner)

    def _rate_notes(self, fit: RateGameFit) -> tuple[Note, ...]:
        counts = fit.counts
        notes = [
            Note(
                "rate_game",
                "game v(S) = sum over observed channel sets T of n(T) x rate(T ∩ S) (conversions "
                "and value per journey); v(all) = creditable total, v(empty) = 0; unobserved "
                f"coalitions: rule '{self.unobserved}', smoothing {self.smoothing:g}; observed "
                "rates are biased by exposure (non-converters collect touches longer) and by "
                "passengers",
            ),
            Note("rate_game_solution", fit.detail),
        ]
        negative = [counts.channel_names[c] for c in np.flatnonzero(fit.shapley_value < 0)]
        if negative:
            notes.append(
                Note(
                    "negative_credit",
                    f"negative credit (reported, not clipped) for {len(negative)} "
                    "channel(s): " + ", ".join(negative),
                    data={"channels": negative},
                )
            )
        never = counts.value == 0
        if never.any():
            weights = np.repeat(counts.journeys * never, np.diff(fit.member_offsets))
            moved = float(np.abs(weights * fit.phi_value).sum()) / 2
            if moved > 0:
                notes.append(
                    Note(
                        "never_converted_sets",
                        f"channel sets that never converted move {moved:,.6g} of value "
                        "between channels (zero-sum per journey, carried by those journeys' "
                        "touches)",
                        data={"value": moved},
                    )
                )
        return tuple(notes)


def _is_integer(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.number)) and bool(np.isfinite(value))
