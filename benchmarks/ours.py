"""This engine's models as the benchmarks run them: every model ``"all"`` runs (the
registered models that need no configuration) with its defaults, and the Markov chain
also at orders 2 and 3 (``markov`` is order 1)."""

from __future__ import annotations

from attribution.models.base import AttributionModel
from attribution.models.markov import Markov
from attribution.models.registry import all_models, make_model

#: Markov orders run besides the registered ``markov`` (order 1), labelled ``markov_oK``.
EXTRA_MARKOV_ORDERS = (2, 3)


def our_models() -> dict[str, AttributionModel]:
    """Fresh model objects by label, in reporting order (``markov_o2``/``_o3`` after ``markov``)."""
    models: dict[str, AttributionModel] = {}
    for name in all_models():
        models[name] = make_model(name)
        if name == "markov":
            for order in EXTRA_MARKOV_ORDERS:
                models[f"markov_o{order}"] = Markov(order=order)
    return models


def our_model(label: str) -> AttributionModel:
    """A fresh model object for one label of :func:`our_models`."""
    return our_models()[label]
