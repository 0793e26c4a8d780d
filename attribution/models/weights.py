"""Validation of user-given model weights."""

from __future__ import annotations

import math

from attribution.errors import ParameterError


def check_weights(model: str, weights: dict[str, float]) -> None:
    """Weights must be finite numbers >= 0 that sum to 1 (to 1e-9); each is then at most
    1. Weights summing to 100 are named as percentages."""
    for key, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ParameterError(f"{model}: weight {key}={weight!r} must be a number")
        if not (math.isfinite(weight) and weight >= 0):
            raise ParameterError(f"{model}: weight {key}={weight} must be a finite number >= 0")
    try:
        total = math.fsum(weights.values())
    except OverflowError:
        total = math.inf
    if abs(total - 1.0) > 1e-9:
        listed = ", ".join(f"{k}={v}" for k, v in weights.items())
        hint = (
            ": they look like percentages; give fractions (divide by 100)"
            if abs(total - 100.0) <= 1e-7
            else ""
        )
        raise ParameterError(f"{model}: weights must sum to 1, got {total:g} ({listed}){hint}")
