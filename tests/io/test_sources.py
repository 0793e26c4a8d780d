"""Every supported source reads to the same journeys; times are normalised to UTC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import attribution as at
from attribution.errors import InputError
from attribution.kernels.segments import NO_TIME
from tests.builders import J, touches_frame

JOURNEYS = [
    J(["paid_search", "webinar", "sdr_call"], value=1000, teams=["marketing", "marketing", "sdr"]),
    J(["direct"], converted=False, teams=["marketing"]),
    J(["webinar", "ae_meeting"], value=250, teams=["marketing", "sales"]),
]


def signature(loaded: at.Loaded) -> tuple[object, ...]:
    j = loaded.journeys
    return (
        j.channel_names,
        j.team_names,
        j.channel.tolist(),
        j.team.tolist(),
        j.timestamp.tolist(),
        j.offsets.tolist(),
        [str(i) for i in j.journey_id],
        j.converted.tolist(),
        j.value.tolist(),
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return touches_frame(JOURNEYS)


def test_every_source_gives_the_same_journeys(frame: pd.DataFrame, tmp_path: Path) -> None:
    expected = signature(at.load(frame))
    frame.to_parquet(tmp_path / "t.parquet")
    assert signature(at.load(tmp_path / "t.parquet")) == expected
    assert signature(at.load(str(tmp_path / "t.parquet"))) == expected
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert signature(at.load(tmp_path / "t.csv")) == expected
    frame.to_csv(tmp_path / "semicolon.csv", index=False, sep=";")
    assert signature(at.load(tmp_path / "semicolon.csv")) == expected
    assert signature(at.load(pa.Table.from_pandas(frame))) == expected
    folder = tmp_path / "folder"
    folder.mkdir()
    frame.iloc[:3].to_parquet(folder / "part-0.parquet")
    frame.iloc[3:].to_parquet(folder / "part-1.parquet")
    assert signature(at.load(folder)) == expected


def test_folder_with_different_dictionaries_per_file(frame: pd.DataFrame, tmp_path: Path) -> None:
    # Categorical columns are stored as parquet dictionaries that differ per file.
    frame = frame.astype({"channel": "category", "team": "category"})
    folder = tmp_path / "folder"
    folder.mkdir()
    frame.iloc[:2].to_parquet(folder / "a.parquet")
    frame.iloc[2:].to_parquet(folder / "b.parquet")
    loaded = at.load(folder)
    assert loaded.journeys.channel_names == (
        "ae_meeting",
        "direct",
        "paid_search",
        "sdr_call",
        "webinar",
    )
    assert loaded.journeys.total_value == 1250


def test_folder_file_with_other_columns_is_named(frame: pd.DataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    frame.iloc[:3].to_parquet(folder / "a.parquet")
    frame.iloc[3:].drop(columns=["team"]).to_parquet(folder / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet.*missing team"):
        at.load(folder)


def test_errors_in_a_folder_name_the_file_and_row(frame: pd.DataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    frame.iloc[:3].to_parquet(folder / "a.parquet")
    bad = frame.iloc[3:].copy()
    bad.iloc[1, bad.columns.get_loc("channel")] = None
    bad.to_parquet(folder / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet row 2"):
        at.load(folder)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no parquet or CSV files"):
        at.load(tmp_path)


def test_timezones(frame: pd.DataFrame) -> None:
    base = at.load(frame).journeys.timestamp
    shifted = frame.assign(timestamp=frame["timestamp"].dt.tz_convert("America/New_York"))
    assert at.load(shifted).journeys.timestamp.tolist() == base.tolist()
    naive = frame.assign(timestamp=frame["timestamp"].dt.tz_localize(None))
    assert at.load(naive).journeys.timestamp.tolist() == base.tolist()
    texts = frame.assign(
        timestamp=frame["timestamp"].dt.tz_convert("Asia/Kolkata").map(lambda t: t.isoformat())
    )
    assert at.load(texts).journeys.timestamp.tolist() == base.tolist()


def test_timestamps_of_a_wrong_type(frame: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="must be a datetime or an ISO 8601 string"):
        at.load(frame.assign(timestamp=np.arange(len(frame))))


def test_unsorted_input_is_sorted_stably(frame: pd.DataFrame) -> None:
    expected = signature(at.load(frame))
    reversed_rows = frame.iloc[::-1]
    loaded = at.load(reversed_rows)
    # Same touches and times per journey; journeys are numbered by first appearance.
    by_id = dict(
        zip(
            loaded.journeys.journey_id,
            np.split(loaded.journeys.channel, loaded.journeys.offsets[1:-1]),
            strict=True,
        )
    )
    expected_channels = expected[2]
    assert isinstance(expected_channels, list)
    assert [by_id[i].tolist() for i in ["j0", "j1", "j2"]] == [
        expected_channels[0:3],
        expected_channels[3:4],
        expected_channels[4:6],
    ]
    # Input rows (positions in the reversed table) of j0, in time order.
    j0 = list(loaded.journeys.journey_id).index("j0")
    start, end = loaded.journeys.offsets[j0 : j0 + 2]
    assert loaded.journeys.row[start:end].tolist() == [5, 4, 3]


def test_outcomes_with_other_id_type(frame: pd.DataFrame) -> None:
    touches = frame.assign(journey_id=frame["journey_id"].str[1:].astype(int)).drop(
        columns=["converted", "value"]
    )
    outcomes = pd.DataFrame(
        {
            "journey_id": ["0", "1", "2"],
            "converted": [True, False, True],
            "value": [1000.0, 0.0, 250.0],
        }
    )
    assert at.load(touches, outcomes).journeys.total_value == 1250


def test_outcome_columns_are_read_from_whichever_table_has_them() -> None:
    frame = touches_frame(
        [
            J(["a", "b", "c"], value=9, milestones={"lead_created_at": 1, "converted_at": 2}),
            J(["b"], converted=False),
        ]
    )
    touches = frame.drop(columns=["converted", "value"])  # milestones stay on the touches
    outcomes = frame.groupby("journey_id", as_index=False)[["converted", "value"]].first()
    separate = at.load(touches, outcomes).journeys
    together = at.load(frame).journeys
    assert separate.total_value == together.total_value == 9
    for role in ("lead_created_at", "converted_at"):
        assert getattr(together, role)[0] != NO_TIME
        np.testing.assert_array_equal(getattr(separate, role), getattr(together, role))
    with pytest.raises(InputError, match="'value' are in both the touches and the outcomes"):
        at.load(touches.assign(value=1.0), outcomes)


def test_journeys_without_outcome_rows_did_not_convert(frame: pd.DataFrame) -> None:
    touches = frame.drop(columns=["converted", "value"])
    outcomes = pd.DataFrame({"journey_id": ["j0"], "converted": [True], "value": [5.0]})
    loaded = at.load(touches, outcomes)
    assert loaded.journeys.converted.tolist() == [True, False, False]
    assert loaded.intake.journeys_without_outcome == 2


def test_team_from_mapping_and_unassigned(frame: pd.DataFrame) -> None:
    no_team = frame.drop(columns=["team"])
    loaded = at.load(no_team, channel_teams={"paid_search": "marketing", "sdr_call": "sdr"})
    j = loaded.journeys
    teams = [j.team_names[t] for t in j.team]
    channels = [j.channel_names[c] for c in j.channel]
    assert dict(zip(channels, teams, strict=True)) == {
        "paid_search": "marketing",
        "webinar": "unassigned",
        "sdr_call": "sdr",
        "direct": "unassigned",
        "ae_meeting": "unassigned",
    }
    # A team column wins; its nulls fall back to the mapping.
    partial = frame.copy()
    partial.loc[0, "team"] = None
    loaded = at.load(partial, channel_teams={"paid_search": "demand_gen"})
    assert "demand_gen" in loaded.journeys.team_names


def test_values_default_to_one_per_conversion(frame: pd.DataFrame) -> None:
    loaded = at.load(frame.drop(columns=["value"]))
    assert loaded.journeys.value.tolist() == [1.0, 0.0, 1.0]
    assert [n.code for n in loaded.intake.notes] == ["no_value_column"]


def test_flags_as_text_and_numbers(frame: pd.DataFrame) -> None:
    for converted in (["yes", "yes", "yes", "no", "Y", "y"], [1, 1, 1, 0, 1, 1]):
        loaded = at.load(frame.assign(converted=converted))
        assert loaded.journeys.converted.tolist() == [True, False, True]
    with pytest.raises(InputError, match="must be true/false"):
        at.load(frame.assign(converted=[2, 2, 2, 0, 1, 1]))


def test_tab_separated_files(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_csv(tmp_path / "t.tsv", index=False, sep="\t")
    assert signature(at.load(tmp_path / "t.tsv")) == signature(at.load(frame))


def test_csv_with_repeated_column_names(frame: pd.DataFrame, tmp_path: Path) -> None:
    text = frame.to_csv(index=False).replace("team", "channel", 1)
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(InputError, match="repeated column names: 'channel'"):
        at.load(tmp_path / "t.csv")


def test_nested_columns_are_refused(frame: pd.DataFrame) -> None:
    nested = frame.assign(channel=pd.Series([[c] for c in frame["channel"]], index=frame.index))
    with pytest.raises(InputError, match="nested values"):
        at.load(nested)


def test_very_large_integer_values(frame: pd.DataFrame) -> None:
    loaded = at.load(frame.assign(value=np.where(frame["converted"], 2**62, 0)))
    assert loaded.journeys.total_value == pytest.approx(2.0 * 2**62)
