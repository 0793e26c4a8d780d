"""Exact multi-touch attribution of B2B pipeline to channels and teams.

>>> import attribution as at
>>> loaded = at.load("touches.parquet", "outcomes.parquet")  # doctest: +SKIP
>>> models = ["linear", at.models.TimeDecay(half_life_days=14)]
>>> result = at.attribute(loaded, models)  # doctest: +SKIP
>>> result.credits  # doctest: +SKIP

Everything is imported lazily, on first use: ``import attribution`` costs almost
nothing, and ``attribution.simulate``, ``attribution.models`` and every other
documented submodule are reachable from the top-level import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "AttributionResult": "attribution.engine",
    "attribute": "attribution.engine",
    "scorecard": "attribution.engine",
    "report": "attribution.reporting.build",
    "build_journeys": "attribution.crm",
    "load_crm": "attribution.crm",
    "ColumnMap": "attribution.columns",
    "InputError": "attribution.errors",
    "ParameterError": "attribution.errors",
    "Journeys": "attribution.journeys",
    "Coding": "attribution.journeys",
    "Loaded": "attribution.io.intake",
    "load": "attribution.io",
    "load_paths": "attribution.io",
    "load_touches": "attribution.io",
    "Reconciliation": "attribution.reconciliation",
    "Note": "attribution.notes",
    "Status": "attribution.reconciliation",
    "NotFittedError": "attribution.models.base",
    "clone": "attribution.models.base",
}
#: Submodules reachable as attributes of the package.
_SUBMODULES = (
    "bootstrap",
    "cli",
    "columns",
    "compare",
    "crm",
    "dask",
    "engine",
    "errors",
    "io",
    "journeys",
    "kernels",
    "models",
    "notes",
    "reconciliation",
    "reporting",
    "rollup",
    "scorecards",
    "simulate",
)

__all__ = [
    "AttributionResult",
    "Coding",
    "ColumnMap",
    "InputError",
    "Journeys",
    "Loaded",
    "NotFittedError",
    "Note",
    "ParameterError",
    "Reconciliation",
    "Status",
    "attribute",
    "build_journeys",
    "cli",
    "clone",
    "columns",
    "compare",
    "engine",
    "errors",
    "io",
    "journeys",
    "kernels",
    "load",
    "load_crm",
    "load_paths",
    "load_touches",
    "models",
    "notes",
    "reconciliation",
    "report",
    "rollup",
    "scorecard",
    "scorecards",
    "simulate",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"attribution.{name}")
    else:
        raise AttributeError(f"module 'attribution' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from attribution import (
        cli,
        columns,
        compare,
        engine,
        errors,
        io,
        journeys,
        kernels,
        models,
        notes,
        reconciliation,
        rollup,
        scorecards,
        simulate,
    )
    from attribution.columns import ColumnMap
    from attribution.crm import build_journeys, load_crm
    from attribution.engine import AttributionResult, attribute, scorecard
    from attribution.errors import InputError, ParameterError
    from attribution.io import load, load_paths, load_touches
    from attribution.io.intake import Loaded
    from attribution.journeys import Coding, Journeys
    from attribution.models.base import NotFittedError, clone
    from attribution.notes import Note
    from attribution.reconciliation import Reconciliation, Status
    from attribution.reporting.build import report
