"""ChannelAttribution (PyPI ``ChannelAttribution``, GPL-3.0, C++): heuristics and Markov.

Input: the path table (one row per distinct path: ``path``, integer ``total_conversions``
and ``total_null``, ``total_conversion_value``). Calls, with the peer's defaults except:
``sep=">"`` (it takes one character and trims the spaces around channel names),
``var_null`` always passed (without it the peer silently drops every non-converting
path), ``verbose=False`` and ``flg_pro=False`` (silence its banners).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.peers.common import Credits, Job, PeerInfo, PeerModel, by_channel, quiet

INFO = PeerInfo(
    name="channelattribution",
    label="ChannelAttribution",
    distribution="ChannelAttribution",
    import_name="ChannelAttribution",
    input="paths",
    setup="none (the path table is its input)",
    jobs=(
        Job(
            "heuristics",
            (
                PeerModel("first_touch", "first_touch"),
                PeerModel("last_touch", "last_touch"),
                PeerModel("linear_touch", "linear", "per touch, like ours"),
            ),
            options="heuristic_models()",
        ),
        *(
            Job(
                f"markov_o{order}",
                (
                    PeerModel(
                        f"markov_o{order}",
                        "markov" if order == 1 else f"markov_o{order}",
                        "simulated removal effects (noise; walks cut at the longest path)",
                    ),
                ),
                options=f"markov_model(order={order}), defaults nsim_start=1e5, seed=0",
            )
            for order in (1, 2, 3)
        ),
    ),
    notes=(
        "Markov removal effects are estimated by simulating walks on the chain "
        "(nsim_start=1e5 by default), so credits carry run-to-run noise; by default a walk "
        "longer than the longest observed path counts as not converting, which biases "
        "removal effects down. Consecutive repeats of a channel are collapsed.",
        "heuristic_models gives first, last and linear touch only (no position-based or "
        "time decay); one call gives all three, so its time is compared with ours "
        "running the same three models in one call.",
        "Counts are passed to C++ as unsigned integers: fractional journey weights "
        "would be truncated (all weights are 1 here).",
    ),
)


def read(folder: Path) -> pd.DataFrame:
    """The path table with the integer counts the peer's C++ side needs."""
    table = pd.read_parquet(folder / "paths.parquet")
    return pd.DataFrame(
        {
            "path": table["path"].astype(object),
            "total_conversions": table["total_conversions"].astype("int64"),
            "total_conversion_value": table["total_conversion_value"].astype(float),
            "total_null": table["total_null"].astype("int64"),
        }
    )


def setup(data: pd.DataFrame) -> tuple[Any, pd.DataFrame]:
    """The module and the table: the peer has no preprocessing step of its own."""
    with quiet():  # the module prints a banner at import (already imported by the child)
        module = importlib.import_module("ChannelAttribution")
    return module, data


def run(state: tuple[Any, pd.DataFrame], job: str) -> Credits:
    module, data = state
    common = {"var_value": "total_conversion_value", "sep": ">", "flg_pro": False}
    if job == "heuristics":
        with quiet():
            table = module.heuristic_models(data, "path", "total_conversions", **common)
        table = table.set_index("channel_name")
        return {
            model: by_channel(
                table[f"{model}_conversions"].to_dict(), table[f"{model}_value"].to_dict()
            )
            for model in ("first_touch", "last_touch", "linear_touch")
        }
    order = int(job.removeprefix("markov_o"))
    with quiet():
        result = module.markov_model(
            data,
            "path",
            "total_conversions",
            var_null="total_null",
            order=order,
            verbose=False,
            **common,
        )
    table = result.set_index("channel_name")
    return {
        job: by_channel(
            table["total_conversions"].to_dict(), table["total_conversion_value"].to_dict()
        )
    }
