"""mta (PyPI ``mta``, MIT): heuristics, Markov, Shao-Li, Shapley, logistic regression.

Input: the path table's ``path``, ``total_conversions`` and ``total_null`` (the peer
requires exactly these names and has no value column). Setup is the ``MTA`` constructor
with its defaults (``allow_loops=False``: consecutive repeats of a channel are collapsed
and identical paths re-grouped, row by row) except ``add_timepoints=False``: by default
it invents exposure times one second apart, which only its additive-hazard model reads.
Every model returns shares rounded to 6 decimals; the adapter multiplies them by the
total conversions and by the total value (so its value credit is its conversion credit
rescaled: mta cannot credit value).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.peers.common import Credits, Job, PeerInfo, PeerModel, by_channel, quiet

#: The peer's key in ``MTA.attribution`` for each job.
KEYS = {
    "first_touch": "first_touch",
    "last_touch": "last_touch",
    "linear": "linear",
    "position_based": "pos_based",
    "time_decay": "time_decay",
    "markov": "markov",
    "shao": "shao",
    "shapley": "shapley",
    "logistic_regression": "linreg",
}

INFO = PeerInfo(
    name="mta",
    label="mta",
    distribution="mta",
    import_name="mta",
    input="paths",
    setup="MTA(data) constructor (collapses repeats row by row)",
    jobs=(
        Job("first_touch", (PeerModel("first_touch", "first_touch"),), "first_touch()"),
        Job("last_touch", (PeerModel("last_touch", "last_touch"),), "last_touch()"),
        Job(
            "linear",
            (PeerModel("linear", "linear", "equal split over distinct channels"),),
            "linear() (share='same')",
        ),
        Job(
            "position_based",
            (PeerModel("position_based", "position_based", "40/20/40"),),
            "position_based()",
        ),
        Job(
            "time_decay",
            (PeerModel("time_decay", "time_decay", "rank weights, not time-based"),),
            "time_decay()",
        ),
        Job(
            "markov",
            (PeerModel("markov", "markov", "sum over observed paths, not the absorbing chain"),),
            "markov(sim=False)",
        ),
        Job("shao", (PeerModel("shao", None, "Shao & Li probabilistic model"),), "shao()"),
        Job(
            "shapley",
            (
                PeerModel(
                    "shapley",
                    "shapley_simplified",
                    "v(S) = conversions of journeys whose channels are a subset of S",
                ),
            ),
            "shapley() (every coalition)",
        ),
        Job(
            "logistic_regression",
            (PeerModel("logistic_regression", None, "mean |coefficient| of 2000 fits"),),
            "logistic_regression()",
        ),
    ),
    notes=(
        "No value: credited value is the conversion share times the total value.",
        "allow_loops=False (default) collapses consecutive repeats before every model.",
        "time_decay gives rank weights 1..k over a journey's distinct channels: it does not "
        "read times. markov(sim=False) sums path probabilities over the observed converting "
        "paths (removing a channel drops the paths that contain it), not the absorbing-"
        "chain removal effect. shapley uses v(S) = conversions of the journeys whose "
        "channel set is a subset of S, whose Shapley value is this engine's "
        "shapley_simplified; it enumerates every coalition of every channel.",
        "additive_hazard is not run: it needs per-journey exposure times, took 455 s on 10k "
        "journeys in our trials, and reads time gaps with timedelta.seconds, which drops "
        "whole days. markov(sim=True) is not run either: about 1e6 Python-level walks per "
        "channel (~35 min at 12 channels).",
    ),
)


def read(folder: Path) -> pd.DataFrame:
    table = pd.read_parquet(folder / "paths.parquet")
    return pd.DataFrame(
        {
            "path": table["path"].astype(object),
            "total_conversions": table["total_conversions"].astype("int64"),
            "total_null": table["total_null"].astype("int64"),
            "value": table["total_conversion_value"].astype(float),
        }
    )


def setup(data: pd.DataFrame) -> dict[str, Any]:
    """The MTA object (built from the three columns it requires) and the totals."""
    with quiet():
        model = importlib.import_module("mta").MTA(
            data=data[["path", "total_conversions", "total_null"]], add_timepoints=False
        )
    return {
        "model": model,
        "conversions": float(data["total_conversions"].sum()),
        "value": float(data["value"].sum()),
    }


def run(state: dict[str, Any], job: str) -> Credits:
    model = state["model"]
    with quiet():  # every method prints its elapsed time
        getattr(model, job)()
    shares = dict(model.attribution[KEYS[job]])
    channels = sorted(model.channels)
    return {
        job: by_channel(
            {c: shares.get(c, 0.0) * state["conversions"] for c in channels},
            {c: shares.get(c, 0.0) * state["value"] for c in channels},
        )
    }
