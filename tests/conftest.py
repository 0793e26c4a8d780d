"""How the suite is spread over the test processes (``pytest-xdist``, see the addopts in
pyproject.toml): a test file stays in one process, so a module's browser or data fixture
is made once; the Dask package is one unit, so one process starts its LocalCluster once
for all of its files; and that unit, the longest, is handed out first, so the other
processes share the remaining files (in collection order) while it runs.

(xdist's own ``loadgroup`` cannot group a package here: under pytest 9 the group suffix
it writes never reaches the node ids it schedules by.)"""

from __future__ import annotations

from typing import Any

import pytest

#: The package whose files share one process (and its one LocalCluster).
SHARED = "tests/dask/"


def _unit(nodeid: str) -> str:
    """The work unit of a test: the Dask package, or the test's file."""
    return SHARED if nodeid.startswith(SHARED) else nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: the Dask unit first, every other file in collection order.
    items.sort(key=lambda item: _unit(item.nodeid) != SHARED)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """File units with the Dask package as one, for ``--dist loadfile`` (the addopts);
    any other ``--dist`` keeps xdist's own scheduler."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    return Scheduling(config, log)
