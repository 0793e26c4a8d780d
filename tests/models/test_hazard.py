"""The hazard model: parameters, hand-checked cases, the removal effect against a brute-force
numeric reference, conservation, weights, partitions, and its accuracy on simulated data."""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import integrate

import attribution as at
from attribution.cli.model_options import add_model_arguments, model_parameters
from attribution.journeys import Journeys
from attribution.models.base import ModelNotApplicable, NotFittedError
from attribution.models.hazard import Hazard
from attribution.models.hazard_fit import solve
from attribution.simulate import Passenger, scenario, simulate
from tests.builders import J, load
from tests.kernels.test_hazard_kernels import random_journeys

DAY = 86_400 * 10**9


def small_model(**parameters: object) -> Hazard:
    return Hazard(half_lives=(1.0, 7.0), pair_half_lives=(3.0, 20.0), **parameters)  # type: ignore[arg-type]


# ----------------------------------------------------------------- parameters
def test_init_stores_the_parameters_and_nothing_else() -> None:
    model = Hazard(guard_days=-1, pairs="sometimes")  # type: ignore[arg-type]
    assert model.get_params()["guard_days"] == -1
    assert set(vars(model)) == set(model.get_params())
    assert model.get_params()["half_lives"] == (1.0, 3.0, 7.0, 14.0, 30.0)


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"half_lives": ()}, "half_lives"),
        ({"half_lives": (1.0, -3.0)}, "half_lives"),
        ({"pair_half_lives": (7.0, 7.0)}, "pair_half_lives"),
        ({"guard_days": -1.0}, "guard_days"),
        ({"guard_days": math.inf}, "guard_days"),
        ({"horizon_days": 0.0}, "horizon_days"),
        ({"pairs": "sometimes"}, "pairs"),
        ({"pairs": [("a", "a")]}, "pair"),
        ({"pairs": [("a", "b", "c")]}, "pairs"),
        ({"max_pairs": -1}, "max_pairs"),
        ({"max_pairs": 1.5}, "max_pairs"),
        ({"pair_threshold": 0}, "pair_threshold"),
        ({"reference_guard_days": -2.0}, "reference_guard_days"),
        ({"tolerance": 0.0}, "tolerance"),
        ({"max_iterations": 0}, "max_iterations"),
    ],
)
def test_invalid_parameters_are_named_when_fitting(
    parameters: dict[str, object], named: str
) -> None:
    model = Hazard(**parameters)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=named):
        model.fit(random_journeys(1))


def test_explicit_pairs_must_name_channels_of_the_data() -> None:
    with pytest.raises(ValueError, match="'fax'"):
        Hazard(pairs=[("a", "fax")]).fit(random_journeys(1))


def test_credit_before_fit_is_not_fitted_error() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        Hazard().credit(random_journeys(1))


