"""``attribution simulate`` end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import attribution as at
from attribution.cli.main import main


def simulate(out: Path, *args: str) -> int:
    return main(["simulate", "--out", str(out), "--quiet", *args])


def test_writes_data_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            "--scenario",
            "synergy",
            "--journeys",
            "800",
            "--seed",
            "4",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "outcomes.parquet",
        "touches.parquet",
        "truth.parquet",
    ]
    truth = pd.read_parquet(tmp_path / "truth.parquet")
    assert list(truth.columns[:5]) == [
        "channel",
        "true_conversions",
        "true_value",
        "true_share",
        "std_error",
    ]
    loaded = at.load(tmp_path / "touches.parquet", tmp_path / "outcomes.parquet")
    assert loaded.rejects.empty
    assert set(loaded.journeys.channel_names) <= set(truth["channel"])
    err = capsys.readouterr().err
    assert "synergy (seed 4)" in err and "truth.parquet" in err


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    for folder, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        assert (
            simulate(
                tmp_path / folder, "--scenario", "independent", "--journeys", "300", "--seed", seed
            )
            == 0
        )
    frames = {f: pd.read_parquet(tmp_path / f / "outcomes.parquet") for f in "abc"}
    pd.testing.assert_frame_equal(frames["a"], frames["b"])
    assert not frames["a"].equals(frames["c"])


def test_no_truth(tmp_path: Path) -> None:
    assert simulate(tmp_path, "--scenario", "long_cycle", "--journeys", "200", "--no-truth") == 0
    assert not (tmp_path / "truth.parquet").exists()
    assert (tmp_path / "touches.parquet").exists()


def test_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate(tmp_path, "--scenario", "independent", "--journeys", "0") == 2
    assert "error: --journeys must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as raised:
        simulate(tmp_path, "--scenario", "no_such_scenario")
    assert raised.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_symlinked_output_is_replaced_not_written_through(tmp_path: Path) -> None:
    mine = tmp_path / "mydata.parquet"
    mine.write_bytes(b"the user's data")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("touches", "outcomes", "truth"):
        (out / f"{name}.parquet").symlink_to(mine)
    args = ["simulate", "--scenario", "independent", "--journeys", "30", "--out", str(out)]
    assert main([*args, "--quiet"]) == 0
    assert mine.read_bytes() == b"the user's data"
    for name in ("touches", "outcomes", "truth"):
        path = out / f"{name}.parquet"
        assert not path.is_symlink()
        assert len(pd.read_parquet(path)) > 0
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
