"""marketing-attribution-models 2.x (PyPI ``marketing-attribution-models``, import ``mam``).

The Polars rewrite (2.1.1 tested). Input: the session table (one row per touch:
``journey_id``, ``timestamp``, ``channel``, ``converted`` on every touch, the journey's
``value`` on its last touch), read with ``format_type="session"``. A ``MAM`` object
credits one unit, set by ``conversion_value_colname``: the timed object credits value
(setup = its constructor, job = the ``run_*`` call); credited conversions come from a
second object built and run untimed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.peers.common import Credits, Job, PeerInfo, PeerModel, by_channel

CALLS: dict[str, Callable[[Any], Any]] = {
    "first_click": lambda m: m.run_first_click(),
    "last_click": lambda m: m.run_last_click(),
    "linear": lambda m: m.run_linear(),
    "position_based": lambda m: m.run_position_based(),
    "time_decay": lambda m: m.run_time_decay(),
    "markov": lambda m: m.run_markov(),
    "shapley": lambda m: m.run_shapley(max_size=None),
    "shapley_max4": lambda m: m.run_shapley(),
}

INFO = PeerInfo(
    name="mam2",
    label="MAM 2.x",
    distribution="marketing-attribution-models",
    import_name="mam",
    input="sessions",
    setup="MAM(format_type='session') constructor (Polars preprocessing)",
    jobs=(
        Job("first_click", (PeerModel("first_click", "first_touch"),), "run_first_click()"),
        Job("last_click", (PeerModel("last_click", "last_touch"),), "run_last_click()"),
        Job("linear", (PeerModel("linear", "linear", "per touch"),), "run_linear()"),
        Job(
            "position_based",
            (PeerModel("position_based", "position_based", "40/20/40"),),
            "run_position_based()",
        ),
        Job(
            "time_decay",
            (PeerModel("time_decay", "time_decay", "half-life 168 h, from the last touch"),),
            "run_time_decay(half_life_hours=168)",
        ),
        Job(
            "markov",
            (
                PeerModel(
                    "markov",
                    "markov",
                    "exact order-1 removal effects, credit re-split per touch",
                ),
            ),
            "run_markov()",
        ),
        Job(
            "shapley",
            (PeerModel("shapley", "shapley", "conversion-rate game, every channel"),),
            "run_shapley(max_size=None)",
        ),
        Job(
            "shapley_max4",
            (
                PeerModel(
                    "shapley_max4",
                    "shapley",
                    "the default: keeps the 4 alphabetically last channels of each journey",
                ),
            ),
            "run_shapley() (default max_size=4)",
        ),
    ),
    notes=(
        "Markov: exact order-1 removal effects, but each converting journey's value is "
        "split over its touches in proportion to the touched channels' removal effects, "
        "per touch, so channel totals differ from the usual removal-effect share x total.",
        "Shapley: v(S) = conversion rate of the journeys whose channel set is exactly S "
        "(unobserved sets count 0), solved inside each converting channel set; it can "
        "give negative credit. The default max_size=4 silently keeps only the 4 "
        "alphabetically last distinct channels of every journey: both settings are shown.",
        "One MAM object credits one unit: the timed run credits value; conversions come "
        "from a second, untimed object.",
    ),
)


def read(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "sessions.parquet")


def _mam(data: pd.DataFrame, value_column: str | None) -> Any:
    return importlib.import_module("mam").MAM(
        data,
        format_type="session",
        channels_colname="channel",
        journey_with_conv_colname="converted",
        datetime_colname="timestamp",
        user_id_colname="journey_id",
        conversion_value_colname=value_column,
    )


def setup(data: pd.DataFrame) -> dict[str, Any]:
    """The value-crediting MAM object (the conversion-crediting one is built untimed)."""
    return {"data": data, "value": _mam(data, "value")}


def _per_channel(result: Any) -> dict[str, float]:
    frame = result.to_pandas()
    return dict(zip(frame["channels"].astype(str), frame["attribution"].astype(float), strict=True))


def run(state: dict[str, Any], job: str) -> Credits:
    return {job: by_channel(None, _per_channel(CALLS[job](state["value"])))}


def complete(state: dict[str, Any], job: str, credits: Credits) -> Credits:
    """Add the credited conversions from a second MAM object (untimed)."""
    if "conversions" not in state:
        state["conversions"] = _mam(state["data"], None)
    conversions = _per_channel(CALLS[job](state["conversions"]))
    value = {channel: v for channel, (_, v) in credits[job].items()}
    return {job: by_channel(conversions, value)}
