"""Render the bundled fixture's report and take a full-page PNG of it in headless
Chromium (the picture in the README):

    python -m attribution.reporting.screenshot --out docs/report.png

``--example`` renders the made-up example data instead (no models run).

Uses the same Chromium and offline page as the browser tests
(:mod:`attribution.reporting.browser`), and fails if the page logs an error, tries a
request or leaves a chart undrawn, so the picture is never of a broken page.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from attribution.reporting.data import ReportData
from attribution.reporting.render import write_report


def screenshot(data: ReportData, out: Path, *, html: Path | None = None) -> Path:
    """Write ``data``'s report (to ``html``, else a temporary file) and its full-page
    screenshot to ``out``. Raises ``RuntimeError`` listing what went wrong on the page."""
    from playwright.sync_api import sync_playwright

    from attribution.reporting.browser import launch, open_page

    with tempfile.TemporaryDirectory() as folder:
        page_path = write_report(data, html if html is not None else Path(folder) / "report.html")
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                page, log = open_page(browser, page_path)
                failed = page.evaluate("window.attributionReport.errors")
                problems = log.problems() + [f"chart not drawn: {e}" for e in failed]
                if problems:
                    raise RuntimeError("the report page has problems:\n" + "\n".join(problems))
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
            finally:
                browser.close()
    return out


def fixture_data(folder: Path) -> ReportData:
    """The report data of the fixture in ``folder`` (touches, outcomes, truth, costs)."""
    import pandas as pd

    import attribution as at
    from attribution.reporting.build import report_data, run_for_report

    loaded = at.load(folder / "touches.parquet", folder / "outcomes.parquet")
    result = run_for_report(loaded, costs=folder / "costs.csv", bootstrap=100)
    truth = pd.read_parquet(folder / "truth.parquet")
    return report_data(
        result,
        journeys=loaded.journeys,
        truth=truth,
        title="Pipeline attribution: the bundled B2B fixture",
        generated="2026-12-01",
        inputs=[
            (role, str(folder / name))
            for role, name in (
                ("touches", "touches.parquet"),
                ("outcomes", "outcomes.parquet"),
                ("truth", "truth.parquet"),
                ("costs", "costs.csv"),
            )
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m attribution.reporting.screenshot",
        description="Render the bundled fixture's report (or, with --example, the made-up "
        "example data) to a PNG through headless Chromium.",
    )
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--html", type=Path, help="also keep the rendered HTML here")
    parser.add_argument(
        "--fixtures",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "fixtures",
        help="the folder of the fixture to report on (default: the bundled one)",
    )
    parser.add_argument("--example", action="store_true", help="render the example data")
    args = parser.parse_args(argv)
    try:
        data = ReportData.example() if args.example else fixture_data(args.fixtures)
        written = screenshot(data, args.out, html=args.html)
    except (RuntimeError, OSError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
