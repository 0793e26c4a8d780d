"""The Dask engine's parts that need no cluster: journey partitions by hash, load groups,
pieces and origins, merged problems and notes, the lead stage across partitions, output
folders, and that ``import attribution`` does not import Dask."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import attribution as at
from attribution.cli.outputs import OutputPlan
from attribution.dask.checks import (
    TEAM_NOTES,
    FoundProblem,
    TeamCounts,
    merge_problems,
    team_map_notes,
)
from attribution.dask.datasets import Dataset, Piece, list_dataset, read_piece
from attribution.dask.layout import journey_buckets
from attribution.dask.outputs import DatasetOutput
from attribution.dask.partitioning import Part, Partitioning, Table, from_ranges, group_parts
from attribution.errors import ParameterError, Problem
from attribution.journeys import shared_coding
from attribution.passes import RunOptions, run_partitions
from attribution.plan import plan_run
from tests.builders import J, touches_frame
from tests.dask.data import assert_frames_close, sample

MASK = 2**64 - 1


def mix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def reference_bucket(text: str, partitions: int) -> int:
    """FNV-1a over the id's UTF-8 text, mixed, modulo the partition count."""
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return mix64(h) % partitions


def test_journey_buckets_hash_the_ids_text_whatever_its_type() -> None:
    texts = ["17", "3", "1000000000000", "ä-journey", ""]
    expected = [reference_bucket(t, 7) for t in texts]
    assert journey_buckets(pa.array(texts), 7, "ids").tolist() == expected
    numbers = pa.array([17, 3, 10**12])
    assert journey_buckets(numbers, 7, "ids").tolist() == expected[:3]
    floats = pa.array([17.0, 3.0, None, 2.5])
    assert journey_buckets(floats, 7, "ids").tolist() == [*expected[:2], 0, 0]
    assert journey_buckets(pa.array(texts).slice(1, 2), 7, "ids").tolist() == expected[1:3]


def _dataset(rows: list[int]) -> Dataset:
    return Dataset(
        "data",
        tuple(f"f{i}" for i in range(len(rows))),
        tuple(f"f{i}" for i in range(len(rows))),
        tuple((r,) for r in rows),
        pa.schema([]),
        ((),) * len(rows),
        (),
    )


def _groups(touch_rows: list[int], outcome_rows: list[int]) -> list[list[int]]:
    touches, outcomes = _dataset(touch_rows), _dataset(outcome_rows)
    parts = tuple(
        Part(((Piece(i, 0, 1, 0), None),), ((Piece(i, 0, 1, 0), None),))
        for i in range(len(touch_rows))
    )
    partitioning = Partitioning(Table.of(touches), Table.of(outcomes), parts, "journey_id")
    return [[piece.file for piece, _ in part.touches] for part in group_parts(partitioning)]


def test_load_groups_have_touch_and_outcome_rows() -> None:
    assert _groups([0, 5, 0, 3], [2, 0, 0, 1]) == [[0, 1], [3]]
    assert _groups([4, 0], [1, 3]) == [[0, 1]]
    assert _groups([0, 4], [3, 0]) == [[0, 1]]
    assert _groups([2, 2, 2], [1, 1, 1]) == [[0], [1], [2]]


def test_pieces_are_runs_of_row_groups_with_their_rows(tmp_path: Path) -> None:
    frame = pd.DataFrame({"journey_id": range(9), "channel": list("abcabcabc")})
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "a.parquet", row_group_size=3)
    pq.write_table(pa.Table.from_pandas(frame.head(2)), tmp_path / "b.parquet")
    dataset = list_dataset(tmp_path, "touches")
    assert dataset.pieces(5) == [
        Piece(0, 0, 1, 0),
        Piece(0, 1, 2, 3),
        Piece(0, 2, 3, 6),
        Piece(1, 0, 1, 0),
    ]
    assert dataset.pieces(6) == [Piece(0, 0, 2, 0), Piece(0, 2, 3, 6), Piece(1, 0, 1, 0)]
    read = read_piece(dataset, Piece(0, 1, 2, 3), ["channel", "missing"])
    assert read.column_names == ["channel", "__attribution_file", "__attribution_row"]
    assert read["__attribution_row"].to_pylist() == [4, 5, 6]
    assert read["channel"].to_pylist() == ["a", "b", "c"]


