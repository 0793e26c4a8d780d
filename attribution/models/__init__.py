"""Attribution models: one module per model family, all under :class:`AttributionModel`."""

from attribution.models.base import (
    AttributionModel,
    NoStatistics,
    NotFittedError,
    Statistics,
    TouchCredit,
)
from attribution.models.hazard import Hazard
from attribution.models.influenced import Influenced
from attribution.models.linear import Linear
from attribution.models.markov import Markov
from attribution.models.milestones import FullPath, WShaped
from attribution.models.position_based import InverseJ, JShaped, PositionBased
from attribution.models.registry import (
    DATA_DRIVEN_MODELS,
    RULE_MODELS,
    make_model,
    model_names,
    register,
)
from attribution.models.shapley import Shapley
from attribution.models.shapley_simplified import ShapleyOrdered, ShapleySimplified
from attribution.models.single_touch import FirstTouch, LastTouch, Sourced
from attribution.models.time_decay import TimeDecay

__all__ = [
    "DATA_DRIVEN_MODELS",
    "RULE_MODELS",
    "AttributionModel",
    "FirstTouch",
    "FullPath",
    "Hazard",
    "Influenced",
    "InverseJ",
    "JShaped",
    "LastTouch",
    "Linear",
    "Markov",
    "NoStatistics",
    "NotFittedError",
    "PositionBased",
    "Shapley",
    "ShapleyOrdered",
    "ShapleySimplified",
    "Sourced",
    "Statistics",
    "TimeDecay",
    "TouchCredit",
    "WShaped",
    "make_model",
    "model_names",
    "register",
]
