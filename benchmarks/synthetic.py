"""Large synthetic journey tables for speed benchmarks (not for accuracy: see simulate).

``generate(n_journeys, n_channels, seed)`` draws journeys of 1 + Poisson(mean - 1) touches
(capped at 60), channels with Zipf-like popularity (channel i, from 1, is drawn with
probability proportional to i^-s, ``popularity_exponent`` s = 0.8 by default), gaps of
Exponential(3 days) between touches, and a conversion probability 1 - prod(1 - h_c) over
the journey's touches with a per-channel hazard h_c. Converted journeys convert one hour
after their last touch and are worth a log-normal amount. Output is the engine's input
schema.

With ``milestones=True`` the outcomes also carry a B2B deal's dates, drawn after every
other column (so those are the same as without): a converted journey is an opportunity
created at its conversion (``opportunity_created_at = converted_at``), whose lead was
created at one of its touches (uniform over them: ``lead_created_at``); 80% of the
opportunities are closed (``closed_at`` = creation + Exponential(60 days)), 35% of the
closed ones won (``won`` true/false; null while open). Journeys that did not convert have
none of these. That gives the scorecard's win rate, cycle and lead columns real work.
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
#: A missing time (NaT) as int64 nanoseconds.
NO_TIME = np.iinfo(np.int64).min


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


#: Share of opportunities closed, and of the closed ones won (``milestones=True``).
CLOSED_SHARE, WON_SHARE = 0.8, 0.35
#: Mean days from opportunity creation to close (``milestones=True``).
MEAN_CYCLE_DAYS = 60.0


def generate(
    n_journeys: int,
    n_channels: int = 12,
    seed: int = 0,
    mean_touches: float = 10.0,
    *,
    popularity_exponent: float = 0.8,
    milestones: bool = False,
    first_id: int = 0,
) -> Synthetic:
    """``n_journeys`` journeys with ids ``first_id, first_id + 1, ...`` (see the module
    docstring)."""
    rng = np.random.default_rng(seed)
    lengths = np.minimum(1 + rng.poisson(mean_touches - 1, n_journeys), 60)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    n_touches = int(offsets[-1])
    popularity = 1.0 / np.arange(1, n_channels + 1) ** popularity_exponent
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
    ids = np.arange(first_id, first_id + n_journeys, dtype=np.int64)
    journey_id = np.repeat(ids, lengths)
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
    converted_at = np.where(converted, last + 3600 * 10**9, NO_TIME)
    outcomes = pd.DataFrame(
        {
            "journey_id": ids,
            "converted": converted,
            "value": value,
            "converted_at": pd.to_datetime(converted_at, utc=True),
        }
    )
    if milestones:
        for name, column in deal_milestones(rng, converted, converted_at, offsets, timestamp):
            outcomes[name] = column
    return Synthetic(touches, outcomes)


def deal_milestones(
    rng: np.random.Generator,
    converted: np.ndarray,
    converted_at: np.ndarray,
    offsets: np.ndarray,
    timestamp: np.ndarray,
) -> list[tuple[str, pd.Series | pd.DatetimeIndex]]:
    """Lead, opportunity and close dates and the won flag of ``milestones=True``."""
    n = len(converted)
    lengths = np.diff(offsets)
    lead_touch = offsets[:-1] + (rng.random(n) * lengths).astype(np.int64)
    closed = converted & (rng.random(n) < CLOSED_SHARE)
    won = rng.random(n) < WON_SHARE
    cycle = (rng.exponential(MEAN_CYCLE_DAYS, n) * NANOS_PER_DAY).astype(np.int64)
    return [
        (
            "lead_created_at",
            pd.to_datetime(np.where(converted, timestamp[lead_touch], NO_TIME), utc=True),
        ),
        ("opportunity_created_at", pd.to_datetime(converted_at, utc=True)),
        ("closed_at", pd.to_datetime(np.where(closed, converted_at + cycle, NO_TIME), utc=True)),
        ("won", pd.Series(pd.array(np.where(closed, won, False), dtype="boolean")).where(closed)),
    ]
