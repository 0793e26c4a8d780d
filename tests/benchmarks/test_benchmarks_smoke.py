"""The benchmark scripts run end to end on tiny data, so they cannot rot.

One ``run_all --quick`` run of every section (each script in its own ``--quick`` mode,
fresh processes done in this process: see ``conftest.py``) into a temporary folder feeds
the tests of each section. No peer runs there: the peers' isolation (failures, crashes,
time-outs, printing) is checked with stand-in peers, and the one peer whose models equal
ours by definition is checked when installed. Nothing here asserts a time or a memory
size: those depend on the machine.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import accuracy, run_all
from benchmarks.ours import our_models
from benchmarks.peers.common import SEP
from benchmarks.peers.runner import NOT_INSTALLED, interpreter_has, run_peer
from benchmarks.speed import ALL
from tests.benchmarks import fake_peer, missing_peer

RESULTS = Path(run_all.__file__).with_name("RESULTS.md")
QUICK_MODELS = ["first_touch", "markov", "shapley"]
#: Script sections smoke-tested by their own tests.
ELSEWHERE = ("dask", "journeys")


@pytest.fixture(scope="module")
def quick_run(in_process: Path) -> dict[str, Any]:
    """``run_all --quick`` without peers into a temporary folder (data there too)."""
    folder = in_process.parent
    before = RESULTS.read_bytes() if RESULTS.exists() else None
    # The Dask benchmark starts a cluster of processes and the CRM one fresh processes:
    # their own tests run them (tests/dask/test_bench.py, test_journeys_bench.py).
    run_all.main(
        ["--quick", "--peers", "", "--out", str(folder / "RESULTS.md"),
         "--json", str(folder / "raw.json"), "--skip", ",".join(ELSEWHERE)]
    )  # fmt: skip
    after = RESULTS.read_bytes() if RESULTS.exists() else None
    return {
        "report": (folder / "RESULTS.md").read_text(),
        "raw": json.loads((folder / "raw.json").read_text()),
        "scripts": {p.stem: json.loads(p.read_text()) for p in in_process.glob("*.json")},
        "untouched": before == after,
    }


def test_run_all_writes_every_section_and_leaves_results_md_alone(
    quick_run: dict[str, Any],
) -> None:
    report = quick_run["report"]
    for name, (title, _) in run_all.SCRIPTS.items():
        assert (f"## {title}" in report) == (name not in ELSEWHERE)
    for title in ("## Speed", "## Accuracy", "## Reproduce", "## Targets", "## Calibration"):
        assert title in report
    assert "**failed**" not in report and "**timeout**" not in report
    assert "| model first_touch |" in report  # bench_rules' table
    assert quick_run["untouched"]


def test_every_script_section_can_be_skipped() -> None:
    args = run_all.parse_args(["--quick", "--skip", ",".join(run_all.SECTIONS)])
    assert args.skip == set(run_all.SECTIONS)
    assert set(run_all.script_arguments(args)) == set(run_all.SCRIPTS)


def test_speed_reports_every_model(quick_run: dict[str, Any]) -> None:
    speed = quick_run["raw"]["speed"]
    assert {row["model"] for row in speed["ours"]} == {*QUICK_MODELS, ALL}
    assert speed["sizes"][0]["journeys"] == 500
    assert speed["peers"] == []


def test_accuracy_scores_every_model_on_every_dataset(quick_run: dict[str, Any]) -> None:
    results = quick_run["raw"]["accuracy"]
    datasets = {(d["scenario"], d["seed"]) for d in results["datasets"]}
    assert datasets == {(s, seed) for s in ("independent", "last_touch_trap") for seed in (1, 2)}
    ours = [s for s in results["scores"] if s["source"] == "this engine"]
    assert len(ours) == len(our_models()) * len(datasets)
    for score in ours:
        assert score["status"] == "ok"
        assert 0 <= score["share_error_tvd"] <= 2
        assert math.isnan(score["rank_correlation"]) or -1 <= score["rank_correlation"] <= 1


def test_process_measures_every_job(quick_run: dict[str, Any]) -> None:
    process = quick_run["scripts"]["benchmarks.bench_process"]
    jobs = process["startup"] + process["models"] + [r["job"] for r in process["scale"]]
    jobs += [p["ours"] for p in process["paths"]]
    assert all(job["status"] == "ok" for job in jobs)
    assert [job["name"] for job in process["startup"]] == [
        "attribution --version",
        "attribution run --help",
        "import attribution",
        "README command, bundled fixture",
    ]
    assert [p["channels"] for p in process["paths"]] == [20, 12]
    assert all(p["peer"]["status"] == "not run (--skip-peer)" for p in process["paths"])
    assert [r["journeys"] for r in process["scale"]] == [1_000, 2_000]
    assert {t["verdict"] for t in process["targets"]} <= {
        "met", "**missed**", "**regression**", "not measured"
    }  # fmt: skip
    assert len(process["targets"]) == 9


def test_scorecard_runs_with_and_without_the_scorecard(quick_run: dict[str, Any]) -> None:
    card = quick_run["scripts"]["benchmarks.bench_scorecard"]
    assert card["models"][1:] == ["sourced", "influenced"]
    assert card["rows"] > 0
    assert not any("fresh process" in status for status in card["statuses"])
    assert [t["job"] for t in card["targets"]] == [
        "time the scorecard adds to the run",
        "peak memory, with / without the scorecard",
    ]


def test_bootstrap_costs_every_job_and_counts_coverage(quick_run: dict[str, Any]) -> None:
    boot = quick_run["scripts"]["benchmarks.bench_bootstrap"]
    assert [row["job"] for row in boot["cost"]] == [
        "rule models",
        "markov",
        "shapley",
        "shapley_observed",
    ]
    assert all(row["status"] == "ok" for row in boot["cost"])
    coverage = boot["coverage"]
    assert {c["model"] for c in coverage} == {"linear", "markov"}
    for c in coverage:
        assert c["samples"] == 4
        assert 0 <= c["covered"] <= c["samples"] - c["missing"]


def test_report_times_each_step_and_measures_the_page(quick_run: dict[str, Any]) -> None:
    report = quick_run["scripts"]["benchmarks.bench_report"]
    assert set(report["steps"]) == {"run_for_report", "report_data", "render_report"}
    assert report["html_bytes"] > 0
    assert [p["status"] for p in report["processes"]] == ["ok", "ok"]


def test_identical_definitions_give_identical_errors(in_process: Path) -> None:
    """ChannelAttribution's first and last touch are ours: same input, same shares."""
    if interpreter_has(sys.executable, "ChannelAttribution") is None:
        pytest.skip("ChannelAttribution is not installed: reported as such")
    args = accuracy.parse_args(
        ["--journeys", "500", "--seeds", "1", "--scenarios", "independent",
         "--peers", "channelattribution"]
    )  # fmt: skip
    scores = accuracy.measure(args).scores
    theirs = {s.model: s for s in scores if s.source == "ChannelAttribution"}
    for s in scores:
        if s.source == "this engine" and s.model in ("first_touch", "last_touch"):
            assert theirs[s.model].share_error_tvd == pytest.approx(s.share_error_tvd, abs=1e-9)


