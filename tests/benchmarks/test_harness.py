"""The benchmark datasets hold what they say, and targets give the right verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchmarks import harness
from benchmarks.harness import Target
from benchmarks.synthetic import generate


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(harness, "DATA", tmp_path)
    return tmp_path


def test_path_table_counts_every_journey_by_its_path(data: Path) -> None:
    table = harness.path_dataset(300, 5, seed=3)
    synthetic = generate(300, 5, 3, popularity_exponent=1.75)
    touches = synthetic.touches.sort_values(["journey_id", "timestamp"], kind="stable")
    paths = touches.groupby("journey_id")["channel"].agg(lambda c: " > ".join(map(str, c)))
    outcomes = synthetic.outcomes.set_index("journey_id")
    expected = (
        pd.DataFrame(
            {"path": paths, "converted": outcomes["converted"], "value": outcomes["value"]}
        )
        .groupby("path")
        .agg(
            conversions=("converted", "sum"), journeys=("converted", "size"), value=("value", "sum")
        )
    )
    written = pd.read_csv(table.csv).set_index("path").sort_index()
    assert (table.journeys, table.paths, table.channels) == (300, len(expected), 5)
    assert table.touches == len(synthetic.touches)
    assert written.index.tolist() == expected.index.tolist()
    assert (written["total_conversions"] == expected["conversions"]).all()
    assert (written["total_null"] == expected["journeys"] - expected["conversions"]).all()
    assert np.allclose(written["total_conversion_value"], expected["value"])


def test_a_scaled_dataset_is_its_chunks_one_after_the_other(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness, "CHUNK_JOURNEYS", 100)
    touches, outcomes = harness.scaled_dataset(250, 4, seed=5)
    read = pq.read_table(touches).to_pandas(), pq.read_table(outcomes).to_pandas()
    chunks = [generate(100, 4, 5, first_id=0), generate(100, 4, 6, first_id=100),
              generate(50, 4, 7, first_id=200)]  # fmt: skip
    for got, part in zip(read, ("touches", "outcomes"), strict=True):
        expected = pd.concat([getattr(c, part) for c in chunks], ignore_index=True)
        pd.testing.assert_frame_equal(got, expected, check_categorical=False)
    assert harness.scaled_dataset(100, 4, seed=5) == harness.dataset(100, 4, seed=5)


def test_milestones_leave_the_other_columns_as_they_are() -> None:
    plain, dated = generate(400, 6, 2), generate(400, 6, 2, milestones=True)
    pd.testing.assert_frame_equal(plain.touches, dated.touches)
    pd.testing.assert_frame_equal(plain.outcomes, dated.outcomes[plain.outcomes.columns])
    o = dated.outcomes
    converted = o["converted"].to_numpy(bool)
    assert (o["opportunity_created_at"].isna() == ~converted).all()
    assert (o["lead_created_at"][converted] <= o["converted_at"][converted]).all()
    assert (o["closed_at"].notna() == o["won"].notna()).all()
    assert not o["won"][~converted].notna().any()


@pytest.mark.parametrize(
    ("target", "verdict"),
    [
        (Target("t", 0.5, "s", at_most=1.0), "met"),
        (Target("t", 1.5, "s", at_most=1.0), "**missed**"),
        (Target("t", 9.0, "x", at_least=8.0, regression=4.0), "met"),
        (Target("t", 5.0, "x", at_least=8.0, regression=4.0), "**missed**"),
        (Target("t", 3.0, "x", at_least=8.0, regression=4.0), "**regression**"),
        (Target("t", 90.0, "%", at_least=85.0, at_most=95.0), "met"),
        (Target("t", 97.0, "%", at_least=85.0, at_most=95.0), "**missed**"),
        (Target("t", None, "s", at_most=1.0), "not measured"),
    ],
)
def test_target_verdicts(target: Target, verdict: str) -> None:
    assert target.verdict == verdict


def test_target_cells() -> None:
    assert Target("job", 1.234, "s", at_most=2.0).cells() == ["job", "1.23 s", "≤ 2 s", "met"]
    assert Target("c", 90.0, "%", at_least=85, at_most=95).cells()[2] == "85-95 %"


def test_scenario_lists_name_presets_robustness_or_both() -> None:
    import argparse

    from attribution.simulate import scenario_names
    from attribution.simulate.robustness import robustness_names

    parser = argparse.ArgumentParser()
    presets, robust = list(scenario_names()), list(robustness_names())
    assert harness.scenario_list(parser, "all") == presets + robust
    assert harness.scenario_list(parser, "presets") == presets
    assert harness.scenario_list(parser, "robustness") == robust
    assert harness.scenario_list(parser, "b2b,fast_decay") == ["b2b", "fast_decay"]
    with pytest.raises(SystemExit):
        harness.scenario_list(parser, "b2b,nope")


def test_path_accuracy_runs_robustness_scenarios_and_says_what_they_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from attribution.simulate import scenario_names
    from attribution.simulate.robustness import robustness_names
    from benchmarks import accuracy, accuracy_paths

    every = [*scenario_names(), *robustness_names()]
    assert accuracy_paths.parse_args([]).scenarios == every
    assert accuracy.parse_args(["--peers", ""]).scenarios == every
    accuracy_paths.main(["--journeys", "300", "--seeds", "1", "--scenarios", "fast_decay"])
    out = capsys.readouterr().out
    assert "Robustness scenarios: fast_decay." in out and "| fast_decay | " in out
    assert "late_passenger" not in out
    accuracy_paths.main(["--journeys", "300", "--seeds", "1", "--scenarios", "late_passenger"])
    out = capsys.readouterr().out
    assert "Robustness scenarios: late_passenger." in out
    assert "its path tables are `last_touch_trap`'s" in out
