"""Exact multi-touch attribution of B2B pipeline to channels and teams.

>>> import attribution as at
>>> loaded = at.load("touches.parquet", "outcomes.parquet")  # doctest: +SKIP
>>> models = ["linear", at.models.TimeDecay(half_life_days=14)]
>>> result = at.attribute(loaded, models)  # doctest: +SKIP
>>> result.credits  # doctest: +SKIP
"""

from attribution import models
from attribution.columns import ColumnMap
from attribution.engine import AttributionResult, attribute
from attribution.errors import InputError
from attribution.io import Loaded, load, load_paths, load_touches
from attribution.journeys import Journeys
from attribution.reconciliation import Reconciliation

__version__ = "0.1.0"

__all__ = [
    "AttributionResult",
    "ColumnMap",
    "InputError",
    "Journeys",
    "Loaded",
    "Reconciliation",
    "attribute",
    "load",
    "load_paths",
    "load_touches",
    "models",
]
