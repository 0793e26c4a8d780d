"""Model names as users type them, and how to build a model from a name and options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from attribution.models.base import AttributionModel
from attribution.models.hazard import Hazard
from attribution.models.influenced import Influenced
from attribution.models.linear import Linear
from attribution.models.markov import Markov
from attribution.models.milestones import FullPath, WShaped
from attribution.models.position_based import InverseJ, JShaped, PositionBased
from attribution.models.shapley import Shapley
from attribution.models.shapley_simplified import ShapleyOrdered, ShapleySimplified
from attribution.models.single_touch import FirstTouch, LastTouch, Sourced
from attribution.models.time_decay import TimeDecay

#: The rule-based models, in the order they are reported.
RULE_MODELS: tuple[type[AttributionModel], ...] = (
    FirstTouch,
    LastTouch,
    Linear,
    TimeDecay,
    PositionBased,
    JShaped,
    InverseJ,
    WShaped,
    FullPath,
    Sourced,
    Influenced,
)

#: Data-driven models (learned from converting and non-converting journeys).
DATA_DRIVEN_MODELS: tuple[type[AttributionModel], ...] = (
    Hazard,
    Markov,
    Shapley,
    ShapleySimplified,
    ShapleyOrdered,
)

_FACTORIES: dict[str, Callable[..., AttributionModel]] = {
    m.name: m for m in RULE_MODELS + DATA_DRIVEN_MODELS
}


def register(name: str, factory: Callable[..., AttributionModel]) -> None:
    """Make a model available by name (to the CLI's ``--models`` and to :func:`make_model`)."""
    _FACTORIES[name] = factory


def model_names() -> tuple[str, ...]:
    """Every registered model name, in reporting order."""
    return tuple(_FACTORIES)


def make_model(name: str, options: Mapping[str, Any] | None = None) -> AttributionModel:
    """Build the model called ``name``; ``options`` are passed to its constructor."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(_FACTORIES)}")
    return _FACTORIES[name](**dict(options or {}))
