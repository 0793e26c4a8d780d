"""One LocalCluster of two worker processes for the dask test files a test process runs
(a cluster and its workers' first kernel loads take seconds), closed when they are done,
as CI runs it; the test that kills workers waits for the nannies' new ones before and
after it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster


@pytest.fixture(scope="package")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected
