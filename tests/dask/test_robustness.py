"""Workers killed during a run do not change the result: Dask reruns the lost tasks
(every task reads its partition from storage again, and the values the client sends to
the tasks are themselves tasks, so they are recomputed too)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client

import attribution as at
import attribution.dask as adk
from tests.dask.data import FIXTURES, assert_same_result, write_split


def kill_the_workers_in_the_fit_pass(
    client: Client, killed: list[int], stop: threading.Event
) -> None:
    """Wait until a worker is running a fit task, then kill every worker process
    (SIGKILL: no goodbye to the scheduler), so that nothing held in a worker's memory
    survives; the nannies start new ones. Gives up when ``stop`` is set (the run ended
    first), so it never outlives the test on the shared cluster."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not stop.is_set():
        if any(str(k).startswith("fit-") for keys in client.processing().values() for k in keys):
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            return
        time.sleep(0.01)


def test_killed_workers_do_not_change_the_result(client: Client, tmp_path: Path) -> None:
    touches = write_split(pd.read_parquet(FIXTURES / "touches.parquet"), tmp_path / "t", [30000])
    outcomes = FIXTURES / "outcomes.parquet"
    models = ["linear", "w_shaped", "markov", "shapley"]
    local = at.attribute(at.load(touches, outcomes), models, scorecard=True)
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(
        target=kill_the_workers_in_the_fit_pass, args=(client, killed, stop), daemon=True
    )
    killer.start()
    try:
        got = adk.attribute(touches, outcomes, models, client=client, partitions=12, scorecard=True)
    finally:
        stop.set()
        killer.join()
    assert killed, "no fit task was seen running"
    assert not set(killed) & set(client.run(os.getpid).values())
    assert_same_result(local, got)


@pytest.fixture(autouse=True)
def _two_workers(client: Client) -> Iterator[None]:
    """Two live workers before the test and after it (the cluster is shared)."""
    client.wait_for_workers(2, timeout=60)
    yield
    client.wait_for_workers(2, timeout=60)
