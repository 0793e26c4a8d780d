"""Reading: every value means what it says (CSV null tokens, ids, folders, times, types,
numbers), and every message names its file (issue: trust)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import attribution as at
from attribution.errors import InputError
from tests.builders import J, touches_frame

HEADER = "journey_id,timestamp,channel,team,campaign,converted,value\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ CSV cells
def test_null_like_words_are_labels_in_text_columns(tmp_path: Path) -> None:
    text = HEADER + (
        "NA,2024-01-01,N/A,NA,NULL,1,10\n"
        "None,2024-01-02,NaN,#N/A,None,0,\n"
        "x,2024-01-03,email,,,1,5\n"
    )
    loaded = at.load(write(tmp_path / "t.csv", text))
    journeys = loaded.journeys
    assert sorted(journeys.journey_id.tolist()) == ["NA", "None", "x"]
    assert journeys.channel_names == ("N/A", "NaN", "email")
    # North America stays North America; the empty team cell falls back to unassigned.
    assert journeys.team_names == ("#N/A", "NA", "unassigned")
    assert journeys.campaign_names == ("(none)", "NULL", "None")


@pytest.mark.parametrize("token", ["", "NA", "n/a", "NULL", "None", "NaN", "#N/A"])
def test_null_tokens_in_numeric_and_boolean_columns(tmp_path: Path, token: str) -> None:
    text = HEADER + f"a,2024-01-01,email,x,,0,{token}\nb,2024-01-02,email,x,,{token},\n"
    loaded = at.load(write(tmp_path / "t.csv", text))
    # A null converted flag without converted_at: not converted; a null value where the
    # journey did not convert is fine.
    assert loaded.journeys.converted.tolist() == [False, False]


# ------------------------------------------------------------------ journey ids
def test_float_ids_are_integers_and_nan_ids_are_null(tmp_path: Path) -> None:
    frame = touches_frame([J(["a"]), J(["b"]), J(["c"])])
    frame["journey_id"] = [17.0, np.nan, 4.0]
    with pytest.raises(InputError, match="journey_id is null"):
        at.load(frame)
    loaded = at.load(frame, on_invalid="skip")
    assert sorted(loaded.journeys.journey_id.tolist()) == [4, 17]
    assert loaded.rejects["reason"].tolist() == ["journey_id: journey_id is null"]
    fractional = frame.assign(journey_id=[1.5, 2.0, 3.0])
    with pytest.raises(InputError, match="journey_id is not a whole number"):
        at.load(fractional)


def test_unsigned_64_bit_ids_at_or_above_2_63(tmp_path: Path) -> None:
    ids = np.array([2**63, 2**64 - 1, 5], dtype=np.uint64)
    frame = touches_frame([J(["a"]), J(["b"]), J(["c"], converted=False)])
    table = pa.Table.from_pandas(frame.drop(columns=["journey_id"]), preserve_index=False)
    table = table.append_column("journey_id", pa.array(ids, pa.uint64()))
    outcomes = pa.table({"journey_id": pa.array([2**64 - 1], pa.uint64()), "segment": ["x"]})
    loaded = at.load(table, outcomes, dimensions=["segment"])
    assert sorted(loaded.journeys.journey_id.tolist()) == [5, 2**63, 2**64 - 1]
    result = at.attribute(loaded, ["linear"], by=("segment",))
    assert set(result.credits["segment"]) == {"x", "(none)"}


def test_journey_id_of_a_nested_type_names_the_file(tmp_path: Path) -> None:
    frame = touches_frame([J(["a"])])
    table = pa.Table.from_pandas(frame.drop(columns=["journey_id"]), preserve_index=False)
    table = table.append_column("journey_id", pa.array([["x"]]))
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"t\.parquet.*'journey_id'.*nested") as caught:
        at.load(tmp_path / "t.parquet")
    assert "list<" in str(caught.value)


# ---------------------------------------------------------------------- folders
def test_each_file_of_a_folder_is_read_once_and_the_rest_is_named(tmp_path: Path) -> None:
    frame = touches_frame([J(["a", "b"]), J(["c"], converted=False)])
    folder = tmp_path / "data"
    (folder / "part=1").mkdir(parents=True)
    frame.iloc[:2].to_parquet(folder / "part=1" / "a.parquet")
    frame.iloc[2:].to_parquet(folder / "b.parquet")
    os.link(folder / "b.parquet", folder / "c.parquet")  # a hard link to b
    (folder / "loop").symlink_to(folder)  # a symlink loop
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-0.crc").write_text("x")
    (folder / "notes.txt.bak").write_text("not data")
    loaded = at.load(folder)
    assert loaded.journeys.n_touches == 3  # nothing doubled
    (note,) = [n for n in loaded.intake.notes if n.code == "files_not_read"]
    names = {Path(p).name for p in note.data["files"]}
    assert names == {"c.parquet", "loop", "_SUCCESS", ".part-0.crc", "notes.txt.bak"}
    assert "the same file as" in note.message and "hidden or metadata" in note.message
    text = at.attribute(loaded, ["linear"]).reconciliation.to_text()
    assert "5 file(s)" in text


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_text_file_beside_the_data_is_named_not_read(tmp_path: Path, kind: str) -> None:
    frame = touches_frame([J(["a", "b"], value=4), J(["c"], value=2)])
    folder = tmp_path / "data"
    folder.mkdir()
    if kind == "parquet":
        frame.to_parquet(folder / "part-0.parquet")
    else:
        frame.iloc[:2].to_csv(folder / "a.csv", index=False)
        frame.iloc[2:].to_csv(folder / "b.tsv", index=False, sep="\t")
    (folder / "notes.txt").write_text("exported on Monday\n")
    (folder / "README.txt.gz").write_bytes(gzip.compress(b"read me"))
    loaded = at.load(folder)
    assert loaded.journeys.total_value == 6
    (note,) = [n for n in loaded.intake.notes if n.code == "files_not_read"]
    assert {Path(p).name for p in note.data["files"]} == {"notes.txt", "README.txt.gz"}
    assert "not a parquet or CSV file" in note.message
    # Named on its own, a .txt file is read as CSV, as before.
    frame.to_csv(tmp_path / "touches.txt", index=False)
    assert at.load(tmp_path / "touches.txt").journeys.total_value == 6


def test_a_folder_of_csv_files_and_gzip(tmp_path: Path) -> None:
    frame = touches_frame([J(["a", "b"], value=4), J(["c"], value=2)])
    folder = tmp_path / "csv"
    folder.mkdir()
    frame.iloc[:2].to_csv(folder / "a.csv", index=False)
    with gzip.open(folder / "b.csv.gz", "wt") as handle:
        frame.iloc[2:].to_csv(handle, index=False)
    loaded = at.load(folder)
    assert loaded.journeys.total_value == 6
    assert at.load(folder / "b.csv.gz").journeys.total_value == 2
    frame.to_parquet(folder / "c.parquet")
    with pytest.raises(InputError, match="mixes parquet and CSV"):
        at.load(folder)


# ------------------------------------------------------------------------ times
def test_iso_strings_keep_nanosecond_order(tmp_path: Path) -> None:
    text = HEADER + (
        "a,2024-01-01T00:00:00.000000002Z,late,x,,1,1\n"
        "a,2024-01-01T00:00:00.000000001Z,early,x,,1,1\n"
    )
    loaded = at.load(write(tmp_path / "t.csv", text))
    names = np.asarray(loaded.journeys.channel_names)[loaded.journeys.channel]
    assert names.tolist() == ["early", "late"]
    assert np.diff(loaded.journeys.timestamp).tolist() == [1]


@pytest.mark.parametrize("unit", ["ms", "us"])
def test_placeholder_dates_in_coarse_parquet_units_are_out_of_range(
    tmp_path: Path, unit: str
) -> None:
    frame = touches_frame([J(["a"], value=3), J(["b"], value=5)])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    times = pa.array(
        [pd.Timestamp("2024-01-01"), pd.Timestamp("9999-12-31 23:59:59.999").to_pydatetime()],
        pa.timestamp(unit, tz="UTC"),
    )
    table = table.set_column(table.schema.get_field_index("closed_at"), "closed_at", times)
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(InputError, match="outside the supported range"):
        at.load(tmp_path / "t.parquet")
    loaded = at.load(tmp_path / "t.parquet", on_invalid="skip")
    assert loaded.journeys.total_value == 3 and len(loaded.rejects) == 1


# ------------------------------------------------------------------------ types
def test_a_boolean_value_column_is_refused(tmp_path: Path) -> None:
    frame = touches_frame([J(["a"])]).assign(value=True)
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"t\.parquet.*'value' holds true/false"):
        at.load(tmp_path / "t.parquet")


def test_two_columns_of_one_name_in_parquet(tmp_path: Path) -> None:
    table = pa.Table.from_arrays(
        [pa.array(["a"]), pa.array(["2024-01-01"]), pa.array(["x"]), pa.array(["y"])],
        names=["journey_id", "timestamp", "channel", "channel"],
    )
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"t\.parquet.*repeated column names: 'channel'"):
        at.load(tmp_path / "t.parquet")


def test_a_path_stored_as_a_list_is_the_path(tmp_path: Path) -> None:
    table = pa.table(
        {
            "path": pa.array([["a", "b"], ["b"]], pa.list_(pa.string())),
            "total_conversions": [2, 0],
            "total_null": [1, 3],
        }
    )
    text = "path,total_conversions,total_null\na > b,2,1\nb,0,3\n"
    from_list = at.load(table, paths=True).journeys
    from_text = at.load(write(tmp_path / "p.csv", text), paths=True).journeys
    assert from_list == from_text


def test_path_value_column_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "path,total_conversions,total_null,revenue\na,1,0,5\n")
    columns = at.ColumnMap(total_conversion_value="amount")
    with pytest.raises(InputError, match="no column 'amount' \\(for total_conversion_value\\)"):
        at.load(path, paths=True, columns=columns)


def test_channel_names_are_refused_only_when_the_parser_would_split_them(
    tmp_path: Path,
) -> None:
    frame = touches_frame([J(["partner->referral", "a"])])
    assert at.load(frame).journeys.channel_names == ("a", "partner->referral")
    with pytest.raises(InputError, match="contains the path separator"):
        at.load(touches_frame([J(["a > b"])]))


# ---------------------------------------------------------------------- numbers
def test_values_whose_total_overflows(tmp_path: Path) -> None:
    frame = touches_frame([J(["a"], value=1e308), J(["b"], value=1e308)])
    with pytest.raises(InputError, match="total is not a finite number"):
        at.load(frame)
    paths = write(
        tmp_path / "p.csv",
        "path,total_conversions,total_null,total_conversion_value\na,1,0,1e308\nb,1,0,1e308\n",
    )
    with pytest.raises(InputError, match="not a finite number"):
        at.load(paths, paths=True)


# ---------------------------------------------------------------- row numbers
def test_rows_and_lines_are_both_given_for_csv(tmp_path: Path) -> None:
    text = HEADER + (
        'a,2024-01-01,email,x,"a campaign\nspanning two lines",1,10\nb,yesterday,email,x,,1,10\n'
    )
    with pytest.raises(InputError, match=r"row 2, line 4"):
        at.load(write(tmp_path / "t.csv", text))


def test_csv_parse_errors_name_the_line_and_column(tmp_path: Path) -> None:
    broken = write(tmp_path / "t.csv", HEADER + "a,2024-01-01,email,x,,1,10,extra\n")
    with pytest.raises(InputError, match=r"t\.csv.*line 2 has 8 cells, the header has 7"):
        at.load(broken)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "a,2024-01-01,caf\xe9,x,,1,10\n").encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv: column 'channel': .*not UTF-8.* line 2"):
        at.load(latin)


# ------------------------------------------------------------------- team map
def test_team_map_use_is_said_in_notes() -> None:
    frame = touches_frame([J(["webinar", "email"]), J(["events"], converted=False)])
    notes = at.load(frame, channel_teams={"webinar": "marketing"}).intake.notes
    (missing,) = [n for n in notes if n.code == "team_map_missing_channels"]
    assert missing.data["channels"] == {"email": 1, "events": 1}
    nothing = at.load(frame, channel_teams={"Webinar": "marketing"}).intake.notes
    assert next(n.code for n in nothing) == "team_map_matches_nothing"
    both = at.load(
        frame.assign(team=pd.Series(["sales", None, None])), channel_teams={"webinar": "marketing"}
    ).intake.notes
    assert "team_map_with_team_column" in {n.code for n in both}


def test_milestone_models_say_how_unknown_milestones_were_spread(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "path,total_conversions,total_null\na > b > c,2,1\n")
    result = at.attribute(at.load(path, paths=True), ["w_shaped", "full_path"])
    notes = result.reconciliation.notes_about(code="milestones_unknown")
    assert {n.model for n in notes} == {"w_shaped", "full_path"}
    w_shaped = next(n for n in notes if n.model == "w_shaped")
    assert w_shaped.data["unknown"] == {
        "first_touch": 0.0,
        "lead_created_at": 2.0,
        "opportunity_created_at": 2.0,
    }
    credits = result.credits.set_index(["model", "channel"])["credited_value"]
    # FT keeps 30, the other touch shares 10: renormalised to 75% / 12.5% / 12.5%.
    assert credits["w_shaped", "a"] == pytest.approx(1.5)
    assert credits["w_shaped", "b"] == pytest.approx(0.25)


# -------------------------------------------------------- ecosystem objects
def test_arrow_streams_from_polars_and_duckdb() -> None:
    import duckdb
    import polars

    frame = touches_frame([J(["a", "b"], value=10), J(["b"], value=4), J(["c"], converted=False)])
    expected = at.attribute(at.load(frame), ["linear", "markov"]).credits
    from_polars = at.attribute(at.load(polars.from_pandas(frame)), ["linear", "markov"]).credits
    pd.testing.assert_frame_equal(from_polars, expected)
    connection = duckdb.connect()
    connection.register("touches", frame)
    relation = connection.sql("select * from touches")
    from_duckdb = at.attribute(at.load(relation), ["linear", "markov"]).credits
    pd.testing.assert_frame_equal(from_duckdb, expected)
    reader = pa.Table.from_pandas(frame).to_reader()
    pd.testing.assert_frame_equal(
        at.attribute(at.load(reader), ["linear", "markov"]).credits, expected
    )