def test_peer_isolation(tmp_path: Path) -> None:
    """A job that raises, hangs, crashes the process or prints leaves the others intact."""
    (tmp_path / "value.txt").write_text("7.5")
    jobs = [job.name for job in fake_peer.INFO.jobs]
    outcomes = run_peer(fake_peer.INFO, tmp_path, jobs, timeout=1.0)
    status = {job: outcome.status for job, outcome in outcomes.items()}
    assert status["ok"] == status["prints"] == status["last"] == "ok"
    assert status["fails"] == "failed: ValueError: bad input"
    assert status["hangs"] == "timeout > 1 s"
    assert status["crashes"].startswith("failed: crashed (exit code 3")
    assert outcomes["last"].credits == {"last": {"web": (1.0, 7.5)}}
    assert outcomes["ok"].seconds is not None and outcomes["ok"].version is not None


def test_missing_peer_is_reported_not_installed(tmp_path: Path) -> None:
    outcomes = run_peer(missing_peer.INFO, tmp_path, ["model"], timeout=30.0)
    assert outcomes["model"].status == NOT_INSTALLED
    assert interpreter_has(sys.executable, missing_peer.INFO.import_name) is None


def test_peer_inputs_keep_every_journey() -> None:
    """The path, session and journey tables carry the engine's windowed journeys exactly."""
    import attribution as at
    from attribution.simulate import simulate
    from benchmarks.peers.inputs import journey_table, path_table, session_table

    sim = simulate("b2b", journeys=300, seed=3)
    journeys, _ = at.load(sim.touches, sim.outcomes).journeys.window(None)
    paths = path_table(journeys)
    assert paths["total_conversions"].sum() == journeys.total_conversions
    assert paths["total_conversion_value"].sum() == pytest.approx(journeys.total_value)
    sessions = session_table(journeys)
    assert len(sessions) == journeys.n_touches
    assert sessions["value"].sum() == pytest.approx(journeys.total_value)
    table = journey_table(journeys)
    assert table["channels"].str.count(SEP).add(1).sum() == journeys.n_touches
    assert (table["time_till_conv"].str.split(SEP).str[-1].astype(float) == 0).all()
