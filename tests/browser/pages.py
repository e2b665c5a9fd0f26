"""Steps the browser tests share. Import after `pytest.importorskip("playwright...")`."""

from __future__ import annotations

from typing import Any

from tests.factories import PASSWORD


def log_in(page: Any, username: str, *, at: str | None = None) -> None:
    """Fill the login form on the page (the portal's or the admin's; first open
    `at`, if given) with a factory user's password and send it; returns once the
    form is gone."""
    from playwright.sync_api import expect

    if at is not None:
        page.goto(at)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("input[name=password]")).to_have_count(0)
