"""Browser tests: Debian's Chromium driven by Playwright against the live test server.

One Chromium per xdist worker (session scope), a fresh context — cookies, storage — and page
per test. Every page is watched for script errors, Content-Security-Policy violations and
server errors (also of requests scripts make): a page that seems to work only because an error
went unnoticed fails its test.

Browser tests run on SQLite only (the `backend` fixture below), except the test of a
record's whole life, which also runs on PostgreSQL: pages call the same services as the API,
whose tests run every query on both databases; what the browser adds — HTML, scripts, cookies,
CSRF — does not depend on the database, and running every browser test twice would double the
slowest part of the suite.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)

from tests.browser.pages import sign_in

CHROMIUM = Path("/usr/bin/chromium")
# Why each flag: the tests run as root in containers (no user namespaces for the sandbox) and
# without a GPU; /dev/shm is often tiny in containers; and a test browser must not phone home
# (background networking, component updates, sync) nor show first-run pages.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
# Playwright waits this long for an element or a navigation. A page answers in milliseconds,
# but in CI the browser tests share two cores with the rest of the suite.
TIMEOUT_MS = 20_000

Screenshot = Callable[[Page, str], Path]


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite only for browser tests (see the module docstring); a test may parametrise it."""
    return str(request.param)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} not found: browser tests need Debian's chromium package "
            "(apt-get install chromium fonts-dejavu-core); .ci/run installs it"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
    expect.set_options(timeout=TIMEOUT_MS)
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    fresh = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="en-GB")
    fresh.set_default_timeout(TIMEOUT_MS)
    yield fresh
    fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab of the test's own browser context; fails the test on any script error or server
    error, including those of requests a script makes (htmx swaps nothing on a 500)."""
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        # Refusals the tests provoke (403, 404) log "Failed to load resource": expected.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 500:
            problems.append(f"{response.status} from {response.request.method} {response.url}")

    tab.on("console", on_console)
    tab.on("response", on_response)
    yield tab
    assert not problems, problems


@pytest.fixture
def admin_page(page: Page) -> Page:
    """A page signed in as the org's administrator, on the home page."""
    sign_in(page)
    return page


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshot:
    """`screenshot(page, name)`: a full-page PNG at build/screenshots/<test>-<name>.png."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
