"""The engine's journeys in each peer's input format, written as parquet files.

Peers read the journeys *after* the engine's credit window (``Journeys.window(None)``:
touches after a journey's conversion removed), i.e. exactly the touches this engine's
models see. Journeys with no touch left are in no table (no peer can take them).

- ``paths.parquet`` (ChannelAttribution, mta): one row per distinct path, from
  :func:`attribution.io.paths.paths_frame`: ``path`` (channels joined by ``" > "``),
  integer ``total_conversions`` and ``total_null``, ``total_conversion_value``.
- ``sessions.parquet`` (MAM 2.x): one row per touch: ``journey_id``, ``timestamp``
  (naive UTC), ``channel``, ``converted`` (on every touch), ``value`` (the journey's value
  on its last touch, 0 elsewhere).
- ``journeys.parquet`` (MAM 1.x): one row per journey: ``journey_id``, ``channels``
  (the path), ``time_till_conv`` (hours from each touch to the journey's last touch,
  joined by ``" > "``), ``converted``, ``value``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attribution.io.paths import paths_frame
from attribution.journeys import Journeys
from benchmarks.peers.common import SEP

NANOS_PER_HOUR = 3_600 * 10**9

#: The file each input kind is written to.
FILES = {"paths": "paths.parquet", "sessions": "sessions.parquet", "journeys": "journeys.parquet"}


def check(journeys: Journeys) -> None:
    """Refuse data the peers' formats cannot carry faithfully."""
    weights = journeys.weight
    if not np.array_equal(weights, np.round(weights)):
        raise ValueError("peers take whole journeys: journey weights must be integers")
    bad = [name for name in journeys.channel_names if ">" in name]
    if bad:
        raise ValueError(f"channel names contain '>', the peers' path separator: {bad}")


def path_table(journeys: Journeys) -> pd.DataFrame:
    """One row per distinct path, with integer counts."""
    table = paths_frame(journeys, separator=SEP)
    for column in ("total_conversions", "total_null"):
        table[column] = table[column].round().astype("int64")
    return table


def session_table(journeys: Journeys) -> pd.DataFrame:
    """One row per touch of a journey record of weight 1."""
    if not journeys.has_times:
        raise ValueError("the session format needs touch timestamps")
    if not (journeys.weight == 1).all():
        raise ValueError("the session format has one row per journey: weights must be 1")
    lengths = journeys.lengths
    record = np.repeat(np.arange(journeys.n_journeys), lengths)
    last = np.zeros(journeys.n_touches, bool)
    last[journeys.offsets[1:][lengths > 0] - 1] = True
    converted = journeys.converted[record]
    names = np.asarray(journeys.channel_names, dtype=object)
    return pd.DataFrame(
        {
            "journey_id": journeys.journey_id[record],
            "timestamp": pd.to_datetime(journeys.timestamp, unit="ns"),
            "channel": names[journeys.channel],
            "converted": converted,
            "value": np.where(last & converted, journeys.value[record], 0.0),
        }
    )


def journey_table(journeys: Journeys) -> pd.DataFrame:
    """One row per journey record of weight 1 with at least one touch."""
    sessions = session_table(journeys)
    lengths = journeys.lengths
    kept = lengths > 0
    end = np.repeat(journeys.timestamp[journeys.offsets[1:][kept] - 1], lengths[kept])
    hours = ((end - journeys.timestamp) / NANOS_PER_HOUR).astype(str)
    cut = np.cumsum(lengths[kept])[:-1]
    return pd.DataFrame(
        {
            "journey_id": journeys.journey_id[kept],
            "channels": [SEP.join(p) for p in np.split(sessions["channel"].to_numpy(), cut)],
            "time_till_conv": [SEP.join(h) for h in np.split(hours, cut)],
            "converted": journeys.converted[kept],
            "value": np.where(journeys.converted[kept], journeys.value[kept], 0.0),
        }
    )


def write_inputs(journeys: Journeys, folder: Path, kinds: set[str]) -> dict[str, Path]:
    """Write the tables of ``kinds`` (``paths``, ``sessions``, ``journeys``) to ``folder``.

    ``journeys`` should be windowed (``Journeys.window(None)``) so peers see the touches
    this engine credits.
    """
    check(journeys)
    builders = {"paths": path_table, "sessions": session_table, "journeys": journey_table}
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind in sorted(kinds):
        path = folder / FILES[kind]
        builders[kind](journeys).to_parquet(path, index=False)
        written[kind] = path
    return written
