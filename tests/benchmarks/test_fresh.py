"""Fresh processes, for real: what the benchmarks' whole-process numbers rest on.

The smoke tests run these tasks in-process (``conftest.py``); here the real runner
starts real interpreters on cheap tasks.
"""

from __future__ import annotations

import sys

from benchmarks import fresh, run_all


def test_a_task_reports_its_numbers_and_its_own_peak() -> None:
    measured = fresh.run(["call", "tests.benchmarks.tasks:numbers", "2.5"])
    assert measured.ok
    assert measured.values == {"value": 2.5, "twice": 5.0}
    assert measured.peak_mb is not None and measured.seconds > 0


def test_the_attribution_command_runs_as_its_console_script_does() -> None:
    assert fresh.run(["attribution", "--version"]).ok
    bad = fresh.run(["attribution", "no-such-command"])
    assert bad.status.startswith("exit code 2: attribution: error: argument COMMAND: invalid")


def test_a_failing_task_says_why() -> None:
    measured = fresh.run(["call", "tests.benchmarks.tasks:fails"])
    assert measured.status == "exit code 1: ValueError: bad input"
    assert measured.peak_mb is None


def test_a_task_past_its_time_limit_is_killed() -> None:
    measured = fresh.run(["call", "tests.benchmarks.tasks:sleep", "30"], timeout=0.5)
    assert measured.status == "timeout > 0.5 s"


def test_bare_commands_and_repeats() -> None:
    runs = fresh.repeat(lambda: fresh.run_command([sys.executable, "-c", "pass"]), 3)
    assert runs.ok and len(runs.runs) == 3 and runs.peak_mb is None
    failed = fresh.repeat(lambda: fresh.run_command([sys.executable, "-c", "exit(4)"]), 3)
    assert len(failed.runs) == 1 and failed.status == "exit code 4: no message"
    assert failed.seconds is None


def test_a_section_script_runs_as_a_child_process() -> None:
    text = run_all.run_script(["-m", "benchmarks.bench_scorecard", "--help"], timeout=120)
    assert "--journeys" in text and "**failed**" not in text
