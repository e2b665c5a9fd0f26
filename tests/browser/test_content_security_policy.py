"""Every kind of page works under the Content-Security-Policy: the login pages,
the admin, the staff dashboard, the two-factor pages, the vendor portal and the
API docs (Swagger UI, ReDoc). The browser reports each violation as a
`securitypolicyviolation` event and a console error: the test collects both
and expects none, and checks each page rendered."""

from __future__ import annotations

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from refunds.services.cases import LineRequest, add_attachment, open_case

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)
expect = sync_api.expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct horse battery staple"
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolation(`${e.violatedDirective} blocked ${e.blockedURI} on ${document.location.pathname}`);
});
"""


class Watched:
    """A page whose CSP violations (events and console errors) are collected."""

    def __init__(self, page) -> None:
        self.page = page
        self.violations: list[str] = []
        page.expose_function("cspViolation", lambda text: self.violations.append(text))
        page.add_init_script(REPORT_VIOLATIONS)
        page.on(
            "console",
            lambda message: (
                self.violations.append(f"console: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.fixture
def case_with_file(worked_order, alice, acme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    mug, _ = worked_order.lines.order_by("sku")
    case = open_case(
        order=worked_order,
        lines=[LineRequest(order_line_id=mug.pk, quantity=1, reason="damaged")],
        actor=alice,
    )
    add_attachment(case=case, file=SimpleUploadedFile("note.txt", b"left at the door"), actor=alice)
    return case


def log_in(page, path: str, username: str) -> None:
    page.goto(path)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("[type=submit]").click()
    expect(page.locator("input[name=password]")).to_have_count(0)


def test_staff_pages_and_two_factor_pages_pass_the_policy(
    new_page, shots, settings, case_with_file, alice
):
    settings.STAFF_REQUIRE_2FA = True
    watched = Watched(new_page())
    page = watched.page

    watched.visit("/admin/login/")
    shots(page, "admin-login")
    log_in(page, "/admin/login/?next=/admin/", "alice")
    # No device yet: the enrolment page, with its QR code.
    expect(page.locator(".otp-qr svg")).to_be_visible()
    shots(page, "enrol")
    device = TOTPDevice.objects.get(user=alice)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    code.time = time.time()
    page.locator("input[name=token]").fill(f"{code.token():06d}")
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.locator("body.dashboard")).to_be_visible()

    for path, ready in [
        ("/admin/", "body.dashboard"),
        ("/admin/refunds/refundcase/", "#result_list"),
        (f"/admin/refunds/refundcase/{case_with_file.pk}/change/", "#attachments-group"),
        ("/staff/", "h1"),
    ]:
        watched.visit(path)
        expect(page.locator(ready).first).to_be_visible()
        shots(page, path.strip("/").replace("/", "-") or "root")

    assert watched.violations == []


def test_the_verify_page_passes_the_policy(new_page, shots, settings, alice):
    settings.STAFF_REQUIRE_2FA = True
    TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    watched = Watched(new_page())

    log_in(watched.page, "/admin/login/?next=/admin/", "alice")
    expect(watched.page.locator("input[name=token]")).to_be_visible()
    shots(watched.page, "verify")

    assert watched.page.url.split("?")[0].endswith("/two-factor/verify/")
    assert watched.violations == []


def test_portal_pages_pass_the_policy(new_page, shots, case_with_file, vera):
    watched = Watched(new_page())
    page = watched.page

    for path in ["/portal/login/", "/portal/password-reset/"]:
        watched.visit(path)
        expect(page.locator("form")).to_be_visible()
        shots(page, path.strip("/").replace("/", "-"))
    log_in(page, "/portal/login/", "vera")
    for path, ready in [
        ("/portal/", "h1"),
        ("/portal/cases/", "h1"),
        (f"/portal/cases/{case_with_file.case_id}/", "#attachments"),
    ]:
        watched.visit(path)
        expect(page.locator(ready).first).to_be_visible()
        shots(page, path.strip("/").replace("/", "-"))

    assert watched.violations == []


def test_api_docs_pass_the_policy(new_page, shots):
    watched = Watched(new_page())
    page = watched.page

    watched.visit("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "Splitledger API", timeout=30_000
    )
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    shots(page, "swagger")

    assert watched.violations == []

    watched.visit("/api/redoc/")
    # The schema is generated on request: slow on a busy machine.
    expect(page.locator("h1", has_text="Splitledger API")).to_be_visible(timeout=30_000)
    assert page.locator("[data-section-id^='operation/']").count() > 20
    shots(page, "redoc")

    # ReDoc's menu always renders the Redocly logo from its CDN: the policy
    # blocks exactly that (the page works offline), and nothing else.
    expect(page.get_by_text("API docs by Redocly")).to_be_hidden()
    redocly_logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [v for v in watched.violations if redocly_logo not in v] == []
