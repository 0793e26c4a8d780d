"""A worker killed during a run does not change the result: Dask reruns the lost
partitions' tasks (every task reads its partition from storage again)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client

import attribution as at
import attribution.dask as adk
from tests.dask.data import FIXTURES, assert_same_result, write_split


def kill_a_worker_in_the_fit_pass(client: Client, killed: dict[str, int]) -> None:
    """Wait until a worker is running a fit task, then kill its process (SIGKILL: no
    goodbye to the scheduler); its nanny starts a new one."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if any(str(k).startswith("fit-") for k in keys):
                killed["pid"] = pids[worker]
                os.kill(pids[worker], signal.SIGKILL)
                return
        time.sleep(0.01)


def test_a_killed_worker_does_not_change_the_result(client: Client, tmp_path: Path) -> None:
    touches = write_split(pd.read_parquet(FIXTURES / "touches.parquet"), tmp_path / "t", [30000])
    outcomes = FIXTURES / "outcomes.parquet"
    models = ["linear", "w_shaped", "markov", "shapley"]
    local = at.attribute(at.load(touches, outcomes), models, scorecard=True)
    killed: dict[str, int] = {}
    killer = threading.Thread(target=kill_a_worker_in_the_fit_pass, args=(client, killed))
    killer.start()
    got = adk.attribute(touches, outcomes, models, client=client, partitions=12, scorecard=True)
    killer.join()
    assert "pid" in killed, "no fit task was seen running"
    assert killed["pid"] not in client.run(os.getpid).values()
    assert_same_result(local, got)


@pytest.fixture(autouse=True)
def _two_workers(client: Client) -> None:
    client.wait_for_workers(2, timeout=60)
