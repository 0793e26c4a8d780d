"""Fixtures of the report tests: small hand-made report data, and one headless Chromium
per test module (the browser tests skip only where Chromium is absent outside CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from attribution.reporting import ReportData, write_report
from attribution.reporting.browser import CHROMIUM
from attribution.reporting.example import example_data

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM} in CI: .ci/run should install it")
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (apt-get install chromium); "
            "CI installs it and runs these tests"
        )
    from playwright.sync_api import sync_playwright

    from attribution.reporting.browser import launch

    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportData, Path]:
    """The example at scale, 200 channels and 40 quarters, and its report file."""
    data = example_data(n_channels=200, n_periods=40)
    return data, write_report(data, tmp_path_factory.mktemp("big") / "report.html")


def small_data(**changes: object) -> ReportData:
    """Hand-checkable report data: two models, two channels and (no touch), no optional
    section; ``changes`` replace fields."""
    fields: dict[str, object] = {
        "title": "Q3 pipeline",
        "generated": "2026-10-01T08:00:00+00:00",
        "headline": pd.DataFrame(
            {
                "item": ["pipeline in", "journeys", "data period"],
                "value": [1500.0, 12, "2026-07-01 to 2026-09-30"],
                "kind": ["money", "count", "text"],
            }
        ),
        "statuses": pd.DataFrame({"model": ["linear", "markov"], "status": ["ok", "ok"]}),
        "recommended_model": "markov",
        "channel_credits": pd.DataFrame(
            {
                "model": ["linear", "linear", "linear", "markov", "markov", "markov"],
                "channel": ["webinar", "sdr_call", "(no touch)"] * 2,
                "credited_value": [600.0, 400.0, 500.0, 300.0, 700.0, 500.0],
                "share": [0.4, 0.4 * 400 / 600, 1 / 3, 0.2, 0.7 / 1.5, 1 / 3],
            }
        ),
        "reconciliation": pd.DataFrame(
            {
                "section": ["journeys", "journeys", "model markov"],
                "item": ["journeys", "value in", "status"],
                "value": [12.0, 1500.0, float("nan")],
                "text": [None, None, "ok"],
            }
        ),
        "notes": ["markov: order 1"],
    }
    fields.update(changes)
    return ReportData(**fields)  # type: ignore[arg-type]
