"""``attribute()`` is strict: one documented way to configure each model, and every
mistake a ParameterError naming it."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import attribution as at
from attribution.models import Linear, TimeDecay
from tests.builders import J, load

JOURNEYS = [J(["a", "b"], value=10, days=[0, 10]), J(["b"], converted=False)]


@pytest.fixture
def loaded() -> at.Loaded:
    return load(JOURNEYS)


def test_models_by_name_with_parameters(loaded: at.Loaded) -> None:
    result = at.attribute(loaded, ["time_decay"], parameters={"time_decay": {"half_life_days": 10}})
    model = result.models["time_decay"]
    assert isinstance(model, TimeDecay) and model.half_life_days == 10
    credits = result.credits.set_index("channel")["credited_value"]
    assert credits["a"] == pytest.approx(10 / 3) and credits["b"] == pytest.approx(20 / 3)


def test_a_typo_in_parameters_is_an_error(loaded: at.Loaded) -> None:
    with pytest.raises(at.ParameterError, match="'time_decy', which is not a model"):
        at.attribute(loaded, ["time_decay"], parameters={"time_decy": {"half_life_days": 3}})
    with pytest.raises(at.ParameterError, match=r"time_decay has no parameter.*half_life"):
        at.attribute(loaded, ["time_decay"], parameters={"time_decay": {"half_life": 3}})


def test_parameters_for_a_model_object_are_refused(loaded: at.Loaded) -> None:
    with pytest.raises(at.ParameterError, match="set them on the object"):
        at.attribute(
            loaded, [TimeDecay(half_life_days=3)], parameters={"time_decay": {"half_life_days": 9}}
        )


def test_the_accepted_shapes_of_models(loaded: at.Loaded) -> None:
    assert list(at.attribute(loaded, "linear").models) == ["linear"]
    assert list(at.attribute(loaded, ["linear", TimeDecay(3)]).models) == ["linear", "time_decay"]
    both = at.attribute(loaded, {"td3": TimeDecay(3), "td14": TimeDecay(14)})
    assert list(both.models) == ["td3", "td14"]
    with pytest.raises(at.ParameterError, match="pass several models as a list"):
        at.attribute(loaded, "linear,markov")
    with pytest.raises(at.ParameterError, match="listed twice"):
        at.attribute(loaded, ["linear", Linear()])
    with pytest.raises(at.ParameterError, match="unknown model 'nonsense'"):
        at.attribute(loaded, ["nonsense"])
    with pytest.raises(at.ParameterError, match="a model is a name or a model object"):
        at.attribute(loaded, [3])  # type: ignore[list-item]
    with pytest.raises(at.ParameterError, match="no models"):
        at.attribute(loaded, [])
    assert next(iter(at.attribute(loaded, " all ").models)) == "first_touch"


@pytest.mark.parametrize(
    "models",
    [{"linear", "first_touch"}, frozenset({"linear"}), {"linear": Linear()}.keys()],
)
def test_an_unordered_collection_of_models_is_refused(loaded: at.Loaded, models: object) -> None:
    # The result's tables follow the order of the models: a set would change it per run.
    with pytest.raises(
        at.ParameterError, match=r"models must be a sequence or mapping; a .* has no order"
    ):
        at.attribute(loaded, models)  # type: ignore[arg-type]


def test_invalid_options_are_parameter_errors(loaded: at.Loaded) -> None:
    with pytest.raises(at.ParameterError, match="roll up by at least one"):
        at.attribute(loaded, ["linear"], by=())
    with pytest.raises(at.ParameterError, match="by must be a sequence"):
        at.attribute(loaded, ["linear"], by="channel")
    with pytest.raises(at.ParameterError, match="unknown roll-up dimension"):
        at.attribute(loaded, ["linear"], by=("region",))
    with pytest.raises(at.ParameterError, match="period must be one of"):
        at.attribute(loaded, ["linear"], period="week")  # type: ignore[arg-type]
    with pytest.raises(at.ParameterError, match="give period as well"):
        at.attribute(loaded, ["linear"], cohort="closed_at")
    with pytest.raises(at.ParameterError, match="on_invalid must be one of"):
        at.load(pd.DataFrame({"x": [1]}), on_invalid="ignore")  # type: ignore[arg-type]
    with pytest.raises(at.ParameterError, match="untouched must be one of"):
        at.load(pd.DataFrame({"x": [1]}), untouched="keep")  # type: ignore[arg-type]


def test_results_are_data(loaded: at.Loaded) -> None:
    result = at.attribute(loaded, ["linear", "influenced"], by=("channel",))
    statuses = {m.model: m.status for m in result.reconciliation.models}
    assert statuses == {"linear": at.Status.OK, "influenced": at.Status.NOT_CONSERVING}
    assert isinstance(result.to_arrow(), pa.Table)
    assert result.to_arrow().num_rows == len(result.credits)
    assert "linear" in result.summary() and "Reconciliation" in result.summary()
    notes = at.attribute(loaded, ["linear"], by=("campaign",)).reconciliation.notes
    assert [(n.code, n.model) for n in notes] == [("dimension_missing", None)]
