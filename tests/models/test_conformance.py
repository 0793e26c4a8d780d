"""One conformance check that every registered model passes (like scikit-learn's
``estimator_checks``): parameters from ``__init__``, ``clone``, ``get/set_params``,
nothing but parameters set in ``__init__``, ``fit`` returns ``self``, learned attributes
end in ``_``, ``NotFittedError`` before fitting, deterministic credit."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import attribution as at
from attribution.models.registry import EXAMPLE_PARAMETERS, model_names
from attribution.models.registry import make_model as make_default
from tests.builders import J, load


def make_model(name: str) -> at.models.AttributionModel:
    """The registered model, configured when it has no usable defaults."""
    return make_default(name, EXAMPLE_PARAMETERS.get(name))


JOURNEYS = [
    J(["a", "b", "c"], value=30, days=[0, 2, 5], milestones={"lead_created_at": 2}),
    J(["b", "a"], value=10, days=[1, 3]),
    J(["c"], converted=False, days=[4]),
    J(["a", "c", "c"], converted=False, days=[0, 1, 6]),
    J(["b"], value=5, days=[2]),
]


@pytest.fixture(scope="module")
def journeys() -> at.Journeys:
    return load(JOURNEYS).journeys


@pytest.mark.parametrize("name", model_names())
def test_parameters_come_from_the_signature(name: str) -> None:
    model = make_default(name)
    init = type(model).__init__
    signature = (
        []
        if init is object.__init__
        else [p for p in inspect.signature(init).parameters if p != "self"]
    )
    assert list(model.get_params()) == signature
    # __init__ stores its arguments and nothing else.
    assert set(vars(model)) == set(signature)
    twin = at.clone(model)
    assert type(twin) is type(model) and twin is not model
    assert twin.get_params() == model.get_params()
    if signature:
        key = signature[0]
        assert model.set_params(**{key: model.get_params()[key]}) is model
    with pytest.raises(at.ParameterError, match="no parameter"):
        model.set_params(not_a_parameter=1)


@pytest.mark.parametrize("name", model_names())
def test_fit_returns_self_and_learns_only_underscored_attributes(
    name: str, journeys: at.Journeys
) -> None:
    model = make_model(name)
    before = set(vars(model))
    windowed, _ = journeys.window(None)
    assert model.fit(windowed) is model
    learned = set(vars(model)) - before
    assert all(attribute.endswith("_") for attribute in learned), learned
    assert at.clone(model).get_params() == model.get_params()
    assert not set(vars(at.clone(model))) - before  # a clone is unfitted


@pytest.mark.parametrize("name", [n for n in model_names() if make_model(n).learns])
def test_a_learning_model_refuses_to_credit_before_fitting(
    name: str, journeys: at.Journeys
) -> None:
    with pytest.raises(at.NotFittedError, match=name):
        make_model(name).credit(journeys.converted_only)


@pytest.mark.parametrize("name", model_names())
def test_credit_is_deterministic_and_aligned(name: str, journeys: at.Journeys) -> None:
    windowed, _ = journeys.window(None)
    credited = windowed.converted_only if make_model(name).credits_converted_only else windowed
    first = make_model(name).fit(windowed).credit(credited)
    second = make_model(name).fit(windowed).credit(credited)
    assert len(first.value) == len(first.conversions) == credited.n_touches
    np.testing.assert_array_equal(first.value, second.value)
    np.testing.assert_array_equal(first.conversions, second.conversions)
