"""Peer jobs as their users run them: a fresh process reads the file and calls the peer.

Each function is one whole job, run by :mod:`benchmarks.fresh` in its own process
(``call benchmarks.peers.whole_process:FUNCTION FILE ...``), so the process's wall time
and peak memory compare with this engine's ``attribution run`` on the same file. The
input is a path table CSV (``path`` joined by ``" > "``, ``total_conversions``,
``total_null``, ``total_conversion_value``) read with ``pandas.read_csv``; the peer's
options are those of :mod:`benchmarks.peers.channel_attribution` (its defaults, the
nulls passed, banners off). Like the other peer modules, this one never imports
``attribution``.
"""

from __future__ import annotations

import importlib
from typing import Any

from benchmarks.peers.common import quiet


def _channel_attribution() -> Any:
    with quiet():  # the module prints a banner when imported
        return importlib.import_module("ChannelAttribution")


def _read(csv: str) -> Any:
    import pandas as pd

    return pd.read_csv(csv)


def _markov(module: Any, data: Any, order: int) -> Any:
    with quiet():
        return module.markov_model(
            data,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            order=order,
            sep=">",
            verbose=False,
            flg_pro=False,
        )


def channel_attribution_markov(csv: str, order: str) -> dict[str, float]:
    """ChannelAttribution's ``markov_model(order=ORDER)`` on the path table ``csv``."""
    module = _channel_attribution()
    result = _markov(module, _read(csv), int(order))
    return {
        "channels": float(len(result)),
        "credited_conversions": float(result["total_conversions"].sum()),
    }


def channel_attribution_heuristics_markov(csv: str) -> dict[str, float]:
    """ChannelAttribution's ``heuristic_models`` (first, last, linear touch) and
    ``markov_model(order=1)`` on the path table ``csv``: the models both tools have."""
    module = _channel_attribution()
    data = _read(csv)
    with quiet():
        heuristics = module.heuristic_models(
            data,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            sep=">",
            flg_pro=False,
        )
    markov = _markov(module, data, 1)
    return {
        "channels": float(len(heuristics)),
        "credited_conversions": float(markov["total_conversions"].sum()),
    }
