"""/api/docs/ and /api/redoc/ in a real browser with every request to another
server refused: Swagger UI and ReDoc come from our static files, so the
operations render offline."""

from __future__ import annotations

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)
expect = sync_api.expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def offline(page, live_server_url: str) -> list[str]:
    """Abort every request that is not to the live server; return their URLs."""
    blocked: list[str] = []

    def route(route):
        url = route.request.url
        if url.startswith(live_server_url + "/") or url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", route)
    return blocked


def test_swagger_ui_renders_the_operations_offline(new_page, live_server, shots):
    page = new_page()
    blocked = offline(page, live_server.url)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Splitledger API")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/refund-cases/").first
    ).to_be_visible()
    expect(page.locator(".opblock-post").first).to_be_visible()
    assert operations.count() > 20
    shots(page, "swagger")

    page.locator(
        ".opblock-post .opblock-summary-path", has_text="/api/v1/refund-cases/"
    ).first.click()
    expect(page.locator(".opblock.is-open .opblock-section-request-body")).to_be_visible()
    shots(page, "swagger-create-case-open")

    assert blocked == []
    assert failed == []


def test_redoc_renders_the_operations_offline(new_page, live_server, shots):
    page = new_page()
    blocked = offline(page, live_server.url)

    page.goto("/api/redoc/")
    # The schema is generated on request: slow on a busy machine.
    expect(page.locator("h1", has_text="Splitledger API")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("/api/v1/refund-cases/").first).to_be_attached()
    assert page.locator("[data-section-id^='operation/']").count() > 20
    # The credit link, whose logo ReDoc would fetch from its CDN, is hidden.
    expect(page.get_by_text("API docs by Redocly")).to_be_hidden()
    shots(page, "redoc")

    assert blocked == []
