"""Markov-chain attribution (Anderl et al. 2016), of any order, solved exactly.

**Chain.** States ``start``, channel states (tuples of the last ``order`` channels;
the first ``order - 1`` steps of a journey use the shorter tuples, shown as
``(start) > a``), and absorbing ``conversion`` / ``null``. Transition probabilities are
the weighted transition counts of all journeys with touches, converted or not (each
journey counts ``weight`` times). Journeys without a touch in the credit window are not
part of the chain. Details: :mod:`attribution.models.markov_chain`.

**Repeats** (``repeats``): ``"keep"`` (default) counts consecutive touches of one
channel as transitions (a self-loop at order 1, a state such as ``a > a`` at order 2);
``"collapse"`` merges them into one touch before building states. At order 1 both give
the same ``P``, removal effects and credit: the transitions between different channels
are the same, and self-loops do not change absorption probabilities. From order 2 they
differ (``keep`` remembers that a channel repeated). ChannelAttribution's
``markov_model`` drops every transition from a state to itself: at order 1 that is
``"collapse"`` (so also ``"keep"``); at order ``k >= 2`` it shortens runs of one channel
longer than ``k`` to ``k`` (its states are sliding windows), which neither option
reproduces for such runs; on paths with no consecutive repeats all three agree.

**Removal effects and credit.** ``P`` = probability of absorbing in ``conversion`` from
``start``, solved exactly (sparse LU for small chains, block BiCGSTAB for large ones;
every solution verified, see :mod:`attribution.models.markov_solver`). Removing channel
``c`` redirects every transition into a state containing ``c`` to ``null``:
``RE_c = 1 - P_-c / P``. Conversions are credited by these removal effects,

    A_c = RE_c / Σ_j RE_j × total conversions,

and value by the removal effects of the *value chain* (each conversion transition
weighted by the mean value of the conversions it leads to; ``V`` the expected value
absorbed from ``start``, ``RE^v_c = 1 - V_-c / V``):

    A^v_c = RE^v_c / Σ_j RE^v_j × total value,

so deal size matters: a channel on the paths of large deals gets a larger share of value
than of conversions. (When every conversion has the same value, ``RE^v = RE``.) Totals
are over converted journeys with touches. ``Σ_j RE_j > 0`` whenever there is a
conversion: a converting journey's first touch ``c`` has ``RE_c > 0`` (every path through
its first state is lost), so there is no division by zero; likewise ``Σ_j RE^v_j > 0``
whenever some conversion has value (if none has, value follows the conversion removal
effects). ``P`` equals the observed conversion rate of the journeys with touches and
``V`` their observed value per journey (see the chain module); both are reported in the
notes with the number of states, the solver, the residual and the backward error.

**Touch-level split** (teams, campaigns, touches). ``A_c`` is divided among the converted
journeys that contain ``c`` in proportion to their conversions, ``A^v_c`` in proportion
to their value, and within a journey equally among its touches of ``c``: the removal
effect counts a journey once however often ``c`` occurs in it. Credited conversions and
value of each channel therefore sum to ``A_c`` and ``A^v_c`` exactly, and over channels
to the totals; a converted journey's own credits need not sum to its value (the model
credits channels, not journeys), but the totals do, which is what the reconciliation
checks. Fallbacks: if the converted journeys with ``c`` have no value, value is split by
conversions; a channel with ``RE_c > 0`` but no touch in any converted journey (it leads
to states that convert without ever being in a converted journey itself) has its credit
split over its touches in the journeys that did not convert, by journey count; both are
named in the notes. The per-channel sums these rules need are part of the sufficient
statistics, so ``credit`` can run per partition after a fit on merged statistics.

**Edge cases.** A channel whose states cannot reach ``conversion`` has ``RE = 0`` and no
credit. One channel only: ``RE = 1``, it gets everything. Every journey converting:
``null`` is never reached and ``P = 1``; removal effects are still well defined. No
conversion at all: :class:`NoConversionsError`. Journeys of one touch are the walk
``start -> (c) -> conversion | null``. A chain with more than ``max_states`` transient
states: :class:`StateLimitError` naming the count.

**Compared with ChannelAttribution** (``markov_model``): the same quantity (it credits
each simulated converting path to every channel it visited, which estimates ``P - P_-c``)
estimated by simulation, so with noise; its simulated paths stop after the longest
observed path (counted as not converting). Its value credit is value-specific as here:
it draws a value per simulated conversion from the values observed at the last state,
which estimates the same value chain; its higher-order states start with the first full
window instead of the padded tuples used here, which gives the same walk distribution,
hence the same ``P`` and removal effects, on paths without repeats.

The transitions export (tables and GraphML) lives in :mod:`attribution.io.transitions`;
:meth:`Markov.transition_table` is the data.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from attribution.errors import InputError, ParameterError, Problem
from attribution.journeys import Journeys
from attribution.kernels.markov import (
    BY_CONVERSIONS,
    BY_JOURNEYS,
    BY_VALUE,
    split_credit,
    touch_state_codes,
    transition_rows,
)
from attribution.models.base import AttributionModel, ReplicateColumns, TouchCredit
from attribution.models.markov_chain import (
    CONVERSION_LABEL,
    NULL_LABEL,
    REPEATS,
    START_LABEL,
    NoConversionsError,
    Repeats,
    StateLimitError,
    TransitionCounts,
    build_chain,
    count_journeys,
    index_transitions,
    solve_chain,
    state_labels,
    state_limit_message,
)
from attribution.models.markov_solver import METHODS, SolverError, SolverMethod
from attribution.notes import Note

__all__ = [
    "Markov",
    "NoConversionsError",
    "SolverError",
    "StateLimitError",
    "TransitionCounts",
]


class Markov(AttributionModel):
    """Removal-effect credit from the absorbing Markov chain (see the module docstring).

    Parameters: ``order`` (k >= 1), ``repeats`` (``"keep"`` or ``"collapse"``),
    ``max_states`` (limit on transient states, start included), ``solver``
    (``"auto"``: sparse LU up to 200 states, block BiCGSTAB above; or ``"direct"`` /
    ``"iterative"``) and ``tolerance`` (relative residual accepted without further
    checks; see :mod:`attribution.models.markov_solver` for the backward-error rule).

    Learned: ``statistics_`` (merged :class:`TransitionCounts`), ``channel_names_``,
    ``n_states_``, ``n_live_states_`` (states that can reach conversion),
    ``conversion_probability_`` (``P``), ``conversion_rate_`` (observed),
    ``expected_value_`` (``V``), ``value_per_journey_`` (observed), ``removal_effects_``
    and ``value_removal_effects_``, ``channel_conversions_`` and ``channel_value_``
    (``A_c`` and ``A^v_c``, by channel code), ``solver_``, ``residual_`` (largest
    relative residual) and ``backward_error_`` (largest normwise backward error).
    """

    name = "markov"
    learns: ClassVar[bool] = True
    #: A channel with removal effect > 0 but no touch in a converted journey is credited
    #: on its touches in journeys that did not convert (see the module docstring).
    credits_converted_only: ClassVar[bool] = False

    def __init__(
        self,
        order: int = 1,
        repeats: Repeats = "keep",
        max_states: int = 250_000,
        solver: SolverMethod = "auto",
        tolerance: float = 1e-13,
    ) -> None:
        self.order = order
        self.repeats = repeats
        self.max_states = max_states
        self.solver = solver
        self.tolerance = tolerance

    def _check_params(self) -> None:
        if not _is_integer(self.order) or self.order < 1:
            raise ParameterError(f"markov order must be an integer >= 1, got {self.order!r}")
        if self.repeats not in REPEATS:
            raise ParameterError(
                f"markov repeats must be one of {', '.join(REPEATS)}, got {self.repeats!r}"
            )
        if not _is_integer(self.max_states) or self.max_states < 1:
            raise ParameterError(f"max_states must be an integer >= 1, got {self.max_states!r}")
        if self.solver not in METHODS:
            raise ParameterError(
                f"markov solver must be one of {', '.join(METHODS)}, got {self.solver!r}"
            )
        if not (isinstance(self.tolerance, (int, float)) and 0 < self.tolerance < np.inf):
            raise ParameterError(f"tolerance must be a positive number, got {self.tolerance!r}")

    # ----------------------------------------------------------------- fitting
    def statistics(self, journeys: Journeys) -> TransitionCounts:
        """Transition counts and per-channel sums of a partition of whole journeys."""
        self._check_params()
        return count_journeys(
            journeys, int(self.order), self.repeats == "collapse", int(self.max_states)
        )

    def fit_statistics(self, statistics: TransitionCounts) -> Markov:
        self._check_params()
        if (statistics.order, statistics.collapse) != (self.order, self.repeats == "collapse"):
            raise ValueError(
                f"statistics of order {statistics.order} (collapse={statistics.collapse}) "
                f"do not match this model (order {self.order}, repeats={self.repeats!r})"
            )
        chain = build_chain(statistics)
        if chain.n_states > self.max_states:
            raise StateLimitError(
                state_limit_message(
                    chain.n_states, int(self.max_states), int(self.order), statistics.n_channels
                )
            )
        solution = solve_chain(chain, method=self.solver, tolerance=float(self.tolerance))
        removal = solution.removal_effects
        value_removal = solution.value_removal_effects
        if not value_removal.sum() > 0:
            value_removal = removal
        self.statistics_ = statistics
        self.channel_names_ = statistics.channel_names
        self.n_states_ = chain.n_states
        self.n_live_states_ = int(chain.live.sum())
        self.conversion_probability_ = solution.probability
        self.conversion_rate_ = statistics.conversions / statistics.journeys
        self.expected_value_ = solution.expected_value
        self.value_per_journey_ = statistics.value / statistics.journeys
        self.removal_effects_ = removal
        self.value_removal_effects_ = value_removal
        self.channel_conversions_ = removal / removal.sum() * statistics.conversions
        self.channel_value_ = value_removal / value_removal.sum() * statistics.value
        self.solver_ = solution.method
        self.residual_ = solution.residual
        self.backward_error_ = solution.backward_error
        self._set_split_rates(statistics)
        return self

    def _set_split_rates(self, statistics: TransitionCounts) -> None:
        """Per-channel rate and basis of the touch split (see the module docstring)."""
        credited = self.removal_effects_ > 0
        in_converted = statistics.conversions_with > 0
        with_value = statistics.value_with > 0
        basis_conversions = np.where(in_converted, BY_CONVERSIONS, BY_JOURNEYS)
        basis_value = np.where(
            with_value, BY_VALUE, np.where(in_converted, BY_CONVERSIONS, BY_JOURNEYS)
        )
        amounts = np.stack(
            (statistics.value_with, statistics.conversions_with, statistics.weight_with)
        )
        channels = np.arange(statistics.n_channels)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate_conversions = self.channel_conversions_ / amounts[basis_conversions, channels]
            rate_value = self.channel_value_ / amounts[basis_value, channels]
        self.rate_conversions_ = np.where(credited, rate_conversions, 0.0)
        self.rate_value_ = np.where(credited & (self.channel_value_ != 0), rate_value, 0.0)
        self.basis_conversions_ = basis_conversions.astype(np.int64)
        self.basis_value_ = basis_value.astype(np.int64)
        names = statistics.channel_names
        fallbacks = {
            str(names[c]): "no touch in a converted journey"
            for c in np.flatnonzero(credited & (basis_value == BY_JOURNEYS))
        }
        fallbacks.update(
            (str(names[c]), "no value")
            for c in np.flatnonzero(
                credited & (basis_value == BY_CONVERSIONS) & (self.channel_value_ != 0)
            )
        )
        self.split_fallbacks_ = fallbacks

    def replicate_columns(
        self, journeys: Journeys, context: Any, statistics: TransitionCounts
    ) -> ReplicateColumns | None:
        """Every replicate's transition counts and per-channel sums at once: each is a sum
        over journeys of the journey's weight (value) per passage, so a replicate's are
        the same sums weighted by its factors (:func:`transition_rows`), over the data's
        transitions (a replicate's are among them; those it never takes are left out,
        as counting the replicate leaves them out)."""
        if tuple(journeys.channel_names) != statistics.channel_names:
            return None
        n_channels = statistics.n_channels
        n_keys = len(statistics.state)
        keys = statistics.state * (n_channels + 2) + statistics.symbol
        channel = np.ascontiguousarray(journeys.channel, dtype=np.int32)
        offsets = np.ascontiguousarray(journeys.offsets, dtype=np.int64)
        converted = np.ascontiguousarray(journeys.converted, dtype=np.bool_)
        weight = np.ascontiguousarray(journeys.weight, dtype=np.float64)
        value = np.ascontiguousarray(journeys.value, dtype=np.float64)
        codes = touch_state_codes(
            channel, offsets, n_channels, int(self.order), self.repeats == "collapse"
        )

        def rows(a: int, z: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return transition_rows(
                channel, offsets[a : z + 1], converted[a:z], weight[a:z], value[a:z],
                codes, keys, n_channels,
            )  # fmt: skip

        def replicate(sums: np.ndarray) -> TransitionCounts:
            count = sums[:n_keys]
            kept = count != 0
            per_channel = sums[2 * n_keys :]
            return TransitionCounts(
                order=statistics.order,
                collapse=statistics.collapse,
                channel_names=statistics.channel_names,
                state=statistics.state[kept],
                symbol=statistics.symbol[kept],
                count=count[kept],
                conversion_value=sums[n_keys : 2 * n_keys][kept],
                conversions_with=per_channel[:n_channels].copy(),
                value_with=per_channel[n_channels : 2 * n_channels].copy(),
                weight_with=per_channel[2 * n_channels : 3 * n_channels].copy(),
                value=float(per_channel[3 * n_channels]),
            )

        per_journey = journeys.n_touches / max(journeys.n_journeys, 1)
        return ReplicateColumns(
            2 * n_keys + 3 * n_channels + 1, rows, 3 + 2 * per_journey, replicate
        )

    def split_amounts(self, journeys: Journeys) -> np.ndarray:
        """The amounts of :func:`split_credit`: value and conversions of converted
        journeys, weight of every journey (the bases ``BY_VALUE``, ``BY_CONVERSIONS``,
        ``BY_JOURNEYS``)."""
        converted = journeys.converted
        return np.stack(
            (
                np.where(converted, journeys.value, 0.0),
                np.where(converted, journeys.weight, 0.0),
                np.asarray(journeys.weight, np.float64),
            ),
            axis=1,
        )

    def split_rates(self, keyed_like: AttributionModel | None = None) -> np.ndarray:
        """Per channel (every Markov model's keys), the value rate on its basis (0 on the
        other bases)."""
        self._check_fitted("rate_value_")
        rates = np.zeros((len(self.rate_value_), 3))
        rates[np.arange(len(self.rate_value_)), self.basis_value_] = self.rate_value_
        return rates

    # ------------------------------------------------------------------ credit
    def credit(self, journeys: Journeys) -> TouchCredit:
        self._check_fitted("rate_value_")
        if tuple(journeys.channel_names) != self.channel_names_:
            raise ValueError(
                "these journeys code channels differently from the ones the model was fitted on"
            )
        conversions, value = split_credit(
            np.ascontiguousarray(journeys.channel, dtype=np.int32),
            np.ascontiguousarray(journeys.offsets, dtype=np.int64),
            np.ascontiguousarray(journeys.converted, dtype=np.bool_),
            np.ascontiguousarray(journeys.weight, dtype=np.float64),
            np.ascontiguousarray(journeys.value, dtype=np.float64),
            self.rate_conversions_,
            self.basis_conversions_,
            self.rate_value_,
            self.basis_value_,
        )
        return TouchCredit(conversions, value)

    def channel_columns(self) -> dict[str, np.ndarray]:
        self._check_fitted("removal_effects_")
        return {
            "removal_effect": self.removal_effects_,
            "value_removal_effect": self.value_removal_effects_,
        }

    def notes(self) -> tuple[Note, ...]:
        self._check_fitted("solver_")
        notes = [
            Note(
                "markov_fit",
                f"order {self.order}, repeats {self.repeats}: {self.n_states_:,} transient "
                f"states ({self.n_live_states_:,} can reach conversion), solved by "
                f"{self.solver_}, largest relative residual {self.residual_:.1e} (backward "
                f"error {self.backward_error_:.1e}); P(conversion) = "
                f"{self.conversion_probability_:.6g}, observed conversion rate "
                f"{self.conversion_rate_:.6g}; expected value per journey "
                f"{self.expected_value_:.6g}, observed {self.value_per_journey_:.6g}; value "
                "credited by the value chain's removal effects",
                data={
                    "order": self.order,
                    "states": self.n_states_,
                    "solver": self.solver_,
                    "residual": self.residual_,
                    "conversion_probability": self.conversion_probability_,
                    "conversion_rate": self.conversion_rate_,
                },
            )
        ]
        for channel, reason in self.split_fallbacks_.items():
            if reason == "no value":
                notes.append(
                    Note(
                        "split_by_conversions",
                        f"{channel}: its converted journeys have no value, so its credited "
                        "value is split over its touches by conversions",
                        data={"channel": channel},
                    )
                )
            else:
                notes.append(
                    Note(
                        "split_over_unconverted",
                        f"{channel}: removal effect > 0 but no touch in a converted journey, "
                        "so its credit is split over its touches in journeys that did not "
                        "convert",
                        data={"channel": channel},
                    )
                )
        return tuple(notes)

    # ------------------------------------------------------------------ export
    def transition_table(self) -> pd.DataFrame:
        """Every observed transition: ``from_state``, ``to_state``, ``count``, ``probability``.

        ``count`` is weighted (journeys per path record); ``probability`` is ``count``
        over all transitions out of ``from_state``. Absorbing states are
        ``(conversion)`` and ``(null)``.
        """
        self._check_fitted("statistics_")
        statistics = self.statistics_
        reserved = {START_LABEL, CONVERSION_LABEL, NULL_LABEL} & set(statistics.channel_names)
        if reserved:
            raise InputError(
                Problem(
                    f"channel(s) {', '.join(sorted(map(repr, reserved)))} have the name of a "
                    "state of the chain, so the exported transitions would be ambiguous; "
                    "rename them",
                    column="channel",
                )
            )
        states, source, target = index_transitions(statistics)
        labels = np.asarray(
            [
                *state_labels(states, self.order, statistics.channel_names),
                CONVERSION_LABEL,
                NULL_LABEL,
            ],
            dtype=object,
        )
        visits = np.bincount(source, weights=statistics.count, minlength=len(states))
        return pd.DataFrame(
            {
                "from_state": labels[source],
                "to_state": labels[target],
                "count": statistics.count,
                "probability": statistics.count / visits[source],
            }
        )


def _is_integer(value: object) -> bool:
    """An integer, not a bool (``True`` is not an order)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
