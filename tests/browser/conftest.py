"""Browser tests: Debian's chromium driven by Playwright for Python.

No browser is ever downloaded (`playwright install` is never run): Playwright
drives the system chromium at /usr/bin/chromium, which scripts/test.sh installs
with apt when it is missing. Each test gets its own browser, and its pages
against pytest-django's `live_server`.

Screenshots land in test-artifacts/screenshots/<test name>/<step>.png (the
directory is emptied when the test starts, so it holds one run), and a
`failure.png` of every open page when a test fails.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
# Generous, but bounded: a test never hangs for long on a page that is not coming.
ACTION_TIMEOUT_MS = 15_000
NAVIGATION_TIMEOUT_MS = 30_000
LAUNCH_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1280, "height": 900}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    # Keep each phase's report on the test, for the failure screenshots below.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class Screenshots:
    """Numbered screenshots of one test's steps: `shots(page, "disputed")`
    writes 03-disputed.png."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        self.paths: list[Path] = []

    def __call__(self, page, step: str) -> Path:
        self.count += 1
        path = self.directory / f"{self.count:02d}-{step}.png"
        # A long page (ReDoc of the whole API) takes a while to paint on a busy machine.
        page.screenshot(path=str(path), full_page=True, timeout=90_000)
        self.paths.append(path)
        return path


@pytest.fixture
def media_root(settings, tmp_path):
    # Uploads from the browser go to this test's own directory.
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def vera(acme):
    """ACME's owner in the portal."""
    from tests.factories import MembershipFactory, UserFactory

    return MembershipFactory(user=UserFactory(username="vera"), vendor=acme, role="owner").user


@pytest.fixture
def browser(monkeypatch):
    """A headless chromium for this test."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium "
            "(apt-get install -y --no-install-recommends chromium)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
    )
    # Playwright's sync API keeps an event loop running in this thread; Django
    # would then refuse the test's own ORM calls as "async unsafe". They are
    # plain synchronous calls, so allow them, for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=LAUNCH_ARGS,
            headless=True,
            timeout=LAUNCH_TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright runs, this thread works in another context, and
            # Django gives the ORM calls made there a connection of their own:
            # close it here, in that context, or it outlives the test and
            # blocks the teardown of the test database.
            connections.close_all()


@pytest.fixture
def shots(request) -> Screenshots:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    directory = SCREENSHOTS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return Screenshots(directory)


@pytest.fixture
def new_page(request, browser, live_server, shots):
    """Open a page in a fresh browser context (its own cookies: one user each).
    On failure, every page opened is screenshotted as failure-<n>.png."""
    contexts = []

    def open_page():
        context = browser.new_context(
            base_url=live_server.url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC"
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page

    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    for index, context in enumerate(contexts, start=1):
        if failed:
            for page in context.pages:
                try:
                    page.screenshot(
                        path=str(shots.directory / f"failure-{index}.png"), full_page=True
                    )
                except Exception:  # a crashed page must not hide the test's own error
                    pass
        context.close()
