"""The one interface every attribution model implements.

Per-touch credit is the common currency: a model returns, for every touch of the
journeys it is given, the conversions and the value it credits to that touch
(:class:`TouchCredit`). Every roll-up (by channel, team, campaign, any dimension) is a
sum of touch credits, so it works the same for every model.

Models follow scikit-learn's conventions:

- parameters are the arguments of ``__init__``, stored under the same names and nothing
  else (no validation, no derived or private state in ``__init__``); ``get_params`` and
  ``set_params`` read and write them, and :func:`clone` builds an unfitted copy;
- parameters are validated when the model is used (``fit``, ``fit_statistics``, and
  ``credit`` of models that learn nothing), by ``_check_params``;
- :meth:`AttributionModel.fit` returns ``self``; learned attributes end in ``_``; a model
  that learns from the data raises :class:`NotFittedError` when used before fitting.

Models that learn from the data (Markov, Shapley, hazard, ...) do so from *sufficient
statistics*: :meth:`AttributionModel.statistics` computes them on any partition of whole
journeys, partitions merge with ``merge``, and :meth:`AttributionModel.fit_statistics`
fits from the merged result; ``credit`` then runs on each partition (coded like the
statistics). Rule-based models learn nothing.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.notes import Note

StatisticsT = TypeVar("StatisticsT", bound="Statistics")
ModelT = TypeVar("ModelT", bound="AttributionModel")


class Statistics(Protocol):
    """Sufficient statistics of one partition of whole journeys."""

    def merge(self: StatisticsT, other: StatisticsT) -> StatisticsT:
        """Statistics of the union of the two partitions."""
        ...


@runtime_checkable
class SharesRows(Protocol):
    """Replicate statistics whose rows do not depend on the weights (see
    :meth:`AttributionModel.replicate_statistics`): after a merge, a replicate takes the
    merged data's rows (the same rows, in the same order) instead of its own copy."""

    def with_rows_of(self, data: Any) -> Any:
        """These statistics with ``data``'s row arrays (shared)."""
        ...


class ModelNotApplicable(ValueError):
    """The data is outside what a model can compute (no conversions, too many channels or
    states). Run with every model ("all"), the engine leaves such a model out and says
    why in the reconciliation; asked for by name, the run stops with the message."""


class NotFittedError(ValueError, AttributeError):
    """A model that learns from the data was used before it was fitted."""


@dataclass(frozen=True)
class NoStatistics:
    """The statistics of a model that learns nothing from the data."""

    def merge(self, other: NoStatistics) -> NoStatistics:
        return self


@dataclass(frozen=True)
class ReplicateColumns:
    """A model's bootstrap replicate statistics of a partition as sums linear in the
    journey weights (see :meth:`AttributionModel.replicate_columns`): ``rows(a, z)``
    gives journeys ``a .. z``'s sparse rows over ``n_columns`` columns (entry counts,
    columns, values; about ``entries_per_record`` per journey), and ``statistics(sums)``
    one replicate's statistics from the rows' sums weighted by its factors."""

    n_columns: int
    rows: Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
    entries_per_record: float
    statistics: Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class TouchCredit:
    """Conversions and value credited to each touch (aligned with the journeys' touches)."""

    conversions: np.ndarray
    value: np.ndarray


