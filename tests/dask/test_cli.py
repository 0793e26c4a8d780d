"""``attribution run --engine dask`` end to end on folder datasets: the local engine's
files, exit 2 naming the file for bad input, the shuffle path and the pre-partitioned
paths alike, and the cluster and output options checked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from distributed import Client

from attribution.cli.main import main
from tests.dask.data import assert_frames_close, sample, write_hive, write_split


def run(*args: str | Path) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    touches, outcomes = sample(journeys=50, untouched=2)
    write_split(touches, root / "touches", [180, 400])
    write_split(outcomes, root / "outcomes", [20])
    bucket = {int(j): int(j) % 3 for j in outcomes["journey_id"]}
    write_hive(touches, root / "hive_touches", bucket)
    write_hive(outcomes, root / "hive_outcomes", bucket)
    return root


@pytest.fixture(scope="module")
def address(client: Client) -> str:
    """The scheduler of the module's cluster, for --scheduler."""
    return str(client.scheduler_info()["address"])


def outputs(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.name: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}


def same_outputs(expected: Path, got: Path) -> None:
    mine, theirs = outputs(got), outputs(expected)
    assert sorted(mine) == sorted(theirs)
    for name, frame in theirs.items():
        assert_frames_close(frame, mine[name], name)


def test_dask_engine_writes_the_local_engine_files(
    address: str, data: Path, tmp_path: Path
) -> None:
    common: list[str | Path] = ["run", data / "touches", "--outcomes", data / "outcomes", "--quiet"]
    local, dask = tmp_path / "local", tmp_path / "dask"
    local.mkdir()
    dask.mkdir()
    assert (
        run(
            *common,
            "--out",
            local / "credits.csv",
            "--reconciliation",
            local / "reconciliation.csv",
            "--touch-credits",
            tmp_path / "touches.parquet",
        )
        == 0
    )
    assert (
        run(
            *common,
            "--out",
            dask / "credits.csv",
            "--reconciliation",
            dask / "reconciliation.csv",
            "--touch-credits",
            tmp_path / "touch_credits",
            "--engine",
            "dask",
            "--scheduler",
            address,
            "--partitions",
            "3",
        )
        == 0
    )
    same_outputs(local, dask)
    key = ["model", "source_file", "source_row"]
    expected = pd.read_parquet(tmp_path / "touches.parquet").sort_values(key)
    assert_frames_close(
        expected, pd.read_parquet(tmp_path / "touch_credits").sort_values(key), "touch credits"
    )


def test_shuffled_and_pre_partitioned_inputs_give_one_result(
    address: str, data: Path, tmp_path: Path
) -> None:
    engine: list[str | Path] = ["--engine", "dask", "--scheduler", address, "--quiet"]
    inputs: list[str | Path] = [data / "touches", "--outcomes", data / "outcomes"]
    runs: dict[str, list[str | Path]] = {
        "shuffled": [*inputs, "--shuffle-to", tmp_path / "layout"],
        "layout": [tmp_path / "layout"],
        "hive": [data / "hive_touches", "--outcomes", data / "hive_outcomes", "--partitioned"],
    }
    for name, arguments in runs.items():
        (tmp_path / f"out_{name}").mkdir()
        out = tmp_path / f"out_{name}" / "credits.csv"
        assert run("run", *arguments, *engine, "--out", out, "--models", "linear,markov") == 0
    same_outputs(tmp_path / "out_shuffled", tmp_path / "out_layout")
    same_outputs(tmp_path / "out_shuffled", tmp_path / "out_hive")


def test_relative_input_paths_are_read_from_the_caller_s_folder(
    address: str, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers were started in another working folder: they must read the files the
    # caller named, not paths relative to their own folder.
    expected = tmp_path / "absolute.csv"
    engine: list[str | Path] = ["--engine", "dask", "--scheduler", address, "--quiet"]
    common: list[str | Path] = ["--models", "linear", "--partitions", "2", *engine]
    assert run("run", data / "touches", "--outcomes", data / "outcomes", *common,
               "--out", expected) == 0  # fmt: skip
    monkeypatch.chdir(data)
    got = tmp_path / "relative.csv"
    assert run("run", "touches", "--outcomes", "outcomes", *common, "--out", got) == 0
    assert_frames_close(pd.read_csv(expected), pd.read_csv(got), "relative paths")


def test_bad_input_exits_2_naming_the_file(
    address: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    touches, outcomes = sample(journeys=20, untouched=0)
    touches["channel"] = touches["channel"].astype(object)
    touches.loc[40, "channel"] = None
    folder = write_split(touches, tmp_path / "touches", [30])
    outcomes.to_parquet(tmp_path / "outcomes.parquet")
    engine: list[str | Path] = [
        "--outcomes",
        tmp_path / "outcomes.parquet",
        "--engine",
        "dask",
        "--scheduler",
        address,
    ]
    assert run("run", folder, *engine) == 2
    error = capsys.readouterr().err
    assert f"{folder / 'part-1.parquet'} row 11" in error and "channel is null" in error
    rejects = tmp_path / "out.rejects"
    assert run("run", folder, *engine, "--on-invalid", "skip", "--out", tmp_path / "out.csv") == 0
    rejected = pd.read_parquet(rejects)
    touch_files = rejected.loc[rejected["table"] == "touches", "source_file"]
    assert set(touch_files) == {str(folder / "part-1.parquet")}
    assert set(rejected["table"]) == {"touches", "outcomes"}
    assert "written to the dataset" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--scheduler", "tcp://x:1"], "only with --engine dask"),
        (["--engine", "dask", "--scheduler", "tcp://x:1", "--workers", "2"], "already running"),
        (["--engine", "dask", "--paths"], "path tables"),
    ],
)
def test_engine_options_are_checked(
    data: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("run", data / "touches", *arguments) == 2
    assert message in capsys.readouterr().err


def test_engine_errors_name_the_flags(
    address: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine: list[str | Path] = ["--engine", "dask", "--scheduler", address, "--quiet"]
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    inputs: list[str | Path] = [data / "touches", "--outcomes", data / "outcomes"]
    assert run("run", *inputs, *engine, "--shuffle-to", full) == 2
    err = capsys.readouterr().err
    assert "--shuffle-to" in err and "shuffle_to" not in err
    assert run("run", *inputs, *engine, "--partitioned") == 2
    err = capsys.readouterr().err
    assert "--partitioned needs hive partition folders" in err and "partitioned=True" not in err
    assert (full / "keep.txt").read_text() == "mine"


def test_dataset_outputs_are_guarded(
    address: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine: list[str | Path] = ["--engine", "dask", "--scheduler", address]
    inside = data / "touches" / "credits"
    assert run("run", data / "touches", *engine, "--touch-credits", inside) == 2
    assert "inside the input folder" in capsys.readouterr().err
    assert not inside.exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    assert run("run", data / "touches", *engine, "--touch-credits", foreign) == 2
    assert "did not write" in capsys.readouterr().err


def test_a_local_cluster_is_started_for_the_run(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "credits.csv"
    code = run(
        "run",
        data / "touches",
        "--outcomes",
        data / "outcomes",
        "--engine",
        "dask",
        "--workers",
        "2",
        "--threads-per-worker",
        "1",
        "--memory-limit",
        "1GB",
        "--models",
        "linear",
        "--out",
        out,
        "--quiet",
    )
    assert code == 0
    assert set(pd.read_csv(out)["model"]) == {"linear"}
