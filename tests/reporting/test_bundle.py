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
    path = bundle.cache_path(importlib.metadata.version("vl-convert-python"), VEGA_LITE)
    assert path is not None
    return path


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


def test_line_ends_are_kept_byte_for_byte(builder: _Builder) -> None:
    builder.code = "var a = 1;\r\nvar b = 2;\rvar c;"
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert builder.calls == 1


def test_the_page_takes_its_script_through_the_cache(builder: _Builder) -> None:
    made = bundle.chart_bundle.__wrapped__()
    assert made.script.endswith(builder.code) and made.script.startswith("/*! Vega")
    assert bundle.chart_bundle.__wrapped__().script == made.script
    assert builder.calls == 1


def test_a_new_version_s_file_replaces_the_old_ones(builder: _Builder) -> None:
    old = _path().with_name("chart-bundle-0000000000000000.js")
    other = _path().with_name("notes.txt")
    old.parent.mkdir(parents=True)
    old.write_text("an older version's script", encoding="utf-8")
    other.write_text("not ours", encoding="utf-8")
    bundle._javascript(VEGA_LITE)
    assert sorted(p.name for p in _path().parent.iterdir()) == sorted([_path().name, "notes.txt"])


def test_no_cache_without_an_absolute_folder(
    builder: _Builder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    relative = bundle.cache_path("1.9.0", "5.21")
    assert relative is not None
    assert relative.parent == tmp_path / "home" / ".cache" / "pipeline-attribution"
    monkeypatch.setenv("HOME", "not-absolute")
    assert bundle.cache_path("1.9.0", "5.21") is None
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert builder.calls == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_without_vl_convert_s_metadata_the_script_is_built_uncached(
    builder: _Builder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unknown(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(bundle.importlib.metadata, "version", unknown)
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert bundle._javascript(VEGA_LITE) == builder.code
    assert builder.calls == 2
    assert not (tmp_path / "cache").exists()


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
    monkeypatch.setattr(bundle, "GLOBALS", bundle.GLOBALS + " window.x = 1;")
    paths.add(bundle.cache_path("1.9.0", "5.21"))
    monkeypatch.setattr(bundle, "CACHE_FORMAT", bundle.CACHE_FORMAT + 1)
    paths.add(bundle.cache_path("1.9.0", "5.21"))
    assert len(paths) == 5
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home = bundle.cache_path("1.9.0", "5.21")
    assert home is not None
    assert home.parent == tmp_path / "home" / ".cache" / "pipeline-attribution"
