"""Validation of user-given model weights."""

from __future__ import annotations

import math


def check_weights(model: str, weights: dict[str, float]) -> None:
    """Weights must be finite, non-negative and sum to 1 (to 1e-9)."""
    for key, weight in weights.items():
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"{model}: weight {key}={weight} must be a finite number >= 0")
    total = math.fsum(weights.values())
    if abs(total - 1.0) > 1e-9:
        listed = ", ".join(f"{k}={v}" for k, v in weights.items())
        raise ValueError(f"{model}: weights must sum to 1, got {total} ({listed})")
