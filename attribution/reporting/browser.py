"""Open a report in headless Chromium, offline, and record what the page did.

Used by the screenshot script and the browser tests. It needs Playwright for Python
(``pip install playwright``, in the ``test`` extra) and Debian's Chromium at
:data:`CHROMIUM` (``apt-get install chromium``); Playwright's own browser download is
never used. Every request other than the report file itself is recorded and aborted, so
a page that tried to load anything is caught even if its Content-Security-Policy were
missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Playwright, Route

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 900}
READY = "window.attributionReport !== undefined && window.attributionReport.done === true"


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"Chromium is not installed at {CHROMIUM}: apt-get install chromium"
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(LAUNCH_ARGS))


@dataclass
class PageLog:
    """What a page did while loading: console errors and warnings, uncaught errors,
    requests it attempted (all aborted) and dialogs it opened (all dismissed)."""

    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything that should not happen on a report page, labelled."""
        labelled = [
            ("console error", self.console_errors),
            ("console warning", self.console_warnings),
            ("page error", self.page_errors),
            ("request", self.requests),
            ("dialog", self.dialogs),
        ]
        return [f"{label}: {text}" for label, texts in labelled for text in texts]


def open_page(
    browser: Browser, path: Path, *, wait_for: str | None = READY
) -> tuple[Page, PageLog]:
    """Open the HTML file ``path`` with the network blocked; wait until ``wait_for``
    (by default: every chart of the report has finished) is true."""
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    log = PageLog()
    own_url = path.resolve().as_uri()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            log.console_errors.append(message.text)
        elif message.type == "warning":
            log.console_warnings.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_route(route: Route) -> None:
        if route.request.url == own_url:
            route.continue_()
        else:
            log.requests.append(route.request.url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("dialog", on_dialog)
    page.route("**/*", on_route)
    page.goto(own_url)
    if wait_for is not None:
        page.wait_for_function(wait_for)
    return page, log
