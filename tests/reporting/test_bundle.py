"""The chart script's disk cache: built once, read back while its digest holds, rebuilt
when it does not, and never needed for the report to be written."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import vl_convert

from attribution.reporting import bundle

VEGA_LITE = vl_convert.get_vegalite_versions()[-1]


class _Builder:
    """A stand-in for ``vl_convert.javascript_bundle`` that counts its calls."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.calls = 0

    def __call__(self, snippet: str, vl_version: str) -> str:
        assert snippet == bundle.GLOBALS and vl_version == VEGA_LITE
        self.calls += 1
        return self.code


@pytest.fixture
def builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> _Builder:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    stub = _Builder("var vega = 1; // ünïcode")
    monkeypatch.setattr(vl_convert, "javascript_bundle", stub)
    return stub


def _path() -> Path:
    return bundle.cache_path(importlib.metadata.version("vl-convert-python"), VEGA_LITE)


def test_the_second_process_reads_the_script_the_first_built(
    builder: _Builder, tmp_path: Path
) -> None:
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert builder.calls == 1
    assert _path().parent == tmp_path / "cache" / "pipeline-attribution"
    assert _path().read_text(encoding="utf-8").startswith(builder.code)
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert builder.calls == 1
    assert [p.name for p in _path().parent.iterdir()] == [_path().name]


def test_a_damaged_file_is_rebuilt_and_replaced(builder: _Builder) -> None:
    bundle._javascript(VEGA_LITE)
    text = _path().read_text(encoding="utf-8")
    _path().write_text(text.replace("vega = 1", "vega = 2"), encoding="utf-8")
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert builder.calls == 2
    _path().write_bytes(b"\xff\xfe not a script")
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert builder.calls == 3
    assert bundle._read_cached(_path()) == builder.code


def test_a_folder_that_cannot_be_written_only_costs_the_build(
    builder: _Builder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert builder.calls == 2
    assert blocker.read_text(encoding="utf-8").startswith("a file")


def test_a_failed_write_leaves_no_temporary_file(
    builder: _Builder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: str, target: Path) -> None:
        raise PermissionError(13, "refused", str(target))

    monkeypatch.setattr(bundle.os, "replace", refuse)
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert list(_path().parent.iterdir()) == []


def test_the_key_names_both_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    paths = {
        bundle.cache_path("1.9.0", "5.21"),
        bundle.cache_path("1.9.1", "5.21"),
        bundle.cache_path("1.9.0", "5.20"),
    }
    assert len(paths) == 3
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert bundle.cache_path("1.9.0", "5.21").parent == (
        tmp_path / "home" / ".cache" / "pipeline-attribution"
    )
