"""Benchmark scripts at tiny sizes, fast: fresh processes run in this process instead.

The scripts measure whole processes through :func:`benchmarks.fresh.run` and their
sections through :func:`benchmarks.run_all.run_script`; a fresh interpreter costs more
than a second here (imports, numba's cached kernels), which is most of a smoke test's
time. So :func:`in_process` swaps both for versions that do the same work in the test's
process (:func:`benchmarks.fresh.perform`, the script's ``main``): every line of the
scripts still runs, without the interpreters around them. The real runners have their
own tests (``test_fresh.py``). Nothing here measures anything: no test asserts a time
or a memory size.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from benchmarks import fresh, harness, run_all


def perform_here(task: Sequence[str], **_: object) -> fresh.Measured:
    """:func:`benchmarks.fresh.run`, in this process (no memory measured)."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code, values = fresh.perform(task)
    status = fresh.OK if code == 0 else f"exit code {code}"
    return fresh.Measured(time.perf_counter() - start, None, status, values)


#: The scripts with a ``--json`` option among run_all's script sections.
JSON_SCRIPTS = {
    "benchmarks.bench_process",
    "benchmarks.bench_scorecard",
    "benchmarks.bench_bootstrap",
    "benchmarks.bench_report",
}


def script_here(arguments: list[str], timeout: float, json_folder: Path) -> str:
    """:func:`benchmarks.run_all.run_script`, in this process; the scripts that can also
    write their JSON to ``json_folder/<module>.json`` (for the tests of their numbers)."""
    assert arguments[0] == "-m"
    name, rest = arguments[1], arguments[2:]
    if name in JSON_SCRIPTS:
        rest += ["--json", str(json_folder / f"{name}.json")]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        importlib.import_module(name).main(rest)
    return run_all.demote(output.getvalue().strip())


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Fresh processes and script sections in this process, data in a temporary folder
    (yielded: the folder where the scripts write their JSON)."""
    folder = tmp_path_factory.mktemp("bench")
    (folder / "json").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTRIBUTION_BENCH_DATA", str(folder / "data"))
        patch.setattr(harness, "DATA", folder / "data")
        patch.setattr(fresh, "run", perform_here)
        patch.setattr(
            run_all,
            "run_script",
            lambda arguments, timeout: script_here(arguments, timeout, folder / "json"),
        )
        yield folder / "json"
