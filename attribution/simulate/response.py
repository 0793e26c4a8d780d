"""The exposure response: conversion by a logistic of saturating touch counts.

The alternative to the additive hazard of :mod:`attribution.simulate.process`, described
in :class:`~attribution.simulate.spec.ExposureResponse`. To reuse the rest of the
simulator (the cut at conversion, passengers, milestones, the truth), it is expressed in
the same currency: a buyer's *cumulative hazard at the horizon* is ``L = −ln(1 − p)``, so
the buyer converts iff its unit-exponential threshold is at most ``L`` (probability
``p``), and switching channel ``c`` off leaves ``L − removed_c``, the same quantity for
the counts without ``c``'s touches and the follow-ups they caused. The truth's
``exp(−L) · expm1(removed)`` is then exactly ``p − p_−c``, the conversion probability the
channel adds.
"""

from __future__ import annotations

import math

import numpy as np

from attribution.simulate.kernels import exposure_logits
from attribution.simulate.spec import ExposureResponse, Scenario

SECONDS_PER_DAY = 86_400


def _hazard_of_logit(logit: np.ndarray) -> np.ndarray:
    """``−ln(1 − logistic(logit)) = ln(1 + e^logit)``, computed without overflow."""
    return np.logaddexp(0.0, logit)


def exposure_hazard(
    scenario: Scenario,
    response: ExposureResponse,
    kind: np.ndarray,
    offsets: np.ndarray,
    channel: np.ndarray,
    lineage: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per buyer the cumulative hazard ``L`` at the horizon, and per channel and buyer
    the part ``removed`` lost when the channel is off (see the module docstring)."""
    index = {name: c for c, name in enumerate(scenario.channel_names)}
    weight = np.zeros(len(index))
    for name, value in response.weights.items():
        weight[index[name]] = value
    base = np.array([math.log(k.base_rate / (1 - k.base_rate)) for k in scenario.kinds])
    whole, without = exposure_logits(
        offsets, channel, lineage, base[kind], weight, float(response.saturation), len(index)
    )
    at_horizon = _hazard_of_logit(whole)
    return at_horizon, at_horizon[None, :] - _hazard_of_logit(without)


def exposure_conversion_seconds(
    scenario: Scenario,
    response: ExposureResponse,
    converts: np.ndarray,
    offsets: np.ndarray,
    seconds: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Second of conversion of each buyer (-1 when it does not convert): ``lag`` after its
    last causal touch, at the horizon at the latest but after that touch."""
    horizon = round(scenario.horizon_days * SECONDS_PER_DAY)
    lag = np.ceil(rng.exponential(response.lag_days * SECONDS_PER_DAY, len(converts)))
    has_touch = offsets[1:] > offsets[:-1]
    last = np.where(has_touch, seconds[np.maximum(offsets[1:] - 1, 0)], 0)
    when = np.maximum(np.minimum(last + lag.astype(np.int64), horizon), last + 1)
    return np.where(converts, when, -1).astype(np.int64)
