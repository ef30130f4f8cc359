"""Browser-test helpers: the system's headless Chromium driven by Playwright, and a live Flask server.

Playwright's own browsers are never downloaded (`playwright install` needs the Internet);
the Chromium that apt installs at /usr/bin/chromium is used instead, and the tests skip
when it is missing. The fixtures are `chromium` (session-wide browser), `browser_page`
(a phone-sized page) and `screenshot`; another module gets them by importing the
functions that define them (named *_fixture, so test arguments shadow nothing):

    from tests.browser import browser_page_fixture, chromium_fixture, screenshot_fixture  # noqa: F401

or by listing "tests.browser" in `pytest_plugins` of tests/conftest.py.
Screenshots go to the test's tmp_path, or to $GRM_SCREENSHOT_DIR when set (for CI
artefacts); every saved path is printed (see it with `pytest -s` or `-rA`) and recorded in
the test report's user properties.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]
PHONE_VIEWPORT = ViewportSize(width=360, height=640)

Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="session", name="chromium")
def chromium_fixture() -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium): browser tests skipped")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(name="browser_page")
def browser_page_fixture(chromium: Browser) -> Iterator[Page]:
    """A fresh page (own cookies and storage) with a small phone's screen and touch input."""
    context = chromium.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(name="screenshot")
def screenshot_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Screenshot:
    """A function that saves a page's screenshot as `<name>.png` and returns its path."""
    configured = os.environ.get("GRM_SCREENSHOT_DIR")
    directory = Path(configured) if configured else tmp_path / "screenshots"

    def save(page: Page, name: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        request.node.user_properties.append(("screenshot", str(path)))
        print(f"screenshot: {path}")
        return path

    return save


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve `app` on a free localhost port in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-flask", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# How far a page scrolls sideways: 0 when it fits its width (a 360-pixel phone's, say).
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def sign_in_page(page: Page, base_url: str, email: str, password: str) -> None:
    """Sign in to the backoffice in this page as `email`, whoever was signed in before."""
    page.context.clear_cookies()
    page.goto(f"{base_url}/admin/")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
