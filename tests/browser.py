"""The real browser of the tests: Debian's chromium driven by Playwright, one per run
(Playwright's sync API allows a single instance per thread), the app served on 127.0.0.1,
and axe-core with the WCAG 2.1 AA rules.

Loaded as a pytest plugin from ``tests/conftest.py``.
"""

from __future__ import annotations

import threading

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, started once for the whole run."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium):
    """The run's chromium for one test; the contexts the test opens are closed after it."""
    yield chromium
    for context in chromium.contexts:
        context.close()


@pytest.fixture
def axe():
    return Axe()


@pytest.fixture
def server(app):
    """The test's app on 127.0.0.1 in a thread, as a browser reaches it."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    # The tests' municipality by its path prefix (its own host name is the test client's).
    yield f"http://127.0.0.1:{httpd.server_port}/{app.config['TEST_MUNICIPALITY']}"
    httpd.shutdown()
    thread.join(5)
