"""The closed-form Shapley models (Zhao et al. 2018): by hand and against the game."""

from __future__ import annotations

import numpy as np
import pytest

import attribution as at
from attribution.models.base import NotFittedError
from attribution.models.shapley_simplified import ShapleyOrdered, ShapleySimplified
from tests.builders import J, channel_credit, load
from tests.models.test_shapley_rates import random_journeys
from tests.shapley_reference import brute_force_shapley, subsets_of

# a b (10); a b c a (30); c (6); b (not converted).
HAND = [
    J(["a", "b"], True, 10.0),
    J(["a", "b", "c", "a"], True, 30.0),
    J(["c"], True, 6.0),
    J(["b"], False),
]


@pytest.mark.parametrize("model", ["shapley_simplified", "shapley_ordered"])
def test_three_channels_by_hand(model: str) -> None:
    result = at.attribute(load(HAND), [model], by=["channel"], touch_credits=True)
    # 10 over {a, b}: 5 each. 30 over {a, b, c}: 10 each (a's 10 over two touches: 5, 5).
    # 6 to c. So a = 5 + 10, b = 5 + 10, c = 10 + 6.
    assert channel_credit(result, model) == pytest.approx({"a": 15.0, "b": 15.0, "c": 16.0})
    touches = result.touch_credits
    assert touches is not None
    second = touches[touches["journey_id"] == "j1"]["credited_value"].tolist()
    assert second == pytest.approx([5.0, 10.0, 10.0, 5.0])
    assert result.reconciliation.ok


TWO = [J(["a"], True, 4.0), J(["a", "b"], True, 6.0), J(["b", "a", "b"], True, 2.0)]


@pytest.mark.parametrize("model", ["shapley_simplified", "shapley_ordered"])
def test_two_channels_by_hand(model: str) -> None:
    # a (4): all to a. a b (6): 3 each. b a b (2): 1 each, b's 1 split 0.5 + 0.5.
    # Value: a = 4 + 3 + 1, b = 3 + 1. Conversions: a = 1 + 1/2 + 1/2, b = 1/2 + 1/2.
    result = at.attribute(load(TWO), [model], by=["channel"])
    assert channel_credit(result, model) == pytest.approx({"a": 8.0, "b": 4.0})
    rows = result.credits.set_index("channel")
    assert rows.loc["a", "credited_conversions"] == pytest.approx(2.0)
    assert rows.loc["b", "credited_conversions"] == pytest.approx(1.0)


def test_ordered_two_channels_by_position() -> None:
    windowed, _ = load(TWO).journeys.window(None)
    table = ShapleyOrdered().fit(windowed).position_table()
    by_position = table.set_index(["channel", "position"])["credited_value"]
    # a: position 1 in "a" (4) and "a b" (3), position 2 in "b a b" (1).
    # b: position 2 in "a b" (3), positions 1 and 3 in "b a b" (0.5 each).
    assert by_position.to_dict() == pytest.approx(
        {("a", 1): 7.0, ("a", 2): 1.0, ("b", 1): 0.5, ("b", 2): 3.0, ("b", 3): 0.5}
    )


def test_simplified_is_the_shapley_value_of_zhaos_game() -> None:
    journeys = random_journeys(21, n=50)
    windowed, _ = load(journeys).journeys.window(None)
    names = windowed.channel_names
    n = len(names)
    exact_sets: dict[int, float] = {}
    for j in journeys:
        if j.converted:
            mask = sum(1 << names.index(c) for c in set(j.path))
            exact_sets[mask] = exact_sets.get(mask, 0.0) + j.value
    # v(S) = value of the journeys whose channel set lies inside S.
    game = [sum(exact_sets.get(t, 0.0) for t in subsets_of(s)) for s in range(1 << n)]
    credit = ShapleySimplified().credit(windowed)
    got = np.bincount(windowed.channel, credit.value, minlength=n)
    np.testing.assert_allclose(got, brute_force_shapley(game, n), atol=1e-9)


def test_ordered_positions_by_hand() -> None:
    windowed, _ = load(HAND).journeys.window(None)
    model = ShapleyOrdered().fit(windowed)
    table = model.position_table().set_index(["channel", "position"])["credited_value"]
    # a: position 1 in journeys 0 and 1 (5 + 5), position 4 in journey 1 (5).
    # b: position 2 (5 + 10). c: position 3 (10), position 1 in journey 2 (6).
    assert table.to_dict() == pytest.approx(
        {("a", 1): 10.0, ("a", 4): 5.0, ("b", 2): 15.0, ("c", 1): 6.0, ("c", 3): 10.0}
    )
    means = dict(zip(windowed.channel_names, model.channel_columns()["mean_position"], strict=True))
    # a: (1 x 10 + 4 x 5) / 15 = 2; b: 2; c: (3 x 10 + 1 x 6) / 16.
    assert means == pytest.approx({"a": 2.0, "b": 2.0, "c": 36 / 16})


def test_ordered_statistics_merge() -> None:
    windowed, _ = load(random_journeys(22, n=60)).journeys.window(None)
    model = ShapleyOrdered()
    whole = ShapleyOrdered().fit(windowed)
    merged = model.fit_statistics(
        model.statistics(windowed.subset(np.arange(0, 17))).merge(
            model.statistics(windowed.subset(np.arange(17, windowed.n_journeys)))
        )
    )
    np.testing.assert_allclose(merged.position_value_, whole.position_value_, atol=1e-12)
    np.testing.assert_allclose(
        merged.position_value_.sum(axis=1),
        np.bincount(windowed.channel, ShapleySimplified().credit(windowed).value),
        atol=1e-12,
    )


def test_any_number_of_channels() -> None:
    journeys = [J([f"c{i}", f"c{(i * 7) % 90}", f"c{i}"], True, 9.0) for i in range(90)]
    result = at.attribute(load(journeys), ["shapley_simplified", "shapley_ordered"])
    assert result.reconciliation.ok
    assert len(load(journeys).journeys.channel_names) == 90


@pytest.mark.parametrize("model", [ShapleySimplified, ShapleyOrdered])
def test_partitions_credit_like_the_whole(model: type[ShapleySimplified | ShapleyOrdered]) -> None:
    windowed, _ = load(random_journeys(23, n=80)).journeys.window(None)
    parts = [windowed.subset(np.arange(0, 30)), windowed.subset(np.arange(30, windowed.n_journeys))]
    fitted = model()
    fitted.fit_statistics(fitted.statistics(parts[0]).merge(fitted.statistics(parts[1])))
    summed = sum(
        np.bincount(part.channel, fitted.credit(part).value, minlength=windowed.n_channels)
        for part in parts
    )
    whole = np.bincount(windowed.channel, model().fit(windowed).credit(windowed).value)
    np.testing.assert_allclose(summed, whole, rtol=1e-9)


def test_unfitted_ordered_names_the_model() -> None:
    with pytest.raises(NotFittedError, match="shapley_ordered is not fitted"):
        ShapleyOrdered().position_table()
