"""Model names as users type them, and how to build a model from a name and parameters.

The registry is a table of names, not of imported classes: listing the models (for
``--help``, say) imports nothing; a model's module is imported when it is first built.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from attribution.errors import ParameterError

if TYPE_CHECKING:
    from attribution.models.base import AttributionModel

#: The rule-based models, in the order they are reported: name -> "module:Class".
RULE_MODELS: dict[str, str] = {
    "first_touch": "attribution.models.single_touch:FirstTouch",
    "last_touch": "attribution.models.single_touch:LastTouch",
    "linear": "attribution.models.linear:Linear",
    "time_decay": "attribution.models.time_decay:TimeDecay",
    "position_based": "attribution.models.position_based:PositionBased",
    "j_shaped": "attribution.models.position_based:JShaped",
    "inverse_j": "attribution.models.position_based:InverseJ",
    "w_shaped": "attribution.models.milestones:WShaped",
    "full_path": "attribution.models.milestones:FullPath",
    "sourced": "attribution.models.single_touch:Sourced",
    "influenced": "attribution.models.influenced:Influenced",
    "last_non_direct": "attribution.models.last_non_direct:LastNonDirect",
    "custom_stage": "attribution.models.milestones:CustomStage",
}

#: Data-driven models (learned from converting and non-converting journeys).
DATA_DRIVEN_MODELS: dict[str, str] = {
    "hazard": "attribution.models.hazard:Hazard",
    "markov": "attribution.models.markov:Markov",
    "presence": "attribution.models.presence:Presence",
    "shapley": "attribution.models.shapley:Shapley",
    "shapley_simplified": "attribution.models.shapley_simplified:ShapleySimplified",
    "shapley_ordered": "attribution.models.shapley_simplified:ShapleyOrdered",
}

_FACTORIES: dict[str, str | Callable[..., AttributionModel]] = {
    **RULE_MODELS,
    **DATA_DRIVEN_MODELS,
}


#: The recommended data-driven model for timed data and for path tables (the README's
#: accuracy table is the evidence).
RECOMMENDED: dict[str, str] = {"touches": "hazard", "paths": "presence"}


def recommended_model(has_times: bool) -> str:
    """The recommended model for timed touches, or for path tables."""
    return RECOMMENDED["touches" if has_times else "paths"]


def register(name: str, factory: Callable[..., AttributionModel]) -> None:
    """Make a model available by name (to the CLI's ``--models`` and to :func:`make_model`)."""
    _FACTORIES[name] = factory


def model_names() -> tuple[str, ...]:
    """Every registered model name, in reporting order."""
    return tuple(_FACTORIES)


def model_factory(name: str) -> Callable[..., AttributionModel]:
    """The class (or factory) of a registered model, imported on first use."""
    if name not in _FACTORIES:
        raise ParameterError(f"unknown model {name!r}; known models: {', '.join(_FACTORIES)}")
    factory = _FACTORIES[name]
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
        assert callable(factory)
        _FACTORIES[name] = factory
    return factory


def all_models() -> tuple[str, ...]:
    """The models ``"all"`` runs: every registered one that needs no configuration."""
    return tuple(n for n in _FACTORIES if not model_factory(n)().needs_configuration)


#: Parameters that make a model that needs configuration runnable, for examples and
#: conformance checks (a custom stage model on the lead milestone).
EXAMPLE_PARAMETERS: dict[str, dict[str, Any]] = {
    "custom_stage": {"milestones": ("lead_created_at",), "weights": (0.4, 0.4, 0.2)},
}


def make_model(name: str, parameters: Mapping[str, Any] | None = None) -> AttributionModel:
    """Build the model called ``name`` with constructor ``parameters``; an unknown
    name or parameter is a :class:`~attribution.errors.ParameterError`."""
    factory = model_factory(name)
    model = factory()
    if parameters:
        model.set_params(**dict(parameters))
    return model


@cache
def model_defaults(name: str) -> dict[str, Any]:
    """A registered model's constructor defaults, read from its source without importing
    it (so ``--help`` stays fast). Only literal defaults are reported."""
    target = _FACTORIES.get(name)
    if not isinstance(target, str):
        factory = model_factory(name)
        import inspect

        return {
            p.name: p.default
            for p in inspect.signature(factory).parameters.values()
            if p.default is not p.empty
        }
    module, _, class_name = target.partition(":")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return {}
    with open(spec.origin, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    return _literal_defaults(item.args)
    return {}


def _literal_defaults(arguments: ast.arguments) -> dict[str, Any]:
    positional = arguments.posonlyargs + arguments.args
    with_default = positional[len(positional) - len(arguments.defaults) :]
    pairs = list(zip(with_default, arguments.defaults, strict=True))
    pairs += [
        (a, d)
        for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if d is not None
    ]
    out = {}
    for argument, default in pairs:
        try:
            out[argument.arg] = ast.literal_eval(default)
        except ValueError:
            continue
    return out
