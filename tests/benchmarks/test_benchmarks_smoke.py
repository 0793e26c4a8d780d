"""The benchmark scripts run end to end on tiny data, so they cannot rot.

One ``run_all --quick`` run (every script: rules, Markov, Shapley, speed, accuracy) into
a temporary folder feeds most tests; peers run when installed in this interpreter and
are skipped with a visible reason when not. The peer isolation (failures, crashes,
time-outs, printing) is checked with stand-in peers.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import harness, run_all
from benchmarks.ours import our_models
from benchmarks.peers.catalog import PEERS
from benchmarks.peers.common import SEP
from benchmarks.peers.runner import NOT_INSTALLED, interpreter_has, run_peer
from tests.benchmarks import fake_peer, missing_peer

RESULTS = Path(run_all.__file__).with_name("RESULTS.md")
QUICK_MODELS = ["first_touch", "markov", "shapley"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``run_all --quick`` into a temporary folder (data cached there too)."""
    folder = tmp_path_factory.mktemp("bench")
    before = RESULTS.read_bytes() if RESULTS.exists() else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTRIBUTION_BENCH_DATA", str(folder / "data"))
        patch.setattr(harness, "DATA", folder / "data")
        run_all.main(
            ["--quick", "--out", str(folder / "RESULTS.md"), "--json", str(folder / "raw.json")]
        )
    after = RESULTS.read_bytes() if RESULTS.exists() else None
    return {
        "report": (folder / "RESULTS.md").read_text(),
        "raw": json.loads((folder / "raw.json").read_text()),
        "untouched": before == after,
    }


def test_run_all_writes_every_section_and_leaves_results_md_alone(
    quick_run: dict[str, Any],
) -> None:
    report = quick_run["report"]
    for title in (
        "## Rule models",
        "## Markov chain",
        "## Shapley",
        "## Speed",
        "## Accuracy",
        "## The expectations of issue 5",
        "## Reproduce",
    ):
        assert title in report
    assert "**failed**" not in report and "**timeout**" not in report
    assert "| model first_touch |" in report  # bench_rules' table
    assert quick_run["untouched"]


def test_speed_times_every_model_fresh_and_warm(quick_run: dict[str, Any]) -> None:
    speed = quick_run["raw"]["speed"]
    rows = {row["model"]: row for row in speed["ours"]}
    assert set(rows) == {*QUICK_MODELS, "all models above, one call"}
    for row in rows.values():
        assert 0 < row["warm_s"] < row["fresh_s"]
        assert row["fresh_mb"] > 50 and 0 <= row["warm_mb"] < row["fresh_mb"]
    assert speed["sizes"][0]["journeys"] == 500


def test_every_peer_job_is_reported_at_every_size(quick_run: dict[str, Any]) -> None:
    speed = quick_run["raw"]["speed"]
    reported = {(row["peer"], row["job"]) for row in speed["peers"]}
    expected = {(info.label, job.name) for info in PEERS.values() for job in info.jobs}
    assert reported == expected
    for row in speed["peers"]:
        assert row["status"] == "ok" or row["peer_s"] is None
        if row["status"] == "ok":
            assert row["peer_s"] > 0 and row["peer_mb"] > 0
            if row["ours"] != "-":
                assert row["ours_s"] > 0


def test_accuracy_scores_every_model_on_every_dataset(quick_run: dict[str, Any]) -> None:
    accuracy = quick_run["raw"]["accuracy"]
    datasets = {(d["scenario"], d["seed"]) for d in accuracy["datasets"]}
    assert datasets == {(s, seed) for s in ("independent", "last_touch_trap") for seed in (1, 2)}
    ours = [s for s in accuracy["scores"] if s["source"] == "this engine"]
    assert len(ours) == len(our_models()) * len(datasets)
    for score in ours:
        assert score["status"] == "ok"
        assert 0 <= score["share_error_tvd"] <= 2
        assert math.isnan(score["rank_correlation"]) or -1 <= score["rank_correlation"] <= 1
    peers = {(s["source"], s["model"]) for s in accuracy["scores"] if s["source"] != "this engine"}
    expected = {(i.label, m.name) for i in PEERS.values() for j in i.jobs for m in j.models}
    assert peers == expected


@pytest.mark.parametrize("peer", list(PEERS))
def test_peer_runs_when_installed(quick_run: dict[str, Any], peer: str) -> None:
    info = PEERS[peer]
    rows = [r for r in quick_run["raw"]["speed"]["peers"] if r["peer"] == info.label]
    if interpreter_has(sys.executable, info.import_name) is None:
        assert {r["status"] for r in rows} == {NOT_INSTALLED}
        pytest.skip(f"{info.label} ({info.distribution}) is not installed: reported as such")
    assert any(r["status"] == "ok" for r in rows)


def test_identical_definitions_give_identical_errors(quick_run: dict[str, Any]) -> None:
    """ChannelAttribution's first and last touch are ours: same input, same shares."""
    scores = quick_run["raw"]["accuracy"]["scores"]
    theirs = {
        (s["scenario"], s["seed"], s["model"]): s
        for s in scores
        if s["source"] == "ChannelAttribution"
    }
    if not theirs or all(s["status"] == NOT_INSTALLED for s in theirs.values()):
        pytest.skip("ChannelAttribution is not installed: reported as such")
    for s in scores:
        if s["source"] == "this engine" and s["model"] in ("first_touch", "last_touch"):
            peer = theirs[(s["scenario"], s["seed"], s["model"])]
            assert peer["share_error_tvd"] == pytest.approx(s["share_error_tvd"], abs=1e-9)


def test_peer_isolation(tmp_path: Path) -> None:
    """A job that raises, hangs, crashes the process or prints leaves the others intact."""
    (tmp_path / "value.txt").write_text("7.5")
    jobs = [job.name for job in fake_peer.INFO.jobs]
    outcomes = run_peer(fake_peer.INFO, tmp_path, jobs, timeout=3.0)
    status = {job: outcome.status for job, outcome in outcomes.items()}
    assert status["ok"] == status["prints"] == status["last"] == "ok"
    assert status["fails"] == "failed: ValueError: bad input"
    assert status["hangs"] == "timeout > 3 s"
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
