"""The report in a real headless Chromium, offline: every chart drawn, nothing logged,
nothing requested, the data bound to the charts equal to the frames, hostile labels
shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from attribution.reporting import ReportData, write_report
from attribution.reporting.browser import PageLog, open_page
from tests.reporting.conftest import small_data
from tests.reporting.test_render import HOSTILE, hostile_data

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

MARKS_PER_CHART = """() => Object.fromEntries(
  [...document.querySelectorAll(".chart[data-chart]")].map(
    (c) => [c.dataset.chart, c.querySelectorAll("svg .role-mark > *").length]
  )
)"""


def expected_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as the page should hold them: nulls as None."""
    return [
        {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def show(browser: Browser, data: ReportData, folder: Path) -> tuple[Page, PageLog]:
    return open_page(browser, write_report(data, folder / "report.html"))


@pytest.fixture(scope="module")
def example_page(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Page, PageLog]]:
    page, log = show(browser, ReportData.example(), tmp_path_factory.mktemp("example"))
    yield page, log
    page.close()


def test_the_example_loads_with_no_error_warning_request_or_dialog(
    example_page: tuple[Page, PageLog],
) -> None:
    page, log = example_page
    assert log.problems() == []
    assert page.evaluate("window.attributionReport.errors") == []


def test_every_chart_is_drawn_with_marks(example_page: tuple[Page, PageLog]) -> None:
    page, _ = example_page
    marks = page.evaluate(MARKS_PER_CHART)
    assert set(marks) == {
        "channel_credits",
        "team_credits",
        "agreement",
        "errors",
        "trend",
        "top_paths",
        "removal_effects",
    }
    assert all(count > 0 for count in marks.values()), marks
    assert page.evaluate("document.documentElement.dataset.charts") == "done"


def test_the_channel_chart_holds_exactly_the_channel_credits_frame(
    example_page: tuple[Page, PageLog],
) -> None:
    page, _ = example_page
    bound = page.evaluate('window.attributionReport.views.channel_credits.data("channel_credits")')
    assert bound == expected_records(ReportData.example().channel_credits)


def test_every_chart_holds_its_frame(example_page: tuple[Page, PageLog]) -> None:
    page, _ = example_page
    data = ReportData.example()
    for name in ("team_credits", "agreement", "errors", "trend", "top_paths", "removal_effects"):
        bound = page.evaluate(f'window.attributionReport.views["{name}"].data("{name}")')
        assert bound == expected_records(getattr(data, name)), name


def test_error_bars_are_drawn_for_every_interval(example_page: tuple[Page, PageLog]) -> None:
    page, _ = example_page
    rules = page.evaluate(
        """() => document.querySelectorAll(
          '.chart[data-chart="channel_credits"] svg g.mark-rule.role-mark > *').length"""
    )
    assert rules == 13  # 12 channels and (no touch), each with an interval


def test_without_intervals_there_are_no_error_bars_and_a_null_interval_is_skipped(
    browser: Browser, tmp_path: Path
) -> None:
    credits = small_data().channel_credits.assign(
        credited_value_low=[550.0, 350.0, 480.0, 250.0, np.nan, 480.0],
        credited_value_high=[650.0, 450.0, 520.0, 350.0, np.nan, 520.0],
    )
    page, log = show(browser, small_data(channel_credits=credits), tmp_path)
    assert log.problems() == []
    rules = page.evaluate(
        """() => document.querySelectorAll(
          '.chart[data-chart="channel_credits"] svg g.mark-rule.role-mark > *').length"""
    )
    assert rules == 2  # markov's webinar and (no touch); sdr_call's interval is null
    bound = page.evaluate('window.attributionReport.views.channel_credits.data("channel_credits")')
    assert bound == expected_records(credits)
    page.close()


def test_hostile_labels_show_as_text_and_run_nothing(browser: Browser, tmp_path: Path) -> None:
    page, log = show(browser, hostile_data(), tmp_path)
    assert log.problems() == []  # no dialog opened, no image requested, no error
    assert page.title() == "<b>Q3</b> & co"
    assert page.locator("h1").text_content() == "<b>Q3</b> & co"
    rows = page.locator('table[data-table="channel_credits"] tbody th').all_text_contents()
    assert HOSTILE in rows and "a\u2028b & <c>" in rows
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    scripts = page.evaluate("document.querySelectorAll('script').length")
    assert scripts == 4  # the chart libraries, the page script, two chart specifications
    bound = page.evaluate('window.attributionReport.views.channel_credits.data("channel_credits")')
    assert {r["channel"] for r in bound} == {HOSTILE, "a\u2028b & <c>", "(no touch)"}
    labels = page.locator('.chart[data-chart="channel_credits"] svg text').all_text_contents()
    assert HOSTILE in labels
    page.close()


def test_two_hundred_channels_and_forty_periods_render(
    browser: Browser, big_report: tuple[ReportData, Path]
) -> None:
    data, path = big_report
    page, log = open_page(browser, path)
    assert log.problems() == []
    marks = page.evaluate(MARKS_PER_CHART)
    assert all(count > 0 for count in marks.values()), marks
    assert data.trend is not None
    assert page.evaluate('window.attributionReport.views.trend.data("trend").length') == len(
        data.trend
    )
    page.close()


def test_the_harness_catches_requests_dialogs_and_errors(browser: Browser, tmp_path: Path) -> None:
    """The checks above can fail: a page without the report's policy that loads an image,
    opens a dialog and throws is caught on every count."""
    path = tmp_path / "bad.html"
    path.write_text(
        '<img src="http://example.invalid/pixel.png">'
        "<script>alert('hi'); console.warn('careful'); console.error('bad');"
        "throw new Error('boom');</script>"
    )
    page, log = open_page(browser, path, wait_for=None)
    page.wait_for_load_state("load")
    assert log.requests == ["http://example.invalid/pixel.png"]
    assert log.dialogs == ["hi"]
    assert log.console_warnings == ["careful"]
    assert "bad" in log.console_errors
    assert any("boom" in e for e in log.page_errors)
    page.close()


def test_a_chart_that_cannot_be_drawn_is_reported_on_the_page(
    browser: Browser, tmp_path: Path
) -> None:
    data = small_data()
    path = write_report(data, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    broken = html.replace('"mark":{"type":"bar"', '"mark":{"type":"no-such-mark"', 1)
    assert broken != html
    path.write_text(broken, encoding="utf-8")
    page, log = open_page(browser, path)
    errors = page.evaluate("window.attributionReport.errors")
    assert len(errors) == 1 and errors[0].startswith("channel_credits: ")
    assert any("could not be drawn" in e for e in log.console_errors)
    page.close()


def test_the_example_prints_on_paper(example_page: tuple[Page, PageLog], tmp_path: Path) -> None:
    page, _ = example_page
    pdf = page.pdf(path=str(tmp_path / "report.pdf"))
    assert pdf.startswith(b"%PDF")
