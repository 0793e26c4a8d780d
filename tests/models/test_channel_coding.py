"""Statistics of partitions loaded apart (each numbering only its own channels) merge
into the statistics of all their journeys: what a partitioned (Dask) run relies on."""

from __future__ import annotations

import numpy as np
import pytest

from attribution.journeys import Journeys
from attribution.models import Markov
from attribution.models.base import AttributionModel
from attribution.models.channel_coding import channel_positions, merged_channel_names
from attribution.models.markov_chain import Repeats
from attribution.models.presence import Presence
from attribution.models.shapley import Shapley
from attribution.models.shapley_simplified import ShapleyOrdered
from tests.builders import J, load


def random_paths(seed: int, n: int, channels: str) -> list[J]:
    rng = np.random.default_rng(seed)
    return [
        J(
            list(rng.choice(list(channels), int(rng.integers(1, 6)))),
            bool(rng.random() < 0.4),
            float(rng.integers(1, 50)),
        )
        for _ in range(n)
    ]


def partitions() -> tuple[Journeys, list[Journeys]]:
    """Whole journeys, and two parts loaded on their own: one without channel e, one
    without a, so each numbers the channels differently from the whole."""
    left, right = random_paths(1, 70, "abcd"), random_paths(2, 90, "bcde")
    whole = load([*left, *right]).journeys.window(None)[0]
    parts = [load(part).journeys.window(None)[0] for part in (left, right)]
    assert parts[0].channel_names != parts[1].channel_names != whole.channel_names
    return whole, parts


def merged_fit(model: AttributionModel, parts: list[Journeys]) -> AttributionModel:
    first, second = (model.statistics(part) for part in parts)
    return model.fit_statistics(first.merge(second))


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("repeats", ["keep", "collapse"])
def test_markov_statistics_of_parts_loaded_apart(order: int, repeats: Repeats) -> None:
    whole, parts = partitions()
    expected = Markov(order=order, repeats=repeats).fit(whole)
    merged = merged_fit(Markov(order=order, repeats=repeats), parts)
    assert isinstance(merged, Markov)
    assert merged.channel_names_ == expected.channel_names_ == whole.channel_names
    assert merged.n_states_ == expected.n_states_
    np.testing.assert_allclose(merged.removal_effects_, expected.removal_effects_, atol=1e-13)
    np.testing.assert_allclose(
        merged.credit(whole).value, expected.credit(whole).value, rtol=1e-12, atol=1e-9
    )


def test_shapley_statistics_of_parts_loaded_apart() -> None:
    whole, parts = partitions()
    expected = Shapley(game="observed_rates").fit(whole)
    merged = merged_fit(Shapley(game="observed_rates"), parts)
    assert isinstance(merged, Shapley)
    np.testing.assert_array_equal(merged.counts_.masks, expected.counts_.masks)
    np.testing.assert_allclose(merged.shapley_value_, expected.shapley_value_, atol=1e-12)
    np.testing.assert_allclose(merged.credit(whole).value, expected.credit(whole).value, atol=1e-9)


@pytest.mark.parametrize("model", [Presence(), Shapley()], ids=["presence", "shapley"])
def test_presence_statistics_of_parts_loaded_apart(model: AttributionModel) -> None:
    whole, parts = partitions()
    expected = type(model)().fit(whole)
    merged = merged_fit(type(model)(), parts)
    presence = merged if isinstance(merged, Presence) else merged.game_model_  # type: ignore[attr-defined]
    reference = expected if isinstance(expected, Presence) else expected.game_model_  # type: ignore[attr-defined]
    assert presence.channel_names_ == whole.channel_names
    np.testing.assert_array_equal(presence.presence_effects_, reference.presence_effects_)
    np.testing.assert_allclose(merged.credit(whole).value, expected.credit(whole).value, rtol=1e-12)


def test_ordered_shapley_statistics_of_parts_loaded_apart() -> None:
    whole, parts = partitions()
    expected = ShapleyOrdered().fit(whole)
    merged = merged_fit(ShapleyOrdered(), parts)
    assert isinstance(merged, ShapleyOrdered)
    width = expected.position_value_.shape[1]
    np.testing.assert_allclose(merged.position_value_[:, :width], expected.position_value_)


def test_codings() -> None:
    assert merged_channel_names(("b", "d"), ("a", "b")) == ("a", "b", "d")
    assert channel_positions(("b", "d"), ("a", "b", "d")).tolist() == [1, 2]
    with pytest.raises(ValueError, match="'z' missing"):
        channel_positions(("z",), ("a",))
