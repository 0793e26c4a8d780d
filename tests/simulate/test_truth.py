"""Ground truth: zero for what has no effect, and recovered by independent references.

Two references check the truth of the ``independent`` scenario without using the
simulator's code: the exact expectation derived from the documented generative process
with the true parameters, and a correctly specified estimator (the maximum-likelihood
additive hazard) fitted to the simulated touches and outcomes alone.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize

from attribution.compare import rank_correlation, total_variation_distance
from attribution.simulate import TRUTH_COLUMNS, Scenario, scenario, simulate

NANOS_PER_DAY = 86_400 * 10**9


def test_truth_table_shape() -> None:
    sim = simulate("many_channels", journeys=1_000, seed=2)
    truth = sim.truth
    assert truth is not None
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert list(truth["channel"]) == list(sim.scenario.channel_names)
    assert truth["true_share"].sum() == pytest.approx(1.0)
    assert (truth[["true_conversions", "true_value", "std_error"]] >= 0).all().all()
    assert simulate("many_channels", journeys=1_000, seed=2, truth=False).truth is None


@pytest.mark.parametrize(
    ("name", "channels"),
    [
        ("independent", ["paid_social"]),
        ("last_touch_trap", ["direct"]),
        ("first_touch_trap", ["organic_search"]),
        (
            "many_channels",
            ["direct", "email_nurture", "retargeting", "podcast", "video", "linkedin_inmail"],
        ),
    ],
)
def test_channels_without_effect_have_zero_truth(name: str, channels: list[str]) -> None:
    sim = simulate(name, journeys=3_000, seed=21)
    assert sim.truth is not None
    truth = sim.truth.set_index("channel")
    touched = set(sim.touches["channel"].astype(str))
    for channel in channels:
        assert channel in touched, "the channel is in the data, only without effect"
        row = truth.loc[channel]
        assert abs(row["true_conversions"]) <= 3 * row["conversions_std_error"]
        assert abs(row["true_value"]) <= 3 * row["std_error"]
    effective = truth.drop(index=channels)
    assert (effective["true_conversions"] > 3 * effective["conversions_std_error"]).all()


def test_synergy_pairs_are_credited_only_together() -> None:
    sim = simulate("synergy", journeys=4_000, seed=3)
    assert sim.truth is not None
    truth = sim.truth.set_index("channel")
    for pair in sim.scenario.interactions:
        first, second = truth.loc[pair.first], truth.loc[pair.second]
        # Own lifts are 0: switching either channel off loses exactly the pair's effect.
        assert first["true_conversions"] == pytest.approx(second["true_conversions"], rel=1e-12)
        assert first["true_conversions"] > 5 * first["conversions_std_error"]
    alone = replace(
        sim.scenario,
        interactions=(),
    )
    lone = simulate(alone, journeys=4_000, seed=3)
    assert lone.truth is not None
    lone_truth = lone.truth.set_index("channel")
    for pair in sim.scenario.interactions:
        assert lone_truth.loc[pair.first, "true_conversions"] == 0.0
        assert lone_truth.loc[pair.second, "true_conversions"] == 0.0


def test_standard_error_shrinks_like_one_over_root_n() -> None:
    small = simulate("independent", journeys=2_000, seed=4).truth
    large = simulate("independent", journeys=18_000, seed=4).truth
    assert small is not None and large is not None
    channel = "partner_referral"
    relative = [
        t.set_index("channel").loc[channel, "conversions_std_error"]
        / t.set_index("channel").loc[channel, "true_conversions"]
        for t in (small, large)
    ]
    assert relative[1] == pytest.approx(relative[0] / 3, rel=0.25)


def _expected_truth(
    spec: Scenario, lifts: dict[str, float], base_hazard: float
) -> tuple[float, dict[str, float], dict[str, float]]:
    """Per buyer: P(convert) and the expected conversions and value lost per channel.

    From the documented process: a kind-k buyer's touches of channel c form a Poisson
    process with mean m_kc over the horizon H, at times H * U**timing_c, each adding
    lift_c * (1 - exp(-r_c (H - t))) to the cumulative hazard at H. So
    P(no conversion | k) = exp(-base * H) * prod_c exp(-m_kc * (1 - phi_c)), with
    phi_c = E[exp(-lift_c * (1 - exp(-r_c * H * (1 - U**timing_c))))]; switching c off
    removes its factor. Values are independent of conversion, with mean
    median * exp(sigma**2 / 2).
    """
    horizon = spec.horizon_days
    phi = {}
    for channel in spec.channels:
        rate = math.log(2) / channel.half_life_days
        lift = lifts[channel.name]

        def integrand(
            u: float, lift: float = lift, rate: float = rate, a: float = channel.timing
        ) -> float:
            return math.exp(-lift * -math.expm1(-rate * horizon * (1 - u**a)))

        phi[channel.name] = integrate.quad(integrand, 0, 1)[0]
    shares = np.array([k.share for k in spec.kinds])
    shares = shares / shares.sum()
    converts = 0.0
    conversions = dict.fromkeys(spec.channel_names, 0.0)
    value = dict.fromkeys(spec.channel_names, 0.0)
    for weight, kind in zip(shares, spec.kinds, strict=True):
        exposure = {c: kind.exposure.get(c, 0.0) for c in spec.channel_names}
        stay = math.exp(-base_hazard * horizon) * math.prod(
            math.exp(-exposure[c] * (1 - phi[c])) for c in spec.channel_names
        )
        converts += weight * (1 - stay)
        mean_value = kind.value_median * math.exp(kind.value_sigma**2 / 2)
        for c in spec.channel_names:
            lost = stay * math.expm1(exposure[c] * (1 - phi[c]))
            conversions[c] += weight * lost
            value[c] += weight * lost * mean_value
    return converts, conversions, value


def test_truth_matches_the_exact_expectation_of_the_process() -> None:
    spec = scenario("independent")
    assert len({k.base_rate for k in spec.kinds}) == 1
    n = 30_000
    sim = simulate(spec, journeys=n, seed=17)
    assert sim.truth is not None
    truth = sim.truth.set_index("channel")
    base = -math.log1p(-spec.kinds[0].base_rate) / spec.horizon_days
    converts, conversions, value = _expected_truth(
        spec, {c.name: c.lift for c in spec.channels}, base
    )
    expected_share = pd.Series(value) / sum(value.values())
    for channel in spec.channel_names:
        row = truth.loc[channel]
        expected = n * conversions[channel]
        assert abs(row["true_conversions"] - expected) <= 4 * row["conversions_std_error"] + 1e-9
        assert abs(row["true_share"] - expected_share[channel]) <= 4 * row["share_std_error"] + 1e-9
    realised = sim.outcomes["converted"].sum() / n
    assert realised == pytest.approx(
        converts, abs=4 * math.sqrt(converts * (1 - converts) / n) + 0.01
    )


def test_a_correctly_specified_estimator_recovers_the_truth_from_the_data() -> None:
    """Fit the additive hazard to the touches and outcomes, then compute its truth.

    All journeys start at the scenario's start (span 0), so a journey's clock is known.
    Its likelihood from its first observed touch on (journeys converting before any
    touch are invisible, so each enters at its first touch: delayed entry) is
    ``converted * log h(T) - (L(T) - L(first touch))`` with ``T`` the conversion time,
    else the horizon; ``h`` and ``L`` are linear in the base hazard and the lifts (the
    half-lives are the known model). The fitted lifts then give the truth through the
    exact expectation of the process.
    """
    spec = replace(scenario("independent"), span_days=0.0)
    n = 20_000
    sim = simulate(spec, journeys=n, seed=31)
    assert sim.truth is not None
    start = pd.Timestamp(spec.start, tz="UTC")
    horizon = spec.horizon_days
    outcomes = sim.outcomes.set_index("journey_id")
    converted = outcomes["converted"].to_numpy()
    converted_days = (outcomes["converted_at"] - start).to_numpy(dtype="m8[ns]").astype(np.int64)
    end = np.where(converted, converted_days / NANOS_PER_DAY, horizon)
    touches = sim.touches
    row = outcomes.index.get_indexer(touches["journey_id"])
    days = (touches["timestamp"] - start).to_numpy(dtype="m8[ns]").astype(np.int64) / NANOS_PER_DAY
    names = list(spec.channel_names)
    code = pd.Categorical(touches["channel"].astype(str), categories=names).codes
    rate = np.array([math.log(2) / c.half_life_days for c in spec.channels])[code]
    elapsed = end[row] - days
    assert (elapsed >= 0).all(), "no touch after conversion in this scenario"
    first_touch = pd.Series(days).groupby(row).min().reindex(range(len(outcomes))).to_numpy()
    hazard_terms = np.zeros((len(outcomes), len(names) + 1))
    integral_terms = np.zeros_like(hazard_terms)
    hazard_terms[:, 0] = 1.0
    integral_terms[:, 0] = end - first_touch
    np.add.at(hazard_terms, (row, code + 1), rate * np.exp(-rate * elapsed))
    np.add.at(integral_terms, (row, code + 1), -np.expm1(-rate * elapsed))
    x, y = hazard_terms[converted], integral_terms.sum(axis=0)

    def negative_log_likelihood(theta: np.ndarray) -> tuple[float, np.ndarray]:
        h = x @ theta
        return -(np.log(h).sum() - theta @ y), -(x.T @ (1 / h) - y)

    fit = optimize.minimize(
        negative_log_likelihood,
        np.full(len(names) + 1, 0.01),
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-9, None)] + [(0.0, None)] * len(names),
    )
    assert fit.success
    lifts = dict(zip(names, fit.x[1:], strict=True))
    _, _, value = _expected_truth(spec, lifts, float(fit.x[0]))
    estimated = pd.Series(value)[names] / sum(value.values())
    true_share = sim.truth.set_index("channel")["true_share"][names]
    assert total_variation_distance(estimated, true_share) < 0.05
    assert rank_correlation(estimated, true_share) > 0.9
    assert lifts["paid_social"] < 0.01, "the channel without effect is found to have none"
