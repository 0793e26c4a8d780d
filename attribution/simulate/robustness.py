"""Robustness scenarios: variations of the presets that a model must also get right.

The presets (:mod:`attribution.simulate.scenarios`) each isolate one trap. A model
tuned, knowingly or not, to their particular effects could still fail on slightly
different worlds; these scenarios vary what the presets hold fixed. They are listed
apart (``robustness_names()``), so the presets and the bundled fixture stay as they are,
and :func:`~attribution.simulate.scenarios.scenario` finds them by name too.

- ``permuted_effects``: ``independent`` with its channels' lifts and half-lives given
  to other channels (the order reversed: the strongest effect on the most frequent
  marketing channel, none on the AE meeting).
- ``fast_decay`` and ``slow_decay``: ``independent`` with every half-life × ¼ and × 2.
- ``late_passenger``: ``last_touch_trap`` with the passenger closer lagging 3 days on
  average instead of 0.2: most of its touches come before a 1-day guard.
- ``other_synergy``: ``independent`` with other pairs that only work together
  (``email_nurture`` x ``sdr_email``, ``organic_search`` x ``content_syndication``).
- ``exposure_response``: not an additive hazard: whether a buyer converts is a logistic
  of saturating touch counts, whatever their timing; it converts at an exponential lag
  after its last touch, a timing an additive hazard can mimic
  (:class:`~attribution.simulate.spec.ExposureResponse`).
"""

from __future__ import annotations

from dataclasses import replace

from attribution.simulate.scenarios import SCENARIOS
from attribution.simulate.spec import Channel, ExposureResponse, Interaction, Passenger, Scenario


def _with_effects(
    base: Scenario, effects: dict[str, tuple[float, float]], **changes: object
) -> Scenario:
    """``base`` with the channels' (lift, half-life) replaced where ``effects`` has them."""
    channels = tuple(
        replace(c, lift=effects[c.name][0], half_life_days=effects[c.name][1])
        if c.name in effects
        else c
        for c in base.channels
    )
    return replace(base, channels=channels, **changes)  # type: ignore[arg-type]


def _effects(channels: tuple[Channel, ...]) -> dict[str, tuple[float, float]]:
    return {c.name: (c.lift, c.half_life_days) for c in channels}


def _permuted_effects() -> Scenario:
    base = SCENARIOS["independent"]
    names = [c.name for c in base.channels]
    own = _effects(base.channels)
    effects = dict(zip(names, [own[n] for n in reversed(names)], strict=True))
    return _with_effects(
        base,
        effects,
        name="permuted_effects",
        description="independent with its channels' effects reversed in order",
        seed=701,
    )


def _scaled_decay(name: str, factor: float, seed: int) -> Scenario:
    base = SCENARIOS["independent"]
    effects = {
        n: (lift, half_life * factor) for n, (lift, half_life) in _effects(base.channels).items()
    }
    return _with_effects(
        base,
        effects,
        name=name,
        description=f"independent with every half-life x {factor:g}",
        seed=seed,
    )


def _late_passenger() -> Scenario:
    base = SCENARIOS["last_touch_trap"]
    return replace(
        base,
        name="late_passenger",
        description="last_touch_trap with the passenger closer 3 days before conversion",
        seed=704,
        passengers=(Passenger("direct", "closer", probability=0.7, lag_days=3.0),),
    )


def _other_synergy() -> Scenario:
    base = SCENARIOS["independent"]
    effects = _effects(base.channels)
    for name in ("email_nurture", "sdr_email", "organic_search", "content_syndication"):
        effects[name] = (0.0, effects[name][1])
    return _with_effects(
        base,
        effects,
        name="other_synergy",
        description="email_nurture x sdr_email and organic_search x content_syndication "
        "only work together",
        seed=705,
        interactions=(
            Interaction("email_nurture", "sdr_email", lift=0.5, half_life_days=30.0),
            Interaction("organic_search", "content_syndication", lift=0.3, half_life_days=14.0),
        ),
    )


def _exposure_response() -> Scenario:
    base = SCENARIOS["independent"]
    # Logit weights: ten times the independent scenario's lifts (none for paid_social).
    weights = {c.name: 10 * c.lift for c in base.channels if c.lift > 0}
    return replace(
        base,
        name="exposure_response",
        description="not an additive hazard: a logistic response to saturating touch "
        "counts, conversion at a random lag after the last touch",
        seed=706,
        response=ExposureResponse(weights=weights, saturation=2.0, lag_days=5.0),
    )


#: The robustness scenarios, in the order they are listed.
ROBUSTNESS_SCENARIOS: dict[str, Scenario] = {
    s.name: s.check()
    for s in (
        _permuted_effects(),
        _scaled_decay("fast_decay", 0.25, 702),
        _scaled_decay("slow_decay", 2.0, 703),
        _late_passenger(),
        _other_synergy(),
        _exposure_response(),
    )
}


def robustness_names() -> tuple[str, ...]:
    """Names of the robustness scenarios."""
    return tuple(ROBUSTNESS_SCENARIOS)
