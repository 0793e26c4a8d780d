"""The rendered page without a browser: structure, omitted sections, escaping,
self-containedness, determinism, and the atomic write."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from attribution.reporting import ReportData, ReportDependencyError, render_report, write_report
from attribution.reporting.data import OPTIONAL_SECTIONS
from tests.reporting.conftest import small_data

EXAMPLE_CHARTS = {
    "channel_credits",
    "team_credits",
    "agreement",
    "errors",
    "trend",
    "top_paths",
    "removal_effects",
}
# Every URL in the inlined chart libraries, none of which is ever fetched: XML namespaces
# (SVG output), the Vega schema id written into compiled specs, the Vega Editor link of
# the action menu (turned off), and an issue link in a Vega-Lite warning message.
INERT_URLS = {
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/2000/xmlns/",
    "http://www.w3.org/1999/xlink",
    "https://vega.github.io/schema/vega/v6.json",
    "https://vega.github.io/editor/",
    "https://github.com/vega/vega-lite/issues/2415",
}


class Page(HTMLParser):
    """The elements of a page the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.attributes: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open = (tag, dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is None:
            self.text.append(data)
        elif self._open[0] == "script":
            self.scripts.append((self._open[1], data))
        else:
            self.styles.append(data)

    def with_attribute(self, name: str) -> dict[str, dict[str, str | None]]:
        return {str(a[name]): a for _, a in self.attributes if name in a}

    def specs(self) -> dict[str, dict[str, object]]:
        return {
            str(a["data-chart"]): json.loads(body)
            for a, body in self.scripts
            if a.get("type") == "application/json"
        }


@pytest.fixture(scope="module")
def example_html() -> str:
    return render_report(ReportData.example())


def test_every_section_and_chart_of_the_example_is_present(example_html: str) -> None:
    page = Page(example_html)
    sections = page.with_attribute("data-section")
    assert set(sections) == {
        "headline",
        "channel_credits",
        "team_credits",
        "agreement",
        "scorecard",
        "trend",
        "paths",
        "reconciliation",
    }
    containers = {n for n, a in page.with_attribute("data-chart").items() if "class" in a}
    assert containers == EXAMPLE_CHARTS
    assert set(page.specs()) == EXAMPLE_CHARTS
    assert not page.with_attribute("data-omitted")
    tables = set(page.with_attribute("data-table"))
    assert {"channel_credits", "team_credits", "agreement", "errors", "trend"} <= tables
    assert {"top_paths", "removal_effects", "reconciliation"} <= tables
    assert "scorecard:hazard:channel" in tables and "scorecard:markov:team" in tables


def test_navigation_links_to_each_present_section(example_html: str) -> None:
    page = Page(example_html)
    links = [a["href"] for tag, a in page.attributes if tag == "a"]
    ids = set(page.with_attribute("id"))
    assert links and all(str(h).startswith("#") and str(h)[1:] in ids for h in links)


def test_absent_sections_are_replaced_by_their_line() -> None:
    data = small_data(omitted_reasons={"scorecard": "the data has no won/closed_at columns"})
    page = Page(render_report(data))
    omitted = page.with_attribute("data-omitted")
    assert set(omitted) == set(OPTIONAL_SECTIONS)
    text = " ".join(page.text)
    assert "No scorecard: the data has no won/closed_at columns." in text
    assert "No trend: not produced by this run." in text
    assert set(page.with_attribute("data-section")) == {
        "headline",
        "channel_credits",
        "reconciliation",
    }
    assert set(page.specs()) == {"channel_credits"}
    assert "#scorecard" not in example_links(page)


def example_links(page: Page) -> set[str]:
    return {str(a["href"]) for tag, a in page.attributes if tag == "a"}


def test_one_of_two_frames_of_a_section_absent_keeps_the_section() -> None:
    data = ReportData.example()
    page = Page(render_report(dataclasses.replace(data, errors=None, removal_effects=None)))
    assert set(page.with_attribute("data-omitted")) == {"errors", "removal_effects"}
    assert {"agreement", "paths"} <= set(page.with_attribute("data-section"))
    assert "errors" not in page.specs() and "agreement" in page.specs()


def test_the_channel_chart_holds_the_channel_credits_frame_whole(example_html: str) -> None:
    data = ReportData.example()
    spec = Page(example_html).specs()["channel_credits"]
    datasets = spec["datasets"]
    assert isinstance(datasets, dict)
    assert datasets["channel_credits"] == data.channel_credits.to_dict("records")


def test_channels_are_in_the_recommended_models_order_with_no_touch_last() -> None:
    html = render_report(small_data())
    table = html.split('data-table="channel_credits"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row"[^>]*>([^<]*)</th>', table)
    assert rows == ["sdr_call", "webinar", "(no touch)"]
    page = Page(html)
    spec = page.specs()["channel_credits"]
    bars = spec["hconcat"][0]["layer"][0]["encoding"]["y"]  # type: ignore[index]
    assert bars["scale"]["domain"] == ["sdr_call", "webinar", "(no touch)"]


def test_numbers_are_formatted_with_their_exact_value_on_hover() -> None:
    html = render_report(small_data())
    assert '<div class="tile-value">$1,500</div>' not in html  # the exact value is kept
    assert 'title="1,500">$1,500</div>' in html
    assert "2026-07-01 to 2026-09-30" in html
    assert 'title="0.4666666666666667"' not in html  # shares are in the sub-line
    assert '$700<span class="sub">46.7%</span>' in html


def test_a_mismatch_is_announced_at_the_top() -> None:
    statuses = pd.DataFrame({"model": ["linear", "markov"], "status": ["MISMATCH", "ok"]})
    html = render_report(small_data(statuses=statuses))
    assert "the credits of linear do not add up" in html
    assert '<li class="badge mismatch">' in html


HOSTILE = "</script><script>alert(1)</script>"


def hostile_data() -> ReportData:
    """Labels a user controls, trying to break out of the HTML and of the JSON."""
    data = small_data()
    credits = data.channel_credits.replace({"webinar": HOSTILE, "sdr_call": "a\u2028b & <c>"})
    return small_data(
        title="<b>Q3</b> & co",
        channel_credits=credits,
        notes=["note </script><img src=x onerror=alert(2)>"],
        team_credits=pd.DataFrame(
            {
                "team": ['<img src=x onerror="alert(3)">'],
                "sourced": [1.0],
                "influenced": [2.0],
                "credited": [1.0],
            }
        ),
    )


def test_labels_are_escaped_in_the_html_and_in_the_json() -> None:
    html = render_report(hostile_data())
    assert HOSTILE not in html
    page = Page(html)
    assert not [tag for tag, _ in page.attributes if tag == "img"]
    assert "<b>Q3</b>" not in html and "&lt;b&gt;Q3&lt;/b&gt; &amp; co" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert all("\u2028" not in body for _, body in page.scripts)  # text in HTML is fine
    scripts = [a for a, _ in page.scripts]
    assert len(scripts) == 2 + 2  # the chart libraries, the page script, two specs
    spec = page.specs()["channel_credits"]
    assert {r["channel"] for r in spec["datasets"]["channel_credits"]} == {  # type: ignore[index]
        HOSTILE,
        "a\u2028b & <c>",
        "(no touch)",
    }
    raw = next(body for a, body in page.scripts if a.get("data-chart") == "channel_credits")
    assert "\\u003c/script\\u003e" in raw and "\\u2028" in raw and "\\u0026" in raw


def test_the_page_references_nothing_outside_itself(example_html: str) -> None:
    page = Page(example_html)
    for tag, attributes in page.attributes:
        assert tag not in ("link", "iframe", "object", "embed", "img", "base")
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = attributes.get(name)
            assert value is None or str(value).startswith("#"), (tag, name, value)
    styles = "\n".join(page.styles)
    assert "@import" not in styles
    assert re.findall(r"url\(", styles) == []
    csp = next(a for t, a in page.attributes if a.get("http-equiv") == "Content-Security-Policy")
    assert str(csp["content"]).startswith("default-src 'none';")


def test_no_external_url_anywhere_in_the_file(example_html: str) -> None:
    urls = set(re.findall(r"(?i)\b(?:https?|ftp|wss?)://[^\s\"'`()<>\\]+", example_html))
    assert urls <= INERT_URLS, urls - INERT_URLS
    protocol_relative = re.findall(r"""["'(=]\s*//[\w.-]+\.[a-z]{2,}""", example_html)
    assert protocol_relative == []
    assert "javascript:" not in example_html.lower()


def test_the_same_data_gives_the_same_bytes(example_html: str) -> None:
    assert render_report(ReportData.example()) == example_html


def test_two_hundred_channels_and_forty_periods_stay_a_few_megabytes(
    big_report: tuple[ReportData, Path],
) -> None:
    html = big_report[1].read_text(encoding="utf-8")
    size = len(html.encode())
    assert size < 4_000_000, size
    spec = Page(html).specs()["trend"]
    assert len(spec["datasets"]["trend"]) == 201 * 40  # type: ignore[index]


def test_write_report_replaces_the_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    assert write_report(small_data(), target) == target
    assert target.read_text(encoding="utf-8") == render_report(small_data())
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")

    def refuse(source: object, destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_report(small_data(), target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_without_the_report_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vl_convert", None)
    with pytest.raises(ReportDependencyError) as raised:
        render_report(small_data())
    message = str(raised.value)
    assert "pip install 'pipeline-attribution[report]'" in message
    assert "vl-convert-python not installed" in message
    assert isinstance(raised.value, ImportError)
