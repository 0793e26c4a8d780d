"""The one interface every attribution model implements.

Per-touch credit is the common currency: a model returns, for every touch of the
journeys it is given, the conversions and the value it credits to that touch
(:class:`TouchCredit`). Every roll-up (by channel, team, campaign, touch type) is a sum of
touch credits, so it works the same for every model.

Models follow scikit-learn's conventions: parameters are stored by ``__init__``,
:meth:`AttributionModel.fit` returns ``self``, learned attributes end in ``_``. Models
that learn from the data (Markov, Shapley) do so from *sufficient statistics*:
:meth:`AttributionModel.statistics` computes them on any partition of whole journeys,
partitions merge with ``merge``, and :meth:`AttributionModel.fit_statistics` fits from
the merged result. Rule-based models learn nothing and need no statistics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np

from attribution.journeys import Journeys

StatisticsT = TypeVar("StatisticsT", bound="Statistics")
ModelT = TypeVar("ModelT", bound="AttributionModel")


class Statistics(Protocol):
    """Sufficient statistics of one partition of whole journeys."""

    def merge(self: StatisticsT, other: StatisticsT) -> StatisticsT:
        """Statistics of the union of the two partitions."""
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
    """

    name: ClassVar[str]
    conserving: ClassVar[bool] = True
    counts_groups_once: ClassVar[bool] = False
    uses_lookback: ClassVar[bool] = True
    needs_times: ClassVar[bool] = False
    credits_converted_only: ClassVar[bool] = True

    def statistics(self, journeys: Journeys) -> Statistics:
        """Sufficient statistics of a partition of whole journeys (none by default)."""
        return NoStatistics()

    def fit_statistics(self: ModelT, statistics: Any) -> ModelT:
        """Fit from (merged) sufficient statistics; returns ``self``."""
        return self

    def fit(self: ModelT, journeys: Journeys) -> ModelT:
        """Fit to the journeys; returns ``self``."""
        return self.fit_statistics(self.statistics(journeys))

    @abstractmethod
    def credit(self, journeys: Journeys) -> TouchCredit:
        """Conversions and value credited to each touch of ``journeys``."""

    def channel_columns(self) -> dict[str, np.ndarray]:
        """Extra per-channel output columns (indexed by channel code) after fitting."""
        return {}

    def notes(self) -> tuple[str, ...]:
        """Statements about this run that belong in the reconciliation."""
        return ()

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as scikit-learn reports them."""
        return {
            k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")
        }

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
