"""Simulated B2B journeys with known channel effects, for judging attribution models.

>>> import attribution
>>> from attribution.simulate import simulate
>>> sim = simulate("last_touch_trap", journeys=2_000, seed=1)
>>> sorted(sim.touches.columns)
['campaign', 'channel', 'journey_id', 'team', 'timestamp', 'touch_type']
>>> float(sim.truth.set_index("channel").loc["direct", "true_share"])
0.0
>>> result = attribution.attribute(sim.load(), ["last_touch", "linear"], by=["channel"])
>>> from attribution.compare import compare
>>> compare(result.credits, sim.truth).errors.columns.tolist()
['model', 'share_error_tvd', 'rank_correlation']

``simulate`` returns the data in the engine's input schema (``touches``, ``outcomes``:
pass them to :func:`attribution.load`) and the ground truth per channel (``truth``). The
generative process is documented in :mod:`attribution.simulate.process`, the truth in
:mod:`attribution.simulate.truth`, the presets in :mod:`attribution.simulate.scenarios`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from attribution.io import Loaded, load
from attribution.io.writers import write_atomically
from attribution.seeds import check_seed
from attribution.simulate.process import (
    Effects,
    contributions,
    conversion_seconds,
    draw_buyers,
    draw_causal_touches,
    hazard_at_horizon,
    observe,
    streams,
)
from attribution.simulate.response import exposure_conversion_seconds, exposure_hazard
from attribution.simulate.scenarios import SCENARIOS, scenario, scenario_names
from attribution.simulate.spec import (
    BuyerKind,
    Channel,
    DealTouches,
    ExposureResponse,
    FollowUp,
    Interaction,
    Passenger,
    Scenario,
)
from attribution.simulate.truth import TRUTH_COLUMNS, ground_truth, truth_table


@dataclass(frozen=True)
class Simulation:
    """Simulated journeys and their ground truth.

    ``touches`` and ``outcomes`` are in the engine's input schema; ``truth`` has one row
    per channel (columns in ``TRUTH_COLUMNS``) or is ``None`` when not asked for.
    ``buyers`` is the number of buyers simulated; buyers without any touch are not in
    the tables, so ``outcomes`` may have a few rows fewer.
    """

    scenario: Scenario
    seed: int
    buyers: int
    touches: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame | None

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write touches, outcomes and (if computed) truth as parquet files in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"touches": self.touches, "outcomes": self.outcomes, "truth": self.truth}
        written = {}
        for name, frame in tables.items():
            if frame is None:
                continue
            path = folder / f"{name}.parquet"
            _write_parquet(frame, path)
            written[name] = path
        return written

    def load(self) -> Loaded:
        """The touches and outcomes loaded for :func:`attribution.attribute`."""
        return load(self.touches, self.outcomes)

    def summary(self) -> dict[str, float]:
        """Sizes and rates of the simulated data."""
        outcomes = self.outcomes
        converted = outcomes["converted"].to_numpy(bool)
        return {
            "buyers": float(self.buyers),
            "journeys": float(len(outcomes)),
            "touches": float(len(self.touches)),
            "touches_per_journey": len(self.touches) / len(outcomes) if len(outcomes) else 0.0,
            "conversions": float(converted.sum()),
            "conversion_rate": float(converted.mean()) if len(converted) else 0.0,
            "value": float(outcomes["value"].sum()),
            "channels": float(self.touches["channel"].nunique()),
        }


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write compactly: times in whole seconds (all simulated times are), integers and
    times delta-encoded, labels dictionary-encoded, zstd compression. Atomically, through
    :func:`attribution.io.writers.write_atomically`: a temporary file renamed over
    ``path``, so a symlink there is replaced, never written through to its target."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            seconds = pa.timestamp("s", tz=field.type.tz)
            table = table.set_column(i, field.name, table[field.name].cast(seconds, safe=True))
    delta = [
        f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_timestamp(f.type)
    ]
    labels = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
    write_atomically(
        path,
        lambda temporary: pq.write_table(
            table,
            temporary,
            compression="zstd",
            use_dictionary=labels,
            column_encoding=dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
        ),
    )


def simulate(
    scenario_or_name: str | Scenario,
    journeys: int | None = None,
    seed: int | None = None,
    *,
    truth: bool = True,
) -> Simulation:
    """Simulate ``journeys`` buyers of a scenario (a preset name or a :class:`Scenario`).

    ``journeys`` and ``seed`` default to the scenario's own. The same arguments always
    give the same tables. ``truth=False`` skips the ground truth (one re-evaluation of
    every buyer per channel), for speed benchmarks.
    """
    spec = scenario(scenario_or_name) if isinstance(scenario_or_name, str) else scenario_or_name
    spec.check()
    n = spec.journeys if journeys is None else int(journeys)
    if n < 1:
        raise ValueError(f"journeys must be at least 1, got {n}")
    seed = check_seed(spec.seed if seed is None else seed)
    rngs = streams(seed)
    buyers = draw_buyers(spec, n, rngs["buyers"])
    causal = draw_causal_touches(spec, buyers, rngs["exposure"], rngs["follow_ups"])
    table: pd.DataFrame | None = None
    if spec.response is None:
        effects = Effects.of(spec)
        contribution = contributions(spec, causal, effects)
        at_horizon = hazard_at_horizon(spec, buyers, causal, effects, contribution)
        converted_at = conversion_seconds(spec, buyers, causal, effects, at_horizon)
        if truth:
            table = ground_truth(spec, buyers, causal, effects, contribution, at_horizon)
    else:
        at_horizon, removed = exposure_hazard(
            spec, spec.response, buyers.kind, causal.offsets, causal.channel, causal.lineage
        )
        converted_at = exposure_conversion_seconds(
            spec,
            spec.response,
            at_horizon >= buyers.threshold,
            causal.offsets,
            causal.seconds,
            rngs["response"],
        )
        if truth:
            lost = np.exp(-at_horizon)[None, :] * np.expm1(removed)
            table = truth_table(spec, buyers, lost)
    observed = observe(spec, buyers, causal, converted_at, rngs)
    return Simulation(
        scenario=spec,
        seed=seed,
        buyers=n,
        touches=observed.touches,
        outcomes=observed.outcomes,
        truth=table,
    )


__all__ = [
    "SCENARIOS",
    "TRUTH_COLUMNS",
    "BuyerKind",
    "Channel",
    "DealTouches",
    "ExposureResponse",
    "FollowUp",
    "Interaction",
    "Passenger",
    "Scenario",
    "Simulation",
    "scenario",
    "scenario_names",
    "simulate",
]
