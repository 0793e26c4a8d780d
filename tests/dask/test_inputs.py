"""What the Dask engine reads and writes: messages and rejects naming the input's own
files and rows, per-touch credits as a dataset, dask DataFrames, kept journey layouts
(checked when read), fsspec URLs."""

from __future__ import annotations

import shutil
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pytest
from distributed import Client

import attribution as at
import attribution.dask as adk
from attribution.dask.layout import PARTITION_KEY
from attribution.io.validation import empty_rejects
from tests.dask.data import assert_frames_close, assert_same_result, sample, write_split

ORIGIN = ["table", "source_file", "source_row"]


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return sample(journeys=60, untouched=3)


@pytest.fixture(scope="module")
def folders(
    tmp_path_factory: pytest.TempPathFactory, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("data")
    touches, outcomes = frames
    return write_split(touches, root / "t", [200, 450]), write_split(outcomes, root / "o", [30])


def bad_folders(root: Path, frames: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[Path, Path]:
    """Unparseable timestamps, null channels and negative values, in several files."""
    touches, outcomes = frames[0].copy(), frames[1].copy()
    touches["channel"] = touches["channel"].astype(object)
    touches.loc[[5, 300, 600, 601], "channel"] = None
    touches["timestamp"] = touches["timestamp"].astype(str)
    touches.loc[[3, 500], "timestamp"] = "yesterday"
    outcomes.loc[[4, 50], "value"] = -1.0
    return write_split(touches, root / "t", [200, 450]), write_split(outcomes, root / "o", [30])


def test_invalid_rows_fail_with_the_local_message(
    client: Client, tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    touches, outcomes = bad_folders(tmp_path, frames)
    with pytest.raises(at.InputError) as local:
        at.load(touches, outcomes)
    with pytest.raises(at.InputError) as distributed:
        adk.attribute(touches, outcomes, ["linear"], client=client, partitions=3)
    assert str(distributed.value) == str(local.value)
    assert "part-2.parquet row 51" in str(distributed.value)


def test_skipped_rows_go_to_the_rejects_dataset_as_locally(
    client: Client, tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    touches, outcomes = bad_folders(tmp_path, frames)
    teams = {"webinar": "marketing", "not_a_channel": "sales"}
    options = dict(on_invalid="skip", channel_teams=teams, untouched="reject")
    loaded = at.load(touches, outcomes, **options)  # type: ignore[arg-type]
    local = at.attribute(loaded, ["linear", "markov"])
    got = adk.attribute(
        touches,
        outcomes,
        ["linear", "markov"],
        client=client,
        partitions=3,
        rejects=tmp_path / "rejects",
        **options,  # type: ignore[arg-type]
    )
    assert_same_result(local, got)
    assert [n.render() for n in got.reconciliation.notes] == [
        n.render() for n in local.reconciliation.notes
    ]
    written = pd.read_parquet(tmp_path / "rejects")
    expected = loaded.rejects.sort_values(ORIGIN).reset_index(drop=True)
    assert_frames_close(expected, written.sort_values(ORIGIN)[list(expected.columns)], "rejects")


def test_a_run_without_rejects_writes_the_header_alone(
    client: Client, tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    adk.attribute(*folders, ["linear"], client=client, rejects=tmp_path / "rejects")
    written = pd.read_parquet(tmp_path / "rejects")
    assert written.empty and list(written.columns) == list(empty_rejects().columns)


def test_touch_credits_are_written_per_partition(
    client: Client, tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    local = at.attribute(at.load(*folders), ["linear", "shapley", "influenced"], touch_credits=True)
    got = adk.attribute(
        *folders,
        ["linear", "shapley", "influenced"],
        client=client,
        partitions=3,
        touch_credits=tmp_path / "credits",
    )
    assert got.touch_credits is None
    assert len(list((tmp_path / "credits").glob("part.*.parquet"))) == 3
    written = pd.read_parquet(tmp_path / "credits")
    assert local.touch_credits is not None
    key = ["model", "source_file", "source_row"]
    expected = local.touch_credits.sort_values(key).reset_index(drop=True)
    assert_frames_close(expected, written.sort_values(key), "touch credits")


def test_an_existing_folder_is_replaced_only_when_this_engine_wrote_it(
    client: Client, tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(at.ParameterError, match="did not write"):
        adk.attribute(*folders, ["linear"], client=client, touch_credits=foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    target = tmp_path / "credits"
    for partitions in (3, 1):
        adk.attribute(
            *folders, ["linear"], client=client, partitions=partitions, touch_credits=target
        )
    assert sorted(p.name for p in target.iterdir()) == [
        "_attribution_dataset.json",
        "part.00000.parquet",
    ]


def test_dask_dataframes_shuffled_or_indexed_by_journey(
    client: Client, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    touches, outcomes = frames
    local = at.attribute(at.load(touches, outcomes), "all")
    shuffled = adk.attribute(
        dd.from_pandas(touches, npartitions=3),
        dd.from_pandas(outcomes, npartitions=2),
        "all",
        client=client,
        partitions=4,
    )
    assert_same_result(local, shuffled)
    by_journey = adk.attribute(
        dd.from_pandas(touches.set_index("journey_id"), npartitions=3, sort=True),
        dd.from_pandas(outcomes.set_index("journey_id"), npartitions=2, sort=True),
        "all",
        client=client,
    )
    assert_same_result(local, by_journey)


def test_a_kept_layout_is_read_without_a_shuffle_and_checked(
    client: Client, tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    local = at.attribute(at.load(*folders), "all")
    layout = adk.partition_journeys(*folders, tmp_path / "layout", partitions=3, client=client)
    assert_same_result(local, adk.attribute(layout, None, "all", client=client))
    with pytest.raises(at.ParameterError, match="holds its own outcomes"):
        adk.attribute(layout, folders[1], "all", client=client)
    # Move a partition's touches into another partition: its journeys no longer hash there.
    first = tmp_path / "layout" / "touches" / f"{PARTITION_KEY}=00000" / "part.parquet"
    second = tmp_path / "layout" / "touches" / f"{PARTITION_KEY}=00001" / "part.parquet"
    merged = pd.concat([pd.read_parquet(second), pd.read_parquet(first)], ignore_index=True)
    merged.to_parquet(second, index=False)
    pd.read_parquet(first).iloc[:0].to_parquet(first, index=False)
    with pytest.raises(at.InputError, match="another partition of the journey layout"):
        adk.attribute(layout, None, ["linear"], client=client)


def test_fsspec_urls(client: Client, folders: tuple[Path, Path]) -> None:
    local = at.attribute(at.load(*folders), ["linear", "markov"])
    touches, outcomes = (f"file://{f}" for f in folders)
    got = adk.attribute(touches, outcomes, ["linear", "markov"], client=client, partitions=2)
    for dims, frame in local.rollups.items():
        assert_frames_close(frame, got.rollups[dims], f"roll-up by {dims}")


def test_input_errors_before_any_shuffle(
    client: Client, tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    touches = frames[0]
    renamed = write_split(touches.rename(columns={"channel": "medium"}), tmp_path / "t", [100])
    with pytest.raises(at.InputError) as local:
        at.load(renamed)
    with pytest.raises(at.InputError) as distributed:
        adk.attribute(renamed, None, ["linear"], client=client)
    assert str(distributed.value) == str(local.value)
    empty = write_split(touches.iloc[:0], tmp_path / "empty", [])
    with pytest.raises(at.InputError, match="has no rows"):
        adk.attribute(empty, None, ["linear"], client=client)
    shutil.rmtree(empty)
    with pytest.raises(at.InputError, match="not found"):
        adk.attribute(empty, None, ["linear"], client=client)


def test_bootstrap_ci_and_seed_as_locally(
    client: Client, folders: tuple[Path, Path], frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    touches, outcomes = folders
    options = {"by": ("channel",), "bootstrap": 6, "ci": 0.8, "seed": 9}
    # markov and observed-rate shapley split by rates, presence and model-game shapley
    # take the one-pass replicate credit: on the partitions as locally.
    models = {
        "linear": at.models.Linear(),
        "markov": at.models.Markov(),
        "presence": at.models.Presence(),
        "shapley": at.models.Shapley(),
        "shapley_observed": at.models.Shapley(game="observed_rates"),
    }
    local = at.attribute(at.load(*frames), models, **options)  # type: ignore[arg-type]
    got = adk.attribute(touches, outcomes, models, client=client, **options)  # type: ignore[arg-type]
    assert got.bootstrap == at.bootstrap.Bootstrap(6, ci=0.8, seed=9)
    assert_same_result(local, got)
    with pytest.raises(at.ParameterError, match="give bootstrap=B"):
        adk.attribute(touches, outcomes, ["linear"], client=client, ci=0.8)
    with pytest.raises(at.ParameterError, match="holds its own ci and seed"):
        adk.attribute(
            touches,
            outcomes,
            ["linear"],
            client=client,
            bootstrap=at.bootstrap.Bootstrap(5),
            seed=1,
        )
