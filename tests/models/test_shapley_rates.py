"""``shapley`` with the observed-rate game: hand-checked games, the reference game, the
engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.labels import NO_TOUCH_LABEL
from attribution.models.base import AttributionModel
from attribution.models.shapley import Shapley
from attribution.models.shapley_rates import Unobserved
from tests.builders import J, channel_credit, load, touches_frame
from tests.shapley_reference import brute_force_shapley, coalition_totals, rate_game

RULES: tuple[Unobserved, ...] = ("mean_subsets", "best_subset", "zero")


def rates() -> dict[str, AttributionModel]:
    """The model as the tests run it through the engine (a fresh one each time)."""
    return {"shapley": Shapley(game="observed_rates")}


def fitted(journeys: list[J], **params: object) -> tuple[Shapley, at.Journeys]:
    windowed, _ = load(journeys).journeys.window(None)
    model = Shapley(game="observed_rates", **params)  # type: ignore[arg-type]
    return model.fit(windowed), windowed


def by_name(model: Shapley, values: np.ndarray) -> dict[str, float]:
    return dict(zip(model.counts_.channel_names, values.tolist(), strict=True))


# Two channels. Channel sets: {a} x4 (one converts, value 10), {b} x2 (one, value 20),
# {a,b} x4 (two, values 10 and 30).
TWO = (
    [J(["a"], True, 10.0)]
    + [J(["a"], False)] * 3
    + [J(["b"], True, 20.0), J(["b"], False)]
    + [J(["a", "b", "a"], True, 30.0), J(["b", "a"], True, 10.0)]
    + [J(["a", "b"], False)] * 2
)


def test_two_channels_by_hand() -> None:
    model, windowed = fitted(TWO)
    # Conversion rates r(a) = 1/4, r(b) = 1/2, r(ab) = 2/4.
    # v(a) = 4(1/4) + 2 r(empty) + 4(1/4) = 2; v(b) = 0 + 2(1/2) + 4(1/2) = 3; v(ab) = 4.
    # phi_a = (v(a) - 0)/2 + (v(ab) - v(b))/2 = 1 + 1/2; phi_b = 3/2 + 2/2.
    assert by_name(model, model.shapley_conversions_) == pytest.approx({"a": 1.5, "b": 2.5})
    # Value per journey 10/4, 20/2, 40/4: v(a) = 10 + 10 = 20, v(b) = 20 + 40 = 60, v(ab) = 70.
    # phi_a = 20/2 + (70 - 60)/2 = 15; phi_b = 60/2 + (70 - 20)/2 = 55.
    assert by_name(model, model.shapley_value_) == pytest.approx({"a": 15.0, "b": 55.0})
    credit = model.credit(windowed)
    # Game of {a,b}: phi_a = r(a)/2 + (r(ab) - r(b))/2 = 1.25 + 0, phi_b = 5 + 3.75 = 8.75,
    # summing to r(ab) = 10. The journey worth 30 scales it by 30 / 10: a 3.75, b 26.25,
    # and a's 3.75 is split over its two touches.
    start = int(windowed.offsets[6])
    np.testing.assert_allclose(credit.value[start : start + 3], [1.875, 26.25, 1.875])
    result = at.attribute(load(TWO), rates(), by=["channel"])
    assert channel_credit(result, "shapley") == pytest.approx({"a": 15.0, "b": 55.0})
    assert result.reconciliation.ok


# Three channels with unobserved coalitions {c}, {a,b}, {a,c}, {b,c}:
# {a} x2 (one converts), {b} x1 (none), {a,b,c} x2 (both convert). Values are 1.
THREE = [J(["a"]), J(["a"], False), J(["b"], False), J(["a", "b", "c"]), J(["c", "b", "a"])]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # zero: r(ab) = r(ac) = r(bc) = r(c) = 0. In the game of {a,b,c} (weights 1/3 for
        # |S| = 0 or 2, 1/6 for |S| = 1): phi_a = .5/3 + 1/3 = 1/2,
        # phi_b = (r(ab) - r(a))/6 + (1 - r(ac))/3 = -1/12 + 1/3 = 1/4 = phi_c.
        # Totals: a = 2 x 1/2 ({a}) + 2 x 1/2 = 2, b = c = 2 x 1/4.
        ("zero", {"a": 2.0, "b": 0.5, "c": 0.5}),
        # mean_subsets: r(c) = 0, r(ab) = (1/2 + 0)/2 = 1/4 = r(ac), r(bc) = 0.
        # phi_a = 1/6 + 1/24 + 1/24 + 1/3 = 7/12; phi_b = -1/24 + (3/4)/3 = 5/24 = phi_c.
        ("mean_subsets", {"a": 1 + 7 / 6, "b": 5 / 12, "c": 5 / 12}),
        # best_subset: r(c) = 0, r(ab) = r(ac) = 1/2 (from {a}), r(bc) = 0 (from {b}).
        # phi_a = 1/6 + 1/12 + 1/12 + 1/3 = 2/3; phi_b = 0 + (1 - 1/2)/3 = 1/6 = phi_c.
        ("best_subset", {"a": 1 + 4 / 3, "b": 1 / 3, "c": 1 / 3}),
    ],
)
def test_three_channels_by_hand(rule: Unobserved, expected: dict[str, float]) -> None:
    model, windowed = fitted(THREE, unobserved=rule)
    assert by_name(model, model.shapley_conversions_) == pytest.approx(expected)
    assert by_name(model, model.shapley_value_) == pytest.approx(expected)
    credit = model.credit(windowed)
    assert credit.value.sum() == pytest.approx(3.0)


def test_negative_credit_is_reported_not_clipped() -> None:
    # {a} x2 both convert (rate 1); {a,b} x2 never convert. Game of {a,b} (mean rule,
    # r(b) = 0): phi_a = 1/2 + (0 - 0)/2 = 1/2, phi_b = 0/2 + (0 - 1)/2 = -1/2. That set
    # never converts, so its journeys carry the zero-sum vector: a +1, b -1.
    journeys = [J(["a"]), J(["a"]), J(["a", "b"], False), J(["b", "a"], False)]
    result = at.attribute(load(journeys), rates(), by=["channel"])
    assert channel_credit(result, "shapley") == pytest.approx({"a": 3.0, "b": -1.0})
    assert result.reconciliation.ok
    notes = " ".join(note.render() for note in result.reconciliation.notes)
    assert "negative credit" in notes and "b" in notes
    assert "never converted" in notes


def random_journeys(seed: int, n: int = 40, channels: str = "abcdef") -> list[J]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        path = list(rng.choice(list(channels), int(rng.integers(1, 6))))
        converted = bool(rng.random() < 0.45)
        out.append(J(path, converted, float(rng.integers(1, 50))))
    return out


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("smoothing", [0.0, 2.5])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("method", ["dense", "per_set"])
def test_model_matches_the_reference_game(
    rule: Unobserved, smoothing: float, seed: int, method: str
) -> None:
    journeys = random_journeys(seed)
    model, windowed = fitted(journeys, unobserved=rule, smoothing=smoothing, exact_method=method)
    names = windowed.channel_names
    paths = [[names.index(c) for c in j.path] for j in journeys]
    for amounts, got in (
        ([float(j.converted) for j in journeys], model.shapley_conversions_),
        ([j.value if j.converted else 0.0 for j in journeys], model.shapley_value_),
    ):
        count, total = coalition_totals(paths, amounts, [1.0] * len(journeys))
        game = rate_game(len(names), count, total, rule, smoothing)
        assert game[-1] == pytest.approx(sum(amounts))  # efficiency against the data
        np.testing.assert_allclose(got, brute_force_shapley(game, len(names)), atol=1e-9)
    # Per journey: a converted journey's credits sum to its value; others to zero.
    credit = model.credit(windowed)
    per_journey = np.add.reduceat(credit.value, windowed.offsets[:-1])
    np.testing.assert_allclose(per_journey, windowed.value, atol=1e-9)
    per_channel = np.bincount(windowed.channel, credit.value, minlength=len(names))
    np.testing.assert_allclose(per_channel, model.shapley_value_, atol=1e-9)


@pytest.mark.parametrize("rule", RULES)
def test_per_coalition_path_equals_dense_path(rule: Unobserved) -> None:
    journeys = random_journeys(5, n=60)
    dense, windowed = fitted(journeys, unobserved=rule, smoothing=1.0, exact_method="dense")
    local = Shapley(
        game="observed_rates", unobserved=rule, smoothing=1.0, exact_method="per_set"
    ).fit(windowed)
    above = Shapley(game="observed_rates", unobserved=rule, smoothing=1.0, exact_limit=5).fit(
        windowed
    )
    assert dense.method_ == local.method_ == above.method_ == "exact"
    assert "all 2^6 coalitions" in dense.rate_game_.detail
    assert "own subsets" in local.rate_game_.detail and "own subsets" in above.rate_game_.detail
    np.testing.assert_allclose(above.shapley_value_, dense.shapley_value_, atol=1e-9)
    np.testing.assert_allclose(local.shapley_value_, dense.shapley_value_, atol=1e-9)
    np.testing.assert_allclose(
        local.credit(windowed).value, dense.credit(windowed).value, atol=1e-9
    )


def test_merged_statistics_of_partitions_fit_like_the_whole() -> None:
    windowed, _ = load(random_journeys(3, n=80)).journeys.window(None)
    model = Shapley(game="observed_rates")
    whole = Shapley(game="observed_rates").fit(windowed)
    left = model.statistics(windowed.subset(np.arange(0, 30)))
    right = model.statistics(windowed.subset(np.arange(30, windowed.n_journeys)))
    merged = model.fit_statistics(left.merge(right))
    np.testing.assert_array_equal(merged.counts_.masks, whole.counts_.masks)
    np.testing.assert_allclose(merged.shapley_value_, whole.shapley_value_, atol=1e-12)
    np.testing.assert_allclose(
        merged.credit(windowed).value, whole.credit(windowed).value, atol=1e-12
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(RULES), st.floats(0, 5))
def test_engine_conserves_and_credits_match_shapley(seed: int, rule: Unobserved, k: float) -> None:
    loaded = load(random_journeys(seed, n=25, channels="abcd"))
    model = Shapley(game="observed_rates", unobserved=rule, smoothing=k)
    result = at.attribute(loaded, {"s": model}, by=["channel"])
    assert result.reconciliation.ok
    totals = channel_credit(result, "s")
    for code, name in enumerate(model.counts_.channel_names):
        assert totals.get(name, 0.0) == pytest.approx(model.shapley_value_[code], abs=1e-9)


def test_invariant_to_channel_renaming_and_row_order() -> None:
    journeys = random_journeys(7, n=60)
    frame = touches_frame(journeys)
    base = channel_credit(at.attribute(at.load(frame), rates(), by=["channel"]), "shapley")
    rename = {"a": "zz", "b": "aa", "c": "mm", "d": "bb", "e": "yy", "f": "cc"}
    renamed = frame.assign(channel=frame["channel"].map(rename))
    shuffled = renamed.sample(frac=1.0, random_state=3).reset_index(drop=True)
    other = channel_credit(at.attribute(at.load(shuffled), rates(), by=["channel"]), "shapley")
    assert {rename[c]: v for c, v in base.items()} == pytest.approx(other, abs=1e-9)


def test_journeys_left_without_touches_are_outside_the_game() -> None:
    # The third journey's only touch is 40 days before its conversion: out of a 30-day
    # lookback, so it cannot be credited; the others still conserve.
    journeys = [
        J(["a", "b"], True, 10.0, milestones={"converted_at": 2}),
        J(["a"], False),
        J(["b"], True, 5.0, days=[0], milestones={"converted_at": 40}),
        J(["b"], True, 7.0, milestones={"converted_at": 1}),
    ]
    result = at.attribute(load(journeys), rates(), by=["channel"], lookback_days=30)
    assert result.reconciliation.ok
    credit = channel_credit(result, "shapley")
    # The uncreditable journey's value shows as untouched pipeline, not on a channel.
    assert credit.pop(NO_TOUCH_LABEL) == pytest.approx(5.0)
    assert sum(credit.values()) == pytest.approx(17.0)


def sampled_fit(data_seed: int, **params: object) -> tuple[Shapley, Shapley, at.Journeys]:
    journeys = random_journeys(data_seed, n=150, channels="abcdefg")
    windowed, _ = load(journeys).journeys.window(None)
    game = {k: v for k, v in params.items() if k in ("unobserved", "smoothing")}
    exact = Shapley(game="observed_rates", **game).fit(windowed)  # type: ignore[arg-type]
    sampled = Shapley(game="observed_rates", exact_limit=2, **params).fit(windowed)  # type: ignore[arg-type]
    return exact, sampled, windowed


@pytest.mark.parametrize(
    ("rule", "smoothing"), [("mean_subsets", 0.0), ("zero", 2.0), ("best_subset", 1.0)]
)
def test_sampling_is_seeded_and_within_its_standard_errors(
    rule: Unobserved, smoothing: float
) -> None:
    params = {"unobserved": rule, "smoothing": smoothing, "max_permutations": 512}
    exact, sampled, windowed = sampled_fit(11, seed=5, **params)
    assert sampled.method_ == "sampled"
    again = Shapley(game="observed_rates", exact_limit=2, seed=5, **params).fit(windowed)  # type: ignore[arg-type]
    np.testing.assert_array_equal(sampled.shapley_value_, again.shapley_value_)
    other = Shapley(game="observed_rates", exact_limit=2, seed=6, **params).fit(windowed)  # type: ignore[arg-type]
    assert not np.array_equal(sampled.shapley_value_, other.shapley_value_)
    se = sampled.standard_error_
    assert se is not None and (se > 0).any()
    z = np.abs(sampled.shapley_value_ - exact.shapley_value_) / np.where(se > 0, se, 1.0)
    assert z.max() < 4.5
    # Efficiency holds exactly in every sample, so the credits still conserve.
    credit = sampled.credit(windowed)
    assert credit.value.sum() == pytest.approx(windowed.total_value, rel=1e-12)
    assert "std_error" in sampled.channel_columns()
    assert any("sampled" in note.message for note in sampled.notes())


def test_best_subset_sampling_refuses_beyond_its_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    import attribution.models.shapley_rates as module

    monkeypatch.setattr(module, "MEMO_LIMIT", 3)
    windowed, _ = load(random_journeys(14, n=80, channels="abcdefg")).journeys.window(None)
    with pytest.raises(ValueError, match="group channels"):
        Shapley(game="observed_rates", unobserved="best_subset", exact_limit=2).fit(windowed)


def test_sampling_stops_on_the_standard_error() -> None:
    _, loose, _ = sampled_fit(12, tolerance=0.5)
    _, tight, _ = sampled_fit(12, tolerance=1e-6, max_permutations=256)
    assert loose.converged_ and not tight.converged_
    assert tight.n_permutations_ == 256
    assert "stopping rule met" in loose.rate_game_.detail
    assert "stopping rule not met" in tight.rate_game_.detail
    assert loose.standard_error_ is not None and tight.standard_error_ is not None
    total = float(loose.counts_.value.sum())
    assert loose.standard_error_.max() <= 0.5 * total


def test_forbidden_sampling_suggests_grouping() -> None:
    windowed, _ = load(random_journeys(13, n=50)).journeys.window(None)
    with pytest.raises(ValueError, match="group channels"):
        Shapley(game="observed_rates", exact_limit=2, sampling="forbid").fit(windowed)


def test_too_many_channels_for_masks() -> None:
    journeys = [J([f"c{i}", f"c{i + 1}"]) for i in range(0, 70, 2)]
    with pytest.raises(ValueError, match="group channels"):
        at.attribute(load(journeys), rates())
    result = at.attribute(load(journeys), ["shapley_simplified"], by=["channel"])
    assert result.reconciliation.ok


@pytest.mark.parametrize(
    "params",
    [
        {"unobserved": "median"},
        {"smoothing": -1.0},
        {"exact_limit": 31},
        {"sampling": "maybe"},
        {"tolerance": 0.0},
        {"max_permutations": 2},
        {"seed": -1},
        {"exact_method": "fast"},
        {"game": "rates"},
        {"game_model": "presence"},
    ],
)
def test_parameters_are_checked(params: dict[str, object]) -> None:
    model = Shapley(**{"game": "observed_rates", **params})  # type: ignore[arg-type]
    assert model.get_params()[next(iter(params))] == next(iter(params.values()))
    windowed, _ = load(random_journeys(1, n=10)).journeys.window(None)
    with pytest.raises(ValueError, match=next(iter(params)).split("_")[0]):
        model.fit(windowed)


def test_cli_options_reach_the_model() -> None:
    from attribution.models.registry import make_model

    model = make_model("shapley", {"unobserved": "zero", "exact_limit": 12, "seed": 3})
    assert isinstance(model, Shapley)
    assert (model.unobserved, model.exact_limit, model.seed) == ("zero", 12, 3)


def test_weighted_records_equal_repeated_journeys() -> None:
    # A path table's weight 3 stands for three identical journeys.
    paths = pd.DataFrame(
        {
            "path": ["a > b", "a", "b"],
            "total_conversions": [2, 1, 0],
            "total_null": [1, 2, 3],
            "total_conversion_value": [30.0, 5.0, 0.0],
        }
    )
    from_paths = at.attribute(at.load_paths(paths), rates(), by=["channel"])
    expanded = (
        [J(["a", "b"], True, 15.0)] * 2
        + [J(["a", "b"], False)]
        + [J(["a"], True, 5.0)]
        + [J(["a"], False)] * 2
        + [J(["b"], False)] * 3
    )
    from_touches = at.attribute(load(expanded), rates(), by=["channel"])
    assert channel_credit(from_paths, "shapley") == pytest.approx(
        channel_credit(from_touches, "shapley")
    )


def test_partitions_credit_like_the_whole() -> None:
    windowed, _ = load(random_journeys(31, n=90)).journeys.window(None)
    parts = [windowed.subset(np.arange(0, 40)), windowed.subset(np.arange(40, windowed.n_journeys))]
    model = Shapley(game="observed_rates")
    model.fit_statistics(model.statistics(parts[0]).merge(model.statistics(parts[1])))
    summed = sum(
        np.bincount(part.channel, model.credit(part).value, minlength=windowed.n_channels)
        for part in parts
    )
    whole = Shapley(game="observed_rates").fit(windowed)
    np.testing.assert_allclose(summed, whole.shapley_value_, rtol=1e-9, atol=1e-9)
