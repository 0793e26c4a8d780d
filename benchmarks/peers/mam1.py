"""marketing-attribution-models 1.0.x (import ``marketing_attribution_models``), the classic API.

Optional legacy peer: it needs pandas < 3 (under pandas 3 its Shapley is silently wrong,
so the adapter refuses to run there) and its own environment, passed with
``--mam1-python``. Its import calls ``plt.style.use("seaborn-white")``, a style
matplotlib >= 3.8 renamed: the adapter aliases it in-process before importing.

Input: the journey table (``channels`` path, ``time_till_conv`` hours to the journey's
last touch per touch, ``converted``, ``value``), read with ``group_channels=False``. A
``MAM`` object credits one unit (``conversion_value``): the timed object credits value;
conversions come from a second object built and run untimed.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.peers.common import SEP, Credits, Job, PeerInfo, PeerModel, by_channel

CALLS: dict[str, Callable[[Any], Any]] = {
    "first_click": lambda m: m.attribution_first_click(),
    "last_click": lambda m: m.attribution_last_click(),
    "linear": lambda m: m.attribution_linear(),
    "position_based": lambda m: m.attribution_position_based(),
    "time_decay": lambda m: m.attribution_time_decay(),
    # The default conversion_value_as_frequency=True weights every transition by the
    # journey's value, so journeys that did not convert weigh nothing.
    "markov": lambda m: m.attribution_markov(conversion_value_as_frequency=False),
    "shapley_size4": lambda m: m.attribution_shapley(),
}

INFO = PeerInfo(
    name="mam1",
    label="MAM 1.0.x",
    distribution="marketing-attribution-models",
    import_name="marketing_attribution_models",
    input="journeys",
    setup="MAM(group_channels=False) constructor",
    jobs=(
        Job("first_click", (PeerModel("first_click", "first_touch"),), "attribution_first_click()"),
        Job("last_click", (PeerModel("last_click", "last_touch"),), "attribution_last_click()"),
        Job("linear", (PeerModel("linear", "linear"),), "attribution_linear()"),
        Job(
            "position_based",
            (PeerModel("position_based", "position_based", "40/20/40"),),
            "attribution_position_based()",
        ),
        Job(
            "time_decay",
            (
                PeerModel(
                    "time_decay",
                    "time_decay",
                    "halves every whole 168 h before the last touch (step function)",
                ),
            ),
            "attribution_time_decay()",
        ),
        Job(
            "markov",
            (PeerModel("markov", "markov", "exact order-1 removal effects"),),
            "attribution_markov(conversion_value_as_frequency=False)",
        ),
        Job(
            "shapley_size4",
            (
                PeerModel(
                    "shapley_size4",
                    "shapley",
                    "the default size=4: keeps the last 4 channels of each journey",
                ),
            ),
            "attribution_shapley() (default size=4)",
            accuracy=False,
            skip_reason="same algorithm and numbers as MAM 2.x shapley_max4, about a minute "
            "per run (a pandas cell loop)",
        ),
    ),
    notes=(
        "Markov is exact (matches this engine's order-1 removal effects) once "
        "conversion_value_as_frequency=False is passed; its default weights every "
        "transition by the journey's value, which drops journeys that did not convert.",
        "Shapley runs only with its default size=4 (the last 4 channels of each journey): "
        "with every channel it does not finish within minutes beyond ~8 channels.",
        "One MAM object credits one unit: the timed run credits value; conversions come "
        "from a second, untimed object.",
    ),
)


def import_peer() -> Any:
    """Import the peer, refusing pandas >= 3 and aliasing the matplotlib style it uses."""
    if int(pd.__version__.split(".")[0]) >= 3:
        raise RuntimeError(
            f"needs pandas < 3 (its Shapley is silently wrong under pandas {pd.__version__}): "
            "pass --mam1-python of an environment with pandas 2"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.style as style

    if "seaborn-white" not in style.library and "seaborn-v0_8-white" in style.library:
        style.library["seaborn-white"] = style.library["seaborn-v0_8-white"]
        style.available.append("seaborn-white")
    return importlib.import_module("marketing_attribution_models")


def read(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "journeys.parquet")


def _mam(data: pd.DataFrame, value: int | str) -> Any:
    return importlib.import_module("marketing_attribution_models").MAM(
        data,
        channels_colname="channels",
        journey_with_conv_colname="converted",
        time_till_conv_colname="time_till_conv",
        conversion_value=value,
        group_channels=False,
        group_channels_by_id_list=["journey_id"],
        path_separator=SEP,
    )


def setup(data: pd.DataFrame) -> dict[str, Any]:
    """The value-crediting MAM object (the conversion-crediting one is built untimed)."""
    return {"data": data, "value": _mam(data, "value")}


def _per_channel(mam: Any, job: str) -> dict[str, float]:
    mam.group_by_channels_models = None  # each call then leaves one model column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CALLS[job](mam)
    frame = mam.group_by_channels_models
    column = frame.columns[-1]
    return dict(zip(frame["channels"].astype(str), frame[column].astype(float), strict=True))


def run(state: dict[str, Any], job: str) -> Credits:
    return {job: by_channel(None, _per_channel(state["value"], job))}


def complete(state: dict[str, Any], job: str, credits: Credits) -> Credits:
    """Add the credited conversions from a second MAM object (untimed)."""
    if "conversions" not in state:
        state["conversions"] = _mam(state["data"], 1)
    conversions = _per_channel(state["conversions"], job)
    value = {channel: v for channel, (_, v) in credits[job].items()}
    return {job: by_channel(conversions, value)}
