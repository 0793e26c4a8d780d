"""Attribution models: one module per model family, all under :class:`AttributionModel`.

Everything here is imported on first use (``attribution.models.Markov`` imports the
Markov module, and scipy, only then), so listing the models costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from attribution.models.registry import (
    DATA_DRIVEN_MODELS,
    RULE_MODELS,
    make_model,
    model_defaults,
    model_factory,
    model_names,
    register,
)

_LAZY: dict[str, str] = {
    name: "attribution.models.base:" + name
    for name in (
        "AttributionModel",
        "ModelNotApplicable",
        "NoStatistics",
        "NotFittedError",
        "RuleModel",
        "Statistics",
        "TouchCredit",
        "clone",
    )
}
_LAZY.update(
    {target.partition(":")[2]: target for target in {**RULE_MODELS, **DATA_DRIVEN_MODELS}.values()}
)

__all__ = [
    "DATA_DRIVEN_MODELS",
    "RULE_MODELS",
    "AttributionModel",
    "CustomStage",
    "FirstTouch",
    "FullPath",
    "Hazard",
    "Influenced",
    "InverseJ",
    "JShaped",
    "LastNonDirect",
    "LastTouch",
    "Linear",
    "Markov",
    "ModelNotApplicable",
    "NoStatistics",
    "NotFittedError",
    "PositionBased",
    "Presence",
    "RuleModel",
    "Shapley",
    "ShapleyOrdered",
    "ShapleySimplified",
    "Sourced",
    "Statistics",
    "TimeDecay",
    "TouchCredit",
    "WShaped",
    "clone",
    "make_model",
    "model_defaults",
    "model_factory",
    "model_names",
    "register",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'attribution.models' has no attribute {name!r}")
    module, _, attribute = _LAZY[name].partition(":")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from attribution.models.base import (
        AttributionModel,
        ModelNotApplicable,
        NoStatistics,
        NotFittedError,
        RuleModel,
        Statistics,
        TouchCredit,
        clone,
    )
    from attribution.models.hazard import Hazard
    from attribution.models.influenced import Influenced
    from attribution.models.last_non_direct import LastNonDirect
    from attribution.models.linear import Linear
    from attribution.models.markov import Markov
    from attribution.models.milestones import CustomStage, FullPath, WShaped
    from attribution.models.position_based import InverseJ, JShaped, PositionBased
    from attribution.models.presence import Presence
    from attribution.models.shapley import Shapley
    from attribution.models.shapley_simplified import ShapleyOrdered, ShapleySimplified
    from attribution.models.single_touch import FirstTouch, LastTouch, Sourced
    from attribution.models.time_decay import TimeDecay