def test_command_line_options() -> None:
    parser = argparse.ArgumentParser()
    add_model_arguments(parser)
    args = parser.parse_args(
        [
            "--hazard-half-lives",
            "2,10",
            "--hazard-guard-days",
            "0.5",
            "--hazard-horizon-days",
            "60",
            "--hazard-pairs",
            "webinar+sdr_call,a + b",
        ]
    )
    assert model_parameters(args)["hazard"] == {
        "half_lives": (2.0, 10.0),
        "guard_days": 0.5,
        "horizon_days": 60.0,
        "pairs": (("webinar", "sdr_call"), ("a", "b")),
    }
    assert model_parameters(parser.parse_args(["--hazard-pairs", "none"]))["hazard"] == {
        "pairs": "none"
    }
    for bad in (["--hazard-pairs", "webinar"], ["--hazard-half-lives", "1,-2"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


# ---------------------------------------------------------- hand-checked cases
def test_baseline_only_is_conversions_over_time_at_risk() -> None:
    # Every touch is within the 1-day guard of the conversion or of the horizon's end, so
    # no feature is ever positive: b = conversions / days at risk = 2 / (0.5 + 0.25 + 0.5).
    journeys = load(
        [
            J(["a"], True, 10.0, days=[0.0], milestones={"converted_at": 0.5}),
            J(["b", "a"], True, 30.0, days=[0.0, 0.1], milestones={"converted_at": 0.25}),
            J(["a"], False, days=[0.0]),
        ]
    ).journeys
    model = Hazard(pairs="none", reference_guard_days=None)
    statistics = model.statistics(journeys)
    assert statistics.horizon == DAY // 2
    assert statistics.totals[0] == pytest.approx(1.25)
    _, solution = solve(
        statistics, "none", max_pairs=0, threshold=4.0, tolerance=1e-12, max_iterations=50
    )
    assert solution.theta[0] == pytest.approx(2 / 1.25, rel=1e-12)
    assert not solution.theta[1:].any()
    # Nothing to credit: no touch of a converted journey is before its guard.
    with pytest.raises(ModelNotApplicable, match="no converted journey has a touch"):
        model.fit_statistics(statistics)


def test_a_touch_within_the_guard_gets_nothing() -> None:
    journeys = random_journeys(11, n=150)
    model = small_model().fit(journeys)
    credit = model.credit(journeys)
    guard = model.statistics_.settings.guard
    journey = np.repeat(np.arange(journeys.n_journeys), journeys.lengths)
    converted_at = journeys.converted_at[journey]
    timed = converted_at != np.iinfo(np.int64).min
    within = timed & (journeys.timestamp >= converted_at - guard)
    assert within.any()
    assert not credit.value[within].any() and not credit.conversions[within].any()
    untimed = journeys.converted[journey] & ~timed
    assert (credit.value[untimed] != 0).any(), "journeys without a time credit every touch"


def test_removal_effect_against_numeric_integration() -> None:
    """q_jc = P(L − R < E ≤ L) / P(E ≤ L) with L and R integrated numerically from the
    fitted hazard over the journey's window, against the touch credit."""
    journeys = random_journeys(12, n=150)
    model = small_model(pairs=[("a", "b")], reference_guard_days=None).fit(journeys)
    credit = model.credit(journeys)
    s = model.statistics_
    guard = s.settings.guard / DAY
    names = model.channel_names_
    journey = next(
        j
        for j in range(journeys.n_journeys)
        if journeys.converted[j]
        and journeys.converted_at[j] != np.iinfo(np.int64).min
        and len(set(journeys.channel[journeys.offsets[j] : journeys.offsets[j + 1]])) >= 3
        and {"a", "b"}
        <= {names[c] for c in journeys.channel[journeys.offsets[j] : journeys.offsets[j + 1]]}
    )
    lo, hi = journeys.offsets[journey], journeys.offsets[journey + 1]
    origin = int(journeys.timestamp[lo])
    days = (journeys.timestamp[lo:hi] - origin) / DAY
    channels = journeys.channel[lo:hi]
    conversion = (int(journeys.converted_at[journey]) - origin) / DAY
    window = max(conversion, min(s.horizon, s.observed_until - origin) / DAY)
    first = {c: days[list(channels).index(c)] for c in set(channels)}
    a, b = names.index("a"), names.index("b")

    def hazard(t: float, without: int | None) -> float:
        total = model.baseline_
        for c, d in zip(channels, days, strict=True):
            if c != without and d < conversion - guard and d < t - guard:
                total += sum(
                    beta * r * math.exp(-r * (t - guard - d))
                    for beta, r in zip(model.coefficients_[c], s.settings.rates, strict=True)
                )
        complete = max(first[a], first[b])
        if without not in (a, b) and complete < conversion - guard and complete < t - guard:
            total += sum(
                beta * r * math.exp(-r * (t - guard - complete))
                for beta, r in zip(model.pair_coefficients_[0], s.settings.pair_rates, strict=True)
            )
        return total

    breaks = sorted({0.0, window, *(d + guard for d in days if 0 < d + guard < window)})

    def cumulative(without: int | None) -> float:
        return sum(
            integrate.quad(hazard, lo_, hi_, args=(without,), epsabs=1e-13, epsrel=1e-12)[0]
            for lo_, hi_ in itertools.pairwise(breaks)
        )

    whole = cumulative(None)
    density = lambda e: math.exp(-e)  # noqa: E731
    for c in set(channels):
        part = whole - cumulative(int(c))
        lost = integrate.quad(density, whole - part, whole, epsabs=1e-15)[0]
        q = lost / integrate.quad(density, 0, whole, epsabs=1e-15)[0]
        expected = model.scale_value_ * journeys.value[journey] * q
        assert credit.value[lo:hi][channels == c].sum() == pytest.approx(expected, rel=1e-8)


# ------------------------------------------------- conservation and consistency
def test_conserves_in_total_and_channel_totals_are_the_touch_sums() -> None:
    journeys = random_journeys(13, n=200)
    model = small_model().fit(journeys)
    credit = model.credit(journeys)
    creditable = journeys.value[journeys.converted & (journeys.lengths > 0)].sum()
    assert credit.value.sum() == pytest.approx(creditable, rel=1e-12)
    assert credit.conversions.sum() == pytest.approx(
        journeys.conversions[journeys.lengths > 0].sum(), rel=1e-12
    )
    by_channel = np.bincount(journeys.channel, credit.value, minlength=journeys.n_channels)
    np.testing.assert_allclose(by_channel, model.channel_value_, rtol=1e-12)
    assert (credit.value >= 0).all()


def test_a_partition_without_touches_is_credited_nothing() -> None:
    # A partition may hold only untouched journeys (no touch at all): found on Dask.
    journeys = random_journeys(13, n=200)
    model = small_model().fit(journeys)
    untouched = journeys.keep_touches(np.zeros(journeys.n_touches, bool))
    assert untouched.n_touches == 0
    credit = model.credit(untouched)
    assert credit.value.size == 0 and credit.conversions.size == 0


def test_through_the_engine_every_roll_up_reconciles() -> None:
    sim = simulate("b2b", journeys=3_000, seed=4)
    result = at.attribute(sim.load(), ["hazard"], by=("channel", "team"), also_by=[("campaign",)])
    assert result.reconciliation.ok
    totals = {dims: frame["credited_value"].sum() for dims, frame in result.rollups.items()}
    assert len(set(np.round(list(totals.values()), 6))) == 1
    assert any("hazard: pairs" in note.render() for note in result.reconciliation.notes)


def test_weighted_records_equal_duplicated_journeys() -> None:
    rng = np.random.default_rng(14)
    base = random_journeys(14, n=80)
    unit = replace(base, weight=np.ones(base.n_journeys), value=base.value / base.weight)
    doubled = rng.random(base.n_journeys) < 0.4
    weighted = replace(
        unit, weight=np.where(doubled, 2.0, 1.0), value=unit.value * np.where(doubled, 2.0, 1.0)
    )
    copies = unit.subset(
        np.sort(np.concatenate([np.arange(unit.n_journeys), np.flatnonzero(doubled)]))
    )
    one, two = small_model().fit(weighted), small_model().fit(copies)
    np.testing.assert_allclose(one.solution_.theta, two.solution_.theta, rtol=1e-7, atol=1e-12)
    assert [p[:2] for p in one.pairs_] == [p[:2] for p in two.pairs_]
    np.testing.assert_allclose(one.channel_value_, two.channel_value_, rtol=1e-8)
    # Per record: the weight-2 record's touches get what its two copies get together.
    credit_one, credit_two = one.credit(weighted).value, two.credit(copies).value
    record = np.repeat(np.arange(weighted.n_journeys), weighted.lengths)
    source = np.sort(np.concatenate([np.arange(unit.n_journeys), np.flatnonzero(doubled)]))
    copy_record = np.repeat(source, copies.lengths)
    np.testing.assert_allclose(
        np.bincount(record, credit_one), np.bincount(copy_record, credit_two), rtol=1e-7, atol=1e-9
    )


def split(journeys: Journeys, seed: int) -> tuple[Journeys, Journeys]:
    inside = np.random.default_rng(seed).random(journeys.n_journeys) < 0.5
    return journeys.subset(np.flatnonzero(inside)), journeys.subset(np.flatnonzero(~inside))


def test_merged_partitions_fit_like_all_the_data() -> None:
    journeys = random_journeys(15, n=300)
    first, second = split(journeys, 15)
    whole = small_model().fit(journeys)
    model = small_model()
    horizon = model.context(first).merge(model.context(second))
    merged = model.statistics(first, horizon).merge(model.statistics(second, horizon))
    model.fit_statistics(merged)
    assert [p[:2] for p in model.pairs_] == [p[:2] for p in whole.pairs_]
    np.testing.assert_allclose(model.channel_value_, whole.channel_value_, rtol=1e-9)
    assert model.reference_value_ is not None and whole.reference_value_ is not None
    np.testing.assert_allclose(model.reference_value_, whole.reference_value_, rtol=1e-9)
    credit = whole.credit(journeys)
    inside = np.random.default_rng(15).random(journeys.n_journeys) < 0.5
    position = np.repeat(inside, journeys.lengths)
    np.testing.assert_allclose(
        model.credit(first).value, credit.value[position], rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        model.credit(second).value, credit.value[~position], rtol=1e-9, atol=1e-9
    )


def test_statistics_with_their_own_horizons_refuse_to_merge() -> None:
    first, second = split(random_journeys(16, n=200), 16)
    model = small_model()
    with pytest.raises(ValueError, match=r"model\.context"):
        model.statistics(first).merge(model.statistics(second))


def test_partitions_loaded_apart_merge_in_the_union_coding() -> None:
    rows = [
        J(["a", "b"], True, 10.0, days=[0, 5], milestones={"converted_at": 9}),
        J(["b"], False, days=[2]),
        J(["a", "a"], True, 20.0, days=[0, 3], milestones={"converted_at": 20}),
        J(["a"], False, days=[1]),
        J(["c", "b"], True, 5.0, days=[0, 2], milestones={"converted_at": 12}),
        J(["c"], False, days=[4]),
        J(["b", "c", "a"], False, days=[0, 1, 8]),
    ]
    whole = small_model(pairs="none").fit(load(rows).journeys)
    first, second = load(rows[:4]).journeys, load(rows[4:]).journeys
    assert first.channel_names != second.channel_names
    model = small_model(pairs="none")
    horizon = model.context(first).merge(model.context(second))
    merged = model.statistics(first, horizon).merge(model.statistics(second, horizon))
    model.fit_statistics(merged)
    assert model.channel_names_ == whole.channel_names_ == ("a", "b", "c")
    np.testing.assert_allclose(model.channel_value_, whole.channel_value_, rtol=1e-9)


def test_without_any_conversion_time_every_channel_is_treated_alike() -> None:
    journeys = load(
        [J(["a", "b"], True, 10.0), J(["b"], True, 4.0), J(["a"], False), J(["b", "b"], False)]
    ).journeys
    model = Hazard().fit(journeys)
    assert not model.solution_.identified
    credit = model.credit(journeys)
    # Journey 0: 5 to a, 5 to b; journey 1: 4 to b.
    assert dict(zip(model.channel_names_, model.channel_value_, strict=True)) == {
        "a": pytest.approx(5.0),
        "b": pytest.approx(9.0),
    }
    assert credit.value.tolist() == pytest.approx([5.0, 5.0, 4.0, 0.0, 0.0, 0.0])
    assert any("no channel effect could be estimated" in note.message for note in model.notes())


# -------------------------------------------------------------- simulated data
def fit_simulated(spec: str | object, journeys: int, seed: int, **parameters: object) -> tuple:
    sim = simulate(spec, journeys=journeys, seed=seed)  # type: ignore[arg-type]
    result = at.attribute(sim.load(), {"hazard": Hazard(**parameters)}, by=("channel",))  # type: ignore[arg-type]
    assert sim.truth is not None
    shares = result.credits.set_index("channel")["share"]
    return result.models["hazard"], shares, sim


def test_lifts_are_recovered_when_the_model_is_right() -> None:
    """``independent`` with every journey's clock starting at its first touch (an opener
    touch of the effect-free paid_social at the start), so the at-risk windows are the
    simulator's: every fitted lift within 20% of the true one. (On the preset itself the
    first touch comes after the unobserved start of the buyer's horizon, which makes
    journeys that did not convert look at risk longer than they were: late and slow
    channels' lifts come out up to 30% low, their credit shares much less so.)"""
    spec = replace(
        scenario("independent"),
        passengers=(Passenger("paid_social", "opener", probability=1.0),),
    )
    model, _, sim = fit_simulated(spec, 100_000, 1, pairs="none", reference_guard_days=None)
    true = {c.name: c.lift for c in sim.scenario.channels}
    for name, lift in zip(model.channel_names_, model.lift_, strict=True):
        if true[name] > 0:
            assert lift == pytest.approx(true[name], rel=0.2), name
        else:
            assert lift < 0.002, name


@pytest.fixture(scope="module")
def independent() -> tuple:
    return fit_simulated("independent", 40_000, 2)


def test_a_channel_without_effect_gets_under_one_percent(independent: tuple) -> None:
    _, shares, _ = independent
    assert shares["paid_social"] < 0.01


def test_a_closer_passenger_within_the_guard_gets_under_three_percent() -> None:
    model, shares, _ = fit_simulated("last_touch_trap", 40_000, 3)
    assert shares["direct"] < 0.03
    assert "direct" in model.passenger_suspects_
    reference = model.reference_value_ / model.reference_value_.sum()
    assert reference[model.channel_names_.index("direct")] > 0.1, "without the guard it is credited"


def selected(model: Hazard) -> set[frozenset[str]]:
    return {frozenset(pair[:2]) for pair in model.pairs_}


def test_pair_search_finds_the_true_pairs() -> None:
    model, _, sim = fit_simulated("synergy", 30_000, 4)
    true = {frozenset((p.first, p.second)) for p in sim.scenario.interactions}
    assert true <= selected(model)
    assert len(selected(model) - true) <= 1


@pytest.mark.parametrize("name", ["independent", "many_channels"])
def test_pair_search_admits_at_most_one_false_pair(name: str, independent: tuple) -> None:
    model = independent[0] if name == "independent" else fit_simulated(name, 40_000, 5)[0]
    assert len(selected(model)) <= 1


def test_the_lead_stage_copy_credits_as_the_model_does() -> None:
    """The scorecard's lead-stage copy leaves out the reference guard (a check of the main
    run), and its credit-only form the converters' rows: neither changes the credit."""
    journeys = random_journeys(5, 80)
    model = small_model(reference_guard_days=0.0)
    stage = model.lead_stage_model()
    assert stage is not model and stage.get_params() == {
        **model.get_params(),
        "reference_guard_days": None,
    }
    full = small_model(reference_guard_days=0.0).fit(journeys)
    fitted = stage.fit(journeys)
    slim = fitted.for_credit()
    assert fitted.statistics_.n_converters > 0 and fitted.statistics_.reference is None
    assert slim.statistics_.n_converters == 0 and slim.statistics_.x_values.size == 0
    assert fitted.statistics_.n_converters > 0  # the fitted model itself is unchanged
    expected = full.credit(journeys)
    for candidate in (fitted, slim):
        credit = candidate.credit(journeys)
        np.testing.assert_array_equal(credit.conversions, expected.conversions)
        np.testing.assert_array_equal(credit.value, expected.value)