def test_a_dataset_of_different_files_is_refused_as_locally(tmp_path: Path) -> None:
    pd.DataFrame({"journey_id": [1], "channel": ["a"]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"journey_id": [2]}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(at.InputError) as local:
        at.load(tmp_path)
    with pytest.raises(at.InputError) as listed:
        list_dataset(tmp_path, "touches")
    assert str(listed.value) == str(local.value)


def _ranged(ranges: list[tuple[object, object] | None], rows: list[int]) -> Dataset:
    """One file whose row groups hold ``rows`` rows with these id ranges."""
    return Dataset(
        "data", ("f",), ("f",), (tuple(rows),), pa.schema([]), ((),), (), None, (tuple(ranges),)
    )


def test_id_ranges_make_partitions_of_whole_journeys() -> None:
    touches = _ranged([(0, 9), (10, 19), (15, 30), (40, 50)], [5, 5, 5, 5])
    outcomes = _ranged([(0, 5), (6, 12), (41, 45)], [1, 1, 1])
    found = from_ranges(touches, outcomes, "journey_id", target_rows=5)
    assert found is not None
    assert [(p.touches, p.outcomes) for p in found.parts] == [
        (((Piece(0, 0, 3, 0), None),), ((Piece(0, 0, 2, 0), None),)),
        (((Piece(0, 3, 4, 15), None),), ((Piece(0, 2, 3, 2), None),)),
    ]
    packed = from_ranges(touches, outcomes, "journey_id", target_rows=20)
    assert packed is not None and len(packed.parts) == 1
    assert from_ranges(touches, outcomes, "journey_id", target_rows=3) is None
    as_text = _ranged([("0", "5"), ("6", "12"), ("41", "45")], [1, 1, 1])
    assert from_ranges(touches, as_text, "journey_id", target_rows=5) is None
    unknown = _ranged([(0, 5), None, (41, 45)], [1, 1, 1])
    assert from_ranges(touches, unknown, "journey_id", target_rows=5) is None


def _found(reason: str, rows: list[tuple[int, int]], examples: tuple[str, ...]) -> FoundProblem:
    texts = tuple(f"f{file} row {row}" for file, row in rows)
    problem = Problem(reason, "touches data", "channel", texts, len(rows), examples)
    return FoundProblem(problem, tuple((file << 40) + row for file, row in rows))


def test_problems_of_partitions_merge_into_the_local_problems() -> None:
    first = (
        _found("null", [(0, 4), (2, 9)], ("'x'",)),
        _found("empty", [(0, 7)], ()),
    )
    second = (_found("bad", [(1, 1)], ()), _found("null", [(0, 2), (1, 3)], ("'y'",)))
    merged = merge_problems(first, second)
    assert [p.problem.reason for p in merged] == ["bad", "null", "empty"]
    null = merged[1].problem
    assert null.count == 4
    assert null.rows == ("f0 row 2", "f0 row 4", "f1 row 3", "f2 row 9")
    assert null.examples == ("'y'", "'x'")


def test_team_map_notes_of_partitions_are_those_of_the_whole_input() -> None:
    touches, outcomes = sample(journeys=30, untouched=0)
    teams = {"webinar": "marketing", "events": "marketing", "nowhere": "sales"}
    for frame in (touches, touches.drop(columns=["team"])):
        whole = at.load(frame, outcomes, channel_teams=teams)
        ids = np.sort(frame["journey_id"].unique())
        counts = TeamCounts()
        for chunk in np.array_split(ids, 3):
            part = at.load(
                frame[frame["journey_id"].isin(chunk)],
                outcomes[outcomes["journey_id"].isin(chunk)],
                channel_teams=teams,
            )
            counts = counts.merge(TeamCounts.of(part.intake.notes))
        expected = [n for n in whole.intake.notes if n.code in TEAM_NOTES]
        got = team_map_notes(counts, teams, whole.journeys.channel_names)
        assert [n.render() for n in got] == [n.render() for n in expected]
        assert [n.data for n in got] == [n.data for n in expected]
    assert TeamCounts(True, 2, Counter(a=1)).merge(TeamCounts(False, 3, Counter(a=2))) == (
        TeamCounts(True, 5, Counter(a=3))
    )


def test_the_lead_stage_spans_partitions_without_lead_dates() -> None:
    frame = touches_frame(
        [
            J(["a", "b"], value=5, milestones={"lead_created_at": 0.5}),
            J(["b", "c"], converted=False),
            J(["c", "a"], value=3),
            J(["b"], value=2),
        ]
    )
    whole = at.load(frame).journeys
    parts = shared_coding(
        [
            at.load(frame[frame["journey_id"] == "j0"]).journeys,
            at.load(frame[frame["journey_id"] != "j0"]).journeys,
        ]
    )
    plan = plan_run(whole, ["shapley", "linear", "markov"], by=("channel",))
    options = RunOptions(scorecard=True)
    expected, _ = run_partitions([whole], plan, options)
    got, _ = run_partitions(parts, plan, options)
    assert expected.scorecards is not None and got.scorecards is not None
    assert_frames_close(
        expected.scorecards[("channel",)], got.scorecards[("channel",)], "scorecard"
    )


def test_folder_outputs_hold_no_input_and_no_other_output(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "touches.parquet").write_bytes(b"")
    inputs = [("INPUT", str(data))]
    for target, message in (
        (tmp_path, "holds the input"),
        (data / "credits", "inside the input folder"),
    ):
        plan = OutputPlan()
        plan.add("--touch-credits", target, folder=True)
        with pytest.raises(ParameterError, match=message):
            plan.check(inputs)
    plan = OutputPlan()
    plan.add("--touch-credits", tmp_path / "out", folder=True)
    plan.add("--out", tmp_path / "out" / "credits.csv")
    with pytest.raises(ParameterError, match="inside the output folder"):
        plan.check(inputs)


def test_dataset_outputs_never_overwrite_what_they_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ParameterError, match="is a file"):
        DatasetOutput.at(tmp_path / "file", "touch_credits", None)
    output = DatasetOutput.at(tmp_path / "new", "touch_credits", None)
    output.part(0, pa.table({"a": [1]}))
    output.commit(output.parts())
    assert pd.read_parquet(tmp_path / "new")["a"].tolist() == [1]
    again = DatasetOutput.at(tmp_path / "new", "touch_credits", None)
    again.discard()
    assert (tmp_path / "new" / "part.00000.parquet").exists()


def test_importing_attribution_does_not_import_dask() -> None:
    code = (
        "import sys, attribution, attribution.cli.run, attribution.engine; "
        "attribution.attribute; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_models_are_checked_before_any_cluster_or_data(tmp_path: Path) -> None:
    # No client is given and the input does not exist: the unknown model and the bad
    # parameter are reported first, without waiting for a cluster or the data.
    from attribution.dask import attribute

    with pytest.raises(ParameterError, match="nope"):
        attribute(tmp_path / "missing", models=["nope"])
    with pytest.raises(ParameterError, match="half_life_days"):
        attribute(tmp_path / "missing", models=["time_decay"],
                  parameters={"time_decay": {"half_life_days": -1}})  # fmt: skip
