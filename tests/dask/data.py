"""Small journey datasets for the Dask tests, written as parquet folders in several
partitionings, and the comparison of a Dask result with the local engine's."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import attribution as at

FIXTURES = Path(__file__).parents[2] / "fixtures"


def sample(journeys: int = 120, untouched: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first ``journeys`` journeys of the bundled fixture (teams, campaigns, touch
    types, costs, milestones, won, segments), with a tie in time between two channels of
    one journey, and ``untouched`` converted journeys known only from an outcome row."""
    touches = pd.read_parquet(FIXTURES / "touches.parquet")
    outcomes = pd.read_parquet(FIXTURES / "outcomes.parquet")
    chosen = np.sort(outcomes["journey_id"].unique())[:journeys]
    touches = touches[touches["journey_id"].isin(chosen)].reset_index(drop=True)
    outcomes = outcomes[outcomes["journey_id"].isin(chosen)].reset_index(drop=True)
    first = touches.index[touches["journey_id"] == chosen[0]]
    touches.loc[first[1], "timestamp"] = touches.loc[first[0], "timestamp"]
    touches.loc[first[1], "channel"] = "webinar"
    touches.loc[first[0], "channel"] = "events"
    converted = outcomes[outcomes["converted"]].head(untouched).copy()
    converted["journey_id"] = np.arange(len(converted)) + 10**6
    outcomes = pd.concat([outcomes, converted], ignore_index=True)
    return touches, outcomes


def write_split(frame: pd.DataFrame, folder: Path, cuts: Sequence[int]) -> Path:
    """Rows in their order, cut into files ``part-0.parquet`` ... at the row positions
    ``cuts`` (journeys may span files)."""
    folder.mkdir(parents=True)
    bounds = [0, *cuts, len(frame)]
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        frame.iloc[start:stop].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


def write_hive(frame: pd.DataFrame, folder: Path, bucket: dict[int, int]) -> Path:
    """Rows in hive folders ``bucket=K`` by their journey's bucket (input order kept
    within each folder)."""
    folder.mkdir(parents=True)
    keys = frame["journey_id"].map(bucket).fillna(0).astype(int)
    for key in sorted(keys.unique()):
        part = folder / f"bucket={key:03d}"
        part.mkdir()
        frame[keys == key].to_parquet(part / "part.parquet", index=False)
    return folder


def scaled_close(expected: np.ndarray, got: np.ndarray, what: str, rtol: float = 1e-9) -> None:
    """Equal to ``rtol`` relative to the column's magnitude (credits near 0 compare with
    the column's scale, not their own)."""
    finite = np.isfinite(expected)
    # Infinities and NaNs (a ratio over nothing) must be where they are, and the same.
    np.testing.assert_array_equal(got[~finite], expected[~finite], err_msg=what)
    known = np.abs(expected[finite])
    scale = float(known.max()) if known.size else 0.0
    np.testing.assert_allclose(
        got[finite], expected[finite], rtol=rtol, atol=rtol * scale, err_msg=what
    )


def assert_frames_close(expected: pd.DataFrame, got: pd.DataFrame, what: str) -> None:
    expected = expected.reset_index(drop=True)
    got = got.reset_index(drop=True)
    assert list(got.columns) == list(expected.columns), what
    assert len(got) == len(expected), what
    for column in expected.columns:
        mine, theirs = got[column], expected[column]
        if pd.api.types.is_numeric_dtype(theirs) and not pd.api.types.is_bool_dtype(theirs):
            scaled_close(
                theirs.to_numpy(np.float64), mine.to_numpy(np.float64), f"{what}: {column}"
            )
        else:
            assert (
                mine.astype(object).where(mine.notna(), None).tolist()
                == theirs.astype(object).where(theirs.notna(), None).tolist()
            ), f"{what}: {column}"


def assert_same_result(expected: at.AttributionResult, got: at.AttributionResult) -> None:
    """Every table of two results equal (numbers to 1e-9 of their column's scale)."""
    assert got.by == expected.by
    assert list(got.models) == list(expected.models)
    assert set(got.rollups) == set(expected.rollups)
    for dims, frame in expected.rollups.items():
        assert_frames_close(frame, got.rollups[dims], f"roll-up by {dims}")
    if expected.scorecards is not None:
        assert got.scorecards is not None
        for dims, frame in expected.scorecards.items():
            assert_frames_close(frame, got.scorecards[dims], f"scorecard by {dims}")
    if expected.replicates is not None:
        assert got.replicates is not None and set(got.replicates) == set(expected.replicates)
        for key, frame in expected.replicates.items():
            assert_frames_close(frame, got.replicates[key], f"replicates {key}")
    assert_frames_close(
        expected.reconciliation.to_frame(), got.reconciliation.to_frame(), "reconciliation"
    )
    assert [(n.code, n.model) for n in got.reconciliation.notes] == [
        (n.code, n.model) for n in expected.reconciliation.notes
    ]
