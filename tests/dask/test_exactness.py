"""The Dask engine gives the local engine's result, to 1e-9, whatever the partitioning:
every model, every roll-up (influenced by team included), the reconciliation, the
scorecards and the bootstrap intervals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribution as at
import attribution.dask as adk
from attribution.bootstrap import Bootstrap
from tests.dask.data import assert_same_result, sample, write_hive, write_split

ROLLUPS = dict(
    by=("channel", "team"),
    also_by=(("channel",), ("team",), ("campaign",), ("segment",)),
    period="quarter",
    lookback_days=60,
)
OPTIONS: dict[str, dict[str, Any]] = {
    "scorecards": {**ROLLUPS, "scorecard": True},
    "scorecards_and_bootstrap": {**ROLLUPS, "scorecard": True, "bootstrap": Bootstrap(4, seed=3)},
}

Layout = Callable[[Path, pd.DataFrame, pd.DataFrame], tuple[Path, Path, dict[str, Any]]]


def one_partition(root: Path, t: pd.DataFrame, o: pd.DataFrame) -> tuple[Path, Path, dict]:
    return (
        write_split(t, root / "t", [400, 800]),
        write_split(o, root / "o", [50]),
        {"partitions": 1},
    )


def shuffled(root: Path, t: pd.DataFrame, o: pd.DataFrame) -> tuple[Path, Path, dict]:
    """Rows in no order of journey, in files cut anywhere: a shuffle makes whole journeys
    (asked for with ``partitions``: at this size the id ranges would give one partition)."""
    order = np.random.default_rng(5).permutation(len(t))
    return (
        write_split(t.iloc[order], root / "t", [333, 334, 1000]),
        write_split(o.iloc[::-1], root / "o", [7, 90]),
        {"partitions": 5, "expect": "into 5 journey partitions"},
    )


def clustered(root: Path, t: pd.DataFrame, o: pd.DataFrame) -> tuple[Path, Path, dict]:
    """Files in journey order, cut through journeys, with small row groups: whole journeys
    from the row groups' id ranges, without a shuffle."""
    folder = root / "t"
    folder.mkdir()
    for i, (start, stop) in enumerate([(0, 333), (333, 700), (700, len(t))]):
        part = pa.Table.from_pandas(t.iloc[start:stop], preserve_index=False)
        pq.write_table(part, folder / f"part-{i}.parquet", row_group_size=50)
    return folder, write_split(o, root / "o", [7, 90]), {"expect": "no shuffle"}


def uneven(root: Path, t: pd.DataFrame, o: pd.DataFrame) -> tuple[Path, Path, dict]:
    """Hive partitions of 1, 2, 10 and all other journeys."""
    ids = np.sort(o["journey_id"].unique())
    bucket = {
        int(j): 0 if i == 0 else 1 if i < 3 else 2 if i < 13 else 3 for i, j in enumerate(ids)
    }
    return (
        write_hive(t, root / "t", bucket),
        write_hive(o, root / "o", bucket),
        {"partitioned": True},
    )


def single_journeys(root: Path, t: pd.DataFrame, o: pd.DataFrame) -> tuple[Path, Path, dict]:
    """One journey per hive partition (untouched journeys and journeys without an outcome
    row are loaded beside a neighbour)."""
    ids = np.sort(np.union1d(o["journey_id"].unique(), t["journey_id"].unique()))
    kept = np.concatenate([ids[:8], ids[-3:]])  # 8 journeys and the 3 untouched ones
    t, o = t[t["journey_id"].isin(kept)], o[o["journey_id"].isin(kept)]
    bucket = {int(j): i for i, j in enumerate(kept)}
    return (
        write_hive(t, root / "t", bucket),
        write_hive(o, root / "o", bucket),
        {"partitioned": True},
    )


LAYOUTS: dict[str, Layout] = {
    "one_partition": one_partition,
    "shuffle": shuffled,
    "clustered": clustered,
    "uneven": uneven,
    "single_journeys": single_journeys,
}


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return sample(journeys=60, untouched=3)


@pytest.fixture(scope="module")
def local_runs() -> dict[tuple[str, ...], at.AttributionResult]:
    """The local engine's result of each dataset and options, made once, from the files
    of the first layout written: every layout of the same journeys with each journey's
    rows in the same order (however the journeys are ordered and cut into files) is
    compared with it."""
    return {}


#: Every layout with every model, roll-up and scorecard; the bootstrap (whose draws are
#: keyed by journey, so the layout cannot change them) on the two layouts that move
#: journeys most: hive partitions of 1, 2, 10 and the other journeys, and a shuffle.
CASES = [(layout, "scorecards") for layout in sorted(LAYOUTS)] + [
    ("uneven", "scorecards_and_bootstrap"),
    ("shuffle", "scorecards_and_bootstrap"),
]


@pytest.mark.parametrize(("layout", "options"), CASES)
def test_dask_equals_local(
    client: Client,
    tmp_path: Path,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    local_runs: dict[tuple[str, ...], at.AttributionResult],
    layout: str,
    options: str,
) -> None:
    touches, outcomes, how = LAYOUTS[layout](tmp_path, *frames)
    expect = how.pop("expect", None)
    run = OPTIONS[options]
    # Touches tied in time keep their input order, so the shuffled rows are other data.
    journeys = {"single_journeys": "some journeys", "shuffle": "shuffled rows"}.get(
        layout, "every journey"
    )
    if (journeys, options) not in local_runs:
        loaded = at.load(touches, outcomes, dimensions=["segment"])
        local_runs[journeys, options] = at.attribute(loaded, "all", **run)
    local = local_runs[journeys, options]
    steps: list[str] = []
    got = adk.attribute(
        touches,
        outcomes,
        "all",
        client=client,
        dimensions=["segment"],
        progress=steps.append,
        **how,
        **run,
    )
    assert_same_result(local, got)
    if expect is not None:
        assert any(expect in step for step in steps), steps
    assert "influenced" in got.models and ("team",) in got.rollups


@st.composite
def assignments(draw: st.DrawFn) -> list[int]:
    parts = draw(st.integers(1, 6))
    return draw(st.lists(st.integers(0, parts - 1), min_size=43, max_size=43))


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(assignment=assignments())
def test_any_partitioning_by_journey_gives_the_local_result(
    client: Client,
    tmp_path_factory: pytest.TempPathFactory,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    local_runs: dict[tuple[str, ...], at.AttributionResult],
    assignment: list[int],
) -> None:
    touches, outcomes = frames
    root = tmp_path_factory.mktemp("partitioning")
    ids = np.sort(np.union1d(outcomes["journey_id"].unique(), touches["journey_id"].unique()))
    bucket = {int(j): assignment[i % len(assignment)] for i, j in enumerate(ids)}
    t = write_hive(touches, root / "t", bucket)
    o = write_hive(outcomes, root / "o", bucket)
    if ("every journey", "by channel and team") not in local_runs:
        run = at.attribute(at.load(t, o), "all", by=("channel", "team"))
        local_runs["every journey", "by channel and team"] = run
    local = local_runs["every journey", "by channel and team"]
    got = adk.attribute(t, o, "all", by=("channel", "team"), client=client, partitioned=True)
    assert_same_result(local, got)
