"""Robustness scenarios and the exposure response, against references written from their
documentation."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from attribution.simulate import scenario, scenario_names, simulate
from attribution.simulate.process import draw_buyers, draw_causal_touches, streams
from attribution.simulate.robustness import ROBUSTNESS_SCENARIOS, robustness_names


def test_robustness_scenarios_are_apart_from_the_presets_and_found_by_name() -> None:
    assert not set(robustness_names()) & set(scenario_names())
    for name in robustness_names():
        assert scenario(name) is ROBUSTNESS_SCENARIOS[name]
    with pytest.raises(ValueError, match="exposure_response"):
        scenario("nope")


def test_variations_are_what_they_say() -> None:
    base = {c.name: c for c in scenario("independent").channels}
    permuted = [(c.lift, c.half_life_days) for c in scenario("permuted_effects").channels]
    assert permuted == [(c.lift, c.half_life_days) for c in reversed(list(base.values()))]
    for name, factor in (("fast_decay", 0.25), ("slow_decay", 2.0)):
        for channel in scenario(name).channels:
            assert channel.half_life_days == base[channel.name].half_life_days * factor
            assert channel.lift == base[channel.name].lift
    assert scenario("late_passenger").passengers[0].lag_days == 3.0
    pairs = {frozenset((p.first, p.second)) for p in scenario("other_synergy").interactions}
    for pair in pairs:
        for name in pair:
            assert scenario("other_synergy").channel(name).lift == 0.0


def test_exposure_response_probability_and_truth_match_the_reference() -> None:
    spec = scenario("exposure_response")
    assert spec.response is not None
    n, seed = 3_000, 7
    sim = simulate(spec, journeys=n, seed=seed)
    rngs = streams(seed)
    buyers = draw_buyers(spec, n, rngs["buyers"])
    touches = draw_causal_touches(spec, buyers, rngs["exposure"], rngs["follow_ups"])
    names = spec.channel_names
    weights, saturation = spec.response.weights, spec.response.saturation

    def probability(counts: Counter[str], kind: int) -> float:
        rate = spec.kinds[kind].base_rate
        logit = math.log(rate / (1 - rate)) + sum(
            weights.get(c, 0.0) * (1 - math.exp(-k / saturation)) for c, k in counts.items()
        )
        return 1 / (1 + math.exp(-logit))

    lost = np.zeros(len(names))
    converts = np.zeros(n, bool)
    for j in range(n):
        lo, hi = touches.offsets[j], touches.offsets[j + 1]
        channels = [names[c] for c in touches.channel[lo:hi]]
        lineage = touches.lineage[lo:hi]
        p = probability(Counter(channels), int(buyers.kind[j]))
        converts[j] = buyers.threshold[j] <= -math.log(1 - p)
        for c in range(len(names)):
            kept = [ch for ch, bits in zip(channels, lineage, strict=True) if not bits >> c & 1]
            without = probability(Counter(kept), int(buyers.kind[j]))
            lost[c] += (p - without) * buyers.value[j]
    truth = sim.truth
    assert truth is not None
    np.testing.assert_allclose(truth["true_value"], lost, rtol=1e-9, atol=1e-6)
    observed = sim.outcomes.set_index("journey_id")["converted"]
    assert (observed == pd.Series(converts)[observed.index]).all()
    # Every causal touch comes before the conversion: times carry no information.
    converted_at = sim.outcomes.set_index("journey_id")["converted_at"]
    last = sim.touches.groupby("journey_id")["timestamp"].max()
    done = converted_at.dropna()
    assert (last[done.index] < done).all()