class AttributionModel(ABC):
    """Base class of all models.

    Class attributes describe how the engine treats a model's credit:

    - ``conserving``: the credits sum to the value (and conversions) of the converted
      journeys with a touch in the window, checked in the reconciliation. Rule-based
      models conserve journey by journey too; data-driven ones only in total (a Markov
      channel's credit is spread over the journeys it appears in). ``influenced`` does
      not conserve, by design.
    - ``counts_groups_once``: in a roll-up, a group (channel, team, …) receives a
      journey's credit once however many of its touches the journey has.
    - ``uses_lookback``: the model sees the lookback-windowed touches (``sourced`` does not:
      it credits the touch that opened the journey, however long ago).
    - ``needs_times``: the model needs real touch timestamps (not available for paths).
    - ``credits_converted_only``: credit only ever lands on touches of converted journeys,
      so the engine may give :meth:`credit` just those journeys (``fit`` always sees
      every journey). A model that can credit touches of journeys that did not convert
      sets it to False.
    - ``learns``: the model learns from the data, so it must be fitted before ``credit``.
    - ``linear_in_weights``: its credit of each touch is proportional to its journey's
      weight and value (no learning across journeys), so bootstrap replicates of its
      roll-ups are reweighted sums of one credit pass.
    - ``needs_configuration``: the model has no usable defaults (a custom stage model
      needs its stages), so ``all`` runs it only when its parameters are given.
    """

    name: ClassVar[str]
    conserving: ClassVar[bool] = True
    counts_groups_once: ClassVar[bool] = False
    uses_lookback: ClassVar[bool] = True
    needs_times: ClassVar[bool] = False
    credits_converted_only: ClassVar[bool] = True
    learns: ClassVar[bool] = False
    linear_in_weights: ClassVar[bool] = False
    needs_configuration: ClassVar[bool] = False

    # -------------------------------------------------------------- parameters
    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        """The parameters: the named arguments of ``__init__``."""
        if cls.__init__ is object.__init__:
            return ()
        signature = inspect.signature(cls.__init__)
        names = []
        for parameter in list(signature.parameters.values())[1:]:
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
            names.append(parameter.name)
        return tuple(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters and their values (``deep`` as in scikit-learn;
        models hold no nested estimators)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: ModelT, **params: Any) -> ModelT:
        """Set parameters by name; an unknown name is an error. Returns ``self``."""
        known = self._param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ParameterError(
                f"{self.name} has no parameter(s) {', '.join(unknown)}; its parameters: "
                f"{', '.join(known) or 'none'}"
            )
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _check_params(self) -> None:  # noqa: B027 - a hook: most models have nothing to check
        """Raise :class:`~attribution.errors.ParameterError` for an invalid parameter."""

    # ------------------------------------------------------------------ fitting
    def statistics(self, journeys: Journeys) -> Statistics:
        """Sufficient statistics of a partition of whole journeys (none by default)."""
        return NoStatistics()

    def context(self, journeys: Journeys) -> Statistics | None:
        """A first pass over a partition, for a model whose statistics depend on a
        quantity of all the data (hazard's horizon: the longest time to conversion);
        merged with ``merge`` and given to :meth:`statistics_in_context`. ``None`` (the
        default): the model needs no first pass."""
        return None

    def statistics_in_context(self, journeys: Journeys, context: Any) -> Statistics:
        """The statistics of a partition given the merged :meth:`context` of all the
        partitions (by default the context plays no part)."""
        return self.statistics(journeys)

    def replicate_statistics(
        self, journeys: Journeys, context: Any, statistics: Any, multipliers: np.ndarray
    ) -> Statistics:
        """The statistics of a bootstrap replicate of a partition: ``journeys`` with each
        record's weight and value times ``multipliers``, in the data's ``context`` (None
        for a model without one), given ``statistics``, the data's own statistics of
        ``journeys`` in that context. By default the statistics of the reweighted
        journeys; a model whose statistics hold rows that do not depend on the weights
        shares them with ``statistics``, so replicates cost only their weights."""
        replicate = journeys.reweighted(multipliers)
        if context is None:
            return self.statistics(replicate)
        return self.statistics_in_context(replicate, context)

    def replicate_columns(
        self, journeys: Journeys, context: Any, statistics: Any
    ) -> ReplicateColumns | None:
        """The statistics of every bootstrap replicate of ``journeys`` at once, when they
        are sums linear in the journey weights (:class:`ReplicateColumns`; the arguments
        as in :meth:`replicate_statistics`, which they must equal). ``None`` (the
        default): each replicate's statistics come from :meth:`replicate_statistics`."""
        return None

    def split_amounts(self, journeys: Journeys) -> np.ndarray | None:
        """For a fitted model whose credit of touch ``i`` (of channel ``c``) in journey
        ``j`` is ``Σ_b rate[k_i, b] · amount[j, b] / m`` (``k_i``: the touch's key of
        :meth:`split_keys`; ``m``: the journey's touches of ``c``; :meth:`split_rates` the
        rates), each journey's amounts (journeys x bases), linear in its weight and value,
        so bootstrap replicates of its roll-ups are sums weighted by the replicate
        factors. ``None`` (the default): no such form."""
        return None

    def split_keys(self, journeys: Journeys) -> tuple[np.ndarray, int]:
        """The key of each touch's rate in :meth:`split_amounts`' form, and the number of
        keys: by default the touch's channel. Every touch of a channel in a journey has
        the same key (a key may add what the journey is, e.g. its channel set)."""
        return np.ascontiguousarray(journeys.channel, dtype=np.int64), journeys.n_channels

    def split_rates(self, keyed_like: AttributionModel | None = None) -> np.ndarray:
        """The rates of :meth:`split_amounts` (keys x bases) of this fitted model, over
        the keys of ``keyed_like``'s :meth:`split_keys` (default: its own): a bootstrap
        replicate's model gives its rates over the keys of the model fitted on the data,
        which keyed the touches."""
        raise NotImplementedError

    def replicate_credit(
        self,
        replicates: Sequence[AttributionModel | None],
        journeys: Journeys,
        rows: np.ndarray,
        factors: np.ndarray,
        groups: np.ndarray,
        n_columns: int,
    ) -> np.ndarray | None:
        """Every bootstrap replicate's credited value by column in one pass, ``self``
        being the model fitted on the data and ``replicates`` the replicates' models
        (``None``: not fitted; its row is NaN). ``journeys``: the journeys this model
        credits; ``rows``: those with a value to credit, drawn by ``factors`` (rows x
        replicates); ``groups``: each touch's column in every roll-up (touches x
        roll-ups). Returns replicates x ``n_columns``: each replicate model's credit of
        the reweighted journeys, summed by column. ``None`` (the default): the engine
        reweights and credits each replicate instead."""
        return None

    def fit_statistics(self: ModelT, statistics: Any) -> ModelT:
        """Fit from (merged) sufficient statistics; returns ``self``."""
        self._check_params()
        return self

    def fit_replicate(self: ModelT, statistics: Any) -> ModelT:
        """A bootstrap replicate's model fitted on the replicate's (merged) ``statistics``,
        ``self`` being the model fitted on the data: by default an unfitted copy fitted
        on them. A model may start the replicate's fit from its own when that reaches
        the same result (a convex fit warm-started: the same optimum, to its tolerance)."""
        return clone(self).fit_statistics(statistics)

    def fit(self: ModelT, journeys: Journeys) -> ModelT:
        """Fit to the journeys; returns ``self``."""
        return self.fit_statistics(self.statistics(journeys))

    def inner_model(self) -> AttributionModel | None:
        """The unfitted model whose statistics are this model's and whose fit it builds
        on (shapley's game model), or None (the default). A run that also fits a model
        equal to it (same type and parameters) in the same window computes those
        statistics once and gives that fitted model to :meth:`fit_on_inner`, instead of
        fitting the same model twice."""
        return None

    def fit_on_inner(self: ModelT, fitted: AttributionModel) -> ModelT:
        """Fit on ``fitted``: the :meth:`inner_model` already fitted on this model's
        statistics (the same as :meth:`fit_statistics` on them); returns ``self``."""
        raise NotImplementedError

    def lead_stage_model(self: ModelT) -> ModelT:
        """An unfitted copy to fit and credit at the scorecard's lead stage (each lead a
        conversion at its creation: :mod:`attribution.scorecards`). The stage shows only
        the copy's credit, so a model may leave out here what serves only its own
        reports; by default a copy with the same parameters."""
        return clone(self)

    @abstractmethod
    def credit(self, journeys: Journeys) -> TouchCredit:
        """Conversions and value credited to each touch of ``journeys``."""

    def for_credit(self: ModelT) -> ModelT:
        """This fitted model with only what :meth:`credit` reads, for a model the engine
        only credits with (the scorecard's lead stage, the bootstrap's replicates): a
        data-driven model may leave out the statistics it keeps for its reports. By
        default the model itself."""
        return self

    def _check_fitted(self, attribute: str) -> None:
        """Raise :class:`NotFittedError` unless the learned ``attribute`` is set."""
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"{self.name} is not fitted: call fit(journeys) or fit_statistics(...) "
                "before credit()"
            )

    # ---------------------------------------------------------------- reporting
    def channel_columns(self) -> dict[str, np.ndarray]:
        """Extra per-channel output columns (indexed by channel code) after fitting."""
        return {}

    def notes(self) -> tuple[Note, ...]:
        """Statements about this run that belong in the reconciliation."""
        return ()

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class RuleModel(AttributionModel):
    """A model that learns nothing: each converted journey's value is split over its
    touches by fixed weights. Its credit is linear in journey weights and values."""

    linear_in_weights: ClassVar[bool] = True

    def credit(self, journeys: Journeys) -> TouchCredit:
        self._check_params()
        return self._credit(journeys)

    @abstractmethod
    def _credit(self, journeys: Journeys) -> TouchCredit:
        """The credit, parameters already checked."""


def clone(model: ModelT) -> ModelT:
    """An unfitted copy of ``model`` with the same parameters."""
    return type(model)(**model.get_params())


def same_model(first: AttributionModel, second: AttributionModel) -> bool:
    """Whether two models are the same model: the same type and equal parameters."""
    return type(first) is type(second) and first.get_params() == second.get_params()
