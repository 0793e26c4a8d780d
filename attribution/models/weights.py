"""Validation of user-given model weights."""

from __future__ import annotations

import math

from attribution.errors import ParameterError


def check_weights(model: str, weights: dict[str, float]) -> None:
    """Weights must be numbers in [0, 1] that sum to 1 (to 1e-9)."""
    for key, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ParameterError(f"{model}: weight {key}={weight!r} must be a number")
        if not (math.isfinite(weight) and 0 <= weight <= 1):
            raise ParameterError(f"{model}: weight {key}={weight} must be a number between 0 and 1")
    total = math.fsum(weights.values())
    if abs(total - 1.0) > 1e-9:
        listed = ", ".join(f"{k}={v}" for k, v in weights.items())
        raise ParameterError(f"{model}: weights must sum to 1, got {total} ({listed})")
