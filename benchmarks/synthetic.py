"""Large synthetic journey tables for speed benchmarks (not for accuracy: see simulate).

``generate(n_journeys, n_channels, seed)`` draws journeys of 1 + Poisson(mean - 1) touches
(capped at 60), channels with Zipf-like popularity, gaps of Exponential(3 days) between
touches, and a conversion probability 1 - prod(1 - h_c) over the journey's touches with a
per-channel hazard h_c. Converted journeys convert one hour after their last touch and
are worth a log-normal amount. Output is the engine's input schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attribution.simulate.scenarios import CHANNELS

#: The twelve B2B channels of the simulator, and their teams.
NAMED_CHANNELS = tuple(channel.name for channel in CHANNELS)
NAMED_TEAMS = {channel.name: channel.team for channel in CHANNELS}
NANOS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class Synthetic:
    touches: pd.DataFrame
    outcomes: pd.DataFrame

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        touches, outcomes = folder / "touches.parquet", folder / "outcomes.parquet"
        self.touches.to_parquet(touches, index=False, row_group_size=1_000_000)
        self.outcomes.to_parquet(outcomes, index=False)
        return touches, outcomes


def channel_names(n_channels: int) -> list[str]:
    if n_channels <= len(NAMED_CHANNELS):
        return list(NAMED_CHANNELS[:n_channels])
    return [f"channel_{i:02d}" for i in range(n_channels)]


def channel_teams(names: list[str]) -> list[str]:
    """The simulator's team of each named channel; numbered channels rotate over teams."""
    teams = sorted(set(NAMED_TEAMS.values()))
    return [NAMED_TEAMS.get(name, teams[i % len(teams)]) for i, name in enumerate(names)]


def generate(
    n_journeys: int, n_channels: int = 12, seed: int = 0, mean_touches: float = 10.0
) -> Synthetic:
    rng = np.random.default_rng(seed)
    lengths = np.minimum(1 + rng.poisson(mean_touches - 1, n_journeys), 60)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    n_touches = int(offsets[-1])
    popularity = 1.0 / np.arange(1, n_channels + 1) ** 0.8
    channel = rng.choice(n_channels, size=n_touches, p=popularity / popularity.sum())
    hazard = rng.uniform(0.005, 0.06, n_channels)
    log_miss = np.log1p(-hazard)[channel]
    probability = 1.0 - np.exp(np.add.reduceat(log_miss, offsets[:-1]))
    converted = rng.random(n_journeys) < probability
    start = np.datetime64("2025-01-01", "ns").astype(np.int64) + rng.integers(
        0, 365 * NANOS_PER_DAY, n_journeys
    )
    gaps = (rng.exponential(3.0, n_touches) * NANOS_PER_DAY).astype(np.int64)
    first = np.zeros(n_touches, bool)
    first[offsets[:-1]] = True
    gaps[first] = 0
    within = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[offsets[:-1]], lengths)
    timestamp = np.repeat(start, lengths) + within
    names = channel_names(n_channels)
    team_names, team_of_channel = np.unique(channel_teams(names), return_inverse=True)
    journey_id = np.repeat(np.arange(n_journeys, dtype=np.int64), lengths)
    touches = pd.DataFrame(
        {
            "journey_id": journey_id,
            "timestamp": pd.to_datetime(timestamp, utc=True),
            "channel": pd.Categorical.from_codes(channel, categories=pd.Index(names)),
            "team": pd.Categorical.from_codes(
                team_of_channel[channel], categories=pd.Index(team_names.tolist())
            ),
        }
    )
    last = timestamp[offsets[1:] - 1]
    value = np.where(converted, np.round(rng.lognormal(10.0, 0.9, n_journeys), 2), 0.0)
    outcomes = pd.DataFrame(
        {
            "journey_id": np.arange(n_journeys, dtype=np.int64),
            "converted": converted,
            "value": value,
            "converted_at": pd.to_datetime(
                np.where(converted, last + 3600 * 10**9, np.iinfo(np.int64).min), utc=True
            ),
        }
    )
    return Synthetic(touches, outcomes)
