"""The report of the bundled fixture, built from a real run and opened in Chromium: every
section present, every number the run's own, the channel chart bound to the credits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

import attribution as at
from attribution.cli.main import main
from attribution.reporting.browser import PageLog, open_page
from attribution.reporting.build import report_data, run_for_report
from attribution.reporting.data import ReportData
from attribution.reporting.render import render_report, write_report
from tests.reporting.test_browser import MARKS_PER_CHART, expected_records

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODELS = ["first_touch", "last_touch", "linear", "w_shaped", "markov", "sourced", "influenced"]


@pytest.fixture(scope="module")
def run() -> tuple[at.AttributionResult, ReportData]:
    loaded = at.load(FIXTURES / "touches.parquet", FIXTURES / "outcomes.parquet")
    result = run_for_report(loaded, models=MODELS, costs=FIXTURES / "costs.csv", bootstrap=20)
    truth = pd.read_parquet(FIXTURES / "truth.parquet")
    data = report_data(result, journeys=loaded.journeys, truth=truth, generated="2026-12-01")
    return result, data


def test_every_section_comes_from_the_run(run: tuple[at.AttributionResult, ReportData]) -> None:
    result, data = run
    assert data.omitted_reasons == {}
    channels = result.rollups[("channel",)]
    pd.testing.assert_frame_equal(
        data.channel_credits[["model", "channel", "credited_value", "share"]],
        channels[["model", "channel", "credited_value", "share"]].reset_index(drop=True),
    )
    assert data.recommended_model in MODELS
    teams = result.rollups[("team",)].set_index(["model", "team"])["credited_value"]
    for row in data.team_credits.itertuples():  # type: ignore[union-attr]
        assert row.sourced == pytest.approx(teams["sourced", row.team])
        assert row.influenced == pytest.approx(teams.get(("influenced", row.team), 0.0))
    assert data.errors is not None and len(data.errors) == len(MODELS)
    assert data.trend is not None and data.trend["period"].str.match(r"\d{4}-Q\d").all()
    assert data.top_paths is not None and len(data.top_paths) == 20
    assert data.removal_effects is not None
    headline = data.headline.set_index("item")["value"]
    assert headline["Pipeline in"] == pytest.approx(result.reconciliation.value_in)
    html = render_report(data)
    for section in ("Headline", "Credited pipeline by channel", "Revenue scorecard", "Trend"):
        assert section in html


def test_a_result_without_journeys_says_why_paths_are_missing(
    run: tuple[at.AttributionResult, ReportData],
) -> None:
    result, _ = run
    data = report_data(result, generated="x")
    assert data.top_paths is None
    assert "without its journeys" in data.omitted_line("top_paths")


@pytest.fixture(scope="module")
def fixture_page(
    browser: Browser,
    run: tuple[at.AttributionResult, ReportData],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Page, PageLog]]:
    _, data = run
    page, log = open_page(browser, write_report(data, tmp_path_factory.mktemp("fix") / "r.html"))
    yield page, log
    page.close()


def test_the_fixture_report_in_a_browser(
    fixture_page: tuple[Page, PageLog], run: tuple[at.AttributionResult, ReportData]
) -> None:
    page, log = fixture_page
    assert log.problems() == []
    marks = page.evaluate(MARKS_PER_CHART)
    assert marks and all(count > 0 for count in marks.values()), marks
    bound = page.evaluate('window.attributionReport.views.channel_credits.data("channel_credits")')
    assert bound == expected_records(run[1].channel_credits)


def test_the_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code = main(
        [
            "report",
            str(FIXTURES / "touches.parquet"),
            "--outcomes",
            str(FIXTURES / "outcomes.parquet"),
            "--truth",
            str(FIXTURES / "truth.parquet"),
            "--costs",
            str(FIXTURES / "costs.csv"),
            "--models",
            "linear,markov,sourced,influenced",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0 and out.stat().st_size > 100_000
    text = out.read_text()
    assert "https://" not in text.split("<script")[0]
    # Every input file in the headline.
    for role, name in [
        ("touches", "touches.parquet"),
        ("outcomes", "outcomes.parquet"),
        ("truth", "truth.parquet"),
        ("costs", "costs.csv"),
    ]:
        assert f"{role}: {name}" in text
    # hazard, the recommended model, did not run: linear only sorts the charts.
    assert "recommended model <strong>linear" not in text and "linear (recommended)" not in text
    assert "the recommended model, <strong>hazard</strong>, did not run" in text
    assert (
        main(["report", str(FIXTURES / "touches.parquet"), "--out", str(tmp_path / "r.txt")]) == 2
    )
    assert "is an .html file" in capsys.readouterr().err
